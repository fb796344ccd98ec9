//! JWT access tokens (RFC 9068), for clients registered with `access_token_format = jwt`.
//!
//! A resource server checks such a token offline: signature (the keys in `/jwks.json`),
//! `typ: at+jwt`, issuer, audience, expiry. Gatehouse still stores every access token, so
//! `/userinfo`, introspection and revocation work the same for both formats: a JWT is stored
//! under a key derived from its `jti` ([`key`]), the token itself never. What revocation cannot
//! do is reach a resource server that does not ask: a revoked JWT works there until it expires.

use jsonwebtoken::jwk::JwkSet;
use serde::{Deserialize, Serialize};

use super::family_token::Presented;
use super::keys::{self, Audience};
use super::{resource, tokens};
use crate::clock::UnixTime;

/// The `typ` header (RFC 9068 §2.1).
pub const TOKEN_TYPE: &str = "at+jwt";

/// The claims (RFC 9068 §2.2). `aud` is the APIs the token is for (resource indicators, RFC
/// 8707, `oidc::resource`), or its client's id when it is for none (§3).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    pub iss: String,
    pub exp: UnixTime,
    pub aud: Audience,
    /// The user, or the client itself for `client_credentials` (§2.2).
    pub sub: String,
    pub client_id: String,
    pub iat: UnixTime,
    pub jti: String,
    pub scope: String,
    /// The user's groups, when the `groups` scope was granted (§2.2.3.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub groups: Option<Vec<String>>,
    /// For a token bound to a DPoP key, that key's thumbprint (RFC 9449 §6.1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cnf: Option<Confirmation>,
    /// The claims about the user its client chose (§2.2.3, `oidc::claims::for_access_token`):
    /// none of them is one of the claims above.
    #[serde(flatten)]
    pub identity: serde_json::Map<String, serde_json::Value>,
}

/// The key a token is bound to (RFC 7800 §3.1, RFC 9449 §6.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confirmation {
    pub jkt: String,
}

/// What an access token is issued for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue<'a> {
    pub issuer: &'a str,
    pub client_id: &'a str,
    /// The person's `sub` as the client knows them (`oidc::subject`); `None` for a
    /// `client_credentials` token.
    pub subject: Option<&'a str>,
    pub scope: &'a str,
    /// Released only when `scope` has `groups`.
    pub groups: &'a [String],
    /// The claims about the user its client chose, of those the scope releases
    /// (`oidc::claims::for_access_token`).
    pub identity: &'a serde_json::Map<String, serde_json::Value>,
    /// The token's id: its random part, and the thumbprint of the DPoP key it is bound to if
    /// it is (`oidc::dpop::bind`).
    pub jti: &'a str,
    /// The APIs it is for (RFC 8707); none: its client.
    pub resources: &'a [String],
    pub issued_at: UnixTime,
    pub expires_at: UnixTime,
}

/// The claims of a JWT access token.
pub fn claims(i: &Issue<'_>) -> AccessClaims {
    AccessClaims {
        iss: i.issuer.to_owned(),
        exp: i.expires_at,
        aud: Audience::of(resource::audience(i.client_id, i.resources)),
        sub: i.subject.unwrap_or(i.client_id).to_owned(),
        client_id: i.client_id.to_owned(),
        iat: i.issued_at,
        jti: i.jti.to_owned(),
        scope: i.scope.to_owned(),
        groups: super::claims::wants_groups(i.scope).then(|| i.groups.to_vec()),
        cnf: super::dpop::binding(i.jti).map(|jkt| Confirmation {
            jkt: jkt.to_owned(),
        }),
        // `groups` has a member of its own; no other chosen claim is one of the token's
        // (`claims::RESERVED_CLAIMS`, `claims::SCOPED_CLAIMS`).
        identity: i
            .identity
            .iter()
            .filter(|(name, _)| *name != "groups")
            .map(|(name, value)| (name.clone(), value.clone()))
            .collect(),
    }
}

/// The stored key of the JWT with this `jti` (`oidc::tokens::stored_key`, in the order JWTs
/// are issued). Hashed with a prefix, so a `jti` (which resource servers may log) presented as
/// an opaque token names no stored token.
pub fn key(jti: &str) -> String {
    tokens::stored_key(jti, tokens::hash(&format!("{TOKEN_TYPE} {jti}")))
}

/// Whether a presented token has the shape of a JWS (three base64url parts): then it is looked
/// up by [`verified`], anything else by its hash.
pub fn looks_like_jwt(token: &str) -> bool {
    let mut parts = token.split('.');
    let shaped = |p: Option<&str>| {
        p.is_some_and(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        })
    };
    shaped(parts.next()) && shaped(parts.next()) && shaped(parts.next()) && parts.next().is_none()
}

/// A presented JWT access token as the store looks it up, if it is one this issuer signed: a
/// known `kid`, a valid signature with that key's algorithm, `typ: at+jwt`, our issuer. Expiry
/// and revocation are the stored token's to say. `None` for anything else, so a token whose
/// claims were altered, or an ID token, names nothing.
pub fn verified(token: &str, jwks: &JwkSet, issuer: &str) -> Option<Presented> {
    let data = keys::verify::<AccessClaims>(token, jwks, issuer, &["iss", "jti"]).ok()?;
    (data.header.typ.as_deref() == Some(TOKEN_TYPE)).then(|| Presented {
        hash: key(&data.claims.jti),
        family_id: None,
        bound_to: super::dpop::binding(&data.claims.jti).map(str::to_owned),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SigningAlg;
    use crate::oidc::keys::Signer;
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;

    const NOW: UnixTime = 1_800_000_000;

    static NO_CLAIMS: std::sync::LazyLock<serde_json::Map<String, serde_json::Value>> =
        std::sync::LazyLock::new(serde_json::Map::new);

    fn issue<'a>(scope: &'a str, groups: &'a [String]) -> Issue<'a> {
        Issue {
            issuer: "https://sso.example",
            client_id: "api-client",
            subject: Some("u1"),
            scope,
            groups,
            identity: &NO_CLAIMS,
            jti: "j1",
            issued_at: NOW,
            expires_at: NOW + 600,
            resources: &[],
        }
    }

    #[test]
    fn the_claims_are_those_of_rfc_9068() {
        let staff = vec!["staff".to_owned()];
        let c = claims(&issue("openid groups", &staff));
        assert_eq!(
            serde_json::to_value(&c).unwrap(),
            serde_json::json!({
                "iss": "https://sso.example", "exp": NOW + 600, "aud": "api-client",
                "sub": "u1", "client_id": "api-client", "iat": NOW, "jti": "j1",
                "scope": "openid groups", "groups": ["staff"],
            })
        );
        // No groups scope, no groups; a client's own token names the client.
        let mut own = issue("admin", &staff);
        own.subject = None;
        let c = claims(&own);
        assert_eq!((c.sub.as_str(), c.groups), ("api-client", None));
    }

    #[test]
    fn a_token_for_apis_is_for_them_and_not_its_client() {
        let one = ["https://api.example/".to_owned()];
        let c = claims(&Issue {
            resources: &one,
            ..issue("openid", &[])
        });
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["aud"], "https://api.example/",
            "one audience is a string"
        );
        assert_eq!(json["client_id"], "api-client");
        let two = ["https://api.example/".to_owned(), "urn:orders".to_owned()];
        let c = claims(&Issue {
            resources: &two,
            ..issue("openid", &[])
        });
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["aud"],
            serde_json::json!(["https://api.example/", "urn:orders"])
        );
        // Read back as a resource server would (and as /userinfo does), the same claims.
        let back: AccessClaims = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn the_claims_a_client_chose_sit_beside_the_tokens_own() {
        let staff = vec!["staff".to_owned()];
        let identity = serde_json::json!({
            "email": "ada@example.com", "department": "research", "groups": ["staff"],
        });
        let identity = identity.as_object().unwrap();
        let c = claims(&Issue {
            identity,
            ..issue("openid email profile groups", &staff)
        });
        let json = serde_json::to_string(&c).unwrap();
        // `groups` once, as its own member: a JSON object with a name twice is not one a
        // resource server can trust to read as this issuer meant.
        assert_eq!(json.matches("\"groups\"").count(), 1, "{json}");
        let value: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(value["email"], "ada@example.com");
        assert_eq!(value["department"], "research");
        assert_eq!(value["groups"], serde_json::json!(["staff"]));
        assert_eq!(value["sub"], "u1");
        // Read back as a resource server would, the same claims.
        let back: AccessClaims = serde_json::from_value(value).unwrap();
        assert_eq!(back, c);
    }

    fn verified_key(token: &str, jwks: &JwkSet, issuer: &str) -> Option<String> {
        verified(token, jwks, issuer).map(|p| p.hash)
    }

    #[test]
    fn a_bound_token_says_so_in_its_claims() {
        let none: Vec<String> = vec![];
        let jti = crate::oidc::dpop::bind("j1".into(), Some("JKT"));
        let bound = Issue {
            jti: &jti,
            ..issue("openid", &none)
        };
        let c = claims(&bound);
        assert_eq!(
            serde_json::to_value(&c).unwrap()["cnf"],
            serde_json::json!({ "jkt": "JKT" })
        );
        let key = keys::generate(SigningAlg::Es256, NOW - 10).unwrap();
        let jwks = keys::jwks(std::slice::from_ref(&key)).unwrap();
        let token = Signer::new(&key)
            .unwrap()
            .sign_typed(TOKEN_TYPE, &c)
            .unwrap();
        let presented = verified(&token, &jwks, "https://sso.example").unwrap();
        assert_eq!(presented.hash, super::key(&jti));
        assert_eq!(presented.bound_to.as_deref(), Some("JKT"));
    }

    #[test]
    fn only_a_token_this_issuer_signed_as_an_access_token_names_a_stored_one() {
        let (keys, jwks) = {
            let k: Vec<_> = [SigningAlg::Rs256, SigningAlg::Es256, SigningAlg::EdDsa]
                .into_iter()
                .map(|a| keys::generate(a, NOW - 10).unwrap())
                .collect();
            let set = keys::jwks(&k).unwrap();
            (k, set)
        };
        let none: Vec<String> = vec![];
        for key in &keys {
            let signer = Signer::new(key).unwrap();
            let token = signer
                .sign_typed(TOKEN_TYPE, &claims(&issue("openid", &none)))
                .unwrap();
            assert!(looks_like_jwt(&token));
            assert_eq!(
                verified_key(&token, &jwks, "https://sso.example"),
                Some(super::key("j1")),
                "{:?}",
                key.alg
            );
            // Another issuer's, an ID token (typ JWT), altered claims: nothing.
            assert_eq!(verified_key(&token, &jwks, "https://other.example"), None);
            let id_token = signer.sign(&claims(&issue("openid", &none))).unwrap();
            assert_eq!(verified_key(&id_token, &jwks, "https://sso.example"), None);
            let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
            let mut forged = claims(&issue("openid", &none));
            forged.sub = "admin".into();
            parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
            assert_eq!(
                verified_key(&parts.join("."), &jwks, "https://sso.example"),
                None
            );
        }
        // Unsigned (alg none) with a real kid: refused.
        let header = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&serde_json::json!({
                "alg": "none", "typ": TOKEN_TYPE, "kid": keys[0].kid,
            }))
            .unwrap(),
        );
        let body =
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims(&issue("openid", &none))).unwrap());
        assert_eq!(
            verified_key(&format!("{header}.{body}."), &jwks, "https://sso.example"),
            None
        );
    }

    #[test]
    fn a_jti_is_not_the_key_of_its_token() {
        assert_ne!(key("j1"), tokens::hash("j1"));
        assert_ne!(key("j1"), key("j2"));
    }

    #[test]
    fn jwt_shapes() {
        assert!(looks_like_jwt("a.b.c"));
        assert!(looks_like_jwt("eyJ-_x.eyJ.sig_-"));
        for not in [
            "", "abc", "a.b", "a.b.c.d", "a..c", "a.b.c=", "a.b c.d", "a.b.c.",
        ] {
            assert!(!looks_like_jwt(not), "{not}");
        }
    }
}
