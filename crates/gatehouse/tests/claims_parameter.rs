//! The `claims` request parameter (OpenID Connect Core §5.5) through the router with a fixed
//! clock: a `sub` asked for with a value lets only that person answer, whoever is signed in or
//! signs in; an `acr` asks for a stronger sign-in as `acr_values` does; claims named alone
//! require nothing; a parameter that is not one is refused back to the application.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::body::Body;
use axum::http::{StatusCode, header};
use common::backend::Database;
use common::oneshot::*;
use common::{PASSWORD, REDIRECT, add_user, user};
use serde_json::{Value, json};

/// `/authorize` for the first-party client `web`, with `claims` as its claims parameter and
/// `extra` after it.
fn asking(claims: &Value, extra: &str) -> String {
    let claims = encode(&[("claims", &claims.to_string())]);
    authorize_uri("web", &format!("&{claims}{extra}"))
}

/// A claims parameter asking for the ID token of the person `sub` names.
fn only(sub: &str) -> Value {
    json!({"id_token": {"sub": {"value": sub}, "email": null}})
}

/// The session cookie a sign-in set.
fn session_of(r: &axum::response::Response) -> String {
    cookies(r)
        .split("; ")
        .find(|c| c.starts_with("gatehouse_session="))
        .expect("a session")
        .to_owned()
}

fn with(session: &str, uri: &str) -> axum::http::Request<Body> {
    axum::http::Request::get(uri)
        .header(header::COOKIE, session)
        .body(Body::empty())
        .unwrap()
}

async fn subject_of(f: &Fixture, code: &str) -> String {
    let r = exchange(f, code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens = json(r).await;
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(id_token).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

async fn a_requested_sub_lets_only_that_person_answer(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    let bob = add_user(store, "bob").await.id;
    let ada = user(store, "ada").await.id;

    // Ada is signed in. A request for Bob does not take her session: the login form, or with
    // prompt=none, login_required; never a code for her.
    let signed_in = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    assert!(location(&signed_in).contains_key("code"));
    let session = session_of(&signed_in);
    let r = send(&f, with(&session, &asking(&only(&bob), ""))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("Sign in"));
    let r = send(&f, with(&session, &asking(&only(&bob), "&prompt=none"))).await;
    let back = location(&r);
    assert_eq!(back["error"], "login_required");
    assert!(!back.contains_key("code"));
    // A request for her is answered from her session.
    let r = send(&f, with(&session, &asking(&only(&ada), "&prompt=none"))).await;
    let code = location(&r)["code"].clone();
    assert_eq!(subject_of(&f, &code).await, ada);

    // Ada signs in on a request for Bob: she is told no, and so is the application.
    let r = post_login(&f, &asking(&only(&bob), ""), "ada", PASSWORD).await;
    let back = location(&r);
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], "st");
    assert!(!back.contains_key("code"));
    // Bob signs in on it: his code, his ID token.
    let r = post_login(&f, &asking(&only(&bob), ""), "bob", PASSWORD).await;
    let code = location(&r)["code"].clone();
    assert_eq!(subject_of(&f, &code).await, bob);
    // The same through /userinfo's member.
    let for_userinfo = json!({"userinfo": {"sub": {"value": bob}}});
    let r = post_login(&f, &asking(&for_userinfo, ""), "ada", PASSWORD).await;
    assert_eq!(location(&r)["error"], "access_denied");
}

async fn a_requested_acr_asks_for_a_stronger_sign_in(db: Database) {
    let f = fixture_on(db).await;
    let signed_in = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let session = session_of(&signed_in);
    // A password's session does for a request that names claims alone, or an acr a password
    // meets, or none gatehouse knows.
    for claims in [
        json!({"id_token": {"email": {"essential": true}, "groups": null}}),
        json!({"id_token": {"acr": {"essential": true, "values": ["password"]}}}),
        json!({"userinfo": {"acr": {"value": "urn:example:unknown"}}}),
    ] {
        let r = send(&f, with(&session, &asking(&claims, "&prompt=none"))).await;
        assert!(location(&r).contains_key("code"), "{claims}");
    }
    // Not for one that asks for two factors, in either member: signing in again.
    for claims in [
        json!({"id_token": {"acr": {"essential": true, "values": ["two_factor"]}}}),
        json!({"userinfo": {"acr": {"value": "passkey"}}}),
        json!({"id_token": {"acr": {"value": "password"}}, "userinfo": {"acr": {"value": "two_factor"}}}),
    ] {
        let r = send(&f, with(&session, &asking(&claims, "&prompt=none"))).await;
        assert_eq!(location(&r)["error"], "login_required", "{claims}");
        let r = send(&f, with(&session, &asking(&claims, ""))).await;
        assert_eq!(r.status(), StatusCode::OK, "{claims}");
        assert!(body_text(r).await.contains("Sign in"), "{claims}");
    }
}

async fn a_malformed_claims_parameter_is_refused_to_the_application(db: Database) {
    let f = fixture_on(db).await;
    let oversized = json!({"id_token": {"x": {"value": "x".repeat(4096)}}});
    for (claims, says) in [
        (json!(["email"]), "not a JSON object"),
        (json!({"id_token": ["email"]}), "not an object of claims"),
        (
            json!({"id_token": {"email": {"essential": "yes"}}}),
            "essential",
        ),
        (
            json!({"id_token": {"sub": {"value": "a"}}, "userinfo": {"sub": {"value": "b"}}}),
            "two different subs",
        ),
        (oversized, "longer than 4096 bytes"),
    ] {
        let r = send(&f, get(&asking(&claims, ""))).await;
        let back = location(&r);
        assert_eq!(back["error"], "invalid_request", "{claims}");
        assert!(
            back["error_description"].contains(says),
            "{claims}: {back:?}"
        );
        assert_eq!(back["state"], "st");
    }
    // Not JSON at all.
    let r = send(&f, get(&authorize_uri("web", "&claims=email"))).await;
    assert_eq!(location(&r)["error"], "invalid_request");
    // Twice.
    let twice = format!("{}&claims=%7B%7D", asking(&json!({}), ""));
    assert_eq!(
        location(&send(&f, get(&twice)).await)["error"],
        "invalid_request"
    );
    // Discovery says the parameter is taken.
    let doc = json(send(&f, get("/.well-known/openid-configuration")).await).await;
    assert_eq!(doc["claims_parameter_supported"], true);
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_requested_sub_lets_only_that_person_answer,
    a_requested_acr_asks_for_a_stronger_sign_in,
    a_malformed_claims_parameter_is_refused_to_the_application,
);
