//! A client's DPoP key and its proofs (RFC 9449), made as a client library would, with
//! aws-lc-rs and nothing of gatehouse's.

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

/// A client's DPoP key: a P-256 key pair.
pub struct DpopKey {
    pair: EcdsaKeyPair,
}

impl DpopKey {
    pub fn new() -> DpopKey {
        DpopKey {
            pair: EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING).unwrap(),
        }
    }

    /// The public key as a JWK, its members in RFC 7638's order.
    pub fn jwk(&self) -> Value {
        let point = self.pair.public_key().as_ref();
        assert_eq!(point[0], 4, "an uncompressed point");
        json!({
            "crv": "P-256",
            "kty": "EC",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        })
    }

    /// The key's thumbprint (RFC 7638): the SHA-256 of its required members, in order.
    pub fn thumbprint(&self) -> String {
        let jwk = self.jwk();
        let canonical = format!(
            r#"{{"crv":"P-256","kty":"EC","x":"{}","y":"{}"}}"#,
            jwk["x"].as_str().unwrap(),
            jwk["y"].as_str().unwrap()
        );
        URL_SAFE_NO_PAD.encode(Sha256::digest(canonical.as_bytes()))
    }

    /// A proof with these claims.
    pub fn sign(&self, claims: &Value) -> String {
        let header = json!({ "typ": "dpop+jwt", "alg": "ES256", "jwk": self.jwk() });
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = self
            .pair
            .sign(&SystemRandom::new(), message.as_bytes())
            .unwrap();
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
    }

    /// A fresh proof for a `method` request to `url`, naming `access_token` if there is one.
    pub fn proof(&self, method: &str, url: &str, access_token: Option<&str>) -> String {
        self.proof_with_nonce(method, url, access_token, None)
    }

    /// As [`DpopKey::proof`], carrying the server's `nonce` if one is given.
    pub fn proof_with_nonce(
        &self,
        method: &str,
        url: &str,
        access_token: Option<&str>,
        nonce: Option<&str>,
    ) -> String {
        let mut claims = json!({
            "jti": gatehouse::oidc::tokens::generate(),
            "htm": method,
            "htu": url,
            "iat": now(),
        });
        if let Some(token) = access_token {
            claims["ath"] = URL_SAFE_NO_PAD
                .encode(Sha256::digest(token.as_bytes()))
                .into();
        }
        if let Some(nonce) = nonce {
            claims["nonce"] = nonce.into();
        }
        self.sign(&claims)
    }
}

pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
