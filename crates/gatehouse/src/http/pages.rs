//! The pages gatehouse shows people: login, consent, logout confirmation, signed out, and
//! errors. Plain, accessible HTML with inline styles and no external assets.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};

/// Escapes text for HTML element content and double-quoted attributes. Five characters are all
/// HTML needs escaped here, which is why this is not a template engine.
pub fn escape(s: &str) -> String {
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
main{max-width:22rem;margin:8vh auto;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.9rem 0 .3rem;font-weight:600}\
input{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #8a93a6;border-radius:.3rem}\
input:focus{outline:3px solid #4d7cfe;outline-offset:1px}\
button{margin-top:1.3rem;width:100%;padding:.7rem;font-size:1rem;background:#2f5bd8;color:#fff;border:0;border-radius:.3rem;cursor:pointer}\
.error{background:#fdecec;color:#8a1c1c;padding:.6rem;border-radius:.3rem}.muted{color:#5b6477;font-size:.9rem}\
button.secondary{background:#fff;color:#2f5bd8;border:1px solid #2f5bd8}ul{padding-left:1.2rem}";

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\
         <title>{title}</title><style>{STYLE}</style></head><body><main>{body}</main></body></html>",
        title = escape(title)
    )
}

/// The login form. `request` is the authorization request's query string, carried through the
/// form so the POST can validate it again; `csrf` matches the CSRF cookie.
pub fn login(
    client_id: &str,
    request: &str,
    csrf: &str,
    username: &str,
    error: Option<&str>,
) -> String {
    let error = error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<h1>Sign in</h1><p class=\"muted\">to continue to <strong>{client}</strong></p>{error}\
         <form method=\"post\" action=\"login\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"request\" value=\"{request}\">\
         <label for=\"username\">Username</label>\
         <input id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus value=\"{username}\">\
         <label for=\"password\">Password</label>\
         <input id=\"password\" name=\"password\" type=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>",
        client = escape(client_id),
        csrf = escape(csrf),
        request = escape(request),
        username = escape(username),
    );
    page("Sign in", &body)
}

/// What a scope lets a client see, in words a person understands.
fn describe_scope(scope: &str) -> &str {
    match scope {
        "openid" => "Know who you are",
        "profile" => "See your name and username",
        "email" => "See your email address",
        "offline_access" => "Stay signed in when you are away",
        other => other,
    }
}

/// The consent page: what the client asks for, and a form to allow or deny it.
pub fn consent(client_id: &str, request: &str, csrf: &str, scopes: &[&str]) -> String {
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

/// Asks before signing out when the request cannot prove it comes from the user's application
/// (no valid `id_token_hint`): a logout link on another site must not sign people out.
pub fn logout_confirm(request: &str, csrf: &str) -> String {
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

pub fn signed_out() -> String {
    page(
        "Signed out",
        "<h1>You are signed out</h1><p>You can close this window.</p>",
    )
}

pub fn error(title: &str, detail: &str) -> String {
    page(
        title,
        &format!("<h1>{}</h1><p>{}</p>", escape(title), escape(detail)),
    )
}

/// An HTML response that is never cached and never framed (clickjacking).
pub fn respond(status: StatusCode, html: String) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"),
    );
    r
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
    fn the_login_form_escapes_what_it_echoes() {
        let html = login("app\"><script>", "a=1&b=<x>", "tok", "<img>", Some("<b>"));
        assert!(!html.contains("<script>") && !html.contains("<img>") && !html.contains("<b>"));
        assert!(html.contains("name=\"csrf\" value=\"tok\""));
        assert!(html.contains("value=\"a=1&amp;b=&lt;x&gt;\""));
    }
}
