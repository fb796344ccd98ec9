//! Back-channel logout (OpenID Connect Back-Channel Logout 1.0), as applications see it: when a
//! sign-in session ends, each application that received an ID token in it and registered a
//! logout URI gets one signed logout token naming the user and the session, verifiable with the
//! published keys; an application that is down gets it when it is back, even across a crash of
//! the server; nobody else hears of it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use common::backend::Database;
use common::cli::{ServerProcess, gatehouse, ok, refused};
use common::*;
use gatehouse::model::{AuditKind, EndedFrom, UserChange};
use gatehouse::store::Store;
use serde_json::Value;

const EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

/// An application's back-channel logout endpoint: keeps every `logout_token` POSTed to it and
/// answers with the statuses it was given, in turn, then 200.
#[derive(Clone)]
struct Receiver {
    url: String,
    received: Arc<Mutex<Vec<String>>>,
    answers: Arc<Mutex<VecDeque<u16>>>,
}

impl Receiver {
    async fn start(answers: &[u16]) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Receiver::on(listener, answers)
    }

    fn on(listener: tokio::net::TcpListener, answers: &[u16]) -> Receiver {
        let r = Receiver {
            url: format!("http://{}/oidc/backchannel", listener.local_addr().unwrap()),
            received: Arc::default(),
            answers: Arc::new(Mutex::new(answers.iter().copied().collect())),
        };
        async fn post(
            State(r): State<Receiver>,
            axum::Form(form): axum::Form<std::collections::HashMap<String, String>>,
        ) -> StatusCode {
            r.received
                .lock()
                .unwrap()
                .push(form.get("logout_token").cloned().unwrap_or_default());
            let status = r.answers.lock().unwrap().pop_front().unwrap_or(200);
            StatusCode::from_u16(status).unwrap()
        }
        let app = axum::Router::new()
            .route("/oidc/backchannel", axum::routing::post(post))
            .with_state(r.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        r
    }

    fn tokens(&self) -> Vec<String> {
        self.received.lock().unwrap().clone()
    }

    /// Waits until `n` tokens have arrived (failing after `within`), then returns them.
    async fn wait_for(&self, n: usize, within: Duration) -> Vec<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let got = self.tokens();
            if got.len() >= n {
                return got;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{} logout tokens arrived in {within:?}, expected {n}",
                got.len()
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// Registers `client_id` (first-party, confidential) telling `uri` of logouts; returns its
/// secret.
async fn add_client_told_at(store: &dyn Store, client_id: &str, uri: Option<&str>) -> String {
    let secret = add_client(store, client_id).await;
    let mut c = store.client(client_id).await.unwrap().unwrap();
    c.backchannel_logout_uri = uri.map(str::to_owned);
    store.update_client(c, None).await.unwrap();
    secret
}

/// The claims of a logout token, verified as an application would: signature against the
/// published keys, `typ`, issuer, audience, and the rules of §2.6 (an event, a `sid`, no
/// `nonce`).
async fn verify(base: &str, token: &str, audience: &str) -> Value {
    let claims = verify_jwt(
        base,
        token,
        "logout+jwt",
        audience,
        &["iss", "aud", "iat", "exp"],
    )
    .await;
    assert!(claims["events"][EVENT].is_object(), "{claims}");
    assert!(claims.get("nonce").is_none(), "{claims}");
    assert!(
        claims["jti"].as_str().is_some_and(|j| j.len() >= 16),
        "{claims}"
    );
    claims
}

/// The claims of an ID token (read without verifying: the flow tests verify ID tokens).
fn id_claims(tokens: &std::collections::HashMap<String, Value>) -> Value {
    let id_token = tokens["id_token"].as_str().unwrap();
    jsonwebtoken::dangerous::insecure_decode_claims(id_token).unwrap()
}

/// The `sid` of an ID token.
fn sid_of(tokens: &std::collections::HashMap<String, Value>) -> String {
    id_claims(tokens)["sid"]
        .as_str()
        .expect("the ID token names its session")
        .to_owned()
}

/// Signs out of gatehouse as a person does: the logout page, then its confirmation.
async fn log_out(browser: &Browser, base: &str) {
    let page = browser
        .http
        .get(format!("{base}/logout"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    let form = [
        ("csrf", hidden_input(&html, "csrf")),
        ("request", hidden_input(&html, "request")),
        ("confirm", "yes".to_owned()),
    ];
    let done = browser
        .http
        .post(format!("{base}/logout"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(done.status(), 200);
    assert!(done.text().await.unwrap().contains("You are signed out"));
}

async fn signing_out_tells_each_app_of_that_session_once(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let ada = add_user(s, "ada").await;
    add_user(s, "bob").await;
    let (wiki, chat) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let wiki_secret = add_client_told_at(s, "wiki", Some(&wiki.url)).await;
    add_client_told_at(s, "chat", Some(&chat.url)).await;
    let plain_secret = add_client_told_at(s, "plain", None).await;

    // Ada signs in to the wiki and to an app without a logout URI, in one browser; Bob signs
    // in to the wiki in his.
    let ada_browser = Browser::default();
    let ada_wiki = sign_in_with(&ada_browser, &server, "wiki", &wiki_secret, "ada").await;
    sign_in_with(&ada_browser, &server, "plain", &plain_secret, "ada").await;
    let bob_browser = Browser::default();
    let bob_wiki = sign_in_with(&bob_browser, &server, "wiki", &wiki_secret, "bob").await;
    assert_ne!(
        sid_of(&ada_wiki),
        sid_of(&bob_wiki),
        "each session has its own sid"
    );

    log_out(&ada_browser, &server.base).await;
    let got = wiki.wait_for(1, Duration::from_secs(15)).await;
    let claims = verify(&server.base, &got[0], "wiki").await;
    assert_eq!(claims["sub"], ada.id.as_str());
    assert_eq!(claims["sid"], sid_of(&ada_wiki).as_str());
    assert!(claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap() <= 120);

    // Nothing more: not a second copy, not the app Ada never used, not Bob's session.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(wiki.tokens().len(), 1);
    assert!(chat.tokens().is_empty(), "chat was not signed in to");
    let bob_token = bob_wiki["refresh_token"].as_str().unwrap();
    assert_eq!(
        refresh_status(&server.base, "wiki", &wiki_secret, bob_token).await,
        200,
        "Bob is still signed in"
    );
    server.stop().await;
}

/// An application with pairwise subjects is told of the person and the session as its ID
/// tokens named them, not as another application knows them.
async fn a_pairwise_app_is_told_of_the_person_as_it_knows_them(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let ada = add_user(s, "ada").await;
    let (wiki, shop) = (Receiver::start(&[]).await, Receiver::start(&[]).await);
    let wiki_secret = add_client_told_at(s, "wiki", Some(&wiki.url)).await;
    let shop_secret = add_client_told_at(s, "shop", Some(&shop.url)).await;
    let mut c = s.client("shop").await.unwrap().unwrap();
    c.pairwise_sector = Some("shop.example".into());
    s.update_client(c, None).await.unwrap();

    let browser = Browser::default();
    let at_wiki = sign_in_with(&browser, &server, "wiki", &wiki_secret, "ada").await;
    let at_shop = sign_in_with(&browser, &server, "shop", &shop_secret, "ada").await;
    let sub_at_shop = id_claims(&at_shop)["sub"].as_str().unwrap().to_owned();
    assert_ne!(sub_at_shop, ada.id);
    assert_ne!(
        sid_of(&at_shop),
        sid_of(&at_wiki),
        "one session, a sid of each sector"
    );

    log_out(&browser, &server.base).await;
    let told_wiki = wiki.wait_for(1, Duration::from_secs(15)).await;
    let told_shop = shop.wait_for(1, Duration::from_secs(15)).await;
    let wiki_claims = verify(&server.base, &told_wiki[0], "wiki").await;
    assert_eq!(
        (&wiki_claims["sub"], &wiki_claims["sid"]),
        (
            &Value::from(ada.id.as_str()),
            &Value::from(sid_of(&at_wiki))
        )
    );
    let shop_claims = verify(&server.base, &told_shop[0], "shop").await;
    assert_eq!(
        (&shop_claims["sub"], &shop_claims["sid"]),
        (&Value::from(sub_at_shop), &Value::from(sid_of(&at_shop)))
    );
    server.stop().await;
}

async fn an_app_that_is_down_gets_the_same_token_when_it_is_back(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    // Down twice (a 503 and a gateway error), then up.
    let wiki = Receiver::start(&[503, 502]).await;
    let secret = add_client_told_at(s, "wiki", Some(&wiki.url)).await;
    let browser = Browser::default();
    sign_in_with(&browser, &server, "wiki", &secret, "ada").await;
    log_out(&browser, &server.base).await;

    let got = wiki.wait_for(3, Duration::from_secs(20)).await;
    let jtis: Vec<Value> = {
        let mut v = Vec::new();
        for t in &got {
            v.push(verify(&server.base, t, "wiki").await["jti"].clone());
        }
        v
    };
    assert!(
        jtis.iter().all(|j| *j == jtis[0]),
        "one jti for every attempt: {jtis:?}"
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(wiki.tokens().len(), 3, "acknowledged: not sent again");
    server.stop().await;
}

async fn an_app_that_refuses_the_token_is_given_up_and_audited(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let ada = add_user(s, "ada").await;
    let wiki = Receiver::start(&[400]).await;
    let secret = add_client_told_at(s, "wiki", Some(&wiki.url)).await;
    let browser = Browser::default();
    sign_in_with(&browser, &server, "wiki", &secret, "ada").await;
    log_out(&browser, &server.base).await;

    wiki.wait_for(1, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(wiki.tokens().len(), 1, "a refusal is final");
    let audit = s.audit_latest(20).await.unwrap();
    let undelivered = audit
        .iter()
        .find(|e| e.record.kind == AuditKind::LogoutUndelivered)
        .expect("the refusal is in the audit log");
    assert_eq!(undelivered.record.actor, format!("user:{}", ada.id));
    assert_eq!(undelivered.record.client_id.as_deref(), Some("wiki"));
    assert!(
        undelivered
            .record
            .detail
            .as_deref()
            .unwrap()
            .contains("HTTP 400"),
        "{:?}",
        undelivered.record.detail
    );
    server.stop().await;
}

/// Ada, signed in to the wiki in two browsers, is signed out by `end`: the wiki is told of
/// both sessions, with her `sub` and each session's `sid`. Returns the server, still running.
async fn both_sessions_are_told(
    db: Database,
    end: impl AsyncFnOnce(&dyn Store, gatehouse::clock::UnixTime),
) -> TestServer {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let ada = add_user(s, "ada").await;
    let wiki = Receiver::start(&[]).await;
    let secret = add_client_told_at(s, "wiki", Some(&wiki.url)).await;
    // Two browsers, two sessions.
    let first = sign_in(&server, "wiki", &secret, "ada").await;
    let second = sign_in(&server, "wiki", &secret, "ada").await;

    end(
        s,
        gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock),
    )
    .await;
    let got = wiki.wait_for(2, Duration::from_secs(15)).await;
    let mut sids = Vec::new();
    for t in &got {
        let claims = verify(&server.base, t, "wiki").await;
        assert_eq!(claims["sub"], ada.id.as_str());
        sids.push(claims["sid"].as_str().unwrap().to_owned());
    }
    sids.sort();
    let mut want = vec![sid_of(&first), sid_of(&second)];
    want.sort();
    assert_eq!(sids, want);
    server
}

async fn disabling_a_user_tells_the_apps_of_every_session(db: Database) {
    let server = both_sessions_are_told(db, async |s, now| {
        s.update_user("ada", UserChange::Disable, now, None)
            .await
            .unwrap();
    })
    .await;
    server.stop().await;
}

/// Removing an account tells each application of each of its sessions (the notices outlive
/// the account), and leaves its record, saying what was ended.
async fn removing_a_user_tells_the_apps_of_every_session(db: Database) {
    let server = both_sessions_are_told(db, async |s, now| {
        let out = gatehouse::admin::Admin::new(s, "cli", None, now)
            .remove_user("ada")
            .await
            .unwrap();
        assert_eq!(out.sessions, 2);
    })
    .await;
    let s = server.store.as_ref();
    assert!(s.user_by_username("ada").await.unwrap().is_none());
    let record = s
        .audit_latest(50)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.record.kind == AuditKind::UserRemoved);
    let record = record.expect("a record of the removal").record;
    assert_eq!(record.subject.as_deref(), Some("ada"));
    assert!(
        record
            .detail
            .unwrap_or_default()
            .contains("sessions ended: 2"),
        "what was ended"
    );
    server.stop().await;
}

async fn a_burst_of_logouts_of_one_session_sends_one_token(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = Arc::clone(&server.store);
    add_user(s.as_ref(), "ada").await;
    let wiki = Receiver::start(&[]).await;
    let secret = add_client_told_at(s.as_ref(), "wiki", Some(&wiki.url)).await;
    sign_in(&server, "wiki", &secret, "ada").await;
    let session = s
        .sessions(&user(&*s, "ada").await.id, 0)
        .await
        .unwrap()
        .remove(0);

    let now = gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock);
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..16 {
        let (s, id) = (Arc::clone(&s), session.id_hash.clone());
        burst.spawn(async move {
            s.end_session(&id, EndedFrom::ItsBrowser, now, None)
                .await
                .unwrap()
        });
    }
    while burst.join_next().await.is_some() {}
    wiki.wait_for(1, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(wiki.tokens().len(), 1);
    server.stop().await;
}

/// The notice is committed with the logout, and the server dies (SIGKILL) before the app,
/// which is down, acknowledges it: after a restart the app receives it.
async fn a_notice_survives_a_crash_of_the_server(db: Database) {
    // A port with nothing listening: the app is down.
    let parked = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = parked.local_addr().unwrap().port();
    drop(parked);
    let uri = format!("http://127.0.0.1:{port}/oidc/backchannel");
    common::cli::add_user(&db.url, "ada");
    let secret = common::cli::add_client(&db.url, "wiki", &["--backchannel-logout-uri", &uri]);

    let server = ServerProcess::start(&db.url);
    let browser = Browser::default();
    let tokens = sign_in_at(&browser, &server.base, "wiki", &secret, "ada").await;
    log_out(&browser, &server.base).await;
    // Let it try (and fail) once or twice, then kill it.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    server.kill();

    let wiki = Receiver::on(
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
        &[],
    );
    let server = ServerProcess::start(&db.url);
    // Within the backoff, or the lease of a claim the killed server held.
    let got = wiki.wait_for(1, Duration::from_secs(60)).await;
    let claims = verify(&server.base, &got[0], "wiki").await;
    assert_eq!(claims["sid"], sid_of(&tokens).as_str());
    server.kill();
}

on_both_backends!((flavor = "multi_thread", worker_threads = 4);
    signing_out_tells_each_app_of_that_session_once,
    a_pairwise_app_is_told_of_the_person_as_it_knows_them,
    an_app_that_is_down_gets_the_same_token_when_it_is_back,
    an_app_that_refuses_the_token_is_given_up_and_audited,
    disabling_a_user_tells_the_apps_of_every_session,
    removing_a_user_tells_the_apps_of_every_session,
    a_burst_of_logouts_of_one_session_sends_one_token,
    a_notice_survives_a_crash_of_the_server,
);

#[tokio::test]
async fn logout_uris_that_are_not_absolute_http_urls_are_refused() {
    let db = Database::fresh(common::backend::Backend::Sqlite)
        .await
        .unwrap();
    let add = |uri: &str| {
        gatehouse(
            &db.url,
            &[
                "client",
                "add",
                "--client-id",
                "wiki",
                "--redirect-uri",
                REDIRECT,
                "--backchannel-logout-uri",
                uri,
            ],
            None,
        )
    };
    for bad in [
        "/oidc/backchannel",
        "ftp://wiki.example/bc",
        "https://wiki.example/bc#top",
        "https://admin:pw@wiki.example/bc",
    ] {
        refused(&add(bad), "back-channel logout URI");
    }
    ok(&add("https://wiki.example/oidc/backchannel"));
    let listed: Value = serde_json::from_str(&ok(&gatehouse(
        &db.url,
        &["client", "list", "--json"],
        None,
    )))
    .unwrap();
    assert_eq!(
        listed[0]["backchannel_logout_uri"],
        "https://wiki.example/oidc/backchannel"
    );
    // Cleared, it is no longer told.
    ok(&gatehouse(
        &db.url,
        &[
            "client",
            "update",
            "wiki",
            "--clear",
            "backchannel-logout-uri",
        ],
        None,
    ));
    let listed: Value = serde_json::from_str(&ok(&gatehouse(
        &db.url,
        &["client", "list", "--json"],
        None,
    )))
    .unwrap();
    assert!(listed[0]["backchannel_logout_uri"].is_null());
}
