//! Row mappers and the column lists they read.

use onewriter::rusqlite::{self, Row};

use crate::model::{
    AccessTokenFormat, Amr, AuditEvent, AuditKind, AuditRecord, AuthPolicy, Client, ClientDisplay,
    DeviceAnswer, DeviceAuthorization, LogoutNotice, NoticeKind, PreviousSecret, Profile,
    RevokeReason, Session, SigningAlg, User,
};

/// The closed sets are stored as their names (`model::named!`); a name this build does not
/// know reads as a conversion failure, reported as corrupt data.
macro_rules! stored_as_name {
    ($($t:ty),+) => {$(
        impl rusqlite::types::ToSql for $t {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $t {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                v.as_str()?
                    .parse()
                    .map_err(|e| rusqlite::types::FromSqlError::Other(Box::new(e)))
            }
        }
    )+};
}
stored_as_name!(
    AccessTokenFormat,
    AuditKind,
    AuthPolicy,
    NoticeKind,
    RevokeReason,
    SigningAlg
);

pub(super) fn json_list<T: serde::Serialize>(v: &[T]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

pub(super) fn parse_list<T: serde::de::DeserializeOwned>(s: String) -> rusqlite::Result<Vec<T>> {
    serde_json::from_str(&s).map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
    })
}

pub(super) fn user_from(row: &Row<'_>, at: usize) -> rusqlite::Result<User> {
    Ok(User {
        id: row.get(at)?,
        username: row.get(at + 1)?,
        email: row.get(at + 2)?,
        name: row.get(at + 3)?,
        password_hash: row.get(at + 4)?,
        disabled: row.get(at + 5)?,
        created_at: row.get(at + 6)?,
        email_verified: row.get(at + 7)?,
        profile: Profile {
            given_name: row.get(at + 8)?,
            family_name: row.get(at + 9)?,
            locale: row.get(at + 10)?,
            picture: row.get(at + 11)?,
            updated_at: row.get(at + 12)?,
        },
    })
}

/// A device authorization from `device_columns!`, starting at column `at`.
pub(super) fn device_from(row: &Row<'_>, at: usize) -> rusqlite::Result<DeviceAuthorization> {
    let answer: String = row.get(at + 8)?;
    let answer = DeviceAnswer::from_stored(
        &answer,
        row.get(at + 9)?,
        row.get(at + 10)?,
        row.get(at + 11)?,
    )
    .ok_or_else(|| {
        let e = format!("device authorization answer {answer:?} without its user");
        rusqlite::Error::FromSqlConversionFailure(at + 8, rusqlite::types::Type::Text, e.into())
    })?;
    Ok(DeviceAuthorization {
        device_code_hash: row.get(at)?,
        user_code_hash: row.get(at + 1)?,
        client_id: row.get(at + 2)?,
        scope: row.get(at + 3)?,
        created_at: row.get(at + 4)?,
        expires_at: row.get(at + 5)?,
        interval: row.get(at + 6)?,
        last_polled_at: row.get(at + 7)?,
        answer,
        resources: crate::oidc::resource::split(row.get::<_, Option<String>>(at + 12)?.as_deref()),
    })
}

pub(super) fn session_from(row: &Row<'_>) -> rusqlite::Result<Session> {
    Ok(Session {
        id_hash: row.get(0)?,
        user_id: row.get(1)?,
        auth_time: row.get(2)?,
        expires_at: row.get(3)?,
        last_seen_at: row.get(4)?,
        amr: Amr::from_stored(&row.get::<_, String>(5)?),
        user_agent: row.get(6)?,
        ip: row.get(7)?,
        kept: row.get(8)?,
    })
}

pub(super) fn client_from(row: &Row<'_>) -> rusqlite::Result<Client> {
    Ok(Client {
        client_id: row.get(0)?,
        secret_hash: row.get(1)?,
        redirect_uris: parse_list(row.get(2)?)?,
        post_logout_redirect_uris: parse_list(row.get(3)?)?,
        scopes: parse_list(row.get(4)?)?,
        grant_types: parse_list(row.get(5)?)?,
        first_party: row.get(6)?,
        created_at: row.get(7)?,
        display: ClientDisplay {
            name: row.get(8)?,
            logo_uri: row.get(9)?,
            home_uri: row.get(10)?,
        },
        previous_secret: match (row.get(11)?, row.get(12)?) {
            (Some(hash), Some(until)) => Some(PreviousSecret { hash, until }),
            _ => None,
        },
        id_token_claims: row
            .get::<_, Option<String>>(13)?
            .map(parse_list)
            .transpose()?,
        id_token_signed_response_alg: row.get(14)?,
        backchannel_logout_uri: row.get(15)?,
        access_token_format: row.get(16)?,
        auth_policy: row.get(17)?,
        jwks: row
            .get::<_, Option<String>>(18)?
            .map(|json| {
                json.parse().map_err(|e: String| {
                    rusqlite::Error::FromSqlConversionFailure(
                        18,
                        rusqlite::types::Type::Text,
                        e.into(),
                    )
                })
            })
            .transpose()?,
        require_pushed_authorization_requests: row.get(19)?,
        jwks_uri: row.get(20)?,
        require_signed_request_object: row.get(21)?,
        dpop_bound_access_tokens: row.get(22)?,
        access_token_claims: row
            .get::<_, Option<String>>(23)?
            .map(parse_list)
            .transpose()?
            .unwrap_or_default(),
        pairwise_sector: row.get(24)?,
        require_confirmed_address: row.get(25)?,
        resources: row
            .get::<_, Option<String>>(26)?
            .map(parse_list)
            .transpose()?
            .unwrap_or_default(),
        introspects: row
            .get::<_, Option<String>>(27)?
            .map(parse_list)
            .transpose()?
            .unwrap_or_default(),
    })
}

pub(super) fn audit_from(r: &Row<'_>) -> rusqlite::Result<AuditEvent> {
    Ok(AuditEvent {
        id: r.get(0)?,
        record: AuditRecord {
            at: r.get(1)?,
            kind: r.get(2)?,
            actor: r.get(3)?,
            subject: r.get(4)?,
            client_id: r.get(5)?,
            ip: r.get(6)?,
            detail: r.get(7)?,
            user_agent: r.get(8)?,
        },
    })
}

/// A logout notice, from `notice_columns!`.
pub(super) fn notice_from(r: &Row<'_>) -> rusqlite::Result<LogoutNotice> {
    Ok(LogoutNotice {
        id: r.get(0)?,
        client_id: r.get(1)?,
        uri: r.get(2)?,
        alg: r.get(3)?,
        user_id: r.get(4)?,
        session_id_hash: r.get(5)?,
        jti: r.get(6)?,
        attempts: r.get(7)?,
        created_at: r.get(8)?,
        pairwise_sector: r.get(9)?,
    })
}
