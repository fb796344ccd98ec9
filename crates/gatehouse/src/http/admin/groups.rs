//! `/admin/api/groups`: groups and their members, and a user's groups.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, Caller, ErrorBody, JsonObject};
use crate::admin::UserView;
use crate::admin::{GroupPatch, NewGroup};
use crate::http::AppState;
use crate::model::Group;

/// The group routes, to nest under `/admin/api`.
pub(super) fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list_groups, create_group))
        .routes(routes!(get_group, update_group, delete_group))
        .routes(routes!(list_members))
        .routes(routes!(add_member, remove_member))
        .routes(routes!(user_groups))
        .routes(routes!(get_client_access, set_client_access))
}

/// The groups whose members may use a client.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct AccessGroups {
    /// Group names; an empty list opens the client to every user.
    pub groups: Vec<String>,
}

/// A group.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct GroupView {
    pub name: String,
    pub description: Option<String>,
    /// Unix time.
    pub created_at: i64,
}

impl From<Group> for GroupView {
    fn from(g: Group) -> Self {
        GroupView {
            name: g.name,
            description: g.description,
            created_at: g.created_at,
        }
    }
}

/// What adding or removing a member did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct MembershipView {
    pub group: String,
    pub username: String,
    /// `false` when the request changed nothing (already a member, or not one).
    pub changed: bool,
}

#[utoipa::path(get, path = "/groups", tag = "groups",
    responses(
        (status = 200, description = "Every group, by name", body = [GroupView]),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_groups(State(state): State<AppState>, _: Caller) -> ApiResult<Json<Vec<GroupView>>> {
    let groups = state.store.list_groups().await?;
    Ok(Json(groups.into_iter().map(GroupView::from).collect()))
}

#[utoipa::path(post, path = "/groups", tag = "groups", request_body = NewGroup,
    responses(
        (status = 201, description = "The group was created", body = GroupView),
        (status = 400, description = "A field is missing or invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 409, description = "The name is taken", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn create_group(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonObject<NewGroup>, ApiError>,
) -> ApiResult<(StatusCode, Json<GroupView>)> {
    let JsonObject(new) = body?;
    let group = caller.admin(&state).add_group(new).await?;
    Ok((StatusCode::CREATED, Json(group.into())))
}

#[utoipa::path(get, path = "/groups/{name}", tag = "groups",
    params(("name" = String, Path, description = "The group's name")),
    responses(
        (status = 200, description = "The group", body = GroupView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<Json<GroupView>> {
    Ok(Json(caller.admin(&state).group(&name).await?.into()))
}

#[utoipa::path(patch, path = "/groups/{name}", tag = "groups", request_body = GroupPatch,
    params(("name" = String, Path, description = "The group's name")),
    responses(
        (status = 200, description = "The group, changed", body = GroupView),
        (status = 400, description = "A field is invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
        (status = 409, description = "The new name is taken", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn update_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    body: Result<JsonObject<GroupPatch>, ApiError>,
) -> ApiResult<Json<GroupView>> {
    let JsonObject(patch) = body?;
    let group = caller.admin(&state).update_group(&name, patch).await?;
    Ok(Json(group.into()))
}

#[utoipa::path(delete, path = "/groups/{name}", tag = "groups",
    params(("name" = String, Path, description = "The group's name")),
    responses(
        (status = 204, description = "The group and its memberships are gone"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
        (status = 409, description = "A client lets only this group's members use it: take the group off the client first", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn delete_group(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
) -> ApiResult<StatusCode> {
    caller.admin(&state).delete_group(&name).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Which of a group's members `GET /groups/{name}/members` lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct MembersQuery {
    /// Only those whose username sorts after this one: the last username of the page before
    /// (a username: no control characters, at most 1024).
    #[param(max_length = 1024, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub after: Option<String>,
    /// At most this many (at most 1000); without it, every member after `after`.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

#[utoipa::path(get, path = "/groups/{name}/members", tag = "groups",
    params(("name" = String, Path, description = "The group's name"), MembersQuery),
    responses(
        (status = 200, description = "The group's members asked for, by username; a page \
            shorter than `limit` is the last", body = [UserView]),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_members(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    query: Result<Query<MembersQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<UserView>>> {
    let Query(q) = query
        .map_err(|r| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", r.body_text()))?;
    let limit = super::users::users_page(q.after.as_deref(), q.limit)?;
    let members = caller
        .admin(&state)
        .members_page(&name, q.after.as_deref(), limit)
        .await?;
    Ok(Json(members.into_iter().map(UserView::from).collect()))
}

#[utoipa::path(put, path = "/groups/{name}/members/{username}", tag = "groups",
    params(
        ("name" = String, Path, description = "The group's name"),
        ("username" = String, Path, description = "The username"),
    ),
    responses(
        (status = 200, description = "The user is a member (`changed` says whether they were already)", body = MembershipView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group or user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn add_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, username)): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    let changed = caller.admin(&state).add_member(&name, &username).await?;
    Ok(Json(MembershipView {
        group: name,
        username,
        changed,
    }))
}

#[utoipa::path(delete, path = "/groups/{name}/members/{username}", tag = "groups",
    params(
        ("name" = String, Path, description = "The group's name"),
        ("username" = String, Path, description = "The username"),
    ),
    responses(
        (status = 200, description = "The user is not a member (`changed` says whether they were)", body = MembershipView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such group or user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn remove_member(
    State(state): State<AppState>,
    caller: Caller,
    Path((name, username)): Path<(String, String)>,
) -> ApiResult<Json<MembershipView>> {
    let changed = caller.admin(&state).remove_member(&name, &username).await?;
    Ok(Json(MembershipView {
        group: name,
        username,
        changed,
    }))
}

#[utoipa::path(get, path = "/clients/{client_id}/access-groups", tag = "clients",
    params(("client_id" = String, Path, description = "The client id")),
    responses(
        (status = 200, description = "The groups whose members may use the client, by name; none means every user", body = [GroupView]),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_client_access(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
) -> ApiResult<Json<Vec<GroupView>>> {
    let groups = caller.admin(&state).client_access(&client_id).await?;
    Ok(Json(groups.into_iter().map(GroupView::from).collect()))
}

#[utoipa::path(put, path = "/clients/{client_id}/access-groups", tag = "clients",
    request_body = AccessGroups,
    params(("client_id" = String, Path, description = "The client id")),
    responses(
        (status = 200, description = "Only members of these groups may use the client now (every user when none)", body = [GroupView]),
        (status = 400, description = "The body is invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such client or group; nothing changed", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn set_client_access(
    State(state): State<AppState>,
    caller: Caller,
    Path(client_id): Path<String>,
    body: Result<JsonObject<AccessGroups>, ApiError>,
) -> ApiResult<Json<Vec<GroupView>>> {
    let JsonObject(access) = body?;
    let groups = caller
        .admin(&state)
        .set_client_access(&client_id, access.groups)
        .await?;
    Ok(Json(groups.into_iter().map(GroupView::from).collect()))
}

#[utoipa::path(get, path = "/users/{username}/groups", tag = "groups",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user's groups, by name", body = [GroupView]),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn user_groups(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<Vec<GroupView>>> {
    let groups = caller.admin(&state).user_groups(&username).await?;
    Ok(Json(groups.into_iter().map(GroupView::from).collect()))
}
