//! Pushed authorization requests (`oidc::par`).

use async_trait::async_trait;
use onewriter::rusqlite::{OptionalExtension, params};

use super::SqliteStore;
use crate::clock::UnixTime;
use crate::oidc::par::{self, Pushed};
use crate::store::{PushedRequests, StoreResult};

#[async_trait]
impl PushedRequests for SqliteStore {
    async fn push_request(
        &self,
        request_uri_hash: &str,
        client_id: &str,
        request: &str,
        expires_at: UnixTime,
    ) -> StoreResult<()> {
        let row = (
            request_uri_hash.to_owned(),
            client_id.to_owned(),
            request.to_owned(),
        );
        self.write(move |tx| {
            tx.prepare_cached(
                "INSERT INTO pushed_request (request_uri_hash, client_id, request, expires_at)
                 VALUES (?1, ?2, ?3, ?4)",
            )?
            .execute(params![row.0, row.1, row.2, expires_at])?;
            Ok(())
        })
        .await
    }

    async fn take_pushed_request(
        &self,
        request_uri_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>> {
        let (hash, client_id) = (request_uri_hash.to_owned(), client_id.to_owned());
        self.write(move |tx| {
            let pushed = tx
                .prepare_cached(
                    "SELECT client_id, request, expires_at FROM pushed_request
                     WHERE request_uri_hash = ?1",
                )?
                .query_row([&hash], |r| {
                    Ok(Pushed {
                        client_id: r.get(0)?,
                        request: r.get(1)?,
                        expires_at: r.get(2)?,
                    })
                })
                .optional()?;
            let Some(pushed) = pushed.filter(|p| par::may_take(p, &client_id, now)) else {
                return Ok(None);
            };
            tx.prepare_cached("DELETE FROM pushed_request WHERE request_uri_hash = ?1")?
                .execute([&hash])?;
            Ok(Some(pushed.request))
        })
        .await
    }
}
