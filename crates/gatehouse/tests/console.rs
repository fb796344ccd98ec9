//! The administration pages through the router with a fixed clock: only the administrators'
//! group gets in (anyone else: 403, audited), changes go through the same operations as the
//! CLI with the administrator as the actor, need a recent sign-in and the administrator's own
//! form, and the audit log is filtered and paged.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use axum::body::Body;
use axum::http::{StatusCode, header};
use common::backend::Database;
use common::oneshot::*;
use common::{add_user, hidden_input, user};
use gatehouse::admin::{Admin, NewGroup};
use gatehouse::model::{AuditKind, AuditQuery, AuditRecord, ClaimOwner};

/// A phone's browser's `User-Agent`.
const IPHONE: &str = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 \
                      (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1";

/// Ada, an administrator (in `admins`), and Bob, who is not; Ada's browser.
async fn with_admin(db: Database) -> (Fixture, String) {
    let f = fixture_on(db).await;
    let store = f.state.store.as_ref();
    add_user(store, "bob").await;
    let cookies = administrator_signed_in(&f, "ada").await;
    (f, cookies)
}

/// The audit records whose kind starts with `prefix`, newest first.
async fn records(f: &Fixture, prefix: &str) -> Vec<gatehouse::model::AuditEvent> {
    let query = AuditQuery {
        kind_prefix: Some(prefix.into()),
        limit: 50,
        ..AuditQuery::default()
    };
    f.state.store.audit_query(query).await.unwrap()
}

async fn only_administrators_get_in(db: Database) {
    let (f, ada) = with_admin(db).await;
    // Every page, whether or not what it names exists.
    let pages = [
        "/admin",
        "/admin/audit",
        "/admin/users/ada",
        "/admin/groups",
        "/admin/groups/nobody-made-this",
        "/admin/clients",
        "/admin/clients/app",
        "/admin/keys",
        "/admin/signup-links",
    ];
    for path in pages {
        let r = send(&f, get(path)).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "signed out: to sign in");
        assert!(
            r.headers()[header::LOCATION]
                .to_str()
                .unwrap()
                .ends_with("/account"),
            "{path}"
        );
    }

    let bob = account_sign_in(&f, "bob").await;
    for path in pages {
        let r = get_as(&f, &bob, path).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
        assert!(
            body_text(r)
                .await
                .contains("This page is for administrators")
        );
    }
    let r = post_form_as(&f, &bob, "/admin/users/ada", &[("action", "disable")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // Every form, whatever its body: the sender is asked who they are before it is read.
    let forms = [
        "/admin",
        "/admin/users/ada",
        "/admin/groups",
        "/admin/groups/nobody-made-this",
        "/admin/clients",
        "/admin/clients/app",
        "/admin/clients/app/logo",
        "/admin/keys",
        "/admin/signup-links",
    ];
    for path in forms {
        let body = || Body::from("csrf=forged&not+a+field");
        let r = send(&f, form(path).body(body()).unwrap()).await;
        assert_eq!(r.status(), StatusCode::SEE_OTHER, "{path} signed out");
        let as_bob = form(path).header(header::COOKIE, &bob);
        let r = send(&f, as_bob.body(body()).unwrap()).await;
        assert_eq!(r.status(), StatusCode::FORBIDDEN, "{path}");
    }
    let refused = records(&f, "admin.console_refused").await;
    assert_eq!(refused.len(), pages.len() + 1 + forms.len());
    assert!(
        refused
            .iter()
            .all(|e| e.record.subject.as_deref() == Some("bob"))
    );
    assert!(!user(&*f.state.store, "ada").await.disabled);

    let html = body_text(get_as(&f, &ada, "/admin").await).await;
    assert!(html.contains("<h1>People</h1>"), "{html}");
    assert!(html.contains(">ada<") && html.contains(">bob<"));
    let html = body_text(get_as(&f, &ada, "/admin?q=BOB").await).await;
    assert!(html.contains(">bob<") && !html.contains(">ada<"), "{html}");
    // The account page links to the administration pages, for administrators only.
    assert!(account_page(&f, &ada).await.contains("Administration"));
    assert!(!account_page(&f, &bob).await.contains("Administration"));
}

/// Bob's wrong passwords pause his sign-ins (four at one moment: three free, then a wait); his
/// page says until when, and an administrator lets him sign in again at once, recorded. The
/// button is there only while he is paused.
async fn an_administrator_lets_a_paused_person_sign_in_again(db: Database) {
    let (f, ada) = with_admin(db).await;
    let login = authorize_uri("web", "");
    for _ in 0..4 {
        let r = post_login(&f, &login, "bob", "not his password").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let refused = body_text(post_login(&f, &login, "bob", common::PASSWORD).await).await;
    assert!(refused.contains("Too many failed attempts"), "{refused}");

    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(
        html.contains("cannot sign in until 2027-01-15 08:00 UTC after failed attempts"),
        "{html}"
    );
    assert!(html.contains(r#"value="unlock""#), "{html}");
    let fields = [
        ("csrf", hidden_input(&html, "csrf")),
        ("action", "unlock".into()),
    ];
    let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let r = post_form_as(&f, &ada, "/admin/users/bob", &fields).await;
    let html = body_text(r).await;
    assert!(html.contains("They can sign in again now"), "{html}");
    assert!(!html.contains("cannot sign in until"), "{html}");
    assert!(!html.contains(r#"value="unlock""#), "{html}");
    let unlocked = records(&f, "admin.user.unlocked").await;
    assert_eq!(unlocked.len(), 1);
    assert_eq!(unlocked[0].record.subject.as_deref(), Some("bob"));

    let r = post_login(&f, &login, "bob", common::PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "{}", body_text(r).await);
    // His account page tells him.
    let bob = account_sign_in(&f, "bob").await;
    let page = account_page(&f, &bob).await;
    assert!(
        page.contains("Allowed to sign in again by an administrator, after failed attempts"),
        "{page}"
    );
}

/// Bob's page lists what he allowed applications; an administrator withdraws one (recorded
/// with the application), which leaves Ada's consent to it as it was; a stale form withdraws
/// nothing and says so.
async fn an_administrator_withdraws_what_a_person_allowed_an_application(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    common::add_third_party_client(store, "partner").await;
    let bob = common::user(store, "bob").await;
    let ada_user = common::user(store, "ada").await;
    for id in [&bob.id, &ada_user.id] {
        store
            .grant_consent(id, "partner", "openid email", T0, None)
            .await
            .unwrap();
    }
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(html.contains("Applications bob allowed"), "{html}");
    assert!(html.contains("openid email · since"), "{html}");
    let withdraw = |html: &str| {
        let fields = [
            ("csrf", hidden_input(html, "csrf")),
            ("action", "withdraw_consent".into()),
            ("client_id", "partner".into()),
        ];
        let (f, ada) = (&f, &ada);
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(n, v)| (*n, v.as_str())).collect();
            body_text(post_form_as(f, ada, "/admin/users/bob", &fields).await).await
        }
    };
    let done = withdraw(&html).await;
    assert!(
        done.contains("partner no longer has access to their account: its tokens for them"),
        "{done}"
    );
    assert!(!done.contains("openid email · since"), "{done}");
    assert!(store.consent(&bob.id, "partner").await.unwrap().is_none());
    assert!(
        store
            .consent(&ada_user.id, "partner")
            .await
            .unwrap()
            .is_some(),
        "another person's consent stays"
    );
    let revoked = records(&f, "admin.consent").await;
    assert_eq!(revoked.len(), 1, "{revoked:?}");
    assert_eq!(revoked[0].record.subject.as_deref(), Some("bob"));
    assert_eq!(revoked[0].record.client_id.as_deref(), Some("partner"));
    // The same form again: nothing left to withdraw.
    let again = withdraw(&html).await;
    assert!(
        again.contains("They had allowed that application nothing (any more)."),
        "{again}"
    );
    assert_eq!(records(&f, "admin.consent").await.len(), 1);
}

/// A person's page says whether they have a password, and when nothing signs them in.
async fn a_persons_page_says_how_they_sign_in(db: Database) {
    let (f, ada) = with_admin(db).await;
    let row = |html: &str| {
        let at = html.find("<td>Password</td><td>").expect("a password row");
        let rest = &html[at + "<td>Password</td><td>".len()..];
        rest[..rest.find("</td>").unwrap()].to_owned()
    };
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert_eq!(row(&html), "Set");
    let bob = user(&*f.state.store, "bob").await;
    common::passkey_instead_of_password(f.state.store.as_ref(), &bob.id, common::oneshot::T0).await;
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert_eq!(row(&html), "None: signs in with a passkey");
    // His phone lost, his passkey reset: the page says nothing signs him in.
    let csrf = hidden_input(&html, "csrf");
    let fields = [("csrf", csrf.as_str()), ("action", "reset_factors")];
    let r = post_form_as(&f, &ada, "/admin/users/bob", &fields).await;
    assert!(
        r.status().is_success() || r.status().is_redirection(),
        "{}",
        r.status()
    );
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(
        row(&html).starts_with("None, and no passkey: cannot sign in"),
        "{html}"
    );
}

async fn an_administrator_disables_an_account_as_themselves(db: Database) {
    let (f, ada) = with_admin(db).await;
    let ada_id = user(&*f.state.store, "ada").await.id;
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(html.contains("<h2>Where bob is signed in</h2>"), "{html}");
    assert!(html.contains("Signed in nowhere."), "{html}");
    let bobs = account_sign_in(&f, "bob").await;
    // His page lists his session, with the browser and address it was signed in from.
    let phone = Browser {
        user_agent: Some(IPHONE),
        from: Some([198, 51, 100, 7]),
        ..Browser::default()
    };
    let r = post_login_from(
        &f,
        &authorize_uri("web", ""),
        "bob",
        common::PASSWORD,
        phone,
    )
    .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(
        html.contains("Safari on iPhone · from 198.51.100.7<br>Signed in "),
        "{html}"
    );
    // The audit log names that sign-in's browser, the whole User-Agent on hover.
    let log =
        body_text(get_as(&f, &ada, "/admin/audit?kind=login.succeeded&subject=bob").await).await;
    let named = format!(" · 198.51.100.7 · <span title=\"{IPHONE}\">Safari on iPhone</span>");
    assert!(log.contains(&named), "{log}");
    assert!(html.contains("Disable the account"), "{html}");
    let csrf = hidden_input(&html, "csrf");

    for forged in ["", "forged"] {
        let r = post_form_as(
            &f,
            &ada,
            "/admin/users/bob",
            &[("csrf", forged), ("action", "disable")],
        )
        .await;
        assert_eq!(r.status(), StatusCode::BAD_REQUEST);
        assert!(!user(&*f.state.store, "bob").await.disabled);
    }
    // Bob's own account-page token is not an administrator's form.
    let bob_csrf = hidden_input(&account_page(&f, &bobs).await, "csrf");
    let r = post_form_as(
        &f,
        &ada,
        "/admin/users/bob",
        &[("csrf", &bob_csrf), ("action", "disable")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);

    let r = post_form_as(
        &f,
        &ada,
        "/admin/users/bob",
        &[("csrf", &csrf), ("action", "disable")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert!(
        body_text(r)
            .await
            .contains("The account is disabled, and its 2 sessions are signed out.")
    );
    assert!(user(&*f.state.store, "bob").await.disabled);
    assert!(
        !body_text(get_as(&f, &bobs, "/account").await)
            .await
            .contains("Your account")
    );
    let record = records(&f, "admin.user.disabled").await.pop().unwrap();
    assert_eq!(record.record.actor, format!("user:{ada_id}"));
    assert_eq!(record.record.subject.as_deref(), Some("bob"));

    // Not their own account; nobody who does not exist.
    let r = post_form_as(
        &f,
        &ada,
        "/admin/users/ada",
        &[("csrf", &csrf), ("action", "disable")],
    )
    .await;
    assert!(
        body_text(r)
            .await
            .contains("You cannot disable your own account here")
    );
    assert!(!user(&*f.state.store, "ada").await.disabled);
    let r = post_form_as(
        &f,
        &ada,
        "/admin/users/nobody",
        &[("csrf", &csrf), ("action", "disable")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    assert!(body_text(r).await.contains("There is nobody by that name"));

    // Ten minutes on, a change needs a new sign-in.
    f.clock.advance(601);
    let r = post_form_as(
        &f,
        &ada,
        "/admin/users/bob",
        &[("csrf", &csrf), ("action", "enable")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(body_text(r).await.contains("sign in again"));
    assert!(user(&*f.state.store, "bob").await.disabled);
}

async fn the_audit_log_is_filtered_and_paged(db: Database) {
    let (f, ada) = with_admin(db).await;
    for i in 0..60 {
        let record =
            AuditRecord::new(T0 + i, AuditKind::LoginFailed, "anonymous").subject(Some("mallory"));
        f.state.store.record(record).await.unwrap();
    }
    let html = body_text(get_as(&f, &ada, "/admin/audit?kind=login.&subject=mallory").await).await;
    assert_eq!(
        html.matches("<code>login.failed</code>").count(),
        50,
        "{html}"
    );
    let start = html
        .find("href=\"http://127.0.0.1:8080/admin/audit?")
        .expect("a link to older ones");
    let older = &html[start + 6..];
    let older = older[..older.find('"').unwrap()].replace("&amp;", "&");
    let path = older.trim_start_matches("http://127.0.0.1:8080");
    let html = body_text(get_as(&f, &ada, path).await).await;
    assert_eq!(
        html.matches("<code>login.failed</code>").count(),
        10,
        "{html}"
    );
    assert!(!html.contains("Older records"));

    // A filter's wildcard characters are taken as they are.
    let html = body_text(get_as(&f, &ada, "/admin/audit?kind=%25").await).await;
    assert!(html.contains("No records match."), "{html}");
    let html = body_text(get_as(&f, &ada, "/admin/audit?actor=cli").await).await;
    assert!(html.contains("admin.group.member_added"), "{html}");
    assert!(!html.contains("login.failed"));
}

async fn groups_are_made_and_changed_by_an_administrator(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    let csrf = hidden_input(
        &body_text(get_as(&f, &ada, "/admin/groups").await).await,
        "csrf",
    );
    let post = |path: &'static str, fields: Vec<(&'static str, String)>| {
        let ada = ada.clone();
        let f = &f;
        async move {
            let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            body_text(post_form_as(f, &ada, path, &fields).await).await
        }
    };
    let c = || ("csrf", csrf.clone());
    let html = post(
        "/admin/groups",
        vec![
            c(),
            ("name", "staff".into()),
            ("auth_policy", "two_factor".into()),
        ],
    )
    .await;
    assert!(html.contains("The group is added."), "{html}");
    assert!(html.contains("two-step verification"));
    let html = post("/admin/groups", vec![c(), ("name", "Staff Room".into())]).await;
    assert!(html.contains("lower-case"), "{html}");

    let member = |action: &'static str, who: &'static str| {
        post(
            "/admin/groups/staff",
            vec![c(), ("action", action.into()), ("username", who.into())],
        )
    };
    assert!(
        member("add_member", "bob")
            .await
            .contains("bob is in the group now.")
    );
    assert!(
        member("add_member", "bob")
            .await
            .contains("bob was in the group already.")
    );
    assert!(
        member("add_member", "nobody")
            .await
            .contains("There is no user")
    );
    let listed = body_text(get_as(&f, &ada, "/admin/groups").await).await;
    assert_eq!(
        listed.matches("\"muted\">1 member").count(),
        2,
        "admins and staff: {listed}"
    );
    let members = store
        .members("staff", None, usize::MAX)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        members
            .iter()
            .map(|u| u.username.as_str())
            .collect::<Vec<_>>(),
        ["bob"]
    );

    let html = post(
        "/admin/groups/staff",
        vec![
            c(),
            ("action", "set_policy".into()),
            ("auth_policy", "passkey".into()),
        ],
    )
    .await;
    assert!(html.contains("sign-in policy is saved"), "{html}");
    assert_eq!(
        store.group("staff").await.unwrap().unwrap().auth_policy,
        gatehouse::model::AuthPolicy::Passkey
    );

    let delete = |typed: &'static str| {
        post(
            "/admin/groups/staff",
            vec![c(), ("action", "delete".into()), ("confirm", typed.into())],
        )
    };
    assert!(delete("admins").await.contains("nothing was removed"));
    assert!(store.group("staff").await.unwrap().is_some());
    assert!(
        delete("staff")
            .await
            .contains("The group staff is removed.")
    );
    assert!(store.group("staff").await.unwrap().is_none());
    let r = get_as(&f, &ada, "/admin/groups/staff").await;
    assert_eq!(r.status(), StatusCode::NOT_FOUND);

    let ada_id = user(store, "ada").await.id;
    for kind in [
        "admin.group.created",
        "admin.group.member_added",
        "admin.group.deleted",
    ] {
        let record = records(&f, kind).await.remove(0);
        assert_eq!(record.record.actor, format!("user:{ada_id}"), "{kind}");
    }
    // Bob may not.
    let bob = account_sign_in(&f, "bob").await;
    let r = post_form_as(&f, &bob, "/admin/groups", &[("name", "bobs")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(store.group("bobs").await.unwrap().is_none());
}

/// An administrator sets a person's and a group's custom claims as a JSON object on their
/// pages; what is not a JSON object, or names a standard claim, is refused with what was typed
/// kept in the field, and nothing changed; someone who is not an administrator changes nothing.
async fn custom_claims_are_set_on_a_persons_and_a_groups_page(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    let csrf = hidden_input(
        &body_text(get_as(&f, &ada, "/admin/users/bob").await).await,
        "csrf",
    );
    let set = |path: &'static str, claims: &'static str| {
        let (ada, csrf, f) = (ada.clone(), csrf.clone(), &f);
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("action", "set_claims"),
                ("claims", claims),
            ];
            let r = post_form_as(f, &ada, path, &fields).await;
            (r.status(), body_text(r).await)
        }
    };
    let bob = ClaimOwner::User("bob".into());
    let claims_of = |owner| async move { store.custom_claims(&owner).await.unwrap().unwrap() };
    let (status, html) = set(
        "/admin/users/bob",
        r#"{"department": "ops", "roles": ["editor"]}"#,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("The claims are saved"), "{html}");
    assert!(
        html.contains("&quot;department&quot;: &quot;ops&quot;"),
        "{html}"
    );
    let saved = claims_of(bob.clone()).await;
    assert_eq!(saved["department"], "ops");
    for (typed, says) in [
        ("department = ops", "must be a JSON object"),
        (r#"["ops"]"#, "must be a JSON object"),
        (r#"{"email": "bob@elsewhere.example"}"#, "standard claim"),
    ] {
        let (status, html) = set("/admin/users/bob", typed).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{typed}");
        assert!(html.contains(says), "{typed}: {html}");
        let kept = typed.replace('"', "&quot;");
        assert!(html.contains(&kept), "what was typed stays: {html}");
        assert_eq!(claims_of(bob.clone()).await, saved, "nothing changed");
    }
    // An empty field removes them all.
    let (status, _) = set("/admin/users/bob", "  ").await;
    assert_eq!(status, StatusCode::OK);
    assert!(claims_of(bob.clone()).await.is_empty());

    let (status, html) = set("/admin/groups/admins", r#"{"tier": "gold"}"#).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let admins = ClaimOwner::Group("admins".into());
    assert_eq!(claims_of(admins.clone()).await["tier"], "gold");
    let ada_id = user(store, "ada").await.id;
    for kind in ["admin.user.claims_set", "admin.group.claims_set"] {
        let record = records(&f, kind).await.remove(0);
        assert_eq!(record.record.actor, format!("user:{ada_id}"), "{kind}");
    }
    // Bob may not.
    let bob_session = account_sign_in(&f, "bob").await;
    let fields = [("action", "set_claims"), ("claims", r#"{"tier": "none"}"#)];
    let r = post_form_as(&f, &bob_session, "/admin/groups/admins", &fields).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(claims_of(admins).await["tier"], "gold");
}

/// Why a change is refused is said in the page's language, whichever rule refused it: each
/// refusal below comes from a check of its own (a username, a group's name, a custom claim's
/// name, an application's redirect URI, a name taken, a person who does not exist); the
/// command line and the admin API say the same in English.
async fn a_refusal_is_said_in_the_pages_language(db: Database) {
    let (f, ada) = with_admin(db).await;
    let csrf = hidden_input(&body_text(get_as(&f, &ada, "/admin").await).await, "csrf");
    let post = |path: &'static str, fields: Vec<(&'static str, &'static str)>, language| {
        let (ada, csrf, f) = (ada.clone(), csrf.clone(), &f);
        async move {
            let mut fields: Vec<(&str, &str)> = fields;
            fields.push(("csrf", &csrf));
            let request = form(path)
                .header(header::COOKIE, ada)
                .header(header::ACCEPT_LANGUAGE, language)
                .body(Body::from(encode(&fields)))
                .unwrap();
            let r = send(f, request).await;
            assert_eq!(r.status(), StatusCode::BAD_REQUEST, "{path} {fields:?}");
            body_text(r).await
        }
    };
    let person = || {
        vec![
            ("username", "ops/bot"),
            ("email", "ops@example.com"),
            ("password", "glacier umbrella quantum tulip"),
        ]
    };
    let group = || vec![("name", "Staff Room")];
    let claims = || {
        vec![
            ("action", "set_claims"),
            ("claims", r#"{"email": "x@y.example"}"#),
        ]
    };
    let client = || {
        vec![
            ("client_id", "reports"),
            ("redirect_uris", "http://reports.example/cb"),
        ]
    };
    let existing = || vec![("name", "admins")];
    let member = || vec![("action", "add_member"), ("username", "nobody")];
    for (path, fields, german, english) in [
        (
            "/admin",
            person(),
            "Ein Benutzername besteht aus Buchstaben und Ziffern einer Schrift sowie . - _ @ +, \
             nicht „/“.",
            "A username holds letters and digits of one script, and . - _ @ +, not “/”.",
        ),
        (
            "/admin/groups",
            group(),
            "Ein Gruppenname besteht aus Kleinbuchstaben, Ziffern, „.“, „_“ und „-“, nicht „S“.",
            "A group name holds lower-case letters, digits, '.', '_' and '-', not 'S'.",
        ),
        (
            "/admin/users/bob",
            claims(),
            "„email“ ist ein Claim, den gatehouse selbst setzt, oder ein Standard-Claim: Wählen \
             Sie einen anderen Namen.",
            "&quot;email&quot; is a claim gatehouse sets itself or a standard claim: choose \
             another name.",
        ),
        (
            "/admin/clients",
            client(),
            "Die Weiterleitungs-URI „http://reports.example/cb“ wird abgelehnt: Einfaches http \
             ist nur für localhost, 127.0.0.1 und [::1] erlaubt.",
            "Redirect URI &quot;http://reports.example/cb&quot; refused: plain http is only \
             allowed for localhost, 127.0.0.1 and [::1].",
        ),
        // What exists already, and who does not exist, are named the same way.
        (
            "/admin/groups",
            existing(),
            "Die Gruppe „admins“ gibt es schon.",
            "Group &quot;admins&quot; exists already.",
        ),
        (
            "/admin/groups/admins",
            member(),
            "Es gibt niemanden mit dem Benutzernamen „nobody“.",
            "There is no user &quot;nobody&quot;.",
        ),
    ] {
        let html = post(path, fields.clone(), "de").await;
        assert!(html.contains(german), "{path}: {html}");
        let html = post(path, fields, "en").await;
        assert!(html.contains(english), "{path}: {html}");
    }
    assert!(f.state.store.client("reports").await.unwrap().is_none());
}

/// An administrator removes someone's account once its username is typed to confirm, never
/// their own; the removal is audited with them as the actor.
async fn an_administrator_removes_an_account_once_its_name_is_typed(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(html.contains("Remove the account"), "{html}");
    assert!(html.contains("Type bob to confirm"), "{html}");
    assert!(
        !html.contains("is told by mail"),
        "no mail goes out: {html}"
    );
    let own = body_text(get_as(&f, &ada, "/admin/users/ada").await).await;
    assert!(!own.contains("Remove the account"), "{own}");
    let csrf = hidden_input(&html, "csrf");
    let remove = |who: &'static str, typed: &'static str| {
        let (ada, csrf, f) = (ada.clone(), csrf.clone(), &f);
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("action", "remove"),
                ("confirm", typed),
            ];
            let path = format!("/admin/users/{who}");
            let r = post_form_as(f, &ada, &path, &fields).await;
            (r.status(), body_text(r).await)
        }
    };
    let (_, html) = remove("bob", "bo").await;
    assert!(
        html.contains("What was typed is not the name asked for"),
        "{html}"
    );
    let (_, html) = remove("ada", "ada").await;
    assert!(
        html.contains("You cannot remove your own account here"),
        "{html}"
    );
    assert!(store.user_by_username("bob").await.unwrap().is_some());
    assert!(store.user_by_username("ada").await.unwrap().is_some());

    let (status, html) = remove("bob", "bob").await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("bob's account is removed."), "{html}");
    assert!(store.user_by_username("bob").await.unwrap().is_none());
    let record = records(&f, "admin.user.removed").await.remove(0);
    let ada_id = user(store, "ada").await.id;
    assert_eq!(record.record.actor, format!("user:{ada_id}"));
    assert_eq!(record.record.subject.as_deref(), Some("bob"));
    // Nobody by that name now.
    let (status, _) = remove("bob", "bob").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// An administrator changes a person's name and address in one form: only what differs is
/// changed and audited (a new address unconfirmed), the same form again changes nothing, and
/// an address that is none is refused with nothing changed.
async fn an_administrator_changes_a_persons_name_and_address(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    store
        .update_user(
            "bob",
            gatehouse::model::UserChange::SetEmail {
                email: "bob@example.com".into(),
                verified: true,
            },
            T0,
            None,
        )
        .await
        .unwrap();
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(html.contains(r#"value="bob Example""#), "{html}");
    assert!(html.contains(r#"value="bob@example.com""#), "{html}");
    let csrf = hidden_input(&html, "csrf");
    let set = |name: &'static str, email: &'static str| {
        let (ada, csrf, f) = (ada.clone(), csrf.clone(), &f);
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("action", "set_profile"),
                ("name", name),
                ("email", email),
            ];
            body_text(post_form_as(f, &ada, "/admin/users/bob", &fields).await).await
        }
    };
    let html = set(" Robert Example ", "robert@example.com").await;
    assert!(html.contains("The name and address are saved."), "{html}");
    let bob = user(store, "bob").await;
    assert_eq!(bob.name.as_deref(), Some("Robert Example"));
    assert_eq!(bob.email, "robert@example.com");
    assert!(!bob.email_verified, "a new address is not confirmed");
    let ada_id = user(store, "ada").await.id;
    for kind in ["admin.user.email_set", "admin.user.profile_updated"] {
        let record = records(&f, kind).await.remove(0);
        assert_eq!(record.record.actor, format!("user:{ada_id}"), "{kind}");
    }
    let html = set("Robert Example", "robert@example.com").await;
    assert!(html.contains("Nothing was changed."), "{html}");
    assert_eq!(records(&f, "admin.user.email_set").await.len(), 1);
    // Refused whole: the name is not changed either.
    let html = set("Bob", "robert.example.com").await;
    assert!(
        html.contains("&quot;robert.example.com&quot; is not an email address."),
        "{html}"
    );
    assert_eq!(user(store, "bob").await, bob);
    // Blank, the name is removed.
    set("", "robert@example.com").await;
    assert_eq!(user(store, "bob").await.name, None);
}

/// An administrator sees a person's language and sets it (their account's `locale`, audited
/// as the administrator's change of their profile); choosing again what the page shows keeps a
/// locale no catalogue matches exactly, and a language the page never offers changes nothing.
async fn an_administrator_sets_a_persons_language(db: Database) {
    let (f, ada) = with_admin(db).await;
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(
        html.contains(r#"<option value="" selected>As their browser asks</option>"#),
        "{html}"
    );
    let csrf = hidden_input(&html, "csrf");
    let set = |language: &'static str| {
        let (ada, csrf, f) = (ada.clone(), csrf.clone(), &f);
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("action", "set_language"),
                ("language", language),
            ];
            let r = post_form_as(f, &ada, "/admin/users/bob", &fields).await;
            assert_eq!(r.status(), StatusCode::OK);
            body_text(r).await
        }
    };
    let locale = || async { user(f.state.store.as_ref(), "bob").await.profile.locale };
    let html = set("de").await;
    assert!(html.contains("Their language is saved"), "{html}");
    assert!(
        html.contains(r#"<td><span lang="de">Deutsch</span></td>"#),
        "{html}"
    );
    assert_eq!(locale().await.as_deref(), Some("de"));
    let ada_id = user(f.state.store.as_ref(), "ada").await.id;
    let record = records(&f, "admin.user.").await.remove(0);
    assert_eq!(record.record.actor, format!("user:{ada_id}"));
    assert_eq!(record.record.subject.as_deref(), Some("bob"));

    // A locale given elsewhere that no catalogue matches is shown as it is, and kept.
    let admin = Admin::new(f.state.store.as_ref(), "cli", None, T0);
    let french = gatehouse::admin::ProfileChange {
        locale: Some(Some("fr-CA".into())),
        ..Default::default()
    };
    admin.update_profile("bob", french).await.unwrap();
    let html = body_text(get_as(&f, &ada, "/admin/users/bob").await).await;
    assert!(html.contains("<td>fr-CA</td>"), "{html}");
    for unchanged in ["", "fr", "DE"] {
        assert!(
            set(unchanged).await.contains("Nothing was changed."),
            "{unchanged}"
        );
        assert_eq!(locale().await.as_deref(), Some("fr-CA"));
    }
    set("en").await;
    assert_eq!(locale().await.as_deref(), Some("en"));
}

/// The secret a page shows once.
fn shown_secret(html: &str) -> String {
    let marker = "id=\"client-secret\">";
    let start = html.find(marker).expect("a secret shown") + marker.len();
    html[start..start + html[start..].find('<').unwrap()].to_owned()
}

async fn applications_are_registered_given_access_new_secrets_and_removed(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    let csrf = hidden_input(
        &body_text(get_as(&f, &ada, "/admin/clients").await).await,
        "csrf",
    );
    let register = |id: &'static str, uri: &'static str| {
        let (ada, csrf) = (ada.clone(), csrf.clone());
        let f = &f;
        async move {
            let fields = [
                ("csrf", csrf.as_str()),
                ("client_id", id),
                ("display_name", "Reports"),
                ("redirect_uris", uri),
            ];
            post_form_as(f, &ada, "/admin/clients", &fields).await
        }
    };
    let r = register("reports", "http://reports.example/cb").await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "plain http elsewhere than localhost"
    );
    assert!(store.client("reports").await.unwrap().is_none());

    let html = body_text(register("reports", "https://reports.example/cb\n").await).await;
    assert!(html.contains("It is shown only now"), "{html}");
    let secret = shown_secret(&html);
    let client = store.client("reports").await.unwrap().unwrap();
    assert_eq!(
        client.secret_hash,
        Some(gatehouse::oidc::tokens::hash(&secret))
    );
    assert_eq!(client.redirect_uris, ["https://reports.example/cb"]);
    assert!(
        body_text(register("reports", "https://reports.example/cb").await)
            .await
            .contains("exists already")
    );

    let change = |fields: Vec<(&'static str, &'static str)>| {
        let (ada, csrf) = (ada.clone(), csrf.clone());
        let f = &f;
        async move {
            let mut all = vec![("csrf", csrf.as_str())];
            all.extend(fields);
            body_text(post_form_as(f, &ada, "/admin/clients/reports", &all).await).await
        }
    };
    // Who may use it: the groups ticked (each its own field).
    let html = change(vec![("action", "access"), ("groups", "admins")]).await;
    assert!(html.contains("Who may use it is saved."), "{html}");
    let access = store.client_access("reports").await.unwrap();
    assert_eq!(
        access.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(),
        ["admins"]
    );
    let html = change(vec![("action", "access"), ("groups", "nope")]).await;
    assert!(html.contains("There is no group"), "{html}");
    let html = change(vec![("action", "access")]).await;
    assert!(html.contains("Who may use it is saved."));
    assert!(
        store.client_access("reports").await.unwrap().is_empty(),
        "everyone again"
    );

    // A new secret: the old one overlaps, unless it leaked.
    let newer = shown_secret(&change(vec![("action", "rotate")]).await);
    let client = store.client("reports").await.unwrap().unwrap();
    assert_eq!(
        client.secret_hash,
        Some(gatehouse::oidc::tokens::hash(&newer))
    );
    assert!(client.previous_secret.is_some());
    let newest = shown_secret(&change(vec![("action", "rotate"), ("leaked", "yes")]).await);
    let client = store.client("reports").await.unwrap().unwrap();
    assert_eq!(
        client.secret_hash,
        Some(gatehouse::oidc::tokens::hash(&newest))
    );
    assert!(
        client.previous_secret.is_none(),
        "a leaked secret stops at once"
    );

    let html = change(vec![("action", "delete"), ("confirm", "report")]).await;
    assert!(html.contains("nothing was removed"), "{html}");
    assert!(store.client("reports").await.unwrap().is_some());
    let html = change(vec![("action", "delete"), ("confirm", "reports")]).await;
    assert!(
        html.contains("The application reports is removed."),
        "{html}"
    );
    assert!(store.client("reports").await.unwrap().is_none());
    let ada_id = user(store, "ada").await.id;
    for kind in [
        "admin.client.created",
        "admin.client.secret_rotated",
        "admin.client.removed",
    ] {
        let record = records(&f, kind).await.remove(0);
        assert_eq!(record.record.actor, format!("user:{ada_id}"), "{kind}");
    }
    let bob = account_sign_in(&f, "bob").await;
    let r = post_form_as(
        &f,
        &bob,
        "/admin/clients/web",
        &[("action", "delete"), ("confirm", "web")],
    )
    .await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(store.client("web").await.unwrap().is_some());
}

/// The settings form of an application: everything it shows, sent back changed.
fn settings<'a>(csrf: &'a str, changes: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![
        ("csrf", csrf),
        ("action", "settings"),
        ("display_name", "Reports"),
        ("home_uri", ""),
        ("logo_uri", ""),
        ("redirect_uris", "https://reports.example/cb"),
        ("post_logout_redirect_uris", ""),
        ("backchannel_logout_uri", ""),
        ("access_token_claims", ""),
        ("resources", ""),
        ("introspects", ""),
        ("scopes", "openid"),
        ("scopes", "profile"),
        ("grant_types", "authorization_code"),
        ("access_token_format", "opaque"),
        ("id_token_alg", "RS256"),
        ("auth_policy", "password"),
        ("subject_type", "public"),
        ("sector", ""),
    ];
    for (name, value) in changes {
        if !matches!(*name, "scopes" | "grant_types") {
            fields.retain(|(n, _)| n != name);
        }
        fields.push((name, value));
    }
    fields
}

async fn an_applications_settings_are_changed_as_a_whole_and_checked(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    let ops = Admin::new(store, "cli", None, T0);
    ops.add_client(gatehouse::admin::NewClient {
        client_id: "reports".into(),
        redirect_uris: vec!["https://reports.example/cb".into()],
        scopes: vec!["openid".into(), "profile".into()],
        grant_types: vec!["authorization_code".into()],
        display_name: Some("Reports".into()),
        ..Default::default()
    })
    .await
    .unwrap();
    let page = body_text(get_as(&f, &ada, "/admin/clients/reports").await).await;
    assert!(
        page.contains(">https://reports.example/cb</textarea>"),
        "the form shows what is: {page}"
    );
    assert!(page.contains(r#"value="profile" checked"#), "{page}");
    assert!(!page.contains(r#"value="email" checked"#), "{page}");
    let csrf = hidden_input(&page, "csrf");
    let before = store.client("reports").await.unwrap().unwrap();
    let post = |changes: Vec<(&'static str, &'static str)>| {
        let (ada, csrf, f) = (ada.clone(), csrf.clone(), &f);
        async move {
            let r = post_form_as(
                f,
                &ada,
                "/admin/clients/reports",
                &settings(&csrf, &changes),
            )
            .await;
            (r.status(), body_text(r).await)
        }
    };

    // Refused as a whole, nothing changed: a rule of the registration, a missing choice, an
    // oversized name, a choice the form does not offer.
    for (changes, status, says) in [
        (
            vec![("scopes", "admin")],
            StatusCode::BAD_REQUEST,
            "only granted through client_credentials",
        ),
        (
            vec![("redirect_uris", "http://reports.example/cb")],
            StatusCode::BAD_REQUEST,
            "refused",
        ),
        (
            vec![("home_uri", "javascript:alert(1)")],
            StatusCode::BAD_REQUEST,
            "is not an https URL",
        ),
        (
            vec![("display_name", &*"R".repeat(129).leak())],
            StatusCode::BAD_REQUEST,
            "A display name is 1 to 128 characters",
        ),
        (
            vec![("access_token_format", "plaintext")],
            StatusCode::BAD_REQUEST,
            "incomplete",
        ),
        (
            vec![("auth_policy", "none")],
            StatusCode::BAD_REQUEST,
            "incomplete",
        ),
        (
            vec![("subject_type", "secret")],
            StatusCode::BAD_REQUEST,
            "incomplete",
        ),
        (
            vec![("subject_type", "pairwise"), ("sector", "not a name")],
            StatusCode::BAD_REQUEST,
            "a sector is 1 to 253 characters",
        ),
        (
            vec![("sector", "reports.example")],
            StatusCode::BAD_REQUEST,
            "only for a client with pairwise subjects",
        ),
    ] {
        let (got, html) = post(changes.clone()).await;
        assert_eq!(got, status, "{changes:?}: {html}");
        assert!(html.contains(says), "{changes:?}: {html}");
        assert_eq!(store.client("reports").await.unwrap().unwrap(), before);
    }
    let mut no_scopes = settings(&csrf, &[]);
    no_scopes.retain(|(n, _)| *n != "scopes");
    let r = post_form_as(&f, &ada, "/admin/clients/reports", &no_scopes).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(
        body_text(r)
            .await
            .contains("Tick at least one thing it may ask for.")
    );
    assert_eq!(store.client("reports").await.unwrap().unwrap(), before);
    assert!(records(&f, "admin.client.updated").await.is_empty());

    let changed = vec![
        ("display_name", "Quarterly reports"),
        (
            "redirect_uris",
            "https://reports.example/cb\r\n\r\nhttps://reports.example/cb2 ",
        ),
        ("post_logout_redirect_uris", "https://reports.example/"),
        ("scopes", "offline_access"),
        ("grant_types", "refresh_token"),
        ("access_token_format", "jwt"),
        ("id_token_alg", "ES256"),
        ("auth_policy", "two_factor"),
        ("require_par", "yes"),
        ("require_dpop", "yes"),
        ("require_confirmed_address", "yes"),
        ("access_token_claims", " email, department  groups "),
        (
            "resources",
            "https://api.example/v1\r\n\r\n urn:example:billing ",
        ),
        ("introspects", "https://reports.example/api"),
    ];
    let (status, html) = post(changed.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("The settings are saved."), "{html}");
    let after = store.client("reports").await.unwrap().unwrap();
    assert_eq!(after.display.name.as_deref(), Some("Quarterly reports"));
    assert_eq!(
        after.redirect_uris,
        ["https://reports.example/cb", "https://reports.example/cb2"]
    );
    assert_eq!(
        after.post_logout_redirect_uris,
        ["https://reports.example/"]
    );
    assert_eq!(after.scopes, ["openid", "profile", "offline_access"]);
    assert!(after.allows_grant(gatehouse::model::GrantType::RefreshToken));
    assert_eq!(
        after.access_token_format,
        gatehouse::model::AccessTokenFormat::Jwt
    );
    assert_eq!(
        after.id_token_signed_response_alg,
        gatehouse::model::SigningAlg::Es256
    );
    assert_eq!(after.auth_policy, gatehouse::model::AuthPolicy::TwoFactor);
    assert!(after.require_pushed_authorization_requests);
    assert!(after.dpop_bound_access_tokens);
    assert!(after.require_confirmed_address);
    assert_eq!(after.access_token_claims, ["email", "department", "groups"]);
    assert_eq!(
        after.resources,
        ["https://api.example/v1", "urn:example:billing"]
    );
    assert_eq!(after.introspects, ["https://reports.example/api"]);
    let page = body_text(get_as(&f, &ada, "/admin/clients/reports").await).await;
    assert!(
        page.contains(
            r#"aria-describedby="access-token-claims-help" value="email department groups""#
        ),
        "the form shows them: {page}"
    );
    assert!(
        page.contains(
            "aria-describedby=\"resources-help\">https://api.example/v1\nurn:example:billing</textarea>"
        ),
        "the form shows them, one a line: {page}"
    );
    assert!(
        page.contains(
            "aria-describedby=\"introspects-help\">https://reports.example/api</textarea>"
        ),
        "the form shows it: {page}"
    );
    // A public application answers for no API: its page does not offer it.
    let spa = body_text(get_as(&f, &ada, "/admin/clients/spa").await).await;
    assert!(spa.contains("APIs its access tokens may be for"), "{spa}");
    assert!(!spa.contains("APIs it answers for"), "{spa}");
    assert!(
        page.contains(r#"name="require_par" value="yes" checked"#),
        "the form shows it: {page}"
    );
    assert!(
        page.contains(r#"name="require_dpop" value="yes" checked"#),
        "the form shows it: {page}"
    );
    assert!(
        page.contains(r#"name="require_confirmed_address" value="yes" checked"#),
        "the form shows it: {page}"
    );
    assert_eq!(after.secret_hash, before.secret_hash, "the secret stays");
    let updated = records(&f, "admin.client.updated").await;
    assert_eq!(updated.len(), 1);
    let ada_id = user(store, "ada").await.id;
    assert_eq!(updated[0].record.actor, format!("user:{ada_id}"));
    assert_eq!(
        updated[0].record.detail.as_deref(),
        Some(
            "fields=redirect_uris,post_logout_redirect_uris,scopes,grant_types,display_name,\
             id_token_signed_response_alg,access_token_format,auth_policy,\
             require_pushed_authorization_requests,dpop_bound_access_tokens,\
             require_confirmed_address,access_token_claims,resources,introspects"
        ),
        "only what changed is named"
    );

    // The same form again changes nothing and is not audited again.
    let (status, _) = post(changed.clone()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(records(&f, "admin.client.updated").await.len(), 1);

    // A name that is the token's own is refused, and nothing changes.
    let (status, html) = post(vec![("access_token_claims", "email scope")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(
        html.contains("Access token claim &quot;scope&quot;"),
        "{html}"
    );
    assert_eq!(store.client("reports").await.unwrap().unwrap(), after);
    // So is an API that cannot be a resource indicator.
    let (status, html) = post(vec![("resources", "https://api.example/#top")]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
    assert!(html.contains("has a fragment"), "{html}");
    assert_eq!(store.client("reports").await.unwrap().unwrap(), after);

    // Only an administrator, with their own form.
    let bob = account_sign_in(&f, "bob").await;
    let r = post_form_as(&f, &bob, "/admin/clients/reports", &settings(&csrf, &[])).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    let r = post_form_as(&f, &ada, "/admin/clients/reports", &settings("forged", &[])).await;
    assert_ne!(r.status(), StatusCode::OK);
    assert_eq!(store.client("reports").await.unwrap().unwrap(), after);

    // Pairwise subjects: without a sector given, the one host of its redirect URIs, which
    // the form then shows; the form sent again as shown changes nothing.
    let mut pairwise = changed;
    pairwise.push(("subject_type", "pairwise"));
    let (status, html) = post(pairwise.clone()).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let now = store.client("reports").await.unwrap().unwrap();
    assert_eq!(now.pairwise_sector.as_deref(), Some("reports.example"));
    let page = body_text(get_as(&f, &ada, "/admin/clients/reports").await).await;
    assert!(
        page.contains(r#"<option value="pairwise" selected>"#),
        "{page}"
    );
    assert!(
        page.contains(r#"aria-describedby="sector-help" value="reports.example""#),
        "{page}"
    );
    pairwise.push(("sector", "reports.example"));
    let (status, _) = post(pairwise).await;
    assert_eq!(status, StatusCode::OK);
    let updated = records(&f, "admin.client.updated").await;
    let details: Vec<Option<&str>> = updated.iter().map(|e| e.record.detail.as_deref()).collect();
    assert!(
        details.len() == 2 && details.contains(&Some("fields=subject_type")),
        "{details:?}"
    );
}

async fn signing_keys_are_rotated_on_schedule_or_at_once(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    let html = body_text(get_as(&f, &ada, "/admin/keys").await).await;
    let before = store.signing_keys(T0).await.unwrap();
    for k in &before {
        assert!(html.contains(&k.kid), "{html}");
    }
    assert!(!html.contains("private"), "never the private half");
    let csrf = hidden_input(&html, "csrf");
    let rotate = |fields: Vec<(&'static str, &'static str)>| {
        let (ada, csrf) = (ada.clone(), csrf.clone());
        let f = &f;
        async move {
            let mut all = vec![("csrf", csrf.as_str())];
            all.extend(fields);
            post_form_as(f, &ada, "/admin/keys", &all).await
        }
    };
    let r = rotate(vec![("alg", "none")]).await;
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert_eq!(store.signing_keys(T0).await.unwrap().len(), before.len());

    let html = body_text(rotate(vec![("alg", "ES256")]).await).await;
    assert!(
        html.contains("A new key is published; it signs in five minutes."),
        "{html}"
    );
    let es256: Vec<_> = store
        .signing_keys(T0)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.alg == gatehouse::model::SigningAlg::Es256)
        .collect();
    assert!(
        es256.iter().any(|k| k.signs_from > T0),
        "the new one signs later"
    );

    let html = body_text(rotate(vec![("alg", "RS256"), ("compromised", "yes")]).await).await;
    assert!(
        html.contains("A new key signs now; the old one is unpublished."),
        "{html}"
    );
    let rs256: Vec<_> = store
        .signing_keys(T0)
        .await
        .unwrap()
        .into_iter()
        .filter(|k| k.alg == gatehouse::model::SigningAlg::Rs256)
        .collect();
    assert!(
        rs256
            .iter()
            .any(|k| k.signs_from <= T0 && k.retired_at.is_none())
    );
    let ada_id = user(store, "ada").await.id;
    let rotated = records(&f, "admin.key.rotated").await;
    assert_eq!(rotated.len(), 2);
    assert!(
        rotated
            .iter()
            .all(|e| e.record.actor == format!("user:{ada_id}"))
    );
    let bob = account_sign_in(&f, "bob").await;
    let r = post_form_as(&f, &bob, "/admin/keys", &[("alg", "RS256")]).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
}

/// A group's page lists its first 200 members by username and says there are more; the
/// rest are a command or an API call away.
async fn a_large_groups_page_shows_its_first_members(db: Database) {
    let (f, ada) = with_admin(db).await;
    let ops = Admin::new(f.state.store.as_ref(), "cli", None, T0);
    ops.add_group(NewGroup {
        name: "many".into(),
        description: None,
        auth_policy: gatehouse::model::AuthPolicy::Password,
    })
    .await
    .unwrap();
    let mut adding = tokio::task::JoinSet::new();
    for i in 0..201 {
        let store = std::sync::Arc::clone(&f.state.store);
        adding.spawn(async move {
            let member = gatehouse::model::User {
                id: gatehouse::oidc::tokens::new_id(),
                username: format!("m{i:03}"),
                email: format!("m{i:03}@example.com"),
                name: None,
                password_hash: Some("unused".into()),
                disabled: false,
                created_at: T0,
                email_verified: false,
                profile: Default::default(),
            };
            store.create_user(member.clone()).await.unwrap();
            assert!(
                store
                    .add_member("many", &member.id, T0, None)
                    .await
                    .unwrap()
            );
        });
    }
    adding.join_all().await;
    let html = body_text(get_as(&f, &ada, "/admin/groups/many").await).await;
    assert!(html.contains(">m000<") && html.contains(">m199<"), "{html}");
    assert!(!html.contains(">m200<"), "the 201st is not listed");
    assert!(html.contains("more members than the first 200"), "{html}");
    let html = body_text(get_as(&f, &ada, "/admin/groups/admins").await).await;
    assert!(
        html.contains(">ada<") && !html.contains("more members"),
        "{html}"
    );
}

/// An application that signs with its own key: registered with its public keys, which its page
/// shows and replaces; no secret is made or offered; keys that are not JSON, or hold a private
/// part, change nothing.
async fn an_application_with_keys_is_registered_and_its_keys_replaced(db: Database) {
    let (f, ada) = with_admin(db).await;
    let store = f.state.store.as_ref();
    let csrf = hidden_input(
        &body_text(get_as(&f, &ada, "/admin/clients").await).await,
        "csrf",
    );
    let key = |alg| gatehouse::oidc::keys::generate(alg, 0).unwrap();
    let (old, new) = (
        key(gatehouse::model::SigningAlg::Es256),
        key(gatehouse::model::SigningAlg::EdDsa),
    );
    let set = |keys: &[&gatehouse::model::SigningKey]| {
        let listed: Vec<&str> = keys.iter().map(|k| k.public_jwk.as_str()).collect();
        format!(r#"{{"keys":[{}]}}"#, listed.join(","))
    };
    let post = |uri: &'static str, fields: Vec<(&'static str, String)>| {
        let (ada, csrf, f) = (ada.clone(), csrf.clone(), &f);
        async move {
            let mut all: Vec<(&str, &str)> = vec![("csrf", &csrf)];
            all.extend(fields.iter().map(|(k, v)| (*k, v.as_str())));
            let r = post_form_as(f, &ada, uri, &all).await;
            (r.status(), body_text(r).await)
        }
    };
    let register = |jwks: String| {
        post(
            "/admin/clients",
            vec![
                ("client_id", "payroll".into()),
                ("redirect_uris", "https://payroll.example/cb".into()),
                ("jwks", jwks),
            ],
        )
    };
    let private = set(&[&old]).replacen(r#""kty""#, r#""d":"c2VjcmV0","kty""#, 1);
    for (jwks, says) in [
        ("{not json".to_owned(), "not a JWK Set in JSON"),
        (private, "private"),
    ] {
        let (status, html) = register(jwks).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{html}");
        assert!(html.contains(says), "{html}");
        assert!(store.client("payroll").await.unwrap().is_none());
    }
    let (status, html) = register(set(&[&old])).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(!html.contains("It is shown only now"), "no secret: {html}");
    assert!(html.contains("signs with its keys"), "{html}");
    assert!(html.contains(&old.kid), "its keys are shown: {html}");
    assert!(!html.contains("New secret"), "{html}");
    let client = store.client("payroll").await.unwrap().unwrap();
    assert_eq!(client.auth_method().as_str(), "private_key_jwt");

    let replace = |jwks: String| {
        post(
            "/admin/clients/payroll",
            vec![("action", "keys".to_owned()), ("jwks", jwks)],
        )
    };
    let (status, html) = replace("[]".into()).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("not a JWK Set"), "{html}");
    assert_eq!(store.client("payroll").await.unwrap().unwrap(), client);
    let (status, html) = replace(set(&[&old, &new])).await;
    assert_eq!(status, StatusCode::OK);
    assert!(html.contains("The keys are replaced"), "{html}");
    let after = store.client("payroll").await.unwrap().unwrap();
    assert_eq!(after.jwks.unwrap().set().keys.len(), 2);
    assert_eq!(records(&f, "admin.client.updated").await.len(), 1);
    // Its sign-in requests may be required signed: a box shown to applications with keys.
    let page = body_text(get_as(&f, &ada, "/admin/clients/payroll").await).await;
    assert!(page.contains(r#"name="require_signed""#), "{page}");
    let mut signed_only: Vec<(&str, String)> = settings("", &[("require_signed", "yes")])
        .into_iter()
        .filter(|(n, _)| *n != "csrf")
        .map(|(n, v)| (n, v.replace("reports", "payroll")))
        .collect();
    signed_only.retain(|(n, _)| *n != "display_name");
    let (status, html) = post("/admin/clients/payroll", signed_only).await;
    assert_eq!(status, StatusCode::OK, "{html}");
    let after = store.client("payroll").await.unwrap().unwrap();
    assert!(after.require_signed_request_object);
    let web = body_text(get_as(&f, &ada, "/admin/clients/web").await).await;
    assert!(
        !web.contains(r#"name="require_signed""#),
        "not shown to an application with a secret"
    );

    // Or where an application publishes its keys: an https URL, shown and changed on its page.
    let publish = |id: &'static str, uri: &'static str| {
        post(
            "/admin/clients",
            vec![
                ("client_id", id.into()),
                ("redirect_uris", "https://ledger.example/cb".into()),
                ("jwks_uri", uri.into()),
            ],
        )
    };
    let (status, html) = publish("ledger", "http://ledger.example/jwks").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(html.contains("not an https URL"), "{html}");
    let (status, html) = publish("ledger", "https://ledger.example/jwks").await;
    assert_eq!(status, StatusCode::OK, "{html}");
    assert!(html.contains("https://ledger.example/jwks"), "{html}");
    assert!(!html.contains("It is shown only now"), "no secret: {html}");
    let moved = post(
        "/admin/clients/ledger",
        vec![
            ("action", "keys_at".into()),
            ("jwks_uri", "https://keys.ledger.example/jwks".into()),
        ],
    )
    .await;
    assert_eq!(moved.0, StatusCode::OK, "{}", moved.1);
    assert!(
        moved.1.contains("fetched from there from now on"),
        "{}",
        moved.1
    );
    let ledger = store.client("ledger").await.unwrap().unwrap();
    assert_eq!(
        ledger.jwks_uri.as_deref(),
        Some("https://keys.ledger.example/jwks")
    );
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_persons_page_says_how_they_sign_in,
    an_administrator_withdraws_what_a_person_allowed_an_application,
    an_administrator_lets_a_paused_person_sign_in_again,
    an_administrator_changes_a_persons_name_and_address,
    an_administrator_removes_an_account_once_its_name_is_typed,
    a_refusal_is_said_in_the_pages_language,
    an_administrator_sets_a_persons_language,
    an_application_with_keys_is_registered_and_its_keys_replaced,
    a_large_groups_page_shows_its_first_members,
    only_administrators_get_in,
    an_administrator_disables_an_account_as_themselves,
    the_audit_log_is_filtered_and_paged,
    groups_are_made_and_changed_by_an_administrator,
    custom_claims_are_set_on_a_persons_and_a_groups_page,
    applications_are_registered_given_access_new_secrets_and_removed,
    an_applications_settings_are_changed_as_a_whole_and_checked,
    signing_keys_are_rotated_on_schedule_or_at_once,
);
