//! `gatehouse audit tail`: the audit log, as lines a person can read and a script can split,
//! followed as it grows.

use clap::Subcommand;

use super::rfc3339;
use crate::model::{AuditEvent, AuditQuery};
use crate::store::Store;

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
        /// Only records whose kind starts with this (`login.`, `admin.client.`, `token.issued`)
        #[arg(long, value_name = "PREFIX")]
        kind: Option<String>,
        /// Only records about this subject (a username, a client id), exactly
        #[arg(long)]
        subject: Option<String>,
        /// Only records of this actor (`cli`, `user:ID`, `admin:CLIENT`), exactly
        #[arg(long)]
        actor: Option<String>,
    },
}

/// How often `audit tail --follow` looks for new records.
const FOLLOW_EVERY: std::time::Duration = std::time::Duration::from_millis(500);

/// How long `--follow` keeps looking for a record whose id is missing below one it printed.
const GAP_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Missing ids further than this below the newest printed one are not waited for.
const MAX_GAP: i64 = 10_000;

/// Records read per query.
const FOLLOW_PAGE: usize = 1000;

/// Prints the newest `lines` records `filter` asks for (its kind, subject and actor), oldest
/// first, and with `follow` those written after, as they come.
pub(super) async fn audit_tail(
    store: &dyn Store,
    lines: usize,
    follow: bool,
    filter: AuditQuery,
) -> anyhow::Result<()> {
    // Where the log ends, so that `--follow` goes on from there, whatever was printed.
    let newest = store.audit_latest(1).await?.last().map_or(0, |e| e.id);
    let mut follower = Follower::new(newest);
    let mut shown = if lines == 0 {
        Vec::new()
    } else {
        let query = AuditQuery {
            before: Some(newest.saturating_add(1)),
            limit: lines,
            ..filter.clone()
        };
        store.audit_query(query).await?
    };
    shown.reverse();
    for event in &shown {
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
                if filter.matches(&event.record) {
                    println!("{}", audit_line(&event));
                }
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
    // The browser in words when it names one ("Firefox on Linux"), else as it was sent.
    if let Some(ua) = &r.user_agent {
        let browser =
            crate::auth::browsers::describe(ua).map_or_else(|| ua.clone(), |d| d.to_string());
        line.push_str(&format!(" browser={}", field(&browser)));
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

#[cfg(test)]
mod tests {
    use std::time::{Duration, Instant};

    use super::*;
    use crate::model::{AuditKind, AuditRecord};

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

    #[test]
    fn an_audit_line_names_the_browser_in_words_when_it_can() {
        let event = |ua: &str| AuditEvent {
            id: 1,
            record: AuditRecord::new(0, AuditKind::LoginSucceeded, "user:1").browser(Some(ua)),
        };
        let firefox = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0";
        assert!(audit_line(&event(firefox)).ends_with(r#" browser="Firefox on Linux""#));
        assert!(audit_line(&event("curl/8.5.0")).ends_with(" browser=curl/8.5.0"));
        let forged = audit_line(&event("x\u{1b}[2J y=z"));
        assert!(!forged.contains('\u{1b}'), "{forged}");
        assert!(forged.contains(" browser=\""), "{forged}");
    }
}
