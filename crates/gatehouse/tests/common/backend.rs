//! The two backends the tests run against: a fresh SQLite file, or a fresh schema on the
//! PostgreSQL test server.
//!
//! The PostgreSQL server is `GATEHOUSE_TEST_POSTGRES_URL` (default
//! `postgres://root@127.0.0.1:5432/test`). When it cannot be reached, PostgreSQL tests print why
//! and pass without running, unless `GATEHOUSE_REQUIRE_POSTGRES=1` (CI sets it), which makes
//! them fail instead.

use std::sync::atomic::{AtomicUsize, Ordering};

use sqlx::Connection as _;

pub const DEFAULT_POSTGRES: &str = "postgres://root@127.0.0.1:5432/test";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A fresh, empty database for one test; removed when dropped.
pub struct Database {
    pub url: String,
    pub backend: Backend,
    /// The SQLite file's directory.
    pub dir: tempfile::TempDir,
    schema: Option<String>,
}

impl Database {
    /// A fresh database on `backend`, or `None` when PostgreSQL is not available and not
    /// required (the reason is printed).
    pub async fn fresh(backend: Backend) -> Option<Database> {
        let dir = tempfile::tempdir().unwrap();
        match backend {
            Backend::Sqlite => Some(Database {
                url: format!("sqlite://{}", dir.path().join("gatehouse.db").display()),
                backend,
                dir,
                schema: None,
            }),
            Backend::Postgres => {
                let server = postgres_url();
                let mut conn = match sqlx::PgConnection::connect(&server).await {
                    Ok(c) => c,
                    Err(e) => {
                        skip_or_fail(&server, &e);
                        return None;
                    }
                };
                static NEXT: AtomicUsize = AtomicUsize::new(0);
                let schema = format!(
                    "gatehouse_test_{}_{}_{}",
                    std::process::id(),
                    NEXT.fetch_add(1, Ordering::Relaxed),
                    gatehouse::oidc::tokens::new_id()
                );
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut conn)
                    .await
                    .unwrap();
                let sep = if server.contains('?') { '&' } else { '?' };
                Some(Database {
                    url: format!("{server}{sep}options=-c%20search_path%3D{schema}"),
                    backend,
                    dir,
                    schema: Some(schema),
                })
            }
        }
    }
}

impl Database {
    /// The number `sql` counts (a `SELECT count(*) …`), read past the store under test.
    pub async fn count(&self, sql: &str) -> i64 {
        match self.backend {
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap();
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.query_row(sql, [], |r| r.get(0)).unwrap()
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap()
            }
        }
    }

    /// Makes every later change to `column` of `table` fail, as a database failing part-way
    /// through a transaction would: a trigger raising an error. What else the transaction
    /// wrote must go with it.
    pub async fn fail_updates_of(&self, table: &str, column: &str) {
        match self.backend {
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap();
                let conn = rusqlite::Connection::open(path).unwrap();
                conn.execute_batch(&format!(
                    "CREATE TRIGGER injected_fault BEFORE UPDATE OF {column} ON {table}
                     BEGIN SELECT RAISE(ABORT, 'injected fault'); END;"
                ))
                .unwrap();
            }
            Backend::Postgres => {
                let mut conn = sqlx::PgConnection::connect(&self.url).await.unwrap();
                let function = "CREATE FUNCTION injected_fault() RETURNS trigger LANGUAGE plpgsql
                     AS $$ BEGIN RAISE EXCEPTION 'injected fault'; END $$";
                let trigger = format!(
                    "CREATE TRIGGER injected_fault BEFORE UPDATE OF {column} ON {table}
                     FOR EACH ROW EXECUTE FUNCTION injected_fault()"
                );
                for sql in [function.to_owned(), trigger] {
                    sqlx::query(sqlx::AssertSqlSafe(sql))
                        .execute(&mut conn)
                        .await
                        .unwrap();
                }
            }
        }
    }
}

impl Drop for Database {
    fn drop(&mut self) {
        let Some(schema) = self.schema.take() else {
            return;
        };
        // Dropped from async tests too: a thread of its own, with a runtime of its own.
        let server = postgres_url();
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&server).await {
                    // A test that failed may leave its tasks' transactions open, holding locks
                    // in the schema, and waiting for a runtime this drop blocks: give up after
                    // a while (the schema stays behind) rather than hang, so the failure is
                    // reported.
                    let _ = sqlx::query("SET lock_timeout = '20s'")
                        .execute(&mut conn)
                        .await;
                    let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                    let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                        .execute(&mut conn)
                        .await;
                }
            });
        })
        .join();
    }
}

/// A session of its own on the PostgreSQL database at `url`, in a transaction holding the rows
/// `lock` (a `SELECT … FOR UPDATE`) reads, until it sends `COMMIT`; and its backend process's
/// id, for [`until_blocked_by`].
pub async fn holding(url: &str, lock: &str) -> (sqlx::PgConnection, i32) {
    let mut held = sqlx::PgConnection::connect(url).await.unwrap();
    sqlx::raw_sql("BEGIN").execute(&mut held).await.unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(lock.to_owned()))
        .execute(&mut held)
        .await
        .unwrap();
    let holder = sqlx::query_scalar("SELECT pg_backend_pid()")
        .fetch_one(&mut held)
        .await
        .unwrap();
    (held, holder)
}

/// Waits until some session of the PostgreSQL server waits for a lock held by the session
/// whose backend process is `holder` (`pg_backend_pid()`), asking on `look`; fails the test
/// after 30 s.
pub async fn until_blocked_by(look: &mut sqlx::PgConnection, holder: i32) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
        )
        .bind(holder)
        .fetch_one(&mut *look)
        .await
        .unwrap();
        if waiting > 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no session waited for session {holder}'s lock"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
}

pub fn postgres_url() -> String {
    std::env::var("GATEHOUSE_TEST_POSTGRES_URL").unwrap_or_else(|_| DEFAULT_POSTGRES.to_owned())
}

fn skip_or_fail(server: &str, e: &sqlx::Error) {
    let required = std::env::var("GATEHOUSE_REQUIRE_POSTGRES").is_ok_and(|v| v == "1");
    if required {
        panic!(
            "PostgreSQL is required (GATEHOUSE_REQUIRE_POSTGRES=1) but {server} is unreachable: {e}"
        );
    }
    // Once per test binary, and past libtest's output capture (which only catches the print
    // macros), so a plain `cargo test` shows why these tests did nothing.
    static SAID: std::sync::Once = std::sync::Once::new();
    SAID.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\nskipping the PostgreSQL tests of this binary: cannot connect to {server} ({e}); \
             set GATEHOUSE_TEST_POSTGRES_URL to a server where the user may create schemas"
        );
    });
}

/// Defines one `#[tokio::test]` per backend for each listed test function, in modules `sqlite`
/// and `postgres`. Each function takes a fresh [`Database`].
#[macro_export]
macro_rules! on_both_backends {
    ($flavor:tt; $($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test $flavor]
                async fn $name() {
                    let db = $crate::common::backend::Database::fresh($crate::common::backend::Backend::Sqlite)
                        .await
                        .unwrap();
                    super::$name(db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test $flavor]
                async fn $name() {
                    let Some(db) = $crate::common::backend::Database::fresh($crate::common::backend::Backend::Postgres).await else {
                        return;
                    };
                    super::$name(db).await;
                }
            )*
        }
    };
}
