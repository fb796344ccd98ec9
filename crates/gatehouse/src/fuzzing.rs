//! Entry points for fuzzing what gatehouse reads from the network: the parameters of every
//! protocol endpoint, the `Authorization` header, cookies, and `id_token_hint` JWTs.
//!
//! The cargo-fuzz targets in `crates/gatehouse/fuzz` call these; `tests/fuzz_regressions.rs`
//! replays every input that once broke a property, so a fixed bug stays fixed. Each function
//! panics when a property fails, which is what a fuzzer reports:
//!
//! - [`Harness::http`]: whatever arrives, the server answers with a status below 500, does not
//!   panic, redirects only to the registered redirect URI or to itself, and issues tokens only
//!   to a request with a registered client's credentials. Every input meets the database as it
//!   was set up (a code not yet redeemed, tokens not yet rotated, no account locked).
//! - [`Harness::id_token_hint`]: no token the input assembles verifies, unless it is a token
//!   the server signed itself.
//!
//! Inputs are decoded with [`arbitrary`] into requests built from the names and values the
//! endpoints know (a registered client, its redirect URI, a valid PKCE pair, live tokens, a
//! session cookie) mixed with arbitrary text, so mutations reach past the first check.

#![allow(
    clippy::expect_used,
    reason = "the harness has nothing to fuzz when its set-up fails: a panic says why"
)]

use std::sync::Arc;

use arbitrary::{Arbitrary, Unstructured};
use axum::body::Body;
use axum::http::{HeaderValue, Method, Request, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::JwkSet;
use tower::ServiceExt as _;

use crate::auth::forms::{self, Purpose};
use crate::auth::passwords::Passwords;
use crate::auth::session::CookieNames;
use crate::clock::{Clock, SystemClock};
use crate::config::{Config, LogFormat, ServeArgs};
use crate::model::{AuthorizationCode, Client, GrantType, Session, User};
use crate::oidc::tokens;
use crate::store;
use crate::{AppState, app, server};

const PASSWORD: &str = "correct horse battery staple";
const REDIRECT: &str = "https://rp.example.com/callback";
const ISSUER: &str = "https://id.example.com";
/// RFC 7636 appendix B.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
/// The browser's form cookie: login and sign-out form tokens are bound to it.
const FORM_COOKIE: &str = "fuzz-form-cookie-fuzz-form-cookie-fuzz-form";

/// A server over a SQLite file in a temporary directory (removed when the harness is dropped),
/// with a user, clients, a session, a code and live tokens to aim at.
pub struct Harness {
    rt: tokio::runtime::Runtime,
    router: axum::Router,
    known: Known,
    jwks: JwkSet,
    /// The database the server runs on, and a copy of it as set up: every input starts from
    /// the copy, so a code redeemed, a token rotated or an account locked by one input does
    /// not change what the next one meets.
    /// Connections to both, kept open between inputs: (snapshot, live).
    restore: std::sync::Mutex<(rusqlite::Connection, rusqlite::Connection)>,
    _dir: tempfile::TempDir,
}

/// Values a request can use verbatim.
struct Known {
    secret: String,
    session: String,
    code: String,
    id_token: String,
    access_token: String,
    refresh_token: String,
    user_id: String,
    cookies: CookieNames,
    /// A login form token for `FORM_COOKIE`.
    login_form: String,
    /// A client assertion of `signed`, good for ten minutes from the set-up (each run starts
    /// from the same database, so it is taken afresh each time).
    assertion: String,
    /// A request object of `signed`'s, for a code with PKCE, good for an hour from the set-up.
    request_object: String,
    /// A DPoP proof for `POST /token`, good for five minutes from the set-up (taken afresh each
    /// run, as the assertion is).
    dpop_proof: String,
    /// The secret of a sign-up link for many people (each run starts from the database the
    /// set-up left, so its uses never run out).
    signup_link: String,
}

/// The start of the name of a run's directory, before the process id: libFuzzer ends a run
/// with `exit`, so the directory is never dropped, and the next run removes it.
const RUN_PREFIX: &str = "gatehouse-fuzz-";

/// Removes the directories of earlier runs under `parent` whose process is gone.
fn remove_stale_runs(parent: &std::path::Path) {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let pid = name
            .to_str()
            .and_then(|n| n.strip_prefix(RUN_PREFIX))
            .and_then(|rest| rest.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok());
        if let Some(pid) = pid
            && !std::path::Path::new(&format!("/proc/{pid}")).exists()
        {
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Harness {
    /// Sets up the server. Panics if that fails: there is nothing to fuzz then.
    pub fn new() -> Harness {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        // Memory-backed where there is such a file system: the harness needs no durability,
        // and an fsync per write would bound the fuzzer to disk speed.
        let shm = std::path::Path::new("/dev/shm");
        remove_stale_runs(shm);
        let prefix = format!("{RUN_PREFIX}{}-", std::process::id());
        let dir = tempfile::Builder::new()
            .prefix(&prefix)
            .tempdir_in(shm)
            .or_else(|_| tempfile::Builder::new().prefix(&prefix).tempdir())
            .expect("a temporary directory");
        let live = dir.path().join("fuzz.db");
        let snapshot = dir.path().join("snapshot.db");
        let url = format!("sqlite://{}", live.display());
        let (state, known, jwks) = rt.block_on(setup(&url));
        rt.block_on(state.store.backup(&snapshot))
            .expect("a copy of the set-up database");
        let source = rusqlite::Connection::open_with_flags(
            &snapshot,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
        )
        .expect("the snapshot opens");
        let target = rusqlite::Connection::open(&live).expect("the database opens");
        Harness {
            rt,
            router: app(state),
            known,
            jwks,
            restore: std::sync::Mutex::new((source, target)),
            _dir: dir,
        }
    }

    /// Puts the database back as it was set up, through SQLite's backup API (page by page,
    /// under the database's own locks, so the server's connections see the result).
    fn reset(&self) {
        let mut guard = self.restore.lock().unwrap_or_else(|p| p.into_inner());
        let (source, target) = &mut *guard;
        let backup =
            rusqlite::backup::Backup::new(source, target).expect("a backup to the database");
        backup
            // A few hundred pages: all of them in one step, retried while the writer checkpoints.
            .run_to_completion(1 << 20, std::time::Duration::from_millis(1), None)
            .expect("the database is put back");
        drop(backup);
        // Each restore writes every page into the WAL, and nothing else checkpoints what this
        // connection writes: without this, the WAL grew by the whole database each input
        // (gigabytes a minute, in memory). Nobody reads between inputs, so it empties at once;
        // if it cannot, the next input tries again.
        let _ = target.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }

    /// Sends the request `data` decodes to, on the database as it was set up, and panics when
    /// the answer breaks a rule: a 5xx; a
    /// redirect anywhere but a registered redirect URI or gatehouse itself (an open
    /// redirector); tokens from `/token` for a request without valid client credentials.
    pub fn http(&self, data: &[u8]) {
        let Ok(input) = HttpInput::arbitrary_take_rest(Unstructured::new(data)) else {
            return;
        };
        let Some((request, params)) = input.build(&self.known) else {
            return;
        };
        self.reset();
        let (method, uri) = (request.method().clone(), request.uri().clone());
        let authenticated = self.authenticates_a_client(&request, &params);
        let response = self
            .rt
            .block_on(self.router.clone().oneshot(request))
            .unwrap_or_else(|e| match e {});
        let status = response.status();
        assert!(
            !status.is_server_error(),
            "{method} {uri} answered {status}"
        );
        if status.is_redirection() {
            let location = response
                .headers()
                .get(header::LOCATION)
                .and_then(|l| l.to_str().ok())
                .unwrap_or_default();
            let internal = !location.contains("://") || location.starts_with(ISSUER);
            assert!(
                internal || location.starts_with(REDIRECT),
                "{method} {uri} redirected to {location}"
            );
        }
        if uri.path() == "/token" && status.is_success() {
            assert!(
                authenticated,
                "{method} {uri} issued tokens without client credentials"
            );
        }
    }

    /// Whether the request carries the credentials of a registered client: the confidential
    /// clients' secret (HTTP Basic or the form), `signed`'s assertion, or the public client's
    /// id (it has no secret; PKCE binds its codes).
    fn authenticates_a_client(&self, request: &Request<Body>, params: &str) -> bool {
        let confidential =
            |id: &str, secret: &str| matches!(id, "web" | "partner") && secret == self.known.secret;
        let form: Vec<(String, String)> = url::form_urlencoded::parse(params.as_bytes())
            .into_owned()
            .collect();
        let field = |name: &str| {
            form.iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        // RFC 6749 §2.3.1: the scheme in any case, id and secret form-urlencoded.
        let unescape = |s: &str| {
            url::form_urlencoded::parse(format!("x={s}").as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default()
        };
        let basic = request
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split_once(' '))
            .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("basic"))
            .and_then(|(_, b)| STANDARD.decode(b.trim()).ok())
            .and_then(|b| String::from_utf8(b).ok())
            .is_some_and(|pair| {
                pair.split_once(':')
                    .is_some_and(|(id, secret)| confidential(&unescape(id), &unescape(secret)))
            });
        let posted = field("client_secret")
            .zip(field("client_id"))
            .is_some_and(|(secret, id)| confidential(id, secret));
        let asserted = field("client_assertion") == Some(&self.known.assertion)
            && field("client_assertion_type")
                == Some(crate::oidc::client_assertion::ASSERTION_TYPE);
        basic || posted || asserted || field("client_id") == Some("spa")
    }

    /// Verifies the `id_token_hint` `data` decodes to; panics if a token the server did not
    /// sign verifies.
    pub fn id_token_hint(&self, data: &[u8]) {
        let Ok(input) = HintInput::arbitrary_take_rest(Unstructured::new(data)) else {
            return;
        };
        let token = input.build(&self.known);
        let verified = crate::oidc::keys::verify_hint(&token, &self.jwks, ISSUER);
        if token != self.known.id_token {
            assert!(verified.is_err(), "a forged hint verified: {token}");
        } else {
            assert_eq!(verified.map(|h| h.sub).as_deref(), Ok(&*self.known.user_id));
        }
    }
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

async fn setup(url: &str) -> (AppState, Known, JwkSet) {
    let store = store::open(url).await.expect("the store opens");
    let now = SystemClock.now();
    let args = ServeArgs {
        listen: "127.0.0.1:8080".parse().expect("an address"),
        issuer: Some(ISSUER.parse().expect("an issuer URL")),
        insecure_http_issuer: false,
        access_token_ttl: 600,
        id_token_ttl: 3600,
        refresh_token_ttl: 86400,
        refresh_retry_window: crate::config::DEFAULT_REFRESH_RETRY_WINDOW,
        session_ttl: 3600,
        session_idle_timeout: 1800,
        kept_session_ttl: 30 * 86_400,
        kept_session_idle_timeout: 7 * 86_400,
        log_format: LogFormat::Pretty,
        trust_forwarded_for: true,
        trusted_proxies: vec![],
        hsts_max_age: crate::config::DEFAULT_HSTS_MAX_AGE,
        password_hash_concurrency: Some(1),
        request_timeout: 30,
        login_lockout_after: 10,
        login_lockout: 900,
        audit_retention_days: crate::config::DEFAULT_AUDIT_RETENTION_DAYS,
        token_audit_retention_days: crate::config::DEFAULT_TOKEN_AUDIT_RETENTION_DAYS,
        product_name: crate::branding::DEFAULT_PRODUCT_NAME.to_owned(),
        accent_colour: None,
        logo: None,
        language: crate::branding::DEFAULT_LANGUAGE.to_owned(),
        one_language: false,
        smtp_url: None,
        mail_from: None,
        no_sign_in_notices: false,
        dpop_nonce: false,
        admin_group: crate::config::DEFAULT_ADMIN_GROUP.to_owned(),
        account_removal: false,
    };
    let config = Config::from_args(&args).expect("a configuration");
    let state = server::prepare(Arc::clone(&store), config, Arc::new(SystemClock))
        .await
        .expect("a signing key");
    let user = User {
        id: tokens::new_id(),
        username: "ada".into(),
        email: "ada@example.com".into(),
        name: Some("Ada".into()),
        password_hash: Some(
            Passwords::new(1)
                .hash(PASSWORD.into(), vec![])
                .await
                .expect("a hash"),
        ),
        disabled: false,
        created_at: now,
        email_verified: false,
        profile: crate::model::Profile::default(),
    };
    store.create_user(user.clone()).await.expect("a user");
    let secret = tokens::generate();
    let client = |id: &str, secret_hash: Option<String>, first_party: bool| Client {
        client_id: id.into(),
        secret_hash,
        redirect_uris: vec![REDIRECT.into()],
        post_logout_redirect_uris: vec![format!("{REDIRECT}/bye")],
        scopes: ["openid", "profile", "email", "offline_access"]
            .map(String::from)
            .to_vec(),
        grant_types: GrantType::ALL.to_vec(),
        first_party,
        created_at: now,
        display: crate::model::ClientDisplay::default(),
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
        // So that tokens and introspection's answers carry claims about the user.
        access_token_claims: vec!["preferred_username".into(), "email".into()],
        pairwise_sector: None,
        require_confirmed_address: false,
        // So that the fuzzer's `resource` parameters reach the rules that take one.
        resources: vec!["https://api.example/".into()],
        // The fuzzer's clients introspect with their own credentials: their own tokens.
        introspects: vec![],
    };
    // The first-party client takes JWT access tokens, so the fuzzer's bearer tokens reach the
    // JWT verification of /userinfo, introspection and revocation; refresh tokens and the
    // other clients' tokens stay opaque.
    let jwt = |c: Client| Client {
        access_token_format: crate::model::AccessTokenFormat::Jwt,
        ..c
    };
    // A client that signs its assertions with a key (private_key_jwt), and knows people by
    // pairwise subjects, so what the fuzzer sends as it reaches those too.
    let client_key =
        crate::oidc::keys::generate(crate::model::SigningAlg::Es256, now).expect("a client key");
    let signed = Client {
        jwks: Some(
            format!(r#"{{"keys":[{}]}}"#, client_key.public_jwk)
                .parse()
                .expect("the client's key set"),
        ),
        pairwise_sector: Some("signed.example".into()),
        ..client("signed", None, true)
    };
    let signer = crate::oidc::keys::Signer::new(&client_key).expect("the client's signer");
    let assertion = signer
        .sign(&serde_json::json!({
            "iss": "signed", "sub": "signed", "aud": format!("{ISSUER}/token"),
            "exp": now + crate::oidc::client_assertion::MAX_LIFETIME, "jti": "fuzz",
        }))
        .expect("a client assertion");
    let dpop_key =
        crate::oidc::keys::generate(crate::model::SigningAlg::Es256, now).expect("a DPoP key");
    let dpop_proof = crate::oidc::dpop::make_proof(
        &dpop_key,
        &serde_json::json!({
            "jti": "fuzz", "htm": "POST", "htu": format!("{ISSUER}/token"), "iat": now,
        }),
        |_| {},
    );
    let request_object = signer
        .sign(&serde_json::json!({
            "iss": "signed", "aud": ISSUER, "client_id": "signed",
            "exp": now + crate::oidc::request_object::MAX_LIFETIME,
            "response_type": "code", "redirect_uri": REDIRECT, "scope": "openid",
            "code_challenge": CHALLENGE, "code_challenge_method": "S256",
        }))
        .expect("a request object");
    for c in [
        jwt(client("web", Some(tokens::hash(&secret)), true)),
        client("partner", Some(tokens::hash(&secret)), false),
        client("spa", None, true),
        signed,
    ] {
        store.create_client(c, None).await.expect("a client");
    }
    // An application with a logo, which `/clients/web/logo` serves.
    let logo =
        crate::branding::Logo::from_bytes(b"<svg xmlns='http://www.w3.org/2000/svg'/>".to_vec())
            .expect("an SVG");
    store
        .set_client_logo("web", Some(logo.into()), 0, None)
        .await
        .expect("a logo");
    let session = tokens::generate();
    store
        .create_session(
            Session {
                id_hash: tokens::hash(&session),
                user_id: user.id.clone(),
                auth_time: now,
                amr: crate::model::Amr::PASSWORD,
                expires_at: now + 86400,
                last_seen_at: now,
                user_agent: None,
                ip: None,
                kept: false,
            },
            None,
            None,
            None,
        )
        .await
        .expect("a session");
    let code = |code: &str| AuthorizationCode {
        code_hash: tokens::hash(code),
        client_id: "web".into(),
        user_id: user.id.clone(),
        redirect_uri: REDIRECT.into(),
        scope: "openid profile offline_access".into(),
        nonce: Some("n".into()),
        code_challenge: Some(CHALLENGE.into()),
        auth_time: now,
        amr: crate::model::Amr::PASSWORD,
        session_id_hash: Some(tokens::hash(&session)),
        expires_at: now + 86400,
        dpop_jkt: None,
        // Its tokens' requests may narrow this, or ask for more and be refused.
        resources: vec!["https://api.example/".into()],
    };
    // One code is redeemed now for live tokens; the other waits for the fuzzer.
    let (first, second) = (tokens::generate(), tokens::generate());
    store
        .create_authorization_code(code(&first))
        .await
        .expect("a code");
    store
        .create_authorization_code(code(&second))
        .await
        .expect("a code");
    let body = serde_urlencoded::to_string([
        ("grant_type", "authorization_code"),
        ("code", &first),
        ("redirect_uri", REDIRECT),
        ("code_verifier", VERIFIER),
    ])
    .expect("a form");
    let request = Request::post("/token")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(header::AUTHORIZATION, basic("web", &secret))
        .body(Body::from(body))
        .expect("a request");
    let response = app(state.clone())
        .oneshot(request)
        .await
        .unwrap_or_else(|e| match e {});
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("a body");
    let tokens: serde_json::Value = serde_json::from_slice(&bytes).expect("a token response");
    let field = |name: &str| {
        tokens[name]
            .as_str()
            .unwrap_or_else(|| panic!("no {name} in {tokens}"))
            .to_owned()
    };
    let jwks = state
        .keys
        .jwks(store.as_ref(), now)
        .await
        .expect("the key set");
    let key = state.form_key().await.expect("the form key");
    let login_form = forms::issue(
        &key,
        Purpose::Login {
            browser: FORM_COOKIE,
        },
        now,
    );
    let spec = crate::auth::signup::LinkSpec {
        uses: crate::auth::signup::MAX_USES,
        days: crate::auth::signup::MAX_DAYS,
        note: "fuzzing".into(),
        groups: Vec::new(),
        domains: Vec::new(),
    };
    let (signup_link, _) = crate::admin::Admin::new(state.store.as_ref(), "cli", None, now)
        .make_signup_link(spec)
        .await
        .expect("a sign-up link");
    let known = Known {
        cookies: state.config.cookie_names(),
        login_form,
        secret,
        session,
        code: second,
        id_token: field("id_token"),
        access_token: field("access_token"),
        refresh_token: field("refresh_token"),
        user_id: user.id,
        assertion,
        request_object,
        dpop_proof,
        signup_link,
    };
    (state, known, (*jwks).clone())
}

fn basic(id: &str, secret: &str) -> String {
    format!("Basic {}", STANDARD.encode(format!("{id}:{secret}")))
}

#[derive(Debug, Arbitrary)]
enum Endpoint {
    Authorize,
    Login,
    Consent,
    Token,
    Introspect,
    Revoke,
    LogoutGet,
    LogoutPost,
    Userinfo,
    Discovery,
    WebFinger,
    Par,
    DeviceAuthorization,
    DeviceGet,
    DevicePost,
    Verify,
    ResetGet,
    ResetPost,
    WelcomeGet,
    WelcomePost,
    ConfirmEmailGet,
    ConfirmEmailPost,
    AccountGet,
    AccountPost,
    SignupGet,
    SignupPost,
    SignupPasskeyOptions,
    ClientLogo,
}

#[derive(Debug, Arbitrary)]
enum Key {
    ResponseType,
    ClientId,
    ClientSecret,
    RedirectUri,
    Scope,
    State,
    Nonce,
    CodeChallenge,
    CodeChallengeMethod,
    Prompt,
    MaxAge,
    IdTokenHint,
    PostLogoutRedirectUri,
    GrantType,
    Code,
    CodeVerifier,
    RefreshToken,
    Token,
    TokenTypeHint,
    Username,
    Password,
    Csrf,
    Request,
    Decision,
    ClientAssertionType,
    ClientAssertion,
    LoginHint,
    UiLocales,
    Claims,
    AcrValues,
    /// A language chosen on a page's switch.
    Language,
    Chosen,
    Resource,
    Rel,
    Identifier,
    Action,
    NewPassword,
    RepeatPassword,
    CurrentPassword,
    RequestUri,
    Flow,
    UserCode,
    Email,
    Name,
    PasskeyName,
    ChallengeId,
    Credential,
    Other(String),
}

impl Key {
    fn name(&self) -> &str {
        match self {
            Key::ResponseType => "response_type",
            Key::ClientId => "client_id",
            Key::ClientSecret => "client_secret",
            Key::RedirectUri => "redirect_uri",
            Key::Scope => "scope",
            Key::State => "state",
            Key::Nonce => "nonce",
            Key::CodeChallenge => "code_challenge",
            Key::CodeChallengeMethod => "code_challenge_method",
            Key::Prompt => "prompt",
            Key::MaxAge => "max_age",
            Key::IdTokenHint => "id_token_hint",
            Key::PostLogoutRedirectUri => "post_logout_redirect_uri",
            Key::GrantType => "grant_type",
            Key::Code => "code",
            Key::CodeVerifier => "code_verifier",
            Key::RefreshToken => "refresh_token",
            Key::Token => "token",
            Key::TokenTypeHint => "token_type_hint",
            Key::Username => "username",
            Key::Password => "password",
            Key::Csrf => "csrf",
            Key::Request => "request",
            Key::Decision => "decision",
            Key::ClientAssertionType => "client_assertion_type",
            Key::ClientAssertion => "client_assertion",
            Key::LoginHint => "login_hint",
            Key::UiLocales => "ui_locales",
            Key::Claims => "claims",
            Key::AcrValues => "acr_values",
            Key::Language => "language",
            Key::Chosen => "chosen",
            Key::Resource => "resource",
            Key::Rel => "rel",
            Key::Identifier => "identifier",
            Key::Action => "action",
            Key::NewPassword => "new_password",
            Key::RepeatPassword => "repeat_password",
            Key::CurrentPassword => "current_password",
            Key::RequestUri => "request_uri",
            Key::Flow => "flow",
            Key::UserCode => "user_code",
            Key::Email => "email",
            Key::Name => "name",
            Key::PasskeyName => "passkey_name",
            Key::ChallengeId => "challenge_id",
            Key::Credential => "credential",
            Key::Other(s) => s,
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Value {
    Web,
    Partner,
    Spa,
    Secret,
    Redirect,
    LogoutRedirect,
    Code,
    OpenIdScopes,
    Challenge,
    Verifier,
    S256,
    AuthorizationCode,
    RefreshTokenGrant,
    ClientCredentials,
    IdToken,
    AccessToken,
    RefreshToken,
    Ada,
    Password,
    Csrf,
    /// A whole authorization request, as the login and consent forms carry it.
    AuthorizeQuery,
    Signed,
    AssertionType,
    /// `signed`'s client assertion.
    Assertion,
    /// `signed`'s request object.
    RequestObject,
    /// A language the pages speak.
    German,
    /// Languages most preferred first, as `ui_locales` lists them.
    Languages,
    /// A WebFinger resource naming a person.
    Account,
    /// A `claims` parameter asking for a stronger sign-in and for ada alone.
    ClaimsRequest,
    /// The set-up's sign-up link's secret.
    SignupLink,
    Number(i64),
    Text(String),
}

impl Value {
    fn text(&self, k: &Known) -> String {
        match self {
            Value::Web => "web".into(),
            Value::Partner => "partner".into(),
            Value::Spa => "spa".into(),
            Value::Secret => k.secret.clone(),
            Value::Redirect => REDIRECT.into(),
            Value::LogoutRedirect => format!("{REDIRECT}/bye"),
            Value::Code => k.code.clone(),
            Value::OpenIdScopes => "openid profile email offline_access".into(),
            Value::Challenge => CHALLENGE.into(),
            Value::Verifier => VERIFIER.into(),
            Value::S256 => "S256".into(),
            Value::AuthorizationCode => GrantType::AuthorizationCode.as_str().into(),
            Value::RefreshTokenGrant => GrantType::RefreshToken.as_str().into(),
            Value::ClientCredentials => GrantType::ClientCredentials.as_str().into(),
            Value::IdToken => k.id_token.clone(),
            Value::AccessToken => k.access_token.clone(),
            Value::RefreshToken => k.refresh_token.clone(),
            Value::Ada => "ada".into(),
            Value::Password => PASSWORD.into(),
            Value::Csrf => k.login_form.clone(),
            Value::AuthorizeQuery => format!(
                "response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid&code_challenge={CHALLENGE}&code_challenge_method=S256"
            ),
            Value::Signed => "signed".into(),
            Value::AssertionType => crate::oidc::client_assertion::ASSERTION_TYPE.into(),
            Value::Assertion => k.assertion.clone(),
            Value::RequestObject => k.request_object.clone(),
            Value::German => "de".into(),
            Value::Languages => "fr-CA de-CH en".into(),
            Value::Account => "acct:ada@example.com".into(),
            Value::ClaimsRequest => serde_json::json!({
                "id_token": {"acr": {"essential": true, "values": ["two_factor"]}, "email": null},
                "userinfo": {"sub": {"value": k.user_id}},
            })
            .to_string(),
            Value::SignupLink => k.signup_link.clone(),
            Value::Number(n) => n.to_string(),
            Value::Text(s) => s.clone(),
        }
    }
}

#[derive(Debug, Arbitrary)]
enum Authorization {
    Basic(Value, Value),
    /// Base64 of arbitrary bytes: no colon, bad UTF-8, percent-encoding.
    BasicBytes(Vec<u8>),
    Bearer(Value),
    /// `DPoP TOKEN` (RFC 9449 §7.1).
    Dpop(Value),
    Raw(Vec<u8>),
}

/// A `DPoP` header (RFC 9449 §4.1).
#[derive(Debug, Arbitrary)]
enum Dpop {
    /// The proof for `POST /token` made at the set-up.
    Known,
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum Cookie {
    Session,
    SessionValue(String),
    Csrf,
    CsrfValue(String),
    Raw(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
struct HttpInput {
    endpoint: Endpoint,
    params: Vec<(Key, Value)>,
    /// Appended to the query or body as it is, unencoded.
    raw: Option<String>,
    authorization: Option<Authorization>,
    /// Each a `DPoP` header: none, one, or several.
    dpop: Vec<Dpop>,
    cookies: Vec<Cookie>,
    forwarded_for: Option<String>,
    accept_language: Option<String>,
    /// A content type other than a form's.
    content_type: Option<String>,
}

impl HttpInput {
    /// The request and its parameters (query or body), or `None` when a header value is one
    /// no HTTP parser would let through.
    fn build(&self, k: &Known) -> Option<(Request<Body>, String)> {
        let mut encoded = url::form_urlencoded::Serializer::new(String::new());
        for (key, value) in &self.params {
            encoded.append_pair(key.name(), &value.text(k));
        }
        let mut params = encoded.finish();
        if let Some(raw) = &self.raw {
            params.push('&');
            params.push_str(raw);
        }
        let (method, path) = match self.endpoint {
            Endpoint::Authorize => (Method::GET, "/authorize"),
            Endpoint::Login => (Method::POST, "/login"),
            Endpoint::Consent => (Method::POST, "/consent"),
            Endpoint::Token => (Method::POST, "/token"),
            Endpoint::Introspect => (Method::POST, "/introspect"),
            Endpoint::Revoke => (Method::POST, "/revoke"),
            Endpoint::LogoutGet => (Method::GET, "/logout"),
            Endpoint::LogoutPost => (Method::POST, "/logout"),
            Endpoint::Userinfo => (Method::GET, "/userinfo"),
            Endpoint::Discovery => (Method::GET, "/.well-known/openid-configuration"),
            Endpoint::WebFinger => (Method::GET, "/.well-known/webfinger"),
            Endpoint::Par => (Method::POST, "/par"),
            Endpoint::DeviceAuthorization => (Method::POST, "/device_authorization"),
            Endpoint::DeviceGet => (Method::GET, "/device"),
            Endpoint::DevicePost => (Method::POST, "/device"),
            Endpoint::Verify => (Method::POST, "/verify"),
            Endpoint::ResetGet => (Method::GET, "/reset"),
            Endpoint::ResetPost => (Method::POST, "/reset"),
            Endpoint::WelcomeGet => (Method::GET, "/welcome"),
            Endpoint::WelcomePost => (Method::POST, "/welcome"),
            Endpoint::ConfirmEmailGet => (Method::GET, "/confirm-email"),
            Endpoint::ConfirmEmailPost => (Method::POST, "/confirm-email"),
            Endpoint::AccountGet => (Method::GET, "/account"),
            Endpoint::AccountPost => (Method::POST, "/account"),
            Endpoint::SignupGet => (Method::GET, "/signup"),
            Endpoint::SignupPost => (Method::POST, "/signup"),
            Endpoint::SignupPasskeyOptions => (Method::POST, "/signup/passkey-options"),
            Endpoint::ClientLogo => (Method::GET, "/clients/web/logo"),
        };
        let get = method == Method::GET;
        let uri = if get {
            format!("{path}?{params}")
        } else {
            path.to_owned()
        };
        let mut request = Request::builder().method(method).uri(uri);
        let headers = request.headers_mut()?;
        if !get {
            let content_type = self
                .content_type
                .as_deref()
                .unwrap_or("application/x-www-form-urlencoded");
            headers.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(content_type).ok()?,
            );
        }
        if let Some(auth) = &self.authorization {
            let value = match auth {
                Authorization::Basic(id, secret) => {
                    basic(&id.text(k), &secret.text(k)).into_bytes()
                }
                Authorization::BasicBytes(b) => {
                    format!("Basic {}", STANDARD.encode(b)).into_bytes()
                }
                Authorization::Bearer(v) => format!("Bearer {}", v.text(k)).into_bytes(),
                Authorization::Dpop(v) => format!("DPoP {}", v.text(k)).into_bytes(),
                Authorization::Raw(b) => b.clone(),
            };
            headers.insert(header::AUTHORIZATION, HeaderValue::from_bytes(&value).ok()?);
        }
        for d in &self.dpop {
            let value = match d {
                Dpop::Known => k.dpop_proof.clone().into_bytes(),
                Dpop::Text(t) => t.clone().into_bytes(),
                Dpop::Bytes(b) => b.clone(),
            };
            headers.append("dpop", HeaderValue::from_bytes(&value).ok()?);
        }
        for c in &self.cookies {
            let value = match c {
                Cookie::Session => format!("{}={}", k.cookies.session, k.session).into_bytes(),
                Cookie::SessionValue(v) => format!("{}={v}", k.cookies.session).into_bytes(),
                Cookie::Csrf => format!("{}={FORM_COOKIE}", k.cookies.form).into_bytes(),
                Cookie::CsrfValue(v) => format!("{}={v}", k.cookies.form).into_bytes(),
                Cookie::Raw(b) => b.clone(),
            };
            headers.append(header::COOKIE, HeaderValue::from_bytes(&value).ok()?);
        }
        if let Some(ip) = &self.forwarded_for {
            headers.insert("x-forwarded-for", HeaderValue::from_str(ip).ok()?);
        }
        if let Some(languages) = &self.accept_language {
            headers.insert(
                header::ACCEPT_LANGUAGE,
                HeaderValue::from_str(languages).ok()?,
            );
        }
        let body = if get {
            Body::empty()
        } else {
            Body::from(params.clone())
        };
        request.body(body).ok().map(|r| (r, params))
    }
}

#[derive(Debug, Arbitrary)]
enum Part {
    /// The same part of the token the server signed.
    Genuine,
    Json(JsonPart),
    Text(String),
    Bytes(Vec<u8>),
}

#[derive(Debug, Arbitrary)]
enum JsonPart {
    /// A JOSE header: `alg`, `kid` (the real one, or another) and `typ`.
    Header {
        alg: Alg,
        real_kid: bool,
        kid: String,
    },
    /// Claims: `iss` (the issuer, or another), `sub`, `aud`, `exp`.
    Claims {
        real_iss: bool,
        iss: String,
        sub: String,
        aud: Vec<String>,
        exp: Option<i64>,
    },
}

#[derive(Debug, Arbitrary)]
enum Alg {
    Rs256,
    Hs256,
    None,
    Es256,
    Other(String),
}

#[derive(Debug, Arbitrary)]
enum HintInput {
    Raw(String),
    Parts(Box<(Part, Part, Part)>),
}

impl HintInput {
    fn build(&self, k: &Known) -> String {
        let (header, claims, signature) = match self {
            HintInput::Raw(s) => return s.clone(),
            HintInput::Parts(parts) => (&parts.0, &parts.1, &parts.2),
        };
        let genuine: Vec<&str> = k.id_token.split('.').collect();
        let part = |p: &Part, i: usize| match p {
            Part::Genuine => genuine[i].to_owned(),
            Part::Json(j) => URL_SAFE_NO_PAD.encode(j.json(genuine[0]).to_string()),
            Part::Text(t) => t.clone(),
            Part::Bytes(b) => URL_SAFE_NO_PAD.encode(b),
        };
        format!(
            "{}.{}.{}",
            part(header, 0),
            part(claims, 1),
            part(signature, 2)
        )
    }
}

impl JsonPart {
    fn json(&self, genuine_header: &str) -> serde_json::Value {
        match self {
            JsonPart::Header { alg, real_kid, kid } => {
                let kid = if *real_kid {
                    URL_SAFE_NO_PAD
                        .decode(genuine_header)
                        .ok()
                        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
                        .map(|h| h["kid"].clone())
                        .unwrap_or_default()
                } else {
                    kid.clone().into()
                };
                let alg = match alg {
                    Alg::Rs256 => "RS256",
                    Alg::Hs256 => "HS256",
                    Alg::None => "none",
                    Alg::Es256 => "ES256",
                    Alg::Other(a) => a,
                };
                serde_json::json!({ "alg": alg, "kid": kid, "typ": "JWT" })
            }
            JsonPart::Claims {
                real_iss,
                iss,
                sub,
                aud,
                exp,
            } => {
                let iss = if *real_iss { ISSUER } else { iss };
                serde_json::json!({ "iss": iss, "sub": sub, "aud": aud, "exp": exp })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_genuine_hint_verifies_and_requests_reach_the_endpoints() {
        let h = Harness::new();
        // Three genuine parts: the server's own token, which must verify.
        h.id_token_hint(&[1, 0, 0, 0]);
        let genuine = Box::new((Part::Genuine, Part::Genuine, Part::Genuine));
        let token = HintInput::Parts(genuine).build(&h.known);
        assert_eq!(token, h.known.id_token);
        // An all-zero input decodes to a bare GET /authorize.
        h.http(&[0; 64]);
    }

    #[test]
    fn the_known_request_object_starts_a_sign_in() {
        let h = Harness::new();
        let query = serde_urlencoded::to_string([
            ("client_id", "signed"),
            ("request", &h.known.request_object),
        ])
        .unwrap();
        let request = Request::get(format!("/authorize?{query}"))
            .body(Body::empty())
            .unwrap();
        let response =
            h.rt.block_on(h.router.clone().oneshot(request))
                .unwrap_or_else(|e| match e {});
        assert_eq!(response.status().as_u16(), 200, "the login form");
    }

    /// Sends `request` through the router: the status and the body.
    fn exchange(h: &Harness, request: Request<Body>) -> (u16, axum::body::Bytes) {
        let response =
            h.rt.block_on(h.router.clone().oneshot(request))
                .unwrap_or_else(|e| match e {});
        let status = response.status().as_u16();
        let bytes =
            h.rt.block_on(axum::body::to_bytes(response.into_body(), 1 << 20))
                .unwrap();
        (status, bytes)
    }

    /// Sends what `input` builds: the status and the body as text.
    fn answer(h: &Harness, input: &HttpInput) -> (u16, String) {
        let (request, _) = input.build(&h.known).unwrap();
        let (status, bytes) = exchange(h, request);
        (status, String::from_utf8_lossy(&bytes).into_owned())
    }

    fn input(endpoint: Endpoint, params: Vec<(Key, Value)>, cookies: Vec<Cookie>) -> HttpInput {
        HttpInput {
            endpoint,
            params,
            raw: None,
            authorization: None,
            dpop: Vec::new(),
            cookies,
            forwarded_for: None,
            accept_language: Some("en-US".into()),
            content_type: None,
        }
    }

    #[test]
    fn the_known_values_reach_webfinger_and_the_language_switch() {
        let h = Harness::new();
        let webfinger = input(
            Endpoint::WebFinger,
            vec![(Key::Resource, Value::Account)],
            Vec::new(),
        );
        let (status, body) = answer(&h, &webfinger);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains(ISSUER), "{body}");
        let switch = input(
            Endpoint::Login,
            vec![
                (Key::Csrf, Value::Csrf),
                (Key::Request, Value::AuthorizeQuery),
                (Key::Language, Value::German),
            ],
            vec![Cookie::Csrf],
        );
        let (status, body) = answer(&h, &switch);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<html lang=\"de\">"), "{body}");
        let mut params = authorize_params();
        params.push((Key::UiLocales, Value::Languages));
        let asked = input(Endpoint::Authorize, params, Vec::new());
        let (status, body) = answer(&h, &asked);
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("<html lang=\"de\">"), "{body}");
    }

    /// A good authorization request of `web`'s, with PKCE.
    fn authorize_params() -> Vec<(Key, Value)> {
        vec![
            (Key::ResponseType, Value::Text("code".into())),
            (Key::ClientId, Value::Web),
            (Key::RedirectUri, Value::Redirect),
            (Key::Scope, Value::OpenIdScopes),
            (Key::CodeChallenge, Value::Challenge),
            (Key::CodeChallengeMethod, Value::S256),
        ]
    }

    #[test]
    fn the_known_claims_request_reaches_authorize() {
        let h = Harness::new();
        let asked = |claims: Option<Value>| {
            let mut params = authorize_params();
            params.extend(claims.map(|c| (Key::Claims, c)));
            answer(
                &h,
                &input(Endpoint::Authorize, params, vec![Cookie::Session]),
            )
        };
        // The known session answers at once, unless the claims ask for more than a password.
        assert_eq!(asked(None).0, 303);
        let (status, body) = asked(Some(Value::ClaimsRequest));
        assert_eq!(status, 200, "{body}");
        assert!(body.contains("Sign in"), "{body}");
    }

    /// Redeems the known code as `web`, with `dpop` as the request's proof if there is one:
    /// the status and the body.
    fn redeem(h: &Harness, dpop: Option<&str>) -> (u16, serde_json::Value) {
        let body = serde_urlencoded::to_string([
            ("grant_type", "authorization_code"),
            ("code", &h.known.code),
            ("redirect_uri", REDIRECT),
            ("code_verifier", VERIFIER),
        ])
        .unwrap();
        let mut request = Request::post("/token")
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .header(header::AUTHORIZATION, basic("web", &h.known.secret));
        if let Some(proof) = dpop {
            request = request.header("dpop", proof);
        }
        let (status, bytes) = exchange(h, request.body(Body::from(body)).unwrap());
        (status, serde_json::from_slice(&bytes).unwrap())
    }

    #[test]
    fn the_known_dpop_proof_binds_the_tokens() {
        let h = Harness::new();
        let (status, tokens) = redeem(&h, Some(&h.known.dpop_proof));
        assert_eq!(status, 200, "{tokens}");
        assert_eq!(tokens["token_type"], "DPoP");
    }

    #[test]
    fn every_input_meets_the_database_as_it_was_set_up() {
        let h = Harness::new();
        let redeem = || redeem(&h, None).0;
        assert_eq!(redeem(), 200);
        assert_eq!(redeem(), 400, "a code is used once");
        h.reset();
        assert_eq!(redeem(), 200, "put back: the code is unused again");
    }
}
