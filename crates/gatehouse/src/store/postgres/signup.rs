//! Sign-up links.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::audit::insert_audit;
use super::directory::{insert_user, lock_name, looking_like};
use super::transaction::with_retrying_transaction;
use super::{PgStore, conflict_as, db_error};
use crate::auth::{signup, username};
use crate::clock::UnixTime;
use crate::model::{AuditRecord, Named, SignedUp, SignupLink, StoredPasskey, User};
use crate::store::{SignupLinks, StoreError, StoreResult};

/// A link's columns and the names of its groups, by name; `{where}` picks the links.
macro_rules! links_where {
    ($where:literal) => {
        concat!(
            "SELECT l.id, l.secret_hash, l.note, l.max_uses, l.uses, l.created_by, l.created_at,
                    l.expires_at, l.domains,
                    COALESCE(array_agg(g.name ORDER BY g.name) FILTER (WHERE g.name IS NOT NULL),
                             '{}')
             FROM signup_link l
             LEFT JOIN signup_link_group lg ON lg.link_id = l.id
             LEFT JOIN user_group g ON g.id = lg.group_id ",
            $where,
            " GROUP BY l.id"
        )
    };
}

fn count(r: &PgRow, at: usize) -> Result<u32, sqlx::Error> {
    let n: i32 = r.try_get(at)?;
    u32::try_from(n).map_err(|e| sqlx::Error::Decode(Box::new(e)))
}

fn link_from(r: &PgRow) -> Result<SignupLink, sqlx::Error> {
    Ok(SignupLink {
        id: r.try_get(0)?,
        secret_hash: r.try_get(1)?,
        note: r.try_get(2)?,
        max_uses: count(r, 3)?,
        uses: count(r, 4)?,
        created_by: r.try_get(5)?,
        created_at: r.try_get(6)?,
        expires_at: r.try_get(7)?,
        domains: signup::domains_from_column(r.try_get(8)?),
        groups: r.try_get(9)?,
    })
}

fn as_count(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Keeps `link` and its groups (by name), with `audit`; the name of a group that does not
/// exist, and nothing kept.
async fn create_link(
    c: &mut PgConnection,
    link: &SignupLink,
    audit: &AuditRecord,
) -> Result<Option<String>, sqlx::Error> {
    let mut ids = Vec::with_capacity(link.groups.len());
    for name in &link.groups {
        // Locked, so a group deleted meanwhile is seen as gone rather than left named.
        let id: Option<String> =
            sqlx::query_scalar("SELECT id FROM user_group WHERE name = $1 FOR SHARE")
                .bind(name)
                .fetch_optional(&mut *c)
                .await?;
        match id {
            Some(id) => ids.push(id),
            None => return Ok(Some(name.clone())),
        }
    }
    insert_link(&mut *c, link, &ids).await?;
    insert_audit(c, audit).await?;
    Ok(None)
}

/// Keeps `link`, putting its people in the groups `group_ids` (by id).
pub(super) async fn insert_link(
    c: &mut PgConnection,
    link: &SignupLink,
    group_ids: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO signup_link
           (id, secret_hash, note, max_uses, uses, created_by, created_at, expires_at, domains)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&link.id)
    .bind(&link.secret_hash)
    .bind(&link.note)
    .bind(as_count(link.max_uses))
    .bind(as_count(link.uses))
    .bind(&link.created_by)
    .bind(link.created_at)
    .bind(link.expires_at)
    .bind(link.domains.join(" "))
    .execute(&mut *c)
    .await?;
    for id in group_ids {
        sqlx::query("INSERT INTO signup_link_group (link_id, group_id) VALUES ($1, $2)")
            .bind(&link.id)
            .bind(id)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Makes `user`'s account with the link `secret_hash` (`SignupLinks::sign_up`). The link's row
/// is locked first, so sign-ups with one link take their turns and each sees the uses the one
/// before counted.
async fn sign_up_in(
    c: &mut PgConnection,
    secret_hash: &str,
    (user, passkey): (&User, Option<&StoredPasskey>),
    now: UnixTime,
    audit: &AuditRecord,
) -> Result<SignedUp, sqlx::Error> {
    let locked: Option<String> =
        sqlx::query_scalar("SELECT id FROM signup_link WHERE secret_hash = $1 FOR UPDATE")
            .bind(secret_hash)
            .fetch_optional(&mut *c)
            .await?;
    let link = match locked {
        Some(_) => sqlx::query(links_where!("WHERE l.secret_hash = $1"))
            .bind(secret_hash)
            .fetch_optional(&mut *c)
            .await?
            .map(|r| link_from(&r))
            .transpose()?,
        None => None,
    };
    // Two look-alike names or two accounts with one passkey, made at once (with two links),
    // wait for each other here, so the second sees the first. Two with one address need not:
    // a new account's address is unconfirmed, so neither takes it from the other.
    let key = username::stored_look_alike_key(&user.username);
    let look_alike = looking_like(&mut *c, &key).await?.map(|u| u.username);
    let holders: Vec<bool> = sqlx::query_scalar(
        "SELECT email_verified FROM user_account WHERE lower(email) = lower($1)",
    )
    .bind(&user.email)
    .fetch_all(&mut *c)
    .await?;
    let address = signup::address_is_taken(holders);
    let passkey_taken = match passkey {
        Some(p) => {
            lock_name(&mut *c, &super::passkeys::passkey_lock(&p.credential_id)).await?;
            sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM passkey WHERE credential_id = $1)")
                .bind(&p.credential_id)
                .fetch_one(&mut *c)
                .await?
        }
        None => false,
    };
    let taken = signup::Taken {
        look_alike,
        address,
        passkey: passkey_taken,
    };
    let decided = signup::decide(link.as_ref(), &user.email, taken, now);
    let (SignedUp::Done, Some(link)) = (&decided, link) else {
        return Ok(decided);
    };
    insert_user(&mut *c, user).await?;
    if let Some(passkey) = passkey {
        super::passkeys::insert_passkey(&mut *c, passkey, false).await?;
    }
    // The link's groups held, so one deleted meanwhile waits for this transaction rather than
    // leaving a membership of a group that is gone.
    sqlx::query(
        "SELECT g.id FROM user_group g JOIN signup_link_group lg ON lg.group_id = g.id
         WHERE lg.link_id = $1 FOR SHARE OF g",
    )
    .bind(&link.id)
    .execute(&mut *c)
    .await?;
    sqlx::query(
        "INSERT INTO group_member (group_id, user_id, added_at)
         SELECT group_id, $2, $3 FROM signup_link_group WHERE link_id = $1",
    )
    .bind(&link.id)
    .bind(&user.id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    if !link.domains.is_empty() {
        insert_address_rule(&mut *c, &user.id, &link.domains).await?;
    }
    sqlx::query("UPDATE signup_link SET uses = uses + 1 WHERE id = $1")
        .bind(&link.id)
        .execute(&mut *c)
        .await?;
    insert_audit(c, audit).await?;
    Ok(SignedUp::Done)
}

/// Gives the account `user_id` the address rule `domains` (not empty).
pub(super) async fn insert_address_rule(
    c: &mut PgConnection,
    user_id: &str,
    domains: &[String],
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO address_rule (user_id, domains) VALUES ($1, $2)")
        .bind(user_id)
        .bind(domains.join(" "))
        .execute(&mut *c)
        .await?;
    Ok(())
}

#[async_trait]
impl SignupLinks for PgStore {
    async fn create_signup_link(&self, link: SignupLink, audit: AuditRecord) -> StoreResult<()> {
        let missing = with_retrying_transaction(&self.pool, |c| {
            let (link, audit) = (link.clone(), audit.clone());
            Box::pin(async move { create_link(c, &link, &audit).await })
        })
        .await
        .map_err(db_error)?;
        match missing {
            Some(name) => Err(StoreError::NotFound(Named::Group(name))),
            None => Ok(()),
        }
    }

    async fn signup_links(&self) -> StoreResult<Vec<SignupLink>> {
        sqlx::query(concat!(
            links_where!(""),
            " ORDER BY l.created_at DESC, l.id"
        ))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(link_from).collect())
        .map_err(db_error)
    }

    async fn signup_link(&self, secret_hash: &str) -> StoreResult<Option<SignupLink>> {
        sqlx::query(links_where!("WHERE l.secret_hash = $1"))
            .bind(secret_hash)
            .fetch_optional(&self.pool)
            .await
            .and_then(|r| r.map(|r| link_from(&r)).transpose())
            .map_err(db_error)
    }

    async fn remove_signup_link(&self, id: &str, audit: AuditRecord) -> StoreResult<()> {
        let removed = with_retrying_transaction(&self.pool, |c| {
            let (id, audit) = (id.to_owned(), audit.clone());
            Box::pin(async move {
                let removed = sqlx::query("DELETE FROM signup_link WHERE id = $1")
                    .bind(&id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                if removed > 0 {
                    insert_audit(c, &audit).await?;
                }
                Ok(removed)
            })
        })
        .await
        .map_err(db_error)?;
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
        with_retrying_transaction(&self.pool, |c| {
            let (hash, user, audit) = (secret_hash.to_owned(), user.clone(), audit.clone());
            let passkey = passkey.clone();
            Box::pin(async move {
                let new = (&user, passkey.as_ref());
                sign_up_in(c, &hash, new, now, &audit).await
            })
        })
        .await
        .map_err(db_error)
        .map_err(conflict_as(Named::User(user.username.clone())))
    }

    async fn address_rule(&self, user_id: &str) -> StoreResult<Vec<String>> {
        let domains: Option<String> =
            sqlx::query_scalar("SELECT domains FROM address_rule WHERE user_id = $1")
                .bind(user_id)
                .fetch_optional(&self.pool)
                .await
                .map_err(db_error)?;
        Ok(signup::domains_from_column(&domains.unwrap_or_default()))
    }

    async fn lift_address_rule(
        &self,
        user_id: &str,
        audit: AuditRecord,
    ) -> StoreResult<Vec<String>> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, audit) = (user_id.to_owned(), audit.clone());
            Box::pin(async move {
                // Deleted as read: of administrators lifting it at once, one finds it. The
                // account is locked first, as `set_address_rule` locks it, so that a rule set
                // at the same moment is either lifted or kept whole, never recorded as lifted
                // and kept.
                lock_account(&mut *c, &user_id).await?;
                let domains: Option<String> = sqlx::query_scalar(
                    "DELETE FROM address_rule WHERE user_id = $1 RETURNING domains",
                )
                .bind(&user_id)
                .fetch_optional(&mut *c)
                .await?;
                let domains = signup::domains_from_column(&domains.unwrap_or_default());
                if let Some(record) = signup::rule_lifted(&domains, audit) {
                    insert_audit(&mut *c, &record).await?;
                }
                Ok(domains)
            })
        })
        .await
        .map_err(db_error)
    }

    async fn set_address_rule(
        &self,
        user_id: &str,
        domains: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<Vec<String>> {
        let before = with_retrying_transaction(&self.pool, |c| {
            let (user_id, domains, audit) = (user_id.to_owned(), domains.clone(), audit.clone());
            Box::pin(async move {
                // Administrators setting it at once wait for each other here, so each reads
                // the rule the one before kept.
                if !lock_account(&mut *c, &user_id).await? {
                    return Ok(None);
                }
                let before: Option<String> =
                    sqlx::query_scalar("SELECT domains FROM address_rule WHERE user_id = $1")
                        .bind(&user_id)
                        .fetch_optional(&mut *c)
                        .await?;
                let before = signup::domains_from_column(&before.unwrap_or_default());
                if let Some(record) = signup::rule_set(&before, &domains, audit) {
                    sqlx::query(
                        "INSERT INTO address_rule (user_id, domains) VALUES ($1, $2)
                         ON CONFLICT (user_id) DO UPDATE SET domains = excluded.domains",
                    )
                    .bind(&user_id)
                    .bind(domains.join(" "))
                    .execute(&mut *c)
                    .await?;
                    insert_audit(&mut *c, &record).await?;
                }
                Ok(Some(before))
            })
        })
        .await
        .map_err(db_error)?;
        before.ok_or_else(|| StoreError::NotFound(Named::UserId(user_id.to_owned())))
    }
}

/// Locks the account `user_id` for a change of its address rule; whether it exists.
async fn lock_account(c: &mut PgConnection, user_id: &str) -> Result<bool, sqlx::Error> {
    let found = sqlx::query("SELECT 1 FROM user_account WHERE id = $1 FOR NO KEY UPDATE")
        .bind(user_id)
        .fetch_optional(&mut *c)
        .await?;
    Ok(found.is_some())
}
