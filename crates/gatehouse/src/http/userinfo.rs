//! `/userinfo` (OpenID Connect Core §5.3), with a bearer access token (RFC 6750 §2.1) or one
//! bound to a DPoP key, sent with a proof of that key (RFC 9449 §7.1).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, Method};
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{ResourceError, access_token};
use crate::oidc::authorize::{AddressOf, CONFIRM_AGAIN, address_still_holds};
use crate::oidc::{OAuthError, claims, scope};

pub(super) async fn userinfo(
    State(state): State<AppState>,
    method: Method,
    headers: HeaderMap,
) -> Response {
    match claims_for(&state, &method, &headers).await {
        Ok(c) => Json(c).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn claims_for(
    state: &AppState,
    method: &Method,
    headers: &HeaderMap,
) -> Result<serde_json::Value, ResourceError> {
    let (scheme, token) = access_token(headers)?;
    let refuse = |error| ResourceError { error, scheme };
    let key = state.presented_token_key(token).await?;
    let grant = state
        .store
        .access_token(&key.hash, state.now())
        .await?
        .ok_or_else(|| {
            refuse(OAuthError::InvalidToken(
                "the access token is invalid, expired or revoked".into(),
            ))
        })?;
    let target = (method.as_str(), "/userinfo");
    let bound_to = key.bound_to.as_deref();
    super::dpop::resource_takes(
        state,
        headers,
        target,
        (scheme, token),
        bound_to,
        &grant.client_id,
    )
    .await
    .map_err(refuse)?;
    if !scope::contains(&grant.scope, "openid") {
        return Err(refuse(OAuthError::AccessDenied(
            "the token was not granted the openid scope".into(),
        )));
    }
    let groups = state.group_names(&grant.user.id, &grant.scope).await?;
    let custom = state.custom_claims(&grant.user.id, &grant.scope).await?;
    // The person as the token's client knows them (`oidc::subject`).
    let client = state.store.client(&grant.client_id).await?.ok_or_else(|| {
        refuse(OAuthError::InvalidToken(
            "the access token is invalid, expired or revoked".into(),
        ))
    })?;
    // The address rules hold here as at sign-in and at each refresh: an address changed since
    // the token was issued, or a rule set since, is not told to an application that trusts it
    // (`authorize::address_still_holds`).
    let account_domains = state.store.address_rule(&grant.user.id).await?;
    let of = AddressOf::of(&grant.user, &account_domains);
    if !address_still_holds(client.require_confirmed_address, of) {
        return Err(refuse(OAuthError::InvalidToken(CONFIRM_AGAIN.into())));
    }
    let sub = state.subject_of(&client, &grant.user.id).await?;
    Ok(claims::userinfo(
        &sub,
        &grant.user,
        &groups,
        &custom,
        &grant.scope,
    ))
}
