//! Taking the write lock when another process may hold it.
//!
//! Inside its own process the writer is the only writer, and the checkpointer truncates the WAL
//! only when the writer hands it over, so the lock is free but for a rare moment (SQLite lets a
//! reader that sees a torn wal-index header take it briefly). A second process (an admin CLI, a
//! backup tool, another server) may hold it for as long as it likes. `BEGIN IMMEDIATE` takes the
//! lock before anything has run, so retrying it is always safe; nothing after it is retried.

use std::time::{Duration, Instant};

use rusqlite::Statement;

use crate::error::{Fail, is_busy};
use crate::stats::Counters;

/// First pause after a busy `BEGIN`; it doubles up to [`MAX_PAUSE`]. Short first pauses matter
/// because the usual holder is a checkpoint or a short transaction of another process.
const FIRST_PAUSE: Duration = Duration::from_micros(100);
const MAX_PAUSE: Duration = Duration::from_millis(10);

/// Runs `begin` (a prepared `BEGIN IMMEDIATE`), retrying while another connection holds the
/// write lock, for at most `timeout`.
pub(crate) fn begin_immediate(
    begin: &mut Statement<'_>,
    timeout: Duration,
    counters: &Counters,
) -> Result<(), Fail> {
    let start = Instant::now();
    let mut pause = FIRST_PAUSE;
    let mut counted = false;
    loop {
        let err = match begin.execute([]) {
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
