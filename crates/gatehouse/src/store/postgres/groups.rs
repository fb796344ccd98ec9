//! Groups and their members.

use async_trait::async_trait;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Row};

use super::audit::insert_outcome_audit;
use super::rows::user_from;
use super::transaction::with_retrying_transaction;
use super::{PgStore, conflict_as, db_error};
use crate::clock::UnixTime;
use crate::model::{
    AppLink, AuditRecord, ClaimOwner, ClaimsChange, ClaimsToRelease, CustomClaims, Group,
    GroupChange, Named, User,
};
use crate::oidc::claims;
use crate::store::columns::{claims_to_release, group_columns, may_use_client, user_columns};
use crate::store::{Groups, StoreError, StoreResult, in_use};

fn group_from(r: &PgRow) -> Result<Group, sqlx::Error> {
    Ok(Group {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        description: r.try_get(2)?,
        created_at: r.try_get(3)?,
        auth_policy: r.try_get(4)?,
    })
}

/// The group named `name`, locked for the rest of the transaction when `for_update`: a rename
/// or a new member waits for a concurrent delete, and sees whether the group is still there.
async fn load_group(
    c: &mut PgConnection,
    name: &str,
    for_update: bool,
) -> Result<Option<Group>, sqlx::Error> {
    let sql = if for_update {
        concat!(
            "SELECT ",
            group_columns!(),
            " FROM user_group g WHERE g.name = $1 FOR UPDATE"
        )
    } else {
        concat!(
            "SELECT ",
            group_columns!(),
            " FROM user_group g WHERE g.name = $1"
        )
    };
    sqlx::query(sql)
        .bind(name)
        .fetch_optional(c)
        .await?
        .map(|r| group_from(&r))
        .transpose()
}

fn no_group(name: &str) -> StoreError {
    StoreError::NotFound(Named::Group(name.to_owned()))
}

#[async_trait]
impl Groups for PgStore {
    async fn create_group(&self, group: Group, audit: Option<AuditRecord>) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (group, audit) = (group.clone(), audit.clone());
            Box::pin(async move {
                sqlx::query(
                    "INSERT INTO user_group (id, name, description, created_at, auth_policy)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&group.id)
                .bind(&group.name)
                .bind(&group.description)
                .bind(group.created_at)
                .bind(group.auth_policy)
                .execute(&mut *c)
                .await?;
                insert_outcome_audit(&mut *c, audit).await
            })
        })
        .await
        .map_err(db_error)
        .map_err(conflict_as(Named::Group(group.name.clone())))
    }

    async fn group(&self, name: &str) -> StoreResult<Option<Group>> {
        let mut c = self.pool.acquire().await.map_err(db_error)?;
        load_group(&mut c, name, false).await.map_err(db_error)
    }

    async fn list_groups(&self) -> StoreResult<Vec<Group>> {
        sqlx::query(concat!(
            "SELECT ",
            group_columns!(),
            " FROM user_group g ORDER BY g.name"
        ))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(group_from).collect())
        .map_err(db_error)
    }

    async fn member_counts(&self) -> StoreResult<Vec<(String, usize)>> {
        let counts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT g.name, (SELECT count(*) FROM group_member m WHERE m.group_id = g.id)
             FROM user_group g ORDER BY g.name",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        Ok(counts
            .into_iter()
            .map(|(name, n)| (name, usize::try_from(n).unwrap_or(0)))
            .collect())
    }

    async fn update_group(
        &self,
        name: &str,
        change: GroupChange,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Group> {
        let updated = with_retrying_transaction(&self.pool, |c| {
            let (name, change, audit) = (name.to_owned(), change.clone(), audit.clone());
            Box::pin(async move {
                let Some(group) = load_group(c, &name, true).await? else {
                    return Ok(None);
                };
                let group = change.apply(group);
                sqlx::query(
                    "UPDATE user_group SET name = $2, description = $3, auth_policy = $4
                     WHERE id = $1",
                )
                .bind(&group.id)
                .bind(&group.name)
                .bind(&group.description)
                .bind(group.auth_policy)
                .execute(&mut *c)
                .await?;
                insert_outcome_audit(&mut *c, audit).await?;
                Ok(Some(group))
            })
        })
        .await
        .map_err(db_error)
        .map_err(conflict_as(Named::Group(
            change.name.clone().unwrap_or_default(),
        )))?;
        updated.ok_or_else(|| no_group(name))
    }

    async fn delete_group(&self, name: &str, audit: Option<AuditRecord>) -> StoreResult<()> {
        let outcome = with_retrying_transaction(&self.pool, |c| {
            let (name, audit) = (name.to_owned(), audit.clone());
            Box::pin(async move {
                // Locked: a client cannot be restricted to it between the check and the delete.
                let Some(group) = load_group(c, &name, true).await? else {
                    return Ok(Err(None));
                };
                let clients: Vec<String> = sqlx::query_scalar(
                    "SELECT client_id FROM client_access_group WHERE group_id = $1
                     ORDER BY client_id",
                )
                .bind(&group.id)
                .fetch_all(&mut *c)
                .await?;
                if !clients.is_empty() {
                    return Ok(Err(Some(clients)));
                }
                sqlx::query("DELETE FROM user_group WHERE id = $1")
                    .bind(&group.id)
                    .execute(&mut *c)
                    .await?;
                insert_outcome_audit(&mut *c, audit).await?;
                Ok(Ok(()))
            })
        })
        .await
        .map_err(db_error)?;
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
        let added = with_retrying_transaction(&self.pool, |c| {
            let (name, user, audit) = (group.to_owned(), user_id.to_owned(), audit.clone());
            Box::pin(async move {
                let Some(group) = load_group(c, &name, true).await? else {
                    return Ok(None);
                };
                let user_exists: bool =
                    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM user_account WHERE id = $1)")
                        .bind(&user)
                        .fetch_one(&mut *c)
                        .await?;
                if !user_exists {
                    return Ok(Some(None));
                }
                let added = sqlx::query(
                    "INSERT INTO group_member (group_id, user_id, added_at) VALUES ($1, $2, $3)
                     ON CONFLICT (group_id, user_id) DO NOTHING",
                )
                .bind(&group.id)
                .bind(&user)
                .bind(now)
                .execute(&mut *c)
                .await?
                .rows_affected();
                if added > 0 {
                    insert_outcome_audit(&mut *c, audit).await?;
                }
                Ok(Some(Some(added > 0)))
            })
        })
        .await
        .map_err(db_error)?;
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
        let removed = with_retrying_transaction(&self.pool, |c| {
            let (name, user, audit) = (group.to_owned(), user_id.to_owned(), audit.clone());
            Box::pin(async move {
                let Some(group) = load_group(c, &name, true).await? else {
                    return Ok(None);
                };
                let removed =
                    sqlx::query("DELETE FROM group_member WHERE group_id = $1 AND user_id = $2")
                        .bind(&group.id)
                        .bind(&user)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                if removed > 0 {
                    insert_outcome_audit(&mut *c, audit).await?;
                }
                Ok(Some(removed > 0))
            })
        })
        .await
        .map_err(db_error)?;
        removed.ok_or_else(|| no_group(group))
    }

    async fn members(
        &self,
        group: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Option<Vec<User>>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let members = async {
            // One snapshot: the group and its members as they were together.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let Some(group) = load_group(&mut tx, group, false).await? else {
                return Ok(None);
            };
            sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM group_member m JOIN user_account u ON u.id = m.user_id
                 WHERE m.group_id = $1 AND ($2::text IS NULL OR u.username > $2)
                 ORDER BY u.username LIMIT $3"
            ))
            .bind(&group.id)
            .bind(after)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(|r| user_from(r, 0))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map(Some)
        }
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(members)
    }

    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<Group>> {
        sqlx::query(concat!(
            "SELECT ",
            group_columns!(),
            " FROM group_member m JOIN user_group g ON g.id = m.group_id
             WHERE m.user_id = $1 ORDER BY g.name"
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(group_from).collect())
        .map_err(db_error)
    }

    async fn client_access(&self, client_id: &str) -> StoreResult<Vec<Group>> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let groups = async {
            // One snapshot: the client and the groups it names, as they were together.
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM client WHERE client_id = $1)")
                    .bind(client_id)
                    .fetch_one(&mut *tx)
                    .await?;
            if !exists {
                return Ok(None);
            }
            sqlx::query(concat!(
                "SELECT ",
                group_columns!(),
                " FROM client_access_group a JOIN user_group g ON g.id = a.group_id
                 WHERE a.client_id = $1 ORDER BY g.name"
            ))
            .bind(client_id)
            .fetch_all(&mut *tx)
            .await?
            .iter()
            .map(group_from)
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map(Some)
        }
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        groups.ok_or_else(|| StoreError::NotFound(Named::Client(client_id.to_owned())))
    }

    async fn set_client_access(
        &self,
        client_id: &str,
        groups: Vec<String>,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        let missing = with_retrying_transaction(&self.pool, |c| {
            let (id, groups, audit) = (client_id.to_owned(), groups.clone(), audit.clone());
            Box::pin(async move {
                // Locked: two changes of one client's groups take turns.
                let client: Option<String> = sqlx::query_scalar(
                    "SELECT client_id FROM client WHERE client_id = $1 FOR UPDATE",
                )
                .bind(&id)
                .fetch_optional(&mut *c)
                .await?;
                if client.is_none() {
                    return Ok(Some(Named::Client(id.clone())));
                }
                let mut ids = Vec::with_capacity(groups.len());
                for name in &groups {
                    // Locked: the group cannot be deleted before this commits.
                    match load_group(c, name, true).await? {
                        Some(g) => ids.push(g.id),
                        None => return Ok(Some(Named::Group(name.clone()))),
                    }
                }
                sqlx::query("DELETE FROM client_access_group WHERE client_id = $1")
                    .bind(&id)
                    .execute(&mut *c)
                    .await?;
                for group_id in ids {
                    sqlx::query(
                        "INSERT INTO client_access_group (client_id, group_id) VALUES ($1, $2)
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(&id)
                    .bind(&group_id)
                    .execute(&mut *c)
                    .await?;
                }
                insert_outcome_audit(&mut *c, audit).await?;
                Ok(None)
            })
        })
        .await
        .map_err(db_error)?;
        match missing {
            Some(what) => Err(StoreError::NotFound(what)),
            None => Ok(()),
        }
    }

    async fn may_use(&self, user_id: &str, client_id: &str) -> StoreResult<bool> {
        sqlx::query_scalar(concat!("SELECT ", may_use_client!("$1", "$2")))
            .bind(client_id)
            .bind(user_id)
            .fetch_one(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn applications_of(&self, user_id: &str) -> StoreResult<Vec<AppLink>> {
        let rows = sqlx::query(concat!(
            "SELECT c.client_id, coalesce(c.display_name, c.client_id), c.home_uri, l.version
             FROM client c LEFT JOIN client_logo l ON l.client_id = c.client_id
             WHERE c.home_uri IS NOT NULL AND ",
            may_use_client!("c.client_id", "$1")
        ))
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .map_err(db_error)?;
        let links = rows
            .iter()
            .map(|r| {
                Ok(AppLink {
                    client_id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    home_uri: r.try_get(2)?,
                    logo: r.try_get(3)?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(db_error)?;
        Ok(AppLink::in_order(links))
    }

    async fn custom_claims(&self, owner: &ClaimOwner) -> StoreResult<Option<CustomClaims>> {
        let (sql, name) = claim_sql(owner);
        // One snapshot for the owner and its claims.
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        let claims = async {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut *tx)
                .await?;
            match owner_id(&mut tx, sql.owner_id, name).await? {
                Some(id) => claims_of(&mut tx, sql, &id).await.map(Some),
                None => Ok(None),
            }
        }
        .await
        .map_err(db_error)?;
        tx.commit().await.map_err(db_error)?;
        Ok(claims)
    }

    async fn change_custom_claims(
        &self,
        owner: &ClaimOwner,
        change: ClaimsChange,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Result<CustomClaims, crate::oidc::claims::CustomClaimsProblem>> {
        let (sql, name) = claim_sql(owner);
        let changed = with_retrying_transaction(&self.pool, |c| {
            let (name, change, audit) = (name.to_owned(), change.clone(), audit.clone());
            Box::pin(async move {
                // Locked: two changes at once take turns, the second applied to the first's
                // outcome.
                let Some(id) = owner_id(c, sql.owner_locked, &name).await? else {
                    return Ok(None);
                };
                let current = claims_of(c, sql, &id).await?;
                let claims = match claims::changed(current, &change) {
                    Ok(claims) => claims,
                    Err(why) => return Ok(Some(Err(why))),
                };
                let (names, values): (Vec<&str>, Vec<String>) = claims
                    .iter()
                    .map(|(claim, value)| (claim.as_str(), value.to_string()))
                    .unzip();
                sqlx::query(sql.delete).bind(&id).execute(&mut *c).await?;
                sqlx::query(sql.insert)
                    .bind(&id)
                    .bind(names)
                    .bind(values)
                    .execute(&mut *c)
                    .await?;
                insert_outcome_audit(&mut *c, audit).await?;
                Ok(Some(Ok(claims)))
            })
        })
        .await
        .map_err(db_error)?;
        changed.ok_or_else(|| StoreError::NotFound(owner.describe()))
    }

    async fn claims_to_release(&self, user_id: &str) -> StoreResult<ClaimsToRelease> {
        // One statement: one snapshot, one round trip.
        let rows = sqlx::query(claims_to_release!("$1"))
            .bind(user_id)
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)?;
        let rows = rows
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, json_value(r, 2)?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(db_error)?;
        Ok(ClaimsToRelease::from_rows(rows))
    }
}

/// The statements of one kind of owner's custom claims.
struct ClaimSql {
    /// The owner's id, by its name.
    owner_id: &'static str,
    /// The same, its row locked for the rest of the transaction.
    owner_locked: &'static str,
    /// Its claims, by its id.
    claims_of: &'static str,
    delete: &'static str,
    /// Its claims from arrays of names and of values.
    insert: &'static str,
}

macro_rules! claim_sql {
    ($owner:literal, $named_by:literal, $claims:literal, $refers:literal) => {
        ClaimSql {
            owner_id: concat!("SELECT id FROM ", $owner, " WHERE ", $named_by, " = $1"),
            owner_locked: concat!(
                "SELECT id FROM ",
                $owner,
                " WHERE ",
                $named_by,
                " = $1 FOR NO KEY UPDATE"
            ),
            claims_of: concat!(
                "SELECT name, value FROM ",
                $claims,
                " WHERE ",
                $refers,
                " = $1"
            ),
            delete: concat!("DELETE FROM ", $claims, " WHERE ", $refers, " = $1"),
            insert: concat!(
                "INSERT INTO ",
                $claims,
                " (",
                $refers,
                ", name, value) SELECT $1, n, v FROM unnest($2::TEXT[], $3::TEXT[]) AS t(n, v)"
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

/// The id `sql` (`ClaimSql::owner_id` or `owner_locked`) finds under `name`.
async fn owner_id(
    c: &mut PgConnection,
    sql: &'static str,
    name: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar(sql).bind(name).fetch_optional(c).await
}

/// The custom claims of the user or group whose id is `id`.
async fn claims_of(
    c: &mut PgConnection,
    sql: &ClaimSql,
    id: &str,
) -> Result<CustomClaims, sqlx::Error> {
    let rows = sqlx::query(sql.claims_of).bind(id).fetch_all(c).await?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, json_value(r, 1)?)))
        .collect()
}

/// A custom claim's value, kept as JSON text.
fn json_value(r: &PgRow, at: usize) -> Result<serde_json::Value, sqlx::Error> {
    let text: String = r.try_get(at)?;
    serde_json::from_str(&text).map_err(|e| sqlx::Error::ColumnDecode {
        index: at.to_string(),
        source: Box::new(e),
    })
}
