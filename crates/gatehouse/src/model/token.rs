use super::{Amr, User, named};
use crate::clock::UnixTime;

named! {
    /// Why a refresh token family was revoked, as stored with it.
    pub enum RevokeReason ("revocation reason") {
        /// RFC 6749 §4.1.2: the code it was issued from was presented again.
        CodeReplayed = "authorization code replayed",
        /// RFC 9700 §4.14.2: a rotated refresh token of the family was presented again.
        RefreshReused = "refresh token reused",
        /// RFC 7009: the client revoked it.
        RefreshRevoked = "refresh token revoked",
        /// The sign-in session it was tied to ended.
        SessionEnded = "session ended",
        /// An administrator signed the user out everywhere.
        UserLoggedOut = "user logged out",
        ConsentRevoked = "consent revoked",
        UserDisabled = "user disabled",
        /// The account was removed (its families go with it).
        UserRemoved = "user removed",
        PasswordChanged = "password changed",
        /// A passkey was added with a link an administrator sent: whoever holds what the
        /// person lost is signed out.
        PasskeyLinkUsed = "passkey link used",
        /// The person signed the application out on their account page.
        SignedOutByPerson = "signed out by its person",
    }
}

/// A one-time authorization code (RFC 6749 §4.1.2) and what it was issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizationCode {
    pub code_hash: String,
    pub client_id: String,
    pub user_id: String,
    pub redirect_uri: String,
    pub scope: String,
    pub nonce: Option<String>,
    /// PKCE S256 challenge (RFC 7636), if the request carried one.
    pub code_challenge: Option<String>,
    pub auth_time: UnixTime,
    /// How the person signed in (the session's).
    pub amr: Amr,
    /// The session the code was issued in. The tokens it yields end with that session unless
    /// `offline_access` was granted (see `oidc::scope::outlives_session`).
    pub session_id_hash: Option<String>,
    pub expires_at: UnixTime,
    /// The thumbprint of the DPoP key the authorization request named (`dpop_jkt`, RFC 9449
    /// §10): the code is redeemed only with a proof of that key.
    pub dpop_jkt: Option<String>,
    /// The APIs the grant covers (`resource`, RFC 8707 §2.1): what its tokens may be for.
    pub resources: Vec<String>,
}

/// What the token request says about the code it presents (RFC 6749 §4.1.3, RFC 7636 §4.6).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRequest {
    /// The authenticated client.
    pub client_id: String,
    /// Must equal the `redirect_uri` of the authorization request.
    pub redirect_uri: Option<String>,
    /// Must match the code's PKCE challenge, and be absent when it has none.
    pub code_verifier: Option<String>,
    /// The thumbprint of the key of the request's DPoP proof, if it carried one: must be the
    /// code's `dpop_jkt` when it has one.
    pub dpop_jkt: Option<String>,
    /// The APIs the access token is to be for (`resource`, RFC 8707 §2.2), as read
    /// (`oidc::resource::asked`): within those of the code (`oidc::resource::narrowed`);
    /// none: all of them.
    pub resources: Vec<String>,
}

/// What a refresh request asks for, beyond its token (RFC 6749 §6, RFC 8707 §2.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RefreshAsk {
    /// A narrower scope for the new tokens, syntax-checked and normalised by the caller.
    pub scope: Option<String>,
    /// The APIs the new access token is to be for, read by `oidc::resource::asked`; none: all
    /// the grant covers.
    pub resources: Vec<String>,
}

/// Tokens to store when a grant succeeds: only their hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokens {
    /// The family the tokens belong to, which the refresh token names
    /// (`oidc::family_token`): a new one for a code or device grant, the presented token's
    /// on refresh.
    pub family_id: String,
    pub access_token_hash: String,
    pub access_expires_at: UnixTime,
    /// `None` when the client gets no refresh token.
    pub refresh_token_hash: Option<String>,
    pub refresh_expires_at: UnixTime,
    /// For a refresh: the new pair sealed (`oidc::retry`), kept beside the rotated token until
    /// `until` for a retry of the same request. `None`: no retry window.
    pub retry: Option<RetryCopy>,
    /// The one-time JWTs the request carried (its client assertion, its DPoP proof), taken
    /// in the grant's transaction before anything else, whatever the grant's outcome: when
    /// one was taken before, nothing else is done, and the answer is [`UsedBefore`].
    pub once: Vec<OneTime>,
}

/// A one-time JWT a request carried, taken the first time it is seen and kept until
/// `kept_until`, after which it could no longer be accepted: a client assertion
/// (`oidc::client_assertion`, under the hash of its `jti`) or a DPoP proof (`oidc::dpop`,
/// under `dpop::jti_key`). Taken by the write the request makes (`NewTokens::once`), or alone
/// (`Directory::take_once`) by a request that makes none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OneTime {
    pub kind: OneTimeKind,
    pub key: String,
    pub kept_until: UnixTime,
}

/// What a [`OneTime`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OneTimeKind {
    ClientAssertion,
    DpopProof,
}

/// A one-time JWT of the request was taken before, and is still kept: nothing else of the
/// request was done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsedBefore(pub OneTimeKind);

/// A rotation's answer, sealed, and until when a retry gets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryCopy {
    pub sealed: Vec<u8>,
    pub until: UnixTime,
}

/// What a redeemed code or rotated refresh token was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub user: User,
    pub client_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    /// How the person signed in: the ID token's `amr` and `acr`.
    pub amr: Amr,
    /// The refresh token family the new tokens belong to.
    pub family_id: String,
    /// At a code's redemption, the sign-in session the code was issued in: the client is now
    /// signed in to it (told by back-channel logout when it ends), and the ID token names it
    /// (`sid`). `None` on refresh.
    pub session_id_hash: Option<String>,
    /// The APIs the new access token is for (RFC 8707), within those the grant covers; none:
    /// its client (`oidc::resource::audience`).
    pub resources: Vec<String>,
}

/// The outcome of redeeming an authorization code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The code was valid and unused; it is now used and the tokens are stored.
    Issued(Box<Grant>),
    /// Unknown, expired, issued to another client, for another redirect URI, with a wrong PKCE
    /// verifier, or its user is disabled. Nothing changed.
    Invalid,
    /// The user, `username`, may not use the client (any more). Nothing changed.
    Denied { username: String },
    /// Used before: the tokens issued from it to `username` have now been revoked (RFC 6749
    /// §4.1.2).
    Replayed { username: String },
    /// The request named a resource the code does not cover (RFC 8707 §2.2). Nothing
    /// changed: the code can still be redeemed.
    OutOfTarget,
}

/// The outcome of rotating a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotated {
    /// The token was current; it is now rotated and the new tokens are stored.
    Issued(Box<Grant>),
    /// Unknown, expired, revoked, issued to another client, its session ended, or its user is
    /// disabled. Nothing changed.
    Invalid,
    /// The requested scope is not within the token's scope (RFC 6749 §6). Nothing changed.
    ScopeExceeded,
    /// The request named a resource the family's grant does not cover (RFC 8707 §2.2).
    /// Nothing changed.
    TargetExceeded,
    /// The user, `username`, may not use the client (any more). Nothing changed.
    Denied { username: String },
    /// The client requires a confirmed address, or the account one at its domains, and the
    /// person's, `username`'s, is not (any more). Nothing changed.
    Unconfirmed { username: String },
    /// Already rotated: its whole family, `username`'s, is now revoked (RFC 9700 §4.14.2).
    Reused { username: String },
    /// Already rotated by the same request moments ago: the answer it got, `sealed`, with
    /// the `scope` of its tokens. Nothing changed.
    Retried { sealed: Vec<u8>, scope: String },
}

/// A stored access token, as `/userinfo` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub user: User,
    pub client_id: String,
    pub scope: String,
    pub expires_at: UnixTime,
    /// The APIs it is for (RFC 8707); none: its client.
    pub resources: Vec<String>,
}

/// An access token of the `client_credentials` grant (RFC 6749 §4.4): it acts for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    pub token_hash: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// The APIs it is for (RFC 8707); none: its client.
    pub resources: Vec<String>,
}

/// Which kind of token a hash named.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Access,
    Refresh,
}

impl TokenKind {
    /// The `token_type_hint` / `token_type` name (RFC 7009 §2.1, RFC 7662 §2.2).
    pub fn as_str(self) -> &'static str {
        match self {
            TokenKind::Access => "access_token",
            TokenKind::Refresh => "refresh_token",
        }
    }
}

/// An active token, as introspection sees it (RFC 7662 §2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenInfo {
    pub kind: TokenKind,
    pub client_id: String,
    pub scope: String,
    /// `None` for a `client_credentials` token.
    pub user: Option<User>,
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
    /// For an access token, the APIs it is for (RFC 8707); none: its client. None for a
    /// refresh token.
    pub resources: Vec<String>,
}

/// The outcome of revoking a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// A refresh token: its whole family is revoked, access tokens included.
    Family,
    /// An access token, alone.
    Access,
    /// No token of this client has that value (it may be another client's): nothing changed.
    NotFound,
}
