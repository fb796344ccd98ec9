//! Where errors become responses: nowhere else builds an error body.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::model::{OneTimeKind, UsedBefore};
use crate::oidc::OAuthError;
use crate::oidc::dpop::{self, Scheme};
use crate::store::StoreError;

/// An error of the token endpoint (RFC 6749 §5.2).
#[derive(Debug)]
pub struct TokenError {
    pub error: OAuthError,
    /// Whether the client tried HTTP Basic authentication: then a client authentication
    /// failure must be a 401 with `WWW-Authenticate`.
    pub basic_auth: bool,
}

impl From<OAuthError> for TokenError {
    fn from(error: OAuthError) -> Self {
        TokenError {
            error,
            basic_auth: false,
        }
    }
}

impl From<UsedBefore> for TokenError {
    fn from(used: UsedBefore) -> Self {
        OAuthError::from(used).into()
    }
}

/// A one-time JWT of the request taken before: a client assertion fails the client's
/// authentication, a DPoP proof is not good.
impl From<UsedBefore> for OAuthError {
    fn from(UsedBefore(kind): UsedBefore) -> Self {
        match kind {
            OneTimeKind::ClientAssertion => OAuthError::InvalidClient(
                "the client assertion was used before: sign a new one for each request".into(),
            ),
            OneTimeKind::DpopProof => OAuthError::InvalidDpopProof(
                dpop::Refused("was used before: make a new one for each request").to_string(),
            ),
        }
    }
}

impl From<StoreError> for TokenError {
    fn from(e: StoreError) -> Self {
        store_error(e).into()
    }
}

/// A store failure as the client sees it: overload is worth retrying, the rest is ours.
pub fn store_error(e: StoreError) -> OAuthError {
    match e {
        StoreError::Unavailable(_) => {
            tracing::warn!(error = %e, "store unavailable");
            OAuthError::TemporarilyUnavailable("the server is busy; try again shortly".into())
        }
        StoreError::Unstorable(_) => {
            tracing::info!(error = %e, "input refused by the store");
            OAuthError::InvalidRequest("the request holds a character that is not allowed".into())
        }
        StoreError::Storage(_) => {
            tracing::error!(error = %e, "storage failure");
            OAuthError::TemporarilyUnavailable(
                "the server cannot store changes right now; try again later".into(),
            )
        }
        e => {
            tracing::error!(error = %e, "store failure");
            OAuthError::ServerError("internal error".into())
        }
    }
}

pub fn internal(e: impl std::fmt::Display) -> OAuthError {
    tracing::error!(error = %e, "internal failure");
    OAuthError::ServerError("internal error".into())
}

fn status(e: &OAuthError) -> StatusCode {
    match e {
        OAuthError::InvalidClient(_) | OAuthError::InvalidToken(_) => StatusCode::UNAUTHORIZED,
        OAuthError::TemporarilyUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        OAuthError::ServerError(_) => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The JSON error of RFC 6749 §5.2 (`{error, error_description}`): every error body of the
/// protocol endpoints is made here.
fn json(status: StatusCode, code: &str, description: &str) -> Response {
    let body = serde_json::json!({ "error": code, "error_description": description });
    (status, Json(body)).into_response()
}

/// An OAuth error as a JSON response, with the status its code calls for.
impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        json(status(&self), self.code(), self.description())
    }
}

/// `Cache-Control: no-store` and `Pragma: no-cache` (RFC 6749 §5.1), on every token response.
pub fn no_store(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    r
}

impl IntoResponse for TokenError {
    fn into_response(self) -> Response {
        let challenge = matches!(self.error, OAuthError::InvalidClient(_)) && self.basic_auth;
        let mut r = self.error.into_response();
        if challenge {
            r.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"gatehouse\", charset=\"UTF-8\""),
            );
        }
        no_store(r)
    }
}

impl TokenError {
    /// The answer of an endpoint shaped like the token endpoint: its response, or its error,
    /// logged as `what` refused.
    pub fn answer(result: Result<Response, TokenError>, what: &str) -> Response {
        result.unwrap_or_else(|e| {
            tracing::info!(
                error = e.error.code(),
                description = e.error.description(),
                "{what} refused"
            );
            e.into_response()
        })
    }

    /// `429` with `Retry-After: wait` (seconds): an address that started too many of something
    /// that is stored, told when to come back.
    pub fn too_many(error: OAuthError, wait: u64) -> Response {
        let mut r = TokenError::from(error).into_response();
        *r.status_mut() = StatusCode::TOO_MANY_REQUESTS;
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(wait));
        r
    }
}

/// The access token of `Authorization: Bearer …` (RFC 6750 §2.1) or `Authorization: DPoP …`
/// (RFC 9449 §7.1), and the scheme it came with.
///
/// # Errors
/// `invalid_token` when the header is missing, of another scheme, or empty.
pub fn access_token(headers: &axum::http::HeaderMap) -> Result<(Scheme, &str), ResourceError> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .and_then(|(scheme, t)| {
            let scheme = if scheme.eq_ignore_ascii_case("bearer") {
                Scheme::Bearer
            } else if scheme.eq_ignore_ascii_case(dpop::SCHEME) {
                Scheme::Dpop
            } else {
                return None;
            };
            Some((scheme, t.trim())).filter(|(_, t)| !t.is_empty())
        })
        .ok_or_else(|| ResourceError {
            error: OAuthError::InvalidToken(
                "an access token is required (Authorization: Bearer or DPoP)".into(),
            ),
            scheme: Scheme::Bearer,
        })
}

/// An error of a resource that takes bearer and DPoP-bound access tokens (`/userinfo`, the
/// admin API): the challenge of the scheme the request used carries the error, and the other
/// scheme's is offered beside it (RFC 9449 §7.2).
#[derive(Debug)]
pub struct ResourceError {
    pub error: OAuthError,
    pub scheme: Scheme,
}

impl From<StoreError> for ResourceError {
    fn from(e: StoreError) -> Self {
        ResourceError {
            error: store_error(e),
            scheme: Scheme::Bearer,
        }
    }
}

/// `401` for a token or proof that is not good, `403` `insufficient_scope` for a token that
/// may not do this, with the `WWW-Authenticate` challenges.
impl IntoResponse for ResourceError {
    fn into_response(self) -> Response {
        let e = &self.error;
        let status = match e {
            OAuthError::InvalidToken(_)
            | OAuthError::InvalidDpopProof(_)
            | OAuthError::UseDpopNonce(_) => StatusCode::UNAUTHORIZED,
            OAuthError::AccessDenied(_) => StatusCode::FORBIDDEN,
            other => status(other),
        };
        let code = match e {
            OAuthError::AccessDenied(_) => "insufficient_scope",
            other => other.code(),
        };
        let error = format!(
            "error=\"{code}\", error_description=\"{}\"",
            e.description().replace(['"', '\\'], "'")
        );
        let algs = format!("algs=\"{}\"", dpop::ALGORITHMS.join(" "));
        let bearer = "Bearer realm=\"gatehouse\"";
        let challenges = match self.scheme {
            Scheme::Bearer => [format!("{bearer}, {error}"), format!("DPoP {algs}")],
            Scheme::Dpop => [format!("DPoP {error}, {algs}"), bearer.to_owned()],
        };
        let mut r = json(status, code, e.description());
        for c in challenges {
            if let Ok(v) = HeaderValue::from_str(&c) {
                r.headers_mut().append(header::WWW_AUTHENTICATE, v);
            }
        }
        r
    }
}
