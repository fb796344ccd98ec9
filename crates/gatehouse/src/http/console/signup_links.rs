//! The administration page of sign-up links (`/admin/signup-links`): the links there are,
//! making one (shown once), removing one.

use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;

use super::{AdminForm, Administrator, Sent, admin_failed, failed};
use crate::admin::AdminError;
use crate::auth::signup::{self, LinkSpec};
use crate::http::error::store_error;
use crate::http::{AppState, Localized, Peer, pages};
use crate::store::StoreError;

/// GET /admin/signup-links: the links, newest first, and the form that makes one.
pub(in crate::http) async fn signup_links(
    Localized(state): Localized,
    admin: Administrator,
) -> Response {
    links_page(&state, &admin, (None, None), StatusCode::OK).await
}

async fn links_page(
    state: &AppState,
    admin: &Administrator,
    (notice, error): (Option<&str>, Option<&str>),
    status: StatusCode,
) -> Response {
    let listed = async {
        let links = state.store.signup_links().await?;
        let groups = state.store.list_groups().await?;
        Ok::<_, StoreError>((links, groups))
    };
    let (links, groups) = match listed.await {
        Ok(listed) => listed,
        Err(e) => return failed(state, store_error(e)),
    };
    let html = pages::console_signup_links(
        &state.look,
        &admin.base(state),
        (&links, &groups),
        state.now(),
        (notice, error),
    );
    pages::respond(status, html)
}

#[derive(Deserialize)]
pub(in crate::http) struct LinksForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    uses: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    note: String,
    #[serde(default)]
    groups: Vec<String>,
    /// Address domains, separated by spaces or commas.
    #[serde(default)]
    domains: String,
    #[serde(default)]
    id: String,
}

impl AdminForm for LinksForm {
    fn csrf(&self) -> &str {
        &self.csrf
    }
}

/// POST /admin/signup-links: makes a link (`action=make`, then shows it once) or removes one
/// (`action=remove`).
pub(in crate::http) async fn change_signup_links(
    Localized(state): Localized,
    peer: Peer,
    Sent {
        admin,
        form: axum_extra::extract::Form(form),
    }: Sent<axum_extra::extract::Form<LinksForm>>,
) -> Response {
    let console = &state.look.text.console;
    let refused = |error: String| {
        let (state, admin) = (&state, &admin);
        async move { links_page(state, admin, (None, Some(&error)), StatusCode::BAD_REQUEST).await }
    };
    if !admin.base(&state).recent {
        return refused(console.not_recent.to_owned()).await;
    }
    let ops = admin.ops(&state, peer);
    match form.action.as_str() {
        "make" => {
            // A number that does not parse is as out of range as one that does.
            let number = |field: &str| field.trim().parse::<u32>().unwrap_or(0);
            let spec = LinkSpec {
                uses: number(&form.uses),
                days: number(&form.days),
                note: form.note.clone(),
                groups: form.groups.clone(),
                domains: crate::auth::signup::typed_domains(&form.domains),
            };
            match ops.make_signup_link(spec).await {
                Ok((secret, link)) => {
                    let url = state.config.endpoint(&signup::path_and_query(&secret));
                    let html = pages::console_signup_link_made(
                        &state.look,
                        &admin.base(&state),
                        &link,
                        &url,
                    );
                    pages::respond(StatusCode::OK, html)
                }
                Err(AdminError::Invalid(why)) => refused((console.refusal)(&why)).await,
                Err(AdminError::Store(StoreError::NotFound(what))) => {
                    refused((console.not_found)(&what)).await
                }
                Err(e) => admin_failed(&state, e),
            }
        }
        "remove" => match ops.remove_signup_link(&form.id).await {
            Ok(()) => {
                let removed = state.look.text.signup_links.removed;
                links_page(&state, &admin, (Some(removed), None), StatusCode::OK).await
            }
            Err(AdminError::Store(StoreError::NotFound(what))) => {
                refused((console.not_found)(&what)).await
            }
            Err(e) => admin_failed(&state, e),
        },
        _ => super::incomplete(&state, "/admin/signup-links"),
    }
}
