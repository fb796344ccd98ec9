use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// An application that stays signed in as a person when they sign out of their sessions: the
/// token families it holds for them that were issued with `offline_access` (tied to no
/// session, OpenID Connect Core §11) and can still be refreshed, taken together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaysSignedIn {
    pub client_id: String,
    /// When the first of them was issued.
    pub since: UnixTime,
    /// When one was last refreshed (or issued).
    pub last_used: UnixTime,
}

/// What a user allowed a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub client_id: String,
    pub scope: String,
    pub granted_at: UnixTime,
}
