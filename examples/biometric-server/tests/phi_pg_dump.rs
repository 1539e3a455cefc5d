//! PHI at rest: readings written through the server are sealed in Postgres, so a
//! `pg_dump` of the database shows neither the note nor the heart rate.

mod common;

use std::process::Command;

use biometric_server::ReadingList;
use common::TestServer;
use serde_json::json;

const NOTE: &str = "zebra-quartz-7731 palpitations after espresso";
const BPM: u16 = 173;

#[tokio::test]
async fn a_database_dump_shows_no_phi() {
    let Some(db) = auren_testing::TestDatabase::create().await else {
        return;
    };
    let server = TestServer::on_postgres(&db).await;
    let key = server.user_key("alice").await;

    for (bpm, note) in [(BPM, Some(NOTE)), (BPM, None)] {
        let response = server
            .client
            .post(server.url("/api/biometrics/heart-rate"))
            .bearer_auth(&key)
            .json(&json!({
                "bpm": bpm,
                "recorded_at": "2026-01-02T03:04:05Z",
                "note": note,
            }))
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201);
    }

    // The owner reads the plaintext back.
    let response = server
        .client
        .get(server.url("/api/biometrics/heart-rate"))
        .bearer_auth(&key)
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200);
    let list: ReadingList = response.json().await.expect("json");
    assert_eq!(list.readings.len(), 2);
    assert!(list.readings.iter().all(|reading| reading.bpm == BPM));
    assert!(list
        .readings
        .iter()
        .any(|reading| reading.note.as_deref() == Some(NOTE)));
    server.stop().await;

    let output = Command::new("/usr/bin/pg_dump")
        .arg("--data-only")
        .arg("--dbname")
        .arg(db.url())
        .output()
        .expect("pg_dump runs");
    assert!(
        output.status.success(),
        "pg_dump failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let dump = String::from_utf8(output.stdout).expect("UTF-8 dump");

    assert!(!dump.contains("zebra-quartz"), "the note is in the dump");
    assert!(!dump.contains("palpitations"), "the note is in the dump");

    // The readings' rows: every column is either not PHI or a sealed value, and no
    // column holds the heart rate as a number.
    let rows = readings_rows(&dump);
    assert_eq!(rows.len(), 2, "{dump}");
    for row in rows {
        let columns: Vec<&str> = row.split('\t').collect();
        assert!(
            !columns.iter().any(|column| *column == BPM.to_string()),
            "the heart rate is in the dump: {row}"
        );
        assert!(!row.contains("\"bpm\""), "{row}");
        assert!(
            columns.iter().any(|column| column.starts_with("v1:dk_")),
            "a sealed bpm: {row}"
        );
    }
}

/// The data lines of the `COPY ... heart_rate_readings` block of a plain-format dump.
fn readings_rows(dump: &str) -> Vec<&str> {
    let mut lines = dump.lines();
    let Some(_) = lines
        .by_ref()
        .find(|line| line.starts_with("COPY ") && line.contains("heart_rate_readings"))
    else {
        return Vec::new();
    };
    lines.take_while(|line| *line != "\\.").collect()
}
