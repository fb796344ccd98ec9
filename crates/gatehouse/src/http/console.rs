//! The administration pages, `/admin`: for people in the administrators' group
//! (`--admin-group`, `admins` by default; the first administrator is made with the CLI). Anyone
//! else signed in gets a 403 page, and the visit is audited (`admin.console_refused`); someone
//! signed out is sent to sign in on their account page.
//!
//! Every change goes through `admin::Admin`, the same operations (and checks, and audit
//! records) as the CLI and the admin API, with the administrator as the actor (`user:ID`). A
//! change needs the administrator's recent sign-in and a form bound to their session
//! (`auth::forms::Purpose::Admin`).

mod signup_links;

use std::collections::HashMap;

use axum::Form;
use axum::extract::multipart::Multipart;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::CookieJar;
use serde::Deserialize;

pub(super) use signup_links::{change_signup_links, signup_links};

use super::Localized;
use super::Stamped;
use super::account::{NewPassword, RECENT};
use super::authorize::{current_session, refuse};
use super::error::store_error;
use super::pages::catalogue::ConsoleText;
use super::pages::{AuditFilters, ConsoleBase, NewPerson, PersonView};
use super::{AppState, Peer, pages};
use crate::admin::{
    Admin, AdminError, ClientPatch, DEFAULT_SECRET_OVERLAP, GroupPatch, NewClient, NewGroup,
    NewUser, search_users,
};
use crate::auth::forms::{self, Purpose};
use crate::keyring::Rotation;
use crate::model::{
    AuditKind, AuditQuery, AuditRecord, ClaimOwner, ClaimsChange, CustomClaims, EmailPurpose,
    Session, SigningAlg, User, UserSearch,
};
use crate::oidc::authorize::Refusal;
use crate::oidc::{OAuthError, tokens};
use crate::store::StoreError;

/// People shown on one page of a search.
const PEOPLE_SHOWN: usize = 50;
/// A group's members shown on its page, by username: the group's members are listed in full
/// by the CLI (`group members`) and the admin API.
const MEMBERS_SHOWN: usize = 200;
/// Audit records on one page.
const RECORDS_SHOWN: usize = 50;

/// An administrator, signed in, and their form token. As a handler's argument, only an
/// administrator gets past it: anyone else gets [`administrator`]'s answer, and the handler
/// does not run.
pub(super) struct Administrator {
    session: Session,
    user: User,
    csrf: String,
}

impl Administrator {
    /// The administrative operations, done as this administrator.
    fn ops<'a>(&self, state: &'a AppState, peer: Peer) -> Admin<'a> {
        Admin::new(
            state.store.as_ref(),
            format!("user:{}", self.user.id),
            peer.0,
            state.now(),
        )
    }

    fn base<'a>(&'a self, state: &'a AppState) -> ConsoleBase<'a> {
        ConsoleBase {
            issuer: &state.config.issuer,
            csrf: &self.csrf,
            recent: state.now() - self.session.auth_time <= RECENT,
        }
    }
}

impl FromRequestParts<AppState> for Administrator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, shared: &AppState) -> Result<Self, Response> {
        let Ok(Localized(state)) = Localized::from_request_parts(parts, shared).await;
        let Ok(peer) = Peer::from_request_parts(parts, shared).await;
        let jar = CookieJar::from_headers(&parts.headers);
        administrator(&state, &jar, peer).await
    }
}

/// The administrator this browser is signed in as, or the answer for anyone else.
async fn administrator(
    state: &AppState,
    jar: &CookieJar,
    peer: Peer,
) -> Result<Administrator, Response> {
    let now = state.now();
    let (session, user) = match current_session(state, jar, now).await {
        Ok(Some(s)) => s,
        Ok(None) => {
            return Err(Redirect::to(&state.config.endpoint("/account")).into_response());
        }
        Err(e) => return Err(failed(state, e)),
    };
    let groups = match state.store.user_groups(&user.id).await {
        Ok(g) => g,
        Err(e) => return Err(failed(state, store_error(e))),
    };
    let key = match state.form_key().await {
        Ok(k) => k,
        Err(e) => return Err(failed(state, store_error(e))),
    };
    let csrf = forms::issue(
        &key,
        Purpose::Admin {
            session: &session.id_hash,
        },
        now,
    );
    let admin = Administrator {
        session,
        user,
        csrf,
    };
    if !groups.iter().any(|g| g.name == state.config.admin_group) {
        state
            .audit(
                AuditRecord::new(
                    now,
                    AuditKind::ConsoleRefused,
                    format!("user:{}", admin.user.id),
                )
                .subject(Some(admin.user.username.as_str()))
                .stamped(&peer),
            )
            .await;
        let html = pages::console_refused(&state.look, &admin.base(state));
        return Err(pages::respond(StatusCode::FORBIDDEN, html));
    }
    Ok(admin)
}

/// A form of the administration pages, which carries the token of the session it was made
/// for.
pub(super) trait AdminForm {
    fn csrf(&self) -> &str;
}

/// The forms of this module: each carries its token in its `csrf` field.
macro_rules! admin_forms {
    ($($form:ty),*) => {
        $(impl AdminForm for $form {
            fn csrf(&self) -> &str {
                &self.csrf
            }
        })*
    };
}
admin_forms!(
    NewPersonForm,
    PersonForm,
    GroupForm,
    ClientForm,
    LogoForm,
    KeysForm
);

impl<T: AdminForm> AdminForm for Form<T> {
    fn csrf(&self) -> &str {
        self.0.csrf()
    }
}

impl<T: AdminForm> AdminForm for axum_extra::extract::Form<T> {
    fn csrf(&self) -> &str {
        self.0.csrf()
    }
}

/// A form an administrator sent, read by `F` (`Form`, `axum_extra`'s `Form`, [`LogoForm`]). As
/// a handler's argument, only an administrator's form with the token of their session gets
/// past it: anyone else gets [`administrator`]'s answer before the body is read, a body that
/// is not such a form `F`'s answer, and a form whose token is not theirs (forged, expired, of
/// another session) the page that says so. The handler does not run.
pub(super) struct Sent<F> {
    admin: Administrator,
    form: F,
}

impl<F> FromRequest<AppState> for Sent<F>
where
    F: FromRequest<AppState> + AdminForm + Send,
{
    type Rejection = Response;

    async fn from_request(request: Request, shared: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Ok(Localized(state)) = Localized::from_request_parts(&mut parts, shared).await;
        let Ok(peer) = Peer::from_request_parts(&mut parts, shared).await;
        let jar = CookieJar::from_headers(&parts.headers);
        let admin = administrator(&state, &jar, peer).await?;
        let form = F::from_request(Request::from_parts(parts, body), shared)
            .await
            .map_err(IntoResponse::into_response)?;
        let key = state
            .form_key()
            .await
            .map_err(|e| failed(&state, store_error(e)))?;
        let purpose = Purpose::Admin {
            session: &admin.session.id_hash,
        };
        if !forms::verify(&key, purpose, form.csrf(), state.now()) {
            let restart = Some(state.config.endpoint("/admin"));
            return Err(pages::expired_form(&state.look, restart));
        }
        Ok(Sent { admin, form })
    }
}

/// Whether `user` may use the administration pages (for the account page's link).
pub(super) async fn is_administrator(state: &AppState, user: &User) -> Result<bool, OAuthError> {
    let groups = state
        .store
        .user_groups(&user.id)
        .await
        .map_err(store_error)?;
    Ok(groups.iter().any(|g| g.name == state.config.admin_group))
}

#[derive(Deserialize)]
pub(super) struct PeopleQuery {
    #[serde(default)]
    q: String,
}

/// GET /admin: people, found by username, name or address.
pub(super) async fn people(
    Localized(state): Localized,
    admin: Administrator,
    Query(query): Query<PeopleQuery>,
) -> Response {
    let q: String = query.q.trim().chars().take(254).collect();
    people_page(&state, &admin, &q, &NewPerson::default(), StatusCode::OK).await
}

/// The people page: those `q` finds, and the form that adds one (`new`, as last sent).
async fn people_page(
    state: &AppState,
    admin: &Administrator,
    q: &str,
    new: &NewPerson<'_>,
    status: StatusCode,
) -> Response {
    let search = UserSearch::new(q, None, PEOPLE_SHOWN + 1);
    let mut found = match search_users(state.store.as_ref(), &search).await {
        Ok(found) => found,
        Err(e) => return failed(state, store_error(e)),
    };
    let more = found.len() > PEOPLE_SHOWN;
    found.truncate(PEOPLE_SHOWN);
    let languages = state.looks.names();
    let new = NewPerson {
        languages: &languages,
        ..*new
    };
    let html = pages::console_people(&state.look, &admin.base(state), q, &found, more, &new);
    pages::respond(status, html)
}

#[derive(Deserialize)]
pub(super) struct NewPersonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    name: String,
    /// Their first password, where no mail goes out to invite them.
    #[serde(default)]
    password: String,
    /// Their language (a tag the pages offer), or empty for none.
    #[serde(default)]
    language: String,
}

/// POST /admin: adds a person. Where mail goes out they are invited to choose their password
/// (the account is made with a random one nobody knows); otherwise the administrator gives
/// the first password.
pub(super) async fn add_person(
    Localized(state): Localized,
    peer: Peer,
    Sent {
        admin,
        form: Form(form),
    }: Sent<Form<NewPersonForm>>,
) -> Response {
    let t = &state.look.text.console;
    let refused = |error: String| {
        let form = &form;
        let admin = &admin;
        let state = &state;
        async move {
            let new = NewPerson {
                username: &form.username,
                email: &form.email,
                name: &form.name,
                language: &form.language,
                error: Some(&error),
                ..NewPerson::default()
            };
            people_page(state, admin, "", &new, StatusCode::BAD_REQUEST).await
        }
    };
    if !admin.base(&state).recent {
        return refused(t.not_recent.to_owned()).await;
    }
    let invite = state.mailer.is_some();
    let password = if invite {
        tokens::generate()
    } else {
        form.password.clone()
    };
    let name = form.name.trim();
    // One of the languages the form offers, or none: the invitation speaks it
    // (`email::message`), and so do the pages once they have signed in.
    let locale = state
        .looks
        .tags()
        .iter()
        .find(|tag| **tag == form.language)
        .map(|tag| (*tag).to_owned());
    let new = NewUser {
        name: (!name.is_empty()).then(|| name.to_owned()),
        locale,
        ..NewUser::new(
            form.username.trim().to_owned(),
            form.email.trim().to_owned(),
            password,
        )
    };
    let ops = admin.ops(&state, peer.clone());
    let user = match ops.add_user(&state.passwords, new).await {
        Ok(u) => u,
        Err(AdminError::Store(StoreError::Conflict(what))) => {
            return refused((t.exists_already)(&what)).await;
        }
        Err(AdminError::Invalid(why)) => return refused((t.refusal)(&why)).await,
        Err(AdminError::Password(e)) => match super::account::password_refused(&state, e) {
            NewPassword::Refused(why) => return refused(why).await,
            NewPassword::Failed(e) => return failed(&state, e),
        },
        Err(e) => return admin_failed(&state, e),
    };
    let notice = if invite {
        match super::email::send_link(&state, peer, &user, EmailPurpose::Invite).await {
            Ok(_) => (t.done_invited)(&user.email),
            Err(e) => return failed(&state, store_error(e)),
        }
    } else {
        t.done_created.to_owned()
    };
    show_person(&state, &admin, &user.username, Some(&notice), None).await
}

/// GET /admin/users/{username}: one person.
pub(super) async fn person(
    Localized(state): Localized,
    admin: Administrator,
    Path(username): Path<String>,
) -> Response {
    show_person(&state, &admin, &username, None, None).await
}

#[derive(Deserialize)]
pub(super) struct PersonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    claims: String,
    /// Their language (a tag the pages offer), or empty for none.
    #[serde(default)]
    language: String,
    /// Their username as typed to confirm the removal of their account.
    #[serde(default)]
    confirm: String,
    /// Their display name (blank for none) and address, as the form sends them back.
    #[serde(default)]
    name: String,
    #[serde(default)]
    email: String,
    /// The domains of their address rule, separated by spaces or commas.
    #[serde(default)]
    domains: String,
    /// The application whose access to withdraw.
    #[serde(default)]
    client_id: String,
}

/// What a refused form of the person page sent, shown again in its field so that nothing
/// typed is lost.
#[derive(Clone, Copy)]
enum Typed<'a> {
    Nothing,
    Claims(&'a str),
    Domains(&'a str),
}

/// POST /admin/users/{username}: one of the person page's buttons.
pub(super) async fn act(
    Localized(state): Localized,
    peer: Peer,
    Path(username): Path<String>,
    Sent {
        admin,
        form: Form(form),
    }: Sent<Form<PersonForm>>,
) -> Response {
    let t = &state.look.text.console;
    if !admin.base(&state).recent {
        return show_person(&state, &admin, &username, None, Some(t.not_recent)).await;
    }
    let ops = admin.ops(&state, peer.clone());
    let target = match ops.user(&username).await {
        Ok(u) => u,
        Err(e) => return admin_failed(&state, e),
    };
    let passkey_link =
        crate::auth::email_links::may_make_passkey_link(&target, state.passkeys().is_ok()).is_ok();
    let done: Result<String, AdminError> = match form.action.as_str() {
        "disable" if target.id == admin.user.id => {
            return show_person(&state, &admin, &username, None, Some(t.cannot_disable_self)).await;
        }
        "remove" if target.id == admin.user.id => {
            return show_person(&state, &admin, &username, None, Some(t.cannot_remove_self)).await;
        }
        "remove" if form.confirm.trim() != target.username => {
            return show_person(&state, &admin, &username, None, Some(t.confirm_mismatch)).await;
        }
        "remove" => match ops.remove_user(&target.username).await {
            Ok(_) => {
                let notice = (t.done_person_removed)(&target.username);
                let new = NewPerson {
                    notice: Some(&notice),
                    ..NewPerson::default()
                };
                return people_page(&state, &admin, "", &new, StatusCode::OK).await;
            }
            Err(e) => Err(e),
        },
        "disable" => ops
            .set_disabled(&target.username, true)
            .await
            .map(|out| (t.done_disabled)(out.sessions)),
        "enable" => ops
            .set_disabled(&target.username, false)
            .await
            .map(|_| t.done_enabled.to_owned()),
        "logout" => ops
            .logout(&target.username)
            .await
            .map(|out| (t.done_logout)(out.sessions)),
        "unlock" => ops.unlock(&target.username).await.map(|done| {
            if done.paused_until.is_some() {
                t.done_unlocked.to_owned()
            } else {
                t.done_not_paused.to_owned()
            }
        }),
        "lift_address_rule" => ops
            .lift_address_rule(&target.username)
            .await
            .map(|_| t.done_address_rule_lifted.to_owned()),
        "set_address_rule" => {
            let domains = crate::auth::signup::typed_domains(&form.domains);
            match ops.set_address_rule(&target.username, &domains).await {
                Ok(set) if set.before == set.domains => {
                    Ok(state.look.text.account.profile_unchanged.to_owned())
                }
                Ok(set) => Ok((t.done_address_rule_set)(&set.domains.join(", "))),
                Err(AdminError::Invalid(why)) => {
                    let error = (t.refusal)(&why);
                    let refused = (Some(error.as_str()), Typed::Domains(&form.domains));
                    return show_person_with(&state, &admin, &username, None, refused).await;
                }
                Err(e) => Err(e),
            }
        }
        "withdraw_consent" => {
            let name = match state.store.client(&form.client_id).await {
                Ok(Some(c)) => c.display_name().to_owned(),
                Ok(None) => form.client_id.chars().take(128).collect(),
                Err(e) => return failed(&state, store_error(e)),
            };
            match ops.revoke_consent(&target.username, &form.client_id).await {
                Ok(()) => Ok((t.done_withdrawn)(&name)),
                Err(AdminError::Store(StoreError::NotFound(_))) => Ok(t.no_such_consent.to_owned()),
                Err(e) => Err(e),
            }
        }
        "reset_factors" => ops
            .reset_factors(&target.username)
            .await
            .map(|_| t.done_reset_factors.to_owned()),
        "confirm_email" | "unconfirm_email" => {
            let confirmed = form.action == "confirm_email";
            ops.set_email(&target.username, None, Some(confirmed))
                .await
                .map(|_| {
                    if confirmed {
                        t.done_confirmed.to_owned()
                    } else {
                        t.done_unconfirmed.to_owned()
                    }
                })
        }
        "send_reset" if state.mailer.is_some() && !target.disabled => {
            match super::email::send_link(&state, peer, &target, EmailPurpose::Reset).await {
                Ok(true) => Ok((t.done_reset_sent)(&target.email)),
                Ok(false) => Ok((t.reset_sent_recently)(&target.email)),
                Err(e) => Err(AdminError::Store(e)),
            }
        }
        "reset_link" if state.mailer.is_none() && !target.disabled => {
            return hand_over_reset_link(&state, &admin, peer, &target).await;
        }
        "passkey_link" if state.mailer.is_none() && passkey_link => {
            return hand_over_passkey_link(&state, &admin, peer, &target).await;
        }
        "send_passkey_link" if state.mailer.is_some() && passkey_link => {
            let made = AuditRecord::new(
                state.now(),
                AuditKind::PasskeyLinkMade,
                format!("user:{}", admin.user.id),
            )
            .subject(Some(target.username.as_str()))
            .stamped(&peer)
            .detail(format!("mailed to {}", target.email));
            match super::email::new_link(&state, &target, EmailPurpose::Passkey, made, true).await {
                Ok(Some(_)) => {
                    if let Some(mailer) = &state.mailer {
                        mailer.queued();
                    }
                    Ok((t.done_passkey_link_sent)(&target.email))
                }
                Ok(None) => Ok((t.reset_sent_recently)(&target.email)),
                Err(e) => Err(AdminError::Store(e)),
            }
        }
        "set_profile" => {
            // Only what differs is changed: the same form sent again changes nothing.
            let name = Some(form.name.trim().to_owned()).filter(|n| !n.is_empty());
            let email = form.email.trim();
            let edits = crate::admin::UserEdits {
                email: (email != target.email).then(|| email.to_owned()),
                profile: crate::admin::ProfileChange {
                    name: (name != target.name).then_some(name),
                    ..Default::default()
                },
                ..Default::default()
            };
            if edits.email.is_none() && edits.profile.name.is_none() {
                Ok(state.look.text.account.profile_unchanged.to_owned())
            } else {
                ops.edit_user(&state.passwords, &target.username, edits)
                    .await
                    .map(|_| t.done_name_and_address.to_owned())
            }
        }
        "set_language" => {
            let shown = state.persons_look(&target).map(|look| look.text.language);
            match super::account::language_change(shown, &form.language, state.looks.tags()) {
                None => Ok(state.look.text.account.profile_unchanged.to_owned()),
                Some(locale) => {
                    let change = crate::admin::ProfileChange {
                        locale: Some(locale),
                        ..Default::default()
                    };
                    ops.update_profile(&target.username, change)
                        .await
                        .map(|_| t.done_language.to_owned())
                }
            }
        }
        "set_claims" => {
            let owner = ClaimOwner::User(target.username.clone());
            match set_claims(&ops, &owner, &form.claims, t).await {
                Ok(()) => Ok(t.done_claims.to_owned()),
                Err(ClaimsRefused::Because(why)) => {
                    let refused = (Some(why.as_str()), Typed::Claims(&form.claims));
                    return show_person_with(&state, &admin, &username, None, refused).await;
                }
                Err(ClaimsRefused::Failed(e)) => Err(e),
            }
        }
        _ => return incomplete(&state, "/admin"),
    };
    match done {
        Ok(notice) => show_person(&state, &admin, &target.username, Some(&notice), None).await,
        Err(AdminError::Invalid(why)) => {
            let error = (t.refusal)(&why);
            show_person(&state, &admin, &target.username, None, Some(&error)).await
        }
        Err(e) => admin_failed(&state, e),
    }
}

/// Where no mail goes out: a password reset link for `target`, shown once to the
/// administrator, who hands it over themselves. The same link as a mailed one (single-use, 30
/// minutes, stored hashed), audited with the administrator as the actor.
async fn hand_over_reset_link(
    state: &AppState,
    admin: &Administrator,
    peer: Peer,
    target: &User,
) -> Response {
    let t = &state.look.text.console;
    let audit = AuditRecord::new(
        state.now(),
        AuditKind::ResetLinkMade,
        format!("user:{}", admin.user.id),
    )
    .subject(Some(target.username.as_str()))
    .stamped(&peer);
    let purpose = EmailPurpose::Reset;
    let made = match super::email::new_link(state, target, purpose, audit, false).await {
        Ok(made) => made,
        Err(e) => return failed(state, store_error(e)),
    };
    let minutes = crate::auth::email_links::ttl(purpose) / 60;
    let words = (
        (t.done_reset_link)(&target.username),
        (t.reset_link_once)(minutes),
    );
    show_link_to_hand_over(state, admin, target, made, words).await
}

/// A passkey link for `target`, who lost their passkey, to hand over where no mail goes out
/// (`Admin::passkey_link`): shown once to the administrator.
async fn hand_over_passkey_link(
    state: &AppState,
    admin: &Administrator,
    peer: Peer,
    target: &User,
) -> Response {
    let t = &state.look.text.console;
    let ops = admin.ops(state, peer);
    let purpose = EmailPurpose::Passkey;
    let made = match ops
        .passkey_link(&target.username, state.passkeys().is_ok())
        .await
    {
        Ok(Ok((secret, _))) => Some(
            state
                .config
                .endpoint(&crate::auth::email_links::path_and_query(purpose, &secret)),
        ),
        Ok(Err(crate::auth::email_links::NoPasskeyLink::TooSoon)) => None,
        // Disabled meanwhile: their page, which offers none now.
        Ok(Err(_)) => return show_person(state, admin, &target.username, None, None).await,
        Err(e) => return admin_failed(state, e),
    };
    let hours = crate::auth::email_links::ttl(purpose) / 3600;
    let words = (
        (t.done_passkey_link)(&target.username),
        (t.passkey_link_once)(hours),
    );
    show_link_to_hand_over(state, admin, target, made, words).await
}

/// The link made for `target` to hand over, shown once with `words` (what it is, and what it
/// does for how long); without one (`None`: one was made less than a minute ago), the person's
/// page says so.
async fn show_link_to_hand_over(
    state: &AppState,
    admin: &Administrator,
    target: &User,
    made: Option<String>,
    (done, once): (String, String),
) -> Response {
    let Some(link) = made else {
        let error = (state.look.text.console.reset_link_recently)(&target.username);
        return show_person(state, admin, &target.username, None, Some(&error)).await;
    };
    let base = admin.base(state);
    let html = pages::console_link_to_hand_over(&state.look, &base, target, &link, &done, &once);
    pages::respond(StatusCode::OK, html)
}

async fn show_person(
    state: &AppState,
    admin: &Administrator,
    username: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    show_person_with(state, admin, username, notice, (error, Typed::Nothing)).await
}

/// As [`show_person`], the field of the form refused (for `error`) showing what it sent.
async fn show_person_with(
    state: &AppState,
    admin: &Administrator,
    username: &str,
    notice: Option<&str>,
    (error, typed): (Option<&str>, Typed<'_>),
) -> Response {
    let ops = admin.ops(state, Peer(None, None));
    let user = match ops.user(username).await {
        Ok(u) => u,
        Err(e) => return admin_failed(state, e),
    };
    let store = &state.store;
    let loaded = async {
        let groups = store.user_groups(&user.id).await?;
        let factors = store.factors(&user.id).await?;
        let sessions = store.sessions(&user.id, state.now()).await?;
        let claims = store
            .custom_claims(&ClaimOwner::User(user.username.clone()))
            .await?
            .unwrap_or_default();
        let domains = store.address_rule(&user.id).await?;
        let consents = crate::admin::person_data::allowed_apps(store.as_ref(), &user.id).await?;
        Ok::<_, crate::store::StoreError>((groups, factors, sessions, claims, domains, consents))
    };
    let (groups, factors, sessions, claims, domains, consents) = match loaded.await {
        Ok(l) => l,
        Err(e) => return failed(state, store_error(e)),
    };
    let paused_until = match ops.locked_until(&user).await {
        Ok(until) => until,
        Err(e) => return admin_failed(state, e),
    };
    let removal_told = super::email::notice_address(state, &user);
    let view = PersonView {
        user: &user,
        groups: &groups,
        factors: &factors,
        sessions: &sessions,
        notice,
        error,
        own: user.id == admin.user.id,
        claims: &match typed {
            Typed::Claims(sent) => sent.to_owned(),
            _ => claims_shown(&claims),
        },
        domains_typed: &match typed {
            Typed::Domains(sent) => sent.to_owned(),
            _ => domains.join(" "),
        },
        languages: &state.looks.names(),
        language: state.persons_look(&user).map(|look| look.text.language),
        passkey_link: crate::auth::email_links::may_make_passkey_link(
            &user,
            state.passkeys().is_ok(),
        )
        .is_ok(),
        paused_until,
        address_domains: &domains,
        consents: &consents,
        removal_told: removal_told.as_deref(),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let html = pages::console_person(&state.look, &admin.base(state), &view);
    pages::respond(status, html)
}

/// GET /admin/groups: the groups, with how many members each has.
pub(super) async fn groups(Localized(state): Localized, admin: Administrator) -> Response {
    groups_page(&state, &admin, None, None, StatusCode::OK).await
}

async fn groups_page(
    state: &AppState,
    admin: &Administrator,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let store = &state.store;
    let listed = async {
        let groups = store.list_groups().await?;
        let counts: HashMap<String, usize> = store.member_counts().await?.into_iter().collect();
        let counted = groups.into_iter().map(|g| {
            let members = counts.get(&g.name).copied().unwrap_or(0);
            (g, members)
        });
        Ok::<_, StoreError>(counted.collect::<Vec<_>>())
    };
    let groups = match listed.await {
        Ok(g) => g,
        Err(e) => return failed(state, store_error(e)),
    };
    let html = pages::console_groups(&state.look, &admin.base(state), &groups, notice, error);
    pages::respond(status, html)
}

#[derive(Deserialize)]
pub(super) struct GroupForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    auth_policy: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    claims: String,
}

/// POST /admin/groups: adds a group.
pub(super) async fn add_group(
    Localized(state): Localized,
    peer: Peer,
    Sent {
        admin,
        form: Form(form),
    }: Sent<Form<GroupForm>>,
) -> Response {
    let t = &state.look.text.console;
    if !admin.base(&state).recent {
        return groups_page(
            &state,
            &admin,
            None,
            Some(t.not_recent),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let description = form.description.trim();
    let new = NewGroup {
        name: form.name.trim().to_owned(),
        description: (!description.is_empty()).then(|| description.to_owned()),
        auth_policy: form.auth_policy.parse().unwrap_or_default(),
    };
    let ops = admin.ops(&state, peer);
    match ops.add_group(new).await {
        Ok(group) => show_group(&state, &admin, &group.name, Some(t.done_group_added), None).await,
        Err(AdminError::Store(StoreError::Conflict(what))) => {
            let error = (t.exists_already)(&what);
            groups_page(&state, &admin, None, Some(&error), StatusCode::BAD_REQUEST).await
        }
        Err(AdminError::Invalid(why)) => {
            let error = (t.refusal)(&why);
            groups_page(&state, &admin, None, Some(&error), StatusCode::BAD_REQUEST).await
        }
        Err(e) => admin_failed(&state, e),
    }
}

/// GET /admin/groups/{name}: one group.
pub(super) async fn group(
    Localized(state): Localized,
    admin: Administrator,
    Path(name): Path<String>,
) -> Response {
    show_group(&state, &admin, &name, None, None).await
}

/// POST /admin/groups/{name}: adds or removes a member, sets the policy, or removes the group
/// (when its name is typed to confirm).
pub(super) async fn change_group(
    Localized(state): Localized,
    peer: Peer,
    Path(name): Path<String>,
    Sent {
        admin,
        form: Form(form),
    }: Sent<Form<GroupForm>>,
) -> Response {
    let t = &state.look.text.console;
    if !admin.base(&state).recent {
        return show_group(&state, &admin, &name, None, Some(t.not_recent)).await;
    }
    let ops = admin.ops(&state, peer);
    let username = form.username.trim();
    let done: Result<String, AdminError> = match form.action.as_str() {
        "add_member" => ops.add_member(&name, username).await.map(|added| {
            if added {
                (t.done_member_added)(username)
            } else {
                (t.done_member_already)(username)
            }
        }),
        "remove_member" => ops.remove_member(&name, username).await.map(|removed| {
            if removed {
                (t.done_member_removed)(username)
            } else {
                (t.done_not_member)(username)
            }
        }),
        "set_policy" => {
            let patch = GroupPatch {
                auth_policy: form.auth_policy.parse().ok(),
                ..GroupPatch::default()
            };
            ops.update_group(&name, patch)
                .await
                .map(|_| t.done_policy.to_owned())
        }
        "set_claims" => {
            let owner = ClaimOwner::Group(name.clone());
            match set_claims(&ops, &owner, &form.claims, t).await {
                Ok(()) => Ok(t.done_claims.to_owned()),
                Err(ClaimsRefused::Because(why)) => {
                    let refused = (Some(why.as_str()), Some(form.claims.as_str()));
                    return show_group_with(&state, &admin, &name, None, refused).await;
                }
                Err(ClaimsRefused::Failed(e)) => Err(e),
            }
        }
        "delete" if form.confirm.trim() != name => {
            return show_group(&state, &admin, &name, None, Some(t.confirm_mismatch)).await;
        }
        "delete" => match ops.delete_group(&name).await {
            Ok(()) => {
                let notice = (t.done_group_removed)(&name);
                return groups_page(&state, &admin, Some(&notice), None, StatusCode::OK).await;
            }
            Err(e) => Err(e),
        },
        _ => return incomplete(&state, "/admin/groups"),
    };
    match done {
        Ok(notice) => show_group(&state, &admin, &name, Some(&notice), None).await,
        // A username that names nobody, or a member that cannot be added: said on the page.
        Err(AdminError::Store(StoreError::NotFound(what))) if form.action != "set_policy" => {
            let error = (t.not_found)(&what);
            show_group(&state, &admin, &name, None, Some(&error)).await
        }
        Err(AdminError::Invalid(why)) => {
            let error = (t.refusal)(&why);
            show_group(&state, &admin, &name, None, Some(&error)).await
        }
        Err(e) => admin_failed(&state, e),
    }
}

async fn show_group(
    state: &AppState,
    admin: &Administrator,
    name: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    show_group_with(state, admin, name, notice, (error, None)).await
}

/// As [`show_group`], the claims field showing `claims_sent` when the claims sent were
/// refused (for `error`).
async fn show_group_with(
    state: &AppState,
    admin: &Administrator,
    name: &str,
    notice: Option<&str>,
    (error, claims_sent): (Option<&str>, Option<&str>),
) -> Response {
    let ops = admin.ops(state, Peer(None, None));
    let first = ops.members_page(name, None, MEMBERS_SHOWN + 1);
    let owner = ClaimOwner::Group(name.to_owned());
    let loaded = (
        ops.group(name).await,
        first.await,
        ops.custom_claims(&owner).await,
    );
    let (group, mut members, claims) = match loaded {
        (Ok(g), Ok(m), Ok(c)) => (g, m, c),
        (Err(AdminError::Store(StoreError::NotFound(_))), _, _) => {
            let c = &state.look.text.console;
            let page = pages::ErrorPage::new(c.no_such_group)
                .link(c.groups, state.config.endpoint("/admin/groups"));
            return pages::respond(StatusCode::NOT_FOUND, page.render(&state.look));
        }
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return admin_failed(state, e),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let more = members.len() > MEMBERS_SHOWN;
    members.truncate(MEMBERS_SHOWN);
    let claims = claims_sent.map_or_else(|| claims_shown(&claims), str::to_owned);
    let html = pages::console_group(
        &state.look,
        &admin.base(state),
        &group,
        (&members, more),
        &claims,
        (notice, error),
    );
    pages::respond(status, html)
}

/// GET /admin/clients: the applications.
pub(super) async fn clients(Localized(state): Localized, admin: Administrator) -> Response {
    clients_page(&state, &admin, None, None, StatusCode::OK).await
}

async fn clients_page(
    state: &AppState,
    admin: &Administrator,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let loaded = async {
        let clients = state.store.list_clients().await?;
        let logos = state.store.client_logo_versions().await?;
        Ok::<_, StoreError>((clients, logos))
    };
    let (clients, logos) = match loaded.await {
        Ok(loaded) => loaded,
        Err(e) => return failed(state, store_error(e)),
    };
    let mut logos: HashMap<String, String> = logos.into_iter().collect();
    let issuer = &state.config.issuer;
    let clients: Vec<_> = clients
        .into_iter()
        .map(|c| {
            let logo = logos.remove(&c.client_id);
            let url = logo.map(|v| pages::client_logo_url(issuer, &c.client_id, &v));
            (c, url)
        })
        .collect();
    let html = pages::console_clients(&state.look, &admin.base(state), &clients, notice, error);
    pages::respond(status, html)
}

#[derive(Deserialize)]
pub(super) struct ClientForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    client_id: String,
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    redirect_uris: String,
    #[serde(default)]
    first_party: Option<String>,
    #[serde(default)]
    require_par: Option<String>,
    /// Shown to a client with keys only; unticked (absent) otherwise.
    #[serde(default)]
    require_signed: Option<String>,
    #[serde(default)]
    require_dpop: Option<String>,
    #[serde(default)]
    require_confirmed_address: Option<String>,
    /// A JWK Set, as pasted.
    #[serde(default)]
    jwks: String,
    #[serde(default)]
    jwks_uri: String,
    #[serde(default)]
    public: Option<String>,
    /// The groups ticked (a checkbox each, so the name repeats).
    #[serde(default)]
    groups: Vec<String>,
    #[serde(default)]
    leaked: Option<String>,
    #[serde(default)]
    confirm: String,
    #[serde(default)]
    home_uri: String,
    #[serde(default)]
    logo_uri: String,
    #[serde(default)]
    post_logout_redirect_uris: String,
    #[serde(default)]
    backchannel_logout_uri: String,
    /// Claim names, separated by spaces (or commas).
    #[serde(default)]
    access_token_claims: String,
    /// One resource a line.
    #[serde(default)]
    resources: String,
    /// One API a line.
    #[serde(default)]
    introspects: String,
    /// The scopes ticked.
    #[serde(default)]
    scopes: Vec<String>,
    /// The grant types ticked.
    #[serde(default)]
    grant_types: Vec<String>,
    #[serde(default)]
    access_token_format: String,
    #[serde(default)]
    id_token_alg: String,
    #[serde(default)]
    auth_policy: String,
    #[serde(default)]
    subject_type: String,
    #[serde(default)]
    sector: String,
}

/// One URI a line, blank lines left out.
fn uri_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

impl ClientForm {
    /// The keys pasted, as JSON for `admin` to check; `None` when the field is empty.
    fn keys(&self, t: &ConsoleText) -> Result<Option<serde_json::Value>, &'static str> {
        let text = self.jwks.trim();
        if text.is_empty() {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|_| t.keys_not_json)
    }

    /// The settings form as a change to the client: every field it shows, given. `None` when a
    /// choice is not one the form offers (a forged form); `Err` names what is missing.
    fn settings(&self, t: &ConsoleText) -> Option<Result<ClientPatch, &'static str>> {
        let access_token_format = self.access_token_format.parse().ok()?;
        let alg = self.id_token_alg.parse().ok()?;
        let auth_policy = self.auth_policy.parse().ok()?;
        let subject_type = self.subject_type.parse().ok()?;
        if self.scopes.is_empty() {
            return Some(Err(t.choose_scope));
        }
        if self.grant_types.is_empty() {
            return Some(Err(t.choose_grant));
        }
        Some(Ok(ClientPatch {
            redirect_uris: Some(uri_lines(&self.redirect_uris)),
            post_logout_redirect_uris: Some(uri_lines(&self.post_logout_redirect_uris)),
            scopes: Some(self.scopes.clone()),
            grant_types: Some(self.grant_types.clone()),
            first_party: Some(self.first_party.is_some()),
            display_name: Some(Some(self.display_name.clone())),
            logo_uri: Some(Some(self.logo_uri.clone())),
            home_uri: Some(Some(self.home_uri.clone())),
            id_token_claims: None,
            access_token_claims: Some(
                self.access_token_claims
                    .split(|c: char| c.is_whitespace() || c == ',')
                    .filter(|name| !name.is_empty())
                    .map(str::to_owned)
                    .collect(),
            ),
            resources: Some(uri_lines(&self.resources)),
            introspects: Some(uri_lines(&self.introspects)),
            id_token_signed_response_alg: Some(alg),
            backchannel_logout_uri: Some(Some(self.backchannel_logout_uri.clone())),
            access_token_format: Some(access_token_format),
            auth_policy: Some(auth_policy),
            jwks: None,
            jwks_uri: None,
            require_pushed_authorization_requests: Some(self.require_par.is_some()),
            require_signed_request_object: Some(self.require_signed.is_some()),
            dpop_bound_access_tokens: Some(self.require_dpop.is_some()),
            require_confirmed_address: Some(self.require_confirmed_address.is_some()),
            subject_type: Some(subject_type),
            // Empty: for pairwise subjects, the one host of its redirect URIs.
            sector_identifier: Some(self.sector.trim())
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        }))
    }
}

/// POST /admin/clients: registers an application; a generated secret is shown once.
pub(super) async fn add_client(
    Localized(state): Localized,
    peer: Peer,
    Sent {
        admin,
        form: axum_extra::extract::Form(form),
    }: Sent<axum_extra::extract::Form<ClientForm>>,
) -> Response {
    let t = &state.look.text.console;
    let refused = |why: String| {
        let (state, admin) = (&state, &admin);
        async move { clients_page(state, admin, None, Some(&why), StatusCode::BAD_REQUEST).await }
    };
    if !admin.base(&state).recent {
        return refused(t.not_recent.to_owned()).await;
    }
    let name = form.display_name.trim();
    let jwks = match form.keys(t) {
        Ok(jwks) => jwks,
        Err(why) => return refused(why.to_owned()).await,
    };
    let new = NewClient {
        client_id: form.client_id.trim().to_owned(),
        redirect_uris: uri_lines(&form.redirect_uris),
        public: form.public.is_some(),
        first_party: form.first_party.is_some(),
        display_name: (!name.is_empty()).then(|| name.to_owned()),
        jwks,
        jwks_uri: Some(form.jwks_uri.trim().to_owned()).filter(|u| !u.is_empty()),
        ..NewClient::default()
    };
    match admin.ops(&state, peer).add_client(new).await {
        Ok((client, Some(secret))) => {
            let html = pages::console_client_secret(
                &state.look,
                &admin.base(&state),
                &client,
                &secret,
                t.done_registered,
            );
            pages::respond(StatusCode::OK, html)
        }
        Ok((client, None)) => {
            show_client(
                &state,
                &admin,
                &client.client_id,
                Some(t.done_registered),
                None,
            )
            .await
        }
        Err(AdminError::Store(StoreError::Conflict(what))) => {
            refused((t.exists_already)(&what)).await
        }
        Err(AdminError::Invalid(why)) => refused((t.refusal)(&why)).await,
        Err(e) => admin_failed(&state, e),
    }
}

/// GET /admin/clients/{client_id}: one application.
pub(super) async fn client(
    Localized(state): Localized,
    admin: Administrator,
    Path(client_id): Path<String>,
) -> Response {
    show_client(&state, &admin, &client_id, None, None).await
}

/// POST /admin/clients/{client_id}: who may use it, a new secret, or removing it (when its id
/// is typed to confirm).
pub(super) async fn change_client(
    Localized(state): Localized,
    peer: Peer,
    Path(client_id): Path<String>,
    Sent {
        admin,
        form: axum_extra::extract::Form(form),
    }: Sent<axum_extra::extract::Form<ClientForm>>,
) -> Response {
    let t = &state.look.text.console;
    if !admin.base(&state).recent {
        return show_client(&state, &admin, &client_id, None, Some(t.not_recent)).await;
    }
    let ops = admin.ops(&state, peer);
    let done = match form.action.as_str() {
        "settings" => match form.settings(t) {
            None => return incomplete(&state, "/admin/clients"),
            Some(Err(why)) => {
                return show_client(&state, &admin, &client_id, None, Some(why)).await;
            }
            Some(Ok(patch)) => ops
                .update_client(&client_id, patch)
                .await
                .map(|_| t.done_settings.to_owned()),
        },
        "keys" => match form.keys(t) {
            Ok(Some(jwks)) => {
                let patch = ClientPatch {
                    jwks: Some(jwks),
                    ..ClientPatch::default()
                };
                ops.update_client(&client_id, patch)
                    .await
                    .map(|_| t.done_keys.to_owned())
            }
            Ok(None) => return incomplete(&state, "/admin/clients"),
            Err(why) => return show_client(&state, &admin, &client_id, None, Some(why)).await,
        },
        "keys_at" => {
            let patch = ClientPatch {
                jwks_uri: Some(form.jwks_uri.clone()),
                ..ClientPatch::default()
            };
            ops.update_client(&client_id, patch)
                .await
                .map(|_| t.done_keys_at.to_owned())
        }
        "access" => ops
            .set_client_access(&client_id, form.groups.clone())
            .await
            .map(|_| t.done_access.to_owned()),
        "rotate" => {
            let at_once = form.leaked.is_some();
            let overlap = if at_once { 0 } else { DEFAULT_SECRET_OVERLAP };
            match ops.rotate_client_secret(&client_id, overlap).await {
                Ok((secret, _)) => {
                    let client = match state.store.client(&client_id).await {
                        Ok(Some(c)) => c,
                        Ok(None) => {
                            return show_client(&state, &admin, &client_id, None, None).await;
                        }
                        Err(e) => return failed(&state, store_error(e)),
                    };
                    let notice = (t.done_rotated)(at_once);
                    let html = pages::console_client_secret(
                        &state.look,
                        &admin.base(&state),
                        &client,
                        &secret,
                        &notice,
                    );
                    return pages::respond(StatusCode::OK, html);
                }
                Err(e) => Err(e),
            }
        }
        "delete" if form.confirm.trim() != client_id => {
            return show_client(&state, &admin, &client_id, None, Some(t.confirm_mismatch)).await;
        }
        "delete" => match ops.remove_client(&client_id).await {
            Ok(()) => {
                let notice = (t.done_client_removed)(&client_id);
                return clients_page(&state, &admin, Some(&notice), None, StatusCode::OK).await;
            }
            Err(e) => Err(e),
        },
        _ => return incomplete(&state, "/admin/clients"),
    };
    match done {
        Ok(notice) => show_client(&state, &admin, &client_id, Some(&notice), None).await,
        Err(AdminError::Invalid(why)) => {
            let error = (t.refusal)(&why);
            show_client(&state, &admin, &client_id, None, Some(&error)).await
        }
        Err(AdminError::Store(StoreError::NotFound(what))) if form.action == "access" => {
            let error = (t.not_found)(&what);
            show_client(&state, &admin, &client_id, None, Some(&error)).await
        }
        Err(e) => admin_failed(&state, e),
    }
}

/// What the logo form sends (`multipart/form-data`, for its file).
#[derive(Default)]
pub(super) struct LogoForm {
    csrf: String,
    action: String,
    image: Option<Vec<u8>>,
}

impl LogoForm {
    /// The form's fields, or `None` for a body that is not such a form (each field once).
    async fn read(mut multipart: Multipart) -> Option<LogoForm> {
        let mut form = LogoForm::default();
        while let Some(field) = multipart.next_field().await.ok()? {
            match field.name()? {
                "csrf" if form.csrf.is_empty() => form.csrf = field.text().await.ok()?,
                "action" if form.action.is_empty() => form.action = field.text().await.ok()?,
                "image" if form.image.is_none() => {
                    form.image = Some(field.bytes().await.ok()?.to_vec());
                }
                _ => return None,
            }
        }
        Some(form)
    }
}

impl FromRequest<AppState> for LogoForm {
    type Rejection = Response;

    /// The form, or the page that says it is incomplete.
    async fn from_request(request: Request, shared: &AppState) -> Result<Self, Response> {
        let (mut parts, body) = request.into_parts();
        let Ok(Localized(state)) = Localized::from_request_parts(&mut parts, shared).await;
        let request = Request::from_parts(parts, body);
        let form = match Multipart::from_request(request, shared).await {
            Ok(m) => LogoForm::read(m).await,
            Err(_) => None,
        };
        form.ok_or_else(|| incomplete(&state, "/admin/clients"))
    }
}

/// POST /admin/clients/{client_id}/logo: gives the client the image sent as its logo
/// (`action=logo`), or takes its logo away (`action=remove`).
pub(super) async fn set_client_logo(
    Localized(state): Localized,
    peer: Peer,
    Path(client_id): Path<String>,
    Sent { admin, form }: Sent<LogoForm>,
) -> Response {
    let t = &state.look.text.console;
    if !admin.base(&state).recent {
        return show_client(&state, &admin, &client_id, None, Some(t.not_recent)).await;
    }
    let ops = admin.ops(&state, peer);
    let done = match (form.action.as_str(), form.image) {
        ("logo", Some(image)) => ops
            .give_client_logo(&client_id, image)
            .await
            .map(|_| t.done_logo),
        ("remove", None) => ops
            .remove_client_logo(&client_id)
            .await
            .map(|_| t.done_logo_removed),
        _ => return incomplete(&state, "/admin/clients"),
    };
    match done {
        Ok(notice) => show_client(&state, &admin, &client_id, Some(notice), None).await,
        Err(AdminError::Invalid(why)) => {
            let error = (t.refusal)(&why);
            show_client(&state, &admin, &client_id, None, Some(&error)).await
        }
        Err(e) => admin_failed(&state, e),
    }
}

async fn show_client(
    state: &AppState,
    admin: &Administrator,
    client_id: &str,
    notice: Option<&str>,
    error: Option<&str>,
) -> Response {
    let store = &state.store;
    let loaded = async {
        let client = store.client_as_stored(client_id).await?;
        let access = store.client_access(client_id).await?;
        let groups = store.list_groups().await?;
        let logo = store.client_logo_version(client_id).await?;
        Ok::<_, StoreError>((client, access, groups, logo))
    };
    let (client, access, groups, logo) = match loaded.await {
        Ok((Some(c), a, g, l)) => (c, a, g, l),
        Ok((None, ..)) => {
            let c = &state.look.text.console;
            let page = pages::ErrorPage::new(c.no_such_client)
                .link(c.applications, state.config.endpoint("/admin/clients"));
            return pages::respond(StatusCode::NOT_FOUND, page.render(&state.look));
        }
        Err(e) => return failed(state, store_error(e)),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    let logo = logo.map(|v| pages::client_logo_url(&state.config.issuer, client_id, &v));
    let shown = pages::ClientPage {
        access: &access,
        groups: &groups,
        logo: logo.as_deref(),
    };
    let html = pages::console_client(
        &state.look,
        &admin.base(state),
        &client,
        &shown,
        notice,
        error,
    );
    pages::respond(status, html)
}

/// GET /admin/keys: the signing keys.
pub(super) async fn keys(Localized(state): Localized, admin: Administrator) -> Response {
    keys_page(&state, &admin, None, None, StatusCode::OK).await
}

async fn keys_page(
    state: &AppState,
    admin: &Administrator,
    notice: Option<&str>,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let keys = match state.store.signing_keys(state.now()).await {
        Ok(k) => k,
        Err(e) => return failed(state, store_error(e)),
    };
    let html = pages::console_keys(&state.look, &admin.base(state), &keys, notice, error);
    pages::respond(status, html)
}

#[derive(Deserialize)]
pub(super) struct KeysForm {
    #[serde(default)]
    csrf: String,
    /// One algorithm, or empty for all.
    #[serde(default)]
    alg: String,
    #[serde(default)]
    compromised: Option<String>,
}

/// POST /admin/keys: new signing keys, on the same schedule as `gatehouse keys rotate`.
pub(super) async fn rotate_keys(
    Localized(state): Localized,
    peer: Peer,
    Sent {
        admin,
        form: Form(form),
    }: Sent<Form<KeysForm>>,
) -> Response {
    let t = &state.look.text.console;
    if !admin.base(&state).recent {
        return keys_page(
            &state,
            &admin,
            None,
            Some(t.not_recent),
            StatusCode::BAD_REQUEST,
        )
        .await;
    }
    let algs = if form.alg.is_empty() {
        SigningAlg::ALL.to_vec()
    } else {
        match form.alg.parse::<SigningAlg>() {
            Ok(alg) => vec![alg],
            Err(e) => {
                let why = e.to_string();
                return keys_page(&state, &admin, None, Some(&why), StatusCode::BAD_REQUEST).await;
            }
        }
    };
    let compromised = form.compromised.is_some();
    let rotation = if compromised {
        Rotation::Compromised
    } else {
        Rotation::scheduled(state.config.id_token_ttl)
    };
    let ops = admin.ops(&state, peer);
    for alg in &algs {
        if let Err(e) = ops.rotate_key(*alg, rotation).await {
            return admin_failed(&state, e);
        }
    }
    let notice = (t.done_rotated_keys)(algs.len(), compromised);
    keys_page(&state, &admin, Some(&notice), None, StatusCode::OK).await
}

#[derive(Deserialize)]
pub(super) struct AuditParams {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    subject: String,
    #[serde(default)]
    actor: String,
    before: Option<i64>,
}

/// GET /admin/audit: the audit log, newest first, filtered, a page at a time.
pub(super) async fn audit(
    Localized(state): Localized,
    admin: Administrator,
    Query(params): Query<AuditParams>,
) -> Response {
    let given = |s: &str| {
        let s: String = s.trim().chars().take(254).collect();
        (!s.is_empty()).then_some(s)
    };
    let query = AuditQuery {
        kind_prefix: given(&params.kind),
        subject: given(&params.subject),
        actor: given(&params.actor),
        before: params.before,
        limit: RECORDS_SHOWN + 1,
    };
    let mut events = match state.store.audit_query(query.clone()).await {
        Ok(e) => e,
        Err(e) => return failed(&state, store_error(e)),
    };
    let older = (events.len() > RECORDS_SHOWN).then(|| {
        events.truncate(RECORDS_SHOWN);
        let last = events.last().map_or(0, |e| e.id);
        let mut link = url::form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("kind", &query.kind_prefix),
            ("subject", &query.subject),
            ("actor", &query.actor),
        ] {
            if let Some(v) = value {
                link.append_pair(name, v);
            }
        }
        link.append_pair("before", &last.to_string());
        state
            .config
            .endpoint(&format!("/admin/audit?{}", link.finish()))
    });
    let filters = AuditFilters {
        kind: query.kind_prefix.as_deref().unwrap_or_default(),
        subject: query.subject.as_deref().unwrap_or_default(),
        actor: query.actor.as_deref().unwrap_or_default(),
    };
    let html = pages::console_audit(&state.look, &admin.base(&state), &filters, &events, older);
    pages::respond(StatusCode::OK, html)
}

/// Why claims sent from a page were not saved.
enum ClaimsRefused {
    /// Said on the page, beside what was sent: not a JSON object, or a claim not acceptable.
    Because(String),
    Failed(AdminError),
}

/// Replaces `owner`'s custom claims with those a page's field sent: a JSON object (blank for
/// none); a refusal is said in the words of `t`.
async fn set_claims(
    ops: &Admin<'_>,
    owner: &ClaimOwner,
    sent: &str,
    t: &ConsoleText,
) -> Result<(), ClaimsRefused> {
    let sent = sent.trim();
    let claims = if sent.is_empty() {
        CustomClaims::new()
    } else {
        match serde_json::from_str::<serde_json::Value>(sent) {
            Ok(serde_json::Value::Object(claims)) => claims.into_iter().collect(),
            _ => return Err(ClaimsRefused::Because(t.claims_not_json.to_owned())),
        }
    };
    match ops
        .change_custom_claims(owner, ClaimsChange::Replace(claims))
        .await
    {
        Ok(_) => Ok(()),
        Err(AdminError::Invalid(why)) => Err(ClaimsRefused::Because((t.refusal)(&why))),
        Err(e) => Err(ClaimsRefused::Failed(e)),
    }
}

/// Custom claims as the claims field shows them.
fn claims_shown(claims: &CustomClaims) -> String {
    serde_json::to_string_pretty(claims).unwrap_or_default()
}

/// The answer to a form that is not one of the page's (a field missing, an action it has not):
/// a page that says so, with a way back to `back` (a path of the administration pages).
fn incomplete(state: &AppState, back: &str) -> Response {
    let errors = &state.look.text.errors;
    let page = pages::ErrorPage::new(errors.account_form_incomplete)
        .link(errors.start_again, state.config.endpoint(back));
    pages::respond(StatusCode::BAD_REQUEST, page.render(&state.look))
}

/// An administrative operation's failure as a page: nobody by that name (404), or the store.
fn admin_failed(state: &AppState, e: AdminError) -> Response {
    match e {
        AdminError::Store(crate::store::StoreError::NotFound(_)) => {
            let page = pages::ErrorPage::new(state.look.text.console.no_such_person).link(
                state.look.text.console.people,
                state.config.endpoint("/admin"),
            );
            pages::respond(StatusCode::NOT_FOUND, page.render(&state.look))
        }
        AdminError::Store(e) => failed(state, store_error(e)),
        other => failed(state, super::error::internal(other.to_string())),
    }
}

fn failed(state: &AppState, e: OAuthError) -> Response {
    refuse(state, Refusal::Page(e))
}
