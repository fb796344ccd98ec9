//! The servers under load: gatehouse on a fresh SQLite file, on a fresh PostgreSQL schema, or
//! as two instances on one PostgreSQL schema. Each server runs on a tokio runtime of its own
//! (its own threads), so the load generator's work is not counted as the server's.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use gatehouse::clock::{Clock, SystemClock};
use gatehouse::config::{Config, LogFormat, ServeArgs};
use gatehouse::model::{Client, GrantType, User};
use gatehouse::oidc::tokens;
use gatehouse::store::{self, Store};
use sqlx::Connection as _;

/// The password every load-test user has.
pub const PASSWORD: &str = "load test glacier umbrella";
/// Where codes are sent: nothing listens there; the load generator reads the redirect.
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const CLIENT_ID: &str = "bench";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// One server on one SQLite file (the default deployment)
    Sqlite,
    /// One server on PostgreSQL
    Postgres,
    /// Two servers on one PostgreSQL database, clients spread over both
    #[value(name = "postgres-x2")]
    PostgresX2,
}

impl Kind {
    pub fn label(self) -> &'static str {
        match self {
            Kind::Sqlite => "sqlite",
            Kind::Postgres => "postgres",
            Kind::PostgresX2 => "postgres-x2",
        }
    }
}

/// A running deployment; dropping it stops the servers and removes the database.
pub struct Deployment {
    /// Base URLs of the servers, e.g. `http://127.0.0.1:43121`.
    pub bases: Vec<String>,
    pub secret: String,
    servers: Vec<Server>,
    _dir: tempfile::TempDir,
    schema: Option<(String, String)>,
}

struct Server {
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Deployment {
    /// Starts `kind` with `users` users (`bench-0`, `bench-1`, …) and one confidential client.
    pub async fn start(kind: Kind, users: usize, postgres_url: &str) -> anyhow::Result<Deployment> {
        let dir = tempfile::tempdir()?;
        let (url, schema) = match kind {
            Kind::Sqlite => (
                format!("sqlite://{}", dir.path().join("gatehouse.db").display()),
                None,
            ),
            Kind::Postgres | Kind::PostgresX2 => {
                let mut conn = sqlx::PgConnection::connect(postgres_url)
                    .await
                    .with_context(|| format!("cannot connect to PostgreSQL at {postgres_url}"))?;
                let schema = format!("lab_sso_{}", tokens::new_id());
                sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
                    .execute(&mut conn)
                    .await?;
                let sep = if postgres_url.contains('?') { '&' } else { '?' };
                (
                    format!("{postgres_url}{sep}options=-c%20search_path%3D{schema}"),
                    Some((postgres_url.to_owned(), schema)),
                )
            }
        };
        let instances = if kind == Kind::PostgresX2 { 2 } else { 1 };
        let mut deployment = Deployment {
            bases: Vec::new(),
            secret: String::new(),
            servers: Vec::new(),
            _dir: dir,
            schema,
        };
        let store = store::open(&url).await?;
        deployment.secret = populate(store.as_ref(), users).await?;
        store.close().await?;
        for _ in 0..instances {
            let (base, server) = serve(url.clone()).await?;
            deployment.bases.push(base);
            deployment.servers.push(server);
        }
        Ok(deployment)
    }
}

/// Users with one shared password hash (hashing it once keeps setup fast) and the client.
async fn populate(store: &dyn Store, users: usize) -> anyhow::Result<String> {
    let hash = gatehouse::auth::passwords::Passwords::new(1)
        .hash(PASSWORD.into(), vec![])
        .await?;
    let now = SystemClock.now();
    for i in 0..users {
        store
            .create_user(User {
                id: tokens::new_id(),
                username: format!("bench-{i}"),
                email: format!("bench-{i}@example.com"),
                name: None,
                password_hash: hash.clone(),
                disabled: false,
                created_at: now,
            })
            .await?;
    }
    let secret = tokens::generate();
    store
        .create_client(Client {
            client_id: CLIENT_ID.into(),
            secret_hash: Some(tokens::hash(&secret)),
            redirect_uris: vec![REDIRECT.into()],
            post_logout_redirect_uris: vec![],
            scopes: ["openid", "profile", "email", "offline_access"]
                .map(String::from)
                .to_vec(),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            first_party: true,
            created_at: now,
        })
        .await?;
    Ok(secret)
}

/// One gatehouse server on its own runtime; returns its base URL once it listens.
async fn serve(url: String) -> anyhow::Result<(String, Server)> {
    let (ready_tx, ready_rx) = tokio::sync::oneshot::channel::<anyhow::Result<SocketAddr>>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("gatehouse-server".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e.into()));
                    return;
                }
            };
            rt.block_on(async move {
                let started = async {
                    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
                    let addr = listener.local_addr()?;
                    let config = Config::from_args(&ServeArgs {
                        listen: addr,
                        issuer: None,
                        access_token_ttl: 600,
                        id_token_ttl: 3600,
                        refresh_token_ttl: 86400,
                        session_ttl: 3600,
                        session_idle_timeout: 1800,
                        trust_forwarded_for: false,
                        log_format: LogFormat::Pretty,
                        password_hash_concurrency: None,
                        request_timeout: 30,
                        login_lockout_after: 10,
                        login_lockout: 900,
                    })?;
                    let store = store::open(&url).await?;
                    gatehouse::keyring::ensure_active_key(
                        store.as_ref(),
                        SystemClock.now(),
                        config.key_publish_period(),
                    )
                    .await?;
                    anyhow::Ok((listener, addr, config, store))
                };
                let (listener, addr, config, store) = match started.await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let state =
                    gatehouse::AppState::new(Arc::clone(&store), config, Arc::new(SystemClock));
                let _ = ready_tx.send(Ok(addr));
                let app = gatehouse::app(state).into_make_service_with_connect_info::<SocketAddr>();
                let _ = axum::serve(listener, app)
                    .with_graceful_shutdown(async {
                        let _ = stop_rx.await;
                    })
                    .await;
                let _ = store.close().await;
            });
        })?;
    let addr = ready_rx.await.context("the server thread ended early")??;
    Ok((
        format!("http://{addr}"),
        Server {
            shutdown: Some(stop_tx),
            thread: Some(thread),
        },
    ))
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for s in &mut self.servers {
            if let Some(tx) = s.shutdown.take() {
                let _ = tx.send(());
            }
        }
        for s in &mut self.servers {
            if let Some(t) = s.thread.take() {
                let _ = t.join();
            }
        }
        if let Some((server, schema)) = self.schema.take() {
            // Dropped inside the load generator's runtime: a thread with a runtime of its own.
            let _ = std::thread::spawn(move || {
                let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                else {
                    return;
                };
                rt.block_on(async {
                    if let Ok(mut conn) = sqlx::PgConnection::connect(&server).await {
                        let drop = format!("DROP SCHEMA IF EXISTS {schema} CASCADE");
                        let _ = sqlx::query(sqlx::AssertSqlSafe(drop))
                            .execute(&mut conn)
                            .await;
                    }
                });
            })
            .join();
        }
    }
}
