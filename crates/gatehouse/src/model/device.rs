//! The device authorization grant (RFC 8628): a device without a browser asks for a sign-in,
//! and a person approves it on another device.

use crate::clock::UnixTime;

/// A device authorization request (RFC 8628 §3.1) and the person's answer to it, as stored.
/// Both codes are kept as hashes only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceAuthorization {
    /// What the device polls with (`device_code`), hashed.
    pub device_code_hash: String,
    /// What the person types (`user_code`, normalised by `oidc::device::normalize`), hashed.
    pub user_code_hash: String,
    pub client_id: String,
    pub scope: String,
    pub created_at: UnixTime,
    pub expires_at: UnixTime,
    /// Seconds the device must wait between polls; grows by 5 with each `slow_down`.
    pub interval: i64,
    pub last_polled_at: Option<UnixTime>,
    pub answer: DeviceAnswer,
    /// The APIs the grant is to cover (`resource`, RFC 8707), each registered for the client.
    pub resources: Vec<String>,
}

/// What the person said on the verification page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceAnswer {
    /// Nothing yet.
    Pending,
    /// Allowed, by this user, signed in at `auth_time` with `amr`.
    Approved {
        user_id: String,
        auth_time: UnixTime,
        amr: super::Amr,
    },
    /// Refused.
    Denied,
}

/// The outcome of a poll at the token endpoint (RFC 8628 §3.5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Polled {
    /// Approved: the authorization is consumed and the tokens are stored.
    Issued(Box<super::Grant>),
    /// `authorization_pending`: nobody has answered yet.
    Pending,
    /// `slow_down`: polled before the interval passed; the interval is now this long.
    SlowDown { interval: i64 },
    /// `access_denied`: the person refused. The authorization is gone.
    Denied,
    /// The person who approved, `username`, is not (any more) in a group that may use the
    /// client. The authorization is gone.
    NoAccess { username: String },
    /// `expired_token`.
    Expired,
    /// Unknown, already used, or another client's: `invalid_grant`.
    Invalid,
}

impl DeviceAnswer {
    /// How it is stored: `(answer, user_id, auth_time, amr)`.
    pub fn stored(&self) -> (&'static str, Option<&str>, Option<UnixTime>, Option<String>) {
        match self {
            DeviceAnswer::Pending => ("pending", None, None, None),
            DeviceAnswer::Approved {
                user_id,
                auth_time,
                amr,
            } => (
                "approved",
                Some(user_id),
                Some(*auth_time),
                Some(amr.stored()),
            ),
            DeviceAnswer::Denied => ("denied", None, None, None),
        }
    }

    /// Reads what [`DeviceAnswer::stored`] wrote; `None` for anything else. An approval
    /// stored before sign-ins recorded their methods was made with a password.
    pub fn from_stored(
        answer: &str,
        user_id: Option<String>,
        auth_time: Option<UnixTime>,
        amr: Option<String>,
    ) -> Option<DeviceAnswer> {
        match (answer, user_id, auth_time) {
            ("pending", _, _) => Some(DeviceAnswer::Pending),
            ("denied", _, _) => Some(DeviceAnswer::Denied),
            ("approved", Some(user_id), Some(auth_time)) => Some(DeviceAnswer::Approved {
                user_id,
                auth_time,
                amr: amr.map_or(super::Amr::PASSWORD, |a| super::Amr::from_stored(&a)),
            }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_back_as_stored() {
        for answer in [
            DeviceAnswer::Pending,
            DeviceAnswer::Denied,
            DeviceAnswer::Approved {
                user_id: "u1".into(),
                auth_time: 42,
                amr: super::super::Amr::PASSWORD_AND_OTP,
            },
        ] {
            let (a, u, t, m) = answer.stored();
            assert_eq!(
                DeviceAnswer::from_stored(a, u.map(str::to_owned), t, m),
                Some(answer)
            );
        }
        assert_eq!(
            DeviceAnswer::from_stored("approved", None, Some(1), None),
            None
        );
        assert_eq!(DeviceAnswer::from_stored("maybe", None, None, None), None);
        // Approved before sign-ins recorded their methods: with a password.
        assert_eq!(
            DeviceAnswer::from_stored("approved", Some("u1".into()), Some(1), None),
            Some(DeviceAnswer::Approved {
                user_id: "u1".into(),
                auth_time: 1,
                amr: super::super::Amr::PASSWORD,
            })
        );
    }
}
