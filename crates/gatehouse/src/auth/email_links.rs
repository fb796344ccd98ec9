//! The rules of links sent by email (confirming an address, resetting a password, an
//! invitation, a new passkey for one who lost theirs), decided over plain data with the
//! caller's clock: how long each works, how often one may be sent to the same person, and
//! whether a link that comes back may be used.

use crate::clock::UnixTime;
use crate::model::{EmailPurpose, EmailToken, StoredPasskey, User, UserChange};

/// How long a password reset link works: long enough to find the mail, short enough that an
/// old mail in a mailbox someone reads later is useless.
pub const RESET_TTL: i64 = 30 * 60;
/// How long an address confirmation link works.
pub const CONFIRM_TTL: i64 = 24 * 3600;
/// How long an invitation works: a person added on Friday may open it on Monday.
pub const INVITE_TTL: i64 = 7 * 24 * 3600;
/// How long a passkey link works: an administrator sends it to a person who lost their
/// passkey, who may be away from their devices for a day. It signs them in for good (their new
/// passkey), so it lasts no longer.
pub const PASSKEY_LINK_TTL: i64 = 24 * 3600;
/// The least time between two links of one purpose to one person: someone who types another
/// person's name again and again sends them one mail a minute at most.
pub const RESEND_AFTER: i64 = 60;

/// How long a link of `purpose` works.
pub fn ttl(purpose: EmailPurpose) -> i64 {
    match purpose {
        EmailPurpose::Confirm => CONFIRM_TTL,
        EmailPurpose::Reset => RESET_TTL,
        EmailPurpose::Invite => INVITE_TTL,
        EmailPurpose::Passkey => PASSKEY_LINK_TTL,
    }
}

/// The page a link of `purpose` opens, below the issuer; the link carries its secret as
/// `?token=`.
pub fn path(purpose: EmailPurpose) -> &'static str {
    match purpose {
        EmailPurpose::Reset => "/reset",
        EmailPurpose::Confirm => "/confirm-email",
        EmailPurpose::Invite => "/welcome",
        EmailPurpose::Passkey => "/new-passkey",
    }
}

/// The path and query of the link of `purpose` whose secret is `secret` (base64url, which needs
/// no escaping; escaped all the same, so nothing else could break the URL).
pub fn path_and_query(purpose: EmailPurpose, secret: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    format!("{}?token={token}", path(purpose))
}

/// A new link of `purpose` for `user` at `now`, kept by its secret's hash: sent to the
/// address they have now, working for as long as its kind does.
pub fn new_token(
    user: &User,
    purpose: EmailPurpose,
    token_hash: String,
    now: UnixTime,
) -> EmailToken {
    EmailToken {
        token_hash,
        user_id: user.id.clone(),
        purpose,
        email: user.email.clone(),
        created_at: now,
        expires_at: now + ttl(purpose),
    }
}

/// Whether a new link may be sent at `now`, given when the person's newest unexpired link of
/// the same purpose was made (`None`: there is none).
pub fn may_send(newest: Option<UnixTime>, now: UnixTime) -> bool {
    newest.is_none_or(|at| now - at >= RESEND_AFTER)
}

/// Why no passkey link was made for a person.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoPasskeyLink {
    /// Passkeys do not work with the server's issuer (an IP address): its page could not add
    /// one.
    PasskeysUnavailable,
    /// The account is disabled: the link would not work.
    Disabled,
    /// One was made for them less than a minute ago (`may_send`).
    TooSoon,
}

/// Whether a passkey link may be made for `user`, where passkeys work with the issuer or not
/// (`passkeys_work`): only where its page could be used.
///
/// # Errors
/// Why not.
pub fn may_make_passkey_link(user: &User, passkeys_work: bool) -> Result<(), NoPasskeyLink> {
    if !passkeys_work {
        return Err(NoPasskeyLink::PasskeysUnavailable);
    }
    if user.disabled {
        return Err(NoPasskeyLink::Disabled);
    }
    Ok(())
}

/// Why a link that came back cannot be used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Unknown, used already, or expired: the store gives it out once, while it works.
    Unknown,
    /// Its person is gone or disabled.
    NoAccount,
    /// The person's address is no longer the one it was sent to.
    AddressChanged,
}

/// Decides whether a link (as the store gave it, once) may be used by `user` (its person, as
/// stored now).
///
/// # Errors
/// Why it cannot.
pub fn check(
    token: Option<&EmailToken>,
    user: Option<&User>,
    now: UnixTime,
) -> Result<(), Refused> {
    let token = token
        .filter(|t| t.expires_at > now)
        .ok_or(Refused::Unknown)?;
    let user = user
        .filter(|u| u.id == token.user_id && !u.disabled)
        .ok_or(Refused::NoAccount)?;
    if !user.email.eq_ignore_ascii_case(&token.email) {
        return Err(Refused::AddressChanged);
    }
    Ok(())
}

/// What a link that came back is used for, as the person's form says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkUse {
    /// An address confirmation link: the address it came to is confirmed.
    Confirm,
    /// A reset link, with the new password's hash.
    Reset(String),
    /// An invitation, with the first password's hash; it confirms the address it came to.
    Invite(String),
    /// An invitation accepted with a passkey (verified already) in place of a password: the
    /// person signs in with it alone. It confirms the address it came to.
    InviteWithPasskey(StoredPasskey),
    /// A passkey link (an administrator sent it to a person who lost their passkey), with
    /// the new passkey, verified already: it is added beside what the person has.
    AddPasskey(StoredPasskey),
}

impl LinkUse {
    /// The purpose of the links that can be used so.
    pub fn purpose(&self) -> EmailPurpose {
        match self {
            LinkUse::Confirm => EmailPurpose::Confirm,
            LinkUse::Reset(_) => EmailPurpose::Reset,
            LinkUse::Invite(_) | LinkUse::InviteWithPasskey(_) => EmailPurpose::Invite,
            LinkUse::AddPasskey(_) => EmailPurpose::Passkey,
        }
    }
}

/// Decides a link's use (`check`, then what it changes): the changes to make to its person,
/// in the transaction that takes the link, or why it cannot be used. The store reads the link
/// and its person in that transaction, so an address changed or an account disabled while
/// the person filled in the form is seen here.
///
/// # Errors
/// Why the link cannot be used.
pub fn redeem(
    token: Option<&EmailToken>,
    user: Option<&User>,
    now: UnixTime,
    link_use: &LinkUse,
) -> Result<Vec<UserChange>, Refused> {
    check(token, user, now)?;
    let (Some(token), Some(user)) = (token, user) else {
        return Err(Refused::Unknown);
    };
    if token.purpose != link_use.purpose() {
        return Err(Refused::Unknown);
    }
    let confirmed = || UserChange::SetEmail {
        email: token.email.clone(),
        verified: true,
    };
    // An invitation confirms the address it came to, after its first way in.
    let invited = |first| {
        let mut changes = vec![first];
        if !user.email_verified {
            changes.push(confirmed());
        }
        changes
    };
    // The link's person's passkey, whoever the page that made it named.
    let theirs = |passkey: &StoredPasskey| StoredPasskey {
        user_id: user.id.clone(),
        ..passkey.clone()
    };
    Ok(match link_use {
        LinkUse::Confirm => vec![confirmed()],
        LinkUse::Reset(hash) => vec![UserChange::SetPassword(hash.clone())],
        LinkUse::Invite(hash) => invited(UserChange::SetPassword(hash.clone())),
        LinkUse::InviteWithPasskey(passkey) => invited(UserChange::PasskeyInstead(theirs(passkey))),
        // Handed over or mailed, the link says nothing of whose mailbox it reached: the
        // address is left as it was.
        LinkUse::AddPasskey(passkey) => vec![UserChange::AddPasskey(theirs(passkey))],
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(expires_at: UnixTime) -> EmailToken {
        EmailToken {
            token_hash: "h".into(),
            user_id: "u1".into(),
            purpose: EmailPurpose::Reset,
            email: "alice@example.com".into(),
            created_at: 0,
            expires_at,
        }
    }

    #[test]
    fn a_link_works_once_while_it_lasts_for_its_person_at_its_address() {
        let alice = User::example();
        let disabled = User {
            disabled: true,
            ..User::example()
        };
        let moved = User {
            email: "alice@elsewhere.example".into(),
            ..User::example()
        };
        let shouting = User {
            email: "Alice@Example.com".into(),
            ..User::example()
        };
        let someone_else = User {
            id: "u2".into(),
            ..User::example()
        };
        let cases = [
            ("fresh", Some(token(100)), Some(&alice), 99, Ok(())),
            (
                "the address in other case",
                Some(token(100)),
                Some(&shouting),
                0,
                Ok(()),
            ),
            (
                "expired",
                Some(token(100)),
                Some(&alice),
                100,
                Err(Refused::Unknown),
            ),
            (
                "used or unknown",
                None,
                Some(&alice),
                0,
                Err(Refused::Unknown),
            ),
            (
                "account gone",
                Some(token(100)),
                None,
                0,
                Err(Refused::NoAccount),
            ),
            (
                "disabled",
                Some(token(100)),
                Some(&disabled),
                0,
                Err(Refused::NoAccount),
            ),
            (
                "another person",
                Some(token(100)),
                Some(&someone_else),
                0,
                Err(Refused::NoAccount),
            ),
            (
                "address changed",
                Some(token(100)),
                Some(&moved),
                0,
                Err(Refused::AddressChanged),
            ),
        ];
        for (why, token, user, now, expected) in cases {
            assert_eq!(check(token.as_ref(), user, now), expected, "{why}");
        }
    }

    #[test]
    fn a_used_link_changes_what_its_use_says_and_nothing_when_refused() {
        let of = |purpose| EmailToken {
            purpose,
            email: "Alice@Example.com".into(),
            ..token(100)
        };
        let alice = User::example();
        let verified = User {
            email_verified: true,
            ..User::example()
        };
        let moved = User {
            email: "alice@elsewhere.example".into(),
            ..User::example()
        };
        let password = || UserChange::SetPassword("hash".into());
        let confirmed = || UserChange::SetEmail {
            email: "Alice@Example.com".into(),
            verified: true,
        };
        let reset = LinkUse::Reset("hash".into());
        let invite = LinkUse::Invite("hash".into());
        let passkey = |user_id: &str| StoredPasskey {
            credential_id: "AAEC".into(),
            user_id: user_id.into(),
            name: "Laptop".into(),
            data: "{}".into(),
            created_at: 0,
            last_used_at: None,
        };
        let with_passkey = LinkUse::InviteWithPasskey(passkey("someone-else"));
        let new_passkey = LinkUse::AddPasskey(passkey("someone-else"));
        let cases = [
            (
                "confirmed at the address it came to",
                of(EmailPurpose::Confirm),
                &alice,
                LinkUse::Confirm,
                Ok(vec![confirmed()]),
            ),
            (
                "a new password",
                of(EmailPurpose::Reset),
                &alice,
                reset.clone(),
                Ok(vec![password()]),
            ),
            (
                "an invitation also confirms the address",
                of(EmailPurpose::Invite),
                &alice,
                invite.clone(),
                Ok(vec![password(), confirmed()]),
            ),
            (
                "an invitation to a confirmed address sets the password only",
                of(EmailPurpose::Invite),
                &verified,
                invite.clone(),
                Ok(vec![password()]),
            ),
            (
                "an invitation with a passkey: the link's person's, in place of a password",
                of(EmailPurpose::Invite),
                &alice,
                with_passkey.clone(),
                Ok(vec![
                    UserChange::PasskeyInstead(passkey(&alice.id)),
                    confirmed(),
                ]),
            ),
            (
                "a passkey link: the link's person's passkey, beside what they have",
                of(EmailPurpose::Passkey),
                &verified,
                new_passkey.clone(),
                Ok(vec![UserChange::AddPasskey(passkey(&alice.id))]),
            ),
            (
                "a passkey link confirms no address",
                of(EmailPurpose::Passkey),
                &alice,
                new_passkey.clone(),
                Ok(vec![UserChange::AddPasskey(passkey(&alice.id))]),
            ),
            (
                "a passkey link used as an invitation",
                of(EmailPurpose::Passkey),
                &alice,
                with_passkey.clone(),
                Err(Refused::Unknown),
            ),
            (
                "an invitation used as a passkey link",
                of(EmailPurpose::Invite),
                &alice,
                new_passkey.clone(),
                Err(Refused::Unknown),
            ),
            (
                "a reset link used to add a passkey",
                of(EmailPurpose::Reset),
                &alice,
                new_passkey,
                Err(Refused::Unknown),
            ),
            (
                "a reset link used as an invitation with a passkey",
                of(EmailPurpose::Reset),
                &alice,
                with_passkey,
                Err(Refused::Unknown),
            ),
            (
                "the address changed",
                of(EmailPurpose::Reset),
                &moved,
                reset.clone(),
                Err(Refused::AddressChanged),
            ),
            (
                "a confirmation link used to set a password",
                of(EmailPurpose::Confirm),
                &alice,
                reset,
                Err(Refused::Unknown),
            ),
            (
                "a reset link used as an invitation",
                of(EmailPurpose::Reset),
                &alice,
                invite,
                Err(Refused::Unknown),
            ),
        ];
        for (why, token, user, link_use, expected) in cases {
            assert_eq!(
                redeem(Some(&token), Some(user), 0, &link_use),
                expected,
                "{why}"
            );
        }
        let refused = redeem(
            Some(&of(EmailPurpose::Reset)),
            Some(&alice),
            100,
            &LinkUse::Reset("hash".into()),
        );
        assert_eq!(refused, Err(Refused::Unknown), "expired");
    }

    #[test]
    fn a_passkey_link_is_made_only_where_its_page_works() {
        let alice = User::example();
        let disabled = User {
            disabled: true,
            ..User::example()
        };
        for (user, passkeys_work, expected) in [
            (&alice, true, Ok(())),
            (&alice, false, Err(NoPasskeyLink::PasskeysUnavailable)),
            (&disabled, true, Err(NoPasskeyLink::Disabled)),
            (&disabled, false, Err(NoPasskeyLink::PasskeysUnavailable)),
        ] {
            assert_eq!(
                may_make_passkey_link(user, passkeys_work),
                expected,
                "{} {passkeys_work}",
                user.disabled
            );
        }
    }

    #[test]
    fn a_person_gets_one_link_a_minute_at_most() {
        let cases = [
            (None, 0, true),
            (Some(0), 59, false),
            (Some(0), 60, true),
            (Some(100), 10, false),
        ];
        for (newest, now, expected) in cases {
            assert_eq!(may_send(newest, now), expected, "{newest:?} at {now}");
        }
        assert!(ttl(EmailPurpose::Reset) < ttl(EmailPurpose::Passkey));
        assert!(ttl(EmailPurpose::Passkey) <= ttl(EmailPurpose::Confirm));
        assert!(ttl(EmailPurpose::Reset) < ttl(EmailPurpose::Confirm));
        assert!(ttl(EmailPurpose::Confirm) < ttl(EmailPurpose::Invite));
    }
}
