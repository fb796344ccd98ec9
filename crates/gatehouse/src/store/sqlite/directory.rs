//! Users, clients and consents.

use async_trait::async_trait;
use onewriter::rusqlite::{self, Connection, OptionalExtension, params};

use super::audit::insert_outcome_audit;
use super::outbox::{addressee, leaving, queue_notice};
use super::rows::{client_from, json_list, user_from};
use super::sessions::log_out_user;
use super::{SqliteStore, conflict_as};
use crate::auth::notices;
use crate::auth::username;
use crate::clock::UnixTime;
use crate::model::{
    AuditRecord, Client, ClientKeys, ClientLogo, Consent, LoggedOut, Named, OneTime, RevokeReason,
    StaysSignedIn, UsedBefore, User, UserChange, UserEdit,
};
use crate::oidc::scope;
use crate::store::columns::{
    NO_PASSWORD, client_columns, sign_out_application, staying_signed_in, user_columns,
};
use crate::store::{Directory, StoreError, StoreResult, Whom, found};

/// Gives the client `logo`, given at `at`, in place of the one it had.
pub(super) fn put_logo(
    tx: &Connection,
    client_id: &str,
    logo: &ClientLogo,
    at: UnixTime,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT INTO client_logo (client_id, content_type, bytes, version, updated_at)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (client_id) DO UPDATE SET content_type = excluded.content_type,
             bytes = excluded.bytes, version = excluded.version, updated_at = excluded.updated_at",
    )?
    .execute(params![
        client_id,
        logo.content_type,
        logo.bytes,
        logo.version,
        at
    ])
}

/// Takes each of `once`, the one-time JWTs `client_id` sent, unless taken before and still
/// kept at `now` (`Directory::take_once`); the first of those is the answer.
pub(super) fn take_once(
    tx: &Connection,
    client_id: &str,
    once: &[OneTime],
    now: UnixTime,
) -> rusqlite::Result<Result<(), UsedBefore>> {
    let mut first_taken_before = None;
    for jwt in once {
        let taken = tx
            .prepare_cached(
                "INSERT INTO client_assertion (client_id, jti_hash, expires_at)
                 VALUES (?1, ?2, ?3)
                 ON CONFLICT (client_id, jti_hash) DO UPDATE SET expires_at = excluded.expires_at
                 WHERE client_assertion.expires_at <= ?4",
            )?
            .execute(params![client_id, jwt.key, jwt.kept_until, now])?;
        if taken == 0 {
            first_taken_before.get_or_insert(UsedBefore(jwt.kind));
        }
    }
    Ok(first_taken_before.map_or(Ok(()), Err))
}

/// Every column of the user, for a new one or an import.
/// A user whose username's look-alike key is `key` (`auth::username::stored_look_alike_key`),
/// if there is one: what a new name is refused for, decided in the transaction that adds it.
pub(super) fn looking_like(tx: &Connection, key: &str) -> rusqlite::Result<Option<User>> {
    tx.prepare_cached(concat!(
        "SELECT ",
        user_columns!(),
        " FROM user_account u WHERE u.look_alike = ?1 LIMIT 1"
    ))?
    .query_row([key], |r| user_from(r, 0))
    .optional()
}

pub(super) fn insert_user(tx: &Connection, u: &User) -> rusqlite::Result<usize> {
    tx.prepare_cached(
        "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at,
             email_verified, given_name, family_name, locale, picture, updated_at, look_alike)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)",
    )?
    .execute(params![
        u.id,
        u.username,
        u.email,
        u.name,
        u.password_hash.as_deref().unwrap_or(NO_PASSWORD),
        u.disabled,
        u.created_at,
        u.email_verified,
        u.profile.given_name,
        u.profile.family_name,
        u.profile.locale,
        u.profile.picture,
        u.profile.updated_at,
        username::stored_look_alike_key(&u.username)
    ])
}

/// Makes `change` to the user `user_id`, ending their sessions and token families where it
/// does (`UserChange::signs_out`): what was ended.
pub(super) fn apply_user_change(
    tx: &Connection,
    user_id: &str,
    change: &UserChange,
    now: UnixTime,
) -> rusqlite::Result<LoggedOut> {
    match change {
        UserChange::Disable | UserChange::Enable => tx
            .prepare_cached("UPDATE user_account SET disabled = ?2 WHERE id = ?1")?
            .execute(params![user_id, *change == UserChange::Disable])?,
        UserChange::SetPassword(hash) => tx
            .prepare_cached("UPDATE user_account SET password_hash = ?2 WHERE id = ?1")?
            .execute(params![user_id, hash])?,
        UserChange::PasskeyInstead(passkey) => {
            super::passkeys::insert_passkey(tx, passkey, false)?;
            tx.prepare_cached("UPDATE user_account SET password_hash = ?2 WHERE id = ?1")?
                .execute(params![user_id, NO_PASSWORD])?
        }
        UserChange::AddPasskey(passkey) => super::passkeys::insert_passkey(tx, passkey, false)?,
        UserChange::SetEmail { email, verified } => {
            tell_old_address(tx, user_id, email, now)?;
            tx.prepare_cached(
                "UPDATE user_account SET email = ?2, email_verified = ?3 WHERE id = ?1",
            )?
            .execute(params![user_id, email, verified])?
        }
        UserChange::SetProfile { name, profile } => tx
            .prepare_cached(
                "UPDATE user_account SET name = ?2, given_name = ?3, family_name = ?4,
                     locale = ?5, picture = ?6, updated_at = ?7
                 WHERE id = ?1",
            )?
            .execute(params![
                user_id,
                name,
                profile.given_name,
                profile.family_name,
                profile.locale,
                profile.picture,
                profile.updated_at
            ])?,
    };
    match change.signs_out() {
        Some(reason) => log_out_user(tx, user_id, now, reason),
        None => Ok(LoggedOut::default()),
    }
}

/// Queues the notice the address of `user_id` becoming `after` calls for
/// (`notices::for_new_address`), read before it changes.
fn tell_old_address(
    tx: &Connection,
    user_id: &str,
    after: &str,
    now: UnixTime,
) -> rusqlite::Result<()> {
    let before = addressee(tx, Whom::Id(user_id))?;
    if let Some(notice) = before.and_then(|p| notices::for_new_address(&p, after, now)) {
        queue_notice(tx, &notice)?;
    }
    Ok(())
}

/// Every column of the client, for a new one or an import.
pub(super) fn insert_client(tx: &Connection, c: &Client) -> rusqlite::Result<usize> {
    tx.prepare_cached(concat!(
        "INSERT INTO client (",
        client_columns!(),
        ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
           ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28)"
    ))?
    .execute(params![
        c.client_id,
        c.secret_hash,
        json_list(&c.redirect_uris),
        json_list(&c.post_logout_redirect_uris),
        json_list(&c.scopes),
        json_list(&c.grant_types),
        c.first_party,
        c.created_at,
        c.display.name,
        c.display.logo_uri,
        c.display.home_uri,
        c.previous_secret.as_ref().map(|p| &p.hash),
        c.previous_secret.as_ref().map(|p| p.until),
        c.id_token_claims.as_deref().map(json_list),
        c.id_token_signed_response_alg,
        c.backchannel_logout_uri,
        c.access_token_format,
        c.auth_policy,
        c.jwks.as_ref().map(ClientKeys::to_json),
        c.require_pushed_authorization_requests,
        c.jwks_uri,
        c.require_signed_request_object,
        c.dpop_bound_access_tokens,
        stored_claims(&c.access_token_claims),
        c.pairwise_sector,
        c.require_confirmed_address,
        stored_claims(&c.resources),
        stored_claims(&c.introspects),
    ])
}

/// A client's access token claims, resources or introspected APIs as stored: none is NULL.
fn stored_claims(claims: &[String]) -> Option<String> {
    (!claims.is_empty()).then(|| json_list(claims))
}

pub(super) fn user_id_of(tx: &Connection, username: &str) -> rusqlite::Result<Option<String>> {
    tx.prepare_cached("SELECT id FROM user_account WHERE username = ?1")?
        .query_row([username], |r| r.get(0))
        .optional()
}

impl SqliteStore {
    /// Runs `change` in one writer transaction on the user named `username` (by their id).
    /// `NotFound`, and nothing written, when there is no such user.
    async fn on_user<T: Send + 'static>(
        &self,
        username: &str,
        change: impl Fn(&Connection, &str) -> rusqlite::Result<T> + Send + 'static,
    ) -> StoreResult<T> {
        let name = username.to_owned();
        let out = self
            .write(move |tx| match user_id_of(tx, &name)? {
                Some(user_id) => change(tx, &user_id).map(Some),
                None => Ok(None),
            })
            .await?;
        out.ok_or_else(|| StoreError::NotFound(Named::User(username.to_owned())))
    }
}

#[async_trait]
impl Directory for SqliteStore {
    async fn create_user(&self, user: User) -> StoreResult<()> {
        let username = user.username.clone();
        self.db
            .write(move |tx| insert_user(tx, &user))
            .await
            .map_err(conflict_as(Named::User(username.clone())))?;
        Ok(())
    }

    async fn create_distinct_user(
        &self,
        user: User,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Option<User>> {
        let username = user.username.clone();
        let key = username::stored_look_alike_key(&user.username);
        self.db
            .write(move |tx| {
                let existing = looking_like(tx, &key)?;
                if existing.is_some() {
                    return Ok(existing);
                }
                insert_user(tx, &user)?;
                insert_outcome_audit(tx, audit.as_ref())?;
                Ok(None)
            })
            .await
            .map_err(conflict_as(Named::User(username.clone())))
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        let username = username.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                user_columns!(),
                " FROM user_account u WHERE u.username = ?1"
            ))?
            .query_row([username], |r| user_from(r, 0))
            .optional()
        })
        .await
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        self.read(|c| {
            c.prepare_cached(concat!(
                "SELECT ",
                user_columns!(),
                " FROM user_account u ORDER BY u.username"
            ))?
            .query_map([], |r| user_from(r, 0))?
            .collect()
        })
        .await
    }

    async fn users_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>> {
        // Two statements, so that each page starts where the index puts `after` rather than
        // reading past the pages before it.
        let after = after.map(str::to_owned);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |c| match after {
            None => c
                .prepare_cached(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM user_account u ORDER BY u.username LIMIT ?1"
                ))?
                .query_map([limit], |r| user_from(r, 0))?
                .collect(),
            Some(after) => c
                .prepare_cached(concat!(
                    "SELECT ",
                    user_columns!(),
                    " FROM user_account u WHERE u.username > ?1 ORDER BY u.username LIMIT ?2"
                ))?
                .query_map(params![after, limit], |r| user_from(r, 0))?
                .collect(),
        })
        .await
    }

    async fn users_looking_like(&self, key: &str) -> StoreResult<Vec<User>> {
        let key = key.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                user_columns!(),
                " FROM user_account u WHERE u.look_alike = ?1 ORDER BY u.username"
            ))?
            .query_map([key], |r| user_from(r, 0))?
            .collect()
        })
        .await
    }

    async fn edit_user(
        &self,
        username: &str,
        edits: Vec<UserEdit>,
        now: UnixTime,
    ) -> StoreResult<LoggedOut> {
        self.on_user(username, move |tx, user_id| {
            let mut ended = LoggedOut::default();
            for edit in &edits {
                let out = apply_user_change(tx, user_id, &edit.change, now)?;
                insert_outcome_audit(tx, edit.audit.clone().map(|r| r.ended(&out)).as_ref())?;
                ended = ended.and(out);
            }
            Ok(ended)
        })
        .await
    }

    async fn remove_user(
        &self,
        username: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<LoggedOut> {
        self.on_user(username, move |tx, user_id| {
            let person = leaving(tx, user_id)?;
            let out = log_out_user(tx, user_id, now, RevokeReason::UserRemoved)?;
            // Notices still waiting are news of an account that is gone: the removal's own
            // notice tells what there is to tell.
            tx.prepare_cached("DELETE FROM security_notice WHERE user_id = ?1")?
                .execute([user_id])?;
            tx.prepare_cached("DELETE FROM user_account WHERE id = ?1")?
                .execute([user_id])?;
            let record = audit.clone().map(|r| r.ended(&out));
            insert_outcome_audit(tx, record.as_ref())?;
            let told = record
                .zip(person)
                .and_then(|(r, (person, farewell))| notices::for_removal(&r, &person, farewell));
            if let Some(notice) = told {
                queue_notice(tx, &notice)?;
            }
            Ok(out)
        })
        .await
    }

    async fn create_client(&self, client: Client, audit: Option<AuditRecord>) -> StoreResult<()> {
        let client_id = client.client_id.clone();
        self.db
            .write(move |tx| {
                insert_client(tx, &client)?;
                insert_outcome_audit(tx, audit.as_ref())
            })
            .await
            .map_err(conflict_as(Named::Client(client_id.clone())))?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.clients
            .client(client_id, || self.client_as_stored(client_id))
            .await
    }

    async fn client_as_stored(&self, client_id: &str) -> StoreResult<Option<Client>> {
        let id = client_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(concat!(
                "SELECT ",
                client_columns!(),
                " FROM client WHERE client_id = ?1"
            ))?
            .query_row([id], client_from)
            .optional()
        })
        .await
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        self.read(|c| {
            c.prepare_cached(concat!(
                "SELECT ",
                client_columns!(),
                " FROM client ORDER BY client_id"
            ))?
            .query_map([], client_from)?
            .collect()
        })
        .await
    }

    async fn update_client(&self, c: Client, audit: Option<AuditRecord>) -> StoreResult<()> {
        let client_id = c.client_id.clone();
        let changed = self
            .write(move |tx| {
                let changed = tx
                    .prepare_cached(
                        "UPDATE client SET secret_hash = ?2, redirect_uris = ?3,
                         post_logout_redirect_uris = ?4, scopes = ?5, grant_types = ?6,
                         first_party = ?7, display_name = ?8, logo_uri = ?9, home_uri = ?10,
                         previous_secret_hash = ?11, previous_secret_until = ?12,
                         id_token_claims = ?13, id_token_signed_response_alg = ?14,
                         backchannel_logout_uri = ?15, access_token_format = ?16,
                         auth_policy = ?17, jwks = ?18,
                         require_pushed_authorization_requests = ?19, jwks_uri = ?20,
                         require_signed_request_object = ?21, dpop_bound_access_tokens = ?22,
                         access_token_claims = ?23, pairwise_sector = ?24,
                         require_confirmed_address = ?25, resources = ?26,
                         introspects = ?27
                     WHERE client_id = ?1",
                    )?
                    .execute(params![
                        c.client_id,
                        c.secret_hash,
                        json_list(&c.redirect_uris),
                        json_list(&c.post_logout_redirect_uris),
                        json_list(&c.scopes),
                        json_list(&c.grant_types),
                        c.first_party,
                        c.display.name,
                        c.display.logo_uri,
                        c.display.home_uri,
                        c.previous_secret.as_ref().map(|p| &p.hash),
                        c.previous_secret.as_ref().map(|p| p.until),
                        c.id_token_claims.as_deref().map(json_list),
                        c.id_token_signed_response_alg,
                        c.backchannel_logout_uri,
                        c.access_token_format,
                        c.auth_policy,
                        c.jwks.as_ref().map(ClientKeys::to_json),
                        c.require_pushed_authorization_requests,
                        c.jwks_uri,
                        c.require_signed_request_object,
                        c.dpop_bound_access_tokens,
                        stored_claims(&c.access_token_claims),
                        c.pairwise_sector,
                        c.require_confirmed_address,
                        stored_claims(&c.resources),
                        stored_claims(&c.introspects),
                    ])?;
                if changed > 0 {
                    insert_outcome_audit(tx, audit.as_ref())?;
                }
                Ok(changed)
            })
            .await;
        // Forgotten whatever the answer: a write whose answer was lost may have committed.
        self.clients.forget(&client_id);
        found(changed?, || Named::Client(client_id.clone()))
    }

    async fn remove_client(&self, client_id: &str, audit: Option<AuditRecord>) -> StoreResult<()> {
        let id = client_id.to_owned();
        let changed = self
            .write(move |tx| {
                let changed = tx.execute("DELETE FROM client WHERE client_id = ?1", [&id])?;
                if changed > 0 {
                    insert_outcome_audit(tx, audit.as_ref())?;
                }
                Ok(changed)
            })
            .await;
        self.clients.forget(client_id);
        found(changed?, || Named::Client(client_id.to_owned()))
    }

    async fn set_client_logo(
        &self,
        client_id: &str,
        logo: Option<ClientLogo>,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<bool> {
        let id = client_id.to_owned();
        let changed = self
            .write(move |tx| {
                let client: Option<Option<String>> = tx
                    .prepare_cached(
                        "SELECT l.version FROM client c
                         LEFT JOIN client_logo l ON l.client_id = c.client_id
                         WHERE c.client_id = ?1",
                    )?
                    .query_row([&id], |r| r.get(0))
                    .optional()?;
                let Some(current) = client else {
                    return Ok(None);
                };
                if !ClientLogo::changes(current.as_deref(), logo.as_ref()) {
                    return Ok(Some(false));
                }
                match &logo {
                    Some(l) => put_logo(tx, &id, l, now)?,
                    None => tx
                        .prepare_cached("DELETE FROM client_logo WHERE client_id = ?1")?
                        .execute([&id])?,
                };
                insert_outcome_audit(tx, audit.as_ref())?;
                Ok(Some(true))
            })
            .await?;
        changed.ok_or_else(|| StoreError::NotFound(Named::Client(client_id.to_owned())))
    }

    async fn client_logo(&self, client_id: &str) -> StoreResult<Option<ClientLogo>> {
        let id = client_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT content_type, bytes, version FROM client_logo WHERE client_id = ?1",
            )?
            .query_row([id], |r| {
                Ok(ClientLogo {
                    content_type: r.get(0)?,
                    bytes: r.get(1)?,
                    version: r.get(2)?,
                })
            })
            .optional()
        })
        .await
    }

    async fn client_logo_versions(&self) -> StoreResult<Vec<(String, String)>> {
        self.read(|c| {
            c.prepare_cached("SELECT client_id, version FROM client_logo ORDER BY client_id")?
                .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect()
        })
        .await
    }

    async fn client_logo_version(&self, client_id: &str) -> StoreResult<Option<String>> {
        let id = client_id.to_owned();
        self.read(move |c| {
            c.prepare_cached("SELECT version FROM client_logo WHERE client_id = ?1")?
                .query_row([id], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn take_once(
        &self,
        client_id: &str,
        once: Vec<OneTime>,
        now: UnixTime,
    ) -> StoreResult<Result<(), UsedBefore>> {
        if once.is_empty() {
            return Ok(Ok(()));
        }
        let id = client_id.to_owned();
        self.write(move |tx| take_once(tx, &id, &once, now)).await
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        let (user_id, client_id) = (user_id.to_owned(), client_id.to_owned());
        self.read(move |c| {
            c.prepare_cached("SELECT scope FROM consent WHERE user_id = ?1 AND client_id = ?2")?
                .query_row([user_id, client_id], |r| r.get(0))
                .optional()
        })
        .await
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        let (user_id, client_id, scope) =
            (user_id.to_owned(), client_id.to_owned(), scope.to_owned());
        self.write(move |tx| {
            insert_outcome_audit(tx, audit.as_ref())?;
            merge_consent(tx, &user_id, &client_id, &scope, now)
        })
        .await
    }

    async fn consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(
                "SELECT client_id, scope, granted_at FROM consent WHERE user_id = ?1 ORDER BY client_id",
            )?
            .query_map([user_id], |r| {
                Ok(Consent {
                    client_id: r.get(0)?,
                    scope: r.get(1)?,
                    granted_at: r.get(2)?,
                })
            })?
            .collect()
        })
        .await
    }

    async fn staying_signed_in(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> StoreResult<Vec<StaysSignedIn>> {
        let user_id = user_id.to_owned();
        self.read(move |c| {
            c.prepare_cached(staying_signed_in!("?1", "?2"))?
                .query_map(params![user_id, now], |r| {
                    Ok(StaysSignedIn {
                        client_id: r.get(0)?,
                        since: r.get(1)?,
                        last_used: r.get(2)?,
                    })
                })?
                .collect()
        })
        .await
    }

    async fn sign_out_application(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<usize> {
        let (uid, cid) = (user_id.to_owned(), client_id.to_owned());
        self.write(move |tx| {
            let ended = tx
                .prepare_cached(sign_out_application!("?1", "?2", "?3", "?4"))?
                .execute(params![uid, cid, now, RevokeReason::SignedOutByPerson])?;
            if ended > 0 {
                insert_outcome_audit(tx, Some(&audit))?;
            }
            Ok(ended)
        })
        .await
    }

    async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        let (uid, cid) = (user_id.to_owned(), client_id.to_owned());
        let removed = self
            .write(move |tx| {
                let removed = tx.execute(
                    "DELETE FROM consent WHERE user_id = ?1 AND client_id = ?2",
                    [&uid, &cid],
                )?;
                // What the client got under the consent goes with it.
                tx.execute(
                    "UPDATE token_family SET revoked_at = ?3, revoked_reason = ?4
                     WHERE user_id = ?1 AND client_id = ?2 AND revoked_at IS NULL",
                    params![uid, cid, now, RevokeReason::ConsentRevoked],
                )?;
                if removed > 0 {
                    insert_outcome_audit(tx, audit.as_ref())?;
                }
                Ok(removed)
            })
            .await?;
        found(removed, || Named::Consent {
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
        })
    }
}

/// Adds `scope` to what `user_id` allowed `client_id` (`scope::union`), as of `now`.
pub(super) fn merge_consent(
    tx: &Connection,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: UnixTime,
) -> rusqlite::Result<()> {
    let before: Option<String> = tx
        .prepare_cached("SELECT scope FROM consent WHERE user_id = ?1 AND client_id = ?2")?
        .query_row([user_id, client_id], |r| r.get(0))
        .optional()?;
    let merged = scope::union(before.as_deref().unwrap_or(""), scope);
    tx.prepare_cached(
        "INSERT INTO consent (user_id, client_id, scope, granted_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (user_id, client_id) DO UPDATE SET scope = excluded.scope, granted_at = excluded.granted_at",
    )?
    .execute(params![user_id, client_id, merged, now])?;
    Ok(())
}
