//! `auren audit`: query the PHI access log, verify its hash chains, maintain partitions.

use std::sync::Arc;

use auren_audit::partitions::{self, DEFAULT_MONTHS_AHEAD, DEFAULT_RETENTION_MONTHS};
use auren_audit::{AuditQueryRequest, AuditSink, PostgresSink, Retention};
use clap::{Args, Subcommand};

use crate::Failure;

/// The audit commands.
#[derive(Debug, Subcommand)]
pub(crate) enum AuditCommand {
    /// Print one page of events, newest first, as JSON (the same query as the admin API).
    Query(QueryArgs),
    /// Verify every hash chain, or the events in [--from, --to); fails naming the first
    /// bad row.
    Verify {
        /// Only events at or after this date (YYYY-MM-DD) or RFC 3339 instant.
        #[arg(long)]
        from: Option<String>,
        /// Only events before the end of this date, or up to this RFC 3339 instant.
        #[arg(long)]
        to: Option<String>,
    },
    /// Create monthly partitions ahead and drop those entirely older than the retention.
    Maintain {
        /// Months of partitions to create after the current one.
        #[arg(long, default_value_t = DEFAULT_MONTHS_AHEAD)]
        months_ahead: u32,
        /// Keep records this many months (HIPAA: at least 72).
        #[arg(long, default_value_t = DEFAULT_RETENTION_MONTHS)]
        retention_months: u32,
        /// Allow a retention below six years. Only when counsel says so.
        #[arg(long)]
        allow_short_retention: bool,
    },
}

/// The filters of `auren audit query`.
#[derive(Debug, Args)]
pub(crate) struct QueryArgs {
    /// Only this user's events.
    #[arg(long)]
    user_id: Option<String>,
    /// Only this key's events.
    #[arg(long)]
    key_id: Option<String>,
    /// Only this action.
    #[arg(long)]
    action: Option<String>,
    /// Only this outcome: success, denied or error.
    #[arg(long)]
    outcome: Option<String>,
    /// Only this exact resource (path).
    #[arg(long)]
    resource: Option<String>,
    /// Events at or after this date (YYYY-MM-DD) or RFC 3339 instant.
    #[arg(long)]
    start_date: Option<String>,
    /// Events on or before this date or instant.
    #[arg(long)]
    end_date: Option<String>,
    /// Events per page, 1 to 1000.
    #[arg(long)]
    limit: Option<u64>,
    /// The next_cursor of the previous page.
    #[arg(long)]
    cursor: Option<String>,
}

/// Runs an audit command.
pub(crate) async fn run(database_url: &str, command: AuditCommand) -> Result<(), Failure> {
    let pool = auren_core::postgres::connect(database_url)?;
    let sink = Arc::new(PostgresSink::new(pool.clone()));

    match command {
        AuditCommand::Query(args) => {
            let request = AuditQueryRequest {
                user_id: args.user_id,
                key_id: args.key_id,
                action: args.action,
                outcome: args.outcome,
                resource: args.resource,
                start_date: args.start_date,
                end_date: args.end_date,
                limit: args.limit,
                cursor: args.cursor,
            };
            let page = sink.query(&request.validate()?).await?;
            println!("{}", serde_json::to_string_pretty(&page)?);
            Ok(())
        }
        AuditCommand::Verify { from, to } => {
            let range = AuditQueryRequest {
                start_date: from,
                end_date: to,
                ..AuditQueryRequest::default()
            }
            .validate()?;
            let (from, to) = range.time_range();
            let report = sink.verify(from, to).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            match report.first_problem {
                None => Ok(()),
                Some(problem) => Err(Failure(format!("verification failed at {problem}"))),
            }
        }
        AuditCommand::Maintain {
            months_ahead,
            retention_months,
            allow_short_retention,
        } => {
            let retention = if allow_short_retention {
                Retention::months_overriding_minimum(retention_months)?
            } else {
                Retention::months_checked(retention_months)?
            };
            let now = chrono::Utc::now();
            let report = partitions::maintain(&pool, now, months_ahead, retention).await?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            Ok(())
        }
    }
}
