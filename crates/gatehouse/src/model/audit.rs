use serde::{Deserialize, Serialize};

use super::named;
use crate::clock::UnixTime;

named! {
    /// What an audit record says happened. The names are dotted, the part before the first dot
    /// the area (`login`, `token`, `admin`, …), so a reader can filter by prefix.
    pub enum AuditKind ("audit kind") {
        LoginSucceeded = "login.succeeded",
        LoginFailed = "login.failed",
        /// A right password, then a wrong (or already used) second factor.
        SecondFactorFailed = "login.second_factor_failed",
        /// A recovery code was spent to sign in.
        RecoveryCodeUsed = "login.recovery_code_used",
        /// A person enrolled an authenticator app (and got recovery codes).
        TotpEnrolled = "account.totp_enrolled",
        /// A person replaced their authenticator app with a new one.
        TotpReplaced = "account.totp_replaced",
        /// A person removed their authenticator app (and its recovery codes).
        TotpRemoved = "account.totp_removed",
        /// A person added a passkey.
        PasskeyAdded = "account.passkey_added",
        /// A person removed a passkey.
        PasskeyRemoved = "account.passkey_removed",
        /// A passkey was refused at sign-in (a bad signature, a counter that went backwards).
        PasskeyRefused = "login.passkey_refused",
        /// A person's recovery codes were replaced by a new set.
        RecoveryCodesRegenerated = "account.recovery_codes_regenerated",
        /// A person changed their own password (their other sessions are signed out).
        PasswordChanged = "account.password_changed",
        /// A person removed their password, to sign in with a passkey from then on (their
        /// other sessions are signed out).
        PasswordRemoved = "account.password_removed",
        /// A person changed their own name or email address.
        ProfileChanged = "account.profile_changed",
        /// A person signed out one or all of their other sessions.
        SessionsEnded = "account.sessions_ended",
        /// A person withdrew an application's access from their account page.
        ConsentWithdrawn = "account.consent_withdrawn",
        /// The person signed an application out on their account page: every token it held
        /// for them was revoked.
        ApplicationSignedOut = "account.application_signed_out",
        /// A person confirmed their email address by the link sent to it.
        EmailConfirmed = "account.email_confirmed",
        /// A person set a new password by the link sent to their address.
        PasswordReset = "account.password_reset",
        /// A link was sent to a person's address (which, in the detail).
        EmailSent = "account.email_sent",
        /// A link's message could not be sent, and was given up (why, in the detail).
        EmailUndelivered = "account.email_undelivered",
        /// A person an administrator added chose their password by the invitation's link.
        InvitationAccepted = "account.invitation_accepted",
        /// A person made their own account with a sign-up link (which, in the detail).
        SignedUp = "account.signed_up",
        /// A person removed their own account from their account page (`serve
        /// --account-removal`).
        AccountRemoved = "account.removed",
        Logout = "logout",
        /// A back-channel logout notice was given up: the client refused it or could not be
        /// reached for a day.
        LogoutUndelivered = "logout.undelivered",
        ConsentGranted = "consent.granted",
        ConsentDenied = "consent.denied",
        /// A user outside a client's groups tried to use it.
        AccessDenied = "access.denied",
        /// A refresh was refused: its client requires a confirmed address (or the account one
        /// at its domains), and the person's is not that (any more).
        AccessUnconfirmed = "access.address_unconfirmed",
        /// A person allowed a device to sign in (RFC 8628).
        DeviceApproved = "device.approved",
        /// A person refused a device's sign-in.
        DeviceDenied = "device.denied",
        TokenIssued = "token.issued",
        TokenRevoked = "token.revoked",
        /// A rotated refresh token came back: its family is revoked (RFC 9700 §4.14.2).
        TokenReuseDetected = "token.reuse_detected",
        /// A used authorization code came back: its tokens are revoked (RFC 6749 §4.1.2).
        CodeReplayed = "code.replayed",
        UserCreated = "admin.user.created",
        UserDisabled = "admin.user.disabled",
        UserEnabled = "admin.user.enabled",
        /// An administrator removed a person's account, and everything of it but its records.
        UserRemoved = "admin.user.removed",
        PasswordSet = "admin.user.password_set",
        ProfileUpdated = "admin.user.profile_updated",
        /// An administrator set the claims the user carries (`model::CustomClaims`).
        UserClaimsSet = "admin.user.claims_set",
        EmailSet = "admin.user.email_set",
        UserLoggedOut = "admin.user.logged_out",
        /// An administrator removed a person's second factors (a lost phone).
        FactorsReset = "admin.user.factors_reset",
        /// An administrator let a person whose failed attempts had paused their sign-ins sign
        /// in again at once (`auth::throttle::person_keys` forgotten).
        UserUnlocked = "admin.user.unlocked",
        /// An administrator let a person whose account had an address rule (a sign-up link's
        /// for some domains, or an administrator's) sign in with an address anywhere (the
        /// domains, in the detail).
        AddressRuleLifted = "admin.user.address_rule_lifted",
        /// An administrator gave a person's account an address rule: it signs in to
        /// applications only with a confirmed address at its domains (named in the detail,
        /// with what it was).
        AddressRuleSet = "admin.user.address_rule_set",
        /// An administrator made a password reset link to hand to a person themselves (no
        /// mail goes out).
        ResetLinkMade = "admin.user.reset_link_made",
        /// An administrator made a link for a person who lost their passkey to add another
        /// (mailed to them, or to hand over where no mail goes out).
        PasskeyLinkMade = "admin.user.passkey_link_made",
        ConsentRevoked = "admin.consent.revoked",
        ClientCreated = "admin.client.created",
        ClientRemoved = "admin.client.removed",
        ClientUpdated = "admin.client.updated",
        ClientSecretRotated = "admin.client.secret_rotated",
        /// Which groups may use a client changed.
        ClientAccessSet = "admin.client.access_set",
        KeyRotated = "admin.key.rotated",
        /// Someone signed in but outside the administrators' group opened an administration
        /// page.
        ConsoleRefused = "admin.console_refused",
        Imported = "admin.imported",
        GroupCreated = "admin.group.created",
        GroupUpdated = "admin.group.updated",
        GroupDeleted = "admin.group.deleted",
        MemberAdded = "admin.group.member_added",
        MemberRemoved = "admin.group.member_removed",
        /// An administrator set the claims the group's members carry.
        GroupClaimsSet = "admin.group.claims_set",
        /// An administrator made a sign-up link (its id, for how many people, until when, and
        /// its groups, in the detail).
        SignupLinkMade = "admin.signup_link.made",
        /// An administrator removed a sign-up link: it makes no more accounts.
        SignupLinkRemoved = "admin.signup_link.removed",
    }
}

impl AuditKind {
    /// What a person is shown of the records about them, on their account page: sign-ins and
    /// their failures, changes to their account (by them or an administrator), the
    /// applications and devices they allowed. Not the records of every token issued.
    pub const PERSONAL: &'static [AuditKind] = &[
        AuditKind::LoginSucceeded,
        AuditKind::LoginFailed,
        AuditKind::SecondFactorFailed,
        AuditKind::RecoveryCodeUsed,
        AuditKind::PasskeyRefused,
        AuditKind::TotpEnrolled,
        AuditKind::TotpReplaced,
        AuditKind::TotpRemoved,
        AuditKind::PasskeyAdded,
        AuditKind::PasskeyRemoved,
        AuditKind::RecoveryCodesRegenerated,
        AuditKind::PasswordChanged,
        AuditKind::PasswordRemoved,
        AuditKind::ProfileChanged,
        AuditKind::SessionsEnded,
        AuditKind::ConsentWithdrawn,
        AuditKind::ApplicationSignedOut,
        AuditKind::EmailConfirmed,
        AuditKind::PasswordReset,
        AuditKind::EmailSent,
        AuditKind::EmailUndelivered,
        AuditKind::InvitationAccepted,
        AuditKind::SignedUp,
        AuditKind::Logout,
        AuditKind::ConsentGranted,
        AuditKind::ConsentDenied,
        AuditKind::ConsentRevoked,
        AuditKind::AccessDenied,
        AuditKind::AccessUnconfirmed,
        AuditKind::DeviceApproved,
        AuditKind::DeviceDenied,
        AuditKind::TokenReuseDetected,
        AuditKind::CodeReplayed,
        AuditKind::UserCreated,
        AuditKind::UserDisabled,
        AuditKind::UserEnabled,
        AuditKind::PasswordSet,
        AuditKind::ProfileUpdated,
        AuditKind::UserClaimsSet,
        AuditKind::EmailSet,
        AuditKind::UserLoggedOut,
        AuditKind::FactorsReset,
        AuditKind::UserUnlocked,
        AuditKind::AddressRuleLifted,
        AuditKind::AddressRuleSet,
        AuditKind::ResetLinkMade,
        AuditKind::PasskeyLinkMade,
    ];
}

/// Something worth an audit record: who did what to whom.
///
/// A record of a change that signed someone out ends its detail with what was ended
/// ([`AuditRecord::ended`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditRecord {
    pub at: UnixTime,
    pub kind: AuditKind,
    /// Who did it: `user:ID`, `client:ID`, `cli`, `admin:CLIENT`, or `anonymous`.
    pub actor: String,
    /// What it was done to, when not the actor: a username, a client id, a token family.
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    /// Free-form detail; never a secret.
    pub detail: Option<String>,
    /// The browser a person did it from: its `User-Agent` as a session keeps it
    /// (`auth::browsers::kept`), described when shown. None for what applications and tools
    /// do, and in records of releases before it was kept.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
}

impl AuditRecord {
    pub fn new(at: UnixTime, kind: AuditKind, actor: impl Into<String>) -> Self {
        AuditRecord {
            at,
            kind,
            actor: actor.into(),
            subject: None,
            client_id: None,
            ip: None,
            detail: None,
            user_agent: None,
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

    /// The browser it was done from, its `User-Agent` kept as a session keeps it (bounded,
    /// control characters replaced: `auth::browsers::kept`).
    pub fn browser(mut self, user_agent: Option<&str>) -> Self {
        self.user_agent = crate::auth::browsers::kept(user_agent);
        self
    }

    /// Free-form detail, stored like [`AuditRecord::subject`].
    pub fn detail(mut self, detail: impl Into<String>) -> Self {
        self.detail = Some(crate::text::inert(detail.into()));
        self
    }

    /// This record, its detail ending with what `out` ended (nothing added when nothing was).
    pub fn ended(self, out: &super::LoggedOut) -> Self {
        match (out.describe(), self.detail.clone()) {
            (None, _) => self,
            (Some(ended), None) => self.detail(ended),
            (Some(ended), Some(before)) => self.detail(format!("{before}; {ended}")),
        }
    }
}

/// The tokens issued to one application for a person, as the audit log's records of them
/// (`token.issued`) count them: which applications were given the person's data, and when.
/// As far back as the log keeps those records (`serve --token-audit-retention-days`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokensIssued {
    pub client_id: String,
    /// The first and the last time, of the records kept.
    pub first_at: UnixTime,
    pub last_at: UnixTime,
    /// How many times: a sign-in's code, each refresh, a device's tokens.
    pub times: u64,
}

/// Which audit records to read, newest first: each filter given must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// The kind's name starts with this (`login.`, `admin.user.`).
    pub kind_prefix: Option<String>,
    /// Exactly this subject (a username, a client id).
    pub subject: Option<String>,
    /// Exactly this actor (`user:ID`, `cli`, `admin:CLIENT`).
    pub actor: Option<String>,
    /// Only records older than this id (the next page).
    pub before: Option<i64>,
    pub limit: usize,
}

impl AuditQuery {
    /// The start of the kinds asked for, as kinds are written (in lower case): `Login.` asks
    /// for what `login.` does, on every backend (SQLite's `LIKE` ignores case, PostgreSQL's
    /// does not).
    pub fn kind_start(&self) -> Option<String> {
        self.kind_prefix.as_deref().map(str::to_ascii_lowercase)
    }

    /// Whether `record` is one the query asks for, by its kind, subject and actor (`before`
    /// and `limit` page, they do not choose): what each store's `audit_query` selects, for
    /// records read as they come (`audit tail --follow`). `store_contract.rs` holds the stores
    /// and this to one table.
    pub fn matches(&self, record: &AuditRecord) -> bool {
        self.kind_start()
            .is_none_or(|start| record.kind.as_str().starts_with(&start))
            && self
                .subject
                .as_deref()
                .is_none_or(|s| record.subject.as_deref() == Some(s))
            && self.actor.as_deref().is_none_or(|a| record.actor == a)
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
