//! The sender of back-channel logout notices (`oidc::backchannel`): every instance runs one.
//!
//! Each second it claims the notices that are due (a read answers when none is), signs a logout
//! token for each with the client's ID token algorithm, POSTs it, and settles the notice with
//! what `oidc::backchannel::settle` decides. A notice is written in the transaction that ended
//! the session and leaves the outbox only when settled, so a restart or a crash between the
//! two delays a notice and loses none; a sender that dies holding a claim loses it after
//! `oidc::backchannel::LEASE`, and another (or the next start) sends the notice again, with
//! the same `jti`.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{Request, header};
use http_body_util::Full;
use hyper_rustls::{HttpsConnector, HttpsConnectorBuilder};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use tokio::task::JoinSet;

use crate::http::AppState;
use crate::model::LogoutNotice;
use crate::oidc::backchannel::{self, Attempt, Settlement};

/// How often the outbox is looked at.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How many notices one sender works on at a time.
const BATCH: usize = 32;
/// How long a client has to answer (well inside the lease).
const TIMEOUT: Duration = Duration::from_secs(5);

/// The HTTP client notices go out with: HTTP/1.1 over plain TCP or TLS, verified against the
/// system's trusted roots. It follows no redirect (§2.5: a redirect is not an answer).
pub type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// The client, with the system's trusted roots. Without any (a minimal container image), it
/// still starts, says so, and reaches plain-http URIs only.
///
/// # Errors
/// When TLS cannot be set up with the crypto provider (not expected: aws-lc-rs supports the
/// safe default protocol versions).
pub fn http_client() -> Result<HttpClient, rustls::Error> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder =
        match HttpsConnectorBuilder::new().with_provider_and_native_roots(Arc::clone(&provider)) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    "no trusted root certificates: back-channel logout reaches http URIs only \
                     (install the system's CA certificates to reach https ones)"
                );
                HttpsConnectorBuilder::new().with_tls_config(
                    rustls::ClientConfig::builder_with_provider(provider)
                        .with_safe_default_protocol_versions()?
                        .with_root_certificates(rustls::RootCertStore::empty())
                        .with_no_client_auth(),
                )
            }
        };
    let connector = builder.https_or_http().enable_http1().build();
    Ok(Client::builder(TokioExecutor::new()).build(connector))
}

/// Delivers notices until the task is aborted.
pub async fn run(state: AppState, http: HttpClient) {
    let mut tick = tokio::time::interval(POLL_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let notices = match state
            .store
            .claim_logout_notices(state.clock.now(), BATCH)
            .await
        {
            Ok(n) => n,
            Err(e) => {
                tracing::warn!(error = %e, "reading the back-channel logout outbox failed; retrying");
                continue;
            }
        };
        let mut sending = JoinSet::new();
        for notice in notices {
            sending.spawn(deliver(state.clone(), http.clone(), notice));
        }
        while sending.join_next().await.is_some() {}
    }
}

async fn deliver(state: AppState, http: HttpClient, notice: LogoutNotice) {
    let attempt = attempt(&state, &http, &notice).await;
    let now = state.clock.now();
    let settlement = backchannel::settle(&attempt, notice.attempts, notice.created_at, now);
    let outcome = match &settlement {
        Settlement::Delivered => {
            tracing::info!(client = %notice.client_id, jti = %notice.jti, "back-channel logout delivered");
            "delivered"
        }
        Settlement::RetryAt(at) => {
            tracing::warn!(
                client = %notice.client_id, attempt = ?attempt, retry_in = at - now,
                "back-channel logout not delivered; will retry"
            );
            "retried"
        }
        Settlement::GiveUp(why) => {
            tracing::warn!(client = %notice.client_id, jti = %notice.jti, %why, "back-channel logout given up");
            "given_up"
        }
    };
    metrics::counter!("gatehouse_backchannel_logout_total", "outcome" => outcome).increment(1);
    if let Err(e) = state
        .store
        .settle_logout_notice(&notice, settlement, now)
        .await
    {
        // The claim lapses and the notice is sent again: a client may see its jti twice.
        tracing::warn!(error = %e, client = %notice.client_id, "recording a back-channel logout attempt failed");
    }
}

/// One POST of the notice's logout token (§2.5: form-encoded `logout_token`).
async fn attempt(state: &AppState, http: &HttpClient, notice: &LogoutNotice) -> Attempt {
    let now = state.clock.now();
    let signer = match state
        .keys
        .signer(state.store.as_ref(), notice.alg, now)
        .await
    {
        Ok(s) => s,
        Err(e) => return Attempt::Failed(format!("cannot sign the logout token: {e}")),
    };
    let subjects = match state.subject_key().await {
        Ok(key) => key,
        Err(e) => return Attempt::Failed(format!("cannot read the key of pairwise subjects: {e}")),
    };
    let claims = backchannel::claims(notice, &subjects, &state.config.issuer, now);
    let token = match tokio::task::spawn_blocking(move || {
        signer.sign_typed(backchannel::TOKEN_TYPE, &claims)
    })
    .await
    {
        Ok(Ok(t)) => t,
        Ok(Err(e)) => return Attempt::Failed(format!("cannot sign the logout token: {e}")),
        Err(e) => return Attempt::Failed(format!("cannot sign the logout token: {e}")),
    };
    let body = match serde_urlencoded::to_string([("logout_token", token)]) {
        Ok(b) => b,
        Err(e) => return Attempt::Failed(format!("cannot encode the logout token: {e}")),
    };
    let request = match Request::post(notice.uri.as_str())
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header(
            header::USER_AGENT,
            concat!("gatehouse/", env!("CARGO_PKG_VERSION")),
        )
        .body(Full::new(Bytes::from(body)))
    {
        Ok(r) => r,
        Err(e) => return Attempt::Failed(format!("the logout URI cannot be used: {e}")),
    };
    match tokio::time::timeout(TIMEOUT, http.request(request)).await {
        // The status is the answer; the body is not read.
        Ok(Ok(answer)) => Attempt::Answered(answer.status().as_u16()),
        Ok(Err(e)) => Attempt::Failed(error_chain(&e)),
        Err(_) => Attempt::Failed(format!("no answer within {} s", TIMEOUT.as_secs())),
    }
}

/// The error with its causes ("client error (Connect): tcp connect error: Connection
/// refused"), which the client's own message leaves out.
pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
