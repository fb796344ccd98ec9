//! Text that came from outside (a username as typed, a request's values): made inert before it
//! is stored or printed where people read it, so it cannot forge a log line or drive a terminal.

/// `s` with every control or invisible character (line breaks, ESC, bidirectional overrides,
/// zero-width characters) replaced by its escape (`\u{a}`, `\u{1b}`). Printable text, spaces
/// included, is kept as it is.
pub fn inert(s: String) -> String {
    if s.chars().all(is_inert) {
        return s;
    }
    s.chars()
        .map(|c| {
            if is_inert(c) {
                c.to_string()
            } else {
                c.escape_unicode().to_string()
            }
        })
        .collect()
}

fn is_inert(c: char) -> bool {
    c == ' ' || !(c.is_control() || c.is_whitespace() || is_invisible(c))
}

/// Unicode's invisible formatting characters (category Cf) that can disguise text: the soft
/// hyphen, zero-width characters, bidirectional marks, overrides and isolates, invisible
/// operators, the byte order mark.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{180e}'
            | '\u{200b}'..='\u{200f}'
            | '\u{202a}'..='\u{202e}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206f}'
            | '\u{feff}'
            | '\u{fff9}'..='\u{fffb}'
    )
}

/// Whether a name (a username, a group's name, a client's id) holds a letter or a digit. One of
/// punctuation alone names nothing a person can read, and `.` and `..`, even percent-encoded,
/// are a path's own segments to every URL parser, so no link or API path could reach it.
pub fn has_letter_or_digit(name: &str) -> bool {
    name.chars().any(char::is_alphanumeric)
}

/// Whether `name` is 1 to `max` ASCII characters a URL carries as they are (RFC 3986's
/// unreserved ones: letters, digits, `-`, `_`, `.`, `~`), at least one a letter or digit ([`has_letter_or_digit`]):
/// what a client's id and a sector are.
pub fn is_unreserved_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~'))
        && has_letter_or_digit(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unreserved_names() {
        for yes in ["a", "app.example", "cloud_app~1", "A-1", "x.."] {
            assert!(is_unreserved_name(yes, 16), "{yes}");
        }
        for no in [
            "",
            "..",
            "-_.~",
            "a b",
            "a/b",
            "a:b",
            "ä",
            "a\0b",
            "seventeen-chars-x",
        ] {
            assert!(!is_unreserved_name(no, 16), "{no}");
        }
    }

    #[test]
    fn a_name_of_punctuation_alone_has_no_letter_or_digit() {
        for yes in ["a", "..a", "7", "田", "._1"] {
            assert!(has_letter_or_digit(yes), "{yes}");
        }
        for no in ["", ".", "..", "-_-", "~", "@"] {
            assert!(!has_letter_or_digit(no), "{no}");
        }
    }

    #[test]
    fn controls_and_invisibles_are_escaped_and_the_rest_kept() {
        let cases = [
            ("plain text", "plain text"),
            ("José 田中", "José 田中"),
            ("a\nb", "a\\u{a}b"),
            ("\u{1b}[2J", "\\u{1b}[2J"),
            ("a\tb\r", "a\\u{9}b\\u{d}"),
            ("ad\u{200b}min", "ad\\u{200b}min"),
            ("evil\u{202e}txt.exe", "evil\\u{202e}txt.exe"),
        ];
        for (raw, expected) in cases {
            assert_eq!(inert(raw.to_owned()), expected, "{raw:?}");
        }
    }
}
