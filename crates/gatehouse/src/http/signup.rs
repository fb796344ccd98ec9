//! Sign-up links (`/signup`): an administrator made the link (`admin::Admin::make_signup_link`)
//! and gave it to the people who may make their own accounts; each opens it, chooses a
//! username, gives an address and a password (or, where passkeys work, makes a passkey in its
//! place), and has an account, put in the link's groups.
//!
//! The page is a form like a reset's (a form token against cross-site posts, a language
//! switch); opening it changes nothing. The fields are checked as an administrator's are
//! (`admin::new_account`: the username's rules and look-alikes, the address, the name, the
//! password's strength, hashed off the writer), then the store decides again, in the
//! transaction that makes the account, whether the link still has a use left and the name,
//! address and passkey are free (`auth::signup::decide`), and counts the use. The address is
//! not confirmed by signing up: where mail goes out, a link to confirm it is sent at once, and
//! applications are told `email_verified: false` until it is used. An address confirmed on
//! another account is refused (its person is told to sign in to it); one another account has
//! typed but not confirmed is not, so whoever typed a colleague's address first cannot keep
//! the colleague from signing up (`signup::address_is_taken`). Sign-ups are limited per client
//! address, as reset requests are.
//!
//! With a passkey, the page's script first asks `passkey_options` for a ceremony with the
//! form's fields (checked then, so a refused name is said before any passkey is made); the
//! ceremony names the account it is for and the link (`signup::Ceremony`), and the form comes
//! back with the browser's answer, which makes the account with that passkey and no password.

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
use super::passkey::{NewPasskey, registered};
use super::{AppState, Localized, Peer, Stamped, pages};
use crate::admin::{AdminError, NewUser, new_account, passwordless_account};
use crate::auth::{passkeys, signup};
use crate::model::{
    AuditKind, AuditRecord, Challenge, ChallengeKind, EmailPurpose, Named, SignedUp, SignupLink,
    StoredPasskey, User,
};
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
    /// With a passkey in place of a password: the name the person gave it, the ceremony the
    /// page's script began (`passkey_options`) and the browser's answer to it.
    #[serde(default)]
    passkey_name: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
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
    let link = match usable(state, &sent.token).await {
        Ok(Some(link)) => link,
        Ok(None) => return void_link(state),
        Err(e) => return failed(state, e),
    };
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
        passkey_name: &sent.passkey_name,
        passkeys: state.passkeys().is_ok(),
        mail: state.mailer.is_some(),
        domains: &link.domains,
        hidden: state.login_fields(&[]),
    };
    let html = pages::signup_form(&state.look, &form, error);
    (jar, pages::respond(status, html)).into_response()
}

/// POST /signup: makes the account, with the password the form carries or with the passkey the
/// page's script made in its place (`passkey_options`).
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
    let with_passkey = !sent.challenge_id.is_empty();
    // A password is hashed here, so these are limited; a passkey's sign-up was when its
    // ceremony began, and the ceremony is taken once.
    if !with_passkey && let Err(wait) = state.signup_starts.admit(peer.0) {
        let mut r = again(too_many(&state, wait), StatusCode::TOO_MANY_REQUESTS).await;
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
    let described = if with_passkey {
        with_passkey_made(&state, &sent, &link).await
    } else if sent.new_password != sent.repeat_password {
        Ok(Err(t.account.passwords_differ.to_owned()))
    } else {
        account(&state, &sent, &link, Way::Password)
            .await
            .map(|r| r.map(|u| (u, None)))
    };
    let (user, passkey) = match described {
        Ok(Ok(made)) => made,
        Ok(Err(why)) => return again(why, StatusCode::BAD_REQUEST).await,
        Err(e) => return failed(&state, e),
    };
    let now = state.now();
    let mut detail = detail(&link);
    if let Some(p) = &passkey {
        detail.push_str(&format!(", with passkey {:?}", p.name));
    }
    let record = AuditRecord::new(now, AuditKind::SignedUp, format!("user:{}", user.id))
        .subject(Some(user.username.as_str()))
        .stamped(&peer)
        .detail(detail);
    let made = state
        .store
        .sign_up(&link.secret_hash, user.clone(), passkey, now, record)
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
        Ok(SignedUp::OtherDomain) => {
            let why = (t.signup.other_domain)(&link.domains.join(", "));
            return again(why, StatusCode::BAD_REQUEST).await;
        }
        Ok(SignedUp::PasskeyTaken) => {
            let why = t.passkey.registered_already.to_owned();
            return again(why, StatusCode::BAD_REQUEST).await;
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
    let html = pages::signup_done(&state.look, email, with_passkey);
    (jar, pages::respond(StatusCode::OK, html)).into_response()
}

/// POST /signup/passkey-options: the ceremony of a passkey in place of a password, for the
/// account the sign-up form describes, given only to the link's page (its form's token) while
/// the link may make an account, and only for fields that would make one (checked as the
/// sign-up is, and again when it is sent). The account's id is chosen here: it is the passkey's
/// user handle, kept with the ceremony (`signup::Ceremony`) and used when the account is made.
/// Limited per client address as password sign-ups are.
pub(super) async fn passkey_options(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(sent): Form<SignupSent>,
) -> Response {
    use super::passkey::{challenge, page_form_refused, refused as answer};
    let Ok(authority) = state.passkeys() else {
        return answer(StatusCode::NOT_FOUND, state.look.text.passkey.unavailable);
    };
    if let Some(refusal) = page_form_refused(&state, &jar, &sent.csrf).await {
        return refusal;
    }
    let state = state.chose(&sent.chosen);
    if let Err(wait) = state.signup_starts.admit(peer.0) {
        let mut r = answer(StatusCode::TOO_MANY_REQUESTS, &too_many(&state, wait));
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    let busy = || {
        answer(
            StatusCode::SERVICE_UNAVAILABLE,
            state.look.text.passkey.busy,
        )
    };
    let link = match usable(&state, &sent.token).await {
        Ok(Some(link)) => link,
        Ok(None) => {
            let void = state.look.text.errors.signup_link_void.title;
            return answer(StatusCode::GONE, void);
        }
        Err(_) => return busy(),
    };
    let user = match account(&state, &sent, &link, Way::Passkey(tokens::new_id())).await {
        Ok(Ok(user)) => user,
        Ok(Err(why)) => return answer(StatusCode::BAD_REQUEST, &why),
        Err(_) => return busy(),
    };
    let display = user.name.as_deref().unwrap_or(&user.username);
    let handle = passkeys::user_handle(&user.id);
    match authority.start_registration(handle, &user.username, display, &[]) {
        Ok((options, registration)) => {
            let ceremony = signup::Ceremony {
                account: user.id,
                link: link.id,
                registration,
            };
            challenge(
                &state,
                ChallengeKind::SignUp,
                None,
                options,
                ceremony.state(),
            )
            .await
        }
        Err(e) => {
            tracing::error!(error = ?e, "could not make a sign-up's passkey challenge");
            answer(
                StatusCode::INTERNAL_SERVER_ERROR,
                state.look.text.passkey.could_not_add,
            )
        }
    }
}

/// How a new account signs in.
enum Way {
    /// With the password the form carries.
    Password,
    /// With a passkey whose user handle is this id, the account's.
    Passkey(String),
}

/// The account the form `sent` describes, not stored yet: its fields checked as an
/// administrator's are (`admin::new_account`), with the password hashed, or none for one that
/// signs in with a passkey; and its address at one of the `link`'s domains
/// (`signup::address_fits`) and not confirmed on another account (`signup::address_is_taken`),
/// read first, so it costs no hash; decided again where the account is made.
///
/// # Errors
/// `Ok(Err(why))`: what is wrong with the fields, in the page's words; `Err`: a failure that
/// is not the person's.
async fn account(
    state: &AppState,
    sent: &SignupSent,
    link: &SignupLink,
    way: Way,
) -> Result<Result<User, String>, OAuthError> {
    // A malformed address is refused with the other fields, below.
    let email = sent.email.trim();
    if crate::admin::check_email(email).is_ok() && !signup::address_fits(&link.domains, email) {
        let why = (state.look.text.signup.other_domain)(&link.domains.join(", "));
        return Ok(Err(why));
    }
    let taken = match crate::admin::check_email(email) {
        Ok(()) => state.store.users_by_email(email).await,
        Err(_) => Ok(Vec::new()),
    };
    match taken {
        Ok(users) if signup::address_is_taken(users.iter().map(|u| u.email_verified)) => {
            return Ok(Err(state.look.text.signup.address_taken.to_owned()));
        }
        Ok(_) => {}
        Err(e) => return Err(store_error(e)),
    }
    let name = sent.name.trim();
    let new = NewUser {
        name: (!name.is_empty()).then(|| name.to_owned()),
        // A language chosen on the page's switch is theirs from now on.
        locale: state.chosen.then(|| state.look.text.language.to_owned()),
        email_verified: false,
        ..NewUser::new(
            sent.username.trim().to_owned(),
            email.to_owned(),
            sent.new_password.clone(),
        )
    };
    let (store, now) = (state.store.as_ref(), state.now());
    let made = match way {
        Way::Password => new_account(store, &state.passwords, new, now).await,
        Way::Passkey(id) => passwordless_account(store, new, id, now).await,
    };
    match made {
        Ok(user) => Ok(Ok(user)),
        Err(e) => refused(state, e).map(Err),
    }
}

/// The account the form describes and the passkey the page's script made for it: the
/// ceremony taken (it must be one this link's page began, `signup::Ceremony::of_link`) and the
/// browser's answer verified, then the fields checked for the account the ceremony chose.
///
/// # Errors
/// As [`account`]'s, and why the passkey cannot be used.
async fn with_passkey_made(
    state: &AppState,
    sent: &SignupSent,
    link: &SignupLink,
) -> Result<Result<(User, Option<StoredPasskey>), String>, OAuthError> {
    let new = NewPasskey {
        name: &sent.passkey_name,
        challenge_id: &sent.challenge_id,
        credential: &sent.credential,
    };
    let began_here = |c: Challenge| {
        signup::Ceremony::of_link(&c.state, &link.id).map(|c| (c.account, c.registration))
    };
    let passkey = match registered(state, new, ChallengeKind::SignUp, began_here).await {
        Ok(passkey) => passkey,
        Err(why) => return Ok(Err(why)),
    };
    let way = Way::Passkey(passkey.user_id.clone());
    Ok(account(state, sent, link, way)
        .await?
        .map(|user| (user, Some(passkey))))
}

/// "Too many attempts", and how long to wait, in the page's words.
fn too_many(state: &AppState, wait: u64) -> String {
    let t = &state.look.text.sign_in;
    (t.too_many_attempts)(&(t.wait)(i64::try_from(wait).unwrap_or(i64::MAX)))
}

/// What the audit record of a sign-up says of its link: which, its note, and the domains it is
/// for.
fn detail(link: &SignupLink) -> String {
    let mut detail = format!("sign-up link {}", link.id);
    if !link.note.is_empty() {
        detail.push_str(&format!(": {}", link.note));
    }
    if !link.domains.is_empty() {
        detail.push_str(&format!(", for addresses at {}", link.domains.join(", ")));
    }
    detail
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
