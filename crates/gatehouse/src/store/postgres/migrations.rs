//! The PostgreSQL schema's migrations, compiled into the binary and applied by sqlx's migrator.
//!
//! Listed here rather than found by sqlx's `migrate!` macro: that macro comes with sqlx's
//! compile-time query checking, which builds both database drivers (and a second SQLite) into
//! the compiler's proc-macro for the sake of this short list. A test compares the list with
//! what sqlx itself reads from `migrations/postgres` (versions, descriptions, checksums), so a
//! migration file without its line here fails the tests, and databases migrated by either way
//! agree.

use std::sync::LazyLock;

use sqlx::SqlSafeStr as _;
use sqlx::migrate::{Migration, MigrationType, Migrator};

/// Version, description (the file name's words), SQL.
static SOURCES: &[(i64, &str, &str)] = &[
    (
        1,
        "init",
        include_str!("../../../migrations/postgres/0001_init.sql"),
    ),
    (
        2,
        "sessions forms keys",
        include_str!("../../../migrations/postgres/0002_sessions_forms_keys.sql"),
    ),
    (
        3,
        "groups",
        include_str!("../../../migrations/postgres/0003_groups.sql"),
    ),
    (
        4,
        "profiles",
        include_str!("../../../migrations/postgres/0004_profiles.sql"),
    ),
    (
        5,
        "clients",
        include_str!("../../../migrations/postgres/0005_clients.sql"),
    ),
    (
        6,
        "signing algs",
        include_str!("../../../migrations/postgres/0006_signing_algs.sql"),
    ),
    (
        7,
        "refresh retry",
        include_str!("../../../migrations/postgres/0007_refresh_retry.sql"),
    ),
    (
        8,
        "backchannel logout",
        include_str!("../../../migrations/postgres/0008_backchannel_logout.sql"),
    ),
    (
        9,
        "access token format",
        include_str!("../../../migrations/postgres/0009_access_token_format.sql"),
    ),
    (
        10,
        "device authorization",
        include_str!("../../../migrations/postgres/0010_device_authorization.sql"),
    ),
    (
        11,
        "second factors",
        include_str!("../../../migrations/postgres/0011_second_factors.sql"),
    ),
    (
        12,
        "account and email",
        include_str!("../../../migrations/postgres/0012_account_and_email.sql"),
    ),
    (
        13,
        "refresh per family",
        include_str!("../../../migrations/postgres/0013_refresh_per_family.sql"),
    ),
    (
        14,
        "audit by kind",
        include_str!("../../../migrations/postgres/0014_audit_by_kind.sql"),
    ),
    (
        15,
        "retry answers apart",
        include_str!("../../../migrations/postgres/0015_retry_answers_apart.sql"),
    ),
    (
        16,
        "look alike",
        include_str!("../../../migrations/postgres/0016_look_alike.sql"),
    ),
    (
        17,
        "mail and pushed requests",
        include_str!("../../../migrations/postgres/0017_mail_and_pushed_requests.sql"),
    ),
    (
        18,
        "client keys",
        include_str!("../../../migrations/postgres/0018_client_keys.sql"),
    ),
    (
        19,
        "signed requests",
        include_str!("../../../migrations/postgres/0019_signed_requests.sql"),
    ),
    (
        20,
        "dpop",
        include_str!("../../../migrations/postgres/0020_dpop.sql"),
    ),
    (
        21,
        "custom claims",
        include_str!("../../../migrations/postgres/0021_custom_claims.sql"),
    ),
    (
        22,
        "access token claims",
        include_str!("../../../migrations/postgres/0022_access_token_claims.sql"),
    ),
    (
        23,
        "client changes",
        include_str!("../../../migrations/postgres/0023_client_changes.sql"),
    ),
    (
        24,
        "access tokens in issue order",
        include_str!("../../../migrations/postgres/0024_access_tokens_in_issue_order.sql"),
    ),
    (
        25,
        "security notices",
        include_str!("../../../migrations/postgres/0025_security_notices.sql"),
    ),
    (
        26,
        "session browser",
        include_str!("../../../migrations/postgres/0026_session_browser.sql"),
    ),
    (
        27,
        "browsers seen",
        include_str!("../../../migrations/postgres/0027_browsers_seen.sql"),
    ),
    (
        28,
        "pairwise subjects",
        include_str!("../../../migrations/postgres/0028_pairwise_subjects.sql"),
    ),
    (
        29,
        "signup links",
        include_str!("../../../migrations/postgres/0029_signup_links.sql"),
    ),
    (
        30,
        "signup passkeys",
        include_str!("../../../migrations/postgres/0030_signup_passkeys.sql"),
    ),
    (
        31,
        "application logos",
        include_str!("../../../migrations/postgres/0031_application_logos.sql"),
    ),
    (
        32,
        "kept sessions",
        include_str!("../../../migrations/postgres/0032_kept_sessions.sql"),
    ),
    (
        33,
        "confirmed addresses",
        include_str!("../../../migrations/postgres/0033_confirmed_addresses.sql"),
    ),
    (
        34,
        "signup domains",
        include_str!("../../../migrations/postgres/0034_signup_domains.sql"),
    ),
    (
        35,
        "removal notices",
        include_str!("../../../migrations/postgres/0035_removal_notices.sql"),
    ),
    (
        36,
        "resource indicators",
        include_str!("../../../migrations/postgres/0036_resource_indicators.sql"),
    ),
    (
        37,
        "api introspection",
        include_str!("../../../migrations/postgres/0037_api_introspection.sql"),
    ),
];

/// The migrator for [`SOURCES`], each migration in a transaction of its own.
pub(super) fn migrator() -> &'static Migrator {
    static MIGRATOR: LazyLock<Migrator> = LazyLock::new(|| {
        Migrator::with_migrations(
            SOURCES
                .iter()
                .map(|&(version, description, sql)| {
                    Migration::new(
                        version,
                        description.into(),
                        MigrationType::Simple,
                        sql.into_sql_str(),
                        false,
                    )
                })
                .collect(),
        )
    });
    &MIGRATOR
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use std::path::Path;

    use super::*;

    #[test]
    fn the_list_is_the_directory_as_sqlx_reads_it() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations/postgres");
        let mut read: Vec<Migration> = sqlx::migrate::resolve_blocking(&dir)
            .unwrap()
            .into_iter()
            .map(|(m, _)| m)
            .collect();
        read.sort();
        let listed = &migrator().migrations;
        assert_eq!(listed.len(), read.len(), "a migration file is not listed");
        for (l, r) in listed.iter().zip(&read) {
            assert_eq!(
                (l.version, &l.description, l.migration_type, l.no_tx),
                (r.version, &r.description, r.migration_type, r.no_tx)
            );
            assert_eq!(l.checksum, r.checksum, "migration {} differs", l.version);
        }
    }
}
