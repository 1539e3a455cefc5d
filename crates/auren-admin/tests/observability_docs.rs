//! `docs/observability/`: the dashboard is valid Grafana JSON, the alerts a valid
//! Prometheus rule file, and they, `metrics.md` and the crates' `metrics.rs` constants all
//! name the same metrics.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// The suffixes Prometheus adds to a histogram's name.
const HISTOGRAM_SUFFIXES: [&str; 3] = ["_bucket", "_sum", "_count"];

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(relative: &str) -> String {
    let path = workspace().join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// Every `auren_[a-z_]+` word in `text`.
fn metric_names(text: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut rest = text;
    while let Some(start) = rest.find("auren_") {
        let before = text.len() - rest.len() + start;
        let starts_a_word = text[..before]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_'));
        let word: String = rest[start..]
            .chars()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect();
        if starts_a_word {
            names.insert(word.clone());
        }
        rest = &rest[start + word.len()..];
    }
    names
}

/// The metrics of the table in `metrics.md`: name and type, from rows starting with a name.
fn documented() -> Vec<(String, String)> {
    read("docs/observability/metrics.md")
        .lines()
        .filter_map(|line| {
            let mut cells = line.strip_prefix("| `auren_")?.split('|');
            let name = format!("auren_{}", cells.next()?.trim().trim_end_matches('`'));
            let kind = cells.next()?.trim().to_owned();
            Some((name, kind))
        })
        .collect()
}

/// The names as a scrape shows them: a histogram's base name stands for its series.
fn base_name(name: &str, histograms: &BTreeSet<String>) -> String {
    HISTOGRAM_SUFFIXES
        .iter()
        .filter_map(|suffix| name.strip_suffix(suffix))
        .find(|base| histograms.contains(*base))
        .unwrap_or(name)
        .to_owned()
}

/// Every `pub const NAME: &str = "auren_...";` in the crates' `src/metrics.rs`.
fn constants() -> BTreeSet<String> {
    let crates = workspace().join("crates");
    let mut names = BTreeSet::new();
    for entry in std::fs::read_dir(&crates).expect("crates/") {
        let path = entry.expect("entry").path().join("src/metrics.rs");
        let Ok(text) = std::fs::read_to_string(&path) else {
            continue;
        };
        for line in text.lines() {
            let Some(rest) = line.trim().strip_prefix("pub const ") else {
                continue;
            };
            if let Some((_, value)) = rest.split_once(": &str = \"") {
                let value = value.trim_end_matches("\";");
                if value.starts_with("auren_") {
                    names.insert(value.to_owned());
                }
            }
        }
    }
    names
}

/// Every PromQL expression of the dashboard, after checking its shape.
fn dashboard_expressions() -> Vec<String> {
    let text = read("docs/observability/grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert!(dashboard["title"].is_string());
    assert!(dashboard["uid"].is_string());
    assert!(dashboard["schemaVersion"].is_u64());

    let panels = dashboard["panels"].as_array().expect("panels");
    let mut ids = BTreeSet::new();
    let mut expressions = Vec::new();
    for panel in panels {
        let title = panel["title"].as_str().expect("every panel has a title");
        assert!(
            ids.insert(panel["id"].as_u64().expect("id")),
            "{title}: duplicate id"
        );
        for field in ["h", "w", "x", "y"] {
            assert!(panel["gridPos"][field].is_u64(), "{title}: gridPos.{field}");
        }
        if panel["type"] == "row" {
            continue;
        }

        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{title}: no query");
        for target in targets {
            let expr = target["expr"].as_str().expect("expr").to_owned();
            assert!(target["refId"].is_string(), "{title}: refId");
            assert_eq!(
                expr.matches('(').count(),
                expr.matches(')').count(),
                "{expr}"
            );
            expressions.push(expr);
        }
    }
    expressions
}

/// Every alert rule as (name, expression), after checking the rule file's shape.
fn alert_rules() -> Vec<(String, String)> {
    let text = read("docs/observability/prometheus-alerts.yml");
    let documents = YamlLoader::load_from_str(&text).expect("valid YAML");
    let [document] = documents.as_slice() else {
        panic!("one YAML document");
    };

    let mut rules = Vec::new();
    let groups = document["groups"].as_vec().expect("groups");
    for group in groups {
        assert!(group["name"].as_str().is_some(), "a group without a name");
        for rule in group["rules"].as_vec().expect("rules") {
            let alert = rule["alert"].as_str().expect("alert").to_owned();
            let expr = rule["expr"].as_str().expect("expr").to_owned();
            assert_eq!(
                expr.matches('(').count(),
                expr.matches(')').count(),
                "{alert}"
            );
            let severity = rule["labels"]["severity"].as_str();
            assert!(
                matches!(severity, Some("warning" | "critical")),
                "{alert}: severity"
            );
            assert!(rule["annotations"]["summary"].as_str().is_some(), "{alert}");
            assert!(
                rule["annotations"]["description"].as_str().is_some(),
                "{alert}"
            );
            if let Yaml::String(duration) = &rule["for"] {
                assert!(
                    duration.ends_with('s') || duration.ends_with('m'),
                    "{alert}"
                );
            }
            rules.push((alert, expr));
        }
    }
    rules
}

#[test]
fn the_table_documents_exactly_the_constants_of_the_crates() {
    let table = documented();
    let names: BTreeSet<String> = table.iter().map(|(name, _)| name.clone()).collect();
    assert!(names.len() >= 17, "{names:?}");
    assert_eq!(names, constants());
    for (name, kind) in table {
        assert!(
            matches!(kind.as_str(), "counter" | "gauge" | "histogram"),
            "{name}: {kind}"
        );
        assert_eq!(kind == "counter", name.ends_with("_total"), "{name}");
    }
}

#[test]
fn the_dashboard_and_the_alerts_use_documented_metrics_only() {
    let table = documented();
    let documented: BTreeSet<String> = table.iter().map(|(name, _)| name.clone()).collect();
    let histograms: BTreeSet<String> = table
        .iter()
        .filter(|(_, kind)| kind == "histogram")
        .map(|(name, _)| name.clone())
        .collect();

    let dashboard = dashboard_expressions().join("\n");
    let alerts: Vec<String> = alert_rules().into_iter().map(|(_, expr)| expr).collect();
    let alerts = alerts.join("\n");
    let used = |text: &str| -> BTreeSet<String> {
        metric_names(text)
            .iter()
            .map(|name| base_name(name, &histograms))
            .collect()
    };
    let (in_dashboard, in_alerts) = (used(&dashboard), used(&alerts));

    for name in in_dashboard.union(&in_alerts) {
        assert!(documented.contains(name), "{name} is not in metrics.md");
    }
    for name in &documented {
        assert!(
            in_dashboard.contains(name) || in_alerts.contains(name),
            "{name} is on no panel and in no alert"
        );
    }
    for name in [
        "auren_auth_failures_total",
        "auren_audit_write_failures_total",
        "auren_ratelimit_store_available",
        "auren_audit_events_rejected_total",
        "auren_audit_queue_depth",
        "auren_ratelimit_store_errors_total",
        "auren_phi_errors_total",
    ] {
        assert!(in_alerts.contains(name), "no alert on {name}");
    }
}

#[test]
fn metric_names_are_found_as_whole_words() {
    let found = metric_names("rate(auren_a_total[5m]) / x_auren_b + auren_core::Layer");
    let expected: BTreeSet<String> = ["auren_a_total", "auren_core"]
        .into_iter()
        .map(str::to_owned)
        .collect();
    assert_eq!(found, expected);
}
