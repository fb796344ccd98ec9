//! The PostgreSQL store, for deployments that outgrow one machine: several gatehouse instances
//! share one database.
//!
//! Without SQLite's single writer, concurrent requests really run at once, so every decision
//! that a later write depends on is taken under a row lock (`SELECT … FOR UPDATE`) inside the
//! transaction that writes: two requests racing for one code or refresh token queue on its row,
//! and the second one reads what the first wrote. Transactions run through
//! [`with_retrying_transaction`], which retries the whole closure on a serialization failure or
//! a deadlock.

mod audit;
mod client_cache;
mod device;
mod directory;
mod email;
mod export;
mod factors;
mod grants;
mod groups;
mod keys;
mod login_throttle;
mod metrics;
mod migrations;
mod outbox;
mod passkeys;
mod pushed;
mod rows;
mod sessions;
mod signup;
mod transaction;

pub use transaction::with_retrying_transaction;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

use super::snapshot::Snapshot;
use super::{EngineMetric, Store, StoreError, StoreResult};
use crate::auth::username;
use crate::clock::UnixTime;
use crate::model::Named;

/// How long a request waits for a pooled connection before it is answered "temporarily
/// unavailable", as with SQLite's queue deadline.
pub(super) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per instance: enough to keep PostgreSQL busy, few enough that several
/// instances stay under its default `max_connections` of 100.
pub(super) const MAX_CONNECTIONS: u32 = 16;
/// How long a pooled connection may sit idle and still be handed out without a round trip to
/// check it.
const RECHECK_IDLE: Duration = Duration::from_secs(1);
/// Attempts of a transaction that keeps hitting serialization failures or deadlocks.
pub(super) const MAX_ATTEMPTS: u32 = 6;
/// Rows the expiry sweep deletes at most per statement.
pub(super) const PURGE_BATCH: i64 = 1000;

/// How many users of an earlier release are given their look-alike key at a time.
const LOOK_ALIKE_BATCH: i64 = 500;

pub struct PgStore {
    pool: PgPool,
    /// The clients kept between requests (`client_cache`), and what keeps them current.
    clients: Arc<client_cache::ClientCache>,
    listening: client_cache::Listening,
}

impl PgStore {
    /// Connects and applies migrations. Instances starting together are safe: the migrator
    /// takes an advisory lock.
    ///
    /// # Errors
    /// `UnsupportedUrl` for a malformed URL; `Unavailable` when the server cannot be reached;
    /// `Database` when a migration fails.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::UnsupportedUrl(format!("{url}: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            // sqlx checks a connection with a round trip when it goes back to the pool; by
            // default it checks it again with another when it is taken out, for every
            // transaction. Only one idle long enough to have lost its server (a restart, a
            // dropped link) is checked again.
            .test_before_acquire(false)
            .before_acquire(|c, meta| {
                Box::pin(async move {
                    if meta.idle_for >= RECHECK_IDLE {
                        sqlx::Connection::ping(c).await?;
                    }
                    Ok(true)
                })
            })
            .connect_with(options)
            .await
            .map_err(db_error)?;
        migrations::migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(Box::new(e)))?;
        let clients = Arc::new(client_cache::ClientCache::while_heard());
        let listening = client_cache::listen(pool.clone(), Arc::clone(&clients));
        let store = PgStore {
            pool,
            clients,
            listening: client_cache::Listening(listening),
        };
        store.fill_look_alike_keys().await?;
        Ok(store)
    }

    /// Gives each user stored by a release before look-alike keys were kept (migration 16)
    /// its key, computed here (`auth::username::stored_look_alike_key`), a batch at a time;
    /// nothing to do after the first start. Instances starting together give the same keys.
    /// How many were given one.
    async fn fill_look_alike_keys(&self) -> StoreResult<usize> {
        let mut filled = 0;
        loop {
            let batch: Vec<(String, String)> = sqlx::query_as(
                "SELECT id, username FROM user_account WHERE look_alike IS NULL LIMIT $1",
            )
            .bind(LOOK_ALIKE_BATCH)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
            if batch.is_empty() {
                return Ok(filled);
            }
            filled += batch.len();
            let (ids, keys): (Vec<String>, Vec<String>) = batch
                .into_iter()
                .map(|(id, name)| {
                    let key = username::stored_look_alike_key(&name);
                    (id, key)
                })
                .unzip();
            sqlx::query(
                "UPDATE user_account u SET look_alike = k.key
                 FROM unnest($1::text[], $2::text[]) AS k(id, key) WHERE u.id = k.id",
            )
            .bind(ids)
            .bind(keys)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        }
    }
}

impl PgStore {
    /// Runs `statement`, which changes at most a purge batch of rows (`$1` its parameter, `$2`
    /// the batch size), again and again until it changes nothing, so requests interleave with
    /// a long sweep. Returns the rows changed in all.
    async fn in_batches(&self, statement: &'static str, parameter: i64) -> StoreResult<usize> {
        let mut total = 0;
        loop {
            let changed = sqlx::query(statement)
                .bind(parameter)
                .bind(PURGE_BATCH)
                .execute(&self.pool)
                .await
                .map_err(db_error)?
                .rows_affected();
            total += usize::try_from(changed).unwrap_or(usize::MAX);
            if changed == 0 {
                return Ok(total);
            }
        }
    }
}

pub(super) fn db_error(e: sqlx::Error) -> StoreError {
    let code = match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            return StoreError::Unavailable(Box::new(e));
        }
        sqlx::Error::Database(db) => db.code().map(|c| c.into_owned()),
        _ => None,
    };
    match code.as_deref() {
        Some("23505") => {
            let constraint = match &e {
                sqlx::Error::Database(db) => db.constraint().unwrap_or("row").to_owned(),
                _ => "row".to_owned(),
            };
            StoreError::Conflict(Named::Other(constraint))
        }
        // Text PostgreSQL cannot hold (a NUL character; one outside the database's encoding):
        // the input's fault, refused like any malformed input.
        Some("22021" | "22P05") => StoreError::Unstorable(e.to_string()),
        // Disk full, or a read-only (standby) server: the operator's to fix.
        Some("53100" | "25006") => StoreError::Storage(Box::new(e)),
        // Too many connections, shutting down, cannot connect now: worth retrying later.
        Some(code)
            if code.starts_with("53") || code.starts_with("57P") || code.starts_with("08") =>
        {
            StoreError::Unavailable(Box::new(e))
        }
        _ => StoreError::Database(Box::new(e)),
    }
}

pub(super) fn conflict_as(what: Named) -> impl FnOnce(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        e => e,
    }
}

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        sqlx::query(
            "INSERT INTO heartbeat (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn backup(&self, _path: &std::path::Path) -> StoreResult<()> {
        Err(StoreError::Unsupported(
            "backup copies an SQLite file; for PostgreSQL use pg_dump, or gatehouse export".into(),
        ))
    }

    async fn close(&self) -> StoreResult<()> {
        // The listener holds a connection, which the pool's close waits for.
        self.listening.0.abort();
        self.pool.close().await;
        Ok(())
    }

    async fn export(&self, now: UnixTime) -> StoreResult<Snapshot> {
        self.export_snapshot(now).await
    }

    async fn import(&self, snapshot: Snapshot) -> StoreResult<()> {
        self.import_snapshot(snapshot).await
    }

    fn engine_metrics(&self) -> Vec<EngineMetric> {
        self.metrics()
    }
}
