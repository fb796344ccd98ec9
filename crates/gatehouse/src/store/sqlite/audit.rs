//! The audit log.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, params};

use super::SqliteStore;
use super::grants::PURGE_BATCH;
use super::outbox::{addressee, queue_notice};
use super::rows::audit_from;
use crate::auth::notices;
use crate::clock::UnixTime;
use crate::model::{AuditEvent, AuditKind, AuditQuery, AuditRecord, TokensIssued};
use crate::store::columns::{audit_columns, audit_purge_batch, tokens_issued_about};
use crate::store::{Audit, StoreResult, Whom};

/// Appends `e` to the audit log, in the caller's transaction, with the security notice its
/// person is due (`auth::notices`): the person it names is loaded only for the few kinds that
/// call for one.
pub(super) fn insert_audit(tx: &Connection, e: &AuditRecord) -> rusqlite::Result<usize> {
    let n = append_audit(tx, e)?;
    let Some(username) = notices::addressee(e) else {
        return Ok(n);
    };
    let person = addressee(tx, Whom::Username(username))?;
    if let Some(notice) = person.and_then(|p| notices::for_record(e, &p)) {
        queue_notice(tx, &notice)?;
    }
    Ok(n)
}

/// Appends `e` to the audit log alone, in the caller's transaction: a record of the past
/// (an import), or of a change that turned out to change nothing.
pub(super) fn append_audit(tx: &Connection, e: &AuditRecord) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail, user_agent)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        e.at,
        e.kind,
        e.actor,
        e.subject,
        e.client_id,
        e.ip,
        e.detail,
        e.user_agent
    ])
}

/// Appends the record of a decision's outcome, if it has one, in the caller's transaction.
pub(super) fn insert_outcome_audit(
    tx: &Connection,
    record: Option<&AuditRecord>,
) -> rusqlite::Result<()> {
    if let Some(record) = record {
        insert_audit(tx, record)?;
    }
    Ok(())
}

/// Kinds as a JSON array of their names, for `json_each`.
fn kinds_json(kinds: &[AuditKind]) -> String {
    serde_json::to_string(&kinds.iter().map(|k| k.as_str()).collect::<Vec<_>>())
        .unwrap_or_else(|_| "[]".to_owned())
}

#[async_trait]
impl Audit for SqliteStore {
    async fn record(&self, e: AuditRecord) -> StoreResult<()> {
        self.write(move |tx| insert_audit(tx, &e)).await?;
        Ok(())
    }

    async fn audit_since(&self, after_id: i64, limit: usize) -> StoreResult<Vec<AuditEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_event WHERE id > ?1 ORDER BY id LIMIT ?2"
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
                .prepare_cached(concat!(
                    "SELECT ",
                    audit_columns!(),
                    " FROM audit_event ORDER BY id DESC LIMIT ?1"
                ))?
                .query_map([limit], audit_from)?
                .collect::<rusqlite::Result<_>>()?;
            events.reverse();
            Ok(events)
        })
        .await
    }

    async fn audit_query(&self, q: AuditQuery) -> StoreResult<Vec<AuditEvent>> {
        let limit = i64::try_from(q.limit).unwrap_or(i64::MAX);
        let prefix = q.kind_start().map(|p| crate::store::like_prefix(&p));
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_event
                  WHERE (?1 IS NULL OR kind LIKE ?1 ESCAPE '\\')
                    AND (?2 IS NULL OR subject = ?2)
                    AND (?3 IS NULL OR actor = ?3)
                    AND (?4 IS NULL OR id < ?4)
                  ORDER BY id DESC LIMIT ?5"
            ))?
            .query_map(
                params![prefix, q.subject, q.actor, q.before, limit],
                audit_from,
            )?
            .collect()
        })
        .await
    }

    async fn audit_about(
        &self,
        subject: &str,
        since: UnixTime,
        kinds: &[AuditKind],
        limit: usize,
    ) -> StoreResult<Vec<AuditEvent>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let subject = subject.to_owned();
        let kinds = kinds_json(kinds);
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                audit_columns!(),
                " FROM audit_event
                  WHERE subject = ?1 AND kind IN (SELECT value FROM json_each(?2)) AND at >= ?4
                  ORDER BY id DESC LIMIT ?3"
            ))?
            .query_map(params![subject, kinds, limit, since], audit_from)?
            .collect()
        })
        .await
    }

    async fn tokens_issued_about(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> StoreResult<Vec<TokensIssued>> {
        let subject = subject.to_owned();
        self.read(move |c| {
            c.prepare_cached(tokens_issued_about!("?1", "?2"))?
                .query_map(params![subject, since], |r| {
                    Ok(TokensIssued {
                        client_id: r.get(0)?,
                        first_at: r.get(1)?,
                        last_at: r.get(2)?,
                        times: r.get(3)?,
                    })
                })?
                .collect()
        })
        .await
    }

    async fn purge_audit(&self, before: UnixTime) -> StoreResult<usize> {
        let others = self
            .in_batches(move |tx| {
                tx.prepare_cached(audit_purge_batch!(others "?1", "?2"))?
                    .execute(params![before, PURGE_BATCH])
            })
            .await?;
        Ok(others + self.purge_token_audit(before).await?)
    }

    async fn purge_token_audit(&self, before: UnixTime) -> StoreResult<usize> {
        self.in_batches(move |tx| {
            tx.prepare_cached(audit_purge_batch!(tokens "?1", "?2"))?
                .execute(params![before, PURGE_BATCH])
        })
        .await
    }
}
