//! Administrative operations, shared by the command line and the admin API: the same checks and
//! the same audit records, whoever asks. Each change is recorded with its actor (`cli`, or
//! `admin:CLIENT` for the API).

mod claims;
mod clients;
mod groups;
pub mod person_data;
mod profile;
mod refusal;
mod signup;
mod views;

use std::net::IpAddr;

use serde::Deserialize;

use crate::auth::passwords::{PasswordError, Passwords};
use crate::auth::{throttle, username};
use crate::clock::UnixTime;
use crate::model::{
    AuditKind, AuditRecord, Factors, LoggedOut, Named, Profile, User, UserChange, UserEdit,
    UserSearch,
};
use crate::oidc::tokens;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The request itself is wrong; the refusal says how.
    #[error(transparent)]
    Invalid(#[from] Refusal),
    /// A signing key could not be made or stored.
    #[error(transparent)]
    Keys(crate::keyring::KeyringError),
    #[error(transparent)]
    Password(#[from] PasswordError),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub use clients::{
    ClientPatch, ClientSubject, DEFAULT_GRANT_TYPES, DEFAULT_SCOPES, DEFAULT_SECRET_OVERLAP,
    GivenLogo, MAX_CLIENT_ID, MAX_DISPLAY_NAME, MAX_SECRET_OVERLAP, MIN_SECRET_LENGTH, NewClient,
    SubjectOf,
};
pub use groups::{GroupPatch, MAX_DESCRIPTION, NewGroup};
pub use profile::{MAX_NAME, MAX_PICTURE, ProfileChange, check_profile};
pub use refusal::{NameField, PageLink, Refusal, known_grant_types};
pub use views::{ClientView, UserView};

fn invalid(why: impl Into<Refusal>) -> AdminError {
    AdminError::Invalid(why.into())
}

/// What giving a user an address rule did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressRuleSet {
    /// The domains of the rule they had; none: no rule.
    pub before: Vec<String>,
    /// The domains of their rule now, as kept (lower-case ASCII, each once, sorted).
    pub domains: Vec<String>,
}

/// A user to create.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "username": "grace",
    "email": "grace@example.com",
    "name": "Grace Hopper",
    "password": "glacier umbrella quantum tulip"
}))]
pub struct NewUser {
    /// 1 to 64 characters with at least one letter or digit: of ASCII, letters, digits, `.`,
    /// `-`, `_`, `@` and `+`; beyond it, the letters and digits of one script. Stored in its
    /// canonical form (Unicode NFKC, lower case); refused when it holds invisible characters,
    /// mixes scripts, or looks like an existing username.
    #[schema(
        min_length = 1,
        max_length = 64,
        pattern = r"^[^\s\x00-\x2a\x2c\x2f\x3a-\x3f\x5b-\x5e\x60\x7b-\x9f]+$"
    )]
    pub username: String,
    /// Contains an `@` and no whitespace.
    #[schema(pattern = r"^\S+@[^\s@]+$", max_length = 254)]
    pub email: String,
    /// Whether the address is known to be the person's (the `email_verified` claim).
    #[serde(default)]
    pub email_verified: bool,
    /// The display name (at most 256 characters, no control characters).
    #[schema(max_length = 256)]
    pub name: Option<String>,
    /// At most 256 characters.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub given_name: Option<String>,
    /// At most 256 characters.
    #[serde(default)]
    #[schema(max_length = 256)]
    pub family_name: Option<String>,
    /// A BCP 47 language tag, such as `en-GB`: the `locale` claim, and the language the
    /// pages and mail speak to the person when they speak one that matches it.
    #[serde(default)]
    #[schema(max_length = 64)]
    pub locale: Option<String>,
    /// An https URL of a picture of the person.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub picture: Option<String>,
    /// 12 to 1024 characters, not easy to guess (not a common password, a keyboard pattern or
    /// the username); stored only as an argon2id hash.
    #[schema(min_length = 12, max_length = 1024)]
    pub password: String,
}

impl NewUser {
    /// A person with a username, an address (unconfirmed) and a password, and no profile.
    pub fn new(username: String, email: String, password: String) -> NewUser {
        NewUser {
            username,
            email,
            email_verified: false,
            name: None,
            given_name: None,
            family_name: None,
            locale: None,
            picture: None,
            password,
        }
    }
}

/// Changes to one person made at once ([`Admin::edit_user`]): each field given is changed.
#[derive(Debug, Clone, Default)]
pub struct UserEdits {
    pub password: Option<String>,
    pub disabled: Option<bool>,
    /// A new address: unverified unless `email_verified` says otherwise.
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    pub profile: ProfileChange,
}

/// Who is acting, for the audit log.
pub struct Admin<'a> {
    store: &'a dyn Store,
    actor: String,
    ip: Option<IpAddr>,
    now: UnixTime,
}

/// What [`Admin::unlock`] did.
pub use crate::auth::throttle::Unlocked;

impl<'a> Admin<'a> {
    pub fn new(
        store: &'a dyn Store,
        actor: impl Into<String>,
        ip: Option<IpAddr>,
        now: UnixTime,
    ) -> Self {
        Admin {
            store,
            actor: actor.into(),
            ip,
            now,
        }
    }

    /// When these operations are done.
    pub fn now(&self) -> UnixTime {
        self.now
    }

    /// The record of an operation done by this actor, from this address, now.
    fn record(
        &self,
        kind: AuditKind,
        subject: &str,
        client_id: Option<&str>,
        detail: Option<String>,
    ) -> AuditRecord {
        let mut record = AuditRecord::new(self.now, kind, self.actor.clone())
            .subject(Some(subject))
            .ip(self.ip);
        if let Some(c) = client_id {
            record = record.client(c);
        }
        if let Some(d) = detail {
            record = record.detail(d);
        }
        record
    }

    /// The user named `username`, as typed: in its canonical form, or exactly (a name stored
    /// before usernames were made canonical).
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn user(&self, username: &str) -> Result<User, AdminError> {
        find_user(self.store, username)
            .await?
            .ok_or_else(|| StoreError::NotFound(Named::User(username.to_owned())).into())
    }

    /// Creates a user from `new`, with its password hashed, and audits it.
    ///
    /// # Errors
    /// `Invalid` for a malformed username or email, or a name that looks like an existing one;
    /// `Invalid` for a profile field that is refused; `Password` for a password too short or too
    /// easy to guess; `Conflict` when the name is taken; a store failure.
    pub async fn add_user(&self, passwords: &Passwords, new: NewUser) -> Result<User, AdminError> {
        let user = new_account(self.store, passwords, new, self.now).await?;
        // Decided again where the user is added: of two look-alikes added at once, one is.
        let record = self.record(AuditKind::UserCreated, &user.username, None, None);
        if let Some(existing) = self
            .store
            .create_distinct_user(user.clone(), Some(record))
            .await?
        {
            return Err(looks_like(&user.username, &existing));
        }
        Ok(user)
    }

    /// Disables or enables a user. Disabling ends the user's sessions and revokes their
    /// tokens: enabling them again brings none of it back.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn set_disabled(
        &self,
        username: &str,
        disabled: bool,
    ) -> Result<LoggedOut, AdminError> {
        let user = self.user(username).await?;
        self.apply(&user, vec![self.disabled_edit(&user, disabled)])
            .await
    }

    /// Removes a person's account and everything of theirs but the audit records about them:
    /// their sessions end first, so each application told of a sign-in is told it ended.
    /// Returns what was ended.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn remove_user(&self, username: &str) -> Result<LoggedOut, AdminError> {
        let user = self.user(username).await?;
        let record = self.record(AuditKind::UserRemoved, &user.username, None, None);
        Ok(self
            .store
            .remove_user(&user.username, self.now, Some(record))
            .await?)
    }

    /// Sets a user's password, which signs them out everywhere, and audits it.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; `Password` for a password too short or too easy to
    /// guess; a store failure.
    pub async fn set_password(
        &self,
        passwords: &Passwords,
        username: &str,
        password: String,
    ) -> Result<LoggedOut, AdminError> {
        let user = self.user(username).await?;
        let edit = self.password_edit(passwords, &user, password).await?;
        self.apply(&user, vec![edit]).await
    }

    /// Makes every change of `edits` to the user, each audited as its own method would, in one
    /// transaction: every field is checked, and the password hashed, before anything is
    /// written, and either all of it is made or none. Returns the user as it now is.
    ///
    /// # Errors
    /// `Invalid` for a field that is refused; `Password` for a password too short or too easy
    /// to guess; `NotFound` when no user has that name; a store failure. Nothing changed.
    pub async fn edit_user(
        &self,
        passwords: &Passwords,
        username: &str,
        edits: UserEdits,
    ) -> Result<User, AdminError> {
        let user = self.user(username).await?;
        let email = if edits.email.is_some() || edits.email_verified.is_some() {
            self.email_edit(&user, edits.email, edits.email_verified)?
        } else {
            None
        };
        let profile = self.profile_edit(&user, edits.profile)?;
        // The password last of the checks: its hash is the costly one.
        let password = match edits.password {
            Some(p) => Some(self.password_edit(passwords, &user, p).await?),
            None => None,
        };
        let disabled = edits.disabled.map(|d| self.disabled_edit(&user, d));
        let all: Vec<UserEdit> = [password, disabled, email, profile]
            .into_iter()
            .flatten()
            .collect();
        if !all.is_empty() {
            self.apply(&user, all).await?;
        }
        self.user(&user.username).await
    }

    /// Makes `edits` to `user` in one transaction: what they ended.
    async fn apply(&self, user: &User, edits: Vec<UserEdit>) -> Result<LoggedOut, AdminError> {
        Ok(self
            .store
            .edit_user(&user.username, edits, self.now)
            .await?)
    }

    fn disabled_edit(&self, user: &User, disabled: bool) -> UserEdit {
        let (change, kind) = if disabled {
            (UserChange::Disable, AuditKind::UserDisabled)
        } else {
            (UserChange::Enable, AuditKind::UserEnabled)
        };
        let audit = Some(self.record(kind, &user.username, None, None));
        UserEdit { change, audit }
    }

    /// The new password's edit: refused when it is too short or easy to guess.
    async fn password_edit(
        &self,
        passwords: &Passwords,
        user: &User,
        password: String,
    ) -> Result<UserEdit, AdminError> {
        let inputs = vec![user.username.clone(), user.email.clone()];
        let hash = passwords.hash(password, inputs).await?;
        let audit = Some(self.record(AuditKind::PasswordSet, &user.username, None, None));
        let change = UserChange::SetPassword(hash);
        Ok(UserEdit { change, audit })
    }

    /// Ends every session of the user and revokes every refresh token they hold.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn logout(&self, username: &str) -> Result<LoggedOut, AdminError> {
        let user = self.user(username).await?;
        let record = self.record(AuditKind::UserLoggedOut, username, None, None);
        let out = self
            .store
            .end_user_sessions(&user.id, self.now, Some(record))
            .await?;
        Ok(out)
    }

    /// Until when the user's sign-ins are paused by their failed attempts (passwords, codes,
    /// device codes: `auth::throttle::person_keys`), if they are now. Their address's count,
    /// which other people share, is not theirs to clear and is not read.
    ///
    /// # Errors
    /// A store failure.
    pub async fn locked_until(&self, user: &User) -> Result<Option<UnixTime>, AdminError> {
        let keys = throttle::person_keys(&user.username, &user.id);
        let counters = self.store.throttle_counters(keys).await?;
        Ok(throttle::locked_until(&counters, self.now))
    }

    /// Lets the user sign in again at once: forgets the count of their failed attempts (so the
    /// next failure starts a new one), audited with until when they were paused, read in the
    /// same transaction. No count to forget writes no record.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn unlock(&self, username: &str) -> Result<Unlocked, AdminError> {
        let user = self.user(username).await?;
        let record = self.record(AuditKind::UserUnlocked, &user.username, None, None);
        let keys = throttle::person_keys(&user.username, &user.id);
        Ok(self.store.unlock_person(keys, self.now, record).await?)
    }

    /// The domains the user signs in to applications with a confirmed address at (those of
    /// the sign-up link that made their account, or an administrator's); none when they have
    /// no such rule.
    ///
    /// # Errors
    /// A store failure.
    pub async fn address_rule(&self, user: &User) -> Result<Vec<String>, AdminError> {
        Ok(self.store.address_rule(&user.id).await?)
    }

    /// Lets the user sign in to applications with an address anywhere: lifts the rule their
    /// sign-up link or an administrator gave their account, audited with its domains, read in
    /// the same transaction. The domains lifted; none (and no record) when there was no rule.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn lift_address_rule(&self, username: &str) -> Result<Vec<String>, AdminError> {
        let user = self.user(username).await?;
        let record = self.record(AuditKind::AddressRuleLifted, &user.username, None, None);
        Ok(self.store.lift_address_rule(&user.id, record).await?)
    }

    /// Lets the user sign in to applications only with a confirmed address at one of
    /// `domains` (`auth::signup::rule_domains`), as a sign-up link for those domains would
    /// have: the rule they had is replaced, audited with both, read in the same transaction.
    /// The same rule again changes and records nothing.
    ///
    /// # Errors
    /// `Invalid` for no domain, one that is not a domain name or too many; `NotFound` when no
    /// user has that name; a store failure.
    pub async fn set_address_rule(
        &self,
        username: &str,
        domains: &[String],
    ) -> Result<AddressRuleSet, AdminError> {
        let domains = crate::auth::signup::rule_domains(domains).map_err(invalid)?;
        let user = self.user(username).await?;
        let record = self.record(AuditKind::AddressRuleSet, &user.username, None, None);
        let before = self
            .store
            .set_address_rule(&user.id, domains.clone(), record)
            .await?;
        Ok(AddressRuleSet { before, domains })
    }

    /// What second factors the user has (never a secret).
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn factors(&self, username: &str) -> Result<Factors, AdminError> {
        let user = self.user(username).await?;
        Ok(self.store.factors(&user.id).await?)
    }

    /// The user's live sessions, newest first, with where each was signed in from.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn sessions(&self, username: &str) -> Result<Vec<crate::model::Session>, AdminError> {
        let user = self.user(username).await?;
        Ok(self.store.sessions(&user.id, self.now).await?)
    }

    /// Removes the user's authenticator app and recovery codes (a lost phone), audited in the
    /// same transaction. Their sessions stay; where a policy requires a second factor, they
    /// enrol a new app at their next sign-in. Returns what they had.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn reset_factors(&self, username: &str) -> Result<Factors, AdminError> {
        let user = self.user(username).await?;
        let record = AuditRecord::new(self.now, AuditKind::FactorsReset, self.actor.clone())
            .subject(Some(user.username.as_str()))
            .ip(self.ip);
        Ok(self.store.remove_factors(&user.id, record).await?)
    }

    /// A passkey link for `username`, a person who lost their passkey, to hand over, where
    /// passkeys work with the issuer or not (`passkeys_work`): when one may be made
    /// (`auth::email_links::may_make_passkey_link`), kept by its hash and audited
    /// (`admin.user.passkey_link_made`) in one transaction. The link's secret, shown only now,
    /// and until when it works; or why none was made.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn passkey_link(
        &self,
        username: &str,
        passkeys_work: bool,
    ) -> Result<Result<(String, UnixTime), crate::auth::email_links::NoPasskeyLink>, AdminError>
    {
        use crate::auth::email_links::{self, NoPasskeyLink};
        use crate::model::EmailPurpose;
        let user = self.user(username).await?;
        if let Err(why) = email_links::may_make_passkey_link(&user, passkeys_work) {
            return Ok(Err(why));
        }
        let secret = tokens::generate();
        let purpose = EmailPurpose::Passkey;
        let token = email_links::new_token(&user, purpose, tokens::hash(&secret), self.now);
        let expires_at = token.expires_at;
        let record = self.record(
            AuditKind::PasskeyLinkMade,
            &user.username,
            None,
            Some("to hand over".to_owned()),
        );
        let made = self.store.issue_email_token(token, None, record).await?;
        Ok(if made {
            Ok((secret, expires_at))
        } else {
            Err(NoPasskeyLink::TooSoon)
        })
    }

    /// Withdraws a consent, revoking what the client holds for the user.
    ///
    /// # Errors
    /// `NotFound` when there is no such user or no such consent; a store failure.
    pub async fn revoke_consent(&self, username: &str, client_id: &str) -> Result<(), AdminError> {
        let user = self.user(username).await?;
        let record = self.record(AuditKind::ConsentRevoked, username, Some(client_id), None);
        self.store
            .revoke_consent(&user.id, client_id, self.now, Some(record))
            .await?;
        Ok(())
    }

    /// Adds a new signing key for `alg`, as `rotation` says (`keyring::Rotation`); other
    /// algorithms' keys are left as they are.
    ///
    /// # Errors
    /// `Invalid` when a key cannot be made; a store failure.
    pub async fn rotate_key(
        &self,
        alg: crate::model::SigningAlg,
        rotation: crate::keyring::Rotation,
    ) -> Result<crate::keyring::Rotated, AdminError> {
        let record = |rotated: &crate::keyring::Rotated| {
            let detail = match rotation {
                crate::keyring::Rotation::Scheduled { .. } => {
                    format!("{alg}: published now, signs from {}", rotated.signs_from)
                }
                crate::keyring::Rotation::Compromised => {
                    format!(
                        "{alg}: signs at once; every older {alg} key was unpublished (compromised)"
                    )
                }
            };
            self.record(AuditKind::KeyRotated, &rotated.kid, None, Some(detail))
        };
        crate::keyring::rotate(self.store, alg, self.now, rotation, record)
            .await
            .map_err(|e| match e {
                crate::keyring::KeyringError::Store(e) => AdminError::Store(e),
                e => AdminError::Keys(e),
            })
    }
}

/// The account `new` describes, made at `now` and not yet stored: its fields checked, its
/// password hashed (the costly part, last). What an administrator adds (`Admin::add_user`) and
/// what a person makes with a sign-up link; each store adds it deciding again, in its
/// transaction, that no name looks like it.
///
/// # Errors
/// `Invalid` for a malformed username or email, or a name that looks like an existing one;
/// `Invalid` for a profile field that is refused; `Password` for a password too short or too
/// easy to guess; a store failure.
pub async fn new_account(
    store: &dyn Store,
    passwords: &Passwords,
    mut new: NewUser,
    now: UnixTime,
) -> Result<User, AdminError> {
    let password = std::mem::take(&mut new.password);
    let mut user = passwordless_account(store, new, tokens::new_id(), now).await?;
    let inputs = vec![user.username.clone(), user.email.clone()];
    user.password_hash = Some(passwords.hash(password, inputs).await?);
    Ok(user)
}

/// The account `new` describes with no password, known by `id` (the user handle of the passkey
/// it will sign in with), made at `now` and not yet stored: its fields checked as
/// [`new_account`] checks them; `new.password` is not read. What a person makes with a sign-up
/// link and a passkey.
///
/// # Errors
/// As [`new_account`]'s, but for the password.
pub async fn passwordless_account(
    store: &dyn Store,
    new: NewUser,
    id: String,
    now: UnixTime,
) -> Result<User, AdminError> {
    let username = check_user_fields(&new.username, &new.email)?;
    let profile = Profile {
        given_name: profile::given(new.given_name),
        family_name: profile::given(new.family_name),
        locale: profile::given(new.locale),
        picture: profile::given(new.picture),
        updated_at: None,
    };
    check_profile(new.name.as_deref(), &profile)?;
    // One account per name as people read it: a name that looks like an existing one is
    // refused (UTS #39 skeletons, kept with each user and found by an index). Read here
    // first, so a refused name costs no password hash, and decided again in the
    // transaction that adds the user.
    let key = username::stored_look_alike_key(&username);
    if let Some(existing) = store.users_looking_like(&key).await?.into_iter().next() {
        return Err(looks_like(&username, &existing));
    }
    let user = User {
        id,
        username,
        email: new.email,
        name: profile::given(new.name),
        password_hash: None,
        disabled: false,
        created_at: now,
        email_verified: new.email_verified,
        profile,
    };
    Ok(user)
}

/// Checks a new user's username and email (the CLI does, before it asks for the password);
/// returns the username in its canonical form (`auth::username`).
///
/// # Errors
/// `Invalid`, saying what is wrong with the username or the email address.
pub fn check_user_fields(username: &str, email: &str) -> Result<String, AdminError> {
    let canonical = username::canonical(username).map_err(invalid)?;
    check_email(email)?;
    Ok(canonical)
}

/// The longest email address (RFC 5321 §4.5.3.1.3: a path of 256 octets, less its brackets).
pub const MAX_EMAIL: usize = 254;

/// Checks an email address as a person or an administrator typed it: something before its
/// last `@` and a domain after it, at most [`MAX_EMAIL`] characters, nothing invisible. Whether
/// mail reaches it is for a confirmation link to find out, not for a pattern.
///
/// # Errors
/// `Invalid`, saying what is wrong.
pub fn check_email(email: &str) -> Result<(), AdminError> {
    let addressed = email
        .rsplit_once('@')
        .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
    let bad = !addressed
        || email.chars().count() > MAX_EMAIL
        || email
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || crate::text::is_invisible(c));
    if bad {
        return Err(invalid(Refusal::Email(email.to_owned())));
    }
    Ok(())
}

/// The refusal of a new `username` that looks like `existing`'s.
fn looks_like(username: &str, existing: &User) -> AdminError {
    StoreError::Conflict(Named::LookAlike(
        username.to_owned(),
        existing.username.clone(),
    ))
    .into()
}

/// How many users a search reads at a time.
const SEARCH_PAGE: usize = 500;

/// The users `search` finds, in username order: read a page at a time
/// (`Directory::users_after`) and matched here (`UserSearch::matches`), so that a search
/// holds at most a page of users beside what it found, and stops once it has `limit`.
///
/// # Errors
/// A store failure.
pub async fn search_users(store: &dyn Store, search: &UserSearch) -> Result<Vec<User>, StoreError> {
    search_in_pages(store, search, SEARCH_PAGE).await
}

async fn search_in_pages(
    store: &dyn Store,
    search: &UserSearch,
    page: usize,
) -> Result<Vec<User>, StoreError> {
    let mut found = Vec::new();
    let mut after = search.after.clone();
    while found.len() < search.limit {
        let users = store.users_after(after.as_deref(), page).await?;
        let read = users.len();
        after = users.last().map(|u| u.username.clone());
        let wanted = search.limit - found.len();
        found.extend(users.into_iter().filter(|u| search.matches(u)).take(wanted));
        if read < page {
            break;
        }
    }
    Ok(found)
}

/// The user a typed `username` names: by its folded form first (`auth::username::fold`, which
/// also finds a name stored before a rule of new names existed, such as `ops/bot`), then exactly
/// as typed (a name stored before usernames were folded, such as `Alice` beside `alice`).
///
/// # Errors
/// A store failure; no such user is `Ok(None)`.
pub async fn find_user(store: &dyn Store, typed: &str) -> Result<Option<User>, StoreError> {
    let folded = username::fold(typed);
    if let Some(u) = store.user_by_username(&folded).await? {
        return Ok(Some(u));
    }
    if folded == typed {
        return Ok(None);
    }
    store.user_by_username(typed).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_has_a_person_and_a_domain() {
        for ok in [
            "ada@example.com",
            "ada+sso@mail.example.org",
            "\"a@b\"@example.com",
            "ada@localhost",
        ] {
            assert!(check_email(ok).is_ok(), "{ok}");
        }
        let long = format!("{}@example.com", "a".repeat(MAX_EMAIL));
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "@",
            "ada @example.com",
            "ada@\u{200b}example.com",
            "ada@example.com\n",
            long.as_str(),
        ] {
            assert!(
                matches!(
                    check_email(bad),
                    Err(AdminError::Invalid(Refusal::Email(_)))
                ),
                "{bad:?}"
            );
        }
    }
}
