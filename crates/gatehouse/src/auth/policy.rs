//! What a sign-in must prove, and what comes after the password.
//!
//! Each client and each group has an [`AuthPolicy`]; a request may ask for more with
//! `acr_values`. The strictest that applies wins ([`required`]). Then, after a right password
//! ([`after_password`]):
//!
//! - a person who enrolled a second factor is **always** asked for it, whatever the policy:
//!   they set it up to protect their account, and a password alone must not open it;
//! - a person who has none, where one is required, enrols one there and then (and gets their
//!   recovery codes) instead of being locked out;
//! - otherwise the password is enough.
//!
//! A session remembers how it was made ([`Amr`]); one that is not strong enough for a request
//! ([`satisfies`]) signs in again, like `prompt=login`.

use crate::model::{Amr, AuthPolicy, Factors};

/// The policy a sign-in to `client` must meet: the client's, every one of the person's
/// groups', and what the request asked for (`acr`), whichever is strictest.
pub fn required(
    client: AuthPolicy,
    groups: impl IntoIterator<Item = AuthPolicy>,
    acr: Option<AuthPolicy>,
) -> AuthPolicy {
    groups.into_iter().chain(acr).fold(client, std::cmp::max)
}

/// The policy an `acr_values` parameter asks for (OpenID Connect Core §3.1.2.1): the values
/// are in order of preference and any of them will do, so the weakest one gatehouse knows.
/// Values it does not know are ignored (the parameter is voluntary); `None` when none is
/// known.
pub fn requested(acr_values: &str) -> Option<AuthPolicy> {
    acr_values
        .split(' ')
        .filter_map(|v| v.parse::<AuthPolicy>().ok())
        .min()
}

/// Whether a sign-in made with `amr` meets `required`.
pub fn satisfies(amr: Amr, required: AuthPolicy) -> bool {
    amr.level().is_some_and(|level| level >= required)
}

/// What follows a right password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterPassword {
    /// Signed in with this.
    SignedIn(Amr),
    /// Ask for the second factor the person has.
    SecondFactor,
    /// A second factor is required and the person has none: enrol an app now.
    Enrol,
    /// A passkey is required: ask for the person's.
    Passkey,
    /// A passkey is required and the person has none: add one now.
    AddPasskey,
    /// A passkey is needed (required, or the person's only second factor) and passkeys cannot
    /// work with this server's issuer: no page can finish the sign-in, and the password alone
    /// is less than was asked for or than the person chose.
    PasskeysUnavailable,
}

/// The step after a right password, for a person with `factors`, where `required` applies
/// and passkeys work with this server's issuer or not (`passkeys_work`).
pub fn after_password(
    required: AuthPolicy,
    factors: &Factors,
    passkeys_work: bool,
) -> AfterPassword {
    match required {
        AuthPolicy::Passkey if !passkeys_work => AfterPassword::PasskeysUnavailable,
        AuthPolicy::Passkey if factors.passkeys.is_empty() => AfterPassword::AddPasskey,
        AuthPolicy::Passkey => AfterPassword::Passkey,
        // A passkey is the person's only second factor.
        _ if !factors.has_app() && !factors.passkeys.is_empty() && !passkeys_work => {
            AfterPassword::PasskeysUnavailable
        }
        _ if factors.has_second_factor() => AfterPassword::SecondFactor,
        AuthPolicy::TwoFactor => AfterPassword::Enrol,
        AuthPolicy::Password => AfterPassword::SignedIn(Amr::PASSWORD),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use AuthPolicy::{Passkey, Password, TwoFactor};

    #[test]
    fn the_strictest_policy_wins() {
        for (client, groups, acr, expected) in [
            (Password, &[][..], None, Password),
            (TwoFactor, &[][..], None, TwoFactor),
            (Password, &[Password, TwoFactor][..], None, TwoFactor),
            (Password, &[Password][..], Some(TwoFactor), TwoFactor),
            // A request cannot ask for less than the client or a group requires.
            (TwoFactor, &[][..], Some(Password), TwoFactor),
            (Password, &[TwoFactor][..], Some(Password), TwoFactor),
        ] {
            assert_eq!(
                required(client, groups.iter().copied(), acr),
                expected,
                "{client:?} {groups:?} {acr:?}"
            );
        }
    }

    #[test]
    fn acr_values_ask_for_the_weakest_known_value() {
        for (values, expected) in [
            ("", None),
            ("two_factor", Some(TwoFactor)),
            ("password", Some(Password)),
            ("two_factor password", Some(Password)),
            ("passkey", Some(Passkey)),
            ("passkey two_factor", Some(TwoFactor)),
            ("urn:other:loa:3 two_factor", Some(TwoFactor)),
            ("urn:other:loa:3", None),
            ("TWO_FACTOR", None),
            ("  two_factor  ", Some(TwoFactor)),
        ] {
            assert_eq!(requested(values), expected, "{values:?}");
        }
    }

    #[test]
    fn after_the_password() {
        let none = Factors::default();
        let app = Factors {
            totp_enrolled_at: Some(1),
            recovery_codes_left: 10,
            passkeys: vec![],
        };
        // A passkey is asked for after a password too.
        let passkey = Factors {
            passkeys: vec![crate::model::PasskeyView {
                credential_id: "c1".into(),
                name: "Phone".into(),
                created_at: 1,
                last_used_at: None,
            }],
            ..Factors::default()
        };
        let both = Factors {
            passkeys: passkey.passkeys.clone(),
            ..app.clone()
        };
        // Recovery codes alone are no factor to be asked for (they come with the app).
        let codes_only = Factors {
            totp_enrolled_at: None,
            recovery_codes_left: 10,
            passkeys: vec![],
        };
        // (what the sign-in requires, the person's factors, whether passkeys can work here,
        // what comes after the password)
        for (required, factors, passkeys_work, expected) in [
            (
                Password,
                &none,
                true,
                AfterPassword::SignedIn(Amr::PASSWORD),
            ),
            (
                Password,
                &codes_only,
                true,
                AfterPassword::SignedIn(Amr::PASSWORD),
            ),
            (TwoFactor, &none, true, AfterPassword::Enrol),
            (TwoFactor, &codes_only, true, AfterPassword::Enrol),
            // Whoever enrolled an app is asked for it, even where a password would do.
            (Password, &app, true, AfterPassword::SecondFactor),
            (TwoFactor, &app, true, AfterPassword::SecondFactor),
            (Password, &passkey, true, AfterPassword::SecondFactor),
            (TwoFactor, &passkey, true, AfterPassword::SecondFactor),
            // Where a passkey is required, an app's code is not enough.
            (Passkey, &passkey, true, AfterPassword::Passkey),
            (Passkey, &app, true, AfterPassword::AddPasskey),
            (Passkey, &none, true, AfterPassword::AddPasskey),
            // Where passkeys cannot work (an issuer that is an IP address): a sign-in that needs
            // one cannot be finished, and is not finished with less.
            (Passkey, &passkey, false, AfterPassword::PasskeysUnavailable),
            (Passkey, &none, false, AfterPassword::PasskeysUnavailable),
            (Passkey, &app, false, AfterPassword::PasskeysUnavailable),
            (
                Password,
                &passkey,
                false,
                AfterPassword::PasskeysUnavailable,
            ),
            (
                TwoFactor,
                &passkey,
                false,
                AfterPassword::PasskeysUnavailable,
            ),
            // The app is the other way on.
            (Password, &both, false, AfterPassword::SecondFactor),
            (Password, &app, false, AfterPassword::SecondFactor),
            (TwoFactor, &none, false, AfterPassword::Enrol),
            (
                Password,
                &none,
                false,
                AfterPassword::SignedIn(Amr::PASSWORD),
            ),
        ] {
            assert_eq!(
                after_password(required, factors, passkeys_work),
                expected,
                "{required:?} {factors:?}, passkeys work: {passkeys_work}"
            );
        }
    }

    #[test]
    fn a_session_satisfies_what_it_proved_and_less() {
        for (amr, required, expected) in [
            (Amr::PASSWORD, Password, true),
            (Amr::PASSWORD, TwoFactor, false),
            (Amr::PASSWORD_AND_OTP, Password, true),
            (Amr::PASSWORD_AND_OTP, TwoFactor, true),
            (Amr::PASSKEY, TwoFactor, true),
            (Amr::PASSKEY, Passkey, true),
            (Amr::PASSWORD_AND_OTP, Passkey, false),
            (Amr::default(), Password, false),
        ] {
            assert_eq!(satisfies(amr, required), expected, "{amr:?} {required:?}");
        }
    }
}
