//! Authenticator apps: time-based one-time codes (RFC 6238), as Google Authenticator, Aegis,
//! 1Password and the rest compute them: HMAC-SHA-1, six digits, a new code every 30 seconds.
//! Other algorithms and lengths are left out on purpose: several apps accept them and silently
//! compute SHA-1 six-digit codes anyway, which locks the person out.
//!
//! A code is accepted for the current step and one step either side (a phone's clock a little
//! off, a code typed as it changed), and **only once**: the store keeps the last step a code
//! was accepted for, and no code of that step or an earlier one is accepted again (RFC 6238
//! §5.2), so a code seen over someone's shoulder or captured by a phishing page is useless
//! once its owner has used it. The check is pure ([`check`]); the store claims the step
//! atomically.

use subtle::ConstantTimeEq as _;
use totp_rs::{Algorithm, Builder, Secret, Totp};

use crate::clock::UnixTime;

/// Digits of a code.
pub const DIGITS: u8 = 6;
/// Seconds a code lasts.
pub const STEP: i64 = 30;
/// Bytes of a new secret: 160 bits, the length RFC 4226 §4 recommends.
pub const SECRET_BYTES: usize = 20;

/// A new shared secret, from the CSPRNG.
pub fn new_secret() -> Vec<u8> {
    crate::oidc::tokens::random_bytes::<SECRET_BYTES>().to_vec()
}

fn totp(secret: &[u8], digits: u8) -> Totp {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(digits)
        .with_step_duration(STEP.unsigned_abs())
        .with_secret(secret.to_vec())
        .build_noncompliant()
}

/// The code of `step` (time / [`STEP`]) with `digits` digits.
fn code_of_step(secret: &[u8], step: i64, digits: u8) -> String {
    let time = u64::try_from(step.max(0)).unwrap_or(0) * STEP.unsigned_abs();
    totp(secret, digits).generate(time).to_string()
}

/// The code an app shows at `now`: for tests, and for nothing else.
pub fn code_at(secret: &[u8], now: UnixTime) -> String {
    code_of_step(secret, now.div_euclid(STEP), DIGITS)
}

/// The verdict on a typed code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// Right: the store must record `step` as used (atomically: a concurrent use of the same
    /// step must lose).
    Accepted { step: i64 },
    /// Not a code of the window around `now`.
    Wrong,
    /// A code of a step already used (or before it): refused like a wrong one, but worth
    /// telling apart in the audit log.
    Replayed,
}

/// Checks `typed` (spaces and dashes ignored) against `secret` at `now`, given the last step
/// accepted before. The earliest unused step that matches wins, so a code is never accepted
/// for a later step than it was shown for.
pub fn check(secret: &[u8], typed: &str, now: UnixTime, last_step: Option<i64>) -> Check {
    let code: String = typed
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() != usize::from(DIGITS) || !code.bytes().all(|b| b.is_ascii_digit()) {
        return Check::Wrong;
    }
    let current = now.div_euclid(STEP);
    let mut replayed = false;
    for step in current - 1..=current + 1 {
        let expected = code_of_step(secret, step, DIGITS);
        if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
            if last_step.is_some_and(|last| step <= last) {
                replayed = true;
                continue;
            }
            return Check::Accepted { step };
        }
    }
    if replayed {
        Check::Replayed
    } else {
        Check::Wrong
    }
}

/// The `otpauth://` URI an app reads from the QR code: the secret, and the account named
/// `issuer: account` in the app's list. A `:` would end the label early, so it is replaced.
pub fn provisioning_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let clean = |s: &str| s.replace(':', "-");
    let t = Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(DIGITS)
        .with_step_duration(STEP.unsigned_abs())
        .with_secret(secret.to_vec())
        .with_issuer(Some(clean(issuer)))
        .with_account_name(clean(account))
        .build_noncompliant();
    // `to_url` fails only for an empty account name or one with a `:`, which `clean` and a
    // non-empty username rule out; the secret alone is still a working URI.
    t.to_url().unwrap_or_else(|_| {
        format!(
            "otpauth://totp/{}?secret={}",
            url::form_urlencoded::byte_serialize(clean(account).as_bytes()).collect::<String>(),
            secret_text(secret).replace(' ', "")
        )
    })
}

/// The secret from its text form (base32, spaces ignored, any case); `None` when it is not
/// one.
pub fn secret_from_text(text: &str) -> Option<Vec<u8>> {
    let b32: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let secret = Secret::try_from_base32(b32).ok()?;
    let bytes = secret.as_bytes().to_vec();
    (bytes.len() == SECRET_BYTES).then_some(bytes)
}

/// The secret as a person types it into an app: base32, in groups of four.
pub fn secret_text(secret: &[u8]) -> String {
    let b32 = Secret::new(secret.to_vec().into_boxed_slice()).to_base32();
    b32.as_bytes()
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 Appendix B: the SHA-1 test vectors (eight digits, the 20-byte ASCII secret).
    #[test]
    fn rfc_6238_test_vectors() {
        let secret = b"12345678901234567890";
        for (time, code) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000_i64, "65353130"),
        ] {
            assert_eq!(code_of_step(secret, time / STEP, 8), code, "T={time}");
            // The six-digit code is the same number's last six digits (RFC 4226 §5.3).
            assert_eq!(
                code_of_step(secret, time / STEP, DIGITS),
                code[2..],
                "T={time}"
            );
        }
    }

    #[test]
    fn a_code_is_accepted_once_within_one_step_either_side() {
        let secret = b"12345678901234567890";
        let now = 1_111_111_111; // step 37037037, code ...050471
        let step = now / STEP;
        let at = |s: i64| code_of_step(secret, s, DIGITS);
        for (typed, last, expected) in [
            (at(step), None, Check::Accepted { step }),
            (at(step - 1), None, Check::Accepted { step: step - 1 }),
            (at(step + 1), None, Check::Accepted { step: step + 1 }),
            (format!(" {} ", &at(step)), None, Check::Accepted { step }),
            (
                format!("{}-{}", &at(step)[..3], &at(step)[3..]),
                None,
                Check::Accepted { step },
            ),
            // Used: this step, or a later one, was accepted already.
            (at(step), Some(step), Check::Replayed),
            (at(step - 1), Some(step), Check::Replayed),
            (at(step), Some(step + 1), Check::Replayed),
            // The next step is still fine after this one was used.
            (at(step + 1), Some(step), Check::Accepted { step: step + 1 }),
            // Outside the window.
            (at(step - 2), None, Check::Wrong),
            (at(step + 2), None, Check::Wrong),
            ("000000".into(), None, Check::Wrong),
            ("".into(), None, Check::Wrong),
            ("12345".into(), None, Check::Wrong),
            ("1234567".into(), None, Check::Wrong),
            ("abcdef".into(), None, Check::Wrong),
            ("０５０４７１".into(), None, Check::Wrong),
            ("9".repeat(10_000), None, Check::Wrong),
        ] {
            assert_eq!(
                check(secret, &typed, now, last),
                expected,
                "{typed:?} {last:?}"
            );
        }
        // The current code is what `code_at` gives.
        assert_eq!(
            check(secret, &code_at(secret, now), now, None),
            Check::Accepted { step }
        );
    }

    #[test]
    fn the_uri_names_the_issuer_and_account_and_carries_the_secret() {
        let secret = new_secret();
        assert_eq!(secret.len(), SECRET_BYTES);
        let uri = provisioning_uri(&secret, "Example: SSO", "alice");
        assert!(
            uri.starts_with("otpauth://totp/Example-%20SSO:alice?"),
            "{uri}"
        );
        let b32 = secret_text(&secret).replace(' ', "");
        assert_eq!(b32.len(), 32);
        assert!(uri.contains(&format!("secret={b32}")), "{uri}");
        assert!(uri.contains("issuer=Example-%20SSO"), "{uri}");
        assert_eq!(
            secret_text(b"12345678901234567890"),
            "GEZD GNBV GY3T QOJQ GEZD GNBV GY3T QOJQ"
        );
        assert_eq!(
            secret_from_text(&secret_text(&secret)),
            Some(secret.clone())
        );
        assert_eq!(
            secret_from_text(&secret_text(&secret).to_lowercase()),
            Some(secret)
        );
        for bad in ["", "GEZD", "not base32!", &"A".repeat(100_000)] {
            assert_eq!(secret_from_text(bad), None, "{bad:?}");
        }
    }
}
