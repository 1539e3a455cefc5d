//! Property tests: no header value, however odd, makes a parser panic, and only real
//! signatures verify.

use auren_webhook::scheme::{self, auren, github, standard, stripe};
use auren_webhook::{WebhookProvider, WebhookScheme, WebhookSecret};
use http::{HeaderMap, HeaderValue};
use proptest::prelude::*;

fn header_values() -> impl Strategy<Value = Vec<(usize, Vec<u8>)>> {
    let value = prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..120),
        "[tv0-9a-fA-F=,. +/_-]{0,120}".prop_map(String::into_bytes),
        "(t=[0-9]{1,12}|v1=[0-9a-f]{0,70}|v1,[A-Za-z0-9+/=]{0,50})([, ].{0,20}){0,4}"
            .prop_map(String::into_bytes),
    ];
    proptest::collection::vec((0..scheme::ALL_HEADER_NAMES.len(), value), 0..6)
}

proptest! {
    #[test]
    fn string_parsers_never_panic(text in ".{0,200}") {
        let _ = auren::parse_signature(&text);
        let _ = github::parse_signature(&text);
        let _ = standard::parse_signature_header(&text);
        let _ = stripe::parse_signature_header(&text);
        let _ = scheme::parse_timestamp(&text);
        let _ = scheme::is_valid_message_id(&text);
    }

    #[test]
    fn header_parsing_and_verification_never_panic_nor_pass(
        values in header_values(),
        body in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in values {
            if let Ok(value) = HeaderValue::from_bytes(&value) {
                headers.append(scheme::ALL_HEADER_NAMES[name], value);
            }
        }
        for scheme in WebhookScheme::ALL {
            let _ = scheme.parse_headers(&headers);
            let provider = WebhookProvider::new(
                "p",
                scheme,
                vec![WebhookSecret::new("whsec_c2VjcmV0")],
            )
            .expect("valid");
            // Random bytes cannot carry a valid HMAC of a secret they do not know.
            prop_assert!(provider.verify(&headers, &body, chrono::Utc::now()).is_err());
        }
    }
}
