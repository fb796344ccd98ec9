//! Passkeys through the router with a fixed clock, as an attacker would try them: challenges
//! only for pages gatehouse showed, taken once, a burst of them limited; malformed, unknown and
//! replayed answers refused with nothing changed; registration only for a recent sign-in of
//! the session's own person; another person's passkey never removed; no passkeys at all where
//! the issuer is an IP address, and a sign-in that needs one told why there. (The ceremonies that succeed need an authenticator: they are
//! tested in Chromium, `tests/browser/test_passkeys.py`.)

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::oneshot::*;
use common::{PASSWORD, add_user, hidden_input, serve_args, user};
use gatehouse::clock::FixedClock;
use gatehouse::config::Config;
use gatehouse::model::{AuditKind, AuditRecord};
use gatehouse::store;

/// The usual fixture, but with the issuer `http://localhost:8080`: a relying party id
/// browsers accept.
async fn on_localhost(db: Database) -> Fixture {
    let clock = FixedClock::at(T0);
    let s = store::open(&db.url).await.unwrap();
    let mut args = serve_args("127.0.0.1:8080".parse().unwrap());
    args.issuer = Some("http://localhost:8080".parse().unwrap());
    let config = Config::from_args(&args).unwrap();
    let state = gatehouse::server::prepare(s, config, Arc::new(clock.clone()))
        .await
        .unwrap();
    add_user(state.store.as_ref(), "ada").await;
    Fixture {
        state,
        clock,
        secret: String::new(),
        db,
    }
}

/// The account page's login form: its cookies and its token.
async fn login_form(f: &Fixture) -> (String, String, String) {
    let page = send(f, get("/account")).await;
    let cookies = cookies(&page);
    let html = body_text(page).await;
    let csrf = hidden_input(&html, "csrf");
    (cookies, csrf, html)
}

async fn post(f: &Fixture, uri: &str, cookies: &str, fields: &[(&str, &str)]) -> Response {
    send(
        f,
        form(uri)
            .header(header::COOKIE, cookies)
            .body(Body::from(encode(fields)))
            .unwrap(),
    )
    .await
}

async fn account_session(f: &Fixture, username: &str) -> String {
    let (form_cookie, csrf, _) = login_form(f).await;
    let r = post(
        f,
        "/login",
        &form_cookie,
        &[
            ("username", username),
            ("password", PASSWORD),
            ("csrf", &csrf),
            ("flow", "account"),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    format!("{form_cookie}; {}", cookies(&r))
}

async fn account_csrf(f: &Fixture, cookies: &str) -> String {
    let r = send(
        f,
        Request::get("/account")
            .header(header::COOKIE, cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    hidden_input(&body_text(r).await, "csrf")
}

/// The page loads the passkey script by an address naming its content, which browsers may
/// keep for good, and checks it is the script it was made with; the bare address, which a page
/// from before an upgrade names, is asked about again each time.
async fn the_script_is_the_one_the_page_names(f: &Fixture, html: &str) {
    use base64::Engine;
    use sha2::Digest;
    let tag = html
        .split("<script ")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .map(|(attributes, _)| attributes)
        .unwrap_or_else(|| panic!("no script: {html}"));
    let attribute = |name: &str| {
        tag.split(&format!("{name}=\""))
            .nth(1)
            .and_then(|v| v.split_once('"'))
            .map(|(v, _)| v.to_owned())
            .unwrap_or_else(|| panic!("no {name} in <script {tag}>"))
    };
    let src = attribute("src");
    assert!(src.starts_with("static/passkeys.js?v="), "{src}");
    let r = send(f, get(&format!("/{src}"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(
        r.headers()[header::CACHE_CONTROL],
        "public, max-age=31536000, immutable"
    );
    let script = body_text(r).await;
    assert!(script.contains("navigator.credentials"), "{script}");
    let digest = base64::engine::general_purpose::STANDARD.encode(sha2::Sha384::digest(&script));
    assert_eq!(attribute("integrity"), format!("sha384-{digest}"));

    let bare = send(f, get("/static/passkeys.js")).await;
    assert_eq!(bare.status(), StatusCode::OK);
    assert_eq!(bare.headers()[header::CACHE_CONTROL], "no-cache");
    assert_eq!(body_text(bare).await, script);
}

/// The fixture's user, Ada.
async fn ada(f: &Fixture) -> gatehouse::model::User {
    user(&*f.state.store, "ada").await
}

fn record() -> AuditRecord {
    AuditRecord::new(T0, AuditKind::PasskeyAdded, "test")
}

async fn a_sign_in_challenge_needs_the_login_page_and_is_taken_once(db: Database) {
    let f = on_localhost(db).await;
    let (cookies, csrf, html) = login_form(&f).await;
    assert!(html.contains("Sign in with a passkey"), "{html}");
    the_script_is_the_one_the_page_names(&f, &html).await;

    // Without the page's token (another site's script, a bare request): refused.
    for (cookie, token) in [
        ("", csrf.as_str()),
        (cookies.as_str(), ""),
        (cookies.as_str(), "1.x"),
    ] {
        let r = post(&f, "/passkey/options", cookie, &[("csrf", token)]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{cookie:?} {token:?}");
        assert!(json(r).await["error"].as_str().unwrap().contains("expired"));
    }
    let r = post(&f, "/passkey/options", &cookies, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()[header::CACHE_CONTROL], "no-store");
    let c = json(r).await;
    assert_eq!(c["options"]["publicKey"]["rpId"], "localhost");
    assert_eq!(c["options"]["publicKey"]["userVerification"], "required");
    let challenge = c["challenge_id"].as_str().unwrap().to_owned();

    // A malformed answer: the login form again, nothing signed in; the challenge is spent.
    let answer = |credential: &str, challenge: &str| {
        let (cookies, csrf) = (cookies.clone(), csrf.clone());
        let (credential, challenge) = (credential.to_owned(), challenge.to_owned());
        let f = &f;
        async move {
            post(
                f,
                "/passkey",
                &cookies,
                &[
                    ("csrf", &csrf),
                    ("flow", "account"),
                    ("challenge_id", &challenge),
                    ("credential", &credential),
                ],
            )
            .await
        }
    };
    let r = answer("{not json", &challenge).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(
        r.headers()
            .get(header::SET_COOKIE)
            .is_none_or(|c| !c.to_str().unwrap().contains("gatehouse_session"))
    );
    assert!(body_text(r).await.contains("not registered here"));
    let r = answer("{not json", &challenge).await;
    assert!(
        body_text(r)
            .await
            .contains("took too long or was used already")
    );
    // A made-up challenge id.
    let r = answer("{}", "nothing").await;
    assert!(
        body_text(r)
            .await
            .contains("took too long or was used already")
    );

    // An answer naming a credential nobody has (well-formed, with a user handle).
    let c = json(post(&f, "/passkey/options", &cookies, &[("csrf", &csrf)]).await).await;
    let stranger = r#"{"id":"AAEC","rawId":"AAEC","type":"public-key","response":{
        "authenticatorData":"AAEC","clientDataJSON":"AAEC","signature":"AAEC",
        "userHandle":"ASNFZ4mrze8BI0VniavN7w"}}"#;
    let r = answer(stranger, c["challenge_id"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(body_text(r).await.contains("not registered here"));

    // Ada's credential id, answered with garbage: refused, and audited as hers; and in the
    // browser's language, not hers: an answer that proves nothing tells nothing of her.
    let admin = gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let german = gatehouse::admin::ProfileChange {
        locale: Some(Some("de".into())),
        ..Default::default()
    };
    admin.update_profile("ada", german).await.unwrap();
    let ada = ada(&f).await;
    f.state
        .store
        .add_passkey(common::passkey(&ada.id, "AAEC", T0), record())
        .await
        .unwrap();
    let handle = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        gatehouse::auth::passkeys::user_handle(&ada.id).as_bytes(),
    );
    let forged = stranger.replace("ASNFZ4mrze8BI0VniavN7w", &handle);
    let c = json(post(&f, "/passkey/options", &cookies, &[("csrf", &csrf)]).await).await;
    let r = answer(&forged, c["challenge_id"].as_str().unwrap()).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert!(body_text(r).await.contains("could not be verified"));
    let refused = f.state.store.audit_latest(10).await.unwrap();
    assert!(
        refused
            .iter()
            .any(|e| e.record.kind == AuditKind::PasskeyRefused
                && e.record.subject.as_deref() == Some("ada"))
    );
    let (key, _) = f.state.store.passkey("AAEC").await.unwrap().unwrap();
    assert_eq!(key.last_used_at, None, "nothing recorded as a use");
}

async fn a_burst_of_sign_in_challenges_from_one_address_is_held_back(db: Database) {
    let f = on_localhost(db).await;
    let (cookies, csrf, _) = login_form(&f).await;
    let mut statuses = Vec::new();
    for _ in 0..30 {
        let req = form("/passkey/options")
            .header(header::COOKIE, &cookies)
            .extension(axum::extract::ConnectInfo(std::net::SocketAddr::from((
                [203, 0, 113, 9],
                4000,
            ))))
            .body(Body::from(encode(&[("csrf", &csrf)])))
            .unwrap();
        statuses.push(send(&f, req).await.status());
    }
    let ok = statuses.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(ok, 20, "{statuses:?}");
    assert!(statuses.contains(&StatusCode::TOO_MANY_REQUESTS));
}

async fn registration_is_for_a_recent_sign_in_of_the_sessions_own_person(db: Database) {
    let f = on_localhost(db).await;
    let ada = ada(&f).await;
    let bob = add_user(f.state.store.as_ref(), "bob").await;
    // No session: refused.
    let (cookies, csrf, _) = login_form(&f).await;
    let r = post(
        &f,
        "/passkey/register-options",
        &cookies,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let session = account_session(&f, "ada").await;
    let csrf = account_csrf(&f, &session).await;
    // The login form's token is not the account page's.
    let (_, login_csrf, _) = login_form(&f).await;
    let r = post(
        &f,
        "/passkey/register-options",
        &session,
        &[("csrf", &login_csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Ada has a passkey: a new registration excludes it.
    f.state
        .store
        .add_passkey(common::passkey(&ada.id, "AAEC", T0), record())
        .await
        .unwrap();
    let r = post(
        &f,
        "/passkey/register-options",
        &session,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let c = json(r).await;
    let pk = &c["options"]["publicKey"];
    assert_eq!(pk["excludeCredentials"][0]["id"], "AAEC");
    assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
    assert_eq!(pk["user"]["name"], "ada");

    // The answer: empty (no JavaScript), malformed, or to a challenge already taken.
    let add = |credential: &str, challenge: &str| {
        let (session, csrf) = (session.clone(), csrf.clone());
        let (credential, challenge) = (credential.to_owned(), challenge.to_owned());
        let f = &f;
        async move {
            let r = post(
                f,
                "/account",
                &session,
                &[
                    ("csrf", &csrf),
                    ("action", "add_passkey"),
                    ("name", "Laptop"),
                    ("challenge_id", &challenge),
                    ("credential", &credential),
                ],
            )
            .await;
            body_text(r).await
        }
    };
    let challenge = c["challenge_id"].as_str().unwrap();
    assert!(
        add("", challenge)
            .await
            .contains("did not create a passkey")
    );
    assert!(
        add("{\"id\":1}", challenge)
            .await
            .contains("could not be verified")
    );
    assert!(add("{\"id\":1}", challenge).await.contains("took too long"));
    assert_eq!(f.state.store.passkeys(&ada.id).await.unwrap().len(), 1);

    // A name with invisible characters is refused before anything is taken.
    let c = json(
        post(
            &f,
            "/passkey/register-options",
            &session,
            &[("csrf", &csrf)],
        )
        .await,
    )
    .await;
    let r = post(
        &f,
        "/account",
        &session,
        &[
            ("csrf", &csrf),
            ("action", "add_passkey"),
            ("name", "Lap\u{200b}top"),
            ("challenge_id", c["challenge_id"].as_str().unwrap()),
            ("credential", "{}"),
        ],
    )
    .await;
    assert!(body_text(r).await.contains("invisible characters"));

    // Bob's passkey, named in Ada's form: not hers, not removed.
    f.state
        .store
        .add_passkey(common::passkey(&bob.id, "BOB1", T0), record())
        .await
        .unwrap();
    let r = post(
        &f,
        "/account",
        &session,
        &[
            ("csrf", &csrf),
            ("action", "remove_passkey"),
            ("credential_id", "BOB1"),
        ],
    )
    .await;
    assert!(body_text(r).await.contains("no such passkey"));
    assert_eq!(f.state.store.passkeys(&bob.id).await.unwrap().len(), 1);
    // Her own: removed.
    let r = post(
        &f,
        "/account",
        &session,
        &[
            ("csrf", &csrf),
            ("action", "remove_passkey"),
            ("credential_id", "AAEC"),
        ],
    )
    .await;
    assert!(body_text(r).await.contains("The passkey is removed"));
    assert!(f.state.store.passkeys(&ada.id).await.unwrap().is_empty());

    // Eleven minutes on: no registration without signing in again.
    f.clock.advance(660);
    let r = post(
        &f,
        "/passkey/register-options",
        &session,
        &[("csrf", &csrf)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

async fn an_ip_address_issuer_offers_no_passkeys(db: Database) {
    let f = fixture_on(db).await;
    let page = send(&f, get("/account")).await;
    let cookies = cookies(&page);
    let html = body_text(page).await;
    assert!(!html.contains("passkey"), "{html}");
    let csrf = hidden_input(&html, "csrf");
    let r = post(&f, "/passkey/options", &cookies, &[("csrf", &csrf)]).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        json(r).await["error"]
            .as_str()
            .unwrap()
            .contains("not available")
    );
}

/// `cookies` with those `r` sets in place of the ones of the same names.
fn with_cookies_of(cookies: &str, r: &Response) -> String {
    let set = common::oneshot::cookies(r);
    let name = |c: &str| c.split('=').next().unwrap_or_default().trim().to_owned();
    let renewed: Vec<String> = set
        .split("; ")
        .filter(|c| !c.is_empty())
        .map(name)
        .collect();
    cookies
        .split("; ")
        .filter(|c| !renewed.contains(&name(c)))
        .chain(set.split("; ").filter(|c| !c.is_empty()))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Whether `password` is taken for Ada's on the account page's login form: she is signed in,
/// or (with a passkey) asked for her passkey next.
async fn signs_in(f: &Fixture, password: &str) -> bool {
    let (form_cookie, csrf, _) = login_form(f).await;
    let fields = [
        ("username", "ada"),
        ("password", password),
        ("csrf", csrf.as_str()),
        ("flow", "account"),
    ];
    let r = post(f, "/login", &form_cookie, &fields).await;
    let status = r.status();
    let page = body_text(r).await;
    if page.contains("Wrong username or password") {
        return false;
    }
    assert!(
        status == StatusCode::SEE_OTHER || page.contains("passkey"),
        "{status}: {page}"
    );
    true
}

/// A person with a passkey may do without a password, after a recent sign-in: the password
/// then signs nobody in, the page says how they sign in, and their last passkey stays until
/// they set a password again (which needs no current one, as they have none). Someone with a
/// password never sets one without it, and one without a passkey keeps theirs.
async fn a_person_with_a_passkey_may_do_without_a_password(db: Database) {
    const FIRST: &str = "plum orbit lantern vivid kettle";
    let new_password = [("new_password", FIRST), ("repeat_password", FIRST)];
    let f = on_localhost(db).await;
    let ada = ada(&f).await;
    let session = account_session(&f, "ada").await;

    // Without a passkey: not offered, and refused.
    let page = body_text(send(&f, get_with(&session, "/account")).await).await;
    assert!(!page.contains("Remove my password"), "{page}");
    let r = act(&f, &session, "remove_password", &[]).await;
    assert!(body_text(r).await.contains("Your password stays"));
    assert!(signs_in(&f, PASSWORD).await);
    // With a password: a new one only with the current one.
    let r = act(&f, &session, "set_password", &new_password).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(signs_in(&f, PASSWORD).await);
    assert!(!signs_in(&f, FIRST).await);

    f.state
        .store
        .add_passkey(common::passkey(&ada.id, "AAEC", T0), record())
        .await
        .unwrap();
    let page = body_text(send(&f, get_with(&session, "/account")).await).await;
    assert!(page.contains("Remove my password"), "{page}");
    let r = act(&f, &session, "remove_password", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let session = with_cookies_of(&session, &r);
    let page = body_text(r).await;
    assert!(
        page.contains("Your password is removed: you sign in with a passkey."),
        "{page}"
    );
    assert!(page.contains("Your account has no password"), "{page}");
    assert!(!page.contains("Remove my password"), "{page}");
    assert!(!page.contains("Set up an authenticator app"), "{page}");
    // Nor does the server take an app whose code no sign-in would ask for.
    for action in ["setup_app", "confirm_app"] {
        let r = act(&f, &session, action, &[("code", "123456")]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{action}");
    }
    assert!(!f.state.store.factors(&ada.id).await.unwrap().has_app());
    assert_eq!(ada_now(&f).await.password_hash, None);
    assert!(
        !signs_in(&f, PASSWORD).await,
        "the old password signs nobody in"
    );
    assert!(!signs_in(&f, "").await);
    let kinds = audit_kinds(&f).await;
    assert!(kinds.contains(&AuditKind::PasswordRemoved), "{kinds:?}");

    // This browser goes on in a new session; the last passkey stays, and is not offered.
    let page = body_text(send(&f, get_with(&session, "/account")).await).await;
    assert!(!page.contains("name=\"credential_id\""), "{page}");
    let passkey = [("credential_id", "AAEC")];
    let r = act(&f, &session, "remove_passkey", &passkey).await;
    assert!(
        body_text(r)
            .await
            .contains("This passkey is how you sign in")
    );
    assert_eq!(f.state.store.passkeys(&ada.id).await.unwrap().len(), 1);

    // A password again, without a current one; then the passkey may go.
    let r = act(&f, &session, "set_password", &new_password).await;
    assert_eq!(r.status(), StatusCode::OK);
    let session = with_cookies_of(&session, &r);
    assert!(body_text(r).await.contains("Your password is changed"));
    assert!(signs_in(&f, FIRST).await);
    let r = act(&f, &session, "remove_passkey", &passkey).await;
    assert!(body_text(r).await.contains("The passkey is removed"));
}

/// Posts the account page's form for `action`, with `fields`, under the page's own token.
async fn act(f: &Fixture, session: &str, action: &str, fields: &[(&str, &str)]) -> Response {
    let csrf = account_csrf(f, session).await;
    let mut all = vec![("csrf", csrf.as_str()), ("action", action)];
    all.extend_from_slice(fields);
    post(f, "/account", session, &all).await
}

async fn ada_now(f: &Fixture) -> gatehouse::model::User {
    user(&*f.state.store, "ada").await
}

async fn audit_kinds(f: &Fixture) -> Vec<AuditKind> {
    let latest = f.state.store.audit_latest(20).await.unwrap();
    latest.into_iter().map(|e| e.record.kind).collect()
}

/// Where passkeys cannot work (an IP-address issuer), the password is not taken away.
async fn an_ip_address_issuer_keeps_the_password(db: Database) {
    let f = fixture_on(db).await;
    let session = account_session(&f, "ada").await;
    let ada = ada(&f).await;
    f.state
        .store
        .add_passkey(common::passkey(&ada.id, "AAEC", T0), record())
        .await
        .unwrap();
    let r = act(&f, &session, "remove_password", &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(ada_now(&f).await.password_hash.is_some());
}

/// An invitation for a new person, as an administrator's would be mailed: its link's token.
async fn invite(f: &Fixture, username: &str) -> String {
    let carol = add_user(f.state.store.as_ref(), username).await;
    made_link(f, &carol, gatehouse::model::EmailPurpose::Invite).await
}

/// A link of `purpose` for `person`, as an administrator's would be: its token.
async fn made_link(
    f: &Fixture,
    person: &gatehouse::model::User,
    purpose: gatehouse::model::EmailPurpose,
) -> String {
    use gatehouse::oidc::tokens;
    let secret = tokens::generate();
    let token = gatehouse::auth::email_links::new_token(person, purpose, tokens::hash(&secret), T0);
    let sent = AuditRecord::new(T0, AuditKind::EmailSent, "test");
    let store = f.state.store.as_ref();
    assert!(store.issue_email_token(token, None, sent).await.unwrap());
    secret
}

/// The passkey ceremony an invitation's page starts for `token`, under the page's own form
/// token: the answer.
async fn welcome_options(f: &Fixture, token: &str, forged: bool) -> Response {
    ceremony_options(f, "welcome", token, forged).await
}

/// The passkey ceremony a link's page (`page`: `welcome` or `new-passkey`) starts for `token`,
/// under the page's own form token (or a forged one); for a link whose page shows no form (it
/// cannot be used), under the sign-in page's.
async fn ceremony_options(f: &Fixture, page: &str, token: &str, forged: bool) -> Response {
    let r = send(f, get(&format!("/{page}?token={token}"))).await;
    let (cookies, csrf) = if r.status() == StatusCode::OK {
        (cookies(&r), hidden_input(&body_text(r).await, "csrf"))
    } else {
        let (cookies, csrf, _) = login_form(f).await;
        (cookies, csrf)
    };
    let csrf = if forged { "forged".to_owned() } else { csrf };
    let fields = [("csrf", csrf.as_str()), ("token", token)];
    let options = match page {
        "welcome" => "/welcome/passkey-options",
        _ => "/new-passkey/options",
    };
    post(f, options, &cookies, &fields).await
}

/// An invitation's page offers a passkey in place of a password where passkeys work: its
/// ceremony only for a live invitation, from the page's own form; an answer that does not
/// verify takes nothing (the link still works, and the account keeps what it had).
async fn an_invitation_offers_a_passkey_instead_of_a_password(db: Database) {
    let f = on_localhost(db).await;
    let token = invite(&f, "carol").await;
    let page = body_text(send(&f, get(&format!("/welcome?token={token}"))).await).await;
    assert!(
        page.contains(r#"<form id="welcome-passkey" method="post" action="welcome" hidden>"#),
        "{page}"
    );
    assert!(page.contains("Or use a passkey instead"), "{page}");
    the_script_is_the_one_the_page_names(&f, &page).await;

    let r = welcome_options(&f, &token, false).await;
    assert_eq!(r.status(), StatusCode::OK);
    let options = json(r).await;
    assert_eq!(
        options["options"]["publicKey"]["user"]["name"], "carol",
        "{options}"
    );
    let challenge_id = options["challenge_id"].as_str().unwrap().to_owned();
    let r = welcome_options(&f, &token, true).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let r = welcome_options(&f, "not-an-invitation", false).await;
    assert_eq!(r.status(), StatusCode::GONE);

    // Another invitation's ceremony, answered on Carol's page: not hers, nothing taken.
    let dave = invite(&f, "dave").await;
    let r = welcome_options(&f, &dave, false).await;
    let daves = json(r).await["challenge_id"].as_str().unwrap().to_owned();
    let page = welcome_answer(&f, &token, &daves).await;
    assert!(page.contains("Adding the passkey took too long"), "{page}");
    // A made-up answer: refused on the page, nothing taken.
    let page = welcome_answer(&f, &token, &challenge_id).await;
    assert!(page.contains("could not be verified"), "{page}");
    assert!(page.contains("Choose your password"), "{page}");
    let carol = user(&*f.state.store, "carol").await;
    assert!(carol.password_hash.is_some() && !carol.email_verified);
    assert!(f.state.store.passkeys(&carol.id).await.unwrap().is_empty());
    let r = welcome_options(&f, &token, false).await;
    assert_eq!(r.status(), StatusCode::OK, "the link still works");
}

/// An invitation's page sent with a made-up answer to the ceremony `challenge_id`: the page
/// that comes back, refusing it.
async fn welcome_answer(f: &Fixture, token: &str, challenge_id: &str) -> String {
    let page = send(f, get(&format!("/welcome?token={token}"))).await;
    let cookies = cookies(&page);
    let csrf = hidden_input(&body_text(page).await, "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "passkey"),
        ("token", token),
        ("name", "Laptop"),
        ("challenge_id", challenge_id),
        ("credential", "{}"),
    ];
    let r = post(f, "/welcome", &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    body_text(r).await
}

/// The passkey ceremony a passkey link's page starts for `token` (`ceremony_options`).
async fn link_options(f: &Fixture, token: &str, forged: bool) -> Response {
    ceremony_options(f, "new-passkey", token, forged).await
}

/// A passkey link's page sent with a made-up answer to the ceremony `challenge_id`: the
/// answer's status and page.
async fn link_answer(f: &Fixture, token: &str, challenge_id: &str) -> (StatusCode, String) {
    let page = send(f, get(&format!("/new-passkey?token={token}"))).await;
    let cookies = cookies(&page);
    let csrf = hidden_input(&body_text(page).await, "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("token", token),
        ("name", "New phone"),
        ("challenge_id", challenge_id),
        ("credential", "{}"),
    ];
    let r = post(f, "/new-passkey", &cookies, &fields).await;
    (r.status(), body_text(r).await)
}

/// A passkey link's page offers the person it is for a new passkey: its ceremony only for a
/// live link of that kind, from the page's own form, and for the link's person; an answer that
/// does not verify takes nothing (the link still works, nobody is signed out).
async fn a_passkey_link_offers_its_person_a_new_passkey(db: Database) {
    use gatehouse::model::EmailPurpose;
    let f = on_localhost(db).await;
    let ada = ada(&f).await;
    let token = made_link(&f, &ada, EmailPurpose::Passkey).await;
    let phone = account_session(&f, "ada").await;
    let r = send(&f, get(&format!("/new-passkey?token={token}"))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = body_text(r).await;
    assert!(page.contains("<h1>Add a passkey</h1>"), "{page}");
    assert!(
        page.contains("sign in as <strong>ada</strong> again"),
        "{page}"
    );
    assert!(
        page.contains(r#"<form id="link-passkey" method="post" action="new-passkey" hidden>"#),
        "{page}"
    );
    assert!(!page.contains("new_password"), "no password here: {page}");
    the_script_is_the_one_the_page_names(&f, &page).await;
    // Its page speaks another language when asked to, the link as it was.
    let r = send(&f, get(&format!("/new-passkey?token={token}"))).await;
    let cookies = cookies(&r);
    let csrf = hidden_input(&body_text(r).await, "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("token", &token),
        ("language", "de"),
    ];
    let r = post(&f, "/new-passkey", &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = body_text(r).await;
    assert!(page.contains("<h1>Passkey hinzufügen</h1>"), "{page}");
    assert!(page.contains(&format!("value=\"{token}\"")), "{page}");

    let r = link_options(&f, &token, false).await;
    assert_eq!(r.status(), StatusCode::OK);
    let options = json(r).await;
    assert_eq!(
        options["options"]["publicKey"]["user"]["name"], "ada",
        "{options}"
    );
    let challenge_id = options["challenge_id"].as_str().unwrap().to_owned();
    assert_eq!(
        link_options(&f, &token, true).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(
        link_options(&f, "not-a-link", false).await.status(),
        StatusCode::GONE
    );

    // Links of other kinds are not passkey links, nor is a passkey link another kind.
    let invitation = invite(&f, "carol").await;
    assert_eq!(
        link_options(&f, &invitation, false).await.status(),
        StatusCode::GONE
    );
    let r = send(&f, get(&format!("/new-passkey?token={invitation}"))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        body_text(r)
            .await
            .contains("Ask your administrator for a new one")
    );
    let r = send(&f, get(&format!("/welcome?token={token}"))).await;
    assert!(body_text(r).await.contains("This link does not work"));
    let reset = made_link(&f, &ada, EmailPurpose::Reset).await;
    assert_eq!(
        link_options(&f, &reset, false).await.status(),
        StatusCode::GONE
    );

    // Another person's ceremony, answered on Ada's page: not hers, nothing taken.
    let bob = add_user(f.state.store.as_ref(), "bob").await;
    let bobs_link = made_link(&f, &bob, EmailPurpose::Passkey).await;
    let bobs = json(link_options(&f, &bobs_link, false).await).await["challenge_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, page) = link_answer(&f, &token, &bobs).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("Adding the passkey took too long"), "{page}");
    // A made-up answer: refused on the page, nothing taken.
    let (status, page) = link_answer(&f, &token, &challenge_id).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(page.contains("could not be verified"), "{page}");
    assert!(page.contains("<h1>Add a passkey</h1>"), "{page}");
    assert!(f.state.store.passkeys(&ada.id).await.unwrap().is_empty());
    let r = send(&f, get_with(&phone, "/account")).await;
    assert!(
        body_text(r).await.contains("<h1>Your account</h1>"),
        "still signed in"
    );
    assert_eq!(
        link_options(&f, &token, false).await.status(),
        StatusCode::OK,
        "the link still works"
    );

    // Expired: its page says so, and whom to ask.
    f.clock
        .advance(gatehouse::auth::email_links::PASSKEY_LINK_TTL);
    let r = send(&f, get(&format!("/new-passkey?token={token}"))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = body_text(r).await;
    assert!(page.contains("This link does not work"), "{page}");
    assert!(
        page.contains("Ask your administrator for a new one"),
        "{page}"
    );
    assert!(!page.contains("link-passkey"), "{page}");
}

/// Makes ada an administrator, signed in: her browser's cookies and the administration
/// pages' form token.
async fn administrator(f: &Fixture) -> (String, String) {
    let cookies = administrator_signed_in(f, "ada").await;
    let r = send(f, get_with(&cookies, "/admin")).await;
    let csrf = hidden_input(&body_text(r).await, "csrf");
    (cookies, csrf)
}

/// Without mail, an administrator makes a passkey link for a person who lost their passkey
/// and hands it over: shown once, to them, audited with them as the actor; one a minute; not
/// for a disabled account, and not offered to be mailed.
async fn without_mail_an_administrator_hands_over_a_passkey_link(db: Database) {
    let f = on_localhost(db).await;
    let (cookies, csrf) = administrator(&f).await;
    let store = f.state.store.as_ref();
    let dave = add_user(store, "dave").await;
    let added = AuditRecord::new(T0, AuditKind::PasskeyAdded, "test");
    store
        .add_passkey(common::passkey(&dave.id, "lost", T0), added)
        .await
        .unwrap();
    let page = body_text(send(&f, get_with(&cookies, "/admin/users/dave")).await).await;
    assert!(page.contains("Make a link to add a passkey"), "{page}");
    assert!(
        !page.contains("Send a link to add a passkey"),
        "no mail: {page}"
    );
    let make = |action: &'static str| {
        let fields = [("csrf", csrf.clone()), ("action", action.to_owned())];
        let (f, cookies) = (&f, cookies.clone());
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            post(f, "/admin/users/dave", &cookies, &fields).await
        }
    };
    let r = make("send_passkey_link").await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "nothing is mailed here"
    );
    let r = make("passkey_link").await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(
        html.contains("A link for dave to add a passkey is made."),
        "{html}"
    );
    assert!(html.contains("within 24 hours"), "{html}");
    let marker = "id=\"link-to-hand-over\">";
    let start = html.find(marker).unwrap() + marker.len();
    let link = html[start..start + html[start..].find('<').unwrap()].replace("&amp;", "&");
    let token = link
        .strip_prefix("http://localhost:8080/new-passkey?token=")
        .unwrap_or_else(|| panic!("{link}"));
    let r = make("passkey_link").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "one link a minute");
    assert!(body_text(r).await.contains("less than a minute ago"));

    // The link's page is Dave's.
    let page = body_text(send(&f, get(&format!("/new-passkey?token={token}"))).await).await;
    assert!(
        page.contains("sign in as <strong>dave</strong> again"),
        "{page}"
    );
    let r = link_options(&f, token, false).await;
    assert_eq!(
        json(r).await["options"]["publicKey"]["user"]["name"],
        "dave"
    );

    let ada = user(store, "ada").await;
    let made = store
        .audit_about("dave", 0, AuditKind::PERSONAL, 20)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.record.kind == AuditKind::PasskeyLinkMade)
        .expect("audited, and on dave's own page");
    assert_eq!(made.record.actor, format!("user:{}", ada.id));
    assert_eq!(made.record.detail.as_deref(), Some("to hand over"));

    // Not for a disabled account.
    let ops = gatehouse::admin::Admin::new(store, "cli", None, T0);
    ops.set_disabled("dave", true).await.unwrap();
    let page = body_text(send(&f, get_with(&cookies, "/admin/users/dave")).await).await;
    assert!(!page.contains("Make a link to add a passkey"), "{page}");
    f.clock.advance(60);
    let r = make("passkey_link").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!body_text(r).await.contains("new-passkey?token="));
}

/// Where passkeys cannot work, a passkey link does nothing (none is offered to be made).
async fn an_ip_address_issuers_passkey_link_does_nothing(db: Database) {
    let f = fixture_on(db).await;
    let (cookies, csrf) = administrator(&f).await;
    let page = body_text(send(&f, get_with(&cookies, "/admin/users/ada")).await).await;
    assert!(page.contains("Make a password reset link"), "{page}");
    assert!(!page.contains("add a passkey"), "{page}");
    let fields = [("csrf", csrf.as_str()), ("action", "passkey_link")];
    let r = post(&f, "/admin/users/ada", &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let ada = user(&*f.state.store, "ada").await;
    let token = made_link(&f, &ada, gatehouse::model::EmailPurpose::Passkey).await;
    let r = send(&f, get(&format!("/new-passkey?token={token}"))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("This link does not work"));
    let fields = [("csrf", "x"), ("token", token.as_str())];
    let r = post(&f, "/new-passkey/options", "", &fields).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// Where passkeys cannot work, an invitation asks for a password only.
async fn an_ip_address_issuers_invitation_asks_for_a_password(db: Database) {
    let f = fixture_on(db).await;
    let token = invite(&f, "carol").await;
    let page = body_text(send(&f, get(&format!("/welcome?token={token}"))).await).await;
    assert!(page.contains("Choose your password"), "{page}");
    assert!(!page.contains("welcome-passkey"), "{page}");
    let r = welcome_options(&f, &token, false).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
}

/// A GET of `uri` with `cookies`.
fn get_with(cookies: &str, uri: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookies)
        .body(Body::empty())
        .unwrap()
}

/// Sets the client's authentication policy.
async fn require(f: &Fixture, client_id: &str, policy: gatehouse::model::AuthPolicy) {
    let mut c = f.state.store.client(client_id).await.unwrap().unwrap();
    c.auth_policy = policy;
    f.state.store.update_client(c, None).await.unwrap();
}

/// The password through the login form of `authorize`: the next page's status, cookies and
/// text.
async fn password(f: &Fixture, authorize: &str, username: &str) -> (StatusCode, String, String) {
    let page = send(f, get(authorize)).await;
    let form_cookie = cookies(&page);
    let html = body_text(page).await;
    let r = post(
        f,
        "/login",
        &form_cookie,
        &[
            ("username", username),
            ("password", PASSWORD),
            ("csrf", &hidden_input(&html, "csrf")),
            ("request", &hidden_input(&html, "request")),
        ],
    )
    .await;
    let status = r.status();
    let jar = format!("{form_cookie}; {}", cookies(&r));
    (status, jar, body_text(r).await)
}

async fn where_a_passkey_is_required_a_password_and_an_app_are_not_enough(db: Database) {
    use gatehouse::model::{AuthPolicy, TotpFactor};
    let f = on_localhost(db).await;
    add_client_web(&f).await;
    require(&f, "web", AuthPolicy::Passkey).await;
    let ada = ada(&f).await;
    // Ada has an authenticator app: not enough here, she is asked to add a passkey.
    let app = TotpFactor {
        user_id: ada.id.clone(),
        secret: vec![1; 20],
        created_at: T0,
        last_step: None,
    };
    f.state
        .store
        .enrol_totp(app, vec![], record())
        .await
        .unwrap();
    let (status, jar, html) = password(&f, &authorize_uri("web", ""), "ada").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Add a passkey</h1>"), "{html}");
    assert!(!jar.contains("gatehouse_session"), "no session yet");
    let step = |name: &str| hidden_input(&html, name);
    let fields = [
        ("csrf", step("csrf")),
        ("username", step("username")),
        ("request", step("request")),
    ];
    let with = |changes: &[(&str, &str)]| {
        let mut v: Vec<(String, String)> = fields
            .iter()
            .map(|(n, v)| ((*n).to_owned(), v.clone()))
            .collect();
        for (n, val) in changes {
            v.retain(|(k, _)| k != n);
            v.push(((*n).to_owned(), (*val).to_owned()));
        }
        v
    };
    let send_form = |uri: &'static str, fields: Vec<(String, String)>| {
        let jar = jar.clone();
        let f = &f;
        async move {
            let pairs: Vec<(&str, &str)> = fields
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect();
            post(f, uri, &jar, &pairs).await
        }
    };
    // A registration challenge for the step's person; not for another name on the same token.
    let r = send_form("/passkey/enrol-options", with(&[])).await;
    assert_eq!(r.status(), StatusCode::OK);
    let c = json(r).await;
    assert_eq!(c["options"]["publicKey"]["user"]["name"], "ada");
    let r = send_form("/passkey/enrol-options", with(&[("username", "bob")])).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // A bogus answer: the page again, saying so; nothing added, nobody signed in.
    let challenge = c["challenge_id"].as_str().unwrap().to_owned();
    let r = send_form(
        "/enrol-passkey",
        with(&[("challenge_id", &challenge), ("credential", "{\"id\":1}")]),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::SET_COOKIE).is_none());
    assert!(body_text(r).await.contains("could not be verified"));
    assert!(f.state.store.passkeys(&ada.id).await.unwrap().is_empty());

    // With a passkey, the password leads to it, and nothing else.
    f.state
        .store
        .add_passkey(common::passkey(&ada.id, "AAEC", T0), record())
        .await
        .unwrap();
    let (status, _, html) = password(&f, &authorize_uri("web", "&prompt=login"), "ada").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("<h1>Use your passkey</h1>"), "{html}");
    assert!(html.contains("Use a passkey"));
    assert!(
        !html.contains("name=\"code\""),
        "no code field: an app's code will not do"
    );
}

async fn a_passkey_policy_on_an_ip_address_issuer_says_what_is_wrong(db: Database) {
    let f = fixture_on(db).await;
    require(&f, "web", gatehouse::model::AuthPolicy::Passkey).await;
    // The application is told (it is a valid client), with the reason for its administrator.
    refused_with_reason(&f, "passkeys cannot work").await;
}

/// Ada's password to the `web` client: the application gets `server_error` with `reason` for
/// its administrator, and nobody is signed in.
async fn refused_with_reason(f: &Fixture, reason: &str) {
    let r = post_login(f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let answer = location(&r);
    assert_eq!(answer["error"], "server_error");
    assert!(answer["error_description"].contains(reason), "{answer:?}");
    assert!(
        r.headers()
            .get(header::SET_COOKIE)
            .is_none_or(|c| !c.to_str().unwrap().contains("gatehouse_session"))
    );
}

async fn a_passkey_as_the_only_second_factor_on_an_ip_address_issuer_says_what_is_wrong(
    db: Database,
) {
    // Ada added a passkey while the issuer was a domain name; it has become an IP address.
    let f = fixture_on(db).await;
    let ada = ada(&f).await;
    assert!(
        f.state
            .store
            .add_passkey(common::passkey(&ada.id, "cred-1", T0), record())
            .await
            .unwrap()
    );
    // Not a page she cannot get past, nor the password alone: the reason, for the
    // administrator, and no session.
    refused_with_reason(&f, "or it is the person's only second factor").await;
}

/// The `web` client of the usual fixture (this fixture has none).
async fn add_client_web(f: &Fixture) {
    common::add_client(f.state.store.as_ref(), "web").await;
}

on_both_backends!(();
    where_a_passkey_is_required_a_password_and_an_app_are_not_enough,
    a_passkey_policy_on_an_ip_address_issuer_says_what_is_wrong,
    a_passkey_as_the_only_second_factor_on_an_ip_address_issuer_says_what_is_wrong,
    a_sign_in_challenge_needs_the_login_page_and_is_taken_once,
    a_burst_of_sign_in_challenges_from_one_address_is_held_back,
    registration_is_for_a_recent_sign_in_of_the_sessions_own_person,
    an_ip_address_issuer_offers_no_passkeys,
    a_person_with_a_passkey_may_do_without_a_password,
    an_ip_address_issuer_keeps_the_password,
    an_invitation_offers_a_passkey_instead_of_a_password,
    an_ip_address_issuers_invitation_asks_for_a_password,
    a_passkey_link_offers_its_person_a_new_passkey,
    an_ip_address_issuers_passkey_link_does_nothing,
    without_mail_an_administrator_hands_over_a_passkey_link,
);
