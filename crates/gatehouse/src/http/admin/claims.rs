//! `/admin/api/users/{username}/claims` and `/admin/api/groups/{name}/claims`: the custom
//! claims of a user or a group (`oidc::claims::custom`), read, replaced (`PUT`) or merged
//! (`PATCH`, RFC 7396: a claim set to `null` is removed).

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, Caller, ErrorBody, JsonObject};
use crate::http::AppState;
use crate::model::{ClaimOwner, ClaimsChange, CustomClaims};

/// The claim routes, to nest under `/admin/api`.
pub(super) fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(
        get_user_claims,
        replace_user_claims,
        patch_user_claims
    ))
    .routes(routes!(
        get_group_claims,
        replace_group_claims,
        patch_group_claims
    ))
}

/// Custom claims by name: released with the `profile` scope in ID tokens and at `/userinfo`, a
/// user's own before their groups'. At most 32; each name 1 to 64 ASCII letters, digits, `_`,
/// `-`, `.` or `:`, starting with a letter, not a standard claim's; each value any JSON value
/// but `null`, at most 1024 bytes as JSON. In a `PATCH`, a claim set to `null` is removed.
#[derive(Debug, Default, Serialize, Deserialize, ToSchema)]
#[serde(transparent)]
#[schema(
    value_type = std::collections::HashMap<String, Value>,
    example = json!({"department": "ops", "roles": ["editor", "viewer"]})
)]
pub(super) struct Claims(pub CustomClaims);

/// A `PATCH` body as the change it asks for: `null` members removed, the others set.
fn merge_patch(body: CustomClaims) -> ClaimsChange {
    let (unset, set): (CustomClaims, CustomClaims) =
        body.into_iter().partition(|(_, value)| value.is_null());
    ClaimsChange::Patch {
        set,
        unset: unset.into_keys().collect(),
    }
}

async fn read(state: &AppState, caller: &Caller, owner: ClaimOwner) -> ApiResult<Json<Claims>> {
    let claims = caller.admin(state).custom_claims(&owner).await?;
    Ok(Json(Claims(claims)))
}

async fn change(
    state: &AppState,
    caller: &Caller,
    owner: ClaimOwner,
    change: ClaimsChange,
) -> ApiResult<Json<Claims>> {
    let claims = caller
        .admin(state)
        .change_custom_claims(&owner, change)
        .await?;
    Ok(Json(Claims(claims)))
}

#[utoipa::path(get, path = "/users/{username}/claims", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user's own custom claims", body = Claims),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_user_claims(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<Claims>> {
    read(&state, &caller, ClaimOwner::User(username)).await
}

#[utoipa::path(put, path = "/users/{username}/claims", tag = "users", request_body = Claims,
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user's custom claims, replaced by these", body = Claims),
        (status = 400, description = "A claim is not acceptable", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn replace_user_claims(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    body: Result<JsonObject<Claims>, ApiError>,
) -> ApiResult<Json<Claims>> {
    let JsonObject(Claims(claims)) = body?;
    let owner = ClaimOwner::User(username);
    change(&state, &caller, owner, ClaimsChange::Replace(claims)).await
}

#[utoipa::path(patch, path = "/users/{username}/claims", tag = "users", request_body = Claims,
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user's custom claims, these set and those `null` removed", body = Claims),
        (status = 400, description = "A claim is not acceptable", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn patch_user_claims(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    body: Result<JsonObject<Claims>, ApiError>,
) -> ApiResult<Json<Claims>> {
    let JsonObject(Claims(claims)) = body?;
    let owner = ClaimOwner::User(username);
    change(&state, &caller, owner, merge_patch(claims)).await
}

#[utoipa::path(get, path = "/groups/{name}/claims", tag = "groups",
    params(("name" = String, Path, description = "The group's name")),
    responses(
        (status = 200, description = "The custom claims the group's members carry", body = Claims),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_group_claims(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<Claims>> {
    read(&state, &caller, ClaimOwner::Group(name)).await
}

#[utoipa::path(put, path = "/groups/{name}/claims", tag = "groups", request_body = Claims,
    params(("name" = String, Path, description = "The group's name")),
    responses(
        (status = 200, description = "The group's custom claims, replaced by these", body = Claims),
        (status = 400, description = "A claim is not acceptable", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn replace_group_claims(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<JsonObject<Claims>, ApiError>,
) -> ApiResult<Json<Claims>> {
    let JsonObject(Claims(claims)) = body?;
    let owner = ClaimOwner::Group(name);
    change(&state, &caller, owner, ClaimsChange::Replace(claims)).await
}

#[utoipa::path(patch, path = "/groups/{name}/claims", tag = "groups", request_body = Claims,
    params(("name" = String, Path, description = "The group's name")),
    responses(
        (status = 200, description = "The group's custom claims, these set and those `null` removed", body = Claims),
        (status = 400, description = "A claim is not acceptable", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn patch_group_claims(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<JsonObject<Claims>, ApiError>,
) -> ApiResult<Json<Claims>> {
    let JsonObject(Claims(claims)) = body?;
    let owner = ClaimOwner::Group(name);
    change(&state, &caller, owner, merge_patch(claims)).await
}
