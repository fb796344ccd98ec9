//! What onewriter says of its own run, in one shape for both labs.

use std::time::Duration;

use serde::Serialize;

/// onewriter's own figures for one run: read from a gatehouse server's `/metrics` (`lab sso`),
/// or from `Db::stats` (the engine lab's onewriter scenarios).
#[derive(Debug, Clone, Default, Serialize)]
pub struct EngineSummary {
    /// Write jobs run (each a closure of one request).
    pub writes: u64,
    pub commits: u64,
    /// WAL syncs by onewriter's sync thread (`synchronous=FULL`), each covering every commit
    /// written before it.
    pub syncs: u64,
    /// Their time in all: against the run's length, how much of it the sync thread spent
    /// syncing, which with FULL bounds how often a caller can be answered.
    pub sync_total_ms: f64,
    /// The longest of those syncs: a FULL write is answered after its commit's.
    pub sync_max_ms: f64,
    pub batch_p50: f64,
    pub batch_max: f64,
    pub write_wait_p99_ms: f64,
    pub write_wait_max_ms: f64,
    pub write_run_max_ms: f64,
    pub checkpoints: u64,
    /// Pauses of the writer for a checkpoint at the WAL size limit.
    pub wal_handovers: u64,
    pub wal_handover_total_ms: f64,
    pub wal_handover_max_ms: f64,
    /// Handovers the writer stopped waiting for after its patience.
    pub wal_handovers_cut_short: u64,
    /// Handovers that could not copy or truncate every frame: a read still used them.
    pub wal_handovers_incomplete: u64,
    pub busy_waits: u64,
}

impl EngineSummary {
    /// From Prometheus text; `None` when the server has no onewriter figures (PostgreSQL).
    pub fn from_metrics(text: &str) -> Option<EngineSummary> {
        let value = |name: &str| -> Option<f64> {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
        };
        let ms = |name: &str| value(name).map_or(0.0, |s| s * 1000.0);
        Some(EngineSummary {
            writes: value("onewriter_writes_total")? as u64,
            commits: value("onewriter_commits_total")? as u64,
            syncs: value("onewriter_syncs_total").unwrap_or(0.0) as u64,
            sync_total_ms: ms("onewriter_sync_seconds_total"),
            sync_max_ms: ms("onewriter_sync_max_seconds"),
            batch_p50: value(r#"onewriter_batch_size{quantile="0.5"}"#).unwrap_or(0.0),
            batch_max: value(r#"onewriter_batch_size{quantile="1"}"#).unwrap_or(0.0),
            write_wait_p99_ms: ms(r#"onewriter_write_wait_seconds{quantile="0.99"}"#),
            write_wait_max_ms: ms(r#"onewriter_write_wait_seconds{quantile="1"}"#),
            write_run_max_ms: ms(r#"onewriter_write_run_seconds{quantile="1"}"#),
            checkpoints: value("onewriter_checkpoints_total").unwrap_or(0.0) as u64,
            wal_handovers: value("onewriter_wal_handovers_total").unwrap_or(0.0) as u64,
            wal_handover_total_ms: ms("onewriter_wal_handover_seconds_total"),
            wal_handover_max_ms: ms("onewriter_wal_handover_max_seconds"),
            wal_handovers_cut_short: value("onewriter_wal_handovers_cut_short_total").unwrap_or(0.0)
                as u64,
            wal_handovers_incomplete: value("onewriter_wal_handovers_incomplete_total")
                .unwrap_or(0.0) as u64,
            busy_waits: value("onewriter_busy_waits_total").unwrap_or(0.0) as u64,
        })
    }

    /// From a `Db`'s own statistics.
    pub fn from_stats(s: &onewriter::Stats) -> EngineSummary {
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        EngineSummary {
            writes: s.writes,
            commits: s.commits,
            syncs: s.syncs,
            sync_total_ms: ms(s.sync_time),
            sync_max_ms: ms(s.sync_max),
            batch_p50: s.batch_size.p50 as f64,
            batch_max: s.batch_size.max as f64,
            write_wait_p99_ms: ms(s.write_wait.p99),
            write_wait_max_ms: ms(s.write_wait.max),
            write_run_max_ms: ms(s.write_run.max),
            checkpoints: s.checkpoints,
            wal_handovers: s.handovers,
            wal_handover_total_ms: ms(s.handover_time),
            wal_handover_max_ms: ms(s.handover_max),
            wal_handovers_cut_short: s.handovers_cut_short,
            wal_handovers_incomplete: s.handovers_incomplete,
            busy_waits: s.busy_waits,
        }
    }

    /// The figures of several repeats of one run as one: counts and totals summed, the
    /// longest of the maxima, the median of the percentiles.
    pub fn over(repeats: &[EngineSummary]) -> Option<EngineSummary> {
        let sum = |f: fn(&EngineSummary) -> u64| repeats.iter().map(f).sum();
        let total = |f: fn(&EngineSummary) -> f64| repeats.iter().map(f).sum();
        let longest = |f: fn(&EngineSummary) -> f64| repeats.iter().map(f).fold(0.0, f64::max);
        let median =
            |f: fn(&EngineSummary) -> f64| crate::report::median(repeats.iter().map(f).collect());
        (!repeats.is_empty()).then(|| EngineSummary {
            writes: sum(|e| e.writes),
            commits: sum(|e| e.commits),
            syncs: sum(|e| e.syncs),
            sync_total_ms: total(|e| e.sync_total_ms),
            sync_max_ms: longest(|e| e.sync_max_ms),
            batch_p50: median(|e| e.batch_p50),
            batch_max: longest(|e| e.batch_max),
            write_wait_p99_ms: median(|e| e.write_wait_p99_ms),
            write_wait_max_ms: longest(|e| e.write_wait_max_ms),
            write_run_max_ms: longest(|e| e.write_run_max_ms),
            checkpoints: sum(|e| e.checkpoints),
            wal_handovers: sum(|e| e.wal_handovers),
            wal_handover_total_ms: total(|e| e.wal_handover_total_ms),
            wal_handover_max_ms: longest(|e| e.wal_handover_max_ms),
            wal_handovers_cut_short: sum(|e| e.wal_handovers_cut_short),
            wal_handovers_incomplete: sum(|e| e.wal_handovers_incomplete),
            busy_waits: sum(|e| e.busy_waits),
        })
    }

    pub fn line(&self) -> String {
        format!(
            "{} writes in {} commits (batch p50 {:.0}, max {:.0}) and {} syncs ({:.1} ms in all, \
             longest {:.1} ms); write wait p99 {:.1} ms, max {:.1} ms; longest write {:.1} ms; \
             {} checkpoints; {} WAL handovers ({:.1} ms in all, longest {:.1} ms, {} cut short, \
             {} incomplete); {} busy waits",
            self.writes,
            self.commits,
            self.batch_p50,
            self.batch_max,
            self.syncs,
            self.sync_total_ms,
            self.sync_max_ms,
            self.write_wait_p99_ms,
            self.write_wait_max_ms,
            self.write_run_max_ms,
            self.checkpoints,
            self.wal_handovers,
            self.wal_handover_total_ms,
            self.wal_handover_max_ms,
            self.wal_handovers_cut_short,
            self.wal_handovers_incomplete,
            self.busy_waits
        )
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    #[test]
    fn a_servers_metrics_give_onewriters_figures_and_postgresql_gives_none() {
        let text = "\
# TYPE onewriter_writes_total counter
onewriter_writes_total 5000
onewriter_commits_total 100
onewriter_syncs_total 90
onewriter_sync_seconds_total 0.045
onewriter_sync_max_seconds 0.0021
onewriter_batch_size{quantile=\"0.5\"} 48
onewriter_batch_size{quantile=\"1\"} 128
onewriter_write_wait_seconds{quantile=\"0.99\"} 0.0004
onewriter_write_wait_seconds{quantile=\"1\"} 0.003
onewriter_write_run_seconds{quantile=\"1\"} 0.002
onewriter_checkpoints_total 7
onewriter_wal_handovers_total 3
onewriter_wal_handover_seconds_total 0.012
onewriter_wal_handover_max_seconds 0.005
onewriter_wal_handovers_cut_short_total 1
onewriter_wal_handovers_incomplete_total 1
onewriter_busy_waits_total 2
";
        let e = EngineSummary::from_metrics(text).expect("onewriter figures");
        assert_eq!(
            e.line(),
            "5000 writes in 100 commits (batch p50 48, max 128) and 90 syncs (45.0 ms in all, \
             longest 2.1 ms); write wait p99 0.4 ms, max 3.0 ms; longest write 2.0 ms; 7 \
             checkpoints; 3 WAL handovers (12.0 ms in all, longest 5.0 ms, 1 cut short, 1 \
             incomplete); 2 busy waits"
        );
        assert!(EngineSummary::from_metrics("http_requests_total 10\n").is_none());
    }
}
