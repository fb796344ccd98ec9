//! The account page: the applications the signed-in person may open, their profile, password,
//! passkeys, two-step verification, sessions, the applications they allowed, their recent
//! activity and, where the deployment lets people, removing their account.

use maud::{Markup, html};

use super::signin::new_passkey_fields;
use super::{Look, Width, alert, browser_words, day, moment, notice, page, passkey_script};
use crate::auth::own_removal::Offer;
use crate::auth::ways_in::{self, Removal, WaysIn};
use crate::model::{
    Amr, AppLink, AuditEvent, Consent, CustomClaims, Factors, PasskeyView, Session, StaysSignedIn,
    User,
};

/// What the account page shows.
pub(in crate::http) struct AccountView<'a> {
    pub user: &'a User,
    pub factors: &'a Factors,
    /// A group the person is in requires a second factor: the app cannot be removed.
    pub app_required: bool,
    /// The session's sign-in is recent enough to change things.
    pub recent: bool,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    /// What was wrong with the last form, and which section it belongs to.
    pub error: Option<(Section, &'a str)>,
    /// The person's passkeys; `None` when passkeys cannot work here (an IP-address issuer).
    pub passkeys: Option<&'a [PasskeyView]>,
    /// The person's sessions, newest first, and which one is this browser's.
    pub sessions: &'a [Session],
    pub this_session: &'a str,
    /// Whether a sign-in from a browser new to the person is mailed to them (mail is set up
    /// and sign-in notices are on).
    pub new_browsers_told: bool,
    /// The applications the person may open (those they may use that have a home page).
    pub applications: &'a [AppLink],
    /// The issuer, under which the applications' logos are served.
    pub issuer: &'a str,
    /// The applications the person allowed, with their names.
    pub apps: &'a [(Consent, String)],
    /// The applications that stay signed in when they sign out, with their names.
    pub staying: &'a [(StaysSignedIn, String)],
    /// The custom claims released about the person (their own and their groups',
    /// `oidc::claims::custom`): what applications that see their profile are told.
    pub custom: &'a CustomClaims,
    /// The person's recent activity, newest first.
    pub activity: &'a [AuditEvent],
    /// Where the administration pages are, for an administrator.
    pub administration: Option<&'a str>,
    /// The languages the pages offer (tag, and name in itself); none when they speak one.
    pub languages: &'a [(&'static str, &'static str)],
    /// The one of them the person's account names (its `locale`), if one does.
    pub language: Option<&'static str>,
    /// The domains their account signs in to applications with a confirmed address at (its
    /// sign-up link's, or an administrator's); empty: no such rule.
    pub address_domains: &'a [String],
    /// What the page offers about removing their own account.
    pub removal: crate::auth::own_removal::Offer,
}

/// A section of the account page, which an error belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::http) enum Section {
    Profile,
    Password,
    Removal,
}

/// The person's own page.
pub(in crate::http) fn account(look: &Look, v: &AccountView<'_>) -> String {
    let t = &look.text.account;
    let error = |section| v.error.filter(|(s, _)| *s == section).map(|(_, e)| e);
    let body = html! {
        h1 { (t.title) }
        p.muted {
            ((t.signed_in_as)(&v.user.username)) " · " a href="logout" { (t.sign_out) }
            @if let Some(href) = v.administration {
                " · " a href=(href) { (look.text.console.administration) }
            }
        }
        nav.sections aria-label=(t.sections) {
            @if !v.applications.is_empty() { a href="#applications" { (t.applications) } }
            a href="#profile" { (t.profile) }
            a href="#password" { (t.password) }
            @if v.passkeys.is_some() { a href="#passkeys" { (t.passkeys) } }
            a href="#two-step" { (t.two_step) }
            a href="#sessions" { (t.sessions) }
            a href="#apps" { (t.apps) }
            a href="#activity" { (t.activity) }
            @if v.removal != Offer::Off { a href="#remove" { (t.remove_section) } }
        }
        (notice(v.notice))
        @if !v.applications.is_empty() {
            h2 #applications { (t.applications) }
            (applications_section(look, v.issuer, v.applications))
        }
        h2 #profile { (t.profile) }
        (profile_section(look, v, error(Section::Profile)))
        (language_section(look, v))
        h2 #password { (t.password) }
        (password_section(look, v, error(Section::Password)))
        @if let Some(keys) = v.passkeys {
            h2 #passkeys { (t.passkeys) }
            (passkey_section(look, v, keys))
        }
        h2 #two-step { (t.two_step) }
        (two_step_section(look, v))
        h2 #sessions { (t.sessions) }
        (sessions_section(look, v))
        h2 #apps { (t.apps) }
        (apps_section(look, v))
        (given_claims(look, v.custom))
        h2 #activity { (t.activity) }
        (activity_section(look, v))
        @if v.removal != Offer::Off {
            h2 #remove { (t.remove_section) }
            (removal_section(look, v, error(Section::Removal)))
        }
    };
    page(look, t.title, Width::Wide, body)
}

/// Removing their own account, where the deployment lets people (`auth::own_removal`).
fn removal_section(look: &Look, v: &AccountView<'_>, error: Option<&str>) -> Markup {
    let t = &look.text.account;
    if v.removal == Offer::AskAnotherAdministrator {
        return html! { p.muted { (t.remove_ask_another_administrator) } };
    }
    if !v.recent {
        return html! {
            p { (t.remove_what) }
            (sign_in_again(look, v))
        };
    }
    html! {
        (alert(error))
        (form(v, "remove_account", html! {
            p #remove-what { (t.remove_what) }
            label for="remove-confirm" { ((t.remove_type_to_confirm)(&v.user.username)) }
            input #remove-confirm name="confirm" required autocomplete="off"
                autocapitalize="none" spellcheck="false" aria-describedby="remove-what";
            button type="submit" .secondary { (t.remove_button) }
        }))
    }
}

/// The page once a person removed their own account, and the address a mail telling of it
/// goes to, if one does.
pub(in crate::http) fn account_removed(look: &Look, told: Option<&str>) -> String {
    let t = &look.text.account;
    let body = html! {
        h1 { (t.removed_title) }
        p { (t.removed_text) }
        @if let Some(address) = told {
            p { ((t.removed_told)(address)) }
        }
    };
    page(look, t.removed_title, Width::Narrow, body)
}

/// A form of the account page that does `action`, with `fields` and a submit button.
fn form(v: &AccountView<'_>, action: &str, fields: Markup) -> Markup {
    html! {
        form method="post" action="account" {
            input type="hidden" name="csrf" value=(v.csrf);
            input type="hidden" name="action" value=(action);
            (fields)
        }
    }
}

/// A one-button form.
fn button(v: &AccountView<'_>, action: &str, label: &str, secondary: bool) -> Markup {
    form(
        v,
        action,
        html! { button type="submit" class=[secondary.then_some("secondary")] { (label) } },
    )
}

/// What a section shows instead of its forms when the last sign-in is not recent.
fn sign_in_again(look: &Look, v: &AccountView<'_>) -> Markup {
    let t = &look.text.account;
    html! {
        p.muted { (t.not_recent) }
        (button(v, "sign_in_again", t.sign_in_again, false))
    }
}

fn profile_section(look: &Look, v: &AccountView<'_>, error: Option<&str>) -> Markup {
    let t = &look.text.account;
    let user = v.user;
    let verified = if user.email_verified {
        t.email_verified
    } else {
        t.email_unverified
    };
    let confirm = html! {
        @if look.mail && !user.email_verified {
            (button(v, "send_confirmation", look.text.email.send_confirmation, true))
        }
    };
    if !v.recent {
        return html! {
            p { (user.name.as_deref().unwrap_or(&user.username)) }
            p { (user.email) " " span.muted { "(" (verified) ")" } }
            (address_rule(look, v))
            (confirm)
            (sign_in_again(look, v))
        };
    }
    html! {
        (alert(error))
        (form(v, "save_profile", html! {
            label for="name" { (t.name_label) }
            input #name name="name" autocomplete="name" maxlength="256"
                value=(user.name.as_deref().unwrap_or_default());
            label for="email" { (t.email_label) }
            input #email name="email" type="email" autocomplete="email" required maxlength="254"
                value=(user.email) aria-describedby="email-help";
            p #email-help .muted {
                (verified) ". " (if look.mail { t.email_help_mail } else { t.email_help })
            }
            (address_rule(look, v))
            button type="submit" { (t.save_profile) }
        }))
        (confirm)
    }
}

/// What the person's account asks of their address, if it has a rule of its own.
fn address_rule(look: &Look, v: &AccountView<'_>) -> Markup {
    html! {
        @if !v.address_domains.is_empty() {
            p #address-rule .muted {
                ((look.text.confirm_address.account_domains)(&v.address_domains.join(", ")))
            }
        }
    }
}

/// The person's own language, for pages and mail, where the pages speak more than one: a
/// choice that needs no recent sign-in (it protects nothing).
fn language_section(look: &Look, v: &AccountView<'_>) -> Markup {
    let t = &look.text.account;
    if v.languages.len() < 2 {
        return html! {};
    }
    form(
        v,
        "save_language",
        html! {
            label for="language" { (t.language) }
            select #language name="language" aria-describedby="language-help" {
                option value="" selected[v.language.is_none()] { (t.language_browser) }
                @for (tag, name) in v.languages {
                    option value=(tag) lang=(tag) selected[v.language == Some(*tag)] { (name) }
                }
            }
            p #language-help .muted { (t.language_help) }
            button type="submit" class="secondary" { (t.save_language) }
        },
    )
}

fn password_section(look: &Look, v: &AccountView<'_>, error: Option<&str>) -> Markup {
    let t = &look.text.account;
    // For password managers: whose password this is.
    let username = html! {
        input type="text" name="username" autocomplete="username" value=(v.user.username)
            hidden;
    };
    if v.user.password_hash.is_none() {
        return html! {
            p { (t.no_password) }
            (alert(error))
            @if v.recent {
                (form(v, "set_password", html! {
                    (username)
                    (new_password_fields(look, false))
                    button type="submit" class="secondary" { (t.set_password) }
                }))
            } @else {
                (sign_in_again(look, v))
            }
        };
    }
    html! {
        (alert(error))
        (form(v, "change_password", html! {
            (username)
            label for="current-password" { (t.current_password) }
            input #current-password name="current_password" type="password"
                autocomplete="current-password" required;
            (new_password_fields(look, false))
            button type="submit" { (t.change_password) }
        }))
        @if v.recent && may_remove(v, Removal::Password) {
            p.muted { (t.remove_password_what) }
            (button(v, "remove_password", t.remove_password, true))
        }
    }
}

/// Whether the page offers to take `removal` away: where the person keeps a way in
/// (`auth::ways_in`, which the store judges again).
fn may_remove(v: &AccountView<'_>, removal: Removal) -> bool {
    let ways = WaysIn {
        password: v.user.password_hash.is_some(),
        passkeys: v.passkeys.map_or(0, <[PasskeyView]>::len),
    };
    ways_in::may_remove(ways, removal)
}

fn two_step_section(look: &Look, v: &AccountView<'_>) -> Markup {
    let t = &look.text.account;
    let has_passkeys = v.passkeys.is_some_and(|k| !k.is_empty());
    let status = match v.factors.totp_enrolled_at {
        Some(at) => html! {
            p { strong { (t.two_step_on) } " " ((t.two_step_on_since)(&day(at))) }
            p { ((t.recovery_codes_left)(v.factors.recovery_codes_left)) }
        },
        None if v.user.password_hash.is_none() => html! {
            p { strong { (t.no_app) } " " (t.no_password) }
        },
        None if has_passkeys => html! {
            p { strong { (t.no_app) } " " (t.no_app_passkey) }
        },
        None => html! {
            p {
                strong { (t.two_step_off) } " " (t.two_step_off_what)
                @if v.app_required { " " (t.two_step_required) }
            }
        },
    };
    let actions = if !v.recent {
        sign_in_again(look, v)
    } else if v.factors.has_app() {
        html! {
            (button(v, "setup_app", t.replace_app, true))
            (button(v, "new_codes", t.new_codes, true))
            @if !v.app_required { (button(v, "remove_app", t.remove_app, true)) }
        }
    } else if v.user.password_hash.is_none() {
        // An app's code follows a password: without one there is nothing to set up yet.
        html! {}
    } else {
        button(v, "setup_app", t.setup_app, !has_passkeys)
    };
    html! { (status) (actions) }
}

/// The passkeys: each with when it was added and last used, a button to remove it, and the
/// form that adds one (with the script that does WebAuthn).
fn passkey_section(look: &Look, v: &AccountView<'_>, keys: &[PasskeyView]) -> Markup {
    let t = &look.text.account;
    html! {
        @if keys.is_empty() {
            p { (t.passkeys_what) }
        } @else {
            table.list aria-label=(t.your_passkeys) {
                @for k in keys {
                    tr {
                        td {
                            strong { (k.name) } br;
                            span.muted {
                                ((t.passkey_added)(&day(k.created_at))) ", "
                                @match k.last_used_at {
                                    Some(at) => ((t.passkey_last_used)(&day(at))),
                                    None => (t.passkey_never_used),
                                }
                            }
                        }
                        td {
                            @if v.recent && may_remove(v, Removal::Passkey) {
                                (form(v, "remove_passkey", html! {
                                    input type="hidden" name="credential_id"
                                        value=(k.credential_id);
                                    button type="submit" .secondary
                                        aria-label=((t.remove_named)(&k.name)) { (t.remove) }
                                }))
                            }
                        }
                    }
                }
            }
        }
        @if v.recent {
            form #add-passkey method="post" action="account" hidden {
                input type="hidden" name="csrf" value=(v.csrf);
                input type="hidden" name="action" value="add_passkey";
                (new_passkey_fields(look))
            }
            (passkey_script(look, Some(look.text.passkey.browser_cannot_add)))
        }
    }
}

/// How a sign-in was made, in words.
fn how(look: &Look, amr: Amr) -> &'static str {
    let t = &look.text.account;
    match (amr.passkey, amr.password, amr.otp) {
        (true, _, _) => t.with_passkey,
        (false, true, true) => t.with_password_and_code,
        (false, true, false) => t.with_password,
        _ => t.with_other,
    }
}

/// The browser `s` was signed in from, in words, when it kept where it came from: a session
/// that kept an address but no `User-Agent` was an unknown browser.
fn session_browser(look: &Look, s: &Session) -> Option<String> {
    browser_words(look, s.user_agent.as_deref()).or_else(|| {
        s.ip.is_some()
            .then(|| look.text.account.unknown_browser.to_owned())
    })
}

/// What a list of sessions says of `s`: the browser and address it was signed in from,
/// `started` (when, and on the account page how), when it was last used, and until when it is
/// kept, for one its person asked to keep. The account page's, and a person's administration
/// page.
pub(super) fn session_lines(look: &Look, s: &Session, started: &str) -> Markup {
    let t = &look.text.account;
    html! {
        @if let Some(browser) = session_browser(look, s) {
            (browser)
            @if let Some(ip) = &s.ip { " · " ((t.signed_in_from)(ip)) }
            br;
        }
        (started) br;
        span.muted {
            ((t.session_last_active)(&moment(s.last_seen_at)))
            @if s.kept { " · " ((t.session_kept_until)(&moment(s.expires_at))) }
        }
    }
}

fn sessions_section(look: &Look, v: &AccountView<'_>) -> Markup {
    let t = &look.text.account;
    let others = v
        .sessions
        .iter()
        .filter(|s| s.id_hash != v.this_session)
        .count();
    html! {
        table.list aria-label=(t.your_sessions) {
            @for s in v.sessions {
                tr {
                    td {
                        @if s.id_hash == v.this_session {
                            strong { (t.this_browser) } br;
                        }
                        (session_lines(look, s, &(t.session_started)(&moment(s.auth_time), how(look, s.amr))))
                    }
                    td {
                        @if s.id_hash != v.this_session {
                            (form(v, "end_session", html! {
                                input type="hidden" name="session" value=(s.id_hash);
                                button type="submit" .secondary
                                    aria-label=((t.sign_out_session)(&moment(s.auth_time))) {
                                    (t.sign_out)
                                }
                            }))
                        }
                    }
                }
            }
        }
        @if others > 0 {
            (button(v, "end_other_sessions", t.sign_out_everywhere_else, true))
            @if v.new_browsers_told {
                p.muted { (t.signed_out_browsers_are_new) }
            }
        } @else {
            p.muted { (t.no_other_sessions) }
        }
        (staying_section(look, v))
    }
}

/// The applications that stay signed in when the person signs out of their sessions (those
/// given `offline_access`), each with a button that signs it out; nothing when there are none.
fn staying_section(look: &Look, v: &AccountView<'_>) -> Markup {
    let t = &look.text.account;
    if v.staying.is_empty() {
        return html! {};
    }
    html! {
        h3 #staying { (t.staying) }
        p #staying-help .muted { (t.staying_help) }
        table.list aria-labelledby="staying" aria-describedby="staying-help" {
            @for (app, name) in v.staying {
                tr {
                    td {
                        strong { (name) } br;
                        span.muted { ((t.staying_since)(&day(app.since), &day(app.last_used))) }
                    }
                    td {
                        (form(v, "sign_out_application", html! {
                            input type="hidden" name="client_id" value=(app.client_id);
                            button type="submit" .secondary
                                aria-label=((t.sign_out_app_named)(name)) {
                                (t.sign_out)
                            }
                        }))
                    }
                }
            }
        }
    }
}

/// The applications the person may open, each a link to its home page (with its logo, when it
/// has one), with the address it leads to.
fn applications_section(look: &Look, issuer: &str, applications: &[AppLink]) -> Markup {
    let t = &look.text.account;
    html! {
        ul.applications aria-label=(t.applications) {
            @for app in applications {
                li {
                    a href=(app.home_uri) {
                        @if let Some(version) = &app.logo {
                            img.app-logo
                                src=(super::client_logo_url(issuer, &app.client_id, version))
                                alt="";
                        }
                        (app.name)
                    }
                    " "
                    span.muted {
                        (url::Url::parse(&app.home_uri).ok()
                            .and_then(|u| u.host_str().map(str::to_owned))
                            .unwrap_or_default())
                    }
                }
            }
        }
    }
}

fn apps_section(look: &Look, v: &AccountView<'_>) -> Markup {
    let t = &look.text.account;
    if v.apps.is_empty() {
        return html! { p.muted { (t.no_apps) } };
    }
    html! {
        table.list aria-label=(t.apps_you_allowed) {
            @for (consent, name) in v.apps {
                tr {
                    td {
                        strong { (name) } br;
                        span.muted {
                            ((t.allowed_on)(&day(consent.granted_at))) ": "
                            (consent.scope.split(' ').filter(|s| !s.is_empty())
                                .map(|s| look.text.consent.describe_scope(s))
                                .collect::<Vec<_>>().join(", "))
                        }
                    }
                    td {
                        (form(v, "withdraw_consent", html! {
                            input type="hidden" name="client_id" value=(consent.client_id);
                            button type="submit" .secondary aria-label=((t.withdraw_named)(name)) {
                                (t.withdraw)
                            }
                        }))
                    }
                }
            }
        }
        p.muted { (t.withdraw_help) }
    }
}

/// The custom claims applications are told about the person, if any: a string as it is, any
/// other value as JSON.
fn given_claims(look: &Look, custom: &CustomClaims) -> Markup {
    let t = &look.text.account;
    if custom.is_empty() {
        return html! {};
    }
    html! {
        h3 #given-claims { (t.given_claims) }
        p.muted { (t.given_claims_help) }
        dl aria-labelledby="given-claims" {
            @for (name, value) in custom {
                dt { (name) }
                dd {
                    @match value.as_str() {
                        Some(text) => (text),
                        None => code { (value.to_string()) },
                    }
                }
            }
        }
    }
}

fn activity_section(look: &Look, v: &AccountView<'_>) -> Markup {
    let t = &look.text.account;
    let download = html! {
        p #download-help .muted { (t.download_help) }
        (form(v, "download_data", html! {
            button type="submit" .secondary aria-describedby="download-help" { (t.download) }
        }))
    };
    if v.activity.is_empty() {
        return html! { p.muted { (t.no_activity) } (download) };
    }
    html! {
        table.list aria-label=(t.recent_activity) {
            @for e in v.activity {
                tr {
                    td {
                        ((t.event)(e.record.kind))
                        @if let Some(client) = &e.record.client_id { " · " (client) }
                        br;
                        span.muted {
                            (moment(e.record.at))
                            @if let Some(b) = browser_words(look, e.record.user_agent.as_deref()) {
                                " · " (b)
                            }
                            @if let Some(ip) = &e.record.ip { " · " ((t.from_address)(ip)) }
                        }
                    }
                }
            }
        }
        p.muted { (t.activity_help) }
        (download)
    }
}

/// The fields of a new password, typed twice, with what makes a good one.
pub(super) fn new_password_fields(look: &Look, autofocus: bool) -> Markup {
    let t = &look.text.account;
    html! {
        label for="new-password" { (t.new_password) }
        input #new-password name="new_password" type="password" autocomplete="new-password"
            required autofocus[autofocus] minlength=(crate::auth::passwords::MIN_LENGTH)
            aria-describedby="new-password-help";
        p #new-password-help .muted { (t.new_password_help) }
        label for="repeat-password" { (t.repeat_password) }
        input #repeat-password name="repeat_password" type="password"
            autocomplete="new-password" required;
    }
}
