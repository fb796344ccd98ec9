use serde::{Deserialize, Serialize};

use super::{AuthPolicy, SigningAlg, named};
use crate::clock::UnixTime;

named! {
    /// An OAuth grant type a client may be registered for (RFC 6749 §4).
    #[derive(utoipa::ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum GrantType ("grant type") {
        AuthorizationCode = "authorization_code",
        RefreshToken = "refresh_token",
        ClientCredentials = "client_credentials",
        /// RFC 8628: a device without a browser, approved by a person on another one.
        #[schema(rename = "urn:ietf:params:oauth:grant-type:device_code")]
        DeviceCode = "urn:ietf:params:oauth:grant-type:device_code",
    }
}

named! {
    /// What a client's access tokens are (`client add --access-token-format`).
    #[derive(Default, utoipa::ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum AccessTokenFormat ("access token format") {
        /// 256 random bits, looked up on every use: revoking it takes effect at once.
        #[default]
        Opaque = "opaque",
        /// A signed JWT (RFC 9068) a resource server can check offline, until it expires,
        /// revoked or not.
        Jwt = "jwt",
    }
}

named! {
    /// Which `sub` a client is given for a person (`subject_type`, OpenID Connect Core §8;
    /// `oidc::subject`).
    #[derive(Default, utoipa::ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum SubjectType ("subject type") {
        /// The person's id, the same for every client.
        #[default]
        Public = "public",
        /// An id of the client's sector alone, which no client of another sector can match.
        Pairwise = "pairwise",
    }
}

named! {
    /// How a client authenticates where it must (`token_endpoint_auth_method`, OpenID Connect
    /// Dynamic Client Registration §2).
    #[derive(utoipa::ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum ClientAuthMethod ("client authentication method") {
        /// With its secret, in an `Authorization: Basic` header or (`client_secret_post`) the
        /// body.
        ClientSecretBasic = "client_secret_basic",
        /// With a JWT signed by one of its keys (RFC 7523).
        PrivateKeyJwt = "private_key_jwt",
        /// A public client: with nothing.
        #[schema(rename = "none")]
        Public = "none",
    }
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
    pub grant_types: Vec<GrantType>,
    /// First-party clients skip the consent page.
    pub first_party: bool,
    pub created_at: UnixTime,
    /// What people see of it.
    pub display: ClientDisplay,
    /// The secret a rotation replaced, while it still works.
    #[serde(skip_serializing)]
    pub previous_secret: Option<PreviousSecret>,
    /// Which of the claims its granted scopes release go into its ID tokens; `None`: all of
    /// them (see `oidc::claims::for_id_token`).
    pub id_token_claims: Option<Vec<String>>,
    /// What its ID tokens are signed with (OpenID Connect Dynamic Client Registration §2);
    /// RS256 unless it asks for another.
    pub id_token_signed_response_alg: SigningAlg,
    /// Where it is told that a session it signed in to has ended (OpenID Connect Back-Channel
    /// Logout 1.0 §2.2); `None`: it is not told.
    pub backchannel_logout_uri: Option<String>,
    /// What its access tokens are: opaque unless it asks for JWTs (RFC 9068).
    pub access_token_format: AccessTokenFormat,
    /// What a sign-in must prove to use it (the strictest of this and the person's groups'
    /// applies, `auth::policy::required`).
    #[serde(default)]
    pub auth_policy: AuthPolicy,
    /// The public keys it signs its client assertions with (`private_key_jwt`, RFC 7523): a
    /// client with keys has no secret and is not public.
    #[serde(default)]
    pub jwks: Option<ClientKeys>,
    /// Where it publishes those keys instead (an https URL), fetched when needed
    /// (`remote_keys`); a client has `jwks` or `jwks_uri`, not both.
    #[serde(default)]
    pub jwks_uri: Option<String>,
    /// Whether its authorization requests must come pushed (RFC 9126 §6).
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Whether its authorization requests must come as request objects it signed (RFC 9101
    /// §10.5, `oidc::request_object`); only a client with keys can.
    #[serde(default)]
    pub require_signed_request_object: bool,
    /// Whether its token requests must carry a DPoP proof, so that every token it gets is
    /// bound to its key (RFC 9449 §5.2, `oidc::dpop`).
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// Which of the claims its granted scopes release its access tokens carry about the user:
    /// in a JWT access token, and in introspection's answer for either format (see
    /// `oidc::claims::for_access_token`). None by default.
    #[serde(default)]
    pub access_token_claims: Vec<String>,
    /// The sector of a client given pairwise subjects (`oidc::subject`): every client of one
    /// sector sees one `sub` for a person, no other client that one. `None`: the person's id.
    #[serde(default)]
    pub pairwise_sector: Option<String>,
    /// Whether a person must have confirmed their email address (`email_verified`) before it
    /// is given anything (`oidc::authorize::address_check`): for an application that
    /// trusts the address without checking the claim.
    #[serde(default)]
    pub require_confirmed_address: bool,
    /// The APIs its access tokens may be for (resource indicators, RFC 8707, `oidc::resource`):
    /// absolute URIs it names with the `resource` parameter. None by default: its tokens are
    /// then for the client itself (`aud` is its id), and a `resource` is refused.
    #[serde(default)]
    pub resources: Vec<String>,
    /// The APIs it answers for (`oidc::resource::may_introspect`): absolute URIs, as clients'
    /// resources name them. It may introspect an access token issued to any client for one of
    /// them. None by default: it introspects its own tokens only.
    #[serde(default)]
    pub introspects: Vec<String>,
}

/// A client's public keys (a JWK Set), as `oidc::client_assertion::keys` checked them: each
/// an RSA (2048 bits or more), P-256 or Ed25519 public key for signing, none private.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "jsonwebtoken::jwk::JwkSet",
    into = "jsonwebtoken::jwk::JwkSet"
)]
pub struct ClientKeys(std::sync::Arc<jsonwebtoken::jwk::JwkSet>);

impl ClientKeys {
    /// Keys that `oidc::client_assertion::keys` accepted.
    pub(crate) fn checked(keys: jsonwebtoken::jwk::JwkSet) -> ClientKeys {
        ClientKeys(std::sync::Arc::new(keys))
    }

    pub fn set(&self) -> &jsonwebtoken::jwk::JwkSet {
        &self.0
    }

    /// The keys, shared.
    pub fn shared(&self) -> std::sync::Arc<jsonwebtoken::jwk::JwkSet> {
        std::sync::Arc::clone(&self.0)
    }

    /// The JWK Set as JSON, as it is stored. A JWK Set is strings and names, which always
    /// serialize; were it to fail, `{}` would be stored, which reads back as an error, never as
    /// keys.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&*self.0).unwrap_or_else(|_| "{}".into())
    }
}

impl std::str::FromStr for ClientKeys {
    type Err = String;

    /// A JWK Set in JSON, checked (`oidc::client_assertion::keys`).
    fn from_str(json: &str) -> Result<ClientKeys, String> {
        crate::oidc::client_assertion::keys(json).map_err(|e| e.to_string())
    }
}

impl TryFrom<jsonwebtoken::jwk::JwkSet> for ClientKeys {
    type Error = String;

    fn try_from(set: jsonwebtoken::jwk::JwkSet) -> Result<ClientKeys, String> {
        let json = serde_json::to_string(&set).map_err(|e| e.to_string())?;
        json.parse()
    }
}

impl From<ClientKeys> for jsonwebtoken::jwk::JwkSet {
    fn from(keys: ClientKeys) -> Self {
        std::sync::Arc::unwrap_or_clone(keys.0)
    }
}

/// What people see of a client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientDisplay {
    /// Shown on the sign-in and consent pages instead of the client id.
    pub name: Option<String>,
    pub logo_uri: Option<String>,
    pub home_uri: Option<String>,
}

/// An application a person may open from their account page: one they may use that has a
/// home page (`Groups::applications_of`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppLink {
    pub client_id: String,
    /// Its display name, else its id.
    pub name: String,
    pub home_uri: String,
    /// The version of its logo, if it has one (`ClientLogo::version`).
    pub logo: Option<String>,
}

impl AppLink {
    /// `links` in the order people look for them: by name, whatever the case, then by id.
    pub fn in_order(mut links: Vec<AppLink>) -> Vec<AppLink> {
        links.sort_by_cached_key(|l| (l.name.to_lowercase(), l.client_id.clone()));
        links
    }
}

/// An application's logo, as an administrator gave it (`admin::Admin::give_client_logo`),
/// checked as the deployment's is (`branding::Logo::from_bytes`), and served by gatehouse at
/// `/clients/{client_id}/logo`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientLogo {
    /// `image/png`, `image/jpeg`, `image/webp` or `image/svg+xml`, from the image's first bytes.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// What names this content (`branding::version_of`): pages ask for the image with it.
    pub version: String,
}

impl ClientLogo {
    /// Whether setting `new` where the client's logo is the one of version `current` (`None`: no
    /// logo) changes anything: the same image given again, or no logo removed, is not a change,
    /// and is neither written nor audited.
    pub fn changes(current: Option<&str>, new: Option<&ClientLogo>) -> bool {
        current != new.map(|l| l.version.as_str())
    }
}

impl From<crate::branding::Logo> for ClientLogo {
    fn from(logo: crate::branding::Logo) -> Self {
        ClientLogo {
            content_type: logo.content_type.to_owned(),
            version: logo.version(),
            bytes: logo.bytes.to_vec(),
        }
    }
}

/// A client secret replaced by a rotation, accepted until `until` (the overlap in which every
/// instance of the client switches to the new one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreviousSecret {
    /// SHA-256 of the secret, hex.
    pub hash: String,
    pub until: UnixTime,
}

#[cfg(test)]
impl Client {
    /// A client for unit tests: its id, public (no secret) or confidential, and nothing else;
    /// a test sets what it needs with `Client { field, ..Client::example(..) }`.
    pub(crate) fn example(client_id: &str, public: bool) -> Client {
        Client {
            client_id: client_id.into(),
            secret_hash: (!public).then(|| "hash".into()),
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            scopes: vec![],
            grant_types: vec![],
            first_party: false,
            created_at: 0,
            display: ClientDisplay::default(),
            previous_secret: None,
            id_token_claims: None,
            id_token_signed_response_alg: SigningAlg::default(),
            backchannel_logout_uri: None,
            access_token_format: AccessTokenFormat::default(),
            auth_policy: AuthPolicy::default(),
            jwks: None,
            jwks_uri: None,
            require_pushed_authorization_requests: false,
            require_signed_request_object: false,
            dpop_bound_access_tokens: false,
            access_token_claims: vec![],
            pairwise_sector: None,
            require_confirmed_address: false,
            resources: vec![],
            introspects: vec![],
        }
    }
}

impl Client {
    /// Which `sub` it is given: pairwise when it has a sector.
    pub fn subject_type(&self) -> SubjectType {
        match self.pairwise_sector {
            Some(_) => SubjectType::Pairwise,
            None => SubjectType::Public,
        }
    }

    /// A public client has neither a secret nor keys to authenticate with.
    pub fn is_public(&self) -> bool {
        self.secret_hash.is_none() && !self.signs_with_keys()
    }

    /// Whether it authenticates with its keys, registered or published at its `jwks_uri`.
    pub fn signs_with_keys(&self) -> bool {
        self.jwks.is_some() || self.jwks_uri.is_some()
    }

    pub fn auth_method(&self) -> ClientAuthMethod {
        if self.signs_with_keys() {
            ClientAuthMethod::PrivateKeyJwt
        } else if self.secret_hash.is_some() {
            ClientAuthMethod::ClientSecretBasic
        } else {
            ClientAuthMethod::Public
        }
    }

    pub fn allows_grant(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }

    /// The name people see: the display name, else the client id.
    pub fn display_name(&self) -> &str {
        self.display.name.as_deref().unwrap_or(&self.client_id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logo_changes_only_when_its_content_does() {
        let logo = |bytes: &[u8]| ClientLogo {
            content_type: "image/svg+xml".into(),
            bytes: bytes.to_vec(),
            version: crate::branding::version_of(bytes),
        };
        let (a, b) = (logo(b"<svg/>"), logo(b"<svg />"));
        let cases = [
            (None, None, false),
            (None, Some(&a), true),
            (Some(a.version.as_str()), Some(&a), false),
            (Some(a.version.as_str()), Some(&b), true),
            (Some(a.version.as_str()), None, true),
        ];
        for (current, new, changes) in cases {
            assert_eq!(
                ClientLogo::changes(current, new),
                changes,
                "{current:?} {new:?}"
            );
        }
    }

    #[test]
    fn applications_are_listed_by_name_whatever_the_case_then_by_id() {
        let link = |client_id: &str, name: &str| AppLink {
            client_id: client_id.into(),
            name: name.into(),
            home_uri: format!("https://{client_id}.example/"),
            logo: None,
        };
        let listed = AppLink::in_order(vec![
            link("w", "wiki"),
            link("b2", "Beta"),
            link("v", "Vault"),
            link("b1", "beta"),
        ]);
        let ids: Vec<&str> = listed.iter().map(|l| l.client_id.as_str()).collect();
        assert_eq!(ids, ["b1", "b2", "v", "w"]);
    }
}
