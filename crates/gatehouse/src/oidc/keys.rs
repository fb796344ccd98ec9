//! Signing keys, one kind per [`SigningAlg`]: RS256 (RSA-2048, PKCS#1 v1.5 with SHA-256), the
//! algorithm OpenID Connect requires every provider to support and the default; ES256 (ECDSA on
//! P-256); EdDSA (Ed25519). Each algorithm has its own keys, rotated on their own.
//!
//! Keys are generated with aws-lc-rs and used through `jsonwebtoken` (on its aws-lc-rs
//! backend). The private key is stored as PKCS#8 DER; the public half is published as a JWK.

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::jwk::{
    AlgorithmParameters, CommonParameters, EllipticCurve, EllipticCurveKeyParameters,
    EllipticCurveKeyType, Jwk, JwkSet, KeyAlgorithm, OctetKeyPairParameters, OctetKeyPairType,
    PublicKeyUse, RSAKeyParameters, RSAKeyType,
};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;
use crate::model::{SigningAlg, SigningKey};

/// The algorithm as `jsonwebtoken` names it.
fn jws(alg: SigningAlg) -> Algorithm {
    match alg {
        SigningAlg::Rs256 => Algorithm::RS256,
        SigningAlg::Es256 => Algorithm::ES256,
        SigningAlg::EdDsa => Algorithm::EdDSA,
    }
}

/// The algorithm a JWK is published for.
fn jwk_alg(alg: SigningAlg) -> KeyAlgorithm {
    match alg {
        SigningAlg::Rs256 => KeyAlgorithm::RS256,
        SigningAlg::Es256 => KeyAlgorithm::ES256,
        SigningAlg::EdDsa => KeyAlgorithm::EdDSA,
    }
}

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

/// A JWT's `aud` (RFC 7519 §4.1.3): one audience as a string, several as an array.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    /// `audiences` as a JWT says them: a string when there is one.
    pub fn of(mut audiences: Vec<String>) -> Audience {
        match audiences.len() {
            1 => Audience::One(audiences.remove(0)),
            _ => Audience::Many(audiences),
        }
    }

    /// Every audience named.
    pub fn into_vec(self) -> Vec<String> {
        match self {
            Audience::One(a) => vec![a],
            Audience::Many(v) => v,
        }
    }
}

/// Verifies an `id_token_hint` against the published keys and the issuer. An expired token is
/// still a good hint (RP-Initiated Logout §2: the OP should accept it), so only the signature,
/// `iss`, `sub` and `aud` are checked.
///
/// # Errors
/// A malformed token, an unknown key, a bad signature, or a wrong issuer or subject.
pub fn verify_hint(token: &str, jwks: &JwkSet, issuer: &str) -> Result<Hint, HintError> {
    #[derive(Deserialize)]
    struct Claims {
        sub: String,
        aud: Audience,
    }
    let data = verify::<Claims>(token, jwks, issuer, &["iss", "sub", "aud"])?;
    Ok(Hint {
        sub: data.claims.sub,
        audiences: data.claims.aud.into_vec(),
    })
}

/// Verifies a token this issuer signed, as `verify_hint` and the JWT access tokens need it:
/// the key its `kid` names, with that key's algorithm (never the header's choice), and `iss`;
/// not the expiry or audience, which each caller judges.
///
/// # Errors
/// A malformed token, an unknown key, an algorithm not the key's, a bad signature, a wrong
/// issuer, or a missing `required` claim.
pub fn verify<T: serde::de::DeserializeOwned>(
    token: &str,
    jwks: &JwkSet,
    issuer: &str,
    required: &[&str],
) -> Result<jsonwebtoken::TokenData<T>, HintError> {
    let bad = |e: &dyn std::fmt::Display| HintError(e.to_string());
    let header = jsonwebtoken::decode_header(token).map_err(|e| bad(&e))?;
    let kid = header.kid.ok_or_else(|| HintError("no kid".into()))?;
    let jwk = jwks
        .find(&kid)
        .ok_or_else(|| HintError(format!("unknown kid {kid}")))?;
    // The algorithm is the one the named key is published for, never what the token's header
    // chooses: a header that names another one is refused.
    let alg = SigningAlg::ALL
        .iter()
        .find(|&&a| jwk.common.key_algorithm == Some(jwk_alg(a)))
        .map(|&a| jws(a))
        .ok_or_else(|| HintError(format!("key {kid} has no algorithm this server signs with")))?;
    if header.alg != alg {
        return Err(HintError(format!(
            "alg {:?} is not the algorithm of key {kid}",
            header.alg
        )));
    }
    let key = DecodingKey::from_jwk(jwk).map_err(|e| bad(&e))?;
    let mut validation = Validation::new(alg);
    validation.validate_exp = false;
    validation.validate_aud = false;
    validation.set_issuer(&[issuer]);
    validation.set_required_spec_claims(required);
    jsonwebtoken::decode::<T>(token, &key, &validation).map_err(|e| bad(&e))
}

/// A new key for `alg`, created at `now` and signing from then.
///
/// # Errors
/// The crypto library cannot make or encode a key.
pub fn generate(alg: SigningAlg, now: UnixTime) -> Result<SigningKey, KeyError> {
    use aws_lc_rs::encoding::AsDer;
    use aws_lc_rs::signature::KeyPair as _;

    let b64 = |bytes: &[u8]| URL_SAFE_NO_PAD.encode(bytes);
    let (private_der, algorithm) = match alg {
        SigningAlg::Rs256 => {
            let pair = aws_lc_rs::rsa::KeyPair::generate(aws_lc_rs::rsa::KeySize::Rsa2048)
                .map_err(|_| KeyError::Generate)?;
            let public = pair.public_key();
            let params = AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: b64(public.modulus().big_endian_without_leading_zero()),
                e: b64(public.exponent().big_endian_without_leading_zero()),
            });
            let der = pair.as_der().map_err(|_| KeyError::Generate)?;
            (der.as_ref().to_vec(), params)
        }
        SigningAlg::Es256 => {
            let pair = aws_lc_rs::signature::EcdsaKeyPair::generate(
                &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
            )
            .map_err(|_| KeyError::Generate)?;
            // The uncompressed point: 0x04, then x and y of 32 bytes each (SEC 1 §2.3.3).
            let point = pair.public_key().as_ref();
            let (x, y) = match point {
                [0x04, xy @ ..] if xy.len() == 64 => xy.split_at(32),
                _ => return Err(KeyError::Generate),
            };
            let params = AlgorithmParameters::EllipticCurve(EllipticCurveKeyParameters {
                key_type: EllipticCurveKeyType::EC,
                curve: EllipticCurve::P256,
                x: b64(x),
                y: b64(y),
            });
            let der = pair.to_pkcs8v1().map_err(|_| KeyError::Generate)?;
            (der.as_ref().to_vec(), params)
        }
        SigningAlg::EdDsa => {
            let pair =
                aws_lc_rs::signature::Ed25519KeyPair::generate().map_err(|_| KeyError::Generate)?;
            let params = AlgorithmParameters::OctetKeyPair(OctetKeyPairParameters {
                key_type: OctetKeyPairType::OctetKeyPair,
                curve: EllipticCurve::Ed25519,
                x: b64(pair.public_key().as_ref()),
            });
            let der = pair.to_pkcs8().map_err(|_| KeyError::Generate)?;
            (der.as_ref().to_vec(), params)
        }
    };
    let kid = crate::oidc::tokens::new_id();
    let jwk = Jwk {
        common: CommonParameters {
            public_key_use: Some(PublicKeyUse::Signature),
            key_id: Some(kid.clone()),
            key_algorithm: Some(jwk_alg(alg)),
            ..CommonParameters::default()
        },
        algorithm,
    };
    Ok(SigningKey {
        kid,
        alg,
        private_der,
        public_jwk: serde_json::to_string(&jwk).map_err(|_| KeyError::Generate)?,
        created_at: now,
        signs_from: now,
        retired_at: None,
        publish_until: None,
    })
}

/// The key that signs with `alg` at `now` among the published `keys`: the newest of that
/// algorithm whose signing time has come and that no newer key has replaced yet. A newly
/// rotated key is published before it signs, so during that time the key before it goes on
/// signing.
pub fn signing_key(keys: &[SigningKey], alg: SigningAlg, now: UnixTime) -> Option<&SigningKey> {
    keys.iter()
        .filter(|k| k.alg == alg && k.signs_from <= now && k.retired_at.is_none_or(|r| r > now))
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
    pub alg: SigningAlg,
    key: EncodingKey,
}

impl Signer {
    /// A signer for `key`.
    ///
    /// # Errors
    /// `Unusable` for a private key that cannot be read.
    pub fn new(key: &SigningKey) -> Result<Self, KeyError> {
        let unusable =
            |e: &dyn std::fmt::Display| KeyError::Unusable(key.kid.clone(), e.to_string());
        let material = match key.alg {
            // jsonwebtoken takes an RSA key in PKCS#8 as PEM and finds the key inside.
            SigningAlg::Rs256 => {
                let b64 = STANDARD.encode(&key.private_der);
                let mut pem = String::from("-----BEGIN PRIVATE KEY-----\n");
                for line in b64.as_bytes().chunks(64) {
                    pem.push_str(&String::from_utf8_lossy(line));
                    pem.push('\n');
                }
                pem.push_str("-----END PRIVATE KEY-----\n");
                EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|e| unusable(&e))?
            }
            // These take PKCS#8 DER as it is, and read it only when signing: read it now, so a
            // corrupt key is refused here and not at the first sign-in.
            SigningAlg::Es256 => {
                aws_lc_rs::signature::EcdsaKeyPair::from_pkcs8(
                    &aws_lc_rs::signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &key.private_der,
                )
                .map_err(|e| unusable(&e))?;
                EncodingKey::from_ec_der(&key.private_der)
            }
            SigningAlg::EdDsa => {
                aws_lc_rs::signature::Ed25519KeyPair::from_pkcs8(&key.private_der)
                    .map_err(|e| unusable(&e))?;
                EncodingKey::from_ed_der(&key.private_der)
            }
        };
        Ok(Signer {
            kid: key.kid.clone(),
            alg: key.alg,
            key: material,
        })
    }

    /// A compact JWS of `claims`, with this key's `kid` in the header.
    ///
    /// # Errors
    /// `Sign` when the claims cannot be serialised or signed.
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        self.sign_typed("JWT", claims)
    }

    /// The signature, base64url, of `message` (a JWS's encoded header and payload, joined by a
    /// dot) with this key's algorithm: for a header written by hand.
    ///
    /// # Errors
    /// `Sign` when it cannot be signed.
    pub fn sign_message(&self, message: &[u8]) -> Result<String, KeyError> {
        jsonwebtoken::crypto::sign(message, &self.key, jws(self.alg))
            .map_err(|e| KeyError::Sign(e.to_string()))
    }

    /// Like [`Signer::sign`], with `typ` in the header (explicit typing, RFC 8725 §3.11: a
    /// logout token says `logout+jwt`, so it cannot pass for an ID token).
    ///
    /// # Errors
    /// `Sign` when the claims cannot be serialised or signed.
    pub fn sign_typed<T: Serialize>(&self, typ: &str, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(jws(self.alg));
        header.kid = Some(self.kid.clone());
        header.typ = Some(typ.to_owned());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| KeyError::Sign(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{DecodingKey, Validation, decode};

    fn key(kid: &str, alg: SigningAlg, signs_from: i64, retired_at: Option<i64>) -> SigningKey {
        SigningKey {
            kid: kid.into(),
            alg,
            private_der: vec![],
            public_jwk: String::new(),
            created_at: signs_from - 310,
            signs_from,
            retired_at,
            publish_until: None,
        }
    }

    #[test]
    fn the_signer_is_the_newest_key_of_its_algorithm_whose_time_has_come() {
        use SigningAlg::{EdDsa, Es256, Rs256};
        // RS256: old signs until new starts at 1310; newer was rotated in at 1020 and starts
        // at 1330. ES256 has one key throughout, rotated on its own; EdDSA has none.
        let keys = [
            key("old", Rs256, 0, Some(1310)),
            key("new", Rs256, 1310, Some(1330)),
            key("newer", Rs256, 1330, None),
            key("ec", Es256, 1000, None),
        ];
        let cases = [
            (Rs256, 1000, Some("old")),
            (Rs256, 1309, Some("old")),
            (Rs256, 1310, Some("new")),
            (Rs256, 1329, Some("new")),
            (Rs256, 1330, Some("newer")),
            (Rs256, 99999, Some("newer")),
            (Es256, 999, None),
            (Es256, 1000, Some("ec")),
            (Es256, 99999, Some("ec")),
            (EdDsa, 1330, None),
        ];
        for (alg, now, expected) in cases {
            assert_eq!(
                signing_key(&keys, alg, now).map(|k| k.kid.as_str()),
                expected,
                "{alg} at {now}"
            );
        }
        assert!(signing_key(&[], Rs256, 0).is_none());
        // Retired at once (compromised) and nothing newer yet: nothing signs.
        assert!(signing_key(&[key("gone", Rs256, 0, Some(5))], Rs256, 5).is_none());
    }

    #[test]
    fn a_generated_key_of_each_algorithm_signs_what_its_jwk_verifies() {
        for &alg in SigningAlg::ALL {
            let key = generate(alg, 1000).unwrap();
            assert_eq!(key.alg, alg);
            let set = jwks(std::slice::from_ref(&key)).unwrap();
            assert_eq!(set.keys.len(), 1);
            let jwk = &set.keys[0];
            assert_eq!(jwk.common.key_id.as_deref(), Some(key.kid.as_str()));
            assert_eq!(jwk.common.key_algorithm, Some(jwk_alg(alg)));

            let signer = Signer::new(&key).unwrap();
            let token = signer
                .sign(&serde_json::json!({"sub": "u1", "aud": "app", "exp": 4_000_000_000i64}))
                .unwrap();
            let header = jsonwebtoken::decode_header(&token).unwrap();
            assert_eq!(header.kid.as_deref(), Some(key.kid.as_str()));
            assert_eq!(header.alg, jws(alg));
            let mut validation = Validation::new(jws(alg));
            validation.set_audience(&["app"]);
            let data = decode::<serde_json::Value>(
                &token,
                &DecodingKey::from_jwk(jwk).unwrap(),
                &validation,
            )
            .unwrap();
            assert_eq!(data.claims["sub"], "u1", "{alg}");

            // Another key's JWK does not verify it.
            let other = generate(alg, 1000).unwrap();
            let other_jwk = &jwks(&[other]).unwrap().keys[0];
            assert!(
                decode::<serde_json::Value>(
                    &token,
                    &DecodingKey::from_jwk(other_jwk).unwrap(),
                    &validation
                )
                .is_err(),
                "{alg}"
            );
        }
    }

    #[test]
    fn an_id_token_hint_is_verified_but_may_be_expired() {
        let iss = "https://sso.example";
        let keys: Vec<SigningKey> = SigningAlg::ALL
            .iter()
            .map(|&alg| generate(alg, 1000).unwrap())
            .collect();
        let set = jwks(&keys).unwrap();
        for key in &keys {
            let signer = Signer::new(key).unwrap();
            let sign = |claims: serde_json::Value| signer.sign(&claims).unwrap();

            let expired =
                sign(serde_json::json!({"iss": iss, "sub": "u1", "aud": "app", "exp": 1}));
            let hint = verify_hint(&expired, &set, iss).unwrap();
            assert_eq!(
                hint,
                Hint {
                    sub: "u1".into(),
                    audiences: vec!["app".into()]
                }
            );
            let many =
                sign(serde_json::json!({"iss": iss, "sub": "u1", "aud": ["a", "b"], "exp": 1}));
            assert_eq!(verify_hint(&many, &set, iss).unwrap().audiences, ["a", "b"]);

            let refused = [
                sign(
                    serde_json::json!({"iss": "https://evil.example", "sub": "u1", "aud": "app", "exp": 1}),
                ),
                sign(serde_json::json!({"iss": iss, "aud": "app", "exp": 1})),
                "not.a.jwt".to_owned(),
                String::new(),
                // Signed by a key this server does not publish.
                Signer::new(&generate(key.alg, 0).unwrap())
                    .unwrap()
                    .sign(&serde_json::json!({"iss": iss, "sub": "u1", "aud": "app", "exp": 1}))
                    .unwrap(),
            ];
            for token in refused {
                assert!(verify_hint(&token, &set, iss).is_err(), "{token}");
            }
            let parts: Vec<&str> = expired.split('.').collect();
            // An unsigned token with the right kid is refused, and so is one whose header
            // names another algorithm than its key's (alg confusion: HS256 keyed with the
            // public key, or another asymmetric algorithm).
            for other in ["none", "HS256", "RS256", "ES256", "EdDSA"] {
                if other == key.alg.as_str() {
                    continue;
                }
                let header = URL_SAFE_NO_PAD
                    .encode(format!("{{\"alg\":\"{other}\",\"kid\":\"{}\"}}", key.kid));
                let forged = format!("{header}.{}.{}", parts[1], parts[2]);
                assert!(
                    verify_hint(&forged, &set, iss).is_err(),
                    "{} key, header {other}",
                    key.alg
                );
            }
        }
    }

    #[test]
    fn a_corrupt_stored_key_is_refused_clearly() {
        for &alg in SigningAlg::ALL {
            let mut key = generate(alg, 0).unwrap();
            key.private_der = vec![1, 2, 3];
            assert!(
                matches!(Signer::new(&key), Err(KeyError::Unusable(..))),
                "{alg}"
            );
            // A key of one algorithm stored as another's is refused too.
            let mut key = generate(alg, 0).unwrap();
            key.alg = SigningAlg::ALL.iter().copied().find(|&a| a != alg).unwrap();
            assert!(
                matches!(Signer::new(&key), Err(KeyError::Unusable(..))),
                "{alg} as {}",
                key.alg
            );
        }
    }
}
