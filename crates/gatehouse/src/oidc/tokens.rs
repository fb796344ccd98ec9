//! Secrets: generated from a CSPRNG (`rand`'s thread RNG: ChaCha12, seeded from the OS),
//! stored as SHA-256 hashes, compared in constant time.
//!
//! Codes, refresh tokens, access tokens, session ids and generated client secrets carry 256
//! random bits, so a fast hash is enough to store them: nobody can search a 2^256 space, and a
//! slow KDF would only cost a core per request.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// A new secret: 32 bytes from the CSPRNG, base64url without padding (43 characters).
pub fn generate() -> String {
    URL_SAFE_NO_PAD.encode(random_bytes::<32>())
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
    fn sha256_of_a_known_value() {
        assert_eq!(
            hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
