//! Passkeys over HTTP: a challenge for the login page's button (`POST /passkey/options`) and
//! its answer (`POST /passkey`, an ordinary form that signs the person in and continues like
//! the password form), a challenge for the account page's "Add a passkey"
//! (`POST /passkey/register-options`, whose answer the account page takes), and the script
//! both pages load (`GET /static/passkeys.js`). The checks are `auth::passkeys`'.

use std::num::NonZeroU32;
use std::sync::LazyLock;
use std::time::Duration;

use axum::Form;
use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Localized;
use super::Stamped;
use super::assets::Asset;
use super::authorize::{self, FormKind, browser_form_ok, current_session};
use super::error::{no_store, store_error};
use super::signin::{self, Continuation};
use super::{AppState, Peer};
use crate::auth::forms::{self, Purpose};
use crate::auth::passkeys::{self, CEREMONY_SECONDS, PasskeyError};
use crate::model::{Amr, AuditKind, AuditRecord, Challenge, ChallengeKind, StoredPasskey, User};
use crate::oidc::authorize::Refusal;
use crate::oidc::tokens;

/// Passkey sign-ins one address may start at once, then one more every [`STARTS_PERIOD`]:
/// each keeps a challenge for five minutes, and anyone may ask.
pub(super) const STARTS_BURST: NonZeroU32 = NonZeroU32::MIN.saturating_add(19);
pub(super) const STARTS_PERIOD: Duration = Duration::from_secs(3);

/// The script both pages load, versioned by its content (see `assets`).
pub(super) static SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        &include_bytes!("../../static/passkeys.js")[..],
        "text/javascript; charset=utf-8",
    )
});

/// Where pages load it from, relative to the issuer.
pub(super) const SCRIPT_PATH: &str = "static/passkeys.js";

/// GET /static/passkeys.js
pub(super) async fn script(uri: Uri, headers: HeaderMap) -> Response {
    SCRIPT.respond(&uri, &headers)
}

/// A JSON refusal the page's script shows as it is.
pub(super) fn refused(status: StatusCode, message: &str) -> Response {
    no_store((status, Json(serde_json::json!({ "error": message }))).into_response())
}

#[derive(Deserialize)]
pub(super) struct OptionsForm {
    #[serde(default)]
    csrf: String,
}

/// Keeps a ceremony's state and answers the page with the options for the browser.
pub(super) async fn challenge(
    state: &AppState,
    kind: ChallengeKind,
    user_id: Option<String>,
    options: serde_json::Value,
    kept: String,
) -> Response {
    let id = tokens::generate();
    let challenge = Challenge {
        id_hash: tokens::hash(&id),
        kind,
        user_id,
        state: kept,
        expires_at: state.now() + CEREMONY_SECONDS,
    };
    if let Err(e) = state.store.create_challenge(challenge).await {
        tracing::warn!(error = %e, "could not keep a passkey challenge");
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            state.look.text.passkey.busy,
        );
    }
    no_store(Json(serde_json::json!({ "challenge_id": id, "options": options })).into_response())
}

/// POST /passkey/options: a sign-in challenge, for a login form gatehouse showed this browser.
pub(super) async fn options(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<OptionsForm>,
) -> Response {
    let Ok(authority) = state.passkeys() else {
        return refused(StatusCode::NOT_FOUND, state.look.text.passkey.unavailable);
    };
    if let Some(refusal) = page_form_refused(&state, &jar, &form.csrf).await {
        return refusal;
    }
    if let Err(wait) = state.passkey_starts.admit(peer.0) {
        let mut r = refused(
            StatusCode::TOO_MANY_REQUESTS,
            &(state.look.text.passkey.too_many_starts)(wait),
        );
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    match authority.start_sign_in() {
        Ok((options, kept)) => {
            challenge(&state, ChallengeKind::Authenticate, None, options, kept).await
        }
        Err(e) => {
            tracing::error!(error = ?e, "could not make a passkey challenge");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                state.look.text.passkey.could_not_use,
            )
        }
    }
}

/// Why a ceremony is not started for a page of the sign-in (a login form, a link's page) whose
/// form token `csrf` is: none when the token is this browser's and fresh.
pub(super) async fn page_form_refused(
    state: &AppState,
    jar: &CookieJar,
    csrf: &str,
) -> Option<Response> {
    match browser_form_ok(state, jar, FormKind::Login, csrf, state.now()).await {
        Ok(true) => None,
        Ok(false) => Some(refused(
            StatusCode::BAD_REQUEST,
            state.look.text.passkey.page_expired,
        )),
        Err(e) => {
            tracing::warn!(error = ?e, "could not check a page's form token");
            Some(refused(
                StatusCode::SERVICE_UNAVAILABLE,
                state.look.text.passkey.busy,
            ))
        }
    }
}

/// POST /passkey/register-options: a registration challenge for the signed-in person, from
/// their account page (its form's token, and a recent sign-in).
pub(super) async fn register_options(
    Localized(state): Localized,
    jar: CookieJar,
    Form(form): Form<OptionsForm>,
) -> Response {
    if state.passkeys().is_err() {
        return refused(StatusCode::NOT_FOUND, state.look.text.passkey.unavailable);
    }
    let now = state.now();
    let Ok(Some((session, user))) = current_session(&state, &jar, now).await else {
        return refused(
            StatusCode::UNAUTHORIZED,
            state.look.text.passkey.signed_out_reload,
        );
    };
    let Ok(key) = state.form_key().await else {
        return refused(
            StatusCode::SERVICE_UNAVAILABLE,
            state.look.text.passkey.busy,
        );
    };
    let purpose = Purpose::Account {
        session: &session.id_hash,
    };
    if !forms::verify(&key, purpose, &form.csrf, now) {
        return refused(
            StatusCode::BAD_REQUEST,
            state.look.text.passkey.page_expired,
        );
    }
    if now - session.auth_time > super::account::RECENT {
        return refused(
            StatusCode::FORBIDDEN,
            state.look.text.account.sign_in_again_first,
        );
    }
    registration_challenge(&state, &user).await
}

/// A registration challenge for `user` (whose right to one the caller checked), excluding the
/// passkeys they have: the options for the page's script.
pub(super) async fn registration_challenge(state: &AppState, user: &User) -> Response {
    let Ok(authority) = state.passkeys() else {
        return refused(StatusCode::NOT_FOUND, state.look.text.passkey.unavailable);
    };
    let existing = match state.store.passkeys(&user.id).await {
        Ok(keys) => keys
            .into_iter()
            .map(|k| k.credential_id)
            .collect::<Vec<_>>(),
        Err(e) => {
            tracing::warn!(error = %e, "could not read the person's passkeys");
            return refused(
                StatusCode::SERVICE_UNAVAILABLE,
                state.look.text.passkey.busy,
            );
        }
    };
    let display = user.name.clone().unwrap_or_else(|| user.username.clone());
    match authority.start_registration(
        passkeys::user_handle(&user.id),
        &user.username,
        &display,
        &existing,
    ) {
        Ok((options, kept)) => {
            let user_id = Some(user.id.clone());
            challenge(state, ChallengeKind::Register, user_id, options, kept).await
        }
        Err(e) => {
            tracing::error!(error = ?e, "could not make a passkey registration challenge");
            refused(
                StatusCode::INTERNAL_SERVER_ERROR,
                state.look.text.passkey.could_not_add,
            )
        }
    }
}

/// What a page sends to add a passkey: its name, the ceremony it answers, the browser's answer.
pub(super) struct NewPasskey<'a> {
    pub name: &'a str,
    pub challenge_id: &'a str,
    pub credential: &'a str,
}

/// Finishes adding a passkey for `user`: checked, stored, audited with `record`. The name it
/// got, or what to tell the person.
///
/// # Errors
/// Why it was not added, in words for the person.
pub(super) async fn finish_registration(
    state: &AppState,
    user: &User,
    new: NewPasskey<'_>,
    record: AuditRecord,
) -> Result<String, String> {
    let passkey = verified_passkey(state, user, new).await?;
    let name = passkey.name.clone();
    let record = record.detail(format!("passkey {name:?}"));
    match state.store.add_passkey(passkey, record).await {
        Ok(true) => Ok(name),
        Ok(false) => Err(state.look.text.passkey.registered_already.into()),
        Err(e) => {
            tracing::warn!(error = %e, "could not store a passkey");
            Err(state.look.text.passkey.busy_not_added.into())
        }
    }
}

/// The passkey `new` makes for `user`, its ceremony's challenge taken (it was `user`'s) and
/// the browser's answer verified; not stored yet.
///
/// # Errors
/// Why it cannot be added, in words for the person.
pub(super) async fn verified_passkey(
    state: &AppState,
    user: &User,
    new: NewPasskey<'_>,
) -> Result<StoredPasskey, String> {
    let theirs = |c: Challenge| {
        (c.user_id.as_deref() == Some(user.id.as_str())).then(|| (user.id.clone(), c.state))
    };
    registered(state, new, ChallengeKind::Register, theirs).await
}

/// The passkey `new` makes, its ceremony (of `kind`) taken and the browser's answer verified;
/// not stored yet. `whose` says, of the ceremony taken, for which account it was and the
/// library's state, or `None` when it is not one this page began (another person's, another
/// link's): then nothing is added, as for a ceremony that took too long.
///
/// # Errors
/// Why it cannot be added, in words for the person.
pub(super) async fn registered(
    state: &AppState,
    new: NewPasskey<'_>,
    kind: ChallengeKind,
    whose: impl FnOnce(Challenge) -> Option<(String, String)>,
) -> Result<StoredPasskey, String> {
    let Ok(authority) = state.passkeys() else {
        return Err(state.look.text.passkey.unavailable.into());
    };
    if new.credential.is_empty() {
        return Err(state.look.text.passkey.no_browser_answer.into());
    }
    let t = &state.look.text.passkey;
    let name = match passkeys::clean_name(new.name) {
        Ok(Some(name)) => name,
        Ok(None) => t.default_name.to_owned(),
        Err(passkeys::NameProblem::TooLong) => return Err((t.name_too_long)(passkeys::MAX_NAME)),
        Err(passkeys::NameProblem::Unprintable) => return Err(t.name_unprintable.to_owned()),
    };
    let now = state.now();
    let taken = state
        .store
        .take_challenge(&tokens::hash(new.challenge_id), kind, now)
        .await;
    let (user_id, registration) = match taken {
        Ok(found) => found
            .and_then(whose)
            .ok_or_else(|| state.look.text.passkey.add_took_too_long.to_owned())?,
        Err(e) => {
            tracing::warn!(error = %e, "could not take a passkey challenge");
            return Err(state.look.text.passkey.busy_not_added.into());
        }
    };
    let (credential_id, data) = authority
        .finish_registration(new.credential, &registration)
        .map_err(|e| {
            tracing::info!(user = %user_id, error = ?e, "passkey registration refused");
            state.look.text.passkey.not_verified_not_added.to_owned()
        })?;
    Ok(StoredPasskey {
        credential_id,
        user_id,
        name,
        data,
        created_at: now,
        last_used_at: None,
    })
}

#[derive(Deserialize)]
pub(super) struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
    #[serde(default)]
    request: String,
    #[serde(default)]
    flow: String,
    #[serde(default)]
    user_code: String,
    #[serde(default)]
    require: String,
    /// The language the login form was switched to (`AppState::chose`).
    #[serde(default)]
    chosen: String,
    /// `1` when "Keep me signed in" is ticked on the login form (`AppState::keeping`).
    #[serde(default)]
    keep: String,
}

/// POST /passkey: the answer to a sign-in challenge. A right one signs the person in (both
/// factors at once) and continues like the password form; any other shows the login form
/// again, saying why, with nothing changed.
pub(super) async fn sign_in(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<SignInForm>,
) -> Response {
    let state = state.chose(&form.chosen).keeping(&form.keep);
    let continuation =
        Continuation::from_fields(&form.flow, &form.request, &form.user_code, &form.require);
    let request = match &continuation {
        Continuation::Authorize(q) => match authorize::checked_request(&state, q, None).await {
            Ok(r) => Some(r),
            Err(refusal) => return authorize::refuse(&state, refusal),
        },
        _ => None,
    };
    let state = match &request {
        Some(request) => state.asked_for(&request.ui_locales),
        None => state,
    };
    let now = state.now();
    match browser_form_ok(&state, &jar, FormKind::Login, &form.csrf, now).await {
        Ok(true) => {}
        Ok(false) => return signin::expired(&state, &continuation),
        Err(e) => return authorize::refuse(&state, Refusal::Page(e)),
    }
    let again = |message: &'static str| signin::LoginAgain {
        message,
        status: StatusCode::UNAUTHORIZED,
    };
    let Ok(authority) = state.passkeys() else {
        let a = again(state.look.text.passkey.unavailable_use_password);
        return signin::login_page(&state, jar, &continuation, request.as_ref(), a).await;
    };
    let taken = state
        .store
        .take_challenge(
            &tokens::hash(&form.challenge_id),
            ChallengeKind::Authenticate,
            now,
        )
        .await;
    let challenge = match taken {
        Ok(Some(c)) => c,
        Ok(None) => {
            let a = again(state.look.text.passkey.sign_in_took_too_long);
            return signin::login_page(&state, jar, &continuation, request.as_ref(), a).await;
        }
        Err(e) => return authorize::refuse(&state, Refusal::Page(store_error(e))),
    };
    let found = match authority.identify(&form.credential) {
        Ok((handle, id)) => match state.store.passkey(&id).await {
            Ok(found) => found.filter(|(key, user)| {
                passkeys::user_handle(&key.user_id) == handle && !user.disabled
            }),
            Err(e) => return authorize::refuse(&state, Refusal::Page(store_error(e))),
        },
        Err(e) => {
            tracing::info!(error = %e, detail = ?e, "passkey answer refused");
            None
        }
    };
    let Some((key, user)) = found else {
        let a = again(state.look.text.passkey.not_registered);
        return signin::login_page(&state, jar, &continuation, request.as_ref(), a).await;
    };
    let client_id = request.as_ref().map(|r| r.client_id.as_str());
    let updated = match authority.finish_sign_in(&form.credential, &challenge.state, &key.data) {
        Ok(updated) => updated,
        Err(e) => {
            let detail = match &e {
                PasskeyError::Malformed(d) | PasskeyError::Refused(d) => d.clone(),
            };
            tracing::info!(user = %user.id, detail, "passkey refused");
            let mut record =
                AuditRecord::new(now, AuditKind::PasskeyRefused, format!("user:{}", user.id))
                    .subject(Some(user.username.as_str()))
                    .stamped(&peer)
                    .detail(format!("passkey {:?}: {detail}", key.name));
            if let Some(c) = client_id {
                record = record.client(c);
            }
            state.audit(record).await;
            let a = again(state.look.text.passkey.not_verified);
            return signin::login_page(&state, jar, &continuation, request.as_ref(), a).await;
        }
    };
    if let Err(e) = state
        .store
        .passkey_used(&key.credential_id, updated, now)
        .await
    {
        tracing::warn!(error = %e, "could not record the passkey's use");
    }
    // Proved: their own language from here on (not before, which would tell whoever
    // presented a passkey's id which language its account speaks).
    let state = state.for_person(&user);
    match signin::start_session(&state, jar, peer.clone(), &user, Amr::PASSKEY, client_id).await {
        Ok((jar, session)) => {
            signin::continue_after(
                &state,
                peer,
                jar,
                &continuation,
                request.as_ref(),
                &user,
                &session,
            )
            .await
        }
        Err(e) => authorize::refuse(&state, Refusal::Page(e)),
    }
}
