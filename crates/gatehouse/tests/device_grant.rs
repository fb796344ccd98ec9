//! The device authorization grant (RFC 8628): a device without a browser gets codes, a person
//! signs in on the verification page, types or follows the code, and allows or denies; the
//! device polls until then. With a real client library, and as an attacker would try it:
//! polling too fast, another client's device code, guessing user codes, answering with another
//! person's form, racing polls, expired codes.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::time::Duration;

use common::backend::Database;
use common::*;
use gatehouse::model::{DeviceAnswer, GrantType};
use gatehouse::oidc::{device, tokens};
use gatehouse::store::Store;
use openidconnect::core::{CoreClient, CoreDeviceAuthorizationResponse, CoreIdTokenVerifier};
use openidconnect::{
    ClientId, ClientSecret, DeviceAuthorizationUrl, IssuerUrl, Nonce, OAuth2TokenResponse,
    RefreshToken, Scope, TokenResponse,
};
use serde_json::Value;

/// Lets `client_id` use the device grant (and refresh), with no redirect URI at all.
async fn allow_devices(store: &dyn Store, client_id: &str) {
    let mut c = store.client(client_id).await.unwrap().unwrap();
    c.grant_types = vec![GrantType::DeviceCode, GrantType::RefreshToken];
    c.redirect_uris = vec![];
    store.update_client(c, None).await.unwrap();
}

/// A public device client `tv`.
async fn tv(store: &dyn Store) {
    add_public_client(store, "tv").await;
    allow_devices(store, "tv").await;
}

async fn post(base: &str, path: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .form(form)
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap())
}

/// A device asks for codes as the public client `client_id`.
async fn start(base: &str, client_id: &str, scope: &str) -> Value {
    let (status, body) = post(
        base,
        "/device_authorization",
        &[("client_id", client_id), ("scope", scope)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    body
}

/// One poll of the token endpoint by the public client `client_id`.
async fn poll(base: &str, client_id: &str, device_code: &str) -> (u16, Value) {
    post(
        base,
        "/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", client_id),
            ("device_code", device_code),
        ],
    )
    .await
}

fn error_of(answer: &(u16, Value)) -> &str {
    answer.1["error"].as_str().unwrap_or("(none)")
}

/// The person's side: follows the link the device showed, signs in as `username`, and gets
/// the page that asks to allow the device. Returns the browser (signed in) and that page.
async fn sign_in_for(base: &str, link: &str, username: &str) -> (Browser, String) {
    let (browser, status, html) = signed_in_for(base, link, username).await;
    assert_eq!(status, 200, "{html}");
    (browser, html)
}

/// As [`sign_in_for`], whatever page the sign-in ends at: the browser, its status and the page.
async fn signed_in_for(base: &str, link: &str, username: &str) -> (Browser, u16, String) {
    let browser = Browser::default();
    let page = browser.http.get(link).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains("to continue to <strong>your device</strong>"),
        "{html}"
    );
    let r = browser
        .http
        .post(format!("{base}/login"))
        .form(&[
            ("username", username),
            ("password", PASSWORD),
            ("csrf", &hidden_input(&html, "csrf")),
            ("flow", &hidden_input(&html, "flow")),
            ("user_code", &hidden_input(&html, "user_code")),
        ])
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let html = r.text().await.unwrap();
    (browser, status, html)
}

/// Posts the answer form of `page` with `decision`.
async fn answer(browser: &Browser, base: &str, page: &str, decision: &str) -> (u16, String) {
    let r = browser
        .http
        .post(format!("{base}/device/answer"))
        .form(&[
            ("csrf", hidden_input(page, "csrf").as_str()),
            ("user_code", &hidden_input(page, "user_code")),
            ("decision", decision),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

/// Types `code` into the verification page of a signed-in browser.
async fn enter(browser: &Browser, base: &str, code: &str) -> (u16, String) {
    let page = browser
        .http
        .get(format!("{base}/device"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = browser
        .http
        .post(format!("{base}/device"))
        .form(&[
            ("csrf", hidden_input(&page, "csrf").as_str()),
            ("user_code", code),
        ])
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

async fn a_device_signs_in_with_a_real_client_once_the_person_allows_it(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let ada = add_user(s, "ada").await;
    add_third_party_client(s, "tv").await;
    allow_devices(s, "tv").await;
    let ops = gatehouse::admin::Admin::new(s, "cli", None, 0);
    assert!(
        ops.give_client_logo("tv", common::PNG.to_vec())
            .await
            .unwrap()
            .changed
    );
    let secret = {
        // A confidential device client: its secret, rotated in so the test knows it.
        let secret = tokens::generate();
        let mut c = s.client("tv").await.unwrap().unwrap();
        c.secret_hash = Some(tokens::hash(&secret));
        s.update_client(c, None).await.unwrap();
        secret
    };
    let http = openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let discovery: Value =
        reqwest::get(format!("{}/.well-known/openid-configuration", server.base))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
    let endpoint = discovery["device_authorization_endpoint"].as_str().unwrap();
    assert_eq!(endpoint, format!("{}/device_authorization", server.base));
    assert!(
        discovery["grant_types_supported"]
            .as_array()
            .unwrap()
            .contains(&"urn:ietf:params:oauth:grant-type:device_code".into())
    );
    let metadata = openidconnect::core::CoreProviderMetadata::discover_async(
        IssuerUrl::new(server.base.clone()).unwrap(),
        &http,
    )
    .await
    .unwrap();
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("tv".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_device_authorization_url(DeviceAuthorizationUrl::new(endpoint.into()).unwrap());

    let details: CoreDeviceAuthorizationResponse = client
        .exchange_device_code()
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("offline_access".into()))
        .request_async(&http)
        .await
        .expect("device authorization");
    let code = details.user_code().secret().clone();
    assert_eq!(
        device::normalize(&code).map(|c| device::display(&c)),
        Some(code.clone())
    );
    assert_eq!(
        details.verification_uri().as_str(),
        format!("{}/device", server.base)
    );
    assert_eq!(details.interval(), Duration::from_secs(5));
    assert_eq!(details.expires_in(), Duration::from_secs(600));

    // The device polls (its first answer is "pending") while the person signs in and allows.
    let polling = {
        let (client, http, details) = (client.clone(), http.clone(), details.clone());
        tokio::spawn(async move {
            client
                .exchange_device_access_token(&details)
                .unwrap()
                .request_async(&http, tokio::time::sleep, None)
                .await
        })
    };
    let link = details
        .verification_uri_complete()
        .unwrap()
        .secret()
        .clone();
    let (browser, page) = sign_in_for(&server.base, &link, "ada").await;
    assert!(page.contains("Sign in on your device?"), "{page}");
    assert!(
        page.contains(&code),
        "the page shows the code to compare: {page}"
    );
    assert!(page.contains("See your name and username"), "{page}");
    let version = s.client_logo_version("tv").await.unwrap().unwrap();
    assert!(
        page.contains(&format!("/clients/tv/logo?v={version}")),
        "the page shows the application's logo: {page}"
    );
    let (status, done) = answer(&browser, &server.base, &page, "allow").await;
    assert_eq!(status, 200, "{done}");
    assert!(done.contains("Your device is signed in"), "{done}");

    let tokens = tokio::time::timeout(Duration::from_secs(30), polling)
        .await
        .expect("the device got its tokens within a few polls")
        .unwrap()
        .expect("device token");
    let id_token = tokens.id_token().expect("an ID token for openid");
    let verifier: CoreIdTokenVerifier = client.id_token_verifier();
    let claims = id_token
        .claims(&verifier, |_: Option<&Nonce>| Ok(()))
        .expect("the ID token verifies");
    assert_eq!(claims.subject().as_str(), ada.id);
    assert_eq!(claims.preferred_username().unwrap().as_str(), "ada");
    // The access token works, and the refresh token outlives the browser session: signing out
    // on the phone does not sign the television out.
    let userinfo = reqwest::Client::new()
        .get(format!("{}/userinfo", server.base))
        .bearer_auth(tokens.access_token().secret())
        .send()
        .await
        .unwrap();
    assert_eq!(userinfo.status(), 200);
    let session_cookie = browser
        .http
        .get(format!("{}/logout", server.base))
        .send()
        .await
        .unwrap();
    let logout_page = session_cookie.text().await.unwrap();
    let r = browser
        .http
        .post(format!("{}/logout", server.base))
        .form(&[
            ("csrf", hidden_input(&logout_page, "csrf").as_str()),
            ("request", &hidden_input(&logout_page, "request")),
            ("confirm", "yes"),
        ])
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "signed out: {}", r.status());
    let refreshed = client
        .exchange_refresh_token(&RefreshToken::new(
            tokens.refresh_token().unwrap().secret().clone(),
        ))
        .unwrap()
        .request_async(&http)
        .await
        .expect("the device refreshes after the person signed out in the browser");
    assert!(!refreshed.access_token().secret().is_empty());

    // Allowing a third-party application for a device is remembered consent, and audited.
    let consent = s.consent(&ada.id, "tv").await.unwrap();
    assert_eq!(consent.as_deref(), Some("openid profile offline_access"));
    let log = s.audit_latest(50).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.record.kind.as_str() == "device.approved"
                && e.record.subject.as_deref() == Some("ada")
                && e.record.client_id.as_deref() == Some("tv"))
    );
    // The poll that got the tokens is audited with them, from the device's address.
    assert!(log.iter().any(|e| {
        e.record.kind.as_str() == "token.issued"
            && e.record
                .detail
                .as_deref()
                .is_some_and(|d| d.starts_with("grant=device_code "))
            && e.record.ip.as_deref() == Some("127.0.0.1")
    }));
    server.stop().await;
}

async fn polling_too_fast_is_told_to_slow_down_and_the_interval_grows(db: Database) {
    let server = TestServer::start_on(db).await;
    tv(server.store.as_ref()).await;
    let codes = start(&server.base, "tv", "openid").await;
    let device_code = codes["device_code"].as_str().unwrap();
    let first = poll(&server.base, "tv", device_code).await;
    assert_eq!((first.0, error_of(&first)), (400, "authorization_pending"));
    let second = poll(&server.base, "tv", device_code).await;
    assert_eq!((second.0, error_of(&second)), (400, "slow_down"));
    assert!(
        second.1["error_description"]
            .as_str()
            .unwrap()
            .contains("10 seconds"),
        "{}",
        second.1
    );
    let third = poll(&server.base, "tv", device_code).await;
    assert_eq!(error_of(&third), "slow_down");
    assert!(
        third.1["error_description"]
            .as_str()
            .unwrap()
            .contains("15 seconds")
    );
    server.stop().await;
}

async fn a_refused_device_is_told_so_once_and_its_code_is_gone(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    tv(s).await;
    let codes = start(&server.base, "tv", "openid").await;
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let (browser, page) = sign_in_for(&server.base, link, "ada").await;
    let (status, done) = answer(&browser, &server.base, &page, "deny").await;
    assert_eq!(status, 200);
    assert!(done.contains("The device was not signed in"), "{done}");
    let device_code = codes["device_code"].as_str().unwrap();
    assert_eq!(
        error_of(&poll(&server.base, "tv", device_code).await),
        "access_denied"
    );
    assert_eq!(
        error_of(&poll(&server.base, "tv", device_code).await),
        "invalid_grant"
    );
    // The same answer form again changes nothing.
    let (status, again) = answer(&browser, &server.base, &page, "allow").await;
    assert_eq!(status, 400);
    assert!(again.contains("This code can no longer be used"), "{again}");
    let log = s.audit_latest(50).await.unwrap();
    assert!(
        log.iter()
            .any(|e| e.record.kind.as_str() == "device.denied")
    );
    server.stop().await;
}

/// The device's login form switched to another language comes back for the same code, with
/// the username typed and "Keep me signed in" ticked, and without the password.
async fn the_device_login_form_switched_to_german_keeps_what_was_typed(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    tv(s).await;
    let codes = start(&server.base, "tv", "openid").await;
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let browser = Browser::default();
    let page = browser.http.get(link).send().await.unwrap();
    let html = page.text().await.unwrap();
    let user_code = hidden_input(&html, "user_code");
    let r = browser
        .http
        .post(format!("{}/login", server.base))
        .form(&[
            ("username", "ada"),
            ("password", "half-typed secret"),
            ("keep", "1"),
            ("language", "de"),
            ("csrf", &hidden_input(&html, "csrf")),
            ("flow", &hidden_input(&html, "flow")),
            ("user_code", &user_code),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let german = r.text().await.unwrap();
    assert!(german.contains("<h1>Anmelden</h1>"), "{german}");
    assert_eq!(hidden_input(&german, "user_code"), user_code);
    assert!(german.contains(r#"required value="ada""#), "{german}");
    assert!(
        german.contains(r#"name="keep" value="1" checked>"#),
        "{german}"
    );
    assert!(!german.contains("half-typed secret"), "{german}");
    server.stop().await;
}

async fn another_clients_device_code_and_bad_requests_are_refused(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    tv(s).await;
    add_public_client(s, "radio").await;
    allow_devices(s, "radio").await;
    add_public_client(s, "spa").await;
    let codes = start(&server.base, "tv", "openid").await;
    let device_code = codes["device_code"].as_str().unwrap();

    // Another client presenting tv's code learns nothing, and tv's code still works after.
    let stolen = poll(&server.base, "radio", device_code).await;
    assert_eq!((stolen.0, error_of(&stolen)), (400, "invalid_grant"));
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let (browser, page) = sign_in_for(&server.base, link, "ada").await;
    assert_eq!(answer(&browser, &server.base, &page, "allow").await.0, 200);
    assert_eq!(
        error_of(&poll(&server.base, "radio", device_code).await),
        "invalid_grant"
    );
    // A poll naming an API is refused (the device request names them), and uses nothing up;
    // so is a device request naming an API tv is not registered with.
    let named = post(
        &server.base,
        "/token",
        &[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "tv"),
            ("device_code", device_code),
            ("resource", "https://api.example/"),
        ],
    )
    .await;
    assert_eq!((named.0, error_of(&named)), (400, "invalid_target"));
    let unregistered = post(
        &server.base,
        "/device_authorization",
        &[
            ("client_id", "tv"),
            ("scope", "openid"),
            ("resource", "https://api.example/"),
        ],
    )
    .await;
    assert_eq!(
        (unregistered.0, error_of(&unregistered)),
        (400, "invalid_target")
    );
    let mine = poll(&server.base, "tv", device_code).await;
    assert_eq!(mine.0, 200, "{}", mine.1);
    assert!(mine.1["refresh_token"].is_string());

    /// Where, what, and the status and error it gets.
    type Refusal<'a> = (&'a str, &'a [(&'a str, &'a str)], u16, &'a str);
    let refusals: &[Refusal] = &[
        // A client not registered for the grant.
        (
            "/device_authorization",
            &[("client_id", "spa"), ("scope", "openid")],
            400,
            "unauthorized_client",
        ),
        (
            "/device_authorization",
            &[("client_id", "nobody"), ("scope", "openid")],
            401,
            "invalid_client",
        ),
        (
            "/device_authorization",
            &[("client_id", "tv"), ("scope", "openid admin")],
            400,
            "invalid_scope",
        ),
        (
            "/device_authorization",
            &[("client_id", "tv")],
            400,
            "invalid_scope",
        ),
        (
            "/device_authorization",
            &[("client_id", "tv"), ("scope", "openid"), ("scope", "email")],
            400,
            "invalid_request",
        ),
        (
            "/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", "tv"),
            ],
            400,
            "invalid_request",
        ),
        (
            "/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", "tv"),
                ("device_code", "not-a-code"),
            ],
            400,
            "invalid_grant",
        ),
        (
            "/token",
            &[
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("client_id", "spa"),
                ("device_code", "x"),
            ],
            400,
            "unauthorized_client",
        ),
    ];
    for (path, form, status, error) in refusals {
        let got = post(&server.base, path, form).await;
        assert_eq!(
            (got.0, error_of(&got)),
            (*status, *error),
            "{path} {form:?}: {}",
            got.1
        );
    }
    let huge = "A".repeat(70_000);
    let r = reqwest::Client::new()
        .post(format!("{}/device_authorization", server.base))
        .form(&[("client_id", "tv"), ("scope", huge.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        413,
        "an oversized request is refused before it is read"
    );
    server.stop().await;
}

async fn guessing_user_codes_is_throttled_like_passwords(db: Database) {
    // Locked out after 3 failures, as the operator set it for passwords.
    let server = TestServer::start_with(db, |a| a.login_lockout_after = 3).await;
    let s = server.store.as_ref();
    add_user(s, "mallory").await;
    tv(s).await;
    let codes = start(&server.base, "tv", "openid").await;
    let real = codes["user_code"].as_str().unwrap().to_owned();
    let verification = format!("{}/device", server.base);
    let (browser, _) = sign_in_for(&server.base, &verification, "mallory").await;
    // A burst of guesses in parallel: only as many as the policy allows are looked up.
    let mut burst = Vec::new();
    for i in 0..24 {
        let (http, base) = (browser.http.clone(), server.base.clone());
        let guess = format!("BCDF-GH{}", ["JK", "JL", "JM", "JN", "JP", "JQ"][i % 6]);
        burst.push(tokio::spawn(async move {
            enter(&Browser { http }, &base, &guess).await
        }));
    }
    let (mut looked_up, mut throttled) = (0, 0);
    for t in burst {
        let (status, html) = t.await.unwrap();
        match status {
            400 => {
                assert!(html.contains("That code is not valid"), "{html}");
                looked_up += 1;
            }
            429 => {
                assert!(html.contains("Too many wrong codes"), "{html}");
                throttled += 1;
            }
            other => panic!("a guess got {other}: {html}"),
        }
    }
    assert_eq!((looked_up, throttled), (3, 21));
    // Now even the right code waits: the guesser cannot tell it from a wrong one.
    let (status, html) = enter(&browser, &server.base, &real).await;
    assert_eq!(status, 429, "{html}");
    // Their own lockout, which an administrator can lift: they are told they may ask.
    assert!(
        html.contains("Try again in 15 minutes, or ask an administrator to let you try sooner."),
        "{html}"
    );
    // The lockout is the guesser's own: another person at another address is not held up.
    // (Here both come from 127.0.0.1, whose count is far from its own limit.)
    add_user(s, "ada").await;
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let (_, page) = sign_in_for(&server.base, link, "ada").await;
    assert!(page.contains("Sign in on your device?"), "{page}");
    // A mangled link still gets the page, with what it carried.
    let mangled = browser
        .http
        .get(format!("{}/device?user_code=%ZZ%&user_code=x", server.base))
        .send()
        .await
        .unwrap();
    assert_eq!(mangled.status(), 200);
    assert!(mangled.text().await.unwrap().contains("Connect a device"));
    // What cannot be a code is refused without a lookup.
    let (status, html) = enter(&browser, &server.base, "not a code").await;
    assert_eq!(status, 400);
    assert!(html.contains("That is not a device code"), "{html}");
    server.stop().await;
}

async fn an_answer_needs_the_session_its_form_was_shown_to(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    add_user(s, "mallory").await;
    tv(s).await;
    let codes = start(&server.base, "tv", "openid").await;
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let (_, adas_page) = sign_in_for(&server.base, link, "ada").await;
    // Mallory, signed in herself, posts the form ada was shown: refused, nothing recorded.
    let (mallory, _) =
        sign_in_for(&server.base, &format!("{}/device", server.base), "mallory").await;
    let (status, html) = answer(&mallory, &server.base, &adas_page, "allow").await;
    assert_eq!(status, 400);
    assert!(html.contains("This form has expired"), "{html}");
    // And without any session or token.
    let (status, _) = answer(&Browser::default(), &server.base, &adas_page, "allow").await;
    assert_eq!(status, 400);
    let device_code = codes["device_code"].as_str().unwrap();
    assert_eq!(
        error_of(&poll(&server.base, "tv", device_code).await),
        "authorization_pending"
    );
    server.stop().await;
}

async fn racing_polls_after_approval_get_one_set_of_tokens(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    tv(s).await;
    let codes = start(&server.base, "tv", "openid offline_access").await;
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let (browser, page) = sign_in_for(&server.base, link, "ada").await;
    assert_eq!(answer(&browser, &server.base, &page, "allow").await.0, 200);
    let device_code = codes["device_code"].as_str().unwrap().to_owned();
    let mut racers = Vec::new();
    for _ in 0..12 {
        let (base, code) = (server.base.clone(), device_code.clone());
        racers.push(tokio::spawn(async move { poll(&base, "tv", &code).await }));
    }
    let mut issued = 0;
    for r in racers {
        let answer = r.await.unwrap();
        match answer.0 {
            200 => issued += 1,
            _ => assert_eq!(error_of(&answer), "invalid_grant", "{}", answer.1),
        }
    }
    assert_eq!(issued, 1, "one device code, one set of tokens");
    server.stop().await;
}

/// A device's application that requires a confirmed address: a person whose address is not
/// confirmed cannot allow it (on a page shown before the rule either), and can once it is.
async fn a_device_app_that_requires_a_confirmed_address_waits_for_it(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    tv(s).await;
    let codes = start(&server.base, "tv", "openid").await;
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let user_code = codes["user_code"].as_str().unwrap();
    let device_code = codes["device_code"].as_str().unwrap();
    let (browser, page) = sign_in_for(&server.base, link, "ada").await;
    assert!(page.contains("Sign in on your device?"), "{page}");

    // The application comes to require a confirmed address while the page is open.
    let mut c = s.client("tv").await.unwrap().unwrap();
    c.require_confirmed_address = true;
    s.update_client(c, None).await.unwrap();
    let told = "tv needs your email address confirmed first. Confirm it from your account page, \
                then enter the code again.";
    let (status, html) = answer(&browser, &server.base, &page, "allow").await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains(told), "{html}");
    let (status, html) = enter(&browser, &server.base, user_code).await;
    assert_eq!(status, 403, "{html}");
    assert!(html.contains(told), "{html}");
    assert_eq!(
        error_of(&poll(&server.base, "tv", device_code).await),
        "authorization_pending"
    );

    // Confirmed, she allows it and the device gets its tokens.
    let codes = (user_code, device_code);
    allowed_once_confirmed(&server, &browser, ("ada", "ada@example.com"), codes).await;
}

/// `username`'s address `email` confirmed, the signed-in `browser` enters the user code again
/// and allows the device, which then gets its tokens with the device code.
async fn allowed_once_confirmed(
    server: &TestServer,
    browser: &Browser,
    (username, email): (&str, &str),
    (user_code, device_code): (&str, &str),
) {
    let confirmed = gatehouse::model::UserChange::SetEmail {
        email: email.into(),
        verified: true,
    };
    let s = server.store.as_ref();
    s.update_user(username, confirmed, 0, None).await.unwrap();
    let (status, page) = enter(browser, &server.base, user_code).await;
    assert_eq!(status, 200, "{page}");
    let (status, html) = answer(browser, &server.base, &page, "allow").await;
    assert_eq!(status, 200, "{html}");
    let (status, body) = poll(&server.base, "tv", device_code).await;
    assert_eq!(status, 200, "{body}");
    assert!(body["access_token"].is_string(), "{body}");
}

/// A person whose account a sign-up link for some domains made cannot allow a device's
/// application, which requires nothing itself, until their address there is confirmed.
async fn an_account_made_for_a_domain_allows_a_device_once_confirmed_there(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    let ada = add_user(s, "ada").await;
    tv(s).await;
    let spec = gatehouse::auth::signup::LinkSpec {
        uses: 1,
        days: 1,
        note: String::new(),
        groups: Vec::new(),
        domains: vec!["corp.example".into()],
    };
    let admin = gatehouse::admin::Admin::new(s, "cli", None, 0);
    let (secret, _) = admin.make_signup_link(spec).await.unwrap();
    let carol = gatehouse::model::User {
        id: tokens::new_id(),
        username: "carol".into(),
        email: "carol@corp.example".into(),
        ..ada
    };
    let record =
        gatehouse::model::AuditRecord::new(0, gatehouse::model::AuditKind::SignedUp, "user:carol");
    let made = s
        .sign_up(&tokens::hash(&secret), carol, None, 0, record)
        .await;
    assert_eq!(made.unwrap(), gatehouse::model::SignedUp::Done);

    let codes = start(&server.base, "tv", "openid").await;
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let user_code = codes["user_code"].as_str().unwrap();
    let device_code = codes["device_code"].as_str().unwrap();
    let (browser, status, html) = signed_in_for(&server.base, link, "carol").await;
    assert_eq!(status, 403, "{html}");
    assert!(
        html.contains("tv needs your email address confirmed first"),
        "{html}"
    );
    assert!(!html.contains("Sign in on your device?"), "{html}");
    assert_eq!(
        error_of(&poll(&server.base, "tv", device_code).await),
        "authorization_pending"
    );

    let codes = (user_code, device_code);
    allowed_once_confirmed(&server, &browser, ("carol", "carol@corp.example"), codes).await;
}

async fn a_person_outside_the_clients_groups_cannot_allow_it(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    tv(s).await;
    s.create_group(
        gatehouse::model::Group {
            id: tokens::new_id(),
            name: "staff".into(),
            description: None,
            created_at: 0,
            auth_policy: Default::default(),
        },
        None,
    )
    .await
    .unwrap();
    s.set_client_access("tv", vec!["staff".into()], None)
        .await
        .unwrap();
    let codes = start(&server.base, "tv", "openid").await;
    let browser = Browser::default();
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let page = browser
        .http
        .get(link)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let r = browser
        .http
        .post(format!("{}/login", server.base))
        .form(&[
            ("username", "ada"),
            ("password", PASSWORD),
            ("csrf", &hidden_input(&page, "csrf")),
            ("flow", "device"),
            ("user_code", &hidden_input(&page, "user_code")),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        r.text()
            .await
            .unwrap()
            .replace("&#39;", "'")
            .contains("You don't have access to tv")
    );
    let device_code = codes["device_code"].as_str().unwrap();
    assert_eq!(
        error_of(&poll(&server.base, "tv", device_code).await),
        "authorization_pending"
    );
    server.stop().await;
}

/// Each start stores a request for ten minutes, and a public client's id is no secret: one
/// address gets a burst of 10, then waits. Refused requests store nothing and do not count.
async fn one_address_starting_device_sign_ins_in_a_burst_is_told_to_wait(db: Database) {
    let server = TestServer::start_on(db).await;
    tv(server.store.as_ref()).await;
    for _ in 0..5 {
        let (status, body) = post(
            &server.base,
            "/device_authorization",
            &[("client_id", "tv"), ("scope", "openid root")],
        )
        .await;
        assert_eq!(
            (status, body["error"].as_str()),
            (400, Some("invalid_scope"))
        );
    }
    let burst: Vec<_> = (0..16)
        .map(|_| {
            let base = server.base.clone();
            tokio::spawn(async move {
                reqwest::Client::new()
                    .post(format!("{base}/device_authorization"))
                    .form(&[("client_id", "tv"), ("scope", "openid")])
                    .send()
                    .await
                    .unwrap()
            })
        })
        .collect();
    let mut user_codes = std::collections::HashSet::new();
    let mut device_codes = Vec::new();
    let mut waits = 0;
    for r in burst {
        let r = r.await.unwrap();
        match r.status().as_u16() {
            200 => {
                let body: Value = r.json().await.unwrap();
                user_codes.insert(body["user_code"].as_str().unwrap().to_owned());
                device_codes.push(body["device_code"].as_str().unwrap().to_owned());
            }
            429 => {
                let retry_after: u64 = r.headers()["retry-after"]
                    .to_str()
                    .unwrap()
                    .parse()
                    .unwrap();
                assert!((1..=6).contains(&retry_after), "Retry-After: {retry_after}");
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["error"], "slow_down");
                waits += 1;
            }
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!((user_codes.len(), waits), (10, 6));
    // Polling is not starting: a device given its codes polls as usual.
    let device_code = device_codes[0].clone();
    let polled = poll(&server.base, "tv", &device_code).await;
    assert_eq!(
        (polled.0, error_of(&polled)),
        (400, "authorization_pending")
    );
}

/// A device's application that requires two factors: the person, signed in with a password
/// alone, is sent to sign in again for it, enrols an authenticator app after the password, and
/// comes back to the device's code; the device's ID token says how they signed in.
async fn a_device_app_that_requires_two_factors_has_the_person_enrol_one(db: Database) {
    let server = TestServer::start_on(db).await;
    let base = server.base.as_str();
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    tv(s).await;
    let mut c = s.client("tv").await.unwrap().unwrap();
    c.auth_policy = gatehouse::model::AuthPolicy::TwoFactor;
    s.update_client(c, None).await.unwrap();
    let codes = start(base, "tv", "openid").await;
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let device_code = codes["device_code"].as_str().unwrap();

    // Signed in with a password: not enough for this application.
    let (browser, html) = sign_in_for(base, link, "ada").await;
    assert!(
        html.contains("asks for two-step verification. Sign in again"),
        "{html}"
    );
    assert_eq!(hidden_input(&html, "require"), "two_factor");
    let r = browser
        .http
        .post(format!("{base}/login"))
        .form(&[
            ("username", "ada"),
            ("password", PASSWORD),
            ("csrf", &hidden_input(&html, "csrf")),
            ("flow", "device"),
            ("user_code", &hidden_input(&html, "user_code")),
            ("require", "two_factor"),
        ])
        .send()
        .await
        .unwrap();
    let enrol = r.text().await.unwrap();
    assert!(enrol.contains("Set up two-step verification"), "{enrol}");
    let secret = gatehouse::auth::totp::secret_from_text(&hidden_input(&enrol, "secret")).unwrap();
    let now = gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock);
    let fields = ["csrf", "username", "secret", "flow", "user_code", "require"]
        .map(|n| (n, hidden_input(&enrol, n)));
    let mut form: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let code = gatehouse::auth::totp::code_at(&secret, now);
    form.push(("code", &code));
    let r = browser
        .http
        .post(format!("{base}/enrol"))
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let saved = r.text().await.unwrap();
    assert!(saved.contains("Save your recovery codes"), "{saved}");
    let shown = codes["user_code"].as_str().unwrap();
    assert!(
        saved.contains(&format!("href=\"device?user_code={shown}\"")),
        "{saved}"
    );
    // Back to the code, now with two factors: the device may be allowed.
    let (status, confirm) = enter(&browser, base, shown).await;
    assert_eq!(status, 200, "{confirm}");
    assert!(confirm.contains("Sign in on your device?"), "{confirm}");
    let (status, _) = answer(&browser, base, &confirm, "allow").await;
    assert_eq!(status, 200);
    let (status, tokens) = poll(base, "tv", device_code).await;
    assert_eq!(status, 200, "{tokens}");
    let id_token = tokens["id_token"].as_str().unwrap();
    let claims: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            id_token.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(claims["acr"], "two_factor");
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
}

/// A device request naming an API the device's application is registered with: the page that
/// asks the person to allow the device names it, and the device gets its token once allowed.
async fn the_device_page_names_the_apis_the_request_is_for(db: Database) {
    let server = TestServer::start_on(db).await;
    let s = server.store.as_ref();
    add_user(s, "ada").await;
    tv(s).await;
    let mut c = s.client("tv").await.unwrap().unwrap();
    c.resources = vec!["https://api.example/".into(), "urn:example:other".into()];
    s.update_client(c, None).await.unwrap();
    let base = &server.base;
    let (status, codes) = post(
        base,
        "/device_authorization",
        &[
            ("client_id", "tv"),
            ("scope", "openid"),
            ("resource", "https://api.example/"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{codes}");
    let link = codes["verification_uri_complete"].as_str().unwrap();
    let (browser, page) = sign_in_for(base, link, "ada").await;
    assert!(page.contains("Sign in on your device?"), "{page}");
    let listed = page
        .find("And act for you at these services:")
        .expect(&page);
    assert!(
        page[listed..].contains("<code>https://api.example/</code>"),
        "{page}"
    );
    assert!(
        !page.contains("urn:example:other"),
        "only what it names: {page}"
    );
    let (status, _) = answer(&browser, base, &page, "allow").await;
    assert_eq!(status, 200);
    let device_code = codes["device_code"].as_str().unwrap();
    let tokens = poll(base, "tv", device_code).await;
    assert_eq!(tokens.0, 200, "{}", tokens.1);
    server.stop().await;
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    the_device_page_names_the_apis_the_request_is_for,
    a_device_app_that_requires_two_factors_has_the_person_enrol_one,
    a_device_signs_in_with_a_real_client_once_the_person_allows_it,
    polling_too_fast_is_told_to_slow_down_and_the_interval_grows,
    a_refused_device_is_told_so_once_and_its_code_is_gone,
    the_device_login_form_switched_to_german_keeps_what_was_typed,
    another_clients_device_code_and_bad_requests_are_refused,
    guessing_user_codes_is_throttled_like_passwords,
    an_answer_needs_the_session_its_form_was_shown_to,
    racing_polls_after_approval_get_one_set_of_tokens,
    a_person_outside_the_clients_groups_cannot_allow_it,
    a_device_app_that_requires_a_confirmed_address_waits_for_it,
    an_account_made_for_a_domain_allows_a_device_once_confirmed_there,
    one_address_starting_device_sign_ins_in_a_burst_is_told_to_wait,
);

/// Expiry, with a fixed clock: the device is told its code expired, and the person can no
/// longer look it up or answer it.
#[tokio::test]
async fn an_expired_device_code_is_told_so_and_cannot_be_answered() {
    use common::oneshot::*;
    let f = fixture().await;
    let s = f.state.store.as_ref();
    allow_devices(s, "spa").await;
    let r = send(
        &f,
        form("/device_authorization")
            .body(encode(&[("client_id", "spa"), ("scope", "openid")]).into())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), 200);
    let codes = json(r).await;
    let device_code = codes["device_code"].as_str().unwrap().to_owned();
    let user_code = device::normalize(codes["user_code"].as_str().unwrap()).unwrap();
    let poll = |f: &Fixture| {
        let body = encode(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", "spa"),
            ("device_code", &device_code),
        ]);
        let req = form("/token").body(axum::body::Body::from(body)).unwrap();
        let f_state = f.state.clone();
        async move { json(gatehouse::app(f_state).oneshot(req).await.unwrap()).await }
    };
    assert_eq!(poll(&f).await["error"], "authorization_pending");
    f.clock.advance(600);
    assert_eq!(poll(&f).await["error"], "expired_token");
    let hash = tokens::hash(&user_code);
    let now = T0 + 600;
    assert!(
        s.pending_device_authorization(&hash, now)
            .await
            .unwrap()
            .is_none()
    );
    let ada = user(s, "ada").await;
    let approved = DeviceAnswer::Approved {
        user_id: ada.id.clone(),
        auth_time: now,
        amr: gatehouse::model::Amr::PASSWORD,
    };
    let consent = gatehouse::model::Consent {
        client_id: "spa".into(),
        scope: "openid".into(),
        granted_at: now,
    };
    let record = gatehouse::model::AuditRecord::new(
        now,
        gatehouse::model::AuditKind::DeviceApproved,
        format!("user:{}", ada.id),
    );
    let before = s.audit_latest(1).await.unwrap();
    assert!(
        !s.answer_device_authorization(&hash, approved, Some(consent), record, now)
            .await
            .unwrap()
    );
    // Nothing was answered, so nothing was allowed or recorded.
    assert!(s.consents(&ada.id).await.unwrap().is_empty());
    assert_eq!(s.audit_latest(1).await.unwrap(), before);
    // The sweep removes it; then the code is simply unknown.
    s.purge_expired(now).await.unwrap();
    assert_eq!(poll(&f).await["error"], "invalid_grant");
}

use tower::ServiceExt as _;
