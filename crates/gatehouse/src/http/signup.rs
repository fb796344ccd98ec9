//! Sign-up links (`/signup`): an administrator made the link (`admin::Admin::make_signup_link`)
//! and gave it to the people who may make their own accounts; each opens it, chooses a
//! username, gives an address and a password, and has an account, put in the link's groups.
//!
//! The page is a form like a reset's (a form token against cross-site posts, a language
//! switch); opening it changes nothing. The fields are checked as an administrator's are
//! (`admin::new_account`: the username's rules and look-alikes, the address, the name, the
//! password's strength, hashed off the writer), then the store decides again, in the
//! transaction that makes the account, whether the link still has a use left and the name and
//! address are free (`auth::signup::decide`), and counts the use. The address is not confirmed by signing up: where
//! mail goes out, a link to confirm it is sent at once, and applications are told
//! `email_verified: false` until it is used. An address another account has is refused, so
//! nobody holding a link can make an account carrying someone else's address. Sign-ups are
//! limited per client address, as reset requests are.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::Form;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::account::{NewPassword, password_refused};
use super::authorize::{FormKind, browser_form, browser_form_ok};
use super::email::{failed, url_escape};
use super::error::store_error;
use super::{AppState, Localized, Peer, Stamped, pages};
use crate::admin::{AdminError, NewUser, new_account};
use crate::auth::signup;
use crate::model::{AuditKind, AuditRecord, EmailPurpose, Named, SignedUp, SignupLink};
use crate::oidc::{OAuthError, tokens};
use crate::store::StoreError;

/// Sign-ups one address may send at once, then one more every [`STARTS_PERIOD`]: each hashes
/// a password, and a shared link must not let one client keep the server's cores busy.
pub(super) const STARTS_BURST: NonZeroU32 = NonZeroU32::MIN.saturating_add(4);
pub(super) const STARTS_PERIOD: Duration = Duration::from_secs(10);

#[derive(Deserialize)]
pub(super) struct SignupQuery {
    #[serde(default)]
    token: String,
}

#[derive(Deserialize, Default)]
pub(super) struct SignupSent {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    token: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
    /// A language chosen on the page's switch: the same page comes back in it.
    #[serde(default)]
    language: String,
    /// The language chosen on the switch before, carried by the page's form.
    #[serde(default)]
    chosen: String,
}

/// GET /signup: the form of a sign-up link that can make an account, or why it cannot.
pub(super) async fn page(
    Localized(state): Localized,
    jar: CookieJar,
    Query(q): Query<SignupQuery>,
) -> Response {
    let empty = SignupSent {
        token: q.token,
        ..SignupSent::default()
    };
    form_page(&state, jar, &empty, None, StatusCode::OK).await
}

/// The link's form, holding what was sent (`sent`, the password aside), with `error`; or, for
/// a link that cannot make an account, the page that says so.
async fn form_page(
    state: &AppState,
    jar: CookieJar,
    sent: &SignupSent,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    match usable(state, &sent.token).await {
        Ok(Some(_)) => {}
        Ok(None) => return void_link(state),
        Err(e) => return failed(state, e),
    }
    let (jar, csrf) = match browser_form(state, jar, FormKind::Login).await {
        Ok(issued) => issued,
        Err(e) => return failed(state, e),
    };
    let form = pages::SignupForm {
        csrf: &csrf,
        token: &sent.token,
        username: &sent.username,
        email: &sent.email,
        name: &sent.name,
        mail: state.mailer.is_some(),
        hidden: state.login_fields(&[]),
    };
    let html = pages::signup_form(&state.look, &form, error);
    (jar, pages::respond(status, html)).into_response()
}

/// POST /signup: makes the account.
pub(super) async fn sign_up(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(sent): Form<SignupSent>,
) -> Response {
    match browser_form_ok(&state, &jar, FormKind::Login, &sent.csrf, state.now()).await {
        Ok(true) => {}
        Ok(false) => {
            let restart = format!("signup?token={}", url_escape(&sent.token));
            return pages::expired_form(&state.look, Some(restart));
        }
        Err(e) => return failed(&state, e),
    }
    if !sent.language.is_empty() {
        let (state, jar) = state.choosing(jar, &sent.language);
        return form_page(&state, jar, &sent, None, StatusCode::OK).await;
    }
    let state = state.chose(&sent.chosen);
    let again = |error: String, status| {
        let (state, jar, sent) = (&state, jar.clone(), &sent);
        async move { form_page(state, jar, sent, Some(&error), status).await }
    };
    if let Err(wait) = state.signup_starts.admit(peer.0) {
        let message = (state.look.text.sign_in.too_many_attempts)(&(state.look.text.sign_in.wait)(
            i64::try_from(wait).unwrap_or(i64::MAX),
        ));
        let mut r = again(message, StatusCode::TOO_MANY_REQUESTS).await;
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    // Read first, so a link that cannot make an account costs no password hash; decided again
    // where the account is made.
    let link = match usable(&state, &sent.token).await {
        Ok(Some(link)) => link,
        Ok(None) => return void_link(&state),
        Err(e) => return failed(&state, e),
    };
    let t = &state.look.text;
    if sent.new_password != sent.repeat_password {
        return again(
            t.account.passwords_differ.to_owned(),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    // An address another account has: read first too, so it costs no hash either (a malformed
    // one is refused with the other fields, below).
    let email = sent.email.trim();
    let taken = match crate::admin::check_email(email) {
        Ok(()) => state.store.users_by_email(email).await,
        Err(_) => Ok(Vec::new()),
    };
    match taken {
        Ok(users) if !users.is_empty() => {
            return again(t.signup.address_taken.to_owned(), StatusCode::BAD_REQUEST).await;
        }
        Ok(_) => {}
        Err(e) => return failed(&state, store_error(e)),
    }
    let name = sent.name.trim();
    let new = NewUser {
        name: (!name.is_empty()).then(|| name.to_owned()),
        // A language chosen on the page's switch is theirs from now on.
        locale: state.chosen.then(|| state.look.text.language.to_owned()),
        email_verified: false,
        ..NewUser::new(
            sent.username.trim().to_owned(),
            sent.email.trim().to_owned(),
            sent.new_password.clone(),
        )
    };
    let now = state.now();
    let user = match new_account(state.store.as_ref(), &state.passwords, new, now).await {
        Ok(user) => user,
        Err(e) => {
            return match refused(&state, e) {
                Ok(why) => again(why, StatusCode::BAD_REQUEST).await,
                Err(e) => failed(&state, e),
            };
        }
    };
    let record = AuditRecord::new(now, AuditKind::SignedUp, format!("user:{}", user.id))
        .subject(Some(user.username.as_str()))
        .stamped(&peer)
        .detail(detail(&link));
    let made = state
        .store
        .sign_up(&link.secret_hash, user.clone(), now, record)
        .await;
    match made {
        Ok(SignedUp::Done) => {}
        Ok(SignedUp::Refused(_)) => return void_link(&state),
        Ok(SignedUp::LooksLike(existing)) => {
            let what = Named::LookAlike(user.username.clone(), existing);
            let why = (t.console.exists_already)(&what);
            return again(why, StatusCode::BAD_REQUEST).await;
        }
        Ok(SignedUp::AddressTaken) => {
            return again(t.signup.address_taken.to_owned(), StatusCode::BAD_REQUEST).await;
        }
        Err(e) => {
            return match refused(&state, AdminError::Store(e)) {
                Ok(why) => again(why, StatusCode::BAD_REQUEST).await,
                Err(e) => failed(&state, e),
            };
        }
    }
    let state = state.for_link_owner(&user);
    let confirm_sent = match super::email::send_link(&state, peer, &user, EmailPurpose::Confirm)
        .await
    {
        Ok(sent) => sent,
        // The account is made: a confirmation that could not be queued can be asked for
        // again from the account page.
        Err(e) => {
            tracing::warn!(error = %e, user = %user.username, "no confirmation link queued at sign-up");
            false
        }
    };
    let email = confirm_sent.then_some(user.email.as_str());
    (
        jar,
        pages::respond(StatusCode::OK, pages::signup_done(&state.look, email)),
    )
        .into_response()
}

/// What the audit record of a sign-up says of its link: which, and its note.
fn detail(link: &SignupLink) -> String {
    if link.note.is_empty() {
        format!("sign-up link {}", link.id)
    } else {
        format!("sign-up link {}: {}", link.id, link.note)
    }
}

/// Why the fields were refused, in the page's language; or the failure that is not theirs.
fn refused(state: &AppState, e: AdminError) -> Result<String, OAuthError> {
    let t = &state.look.text.console;
    match e {
        AdminError::Invalid(why) => Ok((t.refusal)(&why)),
        AdminError::Store(StoreError::Conflict(what)) => Ok((t.exists_already)(&what)),
        AdminError::Password(e) => match password_refused(state, e) {
            NewPassword::Refused(why) => Ok(why),
            NewPassword::Failed(e) => Err(e),
        },
        AdminError::Store(e) => Err(store_error(e)),
        AdminError::Keys(e) => Err(super::error::internal(e.to_string())),
    }
}

/// The sign-up link whose secret is `secret`, when it may make an account now.
async fn usable(state: &AppState, secret: &str) -> Result<Option<SignupLink>, OAuthError> {
    if secret.is_empty() {
        return Ok(None);
    }
    let link = state
        .store
        .signup_link(&tokens::hash(secret))
        .await
        .map_err(store_error)?;
    Ok(link.filter(|l| signup::admit(Some(l), state.now()).is_ok()))
}

/// A link that makes no account: said plainly (expired, removed or used up alike: whoever
/// holds it learns nothing about which).
fn void_link(state: &AppState) -> Response {
    let page = pages::ErrorPage::new(state.look.text.errors.signup_link_void);
    pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look))
}
