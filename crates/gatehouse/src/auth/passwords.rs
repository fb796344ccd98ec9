//! Passwords: argon2id, on blocking threads, with a cap on how many hash at once.
//!
//! A password hash costs tens of milliseconds of a core by design. Unbounded, a flood of logins
//! would take every core and starve token requests, which need none; so at most `permits`
//! hashes run at once and the rest wait their turn.

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Shortest password accepted when one is set.
pub const MIN_LENGTH: usize = 8;
/// Longest password accepted: hashing is cheap per byte, but unbounded input is not.
pub const MAX_LENGTH: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password must be at most {MAX_LENGTH} characters")]
    TooLong,
    #[error("password hashing failed: {0}")]
    Hash(String),
}

#[derive(Clone)]
pub struct Passwords {
    permits: Arc<Semaphore>,
    argon2: Argon2<'static>,
}

impl Passwords {
    /// `concurrency` hashes at most at once (at least 1).
    pub fn new(concurrency: usize) -> Self {
        Passwords {
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
            argon2: argon2(),
        }
    }

    /// An argon2id PHC string for `password`, after checking its length.
    pub async fn hash(&self, password: String) -> Result<String, PasswordError> {
        check(&password)?;
        let argon2 = self.argon2.clone();
        self.blocking(move || {
            let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
            argon2
                .hash_password(password.as_bytes(), &salt)
                .map(|h| h.to_string())
                .map_err(|e| PasswordError::Hash(e.to_string()))
        })
        .await
    }

    /// Whether `password` matches `stored` (a PHC string). With `None` (unknown user) it
    /// verifies against a dummy hash anyway, so an unknown username costs as much time as a
    /// wrong password and reveals nothing.
    pub async fn verify(&self, password: String, stored: Option<String>) -> bool {
        let argon2 = self.argon2.clone();
        self.blocking(move || {
            let (stored, real) = match stored {
                Some(s) => (s, true),
                None => (dummy_hash().to_owned(), false),
            };
            let Ok(parsed) = PasswordHash::new(&stored) else {
                return Ok(false);
            };
            let ok = argon2.verify_password(password.as_bytes(), &parsed).is_ok();
            Ok::<_, PasswordError>(ok && real)
        })
        .await
        .unwrap_or(false)
    }

    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(f)
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))?
    }
}

pub fn check(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        Err(PasswordError::TooShort)
    } else if n > MAX_LENGTH {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// argon2id with the OWASP-recommended minimum (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    // Constant parameters within argon2's bounds: construction cannot fail.
    let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_else(|_| unreachable!());
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A hash of a random password with the same parameters, made once.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2()
            .hash_password(crate::oidc::tokens::generate().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let p = Passwords::new(2);
        let h = p.hash("correct horse".into()).await.unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(p.verify("correct horse".into(), Some(h.clone())).await);
        assert!(!p.verify("wrong horse!".into(), Some(h)).await);
        assert!(
            !p.verify("correct horse".into(), None).await,
            "unknown user never matches"
        );
        assert!(!p.verify("x".into(), Some("not a phc string".into())).await);
    }

    #[tokio::test]
    async fn lengths_are_checked() {
        let p = Passwords::new(1);
        assert!(matches!(
            p.hash("short".into()).await,
            Err(PasswordError::TooShort)
        ));
        assert!(matches!(
            p.hash("x".repeat(2000)).await,
            Err(PasswordError::TooLong)
        ));
    }
}
