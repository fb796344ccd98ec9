//! Links sent by email.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, params};

use super::SqliteStore;
use super::audit::insert_audit;
use super::directory::apply_user_change;
use super::rows::user_from;
use crate::auth::email_links::{self, LinkUse, Refused};
use crate::clock::UnixTime;
use crate::model::{AuditRecord, EmailPurpose, EmailToken, LoggedOut, Mail, User};
use crate::store::columns::user_columns;
use crate::store::{EmailLinks, StoreResult};

#[async_trait]
impl EmailLinks for SqliteStore {
    async fn issue_email_token(
        &self,
        t: EmailToken,
        mail: Option<Mail>,
        audit: AuditRecord,
    ) -> StoreResult<bool> {
        self.write(move |tx| {
            let newest: Option<i64> = tx
                .prepare_cached(
                    "SELECT max(created_at) FROM email_token
                     WHERE user_id = ?1 AND purpose = ?2 AND expires_at > ?3",
                )?
                .query_row(params![t.user_id, t.purpose.as_str(), t.created_at], |r| {
                    r.get(0)
                })?;
            if !email_links::may_send(newest, t.created_at) {
                return Ok(false);
            }
            tx.prepare_cached("DELETE FROM email_token WHERE user_id = ?1 AND purpose = ?2")?
                .execute(params![t.user_id, t.purpose.as_str()])?;
            tx.prepare_cached(
                "INSERT INTO email_token
                   (token_hash, user_id, purpose, email, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                t.token_hash,
                t.user_id,
                t.purpose.as_str(),
                t.email,
                t.created_at,
                t.expires_at
            ])?;
            if let Some(m) = &mail {
                tx.prepare_cached(
                    "INSERT INTO mail_outbox
                       (token_hash, recipient, subject, body, created_at, next_attempt_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?5)",
                )?
                .execute(params![
                    t.token_hash,
                    m.to,
                    m.subject,
                    m.body,
                    t.created_at
                ])?;
            }
            insert_audit(tx, &audit)?;
            Ok(true)
        })
        .await
    }

    async fn email_token(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
    ) -> StoreResult<Option<(EmailToken, User)>> {
        let token_hash = token_hash.to_owned();
        self.read(move |c| token_and_person(c, &token_hash, purpose))
            .await
    }

    async fn redeem_email_token(
        &self,
        token_hash: &str,
        link_use: LinkUse,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Result<(EmailToken, User), Refused>> {
        let token_hash = token_hash.to_owned();
        self.write(move |tx| {
            let purpose = link_use.purpose();
            let found = token_and_person(tx, &token_hash, purpose)?;
            let (token, user) = found.unzip();
            let changes = match email_links::redeem(token.as_ref(), user.as_ref(), now, &link_use) {
                Ok(changes) => changes,
                Err(why) => return Ok(Err(why)),
            };
            let (Some(token), Some(user)) = (token, user) else {
                return Ok(Err(Refused::Unknown));
            };
            tx.prepare_cached("DELETE FROM email_token WHERE token_hash = ?1")?
                .execute([&token.token_hash])?;
            let mut out = LoggedOut::default();
            for change in &changes {
                out = out.and(apply_user_change(tx, &user.id, change, now)?);
            }
            insert_audit(tx, &audit.clone().ended(&out))?;
            Ok(Ok((token, user)))
        })
        .await
    }

    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>> {
        let email = email.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                user_columns!(),
                " FROM user_account u WHERE lower(u.email) = lower(?1) ORDER BY u.username"
            ))?
            .query_map([email], |r| user_from(r, 0))?
            .collect()
        })
        .await
    }
}

/// The link whose hash is `token_hash`, of `purpose`, and its person.
fn token_and_person(
    c: &Connection,
    token_hash: &str,
    purpose: EmailPurpose,
) -> rusqlite::Result<Option<(EmailToken, User)>> {
    c.prepare_cached(concat!(
        "SELECT t.token_hash, t.user_id, t.email, t.created_at, t.expires_at, ",
        user_columns!(),
        " FROM email_token t JOIN user_account u ON u.id = t.user_id
          WHERE t.token_hash = ?1 AND t.purpose = ?2"
    ))?
    .query_row(params![token_hash, purpose.as_str()], |r| {
        let token = EmailToken {
            token_hash: r.get(0)?,
            user_id: r.get(1)?,
            purpose,
            email: r.get(2)?,
            created_at: r.get(3)?,
            expires_at: r.get(4)?,
        };
        Ok((token, user_from(r, 5)?))
    })
    .optional()
}
