//! Pushed authorization requests (RFC 9126). A client sends its authorization request to
//! `/par` first, authenticated as at the token endpoint, and gets a `request_uri` that stands
//! for it at `/authorize`: the request's parameters never travel through the browser, where
//! they could be read or changed, and they were checked before the person arrives. The
//! `request_uri` is 256 random bits, kept as its hash with the client's id and the request,
//! used once, within [`EXPIRES_IN`] seconds.

use super::OAuthError;
use super::authorize::Params;
use super::error::invalid_request;
use super::tokens;
use crate::clock::UnixTime;

/// What every `request_uri` of this server starts with (RFC 9126 §2.2).
pub const PREFIX: &str = "urn:ietf:params:oauth:request_uri:";
/// How long a pushed request waits for the browser: the client redirects at once.
pub const EXPIRES_IN: i64 = 60;
/// The longest pushed request kept (its query string), far above any real one.
pub const MAX_REQUEST: usize = 8 * 1024;

/// The authorization request a client pushed, as the query `/authorize` will read: its form
/// without the client's authentication, naming the client that authenticated.
///
/// # Errors
/// `invalid_request` for a `request_uri` among the parameters (§2.1), a `client_id` other than
/// the authenticated client's, or a request longer than [`MAX_REQUEST`].
pub fn pushed_query(form: &[(String, String)], client_id: &str) -> Result<String, OAuthError> {
    let mut pairs: Vec<(&str, &str)> = vec![("client_id", client_id)];
    for (k, v) in form {
        match k.as_str() {
            "request_uri" => {
                return Err(invalid_request(
                    "a pushed request cannot name a request_uri",
                ));
            }
            "client_id" if v != client_id => {
                return Err(invalid_request(
                    "client_id differs from the authenticated client",
                ));
            }
            "client_id" | "client_secret" | "client_assertion" | "client_assertion_type" => {}
            _ => pairs.push((k, v)),
        }
    }
    let query = serde_urlencoded::to_string(&pairs)
        .map_err(|_| invalid_request("the request cannot be encoded"))?;
    if query.len() > MAX_REQUEST {
        return Err(invalid_request(format!(
            "the request is longer than {MAX_REQUEST} bytes"
        )));
    }
    Ok(query)
}

/// The parameter that carries, through the sign-in, the seal of a request `/authorize`
/// accepted as its client pushed or signed it: a form token
/// (`auth::forms::Purpose::SealedRequest`) over the request, so that a step after `/authorize`
/// (the login form, a second factor) can tell that request from one typed into the form, for
/// a client that requires pushed or signed requests (`authorize::Came::Accepted`). Named when
/// only pushed requests were sealed, so that a sign-in under way across an upgrade goes on.
pub const SEAL: &str = "gatehouse_pushed";

/// `request` carried on with its `seal`.
pub fn sealed(request: &str, seal: &str) -> String {
    format!("{request}&{SEAL}={seal}")
}

/// A carried request and its seal, when it ends with one. The seal, a form token, has no `&`.
pub fn unsealed(query: &str) -> Option<(&str, &str)> {
    let (request, seal) = query.rsplit_once(&format!("&{SEAL}="))?;
    (!seal.contains('&')).then_some((request, seal))
}

/// A pushed request as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The client that pushed it.
    pub client_id: String,
    /// The query `/authorize` reads in its place.
    pub request: String,
    pub expires_at: UnixTime,
}

/// Whether `client_id` may take `pushed` at `now`: only the client that pushed it, and only
/// before it expires. Another client's attempt leaves it to its owner.
pub fn may_take(pushed: &Pushed, client_id: &str, now: UnixTime) -> bool {
    pushed.client_id == client_id && now < pushed.expires_at
}

/// A new `request_uri` and the hash it is kept by.
pub fn new_request_uri() -> (String, String) {
    let secret = tokens::generate();
    let hash = tokens::hash(&secret);
    (format!("{PREFIX}{secret}"), hash)
}

/// The pushed request an authorization request names, if it names one: the hash it is kept
/// by and the client it must belong to. Every other parameter of such a request is ignored
/// (§4): the pushed one is the request. A `request_uri` this server did not give names none:
/// `authorize::validate` refuses it (a request object by reference is not supported).
///
/// # Errors
/// `invalid_request` without a `client_id`, or with either repeated.
pub fn named(params: &Params) -> Result<Option<(String, &str)>, OAuthError> {
    let Some(secret) = params
        .one("request_uri")?
        .and_then(|uri| uri.strip_prefix(PREFIX))
    else {
        return Ok(None);
    };
    let client_id = params
        .one("client_id")?
        .ok_or_else(|| invalid_request("the client_id parameter is missing"))?;
    Ok(Some((tokens::hash(secret), client_id)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn a_sealed_request_comes_apart_as_it_was_sealed() {
        let request = "client_id=web&state=a%26b";
        let carried = sealed(request, "1800000000.mac");
        assert_eq!(unsealed(&carried), Some((request, "1800000000.mac")));
        assert_eq!(unsealed(request), None, "not sealed");
        // Only the last seal counts, and one followed by more parameters is none.
        let twice = sealed(&sealed(request, "one"), "two");
        assert_eq!(unsealed(&twice), Some((&*sealed(request, "one"), "two")));
        assert_eq!(unsealed(&format!("{carried}&state=x")), None);
    }

    #[test]
    fn a_pushed_request_is_the_form_without_the_clients_secret() {
        let form = pairs(&[
            ("response_type", "code"),
            ("client_secret", "s3cret"),
            ("client_id", "web"),
            ("redirect_uri", "https://app.example/cb?x=1&y"),
            ("state", "a b"),
        ]);
        let q = pushed_query(&form, "web").unwrap();
        assert_eq!(
            q,
            "client_id=web&response_type=code&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%3Fx%3D1%26y&state=a+b"
        );
        assert_eq!(
            pushed_query(&pairs(&[("scope", "openid")]), "web").unwrap(),
            "client_id=web&scope=openid",
            "the authenticated client is named when the form does not"
        );
        let asserted = pairs(&[
            ("client_assertion_type", "urn:x"),
            ("client_assertion", "a.b.c"),
            ("scope", "openid"),
        ]);
        assert_eq!(
            pushed_query(&asserted, "web").unwrap(),
            "client_id=web&scope=openid",
            "the client's authentication is not part of its request"
        );
        let refused = [
            pairs(&[("request_uri", "urn:x")]),
            pairs(&[("client_id", "other")]),
            pairs(&[("state", &"x".repeat(MAX_REQUEST))]),
        ];
        for form in refused {
            assert!(
                matches!(
                    pushed_query(&form, "web"),
                    Err(OAuthError::InvalidRequest(_))
                ),
                "{form:?}"
            );
        }
    }

    #[test]
    fn only_its_client_takes_a_pushed_request_before_it_expires() {
        let pushed = Pushed {
            client_id: "web".into(),
            request: "client_id=web".into(),
            expires_at: 1_060,
        };
        for (client_id, now, taken) in [
            ("web", 1_000, true),
            ("web", 1_059, true),
            ("web", 1_060, false),
            ("spa", 1_000, false),
            ("WEB", 1_000, false),
        ] {
            assert_eq!(
                may_take(&pushed, client_id, now),
                taken,
                "{client_id} at {now}"
            );
        }
    }

    #[test]
    fn only_this_servers_request_uris_name_a_pushed_request() {
        let params = |p: &[(&str, &str)]| Params::from_pairs(pairs(p));
        let (uri, hash) = new_request_uri();
        assert!(uri.starts_with(PREFIX));
        assert_eq!(
            named(&params(&[("client_id", "web"), ("request_uri", &uri)])).unwrap(),
            Some((hash, "web"))
        );
        assert_eq!(named(&params(&[("client_id", "web")])).unwrap(), None);
        let foreign = params(&[
            ("client_id", "web"),
            ("request_uri", "https://app.example/r"),
        ]);
        assert_eq!(
            named(&foreign).unwrap(),
            None,
            "left to authorize::validate"
        );
        assert!(matches!(
            named(&params(&[("request_uri", &uri)])),
            Err(OAuthError::InvalidRequest(_))
        ));
    }
}
