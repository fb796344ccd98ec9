//! Authorization codes and tokens: loaded and locked here, decided in `oidc::grant`, applied here.

use std::net::IpAddr;

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, params};

use super::SqliteStore;
use super::audit::{insert_audit, insert_outcome_audit};
use super::directory::take_once;
use super::rows::user_from;
use crate::auth::signup;
use crate::clock::UnixTime;
use crate::model::{
    AccessGrant, Amr, AuditRecord, AuthorizationCode, ClientToken, CodeRequest, Grant, NewTokens,
    OneTime, Redeemed, RefreshAsk, Revocation, RevokeReason, Rotated, TokenInfo, TokenKind,
    UsedBefore,
};
use crate::oidc::family_token::Presented;
use crate::oidc::grant::audit::{self, Requester};
use crate::oidc::grant::authorization_code::{self, CodeRow, NewFamily, Redemption};
use crate::oidc::grant::refresh_token::{
    self, PresentedState, RefreshRequest, RefreshRow, RetryRow, Rotation,
};
use crate::oidc::resource;
use crate::store::columns::{
    REFRESH_FAMILY_FIELDS, USER_FIELDS, active_user_token, family_token_columns, family_tokens,
    may_use_client, refresh_family_columns, user_columns,
};
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

/// Stores the access token, and the refresh token as its family's current one (the family
/// row exists); no previous token is kept. The family keeps the latest expiry of its access
/// tokens, which lets the sweep know when none is left (their table has no index by family).
pub(super) fn insert_tokens(
    tx: &Connection,
    grant: &Grant,
    tokens: &NewTokens,
    now: UnixTime,
) -> rusqlite::Result<()> {
    store_tokens(tx, grant, tokens, now, false)
}

/// As [`insert_tokens`]; `keep_previous`: the family's current token is the one this rotation
/// replaces, kept with the answer in `tokens.retry` for a retry (`oidc::retry`).
fn store_tokens(
    tx: &Connection,
    grant: &Grant,
    tokens: &NewTokens,
    now: UnixTime,
    keep_previous: bool,
) -> rusqlite::Result<()> {
    let (family_id, scope) = (&grant.family_id, &grant.scope);
    tx.prepare_cached(
        "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at, resources)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?
    .execute(params![
        tokens.access_token_hash,
        family_id,
        scope,
        now,
        tokens.access_expires_at,
        resource::column(&grant.resources)
    ])?;
    let Some(refresh) = &tokens.refresh_token_hash else {
        tx.prepare_cached(
            "UPDATE token_family SET access_expires_at = max(coalesce(access_expires_at, ?2), ?2)
             WHERE id = ?1",
        )?
        .execute(params![family_id, tokens.access_expires_at])?;
        return Ok(());
    };
    let retry = tokens.retry.as_ref().filter(|_| keep_previous);
    // The right-hand sides read the row as it was: the previous token is the one current
    // until now.
    tx.prepare_cached(
        "UPDATE token_family SET
             previous_hash = CASE WHEN ?6 IS NULL THEN NULL ELSE refresh_hash END,
             previous_scope = CASE WHEN ?6 IS NULL THEN NULL ELSE refresh_scope END,
             previous_expires_at = CASE WHEN ?6 IS NULL THEN NULL ELSE refresh_expires_at END,
             retry_sealed = ?6, retry_until = ?7,
             refresh_hash = ?2, refresh_scope = ?3, refresh_created_at = ?4,
             refresh_expires_at = ?5,
             access_expires_at = max(coalesce(access_expires_at, ?8), ?8)
         WHERE id = ?1",
    )?
    .execute(params![
        family_id,
        refresh,
        scope,
        now,
        tokens.refresh_expires_at,
        retry.map(|r| &r.sealed),
        retry.map(|r| r.until),
        tokens.access_expires_at
    ])?;
    Ok(())
}

const ACTIVE_ACCESS_TOKEN: &str = active_user_token!(
    "access_token",
    "t.resources",
    "t.revoked_at IS NULL",
    "?1",
    "?3"
);
const ACTIVE_REFRESH_TOKEN: &str = active_user_token!(
    "refresh_token",
    "CAST(NULL AS TEXT)",
    "t.rotated_at IS NULL",
    "?1",
    "?3"
);
const ACTIVE_FAMILY_REFRESH_TOKEN: &str = active_user_token!(family "?1", "?2", "?3");

/// A token `sql` finds by `keys` (its hash and, for the family format, its family; `?3` is
/// `now`).
fn active_user_token(
    c: &Connection,
    sql: &'static str,
    kind: TokenKind,
    keys: (&str, &str),
    now: UnixTime,
) -> rusqlite::Result<Option<TokenInfo>> {
    c.prepare_cached(sql)?
        .query_row(params![keys.0, keys.1, now], |r| {
            Ok(TokenInfo {
                kind,
                scope: r.get(0)?,
                issued_at: r.get(1)?,
                expires_at: r.get(2)?,
                client_id: r.get(3)?,
                user: Some(user_from(r, 4)?),
                resources: resource::split(r.get::<_, Option<String>>(4 + USER_FIELDS)?.as_deref()),
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
        ", c.amr, c.dpop_jkt, c.resources
         FROM authorization_code c JOIN user_account u ON u.id = c.user_id
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
                dpop_jkt: r.get(14 + USER_FIELDS)?,
                resources: resource::split(
                    r.get::<_, Option<String>>(15 + USER_FIELDS)?.as_deref(),
                ),
            },
            used: r.get(9)?,
            family_id: r.get(10)?,
            user: user_from(r, 12)?,
            access_allowed: r.get(12 + USER_FIELDS)?,
        })
    })
    .optional()
}

/// The family's part of a refresh decision (`refresh_family_columns!`, from column 0), with
/// the presented token's own state.
fn refresh_row(
    r: &rusqlite::Row<'_>,
    family_id: String,
    token: PresentedState,
) -> rusqlite::Result<RefreshRow> {
    Ok(RefreshRow {
        family_id,
        scope: token.scope,
        expires_at: token.expires_at,
        rotated: token.rotated,
        retry: token.retry,
        client_id: r.get(0)?,
        nonce: r.get(1)?,
        auth_time: r.get(2)?,
        family_revoked: r.get(3)?,
        user: user_from(r, 4)?,
        access_allowed: r.get(4 + USER_FIELDS)?,
        // NULL when the session row is gone: not alive.
        session_alive: r.get::<_, Option<bool>>(5 + USER_FIELDS)?.unwrap_or(false),
        amr: Amr::from_stored(&r.get::<_, String>(6 + USER_FIELDS)?),
        resources: resource::split(r.get::<_, Option<String>>(7 + USER_FIELDS)?.as_deref()),
        // NULL when the client is gone: its family is refused as another client's anyway.
        client_requires_confirmed_address: r
            .get::<_, Option<bool>>(8 + USER_FIELDS)?
            .unwrap_or(false),
        account_domains: signup::domains_from_column(
            &r.get::<_, Option<String>>(9 + USER_FIELDS)?
                .unwrap_or_default(),
        ),
    })
}

/// A token of the family format, judged by its family's row (`refresh_token::generation`).
fn load_family_refresh(
    tx: &Connection,
    family_id: &str,
    presented_hash: &str,
    now: UnixTime,
) -> rusqlite::Result<Option<RefreshRow>> {
    tx.prepare_cached(concat!(
        "SELECT ",
        refresh_family_columns!("?2"),
        ", ",
        family_token_columns!(),
        " FROM token_family f
         JOIN user_account u ON u.id = f.user_id
         LEFT JOIN session s ON s.id_hash = f.session_id_hash
         WHERE f.id = ?1"
    ))?
    .query_row(params![family_id, now], |r| {
        let at = REFRESH_FAMILY_FIELDS;
        let tokens = family_tokens((
            r.get(at)?,
            r.get(at + 1)?,
            r.get(at + 2)?,
            r.get(at + 3)?,
            r.get(at + 4)?,
            r.get(at + 5)?,
            r.get(at + 6)?,
            r.get(at + 7)?,
        ));
        refresh_row(
            r,
            family_id.to_owned(),
            refresh_token::generation(&tokens, presented_hash),
        )
    })
    .optional()
}

/// A refresh token of an earlier release, by its own row. Its successor is the family's
/// current token (of the family format) or, for a rotation made before the upgrade, a row of
/// its own: either tells whether it was used since.
fn load_legacy_refresh(
    tx: &Connection,
    refresh_hash: &str,
    now: UnixTime,
) -> rusqlite::Result<Option<RefreshRow>> {
    tx.prepare_cached(concat!(
        "SELECT ",
        refresh_family_columns!("?2"),
        ", r.family_id, r.scope, r.expires_at, r.rotated_at IS NOT NULL, r.retry_until,
           r.retry_sealed,
           CASE WHEN n.token_hash IS NOT NULL THEN n.rotated_at IS NOT NULL
                ELSE f.refresh_hash IS NOT r.successor_hash END,
           COALESCE(n.scope, f.refresh_scope)
         FROM refresh_token r
         JOIN token_family f ON f.id = r.family_id
         JOIN user_account u ON u.id = f.user_id
         LEFT JOIN session s ON s.id_hash = f.session_id_hash
         LEFT JOIN refresh_token n ON n.token_hash = r.successor_hash
         WHERE r.token_hash = ?1"
    ))?
    .query_row(params![refresh_hash, now], |r| {
        let at = REFRESH_FAMILY_FIELDS;
        // Kept only while the window lasts and the successor is known.
        let retry = match (r.get(at + 4)?, r.get(at + 5)?, r.get(at + 7)?) {
            (Some(until), Some(sealed), Some(successor_scope)) => Some(RetryRow {
                until,
                sealed,
                successor_used: r.get(at + 6)?,
                successor_scope,
            }),
            _ => None,
        };
        let token = PresentedState {
            scope: r.get(at + 1)?,
            expires_at: r.get(at + 2)?,
            rotated: r.get(at + 3)?,
            retry,
        };
        refresh_row(r, r.get(at)?, token)
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
                                   session_id_hash, amr, resources)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        family.id,
        family.client_id,
        family.user_id,
        family.nonce,
        family.auth_time,
        now,
        family.session_id_hash,
        family.amr.stored(),
        resource::column(&family.resources)
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
                  expires_at, session_id_hash, amr, dpop_jkt, resources)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
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
                code.amr.stored(),
                code.dpop_jkt,
                resource::column(&code.resources)
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
    ) -> StoreResult<Result<Redeemed, UsedBefore>> {
        let code_hash = code_hash.to_owned();
        self.write(move |tx| {
            if let Err(used) = take_once(tx, &request.client_id, &new.once, now)? {
                return Ok(Err(used));
            }
            let row = load_code(tx, &code_hash)?;
            let redeemed = match authorization_code::decide(row, &request, new.family_id.clone(), now) {
                Redemption::Issue { family, grant } => {
                    insert_family(tx, &family, now)?;
                    insert_tokens(tx, &grant, &new, now)?;
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
                Redemption::Denied { username } => Redeemed::Denied { username },
                Redemption::OutOfTarget => Redeemed::OutOfTarget,
                Redemption::Replayed { family, username } => {
                    if let Some(family) = family {
                        revoke_family(tx, &family, now, RevokeReason::CodeReplayed)?;
                    }
                    Redeemed::Replayed { username }
                }
            };
            insert_outcome_audit(tx, audit::redemption(&redeemed, &Requester { at: now, client_id: &request.client_id, ip }).as_ref())?;
            Ok(Ok(redeemed))
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        presented: &Presented,
        client_id: &str,
        asked: RefreshAsk,
        new: NewTokens,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Result<Rotated, UsedBefore>> {
        let (presented, client_id) = (presented.clone(), client_id.to_owned());
        self.write(move |tx| {
            if let Err(used) = take_once(tx, &client_id, &new.once, now)? {
                return Ok(Err(used));
            }
            let row = match &presented.family_id {
                Some(family) => load_family_refresh(tx, family, &presented.hash, now)?,
                None => load_legacy_refresh(tx, &presented.hash, now)?,
            };
            let request = RefreshRequest {
                client_id: &client_id,
                scope: asked.scope.as_deref(),
                resources: &asked.resources,
            };
            let rotated = apply_rotation(
                tx,
                refresh_token::decide(row, request, now),
                &presented,
                &new,
                now,
            )?;
            let requester = Requester {
                at: now,
                client_id: &client_id,
                ip,
            };
            insert_outcome_audit(tx, audit::refresh(&rotated, &requester).as_ref())?;
            Ok(Ok(rotated))
        })
        .await
    }

    async fn refresh_token_family(&self, token_hash: &str) -> StoreResult<Option<String>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT family_id FROM refresh_token WHERE token_hash = ?1")?
                .query_row([token_hash], |r| r.get(0))
                .optional()
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
            Ok(active_user_token(
                c,
                ACTIVE_ACCESS_TOKEN,
                TokenKind::Access,
                (&token_hash, ""),
                now,
            )?
            .and_then(|t| {
                Some(AccessGrant {
                    user: t.user?,
                    client_id: t.client_id,
                    scope: t.scope,
                    expires_at: t.expires_at,
                    resources: t.resources,
                })
            }))
        })
        .await
    }

    async fn create_client_token(
        &self,
        token: ClientToken,
        once: Vec<OneTime>,
        record: AuditRecord,
    ) -> StoreResult<Result<(), UsedBefore>> {
        self.write(move |tx| {
            if let Err(used) = take_once(tx, &token.client_id, &once, record.at)? {
                return Ok(Err(used));
            }
            insert_audit(tx, &record)?;
            tx.prepare_cached(
                "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at,
                                           resources)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                token.token_hash,
                token.client_id,
                token.scope,
                token.created_at,
                token.expires_at,
                resource::column(&token.resources)
            ])?;
            Ok(Ok(()))
        })
        .await
    }

    async fn introspect(
        &self,
        presented: &Presented,
        now: UnixTime,
    ) -> StoreResult<Option<TokenInfo>> {
        let presented = presented.clone();
        // One read job is one read transaction: the lookups see one snapshot.
        self.read(move |c| {
            let token_hash = presented.hash;
            if let Some(family) = presented.family_id {
                return active_user_token(
                    c,
                    ACTIVE_FAMILY_REFRESH_TOKEN,
                    TokenKind::Refresh,
                    (&family, &token_hash),
                    now,
                );
            }
            if let Some(t) = active_user_token(
                c,
                ACTIVE_ACCESS_TOKEN,
                TokenKind::Access,
                (&token_hash, ""),
                now,
            )? {
                return Ok(Some(t));
            }
            if let Some(t) = active_user_token(
                c,
                ACTIVE_REFRESH_TOKEN,
                TokenKind::Refresh,
                (&token_hash, ""),
                now,
            )? {
                return Ok(Some(t));
            }
            c.prepare_cached(
                "SELECT scope, created_at, expires_at, client_id, resources FROM client_token
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
                    resources: resource::split(r.get::<_, Option<String>>(4)?.as_deref()),
                })
            })
            .optional()
        })
        .await
    }

    async fn revoke_token(
        &self,
        presented: &Presented,
        client_id: &str,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Revocation> {
        let (presented, client_id) = (presented.clone(), client_id.to_owned());
        self.write(move |tx| {
            let outcome = revoke(tx, &presented, &client_id, now)?;
            let requester = Requester {
                at: now,
                client_id: &client_id,
                ip,
            };
            insert_outcome_audit(tx, audit::revocation(outcome, &requester).as_ref())?;
            Ok(outcome)
        })
        .await
    }

    async fn forget_retry_answers(&self, now: UnixTime) -> StoreResult<usize> {
        self.in_batches(move |tx| {
            // Once forgotten, the token before the current one is an older generation like
            // any other: presented again, it is reuse.
            Ok(tx
                .prepare_cached(
                    "UPDATE token_family SET previous_hash = NULL, previous_scope = NULL,
                         previous_expires_at = NULL, retry_sealed = NULL, retry_until = NULL
                     WHERE rowid IN (SELECT rowid FROM token_family
                                     WHERE retry_sealed IS NOT NULL AND retry_until <= ?1
                                     LIMIT ?2)",
                )?
                .execute(params![now, PURGE_BATCH])?
                + tx.prepare_cached(
                    "UPDATE refresh_token SET retry_sealed = NULL, retry_until = NULL
                     WHERE rowid IN (SELECT rowid FROM refresh_token
                                     WHERE retry_sealed IS NOT NULL AND retry_until <= ?1
                                     LIMIT ?2)",
                )?
                .execute(params![now, PURGE_BATCH])?)
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
                        "DELETE FROM access_token WHERE token_hash IN
                           (SELECT token_hash FROM access_token WHERE expires_at <= ?1 LIMIT ?2)",
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
                        "DELETE FROM pushed_request WHERE request_uri_hash IN
                           (SELECT request_uri_hash FROM pushed_request
                            WHERE expires_at <= ?1 LIMIT ?2)",
                        "DELETE FROM client_assertion WHERE rowid IN
                           (SELECT rowid FROM client_assertion WHERE expires_at <= ?1 LIMIT ?2)",
                        // A sender gives a notice up after a day (backchannel::GIVE_UP_AFTER);
                        // one still here an hour later has no sender, e.g. its client lost
                        // its logout URI.
                        "DELETE FROM logout_notice WHERE id IN
                           (SELECT id FROM logout_notice WHERE created_at <= ?1 - 90000 LIMIT ?2)",
                        // A sender gives a security notice up by its expiry (mail::settle); one
                        // still here an hour later has no sender: no mail server is set up.
                        "DELETE FROM security_notice WHERE id IN
                           (SELECT id FROM security_notice WHERE expires_at <= ?1 - 3600 LIMIT ?2)",
                        // A browser unused for 400 days lost its cookie (it lasts a year from
                        // a sign-in).
                        "DELETE FROM known_browser WHERE (user_id, browser_hash) IN
                           (SELECT user_id, browser_hash FROM known_browser
                            WHERE last_seen_at <= ?1 - 34560000 LIMIT ?2)",
                    ] {
                        n += tx.prepare_cached(sql)?.execute(params![now, PURGE_BATCH])?;
                    }
                    // A sign-up link is listed for a while after it expired
                    // (`auth::signup::KEPT_AFTER_EXPIRY`); its groups go with it.
                    n += tx
                        .prepare_cached(
                            "DELETE FROM signup_link WHERE id IN
                               (SELECT id FROM signup_link WHERE expires_at <= ?1 LIMIT ?2)",
                        )?
                        .execute(params![
                            now - crate::auth::signup::KEPT_AFTER_EXPIRY,
                            PURGE_BATCH
                        ])?;
                    // A family with no token left can issue nothing more: its current refresh
                    // token expired, no token of an earlier release is left, and its last
                    // access token expired. Then its older tokens are unknown, as expired ones
                    // are, and so are its access tokens not yet swept. Codes that name it keep
                    // their replay detection until they expire (the FK sets NULL).
                    n += tx
                        .prepare_cached(
                            "DELETE FROM token_family WHERE id IN
                               (SELECT f.id FROM token_family f
                                WHERE (f.refresh_expires_at IS NULL OR f.refresh_expires_at <= ?1)
                                  AND NOT EXISTS (SELECT 1 FROM refresh_token r WHERE r.family_id = f.id)
                                  AND (f.access_expires_at IS NULL OR f.access_expires_at <= ?1)
                                LIMIT ?2)",
                        )?
                        .execute(params![now, PURGE_BATCH])?;
                    Ok(n)
        })
        .await
    }
}

/// Revokes what `presented` names if `client_id` owns it (RFC 7009 §2.1).
fn revoke(
    tx: &Connection,
    presented: &Presented,
    client_id: &str,
    now: UnixTime,
) -> rusqlite::Result<Revocation> {
    let token_hash = &presented.hash;
    // RFC 7009 §2.1: only the client the token was issued to may revoke it. The owner
    // check is part of each statement, so there is no window between check and change.
    // A token of the family format names its family (its MAC verified), whichever
    // generation it is; one of an earlier release is found by its hash.
    let family: Option<String> = match &presented.family_id {
        Some(family) => tx
            .prepare_cached("SELECT id FROM token_family WHERE id = ?1 AND client_id = ?2")?
            .query_row(params![family, client_id], |r| r.get(0))
            .optional()?,
        None => tx
            .prepare_cached(
                "SELECT r.family_id FROM refresh_token r JOIN token_family f ON f.id = r.family_id
                     WHERE r.token_hash = ?1 AND f.client_id = ?2",
            )?
            .query_row(params![token_hash, client_id], |r| r.get(0))
            .optional()?,
    };
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
}

/// Applies a refresh decision in the caller's transaction.
fn apply_rotation(
    tx: &Connection,
    rotation: Rotation,
    presented: &Presented,
    new: &NewTokens,
    now: UnixTime,
) -> rusqlite::Result<Rotated> {
    match rotation {
        // New tokens go only into the family they were minted for.
        Rotation::Issue(grant) if grant.family_id != new.family_id => Ok(Rotated::Invalid),
        Rotation::Issue(grant) => {
            if presented.family_id.is_none() {
                // A token of an earlier release: its row records the rotation, its successor
                // and the answer for a retry.
                let retry = new.retry.as_ref();
                tx.prepare_cached(
                    "UPDATE refresh_token SET rotated_at = ?2, successor_hash = ?3,
                         retry_sealed = ?4, retry_until = ?5
                     WHERE token_hash = ?1",
                )?
                .execute(params![
                    presented.hash,
                    now,
                    new.refresh_token_hash,
                    retry.map(|r| &r.sealed),
                    retry.map(|r| r.until)
                ])?;
            }
            let keep_previous = presented.family_id.is_some();
            store_tokens(tx, &grant, new, now, keep_previous)?;
            Ok(Rotated::Issued(grant))
        }
        Rotation::Invalid => Ok(Rotated::Invalid),
        Rotation::ScopeExceeded => Ok(Rotated::ScopeExceeded),
        Rotation::TargetExceeded => Ok(Rotated::TargetExceeded),
        Rotation::Denied { username } => Ok(Rotated::Denied { username }),
        Rotation::Unconfirmed { username } => Ok(Rotated::Unconfirmed { username }),
        Rotation::Reuse { family, username } => {
            revoke_family(tx, &family, now, RevokeReason::RefreshReused)?;
            Ok(Rotated::Reused { username })
        }
        Rotation::Replay { sealed, scope } => Ok(Rotated::Retried { sealed, scope }),
    }
}

/// Rows the expiry sweep deletes at most per transaction, so it never holds the writer long.
pub(super) const PURGE_BATCH: i64 = 1000;
