//! Links sent by email, through the router with a fixed clock and a real SMTP sink: a password
//! reset (the same answer for anyone, one link a minute, a link used once, void when it expires
//! or the address changes, requests per address limited), an address confirmed by the link
//! sent to it, and nothing offered without SMTP.

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
use common::smtp::{Received, Sink, with_mail, with_smtp, with_smtp_speaking};
use common::{PASSWORD, add_user, hidden_input, user};
use gatehouse::model::{AuditKind, UserChange};

const NEW_PASSWORD: &str = "plum orbit lantern vivid kettle";

/// The reset form's cookies and token.
async fn reset_form(f: &Fixture, path: &str) -> (String, String) {
    let r = send(f, get(path)).await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    let cookies = cookies(&r);
    let html = body_text(r).await;
    (cookies, hidden_input(&html, "csrf"))
}

/// Asks for a reset link for `identifier` from the address `ip`.
async fn ask(f: &Fixture, identifier: &str, ip: [u8; 4]) -> Response {
    let (cookies, csrf) = reset_form(f, "/reset").await;
    let mut request = form("/reset")
        .header(header::COOKIE, cookies)
        .body(Body::from(encode(&[
            ("csrf", &csrf),
            ("action", "request"),
            ("identifier", identifier),
        ])))
        .unwrap();
    request
        .extensions_mut()
        .insert(ConnectInfo(SocketAddr::from((ip, 40000))));
    send(f, request).await
}

/// The path and query of a link in a mail (`http://127.0.0.1:8080/reset?token=…`).
fn path_of(link: &str) -> String {
    let u = url::Url::parse(link).unwrap();
    format!("{}?{}", u.path(), u.query().unwrap_or_default())
}

/// Sends the new-password form of the reset link `link`, or the link's page when it shows
/// no form (the link cannot be used).
async fn set(f: &Fixture, link: &str, new: &str, repeat: &str) -> Response {
    match link_page(f, &path_of(link)).await {
        Ok(_) => send(f, set_request(f, link, new, repeat).await).await,
        Err(page) => page,
    }
}

/// The page of a link at `path` when it shows its form (its cookies and form token), else
/// what it shows.
async fn link_page(f: &Fixture, path: &str) -> Result<(String, String), Response> {
    let r = send(f, get(path)).await;
    if r.status() != StatusCode::OK {
        return Err(r);
    }
    let cookies = cookies(&r);
    Ok((cookies, hidden_input(&body_text(r).await, "csrf")))
}

/// The new-password form of the reset link `link`, filled in, ready to send.
async fn set_request(
    f: &Fixture,
    link: &str,
    new: &str,
    repeat: &str,
) -> axum::http::Request<Body> {
    let (cookies, csrf) = reset_form(f, &path_of(link)).await;
    let token = url::Url::parse(link)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "token")
        .unwrap()
        .1
        .into_owned();
    form("/reset")
        .header(header::COOKIE, cookies)
        .body(Body::from(encode(&[
            ("csrf", &csrf),
            ("action", "set"),
            ("token", &token),
            ("new_password", new),
            ("repeat_password", repeat),
        ])))
        .unwrap()
}

/// Chooses a first password through an invitation's `link` (`new`, and `repeat` typed again),
/// or what its page shows when it has no form.
async fn welcome(f: &Fixture, link: &str, new: &str, repeat: &str) -> Response {
    let path = path_of(link);
    let (cookies, csrf) = match link_page(f, &path).await {
        Ok(form) => form,
        Err(page) => return page,
    };
    let token = hidden_input(&body_text(send(f, get(&path)).await).await, "token");
    send(
        f,
        form("/welcome")
            .header(header::COOKIE, cookies)
            .body(Body::from(encode(&[
                ("csrf", &csrf),
                ("token", &token),
                ("new_password", new),
                ("repeat_password", repeat),
            ])))
            .unwrap(),
    )
    .await
}

async fn password_works(f: &Fixture, password: &str) -> bool {
    let r = post_login(f, &authorize_uri("web", ""), "ada", password).await;
    r.status() == StatusCode::SEE_OTHER
}

fn reset_link(mail: &Received) -> String {
    mail.link("http://127.0.0.1:8080/reset?token=")
}

async fn a_forgotten_password_is_reset_once_by_the_mailed_link(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let elsewhere = account_sign_in(&f, "ada").await;
    let r = ask(&f, "ada", [192, 0, 2, 1]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("Check your email"));
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(
        mail.subject().as_deref(),
        Some("Reset your Gatehouse password")
    );
    assert!(mail.text().contains("within 30 minutes"), "{}", mail.text());
    let link = reset_link(&mail);

    // A weak password leaves the link as it was.
    let r = set(&f, &link, "password123456", "password123456").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("too easy to guess"));
    let r = set(&f, &link, NEW_PASSWORD, "something else entirely").await;
    assert!(body_text(r).await.contains("not the same"));
    assert!(password_works(&f, PASSWORD).await);

    let r = set(&f, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("Your password is changed"));
    assert!(!password_works(&f, PASSWORD).await);
    assert!(password_works(&f, NEW_PASSWORD).await);
    // Every session the person had is over.
    let r = send(
        &f,
        axum::http::Request::get("/account")
            .header(header::COOKIE, &elsewhere)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert!(body_text(r).await.contains("<h1>Sign in</h1>"));

    // Used once.
    let r = set(
        &f,
        &link,
        "another fine long passphrase",
        "another fine long passphrase",
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("This link does not work"));
    assert!(password_works(&f, NEW_PASSWORD).await);
    let kinds: Vec<AuditKind> = f
        .state
        .store
        .audit_about("ada", 0, AuditKind::PERSONAL, 50)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.record.kind)
        .collect();
    assert!(kinds.contains(&AuditKind::EmailSent), "{kinds:?}");
    assert!(kinds.contains(&AuditKind::PasswordReset), "{kinds:?}");
}

/// Eight forms sent at once with one reset link: one sets the password, the others find the
/// link used, and the person is told once, by the transaction that took it.
async fn a_burst_of_forms_uses_a_reset_link_once_and_tells_once(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    assert_eq!(
        ask(&f, "ada", [192, 0, 2, 1]).await.status(),
        StatusCode::OK
    );
    let link = reset_link(&sink.next().await);
    // Every form is opened while the link works, then all are sent at once.
    let mut requests = Vec::new();
    for i in 0..8 {
        let new = format!("{NEW_PASSWORD} {i}");
        requests.push(set_request(&f, &link, &new, &new).await);
    }
    let mut burst = tokio::task::JoinSet::new();
    for request in requests {
        let app = gatehouse::app(f.state.clone());
        burst.spawn(async move {
            use tower::ServiceExt as _;
            app.oneshot(request).await.unwrap().status()
        });
    }
    let answers = burst.join_all().await;
    let set = answers.iter().filter(|s| **s == StatusCode::OK).count();
    assert_eq!(set, 1, "{answers:?}");
    let notice = sink.next().await;
    assert_eq!(
        notice.subject().as_deref(),
        Some("Your Gatehouse password was changed")
    );
    assert!(
        notice.text().contains("with a reset link"),
        "{}",
        notice.text()
    );
    assert!(
        sink.nothing_within(Duration::from_millis(1500)).await,
        "told once"
    );
}

/// A deployment that speaks German sends its links in German: the pages around them, and the
/// mail, whose subject is not ASCII and so is encoded as a header must be (RFC 2047).
async fn a_german_deployment_mails_its_links_in_german(db: Database) {
    let mut sink = Sink::start().await;
    let f = with_smtp_speaking(db, &sink.url, "de").await;
    let r = ask(&f, "ada", [192, 0, 2, 1]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = body_text(r).await;
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    assert!(page.contains("Sehen Sie in Ihr Postfach"), "{page}");
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    assert_eq!(
        mail.subject().as_deref(),
        Some("Ihr Passwort für Gatehouse zurücksetzen")
    );
    let text = mail.text();
    assert!(text.starts_with("Hallo ada,"), "{text}");
    assert!(text.contains("innerhalb von 30 Minuten"), "{text}");

    let link = reset_link(&mail);
    let r = set(&f, &link, NEW_PASSWORD, "etwas ganz anderes, lang genug").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = body_text(r).await;
    assert!(
        page.contains("Die beiden neuen Passwörter sind nicht gleich."),
        "{page}"
    );
    let r = set(&f, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("Ihr Passwort ist geändert"));
    assert!(password_works(&f, NEW_PASSWORD).await);
}

/// A person whose account names a language the pages speak (its `locale`) is mailed in it,
/// whatever the page that asked for the mail spoke, and the link's pages speak it; one whose
/// `locale` no catalogue matches is mailed in the page's language.
async fn a_person_is_mailed_in_their_own_language(db: Database) {
    let mut sink = Sink::start().await;
    let f = with_smtp(db, &sink.url).await;
    let admin = gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let speaking = |locale: &str| gatehouse::admin::ProfileChange {
        locale: Some(Some(locale.to_owned())),
        ..Default::default()
    };
    admin
        .update_profile("ada", speaking("de-CH"))
        .await
        .unwrap();
    let r = ask(&f, "ada", [192, 0, 2, 1]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = body_text(r).await;
    assert!(
        page.contains("<html lang=\"en\">"),
        "the page is the browser's"
    );
    let mail = sink.next().await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("Ihr Passwort für Gatehouse zurücksetzen")
    );
    assert!(mail.text().starts_with("Hallo ada,"), "{}", mail.text());
    // The link's pages speak it too, to a browser that asks for nothing.
    let link = reset_link(&mail);
    let page = body_text(send(&f, get(&path_of(&link))).await).await;
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    let r = set(&f, &link, NEW_PASSWORD, "something else entirely").await;
    let page = body_text(r).await;
    assert!(
        page.contains("Die beiden neuen Passwörter sind nicht gleich."),
        "{page}"
    );

    admin
        .update_profile("ada", speaking("fr-FR"))
        .await
        .unwrap();
    f.clock.advance(61);
    assert_eq!(
        ask(&f, "ada", [192, 0, 2, 2]).await.status(),
        StatusCode::OK
    );
    let mail = sink.next().await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("Reset your Gatehouse password")
    );
}

/// Sends the language switch of `page` (a reset's or an invitation's page as served to a
/// browser with `cookies`) to `action`, choosing `language`, with what was `typed` into the
/// page's form.
async fn switch(
    f: &Fixture,
    action: &str,
    cookies: &str,
    page: &str,
    (language, typed): (&str, &[(&str, &str)]),
) -> Response {
    let mut fields = vec![
        ("csrf", hidden_input(page, "csrf")),
        ("language", language.to_owned()),
    ];
    fields.extend(typed.iter().map(|(n, v)| (*n, (*v).to_owned())));
    if page.contains("name=\"token\"") {
        fields.push(("token", hidden_input(page, "token")));
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let request = form(action)
        .header(header::COOKIE, cookies)
        .body(Body::from(encode(&pairs)))
        .unwrap();
    send(f, request).await
}

/// The language cookie a response sets, if it sets one.
fn language_set(r: &Response) -> Option<String> {
    cookies(r)
        .split("; ")
        .find_map(|c| c.strip_prefix("gatehouse_language="))
        .map(str::to_owned)
}

/// A reset's pages offer their other languages, as the login form does: the page comes back
/// in the one chosen, the browser keeps it, and the page's form carries it on; on a link's
/// page the choice comes before the language of the person the link is for. A language not
/// offered changes nothing, and a forged form nothing either.
async fn a_reset_s_pages_switch_to_another_language(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let admin = gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let english = gatehouse::admin::ProfileChange {
        locale: Some(Some("en".to_owned())),
        ..Default::default()
    };
    admin.update_profile("ada", english).await.unwrap();

    let r = send(&f, get("/reset")).await;
    let form_cookie = cookies(&r);
    let page = body_text(r).await;
    assert!(page.contains("<html lang=\"en\">"), "{page}");
    assert!(
        page.contains(
            r#"<button type="submit" form="reset" formnovalidate name="language" value="de" lang="de">Deutsch</button>"#
        ),
        "{page}"
    );
    // What was typed comes back with the page; nothing is sent.
    let typed = [("action", "request"), ("identifier", " ada ")];
    let r = switch(&f, "/reset", &form_cookie, &page, ("de", &typed)).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(language_set(&r).as_deref(), Some("de"));
    let german = body_text(r).await;
    assert!(
        german.contains("<h1>Passwort zurücksetzen</h1>"),
        "{german}"
    );
    assert!(
        german.contains(r#"maxlength="254" value="ada">"#),
        "{german}"
    );
    assert!(sink.nothing_within(Duration::from_millis(300)).await);
    assert_eq!(hidden_input(&german, "chosen"), "de");
    // Asked for through it, the answer is German; the mail speaks ada's own language.
    let r = send(
        &f,
        form("/reset")
            .header(
                header::COOKIE,
                format!("{form_cookie}; gatehouse_language=de"),
            )
            .body(Body::from(encode(&[
                ("csrf", &hidden_input(&german, "csrf")),
                ("action", "request"),
                ("identifier", "ada"),
                ("chosen", "de"),
            ])))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        body_text(r)
            .await
            .contains("<h1>Sehen Sie in Ihr Postfach</h1>")
    );
    let mail = sink.next().await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("Reset your Gatehouse password")
    );

    // The link's page speaks ada's language; she chooses German on it, and the form goes on
    // in German, its refusal and its answer too.
    let link = reset_link(&mail);
    let r = send(&f, get(&path_of(&link))).await;
    let form_cookie = cookies(&r);
    let page = body_text(r).await;
    assert!(page.contains("<h1>Choose a new password</h1>"), "{page}");
    let r = switch(&f, "/reset", &form_cookie, &page, ("de", &[])).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(language_set(&r).as_deref(), Some("de"));
    let german = body_text(r).await;
    assert!(
        german.contains("<h1>Neues Passwort wählen</h1>"),
        "{german}"
    );
    assert_eq!(hidden_input(&german, "token"), hidden_input(&page, "token"));
    let set_in_german = |repeat: &'static str| {
        let german = german.clone();
        let f = &f;
        let cookie = format!("{form_cookie}; gatehouse_language=de");
        async move {
            let body = encode(&[
                ("csrf", &hidden_input(&german, "csrf")),
                ("action", "set"),
                ("token", &hidden_input(&german, "token")),
                ("new_password", NEW_PASSWORD),
                ("repeat_password", repeat),
                ("chosen", &hidden_input(&german, "chosen")),
            ]);
            send(
                f,
                form("/reset")
                    .header(header::COOKIE, cookie)
                    .body(Body::from(body))
                    .unwrap(),
            )
            .await
        }
    };
    let r = set_in_german("something else entirely").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let refused = body_text(r).await;
    assert!(
        refused.contains("Die beiden neuen Passwörter sind nicht gleich."),
        "{refused}"
    );
    assert_eq!(hidden_input(&refused, "chosen"), "de");
    let r = set_in_german(NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        body_text(r)
            .await
            .contains("<h1>Ihr Passwort ist geändert</h1>")
    );
    assert!(password_works(&f, NEW_PASSWORD).await);
    // The notice of it speaks her own language: mail is read where the choice is not seen.
    let notice = sink.next().await;
    assert_eq!(
        notice.subject().as_deref(),
        Some("Your Gatehouse password was changed")
    );

    // A language not offered leaves the page as it was; a forged form changes nothing.
    let r = send(&f, get("/reset")).await;
    let form_cookie = cookies(&r);
    let page = body_text(r).await;
    let r = switch(&f, "/reset", &form_cookie, &page, ("xx", &[])).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(language_set(&r), None);
    assert!(body_text(r).await.contains("<h1>Reset your password</h1>"));
    let r = switch(&f, "/reset", "gatehouse_form=forged", &page, ("de", &[])).await;
    assert_eq!(language_set(&r), None);
    assert!(body_text(r).await.contains("expired"));

    // Without a language of her own, the link she asked for from the browser that chose
    // German is mailed in German, and opens in German there.
    let none = gatehouse::admin::ProfileChange {
        locale: Some(None),
        ..Default::default()
    };
    admin.update_profile("ada", none).await.unwrap();
    f.clock.advance(61);
    let german_browser = |uri: &str| {
        axum::http::Request::get(uri)
            .header(header::COOKIE, "gatehouse_language=de")
            .body(Body::empty())
            .unwrap()
    };
    let r = send(&f, german_browser("/reset")).await;
    let form_cookie = cookies(&r);
    let page = body_text(r).await;
    let asked = form("/reset")
        .header(
            header::COOKIE,
            format!("{form_cookie}; gatehouse_language=de"),
        )
        .body(Body::from(encode(&[
            ("csrf", &hidden_input(&page, "csrf")),
            ("action", "request"),
            ("identifier", "ada"),
        ])))
        .unwrap();
    assert_eq!(send(&f, asked).await.status(), StatusCode::OK);
    let mail = sink.next().await;
    assert_eq!(
        mail.subject().as_deref(),
        Some("Ihr Passwort für Gatehouse zurücksetzen")
    );
    let r = send(&f, german_browser(&path_of(&reset_link(&mail)))).await;
    assert!(
        body_text(r)
            .await
            .contains("<h1>Neues Passwort wählen</h1>")
    );
}

/// An administrator who reads English invites a person in German: the invitation is German,
/// and so are the link's pages for the person whose browser asks for English, and their
/// account's language is German. A language the form never offers is none.
async fn an_invitation_speaks_the_language_chosen_for_the_person(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let (cookies, csrf) = administrator(&f).await;
    let html = body_text(
        send(
            &f,
            axum::http::Request::get("/admin")
                .header(header::COOKIE, &cookies)
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    )
    .await;
    assert!(
        html.contains(r#"<option value="" selected>As their browser asks</option>"#),
        "{html}"
    );
    let invite = |username: &'static str, language: &'static str| {
        let fields = [
            ("csrf", csrf.as_str()),
            ("username", username),
            ("email", "someone@example.com"),
            ("language", language),
        ];
        let (f, cookies) = (&f, &cookies);
        async move { add_person(f, cookies, &fields).await }
    };
    let r = invite("dora", "de").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("an invitation is on its way"));
    assert_eq!(
        user(&*f.state.store, "dora")
            .await
            .profile
            .locale
            .as_deref(),
        Some("de")
    );
    let mail = sink.next().await;
    assert_eq!(mail.subject().as_deref(), Some("Ihr Konto bei Gatehouse"));
    let link = mail.link("http://127.0.0.1:8080/welcome?token=");
    let r = send(&f, get(&path_of(&link))).await;
    let form_cookie = common::oneshot::cookies(&r);
    let page = body_text(r).await;
    assert!(page.contains("<html lang=\"de\">"), "{page}");
    // The invitee who reads English chooses it on the page.
    let r = switch(&f, "/welcome", &form_cookie, &page, ("en", &[])).await;
    assert_eq!(r.status(), StatusCode::OK);
    let english = body_text(r).await;
    assert!(english.contains("<html lang=\"en\">"), "{english}");
    assert_eq!(
        hidden_input(&english, "token"),
        hidden_input(&page, "token")
    );
    assert_eq!(hidden_input(&english, "chosen"), "en");
    let r = welcome(&f, &link, NEW_PASSWORD, "something else entirely").await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = body_text(r).await;
    assert!(
        page.contains("Die beiden neuen Passwörter sind nicht gleich."),
        "{page}"
    );

    // What the form never offers is no language.
    let r = invite("emil", "fr").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(user(&*f.state.store, "emil").await.profile.locale, None);
    let mail = sink.next().await;
    assert_eq!(mail.subject().as_deref(), Some("Your Gatehouse account"));
}

/// Waits (up to 10 s) until the outbox holds `n` messages that match `filter`.
async fn outbox_holds(f: &Fixture, filter: &str, n: i64) {
    let sql = format!("SELECT count(*) FROM mail_outbox {filter}");
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while f.db.count(&sql).await != n {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    waited.await.expect("the outbox as expected within 10 s");
}

/// A message waits in the outbox while the mail server is down, and is sent, its link
/// working, once it is back: asking again is not needed.
async fn a_link_waits_in_the_outbox_while_the_mail_server_is_down(db: Database) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let f = with_smtp(db, &format!("smtp://127.0.0.1:{port}")).await;
    assert_eq!(ask(&f, "ada", [10, 0, 0, 1]).await.status(), StatusCode::OK);
    // The first attempt finds the port closed.
    outbox_holds(&f, "WHERE attempts = 1", 1).await;
    let mut sink = Sink::start_on(&format!("127.0.0.1:{port}")).await;
    assert!(
        sink.nothing_within(Duration::from_millis(1500)).await,
        "tried again only when the retry is due"
    );
    f.clock.advance(gatehouse::mail::FIRST_BACKOFF);
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    outbox_holds(&f, "", 0).await;
    let r = set(&f, &mail.link("http://"), NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(password_works(&f, NEW_PASSWORD).await);
    // What follows is the notice of the new password, not the link again.
    let notice = sink.next().await;
    assert_eq!(
        notice.subject().as_deref(),
        Some("Your Gatehouse password was changed")
    );
    assert!(
        sink.nothing_within(Duration::from_millis(1500)).await,
        "sent once"
    );
}

async fn the_answer_is_the_same_whoever_is_asked_for(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let known = body_text(ask(&f, "ada", [192, 0, 2, 1]).await).await;
    let _ = sink.next().await;
    for identifier in ["nobody", "nobody@example.com", "", "<script>"] {
        let r = ask(&f, identifier, [192, 0, 2, 2]).await;
        assert_eq!(r.status(), StatusCode::OK, "{identifier}");
        assert_eq!(body_text(r).await, known, "{identifier}");
    }
    assert!(sink.nothing_within(Duration::from_millis(500)).await);
    // By address, in any case: to the account's own address.
    f.clock.advance(60);
    let _ = ask(&f, "ADA@example.com", [192, 0, 2, 3]).await;
    assert_eq!(sink.next().await.to, ["ada@example.com"]);
}

async fn a_person_gets_one_link_a_minute_and_only_the_newest_works(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let _ = ask(&f, "ada", [192, 0, 2, 1]).await;
    let first = reset_link(&sink.next().await);
    let _ = ask(&f, "ada", [192, 0, 2, 2]).await;
    assert!(sink.nothing_within(Duration::from_millis(500)).await);
    f.clock.advance(60);
    let _ = ask(&f, "ada", [192, 0, 2, 3]).await;
    let second = reset_link(&sink.next().await);
    assert_ne!(first, second);
    let r = set(&f, &first, NEW_PASSWORD, NEW_PASSWORD).await;
    assert!(body_text(r).await.contains("This link does not work"));
    let r = set(&f, &second, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
}

async fn a_link_expires_and_is_void_once_the_address_changes(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let _ = ask(&f, "ada", [192, 0, 2, 1]).await;
    let link = reset_link(&sink.next().await);
    f.clock.advance(30 * 60);
    // Its page says so before anything is typed.
    let r = send(&f, get(&path_of(&link))).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = body_text(r).await;
    assert!(page.contains("This link does not work"), "{page}");
    assert!(!page.contains("new_password"), "{page}");

    let _ = ask(&f, "ada", [192, 0, 2, 1]).await;
    let link = reset_link(&sink.next().await);
    let moved = UserChange::SetEmail {
        email: "ada@elsewhere.example".into(),
        verified: false,
    };
    f.state
        .store
        .update_user("ada", moved, T0, None)
        .await
        .unwrap();
    let r = set(&f, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert!(body_text(r).await.contains("This link does not work"));
    assert!(password_works(&f, PASSWORD).await);
}

async fn requests_from_one_address_are_limited(db: Database) {
    let (f, _sink) = with_mail(db).await;
    for i in 0..5 {
        let r = ask(&f, &format!("someone{i}"), [198, 51, 100, 7]).await;
        assert_eq!(r.status(), StatusCode::OK, "request {i}");
    }
    let r = ask(&f, "someone", [198, 51, 100, 7]).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key(header::RETRY_AFTER));
    assert!(
        body_text(r)
            .await
            .contains("Too many reset requests from here")
    );
    let r = ask(&f, "someone", [198, 51, 100, 8]).await;
    assert_eq!(
        r.status(),
        StatusCode::OK,
        "another address is not held back"
    );
}

async fn an_address_is_confirmed_by_the_link_sent_to_it(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let cookies = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &cookies).await;
    assert!(html.contains("Send me a confirmation link"), "{html}");
    let csrf = hidden_input(&html, "csrf");
    let fields = [("csrf", csrf.as_str()), ("action", "send_confirmation")];
    let html = body_text(account_post(&f, &cookies, &fields).await).await;
    assert!(
        html.contains("A confirmation link is on its way to ada@example.com."),
        "{html}"
    );
    let mail = sink.next().await;
    assert_eq!(mail.to, ["ada@example.com"]);
    let link = mail.link("http://127.0.0.1:8080/confirm-email?token=");

    // Opening the link (a mail scanner does) confirms nothing.
    let html = body_text(send(&f, get(&path_of(&link))).await).await;
    assert!(html.contains("Confirm that <strong>ada@example.com</strong> is your address."));
    let ada = || async { user(&*f.state.store, "ada").await };
    assert!(!ada().await.email_verified);

    let token = hidden_input(&html, "token");
    let confirm = || {
        send(
            &f,
            form("/confirm-email")
                .body(Body::from(encode(&[("token", &token)])))
                .unwrap(),
        )
    };
    let r = confirm().await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("ada@example.com is confirmed"));
    assert!(ada().await.email_verified);
    let r = confirm().await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "used once");
    let html = account_page(&f, &cookies).await;
    assert!(!html.contains("Send me a confirmation link"));
}

/// Makes ada an administrator and signs her in; her browser and an administration form token.
async fn administrator(f: &Fixture) -> (String, String) {
    let cookies = administrator_signed_in(f, "ada").await;
    let r = send(
        f,
        axum::http::Request::get("/admin")
            .header(header::COOKIE, &cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let csrf = hidden_input(&body_text(r).await, "csrf");
    (cookies, csrf)
}

async fn add_person(f: &Fixture, cookies: &str, fields: &[(&str, &str)]) -> Response {
    post_form_as(f, cookies, "/admin", fields).await
}

async fn an_invited_person_chooses_their_password_by_the_mailed_link(db: Database) {
    let (f, mut sink) = with_mail(db).await;
    let (cookies, csrf) = administrator(&f).await;
    let fields = [
        ("csrf", csrf.as_str()),
        ("username", "carol"),
        ("email", "carol@example.com"),
        ("name", "Carol"),
    ];
    let r = add_person(&f, &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        body_text(r)
            .await
            .contains("an invitation is on its way to carol@example.com")
    );
    // The same name again is refused.
    let r = add_person(&f, &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("exists already"));

    let mail = sink.next().await;
    assert_eq!(mail.to, ["carol@example.com"]);
    assert!(
        mail.text().contains("with the username carol"),
        "{}",
        mail.text()
    );
    let link = mail.link("http://127.0.0.1:8080/welcome?token=");
    let choose = || welcome(&f, &link, NEW_PASSWORD, NEW_PASSWORD);
    let r = choose().await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("Your account is ready"));
    let carol = user(&*f.state.store, "carol").await;
    assert!(carol.email_verified, "the invitation came to that address");
    let r = post_login(&f, &authorize_uri("web", ""), "carol", NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = choose().await;
    assert!(
        body_text(r).await.contains("This link does not work"),
        "used once"
    );
    let created = f
        .state
        .store
        .audit_about("carol", 0, AuditKind::PERSONAL, 10)
        .await
        .unwrap();
    let ada = user(&*f.state.store, "ada").await;
    let made = created
        .iter()
        .find(|e| e.record.kind == AuditKind::UserCreated)
        .unwrap();
    assert_eq!(made.record.actor, format!("user:{}", ada.id));
    assert!(
        created
            .iter()
            .any(|e| e.record.kind == AuditKind::InvitationAccepted)
    );
}

async fn without_mail_an_administrator_gives_the_first_password(db: Database) {
    let f = fixture_on(db).await;
    let (cookies, csrf) = administrator(&f).await;
    let person = |password: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("username", "dave".to_owned()),
            ("email", "dave@example.com".to_owned()),
            ("password", password.to_owned()),
        ]
    };
    let weak = person("password123456");
    let fields: Vec<(&str, &str)> = weak.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = add_person(&f, &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("too easy to guess"));
    assert!(
        f.state
            .store
            .user_by_username("dave")
            .await
            .unwrap()
            .is_none()
    );
    let strong = person(NEW_PASSWORD);
    let fields: Vec<(&str, &str)> = strong.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = add_person(&f, &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(body_text(r).await.contains("The account is made."));
    let r = post_login(&f, &authorize_uri("web", ""), "dave", NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
}

async fn without_mail_an_administrator_hands_over_a_reset_link(db: Database) {
    let f = fixture_on(db).await;
    let (cookies, csrf) = administrator(&f).await;
    add_user(f.state.store.as_ref(), "dave").await;
    let make = || {
        let fields = [("csrf", csrf.as_str()), ("action", "reset_link")];
        let (f, cookies) = (&f, cookies.clone());
        async move { post_form_as(f, &cookies, "/admin/users/dave", &fields).await }
    };
    let r = make().await;
    assert_eq!(r.status(), StatusCode::OK);
    let html = body_text(r).await;
    assert!(
        html.contains("A password reset link for dave is made."),
        "{html}"
    );
    let marker = "id=\"link-to-hand-over\">";
    let start = html.find(marker).unwrap() + marker.len();
    let link = html[start..start + html[start..].find('<').unwrap()].replace("&amp;", "&");
    assert!(
        link.starts_with("http://127.0.0.1:8080/reset?token="),
        "{link}"
    );
    let r = make().await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "one link a minute");
    assert!(body_text(r).await.contains("less than a minute ago"));

    // Its page switches language without mail too.
    let r = send(&f, get(&path_of(&link))).await;
    let form_cookie = common::oneshot::cookies(&r);
    let page = body_text(r).await;
    let r = switch(&f, "/reset", &form_cookie, &page, ("de", &[])).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        body_text(r)
            .await
            .contains("<h1>Neues Passwort wählen</h1>")
    );

    // The person opens it and chooses a password; the link works once, and nothing can be
    // asked for by mail.
    let r = set(&f, &link, NEW_PASSWORD, NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = post_login(&f, &authorize_uri("web", ""), "dave", NEW_PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = set(
        &f,
        &link,
        "another lantern orbit vivid",
        "another lantern orbit vivid",
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "used once");
    assert_eq!(
        send(&f, get("/reset")).await.status(),
        StatusCode::NOT_FOUND
    );

    let ada = user(&*f.state.store, "ada").await;
    let made = f
        .state
        .store
        .audit_latest(20)
        .await
        .unwrap()
        .into_iter()
        .find(|e| e.record.kind == AuditKind::ResetLinkMade)
        .expect("audited");
    assert_eq!(made.record.actor, format!("user:{}", ada.id));
    assert_eq!(made.record.subject.as_deref(), Some("dave"));
}

/// Where mail goes out, the link is mailed to the person, never shown to the administrator.
async fn with_mail_no_link_is_shown_to_an_administrator(db: Database) {
    let (f, _sink) = with_mail(db).await;
    let (cookies, csrf) = administrator(&f).await;
    add_user(f.state.store.as_ref(), "dave").await;
    let fields = [("csrf", csrf.as_str()), ("action", "reset_link")];
    let r = post_form_as(&f, &cookies, "/admin/users/dave", &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(!body_text(r).await.contains("reset?token="));
}

async fn without_smtp_no_link_is_offered(db: Database) {
    let f = fixture_on(db).await;
    let html = body_text(send(&f, get(&authorize_uri("web", ""))).await).await;
    assert!(html.contains("<h1>Sign in</h1>"));
    assert!(!html.contains("Forgot your password?"));
    let r = send(&f, get("/reset")).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(
        body_text(r)
            .await
            .contains("Password reset is not set up here")
    );
    let cookies = account_sign_in(&f, "ada").await;
    assert!(
        !account_page(&f, &cookies)
            .await
            .contains("confirmation link")
    );
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_link_waits_in_the_outbox_while_the_mail_server_is_down,
    a_burst_of_forms_uses_a_reset_link_once_and_tells_once,
    a_forgotten_password_is_reset_once_by_the_mailed_link,
    the_answer_is_the_same_whoever_is_asked_for,
    a_person_gets_one_link_a_minute_and_only_the_newest_works,
    a_link_expires_and_is_void_once_the_address_changes,
    requests_from_one_address_are_limited,
    an_address_is_confirmed_by_the_link_sent_to_it,
    a_german_deployment_mails_its_links_in_german,
    a_person_is_mailed_in_their_own_language,
    an_invitation_speaks_the_language_chosen_for_the_person,
    a_reset_s_pages_switch_to_another_language,
    without_smtp_no_link_is_offered,
    an_invited_person_chooses_their_password_by_the_mailed_link,
    without_mail_an_administrator_gives_the_first_password,
    without_mail_an_administrator_hands_over_a_reset_link,
    with_mail_no_link_is_shown_to_an_administrator,
);

/// `serve` says at start whether the mail server answers, so a wrong host or port shows in the
/// log then, not at the first person's reset; the password in the URL is never shown.
#[test]
fn serve_says_at_start_when_the_mail_server_cannot_be_reached() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let smtp = format!("smtp://mailer:hunter2@127.0.0.1:{closed}");
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .args(["--database-url", &db, "serve", "--listen", "127.0.0.1:0"])
        .args([
            "--smtp-url",
            &smtp,
            "--mail-from",
            "Gatehouse <id@example.com>",
        ])
        .env("GATEHOUSE_LOG", "info")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The log goes to standard output, with the address line.
    let log = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(log).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut seen = Vec::new();
    let said = loop {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) if line.contains("mail server") => break line,
            Ok(line) => seen.push(line),
            Err(_) => panic!("nothing said about the mail server: {seen:#?}"),
        }
    };
    let _ = child.kill();
    let _ = child.wait();
    assert!(said.contains("cannot be reached"), "{said}");
    assert!(said.contains(&format!("127.0.0.1:{closed}")), "{said}");
    assert!(
        !said.contains("hunter2"),
        "the password is never logged: {said}"
    );
}
