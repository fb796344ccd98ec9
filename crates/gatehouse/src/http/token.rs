//! `/token` (RFC 6749 §3.2): the authorization code and refresh token grants.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use super::AppState;
use super::error::{TokenError, internal, no_store};
use crate::oidc::claims::{self, IdTokenClaims};
use crate::oidc::error::invalid_request;
use crate::oidc::{OAuthError, scope, tokens};
use crate::store::{Client, CodeRequest, Grant, NewTokens, Redeemed, Rotated};

/// The form parameters, each at most once (RFC 6749 §3.2).
struct Form(Vec<(String, String)>);

impl Form {
    fn parse(body: &[u8]) -> Result<Form, OAuthError> {
        serde_urlencoded::from_bytes(body)
            .map(Form)
            .map_err(|_| invalid_request("the body must be application/x-www-form-urlencoded"))
    }

    fn get(&self, name: &str) -> Result<Option<&str>, OAuthError> {
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

    fn require(&self, name: &str) -> Result<&str, OAuthError> {
        self.get(name)?
            .ok_or_else(|| invalid_request(format!("the {name} parameter is missing")))
    }
}

/// POST /token
pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    match grant(&state, &headers, &body).await {
        Ok(r) => r,
        Err(e) => {
            tracing::info!(
                error = e.error.code(),
                description = e.error.description(),
                "token request refused"
            );
            e.into_response()
        }
    }
}

async fn grant(state: &AppState, headers: &HeaderMap, body: &[u8]) -> Result<Response, TokenError> {
    let basic = basic_credentials(headers);
    let basic_auth = basic.is_some();
    let with_basic = |error: OAuthError| TokenError { error, basic_auth };
    let form = Form::parse(body).map_err(with_basic)?;
    let client = authenticate(state, basic, &form)
        .await
        .map_err(with_basic)?;
    match form.get("grant_type").map_err(with_basic)? {
        Some("authorization_code") => authorization_code(state, &client, &form).await,
        Some("refresh_token") => refresh_token(state, &client, &form).await,
        Some(other) => Err(OAuthError::UnsupportedGrantType(format!(
            "grant_type {other:?} is not supported"
        ))
        .into()),
        None => Err(invalid_request("the grant_type parameter is missing").into()),
    }
}

/// RFC 6749 §2.3.1: `Authorization: Basic base64(urlencode(id):urlencode(secret))`.
/// `Some(Err)` when the header is there but malformed.
fn basic_credentials(headers: &HeaderMap) -> Option<Result<(String, String), OAuthError>> {
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

/// Client authentication: `client_secret_basic`, `client_secret_post`, or `none` for public
/// clients. Exactly one method per request (RFC 6749 §2.3).
async fn authenticate(
    state: &AppState,
    basic: Option<Result<(String, String), OAuthError>>,
    form: &Form,
) -> Result<Client, OAuthError> {
    let form_id = form.get("client_id")?;
    let form_secret = form.get("client_secret")?;
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
    let unknown = || OAuthError::InvalidClient("client authentication failed".into());
    let client = state
        .store
        .client(&client_id)
        .await
        .map_err(super::error::store_error)?
        .ok_or_else(unknown)?;
    match (&client.secret_hash, secret) {
        (Some(hash), Some(secret)) if tokens::matches(&secret, hash) => Ok(client),
        (None, None) => Ok(client),
        _ => Err(unknown()),
    }
}

fn new_tokens(state: &AppState, client: &Client, now: i64) -> (String, Option<String>, NewTokens) {
    let access = tokens::generate();
    let refresh = client.allows_grant("refresh_token").then(tokens::generate);
    let stored = NewTokens {
        access_token_hash: tokens::hash(&access),
        access_expires_at: now + state.config.access_token_ttl,
        refresh_token_hash: refresh.as_deref().map(tokens::hash),
        refresh_expires_at: now + state.config.refresh_token_ttl,
    };
    (access, refresh, stored)
}

async fn authorization_code(
    state: &AppState,
    client: &Client,
    form: &Form,
) -> Result<Response, TokenError> {
    if !client.allows_grant("authorization_code") {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the authorization_code grant".into(),
        )
        .into());
    }
    let code = form.require("code")?;
    let request = CodeRequest {
        client_id: client.client_id.clone(),
        redirect_uri: form.get("redirect_uri")?.map(str::to_owned),
        code_verifier: form.get("code_verifier")?.map(str::to_owned),
    };
    let now = state.now();
    let (access, refresh, stored) = new_tokens(state, client, now);
    // The code is consumed and the tokens stored in one transaction, before any token leaves.
    match state.store.redeem_authorization_code(&tokens::hash(code), request, stored, now).await? {
        Redeemed::Issued(grant) => {
            let id_token = if scope::contains(&grant.scope, "openid") {
                Some(id_token(state, &grant, &access, now).await?)
            } else {
                None
            };
            Ok(respond(state, &grant, access, refresh, id_token))
        }
        Redeemed::Invalid => Err(OAuthError::InvalidGrant(
            "the code is invalid, expired, or does not match this client, redirect_uri or code_verifier".into(),
        )
        .into()),
        Redeemed::Replayed => {
            tracing::warn!(client_id = %client.client_id, "authorization code replayed; its tokens are revoked");
            Err(OAuthError::InvalidGrant("the code was already used; the tokens issued with it are revoked".into()).into())
        }
    }
}

async fn refresh_token(
    state: &AppState,
    client: &Client,
    form: &Form,
) -> Result<Response, TokenError> {
    if !client.allows_grant("refresh_token") {
        return Err(OAuthError::UnauthorizedClient(
            "this client may not use the refresh_token grant".into(),
        )
        .into());
    }
    let presented = form.require("refresh_token")?;
    let requested = form.get("scope")?.map(str::to_owned);
    if requested
        .as_deref()
        .is_some_and(|s| !scope::is_valid_syntax(s))
    {
        return Err(OAuthError::InvalidScope("the scope parameter is malformed".into()).into());
    }
    let now = state.now();
    let (access, refresh, stored) = new_tokens(state, client, now);
    match state
        .store
        .rotate_refresh_token(
            &tokens::hash(presented),
            &client.client_id,
            requested,
            stored,
            now,
        )
        .await?
    {
        // OpenID Connect Core §12.2 lets a refresh response omit the ID token: no signature
        // is spent on it.
        Rotated::Issued(grant) => Ok(respond(state, &grant, access, refresh, None)),
        Rotated::Invalid => Err(OAuthError::InvalidGrant(
            "the refresh token is invalid, expired or revoked".into(),
        )
        .into()),
        Rotated::ScopeExceeded => Err(OAuthError::InvalidScope(
            "the requested scope exceeds the granted scope".into(),
        )
        .into()),
        Rotated::Reused => {
            tracing::warn!(client_id = %client.client_id, "refresh token reused; its family is revoked");
            Err(OAuthError::InvalidGrant(
                "the refresh token was already used; its family is revoked".into(),
            )
            .into())
        }
    }
}

async fn id_token(
    state: &AppState,
    grant: &Grant,
    access: &str,
    now: i64,
) -> Result<String, TokenError> {
    let claims = IdTokenClaims {
        iss: state.config.issuer.clone(),
        sub: grant.user.id.clone(),
        aud: grant.client_id.clone(),
        exp: now + state.config.id_token_ttl,
        iat: now,
        auth_time: grant.auth_time,
        nonce: grant.nonce.clone(),
        at_hash: Some(claims::at_hash(access)),
    };
    let signer = state
        .keys
        .signer(state.store.as_ref(), now)
        .await
        .map_err(internal)?;
    // An RSA signature takes about a millisecond of CPU: off the async threads.
    tokio::task::spawn_blocking(move || signer.sign(&claims))
        .await
        .map_err(internal)?
        .map_err(|e| internal(e).into())
}

fn respond(
    state: &AppState,
    grant: &Grant,
    access: String,
    refresh: Option<String>,
    id_token: Option<String>,
) -> Response {
    let mut body = serde_json::json!({
        "access_token": access,
        "token_type": "Bearer",
        "expires_in": state.config.access_token_ttl,
        "scope": grant.scope,
    });
    if let Some(r) = refresh {
        body["refresh_token"] = r.into();
    }
    if let Some(t) = id_token {
        body["id_token"] = t.into();
    }
    no_store(Json(body).into_response())
}
