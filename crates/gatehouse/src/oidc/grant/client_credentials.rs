//! The client credentials grant (RFC 6749 §4.4): a confidential client asks for a token for
//! itself, within the scopes it was registered with. No refresh token (§4.4.3) and no ID
//! token: there is no user. Nothing is loaded, so nothing is locked: the store only inserts
//! the token.

use crate::model::Client;
use crate::oidc::{OAuthError, scope};

/// The scope to grant `client`, which asked for `requested`; whether it may use the grant at
/// all is [`super::permitted`].
///
/// # Errors
/// `invalid_scope` for a malformed, unknown, unregistered or user-only scope, or when the
/// client may hold no scope for itself.
pub fn decide(client: &Client, requested: Option<&str>) -> Result<String, OAuthError> {
    if let Some(s) = requested {
        scope::check_syntax(s).map_err(|why| OAuthError::InvalidScope(why.into()))?;
    }
    let granted = scope::for_client(requested, &client.scopes)
        .map_err(|refusal| OAuthError::InvalidScope(refusal.to_string()))?;
    if granted.is_empty() {
        return Err(OAuthError::InvalidScope(
            "this client has no scope it may hold for itself".into(),
        ));
    }
    Ok(granted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::GrantType;

    fn client(public: bool, grants: &[GrantType], scopes: &[&str]) -> Client {
        Client {
            scopes: scopes.iter().map(|s| s.to_string()).collect(),
            grant_types: grants.to_vec(),
            ..Client::example("svc", public)
        }
    }

    #[test]
    fn decisions() {
        use GrantType::*;
        let long = "a ".repeat(600);
        let svc = client(false, &[ClientCredentials], &["openid", "email", "admin"]);
        /// Name, client, requested scope, and the scope granted or the error code.
        type Case<'a> = (&'a str, Client, Option<&'a str>, Result<&'a str, &'a str>);
        let cases: Vec<Case> = vec![
            (
                "everything it may hold for itself",
                svc.clone(),
                None,
                Ok("email admin"),
            ),
            (
                "what it asks for, normalised",
                svc.clone(),
                Some("admin  admin"),
                Ok("admin"),
            ),
            (
                "a user-only scope",
                svc.clone(),
                Some("openid"),
                Err("invalid_scope"),
            ),
            (
                "an unregistered scope",
                svc.clone(),
                Some("profile"),
                Err("invalid_scope"),
            ),
            (
                "an unknown scope",
                svc.clone(),
                Some("root"),
                Err("invalid_scope"),
            ),
            (
                "a scope too long",
                svc.clone(),
                Some(&long),
                Err("invalid_scope"),
            ),
            (
                "nothing it may hold",
                client(false, &[ClientCredentials], &["openid"]),
                None,
                Err("invalid_scope"),
            ),
        ];
        for (name, c, requested, expected) in cases {
            let got = decide(&c, requested);
            assert_eq!(got.as_deref().map_err(|e| e.code()), expected, "{name}");
        }
    }
}
