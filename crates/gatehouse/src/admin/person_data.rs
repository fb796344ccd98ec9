//! What gatehouse holds about a person, read from the store for their account page, for the
//! file they download of it, and for an administrator answering a request for it
//! (`auth::own_data` makes the file).

use serde_json::Value;

use super::{Admin, AdminError};
use crate::auth::own_data::{self, MAX_ACTIVITY, OwnData};
use crate::clock::UnixTime;
use crate::model::{
    AuditEvent, AuditKind, Consent, CustomClaims, Factors, Session, StaysSignedIn, User,
};
use crate::store::{Store, StoreResult};

/// What the store holds about a person, as the account page and the file of their data show it.
#[derive(Debug, Clone)]
pub struct Held {
    /// The groups they are in, by name.
    pub groups: Vec<String>,
    pub factors: Factors,
    /// Their live sessions, newest first.
    pub sessions: Vec<Session>,
    /// What they allowed applications, with each application's name.
    pub consents: Vec<(Consent, String)>,
    /// The applications that stay signed in when they sign out, with each one's name.
    pub staying: Vec<(StaysSignedIn, String)>,
    /// The custom claims applications are told (`oidc::claims::custom`).
    pub claims: CustomClaims,
    /// Records of their activity (the personal kinds), newest first, as they are shown them
    /// (`own_data::as_shown`).
    pub activity: Vec<AuditEvent>,
    /// The domains of their address rule; none: no rule.
    pub address_domains: Vec<String>,
}

impl Held {
    /// Reads what the store holds about `user` at `now`, with at most `activity` records: of
    /// what was done since their account was made. A name is free again once its account is
    /// removed, and the log keeps the records about whoever had it: those are not theirs. Of
    /// what an administrator did, the records say neither browser nor address.
    ///
    /// # Errors
    /// A store failure.
    pub async fn read(
        store: &dyn Store,
        user: &User,
        now: UnixTime,
        activity: usize,
    ) -> StoreResult<Held> {
        let groups = store.user_groups(&user.id).await?;
        let claims = store.claims_to_release(&user.id).await?;
        Ok(Held {
            groups: groups.into_iter().map(|g| g.name).collect(),
            factors: store.factors(&user.id).await?,
            sessions: store.sessions(&user.id, now).await?,
            consents: allowed_apps(store, &user.id).await?,
            staying: staying_apps(store, &user.id, now).await?,
            claims: crate::oidc::claims::custom(&claims),
            activity: store
                .audit_about(
                    &user.username,
                    user.created_at,
                    AuditKind::PERSONAL,
                    activity,
                )
                .await?
                .into_iter()
                .map(|event| own_data::as_shown(event, &user.id))
                .collect(),
            address_domains: store.address_rule(&user.id).await?,
        })
    }
}

/// The file of `user`'s data (`auth::own_data`), as they download it at `now` from `issuer`:
/// what their account page shows (the applications that stay signed in included), more of
/// their activity, and the applications given tokens for them.
///
/// # Errors
/// A store failure.
pub async fn file(
    store: &dyn Store,
    user: &User,
    issuer: &str,
    now: UnixTime,
) -> StoreResult<Value> {
    let held = Held::read(store, user, now, MAX_ACTIVITY).await?;
    let mut tokens_issued = Vec::new();
    for issued in store
        .tokens_issued_about(&user.username, user.created_at)
        .await?
    {
        let name = app_name(store, &issued.client_id).await?;
        tokens_issued.push((issued, name));
    }
    let data = OwnData {
        user,
        groups: &held.groups,
        address_domains: &held.address_domains,
        factors: &held.factors,
        sessions: &held.sessions,
        consents: &held.consents,
        staying: &held.staying,
        claims: &held.claims,
        activity: &held.activity,
        tokens_issued: &tokens_issued,
    };
    Ok(own_data::document(&data, issuer, now))
}

/// The name of the application `client_id` as a person is shown it: its id where it is gone.
///
/// # Errors
/// A store failure.
pub async fn app_name(store: &dyn Store, client_id: &str) -> StoreResult<String> {
    Ok(match store.client(client_id).await? {
        Some(c) => c.display_name().to_owned(),
        None => client_id.to_owned(),
    })
}

/// The applications that stay signed in as the person `user_id` at `now`, with each one's
/// name.
///
/// # Errors
/// A store failure.
pub async fn staying_apps(
    store: &dyn Store,
    user_id: &str,
    now: UnixTime,
) -> StoreResult<Vec<(StaysSignedIn, String)>> {
    let mut apps = Vec::new();
    for app in store.staying_signed_in(user_id, now).await? {
        let name = app_name(store, &app.client_id).await?;
        apps.push((app, name));
    }
    Ok(apps)
}

/// What the person `user_id` allowed applications, with each application's name (its id
/// where the application is gone).
///
/// # Errors
/// A store failure.
pub async fn allowed_apps(store: &dyn Store, user_id: &str) -> StoreResult<Vec<(Consent, String)>> {
    let mut apps = Vec::new();
    for consent in store.consents(user_id).await? {
        let name = app_name(store, &consent.client_id).await?;
        apps.push((consent, name));
    }
    Ok(apps)
}

impl Admin<'_> {
    /// The file of the person's data (`auth::own_data`), as they would download it from
    /// `issuer`: for an administrator answering their request for it (a person who cannot sign
    /// in, say). Reading it changes nothing and writes no record.
    ///
    /// # Errors
    /// `NotFound` when no user has that name; a store failure.
    pub async fn person_data(&self, username: &str, issuer: &str) -> Result<Value, AdminError> {
        let user = self.user(username).await?;
        Ok(file(self.store, &user, issuer, self.now).await?)
    }
}
