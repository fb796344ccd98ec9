//! Redirect URIs: compared exactly against the registered ones (RFC 9700 §4.1.3: no prefix, no
//! wildcard, no normalisation), and checked when a client is registered.

/// Whether `uri` is one of `registered`: exactly, or, for a native app's loopback redirect
/// (`http://127.0.0.1` or `http://[::1]`), exactly but for the port, which the app picks when
/// it starts listening (RFC 8252 §7.3). `localhost` is matched exactly: RFC 8252 §8.3 advises
/// against it, as a name may resolve elsewhere.
pub fn is_registered(uri: &str, registered: &[String]) -> bool {
    registered
        .iter()
        .any(|r| r == uri || same_loopback_redirect(uri, r))
}

fn same_loopback_redirect(uri: &str, registered: &str) -> bool {
    let (Ok(a), Ok(b)) = (url::Url::parse(uri), url::Url::parse(registered)) else {
        return false;
    };
    let loopback =
        |u: &url::Url| u.scheme() == "http" && u.host().is_some_and(|h| is_loopback_ip(&h));
    loopback(&a)
        && loopback(&b)
        && a.host() == b.host()
        && a.username() == b.username()
        && a.password() == b.password()
        && a.path() == b.path()
        && a.query() == b.query()
        && a.fragment().is_none()
        // The url crate normalises what it parses (`/a/../b`, default ports): the port-free
        // forms must also be equal as written, so no normalisation widens the match.
        && without_port(uri) == without_port(registered)
}

/// `uri` with the port of its authority removed, as written.
fn without_port(uri: &str) -> String {
    let Some((scheme, rest)) = uri.split_once("://") else {
        return uri.to_owned();
    };
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let host = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    };
    format!("{scheme}://{host}{tail}")
}

/// A loopback IP literal: 127.0.0.0/8 or ::1 (RFC 8252 §7.3).
pub fn is_loopback_ip(host: &url::Host<&str>) -> bool {
    match host {
        url::Host::Ipv4(ip) => ip.is_loopback(),
        url::Host::Ipv6(ip) => ip.is_loopback(),
        url::Host::Domain(_) => false,
    }
}

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationProblem {
    #[error("not an absolute URI")]
    NotAbsolute,
    #[error("a redirect URI must not have a fragment")]
    Fragment,
    #[error("plain http is only allowed for localhost, 127.0.0.1 and [::1]")]
    PlainHttp,
    #[error("this scheme is not allowed")]
    Forbidden,
    #[error("use https, http on loopback, or a private-use scheme like com.example.app")]
    Scheme,
}

/// Why a redirect URI cannot be registered, or `None` if it can: absolute, http(s) or a
/// private-use scheme for native apps, no fragment (RFC 6749 §3.1.2), and plain http only
/// for loopback hosts (RFC 8252 §7.3).
pub fn registration_problem(uri: &str) -> Option<RegistrationProblem> {
    let Ok(parsed) = url::Url::parse(uri) else {
        return Some(RegistrationProblem::NotAbsolute);
    };
    if parsed.fragment().is_some() {
        return Some(RegistrationProblem::Fragment);
    }
    match parsed.scheme() {
        "https" => None,
        "http" => match parsed.host_str() {
            Some("localhost" | "127.0.0.1" | "[::1]") => None,
            _ => Some(RegistrationProblem::PlainHttp),
        },
        "javascript" | "data" | "file" | "vbscript" => Some(RegistrationProblem::Forbidden),
        // Private-use schemes of native apps (RFC 8252 §7.1), e.g. com.example.app:/callback.
        s if s.contains('.') => None,
        _ => Some(RegistrationProblem::Scheme),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_matching_table() {
        let registered = vec![
            "https://app.example/callback".to_owned(),
            "http://127.0.0.1:9000/cb".to_owned(),
        ];
        let cases = [
            ("https://app.example/callback", true),
            ("https://app.example/callback/", false),
            ("https://app.example/callback?x=1", false),
            ("https://app.example/callbackx", false),
            ("https://APP.example/callback", false),
            ("https://app.example/call", false),
            ("http://127.0.0.1:9000/cb", true),
            // RFC 8252 §7.3: a native app's loopback port varies.
            ("http://127.0.0.1:9001/cb", true),
            ("http://127.0.0.1/cb", true),
            ("http://127.0.0.1:9001/cb/", false),
            ("http://127.0.0.1:9001/cb?x=1", false),
            ("http://127.0.0.1:9001/x/../cb", false),
            ("https://127.0.0.1:9001/cb", false),
            ("http://[::1]:9001/cb", false),
            ("http://localhost:9000/cb", false),
        ];
        for (uri, expected) in cases {
            assert_eq!(is_registered(uri, &registered), expected, "{uri}");
        }
        let localhost = vec!["http://localhost:3000/cb".to_owned()];
        assert!(is_registered("http://localhost:3000/cb", &localhost));
        assert!(
            !is_registered("http://localhost:3001/cb", &localhost),
            "a name is matched exactly"
        );
    }

    #[test]
    fn registration_table() {
        let ok = [
            "https://app.example/cb",
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "com.example.app:/oauth",
        ];
        for uri in ok {
            assert_eq!(registration_problem(uri), None, "{uri}");
        }
        let refused = [
            "/relative",
            "https://app.example/cb#frag",
            "http://app.example/cb",
            "javascript:alert(1)",
            "custom:/cb",
        ];
        for uri in refused {
            assert!(registration_problem(uri).is_some(), "{uri}");
        }
    }
}
