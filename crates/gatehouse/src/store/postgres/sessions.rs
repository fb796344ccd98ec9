//! Sign-in sessions.

use async_trait::async_trait;
use sqlx::PgConnection;

use super::audit::insert_outcome_audit;
use super::outbox::{addressee, queue_notice};
use super::rows::{session_from, user_from};
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::auth::notices::{self, Browsers};
use crate::clock::UnixTime;
use crate::model::{AuditRecord, EndedFrom, LoggedOut, RevokeReason, Session, User};
use crate::store::columns::{
    SESSION_FIELDS, forget_browser_of_session, insert_logout_notices, session_columns, user_columns,
};
use crate::store::{Sessions, StoreResult, Whom};

/// PostgreSQL's random `jti` of a logout notice: 122 random bits, hex.
macro_rules! random_jti {
    () => {
        "replace(gen_random_uuid()::text, '-', '')"
    };
}

/// Records that the browser `browser_hash` signed in, opening `session`, and queues the
/// notice a browser new to its person calls for (`notices::for_sign_in`). Known or not is
/// decided by the write itself (an insert that finds another's row waits for its transaction),
/// so of two sign-ins of one new browser at once one tells.
async fn remember_browser(
    c: &mut PgConnection,
    session: &Session,
    browser_hash: &str,
) -> Result<(), sqlx::Error> {
    let (user_id, now) = (session.user_id.as_str(), session.last_seen_at);
    let seen_again = sqlx::query(
        "UPDATE known_browser SET last_seen_at = $3 WHERE user_id = $1 AND browser_hash = $2",
    )
    .bind(user_id)
    .bind(browser_hash)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected();
    if seen_again > 0 {
        return Ok(());
    }
    let added = sqlx::query(
        "INSERT INTO known_browser (user_id, browser_hash, first_seen_at, last_seen_at)
         VALUES ($1, $2, $3, $3) ON CONFLICT DO NOTHING",
    )
    .bind(user_id)
    .bind(browser_hash)
    .bind(now)
    .execute(&mut *c)
    .await?
    .rows_affected();
    let others_known: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM known_browser WHERE user_id = $1 AND browser_hash <> $2)",
    )
    .bind(user_id)
    .bind(browser_hash)
    .fetch_one(&mut *c)
    .await?;
    let browsers = Browsers {
        this_one_known: added == 0,
        others_known,
    };
    let person = addressee(&mut *c, Whom::Id(user_id)).await?;
    if let Some(notice) = person.and_then(|p| notices::for_sign_in(&p, browsers, session)) {
        queue_notice(c, &notice).await?;
    }
    Ok(())
}

/// Ends every session of the user (telling the clients signed in to them), revokes every
/// token family they hold and forgets every browser they signed in from: whoever was signed
/// in as them is out, and a browser of theirs signing in again is news (but for the first,
/// which is news to nobody, `notices::for_sign_in`).
pub(super) async fn log_out_user(
    c: &mut PgConnection,
    user_id: &str,
    now: UnixTime,
    reason: RevokeReason,
) -> Result<LoggedOut, sqlx::Error> {
    // Locked first: a concurrent logout of the same sessions waits here, then finds them
    // gone and writes no second notice (the insert alone reads a snapshot both would share).
    sqlx::query("SELECT 1 FROM session WHERE user_id = $1 FOR UPDATE")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
    sqlx::query(insert_logout_notices!(
        "s.user_id = $1",
        "$2",
        random_jti!()
    ))
    .bind(user_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    let sessions = sqlx::query("DELETE FROM session WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?
        .rows_affected();
    sqlx::query("DELETE FROM known_browser WHERE user_id = $1")
        .bind(user_id)
        .execute(&mut *c)
        .await?;
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

/// Ends one session: the clients signed in to it are told, its token families revoked.
async fn end_session(
    c: &mut PgConnection,
    id_hash: &str,
    from: EndedFrom,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    // Locked first, as in `log_out_user`: one notice however many logouts race.
    sqlx::query("SELECT 1 FROM session WHERE id_hash = $1 FOR UPDATE")
        .bind(id_hash)
        .execute(&mut *c)
        .await?;
    if from == EndedFrom::Elsewhere {
        // The browser's row is locked before it is judged, so that of two sessions of one
        // browser ended at once the second is judged once the first is gone (each statement
        // sees what committed before it), and the browser is forgotten.
        sqlx::query(
            "SELECT 1 FROM known_browser k
               JOIN session s ON s.user_id = k.user_id AND s.browser_hash = k.browser_hash
              WHERE s.id_hash = $1
                FOR UPDATE OF k",
        )
        .bind(id_hash)
        .execute(&mut *c)
        .await?;
        sqlx::query(forget_browser_of_session!("$1"))
            .bind(id_hash)
            .execute(&mut *c)
            .await?;
    }
    sqlx::query(insert_logout_notices!(
        "s.id_hash = $1",
        "$2",
        random_jti!()
    ))
    .bind(id_hash)
    .bind(now)
    .execute(&mut *c)
    .await?;
    sqlx::query("DELETE FROM session WHERE id_hash = $1")
        .bind(id_hash)
        .execute(&mut *c)
        .await?;
    sqlx::query(
        "UPDATE token_family SET revoked_at = $2, revoked_reason = $3
         WHERE session_id_hash = $1 AND revoked_at IS NULL",
    )
    .bind(id_hash)
    .bind(now)
    .bind(RevokeReason::SessionEnded)
    .execute(&mut *c)
    .await?;
    Ok(())
}

#[async_trait]
impl Sessions for PgStore {
    async fn create_session(
        &self,
        s: Session,
        replaces: Option<String>,
        browser: Option<String>,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (s, replaces, audit) = (s.clone(), replaces.clone(), audit.clone());
            let browser = browser.clone();
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at, amr,
                                          user_agent, ip, browser_hash, kept)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                )
                .bind(&s.id_hash)
                .bind(&s.user_id)
                .bind(s.auth_time)
                .bind(s.expires_at)
                .bind(s.last_seen_at)
                .bind(s.amr.stored())
                .bind(&s.user_agent)
                .bind(&s.ip)
                .bind(&browser)
                .bind(s.kept)
                .execute(&mut *c)
                .await?;
                // Ended as the new session starts (its `last_seen_at` is now).
                if let Some(old) = replaces {
                    end_session(&mut *c, &old, EndedFrom::ItsBrowser, s.last_seen_at).await?;
                }
                if let Some(browser) = &browser {
                    remember_browser(&mut *c, &s, browser).await?;
                }
                insert_outcome_audit(&mut *c, audit).await
            })
        })
        .await
        .map_err(db_error)
    }

    async fn session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<(Session, User)>> {
        sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            ", ",
            user_columns!(),
            "
             FROM session s JOIN user_account u ON u.id = s.user_id
             WHERE s.id_hash = $1 AND s.expires_at > $2 AND NOT u.disabled"
        ))
        .bind(id_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| {
            r.map(|r| Ok((session_from(&r)?, user_from(&r, SESSION_FIELDS)?)))
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

    async fn end_session(
        &self,
        id_hash: &str,
        from: EndedFrom,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (id_hash, audit) = (id_hash.to_owned(), audit.clone());
            Box::pin(async move {
                end_session(&mut *c, &id_hash, from, now).await?;
                insert_outcome_audit(&mut *c, audit).await
            })
        })
        .await
        .map_err(db_error)
    }

    async fn end_user_sessions(
        &self,
        user_id: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<LoggedOut> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, audit) = (user_id.to_owned(), audit.clone());
            Box::pin(async move {
                let out = log_out_user(&mut *c, &user_id, now, RevokeReason::UserLoggedOut).await?;
                insert_outcome_audit(&mut *c, audit.map(|r| r.ended(&out))).await?;
                Ok(out)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>> {
        sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM session s WHERE s.user_id = $1 AND s.expires_at > $2
             ORDER BY s.auth_time DESC"
        ))
        .bind(user_id)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(session_from).collect())
        .map_err(db_error)
    }
}
