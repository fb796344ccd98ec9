//! Passwords: argon2id, on blocking threads, with a cap on how many hash at once; and the rule
//! for a new password.
//!
//! A password hash costs tens of milliseconds of a core by design. Unbounded, a flood of logins
//! would take every core and starve token requests, which need none; so at most `permits`
//! hashes run at once and the rest wait their turn.
//!
//! A new password (NIST SP 800-63B §3.1.1.2): at least 12 characters, long passphrases welcome
//! (up to 1024), no composition rules, and refused when it is easy to guess: a common
//! password, a keyboard pattern, a dictionary word with obvious substitutions, or the user's
//! own name. "Easy to guess" is zxcvbn's estimate below score 3 (fewer than 10^10 guesses).

use std::sync::{Arc, OnceLock};

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use tokio::sync::Semaphore;

/// Shortest password accepted when one is set.
pub const MIN_LENGTH: usize = 12;
/// Longest password accepted: hashing is cheap per byte, but unbounded input is not.
pub const MAX_LENGTH: usize = 1024;

#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the password must be at least {MIN_LENGTH} characters")]
    TooShort,
    #[error("the password must be at most {MAX_LENGTH} characters")]
    TooLong,
    /// Easy to guess: why, and what would be better.
    #[error("the password is too easy to guess: {0}")]
    TooWeak(Weakness),
    #[error("password hashing failed: {0}")]
    Hash(String),
}

pub use zxcvbn::feedback::{Suggestion, Warning};

/// Why a password is easy to guess, and what would make it harder, as zxcvbn estimates it.
/// `Display` says it in zxcvbn's English (the command line, the admin API); pages say it in
/// their own language.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Weakness {
    /// What is wrong with it, when zxcvbn can say.
    pub warning: Option<Warning>,
    /// What would be better, when zxcvbn can say.
    pub suggestion: Option<Suggestion>,
}

impl std::fmt::Display for Weakness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.warning {
            Some(warning) => write!(f, "{}.", warning.to_string().trim_end_matches('.'))?,
            None => f.write_str("it could be guessed quickly.")?,
        }
        match self.suggestion {
            Some(suggestion) => write!(f, " {suggestion}"),
            None => f.write_str(" Add another word or two that are not common together."),
        }
    }
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

    /// An argon2id PHC string for a new `password`, after checking it is long and hard enough
    /// to guess ([`check`]); `user_inputs` are what the password must not be built from (the
    /// username, the email address).
    ///
    /// # Errors
    /// A password too short, too long or too easy to guess ([`check`]), or a hashing failure.
    pub async fn hash(
        &self,
        password: String,
        user_inputs: Vec<String>,
    ) -> Result<String, PasswordError> {
        check_length(&password)?;
        let argon2 = self.argon2.clone();
        self.blocking(move || {
            check_strength(&password, &user_inputs)?;
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

    /// Runs `f` on a blocking thread once a permit is free. The permit moves into the blocking
    /// task: a caller that gives up (a client that disconnects mid-login) drops its future, but
    /// the hash it started runs on, and its permit stays taken until the hash is done, or a
    /// flood of abandoned logins would run any number of hashes at once.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, PasswordError> + Send + 'static,
    ) -> Result<T, PasswordError> {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|e| PasswordError::Hash(e.to_string()))?;
        tokio::task::spawn_blocking(move || {
            let result = f();
            drop(permit);
            result
        })
        .await
        .map_err(|e| PasswordError::Hash(e.to_string()))?
    }
}

/// Whether `password` may be set for a user with `user_inputs` (username, email): long
/// enough, short enough, and hard enough to guess. `Err` says why, in words for a person.
///
/// # Errors
/// What makes the password unacceptable.
pub fn check(password: &str, user_inputs: &[String]) -> Result<(), PasswordError> {
    check_length(password)?;
    check_strength(password, user_inputs)
}

fn check_length(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        Err(PasswordError::TooShort)
    } else if n > MAX_LENGTH {
        Err(PasswordError::TooLong)
    } else {
        Ok(())
    }
}

/// How much of a password the guessing estimate reads. zxcvbn's work grows faster than the
/// length; what lies beyond this many characters only makes a password harder to guess.
const STRENGTH_PREFIX: usize = 100;

fn check_strength(password: &str, user_inputs: &[String]) -> Result<(), PasswordError> {
    let prefix: String = password.chars().take(STRENGTH_PREFIX).collect();
    let inputs: Vec<&str> = user_inputs.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(&prefix, &inputs);
    if estimate.score() >= zxcvbn::Score::Three {
        return Ok(());
    }
    let feedback = estimate.feedback();
    Err(PasswordError::TooWeak(Weakness {
        warning: feedback.and_then(|f| f.warning()),
        suggestion: feedback.and_then(|f| f.suggestions().first().copied()),
    }))
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
        let h = p
            .hash("correct horse battery staple".into(), vec![])
            .await
            .unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(
            p.verify("correct horse battery staple".into(), Some(h.clone()))
                .await
        );
        assert!(!p.verify("wrong horse!".into(), Some(h)).await);
        assert!(
            !p.verify("correct horse battery staple".into(), None).await,
            "unknown user never matches"
        );
        assert!(!p.verify("x".into(), Some("not a phc string".into())).await);
    }

    #[tokio::test]
    async fn an_abandoned_hash_keeps_its_permit_until_it_is_done() {
        let p = Passwords::new(1);
        let (started_tx, started) = std::sync::mpsc::channel();
        let (finish, finish_rx) = std::sync::mpsc::channel::<()>();
        let caller = tokio::spawn({
            let p = p.clone();
            async move {
                p.blocking(move || {
                    started_tx.send(()).unwrap();
                    // Stands for argon2 still running after its caller is gone.
                    finish_rx.recv().unwrap();
                    Ok(())
                })
                .await
            }
        });
        tokio::task::spawn_blocking(move || started.recv().unwrap())
            .await
            .unwrap();
        caller.abort();
        assert!(caller.await.unwrap_err().is_cancelled());
        assert_eq!(
            p.permits.available_permits(),
            0,
            "the hash still runs: its permit is still taken"
        );
        finish.send(()).unwrap();
        // The permit comes back when the hash ends, and the next one runs.
        let next = p.blocking(|| Ok(7)).await.unwrap();
        assert_eq!(next, 7);
        assert_eq!(p.permits.available_permits(), 1);
    }

    #[tokio::test]
    async fn lengths_are_checked() {
        let p = Passwords::new(1);
        assert!(matches!(
            p.hash("short".into(), vec![]).await,
            Err(PasswordError::TooShort)
        ));
        assert!(matches!(
            p.hash("x".repeat(2000), vec![]).await,
            Err(PasswordError::TooLong)
        ));
    }

    #[test]
    fn common_patterned_and_personal_passwords_are_refused_with_a_reason() {
        let alice = vec!["alice".to_owned(), "alice@example.com".to_owned()];
        let refused = [
            "password1234",
            "qwertyuiopasdf",
            "123456789012",
            "aaaaaaaaaaaaaaaa",
            "P@ssw0rd2024!",
            "iloveyou12345",
            "alice@example.com",
            "alicealice123",
        ];
        for p in refused {
            match check(p, &alice) {
                Err(PasswordError::TooWeak(why)) => {
                    let why = why.to_string();
                    assert!(why.len() > 10 && why.ends_with('.'), "{p}: {why}")
                }
                other => panic!("{p}: {other:?}"),
            }
        }
        assert!(matches!(
            check("a".repeat(11).as_str(), &[]),
            Err(PasswordError::TooShort)
        ));
        let accepted = [
            "correct horse battery staple",
            "glacier umbrella quantum tulip",
            "Vq7#mL2!xR9@tK4$",
            // Long passphrases of any characters, beyond what the estimate reads.
            &"ein langer satz über berge ".repeat(20),
        ];
        for p in accepted {
            assert_eq!(check(p, &alice).map_err(|e| e.to_string()), Ok(()), "{p}");
        }
    }

    #[test]
    fn a_weakness_reads_in_zxcvbn_s_words_with_what_to_do_when_it_says_nothing() {
        let cases = [
            (
                Some(Warning::ThisIsACommonPassword),
                Some(Suggestion::AddAnotherWordOrTwo),
                "This is a very common password. Add another word or two. Uncommon words are \
                 better.",
            ),
            (
                None,
                None,
                "it could be guessed quickly. Add another word or two that are not common \
                 together.",
            ),
        ];
        for (warning, suggestion, said) in cases {
            let weakness = Weakness {
                warning,
                suggestion,
            };
            assert_eq!(weakness.to_string(), said);
        }
    }
}
