//! The servers under load: the `gatehouse` binary, as an operator runs it, on a fresh SQLite
//! file, on a fresh PostgreSQL schema, or as two processes on one PostgreSQL schema. The lab
//! seeds each database through `gatehouse import` and then speaks only HTTP to the servers:
//! it measures the program people deploy, in processes of its own (so the load generator's
//! work is not counted as the server's), and does not link gatehouse's code.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore as _;
use sha2::{Digest, Sha256};
use sqlx::Connection as _;

/// The password every load-test user has.
pub const PASSWORD: &str = "load test glacier umbrella";
/// Where codes are sent: nothing listens there; the load generator reads the redirect.
pub const REDIRECT: &str = "http://127.0.0.1:9/callback";
pub const CLIENT_ID: &str = "bench";
/// How long a server may take from start to listening.
const START_WITHIN: Duration = Duration::from_secs(60);
/// How long a server may take to stop after SIGTERM before it is killed.
const STOP_WITHIN: Duration = Duration::from_secs(30);

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

/// A random secret, base64url: 32 bytes, as gatehouse makes them.
pub fn random_secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Where the `gatehouse` binary is: `given` (`--gatehouse-bin` or `GATEHOUSE_BIN`), else next
/// to this `lab` binary, where cargo builds both.
///
/// # Errors
/// When there is no such file, with the command that builds it.
pub fn gatehouse_bin(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(p) => p,
        None => std::env::current_exe()
            .context("cannot find the lab binary's directory")?
            .with_file_name(format!("gatehouse{}", std::env::consts::EXE_SUFFIX)),
    };
    if !path.is_file() {
        bail!(
            "no gatehouse binary at {}: build it with `cargo build --release -p gatehouse` \
             (the same profile as lab), or pass --gatehouse-bin",
            path.display()
        );
    }
    Ok(path)
}

/// A running deployment; dropping it stops the servers and removes the database.
pub struct Deployment {
    /// Base URLs of the servers, e.g. `http://127.0.0.1:43121`.
    pub bases: Vec<String>,
    pub secret: String,
    /// The servers' process ids, for their CPU time.
    pub pids: Vec<u32>,
    servers: Vec<Child>,
    _dir: tempfile::TempDir,
    schema: Option<(String, String)>,
    /// The SQLite file, for a SQLite deployment.
    sqlite_file: Option<PathBuf>,
}

impl Deployment {
    /// Starts `kind` with `users` users (`bench-0`, `bench-1`, …) and one confidential client.
    pub async fn start(
        kind: Kind,
        users: usize,
        postgres_url: &str,
        bin: &Path,
    ) -> anyhow::Result<Deployment> {
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
                let mut id = [0u8; 8];
                rand::rng().fill_bytes(&mut id);
                let schema = format!("lab_sso_{}", hex(&id));
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
        let sqlite_file = (kind == Kind::Sqlite).then(|| dir.path().join("gatehouse.db"));
        let mut deployment = Deployment {
            bases: Vec::new(),
            secret: random_secret(),
            pids: Vec::new(),
            servers: Vec::new(),
            _dir: dir,
            schema,
            sqlite_file,
        };
        let seed = deployment._dir.path().join("seed.json");
        let document = seed_document(users, &deployment.secret)?;
        let bin = bin.to_owned();
        let servers = tokio::task::spawn_blocking(move || {
            std::fs::write(&seed, document)?;
            gatehouse(&bin, &url, &["import", &seed.display().to_string()])?;
            (0..instances)
                .map(|_| serve(&bin, &url))
                .collect::<anyhow::Result<Vec<_>>>()
        })
        .await??;
        for (base, child) in servers {
            deployment.bases.push(base);
            deployment.pids.push(child.id());
            deployment.servers.push(child);
        }
        Ok(deployment)
    }
}

impl Deployment {
    /// CPU seconds (user and system, every thread) the servers have used so far.
    ///
    /// # Errors
    /// When a server's `/proc/PID/stat` cannot be read.
    pub fn cpu_seconds(&self) -> anyhow::Result<f64> {
        let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)?
            .context("the clock tick is unknown")? as f64;
        let mut total = 0.0;
        for pid in &self.pids {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
            // After the command's name, in parentheses (which may hold spaces): the state is
            // field 3, utime and stime fields 14 and 15.
            let rest = stat.rsplit_once(')').context("a stat line")?.1;
            let fields: Vec<&str> = rest.split_whitespace().collect();
            let field = |n: usize| -> anyhow::Result<f64> {
                Ok(fields.get(n - 3).context("a stat field")?.parse::<f64>()?)
            };
            total += (field(14)? + field(15)?) / ticks;
        }
        Ok(total)
    }

    /// The bytes the database holds: SQLite's pages in use (the WAL's newest included), or
    /// PostgreSQL's tables with their indexes and TOAST; by table (its indexes counted with
    /// it), and in all.
    ///
    /// # Errors
    /// When the database cannot be read.
    pub async fn stored_bytes(&self) -> anyhow::Result<Stored> {
        if let Some(file) = &self.sqlite_file {
            let file = file.clone();
            return tokio::task::spawn_blocking(move || {
                let db = rusqlite::Connection::open_with_flags(
                    &file,
                    rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
                )?;
                let pragma = |name: &str| -> rusqlite::Result<u64> {
                    db.query_row(&format!("PRAGMA {name}"), [], |r| r.get(0))
                };
                let used = pragma("page_count")? - pragma("freelist_count")?;
                let total = used * pragma("page_size")?;
                // dbstat: every b-tree's pages, an index's under its table's name.
                let by_table = db
                    .prepare(
                        "SELECT coalesce(s.tbl_name, d.name), sum(d.pgsize) FROM dbstat d
                         LEFT JOIN sqlite_schema s ON s.name = d.name GROUP BY 1",
                    )?
                    .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, u64>(1)?)))?
                    .collect::<rusqlite::Result<_>>()?;
                Ok(Stored { total, by_table })
            })
            .await?;
        }
        let (server, schema) = self.schema.as_ref().context("a database")?;
        let mut conn = sqlx::PgConnection::connect(server).await?;
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "SELECT c.relname::text, pg_total_relation_size(c.oid)::bigint FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind = 'r'",
        )
        .bind(schema)
        .fetch_all(&mut conn)
        .await?;
        let by_table: std::collections::BTreeMap<String, u64> = rows
            .into_iter()
            .map(|(t, b)| (t, u64::try_from(b).unwrap_or(0)))
            .collect();
        Ok(Stored {
            total: by_table.values().sum(),
            by_table,
        })
    }
}

/// What a database holds, in bytes.
pub struct Stored {
    pub total: u64,
    /// Per table, its indexes included.
    pub by_table: std::collections::BTreeMap<String, u64>,
}

impl Stored {
    /// What grew from `before` to this, per table (those that grew), largest first.
    pub fn growth_since(&self, before: &Stored) -> Vec<(String, u64)> {
        let mut grown: Vec<(String, u64)> = self
            .by_table
            .iter()
            .map(|(t, b)| {
                let was = before.by_table.get(t).copied().unwrap_or(0);
                (t.clone(), b.saturating_sub(was))
            })
            .filter(|(_, g)| *g > 0)
            .collect();
        grown.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        grown
    }
}

/// A `gatehouse import` document (the format `gatehouse export` writes): the users, with one
/// shared password hash (hashing it once keeps setup fast), and the client.
fn seed_document(users: usize, secret: &str) -> anyhow::Result<String> {
    use argon2::PasswordHasher as _;
    let salt =
        argon2::password_hash::SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    // Argon2id, 19 MiB, 2 passes: gatehouse's own parameters (OWASP's minimum).
    let hash = argon2::Argon2::default()
        .hash_password(PASSWORD.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))?
        .to_string();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let users: Vec<_> = (0..users)
        .map(|i| {
            serde_json::json!({
                "id": format!("bench-user-{i}"),
                "username": format!("bench-{i}"),
                "email": format!("bench-{i}@example.com"),
                "name": null,
                "password_hash": hash,
                "disabled": false,
                "created_at": now,
            })
        })
        .collect();
    let client = serde_json::json!({
        "client_id": CLIENT_ID,
        "secret_hash": hex(&Sha256::digest(secret.as_bytes())),
        "redirect_uris": [REDIRECT],
        "post_logout_redirect_uris": [],
        "scopes": ["openid", "profile", "email", "offline_access"],
        "grant_types": ["authorization_code", "refresh_token"],
        "first_party": true,
        "created_at": now,
    });
    let document = serde_json::json!({
        "format": "gatehouse-export",
        "version": 1,
        "exported_at": now,
        "users": users,
        "clients": [client],
        "signing_keys": [],
        "consents": [],
        "sessions": [],
        "token_families": [],
        "refresh_tokens": [],
        "access_tokens": [],
        "client_tokens": [],
        "audit": [],
    });
    Ok(serde_json::to_string(&document)?)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs one `gatehouse` command to completion.
fn gatehouse(bin: &Path, url: &str, args: &[&str]) -> anyhow::Result<()> {
    let out = Command::new(bin)
        .arg("--database-url")
        .arg(url)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {}", bin.display()))?;
    if !out.status.success() {
        bail!(
            "gatehouse {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

/// Starts `gatehouse serve` on a port the system picks; returns its base URL once it listens.
/// Its output is read to the end on a thread of its own, so a full pipe never stalls it.
fn serve(bin: &Path, url: &str) -> anyhow::Result<(String, Child)> {
    let mut child = Command::new(bin)
        .arg("--database-url")
        .arg(url)
        // As behind a reverse proxy on this machine: each simulated person's address comes in
        // X-Forwarded-For, so the per-address sign-in throttle sees many people, not one.
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--trusted-proxy",
            "127.0.0.1",
        ])
        // Warnings and errors only: a line per request would be the lab measuring logging.
        .env("GATEHOUSE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start {}", bin.display()))?;
    let stdout = child.stdout.take().context("the server's output")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut tx = Some(tx);
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            // "gatehouse listening on http://127.0.0.1:PORT (issuer …)"
            if let Some(rest) = line.strip_prefix("gatehouse listening on ") {
                let base = rest
                    .split_whitespace()
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                if let Some(tx) = tx.take() {
                    let _ = tx.send(base);
                }
            } else if tx.is_none() {
                eprintln!("gatehouse: {line}");
            }
        }
    });
    match rx.recv_timeout(START_WITHIN) {
        Ok(base) => Ok((base, child)),
        Err(_) => {
            let _ = child.kill();
            let status = child.wait()?;
            bail!("gatehouse serve did not start within {START_WITHIN:?} ({status})")
        }
    }
}

/// SIGTERM, as a service manager stops it; killed if it has not stopped in time.
fn stop(child: &mut Child) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
    let deadline = Instant::now() + STOP_WITHIN;
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Drop for Deployment {
    fn drop(&mut self) {
        for child in &mut self.servers {
            stop(child);
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
