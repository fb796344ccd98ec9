//! The signing keys the server uses, cached from the store.
//!
//! Keys live in the store so that a rotation made by the CLI (or by another instance) reaches
//! every server: the cache is reloaded when it is older than [`RELOAD_AFTER`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;
use tokio::sync::Mutex;

use crate::clock::UnixTime;
use crate::oidc::keys::{self, KeyError, Signer};
use crate::store::{Store, StoreError};

/// How stale the cached keys may get: a rotated key is used and published within this time.
pub const RELOAD_AFTER: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("there is no active signing key; run `gatehouse keys rotate`")]
    NoActiveKey,
}

struct Loaded {
    at: Instant,
    signer: Option<Signer>,
    jwks: Arc<JwkSet>,
}

#[derive(Clone, Default)]
pub struct Keyring {
    cache: Arc<Mutex<Option<Loaded>>>,
}

impl Keyring {
    /// The key that signs new tokens.
    pub async fn signer(&self, store: &dyn Store, now: UnixTime) -> Result<Signer, KeyringError> {
        self.with_loaded(store, now, |l| {
            l.signer.clone().ok_or(KeyringError::NoActiveKey)
        })
        .await
    }

    /// The published keys (active and recently retired).
    pub async fn jwks(
        &self,
        store: &dyn Store,
        now: UnixTime,
    ) -> Result<Arc<JwkSet>, KeyringError> {
        self.with_loaded(store, now, |l| Ok(Arc::clone(&l.jwks)))
            .await
    }

    /// Forgets the cache, so the next use reloads (after a rotation in this process).
    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    async fn with_loaded<T>(
        &self,
        store: &dyn Store,
        now: UnixTime,
        f: impl FnOnce(&Loaded) -> Result<T, KeyringError>,
    ) -> Result<T, KeyringError> {
        let mut cache = self.cache.lock().await;
        if cache
            .as_ref()
            .is_none_or(|l| l.at.elapsed() >= RELOAD_AFTER)
        {
            let stored = store.signing_keys(now).await?;
            let active = stored.iter().find(|k| k.retired_at.is_none());
            // Parsing an RSA key costs more than a signature: do it once per reload.
            let signer = match (active, cache.as_ref().and_then(|l| l.signer.as_ref())) {
                (Some(k), Some(s)) if s.kid == k.kid => Some(s.clone()),
                (Some(k), _) => Some(Signer::new(k)?),
                (None, _) => None,
            };
            *cache = Some(Loaded {
                at: Instant::now(),
                signer,
                jwks: Arc::new(keys::jwks(&stored)?),
            });
        }
        match cache.as_ref() {
            Some(loaded) => f(loaded),
            None => Err(KeyringError::NoActiveKey),
        }
    }
}

/// Makes sure an active signing key exists (the first start creates one). Returns whether one
/// was created.
pub async fn ensure_active_key(
    store: &dyn Store,
    now: UnixTime,
    publish_for: i64,
) -> Result<bool, KeyringError> {
    if store
        .signing_keys(now)
        .await?
        .iter()
        .any(|k| k.retired_at.is_none())
    {
        return Ok(false);
    }
    rotate(store, now, publish_for).await?;
    Ok(true)
}

/// Adds a new active key; the old one signs nothing more but stays published for
/// `publish_for` seconds.
pub async fn rotate(
    store: &dyn Store,
    now: UnixTime,
    publish_for: i64,
) -> Result<String, KeyringError> {
    // RSA key generation takes a while: not on the async threads.
    let key = tokio::task::spawn_blocking(move || keys::generate_rs256(now))
        .await
        .map_err(|_| KeyError::Generate)??;
    let kid = key.kid.clone();
    store.rotate_signing_key(key, publish_for).await?;
    Ok(kid)
}
