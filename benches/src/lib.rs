//! Criterion benches of the auren crates live in `benches/`; this library is empty.
