//! Runs one scenario under one setting and checks the database afterwards.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use crate::scenarios::{Contender, Kind, Scenario, Setup};
use crate::workload::{self, ACCOUNTS, ErrorKind, OpError, Sync, Workload};

/// One combination of the knobs every scenario runs under.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct Setting {
    pub workload: Workload,
    pub workers: usize,
    pub sync: Sync,
}

impl std::fmt::Display for Setting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} · {} workers · synchronous={}",
            self.workload, self.workers, self.sync
        )
    }
}

/// What a worker (or the raw loop) counted.
pub struct Tally {
    /// Writes committed before the deadline.
    pub writes: u64,
    /// Writes committed after the deadline (acknowledged, but not counted as throughput).
    pub late_writes: u64,
    pub reads: u64,
    pub errors: BTreeMap<ErrorKind, u64>,
    pub first_error: Option<String>,
    /// Latency of successful operations, in microseconds.
    pub latency: Histogram<u64>,
}

impl Tally {
    pub fn new() -> Self {
        Tally {
            writes: 0,
            late_writes: 0,
            reads: 0,
            errors: BTreeMap::new(),
            first_error: None,
            // 1 µs to 10 min at 3 significant figures; constant, valid bounds.
            latency: Histogram::new_with_bounds(1, 600_000_000, 3)
                .unwrap_or_else(|_| unreachable!()),
        }
    }

    pub fn ok_write(&mut self, latency: Duration) {
        self.writes += 1;
        self.record(latency);
    }

    pub fn late_write(&mut self, latency: Duration) {
        self.late_writes += 1;
        self.record(latency);
    }

    pub fn ok_read(&mut self, latency: Duration) {
        self.reads += 1;
        self.record(latency);
    }

    fn record(&mut self, latency: Duration) {
        let micros = u64::try_from(latency.as_micros())
            .unwrap_or(u64::MAX)
            .max(1);
        self.latency.saturating_record(micros);
    }

    pub fn error(&mut self, e: &OpError) {
        *self.errors.entry(e.kind).or_default() += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e.message.clone());
        }
    }

    fn merge(&mut self, other: Tally) {
        self.writes += other.writes;
        self.late_writes += other.late_writes;
        self.reads += other.reads;
        for (k, n) in other.errors {
            *self.errors.entry(k).or_default() += n;
        }
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
        // Same bounds on both sides: adding cannot fail.
        let _ = self.latency.add(&other.latency);
    }
}

/// What the file held after the run, against what was acknowledged.
#[derive(Debug, Clone, Serialize)]
pub struct Check {
    pub acknowledged_writes: u64,
    /// Writes still running when the run was cut off (they may or may not have committed).
    pub unfinished: u64,
    pub ledger_rows: i64,
    pub balance_sum: i64,
    pub integrity: String,
}

impl Check {
    /// Empty when the file holds exactly the acknowledged work; otherwise what is wrong.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        let acked = self.acknowledged_writes as i64;
        if self.integrity != "ok" {
            p.push(format!("integrity_check: {}", self.integrity));
        }
        if self.ledger_rows < acked {
            p.push(format!(
                "{} acknowledged writes lost",
                acked - self.ledger_rows
            ));
        }
        if self.ledger_rows > acked + self.unfinished as i64 {
            p.push(format!(
                "{} failed writes applied anyway",
                self.ledger_rows - acked - self.unfinished as i64
            ));
        }
        if self.balance_sum != self.ledger_rows {
            p.push(format!(
                "balances and ledger disagree by {} (half-applied or lost updates)",
                self.ledger_rows - self.balance_sum
            ));
        }
        p
    }
}

/// The result of one run.
#[derive(Debug, Clone, Serialize)]
pub struct Run {
    pub scenario: &'static str,
    pub setting: Setting,
    pub repeat: usize,
    pub seconds: f64,
    pub writes: u64,
    pub reads: u64,
    /// Successful operations per second (writes committed plus reads).
    pub ops_per_sec: f64,
    pub errors: BTreeMap<ErrorKind, u64>,
    pub first_error: Option<String>,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    pub max_us: u64,
    pub check: Check,
    /// The engine's own figures, where it gives them.
    pub engine: Option<crate::engine::EngineSummary>,
}

/// How long in-flight operations may run on after the deadline before they are cut off.
pub struct Limits {
    pub duration: Duration,
    /// For the peers: some can wedge (the retry storm), and must not hold the run hostage.
    pub grace: Duration,
}

/// onewriter's own operations are waited for this long: whether they all finish is what the
/// smoke test asserts, and that must not depend on how busy the machine is. Only a real hang
/// runs into it.
pub const OURS_GRACE: Duration = Duration::from_secs(60);

pub async fn run(
    scenario: &'static Scenario,
    setting: Setting,
    repeat: usize,
    dir: &Path,
    limits: &Limits,
) -> anyhow::Result<Run> {
    let path = dir.join(format!("{}-{repeat}.db", scenario.name));
    remove_db(&path);
    workload::seed(&path)?;
    let setup = Setup {
        path: path.clone(),
        sync: setting.sync,
    };
    let long_read = (setting.workload == Workload::BesideLongRead)
        .then(|| workload::hold_a_read(&path))
        .transpose()?;
    let started = Instant::now();
    let mut engine = None;
    let (tally, unfinished) = match scenario.kind {
        Kind::Loop { per_commit } => {
            let duration = limits.duration;
            let tally = tokio::task::spawn_blocking(move || {
                crate::scenarios::raw_limit::run(&setup, setting.workload, per_commit, duration)
            })
            .await??;
            (tally, 0)
        }
        Kind::Async(open) => {
            let contender: Arc<dyn Contender> = Arc::from(open(setup).await?);
            let grace = if scenario.name.starts_with("onewriter") {
                OURS_GRACE
            } else {
                limits.grace
            };
            let result = drive(Arc::clone(&contender), setting, limits.duration, grace).await;
            engine = contender.engine();
            contender.close().await;
            result
        }
    };
    drop(long_read);
    let seconds = started
        .elapsed()
        .as_secs_f64()
        .min(limits.duration.as_secs_f64());
    let check = check(&path, tally.writes + tally.late_writes, unfinished)?;
    remove_db(&path);
    let ok = (tally.writes + tally.reads) as f64;
    let h = &tally.latency;
    Ok(Run {
        scenario: scenario.name,
        setting,
        repeat,
        seconds,
        writes: tally.writes,
        reads: tally.reads,
        ops_per_sec: ok / limits.duration.as_secs_f64(),
        errors: tally.errors,
        first_error: tally.first_error,
        p50_us: h.value_at_quantile(0.5),
        p99_us: h.value_at_quantile(0.99),
        p999_us: h.value_at_quantile(0.999),
        max_us: h.max(),
        check,
        engine,
    })
}

/// Runs `setting.workers` concurrent workers until the deadline; returns what they counted and
/// how many were cut off mid-operation.
///
/// Every worker's tally (a histogram of about 170 KB) is made before the clock starts, and the
/// workers wait for the deadline to be sent: allocating the tallies while the first workers
/// already measured held the runtime's threads in page faults for tens of milliseconds at the
/// start of most runs, which the workers then counted as the engine's latency.
async fn drive(
    contender: Arc<dyn Contender>,
    setting: Setting,
    duration: Duration,
    grace: Duration,
) -> (Tally, u64) {
    let (start, deadline) = tokio::sync::watch::channel(None::<Instant>);
    let mut workers = tokio::task::JoinSet::new();
    for w in 0..setting.workers {
        let contender = Arc::clone(&contender);
        let mut deadline = deadline.clone();
        let mut tally = Tally::new();
        workers.spawn(async move {
            let mut rng = rand::rngs::SmallRng::seed_from_u64(w as u64);
            let until = match deadline.wait_for(Option::is_some).await {
                Ok(until) => until.unwrap_or_else(Instant::now),
                Err(_) => return tally,
            };
            while Instant::now() < until {
                let account = rng.random_range(1..=ACCOUNTS);
                let started = Instant::now();
                if setting.workload.is_write(rng.random_range(0..100)) {
                    match contender.rmw(account).await {
                        // Only what completed before the deadline counts towards throughput;
                        // what completed after still counts as acknowledged for the check.
                        Ok(()) if Instant::now() <= until => tally.ok_write(started.elapsed()),
                        Ok(()) => tally.late_write(started.elapsed()),
                        Err(e) => tally.error(&e),
                    }
                } else {
                    match contender.read(account).await {
                        Ok(_) => tally.ok_read(started.elapsed()),
                        Err(e) => tally.error(&e),
                    }
                }
            }
            tally
        });
    }
    let until = Instant::now() + duration;
    // Cannot fail: `deadline`, a receiver, is still held here.
    let _ = start.send(Some(until));
    let mut total = Tally::new();
    let cutoff = tokio::time::Instant::from_std(until + grace);
    while let Ok(Some(joined)) = tokio::time::timeout_at(cutoff, workers.join_next()).await {
        if let Ok(tally) = joined {
            total.merge(tally);
        }
    }
    let unfinished = workers.len() as u64;
    workers.abort_all();
    while workers.join_next().await.is_some() {}
    (total, unfinished)
}

fn check(path: &Path, acknowledged_writes: u64, unfinished: u64) -> anyhow::Result<Check> {
    let conn = rusqlite::Connection::open(path)?;
    conn.busy_timeout(Duration::from_secs(30))?;
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))?;
    let (ledger_rows, balance_sum) = conn.query_row(
        "SELECT (SELECT count(*) FROM ledger), (SELECT coalesce(sum(balance), 0) FROM account)",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    Ok(Check {
        acknowledged_writes,
        unfinished,
        ledger_rows,
        balance_sum,
        integrity,
    })
}

fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = path.as_os_str().to_owned();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}
