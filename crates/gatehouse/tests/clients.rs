//! Clients as administrators manage them: a change keeps the client's tokens and consents, a
//! rotated secret and the one before both work during the overlap and only then, and people
//! see the client's display name.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::http::StatusCode;
use common::REDIRECT;
use common::backend::{Backend, Database};
use common::cli::{gatehouse, ok, refused};
use common::oneshot::*;
use gatehouse::admin::{Admin, ClientPatch};

fn admin(f: &Fixture) -> Admin<'_> {
    Admin::new(f.state.store.as_ref(), "cli", None, T0)
}

async fn refresh(f: &Fixture, secret: &str, token: &str) -> axum::response::Response {
    post_as(
        f,
        "/token",
        "web",
        secret,
        &[("grant_type", "refresh_token"), ("refresh_token", token)],
    )
    .await
}

async fn a_changed_client_keeps_its_tokens_and_says_its_name(db: Database) {
    let f = fixture_on(db).await;
    let (_, refresh_token, _) = tokens_for_ada(&f).await;
    let patch = ClientPatch {
        redirect_uris: Some(vec![REDIRECT.into(), "https://web.example/callback".into()]),
        display_name: Some(Some("Team Wiki".into())),
        home_uri: Some(Some("https://web.example/".into())),
        ..ClientPatch::default()
    };
    let client = admin(&f).update_client("web", patch).await.unwrap();
    assert_eq!(client.display_name(), "Team Wiki");
    assert_eq!(client.redirect_uris.len(), 2);
    // The refresh token issued before the change still refreshes, with the same secret.
    let r = refresh(&f, &f.secret, &refresh_token).await;
    assert_eq!(r.status(), StatusCode::OK);
    // People see the display name, not the id.
    let page = body_text(send(&f, get(&authorize_uri("web", ""))).await).await;
    assert!(page.contains("Team Wiki"), "{page}");

    // A change that does not hold together changes nothing.
    for patch in [
        ClientPatch {
            redirect_uris: Some(vec![]),
            ..ClientPatch::default()
        },
        ClientPatch {
            redirect_uris: Some(vec!["https://web.example/cb#fragment".into()]),
            ..ClientPatch::default()
        },
        ClientPatch {
            scopes: Some(vec!["root".into()]),
            ..ClientPatch::default()
        },
        ClientPatch {
            logo_uri: Some(Some("javascript:alert(1)".into())),
            ..ClientPatch::default()
        },
        ClientPatch {
            display_name: Some(Some("two\nlines".into())),
            ..ClientPatch::default()
        },
        ClientPatch {
            // Neither a claim the scopes release nor one an administrator could give.
            id_token_claims: Some(Some(vec!["sub".into()])),
            ..ClientPatch::default()
        },
        ClientPatch {
            id_token_claims: Some(Some(vec!["password hash".into()])),
            ..ClientPatch::default()
        },
        // An access token's own claims are not the user's to give.
        ClientPatch {
            access_token_claims: Some(vec!["email".into(), "client_id".into()]),
            ..ClientPatch::default()
        },
        ClientPatch {
            access_token_claims: Some(vec!["active".into()]),
            ..ClientPatch::default()
        },
        // Introspection's own member (RFC 7662 §2.2): a JWT access token would otherwise say
        // another `username` than introspection does.
        ClientPatch {
            access_token_claims: Some(vec!["username".into()]),
            ..ClientPatch::default()
        },
        ClientPatch {
            access_token_claims: Some(vec!["x".repeat(65)]),
            ..ClientPatch::default()
        },
        // A list every token request would carry along: bounded.
        ClientPatch {
            access_token_claims: Some((0..10_000).map(|i| format!("c{i}")).collect()),
            ..ClientPatch::default()
        },
        ClientPatch {
            id_token_claims: Some(Some((0..65).map(|i| format!("c{i}")).collect())),
            ..ClientPatch::default()
        },
    ] {
        assert!(
            admin(&f).update_client("web", patch.clone()).await.is_err(),
            "{patch:?}"
        );
    }
    let kept = f.state.store.client("web").await.unwrap().unwrap();
    assert_eq!(kept, client, "nothing changed");
    assert!(
        admin(&f)
            .update_client("nothing", ClientPatch::default())
            .await
            .is_err()
    );
}

async fn both_secrets_work_during_the_overlap_and_only_the_new_one_after(db: Database) {
    let f = fixture_on(db).await;
    let (_, first, _) = tokens_for_ada(&f).await;
    let (new, until) = admin(&f).rotate_client_secret("web", 60).await.unwrap();
    assert_eq!(until, T0 + 60);
    let r = refresh(&f, &f.secret, &first).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "the old secret during the overlap"
    );
    let second = json(r).await["refresh_token"].as_str().unwrap().to_owned();
    let r = refresh(&f, &new, &second).await;
    assert_eq!(r.status(), StatusCode::OK, "the new one");
    let third = json(r).await["refresh_token"].as_str().unwrap().to_owned();

    f.clock.advance(60);
    let r = refresh(&f, &f.secret, &third).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the old secret after the overlap"
    );
    assert_eq!(json(r).await["error"], "invalid_client");
    assert_eq!(refresh(&f, &new, &third).await.status(), StatusCode::OK);

    // After a leak: no overlap, the old secret stops at once.
    let (newest, _) = admin(&f).rotate_client_secret("web", 0).await.unwrap();
    let code = code(&f, "web").await;
    let r = post_as(
        &f,
        "/token",
        "web",
        &new,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", CHALLENGE_VERIFIER),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(!newest.is_empty());
    // A public client has no secret to rotate; an overlap over a week is refused.
    assert!(admin(&f).rotate_client_secret("spa", 60).await.is_err());
    assert!(
        admin(&f)
            .rotate_client_secret("web", 8 * 24 * 3600)
            .await
            .is_err()
    );
}

on_both_backends!(();
    a_changed_client_keeps_its_tokens_and_says_its_name,
    both_secrets_work_during_the_overlap_and_only_the_new_one_after,
);

#[tokio::test]
async fn clients_are_changed_and_their_secrets_rotated_from_the_cli() {
    let db = Database::fresh(Backend::Sqlite).await.unwrap();
    let run = |args: &[&str]| gatehouse(&db.url, args, None);
    ok(&run(&[
        "client",
        "add",
        "--client-id",
        "wiki",
        "--redirect-uri",
        REDIRECT,
        "--display-name",
        "Wiki",
    ]));
    let out = ok(&run(&[
        "client",
        "update",
        "wiki",
        "--display-name",
        "Team Wiki",
        "--first-party",
        "true",
    ]));
    assert_eq!(out, "client wiki updated (Team Wiki)\n");
    let out = ok(&run(&[
        "client",
        "update",
        "wiki",
        "--clear",
        "display-name",
    ]));
    assert_eq!(
        out, "client wiki updated (wiki)\n",
        "without a display name, the id"
    );
    refused(
        &run(&[
            "client",
            "update",
            "wiki",
            "--home-uri",
            "ftp://example.com",
        ]),
        "not an https URL",
    );
    refused(
        &run(&["client", "update", "nothing", "--first-party", "true"]),
        "not found",
    );
    let out = ok(&run(&[
        "client",
        "rotate-secret",
        "wiki",
        "--overlap",
        "120",
    ]));
    assert!(
        out.starts_with("new client secret (shown once, store it now): "),
        "{out}"
    );
    assert!(
        out.contains("the previous secret keeps working until"),
        "{out}"
    );
    let log = ok(&run(&["audit", "tail"]));
    for kind in ["admin.client.updated", "admin.client.secret_rotated"] {
        assert!(log.contains(kind), "{kind}: {log}");
    }
}

/// A running server keeps the clients it authenticates between requests; on SQLite it cannot
/// hear of another process's change, so it keeps each for a second at most: a secret the CLI
/// rotates after a leak, or a client it removes, stops working within moments, not when the
/// server restarts. (A change made through the server itself is used at once: above.) A change
/// made through the server is made from the client as stored, never from the one kept.
#[tokio::test]
async fn a_client_the_cli_changes_beside_a_running_server_is_used_within_moments() {
    let server = common::TestServer::start().await;
    let first = common::add_client(server.store.as_ref(), "web").await;
    let status = |secret: String| {
        let base = server.base.clone();
        async move { common::secret_status(&base, "web", &secret).await }
    };
    // Until the server answers `expected` to `secret`, for at most five seconds.
    let until = async |secret: &str, expected: u16| {
        let mut got = 0;
        for _ in 0..50 {
            got = status(secret.to_owned()).await;
            if got == expected {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        assert_eq!(got, expected, "{secret}");
    };
    assert_eq!(status(first.clone()).await, 200, "kept from here on");

    let db = server.db_url();
    let out = ok(&gatehouse(
        &db,
        &["client", "rotate-secret", "web", "--overlap", "0"],
        None,
    ));
    let second = out
        .strip_prefix("new client secret (shown once, store it now): ")
        .and_then(|rest| rest.lines().next())
        .unwrap_or_else(|| panic!("{out}"))
        .to_owned();
    until(&first, 401).await;
    let elsewhere = gatehouse::store::open(&db).await.unwrap();
    assert_eq!(status(second.clone()).await, 200, "kept from here on");

    // Another writer of the file rotates it again, and an administrator renames it through the
    // server within the second (a second store on the file, as quick as the CLI is slow to
    // start): the rename is made from the client as stored, not from the one kept, which
    // would write the leaked secret back.
    let (third, _) = Admin::new(elsewhere.as_ref(), "cli", None, 0)
        .rotate_client_secret("web", 0)
        .await
        .unwrap();
    let patch = ClientPatch {
        display_name: Some(Some("Web".into())),
        ..ClientPatch::default()
    };
    Admin::new(server.store.as_ref(), "admin:root", None, 0)
        .update_client("web", patch)
        .await
        .unwrap();
    assert_eq!(status(second.clone()).await, 401, "at once: changed here");
    assert_eq!(status(third.clone()).await, 200);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert_eq!(status(second.clone()).await, 401, "not written back");
    assert_eq!(status(third.clone()).await, 200);

    ok(&gatehouse(&db, &["client", "remove", "web"], None));
    until(&third, 401).await;
    server.stop().await;
}
