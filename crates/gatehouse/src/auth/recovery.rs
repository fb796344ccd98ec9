//! Recovery codes: the way back in for a person whose phone is lost. Ten are made at once,
//! shown once, stored as hashes, and each works once.
//!
//! A code is 16 characters of Crockford's base32 (80 random bits), shown as four groups of
//! four. With that many bits a fast hash is enough to store it (no one can search 2^80 codes
//! against a stolen database), and it lets the store find a code by its hash and spend it in
//! one atomic statement. Typing is forgiving: case, spaces and dashes do not matter, and the
//! letters people confuse with digits (`i`, `l`, `o`) read as `1`, `1`, `0`.

use crate::oidc::tokens;

/// How many codes a person gets at a time.
pub const COUNT: usize = 10;
/// Characters of a code, without its dashes.
pub const LENGTH: usize = 16;

/// Crockford's base32: no `i`, `l`, `o` or `u`.
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// A fresh set of [`COUNT`] codes, as shown to the person (`abcd-efgh-jkmn-pqrs`).
pub fn generate() -> Vec<String> {
    (0..COUNT)
        .map(|_| {
            let bytes = tokens::random_bytes::<LENGTH>();
            let chars: Vec<u8> = bytes
                .iter()
                .map(|b| ALPHABET[usize::from(b & 31)])
                .collect();
            chars
                .chunks(4)
                .map(|c| String::from_utf8_lossy(c).into_owned())
                .collect::<Vec<_>>()
                .join("-")
        })
        .collect()
}

/// The code as typed, in its canonical form; `None` when it cannot be a recovery code.
pub fn normalize(typed: &str) -> Option<String> {
    let mut out = String::with_capacity(LENGTH);
    for c in typed.chars() {
        let c = match c.to_ascii_lowercase() {
            ' ' | '-' | '\t' => continue,
            'i' | 'l' => '1',
            'o' => '0',
            c if c.is_ascii() && ALPHABET.contains(&(c as u8)) => c,
            _ => return None,
        };
        if out.len() == LENGTH {
            return None;
        }
        out.push(c);
    }
    (out.len() == LENGTH).then_some(out)
}

/// What the store keeps of a code (typed or generated): the SHA-256 of its canonical form.
/// `None` when it cannot be a recovery code.
pub fn hash(typed: &str) -> Option<String> {
    normalize(typed).map(|c| tokens::hash(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_and_read_back_however_typed() {
        let codes = generate();
        assert_eq!(codes.len(), COUNT);
        let hashes: std::collections::HashSet<_> = codes.iter().map(|c| hash(c).unwrap()).collect();
        assert_eq!(hashes.len(), COUNT);
        for c in &codes {
            assert_eq!(c.len(), LENGTH + 3, "{c}");
            assert_eq!(hash(&c.to_uppercase()), hash(c));
            assert_eq!(hash(&c.replace('-', " ")), hash(c));
            assert_eq!(hash(&c.replace('-', "")), hash(c));
        }
    }

    #[test]
    fn typing_is_forgiving_but_nothing_else_is_a_code() {
        assert_eq!(
            normalize("ABCD-EFGH-JKMN-PQRS").as_deref(),
            Some("abcdefghjkmnpqrs")
        );
        assert_eq!(
            normalize("10o0 IlLi 0000 0000").as_deref(),
            Some("1000111100000000")
        );
        for bad in [
            "",
            "abcd-efgh-jkmn-pqr",
            "abcd-efgh-jkmn-pqrst",
            "abcd-efgh-jkmn-pqru",
            "abcd_efgh_jkmn_pqrs",
            "abcd-efgh-jkmn-pqrś",
            "123456",
            &"a".repeat(100_000),
        ] {
            assert_eq!(normalize(bad), None, "{bad:?}");
        }
    }
}
