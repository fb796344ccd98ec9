//! Signing keys and server secrets.

use async_trait::async_trait;
use onewriter::rusqlite::params;

use super::SqliteStore;
use super::audit::insert_outcome_audit;
use crate::clock::UnixTime;
use crate::model::{AuditRecord, Retirement, SigningKey};
use crate::store::{Keys, StoreResult};

#[async_trait]
impl Keys for SqliteStore {
    async fn signing_keys(&self, now: UnixTime) -> StoreResult<Vec<SigningKey>> {
        self.read(move |c| {
            c.prepare_cached(
                "SELECT kid, alg, private_der, public_jwk, created_at, retired_at, publish_until,
                        COALESCE(signs_from, created_at)
                 FROM signing_key WHERE publish_until IS NULL OR publish_until > ?1
                 ORDER BY created_at DESC, kid",
            )?
            .query_map([now], |r| {
                Ok(SigningKey {
                    kid: r.get(0)?,
                    alg: r.get(1)?,
                    private_der: r.get(2)?,
                    public_jwk: r.get(3)?,
                    created_at: r.get(4)?,
                    retired_at: r.get(5)?,
                    publish_until: r.get(6)?,
                    signs_from: r.get(7)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn rotate_signing_key(
        &self,
        key: SigningKey,
        retirement: Retirement,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            match retirement {
                Retirement::Gradual { published_until } => tx.execute(
                    "UPDATE signing_key SET retired_at = ?1, publish_until = ?2
                     WHERE alg = ?3 AND (retired_at IS NULL OR retired_at > ?1)",
                    params![key.signs_from, published_until, key.alg],
                )?,
                Retirement::Immediate => tx.execute(
                    "UPDATE signing_key
                     SET retired_at = CASE WHEN retired_at IS NULL OR retired_at > ?1 THEN ?1
                                           ELSE retired_at END,
                         publish_until = ?1
                     WHERE alg = ?2 AND (publish_until IS NULL OR publish_until > ?1)",
                    params![key.created_at, key.alg],
                )?,
            };
            tx.execute(
                "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, signs_from)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    key.kid,
                    key.alg,
                    key.private_der,
                    key.public_jwk,
                    key.created_at,
                    key.signs_from
                ],
            )?;
            insert_outcome_audit(tx, audit.as_ref())
        })
        .await?;
        Ok(())
    }

    async fn server_secret(
        &self,
        name: &str,
        candidate: Vec<u8>,
        now: UnixTime,
    ) -> StoreResult<Vec<u8>> {
        let name = name.to_owned();
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO server_secret (name, value, created_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (name) DO NOTHING",
            )?
            .execute(params![&name, &candidate, now])?;
            tx.prepare_cached("SELECT value FROM server_secret WHERE name = ?1")?
                .query_row([&name], |r| r.get(0))
        })
        .await
    }
}
