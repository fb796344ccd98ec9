//! One writer thread with group commit and nothing else, a reference rather than a peer: a
//! plain thread takes the queued read-modify-writes (up to 128), runs them in one
//! `BEGIN IMMEDIATE … COMMIT` and answers each caller through a `oneshot`; two reader threads,
//! each with a connection of its own, take the point reads. Nothing else: no deadlines or
//! cancellation, no isolation of a failing job from the rest of its batch (its partial writes
//! would commit with them), no WAL housekeeping (SQLite's automatic checkpoint, as in
//! `raw-limit`), no sync thread (with FULL each COMMIT syncs on the writer thread), no
//! statistics, no backpressure (its queue is unbounded). The hand-off is onewriter's (a `flume`
//! queue in, a `tokio` oneshot out), so the gap between this and `raw-limit-100` is what handing
//! jobs between cores costs, and the difference between this and `onewriter-batched` is what
//! onewriter's promises cost, or, on a disk, what its WAL housekeeping and sync thread save.

use std::thread::JoinHandle;

use rusqlite::Connection;
use tokio::sync::oneshot;

use super::{Contender, Opened, Setup};
use crate::workload::{self, OpError};

/// The most jobs one transaction takes, as onewriter's default `max_batch`.
const MAX_BATCH: usize = 128;
/// Reader threads: one a core on the machine the lab's reports come from.
const READERS: usize = 2;

type Answer<T> = oneshot::Sender<Result<T, OpError>>;

/// A job for one of the threads, or the word to stop.
enum Msg<T> {
    Job(i64, Answer<T>),
    Stop,
}

pub fn open(setup: Setup) -> Opened {
    Box::pin(async move {
        let (writes, write_rx) = flume::unbounded::<Msg<()>>();
        let (reads, read_rx) = flume::unbounded::<Msg<i64>>();
        let mut threads = Vec::with_capacity(READERS + 1);
        let conn = setup.connect()?;
        threads.push(
            std::thread::Builder::new()
                .name("bare-write".into())
                .spawn(move || write_loop(&conn, &write_rx))?,
        );
        for _ in 0..READERS {
            let conn = setup.connect()?;
            let rx = read_rx.clone();
            threads.push(
                std::thread::Builder::new()
                    .name("bare-read".into())
                    .spawn(move || read_loop(&conn, &rx))?,
            );
        }
        Ok(Box::new(Handoff {
            writes,
            reads,
            threads: std::sync::Mutex::new(threads),
        }) as Box<dyn Contender>)
    })
}

/// Until told to stop: answer each queued read.
fn read_loop(conn: &Connection, rx: &flume::Receiver<Msg<i64>>) {
    while let Ok(Msg::Job(account, answer)) = rx.recv() {
        let _ = answer.send(workload::read(conn, account).map_err(Into::into));
    }
}

/// Until told to stop: take what is queued, run it in one transaction, commit, answer.
fn write_loop(conn: &Connection, rx: &flume::Receiver<Msg<()>>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut results = Vec::with_capacity(MAX_BATCH);
    let mut stopping = false;
    while !stopping {
        match rx.recv() {
            Ok(Msg::Job(account, answer)) => batch.push((account, answer)),
            Ok(Msg::Stop) | Err(_) => break,
        }
        while batch.len() < MAX_BATCH {
            match rx.try_recv() {
                Ok(Msg::Job(account, answer)) => batch.push((account, answer)),
                Ok(Msg::Stop) => {
                    stopping = true;
                    break;
                }
                Err(_) => break,
            }
        }
        if let Err(e) = conn.execute_batch("BEGIN IMMEDIATE") {
            let e = OpError::from(e);
            for (_, answer) in batch.drain(..) {
                let _ = answer.send(Err(e.clone()));
            }
            continue;
        }
        results.extend(
            batch
                .iter()
                .map(|(account, _)| workload::rmw(conn, *account)),
        );
        let committed = conn.execute_batch("COMMIT").map_err(OpError::from);
        if committed.is_err() {
            let _ = conn.execute_batch("ROLLBACK");
        }
        for ((_, answer), result) in batch.drain(..).zip(results.drain(..)) {
            let result = match &committed {
                Ok(()) => result.map_err(OpError::from),
                Err(e) => Err(e.clone()),
            };
            let _ = answer.send(result);
        }
    }
}

struct Handoff {
    writes: flume::Sender<Msg<()>>,
    reads: flume::Sender<Msg<i64>>,
    threads: std::sync::Mutex<Vec<JoinHandle<()>>>,
}

fn closed() -> OpError {
    OpError {
        kind: workload::ErrorKind::Other,
        message: "the hand-off threads have stopped".into(),
    }
}

#[async_trait::async_trait]
impl Contender for Handoff {
    async fn rmw(&self, account: i64) -> Result<(), OpError> {
        let (answer, answered) = oneshot::channel();
        self.writes
            .send(Msg::Job(account, answer))
            .map_err(|_| closed())?;
        answered.await.map_err(|_| closed())?
    }

    async fn read(&self, account: i64) -> Result<i64, OpError> {
        let (answer, answered) = oneshot::channel();
        self.reads
            .send(Msg::Job(account, answer))
            .map_err(|_| closed())?;
        answered.await.map_err(|_| closed())?
    }

    async fn close(&self) {
        let _ = self.writes.send(Msg::Stop);
        for _ in 0..READERS {
            let _ = self.reads.send(Msg::Stop);
        }
        let threads = match self.threads.lock() {
            Ok(mut t) => std::mem::take(&mut *t),
            Err(_) => return,
        };
        let _ = tokio::task::spawn_blocking(move || {
            for t in threads {
                let _ = t.join();
            }
        })
        .await;
    }
}
