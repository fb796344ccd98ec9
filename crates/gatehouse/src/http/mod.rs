//! The HTTP shell around the protocol core: one module per endpoint group, one shared
//! [`AppState`], errors turned into responses in one place (`error`).

mod authorize;
mod discovery;
pub mod error;
mod pages;
mod token;
mod userinfo;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::passwords::Passwords;
use crate::clock::Clock;
use crate::config::Config;
use crate::keyring::Keyring;
use crate::store::Store;

/// Largest request body accepted: forms and tokens are small.
const BODY_LIMIT: usize = 64 * 1024;
/// A request that takes longer than this is answered 408 rather than held open.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    pub keys: Keyring,
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: Config, clock: Arc<dyn Clock>) -> Self {
        let passwords = Passwords::new(config.password_hash_concurrency);
        AppState {
            store,
            config: Arc::new(config),
            clock,
            passwords,
            keys: Keyring::default(),
        }
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }
}

/// The whole application, without a socket: tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    Router::new()
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration),
        )
        .route("/jwks.json", get(discovery::jwks))
        .route("/authorize", get(authorize::authorize))
        .route("/login", post(authorize::login))
        .route("/token", post(token::token))
        .route(
            "/userinfo",
            get(userinfo::userinfo).post(userinfo::userinfo),
        )
        .route("/healthz", get(|| async { "ok" }))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
