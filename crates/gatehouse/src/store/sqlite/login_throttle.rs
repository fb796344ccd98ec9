//! Login attempt counters, decided in `auth::throttle`.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, params};

use super::SqliteStore;
use super::audit::insert_audit;
use crate::auth::throttle::{self, Admission, Counter, ThrottleKey, Unlocked};
use crate::clock::UnixTime;
use crate::model::AuditRecord;
use crate::store::{StoreResult, Throttle};

/// The stored counter of `key`, inside the write transaction.
pub(super) fn load_counter(tx: &Connection, key: &str) -> rusqlite::Result<Option<Counter>> {
    tx.prepare_cached(
        "SELECT failures, last_failure_at, blocked_until FROM login_throttle WHERE key = ?1",
    )?
    .query_row([key], |r| {
        Ok(Counter {
            failures: r.get(0)?,
            last_failure_at: r.get(1)?,
            blocked_until: r.get(2)?,
        })
    })
    .optional()
}

pub(super) fn store_counter(
    tx: &Connection,
    key: &str,
    counter: Option<Counter>,
) -> rusqlite::Result<()> {
    match counter {
        Some(c) => tx
            .prepare_cached(
                "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                   last_failure_at = excluded.last_failure_at, blocked_until = excluded.blocked_until",
            )?
            .execute(params![key, c.failures, c.last_failure_at, c.blocked_until])?,
        None => tx
            .prepare_cached("DELETE FROM login_throttle WHERE key = ?1")?
            .execute([key])?,
    };
    Ok(())
}

#[async_trait]
impl Throttle for SqliteStore {
    async fn admit_login_attempt(
        &self,
        keys: Vec<ThrottleKey>,
        now: UnixTime,
    ) -> StoreResult<Admission> {
        self.write(move |tx| {
            let mut loaded = Vec::with_capacity(keys.len());
            for k in &keys {
                loaded.push((k, load_counter(tx, &k.key)?));
            }
            let decision = throttle::admit(&loaded, now);
            if let Admission::Admitted(counters) = &decision {
                for (k, c) in keys.iter().zip(counters) {
                    store_counter(tx, &k.key, Some(*c))?;
                }
            }
            Ok(decision)
        })
        .await
    }

    async fn settle_login_success(&self, keys: Vec<ThrottleKey>) -> StoreResult<()> {
        self.write(move |tx| {
            for k in &keys {
                let counter = load_counter(tx, &k.key)?;
                store_counter(tx, &k.key, throttle::settle_success(k, counter))?;
            }
            Ok(())
        })
        .await
    }

    async fn throttle_counters(&self, keys: Vec<String>) -> StoreResult<Vec<Counter>> {
        self.read(move |c| {
            let mut counters = Vec::with_capacity(keys.len());
            for key in &keys {
                counters.extend(load_counter(c, key)?);
            }
            Ok(counters)
        })
        .await
    }

    async fn unlock_person(
        &self,
        keys: Vec<String>,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Unlocked> {
        self.write(move |tx| {
            let mut counters = Vec::with_capacity(keys.len());
            for key in &keys {
                counters.extend(load_counter(tx, key)?);
            }
            let done = throttle::unlock(&counters, now);
            if done.forgotten {
                for key in &keys {
                    store_counter(tx, key, None)?;
                }
                insert_audit(tx, &done.record(audit.clone()))?;
            }
            Ok(done)
        })
        .await
    }
}
