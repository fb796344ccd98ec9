//! Back-channel logout notices (`oidc::backchannel`): claimed by a sender, settled after it
//! tried.

use async_trait::async_trait;
use onewriter::rusqlite::params;

use super::SqliteStore;
use super::audit::insert_audit;
use super::rows::notice_from;
use crate::clock::UnixTime;
use crate::model::LogoutNotice;
use crate::oidc::backchannel::{self, LEASE, Settlement};
use crate::store::columns::notice_columns;
use crate::store::{LogoutOutbox, StoreResult};

#[async_trait]
impl LogoutOutbox for SqliteStore {
    async fn claim_logout_notices(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> StoreResult<Vec<LogoutNotice>> {
        // Asked every second by every instance: a reader answers "nothing due" without taking
        // the writer.
        let due: bool = self
            .read(move |c| {
                c.prepare_cached(
                    "SELECT EXISTS (SELECT 1 FROM logout_notice WHERE next_attempt_at <= ?1)",
                )?
                .query_row([now], |r| r.get(0))
            })
            .await?;
        if !due {
            return Ok(Vec::new());
        }
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.write(move |tx| {
            let notices = tx
                .prepare_cached(concat!(
                    "SELECT ",
                    notice_columns!(),
                    " FROM logout_notice n JOIN client c ON c.client_id = n.client_id
                     WHERE n.next_attempt_at <= ?1 AND c.backchannel_logout_uri IS NOT NULL
                     ORDER BY n.next_attempt_at, n.id LIMIT ?2"
                ))?
                .query_map(params![now, limit], notice_from)?
                .collect::<Result<Vec<_>, _>>()?;
            let mut lease =
                tx.prepare_cached("UPDATE logout_notice SET next_attempt_at = ?2 WHERE id = ?1")?;
            for n in &notices {
                lease.execute(params![n.id, now + LEASE])?;
            }
            Ok(notices)
        })
        .await
    }

    async fn settle_logout_notice(
        &self,
        notice: &LogoutNotice,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()> {
        let notice = notice.clone();
        self.write(move |tx| {
            match &settlement {
                Settlement::Delivered => {
                    tx.prepare_cached("DELETE FROM logout_notice WHERE id = ?1")?
                        .execute([notice.id])?;
                }
                Settlement::RetryAt(at) => {
                    tx.prepare_cached(
                        "UPDATE logout_notice SET attempts = attempts + 1, next_attempt_at = ?2
                         WHERE id = ?1",
                    )?
                    .execute(params![notice.id, at])?;
                }
                Settlement::GiveUp(why) => {
                    tx.prepare_cached("DELETE FROM logout_notice WHERE id = ?1")?
                        .execute([notice.id])?;
                    insert_audit(tx, &backchannel::undelivered(&notice, why, now))?;
                }
            }
            Ok(())
        })
        .await
    }
}
