//! The admin API: who may call it, what it does, what it refuses, and that its OpenAPI
//! document describes exactly the routes and response bodies the server has.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use common::backend::Database;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use axum::response::Response;
use common::oneshot::*;
use common::{add_service_client, add_third_party_client, user};
use serde_json::{Value, json};

/// A browser's `User-Agent`.
const FIREFOX: &str = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";

/// The OpenAPI document and a token with the admin scope.
struct Admin {
    f: Fixture,
    doc: Value,
    token: String,
}

async fn service_token(f: &Fixture, client_id: &str, secret: &str) -> String {
    let r = post_as(
        f,
        "/token",
        client_id,
        secret,
        &[("grant_type", "client_credentials")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    json(r).await["access_token"].as_str().unwrap().to_owned()
}

async fn admin(db: Database) -> Admin {
    admin_of(fixture_on(db).await).await
}

/// The API of the server `f`, with an admin client's token.
async fn admin_of(f: Fixture) -> Admin {
    let secret = add_service_client(f.state.store.as_ref(), "ops", &["admin"]).await;
    let token = service_token(&f, "ops", &secret).await;
    let doc = json(send(&f, get("/admin/api/openapi.json")).await).await;
    Admin { f, doc, token }
}

impl Admin {
    async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Response {
        self.call_with(&self.token, method, uri, body).await
    }

    async fn call_with(
        &self,
        token: &str,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Response {
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"));
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
        send(&self.f, req.body(body).unwrap()).await
    }

    /// Calls the API and checks the answer against the document: the status is one it lists
    /// for the operation, and a JSON body validates against the schema it gives.
    async fn checked(
        &self,
        method: Method,
        template: &str,
        uri: &str,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let r = self.call(method.clone(), uri, body).await;
        let status = r.status();
        // Client secrets and people's data pass through here: no cache may keep an answer.
        assert_eq!(
            r.headers()
                .get(header::CACHE_CONTROL)
                .map(|v| v.to_str().unwrap()),
            Some("no-store"),
            "{method} {uri} answered {status} without Cache-Control: no-store"
        );
        let text = body_text(r).await;
        let op = &self.doc["paths"][template][method.as_str().to_lowercase()];
        assert!(op.is_object(), "{method} {template} is not documented");
        let documented = &op["responses"][status.as_str()];
        assert!(
            documented.is_object(),
            "{method} {uri} answered {status}, which the document does not list: {text}"
        );
        let value: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap()
        };
        match documented["content"]["application/json"]["schema"].clone() {
            Value::Object(mut schema) => {
                schema.insert("components".into(), self.doc["components"].clone());
                let validator = jsonschema::validator_for(&Value::Object(schema)).unwrap();
                let errors: Vec<String> = validator
                    .iter_errors(&value)
                    .map(|e| e.to_string())
                    .collect();
                assert!(errors.is_empty(), "{method} {uri}: {errors:?} in {value}");
            }
            _ => assert!(text.is_empty(), "{method} {uri}: undocumented body {text}"),
        }
        (status, value)
    }
}

/// A passkey link for a person who lost theirs, made through the API where passkeys work: for
/// an account that is enabled, one a minute, audited with the admin client as the actor; its
/// link opens the person's page to add a passkey.
async fn signup_links_are_made_listed_and_removed_through_the_api_as_documented(db: Database) {
    let f = fixture_on(db).await;
    let a = admin_of(f).await;
    let (s, _) = a
        .checked(
            Method::POST,
            "/admin/api/groups",
            "/admin/api/groups",
            Some(json!({"name": "staff"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let links = "/admin/api/signup-links";
    let make = |body: Value| {
        let a = &a;
        async move { a.checked(Method::POST, links, links, Some(body)).await }
    };
    let (s, made) = make(json!({"uses": 3, "note": "the team chat", "groups": ["staff"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{made}");
    assert_eq!(made["domains"], json!([]), "any address unless said");
    assert_eq!(made["expires_at"], T0 + 7 * 24 * 3600, "a week unless said");
    assert_eq!(
        (made["max_uses"].clone(), made["uses"].clone()),
        (json!(3), json!(0))
    );
    assert_eq!(made["groups"], json!(["staff"]));
    assert_eq!(made["created_by"], "admin:ops");
    let path = made["link"]
        .as_str()
        .unwrap()
        .strip_prefix("http://127.0.0.1:8080")
        .unwrap_or_else(|| panic!("{made}"))
        .to_owned();
    let page = body_text(send(&a.f, get(&path)).await).await;
    assert!(page.contains("Make your account"), "{page}");

    for (body, status) in [
        (json!({"uses": 0}), StatusCode::BAD_REQUEST),
        (json!({"days": 91}), StatusCode::BAD_REQUEST),
        (json!({"note": "two\nlines"}), StatusCode::BAD_REQUEST),
        (
            json!({"uses": 1, "secret": "mine"}),
            StatusCode::BAD_REQUEST,
        ),
        (json!({"groups": ["nobody"]}), StatusCode::NOT_FOUND),
        (json!({"domains": ["192.0.2.1"]}), StatusCode::BAD_REQUEST),
        (json!({"domains": ["localhost"]}), StatusCode::BAD_REQUEST),
        (json!({"domains": "corp.example"}), StatusCode::BAD_REQUEST),
    ] {
        let (s, refused) = make(body.clone()).await;
        assert_eq!(s, status, "{body}: {refused}");
    }
    let (s, for_corp) = make(json!({"domains": ["@Corp.Example", "corp.example"]})).await;
    assert_eq!(s, StatusCode::CREATED, "{for_corp}");
    assert_eq!(for_corp["domains"], json!(["corp.example"]));

    // Someone signs up with it: their account keeps its rule until an administrator lifts it.
    use gatehouse::model::AuditKind;
    let secret = for_corp["link"]
        .as_str()
        .unwrap()
        .split_once("token=")
        .unwrap()
        .1;
    let store = a.f.state.store.as_ref();
    let newcomer = gatehouse::model::User {
        id: "newcomer-id".into(),
        username: "newcomer".into(),
        email: "newcomer@corp.example".into(),
        ..common::user(store, "ada").await
    };
    let record = gatehouse::model::AuditRecord::new(T0, AuditKind::SignedUp, "user:newcomer-id");
    let hash = gatehouse::oidc::tokens::hash(secret);
    let signed_up = store.sign_up(&hash, newcomer, None, T0, record).await;
    assert_eq!(signed_up.unwrap(), gatehouse::model::SignedUp::Done);
    let rule = "/admin/api/users/{username}/address-rule";
    let uri = "/admin/api/users/newcomer/address-rule";
    let (s, view) = a.checked(Method::GET, rule, uri, None).await;
    assert_eq!(
        (s, view),
        (StatusCode::OK, json!({"domains": ["corp.example"]}))
    );
    let (s, view) = a.checked(Method::DELETE, rule, uri, None).await;
    assert_eq!(
        (s, view),
        (StatusCode::OK, json!({"domains": ["corp.example"]}))
    );
    let (s, view) = a.checked(Method::GET, rule, uri, None).await;
    assert_eq!((s, view), (StatusCode::OK, json!({"domains": []})));
    let (s, view) = a.checked(Method::DELETE, rule, uri, None).await;
    assert_eq!(
        (s, view),
        (StatusCode::OK, json!({"domains": []})),
        "none to lift"
    );
    // An administrator gives them a rule again, of their own; invalid domains change nothing.
    for body in [
        json!({"domains": []}),
        json!({"domains": ["localhost"]}),
        json!({"domains": ["corp.example", "192.0.2.1"]}),
        json!({"domains": "corp.example"}),
        json!({"domains": ["corp.example"], "also": 1}),
        json!({}),
    ] {
        let (s, refused) = a.checked(Method::PUT, rule, uri, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {refused}");
    }
    let (s, view) = a.checked(Method::GET, rule, uri, None).await;
    assert_eq!((s, view), (StatusCode::OK, json!({"domains": []})));
    let set = json!({"domains": ["Lab.Example", "@corp.example"]});
    let (s, view) = a.checked(Method::PUT, rule, uri, Some(set.clone())).await;
    let both = json!({"domains": ["corp.example", "lab.example"]});
    assert_eq!((s, view), (StatusCode::OK, both.clone()));
    let (s, view) = a.checked(Method::PUT, rule, uri, Some(set)).await;
    assert_eq!((s, view), (StatusCode::OK, both.clone()), "the same again");
    let (s, view) = a.checked(Method::GET, rule, uri, None).await;
    assert_eq!((s, view), (StatusCode::OK, both));
    let rule_set: Vec<_> = store
        .audit_latest(10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind == AuditKind::AddressRuleSet)
        .collect();
    assert_eq!(rule_set.len(), 1, "the same rule again recorded nothing");
    assert_eq!(rule_set[0].record.actor, "admin:ops");
    assert_eq!(rule_set[0].record.subject.as_deref(), Some("newcomer"));
    assert_eq!(
        rule_set[0].record.detail.as_deref(),
        Some("for addresses at corp.example, lab.example (was: an address anywhere)")
    );
    let (s, view) = a.checked(Method::DELETE, rule, uri, None).await;
    assert_eq!(
        (s, view),
        (
            StatusCode::OK,
            json!({"domains": ["corp.example", "lab.example"]})
        )
    );

    let nobody = "/admin/api/users/nobody/address-rule";
    let (s, _) = a.checked(Method::GET, rule, nobody, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = a.checked(Method::DELETE, rule, nobody, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let corp = Some(json!({"domains": ["corp.example"]}));
    let (s, _) = a.checked(Method::PUT, rule, nobody, corp).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let lifted: Vec<_> = store
        .audit_latest(10)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.record.kind == AuditKind::AddressRuleLifted)
        .collect();
    assert_eq!(lifted.len(), 2, "the link's rule, then the administrator's");
    assert_eq!(lifted[0].record.actor, "admin:ops");
    let (s, listed) = a.checked(Method::GET, links, links, None).await;
    assert_eq!(s, StatusCode::OK);
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 2, "refused ones made nothing: {listed:?}");
    let (corp, listed): (Vec<&Value>, Vec<&Value>) =
        listed.iter().partition(|l| l["id"] == for_corp["id"]);
    assert_eq!(corp[0]["domains"], json!(["corp.example"]));
    assert_eq!(listed[0]["id"], made["id"]);
    assert_eq!(listed[0]["usable"], true);
    assert!(listed[0].get("link").is_none(), "never the secret again");

    let one = "/admin/api/signup-links/{id}";
    let uri = format!("/admin/api/signup-links/{}", made["id"].as_str().unwrap());
    let (s, _) = a.checked(Method::DELETE, one, &uri, None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = a.checked(Method::DELETE, one, &uri, None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    assert_eq!(
        send(&a.f, get(&path)).await.status(),
        StatusCode::BAD_REQUEST
    );
    let mut kinds: Vec<_> =
        a.f.state
            .store
            .audit_latest(20)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.record.kind.as_str().starts_with("admin.signup_link."))
            .map(|e| (e.record.kind.as_str(), e.record.actor))
            .collect();
    kinds.sort();
    let by_ops = |kind: &'static str| (kind, "admin:ops".to_owned());
    assert_eq!(
        kinds,
        [
            by_ops("admin.signup_link.made"),
            by_ops("admin.signup_link.made"),
            by_ops("admin.signup_link.removed"),
        ]
    );
}

async fn a_passkey_link_is_made_through_the_api_as_documented(db: Database) {
    let f = fixture_with(db, |args| {
        args.issuer = Some("http://localhost:8080".parse().unwrap());
    })
    .await;
    let a = admin_of(f).await;
    let link = "/admin/api/users/{username}/passkey-link";
    let make = |username: &str| {
        let uri = format!("/admin/api/users/{username}/passkey-link");
        let a = &a;
        async move { a.checked(Method::POST, link, &uri, None).await }
    };
    let (s, made) = make("ada").await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(made["expires_at"], T0 + 24 * 3600, "{made}");
    let url = made["link"].as_str().unwrap();
    let path = url
        .strip_prefix("http://localhost:8080")
        .unwrap_or_else(|| panic!("{made}"));
    assert!(path.starts_with("/new-passkey?token="), "{made}");
    let page = body_text(send(&a.f, get(path)).await).await;
    assert!(
        page.contains("sign in as <strong>ada</strong> again"),
        "{page}"
    );

    let (s, _) = make("ada").await;
    assert_eq!(s, StatusCode::TOO_MANY_REQUESTS, "one a minute");
    let (s, _) = make("nobody").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = a
        .checked(
            Method::PATCH,
            "/admin/api/users/{username}",
            "/admin/api/users/ada",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    a.f.clock.advance(60);
    let (s, refused) = make("ada").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("ada is disabled"),
        "{refused}"
    );
    let made =
        a.f.state
            .store
            .audit_about("ada", 0, gatehouse::model::AuditKind::PERSONAL, 20)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.record.kind == gatehouse::model::AuditKind::PasskeyLinkMade)
            .collect::<Vec<_>>();
    assert_eq!(made.len(), 1, "{made:?}");
    assert_eq!(made[0].record.actor, "admin:ops");
}

/// Ada's wrong passwords pause her sign-ins; the API says until when and lets her in again
/// at once, as documented.
/// An administrator reads what gatehouse holds about Ada, as she would download it: her
/// profile and her activity, no secret, and reading it writes no record.
async fn a_persons_data_is_read_through_the_api_as_documented(db: Database) {
    let a = admin(db).await;
    let login = authorize_uri("web", "");
    let r = post_login(&a.f, &login, "ada", common::PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let records = a.f.state.store.audit_latest(1000).await.unwrap().len();
    let data = "/admin/api/users/{username}/data";
    let (s, doc) = a
        .checked(Method::GET, data, "/admin/api/users/ada/data", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["account"]["username"], "ada");
    assert_eq!(doc["issuer"], "http://127.0.0.1:8080");
    assert!(
        doc["activity"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["what"] == "login.succeeded" && e["by"] == "you"),
        "{doc:#}"
    );
    let ada = common::user(a.f.state.store.as_ref(), "ada").await;
    assert!(!doc.to_string().contains(&ada.password_hash.unwrap()));
    assert_eq!(
        a.f.state.store.audit_latest(1000).await.unwrap().len(),
        records,
        "reading writes no record"
    );
    let (s, _) = a
        .checked(Method::GET, data, "/admin/api/users/nobody/data", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

async fn a_paused_person_is_let_in_again_through_the_api_as_documented(db: Database) {
    let a = admin(db).await;
    let lockout = "/admin/api/users/{username}/lockout";
    let uri = "/admin/api/users/ada/lockout";
    let (s, view) = a.checked(Method::GET, lockout, uri, None).await;
    assert_eq!((s, view), (StatusCode::OK, json!({"paused_until": null})));
    let login = authorize_uri("web", "");
    for _ in 0..4 {
        post_login(&a.f, &login, "ada", "not her password").await;
    }
    let (s, view) = a.checked(Method::GET, lockout, uri, None).await;
    assert_eq!((s, view), (StatusCode::OK, json!({"paused_until": T0 + 1})));

    let (s, done) = a.checked(Method::DELETE, lockout, uri, None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(done, json!({"forgotten": true, "paused_until": T0 + 1}));
    let (_, view) = a.checked(Method::GET, lockout, uri, None).await;
    assert_eq!(view, json!({"paused_until": null}));
    let r = post_login(&a.f, &login, "ada", common::PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, done) = a.checked(Method::DELETE, lockout, uri, None).await;
    assert_eq!(done, json!({"forgotten": false, "paused_until": null}));
    let nobody = "/admin/api/users/nobody/lockout";
    for method in [Method::GET, Method::DELETE] {
        let (s, _) = a.checked(method, lockout, nobody, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
    let unlocked: Vec<_> =
        a.f.state
            .store
            .audit_latest(20)
            .await
            .unwrap()
            .into_iter()
            .filter(|e| e.record.kind == gatehouse::model::AuditKind::UserUnlocked)
            .collect();
    assert_eq!(unlocked.len(), 1, "{unlocked:?}");
    assert_eq!(unlocked[0].record.actor, "admin:ops");
}

async fn only_a_client_credentials_token_with_the_admin_scope_gets_in(db: Database) {
    let a = admin(db).await;
    let store = a.f.state.store.as_ref();
    let (user_token, _, _) = tokens_for_ada(&a.f).await;
    let secret = add_service_client(store, "reporter", &["profile"]).await;
    let narrow = service_token(&a.f, "reporter", &secret).await;

    let anonymous = send(&a.f, get("/admin/api/users")).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert!(
        anonymous.headers()[header::WWW_AUTHENTICATE]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    for (token, status) in [
        ("not-a-token", StatusCode::UNAUTHORIZED),
        (user_token.as_str(), StatusCode::FORBIDDEN),
        (narrow.as_str(), StatusCode::FORBIDDEN),
        (a.token.as_str(), StatusCode::OK),
    ] {
        let r = a
            .call_with(token, Method::GET, "/admin/api/users", None)
            .await;
        assert_eq!(r.status(), status, "{token}");
    }
    // Revoked, the admin token stops working at once.
    let ops_secret = add_service_client(store, "ops2", &["admin"]).await;
    let t = service_token(&a.f, "ops2", &ops_secret).await;
    let r = post_as(&a.f, "/revoke", "ops2", &ops_secret, &[("token", &t)]).await;
    assert_eq!(r.status(), StatusCode::OK);
    let r = a.call_with(&t, Method::GET, "/admin/api/users", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
}

async fn every_documented_operation_exists_and_asks_for_the_admin_token(db: Database) {
    let a = admin(db).await;
    let paths = a.doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 8, "{paths:?}");
    let all = ["get", "post", "put", "patch", "delete"];
    for (template, ops) in paths {
        assert!(template.starts_with("/admin/api/"), "{template}");
        let uri = template
            .replace("{username}", "ada")
            .replace("{client_id}", "web");
        for method in all {
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let req = Request::builder()
                .method(m)
                .uri(&uri)
                .body(Body::empty())
                .unwrap();
            let status = send(&a.f, req).await.status();
            if ops.get(method).is_some() {
                assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {template}");
                let security = &ops[method]["security"];
                assert_eq!(
                    security,
                    &json!([{ "admin_token": [] }]),
                    "{method} {template}"
                );
            } else {
                assert_eq!(
                    status,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {template}"
                );
            }
        }
    }
    assert_eq!(
        a.doc["components"]["securitySchemes"]["admin_token"]["scheme"],
        "bearer"
    );
}

/// Every example the document gives for a request body works: sent as it is, it is accepted
/// with a status the operation documents, and the answer validates against its schema. An
/// example that a tightened rule would refuse fails here, not in someone's first call.
async fn the_documents_examples_are_accepted_as_they_stand(db: Database) {
    let a = admin(db).await;
    // The user and the group a path names.
    let staff = gatehouse::admin::NewGroup {
        name: "staff".into(),
        description: None,
        auth_policy: Default::default(),
    };
    let admin = gatehouse::admin::Admin::new(a.f.state.store.as_ref(), "test", None, 0);
    admin.add_group(staff).await.unwrap();
    let mut tried = Vec::new();
    for (template, ops) in a.doc["paths"].as_object().unwrap() {
        for (method, op) in ops.as_object().unwrap() {
            let schema = &op["requestBody"]["content"]["application/json"]["schema"];
            let Some(name) = schema["$ref"]
                .as_str()
                .and_then(|r| r.strip_prefix("#/components/schemas/"))
            else {
                continue;
            };
            let example = &a.doc["components"]["schemas"][name]["example"];
            if example.is_null() {
                continue;
            }
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let uri = template
                .replace("{username}", "ada")
                .replace("{name}", "staff");
            let (s, answer) = a.checked(m, template, &uri, Some(example.clone())).await;
            assert!(
                s.is_success(),
                "{method} {template} with {example}: {s} {answer}"
            );
            tried.push(name.to_owned());
        }
    }
    tried.sort();
    assert_eq!(
        tried,
        [
            "Claims",
            "Claims",
            "Claims",
            "Claims",
            "NewAddressRule",
            "NewClient",
            "NewGroup",
            "NewSignupLink",
            "NewUser"
        ]
    );
}

async fn users_are_managed_through_the_api_as_documented(db: Database) {
    let a = admin(db).await;
    let (s, created) = a
        .checked(
            Method::POST,
            "/admin/api/users",
            "/admin/api/users",
            Some(json!({"username": "grace", "email": "grace@example.com", "name": "Grace", "password": "glacier umbrella quantum tulip"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(created["username"], "grace");
    assert!(created.get("password_hash").is_none());
    assert_eq!(created["has_password"], true);

    let (_, list) = a
        .checked(Method::GET, "/admin/api/users", "/admin/api/users", None)
        .await;
    let names: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ada", "grace"]);
    // Lengths are in characters, as the document's maxLength counts them.
    let (s, _) = a
        .checked(
            Method::POST,
            "/admin/api/users",
            "/admin/api/users",
            Some(json!({"username": "é".repeat(64), "email": "e@example.com", "password": format!("glacier umbrella quantum tulip {}", "é".repeat(993))})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);

    let one = "/admin/api/users/{username}";
    let (s, _) = a
        .checked(Method::GET, one, "/admin/api/users/grace", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    let (s, _) = a
        .checked(Method::GET, one, "/admin/api/users/nobody", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Bad input is refused and changes nothing.
    let refused = [
        json!({"username": "x y", "email": "x@example.com", "password": "glacier umbrella quantum tulip"}),
        json!({"username": "henry", "email": "nope", "password": "glacier umbrella quantum tulip"}),
        json!({"username": "henry", "email": "h@example.com", "password": "short"}),
        json!({"username": "henry", "email": "h@example.com"}),
        json!({"username": "henry", "email": "h@example.com", "password": "glacier umbrella quantum tulip", "admin": true}),
        json!({"username": "é".repeat(65), "email": "h@example.com", "password": "glacier umbrella quantum tulip"}),
        json!([
            "henry",
            "h@example.com",
            null,
            "glacier umbrella quantum tulip"
        ]),
        json!({"username": "henry", "email": "h@example.com", "password": "é".repeat(1025)}),
    ];
    for body in refused {
        let (s, e) = a
            .checked(
                Method::POST,
                "/admin/api/users",
                "/admin/api/users",
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(e["error"], "invalid_request");
    }
    let r = a.call(Method::POST, "/admin/api/users", None).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST, "no body");
    let (s, _) = a
        .checked(
            Method::POST,
            "/admin/api/users",
            "/admin/api/users",
            Some(json!({"username": "grace", "email": "g2@example.com", "password": "glacier umbrella quantum tulip"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(
        a.f.state
            .store
            .user_by_username("henry")
            .await
            .unwrap()
            .is_none()
    );

    // A refused password leaves the user as it was, disabled flag included.
    let (s, _) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/users/grace",
            Some(json!({"disabled": true, "password": "short"})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(!user(&*a.f.state.store, "grace").await.disabled);
    // A body is an object: serde alone would read the struct from an array of its fields.
    let (s, _) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/users/grace",
            Some(json!([true, null])),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, patched) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/users/grace",
            Some(json!({"disabled": true})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(patched["disabled"], true);

    // The profile and the address: set, cleared with null, kept when absent.
    let (s, patched) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/users/grace",
            Some(
                json!({"given_name": "Grace", "family_name": "Hopper", "locale": "en-US",
                        "picture": "https://example.com/grace.png", "email_verified": true}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (
            patched["given_name"].clone(),
            patched["locale"].clone(),
            patched["email_verified"].clone()
        ),
        (json!("Grace"), json!("en-US"), json!(true))
    );
    assert_eq!(patched["updated_at"], json!(T0), "the fixed clock's now");
    let (_, patched) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/users/grace",
            Some(json!({"picture": null, "email": "grace@navy.example"})),
        )
        .await;
    assert_eq!(patched["picture"], Value::Null);
    assert_eq!(patched["given_name"], "Grace", "absent fields stay");
    assert_eq!(
        patched["email_verified"], false,
        "a new address is not verified"
    );
    // A refused field changes nothing, the others in the same request included.
    for body in [
        json!({"locale": "English!", "given_name": "G"}),
        json!({"picture": "http://example.com/a.png", "given_name": "G"}),
        json!({"picture": "javascript:alert(1)"}),
        json!({"given_name": "two\nlines"}),
        json!({"family_name": "x".repeat(257)}),
        json!({"email": "nope", "given_name": "G"}),
        json!({"given_name": 7}),
    ] {
        let (s, _) = a
            .checked(
                Method::PATCH,
                one,
                "/admin/api/users/grace",
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    }
    let (_, still) = a
        .checked(Method::GET, one, "/admin/api/users/grace", None)
        .await;
    assert_eq!(
        (still["given_name"].clone(), still["email"].clone()),
        (json!("Grace"), json!("grace@navy.example"))
    );

    // Sessions and consents of ada, who signs in to a third-party client.
    add_third_party_client(a.f.state.store.as_ref(), "partner").await;
    let ada = user(&*a.f.state.store, "ada").await;
    a.f.state
        .store
        .grant_consent(&ada.id, "partner", "openid", T0, None)
        .await
        .unwrap();
    tokens_for_ada(&a.f).await;
    // And from a browser that says what it is.
    // ... kept signed in there.
    let firefox = Browser {
        user_agent: Some(FIREFOX),
        from: Some([203, 0, 113, 9]),
        keep: true,
        ..Browser::default()
    };
    let live = ada_signs_in_from(&a, firefox).await;
    let sessions = "/admin/api/users/{username}/sessions";
    let live = live.as_array().unwrap();
    assert_eq!(live.len(), 2);
    let named = live.iter().find(|s| s["user_agent"] == FIREFOX).unwrap();
    assert_eq!(
        (
            &named["browser"],
            &named["system"],
            &named["ip"],
            &named["kept"]
        ),
        (
            &json!("Firefox"),
            &json!("Linux"),
            &json!("203.0.113.9"),
            &json!(true)
        )
    );
    let unnamed = live.iter().find(|s| s["user_agent"].is_null()).unwrap();
    assert_eq!(
        (&unnamed["browser"], &unnamed["ip"], &unnamed["kept"]),
        (&json!(null), &json!(null), &json!(false))
    );
    // The record of that sign-in names the browser too; those of a client's tokens, none.
    let (_, records) = a
        .checked(Method::GET, "/admin/api/audit", "/admin/api/audit", None)
        .await;
    let records = records.as_array().unwrap();
    let signed_in = records
        .iter()
        .rfind(|r| r["kind"] == "login.succeeded")
        .unwrap();
    assert_eq!(
        (
            &signed_in["user_agent"],
            &signed_in["browser"],
            &signed_in["system"],
            &signed_in["ip"]
        ),
        (
            &json!(FIREFOX),
            &json!("Firefox"),
            &json!("Linux"),
            &json!("203.0.113.9")
        )
    );
    assert!(
        records
            .iter()
            .filter(|r| r["kind"] == "token.issued")
            .all(|r| r["user_agent"].is_null() && r["browser"].is_null()),
        "{records:?}"
    );
    let consents = "/admin/api/users/{username}/consents";
    let (_, given) = a
        .checked(Method::GET, consents, "/admin/api/users/ada/consents", None)
        .await;
    assert_eq!(given[0]["client_id"], "partner");
    let one_consent = "/admin/api/users/{username}/consents/{client_id}";
    let (s, _) = a
        .checked(
            Method::DELETE,
            one_consent,
            "/admin/api/users/ada/consents/partner",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = a
        .checked(
            Method::DELETE,
            one_consent,
            "/admin/api/users/ada/consents/partner",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, out) = a
        .checked(
            Method::DELETE,
            sessions,
            "/admin/api/users/ada/sessions",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(out, json!({"sessions": 2, "token_families": 1}));
    let (_, live) = a
        .checked(Method::GET, sessions, "/admin/api/users/ada/sessions", None)
        .await;
    assert_eq!(live, json!([]));

    // Second factors: listed without a secret, and reset (a lost phone).
    let secret = vec![7; 20];
    let factor = gatehouse::model::TotpFactor {
        user_id: ada.id.clone(),
        secret: secret.clone(),
        created_at: T0,
        last_step: None,
    };
    let enrolled =
        gatehouse::model::AuditRecord::new(T0, gatehouse::model::AuditKind::TotpEnrolled, "test");
    a.f.state
        .store
        .enrol_totp(factor, vec!["h1".into(), "h2".into()], enrolled)
        .await
        .unwrap();
    let factors = "/admin/api/users/{username}/factors";
    let (s, had) = a
        .checked(Method::GET, factors, "/admin/api/users/ada/factors", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        had,
        json!({"totp_enrolled_at": T0, "recovery_codes_left": 2, "passkeys": []})
    );
    let (s, removed) = a
        .checked(
            Method::DELETE,
            factors,
            "/admin/api/users/ada/factors",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(removed, had);
    let (_, now) = a
        .checked(Method::GET, factors, "/admin/api/users/ada/factors", None)
        .await;
    assert_eq!(
        now,
        json!({"totp_enrolled_at": null, "recovery_codes_left": 0, "passkeys": []})
    );
    let (s, _) = a
        .checked(
            Method::DELETE,
            factors,
            "/admin/api/users/nobody/factors",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Passkeys do not work with this server's issuer (an IP address): no passkey link.
    let link = "/admin/api/users/{username}/passkey-link";
    let (s, refused) = a
        .checked(
            Method::POST,
            link,
            "/admin/api/users/ada/passkey-link",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("domain name"),
        "{refused}"
    );

    // A person who did without a password, and an administrator who gives her one back.
    common::passkey_instead_of_password(a.f.state.store.as_ref(), &ada.id, T0).await;
    let one = "/admin/api/users/{username}";
    let (_, shown) = a
        .checked(Method::GET, one, "/admin/api/users/ada", None)
        .await;
    assert_eq!(shown["has_password"], false, "{shown}");
    let given = json!({"password": "glacier umbrella quantum tulip"});
    let (s, shown) = a
        .checked(Method::PATCH, one, "/admin/api/users/ada", Some(given))
        .await;
    assert_eq!((s, &shown["has_password"]), (StatusCode::OK, &json!(true)));

    // An account removed is gone: its page, and removing it again, find nobody.
    let one = "/admin/api/users/{username}";
    let (s, _) = a
        .checked(Method::DELETE, one, "/admin/api/users/grace", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    for method in [Method::GET, Method::DELETE] {
        let (s, _) = a.checked(method, one, "/admin/api/users/grace", None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    // Every change is in the audit log, with the API client as the actor.
    let (_, log) = a
        .checked(
            Method::GET,
            "/admin/api/audit",
            "/admin/api/audit?limit=1000",
            None,
        )
        .await;
    let by_admin: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "admin:ops")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        by_admin,
        [
            "admin.user.created",
            "admin.user.created",
            "admin.user.disabled",
            "admin.user.email_set",
            "admin.user.profile_updated",
            "admin.user.email_set",
            "admin.user.profile_updated",
            "admin.consent.revoked",
            "admin.user.logged_out",
            "admin.user.factors_reset",
            "admin.user.password_set",
            "admin.user.removed"
        ]
    );
}

async fn clients_are_managed_through_the_api_as_documented(db: Database) {
    let a = admin(db).await;
    let all = "/admin/api/clients";
    let one = "/admin/api/clients/{client_id}";
    let (s, created) = a
        .checked(
            Method::POST,
            all,
            all,
            Some(json!({"client_id": "shop", "redirect_uris": ["https://shop.example/cb"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let secret = created["client_secret"].as_str().unwrap();
    assert_eq!(created["client"]["public"], false);
    // The secret works at the token endpoint.
    let r = post_as(&a.f, "/introspect", "shop", secret, &[("token", "x")]).await;
    assert_eq!(r.status(), StatusCode::OK);

    let (s, public) = a
        .checked(
            Method::POST,
            all,
            all,
            Some(json!({"client_id": "app", "public": true, "redirect_uris": ["http://127.0.0.1:5173/cb"],
                        "dpop_bound_access_tokens": true, "require_confirmed_address": true})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(public["client_secret"], Value::Null);
    assert_eq!(public["client"]["dpop_bound_access_tokens"], true);
    assert_eq!(public["client"]["require_confirmed_address"], true);
    assert!(
        a.f.state
            .store
            .client("app")
            .await
            .unwrap()
            .unwrap()
            .dpop_bound_access_tokens
    );
    let (s, changed) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/app",
            Some(json!({"dpop_bound_access_tokens": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(changed["dpop_bound_access_tokens"], false);
    assert_eq!(changed["require_confirmed_address"], true, "left as it was");
    let (s, changed) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/app",
            Some(json!({"require_confirmed_address": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(changed["require_confirmed_address"], false);
    let app = a.f.state.store.client("app").await.unwrap().unwrap();
    assert!(!app.require_confirmed_address);
    assert_eq!(changed["access_token_claims"], json!([]), "none by default");
    let (s, changed) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/app",
            Some(json!({"access_token_claims": ["email", "department"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        changed["access_token_claims"],
        json!(["email", "department"])
    );
    let (s, refused) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/app",
            Some(json!({"access_token_claims": ["scope"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .starts_with("access token claim \"scope\""),
        "{refused}"
    );
    // The APIs its tokens may be for: none by default, set (a repeated one kept once), and
    // a URI that cannot be a resource indicator refused with what is wrong.
    assert_eq!(changed["resources"], json!([]), "none by default");
    let (s, changed) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/app",
            Some(json!({"resources": ["https://api.example/", "urn:x", "https://api.example/"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        changed["resources"],
        json!(["https://api.example/", "urn:x"])
    );
    for (resources, said) in [
        (json!(["https://api.example/#top"]), "has a fragment"),
        (json!(["api.example"]), "is not an absolute URI"),
        (
            json!((0..17).map(|i| format!("urn:r:{i}")).collect::<Vec<_>>()),
            "at most 16 resources",
        ),
    ] {
        let (s, refused) = a
            .checked(
                Method::PATCH,
                one,
                "/admin/api/clients/app",
                Some(json!({ "resources": resources })),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{resources}");
        assert!(
            refused["error_description"]
                .as_str()
                .unwrap()
                .contains(said),
            "{refused}"
        );
    }
    let app = a.f.state.store.client("app").await.unwrap().unwrap();
    assert_eq!(
        app.resources,
        ["https://api.example/", "urn:x"],
        "as it was"
    );
    // The APIs a client answers for (it introspects the access tokens issued for them): none
    // by default; none for a public client, which cannot introspect; for a confidential one,
    // each once, checked as resources are.
    assert_eq!(changed["introspects"], json!([]), "none by default");
    let (s, refused) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/app",
            Some(json!({"introspects": ["https://api.example/"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        refused["error_description"]
            .as_str()
            .unwrap()
            .contains("a public client cannot introspect tokens"),
        "{refused}"
    );
    let (s, api) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/shop",
            Some(json!({"introspects": ["https://api.example/", "https://api.example/"]})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(api["introspects"], json!(["https://api.example/"]));
    for (introspects, said) in [
        (json!(["https://api.example/#top"]), "has a fragment"),
        (
            json!((0..17).map(|i| format!("urn:r:{i}")).collect::<Vec<_>>()),
            "at most 16 APIs",
        ),
    ] {
        let (s, refused) = a
            .checked(
                Method::PATCH,
                one,
                "/admin/api/clients/shop",
                Some(json!({ "introspects": introspects })),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{introspects}");
        assert!(
            refused["error_description"]
                .as_str()
                .unwrap()
                .contains(said),
            "{refused}"
        );
    }
    let shop = a.f.state.store.client("shop").await.unwrap().unwrap();
    assert_eq!(shop.introspects, ["https://api.example/"], "as it was");

    for body in [
        json!({"client_id": "bad", "redirect_uris": ["https://x.example/cb#frag"]}),
        json!({"client_id": "bad", "redirect_uris": ["https://x.example/cb"], "scopes": ["admin"]}),
        json!({"client_id": "bad"}),
        json!({"redirect_uris": ["https://x.example/cb"]}),
        json!({"client_id": "bad", "redirect_uris": "https://x.example/cb"}),
    ] {
        let (s, _) = a.checked(Method::POST, all, all, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    }
    assert!(a.f.state.store.client("bad").await.unwrap().is_none());

    // A change keeps the secret; a rotation gives a new one, and the old one works for the
    // overlap.
    let (s, changed) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/shop",
            Some(
                json!({"display_name": "The Shop", "redirect_uris": ["https://shop.example/cb2"],
                       "id_token_signed_response_alg": "EdDSA"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(changed["display_name"], "The Shop");
    assert_eq!(changed["id_token_signed_response_alg"], "EdDSA");
    let r = post_as(&a.f, "/introspect", "shop", secret, &[("token", "x")]).await;
    assert_eq!(r.status(), StatusCode::OK, "the secret stays");
    for body in [
        json!({"redirect_uris": []}),
        json!({"logo_uri": "http://example.com/logo.png"}),
        json!({"client_id": "other"}),
        json!({"scopes": "openid"}),
        // Only the algorithms it has keys for; never a symmetric one or none.
        json!({"id_token_signed_response_alg": "HS256"}),
        json!({"id_token_signed_response_alg": "none"}),
        json!({"id_token_signed_response_alg": "eddsa"}),
        json!({"id_token_signed_response_alg": 256}),
    ] {
        let (s, _) = a
            .checked(
                Method::PATCH,
                one,
                "/admin/api/clients/shop",
                Some(body.clone()),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
    }
    let rotate = "/admin/api/clients/{client_id}/secret";
    let (s, rotated) = a
        .checked(
            Method::POST,
            rotate,
            "/admin/api/clients/shop/secret",
            Some(json!({"overlap": 30})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    let new_secret = rotated["client_secret"].as_str().unwrap();
    for (secret, what) in [(secret, "the old secret"), (new_secret, "the new one")] {
        let r = post_as(&a.f, "/introspect", "shop", secret, &[("token", "x")]).await;
        assert_eq!(r.status(), StatusCode::OK, "{what} during the overlap");
    }
    a.f.clock.advance(30);
    let r = post_as(&a.f, "/introspect", "shop", secret, &[("token", "x")]).await;
    assert_eq!(
        r.status(),
        StatusCode::UNAUTHORIZED,
        "the old secret after it"
    );
    for (uri, body) in [
        ("/admin/api/clients/app/secret", json!({})),
        ("/admin/api/clients/shop/secret", json!({"overlap": -1})),
        ("/admin/api/clients/shop/secret", json!({"overlap": 604801})),
    ] {
        let (s, _) = a
            .checked(Method::POST, rotate, uri, Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{uri} {body}");
    }
    let (s, _) = a
        .checked(
            Method::POST,
            all,
            all,
            Some(json!({"client_id": "shop", "redirect_uris": ["https://shop.example/cb"]})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);

    let (_, list) = a.checked(Method::GET, all, all, None).await;
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["app", "ops", "shop", "spa", "web"]);
    let (s, shop) = a
        .checked(Method::GET, one, "/admin/api/clients/shop", None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert!(shop.get("secret_hash").is_none() && shop.get("client_secret").is_none());
    let (s, _) = a
        .checked(Method::DELETE, one, "/admin/api/clients/shop", None)
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = a
        .checked(Method::GET, one, "/admin/api/clients/shop", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = a
        .checked(Method::DELETE, one, "/admin/api/clients/shop", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The caller cannot remove itself (its own token would die mid-session).
    let (s, refusal) = a
        .checked(Method::DELETE, one, "/admin/api/clients/ops", None)
        .await;
    assert_eq!(s, StatusCode::CONFLICT, "{refusal}");
    assert!(a.f.state.store.client("ops").await.unwrap().is_some());
    let (s, _) = a.checked(Method::GET, all, all, None).await;
    assert_eq!(s, StatusCode::OK, "the caller's token still works");
}

async fn the_audit_log_pages_and_refuses_bad_limits(db: Database) {
    let a = admin(db).await;
    for i in 0..5 {
        let body = json!({"client_id": format!("c{i}"), "public": true, "redirect_uris": ["http://127.0.0.1/cb"]});
        a.call(Method::POST, "/admin/api/clients", Some(body)).await;
    }
    let t = "/admin/api/audit";
    let (_, first) = a
        .checked(Method::GET, t, "/admin/api/audit?after=0&limit=2", None)
        .await;
    let first = first.as_array().unwrap();
    assert_eq!(first.len(), 2);
    let after = first[1]["id"].as_i64().unwrap();
    let (_, rest) = a
        .checked(
            Method::GET,
            t,
            &format!("/admin/api/audit?after={after}"),
            None,
        )
        .await;
    let rest = rest.as_array().unwrap();
    assert!(rest.iter().all(|e| e["id"].as_i64().unwrap() > after));
    let (_, newest) = a
        .checked(Method::GET, t, "/admin/api/audit?limit=1", None)
        .await;
    assert_eq!(newest[0]["subject"], "c4");
    for bad in ["limit=0", "limit=1001", "limit=ten", "after=x"] {
        let (s, _) = a
            .checked(Method::GET, t, &format!("/admin/api/audit?{bad}"), None)
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
}

async fn groups_and_members_are_managed_through_the_api_as_documented(db: Database) {
    let a = admin(db).await;
    let all = "/admin/api/groups";
    let one = "/admin/api/groups/{name}";
    let member = "/admin/api/groups/{name}/members/{username}";
    let (s, created) = a
        .checked(
            Method::POST,
            all,
            all,
            Some(json!({"name": "grafana-admins", "description": "Admins in Grafana"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(created["name"], "grafana-admins");
    let (s, _) = a
        .checked(
            Method::POST,
            all,
            all,
            Some(json!({"name": "grafana-admins"})),
        )
        .await;
    assert_eq!(s, StatusCode::CONFLICT);
    // Names applications could confuse, and fields that are not there, are refused.
    for body in [
        json!({"name": "Grafana-Admins"}),
        json!({"name": "grafana admins"}),
        json!({"name": "аdmins"}),
        json!({"name": ""}),
        json!({"name": "x".repeat(65)}),
        json!({"name": "ok", "description": "two\nlines"}),
        json!({"name": "ok", "description": "x".repeat(1025)}),
        json!({"name": "ok", "members": ["ada"]}),
        json!(["ok"]),
    ] {
        let (s, e) = a.checked(Method::POST, all, all, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}: {e}");
    }

    let (s, m) = a
        .checked(
            Method::PUT,
            member,
            "/admin/api/groups/grafana-admins/members/ada",
            None,
        )
        .await;
    assert_eq!((s, m["changed"].clone()), (StatusCode::OK, json!(true)));
    let (_, m) = a
        .checked(
            Method::PUT,
            member,
            "/admin/api/groups/grafana-admins/members/ada",
            None,
        )
        .await;
    assert_eq!(m["changed"], false, "already a member");
    for uri in [
        "/admin/api/groups/grafana-admins/members/nobody",
        "/admin/api/groups/nothing/members/ada",
    ] {
        let (s, _) = a.checked(Method::PUT, member, uri, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
    }

    // A rename keeps the members; the old name is gone.
    let (s, renamed) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/groups/grafana-admins",
            Some(json!({"name": "grafana-editors", "description": null})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        renamed["description"],
        Value::Null,
        "null removes the description"
    );
    let (s, _) = a
        .checked(Method::GET, one, "/admin/api/groups/grafana-admins", None)
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, members) = a
        .checked(
            Method::GET,
            "/admin/api/groups/{name}/members",
            "/admin/api/groups/grafana-editors/members",
            None,
        )
        .await;
    assert_eq!(members[0]["username"], "ada");
    let (_, groups) = a
        .checked(
            Method::GET,
            "/admin/api/users/{username}/groups",
            "/admin/api/users/ada/groups",
            None,
        )
        .await;
    assert_eq!(groups[0]["name"], "grafana-editors");

    let (_, m) = a
        .checked(
            Method::DELETE,
            member,
            "/admin/api/groups/grafana-editors/members/ada",
            None,
        )
        .await;
    assert_eq!(m["changed"], true);
    let (_, m) = a
        .checked(
            Method::DELETE,
            member,
            "/admin/api/groups/grafana-editors/members/ada",
            None,
        )
        .await;
    assert_eq!(m["changed"], false, "not a member any more");
    // A group that decides who may use a client cannot go while it does.
    let access = "/admin/api/clients/{client_id}/access-groups";
    let (s, now) = a
        .checked(
            Method::PUT,
            access,
            "/admin/api/clients/web/access-groups",
            Some(json!({"groups": ["grafana-editors"]})),
        )
        .await;
    assert_eq!(
        (s, now[0]["name"].clone()),
        (StatusCode::OK, json!("grafana-editors"))
    );
    let (s, e) = a
        .checked(
            Method::DELETE,
            one,
            "/admin/api/groups/grafana-editors",
            None,
        )
        .await;
    assert_eq!(
        (s, e["error"].clone()),
        (StatusCode::CONFLICT, json!("in_use"))
    );
    for (uri, body, status) in [
        (
            "/admin/api/clients/web/access-groups",
            json!({"groups": ["nothing"]}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/admin/api/clients/nothing/access-groups",
            json!({"groups": []}),
            StatusCode::NOT_FOUND,
        ),
        (
            "/admin/api/clients/web/access-groups",
            json!({"groups": "grafana-editors"}),
            StatusCode::BAD_REQUEST,
        ),
        (
            "/admin/api/clients/web/access-groups",
            json!({}),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, _) = a
            .checked(Method::PUT, access, uri, Some(body.clone()))
            .await;
        assert_eq!(s, status, "{uri} {body}");
    }
    let (_, still) = a
        .checked(
            Method::GET,
            access,
            "/admin/api/clients/web/access-groups",
            None,
        )
        .await;
    assert_eq!(
        still[0]["name"], "grafana-editors",
        "a refused change changed nothing"
    );
    let (_, open) = a
        .checked(
            Method::PUT,
            access,
            "/admin/api/clients/web/access-groups",
            Some(json!({"groups": []})),
        )
        .await;
    assert_eq!(open, json!([]), "every user again");
    let (s, _) = a
        .checked(
            Method::DELETE,
            one,
            "/admin/api/groups/grafana-editors",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = a
        .checked(
            Method::DELETE,
            one,
            "/admin/api/groups/grafana-editors",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Every change is in the audit log, with the admin client as its actor.
    let (_, log) = a
        .checked(Method::GET, "/admin/api/audit", "/admin/api/audit", None)
        .await;
    let kinds: Vec<&str> = log
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["actor"] == "admin:ops")
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "admin.group.created",
            "admin.group.member_added",
            "admin.group.updated",
            "admin.group.member_removed",
            "admin.client.access_set",
            "admin.client.access_set",
            "admin.group.deleted",
        ]
    );
}

/// A new username keeps to letters, digits and `.-_@+`: one an application would read as a
/// path, markup or a quote is refused. A name stored before that rule keeps working: it is
/// addressed percent-encoded, reaches that user and no other, its email can be changed, and its
/// owner signs in typing it in any case.
async fn names_outside_the_new_rule_are_refused_and_old_ones_keep_working(db: Database) {
    let a = admin(db).await;
    for (name, said) in [
        ("ops/bot", "not “/”"),
        ("{team}", "not “{”"),
        ("<b>x</b>", "not “<”"),
        ("..", "letter or digit"),
    ] {
        let (s, e) = a
            .checked(
                Method::POST,
                "/admin/api/users",
                "/admin/api/users",
                Some(json!({"username": name, "email": "o@example.com", "password": "glacier umbrella quantum tulip"})),
            )
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{name}");
        let message = e["error_description"].as_str().unwrap_or_default();
        assert!(message.contains(said), "{name}: {e}");
    }
    let (_, list) = a
        .checked(Method::GET, "/admin/api/users", "/admin/api/users", None)
        .await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");

    // Stored before the rule, as an earlier release allowed.
    for name in ["ops/bot", "a/../ada"] {
        common::add_user(a.f.state.store.as_ref(), name).await;
        let encoded = name.replace('/', "%2F");
        let (s, user) = a
            .checked(
                Method::GET,
                "/admin/api/users/{username}",
                &format!("/admin/api/users/{encoded}"),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{name}");
        assert_eq!(user["username"], name);
        let (s, groups) = a
            .checked(
                Method::GET,
                "/admin/api/users/{username}/groups",
                &format!("/admin/api/users/{encoded}/groups"),
                None,
            )
            .await;
        assert_eq!((s, groups), (StatusCode::OK, json!([])), "{name}");
    }
    let (s, user) = a
        .checked(
            Method::PATCH,
            "/admin/api/users/{username}",
            "/admin/api/users/ops%2Fbot",
            Some(json!({"email": "bot@example.com"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{user}");
    assert_eq!(user["email"], "bot@example.com");
    // Unencoded, the slash is a path separator: it names no user.
    let r = a.call(Method::GET, "/admin/api/users/ops/bot", None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let r = post_login(&a.f, &authorize_uri("web", ""), "Ops/Bot", common::PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert!(location(&r).contains_key("code"), "{:?}", location(&r));

    // A client id of punctuation alone is refused; one registered before is still changed.
    let (s, e) = a
        .checked(
            Method::POST,
            "/admin/api/clients",
            "/admin/api/clients",
            Some(json!({"client_id": "-_-", "redirect_uris": ["https://app.example/cb"]})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "{e}");
    common::add_client(a.f.state.store.as_ref(), "_").await;
    let (s, client) = a
        .checked(
            Method::PATCH,
            "/admin/api/clients/{client_id}",
            "/admin/api/clients/_",
            Some(json!({"display_name": "Old app"})),
        )
        .await;
    assert_eq!(
        (s, &client["display_name"]),
        (StatusCode::OK, &json!("Old app")),
        "{client}"
    );
}

async fn users_and_members_are_found_a_page_at_a_time_and_look_alikes_and_bad_queries_refused(
    db: Database,
) {
    let a = admin(db).await;
    for (username, name) in [
        ("grace", "Grace Hopper"),
        ("henry", "Henry"),
        ("greta", "Greta"),
    ] {
        let body = json!({"username": username, "email": format!("{username}@example.com"), "name": name, "password": "glacier umbrella quantum tulip"});
        let r = a.call(Method::POST, "/admin/api/users", Some(body)).await;
        assert_eq!(r.status(), StatusCode::CREATED);
    }
    let t = "/admin/api/users";
    let a = &a;
    // The usernames a listing answers, checked against the document.
    let listed = |template: &'static str, uri: String| async move {
        let (s, list) = a.checked(Method::GET, template, &uri, None).await;
        assert_eq!(s, StatusCode::OK, "{uri}");
        list.as_array()
            .unwrap()
            .iter()
            .map(|u| u["username"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let found = |query: &str| listed(t, format!("{t}?{query}"));
    assert_eq!(found("q=GR").await, ["grace", "greta"]);
    assert_eq!(found("q=%20hopper%20").await, ["grace"]);
    assert_eq!(found("q=henry%40EXAMPLE.com").await, ["henry"]);
    assert_eq!(found("limit=2").await, ["ada", "grace"]);
    assert_eq!(found("limit=2&after=grace").await, ["greta", "henry"]);
    assert_eq!(found("q=gr&limit=1&after=grace").await, ["greta"]);
    assert!(found("q=gr&after=greta").await.is_empty());
    assert_eq!(
        found("").await,
        ["ada", "grace", "greta", "henry"],
        "every user"
    );
    // A name that looks like one taken (all Cyrillic, one script) is refused like the name.
    let body = json!({"username": "ace", "email": "ace@example.com", "password": "glacier umbrella quantum tulip"});
    assert_eq!(
        a.call(Method::POST, t, Some(body)).await.status(),
        StatusCode::CREATED
    );
    for taken in ["GRACE", "\u{430}\u{441}\u{435}"] {
        let body = json!({"username": taken, "email": "x@example.com", "password": "glacier umbrella quantum tulip"});
        let (s, e) = a.checked(Method::POST, t, t, Some(body)).await;
        assert_eq!(s, StatusCode::CONFLICT, "{taken}: {e}");
    }
    let long = format!("q={}", "x".repeat(255));
    // No name holds a NUL (PostgreSQL's text cannot): no one by that name, on both backends.
    for (template, uri) in [
        ("/admin/api/users/{username}", "/admin/api/users/a%00b"),
        ("/admin/api/groups/{name}", "/admin/api/groups/a%00b"),
        ("/admin/api/clients/{client_id}", "/admin/api/clients/a%00b"),
    ] {
        let (s, e) = a.checked(Method::GET, template, uri, None).await;
        assert_eq!(
            (s, &e["error"]),
            (StatusCode::NOT_FOUND, &json!("not_found"))
        );
    }
    let uri = "/admin/api/groups/everyone/members/a%00b";
    let r = a.call(Method::PUT, uri, None).await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    for bad in [
        "limit=0",
        "limit=1001",
        "limit=ten",
        "after=a%00b",
        long.as_str(),
    ] {
        let (s, e) = a.checked(Method::GET, t, &format!("{t}?{bad}"), None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(e["error"], "invalid_request", "{bad}");
    }

    // A group's members, a page at a time too.
    let body = json!({"name": "everyone"});
    let r = a.call(Method::POST, "/admin/api/groups", Some(body)).await;
    assert_eq!(r.status(), StatusCode::CREATED);
    for who in ["henry", "ada", "greta", "grace", "ace"] {
        let path = format!("/admin/api/groups/everyone/members/{who}");
        assert!(a.call(Method::PUT, &path, None).await.status().is_success());
    }
    let m = "/admin/api/groups/{name}/members";
    let page = |query: &str| listed(m, format!("/admin/api/groups/everyone/members?{query}"));
    assert_eq!(page("limit=2").await, ["ace", "ada"]);
    assert_eq!(page("limit=2&after=ada").await, ["grace", "greta"]);
    assert_eq!(page("limit=2&after=greta").await, ["henry"]);
    assert_eq!(page("").await.len(), 5, "every member");
    for bad in ["limit=0", "limit=1001", "after=a%00b"] {
        let uri = format!("/admin/api/groups/everyone/members?{bad}");
        let (s, _) = a.checked(Method::GET, m, &uri, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{bad}");
    }
}

/// A PATCH is made whole or not at all: when one of its changes cannot be written, the
/// password, the disabled flag and the address stay as they were, and nothing is recorded.
async fn a_patch_is_made_whole_or_not_at_all(db: Database) {
    let a = admin(db).await;
    let store = a.f.state.store.as_ref();
    let before = user(store, "ada").await;
    let records = store.audit_latest(100).await.unwrap().len();
    a.f.db.fail_updates_of("user_account", "email").await;
    let patch = json!({
        "password": "glacier umbrella quantum tulip",
        "disabled": true,
        "email": "ada@example.org",
        "name": "Ada Lovelace",
    });
    let r = a
        .call(Method::PATCH, "/admin/api/users/ada", Some(patch))
        .await;
    assert!(r.status().is_server_error(), "{}", r.status());
    assert_eq!(user(store, "ada").await, before, "nothing changed");
    assert_eq!(store.audit_latest(100).await.unwrap().len(), records);

    // Without the address, the rest is made, each change with its record.
    let patch = json!({"password": "glacier umbrella quantum tulip", "disabled": true, "name": "Ada Lovelace"});
    let (s, after) = a
        .checked(
            Method::PATCH,
            "/admin/api/users/{username}",
            "/admin/api/users/ada",
            Some(patch),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        (&after["disabled"], &after["name"]),
        (&json!(true), &json!("Ada Lovelace"))
    );
    assert_ne!(user(store, "ada").await.password_hash, before.password_hash);
    let kinds: Vec<_> = store.audit_latest(100).await.unwrap()[records..]
        .iter()
        .map(|e| e.record.kind.as_str())
        .collect();
    assert_eq!(
        kinds,
        [
            "admin.user.password_set",
            "admin.user.disabled",
            "admin.user.profile_updated"
        ]
    );
}

/// A client that signs its assertions: registered with its public keys, which the API shows
/// and replaces, never a private one, and no secret to rotate.
async fn a_client_with_keys_is_managed_through_the_api_as_documented(db: Database) {
    let a = admin(db).await;
    let all = "/admin/api/clients";
    let one = "/admin/api/clients/{client_id}";
    let key = |alg| gatehouse::oidc::keys::generate(alg, 0).unwrap();
    let jwk =
        |k: &gatehouse::model::SigningKey| serde_json::from_str::<Value>(&k.public_jwk).unwrap();
    let (old, new) = (
        key(gatehouse::model::SigningAlg::Rs256),
        key(gatehouse::model::SigningAlg::Es256),
    );
    let mut private = jwk(&old);
    private["d"] = json!("c2VjcmV0");
    let (s, refused) = a
        .checked(
            Method::POST,
            all,
            all,
            Some(
                json!({"client_id": "signed", "redirect_uris": ["https://s.example/cb"],
                        "jwks": {"keys": [private]}}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(refused.to_string().contains("private"), "{refused}");
    let (s, created) = a
        .checked(
            Method::POST,
            all,
            all,
            Some(
                json!({"client_id": "signed", "redirect_uris": ["https://s.example/cb"],
                        "jwks": {"keys": [jwk(&old)]},
                        "require_pushed_authorization_requests": true,
                        "require_signed_request_object": true}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(created["client_secret"], Value::Null);
    let client = &created["client"];
    assert_eq!(client["token_endpoint_auth_method"], "private_key_jwt");
    assert_eq!(client["public"], false);
    assert_eq!(client["require_pushed_authorization_requests"], true);
    assert_eq!(client["require_signed_request_object"], true);
    assert_eq!(client["jwks"]["keys"][0]["kid"], old.kid.as_str());
    let (s, changed) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/signed",
            Some(json!({"jwks": {"keys": [jwk(&old), jwk(&new)]},
                        "require_pushed_authorization_requests": false,
                        "require_signed_request_object": false})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(changed["jwks"]["keys"][1]["kid"], new.kid.as_str());
    assert_eq!(changed["require_pushed_authorization_requests"], false);
    assert_eq!(changed["require_signed_request_object"], false);
    let rotate = "/admin/api/clients/{client_id}/secret";
    let (s, no_secret) = a
        .checked(
            Method::POST,
            rotate,
            "/admin/api/clients/signed/secret",
            Some(json!({})),
        )
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    assert!(
        no_secret.to_string().contains("authenticates with keys"),
        "{no_secret}"
    );
}

/// A user's and a group's custom claims are read, replaced and merged as the document says;
/// names that are standard claims', values that are `null` or too large, too many claims, and
/// another user's or group's name are refused, and nothing of a refused change is kept.
async fn custom_claims_are_managed_through_the_api_as_documented(db: Database) {
    let a = admin(db).await;
    let user_claims = "/admin/api/users/{username}/claims";
    let group_claims = "/admin/api/groups/{name}/claims";
    let ada = "/admin/api/users/ada/claims";
    let (s, none) = a.checked(Method::GET, user_claims, ada, None).await;
    assert_eq!((s, none), (StatusCode::OK, json!({})));
    let given = json!({"department": "ops", "roles": ["editor", "viewer"]});
    let (s, set) = a
        .checked(Method::PUT, user_claims, ada, Some(given.clone()))
        .await;
    assert_eq!((s, set), (StatusCode::OK, given.clone()));
    // A merge patch (RFC 7396): null removes, the rest is set, the others stay.
    let (s, patched) = a
        .checked(
            Method::PATCH,
            user_claims,
            ada,
            Some(json!({"roles": null, "level": 3})),
        )
        .await;
    let now = json!({"department": "ops", "level": 3});
    assert_eq!((s, patched), (StatusCode::OK, now.clone()));
    let record = &a.f.state.store.audit_latest(1).await.unwrap()[0].record;
    assert_eq!(record.kind.as_str(), "admin.user.claims_set");
    assert_eq!(record.detail.as_deref(), Some("set level; removed roles"));
    let too_many: serde_json::Map<String, Value> =
        (0..33).map(|i| (format!("c{i}"), json!(i))).collect();
    for (method, body) in [
        (Method::PUT, json!({"email": "someone@example.com"})),
        (Method::PUT, json!({"sub": "someone-else"})),
        (Method::PUT, json!({"groups": ["admins"]})),
        (Method::PUT, json!({"1st": true})),
        (Method::PUT, json!({"gone": null})),
        (Method::PUT, json!({"big": "x".repeat(1100)})),
        (Method::PUT, Value::Object(too_many)),
        (Method::PUT, json!(["not", "an", "object"])),
        (Method::PATCH, json!({"department": null, "email": "x"})),
    ] {
        let (s, error) = a
            .checked(method.clone(), user_claims, ada, Some(body.clone()))
            .await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{method} {body}: {error}");
    }
    let (_, kept) = a.checked(Method::GET, user_claims, ada, None).await;
    assert_eq!(kept, now, "nothing of a refused change is kept");
    for method in [Method::GET, Method::PUT, Method::PATCH] {
        let body = (method != Method::GET).then(|| json!({"a": 1}));
        let (s, _) = a
            .checked(method, user_claims, "/admin/api/users/nobody/claims", body)
            .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }

    let (s, _) = a
        .checked(
            Method::POST,
            "/admin/api/groups",
            "/admin/api/groups",
            Some(json!({"name": "ops"})),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    let ops = "/admin/api/groups/ops/claims";
    let tier = json!({"tier": "gold"});
    let (s, set) = a
        .checked(Method::PUT, group_claims, ops, Some(tier.clone()))
        .await;
    assert_eq!((s, set), (StatusCode::OK, tier.clone()));
    let (_, read) = a.checked(Method::GET, group_claims, ops, None).await;
    assert_eq!(read, tier);
    let (s, _) = a
        .checked(
            Method::GET,
            group_claims,
            "/admin/api/groups/none/claims",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
}

/// Ada signs in to an application from `browser`; her sessions as the API lists them.
async fn ada_signs_in_from(a: &Admin, browser: Browser<'_>) -> Value {
    let uri = authorize_uri("web", "");
    let r = post_login_from(&a.f, &uri, "ada", common::PASSWORD, browser).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let sessions = "/admin/api/users/{username}/sessions";
    let (_, live) = a
        .checked(Method::GET, sessions, "/admin/api/users/ada/sessions", None)
        .await;
    live
}

/// A `User-Agent` is the browser's to say, at any length: a session keeps at most 256
/// characters of it, a control character replaced, and shows what it kept.
async fn a_browser_s_oversized_user_agent_is_kept_bounded(db: Database) {
    let a = admin(db).await;
    let mut sent =
        "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0 ".to_owned();
    // A tab: the one control character a header value may hold.
    sent.push('\t');
    sent.push_str(&"x".repeat(64 * 1024));
    let browser = Browser {
        user_agent: Some(&sent),
        ..Browser::default()
    };
    let live = ada_signs_in_from(&a, browser).await;
    let kept = live[0]["user_agent"].as_str().unwrap();
    assert_eq!(kept.chars().count(), 256);
    assert!(kept.contains("Firefox/128.0 \u{fffd}xxx"), "{kept}");
    assert_eq!(live[0]["browser"], "Firefox");
    // The sign-in's record keeps no more of it.
    let (_, records) = a
        .checked(Method::GET, "/admin/api/audit", "/admin/api/audit", None)
        .await;
    let signed_in = records
        .as_array()
        .unwrap()
        .iter()
        .rfind(|r| r["kind"] == "login.succeeded")
        .unwrap();
    assert_eq!(signed_in["user_agent"].as_str(), Some(kept));
}

/// What the document says of an address is what the server does with it: a body the schema
/// takes is created, one it refuses is refused (invisible characters aside, which a pattern
/// cannot name and the server refuses too).
async fn the_document_states_the_address_rule_the_server_keeps(db: Database) {
    let a = admin(db).await;
    let mut schema = a.doc["components"]["schemas"]["NewUser"].clone();
    schema
        .as_object_mut()
        .unwrap()
        .insert("components".into(), a.doc["components"].clone());
    let validator = jsonschema::validator_for(&schema).unwrap();
    let long_local = format!("{}@example.com", "l".repeat(242));
    let too_long = format!("{}@example.com", "l".repeat(243));
    let addresses = [
        ("robert@example.com", true),
        ("rob@ert@example.com", true),
        ("r@x", true),
        (long_local.as_str(), true),
        (too_long.as_str(), false),
        ("robert@", false),
        ("@example.com", false),
        ("robert", false),
        ("robert@example.com@", false),
        ("rob ert@example.com", false),
        ("robert@exa\tmple.com", false),
        ("", false),
    ];
    for (i, (email, good)) in addresses.into_iter().enumerate() {
        let body = json!({
            "username": format!("person{i}"),
            "email": email,
            "password": "glacier umbrella quantum tulip",
        });
        assert_eq!(validator.is_valid(&body), good, "the document on {email:?}");
        let r = a.call(Method::POST, "/admin/api/users", Some(body)).await;
        let expected = if good {
            StatusCode::CREATED
        } else {
            StatusCode::BAD_REQUEST
        };
        assert_eq!(r.status(), expected, "the server on {email:?}");
    }
}

/// A client's subjects through the API: pairwise with its redirect URIs' host or a sector
/// given, refused where neither names one, changed and made public again; the audit names
/// what changed.
async fn pairwise_subjects_are_set_through_the_api_as_documented(db: Database) {
    let a = admin(db).await;
    let all = "/admin/api/clients";
    let one = "/admin/api/clients/{client_id}";
    let (s, created) = a
        .checked(
            Method::POST,
            all,
            all,
            Some(
                json!({"client_id": "shop", "redirect_uris": ["https://shop.example/cb"],
                        "subject_type": "pairwise"}),
            ),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED, "{created}");
    let view = &created["client"];
    assert_eq!(
        (&view["subject_type"], &view["sector_identifier"]),
        (&json!("pairwise"), &json!("shop.example"))
    );
    let (_, web) = a
        .checked(Method::GET, one, "/admin/api/clients/web", None)
        .await;
    assert_eq!(
        (&web["subject_type"], &web["sector_identifier"]),
        (&json!("public"), &Value::Null)
    );

    let long = "a".repeat(254);
    for (body, says) in [
        (
            json!({"client_id": "two", "subject_type": "pairwise",
                   "redirect_uris": ["https://a.example/cb", "https://b.example/cb"]}),
            "several hosts (a.example, b.example)",
        ),
        (
            json!({"client_id": "native", "subject_type": "pairwise", "public": true,
                   "redirect_uris": ["http://127.0.0.1:8400/cb"]}),
            "no redirect URI on a host of its own",
        ),
        (
            json!({"client_id": "odd", "subject_type": "pairwise", "sector_identifier": "a b",
                   "redirect_uris": ["https://a.example/cb"]}),
            "a sector is 1 to 253 characters",
        ),
        (
            json!({"client_id": "odd", "subject_type": "pairwise", "sector_identifier": long,
                   "redirect_uris": ["https://a.example/cb"]}),
            "a sector is 1 to 253 characters",
        ),
        (
            json!({"client_id": "odd", "sector_identifier": "a.example",
                   "redirect_uris": ["https://a.example/cb"]}),
            "only for a client with pairwise subjects",
        ),
        (
            json!({"client_id": "odd", "subject_type": "secret",
                   "redirect_uris": ["https://a.example/cb"]}),
            "unknown subject type \"secret\"",
        ),
    ] {
        let (s, refused) = a.checked(Method::POST, all, all, Some(body.clone())).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{body}");
        let said = refused["error_description"].as_str().unwrap();
        assert!(said.contains(says), "{body}: {said}");
    }
    assert!(a.f.state.store.client("two").await.unwrap().is_none());

    // Whom a sub of the shop's names, and which sub it knows a person by.
    let of_person = "/admin/api/clients/{client_id}/subject";
    let of_sub = "/admin/api/clients/{client_id}/subjects/{sub}";
    let (s, ada) = a
        .checked(
            Method::GET,
            of_person,
            "/admin/api/clients/shop/subject?username=ada",
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK, "{ada}");
    let sub = ada["sub"].as_str().unwrap().to_owned();
    let ada_id = user(a.f.state.store.as_ref(), "ada").await.id;
    assert!(sub.len() == 43 && sub != ada_id, "{ada}");
    let (s, named) = a
        .checked(
            Method::GET,
            of_sub,
            &format!("/admin/api/clients/shop/subjects/{sub}"),
            None,
        )
        .await;
    assert_eq!(
        (s, &named),
        (StatusCode::OK, &json!({"username": "ada", "sub": sub}))
    );
    let (_, public) = a
        .checked(
            Method::GET,
            of_person,
            "/admin/api/clients/web/subject?username=ada",
            None,
        )
        .await;
    assert_eq!(public["sub"], ada_id.as_str(), "a public client's: the id");
    for (template, uri, status) in [
        (
            of_sub,
            format!("/admin/api/clients/shop/subjects/{ada_id}"),
            StatusCode::NOT_FOUND,
        ),
        (
            of_sub,
            "/admin/api/clients/nowhere/subjects/x".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            of_person,
            "/admin/api/clients/shop/subject?username=nobody".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            of_person,
            "/admin/api/clients/nowhere/subject?username=ada".into(),
            StatusCode::NOT_FOUND,
        ),
        (
            of_person,
            "/admin/api/clients/shop/subject".into(),
            StatusCode::BAD_REQUEST,
        ),
    ] {
        let (s, answer) = a.checked(Method::GET, template, &uri, None).await;
        assert_eq!(s, status, "{uri}: {answer}");
    }

    // Two sectors' applications join one; then the shop is public again.
    let (s, changed) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/shop",
            Some(json!({"sector_identifier": "retail.example"})),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(changed["sector_identifier"], "retail.example");
    let (_, public) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/shop",
            Some(json!({"subject_type": "public"})),
        )
        .await;
    assert_eq!(
        (&public["subject_type"], &public["sector_identifier"]),
        (&json!("public"), &Value::Null)
    );
    let (s, _) = a
        .checked(
            Method::PATCH,
            one,
            "/admin/api/clients/shop",
            Some(json!({"sector_identifier": "retail.example"})),
        )
        .await;
    assert_eq!(
        s,
        StatusCode::BAD_REQUEST,
        "a sector without pairwise subjects"
    );
    let log = a.f.state.store.audit_latest(10).await.unwrap();
    let details: Vec<(&str, Option<&str>)> = log
        .iter()
        .filter(|e| e.record.kind == gatehouse::model::AuditKind::ClientUpdated)
        .map(|e| {
            (
                e.record.subject.as_deref().unwrap_or_default(),
                e.record.detail.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        details,
        [
            ("shop", Some("fields=sector_identifier")),
            ("shop", Some("fields=subject_type"))
        ],
        "each change names what it changed"
    );
}

on_both_backends!(();
    a_persons_data_is_read_through_the_api_as_documented,
    a_paused_person_is_let_in_again_through_the_api_as_documented,
    pairwise_subjects_are_set_through_the_api_as_documented,
    a_browser_s_oversized_user_agent_is_kept_bounded,
    custom_claims_are_managed_through_the_api_as_documented,
    a_client_with_keys_is_managed_through_the_api_as_documented,
    a_patch_is_made_whole_or_not_at_all,
    users_and_members_are_found_a_page_at_a_time_and_look_alikes_and_bad_queries_refused,
    only_a_client_credentials_token_with_the_admin_scope_gets_in,
    every_documented_operation_exists_and_asks_for_the_admin_token,
    the_documents_examples_are_accepted_as_they_stand,
    users_are_managed_through_the_api_as_documented,
    a_passkey_link_is_made_through_the_api_as_documented,
    signup_links_are_made_listed_and_removed_through_the_api_as_documented,
    clients_are_managed_through_the_api_as_documented,
    the_audit_log_pages_and_refuses_bad_limits,
    groups_and_members_are_managed_through_the_api_as_documented,
    names_outside_the_new_rule_are_refused_and_old_ones_keep_working,
    the_document_states_the_address_rule_the_server_keeps,
);
