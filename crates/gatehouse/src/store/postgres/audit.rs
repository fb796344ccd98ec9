//! The audit log.

use async_trait::async_trait;

use super::outbox::{addressee, queue_notice};
use super::rows::audit_from;
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::auth::notices;
use crate::clock::UnixTime;
use crate::model::{AuditEvent, AuditKind, AuditQuery, AuditRecord, TokensIssued};
use crate::store::columns::{audit_columns, audit_purge_batch, tokens_issued_about};
use crate::store::{Audit, StoreResult, Whom};

/// Appends `e` to the audit log, in the caller's transaction, with the security notice its
/// person is due (`auth::notices`): the person it names is loaded only for the few kinds that
/// call for one.
pub(super) async fn insert_audit(
    c: &mut sqlx::PgConnection,
    e: &AuditRecord,
) -> Result<(), sqlx::Error> {
    append_audit(&mut *c, e).await?;
    let Some(username) = notices::addressee(e) else {
        return Ok(());
    };
    let person = addressee(&mut *c, Whom::Username(username)).await?;
    if let Some(notice) = person.and_then(|p| notices::for_record(e, &p)) {
        queue_notice(c, &notice).await?;
    }
    Ok(())
}

/// Appends `e` to the audit log alone, in the caller's transaction (or by itself, given the
/// pool): a record of the past (an import), or of a change that turned out to change nothing.
pub(super) async fn append_audit<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    e: &AuditRecord,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(
        "INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
    )
    .bind(e.at)
    .bind(e.kind)
    .bind(&e.actor)
    .bind(&e.subject)
    .bind(&e.client_id)
    .bind(&e.ip)
    .bind(&e.detail)
    .bind(&e.user_agent)
    .execute(executor)
    .await
}

/// Appends the record of a decision's outcome, if it has one, in the caller's transaction.
pub(super) async fn insert_outcome_audit(
    c: &mut sqlx::PgConnection,
    record: Option<AuditRecord>,
) -> Result<(), sqlx::Error> {
    if let Some(record) = record {
        insert_audit(c, &record).await?;
    }
    Ok(())
}

#[async_trait]
impl Audit for PgStore {
    async fn record(&self, e: AuditRecord) -> StoreResult<()> {
        if notices::addressee(&e).is_none() {
            append_audit(&self.pool, &e).await.map_err(db_error)?;
            return Ok(());
        }
        with_retrying_transaction(&self.pool, |c| {
            let e = e.clone();
            Box::pin(async move { insert_audit(c, &e).await })
        })
        .await
        .map_err(db_error)
    }

    async fn audit_since(&self, after_id: i64, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_event WHERE id > $1 ORDER BY id LIMIT $2"
        ))
        .bind(after_id)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(audit_from).collect())
        .map_err(db_error)
    }

    async fn audit_latest(&self, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let mut events: Vec<AuditEvent> = sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_event ORDER BY id DESC LIMIT $1"
        ))
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(audit_from).collect())
        .map_err(db_error)?;
        events.reverse();
        Ok(events)
    }

    async fn audit_query(&self, q: AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        let prefix = q.kind_start().map(|p| crate::store::like_prefix(&p));
        sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_event
              WHERE ($1::text IS NULL OR kind LIKE $1 ESCAPE '\\')
                AND ($2::text IS NULL OR subject = $2)
                AND ($3::text IS NULL OR actor = $3)
                AND ($4::bigint IS NULL OR id < $4)
              ORDER BY id DESC LIMIT $5"
        ))
        .bind(prefix)
        .bind(q.subject)
        .bind(q.actor)
        .bind(q.before)
        .bind(i64::try_from(q.limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(audit_from).collect())
        .map_err(db_error)
    }

    async fn audit_about(
        &self,
        subject: &str,
        since: UnixTime,
        kinds: &[AuditKind],
        limit: usize,
    ) -> StoreResult<Vec<AuditEvent>> {
        let kinds: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
        sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_event WHERE subject = $1 AND kind = ANY($2) AND at >= $4
              ORDER BY id DESC LIMIT $3"
        ))
        .bind(subject)
        .bind(kinds)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(since)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(audit_from).collect())
        .map_err(db_error)
    }

    async fn tokens_issued_about(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> StoreResult<Vec<TokensIssued>> {
        let rows = sqlx::query(tokens_issued_about!("$1", "$2"))
            .bind(subject)
            .bind(since)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        rows.iter()
            .map(|r| {
                use sqlx::Row as _;
                Ok(TokensIssued {
                    client_id: r.try_get(0)?,
                    first_at: r.try_get(1)?,
                    last_at: r.try_get(2)?,
                    times: u64::try_from(r.try_get::<i64, _>(3)?).unwrap_or(0),
                })
            })
            .collect::<Result<_, sqlx::Error>>()
            .map_err(db_error)
    }

    async fn purge_audit(&self, before: UnixTime) -> StoreResult<usize> {
        let others = self
            .in_batches(audit_purge_batch!(others "$1", "$2"), before)
            .await?;
        Ok(others + self.purge_token_audit(before).await?)
    }

    async fn purge_token_audit(&self, before: UnixTime) -> StoreResult<usize> {
        self.in_batches(audit_purge_batch!(tokens "$1", "$2"), before)
            .await
    }
}
