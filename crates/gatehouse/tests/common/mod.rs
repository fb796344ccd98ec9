//! Helpers: a real server on port 0 over a real SQLite file, a browser that logs in through the
//! HTML form, and users and clients created through the store.
#![allow(dead_code)]

pub mod backend;
pub mod cli;
pub mod dpop;
pub mod oneshot;
pub mod smtp;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use gatehouse::AppState;
use gatehouse::auth::passwords::Passwords;
use gatehouse::clock::{Clock, SystemClock, UnixTime};
use gatehouse::config::{Config, ServeArgs};
use gatehouse::model::{AuditKind, AuditRecord, Client, GrantType, StoredPasskey, User};
use gatehouse::oidc::tokens;
use gatehouse::store::{self, Store};

pub const PASSWORD: &str = "correct horse battery staple";

/// A fault test that this environment cannot run: says why on stderr (past libtest's capture),
/// or fails under `GATEHOUSE_REQUIRE_FAULTS=1`, which CI sets.
pub fn skip_fault(why: &str) {
    if std::env::var_os("GATEHOUSE_REQUIRE_FAULTS").is_some() {
        panic!("GATEHOUSE_REQUIRE_FAULTS is set, but {why}");
    }
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "skipped: {why}");
}
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
/// A logo an administrator gives an application: a 64×64 PNG (a green disc).
#[allow(dead_code, reason = "not every test binary gives a logo")]
pub const PNG: &[u8] = include_bytes!("logo.png");

pub struct TestServer {
    pub base: String,
    pub store: Arc<dyn Store>,
    pub db: backend::Database,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

pub fn serve_args(listen: SocketAddr) -> ServeArgs {
    ServeArgs {
        listen,
        issuer: None,
        insecure_http_issuer: false,
        access_token_ttl: 600,
        id_token_ttl: 3600,
        refresh_token_ttl: 86400,
        refresh_retry_window: gatehouse::config::DEFAULT_REFRESH_RETRY_WINDOW,
        session_ttl: 3600,
        session_idle_timeout: 1800,
        kept_session_ttl: 30 * 86_400,
        kept_session_idle_timeout: 7 * 86_400,
        log_format: gatehouse::config::LogFormat::Pretty,
        trust_forwarded_for: false,
        trusted_proxies: vec![],
        hsts_max_age: gatehouse::config::DEFAULT_HSTS_MAX_AGE,
        password_hash_concurrency: Some(2),
        request_timeout: 30,
        login_lockout_after: 10,
        login_lockout: 900,
        audit_retention_days: gatehouse::config::DEFAULT_AUDIT_RETENTION_DAYS,
        token_audit_retention_days: gatehouse::config::DEFAULT_TOKEN_AUDIT_RETENTION_DAYS,
        product_name: gatehouse::branding::DEFAULT_PRODUCT_NAME.to_owned(),
        accent_colour: None,
        logo: None,
        language: gatehouse::branding::DEFAULT_LANGUAGE.to_owned(),
        one_language: false,
        smtp_url: None,
        mail_from: None,
        no_sign_in_notices: false,
        dpop_nonce: false,
        admin_group: gatehouse::config::DEFAULT_ADMIN_GROUP.to_owned(),
        account_removal: false,
    }
}

/// The application over a fresh database, with the given clock, for `oneshot` tests.
pub async fn state_with_clock(
    db: backend::Database,
    clock: Arc<dyn Clock>,
) -> (AppState, backend::Database) {
    state_with(db, clock, |_| {}).await
}

/// The state of a server whose settings `adjust` changed.
pub async fn state_with(
    db: backend::Database,
    clock: Arc<dyn Clock>,
    adjust: impl FnOnce(&mut ServeArgs),
) -> (AppState, backend::Database) {
    let store = store::open(&db.url).await.unwrap();
    let mut args = serve_args("127.0.0.1:8080".parse().unwrap());
    adjust(&mut args);
    let config = Config::from_args(&args).unwrap();
    let state = gatehouse::server::prepare(store, config, clock)
        .await
        .unwrap();
    (state, db)
}

impl TestServer {
    /// A server on a fresh SQLite file.
    pub async fn start() -> TestServer {
        let db = backend::Database::fresh(backend::Backend::Sqlite)
            .await
            .unwrap();
        TestServer::start_on(db).await
    }

    /// A server on the given fresh database.
    pub async fn start_on(db: backend::Database) -> TestServer {
        TestServer::start_with(db, |_| {}).await
    }

    /// A server on the given fresh database, with the settings `set` changes.
    pub async fn start_with(db: backend::Database, set: impl FnOnce(&mut ServeArgs)) -> TestServer {
        let store = store::open(&db.url).await.unwrap();
        let mut args = serve_args("127.0.0.1:0".parse().unwrap());
        set(&mut args);
        let (listener, config) = gatehouse::server::bind(args).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let state = gatehouse::server::prepare(Arc::clone(&store), config, Arc::new(SystemClock))
            .await
            .unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            gatehouse::server::run(listener, state, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        TestServer {
            base: format!("http://{addr}"),
            store,
            db,
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    pub fn db_url(&self) -> String {
        self.db.url.clone()
    }

    pub async fn stop(self) {
        drop(self.stop_keeping_database().await);
    }

    /// Stops the server and gives its database back, to start another on it.
    pub async fn stop_keeping_database(mut self) -> backend::Database {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        // The server closes the store once its requests are done.
        if let Some(t) = self.task.take() {
            t.await.unwrap();
        }
        self.db
    }
}

/// The user named `username`, who must exist.
pub async fn user(store: &dyn Store, username: &str) -> User {
    store
        .user_by_username(username)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("no user {username}"))
}

pub async fn add_user(store: &dyn Store, username: &str) -> User {
    let hash = Passwords::new(1)
        .hash(PASSWORD.into(), vec![])
        .await
        .unwrap();
    let user = User {
        id: tokens::new_id(),
        username: username.into(),
        email: format!("{username}@example.com"),
        name: Some(format!("{username} Example")),
        password_hash: Some(hash),
        disabled: false,
        created_at: SystemClock.now(),
        email_verified: false,
        profile: gatehouse::model::Profile::default(),
    };
    store.create_user(user.clone()).await.unwrap();
    user
}

/// A passkey of `user_id` as its ceremony would store it, named "Phone" and added `at` (its
/// library state a placeholder: it signs nobody in).
pub fn passkey(user_id: &str, credential_id: &str, at: UnixTime) -> StoredPasskey {
    StoredPasskey {
        credential_id: credential_id.into(),
        user_id: user_id.into(),
        name: "Phone".into(),
        data: "{}".into(),
        created_at: at,
        last_used_at: None,
    }
}

/// The person `user_id` does without a password, as their account page does it: given a
/// passkey, then their password removed.
pub async fn passkey_instead_of_password(store: &dyn Store, user_id: &str, at: UnixTime) {
    let record = |kind| AuditRecord::new(at, kind, "test");
    let key = passkey(user_id, "AAEC", at);
    assert!(
        store
            .add_passkey(key, record(AuditKind::PasskeyAdded))
            .await
            .unwrap()
    );
    let removed = store
        .remove_password(user_id, at, record(AuditKind::PasswordRemoved))
        .await;
    assert!(removed.unwrap().is_some());
}

/// A confidential client; returns its secret.
pub async fn add_client(store: &dyn Store, client_id: &str) -> String {
    let secret = tokens::generate();
    store
        .create_client(client(client_id, Some(tokens::hash(&secret))), None)
        .await
        .unwrap();
    secret
}

/// A confidential client that is not first-party: users see the consent page. Logout may
/// return to `REDIRECT` with `/bye`. Returns its secret.
pub async fn add_third_party_client(store: &dyn Store, client_id: &str) -> String {
    let secret = tokens::generate();
    let mut c = client(client_id, Some(tokens::hash(&secret)));
    c.first_party = false;
    c.post_logout_redirect_uris = vec![format!("{REDIRECT}/bye")];
    store.create_client(c, None).await.unwrap();
    secret
}

/// A client that only acts for itself (`client_credentials`) with `scopes`. Returns its secret.
pub async fn add_service_client(store: &dyn Store, client_id: &str, scopes: &[&str]) -> String {
    let secret = tokens::generate();
    let mut c = client(client_id, Some(tokens::hash(&secret)));
    c.redirect_uris = vec![];
    c.grant_types = vec![GrantType::ClientCredentials];
    c.scopes = scopes.iter().map(|s| s.to_string()).collect();
    store.create_client(c, None).await.unwrap();
    secret
}

pub async fn add_public_client(store: &dyn Store, client_id: &str) {
    store
        .create_client(client(client_id, None), None)
        .await
        .unwrap();
}

fn client(client_id: &str, secret_hash: Option<String>) -> Client {
    Client {
        client_id: client_id.into(),
        secret_hash,
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![],
        scopes: ["openid", "profile", "email", "groups", "offline_access"]
            .map(String::from)
            .to_vec(),
        grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
        first_party: true,
        created_at: SystemClock.now(),
        display: gatehouse::model::ClientDisplay::default(),
        previous_secret: None,
        id_token_claims: None,
        id_token_signed_response_alg: Default::default(),
        backchannel_logout_uri: None,
        access_token_format: Default::default(),
        auth_policy: Default::default(),
        jwks: None,
        require_pushed_authorization_requests: false,
        require_signed_request_object: false,
        dpop_bound_access_tokens: false,
        jwks_uri: None,
        access_token_claims: vec![],
        pairwise_sector: None,
        require_confirmed_address: false,
        resources: vec![],
        introspects: vec![],
    }
}

/// A browser: keeps cookies, does not follow redirects (the test reads them).
pub struct Browser {
    pub http: reqwest::Client,
}

impl Default for Browser {
    fn default() -> Self {
        Browser {
            http: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
        }
    }
}

pub fn hidden_input(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} input in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    html[start..end]
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

impl Browser {
    /// Opens the authorization URL and, if the login form shows, signs in. Returns where the
    /// server redirected to.
    pub async fn authorize(
        &self,
        base: &str,
        authorize_url: &str,
        username: &str,
        password: &str,
    ) -> reqwest::Response {
        let page = self.http.get(authorize_url).send().await.unwrap();
        if page.status().is_redirection() {
            return page;
        }
        assert_eq!(page.status(), 200, "the login form");
        let html = page.text().await.unwrap();
        let form = [
            ("username", username.to_owned()),
            ("password", password.to_owned()),
            ("csrf", hidden_input(&html, "csrf")),
            ("request", hidden_input(&html, "request")),
        ];
        self.http
            .post(format!("{base}/login"))
            .form(&form)
            .send()
            .await
            .unwrap()
    }
}

/// The query parameters of a redirect's `Location`.
pub fn location_params(r: &reqwest::Response) -> std::collections::HashMap<String, String> {
    assert_eq!(r.status(), 303, "expected a redirect, got {}", r.status());
    let location = r.headers()["location"].to_str().unwrap();
    assert!(location.starts_with(REDIRECT), "{location}");
    url::Url::parse(location)
        .unwrap()
        .query_pairs()
        .into_owned()
        .collect()
}

pub fn pkce() -> (String, String) {
    use base64::Engine as _;
    use sha2::Digest as _;
    let verifier = tokens::generate();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(verifier.as_bytes()));
    (verifier, challenge)
}

/// Logs `username` in through the form and exchanges the code; returns the token response.
pub async fn sign_in(
    server: &TestServer,
    client_id: &str,
    secret: &str,
    username: &str,
) -> HashMap<String, serde_json::Value> {
    sign_in_with(&Browser::default(), server, client_id, secret, username).await
}

/// Like `sign_in`, in a given browser (which keeps the session cookie).
pub async fn sign_in_with(
    browser: &Browser,
    server: &TestServer,
    client_id: &str,
    secret: &str,
    username: &str,
) -> HashMap<String, serde_json::Value> {
    sign_in_at(browser, &server.base, client_id, secret, username).await
}

/// Like `sign_in_with`, against the server at `base` (a server process, say).
pub async fn sign_in_at(
    browser: &Browser,
    base: &str,
    client_id: &str,
    secret: &str,
    username: &str,
) -> HashMap<String, serde_json::Value> {
    sign_in_asking(browser, base, (client_id, secret), username, "").await
}

/// Like `sign_in_at`, the authorization request ending with `more` (`&name=value…`, encoded).
pub async fn sign_in_asking(
    browser: &Browser,
    base: &str,
    (client_id, secret): (&str, &str),
    username: &str,
    more: &str,
) -> HashMap<String, serde_json::Value> {
    let (verifier, challenge) = pkce();
    let url = format!(
        "{base}/authorize?response_type=code&client_id={client_id}&redirect_uri={REDIRECT}&scope=openid%20profile&state=s&nonce=n&code_challenge={challenge}&code_challenge_method=S256{more}"
    );
    let redirect = browser.authorize(base, &url, username, PASSWORD).await;
    let params = location_params(&redirect);
    let Some(code) = params.get("code").cloned() else {
        panic!("sign-in of {username} redirected without a code: {params:?}");
    };
    let response = browser
        .http
        .post(format!("{base}/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", &verifier),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "code exchange");
    response.json().await.unwrap()
}

/// Checks a JWT as a relying party or an API does, offline: the `typ` header, the signature
/// with the key the server publishes under its `kid`, the issuer (`base`), the audience and
/// `required` claims. Returns its claims.
pub async fn verify_jwt(
    base: &str,
    token: &str,
    typ: &str,
    audience: &str,
    required: &[&str],
) -> serde_json::Value {
    let header = jsonwebtoken::decode_header(token).unwrap();
    assert_eq!(header.typ.as_deref(), Some(typ));
    let jwks: jsonwebtoken::jwk::JwkSet = reqwest::get(format!("{base}/jwks.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let jwk = jwks.find(header.kid.as_deref().unwrap()).unwrap();
    let mut validation = jsonwebtoken::Validation::new(header.alg);
    validation.set_audience(&[audience]);
    validation.set_issuer(&[base]);
    validation.set_required_spec_claims(required);
    jsonwebtoken::decode::<serde_json::Value>(
        token,
        &jsonwebtoken::DecodingKey::from_jwk(jwk).unwrap(),
        &validation,
    )
    .unwrap()
    .claims
}

/// Refreshes with `token` as the confidential client `client_id`; the status.
pub async fn refresh_status(base: &str, client_id: &str, secret: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/token"))
        .basic_auth(client_id, Some(secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", token)])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// The status of an introspection (RFC 7662) as client `client_id` with `secret`: whether the
/// server takes the secret (200) or not (401).
#[allow(dead_code, reason = "not every test binary checks a secret")]
pub async fn secret_status(base: &str, client_id: &str, secret: &str) -> u16 {
    reqwest::Client::new()
        .post(format!("{base}/introspect"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// What introspection (RFC 7662) tells the client `client_id` with `secret` of `token`.
pub async fn introspect(
    base: &str,
    (client_id, secret): (&str, &str),
    token: &str,
) -> serde_json::Value {
    reqwest::Client::new()
        .post(format!("{base}/introspect"))
        .basic_auth(client_id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}
