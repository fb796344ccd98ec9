//! Server nonces in DPoP proofs (RFC 9449 §8, §9), for a deployment that requires them
//! (`--dpop-nonce`).
//!
//! Without a nonce, a proof is good for whatever request it names until it is five minutes
//! old ([`super::MAX_AGE`]): a script that can use a browser application's key, though not
//! export it, can make proofs for later and take them away. A nonce the server chose shortly
//! before makes every proof fresh: one made ahead of time does not carry it.
//!
//! **Nothing is stored for a nonce.** It is the first 128 bits of an HMAC-SHA-256, under a key
//! of the deployment (kept in the store, shared by every instance), of the minute it was
//! made in ([`PERIOD`]): every instance makes the same one within a minute and recognises
//! another's. A proof's nonce is good when it is that of this minute, the one before (so a
//! nonce handed out at the end of a minute still works a minute later), or the one after (an
//! instance whose clock is a little ahead). A nonce does not name a client: like the proof's
//! `jti`, what it makes fresh is the proof, and the proof names its key.
//!
//! Decided here: the nonce of a moment ([`NonceKey::current`]) and whether a proof's nonce is
//! good ([`judge`]); the HTTP layer hands out the current one in the `DPoP-Nonce` header and
//! refuses with `use_dpop_nonce`.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use subtle::ConstantTimeEq;

use crate::clock::UnixTime;
use crate::oidc::tokens;

/// The name of the key among the deployment's secrets.
pub const KEY_NAME: &str = "dpop-nonce";
/// The response header a nonce travels in (RFC 9449 §8.1).
pub const HEADER: &str = "DPoP-Nonce";
/// Seconds one nonce is made for; it is taken for one more, and one less.
pub const PERIOD: i64 = 60;
/// The longest nonce read; ours are 22 characters.
const MAX_NONCE: usize = 256;

/// The key nonces are made with: 256 random bits, from the store.
#[derive(Clone)]
pub struct NonceKey(hmac::Key);

impl std::fmt::Debug for NonceKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NonceKey(..)")
    }
}

impl NonceKey {
    pub fn new(secret: &[u8]) -> NonceKey {
        NonceKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }

    /// The nonce to hand out at `now`.
    pub fn current(&self, now: UnixTime) -> String {
        URL_SAFE_NO_PAD.encode(self.of(now.div_euclid(PERIOD)))
    }

    fn of(&self, period: i64) -> [u8; tokens::SHORT_MAC] {
        tokens::short_mac(&self.0, b"gatehouse dpop nonce\0", &[&period.to_be_bytes()])
    }
}

/// Why a proof's nonce is not good: the answer is `use_dpop_nonce`, with the current nonce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum NonceRefused {
    #[error("a server nonce is required in the DPoP proof: use the one in the DPoP-Nonce header")]
    Missing,
    #[error("the DPoP proof's nonce is not a current one: use the one in the DPoP-Nonce header")]
    NotCurrent,
}

/// Whether a proof carrying `sent` (or no nonce) is fresh at `now`: its nonce is the one
/// made by `key` for this period, the one before or the one after.
///
/// # Errors
/// Why not, for a `use_dpop_nonce` answer.
pub fn judge(key: &NonceKey, sent: Option<&str>, now: UnixTime) -> Result<(), NonceRefused> {
    let sent = sent.ok_or(NonceRefused::Missing)?;
    let Some(mac) = Some(sent)
        .filter(|s| s.len() <= MAX_NONCE)
        .and_then(|s| URL_SAFE_NO_PAD.decode(s).ok())
    else {
        return Err(NonceRefused::NotCurrent);
    };
    let period = now.div_euclid(PERIOD);
    let good = [period, period - 1, period + 1]
        .iter()
        .any(|p| bool::from(key.of(*p).as_slice().ct_eq(&mac)));
    if good {
        Ok(())
    } else {
        Err(NonceRefused::NotCurrent)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_000_020;

    fn key() -> NonceKey {
        NonceKey::new(&[7; 32])
    }

    #[test]
    fn a_nonce_is_good_from_the_period_before_its_own_to_the_one_after() {
        let k = key();
        let made = k.current(NOW);
        assert_eq!(made.len(), 22, "{made}");
        // The period NOW falls in starts at 1,000,020 (a multiple of 60).
        let cases = [
            (NOW - PERIOD - 1, Err(NonceRefused::NotCurrent)),
            (NOW - PERIOD, Ok(())),
            (NOW - 1, Ok(())),
            (NOW, Ok(())),
            (NOW + PERIOD - 1, Ok(())),
            (NOW + PERIOD, Ok(())),
            (NOW + 2 * PERIOD - 1, Ok(())),
            (NOW + 2 * PERIOD, Err(NonceRefused::NotCurrent)),
        ];
        for (at, expected) in cases {
            assert_eq!(judge(&k, Some(&made), at), expected, "at {at}");
        }
    }

    #[test]
    fn the_same_minute_makes_the_same_nonce_on_every_instance() {
        assert_eq!(key().current(NOW), key().current(NOW + PERIOD - 1));
        assert_ne!(key().current(NOW), key().current(NOW + PERIOD));
    }

    #[test]
    fn a_missing_forged_or_foreign_nonce_is_refused() {
        let k = key();
        let other = NonceKey::new(&[8; 32]).current(NOW);
        let good = k.current(NOW);
        let mut flipped = good.clone().into_bytes();
        flipped[0] = if flipped[0] == b'A' { b'B' } else { b'A' };
        let flipped = String::from_utf8(flipped).unwrap();
        let cases: [(Option<&str>, NonceRefused); 7] = [
            (None, NonceRefused::Missing),
            (Some(""), NonceRefused::NotCurrent),
            (Some("not base64!"), NonceRefused::NotCurrent),
            (Some(&other), NonceRefused::NotCurrent),
            (Some(&flipped), NonceRefused::NotCurrent),
            (Some(&good[..21]), NonceRefused::NotCurrent),
            (Some(&"A".repeat(100_000)), NonceRefused::NotCurrent),
        ];
        for (sent, expected) in cases {
            assert_eq!(judge(&k, sent, NOW), Err(expected), "{sent:?}");
        }
    }
}
