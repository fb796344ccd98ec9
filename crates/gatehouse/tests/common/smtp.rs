//! A mail sink for the tests: a real SMTP server on a local port that accepts every message and
//! keeps it, so a test reads what gatehouse sent (through `lettre`, over a socket) and follows
//! its link. Written here because it is a few dozen lines of RFC 5321's happy path; nothing in
//! it is trusted by the server under test.

use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;

use super::oneshot::{Fixture, fixture_with};

/// A received message: its recipients and its text (headers and body, as sent).
#[derive(Debug, Clone)]
pub struct Received {
    pub to: Vec<String>,
    pub data: String,
}

impl Received {
    /// The message as a mail client reads it.
    fn parsed(&self) -> mail_parser::Message<'_> {
        mail_parser::MessageParser::default()
            .parse(self.data.as_bytes())
            .unwrap_or_else(|| panic!("not a message: {}", self.data))
    }

    /// A header's value as sent, such as `Content-Type`.
    pub fn header(&self, name: &str) -> Option<String> {
        let (head, _) = self.data.split_once("\r\n\r\n")?;
        head.split("\r\n").find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
        })
    }

    /// The subject, decoded (a subject that is not ASCII is sent encoded, RFC 2047).
    pub fn subject(&self) -> Option<String> {
        self.parsed().subject().map(str::to_owned)
    }

    /// The text of the body, decoded (7bit, quoted-printable or base64, as lettre chose).
    pub fn text(&self) -> String {
        let message = self.parsed();
        message
            .body_text(0)
            .unwrap_or_else(|| panic!("no text in {}", self.data))
            .into_owned()
    }

    /// The first link in the message that starts with `prefix`.
    pub fn link(&self, prefix: &str) -> String {
        let text = self.text();
        let start = text
            .find(prefix)
            .unwrap_or_else(|| panic!("no link {prefix} in {}", self.data));
        text[start..]
            .split(|c: char| c.is_whitespace())
            .next()
            .unwrap()
            .to_owned()
    }
}

pub struct Sink {
    /// `smtp://127.0.0.1:PORT`, for `--smtp-url`.
    pub url: String,
    received: mpsc::UnboundedReceiver<Received>,
}

impl Sink {
    pub async fn start() -> Sink {
        Sink::start_on("127.0.0.1:0").await
    }

    /// A sink on `addr` (a port chosen before the sink is up, to be found closed first).
    pub async fn start_on(addr: &str) -> Sink {
        let listener = TcpListener::bind(addr).await.unwrap();
        let url = format!("smtp://{}", listener.local_addr().unwrap());
        let (tx, received) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let tx = tx.clone();
                tokio::spawn(async move {
                    let (read, mut write) = socket.into_split();
                    let mut lines = BufReader::new(read).lines();
                    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
                    let mut to = Vec::new();
                    while let Ok(Some(line)) = lines.next_line().await {
                        let verb = line.get(..4).unwrap_or_default().to_ascii_uppercase();
                        let reply: &[u8] = match verb.as_str() {
                            "EHLO" | "HELO" => b"250 sink\r\n",
                            "RCPT" => {
                                let address = line.split(['<', '>']).nth(1).unwrap_or_default();
                                to.push(address.to_owned());
                                b"250 OK\r\n"
                            }
                            "DATA" => {
                                let _ = write.write_all(b"354 go on\r\n").await;
                                let mut data = String::new();
                                while let Ok(Some(l)) = lines.next_line().await {
                                    if l == "." {
                                        break;
                                    }
                                    data.push_str(&l);
                                    data.push_str("\r\n");
                                }
                                let _ = tx.send(Received {
                                    to: std::mem::take(&mut to),
                                    data,
                                });
                                b"250 kept\r\n"
                            }
                            "QUIT" => {
                                let _ = write.write_all(b"221 bye\r\n").await;
                                break;
                            }
                            _ => b"250 OK\r\n",
                        };
                        let _ = write.write_all(reply).await;
                    }
                });
            }
        });
        Sink { url, received }
    }

    /// The next message, waiting up to 10 s for it.
    pub async fn next(&mut self) -> Received {
        tokio::time::timeout(Duration::from_secs(10), self.received.recv())
            .await
            .expect("a message within 10 s")
            .expect("the sink is running")
    }

    /// Whether a message arrives within `wait`.
    pub async fn nothing_within(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.received.recv())
            .await
            .is_err()
    }
}

/// The fixture sending mail to a new sink, and the sink.
pub async fn with_mail(db: super::backend::Database) -> (Fixture, Sink) {
    let sink = Sink::start().await;
    let f = with_smtp(db, &sink.url).await;
    (f, sink)
}

/// The fixture sending mail to the SMTP server at `url`, its sender running as `serve`'s does.
pub async fn with_smtp(db: super::backend::Database, url: &str) -> Fixture {
    with_smtp_speaking(db, url, gatehouse::branding::DEFAULT_LANGUAGE).await
}

/// As [`with_smtp`], its pages and mails speaking `language`.
pub async fn with_smtp_speaking(
    db: super::backend::Database,
    url: &str,
    language: &str,
) -> Fixture {
    let language = language.to_owned();
    with_smtp_where(db, url, |args| args.language = language).await
}

/// As [`with_mail`], with `adjust` made to the settings `serve` is given.
pub async fn with_mail_where(
    db: super::backend::Database,
    adjust: impl FnOnce(&mut gatehouse::config::ServeArgs),
) -> (Fixture, Sink) {
    let sink = Sink::start().await;
    let f = with_smtp_where(db, &sink.url, adjust).await;
    (f, sink)
}

/// As [`with_smtp`], with `adjust` made to the settings `serve` is given.
async fn with_smtp_where(
    db: super::backend::Database,
    url: &str,
    adjust: impl FnOnce(&mut gatehouse::config::ServeArgs),
) -> Fixture {
    let url = url.to_owned();
    let f = fixture_with(db, |args| {
        args.smtp_url = Some(url);
        args.mail_from = Some("Gatehouse <id@example.com>".into());
        adjust(args);
    })
    .await;
    let s = &f.state;
    let mailer = s.mailer.clone().unwrap();
    tokio::spawn(gatehouse::mail::run(
        s.store.clone(),
        s.clock.clone(),
        mailer,
        gatehouse::http::notice_words(s),
    ));
    f
}
