//! The pages of links sent by email: asking for a password reset, choosing the new password,
//! and confirming an address.

use maud::html;

use super::account::new_password_fields;
use super::signin::new_passkey_fields;
use super::{Look, Width, alert, hidden_fields, language_buttons, page, passkey_script};

/// Asks for the username or address whose password to reset (`identifier`, as typed before
/// the page came back). `hidden` is what the form carries beside (the language chosen on the
/// page's switch, if it was).
pub(in crate::http) fn reset_request(
    look: &Look,
    csrf: &str,
    hidden: &[(&str, &str)],
    identifier: &str,
    error: Option<&str>,
) -> String {
    let t = &look.text.email;
    let body = html! {
        h1 { (t.reset_title) }
        p { (t.reset_what) }
        (alert(error))
        form #reset method="post" action="reset" {
            input type="hidden" name="csrf" value=(csrf);
            input type="hidden" name="action" value="request";
            (hidden_fields(hidden))
            label for="identifier" { (t.identifier_label) }
            input #identifier name="identifier" autocomplete="username" required autofocus
                maxlength="254" value=(identifier);
            button type="submit" { (t.send_reset_link) }
        }
        (language_buttons(look, "reset"))
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

/// What a link's page that chooses a password carries.
pub(in crate::http) struct PasswordForm<'a> {
    /// An invitation's (the first password), or a reset's.
    pub invitation: bool,
    /// The invitation's page offers a passkey in place of a password (passkeys work here).
    pub passkey_instead: bool,
    pub csrf: &'a str,
    pub token: &'a str,
    /// What the form carries besides (the language chosen, `AppState::login_fields`).
    pub hidden: Vec<(&'a str, &'a str)>,
}

/// The new password, for the link `token` (carried through the form, used when it is sent):
/// a reset's (the form goes to `reset`) or an invitation's (`welcome`), which offers a passkey
/// instead where passkeys work (the script shows that form in a browser that can make one).
pub(in crate::http) fn password_form(
    look: &Look,
    f: &PasswordForm<'_>,
    error: Option<&str>,
) -> String {
    let t = &look.text.email;
    let (title, action) = if f.invitation {
        (t.welcome_title, "welcome")
    } else {
        (t.new_password_title, "reset")
    };
    let body = html! {
        h1 { (title) }
        @if f.invitation { p { ((t.welcome)(look.product())) } }
        (alert(error))
        form #password-form method="post" action=(action) {
            input type="hidden" name="csrf" value=(f.csrf);
            input type="hidden" name="action" value="set";
            input type="hidden" name="token" value=(f.token);
            (hidden_fields(&f.hidden))
            (new_password_fields(look, true))
            button type="submit" { (t.set_new_password) }
        }
        @if f.passkey_instead {
            // Shown by the script, in a browser that can make a passkey.
            form #welcome-passkey method="post" action="welcome" hidden {
                h2 { (t.welcome_passkey_title) }
                p { (t.welcome_passkey_what) }
                input type="hidden" name="csrf" value=(f.csrf);
                input type="hidden" name="action" value="passkey";
                input type="hidden" name="token" value=(f.token);
                (hidden_fields(&f.hidden))
                (new_passkey_fields(look))
            }
            (passkey_script(look, None))
        }
        (language_buttons(look, "password-form"))
    };
    page(look, title, Width::Narrow, body)
}

/// An invitation accepted with a passkey: it is how the person signs in.
pub(in crate::http) fn welcome_done_with_passkey(look: &Look) -> String {
    let t = &look.text.email;
    let body = html! {
        h1 { (t.welcome_done_title) }
        p role="status" { (t.welcome_done_passkey) }
        a.button href="account" { (t.to_your_account) }
    };
    page(look, t.welcome_done_title, Width::Narrow, body)
}

/// What a passkey link's page carries: the person's username (whom the link is for), the
/// form's token and the link's.
pub(in crate::http) struct PasskeyLinkForm<'a> {
    pub username: &'a str,
    pub csrf: &'a str,
    pub token: &'a str,
    /// What the form carries besides (the language chosen, `AppState::login_fields`).
    pub hidden: Vec<(&'a str, &'a str)>,
}

/// A passkey link's page: a new passkey for the person an administrator sent it to (the
/// script shows the form in a browser that can make one, and says so in one that cannot).
pub(in crate::http) fn passkey_link_form(
    look: &Look,
    f: &PasskeyLinkForm<'_>,
    error: Option<&str>,
) -> String {
    let t = &look.text.email;
    let body = html! {
        h1 { (t.passkey_link_title) }
        p { ((t.passkey_link_what)(look.product(), f.username)) }
        (alert(error))
        form #link-passkey method="post" action="new-passkey" hidden {
            input type="hidden" name="csrf" value=(f.csrf);
            input type="hidden" name="token" value=(f.token);
            (hidden_fields(&f.hidden))
            (new_passkey_fields(look))
        }
        (passkey_script(look, Some(look.text.passkey.browser_cannot_add)))
        (language_buttons(look, "link-passkey"))
    };
    page(look, t.passkey_link_title, Width::Narrow, body)
}

/// A passkey link was used: the new passkey signs the person in.
pub(in crate::http) fn passkey_link_done(look: &Look) -> String {
    let t = &look.text.email;
    let body = html! {
        h1 { (t.passkey_link_done_title) }
        p role="status" { (t.passkey_link_done) }
        a.button href="account" { (t.to_your_account) }
    };
    page(look, t.passkey_link_done_title, Width::Narrow, body)
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

/// What a sign-up link's page carries, and shows again after a refusal.
pub(in crate::http) struct SignupForm<'a> {
    pub csrf: &'a str,
    pub token: &'a str,
    pub username: &'a str,
    pub email: &'a str,
    pub name: &'a str,
    pub passkey_name: &'a str,
    /// Passkeys work here: the page offers one in place of a password.
    pub passkeys: bool,
    /// A link to confirm the address goes out (this server sends mail).
    pub mail: bool,
    /// The domains the link is for (empty: any).
    pub domains: &'a [String],
    /// What the form carries besides (the language chosen, `AppState::login_fields`).
    pub hidden: Vec<(&'a str, &'a str)>,
}

/// A sign-up link's page: the new account's username, address and name, and a password or,
/// where passkeys work, a passkey in its place (the script shows that choice in a browser that
/// can make one, begins the ceremony with the form's fields and sends the form with its answer).
pub(in crate::http) fn signup_form(look: &Look, f: &SignupForm<'_>, error: Option<&str>) -> String {
    let t = &look.text.signup;
    let account = &look.text.account;
    let passkey = &look.text.passkey;
    let body = html! {
        h1 { (t.title) }
        p { ((t.what)(look.product(), f.passkeys)) }
        (alert(error))
        form #signup method="post" action="signup" {
            input type="hidden" name="csrf" value=(f.csrf);
            input type="hidden" name="token" value=(f.token);
            (hidden_fields(&f.hidden))
            label for="signup-username" { (look.text.sign_in.username) }
            input #signup-username name="username" required maxlength="64"
                autocomplete="username" autocapitalize="none" autofocus
                aria-describedby="signup-username-help" value=(f.username);
            p #signup-username-help .muted { (t.username_help) }
            label for="signup-email" { (account.email_label) }
            @let described = f.mail || !f.domains.is_empty();
            input #signup-email name="email" type="email" required maxlength="254"
                autocomplete="email" value=(f.email)
                aria-describedby=[described.then_some("signup-email-help")];
            @if described {
                p #signup-email-help .muted {
                    @if !f.domains.is_empty() {
                        ((t.domains_help)(&f.domains.join(", "))) " "
                    }
                    @if f.mail { (t.email_help_mail) }
                }
            }
            label for="signup-name" { (account.name_label) }
            input #signup-name name="name" maxlength=(crate::admin::MAX_NAME) autocomplete="name"
                value=(f.name);
            @if f.passkeys {
                div #signup-passkey hidden {
                    h2 { (t.passkey_title) }
                    p { (look.text.email.welcome_passkey_what) }
                    input type="hidden" name="challenge_id" value="";
                    input type="hidden" name="credential" value="";
                    label for="passkey-name" { (passkey.name_label) }
                    input #passkey-name name="passkey_name"
                        maxlength=(crate::auth::passkeys::MAX_NAME)
                        placeholder=(passkey.name_placeholder) value=(f.passkey_name);
                    button #signup-with-passkey type="button" { (t.passkey_submit) }
                    h2 { (t.or_password) }
                }
            }
            (new_password_fields(look, false))
            button type="submit" { (t.submit) }
        }
        @if f.passkeys { (passkey_script(look, None)) }
        (language_buttons(look, "signup"))
    };
    page(look, t.title, Width::Narrow, body)
}

/// The account is made, signing in with a password or (`passkey`) a passkey;
/// `confirm_sent_to`: the address a link to confirm it went to.
pub(in crate::http) fn signup_done(
    look: &Look,
    confirm_sent_to: Option<&str>,
    passkey: bool,
) -> String {
    let t = &look.text.signup;
    let body = html! {
        h1 { (t.done_title) }
        p role="status" { (if passkey { t.done_passkey } else { t.done }) }
        @if let Some(email) = confirm_sent_to { p { ((t.confirm_sent)(email)) } }
        a.button href="account" { (look.text.email.to_your_account) }
    };
    page(look, t.done_title, Width::Narrow, body)
}
