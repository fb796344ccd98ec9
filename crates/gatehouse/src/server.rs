//! The one start-up: `gatehouse serve`, the tests and the fuzzing harness all make their
//! server here, so what a test runs is what an operator runs.
//!
//! Three steps, each usable alone: [`bind`] (the listener, and the configuration that names
//! the port it really got), [`prepare`] (a store that can sign: the first signing key is made
//! here), and [`run`] (serve until `shutdown`, sweeping expired rows and sending back-channel
//! logout notices meanwhile, then let in-flight requests finish and close the store).
//!
//! ```no_run
//! # async fn start(args: gatehouse::config::ServeArgs) -> anyhow::Result<()> {
//! use std::sync::Arc;
//! use gatehouse::{clock::SystemClock, server, store};
//!
//! let (listener, config) = server::bind(args).await?;
//! let store = store::open("sqlite://gatehouse.db").await?;
//! let state = server::prepare(store, config, Arc::new(SystemClock)).await?;
//! server::run(listener, state, std::future::pending()).await?;
//! # Ok(()) }
//! ```

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;

use crate::clock::Clock;
use crate::config::{Config, ServeArgs};
use crate::http::{AppState, app};
use crate::keyring;
use crate::store::Store;

/// How often expired codes, sessions and tokens are deleted.
const SWEEP_EVERY: Duration = Duration::from_secs(600);
/// How often the answers kept for refresh retries are cleared once their window has passed:
/// they hold live tokens (sealed), so they go within this time.
const RETRY_SWEEP_EVERY: Duration = Duration::from_secs(30);

/// Checks the configuration, then binds its address. With port 0 the system picks the port,
/// and the configuration (its default issuer) names the port it picked.
///
/// # Errors
/// A configuration that does not hold together (checked before anything is bound), or an
/// address that cannot be bound.
pub async fn bind(mut args: ServeArgs) -> anyhow::Result<(TcpListener, Config)> {
    Config::from_args(&args)?;
    let listener = TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("cannot listen on {}", args.listen))?;
    args.listen = listener.local_addr()?;
    Ok((listener, Config::from_args(&args)?))
}

/// The application's state over an open store, with a signing key for each algorithm that
/// signs now (the first start makes them).
///
/// # Errors
/// The store cannot be read or written, or a key cannot be made.
pub async fn prepare(
    store: Arc<dyn Store>,
    config: Config,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<AppState> {
    let created =
        keyring::ensure_active_keys(store.as_ref(), clock.now(), config.key_publish_period())
            .await?;
    for alg in created {
        tracing::info!(%alg, "created the first {alg} signing key");
    }
    Ok(AppState::new(store, config, clock))
}

/// Serves `state` on `listener` until `shutdown` completes, then lets in-flight requests
/// finish, and closes the store (queued writes done, the WAL checkpointed).
///
/// # Errors
/// The listener fails, or the store cannot be closed cleanly.
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let store = Arc::clone(&state.store);
    let http = crate::logout_sender::http_client()
        .context("preparing the HTTP client of back-channel logout")?;
    let sweeper = tokio::spawn(sweep_expired(
        Arc::clone(&store),
        Arc::clone(&state.clock),
        Arc::clone(&state.config),
    ));
    let sender = tokio::spawn(crate::logout_sender::run(state.clone(), http));
    let mail_sender = state.mailer.clone().map(|mailer| {
        let (store, clock) = (Arc::clone(&store), Arc::clone(&state.clock));
        let words = crate::http::notice_words(&state);
        // Said in the log at start, beside the sender (a check can take the send timeout).
        let checked = Arc::clone(&mailer);
        tokio::spawn(async move { checked.check().await });
        tokio::spawn(crate::mail::run(store, clock, mailer, words))
    });
    let served = axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("serving");
    sweeper.abort();
    // A notice being sent now stays in the outbox, and is sent again after the next start.
    sender.abort();
    // So does a message: sent again after the next start (its lease lapsed).
    if let Some(m) = mail_sender {
        m.abort();
    }
    store.close().await.context("closing the database")?;
    served
}

/// Deletes what expired, now and then, so the database does not grow without bound: expired
/// rows and audit records past their retention at start and every [`SWEEP_EVERY`], the answers
/// kept for refresh retries soon after their window. Several instances may sweep the same
/// database: the deletes are idempotent. The two run apart, so that a long sweep (the first
/// after an upgrade may have a year of records to delete, a batch at a time) never holds up
/// the retry answers past [`RETRY_SWEEP_EVERY`].
async fn sweep_expired(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Arc<Config>) {
    tokio::join!(
        forget_retry_answers(Arc::clone(&store), Arc::clone(&clock)),
        purge_expired(store, clock, config),
    );
}

async fn forget_retry_answers(store: Arc<dyn Store>, clock: Arc<dyn Clock>) {
    let mut retries = tokio::time::interval(RETRY_SWEEP_EVERY);
    loop {
        retries.tick().await;
        if let Err(e) = store.forget_retry_answers(clock.now()).await {
            tracing::warn!(error = %e, "clearing kept refresh answers failed; retrying later");
        }
    }
}

async fn purge_expired(store: Arc<dyn Store>, clock: Arc<dyn Clock>, config: Arc<Config>) {
    let mut expired = tokio::time::interval(SWEEP_EVERY);
    loop {
        expired.tick().await;
        match store.purge_expired(clock.now()).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(rows = n, "expired rows deleted"),
            Err(e) => tracing::warn!(error = %e, "the expiry sweep failed; retrying later"),
        }
        let cutoffs = config.audit_cutoffs(clock.now());
        if let Some(before) = cutoffs.all {
            match store.purge_audit(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(records = n, "audit records past their retention deleted"),
                Err(e) => tracing::warn!(error = %e, "the audit sweep failed; retrying later"),
            }
        }
        if let Some(before) = cutoffs.tokens_issued {
            match store.purge_token_audit(before).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(
                    records = n,
                    "records of tokens issued past their retention deleted"
                ),
                Err(e) => tracing::warn!(
                    error = %e,
                    "the audit sweep of tokens issued failed; retrying later"
                ),
            }
        }
    }
}
