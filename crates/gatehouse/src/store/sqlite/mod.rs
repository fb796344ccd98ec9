//! The embedded store: one SQLite file served by onewriter.
//!
//! Reads go to `db.read`; every state change is one `db.write` closure, so each domain
//! operation is one transaction, and the reads that decide it run inside it, on the one writer
//! thread: two requests racing for the same code or refresh token are simply run one after the
//! other, and the second sees what the first did.

mod audit;
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
mod outbox;
mod passkeys;
mod pushed;
pub mod restore;
mod rows;
mod sessions;
mod signup;

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection};
use onewriter::{Db, Options, Synchronous};

use super::client_cache::{ClientCache, SQLITE_KEPT_FOR};
use super::snapshot::Snapshot;
use super::{EngineMetric, Store, StoreError, StoreResult};
use crate::auth::username;
use crate::clock::UnixTime;
use crate::model::Named;

pub(super) static MIGRATIONS: &[&str] = &[
    include_str!("../../../migrations/sqlite/0001_init.sql"),
    include_str!("../../../migrations/sqlite/0002_production.sql"),
    include_str!("../../../migrations/sqlite/0003_sessions_forms_keys.sql"),
    include_str!("../../../migrations/sqlite/0004_groups.sql"),
    include_str!("../../../migrations/sqlite/0005_profiles.sql"),
    include_str!("../../../migrations/sqlite/0006_clients.sql"),
    include_str!("../../../migrations/sqlite/0007_signing_algs.sql"),
    include_str!("../../../migrations/sqlite/0008_refresh_retry.sql"),
    include_str!("../../../migrations/sqlite/0009_backchannel_logout.sql"),
    include_str!("../../../migrations/sqlite/0010_access_token_format.sql"),
    include_str!("../../../migrations/sqlite/0011_device_authorization.sql"),
    include_str!("../../../migrations/sqlite/0012_second_factors.sql"),
    include_str!("../../../migrations/sqlite/0013_account_and_email.sql"),
    include_str!("../../../migrations/sqlite/0014_refresh_per_family.sql"),
    include_str!("../../../migrations/sqlite/0015_audit_by_kind.sql"),
    include_str!("../../../migrations/sqlite/0016_look_alike.sql"),
    include_str!("../../../migrations/sqlite/0017_mail_and_pushed_requests.sql"),
    include_str!("../../../migrations/sqlite/0018_client_keys.sql"),
    include_str!("../../../migrations/sqlite/0019_signed_requests.sql"),
    include_str!("../../../migrations/sqlite/0020_dpop.sql"),
    include_str!("../../../migrations/sqlite/0021_custom_claims.sql"),
    include_str!("../../../migrations/sqlite/0022_access_token_claims.sql"),
    include_str!("../../../migrations/sqlite/0023_access_tokens_in_issue_order.sql"),
    include_str!("../../../migrations/sqlite/0024_security_notices.sql"),
    include_str!("../../../migrations/sqlite/0025_session_browser.sql"),
    include_str!("../../../migrations/sqlite/0026_browsers_seen.sql"),
    include_str!("../../../migrations/sqlite/0027_pairwise_subjects.sql"),
    include_str!("../../../migrations/sqlite/0028_signup_links.sql"),
    include_str!("../../../migrations/sqlite/0029_signup_passkeys.sql"),
    include_str!("../../../migrations/sqlite/0030_application_logos.sql"),
    include_str!("../../../migrations/sqlite/0031_kept_sessions.sql"),
    include_str!("../../../migrations/sqlite/0032_confirmed_addresses.sql"),
    include_str!("../../../migrations/sqlite/0033_signup_domains.sql"),
    include_str!("../../../migrations/sqlite/0034_removal_notices.sql"),
    include_str!("../../../migrations/sqlite/0035_resource_indicators.sql"),
    include_str!("../../../migrations/sqlite/0036_api_introspection.sql"),
];

/// How many users of an earlier release are given their look-alike key at a time.
const LOOK_ALIKE_BATCH: i64 = 500;

/// How long a request waits for the database before it is answered "temporarily unavailable"
/// instead of queueing without bound.
pub(super) const DEADLINE: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    db: Db,
    /// The clients kept between requests (`store::client_cache`).
    clients: ClientCache,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    ///
    /// Durable by default: `synchronous=FULL`, so an acknowledged revocation survives a power
    /// cut; group commit keeps that cheap.
    ///
    /// # Errors
    /// When the file cannot be opened or created, is not a SQLite database, or a migration fails.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = Options::new()
            .synchronous(Synchronous::Full)
            .migrations(MIGRATIONS);
        let db = Db::open(path, options).await.map_err(engine_error)?;
        let store = SqliteStore {
            db: db.with_deadline(DEADLINE),
            clients: ClientCache::for_at_most(SQLITE_KEPT_FOR),
        };
        store.fill_look_alike_keys().await?;
        Ok(store)
    }

    /// Gives each user stored by a release before look-alike keys were kept (migration 16)
    /// its key, computed here (`auth::username::stored_look_alike_key`), a batch at a time;
    /// nothing to do after the first start. How many were given one.
    async fn fill_look_alike_keys(&self) -> StoreResult<usize> {
        let mut filled = 0;
        loop {
            let batch: Vec<(String, String)> = self
                .read(|c| {
                    c.prepare_cached(
                        "SELECT id, username FROM user_account WHERE look_alike IS NULL LIMIT ?1",
                    )?
                    .query_map([LOOK_ALIKE_BATCH], |r| Ok((r.get(0)?, r.get(1)?)))?
                    .collect()
                })
                .await?;
            if batch.is_empty() {
                return Ok(filled);
            }
            filled += batch.len();
            let keyed: Vec<(String, String)> = batch
                .into_iter()
                .map(|(id, name)| (id, username::stored_look_alike_key(&name)))
                .collect();
            self.write(move |tx| {
                for (id, key) in &keyed {
                    tx.prepare_cached("UPDATE user_account SET look_alike = ?2 WHERE id = ?1")?
                        .execute(onewriter::rusqlite::params![id, key])?;
                }
                Ok(())
            })
            .await?;
        }
    }

    /// The engine's statistics, for metrics.
    pub fn stats(&self) -> onewriter::Stats {
        self.db.stats()
    }

    /// What an acknowledged write survives: the database's `synchronous` setting.
    pub fn synchronous(&self) -> Synchronous {
        self.db.synchronous()
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.db.read(f).await.map_err(engine_error)
    }

    /// Runs `f` on the writer; it may run more than once (see `onewriter::Db::write`), so it
    /// works on what it captured by reference.
    async fn write<T: Send + 'static>(
        &self,
        f: impl Fn(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.db.write(f).await.map_err(engine_error)
    }

    /// Runs `batch`, a write that changes at most a purge batch of rows, each time in a
    /// transaction of its own until one changes nothing, so requests interleave with a long
    /// sweep. Returns the rows changed in all.
    async fn in_batches(
        &self,
        batch: impl Fn(&Connection) -> rusqlite::Result<usize> + Clone + Send + 'static,
    ) -> StoreResult<usize> {
        let mut total = 0;
        loop {
            let changed = self.write(batch.clone()).await?;
            total += changed;
            if changed == 0 {
                return Ok(total);
            }
        }
    }
}

/// `Conflict(what)` for a unique violation (the thing exists already), else the engine's error.
pub(super) fn conflict_as(what: Named) -> impl FnOnce(onewriter::Error) -> StoreError {
    move |e| {
        if is_unique_violation(&e) {
            StoreError::Conflict(what)
        } else {
            engine_error(e)
        }
    }
}

pub(super) fn engine_error(e: onewriter::Error) -> StoreError {
    let sqlite = match &e {
        onewriter::Error::Job(e) => Some(e),
        onewriter::Error::Sqlite(e) => Some(e.as_ref()),
        _ => None,
    };
    if sqlite.is_some_and(is_storage_failure) {
        return StoreError::Storage(Box::new(e));
    }
    match e {
        e @ (onewriter::Error::Busy { .. } | onewriter::Error::Overloaded { .. }) => {
            StoreError::Unavailable(Box::new(e))
        }
        e => StoreError::Database(Box::new(e)),
    }
}

/// A full disk, a file that cannot be written, a failing device: the operator's to fix, not a
/// fault of the request or of the program.
pub(super) fn is_storage_failure(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e.sqlite_error_code(),
        Some(DiskFull | ReadOnly | SystemIoFailure | CannotOpen)
    )
}

pub(super) fn is_unique_violation(e: &onewriter::Error) -> bool {
    matches!(e, onewriter::Error::Job(rusqlite::Error::SqliteFailure(f, _))
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        // A real write through the writer: a wedged writer, a read-only file or a full disk
        // shows here.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO heartbeat (id, at) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            )?
            .execute([now])
            .map(|_| ())
        })
        .await
    }

    async fn backup(&self, path: &Path) -> StoreResult<()> {
        self.db.backup(path).await.map_err(engine_error)
    }

    async fn close(&self) -> StoreResult<()> {
        self.db.close().await.map_err(engine_error)
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
