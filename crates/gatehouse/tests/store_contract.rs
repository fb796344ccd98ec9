//! The store contract: what every backend must do, written once against `dyn Store`.
//!
//! Each test runs on SQLite and on PostgreSQL, with a fresh store. The protocol flows are covered end to end elsewhere; these
//! tests pin the atomic operations the HTTP layer relies on.

mod common;

use std::sync::Arc;

use common::backend::Database;

use gatehouse::oidc::tokens;
use gatehouse::store::{
    self, AuditRecord, AuthorizationCode, Client, ClientToken, CodeRequest, NewTokens, Redeemed,
    Revocation, Rotated, Session, Store, StoreError, ThrottlePolicy, TokenKind, User,
};

const NOW: i64 = 1_800_000_000;

struct Fixture {
    store: Arc<dyn Store>,
    _db: Database,
}

async fn open(db: Database) -> Fixture {
    Fixture {
        store: store::open(&db.url).await.unwrap(),
        _db: db,
    }
}

fn user(name: &str) -> User {
    User {
        id: tokens::new_id(),
        username: name.into(),
        email: format!("{name}@example.com"),
        name: None,
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        disabled: false,
        created_at: NOW,
    }
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        secret_hash: Some(tokens::hash("secret")),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        scopes: vec!["openid".into(), "profile".into(), "offline_access".into()],
        grant_types: vec!["authorization_code".into(), "refresh_token".into()],
        first_party: false,
        created_at: NOW,
    }
}

fn new_tokens(access: &str, refresh: &str) -> NewTokens {
    NewTokens {
        access_token_hash: tokens::hash(access),
        access_expires_at: NOW + 600,
        refresh_token_hash: Some(tokens::hash(refresh)),
        refresh_expires_at: NOW + 3600,
    }
}

/// A user and a client, and a family issued to them with access token `a1` and refresh `r1`.
async fn issued(s: &dyn Store, username: &str, client_id: &str) -> User {
    let u = user(username);
    s.create_user(u.clone()).await.unwrap();
    if s.client(client_id).await.unwrap().is_none() {
        s.create_client(client(client_id)).await.unwrap();
    }
    let code = format!("code-{username}-{client_id}");
    s.create_authorization_code(AuthorizationCode {
        code_hash: tokens::hash(&code),
        client_id: client_id.into(),
        user_id: u.id.clone(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "openid offline_access".into(),
        nonce: None,
        code_challenge: None,
        auth_time: NOW,
        expires_at: NOW + 60,
    })
    .await
    .unwrap();
    let request = CodeRequest {
        client_id: client_id.into(),
        redirect_uri: Some("https://app.example/cb".into()),
        code_verifier: None,
    };
    let tokens_for = |t: &str| format!("{t}-{username}-{client_id}");
    let redeemed = s
        .redeem_authorization_code(
            &tokens::hash(&code),
            request,
            new_tokens(&tokens_for("a1"), &tokens_for("r1")),
            NOW,
        )
        .await
        .unwrap();
    assert!(matches!(redeemed, Redeemed::Issued(_)), "{redeemed:?}");
    u
}

fn h(t: &str, u: &str, c: &str) -> String {
    tokens::hash(&format!("{t}-{u}-{c}"))
}

async fn introspection_sees_only_active_tokens(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = issued(s, "alice", "app").await;

    let access = s
        .introspect(&h("a1", "alice", "app"), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(access.kind, TokenKind::Access);
    assert_eq!(access.client_id, "app");
    assert_eq!(access.scope, "openid offline_access");
    assert_eq!(access.user.as_ref().map(|u| &u.id), Some(&alice.id));
    assert_eq!((access.issued_at, access.expires_at), (NOW, NOW + 600));

    let refresh = s
        .introspect(&h("r1", "alice", "app"), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(refresh.kind, TokenKind::Refresh);

    // Expired at its expiry instant; unknown hashes are simply not active.
    assert!(
        s.introspect(&h("a1", "alice", "app"), NOW + 600)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.introspect(&tokens::hash("nope"), NOW)
            .await
            .unwrap()
            .is_none()
    );

    // A rotated refresh token is no longer active; its successor is.
    let rotated = s
        .rotate_refresh_token(
            &h("r1", "alice", "app"),
            "app",
            None,
            new_tokens("a2", "r2"),
            NOW + 1,
        )
        .await
        .unwrap();
    assert!(matches!(rotated, Rotated::Issued(_)));
    assert!(
        s.introspect(&h("r1", "alice", "app"), NOW + 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.introspect(&tokens::hash("r2"), NOW + 1)
            .await
            .unwrap()
            .is_some()
    );

    // A disabled user's tokens are inactive.
    s.set_user_disabled("alice", true).await.unwrap();
    assert!(
        s.introspect(&tokens::hash("a2"), NOW + 1)
            .await
            .unwrap()
            .is_none()
    );
}

async fn client_tokens_are_introspected_and_revoked_by_their_client_only(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    s.create_client(client("svc")).await.unwrap();
    s.create_client(client("other")).await.unwrap();
    s.create_client_token(ClientToken {
        token_hash: tokens::hash("ct"),
        client_id: "svc".into(),
        scope: "admin".into(),
        created_at: NOW,
        expires_at: NOW + 600,
    })
    .await
    .unwrap();
    let info = s
        .introspect(&tokens::hash("ct"), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        (info.kind, info.user, info.client_id.as_str()),
        (TokenKind::Access, None, "svc")
    );

    let by_other = s
        .revoke_token(&tokens::hash("ct"), "other", NOW)
        .await
        .unwrap();
    assert_eq!(by_other, Revocation::NotFound);
    assert!(
        s.introspect(&tokens::hash("ct"), NOW)
            .await
            .unwrap()
            .is_some()
    );

    let by_owner = s
        .revoke_token(&tokens::hash("ct"), "svc", NOW)
        .await
        .unwrap();
    assert_eq!(by_owner, Revocation::Access);
    assert!(
        s.introspect(&tokens::hash("ct"), NOW)
            .await
            .unwrap()
            .is_none()
    );
    // Revoking twice changes nothing and says so.
    let again = s
        .revoke_token(&tokens::hash("ct"), "svc", NOW)
        .await
        .unwrap();
    assert_eq!(again, Revocation::NotFound);
}

async fn revoking_a_refresh_token_revokes_its_family_and_only_for_its_client(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    s.create_client(client("thief")).await.unwrap();

    let stolen = s
        .revoke_token(&h("r1", "alice", "app"), "thief", NOW)
        .await
        .unwrap();
    assert_eq!(stolen, Revocation::NotFound);
    assert!(
        s.access_token(&h("a1", "alice", "app"), NOW)
            .await
            .unwrap()
            .is_some()
    );

    let revoked = s
        .revoke_token(&h("r1", "alice", "app"), "app", NOW)
        .await
        .unwrap();
    assert_eq!(revoked, Revocation::Family);
    // The family's access token died with it, and the refresh token no longer rotates.
    assert!(
        s.access_token(&h("a1", "alice", "app"), NOW)
            .await
            .unwrap()
            .is_none()
    );
    let rotated = s
        .rotate_refresh_token(
            &h("r1", "alice", "app"),
            "app",
            None,
            new_tokens("a2", "r2"),
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(rotated, Rotated::Invalid);
}

async fn revoking_an_access_token_leaves_the_refresh_token(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    let revoked = s
        .revoke_token(&h("a1", "alice", "app"), "app", NOW)
        .await
        .unwrap();
    assert_eq!(revoked, Revocation::Access);
    assert!(
        s.access_token(&h("a1", "alice", "app"), NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.introspect(&h("r1", "alice", "app"), NOW)
            .await
            .unwrap()
            .is_some()
    );
}

async fn consent_accumulates_and_its_revocation_revokes_the_clients_tokens(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = issued(s, "alice", "app").await;
    issued_for_existing(s, &alice, "other").await;

    assert_eq!(s.consent(&alice.id, "app").await.unwrap(), None);
    s.grant_consent(&alice.id, "app", "openid profile", NOW)
        .await
        .unwrap();
    s.grant_consent(&alice.id, "app", "profile email", NOW + 5)
        .await
        .unwrap();
    assert_eq!(
        s.consent(&alice.id, "app").await.unwrap().as_deref(),
        Some("openid profile email")
    );
    s.grant_consent(&alice.id, "other", "openid", NOW)
        .await
        .unwrap();
    let listed = s.consents(&alice.id).await.unwrap();
    assert_eq!(
        listed
            .iter()
            .map(|c| c.client_id.as_str())
            .collect::<Vec<_>>(),
        ["app", "other"]
    );
    assert_eq!(listed[0].granted_at, NOW + 5);

    s.revoke_consent(&alice.id, "app", NOW + 10).await.unwrap();
    assert_eq!(s.consent(&alice.id, "app").await.unwrap(), None);
    assert!(
        s.access_token(&h("a1", "alice", "app"), NOW + 10)
            .await
            .unwrap()
            .is_none()
    );
    // The other client keeps its consent and its tokens.
    assert!(s.consent(&alice.id, "other").await.unwrap().is_some());
    assert!(
        s.access_token(&h("a1", "alice", "other"), NOW + 10)
            .await
            .unwrap()
            .is_some()
    );

    let again = s.revoke_consent(&alice.id, "app", NOW + 10).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
}

/// Like `issued`, for a user that already exists.
async fn issued_for_existing(s: &dyn Store, u: &User, client_id: &str) {
    s.create_client(client(client_id)).await.unwrap();
    let code = format!("code-{}-{client_id}", u.username);
    s.create_authorization_code(AuthorizationCode {
        code_hash: tokens::hash(&code),
        client_id: client_id.into(),
        user_id: u.id.clone(),
        redirect_uri: "https://app.example/cb".into(),
        scope: "openid".into(),
        nonce: None,
        code_challenge: None,
        auth_time: NOW,
        expires_at: NOW + 60,
    })
    .await
    .unwrap();
    let request = CodeRequest {
        client_id: client_id.into(),
        redirect_uri: Some("https://app.example/cb".into()),
        code_verifier: None,
    };
    let t = |k: &str| format!("{k}-{}-{client_id}", u.username);
    let r = s
        .redeem_authorization_code(
            &tokens::hash(&code),
            request,
            new_tokens(&t("a1"), &t("r1")),
            NOW,
        )
        .await
        .unwrap();
    assert!(matches!(r, Redeemed::Issued(_)));
}

async fn logging_a_user_out_ends_sessions_and_revokes_families(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = issued(s, "alice", "app").await;
    let bob = issued(s, "bob", "app").await;
    for (i, u) in [&alice, &alice, &bob].into_iter().enumerate() {
        s.create_session(Session {
            id_hash: tokens::hash(&format!("session-{i}")),
            user_id: u.id.clone(),
            auth_time: NOW,
            expires_at: NOW + 3600,
            last_seen_at: NOW,
        })
        .await
        .unwrap();
    }
    assert_eq!(s.sessions(&alice.id, NOW).await.unwrap().len(), 2);

    let out = s.end_user_sessions(&alice.id, NOW + 1).await.unwrap();
    assert_eq!((out.sessions, out.token_families), (2, 1));
    assert!(s.sessions(&alice.id, NOW).await.unwrap().is_empty());
    assert!(
        s.session(&tokens::hash("session-0"), NOW)
            .await
            .unwrap()
            .is_none()
    );
    assert!(
        s.introspect(&h("r1", "alice", "app"), NOW + 1)
            .await
            .unwrap()
            .is_none()
    );
    // Bob is untouched.
    assert!(
        s.session(&tokens::hash("session-2"), NOW)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        s.introspect(&h("r1", "bob", "app"), NOW + 1)
            .await
            .unwrap()
            .is_some()
    );
}

async fn a_session_is_touched_and_ended(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    let id = tokens::hash("sid");
    s.create_session(Session {
        id_hash: id.clone(),
        user_id: alice.id.clone(),
        auth_time: NOW,
        expires_at: NOW + 3600,
        last_seen_at: NOW,
    })
    .await
    .unwrap();
    s.touch_session(&id, NOW + 100).await.unwrap();
    let (session, _) = s.session(&id, NOW + 100).await.unwrap().unwrap();
    assert_eq!(session.last_seen_at, NOW + 100);
    // The absolute expiry holds whatever the last use.
    assert!(s.session(&id, NOW + 3600).await.unwrap().is_none());
    s.end_session(&id).await.unwrap();
    assert!(s.session(&id, NOW + 100).await.unwrap().is_none());
    s.end_session(&id).await.unwrap();
}

const POLICY: ThrottlePolicy = ThrottlePolicy {
    free_failures: 2,
    lockout_after: 5,
    lockout: 900,
    max_delay: 60,
    window: 3600,
};

async fn login_failures_delay_then_lock_and_a_success_clears_them(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let key = || vec![("user:alice".to_owned(), POLICY)];
    let keys = || vec!["user:alice".to_owned()];
    let mut blocked = Vec::new();
    for _ in 0..5 {
        blocked.push(s.record_login_failure(key(), NOW).await.unwrap() - NOW);
    }
    assert_eq!(blocked, [0, 0, 1, 2, 900]);
    assert_eq!(
        s.login_blocked_until(keys(), NOW).await.unwrap(),
        Some(NOW + 900)
    );
    assert_eq!(
        s.login_blocked_until(keys(), NOW + 900).await.unwrap(),
        None
    );
    assert_eq!(
        s.login_blocked_until(vec!["user:bob".into()], NOW)
            .await
            .unwrap(),
        None
    );

    s.clear_login_failures("user:alice".into()).await.unwrap();
    assert_eq!(s.login_blocked_until(keys(), NOW).await.unwrap(), None);
    assert_eq!(s.record_login_failure(key(), NOW).await.unwrap(), NOW);

    // A failure long after the previous one starts the count again.
    for _ in 0..3 {
        s.record_login_failure(key(), NOW).await.unwrap();
    }
    assert_eq!(
        s.record_login_failure(key(), NOW + 3600).await.unwrap(),
        NOW + 3600
    );
}

async fn concurrent_login_failures_are_all_counted(db: Database) {
    let f = open(db).await;
    let policy = ThrottlePolicy {
        lockout_after: 1000,
        max_delay: 1 << 40,
        free_failures: 0,
        ..POLICY
    };
    let tasks: Vec<_> = (0..30)
        .map(|_| {
            let s = Arc::clone(&f.store);
            tokio::spawn(async move {
                s.record_login_failure(vec![("ip:10.0.0.1".into(), policy)], NOW)
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut untils = Vec::new();
    for t in tasks {
        untils.push(t.await.unwrap() - NOW);
    }
    untils.sort_unstable();
    // Each failure saw the ones before it: 1, 2, 4 … 2^29 seconds.
    let expected: Vec<i64> = (0..30).map(|i| 1_i64 << i).collect();
    assert_eq!(untils, expected);
}

async fn the_audit_log_keeps_order_and_pages(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    for i in 0..25 {
        s.record(AuditRecord {
            at: NOW + i,
            kind: "login.failed".into(),
            actor: "anonymous".into(),
            subject: Some(format!("user{i}")),
            client_id: None,
            ip: Some("10.0.0.1".into()),
            detail: None,
        })
        .await
        .unwrap();
    }
    let first = s.audit_since(0, 10).await.unwrap();
    assert_eq!(first.len(), 10);
    assert_eq!(first[0].record.subject.as_deref(), Some("user0"));
    let next = s.audit_since(first[9].id, 100).await.unwrap();
    assert_eq!(next.len(), 15);
    assert!(next.windows(2).all(|w| w[0].id < w[1].id));
    let latest = s.audit_latest(3).await.unwrap();
    let subjects: Vec<_> = latest
        .iter()
        .filter_map(|e| e.record.subject.as_deref())
        .collect();
    assert_eq!(subjects, ["user22", "user23", "user24"]);
}

async fn purging_removes_only_what_expired(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    // Nothing expired yet.
    assert_eq!(s.purge_expired(NOW).await.unwrap(), 0);
    assert!(
        s.introspect(&h("r1", "alice", "app"), NOW)
            .await
            .unwrap()
            .is_some()
    );
    // After the refresh token's expiry: code, access token, refresh token, family.
    let removed = s.purge_expired(NOW + 3600).await.unwrap();
    assert_eq!(removed, 4);
    assert!(
        s.introspect(&h("r1", "alice", "app"), NOW)
            .await
            .unwrap()
            .is_none()
    );
    // The user and client stay.
    assert!(s.user_by_username("alice").await.unwrap().is_some());
    assert!(s.client("app").await.unwrap().is_some());
}

on_both_backends!(();
    introspection_sees_only_active_tokens,
    client_tokens_are_introspected_and_revoked_by_their_client_only,
    revoking_a_refresh_token_revokes_its_family_and_only_for_its_client,
    revoking_an_access_token_leaves_the_refresh_token,
    consent_accumulates_and_its_revocation_revokes_the_clients_tokens,
    logging_a_user_out_ends_sessions_and_revokes_families,
    a_session_is_touched_and_ended,
    login_failures_delay_then_lock_and_a_success_clears_them,
    concurrent_login_failures_are_all_counted,
    the_audit_log_keeps_order_and_pages,
    purging_removes_only_what_expired,
);
