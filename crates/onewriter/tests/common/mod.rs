//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use onewriter::rusqlite::Connection;
use onewriter::{Db, Options};

/// Accounts with balances, and a ledger row per transfer: the shape of a token refresh
/// (read a row, update it, insert a row).
pub static BANK: &[&str] = &[
    "CREATE TABLE account (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY, account INTEGER NOT NULL REFERENCES account(id), amount INTEGER NOT NULL, note TEXT)",
];

pub struct TempDb {
    pub dir: tempfile::TempDir,
    pub path: PathBuf,
}

pub fn temp_path() -> TempDb {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("test.db");
    TempDb { dir, path }
}

pub async fn open_bank(path: &Path, options: Options, accounts: i64) -> Db {
    let db = Db::open(path, options.migrations(BANK))
        .await
        .expect("open");
    db.write(move |tx| {
        let mut stmt = tx.prepare("INSERT INTO account (id, balance) VALUES (?1, 0)")?;
        for id in 1..=accounts {
            stmt.execute([id])?;
        }
        Ok::<_, onewriter::rusqlite::Error>(())
    })
    .await
    .expect("seed accounts");
    db
}

/// One read-modify-write transaction: read the balance, add `amount`, append a ledger row.
pub fn deposit(tx: &Connection, account: i64, amount: i64) -> onewriter::rusqlite::Result<i64> {
    let balance: i64 = tx
        .prepare_cached("SELECT balance FROM account WHERE id = ?1")?
        .query_row([account], |r| r.get(0))?;
    tx.prepare_cached("UPDATE account SET balance = ?1 WHERE id = ?2")?
        .execute((balance + amount, account))?;
    tx.prepare_cached("INSERT INTO ledger (account, amount) VALUES (?1, ?2)")?
        .execute((account, amount))?;
    Ok(balance + amount)
}

/// `(sum of balances, sum of ledger amounts, ledger rows)`, read on a plain connection.
pub fn totals(path: &Path) -> (i64, i64, i64) {
    let conn = Connection::open(path).expect("open");
    conn.query_row(
        "SELECT (SELECT coalesce(sum(balance), 0) FROM account),
                (SELECT coalesce(sum(amount), 0) FROM ledger),
                (SELECT count(*) FROM ledger)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
    )
    .expect("totals")
}

pub fn integrity_check(path: &Path) -> String {
    let conn = Connection::open(path).expect("open");
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

/// A real second process: this same test binary, re-run on one test with `ONEWRITER_CHILD`
/// set, so the test function plays the child's part instead of the parent's.
pub fn spawn_child(test_name: &str, role: &str, db: &Path, extra: &[(&str, String)]) -> Child {
    let exe = std::env::current_exe().expect("current exe");
    let mut cmd = Command::new(exe);
    cmd.args(["--exact", test_name, "--nocapture", "--test-threads", "1"])
        .env("ONEWRITER_CHILD", role)
        .env("ONEWRITER_CHILD_DB", db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.spawn().expect("spawn child process")
}

/// `Some((role, db path))` when this process was started by [`spawn_child`].
pub fn child_role() -> Option<(String, PathBuf)> {
    let role = std::env::var("ONEWRITER_CHILD").ok()?;
    let db = std::env::var("ONEWRITER_CHILD_DB").ok()?;
    Some((role, PathBuf::from(db)))
}

/// Holds the writer thread inside a job until released, so the jobs queued meanwhile form
/// one batch: a deterministic way to exercise group commit.
pub struct Gate {
    release: std::sync::mpsc::Sender<()>,
    pub done: tokio::task::JoinHandle<()>,
}

impl Gate {
    pub async fn close(db: &Db) -> Gate {
        Gate::close_with(db, Ok(())).await
    }

    /// A gate whose own job ends with `outcome` once released.
    pub async fn close_with(db: &Db, outcome: Result<(), &'static str>) -> Gate {
        let (release, wait) = std::sync::mpsc::channel::<()>();
        let (entered_tx, entered_rx) = tokio::sync::oneshot::channel();
        let db = db.clone();
        // A write's closure is `Fn`: the one-shot sender is taken out on the first run.
        let entered = std::sync::Mutex::new(Some(entered_tx));
        let done = tokio::spawn(async move {
            let answered = db
                .write(move |_| {
                    if let Some(entered) = entered.lock().expect("gate").take() {
                        let _ = entered.send(());
                    }
                    let _ = wait.recv();
                    outcome
                })
                .await;
            match (answered, outcome) {
                (Ok(()), Ok(())) => {}
                (Err(onewriter::Error::Job(got)), Err(expected)) => assert_eq!(got, expected),
                (got, _) => panic!("gate job: {got:?}"),
            }
        });
        entered_rx.await.expect("gate entered");
        Gate { release, done }
    }

    pub async fn open(self) {
        let _ = self.release.send(());
        self.done.await.expect("gate task");
    }
}

/// Waits until `n` write jobs are queued behind the gate.
pub async fn wait_for_write_queue(db: &Db, n: usize) {
    for _ in 0..10_000 {
        if db.stats().write_queue_depth >= n {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(1)).await;
    }
    panic!(
        "expected {n} queued writes, found {}",
        db.stats().write_queue_depth
    );
}
