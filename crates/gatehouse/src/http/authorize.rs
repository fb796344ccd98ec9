//! `/authorize` and the login form it shows (OpenID Connect Core §3.1.2).

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::AppState;
use super::error::store_error;
use super::pages;
use crate::auth::session::{self, CSRF_COOKIE, SESSION_COOKIE};
use crate::oidc::authorize::{self, AuthorizeRequest, Params, Prompt, Refusal};
use crate::oidc::{OAuthError, tokens};
use crate::store::{AuthorizationCode, Session, User};

/// GET /authorize
pub async fn authorize(
    State(state): State<AppState>,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    let query = query.unwrap_or_default();
    let request = match checked_request(&state, &query).await {
        Ok(r) => r,
        Err(refusal) => return refuse(&state, refusal),
    };
    let now = state.now();
    let session = match current_session(&state, &jar, now).await {
        Ok(s) => s,
        Err(e) => return refuse(&state, redirect_error(&request, e)),
    };
    let fresh =
        session.filter(|(s, _)| authorize::session_satisfies(request.max_age, s.auth_time, now));
    match (request.prompt, fresh) {
        (Some(Prompt::Login), _) | (None, None) => {
            login_form(&state, jar, &request, &query, "", None, StatusCode::OK)
        }
        (None | Some(Prompt::None), Some((session, user))) => {
            issue_code(&state, &request, &user, session.auth_time).await
        }
        (Some(Prompt::None), None) => refuse(
            &state,
            redirect_error(
                &request,
                OAuthError::LoginRequired("the user must sign in".into()),
            ),
        ),
    }
}

#[derive(Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
}

/// POST /login
pub async fn login(
    State(state): State<AppState>,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let csrf_ok = jar
        .get(CSRF_COOKIE)
        .is_some_and(|c| !form.csrf.is_empty() && tokens::constant_time_eq(c.value(), &form.csrf));
    if !csrf_ok {
        return pages::respond(
            StatusCode::BAD_REQUEST,
            pages::error(
                "This sign-in form has expired",
                "Go back to the application and start signing in again.",
            ),
        );
    }
    let request = match checked_request(&state, &form.request).await {
        Ok(r) => r,
        Err(refusal) => return refuse(&state, refusal),
    };
    let username = form.username.trim().to_owned();
    let user = match state.store.user_by_username(&username).await {
        Ok(u) => u.filter(|u| !u.disabled),
        Err(e) => return refuse(&state, redirect_error(&request, store_error(e))),
    };
    // Verify even when there is no such user (against a dummy hash): the answer and its timing
    // must not tell whether a username exists.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.passwords.verify(form.password, stored).await;
    let Some(user) = user.filter(|_| verified) else {
        tracing::info!(client_id = %request.client_id, "login failed");
        return login_form(
            &state,
            jar,
            &request,
            &form.request,
            &username,
            Some("Wrong username or password."),
            StatusCode::UNAUTHORIZED,
        );
    };
    let now = state.now();
    let session_secret = tokens::generate();
    let session = Session {
        id_hash: tokens::hash(&session_secret),
        user_id: user.id.clone(),
        auth_time: now,
        expires_at: now + state.config.session_ttl,
        last_seen_at: now,
    };
    if let Err(e) = state.store.create_session(session).await {
        return refuse(&state, redirect_error(&request, store_error(e)));
    }
    tracing::info!(client_id = %request.client_id, user = %user.id, "login succeeded");
    let jar = jar
        .add(session::cookie(
            SESSION_COOKIE,
            session_secret,
            state.config.secure_cookies,
            Some(state.config.session_ttl),
        ))
        .remove(session::cookie(
            CSRF_COOKIE,
            String::new(),
            state.config.secure_cookies,
            None,
        ));
    (jar, issue_code(&state, &request, &user, now).await).into_response()
}

/// Parses and validates the authorization request in `query`, looking up its client.
async fn checked_request(state: &AppState, query: &str) -> Result<AuthorizeRequest, Refusal> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
        Refusal::Page(OAuthError::InvalidRequest(
            "the request is not valid form-urlencoded".into(),
        ))
    })?;
    let params = Params::from_pairs(pairs);
    let (client_id, _) = authorize::client_and_redirect(&params).map_err(Refusal::Page)?;
    let client = state
        .store
        .client(client_id)
        .await
        .map_err(|e| Refusal::Page(store_error(e)))?
        .ok_or_else(|| Refusal::Page(OAuthError::InvalidRequest("unknown client_id".into())))?;
    authorize::validate(&params, &client)
}

async fn current_session(
    state: &AppState,
    jar: &CookieJar,
    now: i64,
) -> Result<Option<(Session, User)>, OAuthError> {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    state
        .store
        .session(&tokens::hash(cookie.value()), now)
        .await
        .map_err(store_error)
}

fn login_form(
    state: &AppState,
    jar: CookieJar,
    request: &AuthorizeRequest,
    query: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    // Double-submit CSRF token: the form carries the cookie's value, which another site can
    // neither read nor set.
    let csrf = jar
        .get(CSRF_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
        .unwrap_or_else(tokens::generate);
    let jar = jar.add(session::cookie(
        CSRF_COOKIE,
        csrf.clone(),
        state.config.secure_cookies,
        None,
    ));
    let html = pages::login(&request.client_id, query, &csrf, username, error);
    (jar, pages::respond(status, html)).into_response()
}

/// Stores a new one-time code and sends the browser back to the client with it.
async fn issue_code(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
    auth_time: i64,
) -> Response {
    let code = tokens::generate();
    let now = state.now();
    let stored = AuthorizationCode {
        code_hash: tokens::hash(&code),
        client_id: request.client_id.clone(),
        user_id: user.id.clone(),
        redirect_uri: request.redirect_uri.clone(),
        scope: request.scope.clone(),
        nonce: request.nonce.clone(),
        code_challenge: request.code_challenge.clone(),
        auth_time,
        expires_at: now + state.config.code_ttl,
    };
    if let Err(e) = state.store.create_authorization_code(stored).await {
        return refuse(state, redirect_error(request, store_error(e)));
    }
    let mut params = vec![("code", code.as_str())];
    if let Some(s) = &request.state {
        params.push(("state", s));
    }
    // RFC 9207: say who issued the response, against mix-up attacks.
    params.push(("iss", &state.config.issuer));
    redirect_with(&request.redirect_uri, &params)
}

fn redirect_error(request: &AuthorizeRequest, error: OAuthError) -> Refusal {
    Refusal::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        error,
    }
}

fn refuse(state: &AppState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(e) => {
            let status = match e {
                OAuthError::TemporarilyUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
                _ => StatusCode::BAD_REQUEST,
            };
            pages::respond(
                status,
                pages::error(
                    "This sign-in request cannot be processed",
                    &format!("{} ({})", e.description(), e.code()),
                ),
            )
        }
        Refusal::Redirect {
            redirect_uri,
            state: client_state,
            error,
        } => {
            let mut params = vec![
                ("error", error.code()),
                ("error_description", error.description()),
            ];
            if let Some(s) = &client_state {
                params.push(("state", s));
            }
            params.push(("iss", &state.config.issuer));
            redirect_with(&redirect_uri, &params)
        }
    }
}

/// A 303 to `uri` with `params` added to its query (keeping any query it has).
fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(params);
            Redirect::to(u.as_str()).into_response()
        }
        // Registered redirect URIs are validated when registered; this is unreachable unless
        // the store was edited by hand.
        Err(_) => pages::respond(
            StatusCode::INTERNAL_SERVER_ERROR,
            pages::error(
                "Misconfigured client",
                "The client's redirect URI is invalid.",
            ),
        ),
    }
}
