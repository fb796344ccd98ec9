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

    /// Runs the closure and keeps its outcome; returns whether it succeeded. A write's closure
    /// may run again after its batch was rolled back; the last run's outcome is kept.
    fn run(&mut self, conn: &Connection) -> bool;

    /// Answers the caller: with `fail` if the transaction did not commit and the closure had
    /// succeeded (or never ran), otherwise with the closure's own outcome.
    fn answer(self: Box<Self>, fail: Option<&Fail>);
}

/// What a caller receives: its outcome, and the job itself, spent, so that the caller's thread
/// frees what it allocated (the job's box and, for a write, the closure with its captures)
/// rather than the worker's, where the allocator would hand the memory back across threads. A
/// read's closure runs once, by value: what it captured is dropped when it returns.
pub(crate) type Answer<T, E> = (Result<T, Error<E>>, Spent);

/// A job after its answer, to be dropped by the caller.
pub(crate) type Spent = Box<dyn Any + Send>;

pub(crate) type Reply<T, E> = oneshot::Receiver<Answer<T, E>>;

/// A caller's closure as a job calls it.
pub(crate) trait Body<T, E>: Send + 'static {
    /// Calls the closure; `None` if it cannot be called again.
    fn call(&mut self, conn: &Connection) -> Option<Result<T, E>>;
}

/// A closure that runs once: a read.
pub(crate) struct Once<F>(Option<F>);

impl<F, T, E> Body<T, E> for Once<F>
where
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
{
    fn call(&mut self, conn: &Connection) -> Option<Result<T, E>> {
        self.0.take().map(|f| f(conn))
    }
}

/// A closure the writer may run again, after rolling back the batch it ran in (see the
/// `writer` module): a write.
pub(crate) struct Repeatable<F>(F);

impl<F, T, E> Body<T, E> for Repeatable<F>
where
    F: Fn(&Connection) -> Result<T, E> + Send + 'static,
{
    fn call(&mut self, conn: &Connection) -> Option<Result<T, E>> {
        Some((self.0)(conn))
    }
}

pub(crate) struct ClosureJob<B, T, E> {
    envelope: Envelope,
    body: B,
    outcome: Option<Result<T, Error<E>>>,
    /// Taken when the answer is sent.
    reply: Option<oneshot::Sender<Answer<T, E>>>,
}

impl<B, T, E> ClosureJob<B, T, E>
where
    B: Body<T, E>,
    T: Send + 'static,
    E: Send + 'static,
{
    fn boxed(body: B, envelope: Envelope) -> (Box<dyn Job>, Reply<T, E>) {
        let (reply, rx) = oneshot::channel();
        let job = ClosureJob {
            envelope,
            body,
            outcome: None,
            reply: Some(reply),
        };
        (Box::new(job), rx)
    }
}

/// A job that runs `f` once, and the receiver its answer arrives on.
pub(crate) fn once<F, T, E>(f: F, envelope: Envelope) -> (Box<dyn Job>, Reply<T, E>)
where
    F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    ClosureJob::boxed(Once(Some(f)), envelope)
}

/// A job that runs `f` as many times as the writer needs, and the receiver its answer (the
/// last run's outcome) arrives on.
pub(crate) fn repeatable<F, T, E>(f: F, envelope: Envelope) -> (Box<dyn Job>, Reply<T, E>)
where
    F: Fn(&Connection) -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    ClosureJob::boxed(Repeatable(f), envelope)
}

impl<B, T, E> Job for ClosureJob<B, T, E>
where
    B: Body<T, E>,
    T: Send + 'static,
    E: Send + 'static,
{
    fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    fn cancelled(&self) -> bool {
        self.reply.as_ref().is_none_or(oneshot::Sender::is_closed)
    }

    fn run(&mut self, conn: &Connection) -> bool {
        // The closure's state is dropped with the job and the connection is rolled back to
        // before it ran, so nothing it touched is observed after a panic.
        let outcome = match catch_unwind(AssertUnwindSafe(|| self.body.call(conn))) {
            Ok(None) => return false,
            Ok(Some(Ok(v))) => Ok(v),
            Ok(Some(Err(e))) => Err(Error::Job(e)),
            Err(payload) => Err(Error::Panicked(panic_message(payload.as_ref()))),
        };
        let ok = outcome.is_ok();
        // A run again replaces the outcome of the run before it, which was rolled back.
        self.outcome = Some(outcome);
        ok
    }

    fn answer(mut self: Box<Self>, fail: Option<&Fail>) {
        let Some(reply) = self.reply.take() else {
            return;
        };
        let result = match (self.outcome.take(), fail) {
            (Some(Err(own)), _) => Err(own),
            (Some(Ok(v)), None) => Ok(v),
            (_, Some(fail)) => Err(fail.clone().into()),
            // Never ran and nothing failed: only reachable if the engine forgot to run it.
            (None, None) => Err(Error::Closed),
        };
        // The caller may have gone away; that is its right, not the worker's problem.
        let _ = reply.send((result, self));
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
