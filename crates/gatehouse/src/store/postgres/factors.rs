//! Second factors: authenticator apps and recovery codes.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::audit::{append_audit, insert_audit};
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::auth::notices;
use crate::clock::UnixTime;
use crate::model::{AuditRecord, Factors, PasskeyView, TotpFactor};
use crate::store::{SecondFactors, StoreResult};

async fn load_factors(c: &mut PgConnection, user_id: &str) -> Result<Factors, sqlx::Error> {
    let (totp_enrolled_at, left): (Option<i64>, i64) = sqlx::query_as(
        "SELECT (SELECT created_at FROM totp_factor WHERE user_id = $1),
                (SELECT count(*) FROM recovery_code WHERE user_id = $1)",
    )
    .bind(user_id)
    .fetch_one(&mut *c)
    .await?;
    let passkeys = sqlx::query_as::<_, (String, String, i64, Option<i64>)>(
        "SELECT credential_id, name, created_at, last_used_at FROM passkey
         WHERE user_id = $1 ORDER BY created_at, credential_id",
    )
    .bind(user_id)
    .fetch_all(&mut *c)
    .await?
    .into_iter()
    .map(
        |(credential_id, name, created_at, last_used_at)| PasskeyView {
            credential_id,
            name,
            created_at,
            last_used_at,
        },
    )
    .collect();
    Ok(Factors {
        totp_enrolled_at,
        recovery_codes_left: u32::try_from(left).unwrap_or(u32::MAX),
        passkeys,
    })
}

async fn insert_recovery_codes(
    c: &mut PgConnection,
    user_id: &str,
    hashes: &[String],
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_code WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "INSERT INTO recovery_code (user_id, code_hash, created_at)
         SELECT $1, h, $3 FROM unnest($2::text[]) AS h ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(hashes)
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[async_trait]
impl SecondFactors for PgStore {
    async fn factors(&self, user_id: &str) -> StoreResult<Factors> {
        let mut c = self.pool.acquire().await.map_err(db_error)?;
        load_factors(&mut c, user_id).await.map_err(db_error)
    }

    async fn totp_factor(&self, user_id: &str) -> StoreResult<Option<TotpFactor>> {
        let row: Option<(String, Vec<u8>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT user_id, secret, created_at, last_step FROM totp_factor WHERE user_id = $1",
        )
        .bind(user_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(
            row.map(|(user_id, secret, created_at, last_step)| TotpFactor {
                user_id,
                secret,
                created_at,
                last_step,
            }),
        )
    }

    async fn claim_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        // One statement: of two claims of one step, the second waits on the row lock, then
        // re-reads `last_step` (READ COMMITTED re-checks the WHERE on the updated row) and
        // changes nothing.
        let done = sqlx::query(
            "UPDATE totp_factor SET last_step = $2
             WHERE user_id = $1 AND (last_step IS NULL OR last_step < $2)",
        )
        .bind(user_id)
        .bind(step)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn enrol_totp(
        &self,
        factor: TotpFactor,
        recovery_hashes: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<bool> {
        with_retrying_transaction(&self.pool, |c| {
            let (factor, hashes, audit) = (factor.clone(), recovery_hashes.clone(), audit.clone());
            Box::pin(async move {
                let added = sqlx::query(
                    "INSERT INTO totp_factor (user_id, secret, created_at, last_step)
                     VALUES ($1, $2, $3, $4) ON CONFLICT (user_id) DO NOTHING",
                )
                .bind(&factor.user_id)
                .bind(&factor.secret)
                .bind(factor.created_at)
                .bind(factor.last_step)
                .execute(&mut *c)
                .await?;
                if added.rows_affected() == 0 {
                    return Ok(false);
                }
                insert_recovery_codes(c, &factor.user_id, &hashes, factor.created_at).await?;
                insert_audit(&mut *c, &audit).await?;
                Ok(true)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn replace_totp(
        &self,
        factor: TotpFactor,
        recovery_hashes: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (factor, hashes, audit) = (factor.clone(), recovery_hashes.clone(), audit.clone());
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO totp_factor (user_id, secret, created_at, last_step)
                     VALUES ($1, $2, $3, $4)
                     ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
                         created_at = excluded.created_at, last_step = excluded.last_step",
                )
                .bind(&factor.user_id)
                .bind(&factor.secret)
                .bind(factor.created_at)
                .bind(factor.last_step)
                .execute(&mut *c)
                .await?;
                insert_recovery_codes(c, &factor.user_id, &hashes, factor.created_at).await?;
                insert_audit(&mut *c, &audit).await?;
                Ok(())
            })
        })
        .await
        .map_err(db_error)
    }

    async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        audit: AuditRecord,
    ) -> StoreResult<bool> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, code_hash, audit) =
                (user_id.to_owned(), code_hash.to_owned(), audit.clone());
            Box::pin(async move {
                let spent =
                    sqlx::query("DELETE FROM recovery_code WHERE user_id = $1 AND code_hash = $2")
                        .bind(&user_id)
                        .bind(&code_hash)
                        .execute(&mut *c)
                        .await?
                        .rows_affected()
                        == 1;
                if spent {
                    insert_audit(&mut *c, &audit).await?;
                }
                Ok(spent)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: Vec<String>,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, hashes, audit) = (user_id.to_owned(), hashes.clone(), audit.clone());
            Box::pin(async move {
                insert_recovery_codes(c, &user_id, &hashes, now).await?;
                insert_audit(&mut *c, &audit).await?;
                Ok(())
            })
        })
        .await
        .map_err(db_error)
    }

    async fn remove_totp(&self, user_id: &str, audit: AuditRecord) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, audit) = (user_id.to_owned(), audit.clone());
            Box::pin(async move {
                for sql in [
                    "DELETE FROM totp_factor WHERE user_id = $1",
                    "DELETE FROM recovery_code WHERE user_id = $1",
                ] {
                    sqlx::query(sql).bind(&user_id).execute(&mut *c).await?;
                }
                insert_audit(&mut *c, &audit).await?;
                Ok(())
            })
        })
        .await
        .map_err(db_error)
    }

    async fn remove_factors(&self, user_id: &str, audit: AuditRecord) -> StoreResult<Factors> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, audit) = (user_id.to_owned(), audit.clone());
            Box::pin(async move {
                let had = load_factors(c, &user_id).await?;
                sqlx::query("DELETE FROM totp_factor WHERE user_id = $1")
                    .bind(&user_id)
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM recovery_code WHERE user_id = $1")
                    .bind(&user_id)
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM passkey WHERE user_id = $1")
                    .bind(&user_id)
                    .execute(&mut *c)
                    .await?;
                if notices::removal_tells(&had) {
                    insert_audit(&mut *c, &audit).await?;
                } else {
                    append_audit(&mut *c, &audit).await?;
                }
                Ok(had)
            })
        })
        .await
        .map_err(db_error)
    }
}
