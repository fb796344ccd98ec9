//! The token endpoint's grants as decisions: each takes what the store loaded inside its
//! transaction, the request and the time, and says what to do. No I/O, so each rule is written
//! once, runs the same on every backend, and is tested with tables of cases. The stores only
//! load the rows and apply the decision (see `docs/architecture.md`).

pub mod audit;
pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;

use crate::model::{Client, GrantType};
use crate::oidc::OAuthError;

/// Whether `client` may use `grant` at all, at the token endpoint or at the endpoint that
/// starts it (/authorize, /device_authorization): only the grants it was registered with, and
/// client credentials only with a secret (RFC 6749 §4.4 is for confidential clients).
///
/// # Errors
/// `unauthorized_client`, naming the grant.
pub fn permitted(client: &Client, grant: GrantType) -> Result<(), OAuthError> {
    let public_for_itself = grant == GrantType::ClientCredentials && client.is_public();
    if !client.allows_grant(grant) || public_for_itself {
        return Err(OAuthError::UnauthorizedClient(format!(
            "this client may not use the {grant} grant"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_uses_the_grants_it_was_registered_with() {
        use GrantType::*;
        let client = |public, grants: &[GrantType]| Client {
            grant_types: grants.to_vec(),
            ..Client::example("app", public)
        };
        // Name, public, registered grants, grant used, permitted.
        let cases: [(&str, bool, &[GrantType], GrantType, bool); 7] = [
            (
                "code, registered",
                false,
                &[AuthorizationCode],
                AuthorizationCode,
                true,
            ),
            (
                "code, public",
                true,
                &[AuthorizationCode, RefreshToken],
                AuthorizationCode,
                true,
            ),
            (
                "refresh, not registered",
                false,
                &[AuthorizationCode],
                RefreshToken,
                false,
            ),
            (
                "device, registered, public",
                true,
                &[DeviceCode],
                DeviceCode,
                true,
            ),
            (
                "device, not registered",
                true,
                &[AuthorizationCode],
                DeviceCode,
                false,
            ),
            (
                "client credentials, confidential",
                false,
                &[ClientCredentials],
                ClientCredentials,
                true,
            ),
            (
                "client credentials, public",
                true,
                &[ClientCredentials],
                ClientCredentials,
                false,
            ),
        ];
        for (name, public, grants, used, expected) in cases {
            let got = permitted(&client(public, grants), used);
            assert_eq!(got.is_ok(), expected, "{name}");
            if let Err(e) = got {
                assert_eq!(e.code(), "unauthorized_client", "{name}");
                assert!(
                    e.description().contains(used.as_str()),
                    "{name}: {}",
                    e.description()
                );
            }
        }
    }
}
