//! `auren migrate`: applies pending migrations.

use crate::Failure;

/// Applies every pending migration and says how many ran.
pub(crate) async fn run(database_url: &str) -> Result<(), Failure> {
    let pool = auren_core::postgres::connect(database_url)?;
    let applied = auren_core::postgres::run_migrations(&pool).await?;
    println!("applied {applied} migration(s); the database is up to date");
    Ok(())
}
