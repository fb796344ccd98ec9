//! Configuration: one documented struct, from flags and `GATEHOUSE_*` environment variables,
//! with defaults that are safe and work on a laptop.

use std::net::SocketAddr;

use clap::Args;

/// The database every command works on.
#[derive(Debug, Clone, Args)]
pub struct DatabaseArgs {
    /// Where gatehouse keeps its state: `sqlite://PATH` (one embedded file, the default) or
    /// `postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE` (several instances may share it)
    #[arg(
        long,
        env = "GATEHOUSE_DATABASE_URL",
        default_value = "sqlite://gatehouse.db",
        global = true
    )]
    pub database_url: String,
}

/// Settings of the server.
#[derive(Debug, Clone, Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "GATEHOUSE_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: SocketAddr,

    /// The issuer URL clients see (`iss`); defaults to http://LISTEN. Plain http only on
    /// localhost, unless `--insecure-http-issuer`
    #[arg(long, env = "GATEHOUSE_ISSUER")]
    pub issuer: Option<url::Url>,

    /// Allow a plain-http issuer on a host other than localhost (a test network): cookies are
    /// then sent without `Secure`, so anyone on the network path can read and reuse sessions
    #[arg(long, env = "GATEHOUSE_INSECURE_HTTP_ISSUER")]
    pub insecure_http_issuer: bool,

    /// Seconds an access token is valid
    #[arg(long, env = "GATEHOUSE_ACCESS_TOKEN_TTL", default_value_t = 600)]
    pub access_token_ttl: i64,

    /// Seconds an ID token is valid
    #[arg(long, env = "GATEHOUSE_ID_TOKEN_TTL", default_value_t = 3600)]
    pub id_token_ttl: i64,

    /// Seconds a refresh token is valid (each rotation starts a new period)
    #[arg(long, env = "GATEHOUSE_REFRESH_TOKEN_TTL", default_value_t = 30 * 24 * 3600)]
    pub refresh_token_ttl: i64,

    /// Seconds in which a retry of a refresh request (same client, same refresh token, the new
    /// one not used yet) gets the same new tokens instead of revoking them as reuse; 0 makes
    /// every second presentation reuse. At most 60
    #[arg(long, env = "GATEHOUSE_REFRESH_RETRY_WINDOW", default_value_t = DEFAULT_REFRESH_RETRY_WINDOW)]
    pub refresh_retry_window: i64,

    /// Seconds a login session lasts at most, however active
    #[arg(long, env = "GATEHOUSE_SESSION_TTL", default_value_t = 12 * 3600)]
    pub session_ttl: i64,

    /// Seconds a login session survives unused
    #[arg(long, env = "GATEHOUSE_SESSION_IDLE_TIMEOUT", default_value_t = 3600)]
    pub session_idle_timeout: i64,

    /// Seconds a login session lasts at most when the person ticks "Keep me signed in" on the
    /// login form; 0 takes the choice off the form
    #[arg(long, env = "GATEHOUSE_KEPT_SESSION_TTL", default_value_t = 30 * 86_400)]
    pub kept_session_ttl: i64,

    /// Seconds such a kept session survives unused
    #[arg(long, env = "GATEHOUSE_KEPT_SESSION_IDLE_TIMEOUT", default_value_t = 7 * 86_400)]
    pub kept_session_idle_timeout: i64,

    /// Take the client address from the last X-Forwarded-For entry of every request, whoever
    /// connects (only if nothing but the proxy can reach gatehouse: otherwise clients could
    /// pick their own address); prefer --trusted-proxy
    #[arg(long, env = "GATEHOUSE_TRUST_FORWARDED_FOR")]
    pub trust_forwarded_for: bool,

    /// The address of a reverse proxy (repeat, or comma-separate, for several): a request that
    /// comes from one has its client address taken from X-Forwarded-For, skipping the entries
    /// of the proxies themselves; anyone else's X-Forwarded-For is ignored
    #[arg(
        long = "trusted-proxy",
        value_name = "ADDR",
        env = "GATEHOUSE_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,

    /// Seconds browsers are told to reach gatehouse only over https (Strict-Transport-Security,
    /// on every answer when the issuer is https; an http issuer is never sent it); 0 sends none
    /// (where a proxy in front sends its own, say)
    #[arg(long, env = "GATEHOUSE_HSTS_MAX_AGE", default_value_t = DEFAULT_HSTS_MAX_AGE)]
    pub hsts_max_age: u32,

    /// Log lines as human-readable text or as one JSON object per line
    #[arg(long, env = "GATEHOUSE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Pretty)]
    pub log_format: LogFormat,

    /// Password hashes computed at once at most (default: the number of cores)
    #[arg(long, env = "GATEHOUSE_PASSWORD_HASH_CONCURRENCY")]
    pub password_hash_concurrency: Option<usize>,

    /// Seconds a request may take, its body included, before it is answered 408
    #[arg(long, env = "GATEHOUSE_REQUEST_TIMEOUT", default_value_t = 30)]
    pub request_timeout: i64,

    /// Failed sign-ins within an hour after which an account is locked (the first few are
    /// free, then each waits 1, 2, 4… seconds)
    #[arg(long, env = "GATEHOUSE_LOGIN_LOCKOUT_AFTER", default_value_t = 10)]
    pub login_lockout_after: u32,

    /// Seconds an account stays locked after its last allowed failure
    #[arg(long, env = "GATEHOUSE_LOGIN_LOCKOUT", default_value_t = 900)]
    pub login_lockout: i64,

    /// Days an audit record is kept; older ones are deleted by the sweep that runs at start
    /// and every 10 minutes. 0 keeps them forever
    #[arg(long, env = "GATEHOUSE_AUDIT_RETENTION_DAYS", default_value_t = DEFAULT_AUDIT_RETENTION_DAYS)]
    pub audit_retention_days: u32,

    /// Days a record of tokens issued (`token.issued`: every refresh, code redeemed, device
    /// and client credentials grant, nearly all of the log) is kept, when shorter than
    /// --audit-retention-days; sign-ins and every other record keep that. 0 keeps them as long
    /// as the rest of the log
    #[arg(long, env = "GATEHOUSE_TOKEN_AUDIT_RETENTION_DAYS", default_value_t = DEFAULT_TOKEN_AUDIT_RETENTION_DAYS)]
    pub token_audit_retention_days: u32,

    /// The name pages show people (in the header and the tab's title)
    #[arg(long, env = "GATEHOUSE_PRODUCT_NAME", default_value = crate::branding::DEFAULT_PRODUCT_NAME)]
    pub product_name: String,

    /// The colour of buttons and links on the pages, written #rrggbb; white text must be
    /// readable on it (a contrast of 4.5:1 at least)
    #[arg(long, env = "GATEHOUSE_ACCENT_COLOUR", value_name = "#RRGGBB")]
    pub accent_colour: Option<String>,

    /// An image shown above every page (PNG, JPEG, WebP or SVG, at most 256 KiB), read at
    /// start and served by gatehouse
    #[arg(long, env = "GATEHOUSE_LOGO", value_name = "FILE")]
    pub logo: Option<std::path::PathBuf>,

    /// The language of the pages and mails for a browser that prefers none of the others (a
    /// BCP 47 tag with a catalogue: en or de); a browser that prefers another of them
    /// (Accept-Language) is answered in it
    #[arg(long, env = "GATEHOUSE_LANGUAGE", default_value = crate::branding::DEFAULT_LANGUAGE)]
    pub language: String,

    /// Speak --language to every browser, whatever languages it prefers
    #[arg(long, env = "GATEHOUSE_ONE_LANGUAGE")]
    pub one_language: bool,

    /// The SMTP server that sends address confirmations and password resets:
    /// smtps://[USER:PASSWORD@]HOST[:PORT], or smtp://…?tls=required for STARTTLS (plain
    /// smtp:// only to a relay on this machine). Without it, those links are not offered
    #[arg(
        long,
        env = "GATEHOUSE_SMTP_URL",
        value_name = "URL",
        hide_env_values = true
    )]
    pub smtp_url: Option<String>,

    /// The sender of that mail, such as "Acme ID <id@acme.example>" (default: noreply@ the
    /// issuer's host, named by --product-name)
    #[arg(long, env = "GATEHOUSE_MAIL_FROM", value_name = "ADDRESS")]
    pub mail_from: Option<String>,

    /// Do not mail a person when a browser new to them signs in (for browsers that forget
    /// their cookies, such as kiosks); the other security notices are sent all the same
    #[arg(long, env = "GATEHOUSE_NO_SIGN_IN_NOTICES")]
    pub no_sign_in_notices: bool,

    /// Require a fresh server nonce in every DPoP proof (RFC 9449 §8, §9): a proof without
    /// the current one is refused with `use_dpop_nonce` and the nonce to use, so a proof made
    /// ahead of time by a script that can use a browser application's key is of no use. Every
    /// client that sends proofs must then retry with the nonce, as oidc-client-ts and
    /// oauth4webapi do
    #[arg(long, env = "GATEHOUSE_DPOP_NONCE")]
    pub dpop_nonce: bool,

    /// The group whose members may use the administration pages (/admin); make it and add the
    /// first administrator with the CLI (`group add`, `group add-member`)
    #[arg(long, env = "GATEHOUSE_ADMIN_GROUP", default_value = DEFAULT_ADMIN_GROUP)]
    pub admin_group: String,

    /// Let people remove their own accounts from their account page (after a recent sign-in,
    /// typing their username to confirm; administrators excepted: another removes theirs). Off
    /// unless given: administrators remove accounts
    #[arg(long, env = "GATEHOUSE_ACCOUNT_REMOVAL")]
    pub account_removal: bool,
}

/// The group of administrators when the operator names none.
pub const DEFAULT_ADMIN_GROUP: &str = "admins";

/// How log lines look. Every line of a request carries its `request_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Text for a terminal
    Pretty,
    /// One JSON object per line, for a log pipeline
    Json,
}

/// Everything the HTTP layer needs to know, resolved.
#[derive(Debug, Clone)]
pub struct Config {
    /// No trailing slash: `iss` must equal it character for character.
    pub issuer: String,
    pub access_token_ttl: i64,
    pub id_token_ttl: i64,
    pub refresh_token_ttl: i64,
    /// Seconds a rotation's answer is kept for a retry of its request (0: none).
    pub refresh_retry_window: i64,
    pub session_ttl: i64,
    pub session_idle_timeout: i64,
    /// How long a session lasts that the person asked to keep on their device ("Keep me
    /// signed in"); 0: the login form does not offer it. See [`Config::session_lifetime`].
    pub kept_session_ttl: i64,
    pub kept_session_idle_timeout: i64,
    /// Authorization codes live a minute: long enough for a redirect, short enough to be
    /// useless when leaked in a log (RFC 6749 §4.1.2 recommends at most ten minutes).
    pub code_ttl: i64,
    pub secure_cookies: bool,
    /// Whether the client address comes from `X-Forwarded-For`, whoever sends it.
    pub trust_forwarded_for: bool,
    /// The reverse proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// The `Strict-Transport-Security` every answer carries (`--hsts-max-age`), for an https
    /// issuer only; `None`: none.
    pub hsts: Option<String>,
    pub password_hash_concurrency: usize,
    /// A request that takes longer is answered 408 rather than held open.
    pub request_timeout: std::time::Duration,
    /// How failed sign-ins slow down and lock an account.
    pub account_throttle: crate::auth::throttle::ThrottlePolicy,
    /// Seconds an audit record is kept; `None`: forever.
    pub audit_retention: Option<i64>,
    /// Seconds a record of tokens issued is kept, always shorter than `audit_retention`;
    /// `None`: as long as the rest.
    pub token_audit_retention: Option<i64>,
    /// How the pages look: product name, accent colour, logo.
    pub branding: crate::branding::Branding,
    /// Where mail goes out, when it does.
    pub mail: Option<crate::mail::MailSettings>,
    /// Whether browsers are remembered at sign-in, so that one new to a person is told to them
    /// (`auth::notices::for_sign_in`).
    pub sign_in_notices: bool,
    /// Whose members may use the administration pages.
    pub admin_group: String,
    /// Whether people may remove their own accounts (`auth::own_removal`).
    pub account_removal: bool,
    /// Whether DPoP proofs must carry a current server nonce (`oidc::dpop::nonce`).
    pub dpop_nonce: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("the issuer {0} must be an http or https URL without query or fragment")]
    BadIssuer(String),
    #[error("{0} must be a positive number of seconds")]
    BadTtl(&'static str),
    #[error(
        "--kept-session-ttl must be 0 (the login form does not offer it) or a positive number of seconds"
    )]
    BadKeptTtl,
    #[error("--login-lockout-after must be at least 1")]
    BadLockoutAfter,
    #[error("--refresh-retry-window must be 0 to {MAX_REFRESH_RETRY_WINDOW} seconds")]
    BadRetryWindow,
    #[error(
        "the issuer {0} is plain http on a host other than localhost: browsers drop the Secure \
         session cookie there, and signing in would fail with \"This form has expired\". Use an \
         https issuer (gatehouse behind a TLS reverse proxy), or, on a test network, pass \
         --insecure-http-issuer to send cookies without Secure"
    )]
    InsecureIssuer(String),
    #[error(transparent)]
    Branding(#[from] crate::branding::BrandingError),
    #[error(transparent)]
    Mail(#[from] crate::mail::MailError),
    #[error("--admin-group {0:?}: {1}")]
    AdminGroup(String, String),
}

/// How long a retry of a refresh request gets the same answer by default: longer than a
/// browser's or a proxy's retry after a lost answer takes, short enough that a thief replaying
/// a stolen token later meets reuse detection.
pub const DEFAULT_REFRESH_RETRY_WINDOW: i64 = 5;
/// How long audit records are kept by default: a year, as long as an investigation of an
/// account's history usually reaches back (and what PCI DSS asks of audit trails).
pub const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 365;
/// How long records of tokens issued are kept by default: as long as a refresh token lives by
/// default, so every token that may still be in use has its record. They are nearly all of the
/// log (one a refresh), and a year of them is most of the database.
pub const DEFAULT_TOKEN_AUDIT_RETENTION_DAYS: u32 = 30;
/// The longest retry window allowed.
pub const MAX_REFRESH_RETRY_WINDOW: i64 = 60;
/// How long browsers keep to https by default: a year, so that a person who reached gatehouse
/// once is not sent, for a long while after, to a page an attacker on the network serves over
/// plain http in gatehouse's name.
pub const DEFAULT_HSTS_MAX_AGE: u32 = 365 * 86_400;

/// The `Strict-Transport-Security` value for `issuer` with `max_age` seconds: none for an
/// http issuer (development on this machine, or a test network), whose browsers it would keep
/// from every other plain http server on the same host, nor for 0. Without
/// `includeSubDomains`: other hosts of the domain are not gatehouse's to decide.
fn hsts_for(issuer: &url::Url, max_age: u32) -> Option<String> {
    (issuer.scheme() == "https" && max_age > 0).then(|| format!("max-age={max_age}"))
}

/// What the audit sweep deletes: records from before `all` (`None`: none), and records of
/// tokens issued from before `tokens_issued` (`None`: none beyond those `all` takes).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditCutoffs {
    pub all: Option<crate::clock::UnixTime>,
    pub tokens_issued: Option<crate::clock::UnixTime>,
}

/// The retention of their own that records of tokens issued get, from the two settings
/// (seconds; `None`: forever, and for tokens issued, as long as the rest): theirs only ever
/// deletes more, so one as long as the rest's or longer is none.
fn token_audit_retention(all: Option<i64>, tokens_issued: Option<i64>) -> Option<i64> {
    tokens_issued.filter(|kept| all.is_none_or(|all| *kept < all))
}

impl Config {
    /// Whether the login form offers to keep the session on the person's device.
    pub fn offers_keeping(&self) -> bool {
        self.kept_session_ttl > 0
    }

    /// How long a session lasts, as `(ttl, idle timeout)` in seconds: one its person asked to
    /// keep (`kept`) as kept sessions do while the deployment offers them; any other, and a
    /// kept one once the deployment no longer offers them, as sessions do.
    pub fn session_lifetime(&self, kept: bool) -> (i64, i64) {
        if kept && self.offers_keeping() {
            (self.kept_session_ttl, self.kept_session_idle_timeout)
        } else {
            (self.session_ttl, self.session_idle_timeout)
        }
    }

    /// The configuration the flags describe, checked as a whole.
    ///
    /// # Errors
    /// An issuer that is not an http(s) URL without query or fragment, a time that is not a
    /// positive number of seconds, or `--login-lockout-after 0`.
    pub fn from_args(args: &ServeArgs) -> Result<Config, ConfigError> {
        let issuer = match &args.issuer {
            Some(u) => u.clone(),
            None => url::Url::parse(&format!("http://{}", args.listen))
                .map_err(|_| ConfigError::BadIssuer(args.listen.to_string()))?,
        };
        if !matches!(issuer.scheme(), "http" | "https")
            || issuer.query().is_some()
            || issuer.fragment().is_some()
            || issuer.cannot_be_a_base()
        {
            return Err(ConfigError::BadIssuer(issuer.to_string()));
        }
        for (name, v) in [
            ("--access-token-ttl", args.access_token_ttl),
            ("--id-token-ttl", args.id_token_ttl),
            ("--refresh-token-ttl", args.refresh_token_ttl),
            ("--session-ttl", args.session_ttl),
            ("--session-idle-timeout", args.session_idle_timeout),
            (
                "--kept-session-idle-timeout",
                args.kept_session_idle_timeout,
            ),
            ("--request-timeout", args.request_timeout),
            ("--login-lockout", args.login_lockout),
        ] {
            if v <= 0 {
                return Err(ConfigError::BadTtl(name));
            }
        }
        if args.kept_session_ttl < 0 {
            return Err(ConfigError::BadKeptTtl);
        }
        if args.login_lockout_after == 0 {
            return Err(ConfigError::BadLockoutAfter);
        }
        if !(0..=MAX_REFRESH_RETRY_WINDOW).contains(&args.refresh_retry_window) {
            return Err(ConfigError::BadRetryWindow);
        }
        let secure_cookies = crate::auth::session::secure_for(&issuer);
        let insecure_http = issuer.scheme() == "http" && secure_cookies;
        if insecure_http && !args.insecure_http_issuer {
            return Err(ConfigError::InsecureIssuer(issuer.to_string()));
        }
        let secure_cookies = secure_cookies && !insecure_http;
        let audit_retention =
            (args.audit_retention_days > 0).then(|| i64::from(args.audit_retention_days) * 86_400);
        let branding = crate::branding::Branding::new(
            Some(&args.product_name),
            args.accent_colour.as_deref(),
            args.logo.as_deref(),
        )?
        .speaking(&args.language)?
        .one_language(args.one_language);
        let mail = match &args.smtp_url {
            Some(url) => Some(crate::mail::MailSettings::new(
                url,
                args.mail_from.as_deref(),
                issuer.host_str().unwrap_or_default(),
                &branding.product_name,
            )?),
            None => None,
        };
        if let Some(problem) = crate::model::group_name_problem(&args.admin_group) {
            return Err(ConfigError::AdminGroup(
                args.admin_group.clone(),
                problem.to_string(),
            ));
        }
        Ok(Config {
            issuer: issuer.as_str().trim_end_matches('/').to_owned(),
            access_token_ttl: args.access_token_ttl,
            id_token_ttl: args.id_token_ttl,
            refresh_token_ttl: args.refresh_token_ttl,
            refresh_retry_window: args.refresh_retry_window,
            session_ttl: args.session_ttl,
            session_idle_timeout: args.session_idle_timeout,
            kept_session_ttl: args.kept_session_ttl,
            kept_session_idle_timeout: args.kept_session_idle_timeout,
            code_ttl: 60,
            secure_cookies,
            trust_forwarded_for: args.trust_forwarded_for,
            trusted_proxies: args.trusted_proxies.clone(),
            hsts: hsts_for(&issuer, args.hsts_max_age),
            password_hash_concurrency: args
                .password_hash_concurrency
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get())),
            request_timeout: std::time::Duration::from_secs(args.request_timeout.unsigned_abs()),
            account_throttle: crate::auth::throttle::account_policy(
                args.login_lockout_after,
                args.login_lockout,
            ),
            audit_retention,
            token_audit_retention: token_audit_retention(
                audit_retention,
                (args.token_audit_retention_days > 0)
                    .then(|| i64::from(args.token_audit_retention_days) * 86_400),
            ),
            branding,
            mail,
            sign_in_notices: !args.no_sign_in_notices,
            admin_group: args.admin_group.clone(),
            account_removal: args.account_removal,
            dpop_nonce: args.dpop_nonce,
        })
    }

    /// What the audit sweep deletes at `now`.
    pub fn audit_cutoffs(&self, now: crate::clock::UnixTime) -> AuditCutoffs {
        AuditCutoffs {
            all: self.audit_retention.map(|kept| now - kept),
            tokens_issued: self.token_audit_retention.map(|kept| now - kept),
        }
    }

    /// How long a retired signing key stays in the JWKS: every ID token it signed has expired
    /// by then, with a margin for clock skew and caches.
    pub fn key_publish_period(&self) -> i64 {
        self.id_token_ttl + 3600
    }

    pub fn endpoint(&self, path: &str) -> String {
        format!("{}{path}", self.issuer)
    }

    /// What an operator should know before people sign in: settings that work but are
    /// risky, or that browsers will trip over. `listen` is the address bound.
    pub fn warnings(&self, listen: SocketAddr) -> Vec<String> {
        let mut out = Vec::new();
        if self.trust_forwarded_for {
            out.push(
                "--trust-forwarded-for believes X-Forwarded-For from any client: anyone who \
                 reaches gatehouse without the proxy picks the address its failed sign-ins \
                 count against; name the proxy with --trusted-proxy instead"
                    .to_owned(),
            );
        }
        if let Some(mail) = self.mail.as_ref().filter(|m| m.plaintext()) {
            out.push(format!(
                "mail goes to {} without TLS: fine for a relay on this machine, not across a \
                 network",
                mail.redacted()
            ));
        }
        let Ok(issuer) = url::Url::parse(&self.issuer) else {
            return out;
        };
        if issuer.scheme() == "http" && crate::auth::session::secure_for(&issuer) {
            out.push(format!(
                "the issuer {} is plain http: cookies are sent without Secure \
                 (--insecure-http-issuer); use an https issuer outside a test network",
                self.issuer
            ));
        }
        // On the machine itself there is no proxy to map ports: a browser sent to the issuer
        // reaches another port than the one gatehouse listens on.
        let loopback = matches!(issuer.host_str(), Some("localhost" | "127.0.0.1" | "[::1]"));
        if loopback && issuer.port_or_known_default() != Some(listen.port()) {
            out.push(format!(
                "the issuer {} names port {} on this machine, but gatehouse listens on {listen}: \
                 browsers and clients sent to the issuer will not reach it; set --issuer to \
                 http://127.0.0.1:{} or listen on the issuer's port",
                self.issuer,
                issuer.port_or_known_default().unwrap_or_default(),
                listen.port()
            ));
        }
        out
    }

    /// The effective settings, one `name = value` per line, for the start-up log. Nothing in
    /// them is secret.
    pub fn summary(&self) -> Vec<(&'static str, String)> {
        vec![
            ("issuer", self.issuer.clone()),
            ("secure cookies", self.secure_cookies.to_string()),
            (
                "strict transport security",
                self.hsts.clone().unwrap_or_else(|| "none".to_owned()),
            ),
            ("access token ttl", format!("{}s", self.access_token_ttl)),
            ("id token ttl", format!("{}s", self.id_token_ttl)),
            ("refresh token ttl", format!("{}s", self.refresh_token_ttl)),
            (
                "refresh retry window",
                format!("{}s", self.refresh_retry_window),
            ),
            ("session ttl", format!("{}s", self.session_ttl)),
            (
                "session idle timeout",
                format!("{}s", self.session_idle_timeout),
            ),
            (
                "kept sessions",
                if self.offers_keeping() {
                    format!(
                        "{}s, idle timeout {}s",
                        self.kept_session_ttl, self.kept_session_idle_timeout
                    )
                } else {
                    "not offered".to_owned()
                },
            ),
            (
                "trust X-Forwarded-For",
                if self.trust_forwarded_for {
                    "from anyone".to_owned()
                } else if self.trusted_proxies.is_empty() {
                    "no".to_owned()
                } else {
                    let proxies: Vec<String> =
                        self.trusted_proxies.iter().map(|p| p.to_string()).collect();
                    format!("from {}", proxies.join(", "))
                },
            ),
            (
                "password hash concurrency",
                self.password_hash_concurrency.to_string(),
            ),
            (
                "request timeout",
                format!("{}s", self.request_timeout.as_secs()),
            ),
            (
                "audit retention",
                match self.audit_retention {
                    Some(s) => format!("{} days", s / 86_400),
                    None => "forever".to_owned(),
                },
            ),
            (
                "tokens issued audit retention",
                match self.token_audit_retention {
                    Some(s) => format!("{} days", s / 86_400),
                    None => "as the rest".to_owned(),
                },
            ),
            ("pages' language", self.languages()),
            (
                "security notices",
                match (&self.mail, self.sign_in_notices) {
                    (None, _) => "none: no mail server (--smtp-url)",
                    (Some(_), true) => "mailed, new browsers' sign-ins too",
                    (Some(_), false) => "mailed, but not sign-ins (--no-sign-in-notices)",
                }
                .to_owned(),
            ),
        ]
    }

    /// What the pages speak, in words: `--language`, and the others a person (their account's
    /// language), an application (`ui_locales`) or a browser may prefer.
    fn languages(&self) -> String {
        let own = &self.branding.language;
        let others: Vec<&str> = crate::http::languages()
            .into_iter()
            .filter(|tag| tag != own)
            .collect();
        if self.branding.one_language {
            format!("{own}, to everyone")
        } else if others.is_empty() {
            own.clone()
        } else {
            format!(
                "{own}, or the one a person, an application or a browser prefers of {}",
                others.join(", ")
            )
        }
    }

    /// The names of the cookies gatehouse sets (`__Host-` prefixed when they are Secure).
    pub fn cookie_names(&self) -> crate::auth::session::CookieNames {
        crate::auth::session::cookie_names(self.secure_cookies)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    fn config(args: &[&str]) -> Result<Config, ConfigError> {
        let cli = Cli::try_parse_from(std::iter::once("serve").chain(args.iter().copied()))
            .expect("arguments parse");
        Config::from_args(&cli.serve)
    }

    #[test]
    fn defaults_are_sane() {
        let c = config(&[]).unwrap();
        assert_eq!(c.issuer, "http://127.0.0.1:8080");
        assert_eq!(c.request_timeout, std::time::Duration::from_secs(30));
        assert_eq!(c.session_idle_timeout, 3600);
        assert_eq!(c.session_lifetime(false), (12 * 3600, 3600));
        assert_eq!(c.session_lifetime(true), (30 * 86_400, 7 * 86_400));
        assert!(
            !c.secure_cookies,
            "plain http on localhost cannot set Secure cookies"
        );
        assert_eq!(
            i64::from(DEFAULT_TOKEN_AUDIT_RETENTION_DAYS) * 86_400,
            c.refresh_token_ttl,
            "a record of a token issued is kept as long as a refresh token lives, by default"
        );
    }

    #[test]
    fn audit_records_are_kept_a_year_by_default_the_days_given_or_forever() {
        let now = 1_800_000_000;
        let days = |n: i64| Some(now - n * 86_400);
        // (arguments, what goes, what goes of the records of tokens issued beyond it, the
        // start-up summary's two lines)
        let cases = [
            (vec![], days(365), days(30), "365 days", "30 days"),
            (
                vec!["--audit-retention-days", "30"],
                days(30),
                None,
                "30 days",
                "as the rest",
            ),
            (
                vec!["--audit-retention-days", "7"],
                days(7),
                None,
                "7 days",
                "as the rest",
            ),
            (
                vec!["--audit-retention-days", "0"],
                None,
                days(30),
                "forever",
                "30 days",
            ),
            (
                vec!["--token-audit-retention-days", "90"],
                days(365),
                days(90),
                "365 days",
                "90 days",
            ),
            (
                vec!["--token-audit-retention-days", "0"],
                days(365),
                None,
                "365 days",
                "as the rest",
            ),
            (
                vec![
                    "--audit-retention-days",
                    "0",
                    "--token-audit-retention-days",
                    "0",
                ],
                None,
                None,
                "forever",
                "as the rest",
            ),
        ];
        for (args, all, tokens_issued, shown, tokens_shown) in cases {
            let c = config(&args).unwrap();
            assert_eq!(
                c.audit_cutoffs(now),
                AuditCutoffs { all, tokens_issued },
                "{args:?}"
            );
            let summary = c.summary();
            assert!(
                summary.contains(&("audit retention", shown.to_owned())),
                "{args:?}"
            );
            assert!(
                summary.contains(&("tokens issued audit retention", tokens_shown.to_owned())),
                "{args:?}: {summary:?}"
            );
        }
        for flag in ["--audit-retention-days", "--token-audit-retention-days"] {
            assert!(
                Cli::try_parse_from(["serve", flag, "-1"]).is_err(),
                "a negative retention is refused"
            );
        }
    }

    #[test]
    fn a_duration_that_is_not_positive_is_refused_by_its_flag() {
        for flag in [
            "--access-token-ttl",
            "--id-token-ttl",
            "--refresh-token-ttl",
            "--session-ttl",
            "--session-idle-timeout",
            "--kept-session-idle-timeout",
            "--request-timeout",
        ] {
            for value in ["0", "-5"] {
                let arg = format!("{flag}={value}");
                let e = config(&[&arg]).expect_err("refused").to_string();
                assert_eq!(e, format!("{flag} must be a positive number of seconds"));
            }
        }
    }

    #[test]
    fn a_kept_session_lasts_as_kept_ones_do_only_while_they_are_offered() {
        let offered = config(&[
            "--kept-session-ttl=864000",
            "--kept-session-idle-timeout=86400",
        ])
        .unwrap();
        assert!(offered.offers_keeping());
        // (kept, its lifetime)
        for (kept, lifetime) in [(false, (12 * 3600, 3600)), (true, (864_000, 86_400))] {
            assert_eq!(offered.session_lifetime(kept), lifetime, "kept: {kept}");
        }
        let off = config(&["--kept-session-ttl=0"]).unwrap();
        assert!(!off.offers_keeping());
        for kept in [false, true] {
            assert_eq!(
                off.session_lifetime(kept),
                (12 * 3600, 3600),
                "kept: {kept}"
            );
        }
        let e = config(&["--kept-session-ttl=-1"]).expect_err("refused");
        assert!(
            e.to_string().starts_with("--kept-session-ttl must be 0"),
            "{e}"
        );
    }

    #[test]
    fn an_issuer_with_a_query_or_another_scheme_is_refused() {
        for issuer in [
            "https://sso.example/?x=1",
            "ftp://sso.example",
            "https://sso.example/#f",
        ] {
            let e = config(&["--issuer", issuer]).expect_err("refused");
            assert!(matches!(e, ConfigError::BadIssuer(_)), "{issuer}: {e}");
        }
        let c = config(&["--issuer", "https://sso.example/"]).unwrap();
        assert_eq!(c.issuer, "https://sso.example", "no trailing slash");
        assert!(c.secure_cookies);
    }

    #[test]
    fn browsers_are_told_to_keep_to_https_only_by_an_https_issuer() {
        let hsts = |args: &[&str]| config(args).unwrap().hsts;
        assert_eq!(
            hsts(&["--issuer", "https://sso.example"]).as_deref(),
            Some("max-age=31536000")
        );
        assert_eq!(
            hsts(&["--issuer", "https://sso.example", "--hsts-max-age", "600"]).as_deref(),
            Some("max-age=600")
        );
        assert_eq!(
            hsts(&["--issuer", "https://sso.example", "--hsts-max-age", "0"]),
            None
        );
        for issuer in ["http://localhost:8080", "http://127.0.0.1:8080"] {
            assert_eq!(hsts(&["--issuer", issuer]), None, "{issuer}");
        }
        let insecure = ["--issuer", "http://sso.lan", "--insecure-http-issuer"];
        assert_eq!(hsts(&insecure), None);
    }

    #[test]
    fn a_plain_http_issuer_off_localhost_is_refused_unless_allowed_and_then_warned_of() {
        let listen: SocketAddr = "0.0.0.0:8081".parse().unwrap();
        let e = config(&["--issuer", "http://sso.lan:8081"]).expect_err("refused");
        assert!(matches!(e, ConfigError::InsecureIssuer(_)), "{e}");
        assert!(e.to_string().contains("--insecure-http-issuer"), "{e}");

        let c = config(&["--issuer", "http://sso.lan:8081", "--insecure-http-issuer"]).unwrap();
        assert!(!c.secure_cookies, "a Secure cookie would never come back");
        let warnings = c.warnings(listen);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("without Secure"), "{warnings:?}");

        // https anywhere, and http on this machine, need no flag and warn of nothing.
        for (issuer, listen) in [
            ("https://sso.example", "0.0.0.0:8080"),
            ("http://127.0.0.1:8080", "127.0.0.1:8080"),
            ("http://localhost:8080", "127.0.0.1:8080"),
        ] {
            let c = config(&["--issuer", issuer]).unwrap();
            assert_eq!(
                c.warnings(listen.parse().unwrap()),
                Vec::<String>::new(),
                "{issuer}"
            );
        }
    }

    #[test]
    fn an_issuer_on_this_machine_with_another_port_than_the_listener_is_warned_of() {
        let c = config(&["--issuer", "http://127.0.0.1:9000"]).unwrap();
        let warnings = c.warnings("127.0.0.1:8080".parse().unwrap());
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].contains("port 9000"), "{warnings:?}");
        // Behind a proxy the issuer's port is the proxy's: nothing to say.
        let c = config(&["--issuer", "https://sso.example"]).unwrap();
        assert!(c.warnings("127.0.0.1:8080".parse().unwrap()).is_empty());
        // The default issuer is the listen address itself.
        let c = config(&["--listen", "127.0.0.1:8099"]).unwrap();
        assert!(c.warnings("127.0.0.1:8099".parse().unwrap()).is_empty());
    }

    #[test]
    fn proxies_are_named_by_address_and_trusting_anyone_is_warned_of() {
        let listen = "127.0.0.1:8080".parse().unwrap();
        let c = config(&["--trusted-proxy", "10.0.0.2", "--trusted-proxy", "::1"]).unwrap();
        assert_eq!(c.trusted_proxies.len(), 2);
        assert!(c.warnings(listen).is_empty());
        let summary = c.summary();
        assert!(
            summary
                .iter()
                .any(|(k, v)| *k == "trust X-Forwarded-For" && v == "from 10.0.0.2, ::1"),
            "{summary:?}"
        );
        // An address, not a name: a name could resolve to anyone.
        assert!(Cli::try_parse_from(["serve", "--trusted-proxy", "proxy.lan"]).is_err());
        let c = config(&["--trust-forwarded-for"]).unwrap();
        let warnings = c.warnings(listen);
        assert!(
            warnings.len() == 1 && warnings[0].contains("--trusted-proxy"),
            "{warnings:?}"
        );
    }

    #[test]
    fn the_summary_names_every_setting_and_no_secret() {
        let c = config(&[]).unwrap();
        let summary = c.summary();
        assert!(
            summary
                .iter()
                .any(|(k, v)| *k == "issuer" && v == "http://127.0.0.1:8080")
        );
        assert!(
            summary
                .iter()
                .any(|(k, v)| *k == "refresh retry window" && v == "5s")
        );
        let language = |args: &[&str]| {
            let c = config(args).unwrap();
            let summary = c.summary();
            summary
                .into_iter()
                .find_map(|(k, v)| (k == "pages' language").then_some(v))
                .unwrap()
        };
        assert_eq!(
            language(&[]),
            "en, or the one a person, an application or a browser prefers of de"
        );
        assert_eq!(
            language(&["--language", "de"]),
            "de, or the one a person, an application or a browser prefers of en"
        );
        assert_eq!(
            language(&["--language", "de", "--one-language"]),
            "de, to everyone"
        );
        let notices = |args: &[&str]| {
            let summary = config(args).unwrap().summary();
            summary
                .into_iter()
                .find_map(|(k, v)| (k == "security notices").then_some(v))
                .unwrap()
        };
        let smtp = [
            "--smtp-url",
            "smtp://127.0.0.1:25",
            "--mail-from",
            "id@example.com",
        ];
        assert_eq!(notices(&[]), "none: no mail server (--smtp-url)");
        assert_eq!(notices(&smtp), "mailed, new browsers' sign-ins too");
        let off = [&smtp[..], &["--no-sign-in-notices"]].concat();
        assert_eq!(
            notices(&off),
            "mailed, but not sign-ins (--no-sign-in-notices)"
        );
    }
}
