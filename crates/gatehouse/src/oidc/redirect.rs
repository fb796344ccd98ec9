//! Redirect URIs: compared exactly against the registered ones (RFC 9700 §4.1.3: no prefix, no
//! wildcard, no normalisation), and checked when a client is registered.

/// Whether `uri` is exactly one of `registered`.
pub fn is_registered(uri: &str, registered: &[String]) -> bool {
    registered.iter().any(|r| r == uri)
}

/// Why a redirect URI cannot be registered, or `None` if it can: absolute, http(s) or a
/// private-use scheme for native apps, no fragment (RFC 6749 §3.1.2), and plain http only
/// for loopback hosts (RFC 8252 §7.3).
pub fn registration_problem(uri: &str) -> Option<&'static str> {
    let Ok(parsed) = url::Url::parse(uri) else {
        return Some("not an absolute URI");
    };
    if parsed.fragment().is_some() {
        return Some("a redirect URI must not have a fragment");
    }
    match parsed.scheme() {
        "https" => None,
        "http" => match parsed.host_str() {
            Some("localhost" | "127.0.0.1" | "[::1]") => None,
            _ => Some("plain http is only allowed for localhost, 127.0.0.1 and [::1]"),
        },
        "javascript" | "data" | "file" | "vbscript" => Some("this scheme is not allowed"),
        // Private-use schemes of native apps (RFC 8252 §7.1), e.g. com.example.app:/callback.
        s if s.contains('.') => None,
        _ => Some("use https, http on loopback, or a private-use scheme like com.example.app"),
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
            ("http://127.0.0.1:9001/cb", false),
        ];
        for (uri, expected) in cases {
            assert_eq!(is_registered(uri, &registered), expected, "{uri}");
        }
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
