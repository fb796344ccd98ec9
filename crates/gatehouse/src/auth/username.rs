//! Usernames: one account per name as people read it.
//!
//! A username is stored in its canonical form: Unicode NFKC, lower-cased (so `Alice`, `ALICE`
//! and `ａｌｉｃｅ` are one account, and one throttle key). A name is refused when it holds
//! something a reader cannot see or tell apart (controls, spaces, zero-width and other
//! invisible characters, characters Unicode's General Security Profile restricts), when it
//! mixes scripts (a Cyrillic `а` among Latin letters), or when it looks like an existing
//! username (the same UTS #39 confusable skeleton, e.g. an all-Cyrillic `аlісе`).
//!
//! Applications put the `preferred_username` claim into paths, account names and pages, so a
//! new name keeps to what is safe there: of ASCII punctuation only `.`, `-`, `_`, `@` and `+`
//! (`first.last`, `ops-bot`, `me+tag@example.com`), and at least one letter or digit (never
//! `..`). Names stored before a rule existed keep working: [`fold`] finds them as people type
//! them, and only a new name must pass [`canonical`].

use unicode_normalization::UnicodeNormalization as _;
use unicode_security::{GeneralSecurityProfile as _, MixedScript as _, skeleton};

/// The longest username, in characters.
pub const MAX_CHARS: usize = 64;

/// Why a username cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    #[error("a username is 1 to {MAX_CHARS} characters")]
    Length,
    #[error(
        "a username cannot contain spaces, control characters or invisible characters \
         (found {0:?})"
    )]
    Invisible(char),
    /// Never an invisible or control character (those are [`UsernameError::Invisible`]), so it
    /// is shown as it is.
    #[error("a username holds letters and digits of one script, and . - _ @ +, not “{0}”")]
    Restricted(char),
    #[error("a username cannot mix scripts (such as Latin and Cyrillic letters)")]
    MixedScripts,
    #[error("a username needs at least one letter or digit")]
    NoLetterOrDigit,
}

/// The ASCII punctuation a new username may hold.
pub const PUNCTUATION: &str = ".-_@+";

/// The form a username is stored and looked up in: Unicode NFKC, lower-cased (and NFKC again,
/// as lower-casing can undo it). Every name folds, valid or not; [`canonical`] says whether it
/// may be a new username.
pub fn fold(raw: &str) -> String {
    raw.nfkc()
        .collect::<String>()
        .to_lowercase()
        .nfkc()
        .collect()
}

/// The canonical form of `raw` ([`fold`]), or why it cannot be a new username.
///
/// # Errors
/// Why `raw` cannot be a username: its length, an invisible or restricted character, letters
/// of more than one script, or no letter or digit at all.
pub fn canonical(raw: &str) -> Result<String, UsernameError> {
    let folded = fold(raw);
    let n = folded.chars().count();
    if n == 0 || n > MAX_CHARS {
        return Err(UsernameError::Length);
    }
    for c in folded.chars() {
        if c.is_whitespace() || c.is_control() || crate::text::is_invisible(c) {
            return Err(UsernameError::Invisible(c));
        }
        // ASCII letters, digits and the punctuation of addresses and handles; beyond ASCII,
        // only what identifiers may use.
        let allowed = if c.is_ascii() {
            c.is_ascii_alphanumeric() || PUNCTUATION.contains(c)
        } else {
            c.identifier_allowed()
        };
        if !allowed {
            return Err(UsernameError::Restricted(c));
        }
    }
    if !crate::text::has_letter_or_digit(&folded) {
        return Err(UsernameError::NoLetterOrDigit);
    }
    if !folded.as_str().is_single_script() {
        return Err(UsernameError::MixedScripts);
    }
    Ok(folded)
}

/// The UTS #39 confusable skeleton of a canonical username: two names with one skeleton look
/// alike, and only the first of them may exist.
pub fn look_alike_key(canonical: &str) -> String {
    skeleton(canonical).collect()
}

/// The look-alike key kept with a stored username (`user_account.look_alike`): that of its
/// lower case, so that a name stored before usernames were folded (`Alice`) is compared as the
/// canonical names are.
pub fn stored_look_alike_key(username: &str) -> String {
    look_alike_key(&username.to_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_folded_to_one_canonical_form() {
        let cases = [
            ("alice", "alice"),
            ("Alice", "alice"),
            ("ALICE", "alice"),
            ("ａｌｉｃｅ", "alice"), // fullwidth
            ("first.last@example.com", "first.last@example.com"),
            ("ops-bot_2", "ops-bot_2"),
            ("Me+Tag@Example.com", "me+tag@example.com"),
            ("._1", "._1"),
            ("José", "josé"),
            ("Jose\u{301}", "josé"), // combining accent, composed by NFKC
            ("Ⅻ", "xii"),            // compatibility character
            ("ΣΊΣΥΦΟΣ", "σίσυφος"),
            ("田中", "田中"),
            ("たなか", "たなか"),
        ];
        for (raw, expected) in cases {
            assert_eq!(canonical(raw).as_deref(), Ok(expected), "{raw:?}");
        }
    }

    #[test]
    fn invisible_restricted_and_mixed_names_are_refused() {
        let cases = [
            ("", UsernameError::Length),
            (&"a".repeat(65), UsernameError::Length),
            ("al ice", UsernameError::Invisible(' ')),
            ("alice\n", UsernameError::Invisible('\n')),
            ("ali\u{200b}ce", UsernameError::Invisible('\u{200b}')),
            ("alice\u{202e}", UsernameError::Invisible('\u{202e}')),
            ("\u{1b}[2Jalice", UsernameError::Invisible('\u{1b}')),
            // Cyrillic а (U+0430) among Latin letters.
            ("\u{430}lice", UsernameError::MixedScripts),
            ("paypal\u{3b1}", UsernameError::MixedScripts),
            // What applications would read as a path, markup, a quote or a shell word.
            ("ops/bot", UsernameError::Restricted('/')),
            ("..\\admin", UsernameError::Restricted('\\')),
            ("<script>", UsernameError::Restricted('<')),
            ("{team}", UsernameError::Restricted('{')),
            ("o'brien", UsernameError::Restricted('\'')),
            ("a\"b", UsernameError::Restricted('"')),
            ("$(id)", UsernameError::Restricted('$')),
            ("50%", UsernameError::Restricted('%')),
            ("a:b", UsernameError::Restricted(':')),
            ("a,b", UsernameError::Restricted(',')),
            ("..", UsernameError::NoLetterOrDigit),
            ("@", UsernameError::NoLetterOrDigit),
            ("-_-", UsernameError::NoLetterOrDigit),
        ];
        for (raw, expected) in cases {
            assert_eq!(canonical(raw), Err(expected), "{raw:?}");
        }
        assert!(matches!(
            canonical("\u{16a0}x"),
            Err(UsernameError::Restricted(_) | UsernameError::MixedScripts)
        ));
    }

    #[test]
    fn look_alikes_share_a_key() {
        // All Cyrillic: one script, so only the skeleton tells it from the Latin name.
        let latin = canonical("ace").unwrap();
        let cyrillic = canonical("\u{430}\u{441}\u{435}").unwrap();
        assert_ne!(latin, cyrillic);
        assert_eq!(look_alike_key(&latin), look_alike_key(&cyrillic));
        assert_ne!(look_alike_key("alice"), look_alike_key("alicia"));
        assert_eq!(look_alike_key("rn"), look_alike_key("m"));
    }
}
