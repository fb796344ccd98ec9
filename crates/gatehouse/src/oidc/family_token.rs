//! Refresh tokens that name their family, so reuse detection costs storage per family rather
//! than per rotation (RFC 9700 §4.14.2).
//!
//! A refresh token is `FAMILY.SECRET.MAC`: the family's id (32 hex digits), 256 random bits
//! (base64url, followed by `~` and a key's thumbprint for a token bound to a DPoP key,
//! `oidc::dpop`), and the first 128 bits of HMAC-SHA-256 over both under a key of the
//! deployment (kept in the store, shared by every instance, exported with the deployment).
//! The family's row keeps the hash of its current token and of the one before it (for a
//! retry, `oidc::retry`); nothing is kept per rotation. So, when a token comes back:
//!
//! - its MAC proves gatehouse issued it to that family: a token made up by someone who knows
//!   a family id (it is in audit records) does not verify, and cannot revoke the family;
//! - its hash tells which generation it is: the current one rotates; any other one the MAC
//!   vouches for was rotated before, so it leaked (`refresh_token::generation`);
//! - a reader of the database still cannot mint a token: the store keeps hashes only, and the
//!   secret part of the current token is in no row. With the MAC key too, they could only
//!   make tokens of older generations, which revoke the family they name.
//!
//! Refresh tokens of earlier releases (43 characters, no dots) are still looked up by their
//! hash until they are rotated or expire.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use super::tokens;

/// The name of the key among the deployment's secrets.
pub const KEY_NAME: &str = "refresh-family";

/// The key refresh tokens are authenticated with: 256 random bits, from the store.
#[derive(Clone)]
pub struct FamilyKey(hmac::Key);

impl std::fmt::Debug for FamilyKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FamilyKey(..)")
    }
}

impl FamilyKey {
    pub fn new(secret: &[u8]) -> FamilyKey {
        FamilyKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    fn mac(&self, family_id: &str, secret: &str) -> [u8; tokens::SHORT_MAC] {
        let parts: [&[u8]; 3] = [family_id.as_bytes(), b".", secret.as_bytes()];
        tokens::short_mac(&self.0, b"gatehouse refresh token\0", &parts)
    }

    /// A new refresh token of `family_id` (an id from `tokens::new_id`), bound to the DPoP key
    /// `bound_to` if there is one (its thumbprint follows the random part, `oidc::dpop::bind`,
    /// and the MAC covers it).
    pub fn mint(&self, family_id: &str, bound_to: Option<&str>) -> String {
        let secret = super::dpop::bind(tokens::generate(), bound_to);
        let mac = URL_SAFE_NO_PAD.encode(self.mac(family_id, &secret));
        format!("{family_id}.{secret}.{mac}")
    }

    /// The family `token` names, when it is a token this key made; `None` for anything else
    /// (a token of an earlier release, an access token, a forgery, garbage).
    pub fn family_of<'a>(&self, token: &'a str) -> Option<&'a str> {
        let mut parts = token.split('.');
        let (family, secret, mac) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || !is_family_id(family) {
            return None;
        }
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        let expected = self.mac(family, secret);
        bool::from(expected.as_slice().ct_eq(&mac)).then_some(family)
    }
}

/// A family id as the store keeps it: `tokens::new_id` makes 32 hex digits; ids of any
/// URL-safe shape up to 64 characters are taken, so a family stored otherwise (an import, a
/// hand-made row) still works. The MAC decides whether the token is genuine.
fn is_family_id(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// A token as a client presented it, as the store looks it up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presented {
    /// The key it is stored under (`tokens::key`): its SHA-256 (`tokens::hash`), behind its
    /// issue time for an access token.
    pub hash: String,
    /// For a refresh token of the family format whose MAC verified, the family it names;
    /// `None` for any other token, which is looked up by its hash.
    pub family_id: Option<String>,
    /// The thumbprint of the DPoP key it is bound to, as the token says (`oidc::dpop`): to be
    /// believed only once the store has found the token.
    pub bound_to: Option<String>,
}

impl Presented {
    /// `token` as presented, its family read with `key`.
    pub fn new(token: &str, key: &FamilyKey) -> Presented {
        Presented {
            hash: tokens::key(token),
            family_id: key.family_of(token).map(str::to_owned),
            bound_to: super::dpop::binding(token).map(str::to_owned),
        }
    }

    /// A token looked up by its key alone (an access token, a JWT's key, a token of an
    /// earlier release).
    pub fn by_hash(hash: String) -> Presented {
        Presented {
            hash,
            family_id: None,
            bound_to: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> FamilyKey {
        FamilyKey::new(&[7; 32])
    }

    #[test]
    fn a_minted_token_names_its_family_and_nothing_else_does() {
        let family = tokens::new_id();
        let token = key().mint(&family, None);
        assert_eq!(key().family_of(&token), Some(family.as_str()));
        assert_eq!(token.len(), 32 + 1 + 43 + 1 + 22);
        assert_ne!(token, key().mint(&family, None), "a new secret each time");

        let other_key = FamilyKey::new(&[8; 32]);
        assert_eq!(
            other_key.family_of(&token),
            None,
            "another deployment's key"
        );
        let parts: Vec<&str> = token.split('.').collect();
        let other_family = tokens::new_id();
        let cases = [
            // Moved to another family: the MAC covers the family.
            format!("{other_family}.{}.{}", parts[1], parts[2]),
            // Another secret under the same MAC.
            format!("{}.{}.{}", parts[0], tokens::generate(), parts[2]),
            format!("{}.{}.{}", parts[0], parts[1], &parts[2][..21]),
            format!("{}.{}.", parts[0], parts[1]),
            format!("{token}.x"),
            format!("{}.{}", parts[0], parts[1]),
            token.to_uppercase(),
            tokens::generate(),
            String::new(),
            "..".into(),
            // A JWT has three dot-separated parts too.
            "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln".into(),
        ];
        for case in cases {
            assert_eq!(key().family_of(&case), None, "{case:?}");
        }
    }

    #[test]
    fn a_bound_token_carries_its_key_and_the_mac_covers_it() {
        let family = tokens::new_id();
        let token = key().mint(&family, Some("JKT"));
        assert_eq!(key().family_of(&token), Some(family.as_str()));
        assert_eq!(super::super::dpop::binding(&token), Some("JKT"));
        // Bound to another key, or to none, by hand: no longer a token of the family.
        let rebound = token.replace("~JKT", "~OTHER");
        assert_eq!(key().family_of(&rebound), None);
        let unbound = token.replace("~JKT", "");
        assert_eq!(key().family_of(&unbound), None);
    }

    #[test]
    fn a_family_id_of_another_shape_works_too() {
        let token = key().mint("family-1", None);
        assert_eq!(key().family_of(&token), Some("family-1"));
        for odd in ["", "a b", "x".repeat(65).as_str(), "é"] {
            let token = key().mint(odd, None);
            assert_eq!(key().family_of(&token), None, "{odd:?}");
        }
    }

    #[test]
    fn a_presented_token_is_looked_up_by_hash_and_by_the_family_it_proves() {
        let family = tokens::new_id();
        let token = key().mint(&family, None);
        assert_eq!(
            Presented::new(&token, &key()),
            Presented {
                hash: tokens::hash(&token),
                family_id: Some(family),
                bound_to: None,
            }
        );
        let legacy = tokens::generate();
        assert_eq!(
            Presented::new(&legacy, &key()),
            Presented::by_hash(tokens::hash(&legacy))
        );
    }
}
