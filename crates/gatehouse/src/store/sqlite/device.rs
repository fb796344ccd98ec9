//! The device authorization grant (RFC 8628): loaded here, decided in
//! `oidc::grant::device_code`, applied here.

use std::net::IpAddr;

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, params};

use super::audit::{insert_audit, insert_outcome_audit};
use super::directory::{merge_consent, take_once};
use super::grants::{insert_family, insert_tokens};
use super::rows::{device_from, user_from};
use super::{SqliteStore, engine_error, is_unique_violation};
use crate::clock::UnixTime;
use crate::model::{
    AuditRecord, Consent, DeviceAnswer, DeviceAuthorization, NewTokens, Polled, UsedBefore,
};
use crate::oidc::grant::audit::{self, Requester};
use crate::oidc::grant::device_code::{self, DeviceRow, Poll};
use crate::store::columns::{DEVICE_FIELDS, device_columns, may_use_client, user_columns};
use crate::store::{DeviceGrants, StoreResult};

/// The polled authorization, with the user who approved it and whether they may use the
/// client now.
fn load_device(tx: &Connection, device_code_hash: &str) -> rusqlite::Result<Option<DeviceRow>> {
    tx.prepare_cached(concat!(
        "SELECT ",
        device_columns!(),
        ", ",
        user_columns!(),
        ", ",
        may_use_client!("d.client_id", "d.user_id"),
        " FROM device_authorization d LEFT JOIN user_account u ON u.id = d.user_id
         WHERE d.device_code_hash = ?1"
    ))?
    .query_row([device_code_hash], |r| {
        let user = match r.get::<_, Option<String>>(DEVICE_FIELDS)? {
            Some(_) => Some(user_from(r, DEVICE_FIELDS)?),
            None => None,
        };
        Ok(DeviceRow {
            authorization: device_from(r, 0)?,
            user,
            access_allowed: r.get(DEVICE_FIELDS + crate::store::columns::USER_FIELDS)?,
        })
    })
    .optional()
}

#[async_trait]
impl DeviceGrants for SqliteStore {
    async fn create_device_authorization(&self, a: DeviceAuthorization) -> StoreResult<bool> {
        let inserted = self
            .db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO device_authorization
                     (device_code_hash, user_code_hash, client_id, scope, created_at, expires_at,
                      poll_interval, resources)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                )?
                .execute(params![
                    a.device_code_hash,
                    a.user_code_hash,
                    a.client_id,
                    a.scope,
                    a.created_at,
                    a.expires_at,
                    a.interval,
                    crate::oidc::resource::column(&a.resources)
                ])
            })
            .await;
        match inserted {
            Ok(_) => Ok(true),
            Err(e) if is_unique_violation(&e) => Ok(false),
            Err(e) => Err(engine_error(e)),
        }
    }

    async fn pending_device_authorization(
        &self,
        user_code_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<DeviceAuthorization>> {
        let user_code_hash = user_code_hash.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                device_columns!(),
                " FROM device_authorization d
                 WHERE d.user_code_hash = ?1 AND d.answer = 'pending' AND d.expires_at > ?2"
            ))?
            .query_row(params![user_code_hash, now], |r| device_from(r, 0))
            .optional()
        })
        .await
    }

    async fn answer_device_authorization(
        &self,
        user_code_hash: &str,
        answer: DeviceAnswer,
        consent: Option<Consent>,
        record: AuditRecord,
        now: UnixTime,
    ) -> StoreResult<bool> {
        let user_code_hash = user_code_hash.to_owned();
        self.write(move |tx| {
            let approver = match &answer {
                DeviceAnswer::Approved { user_id, .. } => Some(user_id.clone()),
                DeviceAnswer::Pending | DeviceAnswer::Denied => None,
            };
            let (answer, user_id, auth_time, amr) = answer.stored();
            let changed = tx
                .prepare_cached(
                    "UPDATE device_authorization
                     SET answer = ?2, user_id = ?3, auth_time = ?4, amr = ?6
                     WHERE user_code_hash = ?1 AND answer = 'pending' AND expires_at > ?5",
                )?
                .execute(params![
                    user_code_hash,
                    answer,
                    user_id,
                    auth_time,
                    now,
                    amr
                ])?;
            if changed != 1 {
                return Ok(false);
            }
            if let (Some(consent), Some(user_id)) = (&consent, &approver) {
                merge_consent(tx, user_id, &consent.client_id, &consent.scope, now)?;
            }
            insert_audit(tx, &record)?;
            Ok(true)
        })
        .await
    }

    async fn poll_device_code(
        &self,
        device_code_hash: &str,
        client_id: &str,
        new: NewTokens,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Result<Polled, UsedBefore>> {
        let (hash, client_id) = (device_code_hash.to_owned(), client_id.to_owned());
        self.write(move |tx| {
            if let Err(used) = take_once(tx, &client_id, &new.once, now)? {
                return Ok(Err(used));
            }
            let row = load_device(tx, &hash)?;
            let decision = device_code::decide(row, &client_id, new.family_id.clone(), now);
            if decision.consumes() {
                tx.prepare_cached("DELETE FROM device_authorization WHERE device_code_hash = ?1")?
                    .execute([&hash])?;
            }
            if let Some(interval) = decision.recorded() {
                tx.prepare_cached(
                    "UPDATE device_authorization
                     SET last_polled_at = ?2, poll_interval = coalesce(?3, poll_interval)
                     WHERE device_code_hash = ?1",
                )?
                .execute(params![hash, now, interval])?;
            }
            if let Poll::Issue { family, grant } = &decision {
                insert_family(tx, family, now)?;
                insert_tokens(tx, grant, &new, now)?;
            }
            let polled = Polled::from(decision);
            let requester = Requester {
                at: now,
                client_id: &client_id,
                ip,
            };
            insert_outcome_audit(tx, audit::poll(&polled, &requester).as_ref())?;
            Ok(Ok(polled))
        })
        .await
    }
}
