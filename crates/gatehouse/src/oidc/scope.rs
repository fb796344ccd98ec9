//! Scopes (RFC 6749 §3.3): space-delimited, order-insensitive.

/// The scopes gatehouse knows.
pub const SUPPORTED: &[&str] = &["openid", "profile", "email", "offline_access"];

/// The scopes of a space-delimited string, without duplicates, in order of first appearance.
pub fn parse(s: &str) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for part in s.split(' ').filter(|p| !p.is_empty()) {
        if !out.contains(&part) {
            out.push(part);
        }
    }
    out
}

/// The canonical form: deduplicated, single spaces.
pub fn normalize(s: &str) -> String {
    parse(s).join(" ")
}

pub fn contains(s: &str, scope: &str) -> bool {
    parse(s).contains(&scope)
}

/// Every scope of `a` and of `b`, in canonical form.
pub fn union(a: &str, b: &str) -> String {
    let mut all = parse(a);
    for s in parse(b) {
        if !all.contains(&s) {
            all.push(s);
        }
    }
    all.join(" ")
}

/// Whether every scope of `requested` is in `granted` (RFC 6749 §6: a refresh may narrow).
pub fn is_subset(requested: &str, granted: &str) -> bool {
    let granted = parse(granted);
    parse(requested).iter().all(|s| granted.contains(s))
}

/// RFC 6749 §3.3: the requested scopes, if every one is known and allowed for the client.
/// `Err` names the first one that is not.
pub fn check<'a>(requested: &'a str, allowed: &[String]) -> Result<Vec<&'a str>, &'a str> {
    let scopes = parse(requested);
    for s in &scopes {
        if !SUPPORTED.contains(s) || !allowed.iter().any(|a| a == s) {
            return Err(s);
        }
    }
    Ok(scopes)
}

/// RFC 6749 §3.3 scope-token syntax: printable ASCII except space, `"` and `\`.
pub fn is_valid_syntax(s: &str) -> bool {
    s.bytes()
        .all(|b| b == b' ' || (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allowed(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parsing_table() {
        let cases: [(&str, &[&str]); 4] = [
            ("openid profile", &["openid", "profile"]),
            ("  openid   openid email ", &["openid", "email"]),
            ("", &[]),
            ("profile openid", &["profile", "openid"]),
        ];
        for (input, expected) in cases {
            assert_eq!(parse(input), expected, "{input:?}");
        }
    }

    #[test]
    fn checking_against_what_the_client_may_ask() {
        let client = allowed(&["openid", "profile", "offline_access"]);
        assert_eq!(
            check("openid profile", &client),
            Ok(vec!["openid", "profile"])
        );
        assert_eq!(
            check("openid email", &client),
            Err("email"),
            "not allowed for this client"
        );
        assert_eq!(
            check("openid admin", &allowed(&["openid", "admin"])),
            Err("admin"),
            "unknown to the server"
        );
    }

    #[test]
    fn narrowing_on_refresh() {
        assert!(is_subset("openid", "openid profile"));
        assert!(is_subset("profile openid", "openid profile"));
        assert!(!is_subset("openid email", "openid profile"));
        assert!(is_subset("", "openid"));
    }

    #[test]
    fn union_keeps_each_scope_once() {
        assert_eq!(
            union("openid profile", "profile email"),
            "openid profile email"
        );
        assert_eq!(union("", "openid"), "openid");
        assert_eq!(union("openid", ""), "openid");
    }

    #[test]
    fn syntax() {
        assert!(is_valid_syntax("openid profile"));
        assert!(!is_valid_syntax("openid \"x\""));
        assert!(!is_valid_syntax("openid\tprofile"));
    }
}
