//! `/admin/api/clients`: relying parties, their changes and their secrets.

use std::collections::HashMap;

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, Caller, ErrorBody, JsonObject};
use crate::admin::{ClientPatch, ClientSubject, ClientView, NewClient, SubjectOf};
use crate::http::AppState;
use crate::store::StoreError;

/// The client routes, to nest under `/admin/api`.
pub(super) fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list_clients, create_client))
        .routes(routes!(get_client, update_client, remove_client))
        .routes(routes!(rotate_client_secret))
        .routes(routes!(subject_of_person))
        .routes(routes!(person_of_subject))
}

/// The routes that take an image, to nest under `/admin/api` with a body limit of their own
/// (`http::IMAGE_BODY_LIMIT`).
pub(super) fn image_routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(set_client_logo, remove_client_logo))
}

/// A client's logo, as gatehouse serves it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct ClientLogoSet {
    /// Where it is served, naming this image (pages name it so): a browser keeps it until it
    /// changes.
    pub url: String,
    /// What its bytes were found to be: `image/png`, `image/jpeg`, `image/webp` or
    /// `image/svg+xml`.
    pub content_type: String,
    /// Whether anything changed: false when the client had this very image already.
    pub changed: bool,
}

#[utoipa::path(put, path = "/clients/{client_id}/logo", tag = "clients",
    params(("client_id" = String, Path, description = "The client")),
    request_body(content = Vec<u8>, content_type = "application/octet-stream",
        description = "The image itself: a PNG, JPEG, WebP or SVG image of at most 256 KiB, \
            known by its first bytes (the `Content-Type` sent is not looked at). Shown with \
            the client's name on the sign-in, consent, device and account pages, and served at \
            `/clients/{client_id}/logo`"),
    responses(
        (status = 200, description = "The client's logo is this image", body = ClientLogoSet),
        (status = 400, description = "Not a PNG, JPEG, WebP or SVG image, or over 256 KiB", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
        (status = 413, description = "The body is far over the largest image"),
    ),
    security(("admin_token" = [])))]
async fn set_client_logo(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    image: bytes::Bytes,
) -> ApiResult<Json<ClientLogoSet>> {
    let given = caller
        .admin(&state)
        .give_client_logo(&client_id, image.to_vec())
        .await?;
    let issuer = &state.config.issuer;
    Ok(Json(ClientLogoSet {
        url: crate::http::pages::client_logo_url(issuer, &client_id, &given.version),
        content_type: given.content_type,
        changed: given.changed,
    }))
}

#[utoipa::path(delete, path = "/clients/{client_id}/logo", tag = "clients",
    params(("client_id" = String, Path, description = "The client")),
    responses(
        (status = 204, description = "The client has no logo (also when it had none)"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn remove_client_logo(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.admin(&state).remove_client_logo(&client_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Whom `GET /clients/{client_id}/subject` is asked about.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct SubjectQuery {
    /// A person, by username.
    #[param(max_length = 1024)]
    pub username: String,
}

#[utoipa::path(get, path = "/clients/{client_id}/subject", tag = "clients",
    params(("client_id" = String, Path, description = "The client"), SubjectQuery),
    responses(
        (status = 200, description = "The person and the `sub` the client knows them by: \
            their id for a client of public subjects, one of its sector alone for a client of \
            pairwise ones", body = ClientSubject),
        (status = 400, description = "No `username`", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client or person", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn subject_of_person(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    query: Result<Query<SubjectQuery>, QueryRejection>,
) -> ApiResult<Json<ClientSubject>> {
    let Query(q) = query
        .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text()))?;
    let who = SubjectOf::User(q.username);
    Ok(Json(
        caller.admin(&state).client_subject(&client_id, who).await?,
    ))
}

#[utoipa::path(get, path = "/clients/{client_id}/subjects/{sub}", tag = "clients",
    params(
        ("client_id" = String, Path, description = "The client"),
        ("sub" = String, Path, description = "A `sub` the client knows someone by"),
    ),
    responses(
        (status = 200, description = "The person the `sub` names at that client", body = ClientSubject),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client, or nobody the `sub` names there", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn person_of_subject(
    State(state): State<AppState>,
    caller: Caller,
    Path((client_id, sub)): Path<(String, String)>,
) -> ApiResult<Json<ClientSubject>> {
    let who = SubjectOf::Sub(sub);
    Ok(Json(
        caller.admin(&state).client_subject(&client_id, who).await?,
    ))
}

/// A registered client and, when gatehouse generated it, its secret: shown this once.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct CreatedClient {
    pub client: ClientView,
    pub client_secret: Option<String>,
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
    let mut logos: HashMap<String, String> = state
        .store
        .client_logo_versions()
        .await?
        .into_iter()
        .collect();
    let views = clients.into_iter().map(|c| {
        let logo = logos.remove(&c.client_id);
        ClientView::new(c, logo)
    });
    Ok(Json(views.collect()))
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
        // A client just registered has no logo.
        client: ClientView::new(client, None),
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
    let logo = state.store.client_logo_version(&client_id).await?;
    Ok(Json(ClientView::new(client, logo)))
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
        .client_as_stored(&client_id)
        .await?
        .ok_or_else(|| StoreError::NotFound(crate::model::Named::Client(client_id.clone())))?;
    let logo = state.store.client_logo_version(&client_id).await?;
    Ok(Json(ClientView::new(client, logo)))
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
