//! `auren`: the operator command line of the auren security crates.
//!
//! Every command reads `DATABASE_URL`. Run `auren --help` for the list.

#![allow(clippy::print_stdout, clippy::print_stderr)]

mod audit;
mod keys;
mod migrate;
mod phi;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Operator commands for the auren security crates.
#[derive(Debug, Parser)]
#[command(name = "auren", version, about)]
struct Cli {
    /// The Postgres connection URL.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    database_url: Option<String>,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Apply every pending database migration.
    Migrate,
    /// Issue, list and revoke API keys.
    #[command(subcommand)]
    Keys(keys::KeysCommand),
    /// Rotate the PHI encryption keys and re-encrypt sealed values (reads PHI_MASTER_KEY).
    #[command(subcommand)]
    Phi(phi::PhiCommand),
    /// Query the PHI access log, verify its hash chains, maintain its partitions.
    #[command(subcommand)]
    Audit(audit::AuditCommand),
}

/// A command that failed, with the message for the operator.
#[derive(Debug)]
struct Failure(String);

impl<E: std::fmt::Display> From<E> for Failure {
    fn from(error: E) -> Self {
        Self(error.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let runtime = match tokio::runtime::Runtime::new() {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("auren: cannot start the async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(message)) => {
            eprintln!("auren: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> Result<(), Failure> {
    let database_url = cli
        .database_url
        .ok_or_else(|| Failure("DATABASE_URL is not set".to_owned()))?;
    match cli.command {
        Command::Migrate => migrate::run(&database_url).await,
        Command::Keys(command) => keys::run(&database_url, command).await,
        Command::Phi(command) => phi::run(&database_url, command).await,
        Command::Audit(command) => audit::run(&database_url, command).await,
    }
}
