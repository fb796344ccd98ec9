//! Links sent by email: a password reset (`/reset`), an address confirmation (`/confirm-email`,
//! asked for on the account page), an invitation (`/welcome`) and a passkey link for a person who
//! lost their passkey (`/new-passkey`, made by an administrator).
//!
//! A reset request gets the same answer whether or not the username or address exists, and the mail
//! goes out after the answer (queued with the link, sent by `mail::run`), so the page neither says
//! who has an account nor waits on the mail server (keeping the link and its message is one small
//! write more for an account that exists). Requests are limited per address, and each person gets
//! at most one link a minute (`auth::email_links`). A link is a 256-bit token kept as its hash,
//! used once, void once the person's address changes; opening it shows a form (or, for a link
//! that cannot be used, says so at once), and only sending that form uses it, so a mail scanner
//! that follows links changes nothing. A reset ends every
//! session and token family of the person; signing in afterwards still needs their second factor.
//! Where no mail goes out, an administrator can make the same link on the person's administration
//! page and hand it over themselves.

use std::num::NonZeroU32;
use std::time::Duration;

use axum::Form;
use axum::extract::Query;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Localized;
use super::Stamped;
use super::account::NewPassword;
use super::authorize::{FormKind, browser_form, browser_form_ok, refuse};
use super::error::store_error;
use super::pages::catalogue::NoticeFacts;
use super::{AppState, Peer, pages};
use crate::auth::email_links::{self, LinkUse};
use crate::mail::Mail;
use crate::model::{
    AuditKind, AuditRecord, EmailPurpose, EmailToken, NoticeKind, QueuedNotice, User,
};
use crate::oidc::authorize::Refusal;
use crate::oidc::{OAuthError, tokens};

/// Reset requests per address before they are limited: a few typos' worth.
pub(super) const STARTS_BURST: NonZeroU32 = NonZeroU32::MIN.saturating_add(4);
/// Then one every this long.
pub(super) const STARTS_PERIOD: Duration = Duration::from_secs(20);

#[derive(Deserialize)]
pub(super) struct TokenQuery {
    #[serde(default)]
    token: String,
}

/// GET /reset: the request form, or (from a mailed link) the new password's.
pub(super) async fn reset_page(
    Localized(state): Localized,
    jar: CookieJar,
    Query(q): Query<TokenQuery>,
) -> Response {
    // Without mail no link can be asked for here; one an administrator handed over still works.
    if state.mailer.is_none() && q.token.is_empty() {
        return no_mail(&state);
    }
    form_page(&state, jar, &q.token, EmailPurpose::Reset, "").await
}

/// The page of a link's form (`purpose`): asking for a reset link, when there is no `token`,
/// or, with the link `token`, choosing the password (a reset's or an invitation's) or adding a
/// passkey (a passkey link's), spoken to the person it is for (`AppState::for_link_owner`).
async fn form_page(
    state: &AppState,
    jar: CookieJar,
    token: &str,
    purpose: EmailPurpose,
    identifier: &str,
) -> Response {
    let (jar, csrf) = match browser_form(state, jar, FormKind::Login).await {
        Ok(issued) => issued,
        Err(e) => return failed(state, e),
    };
    let html = if token.is_empty() && purpose == EmailPurpose::Reset {
        let hidden = state.login_fields(&[]);
        pages::reset_request(&state.look, &csrf, &hidden, &typed(identifier), None)
    } else {
        // A link used, expired or void says so before anything is typed into its form.
        let (state, user) = match usable(state, token, purpose).await {
            Ok(Some((_, user))) => (state.for_link_owner(&user), user),
            Ok(None) => return void_link(state, purpose),
            Err(e) => return failed(state, e),
        };
        link_form(&state, &user, purpose, &csrf, token, None)
    };
    (jar, pages::respond(StatusCode::OK, html)).into_response()
}

/// The form of the link `token` of `purpose` for `user`, with `error` if one was sent from it
/// and refused: a passkey link's new passkey, or a reset's or an invitation's password.
fn link_form(
    state: &AppState,
    user: &User,
    purpose: EmailPurpose,
    csrf: &str,
    token: &str,
    error: Option<&str>,
) -> String {
    if purpose == EmailPurpose::Passkey {
        let form = pages::PasskeyLinkForm {
            username: &user.username,
            csrf,
            token,
            hidden: state.login_fields(&[]),
        };
        return pages::passkey_link_form(&state.look, &form, error);
    }
    let form = password_form(state, purpose, csrf, token);
    pages::password_form(&state.look, &form, error)
}

#[derive(Deserialize)]
pub(super) struct ResetForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    identifier: String,
    #[serde(default)]
    token: String,
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
    /// An invitation accepted with a passkey: its name, the ceremony it answers, and the
    /// browser's answer.
    #[serde(default)]
    name: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
}

/// The form of a link's page that chooses a password (`purpose` a reset or an invitation),
/// with `token`; an invitation's offers a passkey instead, where passkeys work.
fn password_form<'a>(
    state: &'a AppState,
    purpose: EmailPurpose,
    csrf: &'a str,
    token: &'a str,
) -> pages::PasswordForm<'a> {
    let invitation = purpose == EmailPurpose::Invite;
    pages::PasswordForm {
        invitation,
        passkey_instead: invitation && state.passkeys().is_ok(),
        csrf,
        token,
        hidden: state.login_fields(&[]),
    }
}

/// GET /welcome: an invitation's link, where the person chooses their first password.
pub(super) async fn welcome_page(
    Localized(state): Localized,
    jar: CookieJar,
    Query(q): Query<TokenQuery>,
) -> Response {
    form_page(&state, jar, &q.token, EmailPurpose::Invite, "").await
}

/// POST /welcome: the first password, with the invitation's token.
pub(super) async fn welcome(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Response {
    let (state, jar) = match link_form_sent(state, jar, &form, EmailPurpose::Invite).await {
        Ok(sent) => sent,
        Err(answer) => return answer,
    };
    if form.action == "passkey" {
        return accept_with_passkey(&state, peer, jar, &form, EmailPurpose::Invite).await;
    }
    set_password(&state, peer, jar, &form, EmailPurpose::Invite).await
}

/// POST /welcome/passkey-options: a registration challenge for the person an invitation is
/// for (`passkey_options`): their first passkey, made before the link is taken.
pub(super) async fn welcome_passkey_options(
    Localized(state): Localized,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Response {
    passkey_options(&state, &jar, &form, EmailPurpose::Invite).await
}

/// GET /new-passkey: a passkey link's page, where a person who lost their passkey adds
/// another.
pub(super) async fn passkey_link_page(
    Localized(state): Localized,
    jar: CookieJar,
    Query(q): Query<TokenQuery>,
) -> Response {
    if state.passkeys().is_err() {
        return void_link(&state, EmailPurpose::Passkey);
    }
    form_page(&state, jar, &q.token, EmailPurpose::Passkey, "").await
}

/// POST /new-passkey: the new passkey, with the link's token (or another language for its
/// page).
pub(super) async fn passkey_link(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Response {
    match link_form_sent(state, jar, &form, EmailPurpose::Passkey).await {
        Ok((state, jar)) => {
            accept_with_passkey(&state, peer, jar, &form, EmailPurpose::Passkey).await
        }
        Err(answer) => answer,
    }
}

/// What a form sent from a link's page (`purpose`; or from the reset request's, without a
/// token) settles first: its form token, an expired one restarting the page, and a language
/// chosen on the page's switch, the page coming back in it. Otherwise the request's state, in
/// the language the page was in, and the browser's cookies, to go on with.
async fn link_form_sent(
    state: AppState,
    jar: CookieJar,
    form: &ResetForm,
    purpose: EmailPurpose,
) -> Result<(AppState, CookieJar), Response> {
    match browser_form_ok(&state, &jar, FormKind::Login, &form.csrf, state.now()).await {
        Ok(true) => {}
        Ok(false) => {
            let page = email_links::path(purpose).trim_start_matches('/');
            let restart = if form.token.is_empty() {
                page.to_owned()
            } else {
                format!("{page}?token={}", url_escape(&form.token))
            };
            return Err(pages::expired_form(&state.look, Some(restart)));
        }
        Err(e) => return Err(failed(&state, e)),
    }
    if !form.language.is_empty() {
        let (state, jar) = state.choosing(jar, &form.language);
        let typed = &form.identifier;
        return Err(form_page(&state, jar, &form.token, purpose, typed).await);
    }
    Ok((state.chose(&form.chosen), jar))
}

/// POST /new-passkey/options: a registration challenge for the person a passkey link is for
/// (`passkey_options`).
pub(super) async fn passkey_link_options(
    Localized(state): Localized,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Response {
    passkey_options(&state, &jar, &form, EmailPurpose::Passkey).await
}

/// A registration challenge for the person a link of `purpose` (an invitation, or a passkey
/// link) is for, given only to the link's page (its form's token) while the link may be
/// used: the passkey is made before the link is taken.
async fn passkey_options(
    state: &AppState,
    jar: &CookieJar,
    form: &ResetForm,
    purpose: EmailPurpose,
) -> Response {
    use super::passkey::refused;
    if state.passkeys().is_err() {
        return refused(StatusCode::NOT_FOUND, state.look.text.passkey.unavailable);
    }
    if let Some(refusal) = super::passkey::page_form_refused(state, jar, &form.csrf).await {
        return refusal;
    }
    match usable(state, &form.token, purpose).await {
        Ok(Some((_, user))) => super::passkey::registration_challenge(state, &user).await,
        Ok(None) => refused(
            StatusCode::GONE,
            state.look.text.errors.reset_link_void.title,
        ),
        Err(e) => {
            tracing::warn!(error = ?e, link = purpose.as_str(), "could not read a link");
            refused(
                StatusCode::SERVICE_UNAVAILABLE,
                state.look.text.passkey.busy,
            )
        }
    }
}

/// A link of `purpose` taken with a passkey: the passkey is checked (its ceremony was this
/// person's), then the link taken and the passkey added in one transaction. An invitation's
/// also confirms the address and keeps no password (`LinkUse::InviteWithPasskey`); a passkey
/// link's signs the person out everywhere (`LinkUse::AddPasskey`).
async fn accept_with_passkey(
    state: &AppState,
    peer: Peer,
    jar: CookieJar,
    form: &ResetForm,
    purpose: EmailPurpose,
) -> Response {
    let Some((token, user)) = (match usable(state, &form.token, purpose).await {
        Ok(found) => found,
        Err(e) => return failed(state, e),
    }) else {
        return void_link(state, purpose);
    };
    let state = &state.for_link_owner(&user);
    let new = super::passkey::NewPasskey {
        name: &form.name,
        challenge_id: &form.challenge_id,
        credential: &form.credential,
    };
    let passkey = match super::passkey::verified_passkey(state, &user, new).await {
        Ok(p) => p,
        Err(why) => return form_again(state, jar, (form, &user), purpose, &why).await,
    };
    let now = state.now();
    let (kind, detail, link_use) = if purpose == EmailPurpose::Passkey {
        let detail = format!("passkey {:?}, with a passkey link", passkey.name);
        (
            AuditKind::PasskeyAdded,
            detail,
            LinkUse::AddPasskey(passkey),
        )
    } else {
        let detail = format!("with passkey {:?}", passkey.name);
        let link_use = LinkUse::InviteWithPasskey(passkey);
        (AuditKind::InvitationAccepted, detail, link_use)
    };
    let record = AuditRecord::new(now, kind, format!("user:{}", user.id))
        .subject(Some(user.username.as_str()))
        .stamped(&peer)
        .detail(detail);
    match state
        .store
        .redeem_email_token(&token.token_hash, link_use, now, record)
        .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return void_link(state, purpose),
        Err(e) => return failed(state, store_error(e)),
    }
    let html = if purpose == EmailPurpose::Passkey {
        pages::passkey_link_done(&state.look)
    } else {
        pages::welcome_done_with_passkey(&state.look)
    };
    (jar, pages::respond(StatusCode::OK, html)).into_response()
}

/// A link's page for `user` again, saying what was wrong with the form sent from it.
async fn form_again(
    state: &AppState,
    jar: CookieJar,
    (form, user): (&ResetForm, &User),
    purpose: EmailPurpose,
    message: &str,
) -> Response {
    let (jar, csrf) = match browser_form(state, jar, FormKind::Login).await {
        Ok(issued) => issued,
        Err(e) => return failed(state, e),
    };
    let html = link_form(state, user, purpose, &csrf, &form.token, Some(message));
    (jar, pages::respond(StatusCode::BAD_REQUEST, html)).into_response()
}

/// POST /reset: a request for a link, or the new password with the link's token.
pub(super) async fn reset(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<ResetForm>,
) -> Response {
    // A link's own page and form work without mail (an administrator handed it over).
    if state.mailer.is_none() && (form.token.is_empty() || form.action == "request") {
        return no_mail(&state);
    }
    let (state, jar) = match link_form_sent(state, jar, &form, EmailPurpose::Reset).await {
        Ok(sent) => sent,
        Err(answer) => return answer,
    };
    match form.action.as_str() {
        "request" => request(&state, peer, jar, &form.identifier).await,
        "set" => set_password(&state, peer, jar, &form, EmailPurpose::Reset).await,
        _ => {
            let t = &state.look.text.errors;
            let page = pages::ErrorPage::new(t.account_form_incomplete)
                .link(t.start_again, "reset".to_owned());
            pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look))
        }
    }
}

/// A username or address as the reset request's form sent it: trimmed, and no longer than an
/// address can be (254 characters).
fn typed(identifier: &str) -> String {
    identifier.trim().chars().take(254).collect()
}

/// Sends a reset link to every account the username or address names (an address can be
/// several people's), then answers the same whatever was found.
async fn request(state: &AppState, peer: Peer, jar: CookieJar, identifier: &str) -> Response {
    if let Err(wait) = state.reset_starts.admit(peer.0) {
        let (jar, csrf) = match browser_form(state, jar, FormKind::Login).await {
            Ok(issued) => issued,
            Err(e) => return failed(state, e),
        };
        let message = (state.look.text.email.too_many_requests)(wait);
        let hidden = state.login_fields(&[]);
        let typed = typed(identifier);
        let html = pages::reset_request(&state.look, &csrf, &hidden, &typed, Some(&message));
        let mut r = (jar, pages::respond(StatusCode::TOO_MANY_REQUESTS, html)).into_response();
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return r;
    }
    let identifier = typed(identifier);
    let users = match people_named(state, &identifier).await {
        Ok(users) => users,
        Err(e) => return failed(state, store_error(e)),
    };
    for user in users.iter().filter(|u| !u.disabled) {
        if let Err(e) = send_link(state, peer.clone(), user, EmailPurpose::Reset).await {
            return failed(state, store_error(e));
        }
    }
    (
        jar,
        pages::respond(StatusCode::OK, pages::reset_sent(&state.look)),
    )
        .into_response()
}

/// The accounts a typed username or email address names.
async fn people_named(
    state: &AppState,
    identifier: &str,
) -> Result<Vec<User>, crate::store::StoreError> {
    if identifier.is_empty() {
        return Ok(Vec::new());
    }
    if let Some(user) = crate::admin::find_user(state.store.as_ref(), identifier).await? {
        return Ok(vec![user]);
    }
    if identifier.contains('@') {
        return state.store.users_by_email(identifier).await;
    }
    Ok(Vec::new())
}

/// Makes a link of `purpose` for `user` and mails it to their address, unless they were sent
/// one less than a minute ago. Whether it was sent.
pub(super) async fn send_link(
    state: &AppState,
    peer: Peer,
    user: &User,
    purpose: EmailPurpose,
) -> Result<bool, crate::store::StoreError> {
    let Some(mailer) = &state.mailer else {
        return Ok(false);
    };
    let audit = AuditRecord::new(
        state.now(),
        AuditKind::EmailSent,
        format!("user:{}", user.id),
    )
    .subject(Some(user.username.as_str()))
    .stamped(&peer)
    .detail(format!("{} link to {}", purpose.as_str(), user.email));
    if new_link(state, user, purpose, audit, true).await?.is_none() {
        return Ok(false);
    }
    mailer.queued();
    Ok(true)
}

/// The message carrying `link` to `user`, in their own language (their account's `locale`)
/// when one offered matches it, else in the language of the page that sent it.
fn message(state: &AppState, user: &User, purpose: EmailPurpose, link: &str) -> Mail {
    let look = state
        .persons_look(user)
        .unwrap_or_else(|| std::sync::Arc::clone(&state.look));
    let t = &look.text.email;
    let product = look.product();
    let ttl = email_links::ttl(purpose);
    let (subject, body) = match purpose {
        EmailPurpose::Reset => (
            (t.reset_subject)(product),
            (t.reset_body)(product, &user.username, link, ttl / 60),
        ),
        EmailPurpose::Confirm => (
            (t.confirm_subject)(product),
            (t.confirm_body)(product, &user.username, link, ttl / 3600),
        ),
        EmailPurpose::Invite => (
            (t.invite_subject)(product),
            (t.invite_body)(product, &user.username, link, ttl / 86_400),
        ),
        EmailPurpose::Passkey => (
            (t.passkey_link_subject)(product),
            (t.passkey_link_body)(product, &user.username, link, ttl / 3600),
        ),
    };
    Mail {
        to: user.email.clone(),
        subject,
        body,
    }
}

/// The address a notice to `user` goes to now, where mail goes out
/// (`auth::notices::address_told`): what the pages say before and after a removal.
pub(super) fn notice_address(state: &AppState, user: &User) -> Option<String> {
    state.mailer.as_ref()?;
    let person = crate::auth::notices::Addressee::of(user);
    crate::auth::notices::address_told(&person).map(str::to_owned)
}

/// The words of security notices (`mail::NoticeWords`), for the mail sender: each in its
/// person's language as their account says now, else the deployment's.
pub fn notice_words(state: &AppState) -> crate::mail::NoticeWords {
    let state = state.clone();
    std::sync::Arc::new(move |queued| notice_message(&state, queued))
}

/// The message telling `queued`'s person of the change it is about.
fn notice_message(state: &AppState, queued: &QueuedNotice) -> Mail {
    let look = queued
        .locale
        .as_deref()
        .and_then(|locale| state.looks.matching(&[locale]))
        .unwrap_or_else(|| std::sync::Arc::clone(&state.look));
    let t = &look.text.email;
    let product = look.product();
    let n = &queued.notice;
    let (account, reset) = (
        state.config.endpoint("/account"),
        state.config.endpoint("/reset"),
    );
    let facts = NoticeFacts {
        product,
        username: &queued.username,
        kind: n.kind,
        when: pages::moment(n.at),
        from: crate::auth::notices::address_named(n.kind, n.ip.as_deref()),
        browser: (n.kind == NoticeKind::NewSignIn)
            .then(|| pages::browser_words(&look, n.detail.as_deref()))
            .flatten(),
        new_address: n
            .detail
            .as_deref()
            .filter(|_| n.kind == NoticeKind::AddressChanged),
        account: &account,
        reset: &reset,
    };
    Mail {
        to: n.to.clone(),
        subject: (t.notice_subject)(product, n.kind),
        body: (t.notice_body)(&facts),
    }
}

/// A new single-use link of `purpose` for `user`, its token kept hashed, with `audit` and,
/// when `mailed`, the message carrying it queued in the outbox, all in the same transaction;
/// `None` when one was made for them less than a minute ago.
pub(super) async fn new_link(
    state: &AppState,
    user: &User,
    purpose: EmailPurpose,
    audit: AuditRecord,
    mailed: bool,
) -> Result<Option<String>, crate::store::StoreError> {
    let secret = tokens::generate();
    let token = email_links::new_token(user, purpose, tokens::hash(&secret), state.now());
    let link = state
        .config
        .endpoint(&email_links::path_and_query(purpose, &secret));
    let mail = mailed.then(|| message(state, user, purpose, &link));
    if !state.store.issue_email_token(token, mail, audit).await? {
        return Ok(None);
    }
    Ok(Some(link))
}

/// Sets the new password with the link's token (`purpose`: a reset's or an invitation's).
/// The link is read first and the password checked against its person (a weak password leaves
/// the link as it was, for another try); only then is the link checked again and taken, in the
/// transaction that sets the password and ends every session and token family of the person
/// (`EmailLinks::redeem_email_token`). An invitation's link also confirms the address it came
/// to.
async fn set_password(
    state: &AppState,
    peer: Peer,
    jar: CookieJar,
    form: &ResetForm,
    purpose: EmailPurpose,
) -> Response {
    let invitation = purpose == EmailPurpose::Invite;
    let Some((token, user)) = (match usable(state, &form.token, purpose).await {
        Ok(found) => found,
        Err(e) => return failed(state, e),
    }) else {
        return void_link(state, purpose);
    };
    let state = &state.for_link_owner(&user);
    let t = &state.look.text;
    let user = &user;
    let again = |message: String| {
        let jar = jar.clone();
        async move { form_again(state, jar, (form, user), purpose, &message).await }
    };
    if form.new_password != form.repeat_password {
        return again(t.account.passwords_differ.to_owned()).await;
    }
    let hash = match super::account::new_password_hash(state, user, &form.new_password).await {
        Ok(h) => h,
        Err(NewPassword::Refused(why)) => return again(why).await,
        Err(NewPassword::Failed(e)) => return failed(state, e),
    };
    let now = state.now();
    let (kind, link_use) = if invitation {
        (AuditKind::InvitationAccepted, LinkUse::Invite(hash))
    } else {
        (AuditKind::PasswordReset, LinkUse::Reset(hash))
    };
    let record = AuditRecord::new(now, kind, format!("user:{}", user.id))
        .subject(Some(user.username.as_str()))
        .stamped(&peer);
    // Decided again where the link is taken: of two forms sent with the same link, one sets
    // its password, and an address changed or an account disabled meanwhile voids it.
    match state
        .store
        .redeem_email_token(&token.token_hash, link_use, now, record)
        .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return void_link(state, purpose),
        Err(e) => return failed(state, store_error(e)),
    }
    (
        jar,
        pages::respond(StatusCode::OK, pages::reset_done(&state.look, invitation)),
    )
        .into_response()
}

/// The link `secret` of `purpose` and its person, when it may be used now
/// (`auth::email_links::check`); left in place.
async fn usable(
    state: &AppState,
    secret: &str,
    purpose: EmailPurpose,
) -> Result<Option<(EmailToken, User)>, OAuthError> {
    let found = state
        .store
        .email_token(&tokens::hash(secret), purpose)
        .await
        .map_err(store_error)?;
    let ok = found.as_ref().is_some_and(|(token, user)| {
        email_links::check(Some(token), Some(user), state.now()).is_ok()
    });
    Ok(found.filter(|_| ok))
}

#[derive(Deserialize)]
pub(super) struct ConfirmForm {
    #[serde(default)]
    token: String,
}

/// GET /confirm-email: asks before confirming (a scanner that opens the link confirms
/// nothing).
pub(super) async fn confirm_page(
    Localized(state): Localized,
    Query(q): Query<TokenQuery>,
) -> Response {
    match usable(&state, &q.token, EmailPurpose::Confirm).await {
        Ok(Some((token, _))) => {
            let html = pages::confirm(&state.look, &token.email, &q.token);
            pages::respond(StatusCode::OK, html)
        }
        Ok(None) => void_link(&state, EmailPurpose::Confirm),
        Err(e) => failed(&state, e),
    }
}

/// POST /confirm-email: the link's token; the address is confirmed if it is still the
/// person's.
pub(super) async fn confirm(
    Localized(state): Localized,
    peer: Peer,
    Form(form): Form<ConfirmForm>,
) -> Response {
    let void = || void_link(&state, EmailPurpose::Confirm);
    let now = state.now();
    let (token, user) = match usable(&state, &form.token, EmailPurpose::Confirm).await {
        Ok(Some(found)) => found,
        Ok(None) => return void(),
        Err(e) => return failed(&state, e),
    };
    let record = AuditRecord::new(now, AuditKind::EmailConfirmed, format!("user:{}", user.id))
        .subject(Some(user.username.as_str()))
        .stamped(&peer)
        .detail(token.email.clone());
    // Decided again where the link is taken: an address changed since it was read above
    // voids it, and is left as it is.
    match state
        .store
        .redeem_email_token(&token.token_hash, LinkUse::Confirm, now, record)
        .await
    {
        Ok(Ok(_)) => {}
        Ok(Err(_)) => return void(),
        Err(e) => return failed(&state, store_error(e)),
    }
    pages::respond(StatusCode::OK, pages::confirmed(&state.look, &token.email))
}

/// A link of `purpose` that cannot be used: said plainly, with the way to a new one (a
/// passkey link's is an administrator).
fn void_link(state: &AppState, purpose: EmailPurpose) -> Response {
    let t = &state.look.text.errors;
    let page = match purpose {
        EmailPurpose::Reset | EmailPurpose::Invite => {
            pages::ErrorPage::new(t.reset_link_void).link(t.ask_for_a_new_link, "reset".into())
        }
        EmailPurpose::Confirm => {
            pages::ErrorPage::new(t.confirm_link_void).link(t.ask_for_a_new_link, "account".into())
        }
        EmailPurpose::Passkey => pages::ErrorPage::new(t.passkey_link_void),
    };
    pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look))
}

fn no_mail(state: &AppState) -> Response {
    let page = pages::ErrorPage::new(state.look.text.errors.no_mail);
    pages::respond(StatusCode::NOT_FOUND, page.render(&state.look))
}

/// The error page of a link's page or form that failed for a reason not the person's.
pub(super) fn failed(state: &AppState, e: OAuthError) -> Response {
    refuse(state, Refusal::Page(e))
}

/// A token in a URL's query: tokens are base64url, which needs no escaping, but a mangled one
/// typed into a link must not break the URL it is put back into.
pub(super) fn url_escape(token: &str) -> String {
    url::form_urlencoded::byte_serialize(token.as_bytes()).collect()
}
