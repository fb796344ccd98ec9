//! Links sent by email.

use async_trait::async_trait;
use sqlx::Row;

use super::audit::insert_audit;
use super::rows::user_from;
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::auth::email_links;
use crate::model::{AuditRecord, EmailPurpose, EmailToken, User};
use crate::store::columns::user_columns;
use crate::store::{EmailLinks, StoreResult};

#[async_trait]
impl EmailLinks for PgStore {
    async fn issue_email_token(&self, t: EmailToken, audit: AuditRecord) -> StoreResult<bool> {
        with_retrying_transaction(&self.pool, |c| {
            let (t, audit) = (t.clone(), audit.clone());
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
        let row = sqlx::query(concat!(
            "SELECT t.token_hash, t.user_id, t.email, t.created_at, t.expires_at, ",
            user_columns!(),
            " FROM email_token t JOIN user_account u ON u.id = t.user_id
              WHERE t.token_hash = $1 AND t.purpose = $2"
        ))
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        let Some(r) = row else {
            return Ok(None);
        };
        let token = EmailToken {
            token_hash: r.try_get(0).map_err(db_error)?,
            user_id: r.try_get(1).map_err(db_error)?,
            purpose,
            email: r.try_get(2).map_err(db_error)?,
            created_at: r.try_get(3).map_err(db_error)?,
            expires_at: r.try_get(4).map_err(db_error)?,
        };
        Ok(Some((token, user_from(&r, 5).map_err(db_error)?)))
    }

    async fn take_email_token(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
    ) -> StoreResult<Option<EmailToken>> {
        let row: Option<(String, String, String, i64, i64)> = sqlx::query_as(
            "DELETE FROM email_token WHERE token_hash = $1 AND purpose = $2
             RETURNING token_hash, user_id, email, created_at, expires_at",
        )
        .bind(token_hash)
        .bind(purpose.as_str())
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(row.map(
            |(token_hash, user_id, email, created_at, expires_at)| EmailToken {
                token_hash,
                user_id,
                purpose,
                email,
                created_at,
                expires_at,
            },
        ))
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
