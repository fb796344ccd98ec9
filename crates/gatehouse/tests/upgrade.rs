//! A database made by the previous release upgrades in place: its schema is migrated when the
//! new version opens it, and what it held keeps working (sessions, tokens, an unused code, a
//! username stored before usernames were made canonical, one new accounts can no longer have,
//! a record of a token issued, which the retention of those records then sweeps, and, where
//! refresh tokens named their family, the answer kept for a retry of a rotation a moment
//! before the upgrade, given back to that retry), no new account takes a name that looks like
//! an old one, and a person of the old release is told of a change to their account.
//!
//! Earlier releases are rebuilt here as they shipped: their migrations, then rows written with
//! the columns every release has: the previous release (before a security notice could
//! outlive its account: SQLite 1-33, PostgreSQL 1-34), whose notice a sender had claimed waits
//! through the upgrade, and whose removed person is told of the removal; the one before
//! sign-up links for addresses at some domains (SQLite 1-32, PostgreSQL 1-33), whose links are
//! for any address and whose accounts have no rule of their own; the one before applications could require a confirmed
//! address (SQLite 1-31, PostgreSQL 1-32), whose clients require none until told; the one
//! before kept sessions (SQLite 1-30, PostgreSQL 1-31), whose sessions are ordinary ones and
//! whose people can then ask to be kept signed in; the one before applications' logos (SQLite 1-29, PostgreSQL 1-30), whose client
//! is then given one; the ones before sign-up by passkey and before sign-up links (SQLite
//! 1-27, PostgreSQL 1-28), whose groups a sign-up link then puts a new person in; the one before
//! pairwise subjects (SQLite 1-26, PostgreSQL 1-27); the one before the audit log kept the
//! browser a person acted from (SQLite 1-25, PostgreSQL 1-26), whose records then read without
//! one; the
//! one before sessions kept theirs (SQLite 1-24, PostgreSQL 1-25), the one before security
//! notices (SQLite 1-23, PostgreSQL 1-24), the one before access tokens were stored in the order they are issued
//! (SQLite 1-22, PostgreSQL 1-23), whose access tokens of a family with no
//! other token outlive the sweep, and each release back to the one before usernames'
//! look-alike keys were kept (SQLite 1-15, PostgreSQL 1-15); the one before PostgreSQL kept the answers for a retry
//! in a table of their own (SQLite 1-15, PostgreSQL 1-14), the one before records of tokens issued had a retention of their own (SQLite 1-14, PostgreSQL
//! 1-13) and the one before refresh tokens named their family (SQLite 1-13, PostgreSQL 1-12),
//! whose refresh token of an older format rotates into the family format and is then recognised
//! as reuse; the releases before the account page's activity (SQLite 1-12, PostgreSQL 1-11) and
//! before second factors (SQLite 1-11, PostgreSQL 1-10); the releases before back-channel
//! logout (SQLite 1-8, PostgreSQL 1-7) and before ES256 and EdDSA (SQLite 1-6, PostgreSQL 1-5),
//! which also hold what they added (a group and its member, a client's display name, an RS256
//! signing key); the one before groups (SQLite 1-3, PostgreSQL 1-2); and the one before
//! sessions were tied to tokens (SQLite 1-2, PostgreSQL 1).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::backend::{Backend, Database};
use common::oneshot::*;
use common::{PASSWORD, REDIRECT, state_with_clock};
use gatehouse::auth::passwords::Passwords;
use gatehouse::clock::FixedClock;
use gatehouse::model::{
    ClaimOwner, ClaimsChange, CodeRequest, CustomClaims, EndedFrom, Group, NewTokens, OneTime,
    OneTimeKind, Redeemed, Rotated, UsedBefore,
};
use gatehouse::oidc::family_token::Presented;
use gatehouse::oidc::tokens;
use gatehouse::store;
use onewriter::rusqlite::params;

/// What the previous release stored, by value: secrets in the clear here, hashed in the rows.
struct Old {
    user_id: &'static str,
    password_hash: String,
    client_secret: String,
    /// Its RS256 key (stored by the previous release only; the earlier ones had none yet).
    key: gatehouse::model::SigningKey,
    /// Of `KEPT_FAMILY`, where refresh tokens name their family: the token a rotation replaced
    /// a moment before the upgrade, whose answer is kept for a retry, and its successor.
    rotated: String,
    current: String,
}

const SESSION: &str = "old-session-secret";
const REFRESH: &str = "old-refresh-token";
const ACCESS: &str = "old-access-token";
/// The one token of a family of its own: an access token, no refresh token.
const ACCESS_ONLY: &str = "old-access-token-alone";
const CODE: &str = "old-unused-code";
/// How old the previous release's record of a token issued is: 40 days.
const OLD_RECORD_AGE: i64 = 40 * 86_400;
/// The key of refresh tokens that name their family (`oidc::family_token`), as a release that
/// had them stored it.
const FAMILY_SECRET: [u8; 32] = [7; 32];
/// The family whose last rotation's answer is kept.
const KEPT_FAMILY: &str = "family-2";
/// That answer, sealed (the store keeps it as it is given).
const KEPT_ANSWER: &[u8] = b"old-sealed-answer";
/// A username new accounts can no longer have (a `/`), and its owner's id.
const OLD_NAME: &str = "ops/bot";
const OLD_NAMED_ID: &str = "fedcba9876543210fedcba9876543210";
/// The secret of a sign-up link the previous release made, used once.
const OLD_SIGNUP_LINK: &str = "old-signup-link-secret";
/// A passkey ceremony in progress on the account page when the previous release stopped.
const OLD_CEREMONY: &str = "old-passkey-ceremony";

/// A security notice to Ada that a sender of the previous release had claimed and not yet
/// sent when it stopped (its lease ends at ?4), in the columns every release with notices has.
const OLD_NOTICE: &str = "INSERT INTO security_notice
      (user_id, kind, recipient, detail, ip, created_at, expires_at, attempts, next_attempt_at)
    VALUES (?1, 'password_set', 'ada@example.com', NULL, '198.51.100.9', ?2, ?3, 1, ?4)";

async fn old() -> Old {
    let family_key = gatehouse::oidc::family_token::FamilyKey::new(&FAMILY_SECRET);
    Old {
        rotated: family_key.mint(KEPT_FAMILY, None),
        current: family_key.mint(KEPT_FAMILY, None),
        user_id: "0123456789abcdef0123456789abcdef",
        password_hash: Passwords::new(1)
            .hash(PASSWORD.into(), vec![])
            .await
            .unwrap(),
        client_secret: tokens::generate(),
        key: gatehouse::oidc::keys::generate(gatehouse::model::SigningAlg::Rs256, T0 - 100)
            .unwrap(),
    }
}

/// The previous release's SQLite file: migrations 1 and 2, and its rows.
/// A release this one must upgrade from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReleaseBefore {
    /// Before refresh tokens were tied to their session.
    Sessions,
    /// Before groups.
    Groups,
    /// Before ES256 and EdDSA, with groups, profiles and client display.
    SigningAlgs,
    /// Before back-channel logout, with ES256 and EdDSA and the refresh retry window.
    BackchannelLogout,
    /// Before second factors, with back-channel logout, JWT access tokens and the device
    /// grant.
    SecondFactors,
    /// Before the account page's activity, with second factors and passkeys.
    AccountActivity,
    /// Before refresh tokens named their family, with the account page's activity. Its
    /// refresh tokens are rows of their own.
    FamilyTokens,
    /// Before records of tokens issued had a retention of their own, with refresh tokens that
    /// name their family (and the rows of an older release's tokens it still honours).
    TokenAuditRetention,
    /// Before PostgreSQL kept the answers for a retry in a table of their own, with records of
    /// tokens issued kept apart.
    RetryAnswersApart,
    /// Before usernames' look-alike keys were kept, with PostgreSQL's answers for a retry
    /// apart.
    LookAlikeKeys,
    /// Before mail waited in an outbox, with look-alike keys.
    MailOutbox,
    /// Before clients could authenticate with keys, with the outbox and pushed authorization
    /// requests.
    ClientKeys,
    /// Before clients could require signed request objects, with clients that authenticate
    /// with keys or require pushed requests.
    SignedRequests,
    /// Before DPoP, with clients that require signed request objects.
    Dpop,
    /// Before custom claims, with DPoP.
    CustomClaims,
    /// Before clients chose claims about the user for their access tokens, with custom
    /// claims.
    AccessTokenClaims,
    /// Before access tokens were stored in the order they are issued, with claims about the
    /// user in access tokens and PostgreSQL's clients announced.
    AccessTokenOrder,
    /// Before security notices, with access tokens stored in the order they are issued.
    SecurityNotices,
    /// Before sessions kept their browser and address, with security notices.
    SessionBrowser,
    /// Before the audit log kept the browser a person acted from, and sessions their
    /// browser's id, with sessions' browsers and addresses.
    AuditBrowser,
    /// Before clients could be given pairwise subjects, with the browser in the audit log.
    PairwiseSubjects,
    /// Before sign-up links, with pairwise subjects.
    SignupLinks,
    /// Before signing up with a passkey, with sign-up links.
    SignupPasskeys,
    /// Before applications' logos, with sign-up by passkey.
    ClientLogos,
    /// Before kept sessions ("Keep me signed in"), with applications' logos.
    KeptSessions,
    /// Before applications could require a confirmed address, with kept sessions.
    ConfirmedAddresses,
    /// Before sign-up links for addresses at some domains, with applications that require a
    /// confirmed address.
    SignupDomains,
    /// Before a security notice could outlive its account (the removal's), with sign-up links
    /// for addresses at some domains.
    RemovalNotices,
    /// Before resource indicators, with removal notices.
    ResourceIndicators,
    /// Before clients answered for APIs (introspecting the tokens issued for them): the
    /// previous release, with resource indicators.
    ApiIntrospection,
}

impl ReleaseBefore {
    /// How many of the SQLite migrations it shipped.
    fn sqlite_migrations(self) -> usize {
        match self {
            ReleaseBefore::Sessions => 2,
            ReleaseBefore::Groups => 3,
            ReleaseBefore::SigningAlgs => 6,
            ReleaseBefore::BackchannelLogout => 8,
            ReleaseBefore::SecondFactors => 11,
            ReleaseBefore::AccountActivity => 12,
            ReleaseBefore::FamilyTokens => 13,
            ReleaseBefore::TokenAuditRetention => 14,
            ReleaseBefore::RetryAnswersApart | ReleaseBefore::LookAlikeKeys => 15,
            ReleaseBefore::MailOutbox => 16,
            ReleaseBefore::ClientKeys => 17,
            ReleaseBefore::SignedRequests => 18,
            ReleaseBefore::Dpop => 19,
            ReleaseBefore::CustomClaims => 20,
            ReleaseBefore::AccessTokenClaims => 21,
            ReleaseBefore::AccessTokenOrder => 22,
            ReleaseBefore::SecurityNotices => 23,
            ReleaseBefore::SessionBrowser => 24,
            ReleaseBefore::AuditBrowser => 25,
            ReleaseBefore::PairwiseSubjects => 26,
            ReleaseBefore::SignupLinks => 27,
            ReleaseBefore::SignupPasskeys => 28,
            ReleaseBefore::ClientLogos => 29,
            ReleaseBefore::KeptSessions => 30,
            ReleaseBefore::ConfirmedAddresses => 31,
            ReleaseBefore::SignupDomains => 32,
            ReleaseBefore::RemovalNotices => 33,
            ReleaseBefore::ResourceIndicators => 34,
            ReleaseBefore::ApiIntrospection => 35,
        }
    }

    /// The newest PostgreSQL migration it shipped.
    fn postgres_version(self) -> i64 {
        match self {
            ReleaseBefore::Sessions => 1,
            ReleaseBefore::Groups => 2,
            ReleaseBefore::SigningAlgs => 5,
            ReleaseBefore::BackchannelLogout => 7,
            ReleaseBefore::SecondFactors => 10,
            ReleaseBefore::AccountActivity => 11,
            ReleaseBefore::FamilyTokens => 12,
            ReleaseBefore::TokenAuditRetention => 13,
            ReleaseBefore::RetryAnswersApart => 14,
            ReleaseBefore::LookAlikeKeys => 15,
            ReleaseBefore::MailOutbox => 16,
            ReleaseBefore::ClientKeys => 17,
            ReleaseBefore::SignedRequests => 18,
            ReleaseBefore::Dpop => 19,
            ReleaseBefore::CustomClaims => 20,
            ReleaseBefore::AccessTokenClaims => 21,
            ReleaseBefore::AccessTokenOrder => 23,
            ReleaseBefore::SecurityNotices => 24,
            ReleaseBefore::SessionBrowser => 25,
            ReleaseBefore::AuditBrowser => 26,
            ReleaseBefore::PairwiseSubjects => 27,
            ReleaseBefore::SignupLinks => 28,
            ReleaseBefore::SignupPasskeys => 29,
            ReleaseBefore::ClientLogos => 30,
            ReleaseBefore::KeptSessions => 31,
            ReleaseBefore::ConfirmedAddresses => 32,
            ReleaseBefore::SignupDomains => 33,
            ReleaseBefore::RemovalNotices => 34,
            ReleaseBefore::ResourceIndicators => 35,
            ReleaseBefore::ApiIntrospection => 36,
        }
    }

    fn has_groups(self) -> bool {
        matches!(
            self,
            ReleaseBefore::SigningAlgs
                | ReleaseBefore::BackchannelLogout
                | ReleaseBefore::SecondFactors
                | ReleaseBefore::AccountActivity
                | ReleaseBefore::FamilyTokens
                | ReleaseBefore::TokenAuditRetention
                | ReleaseBefore::RetryAnswersApart
                | ReleaseBefore::LookAlikeKeys
                | ReleaseBefore::MailOutbox
                | ReleaseBefore::ClientKeys
                | ReleaseBefore::SignedRequests
                | ReleaseBefore::Dpop
                | ReleaseBefore::CustomClaims
                | ReleaseBefore::AccessTokenClaims
                | ReleaseBefore::AccessTokenOrder
                | ReleaseBefore::SecurityNotices
                | ReleaseBefore::SessionBrowser
                | ReleaseBefore::AuditBrowser
                | ReleaseBefore::PairwiseSubjects
                | ReleaseBefore::SignupLinks
                | ReleaseBefore::SignupPasskeys
                | ReleaseBefore::ClientLogos
                | ReleaseBefore::KeptSessions
                | ReleaseBefore::ConfirmedAddresses
                | ReleaseBefore::SignupDomains
                | ReleaseBefore::RemovalNotices
                | ReleaseBefore::ResourceIndicators
                | ReleaseBefore::ApiIntrospection
        )
    }

    /// Whether it queued security notices (an earlier release's notice then waits through the
    /// upgrade).
    fn has_security_notices(self) -> bool {
        self.sqlite_migrations() >= 24
    }

    /// Whether its families kept the expiry of their last access token (it set it with each
    /// access token it issued).
    fn keeps_access_expiry(self) -> bool {
        matches!(
            self,
            ReleaseBefore::SecurityNotices
                | ReleaseBefore::SessionBrowser
                | ReleaseBefore::AuditBrowser
                | ReleaseBefore::PairwiseSubjects
                | ReleaseBefore::SignupLinks
                | ReleaseBefore::SignupPasskeys
                | ReleaseBefore::ClientLogos
                | ReleaseBefore::KeptSessions
                | ReleaseBefore::ConfirmedAddresses
                | ReleaseBefore::SignupDomains
                | ReleaseBefore::RemovalNotices
                | ReleaseBefore::ResourceIndicators
                | ReleaseBefore::ApiIntrospection
        )
    }

    /// Whether its PostgreSQL schema kept the answers for a retry in `token_retry`.
    fn keeps_retry_answers_apart(self) -> bool {
        matches!(
            self,
            ReleaseBefore::LookAlikeKeys
                | ReleaseBefore::MailOutbox
                | ReleaseBefore::ClientKeys
                | ReleaseBefore::SignedRequests
                | ReleaseBefore::Dpop
                | ReleaseBefore::CustomClaims
                | ReleaseBefore::AccessTokenClaims
                | ReleaseBefore::AccessTokenOrder
                | ReleaseBefore::SecurityNotices
                | ReleaseBefore::SessionBrowser
                | ReleaseBefore::AuditBrowser
                | ReleaseBefore::PairwiseSubjects
                | ReleaseBefore::SignupLinks
                | ReleaseBefore::SignupPasskeys
                | ReleaseBefore::ClientLogos
                | ReleaseBefore::KeptSessions
                | ReleaseBefore::ConfirmedAddresses
                | ReleaseBefore::SignupDomains
                | ReleaseBefore::RemovalNotices
                | ReleaseBefore::ResourceIndicators
                | ReleaseBefore::ApiIntrospection
        )
    }

    /// Whether its refresh tokens named their family, its family rows keeping the current
    /// token and the one before it with a kept answer.
    fn has_family_tokens(self) -> bool {
        matches!(
            self,
            ReleaseBefore::TokenAuditRetention
                | ReleaseBefore::RetryAnswersApart
                | ReleaseBefore::LookAlikeKeys
                | ReleaseBefore::MailOutbox
                | ReleaseBefore::ClientKeys
                | ReleaseBefore::SignedRequests
                | ReleaseBefore::Dpop
                | ReleaseBefore::CustomClaims
                | ReleaseBefore::AccessTokenClaims
                | ReleaseBefore::AccessTokenOrder
                | ReleaseBefore::SecurityNotices
                | ReleaseBefore::SessionBrowser
                | ReleaseBefore::AuditBrowser
                | ReleaseBefore::PairwiseSubjects
                | ReleaseBefore::SignupLinks
                | ReleaseBefore::SignupPasskeys
                | ReleaseBefore::ClientLogos
                | ReleaseBefore::KeptSessions
                | ReleaseBefore::ConfirmedAddresses
                | ReleaseBefore::SignupDomains
                | ReleaseBefore::RemovalNotices
                | ReleaseBefore::ResourceIndicators
                | ReleaseBefore::ApiIntrospection
        )
    }

    /// Whether it had sign-up links.
    fn has_signup_links(self) -> bool {
        matches!(
            self,
            ReleaseBefore::SignupPasskeys
                | ReleaseBefore::ClientLogos
                | ReleaseBefore::KeptSessions
                | ReleaseBefore::ConfirmedAddresses
                | ReleaseBefore::SignupDomains
                | ReleaseBefore::RemovalNotices
                | ReleaseBefore::ResourceIndicators
                | ReleaseBefore::ApiIntrospection
        )
    }
}

async fn previous_sqlite(db: &Database, old: &Old, release: ReleaseBefore) {
    let path = db.url.strip_prefix("sqlite://").unwrap().to_owned();
    let all: &'static [&'static str] = &[
        include_str!("../migrations/sqlite/0001_init.sql"),
        include_str!("../migrations/sqlite/0002_production.sql"),
        include_str!("../migrations/sqlite/0003_sessions_forms_keys.sql"),
        include_str!("../migrations/sqlite/0004_groups.sql"),
        include_str!("../migrations/sqlite/0005_profiles.sql"),
        include_str!("../migrations/sqlite/0006_clients.sql"),
        include_str!("../migrations/sqlite/0007_signing_algs.sql"),
        include_str!("../migrations/sqlite/0008_refresh_retry.sql"),
        include_str!("../migrations/sqlite/0009_backchannel_logout.sql"),
        include_str!("../migrations/sqlite/0010_access_token_format.sql"),
        include_str!("../migrations/sqlite/0011_device_authorization.sql"),
        include_str!("../migrations/sqlite/0012_second_factors.sql"),
        include_str!("../migrations/sqlite/0013_account_and_email.sql"),
        include_str!("../migrations/sqlite/0014_refresh_per_family.sql"),
        include_str!("../migrations/sqlite/0015_audit_by_kind.sql"),
        include_str!("../migrations/sqlite/0016_look_alike.sql"),
        include_str!("../migrations/sqlite/0017_mail_and_pushed_requests.sql"),
        include_str!("../migrations/sqlite/0018_client_keys.sql"),
        include_str!("../migrations/sqlite/0019_signed_requests.sql"),
        include_str!("../migrations/sqlite/0020_dpop.sql"),
        include_str!("../migrations/sqlite/0021_custom_claims.sql"),
        include_str!("../migrations/sqlite/0022_access_token_claims.sql"),
        include_str!("../migrations/sqlite/0023_access_tokens_in_issue_order.sql"),
        include_str!("../migrations/sqlite/0024_security_notices.sql"),
        include_str!("../migrations/sqlite/0025_session_browser.sql"),
        include_str!("../migrations/sqlite/0026_browsers_seen.sql"),
        include_str!("../migrations/sqlite/0027_pairwise_subjects.sql"),
        include_str!("../migrations/sqlite/0028_signup_links.sql"),
        include_str!("../migrations/sqlite/0029_signup_passkeys.sql"),
        include_str!("../migrations/sqlite/0030_application_logos.sql"),
        include_str!("../migrations/sqlite/0031_kept_sessions.sql"),
        include_str!("../migrations/sqlite/0032_confirmed_addresses.sql"),
        include_str!("../migrations/sqlite/0033_signup_domains.sql"),
        include_str!("../migrations/sqlite/0034_removal_notices.sql"),
        include_str!("../migrations/sqlite/0035_resource_indicators.sql"),
    ];
    let migrations = &all[..release.sqlite_migrations()];
    let file = onewriter::Db::open(&path, onewriter::Options::new().migrations(migrations))
        .await
        .unwrap();
    let (user_id, hash) = (old.user_id, old.password_hash.clone());
    let secret_hash = tokens::hash(&old.client_secret);
    file.write(move |tx| {
        tx.execute(
            "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at)
             VALUES (?1, 'Ada', 'ada@example.com', 'Ada', ?2, 0, ?3)",
            params![user_id, hash, T0 - 100],
        )?;
        tx.execute(
            "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at)
             VALUES (?1, ?2, 'bot@example.com', NULL, ?3, 0, ?4)",
            params![OLD_NAMED_ID, OLD_NAME, hash, T0 - 100],
        )?;
        tx.execute(
            "INSERT INTO client (client_id, secret_hash, redirect_uris, post_logout_redirect_uris,
               scopes, grant_types, first_party, created_at)
             VALUES ('web', ?1, ?2, '[]',
               '[\"openid\",\"profile\",\"email\",\"offline_access\"]',
               '[\"authorization_code\",\"refresh_token\"]', 1, ?3)",
            params![secret_hash, format!("[\"{REDIRECT}\"]"), T0 - 100],
        )?;
        tx.execute(
            "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at)
             VALUES (?1, ?2, ?3, ?4, ?3)",
            params![tokens::hash(SESSION), user_id, T0 - 10, T0 + 3600],
        )?;
        tx.execute(
            "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at)
             VALUES ('family-1', 'web', ?1, NULL, ?2, ?2)",
            params![user_id, T0 - 10],
        )?;
        tx.execute(
            "INSERT INTO refresh_token (token_hash, family_id, scope, created_at, expires_at)
             VALUES (?1, 'family-1', 'openid', ?2, ?3)",
            params![tokens::hash(REFRESH), T0 - 10, T0 + 86400],
        )?;
        tx.execute(
            "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at)
             VALUES (?1, 'family-1', 'openid', ?2, ?3)",
            params![tokens::hash(ACCESS), T0 - 10, T0 + 600],
        )?;
        tx.execute(
            "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at)
             VALUES ('family-3', 'web', ?1, NULL, ?2, ?2)",
            params![user_id, T0 - 10],
        )?;
        tx.execute(
            "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at)
             VALUES (?1, 'family-3', 'openid', ?2, ?3)",
            params![tokens::hash(ACCESS_ONLY), T0 - 10, T0 + 600],
        )?;
        tx.execute(
            "INSERT INTO authorization_code (code_hash, client_id, user_id, redirect_uri, scope,
               nonce, code_challenge, auth_time, expires_at)
             VALUES (?1, 'web', ?2, ?3, 'openid', NULL, NULL, ?4, ?5)",
            params![tokens::hash(CODE), user_id, REDIRECT, T0 - 10, T0 + 60],
        )?;
        tx.execute(
            "INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail)
             VALUES (?1, 'token.issued', ?2, 'Ada', 'web', NULL, 'grant=refresh_token')",
            params![T0 - OLD_RECORD_AGE, format!("user:{user_id}")],
        )
    })
    .await
    .unwrap();
    if release.has_security_notices() {
        file.write(move |tx| {
            tx.execute(OLD_NOTICE, params![user_id, T0 - 5, T0 + 86_400, T0 + 3600])
        })
        .await
        .unwrap();
    }
    if release.has_groups() {
        let key = old.key.clone();
        file.write(move |tx| {
            tx.execute(
                "INSERT INTO user_group (id, name, description, created_at)
                 VALUES ('g-ops', 'ops', 'Operations', ?1)",
                [T0 - 50],
            )?;
            tx.execute(
                "INSERT INTO group_member (group_id, user_id, added_at) VALUES ('g-ops', ?1, ?2)",
                params![user_id, T0 - 50],
            )?;
            tx.execute(
                "UPDATE client SET display_name = 'Web app' WHERE client_id = 'web'",
                [],
            )?;
            tx.execute(
                "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, signs_from)
                 VALUES (?1, 'RS256', ?2, ?3, ?4, ?4)",
                params![key.kid, key.private_der, key.public_jwk, key.created_at],
            )
        })
        .await
        .unwrap();
    }
    if release.has_family_tokens() {
        let (rotated, current) = (tokens::hash(&old.rotated), tokens::hash(&old.current));
        file.write(move |tx| {
            tx.execute(
                "INSERT INTO server_secret (name, value, created_at) VALUES (?1, ?2, ?3)",
                params![
                    gatehouse::oidc::family_token::KEY_NAME,
                    FAMILY_SECRET.to_vec(),
                    T0 - 100
                ],
            )?;
            tx.execute(
                "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at,
                   refresh_hash, refresh_scope, refresh_created_at, refresh_expires_at,
                   previous_hash, previous_scope, previous_expires_at, retry_sealed, retry_until)
                 VALUES (?1, 'web', ?2, NULL, ?3, ?3, ?4, 'openid', ?5, ?6,
                   ?7, 'openid', ?8, ?9, ?10)",
                params![
                    KEPT_FAMILY,
                    user_id,
                    T0 - 10,
                    current,
                    T0 - 2,
                    T0 + 86_400,
                    rotated,
                    T0 + 86_000,
                    KEPT_ANSWER.to_vec(),
                    T0 + 3,
                ],
            )
        })
        .await
        .unwrap();
    }
    if release.has_signup_links() {
        let user_id = old.user_id;
        file.write(move |tx| {
            tx.execute(
                "INSERT INTO signup_link (id, secret_hash, note, max_uses, uses, created_by,
                   created_at, expires_at)
                 VALUES ('old-link', ?1, 'the old team', 3, 1, 'cli', ?2, ?3)",
                params![tokens::hash(OLD_SIGNUP_LINK), T0 - 50, T0 + 86_400],
            )?;
            tx.execute(
                "INSERT INTO webauthn_challenge (id_hash, kind, user_id, state, expires_at)
                 VALUES (?1, 'register', ?2, '{}', ?3)",
                params![tokens::hash(OLD_CEREMONY), user_id, T0 + 300],
            )
        })
        .await
        .unwrap();
    }
    if release.keeps_access_expiry() {
        file.write(move |tx| {
            tx.execute(
                "UPDATE token_family SET access_expires_at = ?1
                 WHERE id IN ('family-1', 'family-3')",
                [T0 + 600],
            )
        })
        .await
        .unwrap();
    }
    file.close().await.unwrap();
}

/// An earlier release's PostgreSQL schema, and its rows.
async fn previous_postgres(db: &Database, old: &Old, release: ReleaseBefore) {
    let pool = sqlx::PgPool::connect(&db.url).await.unwrap();
    let mut migrator = sqlx::migrate::Migrator::new(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/migrations/postgres"
    )))
    .await
    .unwrap();
    migrator.migrations = migrator
        .migrations
        .iter()
        .filter(|m| m.version <= release.postgres_version())
        .cloned()
        .collect::<Vec<_>>()
        .into();
    migrator.run(&pool).await.unwrap();
    let statements: [(&str, Vec<String>); 11] = [
        (
            "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at)
             VALUES ($1, 'Ada', 'ada@example.com', 'Ada', $2, FALSE, 0)",
            vec![old.user_id.into(), old.password_hash.clone()],
        ),
        (
            "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at)
             VALUES ($1, $2, 'bot@example.com', NULL, $3, FALSE, 0)",
            vec![
                OLD_NAMED_ID.into(),
                OLD_NAME.into(),
                old.password_hash.clone(),
            ],
        ),
        (
            "INSERT INTO client (client_id, secret_hash, redirect_uris, post_logout_redirect_uris,
               scopes, grant_types, first_party, created_at)
             VALUES ('web', $1, ARRAY[$2], ARRAY[]::TEXT[],
               ARRAY['openid','profile','email','offline_access'],
               ARRAY['authorization_code','refresh_token'], TRUE, 0)",
            vec![tokens::hash(&old.client_secret), REDIRECT.into()],
        ),
        (
            "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at)
             VALUES ($1, $2, 1799999990, 1800003600, 1799999990)",
            vec![tokens::hash(SESSION), old.user_id.into()],
        ),
        (
            "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at)
             VALUES ('family-1', 'web', $1, NULL, 1799999990, 1799999990)",
            vec![old.user_id.into()],
        ),
        (
            "INSERT INTO refresh_token (token_hash, family_id, scope, created_at, expires_at)
             VALUES ($1, 'family-1', 'openid', 1799999990, 1800086400)",
            vec![tokens::hash(REFRESH)],
        ),
        (
            "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at)
             VALUES ($1, 'family-1', 'openid', 1799999990, 1800000600)",
            vec![tokens::hash(ACCESS)],
        ),
        (
            "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at)
             VALUES ('family-3', 'web', $1, NULL, 1799999990, 1799999990)",
            vec![old.user_id.into()],
        ),
        (
            "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at)
             VALUES ($1, 'family-3', 'openid', 1799999990, 1800000600)",
            vec![tokens::hash(ACCESS_ONLY)],
        ),
        (
            "INSERT INTO authorization_code (code_hash, client_id, user_id, redirect_uri, scope,
               nonce, code_challenge, auth_time, expires_at)
             VALUES ($1, 'web', $2, $3, 'openid', NULL, NULL, 1799999990, 1800000060)",
            vec![tokens::hash(CODE), old.user_id.into(), REDIRECT.into()],
        ),
        (
            "INSERT INTO audit_event (at, kind, actor, subject, client_id, ip, detail)
             VALUES (1796544000, 'token.issued', $1, 'Ada', 'web', NULL, 'grant=refresh_token')",
            vec![format!("user:{}", old.user_id)],
        ),
    ];
    assert_eq!(T0, 1_800_000_000, "the times above are written out");
    assert_eq!(T0 - OLD_RECORD_AGE, 1_796_544_000);
    for (sql, binds) in statements {
        let mut q = sqlx::query(sql);
        for b in binds {
            q = q.bind(b);
        }
        q.execute(&pool).await.unwrap();
    }
    if release.has_security_notices() {
        sqlx::query(sqlx::AssertSqlSafe(OLD_NOTICE.replace('?', "$")))
            .bind(old.user_id)
            .bind(T0 - 5)
            .bind(T0 + 86_400)
            .bind(T0 + 3600)
            .execute(&pool)
            .await
            .unwrap();
    }
    if release.has_signup_links() {
        sqlx::query(
            "INSERT INTO signup_link (id, secret_hash, note, max_uses, uses, created_by,
               created_at, expires_at)
             VALUES ('old-link', $1, 'the old team', 3, 1, 'cli', $2, $3)",
        )
        .bind(tokens::hash(OLD_SIGNUP_LINK))
        .bind(T0 - 50)
        .bind(T0 + 86_400)
        .execute(&pool)
        .await
        .unwrap();
        sqlx::query(
            "INSERT INTO webauthn_challenge (id_hash, kind, user_id, state, expires_at)
             VALUES ($1, 'register', $2, '{}', $3)",
        )
        .bind(tokens::hash(OLD_CEREMONY))
        .bind(old.user_id)
        .bind(T0 + 300)
        .execute(&pool)
        .await
        .unwrap();
    }
    if release.keeps_access_expiry() {
        sqlx::query(
            "UPDATE token_family SET access_expires_at = $1 WHERE id IN ('family-1', 'family-3')",
        )
        .bind(T0 + 600)
        .execute(&pool)
        .await
        .unwrap();
    }
    if release.has_groups() {
        for (sql, binds) in [
            (
                "INSERT INTO user_group (id, name, description, created_at)
                 VALUES ('g-ops', 'ops', 'Operations', 1799999950)",
                vec![],
            ),
            (
                "INSERT INTO group_member (group_id, user_id, added_at)
                 VALUES ('g-ops', $1, 1799999950)",
                vec![old.user_id],
            ),
            (
                "UPDATE client SET display_name = 'Web app' WHERE client_id = 'web'",
                vec![],
            ),
        ] {
            let mut q = sqlx::query(sql);
            for b in binds {
                q = q.bind(b);
            }
            q.execute(&pool).await.unwrap();
        }
        sqlx::query(
            "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, signs_from)
             VALUES ($1, 'RS256', $2, $3, $4, $4)",
        )
        .bind(&old.key.kid)
        .bind(&old.key.private_der)
        .bind(&old.key.public_jwk)
        .bind(old.key.created_at)
        .execute(&pool)
        .await
        .unwrap();
    }
    if release.has_family_tokens() {
        sqlx::query("INSERT INTO server_secret (name, value, created_at) VALUES ($1, $2, $3)")
            .bind(gatehouse::oidc::family_token::KEY_NAME)
            .bind(FAMILY_SECRET.to_vec())
            .bind(T0 - 100)
            .execute(&pool)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at,
               refresh_hash, refresh_scope, refresh_created_at, refresh_expires_at)
             VALUES ($1, 'web', $2, NULL, $3, $3, $4, 'openid', $5, $6)",
        )
        .bind(KEPT_FAMILY)
        .bind(old.user_id)
        .bind(T0 - 10)
        .bind(tokens::hash(&old.current))
        .bind(T0 - 2)
        .bind(T0 + 86_400)
        .execute(&pool)
        .await
        .unwrap();
        // The token the last rotation replaced and its kept answer: in a table of their own,
        // or in the family's row.
        let kept = if release.keeps_retry_answers_apart() {
            "INSERT INTO token_retry (family_id, previous_hash, previous_scope,
               previous_expires_at, retry_sealed, retry_until)
             VALUES ($1, $2, 'openid', $3, $4, $5)"
        } else {
            "UPDATE token_family SET previous_hash = $2, previous_scope = 'openid',
               previous_expires_at = $3, retry_sealed = $4, retry_until = $5
             WHERE id = $1"
        };
        sqlx::query(kept)
            .bind(KEPT_FAMILY)
            .bind(tokens::hash(&old.rotated))
            .bind(T0 + 86_000)
            .bind(KEPT_ANSWER)
            .bind(T0 + 3)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
}

async fn a_database_of_an_earlier_release_upgrades_in_place(
    backend: Backend,
    release: ReleaseBefore,
) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let old = old().await;
    match backend {
        Backend::Sqlite => previous_sqlite(&db, &old, release).await,
        Backend::Postgres => previous_postgres(&db, &old, release).await,
    }

    // The new version opens it: the pending migrations run, and everything still works.
    let clock = FixedClock::at(T0);
    let (state, db) = state_with_clock(db, Arc::new(clock.clone())).await;
    // Opened again (a restart, a second instance): nothing is migrated twice.
    store::open(&db.url).await.unwrap().close().await.unwrap();
    let s = state.store.as_ref();
    // A link's message waits in the outbox, for the sender to claim.
    let link = gatehouse::model::EmailToken {
        token_hash: tokens::hash("old-person-reset"),
        user_id: old.user_id.into(),
        purpose: gatehouse::model::EmailPurpose::Reset,
        email: "ada@example.com".into(),
        created_at: T0,
        expires_at: T0 + 1800,
    };
    let mail = gatehouse::model::Mail {
        to: "ada@example.com".into(),
        subject: "Reset".into(),
        body: "a link".into(),
    };
    let sent =
        gatehouse::model::AuditRecord::new(T0, gatehouse::model::AuditKind::EmailSent, "test");
    assert!(
        s.issue_email_token(link, Some(mail.clone()), sent)
            .await
            .unwrap()
    );
    let claimed = s.claim_mail(T0, 16).await.unwrap();
    assert_eq!((claimed.len(), &claimed[0].mail), (1, &mail));
    // A pushed authorization request is kept for its client, and taken once.
    s.push_request("pushed", "web", "client_id=web", T0 + 60)
        .await
        .unwrap();
    let taken = s.take_pushed_request("pushed", "web", T0).await.unwrap();
    assert_eq!(taken.as_deref(), Some("client_id=web"));
    // Its client keeps its secret, needs no pushed requests, and can be given keys' company:
    // another client that signs its assertions, each taken once.
    let web = s.client("web").await.unwrap().unwrap();
    assert_eq!(
        (
            web.auth_method().as_str(),
            web.require_pushed_authorization_requests
        ),
        ("client_secret_basic", false)
    );
    // It answers for no API: it introspects its own tokens only, as before.
    assert!(web.introspects.is_empty(), "{web:?}");
    let signing = gatehouse::oidc::keys::generate(gatehouse::model::SigningAlg::Es256, T0).unwrap();
    let new = gatehouse::admin::NewClient {
        client_id: "signed".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["profile".into()],
        jwks: Some(serde_json::json!({
            "keys": [serde_json::from_str::<serde_json::Value>(&signing.public_jwk).unwrap()]
        })),
        require_pushed_authorization_requests: true,
        ..Default::default()
    };
    let admin = gatehouse::admin::Admin::new(s, "cli", None, T0);
    admin.add_client(new).await.unwrap();
    // It may require its requests signed; the old client, with a secret and no keys, may not.
    let signed_only = gatehouse::admin::ClientPatch {
        require_signed_request_object: Some(true),
        ..Default::default()
    };
    let signed = admin
        .update_client("signed", signed_only.clone())
        .await
        .unwrap();
    assert!(signed.require_signed_request_object);
    assert!(admin.update_client("web", signed_only).await.is_err());
    // Any client may require DPoP of its token requests: an old client, with the new column's
    // default, requires none until told.
    assert!(
        !s.client("web")
            .await
            .unwrap()
            .unwrap()
            .dpop_bound_access_tokens
    );
    // Nor a confirmed address.
    assert!(
        !s.client("web")
            .await
            .unwrap()
            .unwrap()
            .require_confirmed_address
    );
    let dpop = gatehouse::admin::ClientPatch {
        dpop_bound_access_tokens: Some(true),
        ..Default::default()
    };
    assert!(
        admin
            .update_client("signed", dpop)
            .await
            .unwrap()
            .dpop_bound_access_tokens
    );
    // An old client's access tokens carry no claims about the user until it chooses some.
    assert!(
        s.client("web")
            .await
            .unwrap()
            .unwrap()
            .access_token_claims
            .is_empty()
    );
    let chosen = gatehouse::admin::ClientPatch {
        access_token_claims: Some(vec!["email".into(), "department".into()]),
        ..Default::default()
    };
    let web = admin.update_client("web", chosen).await.unwrap();
    assert_eq!(web.access_token_claims, ["email", "department"]);
    assert_eq!(s.client("web").await.unwrap().unwrap(), web);
    // An old client is given public subjects until it is made pairwise.
    assert_eq!(web.pairwise_sector, None);
    let pairwise = gatehouse::admin::ClientPatch {
        subject_type: Some(gatehouse::model::SubjectType::Pairwise),
        sector_identifier: Some("web.example".into()),
        ..Default::default()
    };
    let web = admin.update_client("web", pairwise).await.unwrap();
    assert_eq!(web.pairwise_sector.as_deref(), Some("web.example"));
    assert_eq!(s.client("web").await.unwrap().unwrap(), web);
    let public = gatehouse::admin::ClientPatch {
        subject_type: Some(gatehouse::model::SubjectType::Public),
        ..Default::default()
    };
    let web = admin.update_client("web", public).await.unwrap();
    assert_eq!(
        s.client("web").await.unwrap().unwrap().pairwise_sector,
        None
    );
    assert_eq!(web.pairwise_sector, None, "the person's id again (below)");
    // Users and groups of an earlier release carry no custom claims until given some.
    let ada = ClaimOwner::User("Ada".into());
    assert_eq!(
        admin.custom_claims(&ada).await.unwrap(),
        CustomClaims::new()
    );
    let given = CustomClaims::from([("department".to_owned(), serde_json::json!("ops"))]);
    let set = admin
        .change_custom_claims(&ada, ClaimsChange::Replace(given.clone()))
        .await
        .unwrap();
    assert_eq!(set, given);
    assert_eq!(s.claims_to_release(old.user_id).await.unwrap().own, given);
    let jti = || {
        vec![OneTime {
            kind: OneTimeKind::ClientAssertion,
            key: "jti".into(),
            kept_until: T0 + 60,
        }]
    };
    assert_eq!(s.take_once("signed", jti(), T0).await.unwrap(), Ok(()));
    assert_eq!(
        s.take_once("signed", jti(), T0).await.unwrap(),
        Err(UsedBefore(OneTimeKind::ClientAssertion))
    );
    // Its records are read with the browser no release before this one kept.
    let records = s.audit_latest(1000).await.unwrap();
    let theirs: Vec<_> = records
        .iter()
        .filter(|e| e.record.kind == gatehouse::model::AuditKind::TokenIssued)
        .collect();
    assert_eq!(theirs.len(), 1, "{records:?}");
    assert_eq!(theirs[0].record.user_agent, None);
    // Its records of tokens issued are swept by their own retention.
    assert_eq!(s.purge_token_audit(T0 - OLD_RECORD_AGE).await.unwrap(), 0);
    assert_eq!(s.purge_token_audit(T0 - 30 * 86_400).await.unwrap(), 1);
    let key = state.family_key().await.unwrap();
    if release.has_family_tokens() {
        // A retry of the rotation made a moment before the upgrade gets that rotation's answer
        // (on PostgreSQL, moved out of the family's row by the migration); cleared once its
        // window is over, the token is reuse, and its family ends.
        let rotated = Presented::new(&old.rotated, &key);
        assert_eq!(rotated.family_id.as_deref(), Some(KEPT_FAMILY));
        let again = NewTokens {
            family_id: KEPT_FAMILY.into(),
            access_token_hash: tokens::hash("a-kept"),
            access_expires_at: T0 + 600,
            refresh_token_hash: Some(tokens::hash("r-kept")),
            refresh_expires_at: T0 + 3600,
            retry: None,
            once: vec![],
        };
        let retry = async |at| {
            s.rotate_refresh_token(&rotated, "web", Default::default(), again.clone(), at, None)
                .await
                .unwrap()
                .unwrap()
        };
        let answer = Rotated::Retried {
            sealed: KEPT_ANSWER.to_vec(),
            scope: "openid".into(),
        };
        assert_eq!(retry(T0).await, answer);
        assert_eq!(retry(T0 + 1).await, answer);
        assert_eq!(s.forget_retry_answers(T0 + 2).await.unwrap(), 0);
        assert_eq!(s.forget_retry_answers(T0 + 3).await.unwrap(), 1);
        assert_eq!(
            retry(T0 + 3).await,
            Rotated::Reused {
                username: "Ada".into()
            }
        );
        let current = Presented::new(&old.current, &key);
        assert!(s.introspect(&current, T0 + 3).await.unwrap().is_none());
    }
    let (session, _) = s
        .session(&tokens::hash(SESSION), T0)
        .await
        .unwrap()
        .expect("the old session");
    // Every sign-in before second factors was made with a password; where from, no release
    // before this one kept.
    assert_eq!(session.amr, gatehouse::model::Amr::PASSWORD);
    assert_eq!((session.user_agent, session.ip), (None, None));
    assert!(!session.kept, "no earlier release kept a session");
    // A token of an earlier release is for its client: it was issued for no resource.
    let old_access = s
        .introspect(&Presented::by_hash(tokens::hash(ACCESS)), T0)
        .await
        .unwrap()
        .expect("the old access token still works");
    assert!(old_access.resources.is_empty(), "{old_access:?}");
    // The sweep keeps a family while an access token of it is valid, even one with no refresh
    // token: the upgrade gave each family the expiry of its last access token.
    s.purge_expired(T0).await.unwrap();
    let alone = Presented::by_hash(tokens::hash(ACCESS_ONLY));
    assert!(s.introspect(&alone, T0).await.unwrap().is_some());
    // The old refresh token names no family: it is found by its hash, and its successor is a
    // token of the family format, in its family.
    let legacy = Presented::new(REFRESH, &key);
    assert_eq!(legacy, Presented::by_hash(tokens::hash(REFRESH)));
    let family = s
        .refresh_token_family(&legacy.hash)
        .await
        .unwrap()
        .expect("the old token's family");
    let fresh = |family: &str, a: &str, r: &str| NewTokens {
        family_id: family.to_owned(),
        access_token_hash: tokens::hash(a),
        access_expires_at: T0 + 600,
        refresh_token_hash: Some(tokens::hash(r)),
        refresh_expires_at: T0 + 3600,
        retry: None,
        once: vec![],
    };
    let r2 = key.mint(&family, None);
    let rotated = s
        .rotate_refresh_token(
            &legacy,
            "web",
            Default::default(),
            fresh(&family, "a2", &r2),
            T0,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    let Rotated::Issued(grant) = rotated else {
        panic!("{rotated:?}")
    };
    assert_eq!(grant.amr, gatehouse::model::Amr::PASSWORD);
    assert!(
        grant.resources.is_empty(),
        "an old grant covers no resource"
    );
    let request = CodeRequest {
        client_id: "web".into(),
        redirect_uri: Some(REDIRECT.into()),
        code_verifier: None,
        dpop_jkt: None,
        resources: vec![],
    };
    let new_family = tokens::new_id();
    let r3 = key.mint(&new_family, None);
    let redeemed = s
        .redeem_authorization_code(
            &tokens::hash(CODE),
            request,
            fresh(&new_family, "a3", &r3),
            T0,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(redeemed, Redeemed::Issued(_)), "{redeemed:?}");
    // Ending the old session leaves the old families alone: they were never tied to it.
    s.end_session(&tokens::hash(SESSION), EndedFrom::ItsBrowser, T0, None)
        .await
        .unwrap();
    let active = |token: String| {
        let presented = Presented::new(&token, &key);
        async move { s.introspect(&presented, T0).await.unwrap().is_some() }
    };
    assert!(active(r2.clone()).await);
    // The old token, rotated, is still known: presented again, it is reuse, and its family's
    // current token ends with it.
    let reused = s
        .rotate_refresh_token(
            &legacy,
            "web",
            Default::default(),
            fresh(&family, "a4", "r4"),
            T0,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        reused,
        Rotated::Reused {
            username: "Ada".into()
        }
    );
    assert!(!active(r2).await);
    assert!(active(r3).await);

    // The old session cookie and a sign-in with the name as it was stored, through the pages.
    let f = Fixture {
        state,
        clock,
        secret: old.client_secret.clone(),
        db,
    };
    let r = post_login(&f, &authorize_uri("web", ""), "Ada", PASSWORD).await;
    let code = location(&r)["code"].clone();
    let tokens = json(exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await).await;
    let userinfo = Request::get("/userinfo")
        .header(
            header::AUTHORIZATION,
            format!("Bearer {}", tokens["access_token"].as_str().unwrap()),
        )
        .body(Body::empty())
        .unwrap();
    let r = send(&f, userinfo).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await["sub"], old.user_id);
    // A sign-in that asks to be kept is kept.
    let keeping = Browser {
        keep: true,
        ..Browser::default()
    };
    let r = post_login_from(&f, &authorize_uri("web", ""), "Ada", PASSWORD, keeping).await;
    assert!(location(&r).contains_key("code"));
    let sessions = f.state.store.sessions(old.user_id, T0).await.unwrap();
    assert_eq!(
        sessions.iter().filter(|s| s.kept).count(),
        1,
        "{sessions:?}"
    );
    // A name an earlier release allowed and new accounts no longer may still signs in, typed
    // in another case.
    let r = post_login(&f, &authorize_uri("web", ""), "Ops/Bot", PASSWORD).await;
    assert!(location(&r).contains_key("code"), "{:?}", location(&r));

    // The previous release's RS256 key goes on signing; the first start of this one added a
    // key for each new algorithm beside it.
    let kid = |token: &serde_json::Value| {
        let header = jsonwebtoken::decode_header(token["id_token"].as_str().unwrap()).unwrap();
        (format!("{:?}", header.alg), header.kid.unwrap())
    };
    let published: Vec<(String, String)> = f
        .state
        .store
        .signing_keys(T0)
        .await
        .unwrap()
        .into_iter()
        .map(|k| (k.alg.to_string(), k.kid))
        .collect();
    let mut algs: Vec<&str> = published.iter().map(|(alg, _)| alg.as_str()).collect();
    algs.sort_unstable();
    assert_eq!(algs, ["ES256", "EdDSA", "RS256"]);
    if release.has_groups() {
        assert_eq!(kid(&tokens), ("RS256".into(), old.key.kid.clone()));
        let web = f.state.store.client("web").await.unwrap().unwrap();
        assert_eq!(web.display_name(), "Web app");
    }

    // What the later releases added works on the upgraded database: the old user joins a
    // group (beside the one they were in, if their release had groups) ...
    let s = f.state.store.as_ref();
    s.create_group(
        Group {
            id: "g1".into(),
            name: "staff".into(),
            description: None,
            created_at: T0,
            auth_policy: Default::default(),
        },
        None,
    )
    .await
    .unwrap();
    assert!(s.add_member("staff", old.user_id, T0, None).await.unwrap());
    let groups = s.user_groups(old.user_id).await.unwrap();
    let expected: &[&str] = if release.has_groups() {
        &["ops", "staff"]
    } else {
        &["staff"]
    };
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        expected
    );
    // ... and its groups carry custom claims, released beside the user's own.
    let staff = ClaimOwner::Group("staff".into());
    let tier = CustomClaims::from([("tier".to_owned(), serde_json::json!("gold"))]);
    s.change_custom_claims(&staff, ClaimsChange::Replace(tier.clone()), None)
        .await
        .unwrap()
        .unwrap();
    let given = s.claims_to_release(old.user_id).await.unwrap();
    assert_eq!(given.groups, vec![("staff".to_owned(), tier)]);

    // No new account takes a name that looks like an old one: `ada` beside the old `Ada`
    // (whose look-alike key the new version gave it when it opened the database).
    let admin = gatehouse::admin::Admin::new(s, "cli", None, T0);
    let look_alike = gatehouse::admin::NewUser::new(
        "ada".into(),
        "another.ada@example.com".into(),
        "glacier umbrella quantum tulip".into(),
    );
    let refused = admin
        .add_user(&f.state.passwords, look_alike)
        .await
        .unwrap_err();
    assert!(refused.to_string().contains("\"Ada\""), "{refused}");

    // ... and a sign-up link puts a new person in the group the upgraded database holds,
    // refusing a name that looks like the old one's.
    let spec = gatehouse::auth::signup::LinkSpec {
        uses: 2,
        days: 1,
        note: String::new(),
        groups: vec!["staff".into()],
        domains: Vec::new(),
    };
    let (_, link) = admin.make_signup_link(spec).await.unwrap();
    let mut grace = f
        .state
        .store
        .user_by_username("Ada")
        .await
        .unwrap()
        .unwrap();
    grace.id = "new-grace".into();
    grace.username = "ADA".into();
    grace.email = "grace@example.com".into();
    let record = || {
        gatehouse::model::AuditRecord::new(T0, gatehouse::model::AuditKind::SignedUp, "user:new")
    };
    assert_eq!(
        s.sign_up(&link.secret_hash, grace.clone(), None, T0, record())
            .await
            .unwrap(),
        gatehouse::model::SignedUp::LooksLike("Ada".into())
    );
    grace.username = "grace".into();
    assert_eq!(
        s.sign_up(&link.secret_hash, grace, None, T0, record())
            .await
            .unwrap(),
        gatehouse::model::SignedUp::Done
    );
    let joined = s.user_groups("new-grace").await.unwrap();
    assert_eq!(
        joined.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["staff"]
    );
    if release.has_signup_links() {
        // The passkey ceremony the old release began is still there to finish, and the link
        // it made signs someone up with a passkey in place of a password.
        use gatehouse::model::ChallengeKind;
        let ceremony = s
            .take_challenge(&tokens::hash(OLD_CEREMONY), ChallengeKind::Register, T0)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(ceremony.user_id.as_deref(), Some(old.user_id));
        let hank = gatehouse::model::User {
            id: "new-hank".into(),
            username: "hank".into(),
            email: "hank@example.com".into(),
            password_hash: None,
            ..s.user_by_username("grace").await.unwrap().unwrap()
        };
        let passkey = gatehouse::model::StoredPasskey {
            credential_id: "hanks-key".into(),
            user_id: "new-hank".into(),
            name: "Laptop".into(),
            data: "{}".into(),
            created_at: T0,
            last_used_at: None,
        };
        let old_link = tokens::hash(OLD_SIGNUP_LINK);
        assert_eq!(
            s.sign_up(&old_link, hank, Some(passkey), T0, record())
                .await
                .unwrap(),
            gatehouse::model::SignedUp::Done
        );
        let (_, owner) = s.passkey("hanks-key").await.unwrap().unwrap();
        assert_eq!(
            (owner.username.as_str(), owner.password_hash),
            ("hank", None)
        );
        let link = s.signup_link(&old_link).await.unwrap().unwrap();
        assert_eq!((link.uses, link.note.as_str()), (2, "the old team"));
        // A link of the old release is for any address, and its accounts have no rule of
        // their own.
        assert!(link.domains.is_empty());
        assert!(s.address_rule("new-hank").await.unwrap().is_empty());
    }

    // ... and the old client is given a logo, which the server serves.
    assert!(
        admin
            .give_client_logo("web", common::PNG.to_vec())
            .await
            .unwrap()
            .changed
    );
    let logo = s.client_logo("web").await.unwrap().unwrap();
    assert_eq!(
        (logo.content_type.as_str(), logo.bytes.as_slice()),
        ("image/png", common::PNG)
    );
    let r = send(&f, get("/clients/web/logo")).await;
    assert_eq!(r.status(), StatusCode::OK);

    // ... and the old client chooses EdDSA for its ID tokens.
    let patch = gatehouse::admin::ClientPatch {
        id_token_signed_response_alg: Some(gatehouse::model::SigningAlg::EdDsa),
        ..Default::default()
    };
    admin.update_client("web", patch).await.unwrap();
    let r = post_login(&f, &authorize_uri("web", ""), "Ada", PASSWORD).await;
    let code = location(&r)["code"].clone();
    let tokens = json(exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await).await;
    let eddsa_key = published.iter().find(|(alg, _)| alg == "EdDSA").unwrap();
    assert_eq!(kid(&tokens), ("EdDSA".into(), eddsa_key.1.clone()));

    // ... and is told of logouts: a sign-in, then its session ends, and a notice waits.
    let patch = gatehouse::admin::ClientPatch {
        backchannel_logout_uri: Some(Some("https://web.example/backchannel".into())),
        ..Default::default()
    };
    admin.update_client("web", patch).await.unwrap();
    let r = post_login(&f, &authorize_uri("web", ""), "Ada", PASSWORD).await;
    let code = location(&r)["code"].clone();
    json(exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await).await;
    s.end_user_sessions(old.user_id, T0, None).await.unwrap();
    let notices = s.claim_logout_notices(T0, 10).await.unwrap();
    assert!(
        notices.iter().any(|n| n.client_id == "web"
            && n.user_id == old.user_id
            && n.uri == "https://web.example/backchannel"),
        "{notices:?}"
    );

    // ... and enrols an authenticator app, which the next sign-in asks for.
    let app = gatehouse::model::TotpFactor {
        user_id: old.user_id.into(),
        secret: vec![9; 20],
        created_at: T0,
        last_step: None,
    };
    let record =
        gatehouse::model::AuditRecord::new(T0, gatehouse::model::AuditKind::TotpEnrolled, "test")
            .subject(Some("Ada"));
    assert!(s.enrol_totp(app, vec![], record).await.unwrap());
    let r = post_login(&f, &authorize_uri("web", "&prompt=login"), "Ada", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("Two-step verification"));
    // She is told, at the address the old release kept: of the app, and of the sign-ins
    // from browsers new to her after the first one since the upgrade (which is not news: no
    // browser of hers was known before).
    use gatehouse::model::NoticeKind;
    let told = s.claim_notices(T0, 64).await.unwrap();
    let kinds: Vec<NoticeKind> = told.iter().map(|q| q.notice.kind).collect();
    assert_eq!(kinds.last(), Some(&NoticeKind::TotpAdded), "{kinds:?}");
    assert!(
        kinds[..kinds.len() - 1]
            .iter()
            .all(|k| *k == NoticeKind::NewSignIn),
        "{kinds:?}"
    );
    assert!(
        told.iter()
            .all(|q| q.notice.user_id == old.user_id && q.notice.to == "ada@example.com")
    );
    // The notice the old release's sender had claimed waited through the upgrade, and is
    // claimed again once its lease ends.
    let later = s.claim_notices(T0 + 3600, 64).await.unwrap();
    let old_notice = later
        .iter()
        .find(|q| q.notice.kind == NoticeKind::PasswordSet);
    assert_eq!(
        old_notice.map(|q| (q.username.as_str(), q.notice.ip.as_deref())),
        release
            .has_security_notices()
            .then_some(("Ada", Some("198.51.100.9"))),
        "{later:?}"
    );
    // Its mail says an administrator set her password, and not where they work from, though
    // the old release kept the address with it.
    if let Some(old_notice) = old_notice {
        let mail = gatehouse::http::notice_words(&f.state)(old_notice);
        assert!(
            mail.body.contains("an administrator set a new password"),
            "{}",
            mail.body
        );
        assert!(!mail.body.contains("198.51.100.9"), "{}", mail.body);
    }
    // ... and once her account is removed, the notices waiting for it are dropped, and she is
    // told of the removal, the notice keeping her name as the account had it.
    admin.remove_user("Ada").await.unwrap();
    let told = s.claim_notices(T0 + 7200, 64).await.unwrap();
    let [removal] = told.as_slice() else {
        panic!("only the removal is told: {told:?}");
    };
    assert_eq!(removal.notice.kind, NoticeKind::RemovedByAdministrator);
    assert_eq!(
        (removal.username.as_str(), removal.notice.to.as_str()),
        ("Ada", "ada@example.com")
    );
}

#[tokio::test]
async fn sqlite_of_the_previous_release() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::ApiIntrospection,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_previous_release() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::ApiIntrospection,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_resource_indicators() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::ResourceIndicators,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_resource_indicators() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::ResourceIndicators,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_removal_notices() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::RemovalNotices,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_removal_notices() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::RemovalNotices,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_signup_domains() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::SignupDomains,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_signup_domains() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::SignupDomains,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_confirmed_addresses() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::ConfirmedAddresses,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_confirmed_addresses() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::ConfirmedAddresses,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_kept_sessions() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::KeptSessions,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_kept_sessions() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::KeptSessions,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_application_logos() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Sqlite, ReleaseBefore::ClientLogos)
        .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_application_logos() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::ClientLogos,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_signup_passkeys() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::SignupPasskeys,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_signup_passkeys() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::SignupPasskeys,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_signup_links() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Sqlite, ReleaseBefore::SignupLinks)
        .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_signup_links() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::SignupLinks,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_pairwise_subjects() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::PairwiseSubjects,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_pairwise_subjects() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::PairwiseSubjects,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_the_audit_log_kept_browsers() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::AuditBrowser,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_the_audit_log_kept_browsers() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::AuditBrowser,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_sessions_kept_their_browser() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::SessionBrowser,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_sessions_kept_their_browser() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::SessionBrowser,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_security_notices() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::SecurityNotices,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_security_notices() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::SecurityNotices,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_access_tokens_in_issue_order() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::AccessTokenOrder,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_access_tokens_in_issue_order() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::AccessTokenOrder,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_access_token_claims() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::AccessTokenClaims,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_access_token_claims() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::AccessTokenClaims,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_custom_claims() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::CustomClaims,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_custom_claims() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::CustomClaims,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_dpop() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Sqlite, ReleaseBefore::Dpop).await;
}

#[tokio::test]
async fn postgres_of_the_release_before_dpop() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Postgres, ReleaseBefore::Dpop)
        .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_signed_requests() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::SignedRequests,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_signed_requests() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::SignedRequests,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_client_keys() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Sqlite, ReleaseBefore::ClientKeys)
        .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_client_keys() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::ClientKeys,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_the_mail_outbox() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Sqlite, ReleaseBefore::MailOutbox)
        .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_the_mail_outbox() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::MailOutbox,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_look_alike_keys() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::LookAlikeKeys,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_look_alike_keys() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::LookAlikeKeys,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_retry_answers_apart() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::RetryAnswersApart,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_records_of_tokens_issued_were_kept_apart() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::TokenAuditRetention,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_family_tokens() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::FamilyTokens,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_account_activity() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::AccountActivity,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_second_factors() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::SecondFactors,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_backchannel_logout() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Sqlite,
        ReleaseBefore::BackchannelLogout,
    )
    .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_signing_algorithms() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Sqlite, ReleaseBefore::SigningAlgs)
        .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_groups() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Sqlite, ReleaseBefore::Groups)
        .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_retry_answers_apart() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::RetryAnswersApart,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_records_of_tokens_issued_were_kept_apart() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::TokenAuditRetention,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_family_tokens() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::FamilyTokens,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_account_activity() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::AccountActivity,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_second_factors() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::SecondFactors,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_backchannel_logout() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::BackchannelLogout,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_signing_algorithms() {
    a_database_of_an_earlier_release_upgrades_in_place(
        Backend::Postgres,
        ReleaseBefore::SigningAlgs,
    )
    .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_groups() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Postgres, ReleaseBefore::Groups)
        .await;
}

#[tokio::test]
async fn sqlite_of_the_release_before_sessions() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Sqlite, ReleaseBefore::Sessions)
        .await;
}

#[tokio::test]
async fn postgres_of_the_release_before_sessions() {
    a_database_of_an_earlier_release_upgrades_in_place(Backend::Postgres, ReleaseBefore::Sessions)
        .await;
}

/// A refresh token of an earlier release is locked by its own row, not its family's: on
/// PostgreSQL a revocation of the family committed while its rotation runs finds the rotation
/// refused (`invalid_grant`), neither an error nor tokens issued in the revoked family.
#[tokio::test]
async fn on_postgres_an_old_refresh_token_racing_its_familys_revocation_is_refused() {
    use sqlx::Connection as _;
    let Some(db) = Database::fresh(Backend::Postgres).await else {
        return;
    };
    let old = old().await;
    previous_postgres(&db, &old, ReleaseBefore::RetryAnswersApart).await;
    let url = db.url.clone();
    let (state, _db) = state_with_clock(db, Arc::new(FixedClock::at(T0))).await;
    let s = state.store.clone();
    let key = state.family_key().await.unwrap();
    let legacy = Presented::new(REFRESH, &key);
    let family = s
        .refresh_token_family(&legacy.hash)
        .await
        .unwrap()
        .expect("the old token's family");

    let (mut held, holder) =
        common::backend::holding(&url, "SELECT 1 FROM token_family FOR UPDATE").await;
    let next = NewTokens {
        family_id: family.clone(),
        access_token_hash: tokens::hash("a-raced"),
        access_expires_at: T0 + 600,
        refresh_token_hash: Some(tokens::hash(&key.mint(&family, None))),
        refresh_expires_at: T0 + 3600,
        retry: None,
        once: vec![],
    };
    let store = s.clone();
    let rotation = tokio::spawn(async move {
        store
            .rotate_refresh_token(&legacy, "web", Default::default(), next, T0, None)
            .await
    });
    // Until the rotation waits for the family's row.
    let mut look = sqlx::PgConnection::connect(&url).await.unwrap();
    common::backend::until_blocked_by(&mut look, holder).await;
    sqlx::query(
        "UPDATE token_family SET revoked_at = $2, revoked_reason = 'user logged out'
         WHERE id = $1",
    )
    .bind(&family)
    .bind(T0)
    .execute(&mut held)
    .await
    .unwrap();
    sqlx::query("COMMIT").execute(&mut held).await.unwrap();

    assert_eq!(rotation.await.unwrap().unwrap(), Ok(Rotated::Invalid));
    let raced: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM access_token WHERE family_id = $1 AND token_hash = $2",
    )
    .bind(&family)
    .bind(tokens::hash("a-raced"))
    .fetch_one(&mut look)
    .await
    .unwrap();
    assert_eq!(raced, 0, "an access token was issued in the revoked family");
}
