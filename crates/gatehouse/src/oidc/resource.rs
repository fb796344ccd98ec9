//! Resource indicators (RFC 8707): which APIs an access token is for.
//!
//! An administrator registers the APIs a client's tokens may be for (`Client::resources`,
//! absolute URIs such as `https://api.example.com/`). The client names some of them with the
//! `resource` parameter: at `/authorize` (or `/par`, or in a request object) for what the
//! person's grant covers, then at the token endpoint for what one access token is for, within
//! that grant, again on each refresh. An access token's audience (`aud` of a JWT access token
//! and of introspection's answer) is the resources it is for, or the client's id when the
//! request named none, as before resource indicators.
//!
//! Resources are compared as strings, exactly as registered: `https://api.example.com` and
//! `https://api.example.com/` are two resources, as a resource server checking `aud` would see
//! them.

use super::OAuthError;

/// The most resources a client is registered with, and a request names.
pub const MOST: usize = 16;
/// The longest resource, in bytes.
pub const LONGEST: usize = 1024;

/// Why a URI cannot be a resource indicator (RFC 8707 §2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Problem {
    /// Not an absolute URI, or longer than [`LONGEST`].
    NotAbsolute,
    /// It has a fragment (`#…`).
    Fragment,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Problem::NotAbsolute => {
                "is not an absolute URI (such as https://api.example.com/) of at most 1024 bytes"
            }
            Problem::Fragment => "has a fragment (#…), which a resource indicator may not",
        })
    }
}

/// What keeps `uri` from being a resource indicator: an absolute URI (a scheme, then the
/// rest, which may have a query) without a fragment and without spaces or control
/// characters, at most [`LONGEST`] bytes (RFC 8707 §2).
pub fn problem(uri: &str) -> Option<Problem> {
    let plain = uri.len() <= LONGEST
        && !uri.is_empty()
        && !uri.chars().any(|c| c.is_whitespace() || c.is_control());
    match url::Url::parse(uri) {
        _ if !plain => Some(Problem::NotAbsolute),
        Err(_) => Some(Problem::NotAbsolute),
        Ok(u) if u.fragment().is_some() => Some(Problem::Fragment),
        // `Url::parse` takes "https:api" or "https:/api" as https://api/: a resource is
        // written as it will be compared, so a hierarchical one must say `//`.
        Ok(u) if u.has_host() && !uri[u.scheme().len() + 1..].starts_with("//") => {
            Some(Problem::NotAbsolute)
        }
        Ok(_) => None,
    }
}

/// The resources a request names, each once, in the order named (RFC 8707 §2: the parameter
/// may be repeated; an empty one is none): each a resource indicator, at most [`MOST`]. Read
/// before anything is stored or loaded, so that what a store decides with is small.
///
/// # Errors
/// `invalid_target` for a value that is no resource indicator, or more than [`MOST`].
pub fn asked(values: &[String]) -> Result<Vec<String>, OAuthError> {
    let mut named: Vec<String> = Vec::new();
    for value in values.iter().filter(|v| !v.is_empty()) {
        if let Some(problem) = problem(value) {
            return Err(invalid_target(format!("the resource {value:?} {problem}")));
        }
        if !named.contains(value) {
            if named.len() == MOST {
                return Err(invalid_target(format!(
                    "a request names at most {MOST} resources"
                )));
            }
            named.push(value.clone());
        }
    }
    Ok(named)
}

/// The resources an authorization request (or a client's own token request) names
/// ([`asked`]), each registered for the client.
///
/// # Errors
/// As [`asked`], and `invalid_target` for one the client is not registered with.
pub fn requested(values: &[String], registered: &[String]) -> Result<Vec<String>, OAuthError> {
    let named = asked(values)?;
    if let Some(other) = named.iter().find(|r| !registered.contains(r)) {
        return Err(invalid_target(format!(
            "the client may not ask for tokens for the resource {other:?}"
        )));
    }
    Ok(named)
}

/// The resources an access token is for, at the token endpoint: those the request names
/// ([`asked`]), each among those the grant covers (RFC 8707 §2.2: a token request may narrow
/// the audience, never widen it), or, when it names none, all the grant covers. `None` when
/// it names one the grant does not cover.
pub fn narrowed(asked: &[String], granted: &[String]) -> Option<Vec<String>> {
    if asked.is_empty() {
        return Some(granted.to_vec());
    }
    asked
        .iter()
        .all(|r| granted.contains(r))
        .then(|| asked.to_vec())
}

/// An access token's audience: the resources it is for, or its client's id when it is for
/// none (RFC 9068 §3: the default audience).
pub fn audience(client_id: &str, resources: &[String]) -> Vec<String> {
    if resources.is_empty() {
        vec![client_id.to_owned()]
    } else {
        resources.to_vec()
    }
}

/// A token as introspection sees it: the client it was issued to, whether it is an access
/// token, and the APIs it is for.
#[derive(Debug, Clone, Copy)]
pub struct Introspected<'a> {
    pub client_id: &'a str,
    pub access: bool,
    pub resources: &'a [String],
}

/// Whether the client `caller`, answering for the APIs `answers_for` (`Client::introspects`),
/// may be told what `token` is (RFC 7662 §2.1 leaves it to the server): a token of its own,
/// of any kind; an access token issued to another client for one of those APIs, which is how
/// an API checks the opaque tokens applications send it. Anything else is answered as an
/// unknown token is (`active: false`), so a client learns nothing of others' tokens.
pub fn may_introspect(caller: &str, answers_for: &[String], token: Introspected<'_>) -> bool {
    caller == token.client_id
        || (token.access && token.resources.iter().any(|r| answers_for.contains(r)))
}

/// How the store keeps a set of resources in one text column: separated by spaces, which no
/// resource has ([`problem`]); NULL for none.
pub fn column(resources: &[String]) -> Option<String> {
    (!resources.is_empty()).then(|| resources.join(" "))
}

/// The resources a column written by [`column`] holds.
pub fn split(column: Option<&str>) -> Vec<String> {
    column
        .unwrap_or_default()
        .split(' ')
        .filter(|r| !r.is_empty())
        .map(str::to_owned)
        .collect()
}

fn invalid_target(why: String) -> OAuthError {
    OAuthError::InvalidTarget(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_api_introspects_the_access_tokens_for_it_and_a_client_its_own() {
        let orders = strings(&["https://orders.example/"]);
        let token = |client_id, access, resources| Introspected {
            client_id,
            access,
            resources,
        };
        let for_orders = strings(&["urn:billing", "https://orders.example/"]);
        let for_billing = strings(&["urn:billing"]);
        let cases = [
            ("its own access token", "api", token("api", true, &[]), true),
            (
                "its own refresh token",
                "api",
                token("api", false, &[]),
                true,
            ),
            (
                "another's access token for its API",
                "orders",
                token("shop", true, &for_orders),
                true,
            ),
            (
                "another's token for another API",
                "orders",
                token("shop", true, &for_billing),
                false,
            ),
            (
                "another's token for itself (no API)",
                "orders",
                token("shop", true, &[]),
                false,
            ),
            (
                "another's refresh token, whatever it covers",
                "orders",
                token("shop", false, &for_orders),
                false,
            ),
        ];
        for (name, caller, t, expected) in cases {
            assert_eq!(may_introspect(caller, &orders, t), expected, "{name}");
        }
        // A client that answers for no API introspects its own tokens only.
        let t = token("shop", true, &for_orders);
        assert!(!may_introspect("orders", &[], t));
        // Compared as registered: another spelling of the URI is another API.
        let t = token("shop", true, &for_orders);
        assert!(!may_introspect(
            "orders",
            &strings(&["https://orders.example"]),
            t
        ));
    }

    #[test]
    fn a_resource_is_an_absolute_uri_without_a_fragment() {
        for (uri, expected) in [
            ("https://api.example.com/", None),
            ("https://api.example.com", None),
            ("https://api.example.com/v1?tenant=a", None),
            ("http://localhost:8080/mcp", None),
            ("urn:example:orders", None),
            ("https://api.example.com/#x", Some(Problem::Fragment)),
            ("https://api.example.com/#", Some(Problem::Fragment)),
            ("/api", Some(Problem::NotAbsolute)),
            ("api.example.com", Some(Problem::NotAbsolute)),
            ("https:api.example.com", Some(Problem::NotAbsolute)),
            ("https:/api.example.com", Some(Problem::NotAbsolute)),
            ("", Some(Problem::NotAbsolute)),
            ("https://api.example.com/a b", Some(Problem::NotAbsolute)),
            ("https://api.example.com/\n", Some(Problem::NotAbsolute)),
            (" https://api.example.com/", Some(Problem::NotAbsolute)),
        ] {
            assert_eq!(problem(uri), expected, "{uri:?}");
        }
        let long = format!("https://api.example.com/{}", "a".repeat(LONGEST));
        assert_eq!(problem(&long), Some(Problem::NotAbsolute));
        let longest = format!("https://a.example/{}", "a".repeat(LONGEST - 18));
        assert_eq!((longest.len(), problem(&longest)), (LONGEST, None));
    }

    #[test]
    fn a_request_names_only_resources_registered_for_its_client() {
        let registered = strings(&["https://api.example/", "urn:example:orders"]);
        let ok = |v: &[&str]| requested(&strings(v), &registered);
        assert_eq!(ok(&[]).unwrap(), strings(&[]));
        assert_eq!(ok(&[""]).unwrap(), strings(&[]), "empty is absent");
        assert_eq!(
            ok(&[
                "urn:example:orders",
                "https://api.example/",
                "urn:example:orders"
            ])
            .unwrap(),
            strings(&["urn:example:orders", "https://api.example/"]),
            "each once, in the order named"
        );
        for refused in [
            &["https://api.example"][..],
            &["https://API.example/"],
            &["https://api.example/", "https://other.example/"],
            &["https://api.example/#f"],
            &["not a uri"],
        ] {
            assert!(
                matches!(ok(refused), Err(OAuthError::InvalidTarget(_))),
                "{refused:?}"
            );
        }
        let many: Vec<String> = (0..=MOST).map(|i| format!("urn:r:{i}")).collect();
        assert!(requested(&many[..MOST], &many).is_ok());
        assert!(matches!(
            requested(&many, &many),
            Err(OAuthError::InvalidTarget(_))
        ));
    }

    #[test]
    fn a_token_request_narrows_its_grant_and_never_widens_it() {
        let granted = strings(&["urn:a", "urn:b"]);
        assert_eq!(
            narrowed(&[], &granted),
            Some(granted.clone()),
            "all by default"
        );
        assert_eq!(
            narrowed(&strings(&["urn:b"]), &granted),
            Some(strings(&["urn:b"]))
        );
        assert_eq!(narrowed(&strings(&["urn:a", "urn:c"]), &granted), None);
        assert_eq!(narrowed(&strings(&["urn:a"]), &[]), None);
        assert_eq!(narrowed(&[], &[]), Some(vec![]));
    }

    #[test]
    fn a_request_names_at_most_sixteen_resources_each_well_formed() {
        let many: Vec<String> = (0..MOST).map(|i| format!("urn:r:{i}")).collect();
        assert_eq!(asked(&many).unwrap(), many);
        let again: Vec<String> = many.iter().chain(&many).cloned().collect();
        assert_eq!(asked(&again).unwrap(), many, "a repeated one counts once");
        let more: Vec<String> = (0..=MOST).map(|i| format!("urn:r:{i}")).collect();
        assert!(matches!(asked(&more), Err(OAuthError::InvalidTarget(_))));
        assert!(matches!(
            asked(&strings(&["urn:a", "https://x/#f"])),
            Err(OAuthError::InvalidTarget(_))
        ));
    }

    #[test]
    fn the_audience_is_the_resources_or_else_the_client() {
        assert_eq!(audience("app", &[]), strings(&["app"]));
        assert_eq!(
            audience("app", &strings(&["urn:a", "urn:b"])),
            strings(&["urn:a", "urn:b"])
        );
    }

    #[test]
    fn resources_survive_their_column() {
        for set in [
            strings(&[]),
            strings(&["urn:a"]),
            strings(&["urn:a", "https://b/?x=1"]),
        ] {
            assert_eq!(split(column(&set).as_deref()), set);
        }
        assert_eq!(column(&[]), None);
    }
}
