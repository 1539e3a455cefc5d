//! Criterion bench `phi_encrypt` (arrives with its crate).

fn main() {}
