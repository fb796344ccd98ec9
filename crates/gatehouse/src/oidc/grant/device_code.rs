//! A device polling with its `device_code` (RFC 8628 §3.4, §3.5).

use super::authorization_code::NewFamily;
use crate::clock::UnixTime;
use crate::model::{DeviceAnswer, DeviceAuthorization, Grant, Polled, User};
use crate::oidc::device::{self, SLOW_DOWN_STEP};

/// What the store read about a presented device code, in the transaction that applies the
/// decision (locked against concurrent polls where the backend needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceRow {
    pub authorization: DeviceAuthorization,
    /// The user who approved it, once someone did.
    pub user: Option<User>,
    /// Whether that user may use the client now (`store::columns::may_use_client!`).
    pub access_allowed: bool,
}

/// What to do with a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Poll {
    /// Delete the authorization, create `family` and store the new tokens in it.
    Issue {
        family: NewFamily,
        grant: Box<Grant>,
    },
    /// Record the poll's time.
    Pending,
    /// Record the poll's time and the longer interval.
    SlowDown { interval: i64 },
    /// Delete the authorization: the person refused.
    Denied,
    /// Delete the authorization: the person, `username`, may not use the client.
    NoAccess { username: String },
    /// Change nothing (the sweep removes it).
    Expired,
    /// Change nothing.
    Invalid,
}

impl Poll {
    /// Whether the authorization is used up: delete it.
    pub fn consumes(&self) -> bool {
        matches!(
            self,
            Poll::Issue { .. } | Poll::Denied | Poll::NoAccess { .. }
        )
    }

    /// The poll to record, if any: `Some(None)` the time only, `Some(Some(interval))` the time
    /// and the longer interval.
    pub fn recorded(&self) -> Option<Option<i64>> {
        match self {
            Poll::Pending => Some(None),
            Poll::SlowDown { interval } => Some(Some(*interval)),
            _ => None,
        }
    }
}

/// What the token endpoint answers once the store applied the decision.
impl From<Poll> for Polled {
    fn from(p: Poll) -> Polled {
        match p {
            Poll::Issue { grant, .. } => Polled::Issued(grant),
            Poll::Pending => Polled::Pending,
            Poll::SlowDown { interval } => Polled::SlowDown { interval },
            Poll::Denied => Polled::Denied,
            Poll::NoAccess { username } => Polled::NoAccess { username },
            Poll::Expired => Polled::Expired,
            Poll::Invalid => Polled::Invalid,
        }
    }
}

/// Decides a poll by `client_id` at `now`. `family_id` is the id a new family gets.
///
/// The tokens of a device are not tied to the browser session that approved it: signing out
/// on the phone does not sign the television out. They end with their refresh token's
/// lifetime, a revocation, or the user's sign-out everywhere, like `offline_access`.
pub fn decide(row: Option<DeviceRow>, client_id: &str, family_id: String, now: UnixTime) -> Poll {
    let Some(DeviceRow {
        authorization: a,
        user,
        access_allowed,
    }) = row
    else {
        return Poll::Invalid;
    };
    // Another client's code says nothing, not even whether it expired.
    if a.client_id != client_id {
        return Poll::Invalid;
    }
    if a.expires_at <= now {
        return Poll::Expired;
    }
    match a.answer {
        DeviceAnswer::Pending if device::too_fast(a.last_polled_at, a.interval, now) => {
            Poll::SlowDown {
                interval: a.interval + SLOW_DOWN_STEP,
            }
        }
        DeviceAnswer::Pending => Poll::Pending,
        DeviceAnswer::Denied => Poll::Denied,
        DeviceAnswer::Approved {
            user_id,
            auth_time,
            amr,
        } => {
            let Some(user) = user.filter(|u| u.id == user_id && !u.disabled) else {
                return Poll::Invalid;
            };
            if !access_allowed {
                return Poll::NoAccess {
                    username: user.username,
                };
            }
            let family = NewFamily {
                id: family_id,
                client_id: a.client_id,
                user_id,
                nonce: None,
                auth_time,
                amr,
                session_id_hash: None,
                resources: a.resources.clone(),
            };
            // Its first access token is for all the APIs the request named; a refresh may
            // narrow that.
            let grant = Box::new(Grant {
                user,
                client_id: family.client_id.clone(),
                scope: a.scope,
                nonce: None,
                auth_time,
                amr,
                family_id: family.id.clone(),
                session_id_hash: None,
                resources: a.resources,
            });
            Poll::Issue { family, grant }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_000_000;

    fn row(answer: DeviceAnswer) -> DeviceRow {
        let approved = matches!(answer, DeviceAnswer::Approved { .. });
        DeviceRow {
            authorization: DeviceAuthorization {
                device_code_hash: "d".into(),
                user_code_hash: "u".into(),
                client_id: "tv".into(),
                scope: "openid offline_access".into(),
                created_at: NOW - 60,
                expires_at: NOW + 540,
                interval: 5,
                last_polled_at: Some(NOW - 5),
                answer,
                resources: vec!["urn:tv-api".into()],
            },
            user: approved.then(User::example),
            access_allowed: true,
        }
    }

    fn approved() -> DeviceAnswer {
        DeviceAnswer::Approved {
            user_id: "u1".into(),
            auth_time: NOW - 100,
            amr: crate::model::Amr::PASSWORD,
        }
    }

    fn decide_at(row: DeviceRow, client: &str, now: UnixTime) -> Poll {
        decide(Some(row), client, "f1".into(), now)
    }

    #[test]
    fn an_approved_authorization_issues_a_family_outside_any_session() {
        let Poll::Issue { family, grant } = decide_at(row(approved()), "tv", NOW) else {
            panic!("not issued");
        };
        assert_eq!(
            family,
            NewFamily {
                id: "f1".into(),
                client_id: "tv".into(),
                user_id: "u1".into(),
                nonce: None,
                auth_time: NOW - 100,
                amr: crate::model::Amr::PASSWORD,
                session_id_hash: None,
                resources: vec!["urn:tv-api".into()],
            }
        );
        assert_eq!(grant.scope, "openid offline_access");
        assert_eq!(
            grant.resources,
            ["urn:tv-api"],
            "for every API the request named"
        );
        assert_eq!(grant.session_id_hash, None);
        assert_eq!(grant.user.id, "u1");
    }

    #[test]
    fn every_answer_of_the_poll() {
        let mut fast = row(DeviceAnswer::Pending);
        fast.authorization.last_polled_at = Some(NOW - 2);
        let mut slowed = fast.clone();
        slowed.authorization.interval = 10;
        slowed.authorization.last_polled_at = Some(NOW - 7);
        let mut first = row(DeviceAnswer::Pending);
        first.authorization.last_polled_at = None;
        let mut no_access = row(approved());
        no_access.access_allowed = false;
        let mut disabled = row(approved());
        disabled.user.as_mut().unwrap().disabled = true;
        let mut gone = row(approved());
        gone.user = None;
        let mut expired_approved = row(approved());
        expired_approved.authorization.expires_at = NOW;
        let cases: Vec<(&str, DeviceRow, &str, Poll)> = vec![
            ("pending", row(DeviceAnswer::Pending), "tv", Poll::Pending),
            ("first poll", first, "tv", Poll::Pending),
            ("too fast", fast, "tv", Poll::SlowDown { interval: 10 }),
            (
                "too fast again",
                slowed,
                "tv",
                Poll::SlowDown { interval: 15 },
            ),
            ("denied", row(DeviceAnswer::Denied), "tv", Poll::Denied),
            (
                "no access",
                no_access,
                "tv",
                Poll::NoAccess {
                    username: "alice".into(),
                },
            ),
            ("disabled user", disabled, "tv", Poll::Invalid),
            ("user deleted", gone, "tv", Poll::Invalid),
            (
                "expired at now",
                expired_approved.clone(),
                "tv",
                Poll::Expired,
            ),
            ("another client", row(approved()), "other", Poll::Invalid),
            (
                "another client, expired",
                expired_approved,
                "other",
                Poll::Invalid,
            ),
        ];
        for (name, r, client, want) in cases {
            assert_eq!(decide_at(r, client, NOW), want, "{name}");
        }
        assert_eq!(
            decide(None, "tv", "f1".into(), NOW),
            Poll::Invalid,
            "unknown"
        );
    }

    #[test]
    fn an_approval_is_not_slowed_down() {
        let mut r = row(approved());
        r.authorization.last_polled_at = Some(NOW);
        assert!(matches!(decide_at(r, "tv", NOW), Poll::Issue { .. }));
    }
}
