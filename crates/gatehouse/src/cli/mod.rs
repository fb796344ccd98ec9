//! The command line. Scripts and docs depend on these names: change them only with care.

mod groups;

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand};

use crate::admin::{Admin, ClientPatch, NewClient, NewUser, ProfileChange};
use crate::auth::passwords::Passwords;
use crate::clock::{Clock, SystemClock};
use crate::config::{DatabaseArgs, LogFormat, ServeArgs};
use crate::model::{AuditEvent, AuditKind};
use crate::store::{self, Store};
pub use groups::GroupCommand;

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
    /// Manage signing keys
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Read the audit log
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Create or upgrade the database schema, then exit
    Migrate,
    /// Write a consistent copy of the database to PATH, while the server runs (SQLite)
    Backup { path: PathBuf },
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
pub enum UserCommand {
    /// Add a user; the password is read from standard input
    Add {
        /// 1 to 64 characters; stored in lower case (Unicode NFKC)
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// The address is known to be the person's (the email_verified claim)
        #[arg(long)]
        email_verified: bool,
        /// The display name (the name claim)
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// List users
    List,
    /// Change a user's email address or profile; what is not given stays
    Update {
        username: String,
        /// A new address (unverified unless --email-verified is given too)
        #[arg(long)]
        email: Option<String>,
        /// The address is known to be the person's
        #[arg(long, conflicts_with = "email_unverified")]
        email_verified: bool,
        /// The address is not known to be the person's
        #[arg(long)]
        email_unverified: bool,
        /// The display name
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        profile: ProfileArgs,
        /// Remove these fields: name, given-name, family-name, locale, picture (repeat for several)
        #[arg(long, value_name = "FIELD")]
        clear: Vec<ProfileField>,
    },
    /// Disable a user: they can no longer log in, their sessions end and their tokens are
    /// revoked (enabling them again brings none of it back)
    Disable { username: String },
    /// Enable a disabled user again
    Enable { username: String },
    /// Set a user's password, read from standard input; their sessions end and their tokens
    /// are revoked
    SetPassword { username: String },
    /// End every session of a user and revoke every refresh token they hold
    Logout { username: String },
    /// List the groups a user is in
    Groups { username: String },
    /// List what a user allowed third-party clients, or withdraw it
    Consents {
        username: String,
        /// Withdraw the consent given to this client, revoking its tokens for the user
        #[arg(long, value_name = "CLIENT_ID")]
        revoke: Option<String>,
    },
}

/// The profile claims a user may carry (OpenID Connect Core §5.1).
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// The given_name claim
    #[arg(long)]
    given_name: Option<String>,
    /// The family_name claim
    #[arg(long)]
    family_name: Option<String>,
    /// A BCP 47 language tag, such as en-GB (the locale claim)
    #[arg(long)]
    locale: Option<String>,
    /// An https URL of a picture of the person (the picture claim)
    #[arg(long)]
    picture: Option<String>,
}

/// A profile field `user update --clear` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileField {
    Name,
    GivenName,
    FamilyName,
    Locale,
    Picture,
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Print the newest audit records, oldest first
    Tail {
        /// How many records to print
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep printing new records as they are written, until interrupted
        #[arg(short, long)]
        follow: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; a confidential client's secret is printed once
    Add {
        #[arg(long)]
        client_id: String,
        /// Where the client receives codes (exact match; repeat for several); required unless
        /// the client only uses client_credentials
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Where logout may return to (repeat for several)
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (a browser or native app) has no secret and must use PKCE
        #[arg(long, conflicts_with = "secret_stdin")]
        public: bool,
        /// A first-party client skips the consent page
        #[arg(long)]
        first_party: bool,
        /// Scopes the client may request [default: openid profile email offline_access];
        /// `admin` (the admin API) needs the client_credentials grant
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Grant types the client may use: authorization_code, refresh_token,
        /// client_credentials [default: authorization_code refresh_token]
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Read the secret from standard input (at least 32 characters) instead of generating one
        #[arg(long)]
        secret_stdin: bool,
        #[command(flatten)]
        display: ClientDisplayArgs,
    },
    /// List clients
    List,
    /// Change a client: its id, secret, consents and tokens stay; what is not given stays too
    Update {
        client_id: String,
        /// Replace the redirect URIs with these (repeat for several)
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Replace the post-logout redirect URIs with these (repeat for several)
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Replace the scopes with these (repeat for several)
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Replace the grant types with these (repeat for several)
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// First-party (no consent page): true or false
        #[arg(long)]
        first_party: Option<bool>,
        #[command(flatten)]
        display: ClientDisplayArgs,
        /// Remove these: display-name, logo-uri, home-uri, post-logout-redirect-uris (repeat
        /// for several)
        #[arg(long, value_name = "FIELD")]
        clear: Vec<ClientField>,
    },
    /// Give a confidential client a new secret (printed once); the old one keeps working for
    /// the overlap, so every instance of the client can switch
    RotateSecret {
        client_id: String,
        /// How long the old secret keeps working, in seconds (0: not at all, after a leak)
        #[arg(long, default_value_t = crate::admin::DEFAULT_SECRET_OVERLAP)]
        overlap: i64,
    },
    /// Show or set which groups' members may use a client (by default, every user)
    Access {
        client_id: String,
        /// Only members of this group may use it (repeat for several); replaces the groups
        /// set before
        #[arg(long = "group", conflicts_with = "everyone")]
        groups: Vec<String>,
        /// Every user may use it again
        #[arg(long)]
        everyone: bool,
    },
    /// Remove a client and everything issued to it
    Remove { client_id: String },
}

/// What people see of a client.
#[derive(Debug, clap::Args)]
pub struct ClientDisplayArgs {
    /// The name people see on the sign-in and consent pages (default: the client id)
    #[arg(long)]
    display_name: Option<String>,
    /// An https URL of the application's logo
    #[arg(long)]
    logo_uri: Option<String>,
    /// An https URL of the application's home page
    #[arg(long)]
    home_uri: Option<String>,
    /// Put only this claim of those its scopes release in its ID tokens (repeat for several:
    /// name, email, groups, …); without it, all of them
    #[arg(long = "id-token-claim", value_name = "CLAIM")]
    id_token_claims: Vec<String>,
}

/// A field `client update --clear` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientField {
    DisplayName,
    LogoUri,
    HomeUri,
    PostLogoutRedirectUris,
    /// Every claim its scopes release goes into its ID tokens again
    IdTokenClaims,
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Create a new signing key. It is published at once and starts signing five minutes
    /// later, when relying parties' cached copies of the key set have expired; the old key
    /// signs until then and stays published until every token it signed has expired
    Rotate {
        /// Lifetime of ID tokens in seconds, to know how long the old key stays published
        #[arg(long, env = "GATEHOUSE_ID_TOKEN_TTL", default_value_t = 3600)]
        id_token_ttl: i64,
        /// The old keys may be compromised: the new key signs at once and every older key is
        /// unpublished at once, so tokens they signed stop verifying (relying parties that
        /// cached the key set fail until they fetch it again)
        #[arg(long)]
        compromised: bool,
    },
}

/// Runs one command of the `gatehouse` binary.
///
/// # Errors
/// Whatever stops the command: a bad argument, a store that cannot be opened or written, an address
/// that cannot be bound; the message says which, for a person at a terminal.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => serve(&cli.db.database_url, args).await,
        command => {
            let store = open(&cli.db.database_url).await?;
            let result = admin(store.as_ref(), command).await;
            store.close().await.context("closing the database")?;
            result
        }
    }
}

async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    store::open(url)
        .await
        .with_context(|| format!("cannot open the database {url}"))
}

async fn admin(store: &dyn Store, command: Command) -> anyhow::Result<()> {
    let admin = Admin::new(store, "cli", None, SystemClock.now());
    match command {
        Command::Serve(_) => unreachable!("handled by run"),
        Command::Migrate => println!("the database schema is up to date"),
        Command::Backup { path } => {
            store.backup(&path).await?;
            println!("backup written to {}", path.display());
        }
        Command::Keys(KeysCommand::Rotate {
            id_token_ttl,
            compromised,
        }) => {
            let rotation = if compromised {
                crate::keyring::Rotation::Compromised
            } else {
                crate::keyring::Rotation::Scheduled {
                    publish_for: id_token_ttl + 3600,
                }
            };
            let rotated = admin.rotate_key(rotation).await?;
            if compromised {
                println!(
                    "new signing key {} signs now; every older key is unpublished (servers pick \
                     this up within 10 seconds)",
                    rotated.kid
                );
            } else {
                println!(
                    "new signing key {} is published now and signs from {} (servers publish it \
                     within 10 seconds; relying parties' cached key sets expire meanwhile)",
                    rotated.kid,
                    rfc3339(rotated.signs_from)
                );
            }
        }
        Command::Export { output } => export(store, output).await?,
        Command::Import { path } => import(store, &path).await?,
        Command::Audit(AuditCommand::Tail { lines, follow }) => {
            audit_tail(store, lines, follow).await?;
        }
        Command::User(cmd) => user(store, &admin, cmd).await?,
        Command::Group(cmd) => groups::group(store, &admin, cmd).await?,
        Command::Client(cmd) => client(store, &admin, cmd).await?,
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

/// How often `audit tail --follow` looks for new records.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// How long `--follow` keeps looking for a record whose id is missing below one it printed.
const GAP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);
/// Missing ids further than this below the newest printed one are not waited for.
const MAX_GAP: i64 = 10_000;
/// Records read per query.
const FOLLOW_PAGE: usize = 1000;

async fn audit_tail(store: &dyn Store, lines: usize, follow: bool) -> anyhow::Result<()> {
    // At least one record is read, so `-n 0 --follow` knows where the log ends.
    let latest = store.audit_latest(lines.max(1)).await?;
    let mut follower = Follower::new(latest.last().map_or(0, |e| e.id));
    for event in &latest[latest.len().saturating_sub(lines)..] {
        println!("{}", audit_line(event));
    }
    if !follow {
        return Ok(());
    }
    // On standard error, so what is piped from standard output stays records only; it also
    // tells a script that records written from now on will be printed.
    eprintln!(
        "following the audit log after record {} (Ctrl-C to stop)",
        follower.settled
    );
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            _ = &mut interrupted => return Ok(()),
            () = tokio::time::sleep(FOLLOW_EVERY) => {}
        }
        let mut after = follower.settled;
        loop {
            let page = store.audit_since(after, FOLLOW_PAGE).await?;
            let full = page.len() == FOLLOW_PAGE;
            after = page.last().map_or(after, |e| e.id);
            for event in follower.accept(page, std::time::Instant::now()) {
                println!("{}", audit_line(&event));
            }
            if !full {
                break;
            }
        }
        use std::io::Write as _;
        std::io::stdout().flush()?;
    }
}

/// What `audit tail --follow` has printed.
///
/// An id is taken when a record is inserted but the record becomes visible when its
/// transaction commits, so on PostgreSQL, with several writers, a record can appear after one
/// with a higher id. Following "everything after the last id printed" would skip it for good.
/// So the follower reads from the highest id below which it has printed everything
/// (`settled`), prints only what it has not printed yet, and waits up to [`GAP_PATIENCE`] for
/// a missing id before it gives up on it (a rolled-back insert leaves a gap for ever).
struct Follower {
    settled: i64,
    printed: std::collections::BTreeSet<i64>,
    missing_since: std::collections::BTreeMap<i64, std::time::Instant>,
}

impl Follower {
    fn new(settled: i64) -> Self {
        Follower {
            settled,
            printed: Default::default(),
            missing_since: Default::default(),
        }
    }

    /// The records of `page` (read after `settled`) not printed before, in id order.
    fn accept(&mut self, page: Vec<AuditEvent>, now: std::time::Instant) -> Vec<AuditEvent> {
        let settled = self.settled;
        let fresh: Vec<AuditEvent> = page
            .into_iter()
            .filter(|e| e.id > settled && self.printed.insert(e.id))
            .collect();
        let Some(&newest) = self.printed.last() else {
            return fresh;
        };
        if newest - self.settled > MAX_GAP {
            self.settled = newest - MAX_GAP;
            let settled = self.settled;
            self.printed.retain(|id| *id > settled);
            self.missing_since.retain(|id, _| *id > settled);
        }
        for id in self.settled + 1..newest {
            if !self.printed.contains(&id) {
                self.missing_since.entry(id).or_insert(now);
            }
        }
        loop {
            let next = self.settled + 1;
            let waited_enough = self
                .missing_since
                .get(&next)
                .is_some_and(|since| now.duration_since(*since) >= GAP_PATIENCE);
            if self.printed.remove(&next) || waited_enough {
                self.missing_since.remove(&next);
                self.settled = next;
            } else {
                break;
            }
        }
        fresh
    }
}

/// One audit record on one line: time, kind, then the fields that are set.
/// One record as one line. Every value is printed inert (`text::inert`), and quoted when it
/// holds a space, `=` or `"`, so a value cannot pose as another field, another line, or a
/// terminal command, even in a record stored before values were escaped.
fn audit_line(e: &AuditEvent) -> String {
    let r = &e.record;
    let mut line = format!(
        "{}  {:<22} actor={}",
        rfc3339(r.at),
        field(r.kind.as_str()),
        field(&r.actor)
    );
    for (name, value) in [
        ("subject", &r.subject),
        ("client", &r.client_id),
        ("ip", &r.ip),
    ] {
        if let Some(v) = value {
            line.push_str(&format!(" {name}={}", field(v)));
        }
    }
    if let Some(d) = &r.detail {
        line.push_str(&format!("  {}", crate::text::inert(d.clone())));
    }
    line
}

fn field(v: &str) -> String {
    if v.is_empty() || v.contains([' ', '=', '"', '\\']) || crate::text::inert(v.to_owned()) != v {
        // Rust's string escapes (`\n`, `\u{1b}`, `\"`), and whatever they leave visible-less.
        crate::text::inert(format!("{v:?}"))
    } else {
        v.to_owned()
    }
}

fn rfc3339(t: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_else(|| t.to_string())
}

async fn user(store: &dyn Store, admin: &Admin<'_>, cmd: UserCommand) -> anyhow::Result<()> {
    let passwords = Passwords::new(1);
    match cmd {
        UserCommand::Add {
            username,
            email,
            email_verified,
            name,
            profile,
        } => {
            // Checked before the password is asked for.
            crate::admin::check_user_fields(&username, &email)?;
            let checked = crate::model::Profile {
                given_name: profile.given_name.clone(),
                family_name: profile.family_name.clone(),
                locale: profile.locale.clone(),
                picture: profile.picture.clone(),
                updated_at: None,
            };
            crate::admin::check_profile(name.as_deref(), &checked)?;
            let password = read_secret("Password for the new user: ")?;
            let new = NewUser {
                username,
                email,
                email_verified,
                name,
                given_name: profile.given_name,
                family_name: profile.family_name,
                locale: profile.locale,
                picture: profile.picture,
                password,
            };
            let user = admin.add_user(&passwords, new).await?;
            println!("user {} added (sub {})", user.username, user.id);
        }
        UserCommand::List => {
            for u in store.list_users().await? {
                let state = if u.disabled { "disabled" } else { "active" };
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    u.username,
                    u.email,
                    u.name.unwrap_or_default(),
                    state,
                    u.id
                );
            }
        }
        UserCommand::Disable { username } => {
            let out = admin.set_disabled(&username, true).await?;
            println!(
                "user {username} disabled: {} sessions ended, {} token families revoked",
                out.sessions, out.token_families
            );
        }
        UserCommand::Enable { username } => {
            admin.set_disabled(&username, false).await?;
            println!("user {username} enabled");
        }
        UserCommand::Update {
            username,
            email,
            email_verified,
            email_unverified,
            name,
            profile,
            clear,
        } => {
            let field = |given: Option<String>, which: ProfileField| {
                if clear.contains(&which) {
                    Some(None)
                } else {
                    given.map(Some)
                }
            };
            let change = ProfileChange {
                name: field(name, ProfileField::Name),
                given_name: field(profile.given_name, ProfileField::GivenName),
                family_name: field(profile.family_name, ProfileField::FamilyName),
                locale: field(profile.locale, ProfileField::Locale),
                picture: field(profile.picture, ProfileField::Picture),
            };
            let verified = match (email_verified, email_unverified) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            if email.is_some() || verified.is_some() {
                admin.set_email(&username, email, verified).await?;
            }
            let user = admin.update_profile(&username, change).await?;
            let verified = if user.email_verified {
                "verified"
            } else {
                "unverified"
            };
            println!(
                "user {} updated ({}, {verified})",
                user.username, user.email
            );
        }
        UserCommand::Groups { username } => {
            for g in admin.user_groups(&username).await? {
                println!("{}", g.name);
            }
        }
        UserCommand::Logout { username } => {
            let out = admin.logout(&username).await?;
            println!(
                "{username}: {} sessions ended, {} token families revoked",
                out.sessions, out.token_families
            );
        }
        UserCommand::Consents { username, revoke } => match revoke {
            Some(client_id) => {
                admin.revoke_consent(&username, &client_id).await?;
                println!("consent of {username} for {client_id} withdrawn; its tokens are revoked");
            }
            None => {
                let user = admin.user(&username).await?;
                for c in store.consents(&user.id).await? {
                    println!("{}\t{}\t{}", c.client_id, c.scope, rfc3339(c.granted_at));
                }
            }
        },
        UserCommand::SetPassword { username } => {
            admin.user(&username).await?;
            let password = read_secret("New password: ")?;
            let out = admin.set_password(&passwords, &username, password).await?;
            println!(
                "password of {username} changed: {} sessions ended, {} token families revoked",
                out.sessions, out.token_families
            );
        }
    }
    Ok(())
}

async fn client(store: &dyn Store, admin: &Admin<'_>, cmd: ClientCommand) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Add {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            first_party,
            scopes,
            grant_types,
            secret_stdin,
            display,
        } => {
            let secret = if secret_stdin {
                Some(read_secret("Client secret: ")?)
            } else {
                None
            };
            let new = NewClient {
                client_id,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                first_party,
                scopes,
                grant_types,
                secret,
                display_name: display.display_name,
                logo_uri: display.logo_uri,
                home_uri: display.home_uri,
                id_token_claims: (!display.id_token_claims.is_empty())
                    .then_some(display.id_token_claims),
            };
            let (client, generated) = admin.add_client(new).await?;
            println!("client {} added", client.client_id);
            if let Some(s) = generated {
                println!("client secret (shown once, store it now): {s}");
            }
        }
        ClientCommand::List => {
            for c in store.list_clients().await? {
                let kind = if c.is_public() {
                    "public"
                } else {
                    "confidential"
                };
                println!(
                    "{}\t{kind}\t{}\t{}",
                    c.client_id,
                    c.redirect_uris.join(" "),
                    c.scopes.join(" ")
                );
            }
        }
        ClientCommand::Access {
            client_id,
            groups,
            everyone,
        } => {
            let now = if groups.is_empty() && !everyone {
                admin.client_access(&client_id).await?
            } else {
                admin.set_client_access(&client_id, groups).await?
            };
            if now.is_empty() {
                println!("every user may use {client_id}");
            } else {
                let names: Vec<&str> = now.iter().map(|g| g.name.as_str()).collect();
                println!("only members of {} may use {client_id}", names.join(", "));
            }
        }
        ClientCommand::Update {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            scopes,
            grant_types,
            first_party,
            display,
            clear,
        } => {
            let given = |v: Vec<String>| (!v.is_empty()).then_some(v);
            let field = |v: Option<String>, which: ClientField| {
                if clear.contains(&which) {
                    Some(None)
                } else {
                    v.map(Some)
                }
            };
            let post_logout = if clear.contains(&ClientField::PostLogoutRedirectUris) {
                Some(Vec::new())
            } else {
                given(post_logout_redirect_uris)
            };
            let patch = ClientPatch {
                redirect_uris: given(redirect_uris),
                post_logout_redirect_uris: post_logout,
                scopes: given(scopes),
                grant_types: given(grant_types),
                first_party,
                display_name: field(display.display_name, ClientField::DisplayName),
                logo_uri: field(display.logo_uri, ClientField::LogoUri),
                home_uri: field(display.home_uri, ClientField::HomeUri),
                id_token_claims: if clear.contains(&ClientField::IdTokenClaims) {
                    Some(None)
                } else {
                    given(display.id_token_claims).map(Some)
                },
            };
            let client = admin.update_client(&client_id, patch).await?;
            println!(
                "client {} updated ({})",
                client.client_id,
                client.display_name()
            );
        }
        ClientCommand::RotateSecret { client_id, overlap } => {
            let (secret, until) = admin.rotate_client_secret(&client_id, overlap).await?;
            println!("new client secret (shown once, store it now): {secret}");
            if overlap > 0 {
                println!("the previous secret keeps working until {}", rfc3339(until));
            } else {
                println!("the previous secret no longer works");
            }
        }
        ClientCommand::Remove { client_id } => {
            admin.remove_client(&client_id).await?;
            println!("client {client_id} removed");
        }
    }
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
    if store.list_users().await?.is_empty() || store.list_clients().await?.is_empty() {
        println!(
            "gatehouse is empty. Add a user and a client with, for example:\n  \
             echo 'glacier umbrella quantum tulip' | gatehouse --database-url {url} user add --username alice --email alice@example.com\n  \
             gatehouse --database-url {url} client add --client-id my-app --redirect-uri http://localhost:3000/callback"
        );
    }
    let state = crate::server::prepare(store, config, Arc::new(SystemClock)).await?;
    println!(
        "gatehouse listening on http://{} (issuer {})",
        listener.local_addr()?,
        state.config.issuer
    );
    crate::server::run(listener, state, shutdown_signal()).await
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
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
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
    use std::time::{Duration, Instant};

    use super::*;
    use crate::model::AuditRecord;

    fn events(ids: &[i64]) -> Vec<AuditEvent> {
        ids.iter()
            .map(|&id| AuditEvent {
                id,
                record: AuditRecord::new(0, AuditKind::Logout, "cli"),
            })
            .collect()
    }

    fn ids(events: Vec<AuditEvent>) -> Vec<i64> {
        events.into_iter().map(|e| e.id).collect()
    }

    #[test]
    fn a_record_committed_after_a_higher_id_is_still_printed_once() {
        let t0 = Instant::now();
        let mut f = Follower::new(10);
        // 12 and 13 committed; 11 is still in flight.
        assert_eq!(ids(f.accept(events(&[12, 13]), t0)), [12, 13]);
        assert_eq!(f.settled, 10, "11 is awaited");
        // Asked again from 10: 12 and 13 are not printed twice; 11 arrives.
        assert_eq!(ids(f.accept(events(&[12, 13]), t0)), Vec::<i64>::new());
        assert_eq!(ids(f.accept(events(&[11, 12, 13, 14]), t0)), [11, 14]);
        assert_eq!(f.settled, 14);
        assert!(f.printed.is_empty() && f.missing_since.is_empty());
    }

    #[test]
    fn a_gap_that_never_fills_is_given_up_after_the_patience() {
        let t0 = Instant::now();
        let mut f = Follower::new(0);
        assert_eq!(ids(f.accept(events(&[1, 3]), t0)), [1, 3]);
        assert_eq!(f.settled, 1);
        let later = t0 + GAP_PATIENCE - Duration::from_millis(1);
        assert_eq!(ids(f.accept(events(&[3]), later)), Vec::<i64>::new());
        assert_eq!(f.settled, 1, "still waiting for 2");
        assert_eq!(ids(f.accept(events(&[3, 4]), t0 + GAP_PATIENCE)), [4]);
        assert_eq!(f.settled, 4, "2 given up, 3 and 4 settled");
    }

    #[test]
    fn a_huge_jump_in_ids_waits_only_for_the_last_ids_below_it() {
        let t0 = Instant::now();
        let mut f = Follower::new(0);
        assert_eq!(ids(f.accept(events(&[1_000_000]), t0)), [1_000_000]);
        assert_eq!(f.settled, 1_000_000 - MAX_GAP);
        assert_eq!(f.missing_since.len() as i64, MAX_GAP - 1);
    }

    #[test]
    fn an_audit_line_cannot_be_forged_by_what_a_user_typed() {
        let typed = "alice\n2026-01-01T00:00:00Z  login.succeeded actor=user:1\u{1b}[2J";
        let event = |record: AuditRecord| AuditEvent { id: 1, record };
        // As stored now (escaped on the way in), and as a raw value stored before.
        let escaped = AuditRecord::new(0, AuditKind::LoginFailed, "anonymous").subject(Some(typed));
        let mut raw = escaped.clone();
        raw.subject = Some(typed.to_owned());
        for record in [escaped, raw] {
            let line = audit_line(&event(record));
            assert!(!line.contains('\n') && !line.contains('\u{1b}'), "{line}");
            // The forged "actor=" stays inside the quoted subject.
            let (before, subject) = line.split_once(" subject=").unwrap();
            assert!(before.ends_with("actor=anonymous"), "{line}");
            assert!(
                subject.starts_with("\"alice\\") && subject.ends_with('"'),
                "{line}"
            );
        }
        let spaced =
            AuditRecord::new(0, AuditKind::LoginFailed, "anonymous").subject(Some("a b=c"));
        assert!(audit_line(&event(spaced)).ends_with(r#"subject="a b=c""#));
    }
}
