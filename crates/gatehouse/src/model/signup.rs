use crate::clock::UnixTime;

/// A sign-up link: an administrator hands it out (in a team's chat, on a notice board) and
/// each person who opens it may make their own account, up to `max_uses` people, until
/// `expires_at`. The store keeps only its secret's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignupLink {
    /// What it is known by on the administration pages and the command line, never a
    /// secret: a short random id.
    pub id: String,
    pub secret_hash: String,
    /// What the administrator wrote down about it (whom it was given to), or empty.
    pub note: String,
    /// The groups each person who signs up with it is put in, by name.
    pub groups: Vec<String>,
    /// The domains (lower-case ASCII, sorted) the addresses of its people must be at; empty:
    /// any. The accounts it makes keep them as their rule (`auth::signup::address_fits`).
    pub domains: Vec<String>,
    pub max_uses: u32,
    /// How many accounts were made with it.
    pub uses: u32,
    /// Who made it: the actor of its audit record (`user:ID`, `cli`, …).
    pub created_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

/// Why a sign-up link that came back makes no account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoSignup {
    /// No such link: never made, mistyped, or removed by an administrator.
    Unknown,
    /// Its time is over.
    Expired,
    /// As many people signed up with it as it allows.
    UsedUp,
}

/// What happened to a sign-up (`SignupLinks::sign_up`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedUp {
    /// The account was made, put in the link's groups, and the link's use counted.
    Done,
    /// The link cannot be used (why), and nothing was made.
    Refused(NoSignup),
    /// A person whose username looks like the one asked for exists (this is their username),
    /// and nothing was made.
    LooksLike(String),
    /// Another account has this email address confirmed, and nothing was made: its person
    /// should sign in to that account (`auth::signup::address_is_taken`).
    AddressTaken,
    /// The address is not at one of the domains the link is for, and nothing was made.
    OtherDomain,
    /// The passkey the person made is another account's already, and nothing was made: an
    /// authenticator that answers with a credential it did not make (WebAuthn §7.1, step 22).
    PasskeyTaken,
}
