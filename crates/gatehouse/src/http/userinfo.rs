//! `/userinfo` (OpenID Connect Core §5.3), with a bearer access token (RFC 6750 §2.1).

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::AppState;
use super::error::{BearerError, bearer_token, store_error};
use crate::oidc::{OAuthError, claims, scope};

pub(super) async fn userinfo(State(state): State<AppState>, headers: HeaderMap) -> Response {
    match claims_for(&state, &headers).await {
        Ok(c) => Json(c).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn claims_for(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<serde_json::Value, BearerError> {
    let token = bearer_token(headers)?;
    let key = state
        .presented_token_key(token)
        .await
        .map_err(|e| BearerError(store_error(e)))?;
    let grant = state
        .store
        .access_token(&key.hash, state.now())
        .await
        .map_err(|e| BearerError(store_error(e)))?
        .ok_or_else(|| {
            BearerError(OAuthError::InvalidToken(
                "the access token is invalid, expired or revoked".into(),
            ))
        })?;
    if !scope::contains(&grant.scope, "openid") {
        return Err(BearerError(OAuthError::AccessDenied(
            "the token was not granted the openid scope".into(),
        )));
    }
    let groups = state
        .group_names(&grant.user.id, &grant.scope)
        .await
        .map_err(|e| BearerError(store_error(e)))?;
    Ok(claims::userinfo(&grant.user, &groups, &grant.scope))
}
