use serde::Serialize;

use crate::clock::UnixTime;

/// A server-side sign-in session; the cookie holds the secret, the store its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    /// The absolute end of the session.
    pub expires_at: UnixTime,
    /// When the session was last used, for the idle timeout.
    pub last_seen_at: UnixTime,
}

/// What ending a user's sessions took away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LoggedOut {
    pub sessions: usize,
    pub token_families: usize,
}
