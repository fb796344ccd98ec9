//! Passkeys and WebAuthn challenges.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::audit::insert_audit;
use super::directory::lock_name;
use super::rows::user_from;
use super::sessions::log_out_user;
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::auth::ways_in::{self, Removal, WaysIn};
use crate::clock::UnixTime;
use crate::model::{
    AuditRecord, Challenge, ChallengeKind, LoggedOut, PasskeyRemoval, RevokeReason, StoredPasskey,
    User,
};
use crate::store::columns::{NO_PASSWORD, user_columns};
use crate::store::{Passkeys, StoreResult};

fn passkey_from(r: &PgRow) -> Result<StoredPasskey, sqlx::Error> {
    Ok(StoredPasskey {
        credential_id: r.try_get(0)?,
        user_id: r.try_get(1)?,
        name: r.try_get(2)?,
        data: r.try_get(3)?,
        created_at: r.try_get(4)?,
        last_used_at: r.try_get(5)?,
    })
}

/// What the user can sign in with, read in the caller's transaction after locking their
/// account's row: every change to their ways in takes that lock first, so two at once are
/// judged one after the other (each would otherwise count the other's passkey as staying).
async fn ways_in_of(c: &mut PgConnection, user_id: &str) -> Result<WaysIn, sqlx::Error> {
    let password: Option<bool> =
        sqlx::query_scalar("SELECT password_hash <> $2 FROM user_account WHERE id = $1 FOR UPDATE")
            .bind(user_id)
            .bind(NO_PASSWORD)
            .fetch_optional(&mut *c)
            .await?;
    let passkeys: i64 = sqlx::query_scalar("SELECT count(*) FROM passkey WHERE user_id = $1")
        .bind(user_id)
        .fetch_one(&mut *c)
        .await?;
    Ok(WaysIn {
        password: password.unwrap_or(false),
        passkeys: usize::try_from(passkeys).unwrap_or(0),
    })
}

/// The key of the transaction's lock on the credential `credential_id` (`lock_name`): every
/// insert of a passkey holds it, and a sign-up holds it before it looks whether the passkey is
/// registered, so a passkey added at that moment is seen, or sees the sign-up's.
pub(super) fn passkey_lock(credential_id: &str) -> String {
    format!("passkey:{credential_id}")
}

/// Inserts `p`, under its credential's lock (`passkey_lock`); with `or_nothing`, a credential id
/// registered already inserts nothing (and the answer is 0) where otherwise it fails the
/// transaction.
pub(super) async fn insert_passkey(
    c: &mut PgConnection,
    p: &StoredPasskey,
    or_nothing: bool,
) -> Result<u64, sqlx::Error> {
    lock_name(&mut *c, &passkey_lock(&p.credential_id)).await?;
    let statement = if or_nothing {
        "INSERT INTO passkey (credential_id, user_id, name, data, created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (credential_id) DO NOTHING"
    } else {
        "INSERT INTO passkey (credential_id, user_id, name, data, created_at, last_used_at)
         VALUES ($1, $2, $3, $4, $5, $6)"
    };
    Ok(sqlx::query(statement)
        .bind(&p.credential_id)
        .bind(&p.user_id)
        .bind(&p.name)
        .bind(&p.data)
        .bind(p.created_at)
        .bind(p.last_used_at)
        .execute(&mut *c)
        .await?
        .rows_affected())
}

#[async_trait]
impl Passkeys for PgStore {
    async fn passkeys(&self, user_id: &str) -> StoreResult<Vec<StoredPasskey>> {
        sqlx::query(
            "SELECT credential_id, user_id, name, data, created_at, last_used_at FROM passkey
             WHERE user_id = $1 ORDER BY created_at, credential_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(passkey_from).collect())
        .map_err(db_error)
    }

    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<(StoredPasskey, User)>> {
        sqlx::query(concat!(
            "SELECT p.credential_id, p.user_id, p.name, p.data, p.created_at, p.last_used_at, ",
            user_columns!(),
            " FROM passkey p JOIN user_account u ON u.id = p.user_id
              WHERE p.credential_id = $1"
        ))
        .bind(credential_id)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| {
            r.as_ref()
                .map(|r| Ok((passkey_from(r)?, user_from(r, 6)?)))
                .transpose()
        })
        .map_err(db_error)
    }

    async fn add_passkey(&self, p: StoredPasskey, audit: AuditRecord) -> StoreResult<bool> {
        with_retrying_transaction(&self.pool, |c| {
            let (p, audit) = (p.clone(), audit.clone());
            Box::pin(async move {
                let added = insert_passkey(&mut *c, &p, true).await? == 1;
                if added {
                    insert_audit(&mut *c, &audit).await?;
                }
                Ok(added)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn passkey_used(
        &self,
        credential_id: &str,
        data: String,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let done =
            sqlx::query("UPDATE passkey SET data = $2, last_used_at = $3 WHERE credential_id = $1")
                .bind(credential_id)
                .bind(data)
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn remove_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        audit: AuditRecord,
    ) -> StoreResult<PasskeyRemoval> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, credential_id, audit) =
                (user_id.to_owned(), credential_id.to_owned(), audit.clone());
            Box::pin(async move {
                let ways = ways_in_of(&mut *c, &user_id).await?;
                let theirs = sqlx::query_scalar::<_, i32>(
                    "SELECT 1 FROM passkey WHERE user_id = $1 AND credential_id = $2",
                )
                .bind(&user_id)
                .bind(&credential_id)
                .fetch_optional(&mut *c)
                .await?
                .is_some();
                if !theirs {
                    return Ok(PasskeyRemoval::NotFound);
                }
                if !ways_in::may_remove(ways, Removal::Passkey) {
                    return Ok(PasskeyRemoval::LastWayIn);
                }
                sqlx::query("DELETE FROM passkey WHERE user_id = $1 AND credential_id = $2")
                    .bind(&user_id)
                    .bind(&credential_id)
                    .execute(&mut *c)
                    .await?;
                insert_audit(&mut *c, &audit).await?;
                Ok(PasskeyRemoval::Removed)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn remove_password(
        &self,
        user_id: &str,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Option<LoggedOut>> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, audit) = (user_id.to_owned(), audit.clone());
            Box::pin(async move {
                let ways = ways_in_of(&mut *c, &user_id).await?;
                if !ways_in::may_remove(ways, Removal::Password) {
                    return Ok(None);
                }
                sqlx::query("UPDATE user_account SET password_hash = $2 WHERE id = $1")
                    .bind(&user_id)
                    .bind(NO_PASSWORD)
                    .execute(&mut *c)
                    .await?;
                let out =
                    log_out_user(&mut *c, &user_id, now, RevokeReason::PasswordChanged).await?;
                insert_audit(&mut *c, &audit.ended(&out)).await?;
                Ok(Some(out))
            })
        })
        .await
        .map_err(db_error)
    }

    async fn create_challenge(&self, ch: Challenge) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO webauthn_challenge (id_hash, kind, user_id, state, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&ch.id_hash)
        .bind(ch.kind.as_str())
        .bind(&ch.user_id)
        .bind(&ch.state)
        .bind(ch.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        id_hash: &str,
        kind: ChallengeKind,
        now: UnixTime,
    ) -> StoreResult<Option<Challenge>> {
        let row: Option<(String, Option<String>, String, i64)> = sqlx::query_as(
            "DELETE FROM webauthn_challenge WHERE id_hash = $1 AND kind = $2
             RETURNING id_hash, user_id, state, expires_at",
        )
        .bind(id_hash)
        .bind(kind.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(row
            .map(|(id_hash, user_id, state, expires_at)| Challenge {
                id_hash,
                kind,
                user_id,
                state,
                expires_at,
            })
            .filter(|c| c.expires_at > now))
    }
}
