//! ID token claims (OpenID Connect Core §2) and the claims `/userinfo` returns (§5.1).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use sha2::{Digest, Sha256, Sha512};

use super::scope;
use crate::model::{ClaimsChange, ClaimsToRelease, CustomClaims, SigningAlg, User};

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
/// `family_name`, `locale` and `picture` the user has, and the `custom` claims an
/// administrator gave them ([`custom`]); `email` gives `email` and `email_verified`; `groups`
/// gives `groups`, the names of the user's `groups` (always an array, empty when they are in
/// none).
pub fn scoped(
    user: &User,
    groups: &[String],
    custom: &CustomClaims,
    granted: &str,
) -> serde_json::Map<String, serde_json::Value> {
    let mut claims = serde_json::Map::new();
    if scope::contains(granted, "profile") {
        // First: a name of gatehouse's own is never a custom claim's
        // ([`custom_claims_problem`]), and would win if one were.
        claims.extend(custom.iter().map(|(k, v)| (k.clone(), v.clone())));
    }
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
    scoped: serde_json::Map<String, serde_json::Value>,
    chosen: Option<&[String]>,
) -> serde_json::Map<String, serde_json::Value> {
    match chosen {
        Some(chosen) => only(scoped, chosen),
        None => scoped,
    }
}

/// The scoped claims a client's access tokens carry about the user: only those it chose
/// (`Client::access_token_claims`; none by default, as an access token goes to resource
/// servers, which RFC 9068 §6 asks to tell no more than they need). In a JWT access token they
/// sit beside its own claims (RFC 9068 §2.2.3); introspection's answer has them too (RFC 7662
/// §2.2).
pub fn for_access_token(
    scoped: serde_json::Map<String, serde_json::Value>,
    chosen: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    only(scoped, chosen)
}

fn only(
    mut scoped: serde_json::Map<String, serde_json::Value>,
    chosen: &[String],
) -> serde_json::Map<String, serde_json::Value> {
    scoped.retain(|claim, _| chosen.iter().any(|c| c == claim));
    scoped
}

/// Whether a client's `chosen` claims name a custom claim: only then are custom claims looked
/// up for its access tokens.
pub fn chooses_custom(chosen: &[String]) -> bool {
    chosen
        .iter()
        .any(|claim| !SCOPED_CLAIMS.contains(&claim.as_str()))
}

/// Whether the `granted` scopes may release a claim of the client's `chosen` ones
/// ([`scoped`]): only then are the user's claims looked up for an access token.
pub fn access_token_wants_claims(chosen: &[String], granted: &str) -> bool {
    chosen.iter().any(|claim| releases(granted, claim))
}

/// Whether the `granted` scopes release `claim` (a scoped claim's name, or a custom claim's).
pub fn releases(granted: &str, claim: &str) -> bool {
    let scope = match claim {
        "email" | "email_verified" => "email",
        "groups" => "groups",
        // The other profile claims, and custom claims.
        _ => "profile",
    };
    scope::contains(granted, scope)
}

/// Whether the `granted` scopes release the user's groups: only then are they looked up.
pub fn wants_groups(granted: &str) -> bool {
    scope::contains(granted, "groups")
}

/// Whether the `granted` scopes release custom claims: only then are they looked up.
pub fn wants_custom(granted: &str) -> bool {
    scope::contains(granted, "profile")
}

/// The claims of `/userinfo` for a user and the granted scope: `sub` always (the user's as
/// the token's client knows them, `oidc::subject`), and what the scopes release ([`scoped`]).
pub fn userinfo(
    sub: &str,
    user: &User,
    groups: &[String],
    custom: &CustomClaims,
    granted: &str,
) -> serde_json::Value {
    let mut claims = scoped(user, groups, custom, granted);
    claims.insert("sub".into(), sub.into());
    serde_json::Value::Object(claims)
}

/// The most custom claims a user or a group carries.
pub const MAX_CUSTOM_CLAIMS: usize = 32;
/// The longest custom claim name.
pub const MAX_CLAIM_NAME: usize = 64;
/// The most bytes a custom claim's value takes as JSON.
pub const MAX_CLAIM_VALUE: usize = 1024;
/// The most claims a client chooses for its ID tokens or its access tokens: every scoped claim
/// and a user's custom claims fit, with room for their groups'.
pub const MAX_CHOSEN_CLAIMS: usize = 64;

/// Names a custom claim cannot take: those of a token itself (RFC 7519 §4.1, OpenID Connect
/// Core §2, RFC 9068, RFC 9449, RFC 7662), those the scopes release ([`SCOPED_CLAIMS`]) and
/// the other standard claims of OpenID Connect Core §5.1, which mean what the standard says.
pub const RESERVED_CLAIMS: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "auth_time",
    "nonce",
    "acr",
    "amr",
    "azp",
    "at_hash",
    "c_hash",
    "sid",
    "cnf",
    "scope",
    "client_id",
    "token_type",
    "active",
    "username",
    "typ",
    "preferred_username",
    "name",
    "given_name",
    "family_name",
    "middle_name",
    "nickname",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "groups",
];

/// Why a name cannot name a custom claim ([`custom_claim_name_problem`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClaimNameProblem {
    /// With the name's first [`MAX_CLAIM_NAME`] characters.
    #[error(
        "a claim name is 1 to {MAX_CLAIM_NAME} ASCII letters, digits, '_', '-', '.' or ':', \
         starting with a letter: not {0:?}"
    )]
    Malformed(String),
    #[error("{0:?} is a claim gatehouse sets itself or a standard claim: choose another name")]
    Reserved(String),
}

/// Why claims cannot be a user's or a group's custom claims ([`custom_claims_problem`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CustomClaimsProblem {
    #[error("at most {MAX_CUSTOM_CLAIMS} custom claims")]
    TooMany,
    #[error(transparent)]
    Name(#[from] ClaimNameProblem),
    #[error("claim {0:?} has no value: leave it out to remove it")]
    NoValue(String),
    #[error("claim {0:?} takes more than {MAX_CLAIM_VALUE} bytes as JSON")]
    TooLarge(String),
}

/// Which of a client's lists of chosen claims a [`ChosenClaimsProblem`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChosenFor {
    IdToken,
    AccessToken,
}

impl std::fmt::Display for ChosenFor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            ChosenFor::IdToken => "ID token",
            ChosenFor::AccessToken => "access token",
        })
    }
}

/// Why a client cannot choose claims for its tokens ([`chosen_claims_problem`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChosenClaimsProblem {
    #[error("at most {MAX_CHOSEN_CLAIMS} {0} claims, not {1}")]
    TooMany(ChosenFor, usize),
    #[error(
        "{0} claim {1:?}: not one the scopes release ({scoped}), nor a custom claim's name: {2}",
        scoped = SCOPED_CLAIMS.join(", ")
    )]
    NotReleasable(ChosenFor, String, ClaimNameProblem),
}

/// What is wrong with `claims` as a user's or a group's custom claims, if anything: at most
/// [`MAX_CUSTOM_CLAIMS`]; each name 1 to [`MAX_CLAIM_NAME`] characters of ASCII letters,
/// digits, `_`, `-`, `.` and `:`, starting with a letter, and not one of
/// [`RESERVED_CLAIMS`]; each value not `null`, at most [`MAX_CLAIM_VALUE`] bytes as JSON.
pub fn custom_claims_problem(claims: &CustomClaims) -> Option<CustomClaimsProblem> {
    if claims.len() > MAX_CUSTOM_CLAIMS {
        return Some(CustomClaimsProblem::TooMany);
    }
    for (name, value) in claims {
        if let Some(problem) = custom_claim_name_problem(name) {
            return Some(problem.into());
        }
        if value.is_null() {
            return Some(CustomClaimsProblem::NoValue(name.clone()));
        }
        if value.to_string().len() > MAX_CLAIM_VALUE {
            return Some(CustomClaimsProblem::TooLarge(name.clone()));
        }
    }
    None
}

/// `current` custom claims after `change`.
///
/// # Errors
/// What is wrong with them then ([`custom_claims_problem`]).
pub fn changed(
    mut current: CustomClaims,
    change: &ClaimsChange,
) -> Result<CustomClaims, CustomClaimsProblem> {
    let claims = match change {
        ClaimsChange::Replace(claims) => claims.clone(),
        ClaimsChange::Patch { set, unset } => {
            for name in unset {
                current.remove(name);
            }
            current.extend(set.iter().map(|(k, v)| (k.clone(), v.clone())));
            current
        }
    };
    match custom_claims_problem(&claims) {
        Some(problem) => Err(problem),
        None => Ok(claims),
    }
}

/// What is wrong with `name` as a custom claim's name, if anything: 1 to [`MAX_CLAIM_NAME`]
/// characters of ASCII letters, digits, `_`, `-`, `.` and `:`, starting with a letter, and not
/// one of [`RESERVED_CLAIMS`].
pub fn custom_claim_name_problem(name: &str) -> Option<ClaimNameProblem> {
    let well_formed = name.len() <= MAX_CLAIM_NAME
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.' | ':'));
    if !well_formed {
        return Some(ClaimNameProblem::Malformed(
            name.chars().take(MAX_CLAIM_NAME).collect(),
        ));
    }
    if RESERVED_CLAIMS.contains(&name) {
        return Some(ClaimNameProblem::Reserved(name.to_owned()));
    }
    None
}

/// What is wrong with the claims a client chose for its ID tokens or its access tokens, if
/// anything: more than [`MAX_CHOSEN_CLAIMS`], or a name [`chosen_claim_problem`] refuses.
pub fn chosen_claims_problem(
    chosen_for: ChosenFor,
    chosen: &[String],
) -> Option<ChosenClaimsProblem> {
    if chosen.len() > MAX_CHOSEN_CLAIMS {
        return Some(ChosenClaimsProblem::TooMany(chosen_for, chosen.len()));
    }
    chosen
        .iter()
        .find_map(|name| chosen_claim_problem(chosen_for, name))
}

/// What is wrong with `name` as a claim a client chooses for its ID tokens
/// (`Client::id_token_claims`) or its access tokens (`Client::access_token_claims`), if
/// anything: one its scopes release ([`SCOPED_CLAIMS`]) or a custom claim's
/// ([`custom_claim_name_problem`]).
pub fn chosen_claim_problem(chosen_for: ChosenFor, name: &str) -> Option<ChosenClaimsProblem> {
    if SCOPED_CLAIMS.contains(&name) {
        return None;
    }
    custom_claim_name_problem(name)
        .map(|problem| ChosenClaimsProblem::NotReleasable(chosen_for, name.to_owned(), problem))
}

/// The custom claims released for a user: their own, then those of their groups a claim of
/// their own or of a group before does not name, the groups in the order of their names. So a
/// user's own value wins over their groups', and between two groups the one whose name comes
/// first.
pub fn custom(given: &ClaimsToRelease) -> CustomClaims {
    let mut released = given.own.clone();
    for (_, claims) in &given.groups {
        for (name, value) in claims {
            released
                .entry(name.clone())
                .or_insert_with(|| value.clone());
        }
    }
    released
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
            password_hash: Some("x".into()),
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
            let claims = userinfo(
                "s",
                &user(),
                &["staff".into()],
                &CustomClaims::new(),
                granted,
            );
            let mut keys: Vec<&str> = claims
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, expected, "{granted}");
        }
        let all = userinfo(
            "s",
            &user(),
            &["staff".into()],
            &CustomClaims::new(),
            "openid profile email groups",
        );
        assert_eq!(all["email_verified"], true, "as the administrator set it");
        assert_eq!(
            all["updated_at"], 7,
            "never updated: when the account was made"
        );
        assert_eq!(all["groups"], serde_json::json!(["staff"]));
    }

    #[test]
    fn a_client_may_take_fewer_claims_in_its_id_token() {
        let all = scoped(
            &user(),
            &["staff".into()],
            &CustomClaims::new(),
            "openid profile email groups",
        );
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
            scoped: scoped(&user(), &[], &CustomClaims::new(), "openid groups"),
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

    fn claims(pairs: &[(&str, serde_json::Value)]) -> CustomClaims {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn custom_claims_are_named_plainly_and_kept_small() {
        use serde_json::json;
        let long_name = "a".repeat(MAX_CLAIM_NAME + 1);
        let long_value = json!("x".repeat(MAX_CLAIM_VALUE));
        let too_many: Vec<(String, serde_json::Value)> = (0..=MAX_CUSTOM_CLAIMS)
            .map(|i| (format!("c{i}"), json!(i)))
            .collect();
        let cases: Vec<(CustomClaims, Option<&str>)> = vec![
            (claims(&[]), None),
            (
                claims(&[
                    ("department", json!("ops")),
                    ("roles", json!(["editor"])),
                    ("level", json!(3)),
                    ("urn:example:team", json!({"id": 7})),
                    ("on-call", json!(true)),
                ]),
                None,
            ),
            (
                claims(&[("email", json!("x@example.com"))]),
                Some("standard claim"),
            ),
            (
                claims(&[("groups", json!(["admins"]))]),
                Some("standard claim"),
            ),
            (
                claims(&[("sub", json!("someone-else"))]),
                Some("standard claim"),
            ),
            (claims(&[("cnf", json!({}))]), Some("standard claim")),
            (claims(&[("1st", json!(1))]), Some("starting with a letter")),
            (claims(&[("", json!(1))]), Some("starting with a letter")),
            (
                claims(&[("with space", json!(1))]),
                Some("starting with a letter"),
            ),
            (
                claims(&[("naïve", json!(1))]),
                Some("starting with a letter"),
            ),
            (claims(&[(long_name.as_str(), json!(1))]), Some("1 to 64")),
            (claims(&[("gone", json!(null))]), Some("no value")),
            (claims(&[("big", long_value)]), Some("more than 1024 bytes")),
            (too_many.into_iter().collect(), Some("at most 32")),
        ];
        for (given, expected) in cases {
            let problem = custom_claims_problem(&given);
            match expected {
                None => assert_eq!(problem, None, "{given:?}"),
                Some(part) => assert!(
                    problem.is_some_and(|p| p.to_string().contains(part)),
                    "{given:?}: {part:?}"
                ),
            }
        }
    }

    #[test]
    fn an_access_token_carries_only_the_claims_its_client_chose() {
        let custom: CustomClaims = [("department".to_owned(), serde_json::json!("research"))]
            .into_iter()
            .collect();
        let granted = "openid profile email groups";
        let all = scoped(&user(), &["staff".into()], &custom, granted);
        assert!(
            for_access_token(all.clone(), &[]).is_empty(),
            "by default, none"
        );
        let chosen = ["department".to_owned(), "email".to_owned()];
        let some = for_access_token(all, &chosen);
        let keys: Vec<&str> = some.keys().map(String::as_str).collect();
        assert_eq!(keys, ["department", "email"]);
        // Not granted, not released: the client's choice does not widen what was consented to.
        let narrow = scoped(&user(), &[], &custom, "openid email");
        let keys: Vec<String> = for_access_token(narrow, &chosen).keys().cloned().collect();
        assert_eq!(keys, ["email"]);
    }

    #[test]
    fn the_users_claims_are_read_for_an_access_token_only_when_they_can_be_released() {
        let list = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>();
        for (chosen, granted, wanted) in [
            (list(&[]), "openid profile email groups", false),
            (list(&["email"]), "openid profile", false),
            (list(&["email"]), "openid email", true),
            (list(&["email_verified"]), "openid email", true),
            (list(&["groups"]), "openid profile", false),
            (list(&["groups"]), "openid groups", true),
            (list(&["name"]), "openid email groups", false),
            (list(&["name"]), "openid profile", true),
            (list(&["department"]), "openid email", false),
            (list(&["department"]), "openid profile", true),
            (list(&["email", "department"]), "openid email", true),
        ] {
            assert_eq!(
                access_token_wants_claims(&chosen, granted),
                wanted,
                "{chosen:?} with {granted:?}"
            );
        }
        assert!(!chooses_custom(&list(&["name", "email", "groups"])));
        assert!(chooses_custom(&list(&["name", "department"])));
    }

    #[test]
    fn a_client_chooses_a_bounded_list_of_claims() {
        let names = |n: usize| (0..n).map(|i| format!("c{i}")).collect::<Vec<_>>();
        let access = ChosenFor::AccessToken;
        assert_eq!(chosen_claims_problem(access, &names(0)), None);
        assert_eq!(
            chosen_claims_problem(access, &names(MAX_CHOSEN_CLAIMS)),
            None
        );
        assert_eq!(
            chosen_claims_problem(access, &names(MAX_CHOSEN_CLAIMS + 1)).map(|p| p.to_string()),
            Some("at most 64 access token claims, not 65".to_owned())
        );
        let mut bad = names(3);
        bad.push("jti".into());
        assert!(
            chosen_claims_problem(ChosenFor::IdToken, &bad)
                .unwrap()
                .to_string()
                .starts_with("ID token claim \"jti\"")
        );
    }

    #[test]
    fn a_client_chooses_scoped_or_custom_claims_for_its_id_tokens() {
        for (name, acceptable) in [
            ("groups", true),
            ("email", true),
            ("department", true),
            ("urn:example:role", true),
            ("sub", false),
            ("cnf", false),
            ("password hash", false),
            ("", false),
        ] {
            assert_eq!(
                chosen_claim_problem(ChosenFor::IdToken, name).is_none(),
                acceptable,
                "{name:?}"
            );
        }
    }

    #[test]
    fn a_change_replaces_or_patches_and_is_judged_as_a_whole() {
        use serde_json::json;
        let current = claims(&[("a", json!(1)), ("b", json!(2))]);
        let replaced = changed(
            current.clone(),
            &ClaimsChange::Replace(claims(&[("c", json!(3))])),
        );
        assert_eq!(replaced, Ok(claims(&[("c", json!(3))])));
        let patched = changed(
            current.clone(),
            &ClaimsChange::Patch {
                set: claims(&[("b", json!(20)), ("d", json!(4))]),
                unset: vec!["a".into(), "never-there".into()],
            },
        );
        assert_eq!(patched, Ok(claims(&[("b", json!(20)), ("d", json!(4))])));
        // A patch that would make 33 claims is refused, however few it sets itself.
        let full: CustomClaims = (0..MAX_CUSTOM_CLAIMS)
            .map(|i| (format!("c{i}"), json!(i)))
            .collect();
        let one_more = ClaimsChange::Patch {
            set: claims(&[("extra", json!(1))]),
            unset: vec![],
        };
        assert!(changed(full, &one_more).is_err());
    }

    #[test]
    fn a_users_own_claims_win_over_their_groups_and_the_first_group_over_the_next() {
        use serde_json::json;
        let given = ClaimsToRelease {
            own: claims(&[("role", json!("owner"))]),
            groups: vec![
                (
                    "admins".into(),
                    claims(&[("role", json!("admin")), ("tier", json!("gold"))]),
                ),
                (
                    "staff".into(),
                    claims(&[("tier", json!("silver")), ("site", json!("lon"))]),
                ),
            ],
        };
        assert_eq!(
            custom(&given),
            claims(&[
                ("role", json!("owner")),
                ("site", json!("lon")),
                ("tier", json!("gold")),
            ])
        );
    }

    #[test]
    fn custom_claims_are_released_with_the_profile_scope_only() {
        use serde_json::json;
        let custom = claims(&[("department", json!("ops"))]);
        for (granted, released) in [
            ("openid", false),
            ("openid email groups", false),
            ("openid profile", true),
        ] {
            let claims = userinfo("s", &user(), &[], &custom, granted);
            assert_eq!(
                claims.get("department").is_some(),
                released,
                "{granted}: {claims}"
            );
        }
    }
}
