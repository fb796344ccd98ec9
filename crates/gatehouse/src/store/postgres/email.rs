//! Links sent by email.

use async_trait::async_trait;
use sqlx::{PgConnection, Row};

use super::audit::insert_audit;
use super::directory::apply_user_change;
use super::rows::user_from;
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::auth::email_links::{self, LinkUse, Refused};
use crate::clock::UnixTime;
use crate::model::{AuditRecord, EmailPurpose, EmailToken, LoggedOut, Mail, User};
use crate::store::columns::user_columns;
use crate::store::{EmailLinks, StoreResult};

#[async_trait]
impl EmailLinks for PgStore {
    async fn issue_email_token(
        &self,
        t: EmailToken,
        mail: Option<Mail>,
        audit: AuditRecord,
    ) -> StoreResult<bool> {
        with_retrying_transaction(&self.pool, |c| {
            let (t, mail, audit) = (t.clone(), mail.clone(), audit.clone());
            Box::pin(async move {
                // Two requests for the same person wait for each other here, so the second
                // sees the first's link.
                sqlx::query("SELECT 1 FROM user_account WHERE id = $1 FOR UPDATE")
                    .bind(&t.user_id)
                    .execute(&mut *c)
                    .await?;
                let newest: Option<i64> = sqlx::query_scalar(
                    "SELECT max(created_at) FROM email_token
                     WHERE user_id = $1 AND purpose = $2 AND expires_at > $3",
                )
                .bind(&t.user_id)
                .bind(t.purpose.as_str())
                .bind(t.created_at)
                .fetch_one(&mut *c)
                .await?;
                if !email_links::may_send(newest, t.created_at) {
                    return Ok(false);
                }
                sqlx::query("DELETE FROM email_token WHERE user_id = $1 AND purpose = $2")
                    .bind(&t.user_id)
                    .bind(t.purpose.as_str())
                    .execute(&mut *c)
                    .await?;
                sqlx::query(
                    "INSERT INTO email_token
                       (token_hash, user_id, purpose, email, created_at, expires_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.token_hash)
                .bind(&t.user_id)
                .bind(t.purpose.as_str())
                .bind(&t.email)
                .bind(t.created_at)
                .bind(t.expires_at)
                .execute(&mut *c)
                .await?;
                if let Some(m) = &mail {
                    sqlx::query(
                        "INSERT INTO mail_outbox
                           (token_hash, recipient, subject, body, created_at, next_attempt_at)
                         VALUES ($1, $2, $3, $4, $5, $5)",
                    )
                    .bind(&t.token_hash)
                    .bind(&m.to)
                    .bind(&m.subject)
                    .bind(&m.body)
                    .bind(t.created_at)
                    .execute(&mut *c)
                    .await?;
                }
                insert_audit(&mut *c, &audit).await?;
                Ok(true)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn email_token(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
    ) -> StoreResult<Option<(EmailToken, User)>> {
        let mut c = self.pool.acquire().await.map_err(db_error)?;
        token_and_person(&mut c, token_hash, purpose, false)
            .await
            .map_err(db_error)
    }

    async fn redeem_email_token(
        &self,
        token_hash: &str,
        link_use: LinkUse,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Result<(EmailToken, User), Refused>> {
        with_retrying_transaction(&self.pool, |c| {
            let (token_hash, link_use, audit) =
                (token_hash.to_owned(), link_use.clone(), audit.clone());
            Box::pin(async move {
                // Locks the link and its person: two forms sent with one link, or a change
                // of the person's address, wait for each other here.
                let found =
                    token_and_person(&mut *c, &token_hash, link_use.purpose(), true).await?;
                let (token, user) = found.unzip();
                let changes =
                    match email_links::redeem(token.as_ref(), user.as_ref(), now, &link_use) {
                        Ok(changes) => changes,
                        Err(why) => return Ok(Err(why)),
                    };
                let (Some(token), Some(user)) = (token, user) else {
                    return Ok(Err(Refused::Unknown));
                };
                sqlx::query("DELETE FROM email_token WHERE token_hash = $1")
                    .bind(&token.token_hash)
                    .execute(&mut *c)
                    .await?;
                let mut out = LoggedOut::default();
                for change in &changes {
                    out = out.and(apply_user_change(&mut *c, &user.id, change, now).await?);
                }
                insert_audit(&mut *c, &audit.ended(&out)).await?;
                Ok(Ok((token, user)))
            })
        })
        .await
        .map_err(db_error)
    }

    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM user_account u WHERE lower(u.email) = lower($1) ORDER BY u.username"
        ))
        .bind(email)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(|r| user_from(r, 0)).collect())
        .map_err(db_error)
    }
}

/// The link whose hash is `token_hash`, of `purpose`, and its person; both rows locked
/// (`FOR UPDATE`) when `lock` is, in a transaction that changes them.
async fn token_and_person(
    c: &mut PgConnection,
    token_hash: &str,
    purpose: EmailPurpose,
    lock: bool,
) -> Result<Option<(EmailToken, User)>, sqlx::Error> {
    macro_rules! select {
        () => {
            concat!(
                "SELECT t.token_hash, t.user_id, t.email, t.created_at, t.expires_at, ",
                user_columns!(),
                " FROM email_token t JOIN user_account u ON u.id = t.user_id
                  WHERE t.token_hash = $1 AND t.purpose = $2"
            )
        };
    }
    let query = if lock {
        concat!(select!(), " FOR UPDATE")
    } else {
        select!()
    };
    let Some(r) = sqlx::query(query)
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&mut *c)
        .await?
    else {
        return Ok(None);
    };
    let token = EmailToken {
        token_hash: r.try_get(0)?,
        user_id: r.try_get(1)?,
        purpose,
        email: r.try_get(2)?,
        created_at: r.try_get(3)?,
        expires_at: r.try_get(4)?,
    };
    Ok(Some((token, user_from(&r, 5)?)))
}
