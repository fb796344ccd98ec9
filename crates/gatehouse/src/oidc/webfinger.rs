//! Issuer discovery by WebFinger (OpenID Connect Discovery 1.0 §2, RFC 7033): asked about an
//! account (`acct:ada@example.com`) or a URL, the answer names this server as its issuer.
//! Applications that find their identity provider from a person's email address ask this way:
//! Tailscale does, at `https://<the address's domain>/.well-known/webfinger`.
//!
//! Every account-shaped resource gets the same answer, whether or not such a person exists: the
//! issuer is public, and an answer that differed would tell who has an account.

use serde::Serialize;

/// The link relation of the OpenID Connect issuer (Discovery §2).
pub const ISSUER_REL: &str = "http://openid.net/specs/connect/1.0/issuer";

/// The longest resource answered: an address is at most 254 characters, a URL for a person
/// no longer than this in practice.
pub const LONGEST_RESOURCE: usize = 512;

/// A JSON Resource Descriptor (RFC 7033 §4.4), as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Jrd {
    pub subject: String,
    pub links: Vec<Link>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Link {
    pub rel: &'static str,
    pub href: String,
}

/// Why a query gets no descriptor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// `400`: no `resource`, more than one, or one too long (RFC 7033 §4.2).
    BadRequest(&'static str),
    /// `404`: a resource of a kind this server says nothing about (not an account, not a URL).
    NotFound,
}

/// The descriptor of the query's `resources` (the `resource` parameter, which must come once)
/// for the link relations `rels` (all, when none is named; RFC 7033 §4.3): its subject as
/// asked, and the issuer link when it is wanted.
///
/// # Errors
/// [`Refusal`], saying why.
pub fn answer(resources: &[&str], rels: &[&str], issuer: &str) -> Result<Jrd, Refusal> {
    let resource = match resources {
        [] => return Err(Refusal::BadRequest("the resource parameter is missing")),
        [one] => *one,
        _ => return Err(Refusal::BadRequest("the resource parameter is repeated")),
    };
    if resource.chars().count() > LONGEST_RESOURCE {
        return Err(Refusal::BadRequest("the resource is too long"));
    }
    if !is_account(resource) && !is_url(resource) {
        return Err(Refusal::NotFound);
    }
    let links = (rels.is_empty() || rels.contains(&ISSUER_REL))
        .then(|| Link {
            rel: ISSUER_REL,
            href: issuer.to_owned(),
        })
        .into_iter()
        .collect();
    Ok(Jrd {
        subject: resource.to_owned(),
        links,
    })
}

/// `acct:user@host` (RFC 7565): a user part and a host, nothing blank or invisible in them.
fn is_account(resource: &str) -> bool {
    let Some(account) = resource.strip_prefix("acct:") else {
        return false;
    };
    let Some((user, host)) = account.rsplit_once('@') else {
        return false;
    };
    let plain = |part: &str| {
        !part.is_empty()
            && !part
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || crate::text::is_invisible(c))
    };
    plain(user) && plain(host) && !host.contains('/')
}

/// An `https` or `http` URL with a host (OpenID Connect Discovery §2.1's URL form).
fn is_url(resource: &str) -> bool {
    url::Url::parse(resource)
        .is_ok_and(|u| matches!(u.scheme(), "https" | "http") && u.host_str().is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUER: &str = "https://id.example.com";

    #[test]
    fn an_account_or_a_url_is_answered_with_the_issuer() {
        for resource in [
            "acct:ada@example.com",
            "acct:juliet%40capulet.example@shopping.example.com",
            "https://example.com/joe",
            "http://example.com:8080/",
        ] {
            let jrd = answer(&[resource], &[], ISSUER).unwrap();
            assert_eq!(jrd.subject, resource);
            assert_eq!(
                jrd.links,
                [Link {
                    rel: ISSUER_REL,
                    href: ISSUER.into()
                }]
            );
            // Naming the issuer's relation, alone or among others, changes nothing.
            let rels = [ISSUER_REL, "http://webfinger.net/rel/avatar"];
            assert_eq!(answer(&[resource], &rels, ISSUER).unwrap(), jrd);
        }
        // Only other relations: the subject, and no link (RFC 7033 §4.3).
        let jrd = answer(
            &["acct:ada@example.com"],
            &["http://webfinger.net/rel/avatar"],
            ISSUER,
        );
        assert_eq!(jrd.unwrap().links, []);
    }

    #[test]
    fn anything_else_is_refused_saying_why() {
        let long = format!("acct:{}@example.com", "a".repeat(LONGEST_RESOURCE));
        let cases: &[(&[&str], Refusal)] = &[
            (
                &[],
                Refusal::BadRequest("the resource parameter is missing"),
            ),
            (
                &["acct:a@example.com", "acct:b@example.com"],
                Refusal::BadRequest("the resource parameter is repeated"),
            ),
            (
                &[long.as_str()],
                Refusal::BadRequest("the resource is too long"),
            ),
            (&["acct:example.com"], Refusal::NotFound),
            (&["acct:@example.com"], Refusal::NotFound),
            (&["acct:ada@"], Refusal::NotFound),
            (&["acct:ada @example.com"], Refusal::NotFound),
            (&["acct:ada@example.com/x"], Refusal::NotFound),
            (&["acct:ada\u{200b}@example.com"], Refusal::NotFound),
            (&["mailto:ada@example.com"], Refusal::NotFound),
            (&["ada@example.com"], Refusal::NotFound),
            (&["ftp://example.com/ada"], Refusal::NotFound),
            (&["https://"], Refusal::NotFound),
            (&[""], Refusal::NotFound),
        ];
        for (resources, refusal) in cases {
            assert_eq!(
                answer(resources, &[], ISSUER),
                Err(*refusal),
                "{resources:?}"
            );
        }
    }
}
