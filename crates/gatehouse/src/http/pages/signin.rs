//! The sign-in pages: the login form, the second step (a code or a passkey), setting up an
//! authenticator app or a passkey where a policy needs one, the recovery codes, and the page
//! that posts an authorization response back (`form_post`).

use std::sync::LazyLock;

use maud::{Markup, PreEscaped, html};

use super::super::assets::Asset;
use super::{Look, Width, alert, app_logo, hidden_fields, language_buttons, page, passkey_script};

/// The login form, for signing in to continue to `to` (an application's name, with its logo's
/// address when it has one). `hidden` is what the form carries through to the POST (the
/// authorization request's query string, or a device's user code), validated again there;
/// `csrf` matches the form cookie. `keep` is "Keep me signed in": `None` where the deployment
/// does not offer it, else whether it is ticked; it goes with a passkey's sign-in too.
#[allow(
    clippy::too_many_arguments,
    reason = "each is a part of the form, given by each of the three sign-ins"
)]
pub(in crate::http) fn login(
    look: &Look,
    (to, logo): (&str, Option<&str>),
    hidden: &[(&str, &str)],
    csrf: &str,
    username: &str,
    error: Option<&str>,
    passkeys: bool,
    keep: Option<bool>,
) -> String {
    let t = &look.text.sign_in;
    // The passkey's form carries the choice as the box shows it when the button is pressed.
    let mut with_keep = hidden.to_vec();
    if let Some(ticked) = keep {
        with_keep.push(("keep", if ticked { "1" } else { "" }));
    }
    let body = html! {
        (app_logo(logo))
        h1 { (t.title) }
        p.muted { ((t.to_continue_to)(to)) }
        (alert(error))
        form #login method="post" action="login" {
            input type="hidden" name="csrf" value=(csrf);
            (hidden_fields(hidden))
            // The first field left to fill has the focus: the password, when the username is
            // given (typed before, or the application's hint).
            label for="username" { (t.username) }
            input #username name="username" autocomplete="username" required
                autofocus[username.is_empty()] value=(username);
            label for="password" { (t.password) }
            input #password name="password" type="password" autocomplete="current-password"
                required autofocus[!username.is_empty()];
            @if let Some(ticked) = keep {
                label {
                    input #keep type="checkbox" name="keep" value="1" checked[ticked];
                    " " (t.keep_signed_in)
                }
            }
            button type="submit" { (t.submit) }
        }
        @if look.mail {
            p.muted { a href="reset" { (look.text.email.forgot_password) } }
        }
        @if passkeys {
            // The password is the other way in: a browser without passkeys shows no button.
            (passkey_button(look, look.text.passkey.sign_in_with, csrf, &with_keep, None))
        }
        // Sent with this form, so what was typed and ticked comes back in the other language.
        (language_buttons(look, "login"))
    };
    page(look, t.title, Width::Narrow, body)
}

/// The button that signs in with a passkey, and the form it sends (`csrf` a login form's token,
/// `hidden` the fields of what the sign-in continues). Signing in with a passkey needs
/// WebAuthn, which is JavaScript: the button shows itself when the browser has it, and
/// `cannot` shows when it has not (where the passkey is the only way on).
fn passkey_button(
    look: &Look,
    label: &str,
    csrf: &str,
    hidden: &[(&str, &str)],
    cannot: Option<&str>,
) -> Markup {
    html! {
        button type="button" #passkey-sign-in .secondary hidden { (label) }
        form #passkey-form method="post" action="passkey" hidden {
            input type="hidden" name="csrf" value=(csrf);
            (hidden_fields(hidden))
            input type="hidden" name="challenge_id" value="";
            input type="hidden" name="credential" value="";
        }
        (passkey_script(look, cannot))
    }
}

/// The second step of a sign-in: a code from the person's authenticator app or one of their
/// recovery codes, in one field (`code`, when they have an app), and their passkey (`passkey`:
/// a login form's token, when they have one and passkeys work here).
pub(in crate::http) fn second_factor(
    look: &Look,
    to: &str,
    hidden: &[(&str, &str)],
    csrf: &str,
    error: Option<&str>,
    code: bool,
    passkey: Option<&str>,
) -> String {
    let t = &look.text.second_factor;
    // The passkey form carries what the sign-in continues, not the step's own fields.
    let continuation: Vec<(&str, &str)> = hidden
        .iter()
        .copied()
        .filter(|(name, _)| *name != "username")
        .collect();
    let body = html! {
        h1 { (t.title) }
        p.muted { ((look.text.sign_in.to_continue_to)(to)) }
        (alert(error))
        @if code {
            form method="post" action="verify" {
                input type="hidden" name="csrf" value=(csrf);
                (hidden_fields(hidden))
                label for="code" { (t.code_label) }
                input #code name="code" autocomplete="one-time-code" required autofocus
                    maxlength="64" spellcheck="false" aria-describedby="code-help";
                p #code-help .muted { (t.code_help) }
                button type="submit" { (t.verify) }
            }
        } @else {
            p { (t.use_passkey_to_finish) }
        }
        @if let Some(token) = passkey {
            // Without an app, the passkey is the only way on.
            @let cannot = (!code).then_some(look.text.passkey.browser_cannot_sign_in);
            (passkey_button(look, look.text.passkey.use_one, token, &continuation, cannot))
            @if !code { p.muted { (t.passkey_lost) } }
        }
    };
    page(look, t.title, Width::Narrow, body)
}

/// Where a passkey is required: use the person's (`token` a login form's, `hidden` what the
/// sign-in continues).
pub(in crate::http) fn passkey_required(
    look: &Look,
    to: &str,
    hidden: &[(&str, &str)],
    token: &str,
) -> String {
    let t = &look.text.passkey;
    let body = html! {
        h1 { (t.required_title) }
        p.muted { ((look.text.sign_in.to_continue_to)(to)) }
        p { ((t.required_by)(to)) }
        (passkey_button(look, t.use_one, token, hidden, Some(t.browser_cannot_sign_in)))
        p.muted { (look.text.second_factor.passkey_lost) }
    };
    page(look, t.required_title, Width::Narrow, body)
}

/// Where a passkey is required and the person has none: add one now (`csrf` the step's token,
/// `hidden` what the sign-in continues and whose it is).
pub(in crate::http) fn add_passkey_required(
    look: &Look,
    to: &str,
    hidden: &[(&str, &str)],
    csrf: &str,
    error: Option<&str>,
) -> String {
    let t = &look.text.passkey;
    let body = html! {
        h1 { (t.add_title) }
        p.muted { ((look.text.sign_in.to_continue_to)(to)) }
        p { ((t.required_none_yet)(to)) }
        (alert(error))
        // Shown by the script, in a browser that can make a passkey.
        form #enrol-passkey method="post" action="enrol-passkey" hidden {
            input type="hidden" name="csrf" value=(csrf);
            (hidden_fields(hidden))
            (new_passkey_fields(look))
        }
        (passkey_script(look, Some(t.browser_cannot_add)))
    };
    page(look, t.add_title, Width::Narrow, body)
}

/// The fields and button of a form that adds a passkey: the script fills the ceremony's fields.
pub(super) fn new_passkey_fields(look: &Look) -> Markup {
    let t = &look.text.passkey;
    html! {
        input type="hidden" name="challenge_id" value="";
        input type="hidden" name="credential" value="";
        label for="passkey-name" { (t.name_label) }
        input #passkey-name name="name" maxlength="64" placeholder=(t.name_placeholder);
        button type="submit" { (t.add) }
    }
}

/// Where the setup page's form goes, and what it carries.
pub(in crate::http) struct EnrolForm<'a> {
    /// `enrol` during a sign-in, `account` from the account page.
    pub action: &'a str,
    pub hidden: &'a [(&'a str, &'a str)],
    pub csrf: &'a str,
}

/// Setting up an authenticator app: the QR code (`qr`, an SVG drawn here from the
/// `otpauth://` URI), the same secret as text, and a field for the first code.
pub(in crate::http) fn enrol_totp(
    look: &Look,
    to: &str,
    form: &EnrolForm<'_>,
    qr: &str,
    secret_text: &str,
    error: Option<&str>,
) -> String {
    let t = &look.text.app;
    let body = html! {
        h1 { (t.setup_title) }
        p { ((t.setup_why)(to)) }
        (alert(error))
        p { (t.setup_scan) }
        // Drawn by `qr_svg` from the URI: the `qrcode` crate's SVG, no outside text in it.
        figure.qr { (PreEscaped(qr)) }
        p.muted { (t.setup_cannot_scan) " " code #secret { (secret_text) } }
        form method="post" action=(form.action) {
            input type="hidden" name="csrf" value=(form.csrf);
            (hidden_fields(form.hidden))
            label for="code" { (t.setup_code_label) }
            input #code name="code" inputmode="numeric" autocomplete="one-time-code" required
                autofocus maxlength="16" spellcheck="false";
            button type="submit" { (t.setup_submit) }
        }
    };
    page(look, t.setup_title, Width::Narrow, body)
}

/// A QR code of `text` as inline SVG, labelled for screen readers (`label`). `None` when the
/// text is too long for a QR code (an `otpauth://` URI never is).
pub(in crate::http) fn qr_svg(look: &Look, text: &str) -> Option<String> {
    use qrcode::render::svg;
    let code = qrcode::QrCode::new(text.as_bytes()).ok()?;
    let drawn = code
        .render::<svg::Color<'_>>()
        .min_dimensions(200, 200)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .build();
    // Inline in HTML: the XML declaration has no place there.
    let start = drawn.find("<svg")?;
    let label = html! { svg role="img" aria-label=(look.text.app.qr_label) {} }.into_string();
    let open = label.strip_suffix("></svg>")?;
    Some(drawn[start..].replacen("<svg", open, 1))
}

/// The recovery codes of a new enrolment, shown once, and the way on.
pub(in crate::http) fn recovery_codes(
    look: &Look,
    to: &str,
    codes: &[String],
    next: &str,
) -> String {
    let t = &look.text.app;
    let body = html! {
        h1 { (t.codes_title) }
        p { (t.codes_what) }
        ul.codes aria-label=(t.codes_label) {
            @for c in codes {
                li { code { (c) } }
            }
        }
        p { strong { (t.codes_shown_once) } " " (t.codes_keep) }
        a.button href=(next) { ((t.codes_continue)(to)) }
    };
    page(look, t.codes_title, Width::Narrow, body)
}

/// The script that sends a form-post response as the page loads.
pub(in crate::http) static FORM_POST_SCRIPT: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new(
        &include_bytes!("../../../static/form-post.js")[..],
        "text/javascript; charset=utf-8",
    )
});

/// Where pages load it from, relative to the issuer.
pub(in crate::http) const FORM_POST_SCRIPT_PATH: &str = "static/form-post.js";

/// The authorization response as a form the browser posts to the application's redirect URI
/// (`response_mode=form_post`): it sends itself as the page loads; where scripts do not run,
/// its button does.
pub(in crate::http) fn form_post(look: &Look, action: &str, fields: &[(&str, &str)]) -> String {
    let t = &look.text.sign_in;
    let script = &*FORM_POST_SCRIPT;
    let body = html! {
        h1 { (t.returning) }
        form #form-post method="post" action=(action) {
            (hidden_fields(fields))
            button type="submit" { (t.returning_button) }
        }
        script src=(script.versioned(FORM_POST_SCRIPT_PATH)) integrity=(script.integrity()) defer {}
    };
    page(look, t.returning, Width::Narrow, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::branding::Branding;

    #[test]
    fn the_login_form_escapes_what_it_echoes() {
        let look = Look::new(Branding::default(), "https://id.example", false);
        let html = login(
            &look,
            ("app\"><script>", Some("/logo?v=1\"><img>")),
            &[("request", "a=1&b=<x>")],
            "tok",
            "<img>",
            Some("<b>"),
            true,
            None,
        );
        assert!(!html.contains("<script>") && !html.contains("<img>") && !html.contains("<b>"));
        // The passkey form carries the same fields, escaped the same.
        assert_eq!(html.matches("value=\"a=1&amp;b=&lt;x&gt;\"").count(), 2);
        assert!(html.contains("name=\"csrf\" value=\"tok\""));
    }

    #[test]
    fn keep_me_signed_in_is_offered_where_the_deployment_keeps_sessions_and_goes_with_a_passkey() {
        let look = Look::new(Branding::default(), "https://id.example", false);
        let words = look.text.sign_in.keep_signed_in;
        let form = |keep| login(&look, ("app", None), &[], "tok", "", None, true, keep);
        // (what the deployment offers and the person ticked, the box, ticked, the passkey's field)
        for (keep, shown, ticked, passkey_field) in [
            (None, false, false, None),
            (Some(false), true, false, Some(r#"name="keep" value="""#)),
            (Some(true), true, true, Some(r#"name="keep" value="1""#)),
        ] {
            let html = form(keep);
            assert_eq!(html.contains(words), shown, "{keep:?}");
            assert_eq!(html.contains(r#"id="keep""#), shown, "{keep:?}");
            assert_eq!(html.contains(" checked"), ticked, "{keep:?}");
            match passkey_field {
                Some(field) => assert!(
                    html.contains(&format!(r#"type="hidden" {field}"#)),
                    "{html}"
                ),
                None => assert!(!html.contains(r#"name="keep""#), "{html}"),
            }
        }
    }

    #[test]
    fn a_browser_without_passkeys_is_told_so_only_where_the_passkey_is_the_way_on() {
        let look = Look::new(Branding::default(), "https://id.example", false);
        let cannot = look.text.passkey.browser_cannot_sign_in;
        let step = |code| second_factor(&look, "app", &[], "tok", None, code, Some("tok"));
        // Passkey only: the words are there for the script (and `noscript`) to show.
        assert_eq!(step(false).matches(cannot).count(), 2);
        // An app's code (or a recovery code) is the other way on.
        assert!(!step(true).contains(cannot));
        // The password is the other way in.
        assert!(!login(&look, ("app", None), &[], "tok", "", None, true, None).contains(cannot));
        assert!(passkey_required(&look, "app", &[], "tok").contains(cannot));
        let add = add_passkey_required(&look, "app", &[], "tok", None);
        assert!(add.contains(look.text.passkey.browser_cannot_add));
        // The form shows itself where the browser can make a passkey.
        assert!(
            add.contains(
                r#"<form id="enrol-passkey" method="post" action="enrol-passkey" hidden>"#
            )
        );
    }

    #[test]
    fn the_qr_code_is_labelled_for_screen_readers() {
        let look = Look::new(Branding::default(), "https://id.example", false);
        let svg = qr_svg(&look, "otpauth://totp/x?secret=AAAA").unwrap();
        assert!(
            svg.starts_with("<svg role=\"img\" aria-label=\"QR code for your authenticator app\"")
        );
        assert_eq!(svg.matches("<svg").count(), 1);
    }
}
