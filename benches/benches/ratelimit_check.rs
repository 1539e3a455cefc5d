//! Criterion bench `ratelimit_check` (arrives with its crate).

fn main() {}
