//! The administration pages (`/admin`), for members of the administrators' group: people
//! (search, one person's account and what can be done to it) and the audit log (filtered,
//! page by page). Links and form targets are absolute (under the issuer): the pages live at
//! several depths.

use maud::{Markup, html};

use super::{Look, Width, alert, browser_words, moment, notice, page, path_segment};
use crate::model::{
    AccessTokenFormat, AuditEvent, AuthPolicy, Client, Factors, GrantType, Group, Session,
    SigningAlg, SigningKey, SignupLink, SubjectType, User,
};
use crate::oidc::scope;

/// Where the administration pages are, and the administrator's session form token.
pub(in crate::http) struct ConsoleBase<'a> {
    /// The issuer URL (no trailing slash).
    pub issuer: &'a str,
    pub csrf: &'a str,
    /// The administrator's sign-in is recent enough to change things.
    pub recent: bool,
}

impl ConsoleBase<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    fn user_url(&self, username: &str) -> String {
        self.url(&format!("/admin/users/{}", path_segment(username)))
    }

    /// The audit log of the records about `subject`.
    fn audit_url(&self, subject: &str) -> String {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("subject", subject)
            .finish();
        self.url(&format!("/admin/audit?{query}"))
    }

    fn client_url(&self, client_id: &str) -> String {
        self.url(&format!("/admin/clients/{}", path_segment(client_id)))
    }

    fn group_url(&self, name: &str) -> String {
        self.url(&format!("/admin/groups/{}", path_segment(name)))
    }
}

/// Whether `user`'s address is confirmed, in words.
fn confirmed(look: &Look, user: &User) -> &'static str {
    let t = &look.text.account;
    if user.email_verified {
        t.email_verified
    } else {
        t.email_unverified
    }
}

/// A select of sign-in policies, `current` chosen.
fn policy_select(look: &Look, id: &str, current: AuthPolicy) -> Markup {
    let t = &look.text.console;
    html! {
        select #(id) name="auth_policy" {
            @for p in AuthPolicy::ALL {
                option value=(p.as_str()) selected[*p == current] { ((t.policy)(*p)) }
            }
        }
    }
}

impl ConsoleBase<'_> {}

/// The navigation of every administration page.
fn nav(look: &Look, base: &ConsoleBase<'_>) -> Markup {
    let t = &look.text.console;
    html! {
        nav.sections aria-label=(t.sections) {
            a href=(base.url("/admin")) { (t.people) }
            a href=(base.url("/admin/groups")) { (t.groups) }
            a href=(base.url("/admin/signup-links")) { (look.text.signup_links.title) }
            a href=(base.url("/admin/clients")) { (t.applications) }
            a href=(base.url("/admin/keys")) { (t.signing_keys) }
            a href=(base.url("/admin/audit")) { (t.audit_log) }
            a href=(base.url("/account")) { (look.text.account.title) }
        }
    }
}

/// What the form that adds a person shows again after a refusal.
#[derive(Default, Clone, Copy)]
pub(in crate::http) struct NewPerson<'a> {
    pub username: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    /// Their language: a tag of `languages`, or empty for none.
    pub language: &'a str,
    /// The languages the pages offer (tag, and name in itself); none when they speak one.
    pub languages: &'a [(&'static str, &'static str)],
    pub error: Option<&'a str>,
    /// What was just done, said at the top of the page (a person removed).
    pub notice: Option<&'a str>,
}

/// People, found by `query` (all of them when it is empty), and the form that adds one.
pub(in crate::http) fn people(
    look: &Look,
    base: &ConsoleBase<'_>,
    query: &str,
    users: &[User],
    more: bool,
    new: &NewPerson<'_>,
) -> String {
    let t = &look.text.console;
    let body = html! {
        h1 { (t.people) }
        (nav(look, base))
        (notice(new.notice))
        form method="get" action=(base.url("/admin")) role="search" {
            label for="q" { (t.search_label) }
            input #q name="q" type="search" value=(query) maxlength="254";
            button type="submit" .secondary { (t.search) }
        }
        @if users.is_empty() {
            p.muted { (t.nobody_found) }
        } @else {
            table.list aria-label=(t.people) {
                @for u in users {
                    tr {
                        td {
                            a href=(base.user_url(&u.username)) { strong { (u.username) } }
                            @if let Some(name) = &u.name { " · " (name) }
                            br;
                            span.muted {
                                (u.email) " · " (confirmed(look, u))
                                @if u.disabled { " · " strong { (t.disabled) } }
                            }
                        }
                    }
                }
            }
            @if more { p.muted { (t.more_people) } }
        }
        h2 #add { (t.add_person) }
        @if base.recent {
            (alert(new.error))
            form method="post" action=(base.url("/admin")) {
                input type="hidden" name="csrf" value=(base.csrf);
                label for="new-username" { (t.username_label) }
                input #new-username name="username" required maxlength="64" autocomplete="off"
                    aria-describedby="new-username-help" value=(new.username);
                p #new-username-help .muted { (t.username_help) }
                label for="new-email" { (look.text.account.email_label) }
                input #new-email name="email" type="email" required maxlength="254"
                    autocomplete="off" value=(new.email);
                label for="new-name" { (t.name) }
                input #new-name name="name" maxlength="256" autocomplete="off" value=(new.name);
                @if new.languages.len() > 1 {
                    label for="new-language" { (look.text.account.language) }
                    select #new-language name="language" aria-describedby="new-language-help" {
                        option value="" selected[new.language.is_empty()] {
                            (t.new_language_unset)
                        }
                        @for (tag, name) in new.languages {
                            option value=(tag) lang=(tag) selected[new.language == *tag] {
                                (name)
                            }
                        }
                    }
                    p #new-language-help .muted { (t.new_language_help) }
                }
                @if look.mail {
                    p.muted { (t.invite_help) }
                } @else {
                    label for="new-password" { (t.initial_password) }
                    input #new-password name="password" type="password" required
                        autocomplete="new-password"
                        minlength=(crate::auth::passwords::MIN_LENGTH)
                        aria-describedby="new-password-help";
                    p #new-password-help .muted { (t.initial_password_help) }
                }
                button type="submit" { (t.add) }
            }
        } @else {
            p.muted { (t.not_recent) }
            a.button href=(base.url("/account")) { (look.text.account.sign_in_again) }
        }
    };
    page(look, t.people, Width::Wide, body)
}

/// What one person's page shows.
pub(in crate::http) struct PersonView<'a> {
    pub user: &'a User,
    pub groups: &'a [Group],
    pub factors: &'a Factors,
    /// Their sessions, newest first.
    pub sessions: &'a [Session],
    pub notice: Option<&'a str>,
    pub error: Option<&'a str>,
    /// Whether this is the administrator's own account (which cannot be disabled here).
    pub own: bool,
    /// What the claims field shows: their custom claims, or what was sent and refused.
    pub claims: &'a str,
    /// The languages the pages offer (tag, and name in itself); none when they speak one.
    pub languages: &'a [(&'static str, &'static str)],
    /// The one of them their account names (its `locale`), if one does.
    pub language: Option<&'static str>,
    /// Whether a passkey link can be made for them
    /// (`auth::email_links::may_make_passkey_link`).
    pub passkey_link: bool,
    /// Until when their failed attempts keep them from signing in, if they do now.
    pub paused_until: Option<crate::clock::UnixTime>,
    /// The domains their account signs in to applications with a confirmed address at (its
    /// sign-up link's, or an administrator's); empty: no such rule.
    pub address_domains: &'a [String],
    /// What the address rule's field shows: those domains, or what was sent and refused.
    pub domains_typed: &'a str,
    /// What they allowed applications, with each application's name.
    pub consents: &'a [(crate::model::Consent, String)],
    /// The address removing their account tells them at, when mail goes out
    /// (`auth::notices::address_told`).
    pub removal_told: Option<&'a str>,
}

/// One person: their account, and what an administrator can do to it.
pub(in crate::http) fn person(look: &Look, base: &ConsoleBase<'_>, v: &PersonView<'_>) -> String {
    let t = &look.text.console;
    let u = v.user;
    let action = base.user_url(&u.username);
    let button = |name: &str, label: &str| {
        html! {
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value=(name);
                button type="submit" .secondary { (label) }
            }
        }
    };
    let body = html! {
        h1 { (u.username) }
        (nav(look, base))
        (notice(v.notice))
        (alert(v.error))
        table.list aria-label=(t.account) {
            tr { td { (t.name) } td { (u.name.as_deref().unwrap_or("—")) } }
            tr {
                td { (look.text.account.email_label) }
                td {
                    (u.email) " · " (confirmed(look, u))
                    @if !v.address_domains.is_empty() {
                        br;
                        span.muted #address-rule {
                            ((t.address_rule)(&v.address_domains.join(", ")))
                        }
                    }
                }
            }
            tr {
                td { (t.state) }
                td {
                    (if u.disabled { t.disabled } else { t.enabled })
                    @if let Some(until) = v.paused_until {
                        " · " strong { ((t.paused_until)(&moment(until))) }
                    }
                }
            }
            tr { td { (t.created) } td { (moment(u.created_at)) } }
            tr {
                td { (t.groups) }
                td {
                    @if v.groups.is_empty() { "—" }
                    @for (i, g) in v.groups.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(base.group_url(&g.name)) { (g.name) }
                    }
                }
            }
            tr {
                td { (look.text.account.password) }
                td {
                    @if u.password_hash.is_some() {
                        (t.has_password)
                    } @else if v.factors.passkeys.is_empty() {
                        (t.no_way_in)
                    } @else {
                        (t.no_password)
                    }
                }
            }
            tr {
                td { (look.text.account.two_step) }
                td {
                    @if v.factors.has_app() { (t.app) } @else { (t.no_app) }
                    " · " ((t.passkeys)(v.factors.passkeys.len()))
                }
            }
            @if v.languages.len() > 1 {
                tr {
                    td { (look.text.account.language) }
                    td {
                        @match v.languages.iter().find(|(tag, _)| Some(*tag) == v.language) {
                            Some((tag, name)) => span lang=(tag) { (name) },
                            // A locale no catalogue matches is shown as it is.
                            None => (u.profile.locale.as_deref().unwrap_or("—")),
                        }
                    }
                }
            }
        }
        h2 { ((t.sessions_of)(&u.username)) }
        @if v.sessions.is_empty() {
            p.muted { (t.signed_in_nowhere) }
        } @else {
            table.list aria-label=((t.sessions_of)(&u.username)) {
                @for s in v.sessions {
                    tr {
                        td {
                            (super::account::session_lines(look, s, &(t.session_since)(&moment(s.auth_time))))
                        }
                    }
                }
            }
        }
        h2 { ((t.apps_of)(&u.username)) }
        @if v.consents.is_empty() {
            p.muted { (t.allowed_none) }
        } @else {
            table.list #allowed aria-label=((t.apps_of)(&u.username)) {
                @for (c, name) in v.consents {
                    tr {
                        td {
                            (name) br;
                            span.muted { ((t.allowed_since)(&c.scope, &moment(c.granted_at))) }
                        }
                        td {
                            @if base.recent {
                                form method="post" action=(action) {
                                    input type="hidden" name="csrf" value=(base.csrf);
                                    input type="hidden" name="action" value="withdraw_consent";
                                    input type="hidden" name="client_id" value=(c.client_id);
                                    button type="submit" .secondary
                                        aria-label=((t.withdraw_from)(name)) { (t.withdraw) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t.actions) }
        @if !base.recent {
            p.muted { (t.not_recent) }
            a.button href=(base.url("/account")) { (look.text.account.sign_in_again) }
        } @else {
            @if u.disabled {
                (button("enable", t.enable))
            } @else if !v.own {
                (button("disable", t.disable))
            }
            (button("logout", t.sign_out_everywhere))
            @if v.paused_until.is_some() {
                (button("unlock", t.unlock))
            }
            @if !v.address_domains.is_empty() {
                (button("lift_address_rule", t.lift_address_rule))
            }
            @if v.factors.has_app() || !v.factors.passkeys.is_empty() {
                (button("reset_factors", t.reset_factors))
            }
            @if u.email_verified {
                (button("unconfirm_email", t.unconfirm_email))
            } @else {
                (button("confirm_email", t.confirm_email))
            }
            @if !u.disabled {
                @if look.mail {
                    (button("send_reset", t.send_reset))
                } @else {
                    (button("reset_link", t.make_reset_link))
                }
                // For one who lost their passkey: where passkeys work.
                @if v.passkey_link {
                    @if look.mail {
                        (button("send_passkey_link", t.send_passkey_link))
                    } @else {
                        (button("passkey_link", t.make_passkey_link))
                    }
                }
            }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="set_profile";
                label for="person-name" { (t.name) }
                input #person-name name="name" maxlength="256" autocomplete="off"
                    value=(u.name.as_deref().unwrap_or_default());
                label for="person-email" { (look.text.account.email_label) }
                input #person-email name="email" type="email" required maxlength="254"
                    autocomplete="off" aria-describedby="person-email-help" value=(u.email);
                p #person-email-help .muted { (t.name_and_address_help) }
                button type="submit" .secondary { (t.save_name_and_address) }
            }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="set_address_rule";
                label for="person-domains" { (t.address_rule_label) }
                input #person-domains name="domains" autocomplete="off" autocapitalize="none"
                    maxlength="1000" spellcheck="false" placeholder="corp.example"
                    aria-describedby="person-domains-help" value=(v.domains_typed);
                p #person-domains-help .muted {
                    (t.address_rule_help)
                    @if !look.mail { " " (t.domains_without_mail) }
                }
                button type="submit" .secondary { (t.set_address_rule) }
            }
            @if v.languages.len() > 1 {
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(base.csrf);
                    input type="hidden" name="action" value="set_language";
                    label for="language" { (look.text.account.language) }
                    select #language name="language" {
                        option value="" selected[v.language.is_none()] {
                            (t.new_language_unset)
                        }
                        @for (tag, name) in v.languages {
                            option value=(tag) lang=(tag) selected[v.language == Some(*tag)] {
                                (name)
                            }
                        }
                    }
                    button type="submit" .secondary { (t.set_language) }
                }
            }
        }
        (claims_form(look, base, &action, v.claims))
        p { a href=(base.audit_url(&u.username)) { (t.their_activity) } }
        @if base.recent && !v.own {
            h2 { (t.remove_person) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="remove";
                p { ((t.remove_person_what)(&u.username)) }
                @if let Some(to) = v.removal_told {
                    p { ((t.remove_person_told)(&u.username, to)) }
                }
                label for="confirm" { ((t.type_to_confirm)(&u.username)) }
                input #confirm name="confirm" required autocomplete="off";
                button type="submit" .secondary { (t.remove_person) }
            }
        }
    };
    page(look, &u.username, Width::Wide, body)
}

/// The custom claims of a person or a group, `shown` as JSON: in a field to change them, or
/// as they are for an administrator who has not signed in lately.
fn claims_form(look: &Look, base: &ConsoleBase<'_>, action: &str, shown: &str) -> Markup {
    let t = &look.text.console;
    html! {
        h2 { (t.claims) }
        p #claims-help .muted { (t.claims_help) }
        @if base.recent {
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="set_claims";
                label for="claims" { (t.claims_label) }
                textarea #claims name="claims" rows="6" spellcheck="false"
                    aria-describedby="claims-help" { (shown) }
                button type="submit" .secondary { (t.save_claims) }
            }
        } @else {
            pre aria-label=(t.claims) { (shown) }
        }
    }
}

/// A link to hand over for `user` (a password reset's, or a passkey link), shown once to the
/// administrator who made it: `done` says what it is, `once` what it does and for how long.
pub(in crate::http) fn link_to_hand_over(
    look: &Look,
    base: &ConsoleBase<'_>,
    user: &User,
    link: &str,
    done: &str,
    once: &str,
) -> String {
    let t = &look.text.console;
    let body = html! {
        h1 { (user.username) }
        (nav(look, base))
        p.notice role="status" { (done) }
        p { (once) }
        p { code #link-to-hand-over { (link) } }
        a.button href=(base.user_url(&user.username)) { (t.reset_link_given) }
    };
    page(look, &user.username, Width::Wide, body)
}

/// The sign-up links (`links`, newest first, as they stand at `now`), each removable, and the
/// form that makes one, offering the `groups` there are.
pub(in crate::http) fn signup_links(
    look: &Look,
    base: &ConsoleBase<'_>,
    (links, groups): (&[SignupLink], &[Group]),
    now: crate::clock::UnixTime,
    (notice, error): (Option<&str>, Option<&str>),
) -> String {
    use crate::auth::signup::{DEFAULT_DAYS, MAX_DAYS, MAX_NOTE, MAX_USES, NoSignup, admit};
    let t = &look.text.signup_links;
    let action = base.url("/admin/signup-links");
    let body = html! {
        h1 { (t.title) }
        (nav(look, base))
        (super::notice(notice))
        p { (t.what) }
        @if links.is_empty() {
            p.muted { (t.none) }
        } @else {
            table.list #signup-links aria-label=(t.title) {
                @for link in links {
                    tr {
                        td {
                            @if link.note.is_empty() { code { (link.id) } } @else { strong { (link.note) } }
                            br;
                            span.muted {
                                ((t.uses_of)(link.uses, link.max_uses))
                                @match admit(Some(link), now) {
                                    Err(NoSignup::Expired) => { " · " (t.expired) }
                                    Err(NoSignup::UsedUp) => { " · " (t.used_up) }
                                    _ => {}
                                }
                                " · " ((t.works_until)(&moment(link.expires_at)))
                                @if !link.groups.is_empty() {
                                    " · " ((t.into_groups)(&link.groups.join(", ")))
                                }
                                @if !link.domains.is_empty() {
                                    " · " ((t.for_domains)(&link.domains.join(", ")))
                                }
                            }
                        }
                        td {
                            @if base.recent {
                                form method="post" action=(action) {
                                    input type="hidden" name="csrf" value=(base.csrf);
                                    input type="hidden" name="action" value="remove";
                                    input type="hidden" name="id" value=(link.id);
                                    button type="submit" .secondary { (t.remove) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (t.new_title) }
        @if base.recent {
            (alert(error))
            form #new-signup-link method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="make";
                label for="signup-uses" { (t.uses_label) }
                input #signup-uses name="uses" type="number" min="1" max=(MAX_USES) value="1"
                    required;
                label for="signup-days" { (t.days_label) }
                input #signup-days name="days" type="number" min="1" max=(MAX_DAYS)
                    value=(DEFAULT_DAYS) required;
                label for="signup-note" { (t.note_label) }
                input #signup-note name="note" maxlength=(MAX_NOTE) autocomplete="off"
                    aria-describedby="signup-note-help";
                p #signup-note-help .muted { (t.note_help) }
                @if !groups.is_empty() {
                    fieldset {
                        legend { (t.groups_label) }
                        @for g in groups {
                            label {
                                input type="checkbox" name="groups" value=(g.name);
                                " " (g.name)
                            }
                        }
                    }
                }
                label for="signup-domains" { (t.domains_label) }
                input #signup-domains name="domains" autocomplete="off" autocapitalize="none"
                    maxlength="1000" placeholder="corp.example"
                    aria-describedby="signup-domains-help";
                p #signup-domains-help .muted {
                    (t.domains_help)
                    @if !look.mail { " " (look.text.console.domains_without_mail) }
                }
                button type="submit" { (t.make) }
            }
        } @else {
            p.muted { (look.text.console.not_recent) }
        }
    };
    page(look, t.title, Width::Wide, body)
}

/// A sign-up link just made: `url`, shown this once, and what it allows.
pub(in crate::http) fn signup_link_made(
    look: &Look,
    base: &ConsoleBase<'_>,
    link: &SignupLink,
    url: &str,
) -> String {
    let t = &look.text.signup_links;
    let body = html! {
        h1 { (t.made_title) }
        (nav(look, base))
        p.notice role="status" {
            ((t.made_what)(link.max_uses, &moment(link.expires_at)))
            @if !link.domains.is_empty() {
                " " ((t.for_domains)(&link.domains.join(", "))) "."
            }
        }
        p { code #signup-link { (url) } }
        a.button href=(base.url("/admin/signup-links")) { (t.back) }
    };
    page(look, t.made_title, Width::Wide, body)
}

/// The audit log's filters, as the form shows them.
pub(in crate::http) struct AuditFilters<'a> {
    pub kind: &'a str,
    pub subject: &'a str,
    pub actor: &'a str,
}

/// A page of the audit log, newest first; `older` the link to the next page.
pub(in crate::http) fn audit(
    look: &Look,
    base: &ConsoleBase<'_>,
    filters: &AuditFilters<'_>,
    events: &[AuditEvent],
    older: Option<String>,
) -> String {
    let t = &look.text.console;
    let body = html! {
        h1 { (t.audit_log) }
        (nav(look, base))
        form method="get" action=(base.url("/admin/audit")) role="search" {
            label for="kind" { (t.kind_label) }
            input #kind name="kind" value=(filters.kind) maxlength="64" placeholder="login." ;
            label for="subject" { (t.subject_label) }
            input #subject name="subject" value=(filters.subject) maxlength="254";
            label for="actor" { (t.actor_label) }
            input #actor name="actor" value=(filters.actor) maxlength="254" placeholder="cli";
            button type="submit" .secondary { (t.filter) }
        }
        @if events.is_empty() {
            p.muted { (t.no_records) }
        } @else {
            table.list aria-label=(t.audit_log) {
                @for e in events {
                    @let r = &e.record;
                    tr {
                        td {
                            code { (r.kind.as_str()) }
                            @if let Some(s) = &r.subject { " · " (s) }
                            @if let Some(c) = &r.client_id { " · " (c) }
                            br;
                            span.muted {
                                (moment(r.at)) " · " (r.actor)
                                @if let Some(ip) = &r.ip { " · " (ip) }
                                @if let Some(b) = browser_words(look, r.user_agent.as_deref()) {
                                    " · " span title=[r.user_agent.as_deref()] { (b) }
                                }
                                @if let Some(d) = &r.detail { " · " (d) }
                            }
                        }
                    }
                }
            }
        }
        @if let Some(href) = older {
            p { a href=(href) { (t.older) } }
        }
    };
    page(look, t.audit_log, Width::Wide, body)
}

/// A signed-in person outside the administrators' group.
pub(in crate::http) fn refused(look: &Look, base: &ConsoleBase<'_>) -> String {
    let t = &look.text.console;
    let body = html! {
        h1 { (t.refused_title) }
        p { (t.refused) }
        a.button href=(base.url("/account")) { (look.text.email.to_your_account) }
    };
    page(look, t.refused_title, Width::Narrow, body)
}

/// The groups, and the form that adds one.
pub(in crate::http) fn groups(
    look: &Look,
    base: &ConsoleBase<'_>,
    groups: &[(Group, usize)],
    notice: Option<&str>,
    error: Option<&str>,
) -> String {
    let t = &look.text.console;
    let body = html! {
        h1 { (t.groups) }
        (nav(look, base))
        (super::notice(notice))
        @if groups.is_empty() {
            p.muted { (t.no_groups) }
        } @else {
            table.list aria-label=(t.groups) {
                @for (g, members) in groups {
                    tr {
                        td {
                            a href=(base.group_url(&g.name)) { strong { (g.name) } }
                            @if let Some(d) = &g.description { " · " (d) }
                            br;
                            span.muted { ((t.members_count)(*members)) " · " ((t.policy)(g.auth_policy)) }
                        }
                    }
                }
            }
        }
        h2 { (t.add_group) }
        @if base.recent {
            (alert(error))
            form method="post" action=(base.url("/admin/groups")) {
                input type="hidden" name="csrf" value=(base.csrf);
                label for="group-name" { (t.group_name) }
                input #group-name name="name" required maxlength="64"
                    pattern="[a-z0-9._\\-]*[a-z0-9][a-z0-9._\\-]*"
                    aria-describedby="group-name-help" autocomplete="off";
                p #group-name-help .muted { (t.group_name_help) }
                label for="group-description" { (t.description) }
                input #group-description name="description" maxlength="1024" autocomplete="off";
                label for="group-policy" { (t.sign_in_policy) }
                (policy_select(look, "group-policy", AuthPolicy::Password))
                button type="submit" { (t.add) }
            }
        } @else {
            p.muted { (t.not_recent) }
        }
    };
    page(look, t.groups, Width::Wide, body)
}

/// One group: its members (each removable), adding one, its policy, and removing it.
pub(in crate::http) fn group(
    look: &Look,
    base: &ConsoleBase<'_>,
    group: &Group,
    (members, more): (&[User], bool),
    claims: &str,
    (notice, error): (Option<&str>, Option<&str>),
) -> String {
    let t = &look.text.console;
    let action = base.group_url(&group.name);
    let body = html! {
        h1 { (group.name) }
        (nav(look, base))
        (super::notice(notice))
        (alert(error))
        @if let Some(d) = &group.description { p { (d) } }
        p { (t.sign_in_policy) ": " strong { ((t.policy)(group.auth_policy)) } }
        h2 { (t.members) }
        @if members.is_empty() {
            p.muted { (t.no_members) }
        } @else {
            table.list aria-label=(t.members) {
                @for u in members {
                    tr {
                        td {
                            a href=(base.user_url(&u.username)) { (u.username) }
                            @if let Some(name) = &u.name { " · " (name) }
                        }
                        td {
                            @if base.recent {
                                form method="post" action=(action) {
                                    input type="hidden" name="csrf" value=(base.csrf);
                                    input type="hidden" name="action" value="remove_member";
                                    input type="hidden" name="username" value=(u.username);
                                    button type="submit" .secondary
                                        aria-label=((t.remove_member)(&u.username)) {
                                        (look.text.account.remove)
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if more { p.muted { ((t.more_members)(members.len())) } }
        }
        @if base.recent {
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="add_member";
                label for="member" { (t.add_member) }
                input #member name="username" required maxlength="64" autocomplete="off";
                button type="submit" .secondary { (t.add) }
            }
            h2 { (t.sign_in_policy) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="set_policy";
                label for="policy" { (t.policy_label) }
                (policy_select(look, "policy", group.auth_policy))
                button type="submit" .secondary { (t.save_policy) }
            }
            (claims_form(look, base, &action, claims))
            h2 { (t.remove_group) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="delete";
                p { ((t.remove_group_what)(&group.name, members.len())) }
                label for="confirm" { ((t.type_to_confirm)(&group.name)) }
                input #confirm name="confirm" required autocomplete="off";
                button type="submit" .secondary { (t.remove_group) }
            }
        } @else {
            p.muted { (t.not_recent) }
            a.button href=(base.url("/account")) { (look.text.account.sign_in_again) }
        }
    };
    page(look, &group.name, Width::Wide, body)
}

/// The applications (clients), and the form that registers one.
pub(in crate::http) fn clients(
    look: &Look,
    base: &ConsoleBase<'_>,
    clients: &[(Client, Option<String>)],
    notice: Option<&str>,
    error: Option<&str>,
) -> String {
    let t = &look.text.console;
    let body = html! {
        h1 { (t.applications) }
        (nav(look, base))
        (super::notice(notice))
        @if clients.is_empty() {
            p.muted { (t.no_applications) }
        } @else {
            table.list aria-label=(t.applications) {
                @for (c, logo) in clients {
                    tr {
                        td {
                            a href=(base.client_url(&c.client_id)) {
                                @if let Some(url) = logo { img.app-logo src=(url) alt=""; }
                                strong { (c.display_name()) }
                            }
                            " · " code { (c.client_id) }
                            br;
                            span.muted { ((t.client_kind)(c.auth_method(), c.first_party)) }
                        }
                    }
                }
            }
        }
        h2 { (t.register) }
        @if base.recent {
            (alert(error))
            form method="post" action=(base.url("/admin/clients")) {
                input type="hidden" name="csrf" value=(base.csrf);
                label for="client-id" { (t.client_id) }
                input #client-id name="client_id" required maxlength="128" autocomplete="off";
                label for="client-name" { (t.display_name) }
                input #client-name name="display_name" maxlength="128" autocomplete="off";
                label for="redirect-uris" { (t.redirect_uris) }
                textarea #redirect-uris name="redirect_uris" rows="3" required
                    aria-describedby="redirect-help" {}
                p #redirect-help .muted { (t.redirect_help) }
                label { input type="checkbox" name="first_party" value="yes"; " " (t.first_party) }
                label { input type="checkbox" name="public" value="yes"; " " (t.public_client) }
                label for="jwks" { (t.keys) }
                textarea #jwks name="jwks" rows="3" spellcheck="false"
                    aria-describedby="jwks-help" {}
                p #jwks-help .muted { (t.keys_help) }
                label for="jwks-uri" { (t.keys_at) }
                input #jwks-uri name="jwks_uri" type="url" maxlength="2048" autocomplete="off"
                    aria-describedby="jwks-uri-help";
                p #jwks-uri-help .muted { (t.keys_at_help) }
                button type="submit" { (t.register) }
            }
        } @else {
            p.muted { (t.not_recent) }
        }
    };
    page(look, t.applications, Width::Wide, body)
}

/// A client's secret, shown once, right after it was made.
pub(in crate::http) fn client_secret(
    look: &Look,
    base: &ConsoleBase<'_>,
    client: &Client,
    secret: &str,
    notice: &str,
) -> String {
    let t = &look.text.console;
    let body = html! {
        h1 { (client.display_name()) }
        (nav(look, base))
        p.notice role="status" { (notice) }
        p { (t.secret_once) }
        p { code #client-secret { (secret) } }
        a.button href=(base.client_url(&client.client_id)) { (t.secret_saved) }
    };
    page(look, client.display_name(), Width::Wide, body)
}

/// The parts of a client's page besides the client itself.
pub(in crate::http) struct ClientPage<'a> {
    pub access: &'a [Group],
    pub groups: &'a [Group],
    /// Its logo's address, when it has one.
    pub logo: Option<&'a str>,
}

/// One client: what it is, its logo, which groups may use it, a new secret, removing it.
pub(in crate::http) fn client(
    look: &Look,
    base: &ConsoleBase<'_>,
    client: &Client,
    shown: &ClientPage<'_>,
    notice: Option<&str>,
    error: Option<&str>,
) -> String {
    let t = &look.text.console;
    let action = base.client_url(&client.client_id);
    let (access, groups) = (shown.access, shown.groups);
    let body = html! {
        h1 {
            @if let Some(url) = shown.logo { img.app-logo src=(url) alt=""; }
            (client.display_name())
        }
        (nav(look, base))
        (super::notice(notice))
        (alert(error))
        table.list aria-label=(t.applications) {
            tr { td { (t.client_id) } td { code { (client.client_id) } } }
            tr { td { (t.kind) } td { ((t.client_kind)(client.auth_method(), client.first_party)) } }
            tr {
                td { (t.redirect_uris) }
                td { @for uri in &client.redirect_uris { code { (uri) } br; } }
            }
            @if let Some(uri) = &client.jwks_uri {
                tr { td { (t.keys_at) } td { code { (uri) } } }
            }
            tr { td { (t.sign_in_policy) } td { ((t.policy)(client.auth_policy)) } }
            tr { td { (t.created) } td { (moment(client.created_at)) } }
        }
        @if base.recent {
            (client_settings(look, base, client))
            (logo_forms(look, base, client, shown.logo))
            h2 { (t.who_may_use) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="access";
                p.muted { (t.access_help) }
                @for g in groups {
                    label {
                        input type="checkbox" name="groups" value=(g.name)
                            checked[access.iter().any(|a| a.id == g.id)];
                        " " (g.name)
                    }
                }
                button type="submit" .secondary { (t.save_access) }
            }
            @if let Some(keys) = &client.jwks {
                h2 { (t.keys) }
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(base.csrf);
                    input type="hidden" name="action" value="keys";
                    label for="jwks" { (t.keys) }
                    textarea #jwks name="jwks" rows="8" spellcheck="false" {
                        (serde_json::to_string_pretty(keys.set()).unwrap_or_default())
                    }
                    button type="submit" .secondary { (t.replace_keys) }
                }
            }
            @if let Some(uri) = &client.jwks_uri {
                h2 { (t.keys_at) }
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(base.csrf);
                    input type="hidden" name="action" value="keys_at";
                    label for="jwks-uri" { (t.keys_at) }
                    input #jwks-uri name="jwks_uri" type="url" maxlength="2048" required
                        autocomplete="off" value=(uri);
                    button type="submit" .secondary { (t.save_keys_at) }
                }
            }
            @if client.secret_hash.is_some() {
                h2 { (t.new_secret) }
                form method="post" action=(action) {
                    input type="hidden" name="csrf" value=(base.csrf);
                    input type="hidden" name="action" value="rotate";
                    p.muted { (t.new_secret_help) }
                    label {
                        input type="checkbox" name="leaked" value="yes";
                        " " (t.secret_leaked)
                    }
                    button type="submit" .secondary { (t.new_secret) }
                }
            }
            h2 { (t.remove_client) }
            form method="post" action=(action) {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="delete";
                p { ((t.remove_client_what)(client.display_name())) }
                label for="confirm" { ((t.type_to_confirm)(&client.client_id)) }
                input #confirm name="confirm" required autocomplete="off";
                button type="submit" .secondary { (t.remove_client) }
            }
        } @else {
            p.muted { (t.not_recent) }
            a.button href=(base.url("/account")) { (look.text.account.sign_in_again) }
        }
    };
    page(look, client.display_name(), Width::Wide, body)
}

/// The forms that give a client a logo (an image sent as a file) and take it away.
fn logo_forms(look: &Look, base: &ConsoleBase<'_>, client: &Client, logo: Option<&str>) -> Markup {
    let t = &look.text.console;
    let action = base.url(&format!(
        "/admin/clients/{}/logo",
        path_segment(&client.client_id)
    ));
    html! {
        h2 { (t.logo) }
        @if let Some(url) = logo { p { img.app-logo.large src=(url) alt=(t.logo); } }
        form method="post" action=(action) enctype="multipart/form-data" {
            input type="hidden" name="csrf" value=(base.csrf);
            input type="hidden" name="action" value="logo";
            p.muted { (t.logo_help) }
            label for="logo-image" { (t.logo_image) }
            input #logo-image type="file" name="image" required
                accept="image/png,image/jpeg,image/webp,image/svg+xml";
            button type="submit" .secondary { (t.upload_logo) }
        }
        @if logo.is_some() {
            form method="post" action=(action) enctype="multipart/form-data" {
                input type="hidden" name="csrf" value=(base.csrf);
                input type="hidden" name="action" value="remove";
                button type="submit" .secondary { (t.remove_logo) }
            }
        }
    }
}

/// The form that changes a client's settings, filled with what they are.
fn client_settings(look: &Look, base: &ConsoleBase<'_>, client: &Client) -> Markup {
    let t = &look.text.console;
    let lines = |uris: &[String]| uris.join("\n");
    let display = &client.display;
    html! {
        h2 { (t.settings) }
        form method="post" action=(base.client_url(&client.client_id)) {
            input type="hidden" name="csrf" value=(base.csrf);
            input type="hidden" name="action" value="settings";
            p.muted { (t.settings_help) }
            label for="client-name" { (t.display_name) }
            input #client-name name="display_name" maxlength="128" autocomplete="off"
                value=(display.name.as_deref().unwrap_or_default());
            label for="home-uri" { (t.home_uri) }
            input #home-uri name="home_uri" type="url" maxlength="2048" autocomplete="off"
                aria-describedby="home-uri-help"
                value=(display.home_uri.as_deref().unwrap_or_default());
            p #home-uri-help .muted { (t.home_uri_help) }
            label for="logo-uri" { (t.logo_uri) }
            input #logo-uri name="logo_uri" type="url" maxlength="2048" autocomplete="off"
                value=(display.logo_uri.as_deref().unwrap_or_default());
            label for="redirect-uris" { (t.redirect_uris) }
            textarea #redirect-uris name="redirect_uris" rows="3"
                aria-describedby="redirect-help" { (lines(&client.redirect_uris)) }
            p #redirect-help .muted { (t.redirect_help) }
            label for="logout-uris" { (t.post_logout_uris) }
            textarea #logout-uris name="post_logout_redirect_uris" rows="2"
                aria-describedby="logout-help" { (lines(&client.post_logout_redirect_uris)) }
            p #logout-help .muted { (t.post_logout_help) }
            label for="backchannel-uri" { (t.backchannel_uri) }
            input #backchannel-uri name="backchannel_logout_uri" type="url" maxlength="2048"
                autocomplete="off" aria-describedby="backchannel-help"
                value=(client.backchannel_logout_uri.as_deref().unwrap_or_default());
            p #backchannel-help .muted { (t.backchannel_help) }
            label for="access-token-claims" { (t.access_token_claims) }
            input #access-token-claims name="access_token_claims" autocomplete="off"
                spellcheck="false" aria-describedby="access-token-claims-help"
                value=(client.access_token_claims.join(" "));
            p #access-token-claims-help .muted { (t.access_token_claims_help) }
            label for="resources" { (t.resources) }
            textarea #resources name="resources" rows="2" spellcheck="false"
                aria-describedby="resources-help" { (lines(&client.resources)) }
            p #resources-help .muted { (t.resources_help) }
            // Only a client that authenticates answers for an API (`Refusal::PublicIntrospects`).
            @if !client.is_public() {
                label for="introspects" { (t.introspects) }
                textarea #introspects name="introspects" rows="2" spellcheck="false"
                    aria-describedby="introspects-help" { (lines(&client.introspects)) }
                p #introspects-help .muted { (t.introspects_help) }
            }
            fieldset {
                legend { (t.scopes) }
                @for s in scope::SUPPORTED {
                    label {
                        input type="checkbox" name="scopes" value=(s)
                            checked[client.scopes.iter().any(|c| c == s)];
                        " " ((t.scope)(s))
                    }
                }
            }
            fieldset {
                legend { (t.grant_types) }
                @for g in GrantType::ALL {
                    label {
                        input type="checkbox" name="grant_types" value=(g.as_str())
                            checked[client.allows_grant(*g)];
                        " " ((t.grant_type)(*g))
                    }
                }
            }
            label {
                input type="checkbox" name="first_party" value="yes" checked[client.first_party];
                " " (t.first_party)
            }
            label {
                input type="checkbox" name="require_par" value="yes"
                    checked[client.require_pushed_authorization_requests];
                " " (t.require_par)
            }
            @if client.signs_with_keys() {
                label {
                    input type="checkbox" name="require_signed" value="yes"
                        checked[client.require_signed_request_object];
                    " " (t.require_signed)
                }
            }
            label {
                input type="checkbox" name="require_dpop" value="yes"
                    checked[client.dpop_bound_access_tokens];
                " " (t.require_dpop)
            }
            label {
                input type="checkbox" name="require_confirmed_address" value="yes"
                    checked[client.require_confirmed_address];
                " " (t.require_confirmed_address)
            }
            label for="token-format" { (t.token_format) }
            select #token-format name="access_token_format" {
                @for f in AccessTokenFormat::ALL {
                    option value=(f.as_str()) selected[*f == client.access_token_format] {
                        ((t.token_format_is)(*f))
                    }
                }
            }
            label for="subject-type" { (t.subject_type) }
            select #subject-type name="subject_type" {
                @for s in SubjectType::ALL {
                    option value=(s.as_str()) selected[*s == client.subject_type()] {
                        ((t.subject_type_is)(*s))
                    }
                }
            }
            label for="sector" { (t.sector) }
            input #sector name="sector" autocomplete="off" spellcheck="false" maxlength="253"
                aria-describedby="sector-help"
                value=(client.pairwise_sector.as_deref().unwrap_or_default());
            p #sector-help .muted { (t.sector_help) }
            label for="id-token-alg" { (t.id_token_alg) }
            select #id-token-alg name="id_token_alg" {
                @for a in SigningAlg::ALL {
                    option value=(a.as_str()) selected[*a == client.id_token_signed_response_alg] {
                        (a.as_str())
                    }
                }
            }
            label for="client-policy" { (t.sign_in_policy) }
            (policy_select(look, "client-policy", client.auth_policy))
            button type="submit" { (t.save_settings) }
        }
    }
}

/// The signing keys (never their private half), and the form that rotates them.
pub(in crate::http) fn keys(
    look: &Look,
    base: &ConsoleBase<'_>,
    keys: &[SigningKey],
    notice: Option<&str>,
    error: Option<&str>,
) -> String {
    let t = &look.text.console;
    let when = |at: Option<i64>| at.map_or_else(|| "—".to_owned(), moment);
    let body = html! {
        h1 { (t.signing_keys) }
        (nav(look, base))
        (super::notice(notice))
        (alert(error))
        table.list aria-label=(t.signing_keys) {
            @for k in keys {
                tr {
                    td {
                        strong { (k.alg.as_str()) } " · " code { (k.kid) } br;
                        span.muted {
                            ((t.key_signs)(&moment(k.signs_from), &when(k.retired_at)))
                            @if let Some(until) = k.publish_until {
                                " · " ((t.key_published_until)(&moment(until)))
                            }
                        }
                    }
                }
            }
        }
        h2 { (t.rotate) }
        @if base.recent {
            form method="post" action=(base.url("/admin/keys")) {
                input type="hidden" name="csrf" value=(base.csrf);
                label for="alg" { (t.which_keys) }
                select #alg name="alg" {
                    option value="" { (t.every_algorithm) }
                    @for alg in SigningAlg::ALL {
                        option value=(alg.as_str()) { (alg.as_str()) }
                    }
                }
                p.muted { (t.rotate_help) }
                label {
                    input type="checkbox" name="compromised" value="yes";
                    " " (t.compromised)
                }
                button type="submit" .secondary { (t.rotate) }
            }
        } @else {
            p.muted { (t.not_recent) }
            a.button href=(base.url("/account")) { (look.text.account.sign_in_again) }
        }
    };
    page(look, t.signing_keys, Width::Wide, body)
}
