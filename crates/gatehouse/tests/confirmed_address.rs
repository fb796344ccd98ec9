//! An application that requires a confirmed address, through the router with a fixed clock and
//! a real SMTP sink: a person whose address is not confirmed is asked to confirm it and given
//! nothing meanwhile (not a code, not a consent), `prompt=none` is told
//! `interaction_required`, the link is mailed from the page (to the signed-in person only, for
//! the request the page was shown for), and once it is used the sign-in goes on; other
//! applications are not held back, and without mail the person is told whom to ask.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::oneshot::*;
use common::smtp::with_mail;
use common::{PASSWORD, add_third_party_client, add_user, hidden_input, user};
use gatehouse::model::{AuditKind, AuditRecord, UserChange};

/// Makes `client_id` require a confirmed address, or not.
async fn require(f: &Fixture, client_id: &str, required: bool) {
    let s = f.state.store.as_ref();
    let mut c = s.client(client_id).await.unwrap().unwrap();
    c.require_confirmed_address = required;
    s.update_client(c, None).await.unwrap();
}

/// `/authorize` for `client_id` (with `extra`), from a browser holding `cookies`.
async fn authorize(f: &Fixture, cookies: &str, client_id: &str, extra: &str) -> Response {
    get_as(f, cookies, &authorize_uri(client_id, extra)).await
}

/// Presses the page's "Email me a confirmation link" with `csrf` and `request`, from a browser
/// holding `cookies`.
async fn press_send(f: &Fixture, cookies: &str, csrf: &str, request: &str) -> Response {
    let body = encode(&[("csrf", csrf), ("request", request)]);
    let request = form("/confirm-address")
        .header(header::COOKIE, cookies)
        .body(Body::from(body))
        .unwrap();
    send(f, request).await
}

/// How many links were mailed (each is audited as it is made).
async fn mailed(f: &Fixture) -> usize {
    let log = f.state.store.audit_latest(200).await.unwrap();
    log.iter()
        .filter(|e| e.record.kind == AuditKind::EmailSent)
        .count()
}

/// The address of the page's "Continue to …" button.
fn go_on(html: &str) -> String {
    let start = html.find("class=\"button\" href=\"").expect("a way on") + 21;
    html[start..]
        .split('"')
        .next()
        .unwrap()
        .replace("&amp;", "&")
}

async fn a_person_confirms_their_address_before_the_application_gets_anything(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    require(&f, "web", true).await;

    // Ada's right password signs her in, but `web` gets no code: she is asked to confirm.
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get(header::LOCATION).is_none());
    let session = cookies(&r);
    assert!(session.contains("gatehouse_session="), "signed in");
    let html = body_text(r).await;
    assert!(html.contains("Confirm your email address"), "{html}");
    assert!(
        html.contains("needs to know that the address <strong>ada@example.com</strong> is yours"),
        "{html}"
    );
    assert!(html.contains("Email me a confirmation link"), "{html}");
    let (csrf, request) = (hidden_input(&html, "csrf"), hidden_input(&html, "request"));

    // Another application, which does not require it, gets its code with the same session.
    let r = authorize(&f, &session, "spa", "").await;
    assert!(location(&r).contains_key("code"));
    // `web` asked without a page: told what it would take, with its state.
    let r = authorize(&f, &session, "web", "&prompt=none").await;
    let told = location(&r);
    assert_eq!(told["error"], "interaction_required");
    assert_eq!(told["state"], "st");
    assert!(!told.contains_key("code"));

    // The form works for the session and the request it was shown for only.
    let before = mailed(&f).await;
    add_user(f.state.store.as_ref(), "bob").await;
    let bob = cookies(&post_login(&f, &authorize_uri("spa", ""), "bob", PASSWORD).await);
    let other = request.replace("state=st", "state=other");
    for (cookies, request, who) in [
        ("", request.as_str(), "no session"),
        (bob.as_str(), request.as_str(), "bob's session"),
        (session.as_str(), other.as_str(), "another request"),
    ] {
        let r = press_send(&f, cookies, &csrf, request).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{who}");
        assert!(
            body_text(r).await.contains("This form has expired"),
            "{who}"
        );
    }
    assert_eq!(mailed(&f).await, before, "nothing mailed");

    // Pressed: the link goes to her address, once a minute however often she presses.
    let r = press_send(&f, &session, &csrf, &request).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(
        html.contains("A confirmation link is on its way to ada@example.com."),
        "{html}"
    );
    let again = body_text(press_send(&f, &session, &csrf, &request).await).await;
    assert!(again.contains("less than a minute ago"), "{again}");
    assert_eq!(mailed(&f).await, before + 1);
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    let link = mail.link("http://127.0.0.1:8080/confirm-email?token=");

    // Continuing before the link is used asks again.
    let continue_to = go_on(&html);
    assert!(continue_to.starts_with("authorize?"), "{continue_to}");
    let r = get_as(&f, &session, &format!("/{continue_to}")).await;
    assert!(body_text(r).await.contains("Confirm your email address"));

    // The link confirms the address; continuing then gives `web` its code.
    let u = url::Url::parse(&link).unwrap();
    let path = format!("{}?{}", u.path(), u.query().unwrap());
    let page = body_text(send(&f, get(&path)).await).await;
    let token = hidden_input(&page, "token");
    let confirm = form("/confirm-email")
        .body(Body::from(encode(&[("token", &token)])))
        .unwrap();
    assert_eq!(send(&f, confirm).await.status(), StatusCode::OK);
    assert!(user(&*f.state.store, "ada").await.email_verified);
    let r = get_as(&f, &session, &format!("/{continue_to}")).await;
    let given = location(&r);
    assert!(given.contains_key("code"), "{given:?}");
    assert_eq!(given["state"], "st");
    // A press of the old form now goes straight on, mailing nothing.
    let r = press_send(&f, &session, &csrf, &request).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(mailed(&f).await, before + 1);
}

async fn a_consent_given_on_a_page_shown_before_the_rule_gives_nothing(db: Database) {
    let (f, _sink) = with_mail(db).await;
    add_third_party_client(f.state.store.as_ref(), "third").await;
    let r = post_login(&f, &authorize_uri("third", ""), "ada", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let session = cookies(&r);
    let html = body_text(r).await;
    assert!(html.contains("would like to"), "the consent page: {html}");
    let (csrf, request) = (hidden_input(&html, "csrf"), hidden_input(&html, "request"));

    // The application is made to require a confirmed address while the page is open.
    require(&f, "third", true).await;
    let allow = form("/consent")
        .header(header::COOKIE, &session)
        .body(Body::from(encode(&[
            ("csrf", &csrf),
            ("request", &request),
            ("decision", "allow"),
        ])))
        .unwrap();
    let r = send(&f, allow).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("Confirm your email address"));
    let ada = user(&*f.state.store, "ada").await;
    let consent = f.state.store.consent(&ada.id, "third").await.unwrap();
    assert_eq!(consent, None, "no consent kept");
}

async fn without_mail_the_person_is_told_whom_to_ask(db: Database) {
    let f = fixture_on(db).await;
    require(&f, "web", true).await;
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let session = cookies(&r);
    let html = body_text(r).await;
    assert!(
        html.contains("Ask your administrator to confirm your address."),
        "{html}"
    );
    assert!(!html.contains("Email me a confirmation link"), "{html}");
    assert!(!html.contains("confirm-address"), "no form: {html}");

    // An administrator confirms it: the same session goes on.
    let ada = user(&*f.state.store, "ada").await;
    let confirmed = UserChange::SetEmail {
        email: ada.email,
        verified: true,
    };
    f.state
        .store
        .update_user("ada", confirmed, T0, None)
        .await
        .unwrap();
    let r = authorize(&f, &session, "web", "").await;
    assert!(location(&r).contains_key("code"));
}

/// Sets ada's address, confirmed or not, as an administrator (or her account page) would.
async fn ada_address(f: &Fixture, email: &str, verified: bool) {
    let change = UserChange::SetEmail {
        email: email.to_owned(),
        verified,
    };
    let store = &f.state.store;
    store.update_user("ada", change, T0, None).await.unwrap();
}

/// `/userinfo` with `access`: its status and, refused, the error the header names.
async fn userinfo(f: &Fixture, access: &str) -> (StatusCode, String) {
    let request = axum::http::Request::get("/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    let r = send(f, request).await;
    let challenge = r
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (r.status(), challenge)
}

/// The rules hold after the sign-in too. An application that requires a confirmed address
/// gets no new tokens and nothing from `/userinfo` for a person whose address changed since
/// they signed in (a new address is unconfirmed), though the tokens it holds were issued for a
/// confirmed one; nothing is used up, so once the new address is confirmed the same refresh
/// token works. An account given domains of its own after the sign-in holds every application
/// back the same way until its address is a confirmed one there.
async fn an_address_changed_after_the_sign_in_gives_the_application_nothing_more(db: Database) {
    let f = fixture_on(db).await;
    require(&f, "web", true).await;
    ada_address(&f, "ada@example.com", true).await;
    let (access, refresh, _) = tokens_for_ada(&f).await;
    assert_eq!(userinfo(&f, &access).await.0, StatusCode::OK);

    ada_address(&f, "ada@elsewhere.example", false).await;
    let r = refresh_at_web(&f, &refresh).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let body = json(r).await;
    assert_eq!(body["error"], "invalid_grant", "{body}");
    assert!(
        body["error_description"]
            .as_str()
            .unwrap()
            .contains("confirm their email address"),
        "{body}"
    );
    let (status, challenge) = userinfo(&f, &access).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(challenge.contains("invalid_token"), "{challenge}");

    // Confirmed: the refresh token refused a moment ago works, and so does `/userinfo`, which
    // tells the new address.
    ada_address(&f, "ada@elsewhere.example", true).await;
    assert_eq!(userinfo(&f, &access).await.0, StatusCode::OK);
    let r = refresh_at_web(&f, &refresh).await;
    assert_eq!(r.status(), StatusCode::OK);
    let refresh = json(r).await["refresh_token"].as_str().unwrap().to_owned();

    // An application that does not require it is held back by an address rule of the
    // account's own, set after the sign-in, at a domain the address is not at.
    require(&f, "web", false).await;
    let ada = user(&*f.state.store, "ada").await;
    let record = AuditRecord::new(T0, AuditKind::AddressRuleSet, "cli").subject(Some("ada"));
    let domains = vec!["example.com".to_owned()];
    let store = &f.state.store;
    store
        .set_address_rule(&ada.id, domains, record)
        .await
        .unwrap();
    let r = refresh_at_web(&f, &refresh).await;
    assert_eq!(json(r).await["error"], "invalid_grant");
    assert_eq!(userinfo(&f, &access).await.0, StatusCode::UNAUTHORIZED);
    ada_address(&f, "ada@example.com", true).await;
    assert_eq!(refresh_at_web(&f, &refresh).await.status(), StatusCode::OK);

    // Each refusal is in the log, the application's doing, about Ada: she sees why.
    assert_eq!(
        actors_about(&f, "ada", AuditKind::AccessUnconfirmed).await,
        ["client:web", "client:web"]
    );
    let html = account_page(&f, &account_sign_in(&f, "ada").await).await;
    assert_eq!(
        html.matches("Refused an application: it needs a confirmed email address")
            .count(),
        2,
        "{html}"
    );
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_person_confirms_their_address_before_the_application_gets_anything,
    a_consent_given_on_a_page_shown_before_the_rule_gives_nothing,
    without_mail_the_person_is_told_whom_to_ask,
    an_address_changed_after_the_sign_in_gives_the_application_nothing_more,
);
