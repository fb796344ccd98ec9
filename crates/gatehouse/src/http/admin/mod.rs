//! The admin API under `/admin/api/`: users, groups, clients, sessions, consents, sign-up
//! links and the audit log.
//!
//! Callers authenticate with a bearer access token from the `client_credentials` grant that
//! carries the `admin` scope. The OpenAPI document at `/admin/api/openapi.json` is generated
//! from the same annotations that register the routes, so the two cannot drift apart.

mod claims;
mod clients;
mod groups;
mod signup_links;
mod users;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use tower_http::limit::RequestBodyLimitLayer;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ResourceError, access_token, store_error};
use super::{AppState, Peer};
use crate::admin::{Admin, AdminError};
use crate::model::{AuditEvent, TokenKind};
use crate::oidc::{OAuthError, scope};
use crate::store::StoreError;

/// The most audit records one request returns.
const MAX_AUDIT_PAGE: usize = 1000;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse admin API",
        description = "Manage users, groups, clients, sessions, consents, sign-up links, and read \
                       the audit log. \
                       Authenticate with a bearer access token from `POST /token` \
                       (`grant_type=client_credentials`, `scope=admin`).",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "users", description = "People who sign in"),
        (name = "groups", description = "Groups of users, and their members"),
        (name = "clients", description = "Relying parties"),
        (name = "signup-links", description = "Links with which people make their own accounts"),
        (name = "audit", description = "The audit log"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "admin_token",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An access token of the client_credentials grant with the admin scope; \
                         one bound to a DPoP key (RFC 9449) is sent as `DPoP TOKEN` instead, \
                         with a proof of that key in the `DPoP` header",
                    ))
                    .build(),
            ),
        );
    }
}

/// The admin routes, rooted at `/admin/api`, and their OpenAPI document. Each has its own body
/// limit: the server's, or a larger one for those that take an image.
pub(super) fn router() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new().routes(routes!(audit));
    let api = signup_links::routes(claims::routes(groups::routes(clients::routes(
        users::routes(api),
    ))))
    .layer(RequestBodyLimitLayer::new(super::BODY_LIMIT))
    .merge(clients::image_routes().layer(RequestBodyLimitLayer::new(super::IMAGE_BODY_LIMIT)))
    .layer(axum::middleware::from_fn(nothing_is_named_with_a_nul));
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/admin/api", api)
}

/// No username, group name or client id holds a NUL (none could be made with one, and
/// PostgreSQL's text cannot hold it): a path naming one names nothing, the same 404 on both
/// backends, before any store is asked.
async fn nothing_is_named_with_a_nul(req: Request, next: axum::middleware::Next) -> Response {
    let path = percent_encoding::percent_decode_str(req.uri().path());
    if path.into_iter().any(|b| b == 0) {
        let why = "nothing is named with a NUL character";
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", why).into_response();
    }
    next.run(req).await
}

/// An error of the admin API.
#[derive(Debug, Serialize, ToSchema)]
pub(super) struct ErrorBody {
    /// `invalid_request`, `invalid_token`, `insufficient_scope`, `not_found`, `conflict`,
    /// `temporarily_unavailable` or `server_error`.
    pub error: String,
    pub error_description: String,
}

#[derive(Debug)]
pub(super) struct ApiError {
    status: StatusCode,
    body: ErrorBody,
}

impl ApiError {
    fn new(status: StatusCode, error: &str, description: impl Into<String>) -> Self {
        ApiError {
            status,
            body: ErrorBody {
                error: error.into(),
                error_description: description.into(),
            },
        }
    }
}

impl From<AdminError> for ApiError {
    fn from(e: AdminError) -> Self {
        match e {
            AdminError::Invalid(why) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", why.to_string())
            }
            AdminError::Password(p) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", p.to_string())
            }
            AdminError::Store(e) => e.into(),
            AdminError::Keys(e) => {
                let e = crate::http::error::internal(e);
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    e.description(),
                )
            }
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(what) => ApiError::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("{what} not found"),
            ),
            StoreError::Conflict(what) => ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                format!("{what} already exists"),
            ),
            StoreError::InUse(why) => ApiError::new(StatusCode::CONFLICT, "in_use", why),
            StoreError::Unstorable(_) => ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the request holds a character that is not allowed",
            ),
            e => match store_error(e) {
                OAuthError::TemporarilyUnavailable(d) => ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "temporarily_unavailable",
                    d,
                ),
                other => ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "server_error",
                    other.description(),
                ),
            },
        }
    }
}

impl From<JsonRejection> for ApiError {
    /// A body past the limit is 413 whether it said its length (then the limit layer refuses it
    /// unread) or not (then the limit stops it being read here); any other body that is not
    /// JSON is 400.
    fn from(r: JsonRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::new(r.status(), "request_too_large", r.body_text());
        }
        ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text())
    }
}

/// A JSON request body that must be an object: serde alone would also read a struct from an
/// array of its fields (`[null, null]`), which no client means.
pub(super) struct JsonObject<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonObject<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(req, state).await?;
        if !value.is_object() {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                "the body must be a JSON object",
            ));
        }
        serde_json::from_value(value).map(JsonObject).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                format!("invalid body: {e}"),
            )
        })
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.status, Json(self.body)).into_response()
    }
}

/// The authenticated caller: a client holding a `client_credentials` token with the `admin`
/// scope. Its id becomes the actor of every audit record the request writes.
pub(super) struct Caller {
    pub client_id: String,
    pub peer: Peer,
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ResourceError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, ResourceError> {
        let Ok(peer) = Peer::from_request_parts(parts, state).await;
        let (scheme, token) = access_token(&parts.headers)?;
        let refuse = |error| ResourceError { error, scheme };
        let key = state.presented_token_key(token).await?;
        let info = state
            .store
            .introspect(&key, state.now())
            .await?
            .ok_or_else(|| {
                refuse(OAuthError::InvalidToken(
                    "the access token is invalid, expired or revoked".into(),
                ))
            })?;
        // A token presented otherwise than it is bound is refused before anything is said of
        // its scope. The path is the one sent: the router the API is nested in strips its
        // prefix from `uri`.
        let path = parts
            .extensions
            .get::<axum::extract::OriginalUri>()
            .map_or_else(|| parts.uri.path().to_owned(), |o| o.path().to_owned());
        let target = (parts.method.as_str(), path.as_str());
        let bound_to = key.bound_to.as_deref();
        super::dpop::resource_takes(
            state,
            &parts.headers,
            target,
            (scheme, token),
            bound_to,
            &info.client_id,
        )
        .await
        .map_err(refuse)?;
        // A user's token never opens the admin API, whatever its scope.
        if info.kind != TokenKind::Access
            || info.user.is_some()
            || !scope::contains(&info.scope, "admin")
        {
            return Err(refuse(OAuthError::AccessDenied(
                "the admin API needs a client_credentials token with the admin scope".into(),
            )));
        }
        Ok(Caller {
            client_id: info.client_id,
            peer,
        })
    }
}

impl Caller {
    fn admin<'a>(&self, state: &'a AppState) -> Admin<'a> {
        Admin::new(
            state.store.as_ref(),
            format!("admin:{}", self.client_id),
            self.peer.0,
            state.now(),
        )
    }
}

/// One audit record.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct AuditEventView {
    /// Increases with every record: pass the last one seen as `after` to page on.
    pub id: i64,
    /// Unix time.
    pub at: i64,
    /// What happened: `login.failed`, `token.issued`, `admin.user.created`…
    pub kind: String,
    /// `user:ID`, `client:ID`, `admin:CLIENT`, `cli` or `anonymous`.
    pub actor: String,
    pub subject: Option<String>,
    pub client_id: Option<String>,
    pub ip: Option<String>,
    pub detail: Option<String>,
    /// The `User-Agent` of the browser a person did it from (at most 256 characters); `null`
    /// for what applications and tools do, and for records of a release that did not keep it.
    #[schema(max_length = 256)]
    pub user_agent: Option<String>,
    /// The browser that names (`Firefox`), when it names one a person would know.
    pub browser: Option<String>,
    /// The system that browser runs on (`Linux`, `iPhone`), when known.
    pub system: Option<String>,
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        let r = e.record;
        let (browser, system) = users::browser_and_system(r.user_agent.as_deref());
        AuditEventView {
            id: e.id,
            at: r.at,
            kind: r.kind.to_string(),
            actor: r.actor,
            subject: r.subject,
            client_id: r.client_id,
            ip: r.ip,
            detail: r.detail,
            user_agent: r.user_agent,
            browser,
            system,
        }
    }
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct AuditQuery {
    /// Only records after this id (default: the newest `limit` records).
    pub after: Option<i64>,
    /// At most this many records (default 100, at most 1000).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

type ApiResult<T> = Result<T, ApiError>;

#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditQuery),
    responses(
        (status = 200, description = "Audit records, oldest first", body = [AuditEventView]),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn audit(
    State(state): State<AppState>,
    _: Caller,
    query: Result<Query<AuditQuery>, axum::extract::rejection::QueryRejection>,
) -> ApiResult<Json<Vec<AuditEventView>>> {
    let Query(q) = query
        .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text()))?;
    let limit = q.limit.unwrap_or(100);
    if limit == 0 || limit > MAX_AUDIT_PAGE {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            format!("limit must be between 1 and {MAX_AUDIT_PAGE}"),
        ));
    }
    let events = match q.after {
        Some(after) => state.store.audit_since(after, limit).await?,
        None => state.store.audit_latest(limit).await?,
    };
    Ok(Json(events.into_iter().map(AuditEventView::from).collect()))
}
