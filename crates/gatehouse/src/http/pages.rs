//! The pages gatehouse shows people: login, consent, logout confirmation, signed out, and
//! errors. Plain, accessible HTML with inline styles and no external assets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

use crate::oidc::OAuthError;

/// Escapes text for HTML element content and double-quoted attributes. Five characters are all
/// HTML needs escaped here, which is why this is not a template engine.
pub(super) fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2433;margin:0}\
main{max-width:26rem;box-sizing:border-box;margin:8vh auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.9rem 0 .3rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #8a93a6;border-radius:.3rem}\
input:focus{outline:3px solid #4d7cfe;outline-offset:1px}\
button{margin-top:1.3rem;width:100%;padding:.7rem;font-size:1rem;background:#2f5bd8;color:#fff;border:0;border-radius:.3rem;cursor:pointer}\
.error{background:#fdecec;color:#8a1c1c;padding:.6rem;border-radius:.3rem}\
.notice{background:#e8f3ec;color:#14532d;padding:.6rem;border-radius:.3rem}h2{font-size:1.1rem;margin-top:1.5rem}.muted{color:#5b6477;font-size:.9rem}\
button.secondary{background:#fff;color:#2f5bd8;border:1px solid #2f5bd8}ul{padding-left:1.2rem}\
a.button{display:block;text-align:center;margin-top:1.3rem;padding:.7rem;background:#2f5bd8;color:#fff;border-radius:.3rem;text-decoration:none}\
code{overflow-wrap:anywhere}[hidden]{display:none!important}\
table.keys{width:100%;border-collapse:collapse;margin:.5rem 0}table.keys td{padding:.3rem 0;vertical-align:middle}\
table.keys form button{margin:0;width:auto;padding:.35rem .7rem;font-size:.9rem}\
figure.qr{margin:1rem 0;text-align:center}figure.qr svg{width:12.5rem;height:auto}\
ul.codes{columns:2;list-style:none;padding:0;font-size:1.05rem}ul.codes li{margin:.3rem 0}\
@media (max-width:26rem){main{margin:0;border-radius:0;box-shadow:none;padding:1.5rem 1.25rem}}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        title = escape(title)
    )
}

/// The login form, for signing in to continue to `to` (an application's name). `hidden` is
/// what the form carries through to the POST (the authorization request's query string, or a
/// device's user code), validated again there; `csrf` matches the form cookie.
pub(super) fn login(
    to: &str,
    hidden: &[(&str, &str)],
    csrf: &str,
    username: &str,
    error: Option<&str>,
    passkeys: bool,
) -> String {
    let error = alert(error);
    let hidden = hidden_fields(hidden);
    let passkey = if passkeys {
        passkey_button("Sign in with a passkey", csrf, &hidden)
    } else {
        String::new()
    };
    let body = format!(
        "<h1>Sign in</h1><p class=\"muted\">to continue to <strong>{to}</strong></p>{error}\
         <form method=\"post\" action=\"login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{hidden}\
         <label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus value=\"{username}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>{passkey}",
        to = escape(to),
        csrf = escape(csrf),
        username = escape(username),
    );
    page("Sign in", &body)
}

/// The button that signs in with a passkey, and the form it sends (`csrf` a login form's token,
/// `hidden` the escaped fields of what the sign-in continues). Signing in with a passkey needs
/// WebAuthn, which is JavaScript: the button shows itself when the browser has it.
fn passkey_button(label: &str, csrf: &str, hidden: &str) -> String {
    format!(
        "<button type=\"button\" id=\"passkey-sign-in\" class=\"secondary\" hidden>\
         {label}</button>\
         <p id=\"passkey-error\" class=\"error\" role=\"alert\" hidden></p>\
         <form id=\"passkey-form\" method=\"post\" action=\"passkey\" hidden>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{hidden}\
         <input type=\"hidden\" name=\"challenge_id\" value=\"\">\
         <input type=\"hidden\" name=\"credential\" value=\"\"></form>\
         <script src=\"static/passkeys.js\" defer></script>",
        label = escape(label),
        csrf = escape(csrf),
    )
}

/// Hidden form fields, escaped.
fn hidden_fields(hidden: &[(&str, &str)]) -> String {
    hidden
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect()
}

fn alert(error: Option<&str>) -> String {
    error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default()
}

/// The second step of a sign-in: a code from the person's authenticator app or one of their
/// recovery codes, in one field (`code`, when they have an app), and their passkey (`passkey`:
/// a login form's token, when they have one and passkeys work here).
pub(super) fn second_factor(
    to: &str,
    hidden: &[(&str, &str)],
    csrf: &str,
    error: Option<&str>,
    code: bool,
    passkey: Option<&str>,
) -> String {
    let fields = hidden_fields(hidden);
    let code = if code {
        format!(
            "<form method=\"post\" action=\"verify\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{fields}\
             <label for=\"code\">Code from your authenticator app</label>\
             <input id=\"code\" name=\"code\" autocomplete=\"one-time-code\" required autofocus \
             maxlength=\"64\" spellcheck=\"false\" aria-describedby=\"code-help\">\
             <p id=\"code-help\" class=\"muted\">Lost your phone? Enter one of your recovery \
             codes instead.</p><button type=\"submit\">Verify</button></form>",
            csrf = escape(csrf),
        )
    } else {
        "<p>Use your passkey to finish signing in.</p>".to_owned()
    };
    // The passkey form carries what the sign-in continues, not the step's own fields.
    let continuation: Vec<(&str, &str)> = hidden
        .iter()
        .copied()
        .filter(|(name, _)| *name != "username")
        .collect();
    let passkey = passkey
        .map(|token| passkey_button("Use a passkey", token, &hidden_fields(&continuation)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Two-step verification</h1><p class=\"muted\">to continue to <strong>{to}</strong></p>\
         {error}{code}{passkey}",
        to = escape(to),
        error = alert(error),
    );
    page("Two-step verification", &body)
}

/// Where a passkey is required: use the person's (`token` a login form's, `hidden` what the
/// sign-in continues).
pub(super) fn passkey_required(to: &str, hidden: &[(&str, &str)], token: &str) -> String {
    let body = format!(
        "<h1>Use your passkey</h1><p class=\"muted\">to continue to <strong>{to_e}</strong></p>\
         <p><strong>{to_e}</strong> asks you to sign in with a passkey.</p>{button}",
        to_e = escape(to),
        button = passkey_button("Use a passkey", token, &hidden_fields(hidden)),
    );
    page("Use your passkey", &body)
}

/// Where a passkey is required and the person has none: add one now (`csrf` the step's token,
/// `hidden` what the sign-in continues and whose it is).
pub(super) fn add_passkey_required(
    to: &str,
    hidden: &[(&str, &str)],
    csrf: &str,
    error: Option<&str>,
) -> String {
    let body = format!(
        "<h1>Add a passkey</h1><p class=\"muted\">to continue to <strong>{to_e}</strong></p>\
         <p><strong>{to_e}</strong> asks you to sign in with a passkey, and your account has \
         none yet. Add one now: your device asks for your fingerprint, face or screen lock.</p>\
         {error}<p id=\"passkey-error\" class=\"error\" role=\"alert\" hidden></p>\
         <form id=\"enrol-passkey\" method=\"post\" action=\"enrol-passkey\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{hidden}\
         <input type=\"hidden\" name=\"challenge_id\" value=\"\">\
         <input type=\"hidden\" name=\"credential\" value=\"\">\
         <label for=\"passkey-name\">Name of the new passkey</label>\
         <input id=\"passkey-name\" name=\"name\" maxlength=\"64\" placeholder=\"Phone\">\
         <button type=\"submit\">Add a passkey</button></form>\
         <script src=\"static/passkeys.js\" defer></script>",
        to_e = escape(to),
        error = alert(error),
        csrf = escape(csrf),
        hidden = hidden_fields(hidden),
    );
    page("Add a passkey", &body)
}

/// Where the setup page's form goes, and what it carries.
pub(super) struct EnrolForm<'a> {
    /// `enrol` during a sign-in, `account` from the account page.
    pub action: &'a str,
    pub hidden: &'a [(&'a str, &'a str)],
    pub csrf: &'a str,
}

/// Setting up an authenticator app: the QR code (`qr`, an SVG drawn here from the
/// `otpauth://` URI), the same secret as text, and a field for the first code.
pub(super) fn enrol_totp(
    to: &str,
    form: &EnrolForm<'_>,
    qr: &str,
    secret_text: &str,
    error: Option<&str>,
) -> String {
    let body = format!(
        "<h1>Set up two-step verification</h1>\
         <p>To continue to <strong>{to}</strong>, your account needs a code from an \
         authenticator app as well as your password.</p>{error}\
         <p>1. In an authenticator app on your phone (such as Aegis, Google Authenticator, \
         Microsoft Authenticator or 1Password), add an account by scanning this code:</p>\
         <figure class=\"qr\">{qr}</figure>\
         <p class=\"muted\">Cannot scan it? Enter this key instead: \
         <code id=\"secret\">{secret_text}</code></p>\
         <form method=\"post\" action=\"{action}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">{hidden}\
         <label for=\"code\">2. Enter the 6-digit code the app shows</label>\
         <input id=\"code\" name=\"code\" inputmode=\"numeric\" autocomplete=\"one-time-code\" \
         required autofocus maxlength=\"16\" spellcheck=\"false\">\
         <button type=\"submit\">Turn on two-step verification</button></form>",
        to = escape(to),
        error = alert(error),
        action = escape(form.action),
        csrf = escape(form.csrf),
        hidden = hidden_fields(form.hidden),
        secret_text = escape(secret_text),
    );
    page("Set up two-step verification", &body)
}

/// A QR code of `text` as inline SVG, labelled for screen readers. `None` when the text is
/// too long for a QR code (an `otpauth://` URI never is).
pub(super) fn qr_svg(text: &str) -> Option<String> {
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
    Some(drawn[start..].replacen(
        "<svg",
        "<svg role=\"img\" aria-label=\"QR code for your authenticator app\"",
        1,
    ))
}

/// The recovery codes of a new enrolment, shown once, and the way on.
pub(super) fn recovery_codes(to: &str, codes: &[String], next: &str) -> String {
    let items: String = codes
        .iter()
        .map(|c| format!("<li><code>{}</code></li>", escape(c)))
        .collect();
    let body = format!(
        "<h1>Save your recovery codes</h1>\
         <p>Two-step verification is on. If you lose your phone, each of these codes signs you \
         in once, in place of a code from the app.</p>\
         <ul class=\"codes\" aria-label=\"Recovery codes\">{items}</ul>\
         <p><strong>They are shown only now.</strong> Keep them somewhere safe, such as a \
         password manager or a printout.</p>\
         <a class=\"button\" href=\"{next}\">I have saved them, continue to {to}</a>",
        to = escape(to),
        next = escape(next),
    );
    page("Save your recovery codes", &body)
}

/// What the account page shows.
pub(super) struct AccountView<'a> {
    pub username: &'a str,
    pub factors: &'a crate::model::Factors,
    /// A group the person is in requires a second factor: the app cannot be removed.
    pub app_required: bool,
    /// The session's sign-in is recent enough to change things.
    pub recent: bool,
    pub csrf: &'a str,
    pub notice: Option<&'a str>,
    /// The person's passkeys; `None` when passkeys cannot work here (an IP-address issuer).
    pub passkeys: Option<&'a [crate::model::PasskeyView]>,
}

/// A day as people read it, in UTC: `2026-12-01`.
fn day(t: crate::clock::UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| d.date().to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// The person's own page: two-step verification, and what they can change.
pub(super) fn account(v: &AccountView<'_>) -> String {
    let notice = v
        .notice
        .map(|n| format!("<p class=\"notice\" role=\"status\">{}</p>", escape(n)))
        .unwrap_or_default();
    let button = |action: &str, label: &str, secondary: bool| {
        format!(
            "<form method=\"post\" action=\"account\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"action\" value=\"{action}\">\
             <button type=\"submit\"{class}>{label}</button></form>",
            csrf = escape(v.csrf),
            class = if secondary {
                " class=\"secondary\""
            } else {
                ""
            },
        )
    };
    let (status, actions) = match v.factors.totp_enrolled_at {
        Some(at) => {
            let mut actions = button("setup_app", "Set up a new app in its place", true);
            actions.push_str(&button("new_codes", "Make new recovery codes", true));
            if !v.app_required {
                actions.push_str(&button(
                    "remove_app",
                    "Turn off two-step verification",
                    true,
                ));
            }
            (
                format!(
                    "<p><strong>On.</strong> Signing in takes your password and a code from the \
                     authenticator app you set up on {}.</p>\
                     <p>Recovery codes left: <strong>{}</strong>.</p>",
                    day(at),
                    v.factors.recovery_codes_left
                ),
                actions,
            )
        }
        None if v.passkeys.is_some_and(|k| !k.is_empty()) => (
            "<p><strong>No authenticator app.</strong> After your password, you use a passkey.</p>"
                .to_owned(),
            button("setup_app", "Set up an authenticator app", false),
        ),
        None => (
            format!(
                "<p><strong>Off.</strong> Signing in takes your password only.{}</p>",
                if v.app_required {
                    " A group you are in requires an authenticator app: set one up now, or \
                     when you next sign in."
                } else {
                    ""
                }
            ),
            button("setup_app", "Set up an authenticator app", false),
        ),
    };
    let actions = if v.recent {
        actions
    } else {
        format!(
            "<p class=\"muted\">To change this, sign in again: your last sign-in was more than \
             10 minutes ago.</p>{}",
            button("sign_in_again", "Sign in again", false)
        )
    };
    let passkeys = match v.passkeys {
        None => String::new(),
        Some(keys) => passkey_section(v, keys),
    };
    let body = format!(
        "<h1>Your account</h1><p class=\"muted\">Signed in as <strong>{user}</strong></p>\
         {notice}<h2>Passkeys</h2>{passkeys}<h2>Two-step verification</h2>{status}{actions}",
        user = escape(v.username),
    );
    page("Your account", &body)
}

/// The account page's passkeys: each with when it was added and last used, a button to remove
/// it, and the form that adds one (with the script that does WebAuthn).
fn passkey_section(v: &AccountView<'_>, keys: &[crate::model::PasskeyView]) -> String {
    let intro = if keys.is_empty() {
        "<p>A passkey signs you in with your fingerprint, face or screen lock instead of a \
         password and a code.</p>"
            .to_owned()
    } else {
        let rows: String = keys
            .iter()
            .map(|k| {
                let used = k.last_used_at.map_or_else(
                    || "never used".to_owned(),
                    |t| format!("last used {}", day(t)),
                );
                let remove = if v.recent {
                    format!(
                        "<form method=\"post\" action=\"account\">\
                         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                         <input type=\"hidden\" name=\"action\" value=\"remove_passkey\">\
                         <input type=\"hidden\" name=\"credential_id\" value=\"{id}\">\
                         <button type=\"submit\" class=\"secondary\" \
                         aria-label=\"Remove {name}\">Remove</button></form>",
                        csrf = escape(v.csrf),
                        id = escape(&k.credential_id),
                        name = escape(&k.name),
                    )
                } else {
                    String::new()
                };
                format!(
                    "<tr><td><strong>{name}</strong><br><span class=\"muted\">added {added}, \
                     {used}</span></td><td>{remove}</td></tr>",
                    name = escape(&k.name),
                    added = day(k.created_at),
                )
            })
            .collect();
        format!("<table class=\"keys\" aria-label=\"Your passkeys\">{rows}</table>")
    };
    if !v.recent {
        return intro;
    }
    format!(
        "{intro}<form id=\"add-passkey\" method=\"post\" action=\"account\" hidden>\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"action\" value=\"add_passkey\">\
         <input type=\"hidden\" name=\"challenge_id\" value=\"\">\
         <input type=\"hidden\" name=\"credential\" value=\"\">\
         <label for=\"passkey-name\">Name of the new passkey</label>\
         <input id=\"passkey-name\" name=\"name\" maxlength=\"64\" placeholder=\"Phone\">\
         <button type=\"submit\">Add a passkey</button></form>\
         <p id=\"passkey-error\" class=\"error\" role=\"alert\" hidden></p>\
         <script src=\"static/passkeys.js\" defer></script>",
        csrf = escape(v.csrf),
    )
}

/// What a scope lets a client see, in words a person understands.
fn describe_scope(scope: &str) -> &str {
    match scope {
        "openid" => "Know who you are",
        "profile" => "See your name and username",
        "email" => "See your email address",
        "groups" => "See which groups you are in",
        "offline_access" => "Stay signed in when you are away",
        other => other,
    }
}

/// The consent page: what the client asks for, and a form to allow or deny it.
pub(super) fn consent(client_id: &str, request: &str, csrf: &str, scopes: &[&str]) -> String {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(describe_scope(s))))
        .collect();
    let body = format!(
        "<h1>Allow access?</h1><p><strong>{client}</strong> would like to:</p><ul>{items}</ul>\
         <form method=\"post\" action=\"consent\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>\
         </form>",
        client = escape(client_id),
        csrf = escape(csrf),
        request = escape(request),
    );
    page("Allow access?", &body)
}

/// The form a signed-in person types a device's code into. `code` prefills it (from the
/// link the device showed), `error` says what was wrong with the last one.
pub(super) fn device_entry(csrf: &str, code: &str, error: Option<&str>) -> String {
    let error = alert(error);
    let body = format!(
        "<h1>Connect a device</h1>\
         <p>Enter the code your device shows to sign it in with your account.</p>{error}\
         <form method=\"post\" action=\"device\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"user_code\">Code</label>\
         <input id=\"user_code\" name=\"user_code\" value=\"{code}\" required autofocus \
         autocomplete=\"off\" autocapitalize=\"characters\" spellcheck=\"false\" \
         placeholder=\"WDJB-MJHT\" aria-describedby=\"code-help\">\
         <p id=\"code-help\" class=\"muted\">8 letters; dashes and case do not matter.</p>\
         <button type=\"submit\">Continue</button></form>",
        csrf = escape(csrf),
        code = escape(code),
    );
    page("Connect a device", &body)
}

/// Asks the person whether the device showing `code` may sign in as them to `client`, with
/// what it asks for. It warns against approving a code someone else sent them: that is how a
/// device sign-in is phished (RFC 8628 §5.4).
pub(super) fn device_confirm(
    client: &str,
    code: &str,
    scopes: &[&str],
    csrf: &str,
    user_code: &str,
) -> String {
    let items: String = scopes
        .iter()
        .map(|s| format!("<li>{}</li>", escape(describe_scope(s))))
        .collect();
    let body = format!(
        "<h1>Sign in on your device?</h1>\
         <p>A device is asking to use <strong>{client}</strong> as you. Check that it shows \
         <strong class=\"code\">{code}</strong>.</p><p>It will be able to:</p><ul>{items}</ul>\
         <p class=\"muted\">Only allow this if you started the sign-in yourself, on a device \
         you have with you. If someone sent you this code, deny it.</p>\
         <form method=\"post\" action=\"device/answer\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"user_code\" value=\"{user_code}\">\
         <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
         <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button>\
         </form>",
        client = escape(client),
        code = escape(code),
        csrf = escape(csrf),
        user_code = escape(user_code),
    );
    page("Sign in on your device?", &body)
}

/// What the person sees once they answered a device.
pub(super) fn device_done(client: &str, allowed: bool) -> String {
    let (title, text) = if allowed {
        (
            "Your device is signed in",
            format!(
                "<strong>{}</strong> on your device is now signed in as you. You can close this \
                 window and go back to the device.",
                escape(client)
            ),
        )
    } else {
        (
            "The device was not signed in",
            "You denied the request, so the device got no access. You can close this window."
                .to_owned(),
        )
    };
    page(title, &format!("<h1>{title}</h1><p>{text}</p>"))
}

/// Asks before signing out when the request cannot prove it comes from the user's application
/// (no valid `id_token_hint`): a logout link on another site must not sign people out.
pub(super) fn logout_confirm(request: &str, csrf: &str) -> String {
    let body = format!(
        "<h1>Sign out?</h1><p>Do you want to sign out of gatehouse?</p>\
         <form method=\"post\" action=\"logout\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <button type=\"submit\" name=\"confirm\" value=\"yes\">Sign out</button></form>",
        csrf = escape(csrf),
        request = escape(request),
    );
    page("Sign out?", &body)
}

pub(super) fn signed_out() -> String {
    page(
        "Signed out",
        "<h1>You are signed out</h1><p>You can close this window.</p>",
    )
}

/// An error page as a person needs it: what happened in plain words, what to do next (with a
/// link where there is somewhere safe to go), and the protocol detail last, for whoever debugs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ErrorPage {
    pub title: &'static str,
    pub what_happened: &'static str,
    pub what_next: &'static str,
    /// `(text, href)`: only ever a link to gatehouse itself.
    pub link: Option<(&'static str, String)>,
    /// The OAuth error code and description, for an administrator.
    pub detail: Option<String>,
}

/// Which flow an error interrupted: the words differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    SignIn,
    SignOut,
}

impl ErrorPage {
    /// The page for a request gatehouse refused, and its status.
    pub(super) fn for_error(flow: Flow, e: &OAuthError) -> (StatusCode, ErrorPage) {
        let detail = Some(format!("{}: {}", e.code(), e.description()));
        let (status, title, what_happened, what_next) = match (e, flow) {
            (OAuthError::TemporarilyUnavailable(_), _) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Gatehouse is busy",
                "Your request could not be finished just now, and nothing was changed.",
                "Wait a moment, then go back to the application and try again.",
            ),
            (OAuthError::ServerError(_), _) => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "Something went wrong",
                "Gatehouse could not finish your request.",
                "Try again in a few minutes. If it keeps happening, tell your administrator.",
            ),
            (_, Flow::SignIn) => (
                StatusCode::BAD_REQUEST,
                "This sign-in link does not work",
                "The application that sent you here asked for something gatehouse cannot do, \
                 so you were not signed in to it.",
                "Go back to the application and try again. If it keeps happening, tell the \
                 application's administrator what is shown below.",
            ),
            (_, Flow::SignOut) => (
                StatusCode::BAD_REQUEST,
                "This sign-out link does not work",
                "The link that brought you here is not valid, so gatehouse did not sign you out.",
                "To sign out, use the application's sign-out button again, or close your browser.",
            ),
        };
        let page = ErrorPage {
            title,
            what_happened,
            what_next,
            link: None,
            detail,
        };
        (status, page)
    }

    pub(super) fn render(&self) -> String {
        let link = self
            .link
            .as_ref()
            .map(|(text, href)| {
                format!(
                    "<p><a class=\"button\" href=\"{}\">{}</a></p>",
                    escape(href),
                    escape(text)
                )
            })
            .unwrap_or_default();
        let detail = self
            .detail
            .as_ref()
            .map(|d| {
                format!(
                    "<p class=\"muted\">Detail for the administrator: <code>{}</code></p>",
                    escape(d)
                )
            })
            .unwrap_or_default();
        page(
            self.title,
            &format!(
                "<h1>{}</h1><p>{}</p><p>{}</p>{link}{detail}",
                escape(self.title),
                escape(self.what_happened),
                escape(self.what_next),
            ),
        )
    }
}

/// The page for a signed-in person outside the groups that may use `client`. `back` is the
/// client's registered redirect URI carrying `error=access_denied`, so the application learns
/// what happened when the person goes back.
pub(super) fn no_access(client: &str, back: Option<&str>) -> String {
    let link = back
        .map(|href| {
            format!(
                "<p><a class=\"button\" href=\"{}\">Back to {}</a></p>",
                escape(href),
                escape(client)
            )
        })
        .unwrap_or_default();
    let title = format!("You don't have access to {client}");
    page(
        &title,
        &format!(
            "<h1>{}</h1><p>You are signed in, but your account is not in a group that may use \
             this application.</p><p>Ask your administrator for access.</p>{link}",
            escape(&title)
        ),
    )
}

/// The answer to an address gatehouse has no page for (a mistyped or outdated link), instead
/// of an empty 404 that a browser replaces with its own error screen.
pub(super) async fn not_found() -> Response {
    let page = ErrorPage {
        title: "There is no page here",
        what_happened: "The address may be mistyped, or the link that brought you here is out \
                        of date.",
        what_next: "Go back to the application you were using and sign in from there.",
        link: None,
        detail: None,
    };
    respond(StatusCode::NOT_FOUND, page.render())
}

/// The answer to a form whose CSRF cookie is gone or does not match (it was opened too long
/// ago, in another browser, or by another site). `restart` is gatehouse's own URL that starts
/// the same request again, when the form said what it was.
pub(super) fn expired_form(restart: Option<String>) -> Response {
    let page = ErrorPage {
        title: "This form has expired",
        what_happened: "It was opened too long ago or in another window, so it was not sent.",
        what_next: "Start again: you will see a fresh form.",
        link: restart.map(|href| ("Start again", href)),
        detail: None,
    };
    respond(StatusCode::BAD_REQUEST, page.render())
}

/// An HTML response that is never cached and never framed (clickjacking), whose forms may
/// only post to gatehouse itself.
pub(super) fn respond(status: StatusCode, html: String) -> Response {
    respond_with_form_target(status, html, None)
}

/// Like [`respond`], for a page whose form is answered with a redirect to `destination` (the
/// client's redirect URI after sign-in or consent, its post-logout URI after sign-out).
/// Browsers apply CSP `form-action` to every redirect that follows a form submission
/// (CSP Level 3 §6.3.1.1; Chromium enforces it), so the destination's origin must be allowed
/// too, or the browser stops on gatehouse's page after the person clicked.
pub(super) fn respond_with_form_target(
    status: StatusCode,
    html: String,
    destination: Option<&str>,
) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let form_action = match destination.and_then(form_action_source) {
        Some(source) => format!("'self' {source}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
         img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    // A source expression is built only from a parsed URL's scheme, host and port, which
    // cannot hold the characters a header value forbids; `self` is the fallback all the same.
    let value = HeaderValue::from_str(&csp).unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        )
    });
    h.insert(header::CONTENT_SECURITY_POLICY, value);
    r
}

/// The CSP source expression (CSP Level 3 §2.3.1) that matches a redirect to `uri`: its origin
/// for http(s) (any port for a loopback host, which native apps pick at run time, RFC 8252
/// §7.3), or its scheme alone for a native app's private-use scheme (`com.example.app:`).
pub(super) fn form_action_source(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    match u.scheme() {
        "http" | "https" => {
            let host = u.host()?;
            if crate::oidc::redirect::is_loopback_ip(&host) {
                Some(format!("{}://{}:*", u.scheme(), host))
            } else {
                Some(u.origin().ascii_serialization())
            }
        }
        scheme => Some(format!("{scheme}:")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_table() {
        let cases = [
            ("plain", "plain"),
            ("<script>", "&lt;script&gt;"),
            ("a\"b'c&d", "a&quot;b&#39;c&amp;d"),
        ];
        for (input, expected) in cases {
            assert_eq!(escape(input), expected);
        }
    }

    #[test]
    fn form_action_sources() {
        let cases = [
            ("https://app.example/cb?x=1", Some("https://app.example")),
            (
                "https://app.example:8443/cb",
                Some("https://app.example:8443"),
            ),
            ("http://127.0.0.1:9000/cb", Some("http://127.0.0.1:*")),
            ("http://[::1]/cb", Some("http://[::1]:*")),
            ("http://localhost:3000/cb", Some("http://localhost:3000")),
            ("com.example.app:/oauth", Some("com.example.app:")),
            ("not a uri", None),
        ];
        for (uri, expected) in cases {
            assert_eq!(form_action_source(uri).as_deref(), expected, "{uri}");
        }
    }

    #[test]
    fn a_page_may_post_to_itself_and_be_redirected_to_its_destination_only() {
        let csp = |r: &Response| {
            r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .to_owned()
        };
        let plain = respond(StatusCode::OK, String::new());
        assert!(csp(&plain).contains("form-action 'self';"));
        let form = respond_with_form_target(
            StatusCode::OK,
            String::new(),
            Some("https://app.example/callback"),
        );
        assert!(csp(&form).contains("form-action 'self' https://app.example;"));
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-store");
    }

    #[test]
    fn the_login_form_escapes_what_it_echoes() {
        let html = login(
            "app\"><script>",
            &[("request", "a=1&b=<x>")],
            "tok",
            "<img>",
            Some("<b>"),
            true,
        );
        assert!(!html.contains("<script>") && !html.contains("<img>") && !html.contains("<b>"));
        // The passkey form carries the same fields, escaped the same.
        assert_eq!(html.matches("value=\"a=1&amp;b=&lt;x&gt;\"").count(), 2);
        assert!(html.contains("name=\"csrf\" value=\"tok\""));
        assert!(html.contains("value=\"a=1&amp;b=&lt;x&gt;\""));
    }
}
