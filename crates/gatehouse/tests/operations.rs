//! What operators rely on: readiness that sees a wedged writer, Prometheus metrics, request ids
//! in responses and in every log line, JSON logs without secrets, a clean stop on SIGTERM, and
//! an audit log kept as long as configured.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::backend::Database;
use common::cli::Killed;
use common::{TestServer, add_client, add_user, sign_in};
use gatehouse::clock::Clock as _;
use gatehouse::model::{AuditKind, AuditRecord};

/// The server sweeps audit records older than `--audit-retention-days` at start (and every ten
/// minutes), and records of tokens issued older than `--token-audit-retention-days` (30 by
/// default), and keeps the rest.
async fn the_audit_log_is_kept_as_long_as_configured(db: Database) {
    let now = gatehouse::clock::SystemClock.now();
    let store = gatehouse::store::open(&db.url).await.unwrap();
    for (days, kind, subject) in [
        (400, AuditKind::LoginFailed, "last year"),
        (61, AuditKind::LoginFailed, "two months ago"),
        (59, AuditKind::LoginFailed, "this season"),
        (31, AuditKind::TokenIssued, "a token last month"),
        (29, AuditKind::TokenIssued, "a token this month"),
        (0, AuditKind::LoginFailed, "today"),
    ] {
        let record =
            AuditRecord::new(now - days * 86_400, kind, "anonymous").subject(Some(subject));
        store.record(record).await.unwrap();
    }
    store.close().await.unwrap();
    let server = TestServer::start_with(db, |args| args.audit_retention_days = 60).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let kept = loop {
        let kept: Vec<String> = server
            .store
            .audit_latest(100)
            .await
            .unwrap()
            .into_iter()
            .filter_map(|e| e.record.subject)
            .collect();
        if kept.len() < 4 || std::time::Instant::now() > deadline {
            break kept;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(kept, ["this season", "a token this month", "today"]);
    server.stop().await;
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    the_audit_log_is_kept_as_long_as_configured,
);

/// A server on a fresh PostgreSQL database (`None` when there is none and none is required),
/// its URL, and Ada signed in to the client `web`: its secret and her tokens.
async fn ada_signed_in_on_postgres() -> Option<(
    TestServer,
    String,
    String,
    std::collections::HashMap<String, serde_json::Value>,
)> {
    let db = common::backend::Database::fresh(common::backend::Backend::Postgres).await?;
    let url = db.url.clone();
    let server = TestServer::start_on(db).await;
    add_user(server.store.as_ref(), "ada").await;
    let secret = add_client(server.store.as_ref(), "web").await;
    let tokens = sign_in(&server, "web", &secret, "ada").await;
    Some((server, url, secret, tokens))
}

/// The answers kept for refresh retries hold live tokens (sealed) and are cleared within 30 s of
/// their window's end, even while an audit sweep takes long (the first after an upgrade may
/// delete a year of records): here the audit log is locked by another session, so the sweep
/// started with the server waits, and the retry sweep's next round still clears the answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_audit_sweep_does_not_hold_up_clearing_retry_answers() {
    use sqlx::Connection as _;
    let Some((server, url, secret, tokens)) = ada_signed_in_on_postgres().await else {
        return;
    };
    let refreshed = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .basic_auth("web", Some(&secret))
        .form(&[
            ("grant_type", "refresh_token"),
            ("refresh_token", tokens["refresh_token"].as_str().unwrap()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(refreshed.status(), 200);
    let mut look = sqlx::PgConnection::connect(&url).await.unwrap();
    let kept = async |look: &mut sqlx::PgConnection| -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM token_retry")
            .fetch_one(look)
            .await
            .unwrap()
    };
    assert_eq!(kept(&mut look).await, 1, "the rotation's answer is kept");

    // Another session locks the audit log; a server started now sweeps at once, and its audit
    // sweep waits on the lock (the answer's 5 s window has not passed yet).
    let db = server.stop_keeping_database().await;
    let mut blocker = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("LOCK TABLE audit_event IN ACCESS EXCLUSIVE MODE")
        .execute(&mut blocker)
        .await
        .unwrap();
    let server = TestServer::start_on(db).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(45);
    while kept(&mut look).await > 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the answer was not cleared while the audit sweep waited"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let waiting: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM pg_stat_activity
         WHERE wait_event_type = 'Lock' AND query LIKE 'DELETE FROM audit_event%'",
    )
    .fetch_one(&mut look)
    .await
    .unwrap();
    assert_eq!(waiting, 1, "the audit sweep was still waiting all along");
    sqlx::query("ROLLBACK").execute(&mut blocker).await.unwrap();
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_while_another_process_holds_the_write_lock_and_recovers() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let get = |path: &'static str| {
        let http = http.clone();
        let url = format!("{}{path}", server.base);
        async move { http.get(url).send().await.unwrap() }
    };
    assert_eq!(get("/healthz").await.status(), 200);
    let ready = get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.json::<serde_json::Value>().await.unwrap()["status"],
        "ready"
    );

    // Another writer (a stuck script, a long migration) holds the database's write lock.
    let path = server.db.dir.path().join("gatehouse.db");
    let blocker = rusqlite::Connection::open(&path).unwrap();
    blocker.execute_batch("BEGIN IMMEDIATE").unwrap();

    let not_ready = get("/readyz").await;
    assert_eq!(not_ready.status(), 503);
    let body: serde_json::Value = not_ready.json().await.unwrap();
    assert_eq!(body["status"], "unavailable");
    // Liveness is another question: the process is fine.
    assert_eq!(get("/healthz").await.status(), 200);

    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);
    // The queued ping drains; the next check passes.
    let mut status = 0;
    for _ in 0..50 {
        status = get("/readyz").await.status().as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again once the lock is released");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_logins_tokens_and_show_the_engine() {
    let server = TestServer::start().await;
    add_user(server.store.as_ref(), "ada").await;
    let secret = add_client(server.store.as_ref(), "web").await;
    sign_in(&server, "web", &secret, "ada").await;

    let r = reqwest::get(format!("{}/metrics", server.base))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert!(
        r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = r.text().await.unwrap();
    let has = |needle: &str| {
        assert!(
            text.lines().any(|l| l.contains(needle)),
            "no line with {needle:?} in\n{text}"
        );
    };
    has(r#"http_requests_total{route="/token",method="POST",status="200"}"#);
    has(r#"http_requests_total{route="/authorize",method="GET",status="200"}"#);
    has(r#"http_request_duration_seconds_bucket{route="/token",le="0.005"}"#);
    has(r#"gatehouse_logins_total{outcome="success"}"#);
    has(r#"gatehouse_tokens_issued_total{grant="authorization_code"}"#);
    has("# TYPE onewriter_write_queue_depth gauge");
    has("# TYPE onewriter_writes_total counter");
    // Seconds keep their fractions (a counter would hold whole seconds only).
    has("# TYPE onewriter_wal_handover_seconds_total gauge");
    has("# TYPE onewriter_sync_max_seconds gauge");
    // The lab reads the syncs' time in all beside the longest.
    has("# TYPE onewriter_sync_seconds_total gauge");
    has(r#"onewriter_batch_size{quantile="0.99"}"#);
    has(r#"onewriter_write_wait_seconds{quantile="0.5"}"#);
    // Raw paths never become labels.
    assert!(!text.contains("code="), "{text}");
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_keeps_one_it_was_given() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let r = http
        .get(format!("{}/healthz", server.base))
        .send()
        .await
        .unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    let r = http
        .get(format!("{}/nowhere", server.base))
        .header("x-request-id", "from-the-proxy-1")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    assert_eq!(r.headers()["x-request-id"], "from-the-proxy-1");
}

#[test]
fn a_request_whose_body_never_finishes_is_answered_408_after_the_request_timeout() {
    use std::io::{Read, Write};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("slow.db").display());
    let server = common::cli::ServerProcess::start_with(&db, &["--request-timeout", "1"]);
    let addr = server.base.strip_prefix("http://").unwrap();
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    // Headers promise 100 bytes; 11 arrive, then nothing.
    conn.write_all(
        b"POST /token HTTP/1.1\r\nHost: gatehouse\r\n\
          Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
          grant_type=",
    )
    .unwrap();
    let started = std::time::Instant::now();
    let mut answer = [0u8; 64];
    let n = conn.read(&mut answer).unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "the server held the request"
    );
    // A request on time is unaffected.
    let mut conn = std::net::TcpStream::connect(addr).unwrap();
    conn.write_all(b"GET /healthz HTTP/1.1\r\nHost: gatehouse\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    conn.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
}

/// `gatehouse serve` on `db` with JSON logs at `log` level and more `args`: the process, every
/// line it writes to standard output (as they come), and its base URL.
fn serve_logging(
    db: &str,
    log: &str,
    args: &[&str],
) -> (Killed, std::sync::mpsc::Receiver<String>, String) {
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["--database-url", db, "serve", "--listen", "127.0.0.1:0"])
            .args(["--log-format", "json"])
            .args(args)
            .env("GATEHOUSE_LOG", log)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let stdout = child.0.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let base = loop {
        let line = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("serve printed its address");
        if let Some(rest) = line.strip_prefix("gatehouse listening on ") {
            break rest.split_whitespace().next().unwrap().to_owned();
        }
    };
    (child, rx, base)
}

/// Asks the server `child` to stop, as systemd does (SIGTERM).
fn sigterm(child: &Killed) {
    let pid = child.0.id().to_string();
    let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(sent.success());
}

/// The lines a server started with `args` logs while answering `forwarded` requests with an
/// `X-Forwarded-For` (after one without), to its end.
fn logged_for_forwarded_requests(args: &[&str], forwarded: usize) -> Vec<String> {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("proxy.db").display());
    let (mut child, rx, base) = serve_logging(&db, "warn", args);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let http = reqwest::Client::new();
        let url = format!("{base}/authorize?client_id=nobody");
        http.get(&url).send().await.unwrap();
        for i in 0..forwarded {
            http.get(&url)
                .header("x-forwarded-for", format!("203.0.113.{i}"))
                .send()
                .await
                .unwrap();
        }
    });
    sigterm(&child);
    assert!(child.0.wait().unwrap().success());
    rx.iter().collect()
}

/// Behind a reverse proxy the configuration does not name, every person would count and be
/// recorded as the proxy: the operator is told which address to name, once.
#[test]
fn a_proxy_whose_forwarded_addresses_are_not_believed_is_named_in_a_warning_once() {
    let told = |lines: &[String]| {
        lines
            .iter()
            .filter(|l| l.contains("carries X-Forwarded-For"))
            .cloned()
            .collect::<Vec<_>>()
    };
    let lines = logged_for_forwarded_requests(&[], 3);
    let warnings = told(&lines);
    assert_eq!(warnings.len(), 1, "{lines:#?}");
    assert!(
        warnings[0].contains("--trusted-proxy 127.0.0.1") && warnings[0].contains("WARN"),
        "{warnings:?}"
    );
    // Named, it is believed, and nothing is said.
    let lines = logged_for_forwarded_requests(&["--trusted-proxy", "127.0.0.1"], 3);
    assert!(told(&lines).is_empty(), "{lines:#?}");
    // Without the header, nothing either.
    let lines = logged_for_forwarded_requests(&[], 0);
    assert!(told(&lines).is_empty(), "{lines:#?}");
}

#[test]
fn json_logs_carry_the_request_id_never_a_secret_and_sigterm_stops_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("ops.db");
    let db = format!("sqlite://{}", db_path.display());
    // Everything gatehouse and its HTTP stack log, debug included.
    let (mut child, rx, base) = serve_logging(&db, "debug", &[]);
    let addr = base.strip_prefix("http://").unwrap().to_owned();
    let next = || {
        rx.recv_timeout(Duration::from_secs(30))
            .expect("more output")
    };

    let secret = "a-client-secret-that-must-never-be-logged";
    let rt = tokio::runtime::Runtime::new().unwrap();
    let status = rt.block_on(async {
        reqwest::Client::new()
            .post(format!("http://{addr}/token"))
            .header("x-request-id", "req-42")
            .basic_auth("nobody", Some(secret))
            .form(&[("grant_type", "client_credentials")])
            .send()
            .await
            .unwrap()
            .status()
    });
    assert_eq!(status, 401);
    // Secrets in query strings and bodies, where a careless log line would pick them up.
    let in_queries = [
        "state-that-must-never-be-logged",
        "hint-that-must-never-be-logged",
        "refresh-token-that-must-never-be-logged",
        "code-that-must-never-be-logged",
    ];
    rt.block_on(async {
        let http = reqwest::Client::new();
        for uri in [
            format!("/authorize?client_id=nobody&state={}", in_queries[0]),
            format!("/logout?id_token_hint={}", in_queries[1]),
        ] {
            http.get(format!("http://{addr}{uri}"))
                .send()
                .await
                .unwrap();
        }
        for (grant, field, value) in [
            ("refresh_token", "refresh_token", in_queries[2]),
            ("authorization_code", "code", in_queries[3]),
        ] {
            http.post(format!("http://{addr}/token"))
                .basic_auth("nobody", Some(secret))
                .form(&[("grant_type", grant), (field, value)])
                .send()
                .await
                .unwrap();
        }
    });

    let mut lines = Vec::new();
    let refused = loop {
        let line = next();
        lines.push(line.clone());
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if v["fields"]["message"] == "token request refused" {
            break v;
        }
    };
    assert_eq!(refused["span"]["request_id"], "req-42", "{refused}");
    assert_eq!(refused["span"]["path"], "/token");
    assert_eq!(refused["fields"]["error"], "invalid_client");

    // SIGTERM: the server stops accepting, finishes, checkpoints and exits 0.
    sigterm(&child);
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "{exit:?}");
    // Every line, to the end of the output.
    lines.extend(rx.iter());
    let answered = lines
        .iter()
        .filter(|l| l.contains("finished processing request"))
        .count();
    assert!(answered >= 5, "each request was logged: {lines:#?}");
    assert!(lines.iter().all(|l| !l.contains(secret)), "{lines:#?}");
    for value in in_queries {
        assert!(
            lines.iter().all(|l| !l.contains(value)),
            "{value} was logged"
        );
    }
    assert!(
        lines.iter().all(|l| !l.contains('?')),
        "a query string was logged: {lines:#?}"
    );
    assert!(lines.iter().any(|l| l.contains("shutting down")));
    // Closed cleanly: the WAL was checkpointed into the database and truncated.
    let wal = dir.path().join("ops.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL is empty after a clean stop");
    let conn = rusqlite::Connection::open(&db_path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

/// SIGTERM while sign-ins are being processed: every request the server had accepted is
/// answered, and what each wrote (its session, its audit record) is in the file afterwards.
#[test]
fn sigterm_lets_in_flight_requests_and_their_writes_finish() {
    const USERS: usize = 12;
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("term.db").display());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = gatehouse::store::open(&db).await.unwrap();
        add_client(store.as_ref(), "web").await;
        for i in 0..USERS {
            add_user(store.as_ref(), &format!("user{i}")).await;
        }
        store.close().await.unwrap();
    });
    let (mut child, rx, base) = serve_logging(
        &db,
        "warn,tower_http=debug",
        &["--password-hash-concurrency", "1"],
    );
    let next = || {
        rx.recv_timeout(Duration::from_secs(60))
            .expect("more output")
    };
    // Each person has the login form open.
    let (_, challenge) = common::pkce();
    let url = format!(
        "{base}/authorize?response_type=code&client_id=web&redirect_uri={}&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
        common::REDIRECT
    );
    let forms: Vec<(common::Browser, String)> = rt.block_on(async {
        let mut forms = Vec::new();
        for _ in 0..USERS {
            let b = common::Browser::default();
            let html = b.http.get(&url).send().await.unwrap().text().await.unwrap();
            forms.push((b, html));
        }
        forms
    });
    // Each request the server accepts logs "started processing request" (the span names no
    // path in these lines), so count the ones of the forms before the sign-ins start.
    let wait_started = |n: usize| {
        let mut seen = 0;
        while seen < n {
            if next().contains("started processing request") {
                seen += 1;
            }
        }
    };
    wait_started(USERS);
    // All sign in at once; one password hash at a time keeps most of them in flight.
    let posts: Vec<_> = forms
        .into_iter()
        .enumerate()
        .map(|(i, (b, html))| {
            let form = [
                ("username", format!("user{i}")),
                ("password", common::PASSWORD.to_owned()),
                ("csrf", common::hidden_input(&html, "csrf")),
                ("request", common::hidden_input(&html, "request")),
            ];
            let request = b.http.post(format!("{base}/login")).form(&form);
            rt.spawn(async move { request.send().await.map(|r| r.status().as_u16()) })
        })
        .collect();
    // Wait until the server has accepted every one of them, then ask it to stop.
    wait_started(USERS);
    sigterm(&child);
    let statuses: Vec<u16> = posts
        .into_iter()
        .map(|p| {
            rt.block_on(p)
                .unwrap()
                .expect("an accepted request is answered")
        })
        .collect();
    assert_eq!(statuses, vec![303; USERS], "every sign-in finished");
    let exit = child.0.wait().unwrap();
    assert!(exit.success(), "{exit:?}");

    // What they wrote is there.
    rt.block_on(async {
        let store = gatehouse::store::open(&db).await.unwrap();
        let succeeded = store
            .audit_latest(100)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.record.kind.as_str() == "login.succeeded")
            .count();
        assert_eq!(succeeded, USERS);
        for i in 0..USERS {
            let user = store
                .user_by_username(&format!("user{i}"))
                .await
                .unwrap()
                .unwrap();
            let now = gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock);
            assert_eq!(
                store.sessions(&user.id, now).await.unwrap().len(),
                1,
                "user{i}"
            );
        }
        store.close().await.unwrap();
    });
}

/// PostgreSQL: when every pooled connection is held by a transaction waiting on a row lock,
/// further requests wait their turn for a bounded time and are answered a clear 503, the
/// process stays up, and it serves again once the lock is gone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_exhausted_postgresql_pool_answers_503_and_recovers() {
    use sqlx::Connection as _;
    const REQUESTS: usize = 24;
    let Some((server, url, secret, tokens)) = ada_signed_in_on_postgres().await else {
        return;
    };
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    // Another session holds the refresh token's family row: every rotation of it waits, each on a
    // pooled connection of its own, and the pool (16) runs out.
    let mut blocker = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut blocker).await.unwrap();
    sqlx::query("SELECT 1 FROM token_family WHERE refresh_hash = $1 FOR UPDATE")
        .bind(gatehouse::oidc::tokens::hash(&refresh))
        .execute(&mut blocker)
        .await
        .unwrap();
    let http = reqwest::Client::new();
    let requests: Vec<_> = (0..REQUESTS)
        .map(|_| {
            let (http, base) = (http.clone(), server.base.clone());
            let (secret, refresh) = (secret.clone(), refresh.clone());
            tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/token"))
                    .basic_auth("web", Some(&secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
                    .send()
                    .await
                    .expect("every request is answered");
                let status = r.status().as_u16();
                (status, r.json::<serde_json::Value>().await.unwrap())
            })
        })
        .collect();
    // Those that found no connection give up after the pool's deadline, while the lock holds.
    let mut waited = 0;
    while requests.iter().filter(|r| r.is_finished()).count() == 0 {
        tokio::time::sleep(Duration::from_millis(100)).await;
        waited += 1;
        assert!(waited < 300, "no request was answered within 30 s");
    }
    assert_eq!(
        reqwest::get(format!("{}/healthz", server.base))
            .await
            .unwrap()
            .status(),
        200,
        "the process is fine"
    );
    sqlx::query("COMMIT").execute(&mut blocker).await.unwrap();

    let mut counts = std::collections::BTreeMap::new();
    let mut pairs = std::collections::BTreeSet::new();
    for r in requests {
        let (status, body) = r.await.unwrap();
        match status {
            200 => {
                let token = |k: &str| body[k].as_str().unwrap().to_owned();
                pairs.insert((token("access_token"), token("refresh_token")));
            }
            400 => assert_eq!(body["error"], "invalid_grant", "{body}"),
            503 => assert_eq!(body["error"], "temporarily_unavailable", "{body}"),
            other => panic!("unexpected {other}: {body}"),
        }
        *counts.entry(status).or_insert(0) += 1;
    }
    assert!(counts.get(&503).copied().unwrap_or(0) >= 1, "{counts:?}");
    // Those that got a connection took turns on the row: one rotated the token and the
    // others, retries within the window, got its answer; none was turned into reuse.
    assert!(counts.get(&200).copied().unwrap_or(0) >= 1, "{counts:?}");
    assert_eq!(counts.get(&400), None, "{counts:?}");
    assert_eq!(pairs.len(), 1, "one rotation, one pair: {counts:?}");
    let ready = reqwest::get(format!("{}/readyz", server.base))
        .await
        .unwrap();
    assert_eq!(ready.status(), 200, "it serves again");
    server.stop().await;
}

/// Behind its TLS proxy (an https issuer), every answer tells browsers to reach gatehouse only
/// over https for a year: pages, a page that is not there, a refused request, discovery,
/// health; the setting changes how long, 0 none. On an http issuer (this machine) nothing does,
/// which would keep the browser from every other plain http server on the host. Every answer,
/// on either, tells browsers not to read it as another type than it says (`nosniff`).
#[tokio::test]
async fn browsers_are_told_to_keep_to_https_by_an_https_issuer_and_never_to_sniff() {
    use axum::http::header::{STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS};
    use common::backend::Backend;
    use common::oneshot::{fixture, fixture_with, get, send};
    const PATHS: [&str; 5] = [
        "/account",
        "/nowhere",
        "/authorize?client_id=nobody",
        "/.well-known/openid-configuration",
        "/healthz",
    ];
    let on_https = |max_age: u32| {
        move |args: &mut gatehouse::config::ServeArgs| {
            args.issuer = Some("https://sso.example".parse().unwrap());
            args.hsts_max_age = max_age;
        }
    };
    for (max_age, told) in [
        (
            gatehouse::config::DEFAULT_HSTS_MAX_AGE,
            Some("max-age=31536000"),
        ),
        (600, Some("max-age=600")),
        (0, None),
    ] {
        let db = Database::fresh(Backend::Sqlite).await.unwrap();
        let f = fixture_with(db, on_https(max_age)).await;
        for path in PATHS {
            let r = send(&f, get(path)).await;
            let hsts = r.headers().get(STRICT_TRANSPORT_SECURITY);
            assert_eq!(hsts.map(|v| v.to_str().unwrap()), told, "{path}");
            assert_eq!(r.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
        }
    }
    let f = fixture().await;
    assert!(f.state.config.issuer.starts_with("http://"));
    for path in PATHS {
        let r = send(&f, get(path)).await;
        assert!(
            r.headers().get(STRICT_TRANSPORT_SECURITY).is_none(),
            "{path}"
        );
        assert_eq!(r.headers()[X_CONTENT_TYPE_OPTIONS], "nosniff", "{path}");
    }
}
