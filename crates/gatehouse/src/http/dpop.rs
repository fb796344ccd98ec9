//! DPoP proofs (RFC 9449) where they are sent: the token endpoint, which binds the tokens it
//! issues to a proof's key, `/par`, which binds the code, and the resources, `/userinfo` and
//! the admin API, which take a bound access token only with a proof of its key. The rules are
//! `oidc::dpop`'s; here a proof is read from its header, verified for the request, its server
//! nonce judged where the deployment requires one (`--dpop-nonce`), and its `jti` taken once.
//! With nonces required, every answer to a request with a proof hands out the current nonce
//! ([`supply_nonce`]).

use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;

use super::AppState;
use super::error::store_error;
use crate::model::{OneTime, OneTimeKind};
use crate::oidc::OAuthError;
use crate::oidc::dpop::{self, Proof, Scheme, nonce};

/// The DPoP proof a request carries, good for `method` at the endpoint `path` (below the
/// issuer) and, at a resource, for `access_token`, its `jti` taken for `client_id`. `None` when
/// the request carries none.
///
/// # Errors
/// `invalid_dpop_proof` for more than one proof, or one that is not good or was used before;
/// the store's failure as the client sees it.
pub(super) async fn proof(
    state: &AppState,
    headers: &HeaderMap,
    endpoint: (&str, &str),
    access_token: Option<&str>,
    client_id: &str,
) -> Result<Option<Proof>, OAuthError> {
    let Some((proof, jti)) = proof_but_once(state, headers, endpoint, access_token).await? else {
        return Ok(None);
    };
    let now = state.now();
    let taken = state
        .store
        .take_once(client_id, vec![jti], now)
        .await
        .map_err(store_error)?;
    taken?;
    Ok(Some(proof))
}

/// As [`proof`], but its `jti` is not taken: it is the caller's to take with the write the
/// request makes (`NewTokens::once`), and to refuse the request if it was taken before.
///
/// # Errors
/// As [`proof`]'s, and `use_dpop_nonce` for a proof without a current server nonce where the
/// deployment requires one.
pub(super) async fn proof_but_once(
    state: &AppState,
    headers: &HeaderMap,
    (method, path): (&str, &str),
    access_token: Option<&str>,
) -> Result<Option<(Proof, OneTime)>, OAuthError> {
    let mut sent = headers.get_all(dpop::HEADER).iter();
    let (Some(value), None) = (sent.next(), sent.next()) else {
        return if headers.contains_key(dpop::HEADER) {
            Err(refused("is sent more than once"))
        } else {
            Ok(None)
        };
    };
    let value = value.to_str().map_err(|_| refused("is not a JWT"))?;
    let url = state.config.endpoint(path);
    let request = dpop::Request {
        method,
        url: &url,
        access_token,
    };
    let now = state.now();
    let proof = dpop::verify(value, request, now).map_err(|e| invalid(&e))?;
    if state.config.dpop_nonce {
        let key = state.dpop_nonce_key().await.map_err(store_error)?;
        nonce::judge(&key, proof.nonce.as_deref(), now)
            .map_err(|why| OAuthError::UseDpopNonce(why.to_string()))?;
    }
    let jti = OneTime {
        kind: OneTimeKind::DpopProof,
        key: dpop::jti_key(&proof.jti),
        kept_until: proof.kept_until,
    };
    Ok(Some((proof, jti)))
}

fn refused(why: &'static str) -> OAuthError {
    invalid(&dpop::Refused(why))
}

fn invalid(e: &dpop::Refused) -> OAuthError {
    OAuthError::InvalidDpopProof(e.to_string())
}

/// Whether a resource takes `token`, presented with `scheme` and found issued to `client_id`
/// and bound to `bound_to` (or not), for a `method` request to `path`: a bearer token as it
/// is, a bound one only with the DPoP scheme and a proof of its key for this request and this
/// token, taken once (`oidc::dpop::may_use`). A proof sent beside a bearer token proves nothing
/// about it, and is not read.
///
/// # Errors
/// `invalid_dpop_proof` for a proof that is missing or not good, `invalid_token` for a token
/// presented otherwise than it is bound.
pub(super) async fn resource_takes(
    state: &AppState,
    headers: &HeaderMap,
    (method, path): (&str, &str),
    (scheme, token): (Scheme, &str),
    bound_to: Option<&str>,
    client_id: &str,
) -> Result<(), OAuthError> {
    let proof = match scheme {
        Scheme::Bearer => None,
        Scheme::Dpop => Some(
            proof(state, headers, (method, path), Some(token), client_id)
                .await?
                .ok_or_else(|| {
                    OAuthError::InvalidDpopProof(
                        "a DPoP proof is required with the DPoP scheme".into(),
                    )
                })?,
        ),
    };
    dpop::may_use(scheme, bound_to, proof.as_ref().map(|p| p.jkt.as_str()))
        .map_err(|why| OAuthError::InvalidToken(why.into()))
}

/// Hands out the current server nonce (`DPoP-Nonce`, RFC 9449 §8.2, §9) with every answer to
/// a request that carries a proof, refused or not, where the deployment requires nonces: a
/// client keeps the newest one it was given, so it seldom meets `use_dpop_nonce` again.
pub(super) async fn supply_nonce(
    State(state): State<super::AppState>,
    request: Request,
    next: Next,
) -> Response {
    let with_proof = state.config.dpop_nonce && request.headers().contains_key(dpop::HEADER);
    let mut response = next.run(request).await;
    if with_proof {
        match state.dpop_nonce_key().await {
            Ok(key) => {
                if let Ok(v) = HeaderValue::from_str(&key.current(state.now())) {
                    response.headers_mut().insert(nonce::HEADER, v);
                }
            }
            Err(e) => tracing::warn!(error = %e, "no DPoP nonce to hand out"),
        }
    }
    response
}
