//! Proof Key for Code Exchange (RFC 7636), S256 only: `plain` would let anyone who sees the
//! authorization request redeem the code.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// RFC 7636 §4.1: 43 to 128 characters of `[A-Z] / [a-z] / [0-9] / "-" / "." / "_" / "~"`.
pub fn is_valid_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge is the base64url (no padding) of a SHA-256: exactly 43 characters.
pub fn is_valid_challenge(c: &str) -> bool {
    c.len() == 43 && URL_SAFE_NO_PAD.decode(c).is_ok_and(|d| d.len() == 32)
}

/// RFC 7636 §4.6: `BASE64URL(SHA256(verifier)) == challenge`, in constant time.
pub fn verify_s256(verifier: &str, challenge: &str) -> bool {
    if !is_valid_verifier(verifier) {
        return false;
    }
    let computed = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    computed.as_bytes().ct_eq(challenge.as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    #[test]
    fn verification_table() {
        let cases = [
            (VERIFIER, CHALLENGE, true, "the RFC's example"),
            (
                "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXj",
                CHALLENGE,
                false,
                "another verifier",
            ),
            (
                VERIFIER,
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cN",
                false,
                "another challenge",
            ),
            (
                CHALLENGE,
                CHALLENGE,
                false,
                "plain: the challenge as its own verifier",
            ),
            ("short", CHALLENGE, false, "verifier under 43 characters"),
            (
                &"a".repeat(129),
                CHALLENGE,
                false,
                "verifier over 128 characters",
            ),
            (
                "dBjftJeZ4CVP+mB92K27uhbUJU1p1r/wW1gFWFOEjXk",
                CHALLENGE,
                false,
                "characters outside the set",
            ),
        ];
        for (verifier, challenge, expected, why) in cases {
            assert_eq!(verify_s256(verifier, challenge), expected, "{why}");
        }
    }

    #[test]
    fn challenge_shape() {
        assert!(is_valid_challenge(CHALLENGE));
        assert!(!is_valid_challenge("abc"));
        assert!(!is_valid_challenge(&"!".repeat(43)));
        assert!(is_valid_verifier(VERIFIER));
        assert!(!is_valid_verifier(&format!("{VERIFIER} ")));
    }
}
