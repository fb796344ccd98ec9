//! Email over SMTP, with `lettre`: the links that confirm an address and reset a password.
//! The operator names the server with one URL (`--smtp-url`) and the sender (`--mail-from`);
//! both are checked when gatehouse starts. Mail is sent after the answer, never while a
//! request waits: how long the mail server takes, or whether it answers, shows nowhere in the
//! page.

use std::time::Duration;

use lettre::message::header::ContentType;
use lettre::message::{Mailbox, Message};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

/// How long one delivery to the SMTP server may take.
const SEND_TIMEOUT: Duration = Duration::from_secs(20);

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

/// Sends mail in the background.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

/// One message: to whom, about what, in plain text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mail {
    pub to: String,
    pub subject: String,
    pub body: String,
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
        })
    }

    /// Sends `mail` after the caller has answered; a failure is logged and counted
    /// (`gatehouse_mail_total{outcome}`), and the person asks again.
    pub fn send_later(&self, mail: Mail) {
        let Some(message) = self.message(&mail) else {
            tracing::warn!(to = %mail.to, "not an address to send mail to");
            metrics::counter!("gatehouse_mail_total", "outcome" => "refused").increment(1);
            return;
        };
        let transport = self.transport.clone();
        tokio::spawn(async move {
            match transport.send(message).await {
                Ok(_) => {
                    metrics::counter!("gatehouse_mail_total", "outcome" => "sent").increment(1);
                }
                Err(e) => {
                    tracing::error!(error = %e, "could not send mail");
                    metrics::counter!("gatehouse_mail_total", "outcome" => "failed").increment(1);
                }
            }
        });
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
