//! `/admin/api/users`: people, their sessions and their consents.

use axum::Json;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, Caller, ErrorBody, JsonObject};
use crate::admin::{NewUser, ProfileChange, UserEdits, UserView, search_users};
use crate::http::AppState;
use crate::model::{Consent, Factors, LoggedOut, Session, UserSearch};

/// The user routes, to nest under `/admin/api`.
pub(super) fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list_users, create_user))
        .routes(routes!(get_user, update_user, remove_user))
        .routes(routes!(list_sessions, end_sessions))
        .routes(routes!(get_lockout, unlock))
        .routes(routes!(
            get_address_rule,
            set_address_rule,
            lift_address_rule
        ))
        .routes(routes!(list_consents))
        .routes(routes!(person_data))
        .routes(routes!(get_factors, reset_factors))
        .routes(routes!(make_passkey_link))
        .routes(routes!(revoke_consent))
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
    #[schema(pattern = r"^\S+@[^\s@]+$", max_length = 254)]
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

/// A login session (its secret is never shown).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct SessionView {
    /// Unix times.
    pub auth_time: i64,
    pub last_seen_at: i64,
    pub expires_at: i64,
    /// The `User-Agent` of the browser it was signed in from (at most 256 characters); `null`
    /// for a session of a release that did not keep it.
    #[schema(max_length = 256)]
    pub user_agent: Option<String>,
    /// The browser that names (`Firefox`), when it names one a person would know.
    pub browser: Option<String>,
    /// The system that browser runs on (`Linux`, `iPhone`), when known.
    pub system: Option<String>,
    /// The client address it was signed in from.
    pub ip: Option<String>,
    /// Its person ticked "Keep me signed in": it lasts as the deployment keeps such sessions.
    pub kept: bool,
}

/// The browser and system a kept `User-Agent` names, when it names a browser a person would
/// know.
pub(super) fn browser_and_system(user_agent: Option<&str>) -> (Option<String>, Option<String>) {
    match user_agent.and_then(crate::auth::browsers::describe) {
        Some(d) => (Some(d.browser), d.system),
        None => (None, None),
    }
}

impl From<Session> for SessionView {
    fn from(s: Session) -> Self {
        let (browser, system) = browser_and_system(s.user_agent.as_deref());
        SessionView {
            auth_time: s.auth_time,
            last_seen_at: s.last_seen_at,
            expires_at: s.expires_at,
            user_agent: s.user_agent,
            browser,
            system,
            ip: s.ip,
            kept: s.kept,
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

/// Whether a user's failed attempts keep them from signing in.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct LockoutView {
    /// Until when (Unix time) they cannot sign in, or `null` when they can.
    pub paused_until: Option<i64>,
}

/// The domains a user signs in to applications with a confirmed address at.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct AddressRuleView {
    /// Those of the sign-up link that made their account, or an administrator's, in lower-case
    /// ASCII; empty: they have no such rule (any address, confirmed or not, as each
    /// application requires).
    pub domains: Vec<String>,
}

/// The address rule to give a user.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({"domains": ["corp.example"]}))]
pub(super) struct NewAddressRule {
    /// The domains they sign in to applications with a confirmed address at, at least one:
    /// each a domain name with at least one dot, not an IP address and with no port or path (a
    /// leading `@` is dropped; kept in lower case, an internationalised name in its `xn--`
    /// form; a subdomain is another domain), else `400`.
    #[schema(min_items = 1, max_items = 16)]
    pub domains: Vec<String>,
}

/// What letting a user sign in again did.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct UnlockedView {
    /// There was a count of failed attempts, now forgotten (and audited).
    pub forgotten: bool,
    /// Until when (Unix time) they could not have signed in, or `null` when they could.
    pub paused_until: Option<i64>,
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

/// Which users `GET /users` lists.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(super) struct UsersQuery {
    /// Only those whose username, address or name contains this, in any case.
    #[param(max_length = 254)]
    pub q: Option<String>,
    /// Only those whose username sorts after this one: the last username of the page before
    /// (a username: no control characters, at most 1024).
    #[param(max_length = 1024, pattern = r"^[^\x00-\x1f\x7f-\x9f]*$")]
    pub after: Option<String>,
    /// At most this many (at most 1000); without it, every user the rest names.
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<usize>,
}

/// The most users one page of `GET /users` may ask for.
const MAX_USERS_PAGE: usize = 1000;

#[utoipa::path(get, path = "/users", tag = "users", params(UsersQuery),
    responses(
        (status = 200, description = "The users asked for, by username; a page shorter than \
            `limit` is the last", body = [UserView]),
        (status = 400, description = "A parameter is invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_users(
    State(state): State<AppState>,
    _: Caller,
    query: Result<Query<UsersQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<UserView>>> {
    let Query(q) = query.map_err(|r| invalid(r.body_text()))?;
    let text = q.q.unwrap_or_default();
    if text.chars().count() > 254 {
        return Err(invalid("q must be at most 254 characters".into()));
    }
    let limit = users_page(q.after.as_deref(), q.limit)?;
    let search = UserSearch::new(&text, q.after, limit);
    let users = search_users(state.store.as_ref(), &search).await?;
    Ok(Json(users.into_iter().map(UserView::from).collect()))
}

fn invalid(why: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", why)
}

/// Checks a page of users asked for (`after`: the last username of the page before; `limit`:
/// 1 to 1000, none for all): how many to list.
pub(super) fn users_page(after: Option<&str>, limit: Option<usize>) -> ApiResult<usize> {
    if let Some(after) = after
        && (after.chars().count() > 1024 || after.chars().any(char::is_control))
    {
        return Err(invalid(
            "after must be a username: the last of the page before".into(),
        ));
    }
    match limit {
        None => Ok(usize::MAX),
        Some(n) if (1..=MAX_USERS_PAGE).contains(&n) => Ok(n),
        Some(_) => Err(invalid(format!(
            "limit must be between 1 and {MAX_USERS_PAGE}"
        ))),
    }
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
    let edits = UserEdits {
        password: patch.password,
        disabled: patch.disabled,
        email: patch.email,
        email_verified: patch.email_verified,
        profile: ProfileChange {
            name: patch.name,
            given_name: patch.given_name,
            family_name: patch.family_name,
            locale: patch.locale,
            picture: patch.picture,
        },
    };
    // Every field checked first, then all of them made in one transaction, or none.
    let admin = caller.admin(&state);
    let user = admin.edit_user(&state.passwords, &username, edits).await?;
    Ok(Json(user.into()))
}

#[utoipa::path(delete, path = "/users/{username}", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 204, description = "The account and everything of it are gone: its sessions ended (each application told of a sign-in is told), its tokens, consents, memberships, second factors, passkeys and claims removed; the audit log keeps its records"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn remove_user(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<StatusCode> {
    caller.admin(&state).remove_user(&username).await?;
    Ok(StatusCode::NO_CONTENT)
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
    let sessions = caller.admin(&state).sessions(&username).await?;
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

#[utoipa::path(get, path = "/users/{username}/lockout", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "Whether their failed attempts (passwords, second-factor codes, device codes) keep them from signing in, and until when", body = LockoutView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_lockout(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<LockoutView>> {
    let admin = caller.admin(&state);
    let user = admin.user(&username).await?;
    let paused_until = admin.locked_until(&user).await?;
    Ok(Json(LockoutView { paused_until }))
}

#[utoipa::path(delete, path = "/users/{username}/lockout", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "They can sign in again now: the count of their failed attempts is forgotten (their address's, which others share, is not)", body = UnlockedView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn unlock(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<UnlockedView>> {
    let done = caller.admin(&state).unlock(&username).await?;
    Ok(Json(UnlockedView {
        forgotten: done.forgotten,
        paused_until: done.paused_until,
    }))
}

#[utoipa::path(get, path = "/users/{username}/address-rule", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The domains they sign in to applications with a confirmed address at (a sign-up link's for some domains, or an administrator's); none: no such rule", body = AddressRuleView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_address_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<AddressRuleView>> {
    let admin = caller.admin(&state);
    let user = admin.user(&username).await?;
    let domains = admin.address_rule(&user).await?;
    Ok(Json(AddressRuleView { domains }))
}

#[utoipa::path(put, path = "/users/{username}/address-rule", tag = "users",
    request_body = NewAddressRule,
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "They sign in to applications only with a confirmed address at these domains now, whatever rule they had (audited as admin.user.address_rule_set, naming both; the same rule again changes and records nothing)", body = AddressRuleView),
        (status = 400, description = "No domain, one that is not a domain name, or more than 16", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn set_address_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
    body: Result<JsonObject<NewAddressRule>, ApiError>,
) -> ApiResult<Json<AddressRuleView>> {
    let JsonObject(new) = body?;
    let set = caller
        .admin(&state)
        .set_address_rule(&username, &new.domains)
        .await?;
    Ok(Json(AddressRuleView {
        domains: set.domains,
    }))
}

#[utoipa::path(delete, path = "/users/{username}/address-rule", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "They sign in with an address anywhere now; the domains of the rule lifted (audited as admin.user.address_rule_lifted), none when they had no rule", body = AddressRuleView),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn lift_address_rule(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<AddressRuleView>> {
    let domains = caller.admin(&state).lift_address_rule(&username).await?;
    Ok(Json(AddressRuleView { domains }))
}

#[utoipa::path(get, path = "/users/{username}/factors", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The user's second factors (never a secret)", body = Factors),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn get_factors(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<Factors>> {
    Ok(Json(caller.admin(&state).factors(&username).await?))
}

#[utoipa::path(delete, path = "/users/{username}/factors", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "The authenticator app and recovery codes removed (a lost phone); what the user had", body = Factors),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn reset_factors(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<Factors>> {
    Ok(Json(caller.admin(&state).reset_factors(&username).await?))
}

/// A passkey link for a person who lost their passkey, to hand over.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct PasskeyLink {
    /// The link: whoever opens it can add a passkey to the account, once, and sign in with
    /// it; every session of the account is then signed out. Shown only now.
    pub link: String,
    /// Until when it works (seconds since the Unix epoch).
    pub expires_at: i64,
}

#[utoipa::path(post, path = "/users/{username}/passkey-link", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 201, description = "A link with which the user, who lost their passkey, adds another (24 hours, once), to hand over over a channel you trust; audited as admin.user.passkey_link_made", body = PasskeyLink),
        (status = 400, description = "Passkeys do not work with this server's issuer (an IP address), or the account is disabled", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
        (status = 429, description = "A link for the user was made less than a minute ago", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn make_passkey_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<(StatusCode, Json<PasskeyLink>)> {
    use crate::auth::email_links::{self, NoPasskeyLink};
    use crate::model::EmailPurpose;
    let refused = |why: String| ApiError::new(StatusCode::BAD_REQUEST, "invalid_request", why);
    let passkeys = state.passkeys();
    let made = caller
        .admin(&state)
        .passkey_link(&username, passkeys.is_ok())
        .await?;
    let (secret, expires_at) = match made {
        Ok(made) => made,
        Err(NoPasskeyLink::PasskeysUnavailable) => {
            let why = passkeys.err().unwrap_or_default();
            return Err(refused(format!("no passkey link: {why}")));
        }
        Err(NoPasskeyLink::Disabled) => {
            return Err(refused(format!(
                "{username} is disabled: enable them first"
            )));
        }
        Err(NoPasskeyLink::TooSoon) => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_requests",
                format!(
                    "a link for {username} was made less than a minute ago; try again in a minute"
                ),
            ));
        }
    };
    let link = PasskeyLink {
        link: state
            .config
            .endpoint(&email_links::path_and_query(EmailPurpose::Passkey, &secret)),
        expires_at,
    };
    Ok((StatusCode::CREATED, Json(link)))
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

#[utoipa::path(get, path = "/users/{username}/data", tag = "users",
    params(("username" = String, Path, description = "The username")),
    responses(
        (status = 200, description = "What gatehouse holds about the user, as they download it from their account page (their profile, groups, address rule, released claims, two-step verification, sessions, the applications they allowed and up to 1,000 records of their activity; no secret): for answering their request for it. Reading it changes nothing", body = Object),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such user", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn person_data(
    State(state): State<AppState>,
    caller: Caller,
    Path(username): Path<String>,
) -> ApiResult<Json<serde_json::Value>> {
    let admin = caller.admin(&state);
    Ok(Json(
        admin.person_data(&username, &state.config.issuer).await?,
    ))
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
