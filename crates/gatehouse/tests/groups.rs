//! Groups: the store's rules on both backends (names unique, renames keep members, a member
//! once, deletes take the memberships), under bursts of parallel requests, and from the
//! command line; and who may use which client: refused at sign-in, at code redemption and at
//! refresh for anyone outside the client's groups.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;

use axum::http::{StatusCode, header};
use common::backend::Database;
use common::cli::{gatehouse, ok, refused};
use common::oneshot::*;
use common::{PASSWORD, REDIRECT, add_user, user};
use gatehouse::model::{Group, GroupChange};
use gatehouse::oidc::tokens;
use gatehouse::store::{self, Store, StoreError};

const NOW: i64 = 1_800_000_000;

fn group(name: &str) -> Group {
    Group {
        id: tokens::new_id(),
        name: name.into(),
        description: None,
        created_at: NOW,
        auth_policy: Default::default(),
    }
}

fn names(groups: &[Group]) -> Vec<&str> {
    groups.iter().map(|g| g.name.as_str()).collect()
}

async fn open(db: &Database) -> Arc<dyn Store> {
    store::open(&db.url).await.unwrap()
}

async fn groups_are_named_once_and_renames_keep_their_members(db: Database) {
    let s = open(&db).await;
    let ada = add_user(s.as_ref(), "ada").await;
    s.create_group(group("admins"), None).await.unwrap();
    s.create_group(group("staff"), None).await.unwrap();
    assert!(matches!(
        s.create_group(group("admins"), None).await,
        Err(StoreError::Conflict(_))
    ));
    assert!(s.add_member("admins", &ada.id, NOW, None).await.unwrap());

    let renamed = s
        .update_group(
            "admins",
            GroupChange {
                name: Some("operators".into()),
                description: Some(Some("Run the servers".into())),
                auth_policy: Some(gatehouse::model::AuthPolicy::TwoFactor),
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(renamed.description.as_deref(), Some("Run the servers"));
    // The policy is stored with the group, and read back with the person's groups.
    assert_eq!(
        s.user_groups(&ada.id).await.unwrap()[0].auth_policy,
        gatehouse::model::AuthPolicy::TwoFactor
    );
    assert!(s.group("admins").await.unwrap().is_none());
    assert_eq!(
        names(&s.user_groups(&ada.id).await.unwrap()),
        ["operators"],
        "the member stays through a rename"
    );
    // A rename onto another group's name is refused and changes nothing.
    let onto = GroupChange {
        name: Some("staff".into()),
        ..GroupChange::default()
    };
    assert!(matches!(
        s.update_group("operators", onto, None).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(
        names(&s.list_groups().await.unwrap()),
        ["operators", "staff"]
    );
    // Only the description: the name stays; `Some(None)` removes it.
    let cleared = s
        .update_group(
            "operators",
            GroupChange {
                description: Some(None),
                ..GroupChange::default()
            },
            None,
        )
        .await
        .unwrap();
    assert_eq!(
        (cleared.name.as_str(), cleared.description),
        ("operators", None)
    );
    assert!(matches!(
        s.update_group("nothing", GroupChange::default(), None)
            .await,
        Err(StoreError::NotFound(_))
    ));

    s.delete_group("operators", None).await.unwrap();
    assert!(
        s.user_groups(&ada.id).await.unwrap().is_empty(),
        "memberships go with it"
    );
    assert!(matches!(
        s.delete_group("operators", None).await,
        Err(StoreError::NotFound(_))
    ));
}

async fn members_are_added_once_and_removed(db: Database) {
    let s = open(&db).await;
    let ada = add_user(s.as_ref(), "ada").await;
    let bob = add_user(s.as_ref(), "bob").await;
    s.create_group(group("staff"), None).await.unwrap();
    assert!(s.add_member("staff", &bob.id, NOW, None).await.unwrap());
    assert!(s.add_member("staff", &ada.id, NOW, None).await.unwrap());
    assert!(
        !s.add_member("staff", &ada.id, NOW, None).await.unwrap(),
        "a member once"
    );
    let members = s.members("staff", None, usize::MAX).await.unwrap().unwrap();
    let usernames: Vec<&str> = members.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(usernames, ["ada", "bob"], "by username");
    assert!(matches!(
        s.add_member("nothing", &ada.id, NOW, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.add_member("staff", "no-such-user-id", NOW, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(
        s.members("nothing", None, usize::MAX)
            .await
            .unwrap()
            .is_none()
    );

    assert!(s.remove_member("staff", &ada.id, None).await.unwrap());
    assert!(
        !s.remove_member("staff", &ada.id, None).await.unwrap(),
        "not a member any more"
    );
    assert!(matches!(
        s.remove_member("nothing", &ada.id, None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(s.user_groups(&ada.id).await.unwrap().is_empty());
    assert_eq!(names(&s.user_groups(&bob.id).await.unwrap()), ["staff"]);
}

async fn parallel_changes_neither_double_nor_lose_a_membership(db: Database) {
    let s = open(&db).await;
    let ada = add_user(s.as_ref(), "ada").await;
    let mut others = Vec::new();
    for i in 0..40 {
        others.push(add_user(s.as_ref(), &format!("user{i}")).await);
    }
    s.create_group(group("staff"), None).await.unwrap();

    // 40 requests add the same person at once: exactly one of them did it.
    let same: Vec<_> = (0..40)
        .map(|_| {
            let (s, id) = (Arc::clone(&s), ada.id.clone());
            tokio::spawn(async move { s.add_member("staff", &id, NOW, None).await.unwrap() })
        })
        .collect();
    let mut added = 0;
    for t in same {
        added += usize::from(t.await.unwrap());
    }
    assert_eq!(added, 1);

    // 40 different people at once: every one is a member, once.
    let many: Vec<_> = others
        .iter()
        .map(|u| {
            let (s, id) = (Arc::clone(&s), u.id.clone());
            tokio::spawn(async move { s.add_member("staff", &id, NOW, None).await.unwrap() })
        })
        .collect();
    for t in many {
        assert!(t.await.unwrap());
    }
    assert_eq!(
        s.members("staff", None, usize::MAX)
            .await
            .unwrap()
            .unwrap()
            .len(),
        41
    );

    // A delete racing with additions: afterwards no membership is left without its group.
    s.create_group(group("short-lived"), None).await.unwrap();
    let adds: Vec<_> = others
        .iter()
        .map(|u| {
            let (s, id) = (Arc::clone(&s), u.id.clone());
            tokio::spawn(async move { s.add_member("short-lived", &id, NOW, None).await })
        })
        .collect();
    s.delete_group("short-lived", None).await.unwrap();
    for t in adds {
        match t.await.unwrap() {
            Ok(_) | Err(StoreError::NotFound(_)) => {}
            Err(e) => panic!("{e}"),
        }
    }
    for u in &others {
        assert_eq!(names(&s.user_groups(&u.id).await.unwrap()), ["staff"]);
    }
}

/// `web` (the fixture's first-party client) for members of `staff` only; ada is not one yet.
async fn restricted(db: Database) -> Fixture {
    let f = fixture_on(db).await;
    let s = f.state.store.as_ref();
    s.create_group(group("staff"), None).await.unwrap();
    s.set_client_access("web", vec!["staff".into()], None)
        .await
        .unwrap();
    f
}

async fn ada_id(f: &Fixture) -> String {
    user(&*f.state.store, "ada").await.id
}

async fn a_person_outside_the_clients_groups_is_refused_at_sign_in(db: Database) {
    let f = restricted(db).await;
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let session = cookies(&r);
    let html = body_text(r).await;
    assert!(
        html.replace("&#39;", "'")
            .contains("You don't have access to web"),
        "{html}"
    );
    assert!(html.contains("Ask your administrator"), "{html}");
    // The way back tells the application what happened, with its state and the issuer.
    let back = html
        .split("href=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap()
        .replace("&amp;", "&");
    assert!(back.starts_with(REDIRECT), "{back}");
    let params: std::collections::HashMap<String, String> = url::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect();
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st");
    assert!(!params.contains_key("code"));

    // Signed in already, with prompt=none: straight back to the application with the error.
    let silent = send(
        &f,
        axum::http::Request::get(authorize_uri("web", "&prompt=none"))
            .header(header::COOKIE, &session)
            // From this address, which the audit record names.
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [192, 0, 2, 7],
                40000,
            ))))
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(location(&silent)["error"], "access_denied");

    // A member gets in, with the same session.
    let ada = ada_id(&f).await;
    f.state
        .store
        .add_member("staff", &ada, T0, None)
        .await
        .unwrap();
    let again = send(
        &f,
        axum::http::Request::get(authorize_uri("web", ""))
            .header(header::COOKIE, &session)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    assert!(location(&again).contains_key("code"));
    let log = f.state.store.audit_latest(20).await.unwrap();
    assert!(
        log.iter().any(|e| e.record.kind.as_str() == "access.denied"
            && e.record.subject.as_deref() == Some("ada")),
        "the refusal is in the audit log"
    );
    assert!(
        log.iter().any(|e| e.record.kind.as_str() == "access.denied"
            && e.record.ip.as_deref() == Some("192.0.2.7")),
        "with the address it came from"
    );
}

async fn taking_someone_out_of_the_group_stops_their_code_and_refreshes(db: Database) {
    let f = restricted(db).await;
    let ada = ada_id(&f).await;
    let s = f.state.store.as_ref();
    s.add_member("staff", &ada, T0, None).await.unwrap();
    let (_, refresh, _) = tokens_for_ada(&f).await;
    let code = code(&f, "web").await;

    // Out of the group: the code issued before no longer redeems, the refresh token no longer
    // refreshes.
    assert!(s.remove_member("staff", &ada, None).await.unwrap());
    let r = exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(json(r).await["error"], "invalid_grant");
    let refresh_with = |token: String| {
        let f = &f;
        async move {
            post_as(
                f,
                "/token",
                "web",
                &f.secret,
                &[("grant_type", "refresh_token"), ("refresh_token", &token)],
            )
            .await
        }
    };
    let r = refresh_with(refresh.clone()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let e = json(r).await;
    assert_eq!(e["error"], "invalid_grant");
    assert!(
        e["error_description"]
            .as_str()
            .unwrap()
            .contains("may not use this application")
    );
    // Both refusals are the application's doing, about Ada: among the records about her.
    assert_eq!(
        actors_about(&f, "ada", gatehouse::model::AuditKind::AccessDenied).await,
        ["client:web", "client:web"]
    );

    // Back in the group: the same refresh token works (a refusal changed nothing).
    s.add_member("staff", &ada, T0, None).await.unwrap();
    let r = refresh_with(refresh).await;
    assert_eq!(r.status(), StatusCode::OK);
    // Opened to everyone again: no group needed.
    s.remove_member("staff", &ada, None).await.unwrap();
    s.set_client_access("web", vec![], None).await.unwrap();
    let next = json(r).await["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh_with(next).await.status(), StatusCode::OK);
}

async fn a_group_that_guards_a_client_cannot_be_deleted(db: Database) {
    let f = restricted(db).await;
    let s = f.state.store.as_ref();
    match s.delete_group("staff", None).await {
        Err(StoreError::InUse(why)) => assert!(why.contains("web"), "{why}"),
        other => panic!("{other:?}"),
    }
    assert!(
        s.group("staff").await.unwrap().is_some(),
        "nothing was deleted"
    );
    assert_eq!(names(&s.client_access("web").await.unwrap()), ["staff"]);
    // Unknown client or group: refused, and the access stays as it was.
    assert!(matches!(
        s.set_client_access("web", vec!["staff".into(), "nothing".into()], None)
            .await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.set_client_access("nothing", vec![], None).await,
        Err(StoreError::NotFound(_))
    ));
    assert!(matches!(
        s.client_access("nothing").await,
        Err(StoreError::NotFound(_))
    ));
    assert_eq!(names(&s.client_access("web").await.unwrap()), ["staff"]);
    // Taken off the client first, it can go.
    s.set_client_access("web", vec![], None).await.unwrap();
    s.delete_group("staff", None).await.unwrap();
}

on_both_backends!((flavor = "multi_thread", worker_threads = 4);
    a_person_outside_the_clients_groups_is_refused_at_sign_in,
    taking_someone_out_of_the_group_stops_their_code_and_refreshes,
    a_group_that_guards_a_client_cannot_be_deleted,
    groups_are_named_once_and_renames_keep_their_members,
    members_are_added_once_and_removed,
    parallel_changes_neither_double_nor_lose_a_membership,
);

#[tokio::test]
async fn groups_are_managed_from_the_command_line() {
    let db = Database::fresh(common::backend::Backend::Sqlite)
        .await
        .unwrap();
    let s = open(&db).await;
    add_user(s.as_ref(), "ada").await;
    add_user(s.as_ref(), "bob").await;
    s.close().await.unwrap();
    let run = |args: &[&str]| gatehouse(&db.url, args, None);

    ok(&run(&[
        "group",
        "add",
        "grafana-admins",
        "--description",
        "Admins in Grafana",
    ]));
    refused(&run(&["group", "add", "grafana-admins"]), "already exists");
    refused(
        &run(&["group", "add", "Grafana Admins"]),
        "lower-case letters",
    );
    let out = ok(&run(&[
        "group",
        "add-member",
        "grafana-admins",
        "ada",
        "bob",
    ]));
    assert_eq!(
        out,
        "ada added to grafana-admins\nbob added to grafana-admins\n"
    );
    let out = ok(&run(&["group", "add-member", "grafana-admins", "ada"]));
    assert_eq!(out, "ada was a member of grafana-admins already\n");
    refused(
        &run(&["group", "add-member", "grafana-admins", "carol"]),
        "not found",
    );
    refused(
        &run(&["group", "add-member", "nothing", "ada"]),
        "not found",
    );

    ok(&run(&[
        "group",
        "rename",
        "grafana-admins",
        "grafana-editors",
    ]));
    let out = ok(&run(&["group", "list"]));
    assert_eq!(
        out,
        "NAME             SIGN-IN   DESCRIPTION\ngrafana-editors  password  Admins in Grafana\n"
    );
    ok(&run(&["group", "describe", "grafana-editors"]));
    let out = ok(&run(&["group", "list"]));
    assert_eq!(
        out, "NAME             SIGN-IN   DESCRIPTION\ngrafana-editors  password\n",
        "the description is gone"
    );
    // What its members must prove to sign in.
    assert_eq!(
        ok(&run(&["group", "policy", "grafana-editors", "two_factor"])),
        "group grafana-editors: sign-ins of its members need two_factor\n"
    );
    refused(
        &run(&["group", "policy", "grafana-editors", "retina_scan"]),
        "unknown authentication policy",
    );
    let out = ok(&run(&["group", "list"]));
    assert_eq!(
        out,
        "NAME             SIGN-IN     DESCRIPTION\ngrafana-editors  two_factor\n"
    );
    assert_eq!(
        ok(&run(&["group", "members", "grafana-editors"])),
        "ada\nbob\n"
    );
    assert_eq!(ok(&run(&["user", "groups", "ada"])), "grafana-editors\n");

    // Custom claims: a value is JSON when it is JSON, text otherwise; --unset removes.
    let claims = |out: String| serde_json::from_str::<serde_json::Value>(&out).unwrap();
    let out = ok(&run(&[
        "user",
        "claims",
        "ada",
        "--set",
        "department=ops",
        "--set",
        "level=3",
        "--set",
        r#"roles=["editor"]"#,
    ]));
    assert_eq!(
        claims(out),
        serde_json::json!({"department": "ops", "level": 3, "roles": ["editor"]})
    );
    let out = ok(&run(&["user", "claims", "ada", "--unset", "roles"]));
    assert_eq!(
        claims(out),
        serde_json::json!({"department": "ops", "level": 3})
    );
    let out = ok(&run(&["user", "claims", "ada"]));
    assert_eq!(
        claims(out),
        serde_json::json!({"department": "ops", "level": 3})
    );
    refused(
        &run(&["user", "claims", "ada", "--set", "email=x@example.com"]),
        "standard claim",
    );
    refused(
        &run(&["user", "claims", "ada", "--set", "gone=null"]),
        "--unset gone",
    );
    refused(
        &run(&["user", "claims", "carol", "--set", "a=1"]),
        "not found",
    );
    let out = ok(&run(&[
        "group",
        "claims",
        "grafana-editors",
        "--set",
        "tier=gold",
    ]));
    assert_eq!(claims(out), serde_json::json!({"tier": "gold"}));
    refused(&run(&["group", "claims", "nothing"]), "not found");

    // Only the group's members may use a client, until it is opened again.
    ok(&gatehouse(
        &db.url,
        &[
            "client",
            "add",
            "--client-id",
            "grafana",
            "--redirect-uri",
            REDIRECT,
        ],
        None,
    ));
    assert_eq!(
        ok(&run(&["client", "access", "grafana"])),
        "every user may use grafana\n"
    );
    let out = ok(&run(&[
        "client",
        "access",
        "grafana",
        "--group",
        "grafana-editors",
    ]));
    assert_eq!(out, "only members of grafana-editors may use grafana\n");
    refused(
        &run(&["client", "access", "grafana", "--group", "nothing"]),
        "not found",
    );
    refused(
        &run(&["group", "remove", "grafana-editors"]),
        "decides who may use grafana",
    );
    assert_eq!(
        ok(&run(&["client", "access", "grafana", "--everyone"])),
        "every user may use grafana\n"
    );

    let out = ok(&run(&["group", "remove-member", "grafana-editors", "ada"]));
    assert_eq!(out, "ada removed from grafana-editors\n");
    assert_eq!(ok(&run(&["user", "groups", "ada"])), "");
    ok(&run(&["group", "remove", "grafana-editors"]));
    refused(&run(&["group", "members", "grafana-editors"]), "not found");
    assert_eq!(ok(&run(&["user", "groups", "bob"])), "");

    let log = ok(&run(&["audit", "tail", "-n", "20"]));
    for kind in [
        "admin.group.created",
        "admin.group.member_added",
        "admin.group.updated",
        "admin.group.member_removed",
        "admin.group.deleted",
    ] {
        assert!(log.contains(kind), "{kind} in {log}");
    }
}
