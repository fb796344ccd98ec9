//! The embedded store: one SQLite file served by onewriter.
//!
//! Reads go to `db.read`; every state change is one `db.write` closure, so each domain
//! operation is one transaction, and the reads that decide it run inside it, on the one writer
//! thread: two requests racing for the same code or refresh token are simply run one after the
//! other, and the second sees what the first did.

use std::path::Path;
use std::time::Duration;

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, Row, params};
use onewriter::{Db, Options, Synchronous};

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

static MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/sqlite/0001_init.sql"),
    include_str!("../../migrations/sqlite/0002_production.sql"),
    include_str!("../../migrations/sqlite/0003_sessions_forms_keys.sql"),
];

/// How long a request waits for the database before it is answered "temporarily unavailable"
/// instead of queueing without bound.
const DEADLINE: Duration = Duration::from_secs(5);

pub struct SqliteStore {
    db: Db,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and applies migrations.
    ///
    /// Durable by default: `synchronous=FULL`, so an acknowledged revocation survives a power
    /// cut; group commit keeps that cheap.
    pub async fn open(path: &Path) -> StoreResult<Self> {
        let options = Options::new()
            .synchronous(Synchronous::Full)
            .migrations(MIGRATIONS);
        let db = Db::open(path, options).await.map_err(engine_error)?;
        Ok(SqliteStore {
            db: db.with_deadline(DEADLINE),
        })
    }

    /// Applies `change` to the user named `username` (given the user's id) and, with
    /// `logout`, ends their sessions and revokes their tokens, in one transaction.
    async fn change_user(
        &self,
        username: &str,
        logout: Option<(UnixTime, &'static str)>,
        change: impl FnOnce(&Connection, &str) -> rusqlite::Result<usize> + Send + 'static,
    ) -> StoreResult<LoggedOut> {
        let name = username.to_owned();
        let out = self
            .write(move |tx| {
                let Some(user_id) = user_id_of(tx, &name)? else {
                    return Ok(None);
                };
                change(tx, &user_id)?;
                match logout {
                    Some((now, reason)) => log_out_user(tx, &user_id, now, reason).map(Some),
                    None => Ok(Some(LoggedOut::default())),
                }
            })
            .await?;
        out.ok_or_else(|| StoreError::NotFound(format!("user {username:?}")))
    }

    /// The engine's statistics, for metrics.
    pub fn stats(&self) -> onewriter::Stats {
        self.db.stats()
    }

    /// The `PRAGMA synchronous` level the writer commits with, as SQLite reports it on the
    /// writer's own connection (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA): what an acknowledged write
    /// survives.
    pub async fn synchronous(&self) -> StoreResult<i64> {
        self.write(|tx| tx.query_row("PRAGMA synchronous", [], |r| r.get(0)))
            .await
    }

    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.db.read(f).await.map_err(engine_error)
    }

    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Connection) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        self.db.write(f).await.map_err(engine_error)
    }
}

fn engine_error(e: onewriter::Error) -> StoreError {
    let sqlite = match &e {
        onewriter::Error::Job(e) => Some(e),
        onewriter::Error::Sqlite(e) => Some(e.as_ref()),
        _ => None,
    };
    if sqlite.is_some_and(is_storage_failure) {
        return StoreError::Storage(e.to_string());
    }
    match e {
        e @ (onewriter::Error::Busy { .. } | onewriter::Error::Overloaded { .. }) => {
            StoreError::Unavailable(e.to_string())
        }
        e => StoreError::Database(e.to_string()),
    }
}

/// A full disk, a file that cannot be written, a failing device: the operator's to fix, not a
/// fault of the request or of the program.
fn is_storage_failure(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode::*;
    matches!(
        e.sqlite_error_code(),
        Some(DiskFull | ReadOnly | SystemIoFailure | CannotOpen)
    )
}

fn is_unique_violation(e: &onewriter::Error) -> bool {
    matches!(e, onewriter::Error::Job(rusqlite::Error::SqliteFailure(f, _))
        if f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
            || f.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY)
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(s: String) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

const USER_COLUMNS: &str =
    "u.id, u.username, u.email, u.name, u.password_hash, u.disabled, u.created_at";
/// How many columns `USER_COLUMNS` names.
const USER_FIELDS: usize = 7;

fn user_from(row: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(at)?,
        username: row.get(at + 1)?,
        email: row.get(at + 2)?,
        name: row.get(at + 3)?,
        password_hash: row.get(at + 4)?,
        disabled: row.get(at + 5)?,
        created_at: row.get(at + 6)?,
    })
}

const SESSION_COLUMNS: &str = "s.id_hash, s.user_id, s.auth_time, s.expires_at, s.last_seen_at";

fn session_from(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id_hash: row.get(0)?,
        user_id: row.get(1)?,
        auth_time: row.get(2)?,
        expires_at: row.get(3)?,
        last_seen_at: row.get(4)?,
    })
}

const CLIENT_COLUMNS: &str = "client_id, secret_hash, redirect_uris, post_logout_redirect_uris, scopes, grant_types, first_party, created_at";

fn client_from(row: &Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        client_id: row.get(0)?,
        secret_hash: row.get(1)?,
        redirect_uris: parse_list(row.get(2)?)?,
        post_logout_redirect_uris: parse_list(row.get(3)?)?,
        scopes: parse_list(row.get(4)?)?,
        grant_types: parse_list(row.get(5)?)?,
        first_party: row.get(6)?,
        created_at: row.get(7)?,
    })
}

fn revoke_family(
    tx: &Connection,
    family_id: &str,
    now: UnixTime,
    reason: &str,
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "UPDATE token_family SET revoked_at = ?2, revoked_reason = ?3 WHERE id = ?1 AND revoked_at IS NULL",
    )?
    .execute(params![family_id, now, reason])?;
    Ok(())
}

fn user_id_of(tx: &Connection, username: &str) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached("SELECT id FROM user_account WHERE username = ?1")?
        .query_row([username], |r| r.get(0))
        .optional()
}

/// Ends every session of the user and revokes every token family they hold.
fn log_out_user(
    tx: &Connection,
    user_id: &str,
    now: UnixTime,
    reason: &str,
) -> rusqlite::Result<LoggedOut> {
    let sessions = tx
        .prepare_cached("DELETE FROM session WHERE user_id = ?1")?
        .execute([user_id])?;
    let token_families = tx
        .prepare_cached(
            "UPDATE token_family SET revoked_at = ?2, revoked_reason = ?3
             WHERE user_id = ?1 AND revoked_at IS NULL",
        )?
        .execute(params![user_id, now, reason])?;
    Ok(LoggedOut {
        sessions,
        token_families,
    })
}

fn insert_tokens(
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

#[async_trait]
impl Directory for SqliteStore {
    async fn create_user(&self, user: User) -> StoreResult<()> {
        let username = user.username.clone();
        self.db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )?
                .execute(params![
                    user.id,
                    user.username,
                    user.email,
                    user.name,
                    user.password_hash,
                    user.disabled,
                    user.created_at
                ])
            })
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("user {username:?}"))
                } else {
                    engine_error(e)
                }
            })?;
        Ok(())
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM user_account u WHERE u.username = ?1"
            ))?
            .query_row([username], |r| user_from(r, 0))
            .optional()
        })
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {USER_COLUMNS} FROM user_account u ORDER BY u.username"
            ))?
            .query_map([], |r| user_from(r, 0))?
            .collect()
        })
        .await
    }

    async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: UnixTime,
    ) -> StoreResult<LoggedOut> {
        let logout = disabled.then_some((now, "user disabled"));
        self.change_user(username, logout, move |tx, id| {
            tx.prepare_cached("UPDATE user_account SET disabled = ?2 WHERE id = ?1")?
                .execute(params![id, disabled])
        })
        .await
    }

    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: String,
        now: UnixTime,
    ) -> StoreResult<LoggedOut> {
        self.change_user(username, Some((now, "password changed")), move |tx, id| {
            tx.prepare_cached("UPDATE user_account SET password_hash = ?2 WHERE id = ?1")?
                .execute(params![id, password_hash])
        })
        .await
    }

    async fn create_client(&self, client: Client) -> StoreResult<()> {
        let client_id = client.client_id.clone();
        self.db
            .write(move |tx| {
                tx.execute(
                    &format!("INSERT INTO client ({CLIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                    params![
                        client.client_id,
                        client.secret_hash,
                        json_list(&client.redirect_uris),
                        json_list(&client.post_logout_redirect_uris),
                        json_list(&client.scopes),
                        json_list(&client.grant_types),
                        client.first_party,
                        client.created_at
                    ],
                )
            })
            .await
            .map_err(|e| {
                if is_unique_violation(&e) {
                    StoreError::Conflict(format!("client {client_id:?}"))
                } else {
                    engine_error(e)
                }
            })?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let client_id = client_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS} FROM client WHERE client_id = ?1"
            ))?
            .query_row([client_id], client_from)
            .optional()
        })
        .await
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.read(|c| {
            c.prepare_cached(&format!(
                "SELECT {CLIENT_COLUMNS} FROM client ORDER BY client_id"
            ))?
            .query_map([], client_from)?
            .collect()
        })
        .await
    }

    async fn remove_client(&self, client_id: &str) -> StoreResult<()> {
        let id = client_id.to_owned();
        let changed = self
            .write(move |tx| tx.execute("DELETE FROM client WHERE client_id = ?1", [id]))
            .await?;
        found(changed, || format!("client {client_id:?}"))
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        let (user_id, client_id) = (user_id.to_owned(), client_id.to_owned());
        self.read(move |c| {
            c.prepare_cached("SELECT scope FROM consent WHERE user_id = ?1 AND client_id = ?2")?
                .query_row([user_id, client_id], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        let (user_id, client_id, scope) =
            (user_id.to_owned(), client_id.to_owned(), scope.to_owned());
        self.write(move |tx| {
            let before: Option<String> = tx
                .prepare_cached("SELECT scope FROM consent WHERE user_id = ?1 AND client_id = ?2")?
                .query_row([&user_id, &client_id], |r| r.get(0))
                .optional()?;
            let merged = scope::union(before.as_deref().unwrap_or(""), &scope);
            tx.prepare_cached(
                "INSERT INTO consent (user_id, client_id, scope, granted_at) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
            )?
            .execute(params![user_id, client_id, merged, now])
        })
        .await?;
        Ok(())
    }

    async fn consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT client_id, scope, granted_at FROM consent WHERE user_id = ?1 ORDER BY client_id",
            )?
            .query_map([user_id], |r| {
                Ok(Consent {
                    client_id: r.get(0)?,
                    scope: r.get(1)?,
                    granted_at: r.get(2)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<()> {
        let (uid, cid) = (user_id.to_owned(), client_id.to_owned());
        let removed = self
            .write(move |tx| {
                let removed = tx.execute(
                    "DELETE FROM consent WHERE user_id = ?1 AND client_id = ?2",
                    [&uid, &cid],
                )?;
                // What the client got under the consent goes with it.
                tx.execute(
                    "UPDATE token_family SET revoked_at = ?3, revoked_reason = 'consent revoked'
                     WHERE user_id = ?1 AND client_id = ?2 AND revoked_at IS NULL",
                    params![uid, cid, now],
                )?;
                Ok(removed)
            })
            .await?;
        found(removed, || {
            format!("consent of user {user_id} for client {client_id:?}")
        })
    }
}

fn found(changed: usize, what: impl FnOnce() -> String) -> StoreResult<()> {
    if changed == 0 {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}

#[async_trait]
impl Grants for SqliteStore {
    async fn create_session(&self, session: Session) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?
            .execute(params![
                session.id_hash,
                session.user_id,
                session.auth_time,
                session.expires_at,
                session.last_seen_at
            ])
        })
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<(Session, User)>> {
        let id_hash = id_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS}, {USER_COLUMNS}
                 FROM session s JOIN user_account u ON u.id = s.user_id
                 WHERE s.id_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0"
            ))?
            .query_row(params![id_hash, now], |r| {
                Ok((session_from(r)?, user_from(r, 5)?))
            })
            .optional()
        })
        .await
    }

    async fn create_authorization_code(&self, code: AuthorizationCode) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO authorization_code
                 (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time,
                  expires_at, session_id_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
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
                code.session_id_hash
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
    ) -> StoreResult<Redeemed> {
        let code_hash = code_hash.to_owned();
        self.write(move |tx| {
            let row = tx
                .prepare_cached(&format!(
                    "SELECT c.code_hash, c.client_id, c.user_id, c.redirect_uri, c.scope, c.nonce,
                            c.code_challenge, c.auth_time, c.expires_at, c.used_at, c.family_id,
                            c.session_id_hash, {USER_COLUMNS}
                     FROM authorization_code c JOIN user_account u ON u.id = c.user_id
                     WHERE c.code_hash = ?1"
                ))?
                .query_row([&code_hash], |r| {
                    let code = AuthorizationCode {
                        code_hash: r.get(0)?,
                        client_id: r.get(1)?,
                        user_id: r.get(2)?,
                        redirect_uri: r.get(3)?,
                        scope: r.get(4)?,
                        nonce: r.get(5)?,
                        code_challenge: r.get(6)?,
                        auth_time: r.get(7)?,
                        expires_at: r.get(8)?,
                        session_id_hash: r.get(11)?,
                    };
                    let used_at: Option<i64> = r.get(9)?;
                    let family_id: Option<String> = r.get(10)?;
                    Ok((code, used_at, family_id, user_from(r, 12)?))
                })
                .optional()?;
            let Some((code, used_at, family_id, user)) = row else {
                return Ok(Redeemed::Invalid);
            };
            if used_at.is_some() {
                // RFC 6749 §4.1.2: a code is used once; a second use revokes what the first got.
                if let Some(family) = family_id {
                    revoke_family(tx, &family, now, "authorization code replayed")?;
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
            tx.prepare_cached(
                "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at,
                                           session_id_hash)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                family_id,
                code.client_id,
                code.user_id,
                code.nonce,
                code.auth_time,
                now,
                session
            ])?;
            insert_tokens(tx, &family_id, &code.scope, &new, now)?;
            tx.prepare_cached(
                "UPDATE authorization_code SET used_at = ?2, family_id = ?3 WHERE code_hash = ?1",
            )?
            .execute(params![code_hash, now, family_id])?;
            let grant = Grant {
                user,
                client_id: code.client_id,
                scope: code.scope,
                nonce: code.nonce,
                auth_time: code.auth_time,
                family_id,
            };
            Ok(Redeemed::Issued(Box::new(grant)))
        })
        .await
    }

    async fn rotate_refresh_token(
        &self,
        refresh_hash: &str,
        client_id: &str,
        requested_scope: Option<String>,
        new: NewTokens,
        now: UnixTime,
    ) -> StoreResult<Rotated> {
        let refresh_hash = refresh_hash.to_owned();
        let client_id = client_id.to_owned();
        self.write(move |tx| {
            let row = tx
                .prepare_cached(&format!(
                    "SELECT r.family_id, r.scope, r.expires_at, r.rotated_at,
                            f.client_id, f.nonce, f.auth_time, f.revoked_at, {USER_COLUMNS},
                            f.session_id_hash IS NULL OR s.expires_at > ?2
                     FROM refresh_token r
                     JOIN token_family f ON f.id = r.family_id
                     JOIN user_account u ON u.id = f.user_id
                     LEFT JOIN session s ON s.id_hash = f.session_id_hash
                     WHERE r.token_hash = ?1"
                ))?
                .query_row(params![&refresh_hash, now], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, i64>(6)?,
                        r.get::<_, Option<i64>>(7)?,
                        user_from(r, 8)?,
                        // NULL when the session row is gone: false.
                        r.get::<_, Option<bool>>(8 + USER_FIELDS)?.unwrap_or(false),
                    ))
                })
                .optional()?;
            let Some((
                family_id,
                granted,
                expires_at,
                rotated_at,
                owner,
                nonce,
                auth_time,
                revoked_at,
                user,
                session_alive,
            )) = row
            else {
                return Ok(Rotated::Invalid);
            };
            if owner != client_id || revoked_at.is_some() {
                return Ok(Rotated::Invalid);
            }
            if rotated_at.is_some() {
                // RFC 9700 §4.14.2: a rotated token used again means it leaked; revoke the family.
                revoke_family(tx, &family_id, now, "refresh token reused")?;
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
            tx.prepare_cached("UPDATE refresh_token SET rotated_at = ?2 WHERE token_hash = ?1")?
                .execute(params![refresh_hash, now])?;
            insert_tokens(tx, &family_id, &scope, &new, now)?;
            Ok(Rotated::Issued(Box::new(Grant {
                user,
                client_id,
                scope,
                nonce,
                auth_time,
                family_id,
            })))
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
            c.prepare_cached(&format!(
                "SELECT a.scope, a.expires_at, f.client_id, {USER_COLUMNS}
                 FROM access_token a
                 JOIN token_family f ON f.id = a.family_id
                 JOIN user_account u ON u.id = f.user_id
                 WHERE a.token_hash = ?1 AND a.expires_at > ?2 AND a.revoked_at IS NULL
                   AND f.revoked_at IS NULL AND u.disabled = 0"
            ))?
            .query_row(params![token_hash, now], |r| {
                Ok(AccessGrant {
                    scope: r.get(0)?,
                    expires_at: r.get(1)?,
                    client_id: r.get(2)?,
                    user: user_from(r, 3)?,
                })
            })
            .optional()
        })
        .await
    }

    async fn touch_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()> {
        let id_hash = id_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("UPDATE session SET last_seen_at = ?2 WHERE id_hash = ?1")?
                .execute(params![id_hash, now])
        })
        .await?;
        Ok(())
    }

    async fn end_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()> {
        let id_hash = id_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached("DELETE FROM session WHERE id_hash = ?1")?
                .execute([&id_hash])?;
            tx.prepare_cached(
                "UPDATE token_family SET revoked_at = ?2, revoked_reason = 'session ended'
                 WHERE session_id_hash = ?1 AND revoked_at IS NULL",
            )?
            .execute(params![id_hash, now])
        })
        .await?;
        Ok(())
    }

    async fn end_user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<LoggedOut> {
        let user_id = user_id.to_owned();
        self.write(move |tx| log_out_user(tx, &user_id, now, "user logged out"))
            .await
    }

    async fn sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {SESSION_COLUMNS} FROM session s WHERE s.user_id = ?1 AND s.expires_at > ?2
                 ORDER BY s.auth_time DESC"
            ))?
            .query_map(params![user_id, now], session_from)?
            .collect()
        })
        .await
    }

    async fn create_client_token(&self, token: ClientToken) -> StoreResult<()> {
        self.write(move |tx| {
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
        self.read(move |c| {
            // A user's token is active only while its family stands and its user is enabled.
            let user_token = |table: &str, kind: TokenKind, extra: &str| {
                c.prepare_cached(&format!(
                    "SELECT t.scope, t.created_at, t.expires_at, f.client_id, {USER_COLUMNS}
                     FROM {table} t
                     JOIN token_family f ON f.id = t.family_id
                     JOIN user_account u ON u.id = f.user_id
                     WHERE t.token_hash = ?1 AND t.expires_at > ?2 AND {extra}
                       AND f.revoked_at IS NULL AND u.disabled = 0"
                ))?
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
            };
            if let Some(t) = user_token("access_token", TokenKind::Access, "t.revoked_at IS NULL")?
            {
                return Ok(Some(t));
            }
            if let Some(t) =
                user_token("refresh_token", TokenKind::Refresh, "t.rotated_at IS NULL")?
            {
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
                revoke_family(tx, &family, now, "refresh token revoked")?;
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

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<usize> {
        let mut total = 0;
        // Each statement deletes at most PURGE_BATCH rows per transaction; loop until a pass
        // removes nothing, so requests interleave with a large sweep.
        loop {
            let removed = self
                .write(move |tx| {
                    let mut n = 0;
                    for sql in [
                        "DELETE FROM authorization_code WHERE rowid IN
                           (SELECT rowid FROM authorization_code WHERE expires_at <= ?1 LIMIT ?2)",
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
                .await?;
            total += removed;
            if removed == 0 {
                return Ok(total);
            }
        }
    }
}

/// The stored counter of `key`, inside the write transaction.
fn load_counter(tx: &Connection, key: &str) -> rusqlite::Result<Option<Counter>> {
    tx.prepare_cached(
        "SELECT failures, last_failure_at, blocked_until FROM login_throttle WHERE key = ?1",
    )?
    .query_row([key], |r| {
        Ok(Counter {
            failures: r.get(0)?,
            last_failure_at: r.get(1)?,
            blocked_until: r.get(2)?,
        })
    })
    .optional()
}

fn store_counter(tx: &Connection, key: &str, counter: Option<Counter>) -> rusqlite::Result<()> {
    match counter {
        Some(c) => tx
            .prepare_cached(
                "INSERT INTO login_throttle (key, failures, last_failure_at, blocked_until)
                 VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (key) DO UPDATE SET failures = excluded.failures,
                   last_failure_at = excluded.last_failure_at, blocked_until = excluded.blocked_until",
            )?
            .execute(params![key, c.failures, c.last_failure_at, c.blocked_until])?,
        None => tx
            .prepare_cached("DELETE FROM login_throttle WHERE key = ?1")?
            .execute([key])?,
    };
    Ok(())
}

#[async_trait]
impl Throttle for SqliteStore {
    async fn admit_login_attempt(
        &self,
        keys: Vec<ThrottleKey>,
        now: UnixTime,
    ) -> StoreResult<Admission> {
        self.write(move |tx| {
            let mut loaded = Vec::with_capacity(keys.len());
            for k in &keys {
                loaded.push((k, load_counter(tx, &k.key)?));
            }
            let decision = throttle::admit(&loaded, now);
            if let Admission::Admitted(counters) = &decision {
                for (k, c) in keys.iter().zip(counters) {
                    store_counter(tx, &k.key, Some(*c))?;
                }
            }
            Ok(decision)
        })
        .await
    }

    async fn settle_login_success(&self, keys: Vec<ThrottleKey>) -> StoreResult<()> {
        self.write(move |tx| {
            for k in &keys {
                let counter = load_counter(tx, &k.key)?;
                store_counter(tx, &k.key, throttle::settle_success(k, counter))?;
            }
            Ok(())
        })
        .await
    }
}

const AUDIT_COLUMNS: &str = "id, at, kind, actor, subject, client_id, ip, detail";

fn audit_from(r: &Row<'_>) -> rusqlite::Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.get(0)?,
        record: AuditRecord {
            at: r.get(1)?,
            kind: r.get(2)?,
            actor: r.get(3)?,
            subject: r.get(4)?,
            client_id: r.get(5)?,
            ip: r.get(6)?,
            detail: r.get(7)?,
        },
    })
}

#[async_trait]
impl Audit for SqliteStore {
    async fn record(&self, e: AuditRecord) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                e.at,
                e.kind,
                e.actor,
                e.subject,
                e.client_id,
                e.ip,
                e.detail
            ])
        })
        .await?;
        Ok(())
    }

    async fn audit_since(&self, after_id: i64, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_event WHERE id > ?1 ORDER BY id LIMIT ?2"
            ))?
            .query_map(params![after_id, limit], audit_from)?
            .collect()
        })
        .await
    }

    async fn audit_latest(&self, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let mut events: Vec<AuditEvent> = c
                .prepare_cached(&format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_event ORDER BY id DESC LIMIT ?1"
                ))?
                .query_map([limit], audit_from)?
                .collect::<rusqlite::Result<_>>()?;
            events.reverse();
            Ok(events)
        })
        .await
    }
}

/// Rows the expiry sweep deletes at most per transaction, so it never holds the writer long.
const PURGE_BATCH: i64 = 1000;

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

    async fn rotate_signing_key(&self, key: SigningKey, retirement: Retirement) -> StoreResult<()> {
        self.write(move |tx| {
            match retirement {
                Retirement::Gradual { published_until } => tx.execute(
                    "UPDATE signing_key SET retired_at = ?1, publish_until = ?2
                     WHERE retired_at IS NULL OR retired_at > ?1",
                    params![key.signs_from, published_until],
                )?,
                Retirement::Immediate => tx.execute(
                    "UPDATE signing_key
                     SET retired_at = CASE WHEN retired_at IS NULL OR retired_at > ?1 THEN ?1
                                           ELSE retired_at END,
                         publish_until = ?1
                     WHERE publish_until IS NULL OR publish_until > ?1",
                    params![key.created_at],
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
            )
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
            .execute(params![name, candidate, now])?;
            tx.prepare_cached("SELECT value FROM server_secret WHERE name = ?1")?
                .query_row([name], |r| r.get(0))
        })
        .await
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        // A real write through the writer: a wedged writer, a read-only file or a full disk
        // shows here.
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO heartbeat (id, at) VALUES (1, ?1)
                 ON CONFLICT (id) DO UPDATE SET at = excluded.at",
            )?
            .execute([now])
            .map(|_| ())
        })
        .await
    }

    async fn backup(&self, path: &Path) -> StoreResult<()> {
        self.db.backup(path).await.map_err(engine_error)
    }

    async fn close(&self) -> StoreResult<()> {
        self.db.close().await.map_err(engine_error)
    }

    async fn export(&self, now: UnixTime) -> StoreResult<Snapshot> {
        self.read(move |c| {
            fn all<T>(
                c: &Connection,
                sql: &str,
                row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
            ) -> rusqlite::Result<Vec<T>> {
                c.prepare(sql)?.query_map([], row)?.collect()
            }
            let keys: Vec<SigningKey> = all(
                c,
                "SELECT kid, alg, private_der, public_jwk, created_at, retired_at, publish_until,
                        COALESCE(signs_from, created_at)
                 FROM signing_key ORDER BY created_at, kid",
                |r| {
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
                },
            )?;
            let token = |r: &Row<'_>| {
                Ok(TokenRow {
                    token_hash: r.get(0)?,
                    family_id: r.get(1)?,
                    scope: r.get(2)?,
                    created_at: r.get(3)?,
                    expires_at: r.get(4)?,
                    ended_at: r.get(5)?,
                })
            };
            Ok(Snapshot {
                format: snapshot::FORMAT.into(),
                version: snapshot::VERSION,
                exported_at: now,
                users: all(
                    c,
                    &format!("SELECT {USER_COLUMNS} FROM user_account u ORDER BY u.created_at, u.id"),
                    |r| {
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
                    },
                )?,
                clients: all(
                    c,
                    &format!("SELECT {CLIENT_COLUMNS} FROM client ORDER BY client_id"),
                    |r| {
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
                    },
                )?,
                signing_keys: keys.into_iter().map(KeyRow::from).collect(),
                consents: all(
                    c,
                    "SELECT user_id, client_id, scope, granted_at FROM consent ORDER BY user_id, client_id",
                    |r| {
                        Ok(ConsentRow {
                            user_id: r.get(0)?,
                            client_id: r.get(1)?,
                            scope: r.get(2)?,
                            granted_at: r.get(3)?,
                        })
                    },
                )?,
                sessions: all(
                    c,
                    &format!("SELECT {SESSION_COLUMNS} FROM session s ORDER BY s.auth_time, s.id_hash"),
                    |r| {
                        let s = session_from(r)?;
                        Ok(SessionRow {
                            id_hash: s.id_hash,
                            user_id: s.user_id,
                            auth_time: s.auth_time,
                            expires_at: s.expires_at,
                            last_seen_at: s.last_seen_at,
                        })
                    },
                )?,
                token_families: all(
                    c,
                    "SELECT id, client_id, user_id, nonce, auth_time, created_at, revoked_at, revoked_reason,
                            session_id_hash
                     FROM token_family ORDER BY created_at, id",
                    |r| {
                        Ok(FamilyRow {
                            id: r.get(0)?,
                            client_id: r.get(1)?,
                            user_id: r.get(2)?,
                            nonce: r.get(3)?,
                            auth_time: r.get(4)?,
                            created_at: r.get(5)?,
                            revoked_at: r.get(6)?,
                            revoked_reason: r.get(7)?,
                            session_id_hash: r.get(8)?,
                        })
                    },
                )?,
                refresh_tokens: all(
                    c,
                    "SELECT token_hash, family_id, scope, created_at, expires_at, rotated_at
                     FROM refresh_token ORDER BY created_at, token_hash",
                    token,
                )?,
                access_tokens: all(
                    c,
                    "SELECT token_hash, family_id, scope, created_at, expires_at, revoked_at
                     FROM access_token ORDER BY created_at, token_hash",
                    token,
                )?,
                client_tokens: all(
                    c,
                    "SELECT token_hash, client_id, scope, created_at, expires_at, revoked_at
                     FROM client_token ORDER BY created_at, token_hash",
                    |r| {
                        Ok(ClientTokenRow {
                            token_hash: r.get(0)?,
                            client_id: r.get(1)?,
                            scope: r.get(2)?,
                            created_at: r.get(3)?,
                            expires_at: r.get(4)?,
                            revoked_at: r.get(5)?,
                        })
                    },
                )?,
                audit: all(
                    c,
                    &format!("SELECT {AUDIT_COLUMNS} FROM audit_event ORDER BY id"),
                    audit_from,
                )?
                .into_iter()
                .map(|e| e.record)
                .collect(),
            })
        })
        .await
    }

    async fn import(&self, snapshot: Snapshot) -> StoreResult<()> {
        if let Some(problem) = snapshot.incompatibility() {
            return Err(StoreError::Corrupt(problem));
        }
        let keys = snapshot
            .signing_keys
            .iter()
            .map(|k| k.private_der().map(|der| (k, der)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Corrupt)?
            .into_iter()
            .map(|(k, der)| (k.clone(), der))
            .collect::<Vec<_>>();
        let imported = self
            .write(move |tx| {
                let occupied: i64 = tx.query_row(
                    "SELECT (SELECT count(*) FROM user_account) + (SELECT count(*) FROM client)
                          + (SELECT count(*) FROM signing_key)",
                    [],
                    |r| r.get(0),
                )?;
                if occupied > 0 {
                    return Ok(false);
                }
                let s = snapshot;
                for u in &s.users {
                    tx.execute(
                        "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![u.id, u.username, u.email, u.name, u.password_hash, u.disabled, u.created_at],
                    )?;
                }
                for c in &s.clients {
                    tx.execute(
                        &format!("INSERT INTO client ({CLIENT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"),
                        params![
                            c.client_id,
                            c.secret_hash,
                            json_list(&c.redirect_uris),
                            json_list(&c.post_logout_redirect_uris),
                            json_list(&c.scopes),
                            json_list(&c.grant_types),
                            c.first_party,
                            c.created_at
                        ],
                    )?;
                }
                for (k, der) in &keys {
                    tx.execute(
                        "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, retired_at, publish_until, signs_from)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![k.kid, k.alg, der, k.public_jwk, k.created_at, k.retired_at, k.publish_until, k.signs_from()],
                    )?;
                }
                for c in &s.consents {
                    tx.execute(
                        "INSERT INTO consent (user_id, client_id, scope, granted_at) VALUES (?1, ?2, ?3, ?4)",
                        params![c.user_id, c.client_id, c.scope, c.granted_at],
                    )?;
                }
                for x in &s.sessions {
                    tx.execute(
                        "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![x.id_hash, x.user_id, x.auth_time, x.expires_at, x.last_seen_at],
                    )?;
                }
                for f in &s.token_families {
                    tx.execute(
                        "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at, revoked_at, revoked_reason, session_id_hash)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        params![f.id, f.client_id, f.user_id, f.nonce, f.auth_time, f.created_at, f.revoked_at, f.revoked_reason, f.session_id_hash],
                    )?;
                }
                for (table, ended, rows) in [
                    ("refresh_token", "rotated_at", &s.refresh_tokens),
                    ("access_token", "revoked_at", &s.access_tokens),
                ] {
                    let sql = format!(
                        "INSERT INTO {table} (token_hash, family_id, scope, created_at, expires_at, {ended})
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
                    );
                    for t in rows {
                        tx.execute(
                            &sql,
                            params![t.token_hash, t.family_id, t.scope, t.created_at, t.expires_at, t.ended_at],
                        )?;
                    }
                }
                for t in &s.client_tokens {
                    tx.execute(
                        "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at, revoked_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![t.token_hash, t.client_id, t.scope, t.created_at, t.expires_at, t.revoked_at],
                    )?;
                }
                for e in &s.audit {
                    tx.execute(
                        "INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![e.at, e.kind, e.actor, e.subject, e.client_id, e.ip, e.detail],
                    )?;
                }
                Ok(true)
            })
            .await?;
        if imported {
            Ok(())
        } else {
            Err(StoreError::NotEmpty)
        }
    }

    fn engine_metrics(&self) -> Vec<EngineMetric> {
        let s = self.db.stats();
        let gauge = |name, help, value: f64| EngineMetric {
            name,
            help,
            labels: Vec::new(),
            value,
        };
        // p50, p99, p99.9 and max, as a Prometheus summary's quantiles.
        let quantiles = |name, help, values: [f64; 4]| {
            ["0.5", "0.99", "0.999", "1"]
                .into_iter()
                .zip(values)
                .map(move |(q, value)| EngineMetric {
                    name,
                    help,
                    labels: vec![("quantile", q)],
                    value,
                })
        };
        let secs = |p: &onewriter::Percentiles<Duration>| {
            [p.p50, p.p99, p.p999, p.max].map(|d| d.as_secs_f64())
        };
        let b = &s.batch_size;
        let batch = [b.p50, b.p99, b.p999, b.max].map(|n| n as f64);
        let mut out = vec![
            gauge(
                "onewriter_write_queue_depth",
                "Write jobs waiting for the writer",
                s.write_queue_depth as f64,
            ),
            gauge(
                "onewriter_read_queue_depth",
                "Read jobs waiting for a reader",
                s.read_queue_depth as f64,
            ),
            gauge("onewriter_writes_total", "Write jobs run", s.writes as f64),
            gauge(
                "onewriter_write_errors_total",
                "Write jobs that failed",
                s.write_errors as f64,
            ),
            gauge("onewriter_reads_total", "Read jobs run", s.reads as f64),
            gauge(
                "onewriter_read_errors_total",
                "Read jobs that failed",
                s.read_errors as f64,
            ),
            gauge(
                "onewriter_cancelled_total",
                "Jobs skipped because their caller left",
                s.cancelled as f64,
            ),
            gauge(
                "onewriter_overloaded_total",
                "Jobs refused past their queue deadline",
                s.overloaded as f64,
            ),
            gauge(
                "onewriter_commits_total",
                "Transactions committed by the writer",
                s.commits as f64,
            ),
            gauge(
                "onewriter_busy_waits_total",
                "Times the writer waited for another process's lock",
                s.busy_waits as f64,
            ),
            gauge(
                "onewriter_busy_timeouts_total",
                "Times the writer gave up waiting for another process",
                s.busy_timeouts as f64,
            ),
            gauge(
                "onewriter_checkpoints_total",
                "WAL checkpoints run",
                s.checkpoints as f64,
            ),
            gauge(
                "onewriter_wal_handovers_total",
                "Times the writer paused for a checkpoint at the WAL size limit",
                s.handovers as f64,
            ),
            gauge(
                "onewriter_wal_handover_seconds_total",
                "The writer's total pause for WAL handovers",
                s.handover_time.as_secs_f64(),
            ),
            gauge(
                "onewriter_wal_handover_max_seconds",
                "The writer's longest pause for one WAL handover",
                s.handover_max.as_secs_f64(),
            ),
        ];
        out.extend(quantiles(
            "onewriter_batch_size",
            "Write jobs per committed transaction",
            batch,
        ));
        out.extend(quantiles(
            "onewriter_write_wait_seconds",
            "Time a write job waited in the queue",
            secs(&s.write_wait),
        ));
        out.extend(quantiles(
            "onewriter_write_run_seconds",
            "Time a write job ran",
            secs(&s.write_run),
        ));
        out.extend(quantiles(
            "onewriter_read_wait_seconds",
            "Time a read job waited in the queue",
            secs(&s.read_wait),
        ));
        out.extend(quantiles(
            "onewriter_read_run_seconds",
            "Time a read job ran",
            secs(&s.read_run),
        ));
        out
    }
}
