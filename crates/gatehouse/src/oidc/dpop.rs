//! DPoP, demonstrating proof of possession (RFC 9449): a client sends, with a request, a JWT
//! it signed with a key of its own whose public half is in the JWT's header (a *proof*), and
//! the tokens it gets are bound to that key, so that a token that leaks is of no use without
//! the private key.
//!
//! Decided here: whether a proof is good for a request ([`verify`]), whether a client's token
//! request needs one ([`demanded`]), which tokens a token request binds ([`refresh_binding`]),
//! whether a refresh token may be used with a request's proof ([`refresh_with`]), which key a
//! pushed request binds its code to ([`pushed_key`]; a code bound to a key is redeemed only
//! with a proof of it, `grant::authorization_code`), and whether a resource takes an access
//! token as it was presented ([`may_use`]).
//!
//! **A bound token carries its binding.** The key's thumbprint (RFC 7638, SHA-256) follows the
//! token's random part after a `~` ([`bind`], [`binding`]): an opaque access token is
//! `RANDOM~JKT`, a refresh token `FAMILY.RANDOM~JKT.MAC` (`oidc::family_token`), and a JWT
//! access token's `jti` is `RANDOM~JKT`, its `cnf.jkt` the thumbprint (RFC 9449 §6.1). The store
//! keeps the hash of the whole token (or of the `jti`), so a binding changed by anyone yields a
//! token nobody issued: nothing is stored for a binding, and a token of an earlier release is
//! simply not bound. Each proof's `jti` is taken once (`Directory::take_once`, under
//! [`jti_key`]) until it is too old to be accepted anyway.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, ThumbprintHash};
use jsonwebtoken::{DecodingKey, Validation};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use super::client_assertion::{algorithms_of, private_member, too_short};
use super::tokens;
use crate::clock::UnixTime;

pub mod nonce;

/// The request header a proof travels in (RFC 9449 §4.1).
pub const HEADER: &str = "DPoP";
/// The `Authorization` scheme of a bound access token (§7.1), and its `token_type` (§5).
pub const SCHEME: &str = "DPoP";
/// The `typ` of a proof's header (§4.2).
pub const PROOF_TYPE: &str = "dpop+jwt";
/// The longest proof read, in bytes; a longer one is refused before it is decoded.
pub const MAX_PROOF: usize = 8 * 1024;
/// How long after its `iat` a proof is accepted, in seconds; its `jti` is kept that long.
pub const MAX_AGE: i64 = 300;
/// How far ahead of our clock a proof's `iat` may be, in seconds.
pub const LEEWAY: i64 = 60;
/// What a proof may be signed with (`dpop_signing_alg_values_supported`): those a client's
/// assertions may be.
pub const ALGORITHMS: [&str; 4] = super::client_assertion::ALGORITHMS;
/// The longest `jti`, in characters.
pub const MAX_JTI: usize = super::client_assertion::MAX_JTI;
/// What separates a token's random part from the thumbprint of the key it is bound to: not
/// in base64url, so an unbound token never holds it.
const MARK: char = '~';

/// A good proof: the thumbprint of its key, its id, to be kept until `kept_until`, and the
/// server nonce it carries, if any (judged by [`nonce::judge`] where nonces are required).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    pub jkt: String,
    pub jti: String,
    pub kept_until: UnixTime,
    pub nonce: Option<String>,
}

/// Why a proof is refused (`invalid_dpop_proof`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the DPoP proof {0}")]
pub struct Refused(pub &'static str);

/// The request a proof must be for: its method and its URL (without query or fragment), and
/// the access token sent with it, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request<'a> {
    pub method: &'a str,
    pub url: &'a str,
    pub access_token: Option<&'a str>,
}

/// A proof's claims as signed; which must be there is for [`verify`] to say.
#[derive(Debug, Default, Deserialize)]
struct Claims {
    jti: Option<String>,
    htm: Option<String>,
    htu: Option<String>,
    iat: Option<i64>,
    ath: Option<String>,
    nonce: Option<String>,
}

/// Whether `proof` is good for `request` at `now` (RFC 9449 §4.3): one JWT of at most
/// [`MAX_PROOF`] bytes, `typ: dpop+jwt`, signed with one of [`ALGORITHMS`] by the public key
/// in its `jwk` header (an RSA key of at least 2048 bits, P-256 or Ed25519, with no private
/// part), its `htm` the request's method and its `htu` the request's URL, an `iat` at most
/// [`MAX_AGE`] old and [`LEEWAY`] ahead, a `jti`, and, with an access token, its `ath` the
/// token's hash. Its `nonce`, if any, is returned for [`nonce::judge`], where a deployment
/// requires server nonces; replays are stopped by the `jti` either way.
///
/// # Errors
/// `Refused`, saying what is wrong.
pub fn verify(proof: &str, request: Request<'_>, now: UnixTime) -> Result<Proof, Refused> {
    if proof.len() > MAX_PROOF {
        return Err(Refused("is too long"));
    }
    let raw_header = proof
        .split('.')
        .next()
        .and_then(|h| URL_SAFE_NO_PAD.decode(h).ok())
        .and_then(|h| serde_json::from_slice::<serde_json::Value>(&h).ok())
        .ok_or(Refused("is not a JWT"))?;
    if raw_header.get("typ").and_then(|t| t.as_str()) != Some(PROOF_TYPE) {
        return Err(Refused("is not typed dpop+jwt"));
    }
    let Some(raw_jwk) = raw_header.get("jwk").filter(|k| k.is_object()) else {
        return Err(Refused("has no jwk header"));
    };
    if private_member(raw_jwk).is_some() {
        return Err(Refused("holds a private key in its jwk header"));
    }
    // Its header is JSON (read above): what does not decode is its `alg` (`none`, say) or its
    // `jwk`.
    let header = jsonwebtoken::decode_header(proof)
        .map_err(|_| Refused("has a header whose alg or jwk is not usable"))?;
    let jwk: &Jwk = header
        .jwk
        .as_ref()
        .ok_or(Refused("has no usable jwk header"))?;
    if !algorithms_of(jwk).contains(&header.alg) || too_short(jwk) {
        return Err(Refused(
            "is not signed with an RSA (2048 bits or more), P-256 or Ed25519 key and its algorithm",
        ));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|_| Refused("has no usable jwk header"))?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    let claims = jsonwebtoken::decode::<Claims>(proof, &key, &validation)
        .map_err(|_| Refused("does not verify with the key in its header"))?
        .claims;
    judge(&claims, request, now)?;
    let jti = claims.jti.unwrap_or_default();
    let jkt = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| Refused("has no usable jwk header"))?;
    let iat = claims.iat.unwrap_or(now);
    Ok(Proof {
        jkt,
        jti,
        kept_until: iat.saturating_add(MAX_AGE),
        nonce: claims.nonce,
    })
}

/// The claims' part of [`verify`], once the signature is known to be good.
fn judge(claims: &Claims, request: Request<'_>, now: UnixTime) -> Result<(), Refused> {
    match claims.jti.as_deref() {
        None | Some("") => return Err(Refused("has no jti")),
        Some(j) if j.chars().count() > MAX_JTI => {
            return Err(Refused("has a jti longer than 256 characters"));
        }
        Some(_) => {}
    }
    if claims.htm.as_deref() != Some(request.method) {
        return Err(Refused("is for another HTTP method (htm)"));
    }
    if !claims
        .htu
        .as_deref()
        .is_some_and(|htu| same_target(htu, request.url))
    {
        return Err(Refused("is for another URL (htu)"));
    }
    let iat = claims.iat.ok_or(Refused("has no iat"))?;
    if iat > now.saturating_add(LEEWAY) {
        return Err(Refused("is not valid yet (its iat is in the future)"));
    }
    if iat.saturating_add(MAX_AGE) <= now {
        return Err(Refused("is too old: make a new one for each request"));
    }
    if let Some(token) = request.access_token
        && claims.ath.as_deref() != Some(access_token_hash(token).as_str())
    {
        return Err(Refused("is not for this access token (ath)"));
    }
    Ok(())
}

/// Whether a proof's `htu` names `url`: both parsed as URLs (so the scheme and host are
/// compared without regard to case, and a default port is the same as none), query and
/// fragment left out (RFC 9449 §4.3).
fn same_target(htu: &str, url: &str) -> bool {
    let bare = |s: &str| {
        url::Url::parse(s).ok().map(|mut u| {
            u.set_query(None);
            u.set_fragment(None);
            u
        })
    };
    match (bare(htu), bare(url)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    }
}

/// A proof's `ath` for `token` (§4.2): its SHA-256, base64url.
pub fn access_token_hash(token: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()))
}

/// The key a proof's `jti` is taken under: apart from those of client assertions.
pub fn jti_key(jti: &str) -> String {
    tokens::hash(&format!("dpop {jti}"))
}

/// A token's random part (or an access token, `tokens::new_access_token`), bound to the key
/// `jkt` if there is one.
pub fn bind(random: String, jkt: Option<&str>) -> String {
    match jkt {
        Some(jkt) => format!("{random}{MARK}{jkt}"),
        None => random,
    }
}

/// The thumbprint of the key a token (or a JWT access token's `jti`) is bound to, if it is.
pub fn binding(token: &str) -> Option<&str> {
    let (_, rest) = token.split_once(MARK)?;
    Some(rest.split('.').next().unwrap_or(rest))
}

/// Whether `s` has the shape of a key's thumbprint (RFC 7638 with SHA-256): 43 base64url
/// characters, as a PKCE challenge has.
pub fn is_thumbprint(s: &str) -> bool {
    super::pkce::is_valid_challenge(s)
}

/// The key a pushed authorization request binds its code to (RFC 9449 §10.1): the one its
/// `dpop_jkt` names, or the one of the proof `/par` received, or none; both must be one key.
///
/// # Errors
/// Why not, for an `invalid_dpop_proof`.
pub fn pushed_key<'a>(
    named: Option<&'a str>,
    proof: Option<&'a Proof>,
) -> Result<Option<&'a str>, &'static str> {
    match (named, proof) {
        (Some(n), Some(p)) if n != p.jkt => Err("is made with another key than dpop_jkt names"),
        (Some(n), _) => Ok(Some(n)),
        (None, p) => Ok(p.map(|p| p.jkt.as_str())),
    }
}

/// Whether a token request may go on with the proof it carries, or without one: a client
/// registered with `dpop_bound_access_tokens` sends one with each (RFC 9449 §5.2).
///
/// # Errors
/// Why not, for an `invalid_dpop_proof`.
pub fn demanded(required: bool, proof: Option<&Proof>) -> Result<(), &'static str> {
    if required && proof.is_none() {
        Err("is required of this client: send one with each token request")
    } else {
        Ok(())
    }
}

/// The key a new refresh token is bound to (RFC 9449 §5): a public client's is bound to the
/// key of the request's proof; a confidential client's is never, since it is sender-constrained
/// by the client's own authentication already, and the client may change keys.
pub fn refresh_binding(public_client: bool, proof: Option<&Proof>) -> Option<&str> {
    proof.filter(|_| public_client).map(|p| p.jkt.as_str())
}

/// Whether a refresh token bound to `bound` (or not) may be used by a request with a proof of
/// the key `proof_jkt` (or none): a bound one only with a proof of its key.
///
/// # Errors
/// Why not, for an `invalid_grant`.
pub fn refresh_with(bound: Option<&str>, proof_jkt: Option<&str>) -> Result<(), &'static str> {
    match (bound, proof_jkt) {
        (None, _) => Ok(()),
        (Some(_), None) => {
            Err("the refresh token is bound to a DPoP key: send a DPoP proof made with that key")
        }
        (Some(b), Some(p)) if b == p => Ok(()),
        (Some(_), Some(_)) => Err("the refresh token is bound to another DPoP key"),
    }
}

/// How an access token was presented to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    /// `Authorization: Bearer` (RFC 6750).
    Bearer,
    /// `Authorization: DPoP`, with a proof (RFC 9449 §7.1).
    Dpop,
}

/// Whether a resource takes an access token bound to `bound` (or not), presented with
/// `scheme` and a good proof of the key `proof_jkt` (§7.1, §7.2): an unbound token as a
/// bearer token, a bound one only with the DPoP scheme and a proof of its key.
///
/// # Errors
/// Why not, for an `invalid_token`.
pub fn may_use(
    scheme: Scheme,
    bound: Option<&str>,
    proof_jkt: Option<&str>,
) -> Result<(), &'static str> {
    match (scheme, bound) {
        (Scheme::Bearer, None) => Ok(()),
        (Scheme::Bearer, Some(_)) => {
            Err("the access token is bound to a DPoP key: send it with the DPoP scheme and a proof")
        }
        (Scheme::Dpop, None) => {
            Err("the access token is not bound to a DPoP key: send it with the Bearer scheme")
        }
        (Scheme::Dpop, Some(b)) if proof_jkt == Some(b) => Ok(()),
        (Scheme::Dpop, Some(_)) => Err("the access token is bound to another DPoP key"),
    }
}

/// A proof as a client makes one, signed by `key` with its public half in the header, `change`
/// applied to the header before signing: for tests and the fuzz harness (gatehouse itself
/// never makes one).
#[cfg(any(test, feature = "fuzzing"))]
pub fn make_proof(
    key: &crate::model::SigningKey,
    claims: &serde_json::Value,
    change: impl FnOnce(&mut serde_json::Value),
) -> String {
    use crate::model::SigningAlg;
    let alg = match key.alg {
        SigningAlg::Rs256 => "RS256",
        SigningAlg::Es256 => "ES256",
        SigningAlg::EdDsa => "EdDSA",
    };
    let mut jwk: serde_json::Value =
        serde_json::from_str(&key.public_jwk).unwrap_or_else(|_| unreachable!("a key's JWK"));
    if let Some(members) = jwk.as_object_mut() {
        members.remove("kid");
    }
    let mut header = serde_json::json!({ "typ": PROOF_TYPE, "alg": alg, "jwk": jwk });
    change(&mut header);
    let message = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = super::keys::Signer::new(key)
        .and_then(|s| s.sign_message(message.as_bytes()))
        .unwrap_or_else(|e| unreachable!("a generated key signs: {e}"));
    format!("{message}.{signature}")
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;
    use crate::model::{SigningAlg, SigningKey};
    use crate::oidc::client_assertion::tests::key;

    const NOW: UnixTime = 1_000_000;
    const URL: &str = "https://id.example/token";

    fn request() -> Request<'static> {
        Request {
            method: "POST",
            url: URL,
            access_token: None,
        }
    }

    fn claims() -> serde_json::Value {
        json!({ "jti": "p1", "htm": "POST", "htu": URL, "iat": NOW })
    }

    fn proof(key: &SigningKey, claims: &serde_json::Value) -> String {
        make_proof(key, claims, |_| {})
    }

    fn thumbprint(key: &SigningKey) -> String {
        let jwk: Jwk = serde_json::from_str(&key.public_jwk).unwrap();
        jwk.thumbprint(ThumbprintHash::SHA256).unwrap()
    }

    #[test]
    fn a_proof_from_each_kind_of_key_is_good_and_names_its_key() {
        for alg in SigningAlg::ALL {
            let k = key(*alg);
            let good = verify(&proof(&k, &claims()), request(), NOW);
            assert_eq!(
                good,
                Ok(Proof {
                    jkt: thumbprint(&k),
                    jti: "p1".into(),
                    kept_until: NOW + MAX_AGE,
                    nonce: None,
                }),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn the_thumbprint_is_that_of_rfc_7638() {
        // RFC 7638 §3.1's example key and thumbprint.
        let jwk: Jwk = serde_json::from_value(json!({
            "kty": "RSA",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
            "e": "AQAB",
            "alg": "RS256",
            "kid": "2011-04-29"
        }))
        .unwrap();
        assert_eq!(
            jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
    }

    #[test]
    fn a_proof_is_refused_for_what_is_wrong_with_it() {
        let k = key(SigningAlg::Es256);
        let with = |change: serde_json::Value| {
            let mut c = claims();
            for (name, value) in change.as_object().unwrap() {
                if value.is_null() {
                    c.as_object_mut().unwrap().remove(name);
                } else {
                    c[name] = value.clone();
                }
            }
            verify(&proof(&k, &c), request(), NOW)
        };
        type Judged = Result<Proof, Refused>;
        let refused = |why: &'static str| Err(Refused(why));
        let long_jti = "j".repeat(MAX_JTI + 1);
        let cases: Vec<(&str, Judged, Judged)> = vec![
            (
                "no jti",
                with(json!({ "jti": null })),
                refused("has no jti"),
            ),
            (
                "empty jti",
                with(json!({ "jti": "" })),
                refused("has no jti"),
            ),
            (
                "long jti",
                with(json!({ "jti": long_jti })),
                refused("has a jti longer than 256 characters"),
            ),
            (
                "another method",
                with(json!({ "htm": "GET" })),
                refused("is for another HTTP method (htm)"),
            ),
            (
                "a method in lower case",
                with(json!({ "htm": "post" })),
                refused("is for another HTTP method (htm)"),
            ),
            (
                "no htm",
                with(json!({ "htm": null })),
                refused("is for another HTTP method (htm)"),
            ),
            (
                "another URL",
                with(json!({ "htu": "https://id.example/userinfo" })),
                refused("is for another URL (htu)"),
            ),
            (
                "another host",
                with(json!({ "htu": "https://evil.example/token" })),
                refused("is for another URL (htu)"),
            ),
            (
                "not a URL",
                with(json!({ "htu": "token" })),
                refused("is for another URL (htu)"),
            ),
            (
                "no htu",
                with(json!({ "htu": null })),
                refused("is for another URL (htu)"),
            ),
            (
                "no iat",
                with(json!({ "iat": null })),
                refused("has no iat"),
            ),
            (
                "from the future",
                with(json!({ "iat": NOW + LEEWAY + 1 })),
                refused("is not valid yet (its iat is in the future)"),
            ),
            (
                "too old",
                with(json!({ "iat": NOW - MAX_AGE })),
                refused("is too old: make a new one for each request"),
            ),
        ];
        for (what, got, want) in cases {
            assert_eq!(got, want, "{what}");
        }
        // Within the bounds: the leeway ahead, the age behind.
        assert!(with(json!({ "iat": NOW + LEEWAY })).is_ok());
        assert!(with(json!({ "iat": NOW - MAX_AGE + 1 })).is_ok());
        // The URL as another client library writes it: case, default port, a query.
        for htu in [
            "HTTPS://ID.EXAMPLE/token",
            "https://id.example:443/token",
            "https://id.example/token?x=1#f",
        ] {
            assert!(with(json!({ "htu": htu })).is_ok(), "{htu}");
        }
    }

    #[test]
    fn a_proof_whose_header_or_signature_is_wrong_is_refused() {
        let k = key(SigningAlg::Es256);
        let other = key(SigningAlg::Es256);
        let refused = |p: &str, why: &'static str| {
            assert_eq!(verify(p, request(), NOW), Err(Refused(why)), "{p}");
        };
        refused(
            &make_proof(&k, &claims(), |h| h["typ"] = "JWT".into()),
            "is not typed dpop+jwt",
        );
        refused(
            &make_proof(&k, &claims(), |h| {
                h.as_object_mut().unwrap().remove("typ");
            }),
            "is not typed dpop+jwt",
        );
        refused(
            &make_proof(&k, &claims(), |h| {
                h.as_object_mut().unwrap().remove("jwk");
            }),
            "has no jwk header",
        );
        // Another key in the header than the one that signed.
        let other_jwk: serde_json::Value = serde_json::from_str(&other.public_jwk).unwrap();
        refused(
            &make_proof(&k, &claims(), |h| h["jwk"] = other_jwk.clone()),
            "does not verify with the key in its header",
        );
        // A private key in the header.
        refused(
            &make_proof(&k, &claims(), |h| h["jwk"]["d"] = "AAAA".into()),
            "holds a private key in its jwk header",
        );
        // An algorithm the key does not sign with, or none at all.
        refused(
            &make_proof(&k, &claims(), |h| h["alg"] = "RS256".into()),
            "is not signed with an RSA (2048 bits or more), P-256 or Ed25519 key and its algorithm",
        );
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(
                json!({ "typ": PROOF_TYPE, "alg": "none", "jwk": serde_json::from_str::<serde_json::Value>(&k.public_jwk).unwrap() }).to_string()
            ),
            URL_SAFE_NO_PAD.encode(claims().to_string())
        );
        refused(&none, "has a header whose alg or jwk is not usable");
        // A symmetric key, which anyone who saw it could sign with.
        let hmac = jsonwebtoken::encode(
            &Header {
                typ: Some(PROOF_TYPE.into()),
                jwk: Some(
                    serde_json::from_value(json!({ "kty": "oct", "k": "c2VjcmV0" })).unwrap(),
                ),
                ..Header::new(jsonwebtoken::Algorithm::HS256)
            },
            &claims(),
            &EncodingKey::from_secret(b"secret"),
        )
        .unwrap();
        refused(&hmac, "holds a private key in its jwk header");
        // Changed after signing.
        let good = proof(&k, &claims());
        let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
        parts[1] = URL_SAFE_NO_PAD
            .encode(json!({ "jti": "p2", "htm": "POST", "htu": URL, "iat": NOW }).to_string());
        refused(
            &parts.join("."),
            "does not verify with the key in its header",
        );
        refused("not a jwt", "is not a JWT");
        refused(&"a".repeat(MAX_PROOF + 1), "is too long");
    }

    #[test]
    fn a_proof_sent_with_an_access_token_names_it() {
        let k = key(SigningAlg::Es256);
        let token = "an-access-token";
        let with_token = Request {
            access_token: Some(token),
            ..request()
        };
        let mut c = claims();
        assert_eq!(
            verify(&proof(&k, &c), with_token, NOW),
            Err(Refused("is not for this access token (ath)"))
        );
        c["ath"] = access_token_hash("another-token").into();
        assert_eq!(
            verify(&proof(&k, &c), with_token, NOW),
            Err(Refused("is not for this access token (ath)"))
        );
        c["ath"] = access_token_hash(token).into();
        assert!(verify(&proof(&k, &c), with_token, NOW).is_ok());
        // RFC 9449 §7.1's example: the hash of an access token.
        assert_eq!(
            access_token_hash("Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"),
            "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"
        );
    }

    #[test]
    fn a_token_carries_the_key_it_is_bound_to() {
        assert_eq!(bind("abc".into(), None), "abc");
        assert_eq!(binding("abc"), None);
        let bound = bind("abc".into(), Some("JKT"));
        assert_eq!(binding(&bound), Some("JKT"));
        // In a refresh token, between the random part and the MAC.
        assert_eq!(binding("family.abc~JKT.mac"), Some("JKT"));
        assert_eq!(binding("family.abc.mac"), None);
        // Proofs' ids are kept apart from client assertions'.
        assert_ne!(jti_key("one"), tokens::hash("one"));
    }

    #[test]
    fn a_public_clients_refresh_token_is_bound_to_its_proofs_key() {
        let p = Proof {
            jkt: "K".into(),
            jti: "j".into(),
            kept_until: NOW,
            nonce: None,
        };
        assert_eq!(refresh_binding(true, Some(&p)), Some("K"));
        assert_eq!(refresh_binding(true, None), None);
        assert_eq!(refresh_binding(false, Some(&p)), None);
        assert_eq!(refresh_binding(false, None), None);
    }

    #[test]
    fn a_pushed_request_binds_its_code_to_one_key() {
        let p = Proof {
            jkt: "K".into(),
            jti: "j".into(),
            kept_until: NOW,
            nonce: None,
        };
        assert_eq!(pushed_key(None, None), Ok(None));
        assert_eq!(pushed_key(Some("K"), None), Ok(Some("K")));
        assert_eq!(pushed_key(None, Some(&p)), Ok(Some("K")));
        assert_eq!(pushed_key(Some("K"), Some(&p)), Ok(Some("K")));
        assert!(pushed_key(Some("L"), Some(&p)).is_err());
    }

    #[test]
    fn a_client_that_requires_dpop_sends_a_proof_with_each_token_request() {
        let p = Proof {
            jkt: "K".into(),
            jti: "j".into(),
            kept_until: NOW,
            nonce: None,
        };
        assert!(demanded(true, None).is_err());
        assert!(demanded(true, Some(&p)).is_ok());
        assert!(demanded(false, None).is_ok());
        assert!(demanded(false, Some(&p)).is_ok());
    }

    #[test]
    fn a_thumbprint_is_a_base64url_sha_256() {
        assert!(is_thumbprint("NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"));
        for not in [
            "",
            "K",
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9X+",
            &"A".repeat(44),
        ] {
            assert!(!is_thumbprint(not), "{not}");
        }
    }

    #[test]
    fn a_bound_refresh_token_is_used_only_with_its_key() {
        let cases = [
            (None, None, true),
            (None, Some("K"), true),
            (Some("K"), Some("K"), true),
            (Some("K"), None, false),
            (Some("K"), Some("L"), false),
        ];
        for (bound, proof, ok) in cases {
            assert_eq!(
                refresh_with(bound, proof).is_ok(),
                ok,
                "{bound:?} {proof:?}"
            );
        }
    }

    #[test]
    fn a_resource_takes_a_token_only_as_it_is_bound() {
        use Scheme::{Bearer, Dpop};
        let cases = [
            (Bearer, None, None, true),
            (Bearer, None, Some("K"), true),
            (Bearer, Some("K"), None, false),
            (Bearer, Some("K"), Some("K"), false),
            (Dpop, None, Some("K"), false),
            (Dpop, Some("K"), Some("K"), true),
            (Dpop, Some("K"), Some("L"), false),
            (Dpop, Some("K"), None, false),
        ];
        for (scheme, bound, proof, ok) in cases {
            assert_eq!(
                may_use(scheme, bound, proof).is_ok(),
                ok,
                "{scheme:?} {bound:?} {proof:?}"
            );
        }
    }
}
