//! The storage contract, in domain terms: no SQL crosses this boundary.
//!
//! Every method that changes state is one atomic operation. The single-use ones are atomic in
//! the trait itself (`redeem_authorization_code`, `rotate_refresh_token`): the reads that decide
//! the write happen inside the same transaction, so two requests can never both win.

pub mod postgres;
pub mod snapshot;
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::auth::throttle::{Admission, ThrottleKey};
use crate::clock::UnixTime;

/// A store failure. Domain outcomes (a replayed code, a reused refresh token) are not errors
/// but variants of each method's result type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing to create exists already (a username, a client id).
    #[error("{0} already exists")]
    Conflict(String),
    /// The thing to change does not exist.
    #[error("{0} not found")]
    NotFound(String),
    /// The database URL names a backend this build does not know, or is malformed.
    #[error(
        "unsupported database URL {0:?}: expected sqlite://PATH or postgres://USER@HOST/DATABASE"
    )]
    UnsupportedUrl(String),
    /// An import was aimed at a database that already holds a deployment.
    #[error(
        "the target database is not empty: import needs one without users, clients or signing keys"
    )]
    NotEmpty,
    /// The backend cannot do this.
    #[error("{0}")]
    Unsupported(String),
    /// The database refused or failed.
    #[error("database error: {0}")]
    Database(String),
    /// The database is overloaded or locked past its deadline; retrying later may work.
    #[error("the database is busy: {0}")]
    Unavailable(String),
    /// The database cannot store changes: the disk is full, the file cannot be written, or the
    /// storage failed. Nothing of the change was stored; reads may still work, and writes work
    /// again once an operator removes the cause.
    #[error("the database cannot store changes: {0}")]
    Storage(String),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// A person who can log in.
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

/// A relying party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Client {
    pub client_id: String,
    /// SHA-256 of the secret, hex; `None` for a public client.
    #[serde(skip_serializing)]
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    /// Scopes the client may request.
    pub scopes: Vec<String>,
    /// Grant types the client may use.
    pub grant_types: Vec<String>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub created_at: UnixTime,
}

impl Client {
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none()
    }

    pub fn allows_grant(&self, grant: &str) -> bool {
        self.grant_types.iter().any(|g| g == grant)
    }
}

/// A server-side login session; the cookie holds the secret, the store its hash.
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
    /// The session the code was issued in. The tokens it yields end with that session unless
    /// `offline_access` was granted (see `oidc::scope::outlives_session`).
    pub session_id_hash: Option<String>,
    pub expires_at: UnixTime,
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
}

/// Tokens to store when a grant succeeds: only their hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTokens {
    pub access_token_hash: String,
    pub access_expires_at: UnixTime,
    /// `None` when the client gets no refresh token.
    pub refresh_token_hash: Option<String>,
    pub refresh_expires_at: UnixTime,
}

/// What a redeemed code or rotated refresh token was for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    pub user: User,
    pub client_id: String,
    pub scope: String,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    /// The refresh token family the new tokens belong to.
    pub family_id: String,
}

/// The outcome of `redeem_authorization_code`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redeemed {
    /// The code was valid and unused; it is now used and the tokens are stored.
    Issued(Box<Grant>),
    /// Unknown, expired, issued to another client, for another redirect URI, with a wrong PKCE
    /// verifier, or its user is disabled. Nothing changed.
    Invalid,
    /// Used before: the tokens issued from it have now been revoked (RFC 6749 §4.1.2).
    Replayed,
}

/// The outcome of `rotate_refresh_token`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotated {
    /// The token was current; it is now rotated and the new tokens are stored.
    Issued(Box<Grant>),
    /// Unknown, expired, revoked, issued to another client, or its user is disabled.
    Invalid,
    /// The requested scope is not within the token's scope (RFC 6749 §6).
    ScopeExceeded,
    /// Already rotated: its whole family is now revoked (RFC 9700 §4.14.2).
    Reused,
}

/// A stored access token, as `/userinfo` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessGrant {
    pub user: User,
    pub client_id: String,
    pub scope: String,
    pub expires_at: UnixTime,
}

/// An access token of the `client_credentials` grant (RFC 6749 §4.4): it acts for the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientToken {
    pub token_hash: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
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
}

/// The outcome of `revoke_token`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// A refresh token: its whole family is revoked, access tokens included.
    Family,
    /// An access token, alone.
    Access,
    /// No token of this client has that value (it may be another client's): nothing changed.
    NotFound,
}

/// What a user allowed a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub client_id: String,
    pub scope: String,
    pub granted_at: UnixTime,
}

/// What ending a user's sessions took away.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct LoggedOut {
    pub sessions: usize,
    pub token_families: usize,
}

/// Something worth an audit record: who did what to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: UnixTime,
    /// What happened, dotted: `login.failed`, `token.issued`, `admin.user.created`…
    pub kind: String,
    /// Who did it: `user:ID`, `client:ID`, `cli`, `admin:CLIENT`, or `anonymous`.
    pub actor: String,
    /// What it was done to, when not the actor: a username, a client id, a token family.
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// Free-form detail; never a secret.
    pub detail: Option<String>,
}

impl AuditRecord {
    pub fn new(at: UnixTime, kind: &str, actor: impl Into<String>) -> Self {
        AuditRecord {
            at,
            kind: kind.to_owned(),
            actor: actor.into(),
            subject: None,
            client_id: None,
            ip: None,
            detail: None,
        }
    }

    /// What it was done to. Control and formatting characters are stored escaped (`\n`,
    /// `\u{1b}`): a subject can be a username as an attacker typed it, and must not forge a
    /// line or drive a terminal wherever the log is read.
    pub fn subject<S: Into<String>>(mut self, subject: Option<S>) -> Self {
        self.subject = subject.map(|s| crate::text::inert(s.into()));
        self
    }

    pub fn client(mut self, client_id: &str) -> Self {
        self.client_id = Some(client_id.to_owned());
        self
    }

    pub fn ip(mut self, ip: Option<std::net::IpAddr>) -> Self {
        self.ip = ip.map(|ip| ip.to_string());
        self
    }

    /// Free-form detail, stored like [`AuditRecord::subject`].
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(crate::text::inert(detail.into()));
        self
    }
}

/// A stored audit record with its position in the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Increases with every record.
    pub id: i64,
    #[serde(flatten)]
    pub record: AuditRecord,
}

/// A key that signs ID tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKey {
    pub kid: String,
    pub alg: String,
    /// PKCS#8 DER of the private key.
    pub private_der: Vec<u8>,
    /// The public JWK, as JSON.
    pub public_jwk: String,
    /// When it was published.
    pub created_at: UnixTime,
    /// When it starts signing: after relying parties' cached copies of the key set have
    /// expired (see `keyring::ACTIVATION_DELAY`), or at once for the first key.
    pub signs_from: UnixTime,
    /// When a newer key takes over: it signs nothing from then on.
    pub retired_at: Option<UnixTime>,
    /// When it leaves the JWKS (every token it signed has expired by then).
    pub publish_until: Option<UnixTime>,
}

/// What a new signing key does to the keys before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retirement {
    /// They sign until the new key starts signing, and stay published until `published_until`
    /// (when every token they signed has expired).
    Gradual { published_until: UnixTime },
    /// They stop signing and leave the key set at once, because they may be compromised:
    /// every token they signed stops verifying.
    Immediate,
}

/// One figure of the storage engine, exported as a Prometheus gauge.
#[derive(Debug, Clone, PartialEq)]
pub struct EngineMetric {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, &'static str)>,
    pub value: f64,
}

/// Storage of users and clients.
#[async_trait]
pub trait Directory: Send + Sync {
    async fn create_user(&self, user: User) -> StoreResult<()>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// Disables or enables the user. Disabling also ends every session of the user and revokes
    /// every token family they hold, in the same transaction, so enabling them again brings
    /// back none of it. Returns what was ended.
    async fn set_user_disabled(
        &self,
        username: &str,
        disabled: bool,
        now: UnixTime,
    ) -> StoreResult<LoggedOut>;
    /// Sets the user's password hash, and ends every session and revokes every token family
    /// of the user in the same transaction (whoever knew the old password is out).
    async fn set_password_hash(
        &self,
        username: &str,
        password_hash: String,
        now: UnixTime,
    ) -> StoreResult<LoggedOut>;

    async fn create_client(&self, client: Client) -> StoreResult<()>;
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    async fn remove_client(&self, client_id: &str) -> StoreResult<()>;

    /// The scope `user_id` allowed `client_id`, if any.
    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>>;
    /// Adds `scope` to what the user allowed the client.
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: UnixTime,
    ) -> StoreResult<()>;
    async fn consents(&self, user_id: &str) -> StoreResult<Vec<Consent>>;
    /// Withdraws the consent and revokes every token family the client holds for the user.
    /// `NotFound` when there was no consent.
    async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<()>;
}

/// Storage of sessions, codes and tokens.
#[async_trait]
pub trait Grants: Send + Sync {
    async fn create_session(&self, session: Session) -> StoreResult<()>;
    /// The session, if it exists, has not reached its absolute expiry at `now`, and its user
    /// is enabled. The idle timeout is the caller's to apply (`last_seen_at`).
    async fn session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<(Session, User)>>;
    /// Records a use of the session, for the idle timeout.
    async fn touch_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()>;
    /// Ends one session (logout, a new sign-in in the same browser, the idle timeout), and
    /// revokes the token families tied to it (issued without `offline_access`). Ending one that
    /// does not exist is not an error.
    async fn end_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()>;
    /// Ends every session of the user and revokes every refresh token family they hold.
    async fn end_user_sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<LoggedOut>;
    /// The user's unexpired sessions, newest first.
    async fn sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>>;

    async fn create_authorization_code(&self, code: AuthorizationCode) -> StoreResult<()>;
    /// Checks the code against the token request and, if it passes, consumes it and stores the
    /// tokens, atomically. A request that fails the checks changes nothing.
    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        request: CodeRequest,
        tokens: NewTokens,
        now: UnixTime,
    ) -> StoreResult<Redeemed>;
    /// Rotates a refresh token and stores the new tokens, atomically. `scope`, when given, is
    /// the narrowed scope of the new tokens (the caller checked it is a subset).
    async fn rotate_refresh_token(
        &self,
        refresh_hash: &str,
        client_id: &str,
        scope: Option<String>,
        tokens: NewTokens,
        now: UnixTime,
    ) -> StoreResult<Rotated>;
    /// The access token, if it exists, is not revoked and has not expired at `now`.
    async fn access_token(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<AccessGrant>>;

    async fn create_client_token(&self, token: ClientToken) -> StoreResult<()>;
    /// The token (access, client or refresh) if it is active at `now` (RFC 7662 §2.2: not
    /// expired, not revoked, not rotated, its user enabled).
    async fn introspect(&self, token_hash: &str, now: UnixTime) -> StoreResult<Option<TokenInfo>>;
    /// Revokes the token if `client_id` owns it (RFC 7009 §2.1), atomically.
    async fn revoke_token(
        &self,
        token_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Revocation>;
    /// Deletes what expired before `now` (codes, sessions, tokens, stale throttle entries).
    /// Returns the number of rows removed.
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<usize>;
}

/// Login attempt counters (see `auth::throttle`).
#[async_trait]
pub trait Throttle: Send + Sync {
    /// Decides one login attempt with `auth::throttle::admit` against the counters of `keys`,
    /// read in the same transaction, and stores the counts when it is admitted: concurrent
    /// attempts are decided one after the other.
    async fn admit_login_attempt(
        &self,
        keys: Vec<ThrottleKey>,
        now: UnixTime,
    ) -> StoreResult<Admission>;
    /// Settles an admitted attempt whose password was right (`auth::throttle::settle_success`).
    async fn settle_login_success(&self, keys: Vec<ThrottleKey>) -> StoreResult<()>;
}

/// The audit log.
#[async_trait]
pub trait Audit: Send + Sync {
    async fn record(&self, record: AuditRecord) -> StoreResult<()>;
    /// Records after `after_id`, oldest first, at most `limit`.
    async fn audit_since(&self, after_id: i64, limit: usize) -> StoreResult<Vec<AuditEvent>>;
    /// The newest `limit` records, oldest first.
    async fn audit_latest(&self, limit: usize) -> StoreResult<Vec<AuditEvent>>;
}

/// Storage of signing keys.
#[async_trait]
pub trait Keys: Send + Sync {
    /// Every key still published at `now`, newest first.
    async fn signing_keys(&self, now: UnixTime) -> StoreResult<Vec<SigningKey>>;
    /// Adds `key` (published now, signing from `key.signs_from`) and retires the keys before
    /// it as `retirement` says, atomically.
    async fn rotate_signing_key(&self, key: SigningKey, retirement: Retirement) -> StoreResult<()>;
    /// The deployment's secret `name`: the one stored, or else `candidate`, stored now. Every
    /// instance sharing the database gets the same value.
    async fn server_secret(
        &self,
        name: &str,
        candidate: Vec<u8>,
        now: UnixTime,
    ) -> StoreResult<Vec<u8>>;
}

/// Everything gatehouse stores.
#[async_trait]
pub trait Store: Directory + Grants + Keys + Throttle + Audit {
    /// A real write through the write path (for readiness checks).
    async fn ping(&self) -> StoreResult<()>;
    /// Writes a consistent copy of the store to `path`.
    async fn backup(&self, path: &std::path::Path) -> StoreResult<()>;
    /// Flushes and closes.
    async fn close(&self) -> StoreResult<()>;
    /// The whole deployment, read in one transaction (a consistent snapshot).
    async fn export(&self, now: UnixTime) -> StoreResult<snapshot::Snapshot>;
    /// Loads a snapshot into this store in one transaction: all of it or nothing. Refused with
    /// `NotEmpty` unless the store holds no user, client or signing key.
    async fn import(&self, snapshot: snapshot::Snapshot) -> StoreResult<()>;
    /// The engine's own gauges and counters, for `/metrics`: `(name, help, value)`.
    fn engine_metrics(&self) -> Vec<EngineMetric> {
        Vec::new()
    }
}

/// Opens the store a database URL names: `sqlite://PATH` (a relative path is relative to the
/// working directory; `sqlite:///abs/path` is absolute), or `postgres://…` /
/// `postgresql://…` (any URL libpq would take, e.g.
/// `postgres://gatehouse@db.internal/gatehouse?sslmode=disable`).
pub async fn open(url: &str) -> StoreResult<Arc<dyn Store>> {
    if let Some(path) = url.strip_prefix("sqlite://") {
        if path.is_empty() {
            return Err(StoreError::UnsupportedUrl(url.to_owned()));
        }
        let store = sqlite::SqliteStore::open(std::path::Path::new(path)).await?;
        return Ok(Arc::new(store));
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(postgres::PgStore::open(url).await?));
    }
    Err(StoreError::UnsupportedUrl(url.to_owned()))
}
