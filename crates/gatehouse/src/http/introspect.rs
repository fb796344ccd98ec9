//! `/introspect` (RFC 7662) and `/revoke` (RFC 7009): a client asks about, or withdraws, a
//! token it holds. Both require client authentication, and a client only ever touches its own
//! tokens and sees its own, or the access tokens issued for the APIs it answers for
//! (`resource::may_introspect`): any other token is answered exactly like an unknown one.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use super::client_auth;
use super::error::{TokenError, no_store};
use super::{AppState, Peer};
use crate::model::TokenKind;
use crate::oidc::keys::Audience;
use crate::oidc::{OAuthError, claims, dpop, resource};

/// POST /introspect
pub(super) async fn introspect(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match introspection(&state, &headers, &body).await {
        Ok(v) => no_store(Json(v).into_response()),
        Err(e) => e.into_response(),
    }
}

async fn introspection(
    state: &AppState,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<serde_json::Value, TokenError> {
    let (client, form) = client_auth::authenticated(state, headers, body).await?;
    // RFC 7662 §2.1: the endpoint must be protected; a public client proves nothing.
    if client.is_public() {
        return Err(OAuthError::InvalidClient(
            "introspection requires a confidential client".into(),
        )
        .into());
    }
    let token = form.require("token")?;
    let now = state.now();
    let key = state.presented_token_key(token).await?;
    let inactive = || {
        // RFC 7662 §2.2: nothing more than this for an inactive token.
        Ok(serde_json::json!({ "active": false }))
    };
    let info = state.store.introspect(&key, now).await?.filter(|t| {
        let token = resource::Introspected {
            client_id: &t.client_id,
            access: t.kind == TokenKind::Access,
            resources: &t.resources,
        };
        resource::may_introspect(&client.client_id, &client.introspects, token)
    });
    let Some(info) = info else {
        return inactive();
    };
    // What is said of the person is what the token's own client is told (its `sub`, its
    // claims), whoever asks: an API introspecting an application's token learns what that
    // application's JWT access token would carry.
    let owner = if info.client_id == client.client_id {
        client
    } else {
        match state.store.client(&info.client_id).await? {
            Some(owner) => owner,
            None => return inactive(),
        }
    };
    let mut body = serde_json::json!({
        "active": true,
        "scope": info.scope,
        "client_id": info.client_id,
        "exp": info.expires_at,
        "iat": info.issued_at,
        "iss": state.config.issuer,
        // The APIs an access token is for (RFC 8707), or its client.
        "aud": Audience::of(resource::audience(&info.client_id, &info.resources)),
    });
    // What the token says of its binding is believed: the store found it by the hash of the
    // whole token (or of its signed jti).
    let bound = key.bound_to.as_deref();
    if info.kind == TokenKind::Access {
        body["token_type"] = if bound.is_some() {
            dpop::SCHEME
        } else {
            "Bearer"
        }
        .into();
    }
    if let Some(jkt) = bound {
        // RFC 9449 §6.2: the key the token is bound to.
        body["cnf"] = serde_json::json!({ "jkt": jkt });
    }
    match &info.user {
        Some(user) => {
            // The person as the token's client knows them (`oidc::subject`); a client with
            // pairwise subjects learns their username only where its scopes release it.
            body["sub"] = state.subject_of(&owner, &user.id).await?.into();
            if owner.pairwise_sector.is_none()
                || claims::releases(&info.scope, "preferred_username")
            {
                body["username"] = user.username.clone().into();
            }
            // What the client's access tokens carry about the user (RFC 7662 §2.2), as its
            // JWT access tokens do; a member above is never replaced.
            if info.kind == TokenKind::Access
                && claims::access_token_wants_claims(&owner.access_token_claims, &info.scope)
            {
                let (_, identity) = super::token::about(state, &owner, user, &info.scope).await?;
                if let Some(members) = body.as_object_mut() {
                    for (name, value) in identity {
                        members.entry(name).or_insert(value);
                    }
                }
            }
        }
        // A client_credentials token acts for the client itself.
        None => body["sub"] = info.client_id.clone().into(),
    }
    Ok(body)
}

/// POST /revoke
pub(super) async fn revoke(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    match revocation(&state, peer, &headers, &body).await {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(e) => e.into_response(),
    }
}

async fn revocation(
    state: &AppState,
    peer: Peer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(), TokenError> {
    // RFC 7009 §2.1: public clients may revoke their own tokens with their client_id.
    let (client, form) = client_auth::authenticated(state, headers, body).await?;
    let token = form.require("token")?;
    // The hint only says where to look first (RFC 7009 §2.1); every kind is searched anyway.
    form.get("token_type_hint")?;
    let now = state.now();
    let key = state.presented_token_key(token).await?;
    // Audited by the store, with the revocation. RFC 7009 §2.2: an invalid token is not an
    // error; the client's goal is met.
    state
        .store
        .revoke_token(&key, &client.client_id, now, peer.0)
        .await?;
    Ok(())
}
