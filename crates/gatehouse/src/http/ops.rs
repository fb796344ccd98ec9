//! What operators poll: `/healthz` (the process answers), `/readyz` (a round trip through the
//! store's write path), and `/metrics` (Prometheus text format). Also the middleware that
//! counts and times every request.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::Label;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use super::AppState;
use crate::store::StoreError;

/// A store that cannot commit a trivial write within this time is not ready.
const READY_WITHIN: Duration = Duration::from_secs(2);

/// Request latency buckets, in seconds: from a cached JWKS to a slow argon2 login.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// The process-wide Prometheus recorder, installed on first use. Every server in the process
/// (tests start several) shares it, as they share the process.
pub fn prometheus() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let builder = PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                LATENCY_BUCKETS,
            )
            .unwrap_or_else(|_| PrometheusBuilder::new());
        let recorder = builder.build_recorder();
        let handle = recorder.handle();
        // Fails only if something else installed a recorder first; then /metrics shows the
        // engine's figures but not the request counters.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was installed already; request metrics are off");
        }
        describe();
        handle
    })
}

fn describe() {
    metrics::describe_counter!(
        "http_requests_total",
        "HTTP requests by route, method and status"
    );
    metrics::describe_histogram!(
        "http_request_duration_seconds",
        metrics::Unit::Seconds,
        "HTTP request latency by route"
    );
    metrics::describe_counter!("gatehouse_logins_total", "Login attempts by outcome");
    metrics::describe_counter!(
        "gatehouse_tokens_issued_total",
        "Tokens issued by grant type"
    );
    metrics::describe_counter!(
        "gatehouse_refresh_reuse_detected_total",
        "Rotated refresh tokens presented again (their families were revoked)"
    );
    metrics::describe_counter!(
        "gatehouse_code_replays_total",
        "Authorization codes presented twice (their tokens were revoked)"
    );
}

/// Counts and times every request by its route template (never the raw path, whose values
/// would make unbounded label sets).
pub async fn track(request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method, "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// GET /healthz: the process is alive and answering.
pub async fn healthz() -> &'static str {
    "ok"
}

/// GET /readyz: a real round trip through the store's write path, so a wedged writer, a full
/// disk or an unreachable database shows here.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let outcome = tokio::time::timeout(READY_WITHIN, state.store.ping()).await;
    let (status, body) = match outcome {
        Ok(Ok(())) => (StatusCode::OK, serde_json::json!({ "status": "ready" })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "not ready");
            // The operator's reason, without anything a request supplied.
            let reason = match &e {
                StoreError::Storage(_) | StoreError::Unavailable(_) => e.to_string(),
                _ => "the store refused a write".to_owned(),
            };
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "status": "unavailable", "reason": reason }),
            )
        }
        Err(_) => {
            tracing::warn!("not ready: the store did not answer in time");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "status": "unavailable", "reason": "the store did not answer in time" }),
            )
        }
    };
    let mut r = (status, Json(body)).into_response();
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// GET /metrics: the request and protocol counters, plus the storage engine's own figures
/// (queue depths, batch sizes, wait and run times), read at scrape time.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let handle = prometheus();
    for m in state.store.engine_metrics() {
        let labels: Vec<Label> = m.labels.iter().map(|(k, v)| Label::new(*k, *v)).collect();
        // A Prometheus counter here holds whole numbers: a total of seconds is a gauge that
        // only grows, so its fractions are not cut off.
        if m.name.ends_with("_total") && !m.name.ends_with("_seconds_total") {
            metrics::describe_counter!(m.name, m.help);
            metrics::counter!(m.name, labels).absolute(m.value as u64);
        } else {
            metrics::describe_gauge!(m.name, m.help);
            metrics::gauge!(m.name, labels).set(m.value);
        }
    }
    handle.run_upkeep();
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
        )],
        handle.render(),
    )
        .into_response()
}
