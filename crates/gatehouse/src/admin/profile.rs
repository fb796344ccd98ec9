//! A person's profile and email address, as administrators set them: checked, stored,
//! audited. What the claims then say is `oidc::claims`.

use super::{Admin, AdminError, NameField, Refusal, check_email, invalid};
use crate::model::{AuditKind, Profile, User, UserChange, UserEdit};

/// The longest name, given name or family name.
pub const MAX_NAME: usize = 256;
/// The longest picture URL.
pub const MAX_PICTURE: usize = 2048;

/// Changes to a profile: each field given is set, `Some(None)` clears it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProfileChange {
    pub name: Option<Option<String>>,
    pub given_name: Option<Option<String>>,
    pub family_name: Option<Option<String>>,
    pub locale: Option<Option<String>>,
    pub picture: Option<Option<String>>,
}

impl ProfileChange {
    fn is_empty(&self) -> bool {
        *self == ProfileChange::default()
    }
}

/// Why a name, given name or family name is refused, if it is.
fn name_problem(what: NameField, value: &str) -> Option<Refusal> {
    if value.chars().count() > MAX_NAME {
        return Some(Refusal::NameTooLong(what));
    }
    if value
        .chars()
        .any(|c| c.is_control() || crate::text::is_invisible(c))
    {
        return Some(Refusal::NameInvisible(what));
    }
    None
}

/// A BCP 47 language tag as OpenID Connect Core §5.1 uses it (`en`, `en-GB`, `zh-Hant-TW`):
/// a 2-8 letter language, then subtags of 1-8 letters or digits. `_` is read as `-`.
fn locale_problem(value: &str) -> Option<Refusal> {
    let mut parts = value.split(['-', '_']);
    let language = parts.next().unwrap_or_default();
    let ok = (2..=8).contains(&language.len())
        && language.chars().all(|c| c.is_ascii_alphabetic())
        && parts
            .all(|p| (1..=8).contains(&p.len()) && p.chars().all(|c| c.is_ascii_alphanumeric()));
    (!ok).then(|| Refusal::Locale(value.to_owned()))
}

/// A picture is an https URL (http only on the local machine, for tests and development).
fn picture_problem(value: &str) -> Option<Refusal> {
    if value.len() > MAX_PICTURE {
        return Some(Refusal::PictureTooLong);
    }
    let local = |u: &url::Url| matches!(u.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
    match url::Url::parse(value) {
        Ok(u) if u.scheme() == "https" || (u.scheme() == "http" && local(&u)) => None,
        _ => Some(Refusal::PictureNotHttps(value.to_owned())),
    }
}

/// Checks every field of a profile, and the display name beside it.
///
/// # Errors
/// `Invalid`, naming the field and what is wrong with it.
pub fn check_profile(name: Option<&str>, p: &Profile) -> Result<(), AdminError> {
    let problems = [
        name.and_then(|v| name_problem(NameField::Name, v)),
        p.given_name
            .as_deref()
            .and_then(|v| name_problem(NameField::GivenName, v)),
        p.family_name
            .as_deref()
            .and_then(|v| name_problem(NameField::FamilyName, v)),
        p.locale.as_deref().and_then(locale_problem),
        p.picture.as_deref().and_then(picture_problem),
    ];
    match problems.into_iter().flatten().next() {
        Some(problem) => Err(invalid(problem)),
        None => Ok(()),
    }
}

/// Blank text is no value.
pub(super) fn given(v: Option<String>) -> Option<String> {
    v.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty())
}

impl Admin<'_> {
    /// Changes the user's display name and profile, and audits which fields changed. The
    /// `updated_at` claim becomes now.
    ///
    /// # Errors
    /// `Invalid` for a field that is refused; `NotFound` when no user has that name; a store
    /// failure.
    pub async fn update_profile(
        &self,
        username: &str,
        change: ProfileChange,
    ) -> Result<User, AdminError> {
        let user = self.user(username).await?;
        let Some(edit) = self.profile_edit(&user, change)? else {
            return Ok(user);
        };
        self.apply(&user, vec![edit]).await?;
        self.user(&user.username).await
    }

    /// Sets the user's email address and whether it is known to be theirs. A new address is
    /// unverified unless `verified` says otherwise; `verified` alone keeps the address.
    ///
    /// # Errors
    /// `Invalid` for a malformed address; `NotFound` when no user has that name; a store
    /// failure.
    pub async fn set_email(
        &self,
        username: &str,
        email: Option<String>,
        verified: Option<bool>,
    ) -> Result<User, AdminError> {
        let user = self.user(username).await?;
        let Some(edit) = self.email_edit(&user, email, verified)? else {
            return Ok(user);
        };
        self.apply(&user, vec![edit]).await?;
        self.user(&user.username).await
    }

    /// The edit making `change` to `user`'s profile, checked and audited with the fields it
    /// sets; `None` when it sets none.
    pub(super) fn profile_edit(
        &self,
        user: &User,
        change: ProfileChange,
    ) -> Result<Option<UserEdit>, AdminError> {
        if change.is_empty() {
            return Ok(None);
        }
        let mut fields = Vec::new();
        let mut set =
            |field: &'static str, slot: &mut Option<String>, value: Option<Option<String>>| {
                if let Some(v) = value {
                    *slot = given(v);
                    fields.push(field);
                }
            };
        let (mut name, mut profile) = (user.name.clone(), user.profile.clone());
        set("name", &mut name, change.name);
        set("given_name", &mut profile.given_name, change.given_name);
        set("family_name", &mut profile.family_name, change.family_name);
        set("locale", &mut profile.locale, change.locale);
        set("picture", &mut profile.picture, change.picture);
        check_profile(name.as_deref(), &profile)?;
        profile.updated_at = Some(self.now);
        let detail = Some(format!("fields={}", fields.join(",")));
        let audit = Some(self.record(AuditKind::ProfileUpdated, &user.username, None, detail));
        let change = UserChange::SetProfile { name, profile };
        Ok(Some(UserEdit { change, audit }))
    }

    /// The edit setting `user`'s address (the same one when `None`) and whether it is
    /// confirmed (a new address is not, an unchanged one stays as it is, unless `verified`
    /// says otherwise); `None` when both stay as they are.
    pub(super) fn email_edit(
        &self,
        user: &User,
        email: Option<String>,
        verified: Option<bool>,
    ) -> Result<Option<UserEdit>, AdminError> {
        let email = email.unwrap_or_else(|| user.email.clone());
        check_email(&email)?;
        let verified = verified.unwrap_or(email == user.email && user.email_verified);
        if email == user.email && verified == user.email_verified {
            return Ok(None);
        }
        let detail = if email == user.email {
            format!("verified={verified}")
        } else {
            format!("address changed, verified={verified}")
        };
        let audit = Some(self.record(AuditKind::EmailSet, &user.username, None, Some(detail)));
        let change = UserChange::SetEmail { email, verified };
        Ok(Some(UserEdit { change, audit }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_fields() {
        let ok = Profile {
            given_name: Some("Ada".into()),
            family_name: Some("Lovelace".into()),
            locale: Some("en-GB".into()),
            picture: Some("https://example.com/ada.png".into()),
            updated_at: None,
        };
        assert!(check_profile(Some("Ada Lovelace"), &ok).is_ok());
        for locale in ["en", "zh-Hant-TW", "de_CH", "gsw"] {
            assert_eq!(locale_problem(locale), None, "{locale}");
        }
        let refused: Vec<(&str, Profile)> = vec![
            (
                "a locale that is not one",
                Profile {
                    locale: Some("english!".into()),
                    ..ok.clone()
                },
            ),
            (
                "an empty subtag",
                Profile {
                    locale: Some("en-".into()),
                    ..ok.clone()
                },
            ),
            (
                "a picture over http",
                Profile {
                    picture: Some("http://example.com/a.png".into()),
                    ..ok.clone()
                },
            ),
            (
                "a script as a picture",
                Profile {
                    picture: Some("javascript:alert(1)".into()),
                    ..ok.clone()
                },
            ),
            (
                "a newline in a name",
                Profile {
                    given_name: Some("Ada\nEvil".into()),
                    ..ok.clone()
                },
            ),
            (
                "an invisible character",
                Profile {
                    family_name: Some("Love\u{200b}lace".into()),
                    ..ok.clone()
                },
            ),
            (
                "a name too long",
                Profile {
                    given_name: Some("a".repeat(257)),
                    ..ok.clone()
                },
            ),
        ];
        for (what, p) in refused {
            assert!(check_profile(None, &p).is_err(), "{what}");
        }
        assert!(check_profile(Some("two\nlines"), &ok).is_err());
        assert!(picture_problem("http://localhost:8080/a.png").is_none());
    }
}
