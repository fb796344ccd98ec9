//! `/authorize` and the pages it shows: login and consent (OpenID Connect Core §3.1.2).

use axum::Form;
use axum::body::Bytes;
use axum::extract::RawQuery;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Localized;
use super::Stamped;
use super::error::store_error;
use super::signin::{self, Continuation, Destination, SignIn};
use super::{AppState, Peer, pages};
use crate::auth::forms::{self, Purpose};
use crate::auth::policy;
use crate::auth::session;
use crate::auth::throttle::{self, Admission};
use crate::model::{
    AuditKind, AuditRecord, AuthorizationCode, EmailPurpose, EndedFrom, Session, User,
};
use crate::oidc::authorize::{
    self, AddressCheck, AddressOf, AuthorizeRequest, Came, Params, Refusal, ResponseMode,
};
use crate::oidc::{OAuthError, par, request_object, scope, tokens};

/// GET /authorize
pub(super) async fn authorize(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    RawQuery(query): RawQuery,
) -> Response {
    requested(&state, peer, jar, &query.unwrap_or_default()).await
}

/// POST /authorize: the same request, form-encoded in the body (OpenID Connect Core §3.1.2.1).
/// Cookies are `SameSite=Lax`, so a POST from another site arrives without the session, and
/// the person is asked to sign in.
pub(super) async fn authorize_post(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    body: Bytes,
) -> Response {
    match std::str::from_utf8(&body) {
        Ok(query) => requested(&state, peer, jar, query).await,
        Err(_) => refuse(
            &state,
            Refusal::Page(OAuthError::InvalidRequest(
                "the request body is not valid UTF-8".into(),
            )),
        ),
    }
}

async fn requested(state: &AppState, peer: Peer, jar: CookieJar, query: &str) -> Response {
    let params = match params_of(query) {
        Ok(p) => p,
        Err(e) => return refuse(state, Refusal::Page(e)),
    };
    let (stands_for, came) = match stands_for(state, &params).await {
        Ok(Some((request, came))) => (Some(request), Some(came)),
        Ok(None) => (None, None),
        Err(e) => return refuse(state, Refusal::Page(e)),
    };
    // The query read once: a request it stands for is read in its turn.
    let checked = match &stands_for {
        Some(request) => checked_request(state, request, came).await,
        None => checked_params(state, &params, query, came).await,
    };
    let query = stands_for.as_deref().unwrap_or(query);
    let request = match checked {
        Ok(r) => r,
        Err(refusal) => return refuse(state, refusal),
    };
    let state = &state.asked_for(&request.ui_locales);
    // A request its client pushed or signed goes on sealed, once accepted, so that each later
    // step of the sign-in takes it as accepted (`par::SEAL`), and not one edited in a form.
    let sealed;
    let query = match came {
        Some(_) => match state.form_key().await {
            Ok(key) => {
                let purpose = forms::Purpose::SealedRequest { request: query };
                sealed = par::sealed(query, &forms::issue(&key, purpose, state.now()));
                sealed.as_str()
            }
            Err(e) => return refuse(state, redirect_error(&request, store_error(e))),
        },
        None => query,
    };
    // Who the application expects to be signed in, if it said with an ID token it was given.
    let hint = match &request.id_token_hint {
        None => None,
        Some(token) => match super::logout::verified_hint(state, token).await {
            Ok(hint) => match authorize::hint_for(hint, &request.client_id) {
                Ok(hint) => Some(hint),
                Err(e) => return refuse(state, redirect_error(&request, e)),
            },
            Err(e) => return refuse(state, redirect_error(&request, e)),
        },
    };
    let now = state.now();
    let session = match current_session(state, &jar, now).await {
        Ok(s) => s,
        Err(e) => return refuse(state, redirect_error(&request, e)),
    };
    // A session of someone else than the hint or the requested `sub` names is not this
    // request's: as if none. Both name the person as the client knows them.
    let subjects = match state.subject_key().await {
        Ok(key) => key,
        Err(e) => return refuse(state, redirect_error(&request, store_error(e))),
    };
    let fresh = session.filter(|(s, user)| {
        let sub = subjects.of(request.pairwise_sector.as_deref(), &user.id);
        authorize::session_satisfies(request.max_age, s.auth_time, now)
            && authorize::hinted(hint.as_ref(), &sub)
            && authorize::may_answer(&request, &sub)
    });
    // A session that proved less than this client, the person's groups or the request ask
    // for signs in again, like `prompt=login`.
    let fresh = match fresh {
        Some((s, user)) => match signin::required_of(state, &user, request.required()).await {
            Ok(required) => policy::satisfies(s.amr, required).then_some((s, user)),
            Err(e) => return refuse(state, redirect_error(&request, e)),
        },
        None => None,
    };
    match fresh {
        Some((session, user)) if !request.prompt.asks_who() => {
            signed_in(state, peer, jar, &request, query, &user, &session).await
        }
        None if request.prompt.none => refuse(
            state,
            redirect_error(
                &request,
                OAuthError::LoginRequired("the user must sign in".into()),
            ),
        ),
        signed_in_as => {
            // Prefilled with who the application expects, if it said (`login_hint`), else,
            // when the person is to choose an account (`select_account`), with who is signed
            // in: continuing as them is their password away, another account a name away.
            let chosen = signed_in_as
                .filter(|_| request.prompt.select_account)
                .map(|(_, user)| user.username);
            let expected = request.login_hint.clone().or(chosen).unwrap_or_default();
            login_form(state, jar, &request, query, &expected, None, StatusCode::OK).await
        }
    }
}

#[derive(Deserialize)]
pub(super) struct LoginForm {
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    csrf: String,
    /// The authorization request the sign-in continues (its query string).
    #[serde(default)]
    request: String,
    /// `device` when the sign-in continues a device's request (`http::device`) instead.
    #[serde(default)]
    flow: String,
    /// The device's user code as typed or prefilled, for `flow=device`.
    #[serde(default)]
    user_code: String,
    /// What the device's application requires, for `flow=device` when it sent the person
    /// back to sign in again (`http::device`).
    #[serde(default)]
    require: String,
    /// A language chosen on the form: the form comes back in it, and nobody signs in.
    #[serde(default)]
    language: String,
    /// The language the form was switched to before (`AppState::chose`).
    #[serde(default)]
    chosen: String,
    /// `1` when "Keep me signed in" is ticked (`AppState::keeping`).
    #[serde(default)]
    keep: String,
}

/// POST /login
pub(super) async fn login(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let now = state.now();
    let device = form.flow == "device";
    match browser_form_ok(&state, &jar, FormKind::Login, &form.csrf, now).await {
        Ok(true) => {}
        Ok(false) if device => return super::device::expired_form(&state, &form.user_code),
        Ok(false) if form.flow == "account" => {
            return pages::expired_form(&state.look, Some("account".to_owned()));
        }
        Ok(false) => return expired_form(&state, &form.request),
        Err(e) => return refuse(&state, Refusal::Page(e)),
    }
    if !form.language.is_empty() {
        return in_another_language(&state, jar, &form).await;
    }
    let state = state.chose(&form.chosen).keeping(&form.keep);
    let username = authorize::typed_username(&form.username);
    if device {
        let attempt = Attempt {
            peer,
            username: &username,
            password: form.password,
            client_id: None,
        };
        let require = form.require.parse().unwrap_or_default();
        return super::device::login(&state, jar, attempt, &form.user_code, require).await;
    }
    if form.flow == "account" {
        let attempt = Attempt {
            peer,
            username: &username,
            password: form.password,
            client_id: None,
        };
        return super::account::login(&state, jar, attempt).await;
    }
    let request = match checked_request(&state, &form.request, None).await {
        Ok(r) => r,
        Err(refusal) => return refuse(&state, refusal),
    };
    let state = state.asked_for(&request.ui_locales);
    let attempt = Attempt {
        peer: peer.clone(),
        username: &username,
        password: form.password,
        client_id: Some(&request.client_id),
    };
    let user = match check_password(&state, attempt).await {
        Ok(user) => user,
        Err(SignInRefused::Retry(status, message)) => {
            let query = &form.request;
            return login_form(
                &state,
                jar,
                &request,
                query,
                &username,
                Some(&message),
                status,
            )
            .await;
        }
        Err(SignInRefused::Failed(e)) => return refuse(&state, redirect_error(&request, e)),
    };
    let state = state.for_person(&user);
    let continuation = Continuation::Authorize(form.request.clone());
    let to = Destination {
        continuation: &continuation,
        to: &request.client_name,
        redirect_uri: Some(&request.redirect_uri),
        client_id: Some(&request.client_id),
    };
    match signin::after_password(&state, jar, peer.clone(), &user, request.required(), &to).await {
        Ok(SignIn::Done(jar, session)) => {
            signed_in(&state, peer, jar, &request, &form.request, &user, &session).await
        }
        Ok(SignIn::Page(page)) => page,
        Err(e) => refuse(&state, redirect_error(&request, e)),
    }
}

/// A sign-in with a username and password, from the login form.
pub(super) struct Attempt<'a> {
    pub peer: Peer,
    /// As typed, trimmed and cut to 64 characters.
    pub username: &'a str,
    pub password: String,
    /// The application the person is signing in to, when known (for the audit log).
    pub client_id: Option<&'a str>,
}

/// Why [`password_sign_in`] signed nobody in.
pub(super) enum SignInRefused {
    /// Show the form again with this status and message (wrong password, throttled).
    Retry(StatusCode, String),
    /// The store failed.
    Failed(OAuthError),
}

/// Checks a password: throttled, and audited when it is wrong. The person whose password it
/// is, when it is right; what follows is `signin::after_password`'s.
pub(super) async fn check_password(
    state: &AppState,
    attempt: Attempt<'_>,
) -> Result<User, SignInRefused> {
    let now = state.now();
    let Attempt {
        peer,
        username,
        password,
        client_id,
    } = attempt;
    // Counted before the password is checked, in the transaction that decides whether it may
    // be: a burst of parallel attempts is held to the limits (see `auth::throttle`). A blocked
    // attempt gets no answer about the password at all.
    let throttle = throttle::keys(username, peer.0, state.config.account_throttle);
    match state.store.admit_login_attempt(throttle.clone(), now).await {
        Ok(Admission::Admitted(_)) => {}
        Ok(Admission::Blocked { until, key }) => {
            metrics::counter!("gatehouse_logins_total", "outcome" => "throttled").increment(1);
            let t = &state.look.text.sign_in;
            let wait = (t.wait)(until - now);
            // The account's own lockout (`throttle[0]`) is what an administrator can lift.
            let message = if throttle::lifted_by_an_administrator(&key, until, now, &throttle[0]) {
                (t.locked_out)(&wait)
            } else {
                (t.too_many_attempts)(&wait)
            };
            return Err(SignInRefused::Retry(StatusCode::TOO_MANY_REQUESTS, message));
        }
        Err(e) => return Err(SignInRefused::Failed(store_error(e))),
    }
    let user = match crate::admin::find_user(state.store.as_ref(), username).await {
        Ok(u) => u.filter(|u| !u.disabled),
        Err(e) => return Err(SignInRefused::Failed(store_error(e))),
    };
    // Verify even when there is no such user, or they have no password (against a dummy hash):
    // the answer and its timing must not tell whether a username exists, nor how its person
    // signs in.
    let stored = user.as_ref().and_then(|u| u.password_hash.clone());
    let verified = state.passwords.verify(password, stored).await;
    let audit = |kind: AuditKind, actor: String| {
        let record = AuditRecord::new(now, kind, actor)
            .subject(Some(username))
            .stamped(&peer);
        match client_id {
            Some(c) => record.client(c),
            None => record,
        }
    };
    let Some(user) = user.filter(|_| verified) else {
        tracing::info!(client_id = client_id.unwrap_or("-"), "login failed");
        metrics::counter!("gatehouse_logins_total", "outcome" => "failure").increment(1);
        state
            .audit(audit(AuditKind::LoginFailed, "anonymous".into()))
            .await;
        return Err(SignInRefused::Retry(
            StatusCode::UNAUTHORIZED,
            state.look.text.sign_in.wrong_password.to_owned(),
        ));
    };
    if let Err(e) = state.store.settle_login_success(throttle).await {
        tracing::warn!(error = %e, "could not settle the login attempt counters");
    }
    Ok(user)
}

#[derive(Deserialize)]
pub(super) struct ConsentForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    decision: String,
}

/// POST /consent: the user allows or denies what the client asked for.
pub(super) async fn consent(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<ConsentForm>,
) -> Response {
    let kind = SessionForm::Consent;
    let (request, state, session, user) =
        match session_form(&state, &jar, &form.request, &form.csrf, kind).await {
            Ok(checked) => checked,
            Err(answer) => return answer,
        };
    let now = state.now();
    // The page was shown after the request's re-authentication rules (prompt=login, max_age)
    // were checked; they still hold now.
    if !authorize::session_satisfies(request.max_age, session.auth_time, now) {
        return expired_form(&state, &form.request);
    }
    let record = |kind: AuditKind| {
        AuditRecord::new(now, kind, format!("user:{}", user.id))
            .subject(Some(user.username.as_str()))
            .client(&request.client_id)
            .stamped(&peer)
            .detail(format!("scope={}", request.scope))
    };
    match form.decision.as_str() {
        "allow" => {
            // A consent form shown before the client required a confirmed address gives
            // nothing more than the sign-in would.
            if let Some(held) =
                unconfirmed_address(&state, &request, &form.request, &user, &session).await
            {
                return held;
            }
            let granted = record(AuditKind::ConsentGranted);
            if let Err(e) = state
                .store
                .grant_consent(
                    &user.id,
                    &request.client_id,
                    &request.scope,
                    now,
                    Some(granted),
                )
                .await
            {
                return refuse(&state, redirect_error(&request, store_error(e)));
            }
            issue_code(&state, &request, &user, &session).await
        }
        "deny" => {
            state.audit(record(AuditKind::ConsentDenied)).await;
            refuse(
                &state,
                redirect_error(
                    &request,
                    OAuthError::AccessDenied("the user denied the request".into()),
                ),
            )
        }
        _ => {
            let t = &state.look.text.errors;
            let page = pages::ErrorPage::new(t.consent_form_incomplete)
                .link(t.start_again, restart_link(&form.request));
            pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look))
        }
    }
}

/// The forms of a sign-in bound to the session and the authorization request they were shown
/// for ([`session_form`]).
#[derive(Debug, Clone, Copy)]
enum SessionForm {
    Consent,
    ConfirmAddress,
}

/// Checks a form of the sign-in bound to the session and the authorization request `query` it
/// was shown for: the request, the state in the request's language, and the session and person
/// it was shown to; or the answer to give instead. What such a form does is done for whoever
/// holds the session, never for the form alone: no other form's token, and no token of another
/// session or request, is taken (the expired-form page, which starts the request again).
async fn session_form(
    state: &AppState,
    jar: &CookieJar,
    query: &str,
    csrf: &str,
    kind: SessionForm,
) -> Result<(AuthorizeRequest, AppState, Session, User), Response> {
    let request = checked_request(state, query, None)
        .await
        .map_err(|refusal| refuse(state, refusal))?;
    let state = state.asked_for(&request.ui_locales);
    let now = state.now();
    let (session, user) = match current_session(&state, jar, now).await {
        Ok(Some(s)) => s,
        Ok(None) => return Err(expired_form(&state, query)),
        Err(e) => return Err(refuse(&state, redirect_error(&request, e))),
    };
    let key = match state.form_key().await {
        Ok(k) => k,
        Err(e) => return Err(refuse(&state, redirect_error(&request, store_error(e)))),
    };
    let session_hash = session.id_hash.as_str();
    let purpose = match kind {
        SessionForm::Consent => Purpose::Consent {
            session: session_hash,
            request: query,
        },
        SessionForm::ConfirmAddress => Purpose::ConfirmAddress {
            session: session_hash,
            request: query,
        },
    };
    if !forms::verify(&key, purpose, csrf, now) {
        return Err(expired_form(&state, query));
    }
    Ok((request, state, session, user))
}

/// The user is signed in: ask for consent if the client needs it, otherwise issue the code.
/// `jar` may carry a new session cookie: every answer keeps it.
pub(super) async fn signed_in(
    state: &AppState,
    peer: Peer,
    jar: CookieJar,
    request: &AuthorizeRequest,
    query: &str,
    user: &User,
    session: &Session,
) -> Response {
    // Nobody else than the person the request names, if it names one, is asked or answered.
    match may_answer(state, request, user).await {
        Ok(true) => {}
        Ok(false) => {
            let refusal = redirect_error(request, someone_else());
            return (jar, refuse(state, refusal)).into_response();
        }
        Err(e) => {
            let refusal = redirect_error(request, store_error(e));
            return (jar, refuse(state, refusal)).into_response();
        }
    }
    // Who may use the client comes before anything else is asked or issued.
    match state.store.may_use(&user.id, &request.client_id).await {
        Ok(true) => {}
        Ok(false) => return (jar, no_access(state, peer, request, user).await).into_response(),
        Err(e) => {
            let refusal = redirect_error(request, store_error(e));
            return (jar, refuse(state, refusal)).into_response();
        }
    }
    if let Some(held) = unconfirmed_address(state, request, query, user, session).await {
        return (jar, held).into_response();
    }
    let ask = match needs_consent(state, request, user).await {
        Ok(ask) => ask,
        Err(refusal) => return (jar, refuse(state, refusal)).into_response(),
    };
    if !ask {
        return (jar, issue_code(state, request, user, session).await).into_response();
    }
    if request.prompt.none {
        let error = OAuthError::ConsentRequired("the user must allow this client".into());
        return (jar, refuse(state, redirect_error(request, error))).into_response();
    }
    let purpose = Purpose::Consent {
        session: &session.id_hash,
        request: query,
    };
    let csrf = match state.form_key().await {
        Ok(key) => forms::issue(&key, purpose, state.now()),
        Err(e) => {
            let refusal = redirect_error(request, store_error(e));
            return (jar, refuse(state, refusal)).into_response();
        }
    };
    let scopes = scope::parse(&request.scope);
    let logo = super::client_logo(state, &request.client_id).await;
    let html = pages::consent(
        &state.look,
        &request.client_name,
        logo.as_deref(),
        query,
        &csrf,
        pages::Asked {
            scopes: &scopes,
            resources: &request.resources,
        },
    );
    let page = pages::respond_with_form_target(StatusCode::OK, html, Some(&request.redirect_uri));
    (jar, page).into_response()
}

/// Where the client requires a confirmed address or the person's account has domains of its
/// own (a sign-up link's), and their address is not confirmed there
/// (`authorize::address_check`): the page asking them to confirm it or to give another, or
/// with `prompt=none` the client's `interaction_required`. `None`: go on.
async fn unconfirmed_address(
    state: &AppState,
    request: &AuthorizeRequest,
    query: &str,
    user: &User,
    session: &Session,
) -> Option<Response> {
    let domains = match state.store.address_rule(&user.id).await {
        Ok(domains) => domains,
        Err(e) => return Some(refuse(state, redirect_error(request, store_error(e)))),
    };
    let of = AddressOf::of(user, &domains);
    let may_ask = !request.prompt.none;
    let change = match authorize::address_check(request.require_confirmed_address, of, may_ask) {
        AddressCheck::GoOn => return None,
        AddressCheck::Refuse(e) => return Some(refuse(state, redirect_error(request, e))),
        AddressCheck::AskToConfirm => false,
        AddressCheck::ChangeAddress => true,
    };
    let held = HeldAt {
        domains: &domains,
        change,
        sent: None,
    };
    Some(confirm_address_page(state, request, query, (user, session), held).await)
}

/// Why a person is held at the confirmation page, and what its last press did.
struct HeldAt<'a> {
    /// The domains their account signs in with a confirmed address at (empty: none of its own).
    domains: &'a [String],
    /// Their address is at none of them: they give another before confirming.
    change: bool,
    sent: Option<&'a str>,
}

/// The page asking `user` to confirm their address before `request`'s client (or to give one at
/// their account's domains first), with the form that mails them a link where mail can be sent
/// and confirming would help (bound to the session and the request).
async fn confirm_address_page(
    state: &AppState,
    request: &AuthorizeRequest,
    query: &str,
    (user, session): (&User, &Session),
    held: HeldAt<'_>,
) -> Response {
    let csrf = match &state.mailer {
        None => None,
        Some(_) if held.change => None,
        Some(_) => match state.form_key().await {
            Ok(key) => {
                let purpose = Purpose::ConfirmAddress {
                    session: &session.id_hash,
                    request: query,
                };
                Some(forms::issue(&key, purpose, state.now()))
            }
            Err(e) => return refuse(state, redirect_error(request, store_error(e))),
        },
    };
    let logo = super::client_logo(state, &request.client_id).await;
    let go_on = restart_link(query);
    let page = pages::ConfirmAddress {
        client: &request.client_name,
        logo: logo.as_deref(),
        email: &user.email,
        send: csrf.as_deref().map(|csrf| (csrf, query)),
        sent: held.sent,
        go_on: &go_on,
        domains: held.domains,
        change: held.change,
    };
    // Its form may end at the application: pressed once the address is confirmed, it goes on
    // with the sign-in, whose answer redirects there.
    let html = pages::confirm_address(&state.look, &page);
    pages::respond_with_form_target(StatusCode::OK, html, Some(&request.redirect_uri))
}

#[derive(Deserialize)]
pub(super) struct ConfirmAddressForm {
    #[serde(default)]
    csrf: String,
    /// The authorization request the page was shown for.
    #[serde(default)]
    request: String,
}

/// POST /confirm-address: mails a confirmation link to the signed-in person the page was shown
/// to (at most one a minute), and shows the page again saying so. A person who confirmed
/// meanwhile goes on with the sign-in, and one whose address is at none of their account's
/// domains is mailed nothing and sent back to the sign-in, which says so.
pub(super) async fn confirm_address(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<ConfirmAddressForm>,
) -> Response {
    let kind = SessionForm::ConfirmAddress;
    let (request, state, session, user) =
        match session_form(&state, &jar, &form.request, &form.csrf, kind).await {
            Ok(checked) => checked,
            Err(answer) => return answer,
        };
    // The page offers the form only where mail goes out.
    if state.mailer.is_none() {
        return expired_form(&state, &form.request);
    }
    let domains = match state.store.address_rule(&user.id).await {
        Ok(domains) => domains,
        Err(e) => return refuse(&state, redirect_error(&request, store_error(e))),
    };
    // Confirmed meanwhile, or at none of the account's domains (a link would not help): the
    // sign-in goes on, or says what it needs now.
    if user.email_verified || !crate::auth::signup::address_fits(&domains, &user.email) {
        return Redirect::to(&restart_link(&form.request)).into_response();
    }
    let t = &state.look.text.email;
    let sent = match super::email::send_link(&state, peer, &user, EmailPurpose::Confirm).await {
        Ok(true) => (t.confirmation_sent)(&user.email),
        Ok(false) => (t.confirmation_sent_recently)(&user.email),
        Err(e) => return refuse(&state, redirect_error(&request, store_error(e))),
    };
    let held = HeldAt {
        domains: &domains,
        change: false,
        sent: Some(&sent),
    };
    confirm_address_page(&state, &request, &form.request, (&user, &session), held).await
}

/// The answer to a signed-in user outside the client's groups: a page that says so, with a
/// way back that tells the client `access_denied`; with `prompt=none`, that redirect at once.
async fn no_access(
    state: &AppState,
    peer: Peer,
    request: &AuthorizeRequest,
    user: &User,
) -> Response {
    let record = AuditRecord::new(
        state.now(),
        AuditKind::AccessDenied,
        format!("user:{}", user.id),
    )
    .subject(Some(user.username.as_str()))
    .client(&request.client_id)
    .stamped(&peer)
    .detail("not in a group that may use this client");
    state.audit(record).await;
    let error = OAuthError::AccessDenied("the user may not use this application".into());
    if request.prompt.none {
        return refuse(state, redirect_error(request, error));
    }
    let mut back = url::Url::parse(&request.redirect_uri).ok();
    if let Some(u) = back.as_mut() {
        let mut q = u.query_pairs_mut();
        q.append_pair("error", error.code());
        q.append_pair("error_description", error.description());
        if let Some(s) = &request.state {
            q.append_pair("state", s);
        }
        q.append_pair("iss", &state.config.issuer);
    }
    let html = pages::no_access(
        &state.look,
        &request.client_name,
        back.as_ref().map(url::Url::as_str),
    );
    pages::respond(StatusCode::FORBIDDEN, html)
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
    if request.prompt.consent {
        return Ok(true);
    }
    let given = state
        .store
        .consent(&user.id, &request.client_id)
        .await
        .map_err(|e| redirect_error(request, store_error(e)))?;
    Ok(!given.is_some_and(|g| scope::is_subset(&request.scope, &g)))
}

/// The forms bound to the browser's form cookie.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FormKind {
    Login,
    Logout,
}

/// Whether `presented` is a form token of `kind` that this deployment issued to this browser
/// (bound to its form cookie) within the last hour. `Err` when the key cannot be read.
pub(super) async fn browser_form_ok(
    state: &AppState,
    jar: &CookieJar,
    kind: FormKind,
    presented: &str,
    now: i64,
) -> Result<bool, OAuthError> {
    let Some(cookie) = jar.get(state.config.cookie_names().form) else {
        return Ok(false);
    };
    let key = state.form_key().await.map_err(store_error)?;
    let browser = cookie.value();
    let purpose = match kind {
        FormKind::Login => Purpose::Login { browser },
        FormKind::Logout => Purpose::Logout { browser },
    };
    Ok(forms::verify(&key, purpose, presented, now))
}

/// A form token of `kind` for this browser, with the form cookie it is bound to (set when
/// missing: a random value that no other site can read or set).
pub(super) async fn browser_form(
    state: &AppState,
    jar: CookieJar,
    kind: FormKind,
) -> Result<(CookieJar, String), OAuthError> {
    let name = state.config.cookie_names().form;
    let browser = jar
        .get(name)
        .map(|c| c.value().to_owned())
        .filter(|v| v.len() == 43)
        .unwrap_or_else(tokens::generate);
    let key = state.form_key().await.map_err(store_error)?;
    let purpose = match kind {
        FormKind::Login => Purpose::Login { browser: &browser },
        FormKind::Logout => Purpose::Logout { browser: &browser },
    };
    let token = forms::issue(&key, purpose, state.now());
    let jar = jar.add(session::cookie(
        name,
        browser,
        state.config.secure_cookies,
        None,
    ));
    Ok((jar, token))
}

/// The expired-form page for a sign-in form that carried `request`.
fn expired_form(state: &AppState, request: &str) -> Response {
    pages::expired_form(&state.look, Some(restart_link(request)))
}

/// Gatehouse's own URL that starts the authorization request `request` again. It only ever
/// leads to `/authorize`, which validates the request as if it were new.
fn restart_link(request: &str) -> String {
    format!("authorize?{request}")
}

/// The request the query of `/authorize` stands for, and how it came, when it is not itself
/// the request: the pushed one it names (`/par`), taken (once), which `/par` accepted; or the
/// parameters of the request object it carries (`oidc::request_object`), signed. The sign-in
/// carries either on as if it had come in the query, sealed. An unknown, used or expired
/// pushed request, or another client's, or a request object that does not verify, is refused
/// on a page: there is no redirect URI to trust.
async fn stands_for(
    state: &AppState,
    params: &Params,
) -> Result<Option<(String, Came)>, OAuthError> {
    if let Some((hash, client_id)) = par::named(params)? {
        return match state
            .store
            .take_pushed_request(&hash, client_id, state.now())
            .await
            .map_err(store_error)?
        {
            Some(request) => Ok(Some((request, Came::Accepted))),
            None => Err(OAuthError::InvalidRequestUri(
                "the request_uri is unknown, already used or expired: start signing in again"
                    .into(),
            )),
        };
    }
    let Some(object) = params.one("request")? else {
        return Ok(None);
    };
    let (client_id, _) = authorize::client_and_redirect(params)?;
    let client = state
        .store
        .client(client_id)
        .await
        .map_err(store_error)?
        .ok_or_else(|| OAuthError::InvalidRequest("unknown client_id".into()))?;
    let params = object_params(state, &client, object).await?;
    let query = serde_urlencoded::to_string(&params)
        .map_err(|_| OAuthError::InvalidRequest("the request cannot be encoded".into()))?;
    Ok(Some((query, Came::Signed)))
}

/// The parameters of `object`, a request object of `client`'s (`oidc::request_object`),
/// verified with the client's keys.
///
/// # Errors
/// `invalid_request_object` when the client has no keys, they cannot be fetched, or the object
/// does not verify.
pub(super) async fn object_params(
    state: &AppState,
    client: &crate::model::Client,
    object: &str,
) -> Result<Vec<(String, String)>, OAuthError> {
    let Some(keys) = super::client_auth::keys_of(state, client, object).await else {
        return Err(OAuthError::InvalidRequestObject(
            if client.signs_with_keys() {
                "the application's published keys could not be fetched: try again later"
            } else {
                "the application has no keys registered to sign request objects with"
            }
            .into(),
        ));
    };
    let audiences = request_object::audiences(&state.config.issuer);
    request_object::verify(object, &client.client_id, &keys, &audiences, state.now())
}

/// Parses and validates the authorization request in `query`, looking up its client. `came`
/// says how it came when the caller knows; `None` for a request from the browser, taken as
/// accepted before when it carries a seal that verifies (`par::SEAL`).
pub(super) async fn checked_request(
    state: &AppState,
    query: &str,
    came: Option<Came>,
) -> Result<AuthorizeRequest, Refusal> {
    let params = params_of(query).map_err(Refusal::Page)?;
    checked_params(state, &params, query, came).await
}

/// The parameters of an authorization request's query string.
fn params_of(query: &str) -> Result<Params, OAuthError> {
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).map_err(|_| {
        OAuthError::InvalidRequest("the request is not valid form-urlencoded".into())
    })?;
    Ok(Params::from_pairs(pairs))
}

/// [`checked_request`] of `params`, read from `query` already.
async fn checked_params(
    state: &AppState,
    params: &Params,
    query: &str,
    came: Option<Came>,
) -> Result<AuthorizeRequest, Refusal> {
    let (client_id, _) = authorize::client_and_redirect(params).map_err(Refusal::Page)?;
    let client = state
        .store
        .client(client_id)
        .await
        .map_err(|e| Refusal::Page(store_error(e)))?
        .ok_or_else(|| Refusal::Page(OAuthError::InvalidRequest("unknown client_id".into())))?;
    let came = match (came, par::unsealed(query)) {
        (Some(came), _) => came,
        (None, Some((request, seal))) => {
            let key = state
                .form_key()
                .await
                .map_err(|e| Refusal::Page(store_error(e)))?;
            let purpose = forms::Purpose::SealedRequest { request };
            if forms::verify(&key, purpose, seal, state.now()) {
                Came::Accepted
            } else {
                Came::Browser
            }
        }
        (None, None) => Came::Browser,
    };
    authorize::validate(params, &client, came)
}

/// The signed-in user, if the session cookie names a live session: within its absolute
/// lifetime and not idle for longer than the idle timeout. A use is recorded (coarsely).
pub(super) async fn current_session(
    state: &AppState,
    jar: &CookieJar,
    now: i64,
) -> Result<Option<(Session, User)>, OAuthError> {
    let Some(cookie) = jar.get(state.config.cookie_names().session) else {
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
    let (_, idle_timeout) = state.config.session_lifetime(session.kept);
    if session::is_idle(session.last_seen_at, now, idle_timeout) {
        state
            .store
            .end_session(&id_hash, EndedFrom::ItsBrowser, now, None)
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

/// The login form again, for what it continues, in the language chosen on it (when it is one
/// offered: `AppState::choosing`); nothing is checked of a password and nobody signs in.
async fn in_another_language(state: &AppState, jar: CookieJar, form: &LoginForm) -> Response {
    let (state, jar) = state.choosing(jar, &form.language);
    // What was typed and ticked comes back as it was; the password never does.
    let state = state.keeping(&form.keep);
    let username = authorize::typed_username(&form.username);
    let ok = StatusCode::OK;
    match form.flow.as_str() {
        "device" => {
            let again = super::device::LoginAgain {
                username: &username,
                require: form.require.parse().unwrap_or_default(),
                ..Default::default()
            };
            super::device::login_page(&state, jar, &form.user_code, again, ok).await
        }
        "account" => super::account::login_page(&state, jar, &username, None, ok).await,
        _ => match checked_request(&state, &form.request, None).await {
            Ok(request) => {
                login_form(&state, jar, &request, &form.request, &username, None, ok).await
            }
            Err(refusal) => refuse(&state, refusal),
        },
    }
}

pub(super) async fn login_form(
    state: &AppState,
    jar: CookieJar,
    request: &AuthorizeRequest,
    query: &str,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = match browser_form(state, jar, FormKind::Login).await {
        Ok(issued) => issued,
        Err(e) => return refuse(state, redirect_error(request, e)),
    };
    let hidden = state.login_fields(&[("request", query)]);
    let passkeys = state.passkeys().is_ok();
    let logo = super::client_logo(state, &request.client_id).await;
    let html = pages::login(
        &state.look,
        (&request.client_name, logo.as_deref()),
        &hidden,
        &csrf,
        username,
        error,
        passkeys,
        state.keep_choice(),
    );
    let page = pages::respond_with_form_target(status, html, Some(&request.redirect_uri));
    (jar, page).into_response()
}

/// The refusal of a request whose `claims` parameter named someone else than who signed in.
fn someone_else() -> OAuthError {
    OAuthError::AccessDenied(
        "the application asked for someone else to sign in: sign in as them, or start again \
         from the application"
            .into(),
    )
}

/// Whether `user` may be answered for `request` (`authorize::may_answer`), by their `sub` for
/// its client (`oidc::subject`).
async fn may_answer(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
) -> Result<bool, crate::store::StoreError> {
    let key = state.subject_key().await?;
    let sub = key.of(request.pairwise_sector.as_deref(), &user.id);
    Ok(authorize::may_answer(request, &sub))
}

/// Stores a new one-time code and sends the browser back to the client with it. Never for
/// anyone else than a request's `claims` parameter names (`authorize::may_answer`).
async fn issue_code(
    state: &AppState,
    request: &AuthorizeRequest,
    user: &User,
    session: &Session,
) -> Response {
    match may_answer(state, request, user).await {
        Ok(true) => {}
        Ok(false) => return refuse(state, redirect_error(request, someone_else())),
        Err(e) => return refuse(state, redirect_error(request, store_error(e))),
    }
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
        auth_time: session.auth_time,
        amr: session.amr,
        session_id_hash: Some(session.id_hash.clone()),
        expires_at: now + state.config.code_ttl,
        dpop_jkt: request.dpop_jkt.clone(),
        resources: request.resources.clone(),
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
    respond_to_client(state, &request.redirect_uri, request.response_mode, &params)
}

pub(super) fn redirect_error(request: &AuthorizeRequest, error: OAuthError) -> Refusal {
    Refusal::Redirect {
        redirect_uri: request.redirect_uri.clone(),
        state: request.state.clone(),
        error,
        response_mode: request.response_mode,
    }
}

/// The authorization response, `params`, sent to the client's (validated) redirect URI as the
/// request asked: in the redirect's query or fragment, or as a form the browser posts there.
fn respond_to_client(
    state: &AppState,
    redirect_uri: &str,
    mode: ResponseMode,
    params: &[(&str, &str)],
) -> Response {
    match mode {
        ResponseMode::Query => redirect_with(state, redirect_uri, params),
        ResponseMode::Fragment => redirect_in_fragment(state, redirect_uri, params),
        ResponseMode::FormPost => {
            let html = pages::form_post(&state.look, redirect_uri, params);
            pages::respond_with_form_target(StatusCode::OK, html, Some(redirect_uri))
        }
    }
}

pub(super) fn refuse(state: &AppState, refusal: Refusal) -> Response {
    match refusal {
        Refusal::Page(e) => {
            let (status, page) = pages::ErrorPage::for_error(&state.look, pages::Flow::SignIn, &e);
            pages::respond(status, page.render(&state.look))
        }
        Refusal::Redirect {
            redirect_uri,
            state: client_state,
            error,
            response_mode,
        } => {
            let mut params = vec![
                ("error", error.code()),
                ("error_description", error.description()),
            ];
            if let Some(s) = &client_state {
                params.push(("state", s));
            }
            params.push(("iss", &state.config.issuer));
            respond_to_client(state, &redirect_uri, response_mode, &params)
        }
    }
}

/// A 303 to `uri` with `params` as its fragment (a registered redirect URI has none of its
/// own): the browser keeps them for the page's script and sends them nowhere.
fn redirect_in_fragment(state: &AppState, uri: &str, params: &[(&str, &str)]) -> Response {
    match url::Url::parse(uri) {
        Ok(mut u) => {
            let fragment = url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(params)
                .finish();
            u.set_fragment(Some(&fragment));
            Redirect::to(u.as_str()).into_response()
        }
        Err(_) => unusable_redirect_uri(state),
    }
}

/// A 303 to `uri` with `params` added to its query (keeping any query it has). With no
/// params, to `uri` exactly as registered (not even an empty `?` added).
pub(super) fn redirect_with(state: &AppState, uri: &str, params: &[(&str, &str)]) -> Response {
    // `Redirect::to` panics on a value a header cannot hold; such a URI is never registered
    // (registration parses it), and falls through to the error below if the store was edited.
    if params.is_empty() && axum::http::HeaderValue::from_str(uri).is_ok() {
        return Redirect::to(uri).into_response();
    }
    match url::Url::parse(uri) {
        Ok(mut u) => {
            u.query_pairs_mut().extend_pairs(params);
            Redirect::to(u.as_str()).into_response()
        }
        Err(_) => unusable_redirect_uri(state),
    }
}

/// The page for a registered redirect URI that does not parse: registration validates them,
/// so this is unreachable unless the store was edited by hand.
fn unusable_redirect_uri(state: &AppState) -> Response {
    let error = OAuthError::ServerError("the client's registered redirect URI is invalid".into());
    let (status, page) = pages::ErrorPage::for_error(&state.look, pages::Flow::SignIn, &error);
    pages::respond(status, page.render(&state.look))
}
