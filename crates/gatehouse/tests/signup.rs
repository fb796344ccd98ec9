//! Sign-up links, through the router with a fixed clock: an administrator makes one on the
//! administration pages (shown once), the people it is given to each make their own account
//! with it, put in its groups, their address confirmed only by the link mailed to it; and
//! everything it refuses: a weak or mistyped password, a name taken or looking like one, an
//! address confirmed on another account (one only typed there is not), a forged form, a link expired, used up, removed or made up,
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
use tower::ServiceExt as _;
use webauthn_authenticator_rs::WebauthnAuthenticator as _;
use webauthn_authenticator_rs::softpasskey::SoftPasskey;
use webauthn_rs_proto::{
    AllowCredentials, CreationChallengeResponse, RequestChallengeResponse, ResidentKeyRequirement,
};

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
    post_form_as(f, cookies, "/admin/signup-links", fields).await
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
    made_link_for(f, uses, days, &[]).await
}

/// As [`made_link`], for addresses at `domains` only.
async fn made_link_for(f: &Fixture, uses: u32, days: u32, domains: &[&str]) -> String {
    let ops = Admin::new(f.state.store.as_ref(), "cli", None, f.clock.now());
    let spec = LinkSpec {
        uses,
        days,
        note: String::new(),
        groups: Vec::new(),
        domains: domains.iter().map(|d| (*d).to_owned()).collect(),
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
    post_from(f, "/signup", (&cookies, &csrf), path, fields, ip).await
}

/// Sends `fields` to `uri` with the form token `csrf` and the token of the link at `path`,
/// from a browser holding `cookies`, at `ip`.
async fn post_from(
    f: &Fixture,
    uri: &str,
    (cookies, csrf): (&str, &str),
    path: &str,
    fields: &[(&str, &str)],
    ip: [u8; 4],
) -> Response {
    let token = token_of(path);
    let mut all = vec![("csrf", csrf), ("token", token.as_str())];
    all.extend_from_slice(fields);
    let mut request = form(uri)
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

/// The record of the latest sign-up.
async fn signed_up_record(f: &Fixture) -> gatehouse::model::AuditRecord {
    f.state
        .store
        .audit_latest(5)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.record.kind == AuditKind::SignedUp)
        .unwrap()
        .record
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

/// Opens the confirmation link `mail` carries and confirms with its form.
async fn use_confirmation_link(f: &Fixture, mail: &common::smtp::Received) {
    let confirm = mail.link(&format!("{ISSUER}/confirm-email?token="));
    let html = body_text(send(f, get(&confirm[ISSUER.len()..])).await).await;
    let token = hidden_input(&html, "token");
    let r = send(
        f,
        form("/confirm-email")
            .body(Body::from(encode(&[("token", &token)])))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
}

/// Confirms the address `username` has, as its mailed link would.
async fn confirm_address(f: &Fixture, username: &str) {
    let email = user(&*f.state.store, username).await.email;
    set_address(f, username, &email, true).await;
}

/// Gives `username` the address `email`, confirmed or not, as an administrator would.
async fn set_address(f: &Fixture, username: &str, email: &str, verified: bool) {
    let change = gatehouse::model::UserChange::SetEmail {
        email: email.to_owned(),
        verified,
    };
    let now = f.clock.now();
    f.state
        .store
        .update_user(username, change, now, None)
        .await
        .unwrap();
}

/// Signing in to `web` in the browser `session` gives no code: the page asks for an address at
/// the account's domains, and offers no link to mail to the one it has.
async fn asked_for_an_address_there(f: &Fixture, session: &str) {
    let r = get_as(f, session, &authorize_uri("web", "")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(
        html.contains("Yours is not at one of them: give one that is on your account page"),
        "{html}"
    );
    assert!(!html.contains("Email me a confirmation link"), "{html}");
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
    let record = signed_up_record(&f).await;
    assert_eq!(record.subject.as_deref(), Some("carol"));
    assert!(
        record.detail.unwrap().ends_with(": the team chat"),
        "the link, by its id and note"
    );

    // The confirmation link goes to the address typed, and confirms it.
    let mail = sink.next().await;
    assert_eq!(mail.to, ["carol@example.com"]);
    use_confirmation_link(&f, &mail).await;
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
    confirm_address(&f, "ada").await;
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
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("uses", "0"), ("days", "7")], "for 1 to 1000 people"),
        (
            &[
                ("uses", "5"),
                ("days", "7"),
                ("domains", "corp.example 192.0.2.1"),
            ],
            "&quot;192.0.2.1&quot; is not an address domain",
        ),
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

    // Domains, separated by spaces or commas, each kept once in lower case.
    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "make"),
        ("uses", "5"),
        ("days", "7"),
        ("domains", " Lab.Example, corp.example,lab.example "),
    ];
    let r = admin_post(&f, &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(
        html.contains("for addresses at corp.example, lab.example."),
        "{html}"
    );
    let html = links_page(&f, &cookies).await;
    assert!(
        html.contains("for addresses at corp.example, lab.example"),
        "{html}"
    );
    let links = f.state.store.signup_links().await.unwrap();
    assert_eq!(links[0].domains, ["corp.example", "lab.example"]);
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
    // Switched with the form filled in: what was typed comes back, the password does not, and
    // no account is made.
    let mut switch = vec![
        ("csrf", csrf.as_str()),
        ("token", token),
        ("language", "de"),
    ];
    switch.extend(carol(CAROL_PASSWORD, CAROL_PASSWORD));
    let r = post_signup(&f, &cookies, &switch).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(html.contains("Konto anlegen"), "{html}");
    for typed in ["carol", "carol@example.com", "Carol Shaw"] {
        assert!(html.contains(&format!(r#"value="{typed}""#)), "{html}");
    }
    assert!(!html.contains(CAROL_PASSWORD), "{html}");
    assert!(
        f.state
            .store
            .user_by_username("carol")
            .await
            .unwrap()
            .is_none()
    );
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

/// The fixture with the issuer `http://localhost:8080`, a relying party id browsers accept, so
/// the sign-up page offers a passkey.
async fn on_localhost(db: Database) -> Fixture {
    fixture_with(db, |args| {
        args.issuer = Some("http://localhost:8080".parse().unwrap());
    })
    .await
}

/// A software authenticator (webauthn-authenticator-rs), answering as a browser's passkey
/// would for the origin `http://localhost:8080`.
struct Authenticator(SoftPasskey);

impl Authenticator {
    fn new() -> Self {
        Authenticator(SoftPasskey::new(true))
    }

    /// Its answer to the registration `options` (gatehouse's JSON): the credential as the
    /// page sends it. It keeps no resident keys; the server checks the answer the same way.
    fn register(&mut self, options: &serde_json::Value) -> String {
        let mut o: CreationChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        if let Some(s) = o.public_key.authenticator_selection.as_mut() {
            s.require_resident_key = false;
            s.resident_key = Some(ResidentKeyRequirement::Discouraged);
        }
        let answer = self.0.do_registration(origin(), o).unwrap();
        serde_json::to_string(&answer).unwrap()
    }

    /// Its answer to the sign-in `options`, with the passkey `credential_id` (the software
    /// authenticator does not discover it) and the user handle a discoverable one returns.
    fn sign_in(
        &mut self,
        options: &serde_json::Value,
        credential_id: &str,
        handle: &str,
    ) -> String {
        use base64::Engine as _;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut o: RequestChallengeResponse = serde_json::from_value(options.clone()).unwrap();
        o.public_key.allow_credentials = vec![AllowCredentials {
            type_: "public-key".into(),
            id: b64.decode(credential_id).unwrap(),
            transports: None,
        }];
        let assertion = self.0.do_authentication(origin(), o).unwrap();
        let mut v = serde_json::to_value(&assertion).unwrap();
        let handle = gatehouse::auth::passkeys::user_handle(handle);
        v["response"]["userHandle"] = b64.encode(handle.as_bytes()).into();
        v.to_string()
    }
}

fn origin() -> url::Url {
    "http://localhost:8080".parse().unwrap()
}

/// The link's token in its path and query.
fn token_of(path: &str) -> String {
    let query = path.split_once('?').unwrap().1;
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned()
}

/// Grace's fields for a sign-up with a passkey.
fn grace() -> Vec<(&'static str, &'static str)> {
    vec![
        ("username", "grace"),
        ("email", "grace@example.com"),
        ("name", "Grace Hopper"),
        ("passkey_name", "Laptop"),
    ]
}

/// The ceremony the sign-up page at `path` begins for `fields` (its script's request), from
/// a browser holding `cookies`, `ip`'s; its status and JSON.
async fn passkey_options(
    f: &Fixture,
    browser: (&str, &str),
    path: &str,
    fields: &[(&str, &str)],
    ip: [u8; 4],
) -> (StatusCode, serde_json::Value) {
    let r = post_from(f, "/signup/passkey-options", browser, path, fields, ip).await;
    (r.status(), json(r).await)
}

/// The sign-up form at `path` sent with the passkey `credential` answering `challenge_id`.
async fn sign_up_with_passkey(
    f: &Fixture,
    (cookies, csrf): (&str, &str),
    path: &str,
    fields: &[(&str, &str)],
    (challenge_id, credential): (&str, &str),
) -> Response {
    let token = token_of(path);
    let mut all = vec![
        ("csrf", csrf),
        ("token", token.as_str()),
        ("challenge_id", challenge_id),
        ("credential", credential),
    ];
    all.extend_from_slice(fields);
    post_signup(f, cookies, &all).await
}

/// Whether `username`'s passkey, `credential_id`, signs in on the account page's sign-in.
async fn passkey_signs_in(
    f: &Fixture,
    key: &mut Authenticator,
    credential_id: &str,
    username: &str,
) -> bool {
    let page = send(f, get("/account")).await;
    let cookies = cookies(&page);
    let csrf = hidden_input(&body_text(page).await, "csrf");
    let r = send(
        f,
        form("/passkey/options")
            .header(header::COOKIE, &cookies)
            .body(Body::from(encode(&[("csrf", &csrf)])))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let options = json(r).await;
    let person = user(&*f.state.store, username).await;
    let answer = key.sign_in(&options["options"], credential_id, &person.id);
    let fields = [
        ("csrf", csrf.as_str()),
        ("challenge_id", options["challenge_id"].as_str().unwrap()),
        ("credential", answer.as_str()),
        ("flow", "account"),
    ];
    let r = send(
        f,
        form("/passkey")
            .header(header::COOKIE, &cookies)
            .body(Body::from(encode(&fields)))
            .unwrap(),
    )
    .await;
    r.status() == StatusCode::SEE_OTHER
}

/// A sign-up link's page offers a passkey in place of a password where passkeys work: the
/// ceremony begins with the form's fields, and the account is made with the passkey and no
/// password, in the link's groups, the use counted; the passkey then signs the person in. The
/// same answer sent again, or eight times at once, makes no other account.
async fn a_person_signs_up_with_a_passkey_in_place_of_a_password(db: Database) {
    let f = on_localhost(db).await;
    group(&f, "staff").await;
    let ops = Admin::new(f.state.store.as_ref(), "cli", None, f.clock.now());
    let spec = LinkSpec {
        uses: 5,
        days: 7,
        note: "the lab".into(),
        groups: vec!["staff".into()],
        domains: Vec::new(),
    };
    let (secret, _) = ops.make_signup_link(spec).await.unwrap();
    let path = gatehouse::auth::signup::path_and_query(&secret);
    let r = send(&f, get(&path)).await;
    let cookies = cookies(&r);
    let html = body_text(r).await;
    assert!(
        html.contains(r#"<div id="signup-passkey" hidden>"#),
        "{html}"
    );
    assert!(html.contains("Make my account with a passkey"), "{html}");
    assert!(html.contains("static/passkeys.js?v="), "{html}");
    let csrf = hidden_input(&html, "csrf");
    let browser = (cookies.as_str(), csrf.as_str());

    let (status, options) = passkey_options(&f, browser, &path, &grace(), [192, 0, 2, 1]).await;
    assert_eq!(status, StatusCode::OK, "{options}");
    let user_options = &options["options"]["publicKey"]["user"];
    assert_eq!(user_options["name"], "grace", "{options}");
    assert_eq!(user_options["displayName"], "Grace Hopper", "{options}");
    assert!(
        !has_account(&f, "grace").await,
        "nothing made before the answer"
    );
    let mut key = Authenticator::new();
    let credential = key.register(&options["options"]);
    let challenge_id = options["challenge_id"].as_str().unwrap();
    let answer = (challenge_id, credential.as_str());

    let r = sign_up_with_passkey(&f, browser, &path, &grace(), answer).await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(html.contains("Your account is ready"), "{html}");
    assert!(html.contains("Sign in with your passkey"), "{html}");
    let person = user(&*f.state.store, "grace").await;
    assert_eq!(person.password_hash, None);
    assert!(!person.email_verified);
    assert_eq!(person.name.as_deref(), Some("Grace Hopper"));
    let keys = f.state.store.passkeys(&person.id).await.unwrap();
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].name, "Laptop");
    let groups = f.state.store.user_groups(&person.id).await.unwrap();
    assert_eq!(
        groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["staff"]
    );
    let record = signed_up_record(&f).await;
    let detail = record.detail.unwrap_or_default();
    assert!(detail.contains(r#"with passkey "Laptop""#), "{detail}");
    assert!(passkey_signs_in(&f, &mut key, &keys[0].credential_id, "grace").await);

    // The same answer again, as someone else: its ceremony was taken, nothing is made.
    let mallory = [
        ("username", "mallory"),
        ("email", "mallory@example.com"),
        ("name", ""),
        ("passkey_name", ""),
    ];
    let r = sign_up_with_passkey(&f, browser, &path, &mallory, answer).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("took too long"));

    // Another ceremony's answer sent eight times at once: one account.
    let (_, options) = passkey_options(&f, browser, &path, &mallory, [192, 0, 2, 2]).await;
    let credential = Authenticator::new().register(&options["options"]);
    let challenge_id = options["challenge_id"].as_str().unwrap();
    let token = token_of(&path);
    let burst: Vec<_> = (0..8)
        .map(|i| {
            let (name, email) = (format!("mallory{i}"), format!("mallory{i}@example.com"));
            let fields = [
                ("csrf", csrf.as_str()),
                ("token", token.as_str()),
                ("challenge_id", challenge_id),
                ("credential", credential.as_str()),
                ("username", name.as_str()),
                ("email", email.as_str()),
            ];
            let request = form("/signup")
                .header(header::COOKIE, &cookies)
                .body(Body::from(encode(&fields)))
                .unwrap();
            let app = gatehouse::app(f.state.clone());
            tokio::spawn(async move { app.oneshot(request).await.unwrap().status() })
        })
        .collect();
    let mut made = 0;
    for status in burst {
        if status.await.unwrap() == StatusCode::OK {
            made += 1;
        }
    }
    assert_eq!(made, 1, "one account for one ceremony");
    let links = f.state.store.signup_links().await.unwrap();
    assert_eq!(links[0].uses, 2);
}

/// What the ceremony of a sign-up with a passkey refuses: a page gatehouse did not show, a
/// link that makes no account, fields that would make none (a look-alike name, an address
/// confirmed on another account, a malformed one), a burst from one address; an answer to another
/// link's ceremony, made up or missing makes no account and leaves the link as it was.
async fn a_signup_passkey_refuses_what_it_must(db: Database) {
    let f = on_localhost(db).await;
    let path = made_link(&f, 5, 7).await;
    let other = made_link(&f, 5, 7).await;
    let (cookies, csrf) = signup_form(&f, &path).await.unwrap();
    let browser = (cookies.as_str(), csrf.as_str());
    let forged = (cookies.as_str(), "forged");
    let ip = |host| [198, 51, 100, host];

    confirm_address(&f, "ada").await;
    let (status, _) = passkey_options(&f, forged, &path, &grace(), ip(1)).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let made_up = "/signup?token=made-up";
    let (status, body) = passkey_options(&f, browser, made_up, &grace(), ip(2)).await;
    assert_eq!(status, StatusCode::GONE, "{body}");
    let refusals: [(&[(&str, &str)], &str); 3] = [
        (
            &[("username", "ADA"), ("email", "new@example.com")],
            "looks the same",
        ),
        (
            &[("username", "grace"), ("email", "ada@example.com")],
            "Another account has this email address",
        ),
        (&[("username", "grace"), ("email", "no-at-sign")], "email"),
    ];
    for (i, (fields, said)) in refusals.into_iter().enumerate() {
        let host = 10 + u8::try_from(i).unwrap();
        let (status, body) = passkey_options(&f, browser, &path, fields, ip(host)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{fields:?}: {body}");
        let error = body["error"].as_str().unwrap();
        assert!(error.contains(said), "{fields:?}: {error}");
    }

    // Another link's ceremony, answered on this link's page: not this link's, nothing made.
    let (other_cookies, other_csrf) = signup_form(&f, &other).await.unwrap();
    let theirs = (other_cookies.as_str(), other_csrf.as_str());
    let (_, options) = passkey_options(&f, theirs, &other, &grace(), ip(20)).await;
    let credential = Authenticator::new().register(&options["options"]);
    let answer = (
        options["challenge_id"].as_str().unwrap(),
        credential.as_str(),
    );
    let r = sign_up_with_passkey(&f, browser, &path, &grace(), answer).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = body_text(r).await;
    assert!(html.contains("took too long"), "{html}");
    assert!(
        html.contains(r#"value="grace""#),
        "what was typed is kept: {html}"
    );
    // A made-up answer to this link's own ceremony.
    let (_, options) = passkey_options(&f, browser, &path, &grace(), ip(21)).await;
    let answer = (options["challenge_id"].as_str().unwrap(), "{}");
    let r = sign_up_with_passkey(&f, browser, &path, &grace(), answer).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("could not be verified"));
    // No answer at all.
    let (_, options) = passkey_options(&f, browser, &path, &grace(), ip(22)).await;
    let answer = (options["challenge_id"].as_str().unwrap(), "");
    let r = sign_up_with_passkey(&f, browser, &path, &grace(), answer).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!has_account(&f, "grace").await);
    for link in f.state.store.signup_links().await.unwrap() {
        assert_eq!(link.uses, 0, "nothing counted");
    }

    // One address beginning ceremony after ceremony is held back, as its sign-ups are.
    let mut statuses = Vec::new();
    for _ in 0..6 {
        statuses.push(
            passkey_options(&f, browser, &path, &grace(), ip(30))
                .await
                .0,
        );
    }
    assert_eq!(statuses[..5], [StatusCode::OK; 5]);
    assert_eq!(statuses[5], StatusCode::TOO_MANY_REQUESTS);
}

/// Someone holding a link types a colleague's address first: their account is made, the
/// address unconfirmed, and the colleague's own sign-up with it is made too (it is not refused
/// for an address nobody has confirmed). Both confirmation links go to the colleague's mailbox;
/// once the colleague confirms their own account's, the address is taken: a third sign-up with
/// it is refused, and the first account's copy stays unconfirmed.
async fn an_address_typed_first_does_not_keep_its_owner_out(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let path = made_link(&f, 5, 7).await;
    let with_carols_address = |username: &'static str| {
        vec![
            ("username", username),
            ("email", "Carol@Example.com"),
            ("new_password", CAROL_PASSWORD),
            ("repeat_password", CAROL_PASSWORD),
        ]
    };
    let r = sign_up(&f, &path, &with_carols_address("mallory")).await;
    assert_eq!(r.status(), StatusCode::OK);
    let for_mallory = sink.next().await;
    assert_eq!(for_mallory.to, ["Carol@Example.com"]);

    let r = sign_up(&f, &path, &carol(CAROL_PASSWORD, CAROL_PASSWORD)).await;
    assert_eq!(r.status(), StatusCode::OK, "the colleague is not kept out");
    assert!(body_text(r).await.contains("Your account is ready"));
    let for_carol = sink.next().await;
    assert_eq!(for_carol.to, ["carol@example.com"]);
    use_confirmation_link(&f, &for_carol).await;
    assert!(user(&*f.state.store, "carol").await.email_verified);
    assert!(!user(&*f.state.store, "mallory").await.email_verified);

    let r = sign_up(&f, &path, &with_carols_address("erin")).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = body_text(r).await;
    assert!(
        html.contains("Another account has this email address"),
        "{html}"
    );
    assert!(!has_account(&f, "erin").await);
    let links = f.state.store.signup_links().await.unwrap();
    assert_eq!(links[0].uses, 2, "the refused sign-up is not counted");
}

/// A link for addresses at corp.example: its page says so, an address elsewhere is refused
/// before anything is counted, and the account it makes signs in to applications (even one that
/// does not require a confirmed address) only once its address there is confirmed: until then
/// it is asked to confirm it, `prompt=none` is told `interaction_required`; after the mailed link,
/// the code. An address at another domain, even confirmed, holds it back again (with no link to
/// mail: it gives one at the domain first). Another account is not held back.
async fn a_link_for_a_domain_makes_accounts_that_sign_in_once_confirmed_there(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let path = made_link_for(&f, 5, 7, &["Corp.Example"]).await;
    let page = body_text(send(&f, get(&path)).await).await;
    assert!(
        page.contains(
            "An address at corp.example: you sign in to applications once you have \
                       confirmed it."
        ),
        "{page}"
    );
    let mut elsewhere = carol(CAROL_PASSWORD, CAROL_PASSWORD);
    elsewhere[1].1 = "carol@corp.example.org";
    let r = sign_up(&f, &path, &elsewhere).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let html = body_text(r).await;
    assert!(
        html.contains("This link is for addresses at corp.example only."),
        "{html}"
    );
    assert!(!has_account(&f, "carol").await);
    assert_eq!(f.state.store.signup_links().await.unwrap()[0].uses, 0);

    let mut at_corp = carol(CAROL_PASSWORD, CAROL_PASSWORD);
    at_corp[1].1 = "Carol@CORP.example";
    assert_eq!(sign_up(&f, &path, &at_corp).await.status(), StatusCode::OK);
    let carol = user(&*f.state.store, "carol").await;
    assert_eq!(
        f.state.store.address_rule(&carol.id).await.unwrap(),
        ["corp.example"]
    );
    let record = signed_up_record(&f).await;
    assert!(
        record
            .detail
            .unwrap()
            .ends_with(", for addresses at corp.example"),
        "the record names the link's domains"
    );
    let confirmation = sink.next().await;

    // `web` requires nothing, but Carol's account does: no code until she confirms.
    let r = post_login(&f, &authorize_uri("web", ""), "carol", CAROL_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(r.headers().get(header::LOCATION).is_none(), "no code");
    let session = cookies(&r);
    let html = body_text(r).await;
    assert!(html.contains("Confirm your email address"), "{html}");
    assert!(
        html.contains(
            "Your account signs in to applications only with a confirmed address at corp.example."
        ),
        "{html}"
    );
    assert!(html.contains("Email me a confirmation link"), "{html}");
    let pressed = [
        ("csrf", hidden_input(&html, "csrf")),
        ("request", hidden_input(&html, "request")),
    ];
    // Her administrators see why on her page.
    let (admin, _) = administrator(&f).await;
    let html = page_as(&f, &admin, "/admin/users/carol").await;
    assert!(
        !html.contains("This server sends no mail"),
        "mail goes out here"
    );
    assert!(
        html.contains("signs in to applications only with a confirmed address at corp.example"),
        "{html}"
    );
    // Her own account page says so too.
    let html = page_as(&f, &session, "/account").await;
    assert!(
        html.contains(
            "Your account signs in to applications only with a confirmed address at corp.example."
        ),
        "{html}"
    );
    let silent = get_as(&f, &session, &authorize_uri("web", "&prompt=none")).await;
    assert_eq!(location(&silent)["error"], "interaction_required");
    // Ada, whose account no link made, is not held back.
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    assert!(location(&r).contains_key("code"));

    use_confirmation_link(&f, &confirmation).await;
    let r = get_as(&f, &session, &authorize_uri("web", "")).await;
    assert!(
        location(&r).contains_key("code"),
        "confirmed at corp.example"
    );

    // An address elsewhere, even confirmed, holds her back again: she gives one at the domain.
    set_address(&f, "carol", "carol@example.com", true).await;
    asked_for_an_address_there(&f, &session).await;

    // Unconfirmed there, the form of the page shown before mails nothing to it: the sign-in
    // says what it needs.
    set_address(&f, "carol", "carol@example.org", false).await;
    let mailed = || async {
        let log = f.state.store.audit_latest(100).await.unwrap();
        log.iter()
            .filter(|e| e.record.kind == AuditKind::EmailSent)
            .count()
    };
    let before = mailed().await;
    let fields: Vec<(&str, &str)> = pressed.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post_form_as(&f, &session, "/confirm-address", &fields).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(mailed().await, before, "nothing mailed");
    // The way back to the sign-in, relative to the page.
    let back = format!("/{}", r.headers()[header::LOCATION].to_str().unwrap());
    let r = get_as(&f, &session, &back).await;
    assert!(
        body_text(r).await.contains("Yours is not at one of them"),
        "the sign-in says what it needs"
    );

    // An administrator lifts the rule from her page: she signs in with that address.
    let html = page_as(&f, &admin, "/admin/users/carol").await;
    let fields = [
        ("csrf", hidden_input(&html, "csrf")),
        ("action", "lift_address_rule".to_owned()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = post_form_as(&f, &admin, "/admin/users/carol", &fields).await;
    let html = body_text(r).await;
    assert!(
        html.contains("They sign in to applications with an address anywhere now."),
        "{html}"
    );
    assert!(!html.contains("id=\"address-rule\""), "{html}");
    assert!(!html.contains("lift_address_rule"), "{html}");
    let r = get_as(&f, &session, &authorize_uri("web", "")).await;
    assert!(
        location(&r).contains_key("code"),
        "no rule: web asks nothing"
    );
    let lifted = f.state.store.audit_latest(20).await.unwrap();
    let lifted: Vec<_> = lifted
        .iter()
        .filter(|e| e.record.kind == AuditKind::AddressRuleLifted)
        .collect();
    assert_eq!(lifted.len(), 1);
    assert_eq!(
        lifted[0].record.detail.as_deref(),
        Some("for addresses at corp.example")
    );
    assert_eq!(lifted[0].record.subject.as_deref(), Some("carol"));
}

/// Ada's account, made without a link, signs in anywhere until an administrator keeps it to
/// corp.example on her page: then her address elsewhere gives applications nothing until she
/// gives one there and it is confirmed. What the form refuses is shown again as typed, and
/// changes nothing; the same rule again records nothing.
async fn an_administrator_keeps_an_account_to_some_domains(db: Database) {
    let f = fixture_on(db).await;
    common::add_user(f.state.store.as_ref(), "grace").await;
    let (admin, _) = administrator(&f).await;
    let r = post_login(&f, &authorize_uri("web", ""), "grace", PASSWORD).await;
    assert!(location(&r).contains_key("code"), "no rule yet");
    let session = cookies(&r);

    let set = |domains: &'static str| {
        let (f, admin) = (&f, &admin);
        async move {
            let html = page_as(f, admin, "/admin/users/grace").await;
            let fields = [
                ("csrf", hidden_input(&html, "csrf")),
                ("action", "set_address_rule".to_owned()),
                ("domains", domains.to_owned()),
            ];
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post_form_as(f, admin, "/admin/users/grace", &fields).await
        }
    };
    let rule_records = || async {
        let log = f.state.store.audit_latest(50).await.unwrap();
        log.into_iter()
            .filter(|e| e.record.kind == AuditKind::AddressRuleSet)
            .collect::<Vec<_>>()
    };
    for (typed, why) in [
        (
            "localhost",
            "&quot;localhost&quot; is not an address domain",
        ),
        (" , ", "Name at least one address domain"),
        (
            "corp.example 192.0.2.1",
            "&quot;192.0.2.1&quot; is not an address domain",
        ),
    ] {
        let r = set(typed).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{typed}");
        let html = body_text(r).await;
        assert!(html.contains(why), "{typed}: {html}");
        assert!(
            html.contains(&format!("value=\"{typed}\"")),
            "shown as typed: {html}"
        );
    }
    let grace = user(&*f.state.store, "grace").await;
    assert!(
        f.state
            .store
            .address_rule(&grace.id)
            .await
            .unwrap()
            .is_empty()
    );
    assert!(
        rule_records().await.is_empty(),
        "nothing refused is recorded"
    );

    let html = body_text(set("Corp.Example, lab.example").await).await;
    assert!(
        html.contains(
            "They sign in to applications only with a confirmed address at corp.example, \
             lab.example now."
        ),
        "{html}"
    );
    assert!(
        html.contains(
            "signs in to applications only with a confirmed address at corp.example, lab.example"
        ),
        "{html}"
    );
    assert!(
        html.contains("value=\"corp.example lab.example\""),
        "the field shows the rule: {html}"
    );
    // No mail goes out from this server: the field says who confirms such an address.
    let no_mail = "This server sends no mail, so no confirmation link: each such account waits \
                   until an administrator marks its address confirmed.";
    assert!(html.contains(no_mail), "{html}");
    assert!(links_page(&f, &admin).await.contains(no_mail));
    let html = body_text(set("lab.example corp.example").await).await;
    assert!(html.contains("Nothing was changed."), "{html}");
    let records = rule_records().await;
    assert_eq!(records.len(), 1, "the same rule again records nothing");
    assert_eq!(records[0].record.subject.as_deref(), Some("grace"));
    assert_eq!(
        records[0].record.detail.as_deref(),
        Some("for addresses at corp.example, lab.example (was: an address anywhere)")
    );

    // Her address is elsewhere: the sign-in asks her for one at the domains, no code.
    asked_for_an_address_there(&f, &session).await;
    let silent = get_as(&f, &session, &authorize_uri("web", "&prompt=none")).await;
    assert_eq!(location(&silent)["error"], "interaction_required");
    set_address(&f, "grace", "grace@lab.example", false).await;
    let r = get_as(&f, &session, &authorize_uri("web", "")).await;
    assert!(
        body_text(r).await.contains("Confirm your email address"),
        "unconfirmed there"
    );
    confirm_address(&f, "grace").await;
    let r = get_as(&f, &session, &authorize_uri("web", "")).await;
    assert!(
        location(&r).contains_key("code"),
        "confirmed at lab.example"
    );
}

/// An issuer that is an IP address offers no passkey on a sign-up link's page, and begins no
/// ceremony.
async fn an_ip_address_issuers_signup_asks_for_a_password(db: Database) {
    let f = fixture_on(db).await;
    let ip = [198, 51, 100, 40];
    let path = made_link(&f, 1, 7).await;
    let (cookies, csrf) = signup_form(&f, &path).await.unwrap();
    let html = body_text(send(&f, get(&path)).await).await;
    assert!(!html.contains("signup-passkey"), "{html}");
    let browser = (cookies.as_str(), csrf.as_str());
    let (status, _) = passkey_options(&f, browser, &path, &grace(), ip).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_person_signs_up_with_a_passkey_in_place_of_a_password,
    a_signup_passkey_refuses_what_it_must,
    an_ip_address_issuers_signup_asks_for_a_password,
    an_administrator_makes_a_link_and_people_sign_up_with_it,
    a_signup_link_refuses_what_it_must,
    an_address_typed_first_does_not_keep_its_owner_out,
    a_link_for_a_domain_makes_accounts_that_sign_in_once_confirmed_there,
    an_administrator_keeps_an_account_to_some_domains,
    a_removed_link_makes_no_account,
    only_an_administrator_makes_links_and_within_bounds,
    sign_ups_from_one_address_are_limited,
    a_language_chosen_on_the_page_becomes_the_persons,
);
