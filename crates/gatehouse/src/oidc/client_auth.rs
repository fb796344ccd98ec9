//! Client authentication (RFC 6749 §2.3.1): which secret a client may present. A client with
//! keys authenticates with an assertion instead (`client_assertion`).

use super::tokens;
use crate::clock::UnixTime;
use crate::model::Client;

/// Whether `secret` authenticates `client` at `now`: a confidential client presents its
/// secret, or, during the overlap after a rotation, the one before; a public client presents
/// none; a client with keys is authenticated by neither. Every comparison is in constant time.
pub fn authenticates(client: &Client, secret: Option<&str>, now: UnixTime) -> bool {
    if client.signs_with_keys() {
        return false;
    }
    match (&client.secret_hash, secret) {
        (None, None) => true,
        (Some(hash), Some(secret)) => {
            let previous = client
                .previous_secret
                .as_ref()
                .filter(|p| now < p.until)
                .is_some_and(|p| tokens::matches(secret, &p.hash));
            tokens::matches(secret, hash) | previous
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::PreviousSecret;

    fn client(secret: Option<&str>, previous: Option<(&str, UnixTime)>) -> Client {
        Client {
            secret_hash: secret.map(tokens::hash),
            previous_secret: previous.map(|(s, until)| PreviousSecret {
                hash: tokens::hash(s),
                until,
            }),
            ..Client::example("app", secret.is_none())
        }
    }

    #[test]
    fn secrets_during_and_after_a_rotation() {
        let rotated = client(Some("new"), Some(("old", 100)));
        let cases = [
            ("the new secret", &rotated, Some("new"), 50, true),
            (
                "the old one during the overlap",
                &rotated,
                Some("old"),
                99,
                true,
            ),
            (
                "the old one when it ends",
                &rotated,
                Some("old"),
                100,
                false,
            ),
            ("the new one after it", &rotated, Some("new"), 1000, true),
            ("another secret", &rotated, Some("other"), 50, false),
            ("no secret", &rotated, None, 50, false),
        ];
        for (what, c, secret, now, expected) in cases {
            assert_eq!(authenticates(c, secret, now), expected, "{what}");
        }
        let public = client(None, None);
        assert!(authenticates(&public, None, 0));
        let keys = crate::oidc::keys::generate(crate::model::SigningAlg::Es256, 0).unwrap();
        let with_keys = Client {
            jwks: Some(
                format!(r#"{{"keys":[{}]}}"#, keys.public_jwk)
                    .parse()
                    .unwrap(),
            ),
            ..public.clone()
        };
        assert!(
            !authenticates(&with_keys, None, 0),
            "a client with keys is not public"
        );
        assert!(
            !authenticates(&public, Some("anything"), 0),
            "a public client has no secret"
        );
    }
}
