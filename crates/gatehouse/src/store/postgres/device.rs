//! The device authorization grant (RFC 8628): loaded and locked here (`FOR UPDATE`), decided
//! in `oidc::grant::device_code`, applied here.

use std::net::IpAddr;

use async_trait::async_trait;
use sqlx::{PgConnection, Row};

use super::audit::{insert_audit, insert_outcome_audit};
use super::directory::{merge_consent, take_once};
use super::grants::{insert_family, insert_tokens};
use super::rows::{device_from, user_from};
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::clock::UnixTime;
use crate::model::{
    AuditRecord, Consent, DeviceAnswer, DeviceAuthorization, NewTokens, Polled, UsedBefore,
};
use crate::oidc::grant::audit::{self, Requester};
use crate::oidc::grant::device_code::{self, DeviceRow, Poll};
use crate::store::columns::{
    DEVICE_FIELDS, USER_FIELDS, device_columns, may_use_client, user_columns,
};
use crate::store::{DeviceGrants, StoreResult};

/// The polled authorization, locked, with the user who approved it and whether they may use
/// the client now. The lock makes concurrent polls of one code take turns: the second reads
/// what the first did (its poll time, or that the code is gone).
async fn lock_device(
    c: &mut PgConnection,
    device_code_hash: &str,
) -> Result<Option<DeviceRow>, sqlx::Error> {
    sqlx::query(concat!(
        "SELECT ",
        device_columns!(),
        ", ",
        user_columns!(),
        ", ",
        may_use_client!("d.client_id", "d.user_id"),
        " FROM device_authorization d LEFT JOIN user_account u ON u.id = d.user_id
         WHERE d.device_code_hash = $1
         FOR UPDATE OF d"
    ))
    .bind(device_code_hash)
    .fetch_optional(c)
    .await?
    .map(|r| {
        let user = match r.try_get::<Option<String>, _>(DEVICE_FIELDS)? {
            Some(_) => Some(user_from(&r, DEVICE_FIELDS)?),
            None => None,
        };
        Ok(DeviceRow {
            authorization: device_from(&r, 0)?,
            user,
            access_allowed: r.try_get(DEVICE_FIELDS + USER_FIELDS)?,
        })
    })
    .transpose()
}

#[async_trait]
impl DeviceGrants for PgStore {
    async fn create_device_authorization(&self, a: DeviceAuthorization) -> StoreResult<bool> {
        let inserted = sqlx::query(
            "INSERT INTO device_authorization
             (device_code_hash, user_code_hash, client_id, scope, created_at, expires_at,
              poll_interval, resources)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT DO NOTHING",
        )
        .bind(&a.device_code_hash)
        .bind(&a.user_code_hash)
        .bind(&a.client_id)
        .bind(&a.scope)
        .bind(a.created_at)
        .bind(a.expires_at)
        .bind(a.interval)
        .bind(crate::oidc::resource::column(&a.resources))
        .execute(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(inserted.rows_affected() == 1)
    }

    async fn pending_device_authorization(
        &self,
        user_code_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        sqlx::query(concat!(
            "SELECT ",
            device_columns!(),
            " FROM device_authorization d
             WHERE d.user_code_hash = $1 AND d.answer = 'pending' AND d.expires_at > $2"
        ))
        .bind(user_code_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| r.map(|r| device_from(&r, 0)).transpose())
        .map_err(db_error)
    }

    async fn answer_device_authorization(
        &self,
        user_code_hash: &str,
        answer: DeviceAnswer,
        consent: Option<Consent>,
        record: AuditRecord,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let approver = match &answer {
            DeviceAnswer::Approved { user_id, .. } => Some(user_id.clone()),
            DeviceAnswer::Pending | DeviceAnswer::Denied => None,
        };
        let (answer, user_id, auth_time, amr) = answer.stored();
        let user_id = user_id.map(str::to_owned);
        with_retrying_transaction(&self.pool, |c| {
            let (user_code_hash, answer, user_id, amr) = (
                user_code_hash.to_owned(),
                answer.to_owned(),
                user_id.clone(),
                amr.clone(),
            );
            let (consent, approver, record) = (consent.clone(), approver.clone(), record.clone());
            Box::pin(async move {
                // One statement: of two answers at once, the second finds it answered.
                let changed = sqlx::query(
                    "UPDATE device_authorization
                     SET answer = $2, user_id = $3, auth_time = $4, amr = $6
                     WHERE user_code_hash = $1 AND answer = 'pending' AND expires_at > $5",
                )
                .bind(&user_code_hash)
                .bind(&answer)
                .bind(&user_id)
                .bind(auth_time)
                .bind(now)
                .bind(&amr)
                .execute(&mut *c)
                .await?;
                if changed.rows_affected() != 1 {
                    return Ok(false);
                }
                if let (Some(consent), Some(user_id)) = (consent, approver) {
                    merge_consent(c, &user_id, &consent.client_id, &consent.scope, now).await?;
                }
                insert_audit(&mut *c, &record).await?;
                Ok(true)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn poll_device_code(
        &self,
        device_code_hash: &str,
        client_id: &str,
        new: NewTokens,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Result<Polled, UsedBefore>> {
        with_retrying_transaction(&self.pool, |c| {
            let (hash, client_id, new) = (
                device_code_hash.to_owned(),
                client_id.to_owned(),
                new.clone(),
            );
            Box::pin(async move {
                if let Err(used) = take_once(c, &client_id, &new.once, now).await? {
                    return Ok(Err(used));
                }
                let row = lock_device(c, &hash).await?;
                let decision = device_code::decide(row, &client_id, new.family_id.clone(), now);
                if decision.consumes() {
                    sqlx::query("DELETE FROM device_authorization WHERE device_code_hash = $1")
                        .bind(&hash)
                        .execute(&mut *c)
                        .await?;
                }
                if let Some(interval) = decision.recorded() {
                    sqlx::query(
                        "UPDATE device_authorization
                         SET last_polled_at = $2, poll_interval = coalesce($3, poll_interval)
                         WHERE device_code_hash = $1",
                    )
                    .bind(&hash)
                    .bind(now)
                    .bind(interval)
                    .execute(&mut *c)
                    .await?;
                }
                if let Poll::Issue { family, grant } = &decision {
                    insert_family(c, family, now).await?;
                    insert_tokens(c, grant, &new, now).await?;
                }
                let polled = Polled::from(decision);
                let requester = Requester {
                    at: now,
                    client_id: &client_id,
                    ip,
                };
                insert_outcome_audit(&mut *c, audit::poll(&polled, &requester)).await?;
                Ok(Ok(polled))
            })
        })
        .await
        .map_err(db_error)
    }
}
