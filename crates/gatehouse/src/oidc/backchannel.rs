//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0): the rules, pure.
//!
//! When a sign-in session ends, every client that received an ID token in it and registered a
//! `backchannel_logout_uri` is told so by a logout token POSTed to that URI. The store writes a
//! *notice* for each such client in the transaction that ends the session (an outbox), so a
//! crash cannot lose one; a sender delivers the notices, signing each logout token when it
//! sends it, and retries with backoff until the client acknowledges it or [`GIVE_UP_AFTER`]
//! passes. This module says what a logout token holds, which answers count as delivered, and
//! when to try again.

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::clock::UnixTime;
use crate::model::{AuditKind, AuditRecord, LogoutNotice};
use crate::oidc::subject::SubjectKey;

/// The event a logout token carries (§2.4).
pub const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";
/// The `typ` header of a logout token (§2.4: explicit typing, so it cannot be taken for an ID
/// token).
pub const TOKEN_TYPE: &str = "logout+jwt";
/// How long a logout token is valid once signed: the client checks it on arrival.
pub const TOKEN_TTL: i64 = 120;
/// How long a notice is retried before it is given up (and audited as undelivered): a client
/// that is down for a day has to find out from its own session expiry.
pub const GIVE_UP_AFTER: i64 = 24 * 3600;
/// The first retry waits this long; each one after waits twice as long, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: i64 = 1;
/// The longest wait between two attempts.
pub const MAX_BACKOFF: i64 = 600;
/// How long a sender owns the notices it claimed: another instance (or this one after a crash)
/// takes them over after that. Longer than one attempt can take.
pub const LEASE: i64 = 30;

/// The session id a client sees (`sid`, §2.1): derived from the session's stored hash, so it
/// names the session without revealing anything that could be turned into its cookie. Stable
/// for the session's life, the same on every instance. A client with pairwise subjects
/// (`sector`, `oidc::subject`) sees one of its sector alone, so that two clients of two
/// sectors cannot tell by it that their people signed in in one session.
pub fn sid(session_id_hash: &str, sector: Option<&str>) -> String {
    use base64::Engine as _;
    let mut digest = Sha256::new()
        .chain_update(b"gatehouse sid\0")
        .chain_update(session_id_hash.as_bytes());
    if let Some(sector) = sector {
        digest = digest.chain_update(b"\0").chain_update(sector.as_bytes());
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&digest.finalize()[..16])
}

/// A logout token's claims (§2.4): who, which session, no `nonce`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogoutClaims {
    pub iss: String,
    pub aud: String,
    pub iat: UnixTime,
    pub exp: UnixTime,
    pub jti: String,
    pub sub: String,
    pub sid: String,
    pub events: serde_json::Value,
}

/// The claims of the logout token for `notice`, signed at `now`: the person and the session as
/// its client knows them (`subjects`, `oidc::subject`).
pub fn claims(
    notice: &LogoutNotice,
    subjects: &SubjectKey,
    issuer: &str,
    now: UnixTime,
) -> LogoutClaims {
    let sector = notice.pairwise_sector.as_deref();
    LogoutClaims {
        iss: issuer.to_owned(),
        aud: notice.client_id.clone(),
        iat: now,
        exp: now + TOKEN_TTL,
        jti: notice.jti.clone(),
        sub: subjects.of(sector, &notice.user_id).into_owned(),
        sid: sid(&notice.session_id_hash, sector),
        events: serde_json::json!({ EVENT: {} }),
    }
}

/// How an attempt to deliver a notice went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// The client answered with this HTTP status.
    Answered(u16),
    /// No answer: the connection failed or timed out, or the URI could not be used.
    Failed(String),
}

/// What to do with a notice after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// The client acknowledged it: forget it.
    Delivered,
    /// Try again at this time.
    RetryAt(UnixTime),
    /// Stop trying: forget it and audit why.
    GiveUp(String),
}

/// Decides what follows an attempt: the `attempts` made before this one, the notice written
/// at `created_at`.
///
/// §2.8: a client answers 200 (or 204, which some frameworks send) when the logout worked, and
/// 400 when the token was invalid or the logout failed; a token it refused once it refuses
/// again, so a 4xx ends the notice, except 408 and 429, which ask for a later try, as do a
/// 5xx and no answer at all. A redirect is not followed (§2.5), and not taken as delivery.
pub fn settle(attempt: &Attempt, attempts: u32, created_at: UnixTime, now: UnixTime) -> Settlement {
    let problem = match attempt {
        Attempt::Answered(200 | 204) => return Settlement::Delivered,
        Attempt::Answered(s @ 400..=499) if !matches!(s, 408 | 429) => {
            return Settlement::GiveUp(format!("the client refused it with HTTP {s}"));
        }
        Attempt::Answered(s) => format!("HTTP {s}"),
        Attempt::Failed(e) => e.clone(),
    };
    let wait = FIRST_BACKOFF
        .saturating_mul(1_i64.checked_shl(attempts.min(30)).unwrap_or(i64::MAX))
        .min(MAX_BACKOFF);
    let at = now + wait;
    if at > created_at + GIVE_UP_AFTER {
        return Settlement::GiveUp(format!(
            "undelivered after {} attempts in {} s; the last: {problem}",
            attempts + 1,
            now - created_at
        ));
    }
    Settlement::RetryAt(at)
}

/// The audit record of a notice given up: in the log of the user whose session ended, naming
/// the client, why, and the token's `jti` (which the client may have logged).
pub fn undelivered(notice: &LogoutNotice, why: &str, now: UnixTime) -> AuditRecord {
    AuditRecord::new(
        now,
        AuditKind::LogoutUndelivered,
        format!("user:{}", notice.user_id),
    )
    .client(&notice.client_id)
    .detail(format!("{why}; jti={}", notice.jti))
}

/// Why a URI cannot be one gatehouse sends to or fetches from ([`uri_problem`], and
/// `client_assertion::jwks_uri_problem`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum UriProblem {
    #[error("longer than 2048 characters")]
    TooLong,
    #[error("not an absolute URI")]
    NotAbsolute,
    #[error("not an http or https URI")]
    NotHttp,
    #[error("no host")]
    NoHost,
    #[error("it has a fragment")]
    Fragment,
    #[error("it carries credentials")]
    Credentials,
    /// Where only https will do.
    #[error("not an https URL")]
    NotHttps,
}

/// Why `uri` cannot be a `backchannel_logout_uri`, if it cannot: §2.2 asks for an absolute
/// http(s) URI without a fragment. Plain http is allowed (clients often listen on an internal
/// network), credentials in the URI are not (they would end up in logs).
pub fn uri_problem(uri: &str) -> Option<UriProblem> {
    if uri.len() > 2048 {
        return Some(UriProblem::TooLong);
    }
    let Ok(u) = url::Url::parse(uri) else {
        return Some(UriProblem::NotAbsolute);
    };
    if !matches!(u.scheme(), "https" | "http") {
        return Some(UriProblem::NotHttp);
    }
    if u.host_str().is_none_or(str::is_empty) {
        return Some(UriProblem::NoHost);
    }
    if u.fragment().is_some() {
        return Some(UriProblem::Fragment);
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Some(UriProblem::Credentials);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: UnixTime = 1_000_000;

    #[test]
    fn answers_are_settled_as_the_specification_reads() {
        use Attempt::{Answered, Failed};
        let retry = |wait: i64| Settlement::RetryAt(T0 + wait);
        let cases: &[(Attempt, u32, Settlement)] = &[
            (Answered(200), 0, Settlement::Delivered),
            (Answered(204), 5, Settlement::Delivered),
            (Answered(500), 0, retry(1)),
            (Answered(503), 1, retry(2)),
            (Answered(502), 3, retry(8)),
            (Answered(408), 0, retry(1)),
            (Answered(429), 2, retry(4)),
            // A redirect is not followed, and not a delivery.
            (Answered(302), 0, retry(1)),
            (Answered(201), 0, retry(1)),
            (Failed("connection refused".into()), 0, retry(1)),
            (Failed("timed out".into()), 9, retry(512)),
            (Failed("timed out".into()), 10, retry(MAX_BACKOFF)),
            (Failed("timed out".into()), 200, retry(MAX_BACKOFF)),
        ];
        for (attempt, attempts, want) in cases {
            assert_eq!(
                &settle(attempt, *attempts, T0, T0),
                want,
                "{attempt:?} after {attempts}"
            );
        }
        for status in [400, 401, 403, 404, 410] {
            assert!(
                matches!(settle(&Answered(status), 0, T0, T0), Settlement::GiveUp(m) if m.contains(&status.to_string())),
                "{status}"
            );
        }
    }

    #[test]
    fn a_notice_is_given_up_when_its_next_try_would_fall_after_a_day() {
        let failed = Attempt::Failed("connection refused".into());
        let late = T0 + GIVE_UP_AFTER - MAX_BACKOFF;
        assert_eq!(
            settle(&failed, 40, T0, late),
            Settlement::RetryAt(T0 + GIVE_UP_AFTER)
        );
        let Settlement::GiveUp(why) = settle(&failed, 41, T0, late + 1) else {
            panic!("retried past the day");
        };
        assert!(
            why.contains("42 attempts") && why.contains("connection refused"),
            "{why}"
        );
    }

    #[test]
    fn the_token_names_the_user_the_session_and_the_event_and_expires_soon() {
        let notice = LogoutNotice {
            id: 1,
            client_id: "app".into(),
            user_id: "u1".into(),
            session_id_hash: "abc".into(),
            jti: "j1".into(),
            uri: "https://app.example/bc".into(),
            alg: crate::model::SigningAlg::EdDsa,
            attempts: 3,
            created_at: T0 - 60,
            pairwise_sector: None,
        };
        let subjects = SubjectKey::new(&[7; 32]);
        let c = claims(&notice, &subjects, "https://sso.example", T0);
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({
                "iss": "https://sso.example", "aud": "app", "iat": T0, "exp": T0 + TOKEN_TTL,
                "jti": "j1", "sub": "u1", "sid": sid("abc", None),
                "events": { EVENT: {} },
            })
        );

        // A client with pairwise subjects is told of the person and the session as it knows
        // them.
        let sector = Some("app.example");
        let pairwise = LogoutNotice {
            pairwise_sector: sector.map(str::to_owned),
            ..notice
        };
        let c = claims(&pairwise, &subjects, "https://sso.example", T0);
        assert_eq!(c.sub, subjects.of(sector, "u1"));
        assert_eq!(c.sid, sid("abc", sector));
        assert_ne!(
            (c.sub.as_str(), c.sid.as_str()),
            ("u1", sid("abc", None).as_str())
        );
    }

    #[test]
    fn the_sid_is_stable_distinct_and_not_the_stored_hash() {
        assert_eq!(sid("abc", None), sid("abc", None));
        assert_ne!(sid("abc", None), sid("abd", None));
        assert_ne!(sid("abc", None), "abc");
        assert_eq!(sid("abc", None).len(), 22);
        // What a client of public subjects has always been given.
        assert_eq!(sid("abc", None), "D6KLCLsnNciGXSwXuwOSPw");
        // Each sector its own.
        let sector = |s| sid("abc", Some(s));
        assert_eq!(sector("a.example"), sector("a.example"));
        assert_ne!(sector("a.example"), sector("b.example"));
        assert_ne!(sector("a.example"), sid("abc", None));
        assert_eq!(sector("a.example").len(), 22);
    }

    #[test]
    fn logout_uris_are_absolute_http_without_fragment_or_credentials() {
        for ok in [
            "https://app.example/logout",
            "http://app.internal:8080/oidc/backchannel?x=1",
            "http://127.0.0.1:9000/bc",
        ] {
            assert_eq!(uri_problem(ok), None, "{ok}");
        }
        for bad in [
            "/logout",
            "app.example/logout",
            "ftp://app.example/logout",
            "https://app.example/logout#frag",
            "https://user:pw@app.example/logout",
            "javascript:alert(1)",
            "https://",
        ] {
            assert!(uri_problem(bad).is_some(), "{bad}");
        }
        assert!(uri_problem(&format!("https://a.example/{}", "x".repeat(2048))).is_some());
    }
}
