use serde::{Deserialize, Serialize};

use super::RevokeReason;
use crate::clock::UnixTime;

/// A person who can sign in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    /// Stable subject identifier (`sub`), never reused.
    pub id: String,
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    /// An argon2id PHC string.
    #[serde(skip_serializing)]
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: UnixTime,
    /// Whether the address is known to be the person's (the `email_verified` claim): set by an
    /// administrator.
    pub email_verified: bool,
    pub profile: Profile,
}

#[cfg(test)]
impl User {
    /// A person for unit tests: alice, enabled, with no password hash.
    pub(crate) fn example() -> User {
        User {
            id: "u1".into(),
            username: "alice".into(),
            email: "alice@example.com".into(),
            name: None,
            password_hash: String::new(),
            disabled: false,
            created_at: 0,
            email_verified: false,
            profile: Profile::default(),
        }
    }
}

/// What a person's profile says beyond their username, name and email address (OpenID
/// Connect Core §5.1): released with the `profile` scope.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Profile {
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// A BCP 47 language tag, such as `en-GB`.
    pub locale: Option<String>,
    /// The URL of a picture of the person (https, or http on localhost).
    pub picture: Option<String>,
    /// When the profile last changed; `None` when not since the account was made.
    pub updated_at: Option<UnixTime>,
}

/// A change an administrator makes to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    Disable,
    Enable,
    /// A new argon2id PHC string.
    SetPassword(String),
    /// A new email address, or the same one, and whether it is known to be the person's.
    SetEmail {
        email: String,
        verified: bool,
    },
    /// A new display name and profile (its `updated_at` set by the caller).
    SetProfile {
        name: Option<String>,
        profile: Profile,
    },
}

impl UserChange {
    /// Whether the change signs the person out everywhere (every session ended, every token
    /// family revoked, in the same transaction), and why. Disabling does, so enabling again
    /// brings none of it back; a new password does, so whoever knew the old one is out.
    /// Enabling does not: there is nothing to end.
    pub fn signs_out(&self) -> Option<RevokeReason> {
        match self {
            UserChange::Disable => Some(RevokeReason::UserDisabled),
            UserChange::Enable => None,
            UserChange::SetPassword(_) => Some(RevokeReason::PasswordChanged),
            UserChange::SetEmail { .. } | UserChange::SetProfile { .. } => None,
        }
    }
}
