//! Sign-up links.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, Row, params};

use super::audit::insert_audit;
use super::directory::{insert_user, looking_like};
use super::{SqliteStore, conflict_as};
use crate::auth::{signup, username};
use crate::clock::UnixTime;
use crate::model::{AuditRecord, Named, SignedUp, SignupLink, StoredPasskey, User};
use crate::store::{SignupLinks, StoreError, StoreResult};

const LINK_COLUMNS: &str = "l.id, l.secret_hash, l.note, l.max_uses, l.uses, l.created_by, \
     l.created_at, l.expires_at, l.domains";

fn link_from(c: &Connection, r: &Row<'_>) -> rusqlite::Result<SignupLink> {
    let id: String = r.get(0)?;
    let groups = c
        .prepare_cached(
            "SELECT g.name FROM signup_link_group lg JOIN user_group g ON g.id = lg.group_id
             WHERE lg.link_id = ?1 ORDER BY g.name",
        )?
        .query_map([&id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(SignupLink {
        id,
        secret_hash: r.get(1)?,
        note: r.get(2)?,
        groups,
        max_uses: r.get(3)?,
        uses: r.get(4)?,
        created_by: r.get(5)?,
        created_at: r.get(6)?,
        expires_at: r.get(7)?,
        domains: signup::domains_from_column(&r.get::<_, String>(8)?),
    })
}

fn link_by_hash(c: &Connection, secret_hash: &str) -> rusqlite::Result<Option<SignupLink>> {
    let sql = format!("SELECT {LINK_COLUMNS} FROM signup_link l WHERE l.secret_hash = ?1");
    c.prepare_cached(&sql)?
        .query_row([secret_hash], |r| link_from(c, r))
        .optional()
}

/// The address rule of the account `user_id`: its domains, or none.
fn rule_of(c: &Connection, user_id: &str) -> rusqlite::Result<Vec<String>> {
    let domains: Option<String> = c
        .prepare_cached("SELECT domains FROM address_rule WHERE user_id = ?1")?
        .query_row([user_id], |r| r.get(0))
        .optional()?;
    Ok(signup::domains_from_column(&domains.unwrap_or_default()))
}

/// Gives the account `user_id` the address rule `domains` (not empty).
pub(super) fn insert_address_rule(
    tx: &Connection,
    user_id: &str,
    domains: &[String],
) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO address_rule (user_id, domains) VALUES (?1, ?2)")?
        .execute(params![user_id, domains.join(" ")])?;
    Ok(())
}

/// Keeps `link`, putting its people in the groups `group_ids` (by id).
pub(super) fn insert_link(
    tx: &Connection,
    link: &SignupLink,
    group_ids: &[String],
) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO signup_link
           (id, secret_hash, note, max_uses, uses, created_by, created_at, expires_at, domains)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        link.id,
        link.secret_hash,
        link.note,
        link.max_uses,
        link.uses,
        link.created_by,
        link.created_at,
        link.expires_at,
        link.domains.join(" "),
    ])?;
    for id in group_ids {
        tx.prepare_cached("INSERT INTO signup_link_group (link_id, group_id) VALUES (?1, ?2)")?
            .execute(params![link.id, id])?;
    }
    Ok(())
}

#[async_trait]
impl SignupLinks for SqliteStore {
    async fn create_signup_link(&self, link: SignupLink, audit: AuditRecord) -> StoreResult<()> {
        let missing = self
            .write(move |tx| {
                let mut ids = Vec::with_capacity(link.groups.len());
                for name in &link.groups {
                    let id: Option<String> = tx
                        .prepare_cached("SELECT id FROM user_group WHERE name = ?1")?
                        .query_row([name], |r| r.get(0))
                        .optional()?;
                    match id {
                        Some(id) => ids.push(id),
                        None => return Ok(Some(name.clone())),
                    }
                }
                insert_link(tx, &link, &ids)?;
                insert_audit(tx, &audit)?;
                Ok(None)
            })
            .await?;
        match missing {
            Some(name) => Err(StoreError::NotFound(Named::Group(name))),
            None => Ok(()),
        }
    }

    async fn signup_links(&self) -> StoreResult<Vec<SignupLink>> {
        self.read(|c| {
            let sql = format!(
                "SELECT {LINK_COLUMNS} FROM signup_link l ORDER BY l.created_at DESC, l.id"
            );
            c.prepare_cached(&sql)?
                .query_map([], |r| link_from(c, r))?
                .collect()
        })
        .await
    }

    async fn signup_link(&self, secret_hash: &str) -> StoreResult<Option<SignupLink>> {
        let secret_hash = secret_hash.to_owned();
        self.read(move |c| link_by_hash(c, &secret_hash)).await
    }

    async fn remove_signup_link(&self, id: &str, audit: AuditRecord) -> StoreResult<()> {
        let link_id = id.to_owned();
        let removed = self
            .write(move |tx| {
                let removed = tx
                    .prepare_cached("DELETE FROM signup_link WHERE id = ?1")?
                    .execute([&link_id])?;
                if removed > 0 {
                    insert_audit(tx, &audit)?;
                }
                Ok(removed)
            })
            .await?;
        crate::store::found(removed, || Named::SignupLink(id.to_owned()))
    }

    async fn sign_up(
        &self,
        secret_hash: &str,
        user: User,
        passkey: Option<StoredPasskey>,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<SignedUp> {
        let secret_hash = secret_hash.to_owned();
        let username = user.username.clone();
        let key = username::stored_look_alike_key(&user.username);
        self.db
            .write(move |tx| {
                let link = link_by_hash(tx, &secret_hash)?;
                let taken = signup::Taken {
                    look_alike: looking_like(tx, &key)?.map(|u| u.username),
                    address: signup::address_is_taken(
                        tx.prepare_cached(
                            "SELECT email_verified FROM user_account WHERE lower(email) = lower(?1)",
                        )?
                        .query_map([&user.email], |r| r.get::<_, bool>(0))?
                        .collect::<rusqlite::Result<Vec<bool>>>()?,
                    ),
                    passkey: match &passkey {
                        Some(p) => tx
                            .prepare_cached("SELECT 1 FROM passkey WHERE credential_id = ?1")?
                            .exists([&p.credential_id])?,
                        None => false,
                    },
                };
                let decided = signup::decide(link.as_ref(), &user.email, taken, now);
                let (SignedUp::Done, Some(link)) = (&decided, link) else {
                    return Ok(decided);
                };
                insert_user(tx, &user)?;
                if let Some(passkey) = &passkey {
                    super::passkeys::insert_passkey(tx, passkey, false)?;
                }
                tx.prepare_cached(
                    "INSERT INTO group_member (group_id, user_id, added_at)
                     SELECT group_id, ?2, ?3 FROM signup_link_group WHERE link_id = ?1",
                )?
                .execute(params![link.id, user.id, now])?;
                if !link.domains.is_empty() {
                    insert_address_rule(tx, &user.id, &link.domains)?;
                }
                tx.prepare_cached("UPDATE signup_link SET uses = uses + 1 WHERE id = ?1")?
                    .execute([&link.id])?;
                insert_audit(tx, &audit)?;
                Ok(SignedUp::Done)
            })
            .await
            .map_err(conflict_as(Named::User(username)))
    }

    async fn address_rule(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let user_id = user_id.to_owned();
        self.read(move |c| rule_of(c, &user_id)).await
    }

    async fn lift_address_rule(
        &self,
        user_id: &str,
        audit: AuditRecord,
    ) -> StoreResult<Vec<String>> {
        let user_id = user_id.to_owned();
        self.write(move |tx| {
            let domains = rule_of(tx, &user_id)?;
            if let Some(record) = signup::rule_lifted(&domains, audit.clone()) {
                tx.prepare_cached("DELETE FROM address_rule WHERE user_id = ?1")?
                    .execute([&user_id])?;
                insert_audit(tx, &record)?;
            }
            Ok(domains)
        })
        .await
    }

    async fn set_address_rule(
        &self,
        user_id: &str,
        domains: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<Vec<String>> {
        let user = user_id.to_owned();
        let before = self
            .write(move |tx| {
                let exists = tx
                    .prepare_cached("SELECT 1 FROM user_account WHERE id = ?1")?
                    .exists([&user])?;
                if !exists {
                    return Ok(None);
                }
                let before = rule_of(tx, &user)?;
                if let Some(record) = signup::rule_set(&before, &domains, audit.clone()) {
                    tx.prepare_cached(
                        "INSERT INTO address_rule (user_id, domains) VALUES (?1, ?2)
                         ON CONFLICT (user_id) DO UPDATE SET domains = excluded.domains",
                    )?
                    .execute(params![user, domains.join(" ")])?;
                    insert_audit(tx, &record)?;
                }
                Ok(Some(before))
            })
            .await?;
        before.ok_or_else(|| StoreError::NotFound(Named::UserId(user_id.to_owned())))
    }
}
