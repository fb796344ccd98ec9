//! Clients that authenticate with keys (`private_key_jwt`, RFC 7523), that sign their
//! requests (request objects, RFC 9101), and whose authorization requests must be pushed (RFC
//! 9126 §6) or signed (RFC 9101 §10.5), through the router with a fixed clock,
//! on both backends: what a client sees at each endpoint, and what an attacker who replays,
//! forges or reroutes an assertion, or edits a request in the browser, gets.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::oneshot::*;
use common::{PASSWORD, REDIRECT};
use gatehouse::admin::{Admin, ClientPatch, NewClient};
use gatehouse::model::{SigningAlg, SigningKey};
use gatehouse::oidc::client_assertion::{ASSERTION_TYPE, MAX_ASSERTION, MAX_LIFETIME};
use gatehouse::oidc::keys::{self, Signer};
use serde_json::{Value, json};

/// A key of the client's, made as the server makes its own.
fn key(alg: SigningAlg) -> SigningKey {
    keys::generate(alg, T0).unwrap()
}

fn jwks(keys: &[&SigningKey]) -> Value {
    let listed: Vec<Value> = keys
        .iter()
        .map(|k| serde_json::from_str(&k.public_jwk).unwrap())
        .collect();
    json!({ "keys": listed })
}

fn admin(f: &Fixture) -> Admin<'_> {
    Admin::new(f.state.store.as_ref(), "test", None, T0)
}

/// Registers `client_id`, authenticating with `keys`, for every grant a server-side
/// application uses.
async fn register(f: &Fixture, client_id: &str, keys: &[&SigningKey]) {
    let new = NewClient {
        client_id: client_id.into(),
        redirect_uris: vec![REDIRECT.into()],
        first_party: true,
        grant_types: ["authorization_code", "refresh_token", "client_credentials"]
            .map(String::from)
            .to_vec(),
        jwks: Some(jwks(keys)),
        ..Default::default()
    };
    let (_, secret) = admin(f).add_client(new).await.unwrap();
    assert_eq!(secret, None, "a client with keys gets no secret");
}

/// An assertion of `client_id` signed by `key`, with `claims` changed as given.
fn assertion(
    f: &Fixture,
    key: &SigningKey,
    client_id: &str,
    change: impl FnOnce(&mut Value),
) -> String {
    let claims = json!({
        "iss": client_id,
        "sub": client_id,
        "aud": format!("{}/token", f.state.config.issuer),
        "exp": f.state.now() + 60,
        "iat": f.state.now(),
        "jti": gatehouse::oidc::tokens::generate(),
    });
    signed_by(key, claims, change)
}

/// `claims`, changed as given, in a JWT signed by `key`.
fn signed_by(key: &SigningKey, mut claims: Value, change: impl FnOnce(&mut Value)) -> String {
    change(&mut claims);
    Signer::new(key).unwrap().sign(&claims).unwrap()
}

/// `pairs` posted to `uri` with `assertion` as the client's authentication.
async fn post_asserted(
    f: &Fixture,
    uri: &str,
    assertion: &str,
    pairs: &[(&str, &str)],
) -> Response {
    let mut all = vec![
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", assertion),
    ];
    all.extend_from_slice(pairs);
    send(f, form(uri).body(Body::from(encode(&all))).unwrap()).await
}

/// `pairs` pushed to `/par` by `signed`, with an assertion for that endpoint signed by `key`.
async fn push_asserted(f: &Fixture, key: &SigningKey, pairs: &[(&str, &str)]) -> Response {
    let a = assertion(f, key, "signed", |c| {
        c["aud"] = json!(format!("{}/par", f.state.config.issuer))
    });
    post_asserted(f, "/par", &a, pairs).await
}

/// Where `signed` sends the browser after `/par` answered `pushed`: `/authorize` with the
/// `request_uri` it was given.
async fn authorize_pushed(pushed: Response) -> String {
    assert_eq!(pushed.status(), StatusCode::CREATED);
    let uri = json(pushed).await["request_uri"]
        .as_str()
        .unwrap()
        .to_owned();
    format!(
        "/authorize?{}",
        encode(&[("client_id", "signed"), ("request_uri", &uri)])
    )
}

/// `code` (of a request with [`CHALLENGE`]) redeemed at `/token` by `client_id`, with an
/// assertion signed by `key`.
async fn redeem(f: &Fixture, key: &SigningKey, client_id: &str, code: &str) -> Response {
    let a = assertion(f, key, client_id, |_| {});
    let redemption = [
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", REDIRECT),
        ("code_verifier", CHALLENGE_VERIFIER),
    ];
    post_asserted(f, "/token", &a, &redemption).await
}

const CLIENT_CREDENTIALS: &[(&str, &str)] = &[("grant_type", "client_credentials")];

/// `bodies` posted to `/token` all at once, each through a router of its own; their statuses.
async fn at_once(f: &Fixture, bodies: Vec<String>) -> Vec<StatusCode> {
    let mut sent = tokio::task::JoinSet::new();
    for body in bodies {
        let state = f.state.clone();
        sent.spawn(async move {
            use tower::ServiceExt as _;
            let r = gatehouse::app(state)
                .oneshot(form("/token").body(Body::from(body)).unwrap())
                .await
                .unwrap();
            r.status()
        });
    }
    sent.join_all().await
}

/// The error a refused request was answered, with its status.
async fn refusal(r: Response) -> (StatusCode, String, String) {
    let status = r.status();
    let body = json(r).await;
    (
        status,
        body["error"].as_str().unwrap_or_default().to_owned(),
        body["error_description"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

async fn a_client_authenticates_with_a_signed_assertion_once(db: Database) {
    let f = fixture_on(db).await;
    let (ec, ed) = (key(SigningAlg::Es256), key(SigningAlg::EdDsa));
    register(&f, "signed", &[&ec, &ed]).await;
    for k in [&ec, &ed] {
        let a = assertion(&f, k, "signed", |_| {});
        let r = post_asserted(&f, "/token", &a, CLIENT_CREDENTIALS).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(json(r).await["access_token"].is_string());
        // The same assertion again is a replay.
        let (status, error, why) =
            refusal(post_asserted(&f, "/token", &a, CLIENT_CREDENTIALS).await).await;
        assert_eq!(
            (status, error.as_str()),
            (StatusCode::UNAUTHORIZED, "invalid_client")
        );
        assert!(why.contains("used before"), "{why}");
    }
    // The issuer as audience, and client_id named beside the assertion, are accepted.
    let a = assertion(&f, &ec, "signed", |c| {
        c["aud"] = json!(f.state.config.issuer)
    });
    let r = post_asserted(
        &f,
        "/token",
        &a,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", "signed"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);

    // At every endpoint that authenticates a client: a pushed request, then the sign-in and
    // the code's exchange, introspection and revocation of what it got.
    let pushed = push_asserted(
        &f,
        &ec,
        &[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid offline_access"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let authorize = authorize_pushed(pushed).await;
    let r = post_login(&f, &authorize, "ada", PASSWORD).await;
    let code = location(&r)["code"].clone();
    // What the browser carries of a pushed request is the request, never the assertion that
    // authenticated its push.
    let a = assertion(&f, &ec, "signed", |_| {});
    let r = post_asserted(
        &f,
        "/par",
        &a,
        &[
            ("response_type", "code"),
            ("redirect_uri", REDIRECT),
            ("scope", "openid"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ],
    )
    .await;
    let page = send(&f, get(&authorize_pushed(r).await)).await;
    let carried = common::hidden_input(&body_text(page).await, "request");
    assert!(carried.contains("code_challenge="), "{carried}");
    assert!(!carried.contains("client_assertion"), "{carried}");
    let r = redeem(&f, &ed, "signed", &code).await;
    assert_eq!(r.status(), StatusCode::OK);
    let tokens = json(r).await;
    let refresh = tokens["refresh_token"].as_str().unwrap();
    let a = assertion(&f, &ed, "signed", |_| {});
    let r = post_asserted(&f, "/introspect", &a, &[("token", refresh)]).await;
    assert_eq!(json(r).await["active"], true);
    let a = assertion(&f, &ed, "signed", |_| {});
    let r = post_asserted(&f, "/revoke", &a, &[("token", refresh)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let a = assertion(&f, &ed, "signed", |_| {});
    let r = post_asserted(&f, "/introspect", &a, &[("token", refresh)]).await;
    assert_eq!(json(r).await["active"], false);
}

async fn what_does_not_authenticate_a_client_with_keys(db: Database) {
    let f = fixture_on(db).await;
    let (k, stranger) = (key(SigningAlg::Es256), key(SigningAlg::Es256));
    register(&f, "signed", &[&k]).await;
    let good = || assertion(&f, &k, "signed", |_| {});
    let cc = CLIENT_CREDENTIALS;
    let post = |pairs: Vec<(&'static str, String)>| {
        let f = &f;
        async move {
            let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
            refusal(send(f, form("/token").body(Body::from(encode(&pairs))).unwrap()).await).await
        }
    };
    let failed = (StatusCode::UNAUTHORIZED, "invalid_client");
    let two = (StatusCode::BAD_REQUEST, "invalid_request");
    let owned = |pairs: &[(&'static str, &str)]| -> Vec<(&'static str, String)> {
        pairs.iter().map(|(k, v)| (*k, v.to_string())).collect()
    };
    let with = |a: &str, extra: &[(&'static str, &str)]| {
        let mut p = owned(&[
            ("client_assertion_type", ASSERTION_TYPE),
            ("client_assertion", a),
        ]);
        p.extend(owned(cc));
        p.extend(owned(extra));
        p
    };
    type Fields = Vec<(&'static str, String)>;
    let cases: Vec<(&str, Fields, (StatusCode, &str), &str)> = vec![
        (
            // A client with keys is not public: its id alone is nothing.
            "its id alone",
            owned(&[
                ("grant_type", "client_credentials"),
                ("client_id", "signed"),
            ]),
            failed,
            "failed",
        ),
        (
            "a secret instead",
            owned(&[
                ("grant_type", "client_credentials"),
                ("client_id", "signed"),
                ("client_secret", &f.secret),
            ]),
            failed,
            "failed",
        ),
        (
            "a key it did not register",
            with(&assertion(&f, &stranger, "signed", |_| {}), &[]),
            failed,
            "failed",
        ),
        ("not a JWT", with("not-a-jwt", &[]), failed, "failed"),
        (
            "longer than the limit",
            with(&"e".repeat(MAX_ASSERTION + 1), &[]),
            failed,
            "failed",
        ),
        (
            // Signed by the client, naming another: the named client's keys do not verify it.
            "for another client, named by client_id",
            with(&assertion(&f, &k, "web", |_| {}), &[("client_id", "web")]),
            failed,
            "failed",
        ),
        (
            // Which client is the subject's, whose keys (none) do not verify it.
            "naming another client as its subject",
            with(
                &assertion(&f, &k, "signed", |c| c["sub"] = json!("web")),
                &[],
            ),
            failed,
            "failed",
        ),
        (
            "naming another client in its claims, the client named beside it",
            with(
                &assertion(&f, &k, "signed", |c| c["iss"] = json!("web")),
                &[("client_id", "signed")],
            ),
            failed,
            "iss and its sub",
        ),
        (
            "for another server",
            with(
                &assertion(&f, &k, "signed", |c| {
                    c["aud"] = json!("https://elsewhere.example/token")
                }),
                &[],
            ),
            failed,
            "not for this server",
        ),
        (
            "expired",
            with(
                &assertion(&f, &k, "signed", |c| c["exp"] = json!(T0 - 61)),
                &[],
            ),
            failed,
            "expired",
        ),
        (
            "living too long",
            with(
                &assertion(&f, &k, "signed", |c| {
                    c["exp"] = json!(T0 + MAX_LIFETIME + 1)
                }),
                &[],
            ),
            failed,
            "too long",
        ),
        (
            "without a jti",
            with(
                &assertion(&f, &k, "signed", |c| c["jti"] = json!(null)),
                &[],
            ),
            failed,
            "no jti",
        ),
        (
            "another assertion type",
            {
                let mut p = with(&good(), &[]);
                p[0].1 = "urn:ietf:params:oauth:client-assertion-type:saml2-bearer".into();
                p
            },
            failed,
            "client_assertion_type",
        ),
        (
            "an assertion without its type",
            {
                let mut p = with(&good(), &[]);
                p.remove(0);
                p
            },
            two,
            "go together",
        ),
        (
            "an assertion and a secret",
            with(&good(), &[("client_secret", "x")]),
            two,
            "one client authentication",
        ),
        (
            "a repeated assertion",
            with(&good(), &[("client_assertion", "x")]),
            two,
            "repeated",
        ),
    ];
    for (what, pairs, (status, error), why) in cases {
        let (got, got_error, got_why) = post(pairs).await;
        assert_eq!(
            (got, got_error.as_str()),
            (status, error),
            "{what}: {got_why}"
        );
        assert!(got_why.contains(why), "{what}: {got_why}");
    }
    // An assertion with Basic as well is two methods.
    let r = send(
        &f,
        form("/token")
            .header(header::AUTHORIZATION, basic("web", &f.secret))
            .body(Body::from(encode(&[
                ("client_assertion_type", ASSERTION_TYPE),
                ("client_assertion", &good()),
                ("grant_type", "client_credentials"),
            ])))
            .unwrap(),
    )
    .await;
    assert_eq!(refusal(r).await.1, "invalid_request");
    // A client with a secret is not authenticated by an assertion, whoever signed it.
    let a = assertion(&f, &k, "web", |_| {});
    let (status, error, _) = refusal(post_asserted(&f, "/token", &a, cc).await).await;
    assert_eq!((status, error.as_str()), failed);
    // And a good one still works after all that.
    let r = post_asserted(&f, "/token", &good(), cc).await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Of 32 requests sent at once with one assertion, one is answered a token.
async fn one_assertion_sent_at_once_authenticates_one_request(db: Database) {
    let f = fixture_on(db).await;
    let k = key(SigningAlg::Es256);
    register(&f, "signed", &[&k]).await;
    let a = assertion(&f, &k, "signed", |_| {});
    let body = encode(&[
        ("client_assertion_type", ASSERTION_TYPE),
        ("client_assertion", &a),
        ("grant_type", "client_credentials"),
    ]);
    let statuses = at_once(&f, vec![body; 32]).await;
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 1, "{statuses:?}");
    assert!(
        statuses
            .iter()
            .all(|s| *s == StatusCode::OK || *s == StatusCode::UNAUTHORIZED)
    );
}

async fn operators_register_check_and_roll_over_keys(db: Database) {
    let f = fixture_on(db).await;
    let (old, new) = (key(SigningAlg::Rs256), key(SigningAlg::Es256));
    let a = admin(&f);
    let refused = |new: NewClient| async { a.add_client(new).await.unwrap_err().to_string() };
    let base = || NewClient {
        client_id: "signed".into(),
        redirect_uris: vec![REDIRECT.into()],
        ..Default::default()
    };
    let mut private = jwks(&[&old]);
    private["keys"][0]["d"] = json!("AAAA");
    let cases = [
        (
            NewClient {
                jwks: Some(private),
                ..base()
            },
            "private",
        ),
        (
            NewClient {
                jwks: Some(json!({"keys": []})),
                ..base()
            },
            "1 to 8 keys",
        ),
        (
            NewClient {
                jwks: Some(jwks(&[&old])),
                public: true,
                ..base()
            },
            "public client has no keys",
        ),
        (
            NewClient {
                jwks: Some(jwks(&[&old])),
                secret: Some("s".repeat(40)),
                ..base()
            },
            "not both",
        ),
    ];
    for (new, why) in cases {
        let got = refused(new).await;
        assert!(got.contains(why), "{got}");
    }
    register(&f, "signed", &[&old]).await;
    let signed = f.state.store.client("signed").await.unwrap().unwrap();
    let view = gatehouse::admin::ClientView::new(signed, None);
    assert_eq!(view.token_endpoint_auth_method.as_str(), "private_key_jwt");
    assert!(!view.public);
    assert_eq!(view.jwks.unwrap()["keys"][0]["kid"], old.kid.as_str());
    let no_secret = a
        .rotate_client_secret("signed", 0)
        .await
        .unwrap_err()
        .to_string();
    assert!(no_secret.contains("authenticates with keys"), "{no_secret}");
    let patch = |keys: Value| ClientPatch {
        jwks: Some(keys),
        ..Default::default()
    };
    let not_keys = a
        .update_client("web", patch(jwks(&[&new])))
        .await
        .unwrap_err()
        .to_string();
    assert!(
        not_keys.contains("does not authenticate with keys"),
        "{not_keys}"
    );

    // A rollover: the new key beside the old, then the new alone.
    a.update_client("signed", patch(jwks(&[&old, &new])))
        .await
        .unwrap();
    for k in [&old, &new] {
        let r = post_asserted(
            &f,
            "/token",
            &assertion(&f, k, "signed", |_| {}),
            CLIENT_CREDENTIALS,
        )
        .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    a.update_client("signed", patch(jwks(&[&new])))
        .await
        .unwrap();
    let r = post_asserted(
        &f,
        "/token",
        &assertion(&f, &old, "signed", |_| {}),
        CLIENT_CREDENTIALS,
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "the old key is gone");
    let r = post_asserted(
        &f,
        "/token",
        &assertion(&f, &new, "signed", |_| {}),
        CLIENT_CREDENTIALS,
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Where a client publishes its keys: a JWK Set at a URL, answered (or not) by this test.
struct Published {
    uri: String,
    keys: std::sync::Arc<std::sync::Mutex<(StatusCode, String)>>,
    fetches: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

impl Published {
    async fn start() -> Published {
        use std::sync::atomic::Ordering;
        let keys = std::sync::Arc::new(std::sync::Mutex::new((StatusCode::OK, String::new())));
        let fetches = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let (k, n) = (keys.clone(), fetches.clone());
        let app = axum::Router::new()
            .route(
                "/jwks",
                axum::routing::get(move || {
                    let (k, n) = (k.clone(), n.clone());
                    async move {
                        n.fetch_add(1, Ordering::SeqCst);
                        k.lock().unwrap().clone()
                    }
                }),
            )
            // Sends whoever asks on to the keys.
            .route(
                "/moved",
                axum::routing::get(|| async { axum::response::Redirect::temporary("/jwks") }),
            );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let uri = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Published { uri, keys, fetches }
    }

    fn publish(&self, status: StatusCode, keys: &[&SigningKey]) {
        *self.keys.lock().unwrap() = (status, jwks(keys).to_string());
    }

    fn fetches(&self) -> usize {
        self.fetches.load(std::sync::atomic::Ordering::SeqCst)
    }
}

async fn keys_published_at_a_uri_are_fetched_when_needed_and_no_more(db: Database) {
    use gatehouse::oidc::client_assertion::{KEYS_MAX_AGE, REFETCH_AFTER};
    let f = fixture_on(db).await;
    let (a, b, stranger) = (
        key(SigningAlg::Es256),
        key(SigningAlg::EdDsa),
        key(SigningAlg::Es256),
    );
    let published = Published::start().await;
    published.publish(StatusCode::OK, &[&a]);
    let new = NewClient {
        client_id: "published".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["profile".into()],
        jwks_uri: Some(published.uri.clone()),
        ..Default::default()
    };
    let (_, secret) = admin(&f).add_client(new).await.unwrap();
    assert_eq!(secret, None);
    let token = |k: &SigningKey| {
        let a = assertion(&f, k, "published", |_| {});
        let f = &f;
        async move {
            post_asserted(f, "/token", &a, CLIENT_CREDENTIALS)
                .await
                .status()
        }
    };
    assert_eq!(published.fetches(), 0, "not fetched before they are needed");
    assert_eq!(token(&a).await, StatusCode::OK);
    assert_eq!(token(&a).await, StatusCode::OK);
    assert_eq!(published.fetches(), 1, "then kept");

    // A rollover: the new key is published beside the old. Right after a fetch, an assertion
    // with it waits for the next chance; then it is fetched at once.
    published.publish(StatusCode::OK, &[&a, &b]);
    assert_eq!(token(&b).await, StatusCode::UNAUTHORIZED);
    assert_eq!(published.fetches(), 1);
    f.clock.advance(REFETCH_AFTER);
    assert_eq!(token(&b).await, StatusCode::OK);
    assert_eq!(published.fetches(), 2);

    // A key it does not publish, named by 16 requests at once: one fetch in the time.
    f.clock.advance(REFETCH_AFTER);
    let made_up: Vec<String> = (0..16)
        .map(|_| {
            encode(&[
                ("client_assertion_type", ASSERTION_TYPE),
                (
                    "client_assertion",
                    &assertion(&f, &stranger, "published", |_| {}),
                ),
                ("grant_type", "client_credentials"),
            ])
        })
        .collect();
    let statuses = at_once(&f, made_up).await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::UNAUTHORIZED),
        "{statuses:?}"
    );
    assert_eq!(published.fetches(), 3);

    // Aged keys are fetched again; a failed fetch keeps the ones before.
    published.publish(StatusCode::INTERNAL_SERVER_ERROR, &[]);
    f.clock.advance(KEYS_MAX_AGE);
    assert_eq!(token(&a).await, StatusCode::OK);
    assert_eq!(published.fetches(), 4);
    // The old key withdrawn: refused once fetched again.
    published.publish(StatusCode::OK, &[&b]);
    f.clock.advance(KEYS_MAX_AGE);
    assert_eq!(token(&a).await, StatusCode::UNAUTHORIZED);
    assert_eq!(token(&b).await, StatusCode::OK);

    // Switched to registered keys, it no longer fetches; and nowhere to fetch from is refused.
    let patch = ClientPatch {
        jwks: Some(jwks(&[&a])),
        ..Default::default()
    };
    admin(&f).update_client("published", patch).await.unwrap();
    let client = f.state.store.client("published").await.unwrap().unwrap();
    assert_eq!(client.jwks_uri, None);
    let before = published.fetches();
    assert_eq!(token(&a).await, StatusCode::OK);
    assert_eq!(published.fetches(), before);
    let nowhere = NewClient {
        client_id: "nowhere".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["profile".into()],
        jwks_uri: Some("http://127.0.0.1:9/jwks".into()),
        ..Default::default()
    };
    admin(&f).add_client(nowhere).await.unwrap();
    let a_nowhere = assertion(&f, &a, "nowhere", |_| {});
    let r = post_asserted(&f, "/token", &a_nowhere, CLIENT_CREDENTIALS).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A redirect is not an answer: it is not followed, even to keys that would verify.
    let moved = NewClient {
        client_id: "moved".into(),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["profile".into()],
        jwks_uri: Some(published.uri.replace("/jwks", "/moved")),
        ..Default::default()
    };
    admin(&f).add_client(moved).await.unwrap();
    published.publish(StatusCode::OK, &[&a]);
    let before = published.fetches();
    let a_moved = assertion(&f, &a, "moved", |_| {});
    let r = post_asserted(&f, "/token", &a_moved, CLIENT_CREDENTIALS).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(published.fetches(), before, "the keys were not fetched");
    // Only an https URL, or http on this machine.
    let plain = NewClient {
        client_id: "plain".into(),
        jwks_uri: Some("http://keys.example/jwks".into()),
        grant_types: vec!["client_credentials".into()],
        scopes: vec!["profile".into()],
        ..Default::default()
    };
    let refused = admin(&f).add_client(plain).await.unwrap_err().to_string();
    assert!(refused.contains("not an https URL"), "{refused}");
    // The operator sees the fetches, failed ones apart.
    let metrics = body_text(send(&f, get("/metrics")).await).await;
    for outcome in ["fetched", "failed"] {
        let line = format!(r#"gatehouse_client_keys_fetches_total{{outcome="{outcome}"}}"#);
        assert!(metrics.contains(&line), "{line} in {metrics}");
    }
}

/// A client that requires pushed requests gets none other: not at `/authorize`, and not by a
/// request edited into the login form after a pushed one was taken.
async fn a_client_that_requires_pushed_requests_gets_only_those(db: Database) {
    let f = fixture_on(db).await;
    let patch = ClientPatch {
        require_pushed_authorization_requests: Some(true),
        ..Default::default()
    };
    admin(&f).update_client("web", patch).await.unwrap();
    // Not pushed: refused, back to the application.
    let r = send(&f, get(&authorize_uri("web", ""))).await;
    let back = location(&r);
    assert_eq!(back["error"], "invalid_request");
    assert!(back["error_description"].contains("pushed"), "{back:?}");

    // Pushed: the sign-in works.
    let push = || async {
        let r = post_as(
            &f,
            "/par",
            "web",
            &f.secret,
            &[
                ("response_type", "code"),
                ("redirect_uri", REDIRECT),
                ("scope", "openid"),
                ("state", "pushed"),
                ("code_challenge", CHALLENGE),
                ("code_challenge_method", "S256"),
            ],
        )
        .await;
        assert_eq!(r.status(), StatusCode::CREATED);
        let uri = json(r).await["request_uri"].as_str().unwrap().to_owned();
        format!(
            "/authorize?{}",
            encode(&[("client_id", "web"), ("request_uri", &uri)])
        )
    };
    let r = post_login(&f, &push().await, "ada", PASSWORD).await;
    assert_eq!(location(&r)["state"], "pushed");

    // The login form of a pushed request, posted with the request edited (its seal kept, or
    // not): refused, back to the application.
    let page = send(&f, get(&push().await)).await;
    let cookie = cookies(&page);
    let html = body_text(page).await;
    let carried = common::hidden_input(&html, "request");
    let (request, seal) = carried
        .rsplit_once(&format!("&{}=", gatehouse::oidc::par::SEAL))
        .expect("the pushed request goes on sealed");
    let edited = request.replace("state=pushed", "state=edited");
    for request in [
        edited.clone(),
        gatehouse::oidc::par::sealed(&edited, seal),
        gatehouse::oidc::par::sealed(request, "1800000000.forged"),
    ] {
        let body = encode(&[
            ("username", "ada"),
            ("password", PASSWORD),
            ("csrf", &common::hidden_input(&html, "csrf")),
            ("request", &request),
        ]);
        let r = send(
            &f,
            form("/login")
                .header(header::COOKIE, cookie.clone())
                .body(Body::from(body))
                .unwrap(),
        )
        .await;
        let back = location(&r);
        assert_eq!(back["error"], "invalid_request", "{request}");
        assert!(!back.contains_key("code"), "{request}");
    }
    // The sealed request as it came, within its hour: the sign-in goes on.
    let body = encode(&[
        ("username", "ada"),
        ("password", PASSWORD),
        ("csrf", &common::hidden_input(&html, "csrf")),
        ("request", &carried),
    ]);
    let r = send(
        &f,
        form("/login")
            .header(header::COOKIE, cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert!(location(&r).contains_key("code"));
}

/// A request object of `client_id`'s signed by `key` (RFC 9101), asking for a code with PKCE
/// and the state `signed`, with its claims changed as given.
fn request_object(
    f: &Fixture,
    key: &SigningKey,
    client_id: &str,
    change: impl FnOnce(&mut Value),
) -> String {
    let claims = json!({
        "iss": client_id,
        "aud": f.state.config.issuer,
        "client_id": client_id,
        "exp": f.state.now() + 300,
        "iat": f.state.now(),
        "response_type": "code",
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": "signed",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    });
    signed_by(key, claims, change)
}

/// A request object signed by its client is the request, at `/authorize` and pushed to
/// `/par`, whatever is sent beside it; one the client did not sign, another client's, or one
/// out of date or too large starts no sign-in and is sent to no redirect URI.
async fn a_signed_request_object_is_the_request(db: Database) {
    let f = fixture_on(db).await;
    let (k, other) = (key(SigningAlg::Es256), key(SigningAlg::EdDsa));
    register(&f, "signed", &[&k]).await;
    register(&f, "neighbour", &[&other]).await;
    let by_value = |client_id: &str, object: &str| {
        format!(
            "/authorize?{}",
            encode(&[
                ("client_id", client_id),
                ("state", "beside"),
                ("scope", "openid offline_access"),
                ("request", object),
            ])
        )
    };
    let exchanged = |code: String| {
        let (f, k) = (&f, &k);
        async move {
            let r = redeem(f, k, "signed", &code).await;
            assert_eq!(r.status(), StatusCode::OK);
            json(r).await
        }
    };

    // By value: the object's parameters, not those beside it.
    let object = request_object(&f, &k, "signed", |c| c["nonce"] = json!("n-signed"));
    let r = post_login(&f, &by_value("signed", &object), "ada", PASSWORD).await;
    let back = location(&r);
    assert_eq!(back["state"], "signed");
    let tokens = exchanged(back["code"].clone()).await;
    assert_eq!(
        tokens["scope"], "openid",
        "offline_access was only beside it"
    );
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims: Value = jsonwebtoken::dangerous::insecure_decode_claims(id_token).unwrap();
    assert_eq!(claims["nonce"], "n-signed");

    // Pushed: the same, the form's other parameters aside.
    let object = request_object(&f, &k, "signed", |_| {});
    let pushed = push_asserted(&f, &k, &[("state", "beside"), ("request", &object)]).await;
    let authorize = authorize_pushed(pushed).await;
    let back = location(&post_login(&f, &authorize, "ada", PASSWORD).await);
    assert_eq!(back["state"], "signed");
    exchanged(back["code"].clone()).await;

    // Its claims parameter is a JSON object (OpenID Connect Core §6.1), and it is kept: asking
    // for someone else than who signs in is answered access_denied.
    let bob = common::add_user(f.state.store.as_ref(), "bob").await.id;
    let object = request_object(&f, &k, "signed", |c| {
        c["claims"] = json!({"id_token": {"sub": {"value": bob}}});
    });
    let back = location(&post_login(&f, &by_value("signed", &object), "ada", PASSWORD).await);
    assert_eq!(back["error"], "access_denied");
    assert_eq!(back["state"], "signed");

    // Refused on a page, never sent to the redirect URI the object names.
    let good = request_object(&f, &k, "signed", |_| {});
    let (head, _) = good.rsplit_once('.').unwrap();
    let edited = {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let (header, payload) = head.split_once('.').unwrap();
        let mut claims: Value = serde_json::from_slice(&b64.decode(payload).unwrap()).unwrap();
        claims["redirect_uri"] = json!("https://attacker.example/cb");
        let signature = good.rsplit('.').next().unwrap();
        format!("{header}.{}.{signature}", b64.encode(claims.to_string()))
    };
    let now = f.state.now();
    let refused = [
        ("signed", edited, "registered keys"),
        (
            "signed",
            request_object(&f, &other, "signed", |_| {}),
            "registered keys",
        ),
        // The neighbour's own object, sent as this client's, and this client's as theirs.
        (
            "signed",
            request_object(&f, &other, "neighbour", |_| {}),
            "registered keys",
        ),
        ("neighbour", good.clone(), "registered keys"),
        ("signed", request_object(&f, &k, "neighbour", |_| {}), "iss"),
        (
            "signed",
            request_object(&f, &k, "signed", |c| c["exp"] = json!(now - 120)),
            "expired",
        ),
        (
            "signed",
            request_object(&f, &k, "signed", |c| {
                c["aud"] = json!("https://other.example")
            }),
            "aud",
        ),
        (
            "signed",
            request_object(&f, &k, "signed", |c| {
                c["state"] = json!("x".repeat(8 * 1024))
            }),
            "longer than",
        ),
        ("signed", "not.a.jwt".to_owned(), "registered keys"),
        // A client with a secret and no keys signs no request object.
        ("web", request_object(&f, &k, "web", |_| {}), "no keys"),
    ];
    for (client_id, object, why) in refused {
        let r = send(&f, get(&by_value(client_id, &object))).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{why}");
        assert!(r.headers().get(header::LOCATION).is_none(), "{why}");
        let text = body_text(r).await;
        assert!(text.contains("invalid_request_object"), "{why}: {text}");
        assert!(text.contains(why), "{why}: {text}");
        // Pushed, the same object gets no request_uri.
        if client_id == "signed" {
            let a = assertion(&f, &k, "signed", |_| {});
            let (status, error, _) =
                refusal(post_asserted(&f, "/par", &a, &[("request", &object)]).await).await;
            assert_eq!(
                (status, error.as_str()),
                (StatusCode::BAD_REQUEST, "invalid_request_object"),
                "{why}"
            );
        }
    }
}

/// A client that requires signed requests gets none other: not a plain one at `/authorize`,
/// not an unsigned one pushed, and not one edited into the login form after a signed one was
/// accepted; a signed one, by value or pushed, signs the person in, and its sign-in can be
/// started again from its sealed form.
async fn a_client_that_requires_signed_requests_gets_only_those(db: Database) {
    let f = fixture_on(db).await;
    let k = key(SigningAlg::Es256);
    register(&f, "signed", &[&k]).await;
    let patch = ClientPatch {
        require_signed_request_object: Some(true),
        ..Default::default()
    };
    admin(&f).update_client("signed", patch).await.unwrap();
    let plain = [
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        ("scope", "openid"),
        ("state", "plain"),
        ("code_challenge", CHALLENGE),
        ("code_challenge_method", "S256"),
    ];

    // Not signed, in the address: refused, back to the application.
    let mut query = vec![("client_id", "signed")];
    query.extend_from_slice(&plain);
    let back = location(&send(&f, get(&format!("/authorize?{}", encode(&query)))).await);
    assert_eq!(back["error"], "invalid_request");
    assert!(back["error_description"].contains("signed"), "{back:?}");
    // Not signed, pushed: refused at /par.
    let a = assertion(&f, &k, "signed", |_| {});
    let (status, error, why) = refusal(post_asserted(&f, "/par", &a, &plain).await).await;
    assert_eq!(
        (status, error.as_str()),
        (StatusCode::BAD_REQUEST, "invalid_request")
    );
    assert!(why.contains("signed"), "{why}");

    // Signed, pushed: the sign-in works.
    let a = assertion(&f, &k, "signed", |_| {});
    let object = request_object(&f, &k, "signed", |_| {});
    let r = post_asserted(&f, "/par", &a, &[("request", &object)]).await;
    let pushed = authorize_pushed(r).await;
    assert_eq!(
        location(&post_login(&f, &pushed, "ada", PASSWORD).await)["state"],
        "signed"
    );

    // Signed, by value: its login form carries it sealed. Edited there (its seal kept, or
    // not, or forged): refused. As it came: signed in, and started again from it, too.
    let by_value = format!(
        "/authorize?{}",
        encode(&[("client_id", "signed"), ("request", &object)])
    );
    let page = send(&f, get(&by_value)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let cookie = cookies(&page);
    let html = body_text(page).await;
    let carried = common::hidden_input(&html, "request");
    let (request, seal) = carried
        .rsplit_once(&format!("&{}=", gatehouse::oidc::par::SEAL))
        .expect("a signed request goes on sealed");
    assert!(
        !request.contains("request="),
        "the object's parameters: {request}"
    );
    let edited = request.replace("state=signed", "state=edited");
    assert_ne!(edited, request);
    let login = |request: String| {
        let body = encode(&[
            ("username", "ada"),
            ("password", PASSWORD),
            ("csrf", &common::hidden_input(&html, "csrf")),
            ("request", &request),
        ]);
        let cookie = cookie.clone();
        let f = &f;
        async move {
            let r = form("/login")
                .header(header::COOKIE, cookie)
                .body(Body::from(body))
                .unwrap();
            location(&send(f, r).await)
        }
    };
    for request in [
        edited.clone(),
        gatehouse::oidc::par::sealed(&edited, seal),
        gatehouse::oidc::par::sealed(request, "1800000000.forged"),
    ] {
        let back = login(request.clone()).await;
        assert_eq!(back["error"], "invalid_request", "{request}");
        assert!(!back.contains_key("code"), "{request}");
    }
    let back = login(carried.clone()).await;
    assert_eq!(back["state"], "signed");
    assert!(back.contains_key("code"));
    // Gatehouse's own link that starts it again (an expired form's) is taken, sealed.
    let again = send(&f, get(&format!("/authorize?{carried}"))).await;
    assert_eq!(again.status(), StatusCode::OK);
    assert!(body_text(again).await.contains("Sign in"));
}

async fn discovery_names_the_methods(db: Database) {
    let f = fixture_on(db).await;
    let doc = json(send(&f, get("/.well-known/openid-configuration")).await).await;
    for endpoint in ["token", "introspection", "revocation"] {
        let methods = doc[format!("{endpoint}_endpoint_auth_methods_supported")].to_string();
        assert!(methods.contains("private_key_jwt"), "{endpoint}: {methods}");
        assert_eq!(
            doc[format!("{endpoint}_endpoint_auth_signing_alg_values_supported")],
            json!(["RS256", "PS256", "ES256", "EdDSA"])
        );
    }
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_client_authenticates_with_a_signed_assertion_once,
    what_does_not_authenticate_a_client_with_keys,
    one_assertion_sent_at_once_authenticates_one_request,
    operators_register_check_and_roll_over_keys,
    a_client_that_requires_pushed_requests_gets_only_those,
    discovery_names_the_methods,
    a_signed_request_object_is_the_request,
    a_client_that_requires_signed_requests_gets_only_those,
    keys_published_at_a_uri_are_fetched_when_needed_and_no_more,
);
