//! Bad input, through the router without a socket and with a fixed clock: each is refused with
//! the spec's error code and status, and changes nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use common::backend::Database;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use base64::Engine as _;
use common::oneshot::*;
use common::{PASSWORD, REDIRECT, add_user, hidden_input};
use gatehouse::app;
use gatehouse::model::UserChange;

/// The audit record of a key rotation made by a test.
fn rotation_record(rotated: &gatehouse::keyring::Rotated) -> gatehouse::model::AuditRecord {
    gatehouse::model::AuditRecord::new(
        rotated.signs_from,
        gatehouse::model::AuditKind::KeyRotated,
        "cli".to_owned(),
    )
    .subject(Some(&rotated.kid))
}
use gatehouse::oidc::tokens;
use sha2::{Digest, Sha256};
use tower::ServiceExt;

async fn an_unknown_client_or_unregistered_redirect_uri_is_shown_on_a_page_never_redirected(
    db: Database,
) {
    let f = fixture_on(db).await;
    for uri in [
        authorize_uri("nobody", ""),
        "/authorize?response_type=code&client_id=web&redirect_uri=https://evil.example/cb&scope=openid".to_owned(),
        format!(
            "/authorize?response_type=code&client_id=web&redirect_uri={REDIRECT}/extra&scope=openid"
        ),
        "/authorize?response_type=code&redirect_uri=x".to_owned(),
        format!("/authorize?client_id=web&client_id=spa&redirect_uri={REDIRECT}"),
    ] {
        let r = send(&f, get(&uri)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{uri}");
        assert!(r.headers().get(header::LOCATION).is_none(), "{uri}");
        assert!(body_text(r).await.contains("invalid_request"), "{uri}");
    }
}

async fn errors_after_the_redirect_uri_is_trusted_go_back_with_state_and_iss(db: Database) {
    let f = fixture_on(db).await;
    let cases = [
        (
            authorize_uri("web", "&response_type=token").replacen("response_type=code&", "", 1),
            "unsupported_response_type",
        ),
        (
            authorize_uri("web", "").replace(
                "&code_challenge_method=S256",
                "&code_challenge_method=plain",
            ),
            "invalid_request",
        ),
        (
            authorize_uri("spa", "").replace(
                &format!("&code_challenge={CHALLENGE}&code_challenge_method=S256"),
                "",
            ),
            "invalid_request",
        ),
        (
            authorize_uri("web", "").replace("scope=openid", "scope=openid%20admin"),
            "invalid_scope",
        ),
        (authorize_uri("web", "&prompt=none"), "login_required"),
        (authorize_uri("web", "&max_age=soon"), "invalid_request"),
        (
            authorize_uri("web", "&request_uri=https%3A%2F%2Fapp.example%2Fr"),
            "request_uri_not_supported",
        ),
        (
            authorize_uri("web", "&registration=%7B%7D"),
            "registration_not_supported",
        ),
        (
            authorize_uri("web", "&prompt=none%20login"),
            "invalid_request",
        ),
    ];
    for (uri, expected) in cases {
        let r = send(&f, get(&uri)).await;
        let params = location(&r);
        assert_eq!(params["error"], expected, "{uri}");
        assert_eq!(params["state"], "st", "{uri}");
        assert_eq!(params["iss"], f.state.config.issuer, "{uri}");
    }
}

async fn a_login_without_the_csrf_token_is_refused_and_makes_no_session(db: Database) {
    let f = fixture_on(db).await;
    let page = send(&f, get(&authorize_uri("web", ""))).await;
    let html = body_text(page).await;
    let body = encode(&[
        ("username", "ada"),
        ("password", PASSWORD),
        ("csrf", &hidden_input(&html, "csrf")),
        ("request", &hidden_input(&html, "request")),
    ]);
    // No CSRF cookie: a cross-site form post.
    let r = send(&f, form("/login").body(Body::from(body)).unwrap()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(cookies(&r).is_empty(), "no session cookie");
}

async fn wrong_passwords_unknown_and_disabled_users_get_the_same_answer(db: Database) {
    let f = fixture_on(db).await;
    add_user(f.state.store.as_ref(), "eve").await;
    f.state
        .store
        .update_user("eve", UserChange::Disable, T0, None)
        .await
        .unwrap();
    let mut bodies = Vec::new();
    for (username, password) in [
        ("ada", "wrong password!"),
        ("nobody", PASSWORD),
        ("eve", PASSWORD),
    ] {
        let r = post_login(&f, &authorize_uri("web", ""), username, password).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{username}");
        assert!(
            !cookies(&r).contains("gatehouse_session"),
            "{username}: no session"
        );
        let text = body_text(r).await;
        assert!(text.contains("Wrong username or password."), "{username}");
        let csrf = hidden_input(&text, "csrf");
        bodies.push(text.replace(username, "USER").replace(&csrf, "CSRF"));
    }
    assert!(
        bodies.iter().all(|b| b == &bodies[0]),
        "the pages do not tell the cases apart"
    );
}

async fn token_requests_with_bad_client_authentication_are_refused(db: Database) {
    let f = fixture_on(db).await;
    let code = code(&f, "web").await;
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", CHALLENGE_VERIFIER),
    ]);
    let cases: Vec<(Option<String>, String, StatusCode, &str, bool)> = vec![
        (
            Some(basic("web", "wrong")),
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            true,
        ),
        (
            Some(basic("nobody", &f.secret)),
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            true,
        ),
        (
            Some("Basic !!!".into()),
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            true,
        ),
        (
            None,
            format!("{body}&client_id=web&client_secret=wrong"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            false,
        ),
        (
            None,
            body.clone(),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            false,
        ),
        (
            Some(basic("web", &f.secret)),
            format!("{body}&client_secret={}", f.secret),
            StatusCode::BAD_REQUEST,
            "invalid_request",
            false,
        ),
        (
            None,
            format!("{body}&client_id=spa&client_secret=anything"),
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            false,
        ),
    ];
    for (auth, body, status, error, challenge) in cases {
        let mut req = form("/token");
        if let Some(a) = &auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let r = send(&f, req.body(Body::from(body.clone())).unwrap()).await;
        assert_eq!(r.status(), status, "{auth:?} {body}");
        assert_eq!(
            r.headers().contains_key(header::WWW_AUTHENTICATE),
            challenge,
            "{auth:?}"
        );
        assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
        assert_eq!(json(r).await["error"], error, "{auth:?} {body}");
    }
    // None of that consumed the code.
    assert_eq!(
        exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT)
            .await
            .status(),
        StatusCode::OK
    );
}

async fn a_wrong_verifier_or_redirect_uri_fails_without_consuming_the_code(db: Database) {
    let f = fixture_on(db).await;
    let code = code(&f, "web").await;
    let other_verifier = tokens::generate();
    for (verifier, redirect) in [
        (other_verifier.as_str(), REDIRECT),
        (CHALLENGE, REDIRECT),
        (CHALLENGE_VERIFIER, "http://127.0.0.1:9/other"),
    ] {
        let r = exchange(&f, &code, verifier, redirect).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert_eq!(json(r).await["error"], "invalid_grant");
    }
    let r = exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the code still works with the right verifier"
    );
    let r = exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(json(r).await["error"], "invalid_grant", "and only once");
}

async fn an_expired_code_is_refused(db: Database) {
    let f = fixture_on(db).await;
    let code = code(&f, "web").await;
    f.clock.advance(61);
    let r = exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["error"], "invalid_grant");
}

async fn malformed_token_requests_name_the_problem(db: Database) {
    let f = fixture_on(db).await;
    let auth = basic("web", &f.secret);
    let cases = [
        ("", "invalid_request"),
        (
            "grant_type=password&username=a&password=b",
            "unsupported_grant_type",
        ),
        ("grant_type=authorization_code", "invalid_request"),
        (
            "grant_type=authorization_code&code=a&code=b",
            "invalid_request",
        ),
        ("grant_type=refresh_token", "invalid_request"),
        (
            "grant_type=refresh_token&refresh_token=nonsense",
            "invalid_grant",
        ),
        (
            "grant_type=authorization_code&code=nonsense&redirect_uri=x",
            "invalid_grant",
        ),
    ];
    for (body, error) in cases {
        let r = send(
            &f,
            form("/token")
                .header(header::AUTHORIZATION, &auth)
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{body}");
        let j = json(r).await;
        assert_eq!(j["error"], error, "{body}");
        assert!(
            j["error_description"]
                .as_str()
                .is_some_and(|d| !d.is_empty())
        );
    }
}

async fn userinfo_needs_a_valid_bearer_token(db: Database) {
    let f = fixture_on(db).await;
    for auth in [
        None,
        Some("Bearer nonsense"),
        Some("Basic abc"),
        Some("Bearer "),
    ] {
        let mut req = Request::get("/userinfo");
        if let Some(a) = auth {
            req = req.header(header::AUTHORIZATION, a);
        }
        let r = send(&f, req.body(Body::empty()).unwrap()).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{auth:?}");
        let challenge = r.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .to_owned();
        assert!(
            challenge.starts_with("Bearer ") && challenge.contains("invalid_token"),
            "{challenge}"
        );
    }
    // An expired access token is refused too.
    let code = code(&f, "web").await;
    let tokens = json(exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await).await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let userinfo = || {
        Request::get("/userinfo")
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap()
    };
    assert_eq!(send(&f, userinfo()).await.status(), StatusCode::OK);
    f.clock.advance(601);
    assert_eq!(
        send(&f, userinfo()).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[test]
fn the_rfc_pkce_example_matches_our_constants() {
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    assert_eq!(
        URL_SAFE_NO_PAD.encode(Sha256::digest(CHALLENGE_VERIFIER)),
        CHALLENGE
    );
}

async fn a_rotated_key_is_published_before_it_signs_and_the_old_one_until_its_tokens_expire(
    db: Database,
) {
    use gatehouse::keyring::{ACTIVATION_DELAY, JWKS_MAX_AGE, Rotation, rotate};
    use gatehouse::model::SigningAlg;
    let f = fixture_on(db).await;
    let kid = |token: &serde_json::Value| {
        let token = token["id_token"].as_str().unwrap();
        jsonwebtoken::decode_header(token).unwrap().kid.unwrap()
    };
    // The published keys as (alg, kid), and the Cache-Control of the set.
    let jwks = |f: &Fixture| {
        let f = f.state.clone();
        async move {
            let r = app(f).oneshot(get("/jwks.json")).await.unwrap();
            let cache = r.headers()[header::CACHE_CONTROL]
                .to_str()
                .unwrap()
                .to_owned();
            let j = json(r).await;
            let keys = j["keys"]
                .as_array()
                .unwrap()
                .iter()
                .map(|k| {
                    let field = |name: &str| k[name].as_str().unwrap().to_owned();
                    (field("alg"), field("kid"))
                })
                .collect::<std::collections::BTreeSet<_>>();
            (keys, cache)
        }
    };
    // The RS256 key ids among them; the keys of the other algorithms.
    let rs256 = |keys: &std::collections::BTreeSet<(String, String)>| {
        keys.iter()
            .filter(|(alg, _)| alg == "RS256")
            .map(|(_, kid)| kid.clone())
            .collect::<std::collections::BTreeSet<_>>()
    };
    let others = |keys: &std::collections::BTreeSet<(String, String)>| {
        keys.iter()
            .filter(|(alg, _)| alg != "RS256")
            .cloned()
            .collect::<Vec<_>>()
    };
    async fn sign_in(f: &Fixture) -> serde_json::Value {
        json(exchange(f, &code(f, "web").await, CHALLENGE_VERIFIER, REDIRECT).await).await
    }
    let old_kid = kid(&sign_in(&f).await);
    let (keys, cache) = jwks(&f).await;
    assert_eq!(rs256(&keys), [old_kid.clone()].into());
    assert_eq!(cache, format!("public, max-age={JWKS_MAX_AGE}"));
    // One key for each algorithm from the first start; rotating RS256 leaves them alone.
    let other_keys = others(&keys);
    assert_eq!(
        other_keys
            .iter()
            .map(|(alg, _)| alg.as_str())
            .collect::<Vec<_>>(),
        ["ES256", "EdDSA"]
    );

    let publish_for = f.state.config.key_publish_period();
    let new_kid = rotate(
        f.state.store.as_ref(),
        SigningAlg::Rs256,
        T0,
        Rotation::Scheduled { publish_for },
        rotation_record,
    )
    .await
    .unwrap()
    .kid;
    f.state.keys.invalidate();
    // Published at once, and for as long as a relying party may cache the set, not used: a
    // relying party that fetched the set just before the rotation still knows the signer.
    let (keys, _) = jwks(&f).await;
    assert_eq!(rs256(&keys), [new_kid.clone(), old_kid.clone()].into());
    assert_eq!(others(&keys), other_keys);
    assert_eq!(
        kid(&sign_in(&f).await),
        old_kid,
        "the old key signs meanwhile"
    );
    f.clock.advance(ACTIVATION_DELAY - 1);
    f.state.keys.invalidate();
    assert_eq!(kid(&sign_in(&f).await), old_kid);
    f.clock.advance(1);
    f.state.keys.invalidate();
    assert_eq!(kid(&sign_in(&f).await), new_kid, "then the new key signs");
    assert_eq!(
        rs256(&jwks(&f).await.0),
        [new_kid.clone(), old_kid.clone()].into()
    );

    // Once every token the old key signed has expired, it leaves the JWKS.
    f.clock.advance(publish_for + 1);
    f.state.keys.invalidate();
    let (keys, _) = jwks(&f).await;
    assert_eq!(rs256(&keys), [new_kid.clone()].into());
    assert_eq!(others(&keys), other_keys, "other algorithms' keys stay");

    // A compromised key: the new one signs at once, and the old one is gone from the set.
    let now = T0 + ACTIVATION_DELAY + publish_for + 1;
    let newest = rotate(
        f.state.store.as_ref(),
        SigningAlg::Rs256,
        now,
        Rotation::Compromised,
        rotation_record,
    )
    .await
    .unwrap();
    assert_eq!(newest.signs_from, now);
    f.state.keys.invalidate();
    let (keys, _) = jwks(&f).await;
    assert_eq!(rs256(&keys), [newest.kid.clone()].into());
    assert_eq!(others(&keys), other_keys);
    assert_eq!(kid(&sign_in(&f).await), newest.kid);
}

async fn the_session_cookie_is_http_only_and_same_site_lax(db: Database) {
    let f = fixture_on(db).await;
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let session = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("gatehouse_session="))
        .expect("a session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    // The issuer is http://127.0.0.1: a laptop, so not Secure.
    assert!(!session.contains("Secure"), "{session}");

    // With the session, the next authorization needs no password; with prompt=login it does.
    let session_cookie = session.split(';').next().unwrap().to_owned();
    let with_session = |uri: &str| {
        Request::get(uri)
            .header(header::COOKIE, &session_cookie)
            .body(Body::empty())
            .unwrap()
    };
    let again = send(&f, with_session(&authorize_uri("web", ""))).await;
    assert!(location(&again).contains_key("code"));
    let forced = send(&f, with_session(&authorize_uri("web", "&prompt=login"))).await;
    assert_eq!(forced.status(), StatusCode::OK, "the login form again");
    // max_age shorter than the session's age asks again too.
    f.clock.advance(120);
    let stale = send(&f, with_session(&authorize_uri("web", "&max_age=60"))).await;
    assert_eq!(stale.status(), StatusCode::OK);
    let silent = send(
        &f,
        with_session(&authorize_uri("web", "&max_age=60&prompt=none")),
    )
    .await;
    assert_eq!(location(&silent)["error"], "login_required");
}

async fn an_oversized_body_is_refused_before_it_is_read(db: Database) {
    let f = fixture_on(db).await;
    let huge = format!(
        "grant_type=refresh_token&refresh_token={}",
        "x".repeat(100 * 1024)
    );
    let r = send(
        &f,
        form("/token")
            .header(header::AUTHORIZATION, basic("web", &f.secret))
            .body(Body::from(huge))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
}

/// 12,000 distinct scope values in one parameter: within the 64 KiB limits of a URI and of a
/// body, and once most of a second of CPU each through a quadratic de-duplication.
fn huge_scope() -> String {
    (0..12_000)
        .map(|i| format!("{i:x}"))
        .collect::<Vec<_>>()
        .join(" ")
}

async fn an_oversized_scope_is_refused_before_anything_reads_it(db: Database) {
    let f = fixture_on(db).await;
    let many = (0..65)
        .map(|i| format!("s{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    for (scope, why) in [
        (huge_scope(), "the scope parameter is too long"),
        (many, "the scope parameter has too many values"),
    ] {
        let uri = authorize_uri("web", "").replace(
            "scope=openid",
            &format!("scope={}", encode(&[("s", &scope)])[2..].to_owned()),
        );
        let r = send(&f, get(&uri)).await;
        let params = location(&r);
        assert_eq!(params["error"], "invalid_scope");
        assert_eq!(params["error_description"], why);
    }

    // On refresh: refused before the store's write transaction sees it, and the refresh token
    // is not used up by the refusal.
    let (_, refresh, _) = tokens_for_ada(&f).await;
    let r = post_as(
        &f,
        "/token",
        "web",
        &f.secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", &refresh),
            ("scope", &huge_scope()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = json(r).await;
    assert_eq!(body["error"], "invalid_scope");
    assert_eq!(body["error_description"], "the scope parameter is too long");
    let r = post_as(
        &f,
        "/token",
        "web",
        &f.secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "the refresh token still works");

    // The same for a client acting for itself.
    let r = post_as(
        &f,
        "/token",
        "web",
        &f.secret,
        &[
            ("grant_type", "client_credentials"),
            ("scope", &huge_scope()),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn many_oversized_scopes_at_once_leave_other_requests_served(db: Database) {
    let f = Arc::new(fixture_on(db).await);
    let uri = authorize_uri("web", "").replace(
        "scope=openid",
        &format!("scope={}", &encode(&[("s", &huge_scope())])[2..]),
    );
    // A burst of attackers, and a person signing in at the same time.
    let attackers: Vec<_> = (0..6)
        .map(|_| {
            let (f, uri) = (Arc::clone(&f), uri.clone());
            tokio::spawn(async move { location(&send(&f, get(&uri)).await)["error"].clone() })
        })
        .collect();
    let person = {
        let f = Arc::clone(&f);
        tokio::spawn(async move { code(&f, "web").await })
    };
    for a in attackers {
        assert_eq!(a.await.unwrap(), "invalid_scope");
    }
    assert!(!person.await.unwrap().is_empty());
}

async fn a_form_token_planted_by_someone_else_never_signs_in(db: Database) {
    let f = fixture_on(db).await;
    let page = send(&f, get(&authorize_uri("web", ""))).await;
    let html = body_text(page).await;
    let request = hidden_input(&html, "request");
    // A value of the attacker's choosing in both the cookie and the field (cookie tossing from
    // a sibling domain, or a plain-http page): it matches itself, and proves nothing.
    for planted in ["short", &"x".repeat(43), "1800000000.AAAA"] {
        let body = encode(&[
            ("username", "ada"),
            ("password", PASSWORD),
            ("csrf", planted),
            ("request", &request),
        ]);
        let r = send(
            &f,
            form("/login")
                .header(header::COOKIE, format!("gatehouse_form={planted}"))
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{planted}");
        assert!(cookies(&r).is_empty(), "no session for {planted}");
    }
}

async fn post_authorize_works_like_get(db: Database) {
    let f = fixture_on(db).await;
    let query = authorize_uri("web", "")
        .split_once('?')
        .unwrap()
        .1
        .to_owned();
    let r = send(&f, form("/authorize").body(Body::from(query)).unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(html.contains("Sign in"), "the login form");
    // And a bad request is refused the same way.
    let r = send(
        &f,
        form("/authorize")
            .body(Body::from("client_id=nobody&response_type=code"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
}

async fn a_native_apps_loopback_redirect_may_use_any_port(db: Database) {
    let f = fixture_on(db).await;
    // The fixture's redirect URI is http://127.0.0.1:9/callback.
    let moved = authorize_uri("web", "").replace("127.0.0.1:9/", "127.0.0.1:51234/");
    assert_ne!(moved, authorize_uri("web", ""), "the port was replaced");
    let r = post_login(&f, &moved, "ada", PASSWORD).await;
    let to = r.headers()[header::LOCATION].to_str().unwrap();
    assert!(
        to.starts_with("http://127.0.0.1:51234/callback?code="),
        "{to}"
    );
    let csp = |r: &axum::response::Response| {
        r.headers()[header::CONTENT_SECURITY_POLICY]
            .to_str()
            .unwrap()
            .to_owned()
    };
    let page = send(&f, get(&moved)).await;
    assert!(csp(&page).contains("form-action 'self' http://127.0.0.1:*;"));
}

/// A NUL character, which PostgreSQL's text cannot hold, in a username, a client id or a
/// token is bad input like any other: refused, never a server error, on either backend.
/// (PostgreSQL refuses the statement; the store says the input is at fault.)
async fn a_nul_character_in_the_input_is_refused_never_a_server_error(db: Database) {
    let f = fixture_on(db).await;
    let auth = basic("web", &f.secret);
    let r = post_login(&f, &authorize_uri("web", ""), "a\0da", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the login form");
    assert!(body_text(r).await.contains("Wrong username or password."));
    let r = send(&f, get(&authorize_uri("w%00eb", ""))).await;
    assert!(r.status().is_client_error(), "authorize: {}", r.status());
    for (authorization, body) in [
        (
            None,
            "grant_type=client_credentials&client_id=w%00eb&client_secret=x",
        ),
        (Some(basic("w\0eb", "x")), "grant_type=client_credentials"),
        (
            Some(auth.clone()),
            "grant_type=refresh_token&refresh_token=a%00b",
        ),
        (
            Some(auth.clone()),
            "grant_type=authorization_code&code=a%00b&redirect_uri=x",
        ),
    ] {
        let mut request = form("/token");
        if let Some(a) = &authorization {
            request = request.header(header::AUTHORIZATION, a);
        }
        let r = send(&f, request.body(Body::from(body)).unwrap()).await;
        assert!(r.status().is_client_error(), "{body}: {}", r.status());
    }
    let r = send(
        &f,
        form("/revoke")
            .header(header::AUTHORIZATION, &auth)
            .body(Body::from("token=a%00b"))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "revoking an unknown token");
}

/// `login_hint` fills in the login form's username, escaped, and focuses the password; one
/// that could not be a username (too long, a control character) fills in nothing and refuses
/// nothing.
async fn a_login_hint_fills_in_the_username_and_is_never_markup(db: Database) {
    let f = fixture_on(db).await;
    let page = |hint: &str| {
        let uri = authorize_uri("web", &format!("&{}", encode(&[("login_hint", hint)])));
        let f = &f;
        async move {
            let r = send(f, get(&uri)).await;
            assert_eq!(r.status(), StatusCode::OK, "{uri}");
            body_text(r).await
        }
    };
    let html = page("ada").await;
    assert!(
        html.contains(r#"autocomplete="username" required value="ada""#),
        "{html}"
    );
    assert!(
        html.contains(r#"autocomplete="current-password" required autofocus"#),
        "the password has the focus: {html}"
    );
    let markup = r#""><script>alert(1)</script>"#;
    let html = page(markup).await;
    assert!(!html.contains("<script>alert(1)"), "{html}");
    assert!(
        html.contains(r#"value="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;""#),
        "{html}"
    );
    for unusable in [
        "a".repeat(65),
        "ada\u{0}".to_owned(),
        "ada\r\nbob".to_owned(),
    ] {
        let html = page(&unusable).await;
        assert!(
            html.contains(r#"autocomplete="username" required autofocus value="""#),
            "{unusable:?}: {html}"
        );
    }
}

/// An `id_token_hint` lets only the person it names answer: a silent sign-in meant for Ada in a
/// browser where Bob is signed in gets `login_required`, never Bob's code; a forged hint, or one
/// issued to another client, is refused.
async fn an_id_token_hint_answers_only_for_the_person_it_names(db: Database) {
    let f = fixture_on(db).await;
    add_user(f.state.store.as_ref(), "bob").await;
    let signed_in = |who: &'static str| {
        let f = &f;
        async move {
            let r = post_login(f, &authorize_uri("web", ""), who, PASSWORD).await;
            let cookie = cookies(&r);
            let code = location(&r)["code"].clone();
            let tokens = json(exchange(f, &code, CHALLENGE_VERIFIER, REDIRECT).await).await;
            (cookie, tokens["id_token"].as_str().unwrap().to_owned())
        }
    };
    let (ada, ada_hint) = signed_in("ada").await;
    let (bob, _) = signed_in("bob").await;
    let silently = |cookie: &str, hint: &str, extra: &str| {
        let uri = authorize_uri(
            "web",
            &format!("{extra}&{}", encode(&[("id_token_hint", hint)])),
        );
        let request = Request::get(uri)
            .header(header::COOKIE, cookie)
            .body(Body::empty())
            .unwrap();
        let f = &f;
        async move { send(f, request).await }
    };
    // Bob's browser, Ada's hint: not Bob's code.
    let back = location(&silently(&bob, &ada_hint, "&prompt=none").await);
    assert_eq!(back["error"], "login_required", "{back:?}");
    assert!(!back.contains_key("code"));
    // Without prompt=none, the login form, for whoever signs in.
    let r = silently(&bob, &ada_hint, "").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains(r#"name="password""#));
    // Ada's browser, Ada's hint: her code.
    let back = location(&silently(&ada, &ada_hint, "&prompt=none").await);
    assert!(back.contains_key("code"), "{back:?}");

    // A forged hint, and Ada's ID token for another application, are refused.
    let (head, signature) = ada_hint.rsplit_once('.').unwrap();
    let flipped = if signature.starts_with('A') { 'B' } else { 'A' };
    let forged = format!("{head}.{flipped}{}", &signature[1..]);
    let back = location(&silently(&ada, &forged, "&prompt=none").await);
    assert_eq!(back["error"], "invalid_request", "{back:?}");
    assert!(back["error_description"].contains("not a valid ID token"));
    let spa = post_login(&f, &authorize_uri("spa", ""), "ada", PASSWORD).await;
    let code = location(&spa)["code"].clone();
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("client_id", "spa"),
        ("code", &code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", CHALLENGE_VERIFIER),
    ]);
    let tokens = json(send(&f, form("/token").body(Body::from(body)).unwrap()).await).await;
    let spa_hint = tokens["id_token"].as_str().unwrap();
    let back = location(&silently(&ada, spa_hint, "&prompt=none").await);
    assert_eq!(back["error"], "invalid_request", "{back:?}");
    assert!(back["error_description"].contains("not issued to this client"));
}

on_both_backends!(();
    an_id_token_hint_answers_only_for_the_person_it_names,
    a_login_hint_fills_in_the_username_and_is_never_markup,
    a_nul_character_in_the_input_is_refused_never_a_server_error,
    an_unknown_client_or_unregistered_redirect_uri_is_shown_on_a_page_never_redirected,
    errors_after_the_redirect_uri_is_trusted_go_back_with_state_and_iss,
    a_login_without_the_csrf_token_is_refused_and_makes_no_session,
    wrong_passwords_unknown_and_disabled_users_get_the_same_answer,
    token_requests_with_bad_client_authentication_are_refused,
    a_wrong_verifier_or_redirect_uri_fails_without_consuming_the_code,
    an_expired_code_is_refused,
    malformed_token_requests_name_the_problem,
    userinfo_needs_a_valid_bearer_token,
    a_rotated_key_is_published_before_it_signs_and_the_old_one_until_its_tokens_expire,
    the_session_cookie_is_http_only_and_same_site_lax,
    an_oversized_body_is_refused_before_it_is_read,
    an_oversized_scope_is_refused_before_anything_reads_it,
    many_oversized_scopes_at_once_leave_other_requests_served,
    a_form_token_planted_by_someone_else_never_signs_in,
    post_authorize_works_like_get,
    a_native_apps_loopback_redirect_may_use_any_port,
);
