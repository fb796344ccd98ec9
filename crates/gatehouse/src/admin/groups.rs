//! Groups and their members, as administrators manage them: checked, stored, audited.

use serde::{Deserialize, Deserializer};

use super::{Admin, AdminError, Refusal, invalid};
use crate::model::{
    AuditKind, AuthPolicy, Group, GroupChange, Named, User, new_group_name_problem,
};
use crate::oidc::tokens;

/// The longest group description.
pub const MAX_DESCRIPTION: usize = 1024;

/// A group to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "name": "grafana-editors",
    "description": "May edit dashboards"
}))]
pub struct NewGroup {
    /// 1 to 64 characters of lower-case letters, digits, `.`, `_` or `-`, at least one a letter
    /// or digit: what applications see in the `groups` claim.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[a-z0-9._-]*[a-z0-9][a-z0-9._-]*$"
    )]
    pub name: String,
    /// What the group is for, for people (at most 1024 characters, no control characters).
    #[serde(default)]
    #[schema(max_length = 1024)]
    pub description: Option<String>,
    /// What its members must prove to sign in anywhere: `password` (the default),
    /// `two_factor` or `passkey`.
    #[serde(default)]
    pub auth_policy: AuthPolicy,
}

/// Changes to a group; absent fields stay as they are.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupPatch {
    /// A new name (the members stay).
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[a-z0-9._-]*[a-z0-9][a-z0-9._-]*$"
    )]
    pub name: Option<String>,
    /// A new description; `null` removes it.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 1024)]
    pub description: Option<Option<String>>,
    /// What its members must prove to sign in from now on; sessions that proved less sign in
    /// again.
    #[serde(default)]
    pub auth_policy: Option<AuthPolicy>,
}

/// A field that is present, even as `null`: `Some(None)`; an absent one is `None` (serde's
/// `default`).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

fn check_name(name: &str) -> Result<(), AdminError> {
    match new_group_name_problem(name) {
        Some(problem) => Err(invalid(problem)),
        None => Ok(()),
    }
}

fn check_description(d: Option<&str>) -> Result<(), AdminError> {
    match d {
        Some(d) if d.chars().count() > MAX_DESCRIPTION => Err(invalid(Refusal::DescriptionTooLong)),
        Some(d)
            if d.chars()
                .any(|c| c.is_control() || crate::text::is_invisible(c)) =>
        {
            Err(invalid(Refusal::DescriptionInvisible))
        }
        _ => Ok(()),
    }
}

impl Admin<'_> {
    /// Creates a group, and audits it.
    ///
    /// # Errors
    /// `Invalid` for a malformed name or description; `Conflict` when the name is taken; a
    /// store failure.
    pub async fn add_group(&self, new: NewGroup) -> Result<Group, AdminError> {
        check_name(&new.name)?;
        check_description(new.description.as_deref())?;
        let group = Group {
            id: tokens::new_id(),
            name: new.name,
            description: new.description.filter(|d| !d.is_empty()),
            created_at: self.now,
            auth_policy: new.auth_policy,
        };
        let record = self.record(AuditKind::GroupCreated, &group.name, None, None);
        self.store.create_group(group.clone(), Some(record)).await?;
        Ok(group)
    }

    /// The group named `name`.
    ///
    /// # Errors
    /// `NotFound` when there is no such group; a store failure.
    pub async fn group(&self, name: &str) -> Result<Group, AdminError> {
        self.store.group(name).await?.ok_or_else(|| no_group(name))
    }

    /// Renames or re-describes a group (its members stay), and audits what changed.
    ///
    /// # Errors
    /// `Invalid` for a malformed name or description; `NotFound` when there is no such group;
    /// `Conflict` when the new name is taken; a store failure.
    pub async fn update_group(&self, name: &str, patch: GroupPatch) -> Result<Group, AdminError> {
        if let Some(n) = &patch.name {
            check_name(n)?;
        }
        if let Some(d) = &patch.description {
            check_description(d.as_deref())?;
        }
        let mut changed = Vec::new();
        if let Some(n) = patch.name.as_ref().filter(|n| *n != name) {
            changed.push(format!("renamed from {name} to {n}"));
        }
        if patch.description.is_some() {
            changed.push("description changed".to_owned());
        }
        if let Some(p) = patch.auth_policy {
            changed.push(format!("auth_policy set to {p}"));
        }
        let change = GroupChange {
            name: patch.name,
            description: patch.description.map(|d| d.filter(|d| !d.is_empty())),
            auth_policy: patch.auth_policy,
        };
        // Recorded under the name the group has after the change.
        let now_named = change.name.as_deref().unwrap_or(name);
        let record = (!changed.is_empty()).then(|| {
            self.record(
                AuditKind::GroupUpdated,
                now_named,
                None,
                Some(changed.join("; ")),
            )
        });
        Ok(self.store.update_group(name, change, record).await?)
    }

    /// Deletes a group and its memberships, and audits it.
    ///
    /// # Errors
    /// `NotFound` when there is no such group; a store failure.
    pub async fn delete_group(&self, name: &str) -> Result<(), AdminError> {
        let record = self.record(AuditKind::GroupDeleted, name, None, None);
        Ok(self.store.delete_group(name, Some(record)).await?)
    }

    /// The group's members, by username.
    ///
    /// # Errors
    /// `NotFound` when there is no such group; a store failure.
    pub async fn members(&self, group: &str) -> Result<Vec<User>, AdminError> {
        self.members_page(group, None, usize::MAX).await
    }

    /// The group's members by username, at most `limit`, those after `after`.
    ///
    /// # Errors
    /// `NotFound` when there is no such group; a store failure.
    pub async fn members_page(
        &self,
        group: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, AdminError> {
        self.store
            .members(group, after, limit)
            .await?
            .ok_or_else(|| no_group(group))
    }

    /// The groups of the user named `username`.
    ///
    /// # Errors
    /// `NotFound` when there is no such user; a store failure.
    pub async fn user_groups(&self, username: &str) -> Result<Vec<Group>, AdminError> {
        let user = self.user(username).await?;
        Ok(self.store.user_groups(&user.id).await?)
    }

    /// Adds the user named `username` to `group`: `false` when they were a member already
    /// (then nothing is audited).
    ///
    /// # Errors
    /// `NotFound` when there is no such group or user; a store failure.
    pub async fn add_member(&self, group: &str, username: &str) -> Result<bool, AdminError> {
        let user = self.user(username).await?;
        let record = self.record(
            AuditKind::MemberAdded,
            &user.username,
            None,
            Some(format!("group={group}")),
        );
        Ok(self
            .store
            .add_member(group, &user.id, self.now, Some(record))
            .await?)
    }

    /// Removes the user named `username` from `group`: `false` when they were not a member
    /// (then nothing is audited).
    ///
    /// # Errors
    /// `NotFound` when there is no such group or user; a store failure.
    pub async fn remove_member(&self, group: &str, username: &str) -> Result<bool, AdminError> {
        let user = self.user(username).await?;
        let record = self.record(
            AuditKind::MemberRemoved,
            &user.username,
            None,
            Some(format!("group={group}")),
        );
        Ok(self
            .store
            .remove_member(group, &user.id, Some(record))
            .await?)
    }
}

impl Admin<'_> {
    /// The groups whose members may use the client: none means every user.
    ///
    /// # Errors
    /// `NotFound` when there is no such client; a store failure.
    pub async fn client_access(&self, client_id: &str) -> Result<Vec<Group>, AdminError> {
        Ok(self.store.client_access(client_id).await?)
    }

    /// Sets the groups whose members may use the client (none: every user), and audits it.
    /// Takes effect at once: people outside them are refused at sign-in, code redemption and
    /// refresh.
    ///
    /// # Errors
    /// `NotFound` when there is no such client or group, and then nothing changed; a store
    /// failure.
    pub async fn set_client_access(
        &self,
        client_id: &str,
        mut groups: Vec<String>,
    ) -> Result<Vec<Group>, AdminError> {
        groups.sort();
        groups.dedup();
        let detail = if groups.is_empty() {
            "every user".to_owned()
        } else {
            format!("groups={}", groups.join(","))
        };
        let record = self.record(
            AuditKind::ClientAccessSet,
            client_id,
            Some(client_id),
            Some(detail),
        );
        self.store
            .set_client_access(client_id, groups, Some(record))
            .await?;
        self.client_access(client_id).await
    }
}

fn no_group(name: &str) -> AdminError {
    AdminError::Store(crate::store::StoreError::NotFound(Named::Group(
        name.to_owned(),
    )))
}
