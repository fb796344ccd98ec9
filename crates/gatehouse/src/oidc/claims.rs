//! ID token claims (OpenID Connect Core §2) and the claims `/userinfo` returns (§5.1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use super::scope;
use crate::model::{SigningAlg, User};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdTokenClaims {
    pub iss: String,
    pub sub: String,
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub auth_time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_hash: Option<String>,
    /// The sign-in session (`oidc::backchannel::sid`), which a logout token names when it ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// The strongest authentication policy the sign-in met (`model::AuthPolicy`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acr: Option<&'static str>,
    /// How the person signed in (RFC 8176).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub amr: Vec<&'static str>,
    /// What the granted scopes release ([`scoped`]): in the ID token too, as Keycloak and
    /// Pocket ID do, so an application that reads only the ID token (most do) sees the name,
    /// the email address and the groups it asked for.
    #[serde(flatten)]
    pub scoped: serde_json::Map<String, serde_json::Value>,
}

/// OpenID Connect Core §3.1.3.6: the base64url of the left half of the hash of the access
/// token, with the hash of the ID token's algorithm: SHA-256 for RS256 and ES256, SHA-512 for
/// EdDSA on Ed25519 (the hash Ed25519 uses, as OpenID Connect's errata and the client
/// libraries read it).
pub fn at_hash(access_token: &str, alg: SigningAlg) -> String {
    let token = access_token.as_bytes();
    match alg {
        SigningAlg::Rs256 | SigningAlg::Es256 => {
            URL_SAFE_NO_PAD.encode(&Sha256::digest(token)[..16])
        }
        SigningAlg::EdDsa => URL_SAFE_NO_PAD.encode(&Sha512::digest(token)[..32]),
    }
}

/// The claims the `granted` scopes release about `user` (OpenID Connect Core §5.4):
/// `profile` gives `preferred_username`, `updated_at`, and those of `name`, `given_name`,
/// `family_name`, `locale` and `picture` the user has; `email` gives `email` and
/// `email_verified`; `groups` gives `groups`, the names of the user's `groups` (always an
/// array, empty when they are in none).
pub fn scoped(
    user: &User,
    groups: &[String],
    granted: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let mut claims = serde_json::Map::new();
    let mut put = |claim: &str, value: Option<serde_json::Value>| {
        if let Some(v) = value {
            claims.insert(claim.into(), v);
        }
    };
    if scope::contains(granted, "profile") {
        let p = &user.profile;
        put("preferred_username", Some(user.username.clone().into()));
        put("name", user.name.clone().map(Into::into));
        put("given_name", p.given_name.clone().map(Into::into));
        put("family_name", p.family_name.clone().map(Into::into));
        put("locale", p.locale.clone().map(Into::into));
        put("picture", p.picture.clone().map(Into::into));
        // §5.1: seconds since the epoch when the information was last updated.
        put(
            "updated_at",
            Some(p.updated_at.unwrap_or(user.created_at).into()),
        );
    }
    if scope::contains(granted, "email") {
        put("email", Some(user.email.clone().into()));
        // Set by an administrator (the CLI or the admin API); false until then.
        put("email_verified", Some(user.email_verified.into()));
    }
    if scope::contains(granted, "groups") {
        claims.insert("groups".into(), groups.into());
    }
    claims
}

/// Every claim a scope can release, by the names a client may choose for its ID token.
pub const SCOPED_CLAIMS: &[&str] = &[
    "preferred_username",
    "name",
    "given_name",
    "family_name",
    "locale",
    "picture",
    "updated_at",
    "email",
    "email_verified",
    "groups",
];

/// The scoped claims that go into a client's ID token: all of them (`chosen` is `None`, the
/// default, as Keycloak and Pocket ID do), or only those the client chose; `/userinfo` has
/// them all either way.
pub fn for_id_token(
    mut scoped: serde_json::Map<String, serde_json::Value>,
    chosen: Option<&[String]>,
) -> serde_json::Map<String, serde_json::Value> {
    if let Some(chosen) = chosen {
        scoped.retain(|claim, _| chosen.iter().any(|c| c == claim));
    }
    scoped
}

/// Whether the `granted` scopes release the user's groups: only then are they looked up.
pub fn wants_groups(granted: &str) -> bool {
    scope::contains(granted, "groups")
}

/// The claims of `/userinfo` for a user and the granted scope: `sub` always, and what the
/// scopes release ([`scoped`]).
pub fn userinfo(user: &User, groups: &[String], granted: &str) -> serde_json::Value {
    let mut claims = scoped(user, groups, granted);
    claims.insert("sub".into(), user.id.clone().into());
    serde_json::Value::Object(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user() -> User {
        User {
            id: "u1".into(),
            username: "ada".into(),
            email: "ada@example.com".into(),
            name: Some("Ada Lovelace".into()),
            password_hash: "x".into(),
            disabled: false,
            created_at: 7,
            email_verified: true,
            profile: crate::model::Profile {
                given_name: Some("Ada".into()),
                locale: Some("en-GB".into()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn at_hash_of_the_specs_example() {
        // OpenID Connect Core, Appendix A.3: the RS256 example's access token and at_hash;
        // ES256 hashes alike, EdDSA takes half of SHA-512 (computed apart, with Python's
        // hashlib).
        let token = "jHkWEdUXMU1BwAsC4vtUsZwnNvTIxEl0z9K3vx5KF0Y";
        let cases = [
            (SigningAlg::Rs256, "77QmUPtjPfzWtF2AnpK9RQ"),
            (SigningAlg::Es256, "77QmUPtjPfzWtF2AnpK9RQ"),
            (
                SigningAlg::EdDsa,
                "q7nS86GgvvFaZkzALLWqJYaJIKw2wCDAVfCAsm5CrBM",
            ),
        ];
        for (alg, expected) in cases {
            assert_eq!(at_hash(token, alg), expected, "{alg}");
        }
    }

    #[test]
    fn userinfo_claims_follow_the_granted_scopes() {
        let profile: &[&str] = &[
            "given_name",
            "locale",
            "name",
            "preferred_username",
            "sub",
            "updated_at",
        ];
        let cases: [(&str, &[&str]); 5] = [
            ("openid", &["sub"]),
            ("openid groups", &["groups", "sub"]),
            ("openid email", &["email", "email_verified", "sub"]),
            ("openid profile", profile),
            (
                "openid profile email groups",
                &[
                    "email",
                    "email_verified",
                    "given_name",
                    "groups",
                    "locale",
                    "name",
                    "preferred_username",
                    "sub",
                    "updated_at",
                ],
            ),
        ];
        for (granted, expected) in cases {
            let claims = userinfo(&user(), &["staff".into()], granted);
            let mut keys: Vec<&str> = claims
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, expected, "{granted}");
        }
        let all = userinfo(&user(), &["staff".into()], "openid profile email groups");
        assert_eq!(all["email_verified"], true, "as the administrator set it");
        assert_eq!(
            all["updated_at"], 7,
            "never updated: when the account was made"
        );
        assert_eq!(all["groups"], serde_json::json!(["staff"]));
    }

    #[test]
    fn a_client_may_take_fewer_claims_in_its_id_token() {
        let all = scoped(&user(), &["staff".into()], "openid profile email groups");
        assert_eq!(
            for_id_token(all.clone(), None),
            all,
            "by default, everything granted"
        );
        let chosen = [
            "email".to_owned(),
            "groups".to_owned(),
            "picture".to_owned(),
        ];
        let some = for_id_token(all.clone(), Some(&chosen));
        let keys: Vec<&str> = some.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            ["email", "groups"],
            "what was chosen and granted (no picture set)"
        );
        assert!(
            for_id_token(all, Some(&[])).is_empty(),
            "none: all at /userinfo only"
        );
    }

    #[test]
    fn the_id_token_omits_absent_optional_claims() {
        let c = IdTokenClaims {
            iss: "i".into(),
            sub: "s".into(),
            aud: "a".into(),
            exp: 2,
            iat: 1,
            auth_time: 1,
            nonce: None,
            at_hash: None,
            sid: None,
            acr: None,
            amr: vec![],
            scoped: scoped(&user(), &[], "openid groups"),
        };
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(
            json["groups"],
            serde_json::json!([]),
            "no groups is an empty list"
        );
        assert!(
            json.get("nonce").is_none()
                && json.get("at_hash").is_none()
                && json.get("sid").is_none()
        );
    }
}
