//! What a person is asked or told about applications and devices: consent, a device's code
//! and its confirmation, no access, and signing out.

use maud::{Markup, html};

use super::{Look, Width, alert, app_logo, notice, page};

/// What an application asks of a person: the scopes, and the APIs (resource indicators,
/// RFC 8707) it would use what it is given with.
pub(in crate::http) struct Asked<'a> {
    pub scopes: &'a [&'a str],
    pub resources: &'a [String],
}

/// The consent page: what the client asks for, and a form to allow or deny it.
pub(in crate::http) fn consent(
    look: &Look,
    client: &str,
    logo: Option<&str>,
    request: &str,
    csrf: &str,
    asked: Asked<'_>,
) -> String {
    let t = &look.text.consent;
    let body = html! {
        (app_logo(logo))
        h1 { (t.title) }
        p { ((t.would_like_to)(client)) }
        (asked_list(look, asked))
        form method="post" action="consent" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="request" value=(request);
            button type="submit" name="decision" value="allow" { (t.allow) }
            button type="submit" name="decision" value="deny" .secondary { (t.deny) }
        }
    };
    page(look, t.title, Width::Narrow, body)
}

/// What scopes let a client see, in words a person understands, then the APIs it would act
/// for them at, as registered for it (an address the person may recognise, or not: they are
/// shown as they are).
fn asked_list(look: &Look, asked: Asked<'_>) -> Markup {
    let t = &look.text.consent;
    html! {
        ul {
            @for s in asked.scopes {
                li { (t.describe_scope(s)) }
            }
        }
        @if !asked.resources.is_empty() {
            p { (t.at_these_services) }
            ul #asked-resources {
                @for r in asked.resources {
                    li { code { (r) } }
                }
            }
        }
    }
}

/// The form a signed-in person types a device's code into. `code` prefills it (from the
/// link the device showed), `error` says what was wrong with the last one.
pub(in crate::http) fn device_entry(
    look: &Look,
    csrf: &str,
    code: &str,
    error: Option<&str>,
) -> String {
    let t = &look.text.device;
    let body = html! {
        h1 { (t.entry_title) }
        p { (t.entry_what) }
        (alert(error))
        form method="post" action="device" {
            input type="hidden" name="csrf" value=(csrf);
            label for="user_code" { (t.code_label) }
            input #user_code name="user_code" value=(code) required autofocus autocomplete="off"
                autocapitalize="characters" spellcheck="false" placeholder="WDJB-MJHT"
                aria-describedby="code-help";
            p #code-help .muted { (t.code_help) }
            button type="submit" { (t.next) }
        }
    };
    page(look, t.entry_title, Width::Narrow, body)
}

/// Asks the person whether the device showing `code` may sign in as them to `client`, with
/// what it asks for. It warns against approving a code someone else sent them: that is how a
/// device sign-in is phished (RFC 8628 §5.4).
pub(in crate::http) fn device_confirm(
    look: &Look,
    client: &str,
    logo: Option<&str>,
    code: &str,
    asked: Asked<'_>,
    csrf: &str,
    user_code: &str,
) -> String {
    let t = &look.text.device;
    let body = html! {
        (app_logo(logo))
        h1 { (t.confirm_title) }
        p { ((t.confirm_check)(client, code)) }
        p { (t.it_will_be_able_to) }
        (asked_list(look, asked))
        p.muted { (t.phishing_warning) }
        form method="post" action="device/answer" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="user_code" value=(user_code);
            button type="submit" name="decision" value="allow" { (look.text.consent.allow) }
            button type="submit" name="decision" value="deny" .secondary {
                (look.text.consent.deny)
            }
        }
    };
    page(look, t.confirm_title, Width::Narrow, body)
}

/// What the person sees once they answered a device.
pub(in crate::http) fn device_done(look: &Look, client: &str, allowed: bool) -> String {
    let t = &look.text.device;
    let (title, text) = if allowed {
        (t.allowed_title, (t.allowed)(client))
    } else {
        (t.denied_title, html! { (t.denied) })
    };
    page(
        look,
        title,
        Width::Narrow,
        html! { h1 { (title) } p { (text) } },
    )
}

/// Asks before signing out when the request cannot prove it comes from the user's application
/// (no valid `id_token_hint`): a logout link on another site must not sign people out.
pub(in crate::http) fn logout_confirm(look: &Look, request: &str, csrf: &str) -> String {
    let t = &look.text.sign_out;
    let body = html! {
        h1 { (t.confirm_title) }
        p { ((t.confirm_question)(look.product())) }
        form method="post" action="logout" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="request" value=(request);
            button type="submit" name="confirm" value="yes" { (t.sign_out) }
        }
    };
    page(look, t.confirm_title, Width::Narrow, body)
}

pub(in crate::http) fn signed_out(look: &Look) -> String {
    let t = &look.text.sign_out;
    page(
        look,
        t.done_title,
        Width::Narrow,
        html! { h1 { (t.done_heading) } p { (t.close_window) } },
    )
}

/// What the page asking a person to confirm their address offers.
pub(in crate::http) struct ConfirmAddress<'a> {
    /// The application's name, and its logo's address if it has one.
    pub client: &'a str,
    pub logo: Option<&'a str>,
    /// The person's address.
    pub email: &'a str,
    /// The form that mails a link (its token, and the request it continues), where mail can
    /// be sent.
    pub send: Option<(&'a str, &'a str)>,
    /// What the last press of it did.
    pub sent: Option<&'a str>,
    /// Where the sign-in goes on once the address is confirmed (`/authorize` again).
    pub go_on: &'a str,
    /// The domains the person's account signs in with a confirmed address at (empty: the
    /// application alone asks for it).
    pub domains: &'a [String],
    /// Their address is at none of those domains: they give another first.
    pub change: bool,
}

/// The page for a signed-in person whose address an application requires confirmed, and theirs
/// is not: what to do, a button that mails the link (or, without mail, who to ask), and the way
/// on once it is done.
pub(in crate::http) fn confirm_address(look: &Look, c: &ConfirmAddress) -> String {
    let t = &look.text.confirm_address;
    let body = html! {
        (app_logo(c.logo))
        h1 { (t.title) }
        p { ((t.needs)(c.client, c.email)) }
        @if !c.domains.is_empty() {
            p #account-domains { ((t.account_domains)(&c.domains.join(", "))) }
        }
        (notice(c.sent))
        @if c.change {
            p { (t.change_first) " " a href="account" { (look.text.account.title) } }
        } @else if let Some((csrf, request)) = c.send {
            form method="post" action="confirm-address" {
                input type="hidden" name="csrf" value=(csrf);
                input type="hidden" name="request" value=(request);
                button type="submit" .secondary { (t.send) }
            }
            p { (t.then_continue) }
        } @else {
            p { (t.ask_administrator) }
        }
        p { a.button href=(c.go_on) { ((t.continue_to)(c.client)) } }
        @if !c.change {
            p.muted { (t.not_yours) " " a href="account" { (look.text.account.title) } }
        }
    };
    page(look, t.title, Width::Narrow, body)
}

/// The page for a signed-in person outside the groups that may use `client`. `back` is the
/// client's registered redirect URI carrying `error=access_denied`, so the application learns
/// what happened when the person goes back.
pub(in crate::http) fn no_access(look: &Look, client: &str, back: Option<&str>) -> String {
    let t = &look.text.no_access;
    let title = (t.title)(client);
    let body = html! {
        h1 { (title) }
        p { (t.why) }
        p { (t.ask) }
        @if let Some(href) = back {
            p { a.button href=(href) { ((t.back_to)(client)) } }
        }
    };
    page(look, &title, Width::Narrow, body)
}
