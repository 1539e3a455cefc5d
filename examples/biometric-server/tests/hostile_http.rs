//! The hostile-input corpus: hundreds of malformed requests against the example server,
//! sent byte for byte over raw TCP. Not one may get a 5xx, panic the server or hang; every
//! request that reaches the application gets a 4xx with the shared JSON error body and a
//! ULID request id.
//!
//! Requests whose HTTP framing is broken (a NUL in the request line, conflicting lengths,
//! oversized headers) are refused by the HTTP parser before any layer runs: those may get a
//! bare `400`/`431` or a closed connection, and still never a 5xx or a hang.

mod common;
mod hardening;

use std::net::SocketAddr;
use std::time::Duration;

use auren_testing::TestDatabase;
use biometric_server::{ServerConfig, WebhookConfig};
use common::TestServer;
use hardening::raw::{exchange, preview, read_answer, Outcome, RawResponse};
use tokio::io::AsyncWriteExt;

const HEART_RATE: &str = "/api/biometrics/heart-rate";

/// What a case must get back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    /// Reaches the application: a 4xx with the JSON error body and a request id.
    Refused,
    /// `HEAD`: a 4xx and a request id, and no body by definition.
    RefusedHead,
    /// Broken framing: any non-5xx answer, or the connection closed.
    Framing,
}

struct Case {
    name: String,
    request: Vec<u8>,
    expect: Expect,
}

/// Builds a request with `Host`, `Connection: close` and a `Content-Length` for `body`.
fn request(method: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut text =
        format!("{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    if !body.is_empty() {
        text.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    text.push_str("\r\n");
    let mut bytes = text.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

fn case(cases: &mut Vec<Case>, name: impl Into<String>, request: Vec<u8>, expect: Expect) {
    cases.push(Case {
        name: name.into(),
        request,
        expect,
    });
}

/// Paths with traversal, encoded NULs and other oddities; none names a resource.
fn hostile_paths() -> Vec<String> {
    let mut paths: Vec<String> = [
        "/../../etc/passwd",
        "/..%2f..%2fetc%2fpasswd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%252e%252e/etc/passwd",
        "/api/../admin/api-keys",
        "/api/biometrics/../../admin/api-keys",
        "/api/biometrics/%2e%2e/%2e%2e/admin",
        "/admin/..%5c..%5cwindows%5cwin.ini",
        "/health%00",
        "/health%00.json",
        "/%00",
        "/api/biometrics%00/heart-rate",
        "/api/%00/biometrics",
        "/webhooks/%00",
        "/webhooks/..%2f..%2fadmin",
        "/webhooks/%2e%2e",
        "//health/",
        "///admin///api-keys",
        "/health/.",
        "/health/..",
        "/%ff%fe%fd",
        "/%c0%ae%c0%ae/etc/passwd",
        "/%e0%80%af",
        "/%",
        "/%zz",
        "/%%32%65",
        "/;/health",
        "/health;jsessionid=1",
        "/api/biometrics;/heart-rate",
        "/.env",
        "/.git/config",
        "/admin/api-keys/..;/..;/",
        "/favicon.ico",
        "/%2fadmin%2fapi-keys",
        "/api/biometrics/heart-rate/%0d%0aSet-Cookie:%20x=1",
        "/api/biometrics/heart-rate/extra/segments/here",
        "/webhooks",
        "/webhooks/",
        "/webhooks/a/b",
        "/admin",
        "/api",
        "/api/",
        "/ADMIN/API-KEYS",
        "/Health",
        "/%u002e%u002e/",
        "/\u{0007}bell",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();
    paths.push(format!("/{}", "a".repeat(8 * 1024)));
    paths.push(format!("/{}", "../".repeat(500)));
    paths.push(format!("/{}", "%00".repeat(500)));
    paths.push(format!("/api/biometrics?{}", "a=1&".repeat(2000)));
    paths
}

fn path_cases(cases: &mut Vec<Case>, user: &str) {
    let bearer = format!("Bearer {user}");
    for path in hostile_paths() {
        // A raw control character cannot be in a request line: that one is framing.
        let expect = if path.bytes().any(|b| b.is_ascii_control()) {
            Expect::Framing
        } else {
            Expect::Refused
        };
        case(
            cases,
            format!("GET {path}"),
            request("GET", &path, &[], b""),
            expect,
        );
        case(
            cases,
            format!("GET {path} with a key"),
            request("GET", &path, &[("Authorization", &bearer)], b""),
            expect,
        );
    }
}

fn method_cases(cases: &mut Vec<Case>, user: &str) {
    let bearer = format!("Bearer {user}");
    let routes = [
        "/health",
        HEART_RATE,
        "/api/biometrics",
        "/admin/api-keys",
        "/webhooks/x",
    ];
    let methods = ["PUT", "DELETE", "PATCH", "TRACE", "PROPFIND", "FOO", "get"];
    for route in routes {
        for method in methods {
            case(
                cases,
                format!("{method} {route}"),
                request(method, route, &[("Authorization", &bearer)], b""),
                Expect::Refused,
            );
        }
    }
    case(
        cases,
        "HEAD unknown",
        request("HEAD", "/nope", &[], b""),
        Expect::RefusedHead,
    );
    case(
        cases,
        "HEAD api without key",
        request("HEAD", HEART_RATE, &[], b""),
        Expect::RefusedHead,
    );
    case(
        cases,
        "a 4 KiB method",
        request(&"X".repeat(4096), "/health", &[], b""),
        Expect::Framing,
    );
    case(
        cases,
        "no method",
        b"/health HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        Expect::Framing,
    );
    case(
        cases,
        "HTTP/2 preface on HTTP/1",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec(),
        Expect::Framing,
    );
    case(
        cases,
        "HTTP/9.9",
        b"GET /health HTTP/9.9\r\nHost: x\r\n\r\n".to_vec(),
        Expect::Framing,
    );
    case(
        cases,
        "garbage",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03".to_vec(),
        Expect::Framing,
    );
    case(
        cases,
        "leading empty lines",
        b"\r\n\r\nGET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        Expect::Framing,
    );
    case(
        cases,
        "absolute-form target to another host",
        request("GET", "http://evil.example/admin/api-keys", &[], b""),
        Expect::Refused,
    );
    case(
        cases,
        "asterisk target",
        request("OPTIONS", "*", &[], b""),
        Expect::Framing,
    );
    case(
        cases,
        "NUL in the request line",
        b"GET /health\x00 HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        Expect::Framing,
    );
}

fn authorization_cases(cases: &mut Vec<Case>, user: &str) {
    let wrong_checksum = {
        let mut key = user.to_owned();
        let last = key.pop().unwrap_or('A');
        key.push(if last == 'A' { 'B' } else { 'A' });
        key
    };
    let unknown = auren::auth::KeyFormat::default()
        .generate()
        .expect("random key")
        .expose_secret()
        .to_owned();
    let values: Vec<String> = vec![
        String::new(),
        "Bearer".into(),
        "Bearer ".into(),
        "Bearer  ".into(),
        format!("bearer {user}"),
        format!("BEARER {user}"),
        format!("Basic {user}"),
        format!("Token {user}"),
        format!("Bearer  {user}"),
        format!("Bearer\t{user}"),
        format!("Bearer {user} extra"),
        format!("Bearer {user},{user}"),
        format!("Bearer {wrong_checksum}"),
        format!("Bearer {unknown}"),
        format!("Bearer {}", user.to_uppercase()),
        format!("Bearer {}", &user[..user.len() - 1]),
        format!("Bearer {user}x"),
        format!("Bearer x{user}"),
        "Bearer auren_".into(),
        "Bearer auren_00000000000000000000000000000000000000".into(),
        "Bearer ak_01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        format!("Bearer {}", "A".repeat(10_000)),
        "Bearer %00%00".into(),
        "Bearer ../../admin".into(),
        "Bearer ' OR '1'='1".into(),
        "Bearer {\"role\":\"admin\"}".into(),
        "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.".into(),
        "Basic YWRtaW46YWRtaW4=".into(),
        "Digest username=\"admin\"".into(),
    ];
    for (index, value) in values.iter().enumerate() {
        case(
            cases,
            format!("authorization #{index}"),
            request("GET", HEART_RATE, &[("Authorization", value)], b""),
            Expect::Refused,
        );
    }

    // Two Authorization headers, the second one valid.
    case(
        cases,
        "two authorization headers",
        request(
            "GET",
            HEART_RATE,
            &[
                ("Authorization", "Bearer nope"),
                ("Authorization", &format!("Bearer {user}")),
            ],
            b"",
        ),
        Expect::Refused,
    );

    // Raw bytes that are not UTF-8 in the header value.
    let mut bytes = b"GET /api/biometrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n".to_vec();
    bytes.extend_from_slice(b"Authorization: Bearer \xff\xfe\xfd\x80\r\n\r\n");
    case(cases, "authorization not UTF-8", bytes, Expect::Refused);

    // A user key on an admin route.
    case(
        cases,
        "user key on admin",
        request(
            "GET",
            "/admin/api-keys",
            &[("Authorization", &format!("Bearer {user}"))],
            b"",
        ),
        Expect::Refused,
    );
    case(
        cases,
        "user key creating an admin key",
        request(
            "POST",
            "/admin/api-keys",
            &[
                ("Authorization", &format!("Bearer {user}")),
                ("Content-Type", "application/json"),
            ],
            br#"{"user_id":"x","role":"admin"}"#,
        ),
        Expect::Refused,
    );
}

fn body_cases(cases: &mut Vec<Case>, user: &str) {
    let bearer = format!("Bearer {user}");
    let json = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let long_note = format!(
        r#"{{"bpm":70,"recorded_at":"2026-01-01T00:00:00Z","note":"{}"}}"#,
        "n".repeat(1001)
    );
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(5000), "}".repeat(5000));
    let bodies: Vec<Vec<u8>> = vec![
        b"{".to_vec(),
        b"}".to_vec(),
        b"null".to_vec(),
        b"[]".to_vec(),
        b"\"text\"".to_vec(),
        b"{}".to_vec(),
        b"{\"bpm\":70}".to_vec(),
        br#"{"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":"70","recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":70.5,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":-1,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":0,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":19,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":301,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":9223372036854775807,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":9223372036854775808,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":-9223372036854775809,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":1e400,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":NaN,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":null,"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":[70],"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":{"$gt":0},"recorded_at":"2026-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":70,"recorded_at":"yesterday"}"#.to_vec(),
        br#"{"bpm":70,"recorded_at":"2026-13-45T99:99:99Z"}"#.to_vec(),
        br#"{"bpm":70,"recorded_at":"+275760-09-13T00:00:00Z"}"#.to_vec(),
        br#"{"bpm":70,"recorded_at":1700000000}"#.to_vec(),
        br#"{"bpm":70,"recorded_at":""}"#.to_vec(),
        br#"{"bpm":70,"recorded_at":"2026-01-01T00:00:00Z","note":5}"#.to_vec(),
        long_note.into_bytes(),
        br#"{"bpm":70,"recorded_at":"2026-01-01T00:00:00Z","note":"\ud800"}"#.to_vec(),
        br#"{"bpm":70,"recorded_at":"2026-01-01T00:00:00Z""#.to_vec(),
        b"{\"bpm\":70,\"recorded_at\":\"2026-01-01T00:00:00Z\",\"note\":\"\xff\xfe\"}".to_vec(),
        b"\xef\xbb\xbf{\"bpm\":70}".to_vec(),
        b"\x00\x00\x00\x00".to_vec(),
        b"{\"bpm\":70,\x00}".to_vec(),
        deep.into_bytes(),
        deep_object.into_bytes(),
        "{\"bpm\":70,".repeat(1000).into_bytes(),
        b"bpm=70&recorded_at=now".to_vec(),
        br#"{"user_id":"someone-else"}"#.to_vec(),
    ];
    for (index, body) in bodies.into_iter().enumerate() {
        case(
            cases,
            format!("heart-rate body #{index}"),
            request("POST", HEART_RATE, &json, &body),
            Expect::Refused,
        );
    }

    let valid = br#"{"bpm":70,"recorded_at":"2026-01-01T00:00:00Z"}"#;
    let content_types = [
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=x",
        "application/xml",
        "application/json-but-not",
        "",
        "application/\u{0}json",
    ];
    for content_type in content_types {
        let expect = if content_type.contains('\u{0}') {
            Expect::Framing
        } else {
            Expect::Refused
        };
        case(
            cases,
            format!("content-type {content_type:?}"),
            request(
                "POST",
                HEART_RATE,
                &[("Authorization", &bearer), ("Content-Type", content_type)],
                valid,
            ),
            expect,
        );
    }
    case(
        cases,
        "no content-type",
        request("POST", HEART_RATE, &[("Authorization", &bearer)], valid),
        Expect::Refused,
    );
    case(
        cases,
        "empty body",
        request("POST", HEART_RATE, &json, b""),
        Expect::Refused,
    );
}

fn query_cases(cases: &mut Vec<Case>, user: &str) {
    let bearer = format!("Bearer {user}");
    let queries = [
        "limit=-1",
        "limit=0",
        "limit=abc",
        "limit=99999999999999999999999",
        "limit=1e3",
        "limit=%00",
        "limit=1&limit=2",
        "limit=",
        "limit=%ff",
        "limit[]=1",
        "limit=1%20OR%201=1",
        "limit=100000",
        "unknown=1",
        "%zz=1",
    ];
    for query in queries {
        case(
            cases,
            format!("query {query}"),
            request(
                "GET",
                &format!("/api/biometrics?{query}"),
                &[("Authorization", &bearer)],
                b"",
            ),
            Expect::Refused,
        );
    }
}

fn header_cases(cases: &mut Vec<Case>, user: &str) {
    let bearer = format!("Bearer {user}");
    let odd_request_ids = ["", "not-a-ulid", "../../", "'; DROP TABLE audit_events; --"];
    for id in odd_request_ids {
        case(
            cases,
            format!("x-request-id {id:?}"),
            request("GET", "/nope", &[("X-Request-Id", id)], b""),
            Expect::Refused,
        );
    }
    let long_id = "Z".repeat(2000);
    case(
        cases,
        "a 2000-character request id",
        request("GET", "/nope", &[("X-Request-Id", &long_id)], b""),
        Expect::Refused,
    );

    let many: Vec<(String, String)> = (0..90).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let many: Vec<(&str, &str)> = many.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
    case(
        cases,
        "90 headers",
        request("GET", "/nope", &many, b""),
        Expect::Refused,
    );

    let huge = "h".repeat(200 * 1024);
    case(
        cases,
        "a 200 KiB header",
        request("GET", "/health", &[("X-Huge", &huge)], b""),
        Expect::Framing,
    );
    let too_many: Vec<(String, String)> =
        (0..200).map(|i| (format!("X-H{i}"), "v".into())).collect();
    let too_many: Vec<(&str, &str)> = too_many
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    case(
        cases,
        "200 headers",
        request("GET", "/health", &too_many, b""),
        Expect::Framing,
    );

    let framing: Vec<(&str, Vec<u8>)> = vec![
        (
            "header without colon",
            b"GET /health HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n".to_vec(),
        ),
        (
            "space before colon",
            b"GET /health HTTP/1.1\r\nHost : x\r\n\r\n".to_vec(),
        ),
        (
            "NUL in a header",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n".to_vec(),
        ),
        (
            "bare LF lines",
            b"GET /nope HTTP/1.1\nHost: x\nConnection: close\n\n".to_vec(),
        ),
        (
            "obs-fold",
            b"GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n".to_vec(),
        ),
        (
            "content-length not a number",
            format!("POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{{}}")
                .into_bytes(),
        ),
        (
            "negative content-length",
            format!("POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{{}}")
                .into_bytes(),
        ),
        (
            "two different content-lengths",
            format!(
                "POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\
                 Content-Length: 5\r\n\r\n{{}}"
            )
            .into_bytes(),
        ),
        (
            "content-length and chunked (smuggling)",
            format!(
                "POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Authorization: {bearer}\r\nContent-Type: application/json\r\n\
                 Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n\
                 0\r\n\r\nGET /admin/api-keys HTTP/1.1\r\nHost: x\r\n\r\n"
            )
            .into_bytes(),
        ),
        (
            "bad chunk size",
            format!(
                "POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Authorization: {bearer}\r\nContent-Type: application/json\r\n\
                 Transfer-Encoding: chunked\r\n\r\nzz\r\n{{}}\r\n0\r\n\r\n"
            )
            .into_bytes(),
        ),
        (
            "unknown transfer-encoding",
            format!(
                "POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
                 Transfer-Encoding: gzip\r\n\r\n{{}}"
            )
            .into_bytes(),
        ),
    ];
    for (name, bytes) in framing {
        case(cases, name, bytes, Expect::Framing);
    }
}

fn webhook_cases(cases: &mut Vec<Case>) {
    let json = [("Content-Type", "application/json")];
    let body = br#"{"user_id":"u1","readings":[{"bpm":70,"recorded_at":"2026-01-02T03:04:05Z"}]}"#;
    let header_sets: Vec<Vec<(&str, &str)>> = vec![
        vec![],
        vec![("webhook-id", "m1")],
        vec![
            ("webhook-id", "m1"),
            ("webhook-timestamp", "now"),
            ("webhook-signature", "v1,x"),
        ],
        vec![
            ("webhook-id", "m1"),
            ("webhook-timestamp", "-1"),
            ("webhook-signature", "v1,"),
        ],
        vec![
            ("webhook-id", "m1"),
            ("webhook-timestamp", "99999999999999999999"),
            ("webhook-signature", "v1,AAAA"),
        ],
        vec![
            ("webhook-id", ""),
            ("webhook-timestamp", "1"),
            ("webhook-signature", ""),
        ],
        vec![("stripe-signature", "t=1,v1=00")],
        vec![("stripe-signature", "t=,v1=")],
        vec![("stripe-signature", ",,,,===,,,")],
        vec![("x-hub-signature-256", "sha256=zz")],
        vec![("x-hub-signature-256", "md5=00")],
        vec![
            ("x-webhook-signature", "0000"),
            ("x-webhook-timestamp", "1"),
        ],
    ];
    for provider in ["standard", "stripe", "github", "auren", "unknown", "%00"] {
        for (index, headers) in header_sets.iter().enumerate() {
            let mut headers = headers.clone();
            headers.extend_from_slice(&json);
            case(
                cases,
                format!("webhook {provider} #{index}"),
                request("POST", &format!("/webhooks/{provider}"), &headers, body),
                Expect::Refused,
            );
        }
    }
    case(
        cases,
        "webhook GET",
        request("GET", "/webhooks/standard", &[], b""),
        Expect::Refused,
    );
}

fn admin_cases(cases: &mut Vec<Case>, admin: &str) {
    let bearer = format!("Bearer {admin}");
    let json = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];
    let key_bodies: Vec<Vec<u8>> = vec![
        b"{}".to_vec(),
        br#"{"user_id":""}"#.to_vec(),
        br#"{"user_id":"u","role":"root"}"#.to_vec(),
        br#"{"user_id":"u","role":"user","rate_limit_per_minute":-5}"#.to_vec(),
        br#"{"user_id":"u","role":"user","rate_limit_per_minute":99999999999}"#.to_vec(),
        format!(r#"{{"user_id":"{}","role":"user"}}"#, "u".repeat(10_000)).into_bytes(),
        br#"{"user_id":"u","role":"user","expires_at":"never"}"#.to_vec(),
        br#"{"user_id":"u","role":"user","expires_at":"1999-01-01T00:00:00Z"}"#.to_vec(),
        br#"{"user_id":"u","role":"user","bogus":true}"#.to_vec(),
        b"[".to_vec(),
    ];
    for (index, body) in key_bodies.into_iter().enumerate() {
        case(
            cases,
            format!("admin key body #{index}"),
            request("POST", "/admin/api-keys", &json, &body),
            Expect::Refused,
        );
    }
    let key_paths = [
        "/admin/api-keys/not-a-key-id",
        "/admin/api-keys/ak_01ARZ3NDEKTSV4RRFFQ69G5FAV",
        "/admin/api-keys/ak_%00",
        "/admin/api-keys/..%2f..%2f",
    ];
    for path in key_paths {
        case(
            cases,
            format!("DELETE {path}"),
            request("DELETE", path, &[("Authorization", &bearer)], b""),
            Expect::Refused,
        );
    }
    let audit_bodies: Vec<&[u8]> = vec![
        br#"{"limit":0}"#,
        br#"{"limit":1001}"#,
        br#"{"limit":-1}"#,
        br#"{"start_date":"yesterday"}"#,
        br#"{"start_date":"2026-02-30"}"#,
        br#"{"start_date":"2026-02-01","end_date":"2026-01-01"}"#,
        br#"{"action":"DROP TABLE audit_events"}"#,
        br#"{"outcome":"maybe"}"#,
        br#"{"cursor":"not-a-cursor"}"#,
        br#"{"cursor":"%00%00"}"#,
        br#"{"colour":"red"}"#,
        b"not json",
    ];
    for (index, body) in audit_bodies.into_iter().enumerate() {
        case(
            cases,
            format!("audit query #{index}"),
            request("POST", "/admin/audit-logs", &json, body),
            Expect::Refused,
        );
    }
}

fn corpus(user: &str, admin: &str) -> Vec<Case> {
    let mut cases = Vec::new();
    path_cases(&mut cases, user);
    method_cases(&mut cases, user);
    authorization_cases(&mut cases, user);
    body_cases(&mut cases, user);
    query_cases(&mut cases, user);
    header_cases(&mut cases, user);
    webhook_cases(&mut cases);
    admin_cases(&mut cases, admin);
    cases
}

/// Checks one answer against what its case expects; returns a complaint if it fails.
fn judge(case: &Case, outcome: &Outcome) -> Option<String> {
    let response: &RawResponse = match (outcome, case.expect) {
        (Outcome::Closed, Expect::Framing) => return None,
        (Outcome::Closed, _) => return Some("the connection closed without an answer".into()),
        (Outcome::Answered(response), _) => response,
    };
    if response.status >= 500 {
        return Some(format!("status {}", response.status));
    }
    if case.expect == Expect::Framing {
        return None;
    }
    if !(400..500).contains(&response.status) {
        return Some(format!("status {}, expected a 4xx", response.status));
    }

    let Some(id) = response.header("x-request-id") else {
        return Some("no x-request-id".into());
    };
    if ulid::Ulid::from_string(id).is_err() {
        return Some(format!("request id {id:?} is not a ULID"));
    }
    if case.expect == Expect::RefusedHead {
        return None;
    }

    if response.header("content-type") != Some("application/json") {
        return Some(format!(
            "content-type {:?}",
            response.header("content-type")
        ));
    }
    let body: serde_json::Value = match serde_json::from_slice(&response.body) {
        Ok(body) => body,
        Err(_) => return Some("the body is not JSON".into()),
    };
    let error = &body["error"];
    let complete = error["code"].as_str().is_some_and(|c| !c.is_empty())
        && error["message"].as_str().is_some_and(|m| !m.is_empty())
        && error["request_id"].as_str() == Some(id);
    (!complete).then(|| format!("not the shared error body: {body}"))
}

/// Runs every case, a few at a time; returns the failures and how many cases ran.
async fn run_corpus(address: SocketAddr, cases: Vec<Case>) -> (Vec<String>, usize) {
    let total = cases.len();
    let mut failures = Vec::new();
    for batch in cases.chunks(8) {
        let tasks: Vec<_> = batch
            .iter()
            .map(|case| {
                let request = case.request.clone();
                tokio::spawn(async move { exchange(address, &request).await })
            })
            .collect();
        for (case, task) in batch.iter().zip(tasks) {
            let outcome = task.await.expect("the exchange does not hang");
            if let Some(problem) = judge(case, &outcome) {
                failures.push(format!(
                    "{}: {problem} ({:?})",
                    case.name,
                    preview(&case.request)
                ));
            }
        }
    }
    (failures, total)
}

/// The server must still answer normally after the corpus: nothing panicked or wedged.
async fn still_healthy(server: &TestServer, user: &str) {
    let response = server
        .client
        .get(server.url("/health"))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 200, "health after the corpus");
    let response = server
        .client
        .post(server.url(HEART_RATE))
        .bearer_auth(user)
        .json(&serde_json::json!({"bpm": 70, "recorded_at": "2026-01-01T00:00:00Z"}))
        .send()
        .await
        .expect("send");
    assert_eq!(response.status(), 201, "a valid reading after the corpus");
}

/// A user key whose rate limit the corpus cannot reach, so every case meets the checks it
/// aims at rather than a 429.
async fn unlimited_user_key(server: &TestServer, user_id: &str) -> String {
    server
        .create_key(&serde_json::json!({
            "user_id": user_id,
            "role": "user",
            "rate_limit": 1_000_000,
        }))
        .await
}

fn hostile_config() -> ServerConfig {
    let mut config = ServerConfig::for_tests();
    let webhooks = auren::webhook::WebhookScheme::ALL.into_iter().fold(
        WebhookConfig::default(),
        |config, scheme| {
            config
                .with_provider(scheme.name(), scheme, "whsec_aG9zdGlsZS10ZXN0LXNlY3JldA==")
                .expect("valid provider")
        },
    );
    config.webhooks = webhooks;
    config
}

#[tokio::test]
async fn two_hundred_malformed_requests_get_4xx_with_the_error_body() {
    let server = TestServer::start(hostile_config()).await;
    let user = unlimited_user_key(&server, "hostile-user").await;
    let admin = server.admin_key().await;

    let cases = corpus(&user, &admin);
    let (failures, total) = run_corpus(server.address, cases).await;
    assert!(total >= 200, "the corpus has only {total} cases");
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    still_healthy(&server, &user).await;
    server.stop().await;
}

#[tokio::test]
async fn postgres_backed_server_refuses_the_corpus_the_same_way() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let mut config = hostile_config();
    config.auren.database_url = Some(db.url().to_owned());
    let server = TestServer::start(config).await;
    let user = unlimited_user_key(&server, "hostile-pg-user").await;
    let admin = server.admin_key().await;

    // A spot check: every fourth case, which still crosses every family.
    let cases: Vec<Case> = corpus(&user, &admin).into_iter().step_by(4).collect();
    let (failures, total) = run_corpus(server.address, cases).await;
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );

    still_healthy(&server, &user).await;
    server.stop().await;
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_413() {
    let server = TestServer::in_memory().await;
    let user = server.user_key("huge-body").await;
    let bearer = format!("Bearer {user}");
    let json = [
        ("Authorization", bearer.as_str()),
        ("Content-Type", "application/json"),
    ];

    let huge = format!(
        r#"{{"bpm":70,"recorded_at":"2026-01-01T00:00:00Z","note":"{}"}}"#,
        "x".repeat(biometric_server::MAX_BODY_BYTES + 1)
    );
    for target in [HEART_RATE, "/admin/audit-logs", "/webhooks/standard"] {
        let outcome = exchange(
            server.address,
            &request("POST", target, &json, huge.as_bytes()),
        )
        .await;
        match outcome {
            Outcome::Answered(response) => {
                assert!(
                    matches!(response.status, 401 | 403 | 404 | 413),
                    "{target}: status {}",
                    response.status
                );
                assert!(
                    response.header("x-request-id").is_some(),
                    "{target}: no request id"
                );
            }
            Outcome::Closed => panic!("{target}: closed without an answer"),
        }
    }

    // The same, chunked, without a Content-Length: the limit holds while streaming.
    let mut bytes = format!(
        "POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: {bearer}\r\nContent-Type: application/json\r\n\
         Transfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..20 {
        bytes.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        bytes.extend_from_slice(&chunk);
        bytes.extend_from_slice(b"\r\n");
    }
    bytes.extend_from_slice(b"0\r\n\r\n");
    match exchange(server.address, &bytes).await {
        Outcome::Answered(response) => assert!(
            (400..500).contains(&response.status),
            "chunked: status {}",
            response.status
        ),
        Outcome::Closed => {}
    }
    server.stop().await;
}

#[tokio::test]
async fn a_slow_body_is_served_and_a_truncated_one_refused() {
    let server = TestServer::in_memory().await;
    let user = server.user_key("slow-body").await;
    let body = br#"{"bpm":70,"recorded_at":"2026-01-01T00:00:00Z","note":"slowly"}"#;
    let head = format!(
        "POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: Bearer {user}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );

    // A body that trickles in, a few bytes at a time: served once complete.
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(server.address)
            .await
            .expect("connect");
        stream.write_all(head.as_bytes()).await.expect("head");
        for piece in body.chunks(7) {
            stream.write_all(piece).await.expect("piece");
            stream.flush().await.expect("flush");
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
        read_answer(&mut stream).await
    };
    let outcome = tokio::time::timeout(hardening::HANG_DETECTOR, work)
        .await
        .expect("no hang");
    match outcome {
        Outcome::Answered(response) => assert_eq!(response.status, 201),
        Outcome::Closed => panic!("a slow but complete body got no answer"),
    }

    // Half a body, then the client stops sending: a 4xx or a closed connection, no 5xx.
    let work = async {
        let mut stream = tokio::net::TcpStream::connect(server.address)
            .await
            .expect("connect");
        stream.write_all(head.as_bytes()).await.expect("head");
        stream
            .write_all(&body[..body.len() / 2])
            .await
            .expect("half");
        stream.shutdown().await.expect("half-close");
        read_answer(&mut stream).await
    };
    let outcome = tokio::time::timeout(hardening::HANG_DETECTOR, work)
        .await
        .expect("no hang");
    if let Outcome::Answered(response) = outcome {
        assert!(
            (400..500).contains(&response.status),
            "status {}",
            response.status
        );
    }

    still_healthy(&server, &user).await;
    server.stop().await;
}

#[tokio::test]
async fn a_body_that_stops_arriving_is_timed_out() {
    let server = TestServer::in_memory().await;
    let user = server.user_key("stalled-body").await;
    let head = format!(
        "POST {HEART_RATE} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\
         Authorization: Bearer {user}\r\nContent-Type: application/json\r\n\
         Content-Length: 500\r\n\r\n{{\"bpm\":"
    );
    // The client keeps the connection open and sends nothing more.
    let outcome = exchange(server.address, head.as_bytes()).await;
    match outcome {
        Outcome::Answered(response) => assert_eq!(response.status, 408),
        Outcome::Closed => {}
    }
    server.stop().await;
}
