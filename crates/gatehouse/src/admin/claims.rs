//! Custom claims of users and groups, as administrators set them: checked, stored, audited.
//! What they are and how they are released is `oidc::claims`'s.

use super::{Admin, AdminError, Refusal, invalid};
use crate::model::{AuditKind, ClaimOwner, ClaimsChange, CustomClaims};
use crate::oidc::claims;
use crate::store::StoreError;

impl Admin<'_> {
    /// The custom claims of a user (by username, as typed) or a group.
    ///
    /// # Errors
    /// `NotFound` when there is no such user or group; a store failure.
    pub async fn custom_claims(&self, owner: &ClaimOwner) -> Result<CustomClaims, AdminError> {
        let owner = self.canonical(owner).await?;
        self.store
            .custom_claims(&owner)
            .await?
            .ok_or_else(|| StoreError::NotFound(owner.describe()).into())
    }

    /// Changes the custom claims of a user (by username, as typed) or a group, and audits
    /// which were set and removed (not their values); returns them as they are now.
    ///
    /// # Errors
    /// `Invalid` for a change that names a claim to set and to remove, or claims that are not
    /// acceptable (`oidc::claims::custom_claims_problem`), before or after the change;
    /// `NotFound` when there is no such user or group; a store failure.
    pub async fn change_custom_claims(
        &self,
        owner: &ClaimOwner,
        change: ClaimsChange,
    ) -> Result<CustomClaims, AdminError> {
        // Checked before the store sees it: what the writer does is bounded by what is
        // acceptable, never by the request.
        let detail = match &change {
            ClaimsChange::Replace(claims) => {
                check(claims)?;
                format!("replaced; now {}", names(claims.keys()))
            }
            ClaimsChange::Patch { set, unset } => {
                check(set)?;
                if unset.len() > claims::MAX_CUSTOM_CLAIMS {
                    return Err(invalid(Refusal::TooManyToRemove));
                }
                if let Some(both) = unset.iter().find(|n| set.contains_key(*n)) {
                    return Err(invalid(Refusal::SetAndRemoved(both.clone())));
                }
                let removed: CustomClaims = unset
                    .iter()
                    .map(|n| (n.clone(), serde_json::Value::Bool(true)))
                    .collect();
                check(&removed)?;
                format!("set {}; removed {}", names(set.keys()), names(unset.iter()))
            }
        };
        let owner = self.canonical(owner).await?;
        let (kind, subject) = match &owner {
            ClaimOwner::User(name) => (AuditKind::UserClaimsSet, name),
            ClaimOwner::Group(name) => (AuditKind::GroupClaimsSet, name),
        };
        let record = self.record(kind, subject, None, Some(detail));
        self.store
            .change_custom_claims(&owner, change, Some(record))
            .await?
            .map_err(invalid)
    }

    /// `owner` with a user's name as it is stored (usernames are found as typed, `Admin::user`).
    async fn canonical(&self, owner: &ClaimOwner) -> Result<ClaimOwner, AdminError> {
        Ok(match owner {
            ClaimOwner::User(name) => ClaimOwner::User(self.user(name).await?.username),
            ClaimOwner::Group(_) => owner.clone(),
        })
    }
}

fn check(claims: &CustomClaims) -> Result<(), AdminError> {
    match claims::custom_claims_problem(claims) {
        Some(problem) => Err(invalid(problem)),
        None => Ok(()),
    }
}

/// Claim names for a record: `none` when there are none.
fn names<'a>(names: impl Iterator<Item = &'a String>) -> String {
    let names: Vec<&str> = names.map(String::as_str).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(",")
    }
}
