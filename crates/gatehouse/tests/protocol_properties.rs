//! Properties of the protocol core, over generated inputs: PKCE, redirect URI matching, scopes,
//! and the refresh token rotation state machine with its retry window (checked against a model,
//! on a real store).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::backend::{Backend, Database};
use gatehouse::model::{
    AuthorizationCode, Client, CodeRequest, GrantType, NewTokens, Redeemed, Revocation, Rotated,
    User,
};
use gatehouse::oidc::family_token::{FamilyKey, Presented};
use gatehouse::oidc::{pkce, redirect, scope, tokens};
use gatehouse::store;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

fn verifier() -> impl Strategy<Value = String> {
    "[A-Za-z0-9._~-]{43,128}"
}

fn challenge_of(v: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()))
}

proptest! {
    #[test]
    fn a_verifier_matches_its_own_challenge_and_no_other(v in verifier(), w in verifier()) {
        let c = challenge_of(&v);
        prop_assert!(pkce::is_valid_verifier(&v));
        prop_assert!(pkce::is_valid_challenge(&c));
        prop_assert!(pkce::verify_s256(&v, &c));
        prop_assume!(v != w);
        prop_assert!(!pkce::verify_s256(&w, &c));
    }

    #[test]
    fn verifiers_outside_the_rfc_grammar_never_verify(v in "[ -~]{0,160}") {
        let valid = (43..=128).contains(&v.len())
            && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~".contains(&b));
        prop_assert_eq!(pkce::is_valid_verifier(&v), valid);
        // Even against its own hash: a malformed verifier is refused outright.
        prop_assert_eq!(pkce::verify_s256(&v, &challenge_of(&v)), valid);
    }

    #[test]
    fn a_challenge_is_43_base64url_characters_of_32_bytes(c in "[ -~]{0,60}") {
        let decodes = URL_SAFE_NO_PAD.decode(&c).is_ok_and(|d| d.len() == 32);
        prop_assert_eq!(pkce::is_valid_challenge(&c), c.len() == 43 && decodes);
    }

    #[test]
    fn a_redirect_uri_matches_only_character_for_character(
        registered in prop::collection::vec("https://[a-z]{1,8}\\.example/[a-z]{0,8}", 1..4),
        pick in any::<prop::sample::Index>(),
        suffix in "[a-zA-Z0-9/?#&=.]{1,6}",
    ) {
        let uri = pick.get(&registered).clone();
        prop_assert!(redirect::is_registered(&uri, &registered));
        // No prefix matching, no extra path, query or fragment, no case folding.
        let longer = format!("{uri}{suffix}");
        prop_assert_eq!(
            redirect::is_registered(&longer, &registered),
            registered.contains(&longer)
        );
        let upper = uri.to_uppercase();
        prop_assert_eq!(
            redirect::is_registered(&upper, &registered),
            registered.contains(&upper)
        );
    }

    #[test]
    fn scope_algebra(a in "( ?(openid|profile|email|offline_access|admin|x)){0,6} ?",
                     b in "( ?(openid|profile|email|offline_access|admin|x)){0,6} ?") {
        let n = scope::normalize(&a);
        prop_assert_eq!(scope::normalize(&n), n.clone(), "normalize is idempotent");
        let parsed = scope::parse(&a);
        prop_assert_eq!(parsed.len(), {
            let mut s = parsed.clone();
            s.sort_unstable();
            s.dedup();
            s.len()
        }, "parse keeps each scope once");
        prop_assert!(scope::is_subset(&a, &a));
        let u = scope::union(&a, &b);
        prop_assert!(scope::is_subset(&a, &u) && scope::is_subset(&b, &u));
        prop_assert!(scope::is_subset(&u, &scope::union(&b, &a)), "union is commutative as a set");
        for s in scope::parse(&u) {
            prop_assert!(scope::contains(&a, s) || scope::contains(&b, s), "union adds nothing");
        }
    }
}

/// What a client can do with the tokens of one family.
#[derive(Debug, Clone)]
enum Op {
    /// Present the newest refresh token.
    RotateCurrent,
    /// Present the refresh token issued `back` rotations before the newest.
    RotateOld { back: usize },
    /// Present a token that was never issued.
    RotateUnknown,
    /// Revoke (RFC 7009) the refresh token issued `back` rotations before the newest.
    Revoke { back: usize },
    /// Let time pass.
    Wait { seconds: i64 },
    /// Run the sweep that clears kept answers after their window.
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::RotateCurrent),
        1 => (1usize..4).prop_map(|back| Op::RotateOld { back }),
        1 => Just(Op::RotateUnknown),
        1 => (0usize..3).prop_map(|back| Op::Revoke { back }),
        1 => (0i64..200).prop_map(|seconds| Op::Wait { seconds }),
        // Within the retry window as often as past it.
        1 => (0i64..2 * WINDOW).prop_map(|seconds| Op::Wait { seconds }),
        // The window's edge: a retry exactly then is too late.
        1 => Just(Op::Wait { seconds: WINDOW }),
        1 => Just(Op::Sweep),
    ]
}

/// The rules, as plainly as they can be said: a family is a list of refresh tokens whose last
/// is current; using the current one appends a new one; using an older one revokes the family,
/// except the one just rotated, within the retry window, which gets the answer its rotation
/// gave (nothing new); a revoked family or an expired token issues nothing.
#[derive(Debug, Default)]
struct Model {
    /// Each token, when it expires, and (once rotated) until when a retry gets its answer.
    issued: Vec<(String, i64, Option<i64>)>,
    revoked: bool,
}

const TTL: i64 = 300;
/// The retry window (`--refresh-retry-window`).
const WINDOW: i64 = 5;

/// What the rotation that issued `refresh` answered, as the store keeps it for a retry.
fn answer(refresh: &str) -> Vec<u8> {
    format!("answer-{refresh}").into_bytes()
}
const T0: i64 = 1_800_000_000;

/// The family every token of the model belongs to, and the deployment's key of refresh tokens.
const FAMILY: &str = "0123456789abcdef0123456789abcdef";
fn family_key() -> FamilyKey {
    FamilyKey::new(&[5; 32])
}

fn new_tokens(refresh: &str, now: i64) -> NewTokens {
    NewTokens {
        family_id: FAMILY.into(),
        access_token_hash: tokens::hash(&format!("access-{refresh}")),
        access_expires_at: now + 60,
        refresh_token_hash: Some(tokens::hash(refresh)),
        refresh_expires_at: now + TTL,
        retry: Some(gatehouse::model::RetryCopy {
            sealed: answer(refresh),
            until: now + WINDOW,
        }),
        once: vec![],
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn refresh_rotation_follows_the_model_on_sqlite(ops in prop::collection::vec(op(), 1..24)) {
        run_model(Backend::Sqlite, &ops);
    }

    #[test]
    fn refresh_rotation_follows_the_model_on_postgres(ops in prop::collection::vec(op(), 1..24)) {
        run_model(Backend::Postgres, &ops);
    }
}

fn run_model(backend: Backend, ops: &[Op]) {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(rotation_follows_the_model(backend, ops));
}

/// Runs `ops` against a fresh store on `backend` and checks every step against the model.
async fn rotation_follows_the_model(backend: Backend, ops: &[Op]) {
    let Some(db) = Database::fresh(backend).await else {
        return;
    };
    let s = store::open(&db.url).await.unwrap();
    let user = User {
        id: "u1".into(),
        username: "ada".into(),
        email: "ada@example.com".into(),
        name: None,
        password_hash: Some("x".into()),
        disabled: false,
        created_at: T0,
        email_verified: false,
        profile: gatehouse::model::Profile::default(),
    };
    s.create_user(user).await.unwrap();
    s.create_client(
        Client {
            client_id: "app".into(),
            secret_hash: None,
            redirect_uris: vec!["https://app.example/cb".into()],
            post_logout_redirect_uris: vec![],
            scopes: vec!["openid".into()],
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            first_party: true,
            created_at: T0,
            display: gatehouse::model::ClientDisplay::default(),
            previous_secret: None,
            id_token_claims: None,
            id_token_signed_response_alg: Default::default(),
            backchannel_logout_uri: None,
            access_token_format: Default::default(),
            auth_policy: Default::default(),
            jwks: None,
            require_pushed_authorization_requests: false,
            require_signed_request_object: false,
            dpop_bound_access_tokens: false,
            require_confirmed_address: false,
            jwks_uri: None,
            access_token_claims: vec![],
            pairwise_sector: None,
            resources: vec![],
            introspects: vec![],
        },
        None,
    )
    .await
    .unwrap();
    s.create_authorization_code(AuthorizationCode {
        code_hash: tokens::hash("code"),
        client_id: "app".into(),
        user_id: "u1".into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        auth_time: T0,
        amr: gatehouse::model::Amr::PASSWORD,
        session_id_hash: None,
        expires_at: T0 + 60,
        dpop_jkt: None,
        resources: vec![],
    })
    .await
    .unwrap();
    let request = CodeRequest {
        client_id: "app".into(),
        redirect_uri: Some("https://app.example/cb".into()),
        code_verifier: None,
        dpop_jkt: None,
        resources: vec![],
    };
    let key = family_key();
    let first_token = key.mint(FAMILY, None);
    let first = s
        .redeem_authorization_code(
            &tokens::hash("code"),
            request,
            new_tokens(&first_token, T0),
            T0,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(first, Redeemed::Issued(_)));
    let mut model = Model {
        issued: vec![(first_token, T0 + TTL, None)],
        revoked: false,
    };
    let mut now = T0;
    for (step, op) in ops.iter().enumerate() {
        let next = key.mint(FAMILY, None);
        match op {
            Op::Wait { seconds } => now += seconds,
            Op::Sweep => {
                s.forget_retry_answers(now).await.unwrap();
            }
            Op::RotateCurrent | Op::RotateOld { .. } | Op::RotateUnknown => {
                let last = model.issued.len() - 1;
                let (presented, index) = match op {
                    Op::RotateCurrent => (model.issued[last].0.clone(), Some(last)),
                    Op::RotateOld { back } if *back <= last => {
                        (model.issued[last - back].0.clone(), Some(last - back))
                    }
                    // Its MAC does not verify: nobody issued it.
                    _ => (
                        format!("{FAMILY}.never-issued.AAAAAAAAAAAAAAAAAAAAAA"),
                        None,
                    ),
                };
                let got = s
                    .rotate_refresh_token(
                        &Presented::new(&presented, &key),
                        "app",
                        Default::default(),
                        new_tokens(&next, now),
                        now,
                        None,
                    )
                    .await
                    .unwrap()
                    .unwrap();
                #[derive(Debug, PartialEq)]
                enum Outcome {
                    Issued,
                    Invalid,
                    Reused,
                    /// The answer the rotation of this token gave.
                    Retried(Vec<u8>),
                }
                let expected = match index {
                    None => Outcome::Invalid,
                    Some(_) if model.revoked => Outcome::Invalid,
                    // The token just rotated, within the window (its successor is the current
                    // one, so unused): a retry, answered again if the token is still valid.
                    Some(i) if i + 1 == last && model.issued[i].2.is_some_and(|u| now < u) => {
                        if model.issued[i].1 <= now {
                            Outcome::Invalid
                        } else {
                            Outcome::Retried(answer(&model.issued[last].0))
                        }
                    }
                    // Reuse is detected even after the old token expired.
                    Some(i) if i < last => {
                        model.revoked = true;
                        Outcome::Reused
                    }
                    Some(i) if model.issued[i].1 <= now => Outcome::Invalid,
                    Some(i) => {
                        model.issued[i].2 = Some(now + WINDOW);
                        model.issued.push((next.clone(), now + TTL, None));
                        Outcome::Issued
                    }
                };
                let outcome = match got {
                    Rotated::Issued(_) => Outcome::Issued,
                    Rotated::Invalid => Outcome::Invalid,
                    Rotated::Reused { .. } => Outcome::Reused,
                    Rotated::Retried { sealed, scope } => {
                        assert_eq!(scope, "openid", "step {step}");
                        Outcome::Retried(sealed)
                    }
                    Rotated::ScopeExceeded => panic!("no scope was requested"),
                    Rotated::TargetExceeded => panic!("no resource was requested"),
                    Rotated::Denied { .. } => panic!("the client names no groups"),
                    Rotated::Unconfirmed { .. } => {
                        panic!("the client requires no confirmed address")
                    }
                };
                assert_eq!(outcome, expected, "step {step}: {op:?}");
            }
            Op::Revoke { back } => {
                let last = model.issued.len() - 1;
                let i = last.saturating_sub(*back);
                let got = s
                    .revoke_token(&Presented::new(&model.issued[i].0, &key), "app", now, None)
                    .await
                    .unwrap();
                // A refresh token names its family whether or not it is still usable.
                assert_eq!(got, Revocation::Family, "step {step}");
                model.revoked = true;
            }
        }
        // Invariant: at most the newest token is usable, and only while the family stands.
        for (i, (t, expires, _)) in model.issued.iter().enumerate() {
            let active = s
                .introspect(&Presented::new(t, &key), now)
                .await
                .unwrap()
                .is_some();
            let should = !model.revoked && i == model.issued.len() - 1 && *expires > now;
            assert_eq!(
                active,
                should,
                "step {step}: token {i} of {}",
                model.issued.len()
            );
        }
    }
    s.close().await.unwrap();
}
