//! The steps of a sign-in after a right password (`auth::policy`): the second factor
//! (`POST /verify`), or enrolling an authenticator app where one is required (`POST /enrol`),
//! then the session, then whatever the sign-in continues: an authorization request or a
//! device's.
//!
//! Between the steps nothing is stored: the page of the next step carries a form token bound
//! to the browser, the person and the continuation (`auth::forms::Purpose::SecondFactor`),
//! valid for `auth::forms::STEP_MAX_AGE` after the password. Holding one proves the password
//! and nothing more: the session starts only when the second step is done.

use axum::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Localized;
use super::Stamped;
use super::authorize::{self, FormKind};
use super::error::store_error;
use super::{AppState, Peer, pages};
use crate::auth::forms::{self, Purpose};
use crate::auth::policy::{self, AfterPassword};
use crate::auth::throttle::{self, Admission};
use crate::auth::{recovery, session, totp};
use crate::clock::UnixTime;
use crate::model::{
    Amr, AuditKind, AuditRecord, AuthPolicy, SecondFactorKind, Session, TotpFactor, User,
};
use crate::oidc::authorize::{AuthorizeRequest, Refusal};
use crate::oidc::{OAuthError, tokens};

/// What a sign-in continues once the person is signed in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Continuation {
    /// An authorization request: its query string, validated again at every step.
    Authorize(String),
    /// A device's request (`http::device`): the code as typed (maybe empty, maybe wrong), and
    /// what the device's application asked of the sign-in when the person was sent back to
    /// sign in again for it (it can only raise what is required).
    Device {
        user_code: String,
        require: AuthPolicy,
    },
    /// The person's own account page (`http::account`).
    Account,
}

impl Continuation {
    /// From the fields a sign-in form carries.
    fn from_form(form: &StepForm) -> Continuation {
        Continuation::from_fields(&form.flow, &form.request, &form.user_code, &form.require)
    }

    /// From the hidden fields a sign-in form carries ([`Continuation::hidden`]).
    pub(super) fn from_fields(
        flow: &str,
        request: &str,
        user_code: &str,
        require: &str,
    ) -> Continuation {
        match flow {
            "device" => Continuation::Device {
                user_code: user_code.chars().take(64).collect(),
                require: require.parse().unwrap_or_default(),
            },
            "account" => Continuation::Account,
            _ => Continuation::Authorize(request.to_owned()),
        }
    }

    /// What a form token binds.
    fn bound(&self) -> String {
        match self {
            Continuation::Authorize(q) => format!("authorize:{q}"),
            Continuation::Device { user_code, require } => format!("device:{require}:{user_code}"),
            Continuation::Account => "account:".to_owned(),
        }
    }

    /// The hidden fields that carry it through a form.
    pub(super) fn hidden(&self) -> Vec<(&'static str, &str)> {
        match self {
            Continuation::Authorize(q) => vec![("request", q.as_str())],
            Continuation::Device { user_code, require } => vec![
                ("flow", "device"),
                ("user_code", user_code.as_str()),
                ("require", require.as_str()),
            ],
            Continuation::Account => vec![("flow", "account")],
        }
    }

    /// Gatehouse's own URL that picks it up again (after the recovery codes were shown).
    fn link(&self) -> String {
        match self {
            Continuation::Authorize(q) => format!("authorize?{q}"),
            Continuation::Device { user_code, .. } => {
                let code = crate::oidc::device::normalize(user_code)
                    .map(|c| crate::oidc::device::display(&c));
                match code {
                    Some(c) => format!("device?user_code={c}"),
                    None => "device".to_owned(),
                }
            }
            Continuation::Account => "account".to_owned(),
        }
    }
}

/// Where a sign-in goes: what it continues, for whom the pages name, and the client's
/// redirect URI when a step's form is answered with a redirect to it (CSP `form-action`).
pub(super) struct Destination<'a> {
    pub continuation: &'a Continuation,
    /// The application people see named on the pages.
    pub to: &'a str,
    pub redirect_uri: Option<&'a str>,
    /// The client, for the audit log, when known.
    pub client_id: Option<&'a str>,
}

/// What a right password led to.
pub(super) enum SignIn {
    /// Signed in: a new session, whose cookie the jar holds.
    Done(CookieJar, Session),
    /// The page of the next step, to send as it is.
    Page(Response),
}

/// What `user` must prove to sign in where `required` applies, with their groups' policies.
pub(super) async fn required_of(
    state: &AppState,
    user: &User,
    required: AuthPolicy,
) -> Result<AuthPolicy, OAuthError> {
    let groups = state
        .store
        .user_groups(&user.id)
        .await
        .map_err(store_error)?;
    Ok(policy::required(
        required,
        groups.iter().map(|g| g.auth_policy),
        None,
    ))
}

/// After a right password: the session, or the page of the step the policy asks for next.
pub(super) async fn after_password(
    state: &AppState,
    jar: CookieJar,
    peer: Peer,
    user: &User,
    required: AuthPolicy,
    to: &Destination<'_>,
) -> Result<SignIn, OAuthError> {
    let required = required_of(state, user, required).await?;
    let factors = state.store.factors(&user.id).await.map_err(store_error)?;
    match policy::after_password(required, &factors, state.passkeys().is_ok()) {
        AfterPassword::SignedIn(amr) => {
            let (jar, session) = start_session(state, jar, peer, user, amr, to.client_id).await?;
            Ok(SignIn::Done(jar, session))
        }
        AfterPassword::SecondFactor => {
            let page = second_factor_page(state, jar, user, to, None, StatusCode::OK).await?;
            Ok(SignIn::Page(page))
        }
        AfterPassword::Enrol => {
            let secret = totp::new_secret();
            let page = enrol_page(state, jar, user, to, &secret, None, StatusCode::OK).await?;
            Ok(SignIn::Page(page))
        }
        AfterPassword::PasskeysUnavailable => Err(OAuthError::ServerError(
            "this sign-in needs a passkey (the application requires one, or it is the person's \
             only second factor), and passkeys cannot work with this server's issuer (it is an \
             IP address): an administrator must give it a domain name, change the policy or \
             reset the person's second factors"
                .into(),
        )),
        AfterPassword::Passkey => {
            let (jar, token) = authorize::browser_form(state, jar, FormKind::Login).await?;
            let hidden = state.step_fields(&to.continuation.hidden());
            let html = pages::passkey_required(&state.look, to.to, &hidden, &token);
            let page = pages::respond_with_form_target(StatusCode::OK, html, to.redirect_uri);
            Ok(SignIn::Page((jar, page).into_response()))
        }
        AfterPassword::AddPasskey => {
            let page = passkey_enrol_page(state, jar, user, to, None).await?;
            Ok(SignIn::Page(page))
        }
    }
}

/// The page that adds a passkey during a sign-in where one is required.
async fn passkey_enrol_page(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    to: &Destination<'_>,
    error: Option<&str>,
) -> Result<Response, OAuthError> {
    let Some(csrf) = step_token(state, &jar, user, to, StepKind::AddPasskey).await? else {
        return Ok(expired(state, to.continuation));
    };
    let mut hidden = state.step_fields(&to.continuation.hidden());
    hidden.push(("username", &user.username));
    let html = pages::add_passkey_required(&state.look, to.to, &hidden, &csrf, error);
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let page = pages::respond_with_form_target(status, html, to.redirect_uri);
    Ok((jar, page).into_response())
}

/// POST /passkey/enrol-options: a registration challenge for the person of a passkey-adding
/// step (JSON, for the page's script).
pub(super) async fn passkey_enrol_options(
    Localized(state): Localized,
    jar: CookieJar,
    Form(form): Form<StepForm>,
) -> Response {
    match checked_step(&state, &jar, &form, StepKind::AddPasskey).await {
        Ok(step) => {
            let state = step.speaking(&state.chose(&form.chosen).keeping(&form.keep));
            super::passkey::registration_challenge(&state, &step.user).await
        }
        Err(_) => super::passkey::refused(
            StatusCode::BAD_REQUEST,
            state.look.text.sign_in.expired_start_again,
        ),
    }
}

/// POST /enrol-passkey: the new passkey of a passkey-adding step. Added, it signs the person in
/// (their password, and a passkey they just made with their fingerprint, face or PIN).
pub(super) async fn enrol_passkey(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<StepForm>,
) -> Response {
    let step = match checked_step(&state, &jar, &form, StepKind::AddPasskey).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let state = step.speaking(&state.chose(&form.chosen).keeping(&form.keep));
    let to = step.destination(state.look.text);
    let mut record = AuditRecord::new(
        state.now(),
        AuditKind::PasskeyAdded,
        format!("user:{}", step.user.id),
    )
    .subject(Some(step.user.username.as_str()))
    .stamped(&peer);
    if let Some(c) = to.client_id {
        record = record.client(c);
    }
    let added = super::passkey::finish_registration(
        &state,
        &step.user,
        super::passkey::NewPasskey {
            name: &form.name,
            challenge_id: &form.challenge_id,
            credential: &form.credential,
        },
        record,
    )
    .await;
    if let Err(message) = added {
        return passkey_enrol_page(&state, jar, &step.user, &to, Some(&message))
            .await
            .unwrap_or_else(|e| authorize::refuse(&state, Refusal::Page(e)));
    }
    let amr = Amr {
        password: true,
        ..Amr::PASSKEY
    };
    match start_session(&state, jar, peer.clone(), &step.user, amr, to.client_id).await {
        Ok((jar, session)) => signed_in(&state, peer, jar, &step, &session).await,
        Err(e) => authorize::refuse(&state, Refusal::Page(e)),
    }
}

/// Starts a session for `user`, signed in with `amr`, replacing the browser's previous one
/// (and the refresh tokens tied to it), with the sign-in's audit record in the same writer job;
/// kept when the person asked on the login form (`AppState::keeps`).
pub(super) async fn start_session(
    state: &AppState,
    jar: CookieJar,
    peer: Peer,
    user: &User,
    amr: Amr,
    client_id: Option<&str>,
) -> Result<(CookieJar, Session), OAuthError> {
    let now = state.now();
    let mut record = AuditRecord::new(now, AuditKind::LoginSucceeded, format!("user:{}", user.id))
        .subject(Some(user.username.as_str()))
        .stamped(&peer)
        .detail(match state.keeps() {
            true => format!("amr={} kept", amr.stored()),
            false => format!("amr={}", amr.stored()),
        });
    if let Some(c) = client_id {
        record = record.client(c);
    }
    let origin = Origin::of(&peer);
    let opening = Opening {
        amr,
        auth_time: now,
        kept: state.keeps(),
    };
    let (jar, session) = open_session(state, jar, user, opening, origin, Some(record)).await?;
    tracing::info!(client_id = client_id.unwrap_or("-"), user = %user.id, "login succeeded");
    metrics::counter!("gatehouse_logins_total", "outcome" => "success").increment(1);
    Ok((jar, session))
}

/// Where a session was signed in from, kept with it for its person to see.
#[derive(Debug, Clone)]
pub(super) struct Origin {
    /// The browser's `User-Agent`, as kept (`auth::browsers::kept`).
    pub user_agent: Option<String>,
    pub ip: Option<String>,
}

impl Origin {
    /// Where the request `peer` sent came from.
    pub(super) fn of(peer: &Peer) -> Origin {
        Origin {
            user_agent: peer.1.as_deref().map(str::to_owned),
            ip: peer.0.map(|ip| ip.to_string()),
        }
    }

    /// Where `session` was signed in from.
    pub(super) fn of_session(session: &Session) -> Origin {
        Origin {
            user_agent: session.user_agent.clone(),
            ip: session.ip.clone(),
        }
    }
}

/// What a new session is: how its person proved who they are, when, and whether they asked to
/// stay signed in on this device.
pub(super) struct Opening {
    pub amr: Amr,
    pub auth_time: UnixTime,
    pub kept: bool,
}

/// A new session for `user` in this browser, as `opening` says (signed in from `origin`):
/// stored, set as the browser's cookie for as long as it lasts, and the browser's previous
/// session (with the refresh tokens tied to it) ended, with `audit` in the same transaction. A
/// sign-in does this, and so does a password change for the browser that made it (every other
/// session of the person ends).
pub(super) async fn open_session(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    opening: Opening,
    origin: Origin,
    audit: Option<AuditRecord>,
) -> Result<(CookieJar, Session), OAuthError> {
    let now = state.now();
    let secret = tokens::generate();
    let kept = opening.kept && state.config.offers_keeping();
    let (ttl, _) = state.config.session_lifetime(kept);
    let session = Session {
        id_hash: tokens::hash(&secret),
        user_id: user.id.clone(),
        auth_time: opening.auth_time,
        amr: opening.amr,
        expires_at: now + ttl,
        last_seen_at: now,
        user_agent: origin.user_agent,
        ip: origin.ip,
        kept,
    };
    // A browser holds one session: the one it had (another user's, or the same user's before
    // `prompt=login`) ends now, and the refresh tokens tied to it with it.
    let names = state.config.cookie_names();
    let replaces = jar.get(names.session).map(|old| tokens::hash(old.value()));
    // The browser keeps its own id, so that a sign-in from one new to the person is told
    // (unless the operator turned that off).
    let browser = state.config.sign_in_notices.then(|| {
        jar.get(names.browser)
            .map(|c| c.value().to_owned())
            .filter(|id| session::is_browser_id(id))
            .unwrap_or_else(tokens::generate)
    });
    let known_as = browser.as_deref().map(tokens::hash);
    state
        .store
        .create_session(session.clone(), replaces, known_as, audit)
        .await
        .map_err(store_error)?;
    let secure = state.config.secure_cookies;
    let mut jar = jar.add(session::cookie(names.session, secret, secure, Some(ttl)));
    if let Some(browser) = browser {
        let age = Some(session::BROWSER_COOKIE_AGE);
        jar = jar.add(session::cookie(names.browser, browser, secure, age));
    }
    Ok((state.language_cookie(jar, user), session))
}

/// The browser's form cookie, which step tokens are bound to; the login form set it.
fn browser(state: &AppState, jar: &CookieJar) -> Option<String> {
    jar.get(state.config.cookie_names().form)
        .map(|c| c.value().to_owned())
}

async fn second_factor_page(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    to: &Destination<'_>,
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, OAuthError> {
    let Some(csrf) = step_token(state, &jar, user, to, StepKind::SecondFactor).await? else {
        return Ok(expired(state, to.continuation));
    };
    let factors = state.store.factors(&user.id).await.map_err(store_error)?;
    // A passkey signs the person in by itself, through the login form's own route: it needs
    // that form's token.
    let (jar, passkey) = if !factors.passkeys.is_empty() && state.passkeys().is_ok() {
        let (jar, token) = authorize::browser_form(state, jar, FormKind::Login).await?;
        (jar, Some(token))
    } else {
        (jar, None)
    };
    let mut hidden = state.step_fields(&to.continuation.hidden());
    hidden.push(("username", &user.username));
    let html = pages::second_factor(
        &state.look,
        to.to,
        &hidden,
        &csrf,
        error,
        factors.has_app(),
        passkey.as_deref(),
    );
    let page = pages::respond_with_form_target(status, html, to.redirect_uri);
    Ok((jar, page).into_response())
}

async fn enrol_page(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    to: &Destination<'_>,
    secret: &[u8],
    error: Option<&str>,
    status: StatusCode,
) -> Result<Response, OAuthError> {
    let text = totp::secret_text(secret);
    let compact = text.replace(' ', "");
    let Some(csrf) =
        step_token(state, &jar, user, to, StepKind::Enrol { secret: &compact }).await?
    else {
        return Ok(expired(state, to.continuation));
    };
    let uri = totp::provisioning_uri(secret, &app_label(&state.config.issuer), &user.username);
    let qr = pages::qr_svg(&state.look, &uri)
        .ok_or_else(|| super::error::internal("the authenticator URI does not fit a QR code"))?;
    let mut hidden = state.step_fields(&to.continuation.hidden());
    hidden.push(("username", &user.username));
    hidden.push(("secret", &compact));
    let form = pages::EnrolForm {
        action: "enrol",
        hidden: &hidden,
        csrf: &csrf,
    };
    let html = pages::enrol_totp(&state.look, to.to, &form, &qr, &text, error);
    let page = pages::respond_with_form_target(status, html, to.redirect_uri);
    Ok((jar, page).into_response())
}

/// What an authenticator app calls the account's issuer: the host people sign in at.
pub(super) fn app_label(issuer: &str) -> String {
    url::Url::parse(issuer)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_else(|| "gatehouse".to_owned())
}

/// The expired-form page of a step, with a way to start the sign-in again.
pub(super) fn expired(state: &AppState, continuation: &Continuation) -> Response {
    pages::expired_form(&state.look, Some(continuation.link()))
}

/// Why the login form is shown again.
pub(super) struct LoginAgain {
    pub message: &'static str,
    pub status: StatusCode,
}

/// The login form of what a sign-in continues, again, saying why (a refused passkey).
pub(super) async fn login_page(
    state: &AppState,
    jar: CookieJar,
    continuation: &Continuation,
    request: Option<&AuthorizeRequest>,
    again: LoginAgain,
) -> Response {
    match (continuation, request) {
        (Continuation::Authorize(query), Some(request)) => {
            authorize::login_form(
                state,
                jar,
                request,
                query,
                "",
                Some(again.message),
                again.status,
            )
            .await
        }
        (Continuation::Device { user_code, require }, _) => {
            let shown = super::device::LoginAgain {
                username: "",
                error: Some(again.message),
                require: *require,
            };
            super::device::login_page(state, jar, user_code, shown, again.status).await
        }
        (Continuation::Account, _) => {
            super::account::login_page(state, jar, "", Some(again.message), again.status).await
        }
        (Continuation::Authorize(_), None) => expired(state, continuation),
    }
}

/// The fields of the second-step forms.
#[derive(Deserialize)]
pub(super) struct StepForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    code: String,
    /// The enrolment page's secret (base32).
    #[serde(default)]
    secret: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    flow: String,
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    require: String,
    /// A new passkey's name, its ceremony, and the browser's answer (`POST /enrol-passkey`).
    #[serde(default)]
    name: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
    /// The language the login form was switched to (`AppState::chose`).
    #[serde(default)]
    chosen: String,
    /// `1` when the person ticked "Keep me signed in" on the login form (`AppState::keeping`).
    #[serde(default)]
    keep: String,
}

/// A step's form, checked: the continuation it carries (with its request validated, for an
/// authorization request), and the person it was issued for, still enabled.
struct Step {
    continuation: Continuation,
    request: Option<AuthorizeRequest>,
    user: User,
}

impl Step {
    /// The request's state, speaking to this step's person: in their own language, else in
    /// the one the application or the browser asked for.
    fn speaking(&self, state: &AppState) -> AppState {
        match &self.request {
            Some(request) => state.asked_for(&request.ui_locales).for_person(&self.user),
            None => state.for_person(&self.user),
        }
    }

    fn destination(&self, text: &'static pages::catalogue::Text) -> Destination<'_> {
        match &self.request {
            Some(r) => Destination {
                continuation: &self.continuation,
                to: &r.client_name,
                redirect_uri: Some(&r.redirect_uri),
                client_id: Some(&r.client_id),
            },
            None => Destination {
                continuation: &self.continuation,
                to: match self.continuation {
                    Continuation::Account => text.sign_in.your_account,
                    _ => text.device.your_device,
                },
                redirect_uri: None,
                client_id: None,
            },
        }
    }
}

/// Which step a form is for: what its token is bound to besides the person and the flow.
#[derive(Debug, Clone, Copy)]
enum StepKind<'a> {
    SecondFactor,
    /// Setting up an app, with the secret the page showed.
    Enrol {
        secret: &'a str,
    },
    /// Adding a passkey where one is required.
    AddPasskey,
}

impl<'a> StepKind<'a> {
    /// The form-token purpose of this step for `browser`, `username` and the continuation.
    fn purpose(self, browser: &'a str, username: &'a str, continuation: &'a str) -> Purpose<'a> {
        match self {
            StepKind::SecondFactor => Purpose::SecondFactor {
                browser,
                username,
                continuation,
            },
            StepKind::Enrol { secret } => Purpose::Enrol {
                browser,
                username,
                continuation,
                secret,
            },
            StepKind::AddPasskey => Purpose::PasskeyEnrol {
                browser,
                username,
                continuation,
            },
        }
    }
}

/// The form token of `user`'s step `kind` towards `to`, bound to this browser; `None` when the
/// browser has no form cookie (the login form sets it, so the form is stale).
async fn step_token(
    state: &AppState,
    jar: &CookieJar,
    user: &User,
    to: &Destination<'_>,
    kind: StepKind<'_>,
) -> Result<Option<String>, OAuthError> {
    let Some(browser) = browser(state, jar) else {
        return Ok(None);
    };
    let key = state.form_key().await.map_err(store_error)?;
    let bound = to.continuation.bound();
    let purpose = kind.purpose(&browser, &user.username, &bound);
    Ok(Some(forms::issue(&key, purpose, state.now())))
}

/// Checks a step's form token for `kind` (bound to the browser, the person and what the
/// sign-in continues) and loads what it names. `Err` is the response to send: an expired form,
/// or a refused request.
async fn checked_step(
    state: &AppState,
    jar: &CookieJar,
    form: &StepForm,
    kind: StepKind<'_>,
) -> Result<Step, Response> {
    let continuation = Continuation::from_form(form);
    let request = match &continuation {
        Continuation::Authorize(q) => Some(
            authorize::checked_request(state, q, None)
                .await
                .map_err(|refusal| authorize::refuse(state, refusal))?,
        ),
        Continuation::Device { .. } | Continuation::Account => None,
    };
    let failed = |e: OAuthError| match &request {
        Some(r) => authorize::refuse(state, authorize::redirect_error(r, e)),
        None => authorize::refuse(state, Refusal::Page(e)),
    };
    let Some(browser) = browser(state, jar) else {
        return Err(expired(state, &continuation));
    };
    let key = state.form_key().await.map_err(|e| failed(store_error(e)))?;
    let bound = continuation.bound();
    let purpose = kind.purpose(&browser, &form.username, &bound);
    if !forms::verify(&key, purpose, &form.csrf, state.now()) {
        return Err(expired(state, &continuation));
    }
    // Disabled or removed since the password: the sign-in cannot be finished.
    let user = state
        .store
        .user_by_username(&form.username)
        .await
        .map_err(|e| failed(store_error(e)))?
        .filter(|u| !u.disabled)
        .ok_or_else(|| expired(state, &continuation))?;
    Ok(Step {
        continuation,
        request,
        user,
    })
}

/// POST /verify: the second factor.
pub(super) async fn verify(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<StepForm>,
) -> Response {
    let step = match checked_step(&state, &jar, &form, StepKind::SecondFactor).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let state = step.speaking(&state.chose(&form.chosen).keeping(&form.keep));
    let to = step.destination(state.look.text);
    let user = &step.user;
    let now = state.now();
    let keys = throttle::second_factor_keys(&user.id, peer.0, state.config.account_throttle);
    match state.store.admit_login_attempt(keys.clone(), now).await {
        Ok(Admission::Admitted(_)) => {}
        Ok(Admission::Blocked { until, key }) => {
            metrics::counter!("gatehouse_logins_total", "outcome" => "throttled").increment(1);
            let t = &state.look.text;
            let wait = (t.sign_in.wait)(until - now);
            // The person's own lockout (`keys[0]`) is what an administrator can lift.
            let message = if throttle::lifted_by_an_administrator(&key, until, now, &keys[0]) {
                (t.second_factor.codes_locked_out)(&wait)
            } else {
                (t.second_factor.too_many_codes)(&wait)
            };
            return ask_again(
                &state,
                jar,
                user,
                &to,
                &message,
                StatusCode::TOO_MANY_REQUESTS,
            )
            .await;
        }
        Err(e) => return authorize::refuse(&state, Refusal::Page(store_error(e))),
    }
    let record = |kind: AuditKind| {
        let r = AuditRecord::new(now, kind, format!("user:{}", user.id))
            .subject(Some(user.username.as_str()))
            .stamped(&peer);
        match to.client_id {
            Some(c) => r.client(c),
            None => r,
        }
    };
    let accepted = match spend_code(&state, user, &form.code, now, record).await {
        Ok(a) => a,
        Err(e) => return authorize::refuse(&state, Refusal::Page(store_error(e))),
    };
    let Ok(kind) = accepted else {
        let why = accepted.err().unwrap_or("wrong");
        tracing::info!(user = %user.id, why, "second factor refused");
        metrics::counter!("gatehouse_logins_total", "outcome" => "failure").increment(1);
        state
            .audit(record(AuditKind::SecondFactorFailed).detail(why))
            .await;
        let message = state.look.text.second_factor.wrong_code;
        return ask_again(&state, jar, user, &to, message, StatusCode::UNAUTHORIZED).await;
    };
    if let Err(e) = state.store.settle_login_success(keys).await {
        tracing::warn!(error = %e, "could not settle the second factor's counters");
    }
    tracing::debug!(user = %user.id, ?kind, "second factor accepted");
    let (jar, session) = match start_session(
        &state,
        jar,
        peer.clone(),
        user,
        Amr::PASSWORD_AND_OTP,
        to.client_id,
    )
    .await
    {
        Ok(s) => s,
        Err(e) => return authorize::refuse(&state, Refusal::Page(e)),
    };
    signed_in(&state, peer, jar, &step, &session).await
}

/// The second-factor page again, saying what went wrong.
async fn ask_again(
    state: &AppState,
    jar: CookieJar,
    user: &User,
    to: &Destination<'_>,
    error: &str,
    status: StatusCode,
) -> Response {
    second_factor_page(state, jar, user, to, Some(error), status)
        .await
        .unwrap_or_else(|e| authorize::refuse(state, Refusal::Page(e)))
}

/// Checks `typed` against the person's factors and spends it: a recovery code by its hash,
/// an app's code by claiming its time step. `Ok(Err(why))` when it is refused.
async fn spend_code(
    state: &AppState,
    user: &User,
    typed: &str,
    now: i64,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Result<Result<SecondFactorKind, &'static str>, crate::store::StoreError> {
    if let Some(hash) = recovery::hash(typed) {
        let used = state
            .store
            .use_recovery_code(&user.id, &hash, record(AuditKind::RecoveryCodeUsed))
            .await?;
        return Ok(if used {
            Ok(SecondFactorKind::RecoveryCode)
        } else {
            Err("unknown or used recovery code")
        });
    }
    let Some(factor) = state.store.totp_factor(&user.id).await? else {
        return Ok(Err("no authenticator app"));
    };
    Ok(
        match totp::check(&factor.secret, typed, now, factor.last_step) {
            totp::Check::Accepted { step } => {
                if state.store.claim_totp_step(&user.id, step).await? {
                    Ok(SecondFactorKind::Totp)
                } else {
                    Err("code used by a concurrent sign-in")
                }
            }
            totp::Check::Replayed => Err("code used before"),
            totp::Check::Wrong => Err("wrong code"),
        },
    )
}

/// POST /enrol: the first code of a new authenticator app.
pub(super) async fn enrol(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<StepForm>,
) -> Response {
    let compact: String = form.secret.chars().take(64).collect();
    let step = match checked_step(&state, &jar, &form, StepKind::Enrol { secret: &compact }).await {
        Ok(s) => s,
        Err(r) => return r,
    };
    let state = step.speaking(&state.chose(&form.chosen).keeping(&form.keep));
    let to = step.destination(state.look.text);
    let user = &step.user;
    let now = state.now();
    let Some(secret) = totp::secret_from_text(&compact) else {
        return expired(&state, &step.continuation);
    };
    let totp::Check::Accepted { step: first_step } = totp::check(&secret, &form.code, now, None)
    else {
        let error = state.look.text.app.wrong_setup_code;
        return enrol_page(
            &state,
            jar,
            user,
            &to,
            &secret,
            Some(error),
            StatusCode::BAD_REQUEST,
        )
        .await
        .unwrap_or_else(|e| authorize::refuse(&state, Refusal::Page(e)));
    };
    let codes = recovery::generate();
    let hashes = codes.iter().filter_map(|c| recovery::hash(c)).collect();
    let factor = TotpFactor {
        user_id: user.id.clone(),
        secret,
        created_at: now,
        last_step: Some(first_step),
    };
    let mut record = AuditRecord::new(now, AuditKind::TotpEnrolled, format!("user:{}", user.id))
        .subject(Some(user.username.as_str()))
        .stamped(&peer);
    if let Some(c) = to.client_id {
        record = record.client(c);
    }
    match state.store.enrol_totp(factor, hashes, record).await {
        Ok(true) => {}
        // Enrolled meanwhile (another window): that app is the one to use now.
        Ok(false) => {
            let error = state.look.text.second_factor.app_set_up_meanwhile;
            return ask_again(&state, jar, user, &to, error, StatusCode::CONFLICT).await;
        }
        Err(e) => return authorize::refuse(&state, Refusal::Page(store_error(e))),
    }
    let (jar, _) =
        match start_session(&state, jar, peer, user, Amr::PASSWORD_AND_OTP, to.client_id).await {
            Ok(s) => s,
            Err(e) => return authorize::refuse(&state, Refusal::Page(e)),
        };
    let html = pages::recovery_codes(&state.look, to.to, &codes, &step.continuation.link());
    (jar, pages::respond(StatusCode::OK, html)).into_response()
}

/// Signed in at the end of a step: on to what the sign-in continues.
async fn signed_in(
    state: &AppState,
    peer: Peer,
    jar: CookieJar,
    step: &Step,
    session: &Session,
) -> Response {
    let request = step.request.as_ref();
    continue_after(
        state,
        peer,
        jar,
        &step.continuation,
        request,
        &step.user,
        session,
    )
    .await
}

/// Signed in (by a step, or a passkey): on to what the sign-in continues.
pub(super) async fn continue_after(
    state: &AppState,
    peer: Peer,
    jar: CookieJar,
    continuation: &Continuation,
    request: Option<&AuthorizeRequest>,
    user: &User,
    session: &Session,
) -> Response {
    match (continuation, request) {
        (Continuation::Authorize(query), Some(request)) => {
            authorize::signed_in(state, peer, jar, request, query, user, session).await
        }
        (Continuation::Device { user_code, .. }, _) => {
            super::device::signed_in(state, peer, jar, session, user, user_code).await
        }
        (Continuation::Account, _) => super::account::signed_in(jar),
        (Continuation::Authorize(_), None) => expired(state, continuation),
    }
}
