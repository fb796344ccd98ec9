//! Clients (relying parties), as administrators register, change and remove them: checked,
//! stored, audited.

use serde::{Deserialize, Deserializer};

use super::{Admin, AdminError, PageLink, Refusal, invalid};
use crate::clock::UnixTime;
use crate::model::{
    AccessTokenFormat, AuditKind, AuthPolicy, Client, ClientDisplay, ClientKeys, ClientLogo,
    GrantType, Named, PreviousSecret, SigningAlg, SubjectType,
};
use crate::oidc::claims::ChosenFor;
use crate::oidc::{redirect, resource, scope, subject, tokens};

/// Shortest client secret accepted from an operator: with fewer than 32 characters it would not
/// be safe to store it under a fast hash like the generated ones.
pub const MIN_SECRET_LENGTH: usize = 32;

/// The longest client id.
pub const MAX_CLIENT_ID: usize = 128;

/// What a client gets when registered without `grant_types`.
pub const DEFAULT_GRANT_TYPES: &[GrantType] =
    &[GrantType::AuthorizationCode, GrantType::RefreshToken];
/// What a client may ask for when registered without `scopes`.
pub const DEFAULT_SCOPES: &[&str] = &["openid", "profile", "email", "groups", "offline_access"];

/// A client to register.
///
/// Besides each field's own rules: a public client has no secret and cannot use
/// `client_credentials`; the `admin` scope needs `client_credentials`; `authorization_code`
/// needs at least one redirect URI. Redirect URIs are absolute, without a fragment, and use
/// https, http on localhost/127.0.0.1/[::1], or a private-use scheme containing a dot
/// (`com.example.app:/callback`).
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "client_id": "wiki",
    "display_name": "Team wiki",
    "redirect_uris": ["https://wiki.example/callback"]
}))]
pub struct NewClient {
    /// 1 to 128 characters of letters, digits, `-`, `_`, `.` or `~`, at least one a letter or
    /// digit.
    #[schema(
        min_length = 1,
        max_length = 128,
        pattern = r"^[A-Za-z0-9._~-]*[A-Za-z0-9][A-Za-z0-9._~-]*$"
    )]
    pub client_id: String,
    /// Where the client receives codes (exact match); required with `authorization_code`.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Where logout may return to.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// A public client (browser or native app) has no secret and must use PKCE.
    #[serde(default)]
    pub public: bool,
    /// A first-party client skips the consent page.
    #[serde(default)]
    pub first_party: bool,
    /// Scopes the client may request; default `openid profile email groups offline_access`.
    #[serde(default)]
    #[schema(inline, value_type = Vec<ScopeName>)]
    pub scopes: Vec<String>,
    /// Grant types the client may use; default `authorization_code refresh_token`.
    #[serde(default)]
    #[schema(inline, value_type = Vec<GrantType>)]
    pub grant_types: Vec<String>,
    /// The secret to use (at least 32 characters) instead of a generated one.
    #[serde(default)]
    #[schema(min_length = 32)]
    pub secret: Option<String>,
    /// The name people see on the sign-in and consent pages (default: the client id).
    #[serde(default)]
    #[schema(max_length = 128)]
    pub display_name: Option<String>,
    /// An https URL of the application's logo.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub logo_uri: Option<String>,
    /// An https URL of the application's home page: the account page of everyone who may use
    /// the application links to it.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub home_uri: Option<String>,
    /// Which of the claims its granted scopes release go into its ID tokens (`name`, `email`,
    /// `groups`, …, or a custom claim's name); absent: all of them. `/userinfo` has them all
    /// either way.
    #[serde(default)]
    pub id_token_claims: Option<Vec<String>>,
    /// What its ID tokens are signed with (default RS256, which every client library supports).
    #[serde(default)]
    pub id_token_signed_response_alg: SigningAlg,
    /// Where the client is told, by a signed logout token, that a sign-in session it received
    /// an ID token in has ended (OpenID Connect Back-Channel Logout 1.0): an absolute http or
    /// https URL without a fragment.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub backchannel_logout_uri: Option<String>,
    /// `opaque` (the default: revoking one takes effect at once) or `jwt` (RFC 9068: resource
    /// servers check it offline, so a revoked one works until it expires).
    #[serde(default)]
    pub access_token_format: AccessTokenFormat,
    /// What a sign-in must prove to use it: `password` (the default), `two_factor` or
    /// `passkey`. The strictest of this and the person's groups' policies applies.
    #[serde(default)]
    pub auth_policy: AuthPolicy,
    /// The public keys the client signs its assertions with, as a JWK Set (`{"keys": [...]}`:
    /// 1 to 8 RSA keys of 2048 bits or more, P-256 or Ed25519 keys, each with a `kid` when
    /// there are several, none private): it then authenticates with `private_key_jwt` (RFC
    /// 7523) and has no secret.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Where the client publishes those keys instead (an https URL): fetched when an assertion
    /// needs them, again after 5 minutes, and at once (at most every 30 s) for a key not among
    /// them. It then authenticates with `private_key_jwt` and has no secret.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub jwks_uri: Option<String>,
    /// Its authorization requests must come pushed (`/par`, RFC 9126); others are refused.
    #[serde(default)]
    pub require_pushed_authorization_requests: bool,
    /// Its authorization requests must come as request objects it signed with its keys (RFC
    /// 9101); others are refused. Only for a client with `jwks` or `jwks_uri`.
    #[serde(default)]
    pub require_signed_request_object: bool,
    /// Its token requests must carry a DPoP proof (RFC 9449 §5.2), so every token it gets is
    /// bound to its key; others are refused.
    #[serde(default)]
    pub dpop_bound_access_tokens: bool,
    /// A person must have confirmed their email address (`email_verified`) before it is given
    /// anything: one who has not is asked to, at sign-in and on the device page. For an
    /// application that trusts the address without checking the claim.
    #[serde(default)]
    pub require_confirmed_address: bool,
    /// Which of the claims its granted scopes release its access tokens carry about the user
    /// (`name`, `email`, `groups`, …, or a custom claim's name): in a JWT access token (RFC
    /// 9068), and in introspection's answer for either format (RFC 7662). Default: none.
    #[serde(default)]
    pub access_token_claims: Vec<String>,
    /// The APIs its access tokens may be for (resource indicators, RFC 8707): absolute URIs
    /// without a fragment, such as `https://api.example.com/`, at most 16, which the client
    /// names with the `resource` parameter; an access token's `aud` is then the resources it is
    /// for. Default: none (its tokens are for the client itself, `aud` its id).
    #[serde(default)]
    #[schema(max_items = 16)]
    pub resources: Vec<String>,
    /// The APIs it answers for: absolute URIs, as other clients' `resources` name them, at
    /// most 16. It may introspect (RFC 7662) an access token issued to any client for one of
    /// them, which is how an API checks the opaque tokens applications send it. Only for a
    /// client with a secret or keys. Default: none (it introspects its own tokens only).
    #[serde(default)]
    #[schema(max_items = 16)]
    pub introspects: Vec<String>,
    /// `public` (the default): its `sub` for a person is the person's id, as every client's
    /// is. `pairwise` (OpenID Connect Core §8.1): an id of its sector alone, which no client
    /// of another sector can match with its own, nor with the person's id.
    #[serde(default)]
    pub subject_type: SubjectType,
    /// The sector of a client with pairwise subjects: clients of one sector see one `sub` for a
    /// person. 1 to 253 characters of letters, digits, `-`, `_`, `.` or `~`, such as the host
    /// name of the organisation's applications. Default: the one host its redirect URIs name
    /// (loopback and private-use ones aside); required when they name several, or none.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 253,
        pattern = r"^[A-Za-z0-9._~-]*[A-Za-z0-9][A-Za-z0-9._~-]*$"
    )]
    pub sector_identifier: Option<String>,
}

/// The longest display name of a client.
pub const MAX_DISPLAY_NAME: usize = 128;

/// Changes to a client; absent fields stay as they are. The client keeps its id, secret,
/// consents and tokens.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClientPatch {
    /// Replaces the redirect URIs.
    #[serde(default)]
    pub redirect_uris: Option<Vec<String>>,
    /// Replaces the post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Replaces the scopes (an empty list: the default ones).
    #[serde(default)]
    #[schema(inline, value_type = Option<Vec<ScopeName>>)]
    pub scopes: Option<Vec<String>>,
    /// Replaces the grant types (an empty list: the default ones).
    #[serde(default)]
    #[schema(inline, value_type = Option<Vec<GrantType>>)]
    pub grant_types: Option<Vec<String>>,
    #[serde(default)]
    pub first_party: Option<bool>,
    /// `null` removes it (the client id is shown).
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 128)]
    pub display_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 2048)]
    pub logo_uri: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 2048)]
    pub home_uri: Option<Option<String>>,
    /// Which scoped claims (or custom claims) go into its ID tokens; `null`: all of them
    /// again.
    #[serde(default, deserialize_with = "present_list")]
    pub id_token_claims: Option<Option<Vec<String>>>,
    /// What its ID tokens are signed with from now on; tokens signed before still verify.
    #[serde(default)]
    pub id_token_signed_response_alg: Option<SigningAlg>,
    /// `null`: it is no longer told of logouts; notices still waiting for it are not sent.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 2048)]
    pub backchannel_logout_uri: Option<Option<String>>,
    /// What its access tokens are from now on; those issued before stay as they are.
    #[serde(default)]
    pub access_token_format: Option<AccessTokenFormat>,
    /// What a sign-in must prove to use it from now on; sessions that proved less sign in again.
    #[serde(default)]
    pub auth_policy: Option<AuthPolicy>,
    /// Replaces the keys of a client that authenticates with keys (for a rollover: the new key
    /// beside the old, then the new alone), and its `jwks_uri` if it had one. Refused for a
    /// client with a secret, or a public one.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub jwks: Option<serde_json::Value>,
    /// Replaces where a client that authenticates with keys publishes them, and the keys
    /// registered with it if it had some. Refused for a client with a secret, or a public one.
    #[serde(default)]
    #[schema(max_length = 2048)]
    pub jwks_uri: Option<String>,
    /// Whether its authorization requests must come pushed from now on.
    #[serde(default)]
    pub require_pushed_authorization_requests: Option<bool>,
    /// Whether its authorization requests must come as request objects it signed from now on
    /// (only for a client with keys).
    #[serde(default)]
    pub require_signed_request_object: Option<bool>,
    /// Whether its token requests must carry a DPoP proof from now on.
    #[serde(default)]
    pub dpop_bound_access_tokens: Option<bool>,
    /// Whether a person must have confirmed their email address before it is given anything,
    /// from now on.
    #[serde(default)]
    pub require_confirmed_address: Option<bool>,
    /// Which scoped claims (or custom claims) its access tokens carry from now on; `[]`: none.
    /// Those issued before stay as they are.
    #[serde(default)]
    pub access_token_claims: Option<Vec<String>>,
    /// The APIs its access tokens may be for from now on; `[]`: none. Tokens and grants made
    /// before keep the resources they were given.
    #[serde(default)]
    #[schema(max_items = 16)]
    pub resources: Option<Vec<String>>,
    /// The APIs it answers for from now on (it introspects the access tokens issued for
    /// them); `[]`: none.
    #[serde(default)]
    #[schema(max_items = 16)]
    pub introspects: Option<Vec<String>>,
    /// Which `sub` it is given from now on. Every `sub` it was given before changes: its
    /// people are new people to it.
    #[serde(default)]
    pub subject_type: Option<SubjectType>,
    /// The sector of a client with pairwise subjects (with `subject_type`, or for one that has
    /// them already). Every `sub` it was given before changes. Without it, a client made
    /// pairwise takes the one host of its redirect URIs; a client that is pairwise already
    /// keeps its sector whatever its redirect URIs become.
    #[serde(default)]
    #[schema(
        min_length = 1,
        max_length = 253,
        pattern = r"^[A-Za-z0-9._~-]*[A-Za-z0-9][A-Za-z0-9._~-]*$"
    )]
    pub sector_identifier: Option<String>,
}

/// Like [`present`], for a list.
fn present_list<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<Vec<String>>>, D::Error> {
    Option::<Vec<String>>::deserialize(d).map(Some)
}

/// A field that is present, even as `null`: `Some(None)`; an absent one is `None`.
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// How long the secret before a rotation keeps working by default: an hour, for every
/// instance of the client to pick up the new one.
pub const DEFAULT_SECRET_OVERLAP: i64 = 3600;
/// The longest overlap of two secrets: a week.
pub const MAX_SECRET_OVERLAP: i64 = 7 * 24 * 3600;

/// A scope a client may be registered for (documentation of `NewClient::scopes`).
#[derive(utoipa::ToSchema)]
#[schema(rename_all = "snake_case")]
#[allow(dead_code)]
enum ScopeName {
    Openid,
    Groups,
    Profile,
    Email,
    OfflineAccess,
    Admin,
}

impl Admin<'_> {
    /// The client as stored, to change it: `NotFound` when there is none.
    async fn stored_client(&self, client_id: &str) -> Result<Client, AdminError> {
        let client = self.store.client_as_stored(client_id).await?;
        let client = client.ok_or_else(|| {
            crate::store::StoreError::NotFound(Named::Client(client_id.to_owned()))
        })?;
        Ok(client)
    }

    /// Changes a registered client: its id, secret, consents and tokens stay. Checked as a
    /// whole, like a registration, before anything changes; audited with the fields whose
    /// value changed (a patch that changes nothing is not audited).
    ///
    /// # Errors
    /// `Invalid` when the result does not hold together; `NotFound` when there is no such
    /// client; a store failure.
    pub async fn update_client(
        &self,
        client_id: &str,
        patch: ClientPatch,
    ) -> Result<Client, AdminError> {
        let mut client = self.stored_client(client_id).await?;
        let mut changed = Vec::new();
        let c = &mut client;
        set(
            &mut c.redirect_uris,
            patch.redirect_uris,
            "redirect_uris",
            &mut changed,
        );
        set(
            &mut c.post_logout_redirect_uris,
            patch.post_logout_redirect_uris,
            "post_logout_redirect_uris",
            &mut changed,
        );
        set(
            &mut c.scopes,
            patch.scopes.map(scopes),
            "scopes",
            &mut changed,
        );
        let grants = patch.grant_types.map(|v| grant_types(&v)).transpose()?;
        set(&mut c.grant_types, grants, "grant_types", &mut changed);
        set(
            &mut c.first_party,
            patch.first_party,
            "first_party",
            &mut changed,
        );
        let display = &mut c.display;
        for (field, slot, value) in [
            ("display_name", &mut display.name, patch.display_name),
            ("logo_uri", &mut display.logo_uri, patch.logo_uri),
            ("home_uri", &mut display.home_uri, patch.home_uri),
        ] {
            set(slot, value.map(super::profile::given), field, &mut changed);
        }
        set(
            &mut c.id_token_claims,
            patch.id_token_claims,
            "id_token_claims",
            &mut changed,
        );
        set(
            &mut c.id_token_signed_response_alg,
            patch.id_token_signed_response_alg,
            "id_token_signed_response_alg",
            &mut changed,
        );
        set(
            &mut c.backchannel_logout_uri,
            patch.backchannel_logout_uri.map(super::profile::given),
            "backchannel_logout_uri",
            &mut changed,
        );
        set(
            &mut c.access_token_format,
            patch.access_token_format,
            "access_token_format",
            &mut changed,
        );
        set(
            &mut c.auth_policy,
            patch.auth_policy,
            "auth_policy",
            &mut changed,
        );
        if patch.jwks.is_some() || patch.jwks_uri.is_some() {
            if !c.signs_with_keys() {
                return Err(invalid(Refusal::NoKeysToChange));
            }
            if patch.jwks.is_some() && patch.jwks_uri.is_some() {
                return Err(invalid(Refusal::KeysTwice));
            }
            let keys = patch.jwks.as_ref().map(client_keys).transpose()?;
            let uri = patch.jwks_uri.map(jwks_uri).transpose()?;
            // One replaces the other.
            set(&mut c.jwks, Some(keys), "jwks", &mut changed);
            set(&mut c.jwks_uri, Some(uri), "jwks_uri", &mut changed);
        }
        set(
            &mut c.require_pushed_authorization_requests,
            patch.require_pushed_authorization_requests,
            "require_pushed_authorization_requests",
            &mut changed,
        );
        set(
            &mut c.require_signed_request_object,
            patch.require_signed_request_object,
            "require_signed_request_object",
            &mut changed,
        );
        set(
            &mut c.dpop_bound_access_tokens,
            patch.dpop_bound_access_tokens,
            "dpop_bound_access_tokens",
            &mut changed,
        );
        set(
            &mut c.require_confirmed_address,
            patch.require_confirmed_address,
            "require_confirmed_address",
            &mut changed,
        );
        set(
            &mut c.access_token_claims,
            patch.access_token_claims,
            "access_token_claims",
            &mut changed,
        );
        set(
            &mut c.resources,
            patch.resources.map(each_once),
            "resources",
            &mut changed,
        );
        set(
            &mut c.introspects,
            patch.introspects.map(each_once),
            "introspects",
            &mut changed,
        );
        if patch.subject_type.is_some() || patch.sector_identifier.is_some() {
            let was = c.pairwise_sector.clone();
            let subjects = patch.subject_type.unwrap_or(c.subject_type());
            let sector = subject::sector(
                subjects,
                patch.sector_identifier.as_deref(),
                was.as_deref(),
                &c.redirect_uris,
            )
            .map_err(|p| invalid(Refusal::Sector(p)))?;
            let field = if sector.is_some() == was.is_some() {
                "sector_identifier"
            } else {
                "subject_type"
            };
            set(&mut c.pairwise_sector, Some(sector), field, &mut changed);
        }
        check_client(&client)?;
        if changed.is_empty() {
            return Ok(client);
        }
        let detail = Some(format!("fields={}", changed.join(",")));
        let record = self.record(AuditKind::ClientUpdated, client_id, Some(client_id), detail);
        self.store
            .update_client(client.clone(), Some(record))
            .await?;
        Ok(client)
    }

    /// Gives a confidential client a new, generated secret. The one before keeps working for
    /// `overlap` seconds, so every instance of the client can switch without a failed request;
    /// 0 ends it at once (a leaked secret). Returns the new secret (shown once) and when the
    /// old one stops working.
    ///
    /// # Errors
    /// `Invalid` for a public client or an overlap over a week; `NotFound` when there is no such
    /// client; a store failure.
    pub async fn rotate_client_secret(
        &self,
        client_id: &str,
        overlap: i64,
    ) -> Result<(String, UnixTime), AdminError> {
        if !(0..=MAX_SECRET_OVERLAP).contains(&overlap) {
            return Err(invalid(Refusal::Overlap));
        }
        let mut client = self.stored_client(client_id).await?;
        let Some(old) = client.secret_hash.take() else {
            return Err(invalid(if client.signs_with_keys() {
                Refusal::NoSecretWithKeys
            } else {
                Refusal::NoSecretPublic
            }));
        };
        let secret = tokens::generate();
        let until = self.now + overlap;
        client.secret_hash = Some(tokens::hash(&secret));
        client.previous_secret = (overlap > 0).then_some(PreviousSecret { hash: old, until });
        let detail = Some(format!("the previous secret works until {until}"));
        let record = self.record(
            AuditKind::ClientSecretRotated,
            client_id,
            Some(client_id),
            detail,
        );
        self.store.update_client(client, Some(record)).await?;
        Ok((secret, until))
    }

    /// Registers a client. Returns it with its secret when one was generated (shown once).
    ///
    /// # Errors
    /// `Invalid` when the registration does not hold together (see [`NewClient`]); `Conflict` when
    /// the client id is taken; a store failure.
    pub async fn add_client(&self, new: NewClient) -> Result<(Client, Option<String>), AdminError> {
        let (client, generated) = client_from(new, self.now)?;
        let id = client.client_id.as_str();
        let record = self.record(AuditKind::ClientCreated, id, Some(id), None);
        self.store
            .create_client(client.clone(), Some(record))
            .await?;
        Ok((client, generated))
    }

    /// Who a client's `sub` names, or which `sub` it knows a person by (`oidc::subject`): for a
    /// request from an application with pairwise subjects, which knows people by an id nobody
    /// else can read. Not audited: it changes nothing.
    ///
    /// # Errors
    /// `NotFound` when there is no such client, no such person, or nobody the `sub` names at
    /// that client; a store failure.
    pub async fn client_subject(
        &self,
        client_id: &str,
        who: SubjectOf,
    ) -> Result<ClientSubject, AdminError> {
        let client = self.store.client(client_id).await?.ok_or_else(|| {
            crate::store::StoreError::NotFound(Named::Client(client_id.to_owned()))
        })?;
        let secret =
            crate::store::deployment_secret(self.store, subject::KEY_NAME, self.now).await?;
        let key = subject::SubjectKey::new(&secret);
        let sector = client.pairwise_sector.as_deref();
        match who {
            SubjectOf::User(username) => {
                let user = super::find_user(self.store, &username)
                    .await?
                    .ok_or_else(|| {
                        crate::store::StoreError::NotFound(Named::User(username.clone()))
                    })?;
                Ok(ClientSubject {
                    sub: key.of(sector, &user.id).into_owned(),
                    username: user.username,
                })
            }
            SubjectOf::Sub(sub) => {
                let users = self.store.list_users().await?;
                let found = users.into_iter().find(|u| key.of(sector, &u.id) == sub);
                match found {
                    Some(u) => Ok(ClientSubject {
                        username: u.username,
                        sub,
                    }),
                    None => Err(crate::store::StoreError::NotFound(Named::UserId(sub)).into()),
                }
            }
        }
    }

    /// Gives the client a logo (the image's bytes): what the sign-in, consent, device and
    /// account pages show with its name, served by gatehouse itself. Checked as the
    /// deployment's logo is (`branding::Logo::from_bytes`); audited as a change of the client's
    /// `logo` with the image's version, unless the client had this image already.
    ///
    /// # Errors
    /// `Invalid` for an image too large or not a PNG, JPEG, WebP or SVG image; `NotFound` when
    /// there is no such client; a store failure.
    pub async fn give_client_logo(
        &self,
        client_id: &str,
        image: Vec<u8>,
    ) -> Result<GivenLogo, AdminError> {
        let logo = crate::branding::Logo::from_bytes(image)
            .map(ClientLogo::from)
            .map_err(|p| invalid(Refusal::Logo(p)))?;
        let (content_type, version) = (logo.content_type.clone(), logo.version.clone());
        let detail = format!("fields=logo version={version}");
        let changed = self.set_client_logo(client_id, Some(logo), detail).await?;
        Ok(GivenLogo {
            changed,
            content_type,
            version,
        })
    }

    /// Takes the client's logo away; audited as a change of its `logo`, unless it had none.
    /// Returns whether it had one.
    ///
    /// # Errors
    /// `NotFound` when there is no such client; a store failure.
    pub async fn remove_client_logo(&self, client_id: &str) -> Result<bool, AdminError> {
        let detail = "fields=logo removed".to_owned();
        self.set_client_logo(client_id, None, detail).await
    }

    /// Sets the client's logo (`None`: none), audited with `detail` if that changes anything.
    async fn set_client_logo(
        &self,
        client_id: &str,
        logo: Option<ClientLogo>,
        detail: String,
    ) -> Result<bool, AdminError> {
        let record = self.record(
            AuditKind::ClientUpdated,
            client_id,
            Some(client_id),
            Some(detail),
        );
        let changed = self
            .store
            .set_client_logo(client_id, logo, self.now, Some(record))
            .await?;
        Ok(changed)
    }

    /// Removes a client (its tokens go with it) and audits it.
    ///
    /// # Errors
    /// `NotFound` when there is no such client; a store failure.
    pub async fn remove_client(&self, client_id: &str) -> Result<(), AdminError> {
        let record = self.record(AuditKind::ClientRemoved, client_id, Some(client_id), None);
        self.store.remove_client(client_id, Some(record)).await?;
        Ok(())
    }
}

/// An image given as a client's logo ([`Admin::give_client_logo`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GivenLogo {
    /// Whether anything changed: false when the client had this image already.
    pub changed: bool,
    /// `image/png`, `image/jpeg`, `image/webp` or `image/svg+xml`, from its bytes.
    pub content_type: String,
    /// What pages name it by (`branding::version_of`).
    pub version: String,
}

/// Whom [`Admin::client_subject`] is asked about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SubjectOf {
    /// A person, by username: their `sub` at the client.
    User(String),
    /// A `sub` the client knows someone by: their username.
    Sub(String),
}

/// A person and the `sub` a client knows them by ([`Admin::client_subject`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct ClientSubject {
    pub username: String,
    /// Their id for a client of public subjects; one of its sector alone for a client of
    /// pairwise ones.
    pub sub: String,
}

/// Puts `value`, when given and different, into `slot`, and names `field` among those changed.
fn set<T: PartialEq>(
    slot: &mut T,
    value: Option<T>,
    field: &'static str,
    changed: &mut Vec<&'static str>,
) {
    if let Some(v) = value
        && *slot != v
    {
        *slot = v;
        changed.push(field);
    }
}

/// The grant types named (the device grant also as `device_code`), or the default when none
/// are.
fn grant_types(names: &[String]) -> Result<Vec<GrantType>, AdminError> {
    if names.is_empty() {
        return Ok(DEFAULT_GRANT_TYPES.to_vec());
    }
    names
        .iter()
        .map(|g| {
            // The device grant's registered name is a URN; its last part is what people type.
            if g == "device_code" {
                return Ok(GrantType::DeviceCode);
            }
            g.parse()
                .map_err(|_| invalid(Refusal::UnknownGrantType(g.clone())))
        })
        .collect()
}

/// Each of `values` once, in the order first named: a resource listed twice is one.
fn each_once(values: Vec<String>) -> Vec<String> {
    let mut once: Vec<String> = Vec::with_capacity(values.len());
    for v in values {
        if !once.contains(&v) {
            once.push(v);
        }
    }
    once
}

/// The scopes named, or the default when none are.
fn scopes(names: Vec<String>) -> Vec<String> {
    if names.is_empty() {
        DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
    } else {
        names
    }
}

/// The rules a client must follow, whether new or changed (see [`NewClient`]). Its id, which
/// never changes, is checked at registration only ([`check_client_id`]): a client registered
/// before a rule of ids existed can still be changed.
fn check_client(c: &Client) -> Result<(), AdminError> {
    for uri in c.redirect_uris.iter().chain(&c.post_logout_redirect_uris) {
        if let Some(problem) = redirect::registration_problem(uri) {
            return Err(invalid(Refusal::RedirectUri(uri.clone(), problem)));
        }
    }
    if let Some(s) = c
        .scopes
        .iter()
        .find(|s| !scope::SUPPORTED.contains(&s.as_str()))
    {
        return Err(invalid(Refusal::UnknownScope(s.clone())));
    }
    if c.require_signed_request_object && !c.signs_with_keys() {
        return Err(invalid(Refusal::SignedRequestsNeedKeys));
    }
    if c.allows_grant(GrantType::ClientCredentials) && c.is_public() {
        return Err(invalid(Refusal::PublicClientCredentials));
    }
    if let Some(s) = c
        .scopes
        .iter()
        .find(|s| scope::CLIENT_ONLY.contains(&s.as_str()))
        && !c.allows_grant(GrantType::ClientCredentials)
    {
        return Err(invalid(Refusal::ClientOnlyScope(s.clone())));
    }
    if c.allows_grant(GrantType::AuthorizationCode) && c.redirect_uris.is_empty() {
        return Err(invalid(Refusal::NoRedirectUri));
    }
    for (chosen_for, chosen) in [
        (
            ChosenFor::IdToken,
            c.id_token_claims.as_deref().unwrap_or_default(),
        ),
        (ChosenFor::AccessToken, &c.access_token_claims),
    ] {
        if let Some(problem) = crate::oidc::claims::chosen_claims_problem(chosen_for, chosen) {
            return Err(invalid(problem));
        }
    }
    if let Some(uri) = &c.backchannel_logout_uri
        && let Some(problem) = crate::oidc::backchannel::uri_problem(uri)
    {
        return Err(invalid(Refusal::BackchannelUri(uri.clone(), problem)));
    }
    for uri in &c.resources {
        if let Some(problem) = resource::problem(uri) {
            return Err(invalid(Refusal::Resource(uri.clone(), problem)));
        }
    }
    if c.resources.len() > resource::MOST {
        return Err(invalid(Refusal::TooManyResources));
    }
    for uri in &c.introspects {
        if let Some(problem) = resource::problem(uri) {
            return Err(invalid(Refusal::Resource(uri.clone(), problem)));
        }
    }
    if c.introspects.len() > resource::MOST {
        return Err(invalid(Refusal::TooManyIntrospected));
    }
    if !c.introspects.is_empty() && c.is_public() {
        return Err(invalid(Refusal::PublicIntrospects));
    }
    check_display(&c.display)
}

/// A display name people read on the sign-in and consent pages; URIs of a logo and a home
/// page, https (or http on the local machine).
fn check_display(d: &ClientDisplay) -> Result<(), AdminError> {
    if let Some(name) = &d.name
        && (name.chars().count() > MAX_DISPLAY_NAME
            || name
                .chars()
                .any(|c| c.is_control() || crate::text::is_invisible(c)))
    {
        return Err(invalid(Refusal::DisplayName));
    }
    for (what, uri) in [(PageLink::Logo, &d.logo_uri), (PageLink::Home, &d.home_uri)] {
        if let Some(uri) = uri {
            let local =
                |u: &url::Url| matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
            match url::Url::parse(uri) {
                Ok(u)
                    if uri.len() <= 2048
                        && (u.scheme() == "https" || (u.scheme() == "http" && local(&u))) => {}
                _ => {
                    return Err(invalid(Refusal::PageLink(what, uri.clone())));
                }
            }
        }
    }
    Ok(())
}

/// A client's keys as registered (`oidc::client_assertion::keys`).
fn client_keys(jwks: &serde_json::Value) -> Result<ClientKeys, AdminError> {
    crate::oidc::client_assertion::keys(&jwks.to_string()).map_err(invalid)
}

/// Where a client publishes its keys (`oidc::client_assertion::jwks_uri_problem`).
fn jwks_uri(uri: String) -> Result<String, AdminError> {
    let uri = uri.trim().to_owned();
    match crate::oidc::client_assertion::jwks_uri_problem(&uri) {
        None => Ok(uri),
        Some(problem) => Err(invalid(Refusal::JwksUri(uri, problem))),
    }
}

fn client_from(new: NewClient, now: UnixTime) -> Result<(Client, Option<String>), AdminError> {
    let jwks_uri = new.jwks_uri.map(jwks_uri).transpose()?;
    if new.jwks.is_some() && jwks_uri.is_some() {
        return Err(invalid(Refusal::KeysTwice));
    }
    let jwks = new.jwks.as_ref().map(client_keys).transpose()?;
    let signs = jwks.is_some() || jwks_uri.is_some();
    let (secret, generated) = match (new.public, new.secret) {
        (true, _) if signs => {
            return Err(invalid(Refusal::PublicWithKeys));
        }
        (false, Some(_)) if signs => {
            return Err(invalid(Refusal::SecretAndKeys));
        }
        (false, None) if signs => (None, None),
        (true, Some(_)) => return Err(invalid(Refusal::PublicWithSecret)),
        (true, None) => (None, None),
        (false, Some(s)) if s.chars().count() < MIN_SECRET_LENGTH => {
            return Err(invalid(Refusal::ShortSecret));
        }
        (false, Some(s)) => (Some(s), None),
        (false, None) => {
            let s = tokens::generate();
            (Some(s.clone()), Some(s))
        }
    };
    let pairwise_sector = subject::sector(
        new.subject_type,
        new.sector_identifier.as_deref(),
        None,
        &new.redirect_uris,
    )
    .map_err(|p| invalid(Refusal::Sector(p)))?;
    let client = Client {
        client_id: new.client_id,
        secret_hash: secret.as_deref().map(tokens::hash),
        redirect_uris: new.redirect_uris,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        scopes: scopes(new.scopes),
        grant_types: grant_types(&new.grant_types)?,
        first_party: new.first_party,
        created_at: now,
        display: ClientDisplay {
            name: super::profile::given(new.display_name),
            logo_uri: super::profile::given(new.logo_uri),
            home_uri: super::profile::given(new.home_uri),
        },
        previous_secret: None,
        id_token_claims: new.id_token_claims,
        id_token_signed_response_alg: new.id_token_signed_response_alg,
        backchannel_logout_uri: super::profile::given(new.backchannel_logout_uri),
        access_token_format: new.access_token_format,
        auth_policy: new.auth_policy,
        jwks,
        jwks_uri,
        require_pushed_authorization_requests: new.require_pushed_authorization_requests,
        require_signed_request_object: new.require_signed_request_object,
        dpop_bound_access_tokens: new.dpop_bound_access_tokens,
        access_token_claims: new.access_token_claims,
        pairwise_sector,
        require_confirmed_address: new.require_confirmed_address,
        resources: each_once(new.resources),
        introspects: each_once(new.introspects),
    };
    check_client_id(&client.client_id)?;
    check_client(&client)?;
    Ok((client, generated))
}

fn check_client_id(id: &str) -> Result<(), AdminError> {
    if !crate::text::is_unreserved_name(id, MAX_CLIENT_ID) {
        return Err(invalid(Refusal::ClientId));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(f: impl FnOnce(&mut NewClient)) -> NewClient {
        let mut c = NewClient {
            client_id: "app".into(),
            redirect_uris: vec!["https://app.example/cb".into()],
            ..NewClient::default()
        };
        f(&mut c);
        c
    }

    #[test]
    fn registrations_are_checked() {
        let (c, secret) = client_from(spec(|_| {}), 7).unwrap();
        assert_eq!(c.scopes, DEFAULT_SCOPES);
        assert_eq!(c.grant_types, DEFAULT_GRANT_TYPES);
        let secret = secret.expect("a generated secret");
        assert!(tokens::matches(&secret, c.secret_hash.as_deref().unwrap()));

        let (public, none) = client_from(spec(|c| c.public = true), 7).unwrap();
        assert!(public.is_public() && none.is_none());
        let (given, none) = client_from(spec(|c| c.secret = Some("s".repeat(32))), 7).unwrap();
        assert!(
            !given.is_public() && none.is_none(),
            "a given secret is not echoed"
        );

        let refused: Vec<(NewClient, &str)> = vec![
            (spec(|c| c.client_id = "has space".into()), "client id"),
            (spec(|c| c.client_id = "..".into()), "letter or digit"),
            (spec(|c| c.client_id = "a/b".into()), "client id"),
            (
                spec(|c| c.redirect_uris = vec!["https://a.example/cb#x".into()]),
                "fragment",
            ),
            (spec(|c| c.redirect_uris = vec![]), "redirect URI"),
            (spec(|c| c.scopes = vec!["root".into()]), "unknown scope"),
            (
                spec(|c| c.grant_types = vec!["password".into()]),
                "unknown grant type",
            ),
            (
                spec(|c| c.scopes = vec!["admin".into()]),
                "client_credentials",
            ),
            (
                spec(|c| {
                    c.public = true;
                    c.grant_types = vec!["client_credentials".into()];
                }),
                "public client",
            ),
            (spec(|c| c.secret = Some("short".into())), "at least 32"),
            (
                spec(|c| {
                    c.public = true;
                    c.secret = Some("s".repeat(40));
                }),
                "no secret",
            ),
        ];
        for (new, needle) in refused {
            let e = client_from(new.clone(), 7).unwrap_err().to_string();
            assert!(e.contains(needle), "{new:?}: {e}");
        }

        let (service, _) = client_from(
            spec(|c| {
                c.redirect_uris = vec![];
                c.grant_types = vec!["client_credentials".into()];
                c.scopes = vec!["admin".into()];
            }),
            7,
        )
        .unwrap();
        assert_eq!(service.scopes, ["admin"]);
    }
}
