//! JWT access tokens (RFC 9068) for a client that asks for them: an API checks them offline
//! with the published keys; gatehouse's own endpoints still look every one up, so
//! introspection, `/userinfo` and revocation work as for opaque tokens, and an altered token,
//! a bare `jti` or an ID token opens nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::collections::HashMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::backend::Database;
use common::*;
use gatehouse::model::{AccessTokenFormat, ClaimOwner, ClaimsChange, GrantType};
use gatehouse::store::Store;
use serde_json::Value;

/// Makes `client_id` take JWT access tokens.
async fn take_jwts(store: &dyn Store, client_id: &str) {
    let mut c = store.client(client_id).await.unwrap().unwrap();
    c.access_token_format = AccessTokenFormat::Jwt;
    store.update_client(c, None).await.unwrap();
}

/// Checks an access token as a resource server does, offline: `typ`, signature with the
/// published key, issuer, audience, expiry. Returns its claims.
async fn check_offline(base: &str, token: &str, audience: &str) -> Value {
    verify_jwt(
        base,
        token,
        "at+jwt",
        audience,
        &["iss", "aud", "exp", "sub"],
    )
    .await
}

async fn userinfo(base: &str, token: &str) -> reqwest::StatusCode {
    reqwest::Client::new()
        .get(format!("{base}/userinfo"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
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

async fn active(base: &str, secret: &str, token: &str) -> bool {
    let r: Value = post(base, "/introspect", secret, &[("token", token)])
        .await
        .json()
        .await
        .unwrap();
    r["active"].as_bool().unwrap()
}

/// A refresh of the sign-in that gave `tokens`, by the client `api`.
async fn refresh(
    base: &str,
    secret: &str,
    tokens: &HashMap<String, Value>,
) -> HashMap<String, Value> {
    let token = tokens["refresh_token"].as_str().unwrap();
    post(
        base,
        "/token",
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
    .json()
    .await
    .unwrap()
}

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

async fn an_api_checks_the_token_offline_and_gatehouse_still_revokes_it(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let ada = add_user(s, "ada").await;
    let secret = add_client(s, "api").await;
    take_jwts(s, "api").await;

    let tokens = sign_in(&server, "api", &secret, "ada").await;
    let access = tokens["access_token"].as_str().unwrap();
    let claims = check_offline(&server.base, access, "api").await;
    assert_eq!(claims["sub"], ada.id.as_str());
    assert_eq!(claims["client_id"], "api");
    assert_eq!(claims["scope"], "openid profile");
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        600
    );
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        tokens["expires_in"].as_i64().unwrap()
    );
    // The ID token's at_hash is of the JWT the client received.
    let digest = <sha2::Sha256 as sha2::Digest>::digest(access.as_bytes());
    assert_eq!(
        claims_of(tokens["id_token"].as_str().unwrap())["at_hash"],
        URL_SAFE_NO_PAD.encode(&digest[..16])
    );

    assert_eq!(userinfo(&server.base, access).await, 200);
    assert!(active(&server.base, &secret, access).await);

    // Altered claims with the original signature, the bare jti, the ID token: nothing opens.
    let mut parts: Vec<String> = access.split('.').map(str::to_owned).collect();
    let mut forged = claims.clone();
    forged["scope"] = "openid profile email".into();
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
    let forged = parts.join(".");
    let jti = claims["jti"].as_str().unwrap();
    for bad in [forged.as_str(), jti, tokens["id_token"].as_str().unwrap()] {
        assert_eq!(userinfo(&server.base, bad).await, 401, "{bad}");
        assert!(!active(&server.base, &secret, bad).await, "{bad}");
    }

    // A refresh gives another JWT; revoking the first ends it at gatehouse (an API checking
    // offline still takes it until it expires: documented).
    let refreshed = refresh(&server.base, &secret, &tokens).await;
    let second = refreshed["access_token"].as_str().unwrap();
    assert_ne!(
        check_offline(&server.base, second, "api").await["jti"],
        claims["jti"]
    );
    let revoked = post(&server.base, "/revoke", &secret, &[("token", access)]).await;
    assert_eq!(revoked.status(), 200);
    assert_eq!(userinfo(&server.base, access).await, 401);
    assert!(!active(&server.base, &secret, access).await);
    assert_eq!(userinfo(&server.base, second).await, 200, "only that token");
    server.stop().await;
}

async fn a_retried_refresh_gets_the_same_jwt(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    let secret = add_client(s, "api").await;
    take_jwts(s, "api").await;
    let tokens = sign_in(&server, "api", &secret, "ada").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (base, secret, refresh) = (server.base.clone(), secret.clone(), refresh.clone());
        burst.spawn(async move {
            let r = post(
                &base,
                "/token",
                &secret,
                &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
            )
            .await;
            assert_eq!(r.status(), 200);
            r.json::<HashMap<String, Value>>().await.unwrap()
        });
    }
    let answers = burst.join_all().await;
    for a in &answers {
        assert_eq!(a["refresh_token"], answers[0]["refresh_token"]);
        // RS256 signatures are deterministic: the same claims make the same token.
        assert_eq!(a["access_token"], answers[0]["access_token"]);
    }
    let access = answers[0]["access_token"].as_str().unwrap();
    check_offline(&server.base, access, "api").await;
    assert_eq!(userinfo(&server.base, access).await, 200);
    server.stop().await;
}

async fn a_service_gets_a_jwt_naming_itself(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let secret = add_client(s, "api").await;
    let mut c = s.client("api").await.unwrap().unwrap();
    c.access_token_format = AccessTokenFormat::Jwt;
    c.grant_types = vec![GrantType::ClientCredentials];
    c.redirect_uris = vec![];
    c.scopes = vec!["admin".into()];
    s.update_client(c, None).await.unwrap();

    let r: Value = post(
        &server.base,
        "/token",
        &secret,
        &[("grant_type", "client_credentials"), ("scope", "admin")],
    )
    .await
    .json()
    .await
    .unwrap();
    let access = r["access_token"].as_str().unwrap();
    let claims = check_offline(&server.base, access, "api").await;
    assert_eq!(
        (claims["sub"].as_str(), claims["scope"].as_str()),
        (Some("api"), Some("admin"))
    );
    assert!(claims.get("groups").is_none());
    assert!(active(&server.base, &secret, access).await);
    // It opens the admin API, as an opaque one would.
    let users = reqwest::Client::new()
        .get(format!("{}/admin/api/users", server.base))
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);
    server.stop().await;
}

/// Gives `username` the custom claim `department`.
async fn set_department(store: &dyn Store, username: &str, department: &str) {
    let claims = [("department".to_owned(), Value::from(department))]
        .into_iter()
        .collect();
    store
        .change_custom_claims(
            &ClaimOwner::User(username.into()),
            ClaimsChange::Replace(claims),
            None,
        )
        .await
        .unwrap()
        .unwrap();
}

/// Makes `client_id`'s access tokens carry `claims` about the user.
async fn choose_access_token_claims(store: &dyn Store, client_id: &str, claims: &[&str]) {
    let mut c = store.client(client_id).await.unwrap().unwrap();
    c.access_token_claims = claims.iter().map(|c| (*c).to_owned()).collect();
    store.update_client(c, None).await.unwrap();
}

async fn an_api_reads_the_claims_its_client_chose_in_the_token_and_introspection(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    set_department(s, "ada", "research").await;
    let secret = add_client(s, "api").await;
    take_jwts(s, "api").await;

    // By default an access token says nothing more about the user than who they are.
    let tokens = sign_in(&server, "api", &secret, "ada").await;
    let access = tokens["access_token"].as_str().unwrap();
    let claims = check_offline(&server.base, access, "api").await;
    for absent in ["department", "preferred_username", "email"] {
        assert_eq!(claims.get(absent), None, "{absent}: {claims}");
    }
    let answer = introspect(&server.base, ("api", &secret), access).await;
    assert_eq!(answer.get("department"), None, "{answer}");

    // Chosen: what the granted scopes (`openid profile`) release, and nothing they do not
    // (`email`), in the JWT and in introspection's answer alike.
    choose_access_token_claims(s, "api", &["department", "preferred_username", "email"]).await;
    let tokens = sign_in(&server, "api", &secret, "ada").await;
    let access = tokens["access_token"].as_str().unwrap();
    let claims = check_offline(&server.base, access, "api").await;
    assert_eq!(claims["department"], "research", "{claims}");
    assert_eq!(claims["preferred_username"], "ada");
    assert_eq!(claims.get("email"), None, "the email scope was not granted");
    assert_eq!(claims["scope"], "openid profile");
    let answer = introspect(&server.base, ("api", &secret), access).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["department"], "research", "{answer}");
    assert_eq!(answer["preferred_username"], "ada");
    assert_eq!(answer.get("email"), None);

    // Each access token says what is true when it is issued: a refresh after a change.
    set_department(s, "ada", "engineering").await;
    let refreshed = refresh(&server.base, &secret, &tokens).await;
    let second = refreshed["access_token"].as_str().unwrap();
    let claims = check_offline(&server.base, second, "api").await;
    assert_eq!(claims["department"], "engineering", "{claims}");

    // An opaque token's client chooses the same: its resource servers read them from
    // introspection, the one place they are.
    let web_secret = add_client(s, "web").await;
    choose_access_token_claims(s, "web", &["department"]).await;
    let tokens = sign_in(&server, "web", &web_secret, "ada").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        access.split('.').count(),
        2,
        "an opaque token, not a JWT: {access}"
    );
    let answer = introspect(&server.base, ("web", &web_secret), access).await;
    assert_eq!(answer["department"], "engineering", "{answer}");
    assert_eq!(answer["username"], "ada");
    // A refresh token's introspection says only what it always did.
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let answer = introspect(&server.base, ("web", &web_secret), refresh).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer.get("department"), None, "{answer}");
    server.stop().await;
}

async fn other_clients_keep_opaque_tokens(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    let secret = add_client(s, "web").await;
    let tokens = sign_in(&server, "web", &secret, "ada").await;
    let access = tokens["access_token"].as_str().unwrap();
    assert_eq!(
        access.split('.').count(),
        2,
        "an opaque token, not a JWT: {access}"
    );
    assert_eq!(userinfo(&server.base, access).await, 200);
    server.stop().await;
}

on_both_backends!((flavor = "multi_thread", worker_threads = 4);
    an_api_checks_the_token_offline_and_gatehouse_still_revokes_it,
    a_retried_refresh_gets_the_same_jwt,
    a_service_gets_a_jwt_naming_itself,
    an_api_reads_the_claims_its_client_chose_in_the_token_and_introspection,
    other_clients_keep_opaque_tokens,
);
