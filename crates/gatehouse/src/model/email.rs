use super::named;
use crate::clock::UnixTime;

named! {
    /// What an emailed link is for.
    pub enum EmailPurpose ("email link purpose") {
        /// Confirms that the person receives mail at their address (`email_verified`).
        Confirm = "confirm",
        /// Lets the person set a new password without the old one.
        Reset = "reset",
        /// Lets a person an administrator added choose their first password (and confirms
        /// their address).
        Invite = "invite",
        /// Lets a person add a passkey without signing in: what an administrator sends one
        /// who lost theirs (and so cannot sign in).
        Passkey = "passkey",
    }
}

/// A single-use link sent by email: the store keeps only its hash, for whom and to which
/// address it was sent, and until when it works.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailToken {
    pub token_hash: String,
    pub user_id: String,
    pub purpose: EmailPurpose,
    /// The address it was sent to: the link is void once the person's address is another.
    pub email: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// One message: to whom, about what, in plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// A message waiting in the outbox with the link it carries (`mail`): kept until it is sent,
/// given up, or its link is used, replaced or expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    pub id: i64,
    pub mail: Mail,
    /// Whose link it carries, for the record of a message given up.
    pub user_id: String,
    pub username: String,
    /// When it was queued.
    pub created_at: UnixTime,
    /// When its link stops working: sending it after that would be no use.
    pub expires_at: UnixTime,
    /// The attempts made to send it before this one.
    pub attempts: u32,
}
