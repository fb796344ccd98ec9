//! onewriter's figures as Prometheus gauges, for `/metrics`.

use std::time::Duration;

use super::SqliteStore;
use crate::store::EngineMetric;

impl SqliteStore {
    pub(super) fn metrics(&self) -> Vec<EngineMetric> {
        let s = self.db.stats();
        let gauge = |name, help, value: f64| EngineMetric {
            name,
            help,
            labels: Vec::new(),
            value,
        };
        // p50, p99, p99.9 and max, as a Prometheus summary's quantiles.
        let quantiles = |name, help, values: [f64; 4]| {
            ["0.5", "0.99", "0.999", "1"]
                .into_iter()
                .zip(values)
                .map(move |(q, value)| EngineMetric {
                    name,
                    help,
                    labels: vec![("quantile", q)],
                    value,
                })
        };
        let secs = |p: &onewriter::Percentiles<Duration>| {
            [p.p50, p.p99, p.p999, p.max].map(|d| d.as_secs_f64())
        };
        let b = &s.batch_size;
        let batch = [b.p50, b.p99, b.p999, b.max].map(|n| n as f64);
        let mut out = vec![
            gauge(
                "onewriter_write_queue_depth",
                "Write jobs waiting for the writer",
                s.write_queue_depth as f64,
            ),
            gauge(
                "onewriter_read_queue_depth",
                "Read jobs waiting for a reader",
                s.read_queue_depth as f64,
            ),
            gauge("onewriter_writes_total", "Write jobs run", s.writes as f64),
            gauge(
                "onewriter_write_errors_total",
                "Write jobs that failed",
                s.write_errors as f64,
            ),
            gauge("onewriter_reads_total", "Read jobs run", s.reads as f64),
            gauge(
                "onewriter_read_errors_total",
                "Read jobs that failed",
                s.read_errors as f64,
            ),
            gauge(
                "onewriter_cancelled_total",
                "Jobs skipped because their caller left",
                s.cancelled as f64,
            ),
            gauge(
                "onewriter_overloaded_total",
                "Jobs refused past their queue deadline",
                s.overloaded as f64,
            ),
            gauge(
                "onewriter_commits_total",
                "Transactions committed by the writer",
                s.commits as f64,
            ),
            gauge(
                "onewriter_syncs_total",
                "WAL syncs by the sync thread: with synchronous=FULL, commits per sync is how many one covered; with NORMAL, background flushes as the WAL grows",
                s.syncs as f64,
            ),
            gauge(
                "onewriter_sync_seconds_total",
                "The sync thread's total time syncing the WAL",
                s.sync_time.as_secs_f64(),
            ),
            gauge(
                "onewriter_sync_max_seconds",
                "The longest WAL sync (synchronous=FULL): a write is answered after its commit's sync",
                s.sync_max.as_secs_f64(),
            ),
            gauge(
                "onewriter_reads_waited_for_sync_total",
                "Reads whose answer waited for the sync of a commit they might have seen",
                s.reads_waited_for_sync as f64,
            ),
            gauge(
                "onewriter_batches_run_again_total",
                "Batches rolled back and run again with a savepoint per job after a job failed",
                s.batches_run_again as f64,
            ),
            gauge(
                "onewriter_busy_waits_total",
                "Times the writer waited for another process's lock",
                s.busy_waits as f64,
            ),
            gauge(
                "onewriter_busy_timeouts_total",
                "Times the writer gave up waiting for another process",
                s.busy_timeouts as f64,
            ),
            gauge(
                "onewriter_checkpoints_total",
                "WAL checkpoints run",
                s.checkpoints as f64,
            ),
            gauge(
                "onewriter_wal_handovers_total",
                "Times the writer paused for a checkpoint at the WAL size limit",
                s.handovers as f64,
            ),
            gauge(
                "onewriter_wal_handover_seconds_total",
                "The writer's total pause for WAL handovers",
                s.handover_time.as_secs_f64(),
            ),
            gauge(
                "onewriter_wal_handover_max_seconds",
                "The writer's longest pause for one WAL handover",
                s.handover_max.as_secs_f64(),
            ),
            gauge(
                "onewriter_wal_handovers_cut_short_total",
                "WAL handovers the writer stopped waiting for, their checkpoints going on in the background",
                s.handovers_cut_short as f64,
            ),
            gauge(
                "onewriter_wal_handovers_incomplete_total",
                "WAL handovers that could not copy or truncate every frame, a read still using them: the WAL grows past its limit until one completes",
                s.handovers_incomplete as f64,
            ),
        ];
        out.extend(quantiles(
            "onewriter_batch_size",
            "Write jobs per committed transaction",
            batch,
        ));
        out.extend(quantiles(
            "onewriter_write_wait_seconds",
            "Time a write job waited in the queue",
            secs(&s.write_wait),
        ));
        out.extend(quantiles(
            "onewriter_write_run_seconds",
            "Time a write job ran",
            secs(&s.write_run),
        ));
        out.extend(quantiles(
            "onewriter_read_wait_seconds",
            "Time a read job waited in the queue",
            secs(&s.read_wait),
        ));
        out.extend(quantiles(
            "onewriter_read_run_seconds",
            "Time a read job ran",
            secs(&s.read_run),
        ));
        out
    }
}
