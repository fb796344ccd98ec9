//! Resource indicators (RFC 8707): a client registered with the APIs its tokens may be for
//! names them with `resource` at `/authorize`, and at the token endpoint for one token; the
//! access token's `aud` (a JWT's, and introspection's) is then those APIs. A token request
//! narrows the grant, never widens it; an API the client is not registered with is refused.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::collections::HashMap;

use common::backend::Database;
use common::*;
use gatehouse::model::{AccessTokenFormat, GrantType};
use gatehouse::store::Store;
use serde_json::Value;

const ORDERS: &str = "https://orders.example/api";
const BILLING: &str = "urn:example:billing";
const ELSEWHERE: &str = "https://elsewhere.example/";

/// Makes `client_id` take JWT access tokens for the two APIs.
async fn for_apis(store: &dyn Store, client_id: &str) {
    let mut c = store.client(client_id).await.unwrap().unwrap();
    c.access_token_format = AccessTokenFormat::Jwt;
    c.resources = vec![ORDERS.into(), BILLING.into()];
    c.grant_types.push(GrantType::ClientCredentials);
    store.update_client(c, None).await.unwrap();
}

/// A server with `ada`, and the client `api` taking JWT access tokens for the two APIs: the
/// server and the client's secret.
async fn ada_and_api(db: Database) -> (TestServer, String) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    let secret = add_client(s, "api").await;
    for_apis(s, "api").await;
    (server, secret)
}

async fn post(base: &str, path: &str, secret: &str, form: &[(&str, &str)]) -> reqwest::Response {
    reqwest::Client::new()
        .post(format!("{base}{path}"))
        .basic_auth("api", Some(secret))
        .form(form)
        .send()
        .await
        .unwrap()
}

/// `api` refreshes `token`, naming `resources`: the token endpoint's answer.
async fn refresh(base: &str, secret: &str, token: &str, resources: &[&str]) -> reqwest::Response {
    let mut form = vec![("grant_type", "refresh_token"), ("refresh_token", token)];
    form.extend(resources.iter().map(|r| ("resource", *r)));
    post(base, "/token", secret, &form).await
}

/// A sign-in of `ada` to `api` whose authorization request names `resources`, and the code
/// exchange naming `at_token`: the token endpoint's status and answer.
async fn sign_in_for(
    server: &TestServer,
    secret: &str,
    resources: &[&str],
    at_token: &[&str],
) -> (u16, HashMap<String, Value>) {
    let base = &server.base;
    let (verifier, challenge) = pkce();
    let named: String = resources
        .iter()
        .map(|r| format!("&resource={}", urlencoding(r)))
        .collect();
    let url = format!(
        "{base}/authorize?response_type=code&client_id=api&redirect_uri={REDIRECT}&scope=openid%20offline_access&state=s&code_challenge={challenge}&code_challenge_method=S256{named}"
    );
    let redirect = Browser::default()
        .authorize(base, &url, "ada", PASSWORD)
        .await;
    let params = location_params(&redirect);
    let code = params.get("code").expect("a code").clone();
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    form.extend(at_token.iter().map(|r| ("resource", *r)));
    let r = post(base, "/token", secret, &form).await;
    (r.status().as_u16(), r.json().await.unwrap())
}

fn urlencoding(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn audience(token: &Value) -> Value {
    let token = token.as_str().unwrap();
    let payload = token.split('.').nth(1).unwrap();
    use base64::Engine as _;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload)
        .unwrap();
    serde_json::from_slice::<Value>(&bytes).unwrap()["aud"].clone()
}

async fn introspected_audience(base: &str, secret: &str, token: &Value) -> Value {
    let r = introspect(base, ("api", secret), token.as_str().unwrap()).await;
    assert_eq!(r["active"], true, "{r}");
    r["aud"].clone()
}

async fn an_access_token_is_for_the_apis_its_request_named(db: Database) {
    let (server, secret) = ada_and_api(db).await;
    let base = &server.base;

    // Both APIs asked for at sign-in; the token for both, checked offline as an API would.
    let (status, tokens) = sign_in_for(&server, &secret, &[ORDERS, BILLING], &[]).await;
    assert_eq!(status, 200, "{tokens:?}");
    let access = &tokens["access_token"];
    assert_eq!(audience(access), serde_json::json!([ORDERS, BILLING]));
    verify_jwt(base, access.as_str().unwrap(), "at+jwt", ORDERS, &["aud"]).await;
    assert_eq!(
        introspected_audience(base, &secret, access).await,
        serde_json::json!([ORDERS, BILLING])
    );

    // A refresh narrows the token to one API, and the next one is for both again.
    let first = tokens["refresh_token"].as_str().unwrap();
    let r = refresh(base, &secret, first, &[BILLING]).await;
    assert_eq!(r.status(), 200);
    let narrowed: HashMap<String, Value> = r.json().await.unwrap();
    assert_eq!(audience(&narrowed["access_token"]), BILLING);
    assert_eq!(
        introspected_audience(base, &secret, &narrowed["access_token"]).await,
        BILLING
    );
    // Widening at a refresh is refused, and the token is not used up by it.
    let next = narrowed["refresh_token"].as_str().unwrap();
    let r = refresh(base, &secret, next, &[ELSEWHERE]).await;
    assert_eq!(r.status(), 400);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["error"], "invalid_target", "{error}");
    let r = refresh(base, &secret, next, &[]).await;
    assert_eq!(r.status(), 200, "the refused request rotated nothing");
    let again: HashMap<String, Value> = r.json().await.unwrap();
    assert_eq!(
        audience(&again["access_token"]),
        serde_json::json!([ORDERS, BILLING])
    );
    server.stop().await;
}

async fn a_code_is_exchanged_for_fewer_apis_never_more(db: Database) {
    let (server, secret) = ada_and_api(db).await;

    let (status, tokens) = sign_in_for(&server, &secret, &[ORDERS, BILLING], &[ORDERS]).await;
    assert_eq!(status, 200, "{tokens:?}");
    assert_eq!(audience(&tokens["access_token"]), ORDERS);

    // A code for one API, exchanged for another the client may have: refused.
    let (status, error) = sign_in_for(&server, &secret, &[ORDERS], &[BILLING]).await;
    assert_eq!(
        (status, &error["error"]),
        (400, &Value::from("invalid_target"))
    );

    // No resource asked for: the token is for the client, as without resource indicators.
    let (status, tokens) = sign_in_for(&server, &secret, &[], &[]).await;
    assert_eq!(status, 200);
    assert_eq!(audience(&tokens["access_token"]), "api");
    server.stop().await;
}

async fn an_api_the_client_is_not_registered_with_is_refused_at_authorize(db: Database) {
    let (server, _) = ada_and_api(db).await;
    let base = &server.base;
    let (_, challenge) = pkce();
    for (resource, why) in [
        (ELSEWHERE, "not registered"),
        ("https://orders.example/api#x", "a fragment"),
        ("orders", "not an absolute URI"),
    ] {
        let url = format!(
            "{base}/authorize?response_type=code&client_id=api&redirect_uri={REDIRECT}&scope=openid&state=s&code_challenge={challenge}&code_challenge_method=S256&resource={}",
            urlencoding(resource)
        );
        let r = Browser::default().http.get(&url).send().await.unwrap();
        assert!(r.status().is_redirection(), "{why}: {}", r.status());
        let params = location_params(&r);
        assert_eq!(
            params.get("error").map(String::as_str),
            Some("invalid_target"),
            "{why}: {params:?}"
        );
        assert_eq!(params.get("state").map(String::as_str), Some("s"));
    }
    server.stop().await;
}

async fn a_service_asks_for_a_token_for_one_of_its_apis(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let secret = add_client(s, "api").await;
    for_apis(s, "api").await;
    let base = &server.base;
    let r = post(
        base,
        "/token",
        &secret,
        &[("grant_type", "client_credentials"), ("resource", BILLING)],
    )
    .await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(audience(&tokens["access_token"]), BILLING);
    assert_eq!(
        introspected_audience(base, &secret, &tokens["access_token"]).await,
        BILLING
    );
    let r = post(
        base,
        "/token",
        &secret,
        &[
            ("grant_type", "client_credentials"),
            ("resource", ELSEWHERE),
        ],
    )
    .await;
    assert_eq!(r.status(), 400);
    let error: Value = r.json().await.unwrap();
    assert_eq!(error["error"], "invalid_target");
    // More resources than any request may name: refused before anything is looked up.
    let many: Vec<String> = (0..=16).map(|i| format!("urn:r:{i}")).collect();
    let mut form = vec![("grant_type", "client_credentials")];
    form.extend(many.iter().map(|r| ("resource", r.as_str())));
    let r = post(base, "/token", &secret, &form).await;
    assert_eq!(r.status(), 400);
    server.stop().await;
}

async fn a_pushed_request_names_its_apis_as_the_browser_never_sees_them(db: Database) {
    let (server, secret) = ada_and_api(db).await;
    let base = &server.base;
    let (verifier, challenge) = pkce();
    let pushed = |resource: &'static str| {
        let (secret, challenge) = (secret.clone(), challenge.clone());
        async move {
            post(
                base,
                "/par",
                &secret,
                &[
                    ("response_type", "code"),
                    ("redirect_uri", REDIRECT),
                    ("scope", "openid"),
                    ("state", "s"),
                    ("code_challenge", &challenge),
                    ("code_challenge_method", "S256"),
                    ("resource", ORDERS),
                    ("resource", resource),
                ],
            )
            .await
        }
    };
    // One the client is not registered with is refused when pushed, as /par answers.
    let refused = pushed(ELSEWHERE).await;
    assert_eq!(refused.status(), 400);
    let error: Value = refused.json().await.unwrap();
    assert_eq!(error["error"], "invalid_target", "{error}");

    let r = pushed(BILLING).await;
    assert_eq!(r.status(), 201);
    let request_uri = r.json::<Value>().await.unwrap()["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    let url = format!(
        "{base}/authorize?client_id=api&request_uri={}",
        urlencoding(&request_uri)
    );
    let redirect = Browser::default()
        .authorize(base, &url, "ada", PASSWORD)
        .await;
    let code = location_params(&redirect)["code"].clone();
    let r = post(
        base,
        "/token",
        &secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ],
    )
    .await;
    assert_eq!(r.status(), 200);
    let tokens: Value = r.json().await.unwrap();
    assert_eq!(
        audience(&tokens["access_token"]),
        serde_json::json!([ORDERS, BILLING])
    );
    server.stop().await;
}

/// Someone else's application asks the person's consent: the page names the APIs its request
/// is for, as registered, below what its scopes let it see; a request for none names none.
async fn the_consent_page_names_the_apis_the_request_is_for(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    add_third_party_client(s, "shop").await;
    let mut c = s.client("shop").await.unwrap().unwrap();
    c.resources = vec![ORDERS.into(), BILLING.into()];
    s.update_client(c, None).await.unwrap();
    let base = &server.base;
    let consent_page = |named: &'static str| async move {
        let (_, challenge) = pkce();
        let url = format!(
            "{base}/authorize?response_type=code&client_id=shop&redirect_uri={REDIRECT}&scope=openid%20email&state=s&code_challenge={challenge}&code_challenge_method=S256{named}"
        );
        let r = Browser::default()
            .authorize(base, &url, "ada", PASSWORD)
            .await;
        assert_eq!(r.status(), 200, "the consent page");
        r.text().await.unwrap()
    };

    let html = consent_page("&resource=urn%3Aexample%3Abilling").await;
    assert!(html.contains("See your email address"), "{html}");
    let listed = html
        .find("And act for you at these services:")
        .expect(&html);
    assert!(
        html[listed..].contains(&format!("<code>{BILLING}</code>")),
        "{html}"
    );
    assert!(
        !html.contains(ORDERS),
        "only what the request names: {html}"
    );

    let html = consent_page("").await;
    assert!(html.contains("See your email address"), "{html}");
    assert!(!html.contains("these services"), "{html}");
    assert!(!html.contains(BILLING), "{html}");
    server.stop().await;
}

/// An API registered as a client of its own that answers for `ORDERS` introspects the opaque
/// access tokens another application was issued for it, and learns what that application's
/// token says (its client, its audience, the person as the application knows them); a token
/// of the application's for another API, for the application itself, or a refresh token, is
/// unknown to it, as any token of another client is to a client that answers for no API.
async fn an_api_introspects_the_access_tokens_issued_for_it(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    let secret = add_client(s, "api").await;
    let mut c = s.client("api").await.unwrap().unwrap();
    c.resources = vec![ORDERS.into(), BILLING.into()];
    s.update_client(c, None).await.unwrap();
    let orders_secret = add_service_client(s, "orders", &["openid"]).await;
    let mut c = s.client("orders").await.unwrap().unwrap();
    c.introspects = vec![ORDERS.into()];
    s.update_client(c, None).await.unwrap();
    let other_secret = add_service_client(s, "other", &["openid"]).await;
    let base = &server.base;

    let (status, tokens) = sign_in_for(&server, &secret, &[ORDERS, BILLING], &[]).await;
    assert_eq!(status, 200, "{tokens:?}");
    let access = &tokens["access_token"];
    assert!(
        access.as_str().unwrap().split('.').count() < 3,
        "opaque, not a JWT"
    );
    let own = introspect(base, ("api", &secret), access.as_str().unwrap()).await;
    let told = introspect(base, ("orders", &orders_secret), access.as_str().unwrap()).await;
    assert_eq!(told["active"], true, "{told}");
    assert_eq!(told["client_id"], "api");
    assert_eq!(told["aud"], serde_json::json!([ORDERS, BILLING]));
    assert_eq!(told["username"], "ada");
    for same in ["sub", "scope", "exp", "iat", "token_type"] {
        assert_eq!(told[same], own[same], "{same}: {told} against {own}");
    }
    // A client that answers for no API, or for another, learns nothing.
    let other = introspect(base, ("other", &other_secret), access.as_str().unwrap()).await;
    assert_eq!(other, serde_json::json!({ "active": false }));

    // Narrowed to billing, the token is none of the orders API's business; nor is the
    // refresh token, whatever its grant covers.
    let first = tokens["refresh_token"].as_str().unwrap();
    let r = refresh(base, &secret, first, &[BILLING]).await;
    assert_eq!(r.status(), 200);
    let narrowed: Value = r.json().await.unwrap();
    let billing = &narrowed["access_token"];
    assert_eq!(
        introspect(base, ("api", &secret), billing.as_str().unwrap()).await["active"],
        true
    );
    let told = introspect(base, ("orders", &orders_secret), billing.as_str().unwrap()).await;
    assert_eq!(told, serde_json::json!({ "active": false }));
    let next_refresh = &narrowed["refresh_token"];
    let told = introspect(
        base,
        ("orders", &orders_secret),
        next_refresh.as_str().unwrap(),
    )
    .await;
    assert_eq!(told, serde_json::json!({ "active": false }));
    assert_eq!(
        introspect(base, ("api", &secret), next_refresh.as_str().unwrap()).await["active"],
        true
    );

    // A token for the application itself (no resource named) is not the API's either.
    let (_, plain) = sign_in_for(&server, &secret, &[], &[]).await;
    let told = introspect(
        base,
        ("orders", &orders_secret),
        plain["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(told, serde_json::json!({ "active": false }));

    // Revoked by its application, the token is inactive for the API too.
    let r = post(
        base,
        "/revoke",
        &secret,
        &[("token", access.as_str().unwrap())],
    )
    .await;
    assert_eq!(r.status(), 200);
    let told = introspect(base, ("orders", &orders_secret), access.as_str().unwrap()).await;
    assert_eq!(told, serde_json::json!({ "active": false }));
    server.stop().await;
}

async fn a_retried_refresh_is_answered_again_only_for_the_same_apis(db: Database) {
    let (server, secret) = ada_and_api(db).await;
    let base = &server.base;
    let (status, tokens) = sign_in_for(&server, &secret, &[ORDERS, BILLING], &[]).await;
    assert_eq!(status, 200, "{tokens:?}");
    let token = tokens["refresh_token"].as_str().unwrap();
    let refresh_for = async |resources: &[&str]| refresh(base, &secret, token, resources).await;

    // The first request narrows the token to billing.
    let r = refresh_for(&[BILLING]).await;
    assert_eq!(r.status(), 200);
    let first: HashMap<String, Value> = r.json().await.unwrap();
    assert_eq!(audience(&first["access_token"]), BILLING);

    // Retried within the window for orders, or for both: the billing token is not handed
    // out for them, and nothing is revoked.
    for other in [&[ORDERS][..], &[], &[BILLING, ORDERS]] {
        let r = refresh_for(other).await;
        assert_eq!(r.status(), 400, "a retry naming {other:?}");
        let error: Value = r.json().await.unwrap();
        assert_eq!(error["error"], "invalid_grant", "{error}");
    }
    // The same request again gets the same answer.
    let r = refresh_for(&[BILLING]).await;
    assert_eq!(r.status(), 200);
    let again: HashMap<String, Value> = r.json().await.unwrap();
    assert_eq!(again["access_token"], first["access_token"]);
    assert_eq!(again["refresh_token"], first["refresh_token"]);

    // The family lives on: the new refresh token asks for orders.
    let next = first["refresh_token"].as_str().unwrap();
    let r = refresh(base, &secret, next, &[ORDERS]).await;
    assert_eq!(r.status(), 200);
    let later: HashMap<String, Value> = r.json().await.unwrap();
    assert_eq!(audience(&later["access_token"]), ORDERS);
    server.stop().await;
}

on_both_backends!((flavor = "multi_thread", worker_threads = 4);
    an_access_token_is_for_the_apis_its_request_named,
    a_retried_refresh_is_answered_again_only_for_the_same_apis,
    a_code_is_exchanged_for_fewer_apis_never_more,
    an_api_the_client_is_not_registered_with_is_refused_at_authorize,
    a_service_asks_for_a_token_for_one_of_its_apis,
    a_pushed_request_names_its_apis_as_the_browser_never_sees_them,
    the_consent_page_names_the_apis_the_request_is_for,
    an_api_introspects_the_access_tokens_issued_for_it,
);
