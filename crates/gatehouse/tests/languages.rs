//! Pages in the language the browser prefers: a browser that asks for German (its
//! `Accept-Language`) is answered in German, its form's refusals included, and one that asks
//! for a language without a catalogue, or for nothing, in the deployment's own (`--language`);
//! a deployment that speaks one language (`--one-language`) speaks it to everyone. Caches are
//! told that a page depends on the header.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::backend::{Backend, Database};
use common::oneshot::*;

/// The sign-in page a browser that sent `accept_language` (if any) is shown, and the language
/// its `<html lang>` names.
async fn sign_in_page(f: &Fixture, accept_language: Option<&str>) -> (String, String) {
    let mut request = Request::get(authorize_uri("web", ""));
    if let Some(value) = accept_language {
        request = request.header(header::ACCEPT_LANGUAGE, value);
    }
    let r = send(f, request.body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK);
    let vary = r.headers().get(header::VARY).map(|v| v.to_str().unwrap());
    assert_eq!(vary, Some("accept-language"));
    let html = body_text(r).await;
    let lang = html
        .split_once("<html lang=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(lang, _)| lang.to_owned())
        .unwrap();
    (lang, html)
}

async fn fixture(adjust: impl FnOnce(&mut gatehouse::config::ServeArgs)) -> Fixture {
    fixture_with(Database::fresh(Backend::Sqlite).await.unwrap(), adjust).await
}

#[tokio::test]
async fn a_browser_that_prefers_german_is_answered_in_german() {
    let f = fixture(|_| {}).await;
    let (lang, html) = sign_in_page(&f, Some("de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7")).await;
    assert_eq!(lang, "de");
    assert!(html.contains("<h1>Anmelden</h1>"), "{html}");
    assert!(html.contains("Benutzername"), "{html}");

    // So is the form's refusal, which the browser sends with the same header.
    let uri = authorize_uri("web", "");
    let r = post_login_from(&f, &uri, "ada", "not the password", Some("de-AT")).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let page = body_text(r).await;
    assert!(
        page.contains("Benutzername oder Passwort ist falsch."),
        "{page}"
    );

    // Nothing asked, or only languages without a catalogue: the deployment's own.
    for asked in [
        None,
        Some("fr-FR,fr;q=0.9"),
        Some("de;q=0, en;q=0.1"),
        Some("*"),
    ] {
        let (lang, html) = sign_in_page(&f, asked).await;
        assert_eq!(lang, "en", "{asked:?}");
        assert!(html.contains("<h1>Sign in</h1>"), "{asked:?}");
    }
}

#[tokio::test]
async fn a_german_deployment_answers_an_english_browser_in_english_and_the_rest_in_german() {
    let f = fixture(|args| args.language = "de".into()).await;
    assert_eq!(sign_in_page(&f, None).await.0, "de");
    assert_eq!(sign_in_page(&f, Some("fr")).await.0, "de");
    assert_eq!(sign_in_page(&f, Some("en-GB,en;q=0.9")).await.0, "en");
}

#[tokio::test]
async fn a_deployment_of_one_language_speaks_it_to_every_browser() {
    let f = fixture(|args| {
        args.language = "de".into();
        args.one_language = true;
    })
    .await;
    for asked in [None, Some("en-US,en;q=0.9"), Some("de")] {
        let (lang, html) = sign_in_page(&f, asked).await;
        assert_eq!(lang, "de", "{asked:?}");
        assert!(html.contains("<h1>Anmelden</h1>"), "{asked:?}");
    }
}
