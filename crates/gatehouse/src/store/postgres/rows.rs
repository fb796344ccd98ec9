//! Row mappers and the column lists they read.

use sqlx::Row;
use sqlx::postgres::PgRow;

use crate::model::{
    AccessTokenFormat, Amr, AuditEvent, AuditKind, AuditRecord, AuthPolicy, Client, ClientDisplay,
    DeviceAnswer, DeviceAuthorization, GrantType, LogoutNotice, NoticeKind, PreviousSecret,
    Profile, RevokeReason, Session, SigningAlg, User,
};

/// The closed sets are stored as their names (`model::named!`), in `TEXT` and `TEXT[]`
/// columns; a name this build does not know reads as a decoding error.
macro_rules! stored_as_name {
    ($($t:ty),+) => {$(
        impl sqlx::Type<sqlx::Postgres> for $t {
            fn type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::Type<sqlx::Postgres>>::type_info()
            }
        }

        impl sqlx::postgres::PgHasArrayType for $t {
            fn array_type_info() -> sqlx::postgres::PgTypeInfo {
                <&str as sqlx::postgres::PgHasArrayType>::array_type_info()
            }
        }

        impl sqlx::Encode<'_, sqlx::Postgres> for $t {
            fn encode_by_ref(
                &self,
                buf: &mut sqlx::postgres::PgArgumentBuffer,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<sqlx::Postgres>>::encode(self.as_str(), buf)
            }
        }

        impl sqlx::Decode<'_, sqlx::Postgres> for $t {
            fn decode(v: sqlx::postgres::PgValueRef<'_>) -> Result<Self, sqlx::error::BoxDynError> {
                Ok(<&str as sqlx::Decode<sqlx::Postgres>>::decode(v)?.parse()?)
            }
        }
    )+};
}
stored_as_name!(
    AccessTokenFormat,
    AuditKind,
    AuthPolicy,
    NoticeKind,
    GrantType,
    RevokeReason,
    SigningAlg
);

/// A device authorization from `device_columns!`, starting at column `at`.
pub(super) fn device_from(r: &PgRow, at: usize) -> Result<DeviceAuthorization, sqlx::Error> {
    let answer: String = r.try_get(at + 8)?;
    let answer = DeviceAnswer::from_stored(
        &answer,
        r.try_get(at + 9)?,
        r.try_get(at + 10)?,
        r.try_get(at + 11)?,
    )
    .ok_or_else(|| sqlx::Error::ColumnDecode {
        index: "answer".into(),
        source: format!("device authorization answer {answer:?} without its user").into(),
    })?;
    Ok(DeviceAuthorization {
        device_code_hash: r.try_get(at)?,
        user_code_hash: r.try_get(at + 1)?,
        client_id: r.try_get(at + 2)?,
        scope: r.try_get(at + 3)?,
        created_at: r.try_get(at + 4)?,
        expires_at: r.try_get(at + 5)?,
        interval: r.try_get(at + 6)?,
        last_polled_at: r.try_get(at + 7)?,
        answer,
        resources: crate::oidc::resource::split(r.try_get::<Option<&str>, _>(at + 12)?),
    })
}

pub(super) fn user_from(r: &PgRow, at: usize) -> Result<User, sqlx::Error> {
    Ok(User {
        id: r.try_get(at)?,
        username: r.try_get(at + 1)?,
        email: r.try_get(at + 2)?,
        name: r.try_get(at + 3)?,
        password_hash: r.try_get(at + 4)?,
        disabled: r.try_get(at + 5)?,
        created_at: r.try_get(at + 6)?,
        email_verified: r.try_get(at + 7)?,
        profile: Profile {
            given_name: r.try_get(at + 8)?,
            family_name: r.try_get(at + 9)?,
            locale: r.try_get(at + 10)?,
            picture: r.try_get(at + 11)?,
            updated_at: r.try_get(at + 12)?,
        },
    })
}

pub(super) fn client_from(r: &PgRow) -> Result<Client, sqlx::Error> {
    Ok(Client {
        client_id: r.try_get(0)?,
        secret_hash: r.try_get(1)?,
        redirect_uris: r.try_get(2)?,
        post_logout_redirect_uris: r.try_get(3)?,
        scopes: r.try_get(4)?,
        grant_types: r.try_get(5)?,
        first_party: r.try_get(6)?,
        created_at: r.try_get(7)?,
        display: ClientDisplay {
            name: r.try_get(8)?,
            logo_uri: r.try_get(9)?,
            home_uri: r.try_get(10)?,
        },
        previous_secret: match (r.try_get(11)?, r.try_get(12)?) {
            (Some(hash), Some(until)) => Some(PreviousSecret { hash, until }),
            _ => None,
        },
        id_token_claims: r.try_get(13)?,
        id_token_signed_response_alg: r.try_get(14)?,
        backchannel_logout_uri: r.try_get(15)?,
        access_token_format: r.try_get(16)?,
        auth_policy: r.try_get(17)?,
        jwks: r
            .try_get::<Option<String>, _>(18)?
            .map(|json| {
                json.parse().map_err(|e: String| sqlx::Error::ColumnDecode {
                    index: "jwks".into(),
                    source: e.into(),
                })
            })
            .transpose()?,
        require_pushed_authorization_requests: r.try_get(19)?,
        jwks_uri: r.try_get(20)?,
        require_signed_request_object: r.try_get(21)?,
        dpop_bound_access_tokens: r.try_get(22)?,
        access_token_claims: r.try_get::<Option<Vec<String>>, _>(23)?.unwrap_or_default(),
        pairwise_sector: r.try_get(24)?,
        require_confirmed_address: r.try_get(25)?,
        resources: r.try_get::<Option<Vec<String>>, _>(26)?.unwrap_or_default(),
        introspects: r.try_get::<Option<Vec<String>>, _>(27)?.unwrap_or_default(),
    })
}

pub(super) fn session_from(r: &PgRow) -> Result<Session, sqlx::Error> {
    Ok(Session {
        id_hash: r.try_get(0)?,
        user_id: r.try_get(1)?,
        auth_time: r.try_get(2)?,
        expires_at: r.try_get(3)?,
        last_seen_at: r.try_get(4)?,
        amr: Amr::from_stored(r.try_get::<&str, _>(5)?),
        user_agent: r.try_get(6)?,
        ip: r.try_get(7)?,
        kept: r.try_get(8)?,
    })
}

pub(super) fn sql(s: String) -> sqlx::AssertSqlSafe<String> {
    // Only ever built from the constant column lists of this module, never from input.
    sqlx::AssertSqlSafe(s)
}

pub(super) fn audit_from(r: &PgRow) -> Result<AuditEvent, sqlx::Error> {
    Ok(AuditEvent {
        id: r.try_get(0)?,
        record: AuditRecord {
            at: r.try_get(1)?,
            kind: r.try_get(2)?,
            actor: r.try_get(3)?,
            subject: r.try_get(4)?,
            client_id: r.try_get(5)?,
            ip: r.try_get(6)?,
            detail: r.try_get(7)?,
            user_agent: r.try_get(8)?,
        },
    })
}

/// A logout notice, from `notice_columns!`.
pub(super) fn notice_from(r: &PgRow) -> Result<LogoutNotice, sqlx::Error> {
    Ok(LogoutNotice {
        id: r.try_get(0)?,
        client_id: r.try_get(1)?,
        uri: r.try_get(2)?,
        alg: r.try_get(3)?,
        user_id: r.try_get(4)?,
        session_id_hash: r.try_get(5)?,
        jti: r.try_get(6)?,
        attempts: u32::try_from(r.try_get::<i32, _>(7)?).unwrap_or(0),
        created_at: r.try_get(8)?,
        pairwise_sector: r.try_get(9)?,
    })
}
