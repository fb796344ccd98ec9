//! The keys a client publishes at its `jwks_uri` (`Client::jwks_uri`), fetched when one of its
//! assertions or request objects needs them and kept in memory by each instance. When to fetch is
//! `oidc::client_assertion::fetch_keys`'s call, and what is accepted is
//! `oidc::client_assertion::keys`'s, as for keys an operator registers.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use jsonwebtoken::jwk::JwkSet;

use crate::clock::UnixTime;
use crate::logout_sender::{HttpClient, error_chain, http_client};
use crate::oidc::client_assertion::{self, MAX_KEYS_JSON};

/// How long the client's server has to answer, body included.
const TIMEOUT: Duration = Duration::from_secs(5);

/// What was fetched from one URI, and when it was last fetched or tried.
#[derive(Default)]
struct Fetched {
    keys: Option<Arc<JwkSet>>,
    at: Option<UnixTime>,
}

/// The keys fetched from clients' `jwks_uri`s, by URI.
#[derive(Default)]
pub struct RemoteKeys {
    /// Made on the first fetch: most deployments never fetch.
    http: OnceLock<Option<HttpClient>>,
    /// Each URI's keys behind a lock of their own, held while they are fetched, so requests
    /// that arrive meanwhile wait for that fetch rather than make their own.
    by_uri: Mutex<HashMap<String, Arc<tokio::sync::Mutex<Fetched>>>>,
}

impl RemoteKeys {
    /// The keys published at `uri`, to verify a JWT (an assertion, a request object) naming
    /// `kid` (or none) at `now`:
    /// those fetched before, or fetched now when `client_assertion::fetch_keys` says so.
    /// `None` when none could be fetched yet. A failed fetch is logged and keeps the keys
    /// fetched before.
    pub async fn to_verify(
        &self,
        uri: &str,
        kid: Option<&str>,
        now: UnixTime,
    ) -> Option<Arc<JwkSet>> {
        let entry = {
            let mut all = self.by_uri.lock().unwrap_or_else(PoisonError::into_inner);
            Arc::clone(all.entry(uri.to_owned()).or_default())
        };
        let mut fetched = entry.lock().await;
        let holds = fetched
            .keys
            .as_deref()
            .is_some_and(|k| client_assertion::holds_key(k, kid));
        if client_assertion::fetch_keys(fetched.at, holds, now) {
            fetched.at = Some(now);
            let outcome = match self.fetch(uri).await {
                Ok(keys) => {
                    tracing::info!(%uri, keys = keys.keys.len(), "a client's keys fetched");
                    fetched.keys = Some(Arc::new(keys));
                    "fetched"
                }
                Err(why) => {
                    tracing::warn!(
                        %uri, %why,
                        "a client's keys could not be fetched; its assertions are verified \
                         with those fetched before, if any"
                    );
                    "failed"
                }
            };
            metrics::counter!("gatehouse_client_keys_fetches_total", "outcome" => outcome)
                .increment(1);
        }
        fetched.keys.clone()
    }

    /// GET `uri`: a `200` with a JWK Set of at most `MAX_KEYS_JSON` bytes within `TIMEOUT`,
    /// whose keys `client_assertion::keys` accepts. A redirect is not followed.
    async fn fetch(&self, uri: &str) -> Result<JwkSet, String> {
        let http = self
            .http
            .get_or_init(|| {
                http_client()
                    .map_err(|e| tracing::error!(error = %e, "no HTTP client for clients' keys"))
                    .ok()
            })
            .as_ref()
            .ok_or("no HTTP client")?;
        let request = Request::get(uri)
            .header(header::ACCEPT, "application/json")
            .header(
                header::USER_AGENT,
                concat!("gatehouse/", env!("CARGO_PKG_VERSION")),
            )
            .body(Full::new(Bytes::new()))
            .map_err(|e| format!("the URI cannot be used: {e}"))?;
        let read = async {
            let answer = http.request(request).await.map_err(|e| error_chain(&e))?;
            if answer.status() != StatusCode::OK {
                return Err(format!("answered {}", answer.status()));
            }
            Limited::new(answer.into_body(), MAX_KEYS_JSON)
                .collect()
                .await
                .map(|body| body.to_bytes())
                .map_err(|e| {
                    format!("the answer was not read whole ({MAX_KEYS_JSON} bytes at most): {e}")
                })
        };
        let body = tokio::time::timeout(TIMEOUT, read)
            .await
            .map_err(|_| format!("no answer within {} s", TIMEOUT.as_secs()))??;
        let text = std::str::from_utf8(&body).map_err(|_| "the answer is not UTF-8")?;
        client_assertion::keys(text)
            .map(JwkSet::from)
            .map_err(|e| e.to_string())
    }
}
