//! Validating an RP-initiated logout request (OpenID Connect RP-Initiated Logout 1.0 §2-§3).
//!
//! Like an authorization request, a logout request may only send the browser to a URI the
//! client registered (`post_logout_redirect_uri`), or gatehouse would be an open redirector.
//! Errors are therefore shown on a page, never redirected.

use super::OAuthError;
use super::authorize::Params;
use super::error::invalid_request;
use super::keys::Hint;
use super::redirect;
use crate::model::Client;

/// A validated logout request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// The verified `id_token_hint`, if one was sent.
    pub hint: Option<Hint>,
    pub client_id: Option<String>,
    /// The client's sector when its subjects are pairwise (`oidc::subject`): the hint's `sub`
    /// is the person's as that client knows them.
    pub pairwise_sector: Option<String>,
    /// Where to send the browser afterwards, with `state`.
    pub post_logout_redirect_uri: Option<String>,
    pub state: Option<String>,
    /// The languages the application says the person prefers (`ui_locales`, §2), as the
    /// pages may take them (`authorize::ui_locales`).
    pub ui_locales: Vec<String>,
}

/// Step one: which client the request is about, from `client_id` or the hint's audience.
///
/// # Errors
/// `invalid_request` when `client_id` is repeated or is not an audience of the hint.
pub fn client_id(params: &Params, hint: Option<&Hint>) -> Result<Option<String>, OAuthError> {
    let given = params.one("client_id")?;
    match (given, hint) {
        // §2: when both are given, the client must be an audience of the hint.
        (Some(id), Some(h)) if !h.audiences.iter().any(|a| a == id) => Err(invalid_request(
            "client_id is not an audience of the id_token_hint",
        )),
        (Some(id), _) => Ok(Some(id.to_owned())),
        (None, Some(h)) => Ok(h.audiences.first().cloned()),
        (None, None) => Ok(None),
    }
}

/// Step two, given the registered client (if any): the redirect and `state`.
///
/// # Errors
/// `invalid_request` for an unknown client, a repeated parameter, a `state` over 2048
/// characters, or a post-logout redirect URI that is not registered or has no client to check
/// it against.
pub fn validate(
    params: &Params,
    hint: Option<Hint>,
    client: Option<&Client>,
) -> Result<LogoutRequest, OAuthError> {
    let client_id = client_id(params, hint.as_ref())?;
    if client_id.is_some() && client.is_none() {
        return Err(invalid_request("unknown client_id"));
    }
    let state = params.one("state")?.map(str::to_owned);
    if state.as_ref().is_some_and(|s| s.len() > 2048) {
        return Err(invalid_request("the state is longer than 2048 characters"));
    }
    let post_logout_redirect_uri = match params.one("post_logout_redirect_uri")? {
        None => None,
        Some(uri) => {
            // §3: the URI must have been registered, so the client must be known.
            let Some(client) = client else {
                return Err(invalid_request(
                    "post_logout_redirect_uri needs client_id or id_token_hint",
                ));
            };
            if !redirect::is_registered(uri, &client.post_logout_redirect_uris) {
                return Err(invalid_request(
                    "the post_logout_redirect_uri is not registered for this client",
                ));
            }
            Some(uri.to_owned())
        }
    };
    Ok(LogoutRequest {
        hint,
        client_id,
        pairwise_sector: client.and_then(|c| c.pairwise_sector.clone()),
        post_logout_redirect_uri,
        state,
        ui_locales: super::authorize::ui_locales(params.one("ui_locales")?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client() -> Client {
        Client {
            post_logout_redirect_uris: vec!["https://app.example/bye".into()],
            ..Client::example("app", true)
        }
    }

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(
            pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    fn hint(aud: &[&str]) -> Option<Hint> {
        Some(Hint {
            sub: "u1".into(),
            audiences: aud.iter().map(|a| a.to_string()).collect(),
        })
    }

    #[test]
    fn the_client_comes_from_client_id_or_the_hint() {
        assert_eq!(client_id(&params(&[]), None), Ok(None));
        assert_eq!(
            client_id(&params(&[]), hint(&["app"]).as_ref()),
            Ok(Some("app".into()))
        );
        assert_eq!(
            client_id(
                &params(&[("client_id", "app")]),
                hint(&["x", "app"]).as_ref()
            ),
            Ok(Some("app".into()))
        );
        assert!(client_id(&params(&[("client_id", "evil")]), hint(&["app"]).as_ref()).is_err());
        assert!(client_id(&params(&[("client_id", "a"), ("client_id", "b")]), None).is_err());
    }

    #[test]
    fn only_a_registered_post_logout_redirect_uri_is_followed() {
        let c = client();
        let ok = validate(
            &params(&[
                ("client_id", "app"),
                ("post_logout_redirect_uri", "https://app.example/bye"),
                ("state", "s1"),
            ]),
            None,
            Some(&c),
        )
        .unwrap();
        assert_eq!(
            ok.post_logout_redirect_uri.as_deref(),
            Some("https://app.example/bye")
        );
        assert_eq!(ok.state.as_deref(), Some("s1"));

        let refused = [
            // Not registered, or only a prefix of a registered one.
            params(&[
                ("client_id", "app"),
                ("post_logout_redirect_uri", "https://evil.example/"),
            ]),
            params(&[
                ("client_id", "app"),
                ("post_logout_redirect_uri", "https://app.example/bye/x"),
            ]),
            // No client to check it against.
            params(&[("post_logout_redirect_uri", "https://app.example/bye")]),
        ];
        for p in refused {
            let client = p.one("client_id").unwrap().map(|_| &c);
            assert!(validate(&p, None, client).is_err(), "{p:?}");
        }
        // A client_id the store does not know.
        assert!(validate(&params(&[("client_id", "ghost")]), None, None).is_err());
        // Nothing at all is a valid request: sign out and show a page.
        let bare = validate(&params(&[]), None, None).unwrap();
        assert_eq!(bare.post_logout_redirect_uri, None);
    }
}
