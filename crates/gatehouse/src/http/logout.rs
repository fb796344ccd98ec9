//! `/logout`, the `end_session_endpoint` (OpenID Connect RP-Initiated Logout 1.0).
//!
//! With a valid `id_token_hint` for the signed-in user, the session ends at once: the hint
//! proves the request comes from an application the user signed in to. Without one, gatehouse
//! asks first (a CSRF-protected form), so a link on any page cannot sign people out.

use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;

use super::Localized;
use super::Stamped;
use super::authorize::{FormKind, browser_form, browser_form_ok, current_session, redirect_with};
use super::error::store_error;
use super::{AppState, Peer, pages};
use crate::auth::session;
use crate::model::{AuditKind, AuditRecord, EndedFrom};
use crate::oidc::authorize::Params;
use crate::oidc::keys::{self, Hint};
use crate::oidc::logout::{self, LogoutRequest};
use crate::oidc::{OAuthError, tokens};

/// GET /logout
pub(super) async fn logout(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    requested(&state, peer, jar, &query.unwrap_or_default()).await
}

/// POST /logout: either the logout request itself, form-encoded (§2 allows POST), or the
/// user's answer to the confirmation page, which carries `csrf` and the original request.
pub(super) async fn logout_confirmed(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    let Ok(pairs) = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) else {
        return page_error(
            &state,
            OAuthError::InvalidRequest("the body must be application/x-www-form-urlencoded".into()),
        );
    };
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let Some(csrf) = field("csrf") else {
        let query = String::from_utf8_lossy(&body).into_owned();
        return requested(&state, peer, jar, &query).await;
    };
    let confirmed = match browser_form_ok(&state, &jar, FormKind::Logout, csrf, state.now()).await {
        Ok(ok) => ok && field("confirm") == Some("yes"),
        Err(e) => return page_error(&state, e),
    };
    if !confirmed {
        return pages::expired_form(
            &state.look,
            Some(format!("logout?{}", field("request").unwrap_or_default())),
        );
    }
    let query = field("request").unwrap_or_default().to_owned();
    match checked(&state, &query).await {
        Ok(request) => {
            let state = state.asked_for(&request.ui_locales);
            end(&state, peer, jar, request).await
        }
        Err(e) => page_error(&state, e),
    }
}

async fn requested(state: &AppState, peer: Peer, jar: CookieJar, query: &str) -> Response {
    let request = match checked(state, query).await {
        Ok(r) => r,
        Err(e) => return page_error(state, e),
    };
    let state = &state.asked_for(&request.ui_locales);
    let now = state.now();
    let signed_in = match current_session(state, &jar, now).await {
        Ok(s) => s,
        Err(e) => return page_error(state, e),
    };
    // The hint must name the user who is signed in, as its client knows them; a hint for
    // someone else proves nothing about this browser.
    let subjects = match state.subject_key().await {
        Ok(key) => key,
        Err(e) => return page_error(state, store_error(e)),
    };
    let proven = request.hint.as_ref().is_some_and(|h| {
        signed_in.as_ref().is_none_or(|(_, u)| {
            subjects.of(request.pairwise_sector.as_deref(), &u.id) == h.sub.as_str()
        })
    });
    if proven || signed_in.is_none() {
        return end(state, peer, jar, request).await;
    }
    let (jar, csrf) = match browser_form(state, jar, FormKind::Logout).await {
        Ok(issued) => issued,
        Err(e) => return page_error(state, e),
    };
    let html = pages::logout_confirm(&state.look, query, &csrf);
    let page = pages::respond_with_form_target(
        StatusCode::OK,
        html,
        request.post_logout_redirect_uri.as_deref(),
    );
    (jar, page).into_response()
}

/// Who an `id_token_hint` names, if it is an ID token this server issued (expired or not):
/// verified against the published keys (`oidc::keys::verify_hint`).
///
/// # Errors
/// `invalid_request` for any other token; the store's failure.
pub(super) async fn verified_hint(state: &AppState, token: &str) -> Result<Hint, OAuthError> {
    let jwks = state
        .keys
        .jwks(state.store.as_ref(), state.now())
        .await
        .map_err(|e| match e {
            crate::keyring::KeyringError::Store(e) => store_error(e),
            e => super::error::internal(e),
        })?;
    // The verifier's own message names library internals: logged, never shown.
    keys::verify_hint(token, &jwks, &state.config.issuer).map_err(|e| {
        tracing::info!(error = %e, "refused an id_token_hint");
        OAuthError::InvalidRequest(
            "the id_token_hint is not a valid ID token issued by this server".into(),
        )
    })
}

/// Parses and validates the logout request in `query`: the hint against the published keys,
/// the client against the store.
async fn checked(state: &AppState, query: &str) -> Result<LogoutRequest, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
        OAuthError::InvalidRequest("the request is not valid form-urlencoded".into())
    })?;
    let params = Params::from_pairs(pairs);
    let hint = match params.one("id_token_hint")? {
        None => None,
        Some(token) => Some(verified_hint(state, token).await?),
    };
    let client = match logout::client_id(&params, hint.as_ref())? {
        None => None,
        Some(id) => state.store.client(&id).await.map_err(store_error)?,
    };
    logout::validate(&params, hint, client.as_ref())
}

/// Ends the browser's session, then sends it back to the client or shows a page.
async fn end(state: &AppState, peer: Peer, jar: CookieJar, request: LogoutRequest) -> Response {
    let now = state.now();
    let names = state.config.cookie_names();
    if let Some(cookie) = jar.get(names.session) {
        let id_hash = tokens::hash(cookie.value());
        let user = state.store.session(&id_hash, now).await.ok().flatten();
        // The logout's record is written with the session's end, when there was one to end.
        let record = user.map(|(_, user)| {
            let record = AuditRecord::new(now, AuditKind::Logout, format!("user:{}", user.id))
                .subject(Some(user.username))
                .stamped(&peer);
            match &request.client_id {
                Some(client_id) => record.client(client_id),
                None => record,
            }
        });
        if let Err(e) = state
            .store
            .end_session(&id_hash, EndedFrom::ItsBrowser, now, record)
            .await
        {
            return page_error(state, store_error(e));
        }
    }
    let jar = jar.remove(session::cookie(
        names.session,
        String::new(),
        state.config.secure_cookies,
        None,
    ));
    let response = match &request.post_logout_redirect_uri {
        Some(uri) => {
            let mut params = Vec::new();
            if let Some(s) = &request.state {
                params.push(("state", s.as_str()));
            }
            redirect_with(state, uri, &params)
        }
        None => pages::respond(StatusCode::OK, pages::signed_out(&state.look)),
    };
    (jar, response).into_response()
}

fn page_error(state: &AppState, e: OAuthError) -> Response {
    let (status, page) = pages::ErrorPage::for_error(&state.look, pages::Flow::SignOut, &e);
    pages::respond(status, page.render(&state.look))
}
