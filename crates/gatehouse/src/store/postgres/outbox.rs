//! The outboxes: back-channel logout notices (`oidc::backchannel`), and mail (`mail`): the
//! messages carrying links, and security notices. Each is claimed by a sender and settled after
//! it tried.

use async_trait::async_trait;
use sqlx::PgConnection;
use sqlx::postgres::PgRow;

use super::audit::insert_audit;
use super::rows::{notice_from, sql};
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::auth::notices::Addressee;
use crate::clock::UnixTime;
use crate::mail;
use crate::model::{AuditRecord, Farewell, LogoutNotice, Mail, Notice, QueuedMail, QueuedNotice};
use crate::oidc::backchannel::{self, LEASE, Settlement};
use crate::store::columns::notice_columns;
use crate::store::{LogoutOutbox, MailOutbox, StoreResult, Whom};

#[async_trait]
impl LogoutOutbox for PgStore {
    async fn claim_logout_notices(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> StoreResult<Vec<LogoutNotice>> {
        // One statement: the due notices no other sender holds (SKIP LOCKED), leased to this
        // one. Every instance asks every second; when nothing is due it changes nothing.
        sqlx::query(concat!(
            "WITH claimed AS (
                 UPDATE logout_notice SET next_attempt_at = $1 + $3
                 WHERE id IN (
                     SELECT n.id FROM logout_notice n JOIN client c ON c.client_id = n.client_id
                     WHERE n.next_attempt_at <= $1 AND c.backchannel_logout_uri IS NOT NULL
                     ORDER BY n.next_attempt_at, n.id LIMIT $2
                     FOR UPDATE OF n SKIP LOCKED)
                 RETURNING *)
             SELECT ",
            notice_columns!(),
            " FROM claimed n JOIN client c ON c.client_id = n.client_id ORDER BY n.id"
        ))
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(LEASE)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(notice_from).collect())
        .map_err(db_error)
    }

    async fn settle_logout_notice(
        &self,
        notice: &LogoutNotice,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (notice, settlement) = (notice.clone(), settlement.clone());
            Box::pin(async move {
                let given_up = |why: &str| backchannel::undelivered(&notice, why, now);
                settle_row(c, "logout_notice", notice.id, &settlement, given_up).await
            })
        })
        .await
        .map_err(db_error)
    }
}

/// Applies what followed an attempt to the row `id` of the outbox `table` (rows with `id`,
/// `attempts` and `next_attempt_at`): forgotten when delivered, or given up with the record
/// `given_up` makes of why; otherwise counted and due again at its time.
async fn settle_row(
    c: &mut PgConnection,
    table: &'static str,
    id: i64,
    settlement: &Settlement,
    given_up: impl FnOnce(&str) -> AuditRecord,
) -> Result<(), sqlx::Error> {
    let forget = || sql(format!("DELETE FROM {table} WHERE id = $1"));
    match settlement {
        Settlement::Delivered => {
            sqlx::query(forget()).bind(id).execute(&mut *c).await?;
        }
        Settlement::RetryAt(at) => {
            sqlx::query(sql(format!(
                "UPDATE {table} SET attempts = attempts + 1, next_attempt_at = $2 WHERE id = $1"
            )))
            .bind(id)
            .bind(at)
            .execute(&mut *c)
            .await?;
        }
        Settlement::GiveUp(why) => {
            sqlx::query(forget()).bind(id).execute(&mut *c).await?;
            insert_audit(&mut *c, &given_up(why)).await?;
        }
    }
    Ok(())
}

#[async_trait]
impl MailOutbox for PgStore {
    async fn claim_mail(&self, now: UnixTime, limit: usize) -> StoreResult<Vec<QueuedMail>> {
        // One statement, as for the logout notices: the due messages no other sender holds,
        // leased to this one.
        sqlx::query(
            "WITH claimed AS (
                 UPDATE mail_outbox SET next_attempt_at = $1 + $3
                 WHERE id IN (
                     SELECT id FROM mail_outbox WHERE next_attempt_at <= $1
                     ORDER BY next_attempt_at, id LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 RETURNING *)
             SELECT m.id, m.recipient, m.subject, m.body, t.user_id, u.username,
                    m.created_at, t.expires_at, m.attempts
             FROM claimed m
             JOIN email_token t ON t.token_hash = m.token_hash
             JOIN user_account u ON u.id = t.user_id
             ORDER BY m.id",
        )
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(mail::LEASE)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| {
                    use sqlx::Row as _;
                    Ok(QueuedMail {
                        id: r.try_get(0)?,
                        mail: Mail {
                            to: r.try_get(1)?,
                            subject: r.try_get(2)?,
                            body: r.try_get(3)?,
                        },
                        user_id: r.try_get(4)?,
                        username: r.try_get(5)?,
                        created_at: r.try_get(6)?,
                        expires_at: r.try_get(7)?,
                        attempts: u32::try_from(r.try_get::<i64, _>(8)?).unwrap_or(u32::MAX),
                    })
                })
                .collect()
        })
        .map_err(db_error)
    }

    async fn settle_mail(
        &self,
        queued: &QueuedMail,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (queued, settlement) = (queued.clone(), settlement.clone());
            Box::pin(async move {
                let given_up = |why: &str| {
                    mail::undelivered(&queued.user_id, &queued.username, &queued.mail.to, why, now)
                };
                settle_row(c, "mail_outbox", queued.id, &settlement, given_up).await
            })
        })
        .await
        .map_err(db_error)
    }

    async fn claim_notices(&self, now: UnixTime, limit: usize) -> StoreResult<Vec<QueuedNotice>> {
        // One statement, as for the messages carrying links.
        sqlx::query(
            "WITH claimed AS (
                 UPDATE security_notice SET next_attempt_at = $1 + $3
                 WHERE id IN (
                     SELECT id FROM security_notice WHERE next_attempt_at <= $1
                     ORDER BY next_attempt_at, id LIMIT $2
                     FOR UPDATE SKIP LOCKED)
                 RETURNING *)
             SELECT n.id, n.user_id, n.kind, n.recipient, n.detail, n.ip, n.created_at,
                    n.expires_at, n.attempts,
                    COALESCE(n.username, u.username),
                    CASE WHEN n.username IS NULL THEN u.locale ELSE n.locale END,
                    n.username IS NOT NULL
             FROM claimed n LEFT JOIN user_account u ON u.id = n.user_id
             WHERE n.username IS NOT NULL OR u.id IS NOT NULL
             ORDER BY n.id",
        )
        .bind(now)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(mail::LEASE)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(queued_notice_from).collect())
        .map_err(db_error)
    }

    async fn settle_notice(
        &self,
        queued: &QueuedNotice,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (queued, settlement) = (queued.clone(), settlement.clone());
            Box::pin(async move {
                let n = &queued.notice;
                let given_up =
                    |why: &str| mail::undelivered(&n.user_id, &queued.username, &n.to, why, now);
                settle_row(c, "security_notice", queued.id, &settlement, given_up).await
            })
        })
        .await
        .map_err(db_error)
    }
}

/// The person a notice about `whom` would go to, as stored now, in the caller's transaction.
pub(super) async fn addressee(
    c: &mut PgConnection,
    whom: Whom<'_>,
) -> Result<Option<Addressee>, sqlx::Error> {
    let (sql, key) = match whom {
        Whom::Id(id) => (
            "SELECT id, email, disabled FROM user_account WHERE id = $1",
            id,
        ),
        Whom::Username(name) => (
            "SELECT id, email, disabled FROM user_account WHERE username = $1",
            name,
        ),
    };
    let row: Option<(String, String, bool)> =
        sqlx::query_as(sql).bind(key).fetch_optional(c).await?;
    Ok(row.map(|(user_id, email, disabled)| Addressee {
        user_id,
        email,
        disabled,
    }))
}

/// The person whose account `user_id` is about to be removed, as a notice of the removal
/// needs them (`notices::for_removal`), in the caller's transaction.
pub(super) async fn leaving(
    c: &mut PgConnection,
    user_id: &str,
) -> Result<Option<(Addressee, Farewell)>, sqlx::Error> {
    let row: Option<(String, String, bool, String, Option<String>)> = sqlx::query_as(
        "SELECT id, email, disabled, username, locale FROM user_account WHERE id = $1",
    )
    .bind(user_id)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|(user_id, email, disabled, username, locale)| {
        let person = Addressee {
            user_id,
            email,
            disabled,
        };
        (person, Farewell { username, locale })
    }))
}

/// Queues `notice` in the caller's transaction, due at once.
pub(super) async fn queue_notice(c: &mut PgConnection, notice: &Notice) -> Result<(), sqlx::Error> {
    let farewell = notice.farewell.as_ref();
    sqlx::query(
        "INSERT INTO security_notice
           (user_id, kind, recipient, detail, ip, created_at, expires_at, next_attempt_at,
            username, locale)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $6, $8, $9)",
    )
    .bind(&notice.user_id)
    .bind(notice.kind)
    .bind(&notice.to)
    .bind(&notice.detail)
    .bind(&notice.ip)
    .bind(notice.at)
    .bind(notice.expires_at)
    .bind(farewell.map(|f| &f.username))
    .bind(farewell.and_then(|f| f.locale.as_ref()))
    .execute(c)
    .await?;
    Ok(())
}

fn queued_notice_from(r: &PgRow) -> Result<QueuedNotice, sqlx::Error> {
    use sqlx::Row as _;
    let (username, locale): (String, Option<String>) = (r.try_get(9)?, r.try_get(10)?);
    let farewell = r.try_get::<bool, _>(11)?.then(|| Farewell {
        username: username.clone(),
        locale: locale.clone(),
    });
    Ok(QueuedNotice {
        id: r.try_get(0)?,
        notice: Notice {
            user_id: r.try_get(1)?,
            kind: r.try_get(2)?,
            to: r.try_get(3)?,
            detail: r.try_get(4)?,
            ip: r.try_get(5)?,
            at: r.try_get(6)?,
            expires_at: r.try_get(7)?,
            farewell,
        },
        attempts: u32::try_from(r.try_get::<i64, _>(8)?).unwrap_or(u32::MAX),
        username,
        locale,
    })
}
