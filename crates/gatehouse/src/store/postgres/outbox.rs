//! Back-channel logout notices (`oidc::backchannel`): claimed by a sender, settled after it
//! tried.

use async_trait::async_trait;

use super::audit::insert_audit;
use super::rows::notice_from;
use super::transaction::with_retrying_transaction;
use super::{PgStore, db_error};
use crate::clock::UnixTime;
use crate::model::LogoutNotice;
use crate::oidc::backchannel::{self, LEASE, Settlement};
use crate::store::columns::notice_columns;
use crate::store::{LogoutOutbox, StoreResult};

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
                match settlement {
                    Settlement::Delivered => {
                        sqlx::query("DELETE FROM logout_notice WHERE id = $1")
                            .bind(notice.id)
                            .execute(&mut *c)
                            .await?;
                    }
                    Settlement::RetryAt(at) => {
                        sqlx::query(
                            "UPDATE logout_notice SET attempts = attempts + 1,
                                 next_attempt_at = $2
                             WHERE id = $1",
                        )
                        .bind(notice.id)
                        .bind(at)
                        .execute(&mut *c)
                        .await?;
                    }
                    Settlement::GiveUp(why) => {
                        sqlx::query("DELETE FROM logout_notice WHERE id = $1")
                            .bind(notice.id)
                            .execute(&mut *c)
                            .await?;
                        insert_audit(&mut *c, &backchannel::undelivered(&notice, &why, now))
                            .await?;
                    }
                }
                Ok(())
            })
        })
        .await
        .map_err(db_error)
    }
}
