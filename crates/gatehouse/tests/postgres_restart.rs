//! PostgreSQL stopped and started again under load: while it is down every request is answered
//! (a clean `503 temporarily_unavailable`, never a 500 or a dropped connection), `/readyz`
//! fails, and once it is back the same server process serves again, without a restart.
//!
//! Stopping the test server is the environment's to allow: `GATEHOUSE_TEST_POSTGRES_STOP` and
//! `GATEHOUSE_TEST_POSTGRES_START` are shell commands that stop and start it (CI sets them to
//! `pg_ctlcluster`). Without them the test prints why it did nothing, or fails under
//! `GATEHOUSE_REQUIRE_FAULTS=1`. It is the only test in this binary, so no other test of the
//! run loses its database; test binaries run one after another.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::backend::{Backend, Database};
use common::cli::ServerProcess;
use common::{Browser, add_client, add_user, sign_in_at, skip_fault};
use gatehouse::store;
use serde_json::Value;

fn control(var: &str) -> Option<String> {
    let command = std::env::var(var).ok().filter(|c| !c.trim().is_empty());
    if command.is_none() {
        skip_fault(&format!(
            "{var} is not set; set it (and its pair) to a shell command to run the PostgreSQL restart test"
        ));
    }
    command
}

fn run(command: &str) {
    let status = Command::new("sh").args(["-c", command]).status().unwrap();
    assert!(status.success(), "{command}: {status}");
}

/// Starts PostgreSQL again if the test ends (passed or not) while it is stopped.
struct Restart(Option<String>);

impl Drop for Restart {
    fn drop(&mut self) {
        if let Some(start) = self.0.take() {
            let _ = Command::new("sh").args(["-c", &start]).status();
        }
    }
}

/// What one client saw, in order: `Ok(status)` for an answer, `Err` for no answer.
type Seen = Vec<Result<u16, String>>;

/// Refreshes in a loop until `stop`. After an answer other than 200 the outcome of the failed
/// request is in doubt (PostgreSQL may have committed before the connection died), so if the
/// token then turns out spent the client signs in again, as a real one would.
async fn client(base: String, secret: String, user: String, stop: Arc<AtomicBool>) -> Seen {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let browser = Browser::default();
    let mut token = sign_in_at(&browser, &base, "web", &secret, &user).await["refresh_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut seen = Vec::new();
    let mut in_doubt = false;
    while !stop.load(Ordering::SeqCst) {
        let r = http
            .post(format!("{base}/token"))
            .basic_auth("web", Some(&secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", &token)])
            .send()
            .await;
        let r = match r {
            Ok(r) => r,
            Err(e) => {
                seen.push(Err(e.to_string()));
                continue;
            }
        };
        let status = r.status().as_u16();
        seen.push(Ok(status));
        let body: Value = r.json().await.unwrap();
        match status {
            200 => {
                token = body["refresh_token"].as_str().unwrap().to_owned();
                in_doubt = false;
            }
            503 => {
                assert_eq!(body["error"], "temporarily_unavailable", "{body}");
                in_doubt = true;
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            400 if in_doubt && body["error"] == "invalid_grant" => {
                let tokens = sign_in_at(&browser, &base, "web", &secret, &user).await;
                token = tokens["refresh_token"].as_str().unwrap().to_owned();
                in_doubt = false;
            }
            _ => panic!("unexpected answer {status}: {body}"),
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn requests_fail_cleanly_while_postgres_is_down_and_succeed_again_without_a_restart() {
    let Some(db) = Database::fresh(Backend::Postgres).await else {
        return;
    };
    let (Some(stop_pg), Some(start_pg)) = (
        control("GATEHOUSE_TEST_POSTGRES_STOP"),
        control("GATEHOUSE_TEST_POSTGRES_START"),
    ) else {
        return;
    };
    const CLIENTS: usize = 4;
    let store = store::open(&db.url).await.unwrap();
    for c in 0..CLIENTS {
        add_user(store.as_ref(), &format!("user{c}")).await;
    }
    let secret = add_client(store.as_ref(), "web").await;
    store.close().await.unwrap();
    let url = db.url.clone();
    let mut server = tokio::task::spawn_blocking(move || ServerProcess::start(&url))
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let ready = |http: reqwest::Client, base: String| async move {
        http.get(format!("{base}/readyz"))
            .send()
            .await
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(ready(http.clone(), server.base.clone()).await, 200);

    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..CLIENTS)
        .map(|c| {
            tokio::spawn(client(
                server.base.clone(),
                secret.clone(),
                format!("user{c}"),
                Arc::clone(&stop),
            ))
        })
        .collect();
    tokio::time::sleep(Duration::from_secs(1)).await;

    let guard = Restart(Some(start_pg));
    tokio::task::spawn_blocking(move || run(&stop_pg))
        .await
        .unwrap();
    // Down: not ready, and the clients get answers, not hangs (each within the pool's
    // acquire timeout).
    let mut down = 0;
    while down == 0 || ready(http.clone(), server.base.clone()).await == 200 {
        down += 1;
        assert!(
            down < 100,
            "/readyz kept answering 200 with PostgreSQL down"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(server.is_running());

    let mut guard = guard;
    let start_pg = guard.0.take().unwrap();
    tokio::task::spawn_blocking(move || run(&start_pg))
        .await
        .unwrap();
    let back = Instant::now();
    while ready(http.clone(), server.base.clone()).await != 200 {
        assert!(
            back.elapsed() < Duration::from_secs(60),
            "not ready again a minute after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Let every client get through again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    stop.store(true, Ordering::SeqCst);

    let mut refused = 0;
    for c in clients {
        let seen = c.await.expect("a client saw a wrong answer");
        let dropped: Vec<_> = seen.iter().filter_map(|s| s.as_ref().err()).collect();
        assert!(dropped.is_empty(), "requests went unanswered: {dropped:?}");
        refused += seen.iter().filter(|s| **s == Ok(503)).count();
        // Served again after the restart: the last answers are successes.
        let tail: Vec<_> = seen.iter().rev().take(3).collect();
        assert!(tail.iter().all(|s| **s == Ok(200)), "{tail:?}");
    }
    assert!(refused > 0, "no request arrived while PostgreSQL was down");
    assert!(server.is_running());
}
