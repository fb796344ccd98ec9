//! Authorization codes and tokens: loaded and locked here (`FOR UPDATE`), decided in `oidc::grant`, applied here.

use async_trait::async_trait;
use sqlx::{PgConnection, Row};

use super::rows::*;
use super::transaction::*;
use super::*;
use crate::clock::UnixTime;
use crate::model::{
    AccessGrant, AuthorizationCode, ClientToken, CodeRequest, Grant, NewTokens, Redeemed,
    Revocation, RevokeReason, Rotated, TokenInfo, TokenKind,
};
use crate::oidc::{pkce, scope, tokens};
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

#[async_trait]
impl Grants for PgStore {
    async fn create_authorization_code(&self, code: AuthorizationCode) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO authorization_code
             (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time,
              expires_at, session_id_hash)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
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
    ) -> StoreResult<Redeemed> {
        with_retrying_transaction(&self.pool, |c| {
            let (code_hash, request, new) = (code_hash.to_owned(), request.clone(), new.clone());
            Box::pin(async move {
                // The row lock makes concurrent redemptions of one code take turns.
                let row = sqlx::query(sql(format!(
                    "SELECT c.code_hash, c.client_id, c.user_id, c.redirect_uri, c.scope, c.nonce,
                            c.code_challenge, c.auth_time, c.expires_at, c.used_at, c.family_id,
                            c.session_id_hash, {USER_COLUMNS}
                     FROM authorization_code c JOIN user_account u ON u.id = c.user_id
                     WHERE c.code_hash = $1
                     FOR UPDATE OF c"
                )))
                .bind(&code_hash)
                .fetch_optional(&mut *c)
                .await?;
                let Some(r) = row else {
                    return Ok(Redeemed::Invalid);
                };
                let code = AuthorizationCode {
                    code_hash: r.try_get(0)?,
                    client_id: r.try_get(1)?,
                    user_id: r.try_get(2)?,
                    redirect_uri: r.try_get(3)?,
                    scope: r.try_get(4)?,
                    nonce: r.try_get(5)?,
                    code_challenge: r.try_get(6)?,
                    auth_time: r.try_get(7)?,
                    expires_at: r.try_get(8)?,
                    session_id_hash: r.try_get(11)?,
                };
                let used_at: Option<i64> = r.try_get(9)?;
                let family_id: Option<String> = r.try_get(10)?;
                let user = user_from(&r, 12)?;
                if used_at.is_some() {
                    // RFC 6749 §4.1.2: a code is used once; a second use revokes what the first got.
                    if let Some(family) = family_id {
                        revoke_family(c, &family, now, RevokeReason::CodeReplayed).await?;
                    }
                    return Ok(Redeemed::Replayed);
                }
                let redirect_ok = request.redirect_uri.as_deref() == Some(code.redirect_uri.as_str());
                let pkce_ok = match (&code.code_challenge, &request.code_verifier) {
                    (Some(challenge), Some(verifier)) => pkce::verify_s256(verifier, challenge),
                    (None, None) => true,
                    // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
                    _ => false,
                };
                if code.client_id != request.client_id
                    || code.expires_at <= now
                    || user.disabled
                    || !redirect_ok
                    || !pkce_ok
                {
                    return Ok(Redeemed::Invalid);
                }
                let family_id = tokens::new_id();
                let session = code
                    .session_id_hash
                    .as_ref()
                    .filter(|_| !scope::outlives_session(&code.scope));
                sqlx::query(
                    "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at,
                                               session_id_hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&family_id)
                .bind(&code.client_id)
                .bind(&code.user_id)
                .bind(&code.nonce)
                .bind(code.auth_time)
                .bind(now)
                .bind(session)
                .execute(&mut *c)
                .await?;
                insert_tokens(c, &family_id, &code.scope, &new, now).await?;
                sqlx::query(
                    "UPDATE authorization_code SET used_at = $2, family_id = $3 WHERE code_hash = $1",
                )
                .bind(&code_hash)
                .bind(now)
                .bind(&family_id)
                .execute(&mut *c)
                .await?;
                Ok(Redeemed::Issued(Box::new(Grant {
                    user,
                    client_id: code.client_id,
                    scope: code.scope,
                    nonce: code.nonce,
                    auth_time: code.auth_time,
                    family_id,
                })))
            })
        })
        .await
        .map_err(db_error)
    }

    async fn rotate_refresh_token(
        &self,
        refresh_hash: &str,
        client_id: &str,
        requested_scope: Option<String>,
        new: NewTokens,
        now: UnixTime,
    ) -> StoreResult<Rotated> {
        with_retrying_transaction(&self.pool, |c| {
            let (refresh_hash, client_id, requested_scope, new) = (
                refresh_hash.to_owned(),
                client_id.to_owned(),
                requested_scope.clone(),
                new.clone(),
            );
            Box::pin(async move {
                // The row lock makes concurrent rotations of one token take turns: the second
                // reads the first one's `rotated_at` and counts as reuse.
                let row = sqlx::query(sql(format!(
                    "SELECT r.family_id, r.scope, r.expires_at, r.rotated_at,
                            f.client_id, f.nonce, f.auth_time, f.revoked_at, {USER_COLUMNS},
                            f.session_id_hash IS NULL OR s.expires_at > $2
                     FROM refresh_token r
                     JOIN token_family f ON f.id = r.family_id
                     JOIN user_account u ON u.id = f.user_id
                     LEFT JOIN session s ON s.id_hash = f.session_id_hash
                     WHERE r.token_hash = $1
                     FOR UPDATE OF r"
                )))
                .bind(&refresh_hash)
                .bind(now)
                .fetch_optional(&mut *c)
                .await?;
                let Some(r) = row else {
                    return Ok(Rotated::Invalid);
                };
                let family_id: String = r.try_get(0)?;
                let granted: String = r.try_get(1)?;
                let expires_at: i64 = r.try_get(2)?;
                let rotated_at: Option<i64> = r.try_get(3)?;
                let owner: String = r.try_get(4)?;
                let nonce: Option<String> = r.try_get(5)?;
                let auth_time: i64 = r.try_get(6)?;
                let revoked_at: Option<i64> = r.try_get(7)?;
                let user = user_from(&r, 8)?;
                // NULL when the session row is gone: false.
                let session_alive: bool = r
                    .try_get::<Option<bool>, _>(8 + USER_FIELDS)?
                    .unwrap_or(false);
                if owner != client_id || revoked_at.is_some() {
                    return Ok(Rotated::Invalid);
                }
                if rotated_at.is_some() {
                    // RFC 9700 §4.14.2: a rotated token used again means it leaked.
                    revoke_family(c, &family_id, now, RevokeReason::RefreshReused).await?;
                    return Ok(Rotated::Reused);
                }
                // A family tied to a session ends with it (`scope::outlives_session`).
                if expires_at <= now || user.disabled || !session_alive {
                    return Ok(Rotated::Invalid);
                }
                let scope = match requested_scope {
                    Some(requested) if !scope::is_subset(&requested, &granted) => {
                        return Ok(Rotated::ScopeExceeded);
                    }
                    Some(requested) => scope::normalize(&requested),
                    None => granted,
                };
                sqlx::query("UPDATE refresh_token SET rotated_at = $2 WHERE token_hash = $1")
                    .bind(&refresh_hash)
                    .bind(now)
                    .execute(&mut *c)
                    .await?;
                insert_tokens(c, &family_id, &scope, &new, now).await?;
                Ok(Rotated::Issued(Box::new(Grant {
                    user,
                    client_id,
                    scope,
                    nonce,
                    auth_time,
                    family_id,
                })))
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
        sqlx::query(sql(format!(
            "SELECT a.scope, a.expires_at, f.client_id, {USER_COLUMNS}
             FROM access_token a
             JOIN token_family f ON f.id = a.family_id
             JOIN user_account u ON u.id = f.user_id
             WHERE a.token_hash = $1 AND a.expires_at > $2 AND a.revoked_at IS NULL
               AND f.revoked_at IS NULL AND NOT u.disabled"
        )))
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| {
            r.map(|r| {
                Ok(AccessGrant {
                    scope: r.try_get(0)?,
                    expires_at: r.try_get(1)?,
                    client_id: r.try_get(2)?,
                    user: user_from(&r, 3)?,
                })
            })
            .transpose()
        })
        .map_err(db_error)
    }

    async fn create_client_token(&self, t: ClientToken) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&t.token_hash)
        .bind(&t.client_id)
        .bind(&t.scope)
        .bind(t.created_at)
        .bind(t.expires_at)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn introspect(&self, token_hash: &str, now: UnixTime) -> StoreResult<Option<TokenInfo>> {
        for (table, kind, extra) in [
            ("access_token", TokenKind::Access, "t.revoked_at IS NULL"),
            ("refresh_token", TokenKind::Refresh, "t.rotated_at IS NULL"),
        ] {
            // A user's token is active only while its family stands and its user is enabled.
            let row = sqlx::query(sql(format!(
                "SELECT t.scope, t.created_at, t.expires_at, f.client_id, {USER_COLUMNS}
                 FROM {table} t
                 JOIN token_family f ON f.id = t.family_id
                 JOIN user_account u ON u.id = f.user_id
                 WHERE t.token_hash = $1 AND t.expires_at > $2 AND {extra}
                   AND f.revoked_at IS NULL AND NOT u.disabled"
            )))
            .bind(token_hash)
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)?;
            if let Some(r) = row {
                let info = (|| {
                    Ok::<_, sqlx::Error>(TokenInfo {
                        kind,
                        scope: r.try_get(0)?,
                        issued_at: r.try_get(1)?,
                        expires_at: r.try_get(2)?,
                        client_id: r.try_get(3)?,
                        user: Some(user_from(&r, 4)?),
                    })
                })()
                .map_err(db_error)?;
                return Ok(Some(info));
            }
        }
        sqlx::query(
            "SELECT scope, created_at, expires_at, client_id FROM client_token
             WHERE token_hash = $1 AND expires_at > $2 AND revoked_at IS NULL",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| {
            r.map(|r| {
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
        })
        .map_err(db_error)
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

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<usize> {
        const EXPIRING: [&str; 6] = [
            "DELETE FROM authorization_code WHERE code_hash IN
               (SELECT code_hash FROM authorization_code WHERE expires_at <= $1 LIMIT $2)",
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
        ];
        let mut total = 0;
        loop {
            let mut removed = 0;
            for statement in EXPIRING {
                removed += sqlx::query(statement)
                    .bind(now)
                    .bind(PURGE_BATCH)
                    .execute(&self.pool)
                    .await
                    .map_err(db_error)?
                    .rows_affected();
            }
            // A family with no token left can issue nothing more.
            removed += sqlx::query(
                "DELETE FROM token_family WHERE id IN
                   (SELECT f.id FROM token_family f
                    WHERE NOT EXISTS (SELECT 1 FROM refresh_token r WHERE r.family_id = f.id)
                      AND NOT EXISTS (SELECT 1 FROM access_token a WHERE a.family_id = f.id)
                    LIMIT $1)",
            )
            .bind(PURGE_BATCH)
            .execute(&self.pool)
            .await
            .map_err(db_error)?
            .rows_affected();
            total += removed as usize;
            if removed == 0 {
                return Ok(total);
            }
        }
    }
}
