//! Sign-in sessions.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, params};

use super::SqliteStore;
use super::audit::insert_outcome_audit;
use super::outbox::{addressee, queue_notice};
use super::rows::{session_from, user_from};
use crate::auth::notices::{self, Browsers};
use crate::clock::UnixTime;
use crate::model::{AuditRecord, EndedFrom, LoggedOut, RevokeReason, Session, User};
use crate::store::columns::{
    SESSION_FIELDS, forget_browser_of_session, insert_logout_notices, session_columns, user_columns,
};
use crate::store::{Sessions, StoreResult, Whom};

/// SQLite's random `jti` of a logout notice: 128 bits, hex.
macro_rules! random_jti {
    () => {
        "lower(hex(randomblob(16)))"
    };
}

/// Records that the browser `browser_hash` signed in, opening `session`, and queues the
/// notice a browser new to its person calls for (`notices::for_sign_in`). Known or not is
/// decided by the write itself, so of two sign-ins of one new browser at once one tells.
fn remember_browser(
    tx: &Connection,
    session: &Session,
    browser_hash: &str,
) -> rusqlite::Result<()> {
    let (user_id, now) = (session.user_id.as_str(), session.last_seen_at);
    let seen_again = tx
        .prepare_cached(
            "UPDATE known_browser SET last_seen_at = ?3 WHERE user_id = ?1 AND browser_hash = ?2",
        )?
        .execute(params![user_id, browser_hash, now])?;
    if seen_again > 0 {
        return Ok(());
    }
    let added = tx
        .prepare_cached(
            "INSERT INTO known_browser (user_id, browser_hash, first_seen_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?3) ON CONFLICT DO NOTHING",
        )?
        .execute(params![user_id, browser_hash, now])?;
    let others_known: bool = tx
        .prepare_cached(
            "SELECT EXISTS (SELECT 1 FROM known_browser WHERE user_id = ?1 AND browser_hash <> ?2)",
        )?
        .query_row(params![user_id, browser_hash], |r| r.get(0))?;
    let browsers = Browsers {
        this_one_known: added == 0,
        others_known,
    };
    let person = addressee(tx, Whom::Id(user_id))?;
    if let Some(notice) = person.and_then(|p| notices::for_sign_in(&p, browsers, session)) {
        queue_notice(tx, &notice)?;
    }
    Ok(())
}

/// Ends every session of the user (telling the clients signed in to them), revokes every
/// token family they hold and forgets every browser they signed in from: whoever was signed
/// in as them is out, and a browser of theirs signing in again is news (but for the first,
/// which is news to nobody, `notices::for_sign_in`).
pub(super) fn log_out_user(
    tx: &Connection,
    user_id: &str,
    now: UnixTime,
    reason: RevokeReason,
) -> rusqlite::Result<LoggedOut> {
    tx.prepare_cached(insert_logout_notices!(
        "s.user_id = ?1",
        "?2",
        random_jti!()
    ))?
    .execute(params![user_id, now])?;
    let sessions = tx
        .prepare_cached("DELETE FROM session WHERE user_id = ?1")?
        .execute([user_id])?;
    tx.prepare_cached("DELETE FROM known_browser WHERE user_id = ?1")?
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

/// Ends one session: the clients signed in to it are told, its token families revoked, and,
/// ended from elsewhere, its browser forgotten (`EndedFrom`).
fn end_session(
    tx: &Connection,
    id_hash: &str,
    from: EndedFrom,
    now: UnixTime,
) -> rusqlite::Result<usize> {
    if from == EndedFrom::Elsewhere {
        tx.prepare_cached(forget_browser_of_session!("?1"))?
            .execute([id_hash])?;
    }
    tx.prepare_cached(insert_logout_notices!(
        "s.id_hash = ?1",
        "?2",
        random_jti!()
    ))?
    .execute(params![id_hash, now])?;
    tx.prepare_cached("DELETE FROM session WHERE id_hash = ?1")?
        .execute([id_hash])?;
    tx.prepare_cached(
        "UPDATE token_family SET revoked_at = ?2, revoked_reason = ?3
         WHERE session_id_hash = ?1 AND revoked_at IS NULL",
    )?
    .execute(params![id_hash, now, RevokeReason::SessionEnded])
}

#[async_trait]
impl Sessions for SqliteStore {
    async fn create_session(
        &self,
        session: Session,
        replaces: Option<String>,
        browser: Option<String>,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at, amr,
                                      user_agent, ip, browser_hash, kept)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )?
            .execute(params![
                session.id_hash,
                session.user_id,
                session.auth_time,
                session.expires_at,
                session.last_seen_at,
                session.amr.stored(),
                session.user_agent,
                session.ip,
                browser,
                session.kept
            ])?;
            // Ended as the new session starts (its `last_seen_at` is now).
            if let Some(old) = &replaces {
                end_session(tx, old, EndedFrom::ItsBrowser, session.last_seen_at)?;
            }
            if let Some(browser) = &browser {
                remember_browser(tx, &session, browser)?;
            }
            insert_outcome_audit(tx, audit.as_ref())
        })
        .await?;
        Ok(())
    }

    async fn session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<(Session, User)>> {
        let id_hash = id_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                session_columns!(),
                ", ",
                user_columns!(),
                "
                 FROM session s JOIN user_account u ON u.id = s.user_id
                 WHERE s.id_hash = ?1 AND s.expires_at > ?2 AND u.disabled = 0"
            ))?
            .query_row(params![id_hash, now], |r| {
                Ok((session_from(r)?, user_from(r, SESSION_FIELDS)?))
            })
            .optional()
        })
        .await
    }

    async fn touch_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()> {
        let id_hash = id_hash.to_owned();
        self.write(move |tx| {
            tx.prepare_cached(
                "UPDATE session SET last_seen_at = MAX(last_seen_at, ?2) WHERE id_hash = ?1",
            )?
            .execute(params![id_hash, now])
        })
        .await?;
        Ok(())
    }

    async fn end_session(
        &self,
        id_hash: &str,
        from: EndedFrom,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        let id_hash = id_hash.to_owned();
        self.write(move |tx| {
            end_session(tx, &id_hash, from, now)?;
            insert_outcome_audit(tx, audit.as_ref())
        })
        .await?;
        Ok(())
    }

    async fn end_user_sessions(
        &self,
        user_id: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<LoggedOut> {
        let user_id = user_id.to_owned();
        self.write(move |tx| {
            let out = log_out_user(tx, &user_id, now, RevokeReason::UserLoggedOut)?;
            insert_outcome_audit(tx, audit.clone().map(|r| r.ended(&out)).as_ref())?;
            Ok(out)
        })
        .await
    }

    async fn sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                session_columns!(),
                " FROM session s WHERE s.user_id = ?1 AND s.expires_at > ?2
                 ORDER BY s.auth_time DESC"
            ))?
            .query_map(params![user_id, now], session_from)?
            .collect()
        })
        .await
    }
}
