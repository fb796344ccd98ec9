//! Signing keys and server secrets.

use async_trait::async_trait;
use sqlx::Row;

use super::audit::insert_outcome_audit;
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::clock::UnixTime;
use crate::model::{AuditRecord, Retirement, SigningKey};
use crate::store::{Keys, StoreResult};

#[async_trait]
impl Keys for PgStore {
    async fn signing_keys(&self, now: UnixTime) -> StoreResult<Vec<SigningKey>> {
        sqlx::query(
            "SELECT kid, alg, private_der, public_jwk, created_at, retired_at, publish_until,
                    COALESCE(signs_from, created_at)
             FROM signing_key WHERE publish_until IS NULL OR publish_until > $1
             ORDER BY created_at DESC, kid",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| {
                    Ok(SigningKey {
                        kid: r.try_get(0)?,
                        alg: r.try_get(1)?,
                        private_der: r.try_get(2)?,
                        public_jwk: r.try_get(3)?,
                        created_at: r.try_get(4)?,
                        retired_at: r.try_get(5)?,
                        publish_until: r.try_get(6)?,
                        signs_from: r.try_get(7)?,
                    })
                })
                .collect()
        })
        .map_err(db_error)
    }

    async fn rotate_signing_key(
        &self,
        key: SigningKey,
        retirement: Retirement,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (key, audit) = (key.clone(), audit.clone());
            Box::pin(async move {
                // Serialises concurrent rotations (two instances starting on an empty
                // database), so exactly one key is the newest.
                sqlx::query("LOCK TABLE signing_key IN SHARE ROW EXCLUSIVE MODE")
                    .execute(&mut *c)
                    .await?;
                match retirement {
                    Retirement::Gradual { published_until } => {
                        sqlx::query(
                            "UPDATE signing_key SET retired_at = $1, publish_until = $2
                             WHERE alg = $3 AND (retired_at IS NULL OR retired_at > $1)",
                        )
                        .bind(key.signs_from)
                        .bind(published_until)
                        .bind(key.alg)
                        .execute(&mut *c)
                        .await?
                    }
                    Retirement::Immediate => {
                        sqlx::query(
                            "UPDATE signing_key
                             SET retired_at = CASE WHEN retired_at IS NULL OR retired_at > $1
                                                   THEN $1 ELSE retired_at END,
                                 publish_until = $1
                             WHERE alg = $2 AND (publish_until IS NULL OR publish_until > $1)",
                        )
                        .bind(key.created_at)
                        .bind(key.alg)
                        .execute(&mut *c)
                        .await?
                    }
                };
                sqlx::query(
                    "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, signs_from)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&key.kid)
                .bind(key.alg)
                .bind(&key.private_der)
                .bind(&key.public_jwk)
                .bind(key.created_at)
                .bind(key.signs_from)
                .execute(&mut *c)
                .await?;
                insert_outcome_audit(&mut *c, audit).await
            })
        })
        .await
        .map_err(db_error)
    }

    async fn server_secret(
        &self,
        name: &str,
        candidate: Vec<u8>,
        now: UnixTime,
    ) -> StoreResult<Vec<u8>> {
        // Two instances starting at once may both insert: the first wins, and both read it.
        sqlx::query(
            "INSERT INTO server_secret (name, value, created_at) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(&candidate)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        sqlx::query_scalar("SELECT value FROM server_secret WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)
    }
}
