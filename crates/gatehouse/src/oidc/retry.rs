//! Idempotent refresh: a client that sends one refresh request twice (two tabs, two replicas
//! of a proxy, a retry after a lost answer) gets the same answer twice, not a revoked family.
//!
//! When a refresh token is rotated, the new pair is kept beside the rotated token for a short
//! window, sealed with AES-256-GCM under a key of the deployment (stored like the form key, so
//! every instance opens what another sealed) and bound to the rotated token's hash. The pure
//! rule of when a retry gets it back is in [`super::grant::refresh_token::decide`].

use std::sync::Arc;

use aws_lc_rs::aead::{AES_256_GCM, Aad, NONCE_LEN, Nonce, RandomizedNonceKey};
use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// The name of the sealing key among the deployment's secrets.
pub const KEY_NAME: &str = "refresh-retry";

/// What a retry gets back: the pair the first request got.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Successor {
    /// The opaque access token; for a JWT access token, its `jti`: the JWT is signed again
    /// from the stored grant (`access_jwt`).
    pub access_token: String,
    pub refresh_token: String,
    pub access_expires_at: UnixTime,
    /// Whether the access token is a JWT (RFC 9068), and when it was issued.
    #[serde(default)]
    pub access_jwt: bool,
    #[serde(default)]
    pub access_issued_at: UnixTime,
    /// The resources the request named (RFC 8707, as `oidc::resource::asked` read them):
    /// a retry gets this answer only when it names the same ones ([`Successor::repeats`]).
    /// An answer kept by an earlier release names none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
}

impl Successor {
    /// Whether a request naming the resources `asked` repeats the one this answered: the
    /// same resources, in any order. A request for another API is a new request, and this
    /// answer's access token is not for it.
    pub fn repeats(&self, asked: &[String]) -> bool {
        self.resources.len() == asked.len() && asked.iter().all(|r| self.resources.contains(r))
    }
}

/// The key that seals successors.
#[derive(Clone)]
pub struct RetryKey(Arc<RandomizedNonceKey>);

impl std::fmt::Debug for RetryKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RetryKey(..)")
    }
}

/// A key that is not 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the refresh retry key must be 32 bytes")]
pub struct BadKey;

impl RetryKey {
    /// A key from 32 bytes of the deployment's secret.
    ///
    /// # Errors
    /// `BadKey` for a secret of another length.
    pub fn new(secret: &[u8]) -> Result<Self, BadKey> {
        RandomizedNonceKey::new(&AES_256_GCM, secret)
            .map(|k| RetryKey(Arc::new(k)))
            .map_err(|_| BadKey)
    }

    /// `successor` sealed for the rotated token `rotated_hash`: a random nonce, then the
    /// ciphertext and its tag.
    pub fn seal(&self, successor: &Successor, rotated_hash: &str) -> Vec<u8> {
        // Serialising three plain fields cannot fail.
        let mut data = serde_json::to_vec(successor).unwrap_or_default();
        match self
            .0
            .seal_in_place_append_tag(Aad::from(rotated_hash.as_bytes()), &mut data)
        {
            Ok(nonce) => {
                let mut sealed = nonce.as_ref().to_vec();
                sealed.extend_from_slice(&data);
                sealed
            }
            // AES-GCM sealing fails only on inputs of gigabytes: keep nothing, and the retry
            // is treated as reuse, as without a window.
            Err(_) => Vec::new(),
        }
    }

    /// The successor sealed in `sealed` for `rotated_hash`, or `None` when it was sealed for
    /// another token, with another key, or altered.
    pub fn open(&self, sealed: &[u8], rotated_hash: &str) -> Option<Successor> {
        if sealed.len() < NONCE_LEN {
            return None;
        }
        let (nonce, data) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(rotated_hash.as_bytes()), &mut data)
            .ok()?;
        serde_json::from_slice(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn successor() -> Successor {
        Successor {
            access_token: "access".into(),
            refresh_token: "refresh".into(),
            access_expires_at: 1_000_600,
            access_jwt: false,
            access_issued_at: 1_000_000,
            resources: vec![],
        }
    }

    #[test]
    fn a_retry_repeats_a_request_only_for_the_same_resources() {
        let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let for_ab = Successor {
            resources: strings(&["urn:a", "urn:b"]),
            ..successor()
        };
        let cases: &[(&str, &Successor, &[&str], bool)] = &[
            ("neither names any", &successor(), &[], true),
            ("the same two", &for_ab, &["urn:a", "urn:b"], true),
            (
                "the same two in another order",
                &for_ab,
                &["urn:b", "urn:a"],
                true,
            ),
            ("one of the two", &for_ab, &["urn:a"], false),
            ("none, after two", &for_ab, &[], false),
            ("one, after none", &successor(), &["urn:a"], false),
            ("another one", &for_ab, &["urn:a", "urn:c"], false),
            ("one more", &for_ab, &["urn:a", "urn:b", "urn:c"], false),
        ];
        for (case, answered, asked, repeats) in cases {
            assert_eq!(answered.repeats(&strings(asked)), *repeats, "{case}");
        }
    }

    #[test]
    fn an_answer_kept_by_an_earlier_release_names_no_resources() {
        let earlier = r#"{"access_token":"a","refresh_token":"r","access_expires_at":5}"#;
        let read: Successor = serde_json::from_str(earlier).unwrap();
        assert!(read.repeats(&[]));
        assert!(!read.repeats(&["urn:a".to_owned()]));
    }

    #[test]
    fn a_sealed_successor_opens_only_for_its_token_and_key() {
        let key = RetryKey::new(&[7; 32]).unwrap();
        let sealed = key.seal(&successor(), "hash-of-old");
        assert_eq!(key.open(&sealed, "hash-of-old"), Some(successor()));
        // Never the plaintext on disk, and a new nonce each time.
        assert!(!String::from_utf8_lossy(&sealed).contains("refresh"));
        assert_ne!(sealed, key.seal(&successor(), "hash-of-old"));

        assert_eq!(
            key.open(&sealed, "hash-of-another"),
            None,
            "bound to its token"
        );
        let other = RetryKey::new(&[8; 32]).unwrap();
        assert_eq!(other.open(&sealed, "hash-of-old"), None, "another key");
        for i in [0, NONCE_LEN, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[i] ^= 1;
            assert_eq!(key.open(&altered, "hash-of-old"), None, "byte {i} altered");
        }
        assert_eq!(key.open(&sealed[..NONCE_LEN + 3], "hash-of-old"), None);
        assert_eq!(key.open(&[], "hash-of-old"), None);
        assert!(RetryKey::new(&[0; 16]).is_err());
    }
}
