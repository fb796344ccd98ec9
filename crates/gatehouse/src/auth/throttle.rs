//! Brute-force protection: login attempts are counted per account and per client address, in
//! the store, so the counts hold across restarts and across instances sharing a database.
//!
//! A few failures are free (typos); then each failure makes the key wait 1, 2, 4… seconds before
//! the next attempt is even checked; then the key is locked for a while. The account key is the
//! username as typed, whether or not it exists, so the answer never tells which usernames exist.
//!
//! **An attempt is counted before its password is checked**, in the same transaction that
//! decides whether it may be checked at all ([`admit`]). Counting only after a wrong password
//! would let a burst of parallel attempts all read "not blocked" before any of them recorded
//! its failure, so no number of concurrent attempts could be held to the limits. A successful
//! attempt is settled afterwards ([`settle_success`]): the account's count is forgotten, and the
//! address is given back the one attempt it was charged, so an office behind one address is not
//! locked out by its own successful sign-ins, while a good password still buys a script no more
//! guesses at other accounts.

use std::net::IpAddr;

use crate::clock::UnixTime;
use crate::model::AuditRecord;

/// How failed logins against one key (an account, an address) slow down and then lock out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures allowed before any delay.
    pub free_failures: u32,
    /// From this many failures on, the key is locked for `lockout`.
    pub lockout_after: u32,
    pub lockout: i64,
    /// Longest delay before the lockout.
    pub max_delay: i64,
    /// A failure this long after the previous one starts the count again.
    pub window: i64,
}

impl ThrottlePolicy {
    /// Until when the key is blocked after its `failures`-th failure at `now`: not at all
    /// within the free failures ([`NOT_BLOCKED`]), then 1, 2, 4… seconds (capped), then the
    /// lockout.
    pub fn blocked_until(&self, failures: u32, now: UnixTime) -> UnixTime {
        if failures >= self.lockout_after {
            now + self.lockout
        } else if failures > self.free_failures {
            let doublings = (failures - self.free_failures - 1).min(30);
            now + (1_i64 << doublings).min(self.max_delay)
        } else {
            NOT_BLOCKED
        }
    }
}

/// The `blocked_until` of a key that is not blocked: before any time a request can read. Not
/// `now`: concurrent requests take their `now` when they start, so one that started a second
/// earlier than the attempt that wrote the counter would read `now` as a block still running.
pub const NOT_BLOCKED: UnixTime = 0;

/// What a successful attempt does to a key's count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnSuccess {
    /// Forget every failure (the account: its owner has just proved who they are).
    Forget,
    /// Give back the one attempt charged for it (the address: one good password must not
    /// wipe out a script's failures at other accounts).
    Refund,
}

/// One key an attempt counts against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThrottleKey {
    pub key: String,
    pub policy: ThrottlePolicy,
    pub on_success: OnSuccess,
}

/// A key's stored count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counter {
    pub failures: u32,
    pub last_failure_at: UnixTime,
    pub blocked_until: UnixTime,
}

/// The decision on one login attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    /// The password may be checked. The attempt is counted as a failure until it is settled
    /// as a success: store these counters (one per key, in the order given).
    Admitted(Vec<Counter>),
    /// A key is blocked until then (`key`: the one whose block ends last); nothing is counted
    /// and no password is checked.
    Blocked { until: UnixTime, key: String },
}

/// Decides one attempt against the `loaded` counter of each key (`None`: never failed), at
/// `now`. Run inside the transaction that stores the result, so concurrent attempts are
/// decided one after the other and each sees the ones before it.
pub fn admit(loaded: &[(&ThrottleKey, Option<Counter>)], now: UnixTime) -> Admission {
    let blocked = loaded
        .iter()
        .filter_map(|(k, c)| c.map(|c| (c.blocked_until, k)))
        .filter(|&(until, _)| until > now)
        .max_by_key(|&(until, _)| until);
    if let Some((until, k)) = blocked {
        return Admission::Blocked {
            until,
            key: k.key.clone(),
        };
    }
    let counters = loaded
        .iter()
        .map(|(key, before)| {
            let failures = match before {
                Some(c) if now - c.last_failure_at < key.policy.window => {
                    c.failures.saturating_add(1)
                }
                _ => 1,
            };
            Counter {
                failures,
                last_failure_at: now,
                blocked_until: key.policy.blocked_until(failures, now),
            }
        })
        .collect();
    Admission::Admitted(counters)
}

/// The counter of `key` after an admitted attempt turned out to be a success: `None` to delete
/// it. The refund recomputes the block from the count that remains, as of the last failure.
pub fn settle_success(key: &ThrottleKey, counter: Option<Counter>) -> Option<Counter> {
    let counter = counter?;
    match key.on_success {
        OnSuccess::Forget => None,
        OnSuccess::Refund if counter.failures <= 1 => None,
        OnSuccess::Refund => {
            let failures = counter.failures - 1;
            Some(Counter {
                failures,
                last_failure_at: counter.last_failure_at,
                blocked_until: key
                    .policy
                    .blocked_until(failures, counter.last_failure_at)
                    .min(counter.blocked_until),
            })
        }
    }
}

/// One account: a handful of guesses an hour, not the thousands a script would like.
pub const PER_ACCOUNT: ThrottlePolicy = ThrottlePolicy {
    free_failures: 3,
    lockout_after: 10,
    lockout: 15 * 60,
    max_delay: 60,
    window: 3600,
};

/// The account policy with the lockout an operator chose (`--login-lockout-after`,
/// `--login-lockout`): the free failures shrink to leave at least one delayed attempt before
/// the lockout when the lockout comes early.
pub fn account_policy(lockout_after: u32, lockout: i64) -> ThrottlePolicy {
    ThrottlePolicy {
        free_failures: PER_ACCOUNT
            .free_failures
            .min(lockout_after.saturating_sub(1)),
        lockout_after,
        lockout,
        ..PER_ACCOUNT
    }
}

/// One address may be an office behind NAT: more room, and the same shape.
pub const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free_failures: 20,
    lockout_after: 100,
    lockout: 15 * 60,
    max_delay: 60,
    window: 3600,
};

/// The counter key of an account: the username's folded form (`auth::username::fold`), so
/// `Alice`, `ALICE` and `ａｌｉｃｅ` share one.
pub fn account_key(username: &str) -> String {
    format!("user:{}", super::username::fold(username))
}

/// The counter key of an address. An IPv6 host usually owns a whole /64, so that is the unit.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => format!("ip:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
    }
}

/// Whether an attempt blocked by `blocked` until `until` is `own`'s lockout, not a delay
/// between attempts nor an address's block: what an administrator can lift
/// ([`person_keys`]), so the person may be told to ask for it. It depends on the key and the
/// wait alone, never on whether an account exists.
pub fn lifted_by_an_administrator(
    blocked: &str,
    until: UnixTime,
    now: UnixTime,
    own: &ThrottleKey,
) -> bool {
    blocked == own.key && until - now > own.policy.max_delay
}

/// The counter key of a person's second factor's codes (`second_factor_keys`).
fn second_factor_key(user_id: &str) -> String {
    format!("second-factor:{user_id}")
}

/// The counter key of a person's device codes (`user_code_keys`).
fn device_user_key(user_id: &str) -> String {
    format!("device-user:{user_id}")
}

/// The keys only a person's own attempts count against (not their address's): their
/// password's, their second factor's and their device codes'. What an administrator clears
/// to let them sign in again at once.
pub fn person_keys(username: &str, user_id: &str) -> Vec<String> {
    vec![
        account_key(username),
        second_factor_key(user_id),
        device_user_key(user_id),
    ]
}

/// Until when a person with these counters (their [`person_keys`]') is refused at `now`: the
/// latest block still running, if any. A delay between attempts counts as much as the lockout.
pub fn locked_until(counters: &[Counter], now: UnixTime) -> Option<UnixTime> {
    counters
        .iter()
        .map(|c| c.blocked_until)
        .filter(|&until| until > now)
        .max()
}

/// What letting a person sign in again at once does with their counters (their
/// [`person_keys`]'), read with `now` in the transaction that forgets them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unlocked {
    /// There was a count of failed attempts, now forgotten (and audited).
    pub forgotten: bool,
    /// Until when the person could not sign in, had they not been let in.
    pub paused_until: Option<UnixTime>,
}

impl Unlocked {
    /// `audit`, the unlock's record, saying until when the person was paused, if they were.
    pub fn record(&self, audit: AuditRecord) -> AuditRecord {
        match self.paused_until {
            Some(until) => audit.detail(format!("paused until {}", crate::clock::rfc3339(until))),
            None => audit,
        }
    }
}

/// Letting a person with these counters sign in again at `now`: every count is forgotten, a
/// count with no block running too (the next failure starts afresh); there is something to
/// record only when there was a count.
pub fn unlock(counters: &[Counter], now: UnixTime) -> Unlocked {
    Unlocked {
        forgotten: !counters.is_empty(),
        paused_until: locked_until(counters, now),
    }
}

/// Every key a login attempt counts against; the account under `account` (see
/// [`account_policy`]).
pub fn keys(username: &str, ip: Option<IpAddr>, account: ThrottlePolicy) -> Vec<ThrottleKey> {
    let mut keys = vec![ThrottleKey {
        key: account_key(username),
        policy: account,
        on_success: OnSuccess::Forget,
    }];
    if let Some(ip) = ip {
        keys.push(ThrottleKey {
            key: address_key(ip),
            policy: PER_ADDRESS,
            on_success: OnSuccess::Refund,
        });
    }
    keys
}

/// Every key a second factor's code (`auth::totp`, `auth::recovery`) counts against: the
/// person, under the account policy (`account`) and apart from their password's count, which
/// the right password has just cleared; and their address, shared with passwords, since a
/// guess is a guess. Six digits are one in a million, and this leaves a handful of tries an
/// hour; a right code clears the person's count.
pub fn second_factor_keys(
    user_id: &str,
    ip: Option<IpAddr>,
    account: ThrottlePolicy,
) -> Vec<ThrottleKey> {
    let mut keys = vec![ThrottleKey {
        key: second_factor_key(user_id),
        policy: account,
        on_success: OnSuccess::Forget,
    }];
    if let Some(ip) = ip {
        keys.push(ThrottleKey {
            key: address_key(ip),
            policy: PER_ADDRESS,
            on_success: OnSuccess::Refund,
        });
    }
    keys
}

/// Every key a device user code lookup (`oidc::device`) counts against: the signed-in person,
/// under the account policy (`account`, as the operator set it for passwords), and their
/// address, counted apart from passwords. A right code refunds only its own attempt on both,
/// so entering codes of one's own buys no more guesses at others'. Guessing someone else's
/// code means finding one of the few live ones among 20^8 in ten minutes, so the handful of
/// tries an hour this leaves is nothing.
pub fn user_code_keys(
    user_id: &str,
    ip: Option<IpAddr>,
    account: ThrottlePolicy,
) -> Vec<ThrottleKey> {
    let mut keys = vec![ThrottleKey {
        key: device_user_key(user_id),
        policy: account,
        on_success: OnSuccess::Refund,
    }];
    if let Some(ip) = ip {
        keys.push(ThrottleKey {
            key: format!("device-{}", address_key(ip)),
            policy: PER_ADDRESS,
            on_success: OnSuccess::Refund,
        });
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::AuditKind;

    const NOW: UnixTime = 1_000_000;

    fn key(policy: ThrottlePolicy, on_success: OnSuccess) -> ThrottleKey {
        ThrottleKey {
            key: "k".into(),
            policy,
            on_success,
        }
    }

    /// Runs `n` attempts at `now` from an empty store, as the store would apply them.
    fn attempts(k: &ThrottleKey, n: usize, now: UnixTime) -> (Vec<Admission>, Option<Counter>) {
        let mut stored = None;
        let mut decisions = Vec::new();
        for _ in 0..n {
            let decision = admit(&[(k, stored)], now);
            if let Admission::Admitted(c) = &decision {
                stored = Some(c[0]);
            }
            decisions.push(decision);
        }
        (decisions, stored)
    }

    #[test]
    fn attempts_in_a_burst_are_admitted_only_within_the_free_failures_and_one_more() {
        let k = key(PER_ACCOUNT, OnSuccess::Forget);
        let (decisions, stored) = attempts(&k, 200, NOW);
        let admitted = decisions
            .iter()
            .filter(|d| matches!(d, Admission::Admitted(_)))
            .count();
        // Three free, the fourth is checked and makes the next wait a second: all at one
        // instant, 4 of 200 reach the password check.
        assert_eq!(admitted, 4);
        assert_eq!(
            decisions[4],
            Admission::Blocked {
                until: NOW + 1,
                key: k.key.clone()
            }
        );
        assert_eq!(stored.unwrap().failures, 4);
    }

    #[test]
    fn however_attempts_are_spread_no_more_than_the_lockout_count_are_checked() {
        let k = key(PER_ACCOUNT, OnSuccess::Forget);
        let mut stored = None;
        let mut admitted = Vec::new();
        // One attempt a second for the length of a lockout: each wait runs out in turn, until
        // the tenth failure locks the account.
        for t in 0..PER_ACCOUNT.lockout {
            if let Admission::Admitted(c) = admit(&[(&k, stored)], NOW + t) {
                stored = Some(c[0]);
                admitted.push(t);
            }
        }
        assert_eq!(admitted, [0, 1, 2, 3, 4, 6, 10, 18, 34, 66]);
        assert_eq!(admitted.len() as u32, PER_ACCOUNT.lockout_after);
    }

    #[test]
    fn an_address_is_locked_at_its_hundredth_failure() {
        let k = key(PER_ADDRESS, OnSuccess::Refund);
        let (mut stored, mut t, mut checked) = (None, NOW, 0);
        // A script that waits out every delay: the hundredth attempt locks the address.
        loop {
            match admit(&[(&k, stored)], t) {
                Admission::Admitted(c) => {
                    checked += 1;
                    stored = Some(c[0]);
                    if c[0].blocked_until - t == PER_ADDRESS.lockout {
                        break;
                    }
                    t = c[0].blocked_until;
                }
                Admission::Blocked { until, .. } => t = until,
            }
        }
        assert_eq!(checked, PER_ADDRESS.lockout_after);
        assert_eq!(checked, 100);
        // Each wait is at most a minute, far inside the window, so the count never restarts.
        assert_eq!(stored.unwrap().failures, 100);
    }

    #[test]
    fn an_earlier_lockout_keeps_one_delayed_attempt_before_it() {
        assert_eq!(account_policy(10, 900), PER_ACCOUNT);
        let early = account_policy(4, 600);
        assert_eq!(
            (early.free_failures, early.lockout_after, early.lockout),
            (3, 4, 600)
        );
        let k = key(early, OnSuccess::Forget);
        let (decisions, stored) = attempts(&k, 10, NOW);
        let admitted = decisions
            .iter()
            .filter(|d| matches!(d, Admission::Admitted(_)))
            .count();
        assert_eq!(admitted, 4);
        assert_eq!(
            stored.unwrap().blocked_until,
            NOW + 600,
            "locked at the fourth"
        );
        assert_eq!(account_policy(1, 60).free_failures, 0);
    }

    #[test]
    fn the_most_blocked_key_decides_and_nothing_is_counted_when_blocked() {
        let account = key(PER_ACCOUNT, OnSuccess::Forget);
        let address = key(PER_ADDRESS, OnSuccess::Refund);
        let blocked = Counter {
            failures: 100,
            last_failure_at: NOW,
            blocked_until: NOW + 900,
        };
        assert_eq!(
            admit(&[(&account, None), (&address, Some(blocked))], NOW + 10),
            Admission::Blocked {
                until: NOW + 900,
                key: address.key.clone()
            }
        );
        let Admission::Admitted(c) =
            admit(&[(&account, None), (&address, Some(blocked))], NOW + 900)
        else {
            panic!("the lockout is over at its end");
        };
        assert_eq!(c[0].failures, 1);
        assert_eq!(c[1].failures, 101, "the address window is still open");
    }

    #[test]
    fn a_failure_after_the_window_starts_the_count_again() {
        let k = key(PER_ACCOUNT, OnSuccess::Forget);
        let old = Counter {
            failures: 9,
            last_failure_at: NOW,
            blocked_until: NOW + 32,
        };
        let Admission::Admitted(c) = admit(&[(&k, Some(old))], NOW + 3600) else {
            panic!("admitted");
        };
        assert_eq!(c[0].failures, 1);
    }

    #[test]
    fn a_success_forgets_the_account_and_refunds_the_address() {
        let counted = Counter {
            failures: 22,
            last_failure_at: NOW,
            blocked_until: NOW + 2,
        };
        assert_eq!(
            settle_success(&key(PER_ACCOUNT, OnSuccess::Forget), Some(counted)),
            None
        );
        let refunded = settle_success(&key(PER_ADDRESS, OnSuccess::Refund), Some(counted));
        assert_eq!(
            refunded,
            Some(Counter {
                failures: 21,
                last_failure_at: NOW,
                blocked_until: NOW + 1,
            })
        );
        let first = Counter {
            failures: 1,
            last_failure_at: NOW,
            blocked_until: NOW,
        };
        assert_eq!(
            settle_success(&key(PER_ADDRESS, OnSuccess::Refund), Some(first)),
            None
        );
        assert_eq!(
            settle_success(&key(PER_ADDRESS, OnSuccess::Refund), None),
            None
        );
    }

    /// Two concurrent attempts: the one that started a second earlier commits second. A free
    /// failure the other one wrote must not read as a block.
    #[test]
    fn an_earlier_now_is_not_blocked_by_a_free_failure_written_later() {
        let k = key(PER_ADDRESS, OnSuccess::Refund);
        let Admission::Admitted(written) = admit(&[(&k, None)], NOW + 1) else {
            panic!("the first attempt is admitted");
        };
        assert!(matches!(
            admit(&[(&k, Some(written[0]))], NOW),
            Admission::Admitted(_)
        ));
    }

    #[test]
    fn delays_grow_then_lock() {
        let now = 1000;
        let waits: Vec<i64> = (1..=11)
            .map(|n| (PER_ACCOUNT.blocked_until(n, now) - now).max(0))
            .collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 900, 900]);
        assert_eq!(PER_ACCOUNT.blocked_until(3, now), NOT_BLOCKED);
        // The delay is capped below the lockout.
        let long = ThrottlePolicy {
            lockout_after: 50,
            ..PER_ACCOUNT
        };
        assert_eq!(long.blocked_until(40, now) - now, 60);
    }

    #[test]
    fn keys_fold_case_and_group_ipv6_hosts() {
        assert_eq!(account_key("Alice"), account_key("alice"));
        assert_eq!(account_key("ａｌｉｃｅ"), account_key("alice"));
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(address_key(mapped), "ip:10.1.2.3");
        assert_eq!(keys("bob", None, PER_ACCOUNT).len(), 1);
        assert_eq!(keys("bob", Some(mapped), PER_ACCOUNT).len(), 2);
    }

    #[test]
    fn a_persons_keys_are_those_their_own_attempts_count_against_and_no_address() {
        let ip: IpAddr = "203.0.113.7".parse().unwrap();
        let own = person_keys("Bob", "u1");
        let counted: Vec<String> = [
            keys("bob", Some(ip), PER_ACCOUNT),
            second_factor_keys("u1", Some(ip), PER_ACCOUNT),
            user_code_keys("u1", Some(ip), PER_ACCOUNT),
        ]
        .concat()
        .into_iter()
        .map(|k| k.key)
        .filter(|k| !k.contains("ip:"))
        .collect();
        assert_eq!(own, counted);
    }

    #[test]
    fn only_a_persons_own_lockout_is_theirs_to_ask_an_administrator_to_lift() {
        let own = ThrottleKey {
            key: account_key("ada"),
            policy: PER_ACCOUNT,
            on_success: OnSuccess::Forget,
        };
        let address = address_key("203.0.113.7".parse().unwrap());
        // (the key that blocks, the wait, lifted by an administrator)
        for (blocked, wait, lifted) in [
            (own.key.as_str(), PER_ACCOUNT.lockout, true),
            (own.key.as_str(), PER_ACCOUNT.max_delay + 1, true),
            // A delay between attempts: waited out sooner than anyone is asked.
            (own.key.as_str(), PER_ACCOUNT.max_delay, false),
            (own.key.as_str(), 1, false),
            // Others share an address.
            (address.as_str(), PER_ADDRESS.lockout, false),
        ] {
            assert_eq!(
                lifted_by_an_administrator(blocked, NOW + wait, NOW, &own),
                lifted,
                "{blocked} {wait}"
            );
        }
    }

    #[test]
    fn a_person_is_locked_until_their_latest_running_block() {
        let at = |blocked_until| Counter {
            failures: 4,
            last_failure_at: NOW - 10,
            blocked_until,
        };
        // (the blocks of their keys, locked until)
        for (blocks, until) in [
            (vec![], None),
            (vec![NOT_BLOCKED], None),
            (vec![NOW], None),
            (vec![NOW - 5, NOW + 2], Some(NOW + 2)),
            (vec![NOW + 900, NOW + 2, NOT_BLOCKED], Some(NOW + 900)),
        ] {
            let counters: Vec<Counter> = blocks.iter().copied().map(at).collect();
            assert_eq!(locked_until(&counters, NOW), until, "{blocks:?}");
        }
    }

    #[test]
    fn an_unlock_forgets_any_count_and_says_until_when_a_block_ran() {
        let at = |blocked_until| Counter {
            failures: 2,
            last_failure_at: NOW - 10,
            blocked_until,
        };
        // (the blocks of their keys, forgotten, paused until, the record's detail)
        for (blocks, forgotten, until, detail) in [
            (vec![], false, None, None),
            (vec![NOT_BLOCKED], true, None, None),
            (vec![NOW - 1], true, None, None),
            (
                vec![NOW - 1, NOW + 86_400],
                true,
                Some(NOW + 86_400),
                Some("paused until 1970-01-13T13:46:40Z"),
            ),
        ] {
            let counters: Vec<Counter> = blocks.iter().copied().map(at).collect();
            let done = unlock(&counters, NOW);
            assert_eq!(done.forgotten, forgotten, "{blocks:?}");
            assert_eq!(done.paused_until, until, "{blocks:?}");
            let record = AuditRecord::new(NOW, AuditKind::UserUnlocked, "cli");
            assert_eq!(done.record(record).detail.as_deref(), detail, "{blocks:?}");
        }
    }
}
