//! Issuer discovery by WebFinger (OpenID Connect Discovery 1.0 §2, RFC 7033), as Tailscale
//! asks for it: an account's descriptor names this server's issuer, exactly as discovery says
//! it, for a person who exists and one who does not alike; a query without one resource is a
//! bad request, and a resource that is neither an account nor a URL is unknown.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::http::{StatusCode, header};
use axum::response::Response;
use common::oneshot::*;
use gatehouse::oidc::webfinger::ISSUER_REL;

async fn webfinger(f: &Fixture, pairs: &[(&str, &str)]) -> Response {
    let r = send(f, get(&format!("/.well-known/webfinger?{}", encode(pairs)))).await;
    // Readable by a page of any origin (RFC 7033 §5), whatever the answer.
    assert_eq!(r.headers()[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    r
}

#[tokio::test]
async fn an_account_is_answered_with_the_issuer_whether_or_not_its_person_exists() {
    let f = fixture().await;
    let discovery = json(send(&f, get("/.well-known/openid-configuration")).await).await;
    let issuer = discovery["issuer"].as_str().unwrap();
    for resource in ["acct:ada@example.com", "acct:nobody@example.com"] {
        let r = webfinger(&f, &[("resource", resource), ("rel", ISSUER_REL)]).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()[header::CONTENT_TYPE], "application/jrd+json");
        assert_eq!(
            json(r).await,
            serde_json::json!({
                "subject": resource,
                "links": [{"rel": ISSUER_REL, "href": issuer}],
            })
        );
    }
    // Without `rel`, every link: the same one.
    let r = webfinger(&f, &[("resource", "acct:ada@example.com")]).await;
    assert_eq!(json(r).await["links"][0]["href"], issuer);
    // Another relation alone: the subject without links.
    let avatar = "http://webfinger.net/rel/avatar";
    let r = webfinger(&f, &[("resource", "acct:ada@example.com"), ("rel", avatar)]).await;
    assert_eq!(json(r).await["links"], serde_json::json!([]));
}

#[tokio::test]
async fn a_query_needs_one_resource_and_only_accounts_and_urls_are_known() {
    let f = fixture().await;
    let long = format!("acct:{}@example.com", "a".repeat(600));
    for (pairs, status) in [
        (vec![("rel", ISSUER_REL)], StatusCode::BAD_REQUEST),
        (
            vec![
                ("resource", "acct:a@example.com"),
                ("resource", "acct:b@example.com"),
            ],
            StatusCode::BAD_REQUEST,
        ),
        (vec![("resource", long.as_str())], StatusCode::BAD_REQUEST),
        (
            vec![("resource", "mailto:ada@example.com")],
            StatusCode::NOT_FOUND,
        ),
        (vec![("resource", "ada@example.com")], StatusCode::NOT_FOUND),
    ] {
        let r = webfinger(&f, &pairs).await;
        assert_eq!(r.status(), status, "{pairs:?}");
    }
}
