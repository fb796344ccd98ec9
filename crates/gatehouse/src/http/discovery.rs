//! OpenID Connect Discovery 1.0 and the JWKS.

use axum::Json;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{internal, store_error};
use crate::keyring::KeyringError;
use crate::model::{AuthPolicy, GrantType, SigningAlg};
use crate::oidc::webfinger::{self, Refusal};
use crate::oidc::{client_assertion, dpop, request_object, scope};

pub(super) async fn configuration(State(state): State<AppState>) -> Json<serde_json::Value> {
    let c = &state.config;
    Json(serde_json::json!({
        "issuer": c.issuer,
        "authorization_endpoint": c.endpoint("/authorize"),
        "token_endpoint": c.endpoint("/token"),
        "userinfo_endpoint": c.endpoint("/userinfo"),
        "jwks_uri": c.endpoint("/jwks.json"),
        "introspection_endpoint": c.endpoint("/introspect"),
        "revocation_endpoint": c.endpoint("/revoke"),
        "end_session_endpoint": c.endpoint("/logout"),
        "device_authorization_endpoint": c.endpoint("/device_authorization"),
        "pushed_authorization_request_endpoint": c.endpoint("/par"),
        "require_pushed_authorization_requests": false,
        "require_signed_request_object": false,
        "response_types_supported": ["code"],
        "response_modes_supported": ["query", "fragment", "form_post"],
        "grant_types_supported": GrantType::ALL,
        "subject_types_supported": ["public", "pairwise"],
        "id_token_signing_alg_values_supported": SigningAlg::ALL,
        "scopes_supported": scope::SUPPORTED,
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash",
                             "sid", "acr", "amr", "name", "given_name", "family_name",
                             "preferred_username", "locale", "picture", "updated_at", "email",
                             "email_verified", "groups"],
        "token_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "token_endpoint_auth_signing_alg_values_supported": client_assertion::ALGORITHMS,
        "introspection_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt"],
        "introspection_endpoint_auth_signing_alg_values_supported": client_assertion::ALGORITHMS,
        "revocation_endpoint_auth_methods_supported":
            ["client_secret_basic", "client_secret_post", "private_key_jwt", "none"],
        "revocation_endpoint_auth_signing_alg_values_supported": client_assertion::ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "prompt_values_supported": ["none", "login", "consent", "select_account"],
        // The languages the pages speak, for `ui_locales` (OpenID Connect Discovery §3).
        "ui_locales_supported": state.looks.tags(),
        "acr_values_supported": AuthPolicy::ALL,
        "authorization_response_iss_parameter_supported": true,
        "claims_parameter_supported": true,
        "request_parameter_supported": true,
        "request_object_signing_alg_values_supported": request_object::ALGORITHMS,
        "request_uri_parameter_supported": false,
        "dpop_signing_alg_values_supported": dpop::ALGORITHMS,
        "backchannel_logout_supported": true,
        "backchannel_logout_session_supported": true,
    }))
}

pub(super) async fn jwks(State(state): State<AppState>) -> Response {
    match state.keys.jwks(state.store.as_ref(), state.now()).await {
        Ok(set) => {
            let mut r = Json(set.as_ref().clone()).into_response();
            // A rotated key is published this long before it signs (keyring::ACTIVATION_DELAY).
            let cache = format!("public, max-age={}", crate::keyring::JWKS_MAX_AGE);
            if let Ok(v) = HeaderValue::from_str(&cache) {
                r.headers_mut().insert(header::CACHE_CONTROL, v);
            }
            r
        }
        Err(KeyringError::Store(e)) => store_error(e).into_response(),
        Err(e) => internal(e).into_response(),
    }
}

/// GET /.well-known/webfinger: issuer discovery (OpenID Connect Discovery 1.0 §2, RFC 7033),
/// for applications that find a person's identity provider from their address. Readable from
/// any origin (RFC 7033 §5), and cacheable like the JWKS: the answer changes only with the
/// issuer.
pub(super) async fn webfinger(
    State(state): State<AppState>,
    RawQuery(query): RawQuery,
) -> Response {
    let pairs: Vec<(String, String)> =
        match serde_urlencoded::from_str(query.as_deref().unwrap_or_default()) {
            Ok(pairs) => pairs,
            Err(_) => return refused(StatusCode::BAD_REQUEST, "the query is not form-urlencoded"),
        };
    let values = |name: &str| -> Vec<&str> {
        pairs
            .iter()
            .filter(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
            .collect()
    };
    let mut r = match webfinger::answer(&values("resource"), &values("rel"), &state.config.issuer) {
        Ok(jrd) => {
            let mut r = Json(jrd).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/jrd+json"),
            );
            let cache = format!("public, max-age={}", crate::keyring::JWKS_MAX_AGE);
            if let Ok(v) = HeaderValue::from_str(&cache) {
                h.insert(header::CACHE_CONTROL, v);
            }
            r
        }
        Err(Refusal::BadRequest(why)) => refused(StatusCode::BAD_REQUEST, why),
        Err(Refusal::NotFound) => {
            refused(StatusCode::NOT_FOUND, "nothing is known of that resource")
        }
    };
    r.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

fn refused(status: StatusCode, why: &'static str) -> Response {
    (status, why).into_response()
}
