//! DPoP (RFC 9449): a client that sends a proof of its own key to the token endpoint gets
//! tokens bound to that key, which `/userinfo` and the admin API take only with a fresh proof
//! of it; a public client's refresh token is bound too. Proofs are made here as a client
//! library would, with aws-lc-rs and nothing of gatehouse's, and each is used once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::collections::HashMap;

use common::backend::Database;
use common::dpop::{DpopKey, now};
use common::*;
use gatehouse::model::AccessTokenFormat;
use serde_json::{Value, json};

/// How a token request authenticates: a public client's id, or a secret.
#[derive(Clone, Copy)]
enum As<'a> {
    Public(&'a str),
    Secret(&'a str, &'a str),
}

/// POSTs a token request, with a DPoP proof if one is given.
async fn token(
    base: &str,
    client: As<'_>,
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> (u16, Value) {
    let (status, body, _) = token_answer(base, client, form, proof).await;
    (status, body)
}

/// As [`token`], with the server nonce the answer hands out (`DPoP-Nonce`), if any.
async fn token_answer(
    base: &str,
    client: As<'_>,
    form: &[(&str, &str)],
    proof: Option<&str>,
) -> (u16, Value, Option<String>) {
    let mut form: Vec<(&str, &str)> = form.to_vec();
    let mut request = reqwest::Client::new().post(format!("{base}/token"));
    match client {
        As::Public(id) => form.push(("client_id", id)),
        As::Secret(id, secret) => request = request.basic_auth(id, Some(secret)),
    }
    if let Some(p) = proof {
        request = request.header("DPoP", p);
    }
    let r = request.form(&form).send().await.unwrap();
    let nonce = nonce_of(&r);
    (r.status().as_u16(), r.json().await.unwrap(), nonce)
}

/// The server nonce an answer hands out.
fn nonce_of(r: &reqwest::Response) -> Option<String> {
    r.headers()
        .get("dpop-nonce")
        .map(|v| v.to_str().unwrap().to_owned())
}

/// Signs ada in and exchanges the code, with a proof of `key` if one is given.
async fn sign_in_with_key(
    server: &TestServer,
    client: As<'_>,
    key: Option<&DpopKey>,
) -> (u16, Value) {
    let (code, verifier) = code_for(server, client, "").await;
    redeem(&server.base, client, &code, &verifier, key).await
}

/// Signs ada in for `client` with `extra` in the authorization request; the code, and the
/// PKCE verifier to redeem it with.
async fn code_for(server: &TestServer, client: As<'_>, extra: &str) -> (String, String) {
    let base = &server.base;
    let client_id = match client {
        As::Public(id) | As::Secret(id, _) => id,
    };
    let (verifier, challenge) = pkce();
    let url = format!(
        "{base}/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}&scope=openid%20profile%20offline_access&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256{extra}"
    );
    let redirect = Browser::default()
        .authorize(base, &url, "ada", PASSWORD)
        .await;
    (location_params(&redirect)["code"].clone(), verifier)
}

/// Redeems `code`, with a proof of `key` if one is given.
async fn redeem(
    base: &str,
    client: As<'_>,
    code: &str,
    verifier: &str,
    key: Option<&DpopKey>,
) -> (u16, Value) {
    let proof = key.map(|k| k.proof("POST", &format!("{base}/token"), None));
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier),
    ];
    token(base, client, &form, proof.as_deref()).await
}

async fn refresh(
    base: &str,
    client: As<'_>,
    refresh_token: &str,
    key: Option<&DpopKey>,
) -> (u16, Value) {
    let proof = key.map(|k| k.proof("POST", &format!("{base}/token"), None));
    let form = [
        ("grant_type", "refresh_token"),
        ("refresh_token", refresh_token),
    ];
    token(base, client, &form, proof.as_deref()).await
}

/// `/userinfo` with `authorization` and, if given, a `DPoP` header; the status, the error the
/// body names and the `WWW-Authenticate` challenges.
async fn userinfo(base: &str, authorization: &str, proof: Option<&str>) -> (u16, String, String) {
    let (status, error, challenges, _) = userinfo_answer(base, authorization, proof).await;
    (status, error, challenges)
}

/// As [`userinfo`], with the server nonce the answer hands out, if any.
async fn userinfo_answer(
    base: &str,
    authorization: &str,
    proof: Option<&str>,
) -> (u16, String, String, Option<String>) {
    let mut request = reqwest::Client::new()
        .get(format!("{base}/userinfo"))
        .header("authorization", authorization);
    if let Some(p) = proof {
        request = request.header("DPoP", p);
    }
    let r = request.send().await.unwrap();
    let status = r.status().as_u16();
    let challenges: Vec<String> = r
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .collect();
    let nonce = nonce_of(&r);
    let body: Value = r.json().await.unwrap();
    let error = body["error"].as_str().unwrap_or_default().to_owned();
    (status, error, challenges.join(" | "), nonce)
}

fn field<'a>(body: &'a Value, name: &str) -> &'a str {
    body[name]
        .as_str()
        .unwrap_or_else(|| panic!("no {name} in {body}"))
}

async fn a_public_clients_tokens_are_bound_to_its_key(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    add_user(s, "ada").await;
    add_public_client(s, "spa").await;
    let key = DpopKey::new();
    let other = DpopKey::new();
    let info = format!("{base}/userinfo");

    let (status, tokens) = sign_in_with_key(&server, As::Public("spa"), Some(&key)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = field(&tokens, "access_token").to_owned();
    let refresh_token = field(&tokens, "refresh_token").to_owned();

    // At /userinfo: with its key's proof, for this request and this token, once.
    let good = key.proof("GET", &info, Some(&access));
    let dpop = format!("DPoP {access}");
    let (status, _, _) = userinfo(&base, &dpop, Some(&good)).await;
    assert_eq!(status, 200);
    let (status, error, _) = userinfo(&base, &dpop, Some(&good)).await;
    assert_eq!(
        (status, error.as_str()),
        (401, "invalid_dpop_proof"),
        "replayed"
    );
    // As a bearer token, with or without a proof: refused, the DPoP challenge offered.
    let as_bearer = format!("Bearer {access}");
    let (status, error, challenges) = userinfo(&base, &as_bearer, None).await;
    assert_eq!((status, error.as_str()), (401, "invalid_token"));
    assert!(challenges.contains("DPoP algs="), "{challenges}");
    let fresh = key.proof("GET", &info, Some(&access));
    let (status, _, _) = userinfo(&base, &as_bearer, Some(&fresh)).await;
    assert_eq!(status, 401);
    // A proof by another key, for another token, another URL or method, or none at all.
    let refused = [
        (other.proof("GET", &info, Some(&access)), "invalid_token"),
        (
            key.proof("GET", &info, Some("another-token")),
            "invalid_dpop_proof",
        ),
        (key.proof("GET", &info, None), "invalid_dpop_proof"),
        (
            key.proof("GET", &format!("{base}/token"), Some(&access)),
            "invalid_dpop_proof",
        ),
        (
            key.proof("POST", &info, Some(&access)),
            "invalid_dpop_proof",
        ),
    ];
    for (proof, want) in refused {
        let (status, error, challenges) = userinfo(&base, &dpop, Some(&proof)).await;
        assert_eq!((status, error.as_str()), (401, want), "{proof}");
        assert!(
            challenges.starts_with(&format!("DPoP error=\"{want}\"")),
            "{challenges}"
        );
    }
    let (status, error, _) = userinfo(&base, &dpop, None).await;
    assert_eq!((status, error.as_str()), (401, "invalid_dpop_proof"));
    // The binding cannot be edited off the token, or onto another key.
    let (random, _) = access.split_once('~').unwrap();
    for edited in [
        random.to_owned(),
        format!("{random}~{}", other.thumbprint()),
    ] {
        let proof = other.proof("GET", &info, Some(&edited));
        let (status, _, _) = userinfo(&base, &format!("DPoP {edited}"), Some(&proof)).await;
        assert_eq!(status, 401, "{edited}");
        let (status, _, _) = userinfo(&base, &format!("Bearer {edited}"), None).await;
        assert_eq!(status, 401, "{edited}");
    }

    // Its refresh token is bound too: refused without a proof or with another key's.
    let (status, body) = refresh(&base, As::Public("spa"), &refresh_token, None).await;
    assert_eq!((status, field(&body, "error")), (400, "invalid_grant"));
    let (status, body) = refresh(&base, As::Public("spa"), &refresh_token, Some(&other)).await;
    assert_eq!((status, field(&body, "error")), (400, "invalid_grant"));
    // Neither refusal used it up: with its key it rotates, and the next one is bound again.
    let (status, body) = refresh(&base, As::Public("spa"), &refresh_token, Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let next = field(&body, "refresh_token").to_owned();
    let (status, _) = refresh(&base, As::Public("spa"), &next, None).await;
    assert_eq!(status, 400);
    let access = field(&body, "access_token").to_owned();
    let proof = key.proof("GET", &info, Some(&access));
    let (status, _, _) = userinfo(&base, &format!("DPoP {access}"), Some(&proof)).await;
    assert_eq!(status, 200);
    // A proof is taken by the rotation it came with: sent again, it is refused before the
    // token it comes with is looked at, which is not used up.
    let used = key.proof("POST", &format!("{base}/token"), None);
    let rotate = async |refresh_token: &str, proof: &str| {
        let form = [
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ];
        token(&base, As::Public("spa"), &form, Some(proof)).await
    };
    let (status, body) = rotate(&next, &used).await;
    assert_eq!(status, 200, "{body}");
    let next = field(&body, "refresh_token").to_owned();
    let (status, body) = rotate(&next, &used).await;
    assert_eq!((status, field(&body, "error")), (400, "invalid_dpop_proof"));
    let (status, body) = refresh(&base, As::Public("spa"), &next, Some(&key)).await;
    assert_eq!(status, 200, "{body}");

    // An unbound token sent with the DPoP scheme is refused: it would prove nothing.
    let (status, plain) = sign_in_with_key(&server, As::Public("spa"), None).await;
    assert_eq!(status, 200);
    assert_eq!(plain["token_type"], "Bearer");
    let plain = field(&plain, "access_token").to_owned();
    assert!(!plain.contains('~'));
    let proof = key.proof("GET", &info, Some(&plain));
    let (status, error, _) = userinfo(&base, &format!("DPoP {plain}"), Some(&proof)).await;
    assert_eq!((status, error.as_str()), (401, "invalid_token"));
    let (status, _, _) = userinfo(&base, &format!("Bearer {plain}"), None).await;
    assert_eq!(status, 200);
    server.stop().await;
}

async fn a_confidential_client_gets_bound_access_tokens_and_sees_the_binding(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    add_user(s, "ada").await;
    let secret = add_client(s, "web").await;
    let key = DpopKey::new();
    let web = As::Secret("web", &secret);

    let (status, tokens) = sign_in_with_key(&server, web, Some(&key)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = field(&tokens, "access_token").to_owned();
    let refresh_token = field(&tokens, "refresh_token").to_owned();
    // Introspection names the key (RFC 9449 §6.2).
    let introspected = common::introspect(&base, ("web", &secret), &access).await;
    assert_eq!(introspected["active"], true);
    assert_eq!(introspected["token_type"], "DPoP");
    assert_eq!(introspected["cnf"], json!({ "jkt": key.thumbprint() }));

    // A confidential client's refresh token is not bound: its secret constrains it, and it
    // may change keys. Its access tokens are bound to the key of each request's proof.
    let (status, body) = refresh(&base, web, &refresh_token, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let second = DpopKey::new();
    let (status, body) = refresh(&base, web, field(&body, "refresh_token"), Some(&second)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = field(&body, "access_token");
    let info = format!("{base}/userinfo");
    let (status, _, _) = userinfo(
        &base,
        &format!("DPoP {access}"),
        Some(&second.proof("GET", &info, Some(access))),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = userinfo(
        &base,
        &format!("DPoP {access}"),
        Some(&key.proof("GET", &info, Some(access))),
    )
    .await;
    assert_eq!(status, 401, "the first key no longer");
    server.stop().await;
}

async fn the_token_endpoint_refuses_a_proof_that_is_not_good(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    let secret = add_service_client(s, "svc", &["reports"]).await;
    let key = DpopKey::new();
    let url = format!("{base}/token");
    let svc = As::Secret("svc", &secret);
    let form = [("grant_type", "client_credentials")];

    // Made ten minutes ago.
    let old = key.sign(&json!({ "jti": "old", "htm": "POST", "htu": url, "iat": now() - 600 }));
    let cases = [
        (
            "for another URL",
            key.proof("POST", &format!("{base}/par"), None),
        ),
        ("for another method", key.proof("GET", &url, None)),
        ("too old", old),
        ("not a JWT", "not-a-jwt".to_owned()),
        ("oversized", "a".repeat(9 * 1024)),
    ];
    for (what, proof) in cases {
        let (status, body) = token(&base, svc, &form, Some(&proof)).await;
        assert_eq!(
            (status, field(&body, "error")),
            (400, "invalid_dpop_proof"),
            "{what}"
        );
    }
    // Two proofs in one request.
    let r = reqwest::Client::new()
        .post(&url)
        .basic_auth("svc", Some(&secret))
        .header("DPoP", key.proof("POST", &url, None))
        .header("DPoP", key.proof("POST", &url, None))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    // A good one, once: sent again (a replay, or 16 copies at once), it is refused.
    let proof = key.proof("POST", &url, None);
    let mut copies = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (base, secret, proof) = (base.clone(), secret.clone(), proof.clone());
        copies.spawn(async move {
            let svc = As::Secret("svc", &secret);
            token(
                &base,
                svc,
                &[("grant_type", "client_credentials")],
                Some(&proof),
            )
            .await
        });
    }
    let answers = copies.join_all().await;
    let issued: Vec<&Value> = answers
        .iter()
        .filter(|(status, _)| *status == 200)
        .map(|(_, body)| body)
        .collect();
    assert_eq!(issued.len(), 1, "{answers:?}");
    assert_eq!(issued[0]["token_type"], "DPoP");
    for (status, body) in &answers {
        if *status != 200 {
            assert_eq!((*status, field(body, "error")), (400, "invalid_dpop_proof"));
        }
    }
    // A client that authenticates badly is told that first, and its proof is not taken.
    let fresh = key.proof("POST", &url, None);
    let (status, _) = token(&base, As::Secret("svc", "wrong"), &form, Some(&fresh)).await;
    assert_eq!(status, 401);
    let (status, _) = token(&base, svc, &form, Some(&fresh)).await;
    assert_eq!(status, 200);
    server.stop().await;
}

async fn a_bound_jwt_access_token_names_its_key(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    add_user(s, "ada").await;
    let secret = add_client(s, "api").await;
    let mut c = s.client("api").await.unwrap().unwrap();
    c.access_token_format = AccessTokenFormat::Jwt;
    s.update_client(c, None).await.unwrap();
    let key = DpopKey::new();

    let (status, tokens) = sign_in_with_key(&server, As::Secret("api", &secret), Some(&key)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    let access = field(&tokens, "access_token");
    // What an API checks offline: the token's cnf is the key's thumbprint.
    let claims = verify_jwt(&base, access, "at+jwt", "api", &["exp"]).await;
    assert_eq!(claims["cnf"], json!({ "jkt": key.thumbprint() }));
    let info = format!("{base}/userinfo");
    let proof = key.proof("GET", &info, Some(access));
    let (status, _, _) = userinfo(&base, &format!("DPoP {access}"), Some(&proof)).await;
    assert_eq!(status, 200);
    let (status, _, _) = userinfo(&base, &format!("Bearer {access}"), None).await;
    assert_eq!(status, 401);
    server.stop().await;
}

async fn the_admin_api_takes_a_bound_token_with_its_proof(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    let secret = add_service_client(s, "ops", &["admin"]).await;
    let key = DpopKey::new();
    let url = format!("{base}/token");
    let (status, body) = token(
        &base,
        As::Secret("ops", &secret),
        &[("grant_type", "client_credentials"), ("scope", "admin")],
        Some(&key.proof("POST", &url, None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    let access = field(&body, "access_token");
    let users = format!("{base}/admin/api/users");
    let get = |authorization: String, proof: Option<String>| {
        let mut r = reqwest::Client::new()
            .get(format!("{users}?limit=5"))
            .header("authorization", authorization);
        if let Some(p) = proof {
            r = r.header("DPoP", p);
        }
        async move { r.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(get(format!("Bearer {access}"), None).await, 401);
    let proof = key.proof("GET", &users, Some(access));
    assert_eq!(get(format!("DPoP {access}"), Some(proof)).await, 200);
    let elsewhere = key.proof("GET", &format!("{base}/admin/api/clients"), Some(access));
    assert_eq!(get(format!("DPoP {access}"), Some(elsewhere)).await, 401);

    // A bound token without the admin scope: presented as a bearer token it is refused as
    // such, before anything is said of its scope; with its proof, it may not.
    let other = add_service_client(s, "reports", &["reports"]).await;
    let (status, body) = token(
        &base,
        As::Secret("reports", &other),
        &[("grant_type", "client_credentials")],
        Some(&key.proof("POST", &url, None)),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let reports = field(&body, "access_token");
    assert_eq!(get(format!("Bearer {reports}"), None).await, 401);
    let proof = key.proof("GET", &users, Some(reports));
    assert_eq!(get(format!("DPoP {reports}"), Some(proof)).await, 403);
    server.stop().await;
}

async fn a_client_that_requires_dpop_gets_no_token_without_a_proof(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    let secret = add_service_client(s, "svc", &["reports"]).await;
    let mut c = s.client("svc").await.unwrap().unwrap();
    c.dpop_bound_access_tokens = true;
    s.update_client(c, None).await.unwrap();
    let svc = As::Secret("svc", &secret);
    let form = [("grant_type", "client_credentials")];

    let (status, body) = token(&base, svc, &form, None).await;
    assert_eq!((status, field(&body, "error")), (400, "invalid_dpop_proof"));
    let key = DpopKey::new();
    let proof = key.proof("POST", &format!("{base}/token"), None);
    let (status, body) = token(&base, svc, &form, Some(&proof)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");
    server.stop().await;
}

async fn a_code_bound_to_a_key_is_redeemed_only_with_a_proof_of_it(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    add_user(s, "ada").await;
    add_public_client(s, "spa").await;
    let spa = As::Public("spa");
    let (key, other) = (DpopKey::new(), DpopKey::new());

    // Named in the authorization request (dpop_jkt, RFC 9449 §10).
    let named = format!("&dpop_jkt={}", key.thumbprint());
    let (code, verifier) = code_for(&server, spa, &named).await;
    for wrong in [None, Some(&other)] {
        let (status, body) = redeem(&base, spa, &code, &verifier, wrong).await;
        assert_eq!((status, field(&body, "error")), (400, "invalid_grant"));
    }
    // Neither refusal used the code up.
    let (status, body) = redeem(&base, spa, &code, &verifier, Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "DPoP");

    // A dpop_jkt that is no thumbprint is refused, back at the application.
    let url = format!(
        "{base}/authorize?response_type=code&client_id=spa&redirect_uri={REDIRECT}&scope=openid&code_challenge={}&code_challenge_method=S256&dpop_jkt=not-a-thumbprint",
        pkce().1
    );
    let r = Browser::default().http.get(url).send().await.unwrap();
    assert_eq!(location_params(&r)["error"], "invalid_request");

    // Pushed with a proof (RFC 9449 §10.1): the proof's key binds the code.
    let (verifier, challenge) = pkce();
    let pushed = |proof: Option<String>, extra: Vec<(&'static str, String)>| {
        let mut form = vec![
            ("client_id", "spa".to_owned()),
            ("response_type", "code".to_owned()),
            ("redirect_uri", REDIRECT.to_owned()),
            ("scope", "openid".to_owned()),
            ("code_challenge", challenge.clone()),
            ("code_challenge_method", "S256".to_owned()),
        ];
        form.extend(extra);
        let mut r = reqwest::Client::new()
            .post(format!("{base}/par"))
            .form(&form);
        if let Some(p) = proof {
            r = r.header("DPoP", p);
        }
        async move {
            let r = r.send().await.unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let par = format!("{base}/par");
    let (status, body) = pushed(
        Some(key.proof("POST", &par, None)),
        vec![("dpop_jkt", other.thumbprint())],
    )
    .await;
    assert_eq!((status, field(&body, "error")), (400, "invalid_dpop_proof"));
    let (status, body) = pushed(Some(key.proof("POST", &par, None)), vec![]).await;
    assert_eq!(status, 201, "{body}");
    let url = format!(
        "{base}/authorize?client_id=spa&request_uri={}",
        field(&body, "request_uri")
    );
    let redirect = Browser::default()
        .authorize(&base, &url, "ada", PASSWORD)
        .await;
    let code = location_params(&redirect)["code"].clone();
    let (status, _) = redeem(&base, spa, &code, &verifier, Some(&other)).await;
    assert_eq!(status, 400);
    let (status, body) = redeem(&base, spa, &code, &verifier, Some(&key)).await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

async fn discovery_says_which_algorithms_sign_proofs(db: Database) {
    let server = TestServer::start_on(db).await;
    let openid: HashMap<String, Value> =
        reqwest::get(format!("{}/.well-known/openid-configuration", server.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    assert_eq!(
        openid["dpop_signing_alg_values_supported"],
        json!(["RS256", "PS256", "ES256", "EdDSA"])
    );
    // RFC 8414: the same document where OAuth clients look.
    let oauth: HashMap<String, Value> = reqwest::get(format!(
        "{}/.well-known/oauth-authorization-server",
        server.base
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(oauth, openid);
    server.stop().await;
}

async fn with_server_nonces_every_proof_carries_a_current_one(db: Database) {
    let server = TestServer::start_with(db, |args| args.dpop_nonce = true).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    add_user(s, "ada").await;
    add_public_client(s, "spa").await;
    let secret = add_service_client(s, "svc", &["reports"]).await;
    let svc = As::Secret("svc", &secret);
    let app_secret = add_client(s, "app").await;
    let key = DpopKey::new();
    let at_token = format!("{base}/token");
    let info = format!("{base}/userinfo");

    // A token request whose proof has no nonce is refused and told the nonce to use; nothing
    // is used up, so the same code is redeemed once the proof carries it.
    let (code, verifier) = code_for(&server, As::Public("spa"), "").await;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", REDIRECT),
        ("code_verifier", verifier.as_str()),
    ];
    let spa = As::Public("spa");
    let bare = key.proof("POST", &at_token, None);
    let (status, body, nonce) = token_answer(&base, spa, &form, Some(&bare)).await;
    assert_eq!((status, field(&body, "error")), (400, "use_dpop_nonce"));
    let nonce = nonce.expect("the nonce to use");
    // One that is not the server's, or a forged one, is refused the same way.
    for wrong in ["made-up", &nonce[1..], &"n".repeat(3_000)] {
        let proof = key.proof_with_nonce("POST", &at_token, None, Some(wrong));
        let (status, body, given) = token_answer(&base, spa, &form, Some(&proof)).await;
        assert_eq!((status, field(&body, "error")), (400, "use_dpop_nonce"));
        assert!(given.is_some(), "told the nonce again");
    }
    let proof = key.proof_with_nonce("POST", &at_token, None, Some(&nonce));
    let (status, tokens, given) = token_answer(&base, spa, &form, Some(&proof)).await;
    assert_eq!(status, 200, "{tokens}");
    assert_eq!(tokens["token_type"], "DPoP");
    assert!(given.is_some(), "a success hands out the nonce too");
    let access = field(&tokens, "access_token").to_owned();

    // At /userinfo, a resource: 401 with the DPoP challenge naming the error, and the nonce.
    let dpop = format!("DPoP {access}");
    let bare = key.proof("GET", &info, Some(&access));
    let (status, error, challenges, given) = userinfo_answer(&base, &dpop, Some(&bare)).await;
    assert_eq!((status, error.as_str()), (401, "use_dpop_nonce"));
    assert!(
        challenges.starts_with("DPoP error=\"use_dpop_nonce\""),
        "{challenges}"
    );
    let nonce = given.expect("the nonce to use");
    let proof = key.proof_with_nonce("GET", &info, Some(&access), Some(&nonce));
    let (status, _, _, _) = userinfo_answer(&base, &dpop, Some(&proof)).await;
    assert_eq!(status, 200);
    // A nonce does not make a proof usable twice.
    let (status, error, _, _) = userinfo_answer(&base, &dpop, Some(&proof)).await;
    assert_eq!((status, error.as_str()), (401, "invalid_dpop_proof"));

    // A confidential client's grant, and a pushed request, alike.
    let form = [("grant_type", "client_credentials")];
    let (status, body, nonce) =
        token_answer(&base, svc, &form, Some(&bare_at(&key, &at_token))).await;
    assert_eq!((status, field(&body, "error")), (400, "use_dpop_nonce"));
    let proof = key.proof_with_nonce("POST", &at_token, None, nonce.as_deref());
    let (status, body, _) = token_answer(&base, svc, &form, Some(&proof)).await;
    assert_eq!(status, 200, "{body}");
    let at_par = format!("{base}/par");
    let push = async |proof: String| {
        let r = reqwest::Client::new()
            .post(&at_par)
            .basic_auth("app", Some(&app_secret))
            .header("DPoP", proof)
            .form(&[
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("code_challenge", pkce().1.as_str()),
                ("code_challenge_method", "S256"),
            ])
            .send()
            .await
            .unwrap();
        let nonce = nonce_of(&r);
        (r.status().as_u16(), r.json::<Value>().await.unwrap(), nonce)
    };
    let (status, body, nonce) = push(bare_at(&key, &at_par)).await;
    assert_eq!((status, field(&body, "error")), (400, "use_dpop_nonce"));
    let (status, body, _) =
        push(key.proof_with_nonce("POST", &at_par, None, nonce.as_deref())).await;
    assert_eq!(status, 201, "{body}");

    // Without a proof, nothing changes: a bearer client is not asked for a nonce, nor given one.
    let (status, body, nonce) = token_answer(&base, svc, &form, None).await;
    assert_eq!((status, body["token_type"].as_str()), (200, Some("Bearer")));
    assert_eq!(nonce, None);
    server.stop().await;
}

/// A proof for a POST to `url` without a nonce.
fn bare_at(key: &DpopKey, url: &str) -> String {
    key.proof("POST", url, None)
}

async fn without_server_nonces_none_is_asked_for_or_handed_out(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let base = server.base.clone();
    let secret = add_service_client(s, "svc", &["reports"]).await;
    let key = DpopKey::new();
    let at_token = format!("{base}/token");
    let form = [("grant_type", "client_credentials")];
    // A nonce the server never gave is no reason to refuse: the deployment asks for none.
    for nonce in [None, Some("whatever")] {
        let proof = key.proof_with_nonce("POST", &at_token, None, nonce);
        let (status, body, given) =
            token_answer(&base, As::Secret("svc", &secret), &form, Some(&proof)).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(given, None);
    }
    server.stop().await;
}

on_both_backends!((flavor = "multi_thread", worker_threads = 4);
    a_public_clients_tokens_are_bound_to_its_key,
    a_confidential_client_gets_bound_access_tokens_and_sees_the_binding,
    the_token_endpoint_refuses_a_proof_that_is_not_good,
    a_bound_jwt_access_token_names_its_key,
    the_admin_api_takes_a_bound_token_with_its_proof,
    discovery_says_which_algorithms_sign_proofs,
    a_client_that_requires_dpop_gets_no_token_without_a_proof,
    a_code_bound_to_a_key_is_redeemed_only_with_a_proof_of_it,
    with_server_nonces_every_proof_carries_a_current_one,
    without_server_nonces_none_is_asked_for_or_handed_out,
);
