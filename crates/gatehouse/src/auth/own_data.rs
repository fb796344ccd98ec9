//! What a person's account holds, as they download it from their account page: everything
//! gatehouse keeps about them that they can read there, in one JSON document, and no secret
//! (no password hash, no authenticator secret, no session or token id, no passkey's key).

use serde_json::{Value, json};

use crate::clock::{UnixTime, rfc3339};
use crate::model::{
    AuditEvent, Consent, CustomClaims, Factors, Session, StaysSignedIn, TokensIssued, User,
};

/// The most records of their activity a download holds, newest first (the audit log's
/// retention bounds how far back they go).
pub const MAX_ACTIVITY: usize = 1000;

/// What the store read about the person, for their download.
#[derive(Debug, Clone, Copy)]
pub struct OwnData<'a> {
    pub user: &'a User,
    /// The groups they are in, by name.
    pub groups: &'a [String],
    /// The domains of their address rule; none: no rule.
    pub address_domains: &'a [String],
    pub factors: &'a Factors,
    /// Their live sessions, newest first.
    pub sessions: &'a [Session],
    /// What they allowed applications, with each application's name.
    pub consents: &'a [(Consent, String)],
    /// The applications that stay signed in when they sign out, with each one's name.
    pub staying: &'a [(StaysSignedIn, String)],
    /// The custom claims applications that see their profile are told.
    pub claims: &'a CustomClaims,
    /// Records of their activity, newest first, at most [`MAX_ACTIVITY`].
    pub activity: &'a [AuditEvent],
    /// The applications given tokens for them, with each application's name, the latest
    /// first.
    pub tokens_issued: &'a [(TokensIssued, String)],
}

/// The document a person downloads at `now` from the server `issuer`.
pub fn document(d: &OwnData<'_>, issuer: &str, now: UnixTime) -> Value {
    let u = d.user;
    let at = |t: UnixTime| rfc3339(t);
    json!({
        "issuer": issuer,
        "downloaded_at": at(now),
        "account": {
            "username": u.username,
            "name": u.name,
            "given_name": u.profile.given_name,
            "family_name": u.profile.family_name,
            "email": u.email,
            "email_verified": u.email_verified,
            "locale": u.profile.locale,
            "picture": u.profile.picture,
            "created_at": at(u.created_at),
            "disabled": u.disabled,
            "has_password": u.password_hash.is_some(),
            "sign_in_only_with_a_confirmed_address_at": d.address_domains,
        },
        "groups": d.groups,
        "claims": d.claims,
        "two_step": {
            "authenticator_app_since": d.factors.totp_enrolled_at.map(at),
            "recovery_codes_left": d.factors.recovery_codes_left,
            "passkeys": d.factors.passkeys.iter().map(|p| json!({
                "name": p.name,
                "added_at": at(p.created_at),
                "last_used_at": p.last_used_at.map(at),
            })).collect::<Vec<_>>(),
        },
        "sessions": d.sessions.iter().map(|s| json!({
            "signed_in_at": at(s.auth_time),
            "with": s.amr.values(),
            "last_active_at": at(s.last_seen_at),
            "ends_at": at(s.expires_at),
            "kept_on_the_device": s.kept,
            "browser": s.user_agent,
            "from": s.ip,
        })).collect::<Vec<_>>(),
        "applications_allowed": d.consents.iter().map(|(c, name)| json!({
            "client_id": c.client_id,
            "name": name,
            "scope": c.scope,
            "allowed_at": at(c.granted_at),
        })).collect::<Vec<_>>(),
        "applications_that_stay_signed_in": d.staying.iter().map(|(s, name)| json!({
            "client_id": s.client_id,
            "name": name,
            "signed_in_at": at(s.since),
            "last_used_at": at(s.last_used),
        })).collect::<Vec<_>>(),
        "tokens_issued_to_applications": d.tokens_issued.iter().map(|(t, name)| json!({
            "client_id": t.client_id,
            "name": name,
            "first_at": at(t.first_at),
            "last_at": at(t.last_at),
            "times": t.times,
        })).collect::<Vec<_>>(),
        "activity": d.activity.iter().map(|e| json!({
            "at": at(e.record.at),
            "what": e.record.kind.as_str(),
            "by": by(&e.record.actor, &u.id),
            "application": e.record.client_id,
            "detail": e.record.detail,
            "browser": e.record.user_agent,
            "from": e.record.ip,
        })).collect::<Vec<_>>(),
    })
}

/// Who did what a record says, as its person reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum By {
    /// They themselves.
    You,
    /// An administrator, on the command line, the API or the administration pages.
    Administrator,
    /// An application, with its credentials (a token it sent, say).
    Application,
    /// Someone who was not signed in (a failed sign-in with their name, say).
    NotSignedIn,
}

impl By {
    /// Who `actor` is to the person whose id is `own_id`.
    pub fn of(actor: &str, own_id: &str) -> By {
        match actor.split_once(':') {
            Some(("user", id)) if id == own_id => By::You,
            Some(("user" | "admin", _)) => By::Administrator,
            Some(("client", _)) => By::Application,
            _ if actor == "cli" => By::Administrator,
            _ => By::NotSignedIn,
        }
    }

    /// As the file of their data says it; never an internal id.
    fn words(self) -> &'static str {
        match self {
            By::You => "you",
            By::Administrator => "an administrator",
            By::Application => "an application",
            By::NotSignedIn => "someone not signed in",
        }
    }
}

fn by(actor: &str, own_id: &str) -> &'static str {
    By::of(actor, own_id).words()
}

/// A record about the person whose id is `own_id` as they are shown it, on their account page
/// and in their data's file: with the browser and the address it was done from, unless an
/// administrator did it. Where an administrator works from is not the person's business, as
/// their security notices do not say it either (`auth::notices::address_named`): the record
/// says an administrator did it, and whom to ask is theirs to know.
pub fn as_shown(mut event: AuditEvent, own_id: &str) -> AuditEvent {
    if By::of(&event.record.actor, own_id) == By::Administrator {
        event.record.ip = None;
        event.record.user_agent = None;
    }
    event
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Amr, AuditKind, AuditRecord, PasskeyView, Profile};

    const NOW: UnixTime = 1_800_000_000;

    #[test]
    fn who_did_it_is_said_without_an_internal_id() {
        let cases = [
            ("user:me", "you"),
            ("user:another", "an administrator"),
            ("admin:ops-client", "an administrator"),
            ("cli", "an administrator"),
            ("client:wiki", "an application"),
            ("anonymous", "someone not signed in"),
        ];
        for (actor, said) in cases {
            assert_eq!(by(actor, "me"), said, "{actor}");
        }
    }

    #[test]
    fn where_an_administrator_works_from_is_not_shown_to_the_person() {
        const FIREFOX: &str =
            "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        let cases = [
            ("user:me", true),
            ("user:another", false),
            ("admin:ops-client", false),
            ("cli", false),
            ("client:wiki", true),
            ("anonymous", true),
        ];
        for (actor, from_shown) in cases {
            let record = AuditRecord::new(NOW, AuditKind::PasswordSet, actor)
                .subject(Some("grace"))
                .ip("192.0.2.7".parse().ok())
                .browser(Some(FIREFOX));
            let shown = as_shown(
                AuditEvent {
                    id: 1,
                    record: record.clone(),
                },
                "me",
            )
            .record;
            let expected = if from_shown {
                record
            } else {
                AuditRecord {
                    ip: None,
                    user_agent: None,
                    ..record
                }
            };
            assert_eq!(shown, expected, "{actor}");
        }
    }

    #[test]
    fn a_download_holds_what_the_person_can_read_and_no_secret() {
        let user = User {
            id: "user-id-1".into(),
            username: "grace".into(),
            email: "grace@example.com".into(),
            name: Some("Grace Hopper".into()),
            password_hash: Some("$argon2id$v=19$m=19456,t=2,p=1$SECRETHASH".into()),
            disabled: false,
            created_at: NOW - 86_400,
            email_verified: true,
            profile: Profile {
                locale: Some("en-GB".into()),
                ..Profile::default()
            },
        };
        let factors = Factors {
            totp_enrolled_at: Some(NOW - 3600),
            recovery_codes_left: 7,
            passkeys: vec![PasskeyView {
                credential_id: "CREDENTIAL-ID".into(),
                name: "Phone".into(),
                created_at: NOW - 60,
                last_used_at: None,
            }],
        };
        let session = Session {
            id_hash: "SESSION-ID-HASH".into(),
            user_id: user.id.clone(),
            auth_time: NOW - 120,
            amr: Amr::PASSWORD_AND_OTP,
            expires_at: NOW + 3600,
            last_seen_at: NOW - 5,
            user_agent: Some("Firefox".into()),
            ip: Some("192.0.2.7".into()),
            kept: false,
        };
        let consent = Consent {
            client_id: "wiki".into(),
            scope: "openid email".into(),
            granted_at: NOW - 100,
        };
        let record = AuditRecord::new(NOW - 120, AuditKind::LoginSucceeded, "user:user-id-1")
            .subject(Some("grace"))
            .detail("amr=pwd otp");
        let activity = [AuditEvent { id: 9, record }];
        let mut claims = CustomClaims::new();
        claims.insert("department".into(), json!("ops"));
        let data = OwnData {
            user: &user,
            groups: &["staff".to_owned()],
            address_domains: &["corp.example".to_owned()],
            factors: &factors,
            sessions: &[session],
            consents: &[(consent, "Team wiki".to_owned())],
            staying: &[(
                StaysSignedIn {
                    client_id: "cli".into(),
                    since: NOW - 86_400,
                    last_used: NOW - 600,
                },
                "Command line".to_owned(),
            )],
            claims: &claims,
            activity: &activity,
            tokens_issued: &[(
                TokensIssued {
                    client_id: "wiki".into(),
                    first_at: NOW - 7200,
                    last_at: NOW - 60,
                    times: 12,
                },
                "Team wiki".to_owned(),
            )],
        };
        let doc = document(&data, "https://id.example.com", NOW);
        let cases: &[(&str, Value)] = &[
            ("/issuer", json!("https://id.example.com")),
            ("/downloaded_at", json!("2027-01-15T08:00:00Z")),
            ("/account/username", json!("grace")),
            ("/account/email_verified", json!(true)),
            ("/account/locale", json!("en-GB")),
            ("/account/has_password", json!(true)),
            (
                "/account/sign_in_only_with_a_confirmed_address_at",
                json!(["corp.example"]),
            ),
            ("/groups", json!(["staff"])),
            ("/claims/department", json!("ops")),
            ("/two_step/recovery_codes_left", json!(7)),
            ("/two_step/passkeys/0/name", json!("Phone")),
            ("/sessions/0/with", json!(["pwd", "otp", "mfa"])),
            ("/sessions/0/from", json!("192.0.2.7")),
            ("/applications_allowed/0/name", json!("Team wiki")),
            ("/applications_allowed/0/scope", json!("openid email")),
            ("/activity/0/what", json!("login.succeeded")),
            ("/activity/0/detail", json!("amr=pwd otp")),
            ("/activity/0/by", json!("you")),
            (
                "/applications_that_stay_signed_in/0/client_id",
                json!("cli"),
            ),
            (
                "/applications_that_stay_signed_in/0/name",
                json!("Command line"),
            ),
            (
                "/applications_that_stay_signed_in/0/signed_in_at",
                json!("2027-01-14T08:00:00Z"),
            ),
            (
                "/applications_that_stay_signed_in/0/last_used_at",
                json!("2027-01-15T07:50:00Z"),
            ),
            ("/tokens_issued_to_applications/0/client_id", json!("wiki")),
            ("/tokens_issued_to_applications/0/name", json!("Team wiki")),
            (
                "/tokens_issued_to_applications/0/first_at",
                json!("2027-01-15T06:00:00Z"),
            ),
            (
                "/tokens_issued_to_applications/0/last_at",
                json!("2027-01-15T07:59:00Z"),
            ),
            ("/tokens_issued_to_applications/0/times", json!(12)),
        ];
        for (pointer, want) in cases {
            assert_eq!(doc.pointer(pointer), Some(want), "{pointer} in {doc:#}");
        }
        let text = doc.to_string();
        for secret in [
            "SECRETHASH",
            "SESSION-ID-HASH",
            "CREDENTIAL-ID",
            "user-id-1\"",
        ] {
            assert!(!text.contains(secret), "{secret} in {text}");
        }
    }
}
