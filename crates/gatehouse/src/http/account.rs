//! `/account`: the signed-in person's own page. Today it holds two-step verification: setting
//! up an authenticator app (or a new one in place of the old), removing it where no group
//! requires one, and making new recovery codes.
//!
//! Every form is bound to the session (`auth::forms::Purpose::Account`), and a change needs a
//! recent sign-in ([`RECENT`]): a session left open on a shared computer, or one stolen, cannot
//! take the second factor off the account or read a fresh set of recovery codes without the
//! password (and the app) again.

use axum::Form;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::authorize::{
    Attempt, FormKind, SignInRefused, browser_form, check_password, current_session, refuse,
};
use super::error::store_error;
use super::signin::{self, Continuation, Destination, SignIn};
use super::{AppState, Peer, pages};
use crate::auth::forms::{self, Purpose};
use crate::auth::{recovery, totp};
use crate::model::{AuditKind, AuditRecord, AuthPolicy, PasskeyView, Session, TotpFactor, User};
use crate::oidc::OAuthError;
use crate::oidc::authorize::Refusal;

/// How recent a sign-in must be to change what protects the account.
pub(super) const RECENT: i64 = 600;

/// GET /account: the page, or the login form that comes back to it.
pub(super) async fn page(State(state): State<AppState>, jar: CookieJar) -> Response {
    match current_session(&state, &jar, state.now()).await {
        Ok(Some((session, user))) => show(&state, jar, &session, &user, None).await,
        Ok(None) => login_page(&state, jar, "", None, StatusCode::OK).await,
        Err(e) => failed(&state, e),
    }
}

/// The login form's answer when it continued to the account page (`http::authorize::login`).
pub(super) async fn login(state: &AppState, jar: CookieJar, attempt: Attempt<'_>) -> Response {
    let (peer, username) = (attempt.peer, attempt.username.to_owned());
    let user = match check_password(state, attempt).await {
        Ok(user) => user,
        Err(SignInRefused::Retry(status, message)) => {
            return login_page(state, jar, &username, Some(&message), status).await;
        }
        Err(SignInRefused::Failed(e)) => return failed(state, e),
    };
    let to = Destination {
        continuation: &Continuation::Account,
        to: "your account",
        redirect_uri: None,
        client_id: None,
    };
    match signin::after_password(state, jar, peer, &user, AuthPolicy::Password, &to).await {
        Ok(SignIn::Done(jar, _)) => signed_in(jar),
        Ok(SignIn::Page(page)) => page,
        Err(e) => failed(state, e),
    }
}

/// Signed in for the account page: back to it.
pub(super) fn signed_in(jar: CookieJar) -> Response {
    (jar, Redirect::to("account")).into_response()
}

#[derive(Deserialize)]
pub(super) struct AccountForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    code: String,
    #[serde(default)]
    secret: String,
    /// A new passkey's name, the ceremony it answers, and the browser's answer.
    #[serde(default)]
    name: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
    /// The passkey to remove.
    #[serde(default)]
    credential_id: String,
}

/// POST /account: one of the page's buttons.
pub(super) async fn act(
    State(state): State<AppState>,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<AccountForm>,
) -> Response {
    let now = state.now();
    let (session, user) = match current_session(&state, &jar, now).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let message = "You are signed out. Sign in to manage your account.";
            return login_page(&state, jar, "", Some(message), StatusCode::OK).await;
        }
        Err(e) => return failed(&state, e),
    };
    let key = match state.form_key().await {
        Ok(k) => k,
        Err(e) => return failed(&state, store_error(e)),
    };
    let secret: String = form.secret.chars().take(64).collect();
    let purpose = if form.action == "confirm_app" {
        Purpose::AccountEnrol {
            session: &session.id_hash,
            secret: &secret,
        }
    } else {
        Purpose::Account {
            session: &session.id_hash,
        }
    };
    if !forms::verify(&key, purpose, &form.csrf, now) {
        return pages::expired_form(Some("account".to_owned()));
    }
    if form.action == "sign_in_again" {
        return login_page(&state, jar, &user.username, None, StatusCode::OK).await;
    }
    if now - session.auth_time > RECENT {
        let notice = "Sign in again first: your last sign-in was more than 10 minutes ago.";
        return show(&state, jar, &session, &user, Some(notice)).await;
    }
    let record = |kind| {
        AuditRecord::new(now, kind, format!("user:{}", user.id))
            .subject(Some(user.username.as_str()))
            .ip(peer.0)
    };
    let factors = match state.store.factors(&user.id).await {
        Ok(f) => f,
        Err(e) => return failed(&state, store_error(e)),
    };
    match form.action.as_str() {
        "setup_app" => enrol_page(&state, jar, &session, &user, &totp::new_secret(), None).await,
        "confirm_app" => {
            let Some(bytes) = totp::secret_from_text(&secret) else {
                return pages::expired_form(Some("account".to_owned()));
            };
            let totp::Check::Accepted { step } = totp::check(&bytes, &form.code, now, None) else {
                let error = "That code is not right. Check that the app added the account, \
                             and enter the code it shows now.";
                return enrol_page(&state, jar, &session, &user, &bytes, Some(error)).await;
            };
            let codes = recovery::generate();
            let hashes = codes.iter().filter_map(|c| recovery::hash(c)).collect();
            let factor = TotpFactor {
                user_id: user.id.clone(),
                secret: bytes,
                created_at: now,
                last_step: Some(step),
            };
            let kind = if factors.has_app() {
                AuditKind::TotpReplaced
            } else {
                AuditKind::TotpEnrolled
            };
            if let Err(e) = state.store.replace_totp(factor, hashes, record(kind)).await {
                return failed(&state, store_error(e));
            }
            let html = pages::recovery_codes("your account", &codes, "account");
            (jar, pages::respond(StatusCode::OK, html)).into_response()
        }
        "remove_app" => {
            let required = match signin::required_of(&state, &user, AuthPolicy::Password).await {
                Ok(r) => r,
                Err(e) => return failed(&state, e),
            };
            // A passkey is a second factor too: with one, the app may go.
            if required >= AuthPolicy::TwoFactor && factors.passkeys.is_empty() {
                let notice = "A group you are in requires two-step verification, so the app \
                              cannot be removed. You can set up a new app in its place, or add \
                              a passkey first.";
                return show(&state, jar, &session, &user, Some(notice)).await;
            }
            if let Err(e) = state
                .store
                .remove_totp(&user.id, record(AuditKind::TotpRemoved))
                .await
            {
                return failed(&state, store_error(e));
            }
            let notice = if factors.passkeys.is_empty() {
                "The authenticator app and your recovery codes are removed: signing in takes \
                 your password only."
            } else {
                "The authenticator app and your recovery codes are removed: after your \
                 password, you use your passkey."
            };
            show(&state, jar, &session, &user, Some(notice)).await
        }
        "add_passkey" => {
            let notice = add_passkey(&state, &user, &form, record(AuditKind::PasskeyAdded)).await;
            show(&state, jar, &session, &user, Some(&notice)).await
        }
        "remove_passkey" => {
            let removed = state
                .store
                .remove_passkey(
                    &user.id,
                    &form.credential_id,
                    record(AuditKind::PasskeyRemoved).detail(format!(
                        "credential {}",
                        form.credential_id.chars().take(128).collect::<String>()
                    )),
                )
                .await;
            let notice = match removed {
                Ok(true) => "The passkey is removed: it no longer signs you in.",
                Ok(false) => "There is no such passkey on your account.",
                Err(e) => return failed(&state, store_error(e)),
            };
            show(&state, jar, &session, &user, Some(notice)).await
        }
        "new_codes" if factors.has_app() => {
            let codes = recovery::generate();
            let hashes = codes.iter().filter_map(|c| recovery::hash(c)).collect();
            if let Err(e) = state
                .store
                .replace_recovery_codes(
                    &user.id,
                    hashes,
                    now,
                    record(AuditKind::RecoveryCodesRegenerated),
                )
                .await
            {
                return failed(&state, store_error(e));
            }
            let html = pages::recovery_codes("your account", &codes, "account");
            (jar, pages::respond(StatusCode::OK, html)).into_response()
        }
        _ => {
            let page = pages::ErrorPage {
                title: "This form is incomplete",
                what_happened: "It did not say what to do, so nothing was changed.",
                what_next: "Go back to your account and choose again.",
                link: Some(("Back to your account", "account".to_owned())),
                detail: None,
            };
            pages::respond(StatusCode::BAD_REQUEST, page.render())
        }
    }
}

/// Finishes adding a passkey from the account page's form; what to tell the person.
async fn add_passkey(
    state: &AppState,
    user: &User,
    form: &AccountForm,
    record: AuditRecord,
) -> String {
    let new = super::passkey::NewPasskey {
        name: &form.name,
        challenge_id: &form.challenge_id,
        credential: &form.credential,
    };
    match super::passkey::finish_registration(state, user, new, record).await {
        Ok(name) => format!("The passkey “{name}” is added: it signs you in from now on."),
        Err(message) => message,
    }
}

/// The account page, with `notice` at the top when something was done or refused.
async fn show(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    notice: Option<&str>,
) -> Response {
    let factors = match state.store.factors(&user.id).await {
        Ok(f) => f,
        Err(e) => return failed(state, store_error(e)),
    };
    let required = match signin::required_of(state, user, AuthPolicy::Password).await {
        Ok(r) => r,
        Err(e) => return failed(state, e),
    };
    let csrf = match state.form_key().await {
        Ok(key) => forms::issue(
            &key,
            Purpose::Account {
                session: &session.id_hash,
            },
            state.now(),
        ),
        Err(e) => return failed(state, store_error(e)),
    };
    let passkeys = match state.passkeys() {
        Ok(_) => match state.store.passkeys(&user.id).await {
            Ok(keys) => Some(keys.into_iter().map(PasskeyView::from).collect::<Vec<_>>()),
            Err(e) => return failed(state, store_error(e)),
        },
        Err(_) => None,
    };
    let view = pages::AccountView {
        username: &user.username,
        factors: &factors,
        app_required: required >= AuthPolicy::TwoFactor && factors.passkeys.is_empty(),
        recent: state.now() - session.auth_time <= RECENT,
        csrf: &csrf,
        notice,
        passkeys: passkeys.as_deref(),
    };
    (jar, pages::respond(StatusCode::OK, pages::account(&view))).into_response()
}

async fn enrol_page(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    secret: &[u8],
    error: Option<&str>,
) -> Response {
    let text = totp::secret_text(secret);
    let compact = text.replace(' ', "");
    let csrf = match state.form_key().await {
        Ok(key) => forms::issue(
            &key,
            Purpose::AccountEnrol {
                session: &session.id_hash,
                secret: &compact,
            },
            state.now(),
        ),
        Err(e) => return failed(state, store_error(e)),
    };
    let uri = totp::provisioning_uri(
        secret,
        &signin::app_label(&state.config.issuer),
        &user.username,
    );
    let Some(qr) = pages::qr_svg(&uri) else {
        return failed(
            state,
            super::error::internal("the authenticator URI does not fit a QR code"),
        );
    };
    let hidden = [("action", "confirm_app"), ("secret", compact.as_str())];
    let form = pages::EnrolForm {
        action: "account",
        hidden: &hidden,
        csrf: &csrf,
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let html = pages::enrol_totp("your account", &form, &qr, &text, error);
    (jar, pages::respond(status, html)).into_response()
}

/// The login form, coming back to the account page.
pub(super) async fn login_page(
    state: &AppState,
    jar: CookieJar,
    username: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let (jar, csrf) = match browser_form(state, jar, FormKind::Login).await {
        Ok(issued) => issued,
        Err(e) => return failed(state, e),
    };
    let hidden = Continuation::Account.hidden();
    let passkeys = state.passkeys().is_ok();
    let html = pages::login("your account", &hidden, &csrf, username, error, passkeys);
    (jar, pages::respond(status, html)).into_response()
}

fn failed(state: &AppState, e: OAuthError) -> Response {
    refuse(state, Refusal::Page(e))
}
