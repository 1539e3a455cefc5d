//! Fuzzes the audit query decoder: the JSON body of `POST /admin/audit-logs` and each of
//! its text fields (dates, action, outcome, cursor) on its own.
//!
//! Nothing may panic; a query that validates keeps its limit within bounds.

#![no_main]

use auren_audit::{AuditQueryRequest, MAX_LIMIT};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(request) = serde_json::from_slice::<AuditQueryRequest>(data) {
        if let Ok(query) = request.validate() {
            assert!((1..=MAX_LIMIT).contains(&query.limit()));
            let _ = query.time_range();
        }
    }

    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let field = || Some(text.to_owned());
    let requests = [
        AuditQueryRequest {
            start_date: field(),
            ..Default::default()
        },
        AuditQueryRequest {
            end_date: field(),
            ..Default::default()
        },
        AuditQueryRequest {
            action: field(),
            ..Default::default()
        },
        AuditQueryRequest {
            outcome: field(),
            ..Default::default()
        },
        AuditQueryRequest {
            cursor: field(),
            ..Default::default()
        },
        AuditQueryRequest {
            start_date: field(),
            end_date: field(),
            ..Default::default()
        },
    ];
    for request in requests {
        let _ = request.validate();
    }
});
