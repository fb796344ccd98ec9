//! Claims an administrator gives a user or a group (`oidc::claims::custom` releases them).

use std::collections::BTreeMap;

/// Claims by name, each a JSON value: a string, a number, `true` or `false`, an array or an
/// object (`oidc::claims::custom_claims_problem` says which are acceptable).
pub type CustomClaims = BTreeMap<String, serde_json::Value>;

/// Whose custom claims: a user by username, or a group by name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOwner {
    User(String),
    Group(String),
}

impl ClaimOwner {
    /// Who the owner is, for messages.
    pub fn describe(&self) -> super::Named {
        match self {
            ClaimOwner::User(name) => super::Named::User(name.clone()),
            ClaimOwner::Group(name) => super::Named::Group(name.clone()),
        }
    }
}

/// A change to a user's or a group's custom claims.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimsChange {
    /// These, and no others.
    Replace(CustomClaims),
    /// These set (added, or their value replaced), those named removed, the others kept.
    Patch {
        set: CustomClaims,
        unset: Vec<String>,
    },
}

/// What a user is given to release: their own custom claims, and each of their groups' by the
/// group's name, in the order of the names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsToRelease {
    pub own: CustomClaims,
    pub groups: Vec<(String, CustomClaims)>,
}

impl ClaimsToRelease {
    /// Gathered from rows of (the group, or `None` for the user's own; the claim; its value),
    /// each group's rows together, in the order the groups are to be released.
    pub fn from_rows(
        rows: impl IntoIterator<Item = (Option<String>, String, serde_json::Value)>,
    ) -> Self {
        let mut given = ClaimsToRelease::default();
        for (group, claim, value) in rows {
            match group {
                None => {
                    given.own.insert(claim, value);
                }
                Some(group) => match given.groups.last_mut() {
                    Some((last, claims)) if *last == group => {
                        claims.insert(claim, value);
                    }
                    _ => given
                        .groups
                        .push((group, CustomClaims::from([(claim, value)]))),
                },
            }
        }
        given
    }
}
