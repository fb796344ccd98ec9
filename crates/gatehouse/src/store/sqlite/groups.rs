//! Groups and their members.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, Row, params};

use super::audit::insert_outcome_audit;
use super::rows::user_from;
use super::{SqliteStore, conflict_as};
use crate::clock::UnixTime;
use crate::model::{
    AppLink, AuditRecord, ClaimOwner, ClaimsChange, ClaimsToRelease, CustomClaims, Group,
    GroupChange, Named, User,
};
use crate::oidc::claims;
use crate::store::columns::{claims_to_release, group_columns, may_use_client, user_columns};
use crate::store::{Groups, StoreError, StoreResult, in_use};

fn group_from(r: &Row<'_>) -> rusqlite::Result<Group> {
    Ok(Group {
        id: r.get(0)?,
        name: r.get(1)?,
        description: r.get(2)?,
        created_at: r.get(3)?,
        auth_policy: r.get(4)?,
    })
}

fn load_group(c: &Connection, name: &str) -> rusqlite::Result<Option<Group>> {
    c.prepare_cached(concat!(
        "SELECT ",
        group_columns!(),
        " FROM user_group g WHERE g.name = ?1"
    ))?
    .query_row([name], group_from)
    .optional()
}

/// The clients that only members of the group may use.
fn clients_restricted_to(c: &Connection, group_id: &str) -> rusqlite::Result<Vec<String>> {
    c.prepare_cached(
        "SELECT client_id FROM client_access_group WHERE group_id = ?1 ORDER BY client_id",
    )?
    .query_map([group_id], |r| r.get(0))?
    .collect()
}

fn no_group(name: &str) -> StoreError {
    StoreError::NotFound(Named::Group(name.to_owned()))
}

#[async_trait]
impl Groups for SqliteStore {
    async fn create_group(&self, group: Group, audit: Option<AuditRecord>) -> StoreResult<()> {
        let name = group.name.clone();
        self.db
            .write(move |tx| {
                tx.prepare_cached(
                    "INSERT INTO user_group (id, name, description, created_at, auth_policy)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )?
                .execute(params![
                    group.id,
                    group.name,
                    group.description,
                    group.created_at,
                    group.auth_policy
                ])?;
                insert_outcome_audit(tx, audit.as_ref())
            })
            .await
            .map_err(conflict_as(Named::Group(name.clone())))?;
        Ok(())
    }

    async fn group(&self, name: &str) -> StoreResult<Option<Group>> {
        let name = name.to_owned();
        self.read(move |c| load_group(c, &name)).await
    }

    async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        self.read(|c| {
            c.prepare_cached(concat!(
                "SELECT ",
                group_columns!(),
                " FROM user_group g ORDER BY g.name"
            ))?
            .query_map([], group_from)?
            .collect()
        })
        .await
    }

    async fn member_counts(&self) -> StoreResult<Vec<(String, usize)>> {
        self.read(|c| {
            c.prepare_cached(
                "SELECT g.name, (SELECT count(*) FROM group_member m WHERE m.group_id = g.id)
                 FROM user_group g ORDER BY g.name",
            )?
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
            .collect()
        })
        .await
    }

    async fn update_group(
        &self,
        name: &str,
        change: GroupChange,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Group> {
        let (old, new_name) = (name.to_owned(), change.name.clone());
        let updated = self
            .db
            .write(move |tx| {
                let Some(group) = load_group(tx, &old)? else {
                    return Ok(None);
                };
                let group = change.clone().apply(group);
                tx.prepare_cached(
                    "UPDATE user_group SET name = ?2, description = ?3, auth_policy = ?4
                     WHERE id = ?1",
                )?
                .execute(params![
                    group.id,
                    group.name,
                    group.description,
                    group.auth_policy
                ])?;
                insert_outcome_audit(tx, audit.as_ref())?;
                Ok(Some(group))
            })
            .await
            .map_err(conflict_as(Named::Group(new_name.unwrap_or_default())))?;
        updated.ok_or_else(|| no_group(name))
    }

    async fn delete_group(&self, name: &str, audit: Option<AuditRecord>) -> StoreResult<()> {
        let owned = name.to_owned();
        let outcome = self
            .write(move |tx| {
                let Some(group) = load_group(tx, &owned)? else {
                    return Ok(Err(None));
                };
                let clients = clients_restricted_to(tx, &group.id)?;
                if !clients.is_empty() {
                    return Ok(Err(Some(clients)));
                }
                tx.prepare_cached("DELETE FROM user_group WHERE id = ?1")?
                    .execute([&group.id])?;
                insert_outcome_audit(tx, audit.as_ref())?;
                Ok(Ok(()))
            })
            .await?;
        match outcome {
            Ok(()) => Ok(()),
            Err(None) => Err(no_group(name)),
            Err(Some(clients)) => Err(in_use(name, &clients)),
        }
    }

    async fn add_member(
        &self,
        group: &str,
        user_id: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<bool> {
        let (name, user) = (group.to_owned(), user_id.to_owned());
        let added = self
            .write(move |tx| {
                let Some(group) = load_group(tx, &name)? else {
                    return Ok(None);
                };
                let user_exists = tx
                    .prepare_cached("SELECT 1 FROM user_account WHERE id = ?1")?
                    .exists([&user])?;
                if !user_exists {
                    return Ok(Some(None));
                }
                let added = tx
                    .prepare_cached(
                        "INSERT INTO group_member (group_id, user_id, added_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (group_id, user_id) DO NOTHING",
                    )?
                    .execute(params![group.id, user, now])?;
                if added > 0 {
                    insert_outcome_audit(tx, audit.as_ref())?;
                }
                Ok(Some(Some(added > 0)))
            })
            .await?;
        match added {
            None => Err(no_group(group)),
            Some(None) => Err(StoreError::NotFound(Named::UserId(user_id.to_owned()))),
            Some(Some(added)) => Ok(added),
        }
    }

    async fn remove_member(
        &self,
        group: &str,
        user_id: &str,
        audit: Option<AuditRecord>,
    ) -> StoreResult<bool> {
        let (name, user) = (group.to_owned(), user_id.to_owned());
        let removed = self
            .write(move |tx| {
                let Some(group) = load_group(tx, &name)? else {
                    return Ok(None);
                };
                let removed = tx
                    .prepare_cached(
                        "DELETE FROM group_member WHERE group_id = ?1 AND user_id = ?2",
                    )?
                    .execute(params![group.id, user])?;
                if removed > 0 {
                    insert_outcome_audit(tx, audit.as_ref())?;
                }
                Ok(Some(removed > 0))
            })
            .await?;
        removed.ok_or_else(|| no_group(group))
    }

    async fn members(
        &self,
        group: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Option<Vec<User>>> {
        let name = group.to_owned();
        let after = after.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| {
            let Some(group) = load_group(c, &name)? else {
                return Ok(None);
            };
            c.prepare_cached(concat!(
                "SELECT ",
                user_columns!(),
                " FROM group_member m JOIN user_account u ON u.id = m.user_id
                 WHERE m.group_id = ?1 AND (?2 IS NULL OR u.username > ?2)
                 ORDER BY u.username LIMIT ?3"
            ))?
            .query_map(params![group.id, after, limit], |r| user_from(r, 0))?
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(Some)
        })
        .await
    }

    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<Group>> {
        let user = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                group_columns!(),
                " FROM group_member m JOIN user_group g ON g.id = m.group_id
                 WHERE m.user_id = ?1 ORDER BY g.name"
            ))?
            .query_map([user], group_from)?
            .collect()
        })
        .await
    }

    async fn client_access(&self, client_id: &str) -> StoreResult<Vec<Group>> {
        let id = client_id.to_owned();
        let groups = self
            .read(move |c| {
                let exists = c
                    .prepare_cached("SELECT 1 FROM client WHERE client_id = ?1")?
                    .exists([&id])?;
                if !exists {
                    return Ok(None);
                }
                c.prepare_cached(concat!(
                    "SELECT ",
                    group_columns!(),
                    " FROM client_access_group a JOIN user_group g ON g.id = a.group_id
                     WHERE a.client_id = ?1 ORDER BY g.name"
                ))?
                .query_map([&id], group_from)?
                .collect::<rusqlite::Result<Vec<_>>>()
                .map(Some)
            })
            .await?;
        groups.ok_or_else(|| StoreError::NotFound(Named::Client(client_id.to_owned())))
    }

    async fn set_client_access(
        &self,
        client_id: &str,
        groups: Vec<String>,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        let id = client_id.to_owned();
        let missing = self
            .write(move |tx| {
                let exists = tx
                    .prepare_cached("SELECT 1 FROM client WHERE client_id = ?1")?
                    .exists([&id])?;
                if !exists {
                    return Ok(Some(Named::Client(id.clone())));
                }
                let mut ids = Vec::with_capacity(groups.len());
                for name in &groups {
                    match load_group(tx, name)? {
                        Some(g) => ids.push(g.id),
                        None => return Ok(Some(Named::Group(name.clone()))),
                    }
                }
                tx.prepare_cached("DELETE FROM client_access_group WHERE client_id = ?1")?
                    .execute([&id])?;
                for group_id in ids {
                    tx.prepare_cached(
                        "INSERT INTO client_access_group (client_id, group_id) VALUES (?1, ?2)
                         ON CONFLICT DO NOTHING",
                    )?
                    .execute([&id, &group_id])?;
                }
                insert_outcome_audit(tx, audit.as_ref())?;
                Ok(None)
            })
            .await?;
        match missing {
            Some(what) => Err(StoreError::NotFound(what)),
            None => Ok(()),
        }
    }

    async fn may_use(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        let (user, client) = (user_id.to_owned(), client_id.to_owned());
        self.read(move |c| {
            c.prepare_cached(concat!("SELECT ", may_use_client!("?1", "?2")))?
                .query_row([client, user], |r| r.get(0))
        })
        .await
    }

    async fn applications_of(&self, user_id: &str) -> StoreResult<Vec<AppLink>> {
        let user_id = user_id.to_owned();
        let links = self
            .read(move |c| {
                c.prepare_cached(concat!(
                    "SELECT c.client_id, coalesce(c.display_name, c.client_id), c.home_uri,
                         l.version
                     FROM client c LEFT JOIN client_logo l ON l.client_id = c.client_id
                     WHERE c.home_uri IS NOT NULL AND ",
                    may_use_client!("c.client_id", "?1")
                ))?
                .query_map([user_id], |r| {
                    Ok(AppLink {
                        client_id: r.get(0)?,
                        name: r.get(1)?,
                        home_uri: r.get(2)?,
                        logo: r.get(3)?,
                    })
                })?
                .collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        Ok(AppLink::in_order(links))
    }

    async fn custom_claims(&self, owner: &ClaimOwner) -> StoreResult<Option<CustomClaims>> {
        let (sql, name) = claim_sql(owner);
        let name = name.to_owned();
        self.read(move |c| match owner_id(c, sql, &name)? {
            Some(id) => claims_of(c, sql, &id).map(Some),
            None => Ok(None),
        })
        .await
    }

    async fn change_custom_claims(
        &self,
        owner: &ClaimOwner,
        change: ClaimsChange,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Result<CustomClaims, crate::oidc::claims::CustomClaimsProblem>> {
        let (sql, name) = claim_sql(owner);
        let name = name.to_owned();
        let changed = self
            .write(move |tx| {
                let Some(id) = owner_id(tx, sql, &name)? else {
                    return Ok(None);
                };
                let claims = match claims::changed(claims_of(tx, sql, &id)?, &change) {
                    Ok(claims) => claims,
                    Err(why) => return Ok(Some(Err(why))),
                };
                tx.prepare_cached(sql.delete)?.execute([&id])?;
                let mut insert = tx.prepare_cached(sql.insert)?;
                for (claim, value) in &claims {
                    insert.execute(params![id, claim, value.to_string()])?;
                }
                insert_outcome_audit(tx, audit.as_ref())?;
                Ok(Some(Ok(claims)))
            })
            .await?;
        changed.ok_or_else(|| StoreError::NotFound(owner.describe()))
    }

    async fn claims_to_release(&self, user_id: &str) -> StoreResult<ClaimsToRelease> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            let mut rows = c.prepare_cached(claims_to_release!("?1"))?;
            let rows = rows
                .query_map([&user_id], |r| {
                    Ok((r.get(0)?, r.get(1)?, json_value(r, 2)?))
                })?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(ClaimsToRelease::from_rows(rows))
        })
        .await
    }
}

/// The statements of one kind of owner's custom claims.
struct ClaimSql {
    /// The owner's id, by its name.
    owner_id: &'static str,
    /// Its claims, by its id.
    claims_of: &'static str,
    delete: &'static str,
    insert: &'static str,
}

macro_rules! claim_sql {
    ($owner:literal, $named_by:literal, $claims:literal, $refers:literal) => {
        ClaimSql {
            owner_id: concat!("SELECT id FROM ", $owner, " WHERE ", $named_by, " = ?1"),
            claims_of: concat!(
                "SELECT name, value FROM ",
                $claims,
                " WHERE ",
                $refers,
                " = ?1"
            ),
            delete: concat!("DELETE FROM ", $claims, " WHERE ", $refers, " = ?1"),
            insert: concat!(
                "INSERT INTO ",
                $claims,
                " (",
                $refers,
                ", name, value) VALUES (?1, ?2, ?3)"
            ),
        }
    };
}

const USER_CLAIMS: ClaimSql = claim_sql!("user_account", "username", "user_claim", "user_id");
const GROUP_CLAIMS: ClaimSql = claim_sql!("user_group", "name", "group_claim", "group_id");

/// The statements of `owner`'s custom claims, and its name.
fn claim_sql(owner: &ClaimOwner) -> (&'static ClaimSql, &str) {
    match owner {
        ClaimOwner::User(name) => (&USER_CLAIMS, name),
        ClaimOwner::Group(name) => (&GROUP_CLAIMS, name),
    }
}

/// The id of the user or group `sql` is about, by its name.
fn owner_id(c: &Connection, sql: &ClaimSql, name: &str) -> rusqlite::Result<Option<String>> {
    c.prepare_cached(sql.owner_id)?
        .query_row([name], |r| r.get(0))
        .optional()
}

/// The custom claims of the user or group whose id is `id`.
fn claims_of(c: &Connection, sql: &ClaimSql, id: &str) -> rusqlite::Result<CustomClaims> {
    c.prepare_cached(sql.claims_of)?
        .query_map([id], |r| Ok((r.get(0)?, json_value(r, 1)?)))?
        .collect()
}

/// A custom claim's value, kept as JSON text.
pub(super) fn json_value(r: &Row<'_>, at: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = r.get(at)?;
    serde_json::from_str(&text).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(at, rusqlite::types::Type::Text, Box::new(e))
    })
}
