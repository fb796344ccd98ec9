//! `/account`: the signed-in person's own page. Their profile (name, email address), their
//! password, passkeys and two-step verification, where they are signed in (and signing out
//! elsewhere), the applications they allowed (and withdrawing them), and their recent
//! activity.
//!
//! Every form is bound to the session (`auth::forms::Purpose::Account`). What protects or
//! identifies the account (second factors, passkeys, the profile) changes only after a recent
//! sign-in ([`RECENT`]): a session left open on a shared computer, or one stolen, cannot take
//! the second factor off, read a fresh set of recovery codes or redirect the email address
//! without the password (and the app) again. A new password needs the current one instead,
//! checked and throttled like a sign-in. What only takes access away (signing out sessions,
//! withdrawing an application) needs neither.
//!
//! Ids in the forms (a session, an application, a passkey) are looked up among the person's
//! own: another person's id changes nothing.

use axum::Form;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

use super::Localized;
use super::Stamped;
use super::authorize::{
    Attempt, FormKind, SignInRefused, browser_form, check_password, current_session, refuse,
};
use super::error::store_error;
use super::pages::Section;
use super::signin::{self, Continuation, Destination, SignIn};
use super::{AppState, Peer, pages};
use crate::admin;
use crate::admin::person_data::{self, Held};
use crate::auth::forms::{self, Purpose};
use crate::auth::passwords::{self, PasswordError};
use crate::auth::{recovery, totp};
use crate::clock::UnixTime;
use crate::model::{
    AuditKind, AuditRecord, AuthPolicy, EmailPurpose, EndedFrom, PasskeyRemoval, PasskeyView,
    Session, TotpFactor, User, UserChange, UserEdit,
};
use crate::oidc::OAuthError;
use crate::oidc::authorize::Refusal;
use crate::store::StoreError;

/// How recent a sign-in must be to change what protects the account.
pub(super) const RECENT: i64 = 600;

/// How many records of their recent activity a person sees.
const ACTIVITY_SHOWN: usize = 20;

/// GET /account: the page, or the login form that comes back to it. The page speaks the
/// person's own language, if they have one, even in a browser they signed in to before they
/// chose it; else the one this browser keeps from their sign-in (`AppState::for_signed_in`).
pub(super) async fn page(Localized(state): Localized, jar: CookieJar) -> Response {
    match current_session(&state, &jar, state.now()).await {
        Ok(Some((session, user))) => {
            let state = state.for_signed_in(&user);
            show(&state, jar, &session, &user, Shown::default()).await
        }
        Ok(None) => login_page(&state, jar, "", None, StatusCode::OK).await,
        Err(e) => failed(&state, e),
    }
}

/// The login form's answer when it continued to the account page (`http::authorize::login`).
pub(super) async fn login(state: &AppState, jar: CookieJar, attempt: Attempt<'_>) -> Response {
    let (peer, username) = (attempt.peer.clone(), attempt.username.to_owned());
    let user = match check_password(state, attempt).await {
        Ok(user) => user,
        Err(SignInRefused::Retry(status, message)) => {
            return login_page(state, jar, &username, Some(&message), status).await;
        }
        Err(SignInRefused::Failed(e)) => return failed(state, e),
    };
    let state = &state.for_person(&user);
    let to = Destination {
        continuation: &Continuation::Account,
        to: state.look.text.sign_in.your_account,
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
    /// A new passkey's name, the ceremony it answers, and the browser's answer; or the
    /// person's name, for the profile.
    #[serde(default)]
    name: String,
    #[serde(default)]
    challenge_id: String,
    #[serde(default)]
    credential: String,
    /// The passkey to remove.
    #[serde(default)]
    credential_id: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    current_password: String,
    #[serde(default)]
    new_password: String,
    #[serde(default)]
    repeat_password: String,
    /// The session to sign out (its id hash, as the page listed it).
    #[serde(default)]
    session: String,
    /// The application whose access to withdraw.
    #[serde(default)]
    client_id: String,
    /// The language chosen (a tag the page offers), or empty for the browser's.
    #[serde(default)]
    language: String,
    /// Their username as typed to confirm the removal of their account.
    #[serde(default)]
    confirm: String,
}

/// What the page says above its sections, or in one of them.
#[derive(Default)]
struct Shown<'a> {
    notice: Option<&'a str>,
    error: Option<(Section, &'a str)>,
}

impl<'a> Shown<'a> {
    fn notice(text: &'a str) -> Self {
        Shown {
            notice: Some(text),
            error: None,
        }
    }

    fn error(section: Section, text: &'a str) -> Self {
        Shown {
            notice: None,
            error: Some((section, text)),
        }
    }
}

/// POST /account: one of the page's forms.
pub(super) async fn act(
    Localized(state): Localized,
    peer: Peer,
    jar: CookieJar,
    Form(form): Form<AccountForm>,
) -> Response {
    let now = state.now();
    let (session, user) = match current_session(&state, &jar, now).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            let message = state.look.text.sign_in.signed_out_for_account;
            return login_page(&state, jar, "", Some(message), StatusCode::OK).await;
        }
        Err(e) => return failed(&state, e),
    };
    let state = state.for_signed_in(&user);
    let t = &state.look.text;
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
        return pages::expired_form(&state.look, Some("account".to_owned()));
    }
    let record = |kind| {
        AuditRecord::new(now, kind, format!("user:{}", user.id))
            .subject(Some(user.username.as_str()))
            .stamped(&peer)
    };
    // What takes access away, or proves the password itself, needs no recent sign-in.
    match form.action.as_str() {
        "sign_in_again" => {
            return login_page(&state, jar, &user.username, None, StatusCode::OK).await;
        }
        // What the page shows, and more of the activity: no recent sign-in, as for the page.
        "download_data" => {
            return match own_data(&state, &user).await {
                Ok(response) => response,
                Err(e) => failed(&state, e),
            };
        }
        "change_password" => {
            return change_password(&state, jar, peer.clone(), &session, &user, &form, record)
                .await;
        }
        "end_session" => {
            return end_sessions(&state, jar, &session, &user, Some(&form.session), record).await;
        }
        "end_other_sessions" => {
            return end_sessions(&state, jar, &session, &user, None, record).await;
        }
        "withdraw_consent" => {
            return withdraw(&state, jar, &session, &user, &form.client_id, record).await;
        }
        "sign_out_application" => {
            return sign_out_application(&state, jar, &session, &user, &form.client_id, record)
                .await;
        }
        "save_language" => {
            return save_language(&state, jar, &session, &user, &form, record).await;
        }
        // Mail to the address the account has: nothing about the account changes.
        "send_confirmation" if state.mailer.is_some() => {
            let sent = super::email::send_link(&state, peer, &user, EmailPurpose::Confirm).await;
            let notice = match sent {
                Ok(true) => (t.email.confirmation_sent)(&user.email),
                Ok(false) => (t.email.confirmation_sent_recently)(&user.email),
                Err(e) => return failed(&state, store_error(e)),
            };
            return show(&state, jar, &session, &user, Shown::notice(&notice)).await;
        }
        _ => {}
    }
    if now - session.auth_time > RECENT {
        let notice = t.account.sign_in_again_first;
        return show(&state, jar, &session, &user, Shown::notice(notice)).await;
    }
    let factors = match state.store.factors(&user.id).await {
        Ok(f) => f,
        Err(e) => return failed(&state, store_error(e)),
    };
    match form.action.as_str() {
        "save_profile" => save_profile(&state, jar, &session, &user, &form, record).await,
        "remove_account" => remove_account(&state, jar, &session, &user, &form, record).await,
        // An app's code is asked for after a password: without one it would never be asked.
        "setup_app" if user.password_hash.is_some() => {
            enrol_page(&state, jar, &session, &user, &totp::new_secret(), None).await
        }
        "confirm_app" if user.password_hash.is_some() => {
            let Some(bytes) = totp::secret_from_text(&secret) else {
                return pages::expired_form(&state.look, Some("account".to_owned()));
            };
            let totp::Check::Accepted { step } = totp::check(&bytes, &form.code, now, None) else {
                let error = t.app.wrong_setup_code;
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
            let to = t.sign_in.your_account;
            let html = pages::recovery_codes(&state.look, to, &codes, "account");
            (jar, pages::respond(StatusCode::OK, html)).into_response()
        }
        "remove_app" => {
            let required = match signin::required_of(&state, &user, AuthPolicy::Password).await {
                Ok(r) => r,
                Err(e) => return failed(&state, e),
            };
            // A passkey is a second factor too: with one, the app may go.
            if required >= AuthPolicy::TwoFactor && factors.passkeys.is_empty() {
                let notice = t.account.app_required_cannot_remove;
                return show(&state, jar, &session, &user, Shown::notice(notice)).await;
            }
            if let Err(e) = state
                .store
                .remove_totp(&user.id, record(AuditKind::TotpRemoved))
                .await
            {
                return failed(&state, store_error(e));
            }
            let notice = if factors.passkeys.is_empty() {
                t.account.app_removed
            } else {
                t.account.app_removed_passkey_left
            };
            show(&state, jar, &session, &user, Shown::notice(notice)).await
        }
        "add_passkey" => {
            let notice = add_passkey(&state, &user, &form, record(AuditKind::PasskeyAdded)).await;
            show(&state, jar, &session, &user, Shown::notice(&notice)).await
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
                Ok(PasskeyRemoval::Removed) => t.passkey.removed,
                Ok(PasskeyRemoval::NotFound) => t.passkey.no_such_passkey,
                Ok(PasskeyRemoval::LastWayIn) => t.passkey.last_way_in,
                Err(e) => return failed(&state, store_error(e)),
            };
            show(&state, jar, &session, &user, Shown::notice(notice)).await
        }
        // Where passkeys work: on an IP-address issuer none signs in, so the password stays.
        "remove_password" if state.passkeys().is_ok() => {
            remove_password(&state, jar, &session, &user, record).await
        }
        // A first password needs no current one; a person who has one changes it with it
        // ("change_password"), so a recent session alone never replaces it.
        "set_password" if user.password_hash.is_none() => {
            set_password(&state, jar, &session, &user, &form, record).await
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
            let to = t.sign_in.your_account;
            let html = pages::recovery_codes(&state.look, to, &codes, "account");
            (jar, pages::respond(StatusCode::OK, html)).into_response()
        }
        _ => {
            let t = &t.errors;
            let page = pages::ErrorPage::new(t.account_form_incomplete)
                .link(t.back_to_account, "account".to_owned());
            pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look))
        }
    }
}

/// What the person's account holds, as a JSON file to download (`auth::own_data`).
async fn own_data(state: &AppState, user: &User) -> Result<Response, OAuthError> {
    let now = state.now();
    let document = person_data::file(state.store.as_ref(), user, &state.config.issuer, now)
        .await
        .map_err(store_error)?;
    let body = serde_json::to_vec_pretty(&document).unwrap_or_default();
    let headers = [
        (
            axum::http::header::CONTENT_TYPE,
            "application/json".to_owned(),
        ),
        (
            axum::http::header::CONTENT_DISPOSITION,
            // Not the username, which may be other than ASCII: a header holds ASCII only.
            "attachment; filename=\"account.json\"".to_owned(),
        ),
        (axum::http::header::CACHE_CONTROL, "no-store".to_owned()),
    ];
    Ok((StatusCode::OK, headers, body).into_response())
}

/// Removes the person's own account, where the deployment lets people and they typed their
/// username to confirm (`auth::own_removal`): as an administrator's removal does, their
/// sessions end first (each application told), then everything of theirs goes but the audit
/// records; recorded as `account.removed`. The browser's session cookie goes with it.
async fn remove_account(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    form: &AccountForm,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    use crate::auth::own_removal::{self, Offer, Refused};
    let t = &state.look.text;
    let administrator = match super::console::is_administrator(state, user).await {
        Ok(a) => a,
        Err(e) => return failed(state, e),
    };
    let offer = own_removal::offer(state.config.account_removal, administrator);
    match own_removal::decide(offer, &form.confirm, &user.username) {
        Ok(()) => {}
        Err(Refused::NotOffered(Offer::AskAnotherAdministrator)) => {
            let error = t.account.remove_ask_another_administrator;
            return show(
                state,
                jar,
                session,
                user,
                Shown::error(Section::Removal, error),
            )
            .await;
        }
        Err(Refused::NotConfirmed) => {
            let error = (t.account.remove_not_confirmed)(&user.username);
            return show(
                state,
                jar,
                session,
                user,
                Shown::error(Section::Removal, &error),
            )
            .await;
        }
        Err(Refused::NotOffered(_)) => {
            let t = &t.errors;
            let page = pages::ErrorPage::new(t.account_form_incomplete)
                .link(t.back_to_account, "account".to_owned());
            return pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look));
        }
    }
    let now = state.now();
    let told = super::email::notice_address(state, user);
    match state
        .store
        .remove_user(&user.username, now, Some(record(AuditKind::AccountRemoved)))
        .await
    {
        // Removed meanwhile (by an administrator, or this form sent twice): it is gone all the
        // same.
        Ok(_) | Err(StoreError::NotFound(_)) => {}
        Err(e) => return failed(state, store_error(e)),
    }
    let names = state.config.cookie_names();
    let jar = jar.remove(crate::auth::session::cookie(
        names.session,
        String::new(),
        state.config.secure_cookies,
        None,
    ));
    let html = pages::account_removed(&state.look, told.as_deref());
    (jar, pages::respond(StatusCode::OK, html)).into_response()
}

/// A new name or email address. A new address is not confirmed (`email_verified` false) until
/// an administrator confirms it: applications that trust the claim must not take the person's
/// word for it.
async fn save_profile(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    form: &AccountForm,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    let t = &state.look.text.account;
    let name = form.name.trim();
    let name = (!name.is_empty()).then(|| name.to_owned());
    let email = form.email.trim();
    let refused = if admin::check_profile(name.as_deref(), &user.profile).is_err() {
        Some(t.bad_name)
    } else if admin::check_email(email).is_err() {
        Some(t.bad_email)
    } else {
        None
    };
    if let Some(why) = refused {
        let shown = Shown::error(Section::Profile, why);
        return show(state, jar, session, user, shown).await;
    }
    let now = state.now();
    let (new_name, new_email) = (name != user.name, email != user.email);
    let changed: Vec<&str> = [(new_name, "name"), (new_email, "email")]
        .into_iter()
        .filter_map(|(changed, field)| changed.then_some(field))
        .collect();
    // Both changes in one transaction, with one record naming them.
    let mut edits = Vec::new();
    if new_name {
        let profile = crate::model::Profile {
            updated_at: Some(now),
            ..user.profile.clone()
        };
        let change = UserChange::SetProfile { name, profile };
        edits.push(UserEdit {
            change,
            audit: None,
        });
    }
    if new_email {
        let change = UserChange::SetEmail {
            email: email.to_owned(),
            verified: false,
        };
        edits.push(UserEdit {
            change,
            audit: None,
        });
    }
    if let Some(last) = edits.last_mut() {
        last.audit = Some(record(AuditKind::ProfileChanged).detail(changed.join(" ")));
        if let Err(e) = state.store.edit_user(&user.username, edits, now).await {
            return failed(state, store_error(e));
        }
    }
    if changed.is_empty() {
        return show(
            state,
            jar,
            session,
            user,
            Shown::notice(t.profile_unchanged),
        )
        .await;
    }
    // Shown as stored now.
    let user = match state.store.session(&session.id_hash, now).await {
        Ok(Some((_, u))) => u,
        Ok(None) => user.clone(),
        Err(e) => return failed(state, store_error(e)),
    };
    show(state, jar, session, &user, Shown::notice(t.profile_saved)).await
}

/// The person's own language, or none (the browser's then decides): their account's
/// `locale`, which applications that see their profile are told too, and this browser's
/// language cookie. The page answers in the language just chosen.
async fn save_language(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    form: &AccountForm,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    let shown = state.persons_look(user).map(|look| look.text.language);
    let Some(locale) = language_change(shown, &form.language, state.looks.tags()) else {
        let notice = state.look.text.account.profile_unchanged;
        return show(state, jar, session, user, Shown::notice(notice)).await;
    };
    let now = state.now();
    let profile = crate::model::Profile {
        locale,
        updated_at: Some(now),
        ..user.profile.clone()
    };
    let change = UserChange::SetProfile {
        name: user.name.clone(),
        profile,
    };
    let audit = record(AuditKind::ProfileChanged).detail("locale");
    if let Err(e) = state
        .store
        .update_user(&user.username, change, now, Some(audit))
        .await
    {
        return failed(state, store_error(e));
    }
    // Shown as stored now.
    let user = match state.store.session(&session.id_hash, now).await {
        Ok(Some((_, u))) => u,
        Ok(None) => user.clone(),
        Err(e) => return failed(state, store_error(e)),
    };
    let state = &state.for_person(&user);
    let jar = state.language_cookie(jar, &user);
    let notice = state.look.text.account.language_saved;
    show(state, jar, session, &user, Shown::notice(notice)).await
}

/// What choosing `asked` on the account page or an administrator's person page (a tag of the
/// `offered` languages, or empty for none) does to an account whose `locale` the page showed
/// as `shown` (the offered language it matches, if one does): `None` leaves the `locale` as it
/// is (the same choice again, so an `en-GB` or a `fr` given elsewhere stays as given; or a
/// value the page never offers), `Some` is the new one.
pub(super) fn language_change(
    shown: Option<&str>,
    asked: &str,
    offered: &[&str],
) -> Option<Option<String>> {
    let asked = match asked {
        "" => None,
        tag => Some(*offered.iter().find(|offered| **offered == tag)?),
    };
    (asked != shown).then(|| asked.map(str::to_owned))
}

/// A new password, given the current one. Every session of the person ends and every token
/// family they hold is revoked (whoever knew the old password is out), and this browser gets a
/// new session in place of its own.
async fn change_password(
    state: &AppState,
    jar: CookieJar,
    peer: Peer,
    session: &Session,
    user: &User,
    form: &AccountForm,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    let t = &state.look.text.account;
    let refuse = |message: String| {
        let jar = jar.clone();
        async move {
            let shown = Shown::error(Section::Password, &message);
            show(state, jar, session, user, shown).await
        }
    };
    if form.new_password != form.repeat_password {
        return refuse(t.passwords_differ.to_owned()).await;
    }
    // The current password, throttled and audited like a sign-in: a stolen session cannot
    // guess it any faster than the login form can.
    let attempt = Attempt {
        peer,
        username: &user.username,
        password: form.current_password.clone(),
        client_id: None,
    };
    match check_password(state, attempt).await {
        Ok(checked) if checked.id == user.id => {}
        Ok(_) | Err(SignInRefused::Retry(StatusCode::UNAUTHORIZED, _)) => {
            return refuse(t.wrong_current_password.to_owned()).await;
        }
        Err(SignInRefused::Retry(_, message)) => return refuse(message).await,
        Err(SignInRefused::Failed(e)) => return failed(state, e),
    }
    if form.new_password == form.current_password {
        return refuse(t.password_same.to_owned()).await;
    }
    store_password(state, jar, session, user, form, record).await
}

/// A first password, for a person who signs in with a passkey: after a recent sign-in, as
/// adding a passkey is. What follows is what a new password does.
async fn set_password(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    form: &AccountForm,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    if form.new_password != form.repeat_password {
        let shown = Shown::error(Section::Password, state.look.text.account.passwords_differ);
        return show(state, jar, session, user, shown).await;
    }
    store_password(state, jar, session, user, form, record).await
}

/// Hashes and stores the form's new password, ending every session and token family of the
/// person, and goes on in this browser in a new session.
async fn store_password(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    form: &AccountForm,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    let hash = match new_password_hash(state, user, &form.new_password).await {
        Ok(h) => h,
        Err(NewPassword::Refused(why)) => {
            let shown = Shown::error(Section::Password, &why);
            return show(state, jar, session, user, shown).await;
        }
        Err(NewPassword::Failed(e)) => return failed(state, e),
    };
    let now = state.now();
    let change = UserChange::SetPassword(hash.clone());
    let audit = Some(record(AuditKind::PasswordChanged));
    let out = match state
        .store
        .update_user(&user.username, change, now, audit)
        .await
    {
        Ok(out) => out,
        Err(e) => return failed(state, store_error(e)),
    };
    let notice = (state.look.text.account.password_changed)(out.sessions.saturating_sub(1));
    go_on_renewed(state, jar, session, user, Some(hash), now, &notice).await
}

/// Takes the person's password away, once they have a passkey to sign in with (the store
/// judges that, `auth::ways_in`): whoever knew it is signed out, as a new password does.
async fn remove_password(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    let now = state.now();
    let removed = state
        .store
        .remove_password(&user.id, now, record(AuditKind::PasswordRemoved))
        .await;
    let out = match removed {
        Ok(Some(out)) => out,
        Ok(None) => {
            let notice = state.look.text.account.password_kept;
            return show(state, jar, session, user, Shown::notice(notice)).await;
        }
        Err(e) => return failed(state, store_error(e)),
    };
    let notice = (state.look.text.account.password_removed)(out.sessions.saturating_sub(1));
    go_on_renewed(state, jar, session, user, None, now, &notice).await
}

/// After a change of the person's password (now `password_hash`) that ended every session of
/// theirs: the same browser goes on, in a new session (where it was signed in from stays), and
/// the page says `notice`.
async fn go_on_renewed(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    password_hash: Option<String>,
    now: UnixTime,
    notice: &str,
) -> Response {
    let user = &User {
        password_hash,
        ..user.clone()
    };
    let origin = signin::Origin::of_session(session);
    // The new session is what the old one was: its way in, and kept if it was.
    let opening = signin::Opening {
        amr: session.amr,
        auth_time: now,
        kept: session.kept,
    };
    let renewed = signin::open_session(state, jar, user, opening, origin, None).await;
    let (jar, renewed) = match renewed {
        Ok(s) => s,
        Err(e) => return failed(state, e),
    };
    show(state, jar, &renewed, user, Shown::notice(notice)).await
}

/// Why a new password was not hashed.
pub(super) enum NewPassword {
    /// Too short, too long or too easy to guess: why, in the person's words.
    Refused(String),
    /// Hashing failed.
    Failed(OAuthError),
}

/// The argon2id hash of `new`, a new password for `user`, after checking it (not built from
/// their username or address either).
pub(super) async fn new_password_hash(
    state: &AppState,
    user: &User,
    new: &str,
) -> Result<String, NewPassword> {
    let inputs = vec![user.username.clone(), user.email.clone()];
    state
        .passwords
        .hash(new.to_owned(), inputs)
        .await
        .map_err(|e| password_refused(state, e))
}

/// Why a new password was not taken, in the words of the request's language.
pub(super) fn password_refused(state: &AppState, e: PasswordError) -> NewPassword {
    let t = &state.look.text.account;
    match e {
        PasswordError::TooShort => {
            NewPassword::Refused((t.password_too_short)(passwords::MIN_LENGTH))
        }
        PasswordError::TooLong => {
            NewPassword::Refused((t.password_too_long)(passwords::MAX_LENGTH))
        }
        PasswordError::TooWeak(why) => {
            NewPassword::Refused((t.password_too_weak)(&(t.weakness)(&why)))
        }
        e @ PasswordError::Hash(_) => NewPassword::Failed(super::error::internal(e.to_string())),
    }
}

/// Signs out one of the person's other sessions (`Some(id hash)`, as the page listed it), or
/// all of them (`None`). A session that is not theirs, or is this browser's, is left alone.
async fn end_sessions(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    which: Option<&str>,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    let t = &state.look.text.account;
    let now = state.now();
    let sessions = match state.store.sessions(&user.id, now).await {
        Ok(s) => s,
        Err(e) => return failed(state, store_error(e)),
    };
    let chosen: Vec<&Session> = sessions
        .iter()
        .filter(|s| s.id_hash != session.id_hash)
        .filter(|s| which.is_none_or(|id| s.id_hash == id))
        .collect();
    // The record goes with the last session's end, in its transaction: it exists only once
    // every session it counts has ended.
    let detail = format!("sessions ended: {}", chosen.len());
    for (i, s) in chosen.iter().enumerate() {
        let audit = (i + 1 == chosen.len())
            .then(|| record(AuditKind::SessionsEnded).detail(detail.as_str()));
        if let Err(e) = state
            .store
            .end_session(&s.id_hash, EndedFrom::Elsewhere, now, audit)
            .await
        {
            return failed(state, store_error(e));
        }
    }
    let notice = match (which, chosen.len()) {
        (Some(_), 0) => {
            return show(state, jar, session, user, Shown::notice(t.no_such_session)).await;
        }
        (Some(_), _) => t.session_ended.to_owned(),
        (None, n) => (t.other_sessions_ended)(n),
    };
    show(state, jar, session, user, Shown::notice(&notice)).await
}

/// Withdraws what the person allowed `client_id`, and signs the application out of their
/// account (its token families revoked).
async fn withdraw(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    client_id: &str,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    let t = &state.look.text.account;
    let now = state.now();
    let audit = Some(record(AuditKind::ConsentWithdrawn).client(client_id));
    match state
        .store
        .revoke_consent(&user.id, client_id, now, audit)
        .await
    {
        Ok(()) => {}
        Err(StoreError::NotFound(_)) => {
            return show(state, jar, session, user, Shown::notice(t.no_such_app)).await;
        }
        Err(e) => return failed(state, store_error(e)),
    }
    let name = match person_data::app_name(state.store.as_ref(), client_id).await {
        Ok(name) => name,
        Err(e) => return failed(state, store_error(e)),
    };
    let notice = (t.withdrawn)(&name);
    show(state, jar, session, user, Shown::notice(&notice)).await
}

/// Signs the application `client_id` out of the person's account: every token it holds for
/// them is revoked, whether or not it stays signed in when they sign out. Another person's
/// tokens are not theirs to end: the store looks only among the person's own.
async fn sign_out_application(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    client_id: &str,
    record: impl Fn(AuditKind) -> AuditRecord,
) -> Response {
    let t = &state.look.text.account;
    let audit = record(AuditKind::ApplicationSignedOut).client(client_id);
    let ended = state
        .store
        .sign_out_application(&user.id, client_id, state.now(), audit)
        .await;
    let notice = match ended {
        Ok(0) => t.app_signed_out_already.to_owned(),
        Ok(_) => match person_data::app_name(state.store.as_ref(), client_id).await {
            Ok(name) => (t.app_signed_out)(&name),
            Err(e) => return failed(state, store_error(e)),
        },
        Err(e) => return failed(state, store_error(e)),
    };
    show(state, jar, session, user, Shown::notice(&notice)).await
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
        Ok(name) => (state.look.text.passkey.added)(&name),
        Err(message) => message,
    }
}

/// The account page, with what was done or refused.
async fn show(
    state: &AppState,
    jar: CookieJar,
    session: &Session,
    user: &User,
    shown: Shown<'_>,
) -> Response {
    let status = if shown.error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    match account_page(state, session, user, shown).await {
        Ok(html) => (jar, pages::respond(status, html)).into_response(),
        Err(e) => failed(state, e),
    }
}

async fn account_page(
    state: &AppState,
    session: &Session,
    user: &User,
    shown: Shown<'_>,
) -> Result<String, OAuthError> {
    let now = state.now();
    let store = &state.store;
    let Held {
        factors,
        mut sessions,
        consents: apps,
        staying,
        claims: custom,
        activity,
        address_domains,
        ..
    } = Held::read(store.as_ref(), user, now, ACTIVITY_SHOWN)
        .await
        .map_err(store_error)?;
    let required = signin::required_of(state, user, AuthPolicy::Password).await?;
    let key = state.form_key().await.map_err(store_error)?;
    let csrf = forms::issue(
        &key,
        Purpose::Account {
            session: &session.id_hash,
        },
        now,
    );
    let passkeys = match state.passkeys() {
        Ok(_) => {
            let keys = store.passkeys(&user.id).await.map_err(store_error)?;
            Some(keys.into_iter().map(PasskeyView::from).collect::<Vec<_>>())
        }
        Err(_) => None,
    };
    // This browser's first, then the others, newest first (the store's order).
    sessions.sort_by_key(|s| s.id_hash != session.id_hash);
    let applications = store.applications_of(&user.id).await.map_err(store_error)?;
    let administration = super::console::is_administrator(state, user)
        .await?
        .then(|| state.config.endpoint("/admin"));
    let view = pages::AccountView {
        user,
        factors: &factors,
        app_required: required >= AuthPolicy::TwoFactor && factors.passkeys.is_empty(),
        recent: now - session.auth_time <= RECENT,
        csrf: &csrf,
        notice: shown.notice,
        error: shown.error,
        passkeys: passkeys.as_deref(),
        sessions: &sessions,
        this_session: &session.id_hash,
        new_browsers_told: state.mailer.is_some() && state.config.sign_in_notices,
        applications: &applications,
        issuer: &state.config.issuer,
        apps: &apps,
        staying: &staying,
        custom: &custom,
        activity: &activity,
        administration: administration.as_deref(),
        languages: &state.looks.names(),
        language: state.persons_look(user).map(|look| look.text.language),
        address_domains: &address_domains,
        removal: crate::auth::own_removal::offer(
            state.config.account_removal,
            administration.is_some(),
        ),
    };
    Ok(pages::account(&state.look, &view))
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
    let Some(qr) = pages::qr_svg(&state.look, &uri) else {
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
    let to = state.look.text.sign_in.your_account;
    let html = pages::enrol_totp(&state.look, to, &form, &qr, &text, error);
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
    let continuation = Continuation::Account.hidden();
    let hidden = state.login_fields(&continuation);
    let passkeys = state.passkeys().is_ok();
    let to = state.look.text.sign_in.your_account;
    let html = pages::login(
        &state.look,
        (to, None),
        &hidden,
        &csrf,
        username,
        error,
        passkeys,
        state.keep_choice(),
    );
    (jar, pages::respond(status, html)).into_response()
}

fn failed(state: &AppState, e: OAuthError) -> Response {
    refuse(state, Refusal::Page(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn choosing_a_language_changes_the_locale_only_when_the_choice_changed() {
        let offered = ["en", "de"];
        /// What the page showed, what was chosen, and the new `locale` if it changes.
        type Case<'a> = (Option<&'a str>, &'a str, Option<Option<&'a str>>);
        let cases: &[Case<'_>] = &[
            // A choice where there was none, another one, or none again.
            (None, "de", Some(Some("de"))),
            (Some("en"), "de", Some(Some("de"))),
            (Some("de"), "", Some(None)),
            // The same again: an `en-GB` or a `fr` given by an administrator stays.
            (Some("en"), "en", None),
            (None, "", None),
            // What the page never offers changes nothing.
            (None, "fr", None),
            (Some("de"), "de-AT", None),
            (Some("de"), "DE", None),
            (Some("de"), " de", None),
        ];
        for (shown, asked, expected) in cases {
            let expected = expected.map(|e| e.map(str::to_owned));
            assert_eq!(
                language_change(*shown, asked, &offered),
                expected,
                "{shown:?} {asked:?}"
            );
        }
    }
}
