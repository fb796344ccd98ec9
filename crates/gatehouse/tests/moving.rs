//! Moving a deployment between backends with `gatehouse export` and `gatehouse import`: after
//! the move the same password logs in, and tokens issued before it still verify against the
//! JWKS and still refresh.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use common::backend::{Backend, Database};
use common::cli::{gatehouse, ok, refused};
use common::{Browser, TestServer, add_client, add_user, sign_in, sign_in_asking, user};

/// Verifies `id_token`'s signature with the key `jwks` publishes under its `kid`.
fn verifies(id_token: &str, jwks: &serde_json::Value, audience: &str) -> bool {
    let header = jsonwebtoken::decode_header(id_token).unwrap();
    let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(jwks.clone()).unwrap();
    let Some(jwk) = set.find(header.kid.as_deref().unwrap()) else {
        return false;
    };
    let mut validation = jsonwebtoken::Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[audience]);
    let key = jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap();
    jsonwebtoken::decode::<serde_json::Value>(id_token, &key, &validation).is_ok()
}

/// The `sub` of an ID token (read without verifying it: `verifies` does).
fn subject_of(id_token: &str) -> String {
    let claims: serde_json::Value =
        jsonwebtoken::dangerous::insecure_decode_claims(id_token).unwrap();
    claims["sub"].as_str().unwrap().to_owned()
}

async fn jwks(server: &TestServer) -> serde_json::Value {
    reqwest::get(format!("{}/jwks.json", server.base))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// Whom `token`, an access token of `web`, is for, as introspection says (its `aud`).
async fn audience(
    server: &TestServer,
    secret: &str,
    token: &serde_json::Value,
) -> serde_json::Value {
    let r = common::introspect(&server.base, ("web", secret), token.as_str().unwrap()).await;
    assert_eq!(r["active"], true, "{r}");
    r["aud"].clone()
}

const ORDERS: &str = "https://orders.example/";

async fn refresh(server: &TestServer, secret: &str, token: &str) -> serde_json::Value {
    let r = reqwest::Client::new()
        .post(format!("{}/token", server.base))
        .basic_auth("web", Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "the refresh token survived the move");
    r.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deployment_moves_from_sqlite_to_postgresql_and_back() {
    let Some(pg) = Database::fresh(Backend::Postgres).await else {
        return;
    };
    let a = TestServer::start().await;
    let ada = add_user(a.store.as_ref(), "ada").await;
    let secret = add_client(a.store.as_ref(), "web").await;
    add_client(a.store.as_ref(), "partner").await;
    a.store
        .grant_consent(&ada.id, "partner", "openid profile", 1, None)
        .await
        .unwrap();
    ok(&gatehouse(&a.db_url(), &["group", "add", "staff"], None));
    ok(&gatehouse(
        &a.db_url(),
        &["group", "add", "auditors", "--auth-policy", "two_factor"],
        None,
    ));
    // Custom claims, a user's and a group's.
    for args in [
        &["user", "claims", "ada", "--set", r#"roles=["editor"]"#][..],
        &["group", "claims", "staff", "--set", "tier=gold"][..],
    ] {
        ok(&gatehouse(&a.db_url(), args, None));
    }
    ok(&gatehouse(
        &a.db_url(),
        &[
            "user",
            "update",
            "ada",
            "--given-name",
            "Ada",
            "--email-verified",
        ],
        None,
    ));
    ok(&gatehouse(
        &a.db_url(),
        &["group", "add-member", "staff", "ada"],
        None,
    ));
    ok(&gatehouse(
        &a.db_url(),
        &[
            "client",
            "update",
            "partner",
            "--id-token-alg",
            "ES256",
            "--access-token-format",
            "jwt",
            "--auth-policy",
            "two_factor",
        ],
        None,
    ));
    // A client that signs with its key, and must push its requests.
    let key = gatehouse::oidc::keys::generate(gatehouse::model::SigningAlg::EdDsa, 0).unwrap();
    let keys_file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(
        keys_file.path(),
        format!(r#"{{"keys":[{}]}}"#, key.public_jwk),
    )
    .unwrap();
    ok(&gatehouse(
        &a.db_url(),
        &[
            "client",
            "add",
            "--client-id",
            "signed",
            "--redirect-uri",
            "https://signed.example/cb",
            "--jwks",
            keys_file.path().to_str().unwrap(),
            "--require-par",
            "--require-signed-requests",
            "--require-dpop",
            "--require-confirmed-address",
            "--access-token-claim",
            "groups",
        ],
        None,
    ));
    // The web app is given pairwise subjects.
    ok(&gatehouse(
        &a.db_url(),
        &[
            "client",
            "update",
            "web",
            "--subject-type",
            "pairwise",
            "--sector",
            "web.example",
        ],
        None,
    ));
    let before = sign_in(&a, "web", &secret, "ada").await;
    // A sign-in for the web app's API: its grant and its token are for that API.
    ok(&gatehouse(
        &a.db_url(),
        &["client", "update", "web", "--resource", ORDERS],
        None,
    ));
    // The server has the client kept from the sign-in above; another process's change (the
    // CLI's) is used within a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let for_orders = sign_in_asking(
        &Browser::default(),
        &a.base,
        ("web", &secret),
        "ada",
        "&resource=https%3A%2F%2Forders.example%2F",
    )
    .await;
    assert_eq!(
        audience(&a, &secret, &for_orders["access_token"]).await,
        ORDERS
    );
    // The API's own registration, which introspects the tokens issued for it.
    let orders_secret = common::cli::add_client(&a.db_url(), "orders", &["--introspects", ORDERS]);
    let id_token = before["id_token"].as_str().unwrap().to_owned();
    let pairwise_sub = subject_of(&id_token);
    assert_ne!(pairwise_sub, ada.id);
    // The web app hears of logouts, and is down: Bob's logout waits in the outbox.
    ok(&gatehouse(
        &a.db_url(),
        &[
            "client",
            "update",
            "web",
            "--backchannel-logout-uri",
            "http://127.0.0.1:9/backchannel",
        ],
        None,
    ));
    let bob = add_user(a.store.as_ref(), "bob").await;
    sign_in(&a, "web", &secret, "bob").await;
    let now = gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock);
    a.store.end_user_sessions(&bob.id, now, None).await.unwrap();
    // Bob has an authenticator app, with two recovery codes left.
    let bob_app = gatehouse::model::TotpFactor {
        user_id: bob.id.clone(),
        secret: vec![42; 20],
        created_at: now,
        last_step: Some(now / 30),
    };
    let enrolled = gatehouse::model::AuditRecord::new(
        now,
        gatehouse::model::AuditKind::TotpEnrolled,
        format!("user:{}", bob.id),
    )
    .subject(Some("bob"));
    assert!(
        a.store
            .enrol_totp(
                bob_app.clone(),
                vec!["r1".into(), "r2".into()],
                enrolled.clone()
            )
            .await
            .unwrap()
    );
    // And a passkey.
    let bob_key = gatehouse::model::StoredPasskey {
        credential_id: "cred-1".into(),
        user_id: bob.id.clone(),
        name: "Phone".into(),
        data: r#"{"cred":"kept as is"}"#.into(),
        created_at: now,
        last_used_at: Some(now),
    };
    assert!(
        a.store
            .add_passkey(bob_key.clone(), enrolled.clone())
            .await
            .unwrap()
    );
    // With it he does without a password.
    let without = gatehouse::model::AuditRecord {
        kind: gatehouse::model::AuditKind::PasswordRemoved,
        ..enrolled
    };
    assert!(
        a.store
            .remove_password(&bob.id, now, without)
            .await
            .unwrap()
            .is_some()
    );

    // A sign-up link given out for addresses at example.com, used once of its three, into
    // staff: the account it made keeps its rule.
    let signup = ok(&gatehouse(
        &a.db_url(),
        &[
            "signup-link",
            "add",
            "--uses",
            "3",
            "--group",
            "staff",
            "--domain",
            "Example.COM",
            "--issuer",
            "https://id.example.com",
        ],
        None,
    ));
    let signup_hash = gatehouse::oidc::tokens::hash(
        signup
            .trim_end()
            .strip_prefix("https://id.example.com/signup?token=")
            .unwrap(),
    );
    let mut carol = user(a.store.as_ref(), "ada").await;
    carol.id = "carol-id".into();
    carol.username = "carol".into();
    carol.email = "carol@example.com".into();
    let signed_up = gatehouse::model::AuditRecord::new(
        now,
        gatehouse::model::AuditKind::SignedUp,
        "user:carol-id",
    );
    assert_eq!(
        a.store
            .sign_up(&signup_hash, carol, None, now, signed_up)
            .await
            .unwrap(),
        gatehouse::model::SignedUp::Done
    );
    let link_before = a.store.signup_link(&signup_hash).await.unwrap().unwrap();
    assert_eq!(link_before.domains, ["example.com"]);
    assert_eq!(
        a.store.address_rule("carol-id").await.unwrap(),
        ["example.com"]
    );
    // An application's logo.
    let logo = gatehouse::model::ClientLogo::from(
        gatehouse::branding::Logo::from_bytes(common::PNG.to_vec()).unwrap(),
    );
    assert!(
        a.store
            .set_client_logo("web", Some(logo.clone()), now, None)
            .await
            .unwrap()
    );
    // A session its person asked to keep on their device.
    let kept_session = gatehouse::model::Session {
        id_hash: gatehouse::oidc::tokens::hash("ada's laptop"),
        user_id: ada.id.clone(),
        auth_time: now,
        amr: gatehouse::model::Amr::PASSWORD,
        expires_at: now + 30 * 86_400,
        last_seen_at: now,
        user_agent: None,
        ip: None,
        kept: true,
    };
    a.store
        .create_session(kept_session.clone(), None, None, None)
        .await
        .unwrap();

    // Export while the SQLite server runs; the file is the owner's alone.
    let file = a.db.dir.path().join("export.json");
    let file_arg = file.to_str().unwrap();
    ok(&gatehouse(
        &a.db_url(),
        &["export", "--output", file_arg],
        None,
    ));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&file).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "an export holds secrets");
    }
    let out = ok(&gatehouse(&pg.url, &["import", file_arg], None));
    assert!(
        out.contains("imported 3 users, 2 groups, 4 clients, 3 signing keys, 3 token families"),
        "{out}"
    );

    // Bob was told of his app, his passkey and his password's removal where they were made,
    // Ada of her sign-in from a second browser (for the API); the records of that move, not
    // the news: nobody is told again.
    let told = "SELECT count(*) FROM security_notice";
    assert_eq!(a.db.count(told).await, 4);
    assert_eq!(pg.count(told).await, 0, "imported records tell nobody");

    let b = TestServer::start_on(pg).await;
    assert!(
        verifies(&id_token, &jwks(&b).await, "web"),
        "old ID tokens verify against the new JWKS"
    );
    let rotated = refresh(&b, &secret, before["refresh_token"].as_str().unwrap()).await;
    // The API a token and a grant are for moves with them.
    assert_eq!(
        audience(&b, &secret, &for_orders["access_token"]).await,
        ORDERS
    );
    let next = refresh(&b, &secret, for_orders["refresh_token"].as_str().unwrap()).await;
    assert_eq!(audience(&b, &secret, &next["access_token"]).await, ORDERS);
    // ... and so does the API's registration: it introspects that token on the new backend.
    let told = common::introspect(
        &b.base,
        ("orders", &orders_secret),
        next["access_token"].as_str().unwrap(),
    )
    .await;
    assert_eq!(
        (&told["active"], &told["client_id"]),
        (&true.into(), &"web".into()),
        "{told}"
    );
    assert_eq!(audience(&b, &secret, &rotated["access_token"]).await, "web");
    // The same password signs in, and the web app knows Ada by the same pairwise sub.
    let after = sign_in(&b, "web", &secret, "ada").await;
    assert_eq!(
        subject_of(after["id_token"].as_str().unwrap()),
        pairwise_sub,
        "the key of pairwise subjects moves"
    );
    let consents = b.store.consents(&ada.id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].scope, "openid profile");
    let moved = user(&*b.store, "ada").await;
    assert!(moved.email_verified, "the verified address moves");
    assert_eq!(
        moved.profile.given_name.as_deref(),
        Some("Ada"),
        "and the profile"
    );
    let groups = b.store.user_groups(&ada.id).await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["staff"]
    );
    let signed = b.store.client("signed").await.unwrap().unwrap();
    assert_eq!(
        signed,
        a.store.client("signed").await.unwrap().unwrap(),
        "a client's keys, its need of pushed and signed requests, of DPoP and of a confirmed \
         address, and its access tokens' claims move"
    );
    assert!(signed.jwks.is_some() && signed.require_pushed_authorization_requests);
    assert!(signed.require_signed_request_object && signed.dpop_bound_access_tokens);
    assert!(signed.require_confirmed_address);
    assert_eq!(signed.access_token_claims, ["groups"]);
    let partner = b.store.client("partner").await.unwrap().unwrap();
    assert_eq!(
        partner.id_token_signed_response_alg,
        gatehouse::model::SigningAlg::Es256,
        "a client's algorithm moves"
    );
    assert_eq!(
        partner.access_token_format,
        gatehouse::model::AccessTokenFormat::Jwt,
        "and its access token format"
    );
    assert_eq!(
        partner.auth_policy,
        gatehouse::model::AuthPolicy::TwoFactor,
        "and its authentication policy"
    );
    assert_eq!(
        b.store
            .group("auditors")
            .await
            .unwrap()
            .unwrap()
            .auth_policy,
        gatehouse::model::AuthPolicy::TwoFactor,
        "a group's too"
    );
    let claims_of = |owner| {
        let store = std::sync::Arc::clone(&b.store);
        async move { store.custom_claims(&owner).await.unwrap().unwrap() }
    };
    assert_eq!(
        claims_of(gatehouse::model::ClaimOwner::User("ada".into())).await,
        gatehouse::model::CustomClaims::from([("roles".into(), serde_json::json!(["editor"]))]),
        "custom claims move"
    );
    assert_eq!(
        claims_of(gatehouse::model::ClaimOwner::Group("staff".into())).await,
        gatehouse::model::CustomClaims::from([("tier".into(), serde_json::json!("gold"))]),
    );
    assert_eq!(
        b.store.totp_factor(&bob.id).await.unwrap(),
        Some(bob_app.clone()),
        "an authenticator app moves, with the last step it accepted"
    );
    assert_eq!(
        b.store.factors(&bob.id).await.unwrap().recovery_codes_left,
        2
    );
    assert_eq!(
        b.store.passkey("cred-1").await.unwrap().map(|(k, _)| k),
        Some(bob_key.clone()),
        "a passkey moves"
    );
    assert_eq!(
        b.store.signup_link(&signup_hash).await.unwrap(),
        Some(link_before.clone()),
        "a sign-up link given out moves, with its uses, groups and domains"
    );
    assert_eq!(
        b.store.address_rule("carol-id").await.unwrap(),
        ["example.com"],
        "the account it made keeps its rule"
    );
    assert_eq!(
        b.store.client_logo("web").await.unwrap().as_ref(),
        Some(&logo),
        "an application's logo moves"
    );
    assert_eq!(
        b.store
            .session(&kept_session.id_hash, now)
            .await
            .unwrap()
            .map(|(s, _)| s),
        Some(kept_session.clone()),
        "a kept session moves kept"
    );
    assert_eq!(
        user(b.store.as_ref(), "bob").await.password_hash,
        None,
        "and so does having no password"
    );
    assert!(user(b.store.as_ref(), "ada").await.password_hash.is_some());
    let keys = b.store.signing_keys(now).await.unwrap();
    assert_eq!(keys.len(), 3, "with a key for each algorithm");
    let log = b.store.audit_latest(100).await.unwrap();
    let kinds: Vec<&str> = log.iter().map(|e| e.record.kind.as_str()).collect();
    assert!(
        kinds.starts_with(&[
            "admin.group.created",
            "admin.group.created",
            "admin.user.claims_set",
            "admin.group.claims_set",
            "admin.user.email_set",
            "admin.user.profile_updated",
            "admin.group.member_added",
            "admin.client.updated",
            "admin.client.created",
            "admin.client.updated",
            "login.succeeded",
            "token.issued",
            "admin.client.updated",
            "login.succeeded",
            "token.issued",
            "admin.client.created",
            "admin.client.updated",
            "login.succeeded",
            "token.issued",
            "account.totp_enrolled",
            "account.totp_enrolled",
            "account.password_removed",
            "admin.signup_link.made",
            "account.signed_up",
            "admin.imported"
        ]),
        "{kinds:?}"
    );

    // A second import into the now-populated database is refused and changes nothing.
    refused(
        &gatehouse(&b.db_url(), &["import", file_arg], None),
        "not empty",
    );
    assert_eq!(
        b.store.list_users().await.unwrap().len(),
        3,
        "ada, bob and carol"
    );

    // And back to a fresh SQLite file: the token rotated on PostgreSQL refreshes there.
    let back = b.db.dir.path().join("back.json");
    let back_arg = back.to_str().unwrap();
    ok(&gatehouse(
        &b.db_url(),
        &["export", "--output", back_arg],
        None,
    ));
    // Back-channel logout moves with it: which apps Ada's session signed in to, and Bob's
    // notice, still undelivered.
    let moved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&back).unwrap()).unwrap();
    let told = &moved["session_clients"];
    assert!(
        told.as_array()
            .unwrap()
            .iter()
            .any(|x| x["client_id"] == "web"),
        "{told}"
    );
    let notices = moved["logout_notices"].as_array().unwrap();
    assert_eq!(notices.len(), 1, "{notices:?}");
    assert_eq!(notices[0]["user_id"], bob.id.as_str());
    assert_eq!(
        b.store
            .client("web")
            .await
            .unwrap()
            .unwrap()
            .backchannel_logout_uri
            .as_deref(),
        Some("http://127.0.0.1:9/backchannel")
    );
    let sqlite = Database::fresh(Backend::Sqlite).await.unwrap();
    ok(&gatehouse(&sqlite.url, &["import", back_arg], None));
    let c = TestServer::start_on(sqlite).await;
    assert!(verifies(&id_token, &jwks(&c).await, "web"));
    refresh(&c, &secret, rotated["refresh_token"].as_str().unwrap()).await;
    sign_in(&c, "web", &secret, "ada").await;
    assert_eq!(c.store.totp_factor(&bob.id).await.unwrap(), Some(bob_app));
    assert_eq!(
        c.store.passkey("cred-1").await.unwrap().map(|(k, _)| k),
        Some(bob_key)
    );
    assert_eq!(user(c.store.as_ref(), "bob").await.password_hash, None);
    assert_eq!(
        c.store.signup_link(&signup_hash).await.unwrap(),
        Some(link_before)
    );
    assert_eq!(
        c.store.address_rule("carol-id").await.unwrap(),
        ["example.com"]
    );
    assert!(c.store.address_rule(&bob.id).await.unwrap().is_empty());
    assert_eq!(c.store.client_logo("web").await.unwrap(), Some(logo));
    let back = c.store.session(&kept_session.id_hash, now).await.unwrap();
    assert!(back.is_some_and(|(s, _)| s.kept), "and back");
    let spent = gatehouse::model::AuditRecord::new(
        now,
        gatehouse::model::AuditKind::RecoveryCodeUsed,
        "test",
    );
    assert!(
        c.store
            .use_recovery_code(&bob.id, "r2", spent)
            .await
            .unwrap()
    );
    let members = c
        .store
        .members("staff", None, usize::MAX)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(members[0].id, ada.id, "groups come back with their members");
}

#[test]
fn a_bad_export_file_is_refused_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("target.db").display());
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let garbage = write("garbage.json", "{ not json");
    refused(
        &gatehouse(&db, &["import", &garbage], None),
        "not a gatehouse export",
    );
    let empty = r#"{"format":"gatehouse-export","version":VERSION,"exported_at":0,"users":[],"clients":[],
        "signing_keys":[],"consents":[],"sessions":[],"token_families":[],"refresh_tokens":[],
        "access_tokens":[],"client_tokens":[],"audit":[]}"#;
    let future = write("future.json", &empty.replace("VERSION", "99"));
    refused(&gatehouse(&db, &["import", &future], None), "version 99");
    let other = write(
        "other.json",
        &empty
            .replace("VERSION", "1")
            .replace("gatehouse-export", "something-else"),
    );
    refused(
        &gatehouse(&db, &["import", &other], None),
        "not a gatehouse export",
    );
    refused(
        &gatehouse(
            &db,
            &[
                "import",
                &dir.path().join("missing.json").display().to_string(),
            ],
            None,
        ),
        "reading",
    );
    // A file whose rows break the schema (a token of an unknown family) loads nothing at all.
    let broken = write(
        "broken.json",
        &empty.replace("VERSION", "1").replace(
            r#""users":[]"#,
            r#""users":[{"id":"u1","username":"ada","email":"a@example.com","name":null,"password_hash":"x","disabled":false,"created_at":0}]"#,
        ).replace(
            r#""refresh_tokens":[]"#,
            r#""refresh_tokens":[{"token_hash":"h","family_id":"nope","scope":"openid","created_at":0,"expires_at":9,"ended_at":null}]"#,
        ),
    );
    refused(&gatehouse(&db, &["import", &broken], None), "FOREIGN KEY");
    // A logo that is no image (a page's script, base64) is refused before anything loads.
    let script = "PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==";
    let not_an_image = write(
        "script-logo.json",
        &empty.replace("VERSION", "15").replace(
            r#""audit":[]"#,
            &format!(
                r#""client_logos":[{{"client_id":"web","image":"{script}","updated_at":0}}],"audit":[]"#
            ),
        ),
    );
    refused(
        &gatehouse(&db, &["import", &not_an_image], None),
        "the logo of client \"web\": not a PNG, JPEG, WebP or SVG image",
    );
    assert_eq!(
        ok(&gatehouse(&db, &["user", "list", "--json"], None)).trim(),
        "[]",
        "all or nothing"
    );
}
