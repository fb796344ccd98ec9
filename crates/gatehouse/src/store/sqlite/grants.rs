//! Authorization codes and tokens: loaded and locked here, decided in `oidc::grant`, applied here.

use std::net::IpAddr;

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, params};

use super::SqliteStore;
use super::audit::{insert_audit, insert_outcome_audit};
use super::rows::user_from;
use crate::clock::UnixTime;
use crate::model::{
    AccessGrant, Amr, AuditRecord, AuthorizationCode, ClientToken, CodeRequest, NewTokens,
    Redeemed, Revocation, RevokeReason, Rotated, TokenInfo, TokenKind,
};
use crate::oidc::grant::audit::{self, Requester};
use crate::oidc::grant::authorization_code::{self, CodeRow, NewFamily, Redemption};
use crate::oidc::grant::refresh_token::{self, RefreshRequest, RefreshRow, RetryRow, Rotation};
use crate::oidc::tokens;
use crate::store::columns::{USER_FIELDS, active_user_token, may_use_client, user_columns};
use crate::store::{Grants, StoreResult};

pub(super) fn revoke_family(
    tx: &Connection,
    family_id: &str,
    now: UnixTime,
    reason: RevokeReason,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE token_family SET revoked_at = ?2, revoked_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL",
    )?
    .execute(params![family_id, now, reason])?;
    Ok(())
}

pub(super) fn insert_tokens(
    tx: &Connection,
    family_id: &str,
    scope: &str,
    tokens: &NewTokens,
    now: UnixTime,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?
    .execute(params![tokens.access_token_hash, family_id, scope, now, tokens.access_expires_at])?;
    if let Some(refresh) = &tokens.refresh_token_hash {
        tx.prepare_cached(
            "INSERT INTO refresh_token (token_hash, family_id, scope, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![refresh, family_id, scope, now, tokens.refresh_expires_at])?;
    }
    Ok(())
}

const ACTIVE_ACCESS_TOKEN: &str =
    active_user_token!("access_token", "t.revoked_at IS NULL", "?1", "?2");
const ACTIVE_REFRESH_TOKEN: &str =
    active_user_token!("refresh_token", "t.rotated_at IS NULL", "?1", "?2");

fn active_user_token(
    c: &Connection,
    sql: &'static str,
    kind: TokenKind,
    token_hash: &str,
    now: UnixTime,
) -> rusqlite::Result<Option<TokenInfo>> {
    c.prepare_cached(sql)?
        .query_row(params![token_hash, now], |r| {
            Ok(TokenInfo {
                kind,
                scope: r.get(0)?,
                issued_at: r.get(1)?,
                expires_at: r.get(2)?,
                client_id: r.get(3)?,
                user: Some(user_from(r, 4)?),
            })
        })
        .optional()
}

/// The presented code, whether it was used, the family it made and its user.
fn load_code(tx: &Connection, code_hash: &str) -> rusqlite::Result<Option<CodeRow>> {
    tx.prepare_cached(concat!(
        "SELECT c.code_hash, c.client_id, c.user_id, c.redirect_uri, c.scope, c.nonce,
                c.code_challenge, c.auth_time, c.expires_at, c.used_at IS NOT NULL, c.family_id,
                c.session_id_hash, ",
        user_columns!(),
        ", ",
        may_use_client!("c.client_id", "c.user_id"),
        ", c.amr FROM authorization_code c JOIN user_account u ON u.id = c.user_id
         WHERE c.code_hash = ?1"
    ))?
    .query_row([code_hash], |r| {
        Ok(CodeRow {
            code: AuthorizationCode {
                code_hash: r.get(0)?,
                client_id: r.get(1)?,
                user_id: r.get(2)?,
                redirect_uri: r.get(3)?,
                scope: r.get(4)?,
                nonce: r.get(5)?,
                code_challenge: r.get(6)?,
                auth_time: r.get(7)?,
                amr: Amr::from_stored(&r.get::<_, String>(13 + USER_FIELDS)?),
                expires_at: r.get(8)?,
                session_id_hash: r.get(11)?,
            },
            used: r.get(9)?,
            family_id: r.get(10)?,
            user: user_from(r, 12)?,
            access_allowed: r.get(12 + USER_FIELDS)?,
        })
    })
    .optional()
}

/// The presented refresh token with its family, its user, and whether its session lives.
fn load_refresh(
    tx: &Connection,
    refresh_hash: &str,
    now: UnixTime,
) -> rusqlite::Result<Option<RefreshRow>> {
    tx.prepare_cached(concat!(
        "SELECT r.family_id, r.scope, r.expires_at, r.rotated_at IS NOT NULL,
                f.client_id, f.nonce, f.auth_time, f.revoked_at IS NOT NULL, ",
        user_columns!(),
        ", ",
        may_use_client!("f.client_id", "f.user_id"),
        ", f.session_id_hash IS NULL OR s.expires_at > ?2,
           r.retry_until, r.retry_sealed, n.rotated_at IS NOT NULL, n.scope, f.amr
         FROM refresh_token r
         JOIN token_family f ON f.id = r.family_id
         JOIN user_account u ON u.id = f.user_id
         LEFT JOIN session s ON s.id_hash = f.session_id_hash
         LEFT JOIN refresh_token n ON n.token_hash = r.successor_hash
         WHERE r.token_hash = ?1"
    ))?
    .query_row(params![refresh_hash, now], |r| {
        let at = 10 + USER_FIELDS;
        Ok(RefreshRow {
            family_id: r.get(0)?,
            scope: r.get(1)?,
            expires_at: r.get(2)?,
            rotated: r.get(3)?,
            client_id: r.get(4)?,
            nonce: r.get(5)?,
            auth_time: r.get(6)?,
            amr: Amr::from_stored(&r.get::<_, String>(at + 4)?),
            family_revoked: r.get(7)?,
            user: user_from(r, 8)?,
            // NULL when the session row is gone: not alive.
            session_alive: r.get::<_, Option<bool>>(9 + USER_FIELDS)?.unwrap_or(false),
            access_allowed: r.get(8 + USER_FIELDS)?,
            // Kept only while the window lasts and the successor row exists.
            retry: match (r.get(at)?, r.get(at + 1)?, r.get(at + 3)?) {
                (Some(until), Some(sealed), Some(successor_scope)) => Some(RetryRow {
                    until,
                    sealed,
                    successor_used: r.get(at + 2)?,
                    successor_scope,
                }),
                _ => None,
            },
        })
    })
    .optional()
}

pub(super) fn insert_family(
    tx: &Connection,
    family: &NewFamily,
    now: UnixTime,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at,
                                   session_id_hash, amr)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        family.id,
        family.client_id,
        family.user_id,
        family.nonce,
        family.auth_time,
        now,
        family.session_id_hash,
        family.amr.stored()
    ])?;
    Ok(())
}

#[async_trait]
impl Grants for SqliteStore {
    async fn create_authorization_code(&self, code: AuthorizationCode) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO authorization_code
                 (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time,
                  expires_at, session_id_hash, amr)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                code.code_hash,
                code.client_id,
                code.user_id,
                code.redirect_uri,
                code.scope,
                code.nonce,
                code.code_challenge,
                code.auth_time,
                code.expires_at,
                code.session_id_hash,
                code.amr.stored()
            ])
        })
        .await?;
        Ok(())
    }

    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        request: CodeRequest,
        new: NewTokens,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Redeemed> {
        let code_hash = code_hash.to_owned();
        self.write(move |tx| {
            let row = load_code(tx, &code_hash)?;
            let redeemed = match authorization_code::decide(row, &request, tokens::new_id(), now) {
                Redemption::Issue { family, grant } => {
                    insert_family(tx, &family, now)?;
                    insert_tokens(tx, &family.id, &grant.scope, &new, now)?;
                    tx.prepare_cached(
                        "UPDATE authorization_code SET used_at = ?2, family_id = ?3 WHERE code_hash = ?1",
                    )?
                    .execute(params![code_hash, now, family.id])?;
                    if let Some(session) = &grant.session_id_hash {
                        // Only while the session exists: one that ended has nobody to tell.
                        tx.prepare_cached(
                            "INSERT OR IGNORE INTO session_client (session_id_hash, client_id)
                             SELECT id_hash, ?2 FROM session WHERE id_hash = ?1",
                        )?
                        .execute(params![session, grant.client_id])?;
                    }
                    Redeemed::Issued(grant)
                }
                Redemption::Invalid => Redeemed::Invalid,
                Redemption::Denied => Redeemed::Denied,
                Redemption::Replayed { family } => {
                    if let Some(family) = family {
                        revoke_family(tx, &family, now, RevokeReason::CodeReplayed)?;
                    }
                    Redeemed::Replayed
                }
            };
            insert_outcome_audit(tx, audit::redemption(&redeemed, &Requester { at: now, client_id: &request.client_id, ip }))?;
            Ok(redeemed)
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        refresh_hash: &str,
        client_id: &str,
        scope: Option<String>,
        new: NewTokens,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Rotated> {
        let (refresh_hash, client_id) = (refresh_hash.to_owned(), client_id.to_owned());
        self.write(move |tx| {
            let row = load_refresh(tx, &refresh_hash, now)?;
            let request = RefreshRequest {
                client_id: &client_id,
                scope: scope.as_deref(),
            };
            let rotated = apply_rotation(
                tx,
                refresh_token::decide(row, request, now),
                &refresh_hash,
                &new,
                now,
            )?;
            let requester = Requester {
                at: now,
                client_id: &client_id,
                ip,
            };
            insert_outcome_audit(tx, audit::refresh(&rotated, &requester))?;
            Ok(rotated)
        })
        .await
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<AccessGrant>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            Ok(
                active_user_token(c, ACTIVE_ACCESS_TOKEN, TokenKind::Access, &token_hash, now)?
                    .and_then(|t| {
                        Some(AccessGrant {
                            user: t.user?,
                            client_id: t.client_id,
                            scope: t.scope,
                            expires_at: t.expires_at,
                        })
                    }),
            )
        })
        .await
    }

    async fn create_client_token(
        &self,
        token: ClientToken,
        record: AuditRecord,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            insert_audit(tx, &record)?;
            tx.prepare_cached(
                "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                token.token_hash,
                token.client_id,
                token.scope,
                token.created_at,
                token.expires_at
            ])
        })
        .await?;
        Ok(())
    }

    async fn introspect(&self, token_hash: &str, now: UnixTime) -> StoreResult<Option<TokenInfo>> {
        let token_hash = token_hash.to_owned();
        // One read job is one read transaction: the three lookups see one snapshot.
        self.read(move |c| {
            if let Some(t) =
                active_user_token(c, ACTIVE_ACCESS_TOKEN, TokenKind::Access, &token_hash, now)?
            {
                return Ok(Some(t));
            }
            if let Some(t) = active_user_token(
                c,
                ACTIVE_REFRESH_TOKEN,
                TokenKind::Refresh,
                &token_hash,
                now,
            )? {
                return Ok(Some(t));
            }
            c.prepare_cached(
                "SELECT scope, created_at, expires_at, client_id FROM client_token
                 WHERE token_hash = ?1 AND expires_at > ?2 AND revoked_at IS NULL",
            )?
            .query_row(params![token_hash, now], |r| {
                Ok(TokenInfo {
                    kind: TokenKind::Access,
                    scope: r.get(0)?,
                    issued_at: r.get(1)?,
                    expires_at: r.get(2)?,
                    client_id: r.get(3)?,
                    user: None,
                })
            })
            .optional()
        })
        .await
    }

    async fn revoke_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Revocation> {
        let (token_hash, client_id) = (token_hash.to_owned(), client_id.to_owned());
        self.write(move |tx| {
            // RFC 7009 §2.1: only the client the token was issued to may revoke it. The owner
            // check is part of each statement, so there is no window between check and change.
            let family: Option<String> = tx
                .prepare_cached(
                    "SELECT r.family_id FROM refresh_token r JOIN token_family f ON f.id = r.family_id
                     WHERE r.token_hash = ?1 AND f.client_id = ?2",
                )?
                .query_row([&token_hash, &client_id], |r| r.get(0))
                .optional()?;
            if let Some(family) = family {
                revoke_family(tx, &family, now, RevokeReason::RefreshRevoked)?;
                return Ok(Revocation::Family);
            }
            let access = tx
                .prepare_cached(
                    "UPDATE access_token SET revoked_at = ?3
                     WHERE token_hash = ?1 AND revoked_at IS NULL
                       AND family_id IN (SELECT id FROM token_family WHERE client_id = ?2)",
                )?
                .execute(params![token_hash, client_id, now])?
                + tx.prepare_cached(
                    "UPDATE client_token SET revoked_at = ?3
                     WHERE token_hash = ?1 AND client_id = ?2 AND revoked_at IS NULL",
                )?
                .execute(params![token_hash, client_id, now])?;
            Ok(if access > 0 {
                Revocation::Access
            } else {
                Revocation::NotFound
            })
        })
        .await
    }

    async fn forget_retry_answers(&self, now: UnixTime) -> StoreResult<usize> {
        self.in_batches(move |tx| {
            tx.prepare_cached(
                "UPDATE refresh_token SET retry_sealed = NULL, retry_until = NULL
                 WHERE rowid IN (SELECT rowid FROM refresh_token
                                 WHERE retry_sealed IS NOT NULL AND retry_until <= ?1
                                 LIMIT ?2)",
            )?
            .execute(params![now, PURGE_BATCH])
        })
        .await
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<usize> {
        // Each statement deletes at most PURGE_BATCH rows per transaction.
        self.in_batches(move |tx| {
                    let mut n = 0;
                    for sql in [
                        "DELETE FROM authorization_code WHERE rowid IN
                           (SELECT rowid FROM authorization_code WHERE expires_at <= ?1 LIMIT ?2)",
                        "DELETE FROM device_authorization WHERE device_code_hash IN
                           (SELECT device_code_hash FROM device_authorization
                            WHERE expires_at <= ?1 LIMIT ?2)",
                        "DELETE FROM session WHERE rowid IN
                           (SELECT rowid FROM session WHERE expires_at <= ?1 LIMIT ?2)",
                        "DELETE FROM access_token WHERE rowid IN
                           (SELECT rowid FROM access_token WHERE expires_at <= ?1 LIMIT ?2)",
                        "DELETE FROM client_token WHERE rowid IN
                           (SELECT rowid FROM client_token WHERE expires_at <= ?1 LIMIT ?2)",
                        "DELETE FROM refresh_token WHERE rowid IN
                           (SELECT rowid FROM refresh_token WHERE expires_at <= ?1 LIMIT ?2)",
                        "DELETE FROM login_throttle WHERE rowid IN
                           (SELECT rowid FROM login_throttle WHERE blocked_until <= ?1
                              AND last_failure_at <= ?1 - 86400 LIMIT ?2)",
                        "DELETE FROM webauthn_challenge WHERE id_hash IN
                           (SELECT id_hash FROM webauthn_challenge WHERE expires_at <= ?1 LIMIT ?2)",
                        "DELETE FROM email_token WHERE token_hash IN
                           (SELECT token_hash FROM email_token WHERE expires_at <= ?1 LIMIT ?2)",
                        // A sender gives a notice up after a day (backchannel::GIVE_UP_AFTER);
                        // one still here an hour later has no sender, e.g. its client lost
                        // its logout URI.
                        "DELETE FROM logout_notice WHERE id IN
                           (SELECT id FROM logout_notice WHERE created_at <= ?1 - 90000 LIMIT ?2)",
                    ] {
                        n += tx.prepare_cached(sql)?.execute(params![now, PURGE_BATCH])?;
                    }
                    // A family with no token left can issue nothing more. Codes that name it
                    // keep their replay detection until they expire (the FK sets NULL).
                    n += tx
                        .prepare_cached(
                            "DELETE FROM token_family WHERE id IN
                               (SELECT f.id FROM token_family f
                                WHERE NOT EXISTS (SELECT 1 FROM refresh_token r WHERE r.family_id = f.id)
                                  AND NOT EXISTS (SELECT 1 FROM access_token a WHERE a.family_id = f.id)
                                LIMIT ?1)",
                        )?
                        .execute([PURGE_BATCH])?;
                    Ok(n)
        })
        .await
    }
}

/// Applies a refresh decision in the caller's transaction.
fn apply_rotation(
    tx: &Connection,
    rotation: Rotation,
    refresh_hash: &str,
    new: &NewTokens,
    now: UnixTime,
) -> rusqlite::Result<Rotated> {
    match rotation {
        Rotation::Issue(grant) => {
            let retry = new.retry.as_ref();
            tx.prepare_cached(
                "UPDATE refresh_token SET rotated_at = ?2, successor_hash = ?3,
                     retry_sealed = ?4, retry_until = ?5
                 WHERE token_hash = ?1",
            )?
            .execute(params![
                refresh_hash,
                now,
                new.refresh_token_hash,
                retry.map(|r| &r.sealed),
                retry.map(|r| r.until)
            ])?;
            insert_tokens(tx, &grant.family_id, &grant.scope, new, now)?;
            Ok(Rotated::Issued(grant))
        }
        Rotation::Invalid => Ok(Rotated::Invalid),
        Rotation::ScopeExceeded => Ok(Rotated::ScopeExceeded),
        Rotation::Denied => Ok(Rotated::Denied),
        Rotation::Reuse { family } => {
            revoke_family(tx, &family, now, RevokeReason::RefreshReused)?;
            Ok(Rotated::Reused)
        }
        Rotation::Replay { sealed, scope } => Ok(Rotated::Retried { sealed, scope }),
    }
}

/// Rows the expiry sweep deletes at most per transaction, so it never holds the writer long.
pub(super) const PURGE_BATCH: i64 = 1000;
