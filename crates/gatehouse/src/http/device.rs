//! The device authorization grant (RFC 8628): `/device_authorization`, where a device asks
//! for a sign-in, and `/device`, the verification page where a person signs in, types the
//! code the device shows, and allows or denies it. The device then polls `/token`
//! (`http::token`).

use std::num::NonZeroU32;
use std::time::Duration;

use axum::Form;
use axum::Json;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Localized;
use super::Stamped;
use super::authorize::{
    Attempt, FormKind, SignInRefused, browser_form, check_password, current_session,
};
use super::client_auth;
use super::error::{TokenError, no_store, store_error};
use super::signin::{self, Continuation, Destination, SignIn};
use super::{AppState, Peer, pages};
use crate::auth::forms::{self, Purpose};
use crate::auth::policy;
use crate::auth::throttle::{self, Admission};
use crate::model::{
    AuditKind, AuditRecord, AuthPolicy, Client, DeviceAnswer, DeviceAuthorization, GrantType,
    Session, User,
};
use crate::oidc::authorize::{AddressCheck, AddressOf};
use crate::oidc::{OAuthError, authorize, device, grant, resource, scope, tokens};

/// Device sign-ins one address may start at once, then one more every [`STARTS_PERIOD`]: each
/// stores a request for ten minutes, and a public client's id is no secret. A household or an
/// office behind one address starts a few; a script filling the database is told to wait.
pub(super) const STARTS_BURST: NonZeroU32 = NonZeroU32::MIN.saturating_add(9);
pub(super) const STARTS_PERIOD: Duration = Duration::from_secs(6);

/// POST /device_authorization (RFC 8628 §3.1): the device authenticates as the token endpoint
/// asks (a public client sends its `client_id`) and gets its codes.
pub(super) async fn authorization(
    Localized(state): Localized,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    TokenError::answer(
        start(&state, peer, &headers, &body).await,
        "device authorization",
    )
}

async fn start(
    state: &AppState,
    peer: Peer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, TokenError> {
    let (client, form) = client_auth::authenticated(state, headers, body).await?;
    grant::permitted(&client, GrantType::DeviceCode)?;
    let scope = authorize::user_scopes(form.get("scope")?.unwrap_or(""), &client)?.join(" ");
    let resources = resource::requested(&form.all("resource"), &client.resources)?;
    // Counted only for requests that would store one: nothing else costs a write.
    if let Err(wait) = state.device_starts.admit(peer.0) {
        metrics::counter!("gatehouse_device_authorizations_limited_total").increment(1);
        let error = OAuthError::SlowDown(format!(
            "too many device sign-ins started from this address; try again in {wait} seconds"
        ));
        return Ok(TokenError::too_many(error, wait));
    }
    let now = state.now();
    // A user code is one of 20^8: taken by a live request about never, but then draw again.
    for _ in 0..3 {
        let (device_code, user_code) = (tokens::generate(), device::new_user_code());
        let created = state
            .store
            .create_device_authorization(DeviceAuthorization {
                device_code_hash: tokens::hash(&device_code),
                user_code_hash: tokens::hash(&user_code),
                client_id: client.client_id.clone(),
                scope: scope.clone(),
                created_at: now,
                expires_at: now + device::EXPIRES_IN,
                interval: device::INTERVAL,
                last_polled_at: None,
                answer: DeviceAnswer::Pending,
                resources: resources.clone(),
            })
            .await?;
        if created {
            metrics::counter!("gatehouse_device_authorizations_total").increment(1);
            let verification_uri = format!("{}/device", state.config.issuer);
            let shown = device::display(&user_code);
            let complete = format!("{verification_uri}?user_code={shown}");
            let body = serde_json::json!({
                "device_code": device_code,
                "user_code": shown,
                "verification_uri": verification_uri,
                "verification_uri_complete": complete,
                "expires_in": device::EXPIRES_IN,
                "interval": device::INTERVAL,
            });
            return Ok(no_store(Json(body).into_response()));
        }
    }
    Err(super::error::internal("three user codes in a row were taken").into())
}

/// GET /device: the verification page. Signed out, the login form (which comes back here);
/// signed in, the form for the code, prefilled from `verification_uri_complete`. Looking a
/// code up is a POST: a link alone never spends a person's tries.
pub(super) async fn page(
    Localized(state): Localized,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    // Read leniently: a mangled link still gets the page, with whatever code it carried.
    let prefill = url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
        .find(|(k, _)| k == "user_code")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let typed = prefill_value(&prefill);
    let now = state.now();
    match current_session(&state, &jar, now).await {
        Ok(Some((session, _))) => {
            entry_page(&state, jar, &session, &typed, None, StatusCode::OK).await
        }
        Ok(None) => login_page(&state, jar, &typed, LoginAgain::default(), StatusCode::OK).await,
        Err(e) => failed(&state, e),
    }
}

/// A prefilled code as it is shown: normalised when it is one, else as given, at most 64
/// characters.
fn prefill_value(typed: &str) -> String {
    match device::normalize(typed) {
        Some(code) => device::display(&code),
        None => typed.chars().take(64).collect(),
    }
}

#[derive(Deserialize)]
pub(super) struct EntryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_code: String,
}

/// POST /device: the code the person typed.
pub(super) async fn entered(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<EntryForm>,
) -> Response {
    let now = state.now();
    let (session, user) = match current_session(&state, &jar, now).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let typed = prefill_value(&form.user_code);
            return login_page(&state, jar, &typed, LoginAgain::default(), StatusCode::OK).await;
        }
        Err(e) => return failed(&state, e),
    };
    let key = match state.form_key().await {
        Ok(k) => k,
        Err(e) => return failed(&state, store_error(e)),
    };
    let purpose = Purpose::DeviceEntry {
        session: &session.id_hash,
    };
    if !forms::verify(&key, purpose, &form.csrf, now) {
        return expired_form(&state, &form.user_code);
    }
    look_up(&state, peer, jar, &session, &user, &form.user_code).await
}

/// The login form's answer when it continued a device's request (`http::authorize::login`).
pub(super) async fn login(
    state: &AppState,
    jar: CookieJar,
    attempt: Attempt<'_>,
    typed: &str,
    require: AuthPolicy,
) -> Response {
    let (peer, username) = (attempt.peer.clone(), attempt.username.to_owned());
    let user = match check_password(state, attempt).await {
        Ok(user) => user,
        Err(SignInRefused::Retry(status, message)) => {
            let typed = prefill_value(typed);
            let again = LoginAgain {
                username: &username,
                error: Some(&message),
                require,
            };
            return login_page(state, jar, &typed, again, status).await;
        }
        Err(SignInRefused::Failed(e)) => return failed(state, e),
    };
    let state = &state.for_person(&user);
    let continuation = Continuation::Device {
        user_code: prefill_value(typed),
        require,
    };
    let to = Destination {
        continuation: &continuation,
        to: state.look.text.device.your_device,
        redirect_uri: None,
        client_id: None,
    };
    match signin::after_password(state, jar, peer.clone(), &user, require, &to).await {
        Ok(SignIn::Done(jar, session)) => signed_in(state, peer, jar, &session, &user, typed).await,
        Ok(SignIn::Page(page)) => page,
        Err(e) => failed(state, e),
    }
}

/// Signed in (by the login form or its second step): on to the code, looked up at once when
/// one was typed or prefilled.
pub(super) async fn signed_in(
    state: &AppState,
    peer: Peer,
    jar: CookieJar,
    session: &Session,
    user: &User,
    typed: &str,
) -> Response {
    if device::normalize(typed).is_some() {
        look_up(state, peer, jar, session, user, typed).await
    } else {
        let typed = prefill_value(typed);
        entry_page(state, jar, session, &typed, None, StatusCode::OK).await
    }
}

/// Finds the request a typed code names, counting the try (`auth::throttle::user_code_keys`),
/// and asks the person to allow or deny it.
async fn look_up(
    state: &AppState,
    peer: Peer,
    jar: CookieJar,
    session: &Session,
    user: &User,
    typed: &str,
) -> Response {
    let now = state.now();
    let again = |status, message: &str| {
        let (typed, jar) = (prefill_value(typed), jar.clone());
        let message = message.to_owned();
        async move { entry_page(state, jar, session, &typed, Some(&message), status).await }
    };
    let Some(code) = device::normalize(typed) else {
        return again(StatusCode::BAD_REQUEST, state.look.text.device.not_a_code).await;
    };
    let keys = throttle::user_code_keys(&user.id, peer.0, state.config.account_throttle);
    match state.store.admit_login_attempt(keys.clone(), now).await {
        Ok(Admission::Admitted(_)) => {}
        Ok(Admission::Blocked { until, key }) => {
            let t = &state.look.text;
            let wait = (t.sign_in.wait)(until - now);
            // The person's own lockout (`keys[0]`) is what an administrator can lift.
            let message = if throttle::lifted_by_an_administrator(&key, until, now, &keys[0]) {
                (t.device.codes_locked_out)(&wait)
            } else {
                (t.device.too_many_codes)(&wait)
            };
            return again(StatusCode::TOO_MANY_REQUESTS, &message).await;
        }
        Err(e) => return failed(state, store_error(e)),
    }
    let user_code_hash = tokens::hash(&code);
    let found = match state
        .store
        .pending_device_authorization(&user_code_hash, now)
        .await
    {
        Ok(f) => f,
        Err(e) => return failed(state, store_error(e)),
    };
    let client = match &found {
        Some(a) => match state.store.client(&a.client_id).await {
            Ok(c) => c,
            Err(e) => return failed(state, store_error(e)),
        },
        None => None,
    };
    let (Some(authorization), Some(client)) = (found, client) else {
        return again(
            StatusCode::BAD_REQUEST,
            state.look.text.device.code_not_valid,
        )
        .await;
    };
    if let Err(e) = state.store.settle_login_success(keys).await {
        tracing::warn!(error = %e, "could not settle the user code attempt counters");
    }
    // The application may ask more of a sign-in than this session proved (its policy, or the
    // person's groups'): then the person signs in again for it, and comes back here.
    let required = match signin::required_of(state, user, client.auth_policy).await {
        Ok(r) => r,
        Err(e) => return failed(state, e),
    };
    if !policy::satisfies(session.amr, required) {
        let message = (state.look.text.device.asks_for_more)(client.display_name());
        let again = LoginAgain {
            username: &user.username,
            error: Some(&message),
            require: required,
        };
        return login_page(state, jar, &device::display(&code), again, StatusCode::OK).await;
    }
    match state.store.may_use(&user.id, &client.client_id).await {
        Ok(true) => {}
        Ok(false) => {
            let record =
                AuditRecord::new(now, AuditKind::AccessDenied, format!("user:{}", user.id))
                    .subject(Some(user.username.as_str()))
                    .client(&client.client_id)
                    .stamped(&peer)
                    .detail("a device: not in a group that may use this client");
            state.audit(record).await;
            let html = pages::no_access(&state.look, client.display_name(), None);
            return (jar, pages::respond(StatusCode::FORBIDDEN, html)).into_response();
        }
        Err(e) => return failed(state, store_error(e)),
    }
    match held_for_address(state, &client, user).await {
        Ok(None) => {}
        Ok(Some(message)) => return again(StatusCode::FORBIDDEN, &message).await,
        Err(e) => return failed(state, e),
    }
    let csrf = match state.form_key().await {
        Ok(key) => {
            let purpose = Purpose::DeviceAnswer {
                session: &session.id_hash,
                user_code: &user_code_hash,
            };
            forms::issue(&key, purpose, now)
        }
        Err(e) => return failed(state, store_error(e)),
    };
    let scopes = scope::parse(&authorization.scope);
    let shown = device::display(&code);
    let logo = super::client_logo(state, &client.client_id).await;
    let html = pages::device_confirm(
        &state.look,
        client.display_name(),
        logo.as_deref(),
        &shown,
        pages::Asked {
            scopes: &scopes,
            resources: &authorization.resources,
        },
        &csrf,
        &code,
    );
    (jar, pages::respond(StatusCode::OK, html)).into_response()
}

#[derive(Deserialize)]
pub(super) struct AnswerForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    decision: String,
}

/// POST /device/answer: the person allows or denies the device.
pub(super) async fn answer(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<AnswerForm>,
) -> Response {
    let now = state.now();
    // Answered by whoever holds the session, never by the form alone.
    let (session, user) = match current_session(&state, &jar, now).await {
        Ok(Some(s)) => s,
        Ok(None) => return expired_form(&state, &form.user_code),
        Err(e) => return failed(&state, e),
    };
    let Some(code) = device::normalize(&form.user_code) else {
        return expired_form(&state, "");
    };
    let user_code_hash = tokens::hash(&code);
    // The token proves this page was shown to this session for this very request, after its
    // code was looked up (and counted): no other form's token gets an answer recorded.
    let key = match state.form_key().await {
        Ok(k) => k,
        Err(e) => return failed(&state, store_error(e)),
    };
    let purpose = Purpose::DeviceAnswer {
        session: &session.id_hash,
        user_code: &user_code_hash,
    };
    if !forms::verify(&key, purpose, &form.csrf, now) {
        return expired_form(&state, &form.user_code);
    }
    let allow = match form.decision.as_str() {
        "allow" => true,
        "deny" => false,
        _ => {
            let t = &state.look.text.errors;
            let page = pages::ErrorPage::new(t.device_form_incomplete)
                .link(t.start_again, restart_link(&form.user_code));
            return pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look));
        }
    };
    let pending = match state
        .store
        .pending_device_authorization(&user_code_hash, now)
        .await
    {
        Ok(p) => p,
        Err(e) => return failed(&state, store_error(e)),
    };
    let client = match &pending {
        Some(a) => match state.store.client(&a.client_id).await {
            Ok(c) => c,
            Err(e) => return failed(&state, store_error(e)),
        },
        None => None,
    };
    let answer = if allow {
        DeviceAnswer::Approved {
            user_id: user.id.clone(),
            auth_time: session.auth_time,
            amr: session.amr,
        }
    } else {
        DeviceAnswer::Denied
    };
    let (Some(authorization), Some(client)) = (pending, client) else {
        let page = pages::ErrorPage::new(state.look.text.errors.device_code_used);
        return pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look));
    };
    // A page shown before the application required a confirmed address allows no more than
    // the code would now.
    if allow {
        match held_for_address(&state, &client, &user).await {
            Ok(None) => {}
            Ok(Some(message)) => {
                let typed = prefill_value(&form.user_code);
                let status = StatusCode::FORBIDDEN;
                return entry_page(&state, jar, &session, &typed, Some(&message), status).await;
            }
            Err(e) => return failed(&state, e),
        }
    }
    // Allowing an application for a device is consent like any other: it is remembered, and
    // the person can withdraw it. The answer, the consent and the record are one transaction.
    let consent = (allow && !client.first_party).then(|| crate::model::Consent {
        client_id: client.client_id.clone(),
        scope: authorization.scope.clone(),
        granted_at: now,
    });
    let kind = if allow {
        AuditKind::DeviceApproved
    } else {
        AuditKind::DeviceDenied
    };
    let record = AuditRecord::new(now, kind, format!("user:{}", user.id))
        .subject(Some(user.username.as_str()))
        .client(&client.client_id)
        .stamped(&peer)
        .detail(format!("scope={}", authorization.scope));
    match state
        .store
        .answer_device_authorization(&user_code_hash, answer, consent, record, now)
        .await
    {
        Ok(true) => {}
        Ok(false) => {
            let page = pages::ErrorPage::new(state.look.text.errors.device_code_used);
            return pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look));
        }
        Err(e) => return failed(&state, store_error(e)),
    }
    let html = pages::device_done(&state.look, client.display_name(), allow);
    (jar, pages::respond(StatusCode::OK, html)).into_response()
}

/// The code form, with a token bound to the session.
async fn entry_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    typed: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let csrf = match state.form_key().await {
        Ok(key) => {
            let purpose = Purpose::DeviceEntry {
                session: &session.id_hash,
            };
            forms::issue(&key, purpose, state.now())
        }
        Err(e) => return failed(state, store_error(e)),
    };
    let html = pages::device_entry(&state.look, &csrf, typed, error);
    (jar, pages::respond(status, html)).into_response()
}

/// What the login form shows when it is shown again.
#[derive(Default)]
pub(super) struct LoginAgain<'a> {
    pub username: &'a str,
    pub error: Option<&'a str>,
    /// What the device's application requires (carried through the sign-in).
    pub require: AuthPolicy,
}

/// The login form, continuing to the device's code.
pub(super) async fn login_page(
    state: &AppState,
    jar: CookieJar,
    typed: &str,
    again: LoginAgain<'_>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = match browser_form(state, jar, FormKind::Login).await {
        Ok(issued) => issued,
        Err(e) => return failed(state, e),
    };
    let continuation = Continuation::Device {
        user_code: typed.to_owned(),
        require: again.require,
    };
    let html = pages::login(
        &state.look,
        (state.look.text.device.your_device, None),
        &state.login_fields(&continuation.hidden()),
        &csrf,
        again.username,
        again.error,
        state.passkeys().is_ok(),
        state.keep_choice(),
    );
    (jar, pages::respond(status, html)).into_response()
}

/// The expired-form page of a device form, with a way to start again with the same code.
pub(super) fn expired_form(state: &AppState, typed: &str) -> Response {
    pages::expired_form(&state.look, Some(restart_link(typed)))
}

/// Gatehouse's own verification page, with the code prefilled when there is one.
fn restart_link(typed: &str) -> String {
    match device::normalize(typed) {
        Some(code) => format!("device?user_code={}", device::display(&code)),
        None => "device".to_owned(),
    }
}

/// A failure of the store or the keys, as a page.
fn failed(state: &AppState, e: OAuthError) -> Response {
    let (status, page) = pages::ErrorPage::for_error(&state.look, pages::Flow::SignIn, &e);
    pages::respond(status, page.render(&state.look))
}

/// Why `user` may not give `client` a device's code yet, in the page's words: the client
/// requires a confirmed address, or their account has domains of its own (a sign-up link's),
/// and their address is not confirmed there (`authorize::address_check`). `None`: they may.
async fn held_for_address(
    state: &AppState,
    client: &Client,
    user: &User,
) -> Result<Option<String>, OAuthError> {
    let domains = state
        .store
        .address_rule(&user.id)
        .await
        .map_err(store_error)?;
    let of = AddressOf::of(user, &domains);
    let t = &state.look.text;
    Ok(
        match authorize::address_check(client.require_confirmed_address, of, true) {
            AddressCheck::GoOn => None,
            AddressCheck::ChangeAddress => Some(format!(
                "{} {}",
                (t.confirm_address.account_domains)(&domains.join(", ")),
                t.confirm_address.change_first
            )),
            AddressCheck::AskToConfirm | AddressCheck::Refuse(_) => {
                Some((t.device.confirm_address_first)(client.display_name()))
            }
        },
    )
}
