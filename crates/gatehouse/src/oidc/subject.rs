//! Pairwise subject identifiers (OpenID Connect Core §8.1): the `sub` a client is given for
//! a person, when that client must not be able to match its people with another's.
//!
//! A client with **public** subjects (the default) is given the person's id, the same for
//! every client. A client with **pairwise** subjects is given, for the same person, an id of
//! its *sector* alone: the base64url of HMAC-SHA-256, under a key of the deployment (kept in
//! the store and in exports, shared by every instance), of the sector and the person's id.
//! Clients of one sector (an organisation's web application and its mobile one) see one
//! `sub` for a person; clients of two sectors see two, which neither can link to the other
//! or to the person's id. Nothing is stored per person: a `sub` is made again whenever one
//! is needed, and is the same every time.
//!
//! A client's sector is fixed when it is given pairwise subjects ([`sector`]): the name an
//! administrator gives, or the one host its redirect URIs name. It is kept with the client,
//! so adding a redirect URI later never changes what its people's `sub`s are.
//!
//! Decided here: a client's sector ([`sector`]), and the `sub` of a person for a client
//! ([`SubjectKey::of`]).

use std::borrow::Cow;

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::model::SubjectType;

/// The name of the key among the deployment's secrets.
pub const KEY_NAME: &str = "pairwise-subject";
/// The longest sector name an administrator gives (a DNS name's longest).
pub const MAX_SECTOR: usize = 253;

/// The key pairwise subjects are made with: 256 random bits, from the store.
#[derive(Clone)]
pub struct SubjectKey(hmac::Key);

impl std::fmt::Debug for SubjectKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SubjectKey(..)")
    }
}

impl SubjectKey {
    pub fn new(secret: &[u8]) -> SubjectKey {
        SubjectKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The `sub` a client of `sector` (its `pairwise_sector`) is given for the person whose
    /// id is `user_id`: that id for a client with public subjects (no sector), the pairwise
    /// one of its sector otherwise. A `sub` a client sends back (an `id_token_hint`, a
    /// requested `sub`) names the person whose `sub` this is, and nobody else.
    pub fn of<'a>(&self, sector: Option<&str>, user_id: &'a str) -> Cow<'a, str> {
        match sector {
            None => Cow::Borrowed(user_id),
            Some(sector) => Cow::Owned(self.pairwise(sector, user_id)),
        }
    }

    fn pairwise(&self, sector: &str, user_id: &str) -> String {
        // Neither a sector nor an id holds a NUL: the two never run into each other.
        let mut context = hmac::Context::with_key(&self.0);
        for part in [
            b"gatehouse pairwise subject\0".as_slice(),
            sector.as_bytes(),
            b"\0",
            user_id.as_bytes(),
        ] {
            context.update(part);
        }
        URL_SAFE_NO_PAD.encode(context.sign().as_ref())
    }
}

/// Why a client cannot have the pairwise subjects asked for.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SectorProblem {
    #[error(
        "a sector is 1 to {MAX_SECTOR} characters of letters, digits, '-', '_', '.' or '~', \
         such as the host name of the organisation's applications"
    )]
    Name,
    #[error(
        "its redirect URIs name several hosts ({0}): give its sector (sector_identifier), the \
         same for every client that is to see the same subjects"
    )]
    SeveralHosts(String),
    #[error(
        "it has no redirect URI on a host of its own (an https URL): give its sector \
         (sector_identifier)"
    )]
    NoHost,
    #[error("a sector is only for a client with pairwise subjects (subject_type pairwise)")]
    SectorWithoutPairwise,
}

/// The sector of a client with pairwise subjects, fixed when they are asked for: `given` (an
/// administrator's name for it) when there is one, or else the one host its `redirect_uris`
/// name, leaving out loopback addresses (which every native application shares) and
/// private-use schemes (which have no host). `None` for public subjects. A client's `current`
/// sector given again is kept as it is, whatever it is (a form sends back what it shows, and
/// a host taken from a redirect URI need not be a name an administrator could give).
///
/// # Errors
/// A given name that is not one; redirect URIs naming several hosts, or none, without a
/// given name; a name given for public subjects.
pub fn sector(
    subjects: SubjectType,
    given: Option<&str>,
    current: Option<&str>,
    redirect_uris: &[String],
) -> Result<Option<String>, SectorProblem> {
    match (subjects, given) {
        (SubjectType::Pairwise, Some(name)) if Some(name) == current => Ok(Some(name.to_owned())),
        (SubjectType::Public, None) => Ok(None),
        (SubjectType::Public, Some(_)) => Err(SectorProblem::SectorWithoutPairwise),
        (SubjectType::Pairwise, Some(name)) => {
            if crate::text::is_unreserved_name(name, MAX_SECTOR) {
                Ok(Some(name.to_owned()))
            } else {
                Err(SectorProblem::Name)
            }
        }
        (SubjectType::Pairwise, None) => {
            let mut hosts: Vec<String> = redirect_uris
                .iter()
                .filter_map(|uri| url::Url::parse(uri).ok())
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .filter_map(|u| u.host_str().map(str::to_owned))
                .filter(|h| !matches!(h.as_str(), "localhost" | "127.0.0.1" | "[::1]"))
                .collect();
            hosts.sort();
            hosts.dedup();
            match hosts.as_slice() {
                [one] => Ok(Some(one.clone())),
                [] => Err(SectorProblem::NoHost),
                several => Err(SectorProblem::SeveralHosts(several.join(", "))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_sees_its_sectors_subject() {
        let key = SubjectKey::new(&[7; 32]);
        let (public, shop, news) = (None, Some("shop.example"), Some("news.example"));

        assert_eq!(key.of(public, "u-1"), "u-1", "public: the person's id");
        let sub = key.of(shop, "u-1");
        assert_eq!(
            sub,
            key.of(shop, "u-1"),
            "one sector, one subject, every time"
        );
        assert_eq!(sub.len(), 43, "256 bits, base64url");
        assert!(
            sub.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(sub, "u-1", "not the person's id");
        assert_ne!(sub, key.of(news, "u-1"), "another sector, another subject");
        assert_ne!(sub, key.of(shop, "u-2"), "another person, another subject");
        assert_ne!(
            sub,
            SubjectKey::new(&[8; 32]).of(shop, "u-1"),
            "another deployment, another subject"
        );
        // The sector and the id do not run into each other.
        assert_ne!(
            key.of(Some("shop.ex"), "ample-u"),
            key.of(Some("shop.example"), "-u")
        );
        assert_ne!(
            key.of(Some("shop"), ".example"),
            key.of(Some("shop."), "example")
        );
    }

    #[test]
    fn a_sector_is_given_or_the_one_host() {
        use SubjectType::{Pairwise, Public};
        let uris = |u: &[&str]| u.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let web = uris(&["https://app.example/cb", "https://app.example/other"]);
        let (long, huge) = ("a".repeat(254), "a".repeat(100_000));
        // What is asked, and the sector, or words of the refusal.
        type Case<'a> = (
            SubjectType,
            Option<&'a str>,
            Vec<String>,
            Result<Option<&'a str>, &'a str>,
        );
        let cases: Vec<Case<'_>> = vec![
            (Public, None, web.clone(), Ok(None)),
            (Public, Some("app.example"), web.clone(), Err("only for")),
            (Pairwise, None, web.clone(), Ok(Some("app.example"))),
            (
                Pairwise,
                Some("corp.example"),
                web.clone(),
                Ok(Some("corp.example")),
            ),
            (
                Pairwise,
                Some("cloud_app~1"),
                vec![],
                Ok(Some("cloud_app~1")),
            ),
            (
                Pairwise,
                None,
                uris(&["https://a.example/cb", "https://b.example/cb"]),
                Err("several hosts (a.example, b.example)"),
            ),
            (
                Pairwise,
                Some("a.example"),
                uris(&["https://a.example/cb", "https://b.example/cb"]),
                Ok(Some("a.example")),
            ),
            // Loopback and private-use redirects name no host of the client's own.
            (
                Pairwise,
                None,
                uris(&[
                    "http://127.0.0.1:8400/cb",
                    "com.example.app:/cb",
                    "https://app.example/cb",
                ]),
                Ok(Some("app.example")),
            ),
            (
                Pairwise,
                None,
                uris(&[
                    "http://localhost/cb",
                    "http://[::1]/cb",
                    "com.example.app:/cb",
                ]),
                Err("no redirect URI"),
            ),
            (Pairwise, None, vec![], Err("no redirect URI")),
            // Hosts are compared as URLs read them.
            (
                Pairwise,
                None,
                uris(&["https://APP.example/cb", "https://app.example:8443/cb"]),
                Ok(Some("app.example")),
            ),
            (Pairwise, Some(""), web.clone(), Err("1 to 253")),
            (Pairwise, Some("a b"), web.clone(), Err("1 to 253")),
            (Pairwise, Some("..."), web.clone(), Err("1 to 253")),
            (Pairwise, Some("a\0b"), web.clone(), Err("1 to 253")),
            (Pairwise, Some(long.as_str()), web.clone(), Err("1 to 253")),
            (Pairwise, Some(huge.as_str()), web.clone(), Err("1 to 253")),
        ];
        for (subjects, given, redirects, expected) in cases {
            let got = sector(subjects, given, None, &redirects);
            match expected {
                Ok(want) => assert_eq!(
                    got.as_ref().map(Option::as_deref),
                    Ok(want),
                    "{given:?} {redirects:?}"
                ),
                Err(needle) => {
                    let e = got.expect_err(needle).to_string();
                    assert!(e.contains(needle), "{given:?} {redirects:?}: {e}");
                }
            }
        }
        assert_eq!(
            sector(Pairwise, Some(&"a".repeat(MAX_SECTOR)), None, &[]).map(|s| s.map(|s| s.len())),
            Ok(Some(MAX_SECTOR))
        );
        // A host taken from a redirect URI, given back as it is, stays; given as a new name,
        // it is checked as any name; and a sector is never one of public subjects.
        let ipv6 = uris(&["https://[2001:db8::1]/cb"]);
        let derived = sector(Pairwise, None, None, &ipv6).unwrap();
        assert_eq!(derived.as_deref(), Some("[2001:db8::1]"));
        assert_eq!(
            sector(Pairwise, derived.as_deref(), derived.as_deref(), &ipv6),
            Ok(derived.clone())
        );
        assert_eq!(
            sector(Pairwise, derived.as_deref(), None, &ipv6),
            Err(SectorProblem::Name)
        );
        assert_eq!(
            sector(Public, derived.as_deref(), derived.as_deref(), &ipv6),
            Err(SectorProblem::SectorWithoutPairwise)
        );
    }
}
