//! How users and clients are shown outside: the admin API's bodies, and the CLI's `--json`.
//! Secrets (password hashes, client secret hashes) are never part of them.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::model::{
    AccessTokenFormat, AuthPolicy, Client, ClientAuthMethod, GrantType, SigningAlg, SubjectType,
    User,
};

/// A user, without the password hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct UserView {
    /// The subject identifier (`sub`).
    pub id: String,
    pub username: String,
    pub email: String,
    /// Whether the address is known to be the person's.
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// A BCP 47 language tag.
    pub locale: Option<String>,
    /// An https URL of a picture of the person.
    pub picture: Option<String>,
    pub disabled: bool,
    /// Whether the person has a password; without one they sign in with a passkey.
    pub has_password: bool,
    /// Unix time.
    pub created_at: i64,
    /// Unix time the profile last changed (the `updated_at` claim).
    pub updated_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            name: u.name,
            given_name: u.profile.given_name,
            family_name: u.profile.family_name,
            locale: u.profile.locale,
            picture: u.profile.picture,
            disabled: u.disabled,
            has_password: u.password_hash.is_some(),
            created_at: u.created_at,
            updated_at: u.profile.updated_at.unwrap_or(u.created_at),
        }
    }
}

/// A client, without its secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct ClientView {
    pub client_id: String,
    /// A public client has no secret.
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub first_party: bool,
    /// Unix time.
    pub created_at: i64,
    /// The name people see (the client id when none was given).
    pub display_name: String,
    pub logo_uri: Option<String>,
    pub home_uri: Option<String>,
    /// The version of the logo gatehouse serves for it (`PUT /clients/{client_id}/logo`), at
    /// `/clients/{client_id}/logo?v=VERSION` under the issuer; absent: it has none.
    #[serde(default)]
    pub logo_version: Option<String>,
    /// Unix time until which the secret before the last rotation still works, while it does.
    pub previous_secret_until: Option<i64>,
    /// Which scoped claims go into its ID tokens; absent: all of them.
    pub id_token_claims: Option<Vec<String>>,
    pub id_token_signed_response_alg: SigningAlg,
    /// Where it is told of ended sessions (back-channel logout); absent: it is not.
    pub backchannel_logout_uri: Option<String>,
    pub access_token_format: AccessTokenFormat,
    pub auth_policy: AuthPolicy,
    /// How it authenticates: with a secret, with its keys, or (a public client) not at all.
    pub token_endpoint_auth_method: ClientAuthMethod,
    /// Its public keys (a JWK Set), when it authenticates with them.
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where it publishes its keys instead, when it does.
    pub jwks_uri: Option<String>,
    /// Whether its authorization requests must come pushed (`/par`).
    pub require_pushed_authorization_requests: bool,
    /// Whether its authorization requests must come as request objects it signed.
    pub require_signed_request_object: bool,
    /// Whether its token requests must carry a DPoP proof.
    pub dpop_bound_access_tokens: bool,
    /// Whether a person must have confirmed their email address before it is given anything.
    pub require_confirmed_address: bool,
    /// Which scoped claims its access tokens carry (and introspection says); empty: none.
    pub access_token_claims: Vec<String>,
    /// The APIs its access tokens may be for (resource indicators); empty: none.
    pub resources: Vec<String>,
    /// The APIs it answers for: it introspects the access tokens issued for them; empty: none.
    pub introspects: Vec<String>,
    /// Which `sub` it is given for a person: the person's id (`public`) or one of its sector
    /// alone (`pairwise`).
    pub subject_type: SubjectType,
    /// Its sector, when its subjects are pairwise.
    pub sector_identifier: Option<String>,
}

impl ClientView {
    /// The client as the admin API and `client list --json` show it, with the version of its
    /// logo (`Directory::client_logo_version`), if it has one.
    pub fn new(c: Client, logo_version: Option<String>) -> Self {
        ClientView {
            logo_version,
            public: c.is_public(),
            subject_type: c.subject_type(),
            token_endpoint_auth_method: c.auth_method(),
            jwks: c.jwks.as_ref().map(|k| serde_json::json!(k.set())),
            jwks_uri: c.jwks_uri.clone(),
            require_pushed_authorization_requests: c.require_pushed_authorization_requests,
            require_signed_request_object: c.require_signed_request_object,
            dpop_bound_access_tokens: c.dpop_bound_access_tokens,
            require_confirmed_address: c.require_confirmed_address,
            display_name: c.display_name().to_owned(),
            logo_uri: c.display.logo_uri,
            home_uri: c.display.home_uri,
            previous_secret_until: c.previous_secret.map(|p| p.until),
            id_token_claims: c.id_token_claims,
            id_token_signed_response_alg: c.id_token_signed_response_alg,
            backchannel_logout_uri: c.backchannel_logout_uri,
            access_token_format: c.access_token_format,
            auth_policy: c.auth_policy,
            access_token_claims: c.access_token_claims,
            resources: c.resources,
            introspects: c.introspects,
            sector_identifier: c.pairwise_sector,
            client_id: c.client_id,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            scopes: c.scopes,
            grant_types: c.grant_types,
            first_party: c.first_party,
            created_at: c.created_at,
        }
    }
}
