//! The Postgres sink against a real database: chains, outages, tampering, retention and
//! queries. Each test has a database of its own.

use std::sync::Arc;
use std::time::Duration;

use auren_audit::partitions::{self, list_partitions};
use auren_audit::{
    Action, AuditEvent, AuditQueryRequest, AuditSink, AuditWriter, AuditWriterConfig, ChainState,
    Outcome, PostgresSink, ProblemKind, Retention, TurnDone,
};
use auren_testing::{base_database_url, TcpProxy, TestDatabase};
use chrono::{DateTime, Duration as Days, TimeZone, Utc};

fn config() -> AuditWriterConfig {
    AuditWriterConfig {
        queue_capacity: 1_000,
        max_batch: 250,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(200),
        ..AuditWriterConfig::default()
    }
}

fn event(i: usize, at: DateTime<Utc>) -> AuditEvent {
    let outcome = if i.is_multiple_of(5) {
        Outcome::Denied
    } else {
        Outcome::Success
    };
    AuditEvent::new(Action::Read, &format!("/api/items/{}", i % 7), outcome)
        .with_user(Some(&format!("user{}", i % 4)), None)
        .with_method("GET")
        .with_status(if outcome == Outcome::Denied { 401 } else { 200 })
        .at(at)
}

async fn count(db: &TestDatabase) -> i64 {
    let client = db.pool().get().await.expect("connection");
    client
        .query_one("SELECT count(*) FROM phi_audit_log", &[])
        .await
        .expect("count")
        .get(0)
}

/// Writes `n` events one second apart from `start` through a fresh writer.
async fn write_events(db: &TestDatabase, n: usize, start: DateTime<Utc>) -> PostgresSink {
    let sink = PostgresSink::new(db.pool().clone());
    let writer = AuditWriter::start(Arc::new(sink.clone()), config());
    for i in 0..n {
        let at = start + Days::seconds(i as i64);
        writer.record(event(i, at)).await.expect("recorded");
    }
    writer.shutdown().await;
    sink
}

#[tokio::test]
async fn events_are_stored_in_monthly_partitions_and_verify() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let start = Utc
        .with_ymd_and_hms(2026, 1, 31, 23, 59, 0)
        .single()
        .expect("date");
    let sink = write_events(&db, 1_000, start).await;

    assert_eq!(count(&db).await, 1_000);
    let names = list_partitions(db.pool()).await.expect("partitions");
    assert_eq!(names, ["phi_audit_log_p202601", "phi_audit_log_p202602"]);

    let report = sink.verify(None, None).await.expect("verify");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!((report.rows_checked, report.chains_checked), (1_000, 1));

    let from = start + Days::seconds(500);
    let report = sink.verify(Some(from), None).await.expect("verify");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.rows_checked, 500);
}

#[tokio::test]
async fn a_batch_written_twice_is_stored_once() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let sink = PostgresSink::new(db.pool().clone());
    let mut chain = ChainState::new();
    sink.open_chain(chain.chain_id()).await.expect("open");
    let batch: Vec<_> = (0..10).map(|i| chain.seal(event(i, Utc::now()))).collect();

    sink.write_batch(&batch).await.expect("first write");
    sink.write_batch(&batch).await.expect("retried write");
    assert_eq!(count(&db).await, 10);
}

#[tokio::test]
async fn a_partly_stored_batch_is_completed_without_duplicates() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let sink = PostgresSink::new(db.pool().clone());
    let mut chain = ChainState::new();
    sink.open_chain(chain.chain_id()).await.expect("open");
    let batch: Vec<_> = (0..10).map(|i| chain.seal(event(i, Utc::now()))).collect();

    sink.write_batch(&batch[..4])
        .await
        .expect("part of the batch");
    sink.write_batch(&batch).await.expect("the whole batch");
    assert_eq!(count(&db).await, 10);
    let report = sink.verify(None, None).await.expect("verify");
    assert!(report.is_ok(), "{report:?}");
}

/// Whether some session of this test's database holds a lock on `phi_audit_log`.
async fn audit_log_is_locked(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation \
             WHERE c.relname = 'phi_audit_log' AND l.pid <> pg_backend_pid() \
             AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            &[],
        )
        .await
        .expect("locks")
        .get::<_, i64>(0)
        > 0
}

#[tokio::test]
async fn a_batch_commits_only_after_the_one_before_it_and_never_blocks_ddl() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let sink = PostgresSink::new(db.pool().clone());
    let mut chain = ChainState::new();
    sink.open_chain(chain.chain_id()).await.expect("open");
    let first: Vec<_> = (0..5).map(|i| chain.seal(event(i, Utc::now()))).collect();
    let second: Vec<_> = (5..10).map(|i| chain.seal(event(i, Utc::now()))).collect();
    // The partition exists, so the only lock the writer takes is its transaction's.
    partitions::create_ahead(db.pool(), Utc::now(), 1)
        .await
        .expect("partitions");

    // The second batch is sent first; it must not commit before the first.
    let first_stored = TurnDone::new();
    let second_turn = first_stored.next_turn();
    let writing = {
        let sink = sink.clone();
        tokio::spawn(async move { sink.write_batch_in_turn(&second, &second_turn).await })
    };
    let admin = db.pool().get().await.expect("connection");
    while !audit_log_is_locked(&admin).await {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }

    // DDL queued behind the waiting transaction (a migration, the retention job) gets
    // through: the transaction gives way instead of waiting for its turn forever.
    admin
        .batch_execute(
            "SET lock_timeout = '30s'; BEGIN; \
             LOCK TABLE phi_audit_log IN ACCESS EXCLUSIVE MODE; COMMIT",
        )
        .await
        .expect("the lock is granted");
    assert_eq!(count(&db).await, 0, "nothing committed out of turn");
    assert!(!writing.is_finished());

    sink.write_batch(&first).await.expect("first batch");
    first_stored.mark();
    writing.await.expect("task").expect("second batch");
    assert_eq!(count(&db).await, 10);
    let report = sink.verify(None, None).await.expect("verify");
    assert!(report.is_ok(), "{report:?}");
}

#[tokio::test]
async fn concurrent_writers_keep_chains_of_their_own() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let sink: Arc<PostgresSink> = Arc::new(PostgresSink::new(db.pool().clone()));
    let writers: Vec<_> = (0..3)
        .map(|_| AuditWriter::start(sink.clone(), config()))
        .collect();
    let mut tasks = Vec::new();
    for writer in &writers {
        let writer = writer.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..400 {
                writer.record(event(i, Utc::now())).await.expect("recorded");
            }
        }));
    }
    for task in tasks {
        task.await.expect("task");
    }
    for writer in &writers {
        writer.shutdown().await;
    }

    assert_eq!(count(&db).await, 1_200);
    let report = sink.verify(None, None).await.expect("verify");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.chains_checked, 3);
}

#[tokio::test]
async fn an_outage_during_a_load_loses_no_event() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let upstream = base_database_url()
        .parse::<tokio_postgres::Config>()
        .ok()
        .and_then(|config| config.get_ports().first().copied())
        .unwrap_or(5432);
    let proxy = TcpProxy::start(([127, 0, 0, 1], upstream).into()).await;
    let url = format!("postgres://postgres@{}/{}", proxy.address(), db.name());
    let pool = auren_core::postgres::connect_with_size(&url, 4).expect("pool");
    let writer = AuditWriter::start(Arc::new(PostgresSink::new(pool)), config());

    let load = {
        let writer = writer.clone();
        tokio::spawn(async move {
            for i in 0..6_000 {
                writer.record(event(i, Utc::now())).await.expect("recorded");
                if i % 500 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        })
    };

    while writer.stats().written < 500 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    proxy.sever();
    while !writer.stats().failing {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    proxy.restore();

    load.await.expect("load");
    writer.shutdown().await;

    let stats = writer.stats();
    assert!(
        stats.write_failures > 0,
        "the outage was noticed: {stats:?}"
    );
    assert_eq!(stats.written, 6_000);
    assert_eq!(count(&db).await, 6_000);
    let sink = PostgresSink::new(db.pool().clone());
    let report = sink.verify(None, None).await.expect("verify");
    assert!(report.is_ok(), "{report:?}");
}

/// A database with ten events in one chain, and a superuser connection that bypasses the
/// append-only trigger, as an attacker with full access would.
async fn tamper_setup() -> Option<(TestDatabase, PostgresSink, deadpool_postgres::Object)> {
    let db = TestDatabase::create().await?;
    let start = Utc::now() - Days::minutes(10);
    let sink = write_events(&db, 10, start).await;
    let client = db.pool().get().await.expect("connection");
    client
        .batch_execute("SET session_replication_role = replica")
        .await
        .expect("superuser");
    Some((db, sink, client))
}

#[tokio::test]
async fn a_modified_row_is_named() {
    let Some((_db, sink, client)) = tamper_setup().await else {
        return;
    };
    client
        .execute(
            "UPDATE phi_audit_log SET user_id = 'mallory' WHERE chain_seq = 4",
            &[],
        )
        .await
        .expect("tamper");
    let problem = sink.verify(None, None).await.expect("verify").first_problem;
    let problem = problem.expect("detected");
    assert_eq!((problem.seq, problem.kind), (4, ProblemKind::HashMismatch));
}

#[tokio::test]
async fn a_deleted_row_is_named_by_its_successor() {
    let Some((_db, sink, client)) = tamper_setup().await else {
        return;
    };
    client
        .execute("DELETE FROM phi_audit_log WHERE chain_seq = 4", &[])
        .await
        .expect("tamper");
    let problem = sink.verify(None, None).await.expect("verify").first_problem;
    let problem = problem.expect("detected");
    assert_eq!(problem.seq, 5);
    assert_eq!(problem.kind, ProblemKind::SequenceGap { expected: 4 });

    // A check of a range starting after the gap still sees the missing predecessor.
    let at: DateTime<Utc> = client
        .query_one(
            "SELECT occurred_at FROM phi_audit_log WHERE chain_seq = 5",
            &[],
        )
        .await
        .expect("row")
        .get(0);
    let report = sink.verify(Some(at), None).await.expect("verify");
    let problem = report.first_problem.expect("detected");
    assert_eq!((problem.seq, problem.kind), (5, ProblemKind::MissingStart));
}

#[tokio::test]
async fn an_inserted_row_is_named() {
    let Some((_db, sink, client)) = tamper_setup().await else {
        return;
    };
    client
        .execute(
            "INSERT INTO phi_audit_log SELECT occurred_at + interval '1 ms', \
             '01ARZ3NDEKTSV4RRFFQ69G5FAV', request_id, 'mallory', key_id, action, resource, \
             method, outcome, status_code, response_time_ms, client_addr, user_agent, \
             chain_id, chain_seq + 1, hash, hash FROM phi_audit_log WHERE chain_seq = 6",
            &[],
        )
        .await
        .expect("tamper");
    let problem = sink.verify(None, None).await.expect("verify").first_problem;
    let problem = problem.expect("detected");
    assert_eq!(problem.seq, 7);

    client
        .execute(
            "INSERT INTO phi_audit_log SELECT occurred_at, '01ARZ3NDEKTSV4RRFFQ69G5FAW', \
             request_id, user_id, key_id, action, resource, method, outcome, status_code, \
             response_time_ms, client_addr, user_agent, 'forged', 1, prev_hash, hash \
             FROM phi_audit_log WHERE chain_seq = 1",
            &[],
        )
        .await
        .expect("tamper");
    let report = sink.verify(None, None).await.expect("verify");
    assert_eq!(report.bad_chains, 2);
    let problem = report.first_problem.expect("detected");
    assert_eq!(
        (problem.chain_id.as_str(), problem.kind),
        ("forged", ProblemKind::UnknownChain)
    );
}

#[tokio::test]
async fn rows_cannot_be_changed_by_the_app_or_without_disabling_the_trigger() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    write_events(&db, 3, Utc::now()).await;
    let client = db.pool().get().await.expect("connection");

    for statement in [
        "UPDATE phi_audit_log SET user_id = 'x'",
        "DELETE FROM phi_audit_log",
        "TRUNCATE phi_audit_log",
    ] {
        let error = client.batch_execute(statement).await.expect_err(statement);
        assert!(
            format!("{error:?}").contains("append-only"),
            "{statement}: {error:?}"
        );
    }

    client
        .batch_execute("SET ROLE auren_app")
        .await
        .expect("role exists");
    client
        .query_one("SELECT count(*) FROM phi_audit_log", &[])
        .await
        .expect("the app may read");
    let error = client
        .batch_execute("UPDATE phi_audit_log SET user_id = 'x'")
        .await
        .expect_err("the app may not update");
    assert!(
        format!("{error:?}").contains("permission denied"),
        "{error:?}"
    );
    assert_eq!(count(&db).await, 3);
}

#[tokio::test]
async fn retention_drops_only_partitions_entirely_older_than_it() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let sink = PostgresSink::new(db.pool().clone());
    let writer = AuditWriter::start(Arc::new(sink.clone()), config());
    let mut i = 0;
    for (year, month) in [(2020, 10), (2020, 11), (2020, 12), (2021, 1), (2026, 12)] {
        for day in [1, 15, 28] {
            let at = Utc
                .with_ymd_and_hms(year, month, day, 12, 0, 0)
                .single()
                .expect("date");
            writer.record(event(i, at)).await.expect("recorded");
            i += 1;
        }
    }
    writer.shutdown().await;

    let now = Utc
        .with_ymd_and_hms(2026, 12, 15, 0, 0, 0)
        .single()
        .expect("date");
    assert!(Retention::months_checked(12).is_err());
    let report = partitions::maintain(db.pool(), now, 2, Retention::default())
        .await
        .expect("maintain");

    // The cutoff is 2020-12-15: November ends before it, December does not.
    assert_eq!(
        report.dropped,
        ["phi_audit_log_p202010", "phi_audit_log_p202011"]
    );
    assert_eq!(
        report.created,
        [
            "phi_audit_log_p202611",
            "phi_audit_log_p202701",
            "phi_audit_log_p202702"
        ]
    );
    assert_eq!(count(&db).await, 9);

    let report = sink.verify(None, None).await.expect("verify");
    assert!(report.is_ok(), "{report:?}");
    assert_eq!(report.rows_checked, 9);

    let again = partitions::maintain(db.pool(), now, 2, Retention::default())
        .await
        .expect("maintain");
    assert!(again.created.is_empty() && again.dropped.is_empty());
}

#[tokio::test]
async fn queries_filter_paginate_and_use_bound_parameters() {
    let Some(db) = TestDatabase::create().await else {
        return;
    };
    let start = Utc
        .with_ymd_and_hms(2026, 3, 1, 0, 0, 0)
        .single()
        .expect("date");
    let sink = PostgresSink::new(db.pool().clone());
    let writer = AuditWriter::start(Arc::new(sink.clone()), config());
    for i in 0..300 {
        writer
            .record(event(i, start + Days::hours(i as i64)))
            .await
            .expect("recorded");
    }
    writer.shutdown().await;

    let query = |json: String| {
        serde_json::from_str::<AuditQueryRequest>(&json)
            .expect("json")
            .validate()
            .expect("valid")
    };

    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let json = if cursor.is_empty() {
            r#"{"user_id": "user1", "limit": 7}"#.to_owned()
        } else {
            format!(r#"{{"user_id": "user1", "limit": 7, "cursor": "{cursor}"}}"#)
        };
        let page = sink.query(&query(json)).await.expect("query");
        assert!(page.events.len() <= 7);
        seen.extend(page.events.iter().map(|e| e.occurred_at()));
        match page.next_cursor {
            Some(next) => cursor = next,
            None => break,
        }
    }
    assert_eq!(seen.len(), 75);
    assert!(
        seen.windows(2).all(|pair| pair[0] > pair[1]),
        "newest first"
    );

    let page = sink
        .query(&query(
            r#"{"outcome": "denied", "start_date": "2026-03-02", "end_date": "2026-03-02"}"#
                .to_owned(),
        ))
        .await
        .expect("query");
    assert_eq!(page.events.len(), 5, "hours 24..48 that are multiples of 5");
    assert!(page.events.iter().all(|e| e.outcome() == Outcome::Denied));

    let hostile = r#"{"user_id": "x' OR '1'='1", "resource": "/'; DROP TABLE phi_audit_log; --"}"#;
    let page = sink.query(&query(hostile.to_owned())).await.expect("query");
    assert!(page.events.is_empty());
    assert_eq!(count(&db).await, 300);
}
