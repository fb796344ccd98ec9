//! Pushed authorization requests (RFC 9126), through the router with a fixed clock: a client
//! pushes its request to `/par`, authenticated, and signs the person in with the
//! `request_uri` it got; the request is checked when pushed, bound to its client, used once
//! and only for a minute, and pushing is limited per address.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::oneshot::*;
use common::{PASSWORD, REDIRECT};
use gatehouse::oidc::par;
use serde_json::Value;

/// `web`'s authorization request, as its form fields.
fn request<'a>(redirect_uri: &'a str, extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("response_type", "code"),
        ("redirect_uri", redirect_uri),
        ("scope", "openid"),
        ("state", "st"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];
    pairs.extend_from_slice(extra);
    pairs
}

/// Pushes `pairs` as `web`, with its secret.
async fn push(f: &Fixture, pairs: &[(&str, &str)]) -> Response {
    post_as(f, "/par", "web", &f.secret, pairs).await
}

/// The `request_uri` of a request `web` pushed, with `extra` parameters.
async fn pushed(f: &Fixture, extra: &[(&str, &str)]) -> String {
    let r = push(f, &request(REDIRECT, extra)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    json(r).await["request_uri"].as_str().unwrap().to_owned()
}

fn authorize_with(client_id: &str, request_uri: &str) -> String {
    format!(
        "/authorize?{}",
        encode(&[("client_id", client_id), ("request_uri", request_uri)])
    )
}

/// The page `/authorize` answers `uri` with: its status and text.
async fn page(f: &Fixture, uri: &str) -> (StatusCode, String) {
    let r = send(f, get(uri)).await;
    (r.status(), body_text(r).await)
}

async fn a_pushed_request_signs_the_person_in_once(db: Database) {
    let f = fixture_on(db).await;
    let r = push(&f, &request(REDIRECT, &[("nonce", "n-1")])).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let body = json(r).await;
    let uri = body["request_uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with(par::PREFIX), "{uri}");
    assert_eq!(body["expires_in"], par::EXPIRES_IN);

    // Only the pushed parameters count: what the browser adds beside the request_uri is
    // ignored, so it cannot change where the code goes or the state it carries.
    let authorize = format!(
        "{}&state=changed&redirect_uri=https%3A%2F%2Fevil.example%2Fcb",
        authorize_with("web", &uri)
    );
    let r = post_login(&f, &authorize, "ada", PASSWORD).await;
    let back = location(&r);
    assert_eq!(back["state"], "st");
    let tokens = json(exchange(&f, &back["code"], CHALLENGE_VERIFIER, REDIRECT).await).await;
    let id_token = tokens["id_token"].as_str().expect("an ID token");
    use base64::Engine as _;
    let payload = id_token.split('.').nth(1).unwrap();
    let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    let claims: Value = serde_json::from_slice(&payload).unwrap();
    assert_eq!(claims["nonce"], "n-1", "the pushed nonce");

    // Used once.
    let (status, text) = page(&f, &authorize_with("web", &uri)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("invalid_request_uri"), "{text}");
}

/// The response mode is the pushed request's: one pushed with `fragment` comes back so, whatever
/// the browser adds beside the `request_uri`.
async fn a_pushed_request_answers_in_the_mode_it_asked_for(db: Database) {
    let f = fixture_on(db).await;
    let uri = pushed(&f, &[("response_mode", "fragment")]).await;
    let authorize = format!("{}&response_mode=query", authorize_with("web", &uri));
    let back = in_fragment(&post_login(&f, &authorize, "ada", PASSWORD).await);
    assert_eq!(back["state"], "st");
    let r = exchange(&f, &back["code"], CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn a_pushed_request_is_checked_and_bound_to_its_client(db: Database) {
    let f = fixture_on(db).await;
    let refused = |r: Response, status: StatusCode, error: &'static str| async move {
        assert_eq!(r.status(), status);
        let body: Value = json(r).await;
        assert_eq!(body["error"], error, "{body}");
    };
    // Checked when pushed, as /authorize would check it; told to the client, never redirected.
    let bad = [
        request("https://evil.example/cb", &[]),
        request(REDIRECT, &[("request_uri", "urn:x")]),
        request(REDIRECT, &[("response_mode", "jwt")]),
        request(REDIRECT, &[("client_id", "spa")]),
    ];
    for pairs in &bad {
        refused(
            push(&f, pairs).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    let r = push(
        &f,
        &request(REDIRECT, &[("scope", "openid"), ("scope", "email")]),
    )
    .await;
    refused(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    let r = post_as(&f, "/par", "web", "wrong", &request(REDIRECT, &[])).await;
    refused(r, StatusCode::UNAUTHORIZED, "invalid_client").await;
    // A public client sends its id, and must use PKCE as at /authorize.
    let spa = |pairs: Vec<(&str, &str)>| {
        let body = encode(&pairs);
        form("/par").body(Body::from(body)).unwrap()
    };
    let mut without_pkce = request(REDIRECT, &[("client_id", "spa")]);
    without_pkce.retain(|(k, _)| !k.starts_with("code_challenge"));
    let r = send(&f, spa(without_pkce)).await;
    refused(r, StatusCode::BAD_REQUEST, "invalid_request").await;
    let r = send(&f, spa(request(REDIRECT, &[("client_id", "spa")]))).await;
    assert_eq!(r.status(), StatusCode::CREATED);

    // Bound to its client: another client's id gets nothing, and leaves it to its owner.
    let uri = pushed(&f, &[]).await;
    let (status, text) = page(&f, &authorize_with("spa", &uri)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("invalid_request_uri"), "{text}");
    let (status, _) = page(&f, &authorize_with("web", &uri)).await;
    assert_eq!(status, StatusCode::OK, "the login form");

    // A minute, then it is gone.
    let uri = pushed(&f, &[]).await;
    f.clock.advance(par::EXPIRES_IN);
    let (status, text) = page(&f, &authorize_with("web", &uri)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text.contains("invalid_request_uri"), "{text}");
    let (_, text) = page(&f, &format!("/authorize?request_uri={}", par::PREFIX)).await;
    assert!(text.contains("invalid_request"), "{text}");
}

/// Of 64 browsers opening one request_uri at once, one gets the sign-in.
async fn a_request_uri_opened_at_once_serves_one(db: Database) {
    let f = fixture_on(db).await;
    let uri = pushed(&f, &[]).await;
    let mut opened = tokio::task::JoinSet::new();
    for _ in 0..64 {
        let (state, uri) = (f.state.clone(), authorize_with("web", &uri));
        opened.spawn(async move {
            use tower::ServiceExt as _;
            let r = gatehouse::app(state).oneshot(get(&uri)).await.unwrap();
            r.status()
        });
    }
    let statuses = opened.join_all().await;
    let served = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(served, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::BAD_REQUEST)
    );
}

/// Each push is stored for a minute and a public client's id is no secret: one address may
/// push a burst, then is told when to come back. Another address is not held up.
async fn pushing_is_limited_per_address(db: Database) {
    let f = fixture_on(db).await;
    let from = |ip: [u8; 4]| {
        let mut r = form("/par")
            .header(header::AUTHORIZATION, basic("web", &f.secret))
            .body(Body::from(encode(&request(REDIRECT, &[]))))
            .unwrap();
        r.extensions_mut()
            .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
        r
    };
    let mut answers = Vec::new();
    for _ in 0..25 {
        answers.push(send(&f, from([10, 0, 0, 1])).await);
    }
    let created = answers
        .iter()
        .filter(|r| r.status() == StatusCode::CREATED)
        .count();
    assert_eq!(created, 20);
    let last = answers.last().unwrap();
    assert_eq!(last.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(last.headers().contains_key(header::RETRY_AFTER));
    assert_eq!(
        send(&f, from([10, 0, 0, 2])).await.status(),
        StatusCode::CREATED
    );
}

async fn discovery_names_the_endpoint(db: Database) {
    let f = fixture_on(db).await;
    let doc = json(send(&f, get("/.well-known/openid-configuration")).await).await;
    assert_eq!(
        doc["pushed_authorization_request_endpoint"],
        format!("{}/par", f.state.config.issuer)
    );
    assert_eq!(doc["require_pushed_authorization_requests"], false);
}

/// A pushed request's `ui_locales` chooses the language of its sign-in as a request in the
/// browser's address does, on each page of it (the sealed request goes on in the form), and
/// what the browser adds beside the `request_uri` does not.
async fn a_pushed_request_chooses_the_language_of_its_sign_in(db: Database) {
    let f = fixture_on(db).await;
    let uri = pushed(&f, &[("ui_locales", "de")]).await;
    let authorize = format!("{}&ui_locales=en", authorize_with("web", &uri));
    let r = post_login(&f, &authorize, "ada", "not the password").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let text = body_text(r).await;
    assert!(text.contains("<html lang=\"de\">"), "{text}");
    assert!(
        text.contains("Benutzername oder Passwort ist falsch."),
        "{text}"
    );
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_pushed_request_chooses_the_language_of_its_sign_in,
    a_pushed_request_signs_the_person_in_once,
    a_pushed_request_answers_in_the_mode_it_asked_for,
    a_pushed_request_is_checked_and_bound_to_its_client,
    a_request_uri_opened_at_once_serves_one,
    pushing_is_limited_per_address,
    discovery_names_the_endpoint,
);
