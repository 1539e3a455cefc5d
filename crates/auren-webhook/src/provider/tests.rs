//! Verification of each scheme: vectors, tampering, freshness, rotation, truncation.

use chrono::TimeZone;
use http::{HeaderMap, HeaderName, HeaderValue};

use super::*;

fn at(seconds: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(seconds, 0).single().expect("valid time")
}

fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
    pairs
        .iter()
        .map(|(name, value)| {
            let name = HeaderName::from_bytes(name.as_bytes()).expect("name");
            (name, HeaderValue::from_str(value).expect("value"))
        })
        .collect()
}

fn signed(scheme: WebhookScheme, secret: &str, id: &str, t: i64, body: &[u8]) -> HeaderMap {
    let pairs = scheme
        .sign(&WebhookSecret::new(secret), id, t, body)
        .expect("signs");
    let pairs: Vec<(&str, &str)> = pairs.iter().map(|(n, v)| (*n, v.as_str())).collect();
    headers(&pairs)
}

fn provider(scheme: WebhookScheme, secrets: &str) -> WebhookProvider {
    WebhookProvider::new("p", scheme, WebhookSecret::list(secrets)).expect("valid")
}

#[test]
fn github_documentation_vector() {
    // From GitHub's docs, "Validating webhook deliveries" (docs.github.com/en/webhooks/
    // using-webhooks/validating-webhook-deliveries), "Testing the webhook payload
    // validation": secret "It's a Secret to Everybody", payload "Hello, World!".
    let provider = WebhookProvider::new(
        "github",
        WebhookScheme::Github,
        vec![WebhookSecret::new("It's a Secret to Everybody")],
    )
    .expect("valid");
    let request = headers(&[
        (
            "x-hub-signature-256",
            "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        ),
        ("x-github-delivery", "72d3162e-cc78-11e3-81ab-4c9367dc0958"),
    ]);
    let verified = provider
        .verify(&request, b"Hello, World!", Utc::now())
        .expect("the documented signature verifies");
    assert_eq!(
        verified.message_id.as_deref(),
        Some("72d3162e-cc78-11e3-81ab-4c9367dc0958")
    );
    assert_eq!(verified.replay_ids.len(), 2);
    assert_eq!(
        provider.verify(&request, b"Hello, World?", Utc::now()),
        Err(WebhookRejection::InvalidSignature)
    );
}

#[test]
fn standard_webhooks_reference_vector() {
    // The Standard Webhooks reference libraries' test vector
    // (github.com/standard-webhooks/standard-webhooks, libraries/*/ tests).
    let provider = provider(
        WebhookScheme::Standard,
        "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    );
    let request = headers(&[
        ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
        ("webhook-timestamp", "1614265330"),
        (
            "webhook-signature",
            "v1,bm9wZQ== v2,abc v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
        ),
    ]);
    let body = br#"{"test": 2432232314}"#;
    let verified = provider
        .verify(&request, body, at(1_614_265_330))
        .expect("the reference signature verifies");
    assert_eq!(
        verified.replay_ids,
        vec!["id:msg_p5jXN8AQM9LWM0D4loKWxJek".to_owned()]
    );
    assert_eq!(verified.replay_ttl, DEFAULT_TOLERANCE * 2);

    assert_eq!(
        provider.verify(&request, br#"{"test": 2432232315}"#, at(1_614_265_330)),
        Err(WebhookRejection::InvalidSignature)
    );
}

#[test]
fn every_scheme_accepts_its_own_signature_and_refuses_tampering() {
    let now = 1_700_000_000;
    for scheme in WebhookScheme::ALL {
        let secret = "whsec_dGhpcyBpcyBhIHRlc3Qgc2VjcmV0IGtleQ==";
        let provider = provider(scheme, secret);
        let request = signed(scheme, secret, "msg_1", now, b"{\"bpm\":64}");

        assert!(
            provider.verify(&request, b"{\"bpm\":64}", at(now)).is_ok(),
            "{scheme}"
        );
        assert_eq!(
            provider.verify(&request, b"{\"bpm\":65}", at(now)),
            Err(WebhookRejection::InvalidSignature),
            "{scheme}"
        );
        let other = self::provider(scheme, "whsec_b3RoZXIgc2VjcmV0");
        assert_eq!(
            other.verify(&request, b"{\"bpm\":64}", at(now)),
            Err(WebhookRejection::InvalidSignature),
            "{scheme}"
        );
    }
}

#[test]
fn timestamps_are_checked_both_ways_except_for_github() {
    let signed_at = 1_700_000_000;
    let body = b"{}";
    for scheme in WebhookScheme::ALL {
        let provider = provider(scheme, "c2VjcmV0");
        let request = signed(scheme, "c2VjcmV0", "msg_1", signed_at, body);
        let tolerance = DEFAULT_TOLERANCE.as_secs() as i64;

        for now in [signed_at - tolerance, signed_at, signed_at + tolerance] {
            assert!(
                provider.verify(&request, body, at(now)).is_ok(),
                "{scheme} {now}"
            );
        }
        for now in [
            signed_at - tolerance - 1,
            signed_at + tolerance + 1,
            0,
            i64::from(u32::MAX),
        ] {
            let outcome = provider.verify(&request, body, at(now));
            if scheme == WebhookScheme::Github {
                assert!(outcome.is_ok(), "GitHub signs no timestamp");
            } else {
                assert_eq!(
                    outcome,
                    Err(WebhookRejection::StaleTimestamp),
                    "{scheme} {now}"
                );
            }
        }
    }
}

#[test]
fn a_far_future_timestamp_is_stale_not_an_overflow() {
    let provider = provider(WebhookScheme::Auren, "k");
    let request = signed(WebhookScheme::Auren, "k", "", 999_999_999_999, b"");
    assert_eq!(
        provider.verify(&request, b"", Utc::now()),
        Err(WebhookRejection::StaleTimestamp)
    );
}

#[test]
fn rotation_accepts_either_secret_and_the_replay_id_does_not_depend_on_it() {
    let now = 1_700_000_000;
    let body = b"{}";
    for scheme in WebhookScheme::ALL {
        let provider = provider(scheme, "b2xk bmV3");
        for secret in ["b2xk", "bmV3"] {
            let request = signed(scheme, secret, "msg_1", now, body);
            assert!(
                provider.verify(&request, body, at(now)).is_ok(),
                "{scheme} {secret}"
            );
        }
        let retired = signed(scheme, "cmV0aXJlZA==", "msg_1", now, body);
        assert_eq!(
            provider.verify(&retired, body, at(now)),
            Err(WebhookRejection::InvalidSignature)
        );
    }

    // Stripe during a roll: one v1 per secret; dropping either gives the same replay id.
    let provider = provider(WebhookScheme::Stripe, "old new");
    let old = scheme::stripe::sign(b"old", now, body);
    let new = scheme::stripe::sign(b"new", now, body);
    let both = format!("{old},{}", new.split_once(',').expect("two items").1);
    let ids: Vec<_> = [old, new, both]
        .iter()
        .map(|value| {
            let request = headers(&[("stripe-signature", value)]);
            provider
                .verify(&request, body, at(now))
                .expect("valid")
                .replay_ids
        })
        .collect();
    assert_eq!(ids[0], ids[1]);
    assert_eq!(ids[1], ids[2]);
}

#[test]
fn truncated_and_empty_signatures_never_pass() {
    let now = 1_700_000_000;
    let body = b"{}";
    let provider = provider(WebhookScheme::Standard, "c2VjcmV0");
    let good = scheme::standard::sign(b"secret", "msg_1", now, body);
    for bad in ["v1,", &good[..8], &good[..good.len() - 1], "v1,AAAA", ""] {
        let request = headers(&[
            ("webhook-id", "msg_1"),
            ("webhook-timestamp", "1700000000"),
            ("webhook-signature", bad),
        ]);
        assert!(provider.verify(&request, body, at(now)).is_err(), "{bad:?}");
    }

    let provider = self::provider(WebhookScheme::Auren, "secret");
    let good = scheme::auren::sign(b"secret", now, body);
    for bad in ["", &good[..8], &good[..62]] {
        let request = headers(&[
            ("x-webhook-signature", bad),
            ("x-webhook-timestamp", "1700000000"),
        ]);
        assert_eq!(
            provider.verify(&request, body, at(now)),
            Err(WebhookRejection::MalformedSignature("x-webhook-signature"))
        );
    }
}

#[test]
fn the_auren_replay_id_ignores_hex_case() {
    let now = 1_700_000_000;
    let provider = provider(WebhookScheme::Auren, "secret");
    let lower = scheme::auren::sign(b"secret", now, b"");
    let upper = lower.to_uppercase();
    let id = |signature: &str| {
        let request = headers(&[
            ("x-webhook-signature", signature),
            ("x-webhook-timestamp", "1700000000"),
        ]);
        provider
            .verify(&request, b"", at(now))
            .expect("valid")
            .replay_ids
    };
    assert_eq!(id(&lower), id(&upper));
}

#[test]
fn names_and_secrets_are_checked_when_built() {
    let secret = || vec![WebhookSecret::new("s")];
    for name in ["", "Oura", "a b", "ü", &"a".repeat(65)] {
        assert!(
            WebhookProvider::new(name, WebhookScheme::Auren, secret()).is_err(),
            "{name}"
        );
    }
    assert!(matches!(
        WebhookProvider::new("p", WebhookScheme::Auren, vec![]),
        Err(WebhookConfigError::NoSecret { .. })
    ));
    assert!(matches!(
        WebhookProvider::new(
            "p",
            WebhookScheme::Standard,
            WebhookSecret::list("whsec_!!")
        ),
        Err(WebhookConfigError::SecretEncoding { .. })
    ));
    let provider = WebhookProvider::new("p", WebhookScheme::Auren, secret()).expect("valid");
    assert!(provider.clone().with_tolerance(Duration::ZERO).is_err());
    assert!(provider.with_untimed_replay_window(Duration::ZERO).is_err());
}

#[test]
fn a_timestamp_with_leading_zeros_is_signed_as_its_value() {
    // The signed content holds the parsed timestamp (`{t}`), not the header's spelling.
    let now = 1_700_000_000;
    let provider = provider(WebhookScheme::Auren, "secret");
    let as_value = scheme::auren::sign(b"secret", now, b"{}");
    let request = |signature: &str| {
        headers(&[
            ("x-webhook-signature", signature),
            ("x-webhook-timestamp", "001700000000"),
        ])
    };
    assert!(provider.verify(&request(&as_value), b"{}", at(now)).is_ok());

    let key = hmac::Key::new(hmac::HMAC_SHA256, b"secret");
    let as_spelled = hex::encode(hmac::sign(&key, b"001700000000.{}"));
    assert_eq!(
        provider.verify(&request(&as_spelled), b"{}", at(now)),
        Err(WebhookRejection::InvalidSignature)
    );
}

#[test]
fn a_valid_signature_after_many_others_still_matches() {
    let now = 1_700_000_000;
    let body = b"{}";
    let good = scheme::standard::sign(b"secret", "msg_1", now, body);
    let wrong = scheme::standard::sign(b"other", "msg_1", now, body);
    let mut signatures = vec![wrong.as_str(); 6];
    signatures.push(&good);
    let value = signatures.join(" ");
    let request = headers(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", &value),
    ]);

    let provider = provider(WebhookScheme::Standard, "c2VjcmV0");
    assert!(provider.verify(&request, body, at(now)).is_ok());
    let wrong_only = headers(&[
        ("webhook-id", "msg_1"),
        ("webhook-timestamp", "1700000000"),
        ("webhook-signature", &signatures[..6].join(" ")),
    ]);
    assert_eq!(
        provider.verify(&wrong_only, body, at(now)),
        Err(WebhookRejection::InvalidSignature)
    );
}

#[test]
fn tags_match_only_when_every_byte_does() {
    let tag = [0x5a_u8; 32];
    assert!(tags_match(&tag, &tag));
    for index in 0..32 {
        let mut other = tag;
        other[index] ^= 0x01;
        assert!(!tags_match(&other, &tag), "byte {index}");
    }
    assert!(!tags_match(&tag, &tag[..31]));
    assert!(!tags_match(&tag, &[0x5a; 33]));
}

#[test]
fn replay_ids_keep_their_text_form() {
    let now = 1_700_000_000;
    let body = b"{}";
    let tag = |prefix: &str| {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"c2VjcmV0");
        hex::encode(hmac::sign(&key, format!("{prefix}{{}}").as_bytes()))
    };
    let expected = [
        (
            WebhookScheme::Auren,
            vec![format!("sig:{}", tag("1700000000."))],
        ),
        (WebhookScheme::Standard, vec!["id:msg_1".to_owned()]),
        (
            WebhookScheme::Stripe,
            vec![format!("t:1700000000:{}", tag("1700000000."))],
        ),
        (
            WebhookScheme::Github,
            vec!["id:msg_1".to_owned(), format!("sig:{}", tag(""))],
        ),
    ];
    for (scheme, ids) in expected {
        let provider = provider(scheme, "c2VjcmV0");
        let request = signed(scheme, "c2VjcmV0", "msg_1", now, body);
        let verified = provider.verify(&request, body, at(now)).expect("valid");
        assert_eq!(verified.replay_ids, ids, "{scheme}");
    }
}
