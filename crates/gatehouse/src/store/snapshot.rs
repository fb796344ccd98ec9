//! A whole deployment as one JSON document, for `gatehouse export` and `gatehouse import`:
//! moving from SQLite to PostgreSQL (or back) keeps users with their password hashes, clients,
//! applications' logos, signing keys, consents, groups and their members, second factors (authenticator apps,
//! unused recovery codes and passkeys), sign-up links, sessions, token families with their
//! tokens, and the audit log, so the same passwords log in, tokens issued before the move still
//! verify and refresh, and sign-up links given out still work.
//!
//! Left out on purpose: authorization codes (they live a minute), failed-login counters, the
//! readiness heartbeat, and links sent by email with the mail waiting to carry them (a person
//! asks for a new one). Audit records keep their order, not their ids.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::model::{
    AccessTokenFormat, AuditRecord, AuthPolicy, Client, ClientDisplay, ClientKeys, GrantType,
    PreviousSecret, Profile, RevokeReason, Session, SigningAlg, SigningKey, SignupLink,
    StoredPasskey, TotpFactor, User,
};

/// What the `format` field must say.
pub const FORMAT: &str = "gatehouse-export";
/// The version this build writes. It reads this one and every earlier one: version 1 had no
/// groups, email verification or profiles; version 2 had RS256 keys only and no client chose
/// its ID token's algorithm; version 3 had no back-channel logout and no JWT access tokens;
/// version 4 had no second factors, no authentication policies, and every sign-in was made
/// with a password; version 5 kept every refresh token in a row of its own (each row of
/// `refresh_tokens`), and had no key of refresh tokens; version 6 had no client keys
/// (`private_key_jwt`) and no client required pushed authorization requests; version 7 had no
/// client that required signed request objects; version 8 had no client that required DPoP;
/// version 9 had no custom claims; version 10 had no client whose access tokens carried claims
/// about the user; version 11 kept no browser or address with a session; version 12 had no
/// client with pairwise subjects; version 13 had no sign-up links; version 14 had no
/// application logos; version 15 had no kept sessions; version 16 had no client that required
/// a confirmed address; version 17 had no sign-up links for addresses at some domains, and no
/// account kept such a link's rule; version 18 had no resource indicators (no client's
/// resources, and no grant, family or token for any); version 19 had no client that
/// introspected the tokens of the APIs it answers for.
pub const VERSION: u32 = 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Snapshot {
    pub format: String,
    pub version: u32,
    pub exported_at: UnixTime,
    pub users: Vec<UserRow>,
    pub clients: Vec<ClientRow>,
    pub signing_keys: Vec<KeyRow>,
    pub consents: Vec<ConsentRow>,
    /// Absent in version 1.
    #[serde(default)]
    pub groups: Vec<GroupRow>,
    /// Absent in version 1.
    #[serde(default)]
    pub group_members: Vec<MemberRow>,
    /// Users' custom claims; absent before version 10.
    #[serde(default)]
    pub user_claims: Vec<ClaimRow>,
    /// Groups' custom claims; absent before version 10.
    #[serde(default)]
    pub group_claims: Vec<ClaimRow>,
    pub sessions: Vec<SessionRow>,
    pub token_families: Vec<FamilyRow>,
    pub refresh_tokens: Vec<TokenRow>,
    pub access_tokens: Vec<TokenRow>,
    pub client_tokens: Vec<ClientTokenRow>,
    /// Which clients each session signed in to (for back-channel logout); absent before
    /// version 4.
    #[serde(default)]
    pub session_clients: Vec<SessionClientRow>,
    /// Back-channel logout notices not yet delivered; absent before version 4.
    #[serde(default)]
    pub logout_notices: Vec<NoticeRow>,
    /// Authenticator apps; absent before version 5.
    #[serde(default)]
    pub totp_factors: Vec<TotpRow>,
    /// Unused recovery codes (hashes); absent before version 5.
    #[serde(default)]
    pub recovery_codes: Vec<RecoveryCodeRow>,
    /// Passkeys (public keys and their counters); absent before version 5.
    #[serde(default)]
    pub passkeys: Vec<PasskeyRow>,
    /// Sign-up links (their secrets' hashes, so the links given out go on working); absent
    /// before version 14.
    #[serde(default)]
    pub signup_links: Vec<SignupLinkRow>,
    /// Applications' logos; absent before version 15.
    #[serde(default)]
    pub client_logos: Vec<ClientLogoRow>,
    /// The accounts that sign in to applications only with a confirmed address at some
    /// domains (those of the sign-up link that made them, or an administrator's); absent
    /// before version 18.
    #[serde(default)]
    pub address_rules: Vec<AddressRuleRow>,
    /// The key refresh tokens of the family format are authenticated with
    /// (`oidc::family_token`), base64: without it they would stop refreshing after the move.
    /// Absent before version 6, or when no such token was ever issued.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token_key: Option<String>,
    /// The key pairwise subjects are made with (`oidc::subject`), base64: without it every
    /// client with pairwise subjects would be given new ones for everybody after the move.
    /// Absent before version 13, or when none was ever made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairwise_subject_key: Option<String>,
    /// Oldest first.
    pub audit: Vec<AuditRecord>,
}

impl Snapshot {
    /// Why this document cannot be imported by this build, if it cannot.
    pub fn incompatibility(&self) -> Option<String> {
        if self.format != FORMAT {
            return Some(format!("not a gatehouse export (format {:?})", self.format));
        }
        if !(1..=VERSION).contains(&self.version) {
            return Some(format!(
                "export version {} is not supported by this gatehouse (it reads version {VERSION})",
                self.version
            ));
        }
        None
    }

    /// The applications' logos the document carries, each checked (`ClientLogoRow::logo`),
    /// with its client and when it was given.
    ///
    /// # Errors
    /// When one is not base64 of an image a logo can be.
    pub fn client_logos(
        &self,
    ) -> Result<Vec<(String, crate::model::ClientLogo, UnixTime)>, String> {
        self.client_logos
            .iter()
            .map(|row| Ok((row.client_id.clone(), row.logo()?, row.updated_at)))
            .collect()
    }

    /// The deployment's keys the document carries (`refresh_token_key`,
    /// `pairwise_subject_key`), decoded, each with its name among the store's secrets.
    ///
    /// # Errors
    /// When one is not base64 of 32 bytes.
    pub fn secrets(&self) -> Result<Vec<(&'static str, Vec<u8>)>, String> {
        let mut secrets = Vec::new();
        for (name, field, text) in [
            (
                KEPT_SECRETS[0],
                "refresh_token_key",
                &self.refresh_token_key,
            ),
            (
                KEPT_SECRETS[1],
                "pairwise_subject_key",
                &self.pairwise_subject_key,
            ),
        ] {
            let Some(text) = text else { continue };
            match STANDARD.decode(text) {
                Ok(key) if key.len() == 32 => secrets.push((name, key)),
                _ => return Err(format!("{field} is not base64 of 32 bytes")),
            }
        }
        Ok(secrets)
    }

    /// Puts the deployment's keys read from a store (by name, [`KEPT_SECRETS`]) into the
    /// document.
    pub fn keep_secrets(&mut self, secrets: &[(String, Vec<u8>)]) {
        let text = |name: &str| {
            secrets
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, key)| STANDARD.encode(key))
        };
        self.refresh_token_key = text(KEPT_SECRETS[0]);
        self.pairwise_subject_key = text(KEPT_SECRETS[1]);
    }
}

/// The deployment's secrets an export carries, by their names in the store: the key of
/// refresh tokens, and that of pairwise subjects. The others (form tokens, sealed retries,
/// DPoP nonces) protect only what lasts minutes, and a new deployment makes its own.
pub const KEPT_SECRETS: [&str; 2] = [
    crate::oidc::family_token::KEY_NAME,
    crate::oidc::subject::KEY_NAME,
];

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRow {
    pub id: String,
    pub username: String,
    pub email: String,
    pub name: Option<String>,
    /// An argon2id PHC string, or empty for a person without a password (who signs in with a
    /// passkey): a string in every version, so a release before passkey-only accounts imports
    /// such a person as one no password verifies for.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: UnixTime,
    /// Absent in version 1 (then false).
    #[serde(default)]
    pub email_verified: bool,
    /// Absent in version 1 (then empty).
    #[serde(default)]
    pub profile: Profile,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientRow {
    pub client_id: String,
    pub secret_hash: Option<String>,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub first_party: bool,
    pub created_at: UnixTime,
    /// Absent in version 1 (then none).
    #[serde(default)]
    pub display: ClientDisplay,
    /// Absent in version 1 (then none).
    #[serde(default)]
    pub previous_secret: Option<PreviousSecret>,
    /// Absent in version 1 (then all).
    #[serde(default)]
    pub id_token_claims: Option<Vec<String>>,
    /// Absent before version 3 (then RS256).
    #[serde(default)]
    pub id_token_signed_response_alg: SigningAlg,
    /// Absent before version 4 (then none).
    #[serde(default)]
    pub backchannel_logout_uri: Option<String>,
    /// Absent before version 4 (then opaque).
    #[serde(default)]
    pub access_token_format: AccessTokenFormat,
    /// Absent before version 5 (then password).
    #[serde(default)]
    pub auth_policy: AuthPolicy,
    /// Absent before version 7 (then none).
    #[serde(default)]
    pub jwks: Option<ClientKeys>,
    /// Absent before version 7 (then none).
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Absent before version 7 (then false).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Absent before version 8 (then false).
    #[serde(default)]
    pub require_signed_request_object: bool,
    /// Absent before version 9 (then false).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Absent before version 11 (then none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub access_token_claims: Vec<String>,
    /// Absent before version 13 (then public subjects).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pairwise_sector: Option<String>,
    /// Absent before version 17 (then false).
    #[serde(default)]
    pub require_confirmed_address: bool,
    /// Absent before version 19 (then none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// Absent before version 20 (then none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introspects: Vec<String>,
}

impl From<ClientRow> for Client {
    fn from(c: ClientRow) -> Self {
        Client {
            client_id: c.client_id,
            secret_hash: c.secret_hash,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            scopes: c.scopes,
            grant_types: c.grant_types,
            first_party: c.first_party,
            created_at: c.created_at,
            display: c.display,
            previous_secret: c.previous_secret,
            id_token_claims: c.id_token_claims,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
            backchannel_logout_uri: c.backchannel_logout_uri,
            access_token_format: c.access_token_format,
            auth_policy: c.auth_policy,
            jwks: c.jwks,
            jwks_uri: c.jwks_uri,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            require_signed_request_object: c.require_signed_request_object,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            access_token_claims: c.access_token_claims,
            pairwise_sector: c.pairwise_sector,
            require_confirmed_address: c.require_confirmed_address,
            resources: c.resources,
            introspects: c.introspects,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRow {
    pub kid: String,
    pub alg: SigningAlg,
    /// PKCS#8 DER, base64.
    pub private_der: String,
    pub public_jwk: String,
    pub created_at: UnixTime,
    pub retired_at: Option<UnixTime>,
    pub publish_until: Option<UnixTime>,
    /// When the key starts signing; absent in exports of versions that did not delay a new
    /// key (it signed from `created_at`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signs_from: Option<UnixTime>,
}

impl From<User> for UserRow {
    fn from(u: User) -> Self {
        UserRow {
            id: u.id,
            username: u.username,
            email: u.email,
            name: u.name,
            password_hash: u.password_hash.unwrap_or_default(),
            disabled: u.disabled,
            created_at: u.created_at,
            email_verified: u.email_verified,
            profile: u.profile,
        }
    }
}

impl From<UserRow> for User {
    fn from(u: UserRow) -> Self {
        User {
            id: u.id,
            username: u.username,
            email: u.email,
            name: u.name,
            password_hash: Some(u.password_hash).filter(|h| !h.is_empty()),
            disabled: u.disabled,
            created_at: u.created_at,
            email_verified: u.email_verified,
            profile: u.profile,
        }
    }
}

impl From<Client> for ClientRow {
    fn from(c: Client) -> Self {
        ClientRow {
            client_id: c.client_id,
            secret_hash: c.secret_hash,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            scopes: c.scopes,
            grant_types: c.grant_types,
            first_party: c.first_party,
            created_at: c.created_at,
            display: c.display,
            previous_secret: c.previous_secret,
            id_token_claims: c.id_token_claims,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
            backchannel_logout_uri: c.backchannel_logout_uri,
            access_token_format: c.access_token_format,
            auth_policy: c.auth_policy,
            jwks: c.jwks,
            jwks_uri: c.jwks_uri,
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            require_signed_request_object: c.require_signed_request_object,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            access_token_claims: c.access_token_claims,
            pairwise_sector: c.pairwise_sector,
            require_confirmed_address: c.require_confirmed_address,
            resources: c.resources,
            introspects: c.introspects,
        }
    }
}

impl From<Session> for SessionRow {
    fn from(s: Session) -> Self {
        SessionRow {
            id_hash: s.id_hash,
            user_id: s.user_id,
            auth_time: s.auth_time,
            expires_at: s.expires_at,
            last_seen_at: s.last_seen_at,
            amr: s.amr.stored(),
            user_agent: s.user_agent,
            ip: s.ip,
            kept: s.kept,
        }
    }
}

impl From<SigningKey> for KeyRow {
    fn from(k: SigningKey) -> Self {
        KeyRow {
            kid: k.kid,
            alg: k.alg,
            private_der: STANDARD.encode(&k.private_der),
            public_jwk: k.public_jwk,
            created_at: k.created_at,
            retired_at: k.retired_at,
            publish_until: k.publish_until,
            signs_from: Some(k.signs_from),
        }
    }
}

impl KeyRow {
    pub fn signs_from(&self) -> UnixTime {
        self.signs_from.unwrap_or(self.created_at)
    }

    /// The private key, decoded from base64.
    ///
    /// # Errors
    /// When `private_der` is not base64, naming the key.
    pub fn private_der(&self) -> Result<Vec<u8>, String> {
        STANDARD
            .decode(&self.private_der)
            .map_err(|e| format!("signing key {}: {e}", self.kid))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsentRow {
    pub user_id: String,
    pub client_id: String,
    pub scope: String,
    pub granted_at: UnixTime,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupRow {
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub created_at: UnixTime,
    /// Absent before version 5 (then password).
    #[serde(default)]
    pub auth_policy: AuthPolicy,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MemberRow {
    pub group_id: String,
    pub user_id: String,
    pub added_at: UnixTime,
}

/// A custom claim of the user or group `owner_id`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimRow {
    pub owner_id: String,
    pub name: String,
    pub value: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionRow {
    pub id_hash: String,
    pub user_id: String,
    pub auth_time: UnixTime,
    pub expires_at: UnixTime,
    pub last_seen_at: UnixTime,
    /// How the sign-in was made (`model::Amr::stored`); absent before version 5 (then `pwd`).
    #[serde(default = "password_amr")]
    pub amr: String,
    /// The browser and address it was signed in from; absent before version 12.
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub ip: Option<String>,
    /// Its person asked to stay signed in on their device; absent before version 16 (then not).
    #[serde(default)]
    pub kept: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyRow {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    pub created_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    pub revoked_reason: Option<RevokeReason>,
    /// The session the family ends with (no `offline_access`); absent in exports of versions
    /// that did not tie families to sessions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id_hash: Option<String>,
    /// How the sign-in it came from was made; absent before version 5 (then `pwd`).
    #[serde(default = "password_amr")]
    pub amr: String,
    /// Its current refresh token of the family format, if any; absent before version 6 (then
    /// its tokens are in `refresh_tokens`). The one before it, kept for a retry, is not
    /// exported: a retry across the move counts as reuse.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh: Option<FamilyRefreshRow>,
    /// The APIs its grant covers, separated by spaces (`oidc::resource::column`); absent
    /// before version 19 (then none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<String>,
}

/// A family's current refresh token: its hash, scope, issue time and expiry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FamilyRefreshRow {
    pub token_hash: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
}

impl FamilyRefreshRow {
    /// The row from a family's four refresh columns, when it has a token.
    pub fn from_columns(
        token_hash: Option<String>,
        scope: Option<String>,
        created_at: Option<UnixTime>,
        expires_at: Option<UnixTime>,
    ) -> Option<FamilyRefreshRow> {
        Some(FamilyRefreshRow {
            token_hash: token_hash?,
            scope: scope?,
            created_at: created_at?,
            expires_at: expires_at?,
        })
    }
}

/// What every sign-in before version 5 was made with.
fn password_amr() -> String {
    crate::model::Amr::PASSWORD.stored()
}

/// A person's authenticator app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotpRow {
    pub user_id: String,
    /// The shared secret, base64.
    pub secret: String,
    pub created_at: UnixTime,
    pub last_step: Option<i64>,
}

impl From<TotpFactor> for TotpRow {
    fn from(t: TotpFactor) -> Self {
        TotpRow {
            user_id: t.user_id,
            secret: STANDARD.encode(&t.secret),
            created_at: t.created_at,
            last_step: t.last_step,
        }
    }
}

impl TotpRow {
    /// The factor, its secret decoded from base64.
    ///
    /// # Errors
    /// When `secret` is not base64, naming the user.
    pub fn factor(&self) -> Result<TotpFactor, String> {
        Ok(TotpFactor {
            user_id: self.user_id.clone(),
            secret: STANDARD
                .decode(&self.secret)
                .map_err(|e| format!("authenticator app of user {}: {e}", self.user_id))?,
            created_at: self.created_at,
            last_step: self.last_step,
        })
    }
}

/// A sign-up link, with the ids of the groups it puts people in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupLinkRow {
    pub id: String,
    pub secret_hash: String,
    pub note: String,
    pub max_uses: u32,
    pub uses: u32,
    pub created_by: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub group_ids: Vec<String>,
    /// The address domains it is for; absent (any) before version 18.
    #[serde(default)]
    pub domains: Vec<String>,
}

/// An account's address rule: the domains it signs in to applications with a confirmed
/// address at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddressRuleRow {
    pub user_id: String,
    pub domains: Vec<String>,
}

impl SignupLinkRow {
    /// The link it keeps; its groups are `group_ids`, by id.
    pub fn link(&self) -> SignupLink {
        SignupLink {
            id: self.id.clone(),
            secret_hash: self.secret_hash.clone(),
            note: self.note.clone(),
            groups: Vec::new(),
            domains: self.domains.clone(),
            max_uses: self.max_uses,
            uses: self.uses,
            created_by: self.created_by.clone(),
            created_at: self.created_at,
            expires_at: self.expires_at,
        }
    }
}

/// An application's logo: its client, the image, and when it was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientLogoRow {
    pub client_id: String,
    /// The image's bytes, base64.
    pub image: String,
    pub updated_at: UnixTime,
}

impl ClientLogoRow {
    pub fn new(client_id: String, image: &[u8], updated_at: UnixTime) -> ClientLogoRow {
        ClientLogoRow {
            client_id,
            image: STANDARD.encode(image),
            updated_at,
        }
    }

    /// The logo it keeps, checked as any logo given is (`branding::Logo::from_bytes`): its type
    /// and version are those of its bytes.
    ///
    /// # Errors
    /// When the image is not base64, or not an image a logo can be.
    pub fn logo(&self) -> Result<crate::model::ClientLogo, String> {
        let bytes = STANDARD
            .decode(&self.image)
            .map_err(|e| format!("the logo of client {:?}: {e}", self.client_id))?;
        crate::branding::Logo::from_bytes(bytes)
            .map(crate::model::ClientLogo::from)
            .map_err(|e| format!("the logo of client {:?}: {e}", self.client_id))
    }
}

/// A passkey: its credential id, owner, name, and the WebAuthn library's state of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PasskeyRow {
    pub credential_id: String,
    pub user_id: String,
    pub name: String,
    pub data: String,
    pub created_at: UnixTime,
    pub last_used_at: Option<UnixTime>,
}

impl From<StoredPasskey> for PasskeyRow {
    fn from(p: StoredPasskey) -> Self {
        PasskeyRow {
            credential_id: p.credential_id,
            user_id: p.user_id,
            name: p.name,
            data: p.data,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

impl From<PasskeyRow> for StoredPasskey {
    fn from(p: PasskeyRow) -> Self {
        StoredPasskey {
            credential_id: p.credential_id,
            user_id: p.user_id,
            name: p.name,
            data: p.data,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// An unused recovery code: its hash only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecoveryCodeRow {
    pub user_id: String,
    pub code_hash: String,
    pub created_at: UnixTime,
}

/// A refresh token (`ended_at` = rotated) or an access token (`ended_at` = revoked).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRow {
    pub token_hash: String,
    pub family_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub ended_at: Option<UnixTime>,
    /// For an access token, the APIs it is for, separated by spaces; absent before version
    /// 19 and for a refresh token (then none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClientTokenRow {
    pub token_hash: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    pub revoked_at: Option<UnixTime>,
    /// The APIs it is for, separated by spaces; absent before version 19 (then none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SessionClientRow {
    pub session_id_hash: String,
    pub client_id: String,
}

/// A back-channel logout notice; it is retried from `next_attempt_at` after the import.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoticeRow {
    pub client_id: String,
    pub user_id: String,
    pub session_id_hash: String,
    pub jti: String,
    pub created_at: UnixTime,
    pub attempts: u32,
    pub next_attempt_at: UnixTime,
}
