//! CORS (the Fetch standard's CORS protocol) for the endpoints a browser application calls:
//! discovery, the key set, `/par`, `/token`, `/userinfo` and `/revoke`, DPoP proofs included. A
//! single-page application is a public client; the origins its redirect URIs name are the ones
//! allowed, and no other. Pages (sign-in, consent), introspection and the admin API allow none.

use std::collections::HashSet;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::http::{HeaderName, HeaderValue, Method, header};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::model::Client;
use crate::store::Store;

/// How stale the allowed origins may get: a newly registered application is allowed within
/// this time.
pub(super) const RELOAD_AFTER: Duration = Duration::from_secs(10);

/// How long a browser may cache a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);

/// The origins browser applications may call from: those of the http(s) redirect URIs of the
/// public clients. A confidential client's secret must never reach a browser, so its redirect
/// URIs allow nothing.
pub(super) fn browser_origins(clients: &[Client]) -> HashSet<String> {
    clients
        .iter()
        .filter(|c| c.is_public())
        .flat_map(|c| &c.redirect_uris)
        .filter_map(|uri| url::Url::parse(uri).ok())
        .filter(|u| matches!(u.scheme(), "http" | "https"))
        .map(|u| u.origin().ascii_serialization())
        .collect()
}

/// The allowed origins as last read, and when.
type Loaded = Option<(Instant, Arc<HashSet<String>>)>;

/// The allowed origins, read from the store and kept for [`RELOAD_AFTER`].
#[derive(Clone)]
struct Origins {
    store: Arc<dyn Store>,
    cached: Arc<RwLock<Loaded>>,
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl Origins {
    async fn allows(&self, origin: &HeaderValue) -> bool {
        let Ok(origin) = origin.to_str() else {
            return false;
        };
        match self.current().await {
            Some(set) => set.contains(origin),
            None => false,
        }
    }

    fn fresh(&self) -> Option<Arc<HashSet<String>>> {
        self.cached
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|(at, _)| at.elapsed() < RELOAD_AFTER)
            .map(|(_, set)| Arc::clone(set))
    }

    /// The origins, reloaded by one request at a time when stale; `None` when the store
    /// cannot be read (then nothing is allowed, and the next request tries again).
    async fn current(&self) -> Option<Arc<HashSet<String>>> {
        if let Some(set) = self.fresh() {
            return Some(set);
        }
        let _reload = self.reloading.lock().await;
        if let Some(set) = self.fresh() {
            return Some(set);
        }
        match self.store.list_clients().await {
            Ok(clients) => {
                let set = Arc::new(browser_origins(&clients));
                *self.cached.write().unwrap_or_else(|p| p.into_inner()) =
                    Some((Instant::now(), Arc::clone(&set)));
                Some(set)
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read the clients for CORS");
                None
            }
        }
    }
}

/// The CORS layer for the browser-facing endpoints over `store`'s clients.
pub(super) fn layer(store: Arc<dyn Store>) -> CorsLayer {
    let origins = Origins {
        store,
        cached: Arc::default(),
        reloading: Arc::default(),
    };
    CorsLayer::new()
        .allow_origin(AllowOrigin::async_predicate(move |origin, _| {
            let origins = origins.clone();
            async move { origins.allows(&origin).await }
        }))
        .allow_methods([Method::GET, Method::POST])
        // A DPoP proof travels in a header of its own (RFC 9449 §4.1); a resource's challenge
        // tells an application why its token was refused, and a server nonce comes back in a
        // header of its own (§8.1).
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            HeaderName::from_static("dpop"),
        ])
        .expose_headers([
            header::WWW_AUTHENTICATE,
            HeaderName::from_static("dpop-nonce"),
        ])
        .max_age(PREFLIGHT_MAX_AGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: &str, public: bool, uris: &[&str]) -> Client {
        Client {
            redirect_uris: uris.iter().map(|u| (*u).to_owned()).collect(),
            ..Client::example(id, public)
        }
    }

    #[test]
    fn only_public_clients_web_redirect_origins_are_allowed() {
        let clients = [
            client(
                "spa",
                true,
                &[
                    "https://app.example.com/callback",
                    "https://app.example.com/other",
                    "http://localhost:5173/cb",
                    "https://APP.example.com:443/x",
                ],
            ),
            client(
                "native",
                true,
                &["com.example.app:/oauth", "http://127.0.0.1/cb"],
            ),
            client("server", false, &["https://server.example.com/cb"]),
        ];
        let mut got: Vec<String> = browser_origins(&clients).into_iter().collect();
        got.sort();
        assert_eq!(
            got,
            [
                "http://127.0.0.1",
                "http://localhost:5173",
                "https://app.example.com"
            ]
        );
    }
}
