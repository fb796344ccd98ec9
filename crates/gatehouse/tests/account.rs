//! The account page beyond second factors, through the router with a fixed clock, as a person
//! and as an attacker would use it: changing the password (the current one required, guesses
//! throttled, every other session signed out), the profile (a new address unconfirmed),
//! sessions signed out one by one or all at once, applications withdrawn, and the person's own
//! activity. Another person's ids in the forms change nothing.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::http::{StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::oneshot::*;
use common::{PASSWORD, REDIRECT, add_user, hidden_input, user};
use gatehouse::clock::Clock as _;
use gatehouse::model::{AuditKind, ClaimOwner, ClaimsChange, UserChange};

const NEW_PASSWORD: &str = "plum orbit lantern vivid kettle";

/// `cookies` with those the response set in place of the ones of the same name.
fn merged(cookies: &str, r: &Response) -> String {
    let set = common::oneshot::cookies(r);
    let name = |c: &str| c.split('=').next().unwrap_or_default().to_owned();
    let new: Vec<&str> = set.split("; ").filter(|c| !c.is_empty()).collect();
    let mut out: Vec<&str> = cookies
        .split("; ")
        .filter(|c| !new.iter().any(|n| name(n) == name(c)))
        .collect();
    out.extend(new);
    out.join("; ")
}

/// Whether the browser with `cookies` is signed in: the account page, not its login form.
async fn signed_in(f: &Fixture, cookies: &str) -> bool {
    let r = send(
        f,
        axum::http::Request::get("/account")
            .header(header::COOKIE, cookies)
            .body(axum::body::Body::empty())
            .unwrap(),
    )
    .await;
    body_text(r).await.contains("<h1>Your account</h1>")
}

async fn change_password(
    f: &Fixture,
    cookies: &str,
    csrf: &str,
    current: &str,
    new: &str,
    repeat: &str,
) -> Response {
    account_post(
        f,
        cookies,
        &[
            ("csrf", csrf),
            ("action", "change_password"),
            ("current_password", current),
            ("new_password", new),
            ("repeat_password", repeat),
        ],
    )
    .await
}

/// Whether `password` signs `username` in at the login form.
async fn password_works(f: &Fixture, username: &str, password: &str) -> bool {
    let r = post_login(f, &authorize_uri("web", ""), username, password).await;
    r.status() == StatusCode::SEE_OTHER
}

async fn a_new_password_needs_the_current_one_and_signs_out_every_other_session(db: Database) {
    let f = fixture_on(db).await;
    let here = account_sign_in(&f, "ada").await;
    let elsewhere = account_sign_in(&f, "ada").await;
    let (_, refresh, _) = tokens_for_ada(&f).await;
    let csrf = hidden_input(&account_page(&f, &here).await, "csrf");

    let refused = [
        (
            "wrong current password",
            "not the password",
            NEW_PASSWORD,
            NEW_PASSWORD,
        ),
        (
            "repeated differently",
            PASSWORD,
            NEW_PASSWORD,
            "plum orbit lantern",
        ),
        ("too short", PASSWORD, "short", "short"),
        ("too easy", PASSWORD, "password123456", "password123456"),
        ("the same", PASSWORD, PASSWORD, PASSWORD),
    ];
    let messages = [
        "Your current password is not right",
        "The two new passwords are not the same",
        "too short",
        "too easy to guess",
        "the one you have now",
    ];
    for ((why, current, new, repeat), message) in refused.into_iter().zip(messages) {
        let r = change_password(&f, &here, &csrf, current, new, repeat).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{why}");
        let html = body_text(r).await;
        assert!(html.contains(message), "{why}: {html}");
        assert!(password_works(&f, "ada", PASSWORD).await, "{why}");
        assert!(signed_in(&f, &elsewhere).await, "{why}");
    }

    // Signed in here, in the other browser, and by each login above.
    let ada = user(&*f.state.store, "ada").await;
    let others = f.state.store.sessions(&ada.id, T0).await.unwrap().len() - 1;
    assert!(others > 1);
    let r = change_password(&f, &here, &csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let here = merged(&here, &r);
    let html = body_text(r).await;
    let told =
        format!("Your password is changed, and your {others} other sessions are signed out.");
    assert!(html.contains(&told), "{html}");
    assert!(signed_in(&f, &here).await, "this browser stays signed in");
    assert!(!signed_in(&f, &elsewhere).await, "the other session ended");
    assert!(!password_works(&f, "ada", PASSWORD).await);
    assert!(password_works(&f, "ada", NEW_PASSWORD).await);
    // Whoever held a refresh token from before holds nothing now.
    let r = refresh_at_web(&f, &refresh).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let kinds: Vec<AuditKind> = f
        .state
        .store
        .audit_latest(50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.record.kind)
        .collect();
    assert!(kinds.contains(&AuditKind::PasswordChanged), "{kinds:?}");
}

async fn guessing_the_current_password_is_throttled_like_a_sign_in(db: Database) {
    let f = fixture_on(db).await;
    let cookies = account_sign_in(&f, "ada").await;
    let csrf = hidden_input(&account_page(&f, &cookies).await, "csrf");
    let mut throttled = false;
    for i in 0..12 {
        let guess = format!("guess number {i}");
        let r = change_password(&f, &cookies, &csrf, &guess, NEW_PASSWORD, NEW_PASSWORD).await;
        if body_text(r).await.contains("Too many failed attempts") {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "guesses are slowed down");
    // Held back: not even the right password gets through now.
    let r = change_password(&f, &cookies, &csrf, PASSWORD, NEW_PASSWORD, NEW_PASSWORD).await;
    assert!(body_text(r).await.contains("Too many failed attempts"));
    assert!(password_works_later(&f).await);
}

/// After the throttle's wait, the old password is still the one (nothing was changed).
async fn password_works_later(f: &Fixture) -> bool {
    f.clock.advance(3600);
    password_works(f, "ada", PASSWORD).await
}

async fn sessions_are_listed_and_signed_out_one_by_one_or_all_at_once(db: Database) {
    let f = fixture_on(db).await;
    let ada = user(&*f.state.store, "ada").await;
    add_user(f.state.store.as_ref(), "bob").await;
    let bob = user(&*f.state.store, "bob").await;
    let here = account_sign_in(&f, "ada").await;
    f.clock.advance(5);
    let second = account_sign_in(&f, "ada").await;
    f.clock.advance(5);
    let third = account_sign_in(&f, "ada").await;
    let bobs = account_sign_in(&f, "bob").await;

    let html = account_page(&f, &here).await;
    assert_eq!(html.matches("Signed in 20").count(), 3, "{html}");
    // Without mail, nobody is told of a new browser: the page does not promise it.
    assert!(!html.contains("new to your account again"), "{html}");
    assert_eq!(html.matches("This browser").count(), 1);
    let csrf = hidden_input(&html, "csrf");
    let ada_sessions = f.state.store.sessions(&ada.id, T0 + 10).await.unwrap();
    let bob_session = &f.state.store.sessions(&bob.id, T0 + 10).await.unwrap()[0];

    // Another person's session id: nothing ends.
    let end = |id: String| {
        let (here, csrf) = (here.clone(), csrf.clone());
        let f = &f;
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("action", "end_session"),
                ("session", id.as_str()),
            ];
            body_text(account_post(f, &here, &fields).await).await
        }
    };
    let html = end(bob_session.id_hash.clone()).await;
    assert!(html.contains("That session has ended already."), "{html}");
    assert!(signed_in(&f, &bobs).await);

    // The second browser's session (newest first: the third, the second, this one).
    assert_eq!(ada_sessions.len(), 3);
    let html = end(ada_sessions[1].id_hash.clone()).await;
    assert!(html.contains("That session is signed out."), "{html}");
    assert!(!signed_in(&f, &second).await);
    assert!(signed_in(&f, &third).await);
    // Recorded with the session's end.
    let latest = f.state.store.audit_latest(1).await.unwrap();
    assert_eq!(
        (
            latest[0].record.kind,
            latest[0].record.subject.as_deref(),
            latest[0].record.detail.as_deref()
        ),
        (
            gatehouse::model::AuditKind::SessionsEnded,
            Some("ada"),
            Some("sessions ended: 1")
        )
    );

    let r = account_post(
        &f,
        &here,
        &[("csrf", &csrf), ("action", "end_other_sessions")],
    )
    .await;
    let html = body_text(r).await;
    assert!(html.contains("Your other session is signed out."), "{html}");
    assert!(html.contains("You are signed in nowhere else."));
    assert!(!signed_in(&f, &third).await);
    assert!(signed_in(&f, &here).await, "this browser stays");
    assert!(signed_in(&f, &bobs).await, "another person's sessions stay");
    // Signing out is open to an old sign-in: it only takes access away.
    f.clock.advance(700);
    let r = account_post(
        &f,
        &here,
        &[("csrf", &csrf), ("action", "end_other_sessions")],
    )
    .await;
    assert!(
        body_text(r)
            .await
            .contains("You were signed in nowhere else.")
    );
}

async fn an_application_is_withdrawn_and_its_tokens_stop_working(db: Database) {
    let f = fixture_on(db).await;
    let ada = user(&*f.state.store, "ada").await;
    add_user(f.state.store.as_ref(), "bob").await;
    let store = f.state.store.as_ref();
    store
        .grant_consent(&ada.id, "web", "openid profile", T0, None)
        .await
        .unwrap();
    let (_, refresh, _) = tokens_for_ada(&f).await;
    let cookies = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &cookies).await;
    assert!(html.contains("See your name and username"), "{html}");
    let csrf = hidden_input(&html, "csrf");

    // Bob withdrawing "web" from his own account touches nothing of Ada's.
    let bobs = account_sign_in(&f, "bob").await;
    let bob_csrf = hidden_input(&account_page(&f, &bobs).await, "csrf");
    let fields = [
        ("csrf", bob_csrf.as_str()),
        ("action", "withdraw_consent"),
        ("client_id", "web"),
    ];
    let html = body_text(account_post(&f, &bobs, &fields).await).await;
    assert!(html.contains("That application has no access"), "{html}");
    assert!(store.consent(&ada.id, "web").await.unwrap().is_some());

    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "withdraw_consent"),
        ("client_id", "web"),
    ];
    let html = body_text(account_post(&f, &cookies, &fields).await).await;
    assert!(
        html.contains("no longer has access to your account"),
        "{html}"
    );
    assert!(html.contains("You have not allowed any application"));
    assert!(store.consent(&ada.id, "web").await.unwrap().is_none());
    let r = refresh_at_web(&f, &refresh).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "the app's tokens end");
}

async fn a_profile_changes_after_a_recent_sign_in_and_a_new_address_is_unconfirmed(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    let confirmed = UserChange::SetEmail {
        email: "ada@example.com".into(),
        verified: true,
    };
    store.update_user("ada", confirmed, T0, None).await.unwrap();
    let cookies = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &cookies).await;
    assert!(html.contains("Confirmed"), "{html}");
    let csrf = hidden_input(&html, "csrf");
    let save = |name: &'static str, email: &'static str| {
        let (cookies, csrf) = (cookies.clone(), csrf.clone());
        let f = &f;
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("action", "save_profile"),
                ("name", name),
                ("email", email),
            ];
            account_post(f, &cookies, &fields).await
        }
    };
    let ada = || async { user(&*store, "ada").await };

    for (name, email, message) in [
        ("Ada", "not an address", "That is not an email address."),
        (
            "Ada",
            "ada@\u{200b}example.com",
            "That is not an email address.",
        ),
        (
            "Ada\u{202e}",
            "ada@example.com",
            "A name is at most 256 characters",
        ),
    ] {
        let r = save(name, email).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{email}");
        assert!(body_text(r).await.contains(message), "{name} {email}");
        let now = ada().await;
        assert_eq!(now.email, "ada@example.com");
        assert!(now.email_verified);
    }

    let r = save("Ada Lovelace", "ada@example.org").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(html.contains("Your profile is saved."), "{html}");
    assert!(html.contains("Not confirmed"), "{html}");
    let now = ada().await;
    assert_eq!(now.name.as_deref(), Some("Ada Lovelace"));
    assert_eq!(now.email, "ada@example.org");
    assert!(
        !now.email_verified,
        "a new address is not confirmed by its owner's word"
    );

    // Ten minutes on, the address cannot be redirected without signing in again.
    f.clock.advance(601);
    let html = body_text(save("Mallory", "mallory@example.net").await).await;
    assert!(html.contains("Sign in again first"), "{html}");
    assert_eq!(ada().await.email, "ada@example.org");
}

/// A new name and address are saved together or not at all: when the address cannot be
/// written, the name stays as it was and nothing is recorded.
async fn a_profile_is_saved_whole_or_not_at_all(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    let cookies = account_sign_in(&f, "ada").await;
    let csrf = hidden_input(&account_page(&f, &cookies).await, "csrf");
    let (before, records) = (
        user(store, "ada").await,
        store.audit_latest(100).await.unwrap().len(),
    );
    f.db.fail_updates_of("user_account", "email").await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "save_profile"),
        ("name", "Ada Lovelace"),
        ("email", "ada@example.org"),
    ];
    let r = account_post(&f, &cookies, &fields).await;
    assert!(r.status().is_server_error(), "{}", r.status());
    assert_eq!(user(store, "ada").await, before, "nothing changed");
    assert_eq!(store.audit_latest(100).await.unwrap().len(), records);
}

async fn a_person_sees_their_own_activity_and_no_one_elses(db: Database) {
    let f = fixture_on(db).await;
    add_user(f.state.store.as_ref(), "bob").await;
    assert!(!password_works(&f, "ada", "a wrong guess").await);
    let _ = tokens_for_ada(&f).await;
    let _ = account_sign_in(&f, "bob").await;
    assert!(!password_works(&f, "bob", "another wrong guess").await);
    let cookies = account_sign_in(&f, "ada").await;

    let mine = activity_of(&f, "ada").await;
    assert!(
        mine.iter()
            .all(|e| e.record.subject.as_deref() == Some("ada"))
    );
    let kinds: Vec<AuditKind> = mine.iter().map(|e| e.record.kind).collect();
    assert!(kinds.contains(&AuditKind::LoginFailed), "{kinds:?}");
    assert!(kinds.contains(&AuditKind::LoginSucceeded), "{kinds:?}");
    assert!(
        !kinds.contains(&AuditKind::TokenIssued),
        "tokens are not activity"
    );
    assert!(mine.windows(2).all(|w| w[0].id > w[1].id), "newest first");

    let html = account_page(&f, &cookies).await;
    assert_eq!(
        html.matches("A sign-in failed: wrong password").count(),
        1,
        "{html}"
    );
    assert!(html.contains("Signed in"));
}

/// The account page offers the applications a person may use that have a home page, by
/// name: one limited to a group only to its members, one without a home page not at all, and
/// none when there is none to open.
async fn a_person_opens_the_applications_they_may_use_from_their_account_page(db: Database) {
    use gatehouse::admin::{Admin, NewClient, NewGroup};
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    // The server's own address leads there.
    let r = send(&f, get("/")).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "account");
    let cookies = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &cookies).await;
    assert!(!html.contains("Your applications"), "none yet: {html}");

    let admin = Admin::new(store, "test", None, T0);
    let client = |id: &str, name: &str, home: Option<&str>| NewClient {
        client_id: id.into(),
        redirect_uris: vec![format!("https://{id}.example/callback")],
        display_name: Some(name.into()),
        home_uri: home.map(str::to_owned),
        ..Default::default()
    };
    for new in [
        client("wiki", "wiki <Team>", Some("https://wiki.example/")),
        client("vault", "Vault", Some("https://vault.example/start")),
        client("cron", "Cron", None),
        client("atlas", "Atlas", Some("https://atlas.example/")),
    ] {
        admin.add_client(new).await.unwrap();
    }
    admin
        .add_group(NewGroup {
            name: "ops".into(),
            description: None,
            auth_policy: gatehouse::model::AuthPolicy::Password,
        })
        .await
        .unwrap();
    admin
        .set_client_access("vault", vec!["ops".into()])
        .await
        .unwrap();
    let offered = |html: &str| -> Vec<String> {
        let Some(start) = html.find(r#"<ul class="applications""#) else {
            return Vec::new();
        };
        let list = &html[start..start + html[start..].find("</ul>").unwrap()];
        list.split("<a href=\"")
            .skip(1)
            .map(|a| a[..a.find('"').unwrap()].to_owned())
            .collect()
    };

    let html = account_page(&f, &cookies).await;
    assert!(
        html.contains(r##"<a href="#applications">Your applications</a>"##),
        "{html}"
    );
    assert_eq!(
        offered(&html),
        ["https://atlas.example/", "https://wiki.example/"],
        "by name; the vault is for ops only, cron has no home page: {html}"
    );
    assert!(html.contains("wiki &lt;Team&gt;"), "a name is text: {html}");
    assert!(
        html.contains("wiki.example</span>"),
        "where it leads: {html}"
    );

    admin.add_member("ops", "ada").await.unwrap();
    let html = account_page(&f, &cookies).await;
    assert_eq!(
        offered(&html),
        [
            "https://atlas.example/",
            "https://vault.example/start",
            "https://wiki.example/"
        ]
    );
    // Another person, in no group, sees what is open to everyone.
    add_user(store, "bob").await;
    let bobs = account_sign_in(&f, "bob").await;
    assert_eq!(
        offered(&account_page(&f, &bobs).await),
        ["https://atlas.example/", "https://wiki.example/"]
    );
}

async fn a_person_sees_the_claims_applications_are_told_and_no_one_elses(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    add_user(store, "bob").await;
    let cookies = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &cookies).await;
    assert!(
        !html.contains("Given to you by your administrators"),
        "none yet"
    );

    let give = |owner: ClaimOwner, claims: serde_json::Value| async move {
        let claims = claims.as_object().unwrap().clone().into_iter().collect();
        store
            .change_custom_claims(&owner, ClaimsChange::Replace(claims), None)
            .await
            .unwrap()
            .unwrap();
    };
    give(
        ClaimOwner::User("ada".into()),
        serde_json::json!({"department": "research", "tier": 2}),
    )
    .await;
    give(
        ClaimOwner::User("bob".into()),
        serde_json::json!({"clearance": "<b>secret</b>"}),
    )
    .await;
    let staff = gatehouse::model::Group {
        id: gatehouse::oidc::tokens::new_id(),
        name: "staff".into(),
        description: None,
        created_at: 0,
        auth_policy: Default::default(),
    };
    store.create_group(staff, None).await.unwrap();
    let ada = user(store, "ada").await;
    assert!(store.add_member("staff", &ada.id, 0, None).await.unwrap());
    give(
        ClaimOwner::Group("staff".into()),
        serde_json::json!({"department": "everyone", "building": "B"}),
    )
    .await;

    // Her own, then her group's where she has none: what an application is told.
    let html = account_page(&f, &cookies).await;
    assert!(
        html.contains("Given to you by your administrators"),
        "{html}"
    );
    assert!(
        html.contains("<dt>department</dt><dd>research</dd>"),
        "{html}"
    );
    assert!(
        html.contains("<dt>tier</dt><dd><code>2</code></dd>"),
        "{html}"
    );
    assert!(html.contains("<dt>building</dt><dd>B</dd>"), "{html}");
    assert!(!html.contains("everyone"), "her own value wins: {html}");
    assert!(!html.contains("clearance"), "not another person's: {html}");
    // Shown as text, never as markup.
    let bobs = account_sign_in(&f, "bob").await;
    let html = account_page(&f, &bobs).await;
    assert!(html.contains("&lt;b&gt;secret&lt;/b&gt;"), "{html}");
}

async fn a_forged_account_form_changes_nothing(db: Database) {
    let f = fixture_on(db).await;
    let ada_cookies = account_sign_in(&f, "ada").await;
    let other = account_sign_in(&f, "ada").await;
    add_user(f.state.store.as_ref(), "bob").await;
    let bobs = account_sign_in(&f, "bob").await;
    let bob_csrf = hidden_input(&account_page(&f, &bobs).await, "csrf");
    for csrf in ["", "forged", bob_csrf.as_str()] {
        let fields = [("csrf", csrf), ("action", "end_other_sessions")];
        let r = account_post(&f, &ada_cookies, &fields).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{csrf:?}");
        assert!(body_text(r).await.contains("This form has expired"));
        assert!(signed_in(&f, &other).await, "{csrf:?}");
    }
}

/// Each sign-in in a person's activity says the browser it came from, as their sessions do,
/// so that they can tell their own from a stranger's on a phone; one from something that
/// names no browser says none.
async fn a_persons_activity_names_the_browser_of_each_sign_in(db: Database) {
    const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
    const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) \
                          AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 \
                          Safari/604.1";
    let f = fixture_on(db).await;
    let uri = authorize_uri("web", "");
    let phone = Browser {
        user_agent: Some(IPHONE),
        from: Some([198, 51, 100, 4]),
        ..Browser::default()
    };
    let r = post_login_from(&f, &uri, "ada", "a stranger's guess", phone).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let firefox = Browser {
        user_agent: Some(FIREFOX),
        ..Browser::default()
    };
    let r = post_login_from(&f, &uri, "ada", PASSWORD, firefox).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let cookies = account_sign_in(&f, "ada").await;

    let mine = activity_of(&f, "ada").await;
    let kept: Vec<(AuditKind, Option<&str>)> = mine
        .iter()
        .map(|e| (e.record.kind, e.record.user_agent.as_deref()))
        .collect();
    assert_eq!(
        kept,
        [
            (AuditKind::LoginSucceeded, None),
            (AuditKind::LoginSucceeded, Some(FIREFOX)),
            (AuditKind::LoginFailed, Some(IPHONE)),
        ]
    );

    let html = account_page(&f, &cookies).await;
    let (_, activity) = html.split_once(r#"id="activity""#).unwrap();
    assert!(
        activity.contains("A sign-in failed: wrong password"),
        "{activity}"
    );
    assert!(
        activity.contains(" · Safari on iPhone · from 198.51.100.4</span>"),
        "{activity}"
    );
    assert_eq!(
        activity.matches(" · Firefox on Linux").count(),
        1,
        "{activity}"
    );
}

/// When a used refresh token or code of Ada's comes back, the application's sign-in is ended,
/// by its request, not hers: her activity says so, and Bob's, signed in to the same
/// application, does not.
async fn a_person_sees_when_a_used_token_of_theirs_ended_an_applications_sign_in(db: Database) {
    let f = fixture_on(db).await;
    add_user(f.state.store.as_ref(), "bob").await;
    let (_, first, _) = tokens_for_ada(&f).await;
    let next = json(refresh_at_web(&f, &first).await).await;
    let next = next["refresh_token"].as_str().unwrap();
    assert_eq!(refresh_at_web(&f, next).await.status(), StatusCode::OK);
    let reused = refresh_at_web(&f, &first).await;
    assert_eq!(reused.status(), StatusCode::BAD_REQUEST);
    let code = code(&f, "web").await;
    let redeem = || exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT);
    assert_eq!(redeem().await.status(), StatusCode::OK);
    assert_eq!(redeem().await.status(), StatusCode::BAD_REQUEST);

    let kinds = |events: Vec<gatehouse::model::AuditEvent>| {
        events.iter().map(|e| e.record.kind).collect::<Vec<_>>()
    };
    let hers = kinds(activity_of(&f, "ada").await);
    for kind in [AuditKind::TokenReuseDetected, AuditKind::CodeReplayed] {
        assert_eq!(hers.iter().filter(|k| **k == kind).count(), 1, "{hers:?}");
    }
    let html = account_page(&f, &account_sign_in(&f, "ada").await).await;
    let (_, activity) = html.split_once(r#"id="activity""#).unwrap();
    for said in [
        "An application's sign-in was ended: a used token came back",
        "An application's sign-in was ended: a used sign-in code came back",
    ] {
        assert_eq!(activity.matches(said).count(), 1, "{said}: {activity}");
    }

    let bob = post_login(&f, &authorize_uri("web", ""), "bob", PASSWORD).await;
    let his_code = &location(&bob)["code"];
    let his_tokens = exchange(&f, his_code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(his_tokens.status(), StatusCode::OK);
    let his = kinds(activity_of(&f, "bob").await);
    assert!(
        !his.contains(&AuditKind::TokenReuseDetected) && !his.contains(&AuditKind::CodeReplayed),
        "{his:?}"
    );
}

/// A name is free again once its account is removed, and the audit log keeps the records
/// about the person who had it. Someone given the name later sees none of them: not on their
/// account page, not in their data's download; the records stay in the log.
async fn a_new_account_with_a_removed_persons_name_sees_none_of_their_activity(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    add_user(store, "grace").await;
    let from = Browser {
        from: Some([198, 51, 100, 4]),
        ..Browser::default()
    };
    let uri = authorize_uri("web", "");
    let r = post_login_from(&f, &uri, "grace", PASSWORD, from).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let code = &location(&r)["code"];
    let tokens = exchange(&f, code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(tokens.status(), StatusCode::OK);
    let admin = |at| gatehouse::admin::Admin::new(store, "cli", None, at);
    admin(T0).remove_user("grace").await.unwrap();

    f.clock.advance(60);
    let passwords = gatehouse::auth::passwords::Passwords::new(1);
    let email = "grace.hopper@example.org".to_owned();
    let new = gatehouse::admin::NewUser::new("grace".into(), email, PASSWORD.into());
    admin(T0 + 60).add_user(&passwords, new).await.unwrap();
    let cookies = account_sign_in(&f, "grace").await;
    let html = account_page(&f, &cookies).await;
    let (_, activity) = html.split_once(r#"id="activity""#).unwrap();
    assert!(!activity.contains("198.51.100.4"), "{activity}");
    assert_eq!(activity.matches("Signed in").count(), 1, "{activity}");
    let r = account_post(
        &f,
        &cookies,
        &[
            ("csrf", &hidden_input(&html, "csrf")),
            ("action", "download_data"),
        ],
    )
    .await;
    let download: serde_json::Value = serde_json::from_str(&body_text(r).await).unwrap();
    let kinds: Vec<&str> = download["activity"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["what"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["login.succeeded", "admin.user.created"]);
    // Nor the applications given the earlier Grace's data.
    assert_eq!(
        download["tokens_issued_to_applications"],
        serde_json::json!([])
    );
    let log = store.audit_latest(50).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.record.ip.as_deref() == Some("198.51.100.4")),
        "the log keeps what the earlier Grace did"
    );
}

/// What `username`'s account page lists as their activity, newest first.
async fn activity_of(f: &Fixture, username: &str) -> Vec<gatehouse::model::AuditEvent> {
    f.state
        .store
        .audit_about(username, 0, AuditKind::PERSONAL, 20)
        .await
        .unwrap()
}

/// Where the deployment lets people (`serve --account-removal`), Grace removes her own account
/// from her account page: only after a recent sign-in and typing her username, which a slip
/// does not; then she is signed out, her tokens stop working, her username no longer signs in
/// and the audit log keeps the record. An administrator is told to ask another. Without the
/// setting the page offers nothing and the form is refused.
async fn a_person_removes_their_own_account_where_the_deployment_lets_them(db: Database) {
    let f = fixture_with(db, |args| args.account_removal = true).await;
    add_user(f.state.store.as_ref(), "grace").await;
    let grace = account_sign_in(&f, "grace").await;
    let elsewhere = account_sign_in(&f, "grace").await;
    let html = account_page(&f, &grace).await;
    assert!(
        html.contains("<h2 id=\"remove\">Remove your account</h2>"),
        "{html}"
    );
    let csrf = hidden_input(&html, "csrf");
    let remove = |cookies: &str, typed: &str| {
        let fields = [
            ("csrf", csrf.clone()),
            ("action", "remove_account".to_owned()),
            ("confirm", typed.to_owned()),
        ];
        let (f, cookies) = (&f, cookies.to_owned());
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            account_post(f, &cookies, &fields).await
        }
    };
    for typed in ["", "Grace", "ada", "grace x"] {
        let r = remove(&grace, typed).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{typed:?}");
        let html = body_text(r).await;
        assert!(
            html.contains("Type your username, grace, to confirm. Your account is not removed."),
            "{typed:?}: {html}"
        );
        assert!(password_works(&f, "grace", PASSWORD).await, "{typed:?}");
    }
    // A sign-in that is not recent is asked to sign in again first.
    f.clock.advance(11 * 60);
    let r = remove(&grace, "grace").await;
    let html = body_text(r).await;
    assert!(html.contains("Sign in again first"), "{html}");
    assert!(password_works(&f, "grace", PASSWORD).await);

    let grace = account_sign_in(&f, "grace").await;
    let csrf = hidden_input(&account_page(&f, &grace).await, "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "remove_account"),
        ("confirm", " grace "),
    ];
    let r = account_post(&f, &grace, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    let set: Vec<&str> = r
        .headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    assert!(
        set.iter()
            .any(|c| c.starts_with("gatehouse_session=;") && c.contains("Max-Age=0")),
        "the session cookie is removed: {set:?}"
    );
    let html = body_text(r).await;
    assert!(html.contains("<h1>Your account is removed</h1>"), "{html}");
    assert!(
        !html.contains("A mail telling of it"),
        "no mail goes out: {html}"
    );
    assert!(
        f.state
            .store
            .user_by_username("grace")
            .await
            .unwrap()
            .is_none()
    );
    assert!(!password_works(&f, "grace", PASSWORD).await);
    assert!(!signed_in(&f, &elsewhere).await, "signed out everywhere");
    let removed: Vec<_> = f
        .state
        .store
        .audit_latest(10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind == AuditKind::AccountRemoved)
        .collect();
    assert_eq!(removed.len(), 1);
    assert_eq!(removed[0].record.subject.as_deref(), Some("grace"));
    assert!(removed[0].record.actor.starts_with("user:"), "by herself");

    // Carol sends the form eight times at once: her account goes once, with one record.
    add_user(f.state.store.as_ref(), "carol").await;
    let carol = account_sign_in(&f, "carol").await;
    let csrf = hidden_input(&account_page(&f, &carol).await, "csrf");
    let mut burst = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let fields = [
            ("csrf", csrf.as_str()),
            ("action", "remove_account"),
            ("confirm", "carol"),
        ];
        let request = form_as(&carol, "/account", &fields);
        let app = gatehouse::app(f.state.clone());
        burst.spawn(async move {
            use tower::ServiceExt as _;
            app.oneshot(request).await.unwrap().status()
        });
    }
    // Each is answered: the account removed, or (once it is) the sign-in page.
    let answers = burst.join_all().await;
    assert!(answers.iter().all(|s| *s == StatusCode::OK), "{answers:?}");
    assert!(
        f.state
            .store
            .user_by_username("carol")
            .await
            .unwrap()
            .is_none()
    );
    let removed = f.state.store.audit_latest(50).await.unwrap();
    let carols: Vec<_> = removed
        .iter()
        .filter(|e| {
            e.record.kind == AuditKind::AccountRemoved
                && e.record.subject.as_deref() == Some("carol")
        })
        .collect();
    assert_eq!(carols.len(), 1, "one removal, one record");

    // Ada administers the server: she is told to ask another administrator.
    let ada = administrator_signed_in(&f, "ada").await;
    let html = account_page(&f, &ada).await;
    assert!(
        html.contains("You administer this server: another administrator removes your account"),
        "{html}"
    );
    assert!(!html.contains("remove_account"), "{html}");
    let csrf = hidden_input(&html, "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "remove_account"),
        ("confirm", "ada"),
    ];
    assert_eq!(
        account_post(&f, &ada, &fields).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(password_works(&f, "ada", PASSWORD).await);
}

/// Ada downloads what her account holds: a JSON file, kept by no cache, with her profile, her
/// sessions and her activity, and none of Grace's; no password hash, no session id; without a
/// recent sign-in (the page shows as much without one). A forged form downloads nothing.
async fn a_person_downloads_what_their_account_holds(db: Database) {
    let f = fixture_on(db).await;
    add_user(f.state.store.as_ref(), "grace").await;
    let _ = account_sign_in(&f, "grace").await;
    // An application is given tokens for each of them: for Ada, a sign-in's and a refresh's.
    let graces = post_login(&f, &authorize_uri("web", ""), "grace", PASSWORD).await;
    let code = &location(&graces)["code"];
    let r = exchange(&f, code, CHALLENGE_VERIFIER, REDIRECT).await;
    assert_eq!(r.status(), StatusCode::OK);
    let (_, refresh, _) = tokens_for_ada(&f).await;
    f.clock.advance(60);
    assert_eq!(refresh_at_web(&f, &refresh).await.status(), StatusCode::OK);
    let ada = account_sign_in(&f, "ada").await;
    // Past a recent sign-in, within the idle timeout.
    f.clock.advance(11 * 60);
    let csrf = hidden_input(&account_page(&f, &ada).await, "csrf");
    let r = account_post(&f, &ada, &[("csrf", &csrf), ("action", "download_data")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let header = |name| r.headers()[name].to_str().unwrap().to_owned();
    assert_eq!(header(header::CONTENT_TYPE), "application/json");
    assert_eq!(
        header(header::CONTENT_DISPOSITION),
        "attachment; filename=\"account.json\""
    );
    assert_eq!(header(header::CACHE_CONTROL), "no-store");
    let text = body_text(r).await;
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(doc["account"]["username"], "ada");
    assert_eq!(doc["account"]["email"], "ada@example.com");
    assert_eq!(doc["account"]["has_password"], true);
    let ada_user = user(&*f.state.store, "ada").await;
    let now = f.clock.now();
    let sessions = f.state.store.sessions(&ada_user.id, now).await.unwrap();
    assert_eq!(doc["sessions"].as_array().unwrap().len(), sessions.len());
    let activity = doc["activity"].as_array().unwrap();
    assert!(
        activity
            .iter()
            .any(|e| e["what"] == "login.succeeded" && e["by"] == "you"),
        "{doc:#}"
    );
    // Which applications were given her data, and when: hers alone, not Grace's.
    let web = f.state.store.client("web").await.unwrap().unwrap();
    assert_eq!(
        doc["tokens_issued_to_applications"],
        serde_json::json!([{
            "client_id": "web",
            "name": web.display_name(),
            "first_at": gatehouse::clock::rfc3339(T0),
            "last_at": gatehouse::clock::rfc3339(T0 + 60),
            "times": 2,
        }]),
        "{doc:#}"
    );
    for secret in [
        ada_user.password_hash.clone().unwrap(),
        sessions[0].id_hash.clone(),
        ada_user.id.clone(),
        "grace".to_owned(),
    ] {
        assert!(!text.contains(&secret), "{secret} in {text}");
    }

    let r = account_post(&f, &ada, &[("csrf", "forged"), ("action", "download_data")]).await;
    assert_ne!(
        r.headers()
            .get(header::CONTENT_TYPE)
            .map(|v| v.to_str().unwrap()),
        Some("application/json")
    );
    assert!(!body_text(r).await.contains("\"username\""));
}

/// What an administrator did to Ada's account is in her activity, on her page and in her
/// data's file, without the address they did it from (nor their browser): where an
/// administrator works from is not hers to know, as her notices do not say it either. The
/// log keeps it.
async fn a_person_sees_what_an_administrator_did_but_not_where_from(db: Database) {
    const AT_WORK: &str = "192.0.2.77";
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    let grace = add_user(store, "grace").await;
    let admin = gatehouse::admin::Admin::new(
        store,
        format!("user:{}", grace.id),
        AT_WORK.parse().ok(),
        f.clock.now(),
    );
    admin
        .set_address_rule("ada", &["example.com".to_owned()])
        .await
        .unwrap();
    let ada = account_sign_in(&f, "ada").await;

    let html = account_page(&f, &ada).await;
    let (_, activity) = html.split_once(r#"id="activity""#).unwrap();
    let said = "Kept by an administrator to sign in with a confirmed address at some domains";
    assert!(activity.contains(said), "{activity}");
    assert!(!activity.contains(AT_WORK), "{activity}");

    let csrf = hidden_input(&html, "csrf");
    let r = account_post(&f, &ada, &[("csrf", &csrf), ("action", "download_data")]).await;
    let doc: serde_json::Value = serde_json::from_str(&body_text(r).await).unwrap();
    let records = doc["activity"].as_array().unwrap();
    let by_administrator = records
        .iter()
        .find(|e| e["what"] == AuditKind::AddressRuleSet.as_str())
        .unwrap_or_else(|| panic!("{doc:#}"));
    assert_eq!(by_administrator["by"], "an administrator");
    assert!(by_administrator["from"].is_null(), "{doc:#}");
    assert!(!doc.to_string().contains(AT_WORK), "{doc:#}");

    let log = store.audit_latest(20).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.record.kind == AuditKind::AddressRuleSet
                && e.record.ip.as_deref() == Some(AT_WORK)),
        "the log keeps where the administrator worked from"
    );
}

/// Tokens `username` gets from `web` with `offline_access`: they stay when the session ends.
async fn offline_tokens(f: &Fixture, username: &str) -> String {
    let uri = authorize_uri("web", "").replace("scope=openid", "scope=openid%20offline_access");
    let r = post_login(f, &uri, username, PASSWORD).await;
    let tokens = json(exchange(f, &location(&r)["code"], CHALLENGE_VERIFIER, REDIRECT).await).await;
    tokens["refresh_token"].as_str().unwrap().to_owned()
}

/// An application given `offline_access` stays signed in when Ada signs out of her sessions:
/// her page lists it, and she signs it out there. Its tokens stop working (those tied to her
/// session too), hers alone: Bob's of the same application go on. A forged form, or one naming
/// an application with nothing of hers, ends nothing and records nothing.
async fn a_person_signs_out_an_application_that_stays_signed_in(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    add_user(store, "bob").await;
    let bobs = offline_tokens(&f, "bob").await;
    let hers = offline_tokens(&f, "ada").await;
    // Tokens tied to a session are not listed: they end with it.
    let (_, session_bound, _) = tokens_for_ada(&f).await;
    let ada = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &ada).await;
    let (_, staying) = html.split_once(r#"id="staying""#).unwrap();
    let (staying, _) = staying.split_once("</table>").unwrap();
    let web = store.client("web").await.unwrap().unwrap();
    let name = web.display_name();
    assert_eq!(staying.matches("<tr>").count(), 1, "{staying}");
    assert!(
        staying.contains(&format!("Sign out of {name}")),
        "{staying}"
    );

    let csrf = hidden_input(&html, "csrf");
    // Her data's file says so too.
    let fields = [("csrf", csrf.as_str()), ("action", "download_data")];
    let file = body_text(account_post(&f, &ada, &fields).await).await;
    let file: serde_json::Value = serde_json::from_str(&file).unwrap();
    let staying_apps = file["applications_that_stay_signed_in"].as_array().unwrap();
    assert_eq!(staying_apps.len(), 1, "{file:#}");
    assert_eq!(staying_apps[0]["client_id"], "web", "{file:#}");
    let sign_out = |csrf: String, client_id: &'static str| {
        let (f, ada) = (&f, ada.clone());
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("action", "sign_out_application"),
                ("client_id", client_id),
            ];
            account_post(f, &ada, &fields).await
        }
    };
    let signed_out = || async {
        let kinds = [AuditKind::ApplicationSignedOut];
        store.audit_about("ada", 0, &kinds, 10).await.unwrap().len()
    };
    let forged = sign_out("forged".into(), "web").await;
    assert_ne!(forged.status(), StatusCode::OK);
    let none = sign_out(csrf.clone(), "spa").await;
    assert!(
        body_text(none)
            .await
            .contains("That application was signed out already.")
    );
    assert_eq!(signed_out().await, 0);
    // Her token still works, as the next one does until she signs the application out.
    let hers = json(refresh_at_web(&f, &hers).await).await;
    let hers = hers["refresh_token"].as_str().unwrap().to_owned();
    let r = sign_out(csrf, "web").await;
    let page = body_text(r).await;
    assert!(
        page.contains(&format!("{name} is signed out of your account.")),
        "{page}"
    );
    assert!(!page.contains(r#"id="staying""#), "{page}");
    for token in [&hers, &session_bound] {
        assert_eq!(
            refresh_at_web(&f, token).await.status(),
            StatusCode::BAD_REQUEST
        );
    }
    assert_eq!(refresh_at_web(&f, &bobs).await.status(), StatusCode::OK);
    assert_eq!(signed_out().await, 1);
    // Her session in this browser goes on.
    assert!(signed_in(&f, &ada).await);
}

/// Without `--account-removal`, the page offers no removal and the form is refused.
async fn without_the_setting_no_one_removes_their_own_account(db: Database) {
    let f = fixture_on(db).await;
    let ada = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &ada).await;
    assert!(!html.contains("Remove your account"), "{html}");
    let csrf = hidden_input(&html, "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "remove_account"),
        ("confirm", "ada"),
    ];
    let r = account_post(&f, &ada, &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        f.state
            .store
            .user_by_username("ada")
            .await
            .unwrap()
            .is_some()
    );
    assert!(password_works(&f, "ada", PASSWORD).await);
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_person_removes_their_own_account_where_the_deployment_lets_them,
    a_person_downloads_what_their_account_holds,
    a_person_sees_what_an_administrator_did_but_not_where_from,
    a_person_signs_out_an_application_that_stays_signed_in,
    without_the_setting_no_one_removes_their_own_account,
    a_new_password_needs_the_current_one_and_signs_out_every_other_session,
    guessing_the_current_password_is_throttled_like_a_sign_in,
    sessions_are_listed_and_signed_out_one_by_one_or_all_at_once,
    an_application_is_withdrawn_and_its_tokens_stop_working,
    a_profile_changes_after_a_recent_sign_in_and_a_new_address_is_unconfirmed,
    a_profile_is_saved_whole_or_not_at_all,
    a_person_sees_their_own_activity_and_no_one_elses,
    a_persons_activity_names_the_browser_of_each_sign_in,
    a_person_sees_when_a_used_token_of_theirs_ended_an_applications_sign_in,
    a_new_account_with_a_removed_persons_name_sees_none_of_their_activity,
    a_person_opens_the_applications_they_may_use_from_their_account_page,
    a_person_sees_the_claims_applications_are_told_and_no_one_elses,
    a_forged_account_form_changes_nothing,
);
