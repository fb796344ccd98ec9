//! Opening a database: pragmas, hooks and migrations.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;

use common::temp_path;
use onewriter::rusqlite::{self, Connection};
use onewriter::{Db, Error, Options, Role, Synchronous};

static V1: &[&str] = &["CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)"];
static V2: &[&str] = &[
    "CREATE TABLE note (id INTEGER PRIMARY KEY, body TEXT NOT NULL)",
    "ALTER TABLE note ADD COLUMN author TEXT; CREATE INDEX note_author ON note(author)",
];

#[tokio::test]
async fn open_creates_a_wal_database_with_foreign_keys_on() {
    let t = temp_path();
    let db = Db::open(&t.path, Options::new()).await.unwrap();
    assert!(t.path.exists());
    assert!(
        t.dir.path().join("test.db-wal").exists(),
        "the writer creates the WAL"
    );
    let (mode, fk, sync, temp): (String, i64, i64, i64) = db
        .write(|c| {
            c.query_row(
                "SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_synchronous,
                               pragma_temp_store",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
        })
        .await
        .unwrap();
    assert_eq!(
        (mode.as_str(), fk, sync, temp),
        ("wal", 1, 1, 2),
        "WAL, FKs on, NORMAL, savepoint sub-journals in memory"
    );
    let (fk, query_only): (i64, i64) = db
        .read(|c| {
            c.query_row(
                "SELECT * FROM pragma_foreign_keys, pragma_query_only",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
        .unwrap();
    assert_eq!((fk, query_only), (1, 1));
    db.close().await.unwrap();
}

/// With FULL the writer's connection commits without syncing: the sync thread syncs the WAL
/// behind it before anyone is answered (the `syncer` module's tests hold that sync back).
#[tokio::test]
async fn synchronous_full_leaves_the_sync_to_its_own_thread() {
    let t = temp_path();
    let db = Db::open(&t.path, Options::new().synchronous(Synchronous::Full))
        .await
        .unwrap();
    let sync: i64 = db
        .write(|c| c.query_row("PRAGMA synchronous", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(sync, 1, "NORMAL on the writer's connection");
    // Threads are listed, by name, under /proc on Linux only.
    #[cfg(target_os = "linux")]
    {
        let named_sync = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .any(|name| name.trim() == "onewriter-sync");
        assert!(named_sync, "no sync thread running");
    }
    db.close().await.unwrap();
}

#[tokio::test]
async fn on_connect_hook_runs_on_every_connection() {
    let t = temp_path();
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let hook_seen = Arc::clone(&seen);
    let db = Db::open(
        &t.path,
        Options::new().readers(3).on_connect(move |conn, role| {
            hook_seen.lock().unwrap().push(role);
            conn.create_scalar_function(
                "double_it",
                1,
                rusqlite::functions::FunctionFlags::SQLITE_DETERMINISTIC,
                |ctx| Ok(ctx.get::<i64>(0)? * 2),
            )
        }),
    )
    .await
    .unwrap();
    let roles = seen.lock().unwrap().clone();
    assert_eq!(roles.iter().filter(|r| **r == Role::Writer).count(), 1);
    assert_eq!(roles.iter().filter(|r| **r == Role::Reader).count(), 3);
    assert_eq!(
        roles.iter().filter(|r| **r == Role::Checkpointer).count(),
        1
    );
    let doubled: i64 = db
        .read(|c| c.query_row("SELECT double_it(21)", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(doubled, 42);
}

#[tokio::test]
async fn a_failing_hook_fails_open_with_its_error() {
    let t = temp_path();
    let err = Db::open(
        &t.path,
        Options::new().on_connect(|c, _| c.execute_batch("PRAGMA no_such_thing = ; nonsense")),
    )
    .await
    .unwrap_err();
    assert!(matches!(err, Error::Sqlite(_)), "{err}");
}

#[tokio::test]
async fn migrations_apply_once_in_order() {
    let t = temp_path();
    let db = Db::open(&t.path, Options::new().migrations(V1))
        .await
        .unwrap();
    db.write(|c| c.execute("INSERT INTO note (body) VALUES ('kept')", []))
        .await
        .unwrap();
    db.close().await.unwrap();

    // Reopening with one more migration applies only that one; the data stays.
    let db = Db::open(&t.path, Options::new().migrations(V2))
        .await
        .unwrap();
    let (version, body, author): (i64, String, Option<String>) = db
        .read(|c| {
            c.query_row(
                "SELECT (SELECT user_version FROM pragma_user_version), body, author FROM note",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .await
        .unwrap();
    assert_eq!((version, body.as_str(), author), (2, "kept", None));
    db.close().await.unwrap();

    // And opening again applies nothing (re-running V2's ALTER would fail).
    Db::open(&t.path, Options::new().migrations(V2))
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
}

#[tokio::test]
async fn a_schema_newer_than_the_code_is_refused() {
    let t = temp_path();
    Db::open(&t.path, Options::new().migrations(V2))
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    let err = Db::open(&t.path, Options::new().migrations(V1))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found: 2, known: 1 }),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
}

#[tokio::test]
async fn a_failing_migration_applies_nothing() {
    let t = temp_path();
    static BROKEN: &[&str] = &[
        "CREATE TABLE a (id INTEGER PRIMARY KEY)",
        "CREATE TABLE b (id INTEGER PRIMARY KEY); INSERT INTO missing VALUES (1)",
    ];
    let err = Db::open(&t.path, Options::new().migrations(BROKEN))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Migration { version: 2, .. }),
        "{err:?}"
    );
    let conn = Connection::open(&t.path).unwrap();
    let (version, tables): (i64, i64) = conn
        .query_row(
            "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_schema)",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(
        (version, tables),
        (0, 0),
        "neither migration 1 nor 2 is left behind"
    );
}

#[tokio::test]
async fn a_migration_cannot_end_the_engines_transaction() {
    let t = temp_path();
    static SNEAKY: &[&str] = &["CREATE TABLE a (id INTEGER PRIMARY KEY); COMMIT"];
    let err = Db::open(&t.path, Options::new().migrations(SNEAKY))
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::Migration { version: 1, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn an_in_memory_database_is_refused_with_a_clear_error() {
    let err = Db::open(":memory:", Options::new()).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
    assert!(err.to_string().contains("WAL"), "{err}");
}

#[tokio::test]
async fn open_in_a_missing_directory_fails_cleanly() {
    let t = temp_path();
    let err = Db::open(t.dir.path().join("no/such/dir/x.db"), Options::new())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Sqlite(_)), "{err:?}");
}
