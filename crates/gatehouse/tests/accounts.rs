//! Consent, brute-force protection, session timeouts and logout, through the router with a
//! fixed clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use common::backend::Database;

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use common::oneshot::*;
use common::{PASSWORD, REDIRECT, add_third_party_client, add_user, hidden_input, user};
use gatehouse::app;
use tower::ServiceExt;

fn with_cookie(uri: &str, cookie: &str) -> Request<Body> {
    Request::get(uri)
        .header(header::COOKIE, cookie)
        .body(Body::empty())
        .unwrap()
}

/// The `name=value` of the session cookie a response sets.
fn session_cookie(r: &Response) -> String {
    cookies(r)
        .split("; ")
        .find(|c| c.starts_with("gatehouse_session="))
        .expect("a session cookie")
        .to_owned()
}

/// Posts the consent form shown in `page` with `decision`.
async fn decide(f: &Fixture, page: Response, session: &str, decision: &str) -> Response {
    let cookie = format!("{session}; {}", cookies(&page));
    let html = body_text(page).await;
    let body = encode(&[
        ("csrf", &hidden_input(&html, "csrf")),
        ("request", &hidden_input(&html, "request")),
        ("decision", decision),
    ]);
    send(
        f,
        form("/consent")
            .header(header::COOKIE, cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn a_third_party_client_gets_consent_once_per_new_set_of_scopes(db: Database) {
    let f = fixture_on(db).await;
    add_third_party_client(f.state.store.as_ref(), "partner").await;

    // After the password, the consent page, not a code.
    let page = post_login(&f, &authorize_uri("partner", ""), "ada", PASSWORD).await;
    assert_eq!(page.status(), StatusCode::OK);
    let session = session_cookie(&page);
    let allowed = decide(&f, page, &session, "allow").await;
    assert!(location(&allowed).contains_key("code"));

    // The same scopes again: straight to a code. More scopes: asked again.
    let again = send(&f, with_cookie(&authorize_uri("partner", ""), &session)).await;
    assert!(location(&again).contains_key("code"));
    let more = send(
        &f,
        with_cookie(
            &authorize_uri("partner", "").replace("scope=openid", "scope=openid%20email%20groups"),
            &session,
        ),
    )
    .await;
    assert_eq!(more.status(), StatusCode::OK);
    let asked = body_text(more).await;
    assert!(asked.contains("See your email address"), "{asked}");
    assert!(asked.contains("See which groups you are in"), "{asked}");
    // prompt=consent asks even for what was given; prompt=none cannot show the page.
    let forced = send(
        &f,
        with_cookie(&authorize_uri("partner", "&prompt=consent"), &session),
    )
    .await;
    assert_eq!(forced.status(), StatusCode::OK);
    let silent = send(
        &f,
        with_cookie(
            &authorize_uri("partner", "&prompt=none")
                .replace("scope=openid", "scope=openid%20email"),
            &session,
        ),
    )
    .await;
    assert_eq!(location(&silent)["error"], "consent_required");

    // The first-party client never asks.
    let first = send(&f, with_cookie(&authorize_uri("web", ""), &session)).await;
    assert!(location(&first).contains_key("code"));

    let ada = user(&*f.state.store, "ada").await;
    let consents = f.state.store.consents(&ada.id).await.unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(
        (consents[0].client_id.as_str(), consents[0].scope.as_str()),
        ("partner", "openid")
    );
}

async fn denying_consent_sends_access_denied_and_remembers_nothing(db: Database) {
    let f = fixture_on(db).await;
    add_third_party_client(f.state.store.as_ref(), "partner").await;
    let page = post_login(&f, &authorize_uri("partner", ""), "ada", PASSWORD).await;
    let session = session_cookie(&page);
    let denied = decide(&f, page, &session, "deny").await;
    let params = location(&denied);
    assert_eq!(params["error"], "access_denied");
    assert_eq!(params["state"], "st");
    let ada = user(&*f.state.store, "ada").await;
    assert!(f.state.store.consents(&ada.id).await.unwrap().is_empty());
}

async fn a_consent_form_grants_only_with_its_own_token_in_its_own_session(db: Database) {
    let f = fixture_on(db).await;
    add_third_party_client(f.state.store.as_ref(), "partner").await;
    add_user(f.state.store.as_ref(), "eve").await;
    let uri = authorize_uri("partner", "");
    // Eve's consent page for the same request: a valid token, of another session.
    let eves = post_login(&f, &uri, "eve", PASSWORD).await;
    let eves_html = body_text(eves).await;

    let login_page = send(&f, get(&uri)).await;
    let login_cookie = cookies(&login_page);
    let login_html = body_text(login_page).await;
    let page = post_login(&f, &uri, "ada", PASSWORD).await;
    let session = session_cookie(&page);
    let html = body_text(page).await;
    let request = hidden_input(&html, "request");
    let csrf = hidden_input(&html, "csrf");

    let attempts = [
        ("no token", session.clone(), String::new(), request.clone()),
        (
            "a made-up token",
            session.clone(),
            "x".repeat(43),
            request.clone(),
        ),
        // The login form's token (finding: it used to pass here, skipping prompt=login).
        (
            "the login form's token",
            format!("{session}; {login_cookie}"),
            hidden_input(&login_html, "csrf"),
            request.clone(),
        ),
        (
            "another session's token",
            session.clone(),
            hidden_input(&eves_html, "csrf"),
            request.clone(),
        ),
        // The token with another request: it was shown for the one it names only.
        (
            "another request",
            session.clone(),
            csrf.clone(),
            request.replace("state=st", "state=other"),
        ),
        // The token without the session: nobody is signed in to consent.
        ("no session", String::new(), csrf.clone(), request.clone()),
    ];
    for (what, cookie, token, request) in attempts {
        let body = encode(&[
            ("csrf", &token),
            ("request", &request),
            ("decision", "allow"),
        ]);
        let mut r = form("/consent");
        if !cookie.is_empty() {
            r = r.header(header::COOKIE, cookie);
        }
        let r = send(&f, r.body(Body::from(body)).unwrap()).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{what}");
        assert!(
            body_text(r).await.contains("This form has expired"),
            "{what}"
        );
    }
    let ada = user(&*f.state.store, "ada").await;
    assert!(f.state.store.consents(&ada.id).await.unwrap().is_empty());

    // Its own token, in its own session: granted.
    let body = encode(&[
        ("csrf", &csrf),
        ("request", &request),
        ("decision", "allow"),
    ]);
    let r = send(
        &f,
        form("/consent")
            .header(header::COOKIE, session)
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert!(location(&r).contains_key("code"));
}

/// A login attempt from `ip` through the form.
async fn attempt(f: &Fixture, username: &str, password: &str, ip: [u8; 4]) -> Response {
    let page = send(f, get(&authorize_uri("web", ""))).await;
    let cookie = cookies(&page);
    let html = body_text(page).await;
    let body = encode(&[
        ("username", username),
        ("password", password),
        ("csrf", &hidden_input(&html, "csrf")),
        ("request", &hidden_input(&html, "request")),
    ]);
    let mut req = form("/login")
        .header(header::COOKIE, cookie)
        .body(Body::from(body))
        .unwrap();
    req.extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    send(f, req).await
}

async fn failed_logins_slow_down_then_lock_an_account_without_revealing_it_exists(db: Database) {
    let f = fixture_on(db).await;
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(attempt(&f, "ada", "wrong", [10, 0, 0, 1]).await.status());
    }
    assert_eq!(statuses, [StatusCode::UNAUTHORIZED; 4]);
    // The fourth failure imposed a one-second wait: even the right password is not checked.
    let blocked = attempt(&f, "ada", PASSWORD, [10, 0, 0, 2]).await;
    assert_eq!(blocked.status(), StatusCode::TOO_MANY_REQUESTS);
    let told = body_text(blocked).await;
    assert!(told.contains("Too many failed attempts"), "{told}");
    assert!(!told.contains("administrator"), "a second's wait: {told}");
    f.clock.advance(1);
    let ok = attempt(&f, "ada", PASSWORD, [10, 0, 0, 2]).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER, "the wait is over");

    // A username that does not exist is throttled exactly the same way.
    for name in ["ada", "nobody"] {
        let mut answers = Vec::new();
        for i in 0..10 {
            if i > 0 {
                // Past each growing delay, so every attempt is checked.
                f.clock.advance(61);
            }
            let r = attempt(&f, name, "wrong", [10, 0, 1, 1]).await;
            answers.push(r.status());
        }
        assert_eq!(answers, [StatusCode::UNAUTHORIZED; 10], "{name}");
        let locked = attempt(&f, name, PASSWORD, [10, 0, 1, 1]).await;
        assert_eq!(locked.status(), StatusCode::TOO_MANY_REQUESTS, "{name}");
        // Told alike whether the account exists: the lockout is one an administrator lifts.
        let told = body_text(locked).await;
        assert!(
            told.contains(
                "Try again in 15 minutes, or ask an administrator to let you sign in sooner."
            ),
            "{name}: {told}"
        );
    }
    // The lockout is temporary.
    f.clock.advance(15 * 60);
    let r = attempt(&f, "ada", PASSWORD, [10, 0, 1, 1]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);

    let log = f.state.store.audit_latest(100).await.unwrap();
    let failed = log
        .iter()
        .filter(|e| e.record.kind.as_str() == "login.failed")
        .count();
    assert_eq!(failed, 4 + 20);
    assert!(
        log.iter()
            .any(|e| e.record.kind.as_str() == "login.succeeded"
                && e.record.ip.as_deref() == Some("10.0.1.1"))
    );
}

async fn an_overlong_username_is_counted_and_logged_cut_to_64_characters(db: Database) {
    let f = fixture_on(db).await;
    let long = "x".repeat(10_000);
    let r = attempt(&f, &long, "wrong", [10, 0, 0, 9]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let log = f.state.store.audit_latest(1).await.unwrap();
    assert_eq!(log[0].record.subject.as_deref(), Some(&long[..64]));
}

async fn one_address_guessing_many_accounts_is_throttled(db: Database) {
    let f = fixture_on(db).await;
    for i in 0..20 {
        let r = attempt(&f, &format!("user{i}"), "wrong", [192, 0, 2, 7]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = attempt(&f, "user20", "wrong", [192, 0, 2, 7]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // The 21st failure from the address imposes a wait on every account tried from it.
    let r = attempt(&f, "ada", PASSWORD, [192, 0, 2, 7]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    // Another address is not affected.
    let r = attempt(&f, "ada", PASSWORD, [192, 0, 2, 8]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    // Waiting out each delay, the hundredth failure locks the address: no administrator can
    // lift that for a person (others share it), so nobody is told to ask one.
    for i in 21..100 {
        f.clock.advance(61);
        let r = attempt(&f, &format!("user{i}"), "wrong", [192, 0, 2, 7]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "attempt {i}");
    }
    let r = attempt(&f, "ada", PASSWORD, [192, 0, 2, 7]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let told = body_text(r).await;
    assert!(told.contains("Try again in 15 minutes."), "{told}");
    assert!(!told.contains("administrator"), "{told}");
}

async fn an_idle_session_ends_and_an_active_one_lasts_until_its_absolute_limit(db: Database) {
    let f = fixture_on(db).await;
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let session = session_cookie(&r);
    let idle = f.state.config.session_idle_timeout;
    let absolute = f.state.config.session_ttl;
    assert!(idle < absolute);

    // Used just before the idle timeout each time: the session lives on...
    let mut elapsed = 0;
    while elapsed + idle - 1 < absolute {
        f.clock.advance(idle - 1);
        elapsed += idle - 1;
        let r = send(&f, with_cookie(&authorize_uri("web", ""), &session)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "at {elapsed}s");
    }
    // ...but not past its absolute lifetime.
    f.clock.advance(absolute - elapsed);
    let r = send(&f, with_cookie(&authorize_uri("web", ""), &session)).await;
    assert_eq!(r.status(), StatusCode::OK, "the login form");

    // A new session left idle ends.
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let session = session_cookie(&r);
    f.clock.advance(idle);
    let r = send(
        &f,
        with_cookie(&authorize_uri("web", "&prompt=none"), &session),
    )
    .await;
    assert_eq!(location(&r)["error"], "login_required");
}

/// A person who ticks "Keep me signed in" gets a session that outlasts the idle timeout and
/// the ordinary limit, within the kept one: the browser keeps its cookie as long, the sign-in's
/// record says so, and one left unused for the kept idle timeout ends all the same.
async fn a_kept_session_outlasts_an_ordinary_one_within_its_own_limits(db: Database) {
    let f = fixture_on(db).await;
    let config = &f.state.config;
    let (ordinary, ordinary_idle) = config.session_lifetime(false);
    let (kept, kept_idle) = config.session_lifetime(true);
    assert!(ordinary < kept_idle && kept_idle < kept);
    let uri = authorize_uri("web", "");
    let keeping = Browser {
        keep: true,
        ..Browser::default()
    };

    // Unticked: as before.
    let r = post_login(&f, &uri, "ada", PASSWORD).await;
    assert_eq!(session_max_age(&r), ordinary);
    let r = post_login_from(&f, &uri, "ada", PASSWORD, keeping).await;
    assert_eq!(session_max_age(&r), kept, "the browser keeps it as long");
    let session = session_cookie(&r);
    let record = &f.state.store.audit_latest(1).await.unwrap()[0].record;
    assert_eq!(record.kind, gatehouse::model::AuditKind::LoginSucceeded);
    assert_eq!(record.detail.as_deref(), Some("amr=pwd kept"));

    // Used just before the kept idle timeout each time, far past the ordinary limits...
    let mut elapsed = 0;
    while elapsed + kept_idle - 1 < kept {
        f.clock.advance(kept_idle - 1);
        elapsed += kept_idle - 1;
        let r = send(&f, with_cookie(&uri, &session)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "at {elapsed}s");
    }
    // ...but not past its own.
    f.clock.advance(kept - elapsed);
    let r = send(&f, with_cookie(&uri, &session)).await;
    assert_eq!(r.status(), StatusCode::OK, "the login form");

    // A kept session left unused for the kept idle timeout ends.
    let r = post_login_from(&f, &uri, "ada", PASSWORD, keeping).await;
    let session = session_cookie(&r);
    f.clock.advance(ordinary_idle * 2);
    let r = send(&f, with_cookie(&uri, &session)).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "past the ordinary idle timeout"
    );
    f.clock.advance(kept_idle);
    let silent = authorize_uri("web", "&prompt=none");
    let r = send(&f, with_cookie(&silent, &session)).await;
    assert_eq!(location(&r)["error"], "login_required");
}

/// Where the deployment does not keep sessions (`--kept-session-ttl 0`), the login form does
/// not offer it, and a form that says so anyway gets an ordinary session.
async fn a_deployment_that_keeps_no_sessions_gives_an_ordinary_one_whatever_the_form_says(
    db: Database,
) {
    let f = fixture_with(db, |args| args.kept_session_ttl = 0).await;
    let uri = authorize_uri("web", "");
    let page = body_text(send(&f, get(&uri)).await).await;
    assert!(!page.contains("Keep me signed in"), "{page}");
    let keeping = Browser {
        keep: true,
        ..Browser::default()
    };
    let r = post_login_from(&f, &uri, "ada", PASSWORD, keeping).await;
    assert_eq!(session_max_age(&r), f.state.config.session_ttl);
    let session = session_cookie(&r);
    f.clock.advance(f.state.config.session_idle_timeout);
    let silent = authorize_uri("web", "&prompt=none");
    let r = send(&f, with_cookie(&silent, &session)).await;
    assert_eq!(location(&r)["error"], "login_required");
    let log = f.state.store.audit_latest(10).await.unwrap();
    let signed_in = log
        .iter()
        .find(|e| e.record.kind == gatehouse::model::AuditKind::LoginSucceeded)
        .expect("the sign-in's record");
    assert_eq!(signed_in.record.detail.as_deref(), Some("amr=pwd"));
}

async fn logout_with_an_id_token_hint_ends_the_session_and_returns_to_a_registered_uri(
    db: Database,
) {
    let f = fixture_on(db).await;
    let partner_secret = add_third_party_client(f.state.store.as_ref(), "partner").await;
    let page = post_login(&f, &authorize_uri("partner", ""), "ada", PASSWORD).await;
    let session = session_cookie(&page);
    let code = location(&decide(&f, page, &session, "allow").await)["code"].clone();
    let tokens = json(
        post_as(
            &f,
            "/token",
            "partner",
            &partner_secret,
            &[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", CHALLENGE_VERIFIER),
            ],
        )
        .await,
    )
    .await;
    let hint = tokens["id_token"].as_str().unwrap();

    // An unregistered return address is refused on a page, and the session survives.
    let evil =
        format!("/logout?id_token_hint={hint}&post_logout_redirect_uri=https://evil.example/");
    let r = send(&f, with_cookie(&evil, &session)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.headers().get(header::LOCATION).is_none());
    let still = send(&f, with_cookie(&authorize_uri("web", ""), &session)).await;
    assert!(location(&still).contains_key("code"));

    let good =
        format!("/logout?id_token_hint={hint}&post_logout_redirect_uri={REDIRECT}/bye&state=s9");
    let r = send(&f, with_cookie(&good, &session)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()[header::LOCATION].to_str().unwrap();
    assert_eq!(to, format!("{REDIRECT}/bye?state=s9"));
    assert!(
        cookies(&r).contains("gatehouse_session="),
        "the cookie is cleared"
    );
    let after = send(
        &f,
        with_cookie(&authorize_uri("web", "&prompt=none"), &session),
    )
    .await;
    assert_eq!(location(&after)["error"], "login_required");

    let log = f.state.store.audit_latest(20).await.unwrap();
    assert!(log.iter().any(|e| e.record.kind.as_str() == "logout"));

    // Without state, the browser goes to the registered URI exactly (not even an empty `?`).
    let again = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let session = session_cookie(&again);
    let bare = format!("/logout?id_token_hint={hint}&post_logout_redirect_uri={REDIRECT}/bye");
    let r = send(&f, with_cookie(&bare, &session)).await;
    assert_eq!(
        r.headers()[header::LOCATION],
        format!("{REDIRECT}/bye").as_str()
    );
}

async fn logout_without_a_hint_asks_first_and_a_forged_hint_is_refused(db: Database) {
    let f = fixture_on(db).await;
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let session = session_cookie(&r);

    let forged = "/logout?id_token_hint=eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln";
    let r = send(&f, with_cookie(forged, &session)).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    // A bare link (another site could embed it) gets a confirmation page.
    let page = send(&f, with_cookie("/logout", &session)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let still = send(&f, with_cookie(&authorize_uri("web", ""), &session)).await;
    assert!(location(&still).contains_key("code"), "not signed out yet");

    let cookie = format!("{session}; {}", cookies(&page));
    let html = body_text(page).await;
    let csrf = hidden_input(&html, "csrf");
    let request = hidden_input(&html, "request");
    // The confirmation without its CSRF token does nothing.
    let body = encode(&[
        ("csrf", "forged"),
        ("request", &request),
        ("confirm", "yes"),
    ]);
    let r = send(
        &f,
        form("/logout")
            .header(header::COOKIE, &cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let still = send(&f, with_cookie(&authorize_uri("web", ""), &session)).await;
    assert!(location(&still).contains_key("code"));

    let body = encode(&[("csrf", &csrf), ("request", &request), ("confirm", "yes")]);
    let r = send(
        &f,
        form("/logout")
            .header(header::COOKIE, &cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("You are signed out"));
    let after = send(
        &f,
        with_cookie(&authorize_uri("web", "&prompt=none"), &session),
    )
    .await;
    assert_eq!(location(&after)["error"], "login_required");
}

async fn the_client_address_comes_from_x_forwarded_for_only_when_trusted(db: Database) {
    let mut f = fixture_on(db).await;
    let login_from = |f: &Fixture, forwarded: &'static str| {
        let (f_state, f_clock) = (f.state.clone(), f.clock.clone());
        async move {
            let page = app(f_state.clone())
                .oneshot(get(&authorize_uri("web", "")))
                .await
                .unwrap();
            let cookie = cookies(&page);
            let html = body_text(page).await;
            let body = encode(&[
                ("username", "ada"),
                ("password", "wrong"),
                ("csrf", &hidden_input(&html, "csrf")),
                ("request", &hidden_input(&html, "request")),
            ]);
            let mut req = form("/login")
                .header(header::COOKIE, cookie)
                .header("x-forwarded-for", forwarded)
                .body(Body::from(body))
                .unwrap();
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([10, 9, 9, 9], 443))));
            app(f_state.clone()).oneshot(req).await.unwrap();
            // Past any slow-down the failures so far earned, so the next attempt is heard.
            f_clock.advance(3600);
            let log = f_state.store.audit_latest(1).await.unwrap();
            log[0].record.ip.clone()
        }
    };
    // Not trusted (the default): whatever the client claims, the TCP peer counts.
    assert_eq!(
        login_from(&f, "203.0.113.5").await.as_deref(),
        Some("10.9.9.9")
    );
    // A proxy at another address is named: the peer is not it, so its claim is ignored.
    let mut config = (*f.state.config).clone();
    config.trusted_proxies = vec!["10.0.0.2".parse().unwrap()];
    f.state = gatehouse::AppState::new(
        f.state.store.clone(),
        config.clone(),
        std::sync::Arc::new(f.clock.clone()),
    );
    assert_eq!(
        login_from(&f, "203.0.113.5").await.as_deref(),
        Some("10.9.9.9")
    );
    // The peer is the named proxy: the address it appended, not the client's own claim.
    config.trusted_proxies = vec!["10.9.9.9".parse().unwrap()];
    f.state = gatehouse::AppState::new(
        f.state.store.clone(),
        config.clone(),
        std::sync::Arc::new(f.clock.clone()),
    );
    assert_eq!(
        login_from(&f, "198.51.100.1, 203.0.113.5").await.as_deref(),
        Some("203.0.113.5")
    );
    // --trust-forwarded-for believes anyone: the address the proxy appended.
    config.trusted_proxies = vec![];
    config.trust_forwarded_for = true;
    f.state = gatehouse::AppState::new(
        f.state.store.clone(),
        config,
        std::sync::Arc::new(f.clock.clone()),
    );
    assert_eq!(
        login_from(&f, "198.51.100.1, 203.0.113.5").await.as_deref(),
        Some("203.0.113.5")
    );
    assert_eq!(
        login_from(&f, "not an address").await.as_deref(),
        Some("10.9.9.9"),
        "a malformed header falls back to the peer"
    );
}

async fn a_burst_of_parallel_guesses_is_held_to_the_limits(db: Database) {
    let f = std::sync::Arc::new(fixture_on(db).await);
    // One form, its token reused by every request, as a script would.
    let page = send(&f, get(&authorize_uri("web", ""))).await;
    let cookie = cookies(&page);
    let html = body_text(page).await;
    let (csrf, request) = (hidden_input(&html, "csrf"), hidden_input(&html, "request"));
    // One attempt from one address, as the script sends it.
    let attempt = |password: String| {
        let f = std::sync::Arc::clone(&f);
        let body = encode(&[
            ("username", "ada"),
            ("password", &password),
            ("csrf", &csrf),
            ("request", &request),
        ]);
        let cookie = cookie.clone();
        async move {
            let mut req = form("/login")
                .header(header::COOKIE, cookie)
                .body(Body::from(body))
                .unwrap();
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::from(([10, 9, 9, 9], 40000))));
            send(&f, req).await.status()
        }
    };
    // 200 wrong guesses at once. (A right password admitted among the first would be a
    // success, which forgets the account's count and refunds its own attempt to the address:
    // one more guess could then be checked. It comes after the burst, below.)
    let tasks: Vec<_> = (0..200)
        .map(|i| tokio::spawn(attempt(format!("guess number {i}"))))
        .collect();
    let mut checked = 0;
    for t in tasks {
        match t.await.unwrap() {
            StatusCode::TOO_MANY_REQUESTS => {}
            StatusCode::UNAUTHORIZED => checked += 1,
            other => panic!("unexpected answer {other}"),
        }
    }
    // The clock stands still: the three free attempts and the one that starts the delays,
    // whatever the order the 200 arrived in. (Before attempts were counted up front, 199 were
    // answered 401.) The real password, sent now, waits like any other attempt.
    assert_eq!(checked, 4);
    assert_eq!(
        attempt(PASSWORD.to_owned()).await,
        StatusCode::TOO_MANY_REQUESTS
    );
    let failed = f
        .state
        .store
        .audit_latest(1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind.as_str() == "login.failed")
        .count();
    assert!(failed <= 4, "{failed} passwords were checked and failed");
}

/// Ada signed in: her session cookie, and tokens from a code issued in that session.
async fn signed_in_with_tokens(f: &Fixture) -> (String, String, String) {
    let r = post_login(
        f,
        &authorize_uri("web", "").replace("scope=openid", "scope=openid%20offline_access"),
        "ada",
        PASSWORD,
    )
    .await;
    let session = session_cookie(&r);
    let code = location(&r)["code"].clone();
    let tokens = json(exchange(f, &code, CHALLENGE_VERIFIER, REDIRECT).await).await;
    let s = |k: &str| tokens[k].as_str().unwrap().to_owned();
    (session, s("access_token"), s("refresh_token"))
}

/// What still works of a session cookie, an access token and a refresh token.
async fn what_still_works(f: &Fixture, session: &str, access: &str, refresh: &str) -> [bool; 3] {
    let page = send(f, with_cookie(&authorize_uri("web", ""), session)).await;
    let session_works = page.status() == StatusCode::SEE_OTHER;
    let userinfo = Request::get("/userinfo")
        .header(header::AUTHORIZATION, format!("Bearer {access}"))
        .body(Body::empty())
        .unwrap();
    let access_works = send(f, userinfo).await.status() == StatusCode::OK;
    let refreshed = post_as(
        f,
        "/token",
        "web",
        &f.secret,
        &[("grant_type", "refresh_token"), ("refresh_token", refresh)],
    )
    .await;
    [
        session_works,
        access_works,
        refreshed.status() == StatusCode::OK,
    ]
}

async fn disabling_then_enabling_or_a_new_password_brings_nothing_back(db: Database) {
    let f = fixture_on(db).await;
    let admin = || gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let (session, access, refresh) = signed_in_with_tokens(&f).await;
    assert_eq!(
        what_still_works(&f, &session, &access, &refresh).await,
        [true; 3]
    );
    let (session, access, refresh) = signed_in_with_tokens(&f).await;
    admin().set_disabled("ada", true).await.unwrap();
    admin().set_disabled("ada", false).await.unwrap();
    assert_eq!(
        what_still_works(&f, &session, &access, &refresh).await,
        [false; 3]
    );

    let (session, access, refresh) = signed_in_with_tokens(&f).await;
    let out = admin()
        .set_password(&f.state.passwords, "ada", "a newer glacier umbrella".into())
        .await
        .unwrap();
    assert_eq!((out.sessions, out.token_families), (1, 1));
    assert_eq!(
        what_still_works(&f, &session, &access, &refresh).await,
        [false; 3]
    );
    let audit = f.state.store.audit_latest(5).await.unwrap();
    let set = audit
        .iter()
        .find(|e| e.record.kind.as_str() == "admin.user.password_set")
        .unwrap();
    assert_eq!(
        set.record.detail.as_deref(),
        Some("sessions ended: 1, token families revoked: 1")
    );
}

/// Posts the login form of `html`, shown to the browser with `cookies`, as `username`.
async fn sign_in_through(f: &Fixture, html: &str, cookies: &str, username: &str) -> Response {
    let body = encode(&[
        ("username", username),
        ("password", PASSWORD),
        ("csrf", &hidden_input(html, "csrf")),
        ("request", &hidden_input(html, "request")),
    ]);
    send(
        f,
        form("/login")
            .header(header::COOKIE, cookies)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

async fn signing_in_again_or_out_ends_the_session_and_its_refresh_tokens(db: Database) {
    let f = fixture_on(db).await;
    // Without offline_access: the tokens belong to the session.
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let first = session_cookie(&r);
    let tokens =
        json(exchange(&f, &location(&r)["code"], CHALLENGE_VERIFIER, REDIRECT).await).await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();
    // prompt=login in the same browser: a new session, and the old one is over.
    let page = send(
        &f,
        with_cookie(&authorize_uri("web", "&prompt=login"), &first),
    )
    .await;
    let form_cookie = cookies(&page);
    let html = body_text(page).await;
    let browser = format!("{first}; {form_cookie}");
    let again = sign_in_through(&f, &html, &browser, "ada").await;
    let second = session_cookie(&again);
    assert_ne!(first, second);
    let old = send(&f, with_cookie(&authorize_uri("web", ""), &first)).await;
    assert_eq!(
        old.status(),
        StatusCode::OK,
        "the old session shows the login form"
    );
    let refreshed = post_as(
        &f,
        "/token",
        "web",
        &f.secret,
        &[("grant_type", "refresh_token"), ("refresh_token", &refresh)],
    )
    .await;
    assert_eq!(
        refreshed.status(),
        StatusCode::BAD_REQUEST,
        "ended with its session"
    );

    // With offline_access, the tokens outlive a sign-out.
    let (session, access, refresh) = signed_in_with_tokens(&f).await;
    let confirm = send(&f, with_cookie("/logout", &session)).await;
    let form_cookie = cookies(&confirm);
    let html = body_text(confirm).await;
    assert!(html.contains("Sign out?"));
    let body = encode(&[
        ("csrf", &hidden_input(&html, "csrf")),
        ("request", ""),
        ("confirm", "yes"),
    ]);
    let signed_out = send(
        &f,
        form("/logout")
            .header(header::COOKIE, format!("{session}; {form_cookie}"))
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert!(body_text(signed_out).await.contains("You are signed out"));
    let works = what_still_works(&f, &session, &access, &refresh).await;
    assert_eq!(works, [false, true, true]);
}

/// `prompt=select_account` (OpenID Connect Core §3.1.2.1): the person chooses the account on
/// the login form, the signed-in person's name already in it, where a session would otherwise
/// sign them in at once; choosing another account signs that one in, in place of the session.
/// With `prompt=none` it is a malformed request.
async fn select_account_asks_who_signs_in_with_the_signed_in_person_typed(db: Database) {
    let f = fixture_on(db).await;
    add_user(f.state.store.as_ref(), "bob").await;
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let first = session_cookie(&r);
    // Without the prompt, the session answers at once.
    let r = send(&f, with_cookie(&authorize_uri("web", ""), &first)).await;
    assert!(location(&r).contains_key("code"));

    let page = send(
        &f,
        with_cookie(&authorize_uri("web", "&prompt=select_account"), &first),
    )
    .await;
    assert_eq!(page.status(), StatusCode::OK);
    let form_cookie = cookies(&page);
    let html = body_text(page).await;
    assert!(html.contains(r#"name="username""#), "{html}");
    assert!(
        html.contains(r#"value="ada""#),
        "the signed-in person, typed: {html}"
    );
    // A login_hint says who the application expects instead.
    let hinted = send(
        &f,
        with_cookie(
            &authorize_uri("web", "&prompt=select_account&login_hint=bob"),
            &first,
        ),
    )
    .await;
    assert!(body_text(hinted).await.contains(r#"value="bob""#));

    // Another account: bob signs in, in place of ada's session.
    let browser = format!("{first}; {form_cookie}");
    let r = sign_in_through(&f, &html, &browser, "bob").await;
    let code = location(&r)["code"].clone();
    let second = session_cookie(&r);
    assert_ne!(first, second);
    let tokens = json(exchange(&f, &code, CHALLENGE_VERIFIER, REDIRECT).await).await;
    let bob = user(f.state.store.as_ref(), "bob").await;
    let access = tokens["access_token"].as_str().unwrap();
    let info = json(
        send(
            &f,
            axum::http::Request::get("/userinfo")
                .header(header::AUTHORIZATION, format!("Bearer {access}"))
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert_eq!(info["sub"], bob.id);

    let r = send(
        &f,
        with_cookie(
            &authorize_uri("web", "&prompt=none%20select_account"),
            &second,
        ),
    )
    .await;
    assert_eq!(location(&r)["error"], "invalid_request");
}

on_both_backends!(();
    select_account_asks_who_signs_in_with_the_signed_in_person_typed,
    an_overlong_username_is_counted_and_logged_cut_to_64_characters,
    a_third_party_client_gets_consent_once_per_new_set_of_scopes,
    denying_consent_sends_access_denied_and_remembers_nothing,
    a_consent_form_grants_only_with_its_own_token_in_its_own_session,
    a_burst_of_parallel_guesses_is_held_to_the_limits,
    disabling_then_enabling_or_a_new_password_brings_nothing_back,
    signing_in_again_or_out_ends_the_session_and_its_refresh_tokens,
    failed_logins_slow_down_then_lock_an_account_without_revealing_it_exists,
    one_address_guessing_many_accounts_is_throttled,
    an_idle_session_ends_and_an_active_one_lasts_until_its_absolute_limit,
    a_kept_session_outlasts_an_ordinary_one_within_its_own_limits,
    a_deployment_that_keeps_no_sessions_gives_an_ordinary_one_whatever_the_form_says,
    logout_with_an_id_token_hint_ends_the_session_and_returns_to_a_registered_uri,
    logout_without_a_hint_asks_first_and_a_forged_hint_is_refused,
    the_client_address_comes_from_x_forwarded_for_only_when_trusted,
);
