//! Second factors: authenticator apps and recovery codes.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, params};

use super::SqliteStore;
use super::audit::{append_audit, insert_audit};
use crate::auth::notices;
use crate::clock::UnixTime;
use crate::model::{AuditRecord, Factors, PasskeyView, TotpFactor};
use crate::store::{SecondFactors, StoreResult};

fn load_factors(c: &Connection, user_id: &str) -> rusqlite::Result<Factors> {
    let passkeys = c
        .prepare_cached(
            "SELECT credential_id, name, created_at, last_used_at FROM passkey
             WHERE user_id = ?1 ORDER BY created_at, credential_id",
        )?
        .query_map([user_id], |r| {
            Ok(PasskeyView {
                credential_id: r.get(0)?,
                name: r.get(1)?,
                created_at: r.get(2)?,
                last_used_at: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    c.prepare_cached(
        "SELECT (SELECT created_at FROM totp_factor WHERE user_id = ?1),
                (SELECT count(*) FROM recovery_code WHERE user_id = ?1)",
    )?
    .query_row([user_id], |r| {
        Ok(Factors {
            totp_enrolled_at: r.get(0)?,
            recovery_codes_left: r.get(1)?,
            passkeys,
        })
    })
}

fn insert_recovery_codes(
    tx: &Connection,
    user_id: &str,
    hashes: &[String],
    now: UnixTime,
) -> rusqlite::Result<()> {
    tx.prepare_cached("DELETE FROM recovery_code WHERE user_id = ?1")?
        .execute([user_id])?;
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO recovery_code (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)",
    )?;
    for h in hashes {
        insert.execute(params![user_id, h, now])?;
    }
    Ok(())
}

#[async_trait]
impl SecondFactors for SqliteStore {
    async fn factors(&self, user_id: &str) -> StoreResult<Factors> {
        let user_id = user_id.to_owned();
        self.read(move |c| load_factors(c, &user_id)).await
    }

    async fn totp_factor(&self, user_id: &str) -> StoreResult<Option<TotpFactor>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT user_id, secret, created_at, last_step FROM totp_factor WHERE user_id = ?1",
            )?
            .query_row([user_id], |r| {
                Ok(TotpFactor {
                    user_id: r.get(0)?,
                    secret: r.get(1)?,
                    created_at: r.get(2)?,
                    last_step: r.get(3)?,
                })
            })
            .optional()
        })
        .await
    }

    async fn claim_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool> {
        let user_id = user_id.to_owned();
        let changed = self
            .write(move |tx| {
                tx.prepare_cached(
                    "UPDATE totp_factor SET last_step = ?2
                     WHERE user_id = ?1 AND (last_step IS NULL OR last_step < ?2)",
                )?
                .execute(params![user_id, step])
            })
            .await?;
        Ok(changed == 1)
    }

    async fn enrol_totp(
        &self,
        factor: TotpFactor,
        recovery_hashes: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let added = tx
                .prepare_cached(
                    "INSERT INTO totp_factor (user_id, secret, created_at, last_step)
                     VALUES (?1, ?2, ?3, ?4) ON CONFLICT (user_id) DO NOTHING",
                )?
                .execute(params![
                    factor.user_id,
                    factor.secret,
                    factor.created_at,
                    factor.last_step
                ])?;
            if added == 0 {
                return Ok(false);
            }
            insert_recovery_codes(tx, &factor.user_id, &recovery_hashes, factor.created_at)?;
            insert_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn replace_totp(
        &self,
        factor: TotpFactor,
        recovery_hashes: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO totp_factor (user_id, secret, created_at, last_step)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id) DO UPDATE SET secret = excluded.secret,
                     created_at = excluded.created_at, last_step = excluded.last_step",
            )?
            .execute(params![
                factor.user_id,
                factor.secret,
                factor.created_at,
                factor.last_step
            ])?;
            insert_recovery_codes(tx, &factor.user_id, &recovery_hashes, factor.created_at)?;
            insert_audit(tx, &audit)?;
            Ok(())
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        audit: AuditRecord,
    ) -> StoreResult<bool> {
        let (user_id, code_hash) = (user_id.to_owned(), code_hash.to_owned());
        self.write(move |tx| {
            let spent = tx
                .prepare_cached("DELETE FROM recovery_code WHERE user_id = ?1 AND code_hash = ?2")?
                .execute(params![user_id, code_hash])?;
            if spent == 1 {
                insert_audit(tx, &audit)?;
            }
            Ok(spent == 1)
        })
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: Vec<String>,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.write(move |tx| {
            insert_recovery_codes(tx, &user_id, &hashes, now)?;
            insert_audit(tx, &audit)?;
            Ok(())
        })
        .await
    }

    async fn remove_totp(&self, user_id: &str, audit: AuditRecord) -> StoreResult<()> {
        let user_id = user_id.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM totp_factor WHERE user_id = ?1")?
                .execute([&user_id])?;
            tx.prepare_cached("DELETE FROM recovery_code WHERE user_id = ?1")?
                .execute([&user_id])?;
            insert_audit(tx, &audit)?;
            Ok(())
        })
        .await
    }

    async fn remove_factors(&self, user_id: &str, audit: AuditRecord) -> StoreResult<Factors> {
        let user_id = user_id.to_owned();
        self.write(move |tx| {
            let had = load_factors(tx, &user_id)?;
            tx.prepare_cached("DELETE FROM totp_factor WHERE user_id = ?1")?
                .execute([&user_id])?;
            tx.prepare_cached("DELETE FROM recovery_code WHERE user_id = ?1")?
                .execute([&user_id])?;
            tx.prepare_cached("DELETE FROM passkey WHERE user_id = ?1")?
                .execute([&user_id])?;
            if notices::removal_tells(&had) {
                insert_audit(tx, &audit)?;
            } else {
                append_audit(tx, &audit)?;
            }
            Ok(had)
        })
        .await
    }
}
