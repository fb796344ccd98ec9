//! WAL checkpoints, close, backup and statistics.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use common::{integrity_check, open_bank, temp_path, totals};
use onewriter::rusqlite::{self, Connection};
use onewriter::{Db, Error, Options};

/// One write of a ledger row with a 200-byte note to `account`: at least two pages of WAL.
async fn append_note(db: &Db, account: i64) {
    db.write(move |tx| {
        tx.execute(
            "INSERT INTO ledger (account, amount, note) VALUES (?1, 1, ?2)",
            (account, "x".repeat(200)),
        )
    })
    .await
    .unwrap();
}

fn wal_len(path: &std::path::Path) -> u64 {
    let mut wal = path.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(wal).map_or(0, |m| m.len())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn under_endless_reads_the_wal_stays_bounded() {
    let t = temp_path();
    const LIMIT: u64 = 512 * 1024;
    let db = open_bank(
        &t.path,
        Options::new().readers(3).max_batch(1).wal_size_limit(LIMIT),
        64,
    )
    .await;
    let stop = Arc::new(AtomicBool::new(false));
    let mut readers = Vec::new();
    for _ in 0..6 {
        let (db, stop) = (db.clone(), Arc::clone(&stop));
        readers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                db.read(|c| {
                    c.query_row("SELECT max(id) FROM ledger", [], |r| {
                        r.get::<_, Option<i64>>(0)
                    })
                })
                .await
                .unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut largest = 0;
    let writes = 6000;
    for i in 0..writes {
        append_note(&db, i % 64 + 1).await;
        largest = largest.max(wal_len(&t.path));
    }
    stop.store(true, Ordering::Relaxed);
    let mut reads = 0;
    for r in readers {
        reads += r.await.unwrap();
    }
    assert!(
        reads > 1000,
        "the reads must overlap the writes: only {reads}"
    );
    let stats = db.stats();
    // Each transaction appends at least two pages: without checkpoints the WAL would pass
    // 6000 * 2 * 4 KiB = 48 MiB. Unless a read starved of CPU held its snapshot past a
    // truncating handover's patience (counted, and tested on its own below), the bound held.
    assert!(
        largest < 8 * LIMIT || stats.handovers_incomplete > 0,
        "the WAL grew to {largest} bytes with a bound of {LIMIT}: {stats:?}"
    );
    assert!(stats.checkpoints > 0);
    // The bound was reached and handed over, and the pauses are accounted for.
    assert!(stats.handovers > 0, "{stats:?}");
    assert!(stats.handover_max > Duration::ZERO && stats.handover_max <= stats.handover_time);
    // Truncation is handed over between transactions, never fought for: no write waited out
    // the busy timeout. (A brief wait is possible: SQLite lets a reader that sees a torn
    // wal-index header take the write lock for a moment.)
    assert_eq!(stats.busy_timeouts, 0);
    assert_eq!(stats.write_errors, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_long_read_holding_the_wal_neither_stalls_the_writer_nor_keeps_the_wal_growing_after_it()
{
    let t = temp_path();
    const LIMIT: u64 = 64 * 1024;
    let db = open_bank(
        &t.path,
        Options::new().readers(1).max_batch(1).wal_size_limit(LIMIT),
        4,
    )
    .await;
    let mut i = 0;
    while i < 10 {
        append_note(&db, i % 4 + 1).await;
        i += 1;
    }
    // A read that keeps its snapshot (a statement stepped, not finished) until it is let go:
    // a report, or a backup of a large file.
    let (held_tx, held_rx) = std::sync::mpsc::channel();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let long_read = tokio::spawn({
        let db = db.clone();
        async move {
            db.read(move |c| {
                let mut stmt = c.prepare("SELECT id FROM ledger")?;
                let mut rows = stmt.query([])?;
                rows.next()?;
                held_tx.send(()).unwrap();
                let _ = release_rx.recv_timeout(Duration::from_secs(60));
                Ok::<_, rusqlite::Error>(())
            })
            .await
            .unwrap();
        }
    });
    held_rx.recv().unwrap();
    // Writes go on while it lasts, long past the 200 ms a truncating handover waits for reads
    // and the second after which one that gave up is tried again.
    let held_since = std::time::Instant::now();
    while i < 410 || held_since.elapsed() < Duration::from_millis(2500) {
        append_note(&db, i % 4 + 1).await;
        i += 1;
        if i >= 410 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    let held = db.stats();
    assert!(wal_len(&t.path) > 2 * LIMIT, "the read held the WAL");
    // One handover met the read and could not finish; none after it while the read lasted,
    // and none held the write lock past the writer's patience.
    assert_eq!(held.handovers_incomplete, 1, "{held:?}");
    assert_eq!(held.handovers_cut_short, 0, "{held:?}");
    assert_eq!(held.busy_waits, 0, "{held:?}");
    release_tx.send(()).unwrap();
    long_read.await.unwrap();
    // Once the read has ended, a background checkpoint copies what it held, and the next
    // handover lets the WAL start over (a thousand writes more, each of at least two pages,
    // would otherwise grow it by 8 MiB); the file is cut back to twice its bound.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while db.stats().handovers == held.handovers {
        assert!(std::time::Instant::now() < deadline, "{:?}", db.stats());
        append_note(&db, i % 4 + 1).await;
        i += 1;
    }
    let at_release = wal_len(&t.path);
    for _ in 0..1000 {
        append_note(&db, i % 4 + 1).await;
        i += 1;
    }
    let after = db.stats();
    assert_eq!(after.handovers_incomplete, 1, "{after:?}");
    assert!(
        wal_len(&t.path) <= 3 * LIMIT,
        "the WAL was not cut back after the read: {} bytes, {at_release} when it ended; {after:?}",
        wal_len(&t.path)
    );
    assert_eq!(after.write_errors, 0);
}

#[tokio::test]
async fn close_runs_queued_jobs_then_checkpoints_and_truncates_the_wal() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let mut pending = Vec::new();
    for _ in 0..200 {
        let db = db.clone();
        pending.push(tokio::spawn(async move {
            db.write(|tx| common::deposit(tx, 1, 1)).await
        }));
    }
    tokio::task::yield_now().await;
    db.close().await.unwrap();
    let mut acknowledged = 0;
    for p in pending {
        match p.await.unwrap() {
            Ok(_) => acknowledged += 1,
            Err(Error::Closed) => {}
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(
        wal_len(&t.path),
        0,
        "the WAL was checkpointed into the database file"
    );
    assert_eq!(totals(&t.path), (acknowledged, acknowledged, acknowledged));
    assert!(acknowledged > 0, "jobs queued before close ran");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_online_backup_holds_every_write_acknowledged_before_it_started() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 8).await;
    for _ in 0..500 {
        db.write(|tx| common::deposit(tx, 1, 1)).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let writer = tokio::spawn({
        let (db, stop) = (db.clone(), Arc::clone(&stop));
        async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                db.write(|tx| common::deposit(tx, 2, 1)).await.unwrap();
                n += 1;
            }
            n
        }
    });
    let mut backups = Vec::new();
    for i in 0..5 {
        let before: i64 = db
            .read(|c| c.query_row("SELECT count(*) FROM ledger", [], |r| r.get(0)))
            .await
            .unwrap();
        let dest = t.dir.path().join(format!("backup-{i}.db"));
        db.backup(&dest).await.unwrap();
        backups.push((dest, before));
    }
    stop.store(true, Ordering::Relaxed);
    let during = writer.await.unwrap();
    assert!(during > 0, "writes went on during the backups");
    for (dest, before) in backups {
        assert_eq!(integrity_check(&dest), "ok");
        let (balances, ledger, rows) = totals(&dest);
        assert!(rows >= before, "{}: {rows} rows < {before}", dest.display());
        assert_eq!(
            (balances, ledger),
            (rows, rows),
            "the copy is one consistent snapshot"
        );
    }
    // Nothing but finished backups beside the database.
    let mut names: Vec<String> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("backup"))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "backup-0.db",
            "backup-1.db",
            "backup-2.db",
            "backup-3.db",
            "backup-4.db"
        ]
    );
}

#[tokio::test]
async fn a_backup_that_cannot_be_written_fails_cleanly_and_leaves_nothing() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let missing_dir = t.dir.path().join("no-such-dir").join("b.db");
    let err = db.backup(&missing_dir).await.unwrap_err();
    assert!(matches!(err, Error::Sqlite(_) | Error::Io(_)), "{err:?}");
    let err = db.backup(&t.path).await.unwrap_err();
    assert!(matches!(err, Error::Unsupported(_)), "{err:?}");
    assert_eq!(integrity_check(&t.path), "ok");
    let leftovers = std::fs::read_dir(t.dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial")
        })
        .count();
    assert_eq!(leftovers, 0);
}

#[tokio::test]
async fn a_backup_replaces_an_older_one_at_the_same_path() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 1).await;
    let dest = t.dir.path().join("b.db");
    db.backup(&dest).await.unwrap();
    db.write(|tx| common::deposit(tx, 1, 3)).await.unwrap();
    db.backup(&dest).await.unwrap();
    assert_eq!(totals(&dest), (3, 3, 1));
    let reopened = Db::open(&dest, Options::new()).await.unwrap();
    let n: i64 = reopened
        .read(|c| c.query_row("SELECT count(*) FROM account", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(n, 1, "a backup opens as a database of its own");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stats_count_what_happened() {
    let t = temp_path();
    let db = open_bank(&t.path, Options::new(), 4).await;
    let mut tasks = Vec::new();
    for i in 0..200i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.write(move |tx| common::deposit(tx, i % 4 + 1, 1))
                .await
                .unwrap();
            db.read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
                .await
                .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let _ = db
        .write(|c| c.execute("INSERT INTO nowhere VALUES (1)", []))
        .await
        .unwrap_err();
    let s = db.stats();
    assert_eq!(s.writes, 202, "the seed, 200 deposits and the failure");
    assert_eq!(s.write_errors, 1);
    assert_eq!(s.reads, 200);
    assert_eq!(s.read_errors, 0);
    assert!(s.commits >= 1 && s.commits <= 201, "{}", s.commits);
    assert_eq!(s.batch_size.count, s.commits);
    assert_eq!(s.write_wait.count, 202);
    assert_eq!(s.read_run.count, 200);
    assert!(s.write_run.max >= s.write_run.p50 && s.write_run.p50 > Duration::ZERO);
    assert_eq!((s.write_queue_depth, s.read_queue_depth), (0, 0));
}

#[test]
fn a_reopened_database_after_close_is_consistent() {
    // A plain, synchronous check of the file format: WAL mode persists and no -wal remains.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let t = temp_path();
    rt.block_on(async {
        let db = open_bank(&t.path, Options::new(), 2).await;
        db.write(|tx| common::deposit(tx, 2, 9)).await.unwrap();
        db.close().await.unwrap();
    });
    let conn = Connection::open(&t.path).unwrap();
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let b: i64 = conn
        .query_row("SELECT balance FROM account WHERE id = 2", [], |r| r.get(0))
        .unwrap();
    assert_eq!(b, 9);
    let _ = rusqlite::version();
}
