//! Sign-up links, as administrators make and remove them (`auth::signup`): checked, stored,
//! audited.

use super::{Admin, AdminError, invalid};
use crate::auth::signup::{self, LinkSpec};
use crate::model::{AuditKind, SignupLink};
use crate::oidc::tokens;

/// Characters of a sign-up link's id: 48 random bits, enough to tell links apart, and short
/// enough to type on the command line.
const ID_CHARS: usize = 12;

impl Admin<'_> {
    /// Makes the sign-up link `spec` asks for (`auth::signup::new_link`), kept by its secret's
    /// hash and audited (`admin.signup_link.made`) in one transaction. The link's secret, shown
    /// only now, and the link as kept.
    ///
    /// # Errors
    /// `Invalid` for a number of people, days, a note or groups refused; `NotFound` for a group
    /// that does not exist; a store failure.
    pub async fn make_signup_link(
        &self,
        spec: LinkSpec,
    ) -> Result<(String, SignupLink), AdminError> {
        let secret = tokens::generate();
        let mut id = tokens::new_id();
        id.truncate(ID_CHARS);
        let link = signup::new_link(
            spec,
            id,
            tokens::hash(&secret),
            self.actor.clone(),
            self.now,
        )
        .map_err(invalid)?;
        let mut detail = format!(
            "for {} {} until {}",
            link.max_uses,
            if link.max_uses == 1 {
                "person"
            } else {
                "people"
            },
            crate::clock::rfc3339(link.expires_at)
        );
        if !link.groups.is_empty() {
            detail.push_str(&format!(", into {}", link.groups.join(", ")));
        }
        if !link.domains.is_empty() {
            detail.push_str(&format!(", for addresses at {}", link.domains.join(", ")));
        }
        if !link.note.is_empty() {
            detail.push_str(&format!(": {}", link.note));
        }
        let record = self.record(AuditKind::SignupLinkMade, &link.id, None, Some(detail));
        self.store.create_signup_link(link.clone(), record).await?;
        Ok((secret, link))
    }

    /// Every sign-up link, newest first.
    ///
    /// # Errors
    /// A store failure.
    pub async fn signup_links(&self) -> Result<Vec<SignupLink>, AdminError> {
        Ok(self.store.signup_links().await?)
    }

    /// Removes the sign-up link `id`, audited (`admin.signup_link.removed`): it makes no more
    /// accounts; those it made stay.
    ///
    /// # Errors
    /// `NotFound` when there is no such link; a store failure.
    pub async fn remove_signup_link(&self, id: &str) -> Result<(), AdminError> {
        let record = self.record(AuditKind::SignupLinkRemoved, id, None, None);
        Ok(self.store.remove_signup_link(id, record).await?)
    }
}
