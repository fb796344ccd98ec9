use serde::{Deserialize, Serialize};

use super::named;
use crate::clock::UnixTime;

/// A person's passkey (a WebAuthn credential), as stored. What the WebAuthn library needs of it
/// (public key, signature counter, backup state) is kept as its own JSON in `data`, read only by
/// `auth::passkeys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPasskey {
    /// The credential id, base64url: unique across every account.
    pub credential_id: String,
    pub user_id: String,
    /// What the person called it ("Phone", "YubiKey").
    pub name: String,
    pub data: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

/// What asking to remove one of a person's passkeys did (`Passkeys::remove_passkey`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PasskeyRemoval {
    Removed,
    /// The person has no passkey with that id (another person's is never removed).
    NotFound,
    /// It is their last passkey and they have no password: it stays (`auth::ways_in`).
    LastWayIn,
}

/// A passkey as its owner or an administrator sees it (no key material).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PasskeyView {
    pub credential_id: String,
    pub name: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

impl From<StoredPasskey> for PasskeyView {
    fn from(p: StoredPasskey) -> Self {
        PasskeyView {
            credential_id: p.credential_id,
            name: p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

named! {
    /// Which WebAuthn ceremony a challenge belongs to.
    pub enum ChallengeKind ("WebAuthn ceremony") {
        /// Registering a new passkey for a signed-in person.
        Register = "register",
        /// Signing in with a passkey.
        Authenticate = "authenticate",
        /// Making an account with a sign-up link and a passkey in place of a password: the
        /// account does not exist yet, so the state names it (`auth::signup::Ceremony`).
        SignUp = "signup",
    }
}

/// A WebAuthn ceremony in progress: the library's state for its challenge, kept server-side
/// and taken once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The hash of the id the browser holds.
    pub id_hash: String,
    pub kind: ChallengeKind,
    /// Whose registration it is; `None` for a sign-in (the passkey says whose it is) and for a
    /// sign-up (the account is made when the ceremony ends).
    pub user_id: Option<String>,
    pub state: String,
    pub expires_at: UnixTime,
}
