//! Other processes on the same file, and crashes. Each test re-runs this test binary as a real
//! second process (see `common::spawn_child`).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::Duration;

use common::{child_role, integrity_check, spawn_child, temp_path};
use onewriter::rusqlite::{self, Connection};
use onewriter::{Db, Error, Options};

static SCHEMA: &[&str] =
    &["CREATE TABLE entry (id INTEGER PRIMARY KEY, writer TEXT NOT NULL, seq INTEGER NOT NULL)"];

const PER_PROCESS: i64 = 1500;

async fn insert_entries(db: &Db, writer: &'static str, count: i64) {
    let mut tasks = Vec::new();
    for task in 0..16 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            for seq in (task..count).step_by(16) {
                db.write(move |tx| {
                    tx.execute(
                        "INSERT INTO entry (writer, seq) VALUES (?1, ?2)",
                        (writer, seq),
                    )
                })
                .await
                .unwrap_or_else(|e| panic!("{writer} write {seq} failed: {e}"));
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

/// The child's part in the lock tests: a plain connection that takes the write lock, writes a
/// row, says "locked", holds the lock for `hold`, then commits.
fn hold_the_write_lock(path: &std::path::Path, hold: Duration) {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE; INSERT INTO entry (writer, seq) VALUES ('holder', 1)")
        .unwrap();
    println!("locked");
    std::thread::sleep(hold);
    conn.execute_batch("COMMIT").unwrap();
}

/// Waits until the child prints a line ending in `marker` (the test harness writes
/// `test NAME ... ` before the child's first line), then keeps draining its output in the
/// background so the child never dies of a closed pipe.
async fn wait_for_line(child: &mut Child, marker: &'static str) {
    let stdout = child.stdout.take().expect("child stdout");
    let (seen_tx, seen_rx) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        let mut seen_tx = Some(seen_tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if line.ends_with(marker)
                && let Some(tx) = seen_tx.take()
            {
                let _ = tx.send(());
            }
        }
    });
    seen_rx
        .await
        .expect("the child exited before printing its marker");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_processes_writing_one_file_both_progress_and_lose_nothing() {
    if let Some((_, path)) = child_role() {
        let db = Db::open(&path, Options::new().migrations(SCHEMA))
            .await
            .unwrap();
        insert_entries(&db, "child", PER_PROCESS).await;
        db.close().await.unwrap();
        return;
    }
    let t = temp_path();
    let db = Db::open(&t.path, Options::new().migrations(SCHEMA))
        .await
        .unwrap();
    let mut child = spawn_child(
        "two_processes_writing_one_file_both_progress_and_lose_nothing",
        "writer",
        &t.path,
        &[],
    );
    insert_entries(&db, "parent", PER_PROCESS).await;
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success(), "the child process failed: {status}");
    let counts: Vec<(String, i64, i64)> = db
        .read(|c| {
            c.prepare("SELECT writer, count(*), count(DISTINCT seq) FROM entry GROUP BY writer ORDER BY writer")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?
                .collect::<rusqlite::Result<_>>()
        })
        .await
        .unwrap();
    assert_eq!(
        counts,
        vec![
            ("child".to_owned(), PER_PROCESS, PER_PROCESS),
            ("parent".to_owned(), PER_PROCESS, PER_PROCESS)
        ]
    );
    db.close().await.unwrap();
    assert_eq!(integrity_check(&t.path), "ok");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_by_another_process_past_the_busy_timeout_is_a_clear_busy_error() {
    if let Some((_, path)) = child_role() {
        hold_the_write_lock(&path, Duration::from_millis(2500));
        return;
    }
    let t = temp_path();
    let db = Db::open(
        &t.path,
        Options::new()
            .migrations(SCHEMA)
            .busy_timeout(Duration::from_millis(300)),
    )
    .await
    .unwrap();
    let mut child = spawn_child(
        "a_lock_held_by_another_process_past_the_busy_timeout_is_a_clear_busy_error",
        "holder",
        &t.path,
        &[],
    );
    wait_for_line(&mut child, "locked").await;

    let err = db
        .write(|tx| tx.execute("INSERT INTO entry (writer, seq) VALUES ('parent', 1)", []))
        .await
        .unwrap_err();
    let Error::Busy { waited } = err else {
        panic!("expected a busy error, got {err:?}")
    };
    assert!(waited >= Duration::from_millis(300), "{waited:?}");
    assert!(
        err.to_string().contains("locked by another connection"),
        "{err}"
    );
    assert!(err.job_did_not_run());
    let stats = db.stats();
    assert!(
        stats.busy_waits >= 1 && stats.busy_timeouts >= 1,
        "{stats:?}"
    );

    // Once the other process commits, writes go through again and its row is there.
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
    db.write(|tx| tx.execute("INSERT INTO entry (writer, seq) VALUES ('parent', 2)", []))
        .await
        .unwrap();
    let rows: Vec<String> = db
        .read(|c| {
            c.prepare("SELECT writer || seq FROM entry ORDER BY id")?
                .query_map([], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()
        })
        .await
        .unwrap();
    assert_eq!(
        rows,
        ["holder1", "parent2"],
        "the refused write left nothing"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lock_held_briefly_by_another_process_is_waited_for() {
    if let Some((_, path)) = child_role() {
        hold_the_write_lock(&path, Duration::from_millis(1000));
        return;
    }
    let t = temp_path();
    let db = Db::open(&t.path, Options::new().migrations(SCHEMA))
        .await
        .unwrap();
    let mut child = spawn_child(
        "a_lock_held_briefly_by_another_process_is_waited_for",
        "holder",
        &t.path,
        &[],
    );
    wait_for_line(&mut child, "locked").await;
    db.write(|tx| tx.execute("INSERT INTO entry (writer, seq) VALUES ('parent', 1)", []))
        .await
        .expect("the default 5 s busy timeout outlasts a 1 s lock");
    assert!(db.stats().busy_waits >= 1);
    let status = tokio::task::spawn_blocking(move || child.wait())
        .await
        .unwrap()
        .unwrap();
    assert!(status.success());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn after_sigkill_under_write_load_every_acknowledged_write_survives() {
    if let Some((_, path)) = child_role() {
        let db = Db::open(&path, Options::new().migrations(SCHEMA))
            .await
            .unwrap();
        let round: i64 = std::env::var("ROUND").unwrap().parse().unwrap();
        let mut tasks = Vec::new();
        for task in 0..32i64 {
            let db = db.clone();
            tasks.push(tokio::spawn(async move {
                for n in 0.. {
                    let seq = round * 10_000_000 + task * 100_000 + n;
                    db.write(move |tx| {
                        tx.execute(
                            "INSERT INTO entry (writer, seq) VALUES ('crash', ?1)",
                            [seq],
                        )
                    })
                    .await
                    .unwrap();
                    // Printed only after the write was acknowledged.
                    println!("ack {seq}");
                }
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        return;
    }
    let t = temp_path();
    Db::open(&t.path, Options::new().migrations(SCHEMA))
        .await
        .unwrap()
        .close()
        .await
        .unwrap();
    let mut acknowledged = Vec::new();
    for round in 0..3 {
        let mut child = spawn_child(
            "after_sigkill_under_write_load_every_acknowledged_write_survives",
            "crasher",
            &t.path,
            &[("ROUND", round.to_string())],
        );
        let stdout = child.stdout.take().unwrap();
        let (acks, child) = tokio::task::spawn_blocking(move || {
            let mut acks = Vec::new();
            let mut child = Some(child);
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some((_, seq)) = line.split_once("ack ") {
                    acks.push(seq.parse::<i64>().unwrap());
                }
                if acks.len() == 2000 + round * 500 {
                    // SIGKILL: no destructor, no close, no final checkpoint.
                    child.as_mut().unwrap().kill().unwrap();
                }
            }
            (acks, child.unwrap())
        })
        .await
        .unwrap();
        let mut child = child;
        let _ = child.wait();
        assert!(
            acks.len() >= 2000,
            "round {round}: the child acknowledged only {}",
            acks.len()
        );
        acknowledged.extend(acks);

        assert_eq!(integrity_check(&t.path), "ok", "round {round}");
        let conn = Connection::open(&t.path).unwrap();
        let mut present = conn.prepare("SELECT 1 FROM entry WHERE seq = ?1").unwrap();
        for seq in &acknowledged {
            assert!(
                present.exists([seq]).unwrap(),
                "round {round}: acknowledged write {seq} was lost"
            );
        }
    }
}
