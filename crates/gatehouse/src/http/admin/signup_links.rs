//! `/admin/api/signup-links`: links with which people make their own accounts.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{ApiError, ApiResult, Caller, ErrorBody, JsonObject};
use crate::auth::signup::{self, DEFAULT_DAYS, LinkSpec};
use crate::http::AppState;
use crate::model::SignupLink;

/// The sign-up link routes, to nest under `/admin/api`.
pub(super) fn routes(api: OpenApiRouter<AppState>) -> OpenApiRouter<AppState> {
    api.routes(routes!(list_signup_links, create_signup_link))
        .routes(routes!(delete_signup_link))
}

/// A sign-up link to make.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(example = json!({
    "uses": 10,
    "days": 7,
    "note": "the team chat",
    "groups": ["staff"],
    "domains": ["corp.example"]
}))]
pub(super) struct NewSignupLink {
    /// How many people may make an account with it (default 1).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 1000)]
    pub uses: Option<u32>,
    /// For how many days it works (default 7).
    #[serde(default)]
    #[schema(minimum = 1, maximum = 90)]
    pub days: Option<u32>,
    /// Whom it is for, for administrators (at most 200 characters on one line); the people who
    /// sign up do not see it.
    #[serde(default)]
    #[schema(max_length = 200)]
    pub note: Option<String>,
    /// The groups each person is put in, by name; each must exist.
    #[serde(default)]
    #[schema(max_items = 32)]
    pub groups: Vec<String>,
    /// Only for addresses at these domains (none: any): each a domain name with at least one
    /// dot, not an IP address and with no port or path (a leading `@` is dropped; kept in lower
    /// case, an internationalised name in its `xn--` form; a subdomain is another domain), else
    /// `400`. The accounts it makes keep the rule: they sign in to applications only once their
    /// address there is confirmed.
    #[serde(default)]
    #[schema(max_items = 16)]
    pub domains: Vec<String>,
}

/// A sign-up link, as listed (never its secret).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct SignupLinkView {
    /// What it is known by here and on the command line.
    pub id: String,
    pub note: String,
    pub groups: Vec<String>,
    /// The domains its people's addresses must be at, in lower-case ASCII; empty: any.
    pub domains: Vec<String>,
    /// How many people may make an account with it.
    pub max_uses: u32,
    /// How many did.
    pub uses: u32,
    /// Who made it: the actor of its audit record.
    pub created_by: String,
    /// Unix time.
    pub created_at: i64,
    /// Unix time: it makes no account from then on.
    pub expires_at: i64,
    /// Whether it can make an account now: not expired, uses left.
    pub usable: bool,
}

impl SignupLinkView {
    fn of(link: SignupLink, now: i64) -> Self {
        let usable = signup::admit(Some(&link), now).is_ok();
        SignupLinkView {
            id: link.id,
            note: link.note,
            groups: link.groups,
            domains: link.domains,
            max_uses: link.max_uses,
            uses: link.uses,
            created_by: link.created_by,
            created_at: link.created_at,
            expires_at: link.expires_at,
            usable,
        }
    }
}

/// A sign-up link just made, with the URL to give out (shown only now).
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub(super) struct SignupLinkMade {
    /// The URL to give to the people who may make an account: whoever has it can use it.
    pub link: String,
    #[serde(flatten)]
    pub made: SignupLinkView,
}

#[utoipa::path(get, path = "/signup-links", tag = "signup-links",
    responses(
        (status = 200, description = "Every sign-up link, newest first", body = [SignupLinkView]),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn list_signup_links(
    State(state): State<AppState>,
    caller: Caller,
) -> ApiResult<Json<Vec<SignupLinkView>>> {
    let admin = caller.admin(&state);
    let now = admin.now();
    let links = admin.signup_links().await?;
    Ok(Json(
        links
            .into_iter()
            .map(|l| SignupLinkView::of(l, now))
            .collect(),
    ))
}

#[utoipa::path(post, path = "/signup-links", tag = "signup-links", request_body = NewSignupLink,
    responses(
        (status = 201, description = "The link was made; audited as admin.signup_link.made", body = SignupLinkMade),
        (status = 400, description = "A field is missing or invalid", body = ErrorBody),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "A group named does not exist", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn create_signup_link(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<JsonObject<NewSignupLink>, ApiError>,
) -> ApiResult<(StatusCode, Json<SignupLinkMade>)> {
    let JsonObject(new) = body?;
    let spec = LinkSpec {
        uses: new.uses.unwrap_or(1),
        days: new.days.unwrap_or(DEFAULT_DAYS),
        note: new.note.unwrap_or_default(),
        groups: new.groups,
        domains: new.domains,
    };
    let admin = caller.admin(&state);
    let (secret, link) = admin.make_signup_link(spec).await?;
    let made = SignupLinkMade {
        link: state.config.endpoint(&signup::path_and_query(&secret)),
        made: SignupLinkView::of(link, admin.now()),
    };
    Ok((StatusCode::CREATED, Json(made)))
}

#[utoipa::path(delete, path = "/signup-links/{id}", tag = "signup-links",
    params(("id" = String, Path, description = "The link's id")),
    responses(
        (status = 204, description = "The link makes no more accounts (those it made stay); audited as admin.signup_link.removed"),
        (status = 401, description = "No valid admin token", body = ErrorBody),
        (status = 403, description = "The token lacks the admin scope", body = ErrorBody),
        (status = 404, description = "No such link", body = ErrorBody),
    ),
    security(("admin_token" = [])))]
async fn delete_signup_link(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> ApiResult<StatusCode> {
    caller.admin(&state).remove_signup_link(&id).await?;
    Ok(StatusCode::NO_CONTENT)
}
