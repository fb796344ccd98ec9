//! The outboxes: back-channel logout notices (`oidc::backchannel`), and mail (`mail`): the
//! messages carrying links, and security notices. Each is claimed by a sender and settled after
//! it tried.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use super::audit::insert_audit;
use super::rows::notice_from;
use crate::auth::notices::Addressee;
use crate::clock::UnixTime;
use crate::mail;
use crate::model::{AuditRecord, Farewell, LogoutNotice, Mail, Notice, QueuedMail, QueuedNotice};
use crate::oidc::backchannel::{self, LEASE, Settlement};
use crate::store::columns::notice_columns;
use crate::store::{LogoutOutbox, MailOutbox, StoreResult, Whom};

#[async_trait]
impl LogoutOutbox for SqliteStore {
    async fn claim_logout_notices(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> StoreResult<Vec<LogoutNotice>> {
        if !self.any_due("logout_notice", now).await? {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let notices = tx
                .prepare_cached(concat!(
                    "SELECT ",
                    notice_columns!(),
                    " FROM logout_notice n JOIN client c ON c.client_id = n.client_id
                     WHERE n.next_attempt_at <= ?1 AND c.backchannel_logout_uri IS NOT NULL
                     ORDER BY n.next_attempt_at, n.id LIMIT ?2"
                ))?
                .query_map(params![now, limit], notice_from)?
                .collect::<Result<Vec<_>, _>>()?;
            let mut lease =
                tx.prepare_cached("UPDATE logout_notice SET next_attempt_at = ?2 WHERE id = ?1")?;
            for n in &notices {
                lease.execute(params![n.id, now + LEASE])?;
            }
            Ok(notices)
        })
        .await
    }

    async fn settle_logout_notice(
        &self,
        notice: &LogoutNotice,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()> {
        let notice = notice.clone();
        self.write(move |tx| {
            settle_row(tx, "logout_notice", notice.id, &settlement, |why| {
                backchannel::undelivered(&notice, why, now)
            })
        })
        .await
    }
}

impl SqliteStore {
    /// Whether the outbox `table` holds a row due at `now`. Asked every second by every
    /// instance's sender: a reader answers "nothing due" without taking the writer.
    async fn any_due(&self, table: &'static str, now: UnixTime) -> StoreResult<bool> {
        self.read(move |c| {
            c.prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM {table} WHERE next_attempt_at <= ?1)"
            ))?
            .query_row([now], |r| r.get(0))
        })
        .await
    }
}

/// Applies what followed an attempt to the row `id` of the outbox `table` (rows with `id`,
/// `attempts` and `next_attempt_at`): forgotten when delivered, or given up with the record
/// `given_up` makes of why; otherwise counted and due again at its time.
fn settle_row(
    tx: &Connection,
    table: &'static str,
    id: i64,
    settlement: &Settlement,
    given_up: impl FnOnce(&str) -> AuditRecord,
) -> rusqlite::Result<()> {
    let forget = format!("DELETE FROM {table} WHERE id = ?1");
    match settlement {
        Settlement::Delivered => {
            tx.prepare_cached(&forget)?.execute([id])?;
        }
        Settlement::RetryAt(at) => {
            tx.prepare_cached(&format!(
                "UPDATE {table} SET attempts = attempts + 1, next_attempt_at = ?2 WHERE id = ?1"
            ))?
            .execute(params![id, at])?;
        }
        Settlement::GiveUp(why) => {
            tx.prepare_cached(&forget)?.execute([id])?;
            insert_audit(tx, &given_up(why))?;
        }
    }
    Ok(())
}

#[async_trait]
impl MailOutbox for SqliteStore {
    async fn claim_mail(&self, now: UnixTime, limit: usize) -> StoreResult<Vec<QueuedMail>> {
        if !self.any_due("mail_outbox", now).await? {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let queued = tx
                .prepare_cached(
                    "SELECT m.id, m.recipient, m.subject, m.body, t.user_id, u.username,
                            m.created_at, t.expires_at, m.attempts
                     FROM mail_outbox m
                     JOIN email_token t ON t.token_hash = m.token_hash
                     JOIN user_account u ON u.id = t.user_id
                     WHERE m.next_attempt_at <= ?1
                     ORDER BY m.next_attempt_at, m.id LIMIT ?2",
                )?
                .query_map(params![now, limit], |r| {
                    Ok(QueuedMail {
                        id: r.get(0)?,
                        mail: Mail {
                            to: r.get(1)?,
                            subject: r.get(2)?,
                            body: r.get(3)?,
                        },
                        user_id: r.get(4)?,
                        username: r.get(5)?,
                        created_at: r.get(6)?,
                        expires_at: r.get(7)?,
                        attempts: r.get(8)?,
                    })
                })?
                .collect::<Result<Vec<_>, _>>()?;
            let mut lease =
                tx.prepare_cached("UPDATE mail_outbox SET next_attempt_at = ?2 WHERE id = ?1")?;
            for m in &queued {
                lease.execute(params![m.id, now + mail::LEASE])?;
            }
            Ok(queued)
        })
        .await
    }

    async fn settle_mail(
        &self,
        queued: &QueuedMail,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()> {
        let queued = queued.clone();
        self.write(move |tx| {
            settle_row(tx, "mail_outbox", queued.id, &settlement, |why| {
                mail::undelivered(&queued.user_id, &queued.username, &queued.mail.to, why, now)
            })
        })
        .await
    }

    async fn claim_notices(&self, now: UnixTime, limit: usize) -> StoreResult<Vec<QueuedNotice>> {
        if !self.any_due("security_notice", now).await? {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let queued = tx
                .prepare_cached(
                    "SELECT n.id, n.user_id, n.kind, n.recipient, n.detail, n.ip, n.created_at,
                            n.expires_at, n.attempts,
                            COALESCE(n.username, u.username),
                            CASE WHEN n.username IS NULL THEN u.locale ELSE n.locale END,
                            n.username IS NOT NULL
                     FROM security_notice n LEFT JOIN user_account u ON u.id = n.user_id
                     WHERE n.next_attempt_at <= ?1
                       AND (n.username IS NOT NULL OR u.id IS NOT NULL)
                     ORDER BY n.next_attempt_at, n.id LIMIT ?2",
                )?
                .query_map(params![now, limit], queued_notice_from)?
                .collect::<Result<Vec<_>, _>>()?;
            let mut lease =
                tx.prepare_cached("UPDATE security_notice SET next_attempt_at = ?2 WHERE id = ?1")?;
            for n in &queued {
                lease.execute(params![n.id, now + mail::LEASE])?;
            }
            Ok(queued)
        })
        .await
    }

    async fn settle_notice(
        &self,
        queued: &QueuedNotice,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()> {
        let queued = queued.clone();
        self.write(move |tx| {
            let n = &queued.notice;
            settle_row(tx, "security_notice", queued.id, &settlement, |why| {
                mail::undelivered(&n.user_id, &queued.username, &n.to, why, now)
            })
        })
        .await
    }
}

/// The person a notice about `whom` would go to, as stored now, in the caller's transaction.
pub(super) fn addressee(tx: &Connection, whom: Whom<'_>) -> rusqlite::Result<Option<Addressee>> {
    let (sql, key) = match whom {
        Whom::Id(id) => (
            "SELECT id, email, disabled FROM user_account WHERE id = ?1",
            id,
        ),
        Whom::Username(name) => (
            "SELECT id, email, disabled FROM user_account WHERE username = ?1",
            name,
        ),
    };
    tx.prepare_cached(sql)?
        .query_row([key], |r| {
            Ok(Addressee {
                user_id: r.get(0)?,
                email: r.get(1)?,
                disabled: r.get(2)?,
            })
        })
        .optional()
}

/// The person whose account `user_id` is about to be removed, as a notice of the removal
/// needs them (`notices::for_removal`), in the caller's transaction.
pub(super) fn leaving(
    tx: &Connection,
    user_id: &str,
) -> rusqlite::Result<Option<(Addressee, Farewell)>> {
    tx.prepare_cached(
        "SELECT id, email, disabled, username, locale FROM user_account WHERE id = ?1",
    )?
    .query_row([user_id], |r| {
        let person = Addressee {
            user_id: r.get(0)?,
            email: r.get(1)?,
            disabled: r.get(2)?,
        };
        let farewell = Farewell {
            username: r.get(3)?,
            locale: r.get(4)?,
        };
        Ok((person, farewell))
    })
    .optional()
}

/// Queues `notice` in the caller's transaction, due at once.
pub(super) fn queue_notice(tx: &Connection, notice: &Notice) -> rusqlite::Result<usize> {
    let farewell = notice.farewell.as_ref();
    tx.prepare_cached(
        "INSERT INTO security_notice
           (user_id, kind, recipient, detail, ip, created_at, expires_at, next_attempt_at,
            username, locale)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6, ?8, ?9)",
    )?
    .execute(params![
        notice.user_id,
        notice.kind,
        notice.to,
        notice.detail,
        notice.ip,
        notice.at,
        notice.expires_at,
        farewell.map(|f| &f.username),
        farewell.and_then(|f| f.locale.as_ref())
    ])
}

fn queued_notice_from(r: &Row<'_>) -> rusqlite::Result<QueuedNotice> {
    let (username, locale): (String, Option<String>) = (r.get(9)?, r.get(10)?);
    let farewell = r.get::<_, bool>(11)?.then(|| Farewell {
        username: username.clone(),
        locale: locale.clone(),
    });
    Ok(QueuedNotice {
        id: r.get(0)?,
        notice: Notice {
            user_id: r.get(1)?,
            kind: r.get(2)?,
            to: r.get(3)?,
            detail: r.get(4)?,
            ip: r.get(5)?,
            at: r.get(6)?,
            expires_at: r.get(7)?,
            farewell,
        },
        attempts: r.get(8)?,
        username,
        locale,
    })
}
