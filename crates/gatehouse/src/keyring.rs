//! The signing keys the server uses, cached from the store.
//!
//! Keys live in the store so that a rotation made by the CLI (or by another instance) reaches
//! every server: the cache is reloaded when it is older than [`RELOAD_AFTER`].

use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::JwkSet;

use crate::clock::UnixTime;
use crate::model::{AuditRecord, Retirement, SigningAlg, SigningKey};
use crate::oidc::keys::{self, KeyError, Signer};
use crate::store::{Store, StoreError};

/// How stale the cached keys may get: a rotated key is published within this time.
pub const RELOAD_AFTER: Duration = Duration::from_secs(10);

/// How long relying parties may cache `/jwks.json` (its `Cache-Control: max-age`).
pub const JWKS_MAX_AGE: i64 = 300;

/// How long a rotated key is published before it signs: every instance publishes it within
/// [`RELOAD_AFTER`], and every copy of the key set a relying party cached before then has
/// expired after [`JWKS_MAX_AGE`] more. So no token arrives signed by a key its relying party
/// cannot find.
pub const ACTIVATION_DELAY: i64 = JWKS_MAX_AGE + RELOAD_AFTER.as_secs() as i64;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Key(#[from] KeyError),
    #[error("there is no active {0} signing key; run `gatehouse keys rotate --alg {0}`")]
    NoActiveKey(SigningAlg),
    /// The thread parsing the keys panicked or was cancelled (the runtime shutting down).
    #[error("loading the signing keys was interrupted: {0}")]
    Interrupted(String),
}

/// The keys as last read from the store, parsed.
struct Loaded {
    at: Instant,
    /// The key signing now, for each algorithm that has one.
    signers: Vec<Signer>,
    jwks: Arc<JwkSet>,
}

impl Loaded {
    fn is_fresh(&self) -> bool {
        self.at.elapsed() < RELOAD_AFTER
    }
}

/// The cached keys. A request takes the current copy (an `Arc` cloned under a lock held for
/// nothing else, never across an await); when it is stale, one request reloads it, parses the
/// keys on a blocking thread, and swaps the new copy in, while the others go on with the old
/// one.
#[derive(Clone, Default)]
pub struct Keyring {
    current: Arc<RwLock<Option<Arc<Loaded>>>>,
    reloading: Arc<tokio::sync::Mutex<()>>,
}

impl Keyring {
    /// The key that signs new tokens with `alg`.
    ///
    /// # Errors
    /// A store failure while the keys are reloaded; `NoActiveKey` when no key of `alg` signs
    /// now.
    pub async fn signer(
        &self,
        store: &dyn Store,
        alg: SigningAlg,
        now: UnixTime,
    ) -> Result<Signer, KeyringError> {
        let loaded = self.loaded(store, now).await?;
        loaded
            .signers
            .iter()
            .find(|s| s.alg == alg)
            .cloned()
            .ok_or(KeyringError::NoActiveKey(alg))
    }

    /// The published keys (active and recently retired).
    ///
    /// # Errors
    /// A store failure while the keys are reloaded, or a stored key that cannot be published.
    pub async fn jwks(
        &self,
        store: &dyn Store,
        now: UnixTime,
    ) -> Result<Arc<JwkSet>, KeyringError> {
        Ok(Arc::clone(&self.loaded(store, now).await?.jwks))
    }

    /// Forgets the cache, so the next use reloads (after a rotation in this process).
    pub fn invalidate(&self) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = None;
    }

    fn current(&self) -> Option<Arc<Loaded>> {
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    async fn loaded(&self, store: &dyn Store, now: UnixTime) -> Result<Arc<Loaded>, KeyringError> {
        let current = self.current();
        if let Some(l) = current.as_ref().filter(|l| l.is_fresh()) {
            return Ok(Arc::clone(l));
        }
        // Stale: whoever gets the reload does it; the rest keep the stale copy meanwhile.
        // With no copy at all (the first requests) they wait for the one reload.
        let _reload = match (self.reloading.try_lock(), &current) {
            (Ok(guard), _) => guard,
            (Err(_), Some(stale)) => return Ok(Arc::clone(stale)),
            (Err(_), None) => self.reloading.lock().await,
        };
        if let Some(l) = self.current().filter(|l| l.is_fresh()) {
            return Ok(l);
        }
        let stored = store.signing_keys(now).await?;
        let previous = current.map(|l| l.signers.clone()).unwrap_or_default();
        // Parsing an RSA key costs more than a signature: once per reload, and off the async
        // threads; a key in use is kept as it is when it has not changed.
        let (signers, jwks) = tokio::task::spawn_blocking(move || {
            let signers = SigningAlg::ALL
                .iter()
                .filter_map(|&alg| keys::signing_key(&stored, alg, now))
                .map(|k| match previous.iter().find(|s| s.kid == k.kid) {
                    Some(s) => Ok(s.clone()),
                    None => Signer::new(k),
                })
                .collect::<Result<Vec<_>, _>>()?;
            Ok::<_, KeyError>((signers, keys::jwks(&stored)?))
        })
        .await
        .map_err(|e| KeyringError::Interrupted(e.to_string()))??;
        let loaded = Arc::new(Loaded {
            at: Instant::now(),
            signers,
            jwks: Arc::new(jwks),
        });
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::clone(&loaded));
        Ok(loaded)
    }
}

/// Makes sure every algorithm has a signing key: the first start creates them, and so does
/// the first start of a release that adds an algorithm. Such a key signs at once: no relying
/// party can have cached a key set that lacks it while asking for its algorithm, since no
/// client could choose the algorithm before. Returns the algorithms a key was created for.
///
/// # Errors
/// A store failure, or a key that cannot be made.
pub async fn ensure_active_keys(
    store: &dyn Store,
    now: UnixTime,
    publish_for: i64,
) -> Result<Vec<SigningAlg>, KeyringError> {
    let stored = store.signing_keys(now).await?;
    let mut created = Vec::new();
    for &alg in SigningAlg::ALL {
        if stored
            .iter()
            .any(|k| k.alg == alg && k.retired_at.is_none())
        {
            continue;
        }
        let key = generate(alg, now, now).await?;
        store
            .rotate_signing_key(
                key,
                Retirement::Gradual {
                    published_until: now + publish_for,
                },
                None,
            )
            .await?;
        created.push(alg);
    }
    Ok(created)
}

/// How a rotation treats the keys before the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    /// The new key is published now and signs after [`ACTIVATION_DELAY`]; until then the old
    /// key signs, and it stays published `publish_for` seconds after that (every token it
    /// signed has expired by then).
    Scheduled { publish_for: i64 },
    /// The old keys may be compromised: the new key signs at once and the old ones leave the
    /// key set at once, so tokens they signed stop verifying. Relying parties that cached the
    /// key set fail to verify new tokens until they fetch it again.
    Compromised,
}

impl Rotation {
    /// A scheduled rotation whose old key stays published until every ID token it signed (valid
    /// `id_token_ttl` seconds) has expired, and an hour more.
    pub fn scheduled(id_token_ttl: i64) -> Rotation {
        Rotation::Scheduled {
            publish_for: id_token_ttl + 3600,
        }
    }
}

/// What a rotation did: the new key, and when it signs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rotated {
    pub kid: String,
    pub alg: SigningAlg,
    pub signs_from: UnixTime,
}

/// Adds a new signing key for `alg`, as `rotation` says; the keys of other algorithms are left
/// as they are. `record` describes the rotation for the audit log, which the store writes in
/// the rotation's transaction.
///
/// # Errors
/// A store failure, or a key that cannot be made.
pub async fn rotate(
    store: &dyn Store,
    alg: SigningAlg,
    now: UnixTime,
    rotation: Rotation,
    record: impl FnOnce(&Rotated) -> AuditRecord,
) -> Result<Rotated, KeyringError> {
    let (signs_from, retirement) = match rotation {
        Rotation::Scheduled { publish_for } => {
            let signs_from = now + ACTIVATION_DELAY;
            let published_until = signs_from + publish_for;
            (signs_from, Retirement::Gradual { published_until })
        }
        Rotation::Compromised => (now, Retirement::Immediate),
    };
    let key = generate(alg, now, signs_from).await?;
    let rotated = Rotated {
        kid: key.kid.clone(),
        alg,
        signs_from,
    };
    store
        .rotate_signing_key(key, retirement, Some(record(&rotated)))
        .await?;
    Ok(rotated)
}

async fn generate(
    alg: SigningAlg,
    now: UnixTime,
    signs_from: UnixTime,
) -> Result<SigningKey, KeyringError> {
    // RSA key generation takes a while: not on the async threads.
    let mut key = tokio::task::spawn_blocking(move || keys::generate(alg, now))
        .await
        .map_err(|_| KeyError::Generate)??;
    key.signs_from = signs_from;
    Ok(key)
}
