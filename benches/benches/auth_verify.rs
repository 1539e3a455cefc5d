//! Criterion bench `auth_verify` (arrives with its crate).

fn main() {}
