//! Users, clients and consents.

use async_trait::async_trait;
use sqlx::{PgConnection, Row};

use super::audit::insert_outcome_audit;
use super::outbox::{addressee, leaving, queue_notice};
use super::rows::{client_from, user_from};
use super::sessions::log_out_user;
use super::transaction::with_retrying_transaction;
use super::{PgStore, conflict_as, db_error};
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

/// The statement that takes one-time JWTs (`Directory::take_once`): those of the client
/// `$client` whose keys are the array `$keys`, each kept until the one at its place in
/// `$until`, at `$now`. It returns the keys it took: each but those taken before and still
/// kept. The placeholders are the caller's, so that a rotation's own statement takes them too
/// (`grants::store_tokens`).
macro_rules! take_once_sql {
    ($client:literal, $keys:literal, $until:literal, $now:literal) => {
        concat!(
            "INSERT INTO client_assertion (client_id, jti_hash, expires_at)
             SELECT ",
            $client,
            ", k, e FROM unnest(",
            $keys,
            "::TEXT[], ",
            $until,
            "::BIGINT[]) AS t(k, e)
             ON CONFLICT (client_id, jti_hash) DO UPDATE SET expires_at = excluded.expires_at
             WHERE client_assertion.expires_at <= ",
            $now,
            " RETURNING jti_hash"
        )
    };
}
pub(super) use take_once_sql;

/// Takes each of `once`, the one-time JWTs `client_id` sent, unless taken before and still
/// kept at `now` (`Directory::take_once`).
pub(super) async fn take_once(
    c: &mut PgConnection,
    client_id: &str,
    once: &[OneTime],
    now: UnixTime,
) -> Result<Result<(), UsedBefore>, sqlx::Error> {
    if once.is_empty() {
        return Ok(Ok(()));
    }
    let (keys, until) = once_columns(once);
    let taken: Vec<String> = sqlx::query_scalar(take_once_sql!("$1", "$2", "$3", "$4"))
        .bind(client_id)
        .bind(keys)
        .bind(until)
        .bind(now)
        .fetch_all(c)
        .await?;
    Ok(first_not_taken(once, &taken))
}

/// `once` as the statement of [`take_once_sql`] takes it: the keys, and until when each is
/// kept.
pub(super) fn once_columns(once: &[OneTime]) -> (Vec<&str>, Vec<UnixTime>) {
    once.iter().map(|o| (o.key.as_str(), o.kept_until)).unzip()
}

/// The first of `once` whose key is not among those `taken`: taken before.
pub(super) fn first_not_taken(once: &[OneTime], taken: &[String]) -> Result<(), UsedBefore> {
    match once.iter().find(|o| !taken.contains(&o.key)) {
        Some(o) => Err(UsedBefore(o.kind)),
        None => Ok(()),
    }
}

/// The transaction's lock on `name` (an advisory lock on its hash), held until it ends: two
/// transactions that add what one name keys wait for each other here, so the second sees the
/// first.
pub(super) async fn lock_name(c: &mut PgConnection, name: &str) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(name)
        .execute(&mut *c)
        .await?;
    Ok(())
}

/// A user whose username's look-alike key is `key` (`auth::username::stored_look_alike_key`),
/// if there is one, the key locked first (`lock_name`): what a new name is refused for, decided
/// in the transaction that adds it, of two look-alikes added at once the second seeing the
/// first.
pub(super) async fn looking_like(
    c: &mut PgConnection,
    key: &str,
) -> Result<Option<User>, sqlx::Error> {
    lock_name(&mut *c, key).await?;
    sqlx::query(concat!(
        "SELECT ",
        user_columns!(),
        " FROM user_account u WHERE u.look_alike = $1 LIMIT 1"
    ))
    .bind(key)
    .fetch_optional(&mut *c)
    .await?
    .map(|r| user_from(&r, 0))
    .transpose()
}

/// Every column of the user, for a new one or an import.
pub(super) async fn insert_user<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    u: &User,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(
        "INSERT INTO user_account (id, username, email, name, password_hash, disabled, created_at,
             email_verified, given_name, family_name, locale, picture, updated_at, look_alike)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
    )
    .bind(&u.id)
    .bind(&u.username)
    .bind(&u.email)
    .bind(&u.name)
    .bind(u.password_hash.as_deref().unwrap_or(NO_PASSWORD))
    .bind(u.disabled)
    .bind(u.created_at)
    .bind(u.email_verified)
    .bind(&u.profile.given_name)
    .bind(&u.profile.family_name)
    .bind(&u.profile.locale)
    .bind(&u.profile.picture)
    .bind(u.profile.updated_at)
    .bind(username::stored_look_alike_key(&u.username))
    .execute(executor)
    .await
}

/// Makes `change` to the user `user_id`, ending their sessions and token families where it
/// does (`UserChange::signs_out`): what was ended.
pub(super) async fn apply_user_change(
    c: &mut PgConnection,
    user_id: &str,
    change: &UserChange,
    now: UnixTime,
) -> Result<LoggedOut, sqlx::Error> {
    if let UserChange::SetEmail { email, .. } = change {
        tell_old_address(c, user_id, email, now).await?;
    }
    if let UserChange::PasskeyInstead(passkey) | UserChange::AddPasskey(passkey) = change {
        super::passkeys::insert_passkey(&mut *c, passkey, false).await?;
    }
    let update = match change {
        UserChange::Disable | UserChange::Enable => Some(
            sqlx::query("UPDATE user_account SET disabled = $2 WHERE id = $1")
                .bind(user_id)
                .bind(*change == UserChange::Disable),
        ),
        UserChange::SetPassword(hash) => Some(
            sqlx::query("UPDATE user_account SET password_hash = $2 WHERE id = $1")
                .bind(user_id)
                .bind(hash),
        ),
        UserChange::PasskeyInstead(_) => Some(
            sqlx::query("UPDATE user_account SET password_hash = $2 WHERE id = $1")
                .bind(user_id)
                .bind(NO_PASSWORD),
        ),
        // Added above; the account row stays as it is.
        UserChange::AddPasskey(_) => None,
        UserChange::SetEmail { email, verified } => Some(
            sqlx::query("UPDATE user_account SET email = $2, email_verified = $3 WHERE id = $1")
                .bind(user_id)
                .bind(email)
                .bind(verified),
        ),
        UserChange::SetProfile { name, profile } => Some(
            sqlx::query(
                "UPDATE user_account SET name = $2, given_name = $3, family_name = $4,
                     locale = $5, picture = $6, updated_at = $7
                 WHERE id = $1",
            )
            .bind(user_id)
            .bind(name)
            .bind(&profile.given_name)
            .bind(&profile.family_name)
            .bind(&profile.locale)
            .bind(&profile.picture)
            .bind(profile.updated_at),
        ),
    };
    if let Some(update) = update {
        update.execute(&mut *c).await?;
    }
    match change.signs_out() {
        Some(reason) => log_out_user(c, user_id, now, reason).await,
        None => Ok(LoggedOut::default()),
    }
}

/// Queues the notice the address of `user_id` becoming `after` calls for
/// (`notices::for_new_address`), read before it changes.
async fn tell_old_address(
    c: &mut PgConnection,
    user_id: &str,
    after: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    let before = addressee(&mut *c, Whom::Id(user_id)).await?;
    if let Some(notice) = before.and_then(|p| notices::for_new_address(&p, after, now)) {
        queue_notice(c, &notice).await?;
    }
    Ok(())
}

/// Every column of the client, for a new one or an import.
pub(super) async fn insert_client<'e, E: sqlx::PgExecutor<'e>>(
    executor: E,
    c: &Client,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(concat!(
        "INSERT INTO client (",
        client_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, \
           $19, $20, $21, $22, $23, $24, $25, $26, $27, $28)"
    ))
    .bind(&c.client_id)
    .bind(&c.secret_hash)
    .bind(&c.redirect_uris)
    .bind(&c.post_logout_redirect_uris)
    .bind(&c.scopes)
    .bind(&c.grant_types)
    .bind(c.first_party)
    .bind(c.created_at)
    .bind(&c.display.name)
    .bind(&c.display.logo_uri)
    .bind(&c.display.home_uri)
    .bind(c.previous_secret.as_ref().map(|p| &p.hash))
    .bind(c.previous_secret.as_ref().map(|p| p.until))
    .bind(&c.id_token_claims)
    .bind(c.id_token_signed_response_alg)
    .bind(&c.backchannel_logout_uri)
    .bind(c.access_token_format)
    .bind(c.auth_policy)
    .bind(c.jwks.as_ref().map(ClientKeys::to_json))
    .bind(c.require_pushed_authorization_requests)
    .bind(&c.jwks_uri)
    .bind(c.require_signed_request_object)
    .bind(c.dpop_bound_access_tokens)
    .bind(stored_claims(&c.access_token_claims))
    .bind(&c.pairwise_sector)
    .bind(c.require_confirmed_address)
    .bind(stored_claims(&c.resources))
    .bind(stored_claims(&c.introspects))
    .execute(executor)
    .await
}

/// A client's access token claims, resources or introspected APIs as stored: none is NULL.
fn stored_claims(claims: &[String]) -> Option<&[String]> {
    (!claims.is_empty()).then_some(claims)
}

/// The id of the user named `username`, locked until the transaction ends.
async fn locked_user_id(
    c: &mut sqlx::PgConnection,
    username: &str,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT id FROM user_account WHERE username = $1 FOR UPDATE")
        .bind(username)
        .fetch_optional(c)
        .await
}

/// Gives the client `logo`, given at `at`, in place of the one it had.
pub(super) async fn put_logo(
    c: &mut PgConnection,
    client_id: &str,
    logo: &ClientLogo,
    at: UnixTime,
) -> Result<sqlx::postgres::PgQueryResult, sqlx::Error> {
    sqlx::query(
        "INSERT INTO client_logo (client_id, content_type, bytes, version, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (client_id) DO UPDATE SET content_type = excluded.content_type,
             bytes = excluded.bytes, version = excluded.version, updated_at = excluded.updated_at",
    )
    .bind(client_id)
    .bind(&logo.content_type)
    .bind(&logo.bytes)
    .bind(&logo.version)
    .bind(at)
    .execute(c)
    .await
}

#[async_trait]
impl Directory for PgStore {
    async fn create_user(&self, user: User) -> StoreResult<()> {
        insert_user(&self.pool, &user)
            .await
            .map_err(db_error)
            .map_err(conflict_as(Named::User(user.username.clone())))?;
        Ok(())
    }

    async fn create_distinct_user(
        &self,
        user: User,
        audit: Option<AuditRecord>,
    ) -> StoreResult<Option<User>> {
        let key = username::stored_look_alike_key(&user.username);
        with_retrying_transaction(&self.pool, |c| {
            let (user, audit, key) = (user.clone(), audit.clone(), key.clone());
            Box::pin(async move {
                let existing = looking_like(&mut *c, &key).await?;
                if existing.is_some() {
                    return Ok(existing);
                }
                insert_user(&mut *c, &user).await?;
                insert_outcome_audit(&mut *c, audit).await?;
                Ok(None)
            })
        })
        .await
        .map_err(db_error)
        .map_err(conflict_as(Named::User(user.username.clone())))
    }

    async fn user_by_username(&self, username: &str) -> StoreResult<Option<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM user_account u WHERE u.username = $1"
        ))
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| r.map(|r| user_from(&r, 0)).transpose())
        .map_err(db_error)
    }

    async fn list_users(&self) -> StoreResult<Vec<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM user_account u ORDER BY u.username"
        ))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(|r| user_from(r, 0)).collect())
        .map_err(db_error)
    }

    async fn users_after(&self, after: Option<&str>, limit: usize) -> StoreResult<Vec<User>> {
        // Two statements, so that each page starts where the index puts `after` rather than
        // reading past the pages before it.
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        match after {
            None => sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM user_account u ORDER BY u.username LIMIT $1"
            ))
            .bind(limit),
            Some(after) => sqlx::query(concat!(
                "SELECT ",
                user_columns!(),
                " FROM user_account u WHERE u.username > $1 ORDER BY u.username LIMIT $2"
            ))
            .bind(after)
            .bind(limit),
        }
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(|r| user_from(r, 0)).collect())
        .map_err(db_error)
    }

    async fn users_looking_like(&self, key: &str) -> StoreResult<Vec<User>> {
        sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM user_account u WHERE u.look_alike = $1 ORDER BY u.username"
        ))
        .bind(key)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(|r| user_from(r, 0)).collect())
        .map_err(db_error)
    }

    async fn edit_user(
        &self,
        username: &str,
        edits: Vec<UserEdit>,
        now: UnixTime,
    ) -> StoreResult<LoggedOut> {
        let out = with_retrying_transaction(&self.pool, |c| {
            let (username, edits) = (username.to_owned(), edits.clone());
            Box::pin(async move {
                let Some(user_id) = locked_user_id(&mut *c, &username).await? else {
                    return Ok(None);
                };
                let mut ended = LoggedOut::default();
                for edit in edits {
                    let out = apply_user_change(&mut *c, &user_id, &edit.change, now).await?;
                    insert_outcome_audit(&mut *c, edit.audit.map(|r| r.ended(&out))).await?;
                    ended = ended.and(out);
                }
                Ok(Some(ended))
            })
        })
        .await
        .map_err(db_error)?;
        out.ok_or_else(|| StoreError::NotFound(Named::User(username.to_owned())))
    }

    async fn remove_user(
        &self,
        username: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<LoggedOut> {
        let out = with_retrying_transaction(&self.pool, |c| {
            let (username, audit) = (username.to_owned(), audit.clone());
            Box::pin(async move {
                let Some(user_id) = locked_user_id(&mut *c, &username).await? else {
                    return Ok(None);
                };
                let person = leaving(&mut *c, &user_id).await?;
                let out = log_out_user(&mut *c, &user_id, now, RevokeReason::UserRemoved).await?;
                // Notices still waiting are news of an account that is gone: the removal's
                // own notice tells what there is to tell.
                sqlx::query("DELETE FROM security_notice WHERE user_id = $1")
                    .bind(&user_id)
                    .execute(&mut *c)
                    .await?;
                sqlx::query("DELETE FROM user_account WHERE id = $1")
                    .bind(&user_id)
                    .execute(&mut *c)
                    .await?;
                let record = audit.map(|r| r.ended(&out));
                insert_outcome_audit(&mut *c, record.clone()).await?;
                let told = record.zip(person).and_then(|(r, (person, farewell))| {
                    notices::for_removal(&r, &person, farewell)
                });
                if let Some(notice) = told {
                    queue_notice(&mut *c, &notice).await?;
                }
                Ok(Some(out))
            })
        })
        .await
        .map_err(db_error)?;
        out.ok_or_else(|| StoreError::NotFound(Named::User(username.to_owned())))
    }

    async fn create_client(&self, client: Client, audit: Option<AuditRecord>) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |tx| {
            let (client, audit) = (client.clone(), audit.clone());
            Box::pin(async move {
                insert_client(&mut *tx, &client).await?;
                insert_outcome_audit(&mut *tx, audit).await
            })
        })
        .await
        .map_err(db_error)
        .map_err(conflict_as(Named::Client(client.client_id.clone())))?;
        Ok(())
    }

    async fn client(&self, client_id: &str) -> StoreResult<Option<Client>> {
        self.clients
            .client(client_id, || self.client_as_stored(client_id))
            .await
    }

    async fn client_as_stored(&self, client_id: &str) -> StoreResult<Option<Client>> {
        sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM client WHERE client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .and_then(|r| r.map(|r| client_from(&r)).transpose())
        .map_err(db_error)
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM client ORDER BY client_id"
        ))
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| rows.iter().map(client_from).collect())
        .map_err(db_error)
    }

    async fn update_client(&self, c: Client, audit: Option<AuditRecord>) -> StoreResult<()> {
        let changed = with_retrying_transaction(&self.pool, |tx| {
            let (c, audit) = (c.clone(), audit.clone());
            Box::pin(async move {
                let changed = sqlx::query(
                    "UPDATE client SET secret_hash = $2, redirect_uris = $3, post_logout_redirect_uris = $4,
                         scopes = $5, grant_types = $6, first_party = $7, display_name = $8,
                         logo_uri = $9, home_uri = $10, previous_secret_hash = $11,
                         previous_secret_until = $12, id_token_claims = $13,
                         id_token_signed_response_alg = $14, backchannel_logout_uri = $15,
                         access_token_format = $16, auth_policy = $17, jwks = $18,
                         require_pushed_authorization_requests = $19, jwks_uri = $20,
                         require_signed_request_object = $21, dpop_bound_access_tokens = $22,
                         access_token_claims = $23, pairwise_sector = $24,
                         require_confirmed_address = $25, resources = $26,
                         introspects = $27
                     WHERE client_id = $1",
                )
                .bind(&c.client_id)
                .bind(&c.secret_hash)
                .bind(&c.redirect_uris)
                .bind(&c.post_logout_redirect_uris)
                .bind(&c.scopes)
                .bind(&c.grant_types)
                .bind(c.first_party)
                .bind(&c.display.name)
                .bind(&c.display.logo_uri)
                .bind(&c.display.home_uri)
                .bind(c.previous_secret.as_ref().map(|p| &p.hash))
                .bind(c.previous_secret.as_ref().map(|p| p.until))
                .bind(&c.id_token_claims)
                .bind(c.id_token_signed_response_alg)
                .bind(&c.backchannel_logout_uri)
                .bind(c.access_token_format)
                .bind(c.auth_policy)
                .bind(c.jwks.as_ref().map(ClientKeys::to_json))
                .bind(c.require_pushed_authorization_requests)
                .bind(&c.jwks_uri)
                .bind(c.require_signed_request_object)
                .bind(c.dpop_bound_access_tokens)
                .bind(stored_claims(&c.access_token_claims))
                .bind(&c.pairwise_sector)
                .bind(c.require_confirmed_address)
                .bind(stored_claims(&c.resources))
                .bind(stored_claims(&c.introspects))
                .execute(&mut *tx)
                .await?
                .rows_affected();
                if changed > 0 {
                    insert_outcome_audit(&mut *tx, audit).await?;
                }
                Ok(changed)
            })
        })
        .await
        .map_err(db_error);
        // Forgotten whatever the answer, as on SQLite (a write whose answer was lost may have
        // committed); heard from the trigger too, a moment later.
        self.clients.forget(&c.client_id);
        found(changed?, || Named::Client(c.client_id.clone()))
    }

    async fn remove_client(&self, client_id: &str, audit: Option<AuditRecord>) -> StoreResult<()> {
        let removed = with_retrying_transaction(&self.pool, |c| {
            let (id, audit) = (client_id.to_owned(), audit.clone());
            Box::pin(async move {
                let removed = sqlx::query("DELETE FROM client WHERE client_id = $1")
                    .bind(&id)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                if removed > 0 {
                    insert_outcome_audit(&mut *c, audit).await?;
                }
                Ok(removed)
            })
        })
        .await
        .map_err(db_error);
        self.clients.forget(client_id);
        found(removed?, || Named::Client(client_id.to_owned()))
    }

    async fn set_client_logo(
        &self,
        client_id: &str,
        logo: Option<ClientLogo>,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<bool> {
        let changed = with_retrying_transaction(&self.pool, |c| {
            let (id, logo, audit) = (client_id.to_owned(), logo.clone(), audit.clone());
            Box::pin(async move {
                // The client's row held (without blocking the tokens that name it), so that of
                // two changes at once the second sees the first's logo.
                let client =
                    sqlx::query("SELECT 1 FROM client WHERE client_id = $1 FOR NO KEY UPDATE")
                        .bind(&id)
                        .fetch_optional(&mut *c)
                        .await?;
                if client.is_none() {
                    return Ok(None);
                }
                let current: Option<String> =
                    sqlx::query_scalar("SELECT version FROM client_logo WHERE client_id = $1")
                        .bind(&id)
                        .fetch_optional(&mut *c)
                        .await?;
                if !ClientLogo::changes(current.as_deref(), logo.as_ref()) {
                    return Ok(Some(false));
                }
                match &logo {
                    Some(l) => put_logo(&mut *c, &id, l, now).await?,
                    None => {
                        sqlx::query("DELETE FROM client_logo WHERE client_id = $1")
                            .bind(&id)
                            .execute(&mut *c)
                            .await?
                    }
                };
                insert_outcome_audit(&mut *c, audit).await?;
                Ok(Some(true))
            })
        })
        .await
        .map_err(db_error)?;
        changed.ok_or_else(|| StoreError::NotFound(Named::Client(client_id.to_owned())))
    }

    async fn client_logo(&self, client_id: &str) -> StoreResult<Option<ClientLogo>> {
        let row = sqlx::query(
            "SELECT content_type, bytes, version FROM client_logo WHERE client_id = $1",
        )
        .bind(client_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(db_error)?;
        row.map(|r| {
            Ok(ClientLogo {
                content_type: r.try_get(0)?,
                bytes: r.try_get(1)?,
                version: r.try_get(2)?,
            })
        })
        .transpose()
        .map_err(db_error)
    }

    async fn client_logo_versions(&self) -> StoreResult<Vec<(String, String)>> {
        sqlx::query_as("SELECT client_id, version FROM client_logo ORDER BY client_id")
            .fetch_all(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn client_logo_version(&self, client_id: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT version FROM client_logo WHERE client_id = $1")
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
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
        let mut c = self.pool.acquire().await.map_err(db_error)?;
        take_once(&mut c, client_id, &once, now)
            .await
            .map_err(db_error)
    }

    async fn consent(&self, user_id: &str, client_id: &str) -> StoreResult<Option<String>> {
        sqlx::query_scalar("SELECT scope FROM consent WHERE user_id = $1 AND client_id = $2")
            .bind(user_id)
            .bind(client_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_error)
    }

    async fn grant_consent(
        &self,
        user_id: &str,
        client_id: &str,
        scope: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        with_retrying_transaction(&self.pool, |c| {
            let (user_id, client_id, scope) =
                (user_id.to_owned(), client_id.to_owned(), scope.to_owned());
            let audit = audit.clone();
            Box::pin(async move {
                insert_outcome_audit(&mut *c, audit).await?;
                merge_consent(c, &user_id, &client_id, &scope, now).await
            })
        })
        .await
        .map_err(db_error)
    }

    async fn consents(&self, user_id: &str) -> StoreResult<Vec<Consent>> {
        sqlx::query(
            "SELECT client_id, scope, granted_at FROM consent WHERE user_id = $1 ORDER BY client_id",
        )
        .bind(user_id)
        .fetch_all(&self.pool)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| {
                    Ok(Consent {
                        client_id: r.try_get(0)?,
                        scope: r.try_get(1)?,
                        granted_at: r.try_get(2)?,
                    })
                })
                .collect()
        })
        .map_err(db_error)
    }

    async fn staying_signed_in(
        &self,
        user_id: &str,
        now: UnixTime,
    ) -> StoreResult<Vec<StaysSignedIn>> {
        sqlx::query(staying_signed_in!("$1", "$2"))
            .bind(user_id)
            .bind(now)
            .fetch_all(&self.pool)
            .await
            .and_then(|rows| {
                rows.iter()
                    .map(|r| {
                        Ok(StaysSignedIn {
                            client_id: r.try_get(0)?,
                            since: r.try_get(1)?,
                            last_used: r.try_get(2)?,
                        })
                    })
                    .collect()
            })
            .map_err(db_error)
    }

    async fn sign_out_application(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
        audit: AuditRecord,
    ) -> StoreResult<usize> {
        with_retrying_transaction(&self.pool, |c| {
            let (uid, cid, audit) = (user_id.to_owned(), client_id.to_owned(), audit.clone());
            Box::pin(async move {
                let ended = sqlx::query(sign_out_application!("$1", "$2", "$3", "$4"))
                    .bind(&uid)
                    .bind(&cid)
                    .bind(now)
                    .bind(RevokeReason::SignedOutByPerson)
                    .execute(&mut *c)
                    .await?
                    .rows_affected();
                if ended > 0 {
                    insert_outcome_audit(&mut *c, Some(audit)).await?;
                }
                Ok(usize::try_from(ended).unwrap_or(usize::MAX))
            })
        })
        .await
        .map_err(db_error)
    }

    async fn revoke_consent(
        &self,
        user_id: &str,
        client_id: &str,
        now: UnixTime,
        audit: Option<AuditRecord>,
    ) -> StoreResult<()> {
        let removed = with_retrying_transaction(&self.pool, |c| {
            let (uid, cid, audit) = (user_id.to_owned(), client_id.to_owned(), audit.clone());
            Box::pin(async move {
                let removed =
                    sqlx::query("DELETE FROM consent WHERE user_id = $1 AND client_id = $2")
                        .bind(&uid)
                        .bind(&cid)
                        .execute(&mut *c)
                        .await?
                        .rows_affected();
                // What the client got under the consent goes with it.
                sqlx::query(
                    "UPDATE token_family SET revoked_at = $3, revoked_reason = $4
                     WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
                )
                .bind(&uid)
                .bind(&cid)
                .bind(now)
                .bind(RevokeReason::ConsentRevoked)
                .execute(&mut *c)
                .await?;
                if removed > 0 {
                    insert_outcome_audit(&mut *c, audit).await?;
                }
                Ok(removed)
            })
        })
        .await
        .map_err(db_error)?;
        found(removed, || Named::Consent {
            user_id: user_id.to_owned(),
            client_id: client_id.to_owned(),
        })
    }
}

/// Adds `scope` to what `user_id` allowed `client_id` (`scope::union`), as of `now`.
pub(super) async fn merge_consent(
    c: &mut PgConnection,
    user_id: &str,
    client_id: &str,
    scope: &str,
    now: UnixTime,
) -> Result<(), sqlx::Error> {
    // Make sure the row exists, then lock it: two grants racing merge, in turn.
    sqlx::query(
        "INSERT INTO consent (user_id, client_id, scope, granted_at) VALUES ($1, $2, '', $3)
         ON CONFLICT (user_id, client_id) DO NOTHING",
    )
    .bind(user_id)
    .bind(client_id)
    .bind(now)
    .execute(&mut *c)
    .await?;
    let before: String = sqlx::query_scalar(
        "SELECT scope FROM consent WHERE user_id = $1 AND client_id = $2 FOR UPDATE",
    )
    .bind(user_id)
    .bind(client_id)
    .fetch_one(&mut *c)
    .await?;
    sqlx::query(
        "UPDATE consent SET scope = $3, granted_at = $4 WHERE user_id = $1 AND client_id = $2",
    )
    .bind(user_id)
    .bind(client_id)
    .bind(scope::union(&before, scope))
    .bind(now)
    .execute(&mut *c)
    .await?;
    Ok(())
}
