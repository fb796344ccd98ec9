//! The store contract: what every backend must do, written once against `dyn Store`.
//!
//! Each test runs on SQLite and on PostgreSQL, with a fresh store. The protocol flows are covered end to end elsewhere; these
//! tests pin the atomic operations the HTTP layer relies on.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;

use common::backend::Database;

use gatehouse::admin;
use gatehouse::auth::email_links::{LinkUse, Refused};
use gatehouse::auth::throttle::{self, Admission, OnSuccess, ThrottleKey, ThrottlePolicy};
use gatehouse::model::{
    AuditKind, AuditQuery, AuditRecord, AuthorizationCode, ClaimOwner, ClaimsChange, Client,
    ClientToken, CodeRequest, CustomClaims, EmailPurpose, EmailToken, EndedFrom, Factors,
    GrantType, Mail, NewTokens, NoticeKind, OneTime, OneTimeKind, PasskeyRemoval, QueuedMail,
    Redeemed, Revocation, Rotated, Session, TokenKind, TotpFactor, UsedBefore, User, UserChange,
    UserEdit, UserSearch,
};
use gatehouse::oidc::backchannel::Settlement;
use gatehouse::oidc::family_token::{FamilyKey, Presented};
use gatehouse::oidc::tokens;
use gatehouse::store::{self, Store, StoreError};

const NOW: i64 = 1_800_000_000;

/// A browser's `User-Agent`.
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

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
        password_hash: Some(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA".into(),
        ),
        disabled: false,
        created_at: NOW,
        email_verified: false,
        profile: gatehouse::model::Profile::default(),
    }
}

fn client(id: &str) -> Client {
    Client {
        client_id: id.into(),
        secret_hash: Some(tokens::hash("secret")),
        redirect_uris: vec!["https://app.example/cb".into()],
        post_logout_redirect_uris: vec![],
        scopes: vec!["openid".into(), "profile".into(), "offline_access".into()],
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        first_party: false,
        created_at: NOW,
        display: gatehouse::model::ClientDisplay::default(),
        previous_secret: None,
        id_token_claims: None,
        id_token_signed_response_alg: Default::default(),
        backchannel_logout_uri: None,
        access_token_format: Default::default(),
        auth_policy: Default::default(),
        jwks: None,
        require_pushed_authorization_requests: false,
        require_signed_request_object: false,
        dpop_bound_access_tokens: false,
        jwks_uri: None,
        access_token_claims: vec![],
        pairwise_sector: None,
        require_confirmed_address: false,
        resources: vec![],
        introspects: vec![],
    }
}

/// A code for `user_id` at `client_id`, for `https://app.example/cb` with `scope`, issued at
/// `NOW` for a minute, in no session and bound to no key.
fn a_code(code: &str, client_id: &str, user_id: &str, scope: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: tokens::hash(code),
        client_id: client_id.into(),
        user_id: user_id.into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: scope.into(),
        nonce: None,
        code_challenge: None,
        auth_time: NOW,
        amr: gatehouse::model::Amr::PASSWORD,
        session_id_hash: None,
        expires_at: NOW + 60,
        dpop_jkt: None,
        resources: vec![],
    }
}

thread_local! {
    /// The refresh tokens this test minted, by the names it gives them.
    static REFRESH: std::cell::RefCell<std::collections::HashMap<String, String>> =
        Default::default();
}

fn family_key() -> FamilyKey {
    FamilyKey::new(&[3; 32])
}

/// Mints the refresh token called `name` in `family`, and remembers it by that name.
fn mint(name: &str, family: &str) -> String {
    let token = family_key().mint(family, None);
    REFRESH.with(|m| m.borrow_mut().insert(name.to_owned(), token.clone()));
    token
}

/// The token called `name` as a client presents it: a refresh token this test minted by that
/// name, or any other token by its hash.
fn p(name: &str) -> Presented {
    match REFRESH.with(|m| m.borrow().get(name).cloned()) {
        Some(token) => Presented::new(&token, &family_key()),
        None => Presented::by_hash(tokens::hash(name)),
    }
}

/// The tokens a code redemption stores: access token `access` and refresh token `refresh` in
/// a new family.
fn new_tokens(access: &str, refresh: &str) -> NewTokens {
    tokens_in(&tokens::new_id(), access, refresh)
}

/// The tokens a rotation of the refresh token called `from` stores, in its family.
fn next_tokens(from: &str, access: &str, refresh: &str) -> NewTokens {
    let family = p(from).family_id.expect("a refresh token minted here");
    tokens_in(&family, access, refresh)
}

fn tokens_in(family: &str, access: &str, refresh: &str) -> NewTokens {
    NewTokens {
        family_id: family.to_owned(),
        access_token_hash: tokens::hash(access),
        access_expires_at: NOW + 600,
        refresh_token_hash: Some(tokens::hash(&mint(refresh, family))),
        refresh_expires_at: NOW + 3600,
        retry: None,
        once: vec![],
    }
}

/// A user and a client, and a family issued to them with access token `a1` and refresh `r1`.
async fn issued(s: &dyn Store, username: &str, client_id: &str) -> User {
    let u = user(username);
    s.create_user(u.clone()).await.unwrap();
    if s.client(client_id).await.unwrap().is_none() {
        s.create_client(client(client_id), None).await.unwrap();
    }
    let code = format!("code-{username}-{client_id}");
    s.create_authorization_code(a_code(&code, client_id, &u.id, "openid offline_access"))
        .await
        .unwrap();
    let request = CodeRequest {
        client_id: client_id.into(),
        redirect_uri: Some("https://app.example/cb".into()),
        code_verifier: None,
        dpop_jkt: None,
        resources: vec![],
    };
    let tokens_for = |t: &str| format!("{t}-{username}-{client_id}");
    let redeemed = s
        .redeem_authorization_code(
            &tokens::hash(&code),
            request,
            new_tokens(&tokens_for("a1"), &tokens_for("r1")),
            NOW,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(redeemed, Redeemed::Issued(_)), "{redeemed:?}");
    u
}

fn h(t: &str, u: &str, c: &str) -> Presented {
    p(&format!("{t}-{u}-{c}"))
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
    assert!(s.introspect(&p("nope"), NOW).await.unwrap().is_none());

    // A rotated refresh token is no longer active; its successor is.
    let rotated = s
        .rotate_refresh_token(
            &h("r1", "alice", "app"),
            "app",
            Default::default(),
            next_tokens("r1-alice-app", "a2", "r2"),
            NOW + 1,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(rotated, Rotated::Issued(_)));
    assert!(
        s.introspect(&h("r1", "alice", "app"), NOW + 1)
            .await
            .unwrap()
            .is_none()
    );
    assert!(s.introspect(&p("r2"), NOW + 1).await.unwrap().is_some());

    // A disabled user's tokens are inactive.
    s.update_user("alice", UserChange::Disable, NOW + 1, None)
        .await
        .unwrap();
    assert!(s.introspect(&p("a2"), NOW + 1).await.unwrap().is_none());
}

async fn client_tokens_are_introspected_and_revoked_by_their_client_only(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    s.create_client(client("svc"), None).await.unwrap();
    s.create_client(client("other"), None).await.unwrap();
    let issued = AuditRecord::new(NOW, gatehouse::model::AuditKind::TokenIssued, "client:svc")
        .client("svc")
        .detail("grant=client_credentials scope=admin");
    s.create_client_token(
        ClientToken {
            token_hash: tokens::hash("ct"),
            client_id: "svc".into(),
            scope: "admin".into(),
            created_at: NOW,
            expires_at: NOW + 600,
            resources: vec![],
        },
        vec![],
        issued.clone(),
    )
    .await
    .unwrap()
    .unwrap();
    // Stored with its audit record, in one transaction.
    let log = s.audit_latest(1).await.unwrap();
    assert_eq!(log[0].record, issued);
    let info = s.introspect(&p("ct"), NOW).await.unwrap().unwrap();
    assert_eq!(
        (info.kind, info.user, info.client_id.as_str()),
        (TokenKind::Access, None, "svc")
    );

    let by_other = s.revoke_token(&p("ct"), "other", NOW, None).await.unwrap();
    assert_eq!(by_other, Revocation::NotFound);
    assert!(s.introspect(&p("ct"), NOW).await.unwrap().is_some());

    let by_owner = s.revoke_token(&p("ct"), "svc", NOW, None).await.unwrap();
    assert_eq!(by_owner, Revocation::Access);
    assert!(s.introspect(&p("ct"), NOW).await.unwrap().is_none());
    // Revoking twice changes nothing and says so.
    let again = s.revoke_token(&p("ct"), "svc", NOW, None).await.unwrap();
    assert_eq!(again, Revocation::NotFound);
}

async fn revoking_a_refresh_token_revokes_its_family_and_only_for_its_client(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    s.create_client(client("thief"), None).await.unwrap();

    let latest = || async { s.audit_latest(1).await.unwrap()[0].record.clone() };
    let before = latest().await;
    let stolen = s
        .revoke_token(&h("r1", "alice", "app"), "thief", NOW, None)
        .await
        .unwrap();
    assert_eq!(stolen, Revocation::NotFound);
    assert_eq!(latest().await, before, "nothing revoked, nothing recorded");
    assert!(
        s.access_token(&h("a1", "alice", "app").hash, NOW)
            .await
            .unwrap()
            .is_some()
    );

    let ip = Some("192.0.2.4".parse().unwrap());
    let revoked = s
        .revoke_token(&h("r1", "alice", "app"), "app", NOW, ip)
        .await
        .unwrap();
    assert_eq!(revoked, Revocation::Family);
    // Recorded with the revocation, in its transaction.
    let record = latest().await;
    assert_eq!(
        (
            record.kind,
            record.client_id.as_deref(),
            record.ip.as_deref(),
            record.detail.as_deref()
        ),
        (
            AuditKind::TokenRevoked,
            Some("app"),
            Some("192.0.2.4"),
            Some("a refresh token and its family")
        )
    );
    // The family's access token died with it, and the refresh token no longer rotates.
    assert!(
        s.access_token(&h("a1", "alice", "app").hash, NOW)
            .await
            .unwrap()
            .is_none()
    );
    let rotated = s
        .rotate_refresh_token(
            &h("r1", "alice", "app"),
            "app",
            Default::default(),
            next_tokens("r1-alice-app", "a2", "r2"),
            NOW,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!(rotated, Rotated::Invalid);
}

async fn revoking_an_access_token_leaves_the_refresh_token(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    let revoked = s
        .revoke_token(&h("a1", "alice", "app"), "app", NOW, None)
        .await
        .unwrap();
    assert_eq!(revoked, Revocation::Access);
    assert!(
        s.access_token(&h("a1", "alice", "app").hash, NOW)
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
    s.grant_consent(&alice.id, "app", "openid profile", NOW, None)
        .await
        .unwrap();
    s.grant_consent(&alice.id, "app", "profile email", NOW + 5, None)
        .await
        .unwrap();
    assert_eq!(
        s.consent(&alice.id, "app").await.unwrap().as_deref(),
        Some("openid profile email")
    );
    s.grant_consent(&alice.id, "other", "openid", NOW, None)
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

    s.revoke_consent(&alice.id, "app", NOW + 10, None)
        .await
        .unwrap();
    assert_eq!(s.consent(&alice.id, "app").await.unwrap(), None);
    assert!(
        s.access_token(&h("a1", "alice", "app").hash, NOW + 10)
            .await
            .unwrap()
            .is_none()
    );
    // The other client keeps its consent and its tokens.
    assert!(s.consent(&alice.id, "other").await.unwrap().is_some());
    assert!(
        s.access_token(&h("a1", "alice", "other").hash, NOW + 10)
            .await
            .unwrap()
            .is_some()
    );

    let again = s.revoke_consent(&alice.id, "app", NOW + 10, None).await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
}

/// Like `issued`, for a user that already exists.
async fn issued_for_existing(s: &dyn Store, u: &User, client_id: &str) {
    s.create_client(client(client_id), None).await.unwrap();
    let code = format!("code-{}-{client_id}", u.username);
    s.create_authorization_code(a_code(&code, client_id, &u.id, "openid"))
        .await
        .unwrap();
    let request = CodeRequest {
        client_id: client_id.into(),
        redirect_uri: Some("https://app.example/cb".into()),
        code_verifier: None,
        dpop_jkt: None,
        resources: vec![],
    };
    let t = |k: &str| format!("{k}-{}-{client_id}", u.username);
    let r = s
        .redeem_authorization_code(
            &tokens::hash(&code),
            request,
            new_tokens(&t("a1"), &t("r1")),
            NOW,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(r, Redeemed::Issued(_)));
}

async fn logging_a_user_out_ends_sessions_and_revokes_families(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = issued(s, "alice", "app").await;
    let bob = issued(s, "bob", "app").await;
    for (i, u) in [&alice, &alice, &bob].into_iter().enumerate() {
        s.create_session(
            Session {
                id_hash: tokens::hash(&format!("session-{i}")),
                user_id: u.id.clone(),
                auth_time: NOW,
                amr: gatehouse::model::Amr::PASSWORD,
                expires_at: NOW + 3600,
                last_seen_at: NOW,
                user_agent: None,
                ip: None,
                // One kept on its device: it is read back so.
                kept: i == 1,
            },
            None,
            None,
            None,
        )
        .await
        .unwrap();
    }
    let listed = s.sessions(&alice.id, NOW).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed.iter().filter(|s| s.kept).count(), 1);
    for (i, kept) in [(0, false), (1, true), (2, false)] {
        let (session, _) = s
            .session(&tokens::hash(&format!("session-{i}")), NOW)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(session.kept, kept, "session-{i}");
    }

    let out = s.end_user_sessions(&alice.id, NOW + 1, None).await.unwrap();
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

/// Issues a code to `u` for `app` in session `session` with `scope` and redeems it: the
/// family's refresh token is `tokens::hash(refresh)`.
async fn redeemed_in_session(s: &dyn Store, u: &User, session: &str, scope: &str, refresh: &str) {
    let code = format!("code-{refresh}");
    s.create_authorization_code(AuthorizationCode {
        session_id_hash: Some(tokens::hash(session)),
        ..a_code(&code, "app", &u.id, scope)
    })
    .await
    .unwrap();
    let request = CodeRequest {
        client_id: "app".into(),
        redirect_uri: Some("https://app.example/cb".into()),
        code_verifier: None,
        dpop_jkt: None,
        resources: vec![],
    };
    let redeemed = s
        .redeem_authorization_code(
            &tokens::hash(&code),
            request,
            new_tokens(&format!("a-{refresh}"), refresh),
            NOW,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(redeemed, Redeemed::Issued(_)), "{redeemed:?}");
}

async fn session(s: &dyn Store, u: &User, secret: &str, expires_at: i64) {
    let started = Session {
        expires_at,
        ..session_of(u, secret, NOW)
    };
    s.create_session(started, None, None, None).await.unwrap();
}

async fn rotate(s: &dyn Store, refresh: &str, next: &str, now: i64) -> Rotated {
    s.rotate_refresh_token(
        &p(refresh),
        "app",
        Default::default(),
        next_tokens(refresh, &format!("a-{next}"), next),
        now,
        None,
    )
    .await
    .unwrap()
    .unwrap()
}

/// A change to a user is written with its record, which says what the change signed out; a
/// change to nobody writes no record.
async fn a_user_change_is_written_with_its_record(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    session(s, &alice, "s", NOW + 3600).await;
    let record = AuditRecord::new(NOW, AuditKind::UserDisabled, "cli".to_owned());
    let out = s
        .update_user("alice", UserChange::Disable, NOW, Some(record.clone()))
        .await
        .unwrap();
    assert_eq!(out.sessions, 1);
    let written = s.audit_latest(1).await.unwrap().remove(0).record;
    assert_eq!(
        written.detail.as_deref(),
        Some("sessions ended: 1, token families revoked: 0")
    );
    assert_eq!((written.kind, written.actor), (record.kind, record.actor));
    let nobody = AuditRecord::new(NOW, AuditKind::UserDisabled, "cli".to_owned());
    assert!(
        s.update_user("nobody", UserChange::Disable, NOW, Some(nobody))
            .await
            .is_err()
    );
    assert_eq!(
        s.audit_latest(10).await.unwrap().len(),
        1,
        "no record of nothing"
    );
}

/// Several changes to a user are made in one transaction, each with its record: when one of
/// them fails, none is made and no record is written.
async fn a_users_edits_are_made_together_or_not_at_all(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    session(s, &alice, "s", NOW + 3600).await;
    let edit = |change, kind| UserEdit {
        change,
        audit: Some(AuditRecord::new(NOW, kind, "cli".to_owned())),
    };
    let edits = vec![
        edit(
            UserChange::SetPassword("new".into()),
            AuditKind::PasswordSet,
        ),
        edit(UserChange::Disable, AuditKind::UserDisabled),
        edit(
            UserChange::SetEmail {
                email: "a2@example.com".into(),
                verified: true,
            },
            AuditKind::EmailSet,
        ),
    ];
    f._db.fail_updates_of("user_account", "email").await;
    assert!(s.edit_user("alice", edits.clone(), NOW).await.is_err());
    let kept = s.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(kept, alice, "nothing changed");
    assert_eq!(s.sessions(&alice.id, NOW).await.unwrap().len(), 1);
    assert!(s.audit_latest(10).await.unwrap().is_empty(), "no record");

    // Without the email change, both others are made, each with its own record.
    let out = s
        .edit_user("alice", edits[..2].to_vec(), NOW)
        .await
        .unwrap();
    assert_eq!(out.sessions, 1);
    let changed = s.user_by_username("alice").await.unwrap().unwrap();
    assert_eq!(
        (changed.password_hash.as_deref(), changed.disabled),
        (Some("new"), true)
    );
    let written = s.audit_latest(10).await.unwrap();
    let kinds: Vec<_> = written.iter().map(|e| e.record.kind).collect();
    assert_eq!(
        kinds,
        [AuditKind::PasswordSet, AuditKind::UserDisabled],
        "in order"
    );
}

/// A client registered or changed is written with its record; a refused one writes none.
async fn a_client_change_is_written_with_its_record(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let created = AuditRecord::new(NOW, AuditKind::ClientCreated, "cli".to_owned());
    s.create_client(client("app"), Some(created.clone()))
        .await
        .unwrap();
    assert_eq!(s.audit_latest(1).await.unwrap()[0].record, created);
    let taken = s.create_client(client("app"), Some(created.clone())).await;
    assert!(matches!(taken, Err(StoreError::Conflict(_))), "{taken:?}");
    let updated = AuditRecord::new(NOW + 1, AuditKind::ClientUpdated, "cli".to_owned());
    let mut changed = client("app");
    changed.first_party = true;
    s.update_client(changed, Some(updated.clone()))
        .await
        .unwrap();
    assert_eq!(s.audit_latest(1).await.unwrap()[0].record, updated);
    let missing = s.update_client(client("nothing"), Some(updated)).await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );
    assert_eq!(
        s.audit_latest(10).await.unwrap().len(),
        2,
        "no record of a refusal"
    );
}

/// A client's keys and its need of pushed and signed requests are kept and changed; an assertion's id is
/// taken once while it is kept, by each client apart, and swept once it expires.
async fn client_keys_are_kept_and_each_assertion_is_taken_once(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let key = gatehouse::oidc::keys::generate(gatehouse::model::SigningAlg::EdDsa, 0).unwrap();
    let jwks: gatehouse::model::ClientKeys = format!(r#"{{"keys":[{}]}}"#, key.public_jwk)
        .parse()
        .unwrap();
    let with_keys = Client {
        secret_hash: None,
        jwks: Some(jwks.clone()),
        require_pushed_authorization_requests: true,
        require_signed_request_object: true,
        ..client("signed")
    };
    s.create_client(with_keys.clone(), None).await.unwrap();
    s.create_client(client("other"), None).await.unwrap();
    let published = Client {
        secret_hash: None,
        jwks_uri: Some("https://published.example/jwks".into()),
        ..client("published")
    };
    s.create_client(published.clone(), None).await.unwrap();
    assert_eq!(s.client("published").await.unwrap().unwrap(), published);
    let read = s.client("signed").await.unwrap().unwrap();
    assert_eq!(read, with_keys);
    assert_eq!(read.auth_method().as_str(), "private_key_jwt");
    let mut without = read.clone();
    without.require_pushed_authorization_requests = false;
    without.require_signed_request_object = false;
    s.update_client(without.clone(), None).await.unwrap();
    assert_eq!(s.client("signed").await.unwrap().unwrap(), without);

    let take = |client: &'static str, jti: &'static str, until: i64, now: i64| async move {
        let once = vec![assertion(jti, until)];
        s.take_once(client, once, now).await.unwrap().is_ok()
    };
    assert!(take("signed", "j1", NOW + 60, NOW).await, "the first time");
    assert!(!take("signed", "j1", NOW + 60, NOW + 1).await, "again");
    assert!(take("other", "j1", NOW + 60, NOW).await, "another client's");
    assert!(take("signed", "j2", NOW + 30, NOW).await);
    // Once no longer kept, it could not be used anyway: taken again if it is still there.
    assert!(take("signed", "j1", NOW + 200, NOW + 60).await);
    assert!(!take("signed", "j1", NOW + 200, NOW + 61).await);
    // Swept when they expire: j2 at NOW + 30.
    assert_eq!(s.purge_expired(NOW + 30).await.unwrap(), 1);
    assert!(take("signed", "j2", NOW + 90, NOW + 31).await);
    // They go with their client.
    s.remove_client("signed", None).await.unwrap();
    assert_eq!(
        s.purge_expired(NOW + 1000).await.unwrap(),
        1,
        "other's j1 only"
    );
}

/// Custom claims are kept per user and per group, changed as a whole or in part with their
/// record, refused as a whole when the outcome is not acceptable, and released with the
/// user's groups' in the order of the groups' names.
async fn custom_claims_are_kept_changed_and_released(db: Database) {
    use serde_json::json;
    let f = open(db).await;
    let s = f.store.as_ref();
    let ada = user("ada");
    s.create_user(ada.clone()).await.unwrap();
    let (me, nobody) = (
        ClaimOwner::User("ada".into()),
        ClaimOwner::User("nobody".into()),
    );
    assert_eq!(
        s.custom_claims(&me).await.unwrap(),
        Some(CustomClaims::new())
    );
    assert_eq!(s.custom_claims(&nobody).await.unwrap(), None);
    let claims = |pairs: &[(&str, serde_json::Value)]| -> CustomClaims {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    };
    let record = AuditRecord::new(NOW, AuditKind::UserClaimsSet, "cli").subject(Some("ada"));
    let first = claims(&[("department", json!("ops")), ("roles", json!(["a", "b"]))]);
    let set = s
        .change_custom_claims(
            &me,
            ClaimsChange::Replace(first.clone()),
            Some(record.clone()),
        )
        .await
        .unwrap();
    assert_eq!(set, Ok(first.clone()));
    assert_eq!(s.custom_claims(&me).await.unwrap(), Some(first));
    assert_eq!(s.audit_latest(1).await.unwrap()[0].record, record);
    let patch = ClaimsChange::Patch {
        set: claims(&[("level", json!(3))]),
        unset: vec!["roles".into()],
    };
    let patched = s.change_custom_claims(&me, patch, None).await.unwrap();
    let now = claims(&[("department", json!("ops")), ("level", json!(3))]);
    assert_eq!(patched, Ok(now.clone()));
    // One claim too many, counting those kept: refused, nothing changed, nothing recorded.
    let many: CustomClaims = (0..31).map(|i| (format!("c{i}"), json!(i))).collect();
    let refused = ClaimsChange::Patch {
        set: many,
        unset: vec![],
    };
    let audited = s.audit_latest(10).await.unwrap().len();
    let outcome = s
        .change_custom_claims(&me, refused, Some(record))
        .await
        .unwrap();
    assert!(outcome.is_err(), "{outcome:?}");
    assert_eq!(s.custom_claims(&me).await.unwrap(), Some(now.clone()));
    assert_eq!(s.audit_latest(10).await.unwrap().len(), audited);
    let missing = s
        .change_custom_claims(&nobody, ClaimsChange::Replace(CustomClaims::new()), None)
        .await;
    assert!(
        matches!(missing, Err(StoreError::NotFound(_))),
        "{missing:?}"
    );

    // Released with the groups', by the groups' names; a deleted group's go with it.
    for (name, pairs) in [
        (
            "staff",
            claims(&[("tier", json!("silver")), ("site", json!("lon"))]),
        ),
        ("admins", claims(&[("tier", json!("gold"))])),
        ("empty", CustomClaims::new()),
    ] {
        s.create_group(group(name), None).await.unwrap();
        s.add_member(name, &ada.id, NOW, None).await.unwrap();
        let owner = ClaimOwner::Group(name.into());
        let set = s.change_custom_claims(&owner, ClaimsChange::Replace(pairs), None);
        set.await.unwrap().unwrap();
    }
    let given = s.claims_to_release(&ada.id).await.unwrap();
    assert_eq!(given.own, now);
    assert_eq!(
        given.groups,
        vec![
            ("admins".to_owned(), claims(&[("tier", json!("gold"))])),
            (
                "staff".to_owned(),
                claims(&[("site", json!("lon")), ("tier", json!("silver"))])
            ),
        ]
    );
    s.delete_group("admins", None).await.unwrap();
    let given = s.claims_to_release(&ada.id).await.unwrap();
    assert_eq!(given.groups.len(), 1);
    assert_eq!(
        s.custom_claims(&ClaimOwner::Group("admins".into()))
            .await
            .unwrap(),
        None
    );
}

/// Changes to one user's custom claims sent at once each set a claim of their own: every one
/// is kept, none lost to another applied over a stale read.
async fn custom_claims_changed_at_once_are_all_kept(db: Database) {
    let f = open(db).await;
    s_create_ada(f.store.as_ref()).await;
    let mut changing = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = Arc::clone(&f.store);
        changing.spawn(async move {
            let change = ClaimsChange::Patch {
                set: CustomClaims::from([(format!("c{i}"), serde_json::json!(i))]),
                unset: vec![],
            };
            store
                .change_custom_claims(&ClaimOwner::User("ada".into()), change, None)
                .await
                .unwrap()
                .unwrap()
        });
    }
    changing.join_all().await;
    let kept = f
        .store
        .custom_claims(&ClaimOwner::User("ada".into()))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept.len(), 16, "{kept:?}");
}

async fn s_create_ada(s: &dyn Store) {
    s.create_user(user("ada")).await.unwrap();
}

/// A new group named `name`.
fn group(name: &str) -> gatehouse::model::Group {
    gatehouse::model::Group {
        id: format!("id-{name}"),
        name: name.into(),
        description: None,
        created_at: NOW,
        auth_policy: Default::default(),
    }
}

/// A client assertion's `jti`, kept until `until`, as the token endpoint takes it.
fn assertion(jti: &str, until: i64) -> OneTime {
    OneTime {
        kind: OneTimeKind::ClientAssertion,
        key: tokens::hash(jti),
        kept_until: until,
    }
}

/// A DPoP proof's `jti`, kept for a minute.
fn proof(jti: &str) -> OneTime {
    OneTime {
        kind: OneTimeKind::DpopProof,
        key: format!("dpop {jti}"),
        kept_until: NOW + 60,
    }
}

fn taking(tokens: NewTokens, once: Vec<OneTime>) -> NewTokens {
    NewTokens { once, ..tokens }
}

/// A token request's one-time JWTs (its client assertion, its DPoP proof) are taken by the
/// grant's own write, first: when one was taken before, the answer says which, the others
/// are taken, and nothing else happens (the refresh token, the code, stay as they were).
async fn a_grants_one_time_jwts_are_taken_with_it(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = issued(s, "alice", "app").await;
    let rotate = async |from: &str, next: &str, once| {
        let tokens = taking(next_tokens(from, &format!("a-{next}"), next), once);
        s.rotate_refresh_token(&p(from), "app", Default::default(), tokens, NOW, None)
            .await
            .unwrap()
    };
    let (assertion_used, proof_used) = (
        UsedBefore(OneTimeKind::ClientAssertion),
        UsedBefore(OneTimeKind::DpopProof),
    );
    let first = vec![assertion("j1", NOW + 60), proof("p1")];
    assert!(matches!(
        rotate("r1-alice-app", "r2", first).await,
        Ok(Rotated::Issued(_))
    ));
    let again = vec![assertion("j1", NOW + 60), proof("p2")];
    assert_eq!(rotate("r2", "r3", again).await, Err(assertion_used));
    let again = vec![assertion("j2", NOW + 60), proof("p1")];
    assert_eq!(rotate("r2", "r3", again).await, Err(proof_used));
    // The refused requests took their other JWT.
    let fresh = vec![assertion("j2", NOW + 60), proof("p3")];
    assert_eq!(rotate("r2", "r3", fresh).await, Err(assertion_used));
    let fresh = vec![assertion("j3", NOW + 60), proof("p2")];
    assert_eq!(rotate("r2", "r3", fresh).await, Err(proof_used));
    // And r2 was neither rotated nor taken as reused.
    let fresh = vec![assertion("j4", NOW + 60), proof("p5")];
    assert!(matches!(
        rotate("r2", "r3", fresh).await,
        Ok(Rotated::Issued(_))
    ));

    // A code is not looked at: still good afterwards.
    s.create_authorization_code(a_code("code-2", "app", &alice.id, "openid"))
        .await
        .unwrap();
    let redeem = async |once| {
        let request = CodeRequest {
            client_id: "app".into(),
            redirect_uri: Some("https://app.example/cb".into()),
            code_verifier: None,
            dpop_jkt: None,
            resources: vec![],
        };
        let tokens = taking(new_tokens("a-c", "r-c"), once);
        s.redeem_authorization_code(&tokens::hash("code-2"), request, tokens, NOW, None)
            .await
            .unwrap()
    };
    assert_eq!(redeem(vec![proof("p1")]).await, Err(proof_used));
    assert!(matches!(
        redeem(vec![proof("p6")]).await,
        Ok(Redeemed::Issued(_))
    ));

    // Nor is a client's token stored.
    let token = || ClientToken {
        token_hash: tokens::hash("ct"),
        client_id: "app".into(),
        scope: "admin".into(),
        created_at: NOW,
        expires_at: NOW + 600,
        resources: vec![],
    };
    let record = AuditRecord::new(NOW, AuditKind::TokenIssued, "client:app").client("app");
    let stored = s.create_client_token(token(), vec![proof("p6")], record.clone());
    assert_eq!(stored.await.unwrap(), Err(proof_used));
    assert!(s.introspect(&p("ct"), NOW).await.unwrap().is_none());
    let stored = s.create_client_token(token(), vec![proof("p7")], record);
    assert_eq!(stored.await.unwrap(), Ok(()));
    assert!(s.introspect(&p("ct"), NOW).await.unwrap().is_some());
}

/// Rotations of one token sent at once, each with its own proof: one rotates it, the others
/// find it reused (or its family revoked by that), none finds its proof taken (on PostgreSQL a
/// rotation that took its proof and lost the race is decided again without taking it twice).
async fn a_burst_of_rotations_each_with_its_proof_is_decided_on_the_token(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    let presented = h("r1", "alice", "app");
    let mut rotating = tokio::task::JoinSet::new();
    for i in 0..32 {
        let tokens = taking(
            next_tokens("r1-alice-app", &format!("a{i}"), &format!("r{i}")),
            vec![proof(&format!("burst-{i}"))],
        );
        let (store, presented) = (Arc::clone(&f.store), presented.clone());
        rotating.spawn(async move {
            store
                .rotate_refresh_token(&presented, "app", Default::default(), tokens, NOW, None)
                .await
                .unwrap()
        });
    }
    let outcomes = rotating.join_all().await;
    let issued = outcomes
        .iter()
        .filter(|o| matches!(o, Ok(Rotated::Issued(_))))
        .count();
    assert_eq!(issued, 1, "{outcomes:?}");
    assert!(
        outcomes.iter().all(|o| matches!(
            o,
            Ok(Rotated::Issued(_) | Rotated::Reused { .. } | Rotated::Invalid)
        )),
        "{outcomes:?}"
    );
}

/// The claims a client's access tokens carry are kept, in order, changed, and cleared.
async fn access_token_claims_are_kept(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let chosen = Client {
        access_token_claims: vec!["email".into(), "department".into(), "groups".into()],
        ..client("api")
    };
    s.create_client(chosen.clone(), None).await.unwrap();
    assert_eq!(s.client("api").await.unwrap().unwrap(), chosen);
    let fewer = Client {
        access_token_claims: vec!["urn:example:role".into()],
        ..chosen
    };
    s.update_client(fewer.clone(), None).await.unwrap();
    assert_eq!(s.client("api").await.unwrap().unwrap(), fewer);
    let none = Client {
        access_token_claims: vec![],
        ..fewer
    };
    s.update_client(none.clone(), None).await.unwrap();
    assert_eq!(s.client("api").await.unwrap().unwrap(), none);
    assert_eq!(s.list_clients().await.unwrap(), vec![none]);
}

/// A client's need of DPoP is kept and changed, and a code keeps the key its request named
/// (`dpop_jkt`): redeemed only with a proof of that key, and not used up by a request
/// without one.
async fn dpop_requirements_and_bound_codes_are_kept(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let bound = Client {
        dpop_bound_access_tokens: true,
        ..client("bound")
    };
    s.create_client(bound.clone(), None).await.unwrap();
    assert_eq!(s.client("bound").await.unwrap().unwrap(), bound);
    let unbound = Client {
        dpop_bound_access_tokens: false,
        ..bound
    };
    s.update_client(unbound.clone(), None).await.unwrap();
    assert_eq!(s.client("bound").await.unwrap().unwrap(), unbound);

    let ada = user("ada");
    s.create_user(ada.clone()).await.unwrap();
    s.create_authorization_code(AuthorizationCode {
        dpop_jkt: Some("K".into()),
        ..a_code("bound-code", "bound", &ada.id, "openid")
    })
    .await
    .unwrap();
    let redeem = |proved: Option<&str>, n: &str| {
        let request = CodeRequest {
            client_id: "bound".into(),
            redirect_uri: Some("https://app.example/cb".into()),
            code_verifier: None,
            dpop_jkt: proved.map(str::to_owned),
            resources: vec![],
        };
        let tokens = new_tokens(&format!("a-{n}"), &format!("r-{n}"));
        async move {
            s.redeem_authorization_code(&tokens::hash("bound-code"), request, tokens, NOW, None)
                .await
                .unwrap()
                .unwrap()
        }
    };
    assert_eq!(redeem(None, "1").await, Redeemed::Invalid);
    assert_eq!(redeem(Some("L"), "2").await, Redeemed::Invalid);
    assert!(matches!(redeem(Some("K"), "3").await, Redeemed::Issued(_)));
}

/// A consent and a logout are written with their records, one transaction each.
async fn a_consent_and_a_logout_are_written_with_their_records(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    s.create_client(client("app"), None).await.unwrap();
    let granted = AuditRecord::new(NOW, AuditKind::ConsentGranted, "user:alice".to_owned());
    s.grant_consent(&alice.id, "app", "openid", NOW, Some(granted.clone()))
        .await
        .unwrap();
    assert_eq!(
        s.consent(&alice.id, "app").await.unwrap().as_deref(),
        Some("openid")
    );
    assert_eq!(s.audit_latest(1).await.unwrap()[0].record, granted);
    session(s, &alice, "s", NOW + 3600).await;
    let logout = AuditRecord::new(NOW + 1, AuditKind::Logout, "user:alice".to_owned());
    s.end_session(
        &tokens::hash("s"),
        EndedFrom::ItsBrowser,
        NOW + 1,
        Some(logout.clone()),
    )
    .await
    .unwrap();
    assert!(
        s.session(&tokens::hash("s"), NOW + 2)
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(s.audit_latest(1).await.unwrap()[0].record, logout);
    // A withdrawal is written with its record; one of nothing writes none.
    let withdrawn = AuditRecord::new(
        NOW + 3,
        AuditKind::ConsentWithdrawn,
        "user:alice".to_owned(),
    );
    s.revoke_consent(&alice.id, "app", NOW + 3, Some(withdrawn.clone()))
        .await
        .unwrap();
    assert_eq!(s.audit_latest(1).await.unwrap()[0].record, withdrawn);
    let again = s
        .revoke_consent(&alice.id, "app", NOW + 4, Some(withdrawn.clone()))
        .await;
    assert!(matches!(again, Err(StoreError::NotFound(_))), "{again:?}");
    assert_eq!(
        s.audit_latest(10).await.unwrap().len(),
        3,
        "no record of nothing"
    );
}

/// A sign-in in a browser that had a session: the new session, the old one's end (its bound
/// tokens with it) and the sign-in's record are one transaction.
async fn a_new_session_replaces_the_browsers_old_one_with_its_record(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    s.create_client(client("app"), None).await.unwrap();
    session(s, &alice, "old", NOW + 3600).await;
    redeemed_in_session(s, &alice, "old", "openid", "bound").await;
    let alive = |secret: &'static str, at: i64| async move {
        s.session(&tokens::hash(secret), at)
            .await
            .unwrap()
            .is_some()
    };
    let record = AuditRecord::new(NOW + 5, AuditKind::LoginSucceeded, "user:alice".to_owned());
    s.create_session(
        session_of(&alice, "new", NOW + 5),
        Some(tokens::hash("old")),
        None,
        Some(record.clone()),
    )
    .await
    .unwrap();
    assert!(alive("new", NOW + 6).await);
    assert!(!alive("old", NOW + 6).await);
    // It keeps where it was signed in from, for its person to see.
    let (kept, _) = s
        .session(&tokens::hash("new"), NOW + 6)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(kept, session_of(&alice, "new", NOW + 5));
    assert_eq!(kept.user_agent.as_deref(), Some(FIREFOX));
    let listed = s.sessions(&alice.id, NOW + 6).await.unwrap();
    let new = listed
        .iter()
        .find(|x| x.id_hash == tokens::hash("new"))
        .unwrap();
    assert_eq!(new.ip.as_deref(), Some("198.51.100.4"));
    assert!(
        s.introspect(&p("bound"), NOW + 6).await.unwrap().is_none(),
        "the old session's tokens end with it"
    );
    let latest = s.audit_latest(1).await.unwrap();
    assert_eq!(latest[0].record, record);
    // Another browser's session is none of this one's business.
    session(s, &alice, "elsewhere", NOW + 3600).await;
    s.create_session(
        session_of(&alice, "newer", NOW + 7),
        Some(tokens::hash("new")),
        None,
        None,
    )
    .await
    .unwrap();
    assert!(alive("elsewhere", NOW + 8).await);
    assert!(!alive("new", NOW + 8).await);
}

/// A session of `u` started at `at` with the cookie `secret`, for an hour.
fn session_of(u: &User, secret: &str, at: i64) -> Session {
    Session {
        id_hash: tokens::hash(secret),
        user_id: u.id.clone(),
        auth_time: at,
        amr: gatehouse::model::Amr::PASSWORD,
        expires_at: at + 3600,
        last_seen_at: at,
        user_agent: Some(FIREFOX.to_owned()),
        ip: Some("198.51.100.4".to_owned()),
        kept: false,
    }
}

/// A sign-in from a browser new to its person is told to them once, however many sign-ins
/// of it race; one from a browser they used before, or from the first browser known for them,
/// is not.
async fn a_browser_new_to_a_person_is_told_once(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    let laptop = Some(tokens::hash("laptop"));
    let first = session_of(&alice, "first", NOW);
    s.create_session(first, None, laptop.clone(), None)
        .await
        .unwrap();
    let again = session_of(&alice, "again", NOW + 1);
    s.create_session(again, None, laptop, None).await.unwrap();
    assert!(s.claim_notices(NOW + 1, 100).await.unwrap().is_empty());

    let mut burst = tokio::task::JoinSet::new();
    for i in 0..16 {
        let (store, alice) = (Arc::clone(&f.store), alice.clone());
        burst.spawn(async move {
            let record = AuditRecord::new(NOW + 2, AuditKind::LoginSucceeded, "user:x")
                .subject(Some("alice"))
                .ip("198.51.100.4".parse().ok());
            let session = session_of(&alice, &format!("phone-{i}"), NOW + 2);
            let phone = Some(tokens::hash("phone"));
            store
                .create_session(session, None, phone, Some(record))
                .await
        });
    }
    for signed_in in burst.join_all().await {
        signed_in.unwrap();
    }
    let told = s.claim_notices(NOW + 2, 100).await.unwrap();
    assert_eq!(told.len(), 1, "{told:?}");
    let notice = &told[0].notice;
    assert_eq!(
        (notice.kind, notice.to.as_str(), notice.ip.as_deref()),
        (
            NoticeKind::NewSignIn,
            "alice@example.com",
            Some("198.51.100.4")
        )
    );
    s.settle_notice(&told[0], Settlement::Delivered, NOW + 2)
        .await
        .unwrap();
    let later = session_of(&alice, "later", NOW + 3);
    let phone = Some(tokens::hash("phone"));
    s.create_session(later, None, phone, None).await.unwrap();
    assert!(s.claim_notices(NOW + 3, 100).await.unwrap().is_empty());
    // Browsers unused for 400 days are forgotten: the laptop's next sign-in is news again.
    s.purge_expired(NOW + 1 + 400 * 86_400).await.unwrap();
    let back = session_of(&alice, "back", NOW + 1 + 400 * 86_400);
    let laptop = Some(tokens::hash("laptop"));
    s.create_session(back, None, laptop, None).await.unwrap();
    let told = s.claim_notices(NOW + 1 + 400 * 86_400, 100).await.unwrap();
    assert_eq!(
        told.iter().map(|q| q.notice.kind).collect::<Vec<_>>(),
        [NoticeKind::NewSignIn]
    );
}

/// A session ended from elsewhere forgets its browser for its person, so that browser's next
/// sign-in is told; not while another session of theirs is in it, not another person's, and
/// not for a session ended from its own browser.
async fn a_session_ended_from_elsewhere_forgets_its_browser(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let (alice, bob) = (user("alice"), user("bob"));
    s.create_user(alice.clone()).await.unwrap();
    s.create_user(bob.clone()).await.unwrap();
    let browser = |name: &str| Some(tokens::hash(name));
    let sign_in = async |who: &User, secret: &str, from: &str| {
        let session = session_of(who, secret, NOW);
        s.create_session(session, None, browser(from), None)
            .await
            .unwrap();
        let told = s.claim_notices(NOW, 100).await.unwrap();
        for t in &told {
            s.settle_notice(t, Settlement::Delivered, NOW)
                .await
                .unwrap();
        }
        told.len()
    };
    let end = async |secret: &str, from: EndedFrom| {
        s.end_session(&tokens::hash(secret), from, NOW, None)
            .await
            .unwrap();
    };
    // Two sessions of alice in her laptop, one in her phone (news); bob in a laptop whose
    // cookie hashes the same, and a tablet (news).
    assert_eq!(sign_in(&alice, "a1", "laptop").await, 0);
    assert_eq!(sign_in(&alice, "a2", "laptop").await, 0);
    assert_eq!(sign_in(&alice, "a3", "phone").await, 1);
    assert_eq!(sign_in(&bob, "b1", "laptop").await, 0);
    assert_eq!(sign_in(&bob, "b2", "tablet").await, 1);

    // Ended from elsewhere while a1 is still in it, or from itself: the laptop stays known.
    end("a2", EndedFrom::Elsewhere).await;
    end("a1", EndedFrom::ItsBrowser).await;
    assert_eq!(sign_in(&alice, "a4", "laptop").await, 0);
    end("a4", EndedFrom::ItsBrowser).await;
    assert_eq!(sign_in(&alice, "a5", "laptop").await, 0);
    // Its last session ended from elsewhere: the laptop is news to alice, not to bob.
    end("a5", EndedFrom::Elsewhere).await;
    assert_eq!(sign_in(&alice, "a6", "laptop").await, 1);
    assert_eq!(sign_in(&bob, "b3", "laptop").await, 0);
    // A session of an earlier release (or with sign-in notices off) names no browser: ending
    // it from elsewhere forgets nothing.
    s.create_session(session_of(&alice, "old", NOW), None, None, None)
        .await
        .unwrap();
    end("old", EndedFrom::Elsewhere).await;
    assert_eq!(sign_in(&alice, "a7", "laptop").await, 0);
    assert_eq!(sign_in(&alice, "a8", "phone").await, 0);

    // Every session of one browser ended from elsewhere at once: the browser is forgotten,
    // however the endings interleave.
    for i in 0..8 {
        sign_in(&bob, &format!("burst{i}"), "desktop").await;
    }
    let mut ending = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = Arc::clone(&f.store);
        ending.spawn(async move {
            let id = tokens::hash(&format!("burst{i}"));
            store
                .end_session(&id, EndedFrom::Elsewhere, NOW, None)
                .await
        });
    }
    for ended in ending.join_all().await {
        ended.unwrap();
    }
    assert_eq!(
        sign_in(&bob, "after-burst", "desktop").await,
        1,
        "news again"
    );
}

async fn refresh_tokens_without_offline_access_end_with_their_session(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    s.create_client(client("app"), None).await.unwrap();
    session(s, &alice, "s1", NOW + 3600).await;
    redeemed_in_session(s, &alice, "s1", "openid", "bound").await;
    redeemed_in_session(s, &alice, "s1", "openid offline_access", "offline").await;
    assert!(matches!(
        rotate(s, "bound", "bound-2", NOW + 1).await,
        Rotated::Issued(_)
    ));

    // Signing out ends the session's family, its latest tokens included; the offline one
    // lives on.
    s.end_session(&tokens::hash("s1"), EndedFrom::ItsBrowser, NOW + 2, None)
        .await
        .unwrap();
    let active =
        |t: &'static str| async move { s.introspect(&p(t), NOW + 3).await.unwrap().is_some() };
    assert!(!active("bound-2").await && !active("a-bound-2").await);
    assert_eq!(
        rotate(s, "bound-2", "bound-3", NOW + 3).await,
        Rotated::Invalid
    );
    assert!(active("offline").await);
    assert!(matches!(
        rotate(s, "offline", "offline-2", NOW + 3).await,
        Rotated::Issued(_)
    ));

    // A session that reaches its absolute end takes its family with it, ended or not.
    session(s, &alice, "s2", NOW + 100).await;
    redeemed_in_session(s, &alice, "s2", "openid", "short").await;
    assert!(matches!(
        rotate(s, "short", "short-2", NOW + 99).await,
        Rotated::Issued(_)
    ));
    assert_eq!(
        rotate(s, "short-2", "short-3", NOW + 100).await,
        Rotated::Invalid
    );
}

async fn disabling_or_a_new_password_ends_sessions_and_revokes_tokens_for_good(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    for name in ["carol", "dave"] {
        let u = issued(s, name, "app").await;
        session(s, &u, &format!("session-{name}"), NOW + 3600).await;
    }
    let gone = |t: String| async move { s.introspect(&p(&t), NOW + 2).await.unwrap().is_none() };

    let out = s
        .update_user("carol", UserChange::Disable, NOW + 1, None)
        .await
        .unwrap();
    assert_eq!((out.sessions, out.token_families), (1, 1));
    let out = s
        .update_user("carol", UserChange::Enable, NOW + 2, None)
        .await
        .unwrap();
    assert_eq!((out.sessions, out.token_families), (0, 0));
    // Enabled again, yet nothing comes back.
    assert!(gone("a1-carol-app".into()).await && gone("r1-carol-app".into()).await);
    assert!(
        s.session(&tokens::hash("session-carol"), NOW + 2)
            .await
            .unwrap()
            .is_none()
    );

    let out = s
        .update_user(
            "dave",
            UserChange::SetPassword("$argon2id$new".into()),
            NOW + 1,
            None,
        )
        .await
        .unwrap();
    assert_eq!((out.sessions, out.token_families), (1, 1));
    assert!(gone("a1-dave-app".into()).await && gone("r1-dave-app".into()).await);
    assert!(
        s.session(&tokens::hash("session-dave"), NOW + 2)
            .await
            .unwrap()
            .is_none()
    );
    let dave = common::user(s, "dave").await;
    assert_eq!(dave.password_hash.as_deref(), Some("$argon2id$new"));

    for result in [
        s.update_user("nobody", UserChange::Disable, NOW, None)
            .await,
        s.update_user("nobody", UserChange::SetPassword("x".into()), NOW, None)
            .await,
    ] {
        assert!(matches!(result, Err(StoreError::NotFound(_))), "{result:?}");
    }
}

async fn a_server_secret_is_made_once_and_shared(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let first = s.server_secret("form_key", vec![1; 32], NOW).await.unwrap();
    assert_eq!(first, vec![1; 32]);
    let again = s.server_secret("form_key", vec![2; 32], NOW).await.unwrap();
    assert_eq!(again, first, "the stored secret wins over a new candidate");
    let other = s.server_secret("other", vec![3; 32], NOW).await.unwrap();
    assert_eq!(other, vec![3; 32]);
}

async fn a_session_is_touched_and_ended(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    let id = tokens::hash("sid");
    s.create_session(
        Session {
            id_hash: id.clone(),
            user_id: alice.id.clone(),
            auth_time: NOW,
            amr: gatehouse::model::Amr::PASSWORD,
            expires_at: NOW + 3600,
            last_seen_at: NOW,
            user_agent: None,
            ip: None,
            kept: false,
        },
        None,
        None,
        None,
    )
    .await
    .unwrap();
    s.touch_session(&id, NOW + 100).await.unwrap();
    let (session, _) = s.session(&id, NOW + 100).await.unwrap().unwrap();
    assert_eq!(session.last_seen_at, NOW + 100);
    // Two requests of one browser finish out of order: the later use stands.
    s.touch_session(&id, NOW + 50).await.unwrap();
    let (session, _) = s.session(&id, NOW + 100).await.unwrap().unwrap();
    assert_eq!(session.last_seen_at, NOW + 100, "last use never moves back");
    // The absolute expiry holds whatever the last use.
    assert!(s.session(&id, NOW + 3600).await.unwrap().is_none());
    s.end_session(&id, EndedFrom::ItsBrowser, NOW + 100, None)
        .await
        .unwrap();
    assert!(s.session(&id, NOW + 100).await.unwrap().is_none());
    s.end_session(&id, EndedFrom::ItsBrowser, NOW + 100, None)
        .await
        .unwrap();
}

const POLICY: ThrottlePolicy = ThrottlePolicy {
    free_failures: 2,
    lockout_after: 5,
    lockout: 900,
    max_delay: 60,
    window: 3600,
};

fn throttle_key(key: &str, policy: ThrottlePolicy, on_success: OnSuccess) -> ThrottleKey {
    ThrottleKey {
        key: key.into(),
        policy,
        on_success,
    }
}

/// How long the attempt must wait (`Err`), or `Ok(())` when it was admitted.
async fn attempt(s: &dyn Store, keys: &[ThrottleKey], now: i64) -> Result<(), i64> {
    match s.admit_login_attempt(keys.to_vec(), now).await.unwrap() {
        Admission::Admitted(_) => Ok(()),
        Admission::Blocked { until, .. } => Err(until - now),
    }
}

/// An administrator lets a person whose failed attempts (passwords, codes) paused their
/// sign-ins sign in again: their counts are read, then forgotten with one record; their
/// address's count, which others share, stays; nothing to forget writes nothing.
async fn an_administrator_lets_a_paused_person_sign_in_again(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let ada = common::add_user(s, "ada").await;
    let ops = admin::Admin::new(s, "cli", None, NOW);
    assert_eq!(ops.locked_until(&ada).await.unwrap(), None);
    let forgotten = ops.unlock("ada").await.unwrap();
    assert_eq!(
        forgotten,
        admin::Unlocked {
            forgotten: false,
            paused_until: None
        }
    );
    assert!(
        s.audit_latest(5)
            .await
            .unwrap()
            .iter()
            .all(|e| e.record.kind != AuditKind::UserUnlocked)
    );

    // Ten wrong passwords a hundred seconds apart lock her account; two wrong codes count too.
    let account = throttle::keys("ada", Some([10, 0, 0, 1].into()), throttle::PER_ACCOUNT);
    for i in 0..10 {
        let t = NOW - 1000 + i * 100;
        assert_eq!(attempt(s, &account, t).await, Ok(()), "attempt {i}");
    }
    let codes = throttle::second_factor_keys(&ada.id, None, throttle::PER_ACCOUNT);
    attempt(s, &codes, NOW - 50).await.unwrap();
    let until = NOW - 100 + 900;
    assert_eq!(ops.locked_until(&ada).await.unwrap(), Some(until));
    assert_eq!(attempt(s, &account, NOW).await, Err(800));

    // Eight administrators let her in at once: one forgets (with the pause it ended), one
    // record; the others find nothing left to forget, nor a pause (read as they forget).
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..8 {
        let store = Arc::clone(&f.store);
        burst.spawn(async move {
            let actor = format!("admin-{i}");
            admin::Admin::new(store.as_ref(), &actor, None, NOW)
                .unlock("ada")
                .await
                .unwrap()
        });
    }
    let mut done = burst.join_all().await;
    done.sort_by_key(|d| !d.forgotten);
    assert_eq!(
        done[0],
        admin::Unlocked {
            forgotten: true,
            paused_until: Some(until)
        }
    );
    let nothing = admin::Unlocked {
        forgotten: false,
        paused_until: None,
    };
    assert!(done[1..].iter().all(|d| *d == nothing), "{done:?}");
    let records = s.audit_latest(9).await.unwrap();
    let unlocks = records
        .iter()
        .filter(|e| e.record.kind == AuditKind::UserUnlocked);
    assert_eq!(unlocks.count(), 1, "{records:?}");
    let record = records[0].record.clone();
    assert_eq!(record.kind, AuditKind::UserUnlocked);
    assert_eq!(record.subject.as_deref(), Some("ada"));
    assert_eq!(
        record.detail.as_deref(),
        Some("paused until 2027-01-15T08:13:20Z")
    );
    assert_eq!(ops.locked_until(&ada).await.unwrap(), None);
    assert!(
        s.throttle_counters(throttle::person_keys("ada", &ada.id))
            .await
            .unwrap()
            .is_empty()
    );
    // She signs in again at once; the address keeps its ten failures (and one for this try).
    assert_eq!(attempt(s, &account, NOW).await, Ok(()));
    let address = s
        .throttle_counters(vec!["ip:10.0.0.1".into()])
        .await
        .unwrap();
    assert_eq!(address.iter().map(|c| c.failures).collect::<Vec<_>>(), [11]);
    // Nothing left to forget but this try's count: forgotten, recorded without a pause.
    let done = ops.unlock("ada").await.unwrap();
    assert_eq!(
        done,
        admin::Unlocked {
            forgotten: true,
            paused_until: None
        }
    );
    assert_eq!(s.audit_latest(1).await.unwrap()[0].record.detail, None);
    assert!(!ops.unlock("ada").await.unwrap().forgotten);
    assert!(matches!(
        ops.unlock("nobody").await,
        Err(admin::AdminError::Store(StoreError::NotFound(_)))
    ));
}

async fn login_attempts_are_counted_then_delayed_then_locked_and_a_success_settles_them(
    db: Database,
) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = [throttle_key("user:alice", POLICY, OnSuccess::Forget)];
    let mut waits = Vec::new();
    for t in [0, 0, 0, 1, 1, 3, 3] {
        waits.push(attempt(s, &alice, NOW + t).await);
    }
    // Two free, the third makes the next wait 1 s, the fourth 2 s, the fifth locks; a
    // blocked attempt is not counted.
    assert_eq!(
        waits,
        [Ok(()), Ok(()), Ok(()), Ok(()), Err(2), Ok(()), Err(900)]
    );
    assert_eq!(attempt(s, &alice, NOW + 903).await, Ok(()));
    let bob = [throttle_key("user:bob", POLICY, OnSuccess::Forget)];
    assert_eq!(
        attempt(s, &bob, NOW).await,
        Ok(()),
        "keys are counted apart"
    );

    // A success forgets the account's count.
    s.settle_login_success(alice.to_vec()).await.unwrap();
    for _ in 0..3 {
        assert_eq!(attempt(s, &alice, NOW + 904).await, Ok(()));
    }
    // A failure long after the previous one starts the count again.
    assert_eq!(attempt(s, &alice, NOW + 904 + 3600).await, Ok(()));
    assert_eq!(attempt(s, &alice, NOW + 904 + 3600).await, Ok(()));
    assert_eq!(attempt(s, &alice, NOW + 904 + 3600).await, Ok(()));
    assert_eq!(attempt(s, &alice, NOW + 904 + 3600).await, Err(1));

    // An address is refunded one attempt per success, never wiped.
    let office = [throttle_key("ip:10.0.0.1", POLICY, OnSuccess::Refund)];
    for _ in 0..3 {
        assert_eq!(attempt(s, &office, NOW).await, Ok(()));
    }
    s.settle_login_success(office.to_vec()).await.unwrap();
    assert_eq!(
        attempt(s, &office, NOW).await,
        Ok(()),
        "refunded: the third again"
    );
    assert_eq!(attempt(s, &office, NOW).await, Err(1));
}

async fn a_burst_of_attempts_is_admitted_only_as_far_as_the_limits_allow(db: Database) {
    let f = open(db).await;
    let keys = vec![
        throttle_key("user:carol", POLICY, OnSuccess::Forget),
        throttle_key(
            "ip:10.0.0.2",
            ThrottlePolicy {
                free_failures: 20,
                lockout_after: 100,
                ..POLICY
            },
            OnSuccess::Refund,
        ),
    ];
    let tasks: Vec<_> = (0..200)
        .map(|_| {
            let s = Arc::clone(&f.store);
            let keys = keys.clone();
            tokio::spawn(async move { attempt(s.as_ref(), &keys, NOW).await })
        })
        .collect();
    let mut admitted = 0;
    for t in tasks {
        admitted += usize::from(t.await.unwrap().is_ok());
    }
    // At one instant: the free failures and the one that starts the delays, however many race.
    assert_eq!(admitted, POLICY.free_failures as usize + 1);
}

async fn the_audit_log_keeps_order_and_pages(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    for i in 0..25 {
        s.record(AuditRecord {
            at: NOW + i,
            kind: gatehouse::model::AuditKind::LoginFailed,
            actor: "anonymous".into(),
            subject: Some(format!("user{i}")),
            client_id: None,
            ip: Some("10.0.0.1".into()),
            detail: None,
            // Every other one from a browser: kept as it was given, and read back.
            user_agent: (i % 2 == 0).then(|| FIREFOX.to_owned()),
        })
        .await
        .unwrap();
    }
    let first = s.audit_since(0, 10).await.unwrap();
    assert_eq!(first.len(), 10);
    assert_eq!(first[0].record.subject.as_deref(), Some("user0"));
    assert_eq!(first[0].record.user_agent.as_deref(), Some(FIREFOX));
    assert_eq!(first[1].record.user_agent, None);
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

/// What a query of the audit log chooses is what `AuditQuery::matches` says, on every
/// backend: by the start of the kind (in any case; `%` and `_` are letters, not wildcards), the
/// subject and the actor, newest first.
async fn an_audit_query_chooses_what_its_filter_matches(db: Database) {
    use gatehouse::model::{AuditKind, AuditQuery};
    let f = open(db).await;
    let s = f.store.as_ref();
    let mut all = Vec::new();
    for (i, (kind, subject, actor)) in [
        (AuditKind::LoginSucceeded, Some("ada"), "user:1"),
        (AuditKind::LoginFailed, Some("bob"), "anonymous"),
        (AuditKind::TokenIssued, Some("ada"), "user:1"),
        (AuditKind::UserCreated, Some("ada"), "cli"),
        (AuditKind::ClientUpdated, Some("web"), "cli"),
        (AuditKind::LoginFailed, None, "anonymous"),
    ]
    .into_iter()
    .enumerate()
    {
        let record = AuditRecord::new(NOW + i as i64, kind, actor).subject(subject);
        s.record(record.clone()).await.unwrap();
        all.push(record);
    }
    all.reverse();
    for kind_prefix in [
        None,
        Some("login."),
        Some("LOGIN."),
        Some("admin."),
        Some("admin.user."),
        Some("token.issued"),
        Some("login_"),
        Some("%"),
        Some(""),
        Some("nothing"),
    ] {
        for subject in [None, Some("ada"), Some("nobody")] {
            for actor in [None, Some("cli"), Some("user:1")] {
                let query = AuditQuery {
                    kind_prefix: kind_prefix.map(str::to_owned),
                    subject: subject.map(str::to_owned),
                    actor: actor.map(str::to_owned),
                    before: None,
                    limit: 100,
                };
                let chosen: Vec<AuditRecord> = s
                    .audit_query(query.clone())
                    .await
                    .unwrap()
                    .into_iter()
                    .map(|e| e.record)
                    .collect();
                let matched: Vec<AuditRecord> =
                    all.iter().filter(|r| query.matches(r)).cloned().collect();
                assert_eq!(chosen, matched, "{query:?}");
            }
        }
    }
    // The filter chooses something where it should: not a table of empty answers.
    let login = AuditQuery {
        kind_prefix: Some("Login.".into()),
        limit: 100,
        ..Default::default()
    };
    assert_eq!(s.audit_query(login).await.unwrap().len(), 3);
}

/// A code's redemption and a refresh are audited in their own transactions: issued and reuse
/// are recorded with the request's address, what changed nothing is not.
async fn a_refresh_is_audited_in_its_own_transaction(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = issued(s, "alice", "app").await;
    // The code's redemption was audited with it.
    let redeemed = s.audit_latest(1).await.unwrap().remove(0);
    assert_eq!(
        (redeemed.record.kind, redeemed.record.actor.clone()),
        (
            gatehouse::model::AuditKind::TokenIssued,
            format!("user:{}", alice.id)
        )
    );
    assert!(
        redeemed
            .record
            .detail
            .as_deref()
            .unwrap()
            .starts_with("grant=authorization_code "),
        "{redeemed:?}"
    );
    let before = redeemed.id;
    let ip = Some("192.0.2.9".parse().unwrap());
    let r1 = h("r1", "alice", "app");
    let rotate = |presented: Presented, t: NewTokens| async move {
        s.rotate_refresh_token(&presented, "app", Default::default(), t, NOW + 1, ip)
            .await
            .unwrap()
            .unwrap()
    };
    assert!(matches!(
        rotate(r1.clone(), next_tokens("r1-alice-app", "a2", "r2")).await,
        Rotated::Issued(_)
    ));
    assert_eq!(
        rotate(p("unknown"), next_tokens("r1-alice-app", "a3", "r3")).await,
        Rotated::Invalid
    );
    assert_eq!(
        rotate(r1, next_tokens("r1-alice-app", "a4", "r4")).await,
        Rotated::Reused {
            username: "alice".into()
        }
    );
    let records: Vec<AuditRecord> = s
        .audit_since(before, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.record)
        .collect();
    let kinds: Vec<_> = records.iter().map(|r| r.kind).collect();
    assert_eq!(
        kinds,
        [
            gatehouse::model::AuditKind::TokenIssued,
            gatehouse::model::AuditKind::TokenReuseDetected
        ]
    );
    assert!(records.iter().all(|r| r.ip.as_deref() == Some("192.0.2.9")
        && r.client_id.as_deref() == Some("app")
        && r.at == NOW + 1));
    assert_eq!(records[0].subject.as_deref(), Some("alice"));
    assert_eq!(records[0].actor, format!("user:{}", alice.id));
    assert!(
        records[0]
            .detail
            .as_deref()
            .unwrap()
            .starts_with("grant=refresh_token scope=openid offline_access family="),
        "{records:?}"
    );
}

fn audit_at(at: i64, subject: String) -> AuditRecord {
    AuditRecord {
        at,
        kind: gatehouse::model::AuditKind::LoginFailed,
        actor: "anonymous".into(),
        subject: Some(subject),
        client_id: None,
        ip: None,
        detail: None,
        user_agent: None,
    }
}

async fn audit_records_past_their_retention_are_purged_in_batches(db: Database) {
    let f = open(db).await;
    // 2,300 records from long ago, written at once: more than two batches of the sweep, a
    // third of them of tokens issued (which have an index by time of their own).
    let writes: Vec<_> = (0..2300)
        .map(|i| {
            let s = Arc::clone(&f.store);
            let old = audit_at(NOW - 1000 + i % 7, format!("old{i}"));
            let old = if i % 3 == 0 {
                AuditRecord {
                    kind: gatehouse::model::AuditKind::TokenIssued,
                    ..old
                }
            } else {
                old
            };
            tokio::spawn(async move { s.record(old).await })
        })
        .collect();
    for w in writes {
        w.await.unwrap().unwrap();
    }
    let s = f.store.as_ref();
    // The first young one is exactly at the cutoff: kept (only what is older goes).
    for i in 0..5 {
        s.record(audit_at(NOW - 10 + i, format!("young{i}")))
            .await
            .unwrap();
    }
    assert_eq!(s.purge_audit(NOW - 10).await.unwrap(), 2300);
    let left = s.audit_since(0, 10_000).await.unwrap();
    let subjects: Vec<_> = left
        .iter()
        .filter_map(|e| e.record.subject.as_deref())
        .collect();
    assert_eq!(subjects, ["young0", "young1", "young2", "young3", "young4"]);
    assert_eq!(
        s.purge_audit(NOW - 10).await.unwrap(),
        0,
        "nothing left to purge"
    );
    // Ids are not reused: a reader following the log by id sees the next record.
    s.record(audit_at(NOW, "next".into())).await.unwrap();
    let after = s.audit_since(left[4].id, 10).await.unwrap();
    assert_eq!(after.len(), 1);
    assert_eq!(after[0].record.subject.as_deref(), Some("next"));
}

async fn records_of_tokens_issued_are_purged_apart_from_the_rest(db: Database) {
    use gatehouse::model::AuditKind;
    let f = open(db).await;
    let token = |at: i64, subject: String| AuditRecord {
        kind: AuditKind::TokenIssued,
        ..audit_at(at, subject)
    };
    // 1,200 old records of tokens issued, more than a batch of the sweep, between old sign-in
    // failures that stay: the sweep must not stop at them.
    let writes: Vec<_> = (0..1200)
        .map(|i| {
            let s = Arc::clone(&f.store);
            tokio::spawn(async move {
                s.record(token(NOW - 1000 + i % 7, format!("old-token{i}")))
                    .await?;
                if i % 100 == 0 {
                    s.record(audit_at(NOW - 1000 + i % 7, format!("old-login{i}")))
                        .await?;
                }
                Ok::<_, gatehouse::store::StoreError>(())
            })
        })
        .collect();
    for w in writes {
        w.await.unwrap().unwrap();
    }
    let s = f.store.as_ref();
    s.record(token(NOW - 10, "young-token".into()))
        .await
        .unwrap();
    assert_eq!(s.purge_token_audit(NOW - 10).await.unwrap(), 1200);
    let mut left: Vec<_> = s
        .audit_since(0, 10_000)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| e.record.subject)
        .collect();
    left.sort();
    let mut expected: Vec<String> = (0..12).map(|i| format!("old-login{}", i * 100)).collect();
    expected.push("young-token".into());
    expected.sort();
    assert_eq!(left, expected);
    assert_eq!(s.purge_token_audit(NOW - 10).await.unwrap(), 0);
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
    // After the refresh token's expiry: code, access token, and the family with its refresh
    // token.
    let removed = s.purge_expired(NOW + 3600).await.unwrap();
    assert_eq!(removed, 3);
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

/// Access tokens are in no index by family: the sweep keeps a family while its last access
/// token is valid, after its refresh token expired or when it never had one, and a token whose
/// family is gone (its client removed) is unknown.
async fn a_family_is_kept_while_an_access_token_of_it_is_valid(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    // A rotation issues an access token that outlives the new refresh token.
    let outliving = NewTokens {
        access_expires_at: NOW + 7200,
        ..next_tokens("r1-alice-app", "a2", "r2")
    };
    let rotated = s
        .rotate_refresh_token(
            &h("r1", "alice", "app"),
            "app",
            Default::default(),
            outliving,
            NOW,
            None,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(rotated, Rotated::Issued(_)), "{rotated:?}");
    // A client without refresh tokens: its family has an access token and nothing else.
    let u = s.user_by_username("alice").await.unwrap().unwrap();
    s.create_client(client("api"), None).await.unwrap();
    s.create_authorization_code(a_code("code-api", "api", &u.id, "openid"))
        .await
        .unwrap();
    let request = CodeRequest {
        client_id: "api".into(),
        redirect_uri: Some("https://app.example/cb".into()),
        code_verifier: None,
        dpop_jkt: None,
        resources: vec![],
    };
    let access_only = NewTokens {
        refresh_token_hash: None,
        ..new_tokens("a-api", "unused")
    };
    let redeemed = s
        .redeem_authorization_code(&tokens::hash("code-api"), request, access_only, NOW, None)
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(redeemed, Redeemed::Issued(_)), "{redeemed:?}");
    let active = async |token: &str, at| s.introspect(&p(token), at).await.unwrap().is_some();

    // The family with no refresh token stays while its access token is valid.
    s.purge_expired(NOW + 1).await.unwrap();
    assert!(active("a-api", NOW + 1).await);
    // Past the refresh token's expiry: its family stays for the access token that outlives it.
    s.purge_expired(NOW + 3601).await.unwrap();
    assert!(active("a2", NOW + 3601).await);
    assert!(!active("r2", NOW + 3601).await, "the refresh token expired");
    // Once the last access token expired, the family goes.
    s.purge_expired(NOW + 7200).await.unwrap();
    assert_eq!(
        s.purge_expired(NOW + 7200).await.unwrap(),
        0,
        "nothing left"
    );
    assert!(!active("a2", NOW + 7199).await, "its family is gone");

    // Removing a client removes its families: their access tokens are unknown at once.
    let u = issued(s, "bob", "web").await;
    assert!(active("a1-bob-web", NOW).await);
    s.remove_client("web", None).await.unwrap();
    assert!(!active("a1-bob-web", NOW).await);
    assert!(s.user_by_username(&u.username).await.unwrap().is_some());
}

/// The answer kept for a retry is given back within its window, and cleared once it has
/// passed: then the rotated token is plain reuse again.
async fn a_kept_retry_answer_is_given_back_in_its_window_and_cleared_after(db: Database) {
    use gatehouse::model::RetryCopy;
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    let with_retry = NewTokens {
        retry: Some(RetryCopy {
            sealed: vec![9, 9, 9],
            until: NOW + 5,
        }),
        ..next_tokens("r1-alice-app", "a2", "r2")
    };
    let r1 = h("r1", "alice", "app");
    let rotate = async |t: NewTokens, now| {
        s.rotate_refresh_token(&r1, "app", Default::default(), t, now, None)
            .await
            .unwrap()
            .unwrap()
    };
    assert!(matches!(rotate(with_retry, NOW).await, Rotated::Issued(_)));
    let retried = rotate(next_tokens("r1-alice-app", "a3", "r3"), NOW + 1).await;
    assert_eq!(
        retried,
        Rotated::Retried {
            sealed: vec![9, 9, 9],
            scope: "openid offline_access".into()
        }
    );
    // Nothing is cleared before the window's end; everything after.
    assert_eq!(s.forget_retry_answers(NOW + 4).await.unwrap(), 0);
    assert_eq!(s.forget_retry_answers(NOW + 5).await.unwrap(), 1);
    assert_eq!(s.forget_retry_answers(NOW + 5).await.unwrap(), 0);
    // Cleared: the same presentation, even at a time inside the old window, is reuse.
    assert_eq!(
        rotate(next_tokens("r1-alice-app", "a4", "r4"), NOW + 1).await,
        Rotated::Reused {
            username: "alice".into()
        }
    );
}

async fn purging_runs_in_batches_until_done_and_keeps_reuse_detection(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = issued(s, "alice", "app").await;
    // A rotated refresh token, still within its lifetime, and its successor.
    assert!(matches!(
        s.rotate_refresh_token(
            &h("r1", "alice", "app"),
            "app",
            Default::default(),
            next_tokens("r1-alice-app", "a2", "r2"),
            NOW + 1,
            None
        )
        .await
        .unwrap()
        .unwrap(),
        Rotated::Issued(_)
    ));
    // 2,500 sessions that ended long ago: more than two batches of the sweep.
    for i in 0..2500 {
        s.create_session(
            Session {
                id_hash: tokens::hash(&format!("old-{i}")),
                user_id: alice.id.clone(),
                auth_time: NOW - 100,
                amr: gatehouse::model::Amr::PASSWORD,
                expires_at: NOW - 10,
                last_seen_at: NOW - 100,
                user_agent: None,
                ip: None,
                kept: false,
            },
            None,
            None,
            None,
        )
        .await
        .unwrap();
    }
    let removed = s.purge_expired(NOW + 2).await.unwrap();
    assert!(removed >= 2500, "{removed} rows removed");
    assert!(s.sessions(&alice.id, NOW - 50).await.unwrap().is_empty());
    assert_eq!(s.purge_expired(NOW + 2).await.unwrap(), 0, "nothing left");
    // The rotated token is still known: presenting it again is reuse, and revokes the family.
    assert_eq!(
        s.rotate_refresh_token(
            &h("r1", "alice", "app"),
            "app",
            Default::default(),
            next_tokens("r1-alice-app", "a3", "r3"),
            NOW + 3,
            None
        )
        .await
        .unwrap()
        .unwrap(),
        Rotated::Reused {
            username: "alice".into()
        }
    );
    assert!(s.introspect(&p("r2"), NOW + 3).await.unwrap().is_none());
}

/// A time step and a recovery code are each spent once, however many race for them; enrolling
/// twice keeps the first app; removing takes both, with its record.
async fn second_factors_are_spent_once_and_enrolled_once(db: Database) {
    let f = open(db).await;
    let ada = user("ada");
    f.store.create_user(ada.clone()).await.unwrap();
    let record = |kind| AuditRecord::new(NOW, kind, "test");
    let factor = |secret: u8| TotpFactor {
        user_id: ada.id.clone(),
        secret: vec![secret; 20],
        created_at: NOW,
        last_step: Some(100),
    };
    let codes = vec!["h1".to_owned(), "h2".to_owned(), "h1".to_owned()];
    assert!(
        f.store
            .enrol_totp(factor(1), codes, record(AuditKind::TotpEnrolled))
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .enrol_totp(
                factor(2),
                vec!["h9".into()],
                record(AuditKind::TotpEnrolled)
            )
            .await
            .unwrap(),
        "an app is enrolled already"
    );
    let stored = f.store.totp_factor(&ada.id).await.unwrap().unwrap();
    assert_eq!(stored.secret, vec![1; 20], "the first app stays");
    let factors = f.store.factors(&ada.id).await.unwrap();
    assert_eq!(factors.totp_enrolled_at, Some(NOW));
    assert_eq!(factors.recovery_codes_left, 2, "the codes of the first");

    // Steps only move forward, once each.
    assert!(!f.store.claim_totp_step(&ada.id, 100).await.unwrap());
    assert!(!f.store.claim_totp_step(&ada.id, 99).await.unwrap());
    let race = |step: i64| {
        let tasks: Vec<_> = (0..16)
            .map(|_| {
                let (s, id) = (Arc::clone(&f.store), ada.id.clone());
                tokio::spawn(async move { s.claim_totp_step(&id, step).await.unwrap() })
            })
            .collect();
        async move {
            let mut won = 0;
            for t in tasks {
                won += usize::from(t.await.unwrap());
            }
            won
        }
    };
    assert_eq!(race(101).await, 1);
    assert_eq!(race(103).await, 1);
    assert!(!f.store.claim_totp_step(&ada.id, 102).await.unwrap());
    assert!(!f.store.claim_totp_step("nobody", 500).await.unwrap());

    // A recovery code: spent once, with its record; another person's hash spends nothing.
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (s, id) = (Arc::clone(&f.store), ada.id.clone());
            tokio::spawn(async move {
                s.use_recovery_code(
                    &id,
                    "h1",
                    AuditRecord::new(NOW, AuditKind::RecoveryCodeUsed, "t"),
                )
                .await
                .unwrap()
            })
        })
        .collect();
    let mut won = 0;
    for t in tasks {
        won += usize::from(t.await.unwrap());
    }
    assert_eq!(won, 1);
    let bob = user("bob");
    f.store.create_user(bob.clone()).await.unwrap();
    assert!(
        !f.store
            .use_recovery_code(&bob.id, "h2", record(AuditKind::RecoveryCodeUsed))
            .await
            .unwrap()
    );
    let used = f
        .store
        .audit_latest(100)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind == AuditKind::RecoveryCodeUsed)
        .count();
    assert_eq!(used, 1, "one record, for the one use");

    // A new set replaces the old one.
    f.store
        .replace_recovery_codes(
            &ada.id,
            vec!["n1".into(), "n2".into(), "n3".into()],
            NOW,
            record(AuditKind::RecoveryCodesRegenerated),
        )
        .await
        .unwrap();
    assert!(
        !f.store
            .use_recovery_code(&ada.id, "h2", record(AuditKind::RecoveryCodeUsed))
            .await
            .unwrap()
    );
    assert_eq!(
        f.store.factors(&ada.id).await.unwrap().recovery_codes_left,
        3
    );

    // Removed: both, and what there was is returned.
    let had = f
        .store
        .remove_factors(&ada.id, record(AuditKind::FactorsReset))
        .await
        .unwrap();
    assert_eq!(had.recovery_codes_left, 3);
    assert!(had.has_app());
    assert_eq!(f.store.factors(&ada.id).await.unwrap(), Factors::default());
    assert!(f.store.totp_factor(&ada.id).await.unwrap().is_none());
}

/// A person with a passkey may go without a password, which signs them out everywhere, with
/// its record and its notice; the last passkey of someone without a password stays; and a
/// password and the last passkey removed at once never both go.
async fn a_person_keeps_a_way_in(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let ada = user("ada");
    s.create_user(ada.clone()).await.unwrap();
    let removed =
        || AuditRecord::new(NOW, AuditKind::PasswordRemoved, "user:ada").subject(Some("ada"));
    let gone = || AuditRecord::new(NOW, AuditKind::PasskeyRemoved, "user:ada").subject(Some("ada"));
    // Without a passkey the password stays.
    assert_eq!(
        s.remove_password(&ada.id, NOW, removed()).await.unwrap(),
        None
    );
    assert!(common::user(s, "ada").await.password_hash.is_some());

    s.add_passkey(
        common::passkey(&ada.id, "k1", NOW),
        AuditRecord::new(NOW, AuditKind::PasskeyAdded, "test"),
    )
    .await
    .unwrap();
    session(s, &ada, "laptop", NOW + 3600).await;
    let out = s
        .remove_password(&ada.id, NOW, removed())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(out.sessions, 1, "whoever knew the password is signed out");
    assert_eq!(common::user(s, "ada").await.password_hash, None);
    let written = s.audit_latest(1).await.unwrap().remove(0).record;
    assert_eq!(
        (written.kind, written.detail.as_deref()),
        (
            AuditKind::PasswordRemoved,
            Some("sessions ended: 1, token families revoked: 0")
        )
    );
    let told = s.claim_notices(NOW + 1, 100).await.unwrap();
    let kinds: Vec<_> = told.iter().map(|q| q.notice.kind).collect();
    assert!(kinds.contains(&NoticeKind::PasswordRemoved), "{kinds:?}");
    // Nothing left to remove, and the last passkey stays.
    assert_eq!(
        s.remove_password(&ada.id, NOW, removed()).await.unwrap(),
        None
    );
    assert_eq!(
        s.remove_passkey(&ada.id, "k1", gone()).await.unwrap(),
        PasskeyRemoval::LastWayIn
    );
    assert_eq!(s.passkeys(&ada.id).await.unwrap().len(), 1);
    assert_eq!(
        s.audit_latest(1).await.unwrap()[0].record.kind,
        AuditKind::PasswordRemoved
    );
    // With a second one, either may go, but not both.
    s.add_passkey(
        common::passkey(&ada.id, "k2", NOW),
        AuditRecord::new(NOW, AuditKind::PasskeyAdded, "test"),
    )
    .await
    .unwrap();
    assert_eq!(
        s.remove_passkey(&ada.id, "k1", gone()).await.unwrap(),
        PasskeyRemoval::Removed
    );
    assert_eq!(
        s.remove_passkey(&ada.id, "k2", gone()).await.unwrap(),
        PasskeyRemoval::LastWayIn
    );
    // A new password makes the last passkey removable again.
    s.update_user(
        "ada",
        UserChange::SetPassword("$argon2id$again".into()),
        NOW,
        None,
    )
    .await
    .unwrap();
    assert_eq!(
        s.remove_passkey(&ada.id, "k2", gone()).await.unwrap(),
        PasskeyRemoval::Removed
    );

    // People whose password and only passkey are removed at once: one of the two goes.
    let mut people = Vec::new();
    for i in 0..16 {
        let person = user(&format!("p{i}"));
        s.create_user(person.clone()).await.unwrap();
        s.add_passkey(
            common::passkey(&person.id, &format!("p{i}-key"), NOW),
            AuditRecord::new(NOW, AuditKind::PasskeyAdded, "test"),
        )
        .await
        .unwrap();
        people.push(person);
    }
    let mut burst = tokio::task::JoinSet::new();
    for person in &people {
        let (store, id) = (Arc::clone(&f.store), person.id.clone());
        burst.spawn(async move {
            let record = AuditRecord::new(NOW, AuditKind::PasswordRemoved, "test");
            let removed = store.remove_password(&id, NOW, record).await.unwrap();
            (id, "password", removed.is_some())
        });
        let (store, id, key) = (
            Arc::clone(&f.store),
            person.id.clone(),
            format!("{}-key", person.username),
        );
        burst.spawn(async move {
            let record = AuditRecord::new(NOW, AuditKind::PasskeyRemoved, "test");
            let removed = store.remove_passkey(&id, &key, record).await.unwrap();
            (id, "passkey", removed == PasskeyRemoval::Removed)
        });
    }
    let outcomes = burst.join_all().await;
    for person in &people {
        let theirs: Vec<_> = outcomes.iter().filter(|o| o.0 == person.id).collect();
        let gone = theirs.iter().filter(|o| o.2).count();
        assert_eq!(gone, 1, "{}: {theirs:?}", person.username);
        let now = common::user(s, &person.username).await;
        let keys = s.passkeys(&person.id).await.unwrap().len();
        assert!(
            now.password_hash.is_some() || keys > 0,
            "{} has no way in",
            person.username
        );
    }
}

/// An invitation taken with a passkey leaves its person that passkey and no password, and its
/// address confirmed, in one transaction: a credential id registered already changes nothing
/// and leaves the link to be used.
async fn an_invitation_taken_with_a_passkey_leaves_no_password(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let [carol, dave] = ["carol", "dave"].map(user);
    s.create_user(carol.clone()).await.unwrap();
    s.create_user(dave.clone()).await.unwrap();
    let added = AuditRecord::new(NOW, AuditKind::PasskeyAdded, "test");
    s.add_passkey(common::passkey(&dave.id, "daves", NOW), added)
        .await
        .unwrap();
    let invite = link(s, &carol, "welcome", EmailPurpose::Invite).await;
    let accepted = || AuditRecord::new(NOW, AuditKind::InvitationAccepted, "user:carol");
    let taken = |credential_id: &str| {
        let use_ = LinkUse::InviteWithPasskey(common::passkey(&carol.id, credential_id, NOW));
        s.redeem_email_token(&invite, use_, NOW + 1, accepted())
    };
    assert!(
        taken("daves").await.is_err(),
        "another person's credential id"
    );
    assert!(common::user(s, "carol").await.password_hash.is_some());
    assert!(s.passkeys(&carol.id).await.unwrap().is_empty());

    let (_, person) = taken("carols").await.unwrap().unwrap();
    assert_eq!(person.username, "carol");
    let now = common::user(s, "carol").await;
    assert_eq!((now.password_hash, now.email_verified), (None, true));
    let keys = s.passkeys(&carol.id).await.unwrap();
    assert_eq!(
        keys.iter()
            .map(|k| k.credential_id.as_str())
            .collect::<Vec<_>>(),
        ["carols"]
    );
    assert_eq!(
        taken("again").await.unwrap(),
        Err(Refused::Unknown),
        "used once"
    );
    assert_eq!(s.passkeys(&carol.id).await.unwrap().len(), 1);
}

/// A sign-up link makes accounts in its groups while it has uses left and works: of a burst of
/// sign-ups with a link for two people, two make an account, each counted where it is made;
/// a look-alike name, an address another account has confirmed, a name taken, an expired or removed link
/// make none and count nothing.
async fn a_signup_link_makes_no_more_accounts_than_it_allows(db: Database) {
    use gatehouse::auth::signup::{self, LinkSpec, NoSignup};
    use gatehouse::model::{Named, SignedUp};
    let f = open(db).await;
    let s = f.store.clone();
    s.create_group(group("staff"), None).await.unwrap();
    s.create_group(group("wiki"), None).await.unwrap();
    s.create_user(user("ada")).await.unwrap();
    let made = |uses, groups: &[&str]| {
        let spec = LinkSpec {
            uses,
            days: 1,
            note: "the team chat".into(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            domains: Vec::new(),
        };
        let id = tokens::new_id()[..12].to_owned();
        signup::new_link(
            spec,
            id,
            tokens::hash(&tokens::generate()),
            "cli".into(),
            NOW,
        )
        .unwrap()
    };
    let made_record = || AuditRecord::new(NOW, AuditKind::SignupLinkMade, "cli");
    let missing = made(1, &["staff", "nobody"]);
    assert!(matches!(
        s.create_signup_link(missing.clone(), made_record()).await,
        Err(StoreError::NotFound(Named::Group(g))) if g == "nobody"
    ));
    assert!(s.signup_link(&missing.secret_hash).await.unwrap().is_none());

    let link = made(2, &["staff", "wiki"]);
    s.create_signup_link(link.clone(), made_record())
        .await
        .unwrap();
    assert_eq!(
        s.signup_link(&link.secret_hash).await.unwrap(),
        Some(link.clone())
    );
    let signed_up = |name: String, at| {
        let s = s.clone();
        let hash = link.secret_hash.clone();
        async move {
            let record = AuditRecord::new(at, AuditKind::SignedUp, "user:new").subject(Some(&name));
            s.sign_up(&hash, user(&name), None, at, record).await
        }
    };
    // Refused before anything is counted: a look-alike of ada, ada's confirmed address, ada's
    // name.
    assert_eq!(
        signed_up("ADA".into(), NOW).await.unwrap(),
        SignedUp::LooksLike("ada".into())
    );
    let confirmed = |email: &str| UserChange::SetEmail {
        email: email.to_owned(),
        verified: true,
    };
    s.update_user("ada", confirmed("ada@example.com"), NOW, None)
        .await
        .unwrap();
    let mut same_address = user("grace");
    same_address.email = "Ada@Example.com".into();
    let record = AuditRecord::new(NOW, AuditKind::SignedUp, "user:new");
    assert_eq!(
        s.sign_up(&link.secret_hash, same_address, None, NOW, record)
            .await
            .unwrap(),
        SignedUp::AddressTaken
    );
    let mut taken = user("ada");
    taken.email = "other@example.com".into();
    let record = AuditRecord::new(NOW, AuditKind::SignedUp, "user:new");
    let conflict = s.sign_up(&link.secret_hash, taken, None, NOW, record).await;
    assert!(
        matches!(
            conflict,
            Err(StoreError::Conflict(_)) | Ok(SignedUp::LooksLike(_))
        ),
        "{conflict:?}"
    );
    assert_eq!(
        s.signup_link(&link.secret_hash)
            .await
            .unwrap()
            .unwrap()
            .uses,
        0
    );

    // Sixteen at once, each their own name: two accounts.
    let burst: Vec<_> = (0..16)
        .map(|i| tokio::spawn(signed_up(format!("person{i}"), NOW + 1)))
        .collect();
    let mut done = 0;
    for outcome in burst {
        match outcome.await.unwrap().unwrap() {
            SignedUp::Done => done += 1,
            SignedUp::Refused(NoSignup::UsedUp) => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(done, 2);
    let listed = s.signup_links().await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!((listed[0].uses, listed[0].max_uses), (2, 2));
    let made_names: Vec<String> = s
        .list_users()
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.username)
        .filter(|n| n.starts_with("person"))
        .collect();
    assert_eq!(made_names.len(), 2);
    for name in &made_names {
        let person = common::user(s.as_ref(), name).await;
        let mut groups: Vec<String> = s
            .user_groups(&person.id)
            .await
            .unwrap()
            .into_iter()
            .map(|g| g.name)
            .collect();
        groups.sort();
        assert_eq!(groups, ["staff", "wiki"], "{name}");
    }
    let signed: Vec<_> = s
        .audit_latest(10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind == AuditKind::SignedUp)
        .collect();
    assert_eq!(signed.len(), 2, "one record for each account made");

    // Eight at once with one new address, each through a link of their own: eight accounts,
    // none with the address confirmed, so none takes it from the others. Once one of them
    // confirms it, it is taken.
    let mut own_links = Vec::new();
    for _ in 0..9 {
        let own = made(1, &[]);
        s.create_signup_link(own.clone(), made_record())
            .await
            .unwrap();
        own_links.push(own.secret_hash);
    }
    let last_link = own_links.pop().unwrap();
    let same_address: Vec<_> = own_links
        .into_iter()
        .enumerate()
        .map(|(i, hash)| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut person = user(&format!("twin{i}"));
                person.email = "twin@example.com".into();
                let record = AuditRecord::new(NOW, AuditKind::SignedUp, "user:new");
                s.sign_up(&hash, person, None, NOW, record).await.unwrap()
            })
        })
        .collect();
    for outcome in same_address {
        assert_eq!(outcome.await.unwrap(), SignedUp::Done);
    }
    for i in 0..8 {
        let twin = common::user(s.as_ref(), &format!("twin{i}")).await;
        assert!(!twin.email_verified, "twin{i}");
    }
    s.update_user("twin3", confirmed("twin@example.com"), NOW, None)
        .await
        .unwrap();
    let mut ninth = user("twin8");
    ninth.email = "TWIN@example.com".into();
    let record = AuditRecord::new(NOW, AuditKind::SignedUp, "user:new");
    assert_eq!(
        s.sign_up(&last_link, ninth, None, NOW, record)
            .await
            .unwrap(),
        SignedUp::AddressTaken
    );

    // An expired link and a removed one make none.
    let short = made(5, &[]);
    s.create_signup_link(short.clone(), made_record())
        .await
        .unwrap();
    let record = AuditRecord::new(short.expires_at, AuditKind::SignedUp, "user:new");
    assert_eq!(
        s.sign_up(
            &short.secret_hash,
            user("late"),
            None,
            short.expires_at,
            record
        )
        .await
        .unwrap(),
        SignedUp::Refused(NoSignup::Expired)
    );
    let removed = AuditRecord::new(NOW, AuditKind::SignupLinkRemoved, "cli");
    s.remove_signup_link(&short.id, removed.clone())
        .await
        .unwrap();
    assert!(matches!(
        s.remove_signup_link(&short.id, removed).await,
        Err(StoreError::NotFound(Named::SignupLink(_)))
    ));
    let record = AuditRecord::new(NOW, AuditKind::SignedUp, "user:new");
    assert_eq!(
        s.sign_up(&short.secret_hash, user("gone"), None, NOW, record)
            .await
            .unwrap(),
        SignedUp::Refused(NoSignup::Unknown)
    );
    for nobody in ["gone", "late"] {
        assert!(
            s.user_by_username(nobody).await.unwrap().is_none(),
            "{nobody}"
        );
    }

    // A group deleted leaves the link, putting people in the groups that remain.
    s.delete_group("wiki", None).await.unwrap();
    let left = s.signup_link(&link.secret_hash).await.unwrap().unwrap();
    assert_eq!(left.groups, ["staff"]);

    // Listed for a while after it expired, then swept; the accounts it made stay.
    let listed = || async { s.signup_links().await.unwrap().len() };
    let before = listed().await;
    s.purge_expired(link.expires_at + signup::KEPT_AFTER_EXPIRY - 1)
        .await
        .unwrap();
    assert_eq!(
        listed().await,
        before,
        "kept while its administrators may look"
    );
    s.purge_expired(link.expires_at + signup::KEPT_AFTER_EXPIRY)
        .await
        .unwrap();
    assert!(s.signup_link(&link.secret_hash).await.unwrap().is_none());
    assert!(
        s.signup_links().await.unwrap().is_empty(),
        "each made at NOW, swept alike"
    );
    for name in &made_names {
        assert!(s.user_by_username(name).await.unwrap().is_some(), "{name}");
    }
}

/// A link for addresses at some domains: the store decides the address too (an address
/// elsewhere makes nothing and counts nothing), keeps the domains with the link, and gives the
/// account it makes their rule; other accounts have none.
async fn a_signup_link_for_a_domain_gives_its_accounts_its_rule(db: Database) {
    use gatehouse::auth::signup::{self, LinkSpec};
    use gatehouse::model::SignedUp;
    let f = open(db).await;
    let s = f.store.clone();
    s.create_user(user("ada")).await.unwrap();
    let spec = LinkSpec {
        uses: 3,
        days: 1,
        note: String::new(),
        groups: Vec::new(),
        domains: vec!["corp.example".into(), "lab.example".into()],
    };
    let hash = tokens::hash(&tokens::generate());
    let link = signup::new_link(spec, "corp-link".into(), hash.clone(), "cli".into(), NOW).unwrap();
    let record = || AuditRecord::new(NOW, AuditKind::SignupLinkMade, "cli");
    s.create_signup_link(link.clone(), record()).await.unwrap();
    assert_eq!(
        s.signup_link(&hash).await.unwrap().unwrap().domains,
        ["corp.example", "lab.example"]
    );
    let signed_up = || AuditRecord::new(NOW, AuditKind::SignedUp, "user:new");
    let mut outsider = user("grace");
    outsider.email = "grace@corp.example.org".into();
    assert_eq!(
        s.sign_up(&hash, outsider, None, NOW, signed_up())
            .await
            .unwrap(),
        SignedUp::OtherDomain
    );
    assert!(s.user_by_username("grace").await.unwrap().is_none());
    assert_eq!(s.signup_link(&hash).await.unwrap().unwrap().uses, 0);

    let mut grace = user("grace");
    grace.email = "Grace@LAB.example".into();
    assert_eq!(
        s.sign_up(&hash, grace.clone(), None, NOW, signed_up())
            .await
            .unwrap(),
        SignedUp::Done
    );
    assert_eq!(
        s.address_rule(&grace.id).await.unwrap(),
        ["corp.example", "lab.example"]
    );
    let ada = common::user(s.as_ref(), "ada").await;
    assert!(s.address_rule(&ada.id).await.unwrap().is_empty());
    assert!(s.address_rule("nobody").await.unwrap().is_empty());

    // Eight administrators lift Grace's rule at once: one finds it, with one record.
    let lifts: Vec<_> = (0..8)
        .map(|_| {
            let (s, id) = (s.clone(), grace.id.clone());
            tokio::spawn(async move {
                let record = AuditRecord::new(NOW + 1, AuditKind::AddressRuleLifted, "cli")
                    .subject(Some("grace"));
                s.lift_address_rule(&id, record).await.unwrap()
            })
        })
        .collect();
    let mut found = Vec::new();
    for lift in lifts {
        let lifted = lift.await.unwrap();
        if !lifted.is_empty() {
            found.push(lifted);
        }
    }
    assert_eq!(found, [["corp.example", "lab.example"]]);
    assert!(s.address_rule(&grace.id).await.unwrap().is_empty());
    let records: Vec<_> = s
        .audit_latest(20)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind == AuditKind::AddressRuleLifted)
        .collect();
    assert_eq!(records.len(), 1, "one record for one rule lifted");
    assert_eq!(
        records[0].record.detail.as_deref(),
        Some("for addresses at corp.example, lab.example")
    );
    // None to lift: nothing found, nothing recorded.
    let before = s.audit_latest(1).await.unwrap();
    let record = AuditRecord::new(NOW + 2, AuditKind::AddressRuleLifted, "cli");
    assert!(
        s.lift_address_rule(&ada.id, record)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(s.audit_latest(1).await.unwrap(), before);
}

/// An administrator gives an account an address rule: the store reads the rule it had, keeps
/// the new one and records both in one transaction; the same rule again records nothing; of
/// eight administrators at once, each reads the rule the one before kept, so the records tell
/// one history; an account that does not exist gets none.
async fn an_administrator_gives_an_account_an_address_rule(db: Database) {
    let f = open(db).await;
    let s = f.store.clone();
    s.create_user(user("ada")).await.unwrap();
    let ada = common::user(s.as_ref(), "ada").await;
    let record = || AuditRecord::new(NOW, AuditKind::AddressRuleSet, "cli").subject(Some("ada"));
    let corp = vec!["corp.example".to_owned()];
    let set = |domains: Vec<String>| {
        let (s, id) = (s.clone(), ada.id.clone());
        async move { s.set_address_rule(&id, domains, record()).await.unwrap() }
    };
    assert!(set(corp.clone()).await.is_empty(), "no rule before");
    assert_eq!(s.address_rule(&ada.id).await.unwrap(), corp);
    let rule_records = || async {
        s.audit_latest(50)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.record.kind == AuditKind::AddressRuleSet)
            .map(|e| e.record.detail.unwrap_or_default())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        rule_records().await,
        ["for addresses at corp.example (was: an address anywhere)"]
    );
    assert_eq!(set(corp.clone()).await, corp, "the same rule again");
    assert_eq!(rule_records().await.len(), 1, "changes and records nothing");

    let sets: Vec<_> = (0..8)
        .map(|i| tokio::spawn(set(vec![format!("d{i}.example")])))
        .collect();
    let mut befores = Vec::new();
    for set in sets {
        befores.push(set.await.unwrap());
    }
    let last = s.address_rule(&ada.id).await.unwrap();
    // Each rule kept but the last was replaced by exactly one other, and the first replaced
    // corp.example: read in the transaction that replaced it, never twice.
    let mut replaced: Vec<Vec<String>> = (0..8)
        .map(|i| vec![format!("d{i}.example")])
        .filter(|kept| *kept != last)
        .chain([corp.clone()])
        .collect();
    replaced.sort();
    befores.sort();
    assert_eq!(befores, replaced);
    assert_eq!(rule_records().await.len(), 9, "each change recorded once");

    let nobody = s.set_address_rule("nobody", corp.clone(), record()).await;
    assert!(matches!(nobody, Err(StoreError::NotFound(_))), "{nobody:?}");
    assert!(s.address_rule("nobody").await.unwrap().is_empty());
    assert_eq!(rule_records().await.len(), 9, "nothing recorded for nobody");
}

/// A sign-up with a passkey in place of a password makes the account with that passkey and no
/// password, in one transaction; a passkey registered already (another account's, or one a
/// sign-up made a moment before) makes none and counts nothing, and of a burst of sign-ups
/// with one passkey, through links of their own, one makes an account (or, with an account
/// page adding it at that moment, one of them has it). A sign-up's ceremony is
/// kept with no account and taken once, as its own kind.
async fn a_signup_with_a_passkey_makes_the_account_with_it(db: Database) {
    use gatehouse::auth::signup::{self, LinkSpec};
    use gatehouse::model::{Challenge, ChallengeKind, SignedUp};
    let f = open(db).await;
    let s = f.store.clone();
    let ada = user("ada");
    s.create_user(ada.clone()).await.unwrap();
    let added = AuditRecord::new(NOW, AuditKind::PasskeyAdded, "test");
    s.add_passkey(common::passkey(&ada.id, "adas", NOW), added)
        .await
        .unwrap();
    let made = |uses| {
        let spec = LinkSpec {
            uses,
            days: 1,
            note: String::new(),
            groups: Vec::new(),
            domains: Vec::new(),
        };
        let id = tokens::new_id()[..12].to_owned();
        let hash = tokens::hash(&tokens::generate());
        let link = signup::new_link(spec, id, hash, "cli".into(), NOW).unwrap();
        let s = s.clone();
        async move {
            let record = AuditRecord::new(NOW, AuditKind::SignupLinkMade, "cli");
            s.create_signup_link(link.clone(), record).await.unwrap();
            link
        }
    };
    let with_passkey = |name: &str, credential_id: &str| {
        let person = User {
            password_hash: None,
            ..user(name)
        };
        let passkey = common::passkey(&person.id, credential_id, NOW);
        (person, Some(passkey))
    };
    let sign_up = |hash: String, (person, passkey): (User, Option<_>)| {
        let s = s.clone();
        async move {
            let record = AuditRecord::new(NOW, AuditKind::SignedUp, "user:new");
            s.sign_up(&hash, person, passkey, NOW, record)
                .await
                .unwrap()
        }
    };
    let uses = |hash: String| {
        let s = s.clone();
        async move { s.signup_link(&hash).await.unwrap().unwrap().uses }
    };

    let link = made(10).await;
    let hash = link.secret_hash.clone();
    assert_eq!(
        sign_up(hash.clone(), with_passkey("grace", "graces")).await,
        SignedUp::Done
    );
    let grace = common::user(s.as_ref(), "grace").await;
    assert_eq!(grace.password_hash, None);
    let (key, owner) = s.passkey("graces").await.unwrap().unwrap();
    assert_eq!(
        (key.user_id.as_str(), owner.username.as_str()),
        (grace.id.as_str(), "grace")
    );

    // Grace's passkey again, and Ada's: no account, no use counted.
    for (name, credential) in [("mallory", "graces"), ("eve", "adas")] {
        assert_eq!(
            sign_up(hash.clone(), with_passkey(name, credential)).await,
            SignedUp::PasskeyTaken,
            "{name}"
        );
        assert!(s.user_by_username(name).await.unwrap().is_none(), "{name}");
    }
    assert_eq!(uses(hash.clone()).await, 1);
    assert_eq!(s.passkeys(&ada.id).await.unwrap().len(), 1);

    // Sixteen at once with one new passkey, each through a link of their own: one account.
    let mut links = Vec::new();
    for _ in 0..16 {
        links.push(made(1).await);
    }
    let mut burst = Vec::new();
    for (i, own) in links.into_iter().enumerate() {
        let person = with_passkey(&format!("clone{i}"), "cloned");
        burst.push(tokio::spawn(sign_up(own.secret_hash, person)));
    }
    let mut done = 0;
    for outcome in burst {
        match outcome.await.unwrap() {
            SignedUp::Done => done += 1,
            SignedUp::PasskeyTaken => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(done, 1, "one account for one passkey");

    // One passkey added on Ada's account page while eight sign-ups present it: one has it.
    let mut links = Vec::new();
    for _ in 0..8 {
        links.push(made(1).await);
    }
    let mut burst = Vec::new();
    for (i, own) in links.into_iter().enumerate() {
        let person = with_passkey(&format!("rival{i}"), "contested");
        burst.push(tokio::spawn(sign_up(own.secret_hash, person)));
    }
    let added = {
        let s = s.clone();
        let record = AuditRecord::new(NOW, AuditKind::PasskeyAdded, "test");
        let key = common::passkey(&ada.id, "contested", NOW);
        tokio::spawn(async move { s.add_passkey(key, record).await.unwrap() })
    };
    let mut holders = usize::from(added.await.unwrap());
    for outcome in burst {
        match outcome.await.unwrap() {
            SignedUp::Done => holders += 1,
            SignedUp::PasskeyTaken => {}
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(holders, 1, "one account holds one passkey");

    // The ceremony that began it: kept with no account, and only a sign-up takes it.
    let ceremony = Challenge {
        id_hash: tokens::hash("ceremony"),
        kind: ChallengeKind::SignUp,
        user_id: None,
        state: "{}".into(),
        expires_at: NOW + 300,
    };
    s.create_challenge(ceremony.clone()).await.unwrap();
    let take = |kind| s.take_challenge(&ceremony.id_hash, kind, NOW);
    assert_eq!(take(ChallengeKind::Register).await.unwrap(), None);
    assert_eq!(
        take(ChallengeKind::SignUp).await.unwrap(),
        Some(ceremony.clone())
    );
    assert_eq!(
        take(ChallengeKind::SignUp).await.unwrap(),
        None,
        "taken once"
    );
}

/// A passkey link (an administrator's, for a person who lost their passkey) adds the new
/// passkey beside what the person has, signs them out everywhere and tells them, all where the
/// link is taken; another person's credential id takes nothing, and the link works once.
async fn a_passkey_link_adds_a_passkey_and_signs_the_person_out(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let [ada, bob] = ["ada", "bob"].map(user);
    s.create_user(ada.clone()).await.unwrap();
    s.create_user(bob.clone()).await.unwrap();
    let added = || AuditRecord::new(NOW, AuditKind::PasskeyAdded, "test");
    s.add_passkey(common::passkey(&ada.id, "lost", NOW), added())
        .await
        .unwrap();
    s.add_passkey(common::passkey(&bob.id, "bobs", NOW), added())
        .await
        .unwrap();
    session(s, &ada, "phone", NOW + 3600).await;
    let sent = link(s, &ada, "new-passkey", EmailPurpose::Passkey).await;
    let taken = |credential_id: &str| {
        let use_ = LinkUse::AddPasskey(common::passkey(&ada.id, credential_id, NOW));
        let record =
            AuditRecord::new(NOW + 1, AuditKind::PasskeyAdded, "user:ada").subject(Some("ada"));
        s.redeem_email_token(&sent, use_, NOW + 1, record)
    };
    assert!(
        taken("bobs").await.is_err(),
        "another person's credential id"
    );
    assert_eq!(s.passkeys(&ada.id).await.unwrap().len(), 1);
    // Neither an invitation's use nor a reset's takes it.
    let other = LinkUse::InviteWithPasskey(common::passkey(&ada.id, "new", NOW));
    let record = AuditRecord::new(NOW, AuditKind::InvitationAccepted, "user:ada");
    assert_eq!(
        s.redeem_email_token(&sent, other, NOW + 1, record)
            .await
            .unwrap(),
        Err(Refused::Unknown)
    );

    taken("new").await.unwrap().unwrap();
    let mut keys: Vec<_> = s
        .passkeys(&ada.id)
        .await
        .unwrap()
        .into_iter()
        .map(|k| k.credential_id)
        .collect();
    keys.sort();
    assert_eq!(
        keys,
        ["lost", "new"],
        "the lost one stays until they remove it"
    );
    let now = common::user(s, "ada").await;
    assert_eq!(
        (now.password_hash, now.email_verified),
        (ada.password_hash.clone(), false),
        "the password and the address are as they were"
    );
    let written = s.audit_latest(1).await.unwrap().remove(0).record;
    assert_eq!(
        (written.kind, written.detail.as_deref()),
        (
            AuditKind::PasskeyAdded,
            Some("sessions ended: 1, token families revoked: 0")
        ),
        "whoever holds what ada lost is signed out"
    );
    let told = s.claim_notices(NOW + 1, 100).await.unwrap();
    let kinds: Vec<_> = told.iter().map(|q| q.notice.kind).collect();
    assert_eq!(kinds, [NoticeKind::PasskeyAdded], "{told:?}");
    assert_eq!(
        taken("again").await.unwrap(),
        Err(Refused::Unknown),
        "used once"
    );
    assert_eq!(s.passkeys(&ada.id).await.unwrap().len(), 2);
}

/// A credential id belongs to one account; only its owner removes it; a challenge is taken
/// once, and not after it expires or as another ceremony.
async fn passkeys_belong_to_one_account_and_challenges_are_taken_once(db: Database) {
    use gatehouse::model::{Challenge, ChallengeKind};
    let f = open(db).await;
    let (ada, bob) = (user("ada"), user("bob"));
    f.store.create_user(ada.clone()).await.unwrap();
    f.store.create_user(bob.clone()).await.unwrap();
    let record = || AuditRecord::new(NOW, AuditKind::PasskeyAdded, "test");
    let key = |user: &User, id: &str| common::passkey(&user.id, id, NOW);
    assert!(
        f.store
            .add_passkey(key(&ada, "c1"), record())
            .await
            .unwrap()
    );
    assert!(
        !f.store
            .add_passkey(key(&bob, "c1"), record())
            .await
            .unwrap(),
        "registered to another account"
    );
    let (stored, owner) = f.store.passkey("c1").await.unwrap().unwrap();
    assert_eq!((&stored.user_id, &owner.id), (&ada.id, &ada.id));
    assert!(
        f.store
            .passkey_used("c1", "{\"n\":1}".into(), NOW + 5)
            .await
            .unwrap()
    );
    let (used, _) = f.store.passkey("c1").await.unwrap().unwrap();
    assert_eq!(
        (used.data.as_str(), used.last_used_at),
        ("{\"n\":1}", Some(NOW + 5))
    );
    assert_eq!(
        f.store
            .remove_passkey(&bob.id, "c1", record())
            .await
            .unwrap(),
        PasskeyRemoval::NotFound,
        "not bob's"
    );
    assert_eq!(f.store.passkeys(&ada.id).await.unwrap().len(), 1);
    assert_eq!(
        f.store
            .remove_passkey(&ada.id, "c1", record())
            .await
            .unwrap(),
        PasskeyRemoval::Removed
    );
    assert!(f.store.passkeys(&ada.id).await.unwrap().is_empty());

    let challenge = |id: &str, expires_at| Challenge {
        id_hash: id.into(),
        kind: ChallengeKind::Authenticate,
        user_id: None,
        state: "{}".into(),
        expires_at,
    };
    f.store
        .create_challenge(challenge("h1", NOW + 300))
        .await
        .unwrap();
    assert!(
        f.store
            .take_challenge("h1", ChallengeKind::Register, NOW)
            .await
            .unwrap()
            .is_none(),
        "another ceremony"
    );
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let s = Arc::clone(&f.store);
            tokio::spawn(async move {
                s.take_challenge("h1", ChallengeKind::Authenticate, NOW)
                    .await
                    .unwrap()
                    .is_some()
            })
        })
        .collect();
    let mut taken = 0;
    for t in tasks {
        taken += usize::from(t.await.unwrap());
    }
    assert_eq!(taken, 1);
    f.store
        .create_challenge(challenge("h2", NOW + 300))
        .await
        .unwrap();
    assert!(
        f.store
            .take_challenge("h2", ChallengeKind::Authenticate, NOW + 300)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    f.store
        .create_challenge(challenge("h3", NOW + 300))
        .await
        .unwrap();
    assert!(f.store.purge_expired(NOW + 301).await.unwrap() >= 1);
    assert!(
        f.store
            .take_challenge("h3", ChallengeKind::Authenticate, NOW)
            .await
            .unwrap()
            .is_none(),
        "swept"
    );
}

/// Attempts racing the success that clears their counter (its row deleted meanwhile) are all
/// decided: none fails for want of a row.
async fn attempts_racing_a_success_are_all_decided(db: Database) {
    let f = open(db).await;
    let keys = vec![throttle_key("user:race", POLICY, OnSuccess::Forget)];
    for round in 0..5 {
        let tasks: Vec<_> = (0..24)
            .map(|i| {
                let (s, keys) = (Arc::clone(&f.store), keys.clone());
                tokio::spawn(async move {
                    if i % 3 == 0 {
                        s.settle_login_success(keys).await.map(|_| ())
                    } else {
                        s.admit_login_attempt(keys, NOW + round).await.map(|_| ())
                    }
                })
            })
            .collect();
        let all = async {
            for t in tasks {
                t.await.unwrap().unwrap();
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), all)
            .await
            .expect("every attempt decided within a minute");
    }
}

/// A change to groups, or to who may use a client, writes its record in its transaction;
/// a change that changes nothing, or is refused, writes none.
async fn group_changes_are_written_with_their_records(db: Database) {
    use gatehouse::model::{Group, GroupChange};
    let f = open(db).await;
    let s = f.store.as_ref();
    let alice = user("alice");
    s.create_user(alice.clone()).await.unwrap();
    s.create_client(client("app"), None).await.unwrap();
    let rec = |what: &str| {
        AuditRecord::new(NOW, AuditKind::MemberAdded, "cli".to_owned()).subject(Some(what))
    };
    let last = || async {
        s.audit_latest(1).await.unwrap()[0]
            .record
            .subject
            .clone()
            .unwrap_or_default()
    };
    let group = Group {
        id: "g1".into(),
        name: "staff".into(),
        description: None,
        created_at: NOW,
        auth_policy: Default::default(),
    };
    s.create_group(group.clone(), Some(rec("created")))
        .await
        .unwrap();
    assert_eq!(last().await, "created");
    let taken = Group {
        id: "g2".into(),
        ..group
    };
    assert!(s.create_group(taken, Some(rec("taken"))).await.is_err());
    assert_eq!(
        last().await,
        "created",
        "a refused creation records nothing"
    );

    assert!(
        s.add_member("staff", &alice.id, NOW, Some(rec("added")))
            .await
            .unwrap()
    );
    assert_eq!(last().await, "added");
    assert!(
        !s.add_member("staff", &alice.id, NOW, Some(rec("again")))
            .await
            .unwrap()
    );
    assert_eq!(last().await, "added", "a member already: nothing recorded");
    let empty = Group {
        id: "g3".into(),
        name: "empty".into(),
        description: None,
        created_at: NOW,
        auth_policy: Default::default(),
    };
    s.create_group(empty, None).await.unwrap();
    assert_eq!(
        s.member_counts().await.unwrap(),
        [("empty".to_owned(), 0), ("staff".to_owned(), 1)]
    );

    s.set_client_access("app", vec!["staff".into()], Some(rec("access")))
        .await
        .unwrap();
    assert_eq!(last().await, "access");
    assert!(
        s.set_client_access("app", vec!["nope".into()], Some(rec("nope")))
            .await
            .is_err()
    );
    assert!(s.delete_group("staff", Some(rec("in use"))).await.is_err());
    assert_eq!(last().await, "access", "refused changes record nothing");

    assert!(
        s.remove_member("staff", &alice.id, Some(rec("removed")))
            .await
            .unwrap()
    );
    assert_eq!(last().await, "removed");
    assert!(
        !s.remove_member("staff", &alice.id, Some(rec("gone")))
            .await
            .unwrap()
    );
    assert_eq!(last().await, "removed", "not a member: nothing recorded");

    let rename = GroupChange {
        name: Some("team".into()),
        ..GroupChange::default()
    };
    s.update_group("staff", rename, Some(rec("renamed")))
        .await
        .unwrap();
    assert_eq!(last().await, "renamed");
    s.set_client_access("app", vec![], Some(rec("open")))
        .await
        .unwrap();
    s.delete_group("team", Some(rec("deleted"))).await.unwrap();
    assert_eq!(last().await, "deleted");
}

/// A signing key rotation writes its record in its transaction; one that fails (the same key
/// twice) writes none, and leaves the key it would have retired as it was.
async fn a_key_rotation_is_written_with_its_record(db: Database) {
    use gatehouse::model::{Retirement, SigningAlg};
    let f = open(db).await;
    let s = f.store.as_ref();
    let rec = |what: &str| {
        AuditRecord::new(NOW, AuditKind::KeyRotated, "cli".to_owned()).subject(Some(what))
    };
    let last = || async {
        s.audit_latest(1)
            .await
            .unwrap()
            .first()
            .and_then(|e| e.record.subject.clone())
    };
    let key = gatehouse::oidc::keys::generate(SigningAlg::Es256, NOW).unwrap();
    s.rotate_signing_key(key.clone(), Retirement::Immediate, Some(rec("rotated")))
        .await
        .unwrap();
    assert_eq!(last().await.as_deref(), Some("rotated"));
    assert!(
        s.rotate_signing_key(key.clone(), Retirement::Immediate, Some(rec("again")))
            .await
            .is_err(),
        "the same key id twice"
    );
    assert_eq!(
        last().await.as_deref(),
        Some("rotated"),
        "a failed rotation records nothing"
    );
    let published = s.signing_keys(NOW).await.unwrap();
    assert!(
        published
            .iter()
            .any(|k| k.kid == key.kid && k.retired_at.is_none()),
        "the failed rotation's retirement of the key was rolled back: {published:?}"
    );
}

/// A link of `purpose` for `u`, sent to their address now, kept by its hash.
async fn link(s: &dyn Store, u: &User, secret: &str, purpose: EmailPurpose) -> String {
    let token = EmailToken {
        token_hash: tokens::hash(secret),
        user_id: u.id.clone(),
        purpose,
        email: u.email.clone(),
        created_at: NOW,
        expires_at: NOW + 3600,
    };
    let sent = AuditRecord::new(NOW, AuditKind::EmailSent, format!("user:{}", u.id));
    let mail = Mail {
        to: u.email.clone(),
        subject: purpose.as_str().to_owned(),
        body: format!("https://id.example/link?token={secret}"),
    };
    assert!(s.issue_email_token(token, Some(mail), sent).await.unwrap());
    tokens::hash(secret)
}

/// A link's message waits in the outbox: claimed by one sender at a time (and by another once
/// its lease passes), tried again only when due, forgotten once sent, or given up with a
/// record; and gone with its link when the link is used first.
async fn a_links_message_waits_in_the_outbox_until_sent_or_given_up(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let [alice, bob, carol] = ["alice", "bob", "carol"].map(user);
    for u in [&alice, &bob, &carol] {
        s.create_user(u.clone()).await.unwrap();
        link(s, u, u.username.as_str(), EmailPurpose::Reset).await;
    }
    let carols = tokens::hash("carol");
    redeem(
        s,
        &carols,
        LinkUse::Reset("h".into()),
        AuditKind::PasswordReset,
    )
    .await
    .unwrap();

    let (one, two) = tokio::join!(s.claim_mail(NOW, 16), s.claim_mail(NOW, 16));
    let mut claimed: Vec<QueuedMail> = one.unwrap().into_iter().chain(two.unwrap()).collect();
    claimed.sort_by(|a, b| a.username.cmp(&b.username));
    let names: Vec<&str> = claimed.iter().map(|q| q.username.as_str()).collect();
    assert_eq!(
        names,
        ["alice", "bob"],
        "each once; carol's went with her link"
    );
    let a = &claimed[0];
    assert_eq!(
        (a.mail.to.as_str(), a.user_id.as_str(), a.attempts),
        ("alice@example.com", alice.id.as_str(), 0)
    );
    assert_eq!((a.created_at, a.expires_at), (NOW, NOW + 3600));
    assert!(a.mail.body.ends_with("token=alice"), "{}", a.mail.body);
    assert!(
        s.claim_mail(NOW + 1, 16).await.unwrap().is_empty(),
        "leased"
    );

    // A sender that stopped loses its claim when the lease passes.
    let later = NOW + gatehouse::mail::LEASE;
    let again = s.claim_mail(later, 16).await.unwrap();
    assert_eq!(again.len(), 2);
    for q in &again {
        let settlement = if q.username == "alice" {
            Settlement::RetryAt(later + 10)
        } else {
            Settlement::Delivered
        };
        s.settle_mail(q, settlement, later).await.unwrap();
    }
    assert!(
        s.claim_mail(later + 9, 16).await.unwrap().is_empty(),
        "not yet due"
    );
    let retried = s.claim_mail(later + 10, 16).await.unwrap();
    assert_eq!(retried.len(), 1, "bob's was sent: forgotten");
    assert_eq!(
        (retried[0].username.as_str(), retried[0].attempts),
        ("alice", 1)
    );

    let why = "the mail server refused it: 550 no such mailbox";
    let at = later + 10;
    s.settle_mail(&retried[0], Settlement::GiveUp(why.into()), at)
        .await
        .unwrap();
    assert!(s.claim_mail(NOW + 3599, 16).await.unwrap().is_empty());
    let record = s.audit_latest(1).await.unwrap().remove(0).record;
    assert_eq!(
        (record.kind, record.subject.as_deref(), record.at),
        (AuditKind::EmailUndelivered, Some("alice"), at)
    );
    assert_eq!(
        record.detail.as_deref(),
        Some(format!("to alice@example.com: {why}").as_str())
    );
}

async fn redeem(
    s: &dyn Store,
    hash: &str,
    link_use: LinkUse,
    kind: AuditKind,
) -> Result<String, Refused> {
    let record = AuditRecord::new(NOW, kind, "link".to_owned());
    s.redeem_email_token(hash, link_use, NOW + 1, record)
        .await
        .unwrap()
        .map(|(_, user)| user.username)
}

/// A mailed link is used once, however many forms race with it, and is decided where it is
/// taken: a person whose address changed or who was disabled since it was sent cannot use it,
/// and it changes nothing then. An invitation also confirms the address; a reset signs out.
async fn an_email_link_is_used_once_and_decided_where_it_is_taken(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let [alice, bob, carol, dave] = ["alice", "bob", "carol", "dave"].map(user);
    for u in [&alice, &bob, &carol, &dave] {
        s.create_user(u.clone()).await.unwrap();
    }
    let password = |name: &'static str| async move {
        s.user_by_username(name)
            .await
            .unwrap()
            .unwrap()
            .password_hash
            .unwrap_or_default()
    };

    session(s, &alice, "s", NOW + 3600).await;
    let reset = link(s, &alice, "reset", EmailPurpose::Reset).await;
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..16 {
        let store = Arc::clone(&f.store);
        let reset = reset.clone();
        burst.spawn(async move {
            let record = AuditRecord::new(NOW, AuditKind::PasswordReset, "link".to_owned());
            let link_use = LinkUse::Reset(format!("hash-{i}"));
            store
                .redeem_email_token(&reset, link_use, NOW + 1, record)
                .await
                .unwrap()
                .map(|(_, user)| user.username)
        });
    }
    let used = burst.join_all().await;
    assert_eq!(used.iter().filter(|o| o.is_ok()).count(), 1, "{used:?}");
    assert!(
        used.iter()
            .all(|o| o.is_ok() || *o == Err(Refused::Unknown)),
        "{used:?}"
    );
    assert!(password("alice").await.starts_with("hash-"));
    let written = s.audit_latest(1).await.unwrap().remove(0).record;
    assert_eq!(written.kind, AuditKind::PasswordReset);
    assert_eq!(
        written.detail.as_deref(),
        Some("sessions ended: 1, token families revoked: 0"),
        "the reset signed alice out in its transaction"
    );

    // Bob's address changes after the link was read for the form.
    let confirm = link(s, &bob, "confirm", EmailPurpose::Confirm).await;
    let moved = UserChange::SetEmail {
        email: "bob@elsewhere.example".into(),
        verified: false,
    };
    s.update_user("bob", moved, NOW, None).await.unwrap();
    assert_eq!(
        redeem(s, &confirm, LinkUse::Confirm, AuditKind::EmailConfirmed).await,
        Err(Refused::AddressChanged)
    );
    let bob_now = s.user_by_username("bob").await.unwrap().unwrap();
    assert_eq!(
        (bob_now.email.as_str(), bob_now.email_verified),
        ("bob@elsewhere.example", false),
        "the old address was not put back, nor confirmed"
    );

    // Carol is disabled after her invitation was sent.
    let invite = link(s, &carol, "invite", EmailPurpose::Invite).await;
    s.update_user("carol", UserChange::Disable, NOW, None)
        .await
        .unwrap();
    assert_eq!(
        redeem(
            s,
            &invite,
            LinkUse::Invite("x".into()),
            AuditKind::InvitationAccepted
        )
        .await,
        Err(Refused::NoAccount)
    );
    assert_eq!(Some(password("carol").await), carol.password_hash);

    // A link is used only as what it was sent for.
    let invite = link(s, &dave, "welcome", EmailPurpose::Invite).await;
    assert_eq!(
        redeem(
            s,
            &invite,
            LinkUse::Reset("x".into()),
            AuditKind::PasswordReset
        )
        .await,
        Err(Refused::Unknown)
    );
    let records = s.audit_latest(100).await.unwrap().len();
    assert_eq!(
        redeem(
            s,
            &invite,
            LinkUse::Invite("first".into()),
            AuditKind::InvitationAccepted
        )
        .await,
        Ok("dave".to_owned())
    );
    let dave_now = s.user_by_username("dave").await.unwrap().unwrap();
    assert_eq!(dave_now.password_hash.as_deref(), Some("first"));
    assert!(
        dave_now.email_verified,
        "the invitation confirmed the address"
    );
    assert_eq!(s.audit_latest(100).await.unwrap().len(), records + 1);
    assert_eq!(
        redeem(
            s,
            &invite,
            LinkUse::Invite("again".into()),
            AuditKind::InvitationAccepted
        )
        .await,
        Err(Refused::Unknown),
        "used once"
    );
}

/// A search reads the users a page at a time and stops once it has found enough: over more
/// users than a page holds, it finds each match once, in username order, from where the page
/// before ended.
async fn a_search_pages_through_the_users_in_username_order(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let mut making = tokio::task::JoinSet::new();
    for i in 0..1100 {
        let store = Arc::clone(&f.store);
        making.spawn(async move {
            let mut u = user(&format!("p{i:04}"));
            u.name = (i % 100 == 7).then(|| format!("Ada Lovelace {i}"));
            store.create_user(u).await.unwrap();
        });
    }
    making.join_all().await;
    let names = |users: Vec<User>| users.into_iter().map(|u| u.username).collect::<Vec<_>>();
    let search = |text: &str, after: Option<&str>, limit| {
        let search = UserSearch::new(text, after.map(str::to_owned), limit);
        async move { names(admin::search_users(s, &search).await.unwrap()) }
    };

    let ada: Vec<String> = (0..11).map(|i| format!("p{:04}", i * 100 + 7)).collect();
    assert_eq!(
        search(" LOVELACE ", None, 100).await,
        ada,
        "across three pages"
    );
    assert_eq!(search("lovelace", None, 3).await, ada[..3]);
    assert_eq!(search("lovelace", Some("p0407"), 2).await, ada[5..7]);
    assert_eq!(
        search("", Some("p0498"), 4).await,
        ["p0499", "p0500", "p0501", "p0502"]
    );
    assert_eq!(search("P1099@EXAMPLE", None, 10).await, ["p1099"]);
    assert!(search("nobody", None, 10).await.is_empty());
    assert!(search("", Some("p1099"), 10).await.is_empty());
    assert_eq!(search("", None, usize::MAX).await.len(), 1100);
    assert_eq!(
        names(s.users_after(None, 2).await.unwrap()),
        ["p0000", "p0001"]
    );
}

/// Names that look alike, added at the same moment by an administrator: one is added, the
/// others are refused, however their password hashing interleaves; one record is written.
/// Removing an account takes everything of it (sessions, tokens, memberships, claims) and
/// keeps other people's; of a burst of removals of one account, one removes it, the rest
/// find nobody, and one record is written.
async fn an_account_removed_at_once_is_removed_once_with_everything_of_it(db: Database) {
    let f = open(db).await;
    let s = f.store.as_ref();
    let carol = issued(s, "carol", "app").await;
    let dave = issued(s, "dave", "app").await;
    for u in [&carol, &dave] {
        session(s, u, &format!("session-{}", u.username), NOW + 3600).await;
    }
    s.create_group(group("staff"), None).await.unwrap();
    for u in [&carol, &dave] {
        s.add_member("staff", &u.id, NOW, None).await.unwrap();
    }
    let mut removing = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let store = Arc::clone(&f.store);
        removing.spawn(async move {
            let admin = admin::Admin::new(store.as_ref(), "cli", None, NOW + 1);
            admin.remove_user("carol").await
        });
    }
    let outcomes = removing.join_all().await;
    let removed: Vec<_> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(removed.len(), 1, "{outcomes:?}");
    assert_eq!((removed[0].sessions, removed[0].token_families), (1, 1));
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|e| matches!(e, admin::AdminError::Store(StoreError::NotFound(_)))),
        "{outcomes:?}"
    );
    let records = s.audit_latest(20).await.unwrap();
    let removals: Vec<_> = records
        .iter()
        .filter(|e| e.record.kind == AuditKind::UserRemoved)
        .collect();
    assert_eq!(removals.len(), 1);
    assert_eq!(removals[0].record.subject.as_deref(), Some("carol"));
    // Carol is told once, at the address the account had.
    let told = s.claim_notices(NOW + 1, 10).await.unwrap();
    let told: Vec<_> = told
        .iter()
        .map(|q| (q.notice.kind, q.notice.to.as_str(), q.username.as_str()))
        .collect();
    let carols = (
        gatehouse::model::NoticeKind::RemovedByAdministrator,
        carol.email.as_str(),
        "carol",
    );
    assert_eq!(told, [carols]);

    assert!(s.user_by_username("carol").await.unwrap().is_none());
    let gone = |t: String| async move { s.introspect(&p(&t), NOW + 2).await.unwrap().is_none() };
    assert!(gone("a1-carol-app".into()).await && gone("r1-carol-app".into()).await);
    assert!(s.sessions(&carol.id, NOW).await.unwrap().is_empty());
    let members = s.members("staff", None, 10).await.unwrap().unwrap();
    let names: Vec<&str> = members.iter().map(|u| u.username.as_str()).collect();
    assert_eq!(names, ["dave"]);
    // Dave is untouched.
    assert!(!gone("r1-dave-app".into()).await);
    assert_eq!(s.sessions(&dave.id, NOW).await.unwrap().len(), 1);
}

async fn look_alikes_added_at_once_one_is_added(db: Database) {
    use gatehouse::auth::username::look_alike_key;
    let f = open(db).await;
    let names = [
        "mall", "rnall", "ma1l", "mal1", "rna1l", "rnal1", "ma11", "rna11",
    ];
    assert!(
        names
            .iter()
            .all(|n| look_alike_key(n) == look_alike_key("mall")),
        "the names look alike"
    );
    let passwords = gatehouse::auth::passwords::Passwords::new(2);
    let mut adding = tokio::task::JoinSet::new();
    for name in names {
        let (store, passwords) = (Arc::clone(&f.store), passwords.clone());
        adding.spawn(async move {
            let admin = admin::Admin::new(store.as_ref(), "cli", None, NOW);
            let email = format!("{name}@example.com");
            let password = "glacier umbrella quantum tulip".to_owned();
            let new = admin::NewUser::new(name.into(), email, password);
            admin.add_user(&passwords, new).await.map(|u| u.username)
        });
    }
    let outcomes = adding.join_all().await;
    let added: Vec<&String> = outcomes.iter().filter_map(|o| o.as_ref().ok()).collect();
    assert_eq!(added.len(), 1, "{outcomes:?}");
    assert!(
        outcomes
            .iter()
            .filter_map(|o| o.as_ref().err())
            .all(|e| e.to_string().contains("looks the same")),
        "{outcomes:?}"
    );
    let users = f.store.list_users().await.unwrap();
    assert_eq!(users.len(), 1);
    let records = f.store.audit_latest(10).await.unwrap();
    assert_eq!(records.len(), 1, "one user.created record");
    assert_eq!(records[0].record.subject.as_ref(), Some(added[0]));
}

/// An application's logo is kept apart from the client, changed only when it changes (each
/// change with its record, none for the same image again), read with or without its image, in
/// the person's list of applications, and removed with the client. Sixteen administrators giving
/// one image at once change it once: each sees the one before it.
async fn an_applications_logo_is_kept_changed_once_and_removed_with_it(db: Database) {
    use gatehouse::branding::Logo;
    use gatehouse::model::ClientLogo;
    let f = open(db).await;
    let s = f.store.clone();
    let mut wiki = client("wiki");
    wiki.display.home_uri = Some("https://wiki.example/".into());
    s.create_client(wiki, None).await.unwrap();
    let ada = user("ada");
    s.create_user(ada.clone()).await.unwrap();
    let png = ClientLogo::from(Logo::from_bytes(common::PNG.to_vec()).unwrap());
    let svg = ClientLogo::from(
        Logo::from_bytes(
            b"<svg xmlns='http://www.w3.org/2000/svg' width='8' height='8'/>".to_vec(),
        )
        .unwrap(),
    );
    assert_eq!(
        (png.content_type.as_str(), svg.content_type.as_str()),
        ("image/png", "image/svg+xml")
    );
    let record =
        || Some(AuditRecord::new(NOW, AuditKind::ClientUpdated, "cli").subject(Some("wiki")));
    let changes = |s: Arc<dyn Store>| async move {
        let query = AuditQuery {
            kind_prefix: Some(AuditKind::ClientUpdated.as_str().into()),
            limit: 100,
            ..AuditQuery::default()
        };
        s.audit_query(query).await.unwrap().len()
    };

    // None yet: nothing to read, nothing to take away.
    assert_eq!(s.client_logo("wiki").await.unwrap(), None);
    assert!(
        !s.set_client_logo("wiki", None, NOW, record())
            .await
            .unwrap()
    );
    assert_eq!(changes(s.clone()).await, 0);
    // Given, it is read back whole, and its version alone; the person's list names it.
    let bursts = (0..16).map(|_| {
        let (s, png) = (s.clone(), png.clone());
        tokio::spawn(async move { s.set_client_logo("wiki", Some(png), NOW, record()).await })
    });
    let mut changed = 0;
    for task in bursts.collect::<Vec<_>>() {
        changed += usize::from(task.await.unwrap().unwrap());
    }
    assert_eq!(changed, 1, "sixteen at once with one image: one change");
    assert_eq!(changes(s.clone()).await, 1);
    assert_eq!(s.client_logo("wiki").await.unwrap().as_ref(), Some(&png));
    assert_eq!(
        s.client_logo_version("wiki").await.unwrap(),
        Some(png.version.clone())
    );
    assert_eq!(
        s.client_logo_versions().await.unwrap(),
        [("wiki".to_owned(), png.version.clone())]
    );
    let apps = s.applications_of(&ada.id).await.unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].logo.as_deref(), Some(png.version.as_str()));
    // Another image replaces it; the client itself is untouched and reads as before.
    let before = s.client("wiki").await.unwrap();
    assert!(
        s.set_client_logo("wiki", Some(svg.clone()), NOW + 1, record())
            .await
            .unwrap()
    );
    assert_eq!(s.client_logo("wiki").await.unwrap().as_ref(), Some(&svg));
    assert_eq!(s.client("wiki").await.unwrap(), before);
    assert_eq!(changes(s.clone()).await, 2);
    // Taken away.
    assert!(
        s.set_client_logo("wiki", None, NOW + 2, record())
            .await
            .unwrap()
    );
    assert_eq!(s.client_logo("wiki").await.unwrap(), None);
    assert_eq!(s.client_logo_version("wiki").await.unwrap(), None);
    assert_eq!(s.applications_of(&ada.id).await.unwrap()[0].logo, None);
    assert_eq!(s.client_logo_versions().await.unwrap(), []);
    assert_eq!(changes(s.clone()).await, 3);
    // No such client: nothing written, no record.
    for logo in [Some(png.clone()), None] {
        let e = s
            .set_client_logo("nobody", logo, NOW, record())
            .await
            .unwrap_err();
        assert!(matches!(e, StoreError::NotFound(_)), "{e:?}");
    }
    assert_eq!(changes(s.clone()).await, 3);
    // Removing the client removes its logo.
    assert!(
        s.set_client_logo("wiki", Some(png), NOW, record())
            .await
            .unwrap()
    );
    s.remove_client("wiki", None).await.unwrap();
    assert_eq!(s.client_logo("wiki").await.unwrap(), None);
    s.create_client(client("wiki"), None).await.unwrap();
    assert_eq!(s.client_logo_version("wiki").await.unwrap(), None);
}

on_both_backends!(();
    an_account_removed_at_once_is_removed_once_with_everything_of_it,
    an_applications_logo_is_kept_changed_once_and_removed_with_it,
    a_links_message_waits_in_the_outbox_until_sent_or_given_up,
    a_browser_new_to_a_person_is_told_once,
    a_session_ended_from_elsewhere_forgets_its_browser,
    a_users_edits_are_made_together_or_not_at_all,
    look_alikes_added_at_once_one_is_added,
    a_search_pages_through_the_users_in_username_order,
    an_email_link_is_used_once_and_decided_where_it_is_taken,
    group_changes_are_written_with_their_records,
    a_key_rotation_is_written_with_its_record,
    a_client_change_is_written_with_its_record,
    client_keys_are_kept_and_each_assertion_is_taken_once,
    dpop_requirements_and_bound_codes_are_kept,
    access_token_claims_are_kept,
    an_audit_query_chooses_what_its_filter_matches,
    a_grants_one_time_jwts_are_taken_with_it,
    custom_claims_are_kept_changed_and_released,
    custom_claims_changed_at_once_are_all_kept,
    a_burst_of_rotations_each_with_its_proof_is_decided_on_the_token,
    a_user_change_is_written_with_its_record,
    a_consent_and_a_logout_are_written_with_their_records,
    a_new_session_replaces_the_browsers_old_one_with_its_record,
    attempts_racing_a_success_are_all_decided,
    passkeys_belong_to_one_account_and_challenges_are_taken_once,
    a_person_keeps_a_way_in,
    an_invitation_taken_with_a_passkey_leaves_no_password,
    a_passkey_link_adds_a_passkey_and_signs_the_person_out,
    a_signup_link_makes_no_more_accounts_than_it_allows,
    a_signup_link_for_a_domain_gives_its_accounts_its_rule,
    an_administrator_gives_an_account_an_address_rule,
    a_signup_with_a_passkey_makes_the_account_with_it,
    second_factors_are_spent_once_and_enrolled_once,
    introspection_sees_only_active_tokens,
    client_tokens_are_introspected_and_revoked_by_their_client_only,
    revoking_a_refresh_token_revokes_its_family_and_only_for_its_client,
    revoking_an_access_token_leaves_the_refresh_token,
    consent_accumulates_and_its_revocation_revokes_the_clients_tokens,
    logging_a_user_out_ends_sessions_and_revokes_families,
    refresh_tokens_without_offline_access_end_with_their_session,
    disabling_or_a_new_password_ends_sessions_and_revokes_tokens_for_good,
    a_server_secret_is_made_once_and_shared,
    a_session_is_touched_and_ended,
    login_attempts_are_counted_then_delayed_then_locked_and_a_success_settles_them,
    an_administrator_lets_a_paused_person_sign_in_again,
    a_burst_of_attempts_is_admitted_only_as_far_as_the_limits_allow,
    the_audit_log_keeps_order_and_pages,
    audit_records_past_their_retention_are_purged_in_batches,
    records_of_tokens_issued_are_purged_apart_from_the_rest,
    a_refresh_is_audited_in_its_own_transaction,
    purging_removes_only_what_expired,
    a_family_is_kept_while_an_access_token_of_it_is_valid,
    purging_runs_in_batches_until_done_and_keeps_reuse_detection,
    a_kept_retry_answer_is_given_back_in_its_window_and_cleared_after,
);

/// An acknowledged revocation must survive a power cut, not only a crash: the writer commits
/// with `synchronous=FULL` (DESIGN: durable by default).
#[tokio::test]
async fn the_sqlite_writer_commits_with_synchronous_full() {
    let dir = tempfile::tempdir().unwrap();
    let s = store::sqlite::SqliteStore::open(&dir.path().join("durable.db"))
        .await
        .unwrap();
    assert_eq!(s.synchronous(), onewriter::Synchronous::Full);
    s.close().await.unwrap();
}

/// On PostgreSQL a rotation changes no indexed column of its family's row, so the row is
/// rewritten in place (a heap-only tuple): no entry in any of the family's indexes, and on the
/// same page. Kept in the family's row, the answer for a retry changed a partial index with
/// every rotation, and no rotation was.
#[tokio::test]
async fn on_postgres_a_rotation_rewrites_its_family_in_place() {
    use gatehouse::model::RetryCopy;
    use sqlx::Connection as _;
    let Some(db) = Database::fresh(common::backend::Backend::Postgres).await else {
        return;
    };
    let url = db.url.clone();
    let f = open(db).await;
    let s = f.store.as_ref();
    issued(s, "alice", "app").await;
    // Few enough that every version of the row fits on its page even if no other session's
    // snapshot lets PostgreSQL prune the old ones meanwhile (tests share the database).
    const ROTATIONS: i64 = 10;
    let mut from = "r1-alice-app".to_owned();
    for i in 1..=ROTATIONS {
        let (access, refresh) = (format!("a{}", i + 1), format!("r{}", i + 1));
        let next = NewTokens {
            retry: Some(RetryCopy {
                sealed: vec![1; 64],
                until: NOW + i + 5,
            }),
            ..next_tokens(&from, &access, &refresh)
        };
        let rotated = s
            .rotate_refresh_token(&p(&from), "app", Default::default(), next, NOW + i, None)
            .await
            .unwrap()
            .unwrap();
        assert!(matches!(rotated, Rotated::Issued(_)), "{rotated:?}");
        from = refresh;
    }
    // The server's sessions report their counts when they end.
    f.store.close().await.unwrap();
    let mut look = sqlx::PgConnection::connect(&url).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let (updated, in_place) = loop {
        let counts: (i64, i64) = sqlx::query_as(
            "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
             WHERE schemaname = current_schema() AND relname = 'token_family'",
        )
        .fetch_one(&mut look)
        .await
        .unwrap();
        if counts.0 > ROTATIONS || std::time::Instant::now() > deadline {
            break counts;
        }
        // A fresh snapshot of the statistics on the next read.
        sqlx::query("SELECT pg_stat_clear_snapshot()")
            .execute(&mut look)
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    };
    // The code's redemption, which wrote the family's first refresh token, and each rotation.
    assert_eq!(updated, ROTATIONS + 1);
    assert_eq!(
        in_place, updated,
        "of {updated} updates, {in_place} in place"
    );
}

/// On PostgreSQL a rotation reads its family without a lock and writes the new tokens only if
/// the family still has the token presented and is not revoked. Here another session holds
/// the family's row while the rotation runs, then rotates or revokes the family: the rotation
/// must see what was committed and issue nothing. Written only against what it read, it
/// would issue tokens in a revoked family, or a second successor to one token.
#[tokio::test]
async fn on_postgres_a_rotation_racing_a_change_to_its_family_issues_nothing() {
    use sqlx::Connection as _;
    for change in ["rotated", "revoked"] {
        let Some(db) = Database::fresh(common::backend::Backend::Postgres).await else {
            return;
        };
        let url = db.url.clone();
        let f = open(db).await;
        issued(f.store.as_ref(), "alice", "app").await;

        let (mut held, holder) =
            common::backend::holding(&url, "SELECT 1 FROM token_family FOR UPDATE").await;

        let store = f.store.clone();
        let rotation =
            tokio::spawn(
                async move { rotate(store.as_ref(), "r1-alice-app", "r2", NOW + 1).await },
            );
        // Until the rotation waits for the row this session holds.
        let mut look = sqlx::PgConnection::connect(&url).await.unwrap();
        common::backend::until_blocked_by(&mut look, holder).await;
        let statement = match change {
            "rotated" => "UPDATE token_family SET refresh_hash = 'another'",
            _ => "UPDATE token_family SET revoked_at = 1, revoked_reason = 'user logged out'",
        };
        sqlx::query(statement).execute(&mut held).await.unwrap();
        sqlx::query("COMMIT").execute(&mut held).await.unwrap();

        let rotated = rotation.await.unwrap();
        let expected = match change {
            // Neither the family's token nor the one before it: reuse.
            "rotated" => matches!(rotated, Rotated::Reused { .. }),
            _ => matches!(rotated, Rotated::Invalid),
        };
        assert!(expected, "{change}: {rotated:?}");
        // Nor anything written: the family's first access token is its only one.
        let access_tokens: i64 = sqlx::query_scalar("SELECT count(*) FROM access_token")
            .fetch_one(&mut look)
            .await
            .unwrap();
        assert_eq!(access_tokens, 1, "{change}");
    }
}
