//! Jobs: a caller's closure, its reply channel and its timestamps, with the type erased so that
//! one queue carries every kind of closure.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Instant;

use rusqlite::Connection;
use tokio::sync::oneshot;

use crate::error::{Error, Fail};

/// What every job carries besides its closure.
pub(crate) struct Envelope {
    pub(crate) enqueued: Instant,
    pub(crate) deadline: Option<(Instant, std::time::Duration)>,
}

impl Envelope {
    /// The engine failure that stops this job before it starts, if any.
    pub(crate) fn expired(&self, now: Instant) -> Option<Fail> {
        match self.deadline {
            Some((at, deadline)) if now > at => Some(Fail::Overloaded { deadline }),
            _ => None,
        }
    }
}

/// A job as the worker threads see it.
pub(crate) trait Job: Send {
    fn envelope(&self) -> &Envelope;

    /// Whether the caller dropped its future, so the job must be skipped if it has not started.
    fn cancelled(&self) -> bool;

    /// Runs the closure once and keeps its outcome; returns whether it succeeded.
    fn run(&mut self, conn: &Connection) -> bool;

    /// Answers the caller: with `fail` if the transaction did not commit and the closure had
    /// succeeded (or never ran), otherwise with the closure's own outcome.
    fn answer(self: Box<Self>, fail: Option<&Fail>);
}

pub(crate) type Reply<T, E> = oneshot::Receiver<Result<T, Error<E>>>;

pub(crate) struct ClosureJob<F, T, E> {
    envelope: Envelope,
    f: Option<F>,
    outcome: Option<Result<T, Error<E>>>,
    reply: oneshot::Sender<Result<T, Error<E>>>,
}

impl<F, T, E> ClosureJob<F, T, E>
where
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    /// The job, ready for a queue, and the receiver its answer arrives on.
    pub(crate) fn boxed(f: F, envelope: Envelope) -> (Box<dyn Job>, Reply<T, E>) {
        let (reply, rx) = oneshot::channel();
        let job = ClosureJob {
            envelope,
            f: Some(f),
            outcome: None,
            reply,
        };
        (Box::new(job), rx)
    }
}

impl<F, T, E> Job for ClosureJob<F, T, E>
where
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    fn cancelled(&self) -> bool {
        self.reply.is_closed()
    }

    fn run(&mut self, conn: &Connection) -> bool {
        let Some(f) = self.f.take() else {
            return false;
        };
        // The closure's state is dropped with the job and the connection is rolled back to
        // before it ran, so nothing it touched is observed after a panic.
        let outcome = match catch_unwind(AssertUnwindSafe(|| f(conn))) {
            Ok(Ok(v)) => Ok(v),
            Ok(Err(e)) => Err(Error::Job(e)),
            Err(payload) => Err(Error::Panicked(panic_message(payload.as_ref()))),
        };
        let ok = outcome.is_ok();
        self.outcome = Some(outcome);
        ok
    }

    fn answer(self: Box<Self>, fail: Option<&Fail>) {
        let result = match (self.outcome, fail) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(v)), None) => Ok(v),
            (_, Some(fail)) => Err(fail.clone().into()),
            // Never ran and nothing failed: only reachable if the engine forgot to run it.
            (None, None) => Err(Error::Closed),
        };
        // The caller may have gone away; that is its right, not the worker's problem.
        let _ = self.reply.send(result);
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic with a non-string payload".to_owned()
    }
}

/// What travels on a worker's queue.
pub(crate) enum Msg {
    Job(Box<dyn Job>),
    /// Sent by `close()`: everything queued before it runs, nothing after it does.
    Shutdown,
}
