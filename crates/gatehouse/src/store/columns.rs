//! The column lists both backends read, as macros that expand to string literals, so every
//! statement that names them is one `&'static str` built at compile time (`concat!`), prepared
//! once and cached, never formatted per request. The row mappers (`sqlite/rows.rs`,
//! `postgres/rows.rs`) read the columns in this order.

/// A user's columns, from `user_account u`; [`USER_FIELDS`] of them. `password_hash` has been
/// `NOT NULL` since the first schema, so a person without a password (`auth::ways_in`) keeps
/// the empty string there ([`NO_PASSWORD`]), read as `NULL`.
macro_rules! user_columns {
    () => {
        "u.id, u.username, u.email, u.name, NULLIF(u.password_hash, ''), u.disabled, u.created_at, \
         u.email_verified, u.given_name, u.family_name, u.locale, u.picture, u.updated_at"
    };
}

/// What `user_account.password_hash` holds for a person without a password: no PHC string
/// is empty, so none verifies against it.
pub(crate) const NO_PASSWORD: &str = "";

/// A session's columns, from `session s`.
macro_rules! session_columns {
    () => {
        "s.id_hash, s.user_id, s.auth_time, s.expires_at, s.last_seen_at, s.amr, s.user_agent, \
         s.ip, s.kept"
    };
}

/// A client's columns, from `client`.
macro_rules! client_columns {
    () => {
        "client_id, secret_hash, redirect_uris, post_logout_redirect_uris, scopes, grant_types, \
         first_party, created_at, display_name, logo_uri, home_uri, previous_secret_hash, \
         previous_secret_until, id_token_claims, id_token_signed_response_alg, \
         backchannel_logout_uri, access_token_format, auth_policy, jwks, \
         require_pushed_authorization_requests, jwks_uri, require_signed_request_object, \
         dpop_bound_access_tokens, access_token_claims, pairwise_sector, \
         require_confirmed_address, resources, introspects"
    };
}

/// A group's columns, from `user_group g`.
macro_rules! group_columns {
    () => {
        "g.id, g.name, g.description, g.created_at, g.auth_policy"
    };
}

/// An audit event's columns, from `audit_event`.
macro_rules! audit_columns {
    () => {
        "id, at, kind, actor, subject, client_id, ip, detail, user_agent"
    };
}

/// The applications that stay signed in as user `$user` (`model::StaysSignedIn`): its token
/// families tied to no session, not revoked, whose refresh token has not expired at `$now`,
/// by application: client id, first issue, last use; the one used last first.
macro_rules! staying_signed_in {
    ($user:literal, $now:literal) => {
        concat!(
            "SELECT client_id, min(created_at), max(coalesce(refresh_created_at, created_at))
               FROM token_family
              WHERE user_id = ",
            $user,
            " AND session_id_hash IS NULL AND revoked_at IS NULL AND refresh_expires_at > ",
            $now,
            " GROUP BY client_id
              ORDER BY max(coalesce(refresh_created_at, created_at)) DESC, client_id"
        )
    };
}

/// Revokes every token family client `$client` holds for user `$user`, at `$now` for reason
/// `$reason`: an application signed out by its person.
macro_rules! sign_out_application {
    ($user:literal, $client:literal, $now:literal, $reason:literal) => {
        concat!(
            "UPDATE token_family SET revoked_at = ",
            $now,
            ", revoked_reason = ",
            $reason,
            " WHERE user_id = ",
            $user,
            " AND client_id = ",
            $client,
            " AND revoked_at IS NULL"
        )
    };
}

/// The tokens issued to applications for parameter `$subject` at or after parameter `$since`,
/// by application, the latest first: client id, first and last time, how many (the records'
/// index by subject and kind, migration `account_and_email`).
macro_rules! tokens_issued_about {
    ($subject:literal, $since:literal) => {
        concat!(
            "SELECT client_id, min(at), max(at), count(*) FROM audit_event
              WHERE subject = ",
            $subject,
            " AND kind = 'token.issued' AND at >= ",
            $since,
            " AND client_id IS NOT NULL
              GROUP BY client_id ORDER BY max(at) DESC, client_id"
        )
    };
}

/// One batch of an audit sweep: deletes the records written before parameter `$before`,
/// oldest first, at most parameter `$limit` of them: `tokens`, the records of tokens issued
/// (`token.issued`); `others`, every other kind. Each reads one of two partial indexes by time
/// that that kind splits the log into (migration `audit_by_kind`), so a sweep of either never
/// reads past the records of the other kept longer, and a record costs one entry in one index.
/// The kind is written out: a partial index serves only a query that states its condition.
macro_rules! audit_purge_batch {
    (tokens $before:literal, $limit:literal) => {
        $crate::store::columns::audit_purge_batch!(@ "=", $before, $limit)
    };
    (others $before:literal, $limit:literal) => {
        $crate::store::columns::audit_purge_batch!(@ "<>", $before, $limit)
    };
    (@ $is:literal, $before:literal, $limit:literal) => {
        concat!(
            "DELETE FROM audit_event WHERE id IN
               (SELECT id FROM audit_event WHERE kind ",
            $is,
            " 'token.issued' AND at < ",
            $before,
            " ORDER BY at LIMIT ",
            $limit,
            ")"
        )
    };
}

/// A user's token in `$table` that is active: the hash matches parameter `$hash`, it has not
/// expired at parameter `$now`, it is `$current` (not revoked, not rotated), its family
/// stands and its user is enabled (RFC 7662 §2.2). Selects scope, issue time, expiry, client,
/// the user's columns and `$resources` (the APIs the token is for). The one place this rule is written; each backend passes its own
/// placeholders.
///
/// `family` form: the current refresh token of the family format (`oidc::family_token`) of
/// family `$id`, kept on the family's row, on the same terms.
macro_rules! active_user_token {
    (family $id:literal, $hash:literal, $now:literal) => {
        concat!(
            "SELECT f.refresh_scope, f.refresh_created_at, f.refresh_expires_at, f.client_id, ",
            $crate::store::columns::user_columns!(),
            ", NULL FROM token_family f JOIN user_account u ON u.id = f.user_id
              WHERE f.id = ",
            $id,
            " AND f.refresh_hash = ",
            $hash,
            " AND f.refresh_expires_at > ",
            $now,
            " AND f.revoked_at IS NULL AND NOT u.disabled"
        )
    };
    ($table:literal, $resources:literal, $current:literal, $hash:literal, $now:literal) => {
        concat!(
            "SELECT t.scope, t.created_at, t.expires_at, f.client_id, ",
            $crate::store::columns::user_columns!(),
            ", ",
            $resources,
            " FROM ",
            $table,
            " t JOIN token_family f ON f.id = t.family_id
                JOIN user_account u ON u.id = f.user_id
              WHERE t.token_hash = ",
            $hash,
            " AND t.expires_at > ",
            $now,
            " AND ",
            $current,
            " AND f.revoked_at IS NULL AND NOT u.disabled"
        )
    };
}

/// Whether the user `$user` (a column or expression) may use the client `$client`: the client
/// names no group, or the user is a member of one it names. The one place this rule is
/// written; code redemption, refresh and `/authorize` all use it.
macro_rules! may_use_client {
    ($client:literal, $user:literal) => {
        concat!(
            "(NOT EXISTS (SELECT 1 FROM client_access_group a WHERE a.client_id = ",
            $client,
            ") OR EXISTS (SELECT 1 FROM client_access_group a
                 JOIN group_member m ON m.group_id = a.group_id
                 WHERE a.client_id = ",
            $client,
            " AND m.user_id = ",
            $user,
            "))"
        )
    };
}

/// The custom claims the user `$user` is given (`Groups::claims_to_release`), in one
/// statement: their own first (no group name), then each of their groups', by the group's name
/// and the claim's.
macro_rules! claims_to_release {
    ($user:literal) => {
        concat!(
            "SELECT NULL AS owner, name, value FROM user_claim WHERE user_id = ",
            $user,
            " UNION ALL
             SELECT g.name, k.name, k.value
             FROM group_member m
             JOIN user_group g ON g.id = m.group_id
             JOIN group_claim k ON k.group_id = g.id
             WHERE m.user_id = ",
            $user,
            " ORDER BY 1 NULLS FIRST, 2"
        )
    };
}

/// Writes a back-channel logout notice (`oidc::backchannel`) for every client that received an
/// ID token in one of the sessions `s` that `$which` selects and registered a logout URI, due
/// at `$now`, each with a fresh `jti` from the backend's random expression `$jti`. Run before
/// the sessions are deleted (their `session_client` rows go with them). The one place the
/// rule of who is told is written.
macro_rules! insert_logout_notices {
    ($which:literal, $now:literal, $jti:expr) => {
        concat!(
            "INSERT INTO logout_notice
                 (client_id, user_id, session_id_hash, jti, created_at, next_attempt_at)
             SELECT sc.client_id, s.user_id, s.id_hash, ",
            $jti,
            ", ",
            $now,
            ", ",
            $now,
            " FROM session s
               JOIN session_client sc ON sc.session_id_hash = s.id_hash
               JOIN client c ON c.client_id = sc.client_id
              WHERE c.backchannel_logout_uri IS NOT NULL AND ",
            $which
        )
    };
}

/// Forgets the browser of the session whose `id_hash` is parameter `$id` (its person ended it
/// from elsewhere, `EndedFrom::Elsewhere`), unless another session of theirs is in that
/// browser. Run before the session is deleted. The one place the rule is written.
macro_rules! forget_browser_of_session {
    ($id:literal) => {
        concat!(
            "DELETE FROM known_browser AS k
              WHERE EXISTS (SELECT 1 FROM session s
                             WHERE s.id_hash = ", $id, "
                               AND s.user_id = k.user_id AND s.browser_hash = k.browser_hash)
                AND NOT EXISTS (SELECT 1 FROM session o
                                 WHERE o.id_hash <> ", $id, "
                                   AND o.user_id = k.user_id AND o.browser_hash = k.browser_hash)"
        )
    };
}

/// A logout notice's columns with its client's URI, algorithm and sector, from `logout_notice n
/// JOIN client c`.
macro_rules! notice_columns {
    () => {
        "n.id, n.client_id, c.backchannel_logout_uri, c.id_token_signed_response_alg, n.user_id, \
         n.session_id_hash, n.jti, n.attempts, n.created_at, c.pairwise_sector"
    };
}

/// A device authorization's columns (`model::DeviceAuthorization`), from
/// `device_authorization d`.
macro_rules! device_columns {
    () => {
        "d.device_code_hash, d.user_code_hash, d.client_id, d.scope, d.created_at, d.expires_at, \
         d.poll_interval, d.last_polled_at, d.answer, d.user_id, d.auth_time, d.amr, d.resources"
    };
}

/// What a refresh decision (`oidc::grant::refresh_token::RefreshRow`) reads of a token's
/// family `f`, joined to `user_account u` and, left, `session s`: its client, nonce and sign-in
/// time, whether it is revoked, the user's columns, whether they may use the client, whether
/// the session lives at `$now`, how they signed in, the grant's resources, whether the client
/// requires a confirmed address and the account's address rule; [`REFRESH_FAMILY_FIELDS`] of
/// them.
macro_rules! refresh_family_columns {
    ($now:literal) => {
        concat!(
            "f.client_id, f.nonce, f.auth_time, f.revoked_at IS NOT NULL, ",
            $crate::store::columns::user_columns!(),
            ", ",
            $crate::store::columns::may_use_client!("f.client_id", "f.user_id"),
            ", f.session_id_hash IS NULL OR s.expires_at > ",
            $now,
            ", f.amr, f.resources,
             (SELECT c.require_confirmed_address FROM client c WHERE c.client_id = f.client_id),
             (SELECT a.domains FROM address_rule a WHERE a.user_id = f.user_id)"
        )
    };
}

/// A family's refresh tokens of the family format, from `token_family f`, in the order
/// [`family_tokens`] takes them.
macro_rules! family_token_columns {
    () => {
        "f.refresh_hash, f.refresh_scope, f.refresh_expires_at, f.previous_hash, \
         f.previous_scope, f.previous_expires_at, f.retry_sealed, f.retry_until"
    };
}

/// How many columns `refresh_family_columns!` names.
pub(crate) const REFRESH_FAMILY_FIELDS: usize = 10 + USER_FIELDS;

/// The columns of `family_token_columns!`, as read.
pub(crate) type FamilyTokenColumns = (
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<String>,
    Option<String>,
    Option<i64>,
    Option<Vec<u8>>,
    Option<i64>,
);

/// The tokens `family_token_columns!` read: the previous one only with its kept answer.
pub(crate) fn family_tokens(
    (hash, scope, expires_at, p_hash, p_scope, p_expires_at, sealed, until): FamilyTokenColumns,
) -> crate::oidc::grant::refresh_token::FamilyTokens {
    use crate::oidc::grant::refresh_token::{FamilyTokens, StoredToken};
    let stored = |hash, scope, expires_at| match (hash, scope, expires_at) {
        (Some(hash), Some(scope), Some(expires_at)) => Some(StoredToken {
            hash,
            scope,
            expires_at,
        }),
        _ => None,
    };
    FamilyTokens {
        current: stored(hash, scope, expires_at),
        previous: match (stored(p_hash, p_scope, p_expires_at), sealed, until) {
            (Some(previous), Some(sealed), Some(until)) => Some((previous, sealed, until)),
            _ => None,
        },
    }
}

pub(crate) use {
    active_user_token, audit_columns, audit_purge_batch, claims_to_release, client_columns,
    device_columns, family_token_columns, forget_browser_of_session, group_columns,
    insert_logout_notices, may_use_client, notice_columns, refresh_family_columns, session_columns,
    sign_out_application, staying_signed_in, tokens_issued_about, user_columns,
};

/// How many columns `session_columns!` names: where the next column starts after them.
pub(crate) const SESSION_FIELDS: usize = 9;

/// How many columns `device_columns!` names.
pub(crate) const DEVICE_FIELDS: usize = 13;

/// How many columns `user_columns!` names: where the next column starts after them.
pub(crate) const USER_FIELDS: usize = 13;

#[cfg(test)]
mod tests {
    use crate::model::AuditKind;

    #[test]
    fn the_sweeps_name_the_kind_of_the_records_of_tokens_issued() {
        let kind = format!("'{}'", AuditKind::TokenIssued.as_str());
        assert!(audit_purge_batch!(tokens "?1", "?2").contains(&format!("kind = {kind}")));
        assert!(audit_purge_batch!(others "$1", "$2").contains(&format!("kind <> {kind}")));
        for migration in [
            include_str!("../../migrations/sqlite/0015_audit_by_kind.sql"),
            include_str!("../../migrations/postgres/0014_audit_by_kind.sql"),
        ] {
            assert!(migration.contains(&format!("WHERE kind = {kind};")));
            assert!(migration.contains(&format!("WHERE kind <> {kind};")));
        }
    }
}
