//! Reader threads: each owns one read-only connection and runs read jobs from the shared queue,
//! each inside its own read transaction, so a multi-statement read sees one snapshot.

use std::sync::Arc;
use std::time::Instant;

use rusqlite::Connection;

use crate::connection::TxnGuard;
use crate::db::Shared;
use crate::error::Fail;
use crate::job::{Job, Msg};
use crate::stats::Counters;

pub(crate) struct Reader {
    pub(crate) conn: Connection,
    pub(crate) guard: TxnGuard,
    pub(crate) rx: flume::Receiver<Msg>,
    pub(crate) shared: Arc<Shared>,
    pub(crate) index: usize,
}

impl Reader {
    pub(crate) fn run(self) {
        while let Ok(Msg::Job(job)) = self.rx.recv() {
            self.run_job(job);
        }
        if let Err((_, e)) = self.conn.close() {
            tracing::warn!(error = %e, "onewriter: closing a reader connection failed");
        }
    }

    fn run_job(&self, mut job: Box<dyn Job>) {
        let counters = &self.shared.counters;
        if job.cancelled() {
            Counters::add(&counters.cancelled, 1);
            return;
        }
        let started = Instant::now();
        if let Some(fail) = job.envelope().expired(started) {
            Counters::add(&counters.overloaded, 1);
            job.answer(Some(&fail));
            return;
        }
        // A deferred BEGIN takes no lock; the snapshot starts at the closure's first read and
        // holds until COMMIT.
        if let Err(e) = self.exec("BEGIN") {
            job.answer(Some(&Fail::sqlite(e)));
            return;
        }
        let conn = &self.conn;
        let ok = self.guard.run_closure(|| job.run(conn));
        let ended = if self.conn.is_autocommit() {
            Ok(())
        } else {
            self.exec("COMMIT").inspect_err(|_| {
                // A read transaction left open would pin its snapshot and fail the next BEGIN.
                let _ = self.exec("ROLLBACK");
            })
        };
        Counters::add(&counters.reads, 1);
        if !ok {
            Counters::add(&counters.read_errors, 1);
        }
        let enqueued = job.envelope().enqueued;
        self.shared.readers[self.index].with(|h| {
            h.record_wait(started.saturating_duration_since(enqueued));
            h.record_run(started.elapsed());
        });
        // With `synchronous=FULL`, not before every commit the snapshot may hold is synced
        // (see the `syncer` module); this thread goes on with the next read meanwhile.
        let fail = ended.err().map(Fail::sqlite);
        if self.shared.durability.answer_read(job, fail) {
            Counters::add(&counters.reads_waited_for_sync, 1);
        }
    }

    fn exec(&self, sql: &'static str) -> rusqlite::Result<()> {
        self.conn.prepare_cached(sql)?.execute([]).map(|_| ())
    }
}
