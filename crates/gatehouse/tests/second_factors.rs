//! Second factors, through the router with a fixed clock, as a person and as an attacker would
//! try them: an authenticator app's code after the password, once; recovery codes, once each;
//! enrolling an app where a client or a group requires one; sessions that proved less signing in
//! again; bursts of the same code; guessing; another person's step form.

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
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::backend::Database;
use common::oneshot::*;
use common::{PASSWORD, REDIRECT, add_user, hidden_input, user};
use gatehouse::auth::{recovery, totp};
use gatehouse::model::{AuditKind, AuditRecord, AuthPolicy, TotpFactor, User};
use serde_json::Value;

fn claims_of(token: &str) -> Value {
    serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(token.split('.').nth(1).unwrap())
            .unwrap(),
    )
    .unwrap()
}

fn record(user: &User) -> AuditRecord {
    AuditRecord::new(T0, AuditKind::TotpEnrolled, format!("user:{}", user.id))
}

/// Enrols an authenticator app for `user` straight in the store, with `codes` as recovery
/// codes; returns its secret.
async fn enrol(f: &Fixture, user: &User, codes: &[&str]) -> Vec<u8> {
    let secret = totp::new_secret();
    let factor = TotpFactor {
        user_id: user.id.clone(),
        secret: secret.clone(),
        created_at: T0,
        last_step: None,
    };
    let hashes = codes.iter().map(|c| recovery::hash(c).unwrap()).collect();
    assert!(
        f.state
            .store
            .enrol_totp(factor, hashes, record(user))
            .await
            .unwrap()
    );
    secret
}

async fn ada(f: &Fixture) -> User {
    user(&*f.state.store, "ada").await
}

/// A page of a sign-in step and the cookies the browser holds on it.
struct Step {
    html: String,
    cookies: String,
    status: StatusCode,
}

async fn step(r: Response, cookies: &str) -> Step {
    let status = r.status();
    let mut jar = cookies.to_owned();
    let set = common::oneshot::cookies(&r);
    if !set.is_empty() {
        jar = format!("{jar}; {set}");
    }
    Step {
        html: body_text(r).await,
        cookies: jar,
        status,
    }
}

/// The password, through the login form of `authorize`: the next step's page.
async fn password(f: &Fixture, authorize: &str, username: &str) -> Step {
    password_keeping(f, authorize, username, false).await
}

/// As [`password`], with "Keep me signed in" ticked or not.
async fn password_keeping(f: &Fixture, authorize: &str, username: &str, keep: bool) -> Step {
    let page = send(f, get(authorize)).await;
    assert_eq!(page.status(), StatusCode::OK);
    let cookies = common::oneshot::cookies(&page);
    let html = body_text(page).await;
    let body = encode(&[
        ("username", username),
        ("password", PASSWORD),
        ("csrf", &hidden_input(&html, "csrf")),
        ("request", &hidden_input(&html, "request")),
        ("keep", if keep { "1" } else { "" }),
    ]);
    let r = send(
        f,
        form("/login")
            .header(header::COOKIE, &cookies)
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert!(
        r.headers()
            .get(header::SET_COOKIE)
            .is_none_or(|c| !c.to_str().unwrap().starts_with("gatehouse_session=")),
        "no session before the second step"
    );
    step(r, &cookies).await
}

/// Posts a step's form (`/verify` or `/enrol`) with `code`, and `changes` to its fields.
async fn submit(
    f: &Fixture,
    page: &Step,
    action: &str,
    code: &str,
    changes: &[(&str, &str)],
) -> Response {
    let mut fields: Vec<(&str, String)> = ["csrf", "request", "username"]
        .into_iter()
        .map(|n| (n, hidden_input(&page.html, n)))
        .collect();
    if action == "/enrol" {
        fields.push(("secret", hidden_input(&page.html, "secret")));
    }
    fields.push(("code", code.to_owned()));
    for (name, value) in changes {
        fields.retain(|(n, _)| n != name);
        fields.push((name, (*value).to_owned()));
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    send(
        f,
        form(action)
            .header(header::COOKIE, &page.cookies)
            .body(Body::from(encode(&pairs)))
            .unwrap(),
    )
    .await
}

fn has_session(r: &Response) -> bool {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .any(|c| c.to_str().unwrap().starts_with("gatehouse_session="))
}

async fn id_token_for(f: &Fixture, code: &str) -> Value {
    let tokens = json(exchange(f, code, CHALLENGE_VERIFIER, REDIRECT).await).await;
    claims_of(tokens["id_token"].as_str().expect("an ID token"))
}

async fn kinds(f: &Fixture) -> Vec<AuditKind> {
    f.state
        .store
        .audit_latest(100)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.record.kind)
        .collect()
}

async fn an_app_code_completes_the_sign_in_once(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    let secret = enrol(&f, &user, &[]).await;

    let page = password(&f, &authorize_uri("web", ""), "ada").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Two-step verification"), "{}", page.html);
    assert!(page.html.contains("recovery codes"));

    // A wrong code: the page again, saying so, and no session.
    let wrong = submit(&f, &page, "/verify", "000000", &[]).await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    assert!(!has_session(&wrong));
    assert!(body_text(wrong).await.contains("That code is not right"));

    // The app's code: signed in, with a code for the client.
    let now = totp::code_at(&secret, T0);
    let done = submit(&f, &page, "/verify", &now, &[]).await;
    assert!(has_session(&done));
    let code = location(&done)["code"].clone();
    let claims = id_token_for(&f, &code).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd", "otp", "mfa"]));
    assert_eq!(claims["acr"], "two_factor");

    // The same code again, in a second sign-in: refused (RFC 6238 §5.2), as is the code of
    // the step before.
    let again = password(&f, &authorize_uri("web", "&prompt=login"), "ada").await;
    let replayed = submit(&f, &again, "/verify", &now, &[]).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    let earlier = totp::code_at(&secret, T0 - 30);
    let older = submit(&f, &again, "/verify", &earlier, &[]).await;
    assert_eq!(older.status(), StatusCode::UNAUTHORIZED);
    // The next step's code works.
    f.clock.advance(30);
    let next = totp::code_at(&secret, T0 + 30);
    let done = submit(&f, &again, "/verify", &next, &[]).await;
    assert!(location(&done).contains_key("code"));

    let kinds = kinds(&f).await;
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == AuditKind::SecondFactorFailed)
            .count(),
        3
    );
}

/// "Keep me signed in", ticked with the password, is carried by the second step's form: the
/// session its code opens is kept.
async fn keep_me_signed_in_lasts_through_the_second_step(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    let secret = enrol(&f, &user, &[]).await;
    let (kept, _) = f.state.config.session_lifetime(true);
    let page = password_keeping(&f, &authorize_uri("web", ""), "ada", true).await;
    let carried = hidden_input(&page.html, "keep");
    assert_eq!(carried, "1", "the step's form carries the choice");
    let code = totp::code_at(&secret, T0);
    let done = submit(&f, &page, "/verify", &code, &[("keep", &carried)]).await;
    assert_eq!(session_max_age(&done), kept);
    // Unticked, the step's form carries nothing and the session is an ordinary one.
    f.clock.advance(30);
    let page = password_keeping(&f, &authorize_uri("web", "&prompt=login"), "ada", false).await;
    assert!(!page.html.contains(r#"name="keep""#), "{}", page.html);
    let code = totp::code_at(&secret, T0 + 30);
    let done = submit(&f, &page, "/verify", &code, &[]).await;
    assert_eq!(session_max_age(&done), f.state.config.session_ttl);
}

async fn a_burst_of_one_code_signs_in_once(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    let secret = enrol(&f, &user, &["abcd-efgh-jkmn-pqrs"]).await;
    let page = password(&f, &authorize_uri("web", ""), "ada").await;
    let code = totp::code_at(&secret, T0);
    let results = futures_all(&f, &page, &code).await;
    // One wins; the others are refused as used, or held back by the throttle once the
    // refusals count up.
    let refused = [StatusCode::UNAUTHORIZED, StatusCode::TOO_MANY_REQUESTS];
    let won = |r: &[StatusCode]| r.iter().filter(|s| **s == StatusCode::SEE_OTHER).count();
    assert_eq!(won(&results), 1, "{results:?}");
    assert!(
        results
            .iter()
            .all(|s| *s == StatusCode::SEE_OTHER || refused.contains(s)),
        "{results:?}"
    );
    // A recovery code too: one use in a burst (an hour later, the refusals forgotten).
    f.clock.advance(3601);
    let page = password(&f, &authorize_uri("web", "&prompt=login"), "ada").await;
    let results = futures_all(&f, &page, "ABCD EFGH JKMN PQRS").await;
    assert_eq!(won(&results), 1, "{results:?}");
    let left = f.state.store.factors(&user.id).await.unwrap();
    assert_eq!(left.recovery_codes_left, 0);
    // And its person is told of it once, by the transaction that spent it.
    let told = "SELECT count(*) FROM security_notice WHERE kind = 'recovery_code_used'";
    assert_eq!(f.db.count(told).await, 1);
}

/// Sends the step form with `code` eight times at once; the statuses.
async fn futures_all(f: &Fixture, page: &Step, code: &str) -> Vec<StatusCode> {
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let req = {
            let mut fields: Vec<(&str, String)> = ["csrf", "request", "username"]
                .into_iter()
                .map(|n| (n, hidden_input(&page.html, n)))
                .collect();
            fields.push(("code", code.to_owned()));
            let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            form("/verify")
                .header(header::COOKIE, &page.cookies)
                .body(Body::from(encode(&pairs)))
                .unwrap()
        };
        let app = gatehouse::app(f.state.clone());
        set.spawn(async move {
            use tower::ServiceExt as _;
            app.oneshot(req).await.unwrap().status()
        });
    }
    set.join_all().await
}

async fn a_recovery_code_signs_in_once_however_it_is_typed(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    enrol(&f, &user, &["abcd-efgh-jkmn-pqrs", "2345-6789-abcd-efgh"]).await;
    let page = password(&f, &authorize_uri("web", ""), "ada").await;
    let done = submit(&f, &page, "/verify", " ABCD EFGH JKMN PQRS ", &[]).await;
    let claims = id_token_for(&f, &location(&done)["code"]).await;
    assert_eq!(claims["acr"], "two_factor");
    assert_eq!(
        f.state
            .store
            .factors(&user.id)
            .await
            .unwrap()
            .recovery_codes_left,
        1
    );
    // Spent: refused the second time; a made-up one too.
    let again = password(&f, &authorize_uri("web", "&prompt=login"), "ada").await;
    for spent in ["abcd-efgh-jkmn-pqrs", "zzzz-zzzz-zzzz-zzzz"] {
        let r = submit(&f, &again, "/verify", spent, &[]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "{spent}");
        assert!(!has_session(&r));
    }
    assert!(kinds(&f).await.contains(&AuditKind::RecoveryCodeUsed));
}

async fn guessing_codes_is_slowed_then_locked(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    let secret = enrol(&f, &user, &[]).await;
    let page = password(&f, &authorize_uri("web", ""), "ada").await;
    // Four wrong codes at once: the fourth failure makes the next try wait a second, which
    // nobody needs an administrator for.
    for guess in 0..4 {
        let r = submit(&f, &page, "/verify", &format!("{guess:06}"), &[]).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "guess {guess}");
    }
    let r = submit(&f, &page, "/verify", "000004", &[]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let told = body_text(r).await;
    assert!(
        told.contains("Too many wrong codes. Try again in a second."),
        "{told}"
    );
    assert!(!told.contains("administrator"), "{told}");
    let mut statuses = Vec::new();
    for guess in 4..12 {
        f.clock.advance(61);
        let r = submit(&f, &page, "/verify", &format!("{guess:06}"), &[]).await;
        statuses.push(r.status());
    }
    assert!(
        statuses.contains(&StatusCode::TOO_MANY_REQUESTS),
        "{statuses:?}"
    );
    // Locked: even the right code is not checked now, and the person may ask to be let in.
    let now = gatehouse::clock::Clock::now(&f.clock);
    let right = totp::code_at(&secret, now);
    let r = submit(&f, &page, "/verify", &right, &[]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    let told = body_text(r).await;
    assert!(
        told.contains("minutes, or ask an administrator to let you sign in sooner."),
        "{told}"
    );
    // An administrator lets her in: the right code signs her in at once.
    let ops = gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, now);
    assert!(ops.unlock("ada").await.unwrap().forgotten);
    let r = submit(&f, &page, "/verify", &right, &[]).await;
    assert!(has_session(&r), "{}", r.status());
}

async fn a_step_form_is_bound_to_its_person_and_flow(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    let ada_secret = enrol(&f, &user, &[]).await;
    let bob = add_user(f.state.store.as_ref(), "bob").await;
    enrol(&f, &bob, &[]).await;

    // Bob knows his own password, and Ada's code (seen over her shoulder): his form, made
    // out for Ada, is refused, and nobody is signed in.
    let page = password(&f, &authorize_uri("web", ""), "bob").await;
    let code = totp::code_at(&ada_secret, T0);
    let r = submit(&f, &page, "/verify", &code, &[("username", "ada")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!has_session(&r));
    assert!(body_text(r).await.contains("This form has expired"));
    // Another request than the one the password was given for.
    let other = authorize_uri("spa", "").replace("/authorize?", "");
    let r = submit(&f, &page, "/verify", &code, &[("request", &other)]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // In another browser (without the form cookie).
    let stolen = Step {
        html: page.html.clone(),
        cookies: String::new(),
        status: page.status,
    };
    let r = submit(&f, &stolen, "/verify", &code, &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Too late: fifteen minutes after the password.
    f.clock.advance(901);
    let r = submit(&f, &page, "/verify", &code, &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    // Ada's code was not spent by any of it.
    let factor = f.state.store.totp_factor(&user.id).await.unwrap().unwrap();
    assert_eq!(factor.last_step, None);
}

/// Sets the client's authentication policy.
async fn require(f: &Fixture, client_id: &str, policy: AuthPolicy) {
    let mut c = f.state.store.client(client_id).await.unwrap().unwrap();
    c.auth_policy = policy;
    f.state.store.update_client(c, None).await.unwrap();
}

async fn a_client_that_requires_a_second_factor_has_one_enrolled_after_the_password(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    require(&f, "web", AuthPolicy::TwoFactor).await;
    let page = password(&f, &authorize_uri("web", ""), "ada").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.html.contains("Set up two-step verification"));
    assert!(page.html.contains("<svg"), "a QR code");
    let shown = hidden_input(&page.html, "secret");
    let secret = totp::secret_from_text(&shown).unwrap();

    // A wrong code: nothing stored, the same secret shown again.
    let r = submit(&f, &page, "/enrol", "123456", &[]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let again = body_text(r).await;
    assert!(again.contains("That code is not right"));
    assert_eq!(hidden_input(&again, "secret"), shown);
    assert!(!f.state.store.factors(&user.id).await.unwrap().has_app());

    // Another secret than the one shown (the form's token is bound to it).
    let mine = totp::new_secret();
    let swapped = totp::secret_text(&mine).replace(' ', "");
    let r = submit(
        &f,
        &page,
        "/enrol",
        &totp::code_at(&mine, T0),
        &[("secret", &swapped)],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!f.state.store.factors(&user.id).await.unwrap().has_app());

    // The app's first code: enrolled, signed in, recovery codes shown once, and a link on.
    let r = submit(&f, &page, "/enrol", &totp::code_at(&secret, T0), &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(has_session(&r));
    let session = common::oneshot::cookies(&r)
        .split("; ")
        .find(|c| c.starts_with("gatehouse_session="))
        .unwrap()
        .to_owned();
    let html = body_text(r).await;
    assert!(html.contains("Save your recovery codes"));
    let codes: Vec<&str> = html
        .split("<li><code>")
        .skip(1)
        .map(|s| &s[..s.find('<').unwrap()])
        .collect();
    assert_eq!(codes.len(), 10);
    let factors = f.state.store.factors(&user.id).await.unwrap();
    assert!(factors.has_app());
    assert_eq!(factors.recovery_codes_left, 10);

    // On to the application, signed in with both factors.
    let href = html
        .split("class=\"button\" href=\"")
        .nth(1)
        .map(|s| s[..s.find('"').unwrap()].replace("&amp;", "&"))
        .unwrap();
    assert!(href.starts_with("authorize?"), "{href}");
    let r = send(
        &f,
        axum::http::Request::get(format!("/{href}"))
            .header(header::COOKIE, &session)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let claims = id_token_for(&f, &location(&r)["code"]).await;
    assert_eq!(claims["acr"], "two_factor");

    // The first code is spent: the app's own replay rule holds from the start.
    let later = password(&f, &authorize_uri("web", "&prompt=login"), "ada").await;
    assert!(later.html.contains("Two-step verification"));
    let r = submit(&f, &later, "/verify", &totp::code_at(&secret, T0), &[]).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // A recovery code shown at enrolment works.
    let r = submit(&f, &later, "/verify", codes[3], &[]).await;
    assert!(location(&r).contains_key("code"));
    assert!(kinds(&f).await.contains(&AuditKind::TotpEnrolled));
}

async fn a_session_that_proved_less_signs_in_again(db: Database) {
    let f = fixture_on(db).await;
    // Signed in with a password alone, while the client asked no more.
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    let session = common::oneshot::cookies(&r)
        .split("; ")
        .find(|c| c.starts_with("gatehouse_session="))
        .unwrap()
        .to_owned();
    let claims = id_token_for(&f, &location(&r)["code"]).await;
    assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
    assert_eq!(claims["acr"], "password");
    let with_session = |uri: String| {
        axum::http::Request::get(uri)
            .header(header::COOKIE, &session)
            .body(Body::empty())
            .unwrap()
    };
    // The same session serves a request that asks for no more.
    let r = send(&f, with_session(authorize_uri("web", ""))).await;
    assert!(location(&r).contains_key("code"));

    // A request that asks for two factors (acr_values), or a client that now requires them:
    // the login form, not a code; with prompt=none, login_required.
    for uri in [
        authorize_uri("web", "&acr_values=two_factor"),
        authorize_uri("web", "&acr_values=urn%3Aunknown%20two_factor"),
    ] {
        let r = send(&f, with_session(uri)).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(body_text(r).await.contains("Sign in"));
    }
    // acr_values naming only values gatehouse does not know asks for nothing more.
    let r = send(
        &f,
        with_session(authorize_uri("web", "&acr_values=urn%3Aunknown")),
    )
    .await;
    assert!(location(&r).contains_key("code"));
    require(&f, "web", AuthPolicy::TwoFactor).await;
    let r = send(&f, with_session(authorize_uri("web", ""))).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = send(&f, with_session(authorize_uri("web", "&prompt=none"))).await;
    assert_eq!(location(&r)["error"], "login_required");
}

/// The group `admins`, whose members must sign in with a second factor.
fn admins_requiring_two_factors() -> gatehouse::model::Group {
    gatehouse::model::Group {
        id: "g1".into(),
        name: "admins".into(),
        description: None,
        created_at: T0,
        auth_policy: AuthPolicy::TwoFactor,
    }
}

async fn a_group_that_requires_a_second_factor_applies_to_every_client(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    let s = f.state.store.as_ref();
    s.create_group(admins_requiring_two_factors(), None)
        .await
        .unwrap();
    // Not a member yet: a password will do.
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    assert!(location(&r).contains_key("code"));
    s.add_member("admins", &user.id, T0, None).await.unwrap();
    let page = password(&f, &authorize_uri("spa", "&prompt=login"), "ada").await;
    assert!(page.html.contains("Set up two-step verification"));
}

async fn an_administrator_lists_and_resets_a_persons_factors(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    enrol(&f, &user, &["abcd-efgh-jkmn-pqrs"]).await;
    let admin = gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let had = admin.factors("ada").await.unwrap();
    assert_eq!(had.totp_enrolled_at, Some(T0));
    assert_eq!(had.recovery_codes_left, 1);
    assert_eq!(admin.reset_factors("ADA").await.unwrap(), had);
    assert_eq!(
        admin.factors("ada").await.unwrap(),
        gatehouse::model::Factors::default()
    );
    assert!(admin.factors("nobody").await.is_err());
    // Reset, and a password is enough again where nothing more is required.
    let r = post_login(&f, &authorize_uri("web", ""), "ada", PASSWORD).await;
    assert!(location(&r).contains_key("code"));
    let reset = f
        .state
        .store
        .audit_latest(50)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.record.kind == AuditKind::FactorsReset)
        .expect("audited");
    assert_eq!(reset.record.actor, "cli");
    assert_eq!(reset.record.subject.as_deref(), Some("ada"));
}

/// Signs `username`, who has a second factor, in through the account page's login form and the
/// second step with `code`; the browser's cookies.
async fn account_sign_in_2fa(f: &Fixture, username: &str, code: &str) -> String {
    let page = send(f, get("/account")).await;
    let form_cookie = common::oneshot::cookies(&page);
    let html = body_text(page).await;
    let r = send(
        f,
        form("/login")
            .header(header::COOKIE, &form_cookie)
            .body(Body::from(encode(&[
                ("username", username),
                ("password", PASSWORD),
                ("csrf", &hidden_input(&html, "csrf")),
                ("flow", "account"),
            ])))
            .unwrap(),
    )
    .await;
    let step = step(r, &form_cookie).await;
    assert!(step.html.contains("Two-step verification"), "{}", step.html);
    assert_eq!(hidden_input(&step.html, "flow"), "account");
    let r = send(
        f,
        form("/verify")
            .header(header::COOKIE, &step.cookies)
            .body(Body::from(encode(&[
                ("csrf", &hidden_input(&step.html, "csrf")),
                ("username", username),
                ("flow", "account"),
                ("code", code),
            ])))
            .unwrap(),
    )
    .await;
    assert_eq!(r.headers()[header::LOCATION], "account");
    format!("{}; {}", step.cookies, common::oneshot::cookies(&r))
}

async fn spend(f: &Fixture, user: &User, code: &str) -> bool {
    let hash = recovery::hash(code).unwrap();
    f.state
        .store
        .use_recovery_code(&user.id, &hash, record(user))
        .await
        .unwrap()
}

fn codes_on(html: &str) -> Vec<String> {
    html.split("<li><code>")
        .skip(1)
        .map(|s| s[..s.find('<').unwrap()].to_owned())
        .collect()
}

async fn a_person_sets_up_replaces_and_removes_their_app_from_the_account_page(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    let cookies = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &cookies).await;
    assert!(
        html.contains("Signing in takes your password only."),
        "{html}"
    );
    let csrf = hidden_input(&html, "csrf");

    let r = account_post(&f, &cookies, &[("csrf", &csrf), ("action", "setup_app")]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let setup = body_text(r).await;
    assert!(setup.contains("Set up two-step verification"));
    let shown = hidden_input(&setup, "secret");
    let secret = totp::secret_from_text(&shown).unwrap();
    let confirm = |code: String| {
        let (setup, shown) = (setup.clone(), shown.clone());
        let cookies = cookies.clone();
        let f = &f;
        async move {
            account_post(
                f,
                &cookies,
                &[
                    ("csrf", &hidden_input(&setup, "csrf")),
                    ("action", "confirm_app"),
                    ("secret", &shown),
                    ("code", &code),
                ],
            )
            .await
        }
    };
    let r = confirm("000000".into()).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!f.state.store.factors(&user.id).await.unwrap().has_app());
    let r = confirm(totp::code_at(&secret, T0)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let first = codes_on(&body_text(r).await);
    assert_eq!(first.len(), 10);
    let html = account_page(&f, &cookies).await;
    assert!(
        html.contains("Recovery codes left: <strong>10</strong>"),
        "{html}"
    );

    // New recovery codes: the old ones stop working.
    let r = account_post(&f, &cookies, &[("csrf", &csrf), ("action", "new_codes")]).await;
    let second = codes_on(&body_text(r).await);
    assert_eq!(second.len(), 10);
    assert!(!spend(&f, &user, &first[0]).await, "replaced");
    assert!(spend(&f, &user, &second[0]).await);

    // A new app in place of the old: the old app's codes stop working.
    let r = account_post(&f, &cookies, &[("csrf", &csrf), ("action", "setup_app")]).await;
    let setup = body_text(r).await;
    let newer = totp::secret_from_text(&hidden_input(&setup, "secret")).unwrap();
    f.clock.advance(30);
    let r = account_post(
        &f,
        &cookies,
        &[
            ("csrf", &hidden_input(&setup, "csrf")),
            ("action", "confirm_app"),
            ("secret", &hidden_input(&setup, "secret")),
            ("code", &totp::code_at(&newer, T0 + 30)),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    let stored = f.state.store.totp_factor(&user.id).await.unwrap().unwrap();
    assert_eq!(stored.secret, newer);

    // Turned off.
    let r = account_post(&f, &cookies, &[("csrf", &csrf), ("action", "remove_app")]).await;
    assert!(
        body_text(r)
            .await
            .contains("signing in takes your password only")
    );
    assert_eq!(
        f.state.store.factors(&user.id).await.unwrap(),
        gatehouse::model::Factors::default()
    );
    let kinds = kinds(&f).await;
    for kind in [
        AuditKind::TotpEnrolled,
        AuditKind::RecoveryCodesRegenerated,
        AuditKind::TotpReplaced,
        AuditKind::TotpRemoved,
    ] {
        assert!(kinds.contains(&kind), "{kind:?} in {kinds:?}");
    }
}

async fn account_changes_need_a_recent_sign_in_and_the_sessions_own_form(db: Database) {
    let f = fixture_on(db).await;
    let user = ada(&f).await;
    let secret = enrol(&f, &user, &["abcd-efgh-jkmn-pqrs"]).await;
    add_user(f.state.store.as_ref(), "bob").await;
    let bobs = account_sign_in(&f, "bob").await;
    let bob_csrf = hidden_input(&account_page(&f, &bobs).await, "csrf");

    // Ada's session: her password, then her second factor.
    let cookies = account_sign_in_2fa(&f, "ada", "abcd-efgh-jkmn-pqrs").await;
    let csrf = hidden_input(&account_page(&f, &cookies).await, "csrf");

    // Bob's form, or none, changes nothing on Ada's account.
    for forged in [bob_csrf.as_str(), "", "1800000000.AAAA"] {
        let r = account_post(&f, &cookies, &[("csrf", forged), ("action", "remove_app")]).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{forged:?}");
    }
    // A setup confirmed with another secret than the one shown.
    let r = account_post(&f, &cookies, &[("csrf", &csrf), ("action", "setup_app")]).await;
    let setup = body_text(r).await;
    let mine = totp::new_secret();
    let r = account_post(
        &f,
        &cookies,
        &[
            ("csrf", &hidden_input(&setup, "csrf")),
            ("action", "confirm_app"),
            ("secret", &totp::secret_text(&mine).replace(' ', "")),
            ("code", &totp::code_at(&mine, T0)),
        ],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(f.state.store.factors(&user.id).await.unwrap().has_app());

    // Eleven minutes later the session still works, but changes need a fresh sign-in.
    f.clock.advance(660);
    let html = account_page(&f, &cookies).await;
    assert!(html.contains("To change this, sign in again"), "{html}");
    let csrf = hidden_input(&html, "csrf");
    let r = account_post(&f, &cookies, &[("csrf", &csrf), ("action", "remove_app")]).await;
    assert!(body_text(r).await.contains("Sign in again first"));
    assert!(f.state.store.factors(&user.id).await.unwrap().has_app());

    // A group that requires an app: it cannot be removed, even right after signing in.
    f.state
        .store
        .create_group(admins_requiring_two_factors(), None)
        .await
        .unwrap();
    f.state
        .store
        .add_member("admins", &user.id, T0, None)
        .await
        .unwrap();
    let fresh = account_sign_in_2fa(&f, "ada", &totp::code_at(&secret, T0 + 660)).await;
    let html = account_page(&f, &fresh).await;
    assert!(!html.contains("remove_app"), "no button for it");
    let csrf = hidden_input(&html, "csrf");
    let r = account_post(&f, &fresh, &[("csrf", &csrf), ("action", "remove_app")]).await;
    assert!(body_text(r).await.contains("cannot be removed"));
    assert!(f.state.store.factors(&user.id).await.unwrap().has_app());
}

on_both_backends!((flavor = "multi_thread", worker_threads = 4);
    an_app_code_completes_the_sign_in_once,
    keep_me_signed_in_lasts_through_the_second_step,
    a_burst_of_one_code_signs_in_once,
    a_recovery_code_signs_in_once_however_it_is_typed,
    guessing_codes_is_slowed_then_locked,
    a_step_form_is_bound_to_its_person_and_flow,
    a_client_that_requires_a_second_factor_has_one_enrolled_after_the_password,
    a_session_that_proved_less_signs_in_again,
    a_group_that_requires_a_second_factor_applies_to_every_client,
    an_administrator_lists_and_resets_a_persons_factors,
    a_person_sets_up_replaces_and_removes_their_app_from_the_account_page,
    account_changes_need_a_recent_sign_in_and_the_sessions_own_form,
);
