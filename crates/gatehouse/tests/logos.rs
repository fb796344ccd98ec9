//! Applications' logos: given by an administrator (through the admin API, on the administration
//! pages, or on the command line), checked as the deployment's logo is, served by gatehouse
//! itself for browsers to keep until they change, and shown with the application's name where
//! people sign in to it and allow it, and on their account page.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::Response;
use common::backend::Database;
use common::cli::{gatehouse, ok, refused};
use common::oneshot::*;
use common::{PASSWORD, PNG, add_service_client, add_third_party_client, add_user, hidden_input};
use gatehouse::model::{AuditKind, AuditQuery};

const SVG: &[u8] = b"<?xml version=\"1.0\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" \
                     width=\"8\" height=\"8\"><circle cx=\"4\" cy=\"4\" r=\"4\"/></svg>";

/// An access token of a client with the admin scope.
async fn admin_token(f: &Fixture) -> String {
    let secret = add_service_client(f.state.store.as_ref(), "ops", &["admin"]).await;
    let r = post_as(
        f,
        "/token",
        "ops",
        &secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    json(r).await["access_token"].as_str().unwrap().to_owned()
}

async fn api(f: &Fixture, token: &str, method: Method, uri: &str, body: Vec<u8>) -> Response {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, "image/png")
        .body(Body::from(body))
        .unwrap();
    send(f, req).await
}

async fn logo_changes(f: &Fixture) -> Vec<String> {
    let query = AuditQuery {
        kind_prefix: Some(AuditKind::ClientUpdated.as_str().into()),
        limit: 50,
        ..AuditQuery::default()
    };
    let records = f.state.store.audit_query(query).await.unwrap();
    records
        .into_iter()
        .filter_map(|e| e.record.detail)
        .filter(|d| d.starts_with("fields=logo"))
        .collect()
}

fn header_of(r: &Response, name: header::HeaderName) -> &str {
    r.headers().get(&name).map_or("", |v| v.to_str().unwrap())
}

/// The path and query of a URL under the issuer.
fn local(f: &Fixture, url: &str) -> String {
    url.strip_prefix(&f.state.config.issuer)
        .unwrap_or_else(|| panic!("{url} is not under the issuer"))
        .to_owned()
}

/// Through the admin API: the image given is served as what its bytes are, kept by browsers
/// at its versioned address and asked about again at any other; the same image again changes
/// nothing; what is no image, or too large, is refused and changes nothing; an unknown client is
/// not found; taking the logo away leaves nothing served.
async fn a_logo_given_through_the_api_is_served_and_kept_until_it_changes(db: Database) {
    let f = fixture_on(db).await;
    let token = admin_token(&f).await;
    let put = |uri: &'static str, body: &[u8]| api(&f, &token, Method::PUT, uri, body.to_vec());

    let r = put("/admin/api/clients/web/logo", PNG).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-store");
    let set = json(r).await;
    assert_eq!(set["content_type"], "image/png");
    assert_eq!(set["changed"], true);
    let url = set["url"].as_str().unwrap().to_owned();
    let prefix = format!("{}/clients/web/logo?v=", f.state.config.issuer);
    assert!(url.starts_with(&prefix), "{url}");

    // Served as it was given, for a browser to keep; opened on its own, it runs nothing.
    let r = send(&f, get(&local(&f, &url))).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(header_of(&r, header::CONTENT_TYPE), "image/png");
    assert!(header_of(&r, header::CACHE_CONTROL).contains("immutable"));
    assert!(header_of(&r, header::CONTENT_SECURITY_POLICY).contains("sandbox"));
    assert_eq!(header_of(&r, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let etag = header_of(&r, header::ETAG).to_owned();
    let bytes = axum::body::to_bytes(r.into_body(), usize::MAX)
        .await
        .unwrap();
    assert_eq!(&bytes[..], PNG);
    // The bare address is asked about again on each use: unchanged, 304.
    let r = send(&f, get("/clients/web/logo")).await;
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");
    let conditional = Request::get("/clients/web/logo")
        .header(header::IF_NONE_MATCH, &etag)
        .body(Body::empty())
        .unwrap();
    assert_eq!(
        send(&f, conditional).await.status(),
        StatusCode::NOT_MODIFIED
    );

    // The client's view names the version, alone and in the list.
    let version = url.rsplit("?v=").next().unwrap().to_owned();
    let view = |uri: &'static str| api(&f, &token, Method::GET, uri, vec![]);
    let one = json(view("/admin/api/clients/web").await).await;
    assert_eq!(one["logo_version"], version.as_str());
    let all = json(view("/admin/api/clients").await).await;
    let listed: Vec<(&str, &serde_json::Value)> = all
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["client_id"].as_str().unwrap(), &c["logo_version"]))
        .collect();
    assert!(
        listed.contains(&("web", &version.as_str().into())),
        "{listed:?}"
    );
    assert!(
        listed.contains(&("spa", &serde_json::Value::Null)),
        "{listed:?}"
    );

    // The same image again: nothing changes, nothing is audited.
    let again = json(put("/admin/api/clients/web/logo", PNG).await).await;
    assert_eq!(
        (again["changed"].clone(), again["url"].clone()),
        (false.into(), url.clone().into())
    );
    assert_eq!(logo_changes(&f).await.len(), 1);

    // Another image: another address; the old one now answers with the new image, revalidated.
    let svg = json(put("/admin/api/clients/web/logo", SVG).await).await;
    assert_eq!(
        (svg["content_type"].as_str(), svg["changed"].as_bool()),
        (Some("image/svg+xml"), Some(true))
    );
    assert_ne!(svg["url"], url.as_str());
    let r = send(&f, get(&local(&f, &url))).await;
    assert_eq!(header_of(&r, header::CONTENT_TYPE), "image/svg+xml");
    assert_eq!(header_of(&r, header::CACHE_CONTROL), "no-cache");

    // No image, an image too large, an image far too large for any request: refused, unchanged.
    let mut large = PNG.to_vec();
    large.resize(gatehouse::branding::MAX_LOGO_BYTES + 1, 0);
    for (body, status, said) in [
        (
            &b"<html><script>alert(1)</script></html>"[..],
            StatusCode::BAD_REQUEST,
            "not a PNG, JPEG, WebP or SVG image",
        ),
        (
            &b""[..],
            StatusCode::BAD_REQUEST,
            "not a PNG, JPEG, WebP or SVG image",
        ),
        (&large[..], StatusCode::BAD_REQUEST, "too large"),
        (&[0u8; 400 * 1024][..], StatusCode::PAYLOAD_TOO_LARGE, ""),
    ] {
        let r = put("/admin/api/clients/web/logo", body).await;
        assert_eq!(r.status(), status, "{} bytes", body.len());
        assert!(body_text(r).await.contains(said), "{said}");
    }
    let kept = f.state.store.client_logo("web").await.unwrap().unwrap();
    assert_eq!(kept.content_type, "image/svg+xml");
    assert_eq!(logo_changes(&f).await.len(), 2);

    // No such client: 404, whether given a logo or having it taken away.
    let r = put("/admin/api/clients/nobody/logo", PNG).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = api(
        &f,
        &token,
        Method::DELETE,
        "/admin/api/clients/nobody/logo",
        vec![],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    // Without the admin token, nothing.
    let r = api(
        &f,
        "made-up",
        Method::PUT,
        "/admin/api/clients/web/logo",
        PNG.to_vec(),
    )
    .await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    // Taken away: nothing served, at either address; taking it away again changes nothing.
    for _ in 0..2 {
        let r = api(
            &f,
            &token,
            Method::DELETE,
            "/admin/api/clients/web/logo",
            vec![],
        )
        .await;
        assert_eq!(r.status(), StatusCode::NO_CONTENT);
    }
    for uri in [local(&f, &url), "/clients/web/logo".to_owned()] {
        assert_eq!(
            send(&f, get(&uri)).await.status(),
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
    let changes = logo_changes(&f).await;
    assert_eq!(changes.len(), 3, "{changes:?}");
    assert_eq!(changes[0], "fields=logo removed");
    let one = json(api(&f, &token, Method::GET, "/admin/api/clients/web", vec![]).await).await;
    assert_eq!(one["logo_version"], serde_json::Value::Null);
}

/// Only the requests that carry an image may be larger than a form: every other keeps the
/// server's limit. Addresses no client can have are not looked up.
async fn only_an_image_may_be_larger_than_a_form(db: Database) {
    let f = fixture_on(db).await;
    let token = admin_token(&f).await;
    let big = "x".repeat(100 * 1024);
    let json_body = format!("{{\"client_id\":\"{big}\"}}");
    // Said by its length, and sent in chunks without one: the limit stops it being read.
    for length in [Some(json_body.len()), None] {
        let mut request = Request::post("/admin/api/clients")
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, "application/json");
        if let Some(length) = length {
            request = request.header(header::CONTENT_LENGTH, length);
        }
        let r = send(&f, request.body(Body::from(json_body.clone())).unwrap()).await;
        assert_eq!(
            r.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "the admin API, length {length:?}"
        );
    }
    // Forms, each with its length as browsers and HTTP libraries send it.
    for (uri, size, what) in [
        ("/token", 100, "the token endpoint"),
        ("/admin/clients/web", 100, "an administration form"),
        (
            "/admin/clients/web/logo",
            300,
            "the logo's form, past its own limit",
        ),
    ] {
        let body = format!("csrf={}", "x".repeat(size * 1024));
        let request = form(uri)
            .header(header::CONTENT_LENGTH, body.len())
            .body(Body::from(body))
            .unwrap();
        assert_eq!(
            send(&f, request).await.status(),
            StatusCode::PAYLOAD_TOO_LARGE,
            "{what}"
        );
    }
    // A logo's address naming no client that could exist: not found, asked of no store.
    let long = "a".repeat(200);
    for uri in [
        "/clients/%00/logo".to_owned(),
        format!("/clients/{long}/logo"),
        "/clients/nobody/logo".to_owned(),
    ] {
        assert_eq!(
            send(&f, get(&uri)).await.status(),
            StatusCode::NOT_FOUND,
            "{uri}"
        );
    }
}

/// People see an application's logo with its name where they sign in to it and allow it, and on
/// their account page's list of applications; an application without one is shown by its name
/// alone.
async fn people_see_the_logo_beside_the_applications_name(db: Database) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    add_third_party_client(store, "partner").await;
    let ops = gatehouse::admin::Admin::new(store, "cli", None, T0);
    let patch = gatehouse::admin::ClientPatch {
        display_name: Some(Some("Partner Wiki".into())),
        home_uri: Some(Some("https://partner.example/".into())),
        ..Default::default()
    };
    ops.update_client("partner", patch).await.unwrap();

    // Without a logo: the name alone.
    let sign_in = body_text(send(&f, get(&authorize_uri("partner", ""))).await).await;
    assert!(!sign_in.contains("class=\"app-logo"), "{sign_in}");
    let r = post_login(&f, &authorize_uri("partner", ""), "ada", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::OK);
    let consent = body_text(r).await;
    assert!(consent.contains("Partner Wiki"), "{consent}");
    assert!(!consent.contains("class=\"app-logo"), "{consent}");

    assert!(
        ops.give_client_logo("partner", PNG.to_vec())
            .await
            .unwrap()
            .changed
    );
    let version = store.client_logo_version("partner").await.unwrap().unwrap();
    let src = format!(
        "src=\"{}/clients/partner/logo?v={version}\"",
        f.state.config.issuer
    );
    let sign_in = body_text(send(&f, get(&authorize_uri("partner", ""))).await).await;
    assert!(sign_in.contains(&src), "{sign_in}");
    let r = post_login(
        &f,
        &authorize_uri("partner", "&prompt=login"),
        "ada",
        PASSWORD,
    )
    .await;
    let consent = body_text(r).await;
    assert!(consent.contains(&src), "{consent}");
    assert!(consent.contains("Partner Wiki"), "{consent}");

    let cookies = account_sign_in(&f, "ada").await;
    let account = account_page(&f, &cookies).await;
    let start = account.find("ul class=\"applications\"").unwrap();
    let list = &account[start..start + account[start..].find("</ul>").unwrap()];
    assert!(list.contains(&src), "{list}");
    assert!(list.contains("Partner Wiki"), "{list}");
}

/// The multipart form the administration page sends: `fields`, then the image as a file.
fn multipart(fields: &[(&str, &str)], image: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----gatehouse-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    }
    if let Some(image) = image {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"image\"; \
                 filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(image);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

async fn post_logo_form(
    f: &Fixture,
    cookies: &str,
    fields: &[(&str, &str)],
    image: Option<&[u8]>,
) -> Response {
    let (content_type, body) = multipart(fields, image);
    send(
        f,
        Request::post("/admin/clients/web/logo")
            .header(header::COOKIE, cookies)
            .header(header::CONTENT_TYPE, content_type)
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// On an application's administration page: an administrator uploads a logo, sees it, and
/// removes it; what is no image is refused in words; a form not from their page, someone who is
/// no administrator, and a body that is not the page's form change nothing.
async fn an_administrator_uploads_and_removes_a_logo_on_the_applications_page(db: Database) {
    let f = fixture_on(db).await;
    add_user(f.state.store.as_ref(), "bob").await;
    let ada = administrator_signed_in(&f, "ada").await;
    let page = page_as(&f, &ada, "/admin/clients/web").await;
    assert!(page.contains("enctype=\"multipart/form-data\""), "{page}");
    let csrf = hidden_input(&page, "csrf");

    let r = post_logo_form(&f, &ada, &[("csrf", &csrf), ("action", "logo")], Some(PNG)).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = body_text(r).await;
    assert!(page.contains("The logo is saved."), "{page}");
    let version = f
        .state
        .store
        .client_logo_version("web")
        .await
        .unwrap()
        .unwrap();
    assert!(
        page.contains(&format!("/clients/web/logo?v={version}")),
        "{page}"
    );
    assert_eq!(
        logo_changes(&f).await,
        [format!("fields=logo version={version}")]
    );
    let listed = page_as(&f, &ada, "/admin/clients").await;
    assert!(
        listed.contains(&format!("/clients/web/logo?v={version}")),
        "{listed}"
    );

    // Not an image: said on the page, nothing changed.
    let r = post_logo_form(
        &f,
        &ada,
        &[("csrf", &csrf), ("action", "logo")],
        Some(b"GIF89a"),
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    let page = body_text(r).await;
    assert!(
        page.contains("not a PNG, JPEG, WebP or SVG image"),
        "{page}"
    );
    // A made-up form token, or another person's browser with Ada's: refused, nothing changed.
    let bob = account_sign_in(&f, "bob").await;
    for (cookies, token) in [(&ada, "made-up"), (&bob, csrf.as_str())] {
        let fields = [("csrf", token), ("action", "remove")];
        let r = post_logo_form(&f, cookies, &fields, None).await;
        assert!(r.status().is_client_error(), "{}", r.status());
    }
    // Not the page's form: a body that is not multipart, a field twice, a field it has not.
    let not_multipart = send(
        &f,
        form("/admin/clients/web/logo")
            .header(header::COOKIE, &ada)
            .body(Body::from(encode(&[("csrf", &csrf), ("action", "remove")])))
            .unwrap(),
    )
    .await;
    assert_eq!(not_multipart.status(), StatusCode::BAD_REQUEST);
    for fields in [
        vec![
            ("csrf", csrf.as_str()),
            ("action", "remove"),
            ("action", "logo"),
        ],
        vec![("csrf", csrf.as_str()), ("action", "remove"), ("note", "x")],
        vec![("csrf", csrf.as_str()), ("action", "logo")],
    ] {
        let r = post_logo_form(&f, &ada, &fields, None).await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{fields:?}");
    }
    assert_eq!(
        f.state.store.client_logo_version("web").await.unwrap(),
        Some(version)
    );

    // Removed.
    let r = post_logo_form(&f, &ada, &[("csrf", &csrf), ("action", "remove")], None).await;
    assert_eq!(r.status(), StatusCode::OK);
    let page = body_text(r).await;
    assert!(page.contains("The logo is removed."), "{page}");
    assert!(!page.contains("/clients/web/logo?v="), "{page}");
    assert_eq!(f.state.store.client_logo("web").await.unwrap(), None);
}

/// On the command line: `client logo` gives a client an image from a file and takes it away;
/// a file that is no image, too large or missing is refused with why.
#[tokio::test]
async fn the_command_line_gives_a_logo_and_takes_it_away() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("g.db").display());
    let run = |args: &[&str]| gatehouse(&db, args, None);
    ok(&run(&[
        "client",
        "add",
        "--client-id",
        "wiki",
        "--redirect-uri",
        "https://wiki.example/cb",
    ]));
    let png = dir.path().join("logo.png");
    std::fs::write(&png, PNG).unwrap();
    let png = png.to_str().unwrap();
    let out = ok(&run(&["client", "logo", "wiki", "--image", png]));
    assert_eq!(out.trim(), "client wiki has the new logo");
    let out = ok(&run(&["client", "logo", "wiki", "--image", png]));
    assert_eq!(out.trim(), "client wiki had this logo already");
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&run(&["client", "list", "--json"]))).unwrap();
    assert_eq!(listed[0]["logo_version"].as_str().map(str::len), Some(16));

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "not an image").unwrap();
    refused(
        &run(&["client", "logo", "wiki", "--image", text.to_str().unwrap()]),
        "not a PNG, JPEG, WebP or SVG image",
    );
    let huge = dir.path().join("huge.png");
    std::fs::write(&huge, vec![0u8; 300 * 1024]).unwrap();
    refused(
        &run(&["client", "logo", "wiki", "--image", huge.to_str().unwrap()]),
        "307200 bytes is too large",
    );
    refused(
        &run(&["client", "logo", "wiki", "--image", "/nonexistent/logo.png"]),
        "--image /nonexistent/logo.png",
    );
    refused(
        &run(&["client", "logo", "nobody", "--image", png]),
        "not found",
    );
    refused(&run(&["client", "logo", "wiki"]), "--image");

    let out = ok(&run(&["client", "logo", "wiki", "--remove"]));
    assert_eq!(out.trim(), "client wiki has no logo now");
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&run(&["client", "list", "--json"]))).unwrap();
    assert_eq!(listed[0]["logo_version"], serde_json::Value::Null);
    let out = ok(&run(&["client", "logo", "wiki", "--remove"]));
    assert_eq!(out.trim(), "client wiki had no logo");
    let log = ok(&run(&["audit", "tail"]));
    assert_eq!(log.matches("fields=logo").count(), 2, "{log}");
}

on_both_backends!(();
    a_logo_given_through_the_api_is_served_and_kept_until_it_changes,
    only_an_image_may_be_larger_than_a_form,
    people_see_the_logo_beside_the_applications_name,
    an_administrator_uploads_and_removes_a_logo_on_the_applications_page,
);
