//! Redeeming an authorization code (RFC 6749 §4.1.3, RFC 7636 §4.6, RFC 9700 §2.1.1).

use crate::clock::UnixTime;
use crate::model::{AuthorizationCode, CodeRequest, Grant, User};
use crate::oidc::{pkce, resource, scope};

/// What the store read about a presented code, in the transaction that will apply the
/// decision (locked against concurrent redemptions where the backend needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeRow {
    pub code: AuthorizationCode,
    /// Whether the code was redeemed before.
    pub used: bool,
    /// The token family the first redemption created, while it exists.
    pub family_id: Option<String>,
    /// The user the code was issued for.
    pub user: User,
    /// Whether the user may use the client now (`store::columns::may_use_client!`): they may
    /// have been taken out of its groups since the code was issued.
    pub access_allowed: bool,
}

/// A token family to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFamily {
    pub id: String,
    pub client_id: String,
    pub user_id: String,
    pub nonce: Option<String>,
    pub auth_time: UnixTime,
    pub amr: crate::model::Amr,
    /// The session the family ends with; `None` when it outlives it (`offline_access`).
    pub session_id_hash: Option<String>,
    /// The APIs the grant covers (RFC 8707): what each refresh may ask tokens for.
    pub resources: Vec<String>,
}

/// What to do with a presented code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redemption {
    /// Create `family`, store the new tokens in it with the grant's scope, and mark the code
    /// used by that family.
    Issue {
        family: NewFamily,
        grant: Box<Grant>,
    },
    /// Change nothing.
    Invalid,
    /// Change nothing: the user, `username`, may not use this client (any more).
    Denied { username: String },
    /// Revoke the family the first redemption created for `username`, if it still exists.
    Replayed {
        family: Option<String>,
        username: String,
    },
    /// Change nothing: the request named a resource the code does not cover.
    OutOfTarget,
}

/// Decides a redemption. `family_id` is the id the new family gets if one is issued.
pub fn decide(
    row: Option<CodeRow>,
    request: &CodeRequest,
    family_id: String,
    now: UnixTime,
) -> Redemption {
    let Some(CodeRow {
        code,
        used,
        family_id: first_family,
        user,
        access_allowed,
    }) = row
    else {
        return Redemption::Invalid;
    };
    // RFC 6749 §4.1.2: a code is used once; a second use revokes what the first got. This
    // holds whoever presents it: the code leaked either way.
    if used {
        return Redemption::Replayed {
            family: first_family,
            username: user.username,
        };
    }
    let redirect_ok = request.redirect_uri.as_deref() == Some(code.redirect_uri.as_str());
    let pkce_ok = match (&code.code_challenge, &request.code_verifier) {
        (Some(challenge), Some(verifier)) => pkce::verify_s256(verifier, challenge),
        (None, None) => true,
        // RFC 9700 §2.1.1: a verifier without a challenge is a downgrade attempt.
        _ => false,
    };
    // RFC 9449 §10: a code bound to a key is redeemed only with a proof of that key.
    let key_ok = code.dpop_jkt.is_none() || code.dpop_jkt == request.dpop_jkt;
    if code.client_id != request.client_id
        || code.expires_at <= now
        || user.disabled
        || !redirect_ok
        || !pkce_ok
        || !key_ok
    {
        return Redemption::Invalid;
    }
    if !access_allowed {
        return Redemption::Denied {
            username: user.username,
        };
    }
    // RFC 8707 §2.2: a token request may narrow the code's resources, never widen them.
    let Some(resources) = resource::narrowed(&request.resources, &code.resources) else {
        return Redemption::OutOfTarget;
    };
    // Even tokens that outlive the session (offline_access) were issued in it: the client is
    // signed in to it, and is told when it ends.
    let signed_in = code.session_id_hash;
    let session_id_hash = signed_in
        .clone()
        .filter(|_| !scope::outlives_session(&code.scope));
    let family = NewFamily {
        id: family_id,
        client_id: code.client_id,
        user_id: code.user_id,
        nonce: code.nonce,
        auth_time: code.auth_time,
        amr: code.amr,
        session_id_hash,
        resources: code.resources,
    };
    let grant = Box::new(Grant {
        user,
        client_id: family.client_id.clone(),
        scope: code.scope,
        nonce: family.nonce.clone(),
        auth_time: family.auth_time,
        amr: family.amr,
        family_id: family.id.clone(),
        session_id_hash: signed_in,
        resources,
    });
    Redemption::Issue { family, grant }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_000_000;
    // RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn row() -> CodeRow {
        CodeRow {
            code: AuthorizationCode {
                code_hash: "h".into(),
                client_id: "app".into(),
                user_id: "u1".into(),
                redirect_uri: "https://app.example/cb".into(),
                scope: "openid email".into(),
                nonce: Some("n".into()),
                code_challenge: Some(CHALLENGE.into()),
                auth_time: NOW - 30,
                amr: crate::model::Amr::PASSWORD,
                session_id_hash: Some("s".into()),
                expires_at: NOW + 60,
                dpop_jkt: None,
                resources: vec![],
            },
            used: false,
            family_id: None,
            user: User::example(),
            access_allowed: true,
        }
    }

    fn request() -> CodeRequest {
        CodeRequest {
            client_id: "app".into(),
            redirect_uri: Some("https://app.example/cb".into()),
            code_verifier: Some(VERIFIER.into()),
            dpop_jkt: None,
            resources: vec![],
        }
    }

    fn decide_with(row: Option<CodeRow>, request: &CodeRequest) -> Redemption {
        decide(row, request, "f2".into(), NOW)
    }

    #[test]
    fn a_valid_unused_code_issues_a_family_tied_to_its_session() {
        let Redemption::Issue { family, grant } = decide_with(Some(row()), &request()) else {
            panic!("not issued");
        };
        assert_eq!(
            family,
            NewFamily {
                id: "f2".into(),
                client_id: "app".into(),
                user_id: "u1".into(),
                nonce: Some("n".into()),
                auth_time: NOW - 30,
                amr: crate::model::Amr::PASSWORD,
                session_id_hash: Some("s".into()),
                resources: vec![],
            }
        );
        assert_eq!(
            (
                grant.scope.as_str(),
                grant.family_id.as_str(),
                grant.user.id.as_str()
            ),
            ("openid email", "f2", "u1")
        );
        assert_eq!(grant.session_id_hash.as_deref(), Some("s"));
    }

    #[test]
    fn offline_access_outlives_the_session() {
        let mut r = row();
        r.code.scope = "openid offline_access".into();
        let Redemption::Issue { family, grant } = decide_with(Some(r), &request()) else {
            panic!("not issued");
        };
        assert_eq!(family.session_id_hash, None);
        // Still issued in the session: the client hears when it ends.
        assert_eq!(grant.session_id_hash.as_deref(), Some("s"));
    }

    #[test]
    fn refusals() {
        type Case = (&'static str, fn(&mut CodeRow, &mut CodeRequest));
        let cases: &[Case] = &[
            ("another client", |_, q| q.client_id = "other".into()),
            ("expired at now", |r, _| r.code.expires_at = NOW),
            ("disabled user", |r, _| r.user.disabled = true),
            ("no redirect_uri", |_, q| q.redirect_uri = None),
            ("other redirect_uri", |_, q| {
                q.redirect_uri = Some("https://app.example/cb2".into())
            }),
            ("wrong verifier", |_, q| {
                q.code_verifier = Some(VERIFIER.replace('d', "e"))
            }),
            ("no verifier for a challenge", |_, q| q.code_verifier = None),
            ("verifier without a challenge (downgrade)", |r, _| {
                r.code.code_challenge = None
            }),
            ("a code bound to a key, without a proof", |r, _| {
                r.code.dpop_jkt = Some("K".into())
            }),
            ("a code bound to a key, with another key's proof", |r, q| {
                r.code.dpop_jkt = Some("K".into());
                q.dpop_jkt = Some("L".into());
            }),
        ];
        for (name, change) in cases {
            let (mut r, mut q) = (row(), request());
            change(&mut r, &mut q);
            assert_eq!(decide_with(Some(r), &q), Redemption::Invalid, "{name}");
        }
        assert_eq!(
            decide_with(None, &request()),
            Redemption::Invalid,
            "unknown code"
        );
    }

    #[test]
    fn a_user_outside_the_clients_groups_is_denied_but_a_replay_still_revokes() {
        let mut r = row();
        r.access_allowed = false;
        assert_eq!(
            decide_with(Some(r.clone()), &request()),
            Redemption::Denied {
                username: "alice".into()
            }
        );
        let mut q = request();
        q.client_id = "other".into();
        assert_eq!(
            decide_with(Some(r.clone()), &q),
            Redemption::Invalid,
            "another client's code says nothing about access"
        );
        r.used = true;
        r.family_id = Some("f1".into());
        assert_eq!(
            decide_with(Some(r), &request()),
            Redemption::Replayed {
                family: Some("f1".into()),
                username: "alice".into()
            }
        );
    }

    #[test]
    fn a_code_bound_to_a_key_is_redeemed_with_its_proof_and_an_unbound_one_with_any() {
        let (mut r, mut q) = (row(), request());
        r.code.dpop_jkt = Some("K".into());
        q.dpop_jkt = Some("K".into());
        assert!(matches!(decide_with(Some(r), &q), Redemption::Issue { .. }));
        let mut q = request();
        q.dpop_jkt = Some("L".into());
        assert!(matches!(
            decide_with(Some(row()), &q),
            Redemption::Issue { .. }
        ));
    }

    #[test]
    fn a_token_request_narrows_the_codes_resources_and_never_widens_them() {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let mut r = row();
        r.code.resources = strings(&["urn:a", "urn:b"]);
        let issued = |q: &CodeRequest| match decide_with(Some(r.clone()), q) {
            Redemption::Issue { family, grant } => Some((family.resources, grant.resources)),
            _ => None,
        };
        let mut q = request();
        assert_eq!(
            issued(&q),
            Some((strings(&["urn:a", "urn:b"]), strings(&["urn:a", "urn:b"]))),
            "all of them when the request names none"
        );
        q.resources = strings(&["urn:b"]);
        assert_eq!(
            issued(&q),
            Some((strings(&["urn:a", "urn:b"]), strings(&["urn:b"]))),
            "the family keeps the whole grant for its refreshes"
        );
        for wider in [&["urn:c"][..], &["urn:a", "urn:c"]] {
            q.resources = strings(wider);
            assert_eq!(
                decide_with(Some(r.clone()), &q),
                Redemption::OutOfTarget,
                "{wider:?}"
            );
        }
        q.resources = strings(&["urn:a"]);
        assert_eq!(
            decide_with(Some(row()), &q),
            Redemption::OutOfTarget,
            "a code for no resource gives none"
        );
        // A used code is a replay, whatever the request names.
        r.used = true;
        assert!(matches!(
            decide_with(Some(r), &q),
            Redemption::Replayed { .. }
        ));
    }

    #[test]
    fn no_pkce_on_either_side_is_accepted() {
        let mut r = row();
        r.code.code_challenge = None;
        let mut q = request();
        q.code_verifier = None;
        assert!(matches!(decide_with(Some(r), &q), Redemption::Issue { .. }));
    }

    #[test]
    fn a_used_code_is_a_replay_whoever_presents_it_and_revokes_the_first_family() {
        let mut r = row();
        r.used = true;
        r.family_id = Some("f1".into());
        let mut q = request();
        q.client_id = "other".into();
        assert_eq!(
            decide_with(Some(r.clone()), &q),
            Redemption::Replayed {
                family: Some("f1".into()),
                username: "alice".into()
            }
        );
        r.family_id = None;
        assert_eq!(
            decide_with(Some(r), &request()),
            Redemption::Replayed {
                family: None,
                username: "alice".into()
            },
            "the family is gone (expired and purged): nothing left to revoke"
        );
    }
}
