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
    /// An argon2id PHC string; `None` for a person who signs in with a passkey alone
    /// (`auth::ways_in`).
    #[serde(skip_serializing)]
    pub password_hash: Option<String>,
    pub disabled: bool,
    pub created_at: UnixTime,
    /// Whether the address is known to be the person's (the `email_verified` claim): set by an
    /// administrator.
    pub email_verified: bool,
    pub profile: Profile,
}

#[cfg(test)]
impl User {
    /// A person for unit tests: alice, enabled, with no password.
    pub(crate) fn example() -> User {
        User {
            id: "u1".into(),
            username: "alice".into(),
            email: "alice@example.com".into(),
            name: None,
            password_hash: None,
            disabled: false,
            created_at: 0,
            email_verified: false,
            profile: Profile::default(),
        }
    }
}

/// Which people a search finds: those whose username, address or name contains its text,
/// compared without regard to case (Unicode's lower case), in username order after `after`,
/// at most `limit`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserSearch {
    /// What to look for, trimmed and in lower case; empty finds everyone.
    text: String,
    /// Only those whose username sorts after this one (the last of the page before).
    pub after: Option<String>,
    pub limit: usize,
}

impl UserSearch {
    /// A search for `text` (as typed: it is trimmed and lowered here).
    pub fn new(text: &str, after: Option<String>, limit: usize) -> UserSearch {
        UserSearch {
            text: text.trim().to_lowercase(),
            after,
            limit,
        }
    }

    /// Whether `user` is one it finds (`after` and `limit` aside: the store pages by them).
    pub fn matches(&self, user: &User) -> bool {
        let has = |field: &str| field.to_lowercase().contains(&self.text);
        self.text.is_empty()
            || has(&user.username)
            || has(&user.email)
            || user.name.as_deref().is_some_and(has)
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
    /// A passkey in place of the password: it is added, and the password removed, so it
    /// stays their way in (`auth::ways_in`). What an invitation accepted with a passkey does
    /// (`auth::email_links::redeem`); a credential id registered already fails the whole change.
    PasskeyInstead(super::StoredPasskey),
    /// A passkey added with a link an administrator sent to a person who lost theirs
    /// (`auth::email_links::redeem`): their password, if any, stays. Like a new password it
    /// signs them out everywhere, since whoever holds what they lost may be signed in.
    AddPasskey(super::StoredPasskey),
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
            UserChange::SetPassword(_) | UserChange::PasskeyInstead(_) => {
                Some(RevokeReason::PasswordChanged)
            }
            UserChange::AddPasskey(_) => Some(RevokeReason::PasskeyLinkUsed),
            UserChange::SetEmail { .. } | UserChange::SetProfile { .. } => None,
        }
    }
}

/// One of the changes made to an account at once (`Directory::edit_user`), with the record it
/// leaves: its detail gets what the change ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEdit {
    pub change: UserChange,
    pub audit: Option<super::AuditRecord>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_search_finds_its_text_in_a_username_address_or_name_whatever_the_case() {
        let named = |name: &str| User {
            name: Some(name.into()),
            ..User::example()
        };
        let cases = [
            ("", User::example(), true),
            ("   ", User::example(), true),
            ("ALI", User::example(), true),
            (" lice ", User::example(), true),
            ("@example.COM", User::example(), true),
            ("bob", User::example(), false),
            ("smith", User::example(), false),
            ("smith", named("Ada Smith"), true),
            ("ÉMILE", named("Émile Zola"), true),
            ("zola", named("Émile ZOLA"), true),
        ];
        for (text, user, expected) in cases {
            let search = UserSearch::new(text, None, 10);
            assert_eq!(search.matches(&user), expected, "{text:?} in {user:?}");
        }
    }
}
