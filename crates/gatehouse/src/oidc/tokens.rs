//! Secrets: generated from a CSPRNG (`rand`'s thread RNG: ChaCha12, seeded from the OS),
//! stored as SHA-256 hashes, compared in constant time.
//!
//! Codes, refresh tokens, access tokens, session ids and generated client secrets carry 256
//! random bits, so a fast hash is enough to store them: nobody can search a 2^256 space, and a
//! slow KDF would only cost a core per request.
//!
//! An access token also starts with the time it was issued ([`new_access_token`]), and is
//! stored under its hash behind that time ([`key`]): the hashes alone are in random order, so
//! each token stored went to a random page of the table's index, and a batch of 20 tokens
//! wrote 20 pages of it; in the order they are issued, the tokens of a batch share a page or
//! two. The time decides nothing: a token's validity is its row's.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new secret: 32 bytes from the CSPRNG, base64url without padding (43 characters).
pub fn generate() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
}

/// Hex digits of the issue time an access token starts with: milliseconds since the epoch,
/// enough until the year 10889, fixed so that keys sort as the times do.
const ISSUED_DIGITS: usize = 12;

/// A new access token (an opaque one, or a JWT access token's `jti`): the time it is issued
/// ([`access_token_at`]), taken from the system clock.
pub fn new_access_token() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    access_token_at(ms)
}

/// An access token issued at `ms` milliseconds since the epoch: 12 hex digits of that time, a
/// dot, and a secret ([`generate`]), e.g. `019ae51c2f4b.` and 43 base64url characters.
pub fn access_token_at(ms: u64) -> String {
    format!("{:0width$x}.{}", ms, generate(), width = ISSUED_DIGITS)
}

/// The key `token` is stored under: its [`hash`], behind the issue time an access token starts
/// with ([`stored_key`]).
pub fn key(token: &str) -> String {
    stored_key(token, hash(token))
}

/// The key stored for `token` when `hash` stands for it (a JWT access token's, made from its
/// `jti`): `hash` behind the 12 hex digits of issue time and the dot that `token` starts with,
/// so that keys sort as the tokens were issued; `hash` alone for any other token (one of an
/// earlier release, a refresh token, a code), as before. A forged time only names another key,
/// which no token is stored under.
pub fn stored_key(token: &str, hash: String) -> String {
    match issued_part(token) {
        Some(issued) => format!("{issued}{hash}"),
        None => hash,
    }
}

/// The time and dot an access token starts with, if it does.
fn issued_part(token: &str) -> Option<&str> {
    let part = token.get(..=ISSUED_DIGITS)?;
    let (digits, dot) = part.split_at(ISSUED_DIGITS);
    (dot == "."
        && digits
            .bytes()
            .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
    .then_some(part)
}

/// `N` bytes from the CSPRNG (a key).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill_bytes(&mut bytes);
    bytes
}

/// A new identifier (user ids, token families): 128 random bits, hex.
pub fn new_id() -> String {
    let mut bytes = [0u8; 16];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

/// Bytes of a [`short_mac`]: 128 bits, beyond any online guessing.
pub const SHORT_MAC: usize = 16;

/// The first 128 bits of HMAC-SHA-256 under `key` over `label` then `parts`: what
/// authenticates a value gatehouse hands out and takes back without a row for it (a refresh
/// token's family, a DPoP nonce). Each use has a label of its own, so one is never taken for
/// another.
pub fn short_mac(key: &aws_lc_rs::hmac::Key, label: &[u8], parts: &[&[u8]]) -> [u8; SHORT_MAC] {
    let mut context = aws_lc_rs::hmac::Context::with_key(key);
    context.update(label);
    for part in parts {
        context.update(part);
    }
    let tag = context.sign();
    let mut mac = [0u8; SHORT_MAC];
    mac.copy_from_slice(&tag.as_ref()[..SHORT_MAC]);
    mac
}

/// The SHA-256 of a secret, hex: what the store keeps.
pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// Whether `secret` hashes to `stored_hash`, compared in constant time.
pub fn matches(secret: &str, stored_hash: &str) -> bool {
    hash(secret).as_bytes().ct_eq(stored_hash.as_bytes()).into()
}

fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(DIGITS[usize::from(b >> 4)] as char);
        s.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_256_bits_and_distinct() {
        let a = generate();
        let b = generate();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).unwrap().len(), 32);
    }

    #[test]
    fn a_secret_matches_only_its_own_hash() {
        let s = generate();
        let h = hash(&s);
        assert_eq!(h.len(), 64);
        assert!(matches(&s, &h));
        assert!(!matches(&generate(), &h));
        assert!(!matches(&s, &h[..63]));
    }

    #[test]
    fn an_access_token_starts_with_its_issue_time_and_carries_256_random_bits() {
        let t = access_token_at(0x019a_e51c_2f4b);
        let (issued, secret) = t.split_once('.').unwrap();
        assert_eq!(issued, "019ae51c2f4b");
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
        assert_ne!(access_token_at(1), access_token_at(1));
        assert!(new_access_token().starts_with("01"), "issued after 2005");
    }

    #[test]
    fn access_tokens_are_stored_in_the_order_they_are_issued() {
        let keys: Vec<String> = [5_u64, 1_000, 0x0fff_ffff_ffff, 0x0fff_ffff_ffff + 1]
            .iter()
            .map(|&ms| key(&access_token_at(ms)))
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        let t = access_token_at(1_000);
        assert_eq!(key(&t), format!("{}{}", &t[..13], hash(&t)));
        assert_eq!(stored_key(&t, "h".into()), format!("{}h", &t[..13]));
    }

    #[test]
    fn any_other_token_is_stored_under_its_hash_alone() {
        for token in [
            // An access token of an earlier release, a refresh token naming its family, a
            // JWT, and what merely looks like the start of an access token.
            generate(),
            format!(
                "{}.{}.{}",
                "0123456789abcdef0123456789abcdef",
                generate(),
                "mac"
            ),
            "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln".into(),
            "019AE51C2F4B.secret".into(),
            "019ae51c2f4.secret".into(),
            "019ae51c2f4g.secret".into(),
            "019ae51c2f4b-secret".into(),
            "019ae51c2f4b".into(),
            String::new(),
            "é19ae51c2f4b.secret".into(),
        ] {
            assert_eq!(key(&token), hash(&token), "{token:?}");
        }
    }

    #[test]
    fn sha256_of_a_known_value() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
