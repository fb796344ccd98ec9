//! Security notices, through the router with a fixed clock and a real SMTP sink: a person is
//! mailed when their password, second factors, passkeys or address change (the old address told
//! of a new one), or a browser new to them signs in, in their language, saying when, from where and what to do; an administrator's
//! change says so; what changes nothing, or is not a way in, mails nobody; a removed account
//! is told after it is gone, in the language it had, the notices it was waiting for dropped; a
//! notice waits while the mail server is down and is given up after a day, and without a mail
//! server it is swept.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::oneshot::*;
use common::smtp::{Received, Sink, with_mail, with_mail_where, with_smtp};
use common::{PASSWORD, add_user, hidden_input, user};
use gatehouse::admin::Admin;
use gatehouse::auth::notices::NOTICE_TTL;
use gatehouse::model::{
    AuditKind, AuditRecord, Farewell, NoticeKind, Profile, TotpFactor, UserChange,
};

const NEW_PASSWORD: &str = "plum orbit lantern vivid kettle";
/// Where the fixture's person changes things from.
const FROM: [u8; 4] = [192, 0, 2, 1];

/// A browser's `User-Agent`.
const FIREFOX_ON_WINDOWS: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";

/// Posts the account page's form with `fields`, from [`FROM`].
async fn account_post_from(f: &Fixture, cookies: &str, fields: &[(&str, &str)]) -> Response {
    let mut request = form_as(cookies, "/account", fields);
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((FROM, 40000))));
    send(f, request).await
}

/// Ada, signed in on the account page: her browser's cookies and the page's form token.
async fn ada_on_her_account_page(f: &Fixture) -> (String, String) {
    let cookies = account_sign_in(f, "ada").await;
    let csrf = hidden_input(&account_page(f, &cookies).await, "csrf");
    (cookies, csrf)
}

async fn notices_queued(f: &Fixture) -> i64 {
    f.db.count("SELECT count(*) FROM security_notice").await
}

/// Waits (up to 10 s) until the outbox holds `n` notices that match `filter`.
async fn notices_hold(f: &Fixture, filter: &str, n: i64) {
    let sql = format!("SELECT count(*) FROM security_notice {filter}");
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while f.db.count(&sql).await != n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    waited.await.expect("the notices as expected within 10 s");
}

fn admin(f: &Fixture) -> Admin<'_> {
    Admin::new(
        f.state.store.as_ref(),
        "cli",
        None,
        gatehouse::clock::Clock::now(&f.clock),
    )
}

/// The message says nothing more arrives.
async fn nothing_more(sink: &mut Sink) {
    assert!(
        sink.nothing_within(Duration::from_millis(1500)).await,
        "no other mail"
    );
}

/// The next mail, which tells of a sign-in from a browser new to the person.
async fn new_sign_in_told(sink: &mut Sink) -> Received {
    let mail = sink.next().await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("A new sign-in to your Gatehouse account")
    );
    mail
}

fn says(mail: &Received, words: &str) {
    let text = mail.text();
    assert!(text.contains(words), "{words:?} not in {text}");
}

async fn a_person_is_told_when_their_password_changes(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let (cookies, csrf) = ada_on_her_account_page(&f).await;
    let r = account_post_from(
        &f,
        &cookies,
        &[
            ("csrf", &csrf),
            ("action", "change_password"),
            ("current_password", PASSWORD),
            ("new_password", NEW_PASSWORD),
            ("repeat_password", NEW_PASSWORD),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(
        mail.subject().as_deref(),
        Some("Your Gatehouse password was changed")
    );
    says(&mail, "Hello ada,");
    says(&mail, "changed on your account page");
    says(&mail, "When: 2027-01-15 08:00 UTC");
    says(&mail, "From: 192.0.2.1");
    // Where to act if it was not them: a new password, and what happened on the account.
    assert_eq!(
        mail.link("http://127.0.0.1:8080/reset"),
        "http://127.0.0.1:8080/reset"
    );
    assert_eq!(
        mail.link("http://127.0.0.1:8080/account"),
        "http://127.0.0.1:8080/account"
    );
    nothing_more(&mut sink).await;
    notices_hold(&f, "", 0).await;
}

async fn the_old_address_is_told_of_a_new_one(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let (cookies, csrf) = ada_on_her_account_page(&f).await;
    let r = account_post_from(
        &f,
        &cookies,
        &[
            ("csrf", &csrf),
            ("action", "save_profile"),
            ("name", ""),
            ("email", "mallory@example.net"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        user(f.state.store.as_ref(), "ada").await.email,
        "mallory@example.net"
    );
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"], "told where she still reads");
    assert_eq!(
        mail.subject().as_deref(),
        Some("Your Gatehouse email address was changed")
    );
    says(&mail, "was changed to mallory@example.net");
    says(&mail, "tell your administrator at once");
    nothing_more(&mut sink).await;

    // Confirming the address it is now, or saving it again, is no news.
    let confirmed = UserChange::SetEmail {
        email: "Mallory@Example.NET".into(),
        verified: true,
    };
    let store = f.state.store.as_ref();
    store.update_user("ada", confirmed, T0, None).await.unwrap();
    nothing_more(&mut sink).await;
    assert_eq!(notices_queued(&f).await, 0);
}

async fn an_administrators_change_says_who_made_it(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let passwords = &f.state.passwords;
    admin(&f)
        .set_password(passwords, "ada", NEW_PASSWORD.into())
        .await
        .unwrap();
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    says(&mail, "an administrator set a new password");
    says(&mail, "ask your administrator why");
    assert!(!mail.text().contains("From:"), "no request made it");
    // Where an administrator works from is not told, though their request came from there.
    let at_work = Admin::new(
        f.state.store.as_ref(),
        "user:someone",
        Some(std::net::IpAddr::from(FROM)),
        gatehouse::clock::Clock::now(&f.clock),
    );
    at_work
        .set_password(passwords, "ada", "quiet harbour maple violet engine".into())
        .await
        .unwrap();
    let mail = sink.next().await;
    says(&mail, "an administrator set a new password");
    assert!(!mail.text().contains("From:"), "{}", mail.text());
    assert!(!mail.text().contains("192.0.2.1"), "{}", mail.text());

    // Removing second factors she does not have changes nothing, and tells nothing.
    admin(&f).reset_factors("ada").await.unwrap();
    nothing_more(&mut sink).await;
    let ada = user(f.state.store.as_ref(), "ada").await;
    let factor = TotpFactor {
        user_id: ada.id.clone(),
        secret: vec![7; 20],
        created_at: T0,
        last_step: None,
    };
    let enrolled = AuditRecord::new(T0, AuditKind::TotpEnrolled, format!("user:{}", ada.id))
        .subject(Some("ada"));
    let store = f.state.store.as_ref();
    assert!(
        store
            .enrol_totp(factor, Vec::new(), enrolled)
            .await
            .unwrap()
    );
    let mail = sink.next().await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("An authenticator app was set up for Gatehouse")
    );
    admin(&f).reset_factors("ada").await.unwrap();
    let mail = sink.next().await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("Your Gatehouse second steps of signing in were removed")
    );
    says(&mail, "an administrator removed the authenticator app");
    nothing_more(&mut sink).await;
}

/// A notice speaks its person's language as their account says when it is sent.
async fn a_notice_speaks_its_persons_language(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    speaks_german(&f, "ada").await;
    admin(&f)
        .set_password(&f.state.passwords, "ada", NEW_PASSWORD.into())
        .await
        .unwrap();
    let mail = sink.next().await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("Ihr Passwort für Gatehouse wurde geändert")
    );
    says(&mail, "Hallo ada,");
    says(&mail, "Wann: 2027-01-15 08:00 UTC");
    says(&mail, "fragen Sie die Administration");
}

/// Signs ada in again at the login form of an application, in the browser with `cookies`.
async fn sign_in_again(f: &Fixture, cookies: &str) -> Response {
    let uri = authorize_uri("web", "&prompt=login");
    let r = post_login_from(f, &uri, "ada", PASSWORD, Browser::holding(cookies)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    r
}

/// A sign-in from a browser that had not signed in as the person is told to them; the
/// browsers they use are not, nor is their very first sign-in.
async fn a_sign_in_from_a_new_browser_is_told(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let laptop = account_sign_in(&f, "ada").await;
    nothing_more(&mut sink).await;
    let mut request = get("/account");
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((FROM, 40000))));
    let page = send(&f, request).await;
    let form_cookie = common::oneshot::cookies(&page);
    let html = body_text(page).await;
    let mut login = form("/login")
        .header(header::COOKIE, &form_cookie)
        .header(header::USER_AGENT, FIREFOX_ON_WINDOWS)
        .body(Body::from(encode(&[
            ("username", "ada"),
            ("password", PASSWORD),
            ("csrf", &hidden_input(&html, "csrf")),
            ("flow", "account"),
        ])))
        .unwrap();
    login
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((FROM, 40000))));
    let r = send(&f, login).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Her account page shows the session, with its browser and address, beside the laptop's
    // (signed in without a User-Agent: no browser named).
    let desktop = common::oneshot::cookies(&r);
    let page = send(
        &f,
        axum::http::Request::get("/account")
            .header(header::COOKIE, &desktop)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let html = body_text(page).await;
    // Once beside the session, once beside its sign-in in the recent activity.
    assert_eq!(
        html.matches("Firefox on Windows · from 192.0.2.1").count(),
        2,
        "{html}"
    );
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(
        mail.subject().as_deref(),
        Some("A new sign-in to your Gatehouse account")
    );
    says(&mail, "from a browser that had not signed in as you before");
    says(&mail, "From: 192.0.2.1");
    says(&mail, "Browser: Firefox on Windows");
    // The laptop, back a day later, is a browser she uses.
    f.clock.advance(86_400);
    let r = sign_in_again(&f, &laptop).await;
    let set = common::oneshot::cookies(&r);
    assert!(set.contains("gatehouse_browser="), "renewed: {set}");
    nothing_more(&mut sink).await;
}

/// A session its person signs out from another browser (their account page) makes its browser
/// new to them again: a sign-in from it is told, as a thief's would be. The browser they did
/// it from stays known, and so does one whose session ends in it.
async fn a_browser_signed_out_from_elsewhere_is_new_again(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let laptop = account_sign_in(&f, "ada").await;
    let phone = account_sign_in(&f, "ada").await;
    new_sign_in_told(&mut sink).await;
    nothing_more(&mut sink).await;

    // From the phone's account page, the laptop's session is signed out: the page says what
    // that does.
    let html = account_page(&f, &phone).await;
    assert!(
        html.contains("A browser you sign out here is new to your account again"),
        "{html}"
    );
    let fields = [
        ("csrf", hidden_input(&html, "csrf")),
        ("action", "end_session".to_owned()),
        ("session", hidden_input(&html, "session")),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let html = body_text(account_post(&f, &phone, &fields).await).await;
    assert!(html.contains("That session is signed out."), "{html}");

    // The phone is still a browser she uses; the laptop is news when it signs in again.
    f.clock.advance(60);
    sign_in_again(&f, &phone).await;
    nothing_more(&mut sink).await;
    sign_in_again(&f, &laptop).await;
    let mail = new_sign_in_told(&mut sink).await;
    says(&mail, "from a browser that had not signed in as you before");
    // Its session replaced by that sign-in (ended from itself), it stays known.
    sign_in_again(&f, &laptop).await;
    nothing_more(&mut sink).await;
}

/// Every session of the person ended at once (here an administrator's *End all sessions*; a
/// new password, disabling, a passkey link or a removed password do the same) forgets every
/// browser they signed in from, as a thief's may be one: the first to sign in afterwards is
/// news to nobody, each other one is told.
async fn signed_out_everywhere_every_browser_is_new_again(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let laptop = account_sign_in(&f, "ada").await;
    let phone = account_sign_in(&f, "ada").await;
    new_sign_in_told(&mut sink).await;
    nothing_more(&mut sink).await;

    let out = admin(&f).logout("ada").await.unwrap();
    assert_eq!(out.sessions, 2);
    assert_eq!(f.db.count("SELECT count(*) FROM known_browser").await, 0);

    f.clock.advance(60);
    sign_in_again(&f, &phone).await;
    nothing_more(&mut sink).await;
    sign_in_again(&f, &laptop).await;
    let mail = new_sign_in_told(&mut sink).await;
    says(&mail, "from a browser that had not signed in as you before");
    nothing_more(&mut sink).await;
}

/// An operator whose people sign in from browsers that forget their cookies turns sign-in
/// notices off: browsers are then neither remembered nor given an id, and nobody is told of
/// one; the other notices go out as before.
async fn sign_in_notices_can_be_turned_off(db: Database) {
    let f = fixture_with(db, |args| args.no_sign_in_notices = true).await;
    let first = account_sign_in(&f, "ada").await;
    assert!(!first.contains("gatehouse_browser="), "{first}");
    account_sign_in(&f, "ada").await;
    assert_eq!(notices_queued(&f).await, 0);
    assert_eq!(f.db.count("SELECT count(*) FROM known_browser").await, 0);
    admin(&f)
        .set_password(&f.state.passwords, "ada", NEW_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(notices_queued(&f).await, 1, "a new password is still told");
}

/// Sets `username`'s language to German (as spoken in Austria).
async fn speaks_german(f: &Fixture, username: &str) {
    let store = f.state.store.as_ref();
    let person = user(store, username).await;
    let german = UserChange::SetProfile {
        name: person.name.clone(),
        profile: Profile {
            locale: Some("de-AT".into()),
            ..person.profile.clone()
        },
    };
    store.update_user(username, german, T0, None).await.unwrap();
}

/// An administrator removes ada's account: she is told at the address it had, after it is
/// gone, in the language it spoke, with nothing to open there.
async fn an_account_an_administrator_removes_is_told_after_it_is_gone(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    speaks_german(&f, "ada").await;
    admin(&f).remove_user("ada").await.unwrap();
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(
        mail.subject().as_deref(),
        Some("Ihr Konto bei Gatehouse wurde entfernt")
    );
    says(&mail, "Hallo ada,");
    says(
        &mail,
        "die Administration hat Ihr Konto bei Gatehouse entfernt",
    );
    says(&mail, "fragen Sie die Administration nach dem Grund");
    says(&mail, "Wann: 2027-01-15 08:00 UTC");
    assert!(
        !mail.text().contains("http"),
        "no page of an account that is gone"
    );
    nothing_more(&mut sink).await;
    notices_hold(&f, "", 0).await;
}

/// The administration page says, before an administrator removes an account, that its person
/// is told and at which address; the removal made there tells them. A disabled account is
/// removed quietly, and its page says nothing of a mail.
async fn the_administration_page_says_a_removal_is_told(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let store = f.state.store.as_ref();
    add_user(store, "grace").await;
    add_user(store, "hal").await;
    let ada = administrator_signed_in(&f, "ada").await;
    let html = page_as(&f, &ada, "/admin/users/grace").await;
    assert!(
        html.contains("grace is told by mail at grace@example.com."),
        "{html}"
    );
    let fields = [
        ("csrf", hidden_input(&html, "csrf")),
        ("action", "remove".to_owned()),
        ("confirm", "grace".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post_form_as(&f, &ada, "/admin/users/grace", &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    let mail = sink.next().await;
    assert_eq!(mail.to, ["grace@example.com"]);
    says(&mail, "an administrator removed your Gatehouse account");
    says(&mail, "ask your administrator why");
    nothing_more(&mut sink).await;

    admin(&f).set_disabled("hal", true).await.unwrap();
    let html = page_as(&f, &ada, "/admin/users/hal").await;
    assert!(html.contains("Remove the account"), "{html}");
    assert!(!html.contains("is told by mail"), "{html}");
}

/// A person who removes their own account is told, so that one who did not do it hears of
/// it; someone removed while disabled, or without an address, is told nothing.
async fn a_person_who_removes_their_account_is_told(db: Database) {
    let (f, mut sink) = with_mail_where(db, |args| args.account_removal = true).await;
    let store = f.state.store.as_ref();
    add_user(store, "grace").await;
    let cookies = account_sign_in(&f, "grace").await;
    let csrf = hidden_input(&account_page(&f, &cookies).await, "csrf");
    let r = account_post_from(
        &f,
        &cookies,
        &[
            ("csrf", &csrf),
            ("action", "remove_account"),
            ("confirm", "grace"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(
        html.contains("A mail telling of it is on its way to grace@example.com."),
        "{html}"
    );
    let mail = sink.next().await;
    assert_eq!(mail.to, ["grace@example.com"]);
    assert_eq!(
        mail.subject().as_deref(),
        Some("Your Gatehouse account was removed")
    );
    says(&mail, "Hello grace,");
    says(
        &mail,
        "your Gatehouse account was removed on its account page",
    );
    says(&mail, "From: 192.0.2.1");
    says(&mail, "If it was not, someone was signed in as you");
    assert!(
        !mail.text().contains("http"),
        "no page of an account that is gone"
    );
    nothing_more(&mut sink).await;

    admin(&f).set_disabled("ada", true).await.unwrap();
    admin(&f).remove_user("ada").await.unwrap();
    add_user(store, "hal").await;
    let no_address = UserChange::SetEmail {
        email: String::new(),
        verified: false,
    };
    store
        .update_user("hal", no_address, T0, None)
        .await
        .unwrap();
    admin(&f).remove_user("hal").await.unwrap();
    nothing_more(&mut sink).await;
    assert_eq!(notices_queued(&f).await, 0);
}

/// Notices still waiting for an account are dropped with it: the removal's own notice, which
/// keeps the name and language the account had, is the one that waits.
async fn a_removal_drops_the_notices_waiting_for_the_account(db: Database) {
    let f = fixture_on(db).await;
    speaks_german(&f, "ada").await;
    admin(&f)
        .set_password(&f.state.passwords, "ada", NEW_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(notices_queued(&f).await, 1);
    let ada = user(f.state.store.as_ref(), "ada").await;
    admin(&f).remove_user("ada").await.unwrap();
    let waiting = f.state.store.claim_notices(T0, 10).await.unwrap();
    let [removal] = waiting.as_slice() else {
        panic!("one notice waits: {waiting:?}");
    };
    assert_eq!(removal.notice.kind, NoticeKind::RemovedByAdministrator);
    assert_eq!(removal.notice.user_id, ada.id);
    assert_eq!(removal.notice.to, "ada@example.com");
    assert_eq!(
        removal.notice.farewell,
        Some(Farewell {
            username: "ada".into(),
            locale: Some("de-AT".into()),
        })
    );
    assert_eq!(
        (removal.username.as_str(), removal.locale.as_deref()),
        ("ada", Some("de-AT"))
    );
}

/// Tokens, a new name, a language: the account page and the audit log show them; nobody is
/// mailed, and the hot path queues nothing.
async fn what_is_not_a_way_in_mails_nobody(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let (cookies, csrf) = ada_on_her_account_page(&f).await;
    let (access, refresh, _) = tokens_for_ada(&f).await;
    assert!(!access.is_empty());
    let r = refresh_at_web(&f, &refresh).await;
    assert_eq!(r.status(), StatusCode::OK);
    // (tokens_for_ada signed in from a browser of its own.)
    new_sign_in_told(&mut sink).await;
    let r = account_post_from(
        &f,
        &cookies,
        &[
            ("csrf", &csrf),
            ("action", "save_profile"),
            ("name", "Ada Lovelace"),
            ("email", "ada@example.com"),
        ],
    )
    .await;
    assert!(body_text(r).await.contains("Your profile is saved."));
    let r = account_post_from(
        &f,
        &cookies,
        &[
            ("csrf", &csrf),
            ("action", "save_language"),
            ("language", "de"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    nothing_more(&mut sink).await;
    assert_eq!(notices_queued(&f).await, 0);
}

/// A notice waits while the mail server is down, is tried again, and is given up after a day
/// (news older than that is no use), recorded on the person's activity.
async fn a_notice_is_retried_for_a_day_then_given_up(db: Database) {
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = with_smtp(db, &format!("smtp://127.0.0.1:{closed}")).await;
    admin(&f)
        .set_password(&f.state.passwords, "ada", NEW_PASSWORD.into())
        .await
        .unwrap();
    notices_hold(&f, "WHERE attempts = 1", 1).await;
    f.clock.advance(gatehouse::mail::FIRST_BACKOFF);
    notices_hold(&f, "WHERE attempts = 2", 1).await;
    f.clock.advance(NOTICE_TTL);
    notices_hold(&f, "", 0).await;
    let given_up = f
        .state
        .store
        .audit_about("ada", 0, &[AuditKind::EmailUndelivered], 10)
        .await
        .unwrap();
    assert_eq!(given_up.len(), 1, "{given_up:?}");
    let detail = given_up[0].record.detail.clone().unwrap_or_default();
    assert!(
        detail.starts_with("to ada@example.com: not sent in 3 attempts"),
        "{detail}"
    );
}

/// Without a mail server nothing is sent, and a notice is swept an hour after it would have
/// been given up: the table does not grow.
async fn without_mail_notices_are_swept(db: Database) {
    let f = fixture_on(db).await;
    admin(&f)
        .set_password(&f.state.passwords, "ada", NEW_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(notices_queued(&f).await, 1);
    let store = f.state.store.as_ref();
    store.purge_expired(T0 + NOTICE_TTL).await.unwrap();
    assert_eq!(notices_queued(&f).await, 1, "kept while it may be sent");
    store.purge_expired(T0 + NOTICE_TTL + 3600).await.unwrap();
    assert_eq!(notices_queued(&f).await, 0);
}

/// A disabled account is told nothing: nobody signs in to it to act on the news.
async fn a_disabled_account_is_told_nothing(db: Database) {
    let f = fixture_on(db).await;
    admin(&f).set_disabled("ada", true).await.unwrap();
    admin(&f)
        .set_password(&f.state.passwords, "ada", NEW_PASSWORD.into())
        .await
        .unwrap();
    assert_eq!(notices_queued(&f).await, 0);
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_person_is_told_when_their_password_changes,
    a_sign_in_from_a_new_browser_is_told,
    a_browser_signed_out_from_elsewhere_is_new_again,
    signed_out_everywhere_every_browser_is_new_again,
    sign_in_notices_can_be_turned_off,
    the_old_address_is_told_of_a_new_one,
    an_administrators_change_says_who_made_it,
    a_notice_speaks_its_persons_language,
    what_is_not_a_way_in_mails_nobody,
    a_notice_is_retried_for_a_day_then_given_up,
    without_mail_notices_are_swept,
    a_disabled_account_is_told_nothing,
    an_account_an_administrator_removes_is_told_after_it_is_gone,
    a_person_who_removes_their_account_is_told,
    a_removal_drops_the_notices_waiting_for_the_account,
    the_administration_page_says_a_removal_is_told,
);
