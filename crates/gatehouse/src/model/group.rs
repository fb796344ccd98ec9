use serde::{Deserialize, Serialize};

use super::AuthPolicy;
use crate::clock::UnixTime;

/// A named set of users: what applications map to roles (a `groups` claim), and what a client
/// may require of the people who use it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// Stable identifier: a rename keeps the members.
    pub id: String,
    /// 1 to 64 characters of lower-case letters, digits, `.`, `_` or `-`, at least one a
    /// letter or digit (see [`new_group_name_problem`]): what applications see.
    pub name: String,
    pub description: Option<String>,
    pub created_at: UnixTime,
    /// What its members must prove to sign in to any client (`auth::policy::required`).
    #[serde(default)]
    pub auth_policy: AuthPolicy,
}

/// A change to a group: each field given is set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupChange {
    /// A new name (checked with [`new_group_name_problem`]).
    pub name: Option<String>,
    /// A new description; `Some(None)` removes it.
    pub description: Option<Option<String>>,
    /// A new authentication policy for its members.
    pub auth_policy: Option<AuthPolicy>,
}

impl GroupChange {
    /// The group with the change applied.
    pub fn apply(self, mut group: Group) -> Group {
        if let Some(name) = self.name {
            group.name = name;
        }
        if let Some(description) = self.description {
            group.description = description;
        }
        if let Some(policy) = self.auth_policy {
            group.auth_policy = policy;
        }
        group
    }
}

/// The longest group name.
pub const MAX_GROUP_NAME: usize = 64;

/// Why a name cannot name a group.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GroupNameProblem {
    #[error("a group name is 1 to {MAX_GROUP_NAME} characters")]
    Length,
    #[error("a group name holds lower-case letters, digits, '.', '_' and '-', not {0:?}")]
    Character(char),
    #[error("a group name needs at least one letter or digit")]
    NoLetterOrDigit,
}

/// Why `name` cannot name a group, if it cannot. Names are plain ASCII in lower case, so two
/// groups can never look alike and an application's role mapping matches them exactly.
pub fn group_name_problem(name: &str) -> Option<GroupNameProblem> {
    if name.is_empty() || name.len() > MAX_GROUP_NAME {
        return Some(GroupNameProblem::Length);
    }
    name.chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
        .map(GroupNameProblem::Character)
}

/// Why `name` cannot be given to a group now, if it cannot: [`group_name_problem`], or it holds
/// no letter or digit (`.` and `..` are no path segment a link can reach). A group named before
/// that rule keeps its name, and `--admin-group` may still name it.
pub fn new_group_name_problem(name: &str) -> Option<GroupNameProblem> {
    group_name_problem(name).or_else(|| {
        (!crate::text::has_letter_or_digit(name)).then_some(GroupNameProblem::NoLetterOrDigit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_names() {
        for ok in [
            "admins",
            "grafana-editors",
            "team.ops_2",
            "a",
            &"x".repeat(64),
        ] {
            assert_eq!(new_group_name_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            "Admins",
            "ops team",
            "ops/team",
            "аdmins",
            "admins\n",
            &"x".repeat(65),
        ] {
            assert!(group_name_problem(bad).is_some(), "{bad:?}");
            assert!(new_group_name_problem(bad).is_some(), "{bad:?}");
        }
        for old_only in [".", "..", "-_-"] {
            assert_eq!(group_name_problem(old_only), None, "{old_only}");
            assert!(new_group_name_problem(old_only).is_some(), "{old_only}");
        }
    }
}
