//! `/authorize` and the pages it shows: login and consent (OpenID Connect Core §3.1.2).

use axum::Form;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::error::store_error;
use super::{AppState, Peer, pages};
use crate::auth::session::{self, CSRF_COOKIE, SESSION_COOKIE};
use crate::auth::throttle;
use crate::oidc::authorize::{self, AuthorizeRequest, Params, Prompt, Refusal};
use crate::oidc::{OAuthError, scope, tokens};
use crate::store::{AuditRecord, AuthorizationCode, Session, User};

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
        (Some(Prompt::Login), _) | (None | Some(Prompt::Consent), None) => {
            login_form(&state, jar, &request, &query, "", None, StatusCode::OK)
        }
        (_, Some((session, user))) => {
            signed_in(&state, jar, &request, &query, &user, session.auth_time).await
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
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    if !csrf_ok(&jar, &form.csrf) {
        return expired_form();
    }
    let request = match checked_request(&state, &form.request).await {
        Ok(r) => r,
        Err(refusal) => return refuse(&state, refusal),
    };
    // No username is longer than 64 characters: a longer one cannot match, and cut to that
    // length it cannot bloat the throttle table or the audit log either.
    let username: String = form.username.trim().chars().take(64).collect();
    let now = state.now();
    let retry = |status, message: &str| {
        login_form(
            &state,
            jar.clone(),
            &request,
            &form.request,
            &username,
            Some(message),
            status,
        )
    };
    // Checked before the password: a blocked key gets no answer about it at all.
    let throttle = throttle::keys(&username, peer.0);
    let keys = throttle.iter().map(|(k, _)| k.clone()).collect();
    match state.store.login_blocked_until(keys, now).await {
        Ok(None) => {}
        Ok(Some(until)) => {
            metrics::counter!("gatehouse_logins_total", "outcome" => "throttled").increment(1);
            return retry(
                StatusCode::TOO_MANY_REQUESTS,
                &format!(
                    "Too many failed attempts. Try again in {}.",
                    wait_in_words(until - now)
                ),
            );
        }
        Err(e) => return refuse(&state, redirect_error(&request, store_error(e))),
    }
    let user = match state.store.user_by_username(&username).await {
        Ok(u) => u.filter(|u| !u.disabled),
        Err(e) => return refuse(&state, redirect_error(&request, store_error(e))),
    };
    // Verify even when there is no such user (against a dummy hash): the answer and its timing
    // must not tell whether a username exists.
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.passwords.verify(form.password, stored).await;
    let audit = |kind: &str, actor: String| {
        AuditRecord::new(now, kind, actor)
            .subject(Some(username.as_str()))
            .client(&request.client_id)
            .ip(peer.0)
    };
    let Some(user) = user.filter(|_| verified) else {
        tracing::info!(client_id = %request.client_id, "login failed");
        metrics::counter!("gatehouse_logins_total", "outcome" => "failure").increment(1);
        if let Err(e) = state.store.record_login_failure(throttle, now).await {
            return refuse(&state, redirect_error(&request, store_error(e)));
        }
        state.audit(audit("login.failed", "anonymous".into())).await;
        return retry(StatusCode::UNAUTHORIZED, "Wrong username or password.");
    };
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
    // The address counter is not reset: one good password must not buy a script more guesses
    // at other accounts.
    if let Err(e) = state
        .store
        .clear_login_failures(throttle::account_key(&username))
        .await
    {
        tracing::warn!(error = %e, "could not reset the failed-login counter");
    }
    tracing::info!(client_id = %request.client_id, user = %user.id, "login succeeded");
    metrics::counter!("gatehouse_logins_total", "outcome" => "success").increment(1);
    state
        .audit(audit("login.succeeded", format!("user:{}", user.id)))
        .await;
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
    signed_in(&state, jar, &request, &form.request, &user, now).await
}

#[derive(Deserialize)]
pub struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

/// POST /consent: the user allows or denies what the client asked for.
pub async fn consent(
    State(state): State<AppState>,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<ConsentForm>,
) -> Response {
    if !csrf_ok(&jar, &form.csrf) {
        return expired_form();
    }
    let request = match checked_request(&state, &form.request).await {
        Ok(r) => r,
        Err(refusal) => return refuse(&state, refusal),
    };
    let now = state.now();
    // Consent is given by whoever holds the session, never by the form alone.
    let (session, user) = match current_session(&state, &jar, now).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return login_form(
                &state,
                jar,
                &request,
                &form.request,
                "",
                None,
                StatusCode::OK,
            );
        }
        Err(e) => return refuse(&state, redirect_error(&request, e)),
    };
    let record = |kind: &str| {
        AuditRecord::new(now, kind, format!("user:{}", user.id))
            .subject(Some(user.username.as_str()))
            .client(&request.client_id)
            .ip(peer.0)
            .detail(format!("scope={}", request.scope))
    };
    match form.decision.as_str() {
        "allow" => {
            if let Err(e) = state
                .store
                .grant_consent(&user.id, &request.client_id, &request.scope, now)
                .await
            {
                return refuse(&state, redirect_error(&request, store_error(e)));
            }
            state.audit(record("consent.granted")).await;
            issue_code(&state, &request, &user, session.auth_time).await
        }
        "deny" => {
            state.audit(record("consent.denied")).await;
            refuse(
                &state,
                redirect_error(
                    &request,
                    OAuthError::AccessDenied("the user denied the request".into()),
                ),
            )
        }
        _ => pages::respond(
            StatusCode::BAD_REQUEST,
            pages::error("This consent form is incomplete", "Choose Allow or Deny."),
        ),
    }
}

/// The user is signed in: ask for consent if the client needs it, otherwise issue the code.
/// `jar` may carry a new session cookie: every answer keeps it.
async fn signed_in(
    state: &AppState,
    jar: CookieJar,
    request: &AuthorizeRequest,
    query: &str,
    user: &User,
    auth_time: i64,
) -> Response {
    let ask = match needs_consent(state, request, user).await {
        Ok(ask) => ask,
        Err(refusal) => return (jar, refuse(state, refusal)).into_response(),
    };
    if !ask {
        return (jar, issue_code(state, request, user, auth_time).await).into_response();
    }
    if request.prompt == Some(Prompt::None) {
        let error = OAuthError::ConsentRequired("the user must allow this client".into());
        return (jar, refuse(state, redirect_error(request, error))).into_response();
    }
    let (jar, csrf) = csrf_cookie(state, jar);
    let scopes = scope::parse(&request.scope);
    let html = pages::consent(&request.client_id, query, &csrf, &scopes);
    (jar, pages::respond(StatusCode::OK, html)).into_response()
}

/// Whether to show the consent page: never for a first-party client (the operator's own);
/// otherwise when asked to (`prompt=consent`) or when the request goes beyond what the user
/// allowed this client before.
async fn needs_consent(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
) -> Result<bool, Refusal> {
    // Read with the client when the request was validated: no second lookup.
    if request.first_party {
        return Ok(false);
    }
    if request.prompt == Some(Prompt::Consent) {
        return Ok(true);
    }
    let given = state
        .store
        .consent(&user.id, &request.client_id)
        .await
        .map_err(|e| redirect_error(request, store_error(e)))?;
    Ok(!given.is_some_and(|g| scope::is_subset(&request.scope, &g)))
}

pub(super) fn csrf_ok(jar: &CookieJar, presented: &str) -> bool {
    jar.get(CSRF_COOKIE)
        .is_some_and(|c| !presented.is_empty() && tokens::constant_time_eq(c.value(), presented))
}

pub(super) fn expired_form() -> Response {
    pages::respond(
        StatusCode::BAD_REQUEST,
        pages::error(
            "This form has expired",
            "Go back to the application and start again.",
        ),
    )
}

/// "42 seconds", "3 minutes".
fn wait_in_words(seconds: i64) -> String {
    match seconds {
        s if s <= 1 => "a second".into(),
        s if s < 120 => format!("{s} seconds"),
        s => format!("{} minutes", (s + 59) / 60),
    }
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

/// The signed-in user, if the session cookie names a live session: within its absolute
/// lifetime and not idle for longer than the idle timeout. A use is recorded (coarsely).
pub(super) async fn current_session(
    state: &AppState,
    jar: &CookieJar,
    now: i64,
) -> Result<Option<(Session, User)>, OAuthError> {
    let Some(cookie) = jar.get(SESSION_COOKIE) else {
        return Ok(None);
    };
    let id_hash = tokens::hash(cookie.value());
    let Some((session, user)) = state
        .store
        .session(&id_hash, now)
        .await
        .map_err(store_error)?
    else {
        return Ok(None);
    };
    if session::is_idle(session.last_seen_at, now, state.config.session_idle_timeout) {
        state
            .store
            .end_session(&id_hash)
            .await
            .map_err(store_error)?;
        return Ok(None);
    }
    if session::needs_touch(session.last_seen_at, now) {
        state
            .store
            .touch_session(&id_hash, now)
            .await
            .map_err(store_error)?;
    }
    Ok(Some((session, user)))
}

/// The CSRF cookie's value, set if missing. Double-submit: the form carries the cookie's value,
/// which another site can neither read nor set.
pub(super) fn csrf_cookie(state: &AppState, jar: CookieJar) -> (CookieJar, String) {
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
    (jar, csrf)
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
    let (jar, csrf) = csrf_cookie(state, jar);
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

pub(super) fn refuse(state: &AppState, refusal: Refusal) -> Response {
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
pub(super) fn redirect_with(uri: &str, params: &[(&str, &str)]) -> Response {
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
