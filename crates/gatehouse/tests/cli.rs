//! The command-line contract, run as a second process against the same SQLite file while a
//! server is serving it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use common::backend::{Backend, Database};
use common::cli::{Killed, gatehouse, ok, refused};
use common::{
    Browser, TestServer, add_client, add_third_party_client, add_user, sign_in_with, user,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_clients_are_managed_from_the_cli_while_the_server_runs() {
    let server = TestServer::start().await;
    let db = server.db_url();
    let db = db.as_str();

    let out = ok(&gatehouse(
        db,
        &[
            "user",
            "add",
            "--username",
            "alice",
            "--email",
            "alice@example.com",
            "--name",
            "Alice",
        ],
        Some("glacier umbrella quantum tulip\n"),
    ));
    assert!(out.contains("user alice added"), "{out}");
    refused(
        &gatehouse(
            db,
            &[
                "user",
                "add",
                "--username",
                "alice",
                "--email",
                "a@example.com",
            ],
            Some("another password\n"),
        ),
        "already exists",
    );
    refused(
        &gatehouse(
            db,
            &[
                "user",
                "add",
                "--username",
                "bob",
                "--email",
                "bob@example.com",
            ],
            Some("short\n"),
        ),
        "at least 12",
    );
    for (username, password, why) in [
        ("bob", "password1234\n", "too easy to guess"),
        ("bob", "bob bob bob bob\n", "too easy to guess"),
        (
            "Alice",
            "glacier umbrella quantum tulip\n",
            "already exists",
        ),
        (
            "\u{430}lice",
            "glacier umbrella quantum tulip\n",
            "cannot mix scripts",
        ),
        (
            "bo\u{200b}b",
            "glacier umbrella quantum tulip\n",
            "invisible",
        ),
    ] {
        refused(
            &gatehouse(
                db,
                &[
                    "user",
                    "add",
                    "--username",
                    username,
                    "--email",
                    "bob@example.com",
                ],
                Some(password),
            ),
            why,
        );
    }
    refused(
        &gatehouse(
            db,
            &[
                "user",
                "add",
                "--username",
                "bob",
                "--email",
                "not-an-email",
            ],
            Some("glacier umbrella quantum tulip\n"),
        ),
        "not an email",
    );
    refused(
        &gatehouse(
            db,
            &[
                "user",
                "add",
                "--username",
                "bob",
                "--email",
                "bob@example.com",
            ],
            None,
        ),
        "standard input",
    );

    // The server sees the user at once.
    let alice = user(&*server.store, "alice").await;
    assert_eq!(alice.name.as_deref(), Some("Alice"));
    let hash = alice.password_hash.as_deref().expect("a password");
    assert!(!hash.contains("glacier umbrella quantum tulip"));

    let list = ok(&gatehouse(db, &["user", "list"], None));
    let lines: Vec<Vec<&str>> = list
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines[0],
        ["USERNAME", "EMAIL", "VERIFIED", "NAME", "STATE", "ID"],
        "a header: {list}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l[..5] == ["alice", "alice@example.com", "no", "Alice", "active"]),
        "{list}"
    );
    ok(&gatehouse(
        db,
        &["user", "set-password", "alice"],
        Some("a newer glacier umbrella\n"),
    ));
    assert_ne!(
        user(&*server.store, "alice").await.password_hash,
        alice.password_hash
    );
    ok(&gatehouse(db, &["user", "disable", "alice"], None));
    assert!(user(&*server.store, "alice").await.disabled);
    refused(
        &gatehouse(db, &["user", "disable", "nobody"], None),
        "not found",
    );
    // Removed, the account is gone for good; removing it again finds nobody.
    let out = add_and_remove_zoe(db);
    assert!(out.contains("user zoe removed: 0 sessions ended"), "{out}");
    assert!(
        server
            .store
            .user_by_username("zoe")
            .await
            .unwrap()
            .is_none()
    );

    let out = ok(&gatehouse(
        db,
        &[
            "client",
            "add",
            "--client-id",
            "web",
            "--redirect-uri",
            "https://app.example/cb",
            "--redirect-uri",
            "http://localhost:3000/cb",
        ],
        None,
    ));
    let secret = out
        .lines()
        .find_map(|l| l.strip_prefix("client secret (shown once, store it now): "))
        .expect("a printed secret");
    assert_eq!(secret.len(), 43);
    let web = stored(&*server.store, "web").await.unwrap();
    assert!(gatehouse::oidc::tokens::matches(
        secret,
        web.secret_hash.as_deref().unwrap()
    ));
    assert_eq!(web.redirect_uris.len(), 2);

    ok(&gatehouse(
        db,
        &[
            "client",
            "add",
            "--client-id",
            "spa",
            "--public",
            "--redirect-uri",
            "http://127.0.0.1:5173/cb",
            "--scope",
            "openid",
            "--first-party",
            "--require-dpop",
            "--require-confirmed-address",
        ],
        None,
    ));
    let spa = stored(&*server.store, "spa").await.unwrap();
    assert!(spa.is_public() && spa.first_party && spa.scopes == ["openid"]);
    assert!(
        spa.dpop_bound_access_tokens,
        "its tokens must be bound to its key"
    );
    assert!(spa.require_confirmed_address);
    ok(&gatehouse(
        db,
        &["client", "update", "spa", "--require-dpop", "false"],
        None,
    ));
    let spa = stored(&*server.store, "spa").await.unwrap();
    assert!(!spa.dpop_bound_access_tokens);
    assert!(spa.require_confirmed_address, "left as it was");
    ok(&gatehouse(
        db,
        &[
            "client",
            "update",
            "spa",
            "--require-confirmed-address",
            "false",
        ],
        None,
    ));
    let spa = stored(&*server.store, "spa").await.unwrap();
    assert!(!spa.require_confirmed_address);

    // The claims its access tokens carry: chosen, replaced, cleared; a name of the token's
    // own refused with what is wrong.
    let access_claims = |args: &[&str]| {
        let mut all = vec!["client", "update", "spa"];
        all.extend_from_slice(args);
        gatehouse(db, &all, None)
    };
    ok(&access_claims(&[
        "--access-token-claim",
        "email",
        "--access-token-claim",
        "department",
    ]));
    let spa = stored(&*server.store, "spa").await.unwrap();
    assert_eq!(spa.access_token_claims, ["email", "department"]);
    let out = access_claims(&["--access-token-claim", "jti"]);
    refused(&out, "access token claim \"jti\"");
    ok(&access_claims(&["--clear", "access-token-claims"]));
    let spa = stored(&*server.store, "spa").await.unwrap();
    assert!(spa.access_token_claims.is_empty());

    // The APIs its tokens may be for: registered, refused when one cannot be, cleared.
    ok(&access_claims(&[
        "--resource",
        "https://api.example/",
        "--resource",
        "urn:example:billing",
    ]));
    let spa = stored(&*server.store, "spa").await.unwrap();
    assert_eq!(
        spa.resources,
        ["https://api.example/", "urn:example:billing"]
    );
    refused(
        &access_claims(&["--resource", "https://api.example/#x"]),
        "has a fragment",
    );
    ok(&access_claims(&["--clear", "resources"]));
    let spa = stored(&*server.store, "spa").await.unwrap();
    assert!(spa.resources.is_empty());

    // The APIs a client answers for (it introspects the tokens issued for them): not the
    // public spa's; the confidential web's, each checked, cleared.
    refused(
        &access_claims(&["--introspects", "https://api.example/"]),
        "a public client cannot introspect tokens",
    );
    let web_api = |args: &[&str]| {
        let mut all = vec!["client", "update", "web"];
        all.extend_from_slice(args);
        gatehouse(db, &all, None)
    };
    ok(&web_api(&["--introspects", "https://api.example/"]));
    let web = stored(&*server.store, "web").await.unwrap();
    assert_eq!(web.introspects, ["https://api.example/"]);
    refused(
        &web_api(&["--introspects", "api.example"]),
        "is not an absolute URI",
    );
    ok(&web_api(&["--clear", "introspects"]));
    let web = stored(&*server.store, "web").await.unwrap();
    assert!(web.introspects.is_empty());

    // Pairwise subjects: the spa's loopback redirect names no host of its own, so it needs a
    // sector, and is told so; a client on one host takes that host.
    refused(
        &access_claims(&["--subject-type", "pairwise"]),
        "give its sector",
    );
    ok(&access_claims(&[
        "--subject-type",
        "pairwise",
        "--sector",
        "spa.example",
    ]));
    let spa = stored(&*server.store, "spa").await.unwrap();
    assert_eq!(spa.pairwise_sector.as_deref(), Some("spa.example"));
    refused(
        &access_claims(&["--sector", "not a name"]),
        "a sector is 1 to 253",
    );
    ok(&access_claims(&["--subject-type", "public"]));
    assert_eq!(
        server
            .store
            .client("spa")
            .await
            .unwrap()
            .unwrap()
            .pairwise_sector,
        None
    );
    ok(&gatehouse(
        db,
        &[
            "client",
            "add",
            "--client-id",
            "shop",
            "--redirect-uri",
            "https://shop.example/cb",
            "--subject-type",
            "pairwise",
        ],
        None,
    ));
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&gatehouse(db, &["client", "list", "--json"], None))).unwrap();
    let shop = listed
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "shop")
        .unwrap();
    assert_eq!(
        (&shop["subject_type"], &shop["sector_identifier"]),
        (
            &serde_json::json!("pairwise"),
            &serde_json::json!("shop.example")
        )
    );
    // Which sub the shop knows Alice by, and whom that sub names there; a client of public
    // subjects knows her by her id, which names nobody at the shop.
    let subject = |args: &[&str]| {
        let mut all = vec!["client", "subject"];
        all.extend_from_slice(args);
        gatehouse(db, &all, None)
    };
    let alice = server
        .store
        .user_by_username("alice")
        .await
        .unwrap()
        .unwrap();
    let at_shop = ok(&subject(&["shop", "--user", "Alice"])).trim().to_owned();
    assert!(at_shop.len() == 43 && at_shop != alice.id, "{at_shop}");
    assert_eq!(ok(&subject(&["shop", "--sub", &at_shop])).trim(), "alice");
    assert_eq!(ok(&subject(&["spa", "--user", "alice"])).trim(), alice.id);
    refused(&subject(&["shop", "--sub", &alice.id]), "not found");
    // A pairwise sub is base64url, so one in 64 begins with '-': taken as the value, not a flag.
    refused(&subject(&["shop", "--sub", "-iXmadeUp"]), "not found");
    refused(&subject(&["shop", "--user", "nobody"]), "not found");
    refused(&subject(&["nowhere", "--user", "alice"]), "not found");
    refused(&subject(&["shop"]), "--user");

    refused(
        &gatehouse(
            db,
            &[
                "client",
                "add",
                "--client-id",
                "short",
                "--secret-stdin",
                "--redirect-uri",
                "https://a.example/cb",
            ],
            Some("too short\n"),
        ),
        "at least 32",
    );
    ok(&gatehouse(
        db,
        &[
            "client",
            "add",
            "--client-id",
            "ops",
            "--secret-stdin",
            "--redirect-uri",
            "https://a.example/cb",
        ],
        Some("an operator supplied secret of 40 chars!\n"),
    ));
    refused(
        &gatehouse(
            db,
            &[
                "client",
                "add",
                "--client-id",
                "bad",
                "--redirect-uri",
                "http://app.example/cb",
            ],
            None,
        ),
        "only allowed for localhost",
    );
    refused(
        &gatehouse(
            db,
            &[
                "client",
                "add",
                "--client-id",
                "bad",
                "--redirect-uri",
                "https://a.example/cb#x",
            ],
            None,
        ),
        "fragment",
    );
    refused(
        &gatehouse(
            db,
            &[
                "client",
                "add",
                "--client-id",
                "bad",
                "--redirect-uri",
                "https://a.example/cb",
                "--scope",
                "root",
            ],
            None,
        ),
        "unknown scope",
    );
    refused(
        &gatehouse(
            db,
            &[
                "client",
                "add",
                "--client-id",
                "bad",
                "--scope",
                "admin",
                "--redirect-uri",
                "https://a.example/cb",
            ],
            None,
        ),
        "client_credentials",
    );
    refused(
        &gatehouse(
            db,
            &[
                "client",
                "add",
                "--client-id",
                "bad",
                "--public",
                "--grant-type",
                "client_credentials",
            ],
            None,
        ),
        "public client",
    );
    refused(
        &gatehouse(db, &["client", "add", "--client-id", "bad"], None),
        "at least one redirect URI",
    );
    refused(
        &gatehouse(
            db,
            &[
                "client",
                "add",
                "--client-id",
                "bad",
                "--redirect-uri",
                "https://a.example/cb",
                "--grant-type",
                "password",
            ],
            None,
        ),
        "unknown grant type",
    );
    refused(
        &gatehouse(
            db,
            &[
                "client",
                "add",
                "--client-id",
                "web",
                "--redirect-uri",
                "https://a.example/cb",
            ],
            None,
        ),
        "already exists",
    );
    assert!(
        stored(&*server.store, "bad").await.is_none(),
        "nothing half-registered"
    );
    // A service client for the admin API needs no redirect URI.
    let bot = ok(&gatehouse(
        db,
        &[
            "client",
            "add",
            "--client-id",
            "bot",
            "--grant-type",
            "client_credentials",
            "--scope",
            "admin",
        ],
        None,
    ));
    assert!(bot.contains("client secret"), "{bot}");
    let bot = stored(&*server.store, "bot").await.unwrap();
    assert!(bot.redirect_uris.is_empty() && bot.scopes == ["admin"] && !bot.is_public());

    let list = ok(&gatehouse(db, &["client", "list"], None));
    assert!(list.starts_with("CLIENT ID  "), "a header: {list}");
    let kinds: Vec<(&str, &str)> = list
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split_whitespace().collect();
            (cells[0], cells[2])
        })
        .collect();
    for expected in [
        ("web", "confidential"),
        ("spa", "public"),
        ("ops", "confidential"),
        ("bot", "confidential"),
    ] {
        assert!(kinds.contains(&expected), "{expected:?} in {list}");
    }
    let json: serde_json::Value =
        serde_json::from_str(&ok(&gatehouse(db, &["client", "list", "--json"], None))).unwrap();
    let spa = json
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "spa")
        .unwrap();
    assert_eq!(spa["public"], true);
    assert!(spa.get("secret_hash").is_none(), "{spa}");
    ok(&gatehouse(db, &["client", "remove", "ops"], None));
    assert!(stored(&*server.store, "ops").await.is_none());
    refused(
        &gatehouse(db, &["client", "remove", "ops"], None),
        "not found",
    );

    // Keys: a rotation adds a key for each algorithm, or for the one named; the old ones stay
    // published, and keep signing until the new ones start.
    use gatehouse::model::SigningAlg;
    let keys = || {
        let now = gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock);
        let store = server.store.clone();
        async move { store.signing_keys(now).await.unwrap() }
    };
    let count = |keys: &[gatehouse::model::SigningKey], alg: SigningAlg| {
        keys.iter().filter(|k| k.alg == alg).count()
    };
    let before = keys().await;
    assert_eq!(before.len(), 3, "one key per algorithm");
    let out = ok(&gatehouse(db, &["keys", "rotate", "--alg", "ES256"], None));
    assert!(out.contains("new ES256 signing key"), "{out}");
    let after = keys().await;
    assert_eq!(count(&after, SigningAlg::Es256), 2);
    assert_eq!(count(&after, SigningAlg::Rs256), 1, "other algorithms stay");
    assert_eq!(count(&after, SigningAlg::EdDsa), 1);
    let out = ok(&gatehouse(db, &["keys", "rotate"], None));
    assert_eq!(out.lines().count(), 3, "{out}");
    let after = keys().await;
    for (alg, n) in [
        (SigningAlg::Rs256, 2),
        (SigningAlg::Es256, 3),
        (SigningAlg::EdDsa, 2),
    ] {
        assert_eq!(count(&after, alg), n, "{alg}");
        let unretired = after
            .iter()
            .filter(|k| k.alg == alg && k.retired_at.is_none())
            .count();
        assert_eq!(unretired, 1, "{alg}: only the newest is not retired");
    }
    let list = ok(&gatehouse(db, &["keys", "list"], None));
    assert!(list.starts_with("ALG "), "a header: {list}");
    assert_eq!(list.lines().count(), 1 + 7, "{list}");
    refused(
        &gatehouse(db, &["keys", "rotate", "--alg", "HS256"], None),
        "unknown signing algorithm",
    );

    ok(&gatehouse(db, &["migrate"], None));
    let backup = server.db.dir.path().join("copy.db");
    ok(&gatehouse(db, &["backup", backup.to_str().unwrap()], None));
    let copy = gatehouse::store::open(&format!("sqlite://{}", backup.display()))
        .await
        .unwrap();
    assert!(
        copy.client("web").await.unwrap().is_some(),
        "the backup holds the clients"
    );
    copy.close().await.unwrap();
    server.stop().await;
}

/// Adds zoe, removes her account, and finds nobody to remove again: what the removal said.
/// The client `id` as stored now: a running server's `Store::client` may answer with what it
/// read up to a second before the CLI, another process, changed it (`clients.rs`).
async fn stored(store: &dyn gatehouse::store::Store, id: &str) -> Option<gatehouse::model::Client> {
    store.client_as_stored(id).await.unwrap()
}

fn add_and_remove_zoe(db: &str) -> String {
    let zoe = [
        "user",
        "add",
        "--username",
        "zoe",
        "--email",
        "zoe@example.com",
    ];
    ok(&gatehouse(
        db,
        &zoe,
        Some("glacier umbrella quantum tulip\n"),
    ));
    let out = ok(&gatehouse(db, &["user", "remove", "zoe"], None));
    refused(
        &gatehouse(db, &["user", "remove", "zoe"], None),
        "not found",
    );
    out
}

#[test]
fn a_plain_http_issuer_off_this_machine_is_refused_at_start_with_the_way_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("refused.db").display());
    let args = [
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--issuer",
        "http://sso.lan:8081",
    ];
    refused(&gatehouse(&db, &args, None), "--insecure-http-issuer");
}

#[test]
fn an_unsupported_database_url_is_refused_clearly() {
    refused(
        &gatehouse("mysql://localhost/x", &["user", "list"], None),
        "unsupported database URL",
    );
    refused(
        &gatehouse("sqlite://", &["user", "list"], None),
        "unsupported database URL",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_is_logged_out_and_consents_withdrawn_from_the_cli_and_the_audit_log_tells() {
    let server = TestServer::start().await;
    let db = server.db_url();
    let db = db.as_str();
    let store = server.store.as_ref();
    let ada = add_user(store, "ada").await;
    let secret = add_client(store, "web").await;
    add_third_party_client(store, "partner").await;
    store
        .grant_consent(&ada.id, "partner", "openid profile", 1, None)
        .await
        .unwrap();

    // `audit tail --follow` runs alongside and must see what happens next, not what was before.
    store
        .record(
            gatehouse::model::AuditRecord::new(1, gatehouse::model::AuditKind::Imported, "cli")
                .detail("earlier"),
        )
        .await
        .unwrap();
    // Another follows only the tokens issued.
    let follow = |filter: &[&str]| {
        let mut args = vec!["--database-url", db, "audit", "tail", "-n", "0", "--follow"];
        args.extend_from_slice(filter);
        let mut follower = Killed(
            Command::new(env!("CARGO_BIN_EXE_gatehouse"))
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        );
        let followed = BufReader::new(follower.0.stdout.take().unwrap());
        // It says when it has found the end of the log: what is written after that is its to
        // print.
        let mut errors = BufReader::new(follower.0.stderr.take().unwrap());
        let mut said = String::new();
        errors.read_line(&mut said).unwrap();
        assert!(
            said.starts_with("following the audit log after record"),
            "{said}"
        );
        // Keep reading, so the pipe stays open for anything else it says.
        std::thread::spawn(move || for _ in errors.lines() {});
        (follower, followed)
    };
    let (_follower, followed) = follow(&[]);
    let (_tokens_follower, tokens_followed) = follow(&["--kind", "token."]);

    let browser = Browser::default();
    let tokens = sign_in_with(&browser, &server, "web", &secret, "ada").await;
    let access = tokens["access_token"].as_str().unwrap();
    let userinfo = |token: String| {
        let http = browser.http.clone();
        let url = format!("{}/userinfo", server.base);
        async move {
            http.get(url)
                .bearer_auth(token)
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(userinfo(access.to_owned()).await, 200);

    let listed = ok(&gatehouse(db, &["user", "consents", "ada"], None));
    assert!(listed.starts_with("partner\topenid profile\t"), "{listed}");
    // Her one session, from the test's HTTP client: it names no browser.
    let listed = ok(&gatehouse(db, &["user", "sessions", "ada"], None));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].starts_with("SIGNED IN "), "{listed}");
    let cells: Vec<&str> = lines[1].split_whitespace().collect();
    assert!(
        cells[2].ends_with('Z') && cells[2] > cells[0],
        "ends after it began: {listed}"
    );
    assert_eq!(cells[3..], ["no", "-", "127.0.0.1"], "not kept: {listed}");
    let out = ok(&gatehouse(db, &["user", "logout", "ada"], None));
    assert!(
        out.contains("1 sessions ended, 1 token families revoked"),
        "{out}"
    );
    assert_eq!(userinfo(access.to_owned()).await, 401);
    // The browser's session is gone: a silent authorization needs a login.
    let silent = browser
        .http
        .get(format!(
            "{}/authorize?response_type=code&client_id=web&redirect_uri={}&scope=openid&prompt=none",
            server.base,
            common::REDIRECT
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(common::location_params(&silent)["error"], "login_required");

    ok(&gatehouse(
        db,
        &["user", "consents", "ada", "--revoke", "partner"],
        None,
    ));
    assert_eq!(ok(&gatehouse(db, &["user", "consents", "ada"], None)), "");
    refused(
        &gatehouse(
            db,
            &["user", "consents", "ada", "--revoke", "partner"],
            None,
        ),
        "not found",
    );
    refused(
        &gatehouse(db, &["user", "logout", "nobody"], None),
        "not found",
    );
    let none = ok(&gatehouse(db, &["user", "sessions", "ada"], None));
    assert_eq!(none.lines().count(), 1, "the header alone: {none}");
    refused(
        &gatehouse(db, &["user", "sessions", "nobody"], None),
        "not found",
    );

    let tail = ok(&gatehouse(db, &["audit", "tail", "-n", "4"], None));
    let kinds: Vec<&str> = tail
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "login.succeeded",
            "token.issued",
            "admin.user.logged_out",
            "admin.consent.revoked"
        ],
        "{tail}"
    );
    assert!(tail.contains("actor=cli subject=ada"), "{tail}");
    // Chosen by kind (its start, in any case) and subject: the same records, and only those.
    let chosen = ok(&gatehouse(
        db,
        &[
            "audit",
            "tail",
            "-n",
            "2",
            "--kind",
            "ADMIN.",
            "--subject",
            "ada",
        ],
        None,
    ));
    let tail_lines: Vec<&str> = tail.lines().collect();
    assert_eq!(
        chosen.lines().collect::<Vec<_>>(),
        tail_lines[2..],
        "{chosen}"
    );
    let none = ok(&gatehouse(
        db,
        &["audit", "tail", "--actor", "nobody"],
        None,
    ));
    assert!(none.is_empty(), "{none}");

    // The follower printed the same records as they were written.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in followed.lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let line = rx
            .recv_timeout(std::time::Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("the follower printed only {seen:?}"));
        seen.push(line);
    }
    assert_eq!(seen.join("\n"), tail.trim_end());
    // The other printed the token issued, and not the sign-in before it.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let first = tokens_followed.lines().next();
        let _ = tx.send(first);
    });
    let first = rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .expect("the follower of tokens printed nothing")
        .expect("a line")
        .unwrap();
    assert_eq!(first, tail_lines[1]);
}

/// Starts `serve` on `db`: the lines it printed before it listened, and the address it
/// listens on. The server runs until the returned guard is dropped.
fn serve_printing(db: &str) -> (Killed, Vec<String>, String) {
    let mut child = Killed(
        Command::new(env!("CARGO_BIN_EXE_gatehouse"))
            .args(["--database-url", db, "serve", "--listen", "127.0.0.1:0"])
            .env("GATEHOUSE_LOG", "info")
            .env_remove("NO_COLOR")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap(),
    );
    let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
    let mut printed = Vec::new();
    loop {
        let line = lines.next().expect("serve printed its address").unwrap();
        if let Some(rest) = line.strip_prefix("gatehouse listening on http://") {
            let addr = rest.split_whitespace().next().unwrap().to_owned();
            return (child, printed, addr);
        }
        printed.push(line);
    }
}

#[test]
fn serve_starts_on_an_empty_database_and_answers_discovery() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fresh.db").display());
    let (_child, printed, addr) = serve_printing(&db);
    for line in &printed {
        assert!(!line.contains('\u{1b}'), "no colours into a pipe: {line:?}");
    }
    // The hints name the program as started, which works as pasted (no PATH needed).
    let me = format!("{} --database-url {db}", env!("CARGO_BIN_EXE_gatehouse"));
    let pasted = |command: &str| {
        printed
            .iter()
            .any(|l| l.trim() == format!("{me} {command}"))
    };
    assert!(
        printed
            .iter()
            .any(|l| l.contains(&format!("{me} user add --username alice"))),
        "the first start says how to add a user: {printed:#?}"
    );
    assert!(
        printed
            .iter()
            .any(|l| l.contains(&format!("{me} client add --client-id my-app"))),
        "and a client: {printed:#?}"
    );
    assert!(
        pasted("group add admins") && pasted("group add-member admins alice"),
        "and how to make them an administrator: {printed:#?}"
    );
    let settings = printed
        .iter()
        .find(|l| l.contains("configuration: "))
        .cloned();
    let settings = settings.expect("the effective configuration is logged at start");
    for name in [
        "issuer=http://127.0.0.1:",
        "secure cookies=false",
        "refresh retry window=5s",
    ] {
        assert!(settings.contains(name), "{name} in {settings}");
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let doc: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("http://{addr}/.well-known/openid-configuration"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(doc["issuer"], format!("http://{addr}"));
    let jwks: serde_json::Value = rt.block_on(async {
        reqwest::get(format!("http://{addr}/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    let algs: Vec<&str> = jwks["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["alg"].as_str().unwrap())
        .collect();
    assert_eq!(
        algs.len(),
        3,
        "the first start created a signing key for each algorithm: {algs:?}"
    );
    for alg in ["RS256", "ES256", "EdDSA"] {
        assert!(algs.contains(&alg), "{alg} in {algs:?}");
    }
}

#[test]
fn serve_says_what_is_left_to_do_until_someone_administers_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("first-hour.db").display());
    let me = format!("{} --database-url {db}", env!("CARGO_BIN_EXE_gatehouse"));
    let hints = |printed: &[String]| -> Vec<String> {
        printed
            .iter()
            .filter(|l| {
                l.starts_with("gatehouse is empty")
                    || l.starts_with("Nobody may")
                    || l.starts_with("  ")
            })
            .cloned()
            .collect()
    };
    assert!(
        gatehouse(
            &db,
            &[
                "user",
                "add",
                "--username",
                "bob",
                "--email",
                "bob@example.com"
            ],
            Some("glacier umbrella quantum tulip")
        )
        .status
        .success()
    );
    assert!(
        gatehouse(
            &db,
            &[
                "client",
                "add",
                "--client-id",
                "web",
                "--redirect-uri",
                "https://app.example/cb"
            ],
            None
        )
        .status
        .success()
    );
    // A user and a client: what is left is an administrator, named after the first person.
    let (server, printed, _) = serve_printing(&db);
    assert_eq!(
        hints(&printed),
        [
            "Nobody may use the administration pages (/admin) yet: they are for the members of the group \"admins\". Make someone an administrator with, for example:".to_owned(),
            format!("  {me} group add admins"),
            format!("  {me} group add-member admins bob"),
        ]
    );
    drop(server);
    // The group made, its first member is what is left.
    assert!(
        gatehouse(&db, &["group", "add", "admins"], None)
            .status
            .success()
    );
    let (server, printed, _) = serve_printing(&db);
    assert_eq!(
        hints(&printed)[1..],
        [format!("  {me} group add-member admins bob")]
    );
    drop(server);
    // Nothing left: nothing said.
    assert!(
        gatehouse(&db, &["group", "add-member", "admins", "bob"], None)
            .status
            .success()
    );
    let (_server, printed, _) = serve_printing(&db);
    assert_eq!(hints(&printed), Vec::<String>::new(), "{printed:#?}");
}

#[test]
fn serve_prints_no_database_password() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(Database::fresh(Backend::Postgres)) else {
        return;
    };
    // The test server trusts every local connection, so any password connects.
    let mut url = url::Url::parse(&db.url).unwrap();
    url.set_password(Some("s3cret-password")).unwrap();
    let (_server, printed, _) = serve_printing(url.as_str());
    assert!(
        printed.iter().any(|l| l.contains("gatehouse is empty")),
        "the hints were printed: {printed:#?}"
    );
    for line in &printed {
        assert!(!line.contains("s3cret-password"), "{line}");
    }
    assert!(
        printed
            .iter()
            .any(|l| l.contains(":***@") && l.contains("user add")),
        "the commands name the database, its password left out: {printed:#?}"
    );
}

#[test]
fn every_command_works_on_postgresql() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let Some(db) = rt.block_on(Database::fresh(Backend::Postgres)) else {
        return;
    };
    let url = db.url.as_str();
    assert!(ok(&gatehouse(url, &["migrate"], None)).contains("up to date"));
    // Migrating twice is harmless.
    ok(&gatehouse(url, &["migrate"], None));
    ok(&gatehouse(
        url,
        &[
            "user",
            "add",
            "--username",
            "ada",
            "--email",
            "ada@example.com",
        ],
        Some("glacier umbrella quantum tulip\n"),
    ));
    refused(
        &gatehouse(
            url,
            &[
                "user",
                "add",
                "--username",
                "ada",
                "--email",
                "ada@example.com",
            ],
            Some("glacier umbrella quantum tulip\n"),
        ),
        "already exists",
    );
    ok(&gatehouse(
        url,
        &["user", "set-password", "ada"],
        Some("a newer glacier umbrella\n"),
    ));
    ok(&gatehouse(url, &["user", "disable", "ada"], None));
    let users: serde_json::Value =
        serde_json::from_str(&ok(&gatehouse(url, &["user", "list", "--json"], None))).unwrap();
    assert_eq!(users[0]["username"], "ada");
    assert_eq!(users[0]["disabled"], true);
    assert!(users[0].get("password_hash").is_none(), "{users}");
    ok(&gatehouse(url, &["user", "enable", "ada"], None));
    add_and_remove_zoe(url);
    let out = ok(&gatehouse(
        url,
        &[
            "client",
            "add",
            "--client-id",
            "web",
            "--redirect-uri",
            "https://app.example/cb",
        ],
        None,
    ));
    assert!(out.contains("client secret"), "{out}");
    let clients = ok(&gatehouse(url, &["client", "list"], None));
    assert_eq!(
        clients
            .lines()
            .nth(1)
            .unwrap()
            .split_whitespace()
            .collect::<Vec<_>>(),
        [
            "web",
            "web",
            "confidential",
            "no",
            "authorization_code",
            "refresh_token",
            "openid",
            "profile",
            "email",
            "groups",
            "offline_access",
            "https://app.example/cb"
        ],
        "{clients}"
    );
    assert!(ok(&gatehouse(url, &["keys", "rotate"], None)).contains("new RS256 signing key"));
    assert!(ok(&gatehouse(url, &["keys", "list"], None)).contains("EdDSA"));
    assert!(ok(&gatehouse(url, &["user", "logout", "ada"], None)).contains("0 sessions ended"));
    assert_eq!(
        ok(&gatehouse(url, &["user", "unlock", "ada"], None)),
        "ada: no failed attempts to forget\n"
    );
    assert_eq!(ok(&gatehouse(url, &["user", "consents", "ada"], None)), "");
    assert_eq!(
        ok(&gatehouse(url, &["user", "factors", "ada"], None)),
        "password: set\nauthenticator app: none\nrecovery codes left: 0\n"
    );
    assert_eq!(
        ok(&gatehouse(url, &["user", "reset-factors", "ada"], None)),
        "ada: no authenticator app, 0 recovery codes and 0 passkeys removed\n"
    );
    // Ada does without a password; then her passkey is reset, and nothing signs her in.
    rt.block_on(async {
        let store = gatehouse::store::open(url).await.unwrap();
        let ada = user(&*store, "ada").await;
        common::passkey_instead_of_password(&*store, &ada.id, 0).await;
    });
    let factors = ok(&gatehouse(url, &["user", "factors", "ada"], None));
    assert!(
        factors.starts_with("password: none (signs in with a passkey)\n"),
        "{factors}"
    );
    let reset = ok(&gatehouse(url, &["user", "reset-factors", "ada"], None));
    assert!(
        reset.contains(
            "ada has no password, so cannot sign in now: give them one with `user set-password ada`"
        ),
        "{reset}"
    );
    assert!(reset.contains("`user passkey-link ada`"), "{reset}");
    // A passkey link for her, to hand over: only below an issuer passkeys work with, only for
    // an account that is enabled, one a minute.
    let link = |issuer: &str| {
        gatehouse(
            url,
            &["user", "passkey-link", "ada", "--issuer", issuer],
            None,
        )
    };
    refused(&link("http://127.0.0.1:8080"), "domain name");
    ok(&gatehouse(url, &["user", "disable", "ada"], None));
    refused(&link("https://id.example.com"), "ada is disabled");
    ok(&gatehouse(url, &["user", "enable", "ada"], None));
    let made = link("https://id.example.com/");
    let printed = ok(&made);
    let secret = printed
        .trim_end()
        .strip_prefix("https://id.example.com/new-passkey?token=")
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        String::from_utf8_lossy(&made.stderr).contains("within 24 hours"),
        "{made:?}"
    );
    rt.block_on(async {
        use gatehouse::model::{AuditKind, EmailPurpose};
        let store = gatehouse::store::open(url).await.unwrap();
        let hash = gatehouse::oidc::tokens::hash(secret);
        let (token, person) = store
            .email_token(&hash, EmailPurpose::Passkey)
            .await
            .unwrap()
            .expect("kept by its hash");
        assert_eq!(person.username, "ada");
        assert_eq!(token.expires_at - token.created_at, 24 * 3600);
        let made = store.audit_latest(1).await.unwrap().remove(0).record;
        assert_eq!(
            (made.kind, made.actor.as_str(), made.subject.as_deref()),
            (AuditKind::PasskeyLinkMade, "cli", Some("ada"))
        );
    });
    refused(&link("https://id.example.com"), "less than a minute ago");
    // A sign-up link for two people, into a group; listed by its id, never its secret;
    // removed.
    ok(&gatehouse(url, &["group", "add", "staff"], None));
    // Free text may begin with '-': a description, given or changed, and a person's name.
    let describe = ["group", "describe", "staff", "-- staff only --"];
    ok(&gatehouse(url, &describe, None));
    let add = ["group", "add", "night", "--description", "-x: on call"];
    ok(&gatehouse(url, &add, None));
    let groups = ok(&gatehouse(url, &["group", "list"], None));
    assert!(
        groups.contains("-- staff only --") && groups.contains("-x: on call"),
        "{groups}"
    );
    ok(&gatehouse(
        url,
        &["user", "update", "ada", "--name", "-Ada-"],
        None,
    ));
    let users = ok(&gatehouse(url, &["user", "list"], None));
    assert!(users.contains("-Ada-"), "{users}");
    let signup = |args: &[&str]| {
        let mut all = vec!["signup-link"];
        all.extend_from_slice(args);
        gatehouse(url, &all, None)
    };
    let made = signup(&[
        "add",
        "--uses",
        "2",
        "--group",
        "staff",
        "--note",
        "- the team chat",
        "--issuer",
        "https://id.example.com/",
    ]);
    let printed = ok(&made);
    let secret = printed
        .trim_end()
        .strip_prefix("https://id.example.com/signup?token=")
        .unwrap_or_else(|| panic!("{printed}"));
    assert!(
        String::from_utf8_lossy(&made.stderr).contains("lets 2 people make an account"),
        "{made:?}"
    );
    refused(
        &signup(&[
            "add",
            "--uses",
            "1001",
            "--issuer",
            "https://id.example.com",
        ]),
        "1..=1000",
    );
    refused(
        &signup(&[
            "add",
            "--group",
            "nobody",
            "--issuer",
            "https://id.example.com",
        ]),
        "group \"nobody\" not found",
    );
    refused(
        &signup(&[
            "add",
            "--domain",
            "corp.example:25",
            "--issuer",
            "https://id.example.com",
        ]),
        "\"corp.example:25\" is not an address domain",
    );
    let listed = ok(&signup(&["list"]));
    assert!(!listed.contains(secret), "{listed}");
    let row = listed.lines().nth(1).unwrap_or_else(|| panic!("{listed}"));
    assert!(
        row.contains("0 of 2") && row.contains("works") && row.contains("staff"),
        "{listed}"
    );
    assert!(row.contains(" any "), "for any address: {listed}");
    // A note may begin with '-', as free text does; clap would take it for a flag.
    assert!(row.ends_with("- the team chat"), "{listed}");
    let id = row.split_whitespace().next().unwrap();
    rt.block_on(async {
        let store = gatehouse::store::open(url).await.unwrap();
        let hash = gatehouse::oidc::tokens::hash(secret);
        let kept = store
            .signup_link(&hash)
            .await
            .unwrap()
            .expect("kept by its hash");
        assert_eq!((kept.id.as_str(), kept.max_uses), (id, 2));
        assert_eq!(kept.created_by, "cli");
    });
    assert!(ok(&signup(&["remove", id])).contains("makes no more accounts"));
    refused(&signup(&["remove", id]), "not found");
    assert_eq!(
        ok(&signup(&["list"])).lines().count(),
        1,
        "the header alone"
    );
    refused(
        &gatehouse(url, &["user", "factors", "nobody"], None),
        "not found",
    );
    ok(&gatehouse(
        url,
        &["client", "update", "web", "--auth-policy", "two_factor"],
        None,
    ));
    let clients: serde_json::Value =
        serde_json::from_str(&ok(&gatehouse(url, &["client", "list", "--json"], None))).unwrap();
    assert_eq!(clients[0]["auth_policy"], "two_factor");
    refused(
        &gatehouse(
            url,
            &["client", "update", "web", "--auth-policy", "sometimes"],
            None,
        ),
        "unknown authentication policy",
    );
    ok(&gatehouse(url, &["client", "remove", "web"], None));
    refused(
        &gatehouse(url, &["client", "remove", "web"], None),
        "not found",
    );
    refused(
        &gatehouse(url, &["backup", "/tmp/never-written.db"], None),
        "pg_dump",
    );
    let tail = ok(&gatehouse(url, &["audit", "tail", "-n", "100"], None));
    let kinds: Vec<&str> = tail
        .lines()
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "admin.user.created",
            "admin.user.password_set",
            "admin.user.disabled",
            "admin.user.enabled",
            "admin.user.created",
            "admin.user.removed",
            "admin.client.created",
            "admin.key.rotated",
            "admin.key.rotated",
            "admin.key.rotated",
            "admin.user.logged_out",
            "admin.user.factors_reset",
            "account.passkey_added",
            "account.password_removed",
            "admin.user.factors_reset",
            "admin.user.disabled",
            "admin.user.enabled",
            "admin.user.passkey_link_made",
            "admin.group.created",
            "admin.group.updated",
            "admin.group.created",
            "admin.user.profile_updated",
            "admin.signup_link.made",
            "admin.signup_link.removed",
            "admin.client.updated",
            "admin.client.removed",
        ],
        "{tail}"
    );
    refused(
        &gatehouse(
            "postgres://nobody@127.0.0.1:1/none",
            &["user", "list"],
            None,
        ),
        "cannot open the database",
    );
}

/// Grace made her account with a link for corp.example; `user lift-address-rule` lets her sign in
/// with an address anywhere, recorded with the link's domains; run again, there is no rule.
/// `user set-address-rule` gives her one again, recorded with what it replaced.
#[tokio::test]
async fn an_address_rule_is_lifted_from_the_cli() {
    let db = Database::fresh(Backend::Sqlite).await.unwrap();
    let store = gatehouse::store::open(&db.url).await.unwrap();
    let ada = add_user(store.as_ref(), "ada").await;
    let link = ok(&gatehouse(
        &db.url,
        &[
            "signup-link",
            "add",
            "--domain",
            "corp.example",
            "--issuer",
            "https://id.example.com",
        ],
        None,
    ));
    let secret = link.trim_end().split_once("token=").unwrap().1;
    let grace = gatehouse::model::User {
        id: "grace-id".into(),
        username: "grace".into(),
        email: "grace@corp.example".into(),
        ..ada
    };
    let now = gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock);
    use gatehouse::model::{AuditKind, AuditRecord};
    let record = AuditRecord::new(now, AuditKind::SignedUp, "user:grace-id");
    let hash = gatehouse::oidc::tokens::hash(secret);
    let made = store
        .sign_up(&hash, grace, None, now, record)
        .await
        .unwrap();
    assert_eq!(made, gatehouse::model::SignedUp::Done);

    let out = ok(&gatehouse(
        &db.url,
        &["user", "lift-address-rule", "grace"],
        None,
    ));
    assert_eq!(
        out,
        "grace: signs in with an address anywhere now (was: a confirmed address at \
         corp.example)\n"
    );
    assert!(store.address_rule("grace-id").await.unwrap().is_empty());
    let tail = ok(&gatehouse(&db.url, &["audit", "tail", "-n", "1"], None));
    assert!(
        tail.contains("admin.user.address_rule_lifted") && tail.contains("corp.example"),
        "{tail}"
    );
    let out = ok(&gatehouse(
        &db.url,
        &["user", "lift-address-rule", "grace"],
        None,
    ));
    assert_eq!(out, "grace: has no address rule\n");
    refused(
        &gatehouse(&db.url, &["user", "lift-address-rule", "nobody"], None),
        "not found",
    );

    // Her data, as she would download it, for answering her request for it.
    let data = ok(&gatehouse(
        &db.url,
        &[
            "user",
            "data",
            "grace",
            "--issuer",
            "https://id.example.com/",
        ],
        None,
    ));
    let data: serde_json::Value = serde_json::from_str(&data).unwrap();
    assert_eq!(data["account"]["username"], "grace");
    assert_eq!(data["issuer"], "https://id.example.com");
    assert_eq!(
        data["account"]["sign_in_only_with_a_confirmed_address_at"],
        serde_json::json!([])
    );
    refused(
        &gatehouse(
            &db.url,
            &[
                "user",
                "data",
                "nobody",
                "--issuer",
                "https://id.example.com",
            ],
            None,
        ),
        "not found",
    );

    // An administrator gives her a rule again, then another; the same one again changes nothing.
    let set = |domains: &[&str]| {
        let mut args = vec!["user", "set-address-rule", "grace"];
        for d in domains {
            args.extend(["--domain", d]);
        }
        gatehouse(&db.url, &args, None)
    };
    assert_eq!(
        ok(&set(&["Lab.Example"])),
        "grace: signs in only with a confirmed address at lab.example now\n"
    );
    assert_eq!(
        ok(&set(&["corp.example", "lab.example"])),
        "grace: signs in only with a confirmed address at corp.example, lab.example now (was: \
         at lab.example)\n"
    );
    assert_eq!(
        ok(&set(&["lab.example", "corp.example"])),
        "grace: signs in only with a confirmed address at corp.example, lab.example already\n"
    );
    let tail = ok(&gatehouse(&db.url, &["audit", "tail", "-n", "1"], None));
    assert!(
        tail.contains("admin.user.address_rule_set")
            && tail.contains("for addresses at corp.example, lab.example (was: lab.example)"),
        "{tail}"
    );
    refused(&set(&["localhost"]), "not an address domain");
    refused(&set(&[]), "--domain");
    refused(
        &gatehouse(
            &db.url,
            &[
                "user",
                "set-address-rule",
                "nobody",
                "--domain",
                "corp.example",
            ],
            None,
        ),
        "not found",
    );
    assert_eq!(
        store.address_rule("grace-id").await.unwrap(),
        ["corp.example", "lab.example"]
    );
}

/// Ten wrong passwords locked Ada's account; `user unlock` says until when and lets her
/// sign in again, recorded; run again, it has nothing to forget.
#[tokio::test]
async fn a_paused_person_is_let_in_again_from_the_cli() {
    use gatehouse::auth::throttle;
    let db = Database::fresh(Backend::Sqlite).await.unwrap();
    let store = gatehouse::store::open(&db.url).await.unwrap();
    add_user(store.as_ref(), "ada").await;
    let now = gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock);
    let account = throttle::keys("ada", None, throttle::PER_ACCOUNT);
    for i in 0..10 {
        store
            .admit_login_attempt(account.clone(), now - 1000 + i * 100)
            .await
            .unwrap();
    }
    let until = gatehouse::clock::rfc3339(now - 100 + 15 * 60);
    let out = ok(&gatehouse(&db.url, &["user", "unlock", "ada"], None));
    assert_eq!(
        out,
        format!("ada: could not sign in until {until}; can sign in again now\n")
    );
    assert!(
        matches!(
            store.admit_login_attempt(account, now).await.unwrap(),
            throttle::Admission::Admitted(_)
        ),
        "she may try again at once"
    );
    let tail = ok(&gatehouse(&db.url, &["audit", "tail", "-n", "1"], None));
    assert!(
        tail.contains("admin.user.unlocked") && tail.contains(&format!("paused until {until}")),
        "{tail}"
    );
    store.close().await.unwrap();
    refused(
        &gatehouse(&db.url, &["user", "unlock", "nobody"], None),
        "not found",
    );
}

#[tokio::test]
async fn a_profile_and_a_verified_address_are_set_from_the_cli() {
    let db = Database::fresh(Backend::Sqlite).await.unwrap();
    let run = |args: &[&str], stdin: Option<&str>| gatehouse(&db.url, args, stdin);
    let password = Some("glacier umbrella quantum tulip\n");
    // Refused before the password is asked for: nothing is created.
    refused(
        &run(
            &[
                "user",
                "add",
                "--username",
                "ada",
                "--email",
                "ada@example.com",
                "--locale",
                "English!",
            ],
            password,
        ),
        "not a language tag",
    );
    ok(&run(
        &[
            "user",
            "add",
            "--username",
            "ada",
            "--email",
            "ada@example.com",
            "--email-verified",
            "--given-name",
            "Ada",
            "--family-name",
            "Lovelace",
            "--locale",
            "en-GB",
        ],
        password,
    ));
    let store = gatehouse::store::open(&db.url).await.unwrap();
    let ada = user(&*store, "ada").await;
    assert!(ada.email_verified);
    assert_eq!(ada.profile.given_name.as_deref(), Some("Ada"));
    assert_eq!(
        ada.profile.updated_at, None,
        "not changed since it was made"
    );
    store.close().await.unwrap();

    // A new address is unverified unless said otherwise; a cleared field is gone, the others
    // stay.
    let out = ok(&run(
        &[
            "user",
            "update",
            "ada",
            "--email",
            "ada@lovelace.example",
            "--clear",
            "locale",
            "--picture",
            "https://example.com/ada.png",
        ],
        None,
    ));
    assert_eq!(out, "user ada updated (ada@lovelace.example, unverified)\n");
    refused(
        &run(
            &[
                "user",
                "update",
                "ada",
                "--picture",
                "http://example.com/a.png",
            ],
            None,
        ),
        "not an https URL",
    );
    // A refused field refuses the whole update: the new address beside it is not set either.
    refused(
        &run(
            &[
                "user",
                "update",
                "ada",
                "--email",
                "ada@mallory.example",
                "--locale",
                "English!",
            ],
            None,
        ),
        "not a language tag",
    );
    refused(
        &run(&["user", "update", "nobody", "--given-name", "X"], None),
        "not found",
    );
    let out = ok(&run(&["user", "update", "ada", "--email-verified"], None));
    assert_eq!(out, "user ada updated (ada@lovelace.example, verified)\n");
    let store = gatehouse::store::open(&db.url).await.unwrap();
    let ada = user(&*store, "ada").await;
    assert_eq!(
        (
            ada.profile.locale,
            ada.profile.given_name.as_deref(),
            ada.profile.picture.as_deref()
        ),
        (None, Some("Ada"), Some("https://example.com/ada.png"))
    );
    assert!(ada.profile.updated_at.is_some());
    let log = store.audit_latest(10).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.record.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "admin.user.created",
            "admin.user.email_set",
            "admin.user.profile_updated",
            "admin.user.email_set"
        ]
    );
    store.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_signs_with_its_keys_is_registered_and_rolled_over_from_the_cli() {
    let db = Database::fresh(Backend::Sqlite).await.unwrap();
    let run = |args: &[&str]| gatehouse(&db.url, args, None);
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, keys: &[&gatehouse::model::SigningKey], private: bool| {
        let listed: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| {
                let mut jwk: serde_json::Value = serde_json::from_str(&k.public_jwk).unwrap();
                if private {
                    jwk["d"] = serde_json::json!("c2VjcmV0");
                }
                jwk
            })
            .collect();
        let path = dir.path().join(name);
        std::fs::write(&path, serde_json::json!({ "keys": listed }).to_string()).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let key = |alg| gatehouse::oidc::keys::generate(alg, 0).unwrap();
    let (old, new) = (
        key(gatehouse::model::SigningAlg::Es256),
        key(gatehouse::model::SigningAlg::EdDsa),
    );
    let add = |file: &str| {
        run(&[
            "client",
            "add",
            "--client-id",
            "signed",
            "--grant-type",
            "client_credentials",
            "--scope",
            "profile",
            "--jwks",
            file,
            "--require-par",
            "--require-signed-requests",
        ])
    };
    refused(&add(&write("private.json", &[&old], true)), "private");
    refused(&add("no-such-file.json"), "cannot read the keys");
    refused(
        &run(&[
            "client",
            "add",
            "--client-id",
            "unsigned",
            "--redirect-uri",
            "https://unsigned.example/cb",
            "--require-signed-requests",
        ]),
        "only a client with keys signs its requests",
    );
    let out = ok(&add(&write("old.json", &[&old], false)));
    assert!(!out.contains("secret"), "no secret is made: {out}");
    let listed = ok(&run(&["client", "list"]));
    assert!(listed.contains("confidential (keys)"), "{listed}");
    let clients: serde_json::Value =
        serde_json::from_str(&ok(&run(&["client", "list", "--json"]))).unwrap();
    assert_eq!(clients[0]["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(clients[0]["require_pushed_authorization_requests"], true);
    assert_eq!(clients[0]["require_signed_request_object"], true);
    assert_eq!(clients[0]["jwks"]["keys"][0]["kid"], old.kid.as_str());
    refused(
        &run(&["client", "rotate-secret", "signed"]),
        "authenticates with keys",
    );
    let both = write("both.json", &[&old, &new], false);
    ok(&run(&[
        "client",
        "update",
        "signed",
        "--jwks",
        &both,
        "--require-par",
        "false",
        "--require-signed-requests",
        "false",
    ]));
    let clients: serde_json::Value =
        serde_json::from_str(&ok(&run(&["client", "list", "--json"]))).unwrap();
    assert_eq!(clients[0]["jwks"]["keys"][1]["kid"], new.kid.as_str());
    assert_eq!(clients[0]["require_pushed_authorization_requests"], false);
    assert_eq!(clients[0]["require_signed_request_object"], false);

    // Or where it publishes them: an https URL.
    let published = |uri: &str| {
        run(&[
            "client",
            "add",
            "--client-id",
            "published",
            "--grant-type",
            "client_credentials",
            "--scope",
            "profile",
            "--jwks-uri",
            uri,
        ])
    };
    refused(&published("http://keys.example/jwks"), "not an https URL");
    ok(&published("https://keys.example/jwks.json"));
    let clients: serde_json::Value =
        serde_json::from_str(&ok(&run(&["client", "list", "--json"]))).unwrap();
    let published = clients
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["client_id"] == "published")
        .unwrap();
    assert_eq!(published["jwks_uri"], "https://keys.example/jwks.json");
    assert_eq!(published["token_endpoint_auth_method"], "private_key_jwt");
}
