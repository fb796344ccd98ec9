//! Cookies: the login session, and the browser's form cookie that form tokens are bound to.

use axum_extra::extract::cookie::{Cookie, SameSite};

/// The names of gatehouse's cookies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieNames {
    /// Holds the session secret.
    pub session: &'static str,
    /// A random value per browser, which login and sign-out form tokens are bound to.
    pub form: &'static str,
    /// The language the person who signed in last in this browser chose (their account's),
    /// which the pages speak before anything else asks.
    pub language: &'static str,
    /// A random value the browser keeps for a year from each sign-in, so that a sign-in from a
    /// browser new to a person is told to them (`auth::notices::for_sign_in`).
    pub browser: &'static str,
}

/// The cookie names for an issuer. With `Secure` cookies they carry the `__Host-` prefix: a
/// browser then accepts them only when set with Secure, Path=/ and no Domain, so neither a
/// sibling domain nor a plain-http page can plant one (RFC 6265bis §4.1.3.2).
pub fn cookie_names(secure: bool) -> CookieNames {
    if secure {
        CookieNames {
            session: "__Host-gatehouse_session",
            form: "__Host-gatehouse_form",
            language: "__Host-gatehouse_language",
            browser: "__Host-gatehouse_browser",
        }
    } else {
        CookieNames {
            session: "gatehouse_session",
            form: "gatehouse_form",
            language: "gatehouse_language",
            browser: "gatehouse_browser",
        }
    }
}

/// A cookie gatehouse sets: HttpOnly, SameSite=Lax, path `/`, Secure unless the issuer is plain
/// http on a loopback host (a developer's laptop).
pub fn cookie(
    name: &'static str,
    value: String,
    secure: bool,
    max_age_secs: Option<i64>,
) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Lax);
    c.set_path("/");
    c.set_secure(secure);
    if let Some(age) = max_age_secs {
        c.set_max_age(time::Duration::seconds(age));
    }
    c
}

/// How long the browser cookie lasts: a year, renewed at every sign-in.
pub const BROWSER_COOKIE_AGE: i64 = 365 * 86_400;

/// Whether `value`, sent in the browser cookie, is one gatehouse could have set (43 characters
/// of base64url, `oidc::tokens::generate`): anything else is replaced by a new one.
pub fn is_browser_id(value: &str) -> bool {
    value.len() == 43
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A session's last use is written at most this often: the idle timeout needs minutes, not a
/// write per request.
pub const TOUCH_AFTER: i64 = 60;

/// Whether the session has been idle for `idle_timeout` seconds at `now`.
pub fn is_idle(last_seen_at: i64, now: i64, idle_timeout: i64) -> bool {
    now - last_seen_at >= idle_timeout
}

/// Whether this use of the session should be recorded.
pub fn needs_touch(last_seen_at: i64, now: i64) -> bool {
    now - last_seen_at >= TOUCH_AFTER
}

/// Whether cookies must be `Secure` for this issuer.
pub fn secure_for(issuer: &url::Url) -> bool {
    !(issuer.scheme() == "http"
        && matches!(issuer.host_str(), Some("localhost" | "127.0.0.1" | "[::1]")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_browser_id_is_one_gatehouse_could_have_made() {
        let made = crate::oidc::tokens::generate();
        assert!(is_browser_id(&made), "{made}");
        for other in [
            "",
            "short",
            &made[1..],
            &format!("{made}A"),
            &format!("{}=", &made[1..]),
            &format!("{};", &made[1..]),
            &"é".repeat(21),
            &"A".repeat(4096),
        ] {
            assert!(!is_browser_id(other), "{other:?}");
        }
    }

    #[test]
    fn idle_timeout_and_touching() {
        assert!(!is_idle(1000, 1000 + 1799, 1800));
        assert!(is_idle(1000, 1000 + 1800, 1800));
        assert!(!needs_touch(1000, 1059));
        assert!(needs_touch(1000, 1060));
    }

    #[test]
    fn secure_cookies_have_host_prefixed_names() {
        assert_eq!(cookie_names(true).session, "__Host-gatehouse_session");
        assert_eq!(cookie_names(false).form, "gatehouse_form");
        // The prefix is only valid with the attributes a `cookie()` has.
        let c = cookie(cookie_names(true).session, "v".into(), true, None);
        assert_eq!(c.path(), Some("/"));
        assert_eq!(c.secure(), Some(true));
        assert_eq!(c.domain(), None);
    }

    #[test]
    fn secure_unless_plain_http_on_loopback() {
        let cases = [
            ("https://sso.example", true),
            ("http://sso.example", true),
            ("http://127.0.0.1:8080", false),
            ("http://localhost:8080", false),
            ("https://localhost:8443", true),
        ];
        for (issuer, secure) in cases {
            assert_eq!(
                secure_for(&url::Url::parse(issuer).unwrap()),
                secure,
                "{issuer}"
            );
        }
    }
}
