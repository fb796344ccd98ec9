//! Pairwise subject identifiers (OpenID Connect Core §8.1), as applications see them: a client
//! registered with pairwise subjects is given, for a person, a `sub` of its sector alone, in
//! its ID tokens, at `/userinfo`, in introspection's answer and in its JWT access tokens; two
//! clients of one sector see one `sub`, a client of another sector another, and none of them
//! the person's id. What a client sends back (an `id_token_hint`, a requested `sub`) names a
//! person as that client knows them, and a client of public subjects is given the id, as
//! before.

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
use gatehouse::admin::{Admin, NewClient, SubjectOf};
use gatehouse::model::{AccessTokenFormat, SubjectType};
use serde_json::{Value, json};

/// Registers a first-party client of `sector` through the administration's rules; its secret.
async fn add_pairwise(f: &Fixture, client_id: &str, sector: &str, jwt: bool) -> String {
    let admin = Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let new = NewClient {
        client_id: client_id.into(),
        redirect_uris: vec![REDIRECT.into()],
        first_party: true,
        subject_type: SubjectType::Pairwise,
        sector_identifier: Some(sector.into()),
        access_token_format: if jwt {
            AccessTokenFormat::Jwt
        } else {
            AccessTokenFormat::Opaque
        },
        ..NewClient::default()
    };
    let (client, secret) = admin.add_client(new).await.unwrap();
    assert_eq!(client.pairwise_sector.as_deref(), Some(sector));
    secret.expect("a generated secret")
}

/// The claims of a JWT, read without verifying it (the flow tests verify tokens).
fn claims_of(jwt: &str) -> Value {
    jsonwebtoken::dangerous::insecure_decode_claims(jwt).unwrap()
}

/// What `client_id` gets at `/token` for the code `username` signs in to on `authorize`.
async fn tokens(
    f: &Fixture,
    (client_id, secret): (&str, &str),
    authorize: &str,
    username: &str,
) -> Value {
    let r = post_login(f, authorize, username, PASSWORD).await;
    redeem(f, (client_id, secret), &location(&r)["code"]).await
}

/// What `client_id` gets at `/token` for `code`.
async fn redeem(f: &Fixture, (client_id, secret): (&str, &str), code: &str) -> Value {
    let r = post_as(
        f,
        "/token",
        client_id,
        secret,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", CHALLENGE_VERIFIER),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{client_id}");
    json(r).await
}

/// The ID token's `sid` at `client` for the browser's `session`, signed in silently.
async fn sid_at(f: &Fixture, session: &str, client: (&str, &str)) -> String {
    let r = send(f, with(session, &authorize_uri(client.0, "&prompt=none"))).await;
    let t = redeem(f, client, &location(&r)["code"]).await;
    claims_of(t["id_token"].as_str().unwrap())["sid"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// The ID token's `sub` of `username` at `client_id`.
async fn sub_at(f: &Fixture, client: (&str, &str), username: &str) -> String {
    let t = tokens(f, client, &authorize_uri(client.0, ""), username).await;
    claims_of(t["id_token"].as_str().unwrap())["sub"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn each_sector_sees_its_own_subject(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    let ada = user(store, "ada").await;
    let bob = add_user(store, "bob").await;
    let shop_web = add_pairwise(&f, "shop-web", "shop.example", false).await;
    let shop_app = add_pairwise(&f, "shop-app", "shop.example", false).await;
    let news = add_pairwise(&f, "news", "news.example", true).await;
    let (shop_web, shop_app, news) = (
        ("shop-web", shop_web.as_str()),
        ("shop-app", shop_app.as_str()),
        ("news", news.as_str()),
    );

    // A client of public subjects is given the person's id, as before.
    assert_eq!(sub_at(&f, ("web", &f.secret), "ada").await, ada.id);
    // The shop's two applications see one sub for Ada, the news another; none her id or name.
    let at_shop = sub_at(&f, shop_web, "ada").await;
    assert_eq!(sub_at(&f, shop_app, "ada").await, at_shop);
    let at_news = sub_at(&f, news, "ada").await;
    for sub in [&at_shop, &at_news] {
        assert_ne!(sub, &ada.id);
        assert!(
            !sub.contains(&ada.id) && !sub.contains(&ada.username),
            "{sub}"
        );
        assert_eq!(sub.len(), 43, "{sub}");
    }
    assert_ne!(at_shop, at_news);
    // The same next time; another person, another.
    assert_eq!(sub_at(&f, shop_web, "ada").await, at_shop);
    let bob_at_shop = sub_at(&f, shop_web, "bob").await;
    assert!(bob_at_shop != at_shop && bob_at_shop != bob.id);
    // An administrator finds whom a sub names, and a person's sub, as the shop knows them.
    let admin = Admin::new(store, "cli", None, T0);
    let asked = |who| admin.client_subject("shop-app", who);
    assert_eq!(
        asked(SubjectOf::User("ada".into())).await.unwrap().sub,
        at_shop
    );
    let bob_named = asked(SubjectOf::Sub(bob_at_shop.clone())).await.unwrap();
    assert_eq!(bob_named.username, "bob");
    assert!(
        asked(SubjectOf::Sub(at_news.clone())).await.is_err(),
        "another sector's"
    );

    // /userinfo and introspection say the same sub as the ID token, and introspection keeps
    // the username to scopes that release it.
    let t = tokens(&f, shop_web, &authorize_uri("shop-web", ""), "ada").await;
    let access = t["access_token"].as_str().unwrap();
    let r = send(
        &f,
        axum::http::Request::get("/userinfo")
            .header(header::AUTHORIZATION, format!("Bearer {access}"))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(json(r).await, json!({"sub": at_shop}));
    let r = post_as(
        &f,
        "/introspect",
        "shop-web",
        shop_web.1,
        &[("token", access)],
    )
    .await;
    let answer = json(r).await;
    assert_eq!(
        (answer["active"].clone(), answer["sub"].clone()),
        (json!(true), json!(at_shop))
    );
    assert!(answer.get("username").is_none(), "{answer}");
    let profile = authorize_uri("shop-web", "").replace("scope=openid", "scope=openid%20profile");
    let t = tokens(&f, shop_web, &profile, "ada").await;
    let r = post_as(
        &f,
        "/introspect",
        "shop-web",
        shop_web.1,
        &[("token", t["access_token"].as_str().unwrap())],
    )
    .await;
    let answer = json(r).await;
    assert_eq!(
        (answer["sub"].clone(), answer["username"].clone()),
        (json!(at_shop), json!("ada"))
    );
    // A client of public subjects is still told the username.
    let (access, _, _) = tokens_for_ada(&f).await;
    let r = post_as(&f, "/introspect", "web", &f.secret, &[("token", &access)]).await;
    let answer = json(r).await;
    assert_eq!(
        (answer["sub"].clone(), answer["username"].clone()),
        (json!(ada.id), json!("ada"))
    );

    // The news' JWT access tokens name Ada as the news knows her.
    let t = tokens(&f, news, &authorize_uri("news", ""), "ada").await;
    let access = claims_of(t["access_token"].as_str().unwrap());
    assert_eq!(access["sub"], at_news.as_str());

    // Each ID token's session id is of its sector: the shop and the news cannot tell by it
    // that Ada signed in to both in one session.
    let signed_in = post_login(&f, &authorize_uri("shop-web", ""), "ada", PASSWORD).await;
    let session = cookies(&signed_in);
    let sid_shop = sid_at(&f, &session, shop_web).await;
    assert_eq!(
        sid_at(&f, &session, shop_app).await,
        sid_shop,
        "one sector, one sid"
    );
    let sid_news = sid_at(&f, &session, news).await;
    let sid_web = sid_at(&f, &session, ("web", &f.secret)).await;
    assert!(sid_news != sid_shop && sid_web != sid_shop && sid_web != sid_news);
}

fn with(session: &str, uri: &str) -> axum::http::Request<Body> {
    axum::http::Request::get(uri)
        .header(header::COOKIE, session)
        .body(Body::empty())
        .unwrap()
}

async fn what_a_client_sends_back_names_people_as_it_knows_them(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    let ada = user(store, "ada").await;
    add_user(store, "bob").await;
    let secret = add_pairwise(&f, "shop", "shop.example", false).await;
    let shop = ("shop", secret.as_str());
    let at_shop = sub_at(&f, shop, "ada").await;
    let bob_at_shop = sub_at(&f, shop, "bob").await;

    // Ada is signed in. Her ID token from the shop is a hint that answers silently for her.
    let signed_in = post_login(&f, &authorize_uri("shop", ""), "ada", PASSWORD).await;
    let session = cookies(&signed_in);
    let t = tokens(&f, shop, &authorize_uri("shop", ""), "ada").await;
    let hint = t["id_token"].as_str().unwrap();
    let silently = |hint: &str| {
        let uri = authorize_uri("shop", &format!("&prompt=none&id_token_hint={hint}"));
        send(&f, with(&session, &uri))
    };
    let r = silently(hint).await;
    assert!(location(&r).contains_key("code"));
    // Bob's does not take her session.
    let bob_hint = tokens(&f, shop, &authorize_uri("shop", ""), "bob").await;
    let bob_hint = bob_hint["id_token"].as_str().unwrap();
    let r = silently(bob_hint).await;
    assert_eq!(location(&r)["error"], "login_required");

    // A requested sub is the shop's: Ada's pairwise one answers for her, her id does not (a
    // client of a sector never addresses a person by what another client knows), nor Bob's.
    let asking = |sub: &str| {
        let claims = json!({"id_token": {"sub": {"value": sub}}}).to_string();
        authorize_uri(
            "shop",
            &format!("&prompt=none&{}", encode(&[("claims", &claims)])),
        )
    };
    let r = send(&f, with(&session, &asking(&at_shop))).await;
    assert!(location(&r).contains_key("code"));
    for someone_else in [ada.id.as_str(), bob_at_shop.as_str()] {
        let r = send(&f, with(&session, &asking(someone_else))).await;
        assert_eq!(location(&r)["error"], "login_required", "{someone_else}");
    }

    // The hint signs Ada out at once; Bob's asks first.
    let bye = |hint: &str| format!("/logout?{}", encode(&[("id_token_hint", hint)]));
    let r = send(&f, with(&session, &bye(bob_hint))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("csrf"), "the confirmation form");
    let r = send(&f, with(&session, &bye(hint))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("You are signed out"));
    let r = send(&f, with(&session, &authorize_uri("shop", "&prompt=none"))).await;
    assert_eq!(location(&r)["error"], "login_required", "signed out");
}

async fn a_client_made_pairwise_sees_new_subjects_and_keeps_its_sector(db: Database) {
    let f = fixture_on(db).await;
    let ada = user(f.state.store.as_ref(), "ada").await;
    let admin = Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let web = ("web", f.secret.as_str());
    assert_eq!(sub_at(&f, web, "ada").await, ada.id);

    // Made pairwise: its redirect URIs name no host of its own (a loopback one), so it needs
    // a sector, and says so.
    let pairwise = gatehouse::admin::ClientPatch {
        subject_type: Some(SubjectType::Pairwise),
        ..Default::default()
    };
    let e = admin
        .update_client("web", pairwise.clone())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("sector"), "{e}");
    assert_eq!(sub_at(&f, web, "ada").await, ada.id, "unchanged");
    let named = gatehouse::admin::ClientPatch {
        sector_identifier: Some("web.example".into()),
        ..pairwise
    };
    admin.update_client("web", named).await.unwrap();
    let at_web = sub_at(&f, web, "ada").await;
    assert_ne!(at_web, ada.id);
    // A new redirect URI does not change its sector, nor so its people's subs.
    let moved = gatehouse::admin::ClientPatch {
        redirect_uris: Some(vec![REDIRECT.into(), "https://elsewhere.example/cb".into()]),
        ..Default::default()
    };
    let c = admin.update_client("web", moved).await.unwrap();
    assert_eq!(c.pairwise_sector.as_deref(), Some("web.example"));
    assert_eq!(sub_at(&f, web, "ada").await, at_web);
    // Back to public: the id again.
    let public = gatehouse::admin::ClientPatch {
        subject_type: Some(SubjectType::Public),
        ..Default::default()
    };
    admin.update_client("web", public).await.unwrap();
    assert_eq!(sub_at(&f, web, "ada").await, ada.id);
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    each_sector_sees_its_own_subject,
    what_a_client_sends_back_names_people_as_it_knows_them,
    a_client_made_pairwise_sees_new_subjects_and_keeps_its_sector,
);

/// Discovery says pairwise subjects are offered.
#[tokio::test]
async fn discovery_offers_pairwise_subjects() {
    let f = fixture().await;
    let r = send(&f, get("/.well-known/openid-configuration")).await;
    assert_eq!(
        json(r).await["subject_types_supported"],
        json!(["public", "pairwise"])
    );
}
