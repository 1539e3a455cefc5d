//! Criterion bench `webhook_verify` (arrives with its crate).

fn main() {}
