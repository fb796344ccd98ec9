//! The application through the router, without a socket, with a fixed clock: a fixture with a
//! user `ada`, a confidential client `web` and a public client `spa`, and request helpers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::Response;
use base64::Engine as _;
use gatehouse::clock::FixedClock;
use gatehouse::{AppState, app};
use tower::ServiceExt;

use super::{PASSWORD, REDIRECT, add_client, add_public_client, add_user, hidden_input};

pub const T0: i64 = 1_800_000_000;
pub const CHALLENGE_VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

pub struct Fixture {
    pub state: AppState,
    pub clock: FixedClock,
    pub secret: String,
    pub db: super::backend::Database,
}

/// The fixture on a fresh SQLite file.
pub async fn fixture() -> Fixture {
    let db = super::backend::Database::fresh(super::backend::Backend::Sqlite)
        .await
        .unwrap();
    fixture_on(db).await
}

/// The fixture on the given fresh database.
pub async fn fixture_on(db: super::backend::Database) -> Fixture {
    fixture_with(db, |_| {}).await
}

/// The fixture on `db`, with the server's settings changed by `adjust`.
pub async fn fixture_with(
    db: super::backend::Database,
    adjust: impl FnOnce(&mut gatehouse::config::ServeArgs),
) -> Fixture {
    let clock = FixedClock::at(T0);
    let (state, db) = super::state_with(db, Arc::new(clock.clone()), adjust).await;
    add_user(state.store.as_ref(), "ada").await;
    let secret = add_client(state.store.as_ref(), "web").await;
    add_public_client(state.store.as_ref(), "spa").await;
    Fixture {
        state,
        clock,
        secret,
        db,
    }
}

pub async fn send(f: &Fixture, req: Request<Body>) -> Response {
    app(f.state.clone()).oneshot(req).await.unwrap()
}

/// The body of `r` as text; a page's is checked to give each id to one element only (a label
/// or a button naming an id finds the first element with it).
pub async fn body_text(r: Response) -> String {
    let html = r
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|t| t.as_bytes().starts_with(b"text/html"));
    let text = String::from_utf8(
        axum::body::to_bytes(r.into_body(), 1 << 20)
            .await
            .unwrap()
            .to_vec(),
    )
    .unwrap();
    if html {
        let mut ids: Vec<&str> = text
            .match_indices(" id=\"")
            .map(|(at, _)| {
                let value = &text[at + 5..];
                &value[..value.find('"').unwrap_or(value.len())]
            })
            .collect();
        ids.sort_unstable();
        let twice: Vec<_> = ids.windows(2).filter(|w| w[0] == w[1]).collect();
        assert!(twice.is_empty(), "ids used twice {twice:?} in {text}");
    }
    text
}

pub async fn json(r: Response) -> serde_json::Value {
    serde_json::from_str(&body_text(r).await).unwrap()
}

pub fn get(uri: &str) -> Request<Body> {
    Request::get(uri).body(Body::empty()).unwrap()
}

pub fn form(uri: &str) -> axum::http::request::Builder {
    Request::post(uri).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
}

pub fn encode(pairs: &[(&str, &str)]) -> String {
    serde_urlencoded::to_string(pairs).unwrap()
}

pub fn authorize_uri(client_id: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}&scope=openid&state=st&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

pub fn location(r: &Response) -> HashMap<String, String> {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let loc = r.headers()[header::LOCATION].to_str().unwrap();
    assert!(loc.starts_with(REDIRECT), "{loc}");
    url::Url::parse(loc)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

/// The fields of a redirect to the client that carries them in its fragment
/// (`response_mode=fragment`), its address the redirect URI as registered, with no query added.
pub fn in_fragment(r: &Response) -> HashMap<String, String> {
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let location = r.headers()[header::LOCATION].to_str().unwrap();
    let (uri, fragment) = location.split_once('#').expect("a fragment");
    assert_eq!(
        uri, REDIRECT,
        "the redirect URI as registered, no query added"
    );
    url::form_urlencoded::parse(fragment.as_bytes())
        .into_owned()
        .collect()
}

/// How many seconds the browser is told to keep the session cookie `r` sets (its `Max-Age`).
pub fn session_max_age(r: &Response) -> i64 {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|c| c.to_str().unwrap())
        .find(|c| c.starts_with("gatehouse_session="))
        .and_then(|c| c.split("; ").find_map(|a| a.strip_prefix("Max-Age=")))
        .expect("a session cookie with its age")
        .parse()
        .unwrap()
}

pub fn cookies(r: &Response) -> String {
    r.headers()
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().split(';').next().unwrap().to_owned())
        .collect::<Vec<_>>()
        .join("; ")
}

/// Opens the login form of `authorize` and posts `username` and `password` through it.
pub async fn post_login(f: &Fixture, authorize: &str, username: &str, password: &str) -> Response {
    post_login_from(f, authorize, username, password, Browser::default()).await
}

/// What a browser sends with each request of a sign-in beyond what the sign-in gives it.
#[derive(Debug, Clone, Copy, Default)]
pub struct Browser<'a> {
    /// Its `Accept-Language`.
    pub languages: Option<&'a str>,
    /// The cookies it holds already (a `Cookie` header's value).
    pub cookies: Option<&'a str>,
    /// Its `User-Agent`.
    pub user_agent: Option<&'a str>,
    /// The address it connects from.
    pub from: Option<[u8; 4]>,
    /// Its person ticks "Keep me signed in" on the login form.
    pub keep: bool,
}

impl<'a> Browser<'a> {
    /// A browser asking for `languages` (if any).
    pub fn speaking(languages: Option<&'a str>) -> Self {
        Browser {
            languages,
            ..Browser::default()
        }
    }

    /// A browser holding `cookies`.
    pub fn holding(cookies: &'a str) -> Self {
        Browser {
            cookies: Some(cookies),
            ..Browser::default()
        }
    }

    fn request(
        &self,
        request: axum::http::request::Builder,
        given: &str,
    ) -> axum::http::request::Builder {
        let mut request = match (self.cookies, given) {
            (Some(held), "") => request.header(header::COOKIE, held),
            (Some(held), given) => request.header(header::COOKIE, format!("{held}; {given}")),
            (None, "") => request,
            (None, given) => request.header(header::COOKIE, given),
        };
        if let Some(languages) = self.languages {
            request = request.header(header::ACCEPT_LANGUAGE, languages);
        }
        if let Some(user_agent) = self.user_agent {
            request = request.header(header::USER_AGENT, user_agent);
        }
        if let Some(ip) = self.from {
            let peer = std::net::SocketAddr::from((ip, 40000));
            request = request.extension(axum::extract::ConnectInfo(peer));
        }
        request
    }
}

/// As [`post_login`], from `browser`.
pub async fn post_login_from(
    f: &Fixture,
    authorize: &str,
    username: &str,
    password: &str,
    browser: Browser<'_>,
) -> Response {
    let page = browser.request(axum::http::Request::get(authorize), "");
    let page = send(f, page.body(Body::empty()).unwrap()).await;
    assert_eq!(
        page.status(),
        StatusCode::OK,
        "the login form: {:?}",
        page.headers().get(header::LOCATION)
    );
    let given = cookies(&page);
    let html = body_text(page).await;
    let (csrf, request) = (hidden_input(&html, "csrf"), hidden_input(&html, "request"));
    let mut fields = vec![
        ("username", username),
        ("password", password),
        ("csrf", csrf.as_str()),
        ("request", request.as_str()),
    ];
    if browser.keep {
        fields.push(("keep", "1"));
    }
    let body = encode(&fields);
    let request = browser.request(form("/login"), &given);
    send(f, request.body(Body::from(body)).unwrap()).await
}

/// Signs in through the form and returns the code.
pub async fn code(f: &Fixture, client_id: &str) -> String {
    let r = post_login(f, &authorize_uri(client_id, ""), "ada", PASSWORD).await;
    location(&r)["code"].clone()
}

pub fn basic(id: &str, secret: &str) -> String {
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}"))
    )
}

pub async fn exchange(f: &Fixture, code: &str, verifier: &str, redirect: &str) -> Response {
    let body = encode(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", redirect),
        ("code_verifier", verifier),
    ]);
    send(
        f,
        form("/token")
            .header(header::AUTHORIZATION, basic("web", &f.secret))
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// A form POST to `uri` authenticated as `client_id` with HTTP Basic.
pub async fn post_as(
    f: &Fixture,
    uri: &str,
    client_id: &str,
    secret: &str,
    pairs: &[(&str, &str)],
) -> Response {
    send(
        f,
        form(uri)
            .header(header::AUTHORIZATION, basic(client_id, secret))
            .body(Body::from(encode(pairs)))
            .unwrap(),
    )
    .await
}

/// Who did what the audit records of `kind` about `username` say, newest first.
pub async fn actors_about(
    f: &Fixture,
    username: &str,
    kind: gatehouse::model::AuditKind,
) -> Vec<String> {
    let records = f.state.store.audit_about(username, 0, &[kind], 50).await;
    records
        .unwrap()
        .into_iter()
        .map(|e| e.record.actor)
        .collect()
}

/// `web` presents `refresh_token` at the token endpoint.
pub async fn refresh_at_web(f: &Fixture, refresh_token: &str) -> Response {
    post_as(
        f,
        "/token",
        "web",
        &f.secret,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token),
        ],
    )
    .await
}

/// Access and refresh tokens for `ada` at `web`, through the whole flow.
pub async fn tokens_for_ada(f: &Fixture) -> (String, String, String) {
    let r = json(exchange(f, &code(f, "web").await, CHALLENGE_VERIFIER, REDIRECT).await).await;
    let s = |k: &str| r[k].as_str().unwrap().to_owned();
    (s("access_token"), s("refresh_token"), s("id_token"))
}

/// Makes `username` an administrator (a member of `admins`, made as an operator does on the
/// command line) and signs them in: their browser's cookies.
pub async fn administrator_signed_in(f: &Fixture, username: &str) -> String {
    let ops = gatehouse::admin::Admin::new(f.state.store.as_ref(), "cli", None, T0);
    ops.add_group(gatehouse::admin::NewGroup {
        name: "admins".into(),
        description: None,
        auth_policy: gatehouse::model::AuthPolicy::Password,
    })
    .await
    .unwrap();
    ops.add_member("admins", username).await.unwrap();
    account_sign_in(f, username).await
}

/// Signs `username` in through the account page's login form; the browser's cookies.
pub async fn account_sign_in(f: &Fixture, username: &str) -> String {
    let page = send(f, get("/account")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let form_cookie = cookies(&page);
    let html = body_text(page).await;
    assert!(
        html.contains("to continue to <strong>your account</strong>"),
        "{html}"
    );
    assert_eq!(hidden_input(&html, "flow"), "account");
    let body = encode(&[
        ("username", username),
        ("password", PASSWORD),
        ("csrf", &hidden_input(&html, "csrf")),
        ("flow", "account"),
    ]);
    let r = send(
        f,
        form("/login")
            .header(header::COOKIE, &form_cookie)
            .body(Body::from(body))
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()[header::LOCATION], "account");
    format!("{form_cookie}; {}", cookies(&r))
}

/// The request posting the form `fields` to `path` from a browser holding `cookies`.
pub fn form_as(cookies: &str, path: &str, fields: &[(&str, &str)]) -> Request<Body> {
    form(path)
        .header(header::COOKIE, cookies)
        .body(Body::from(encode(fields)))
        .unwrap()
}

/// The form `fields` posted to `path` from a browser holding `cookies`, whatever it answers.
pub async fn post_form_as(
    f: &Fixture,
    cookies: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> Response {
    send(f, form_as(cookies, path, fields)).await
}

/// `path` from a browser holding `cookies`, whatever it answers.
pub async fn get_as(f: &Fixture, cookies: &str, path: &str) -> Response {
    send(
        f,
        axum::http::Request::get(path)
            .header(header::COOKIE, cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await
}

/// The page at `path` as the browser with `cookies` sees it; it must answer 200.
pub async fn page_as(f: &Fixture, cookies: &str, path: &str) -> String {
    let r = send(
        f,
        axum::http::Request::get(path)
            .header(header::COOKIE, cookies)
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    body_text(r).await
}

/// The account page as the browser with `cookies` sees it; it must answer 200.
pub async fn account_page(f: &Fixture, cookies: &str) -> String {
    page_as(f, cookies, "/account").await
}

/// Posts the account page's form with `fields`.
pub async fn account_post(f: &Fixture, cookies: &str, fields: &[(&str, &str)]) -> Response {
    post_form_as(f, cookies, "/account", fields).await
}
