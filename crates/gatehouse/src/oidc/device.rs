//! The device authorization grant's codes and timings (RFC 8628).
//!
//! The `device_code` is a 256-bit secret like every other token. The `user_code` is what a
//! person reads off a television and types on a phone, so it is short and hard to mistype: 8
//! letters from 20 consonants (RFC 8628 §6.1: no vowels, so no words; no digits to mistake for
//! letters), shown as `WDJB-MJHT`. That is 20^8 ≈ 2^34.6 values, lived for [`EXPIRES_IN`]
//! seconds, and entering one is throttled per person and per address (`auth::throttle`), so
//! guessing someone else's is hopeless. What people type is forgiven: case, dashes and spaces.

use crate::clock::UnixTime;

/// How long a device authorization waits for the person (RFC 8628 §3.2 `expires_in`).
pub const EXPIRES_IN: i64 = 600;

/// The polling interval a device starts with (RFC 8628 §3.2 `interval`; 5 s is the default it
/// assumes when none is given).
pub const INTERVAL: i64 = 5;

/// What a `slow_down` adds to the interval (RFC 8628 §3.5).
pub const SLOW_DOWN_STEP: i64 = 5;

/// The letters of a user code: no vowels, none easily confused (RFC 8628 §6.1).
const ALPHABET: &[u8; 20] = b"BCDFGHJKLMNPQRSTVWXZ";

/// Letters in a user code.
const LENGTH: usize = 8;

/// A new user code, normalised (`WDJBMJHT`): 8 letters drawn uniformly from the CSPRNG.
pub fn new_user_code() -> String {
    let mut code = String::with_capacity(LENGTH);
    while code.len() < LENGTH {
        for b in super::tokens::random_bytes::<16>() {
            // 240 = 12 × 20: rejecting the bytes above keeps every letter equally likely.
            if b < 240 && code.len() < LENGTH {
                code.push(char::from(ALPHABET[usize::from(b % 20)]));
            }
        }
    }
    code
}

/// A normalised code as people read it: `WDJB-MJHT`.
pub fn display(code: &str) -> String {
    let (a, b) = code.split_at(code.len() / 2);
    format!("{a}-{b}")
}

/// What a person typed, normalised: upper case, without dashes or spaces. `None` when it
/// cannot be a user code (wrong length or letters), so it is refused without a lookup.
pub fn normalize(typed: &str) -> Option<String> {
    if typed.len() > 64 {
        return None;
    }
    let code: String = typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    (code.len() == LENGTH && code.bytes().all(|b| ALPHABET.contains(&b))).then_some(code)
}

/// Whether a poll at `now` came before the device's interval had passed since its last one.
/// Clocks count whole seconds and networks add jitter, so a device polling exactly every
/// `interval` seconds may be seen a second early: that second is forgiven.
pub fn too_fast(last_polled_at: Option<UnixTime>, interval: i64, now: UnixTime) -> bool {
    last_polled_at.is_some_and(|last| now - last < interval - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_codes_are_normal_and_differ() {
        let a = new_user_code();
        assert_eq!(normalize(&a).as_deref(), Some(a.as_str()));
        assert_eq!(normalize(&display(&a)).as_deref(), Some(a.as_str()));
        let codes: std::collections::HashSet<String> = (0..1000).map(|_| new_user_code()).collect();
        assert_eq!(codes.len(), 1000);
    }

    #[test]
    fn every_letter_is_used() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            seen.extend(new_user_code().bytes());
        }
        assert_eq!(seen.len(), ALPHABET.len());
    }

    #[test]
    fn what_people_type_is_forgiven_and_what_cannot_be_a_code_is_refused() {
        let cases = [
            ("WDJB-MJHT", Some("WDJBMJHT")),
            ("wdjb-mjht", Some("WDJBMJHT")),
            (" wdjb mjht ", Some("WDJBMJHT")),
            ("WDJBMJHT", Some("WDJBMJHT")),
            ("WDJB-MJH", None),
            ("WDJB-MJHTX", None),
            // Vowels and digits are never in a code.
            ("WDJA-MJHT", None),
            ("WDJB-MJH1", None),
            ("ＷDJB-MJHT", None),
            ("", None),
        ];
        for (typed, want) in cases {
            assert_eq!(normalize(typed).as_deref(), want, "{typed:?}");
        }
        assert_eq!(normalize(&"-".repeat(100_000)), None);
        assert_eq!(display("WDJBMJHT"), "WDJB-MJHT");
    }

    #[test]
    fn polling_faster_than_the_interval_is_seen_with_a_second_forgiven() {
        let cases = [
            (None, 5, 100, false),
            (Some(95), 5, 100, false),
            (Some(96), 5, 100, false),
            (Some(97), 5, 100, true),
            (Some(100), 5, 100, true),
            (Some(91), 10, 100, false),
            (Some(92), 10, 100, true),
        ];
        for (last, interval, now, want) in cases {
            assert_eq!(
                too_fast(last, interval, now),
                want,
                "{last:?} {interval} {now}"
            );
        }
    }
}
