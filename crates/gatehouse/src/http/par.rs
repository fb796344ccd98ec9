//! `/par`, the pushed authorization request endpoint (RFC 9126, `oidc::par`): the client
//! authenticates as at the token endpoint, its request (its form, or the request object it
//! sends, `oidc::request_object`) is checked as `/authorize` would check it, and it gets the
//! `request_uri` that stands for it.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_auth;
use super::error::{TokenError, no_store, store_error};
use super::{AppState, Peer};
use crate::oidc::authorize::{self, Came, Params, Refusal};
use crate::oidc::{OAuthError, dpop, par};

/// Requests one address may push at once, then one more every [`STARTS_PERIOD`]: each is
/// stored for a minute, and a public client's id is no secret.
pub(super) const STARTS_BURST: NonZeroU32 = NonZeroU32::MIN.saturating_add(19);
pub(super) const STARTS_PERIOD: Duration = Duration::from_secs(3);

/// POST /par (RFC 9126 §2): `201` with the `request_uri` and how long it works, or the
/// token endpoint's JSON error. A refused request is never sent to its redirect URI.
pub(super) async fn push(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    TokenError::answer(
        pushed(&state, peer, &headers, &body).await,
        "pushed authorization request",
    )
}

async fn pushed(
    state: &AppState,
    peer: Peer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, TokenError> {
    let (client, form) = client_auth::authenticated(state, headers, body).await?;
    // A request object is the request, the form's other parameters aside (RFC 9126 §3).
    let (query, signed) = match form.get("request")? {
        Some(object) => {
            let params = super::authorize::object_params(state, &client, object).await?;
            (par::pushed_query(&params, &client.client_id)?, true)
        }
        None => (par::pushed_query(form.pairs(), &client.client_id)?, false),
    };
    let mut pairs: Vec<(String, String)> = serde_urlencoded::from_str(&query)
        .map_err(|_| OAuthError::InvalidRequest("the request cannot be read".into()))?;
    // A proof sent to /par binds the code as `dpop_jkt` would (RFC 9449 §10.1).
    let proof =
        super::dpop::proof(state, headers, ("POST", "/par"), None, &client.client_id).await?;
    let named = pairs.iter().find(|(k, _)| k == "dpop_jkt").map(|(_, v)| v);
    let refused = |why| OAuthError::InvalidDpopProof(dpop::Refused(why).to_string());
    let key = dpop::pushed_key(named.map(String::as_str), proof.as_ref()).map_err(refused)?;
    let query = match (named, key) {
        (None, Some(jkt)) => {
            let jkt = jkt.to_owned();
            pairs.push(("dpop_jkt".into(), jkt.clone()));
            format!("{query}&dpop_jkt={jkt}")
        }
        _ => query,
    };
    if let Err(refusal) =
        authorize::validate(&Params::from_pairs(pairs), &client, Came::Pushed { signed })
    {
        let (Refusal::Page(error) | Refusal::Redirect { error, .. }) = refusal;
        return Err(error.into());
    }
    // Counted only for requests that would be stored: nothing else costs a write.
    if let Err(wait) = state.par_starts.admit(peer.0) {
        let error = OAuthError::TemporarilyUnavailable(format!(
            "too many requests pushed from this address; try again in {wait} seconds"
        ));
        return Ok(TokenError::too_many(error, wait));
    }
    let (request_uri, hash) = par::new_request_uri();
    let expires_at = state.now() + par::EXPIRES_IN;
    state
        .store
        .push_request(&hash, &client.client_id, &query, expires_at)
        .await
        .map_err(store_error)?;
    let body = serde_json::json!({
        "request_uri": request_uri,
        "expires_in": par::EXPIRES_IN,
    });
    Ok(no_store((StatusCode::CREATED, Json(body)).into_response()))
}
