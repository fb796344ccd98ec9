//! The response modes other than the query, through the router. `form_post` (OAuth 2.0 Form
//! Post Response Mode): the code, or the refusal, goes back to the client as a form the browser
//! posts to its redirect URI, so it is in no address. `fragment`: in the redirect's fragment,
//! which the browser keeps for the page's script and sends to no server. An untrusted redirect
//! URI still gets nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::http::{StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::oneshot::*;
use common::{PASSWORD, REDIRECT, hidden_input};

/// The page that posts the answer: its form's target and fields, checked to be nothing else.
async fn posted_form(r: Response) -> String {
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        r.headers().get(header::LOCATION).is_none(),
        "not a redirect"
    );
    let csp = r.headers()[header::CONTENT_SECURITY_POLICY]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        // A native app's loopback redirect may use any port (RFC 8252 §7.3).
        csp.contains("form-action 'self' http://127.0.0.1:*;"),
        "the browser may post it there: {csp}"
    );
    let html = body_text(r).await;
    assert!(
        html.contains(&format!(
            r#"<form id="form-post" method="post" action="{REDIRECT}">"#
        )),
        "{html}"
    );
    html
}

async fn a_code_is_posted_to_the_client(db: Database) {
    let f = fixture_on(db).await;
    let authorize = authorize_uri("web", "&response_mode=form_post");
    let html = posted_form(post_login(&f, &authorize, "ada", PASSWORD).await).await;
    assert_eq!(hidden_input(&html, "state"), "st");
    assert_eq!(hidden_input(&html, "iss"), f.state.config.issuer);
    let code = hidden_input(&html, "code");
    let r = exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(r.status(), StatusCode::OK, "the posted code is the code");

    // The page's script, which sends the form, is served from gatehouse itself.
    let script = html
        .split(r#"<script src=""#)
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    let r = send(&f, get(&format!("/{script}"))).await;
    assert_eq!(r.status(), StatusCode::OK, "{script}");
    assert!(body_text(r).await.contains("form-post"));
}

async fn a_refusal_is_posted_and_an_untrusted_redirect_gets_nothing(db: Database) {
    let f = fixture_on(db).await;
    let r = send(
        &f,
        get(&authorize_uri(
            "web",
            "&response_mode=form_post&prompt=none",
        )),
    )
    .await;
    let html = posted_form(r).await;
    assert_eq!(hidden_input(&html, "error"), "login_required");
    assert_eq!(hidden_input(&html, "state"), "st");

    let elsewhere =
        authorize_uri("web", "&response_mode=form_post").replace("127.0.0.1%3A9", "evil.example");
    let elsewhere = elsewhere.replace("127.0.0.1:9", "evil.example");
    let r = send(&f, get(&elsewhere)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "shown on a page");
    assert!(!body_text(r).await.contains("form-post"));
}

async fn a_code_comes_back_in_the_fragment(db: Database) {
    let f = fixture_on(db).await;
    let authorize = authorize_uri("web", "&response_mode=fragment");
    let answer = in_fragment(&post_login(&f, &authorize, "ada", PASSWORD).await);
    assert_eq!(answer["state"], "st");
    assert_eq!(answer["iss"], f.state.config.issuer);
    let r = exchange(&f, &answer["code"], CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(r.status(), StatusCode::OK, "the code is the code");
}

async fn a_refusal_comes_back_in_the_fragment_and_an_untrusted_redirect_gets_nothing(db: Database) {
    let f = fixture_on(db).await;
    let silent = authorize_uri("web", "&response_mode=fragment&prompt=none");
    let answer = in_fragment(&send(&f, get(&silent)).await);
    assert_eq!(answer["error"], "login_required");
    assert_eq!(answer["state"], "st");
    assert!(!answer.contains_key("code"));
    // A refusal of the request itself goes back as it asked, too.
    let bad = authorize_uri("web", "&response_mode=fragment&max_age=ten");
    assert_eq!(
        in_fragment(&send(&f, get(&bad)).await)["error"],
        "invalid_request"
    );

    let elsewhere = authorize_uri("web", "&response_mode=fragment")
        .replace("127.0.0.1%3A9", "evil.example")
        .replace("127.0.0.1:9", "evil.example");
    let r = send(&f, get(&elsewhere)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "shown on a page");
    assert!(r.headers().get(header::LOCATION).is_none());
}

/// A mode gatehouse does not give is refused, in the query: the client learns why.
async fn an_unknown_mode_is_refused_in_the_query(db: Database) {
    let f = fixture_on(db).await;
    let r = send(&f, get(&authorize_uri("web", "&response_mode=jwt"))).await;
    let answer = location(&r);
    assert_eq!(answer["error"], "invalid_request");
    assert!(
        answer["error_description"].contains("query, fragment or form_post"),
        "{answer:?}"
    );
}

async fn discovery_names_the_modes(db: Database) {
    let f = fixture_on(db).await;
    let doc = json(send(&f, get("/.well-known/openid-configuration")).await).await;
    assert_eq!(
        doc["response_modes_supported"],
        serde_json::json!(["query", "fragment", "form_post"])
    );
}

on_both_backends!(();
    a_code_is_posted_to_the_client,
    a_refusal_is_posted_and_an_untrusted_redirect_gets_nothing,
    a_code_comes_back_in_the_fragment,
    a_refusal_comes_back_in_the_fragment_and_an_untrusted_redirect_gets_nothing,
    an_unknown_mode_is_refused_in_the_query,
    discovery_names_the_modes,
);
