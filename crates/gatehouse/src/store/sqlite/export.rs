//! `export` and `import`: the whole deployment in one read transaction, or loaded in one
//! write transaction.

use onewriter::rusqlite::{self, Connection, OptionalExtension, Row, params};

use super::SqliteStore;
use super::audit::append_audit;
use super::directory::{insert_client, insert_user};
use super::groups::json_value;
use super::rows::{audit_from, client_from, session_from, user_from};
use crate::clock::UnixTime;
use crate::model::{Client, SigningKey, TotpFactor, User};
use crate::store::columns::{audit_columns, client_columns, session_columns, user_columns};
use crate::store::snapshot::{
    self, AddressRuleRow, ClaimRow, ClientLogoRow, ClientRow, ClientTokenRow, ConsentRow,
    FamilyRefreshRow, FamilyRow, GroupRow, KeyRow, MemberRow, NoticeRow, PasskeyRow,
    RecoveryCodeRow, SessionClientRow, SessionRow, SignupLinkRow, Snapshot, TokenRow, TotpRow,
    UserRow,
};
use crate::store::{StoreError, StoreResult};

/// Gives each family the expiry of its last access token, which the sweep reads instead of
/// its tokens (migration 23); the same statement as the migration's.
const LAST_ACCESS_EXPIRY: &str = "UPDATE token_family SET access_expires_at = last.at
     FROM (SELECT family_id, max(expires_at) AS at FROM access_token GROUP BY family_id) AS last
     WHERE last.family_id = token_family.id";

impl SqliteStore {
    pub(super) async fn export_snapshot(&self, now: UnixTime) -> StoreResult<Snapshot> {
        self.read(move |c| {
            fn all<T>(
                c: &Connection,
                sql: &str,
                row: impl FnMut(&Row<'_>) -> rusqlite::Result<T>,
            ) -> rusqlite::Result<Vec<T>> {
                c.prepare(sql)?.query_map([], row)?.collect()
            }
            let keys: Vec<SigningKey> = all(
                c,
                "SELECT kid, alg, private_der, public_jwk, created_at, retired_at, publish_until,
                        COALESCE(signs_from, created_at)
                 FROM signing_key ORDER BY created_at, kid",
                |r| {
                    Ok(SigningKey {
                        kid: r.get(0)?,
                        alg: r.get(1)?,
                        private_der: r.get(2)?,
                        public_jwk: r.get(3)?,
                        created_at: r.get(4)?,
                        retired_at: r.get(5)?,
                        publish_until: r.get(6)?,
                        signs_from: r.get(7)?,
                    })
                },
            )?;
            let token = |r: &Row<'_>| {
                Ok(TokenRow {
                    token_hash: r.get(0)?,
                    family_id: r.get(1)?,
                    scope: r.get(2)?,
                    created_at: r.get(3)?,
                    expires_at: r.get(4)?,
                    ended_at: r.get(5)?,
                    resources: r.get(6)?,
                })
            };
            let mut kept = Vec::new();
            for name in snapshot::KEPT_SECRETS {
                let value = c
                    .query_row(
                        "SELECT value FROM server_secret WHERE name = ?1",
                        [name],
                        |r| r.get::<_, Vec<u8>>(0),
                    )
                    .optional()?;
                kept.extend(value.map(|key| (name.to_owned(), key)));
            }
            let mut document = Snapshot {
                format: snapshot::FORMAT.into(),
                version: snapshot::VERSION,
                exported_at: now,
                users: all(
                    c,
                    concat!("SELECT ", user_columns!(), " FROM user_account u ORDER BY u.created_at, u.id"),
                    |r| {
                        Ok(UserRow::from(user_from(r, 0)?))
                    },
                )?,
                clients: all(
                    c,
                    concat!("SELECT ", client_columns!(), " FROM client ORDER BY client_id"),
                    |r| {
                        Ok(ClientRow::from(client_from(r)?))
                    },
                )?,
                signing_keys: keys.into_iter().map(KeyRow::from).collect(),
                consents: all(
                    c,
                    "SELECT user_id, client_id, scope, granted_at FROM consent ORDER BY user_id, client_id",
                    |r| {
                        Ok(ConsentRow {
                            user_id: r.get(0)?,
                            client_id: r.get(1)?,
                            scope: r.get(2)?,
                            granted_at: r.get(3)?,
                        })
                    },
                )?,
                groups: all(
                    c,
                    "SELECT id, name, description, created_at, auth_policy FROM user_group ORDER BY name",
                    |r| {
                        Ok(GroupRow {
                            id: r.get(0)?,
                            name: r.get(1)?,
                            description: r.get(2)?,
                            created_at: r.get(3)?,
                            auth_policy: r.get(4)?,
                        })
                    },
                )?,
                group_members: all(
                    c,
                    "SELECT group_id, user_id, added_at FROM group_member ORDER BY group_id, user_id",
                    |r| {
                        Ok(MemberRow {
                            group_id: r.get(0)?,
                            user_id: r.get(1)?,
                            added_at: r.get(2)?,
                        })
                    },
                )?,
                user_claims: all(
                    c,
                    "SELECT user_id, name, value FROM user_claim ORDER BY user_id, name",
                    claim_row,
                )?,
                group_claims: all(
                    c,
                    "SELECT group_id, name, value FROM group_claim ORDER BY group_id, name",
                    claim_row,
                )?,
                sessions: all(
                    c,
                    concat!("SELECT ", session_columns!(), " FROM session s ORDER BY s.auth_time, s.id_hash"),
                    |r| {
                        Ok(SessionRow::from(session_from(r)?))
                    },
                )?,
                token_families: all(
                    c,
                    "SELECT id, client_id, user_id, nonce, auth_time, created_at, revoked_at, revoked_reason,
                            session_id_hash, amr, refresh_hash, refresh_scope, refresh_created_at,
                            refresh_expires_at, resources
                     FROM token_family ORDER BY created_at, id",
                    |r| {
                        Ok(FamilyRow {
                            id: r.get(0)?,
                            client_id: r.get(1)?,
                            user_id: r.get(2)?,
                            nonce: r.get(3)?,
                            auth_time: r.get(4)?,
                            created_at: r.get(5)?,
                            revoked_at: r.get(6)?,
                            revoked_reason: r.get(7)?,
                            session_id_hash: r.get(8)?,
                            amr: r.get(9)?,
                            refresh: FamilyRefreshRow::from_columns(
                                r.get(10)?,
                                r.get(11)?,
                                r.get(12)?,
                                r.get(13)?,
                            ),
                            resources: r.get(14)?,
                        })
                    },
                )?,
                refresh_tokens: all(
                    c,
                    "SELECT token_hash, family_id, scope, created_at, expires_at, rotated_at,
                            CAST(NULL AS TEXT)
                     FROM refresh_token ORDER BY created_at, token_hash",
                    token,
                )?,
                access_tokens: all(
                    c,
                    "SELECT token_hash, family_id, scope, created_at, expires_at, revoked_at,
                            resources
                     FROM access_token ORDER BY created_at, token_hash",
                    token,
                )?,
                client_tokens: all(
                    c,
                    "SELECT token_hash, client_id, scope, created_at, expires_at, revoked_at,
                            resources
                     FROM client_token ORDER BY created_at, token_hash",
                    |r| {
                        Ok(ClientTokenRow {
                            token_hash: r.get(0)?,
                            client_id: r.get(1)?,
                            scope: r.get(2)?,
                            created_at: r.get(3)?,
                            expires_at: r.get(4)?,
                            revoked_at: r.get(5)?,
                            resources: r.get(6)?,
                        })
                    },
                )?,
                session_clients: all(
                    c,
                    "SELECT session_id_hash, client_id FROM session_client
                     ORDER BY session_id_hash, client_id",
                    |r| {
                        Ok(SessionClientRow {
                            session_id_hash: r.get(0)?,
                            client_id: r.get(1)?,
                        })
                    },
                )?,
                logout_notices: all(
                    c,
                    "SELECT client_id, user_id, session_id_hash, jti, created_at, attempts,
                            next_attempt_at
                     FROM logout_notice ORDER BY id",
                    |r| {
                        Ok(NoticeRow {
                            client_id: r.get(0)?,
                            user_id: r.get(1)?,
                            session_id_hash: r.get(2)?,
                            jti: r.get(3)?,
                            created_at: r.get(4)?,
                            attempts: r.get(5)?,
                            next_attempt_at: r.get(6)?,
                        })
                    },
                )?,
                totp_factors: all(
                    c,
                    "SELECT user_id, secret, created_at, last_step FROM totp_factor ORDER BY user_id",
                    |r| {
                        Ok(TotpRow::from(TotpFactor {
                            user_id: r.get(0)?,
                            secret: r.get(1)?,
                            created_at: r.get(2)?,
                            last_step: r.get(3)?,
                        }))
                    },
                )?,
                recovery_codes: all(
                    c,
                    "SELECT user_id, code_hash, created_at FROM recovery_code
                     ORDER BY user_id, code_hash",
                    |r| {
                        Ok(RecoveryCodeRow {
                            user_id: r.get(0)?,
                            code_hash: r.get(1)?,
                            created_at: r.get(2)?,
                        })
                    },
                )?,
                passkeys: all(
                    c,
                    "SELECT credential_id, user_id, name, data, created_at, last_used_at
                     FROM passkey ORDER BY user_id, created_at, credential_id",
                    |r| {
                        Ok(PasskeyRow {
                            credential_id: r.get(0)?,
                            user_id: r.get(1)?,
                            name: r.get(2)?,
                            data: r.get(3)?,
                            created_at: r.get(4)?,
                            last_used_at: r.get(5)?,
                        })
                    },
                )?,
                signup_links: all(
                    c,
                    "SELECT l.id, l.secret_hash, l.note, l.max_uses, l.uses, l.created_by,
                            l.created_at, l.expires_at,
                            (SELECT json_group_array(group_id)
                             FROM (SELECT group_id FROM signup_link_group
                                   WHERE link_id = l.id ORDER BY group_id)),
                            l.domains
                     FROM signup_link l ORDER BY l.created_at, l.id",
                    |r| {
                        Ok(SignupLinkRow {
                            id: r.get(0)?,
                            secret_hash: r.get(1)?,
                            note: r.get(2)?,
                            max_uses: r.get(3)?,
                            uses: r.get(4)?,
                            created_by: r.get(5)?,
                            created_at: r.get(6)?,
                            expires_at: r.get(7)?,
                            group_ids: super::rows::parse_list(r.get(8)?)?,
                            domains: crate::auth::signup::domains_from_column(&r.get::<_, String>(9)?),
                        })
                    },
                )?,
                address_rules: all(
                    c,
                    "SELECT user_id, domains FROM address_rule ORDER BY user_id",
                    |r| {
                        Ok(AddressRuleRow {
                            user_id: r.get(0)?,
                            domains: crate::auth::signup::domains_from_column(&r.get::<_, String>(1)?),
                        })
                    },
                )?,
                client_logos: all(
                    c,
                    "SELECT client_id, bytes, updated_at FROM client_logo ORDER BY client_id",
                    |r| {
                        let bytes: Vec<u8> = r.get(1)?;
                        Ok(ClientLogoRow::new(r.get(0)?, &bytes, r.get(2)?))
                    },
                )?,
                refresh_token_key: None,
                pairwise_subject_key: None,
                audit: all(
                    c,
                    concat!("SELECT ", audit_columns!(), " FROM audit_event ORDER BY id"),
                    audit_from,
                )?
                .into_iter()
                .map(|e| e.record)
                .collect(),
            };
            document.keep_secrets(&kept);
            Ok(document)
        })
        .await
    }

    pub(super) async fn import_snapshot(&self, snapshot: Snapshot) -> StoreResult<()> {
        if let Some(problem) = snapshot.incompatibility() {
            return Err(StoreError::Corrupt(problem));
        }
        let keys = snapshot
            .signing_keys
            .iter()
            .map(|k| k.private_der().map(|der| (k, der)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Corrupt)?
            .into_iter()
            .map(|(k, der)| (k.clone(), der))
            .collect::<Vec<_>>();
        let totp = snapshot
            .totp_factors
            .iter()
            .map(TotpRow::factor)
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Corrupt)?;
        let logos = snapshot.client_logos().map_err(StoreError::Corrupt)?;
        let secrets = snapshot.secrets().map_err(StoreError::Corrupt)?;
        let imported = self
            .write(move |tx| {
                let occupied: i64 = tx.query_row(
                    "SELECT (SELECT count(*) FROM user_account) + (SELECT count(*) FROM client)
                          + (SELECT count(*) FROM signing_key)",
                    [],
                    |r| r.get(0),
                )?;
                if occupied > 0 {
                    return Ok(false);
                }
                let s = &snapshot;
                for u in &s.users {
                    insert_user(tx, &User::from(u.clone()))?;
                }
                for c in &s.clients {
                    insert_client(tx, &Client::from(c.clone()))?;
                }
                for (k, der) in &keys {
                    tx.execute(
                        "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, retired_at, publish_until, signs_from)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
                        params![k.kid, k.alg, der, k.public_jwk, k.created_at, k.retired_at, k.publish_until, k.signs_from()],
                    )?;
                }
                for c in &s.consents {
                    tx.execute(
                        "INSERT INTO consent (user_id, client_id, scope, granted_at) VALUES (?1, ?2, ?3, ?4)",
                        params![c.user_id, c.client_id, c.scope, c.granted_at],
                    )?;
                }
                for g in &s.groups {
                    tx.execute(
                        "INSERT INTO user_group (id, name, description, created_at, auth_policy)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        params![g.id, g.name, g.description, g.created_at, g.auth_policy],
                    )?;
                }
                for m in &s.group_members {
                    tx.execute(
                        "INSERT INTO group_member (group_id, user_id, added_at) VALUES (?1, ?2, ?3)",
                        params![m.group_id, m.user_id, m.added_at],
                    )?;
                }
                for k in &s.user_claims {
                    tx.execute(
                        "INSERT INTO user_claim (user_id, name, value) VALUES (?1, ?2, ?3)",
                        params![k.owner_id, k.name, k.value.to_string()],
                    )?;
                }
                for k in &s.group_claims {
                    tx.execute(
                        "INSERT INTO group_claim (group_id, name, value) VALUES (?1, ?2, ?3)",
                        params![k.owner_id, k.name, k.value.to_string()],
                    )?;
                }
                for x in &s.sessions {
                    tx.execute(
                        "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at, amr, user_agent, ip, kept)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
                        params![x.id_hash, x.user_id, x.auth_time, x.expires_at, x.last_seen_at, x.amr, x.user_agent, x.ip, x.kept],
                    )?;
                }
                for f in &s.token_families {
                    let refresh = f.refresh.as_ref();
                    tx.execute(
                        "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at, revoked_at, revoked_reason, session_id_hash, amr,
                                                   refresh_hash, refresh_scope, refresh_created_at, refresh_expires_at, resources)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)",
                        params![f.id, f.client_id, f.user_id, f.nonce, f.auth_time, f.created_at, f.revoked_at, f.revoked_reason, f.session_id_hash, f.amr,
                                refresh.map(|r| &r.token_hash), refresh.map(|r| &r.scope), refresh.map(|r| r.created_at), refresh.map(|r| r.expires_at),
                                f.resources],
                    )?;
                }
                for (name, key) in &secrets {
                    tx.execute(
                        "INSERT INTO server_secret (name, value, created_at) VALUES (?1, ?2, ?3)
                         ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                        params![name, key, s.exported_at],
                    )?;
                }
                for t in &s.refresh_tokens {
                    tx.execute(
                        "INSERT INTO refresh_token (token_hash, family_id, scope, created_at, expires_at, rotated_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                        params![t.token_hash, t.family_id, t.scope, t.created_at, t.expires_at, t.ended_at],
                    )?;
                }
                for t in &s.access_tokens {
                    tx.execute(
                        "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at, revoked_at, resources)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![t.token_hash, t.family_id, t.scope, t.created_at, t.expires_at, t.ended_at, t.resources],
                    )?;
                }
                tx.execute(LAST_ACCESS_EXPIRY, [])?;
                for t in &s.client_tokens {
                    tx.execute(
                        "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at, revoked_at, resources)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![t.token_hash, t.client_id, t.scope, t.created_at, t.expires_at, t.revoked_at, t.resources],
                    )?;
                }
                for x in &s.session_clients {
                    tx.execute(
                        "INSERT INTO session_client (session_id_hash, client_id) VALUES (?1, ?2)",
                        params![x.session_id_hash, x.client_id],
                    )?;
                }
                for n in &s.logout_notices {
                    tx.execute(
                        "INSERT INTO logout_notice (client_id, user_id, session_id_hash, jti, created_at, attempts, next_attempt_at)
                         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                        params![n.client_id, n.user_id, n.session_id_hash, n.jti, n.created_at, n.attempts, n.next_attempt_at],
                    )?;
                }
                for t in &totp {
                    tx.execute(
                        "INSERT INTO totp_factor (user_id, secret, created_at, last_step)
                         VALUES (?1, ?2, ?3, ?4)",
                        params![t.user_id, t.secret, t.created_at, t.last_step],
                    )?;
                }
                for r in &s.recovery_codes {
                    tx.execute(
                        "INSERT INTO recovery_code (user_id, code_hash, created_at) VALUES (?1, ?2, ?3)",
                        params![r.user_id, r.code_hash, r.created_at],
                    )?;
                }
                for p in &s.passkeys {
                    super::passkeys::insert_passkey(tx, &p.clone().into(), false)?;
                }
                for l in &s.signup_links {
                    super::signup::insert_link(tx, &l.link(), &l.group_ids)?;
                }
                for rule in s.address_rules.iter().filter(|r| !r.domains.is_empty()) {
                    super::signup::insert_address_rule(tx, &rule.user_id, &rule.domains)?;
                }
                for (client_id, logo, at) in &logos {
                    super::directory::put_logo(tx, client_id, logo, *at)?;
                }
                for e in &s.audit {
                    append_audit(tx, e)?;
                }
                Ok(true)
            })
            .await?;
        if imported {
            Ok(())
        } else {
            Err(StoreError::NotEmpty)
        }
    }
}

/// A custom claim: its owner's id, its name and its value (JSON text).
fn claim_row(r: &Row<'_>) -> rusqlite::Result<ClaimRow> {
    Ok(ClaimRow {
        owner_id: r.get(0)?,
        name: r.get(1)?,
        value: json_value(r, 2)?,
    })
}
