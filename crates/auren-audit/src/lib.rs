//! A complete, tamper-evident record of PHI access in Postgres.
