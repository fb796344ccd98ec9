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
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde::Serialize;

use crate::clock::UnixTime;
use crate::store::SigningKey;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key generation failed")]
    Generate,
    #[error("stored key {0} is unusable: {1}")]
    Unusable(String, String),
    #[error("signing failed: {0}")]
    Sign(String),
}

/// A new RS256 key, created at `now`.
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
        retired_at: None,
        publish_until: None,
    })
}

/// The JWKS document: every published key's public half.
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
    pub fn sign<T: Serialize>(&self, claims: &T) -> Result<String, KeyError> {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.key).map_err(|e| KeyError::Sign(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
    fn a_corrupt_stored_key_is_refused_clearly() {
        let mut key = generate_rs256(0).unwrap();
        key.private_der = vec![1, 2, 3];
        assert!(matches!(Signer::new(&key), Err(KeyError::Unusable(..))));
    }
}
