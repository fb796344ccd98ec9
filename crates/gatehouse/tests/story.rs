//! The story's suite: one server, one SQLite file, 8 concurrent workers each running whole
//! flows; and 32 concurrent requests with one refresh token. A pool of SQLite connections
//! fails this with "database is busy"; gatehouse must not fail once.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use common::backend::Database;

use std::collections::HashMap;

use common::{TestServer, add_client, add_user, sign_in};

async fn refresh(
    http: &reqwest::Client,
    server: &TestServer,
    client_id: &str,
    secret: &str,
    token: &str,
) -> reqwest::Response {
    http.post(format!("{}/token", server.base))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
}

async fn eight_workers_run_whole_flows_without_a_single_server_error(db: Database) {
    let server = std::sync::Arc::new(TestServer::start_on(db).await);
    let secret = add_client(server.store.as_ref(), "suite").await;
    let mut workers = Vec::new();
    for w in 0..8 {
        let server = std::sync::Arc::clone(&server);
        let secret = secret.clone();
        workers.push(tokio::spawn(async move {
            let username = format!("worker{w}");
            let user = add_user(server.store.as_ref(), &username).await;
            let tokens = sign_in(&server, "suite", &secret, &username).await;
            let http = reqwest::Client::new();
            let mut refresh_token = tokens["refresh_token"].as_str().unwrap().to_owned();
            let mut access_token = String::new();
            for i in 0..50 {
                let r = refresh(&http, &server, "suite", &secret, &refresh_token).await;
                assert_eq!(r.status(), 200, "worker {w}, refresh {i}");
                let body: HashMap<String, serde_json::Value> = r.json().await.unwrap();
                assert!(!body.contains_key("id_token"), "a refresh signs nothing");
                refresh_token = body["refresh_token"].as_str().unwrap().to_owned();
                access_token = body["access_token"].as_str().unwrap().to_owned();
            }
            let info: serde_json::Value = http
                .get(format!("{}/userinfo", server.base))
                .bearer_auth(&access_token)
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(info["sub"], user.id.as_str());
        }));
    }
    for w in workers {
        w.await.expect("a worker failed");
    }
    let server = std::sync::Arc::into_inner(server).expect("workers done");
    server.stop().await;
}

/// 32 requests with one refresh token, released at once; each one's status and answer.
async fn race(server: &TestServer, secret: &str, token: &str) -> Vec<(u16, serde_json::Value)> {
    let http = reqwest::Client::new();
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(32));
    let mut racers = Vec::new();
    for _ in 0..32 {
        let (http, barrier) = (http.clone(), std::sync::Arc::clone(&barrier));
        let (base, secret, token) = (server.base.clone(), secret.to_owned(), token.to_owned());
        racers.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = http
                .post(format!("{base}/token"))
                .basic_auth("race", Some(&secret))
                .form(&[
                    ("grant_type", "refresh_token"),
                    ("refresh_token", token.as_str()),
                ])
                .send()
                .await
                .unwrap();
            let status = r.status().as_u16();
            let body: serde_json::Value = r.json().await.unwrap();
            (status, body)
        }));
    }
    let mut answers = Vec::new();
    for r in racers {
        answers.push(r.await.unwrap());
    }
    answers
}

/// How many reuses the audit log holds.
async fn reuses_audited(server: &TestServer) -> usize {
    server
        .store
        .audit_latest(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind.as_str() == "token.reuse_detected")
        .count()
}

async fn thirty_two_concurrent_refreshes_with_one_token_all_get_the_same_new_tokens(db: Database) {
    let server = TestServer::start_on(db).await;
    add_user(server.store.as_ref(), "racer").await;
    let secret = add_client(server.store.as_ref(), "race").await;
    let tokens = sign_in(&server, "race", &secret, "racer").await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Two tabs, a proxy's replicas: one request rotates the token, and the others, retries of
    // it within the window, get its answer. One branch, nothing revoked.
    let answers = race(&server, &secret, &token).await;
    let pair = |a: &serde_json::Value| {
        (
            a["access_token"].as_str().unwrap().to_owned(),
            a["refresh_token"].as_str().unwrap().to_owned(),
        )
    };
    for (status, body) in &answers {
        assert_eq!(*status, 200, "{body}");
    }
    let first = pair(&answers[0].1);
    assert!(
        answers.iter().all(|(_, body)| pair(body) == first),
        "every request got the same pair"
    );
    assert_eq!(reuses_audited(&server).await, 0);

    // The pair works, and its refresh token rotates as usual.
    let http = reqwest::Client::new();
    let r = refresh(&http, &server, "race", &secret, &first.1).await;
    assert_eq!(r.status(), 200);
    let next: serde_json::Value = r.json().await.unwrap();

    // Now that the client moved on, the first token coming back is a leak: the family goes.
    let r = refresh(&http, &server, "race", &secret, &token).await;
    assert_eq!(r.status(), 400);
    let r = refresh(
        &http,
        &server,
        "race",
        &secret,
        next["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(r.status(), 400, "the family is revoked");
    assert!(reuses_audited(&server).await >= 1, "the reuse is audited");
    server.stop().await;
}

async fn without_a_retry_window_thirty_two_concurrent_refreshes_have_exactly_one_winner(
    db: Database,
) {
    let server = TestServer::start_with(db, |args| args.refresh_retry_window = 0).await;
    add_user(server.store.as_ref(), "racer").await;
    let secret = add_client(server.store.as_ref(), "race").await;
    let tokens = sign_in(&server, "race", &secret, "racer").await;
    let token = tokens["refresh_token"].as_str().unwrap().to_owned();
    let mut winners = Vec::new();
    for (status, body) in race(&server, &secret, &token).await {
        match status {
            200 => winners.push(body),
            400 => assert_eq!(body["error"], "invalid_grant"),
            other => panic!("unexpected status {other}: {body}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one request rotates the token");
    // The 31 others presented a token that was already rotated: reuse (RFC 9700 §4.14.2). The
    // family is revoked, the winner's new tokens included, and the reuse is in the audit log.
    let winner = &winners[0];
    let http = reqwest::Client::new();
    let r = refresh(
        &http,
        &server,
        "race",
        &secret,
        winner["refresh_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        r.status(),
        400,
        "the winner's refresh token is revoked with its family"
    );
    let r = http
        .get(format!("{}/userinfo", server.base))
        .bearer_auth(winner["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "and so is the winner's access token");
    assert!(reuses_audited(&server).await >= 1, "the reuse is audited");
    server.stop().await;
}

on_both_backends!((flavor = "multi_thread", worker_threads = 4);
    eight_workers_run_whole_flows_without_a_single_server_error,
    thirty_two_concurrent_refreshes_with_one_token_all_get_the_same_new_tokens,
    without_a_retry_window_thirty_two_concurrent_refreshes_have_exactly_one_winner,
);
