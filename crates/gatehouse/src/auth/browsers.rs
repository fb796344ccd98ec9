//! What a person is shown of the browser a session was signed in from ("Firefox on Linux"),
//! so that they recognise their own sessions and a sign-in mailed to them as new: from its
//! `User-Agent`, kept with the session as it was sent (bounded, [`kept`]) and described when
//! shown ([`describe`], by `woothee`), so a better description needs no migration.

/// The most of a `User-Agent` kept: real ones are under 200 characters.
pub const MAX_USER_AGENT: usize = 256;

/// What a session keeps of a `User-Agent` header's value: its first [`MAX_USER_AGENT`]
/// characters, control characters replaced; none when there is nothing to keep.
pub fn kept(user_agent: Option<&str>) -> Option<String> {
    let kept: String = user_agent?
        .trim()
        .chars()
        .take(MAX_USER_AGENT)
        .map(|c| if c.is_control() { '\u{fffd}' } else { c })
        .collect();
    (!kept.is_empty()).then_some(kept)
}

/// A browser as a person names it: its name, and the system it runs on when that is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Described {
    pub browser: String,
    pub system: Option<String>,
}

/// In English, for the command line ("Firefox on Linux"); pages and mail word it in their
/// language (the catalogue's `browser_on`).
impl std::fmt::Display for Described {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.system {
            Some(system) => write!(f, "{} on {system}", self.browser),
            None => f.write_str(&self.browser),
        }
    }
}

/// `user_agent` described, or none when it names no browser a person would know (a program,
/// a crawler, nothing recognisable).
pub fn describe(user_agent: &str) -> Option<Described> {
    let parsed = woothee::parser::Parser::new().parse(user_agent)?;
    let known = |s: &str| !s.is_empty() && s != woothee::woothee::VALUE_UNKNOWN;
    if !known(parsed.name) || !matches!(parsed.category, "pc" | "smartphone" | "mobilephone") {
        return None;
    }
    let system = match parsed.os {
        // Windows 10 and 11 send the same version.
        os if os.starts_with("Windows") => Some("Windows".to_owned()),
        "Mac OSX" => Some("macOS".to_owned()),
        os if known(os) => Some(os.to_owned()),
        _ => None,
    };
    Some(Described {
        browser: parsed.name.to_owned(),
        system,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn on(browser: &str, system: Option<&str>) -> Option<Described> {
        Some(Described {
            browser: browser.to_owned(),
            system: system.map(str::to_owned),
        })
    }

    #[test]
    fn the_browsers_people_use_are_named_with_their_system() {
        let table = [
            (
                "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
                on("Firefox", Some("Linux")),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0",
                on("Edge", Some("Windows")),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36",
                on("Chrome", Some("Windows")),
            ),
            (
                "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like \
                 Gecko) Version/18.1 Safari/605.1.15",
                on("Safari", Some("macOS")),
            ),
            (
                "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1",
                on("Safari", Some("iPhone")),
            ),
            (
                "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Mobile Safari/537.36",
                on("Chrome", Some("Android")),
            ),
            (
                "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) \
                 Chrome/131.0.0.0 Safari/537.36 OPR/115.0.0.0",
                on("Opera", Some("Windows")),
            ),
            // Programs and nonsense are nobody's browser.
            ("curl/8.5.0", None),
            ("<script>alert(1)</script>", None),
            ("", None),
        ];
        for (user_agent, expected) in table {
            assert_eq!(describe(user_agent), expected, "{user_agent}");
        }
        let firefox = on("Firefox", Some("Linux")).unwrap();
        assert_eq!(firefox.to_string(), "Firefox on Linux");
        assert_eq!(on("Firefox", None).unwrap().to_string(), "Firefox");
    }

    #[test]
    fn what_is_kept_is_bounded_and_printable() {
        assert_eq!(kept(None), None);
        assert_eq!(kept(Some("   ")), None);
        assert_eq!(kept(Some(" Firefox/1 ")).as_deref(), Some("Firefox/1"));
        let long = "a".repeat(10_000);
        assert_eq!(kept(Some(&long)).unwrap().chars().count(), MAX_USER_AGENT);
        assert_eq!(kept(Some("a\u{7}b")).as_deref(), Some("a\u{fffd}b"));
    }
}
