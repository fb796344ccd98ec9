//! Security notices: which changes to an account its person is told of by mail, and at which
//! address, decided over plain data. A password, second factor, passkey or address that
//! changes without the person knowing is how an account is taken over; the mail lets them
//! notice, at an address the change did not give.
//!
//! A notice is decided where its change is made, in the same transaction: from the change's
//! audit record ([`for_record`]), for a new address from the change itself
//! ([`for_new_address`]), where the old address is still known, and for a sign-in from a
//! browser new to the person where the session is opened ([`for_sign_in`]), and for the
//! removal of the account from its record and the account as it was a moment before
//! ([`for_removal`]): that one is sent after the account is gone, keeping what its words need.
//! The words are chosen when it is sent (`mail::run`), in the person's language then.

use crate::clock::UnixTime;
use crate::model::{AuditKind, AuditRecord, Factors, Farewell, Notice, NoticeKind, Session, User};

/// How long a notice is tried: news older than a day is given up (and, without a mail
/// server, swept unsent).
pub const NOTICE_TTL: i64 = 24 * 3600;

/// The notice a record of `kind` calls for, if any.
pub fn kind_for(kind: AuditKind) -> Option<NoticeKind> {
    Some(match kind {
        AuditKind::PasswordChanged => NoticeKind::PasswordChanged,
        AuditKind::PasswordRemoved => NoticeKind::PasswordRemoved,
        AuditKind::PasswordReset => NoticeKind::PasswordReset,
        AuditKind::PasswordSet => NoticeKind::PasswordSet,
        AuditKind::TotpEnrolled => NoticeKind::TotpAdded,
        AuditKind::TotpReplaced => NoticeKind::TotpReplaced,
        AuditKind::TotpRemoved => NoticeKind::TotpRemoved,
        AuditKind::PasskeyAdded => NoticeKind::PasskeyAdded,
        AuditKind::PasskeyRemoved => NoticeKind::PasskeyRemoved,
        AuditKind::RecoveryCodesRegenerated => NoticeKind::RecoveryCodesReplaced,
        AuditKind::RecoveryCodeUsed => NoticeKind::RecoveryCodeUsed,
        AuditKind::FactorsReset => NoticeKind::FactorsReset,
        _ => return None,
    })
}

/// The username of the person `record` tells, when its kind calls for a notice: the store
/// loads them ([`Addressee`]) and asks [`for_record`].
pub fn addressee(record: &AuditRecord) -> Option<&str> {
    kind_for(record.kind).and(record.subject.as_deref())
}

/// A person as a notice needs them, loaded where the change is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addressee {
    pub user_id: String,
    pub email: String,
    pub disabled: bool,
}

impl Addressee {
    /// `user` as a notice needs them.
    pub fn of(user: &User) -> Self {
        Addressee {
            user_id: user.id.clone(),
            email: user.email.clone(),
            disabled: user.disabled,
        }
    }
}

/// The address a notice to `person` goes to (theirs, trimmed): none for an account without
/// one, or a disabled account (nobody signs in to it to act on the news). The administration
/// page says so before an administrator removes an account.
pub fn address_told(person: &Addressee) -> Option<&str> {
    let to = person.email.trim();
    (!to.is_empty() && !person.disabled).then_some(to)
}

/// The notice `record` calls for to `person` (the one it names, loaded in its transaction):
/// none for a record of another kind, a person without an address, or a disabled account
/// (nobody signs in to it to act on the news).
pub fn for_record(record: &AuditRecord, person: &Addressee) -> Option<Notice> {
    let kind = kind_for(record.kind)?;
    tell(person, kind, None, record.ip.clone(), record.at)
}

/// The notice removing an account calls for, by its record's kind: the person removed it
/// themselves, or an administrator did.
pub fn removal_kind(kind: AuditKind) -> Option<NoticeKind> {
    match kind {
        AuditKind::AccountRemoved => Some(NoticeKind::AccountRemoved),
        AuditKind::UserRemoved => Some(NoticeKind::RemovedByAdministrator),
        _ => None,
    }
}

/// The notice the removal of `person`'s account, recorded by `record`, calls for: to the
/// address the account had, sent after it is gone and so keeping `farewell` (its username
/// and language) for its words. None for a record of another kind, an account without an
/// address, or a disabled one, as for every notice: disabling an account first removes it
/// quietly.
pub fn for_removal(record: &AuditRecord, person: &Addressee, farewell: Farewell) -> Option<Notice> {
    let kind = removal_kind(record.kind)?;
    let notice = tell(person, kind, None, record.ip.clone(), record.at)?;
    Some(Notice {
        farewell: Some(farewell),
        ..notice
    })
}

/// Whether an administrator's removal of a person's second factors, which found `had`, is
/// told (its record goes through [`for_record`]) or only recorded: a removal that found
/// nothing changed nothing the person could act on.
pub fn removal_tells(had: &Factors) -> bool {
    !had.is_empty()
}

/// The notice a change of `person`'s address from theirs to `after` calls for: the address it
/// was is told, with the new one, so that a person whose address someone else changed hears
/// of it where they still read; none when it stays the same (a confirmation, a change of
/// case).
pub fn for_new_address(person: &Addressee, after: &str, at: UnixTime) -> Option<Notice> {
    if person.email.trim().eq_ignore_ascii_case(after.trim()) {
        return None;
    }
    let detail = Some(after.trim().to_owned()).filter(|a| !a.is_empty());
    tell(person, NoticeKind::AddressChanged, detail, None, at)
}

/// What the store knows of the browser a person just signed in with, read in the transaction
/// that opens the session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Browsers {
    /// This browser had signed in as them before (or did so a moment ago, in a sign-in that
    /// won a race with this one).
    pub this_one_known: bool,
    /// Another browser had: they have signed in before, and a browser of theirs is known.
    pub others_known: bool,
}

/// The notice the sign-in that opened `session` for `person` calls for: one when its browser
/// is new to them and another is known, so that someone who signs in with their password, or
/// a stolen second factor, is seen; it names the address and the browser (its `User-Agent`,
/// described when worded) the session was signed in from. None for a browser they used
/// before, nor for their first sign-in known here (an account just made; the first after an
/// upgrade, before browsers were kept).
pub fn for_sign_in(person: &Addressee, browsers: Browsers, session: &Session) -> Option<Notice> {
    if browsers.this_one_known || !browsers.others_known {
        return None;
    }
    let (browser, ip) = (session.user_agent.clone(), session.ip.clone());
    tell(
        person,
        NoticeKind::NewSignIn,
        browser,
        ip,
        session.last_seen_at,
    )
}

/// The address the change a notice of `kind` tells came from, as its mail names it: `ip`,
/// unless an administrator made the change. Where an administrator works from is not the
/// person's business (the notice says an administrator did it, and whom to ask; their
/// account page does not show it either, `auth::own_data::as_shown`). Asked when a notice is
/// decided and again when its mail is worded, for a notice an earlier release queued with the
/// address.
pub fn address_named(kind: NoticeKind, ip: Option<&str>) -> Option<&str> {
    ip.filter(|_| !kind.by_administrator())
}

/// The notice of `kind` to `person`, if they have an address that is told, naming the address
/// the change came from as [`address_named`] says.
fn tell(
    person: &Addressee,
    kind: NoticeKind,
    detail: Option<String>,
    ip: Option<String>,
    at: UnixTime,
) -> Option<Notice> {
    let to = address_told(person)?;
    Some(Notice {
        user_id: person.user_id.clone(),
        kind,
        to: to.to_owned(),
        detail,
        ip: address_named(kind, ip.as_deref()).map(str::to_owned),
        at,
        expires_at: at + NOTICE_TTL,
        farewell: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice() -> Addressee {
        Addressee {
            user_id: "u1".into(),
            email: "alice@example.com".into(),
            disabled: false,
        }
    }

    fn record(kind: AuditKind) -> AuditRecord {
        AuditRecord::new(1_000, kind, "user:u1")
            .subject(Some("alice"))
            .ip("203.0.113.7".parse().ok())
    }

    #[test]
    fn what_lets_someone_in_or_takes_a_way_in_away_is_told() {
        let told = [
            (AuditKind::PasswordChanged, NoticeKind::PasswordChanged),
            (AuditKind::PasswordRemoved, NoticeKind::PasswordRemoved),
            (AuditKind::PasswordReset, NoticeKind::PasswordReset),
            (AuditKind::PasswordSet, NoticeKind::PasswordSet),
            (AuditKind::TotpEnrolled, NoticeKind::TotpAdded),
            (AuditKind::TotpReplaced, NoticeKind::TotpReplaced),
            (AuditKind::TotpRemoved, NoticeKind::TotpRemoved),
            (AuditKind::PasskeyAdded, NoticeKind::PasskeyAdded),
            (AuditKind::PasskeyRemoved, NoticeKind::PasskeyRemoved),
            (
                AuditKind::RecoveryCodesRegenerated,
                NoticeKind::RecoveryCodesReplaced,
            ),
            (AuditKind::RecoveryCodeUsed, NoticeKind::RecoveryCodeUsed),
            (AuditKind::FactorsReset, NoticeKind::FactorsReset),
        ];
        let by_administrators = [NoticeKind::PasswordSet, NoticeKind::FactorsReset];
        for (audit, notice) in told {
            assert_eq!(kind_for(audit), Some(notice), "{audit:?}");
            assert_eq!(addressee(&record(audit)), Some("alice"));
            assert_eq!(
                for_record(&record(audit), &alice()),
                Some(Notice {
                    user_id: "u1".into(),
                    kind: notice,
                    to: "alice@example.com".into(),
                    detail: None,
                    // An administrator's address is not told.
                    ip: Some("203.0.113.7".into()).filter(|_| !by_administrators.contains(&notice)),
                    at: 1_000,
                    expires_at: 1_000 + NOTICE_TTL,
                    farewell: None,
                })
            );
        }
        // Everything else is the account page's activity and the audit log, not mail: a
        // sign-in, a new name, a token issued (the hot path loads nobody).
        for kind in AuditKind::ALL {
            if told.iter().any(|(k, _)| k == kind) {
                continue;
            }
            assert_eq!(kind_for(*kind), None, "{kind:?}");
            assert_eq!(addressee(&record(*kind)), None, "{kind:?}");
            assert_eq!(for_record(&record(*kind), &alice()), None, "{kind:?}");
        }
        // Each notice but the new address's, the new browser's and a removal's comes from one
        // record's kind.
        for notice in NoticeKind::ALL {
            let from_records = told.iter().filter(|(_, n)| n == notice).count();
            let apart = [
                NoticeKind::AddressChanged,
                NoticeKind::NewSignIn,
                NoticeKind::AccountRemoved,
                NoticeKind::RemovedByAdministrator,
            ];
            let expected = usize::from(!apart.contains(notice));
            assert_eq!(from_records, expected, "{notice:?}");
        }
    }

    #[test]
    fn nobody_is_told_without_an_address_or_an_account_in_use() {
        let changed = record(AuditKind::PasswordChanged);
        let no_address = Addressee {
            email: "  ".into(),
            ..alice()
        };
        let disabled = Addressee {
            disabled: true,
            ..alice()
        };
        assert_eq!(for_record(&changed, &no_address), None);
        assert_eq!(for_record(&changed, &disabled), None);
        assert_eq!(address_told(&alice()), Some("alice@example.com"));
        let spaced = Addressee {
            email: " alice@example.com ".into(),
            ..alice()
        };
        assert_eq!(address_told(&spaced), Some("alice@example.com"));
        assert_eq!(address_told(&no_address), None);
        assert_eq!(address_told(&disabled), None);
        let nameless = AuditRecord::new(1_000, AuditKind::PasswordSet, "cli");
        assert_eq!(addressee(&nameless), None, "a record naming nobody");
    }

    #[test]
    fn a_removed_account_is_told_at_the_address_it_had_keeping_its_name_and_language() {
        let farewell = || Farewell {
            username: "alice".into(),
            locale: Some("de".into()),
        };
        let removals = [
            (AuditKind::AccountRemoved, NoticeKind::AccountRemoved, false),
            (
                AuditKind::UserRemoved,
                NoticeKind::RemovedByAdministrator,
                true,
            ),
        ];
        for (audit, kind, by_administrator) in removals {
            assert_eq!(removal_kind(audit), Some(kind));
            assert_eq!(kind.by_administrator(), by_administrator, "{kind:?}");
            assert_eq!(
                for_removal(&record(audit), &alice(), farewell()),
                Some(Notice {
                    user_id: "u1".into(),
                    kind,
                    to: "alice@example.com".into(),
                    detail: None,
                    ip: Some("203.0.113.7".into()).filter(|_| !by_administrator),
                    at: 1_000,
                    expires_at: 1_000 + NOTICE_TTL,
                    farewell: Some(farewell()),
                })
            );
            // Not through the records' path, which loads the person by name: the account
            // is gone when the record is written.
            assert_eq!(kind_for(audit), None, "{audit:?}");
            let no_address = Addressee {
                email: String::new(),
                ..alice()
            };
            let disabled = Addressee {
                disabled: true,
                ..alice()
            };
            assert_eq!(for_removal(&record(audit), &no_address, farewell()), None);
            assert_eq!(for_removal(&record(audit), &disabled, farewell()), None);
        }
        // No other record removes an account.
        for kind in AuditKind::ALL {
            if removals.iter().any(|(k, _, _)| k == kind) {
                continue;
            }
            assert_eq!(removal_kind(*kind), None, "{kind:?}");
            assert_eq!(for_removal(&record(*kind), &alice(), farewell()), None);
        }
    }

    #[test]
    fn a_removal_of_second_factors_tells_only_when_it_found_some() {
        let none = Factors::default();
        assert!(!removal_tells(&none), "nothing removed, nothing to tell");
        let app = Factors {
            totp_enrolled_at: Some(100),
            ..Factors::default()
        };
        let codes = Factors {
            recovery_codes_left: 3,
            ..Factors::default()
        };
        let passkey = Factors {
            passkeys: vec![crate::model::PasskeyView {
                credential_id: "p1".into(),
                name: "laptop".into(),
                created_at: 100,
                last_used_at: None,
            }],
            ..Factors::default()
        };
        for had in [app, codes, passkey] {
            assert!(removal_tells(&had), "{had:?}");
        }
    }

    #[test]
    fn the_old_address_is_told_of_the_new_one() {
        let told = for_new_address(&alice(), "mallory@example.net", 5_000).unwrap();
        assert_eq!(told.kind, NoticeKind::AddressChanged);
        assert_eq!(told.to, "alice@example.com", "the address it was");
        assert_eq!(told.detail.as_deref(), Some("mallory@example.net"));
        assert_eq!((told.at, told.expires_at), (5_000, 5_000 + NOTICE_TTL));
        let removed = for_new_address(&alice(), "", 5_000).unwrap();
        assert_eq!(
            (removed.to.as_str(), removed.detail),
            ("alice@example.com", None)
        );
        // The same address (confirmed by its link, or typed in another case) is no news.
        assert_eq!(for_new_address(&alice(), "alice@example.com", 5_000), None);
        assert_eq!(for_new_address(&alice(), "Alice@Example.COM", 5_000), None);
        // A first address has nobody to tell; nor has a disabled account.
        let none = Addressee {
            email: String::new(),
            ..alice()
        };
        assert_eq!(for_new_address(&none, "alice@example.com", 5_000), None);
        let disabled = Addressee {
            disabled: true,
            ..alice()
        };
        assert_eq!(for_new_address(&disabled, "x@example.com", 5_000), None);
    }

    #[test]
    fn a_sign_in_from_a_new_browser_is_told_once_another_is_known() {
        let session = Session {
            id_hash: "h".into(),
            user_id: "u1".into(),
            auth_time: 9_000,
            amr: crate::model::Amr::PASSWORD,
            expires_at: 9_000 + 3600,
            last_seen_at: 9_000,
            user_agent: Some("Firefox/128.0".into()),
            ip: Some("198.51.100.4".into()),
            kept: false,
        };
        let seen = |this_one_known, others_known| Browsers {
            this_one_known,
            others_known,
        };
        let told = for_sign_in(&alice(), seen(false, true), &session).unwrap();
        assert_eq!(told.kind, NoticeKind::NewSignIn);
        assert_eq!(
            (told.to.as_str(), told.ip.as_deref(), told.at),
            ("alice@example.com", Some("198.51.100.4"), 9_000)
        );
        assert_eq!(told.detail.as_deref(), Some("Firefox/128.0"), "the browser");
        // A browser used before, or one that won a race a moment ago, is no news.
        assert_eq!(for_sign_in(&alice(), seen(true, true), &session), None);
        assert_eq!(for_sign_in(&alice(), seen(true, false), &session), None);
        // The first browser known for them: an account just made, or the first sign-in
        // since browsers were kept.
        assert_eq!(for_sign_in(&alice(), seen(false, false), &session), None);
        let disabled = Addressee {
            disabled: true,
            ..alice()
        };
        assert_eq!(for_sign_in(&disabled, seen(false, true), &session), None);
    }
}
