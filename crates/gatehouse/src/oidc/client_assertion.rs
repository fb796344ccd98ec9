//! Client authentication with a signed JWT, `private_key_jwt` (RFC 7523 §2.2 and §3, RFC 7521
//! §4.2, OpenID Connect Core §9): a client registered with public keys (`Client::jwks`, or
//! published at its `Client::jwks_uri` and fetched by `remote_keys`) proves itself with a
//! short-lived JWT it signed with the private half of one of them, and each assertion is taken
//! once.
//!
//! Decided here: which keys a client may register or publish ([`keys`], [`jwks_uri_problem`]),
//! when published keys are fetched ([`fetch_keys`]), and whether an assertion authenticates a
//! client at a time ([`verify`], its claims judged by [`judge`]). The store keeps the id of
//! each assertion taken until it expires (`Directory::take_once`).

use std::collections::HashSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{
    AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::Deserialize;

use crate::clock::UnixTime;
use crate::model::ClientKeys;

/// The `client_assertion_type` of a JWT (RFC 7523 §2.2).
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest assertion read, in bytes; a longer one is refused before it is decoded.
pub const MAX_ASSERTION: usize = 8 * 1024;
/// How far ahead of now an assertion's `exp` may be, in seconds: its id is kept that long.
pub const MAX_LIFETIME: i64 = 600;
/// The difference between the client's clock and ours that is forgiven, in seconds.
pub const LEEWAY: i64 = 60;
/// The most keys a client registers (enough for a rollover or two).
pub const MAX_KEYS: usize = 8;
/// The longest JWK Set accepted, in bytes of JSON.
pub const MAX_KEYS_JSON: usize = 16 * 1024;
/// The shortest RSA modulus accepted.
pub const MIN_RSA_BITS: usize = 2048;
/// What an assertion may be signed with (`token_endpoint_auth_signing_alg_values_supported`).
pub const ALGORITHMS: [&str; 4] = ["RS256", "PS256", "ES256", "EdDSA"];
/// The longest `jti`, in characters.
pub const MAX_JTI: usize = 256;
/// The members that hold a private or secret key (RFC 7518 §6): a JWK Set holding one is
/// refused, so that nothing secret is stored by mistake.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// The endpoints a client authenticates at, below the issuer: an assertion naming the URL of
/// any of them, or the issuer, is meant for this server (RFC 7523 §3, RFC 9126 §2).
pub const ENDPOINTS: [&str; 5] = [
    "/token",
    "/par",
    "/introspect",
    "/revoke",
    "/device_authorization",
];

/// The audiences that name this server.
pub fn audiences(issuer: &str) -> Vec<String> {
    std::iter::once(issuer.to_owned())
        .chain(ENDPOINTS.iter().map(|p| format!("{issuer}{p}")))
        .collect()
}

/// The algorithms `jwk` may sign with: by its type and curve, narrowed to its `alg` if it
/// names one; none for a key of another kind.
pub(super) fn algorithms_of(jwk: &Jwk) -> &'static [Algorithm] {
    let by_kind: &'static [Algorithm] = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => &[Algorithm::RS256, Algorithm::PS256],
        AlgorithmParameters::EllipticCurve(p) if p.curve == EllipticCurve::P256 => {
            &[Algorithm::ES256]
        }
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => {
            &[Algorithm::EdDSA]
        }
        _ => &[],
    };
    match jwk.common.key_algorithm {
        None => by_kind,
        Some(named) => by_kind
            .iter()
            .find(|a| KeyAlgorithm::from(**a) == named)
            .map_or(&[], std::slice::from_ref),
    }
}

/// Which key of a JWK Set a [`KeysProblem`] is about: its `kid`, or its place (from 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyNamed {
    Kid(String),
    Place(usize),
}

impl std::fmt::Display for KeyNamed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyNamed::Kid(kid) => write!(f, "key {kid:?}"),
            KeyNamed::Place(place) => write!(f, "key {place}"),
        }
    }
}

/// Why a JWK Set cannot be a client's keys ([`keys`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeysProblem {
    #[error("a JWK Set is at most {MAX_KEYS_JSON} bytes")]
    TooLarge,
    /// The parser's own words, in English, say what it found.
    #[error("the keys are not a JWK Set: {0}")]
    NotASet(String),
    #[error("the keys are not a JWK Set: there is no \"keys\" list")]
    NoKeysList,
    #[error("a client registers 1 to {MAX_KEYS} keys")]
    Count,
    #[error(
        "key {place} holds a private or secret part ({member:?}): register the public key only"
    )]
    Private { place: usize, member: &'static str },
    #[error("{0}: a client signs with an RSA, P-256 or Ed25519 key, using one of {algorithms}", algorithms = ALGORITHMS.join(", "))]
    Algorithm(KeyNamed),
    #[error("{0} is not for signing (its \"use\" is not \"sig\")")]
    NotForSigning(KeyNamed),
    #[error("{0}: an RSA key has at least {MIN_RSA_BITS} bits")]
    ShortRsa(KeyNamed),
    /// The key library's own words, in English, say why.
    #[error("{0} is not a usable key: {1}")]
    Unusable(KeyNamed, String),
    #[error("two keys have the kid {0:?}")]
    SameKid(String),
    #[error("{0} has no kid: with several keys, each has one")]
    NoKid(KeyNamed),
}

/// A client's public keys from a JWK Set in JSON, checked: 1 to [`MAX_KEYS`] keys, each an RSA
/// (at least [`MIN_RSA_BITS`]), P-256 or Ed25519 public key for signing, no private part, and
/// with more than one, each with a `kid` of its own.
///
/// # Errors
/// What is wrong, to show the operator who registers them.
pub fn keys(json: &str) -> Result<ClientKeys, KeysProblem> {
    if json.len() > MAX_KEYS_JSON {
        return Err(KeysProblem::TooLarge);
    }
    let not_a_set = |e: serde_json::Error| KeysProblem::NotASet(e.to_string());
    let value: serde_json::Value = serde_json::from_str(json).map_err(not_a_set)?;
    let listed = value
        .get("keys")
        .and_then(|k| k.as_array())
        .ok_or(KeysProblem::NoKeysList)?;
    if listed.is_empty() || listed.len() > MAX_KEYS {
        return Err(KeysProblem::Count);
    }
    for (i, key) in listed.iter().enumerate() {
        if let Some(member) = private_member(key) {
            return Err(KeysProblem::Private {
                place: i + 1,
                member,
            });
        }
    }
    let set: JwkSet = serde_json::from_value(value).map_err(not_a_set)?;
    let mut kids = HashSet::new();
    for (i, jwk) in set.keys.iter().enumerate() {
        let named = || match &jwk.common.key_id {
            Some(kid) => KeyNamed::Kid(kid.clone()),
            None => KeyNamed::Place(i + 1),
        };
        if algorithms_of(jwk).is_empty() {
            return Err(KeysProblem::Algorithm(named()));
        }
        if jwk
            .common
            .public_key_use
            .as_ref()
            .is_some_and(|u| *u != PublicKeyUse::Signature)
        {
            return Err(KeysProblem::NotForSigning(named()));
        }
        if too_short(jwk) {
            return Err(KeysProblem::ShortRsa(named()));
        }
        DecodingKey::from_jwk(jwk).map_err(|e| KeysProblem::Unusable(named(), e.to_string()))?;
        match &jwk.common.key_id {
            Some(kid) if !kids.insert(kid) => {
                return Err(KeysProblem::SameKid(kid.clone()));
            }
            None if set.keys.len() > 1 => {
                return Err(KeysProblem::NoKid(named()));
            }
            _ => {}
        }
    }
    Ok(ClientKeys::checked(set))
}

/// Whether `jwk` is an RSA key of fewer than [`MIN_RSA_BITS`] bits.
pub(super) fn too_short(jwk: &Jwk) -> bool {
    let AlgorithmParameters::RSA(p) = &jwk.algorithm else {
        return false;
    };
    let modulus = URL_SAFE_NO_PAD.decode(&p.n).unwrap_or_default();
    let bits = modulus.iter().position(|b| *b != 0).map_or(0, |first| {
        (modulus.len() - first) * 8 - modulus[first].leading_zeros() as usize
    });
    bits < MIN_RSA_BITS
}

/// Whether a JWK, as JSON, holds a private or secret part (one of [`PRIVATE_MEMBERS`]).
pub(super) fn private_member(jwk: &serde_json::Value) -> Option<&'static str> {
    PRIVATE_MEMBERS
        .iter()
        .copied()
        .find(|m| jwk.get(*m).is_some())
}

/// What is wrong with `uri` as where a client publishes its keys: an https URL (http only on
/// this machine, for development), as `backchannel::uri_problem` checks a URL otherwise. Over
/// plain http elsewhere, whoever is on the path could hand gatehouse keys of their own.
pub fn jwks_uri_problem(uri: &str) -> Option<super::backchannel::UriProblem> {
    if let Some(problem) = super::backchannel::uri_problem(uri) {
        return Some(problem);
    }
    let u = url::Url::parse(uri).ok()?;
    let local = matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    (u.scheme() != "https" && !local).then_some(super::backchannel::UriProblem::NotHttps)
}

/// Why an assertion does not authenticate its client. Until its signature is verified, nothing
/// more is said than that.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssertionError {
    #[error("client authentication failed")]
    Unverified,
    #[error("the client assertion {0}")]
    Refused(&'static str),
}

/// `aud` is one audience or several (RFC 7519 §4.1.3).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

/// The claims of an assertion, as signed; which must be there is for [`judge`] to say.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Claims {
    pub iss: Option<String>,
    pub sub: Option<String>,
    pub aud: Option<Audience>,
    pub exp: Option<i64>,
    pub nbf: Option<i64>,
    pub iat: Option<i64>,
    pub jti: Option<String>,
}

/// A good assertion: its id, to be kept until it can no longer be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    pub jti: String,
    pub kept_until: UnixTime,
}

/// Whether `assertion` authenticates the client `client_id`, whose keys are `keys`, at `now`:
/// signed by one of them (the one its `kid` names, or the only one), with an algorithm that
/// key signs with, never one the header alone chooses, and claims that [`judge`] accepts.
///
/// # Errors
/// `Unverified` for anything before the signature is verified; `Refused` with the claim that
/// is wrong after.
pub fn verify(
    assertion: &str,
    client_id: &str,
    keys: &JwkSet,
    audiences: &[String],
    now: UnixTime,
) -> Result<Accepted, AssertionError> {
    let claims = signed_claims(assertion, keys).ok_or(AssertionError::Unverified)?;
    judge(&claims, client_id, audiences, now)
}

/// The `kid` an assertion's header names, if it is a JWT and names one.
pub fn kid_of(assertion: &str) -> Option<String> {
    if assertion.len() > MAX_ASSERTION {
        return None;
    }
    jsonwebtoken::decode_header(assertion).ok()?.kid
}

/// How long keys fetched from a client's `jwks_uri` are used before they are fetched again.
pub const KEYS_MAX_AGE: i64 = 300;
/// How soon after the last fetch an assertion naming a key not among those fetched may fetch
/// them again: a client that rolled its key over is heard at once, and a stranger naming
/// made-up keys makes at most one fetch in this time.
pub const REFETCH_AFTER: i64 = 30;

/// Whether a client's keys are fetched from its `jwks_uri` before an assertion is verified:
/// never fetched (or tried) yet, fetched [`KEYS_MAX_AGE`] ago or more, or not holding the key
/// the assertion names and fetched [`REFETCH_AFTER`] ago or more. `last_fetch` is when they
/// were last fetched or tried, whether it worked or not, so a client whose keys cannot be
/// fetched is not asked again for every request.
pub fn fetch_keys(last_fetch: Option<UnixTime>, holds_the_key: bool, now: UnixTime) -> bool {
    match last_fetch {
        None => true,
        Some(at) => {
            let age = now.saturating_sub(at);
            age >= KEYS_MAX_AGE || (!holds_the_key && age >= REFETCH_AFTER)
        }
    }
}

/// Whether `keys` hold the key an assertion naming `kid` (or none) would be verified with.
pub fn holds_key(keys: &JwkSet, kid: Option<&str>) -> bool {
    match kid {
        Some(kid) => keys.find(kid).is_some(),
        None => keys.keys.len() == 1,
    }
}

/// The claims of `assertion` if one of `keys` signed it.
fn signed_claims(assertion: &str, keys: &JwkSet) -> Option<Claims> {
    if assertion.len() > MAX_ASSERTION {
        return None;
    }
    signed(assertion, keys)
}

/// The claims of the JWT `jwt` if one of `keys` signed it: the key its `kid` names (or the
/// only one), with an algorithm that key signs with, never one the header alone chooses. No
/// claim is judged here: that is for the caller, with its own clock.
pub(super) fn signed<T: serde::de::DeserializeOwned>(jwt: &str, keys: &JwkSet) -> Option<T> {
    let header = jsonwebtoken::decode_header(jwt).ok()?;
    if !holds_key(keys, header.kid.as_deref()) {
        return None;
    }
    let jwk = match &header.kid {
        Some(kid) => keys.find(kid),
        None => keys.keys.first(),
    }?;
    if !algorithms_of(jwk).contains(&header.alg) {
        return None;
    }
    let key = DecodingKey::from_jwk(jwk).ok()?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    jsonwebtoken::decode::<T>(jwt, &key, &validation)
        .ok()
        .map(|data| data.claims)
}

/// Whether signed `claims` make an assertion of `client_id` for this server at `now` (RFC 7523
/// §3): `iss` and `sub` the client, an `aud` among `audiences`, not expired (with
/// [`LEEWAY`]) and expiring within [`MAX_LIFETIME`], not before its `nbf` or `iat`, and a
/// `jti` of at most [`MAX_JTI`] characters. It is kept until `exp` plus the leeway, after
/// which it is refused as expired.
///
/// # Errors
/// `Refused`, naming the claim.
pub fn judge(
    claims: &Claims,
    client_id: &str,
    audiences: &[String],
    now: UnixTime,
) -> Result<Accepted, AssertionError> {
    use AssertionError::Refused;
    let is_client = |v: &Option<String>| v.as_deref() == Some(client_id);
    if !is_client(&claims.iss) || !is_client(&claims.sub) {
        return Err(Refused("must name the client as its iss and its sub"));
    }
    let meant_for_us = match &claims.aud {
        Some(Audience::One(a)) => audiences.contains(a),
        Some(Audience::Many(all)) => all.iter().any(|a| audiences.contains(a)),
        None => false,
    };
    if !meant_for_us {
        return Err(Refused(
            "is not for this server: its aud must be the issuer or the endpoint's URL",
        ));
    }
    let exp = claims.exp.ok_or(Refused("has no exp"))?;
    if exp.saturating_add(LEEWAY) <= now {
        return Err(Refused("has expired"));
    }
    if exp > now.saturating_add(MAX_LIFETIME) {
        return Err(Refused(
            "lives too long: its exp is at most 10 minutes ahead",
        ));
    }
    let ahead = |t: Option<i64>| t.is_some_and(|t| t > now.saturating_add(LEEWAY));
    if ahead(claims.nbf) || ahead(claims.iat) {
        return Err(Refused(
            "is not valid yet (its nbf or iat is in the future)",
        ));
    }
    let jti = match claims.jti.as_deref() {
        None | Some("") => return Err(Refused("has no jti")),
        Some(j) if j.chars().count() > MAX_JTI => {
            return Err(Refused("has a jti longer than 256 characters"));
        }
        Some(j) => j,
    };
    Ok(Accepted {
        jti: jti.to_owned(),
        kept_until: exp + LEEWAY,
    })
}

#[cfg(test)]
pub(super) mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::model::{Client, SigningAlg, SigningKey};
    use crate::oidc::keys::{self, Signer};

    const NOW: UnixTime = 1_000_000;
    const ISSUER: &str = "https://id.example";

    /// A new key of the kind a client might register.
    pub(in crate::oidc) fn key(alg: SigningAlg) -> SigningKey {
        keys::generate(alg, 0).unwrap()
    }

    /// The JWK Set of `keys`' public halves, in JSON.
    pub(in crate::oidc) fn set_of(keys: &[&SigningKey]) -> String {
        let listed: Vec<serde_json::Value> = keys
            .iter()
            .map(|k| serde_json::from_str(&k.public_jwk).unwrap())
            .collect();
        json!({ "keys": listed }).to_string()
    }

    fn client_with(keys: &[&SigningKey]) -> Client {
        Client {
            jwks: Some(super::keys(&set_of(keys)).unwrap()),
            secret_hash: None,
            ..Client::example("app", false)
        }
    }

    fn claims() -> serde_json::Value {
        json!({
            "iss": "app", "sub": "app", "aud": format!("{ISSUER}/token"),
            "exp": NOW + 60, "iat": NOW, "jti": "one",
        })
    }

    fn signed(key: &SigningKey, claims: &serde_json::Value) -> String {
        Signer::new(key).unwrap().sign(claims).unwrap()
    }

    fn verified(assertion: &str, client: &Client) -> Result<Accepted, AssertionError> {
        let none = JwkSet::default();
        let keys = client.jwks.as_ref().map_or(&none, |k| k.set());
        verify(assertion, &client.client_id, keys, &audiences(ISSUER), NOW)
    }

    #[test]
    fn an_assertion_signed_by_a_registered_key_authenticates() {
        for alg in SigningAlg::ALL {
            let k = key(*alg);
            let accepted = verified(&signed(&k, &claims()), &client_with(&[&k]));
            assert_eq!(
                accepted,
                Ok(Accepted {
                    jti: "one".into(),
                    kept_until: NOW + 60 + LEEWAY
                }),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn what_does_not_verify_says_nothing_more() {
        let (k, other) = (key(SigningAlg::Es256), key(SigningAlg::Es256));
        let client = client_with(&[&k]);
        let good = signed(&k, &claims());
        // Another key under the registered key's kid.
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(k.kid.clone());
        let forged = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_ec_der(&other.private_der),
        )
        .unwrap();
        // A key of the server's, or a shared secret, named by the header's alg: the key's
        // algorithm is what counts.
        let mut hs = Header::new(Algorithm::HS256);
        hs.kid = Some(k.kid.clone());
        let hmac = jsonwebtoken::encode(&hs, &claims(), &EncodingKey::from_secret(b"x")).unwrap();
        let (payload, signature) = {
            let parts: Vec<&str> = good.splitn(3, '.').collect();
            (parts[1].to_owned(), parts[2].to_owned())
        };
        let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#));
        let tampered = {
            let mut c = claims();
            c["sub"] = json!("other");
            let body = URL_SAFE_NO_PAD.encode(c.to_string());
            format!("{}.{body}.{signature}", good.split('.').next().unwrap())
        };
        let unknown_kid = signed(&other, &claims());
        let long = format!("{good}{}", "A".repeat(MAX_ASSERTION));
        let cases = [
            ("another key's signature", forged.as_str(), &client),
            ("HS256 under the key's kid", &hmac, &client),
            ("alg none", &none, &client),
            ("claims changed after signing", &tampered, &client),
            ("a kid it did not register", &unknown_kid, &client),
            ("longer than the limit", &long, &client),
            ("not a JWT", "not.a.jwt", &client),
            ("empty", "", &client),
        ];
        for (what, assertion, client) in cases {
            assert_eq!(
                verified(assertion, client),
                Err(AssertionError::Unverified),
                "{what}"
            );
        }
        let secret_client = Client::example("app", false);
        assert_eq!(
            verified(&good, &secret_client),
            Err(AssertionError::Unverified),
            "a client without keys"
        );
    }

    #[test]
    fn the_key_is_the_one_its_kid_names_or_the_only_one() {
        let (a, b) = (key(SigningAlg::Es256), key(SigningAlg::EdDsa));
        let both = client_with(&[&a, &b]);
        assert!(verified(&signed(&b, &claims()), &both).is_ok());
        // Without a kid: the only key, never a guess among several.
        let mut header = Header::new(Algorithm::ES256);
        header.kid = None;
        let no_kid = jsonwebtoken::encode(
            &header,
            &claims(),
            &EncodingKey::from_ec_der(&a.private_der),
        )
        .unwrap();
        assert!(verified(&no_kid, &client_with(&[&a])).is_ok());
        assert_eq!(verified(&no_kid, &both), Err(AssertionError::Unverified));
        // An RSA key published for RS256 does not verify PS256; one that names no alg does.
        let rsa = key(SigningAlg::Rs256);
        let mut ps = Header::new(Algorithm::PS256);
        ps.kid = Some(rsa.kid.clone());
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&rsa.private_der)
        );
        let rsa_key = EncodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
        let pss = jsonwebtoken::encode(&ps, &claims(), &rsa_key).unwrap();
        assert_eq!(
            verified(&pss, &client_with(&[&rsa])),
            Err(AssertionError::Unverified)
        );
        let mut jwk: serde_json::Value = serde_json::from_str(&rsa.public_jwk).unwrap();
        jwk.as_object_mut().unwrap().remove("alg");
        let any_rsa = Client {
            jwks: Some(super::keys(&json!({ "keys": [jwk] }).to_string()).unwrap()),
            ..client_with(&[&rsa])
        };
        assert!(verified(&pss, &any_rsa).is_ok());
    }

    #[test]
    fn where_a_client_may_publish_its_keys() {
        use crate::oidc::backchannel::UriProblem;
        let cases = [
            ("https://app.example/jwks.json", None),
            ("http://127.0.0.1:8080/jwks", None),
            ("http://localhost/jwks", None),
            ("http://app.example/jwks.json", Some(UriProblem::NotHttps)),
            ("https://app.example/jwks#keys", Some(UriProblem::Fragment)),
            (
                "https://user:pw@app.example/jwks",
                Some(UriProblem::Credentials),
            ),
            ("ftp://app.example/jwks", Some(UriProblem::NotHttp)),
            ("jwks.json", Some(UriProblem::NotAbsolute)),
        ];
        for (uri, expected) in cases {
            assert_eq!(jwks_uri_problem(uri), expected, "{uri}");
        }
    }

    #[test]
    fn when_keys_published_at_a_uri_are_fetched() {
        let cases = [
            ("never fetched", None, true, true),
            ("fetched a moment ago", Some(NOW - 1), true, false),
            (
                "just before they age",
                Some(NOW - KEYS_MAX_AGE + 1),
                true,
                false,
            ),
            ("aged", Some(NOW - KEYS_MAX_AGE), true, true),
            (
                "a key they lack, just fetched",
                Some(NOW - REFETCH_AFTER + 1),
                false,
                false,
            ),
            (
                "a key they lack, a while after",
                Some(NOW - REFETCH_AFTER),
                false,
                true,
            ),
            ("a clock gone back", Some(NOW + 100), false, false),
        ];
        for (what, last, holds, expected) in cases {
            assert_eq!(fetch_keys(last, holds, NOW), expected, "{what}");
        }
        let (a, b) = (key(SigningAlg::Es256), key(SigningAlg::EdDsa));
        let one = super::keys(&set_of(&[&a])).unwrap();
        let two = super::keys(&set_of(&[&a, &b])).unwrap();
        assert!(holds_key(one.set(), Some(&a.kid)));
        assert!(!holds_key(one.set(), Some(&b.kid)));
        assert!(holds_key(one.set(), None), "the only key");
        assert!(!holds_key(two.set(), None), "no guess among several");
        assert_eq!(kid_of(&signed(&b, &claims())), Some(b.kid.clone()));
        assert_eq!(kid_of("not a jwt"), None);
    }

    #[test]
    fn claims_table() {
        let aud = audiences(ISSUER);
        let with = |change: &dyn Fn(&mut serde_json::Value)| {
            let mut c = claims();
            change(&mut c);
            serde_json::from_value::<Claims>(c).unwrap()
        };
        let cases: Vec<(&str, Claims, Result<UnixTime, &str>)> = vec![
            ("good", with(&|_| {}), Ok(NOW + 60 + LEEWAY)),
            (
                "aud the issuer",
                with(&|c| c["aud"] = json!(ISSUER)),
                Ok(NOW + 120),
            ),
            (
                "aud /par",
                with(&|c| c["aud"] = json!(format!("{ISSUER}/par"))),
                Ok(NOW + 120),
            ),
            (
                "aud a list with ours",
                with(&|c| c["aud"] = json!(["https://other", ISSUER])),
                Ok(NOW + 120),
            ),
            (
                "aud another server",
                with(&|c| c["aud"] = json!("https://other/token")),
                Err("aud"),
            ),
            (
                "aud a list without ours",
                with(&|c| c["aud"] = json!(["https://other"])),
                Err("aud"),
            ),
            ("no aud", with(&|c| c["aud"] = json!(null)), Err("aud")),
            (
                "iss another client",
                with(&|c| c["iss"] = json!("other")),
                Err("iss"),
            ),
            (
                "sub another client",
                with(&|c| c["sub"] = json!("other")),
                Err("sub"),
            ),
            ("no sub", with(&|c| c["sub"] = json!(null)), Err("sub")),
            (
                "no exp",
                with(&|c| c["exp"] = json!(null)),
                Err("has no exp"),
            ),
            (
                "expired beyond the leeway",
                with(&|c| c["exp"] = json!(NOW - LEEWAY)),
                Err("expired"),
            ),
            (
                "expired within the leeway",
                with(&|c| c["exp"] = json!(NOW - LEEWAY + 1)),
                Ok(NOW + 1),
            ),
            (
                "exp at the longest",
                with(&|c| c["exp"] = json!(NOW + MAX_LIFETIME)),
                Ok(NOW + MAX_LIFETIME + LEEWAY),
            ),
            (
                "exp beyond the longest",
                with(&|c| c["exp"] = json!(NOW + MAX_LIFETIME + 1)),
                Err("too long"),
            ),
            (
                "nbf ahead",
                with(&|c| c["nbf"] = json!(NOW + LEEWAY + 1)),
                Err("not valid yet"),
            ),
            (
                "nbf within the leeway",
                with(&|c| c["nbf"] = json!(NOW + LEEWAY)),
                Ok(NOW + 120),
            ),
            (
                "iat ahead",
                with(&|c| c["iat"] = json!(NOW + LEEWAY + 1)),
                Err("not valid yet"),
            ),
            (
                "no jti",
                with(&|c| c["jti"] = json!(null)),
                Err("has no jti"),
            ),
            (
                "empty jti",
                with(&|c| c["jti"] = json!("")),
                Err("has no jti"),
            ),
            (
                "jti at the longest",
                with(&|c| c["jti"] = json!("é".repeat(MAX_JTI))),
                Ok(NOW + 120),
            ),
            (
                "jti too long",
                with(&|c| c["jti"] = json!("j".repeat(MAX_JTI + 1))),
                Err("jti longer"),
            ),
        ];
        for (what, claims, expected) in cases {
            let got = judge(&claims, "app", &aud, NOW);
            match (got, expected) {
                (Ok(a), Ok(until)) => assert_eq!(a.kept_until, until, "{what}"),
                (Err(AssertionError::Refused(why)), Err(part)) => {
                    assert!(why.contains(part), "{what}: {why}")
                }
                (got, expected) => panic!("{what}: {got:?}, expected {expected:?}"),
            }
        }
    }

    #[test]
    fn registered_keys_table() {
        let (ec, ed, rsa) = (
            key(SigningAlg::Es256),
            key(SigningAlg::EdDsa),
            key(SigningAlg::Rs256),
        );
        let jwk =
            |k: &SigningKey| serde_json::from_str::<serde_json::Value>(&k.public_jwk).unwrap();
        let with = |k: &SigningKey, change: &dyn Fn(&mut serde_json::Value)| {
            let mut j = jwk(k);
            change(&mut j);
            json!({ "keys": [j] }).to_string()
        };
        let short_rsa = with(&rsa, &|j| {
            let n = URL_SAFE_NO_PAD.decode(j["n"].as_str().unwrap()).unwrap();
            j["n"] = json!(URL_SAFE_NO_PAD.encode(&n[..128]));
        });
        let too_many = json!({ "keys": vec![jwk(&ec); MAX_KEYS + 1] }).to_string();
        let cases: Vec<(&str, String, Result<usize, &str>)> = vec![
            ("one P-256 key", set_of(&[&ec]), Ok(1)),
            ("three kinds", set_of(&[&ec, &ed, &rsa]), Ok(3)),
            (
                "a key without kid, alone",
                json!({"keys": [without_kid(jwk(&ec))]}).to_string(),
                Ok(1),
            ),
            (
                "no alg",
                with(&rsa, &|j| {
                    j.as_object_mut().unwrap().remove("alg");
                }),
                Ok(1),
            ),
            ("not JSON", "{".into(), Err("not a JWK Set")),
            ("no keys list", "{}".into(), Err("no \"keys\" list")),
            ("an empty list", r#"{"keys":[]}"#.into(), Err("1 to 8 keys")),
            ("too many", too_many, Err("1 to 8 keys")),
            (
                "a private EC key",
                with(&ec, &|j| j["d"] = json!("AAAA")),
                Err("private"),
            ),
            (
                "an RSA prime",
                with(&rsa, &|j| j["p"] = json!("AAAA")),
                Err("private"),
            ),
            (
                "a shared secret",
                json!({"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}).to_string(),
                Err("private"),
            ),
            (
                "P-384",
                with(&ec, &|j| j["crv"] = json!("P-384")),
                Err("RSA, P-256 or Ed25519"),
            ),
            (
                "alg of another kind",
                with(&ec, &|j| j["alg"] = json!("RS256")),
                Err("RSA, P-256 or Ed25519"),
            ),
            (
                "HS256",
                with(&rsa, &|j| j["alg"] = json!("HS256")),
                Err("RSA, P-256 or Ed25519"),
            ),
            (
                "for encryption",
                with(&ec, &|j| j["use"] = json!("enc")),
                Err("not for signing"),
            ),
            ("RSA-1024", short_rsa, Err("2048 bits")),
            (
                "not a point",
                with(&ec, &|j| j["x"] = json!("!!")),
                Err("not a usable key"),
            ),
            (
                "two keys, one kid",
                json!({"keys": [jwk(&ec), with_kid(jwk(&ed), &ec.kid)]}).to_string(),
                Err("two keys have the kid"),
            ),
            (
                "two keys, one without kid",
                json!({"keys": [jwk(&ec), without_kid(jwk(&ed))]}).to_string(),
                Err("has no kid"),
            ),
            (
                "too long",
                format!("{}{}", set_of(&[&ec]), " ".repeat(MAX_KEYS_JSON)),
                Err("at most"),
            ),
        ];
        for (what, json, expected) in cases {
            match (keys(&json), expected) {
                (Ok(k), Ok(n)) => {
                    assert_eq!(k.set().keys.len(), n, "{what}");
                    assert_eq!(keys(&k.to_json()), Ok(k), "{what}: stored and read again");
                }
                (Err(why), Err(part)) => {
                    assert!(why.to_string().contains(part), "{what}: {why}");
                }
                (got, expected) => panic!("{what}: {got:?}, expected {expected:?}"),
            }
        }
    }

    fn with_kid(mut jwk: serde_json::Value, kid: &str) -> serde_json::Value {
        jwk["kid"] = json!(kid);
        jwk
    }

    fn without_kid(mut jwk: serde_json::Value) -> serde_json::Value {
        jwk.as_object_mut().unwrap().remove("kid");
        jwk
    }
}
