//! What only the PostgreSQL engine has: its schema table and migrations, its read-only
//! session, connecting and failing to. What every engine does is in `store/tests.rs`.

use lifeboat_testkit::postgres::Cluster;

use super::*;
use crate::store::tests::{Postgres, run, ts};

fn store(db: &Postgres) -> PostgresStore {
    PostgresStore::open(&db.0, None).unwrap()
}

/// `sql` in `db`, as the `postgres` role, through psql.
fn psql(db: &Postgres, sql: &str) -> String {
    Cluster::shared().psql_in(&db.0.dbname, sql)
}

#[tokio::test]
async fn a_new_database_gets_the_current_schema_and_reopens_unchanged() {
    let db = Postgres::new();
    let first = store(&db);
    assert_eq!(
        first.schema_version().await.unwrap(),
        MIGRATIONS.len() as i64
    );
    first
        .record_slot(
            "a",
            ts("2026-11-23T02:00:00Z"),
            SlotState::Missed,
            None,
            None,
            ts("2026-11-23T03:00:00Z"),
        )
        .await
        .unwrap();
    drop(first);
    let again = store(&db);
    assert_eq!(
        again.schema_version().await.unwrap(),
        MIGRATIONS.len() as i64
    );
    assert_eq!(
        again.last_slot("a").await.unwrap(),
        Some(ts("2026-11-23T02:00:00Z"))
    );
}

#[tokio::test]
async fn a_database_from_a_newer_lifeboat_is_refused() {
    let db = Postgres::new();
    drop(store(&db));
    psql(&db, "UPDATE lifeboat_schema SET version = 99");
    for opened in [
        PostgresStore::open(&db.0, None).map(drop),
        PostgresStore::open_existing(&db.0, None).map(drop),
        PostgresStore::open_read_only(&db.0, None).map(drop),
    ] {
        let err = opened.unwrap_err();
        assert!(
            matches!(err, StoreError::TooNewDatabase { found: 99, .. }),
            "{err}"
        );
        assert!(
            err.to_string().contains(&format!(
                "schema version 99 was written by a newer lifeboat; this one knows up to {}",
                MIGRATIONS.len()
            )),
            "{err}"
        );
    }
}

#[tokio::test]
async fn open_existing_and_read_only_create_nothing_in_an_empty_database() {
    let db = Postgres::new();
    assert!(PostgresStore::open_existing(&db.0, None).unwrap().is_none());
    assert!(
        PostgresStore::open_read_only(&db.0, None)
            .unwrap()
            .is_none()
    );
    assert_eq!(
        psql(
            &db,
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
        .trim(),
        "0"
    );
}

/// `lifeboat plan` reads through a read-only store: an older schema is not migrated and reads
/// as no store; a current one reads, and its session cannot write.
#[tokio::test]
async fn open_read_only_changes_nothing_in_an_older_schema() {
    let db = Postgres::new();
    psql(
        &db,
        &format!(
            "CREATE TABLE lifeboat_schema (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                 version INTEGER NOT NULL);
             INSERT INTO lifeboat_schema (version) VALUES (1);
             {}",
            MIGRATIONS[0]
        ),
    );
    assert!(
        PostgresStore::open_read_only(&db.0, None)
            .unwrap()
            .is_none()
    );
    assert_eq!(psql(&db, "SELECT version FROM lifeboat_schema").trim(), "1");

    drop(store(&db));
    let read_only = PostgresStore::open_read_only(&db.0, None)
        .unwrap()
        .expect("a current schema");
    assert!(
        read_only
            .coverage_ledger("nightly")
            .await
            .unwrap()
            .rows
            .is_empty()
    );
    let refused = read_only
        .record_run(&run("r1", "a", "2026-11-23T02:00:01Z", None))
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("read-only"), "{refused}");
}

#[tokio::test]
async fn runs_recorded_under_the_first_schema_are_migrated_and_read() {
    let db = Postgres::new();
    psql(
        &db,
        &format!(
            "CREATE TABLE lifeboat_schema (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                 version INTEGER NOT NULL);
             INSERT INTO lifeboat_schema (version) VALUES (1);
             {}
             INSERT INTO runs (run_id, runbook, mode, started_at, finished_at, outcome)
             VALUES ('old', 'a', 'automatic', '2026-11-01T02:00:00.000000000Z',
                     '2026-11-01T02:00:01.000000000Z', 'passed');",
            MIGRATIONS[0]
        ),
    );
    let store = PostgresStore::open_existing(&db.0, None)
        .unwrap()
        .expect("a store");
    assert_eq!(
        store.schema_version().await.unwrap(),
        MIGRATIONS.len() as i64
    );
    let history = store.history(None).await.unwrap();
    let old = history[0].run.as_ref().unwrap();
    assert_eq!((old.run_id.as_str(), &old.coverage), ("old", &None));
}

/// Runners starting together on a new database: the advisory lock lets one create the schema;
/// the others wait and find it current (without it, `CREATE TABLE` races and one fails).
#[test]
fn runners_migrating_a_new_database_at_once_apply_each_migration_once() {
    for _ in 0..5 {
        let db = Postgres::new();
        let versions: Vec<i64> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| {
                        let store = PostgresStore::open(&db.0, None)?;
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                            .unwrap()
                            .block_on(store.schema_version())
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap().unwrap())
                .collect()
        });
        assert_eq!(versions, [MIGRATIONS.len() as i64; 4]);
    }
}

/// Nothing listens: the error names host and port, at once (no hang), and is a `Connect`.
#[test]
fn a_server_that_cannot_be_reached_is_named_without_waiting() {
    let port = lifeboat_testkit::postgres::free_port();
    let target = Target::parse(&format!("postgres://lifeboat@127.0.0.1:{port}/history")).unwrap();
    let started = std::time::Instant::now();
    let err = PostgresStore::open(&target, Some("s3cret")).unwrap_err();
    assert!(
        started.elapsed() < CONNECT_TIMEOUT,
        "{:?}",
        started.elapsed()
    );
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{text}");
    assert!(
        text.starts_with(&format!(
            "history store postgres://lifeboat@127.0.0.1:{port}/history: cannot connect to \
             127.0.0.1 port {port}: "
        )),
        "{text}"
    );
    assert!(text.contains("refused"), "{text}");
    assert!(!text.contains("s3cret"), "{text}");
}

/// A server that accepts the connection and then says nothing: given up after the timeout,
/// not waited on for ever.
#[test]
fn a_server_that_never_answers_is_given_up_on() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = Target::parse(&format!("postgres://lifeboat@127.0.0.1:{port}/history")).unwrap();
    let started = std::time::Instant::now();
    let timeout = Duration::from_millis(500);
    let err = PostgresStore::open_as(&target, None, Open::Create, timeout).unwrap_err();
    assert!(started.elapsed() < timeout * 4, "{:?}", started.elapsed());
    assert!(matches!(err, StoreError::Connect { .. }), "{err}");
    drop(listener);
}

#[test]
fn a_wrong_password_is_a_clear_error_that_does_not_show_it() {
    let cluster = Cluster::shared();
    cluster.require_password("pw_runner", "right-password");
    let target = Target::parse(&format!(
        "postgres://pw_runner@127.0.0.1:{}/postgres",
        cluster.port()
    ))
    .unwrap();
    let err = PostgresStore::open(&target, Some("wrong-password")).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, StoreError::Connect { .. }), "{text}");
    assert!(
        text.contains("password authentication failed for user"),
        "{text}"
    );
    assert!(!text.contains("wrong-password"), "{text}");
    let err = PostgresStore::open(&target, None).unwrap_err().to_string();
    assert!(err.contains("password missing"), "{err}");
    // The right one opens it (its own database: `postgres` is shared by the tests).
    let mine = Postgres::new();
    let target = Target {
        user: "pw_runner".into(),
        ..mine.0.clone()
    };
    PostgresStore::open(&target, Some("right-password")).unwrap();
}

/// The server ends the store's connection (a restart, a failover, an administrator's
/// `pg_terminate_backend`): the next statement opens a new one instead of failing, and
/// nothing recorded before is lost.
#[tokio::test]
async fn a_connection_the_server_ended_is_opened_again_at_the_next_statement() {
    let db = Postgres::new();
    let store = store(&db);
    store
        .record_run(&run("r1", "a", "2026-11-23T02:00:01Z", None))
        .await
        .unwrap();
    for round in 0..3 {
        let ended = psql(
            &db,
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'lifeboat'",
        );
        assert_eq!(ended.trim(), "1", "round {round}");
        let history = store.history(None).await.unwrap();
        assert_eq!(history.len(), 1 + round, "round {round}");
        store
            .record_run(&run(
                &format!("r{}", round + 2),
                "a",
                "2026-11-24T02:00:01Z",
                None,
            ))
            .await
            .unwrap();
    }
}

/// A coverage ledger written before the planner moved into SQL (schema 3, no key hashes, no
/// points) is migrated in one transaction: each row gets its key hash, computed in Rust as
/// new rows get it, each point its count and bytes (and an unknown fingerprint), and the
/// next phase is planned over it as before.
#[tokio::test]
async fn a_ledger_written_before_the_planner_moved_into_sql_is_planned_as_it_was() {
    use lifeboat_core::coverage::{self, ObjectKey, PhaseQuery};
    let db = Postgres::new();
    psql(
        &db,
        &format!(
            "CREATE TABLE lifeboat_schema (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                 version INTEGER NOT NULL);
             INSERT INTO lifeboat_schema (version) VALUES (3);
             {}{}{}
             INSERT INTO coverage_objects (runbook, point, path, size, tag, first_seen)
             VALUES ('rb', 'p1', 'a', 7, 'etag:1', '2026-11-20T00:00:00.000000000Z'),
                    ('rb', 'p1', 'b', 9, 'etag:2', '2026-11-20T00:00:00.000000000Z');",
            MIGRATIONS[0], MIGRATIONS[1], MIGRATIONS[2]
        ),
    );
    let store = PostgresStore::open_existing(&db.0, None)
        .unwrap()
        .expect("a store");
    assert_eq!(
        store.schema_version().await.unwrap(),
        MIGRATIONS.len() as i64
    );
    let tie = coverage::key_hash(&ObjectKey {
        point: "p1".into(),
        path: "b".into(),
    });
    assert_eq!(
        psql(
            &db,
            "SELECT tie FROM coverage_objects WHERE runbook = 'rb' AND path = 'b'"
        )
        .trim(),
        tie.to_string()
    );
    let t0 = ts("2026-11-21T00:00:00Z");
    let s = store
        .coverage_standing("rb", t0, coverage::DAY)
        .await
        .unwrap();
    assert_eq!((s.objects, s.bytes, s.never_verified), (2, 16, 2));
    let q = PhaseQuery {
        t0,
        within: coverage::DAY,
        budget: None,
        schedule: None,
        seed: 0,
    };
    assert_eq!(store.plan_coverage("rb", &q).await.unwrap().read.len(), 2);
    // The old point's fingerprint is unknown: the next listing stages it again, keeping
    // what is unchanged.
    assert_eq!(
        store.coverage_points("rb").await.unwrap()[0].fingerprint,
        ""
    );
}

/// A ledger of the schema before the ledger was ordered by point (schema 5: passed, failed
/// and never-verified objects, points, a phase) is migrated in place: each row's turn is
/// its last verification ('' never), the runbook-wide order index gives way to the
/// per-point one, and the standing and the next phase are what they were.
#[tokio::test]
async fn a_ledger_of_the_previous_schema_keeps_its_standing_once_ordered_by_point() {
    use lifeboat_core::coverage::{self, PhaseQuery};
    let db = Postgres::new();
    let at = |day: &str| format!("'2026-11-{day}T00:00:00.000000000Z'");
    psql(
        &db,
        &format!(
            "CREATE TABLE lifeboat_schema (one BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
                 version INTEGER NOT NULL);
             INSERT INTO lifeboat_schema (version) VALUES (5);
             {}
             INSERT INTO coverage_objects (runbook, point, path, size, tag, first_seen,
                 verified_at, outcome, algorithm, digest)
             VALUES ('rb', 'p1', 'a', 7, 'etag:1', {d01}, {d19}, 'passed', 'sha256', 'aa'),
                    ('rb', 'p1', 'b', 9, 'etag:2', {d10}, NULL, NULL, NULL, NULL),
                    ('rb', 'p2', 'c', 5, 'etag:3', {d01}, {d20}, 'failed', 'sha256', NULL),
                    ('rb', 'p2', 'd', 3, 'etag:4', {d01}, {d01}, 'passed', 'sha256', 'dd');
             INSERT INTO coverage_points (runbook, point, fingerprint, objects, bytes)
             VALUES ('rb', 'p1', 'f1', 2, 16), ('rb', 'p2', 'f2', 2, 8);
             INSERT INTO coverage_phases (runbook, run_id, t0) VALUES ('rb', 'r1', {d10});",
            MIGRATIONS[..5].join("\n"),
            d01 = at("01"),
            d10 = at("10"),
            d19 = at("19"),
            d20 = at("20"),
        ),
    );
    let store = PostgresStore::open_existing(&db.0, None)
        .unwrap()
        .expect("a store");
    assert_eq!(
        store.schema_version().await.unwrap(),
        MIGRATIONS.len() as i64
    );
    assert_eq!(
        psql(
            &db,
            "SELECT string_agg(path || '=' || turn, ' ' ORDER BY path) FROM coverage_objects"
        )
        .trim(),
        "a=2026-11-19T00:00:00.000000000Z b= c=2026-11-20T00:00:00.000000000Z \
         d=2026-11-01T00:00:00.000000000Z"
    );
    assert_eq!(
        psql(
            &db,
            "SELECT string_agg(indexname, ' ' ORDER BY indexname) FROM pg_indexes
             WHERE tablename = 'coverage_objects'"
        )
        .trim(),
        "coverage_objects_by_point coverage_objects_failed coverage_objects_pkey"
    );
    let t0 = ts("2026-11-21T00:00:00Z");
    let within = coverage::DAY * 10;
    let s = store.coverage_standing("rb", t0, within).await.unwrap();
    // Four objects: b never verified, d verified before the window, c failed within it.
    assert_eq!(
        (s.objects, s.bytes, s.never_verified, s.verified_within),
        (4, 24, 1, 1)
    );
    assert_eq!(s.oldest_verified, Some(ts("2026-11-01T00:00:00Z")));
    let q = PhaseQuery {
        t0,
        within,
        budget: None,
        schedule: None,
        seed: 0,
    };
    let plan = store.plan_coverage("rb", &q).await.unwrap();
    let read: Vec<&str> = plan.read.iter().map(|r| &*r.path).collect();
    // Never verified first, then the least recently verified.
    assert_eq!(read[..2], ["b", "d"]);
}
