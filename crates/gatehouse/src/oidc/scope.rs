//! Scopes (RFC 6749 §3.3): space-delimited, order-insensitive.

/// The scopes gatehouse knows.
pub const SUPPORTED: &[&str] = &[
    "openid",
    "profile",
    "email",
    "groups",
    "offline_access",
    "admin",
];

/// Scopes that only make sense with a user: never granted to a client acting for itself.
pub const USER_ONLY: &[&str] = &["openid", "offline_access"];

/// Scopes a client gets only for itself (`client_credentials`), never on a user's behalf: the
/// admin API acts with the server's full authority, which no user consent can hand out.
pub const CLIENT_ONLY: &[&str] = &["admin"];

/// Why a requested scope is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRefusal<'a> {
    Unknown(&'a str),
    NotAllowed(&'a str),
    NotForThisGrant(&'a str),
}

impl std::fmt::Display for ScopeRefusal<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ScopeRefusal::Unknown(s) => write!(f, "scope {s:?} is unknown"),
            ScopeRefusal::NotAllowed(s) => write!(f, "scope {s:?} is not allowed for this client"),
            ScopeRefusal::NotForThisGrant(s) => write!(f, "scope {s:?} cannot be granted this way"),
        }
    }
}

/// The scope of a `client_credentials` token (RFC 6749 §4.4.2): what was asked for, or when
/// nothing was, every registered scope a client may hold for itself.
///
/// # Errors
/// The first requested scope that is unknown, not registered for the client, or only for a user.
pub fn for_client<'a>(
    requested: Option<&'a str>,
    allowed: &'a [String],
) -> Result<String, ScopeRefusal<'a>> {
    let Some(requested) = requested else {
        let all: Vec<&str> = allowed
            .iter()
            .map(String::as_str)
            .filter(|s| !USER_ONLY.contains(s))
            .collect();
        return Ok(all.join(" "));
    };
    for s in parse(requested) {
        if !SUPPORTED.contains(&s) {
            return Err(ScopeRefusal::Unknown(s));
        }
        if !allowed.iter().any(|a| a == s) {
            return Err(ScopeRefusal::NotAllowed(s));
        }
        if USER_ONLY.contains(&s) {
            return Err(ScopeRefusal::NotForThisGrant(s));
        }
    }
    Ok(normalize(requested))
}

/// The longest `scope` parameter accepted, in bytes. Every scope gatehouse knows fits in a
/// tenth of it; a longer one is an attack or a bug, refused before anything else looks at it.
pub const MAX_LEN: usize = 1024;
/// The most scope values accepted in one parameter, duplicates included.
pub const MAX_VALUES: usize = 64;

/// The scopes of a space-delimited string, without duplicates, in order of first appearance.
/// Linear in the input: a set remembers what was seen.
pub fn parse(s: &str) -> Vec<&str> {
    let mut seen = std::collections::HashSet::new();
    s.split(' ')
        .filter(|p| !p.is_empty() && seen.insert(*p))
        .collect()
}

/// The canonical form: deduplicated, single spaces.
pub fn normalize(s: &str) -> String {
    parse(s).join(" ")
}

pub fn contains(s: &str, scope: &str) -> bool {
    parse(s).contains(&scope)
}

/// Whether tokens granted `scope` outlive the sign-in session they came from: only with
/// `offline_access` (OpenID Connect Core §11). Without it, the refresh token family is tied
/// to the session and revoked when the session ends.
pub fn outlives_session(scope: &str) -> bool {
    contains(scope, "offline_access")
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
///
/// # Errors
/// The first scope that is unknown or not allowed for the client.
pub fn check<'a>(requested: &'a str, allowed: &[String]) -> Result<Vec<&'a str>, &'a str> {
    let scopes = parse(requested);
    for s in &scopes {
        if !SUPPORTED.contains(s) || !allowed.iter().any(|a| a == s) {
            return Err(s);
        }
    }
    Ok(scopes)
}

/// Checks a `scope` parameter before anything else reads it: its size (at most [`MAX_LEN`]
/// bytes and [`MAX_VALUES`] values, so no request can make scope handling expensive) and RFC
/// 6749 §3.3 scope-token syntax (printable ASCII except space, `"` and `\`). `Err` says why,
/// for the `error_description`.
///
/// # Errors
/// Why the parameter is refused.
pub fn check_syntax(s: &str) -> Result<(), &'static str> {
    if s.len() > MAX_LEN {
        return Err("the scope parameter is too long");
    }
    if s.split(' ')
        .filter(|p| !p.is_empty())
        .nth(MAX_VALUES)
        .is_some()
    {
        return Err("the scope parameter has too many values");
    }
    if !s
        .bytes()
        .all(|b| b == b' ' || (0x21..=0x7e).contains(&b) && b != b'"' && b != b'\\')
    {
        return Err("the scope parameter is malformed");
    }
    Ok(())
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
            check("openid root", &allowed(&["openid", "root"])),
            Err("root"),
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
    fn client_credentials_scopes() {
        let client = allowed(&["openid", "profile", "admin", "offline_access"]);
        assert_eq!(for_client(None, &client), Ok("profile admin".into()));
        assert_eq!(for_client(Some("admin"), &client), Ok("admin".into()));
        assert_eq!(
            for_client(Some("admin openid"), &client),
            Err(ScopeRefusal::NotForThisGrant("openid"))
        );
        assert_eq!(
            for_client(Some("email"), &client),
            Err(ScopeRefusal::NotAllowed("email"))
        );
        assert_eq!(
            for_client(Some("root"), &client),
            Err(ScopeRefusal::Unknown("root"))
        );
        assert_eq!(for_client(None, &allowed(&["openid"])), Ok(String::new()));
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
    fn syntax_and_size() {
        assert_eq!(check_syntax("openid profile"), Ok(()));
        assert!(check_syntax("openid \"x\"").is_err());
        assert!(check_syntax("openid\tprofile").is_err());
        let many = vec!["openid"; MAX_VALUES].join(" ");
        assert_eq!(check_syntax(&many), Ok(()));
        assert_eq!(
            check_syntax(&format!("{many} openid")),
            Err("the scope parameter has too many values")
        );
        assert_eq!(
            check_syntax(&"a".repeat(MAX_LEN + 1)),
            Err("the scope parameter is too long")
        );
    }

    #[test]
    fn parsing_many_distinct_values_is_linear() {
        // 17,000 distinct values: the old quadratic de-duplication took most of a second.
        let many: Vec<String> = (0..17_000).map(|i| format!("s{i}")).collect();
        let joined = many.join(" ");
        let parsed = parse(&joined);
        assert_eq!(parsed.len(), 17_000);
        assert_eq!(parsed[16_999], "s16999");
    }
}
