//! Introspection (RFC 7662), revocation (RFC 7009) and the client_credentials grant (RFC 6749
//! §4.4), through the router with a fixed clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use common::backend::Database;

use axum::http::{StatusCode, header};
use common::oneshot::*;
use common::{add_client, add_public_client, add_service_client};

async fn introspect(f: &Fixture, client: &str, secret: &str, token: &str) -> serde_json::Value {
    let r = post_as(f, "/introspect", client, secret, &[("token", token)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    json(r).await
}

/// The status `/userinfo` answers `access` with; every answer, claims or refusal, is one no
/// cache may keep.
async fn userinfo_status(f: &Fixture, access: &str) -> StatusCode {
    let req = axum::http::Request::get("/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .body(axum::body::Body::empty())
        .unwrap();
    let r = send(f, req).await;
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    r.status()
}

async fn introspection_describes_active_tokens_to_their_client_only(db: Database) {
    let f = fixture_on(db).await;
    let other_secret = add_client(f.state.store.as_ref(), "other").await;
    let (access, refresh, _) = tokens_for_ada(&f).await;

    let a = introspect(&f, "web", &f.secret, &access).await;
    assert_eq!(a["active"], true);
    assert_eq!(a["client_id"], "web");
    assert_eq!(a["username"], "ada");
    assert_eq!(a["scope"], "openid");
    assert_eq!(a["token_type"], "Bearer");
    assert_eq!(a["exp"], T0 + 600);
    assert_eq!(a["iat"], T0);
    assert!(a["sub"].as_str().is_some_and(|s| !s.is_empty()));

    let r = introspect(&f, "web", &f.secret, &refresh).await;
    assert_eq!(r["active"], true);
    assert!(
        r.get("token_type").is_none(),
        "a refresh token is not a bearer token"
    );

    // Another client learns nothing, not even that the token exists.
    let spy = introspect(&f, "other", &other_secret, &access).await;
    assert_eq!(spy, serde_json::json!({ "active": false }));
    let unknown = introspect(&f, "web", &f.secret, "no-such-token").await;
    assert_eq!(unknown, serde_json::json!({ "active": false }));

    // Expired tokens are inactive.
    f.clock.advance(600);
    assert_eq!(
        introspect(&f, "web", &f.secret, &access).await["active"],
        false
    );
}

async fn introspection_needs_an_authenticated_confidential_client(db: Database) {
    let f = fixture_on(db).await;
    let (access, _, _) = tokens_for_ada(&f).await;
    let wrong = post_as(&f, "/introspect", "web", "wrong", &[("token", &access)]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(wrong.headers().contains_key(header::WWW_AUTHENTICATE));
    assert_eq!(json(wrong).await["error"], "invalid_client");

    let public = send(
        &f,
        form("/introspect")
            .body(axum::body::Body::from(encode(&[
                ("client_id", "spa"),
                ("token", &access),
            ])))
            .unwrap(),
    )
    .await;
    assert_eq!(public.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(json(public).await["error"], "invalid_client");

    let missing = post_as(&f, "/introspect", "web", &f.secret, &[]).await;
    assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(missing).await["error"], "invalid_request");
}

async fn revoking_a_refresh_token_ends_its_family(db: Database) {
    let f = fixture_on(db).await;
    let (access, refresh, _) = tokens_for_ada(&f).await;
    let r = post_as(
        &f,
        "/revoke",
        "web",
        &f.secret,
        &[("token", &refresh), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        introspect(&f, "web", &f.secret, &refresh).await["active"],
        false
    );
    assert_eq!(
        introspect(&f, "web", &f.secret, &access).await["active"],
        false
    );
    assert_eq!(userinfo_status(&f, &access).await, StatusCode::UNAUTHORIZED);
    let refreshed = post_as(
        &f,
        "/token",
        "web",
        &f.secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(json(refreshed).await["error"], "invalid_grant");

    let log = f.state.store.audit_latest(10).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.record.kind.as_str() == "token.revoked"),
        "{log:?}"
    );
}

async fn revoking_an_access_token_keeps_the_refresh_token(db: Database) {
    let f = fixture_on(db).await;
    let (access, refresh, _) = tokens_for_ada(&f).await;
    // A wrong hint does not stop the search (RFC 7009 §2.1).
    let r = post_as(
        &f,
        "/revoke",
        "web",
        &f.secret,
        &[("token", &access), ("token_type_hint", "refresh_token")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(userinfo_status(&f, &access).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        introspect(&f, "web", &f.secret, &refresh).await["active"],
        true
    );
}

async fn another_clients_revocation_changes_nothing_and_reveals_nothing(db: Database) {
    let f = fixture_on(db).await;
    let other_secret = add_client(f.state.store.as_ref(), "other").await;
    let (access, refresh, _) = tokens_for_ada(&f).await;
    for token in [&access, &refresh, &"no-such-token".to_owned()] {
        let r = post_as(&f, "/revoke", "other", &other_secret, &[("token", token)]).await;
        // The same 200 as for an unknown token.
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        introspect(&f, "web", &f.secret, &access).await["active"],
        true
    );
    assert_eq!(
        introspect(&f, "web", &f.secret, &refresh).await["active"],
        true
    );

    let unauthenticated = post_as(&f, "/revoke", "other", "wrong", &[("token", &access)]).await;
    assert_eq!(unauthenticated.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        introspect(&f, "web", &f.secret, &access).await["active"],
        true
    );
}

async fn a_public_client_may_revoke_its_own_tokens(db: Database) {
    let f = fixture_on(db).await;
    add_public_client(f.state.store.as_ref(), "spa2").await;
    let r = send(
        &f,
        form("/revoke")
            .body(axum::body::Body::from(encode(&[
                ("client_id", "spa2"),
                ("token", "anything"),
            ])))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn client_credentials_grants_only_registered_scopes_a_client_may_hold(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    let secret = add_service_client(store, "bot", &["admin", "openid"]).await;

    let r = post_as(
        &f,
        "/token",
        "bot",
        &secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let body = json(r).await;
    assert_eq!(body["scope"], "admin", "openid needs a user: left out");
    assert_eq!(body["token_type"], "Bearer");
    assert!(body.get("refresh_token").is_none() && body.get("id_token").is_none());
    let access = body["access_token"].as_str().unwrap();
    let info = introspect(&f, "bot", &secret, access).await;
    assert_eq!(info["active"], true);
    assert_eq!(info["sub"], "bot");
    assert!(info.get("username").is_none());
    // Not a user's token: userinfo refuses it.
    assert_ne!(userinfo_status(&f, access).await, StatusCode::OK);

    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("scope", "admin email")], "invalid_scope"),
        (&[("scope", "openid")], "invalid_scope"),
        (&[("scope", "ad\"min")], "invalid_scope"),
    ];
    for (extra, error) in cases {
        let mut pairs = vec![("grant_type", "client_credentials")];
        pairs.extend_from_slice(extra);
        let r = post_as(&f, "/token", "bot", &secret, &pairs).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{extra:?}");
        assert_eq!(json(r).await["error"], error, "{extra:?}");
    }

    // A client not registered for the grant, and a public client, are refused.
    let web = post_as(
        &f,
        "/token",
        "web",
        &f.secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(json(web).await["error"], "unauthorized_client");
    let spa = send(
        &f,
        form("/token")
            .body(axum::body::Body::from(encode(&[
                ("grant_type", "client_credentials"),
                ("client_id", "spa"),
            ])))
            .unwrap(),
    )
    .await;
    assert_eq!(json(spa).await["error"], "unauthorized_client");

    // Revoked by its client, it stops working.
    let r = post_as(&f, "/revoke", "bot", &secret, &[("token", access)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        introspect(&f, "bot", &secret, access).await["active"],
        false
    );
}

async fn discovery_names_the_new_endpoints(db: Database) {
    let f = fixture_on(db).await;
    let d = json(send(&f, get("/.well-known/openid-configuration")).await).await;
    for (key, path) in [
        ("introspection_endpoint", "/introspect"),
        ("revocation_endpoint", "/revoke"),
        ("end_session_endpoint", "/logout"),
    ] {
        assert_eq!(d[key], format!("{}{path}", f.state.config.issuer), "{key}");
    }
    assert!(
        d["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"client_credentials".into())
    );
}

/// Presents refresh token `token` as `client`; the status and the JSON answer.
async fn refresh_as(
    f: &Fixture,
    client: &str,
    secret: &str,
    token: &str,
) -> (StatusCode, serde_json::Value) {
    let pairs = [("grant_type", "refresh_token"), ("refresh_token", token)];
    let r = post_as(f, "/token", client, secret, &pairs).await;
    (r.status(), json(r).await)
}

async fn a_retried_refresh_gets_the_same_tokens_within_the_window_and_reuse_after_it(db: Database) {
    use gatehouse::config::DEFAULT_REFRESH_RETRY_WINDOW;
    let f = fixture_on(db).await;
    let other = add_client(f.state.store.as_ref(), "other").await;
    let (_, first, _) = tokens_for_ada(&f).await;
    let (status, answer) = refresh_as(&f, "web", &f.secret, &first).await;
    assert_eq!(status, StatusCode::OK);
    let pair = |a: &serde_json::Value| {
        (
            a["access_token"].as_str().unwrap().to_owned(),
            a["refresh_token"].as_str().unwrap().to_owned(),
        )
    };
    let (access, refresh) = pair(&answer);

    // The same request again: the same tokens, nothing new.
    let (status, again) = refresh_as(&f, "web", &f.secret, &first).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(pair(&again), (access.clone(), refresh.clone()));
    assert_eq!(again["scope"], answer["scope"]);
    assert_eq!(again["token_type"], "Bearer");

    // Another client presenting it gets nothing, and revokes nothing.
    let (status, refused) = refresh_as(&f, "other", &other, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(refused["error"], "invalid_grant");
    // In the window's last second, still the same; the access token works.
    f.clock.advance(DEFAULT_REFRESH_RETRY_WINDOW - 1);
    let (status, late) = refresh_as(&f, "web", &f.secret, &first).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(pair(&late), (access.clone(), refresh.clone()));
    assert_eq!(
        late["expires_in"].as_i64().unwrap(),
        answer["expires_in"].as_i64().unwrap() - (DEFAULT_REFRESH_RETRY_WINDOW - 1),
        "the same access token, with the time it has left"
    );
    assert_eq!(userinfo_status(&f, &access).await, StatusCode::OK);

    // Once the window has passed, the rotated token is reuse again: the family is revoked,
    // the new tokens included.
    f.clock.advance(1);
    let (status, reused) = refresh_as(&f, "web", &f.secret, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");
    assert_eq!(userinfo_status(&f, &access).await, StatusCode::UNAUTHORIZED);
    let (status, _) = refresh_as(&f, "web", &f.secret, &refresh).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "the new refresh token too");
}

async fn once_the_new_refresh_token_is_used_the_old_one_is_reuse_even_in_the_window(db: Database) {
    let f = fixture_on(db).await;
    let (_, first, _) = tokens_for_ada(&f).await;
    let (_, second) = refresh_as(&f, "web", &f.secret, &first).await;
    let second = second["refresh_token"].as_str().unwrap().to_owned();
    let (status, third) = refresh_as(&f, "web", &f.secret, &second).await;
    assert_eq!(status, StatusCode::OK);
    let third_access = third["access_token"].as_str().unwrap().to_owned();

    // The client moved on; the first token coming back now is a leak.
    let (status, reused) = refresh_as(&f, "web", &f.secret, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(reused["error"], "invalid_grant");
    assert_eq!(
        userinfo_status(&f, &third_access).await,
        StatusCode::UNAUTHORIZED,
        "the family is revoked"
    );

    // A retry asking for another scope than the request it repeats is no retry either.
    let (_, first, _) = tokens_for_ada(&f).await;
    let (_, answer) = refresh_as(&f, "web", &f.secret, &first).await;
    let access = answer["access_token"].as_str().unwrap().to_owned();
    assert_eq!(answer["scope"], "openid");
    let pairs = [
        ("grant_type", "refresh_token"),
        ("refresh_token", first.as_str()),
        ("scope", "openid email"),
    ];
    let r = post_as(&f, "/token", "web", &f.secret, &pairs).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(userinfo_status(&f, &access).await, StatusCode::UNAUTHORIZED);
}

/// A refresh token names its family and carries a MAC: one made up from a real family id (it
/// is in audit records) is refused without touching the family, while a real token of an older
/// generation, of which nothing is stored, is still recognised as reuse.
async fn a_forged_refresh_token_of_a_real_family_is_refused_and_revokes_nothing(db: Database) {
    let f = fixture_on(db).await;
    let (_, first, _) = tokens_for_ada(&f).await;
    let parts: Vec<&str> = first.split('.').collect();
    assert_eq!(parts.len(), 3, "family.secret.mac: {first}");
    let (family, secret, mac) = (parts[0], parts[1], parts[2]);
    let forgeries = [
        format!("{family}.{}.{mac}", gatehouse::oidc::tokens::generate()),
        format!("{family}.{secret}.{}", "A".repeat(mac.len())),
        format!("{family}.{secret}"),
        format!("{family}.{secret}.{mac}.{mac}"),
    ];
    for forged in &forgeries {
        let (status, refused) = refresh_as(&f, "web", &f.secret, forged).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{forged}");
        assert_eq!(refused["error"], "invalid_grant");
        let (status, _) = refresh_as(&f, "web", &f.secret, forged).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{forged}");
    }
    // The family stands: its token rotates, twice, each successor in the same family.
    let (status, second) = refresh_as(&f, "web", &f.secret, &first).await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let second = second["refresh_token"].as_str().unwrap().to_owned();
    assert!(second.starts_with(&format!("{family}.")), "{second}");
    let (status, third) = refresh_as(&f, "web", &f.secret, &second).await;
    assert_eq!(status, StatusCode::OK, "{third}");
    let third = third["refresh_token"].as_str().unwrap().to_owned();
    // Only the current token is kept, and the one before it for a retry: none per rotation.
    assert_eq!(
        introspect(&f, "web", &f.secret, &third).await["active"],
        true
    );
    assert_eq!(
        introspect(&f, "web", &f.secret, &first).await["active"],
        false
    );
    // The first generation, kept nowhere, is recognised by its MAC: reuse, the family ends.
    let (status, reused) = refresh_as(&f, "web", &f.secret, &first).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        reused["error_description"],
        "the refresh token was already used; its family is revoked"
    );
    let (status, _) = refresh_as(&f, "web", &f.secret, &third).await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "the current token ended with it"
    );
}

/// A browser application (a public client) calls the token endpoint, the key set, discovery,
/// `/userinfo` and `/revoke` from its own origin; no other origin may, nor a confidential
/// client's.
async fn browser_applications_may_call_from_their_own_origin_and_no_other(db: Database) {
    use axum::http::Method;
    let f = fixture_on(db).await;
    let admin = gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let server = gatehouse::admin::NewClient {
        client_id: "server-app".into(),
        redirect_uris: vec!["https://server.example.com/cb".into()],
        ..Default::default()
    };
    admin.add_client(server).await.unwrap();
    // The public client `spa` redirects to REDIRECT, on this origin.
    let spa = "http://127.0.0.1:9";
    let preflight = |path: &str, origin: &str| {
        axum::http::Request::builder()
            .method(Method::OPTIONS)
            .uri(path)
            .header(header::ORIGIN, origin)
            .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
            .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "content-type")
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let allowed = |r: &axum::response::Response| {
        r.headers()
            .get(header::ACCESS_CONTROL_ALLOW_ORIGIN)
            .map(|v| v.to_str().unwrap().to_owned())
    };
    for path in [
        "/token",
        "/revoke",
        "/userinfo",
        "/jwks.json",
        "/.well-known/openid-configuration",
    ] {
        let r = send(&f, preflight(path, spa)).await;
        assert!(r.status().is_success(), "{path}: {}", r.status());
        assert_eq!(allowed(&r).as_deref(), Some(spa), "{path}");
        let methods = r.headers()[header::ACCESS_CONTROL_ALLOW_METHODS]
            .to_str()
            .unwrap();
        assert!(methods.contains("POST"), "{path}: {methods}");
        for origin in ["https://evil.example", "https://server.example.com", "null"] {
            let r = send(&f, preflight(path, origin)).await;
            assert_eq!(allowed(&r), None, "{path} from {origin}");
        }
    }
    // The answers themselves carry it, refusals included, so the application can read them.
    let token = form("/token")
        .header(header::ORIGIN, spa)
        .body(axum::body::Body::from(
            "grant_type=refresh_token&refresh_token=x&client_id=spa",
        ))
        .unwrap();
    let r = send(&f, token).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(allowed(&r).as_deref(), Some(spa));
    let mut keys = get("/jwks.json");
    keys.headers_mut()
        .insert(header::ORIGIN, spa.parse().unwrap());
    assert_eq!(allowed(&send(&f, keys).await).as_deref(), Some(spa));
    // Pages and the confidential endpoints allow no origin at all.
    for path in ["/authorize", "/login", "/introspect", "/admin/api/users"] {
        let r = send(&f, preflight(path, spa)).await;
        assert_eq!(allowed(&r), None, "{path}");
    }
}

on_both_backends!(();
    introspection_describes_active_tokens_to_their_client_only,
    introspection_needs_an_authenticated_confidential_client,
    revoking_a_refresh_token_ends_its_family,
    revoking_an_access_token_keeps_the_refresh_token,
    another_clients_revocation_changes_nothing_and_reveals_nothing,
    a_public_client_may_revoke_its_own_tokens,
    client_credentials_grants_only_registered_scopes_a_client_may_hold,
    discovery_names_the_new_endpoints,
    a_retried_refresh_gets_the_same_tokens_within_the_window_and_reuse_after_it,
    once_the_new_refresh_token_is_used_the_old_one_is_reuse_even_in_the_window,
    a_forged_refresh_token_of_a_real_family_is_refused_and_revokes_nothing,
    browser_applications_may_call_from_their_own_origin_and_no_other,
);
