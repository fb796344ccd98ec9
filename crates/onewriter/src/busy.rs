//! Taking the write lock when another process may hold it.
//!
//! The writer never meets a busy lock from inside its own process: it is the only writer. But a
//! second process (an admin CLI, a backup tool, another server) may hold the lock, and so may
//! a checkpoint that must wait for readers. `BEGIN IMMEDIATE` takes the lock before anything
//! has run, so retrying it is always safe; nothing after it is ever retried.

use std::time::{Duration, Instant};

use rusqlite::Connection;

use crate::error::{Fail, is_busy};
use crate::stats::Counters;

/// First pause after a busy `BEGIN`; it doubles up to [`MAX_PAUSE`]. Short first pauses matter
/// because the usual holder is a checkpoint or a short transaction of another process.
const FIRST_PAUSE: Duration = Duration::from_micros(100);
const MAX_PAUSE: Duration = Duration::from_millis(10);

/// Runs `BEGIN IMMEDIATE`, retrying while another connection holds the write lock, for at most
/// `timeout`.
pub(crate) fn begin_immediate(
    conn: &Connection,
    timeout: Duration,
    counters: &Counters,
) -> Result<(), Fail> {
    let start = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut counted = false;
    loop {
        let err = match conn
            .prepare_cached("BEGIN IMMEDIATE")
            .and_then(|mut s| s.execute([]))
        {
            Ok(_) => return Ok(()),
            Err(e) => e,
        };
        if !is_busy(&err) {
            return Err(Fail::sqlite(err));
        }
        if !counted {
            Counters::add(&counters.busy_waits, 1);
            counted = true;
        }
        let waited = start.elapsed();
        if waited >= timeout {
            Counters::add(&counters.busy_timeouts, 1);
            return Err(Fail::Busy { waited });
        }
        std::thread::sleep(pause.min(timeout - waited));
        pause = (pause * 2).min(MAX_PAUSE);
    }
}
