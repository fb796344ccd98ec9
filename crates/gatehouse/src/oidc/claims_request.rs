//! The `claims` request parameter (OpenID Connect Core §5.5): a JSON object whose `id_token`
//! and `userinfo` members name claims a client asks for, each `null` or an object that may say
//! the claim is `essential` and give the `value` or `values` it must have.
//!
//! Two of those requests are rules, and gatehouse keeps them: `acr` (§5.5.1.1: how strongly
//! the person signs in, read as `acr_values` is) and `sub` with a `value` (§5.5.1: only that
//! person may answer the request, even when someone else is signed in). Other claims named
//! are released as the granted scopes release them, in the ID token and at `/userinfo`
//! (§5.5 lets the provider release fewer than asked): naming a claim never widens what the
//! person consented to, and is never a reason to refuse a request.

use serde_json::{Map, Value};

use crate::auth::policy;
use crate::model::AuthPolicy;

/// The longest `claims` parameter read, in bytes: a request names a few dozen claims at most.
pub const MAX_CLAIMS_PARAMETER: usize = 4096;

/// What a `claims` parameter requires of a sign-in.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ClaimsRequest {
    /// What its `acr` requests ask for, read as `acr_values` is ([`policy::requested`]): the
    /// weakest value gatehouse knows of those listed; the stricter of the two when both the
    /// ID token's and `/userinfo`'s name some.
    pub acr: Option<AuthPolicy>,
    /// Who alone may answer: the `value` its `sub` requests give.
    pub sub: Option<String>,
}

/// Reads a `claims` parameter.
///
/// # Errors
/// Why it is not one, for `invalid_request`: longer than [`MAX_CLAIMS_PARAMETER`], not a JSON
/// object, an `id_token` or `userinfo` member that is not an object of claims each `null` or
/// an object, an `essential` that is not `true` or `false`, `values` that are not an array, an
/// `acr` value or a `sub` value that is not a string, or two different `sub` values. Members
/// other than `id_token` and `userinfo` are passed over, as §5.5 asks.
pub fn parse(value: &str) -> Result<ClaimsRequest, String> {
    if value.len() > MAX_CLAIMS_PARAMETER {
        return Err(format!(
            "the claims parameter is longer than {MAX_CLAIMS_PARAMETER} bytes"
        ));
    }
    let Ok(Value::Object(request)) = serde_json::from_str::<Value>(value) else {
        return Err("the claims parameter is not a JSON object".into());
    };
    let mut read = ClaimsRequest::default();
    for member in ["id_token", "userinfo"] {
        let Some(claims) = request.get(member) else {
            continue;
        };
        let Value::Object(claims) = claims else {
            return Err(format!(
                "the claims parameter's {member} is not an object of claims"
            ));
        };
        for (name, asked) in claims {
            let asked = individual(member, name, asked)?;
            match name.as_str() {
                "acr" => {
                    let values = strings(member, name, asked)?;
                    read.acr = read.acr.max(policy::requested(&values.join(" ")));
                }
                "sub" => {
                    let Some(sub) = asked.and_then(|a| a.get("value")) else {
                        continue;
                    };
                    let Value::String(sub) = sub else {
                        return Err(format!(
                            "the claims parameter's {member} asks for a sub whose value is not \
                             a string"
                        ));
                    };
                    if read.sub.as_ref().is_some_and(|s| s != sub) {
                        return Err("the claims parameter asks for two different subs".into());
                    }
                    read.sub = Some(sub.clone());
                }
                _ => {}
            }
        }
    }
    Ok(read)
}

/// One claim's request (§5.5.1): `null` (`None`), or an object whose `essential`, if there, is
/// a boolean and whose `values`, if there, are an array.
fn individual<'a>(
    member: &str,
    name: &str,
    asked: &'a Value,
) -> Result<Option<&'a Map<String, Value>>, String> {
    let asked = match asked {
        Value::Null => return Ok(None),
        Value::Object(asked) => asked,
        _ => {
            return Err(format!(
                "the claims parameter's {member} asks for {name:?} with neither null nor an \
                 object"
            ));
        }
    };
    if asked.get("essential").is_some_and(|e| !e.is_boolean()) {
        return Err(format!(
            "the claims parameter's {member} asks for {name:?} with an essential that is not \
             true or false"
        ));
    }
    if asked.get("values").is_some_and(|v| !v.is_array()) {
        return Err(format!(
            "the claims parameter's {member} asks for {name:?} with values that are not an array"
        ));
    }
    Ok(Some(asked))
}

/// The `value` and `values` of a claim's request, which must be strings.
fn strings<'a>(
    member: &str,
    name: &str,
    asked: Option<&'a Map<String, Value>>,
) -> Result<Vec<&'a str>, String> {
    let Some(asked) = asked else {
        return Ok(Vec::new());
    };
    let values = asked.get("value").into_iter().chain(
        asked
            .get("values")
            .and_then(Value::as_array)
            .into_iter()
            .flatten(),
    );
    values
        .map(|v| {
            v.as_str().ok_or_else(|| {
                format!(
                    "the claims parameter's {member} asks for {name:?} with a value that is not \
                     a string"
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_a_claims_parameter_requires() {
        let read = |acr: Option<AuthPolicy>, sub: Option<&str>| ClaimsRequest {
            acr,
            sub: sub.map(str::to_owned),
        };
        let cases = [
            // Claims asked for by name alone require nothing.
            (r#"{}"#, read(None, None)),
            (
                r#"{"id_token": {"email": null, "groups": {"essential": true}}}"#,
                read(None, None),
            ),
            (
                r#"{"userinfo": {"name": null}, "other": 7}"#,
                read(None, None),
            ),
            // acr, as acr_values reads it: the weakest known value of those listed.
            (
                r#"{"id_token": {"acr": {"essential": true, "values": ["urn:x", "two_factor"]}}}"#,
                read(Some(AuthPolicy::TwoFactor), None),
            ),
            (
                r#"{"id_token": {"acr": {"value": "passkey"}}}"#,
                read(Some(AuthPolicy::Passkey), None),
            ),
            (
                r#"{"id_token": {"acr": {"values": ["passkey", "password"]}}}"#,
                read(Some(AuthPolicy::Password), None),
            ),
            (
                r#"{"id_token": {"acr": {"values": ["urn:x"]}}}"#,
                read(None, None),
            ),
            (r#"{"id_token": {"acr": null}}"#, read(None, None)),
            // Both members: the stricter.
            (
                r#"{"id_token": {"acr": {"value": "password"}},
                    "userinfo": {"acr": {"value": "passkey"}}}"#,
                read(Some(AuthPolicy::Passkey), None),
            ),
            // sub with a value: only that person.
            (
                r#"{"id_token": {"sub": {"value": "u-1"}}}"#,
                read(None, Some("u-1")),
            ),
            (
                r#"{"id_token": {"sub": {"value": "u-1"}}, "userinfo": {"sub": {"value": "u-1"}}}"#,
                read(None, Some("u-1")),
            ),
            (r#"{"id_token": {"sub": null}}"#, read(None, None)),
            (
                r#"{"id_token": {"sub": {"essential": true}}}"#,
                read(None, None),
            ),
        ];
        for (given, expected) in cases {
            assert_eq!(parse(given), Ok(expected), "{given}");
        }
    }

    #[test]
    fn what_is_no_claims_parameter() {
        let too_long = format!(r#"{{"id_token": {{"x": "{}"}}}}"#, "x".repeat(4096));
        for (given, says) in [
            ("", "not a JSON object"),
            ("email", "not a JSON object"),
            (r#"["email"]"#, "not a JSON object"),
            (r#"{"id_token": ["email"]}"#, "not an object of claims"),
            (r#"{"userinfo": "email"}"#, "not an object of claims"),
            (
                r#"{"id_token": {"email": true}}"#,
                "neither null nor an object",
            ),
            (
                r#"{"id_token": {"email": {"essential": "yes"}}}"#,
                "essential that is not true or false",
            ),
            (
                r#"{"id_token": {"acr": {"values": "two_factor"}}}"#,
                "values that are not an array",
            ),
            (
                r#"{"id_token": {"acr": {"values": [2]}}}"#,
                "value that is not a string",
            ),
            (
                r#"{"id_token": {"sub": {"value": 42}}}"#,
                "sub whose value is not a string",
            ),
            (
                r#"{"id_token": {"sub": {"value": "u-1"}}, "userinfo": {"sub": {"value": "u-2"}}}"#,
                "two different subs",
            ),
            (&too_long, "longer than 4096 bytes"),
        ] {
            match parse(given) {
                Err(why) => assert!(why.contains(says), "{given}: {why}"),
                Ok(read) => panic!("{given}: read as {read:?}"),
            }
        }
    }
}
