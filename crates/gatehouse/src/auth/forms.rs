//! Form tokens: every form gatehouse shows carries a value only gatehouse could have made,
//! bound to what the form is for, and valid for a limited time.
//!
//! A token is `ISSUED_AT.MAC`, where MAC is HMAC-SHA-256 under the deployment's form key (kept
//! in the store, shared by every instance) over the form's purpose, what it is bound to, and
//! the time it was issued. So:
//!
//! - a value planted by someone else (a cookie set from a sibling domain, a field in a forged
//!   form) never verifies: they cannot compute the MAC;
//! - the login and sign-out forms are bound to the browser's form cookie, which another site
//!   can neither read nor set (`SameSite`, and the `__Host-` prefix under https);
//! - the consent form is bound to the session *and* the authorization request it was shown
//!   for. It is only ever shown after the request's re-authentication rules (`prompt=login`,
//!   `max_age`) were checked against that session, so a valid consent token proves they were:
//!   the login form's token, or one for another request or session, is refused.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::clock::UnixTime;

/// The name of the form key among the deployment's secrets.
pub const KEY_NAME: &str = "form_key";

/// How long a form stays valid: long enough to look up a password, short enough that a form
/// left open overnight is shown as expired rather than trusted.
pub const MAX_AGE: i64 = 3600;

/// The key every form token is made with: 256 random bits, from the store.
#[derive(Clone)]
pub struct FormKey(hmac::Key);

impl FormKey {
    pub fn new(secret: &[u8]) -> FormKey {
        FormKey(hmac::Key::new(hmac::HMAC_SHA256, secret))
    }
}

impl std::fmt::Debug for FormKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FormKey(..)")
    }
}

/// What a form is for, and what its token is bound to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose<'a> {
    /// The login form, bound to the browser's form cookie.
    Login { browser: &'a str },
    /// The sign-out confirmation, bound to the browser's form cookie.
    Logout { browser: &'a str },
    /// The consent form, bound to the session (its id hash) and the authorization request
    /// (its query string) it was shown for.
    Consent { session: &'a str, request: &'a str },
    /// The form that mails a confirmation link to a signed-in person whose client requires a
    /// confirmed address, bound like [`Purpose::Consent`].
    ConfirmAddress { session: &'a str, request: &'a str },
    /// The form a signed-in person types a device's user code into, bound to the session.
    DeviceEntry { session: &'a str },
    /// The answer to a device's request, bound to the session and the request (its user
    /// code's hash) it was shown for.
    DeviceAnswer {
        session: &'a str,
        user_code: &'a str,
    },
    /// The second step of a sign-in, after a right password: bound to the browser, the person
    /// whose password it was, and what the sign-in continues. Valid for [`STEP_MAX_AGE`] after
    /// the password: holding it is proof of the password, nothing more.
    SecondFactor {
        browser: &'a str,
        username: &'a str,
        continuation: &'a str,
    },
    /// Enrolling an authenticator app during a sign-in, after a right password: bound like
    /// [`Purpose::SecondFactor`] and to the secret the page showed, so the app enrolled is the
    /// one the person scanned and no other.
    Enrol {
        browser: &'a str,
        username: &'a str,
        continuation: &'a str,
        secret: &'a str,
    },
    /// Adding a passkey during a sign-in, after a right password, where one is required: bound
    /// like [`Purpose::SecondFactor`].
    PasskeyEnrol {
        browser: &'a str,
        username: &'a str,
        continuation: &'a str,
    },
    /// A form of the person's own account page, bound to the session.
    Account { session: &'a str },
    /// Setting up an authenticator app from the account page: bound to the session and the
    /// secret the page showed.
    AccountEnrol { session: &'a str, secret: &'a str },
    /// A form of the administration pages, bound to the (administrator's) session.
    Admin { session: &'a str },
    /// Not a form: the seal of an authorization request `/authorize` accepted as its client
    /// pushed or signed it, carried with it through the sign-in (`oidc::par::SEAL`), bound to
    /// the request.
    SealedRequest { request: &'a str },
}

/// How long after a right password its second step may be completed: time to find a phone,
/// or to install an app and scan a code.
pub const STEP_MAX_AGE: i64 = 900;

impl Purpose<'_> {
    /// How long a token for it stays valid.
    fn max_age(&self) -> i64 {
        match self {
            Purpose::SecondFactor { .. }
            | Purpose::Enrol { .. }
            | Purpose::PasskeyEnrol { .. }
            | Purpose::Account { .. }
            | Purpose::AccountEnrol { .. }
            | Purpose::Admin { .. } => STEP_MAX_AGE,
            _ => MAX_AGE,
        }
    }

    /// The MAC's input: every part length-prefixed, so no two purposes or bindings can be
    /// made to read the same.
    fn message(&self, issued_at: UnixTime) -> Vec<u8> {
        let parts: &[&str] = match self {
            Purpose::Login { browser } => &["login", browser, ""],
            Purpose::Logout { browser } => &["logout", browser, ""],
            Purpose::Consent { session, request } => &["consent", session, request],
            Purpose::ConfirmAddress { session, request } => &["confirm-address", session, request],
            Purpose::DeviceEntry { session } => &["device-entry", session, ""],
            Purpose::DeviceAnswer { session, user_code } => &["device-answer", session, user_code],
            Purpose::SecondFactor {
                browser,
                username,
                continuation,
            } => &["second-factor", browser, username, continuation],
            Purpose::Enrol {
                browser,
                username,
                continuation,
                secret,
            } => &["enrol", browser, username, continuation, secret],
            Purpose::PasskeyEnrol {
                browser,
                username,
                continuation,
            } => &["passkey-enrol", browser, username, continuation],
            Purpose::Account { session } => &["account", session, ""],
            Purpose::AccountEnrol { session, secret } => &["account-enrol", session, secret],
            Purpose::Admin { session } => &["admin", session, ""],
            // Named when only pushed requests were sealed: a sign-in under way across an
            // upgrade goes on.
            Purpose::SealedRequest { request } => &["pushed-request", request, ""],
        };
        let mut m = Vec::with_capacity(64 + parts.iter().map(|p| p.len()).sum::<usize>());
        for p in parts.iter() {
            m.extend_from_slice(&(p.len() as u64).to_be_bytes());
            m.extend_from_slice(p.as_bytes());
        }
        m.extend_from_slice(&issued_at.to_be_bytes());
        m
    }
}

/// A token for `purpose`, issued at `now`.
pub fn issue(key: &FormKey, purpose: Purpose<'_>, now: UnixTime) -> String {
    let tag = hmac::sign(&key.0, &purpose.message(now));
    format!("{now}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
}

/// Whether `token` was issued by this deployment for `purpose`, at most [`MAX_AGE`] seconds
/// ([`STEP_MAX_AGE`] for a sign-in's second step) before `now` (and not in the future beyond a minute of clock skew between instances).
/// The MAC is compared in constant time.
pub fn verify(key: &FormKey, purpose: Purpose<'_>, token: &str, now: UnixTime) -> bool {
    let Some((issued_at, tag)) = token.split_once('.') else {
        return false;
    };
    let Ok(issued_at) = issued_at.parse::<UnixTime>() else {
        return false;
    };
    if now - issued_at > purpose.max_age() || issued_at - now > 60 {
        return false;
    }
    let Ok(tag) = URL_SAFE_NO_PAD.decode(tag) else {
        return false;
    };
    hmac::verify(&key.0, &purpose.message(issued_at), &tag).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_800_000_000;

    fn key() -> FormKey {
        FormKey::new(&[7; 32])
    }

    #[test]
    fn a_token_verifies_for_its_purpose_and_binding_only() {
        let login = Purpose::Login { browser: "b1" };
        let token = issue(&key(), login, NOW);
        assert!(verify(&key(), login, &token, NOW + 10));
        let others = [
            Purpose::Login { browser: "b2" },
            Purpose::Logout { browser: "b1" },
            Purpose::Consent {
                session: "b1",
                request: "",
            },
        ];
        for other in others {
            assert!(!verify(&key(), other, &token, NOW), "{other:?}");
        }
        assert!(
            !verify(&FormKey::new(&[8; 32]), login, &token, NOW),
            "another deployment's key"
        );
    }

    #[test]
    fn a_consent_token_is_bound_to_its_session_and_request() {
        let shown = Purpose::Consent {
            session: "s1",
            request: "client_id=a&prompt=login",
        };
        let token = issue(&key(), shown, NOW);
        assert!(verify(&key(), shown, &token, NOW));
        let cases = [
            Purpose::Consent {
                session: "s2",
                request: "client_id=a&prompt=login",
            },
            Purpose::Consent {
                session: "s1",
                request: "client_id=a",
            },
            // Length prefixes: moving bytes between the parts changes the message.
            Purpose::Consent {
                session: "s1client_id=a",
                request: "&prompt=login",
            },
            // The form that mails a confirmation link, shown for the same: not a consent.
            Purpose::ConfirmAddress {
                session: "s1",
                request: "client_id=a&prompt=login",
            },
        ];
        for other in cases {
            assert!(!verify(&key(), other, &token, NOW), "{other:?}");
        }
    }

    #[test]
    fn planted_stale_and_malformed_values_are_refused() {
        let login = Purpose::Login { browser: "short" };
        let token = issue(&key(), login, NOW);
        let refused = [
            "short".to_owned(),
            String::new(),
            ".".to_owned(),
            format!("{NOW}."),
            format!("{NOW}.!!!"),
            format!("x.{}", token.split_once('.').unwrap().1),
            // The same MAC with another time.
            format!("{}.{}", NOW + 1, token.split_once('.').unwrap().1),
        ];
        for t in &refused {
            assert!(!verify(&key(), login, t, NOW), "{t:?}");
        }
        assert!(verify(&key(), login, &token, NOW + MAX_AGE));
        assert!(!verify(&key(), login, &token, NOW + MAX_AGE + 1), "expired");
        assert!(!verify(&key(), login, &token, NOW - 61), "from the future");
    }

    #[test]
    fn a_second_step_token_is_bound_to_its_person_flow_and_secret_and_lasts_minutes() {
        let step = Purpose::SecondFactor {
            browser: "b1",
            username: "alice",
            continuation: "authorize:client_id=a",
        };
        let token = issue(&key(), step, NOW);
        assert!(verify(&key(), step, &token, NOW + STEP_MAX_AGE));
        assert!(
            !verify(&key(), step, &token, NOW + STEP_MAX_AGE + 1),
            "expired"
        );
        for other in [
            Purpose::SecondFactor {
                browser: "b2",
                username: "alice",
                continuation: "authorize:client_id=a",
            },
            Purpose::SecondFactor {
                browser: "b1",
                username: "mallory",
                continuation: "authorize:client_id=a",
            },
            Purpose::SecondFactor {
                browser: "b1",
                username: "alice",
                continuation: "authorize:client_id=b",
            },
            Purpose::Enrol {
                browser: "b1",
                username: "alice",
                continuation: "authorize:client_id=a",
                secret: "",
            },
            Purpose::Login { browser: "b1" },
        ] {
            assert!(!verify(&key(), other, &token, NOW), "{other:?}");
        }
        let enrol = |secret| Purpose::Enrol {
            browser: "b1",
            username: "alice",
            continuation: "device:",
            secret,
        };
        let token = issue(&key(), enrol("S1"), NOW);
        assert!(verify(&key(), enrol("S1"), &token, NOW));
        assert!(!verify(&key(), enrol("S2"), &token, NOW), "another secret");
    }
}
