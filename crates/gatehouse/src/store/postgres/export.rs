//! `export` and `import`: the whole deployment in one transaction each way.

use super::audit::append_audit;
use super::directory::{insert_client, insert_user};
use super::rows::{audit_from, client_from, session_from, sql, user_from};
use super::{PgStore, db_error};
use crate::clock::UnixTime;
use crate::model::{AuthPolicy, Client, RevokeReason, SigningAlg, SigningKey, TotpFactor, User};
use crate::store::columns::{audit_columns, client_columns, session_columns, user_columns};
use crate::store::snapshot::{
    self, AddressRuleRow, ClaimRow, ClientLogoRow, ClientRow, ClientTokenRow, ConsentRow,
    FamilyRefreshRow, FamilyRow, GroupRow, KeyRow, MemberRow, NoticeRow, PasskeyRow,
    RecoveryCodeRow, SessionClientRow, SessionRow, SignupLinkRow, Snapshot, TokenRow, TotpRow,
    UserRow,
};
use crate::store::{StoreError, StoreResult};

impl PgStore {
    pub(super) async fn export_snapshot(&self, now: UnixTime) -> StoreResult<Snapshot> {
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // One snapshot of every table, however long the export takes.
        sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            .execute(&mut *tx)
            .await
            .map_err(db_error)?;
        let c = &mut *tx;
        let users = sqlx::query(concat!(
            "SELECT ",
            user_columns!(),
            " FROM user_account u ORDER BY u.created_at, u.id"
        ))
        .fetch_all(&mut *c)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| Ok(UserRow::from(user_from(r, 0)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })
        .map_err(db_error)?;
        let clients = sqlx::query(concat!(
            "SELECT ",
            client_columns!(),
            " FROM client ORDER BY client_id"
        ))
        .fetch_all(&mut *c)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| Ok(ClientRow::from(client_from(r)?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()
        })
        .map_err(db_error)?;
        let signing_keys: Vec<KeyRow> = sqlx::query_as::<
            _,
            (
                String,
                SigningAlg,
                Vec<u8>,
                String,
                i64,
                Option<i64>,
                Option<i64>,
                i64,
            ),
        >(
            "SELECT kid, alg, private_der, public_jwk, created_at, retired_at, publish_until,
                    COALESCE(signs_from, created_at)
             FROM signing_key ORDER BY created_at, kid",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(
                kid,
                alg,
                private_der,
                public_jwk,
                created_at,
                retired_at,
                publish_until,
                signs_from,
            )| {
                KeyRow::from(SigningKey {
                    kid,
                    alg,
                    private_der,
                    public_jwk,
                    created_at,
                    retired_at,
                    publish_until,
                    signs_from,
                })
            },
        )
        .collect();
        let consents = sqlx::query_as::<_, (String, String, String, i64)>(
            "SELECT user_id, client_id, scope, granted_at FROM consent ORDER BY user_id, client_id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(user_id, client_id, scope, granted_at)| ConsentRow {
            user_id,
            client_id,
            scope,
            granted_at,
        })
        .collect();
        let groups = sqlx::query_as::<_, (String, String, Option<String>, i64, AuthPolicy)>(
            "SELECT id, name, description, created_at, auth_policy FROM user_group ORDER BY name",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(id, name, description, created_at, auth_policy)| GroupRow {
                id,
                name,
                description,
                created_at,
                auth_policy,
            },
        )
        .collect();
        let group_members = sqlx::query_as::<_, (String, String, i64)>(
            "SELECT group_id, user_id, added_at FROM group_member ORDER BY group_id, user_id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(group_id, user_id, added_at)| MemberRow {
            group_id,
            user_id,
            added_at,
        })
        .collect();
        let user_claims = claim_rows(
            &mut *c,
            "SELECT user_id, name, value FROM user_claim ORDER BY user_id, name",
        )
        .await?;
        let group_claims = claim_rows(
            &mut *c,
            "SELECT group_id, name, value FROM group_claim ORDER BY group_id, name",
        )
        .await?;
        let sessions = sqlx::query(concat!(
            "SELECT ",
            session_columns!(),
            " FROM session s ORDER BY s.auth_time, s.id_hash"
        ))
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .iter()
        .map(|r| session_from(r).map(SessionRow::from))
        .collect::<Result<Vec<_>, _>>()
        .map_err(db_error)?;
        type Family = (
            String,
            String,
            String,
            Option<String>,
            i64,
            i64,
            Option<i64>,
            Option<RevokeReason>,
            Option<String>,
            String,
            Option<String>,
            Option<String>,
            Option<i64>,
            Option<i64>,
            Option<String>,
        );
        let token_families = sqlx::query_as::<_, Family>(
            "SELECT id, client_id, user_id, nonce, auth_time, created_at, revoked_at, revoked_reason,
                    session_id_hash, amr, refresh_hash, refresh_scope, refresh_created_at,
                    refresh_expires_at, resources
             FROM token_family ORDER BY created_at, id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(
                id,
                client_id,
                user_id,
                nonce,
                auth_time,
                created_at,
                revoked_at,
                revoked_reason,
                session_id_hash,
                amr,
                refresh_hash,
                refresh_scope,
                refresh_created_at,
                refresh_expires_at,
                resources,
            )| FamilyRow {
                id,
                client_id,
                user_id,
                nonce,
                auth_time,
                created_at,
                revoked_at,
                revoked_reason,
                session_id_hash,
                amr,
                refresh: FamilyRefreshRow::from_columns(
                    refresh_hash,
                    refresh_scope,
                    refresh_created_at,
                    refresh_expires_at,
                ),
                resources,
            },
        )
        .collect();
        type Token = (
            String,
            String,
            String,
            i64,
            i64,
            Option<i64>,
            Option<String>,
        );
        let token_row =
            |(token_hash, family_id, scope, created_at, expires_at, ended_at, resources): Token| {
                TokenRow {
                    token_hash,
                    family_id,
                    scope,
                    created_at,
                    expires_at,
                    ended_at,
                    resources,
                }
            };
        let refresh_tokens = sqlx::query_as::<_, Token>(
            "SELECT token_hash, family_id, scope, created_at, expires_at, rotated_at,
                    CAST(NULL AS TEXT)
             FROM refresh_token ORDER BY created_at, token_hash",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(token_row)
        .collect();
        let access_tokens = sqlx::query_as::<_, Token>(
            "SELECT token_hash, family_id, scope, created_at, expires_at, revoked_at, resources
             FROM access_token ORDER BY created_at, token_hash",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(token_row)
        .collect();
        let client_tokens = sqlx::query_as::<_, Token>(
            "SELECT token_hash, client_id, scope, created_at, expires_at, revoked_at, resources
             FROM client_token ORDER BY created_at, token_hash",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(token_hash, client_id, scope, created_at, expires_at, revoked_at, resources)| {
                ClientTokenRow {
                    token_hash,
                    client_id,
                    scope,
                    created_at,
                    expires_at,
                    revoked_at,
                    resources,
                }
            },
        )
        .collect();
        let session_clients = sqlx::query_as::<_, (String, String)>(
            "SELECT session_id_hash, client_id FROM session_client
             ORDER BY session_id_hash, client_id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(session_id_hash, client_id)| SessionClientRow {
            session_id_hash,
            client_id,
        })
        .collect();
        let logout_notices = sqlx::query_as::<_, (String, String, String, String, i64, i32, i64)>(
            "SELECT client_id, user_id, session_id_hash, jti, created_at, attempts,
                        next_attempt_at
                 FROM logout_notice ORDER BY id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(client_id, user_id, session_id_hash, jti, created_at, attempts, next)| NoticeRow {
                client_id,
                user_id,
                session_id_hash,
                jti,
                created_at,
                attempts: u32::try_from(attempts).unwrap_or(0),
                next_attempt_at: next,
            },
        )
        .collect();
        let totp_factors = sqlx::query_as::<_, (String, Vec<u8>, i64, Option<i64>)>(
            "SELECT user_id, secret, created_at, last_step FROM totp_factor ORDER BY user_id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(user_id, secret, created_at, last_step)| {
            TotpRow::from(TotpFactor {
                user_id,
                secret,
                created_at,
                last_step,
            })
        })
        .collect();
        let recovery_codes = sqlx::query_as::<_, (String, String, i64)>(
            "SELECT user_id, code_hash, created_at FROM recovery_code ORDER BY user_id, code_hash",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(user_id, code_hash, created_at)| RecoveryCodeRow {
            user_id,
            code_hash,
            created_at,
        })
        .collect();
        type Passkey = (String, String, String, String, i64, Option<i64>);
        type SignupLinkTuple = (
            String,
            String,
            String,
            i32,
            i32,
            String,
            i64,
            i64,
            Vec<String>,
            String,
        );
        let client_logos = sqlx::query_as::<_, (String, Vec<u8>, i64)>(
            "SELECT client_id, bytes, updated_at FROM client_logo ORDER BY client_id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(client_id, bytes, at)| ClientLogoRow::new(client_id, &bytes, at))
        .collect();
        let signup_links = sqlx::query_as::<_, SignupLinkTuple>(
            "SELECT l.id, l.secret_hash, l.note, l.max_uses, l.uses, l.created_by, l.created_at,
                    l.expires_at,
                    COALESCE((SELECT array_agg(group_id ORDER BY group_id)
                              FROM signup_link_group WHERE link_id = l.id), '{}'),
                    l.domains
             FROM signup_link l ORDER BY l.created_at, l.id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|l| SignupLinkRow {
            id: l.0,
            secret_hash: l.1,
            note: l.2,
            max_uses: u32::try_from(l.3).unwrap_or(0),
            uses: u32::try_from(l.4).unwrap_or(0),
            created_by: l.5,
            created_at: l.6,
            expires_at: l.7,
            group_ids: l.8,
            domains: crate::auth::signup::domains_from_column(&l.9),
        })
        .collect();
        let address_rules = sqlx::query_as::<_, (String, String)>(
            "SELECT user_id, domains FROM address_rule ORDER BY user_id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(|(user_id, domains)| AddressRuleRow {
            user_id,
            domains: crate::auth::signup::domains_from_column(&domains),
        })
        .collect();
        let passkeys = sqlx::query_as::<_, Passkey>(
            "SELECT credential_id, user_id, name, data, created_at, last_used_at
             FROM passkey ORDER BY user_id, created_at, credential_id",
        )
        .fetch_all(&mut *c)
        .await
        .map_err(db_error)?
        .into_iter()
        .map(
            |(credential_id, user_id, name, data, created_at, last_used_at)| PasskeyRow {
                credential_id,
                user_id,
                name,
                data,
                created_at,
                last_used_at,
            },
        )
        .collect();
        let audit = sqlx::query(concat!(
            "SELECT ",
            audit_columns!(),
            " FROM audit_event ORDER BY id"
        ))
        .fetch_all(&mut *c)
        .await
        .and_then(|rows| {
            rows.iter()
                .map(|r| audit_from(r).map(|e| e.record))
                .collect()
        })
        .map_err(db_error)?;
        let mut kept = Vec::new();
        for name in snapshot::KEPT_SECRETS {
            let value: Option<Vec<u8>> =
                sqlx::query_scalar("SELECT value FROM server_secret WHERE name = $1")
                    .bind(name)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(db_error)?;
            kept.extend(value.map(|key| (name.to_owned(), key)));
        }
        tx.commit().await.map_err(db_error)?;
        let mut document = Snapshot {
            format: snapshot::FORMAT.into(),
            version: snapshot::VERSION,
            exported_at: now,
            users,
            clients,
            signing_keys,
            consents,
            groups,
            group_members,
            user_claims,
            group_claims,
            sessions,
            token_families,
            refresh_tokens,
            access_tokens,
            client_tokens,
            session_clients,
            logout_notices,
            totp_factors,
            recovery_codes,
            passkeys,
            signup_links,
            client_logos,
            address_rules,
            refresh_token_key: None,
            pairwise_subject_key: None,
            audit,
        };
        document.keep_secrets(&kept);
        Ok(document)
    }

    pub(super) async fn import_snapshot(&self, snapshot: Snapshot) -> StoreResult<()> {
        if let Some(problem) = snapshot.incompatibility() {
            return Err(StoreError::Corrupt(problem));
        }
        let mut keys = Vec::new();
        for k in &snapshot.signing_keys {
            keys.push((k.clone(), k.private_der().map_err(StoreError::Corrupt)?));
        }
        let totp = snapshot
            .totp_factors
            .iter()
            .map(TotpRow::factor)
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::Corrupt)?;
        let logos = snapshot.client_logos().map_err(StoreError::Corrupt)?;
        let secrets = snapshot.secrets().map_err(StoreError::Corrupt)?;
        let mut tx = self.pool.begin().await.map_err(db_error)?;
        // Nobody else may start writing a deployment while this one is loaded.
        for table in ["user_account", "client", "signing_key"] {
            sqlx::query(sql(format!("LOCK TABLE {table} IN EXCLUSIVE MODE")))
                .execute(&mut *tx)
                .await
                .map_err(db_error)?;
        }
        let occupied: i64 = sqlx::query_scalar(
            "SELECT (SELECT count(*) FROM user_account) + (SELECT count(*) FROM client)
                  + (SELECT count(*) FROM signing_key)",
        )
        .fetch_one(&mut *tx)
        .await
        .map_err(db_error)?;
        if occupied > 0 {
            return Err(StoreError::NotEmpty);
        }
        let c = &mut *tx;
        let s = snapshot;
        let result: Result<(), sqlx::Error> = async {
            for u in &s.users {
                insert_user(&mut *c, &User::from(u.clone())).await?;
            }
            for cl in &s.clients {
                insert_client(&mut *c, &Client::from(cl.clone())).await?;
            }
            for (k, der) in &keys {
                sqlx::query(
                    "INSERT INTO signing_key (kid, alg, private_der, public_jwk, created_at, retired_at, publish_until, signs_from)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(&k.kid)
                .bind(k.alg)
                .bind(der)
                .bind(&k.public_jwk)
                .bind(k.created_at)
                .bind(k.retired_at)
                .bind(k.publish_until)
                .bind(k.signs_from())
                .execute(&mut *c)
                .await?;
            }
            for x in &s.consents {
                sqlx::query(
                    "INSERT INTO consent (user_id, client_id, scope, granted_at) VALUES ($1, $2, $3, $4)",
                )
                .bind(&x.user_id)
                .bind(&x.client_id)
                .bind(&x.scope)
                .bind(x.granted_at)
                .execute(&mut *c)
                .await?;
            }
            for g in &s.groups {
                sqlx::query(
                    "INSERT INTO user_group (id, name, description, created_at, auth_policy)
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(&g.id)
                .bind(&g.name)
                .bind(&g.description)
                .bind(g.created_at)
                .bind(g.auth_policy)
                .execute(&mut *c)
                .await?;
            }
            for m in &s.group_members {
                sqlx::query(
                    "INSERT INTO group_member (group_id, user_id, added_at) VALUES ($1, $2, $3)",
                )
                .bind(&m.group_id)
                .bind(&m.user_id)
                .bind(m.added_at)
                .execute(&mut *c)
                .await?;
            }
            for (sql, rows) in [
                (
                    "INSERT INTO user_claim (user_id, name, value) VALUES ($1, $2, $3)",
                    &s.user_claims,
                ),
                (
                    "INSERT INTO group_claim (group_id, name, value) VALUES ($1, $2, $3)",
                    &s.group_claims,
                ),
            ] {
                for k in rows {
                    sqlx::query(sql)
                        .bind(&k.owner_id)
                        .bind(&k.name)
                        .bind(k.value.to_string())
                        .execute(&mut *c)
                        .await?;
                }
            }
            for x in &s.sessions {
                sqlx::query(
                    "INSERT INTO session (id_hash, user_id, auth_time, expires_at, last_seen_at, amr,
                                          user_agent, ip, kept)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                )
                .bind(&x.id_hash)
                .bind(&x.user_id)
                .bind(x.auth_time)
                .bind(x.expires_at)
                .bind(x.last_seen_at)
                .bind(&x.amr)
                .bind(&x.user_agent)
                .bind(&x.ip)
                .bind(x.kept)
                .execute(&mut *c)
                .await?;
            }
            for f in &s.token_families {
                let refresh = f.refresh.as_ref();
                sqlx::query(
                    "INSERT INTO token_family (id, client_id, user_id, nonce, auth_time, created_at, revoked_at, revoked_reason, session_id_hash, amr,
                                               refresh_hash, refresh_scope, refresh_created_at, refresh_expires_at, resources)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
                )
                .bind(&f.id)
                .bind(&f.client_id)
                .bind(&f.user_id)
                .bind(&f.nonce)
                .bind(f.auth_time)
                .bind(f.created_at)
                .bind(f.revoked_at)
                .bind(f.revoked_reason)
                .bind(&f.session_id_hash)
                .bind(&f.amr)
                .bind(refresh.map(|r| &r.token_hash))
                .bind(refresh.map(|r| &r.scope))
                .bind(refresh.map(|r| r.created_at))
                .bind(refresh.map(|r| r.expires_at))
                .bind(&f.resources)
                .execute(&mut *c)
                .await?;
            }
            for (name, key) in &secrets {
                sqlx::query(
                    "INSERT INTO server_secret (name, value, created_at) VALUES ($1, $2, $3)
                     ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                )
                .bind(name)
                .bind(key)
                .bind(s.exported_at)
                .execute(&mut *c)
                .await?;
            }
            for t in &s.refresh_tokens {
                sqlx::query(
                    "INSERT INTO refresh_token (token_hash, family_id, scope, created_at, expires_at, rotated_at)
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&t.token_hash)
                .bind(&t.family_id)
                .bind(&t.scope)
                .bind(t.created_at)
                .bind(t.expires_at)
                .bind(t.ended_at)
                .execute(&mut *c)
                .await?;
            }
            for t in &s.access_tokens {
                sqlx::query(
                    "INSERT INTO access_token (token_hash, family_id, scope, created_at, expires_at, revoked_at, resources)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&t.token_hash)
                .bind(&t.family_id)
                .bind(&t.scope)
                .bind(t.created_at)
                .bind(t.expires_at)
                .bind(t.ended_at)
                .bind(&t.resources)
                .execute(&mut *c)
                .await?;
            }
            // Each family keeps the expiry of its last access token, which the sweep reads
            // instead of its tokens (migration 24's statement).
            sqlx::query(
                "UPDATE token_family f SET access_expires_at = last.at
                 FROM (SELECT family_id, max(expires_at) AS at FROM access_token GROUP BY family_id) last
                 WHERE last.family_id = f.id",
            )
            .execute(&mut *c)
            .await?;
            for t in &s.client_tokens {
                sqlx::query(
                    "INSERT INTO client_token (token_hash, client_id, scope, created_at, expires_at, revoked_at, resources)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&t.token_hash)
                .bind(&t.client_id)
                .bind(&t.scope)
                .bind(t.created_at)
                .bind(t.expires_at)
                .bind(t.revoked_at)
                .bind(&t.resources)
                .execute(&mut *c)
                .await?;
            }
            for x in &s.session_clients {
                sqlx::query("INSERT INTO session_client (session_id_hash, client_id) VALUES ($1, $2)")
                    .bind(&x.session_id_hash)
                    .bind(&x.client_id)
                    .execute(&mut *c)
                    .await?;
            }
            for n in &s.logout_notices {
                sqlx::query(
                    "INSERT INTO logout_notice (client_id, user_id, session_id_hash, jti, created_at, attempts, next_attempt_at)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&n.client_id)
                .bind(&n.user_id)
                .bind(&n.session_id_hash)
                .bind(&n.jti)
                .bind(n.created_at)
                .bind(i32::try_from(n.attempts).unwrap_or(i32::MAX))
                .bind(n.next_attempt_at)
                .execute(&mut *c)
                .await?;
            }
            for t in &totp {
                sqlx::query(
                    "INSERT INTO totp_factor (user_id, secret, created_at, last_step)
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(&t.user_id)
                .bind(&t.secret)
                .bind(t.created_at)
                .bind(t.last_step)
                .execute(&mut *c)
                .await?;
            }
            for r in &s.recovery_codes {
                sqlx::query(
                    "INSERT INTO recovery_code (user_id, code_hash, created_at) VALUES ($1, $2, $3)",
                )
                .bind(&r.user_id)
                .bind(&r.code_hash)
                .bind(r.created_at)
                .execute(&mut *c)
                .await?;
            }
            for p in &s.passkeys {
                super::passkeys::insert_passkey(&mut *c, &p.clone().into(), false).await?;
            }
            for l in &s.signup_links {
                super::signup::insert_link(&mut *c, &l.link(), &l.group_ids).await?;
            }
            for rule in s.address_rules.iter().filter(|r| !r.domains.is_empty()) {
                super::signup::insert_address_rule(&mut *c, &rule.user_id, &rule.domains).await?;
            }
            for (client_id, logo, at) in &logos {
                super::directory::put_logo(&mut *c, client_id, logo, *at).await?;
            }
            for e in &s.audit {
                append_audit(&mut *c, e).await?;
            }
            Ok(())
        }
        .await;
        result.map_err(db_error)?;
        tx.commit().await.map_err(db_error)
    }
}

/// The custom claims `sql` reads: their owner's id, name and value (JSON text).
async fn claim_rows(c: &mut sqlx::PgConnection, sql: &'static str) -> StoreResult<Vec<ClaimRow>> {
    let rows = sqlx::query_as::<_, (String, String, String)>(sql)
        .fetch_all(c)
        .await
        .map_err(db_error)?;
    rows.into_iter()
        .map(|(owner_id, name, value)| {
            let value = serde_json::from_str(&value)
                .map_err(|e| StoreError::Corrupt(format!("custom claim {name:?}: {e}")))?;
            Ok(ClaimRow {
                owner_id,
                name,
                value,
            })
        })
        .collect()
}
