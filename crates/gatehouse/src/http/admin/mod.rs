//! The admin API under `/admin/api/`: users, groups, clients, sessions, consents and the audit
//! log.
//!
//! Callers authenticate with a bearer access token from the `client_credentials` grant that
//! carries the `admin` scope. The OpenAPI document at `/admin/api/openapi.json` is generated
//! from the same annotations that register the routes, so the two cannot drift apart.

mod groups;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{IntoParams, Modify, OpenApi, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{BearerError, bearer_token, store_error};
use super::{AppState, Peer};
use crate::admin::{
    Admin, AdminError, ClientPatch, NewClient, NewUser, ProfileChange, check_profile,
};
use crate::model::{AuditEvent, Client, Consent, GrantType, LoggedOut, Session, TokenKind, User};
use crate::oidc::{OAuthError, scope, tokens};
use crate::store::StoreError;

/// The most audit records one request returns.
const MAX_AUDIT_PAGE: usize = 1000;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse admin API",
        description = "Manage users, groups, clients, sessions, consents, and read the audit log. \
                       Authenticate with a bearer access token from `POST /token` \
                       (`grant_type=client_credentials`, `scope=admin`).",
    ),
    modifiers(&BearerAuth),
    tags(
        (name = "users", description = "People who sign in"),
        (name = "groups", description = "Groups of users, and their members"),
        (name = "clients", description = "Relying parties"),
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
                        "An access token of the client_credentials grant with the admin scope",
                    ))
                    .build(),
            ),
        );
    }
}

/// The admin routes, rooted at `/admin/api`, and their OpenAPI document.
pub(super) fn router() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user))
        .routes(routes!(list_sessions, end_sessions))
        .routes(routes!(list_consents))
        .routes(routes!(revoke_consent))
        .routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, remove_client))
        .routes(routes!(rotate_client_secret))
        .routes(routes!(audit));
    let api = groups::routes(api);
    OpenApiRouter::with_openapi(ApiDoc::openapi()).nest("/admin/api", api)
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
            AdminError::Invalid(m) => ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", m),
            AdminError::Password(p) => {
                ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", p.to_string())
            }
            AdminError::Store(e) => e.into(),
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
    fn from(r: JsonRejection) -> Self {
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
    type Rejection = BearerError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, BearerError> {
        let Ok(peer) = Peer::from_request_parts(parts, state).await;
        let token = bearer_token(&parts.headers)?;
        let info = state
            .store
            .introspect(&tokens::hash(token), state.now())
            .await
            .map_err(|e| BearerError(store_error(e)))?
            .ok_or_else(|| {
                BearerError(OAuthError::InvalidToken(
                    "the access token is invalid, expired or revoked".into(),
                ))
            })?;
        // A user's token never opens the admin API, whatever its scope.
        if info.kind != TokenKind::Access
            || info.user.is_some()
            || !scope::contains(&info.scope, "admin")
        {
            return Err(BearerError(OAuthError::AccessDenied(
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

/// A user, without the password hash.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct UserView {
    /// The subject identifier (`sub`).
    pub id: String,
    pub username: String,
    pub email: String,
    /// Whether the address is known to be the person's.
    pub email_verified: bool,
    pub name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    /// A BCP 47 language tag.
    pub locale: Option<String>,
    /// An https URL of a picture of the person.
    pub picture: Option<String>,
    pub disabled: bool,
    /// Unix time.
    pub created_at: i64,
    /// Unix time the profile last changed (the `updated_at` claim).
    pub updated_at: i64,
}

impl From<User> for UserView {
    fn from(u: User) -> Self {
        UserView {
            id: u.id,
            username: u.username,
            email: u.email,
            email_verified: u.email_verified,
            name: u.name,
            given_name: u.profile.given_name,
            family_name: u.profile.family_name,
            locale: u.profile.locale,
            picture: u.profile.picture,
            disabled: u.disabled,
            created_at: u.created_at,
            updated_at: u.profile.updated_at.unwrap_or(u.created_at),
        }
    }
}

/// Changes to a user; absent fields stay as they are.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct UserPatch {
    /// A disabled user cannot sign in, and their tokens stop working.
    pub disabled: Option<bool>,
    /// A new password: 12 to 1024 characters, not easy to guess (see `NewUser`).
    #[schema(min_length = 12, max_length = 1024)]
    pub password: Option<String>,
    /// A new address: unverified unless `email_verified` says otherwise.
    #[schema(pattern = r"^\S*@\S*$")]
    pub email: Option<String>,
    pub email_verified: Option<bool>,
    /// For each profile field: a value sets it, `null` clears it, absent keeps it.
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 256)]
    pub name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 256)]
    pub given_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 256)]
    pub family_name: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 64)]
    pub locale: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(max_length = 2048)]
    pub picture: Option<Option<String>>,
}

/// A field that is present, even as `null`: `Some(None)`; an absent one is `None`.
fn present<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Option<String>>, D::Error> {
    Option::<String>::deserialize(d).map(Some)
}

/// A client, without its secret.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct ClientView {
    pub client_id: String,
    /// A public client has no secret.
    pub public: bool,
    pub redirect_uris: Vec<String>,
    pub post_logout_redirect_uris: Vec<String>,
    pub scopes: Vec<String>,
    pub grant_types: Vec<GrantType>,
    pub first_party: bool,
    /// Unix time.
    pub created_at: i64,
    /// The name people see (the client id when none was given).
    pub display_name: String,
    pub logo_uri: Option<String>,
    pub home_uri: Option<String>,
    /// Unix time until which the secret before the last rotation still works, while it does.
    pub previous_secret_until: Option<i64>,
    /// Which scoped claims go into its ID tokens; absent: all of them.
    pub id_token_claims: Option<Vec<String>>,
}

impl From<Client> for ClientView {
    fn from(c: Client) -> Self {
        ClientView {
            public: c.is_public(),
            display_name: c.display_name().to_owned(),
            logo_uri: c.display.logo_uri,
            home_uri: c.display.home_uri,
            previous_secret_until: c.previous_secret.map(|p| p.until),
            id_token_claims: c.id_token_claims,
            client_id: c.client_id,
            redirect_uris: c.redirect_uris,
            post_logout_redirect_uris: c.post_logout_redirect_uris,
            scopes: c.scopes,
            grant_types: c.grant_types,
            first_party: c.first_party,
            created_at: c.created_at,
        }
    }
}

/// A registered client and, when gatehouse generated it, its secret: shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct CreatedClient {
    pub client: ClientView,
    pub client_secret: Option<String>,
}

/// A login session (its secret is never shown).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct SessionView {
    /// Unix times.
    pub auth_time: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        SessionView {
            auth_time: s.auth_time,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
        }
    }
}

/// What ending a user's sessions took away.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct LoggedOutView {
    pub sessions: usize,
    pub token_families: usize,
}

impl From<LoggedOut> for LoggedOutView {
    fn from(o: LoggedOut) -> Self {
        LoggedOutView {
            sessions: o.sessions,
            token_families: o.token_families,
        }
    }
}

/// What a user allowed a client.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct ConsentView {
    pub client_id: String,
    pub scope: String,
    /// Unix time.
    pub granted_at: i64,
}

impl From<Consent> for ConsentView {
    fn from(c: Consent) -> Self {
        ConsentView {
            client_id: c.client_id,
            scope: c.scope,
            granted_at: c.granted_at,
        }
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
}

impl From<AuditEvent> for AuditEventView {
    fn from(e: AuditEvent) -> Self {
        let r = e.record;
        AuditEventView {
            id: e.id,
            at: r.at,
            kind: r.kind.to_string(),
            actor: r.actor,
            subject: r.subject,
            client_id: r.client_id,
            ip: r.ip,
            detail: r.detail,
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

#[utoipa::path(get, path = "/users", tag = "users",
    responses(
        (status = 200, description = "Every user, by username", body = [UserView]),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_users(State(state): State<AppState>, _: Caller) -> ApiResult<Json<Vec<UserView>>> {
    let users = state.store.list_users().await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUser,
    responses(
        (status = 201, description = "The user was created", body = UserView),
        (status = 400, description = "A field is missing or invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 409, description = "The username is taken", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn create_user(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonObject<NewUser>, ApiError>,
) -> ApiResult<(StatusCode, Json<UserView>)> {
    let JsonObject(new) = body?;
    let user = caller.admin(&state).add_user(&state.passwords, new).await?;
    Ok((StatusCode::CREATED, Json(user.into())))
}

#[utoipa::path(get, path = "/users/{username}", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user", body = UserView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<UserView>> {
    Ok(Json(caller.admin(&state).user(&username).await?.into()))
}

#[utoipa::path(patch, path = "/users/{username}", tag = "users", request_body = UserPatch,
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user, changed", body = UserView),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn update_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    body: Result<JsonObject<UserPatch>, ApiError>,
) -> ApiResult<Json<UserView>> {
    let JsonObject(patch) = body?;
    let admin = caller.admin(&state);
    let profile = ProfileChange {
        name: patch.name,
        given_name: patch.given_name,
        family_name: patch.family_name,
        locale: patch.locale,
        picture: patch.picture,
    };
    // Every field is checked before anything changes, so a refused one changes nothing.
    let current = admin.user(&username).await?;
    let mut preview = current.profile.clone();
    let mut name = current.name.clone();
    for (slot, value) in [
        (&mut name, &profile.name),
        (&mut preview.given_name, &profile.given_name),
        (&mut preview.family_name, &profile.family_name),
        (&mut preview.locale, &profile.locale),
        (&mut preview.picture, &profile.picture),
    ] {
        if let Some(v) = value {
            slot.clone_from(v);
        }
    }
    check_profile(name.as_deref(), &preview)?;
    if let Some(email) = &patch.email {
        crate::admin::check_user_fields(&current.username, email)?;
    }
    // Then the password: if it is refused, nothing changed either.
    if let Some(password) = patch.password {
        admin
            .set_password(&state.passwords, &username, password)
            .await?;
    }
    if let Some(disabled) = patch.disabled {
        admin.set_disabled(&username, disabled).await?;
    }
    if patch.email.is_some() || patch.email_verified.is_some() {
        admin
            .set_email(&username, patch.email, patch.email_verified)
            .await?;
    }
    admin.update_profile(&username, profile).await?;
    Ok(Json(admin.user(&username).await?.into()))
}

#[utoipa::path(get, path = "/users/{username}/sessions", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user's live sessions, newest first", body = [SessionView]),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<Vec<SessionView>>> {
    let user = caller.admin(&state).user(&username).await?;
    let sessions = state.store.sessions(&user.id, state.now()).await?;
    Ok(Json(sessions.into_iter().map(SessionView::from).collect()))
}

#[utoipa::path(delete, path = "/users/{username}/sessions", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "Every session ended and every refresh token revoked", body = LoggedOutView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn end_sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<LoggedOutView>> {
    Ok(Json(caller.admin(&state).logout(&username).await?.into()))
}

#[utoipa::path(get, path = "/users/{username}/consents", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "What the user allowed each client", body = [ConsentView]),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_consents(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<Vec<ConsentView>>> {
    let user = caller.admin(&state).user(&username).await?;
    let consents = state.store.consents(&user.id).await?;
    Ok(Json(consents.into_iter().map(ConsentView::from).collect()))
}

#[utoipa::path(delete, path = "/users/{username}/consents/{client_id}", tag = "users",
    params(
        ("username" = String, Path, description = "The username"),
        ("client_id" = String, Path, description = "The client"),
    ),
    responses(
        (status = 204, description = "The consent is withdrawn and the client's tokens for the user revoked"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user or consent", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn revoke_consent(
    State(state): State<AppState>,
    caller: Caller,
    Path((username, client_id)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    caller
        .admin(&state)
        .revoke_consent(&username, &client_id)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/clients", tag = "clients",
    responses(
        (status = 200, description = "Every client, by id", body = [ClientView]),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_clients(
    State(state): State<AppState>,
    _: Caller,
) -> ApiResult<Json<Vec<ClientView>>> {
    let clients = state.store.list_clients().await?;
    Ok(Json(clients.into_iter().map(ClientView::from).collect()))
}

#[utoipa::path(post, path = "/clients", tag = "clients", request_body = NewClient,
    responses(
        (status = 201, description = "The client was registered", body = CreatedClient),
        (status = 400, description = "A field is missing or invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 409, description = "The client id is taken", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn create_client(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonObject<NewClient>, ApiError>,
) -> ApiResult<(StatusCode, Json<CreatedClient>)> {
    let JsonObject(new) = body?;
    let (client, client_secret) = caller.admin(&state).add_client(new).await?;
    let created = CreatedClient {
        client: client.into(),
        client_secret,
    };
    Ok((StatusCode::CREATED, Json(created)))
}

#[utoipa::path(patch, path = "/clients/{client_id}", tag = "clients", request_body = ClientPatch,
    params(("client_id" = String, Path, description = "The client")),
    responses(
        (status = 200, description = "The client, changed; its secret, consents and tokens stay", body = ClientView),
        (status = 400, description = "The change does not hold together", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn update_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    body: Result<JsonObject<ClientPatch>, ApiError>,
) -> ApiResult<Json<ClientView>> {
    let JsonObject(patch) = body?;
    let client = caller
        .admin(&state)
        .update_client(&client_id, patch)
        .await?;
    Ok(Json(client.into()))
}

/// How long the secret before a rotation keeps working.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SecretRotation {
    /// Seconds, 0 to a week (default an hour); 0 when the old secret leaked.
    #[schema(minimum = 0, maximum = 604800)]
    pub overlap: Option<i64>,
}

/// A new client secret: shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct RotatedSecret {
    pub client_secret: String,
    /// Unix time until which the previous secret still works.
    pub previous_secret_until: i64,
}

#[utoipa::path(post, path = "/clients/{client_id}/secret", tag = "clients",
    request_body = SecretRotation,
    params(("client_id" = String, Path, description = "The client")),
    responses(
        (status = 200, description = "The new secret (shown once); the old one works until previous_secret_until", body = RotatedSecret),
        (status = 400, description = "A public client, or an overlap out of range", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn rotate_client_secret(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    body: Result<JsonObject<SecretRotation>, ApiError>,
) -> ApiResult<Json<RotatedSecret>> {
    let JsonObject(rotation) = body?;
    let overlap = rotation
        .overlap
        .unwrap_or(crate::admin::DEFAULT_SECRET_OVERLAP);
    let (client_secret, previous_secret_until) = caller
        .admin(&state)
        .rotate_client_secret(&client_id, overlap)
        .await?;
    Ok(Json(RotatedSecret {
        client_secret,
        previous_secret_until,
    }))
}

#[utoipa::path(get, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client")),
    responses(
        (status = 200, description = "The client", body = ClientView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_client(
    State(state): State<AppState>,
    _: Caller,
    Path(client_id): Path<String>,
) -> ApiResult<Json<ClientView>> {
    let client = state
        .store
        .client(&client_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(format!("client {client_id:?}")))?;
    Ok(Json(client.into()))
}

#[utoipa::path(delete, path = "/clients/{client_id}", tag = "clients",
    params(("client_id" = String, Path, description = "The client")),
    responses(
        (status = 204, description = "The client and everything issued to it are gone"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 409, description = "The client is the caller: an admin client cannot remove itself through its own token (the CLI can)", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn remove_client(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    // Removing the caller would revoke the very token in use and lock the operator out.
    if client_id == caller.client_id {
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "conflict",
            "a client cannot remove itself; use another admin client or the CLI",
        ));
    }
    caller.admin(&state).remove_client(&client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

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
