//! Client authentication at the token, introspection, revocation, device and pushed-request
//! endpoints (RFC 6749 §2.3): `client_secret_basic`, `client_secret_post`, `private_key_jwt`
//! (RFC 7523, `oidc::client_assertion`), or `none` for a public client.

use std::sync::Arc;

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::JwkSet;

use super::AppState;
use super::error::TokenError;
use crate::model::{Client, OneTime, OneTimeKind};
use crate::oidc::error::invalid_request;
use crate::oidc::{OAuthError, client_assertion, tokens};

/// The form parameters, each at most once (RFC 6749 §3.2).
pub(super) struct Form(Vec<(String, String)>);

impl Form {
    pub(super) fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        serde_urlencoded::from_bytes(body)
            .map(Form)
            .map_err(|_| invalid_request("the body must be application/x-www-form-urlencoded"))
    }

    pub(super) fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        let mut values = self
            .0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (None, _) => Ok(None),
            (Some(v), None) => Ok(Some(v).filter(|v| !v.is_empty())),
            (Some(_), Some(_)) => Err(invalid_request(format!("the {name} parameter is repeated"))),
        }
    }

    /// Every value of a parameter that may be repeated, such as `resource` (RFC 8707 §2), in
    /// the order sent.
    pub(super) fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every parameter, in the order sent.
    pub(super) fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    pub(super) fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| invalid_request(format!("the {name} parameter is missing")))
    }
}

/// Parses the form and authenticates the client that sent it; failures are shaped for the
/// endpoint's error response (a 401 with `WWW-Authenticate` when Basic was tried). A client
/// assertion is taken now: for an endpoint that writes nothing else.
pub(super) async fn authenticated(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Client, Form), TokenError> {
    let (client, form, assertion) = authenticated_but_once(state, headers, body).await?;
    let taken = state
        .store
        .take_once(
            &client.client_id,
            assertion.into_iter().collect(),
            state.now(),
        )
        .await?;
    taken?;
    Ok((client, form))
}

/// As [`authenticated`], but the client assertion, if the client sent one, is not taken: it
/// is the caller's to take with the write the request makes (`NewTokens::once`), and to
/// refuse the request if it was taken before.
pub(super) async fn authenticated_but_once(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(Client, Form, Option<OneTime>), TokenError> {
    let basic = basic_credentials(headers);
    let basic_auth = basic.is_some();
    let with_basic = |error: OAuthError| TokenError { error, basic_auth };
    let form = Form::parse(body).map_err(with_basic)?;
    let (client, assertion) = authenticate(state, basic, &form)
        .await
        .map_err(with_basic)?;
    Ok((client, form, assertion))
}

/// RFC 6749 §2.3.1: `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
/// `Some(Err)` when the header is there but malformed.
pub(super) fn basic_credentials(
    headers: &HeaderMap,
) -> Option<Result<(String, String), OAuthError>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let malformed = || OAuthError::InvalidClient("malformed Basic authorization header".into());
    let parse = || -> Result<(String, String), OAuthError> {
        let value = value.to_str().map_err(|_| malformed())?;
        let (scheme, encoded) = value.split_once(' ').ok_or_else(malformed)?;
        if !scheme.eq_ignore_ascii_case("basic") {
            return Err(malformed());
        }
        let decoded = STANDARD.decode(encoded.trim()).map_err(|_| malformed())?;
        let decoded = String::from_utf8(decoded).map_err(|_| malformed())?;
        let (id, secret) = decoded.split_once(':').ok_or_else(malformed)?;
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        Ok((unescape(id), unescape(secret)))
    };
    Some(parse())
}

/// Client authentication: `client_secret_basic`, `client_secret_post`, `private_key_jwt`, or
/// `none` for public clients. Exactly one method per request (RFC 6749 §2.3). With
/// `private_key_jwt`, the assertion to take once.
async fn authenticate(
    state: &AppState,
    basic: Option<Result<(String, String), OAuthError>>,
    form: &Form,
) -> Result<(Client, Option<OneTime>), OAuthError> {
    let form_id = form.get("client_id")?;
    let form_secret = form.get("client_secret")?;
    match (
        form.get("client_assertion_type")?,
        form.get("client_assertion")?,
    ) {
        (None, None) => {}
        (Some(kind), Some(assertion)) => {
            if basic.is_some() || form_secret.is_some() {
                return Err(invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            let (client, assertion) = asserted(state, kind, assertion, form_id).await?;
            return Ok((client, Some(assertion)));
        }
        _ => {
            return Err(invalid_request(
                "client_assertion and client_assertion_type go together",
            ));
        }
    }
    let (client_id, secret) = match basic {
        Some(credentials) => {
            let (id, secret) = credentials?;
            if form_secret.is_some() {
                return Err(invalid_request(
                    "use one client authentication method, not two",
                ));
            }
            if form_id.is_some_and(|f| f != id) {
                return Err(invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            (id, Some(secret))
        }
        None => {
            let id = form_id.ok_or_else(|| {
                OAuthError::InvalidClient("client authentication is missing".into())
            })?;
            (id.to_owned(), form_secret.map(str::to_owned))
        }
    };
    let client = registered(state, &client_id).await?;
    if crate::oidc::client_auth::authenticates(&client, secret.as_deref(), state.now()) {
        Ok((client, None))
    } else {
        Err(failed())
    }
}

/// What every failed authentication is answered, whatever failed.
fn failed() -> OAuthError {
    OAuthError::InvalidClient("client authentication failed".into())
}

/// The client registered as `client_id`; an unknown one fails as a wrong credential does.
async fn registered(state: &AppState, client_id: &str) -> Result<Client, OAuthError> {
    state
        .store
        .client(client_id)
        .await
        .map_err(super::error::store_error)?
        .ok_or_else(failed)
}

/// `private_key_jwt`: the client the assertion names (or `client_id`, which must be the same),
/// if the assertion is good, and the assertion to take once.
async fn asserted(
    state: &AppState,
    kind: &str,
    assertion: &str,
    form_id: Option<&str>,
) -> Result<(Client, OneTime), OAuthError> {
    if kind != client_assertion::ASSERTION_TYPE {
        return Err(OAuthError::InvalidClient(format!(
            "client_assertion_type must be {}",
            client_assertion::ASSERTION_TYPE
        )));
    }
    if assertion.len() > client_assertion::MAX_ASSERTION {
        return Err(failed());
    }
    // Which client: the one named, else the assertion's subject (read before its signature is
    // verified, only to find the keys to verify it with).
    #[derive(serde::Deserialize)]
    struct Subject {
        sub: Option<String>,
    }
    let named = match form_id {
        Some(id) => id.to_owned(),
        None => jsonwebtoken::dangerous::insecure_decode_claims::<Subject>(assertion)
            .ok()
            .and_then(|s| s.sub)
            .ok_or_else(failed)?,
    };
    let client = registered(state, &named).await?;
    let now = state.now();
    let keys = keys_of(state, &client, assertion)
        .await
        .ok_or_else(failed)?;
    let audiences = client_assertion::audiences(&state.config.issuer);
    let accepted = client_assertion::verify(assertion, &client.client_id, &keys, &audiences, now)
        .map_err(|e| OAuthError::InvalidClient(e.to_string()))?;
    let assertion = OneTime {
        kind: OneTimeKind::ClientAssertion,
        key: tokens::hash(&accepted.jti),
        kept_until: accepted.kept_until,
    };
    Ok((client, assertion))
}

/// The keys to verify `jwt`, signed by `client`, with: those registered, or those it publishes
/// at its `jwks_uri`, fetched when needed. `None` for a client without keys, or whose keys
/// could not be fetched yet.
pub(super) async fn keys_of(state: &AppState, client: &Client, jwt: &str) -> Option<Arc<JwkSet>> {
    match (&client.jwks, &client.jwks_uri) {
        (Some(keys), _) => Some(keys.shared()),
        (None, Some(uri)) => {
            let kid = client_assertion::kid_of(jwt);
            state
                .client_keys
                .to_verify(uri, kid.as_deref(), state.now())
                .await
        }
        (None, None) => None,
    }
}
