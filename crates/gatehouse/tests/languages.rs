//! Pages in the language the browser prefers: a browser that asks for German (its
//! `Accept-Language`) is answered in German, its form's refusals included, and one that asks
//! for a language without a catalogue, or for nothing, in the deployment's own (`--language`);
//! a deployment that speaks one language (`--one-language`) speaks it to everyone. Caches are
//! told that a page depends on the header and on cookies. An application may ask for the
//! language of its sign-in (`ui_locales`), and a person's own language (chosen on their account
//! page, or given by an administrator: the account's `locale`) comes before both once they
//! have signed in, in that browser.

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
    page_at(f, &authorize_uri("web", ""), accept_language, None).await
}

/// The page at `uri` (it must answer 200) as a browser that sent `accept_language` and
/// `cookie` (if any) sees it, and the language its `<html lang>` names.
async fn page_at(
    f: &Fixture,
    uri: &str,
    accept_language: Option<&str>,
    cookie: Option<&str>,
) -> (String, String) {
    let mut request = Request::get(uri);
    if let Some(value) = accept_language {
        request = request.header(header::ACCEPT_LANGUAGE, value);
    }
    if let Some(value) = cookie {
        request = request.header(header::COOKIE, value);
    }
    let r = send(f, request.body(Body::empty()).unwrap()).await;
    assert_eq!(r.status(), StatusCode::OK, "{uri}");
    let vary = r.headers().get(header::VARY).map(|v| v.to_str().unwrap());
    assert_eq!(vary, Some("accept-language, cookie"));
    let html = body_text(r).await;
    (lang_of(&html), html)
}

/// The login form's answer to a wrong password, in German.
async fn refused_in_german(r: axum::response::Response) {
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let page = body_text(r).await;
    assert_eq!(lang_of(&page), "de");
    assert!(
        page.contains("Benutzername oder Passwort ist falsch."),
        "{page}"
    );
}

/// The language a page's `<html lang>` names.
fn lang_of(html: &str) -> String {
    html.split_once("<html lang=\"")
        .and_then(|(_, rest)| rest.split_once('"'))
        .map(|(lang, _)| lang.to_owned())
        .unwrap()
}

/// The language cookie's value a response sets: `Some("")` when it removes the cookie.
fn language_cookie_set(r: &axum::response::Response) -> Option<String> {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .find_map(|v| v.strip_prefix("gatehouse_language="))
        .map(|rest| {
            let (value, attributes) = rest.split_once(';').unwrap_or((rest, ""));
            if value.is_empty() {
                assert!(attributes.contains("Max-Age=0"), "{attributes}");
            } else {
                // Out of scripts' reach, sent on top-level navigation, kept a year.
                for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=31536000"] {
                    assert!(attributes.contains(attribute), "{attributes}");
                }
            }
            value.to_owned()
        })
}

/// Gives `username`'s account the `locale` claim `locale`, as an administrator would.
async fn speaks(f: &Fixture, username: &str, locale: Option<&str>) {
    let admin = gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let change = gatehouse::admin::ProfileChange {
        locale: Some(locale.map(str::to_owned)),
        ..Default::default()
    };
    admin.update_profile(username, change).await.unwrap();
}

async fn locale_of(f: &Fixture, username: &str) -> Option<String> {
    let user = f.state.store.user_by_username(username).await.unwrap();
    user.unwrap().profile.locale
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
    let r = post_login_from(
        &f,
        &uri,
        "ada",
        "not the password",
        Browser::speaking(Some("de-AT")),
    )
    .await;
    refused_in_german(r).await;

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

/// Sends the login form's language switch of `page` (a login form as served, with the cookies
/// `cookies`) choosing `language`, with what was `typed` into the form (its fields).
async fn switch_to(
    f: &Fixture,
    page: &str,
    cookies: &str,
    language: &str,
    typed: &[(&str, &str)],
) -> axum::http::Response<Body> {
    let mut fields = vec![
        ("csrf", common::hidden_input(page, "csrf")),
        ("language", language.to_owned()),
    ];
    fields.extend(typed.iter().map(|(n, v)| (*n, (*v).to_owned())));
    for name in ["request", "flow"] {
        if page.contains(&format!("name=\"{name}\"")) {
            fields.push((name, common::hidden_input(page, name)));
        }
    }
    let pairs: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let request = form("/login")
        .header(header::COOKIE, cookies)
        .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
        .body(Body::from(encode(&pairs)))
        .unwrap();
    send(f, request).await
}

/// The login form offers its other languages, each in its own; choosing one brings the same
/// form back in it, continuing the same request, and the browser keeps the choice. Nobody is
/// signed in by it, a language not offered changes nothing, and it needs the form's token.
#[tokio::test]
async fn a_person_switches_the_login_form_to_another_language() {
    let f = fixture(|_| {}).await;
    let uri = authorize_uri("web", "&nonce=kept");
    let english = Request::get(&uri)
        .header(header::ACCEPT_LANGUAGE, "en-US,en;q=0.9")
        .body(Body::empty())
        .unwrap();
    let r = send(&f, english).await;
    let form_cookie = cookies(&r);
    let page = body_text(r).await;
    assert!(
        page.contains(
            r#"<button type="submit" form="login" formnovalidate name="language" value="de" lang="de">Deutsch</button>"#
        ),
        "{page}"
    );
    assert!(
        !page.contains(r#"value="en" lang="en""#),
        "not the language it speaks"
    );

    let r = switch_to(&f, &page, &form_cookie, "de", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(language_cookie_set(&r).as_deref(), Some("de"));
    assert!(
        !cookies(&r).contains("gatehouse_session"),
        "nobody signed in"
    );
    let german = body_text(r).await;
    assert_eq!(lang_of(&german), "de");
    assert!(german.contains("<h1>Anmelden</h1>"), "{german}");
    assert!(german.contains(r#"lang="en">English</button>"#), "{german}");
    let request = common::hidden_input(&german, "request");
    assert_eq!(request, common::hidden_input(&page, "request"));

    // The German form signs in, to the same request.
    assert_eq!(common::hidden_input(&german, "chosen"), "de");
    let body = encode(&[
        ("username", "ada"),
        ("password", common::PASSWORD),
        ("csrf", &common::hidden_input(&german, "csrf")),
        ("request", &request),
        ("chosen", "de"),
    ]);
    let signed_in = form("/login")
        .header(
            header::COOKIE,
            format!("{form_cookie}; gatehouse_language=de"),
        )
        .body(Body::from(body))
        .unwrap();
    let r = send(&f, signed_in).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&r)["state"], "st");
    // Chosen in this sign-in, by the person who signed in: kept, though she has no language of
    // her own (a language another person chose in this browser would not be).
    assert_eq!(locale_of(&f, "ada").await, None);
    assert_eq!(language_cookie_set(&r).as_deref(), Some("de"));

    // A language not offered leaves the form as it was; a forged form changes nothing.
    let r = switch_to(&f, &page, &form_cookie, "xx", &[]).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(language_cookie_set(&r), None);
    assert_eq!(lang_of(&body_text(r).await), "en");
    let r = switch_to(&f, &page, "gatehouse_form=forged", "de", &[]).await;
    assert_eq!(language_cookie_set(&r), None);
    assert!(body_text(r).await.contains("expired"));

    // The account page's login form switches too.
    let r = send(&f, get("/account")).await;
    let account_cookie = cookies(&r);
    let page = body_text(r).await;
    let r = switch_to(&f, &page, &account_cookie, "de", &[]).await;
    let german = body_text(r).await;
    assert!(german.contains("<h1>Anmelden</h1>"), "{german}");
    assert_eq!(common::hidden_input(&german, "flow"), "account");
    // Signed in through it, her account page speaks German in this English browser.
    let body = encode(&[
        ("username", "ada"),
        ("password", common::PASSWORD),
        ("csrf", &common::hidden_input(&german, "csrf")),
        ("flow", "account"),
        ("chosen", &common::hidden_input(&german, "chosen")),
    ]);
    let login = form("/login")
        .header(
            header::COOKIE,
            format!("{account_cookie}; gatehouse_language=de"),
        )
        .body(Body::from(body))
        .unwrap();
    let r = send(&f, login).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let browser = format!("{account_cookie}; {}", cookies(&r));
    let (lang, html) = page_at(&f, "/account", Some("en-US,en;q=0.9"), Some(&browser)).await;
    assert_eq!(lang, "de");
    assert!(html.contains("<h1>Ihr Konto</h1>"), "{html}");
}

/// The language buttons send the login form as it is: the username typed and "Keep me signed
/// in" ticked come back in the other language, the password does not, and the sign-in from
/// there is kept. The same on the account page's login form.
#[tokio::test]
async fn switching_the_language_keeps_what_was_typed_and_ticked_but_not_the_password() {
    let f = fixture(|_| {}).await;
    let r = send(&f, get(&authorize_uri("web", ""))).await;
    let form_cookie = cookies(&r);
    let page = body_text(r).await;
    assert!(
        page.contains(r#"form="login" formnovalidate name="language" value="de""#),
        "the buttons send the login form: {page}"
    );
    let typed = [
        ("username", " ada "),
        ("password", "half-typed secret"),
        ("keep", "1"),
    ];
    let r = switch_to(&f, &page, &form_cookie, "de", &typed).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        !cookies(&r).contains("gatehouse_session"),
        "nobody signed in"
    );
    let german = body_text(r).await;
    assert!(german.contains("<h1>Anmelden</h1>"), "{german}");
    assert!(german.contains(r#"name="username" autocomplete="username" required value="ada""#));
    assert!(
        german.contains(r#"name="keep" value="1" checked>"#),
        "{german}"
    );
    assert!(!german.contains("half-typed secret"), "{german}");

    // Signed in from there, as ticked: a kept session.
    let body = encode(&[
        ("username", "ada"),
        ("password", common::PASSWORD),
        ("csrf", &common::hidden_input(&german, "csrf")),
        ("request", &common::hidden_input(&german, "request")),
        ("chosen", "de"),
        ("keep", "1"),
    ]);
    let login = form("/login")
        .header(
            header::COOKIE,
            format!("{form_cookie}; gatehouse_language=de"),
        )
        .body(Body::from(body))
        .unwrap();
    let r = send(&f, login).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(session_max_age(&r), 30 * 24 * 3600);

    // Unticked stays unticked; a name past the longest a username can be comes back cut.
    let long = "b".repeat(100);
    let typed = [("username", long.as_str())];
    let r = send(&f, get("/account")).await;
    let account_cookie = cookies(&r);
    let page = body_text(r).await;
    let german = body_text(switch_to(&f, &page, &account_cookie, "de", &typed).await).await;
    assert_eq!(common::hidden_input(&german, "flow"), "account");
    assert!(
        german.contains(&format!(r#"value="{}""#, "b".repeat(64))),
        "{german}"
    );
    assert!(!german.contains(&"b".repeat(65)), "{german}");
    assert!(german.contains(r#"name="keep" value="1">"#), "{german}");
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
        assert!(
            !html.contains(r#"name="language""#),
            "no other language offered"
        );
    }
    // Nor do an application or a cookie change that.
    let uri = authorize_uri("web", "&ui_locales=en");
    let (lang, _) = page_at(&f, &uri, Some("en"), Some("gatehouse_language=en")).await;
    assert_eq!(lang, "de");
    let r = send(&f, get("/.well-known/openid-configuration")).await;
    assert_eq!(
        json(r).await["ui_locales_supported"],
        serde_json::json!(["de"])
    );
}

/// An application may ask for the language of its sign-in (`ui_locales`, OpenID Connect Core
/// §3.1.2.1): the first of its languages the pages speak, over the browser's, on every page of
/// the sign-in; when it names none they speak, the browser's. Discovery says which there are.
#[tokio::test]
async fn an_application_may_ask_for_the_language_of_its_sign_in() {
    let f = fixture(|_| {}).await;
    let english = Some("en-US,en;q=0.9");
    let uri = authorize_uri("web", "&ui_locales=fr-CA%20de-CH%20en");
    let (lang, html) = page_at(&f, &uri, english, None).await;
    assert_eq!(lang, "de");
    assert!(html.contains("<h1>Anmelden</h1>"), "{html}");
    // The request goes on in the form, and with it the language.
    let r = post_login_from(
        &f,
        &uri,
        "ada",
        "not the password",
        Browser::speaking(english),
    )
    .await;
    refused_in_german(r).await;

    // None the pages speak, or nothing that is a language: the browser's.
    for asked in [
        "&ui_locales=fr%20it",
        "&ui_locales=%3Cscript%3E",
        "&ui_locales=",
    ] {
        let uri = authorize_uri("web", asked);
        assert_eq!(page_at(&f, &uri, Some("de"), None).await.0, "de", "{asked}");
        assert_eq!(page_at(&f, &uri, english, None).await.0, "en", "{asked}");
    }
    // Repeated, it is a malformed request, as any parameter is.
    let uri = authorize_uri("web", "&ui_locales=de&ui_locales=en");
    let r = send(&f, get(&uri)).await;
    assert_eq!(location(&r)["error"], "invalid_request");

    // So may an application signing a person out (RP-Initiated Logout 1.0 §2).
    let (lang, html) = page_at(&f, "/logout?ui_locales=de", english, None).await;
    assert_eq!(lang, "de");
    assert!(html.contains("Sie sind abgemeldet"), "{html}");

    let r = send(&f, get("/.well-known/openid-configuration")).await;
    let metadata = json(r).await;
    assert_eq!(
        metadata["ui_locales_supported"],
        serde_json::json!(["en", "de"])
    );
}

/// A person's own language (their account's `locale`, here given by an administrator) is
/// spoken to them from their sign-in on, and to this browser after it (a cookie), before what
/// an application or the browser asks for; a person with none signing in after them has the
/// pages follow their browser again. A cookie that names no language offered is no choice.
#[tokio::test]
async fn a_person_is_spoken_to_in_their_own_language_from_their_sign_in_on() {
    let f = fixture(|_| {}).await;
    speaks(&f, "ada", Some("de-AT")).await;
    let english = Some("en-US,en;q=0.9");

    // An English browser signs in to an application that asks for consent: the sign-in's
    // answer is the consent page, in German already, and sets the cookie.
    common::add_third_party_client(f.state.store.as_ref(), "payroll").await;
    let r = post_login_from(
        &f,
        &authorize_uri("payroll", ""),
        "ada",
        common::PASSWORD,
        Browser::speaking(english),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(language_cookie_set(&r).as_deref(), Some("de"));
    let html = body_text(r).await;
    assert_eq!(lang_of(&html), "de");
    assert!(html.contains("Erlauben"), "{html}");
    let uri = authorize_uri("web", "");
    let chosen = "gatehouse_language=de";
    let (lang, html) = page_at(&f, &uri, english, Some(chosen)).await;
    assert_eq!(lang, "de");
    assert!(html.contains("<h1>Anmelden</h1>"), "{html}");
    // Before the application's wish, too.
    let asking_english = authorize_uri("web", "&ui_locales=en");
    assert_eq!(
        page_at(&f, &asking_english, english, Some(chosen)).await.0,
        "de"
    );

    // Bob, who has no language of his own, signs in on the same browser: his sign-in's answer
    // is already his browser's, and the cookie goes.
    common::add_user(f.state.store.as_ref(), "bob").await;
    let page = send(
        &f,
        Request::get(&uri)
            .header(header::COOKIE, chosen)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    let cookies = format!("{}; {}", cookies(&page), chosen);
    let html = body_text(page).await;
    assert_eq!(lang_of(&html), "de");
    let body = encode(&[
        ("username", "bob"),
        ("password", common::PASSWORD),
        ("csrf", &common::hidden_input(&html, "csrf")),
        ("request", &common::hidden_input(&html, "request")),
    ]);
    let login = |body: String| {
        form("/login")
            .header(header::COOKIE, &cookies)
            .header(header::ACCEPT_LANGUAGE, "en")
            .body(Body::from(body))
            .unwrap()
    };
    refused_in_german(send(&f, login(body.replace("bob", "nobody"))).await).await;
    // The first-party application gets its code at once.
    let r = send(&f, login(body)).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(language_cookie_set(&r).as_deref(), Some(""));

    // A cookie naming no language offered, or no language at all, chooses nothing.
    let long = format!("gatehouse_language={}", "de".repeat(2_000));
    for cookie in [
        "gatehouse_language=fr",
        "gatehouse_language=de-AT",
        "gatehouse_language=DE",
        "gatehouse_language=",
        long.as_str(),
    ] {
        let (lang, _) = page_at(&f, &uri, english, Some(cookie)).await;
        assert_eq!(lang, "en", "{cookie}");
    }
}

/// On their account page a person chooses their language, or none (their browser's then):
/// stored as their account's `locale` (what applications that see their profile are told),
/// answered in it at once, and set as this browser's cookie. Choosing again what the page
/// shows keeps a `locale` the page cannot show exactly (an administrator's `en-GB`); what the
/// page never offers changes nothing. It needs no recent sign-in.
async fn a_person_chooses_their_language_on_their_account_page(db: Database) {
    let f = fixture_with(db, |_| {}).await;
    let signed_in = account_sign_in(&f, "ada").await;
    let html = account_page(&f, &signed_in).await;
    assert!(
        html.contains(r#"<option value="" selected>As my browser asks</option>"#),
        "{html}"
    );
    assert!(html.contains(r#"<option value="de" lang="de">Deutsch</option>"#));
    // Longer after the sign-in than what protects the account allows: a language protects
    // nothing.
    f.clock.advance(700);
    let choose = |cookies: String, language: &'static str| {
        let f = &f;
        async move {
            let csrf = common::hidden_input(&account_page(f, &cookies).await, "csrf");
            let fields = [
                ("csrf", csrf.as_str()),
                ("action", "save_language"),
                ("language", language),
            ];
            account_post(f, &cookies, &fields).await
        }
    };
    let r = choose(signed_in.clone(), "de").await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(language_cookie_set(&r).as_deref(), Some("de"));
    let html = body_text(r).await;
    assert_eq!(lang_of(&html), "de");
    assert!(html.contains("Ihre Sprache ist gespeichert."), "{html}");
    assert!(html.contains(r#"<option value="de" lang="de" selected>Deutsch</option>"#));
    assert_eq!(locale_of(&f, "ada").await.as_deref(), Some("de"));
    let german = format!("{signed_in}; gatehouse_language=de");
    assert_eq!(lang_of(&account_page(&f, &german).await), "de");
    // Their own page speaks it without the cookie too (a browser they signed in to before).
    assert_eq!(lang_of(&account_page(&f, &signed_in).await), "de");

    // None again: the browser's.
    let r = choose(german.clone(), "").await;
    assert_eq!(language_cookie_set(&r).as_deref(), Some(""));
    let html = body_text(r).await;
    assert_eq!(lang_of(&html), "en");
    assert!(html.contains("Your language is saved."), "{html}");
    assert_eq!(locale_of(&f, "ada").await, None);

    // An administrator's `en-GB` shows as English, and stays when English is chosen again.
    speaks(&f, "ada", Some("en-GB")).await;
    let html = account_page(&f, &signed_in).await;
    assert!(html.contains(r#"<option value="en" lang="en" selected>English</option>"#));
    for unchanged in ["en", "fr", "de-AT", "DE"] {
        let r = choose(signed_in.clone(), unchanged).await;
        assert_eq!(r.status(), StatusCode::OK);
        assert!(
            body_text(r).await.contains("Nothing was changed."),
            "{unchanged}"
        );
        assert_eq!(locale_of(&f, "ada").await.as_deref(), Some("en-GB"));
    }
}

on_both_backends!(();
    a_person_chooses_their_language_on_their_account_page,
);

/// What makes a password easy to guess, and what would be better, is said in the person's
/// language too (zxcvbn's estimate, in the catalogue's words).
#[tokio::test]
async fn a_password_too_easy_to_guess_is_refused_in_the_person_s_language() {
    let f = fixture(|_| {}).await;
    speaks(&f, "ada", Some("de")).await;
    let cookies = account_sign_in(&f, "ada").await;
    assert!(cookies.contains("gatehouse_language=de"), "{cookies}");
    let csrf = common::hidden_input(&account_page(&f, &cookies).await, "csrf");
    let fields = [
        ("csrf", csrf.as_str()),
        ("action", "change_password"),
        ("current_password", common::PASSWORD),
        ("new_password", "password1234"),
        ("repeat_password", "password1234"),
    ];
    let r = account_post(&f, &cookies, &fields).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = body_text(r).await;
    assert!(
        page.contains(
            "Dieses Passwort ist zu leicht zu erraten: Es ist ein sehr häufiges Passwort. Fügen \
             Sie ein oder zwei Wörter hinzu. Ungewöhnliche Wörter sind besser."
        ),
        "{page}"
    );
    assert!(!page.contains("common password"), "{page}");
}
