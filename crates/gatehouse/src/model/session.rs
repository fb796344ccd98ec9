use serde::Serialize;

use super::{Amr, SigningAlg};
use crate::clock::UnixTime;

/// A server-side sign-in session; the cookie holds the secret, the store its hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id_hash: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    /// How the person proved who they are when it began.
    pub amr: Amr,
    /// The absolute end of the session.
    pub expires_at: UnixTime,
    /// When the session was last used, for the idle timeout.
    pub last_seen_at: UnixTime,
    /// The `User-Agent` of the browser it was signed in from, as kept
    /// (`auth::browsers::kept`): shown to its person, described (`auth::browsers::describe`).
    pub user_agent: Option<String>,
    /// The client address it was signed in from.
    pub ip: Option<String>,
    /// Its person asked to stay signed in on this device ("Keep me signed in"): it lasts as
    /// the deployment keeps such sessions (`Config::session_lifetime`).
    pub kept: bool,
}

/// Where a session is ended from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndedFrom {
    /// Its own browser: a sign-out, a new sign-in in it, the idle timeout. The browser stays
    /// one its person uses.
    ItsBrowser,
    /// Another browser of its person (their account page): that browser is forgotten, unless
    /// another live session of theirs is in it, so a sign-in from it again is told to them as
    /// one from a new browser (`auth::notices::for_sign_in`).
    Elsewhere,
}

/// What ending a user's sessions took away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LoggedOut {
    pub sessions: usize,
    pub token_families: usize,
}

impl LoggedOut {
    /// What this and `other` ended, together.
    pub fn and(self, other: LoggedOut) -> LoggedOut {
        LoggedOut {
            sessions: self.sessions + other.sessions,
            token_families: self.token_families + other.token_families,
        }
    }

    /// What was ended, for an audit record's detail; `None` when nothing was.
    pub fn describe(&self) -> Option<String> {
        (*self != LoggedOut::default()).then(|| {
            format!(
                "sessions ended: {}, token families revoked: {}",
                self.sessions, self.token_families
            )
        })
    }
}

/// A back-channel logout notice waiting to be delivered (`oidc::backchannel`): written in the
/// transaction that ended the session, claimed by a sender, forgotten once delivered or given
/// up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutNotice {
    pub id: i64,
    /// The client to tell, at its `backchannel_logout_uri`.
    pub client_id: String,
    pub uri: String,
    /// What the client's tokens are signed with.
    pub alg: SigningAlg,
    /// Whose session ended, and which one.
    pub user_id: String,
    pub session_id_hash: String,
    /// Fixed when the notice is written, so every attempt sends the same `jti` and a client
    /// that saw the first can recognise a retry.
    pub jti: String,
    /// Attempts made so far.
    pub attempts: u32,
    pub created_at: UnixTime,
    /// The client's sector when its subjects are pairwise (`oidc::subject`).
    pub pairwise_sector: Option<String>,
}
