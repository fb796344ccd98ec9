//! The pages of links sent by email: asking for a password reset, choosing the new password,
//! and confirming an address.

use maud::html;

use super::account::new_password_fields;
use super::{Look, Width, alert, hidden_fields, language_switch, page};

/// Asks for the username or address whose password to reset. `hidden` is what the form
/// carries beside (the language chosen on the page's switch, if it was).
pub(in crate::http) fn reset_request(
    look: &Look,
    csrf: &str,
    hidden: &[(&str, &str)],
    error: Option<&str>,
) -> String {
    let t = &look.text.email;
    let body = html! {
        h1 { (t.reset_title) }
        p { (t.reset_what) }
        (alert(error))
        form method="post" action="reset" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="action" value="request";
            (hidden_fields(hidden))
            label for="identifier" { (t.identifier_label) }
            input #identifier name="identifier" autocomplete="username" required autofocus
                maxlength="254";
            button type="submit" { (t.send_reset_link) }
        }
        (language_switch(look, "reset", csrf, &[]))
    };
    page(look, t.reset_title, Width::Narrow, body)
}

/// The same answer whoever was asked for: a link is on its way if there is an account.
pub(in crate::http) fn reset_sent(look: &Look) -> String {
    let t = &look.text.email;
    let body = html! {
        h1 { (t.check_your_mail) }
        p role="status" { (t.reset_sent) }
        p.muted { (t.reset_sent_nothing) }
    };
    page(look, t.check_your_mail, Width::Narrow, body)
}

/// The new password, for the link `token` (carried through the form, used when it is sent):
/// a reset's (`invitation` false, the form goes to `reset`) or an invitation's (`welcome`).
/// `hidden` as for [`reset_request`].
pub(in crate::http) fn password_form(
    look: &Look,
    invitation: bool,
    csrf: &str,
    token: &str,
    hidden: &[(&str, &str)],
    error: Option<&str>,
) -> String {
    let t = &look.text.email;
    let (title, action) = if invitation {
        (t.welcome_title, "welcome")
    } else {
        (t.new_password_title, "reset")
    };
    let body = html! {
        h1 { (title) }
        @if invitation { p { ((t.welcome)(look.product())) } }
        (alert(error))
        form method="post" action=(action) {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="action" value="set";
            input type="hidden" name="token" value=(token);
            (hidden_fields(hidden))
            (new_password_fields(look, true))
            button type="submit" { (t.set_new_password) }
        }
        (language_switch(look, action, csrf, &[("token", token)]))
    };
    page(look, title, Width::Narrow, body)
}

/// The new password is set (by a reset's link, or an invitation's).
pub(in crate::http) fn reset_done(look: &Look, invitation: bool) -> String {
    let t = &look.text.email;
    let (title, text) = if invitation {
        (t.welcome_done_title, t.welcome_done)
    } else {
        (t.reset_done_title, t.reset_done)
    };
    let body = html! {
        h1 { (title) }
        p role="status" { (text) }
        a.button href="account" { (t.to_your_account) }
    };
    page(look, title, Width::Narrow, body)
}

/// Asks before confirming `email`: a link opened by a mail scanner confirms nothing.
pub(in crate::http) fn confirm(look: &Look, email: &str, token: &str) -> String {
    let t = &look.text.email;
    let body = html! {
        h1 { (t.confirm_title) }
        p { ((t.confirm_question)(email)) }
        form method="post" action="confirm-email" {
            input type="hidden" name="token" value=(token);
            button type="submit" { (t.confirm) }
        }
    };
    page(look, t.confirm_title, Width::Narrow, body)
}

/// The address is confirmed.
pub(in crate::http) fn confirmed(look: &Look, email: &str) -> String {
    let t = &look.text.email;
    let body = html! {
        h1 { (t.confirmed_title) }
        p role="status" { ((t.confirmed)(email)) }
        a.button href="account" { (t.to_your_account) }
    };
    page(look, t.confirmed_title, Width::Narrow, body)
}
