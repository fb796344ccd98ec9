//! Email over SMTP, with `lettre`: the links that confirm an address, reset a password or
//! invite a person, and the security notices that tell a person of a change to their account
//! (`auth::notices`). The operator names the server with one URL (`--smtp-url`) and the sender
//! (`--mail-from`); both are checked when gatehouse starts. Mail is sent after the answer,
//! never while a request waits: how long the mail server takes, or whether it answers, shows
//! nowhere in the page. A message is queued in the transaction that keeps its link, a notice in
//! the one that makes its change, and both are sent by [`run`], with retries while they are of
//! use, so neither a restart nor a mail server down for a while loses them.

use std::sync::Arc;
use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::clock::{Clock, UnixTime};
pub use crate::model::Mail;
use crate::model::{AuditKind, AuditRecord, QueuedMail, QueuedNotice};
use crate::oidc::backchannel::Settlement;
use crate::store::{Store, StoreResult};

/// How long one delivery to the SMTP server may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a sender owns the messages it claimed: another instance (or this one after a
/// crash) takes them over after that. Longer than one attempt can take.
pub const LEASE: i64 = 60;
/// How often the outbox is looked at besides when a message is queued.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// How many messages one sender works on at a time.
const BATCH: usize = 16;
/// The first retry waits this long; each one after waits twice as long, up to [`MAX_BACKOFF`].
pub const FIRST_BACKOFF: i64 = 2;
/// The longest wait between two attempts.
pub const MAX_BACKOFF: i64 = 300;

/// What is wrong with the mail settings.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum MailError {
    #[error(
        "--smtp-url must be smtps://[USER:PASSWORD@]HOST[:PORT] (TLS from the start, port 465) \
         or smtp://[USER:PASSWORD@]HOST[:PORT]?tls=required (STARTTLS, port 587): {0}"
    )]
    Url(String),
    #[error(
        "--smtp-url sends a password to {0} without TLS, where anyone on the way can read it: \
         use smtps:// or add ?tls=required (plain smtp:// is for a relay on this machine)"
    )]
    Plaintext(String),
    #[error("--mail-from {0:?} is not an address such as \"Acme ID <id@acme.example>\"")]
    From(String),
    #[error(
        "--mail-from is needed: the issuer's host {0:?} is not a domain to send mail from \
         (give an address such as \"Acme ID <id@acme.example>\")"
    )]
    NoFrom(String),
}

/// Where and as whom gatehouse sends mail.
#[derive(Clone, PartialEq, Eq)]
pub struct MailSettings {
    url: url::Url,
    pub from: Mailbox,
}

impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("url", &self.redacted())
            .field("from", &self.from.to_string())
            .finish()
    }
}

impl MailSettings {
    /// The settings the flags describe: `url` the SMTP server, `from` the sender (by default
    /// `noreply@` the issuer's host, named `product`).
    ///
    /// # Errors
    /// A URL lettre cannot use, a password sent to another machine without TLS, or a sender
    /// that is not an address.
    pub fn new(
        url: &str,
        from: Option<&str>,
        issuer_host: &str,
        product: &str,
    ) -> Result<MailSettings, MailError> {
        let parsed = url::Url::parse(url).map_err(|e| MailError::Url(e.to_string()))?;
        let host = parsed
            .host_str()
            .ok_or_else(|| MailError::Url("it names no host".into()))?
            .to_owned();
        if !matches!(parsed.scheme(), "smtp" | "smtps") {
            return Err(MailError::Url(format!("the scheme is {}", parsed.scheme())));
        }
        AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|e| MailError::Url(e.to_string()))?;
        let tls = parsed.scheme() == "smtps"
            || parsed
                .query_pairs()
                .any(|(k, v)| k == "tls" && v == "required");
        let local = matches!(host.as_str(), "localhost" | "127.0.0.1" | "[::1]");
        if !tls && !local && parsed.password().is_some() {
            return Err(MailError::Plaintext(host));
        }
        let from = match from {
            Some(text) => text
                .parse::<Mailbox>()
                .map_err(|_| MailError::From(text.to_owned()))?,
            None => format!("{product} <noreply@{issuer_host}>")
                .parse::<Mailbox>()
                .ok()
                .filter(|_| {
                    issuer_host.contains('.') && issuer_host.parse::<std::net::IpAddr>().is_err()
                })
                .ok_or_else(|| MailError::NoFrom(issuer_host.to_owned()))?,
        };
        Ok(MailSettings { url: parsed, from })
    }

    /// The server's URL without its password, for logs.
    pub fn redacted(&self) -> String {
        let mut shown = self.url.clone();
        if shown.password().is_some() {
            let _ = shown.set_password(Some("***"));
        }
        shown.to_string()
    }

    /// Whether mail to the server goes without TLS (a relay on this machine).
    pub fn plaintext(&self) -> bool {
        self.url.scheme() == "smtp" && !self.url.query_pairs().any(|(k, _)| k == "tls")
    }
}

/// Sends mail: a message is queued in the outbox with its link
/// (`EmailLinks::issue_email_token`), a notice by the store with its change, and [`run`] sends
/// them.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    /// Wakes the sender when a message is queued, so it need not wait for its next look.
    queued: Notify,
    /// The server's URL without its password, for logs.
    shown: String,
}

impl Mailer {
    /// # Errors
    /// The settings' URL no longer parses (it did when they were made).
    pub fn new(settings: &MailSettings) -> Result<Mailer, MailError> {
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(settings.url.as_str())
            .map_err(|e| MailError::Url(e.to_string()))?
            .timeout(Some(SEND_TIMEOUT))
            .build();
        Ok(Mailer {
            transport,
            from: settings.from.clone(),
            queued: Notify::new(),
            shown: settings.redacted(),
        })
    }

    /// Connects to the mail server as a delivery would (TLS and the login included) and logs
    /// whether it answers, so a wrong host, port or password shows when gatehouse starts,
    /// not at the first person's reset. Mail waits in the outbox either way.
    pub async fn check(&self) {
        match self.transport.test_connection().await {
            Ok(true) => tracing::info!(server = %self.shown, "the mail server answers"),
            Ok(false) => tracing::warn!(
                server = %self.shown,
                "the mail server did not answer a NOOP: mail waits in the outbox until it does"
            ),
            Err(e) => tracing::warn!(
                server = %self.shown,
                error = %e,
                "the mail server cannot be reached or refused the login: mail waits in the \
                 outbox until it can"
            ),
        }
    }

    /// Tells the sender a message was queued.
    pub fn queued(&self) {
        self.queued.notify_one();
    }

    /// One attempt to hand `mail` to the SMTP server.
    async fn attempt(&self, mail: &Mail) -> MailAttempt {
        let Some(message) = self.message(mail) else {
            return MailAttempt::Refused(format!(
                "{:?} is not an address to send mail to",
                mail.to
            ));
        };
        match self.transport.send(message).await {
            Ok(_) => MailAttempt::Sent,
            Err(e) if e.is_permanent() => {
                MailAttempt::Refused(format!("the mail server refused it: {e}"))
            }
            Err(e) => MailAttempt::Failed(e.to_string()),
        }
    }

    fn message(&self, mail: &Mail) -> Option<Message> {
        let to = mail.to.parse::<Mailbox>().ok()?;
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(mail.subject.clone())
            .header(ContentType::TEXT_PLAIN)
            .body(mail.body.clone())
            .ok()
    }
}

/// How an attempt to send a message went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MailAttempt {
    /// The SMTP server took it.
    Sent,
    /// It never will: a permanent (5xx) answer, or no address to send to.
    Refused(String),
    /// Not now: no connection, a timeout, or a transient (4xx) answer.
    Failed(String),
}

/// What follows an attempt at a message that is no use after `expires_at` (a link's, when the
/// link stops working; a notice's, a day after its change), after `attempts` earlier ones:
/// sent, forgotten; refused, given up; failed, tried again after [`FIRST_BACKOFF`] seconds,
/// twice as long each time up to [`MAX_BACKOFF`], while it is still of use when the next try
/// comes.
pub fn settle(
    attempt: &MailAttempt,
    attempts: u32,
    expires_at: UnixTime,
    now: UnixTime,
) -> Settlement {
    let problem = match attempt {
        MailAttempt::Sent => return Settlement::Delivered,
        MailAttempt::Refused(why) => return Settlement::GiveUp(why.clone()),
        MailAttempt::Failed(why) => why,
    };
    let wait = FIRST_BACKOFF
        .saturating_mul(1_i64.checked_shl(attempts.min(30)).unwrap_or(i64::MAX))
        .min(MAX_BACKOFF);
    let at = now.saturating_add(wait);
    if at >= expires_at {
        return Settlement::GiveUp(format!(
            "not sent in {} attempts while it was of use; the last: {problem}",
            attempts + 1
        ));
    }
    Settlement::RetryAt(at)
}

/// The record of a message given up: in the log of the person it was for (`user_id`,
/// `username`), with where it went and why.
pub fn undelivered(
    user_id: &str,
    username: &str,
    to: &str,
    why: &str,
    now: UnixTime,
) -> AuditRecord {
    AuditRecord::new(now, AuditKind::EmailUndelivered, format!("user:{user_id}"))
        .subject(Some(username))
        .detail(format!("to {to}: {why}"))
}

/// The words of a security notice: the message telling its person of the change, in their
/// language (the pages' catalogue makes it, `http::email::notice_message`).
pub type NoticeWords = Arc<dyn Fn(&QueuedNotice) -> Mail + Send + Sync>;

/// A message claimed from the outbox, to be sent now.
enum Outgoing {
    /// A message carrying a link.
    Link(QueuedMail),
    /// A security notice, and its words.
    Notice(QueuedNotice, Mail),
}

impl Outgoing {
    fn mail(&self) -> &Mail {
        match self {
            Outgoing::Link(q) => &q.mail,
            Outgoing::Notice(_, mail) => mail,
        }
    }

    /// What follows `attempt` (see [`settle`]): a link's message is tried while its link
    /// works, a notice for a day.
    fn settlement(&self, attempt: &MailAttempt, now: UnixTime) -> Settlement {
        match self {
            Outgoing::Link(q) => settle(attempt, q.attempts, q.expires_at, now),
            Outgoing::Notice(q, _) => settle(attempt, q.attempts, q.notice.expires_at, now),
        }
    }

    fn username(&self) -> &str {
        match self {
            Outgoing::Link(q) => &q.username,
            Outgoing::Notice(q, _) => &q.username,
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Outgoing::Link(_) => "link",
            Outgoing::Notice(..) => "notice",
        }
    }

    async fn settle(
        &self,
        store: &dyn Store,
        settlement: Settlement,
        now: UnixTime,
    ) -> StoreResult<()> {
        match self {
            Outgoing::Link(q) => store.settle_mail(q, settlement, now).await,
            Outgoing::Notice(q, _) => store.settle_notice(q, settlement, now).await,
        }
    }
}

/// Claims what is due: messages carrying links, then security notices (their words made
/// now, in their person's language as it is now); whether either outbox had a full batch.
async fn claim(store: &dyn Store, now: UnixTime, words: &NoticeWords) -> (Vec<Outgoing>, bool) {
    let links = store.claim_mail(now, BATCH).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading the mail outbox failed; retrying");
        Vec::new()
    });
    let notices = store.claim_notices(now, BATCH).await.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "reading the security notices failed; retrying");
        Vec::new()
    });
    let full = links.len() == BATCH || notices.len() == BATCH;
    let outgoing = links
        .into_iter()
        .map(Outgoing::Link)
        .chain(notices.into_iter().map(|q| {
            let mail = words(&q);
            Outgoing::Notice(q, mail)
        }))
        .collect();
    (outgoing, full)
}

/// Sends the outbox's messages until the task is aborted: when one is queued here, and every
/// [`POLL_EVERY`] for retries, the security notices and the messages other instances queued;
/// at once again after a full batch (an administrator inviting a hundred people).
pub async fn run(
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    mailer: Arc<Mailer>,
    words: NoticeWords,
) {
    let mut more = false;
    loop {
        if !more {
            let _ = tokio::time::timeout(POLL_EVERY, mailer.queued.notified()).await;
        }
        let (outgoing, full) = claim(store.as_ref(), clock.now(), &words).await;
        more = full;
        let mut sending = JoinSet::new();
        for out in outgoing {
            let (store, clock, mailer) =
                (Arc::clone(&store), Arc::clone(&clock), Arc::clone(&mailer));
            sending.spawn(async move {
                let attempt = mailer.attempt(out.mail()).await;
                let now = clock.now();
                let settlement = out.settlement(&attempt, now);
                let outcome = match &settlement {
                    Settlement::Delivered => "sent",
                    Settlement::RetryAt(at) => {
                        let retry_in = at - now;
                        tracing::warn!(?attempt, retry_in, "mail not sent; will retry");
                        "retried"
                    }
                    Settlement::GiveUp(why) => {
                        tracing::error!(user = %out.username(), %why, "mail given up");
                        "given_up"
                    }
                };
                metrics::counter!(
                    "gatehouse_mail_total",
                    "outcome" => outcome,
                    "message" => out.kind()
                )
                .increment(1);
                if let Err(e) = out.settle(store.as_ref(), settlement, now).await {
                    // The claim lapses and the message is sent again.
                    tracing::warn!(error = %e, "recording a mail attempt failed");
                }
            });
        }
        while sending.join_next().await.is_some() {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_settings_are_checked_at_start() {
        let ok = |url: &str| MailSettings::new(url, None, "id.example.com", "Acme ID");
        assert!(ok("smtps://user:secret@mail.example.com").is_ok());
        assert!(ok("smtp://user:secret@mail.example.com:587?tls=required").is_ok());
        assert!(ok("smtp://127.0.0.1:2525").is_ok());
        assert!(ok("smtp://user:secret@localhost:25").is_ok());
        assert!(matches!(
            ok("smtp://user:secret@mail.example.com:587"),
            Err(MailError::Plaintext(_))
        ));
        assert!(matches!(
            ok("http://mail.example.com"),
            Err(MailError::Url(_))
        ));
        assert!(matches!(ok("not a url"), Err(MailError::Url(_))));

        let s = ok("smtps://user:secret@mail.example.com").unwrap();
        assert_eq!(s.from.to_string(), "Acme ID <noreply@id.example.com>");
        assert!(!s.redacted().contains("secret"), "{}", s.redacted());
        assert!(!format!("{s:?}").contains("secret"));
        assert!(!s.plaintext());
        assert!(ok("smtp://127.0.0.1:2525").unwrap().plaintext());
    }

    #[test]
    fn a_message_is_retried_while_its_link_works() {
        let (now, expires) = (1_000, 1_000 + 3600);
        let failed = MailAttempt::Failed("connection refused".into());
        let refused = MailAttempt::Refused("550 no such mailbox".into());
        let give_up = |s: Settlement| matches!(s, Settlement::GiveUp(_));
        assert_eq!(
            settle(&MailAttempt::Sent, 5, expires, now),
            Settlement::Delivered
        );
        assert_eq!(
            settle(&refused, 0, expires, now),
            Settlement::GiveUp("550 no such mailbox".into()),
            "a permanent refusal is not tried again"
        );
        for (attempts, wait) in [(0, 2), (1, 4), (2, 8), (7, 256), (8, 300), (40, 300)] {
            assert_eq!(
                settle(&failed, attempts, expires, now),
                Settlement::RetryAt(now + wait),
                "after {attempts} attempts"
            );
        }
        // Not tried again once the link will have expired: the message would be no use.
        assert!(give_up(settle(&failed, 0, now + 2, now)));
        assert!(give_up(settle(&failed, 8, now + 300, now)));
        assert_eq!(
            settle(&failed, 8, now + 301, now),
            Settlement::RetryAt(now + 300)
        );
        let Settlement::GiveUp(why) = settle(&failed, 3, now + 10, now) else {
            panic!("given up")
        };
        assert!(
            why.contains("4 attempts") && why.ends_with("connection refused"),
            "{why}"
        );
    }

    #[test]
    fn the_sender_is_an_address() {
        let with = |from: Option<&str>, host: &str| {
            MailSettings::new("smtp://127.0.0.1:25", from, host, "Acme ID")
        };
        assert_eq!(
            with(Some("Acme <id@acme.example>"), "127.0.0.1")
                .unwrap()
                .from
                .to_string(),
            "Acme <id@acme.example>"
        );
        assert!(matches!(
            with(Some("nobody"), "id.example"),
            Err(MailError::From(_))
        ));
        assert!(matches!(with(None, "127.0.0.1"), Err(MailError::NoFrom(_))));
        assert!(matches!(with(None, "localhost"), Err(MailError::NoFrom(_))));
    }
}
