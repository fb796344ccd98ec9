//! Authorization codes and tokens: loaded and locked here (`FOR UPDATE`), decided in `oidc::grant`, applied here.

use std::net::IpAddr;

use async_trait::async_trait;
use sqlx::{PgConnection, Row};

use super::audit::{insert_audit, insert_outcome_audit};
use super::rows::user_from;
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
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

pub(super) async fn revoke_family(
    c: &mut PgConnection,
    family_id: &str,
    now: UnixTime,
    reason: RevokeReason,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE token_family SET revoked_at = $2, revoked_reason = $3 WHERE id = $1 AND revoked_at IS NULL",
    )
    .bind(family_id)
    .bind(now)
    .bind(reason)
    .execute(c)
    .await?;
    Ok(())
}

pub(super) async fn insert_tokens(
    c: &mut PgConnection,
    family_id: &str,
    scope: &str,
    tokens: &NewTokens,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(&tokens.access_token_hash)
    .bind(family_id)
    .bind(scope)
    .bind(now)
    .bind(tokens.access_expires_at)
    .execute(&mut *c)
    .await?;
    if let Some(refresh) = &tokens.refresh_token_hash {
        sqlx::query(
            "INSERT INTO refresh_token (token_hash, family_id, scope, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(refresh)
        .bind(family_id)
        .bind(scope)
        .bind(now)
        .bind(tokens.refresh_expires_at)
        .execute(&mut *c)
        .await?;
    }
    Ok(())
}

const ACTIVE_ACCESS_TOKEN: &str =
    active_user_token!("access_token", "t.revoked_at IS NULL", "$1", "$2");
const ACTIVE_REFRESH_TOKEN: &str =
    active_user_token!("refresh_token", "t.rotated_at IS NULL", "$1", "$2");

async fn active_user_token(
    c: &mut PgConnection,
    sql: &'static str,
    kind: TokenKind,
    token_hash: &str,
    now: UnixTime,
) -> Result<Option<TokenInfo>, sqlx::Error> {
    sqlx::query(sql)
        .bind(token_hash)
        .bind(now)
        .fetch_optional(c)
        .await?
        .map(|r| {
            Ok(TokenInfo {
                kind,
                scope: r.try_get(0)?,
                issued_at: r.try_get(1)?,
                expires_at: r.try_get(2)?,
                client_id: r.try_get(3)?,
                user: Some(user_from(&r, 4)?),
            })
        })
        .transpose()
}

/// The presented code, whether it was used, the family it made and its user. The row lock
/// makes concurrent redemptions of one code take turns: the second reads the first's use.
async fn lock_code(c: &mut PgConnection, code_hash: &str) -> Result<Option<CodeRow>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT c.code_hash, c.client_id, c.user_id, c.redirect_uri, c.scope, c.nonce,
                c.code_challenge, c.auth_time, c.expires_at, c.used_at IS NOT NULL, c.family_id,
                c.session_id_hash, ",
        user_columns!(),
        ", ",
        may_use_client!("c.client_id", "c.user_id"),
        ", c.amr FROM authorization_code c JOIN user_account u ON u.id = c.user_id
         WHERE c.code_hash = $1
         FOR UPDATE OF c"
    ))
    .bind(code_hash)
    .fetch_optional(c)
    .await?
    .map(|r| {
        Ok(CodeRow {
            code: AuthorizationCode {
                code_hash: r.try_get(0)?,
                client_id: r.try_get(1)?,
                user_id: r.try_get(2)?,
                redirect_uri: r.try_get(3)?,
                scope: r.try_get(4)?,
                nonce: r.try_get(5)?,
                code_challenge: r.try_get(6)?,
                auth_time: r.try_get(7)?,
                amr: Amr::from_stored(r.try_get::<&str, _>(13 + USER_FIELDS)?),
                expires_at: r.try_get(8)?,
                session_id_hash: r.try_get(11)?,
            },
            used: r.try_get(9)?,
            family_id: r.try_get(10)?,
            user: user_from(&r, 12)?,
            access_allowed: r.try_get(12 + USER_FIELDS)?,
        })
    })
    .transpose()
}

/// The presented refresh token with its family, its user, and whether its session lives. The
/// row lock makes concurrent rotations of one token take turns: the second reads the first's
/// `rotated_at` and counts as reuse.
async fn lock_refresh(
    c: &mut PgConnection,
    refresh_hash: &str,
    now: UnixTime,
) -> Result<Option<RefreshRow>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT r.family_id, r.scope, r.expires_at, r.rotated_at IS NOT NULL,
                f.client_id, f.nonce, f.auth_time, f.revoked_at IS NOT NULL, ",
        user_columns!(),
        ", ",
        may_use_client!("f.client_id", "f.user_id"),
        ", f.session_id_hash IS NULL OR s.expires_at > $2,
           r.retry_until, r.retry_sealed, r.successor_hash, f.amr
         FROM refresh_token r
         JOIN token_family f ON f.id = r.family_id
         JOIN user_account u ON u.id = f.user_id
         LEFT JOIN session s ON s.id_hash = f.session_id_hash
         WHERE r.token_hash = $1
         FOR UPDATE OF r"
    ))
    .bind(refresh_hash)
    .bind(now)
    .fetch_optional(&mut *c)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let at = 10 + USER_FIELDS;
    let kept: (Option<UnixTime>, Option<Vec<u8>>, Option<String>) =
        (r.try_get(at)?, r.try_get(at + 1)?, r.try_get(at + 2)?);
    // The successor is read by a statement of its own: under READ COMMITTED it sees the
    // rotation that this one waited for on the lock, which a join in the locking statement
    // would not (its other tables are read from the snapshot taken before the wait).
    let retry = match kept {
        (Some(until), Some(sealed), Some(successor)) => sqlx::query_as::<_, (bool, String)>(
            "SELECT rotated_at IS NOT NULL, scope FROM refresh_token WHERE token_hash = $1",
        )
        .bind(successor)
        .fetch_optional(&mut *c)
        .await?
        .map(|(successor_used, successor_scope)| RetryRow {
            until,
            successor_used,
            successor_scope,
            sealed,
        }),
        _ => None,
    };
    Ok(Some(RefreshRow {
        family_id: r.try_get(0)?,
        scope: r.try_get(1)?,
        expires_at: r.try_get(2)?,
        rotated: r.try_get(3)?,
        client_id: r.try_get(4)?,
        nonce: r.try_get(5)?,
        amr: Amr::from_stored(r.try_get::<&str, _>(at + 3)?),
        auth_time: r.try_get(6)?,
        family_revoked: r.try_get(7)?,
        user: user_from(&r, 8)?,
        // NULL when the session row is gone: not alive.
        session_alive: r
            .try_get::<Option<bool>, _>(9 + USER_FIELDS)?
            .unwrap_or(false),
        access_allowed: r.try_get(8 + USER_FIELDS)?,
        retry,
    }))
}

pub(super) async fn insert_family(
    c: &mut PgConnection,
    family: &NewFamily,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at,
                                   session_id_hash, amr)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(&family.id)
    .bind(&family.client_id)
    .bind(&family.user_id)
    .bind(&family.nonce)
    .bind(family.auth_time)
    .bind(now)
    .bind(&family.session_id_hash)
    .bind(family.amr.stored())
    .execute(c)
    .await?;
    Ok(())
}

#[async_trait]
impl Grants for PgStore {
    async fn create_authorization_code(&self, code: AuthorizationCode) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO authorization_code
             (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time,
              expires_at, session_id_hash, amr)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(&code.code_hash)
        .bind(&code.client_id)
        .bind(&code.user_id)
        .bind(&code.redirect_uri)
        .bind(&code.scope)
        .bind(&code.nonce)
        .bind(&code.code_challenge)
        .bind(code.auth_time)
        .bind(code.expires_at)
        .bind(&code.session_id_hash)
        .bind(code.amr.stored())
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
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
        with_retrying_transaction(&self.pool, |c| {
            let (code_hash, request, new) = (code_hash.to_owned(), request.clone(), new.clone());
            Box::pin(async move {
                let row = lock_code(c, &code_hash).await?;
                let redeemed =
                    match authorization_code::decide(row, &request, tokens::new_id(), now) {
                        Redemption::Issue { family, grant } => {
                            insert_family(c, &family, now).await?;
                            insert_tokens(c, &family.id, &grant.scope, &new, now).await?;
                            sqlx::query(
                                "UPDATE authorization_code SET used_at = $2, family_id = $3
                             WHERE code_hash = $1",
                            )
                            .bind(&code_hash)
                            .bind(now)
                            .bind(&family.id)
                            .execute(&mut *c)
                            .await?;
                            if let Some(session) = &grant.session_id_hash {
                                // The lock waits for a logout ending the session right now; after
                                // it there is no row, and nothing to record.
                                sqlx::query(
                                    "INSERT INTO session_client (session_id_hash, client_id)
                                 SELECT id_hash, $2 FROM session WHERE id_hash = $1
                                 FOR KEY SHARE
                                 ON CONFLICT DO NOTHING",
                                )
                                .bind(session)
                                .bind(&grant.client_id)
                                .execute(&mut *c)
                                .await?;
                            }
                            Redeemed::Issued(grant)
                        }
                        Redemption::Invalid => Redeemed::Invalid,
                        Redemption::Denied => Redeemed::Denied,
                        Redemption::Replayed { family } => {
                            if let Some(family) = family {
                                revoke_family(c, &family, now, RevokeReason::CodeReplayed).await?;
                            }
                            Redeemed::Replayed
                        }
                    };
                let requester = Requester {
                    at: now,
                    client_id: &request.client_id,
                    ip,
                };
                insert_outcome_audit(&mut *c, audit::redemption(&redeemed, &requester)).await?;
                Ok(redeemed)
            })
        })
        .await
        .map_err(db_error)
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
        with_retrying_transaction(&self.pool, |c| {
            let (refresh_hash, client_id, scope, new) = (
                refresh_hash.to_owned(),
                client_id.to_owned(),
                scope.clone(),
                new.clone(),
            );
            Box::pin(async move {
                let row = lock_refresh(c, &refresh_hash, now).await?;
                let request = RefreshRequest {
                    client_id: &client_id,
                    scope: scope.as_deref(),
                };
                let rotated = match refresh_token::decide(row, request, now) {
                    Rotation::Issue(grant) => {
                        let retry = new.retry.as_ref();
                        sqlx::query(
                            "UPDATE refresh_token SET rotated_at = $2, successor_hash = $3,
                                 retry_sealed = $4, retry_until = $5
                             WHERE token_hash = $1",
                        )
                        .bind(&refresh_hash)
                        .bind(now)
                        .bind(&new.refresh_token_hash)
                        .bind(retry.map(|r| &r.sealed))
                        .bind(retry.map(|r| r.until))
                        .execute(&mut *c)
                        .await?;
                        insert_tokens(c, &grant.family_id, &grant.scope, &new, now).await?;
                        Rotated::Issued(grant)
                    }
                    Rotation::Invalid => Rotated::Invalid,
                    Rotation::ScopeExceeded => Rotated::ScopeExceeded,
                    Rotation::Denied => Rotated::Denied,
                    Rotation::Reuse { family } => {
                        revoke_family(c, &family, now, RevokeReason::RefreshReused).await?;
                        Rotated::Reused
                    }
                    Rotation::Replay { sealed, scope } => Rotated::Retried { sealed, scope },
                };
                let requester = Requester {
                    at: now,
                    client_id: &client_id,
                    ip,
                };
                insert_outcome_audit(&mut *c, audit::refresh(&rotated, &requester)).await?;
                Ok(rotated)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn access_token(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<AccessGrant>> {
        let mut c = self.pool.acquire().await.map_err(db_error)?;
        let token = active_user_token(
            &mut c,
            ACTIVE_ACCESS_TOKEN,
            TokenKind::Access,
            token_hash,
            now,
        )
        .await
        .map_err(db_error)?;
        Ok(token.and_then(|t| {
            Some(AccessGrant {
                user: t.user?,
                client_id: t.client_id,
                scope: t.scope,
                expires_at: t.expires_at,
            })
        }))
    }

    async fn create_client_token(&self, t: ClientToken, record: AuditRecord) -> StoreResult<()> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        sqlx::query(
            "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.token_hash)
        .bind(&t.client_id)
        .bind(&t.scope)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        insert_audit(&mut *tx, &record).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    async fn introspect(&self, token_hash: &str, now: UnixTime) -> StoreResult<Option<TokenInfo>> {
        // One snapshot for the three lookups, as one SQLite read job sees: under PostgreSQL's
        // default READ COMMITTED every statement would see its own.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let found = async {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            if let Some(t) = active_user_token(
                &mut tx,
                ACTIVE_ACCESS_TOKEN,
                TokenKind::Access,
                token_hash,
                now,
            )
            .await?
            {
                return Ok(Some(t));
            }
            if let Some(t) = active_user_token(
                &mut tx,
                ACTIVE_REFRESH_TOKEN,
                TokenKind::Refresh,
                token_hash,
                now,
            )
            .await?
            {
                return Ok(Some(t));
            }
            sqlx::query(
                "SELECT scope, created_at, expires_at, client_id FROM client_token
                 WHERE token_hash = $1 AND expires_at > $2 AND revoked_at IS NULL",
            )
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| {
                Ok(TokenInfo {
                    kind: TokenKind::Access,
                    scope: r.try_get(0)?,
                    issued_at: r.try_get(1)?,
                    expires_at: r.try_get(2)?,
                    client_id: r.try_get(3)?,
                    user: None,
                })
            })
            .transpose()
        }
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(found)
    }

    async fn revoke_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Revocation> {
        with_retrying_transaction(&self.pool, |c| {
            let (token_hash, client_id) = (token_hash.to_owned(), client_id.to_owned());
            Box::pin(async move {
                // RFC 7009 §2.1: only the client the token was issued to may revoke it; the
                // owner check is part of each statement.
                let family: Option<String> = sqlx::query_scalar(
                    "SELECT r.family_id FROM refresh_token r JOIN token_family f ON f.id = r.family_id
                     WHERE r.token_hash = $1 AND f.client_id = $2",
                )
                .bind(&token_hash)
                .bind(&client_id)
                .fetch_optional(&mut *c)
                .await?;
                if let Some(family) = family {
                    revoke_family(c, &family, now, RevokeReason::RefreshRevoked).await?;
                    return Ok(Revocation::Family);
                }
                let access = sqlx::query(
                    "UPDATE access_token SET revoked_at = $3
                     WHERE token_hash = $1 AND revoked_at IS NULL
                       AND family_id IN (SELECT id FROM token_family WHERE client_id = $2)",
                )
                .bind(&token_hash)
                .bind(&client_id)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected()
                    + sqlx::query(
                        "UPDATE client_token SET revoked_at = $3
                         WHERE token_hash = $1 AND client_id = $2 AND revoked_at IS NULL",
                    )
                    .bind(&token_hash)
                    .bind(&client_id)
                    .bind(now)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                Ok(if access > 0 {
                    Revocation::Access
                } else {
                    Revocation::NotFound
                })
            })
        })
        .await
        .map_err(db_error)
    }

    async fn forget_retry_answers(&self, now: UnixTime) -> StoreResult<usize> {
        self.in_batches(
            "UPDATE refresh_token SET retry_sealed = NULL, retry_until = NULL
             WHERE token_hash IN (SELECT token_hash FROM refresh_token
                                  WHERE retry_sealed IS NOT NULL AND retry_until <= $1
                                  LIMIT $2)",
            now,
        )
        .await
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<usize> {
        const EXPIRING: [&str; 11] = [
            "DELETE FROM authorization_code WHERE code_hash IN
               (SELECT code_hash FROM authorization_code WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM device_authorization WHERE device_code_hash IN
               (SELECT device_code_hash FROM device_authorization WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM session WHERE id_hash IN
               (SELECT id_hash FROM session WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM access_token WHERE token_hash IN
               (SELECT token_hash FROM access_token WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM client_token WHERE token_hash IN
               (SELECT token_hash FROM client_token WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM refresh_token WHERE token_hash IN
               (SELECT token_hash FROM refresh_token WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM login_throttle WHERE key IN
               (SELECT key FROM login_throttle WHERE blocked_until <= $1
                  AND last_failure_at <= $1 - 86400 LIMIT $2)",
            "DELETE FROM webauthn_challenge WHERE id_hash IN
               (SELECT id_hash FROM webauthn_challenge WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM email_token WHERE token_hash IN
               (SELECT token_hash FROM email_token WHERE expires_at <= $1 LIMIT $2)",
            // A sender gives a notice up after a day (oidc::backchannel::GIVE_UP_AFTER); one
            // still here an hour later has no sender, e.g. its client lost its logout URI.
            "DELETE FROM logout_notice WHERE id IN
               (SELECT id FROM logout_notice WHERE created_at <= $1 - 90000 LIMIT $2)",
            // Last: a family with no token left can issue nothing more.
            "DELETE FROM token_family WHERE id IN
               (SELECT f.id FROM token_family f
                WHERE f.created_at <= $1
                  AND NOT EXISTS (SELECT 1 FROM refresh_token r WHERE r.family_id = f.id)
                  AND NOT EXISTS (SELECT 1 FROM access_token a WHERE a.family_id = f.id)
                LIMIT $2)",
        ];
        let mut total = 0;
        for statement in EXPIRING {
            total += self.in_batches(statement, now).await?;
        }
        Ok(total)
    }
}
