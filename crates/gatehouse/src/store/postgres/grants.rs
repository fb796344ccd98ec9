//! Authorization codes and tokens: loaded and locked here (`FOR UPDATE`), decided in
//! `oidc::grant`, applied here. The common rotation, the most frequent write, is read without
//! the lock and applied only if what it was decided on still holds (`rotate_current`).

use std::net::IpAddr;

use async_trait::async_trait;
use sqlx::{PgConnection, Row};

use super::audit::{insert_audit, insert_outcome_audit};
use super::directory::{first_not_taken, once_columns, take_once, take_once_sql};
use super::rows::user_from;
use super::transaction::{is_retryable, with_retrying_transaction};
use super::{PgStore, db_error};
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
    self, FamilyTokens, PresentedState, RefreshRequest, RefreshRow, RetryRow, Rotation, StoredToken,
};
use crate::oidc::resource;
use crate::store::columns::{
    REFRESH_FAMILY_FIELDS, USER_FIELDS, active_user_token, family_tokens, may_use_client,
    refresh_family_columns, user_columns,
};
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

/// Stores the access token, and the refresh token as its new family's first one.
pub(super) async fn insert_tokens(
    c: &mut PgConnection,
    grant: &Grant,
    tokens: &NewTokens,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let stored = store_tokens(
        c,
        (&grant.family_id, &grant.scope, &grant.resources),
        tokens,
        now,
        Replacing::Nothing,
        None,
        None,
    )
    .await?;
    matches!(stored, Ok(true))
        .then_some(())
        .ok_or(sqlx::Error::RowNotFound)
}

/// The family's refresh token a store of new tokens replaces.
enum Replacing<'a> {
    /// None: the family is new, or its token is of an earlier release (recorded by its own row).
    Nothing,
    /// The family's current token, as read for the decision. It is kept, with the answer in
    /// the new tokens' `retry`, for a retry (`oidc::retry`); and the tokens are stored only if
    /// the family still has it and is not revoked.
    Current(&'a StoredToken),
}

/// As [`insert_tokens`], replacing the family's token `replacing`, with `record`, the audit
/// record of the tokens issued, and taking first the one-time JWTs of the request
/// (`tokens.once`) that `taking` (the client) sent, unless that is `None` (they were taken
/// already). [`UsedBefore`], with nothing stored, when one of them was taken before; else
/// whether the tokens were stored: not when `replacing` is no longer the family's current token
/// or the family was revoked, which a rotation that read the family without its lock can find
/// (a concurrent one rotated or revoked it meanwhile).
async fn store_tokens(
    c: &mut PgConnection,
    (family_id, scope, resources): (&str, &str, &[String]),
    tokens: &NewTokens,
    now: UnixTime,
    replacing: Replacing<'_>,
    record: Option<&AuditRecord>,
    taking: Option<&str>,
) -> Result<Result<bool, UsedBefore>, sqlx::Error> {
    let current = match replacing {
        Replacing::Nothing => None,
        Replacing::Current(token) => Some(token),
    };
    let retry = tokens.retry.as_ref().filter(|_| current.is_some());
    let once = if taking.is_some() {
        tokens.once.as_slice()
    } else {
        &[]
    };
    let (once_keys, once_until) = once_columns(once);
    // One statement, one round trip to the server and one commit, for the one-time JWTs, the
    // access token, the refresh token (if any), the answer kept for a retry and the record;
    // `f` is the family's row when the refresh token replaced its current one, and nothing
    // else is written without it, nor when one of the JWTs was taken before (`taken`).
    //
    // The previous token and the answer kept for a retry live in `token_retry`, so that a
    // rotation changes no indexed column of the family's row (a HOT update). Without an
    // answer to keep, none is: the family's kept answer, if any, goes when a new refresh
    // token replaces the one it answered for.
    let (stored, taken): (i64, Vec<String>) = sqlx::query_as(concat!(
        "WITH once AS (",
        take_once_sql!("$20", "$21", "$22", "$4"),
        "), taken AS (
             SELECT count(*) = cardinality($21::TEXT[]) AS all_taken FROM once
         ), f AS (
             UPDATE token_family SET refresh_hash = $2, refresh_scope = $3,
                                     refresh_created_at = $4, refresh_expires_at = $5,
                                     access_expires_at = GREATEST(access_expires_at, $9)
             WHERE id = $1 AND $2::TEXT IS NOT NULL AND revoked_at IS NULL
               AND ($17::TEXT IS NULL OR refresh_hash = $17)
               AND (SELECT all_taken FROM taken)
             RETURNING id
         ), without_refresh AS (
             UPDATE token_family SET access_expires_at = GREATEST(access_expires_at, $9)
             WHERE id = $1 AND $2::TEXT IS NULL AND (SELECT all_taken FROM taken)
             RETURNING id
         ), stored AS (
             SELECT id FROM f UNION ALL SELECT id FROM without_refresh
         ), access AS (
             INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at,
                                       resources)
             SELECT $8, id, $3, $4, $9, $23 FROM stored
         ), kept AS (
             INSERT INTO token_retry (family_id, previous_hash, previous_scope,
                                      previous_expires_at, retry_sealed, retry_until)
             SELECT id, $17, $18, $19, $6, $7 FROM f WHERE $6::BYTEA IS NOT NULL
             ON CONFLICT (family_id) DO UPDATE SET
                 previous_hash = EXCLUDED.previous_hash,
                 previous_scope = EXCLUDED.previous_scope,
                 previous_expires_at = EXCLUDED.previous_expires_at,
                 retry_sealed = EXCLUDED.retry_sealed,
                 retry_until = EXCLUDED.retry_until
         ), forgotten AS (
             DELETE FROM token_retry
             WHERE family_id = $1 AND $6::BYTEA IS NULL AND EXISTS (SELECT 1 FROM f)
         ), audit AS (
             INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail)
             SELECT $10, $11, $12, $13, $14, $15, $16 FROM stored WHERE $11::TEXT IS NOT NULL
         )
         SELECT (SELECT count(*) FROM stored), ARRAY(SELECT jti_hash FROM once)"
    ))
    .bind(family_id)
    .bind(&tokens.refresh_token_hash)
    .bind(scope)
    .bind(now)
    .bind(tokens.refresh_expires_at)
    .bind(retry.map(|r| &r.sealed))
    .bind(retry.map(|r| r.until))
    .bind(&tokens.access_token_hash)
    .bind(tokens.access_expires_at)
    .bind(record.map(|r| r.at))
    .bind(record.map(|r| r.kind))
    .bind(record.map(|r| &r.actor))
    .bind(record.and_then(|r| r.subject.as_ref()))
    .bind(record.and_then(|r| r.client_id.as_ref()))
    .bind(record.and_then(|r| r.ip.as_ref()))
    .bind(record.and_then(|r| r.detail.as_ref()))
    .bind(current.map(|t| &t.hash))
    .bind(current.map(|t| &t.scope))
    .bind(current.map(|t| t.expires_at))
    .bind(taking)
    .bind(once_keys)
    .bind(once_until)
    .bind(resource::column(resources))
    .fetch_one(&mut *c)
    .await?;
    Ok(first_not_taken(once, &taken).map(|()| stored > 0))
}

const ACTIVE_ACCESS_TOKEN: &str = active_user_token!(
    "access_token",
    "t.resources",
    "t.revoked_at IS NULL",
    "$1",
    "$2"
);
const ACTIVE_REFRESH_TOKEN: &str = active_user_token!(
    "refresh_token",
    "CAST(NULL AS TEXT)",
    "t.rotated_at IS NULL",
    "$1",
    "$2"
);
const ACTIVE_FAMILY_REFRESH_TOKEN: &str = active_user_token!(family "$1", "$2", "$3");

/// A token `sql` finds by `keys` (its hash or, for the family format, its family and hash),
/// then `now`.
async fn active_user_token(
    c: &mut PgConnection,
    sql: &'static str,
    kind: TokenKind,
    keys: &[&str],
    now: UnixTime,
) -> Result<Option<TokenInfo>, sqlx::Error> {
    let mut query = sqlx::query(sql);
    for key in keys {
        query = query.bind(*key);
    }
    query
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
                resources: resource::split(r.try_get::<Option<&str>, _>(4 + USER_FIELDS)?),
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
        ", c.amr, c.dpop_jkt, c.resources
         FROM authorization_code c JOIN user_account u ON u.id = c.user_id
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
                dpop_jkt: r.try_get(14 + USER_FIELDS)?,
                resources: resource::split(r.try_get::<Option<&str>, _>(15 + USER_FIELDS)?),
            },
            used: r.try_get(9)?,
            family_id: r.try_get(10)?,
            user: user_from(&r, 12)?,
            access_allowed: r.try_get(12 + USER_FIELDS)?,
        })
    })
    .transpose()
}

/// The family's part of a refresh decision (`refresh_family_columns!`, from column 0), with
/// the presented token's own state.
fn refresh_row(
    r: &sqlx::postgres::PgRow,
    family_id: String,
    token: PresentedState,
) -> Result<RefreshRow, sqlx::Error> {
    Ok(RefreshRow {
        family_id,
        scope: token.scope,
        expires_at: token.expires_at,
        rotated: token.rotated,
        retry: token.retry,
        client_id: r.try_get(0)?,
        nonce: r.try_get(1)?,
        auth_time: r.try_get(2)?,
        family_revoked: r.try_get(3)?,
        user: user_from(r, 4)?,
        access_allowed: r.try_get(4 + USER_FIELDS)?,
        // NULL when the session row is gone: not alive.
        session_alive: r
            .try_get::<Option<bool>, _>(5 + USER_FIELDS)?
            .unwrap_or(false),
        amr: Amr::from_stored(r.try_get::<&str, _>(6 + USER_FIELDS)?),
        resources: resource::split(r.try_get::<Option<&str>, _>(7 + USER_FIELDS)?),
        // NULL when the client is gone: its family is refused as another client's anyway.
        client_requires_confirmed_address: r
            .try_get::<Option<bool>, _>(8 + USER_FIELDS)?
            .unwrap_or(false),
        account_domains: signup::domains_from_column(
            r.try_get::<Option<&str>, _>(9 + USER_FIELDS)?
                .unwrap_or_default(),
        ),
    })
}

/// The statement reading a family's row for a refresh decision: `refresh_family_columns!`,
/// then the family's current refresh token; `$1` the family, `$2` the time.
macro_rules! family_refresh_sql {
    ($($lock:literal)?) => {
        concat!(
            "SELECT ",
            refresh_family_columns!("$2"),
            ", f.refresh_hash, f.refresh_scope, f.refresh_expires_at
             FROM token_family f
             JOIN user_account u ON u.id = f.user_id
             LEFT JOIN session s ON s.id_hash = f.session_id_hash
             WHERE f.id = $1",
            $($lock)?
        )
    };
}

/// A family's row by `sql` (a `family_refresh_sql!`), with its current refresh token.
async fn read_family(
    c: &mut PgConnection,
    sql: &'static str,
    family_id: &str,
    now: UnixTime,
) -> Result<Option<(sqlx::postgres::PgRow, FamilyTokens)>, sqlx::Error> {
    let Some(r) = sqlx::query(sql)
        .bind(family_id)
        .bind(now)
        .fetch_optional(&mut *c)
        .await?
    else {
        return Ok(None);
    };
    let at = REFRESH_FAMILY_FIELDS;
    let tokens = family_tokens((
        r.try_get(at)?,
        r.try_get(at + 1)?,
        r.try_get(at + 2)?,
        None,
        None,
        None,
        None,
        None,
    ));
    Ok(Some((r, tokens)))
}

/// A token of the family format, judged by its family's row (`refresh_token::generation`),
/// with the family's current token. The row lock makes concurrent rotations in one family
/// take turns: under READ COMMITTED the second reads the locked row as the first left it, so
/// it finds its token rotated.
async fn lock_family_refresh(
    c: &mut PgConnection,
    family_id: &str,
    presented_hash: &str,
    now: UnixTime,
) -> Result<Option<(RefreshRow, Option<StoredToken>)>, sqlx::Error> {
    let sql = family_refresh_sql!(" FOR UPDATE OF f");
    let Some((r, mut tokens)) = read_family(c, sql, family_id, now).await? else {
        return Ok(None);
    };
    if tokens.current_if(presented_hash).is_none() {
        // The token before the current one, with its kept answer, by a statement of its own:
        // under READ COMMITTED it sees the rotation this one may have waited for on the lock,
        // which a join in the locking statement would not. Rotations, which alone keep an
        // answer, hold the family's lock; the sweep only deletes answers past their window.
        tokens.previous = sqlx::query_as::<_, (String, String, i64, Vec<u8>, i64)>(
            "SELECT previous_hash, previous_scope, previous_expires_at, retry_sealed, retry_until
             FROM token_retry WHERE family_id = $1",
        )
        .bind(family_id)
        .fetch_optional(&mut *c)
        .await?
        .map(|(hash, scope, expires_at, sealed, until)| {
            (
                StoredToken {
                    hash,
                    scope,
                    expires_at,
                },
                sealed,
                until,
            )
        });
    }
    let token = refresh_token::generation(&tokens, presented_hash);
    let row = refresh_row(&r, family_id.to_owned(), token)?;
    Ok(Some((row, tokens.current)))
}

/// The family's row as it is, without a lock, if `presented_hash` is its current token's: the
/// common case of a rotation, which [`store_tokens`] then completes only if the family still
/// has that token and is not revoked.
async fn read_current_family_refresh(
    c: &mut PgConnection,
    family_id: &str,
    presented_hash: &str,
    now: UnixTime,
) -> Result<Option<(RefreshRow, StoredToken)>, sqlx::Error> {
    let Some((r, tokens)) = read_family(c, family_refresh_sql!(), family_id, now).await? else {
        return Ok(None);
    };
    let Some(current) = tokens.current_if(presented_hash).cloned() else {
        return Ok(None);
    };
    let token = refresh_token::generation(&tokens, presented_hash);
    Ok(Some((
        refresh_row(&r, family_id.to_owned(), token)?,
        current,
    )))
}

/// A refresh token of an earlier release, by its own row, locked: concurrent rotations of it
/// take turns, the second reading the first's `rotated_at`.
async fn lock_legacy_refresh(
    c: &mut PgConnection,
    refresh_hash: &str,
    now: UnixTime,
) -> Result<Option<RefreshRow>, sqlx::Error> {
    let row = sqlx::query(concat!(
        "SELECT ",
        refresh_family_columns!("$2"),
        ", r.family_id, r.scope, r.expires_at, r.rotated_at IS NOT NULL, r.retry_until,
           r.retry_sealed, r.successor_hash
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
    let at = REFRESH_FAMILY_FIELDS;
    let family_id: String = r.try_get(at)?;
    let kept: (Option<UnixTime>, Option<Vec<u8>>, Option<String>) =
        (r.try_get(at + 4)?, r.try_get(at + 5)?, r.try_get(at + 6)?);
    // The successor is read by a statement of its own: under READ COMMITTED it sees the
    // rotation that this one waited for on the lock, which a join in the locking statement
    // would not (its other tables are read from the snapshot taken before the wait). It is
    // the family's current token (of the family format) or, for a rotation made before the
    // upgrade, a row of its own.
    let retry = match kept {
        (Some(until), Some(sealed), Some(successor)) => {
            sqlx::query_as::<_, (bool, Option<String>)>(
                "SELECT CASE WHEN n.token_hash IS NOT NULL THEN n.rotated_at IS NOT NULL
                             ELSE f.refresh_hash IS DISTINCT FROM $2 END,
                        COALESCE(n.scope, f.refresh_scope)
                 FROM token_family f LEFT JOIN refresh_token n ON n.token_hash = $2
                 WHERE f.id = $1",
            )
            .bind(&family_id)
            .bind(successor)
            .fetch_optional(&mut *c)
            .await?
            .and_then(|(successor_used, scope)| {
                Some(RetryRow {
                    until,
                    successor_used,
                    successor_scope: scope?,
                    sealed,
                })
            })
        }
        _ => None,
    };
    let token = PresentedState {
        scope: r.try_get(at + 1)?,
        expires_at: r.try_get(at + 2)?,
        rotated: r.try_get(at + 3)?,
        retry,
    };
    refresh_row(&r, family_id, token).map(Some)
}

/// Writes the record of a revocation's `outcome` (`audit::revocation`), and returns it.
async fn revoked(
    c: &mut PgConnection,
    outcome: Revocation,
    client_id: &str,
    now: UnixTime,
    ip: Option<IpAddr>,
) -> Result<Revocation, sqlx::Error> {
    let requester = Requester {
        at: now,
        client_id,
        ip,
    };
    insert_outcome_audit(&mut *c, audit::revocation(outcome, &requester)).await?;
    Ok(outcome)
}

pub(super) async fn insert_family(
    c: &mut PgConnection,
    family: &NewFamily,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at,
                                   session_id_hash, amr, resources)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&family.id)
    .bind(&family.client_id)
    .bind(&family.user_id)
    .bind(&family.nonce)
    .bind(family.auth_time)
    .bind(now)
    .bind(&family.session_id_hash)
    .bind(family.amr.stored())
    .bind(resource::column(&family.resources))
    .execute(c)
    .await?;
    Ok(())
}

/// What the common rotation ([`rotate_current`]) came to.
enum Common {
    /// Decided: rotated, or one of the request's one-time JWTs was taken before.
    Decided(Result<Rotated, UsedBefore>),
    /// Not the common case, or what it was decided on changed: decided again under the
    /// family's lock. `taken`: the request's one-time JWTs were taken meanwhile.
    Undecided { taken: bool },
}

/// The common rotation, in two statements and no transaction: the family's row read without
/// a lock and, when the token presented is its current one and the decision is to issue, the
/// request's one-time JWTs taken and the new tokens and their record written by one statement,
/// which writes the tokens only if the JWTs were not taken before and the family still has
/// that token and is not revoked. Every other case, and a rotation or revocation committed
/// between the two, is undecided: the rotation is then decided again under the family's lock,
/// as the rare cases (a retry, reuse, a refusal) always are. A transaction would cost two more
/// round trips to the server and the lock a write of the row's header.
async fn rotate_current(
    pool: &sqlx::PgPool,
    family: &str,
    presented_hash: &str,
    request: RefreshRequest<'_>,
    new: &NewTokens,
    requester: &Requester<'_>,
) -> Result<Common, sqlx::Error> {
    let undecided = Ok(Common::Undecided { taken: false });
    // The family's update is what makes the write conditional: without a new refresh token
    // there is none (a client refused refresh tokens would not get this far).
    if new.refresh_token_hash.is_none() {
        return undecided;
    }
    let now = requester.at;
    let mut c = pool.acquire().await?;
    let Some((row, current)) =
        read_current_family_refresh(&mut c, family, presented_hash, now).await?
    else {
        return undecided;
    };
    let grant = match refresh_token::decide(Some(row), request, now) {
        Rotation::Issue(grant) if grant.family_id == new.family_id => grant,
        _ => return undecided,
    };
    let (scope, resources) = (grant.scope.clone(), grant.resources.clone());
    let rotated = Rotated::Issued(grant);
    let record = audit::refresh(&rotated, requester);
    let replacing = Replacing::Current(&current);
    let taking = Some(request.client_id);
    let stored = store_tokens(
        &mut c,
        (family, &scope, &resources),
        new,
        now,
        replacing,
        record.as_ref(),
        taking,
    )
    .await?;
    Ok(match stored {
        Ok(true) => Common::Decided(Ok(rotated)),
        Ok(false) => Common::Undecided { taken: true },
        Err(used) => Common::Decided(Err(used)),
    })
}

#[async_trait]
impl Grants for PgStore {
    async fn create_authorization_code(&self, code: AuthorizationCode) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO authorization_code
             (code_hash, client_id, user_id, redirect_uri, scope, nonce, code_challenge, auth_time,
              expires_at, session_id_hash, amr, dpop_jkt, resources)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
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
        .bind(&code.dpop_jkt)
        .bind(resource::column(&code.resources))
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
    ) -> StoreResult<Result<Redeemed, UsedBefore>> {
        with_retrying_transaction(&self.pool, |c| {
            let (code_hash, request, new) = (code_hash.to_owned(), request.clone(), new.clone());
            Box::pin(async move {
                if let Err(used) = take_once(c, &request.client_id, &new.once, now).await? {
                    return Ok(Err(used));
                }
                let row = lock_code(c, &code_hash).await?;
                let redeemed =
                    match authorization_code::decide(row, &request, new.family_id.clone(), now) {
                        Redemption::Issue { family, grant } => {
                            insert_family(c, &family, now).await?;
                            insert_tokens(c, &grant, &new, now).await?;
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
                        Redemption::Denied { username } => Redeemed::Denied { username },
                        Redemption::OutOfTarget => Redeemed::OutOfTarget,
                        Redemption::Replayed { family, username } => {
                            if let Some(family) = family {
                                revoke_family(c, &family, now, RevokeReason::CodeReplayed).await?;
                            }
                            Redeemed::Replayed { username }
                        }
                    };
                let requester = Requester {
                    at: now,
                    client_id: &request.client_id,
                    ip,
                };
                insert_outcome_audit(&mut *c, audit::redemption(&redeemed, &requester)).await?;
                Ok(Ok(redeemed))
            })
        })
        .await
        .map_err(db_error)
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
        let mut taken = false;
        if let Some(family) = &presented.family_id {
            let request = RefreshRequest {
                client_id,
                scope: asked.scope.as_deref(),
                resources: &asked.resources,
            };
            let requester = Requester {
                at: now,
                client_id,
                ip,
            };
            match rotate_current(
                &self.pool,
                family,
                &presented.hash,
                request,
                &new,
                &requester,
            )
            .await
            {
                Ok(Common::Decided(outcome)) => return Ok(outcome),
                // Decided again under the family's lock, below.
                Ok(Common::Undecided { taken: t }) => taken = t,
                Err(e) if is_retryable(&e) => {}
                Err(e) => return Err(db_error(e)),
            }
        }
        with_retrying_transaction(&self.pool, |c| {
            let (presented, client_id, asked, new) = (
                presented.clone(),
                client_id.to_owned(),
                asked.clone(),
                new.clone(),
            );
            Box::pin(async move {
                if !taken && let Err(used) = take_once(c, &client_id, &new.once, now).await? {
                    return Ok(Err(used));
                }
                let (row, current) = match &presented.family_id {
                    Some(family) => {
                        match lock_family_refresh(c, family, &presented.hash, now).await? {
                            Some((row, current)) => (Some(row), current),
                            None => (None, None),
                        }
                    }
                    None => (lock_legacy_refresh(c, &presented.hash, now).await?, None),
                };
                let request = RefreshRequest {
                    client_id: &client_id,
                    scope: asked.scope.as_deref(),
                    resources: &asked.resources,
                };
                let requester = Requester {
                    at: now,
                    client_id: &client_id,
                    ip,
                };
                // The outcome, and whether its record was written with the tokens.
                let (rotated, recorded) = match refresh_token::decide(row, request, now) {
                    // New tokens go only into the family they were minted for.
                    Rotation::Issue(grant) if grant.family_id != new.family_id => {
                        (Rotated::Invalid, false)
                    }
                    Rotation::Issue(grant) => {
                        let replacing = match (&presented.family_id, &current) {
                            (Some(_), Some(current)) => Replacing::Current(current),
                            _ => Replacing::Nothing,
                        };
                        if presented.family_id.is_none() {
                            // A token of an earlier release: its row records the rotation,
                            // its successor and the answer for a retry.
                            let retry = new.retry.as_ref();
                            sqlx::query(
                                "UPDATE refresh_token SET rotated_at = $2, successor_hash = $3,
                                     retry_sealed = $4, retry_until = $5
                                 WHERE token_hash = $1",
                            )
                            .bind(&presented.hash)
                            .bind(now)
                            .bind(&new.refresh_token_hash)
                            .bind(retry.map(|r| &r.sealed))
                            .bind(retry.map(|r| r.until))
                            .execute(&mut *c)
                            .await?;
                        }
                        let (family, scope, resources) = (
                            grant.family_id.clone(),
                            grant.scope.clone(),
                            grant.resources.clone(),
                        );
                        let rotated = Rotated::Issued(grant);
                        let record = audit::refresh(&rotated, &requester);
                        let stored = store_tokens(
                            c,
                            (&family, &scope, &resources),
                            &new,
                            now,
                            replacing,
                            record.as_ref(),
                            None,
                        )
                        .await?;
                        if let Ok(true) = stored {
                            (rotated, true)
                        } else {
                            // Under the family's lock its token and state are as read; a token
                            // of an earlier release, locked by its own row, may find its family
                            // revoked since: refused, as the family's tokens are.
                            (Rotated::Invalid, false)
                        }
                    }
                    Rotation::Invalid => (Rotated::Invalid, false),
                    Rotation::ScopeExceeded => (Rotated::ScopeExceeded, false),
                    Rotation::TargetExceeded => (Rotated::TargetExceeded, false),
                    Rotation::Denied { username } => (Rotated::Denied { username }, false),
                    Rotation::Unconfirmed { username } => {
                        (Rotated::Unconfirmed { username }, false)
                    }
                    Rotation::Reuse { family, username } => {
                        revoke_family(c, &family, now, RevokeReason::RefreshReused).await?;
                        (Rotated::Reused { username }, false)
                    }
                    Rotation::Replay { sealed, scope } => {
                        (Rotated::Retried { sealed, scope }, false)
                    }
                };
                if !recorded {
                    insert_outcome_audit(&mut *c, audit::refresh(&rotated, &requester)).await?;
                }
                Ok(Ok(rotated))
            })
        })
        .await
        .map_err(db_error)
    }

    async fn refresh_token_family(&self, token_hash: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT family_id FROM refresh_token WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
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
            &[token_hash],
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
                resources: t.resources,
            })
        }))
    }

    async fn create_client_token(
        &self,
        t: ClientToken,
        once: Vec<OneTime>,
        record: AuditRecord,
    ) -> StoreResult<Result<(), UsedBefore>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let taken = take_once(&mut tx, &t.client_id, &once, record.at)
            .await
            .map_err(db_error)?;
        if let Err(used) = taken {
            tx.commit().await.map_err(db_error)?;
            return Ok(Err(used));
        }
        sqlx::query(
            "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at,
                                       resources)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&t.token_hash)
        .bind(&t.client_id)
        .bind(&t.scope)
        .bind(t.created_at)
        .bind(t.expires_at)
        .bind(resource::column(&t.resources))
        .execute(&mut *tx)
        .await
        .map_err(db_error)?;
        insert_audit(&mut tx, &record).await.map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(Ok(()))
    }

    async fn introspect(
        &self,
        presented: &Presented,
        now: UnixTime,
    ) -> StoreResult<Option<TokenInfo>> {
        let token_hash = presented.hash.as_str();
        // One snapshot for the three lookups, as one SQLite read job sees: under PostgreSQL's
        // default READ COMMITTED every statement would see its own.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let found = async {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            if let Some(family) = &presented.family_id {
                return active_user_token(
                    &mut tx,
                    ACTIVE_FAMILY_REFRESH_TOKEN,
                    TokenKind::Refresh,
                    &[family, token_hash],
                    now,
                )
                .await;
            }
            if let Some(t) = active_user_token(
                &mut tx,
                ACTIVE_ACCESS_TOKEN,
                TokenKind::Access,
                &[token_hash],
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
                &[token_hash],
                now,
            )
            .await?
            {
                return Ok(Some(t));
            }
            sqlx::query(
                "SELECT scope, created_at, expires_at, client_id, resources FROM client_token
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
                    resources: resource::split(r.try_get::<Option<&str>, _>(4)?),
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
        presented: &Presented,
        client_id: &str,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Revocation> {
        with_retrying_transaction(&self.pool, |c| {
            let (presented, client_id) = (presented.clone(), client_id.to_owned());
            Box::pin(async move {
                let token_hash = presented.hash;
                // RFC 7009 §2.1: only the client the token was issued to may revoke it; the
                // owner check is part of each statement. A token of the family format names
                // its family (its MAC verified), whichever generation it is; one of an earlier
                // release is found by its hash.
                let family: Option<String> = match presented.family_id {
                    Some(family) => {
                        sqlx::query_scalar(
                            "SELECT id FROM token_family WHERE id = $1 AND client_id = $2",
                        )
                        .bind(family)
                        .bind(&client_id)
                        .fetch_optional(&mut *c)
                        .await?
                    }
                    None => {
                        sqlx::query_scalar(
                            "SELECT r.family_id FROM refresh_token r
                             JOIN token_family f ON f.id = r.family_id
                             WHERE r.token_hash = $1 AND f.client_id = $2",
                        )
                        .bind(&token_hash)
                        .bind(&client_id)
                        .fetch_optional(&mut *c)
                        .await?
                    }
                };
                if let Some(family) = family {
                    revoke_family(c, &family, now, RevokeReason::RefreshRevoked).await?;
                    return revoked(c, Revocation::Family, &client_id, now, ip).await;
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
                let outcome = if access > 0 {
                    Revocation::Access
                } else {
                    Revocation::NotFound
                };
                revoked(c, outcome, &client_id, now, ip).await
            })
        })
        .await
        .map_err(db_error)
    }

    async fn forget_retry_answers(&self, now: UnixTime) -> StoreResult<usize> {
        // Once forgotten, the token before the current one is an older generation like any
        // other: presented again, it is reuse.
        Ok(self
            .in_batches(
                "DELETE FROM token_retry
                 WHERE family_id IN (SELECT family_id FROM token_retry
                                     WHERE retry_until <= $1 LIMIT $2)",
                now,
            )
            .await?
            + self
                .in_batches(
                    "UPDATE refresh_token SET retry_sealed = NULL, retry_until = NULL
                     WHERE token_hash IN (SELECT token_hash FROM refresh_token
                                          WHERE retry_sealed IS NOT NULL AND retry_until <= $1
                                          LIMIT $2)",
                    now,
                )
                .await?)
    }

    async fn purge_expired(&self, now: UnixTime) -> StoreResult<usize> {
        const EXPIRING: [&str; 15] = [
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
            "DELETE FROM pushed_request WHERE request_uri_hash IN
               (SELECT request_uri_hash FROM pushed_request WHERE expires_at <= $1 LIMIT $2)",
            "DELETE FROM client_assertion WHERE (client_id, jti_hash) IN
               (SELECT client_id, jti_hash FROM client_assertion WHERE expires_at <= $1 LIMIT $2)",
            // A sender gives a notice up after a day (oidc::backchannel::GIVE_UP_AFTER); one
            // still here an hour later has no sender, e.g. its client lost its logout URI.
            "DELETE FROM logout_notice WHERE id IN
               (SELECT id FROM logout_notice WHERE created_at <= $1 - 90000 LIMIT $2)",
            // A sender gives a security notice up by its expiry (mail::settle); one still here
            // an hour later has no sender: no mail server is set up.
            "DELETE FROM security_notice WHERE id IN
               (SELECT id FROM security_notice WHERE expires_at <= $1 - 3600 LIMIT $2)",
            // A browser unused for 400 days lost its cookie (it lasts a year from a sign-in).
            "DELETE FROM known_browser WHERE (user_id, browser_hash) IN
               (SELECT user_id, browser_hash FROM known_browser
                WHERE last_seen_at <= $1 - 34560000 LIMIT $2)",
            // Last: a family with no token left can issue nothing more: its current refresh
            // token expired, no token of an earlier release is left, and its last access token
            // expired. Then its older tokens are unknown, as expired ones are, and so are its
            // access tokens not yet swept.
            "DELETE FROM token_family WHERE id IN
               (SELECT f.id FROM token_family f
                WHERE f.created_at <= $1
                  AND (f.refresh_expires_at IS NULL OR f.refresh_expires_at <= $1)
                  AND NOT EXISTS (SELECT 1 FROM refresh_token r WHERE r.family_id = f.id)
                  AND (f.access_expires_at IS NULL OR f.access_expires_at <= $1)
                LIMIT $2)",
        ];
        // A sign-up link is listed for a while after it expired
        // (`auth::signup::KEPT_AFTER_EXPIRY`); its groups go with it.
        let mut total = self
            .in_batches(
                "DELETE FROM signup_link WHERE id IN
                   (SELECT id FROM signup_link WHERE expires_at <= $1 LIMIT $2)",
                now - crate::auth::signup::KEPT_AFTER_EXPIRY,
            )
            .await?;
        for statement in EXPIRING {
            total += self.in_batches(statement, now).await?;
        }
        Ok(total)
    }
}
