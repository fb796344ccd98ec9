//! The domain: what gatehouse knows about people, applications, sign-ins and tokens, as plain
//! data. Every other layer speaks these types: `oidc` and `auth` decide over them, `store`
//! loads and saves them, `http` shows them. This module depends on none of those layers.
//!
//! Closed sets are enums (grant types, revocation reasons, audit kinds), so a typo is a compile
//! error and a new value is one variant with its stored name.

mod audit;
mod claim;
mod client;
mod consent;
mod device;
mod email;
mod factor;
mod group;
mod key;
mod naming;
mod notice;
mod passkey;
mod session;
mod signup;
mod token;
mod user;

pub use audit::{AuditEvent, AuditKind, AuditQuery, AuditRecord, TokensIssued};
pub use claim::{ClaimOwner, ClaimsChange, ClaimsToRelease, CustomClaims};
pub use client::{
    AccessTokenFormat, AppLink, Client, ClientAuthMethod, ClientDisplay, ClientKeys, ClientLogo,
    GrantType, PreviousSecret, SubjectType,
};
pub use consent::{Consent, StaysSignedIn};
pub use device::{DeviceAnswer, DeviceAuthorization, Polled};
pub use email::{EmailPurpose, EmailToken, Mail, QueuedMail};
pub use factor::{Amr, AuthPolicy, Factors, SecondFactorKind, TotpFactor};
pub use group::{
    Group, GroupChange, GroupNameProblem, MAX_GROUP_NAME, group_name_problem,
    new_group_name_problem,
};
pub use key::{Retirement, SigningAlg, SigningKey};
pub use naming::Named;
pub use notice::{Farewell, Notice, NoticeKind, QueuedNotice};
pub use passkey::{Challenge, ChallengeKind, PasskeyRemoval, PasskeyView, StoredPasskey};
pub use session::{EndedFrom, LoggedOut, LogoutNotice, Session};
pub use signup::{NoSignup, SignedUp, SignupLink};
pub use token::{
    AccessGrant, AuthorizationCode, ClientToken, CodeRequest, Grant, NewTokens, OneTime,
    OneTimeKind, Redeemed, RefreshAsk, RetryCopy, Revocation, RevokeReason, Rotated, TokenInfo,
    TokenKind, UsedBefore,
};
pub use user::{Profile, User, UserChange, UserEdit, UserSearch};

/// A stored name that is not one of a closed set's values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {set} {value:?}")]
pub struct UnknownName {
    /// Which set: "grant type", "revocation reason", "audit kind".
    pub set: &'static str,
    pub value: String,
}

/// The stored names of a closed set, both ways: `as_str` for writing, `FromStr` for reading,
/// and serde through the same names.
macro_rules! named {
    ($(#[$meta:meta])* $vis:vis enum $name:ident ($set:literal) {
        $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The name it is stored and sent under.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::model::UnknownName;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::model::UnknownName { set: $set, value: s.to_owned() }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}
pub(crate) use named;

#[cfg(test)]
mod tests {
    use super::*;

    /// Stored names are a format: each set's names are distinct and read back as themselves.
    #[test]
    fn every_name_reads_back_as_its_value() {
        fn check<T: Copy + Eq + std::fmt::Debug + std::str::FromStr>(
            all: &[T],
            name: fn(T) -> &'static str,
        ) {
            let mut seen = std::collections::HashSet::new();
            for &v in all {
                assert!(seen.insert(name(v)), "{v:?} shares its name");
                assert!(
                    matches!(name(v).parse::<T>(), Ok(back) if back == v),
                    "{v:?}"
                );
            }
        }
        check(GrantType::ALL, GrantType::as_str);
        check(RevokeReason::ALL, RevokeReason::as_str);
        check(AuditKind::ALL, AuditKind::as_str);
        check(NoticeKind::ALL, NoticeKind::as_str);
        check(SigningAlg::ALL, SigningAlg::as_str);
        check(AuthPolicy::ALL, AuthPolicy::as_str);
        assert_eq!(
            "password".parse::<GrantType>(),
            Err(UnknownName {
                set: "grant type",
                value: "password".into()
            })
        );
        assert_eq!(
            serde_json::to_string(&GrantType::RefreshToken).unwrap(),
            r#""refresh_token""#
        );
        assert!(serde_json::from_str::<AuditKind>(r#""login.maybe""#).is_err());
    }
}
