//! Sign-up links, through the router with a fixed clock: an administrator makes one on the
//! administration pages (shown once), the people it is given to each make their own account
//! with it, put in its groups, their address confirmed only by the link mailed to it; and
//! everything it refuses: a weak or mistyped password, a name taken or looking like one, an
//! address another account has, a forged form, a link expired, used up, removed or made up,
//! sign-ups from one address past their limit.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::oneshot::*;
use common::smtp::with_mail;
use common::{PASSWORD, hidden_input, user};
use gatehouse::admin::{Admin, NewGroup};
use gatehouse::auth::signup::LinkSpec;
use gatehouse::clock::Clock;
use gatehouse::model::{AuditKind, AuthPolicy};

const CAROL_PASSWORD: &str = "plum orbit lantern vivid kettle";
const ISSUER: &str = "http://127.0.0.1:8080";

/// Makes ada an administrator and signs her in; her browser and the page's form token.
async fn administrator(f: &Fixture) -> (String, String) {
    let cookies = administrator_signed_in(f, "ada").await;
    let csrf = hidden_input(&links_page(f, &cookies).await, "csrf");
    (cookies, csrf)
}

async fn links_page(f: &Fixture, cookies: &str) -> String {
    page_as(f, cookies, "/admin/signup-links").await
}

async fn admin_post(f: &Fixture, cookies: &str, fields: &[(&str, &str)]) -> Response {
    send(
        f,
        form("/admin/signup-links")
            .header(header::COOKIE, cookies)
            .body(Body::from(encode(fields)))
            .unwrap(),
    )
    .await
}

/// A group made by the command line's actor.
async fn group(f: &Fixture, name: &str) {
    Admin::new(f.state.store.as_ref(), "cli", None, T0)
        .add_group(NewGroup {
            name: name.into(),
            description: None,
            auth_policy: AuthPolicy::Password,
        })
        .await
        .unwrap();
}

/// A link for `uses` people made through the store's caller, as the command line makes it:
/// its path and query.
async fn made_link(f: &Fixture, uses: u32, days: u32) -> String {
    let ops = Admin::new(f.state.store.as_ref(), "cli", None, f.clock.now());
    let spec = LinkSpec {
        uses,
        days,
        note: String::new(),
        groups: Vec::new(),
    };
    let (secret, _) = ops.make_signup_link(spec).await.unwrap();
    gatehouse::auth::signup::path_and_query(&secret)
}

/// The sign-up form at `path`: its cookies and form token, or the page shown instead.
async fn signup_form(f: &Fixture, path: &str) -> Result<(String, String), Response> {
    let r = send(f, get(path)).await;
    if r.status() != StatusCode::OK {
        return Err(r);
    }
    let cookies = cookies(&r);
    Ok((cookies, hidden_input(&body_text(r).await, "csrf")))
}

/// Sends a sign-up form from a browser holding `cookies`: `fields`, the form token and the
/// link's token among them.
async fn post_signup(f: &Fixture, cookies: &str, fields: &[(&str, &str)]) -> Response {
    send(
        f,
        form("/signup")
            .header(header::COOKIE, cookies)
            .body(Body::from(encode(fields)))
            .unwrap(),
    )
    .await
}

/// Sends the form of the link at `path` with `fields` (besides its tokens), from `ip`.
async fn sign_up_from(f: &Fixture, path: &str, fields: &[(&str, &str)], ip: [u8; 4]) -> Response {
    let (cookies, csrf) = match signup_form(f, path).await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let token = path.split_once("token=").unwrap().1.to_owned();
    let token = url::form_urlencoded::parse(format!("t={token}").as_bytes())
        .next()
        .unwrap()
        .1
        .into_owned();
    let mut all = vec![("csrf", csrf.as_str()), ("token", token.as_str())];
    all.extend_from_slice(fields);
    let mut request = form("/signup")
        .header(header::COOKIE, cookies)
        .body(Body::from(encode(&all)))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    send(f, request).await
}

/// Sends the form from an address of its own, so that the limit per address
/// (`sign_ups_from_one_address_are_limited`) stays out of the way.
async fn sign_up(f: &Fixture, path: &str, fields: &[(&str, &str)]) -> Response {
    static NEXT: std::sync::atomic::AtomicU8 = std::sync::atomic::AtomicU8::new(1);
    let host = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    sign_up_from(f, path, fields, [192, 0, 2, host]).await
}

/// Carol's fields, her password typed twice as `new` and `repeat`.
fn carol<'a>(new: &'a str, repeat: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("username", "carol"),
        ("email", "carol@example.com"),
        ("name", "Carol Shaw"),
        ("new_password", new),
        ("repeat_password", repeat),
    ]
}

/// Whether an account named `username` exists.
async fn has_account(f: &Fixture, username: &str) -> bool {
    f.state
        .store
        .user_by_username(username)
        .await
        .unwrap()
        .is_some()
}

async fn password_works(f: &Fixture, username: &str, password: &str) -> bool {
    let r = post_login(f, &authorize_uri("web", ""), username, password).await;
    r.status() == StatusCode::SEE_OTHER
}

async fn an_administrator_makes_a_link_and_people_sign_up_with_it(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    group(&f, "staff").await;
    group(&f, "wiki").await;
    let (cookies, csrf) = administrator(&f).await;
    let html = links_page(&f, &cookies).await;
    assert!(html.contains("No sign-up links."), "{html}");
    let r = admin_post(
        &f,
        &cookies,
        &[
            ("csrf", &csrf),
            ("action", "make"),
            ("uses", "2"),
            ("days", "7"),
            ("note", "the team chat"),
            ("groups", "staff"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(
        html.contains("It lets 2 people make an account, until 2027-01-22 08:00 UTC"),
        "{html}"
    );
    let start = html.find(&format!("{ISSUER}/signup?token=")).unwrap();
    let link = &html[start..html[start..].find('<').unwrap() + start];
    let path = &link[ISSUER.len()..];
    // Shown once: the list names it by its note, never its secret.
    let html = links_page(&f, &cookies).await;
    let token = path.split_once("token=").unwrap().1;
    assert!(!html.contains(token));
    assert!(
        html.contains("the team chat") && html.contains("0 of 2"),
        "{html}"
    );

    // Opening the link makes nothing (a chat's preview fetches it).
    let page = body_text(send(&f, get(path)).await).await;
    assert!(page.contains("Make your account"), "{page}");
    assert!(
        page.contains("A link to confirm it is sent there."),
        "{page}"
    );
    assert!(!has_account(&f, "carol").await);

    let r = sign_up(&f, path, &carol(CAROL_PASSWORD, CAROL_PASSWORD)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(html.contains("Your account is ready"), "{html}");
    assert!(
        html.contains("A link to confirm your address was sent to carol@example.com"),
        "{html}"
    );
    let carol = user(&*f.state.store, "carol").await;
    assert_eq!(carol.name.as_deref(), Some("Carol Shaw"));
    assert!(!carol.email_verified, "typed, not yet confirmed");
    let groups: Vec<String> = f
        .state
        .store
        .user_groups(&carol.id)
        .await
        .unwrap()
        .into_iter()
        .map(|g| g.name)
        .collect();
    assert_eq!(groups, ["staff"], "the link's groups, no other");
    assert!(password_works(&f, "carol", CAROL_PASSWORD).await);
    let record = f
        .state
        .store
        .audit_latest(5)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.record.kind == AuditKind::SignedUp)
        .unwrap()
        .record;
    assert_eq!(record.subject.as_deref(), Some("carol"));
    assert!(
        record.detail.unwrap().ends_with(": the team chat"),
        "the link, by its id and note"
    );

    // The confirmation link goes to the address typed, and confirms it.
    let mail = sink.next().await;
    assert_eq!(mail.to, ["carol@example.com"]);
    let confirm = mail.link(&format!("{ISSUER}/confirm-email?token="));
    let html = body_text(send(&f, get(&confirm[ISSUER.len()..])).await).await;
    let token = hidden_input(&html, "token");
    let r = send(
        &f,
        form("/confirm-email")
            .body(Body::from(encode(&[("token", &token)])))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(user(&*f.state.store, "carol").await.email_verified);

    // A second person, then the link is used up.
    let dave = [
        ("username", "dave"),
        ("email", "dave@example.com"),
        ("new_password", CAROL_PASSWORD),
        ("repeat_password", CAROL_PASSWORD),
    ];
    assert_eq!(sign_up(&f, path, &dave).await.status(), StatusCode::OK);
    let html = links_page(&f, &cookies).await;
    assert!(
        html.contains("2 of 2") && html.contains("used up"),
        "{html}"
    );
    let r = send(&f, get(path)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("This link does not work"));
    let erin = [
        ("username", "erin"),
        ("email", "erin@example.com"),
        ("new_password", CAROL_PASSWORD),
        ("repeat_password", CAROL_PASSWORD),
    ];
    assert_eq!(
        sign_up(&f, path, &erin).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert!(!has_account(&f, "erin").await);
}

async fn a_signup_link_refuses_what_it_must(db: Database) {
    let f = fixture_on(db).await;
    let path = made_link(&f, 5, 7).await;
    let page = body_text(send(&f, get(&path)).await).await;
    assert!(
        !page.contains("A link to confirm it is sent there."),
        "no mail goes out here"
    );
    let refused = |fields: Vec<(&'static str, &'static str)>, says: &'static str| {
        let (f, path) = (&f, &path);
        async move {
            let r = sign_up(f, path, &fields).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{says}");
            let html = body_text(r).await;
            assert!(html.contains(says), "{says}: {html}");
            html
        }
    };
    let html = refused(
        carol(CAROL_PASSWORD, "plum orbit lantern vivid"),
        "The two new passwords are not the same",
    )
    .await;
    assert!(
        html.contains(r#"value="carol@example.com""#) && !html.contains(CAROL_PASSWORD),
        "what was typed comes back, the password never: {html}"
    );
    refused(carol("password", "password"), "too").await;
    let mut look_alike = carol(CAROL_PASSWORD, CAROL_PASSWORD);
    look_alike[0].1 = "ADA";
    refused(look_alike, "looks the same").await;
    let mut bad_name = carol(CAROL_PASSWORD, CAROL_PASSWORD);
    bad_name[0].1 = "carol\u{202e}";
    refused(bad_name, "username").await;
    let mut taken_address = carol(CAROL_PASSWORD, CAROL_PASSWORD);
    taken_address[1].1 = "ADA@example.com";
    refused(taken_address, "Another account has this email address").await;
    let mut not_an_address = carol(CAROL_PASSWORD, CAROL_PASSWORD);
    not_an_address[1].1 = "carol";
    refused(not_an_address, "is not an email address").await;
    // A NUL, which PostgreSQL's text cannot hold, is refused as any malformed address is.
    let mut with_nul = carol(CAROL_PASSWORD, CAROL_PASSWORD);
    with_nul[1].1 = "carol\u{0}@example.com";
    refused(with_nul, "is not an email address").await;
    let mut nul_name = carol(CAROL_PASSWORD, CAROL_PASSWORD);
    nul_name[0].1 = "car\u{0}ol";
    refused(nul_name, "username").await;
    assert!(!has_account(&f, "carol").await);
    assert_eq!(
        f.state.store.signup_links().await.unwrap()[0].uses,
        0,
        "nothing refused is counted"
    );

    // A form without its browser's form token makes nothing.
    let token = path.split_once("token=").unwrap().1;
    let mut fields = vec![("csrf", "forged"), ("token", token)];
    fields.extend(carol(CAROL_PASSWORD, CAROL_PASSWORD));
    let r = post_signup(&f, "", &fields).await;
    assert_ne!(r.status(), StatusCode::OK);
    assert!(!has_account(&f, "carol").await);

    // A made-up link, and one past its time.
    for made_up in ["/signup?token=made-up", "/signup", "/signup?token="] {
        let r = sign_up(&f, made_up, &carol(CAROL_PASSWORD, CAROL_PASSWORD)).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{made_up}");
    }
    let (cookies, csrf) = signup_form(&f, &path).await.unwrap();
    f.clock.advance(7 * 24 * 3600);
    let r = send(&f, get(&path)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let mut fields = vec![("csrf", csrf.as_str()), ("token", token)];
    fields.extend(carol(CAROL_PASSWORD, CAROL_PASSWORD));
    let r = post_signup(&f, &cookies, &fields).await;
    assert_ne!(r.status(), StatusCode::OK, "expired meanwhile");
    assert!(!has_account(&f, "carol").await);
}

async fn a_removed_link_makes_no_account(db: Database) {
    let f = fixture_on(db).await;
    let (cookies, csrf) = administrator(&f).await;
    let path = made_link(&f, 3, 1).await;
    let html = links_page(&f, &cookies).await;
    let id = hidden_input(&html, "id");
    let (form_cookies, form_csrf) = signup_form(&f, &path).await.unwrap();
    let r = admin_post(
        &f,
        &cookies,
        &[("csrf", &csrf), ("action", "remove"), ("id", &id)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(html.contains("it makes no more accounts"), "{html}");
    assert!(html.contains("No sign-up links."));
    // The form opened before it was removed is sent after.
    let token = path.split_once("token=").unwrap().1;
    let mut fields = vec![("csrf", form_csrf.as_str()), ("token", token)];
    fields.extend(carol(CAROL_PASSWORD, CAROL_PASSWORD));
    let r = post_signup(&f, &form_cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("This link does not work"));
    assert!(!has_account(&f, "carol").await);
    let r = admin_post(
        &f,
        &cookies,
        &[("csrf", &csrf), ("action", "remove"), ("id", &id)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "removed once");
}

async fn only_an_administrator_makes_links_and_within_bounds(db: Database) {
    let f = fixture_on(db).await;
    common::add_user(f.state.store.as_ref(), "bob").await;
    let bob = account_sign_in(&f, "bob").await;
    let r = send(
        &f,
        axum::http::Request::get("/admin/signup-links")
            .header(header::COOKIE, &bob)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let html = account_page(&f, &bob).await;
    let csrf = hidden_input(&html, "csrf");
    let r = admin_post(
        &f,
        &bob,
        &[
            ("csrf", &csrf),
            ("action", "make"),
            ("uses", "5"),
            ("days", "7"),
        ],
    )
    .await;
    assert_ne!(r.status(), StatusCode::OK);
    assert!(f.state.store.signup_links().await.unwrap().is_empty());

    group(&f, "staff").await;
    let (cookies, csrf) = administrator(&f).await;
    let cases: [(&[(&str, &str)], &str); 5] = [
        (&[("uses", "0"), ("days", "7")], "for 1 to 1000 people"),
        (&[("uses", "1001"), ("days", "7")], "for 1 to 1000 people"),
        (&[("uses", "many"), ("days", "7")], "for 1 to 1000 people"),
        (&[("uses", "5"), ("days", "91")], "works for 1 to 90 days"),
        (
            &[("uses", "5"), ("days", "7"), ("groups", "nobody")],
            "There is no group",
        ),
    ];
    for (fields, says) in cases {
        let mut all = vec![("csrf", csrf.as_str()), ("action", "make")];
        all.extend_from_slice(fields);
        let r = admin_post(&f, &cookies, &all).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{fields:?}");
        let html = body_text(r).await;
        assert!(html.contains(says), "{says}: {html}");
    }
    assert!(f.state.store.signup_links().await.unwrap().is_empty());
}

async fn sign_ups_from_one_address_are_limited(db: Database) {
    let f = fixture_on(db).await;
    let path = made_link(&f, 100, 7).await;
    // Mistyped passwords: each is refused before any hash, and still counts.
    let mistyped = carol(CAROL_PASSWORD, "another one");
    for _ in 0..5 {
        let r = sign_up_from(&f, &path, &mistyped, [198, 51, 100, 7]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    }
    let r = sign_up_from(
        &f,
        &path,
        &carol(CAROL_PASSWORD, CAROL_PASSWORD),
        [198, 51, 100, 7],
    )
    .await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key(header::RETRY_AFTER));
    assert!(!has_account(&f, "carol").await);
    // Another address is not held back.
    let r = sign_up_from(
        &f,
        &path,
        &carol(CAROL_PASSWORD, CAROL_PASSWORD),
        [198, 51, 100, 8],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(password_works(&f, "carol", CAROL_PASSWORD).await);
    assert!(!password_works(&f, "carol", PASSWORD).await);
}

async fn a_language_chosen_on_the_page_becomes_the_persons(db: Database) {
    let f = fixture_on(db).await;
    let path = made_link(&f, 1, 7).await;
    let (cookies, csrf) = signup_form(&f, &path).await.unwrap();
    let token = path.split_once("token=").unwrap().1;
    let switch = [
        ("csrf", csrf.as_str()),
        ("token", token),
        ("language", "de"),
    ];
    let r = post_signup(&f, &cookies, &switch).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(html.contains("Konto anlegen"), "{html}");
    let chosen = hidden_input(&html, "chosen");
    assert_eq!(chosen, "de");
    let csrf = hidden_input(&html, "csrf");
    let mut fields = vec![("csrf", csrf.as_str()), ("token", token), ("chosen", "de")];
    fields.extend(carol(CAROL_PASSWORD, CAROL_PASSWORD));
    let r = post_signup(&f, &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("Ihr Konto ist bereit"));
    let carol = user(&*f.state.store, "carol").await;
    assert_eq!(carol.profile.locale.as_deref(), Some("de"));
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    an_administrator_makes_a_link_and_people_sign_up_with_it,
    a_signup_link_refuses_what_it_must,
    a_removed_link_makes_no_account,
    only_an_administrator_makes_links_and_within_bounds,
    sign_ups_from_one_address_are_limited,
    a_language_chosen_on_the_page_becomes_the_persons,
);
