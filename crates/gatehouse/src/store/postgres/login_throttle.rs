//! Login attempt counters, decided in `auth::throttle`.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::audit::insert_audit;
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::auth::throttle::{self, Admission, Counter, ThrottleKey, Unlocked};
use crate::clock::UnixTime;
use crate::model::AuditRecord;
use crate::store::{StoreResult, Throttle};

/// The counter of `key`, locked until the transaction ends. One statement inserts the row if
/// it is missing (`failures` 0 reads as "never failed") or locks it if it is there, so there is
/// always a row to lock: two first attempts on a new key cannot both see nothing, and an
/// attempt racing a success that deletes the row (`settle_login_success`) waits for it and
/// then inserts afresh. (An `INSERT … DO NOTHING` then `SELECT … FOR UPDATE` would find no row
/// at all in that race: the delete commits between the two statements.)
pub(super) async fn lock_counter(
    c: &mut PgConnection,
    key: &str,
) -> Result<Option<Counter>, sqlx::Error> {
    let (failures, last_failure_at, blocked_until): (i32, i64, i64) = sqlx::query_as(
        "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until)
         VALUES ($1, 0, 0, 0)
         ON CONFLICT (key) DO UPDATE SET key = excluded.key
         RETURNING failures, last_failure_at, blocked_until",
    )
    .bind(key)
    .fetch_one(&mut *c)
    .await?;
    Ok((failures > 0).then(|| Counter {
        failures: u32::try_from(failures).unwrap_or(0),
        last_failure_at,
        blocked_until,
    }))
}

/// A counter from its row's `failures`, `last_failure_at` and `blocked_until`.
fn counter((failures, last_failure_at, blocked_until): (i32, i64, i64)) -> Counter {
    Counter {
        failures: u32::try_from(failures).unwrap_or(0),
        last_failure_at,
        blocked_until,
    }
}

pub(super) async fn store_counter(
    c: &mut PgConnection,
    key: &str,
    counter: Option<Counter>,
) -> Result<(), sqlx::Error> {
    match counter {
        Some(n) => {
            sqlx::query(
                "UPDATE login_throttle SET failures = $2, last_failure_at = $3, blocked_until = $4
             WHERE key = $1",
            )
            .bind(key)
            .bind(i32::try_from(n.failures).unwrap_or(i32::MAX))
            .bind(n.last_failure_at)
            .bind(n.blocked_until)
            .execute(&mut *c)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                .bind(key)
                .execute(&mut *c)
                .await?
        }
    };
    Ok(())
}

/// Keys in one order for every transaction, so two attempts that count against the same keys
/// lock them in the same order and cannot deadlock.
pub(super) fn in_lock_order(mut keys: Vec<ThrottleKey>) -> Vec<ThrottleKey> {
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    keys
}

#[async_trait]
impl Throttle for PgStore {
    async fn admit_login_attempt(
        &self,
        keys: Vec<ThrottleKey>,
        now: UnixTime,
    ) -> StoreResult<Admission> {
        let keys = in_lock_order(keys);
        with_retrying_transaction(&self.pool, |c| {
            let keys = keys.clone();
            Box::pin(async move {
                let mut counters = Vec::with_capacity(keys.len());
                for k in &keys {
                    counters.push(lock_counter(&mut *c, &k.key).await?);
                }
                let loaded: Vec<_> = keys.iter().zip(counters).collect();
                let decision = throttle::admit(&loaded, now);
                if let Admission::Admitted(new) = &decision {
                    for (k, n) in keys.iter().zip(new) {
                        store_counter(&mut *c, &k.key, Some(*n)).await?;
                    }
                }
                Ok(decision)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn settle_login_success(&self, keys: Vec<ThrottleKey>) -> StoreResult<()> {
        let keys = in_lock_order(keys);
        with_retrying_transaction(&self.pool, |c| {
            let keys = keys.clone();
            Box::pin(async move {
                for k in &keys {
                    let counter = lock_counter(&mut *c, &k.key).await?;
                    store_counter(&mut *c, &k.key, throttle::settle_success(k, counter)).await?;
                }
                Ok(())
            })
        })
        .await
        .map_err(db_error)
    }

    async fn throttle_counters(&self, keys: Vec<String>) -> StoreResult<Vec<Counter>> {
        // A row with no failure is a lock's placeholder (`lock_counter`): no count.
        let rows: Vec<(i32, i64, i64)> = sqlx::query_as(
            "SELECT failures, last_failure_at, blocked_until FROM login_throttle
             WHERE key = ANY($1) AND failures > 0",
        )
        .bind(&keys)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(rows.into_iter().map(counter).collect())
    }

    async fn unlock_person(
        &self,
        keys: Vec<String>,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Unlocked> {
        with_retrying_transaction(&self.pool, |c| {
            let (keys, audit) = (keys.clone(), audit.clone());
            Box::pin(async move {
                // Deleted as read: an attempt counting meanwhile waits for this transaction,
                // then starts a new count. A row with no failure is a lock's placeholder.
                let rows: Vec<(i32, i64, i64)> = sqlx::query_as(
                    "DELETE FROM login_throttle WHERE key = ANY($1) AND failures > 0
                     RETURNING failures, last_failure_at, blocked_until",
                )
                .bind(&keys)
                .fetch_all(&mut *c)
                .await?;
                let counters: Vec<Counter> = rows.into_iter().map(counter).collect();
                let done = throttle::unlock(&counters, now);
                if done.forgotten {
                    insert_audit(&mut *c, &done.record(audit)).await?;
                }
                Ok(done)
            })
        })
        .await
        .map_err(db_error)
    }
}
