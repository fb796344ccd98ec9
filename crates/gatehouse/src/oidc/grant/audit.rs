//! What the audit log says about a token request, written once for every grant and for both
//! ways a record reaches the store: in the transaction of the change it describes (a refresh,
//! one writer job for both), or after it.

use std::net::IpAddr;

use crate::clock::UnixTime;
use crate::model::{AuditKind, AuditRecord, Grant, Polled, Redeemed, Revocation, Rotated};

/// Who asked, from where, and when.
#[derive(Debug, Clone, Copy)]
pub struct Requester<'a> {
    pub at: UnixTime,
    pub client_id: &'a str,
    pub ip: Option<IpAddr>,
}

impl Requester<'_> {
    /// A record of `kind` by `actor`, with the client and the address.
    fn record(&self, kind: AuditKind, actor: String) -> AuditRecord {
        AuditRecord::new(self.at, kind, actor)
            .client(self.client_id)
            .ip(self.ip)
    }
}

/// Tokens issued to a person's grant; `how` is the grant type.
pub fn issued(r: &Requester<'_>, grant: &Grant, how: &str) -> AuditRecord {
    r.record(AuditKind::TokenIssued, format!("user:{}", grant.user.id))
        .subject(Some(&grant.user.username))
        .detail(format!(
            "grant={how} scope={} family={}{}",
            grant.scope,
            grant.family_id,
            for_resources(&grant.resources)
        ))
}

/// A token a client asked for itself (client credentials), with the scope granted and the
/// APIs it is for.
pub fn client_token_issued(r: &Requester<'_>, scope: &str, resources: &[String]) -> AuditRecord {
    r.record(AuditKind::TokenIssued, format!("client:{}", r.client_id))
        .detail(format!(
            "grant=client_credentials scope={scope}{}",
            for_resources(resources)
        ))
}

/// The APIs an access token is for (RFC 8707), as a record's detail ends: ` resource=URI` for
/// each; nothing for a token for its client.
fn for_resources(resources: &[String]) -> String {
    resources.iter().map(|r| format!(" resource={r}")).collect()
}

// The refusals below are the client's doing (whoever holds its credentials and the token),
// about a person: the record names them, `username`, as its subject, so it is among the
// records about them (`AuditKind::PERSONAL`) and found by their name.

/// Tokens refused because `username` may no longer use the client (its groups).
pub fn denied(r: &Requester<'_>, username: &str) -> AuditRecord {
    r.record(AuditKind::AccessDenied, format!("client:{}", r.client_id))
        .subject(Some(username))
        .detail("a token was refused: the user is not in a group that may use this client")
}

/// Tokens refused because the client requires a confirmed address (or one at the account's
/// domains) and `username`'s is not.
pub fn unconfirmed(r: &Requester<'_>, username: &str) -> AuditRecord {
    r.record(
        AuditKind::AccessUnconfirmed,
        format!("client:{}", r.client_id),
    )
    .subject(Some(username))
    .detail(
        "a token was refused: the client requires a confirmed address, or the account one at \
         its domains, and the user's is not",
    )
}

/// A rotated refresh token of `username`'s presented again: its family is revoked.
pub fn reuse_detected(r: &Requester<'_>, username: &str) -> AuditRecord {
    r.record(
        AuditKind::TokenReuseDetected,
        format!("client:{}", r.client_id),
    )
    .subject(Some(username))
    .detail("a rotated refresh token was presented; its family is revoked")
}

/// A used authorization code presented again: the tokens issued with it to `username` are
/// revoked.
pub fn code_replayed(r: &Requester<'_>, username: &str) -> AuditRecord {
    r.record(AuditKind::CodeReplayed, format!("client:{}", r.client_id))
        .subject(Some(username))
        .detail("the tokens issued with it are revoked")
}

/// The record of a code's redemption, if the log keeps it: an issue, a refusal for lack of
/// access, a replay. An invalid code changes nothing and is not audited.
pub fn redemption(outcome: &Redeemed, r: &Requester<'_>) -> Option<AuditRecord> {
    match outcome {
        Redeemed::Issued(grant) => Some(issued(r, grant, "authorization_code")),
        Redeemed::Denied { username } => Some(denied(r, username)),
        Redeemed::Replayed { username } => Some(code_replayed(r, username)),
        Redeemed::Invalid | Redeemed::OutOfTarget => None,
    }
}

/// The record of a device's poll, if the log keeps it: an issue, or a refusal for lack of
/// access (the person's own answer was audited when given). Waiting, polling too fast, expiry
/// and unknown codes are not audited.
pub fn poll(outcome: &Polled, r: &Requester<'_>) -> Option<AuditRecord> {
    match outcome {
        Polled::Issued(grant) => Some(issued(r, grant, "device_code")),
        Polled::NoAccess { username } => Some(denied(r, username)),
        Polled::Pending
        | Polled::SlowDown { .. }
        | Polled::Denied
        | Polled::Expired
        | Polled::Invalid => None,
    }
}

/// The record of a refresh's outcome, if it is one the log keeps: an issue, a refusal for lack
/// of access or of a confirmed address, a reuse. Invalid tokens, scopes too wide and retries
/// of one request are not audited (they change nothing, and a retry was audited when it was
/// first answered).
pub fn refresh(outcome: &Rotated, r: &Requester<'_>) -> Option<AuditRecord> {
    match outcome {
        Rotated::Issued(grant) => Some(issued(r, grant, "refresh_token")),
        Rotated::Denied { username } => Some(denied(r, username)),
        Rotated::Unconfirmed { username } => Some(unconfirmed(r, username)),
        Rotated::Reused { username } => Some(reuse_detected(r, username)),
        Rotated::Invalid
        | Rotated::ScopeExceeded
        | Rotated::TargetExceeded
        | Rotated::Retried { .. } => None,
    }
}

/// The record of a revocation (RFC 7009), if it revoked something: a token of another client,
/// or none, changes nothing and is not audited.
pub fn revocation(outcome: Revocation, r: &Requester<'_>) -> Option<AuditRecord> {
    let what = match outcome {
        Revocation::Family => "a refresh token and its family",
        Revocation::Access => "an access token",
        Revocation::NotFound => return None,
    };
    Some(
        r.record(AuditKind::TokenRevoked, format!("client:{}", r.client_id))
            .detail(what),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::User;

    #[test]
    fn a_redemption_and_a_poll_are_audited_when_they_issue_refuse_access_or_meet_a_replay() {
        let r = Requester {
            at: 1_000,
            client_id: "tv",
            ip: None,
        };
        let grant = || {
            Box::new(Grant {
                user: User::example(),
                client_id: "tv".into(),
                scope: "openid".into(),
                nonce: None,
                auth_time: 900,
                amr: crate::model::Amr::PASSWORD,
                family_id: "f2".into(),
                session_id_hash: None,
                resources: vec![],
            })
        };
        let detail = |a: Option<AuditRecord>| a.and_then(|a| a.detail);
        assert_eq!(
            detail(redemption(&Redeemed::Issued(grant()), &r)).as_deref(),
            Some("grant=authorization_code scope=openid family=f2")
        );
        assert_eq!(
            detail(poll(&Polled::Issued(grant()), &r)).as_deref(),
            Some("grant=device_code scope=openid family=f2")
        );
        let for_apis = Box::new(Grant {
            resources: vec!["urn:a".into(), "https://b.example/?x=1".into()],
            ..*grant()
        });
        assert_eq!(
            detail(redemption(&Redeemed::Issued(for_apis), &r)).as_deref(),
            Some(
                "grant=authorization_code scope=openid family=f2 resource=urn:a \
                 resource=https://b.example/?x=1"
            )
        );
        assert!(redemption(&Redeemed::OutOfTarget, &r).is_none());
        let kind = |a: Option<AuditRecord>| a.map(|a| a.kind);
        // A refusal and a replay name the client as who did it, and whose code it was.
        let about =
            |a: Option<AuditRecord>| a.map(|a| (a.kind, a.actor, a.subject.unwrap_or_default()));
        let alice = || "alice".to_owned();
        let by_tv = |kind| Some((kind, "client:tv".to_owned(), alice()));
        assert_eq!(
            about(redemption(&Redeemed::Denied { username: alice() }, &r)),
            by_tv(AuditKind::AccessDenied)
        );
        assert_eq!(
            about(redemption(&Redeemed::Replayed { username: alice() }, &r)),
            by_tv(AuditKind::CodeReplayed)
        );
        assert_eq!(kind(redemption(&Redeemed::Invalid, &r)), None);
        assert_eq!(
            about(poll(&Polled::NoAccess { username: alice() }, &r)),
            by_tv(AuditKind::AccessDenied)
        );
        for quiet in [
            Polled::Pending,
            Polled::SlowDown { interval: 10 },
            Polled::Denied,
            Polled::Expired,
            Polled::Invalid,
        ] {
            assert_eq!(kind(poll(&quiet, &r)), None, "{quiet:?}");
        }
    }

    #[test]
    fn a_revocation_is_audited_when_it_revoked_something() {
        let r = Requester {
            at: 1_000,
            client_id: "app",
            ip: None,
        };
        let detail = |o| revocation(o, &r).and_then(|a| a.detail);
        assert_eq!(
            detail(Revocation::Family).as_deref(),
            Some("a refresh token and its family")
        );
        assert_eq!(
            detail(Revocation::Access).as_deref(),
            Some("an access token")
        );
        assert_eq!(revocation(Revocation::NotFound, &r), None);
        let record = revocation(Revocation::Access, &r).unwrap();
        assert_eq!(
            (
                record.kind,
                record.actor.as_str(),
                record.client_id.as_deref()
            ),
            (AuditKind::TokenRevoked, "client:app", Some("app"))
        );
    }

    #[test]
    fn a_refresh_is_audited_when_it_issues_refuses_access_or_meets_reuse() {
        let r = Requester {
            at: 1_000,
            client_id: "app",
            ip: Some([192, 0, 2, 7].into()),
        };
        let grant = Grant {
            user: User::example(),
            client_id: "app".into(),
            scope: "openid offline_access".into(),
            nonce: None,
            auth_time: 900,
            amr: crate::model::Amr::PASSWORD,
            family_id: "f1".into(),
            session_id_hash: None,
            resources: vec![],
        };
        let issued = refresh(&Rotated::Issued(Box::new(grant)), &r).unwrap();
        assert_eq!(
            issued,
            AuditRecord {
                at: 1_000,
                kind: AuditKind::TokenIssued,
                actor: "user:u1".into(),
                subject: Some("alice".into()),
                client_id: Some("app".into()),
                ip: Some("192.0.2.7".into()),
                detail: Some("grant=refresh_token scope=openid offline_access family=f1".into()),
                user_agent: None,
            }
        );
        let alice = || "alice".to_owned();
        let kinds = [
            (
                Rotated::Denied { username: alice() },
                Some(AuditKind::AccessDenied),
            ),
            (
                Rotated::Reused { username: alice() },
                Some(AuditKind::TokenReuseDetected),
            ),
            (
                Rotated::Unconfirmed { username: alice() },
                Some(AuditKind::AccessUnconfirmed),
            ),
            (Rotated::Invalid, None),
            (Rotated::ScopeExceeded, None),
            (Rotated::TargetExceeded, None),
            (
                Rotated::Retried {
                    sealed: vec![1],
                    scope: "openid".into(),
                },
                None,
            ),
        ];
        for (outcome, kind) in kinds {
            let record = refresh(&outcome, &r);
            assert_eq!(record.as_ref().map(|a| a.kind), kind, "{outcome:?}");
            if let Some(a) = record {
                assert_eq!(
                    (a.actor.as_str(), a.subject.as_deref(), a.ip.as_deref()),
                    ("client:app", Some("alice"), Some("192.0.2.7"))
                );
            }
        }
    }
}
