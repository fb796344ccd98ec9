use serde::{Deserialize, Serialize};

use super::named;
use crate::clock::UnixTime;

named! {
    /// How strongly a person must prove who they are to use a client, set per client and per
    /// group (the strictest that applies wins, `auth::policy::required`). Also the `acr` values
    /// gatehouse states and accepts: ordered from weakest to strongest.
    #[derive(Default, PartialOrd, Ord, utoipa::ToSchema)]
    #[schema(rename_all = "snake_case")]
    pub enum AuthPolicy ("authentication policy") {
        /// A password. A person who enrolled a second factor is still asked for it.
        #[default]
        Password = "password",
        /// A password and a second factor (an authenticator app's code, a recovery code, or a
        /// passkey), or a passkey alone. A person who has none enrols an app right after their
        /// password.
        TwoFactor = "two_factor",
        /// A passkey: phishing-resistant, since it answers only this deployment's origin. A
        /// person who has none adds one right after their password.
        Passkey = "passkey",
    }
}

/// How a person proved who they are in one sign-in: the methods of RFC 8176, kept with the
/// session and everything issued in it (the ID token's `amr` and `acr`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Amr {
    /// `pwd`: a password.
    pub password: bool,
    /// `otp`: a one-time code (RFC 6238 TOTP, or a single-use recovery code).
    pub otp: bool,
    /// `hwk` and `user`: a passkey, with user verification (a PIN or a fingerprint on the
    /// authenticator): two factors in one.
    pub passkey: bool,
}

impl Amr {
    /// A password alone.
    pub const PASSWORD: Amr = Amr {
        password: true,
        otp: false,
        passkey: false,
    };
    /// A password and a one-time code.
    pub const PASSWORD_AND_OTP: Amr = Amr {
        password: true,
        otp: true,
        passkey: false,
    };
    /// A passkey alone.
    pub const PASSKEY: Amr = Amr {
        password: false,
        otp: false,
        passkey: true,
    };

    /// The `amr` claim's values (RFC 8176 §2), `mfa` added when more than one factor was used.
    pub fn values(self) -> Vec<&'static str> {
        let mut v = Vec::with_capacity(3);
        if self.password {
            v.push("pwd");
        }
        if self.otp {
            v.push("otp");
        }
        if self.passkey {
            v.extend(["hwk", "user"]);
        }
        if v.len() > 1 {
            v.push("mfa");
        }
        v
    }

    /// How it is stored: the methods, space-separated (`pwd otp`).
    pub fn stored(self) -> String {
        self.values()
            .into_iter()
            .filter(|m| !matches!(*m, "mfa" | "user"))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Reads what [`Amr::stored`] wrote; unknown methods are ignored, so a row written by a
    /// newer release never counts for more than what this one knows.
    pub fn from_stored(s: &str) -> Amr {
        let mut amr = Amr::default();
        for m in s.split_ascii_whitespace() {
            match m {
                "pwd" => amr.password = true,
                "otp" => amr.otp = true,
                "hwk" => amr.passkey = true,
                _ => {}
            }
        }
        amr
    }

    /// The strongest policy this sign-in satisfies: the `acr` claim. `None` when it satisfies
    /// none (a one-time code alone: nothing gatehouse issues).
    pub fn level(self) -> Option<AuthPolicy> {
        match self {
            Amr { passkey: true, .. } => Some(AuthPolicy::Passkey),
            Amr {
                password: true,
                otp: true,
                ..
            } => Some(AuthPolicy::TwoFactor),
            Amr { password: true, .. } => Some(AuthPolicy::Password),
            _ => None,
        }
    }
}

/// A person's authenticator app (RFC 6238), as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    pub user_id: String,
    /// The shared secret: 160 random bits.
    pub secret: Vec<u8>,
    pub created_at: UnixTime,
    /// The last time step a code was accepted for: no code of it or before is accepted again
    /// (RFC 6238 §5.2).
    pub last_step: Option<i64>,
}

/// What a person has enrolled, as an administrator or the person sees it (never a secret).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Factors {
    /// When the authenticator app was enrolled; absent when there is none.
    pub totp_enrolled_at: Option<UnixTime>,
    /// Recovery codes not used yet.
    pub recovery_codes_left: u32,
    /// Passkeys, oldest first.
    #[serde(default)]
    pub passkeys: Vec<super::PasskeyView>,
}

impl Factors {
    /// Whether the person has an authenticator app.
    pub fn has_app(&self) -> bool {
        self.totp_enrolled_at.is_some()
    }

    /// Whether the person has nothing enrolled: no app, no recovery code, no passkey.
    pub fn is_empty(&self) -> bool {
        !self.has_second_factor() && self.recovery_codes_left == 0
    }

    /// Whether the person has a second factor to be asked for after their password: an
    /// authenticator app, or a passkey.
    pub fn has_second_factor(&self) -> bool {
        self.has_app() || !self.passkeys.is_empty()
    }
}

/// A one-time code presented as a second factor, and which kind it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecondFactorKind {
    Totp,
    RecoveryCode,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amr_reads_back_and_names_its_claims() {
        for (amr, stored, claim, level) in [
            (
                Amr::PASSWORD,
                "pwd",
                &["pwd"][..],
                Some(AuthPolicy::Password),
            ),
            (
                Amr::PASSWORD_AND_OTP,
                "pwd otp",
                &["pwd", "otp", "mfa"][..],
                Some(AuthPolicy::TwoFactor),
            ),
            (
                Amr::PASSKEY,
                "hwk",
                &["hwk", "user", "mfa"][..],
                Some(AuthPolicy::Passkey),
            ),
            (Amr::default(), "", &[][..], None),
        ] {
            assert_eq!(amr.stored(), stored);
            assert_eq!(Amr::from_stored(stored), amr);
            assert_eq!(amr.values(), claim);
            assert_eq!(amr.level(), level);
        }
        // A method this release does not know counts for nothing.
        assert_eq!(Amr::from_stored("pwd smartcard"), Amr::PASSWORD);
        assert!(AuthPolicy::Password < AuthPolicy::TwoFactor);
        assert!(AuthPolicy::TwoFactor < AuthPolicy::Passkey);
    }
}
