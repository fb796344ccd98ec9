//! The storage contract, in domain terms: no SQL crosses this boundary.
//!
//! Every method that changes state is one atomic operation. The single-use ones are atomic in
//! the trait itself (`redeem_authorization_code`, `rotate_refresh_token`): the reads that decide
//! the write happen inside the same transaction, so two requests can never both win.

mod client_cache;
mod columns;
pub mod postgres;
pub mod snapshot;
pub mod sqlite;

use std::sync::Arc;

use std::net::IpAddr;

use async_trait::async_trait;

use crate::auth::email_links::{LinkUse, Refused};
use crate::auth::throttle::{Admission, Counter, ThrottleKey, Unlocked};
use crate::clock::UnixTime;
use crate::model::{
    AccessGrant, AppLink, AuditEvent, AuditKind, AuditQuery, AuditRecord, AuthorizationCode,
    Challenge, ChallengeKind, ClaimOwner, ClaimsChange, ClaimsToRelease, Client, ClientLogo,
    ClientToken, CodeRequest, Consent, CustomClaims, DeviceAnswer, DeviceAuthorization,
    EmailPurpose, EmailToken, EndedFrom, Factors, Group, GroupChange, LoggedOut, LogoutNotice,
    Mail, Named, NewTokens, OneTime, PasskeyRemoval, Polled, QueuedMail, QueuedNotice, Redeemed,
    RefreshAsk, Retirement, Revocation, Rotated, Session, SignedUp, SigningKey, SignupLink,
    StaysSignedIn, StoredPasskey, TokenInfo, TokensIssued, TotpFactor, UsedBefore, User,
    UserChange, UserEdit,
};
use crate::oidc::backchannel::Settlement;
use crate::oidc::family_token::Presented;

/// A store failure. Domain outcomes (a replayed code, a reused refresh token) are not errors
/// but variants of each method's result type.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The thing to create exists already (a username, a client id).
    #[error("{0} already exists")]
    Conflict(Named),
    /// The thing to change does not exist.
    #[error("{0} not found")]
    NotFound(Named),
    /// The thing to delete is still needed; the message says by what, and what to do first.
    #[error("{0}")]
    InUse(String),
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
    Database(#[source] BoxError),
    /// The database is overloaded or locked past its deadline; retrying later may work.
    #[error("the database is busy: {0}")]
    Unavailable(#[source] BoxError),
    /// The database cannot store changes: the disk is full, the file cannot be written, or the
    /// storage failed. Nothing of the change was stored; reads may still work, and writes work
    /// again once an operator removes the cause.
    #[error("the database cannot store changes: {0}")]
    Storage(#[source] BoxError),
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    /// The input holds what the database cannot store or compare (PostgreSQL: a NUL
    /// character in text): the request is at fault, and nothing was changed.
    #[error("the database cannot hold this input: {0}")]
    Unstorable(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// The driver's own error, kept as the source of a [`StoreError`] (a `sqlx::Error`, an
/// `onewriter::Error`, …) so a caller can inspect it, not only read its message.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `NotFound(what)` when a change touched no row: the thing to change does not exist.
pub(crate) fn found<N: Default + PartialEq>(
    changed: N,
    what: impl FnOnce() -> Named,
) -> StoreResult<()> {
    if changed == N::default() {
        Err(StoreError::NotFound(what()))
    } else {
        Ok(())
    }
}

/// `InUse` for a group that clients still restrict their users to.
pub(crate) fn in_use(group: &str, clients: &[String]) -> StoreError {
    StoreError::InUse(format!(
        "group {group:?} decides who may use {}: take it off {} first (deleting it would open \
         {} to every user)",
        clients.join(", "),
        if clients.len() == 1 {
            "that client"
        } else {
            "those clients"
        },
        if clients.len() == 1 { "it" } else { "them" },
    ))
}

/// A LIKE pattern matching what starts with `prefix` (its `%`, `_` and `\` taken literally).
pub(crate) fn like_prefix(prefix: &str) -> String {
    let mut p = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
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
    /// Adds `user` with `audit`, in one transaction, unless a user whose name looks like
    /// theirs exists (the same look-alike key, `auth::username::stored_look_alike_key`): then
    /// nothing is added, and that user is the answer. Two such users added at once: one is
    /// added. `Conflict` when the username itself is taken.
    async fn create_distinct_user(
        &self,
        user: User,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Option<User>>;
    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>>;
    /// Every user, by username.
    async fn list_users(&self) -> StoreResult<Vec<User>>;
    /// A page of users by username: at most `limit`, those after `after` (from the first
    /// when `None`). What a search reads (`admin::search_users`), a page at a time.
    async fn users_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>>;
    /// The users whose username's look-alike key is `key`
    /// (`auth::username::stored_look_alike_key`), by username.
    async fn users_looking_like(&self, key: &str) -> StoreResult<Vec<User>>;
    /// Makes each edit to the user named `username`, in order, all in one transaction: its
    /// change, then, when the change signs them out (`UserChange::signs_out`), the end of every
    /// session and token family of the user, then its record (its detail ending with what that
    /// change ended, [`AuditRecord::ended`]). Either every edit is made or none is. Returns
    /// what was ended. `NotFound` (and nothing written) when there is no such user.
    async fn edit_user(
        &self,
        username: &str,
        edits: Vec<UserEdit>,
        now: UnixTime,
    ) -> StoreResult<LoggedOut>;
    /// Removes the user named `username` and everything of theirs (sessions, tokens, consents,
    /// memberships, second factors, passkeys, claims, links and notices waiting for them), in
    /// one transaction: first their sessions end as `end_user_sessions` ends them, so each
    /// application told of a sign-in is told it ended (the notices outlive the account), then
    /// the account goes, then `audit` is written (its detail ending with what was ended), with
    /// the notice it calls for (`notices::for_removal`: the person told at the address the
    /// account had, after it is gone). Audit records about them stay. `NotFound` (and nothing
    /// written) when there is no such user.
    async fn remove_user(
        &self,
        username: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<LoggedOut>;
    /// One edit (`edit_user`): `change`, with `audit`.
    async fn update_user(
        &self,
        username: &str,
        change: UserChange,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<LoggedOut> {
        let edit = UserEdit { change, audit };
        self.edit_user(username, vec![edit], now).await
    }

    /// Registers the client, with `audit` in the same transaction. `Conflict` when its id is
    /// taken.
    async fn create_client(&self, client: Client, audit: Option<AuditRecord>) -> StoreResult<()>;
    /// The client, as a request uses it: it may be the one kept in memory, which a change made
    /// through this store replaces at once and one made elsewhere (another process, the CLI)
    /// within moments (`store::client_cache`).
    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>>;
    /// The client as stored now, never the one kept: what an administrator is shown, and what
    /// a change is made from, so that it does not write back a value another process has just
    /// changed.
    async fn client_as_stored(&self, client_id: &str) -> StoreResult<Option<Client>>;
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// Replaces every field of the client but its id and creation time: its consents, tokens
    /// and access groups stay; `audit` is written in the same transaction. `NotFound` (and no
    /// record) when there is no such client.
    async fn update_client(&self, client: Client, audit: Option<AuditRecord>) -> StoreResult<()>;
    /// Removes the client (its tokens, consents and access groups go with it), with `audit` in
    /// the same transaction. `NotFound` (and no record) when there is no such client.
    async fn remove_client(&self, client_id: &str, audit: Option<AuditRecord>) -> StoreResult<()>;
    /// Gives the client `logo`, or (`None`) takes its logo away, with `audit` in the same
    /// transaction; `false` (nothing written, no record) when that changes nothing
    /// (`ClientLogo::changes`). `NotFound` when there is no such client.
    async fn set_client_logo(
        &self,
        client_id: &str,
        logo: Option<ClientLogo>,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<bool>;
    /// The client's logo, image and all, if it has one.
    async fn client_logo(&self, client_id: &str) -> StoreResult<Option<ClientLogo>>;
    /// The version of the client's logo (what pages name it by), if it has one: read without
    /// the image.
    async fn client_logo_version(&self, client_id: &str) -> StoreResult<Option<String>>;
    /// The version of every client's logo, by client id, for the clients that have one: read
    /// without the images.
    async fn client_logo_versions(&self) -> StoreResult<Vec<(String, String)>>;
    /// Takes the one-time JWTs `client_id` sent (`OneTime`), in one transaction, for a request
    /// that writes nothing else; a request that does takes them in its own (`NewTokens::once`).
    /// A JWT is taken the first time; one taken before and still kept is [`UsedBefore`], so
    /// each is used once. One taken before and no longer kept (it can no longer be accepted) is
    /// taken again. They are kept in the `client_assertion` table.
    async fn take_once(
        &self,
        client_id: &str,
        once: Vec<OneTime>,
        now: UnixTime,
    ) -> StoreResult<Result<(), UsedBefore>>;

    /// The scope `user_id` allowed `client_id`, if any.
    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>>;
    /// Adds `scope` to what the user allowed the client, with `audit` in the same transaction.
    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()>;
    async fn consents(&self, user_id: &str) -> StoreResult<Vec<Consent>>;
    /// The applications that stay signed in as the user when they sign out of their sessions
    /// (`StaysSignedIn`), at `now`, the one used last first.
    async fn staying_signed_in(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> StoreResult<Vec<StaysSignedIn>>;
    /// Signs the client out of the user's account: revokes every token family it holds for
    /// them, tied to a session or not, with `audit` in the same transaction when there was
    /// one; how many. Its consent, if any, stays.
    async fn sign_out_application(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<usize>;
    /// Withdraws the consent and revokes every token family the client holds for the user,
    /// with `audit` in the same transaction. `NotFound` (and no record) when there was no
    /// consent.
    async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()>;
}

/// Groups of users and their members, and the custom claims users and groups carry.
///
/// Every change takes its audit record and writes it in the change's transaction: only when
/// something changed (a member added who was not one, removed who was), never for a refused
/// change.
#[async_trait]
pub trait Groups: Send + Sync {
    /// `Conflict` when a group has that name.
    async fn create_group(&self, group: Group, audit: Option<AuditRecord>) -> StoreResult<()>;
    async fn group(&self, name: &str) -> StoreResult<Option<Group>>;
    /// Every group, by name.
    async fn list_groups(&self) -> StoreResult<Vec<Group>>;
    /// How many members each group has, by the group's name: counted, not read.
    async fn member_counts(&self) -> StoreResult<Vec<(String, usize)>>;
    /// Applies `change` and returns the group as it is now. `NotFound` when there is no such
    /// group; `Conflict` when the new name is taken.
    async fn update_group(
        &self,
        name: &str,
        change: GroupChange,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Group>;
    /// Deletes the group and its memberships. `NotFound` when there is no such group; `InUse`
    /// when a client names it among the groups that may use it (deleting it would open the
    /// client to everyone).
    async fn delete_group(&self, name: &str, audit: Option<AuditRecord>) -> StoreResult<()>;
    /// Adds the user to the group: `false` when they were a member already. `NotFound` when
    /// there is no such group or user.
    async fn add_member(
        &self,
        group: &str,
        user_id: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<bool>;
    /// Removes the user from the group: `false` when they were not a member. `NotFound` when
    /// there is no such group.
    async fn remove_member(
        &self,
        group: &str,
        user_id: &str,
        audit: Option<AuditRecord>,
    ) -> StoreResult<bool>;
    /// The group's members by username, at most `limit`, those after `after` (from the first
    /// when `None`); `None` when there is no such group.
    async fn members(
        &self,
        group: &str,
        after: Option<&str>,
        limit: usize,
    ) -> StoreResult<Option<Vec<User>>>;
    /// The user's groups, by name.
    async fn user_groups(&self, user_id: &str) -> StoreResult<Vec<Group>>;
    /// The groups whose members may use the client, by name: none means every user.
    /// `NotFound` when there is no such client.
    async fn client_access(&self, client_id: &str) -> StoreResult<Vec<Group>>;
    /// Sets the groups whose members may use the client (by name), replacing the ones before;
    /// none opens it to every user. `NotFound` when the client or one of the groups does not
    /// exist, and then nothing changed.
    async fn set_client_access(
        &self,
        client_id: &str,
        groups: Vec<String>,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()>;
    /// Whether the user may use the client (`store::columns::may_use_client!`).
    async fn may_use(&self, user_id: &str, client_id: &str) -> StoreResult<bool>;
    /// The applications the user may use (`store::columns::may_use_client!`) that have a home
    /// page, in order (`AppLink::in_order`): what their account page offers to open.
    async fn applications_of(&self, user_id: &str) -> StoreResult<Vec<AppLink>>;
    /// The custom claims of a user or a group, by name; `None` when there is no such user or
    /// group.
    async fn custom_claims(&self, owner: &ClaimOwner) -> StoreResult<Option<CustomClaims>>;
    /// Changes the custom claims of a user or a group: loads them in one transaction, lets
    /// `oidc::claims::changed` apply `change`, and stores the outcome with `audit`; returns
    /// the claims as they are now, or why the change was refused (nothing written).
    /// `NotFound` (and nothing written) when there is no such user or group.
    async fn change_custom_claims(
        &self,
        owner: &ClaimOwner,
        change: ClaimsChange,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Result<CustomClaims, crate::oidc::claims::CustomClaimsProblem>>;
    /// What the user is given to release: their own custom claims and their groups', in one
    /// read, for `oidc::claims::custom`.
    async fn claims_to_release(&self, user_id: &str) -> StoreResult<ClaimsToRelease>;
}

/// Sign-in sessions.
///
/// Whatever ends a session (here, or `Directory::update_user` when a change signs the user
/// out) writes, in the same transaction, a back-channel logout notice for every client that
/// received an ID token in it and registered a `backchannel_logout_uri` (see
/// [`LogoutOutbox`]). A session that merely expires is swept without notices.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// Stores a new session, ends `replaces` (the browser's previous session, as
    /// [`end_session`](Sessions::end_session) does: its token families revoked, its logout
    /// notices queued), remembers `browser` (the hash of the browser's own cookie) as one the
    /// person signed in with, queueing the notice a browser new to them calls for
    /// (`auth::notices::for_sign_in`, from `audit`'s address), and appends `audit`, in one
    /// transaction: a sign-in is one writer job, and its record cannot be lost without it.
    async fn create_session(
        &self,
        session: Session,
        replaces: Option<String>,
        browser: Option<String>,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()>;
    /// The session, if it exists, has not reached its absolute expiry at `now`, and its user
    /// is enabled. The idle timeout is the caller's to apply (`last_seen_at`).
    async fn session(&self, id_hash: &str, now: UnixTime) -> StoreResult<Option<(Session, User)>>;
    /// Records a use of the session, for the idle timeout.
    async fn touch_session(&self, id_hash: &str, now: UnixTime) -> StoreResult<()>;
    /// Ends one session (logout, a new sign-in in the same browser, the idle timeout, or its
    /// person from elsewhere), and revokes the token families tied to it (issued without
    /// `offline_access`); ended from elsewhere, its browser is forgotten as [`EndedFrom`]
    /// says. Ending one that does not exist is not an error. `audit` (a logout's record) is
    /// written in the same transaction.
    async fn end_session(
        &self,
        id_hash: &str,
        from: EndedFrom,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()>;
    /// Ends every session of the user and revokes every refresh token family they hold, with
    /// `audit` (its detail ending with what was ended) in the same transaction.
    async fn end_user_sessions(
        &self,
        user_id: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<LoggedOut>;
    /// The user's unexpired sessions, newest first.
    async fn sessions(&self, user_id: &str, now: UnixTime) -> StoreResult<Vec<Session>>;
}

/// Authorization codes and tokens: what the grants issue, and their revocation.
#[async_trait]
pub trait Grants: Send + Sync {
    async fn create_authorization_code(&self, code: AuthorizationCode) -> StoreResult<()>;
    /// Loads the code inside one transaction, lets `oidc::grant::authorization_code::decide`
    /// judge it against the token request, and applies the decision: consume the code and
    /// store the tokens, revoke what a replayed code issued, or change nothing; with the
    /// outcome's audit record (`oidc::grant::audit::redemption`) in the same transaction.
    /// The request's one-time JWTs (`tokens.once`) are taken first: when one was taken before,
    /// [`UsedBefore`], and the code is not looked at.
    async fn redeem_authorization_code(
        &self,
        code_hash: &str,
        request: CodeRequest,
        tokens: NewTokens,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Result<Redeemed, UsedBefore>>;
    /// Loads the refresh token inside one transaction, lets
    /// `oidc::grant::refresh_token::decide` judge it with what the request `asked` for, and
    /// applies the decision: rotate and
    /// store the new tokens, revoke the family on reuse, or change nothing. The outcome's
    /// audit record (`oidc::grant::audit::refresh`, the request from `ip`) is written in the
    /// same transaction: one writer job, and no change without its record. The request's
    /// one-time JWTs (`tokens.once`) are taken first, in the same write: when one was taken
    /// before, [`UsedBefore`], and the token is not looked at.
    ///
    /// A token of the family format (`presented.family_id`) is judged from its family's row
    /// (`refresh_token::generation`); one of an earlier release by its own row, and its
    /// successor is of the family format. `tokens.family_id` must be the family the presented
    /// token belongs to (for an earlier release's, read with `refresh_token_family`): new
    /// tokens are stored only into the family the decision names, and only if that is it.
    async fn rotate_refresh_token(
        &self,
        presented: &Presented,
        client_id: &str,
        asked: RefreshAsk,
        tokens: NewTokens,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Result<Rotated, UsedBefore>>;
    /// The access token, if it exists, is not revoked and has not expired at `now`.
    async fn access_token(
        &self,
        token_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<AccessGrant>>;

    /// Stores a client credentials token and its audit record, in one transaction, after
    /// taking the request's one-time JWTs (`once`, as `NewTokens::once`): when one was taken
    /// before, [`UsedBefore`], and nothing is stored.
    async fn create_client_token(
        &self,
        token: ClientToken,
        once: Vec<OneTime>,
        audit: AuditRecord,
    ) -> StoreResult<Result<(), UsedBefore>>;
    /// The family a refresh token of an earlier release (not of the family format) belongs
    /// to, whether or not it is still current; `None` for a hash no such token has.
    async fn refresh_token_family(&self, token_hash: &str) -> StoreResult<Option<String>>;
    /// The token (access, client or refresh) if it is active at `now` (RFC 7662 §2.2: not
    /// expired, not revoked, not rotated, its user enabled).
    async fn introspect(
        &self,
        presented: &Presented,
        now: UnixTime,
    ) -> StoreResult<Option<TokenInfo>>;
    /// Revokes the token if `client_id` owns it (RFC 7009 §2.1), atomically. Any refresh token
    /// of a family, rotated or current, revokes the family. The outcome's record
    /// (`oidc::grant::audit::revocation`, the request from `ip`) is written in the same
    /// transaction.
    async fn revoke_token(
        &self,
        presented: &Presented,
        client_id: &str,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Revocation>;
    /// Deletes what expired before `now` (codes, sessions, tokens, stale throttle entries).
    /// Returns the number of rows removed.
    async fn purge_expired(&self, now: UnixTime) -> StoreResult<usize>;
    /// Clears the answers kept for refresh retries (`oidc::retry`) whose window has passed by
    /// `now`, in batches; returns how many. They hold live tokens (sealed), so they go soon
    /// after they stop being useful, not with the slower expiry sweep.
    async fn forget_retry_answers(&self, now: UnixTime) -> StoreResult<usize>;
}

/// The device authorization grant (RFC 8628): requests waiting for a person's answer, and the
/// device's polls.
#[async_trait]
pub trait DeviceGrants: Send + Sync {
    /// Stores a new device authorization. `false`, with nothing stored, when its user code is
    /// already taken (the caller draws another).
    async fn create_device_authorization(
        &self,
        authorization: DeviceAuthorization,
    ) -> StoreResult<bool>;
    /// The authorization whose user code hashes to `user_code_hash`, if it is still waiting
    /// for an answer and has not expired at `now`.
    async fn pending_device_authorization(
        &self,
        user_code_hash: &str,
        now: UnixTime,
    ) -> StoreResult<Option<DeviceAuthorization>>;
    /// Records the person's answer to that authorization, if it is still waiting and has not
    /// expired at `now`; `false`, with nothing written, when it is not (answered already,
    /// expired, or gone). In the same transaction: `consent` (what an approving person allowed
    /// the client, merged into what they allowed it before, as `grant_consent` does) and
    /// `record`.
    async fn answer_device_authorization(
        &self,
        user_code_hash: &str,
        answer: DeviceAnswer,
        consent: Option<Consent>,
        record: AuditRecord,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Loads the authorization of a polled device code inside one transaction, lets
    /// `oidc::grant::device_code::decide` judge the poll, and applies the decision: record the
    /// poll, consume it and store the tokens, or forget a refused one; with the outcome's audit
    /// record (`oidc::grant::audit::poll`) in the same transaction. The request's one-time
    /// JWTs (`tokens.once`) are taken first: when one was taken before, [`UsedBefore`], and
    /// the poll is not recorded.
    async fn poll_device_code(
        &self,
        device_code_hash: &str,
        client_id: &str,
        tokens: NewTokens,
        now: UnixTime,
        ip: Option<IpAddr>,
    ) -> StoreResult<Result<Polled, UsedBefore>>;
}

/// Back-channel logout notices waiting to be delivered (`oidc::backchannel`). Several senders
/// (instances) may share them: a claim leases notices to one sender until
/// `oidc::backchannel::LEASE` passes.
#[async_trait]
pub trait LogoutOutbox: Send + Sync {
    /// Claims up to `limit` notices due at `now` (oldest first), leasing them to the caller
    /// until `now + LEASE`; none when none is due (without a write).
    async fn claim_logout_notices(
        &self,
        now: UnixTime,
        limit: usize,
    ) -> StoreResult<Vec<LogoutNotice>>;
    /// Applies what followed an attempt: forget a delivered notice, count the attempt and
    /// schedule the next, or forget it and record `logout.undelivered` in the audit log in the
    /// same transaction.
    async fn settle_logout_notice(
        &self,
        notice: &LogoutNotice,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()>;
}

/// Pushed authorization requests (`oidc::par`).
#[async_trait]
pub trait PushedRequests: Send + Sync {
    /// Keeps `request` (the query `/authorize` will read) for the client `client_id`, by the
    /// hash of its `request_uri`, until `expires_at`.
    async fn push_request(
        &self,
        request_uri_hash: &str,
        client_id: &str,
        request: &str,
        expires_at: UnixTime,
    ) -> StoreResult<()>;
    /// Takes the request kept by `request_uri_hash`, when `oidc::par::may_take` lets
    /// `client_id` take it at `now`: it is removed in the same transaction, so a `request_uri`
    /// is used once. `None` when there is none (unknown, used, expired, or another client's,
    /// which is left as it was).
    async fn take_pushed_request(
        &self,
        request_uri_hash: &str,
        client_id: &str,
        now: UnixTime,
    ) -> StoreResult<Option<String>>;
}

/// Whom a security notice is about, as the change names them: by id, or by username (as an
/// audit record does). Each backend loads them (`auth::notices::Addressee`) in the change's
/// transaction.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Whom<'a> {
    Id(&'a str),
    Username(&'a str),
}

/// Mail waiting to be sent (`mail::run`): messages carrying a link, each queued with its link
/// (`EmailLinks::issue_email_token`) and gone with it, and security notices, each queued with
/// the change it tells of and gone a day later. The claims work as the logout notices' does:
/// a claimed message is leased to its sender until `mail::LEASE` passes.
#[async_trait]
pub trait MailOutbox: Send + Sync {
    /// Claims up to `limit` messages due at `now` (oldest first), leasing them to the caller
    /// until `now + mail::LEASE`; none when none is due (without a write).
    async fn claim_mail(&self, now: UnixTime, limit: usize) -> StoreResult<Vec<QueuedMail>>;
    /// Applies what followed an attempt: forget a message sent, count the attempt and
    /// schedule the next, or forget it and record `account.email_undelivered` in the same
    /// transaction.
    async fn settle_mail(
        &self,
        mail: &QueuedMail,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()>;
    /// Claims up to `limit` security notices due at `now` (oldest first), with their person's
    /// username and language as they are now, leasing them to the caller until
    /// `now + mail::LEASE`; none when none is due (without a write). A notice is queued by the
    /// store itself, in the transaction of the change it tells of (`auth::notices`).
    async fn claim_notices(&self, now: UnixTime, limit: usize) -> StoreResult<Vec<QueuedNotice>>;
    /// Applies what followed an attempt at a notice, as [`MailOutbox::settle_mail`] does.
    async fn settle_notice(
        &self,
        notice: &QueuedNotice,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()>;
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
    /// The counters `keys` have (a key never failed, or forgotten, has none).
    async fn throttle_counters(&self, keys: Vec<String>) -> StoreResult<Vec<Counter>>;
    /// Lets a person sign in again at once (an administrator's doing): reads the counters of
    /// `keys` (their `auth::throttle::person_keys`), decides with `auth::throttle::unlock` at
    /// `now`, and forgets them with `audit` (given the decision's detail) in the same
    /// transaction when there was a count to forget.
    async fn unlock_person(
        &self,
        keys: Vec<String>,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Unlocked>;
}

/// Second factors: a person's authenticator app and recovery codes. Nothing here checks a
/// code: `auth::totp` and `auth::recovery` do, off the writer; the store only claims what a
/// check accepted, atomically, so a code is never accepted twice.
#[async_trait]
pub trait SecondFactors: Send + Sync {
    /// What the user has enrolled (no secret).
    async fn factors(&self, user_id: &str) -> StoreResult<Factors>;
    /// The user's authenticator app with its secret, to check a code against.
    async fn totp_factor(&self, user_id: &str) -> StoreResult<Option<TotpFactor>>;
    /// Records `step` as the last one a code of the user's app was accepted for, if it is
    /// later than the one before. `false`, with nothing changed, when it is not (a concurrent
    /// sign-in used this code, or a later one) or the user has no app (any more).
    async fn claim_totp_step(&self, user_id: &str, step: i64) -> StoreResult<bool>;
    /// Enrols the user's authenticator app with a fresh set of recovery codes (their hashes),
    /// replacing any codes before, and writes `audit`, in one transaction. `false`, with
    /// nothing changed, when the user has an app already (enrolled meanwhile elsewhere).
    async fn enrol_totp(
        &self,
        factor: TotpFactor,
        recovery_hashes: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<bool>;
    /// Replaces the user's authenticator app (or enrols one) and their recovery codes, writing
    /// `audit`, in one transaction: the old app's codes stop working as the new one's start.
    async fn replace_totp(
        &self,
        factor: TotpFactor,
        recovery_hashes: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<()>;
    /// Spends the user's recovery code with this hash, writing `audit` in the same
    /// transaction. `false`, with nothing changed, when there is no such unused code.
    async fn use_recovery_code(
        &self,
        user_id: &str,
        code_hash: &str,
        audit: AuditRecord,
    ) -> StoreResult<bool>;
    /// Replaces the user's recovery codes with these (hashes), writing `audit` in the same
    /// transaction.
    async fn replace_recovery_codes(
        &self,
        user_id: &str,
        hashes: Vec<String>,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<()>;
    /// Removes the user's app, recovery codes and passkeys (an administrator's reset), writing
    /// `audit` in the same transaction; returns what they had.
    async fn remove_factors(&self, user_id: &str, audit: AuditRecord) -> StoreResult<Factors>;
    /// Removes the user's app and its recovery codes, and nothing else, writing `audit` in the
    /// same transaction.
    async fn remove_totp(&self, user_id: &str, audit: AuditRecord) -> StoreResult<()>;
}

/// Passkeys (WebAuthn credentials) and the ceremonies in progress. The library's checks run in
/// `auth::passkeys`, off the writer; the store keeps what they need and takes each challenge
/// once.
#[async_trait]
pub trait Passkeys: Send + Sync {
    /// The user's passkeys, oldest first.
    async fn passkeys(&self, user_id: &str) -> StoreResult<Vec<StoredPasskey>>;
    /// The passkey with this credential id, with the person whose it is.
    async fn passkey(&self, credential_id: &str) -> StoreResult<Option<(StoredPasskey, User)>>;
    /// Adds a passkey and writes `audit`, in one transaction. `false`, with nothing changed,
    /// when its credential id is registered already (to this account or another).
    async fn add_passkey(&self, passkey: StoredPasskey, audit: AuditRecord) -> StoreResult<bool>;
    /// Records a sign-in with the passkey: its new library state (the signature counter) and
    /// the time. `false` when it is gone.
    async fn passkey_used(
        &self,
        credential_id: &str,
        data: String,
        now: UnixTime,
    ) -> StoreResult<bool>;
    /// Removes the user's passkey and writes `audit`, in one transaction, unless it is the last
    /// way in of someone without a password (`auth::ways_in::may_remove`, judged over what
    /// the transaction reads: of two removals at once, the second sees the first). Nothing
    /// changes when the user has no passkey with that id (another person's is never removed),
    /// nor for their last way in.
    async fn remove_passkey(
        &self,
        user_id: &str,
        credential_id: &str,
        audit: AuditRecord,
    ) -> StoreResult<PasskeyRemoval>;
    /// Takes the user's password away, so that they sign in with a passkey from then on, if
    /// they have one (`auth::ways_in::may_remove`, judged as for `remove_passkey`): in one
    /// transaction, with the end of every session and token family of theirs, as a new
    /// password ends them (whoever knew the password is out), then `audit`, its detail ending
    /// with what was ended. `None`, with nothing changed, when they have no password or no
    /// passkey.
    async fn remove_password(
        &self,
        user_id: &str,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Option<LoggedOut>>;
    /// Keeps a ceremony's state until its expiry.
    async fn create_challenge(&self, challenge: Challenge) -> StoreResult<()>;
    /// Takes the challenge of `kind` with this id hash: it is deleted in the same statement, so
    /// of two responses to one challenge only one finds it. `None` when it is unknown, taken,
    /// of another kind, or expired at `now`.
    async fn take_challenge(
        &self,
        id_hash: &str,
        kind: ChallengeKind,
        now: UnixTime,
    ) -> StoreResult<Option<Challenge>>;
}

/// Links sent by email: confirming an address, resetting a password.
#[async_trait]
pub trait EmailLinks: Send + Sync {
    /// Keeps `token`, queues `mail` (the message carrying the link) in the outbox and writes
    /// `audit`, in one transaction, unless the person was sent a link of the same purpose too
    /// recently (`auth::email_links::may_send` over their newest unexpired one): then nothing
    /// is kept and the answer is `false`. A new link replaces the person's earlier ones of its
    /// purpose, and their messages not yet sent.
    async fn issue_email_token(
        &self,
        token: EmailToken,
        mail: Option<Mail>,
        audit: AuditRecord,
    ) -> StoreResult<bool>;
    /// The link whose hash is `token_hash`, of `purpose`, and its person, left in place: what
    /// a page shows before the link is used. Expired ones too, for `auth::email_links::check`
    /// to refuse.
    async fn email_token(
        &self,
        token_hash: &str,
        purpose: EmailPurpose,
    ) -> StoreResult<Option<(EmailToken, User)>>;
    /// Uses the link whose hash is `token_hash` (of `link_use`'s purpose), in one
    /// transaction: reads it and its person, decides with `auth::email_links::redeem` at
    /// `now`, and when it may be used removes it (a link is used once), makes the changes
    /// decided to its person (ending their sessions and token families where a change does,
    /// as `update_user` would) and writes `audit`, with what was ended. A refused link is left
    /// as it was. The link and its person as they were before, or why it was refused.
    async fn redeem_email_token(
        &self,
        token_hash: &str,
        link_use: LinkUse,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<Result<(EmailToken, User), Refused>>;
    /// The users whose address is `email`, compared without regard to ASCII case.
    async fn users_by_email(&self, email: &str) -> StoreResult<Vec<User>>;
}

/// The audit log.
#[async_trait]
pub trait Audit: Send + Sync {
    async fn record(&self, record: AuditRecord) -> StoreResult<()>;
    /// Records after `after_id`, oldest first, at most `limit`.
    async fn audit_since(&self, after_id: i64, limit: usize) -> StoreResult<Vec<AuditEvent>>;
    /// The newest `limit` records, oldest first.
    async fn audit_latest(&self, limit: usize) -> StoreResult<Vec<AuditEvent>>;
    /// The records `query` asks for, newest first.
    async fn audit_query(&self, query: AuditQuery) -> StoreResult<Vec<AuditEvent>>;
    /// The newest `limit` records about `subject` (a username) of the given kinds written at
    /// or after `since`, newest first: a person's own activity (`AuditKind::PERSONAL`), since
    /// their account was made (`admin::person_data`).
    async fn audit_about(
        &self,
        subject: &str,
        since: UnixTime,
        kinds: &[AuditKind],
        limit: usize,
    ) -> StoreResult<Vec<AuditEvent>>;
    /// The tokens issued to applications for `subject` (a username) at or after `since`, by
    /// application, from the records of them (`token.issued`), the latest first: for the
    /// person's data (`admin::person_data`).
    async fn tokens_issued_about(
        &self,
        subject: &str,
        since: UnixTime,
    ) -> StoreResult<Vec<TokensIssued>>;
    /// Deletes the records written before `before`, oldest first, at most a purge batch per
    /// transaction so requests interleave with a long sweep; returns how many. Ids are never
    /// reused, so a reader following the log by id is not confused.
    async fn purge_audit(&self, before: UnixTime) -> StoreResult<usize>;
    /// Deletes the records of tokens issued (`token.issued`) written before `before`, as
    /// [`Audit::purge_audit`] deletes every kind.
    async fn purge_token_audit(&self, before: UnixTime) -> StoreResult<usize>;
}

/// Storage of signing keys.
#[async_trait]
pub trait Keys: Send + Sync {
    /// Every key still published at `now`, newest first.
    async fn signing_keys(&self, now: UnixTime) -> StoreResult<Vec<SigningKey>>;
    /// Adds `key` (published now, signing from `key.signs_from`) and retires the keys of its
    /// algorithm before it as `retirement` says, atomically; other algorithms' keys stay.
    /// `audit`, if given, is written in the same transaction.
    async fn rotate_signing_key(
        &self,
        key: SigningKey,
        retirement: Retirement,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()>;
    /// The deployment's secret `name`: the one stored, or else `candidate`, stored now. Every
    /// instance sharing the database gets the same value.
    async fn server_secret(
        &self,
        name: &str,
        candidate: Vec<u8>,
        now: UnixTime,
    ) -> StoreResult<Vec<u8>>;
}

/// Sign-up links (`auth::signup`): made and removed by administrators, used by the people they
/// were given to.
#[async_trait]
pub trait SignupLinks: Send + Sync {
    /// Keeps `link`, putting its people in its groups (by name), with `audit`, in one
    /// transaction. `NotFound` (and nothing kept) when one of its groups does not exist.
    async fn create_signup_link(&self, link: SignupLink, audit: AuditRecord) -> StoreResult<()>;
    /// Every sign-up link, newest first, with the groups it names as they are named now.
    async fn signup_links(&self) -> StoreResult<Vec<SignupLink>>;
    /// The link whose secret's hash is `secret_hash`, if there is one.
    async fn signup_link(&self, secret_hash: &str) -> StoreResult<Option<SignupLink>>;
    /// Removes the link `id`, with `audit`: it makes no more accounts; those it made stay.
    /// `NotFound` (and nothing written) when there is no such link.
    async fn remove_signup_link(&self, id: &str, audit: AuditRecord) -> StoreResult<()>;
    /// Makes `user`'s account with the link whose secret's hash is `secret_hash`, in one
    /// transaction: reads the link, a person whose username looks like the new one (as
    /// `Directory::create_distinct_user`), whether another account has the address confirmed
    /// and whether `passkey` (the one the account signs in with in place of a password, if any)
    /// is registered already, decides at `now` (`auth::signup::decide`), then adds the user and
    /// their passkey, puts them in the link's groups, gives them the link's domains as their
    /// address rule (when it has some), counts the use and writes `audit`. Of a
    /// burst of sign-ups with one link, no more succeed than it has uses left. `Conflict` (and
    /// nothing written) when the username is taken.
    async fn sign_up(
        &self,
        secret_hash: &str,
        user: User,
        passkey: Option<StoredPasskey>,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<SignedUp>;
    /// The domains the account `user_id` signs in to applications with a confirmed address at
    /// (those of the sign-up link that made it, or an administrator's); empty when it has no
    /// such rule.
    async fn address_rule(&self, user_id: &str) -> StoreResult<Vec<String>>;
    /// Lifts the address rule of the account `user_id`, in one transaction: reads its domains,
    /// deletes them and writes `audit` naming them (`auth::signup::rule_lifted`). The domains
    /// lifted; none (and no record) when it had no rule, as every administrator but one of a
    /// burst finds.
    async fn lift_address_rule(
        &self,
        user_id: &str,
        audit: AuditRecord,
    ) -> StoreResult<Vec<String>>;
    /// Gives the account `user_id` the address rule `domains` (as
    /// `auth::signup::rule_domains` keeps them), in one transaction: reads the rule it had,
    /// keeps the new one and writes `audit` naming both (`auth::signup::rule_set`). The domains
    /// it had (none: no rule); no change and no record when the rule was already that one.
    /// `NotFound` (and nothing written) when there is no such account.
    async fn set_address_rule(
        &self,
        user_id: &str,
        domains: Vec<String>,
        audit: AuditRecord,
    ) -> StoreResult<Vec<String>>;
}

/// Everything gatehouse stores.
#[async_trait]
pub trait Store:
    Directory
    + Groups
    + Sessions
    + SecondFactors
    + Passkeys
    + LogoutOutbox
    + MailOutbox
    + PushedRequests
    + Grants
    + DeviceGrants
    + Keys
    + Throttle
    + Audit
    + EmailLinks
    + SignupLinks
{
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

/// The deployment's 32-byte secret `name`: the stored one, or a random one stored now by
/// whichever instance or command asks first.
///
/// # Errors
/// A store failure.
pub async fn deployment_secret(
    store: &dyn Store,
    name: &str,
    now: UnixTime,
) -> StoreResult<Vec<u8>> {
    let candidate = crate::oidc::tokens::random_bytes::<32>().to_vec();
    store.server_secret(name, candidate, now).await
}

/// Opens the store a database URL names: `sqlite://PATH` (a relative path is relative to the
/// working directory; `sqlite:///abs/path` is absolute), or `postgres://…` /
/// `postgresql://…` (any URL libpq would take, e.g.
/// `postgres://gatehouse@db.internal/gatehouse?sslmode=disable`).
///
/// # Errors
/// `UnsupportedUrl` for a URL of neither backend; whatever opening that backend's store returns.
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
