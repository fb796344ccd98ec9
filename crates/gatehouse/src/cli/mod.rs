//! The command line. Scripts and docs depend on these names: change them only with care.

mod audit;
mod backup;
mod claims;
mod clients;
mod groups;
mod signup_links;
mod users;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::admin::Admin;
use crate::clock::{Clock, SystemClock, rfc3339};
use crate::config::{DatabaseArgs, LogFormat, ServeArgs};
use crate::model::{AuditKind, SigningAlg};
use crate::store::{self, Store};
pub use audit::AuditCommand;
pub use clients::{ClientCommand, ClientDisplayArgs, ClientField};
pub use groups::GroupCommand;
pub use users::{ProfileArgs, ProfileField, UserCommand};

/// Gatehouse: an OpenID Connect provider on one embedded SQLite file.
#[derive(Debug, Parser)]
#[command(name = "gatehouse", version)]
pub struct Cli {
    #[command(flatten)]
    pub db: DatabaseArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the OpenID Connect provider
    Serve(ServeArgs),
    /// Manage users
    #[command(subcommand)]
    User(UserCommand),
    /// Manage groups of users and their members
    #[command(subcommand)]
    Group(GroupCommand),
    /// Manage clients (relying parties)
    #[command(subcommand)]
    Client(ClientCommand),
    /// Manage sign-up links, with which people make their own accounts
    #[command(subcommand)]
    SignupLink(signup_links::SignupLinkCommand),
    /// Manage signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Read the audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Create or upgrade the database schema, then exit
    Migrate,
    /// Write a consistent copy of the database to PATH, or into a directory, while the server
    /// runs (SQLite)
    Backup {
        /// Where to write the copy
        #[arg(required_unless_present = "into", conflicts_with = "into")]
        path: Option<PathBuf>,
        /// Write it into DIR as gatehouse-YYYYMMDDTHHMMSSZ.db (UTC), creating DIR if needed
        #[arg(long, value_name = "DIR")]
        into: Option<PathBuf>,
        /// With --into: then remove the oldest of those backups beyond the newest N
        #[arg(long, value_name = "N", requires = "into", value_parser = clap::value_parser!(u32).range(1..))]
        keep: Option<u32>,
    },
    /// Put a backup back in place of the database (SQLite; gatehouse must be stopped). The
    /// backup is checked first; the file it replaces is kept beside it as
    /// NAME.before-restore-TIME
    Restore {
        /// The backup to restore
        backup: PathBuf,
    },
    /// Write the whole deployment as JSON, to move it to another database. The file holds
    /// password hashes and private signing keys: it is created readable by its owner only
    Export {
        /// Where to write it (standard output if absent)
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Load an export into this database, which must hold no users, clients or keys yet
    Import {
        /// The export to load (`-` for standard input)
        path: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new signing key for each algorithm (or for `--alg` only). It is published at
    /// once and starts signing five minutes later, when relying parties' cached copies of the
    /// key set have expired; the old key of its algorithm signs until then and stays published
    /// until every token it signed has expired
    Rotate {
        /// Rotate this algorithm's key only (RS256, ES256 or EdDSA); may be repeated
        #[arg(long = "alg", value_name = "ALG")]
        algs: Vec<SigningAlg>,
        /// Lifetime of ID tokens in seconds, to know how long the old key stays published
        #[arg(long, env = "GATEHOUSE_ID_TOKEN_TTL", default_value_t = 3600)]
        id_token_ttl: i64,
        /// The old keys may be compromised: the new key signs at once and every older key of
        /// its algorithm is unpublished at once, so tokens they signed stop verifying (relying
        /// parties that cached the key set fail until they fetch it again)
        #[arg(long)]
        compromised: bool,
    },
    /// List the published signing keys: algorithm, key id, when each signs and leaves the key set
    List,
}

/// Runs one command of the `gatehouse` binary.
///
/// # Errors
/// Whatever stops the command: a bad argument, a store that cannot be opened or written, an address
/// that cannot be bound; the message says which, for a person at a terminal.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(&cli.db.database_url, args).await,
        // Never through an open store: the database must be closed by everyone.
        Command::Restore { backup } => restore(&cli.db.database_url, backup).await,
        command => {
            let store = open(&cli.db.database_url).await?;
            let result = admin(store.as_ref(), command).await;
            store.close().await.context("closing the database")?;
            result
        }
    }
}

async fn restore(url: &str, backup: PathBuf) -> anyhow::Result<()> {
    let Some(path) = url.strip_prefix("sqlite://").filter(|p| !p.is_empty()) else {
        bail!(
            "restore puts back a SQLite backup; on PostgreSQL restore with pg_restore, or move \
             a deployment with gatehouse export and import"
        );
    };
    let target = PathBuf::from(path);
    let now = SystemClock.now();
    let kept = {
        let target = target.clone();
        let backup = backup.clone();
        tokio::task::spawn_blocking(move || store::sqlite::restore::restore(&target, &backup, now))
            .await
            .context("the restore was interrupted")??
    };
    println!("restored {} from {}", target.display(), backup.display());
    if let Some(kept) = kept {
        println!("the database it replaced is kept as {}", kept.display());
    }
    Ok(())
}

async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    store::open(url)
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

async fn admin(store: &dyn Store, command: Command) -> anyhow::Result<()> {
    let admin = Admin::new(store, "cli", None, SystemClock.now());
    match command {
        Command::Serve(_) | Command::Restore { .. } => unreachable!("handled by run"),
        Command::Migrate => println!("the database schema is up to date"),
        Command::Backup {
            path: Some(path), ..
        } => {
            store.backup(&path).await?;
            println!("backup written to {}", path.display());
        }
        Command::Backup { into, keep, .. } => {
            let dir = into.context("a backup needs PATH or --into DIR")?;
            let keep = keep.map(|k| k as usize);
            let (path, removed) = backup::into_dir(store, &dir, keep, SystemClock.now()).await?;
            println!("backup written to {}", path.display());
            for old in removed {
                println!("removed the older backup {}", old.display());
            }
        }
        Command::Keys(KeysCommand::Rotate {
            algs,
            id_token_ttl,
            compromised,
        }) => {
            let rotation = if compromised {
                crate::keyring::Rotation::Compromised
            } else {
                crate::keyring::Rotation::scheduled(id_token_ttl)
            };
            let algs = if algs.is_empty() {
                SigningAlg::ALL.to_vec()
            } else {
                algs
            };
            for alg in algs {
                let rotated = admin.rotate_key(alg, rotation).await?;
                if compromised {
                    println!(
                        "new {alg} signing key {} signs now; every older {alg} key is \
                         unpublished (servers pick this up within 10 seconds)",
                        rotated.kid
                    );
                } else {
                    println!(
                        "new {alg} signing key {} is published now and signs from {} (servers \
                         publish it within 10 seconds; relying parties' cached key sets expire \
                         meanwhile)",
                        rotated.kid,
                        rfc3339(rotated.signs_from)
                    );
                }
            }
        }
        Command::Keys(KeysCommand::List) => {
            let rows: Vec<Vec<String>> = store
                .signing_keys(SystemClock.now())
                .await?
                .into_iter()
                .map(|k| {
                    let or_dash = |t: Option<i64>| t.map_or_else(|| "-".to_owned(), rfc3339);
                    vec![
                        k.alg.to_string(),
                        k.kid,
                        rfc3339(k.signs_from),
                        or_dash(k.retired_at),
                        or_dash(k.publish_until),
                    ]
                })
                .collect();
            let header = ["ALG", "KID", "SIGNS FROM", "SIGNS UNTIL", "LEAVES KEY SET"];
            print!("{}", table(&header, &rows));
        }
        Command::Export { output } => export(store, output).await?,
        Command::Import { path } => import(store, &path).await?,
        Command::Audit(AuditCommand::Tail {
            lines,
            follow,
            kind,
            subject,
            actor,
        }) => {
            let filter = crate::model::AuditQuery {
                kind_prefix: kind,
                subject,
                actor,
                ..Default::default()
            };
            audit::audit_tail(store, lines, follow, filter).await?;
        }
        Command::User(cmd) => users::user(store, &admin, cmd).await?,
        Command::Group(cmd) => groups::group(store, &admin, cmd).await?,
        Command::Client(cmd) => clients::client(store, &admin, cmd).await?,
        Command::SignupLink(cmd) => signup_links::signup_link(&admin, cmd).await?,
    }
    Ok(())
}

async fn export(store: &dyn Store, output: Option<PathBuf>) -> anyhow::Result<()> {
    let snapshot = store.export(SystemClock.now()).await?;
    let json = serde_json::to_vec_pretty(&snapshot)?;
    let Some(path) = output else {
        use std::io::Write as _;
        std::io::stdout().write_all(&json)?;
        return Ok(());
    };
    write_private(&path, &json).with_context(|| format!("writing {}", path.display()))?;
    eprintln!(
        "exported {} users, {} clients, {} signing keys, {} token families and {} audit records to {}",
        snapshot.users.len(),
        snapshot.clients.len(),
        snapshot.signing_keys.len(),
        snapshot.token_families.len(),
        snapshot.audit.len(),
        path.display()
    );
    Ok(())
}

/// Writes `bytes` to `path` readable by the owner only, whole or not at all (a temporary file
/// renamed into place).
fn write_private(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(std::path::Path::new("."));
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    // NamedTempFile is created 0600 on Unix already; the rename keeps the mode.
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

async fn import(store: &dyn Store, path: &std::path::Path) -> anyhow::Result<()> {
    let bytes = if path.as_os_str() == "-" {
        let mut b = Vec::new();
        std::io::stdin().read_to_end(&mut b)?;
        b
    } else {
        std::fs::read(path).with_context(|| format!("reading {}", path.display()))?
    };
    let snapshot: store::snapshot::Snapshot = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a gatehouse export", path.display()))?;
    let summary = format!(
        "imported {} users, {} groups, {} clients, {} signing keys, {} token families and {} audit records",
        snapshot.users.len(),
        snapshot.groups.len(),
        snapshot.clients.len(),
        snapshot.signing_keys.len(),
        snapshot.token_families.len(),
        snapshot.audit.len(),
    );
    store.import(snapshot).await?;
    let record = crate::model::AuditRecord::new(SystemClock.now(), AuditKind::Imported, "cli")
        .detail(summary.clone());
    store.record(record).await?;
    println!("{summary}");
    Ok(())
}

/// A secret from standard input: prompted without echo on a terminal, otherwise the first line.
fn read_secret(prompt: &str) -> anyhow::Result<String> {
    let value = if std::io::stdin().is_terminal() {
        rpassword::prompt_password(prompt).context("reading from the terminal")?
    } else {
        let mut s = String::new();
        std::io::stdin()
            .take(64 * 1024)
            .read_to_string(&mut s)
            .context("reading standard input")?;
        s.lines().next().unwrap_or_default().to_owned()
    };
    if value.is_empty() {
        bail!("nothing was given on standard input");
    }
    Ok(value)
}

async fn serve(url: &str, args: ServeArgs) -> anyhow::Result<()> {
    init_tracing(args.log_format);
    let (listener, config) = crate::server::bind(args).await?;
    let store = open(url).await?;
    if let Some(hint) = first_steps(store.as_ref(), url, &config.admin_group).await? {
        println!("{hint}");
    }
    let state = crate::server::prepare(store, config, Arc::new(SystemClock)).await?;
    let listen = listener.local_addr()?;
    let settings = state
        .config
        .summary()
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join(", ");
    tracing::info!(database = %without_password(url), "configuration: {settings}");
    for warning in state.config.warnings(listen) {
        tracing::warn!("{warning}");
    }
    println!(
        "gatehouse listening on http://{listen} (issuer {})",
        state.config.issuer
    );
    crate::server::run(listener, state, shutdown_signal()).await
}

/// What is still to do before gatehouse is of use, as commands to paste: adding a user and a
/// client to an empty database, and making someone an administrator while the administration
/// group has no members. `None` once there is nothing to say.
async fn first_steps(
    store: &dyn Store,
    url: &str,
    admin_group: &str,
) -> anyhow::Result<Option<String>> {
    // The program as it was started (`target/release/gatehouse` under `cargo run`), so the
    // commands work as pasted from the same directory, on the PATH or not. A password in the
    // database URL is not printed: the output may well be kept in a log.
    let me = std::env::args()
        .next()
        .unwrap_or_else(|| "gatehouse".to_owned());
    let me = format!("{me} --database-url {}", without_password(url));
    let mut steps = Vec::new();
    let first_user = store.users_after(None, 1).await?.into_iter().next();
    if first_user.is_none() || store.list_clients().await?.is_empty() {
        steps.push(format!(
            "gatehouse is empty. Add a user and a client with, for example:\n  \
             echo 'glacier umbrella quantum tulip' | {me} user add --username alice --email alice@example.com\n  \
             {me} client add --client-id my-app --redirect-uri http://localhost:3000/callback --first-party"
        ));
    }
    let members = store.members(admin_group, None, 1).await?;
    if members.as_ref().is_none_or(Vec::is_empty) {
        let who = first_user.map_or_else(|| "alice".to_owned(), |u| u.username);
        let add_group = match members {
            None => format!("{me} group add {admin_group}\n  "),
            Some(_) => String::new(),
        };
        steps.push(format!(
            "Nobody may use the administration pages (/admin) yet: they are for the members of \
             the group {admin_group:?}. Make someone an administrator with, for example:\n  \
             {add_group}{me} group add-member {admin_group} {who}"
        ));
    }
    Ok((!steps.is_empty()).then(|| steps.join("\n")))
}

/// Rows under a header, each column as wide as its widest cell, two spaces apart; the last
/// column is not padded. (A dozen lines: a table crate would bring borders, wrapping and
/// styles that a list read by people and `grep` does not want.)
pub(super) fn table(header: &[&str], rows: &[Vec<String>]) -> String {
    let width = |i: usize| {
        rows.iter()
            .filter_map(|r| r.get(i))
            .map(|c| c.chars().count())
            .chain(std::iter::once(header[i].chars().count()))
            .max()
            .unwrap_or(0)
    };
    let widths: Vec<usize> = (0..header.len()).map(width).collect();
    let line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut out = String::new();
        for (i, cell) in cells.enumerate() {
            if i + 1 < widths.len() {
                out.push_str(&format!("{cell:<w$}  ", w = widths[i]));
            } else {
                out.push_str(cell);
            }
        }
        out.trim_end().to_owned() + "\n"
    };
    let mut out = line(&mut header.iter().copied());
    for row in rows {
        out.push_str(&line(&mut row.iter().map(String::as_str)));
    }
    out
}

pub(super) fn yes_no(b: bool) -> String {
    (if b { "yes" } else { "no" }).to_owned()
}

/// A database URL as it may be logged: its password replaced.
fn without_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Ctrl-C or SIGTERM: stop accepting, let in-flight requests finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = terminate => {}
    }
    tracing::info!("shutting down");
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("GATEHOUSE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours for a person at a terminal only: not in a file or a journal, nor with NO_COLOR.
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(colour);
    let _ = match format {
        LogFormat::Pretty => builder.try_init(),
        // The request's span (with its id) goes on every line, flattened.
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(false)
            .try_init(),
    };
}

#[cfg(test)]
mod tests {
    use super::{table, without_password};

    /// `--help` explains every option and argument of every command.
    #[test]
    fn every_option_has_help() {
        fn walk(cmd: &clap::Command, path: &str, missing: &mut Vec<String>) {
            for arg in cmd.get_arguments() {
                let id = arg.get_id().as_str();
                if !matches!(id, "help" | "version") && arg.get_help().is_none() {
                    missing.push(format!("{path} {id}"));
                }
            }
            for sub in cmd.get_subcommands() {
                walk(sub, &format!("{path} {}", sub.get_name()), missing);
            }
        }
        let mut missing = Vec::new();
        walk(
            &<super::Cli as clap::CommandFactory>::command(),
            "gatehouse",
            &mut missing,
        );
        assert!(missing.is_empty(), "without help: {missing:#?}");
    }

    #[test]
    fn a_table_aligns_its_columns_under_the_header() {
        let rows = vec![
            vec![
                "alice".to_owned(),
                "a@example.com".to_owned(),
                "x".to_owned(),
            ],
            vec!["björn".to_owned(), "b@e.x".to_owned(), String::new()],
        ];
        assert_eq!(
            table(&["USER", "EMAIL", "NOTE"], &rows),
            "USER   EMAIL          NOTE\n\
             alice  a@example.com  x\n\
             björn  b@e.x\n"
        );
        assert_eq!(table(&["A", "B"], &[]), "A  B\n");
    }

    #[test]
    fn a_logged_database_url_keeps_everything_but_the_password() {
        assert_eq!(
            without_password("postgres://gatehouse:s3cret@db.internal:5432/sso"),
            "postgres://gatehouse:***@db.internal:5432/sso"
        );
        assert_eq!(
            without_password("postgres://gatehouse@db.internal/sso"),
            "postgres://gatehouse@db.internal/sso"
        );
        assert_eq!(
            without_password("sqlite://gatehouse.db"),
            "sqlite://gatehouse.db"
        );
    }
}
