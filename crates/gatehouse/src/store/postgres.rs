//! The PostgreSQL store, for deployments that outgrow one machine: several gatehouse instances
//! share one database.
//!
//! Without SQLite's single writer, concurrent requests really run at once, so every decision
//! that a later write depends on is taken under a row lock (`SELECT … FOR UPDATE`) inside the
//! transaction that writes: two requests racing for one code or refresh token queue on its row,
//! and the second one reads what the first wrote. Transactions run through
//! [`with_retrying_transaction`], which retries the whole closure on a serialization failure or
//! a deadlock.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use async_trait::async_trait;
use rand::Rng as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions, PgRow};
use sqlx::{PgConnection, PgPool, Row};

use super::snapshot::{
    self, ClientRow, ClientTokenRow, ConsentRow, FamilyRow, KeyRow, SessionRow, Snapshot, TokenRow,
    UserRow,
};
use super::{
    AccessGrant, Audit, AuditEvent, AuditRecord, AuthorizationCode, Client, ClientToken,
    CodeRequest, Consent, Directory, EngineMetric, Grant, Grants, Keys, LoggedOut, NewTokens,
    Redeemed, Retirement, Revocation, Rotated, Session, SigningKey, Store, StoreError, StoreResult,
    Throttle, TokenInfo, TokenKind, User,
};
use crate::auth::throttle::{self, Admission, Counter, ThrottleKey};
use crate::clock::UnixTime;
use crate::oidc::{pkce, scope, tokens};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");

/// How long a request waits for a pooled connection before it is answered "temporarily
/// unavailable", as with SQLite's queue deadline.
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per instance: enough to keep PostgreSQL busy, few enough that several
/// instances stay under its default `max_connections` of 100.
const MAX_CONNECTIONS: u32 = 16;
/// Attempts of a transaction that keeps hitting serialization failures or deadlocks.
const MAX_ATTEMPTS: u32 = 6;
/// Rows the expiry sweep deletes at most per statement.
const PURGE_BATCH: i64 = 1000;

pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects and applies migrations. Instances starting together are safe: the migrator
    /// takes an advisory lock.
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options: PgConnectOptions = url
            .parse()
            .map_err(|e: sqlx::Error| StoreError::UnsupportedUrl(format!("{url}: {e}")))?;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(db_error)?;
        MIGRATOR
            .run(&pool)
            .await
            .map_err(|e| StoreError::Database(format!("migration failed: {e}")))?;
        Ok(PgStore { pool })
    }
}

type TxFuture<'c, T> = Pin<Box<dyn Future<Output = Result<T, sqlx::Error>> + Send + 'c>>;

/// Runs `f` in a transaction and commits; on a serialization failure (SQLSTATE 40001) or a
/// deadlock (40P01), from any statement or from the commit, rolls back and runs `f` again after
/// a short, jittered, growing pause, up to [`MAX_ATTEMPTS`] times. `f` must therefore be safe to
/// run more than once: everything it decides, it decides from what it reads in the
/// transaction.
pub async fn with_retrying_transaction<T, F>(pool: &PgPool, mut f: F) -> Result<T, sqlx::Error>
where
    F: for<'c> FnMut(&'c mut PgConnection) -> TxFuture<'c, T>,
{
    let mut attempt = 1;
    loop {
        let mut tx = pool.begin().await?;
        let outcome = match f(&mut tx).await {
            Ok(value) => tx.commit().await.map(|()| value),
            Err(e) => {
                // Dropping the transaction rolls it back; saying so spares the connection a
                // round trip on its next use.
                let _ = tx.rollback().await;
                Err(e)
            }
        };
        match outcome {
            Err(e) if is_retryable(&e) && attempt < MAX_ATTEMPTS => {
                tokio::time::sleep(backoff(attempt)).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

fn is_retryable(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(db) if matches!(db.code().as_deref(), Some("40001" | "40P01")))
}

/// 5, 10, 20, 40… ms, each with up to as much again of random jitter, so the transactions that
/// collided do not collide again in lockstep.
fn backoff(attempt: u32) -> Duration {
    let base = 5u64 << attempt.min(6);
    Duration::from_millis(base + rand::rng().random_range(0..=base))
}

fn db_error(e: sqlx::Error) -> StoreError {
    match &e {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) => {
            StoreError::Unavailable(e.to_string())
        }
        sqlx::Error::Database(db) => match db.code().as_deref() {
            Some("23505") => StoreError::Conflict(db.constraint().unwrap_or("row").to_owned()),
            // Disk full, or a read-only (standby) server: the operator's to fix.
            Some("53100" | "25006") => StoreError::Storage(e.to_string()),
            // Too many connections, shutting down, cannot connect now: worth retrying later.
            Some(code)
                if code.starts_with("53") || code.starts_with("57P") || code.starts_with("08") =>
            {
                StoreError::Unavailable(e.to_string())
            }
            _ => StoreError::Database(e.to_string()),
        },
        _ => StoreError::Database(e.to_string()),
    }
}

fn conflict_as(what: String) -> impl FnOnce(StoreError) -> StoreError {
    move |e| match e {
        StoreError::Conflict(_) => StoreError::Conflict(what),
        e => e,
    }
}

fn found(changed: u64, what: impl FnOnce() -> String) -> StoreResult<()> {
    if changed == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}

const USER_COLUMNS: &str =
    "u.id, u.username, u.email, u.name, u.password_hash, u.disabled, u.created_at";
/// How many columns `USER_COLUMNS` names.
const USER_FIELDS: usize = 7;

fn user_from(r: &PgRow, at: usize) -> Result<User, sqlx::Error> {
    Ok(User {
        id: r.try_get(at)?,
        username: r.try_get(at + 1)?,
        email: r.try_get(at + 2)?,
        name: r.try_get(at + 3)?,
        password_hash: r.try_get(at + 4)?,
        disabled: r.try_get(at + 5)?,
        created_at: r.try_get(at + 6)?,
    })
}

const CLIENT_COLUMNS: &str = "client_id, secret_hash, redirect_uris, post_logout_redirect_uris, scopes, grant_types, first_party, created_at";

fn client_from(r: &PgRow) -> Result<Client, sqlx::Error> {
    Ok(Client {
        client_id: r.try_get(0)?,
        secret_hash: r.try_get(1)?,
        redirect_uris: r.try_get(2)?,
        post_logout_redirect_uris: r.try_get(3)?,
        scopes: r.try_get(4)?,
        grant_types: r.try_get(5)?,
        first_party: r.try_get(6)?,
        created_at: r.try_get(7)?,
    })
}

const SESSION_COLUMNS: &str = "s.id_hash, s.user_id, s.auth_time, s.expires_at, s.last_seen_at";

fn session_from(r: &PgRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id_hash: r.try_get(0)?,
        user_id: r.try_get(1)?,
        auth_time: r.try_get(2)?,
        expires_at: r.try_get(3)?,
        last_seen_at: r.try_get(4)?,
    })
}

async fn revoke_family(
    c: &mut PgConnection,
    family_id: &str,
    now: UnixTime,
    reason: &str,
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

async fn insert_tokens(
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

fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    // Only ever built from the constant column lists of this module, never from input.
    sqlx::AssertSqlSafe(s)
}

/// Ends every session of the user and revokes every token family they hold.
async fn log_out_user(
    c: &mut PgConnection,
    user_id: &str,
    now: UnixTime,
    reason: &str,
) -> Result<LoggedOut, sqlx::Error> {
    let sessions = sqlx::query("DELETE FROM session WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?
        .rows_affected();
    let token_families = sqlx::query(
        "UPDATE token_family SET revoked_at = $2, revoked_reason = $3
         WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(now)
    .bind(reason)
    .execute(&mut *c)
    .await?
    .rows_affected();
    Ok(LoggedOut {
        sessions: sessions as usize,
        token_families: token_families as usize,
    })
}

#[async_trait]
impl Directory for PgStore {
    async fn create_user(&self, user: User) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(&user.id)
        .bind(&user.username)
        .bind(&user.email)
        .bind(&user.name)
        .bind(&user.password_hash)
        .bind(user.disabled)
        .bind(user.created_at)
        .execute(&self.pool)
        .await
        .map_err(db_error)
        .map_err(conflict_as(format!("user {:?}", user.username)))?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM user_account u WHERE u.username = $1"
        )))
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| r.map(|r| user_from(&r, 0)).transpose())
        .map_err(db_error)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM user_account u ORDER BY u.username"
        )))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(|r| user_from(r, 0)).collect())
        .map_err(db_error)
    }

    async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: UnixTime,
    ) -> StoreResult<LoggedOut> {
        let out = with_retrying_transaction(&self.pool, |c| {
            let username = username.to_owned();
            Box::pin(async move {
                let user_id: Option<String> = sqlx::query_scalar(
                    "UPDATE user_account SET disabled = $2 WHERE username = $1 RETURNING id",
                )
                .bind(&username)
                .bind(disabled)
                .fetch_optional(&mut *c)
                .await?;
                match user_id {
                    None => Ok(None),
                    Some(_) if !disabled => Ok(Some(LoggedOut::default())),
                    Some(id) => log_out_user(&mut *c, &id, now, "user disabled")
                        .await
                        .map(Some),
                }
            })
        })
        .await
        .map_err(db_error)?;
        out.ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: String,
        now: UnixTime,
    ) -> StoreResult<LoggedOut> {
        let out = with_retrying_transaction(&self.pool, |c| {
            let (username, password_hash) = (username.to_owned(), password_hash.clone());
            Box::pin(async move {
                let user_id: Option<String> = sqlx::query_scalar(
                    "UPDATE user_account SET password_hash = $2 WHERE username = $1 RETURNING id",
                )
                .bind(&username)
                .bind(&password_hash)
                .fetch_optional(&mut *c)
                .await?;
                match user_id {
                    None => Ok(None),
                    Some(id) => log_out_user(&mut *c, &id, now, "password changed")
                        .await
                        .map(Some),
                }
            })
        })
        .await
        .map_err(db_error)?;
        out.ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))
    }

    async fn create_client(&self, client: Client) -> StoreResult<()> {
        sqlx::query(sql(format!(
            "INSERT INTO client ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )))
        .bind(&client.client_id)
        .bind(&client.secret_hash)
        .bind(&client.redirect_uris)
        .bind(&client.post_logout_redirect_uris)
        .bind(&client.scopes)
        .bind(&client.grant_types)
        .bind(client.first_party)
        .bind(client.created_at)
        .execute(&self.pool)
        .await
        .map_err(db_error)
        .map_err(conflict_as(format!("client {:?}", client.client_id)))?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        sqlx::query(sql(format!(
            "SELECT {CLIENT_COLUMNS} FROM client WHERE client_id = $1"
        )))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| r.map(|r| client_from(&r)).transpose())
        .map_err(db_error)
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        sqlx::query(sql(format!(
            "SELECT {CLIENT_COLUMNS} FROM client ORDER BY client_id"
        )))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(client_from).collect())
        .map_err(db_error)
    }

    async fn remove_client(&self, client_id: &str) -> StoreResult<()> {
        let done = sqlx::query("DELETE FROM client WHERE client_id = $1")
            .bind(client_id)
            .execute(&self.pool)
            .await
            .map_err(db_error)?;
        found(done.rows_affected(), || format!("client {client_id:?}"))
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT scope FROM consent WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, client_id, scope) =
                (user_id.to_owned(), client_id.to_owned(), scope.to_owned());
            Box::pin(async move {
                // Make sure the row exists, then lock it: two grants racing merge, in turn.
                sqlx::query(
                    "INSERT INTO consent (user_id, client_id, scope, granted_at) VALUES ($1, $2, '', $3)
                     ON CONFLICT (user_id, client_id) DO NOTHING",
                )
                .bind(&user_id)
                .bind(&client_id)
                .bind(now)
                .execute(&mut *c)
                .await?;
                let before: String = sqlx::query_scalar(
                    "SELECT scope FROM consent WHERE user_id = $1 AND client_id = $2 FOR UPDATE",
                )
                .bind(&user_id)
                .bind(&client_id)
                .fetch_one(&mut *c)
                .await?;
                sqlx::query(
                    "UPDATE consent SET scope = $3, granted_at = $4 WHERE user_id = $1 AND client_id = $2",
                )
                .bind(&user_id)
                .bind(&client_id)
                .bind(scope::union(&before, &scope))
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
        .map_err(db_error)
    }

    async fn consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        sqlx::query(
            "SELECT client_id, scope, granted_at FROM consent WHERE user_id = $1 ORDER BY client_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| {
                    Ok(Consent {
                        client_id: r.try_get(0)?,
                        scope: r.try_get(1)?,
                        granted_at: r.try_get(2)?,
                    })
                })
                .collect()
        })
        .map_err(db_error)
    }

    async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        let removed = with_retrying_transaction(&self.pool, |c| {
            let (uid, cid) = (user_id.to_owned(), client_id.to_owned());
            Box::pin(async move {
                let removed =
                    sqlx::query("DELETE FROM consent WHERE user_id = $1 AND client_id = $2")
                        .bind(&uid)
                        .bind(&cid)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                // What the client got under the consent goes with it.
                sqlx::query(
                    "UPDATE token_family SET revoked_at = $3, revoked_reason = 'consent revoked'
                     WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
                )
                .bind(&uid)
                .bind(&cid)
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(removed)
            })
        })
        .await
        .map_err(db_error)?;
        found(removed, || {
            format!("consent of user {user_id} for client {client_id:?}")
        })
    }
}

#[async_trait]
impl Grants for PgStore {
    async fn create_session(&self, s: Session) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at)
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&s.id_hash)
        .bind(&s.user_id)
        .bind(s.auth_time)
        .bind(s.expires_at)
        .bind(s.last_seen_at)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<(Session, User)>> {
        sqlx::query(sql(format!(
            "SELECT {SESSION_COLUMNS}, {USER_COLUMNS}
             FROM session s JOIN user_account u ON u.id = s.user_id
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND NOT u.disabled"
        )))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| {
            r.map(|r| Ok((session_from(&r)?, user_from(&r, 5)?)))
                .transpose()
        })
        .map_err(db_error)
    }

    async fn touch_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()> {
        sqlx::query(
            "UPDATE session SET last_seen_at = GREATEST(last_seen_at, $2) WHERE id_hash = $1",
        )
        .bind(id_hash)
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn end_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let id_hash = id_hash.to_owned();
            Box::pin(async move {
                sqlx::query("DELETE FROM session WHERE id_hash = $1")
                    .bind(&id_hash)
                    .execute(&mut *c)
                    .await?;
                sqlx::query(
                    "UPDATE token_family SET revoked_at = $2, revoked_reason = 'session ended'
                     WHERE session_id_hash = $1 AND revoked_at IS NULL",
                )
                .bind(&id_hash)
                .bind(now)
                .execute(&mut *c)
                .await?;
                Ok(())
            })
        })
        .await
        .map_err(db_error)
    }

    async fn end_user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<LoggedOut> {
        with_retrying_transaction(&self.pool, |c| {
            let user_id = user_id.to_owned();
            Box::pin(async move { log_out_user(&mut *c, &user_id, now, "user logged out").await })
        })
        .await
        .map_err(db_error)
    }

    async fn sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>> {
        sqlx::query(sql(format!(
            "SELECT {SESSION_COLUMNS} FROM session s WHERE s.user_id = $1 AND s.expires_at > $2
             ORDER BY s.auth_time DESC"
        )))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(session_from).collect())
        .map_err(db_error)
    }

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
                        revoke_family(c, &family, now, "authorization code replayed").await?;
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
                    revoke_family(c, &family_id, now, "refresh token reused").await?;
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
                    revoke_family(c, &family, now, "refresh token revoked").await?;
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

/// The counter of `key`, locked until the transaction ends. The row is created first if
/// missing (`failures` 0 reads as "never failed"), so there is always a row to lock: two
/// first attempts on a new key cannot both see nothing.
async fn lock_counter(c: &mut PgConnection, key: &str) -> Result<Option<Counter>, sqlx::Error> {
    sqlx::query(
        "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until)
         VALUES ($1, 0, 0, 0) ON CONFLICT (key) DO NOTHING",
    )
    .bind(key)
    .execute(&mut *c)
    .await?;
    let (failures, last_failure_at, blocked_until): (i32, i64, i64) = sqlx::query_as(
        "SELECT failures, last_failure_at, blocked_until FROM login_throttle
         WHERE key = $1 FOR UPDATE",
    )
    .bind(key)
    .fetch_one(&mut *c)
    .await?;
    Ok((failures > 0).then(|| Counter {
        failures: u32::try_from(failures).unwrap_or(0),
        last_failure_at,
        blocked_until,
    }))
}

async fn store_counter(
    c: &mut PgConnection,
    key: &str,
    counter: Option<Counter>,
) -> Result<(), sqlx::Error> {
    match counter {
        Some(n) => {
            sqlx::query(
                "UPDATE login_throttle SET failures = $2, last_failure_at = $3, blocked_until = $4
             WHERE key = $1",
            )
            .bind(key)
            .bind(i32::try_from(n.failures).unwrap_or(i32::MAX))
            .bind(n.last_failure_at)
            .bind(n.blocked_until)
            .execute(&mut *c)
            .await?
        }
        None => {
            sqlx::query("DELETE FROM login_throttle WHERE key = $1")
                .bind(key)
                .execute(&mut *c)
                .await?
        }
    };
    Ok(())
}

/// Keys in one order for every transaction, so two attempts that count against the same keys
/// lock them in the same order and cannot deadlock.
fn in_lock_order(mut keys: Vec<ThrottleKey>) -> Vec<ThrottleKey> {
    keys.sort_by(|a, b| a.key.cmp(&b.key));
    keys
}

#[async_trait]
impl Throttle for PgStore {
    async fn admit_login_attempt(
        &self,
        keys: Vec<ThrottleKey>,
        now: UnixTime,
    ) -> StoreResult<Admission> {
        let keys = in_lock_order(keys);
        with_retrying_transaction(&self.pool, |c| {
            let keys = keys.clone();
            Box::pin(async move {
                let mut counters = Vec::with_capacity(keys.len());
                for k in &keys {
                    counters.push(lock_counter(&mut *c, &k.key).await?);
                }
                let loaded: Vec<_> = keys.iter().zip(counters).collect();
                let decision = throttle::admit(&loaded, now);
                if let Admission::Admitted(new) = &decision {
                    for (k, n) in keys.iter().zip(new) {
                        store_counter(&mut *c, &k.key, Some(*n)).await?;
                    }
                }
                Ok(decision)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn settle_login_success(&self, keys: Vec<ThrottleKey>) -> StoreResult<()> {
        let keys = in_lock_order(keys);
        with_retrying_transaction(&self.pool, |c| {
            let keys = keys.clone();
            Box::pin(async move {
                for k in &keys {
                    let counter = lock_counter(&mut *c, &k.key).await?;
                    store_counter(&mut *c, &k.key, throttle::settle_success(k, counter)).await?;
                }
                Ok(())
            })
        })
        .await
        .map_err(db_error)
    }
}

const AUDIT_COLUMNS: &str = "id, at, kind, actor, subject, client_id, ip, detail";

fn audit_from(r: &PgRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        id: r.try_get(0)?,
        record: AuditRecord {
            at: r.try_get(1)?,
            kind: r.try_get(2)?,
            actor: r.try_get(3)?,
            subject: r.try_get(4)?,
            client_id: r.try_get(5)?,
            ip: r.try_get(6)?,
            detail: r.try_get(7)?,
        },
    })
}

#[async_trait]
impl Audit for PgStore {
    async fn record(&self, e: AuditRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(e.at)
        .bind(&e.kind)
        .bind(&e.actor)
        .bind(&e.subject)
        .bind(&e.client_id)
        .bind(&e.ip)
        .bind(&e.detail)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn audit_since(&self, after_id: i64, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        sqlx::query(sql(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_event WHERE id > $1 ORDER BY id LIMIT $2"
        )))
        .bind(after_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(audit_from).collect())
        .map_err(db_error)
    }

    async fn audit_latest(&self, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let mut events: Vec<AuditEvent> = sqlx::query(sql(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_event ORDER BY id DESC LIMIT $1"
        )))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(audit_from).collect())
        .map_err(db_error)?;
        events.reverse();
        Ok(events)
    }
}

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

    async fn rotate_signing_key(&self, key: SigningKey, retirement: Retirement) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let key = key.clone();
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
                             WHERE retired_at IS NULL OR retired_at > $1",
                        )
                        .bind(key.signs_from)
                        .bind(published_until)
                        .execute(&mut *c)
                        .await?
                    }
                    Retirement::Immediate => {
                        sqlx::query(
                            "UPDATE signing_key
                             SET retired_at = CASE WHEN retired_at IS NULL OR retired_at > $1
                                                   THEN $1 ELSE retired_at END,
                                 publish_until = $1
                             WHERE publish_until IS NULL OR publish_until > $1",
                        )
                        .bind(key.created_at)
                        .execute(&mut *c)
                        .await?
                    }
                };
                sqlx::query(
                    "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, signs_from)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&key.kid)
                .bind(&key.alg)
                .bind(&key.private_der)
                .bind(&key.public_jwk)
                .bind(key.created_at)
                .bind(key.signs_from)
                .execute(&mut *c)
                .await?;
                Ok(())
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

#[async_trait]
impl Store for PgStore {
    async fn ping(&self) -> StoreResult<()> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        sqlx::query(
            "INSERT INTO heartbeat (id, at) VALUES (1, $1) ON CONFLICT (id) DO UPDATE SET at = excluded.at",
        )
        .bind(now)
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(())
    }

    async fn backup(&self, _path: &std::path::Path) -> StoreResult<()> {
        Err(StoreError::Unsupported(
            "backup copies an SQLite file; for PostgreSQL use pg_dump, or gatehouse export".into(),
        ))
    }

    async fn close(&self) -> StoreResult<()> {
        self.pool.close().await;
        Ok(())
    }

    async fn export(&self, now: UnixTime) -> StoreResult<Snapshot> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // One snapshot of every table, however long the export takes.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let c = &mut *tx;
        let users = sqlx::query(sql(format!(
            "SELECT {USER_COLUMNS} FROM user_account u ORDER BY u.created_at, u.id"
        )))
        .fetch_all(&mut *c)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| {
                    let u = user_from(r, 0)?;
                    Ok(UserRow {
                        id: u.id,
                        username: u.username,
                        email: u.email,
                        name: u.name,
                        password_hash: u.password_hash,
                        disabled: u.disabled,
                        created_at: u.created_at,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })
        .map_err(db_error)?;
        let clients = sqlx::query(sql(format!(
            "SELECT {CLIENT_COLUMNS} FROM client ORDER BY client_id"
        )))
        .fetch_all(&mut *c)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| {
                    let c = client_from(r)?;
                    Ok(ClientRow {
                        client_id: c.client_id,
                        secret_hash: c.secret_hash,
                        redirect_uris: c.redirect_uris,
                        post_logout_redirect_uris: c.post_logout_redirect_uris,
                        scopes: c.scopes,
                        grant_types: c.grant_types,
                        first_party: c.first_party,
                        created_at: c.created_at,
                    })
                })
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })
        .map_err(db_error)?;
        let signing_keys: Vec<KeyRow> = sqlx::query_as::<
            _,
            (
                String,
                String,
                Vec<u8>,
                String,
                i64,
                Option<i64>,
                Option<i64>,
                i64,
            ),
        >(
            "SELECT kid, alg, private_der, public_jwk, created_at, retired_at, publish_until,
                    COALESCE(signs_from, created_at)
             FROM signing_key ORDER BY created_at, kid",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(
                kid,
                alg,
                private_der,
                public_jwk,
                created_at,
                retired_at,
                publish_until,
                signs_from,
            )| {
                KeyRow::from(SigningKey {
                    kid,
                    alg,
                    private_der,
                    public_jwk,
                    created_at,
                    retired_at,
                    publish_until,
                    signs_from,
                })
            },
        )
        .collect();
        let consents = sqlx::query_as::<_, (String, String, String, i64)>(
            "SELECT user_id, client_id, scope, granted_at FROM consent ORDER BY user_id, client_id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(user_id, client_id, scope, granted_at)| ConsentRow {
            user_id,
            client_id,
            scope,
            granted_at,
        })
        .collect();
        let sessions = sqlx::query_as::<_, (String, String, i64, i64, i64)>(
            "SELECT id_hash, user_id, auth_time, expires_at, last_seen_at FROM session
             ORDER BY auth_time, id_hash",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(id_hash, user_id, auth_time, expires_at, last_seen_at)| SessionRow {
                id_hash,
                user_id,
                auth_time,
                expires_at,
                last_seen_at,
            },
        )
        .collect();
        type Family = (
            String,
            String,
            String,
            Option<String>,
            i64,
            i64,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let token_families = sqlx::query_as::<_, Family>(
            "SELECT id, client_id, user_id, nonce, auth_time, created_at, revoked_at, revoked_reason,
                    session_id_hash
             FROM token_family ORDER BY created_at, id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(
                id,
                client_id,
                user_id,
                nonce,
                auth_time,
                created_at,
                revoked_at,
                revoked_reason,
                session_id_hash,
            )| FamilyRow {
                id,
                client_id,
                user_id,
                nonce,
                auth_time,
                created_at,
                revoked_at,
                revoked_reason,
                session_id_hash,
            },
        )
        .collect();
        type Token = (String, String, String, i64, i64, Option<i64>);
        let token_row =
            |(token_hash, family_id, scope, created_at, expires_at, ended_at): Token| TokenRow {
                token_hash,
                family_id,
                scope,
                created_at,
                expires_at,
                ended_at,
            };
        let refresh_tokens = sqlx::query_as::<_, Token>(
            "SELECT token_hash, family_id, scope, created_at, expires_at, rotated_at
             FROM refresh_token ORDER BY created_at, token_hash",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(token_row)
        .collect();
        let access_tokens = sqlx::query_as::<_, Token>(
            "SELECT token_hash, family_id, scope, created_at, expires_at, revoked_at
             FROM access_token ORDER BY created_at, token_hash",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(token_row)
        .collect();
        let client_tokens = sqlx::query_as::<_, Token>(
            "SELECT token_hash, client_id, scope, created_at, expires_at, revoked_at
             FROM client_token ORDER BY created_at, token_hash",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(token_hash, client_id, scope, created_at, expires_at, revoked_at)| ClientTokenRow {
                token_hash,
                client_id,
                scope,
                created_at,
                expires_at,
                revoked_at,
            },
        )
        .collect();
        let audit = sqlx::query(sql(format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_event ORDER BY id"
        )))
        .fetch_all(&mut *c)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| audit_from(r).map(|e| e.record))
                .collect()
        })
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Snapshot {
            format: snapshot::FORMAT.into(),
            version: snapshot::VERSION,
            exported_at: now,
            users,
            clients,
            signing_keys,
            consents,
            sessions,
            token_families,
            refresh_tokens,
            access_tokens,
            client_tokens,
            audit,
        })
    }

    async fn import(&self, snapshot: Snapshot) -> StoreResult<()> {
        if let Some(problem) = snapshot.incompatibility() {
            return Err(StoreError::Corrupt(problem));
        }
        let mut keys = Vec::new();
        for k in &snapshot.signing_keys {
            keys.push((k.clone(), k.private_der().map_err(StoreError::Corrupt)?));
        }
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Nobody else may start writing a deployment while this one is loaded.
        for table in ["user_account", "client", "signing_key"] {
            sqlx::query(sql(format!("LOCK TABLE {table} IN EXCLUSIVE MODE")))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        let occupied: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM user_account) + (SELECT count(*) FROM client)
                  + (SELECT count(*) FROM signing_key)",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        if occupied > 0 {
            return Err(StoreError::NotEmpty);
        }
        let c = &mut *tx;
        let s = snapshot;
        let result: Result<(), sqlx::Error> = async {
            for u in &s.users {
                sqlx::query(
                    "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&u.id)
                .bind(&u.username)
                .bind(&u.email)
                .bind(&u.name)
                .bind(&u.password_hash)
                .bind(u.disabled)
                .bind(u.created_at)
                .execute(&mut *c)
                .await?;
            }
            for cl in &s.clients {
                sqlx::query(sql(format!(
                    "INSERT INTO client ({CLIENT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                )))
                .bind(&cl.client_id)
                .bind(&cl.secret_hash)
                .bind(&cl.redirect_uris)
                .bind(&cl.post_logout_redirect_uris)
                .bind(&cl.scopes)
                .bind(&cl.grant_types)
                .bind(cl.first_party)
                .bind(cl.created_at)
                .execute(&mut *c)
                .await?;
            }
            for (k, der) in &keys {
                sqlx::query(
                    "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, retired_at, publish_until, signs_from)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&k.kid)
                .bind(&k.alg)
                .bind(der)
                .bind(&k.public_jwk)
                .bind(k.created_at)
                .bind(k.retired_at)
                .bind(k.publish_until)
                .bind(k.signs_from())
                .execute(&mut *c)
                .await?;
            }
            for x in &s.consents {
                sqlx::query(
                    "INSERT INTO consent (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&x.user_id)
                .bind(&x.client_id)
                .bind(&x.scope)
                .bind(x.granted_at)
                .execute(&mut *c)
                .await?;
            }
            for x in &s.sessions {
                sqlx::query(
                    "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&x.id_hash)
                .bind(&x.user_id)
                .bind(x.auth_time)
                .bind(x.expires_at)
                .bind(x.last_seen_at)
                .execute(&mut *c)
                .await?;
            }
            for f in &s.token_families {
                sqlx::query(
                    "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at, revoked_at, revoked_reason, session_id_hash)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&f.id)
                .bind(&f.client_id)
                .bind(&f.user_id)
                .bind(&f.nonce)
                .bind(f.auth_time)
                .bind(f.created_at)
                .bind(f.revoked_at)
                .bind(&f.revoked_reason)
                .bind(&f.session_id_hash)
                .execute(&mut *c)
                .await?;
            }
            for (insert, rows) in [
                (
                    "INSERT INTO refresh_token (token_hash, family_id, scope, created_at, expires_at, rotated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &s.refresh_tokens,
                ),
                (
                    "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at, revoked_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                    &s.access_tokens,
                ),
            ] {
                for t in rows {
                    sqlx::query(insert)
                        .bind(&t.token_hash)
                        .bind(&t.family_id)
                        .bind(&t.scope)
                        .bind(t.created_at)
                        .bind(t.expires_at)
                        .bind(t.ended_at)
                        .execute(&mut *c)
                        .await?;
                }
            }
            for t in &s.client_tokens {
                sqlx::query(
                    "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at, revoked_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.token_hash)
                .bind(&t.client_id)
                .bind(&t.scope)
                .bind(t.created_at)
                .bind(t.expires_at)
                .bind(t.revoked_at)
                .execute(&mut *c)
                .await?;
            }
            for e in &s.audit {
                sqlx::query(
                    "INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(e.at)
                .bind(&e.kind)
                .bind(&e.actor)
                .bind(&e.subject)
                .bind(&e.client_id)
                .bind(&e.ip)
                .bind(&e.detail)
                .execute(&mut *c)
                .await?;
            }
            Ok(())
        }
        .await;
        result.map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }

    fn engine_metrics(&self) -> Vec<EngineMetric> {
        let gauge = |name, help, value: f64| EngineMetric {
            name,
            help,
            labels: Vec::new(),
            value,
        };
        vec![
            gauge(
                "gatehouse_pg_pool_connections",
                "PostgreSQL connections open in this instance's pool",
                f64::from(self.pool.size()),
            ),
            gauge(
                "gatehouse_pg_pool_idle_connections",
                "PostgreSQL connections idle in this instance's pool",
                self.pool.num_idle() as f64,
            ),
        ]
    }
}
