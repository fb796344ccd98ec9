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
}

/// A change an administrator makes to an account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UserChange {
    Disable,
    Enable,
    /// A new argon2id PHC string.
    SetPassword(String),
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
        }
    }
}
