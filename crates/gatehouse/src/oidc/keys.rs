//! Signing keys: RS256 (RSA-2048, PKCS#1 v1.5 with SHA-256), the one algorithm OpenID Connect
//! requires every provider to support.
//!
//! Keys are generated with aws-lc-rs and used through `jsonwebtoken` (on its aws-lc-rs
//! backend). The private key is stored as PKCS#8 DER; the public half is published as a JWK.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, Jwk, JwkSet, KeyAlgorithm, PublicKeyUse,
    RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::model::SigningKey;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("stored key {0} is unusable: {1}")]
    Unusable(String, String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// Why an `id_token_hint` was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the id_token_hint is not an ID token this server issued: {0}")]
pub struct HintError(pub String);

/// Who an `id_token_hint` names (OpenID Connect RP-Initiated Logout 1.0 §2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub sub: String,
    pub audiences: Vec<String>,
}

/// Verifies an `id_token_hint` against the published keys and the issuer. An expired token is
/// still a good hint (RP-Initiated Logout §2: the OP should accept it), so only the signature,
/// `iss`, `sub` and `aud` are checked.
///
/// # Errors
/// A malformed token, an unknown key, a bad signature, or a wrong issuer or subject.
pub fn verify_hint(token: &str, jwks: &JwkSet, issuer: &str) -> Result<Hint, HintError> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Audience {
        One(String),
        Many(Vec<String>),
    }
    #[derive(Deserialize)]
    struct Claims {
        sub: String,
        aud: Audience,
    }
    let bad = |e: &dyn std::fmt::Display| HintError(e.to_string());
    let header = jsonwebtoken::decode_header(token).map_err(|e| bad(&e))?;
    if header.alg != Algorithm::RS256 {
        return Err(HintError(format!("unexpected alg {:?}", header.alg)));
    }
    let kid = header.kid.ok_or_else(|| HintError("no kid".into()))?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| HintError(format!("unknown kid {kid}")))?;
    let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(&e))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(&["iss", "sub", "aud"]);
    let data = jsonwebtoken::decode::<Claims>(token, &key, &validation).map_err(|e| bad(&e))?;
    let audiences = match data.claims.aud {
        Audience::One(a) => vec![a],
        Audience::Many(v) => v,
    };
    Ok(Hint {
        sub: data.claims.sub,
        audiences,
    })
}

/// A new RS256 key, created at `now`.
///
/// # Errors
/// The crypto library cannot make or encode a key.
pub fn generate_rs256(now: UnixTime) -> Result<SigningKey, KeyError> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;

    let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
        .map_err(|_| KeyError::Generate)?;
    let pkcs8 = pair.as_der().map_err(|_| KeyError::Generate)?;
    let public = pair.public_key();
    let kid = crate::oidc::tokens::new_id();
    let jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_id: Some(kid.clone()),
            key_algorithm: Some(KeyAlgorithm::RS256),
            ..CommonParameters::default()
        },
        algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
            key_type: RSAKeyType::RSA,
            n: URL_SAFE_NO_PAD.encode(public.modulus().big_endian_without_leading_zero()),
            e: URL_SAFE_NO_PAD.encode(public.exponent().big_endian_without_leading_zero()),
        }),
    };
    Ok(SigningKey {
        kid,
        alg: "RS256".into(),
        private_der: pkcs8.as_ref().to_vec(),
        public_jwk: serde_json::to_string(&jwk).map_err(|_| KeyError::Generate)?,
        created_at: now,
        signs_from: now,
        retired_at: None,
        publish_until: None,
    })
}

/// The key that signs at `now` among the published `keys`: the newest whose signing time has
/// come and that no newer key has replaced yet. A newly rotated key is published before it
/// signs, so during that time the key before it goes on signing.
pub fn signing_key(keys: &[SigningKey], now: UnixTime) -> Option<&SigningKey> {
    keys.iter()
        .filter(|k| k.signs_from <= now && k.retired_at.is_none_or(|r| r > now))
        .max_by_key(|k| (k.signs_from, k.created_at))
}

/// The JWKS document: every published key's public half.
///
/// # Errors
/// A stored public key that is not a valid JWK.
pub fn jwks(keys: &[SigningKey]) -> Result<JwkSet, KeyError> {
    let keys = keys
        .iter()
        .map(|k| {
            serde_json::from_str::<Jwk>(&k.public_jwk)
                .map_err(|e| KeyError::Unusable(k.kid.clone(), e.to_string()))
        })
        .collect::<Result<_, _>>()?;
    Ok(JwkSet { keys })
}

/// A key ready to sign: parsed once, kept in memory.
#[derive(Clone)]
pub struct Signer {
    pub kid: String,
    key: EncodingKey,
}

impl Signer {
    /// A signer for `key`.
    ///
    /// # Errors
    /// `Unusable` for an algorithm other than RS256 or a private key that cannot be read.
    pub fn new(key: &SigningKey) -> Result<Self, KeyError> {
        if key.alg != "RS256" {
            return Err(KeyError::Unusable(
                key.kid.clone(),
                format!("unsupported alg {}", key.alg),
            ));
        }
        // jsonwebtoken takes PKCS#8 as PEM and finds the RSA key inside.
        let b64 = STANDARD.encode(&key.private_der);
        let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PRIVATE KEY-----\n");
        let key_material = EncodingKey::from_rsa_pem(pem.as_bytes())
            .map_err(|e| KeyError::Unusable(key.kid.clone(), e.to_string()))?;
        Ok(Signer {
            kid: key.kid.clone(),
            key: key_material,
        })
    }

    /// A compact JWS of `claims`, with this key's `kid` in the header.
    ///
    /// # Errors
    /// `Sign` when the claims cannot be serialised or signed.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| KeyError::Sign(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, signs_from: i64, retired_at: Option<i64>) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            alg: "RS256".into(),
            private_der: vec![],
            public_jwk: String::new(),
            created_at: signs_from - 310,
            signs_from,
            retired_at,
            publish_until: None,
        }
    }

    #[test]
    fn the_signer_is_the_newest_key_whose_time_has_come() {
        // old signs until new starts at 1310; newer was rotated in at 1020 and starts at 1330.
        let keys = [
            key("old", 0, Some(1310)),
            key("new", 1310, Some(1330)),
            key("newer", 1330, None),
        ];
        let cases = [
            (1000, Some("old")),
            (1309, Some("old")),
            (1310, Some("new")),
            (1329, Some("new")),
            (1330, Some("newer")),
            (99999, Some("newer")),
        ];
        for (now, expected) in cases {
            assert_eq!(
                signing_key(&keys, now).map(|k| k.kid.as_str()),
                expected,
                "at {now}"
            );
        }
        assert!(signing_key(&[], 0).is_none());
        // Retired at once (compromised) and nothing newer yet: nothing signs.
        assert!(signing_key(&[key("gone", 0, Some(5))], 5).is_none());
    }
    use jsonwebtoken::{DecodingKey, Validation, decode};

    #[test]
    fn a_generated_key_signs_what_its_jwk_verifies() {
        let key = generate_rs256(1000).unwrap();
        let set = jwks(std::slice::from_ref(&key)).unwrap();
        assert_eq!(set.keys.len(), 1);
        let jwk = &set.keys[0];
        assert_eq!(jwk.common.key_id.as_deref(), Some(key.kid.as_str()));

        let signer = Signer::new(&key).unwrap();
        let token = signer
            .sign(&serde_json::json!({"sub": "u1", "aud": "app", "exp": 4_000_000_000i64}))
            .unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
        let mut validation = Validation::new(Algorithm::RS256);
        validation.set_audience(&["app"]);
        let data =
            decode::<serde_json::Value>(&token, &DecodingKey::from_jwk(jwk).unwrap(), &validation)
                .unwrap();
        assert_eq!(data.claims["sub"], "u1");

        // Another key's JWK does not verify it.
        let other = generate_rs256(1000).unwrap();
        let other_jwk = &jwks(&[other]).unwrap().keys[0];
        assert!(
            decode::<serde_json::Value>(
                &token,
                &DecodingKey::from_jwk(other_jwk).unwrap(),
                &validation
            )
            .is_err()
        );
    }

    #[test]
    fn an_id_token_hint_is_verified_but_may_be_expired() {
        let key = generate_rs256(1000).unwrap();
        let set = jwks(std::slice::from_ref(&key)).unwrap();
        let signer = Signer::new(&key).unwrap();
        let sign = |claims: serde_json::Value| signer.sign(&claims).unwrap();
        let iss = "https://sso.example";

        let expired = sign(serde_json::json!({"iss": iss, "sub": "u1", "aud": "app", "exp": 1}));
        let hint = verify_hint(&expired, &set, iss).unwrap();
        assert_eq!(
            hint,
            Hint {
                sub: "u1".into(),
                audiences: vec!["app".into()]
            }
        );
        let many = sign(serde_json::json!({"iss": iss, "sub": "u1", "aud": ["a", "b"], "exp": 1}));
        assert_eq!(verify_hint(&many, &set, iss).unwrap().audiences, ["a", "b"]);

        let refused = [
            sign(
                serde_json::json!({"iss": "https://evil.example", "sub": "u1", "aud": "app", "exp": 1}),
            ),
            sign(serde_json::json!({"iss": iss, "aud": "app", "exp": 1})),
            "not.a.jwt".to_owned(),
            String::new(),
            // Signed by a key this server does not publish.
            Signer::new(&generate_rs256(0).unwrap())
                .unwrap()
                .sign(&serde_json::json!({"iss": iss, "sub": "u1", "aud": "app", "exp": 1}))
                .unwrap(),
        ];
        for token in refused {
            assert!(verify_hint(&token, &set, iss).is_err(), "{token}");
        }
        // An unsigned token with the right kid is refused.
        let parts: Vec<&str> = expired.split('.').collect();
        let none_header =
            URL_SAFE_NO_PAD.encode(format!("{{\"alg\":\"none\",\"kid\":\"{}\"}}", key.kid));
        let unsigned = format!("{none_header}.{}.", parts[1]);
        assert!(verify_hint(&unsigned, &set, iss).is_err());
    }

    #[test]
    fn a_corrupt_stored_key_is_refused_clearly() {
        let mut key = generate_rs256(0).unwrap();
        key.private_der = vec![1, 2, 3];
        assert!(matches!(Signer::new(&key), Err(KeyError::Unusable(..))));
    }
}
