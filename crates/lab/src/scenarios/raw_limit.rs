//! The physical limit: the same operations in a plain loop on one rusqlite connection in one
//! thread, no async, no queues. SQLite's automatic checkpoint stays on (its default), so its
//! stalls show in the maximum latency.

use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rusqlite::Connection;

use crate::runner::Tally;
use crate::workload::{self, ACCOUNTS, OpError, Workload};

/// Runs `workload` for `duration`, `per_commit` read-modify-writes per transaction.
pub fn run(
    setup: &super::Setup,
    workload: Workload,
    per_commit: usize,
    duration: Duration,
) -> anyhow::Result<Tally> {
    let conn = setup.connect()?;
    let mut tally = Tally::new();
    let mut rng = rand::rngs::SmallRng::seed_from_u64(7);
    let mut pending: Vec<Instant> = Vec::with_capacity(per_commit);
    let until = Instant::now() + duration;
    let mut in_tx = false;
    while Instant::now() < until {
        let account = rng.random_range(1..=ACCOUNTS);
        let started = Instant::now();
        if workload.is_write(rng.random_range(0..100)) {
            if !in_tx {
                conn.execute_batch("BEGIN IMMEDIATE")?;
                in_tx = true;
            }
            match workload::rmw(&conn, account) {
                Ok(()) => pending.push(started),
                Err(e) => tally.error(&OpError::from(e)),
            }
            if pending.len() >= per_commit {
                commit(&conn, &mut pending, &mut tally)?;
                in_tx = false;
            }
        } else {
            match workload::read(&conn, account) {
                Ok(_) => tally.ok_read(started.elapsed()),
                Err(e) => tally.error(&OpError::from(e)),
            }
        }
    }
    if in_tx {
        commit(&conn, &mut pending, &mut tally)?;
    }
    Ok(tally)
}

fn commit(conn: &Connection, pending: &mut Vec<Instant>, tally: &mut Tally) -> anyhow::Result<()> {
    conn.execute_batch("COMMIT")?;
    let done = Instant::now();
    for started in pending.drain(..) {
        tally.ok_write(done.saturating_duration_since(started));
    }
    Ok(())
}
