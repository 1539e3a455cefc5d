//! Rebuild when a migration file changes, since the migrations are embedded at compile time.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
