//! Two `gatehouse serve` processes on one PostgreSQL database, with requests spread over both:
//! what one decides, the other sees. (PostgreSQL only: SQLite is one machine by design.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;

use common::backend::{Backend, Database};
use common::cli::{ServerProcess, gatehouse, ok};
use common::{
    Browser, PASSWORD, REDIRECT, add_client, add_user, hidden_input, location_params, pkce,
};
use gatehouse::store::{self, Store};

struct Deployment {
    a: ServerProcess,
    b: ServerProcess,
    store: Arc<dyn Store>,
    db: Database,
}

/// Two server processes on one fresh PostgreSQL schema, or `None` when PostgreSQL is not
/// available.
async fn two_instances() -> Option<Deployment> {
    two_instances_with(&[]).await
}

/// Like `two_instances`, both started with more `serve` arguments.
async fn two_instances_with(args: &'static [&'static str]) -> Option<Deployment> {
    let db = Database::fresh(Backend::Postgres).await?;
    let store = store::open(&db.url).await.unwrap();
    let url = db.url.clone();
    let (a, b) = tokio::task::spawn_blocking(move || {
        (
            ServerProcess::start_with(&url, args),
            ServerProcess::start_with(&url, args),
        )
    })
    .await
    .unwrap();
    Some(Deployment { a, b, store, db })
}

fn authorize_url(base: &str, challenge: &str) -> String {
    format!(
        "{base}/authorize?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid&code_challenge={challenge}&code_challenge_method=S256"
    )
}

/// Signs `ada` in at `login_at` and redeems the code at `redeem_at`; returns the token response.
async fn sign_in(
    browser: &Browser,
    login_at: &str,
    redeem_at: &str,
    secret: &str,
) -> serde_json::Value {
    let (verifier, challenge) = pkce();
    let r = browser
        .authorize(
            login_at,
            &authorize_url(login_at, &challenge),
            "ada",
            PASSWORD,
        )
        .await;
    let code = location_params(&r)["code"].clone();
    let r = browser
        .http
        .post(format!("{redeem_at}/token"))
        .basic_auth("web", Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Signs `ada` in (on A, the code redeemed on B), then sends 32 requests with her refresh
/// token at once, half to each process: the client's secret and each answer.
async fn race_across(d: &Deployment) -> (String, Vec<(u16, serde_json::Value)>) {
    add_user(d.store.as_ref(), "ada").await;
    let secret = add_client(d.store.as_ref(), "web").await;
    let tokens = sign_in(&Browser::default(), &d.a.base, &d.b.base, &secret).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let http = reqwest::Client::new();
    // All 32 wait for one another, then send at once.
    let barrier = Arc::new(tokio::sync::Barrier::new(32));
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let base = if i % 2 == 0 {
                d.a.base.clone()
            } else {
                d.b.base.clone()
            };
            let (http, secret, refresh) = (http.clone(), secret.clone(), refresh.clone());
            let barrier = Arc::clone(&barrier);
            tokio::spawn(async move {
                barrier.wait().await;
                let r = http
                    .post(format!("{base}/token"))
                    .basic_auth("web", Some(&secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut answers = Vec::new();
    for t in tasks {
        answers.push(t.await.unwrap());
    }
    (secret, answers)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_race_across_two_processes_gives_every_request_the_same_pair() {
    let Some(d) = two_instances().await else {
        return;
    };
    let (secret, answers) = race_across(&d).await;
    let pair = |a: &serde_json::Value| (a["access_token"].clone(), a["refresh_token"].clone());
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    assert!(
        answers.iter().all(|(_, b)| pair(b) == pair(&answers[0].1)),
        "one pair for all 32, whichever process answered"
    );
    // One branch: the pair refreshes on either process.
    let next = answers[0].1["refresh_token"].as_str().unwrap();
    assert_eq!(
        common::refresh_status(&d.a.base, "web", &secret, next).await,
        200
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn without_a_retry_window_a_refresh_race_across_two_processes_has_exactly_one_winner() {
    let Some(d) = two_instances_with(&["--refresh-retry-window", "0"]).await else {
        return;
    };
    let (secret, answers) = race_across(&d).await;
    let mut winners = Vec::new();
    for (status, body) in answers {
        match status {
            200 => winners.push(body),
            400 => assert_eq!(body["error"], "invalid_grant"),
            other => panic!("status {other}: {body}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of 32 requests over two processes wins"
    );
    // The losers were reuse: the family, the winner's new token included, is revoked.
    let next = winners[0]["refresh_token"].as_str().unwrap();
    assert_eq!(
        common::refresh_status(&d.b.base, "web", &secret, next).await,
        400
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_on_one_process_lock_the_account_on_the_other() {
    // The lockout comes at the fourth failure, and lasts fifteen minutes: what B answers does
    // not depend on how quickly it is asked.
    let Some(d) = two_instances_with(&["--login-lockout-after", "4"]).await else {
        return;
    };
    add_user(d.store.as_ref(), "ada").await;
    add_client(d.store.as_ref(), "web").await;
    let (_, challenge) = pkce();
    for _ in 0..4 {
        let r = Browser::default()
            .authorize(
                &d.a.base,
                &authorize_url(&d.a.base, &challenge),
                "ada",
                "wrong password",
            )
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = Browser::default()
        .authorize(
            &d.b.base,
            &authorize_url(&d.b.base, &challenge),
            "ada",
            PASSWORD,
        )
        .await;
    assert_eq!(r.status(), 429, "B knows what happened on A");
    assert!(r.text().await.unwrap().contains("Try again in 15 minutes"));
}

/// What a process's key set must come to show.
type KeySetCheck = Box<dyn Fn(&[String]) -> bool + Send + Sync>;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keys_rotated_through_the_cli_are_published_then_used_by_both_processes() {
    let Some(d) = two_instances().await else {
        return;
    };
    add_user(d.store.as_ref(), "ada").await;
    let secret = add_client(d.store.as_ref(), "web").await;
    // The RS256 keys a process publishes (the clients here take RS256).
    let kids = |base: String| async move {
        let set: serde_json::Value = reqwest::get(format!("{base}/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|k| k["alg"] == "RS256")
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let first = kids(d.a.base.clone()).await;
    assert_eq!(first, kids(d.b.base.clone()).await);
    let rotate = |args: &'static [&'static str]| {
        let url = d.db.url.clone();
        async move {
            let out = tokio::task::spawn_blocking(move || ok(&gatehouse(&url, args, None)))
                .await
                .unwrap();
            // "new RS256 signing key KID …"
            out.split_whitespace().nth(4).unwrap().to_owned()
        }
    };
    // Each process reloads its keys within ten seconds: until `wanted` holds of the key set.
    let until_both = |wanted: KeySetCheck| {
        let bases = [d.a.base.clone(), d.b.base.clone()];
        async move {
            for base in bases {
                let mut seen = Vec::new();
                for _ in 0..150 {
                    seen = kids(base.clone()).await;
                    if wanted(&seen) {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                assert!(wanted(&seen), "{base} serves {seen:?}");
            }
        }
    };
    let signer = |login_at: String, redeem_at: String| {
        let secret = secret.clone();
        async move {
            let tokens = sign_in(&Browser::default(), &login_at, &redeem_at, &secret).await;
            let token = tokens["id_token"].as_str().unwrap().to_owned();
            jsonwebtoken::decode_header(&token).unwrap().kid.unwrap()
        }
    };

    // A scheduled rotation: both publish the new key, and neither signs with it yet.
    let scheduled = rotate(&["keys", "rotate", "--alg", "RS256"]).await;
    until_both(Box::new(move |k| k.len() == 2 && k.contains(&scheduled))).await;
    assert_eq!(signer(d.b.base.clone(), d.a.base.clone()).await, first[0]);
    assert_eq!(signer(d.a.base.clone(), d.b.base.clone()).await, first[0]);

    // A compromised key: both sign with the newest at once and publish nothing else.
    let newest = rotate(&["keys", "rotate", "--alg", "RS256", "--compromised"]).await;
    let only = newest.clone();
    until_both(Box::new(move |k| k == [only.clone()])).await;
    assert_eq!(signer(d.b.base.clone(), d.a.base.clone()).await, newest);
    assert_eq!(signer(d.a.base.clone(), d.b.base.clone()).await, newest);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_process_is_valid_on_the_other() {
    let Some(d) = two_instances().await else {
        return;
    };
    add_user(d.store.as_ref(), "ada").await;
    let secret = add_client(d.store.as_ref(), "web").await;
    let browser = Browser::default();
    sign_in(&browser, &d.a.base, &d.a.base, &secret).await;

    // Same browser, other process, no password: the session is in the shared database.
    let (verifier, challenge) = pkce();
    let silent = browser
        .http
        .get(format!(
            "{}&prompt=none",
            authorize_url(&d.b.base, &challenge)
        ))
        .send()
        .await
        .unwrap();
    let code = location_params(&silent)["code"].clone();
    // A code issued by B is redeemed at A.
    let r = browser
        .http
        .post(format!("{}/token", d.a.base))
        .basic_auth("web", Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_guesses_split_across_two_processes_is_held_to_the_limits() {
    // Locked at the fourth failure for fifteen minutes: however the burst is spread over time,
    // four attempts reach the password check in all if the two processes share the count,
    // and up to eight if they did not.
    let Some(d) = two_instances_with(&["--login-lockout-after", "4"]).await else {
        return;
    };
    add_user(d.store.as_ref(), "ada").await;
    add_client(d.store.as_ref(), "web").await;
    let (_, challenge) = pkce();
    // One browser per process, each with its login form loaded once.
    let mut forms = Vec::new();
    for base in [&d.a.base, &d.b.base] {
        let browser = Browser::default();
        let html = browser
            .http
            .get(authorize_url(base, &challenge))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        forms.push((base.clone(), browser, html));
    }
    let attempt = |i: usize, password: String| {
        let (base, browser, html) = &forms[i % 2];
        browser.http.post(format!("{base}/login")).form(&[
            ("username", "ada".to_owned()),
            ("password", password),
            ("csrf", hidden_input(html, "csrf")),
            ("request", hidden_input(html, "request")),
        ])
    };
    // Wrong guesses only: a right password admitted in the middle of the burst would forget
    // the account's count (a success does), and four more guesses could then be checked.
    let tasks: Vec<_> = (0..200)
        .map(|i| {
            let request = attempt(i, format!("guess number {i}"));
            tokio::spawn(async move { request.send().await.unwrap().status().as_u16() })
        })
        .collect();
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            429 => {}
            401 => checked += 1,
            other => panic!("unexpected answer {other}"),
        }
    }
    assert!(checked <= 4, "{checked} attempts were checked");
    // The account is locked on both processes: even the right password is refused on each.
    for i in 0..2 {
        let status = attempt(i, PASSWORD.to_owned())
            .send()
            .await
            .unwrap()
            .status();
        assert_eq!(status.as_u16(), 429, "process {i}");
    }
}

/// Each process keeps the clients it authenticates in memory; a change made anywhere else (by
/// another process, the CLI, an `UPDATE` by hand) reaches it within moments, not when what it
/// kept grows old.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_changed_elsewhere_is_not_kept_by_either_process() {
    let Some(d) = two_instances().await else {
        return;
    };
    let first = add_client(d.store.as_ref(), "web").await;
    // Until both processes answer `status` to `secret`, for at most five seconds.
    let until_both = |secret: String, status: u16| {
        let bases = [d.a.base.clone(), d.b.base.clone()];
        async move {
            for base in bases {
                let mut got = 0;
                for _ in 0..50 {
                    got = common::secret_status(&base, "web", &secret).await;
                    if got == status {
                        break;
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                }
                assert_eq!(got, status, "{base}");
            }
        }
    };
    // Both authenticate it, and keep it.
    until_both(first.clone(), 200).await;

    // A new secret, at once (a leak), from outside both processes: the old one is refused.
    let admin = gatehouse::admin::Admin::new(d.store.as_ref(), "cli", None, 0);
    let (second, _) = admin.rotate_client_secret("web", 0).await.unwrap();
    until_both(first.clone(), 401).await;
    until_both(second.clone(), 200).await;

    // By hand, in SQL: heard too.
    let third = gatehouse::oidc::tokens::generate();
    let pool = sqlx::PgPool::connect(&d.db.url).await.unwrap();
    sqlx::query("UPDATE client SET secret_hash = $1 WHERE client_id = 'web'")
        .bind(gatehouse::oidc::tokens::hash(&third))
        .execute(&pool)
        .await
        .unwrap();
    until_both(second, 401).await;
    until_both(third.clone(), 200).await;

    // Removed: refused by both.
    admin.remove_client("web").await.unwrap();
    until_both(third, 401).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dpop_nonce_handed_out_by_one_process_is_taken_by_the_other() {
    let Some(d) = two_instances_with(&["--dpop-nonce"]).await else {
        return;
    };
    let secret = common::add_service_client(d.store.as_ref(), "svc", &["reports"]).await;
    let key = common::dpop::DpopKey::new();
    let token = async |base: &str, nonce: Option<&str>| {
        let url = format!("{base}/token");
        let r = reqwest::Client::new()
            .post(&url)
            .basic_auth("svc", Some(&secret))
            .header("DPoP", key.proof_with_nonce("POST", &url, None, nonce))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap();
        let given = r
            .headers()
            .get("dpop-nonce")
            .map(|v| v.to_str().unwrap().to_owned());
        let body: serde_json::Value = r.json().await.unwrap();
        (body, given)
    };
    // Asked for one by the first process, the client sends the nonce it got to the second.
    let (refused, nonce) = token(&d.a.base, None).await;
    assert_eq!(refused["error"], "use_dpop_nonce");
    let nonce = nonce.expect("the nonce to use");
    let (issued, _) = token(&d.b.base, Some(&nonce)).await;
    assert_eq!(issued["token_type"], "DPoP", "{issued}");
    let (issued, _) = token(&d.a.base, Some(&nonce)).await;
    assert_eq!(issued["token_type"], "DPoP", "{issued}");
}
