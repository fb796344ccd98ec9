//! Request objects (RFC 9101, OpenID Connect Core §6.1): an authorization request sent as a
//! JWT the client signed with one of its keys (`Client::jwks`, or those published at its
//! `Client::jwks_uri`), by value in the `request` parameter at `/authorize` or `/par`. Its claims
//! are the request: the parameters sent beside it are ignored, but for `client_id`, which must
//! name the same client (RFC 9101 §5, §6.3). A request signed by the client cannot be changed
//! on its way through the browser, and says it comes from the client.
//!
//! Decided here: whether a request object is one of the client's for this server at a time, and
//! which parameters it stands for ([`verify`], its claims judged by [`judge`]). The signature is
//! checked as a client assertion's is (`client_assertion`), with the same keys.

use serde_json::{Map, Value};

use super::OAuthError;
use super::client_assertion::{self, Audience, LEEWAY};
use crate::clock::UnixTime;

/// The longest request object read, in bytes; a longer one is refused before it is decoded.
pub const MAX_REQUEST_OBJECT: usize = 8 * 1024;
/// How far ahead of now a request object's `exp` may be, in seconds (as FAPI 2.0 bounds it).
pub const MAX_LIFETIME: i64 = 3600;
/// What a request object may be signed with (`request_object_signing_alg_values_supported`):
/// what a client's keys sign with.
pub const ALGORITHMS: [&str; 4] = client_assertion::ALGORITHMS;

/// The claims about the JWT itself, not parameters of the request.
const JWT_CLAIMS: [&str; 6] = ["iss", "aud", "exp", "nbf", "iat", "jti"];

/// The endpoints a request object is sent to, below the issuer: an object whose `aud` names the
/// URL of either, or the issuer, is meant for this server.
const ENDPOINTS: [&str; 2] = ["/authorize", "/par"];

/// The audiences that name this server to a request object.
pub fn audiences(issuer: &str) -> Vec<String> {
    std::iter::once(issuer.to_owned())
        .chain(ENDPOINTS.iter().map(|p| format!("{issuer}{p}")))
        .collect()
}

fn invalid(why: impl Into<String>) -> OAuthError {
    OAuthError::InvalidRequestObject(why.into())
}

/// Whether `object` is a request of the client `client_id`, whose keys are `keys`, for this
/// server (`audiences`) at `now`: signed by one of those keys as a client assertion is
/// (`client_assertion::signed`), with claims [`judge`] accepts. The request's parameters, the
/// client's id first.
///
/// # Errors
/// `invalid_request_object`, saying what is wrong.
pub fn verify(
    object: &str,
    client_id: &str,
    keys: &jsonwebtoken::jwk::JwkSet,
    audiences: &[String],
    now: UnixTime,
) -> Result<Vec<(String, String)>, OAuthError> {
    if object.len() > MAX_REQUEST_OBJECT {
        return Err(invalid(format!(
            "the request object is longer than {MAX_REQUEST_OBJECT} bytes"
        )));
    }
    match object.split('.').count() {
        3 => {}
        5 => {
            return Err(invalid(
                "encrypted request objects are not supported: sign the request, and send it \
                 pushed (PAR) to keep it from the browser",
            ));
        }
        _ => return Err(invalid("the request object is not a JWT")),
    }
    if unsigned(object) {
        return Err(invalid(
            "the request object is not signed (alg none): sign it with one of the client's keys",
        ));
    }
    let claims: Map<String, Value> = client_assertion::signed(object, keys).ok_or_else(|| {
        invalid("the request object is not signed by one of the client's registered keys")
    })?;
    judge(&claims, client_id, audiences, now)
}

/// Whether a JWT's header says it is not signed.
fn unsigned(jwt: &str) -> bool {
    use base64::Engine as _;
    let Some(header) = jwt.split('.').next() else {
        return false;
    };
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|h| serde_json::from_slice::<Value>(&h).ok())
        .is_some_and(|h| {
            h["alg"]
                .as_str()
                .is_some_and(|a| a.eq_ignore_ascii_case("none"))
        })
}

/// Whether signed `claims` make a request of `client_id` for this server at `now`, and which
/// parameters: `iss` and `client_id` the client, an `aud` among `audiences`, an `exp` not past
/// (with [`LEEWAY`]) and at most [`MAX_LIFETIME`] ahead, no `nbf` or `iat` in the future, no
/// `request` or `request_uri` inside (RFC 9101 §4), and each parameter a string (or a number,
/// such as `max_age`). The claims about the JWT itself are not parameters.
///
/// # Errors
/// `invalid_request_object`, naming the claim.
pub fn judge(
    claims: &Map<String, Value>,
    client_id: &str,
    audiences: &[String],
    now: UnixTime,
) -> Result<Vec<(String, String)>, OAuthError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss") != Some(client_id) {
        return Err(invalid("the request object's iss must be the client's id"));
    }
    if text("client_id") != Some(client_id) {
        return Err(invalid(
            "the request object's client_id must be the client_id sent with it",
        ));
    }
    let aud = claims
        .get("aud")
        .and_then(|a| serde_json::from_value::<Audience>(a.clone()).ok());
    let meant_for_us = match aud {
        Some(Audience::One(a)) => audiences.contains(&a),
        Some(Audience::Many(all)) => all.iter().any(|a| audiences.contains(a)),
        None => false,
    };
    if !meant_for_us {
        return Err(invalid(
            "the request object is not for this server: its aud must be the issuer",
        ));
    }
    let time = |name: &str| claims.get(name).and_then(Value::as_i64);
    let exp = time("exp").ok_or_else(|| invalid("the request object has no exp"))?;
    if exp.saturating_add(LEEWAY) <= now {
        return Err(invalid(
            "the request object has expired: start signing in again from the application",
        ));
    }
    if exp > now.saturating_add(MAX_LIFETIME) {
        return Err(invalid(
            "the request object lives too long: its exp is at most an hour ahead",
        ));
    }
    let ahead = |t: Option<i64>| t.is_some_and(|t| t > now.saturating_add(LEEWAY));
    if ahead(time("nbf")) || ahead(time("iat")) {
        return Err(invalid(
            "the request object is not valid yet (its nbf or iat is in the future)",
        ));
    }
    let mut params = vec![("client_id".to_owned(), client_id.to_owned())];
    for (name, value) in claims {
        if JWT_CLAIMS.contains(&name.as_str()) || name == "client_id" {
            continue;
        }
        if name == "request" || name == "request_uri" {
            return Err(invalid(format!(
                "a request object cannot hold a {name} of its own"
            )));
        }
        // RFC 8707: a request may name several resources, as an array here.
        if let (Value::Array(values), "resource") = (value, name.as_str()) {
            for v in values {
                let Value::String(uri) = v else {
                    return Err(invalid("the request object's resource must be strings"));
                };
                params.push((name.clone(), uri.clone()));
            }
            continue;
        }
        let value = match value {
            Value::String(s) => s.clone(),
            Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
            // OpenID Connect Core §6.1: the claims parameter is a JSON object here.
            Value::Object(_) if name == "claims" => value.to_string(),
            _ => {
                return Err(invalid(format!(
                    "the request object's {name} must be a string"
                )));
            }
        };
        params.push((name.clone(), value));
    }
    Ok(params)
}

#[cfg(test)]
mod tests {
    use jsonwebtoken::jwk::JwkSet;
    use serde_json::json;

    use super::*;
    use crate::model::{SigningAlg, SigningKey};
    use crate::oidc::client_assertion::tests::key;
    use crate::oidc::keys::Signer;

    const NOW: UnixTime = 1_000_000;
    const ISSUER: &str = "https://id.example";

    fn set_of(keys: &[&SigningKey]) -> JwkSet {
        let json = client_assertion::tests::set_of(keys);
        client_assertion::keys(&json).unwrap().set().clone()
    }

    fn claims() -> Value {
        json!({
            "iss": "app", "aud": ISSUER, "client_id": "app",
            "exp": NOW + 300, "iat": NOW, "nbf": NOW, "jti": "one",
            "response_type": "code", "redirect_uri": "https://app.example/cb",
            "scope": "openid email", "state": "s", "nonce": "n", "max_age": 300,
        })
    }

    fn signed(key: &SigningKey, claims: &Value) -> String {
        Signer::new(key).unwrap().sign(claims).unwrap()
    }

    fn verified(object: &str, keys: &JwkSet) -> Result<Vec<(String, String)>, OAuthError> {
        verify(object, "app", keys, &audiences(ISSUER), NOW)
    }

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn a_signed_request_object_is_its_parameters() {
        for alg in SigningAlg::ALL {
            let k = key(*alg);
            let params = verified(&signed(&k, &claims()), &set_of(&[&k])).unwrap();
            assert_eq!(
                params,
                pairs(&[
                    ("client_id", "app"),
                    ("max_age", "300"),
                    ("nonce", "n"),
                    ("redirect_uri", "https://app.example/cb"),
                    ("response_type", "code"),
                    ("scope", "openid email"),
                    ("state", "s"),
                ]),
                "{alg:?}"
            );
        }
    }

    #[test]
    fn a_request_objects_resources_are_a_string_or_an_array_of_strings() {
        let resources = |c: &Value| {
            judge(c.as_object().unwrap(), "app", &audiences(ISSUER), NOW).map(|params| {
                params
                    .into_iter()
                    .filter(|(name, _)| name == "resource")
                    .map(|(_, value)| value)
                    .collect::<Vec<_>>()
            })
        };
        let mut c = claims();
        c["resource"] = json!(["https://a.example/", "urn:b"]);
        assert_eq!(resources(&c).unwrap(), ["https://a.example/", "urn:b"]);
        c["resource"] = json!("urn:b");
        assert_eq!(resources(&c).unwrap(), ["urn:b"]);
        c["resource"] = json!(["urn:b", 7]);
        assert!(resources(&c).is_err());
        // No other parameter is taken as an array.
        let mut c = claims();
        c["scope"] = json!(["openid"]);
        assert!(resources(&c).is_err());
    }

    #[test]
    fn a_request_objects_claims_parameter_is_a_json_object() {
        let asked = json!({"id_token": {"acr": {"essential": true, "values": ["two_factor"]}}});
        let mut c = claims();
        c["claims"] = asked.clone();
        let params = judge(c.as_object().unwrap(), "app", &audiences(ISSUER), NOW).unwrap();
        let (_, sent) = params.iter().find(|(name, _)| name == "claims").unwrap();
        assert_eq!(serde_json::from_str::<Value>(sent).unwrap(), asked);
        // As a string too, as at /authorize; no other parameter may be an object.
        c["claims"] = json!(asked.to_string());
        assert!(judge(c.as_object().unwrap(), "app", &audiences(ISSUER), NOW).is_ok());
        c["state"] = json!({"s": 1});
        assert!(judge(c.as_object().unwrap(), "app", &audiences(ISSUER), NOW).is_err());
    }

    #[test]
    fn only_the_clients_keys_sign_its_requests() {
        let (k, other) = (key(SigningAlg::Es256), key(SigningAlg::Es256));
        let keys = set_of(&[&k]);
        let unsigned = {
            use base64::Engine as _;
            let b64 =
                |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
            format!("{}.{}.", b64(&json!({"alg": "none"})), b64(&claims()))
        };
        let mut tampered = signed(&k, &claims());
        let at = tampered.rfind('.').unwrap() - 2;
        tampered.replace_range(at..at + 1, "A");
        let long = signed(&k, &{
            let mut c = claims();
            c["state"] = json!("x".repeat(MAX_REQUEST_OBJECT));
            c
        });
        for (object, why) in [
            (signed(&other, &claims()), "registered keys"),
            (tampered, "registered keys"),
            (unsigned, "not signed"),
            ("a.b.c.d.e".to_owned(), "encrypted"),
            ("not a jwt".to_owned(), "not a JWT"),
            (long, "longer than"),
        ] {
            match verified(&object, &keys) {
                Err(OAuthError::InvalidRequestObject(d)) => assert!(d.contains(why), "{d}"),
                other => panic!("{object}: {other:?}"),
            }
        }
        // Among several keys, the one its kid names verifies it.
        let two = set_of(&[&k, &other]);
        assert!(verified(&signed(&k, &claims()), &two).is_ok(), "its kid");
    }

    #[test]
    fn the_claims_make_a_request_of_this_client_for_this_server_now() {
        let accepted: [(&str, Value); 5] = [
            (
                "aud the authorization endpoint",
                json!(format!("{ISSUER}/authorize")),
            ),
            (
                "aud the pushed request endpoint",
                json!(format!("{ISSUER}/par")),
            ),
            ("aud among others", json!(["https://other.example", ISSUER])),
            ("exp an hour ahead", json!(NOW + MAX_LIFETIME)),
            ("exp just past, within the leeway", json!(NOW - LEEWAY + 1)),
        ];
        for (what, value) in accepted {
            let mut c = claims();
            let name = what.split(' ').next().unwrap();
            c[name] = value;
            let c = c.as_object().unwrap().clone();
            assert!(judge(&c, "app", &audiences(ISSUER), NOW).is_ok(), "{what}");
        }
        let refused: [(&str, Value, &str); 16] = [
            ("iss", json!("other"), "iss"),
            ("iss", Value::Null, "iss"),
            ("client_id", json!("other"), "client_id"),
            ("client_id", Value::Null, "client_id"),
            ("aud", json!("https://other.example"), "aud"),
            ("aud", json!(format!("{ISSUER}/token")), "aud"),
            ("aud", Value::Null, "aud"),
            ("exp", Value::Null, "no exp"),
            ("exp", json!(NOW - LEEWAY), "expired"),
            ("exp", json!(NOW + MAX_LIFETIME + 1), "too long"),
            ("nbf", json!(NOW + LEEWAY + 1), "not valid yet"),
            ("iat", json!(NOW + LEEWAY + 1), "not valid yet"),
            ("request", json!("a.b.c"), "request of its own"),
            ("request_uri", json!("urn:x"), "request_uri of its own"),
            ("scope", json!(["openid"]), "scope must be a string"),
            ("max_age", json!(1.5), "max_age must be a string"),
        ];
        for (name, value, why) in refused {
            let mut c = claims();
            if value.is_null() {
                c.as_object_mut().unwrap().remove(name);
            } else {
                c[name] = value;
            }
            let c = c.as_object().unwrap().clone();
            match judge(&c, "app", &audiences(ISSUER), NOW) {
                Err(OAuthError::InvalidRequestObject(d)) => {
                    assert!(d.contains(why), "{name}: {d}");
                }
                other => panic!("{name}: {other:?}"),
            }
        }
        // Another client's request, signed by its own keys, is not this one's.
        let c = claims().as_object().unwrap().clone();
        assert!(judge(&c, "other", &audiences(ISSUER), NOW).is_err());
    }
}
