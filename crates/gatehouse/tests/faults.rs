//! Faults on an embedded SQLite file, each against a real `gatehouse serve` process under load:
//! the process killed with SIGKILL, another process writing the same file, a full disk, a
//! database file that cannot be written. What the server acknowledged survives; what fails,
//! fails with a clear 503; the process stays up and recovers once the fault is gone.
//!
//! The full-disk test mounts a small tmpfs and the read-only test sets the immutable attribute
//! (`chattr +i`, ext4 and similar), which root can do; elsewhere they print why they did nothing.
//! CI sets `GATEHOUSE_REQUIRE_FAULTS=1`, which turns that into a failure.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use common::cli::{ServerProcess, gatehouse, ok};
use common::{Browser, add_client, add_user, sign_in_at, skip_fault};
use gatehouse::store;
use serde_json::Value;

/// A database file with users `user0`… and the confidential client `web`; returns its secret.
async fn prepare(url: &str, users: usize) -> String {
    let store = store::open(url).await.unwrap();
    for u in 0..users {
        add_user(store.as_ref(), &format!("user{u}")).await;
    }
    let secret = add_client(store.as_ref(), "web").await;
    store.close().await.unwrap();
    secret
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

/// Starts a server process (blocking: it waits for the address line).
async fn start(url: &str) -> ServerProcess {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || ServerProcess::start(&url))
        .await
        .unwrap()
}

/// SQLite's own check of the file: every page and index consistent.
fn assert_intact(path: &Path) {
    let conn = rusqlite::Connection::open(path).unwrap();
    let check: String = conn
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

struct Api {
    http: reqwest::Client,
    base: String,
    secret: String,
}

impl Api {
    async fn refresh(&self, token: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/token", self.base))
            .basic_auth("web", Some(&self.secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .send()
            .await
    }

    async fn revoke(&self, token: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .post(format!("{}/revoke", self.base))
            .basic_auth("web", Some(&self.secret))
            .form(&[("token", token)])
            .send()
            .await
    }

    async fn userinfo(&self, access_token: &str) -> reqwest::Result<reqwest::Response> {
        self.http
            .get(format!("{}/userinfo", self.base))
            .bearer_auth(access_token)
            .send()
            .await
    }

    async fn active(&self, token: &str) -> bool {
        let r = self
            .http
            .post(format!("{}/introspect", self.base))
            .basic_auth("web", Some(&self.secret))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "introspection");
        r.json::<Value>().await.unwrap()["active"]
            .as_bool()
            .unwrap()
    }

    async fn ready(&self) -> u16 {
        self.http
            .get(format!("{}/readyz", self.base))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    /// Polls `/readyz` until it answers `status` (for at most 20 s); returns whether it did.
    async fn ready_becomes(&self, status: u16) -> bool {
        for _ in 0..200 {
            if self.ready().await == status {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        false
    }
}

/// A token family as its client saw it.
#[derive(Debug, Clone)]
struct Family {
    /// The last refresh token the server returned.
    refresh: String,
    /// Every access token the server returned for the family.
    access: Vec<String>,
    state: FamilyState,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum FamilyState {
    /// Every request about it was answered.
    Live,
    /// A revocation of it was acknowledged.
    Revoked,
    /// A refresh was in flight when the server died: it may or may not have been committed, so
    /// the last refresh token may have been rotated.
    RefreshInFlight,
    /// A revocation was in flight when the server died.
    RevokeInFlight,
}

fn family(tokens: &HashMap<String, Value>) -> Family {
    Family {
        refresh: tokens["refresh_token"].as_str().unwrap().to_owned(),
        access: vec![tokens["access_token"].as_str().unwrap().to_owned()],
        state: FamilyState::Live,
    }
}

/// How a worker's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// It ran its rounds.
    Done,
    /// The server died while one of its requests was on the wire or being processed.
    InFlight,
    /// The server was gone before its next request reached it (connection refused): nothing
    /// of that request happened.
    Refused,
}

/// Where an unanswered request was when the server died.
fn unanswered(e: &reqwest::Error) -> End {
    if e.is_connect() {
        End::Refused
    } else {
        End::InFlight
    }
}

/// Refreshes its families in turn, reading userinfo with each new access token. Every 5th
/// round it revokes its oldest live family and signs in again for a new one, so refreshes,
/// revocations and sign-ins all run until the server stops answering (`rounds: None`) or for
/// `rounds` rounds. Every answer other than a transport error must be a success.
async fn work(
    api: &Api,
    browser: &Browser,
    user: &str,
    families: &mut Vec<Family>,
    rounds: Option<usize>,
    acked: &AtomicUsize,
) -> End {
    let mut round = 0;
    loop {
        if rounds.is_some_and(|n| round >= n) {
            return End::Done;
        }
        round += 1;
        if round % 5 == 0 {
            if let Some(f) = families.iter_mut().find(|f| f.state == FamilyState::Live) {
                match api.revoke(&f.refresh).await {
                    Ok(r) => {
                        assert_eq!(r.status(), 200, "revocation");
                        f.state = FamilyState::Revoked;
                        acked.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => {
                        let end = unanswered(&e);
                        if end == End::InFlight {
                            f.state = FamilyState::RevokeInFlight;
                        }
                        return end;
                    }
                }
            }
            match sign_in(api, browser, user).await {
                Ok(tokens) => {
                    families.push(family(&tokens));
                    acked.fetch_add(1, Ordering::SeqCst);
                }
                // A sign-in cut short leaves nothing this worker knows of to check.
                Err(end) => return end,
            }
        }
        for f in families.iter_mut() {
            if f.state != FamilyState::Live {
                continue;
            }
            let body: Value = match api.refresh(&f.refresh).await {
                Ok(r) => {
                    assert_eq!(r.status(), 200, "refresh");
                    match r.json().await {
                        Ok(body) => body,
                        Err(_) => {
                            f.state = FamilyState::RefreshInFlight;
                            return End::InFlight;
                        }
                    }
                }
                Err(e) => {
                    let end = unanswered(&e);
                    if end == End::InFlight {
                        f.state = FamilyState::RefreshInFlight;
                    }
                    return end;
                }
            };
            f.refresh = body["refresh_token"].as_str().unwrap().to_owned();
            let access = body["access_token"].as_str().unwrap().to_owned();
            f.access.push(access.clone());
            acked.fetch_add(1, Ordering::SeqCst);
            match api.userinfo(&access).await {
                Ok(r) => assert_eq!(r.status(), 200, "userinfo"),
                Err(e) => return unanswered(&e),
            }
        }
    }
}

/// A sign-in through the form (or the browser's session) and the code exchange; `Err` says
/// where it was when the server stopped answering.
async fn sign_in(api: &Api, browser: &Browser, user: &str) -> Result<HashMap<String, Value>, End> {
    let (verifier, challenge) = common::pkce();
    let base = &api.base;
    let url = format!(
        "{base}/authorize?response_type=code&client_id=web&redirect_uri={}&scope=openid&code_challenge={challenge}&code_challenge_method=S256",
        common::REDIRECT
    );
    let mut r = browser
        .http
        .get(&url)
        .send()
        .await
        .map_err(|e| unanswered(&e))?;
    if r.status() == 200 {
        let html = r.text().await.map_err(|_| End::InFlight)?;
        let form = [
            ("username", user.to_owned()),
            ("password", common::PASSWORD.to_owned()),
            ("csrf", common::hidden_input(&html, "csrf")),
            ("request", common::hidden_input(&html, "request")),
        ];
        r = browser
            .http
            .post(format!("{base}/login"))
            .form(&form)
            .send()
            .await
            .map_err(|e| unanswered(&e))?;
    }
    let code = common::location_params(&r)["code"].clone();
    let r = api
        .http
        .post(format!("{base}/token"))
        .basic_auth("web", Some(&api.secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", common::REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .map_err(|e| unanswered(&e))?;
    assert_eq!(r.status(), 200, "code exchange");
    r.json().await.map_err(|_| End::InFlight)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_server_killed_under_load_keeps_every_acknowledged_token_and_revocation() {
    const WORKERS: usize = 8;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    let url = sqlite_url(&path);
    let secret = prepare(&url, WORKERS).await;
    let server = start(&url).await;
    let api = Arc::new(Api {
        http: http(),
        base: server.base.clone(),
        secret: secret.clone(),
    });

    // Each worker signs in three times (three families) before the load starts. Half of them
    // then run a fixed number of rounds and stop, so their whole history is acknowledged; the
    // other half refresh, revoke and sign in until the server dies under them.
    let acked = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..WORKERS {
        let (api, acked) = (Arc::clone(&api), Arc::clone(&acked));
        workers.push(tokio::spawn(async move {
            let browser = Browser::default();
            let user = format!("user{w}");
            let mut families = Vec::new();
            for _ in 0..3 {
                let tokens = sign_in_at(&browser, &api.base, "web", &api.secret, &user).await;
                families.push(family(&tokens));
            }
            let rounds = (w % 2 == 0).then_some(25);
            let end = work(&api, &browser, &user, &mut families, rounds, &acked).await;
            (families, end)
        }));
    }
    // Kill once the bounded workers are done and the others have been acknowledged plenty.
    while acked.load(Ordering::SeqCst) < 600 || workers.iter().step_by(2).any(|w| !w.is_finished())
    {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.kill();
    let mut families = Vec::new();
    let mut ends = Vec::new();
    for w in workers {
        let (f, end) = w.await.expect("a worker saw a response other than success");
        families.extend(f);
        ends.push(end);
    }
    // The kill hit the server mid-work: the unbounded workers were all sending, continuously.
    assert_eq!(
        ends.iter().filter(|e| **e == End::Done).count(),
        WORKERS / 2
    );
    assert!(
        ends.contains(&End::InFlight),
        "no request was in flight at the kill: {ends:?}"
    );

    // The kill left committed transactions in the WAL, not yet in the database file.
    let wal = std::fs::metadata(dir.path().join("gatehouse.db-wal")).unwrap();
    assert!(wal.len() > 0, "the kill left a WAL to recover");
    assert_intact(&path);

    let server = start(&url).await;
    let api = Api {
        http: http(),
        base: server.base.clone(),
        secret,
    };
    let count = |state| families.iter().filter(|f| f.state == state).count();
    // Each bounded worker revoked on rounds 5 to 25, and every unbounded one at least once.
    assert!(
        count(FamilyState::Revoked) >= WORKERS / 2 * 5,
        "{families:#?}"
    );
    assert!(count(FamilyState::Live) >= WORKERS / 2, "{families:#?}");
    let mut checked = 0;
    for f in &families {
        match f.state {
            FamilyState::Live => {
                assert!(
                    api.active(&f.refresh).await,
                    "acknowledged refresh token lost"
                );
                for a in &f.access {
                    assert!(api.active(a).await, "acknowledged access token lost");
                }
                let r = api.refresh(&f.refresh).await.unwrap();
                assert_eq!(r.status(), 200, "the last refresh token still refreshes");
            }
            FamilyState::Revoked => {
                assert!(!api.active(&f.refresh).await, "a revocation was lost");
                for a in &f.access {
                    assert!(!api.active(a).await, "a revocation was lost");
                }
                let r = api.refresh(&f.refresh).await.unwrap();
                assert_eq!(r.status(), 400, "a revoked token refreshes nothing");
            }
            // The refresh may have committed; every access token returned before it is valid.
            FamilyState::RefreshInFlight => {
                for a in &f.access {
                    assert!(api.active(a).await, "acknowledged access token lost");
                }
            }
            FamilyState::RevokeInFlight => continue,
        }
        checked += f.access.len();
    }
    assert!(checked >= 600, "checked {checked} acknowledged tokens");
}

/// What a load worker saw: (request, status) for every answer that was not a success.
type Failures = Vec<(String, u16)>;

/// Signs `user{w}` in, then refreshes and reads userinfo until `stop`; returns the failures
/// and how many requests were answered.
async fn steady_load(api: Arc<Api>, w: usize, stop: Arc<AtomicBool>) -> (Failures, usize) {
    let browser = Browser::default();
    let tokens = sign_in_at(&browser, &api.base, "web", &api.secret, &format!("user{w}")).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    let (failures, answered, _) = refresh_until_stopped(api, refresh, stop).await;
    (failures, answered)
}

/// Refreshes `refresh` and reads userinfo with each new access token until `stop`; every
/// request must be answered (a dropped connection fails the test). Returns the failures, how
/// many requests were answered, and the refresh token that is current at the end.
async fn refresh_until_stopped(
    api: Arc<Api>,
    mut refresh: String,
    stop: Arc<AtomicBool>,
) -> (Failures, usize, String) {
    let (mut failures, mut answered) = (Vec::new(), 0);
    while !stop.load(Ordering::SeqCst) {
        let r = api.refresh(&refresh).await.unwrap();
        answered += 1;
        if r.status() != 200 {
            failures.push(("refresh".to_owned(), r.status().as_u16()));
            // The token was not used up: try it again shortly.
            tokio::time::sleep(Duration::from_millis(5)).await;
            continue;
        }
        let body: Value = r.json().await.unwrap();
        refresh = body["refresh_token"].as_str().unwrap().to_owned();
        let r = api
            .userinfo(body["access_token"].as_str().unwrap())
            .await
            .unwrap();
        answered += 1;
        if r.status() != 200 {
            failures.push(("userinfo".to_owned(), r.status().as_u16()));
        }
    }
    (failures, answered, refresh)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_cli_writing_the_same_file_under_load_fails_no_request() {
    const WORKERS: usize = 6;
    let dir = tempfile::tempdir().unwrap();
    let url = sqlite_url(&dir.path().join("gatehouse.db"));
    let secret = prepare(&url, WORKERS).await;
    let server = start(&url).await;
    let api = Arc::new(Api {
        http: http(),
        base: server.base.clone(),
        secret,
    });
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..WORKERS)
        .map(|w| tokio::spawn(steady_load(Arc::clone(&api), w, Arc::clone(&stop))))
        .collect();

    // Meanwhile an operator works on the same file: every command goes through.
    let cli_url = url.clone();
    tokio::task::spawn_blocking(move || {
        let db = cli_url.as_str();
        for i in 0..4 {
            let user = format!("operator{i}");
            ok(&gatehouse(
                db,
                &[
                    "user",
                    "add",
                    "--username",
                    &user,
                    "--email",
                    "o@example.com",
                ],
                Some("a long enough password"),
            ));
            ok(&gatehouse(db, &["user", "disable", &user], None));
            ok(&gatehouse(
                db,
                &[
                    "client",
                    "add",
                    "--client-id",
                    &format!("app{i}"),
                    "--redirect-uri",
                    "https://app.example.com/cb",
                ],
                None,
            ));
            ok(&gatehouse(db, &["user", "logout", &user], None));
        }
        ok(&gatehouse(db, &["keys", "rotate"], None));
    })
    .await
    .unwrap();
    stop.store(true, Ordering::SeqCst);

    let mut answered = 0;
    for w in workers {
        let (failures, n) = w.await.unwrap();
        assert!(failures.is_empty(), "requests failed: {failures:?}");
        answered += n;
    }
    assert!(
        answered >= 100,
        "only {answered} requests ran alongside the CLI"
    );
    // Everything the CLI wrote is there.
    let out = ok(&gatehouse(&url, &["client", "list"], None));
    assert!((0..4).all(|i| out.contains(&format!("app{i}"))), "{out}");
}

/// Whether the environment allows a fault that needs privileges; prints why not otherwise (or
/// fails, under `GATEHOUSE_REQUIRE_FAULTS=1`).
fn allowed(what: &str, outcome: std::io::Result<std::process::Output>) -> bool {
    let why = match outcome {
        Ok(o) if o.status.success() => return true,
        Ok(o) => String::from_utf8_lossy(&o.stderr).trim().to_owned(),
        Err(e) => e.to_string(),
    };
    skip_fault(&format!(
        "cannot {what} ({why}); this test needs root on Linux"
    ));
    false
}

/// A tmpfs of `size`, unmounted when dropped.
struct SmallDisk {
    dir: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        allowed("mount a small tmpfs", mounted).then_some(SmallDisk { dir })
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.dir.path()).status();
    }
}

/// Fills the file system holding `path` with it; returns its size.
fn fill(path: &Path) -> u64 {
    use std::io::Write;
    let mut f = std::fs::File::create(path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    let mut written = 0;
    loop {
        match f.write(&chunk) {
            Ok(0) => break,
            Ok(n) => written += n as u64,
            Err(e) if e.raw_os_error() == Some(28) => break, // ENOSPC
            Err(e) => panic!("filling the disk: {e}"),
        }
    }
    // tmpfs may still take a partial page; fill to the last byte.
    while let Ok(n) = f.write(&chunk[..1]) {
        if n == 0 {
            break;
        }
        written += 1;
    }
    written
}

/// Refreshes until the server refuses one (at most `attempts`); returns the refusal's status
/// and body, and the last refresh token the server handed out.
async fn refresh_until_refused(
    api: &Api,
    mut token: String,
    attempts: usize,
) -> (u16, Value, String) {
    for _ in 0..attempts {
        let r = api.refresh(&token).await.unwrap();
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        if status != 200 {
            return (status, body, token);
        }
        token = body["refresh_token"].as_str().unwrap().to_owned();
    }
    panic!("no refresh was refused in {attempts} attempts");
}

/// Sign-ins that keep refreshing while a storage fault comes and goes.
const FAULT_LOAD: usize = 6;

/// A server on a fresh database at `path`, with `user0` signed in to `web` (its tokens), and
/// `user1`… ready for the load.
async fn signed_in(path: &Path) -> (ServerProcess, Arc<Api>, HashMap<String, Value>) {
    let url = sqlite_url(path);
    let secret = prepare(&url, 1 + FAULT_LOAD).await;
    let server = start(&url).await;
    let api = Arc::new(Api {
        http: http(),
        base: server.base.clone(),
        secret,
    });
    let tokens = sign_in_at(&Browser::default(), &api.base, "web", &api.secret, "user0").await;
    (server, api, tokens)
}

/// While writes cannot be stored, under concurrent load: a refresh is refused with a clear
/// 503, `/readyz` says so, reads still work, the process stays up, and no request of the load
/// gets anything but 200 or 503 (never a 500, never a dropped connection); once `heal` runs,
/// the refused tokens refresh.
async fn writes_fail_cleanly_and_recover(
    server: &mut ServerProcess,
    api: &Arc<Api>,
    tokens: &HashMap<String, Value>,
    cause: impl FnOnce(),
    heal: impl FnOnce(),
) {
    // The load: signed in before the fault, refreshing through it.
    let stop = Arc::new(AtomicBool::new(false));
    let mut load = Vec::new();
    for w in 1..=FAULT_LOAD {
        let user = format!("user{w}");
        let t = sign_in_at(&Browser::default(), &api.base, "web", &api.secret, &user).await;
        let refresh = t["refresh_token"].as_str().unwrap().to_owned();
        load.push(tokio::spawn(refresh_until_stopped(
            Arc::clone(api),
            refresh,
            Arc::clone(&stop),
        )));
    }
    let access = tokens["access_token"].as_str().unwrap();
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    cause();
    let (status, body, unrotated) = refresh_until_refused(api, refresh, 2000).await;
    assert_eq!(status, 503, "{body}");
    assert_eq!(body["error"], "temporarily_unavailable", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("cannot store changes"),
        "{body}"
    );
    // Readiness writes too; under load a write can still find room (in WAL pages a checkpoint
    // freed), so look for the refusal rather than expect every check to fail.
    let mut why = Value::Null;
    for _ in 0..200 {
        let r = api
            .http
            .get(format!("{}/readyz", api.base))
            .send()
            .await
            .unwrap();
        if r.status() == 503 {
            why = r.json().await.unwrap();
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        why["reason"]
            .as_str()
            .is_some_and(|r| r.contains("cannot store changes")),
        "/readyz did not say why it is not ready: {why}"
    );
    // Reading needs no writing.
    assert_eq!(api.userinfo(access).await.unwrap().status(), 200);
    assert!(server.is_running(), "the server crashed");

    heal();
    assert!(api.ready_becomes(200).await, "/readyz did not recover");
    // The refused refresh changed nothing: its token is still the current one.
    let r = api.refresh(&unrotated).await.unwrap();
    assert_eq!(
        r.status(),
        200,
        "the refused token refreshes after recovery"
    );
    stop.store(true, Ordering::SeqCst);
    let mut refused = 0;
    for l in load {
        let (failures, answered, current) = l.await.expect("a load request was not answered");
        assert!(answered > 0);
        for (what, status) in &failures {
            assert_eq!(*status, 503, "{what} answered {status} during the fault");
        }
        refused += failures.len();
        let r = api.refresh(&current).await.unwrap();
        assert_eq!(
            r.status(),
            200,
            "the load's current token refreshes after recovery"
        );
    }
    assert!(refused > 0, "the load never met the fault");
    assert!(server.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_fails_writes_cleanly_and_the_server_recovers_when_space_returns() {
    // Room for the WAL at its bound (16 MiB by default) and the database: the disk must fill
    // when the test fills it, not earlier, while the load refreshes (on a slow machine the WAL
    // can grow for seconds before a checkpoint lets it start over).
    let Some(disk) = SmallDisk::mount("48m") else {
        return;
    };
    let path = disk.path().join("gatehouse.db");
    let (mut server, api, tokens) = signed_in(&path).await;
    let filler = disk.path().join("filler");
    let (fill_at, remove_at) = (filler.clone(), filler.clone());
    writes_fail_cleanly_and_recover(
        &mut server,
        &api,
        &tokens,
        move || {
            fill(&fill_at);
        },
        move || std::fs::remove_file(&remove_at).unwrap(),
    )
    .await;
    drop(server);
    assert_intact(&path);
}

fn chattr(flag: &str, paths: &[PathBuf]) -> std::io::Result<std::process::Output> {
    Command::new("chattr").arg(flag).args(paths).output()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_file_made_read_only_fails_writes_cleanly_and_the_server_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gatehouse.db");
    // Whether this file system and user may set the attribute at all.
    let probe = vec![dir.path().join("probe")];
    std::fs::write(&probe[0], b"").unwrap();
    if !allowed("set the immutable attribute", chattr("+i", &probe)) {
        return;
    }
    assert!(chattr("-i", &probe).unwrap().status.success());
    let (mut server, api, tokens) = signed_in(&path).await;
    // The database and its WAL become immutable: no process, root included, may write them,
    // through the descriptors the server holds open as well.
    let files = vec![path.clone(), dir.path().join("gatehouse.db-wal")];
    // Whatever happens, leave files the temporary directory can delete.
    struct Mutable(Vec<PathBuf>);
    impl Drop for Mutable {
        fn drop(&mut self) {
            let _ = chattr("-i", &self.0);
        }
    }
    let guard = Mutable(files.clone());
    writes_fail_cleanly_and_recover(
        &mut server,
        &api,
        &tokens,
        || assert!(chattr("+i", &files).unwrap().status.success()),
        || assert!(chattr("-i", &files).unwrap().status.success()),
    )
    .await;
    drop(guard);
    drop(server);
    assert_intact(&path);
}
