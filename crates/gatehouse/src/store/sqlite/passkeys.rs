//! Passkeys and WebAuthn challenges.

use async_trait::async_trait;
use onewriter::rusqlite::{self, OptionalExtension, Row, params};

use super::SqliteStore;
use super::audit::insert_audit;
use super::rows::user_from;
use super::sessions::log_out_user;
use crate::auth::ways_in::{self, Removal, WaysIn};
use crate::clock::UnixTime;
use crate::model::{
    AuditRecord, Challenge, ChallengeKind, LoggedOut, PasskeyRemoval, RevokeReason, StoredPasskey,
    User,
};
use crate::store::columns::{NO_PASSWORD, user_columns};
use crate::store::{Passkeys, StoreResult};

const PASSKEY_COLUMNS: &str = "credential_id, user_id, name, data, created_at, last_used_at";

fn passkey_from(r: &Row<'_>) -> rusqlite::Result<StoredPasskey> {
    Ok(StoredPasskey {
        credential_id: r.get(0)?,
        user_id: r.get(1)?,
        name: r.get(2)?,
        data: r.get(3)?,
        created_at: r.get(4)?,
        last_used_at: r.get(5)?,
    })
}

/// What the user can sign in with, read in the caller's transaction (the writer's: nothing
/// else changes it meanwhile).
fn ways_in_of(tx: &rusqlite::Connection, user_id: &str) -> rusqlite::Result<WaysIn> {
    let password = tx
        .prepare_cached("SELECT password_hash != ?2 FROM user_account WHERE id = ?1")?
        .query_row(params![user_id, NO_PASSWORD], |r| r.get(0))
        .optional()?
        .unwrap_or(false);
    let passkeys: i64 = tx
        .prepare_cached("SELECT count(*) FROM passkey WHERE user_id = ?1")?
        .query_row([user_id], |r| r.get(0))?;
    Ok(WaysIn {
        password,
        passkeys: usize::try_from(passkeys).unwrap_or(0),
    })
}

/// Inserts `p`; with `or_nothing`, a credential id registered already inserts nothing (and the
/// answer is 0) where otherwise it fails the transaction.
pub(super) fn insert_passkey(
    tx: &rusqlite::Connection,
    p: &StoredPasskey,
    or_nothing: bool,
) -> rusqlite::Result<usize> {
    let statement = if or_nothing {
        "INSERT INTO passkey (credential_id, user_id, name, data, created_at, last_used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (credential_id) DO NOTHING"
    } else {
        "INSERT INTO passkey (credential_id, user_id, name, data, created_at, last_used_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
    };
    tx.prepare_cached(statement)?.execute(params![
        p.credential_id,
        p.user_id,
        p.name,
        p.data,
        p.created_at,
        p.last_used_at
    ])
}

#[async_trait]
impl Passkeys for SqliteStore {
    async fn passkeys(&self, user_id: &str) -> StoreResult<Vec<StoredPasskey>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {PASSKEY_COLUMNS} FROM passkey WHERE user_id = ?1
                 ORDER BY created_at, credential_id"
            ))?
            .query_map([user_id], passkey_from)?
            .collect()
        })
        .await
    }

    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<(StoredPasskey, User)>> {
        let credential_id = credential_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT p.credential_id, p.user_id, p.name, p.data, p.created_at, p.last_used_at, ",
                user_columns!(),
                " FROM passkey p JOIN user_account u ON u.id = p.user_id
                  WHERE p.credential_id = ?1"
            ))?
            .query_row([credential_id], |r| {
                Ok((passkey_from(r)?, user_from(r, 6)?))
            })
            .optional()
        })
        .await
    }

    async fn add_passkey(&self, p: StoredPasskey, audit: AuditRecord) -> StoreResult<bool> {
        self.write(move |tx| {
            let added = insert_passkey(tx, &p, true)?;
            if added == 1 {
                insert_audit(tx, &audit)?;
            }
            Ok(added == 1)
        })
        .await
    }

    async fn passkey_used(
        &self,
        credential_id: &str,
        data: String,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let credential_id = credential_id.to_owned();
        let changed = self
            .write(move |tx| {
                tx.prepare_cached(
                    "UPDATE passkey SET data = ?2, last_used_at = ?3 WHERE credential_id = ?1",
                )?
                .execute(params![credential_id, data, now])
            })
            .await?;
        Ok(changed == 1)
    }

    async fn remove_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        audit: AuditRecord,
    ) -> StoreResult<PasskeyRemoval> {
        let (user_id, credential_id) = (user_id.to_owned(), credential_id.to_owned());
        self.write(move |tx| {
            let theirs = tx
                .prepare_cached("SELECT 1 FROM passkey WHERE user_id = ?1 AND credential_id = ?2")?
                .exists(params![user_id, credential_id])?;
            if !theirs {
                return Ok(PasskeyRemoval::NotFound);
            }
            if !ways_in::may_remove(ways_in_of(tx, &user_id)?, Removal::Passkey) {
                return Ok(PasskeyRemoval::LastWayIn);
            }
            tx.prepare_cached("DELETE FROM passkey WHERE user_id = ?1 AND credential_id = ?2")?
                .execute(params![user_id, credential_id])?;
            insert_audit(tx, &audit)?;
            Ok(PasskeyRemoval::Removed)
        })
        .await
    }

    async fn remove_password(
        &self,
        user_id: &str,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Option<LoggedOut>> {
        let user_id = user_id.to_owned();
        self.write(move |tx| {
            if !ways_in::may_remove(ways_in_of(tx, &user_id)?, Removal::Password) {
                return Ok(None);
            }
            tx.prepare_cached("UPDATE user_account SET password_hash = ?2 WHERE id = ?1")?
                .execute(params![user_id, NO_PASSWORD])?;
            let out = log_out_user(tx, &user_id, now, RevokeReason::PasswordChanged)?;
            insert_audit(tx, &audit.clone().ended(&out))?;
            Ok(Some(out))
        })
        .await
    }

    async fn create_challenge(&self, c: Challenge) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO webauthn_challenge (id_hash, kind, user_id, state, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                c.id_hash,
                c.kind.as_str(),
                c.user_id,
                c.state,
                c.expires_at
            ])
        })
        .await?;
        Ok(())
    }

    async fn take_challenge(
        &self,
        id_hash: &str,
        kind: ChallengeKind,
        now: UnixTime,
    ) -> StoreResult<Option<Challenge>> {
        let id_hash = id_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached(
                "DELETE FROM webauthn_challenge WHERE id_hash = ?1 AND kind = ?2
                 RETURNING id_hash, user_id, state, expires_at",
            )?
            .query_row(params![id_hash, kind.as_str()], |r| {
                Ok(Challenge {
                    id_hash: r.get(0)?,
                    kind,
                    user_id: r.get(1)?,
                    state: r.get(2)?,
                    expires_at: r.get(3)?,
                })
            })
            .optional()
            .map(|c| c.filter(|c| c.expires_at > now))
        })
        .await
    }
}
