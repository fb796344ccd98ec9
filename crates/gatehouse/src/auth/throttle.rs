//! Brute-force protection: failed logins are counted per account and per client address, in
//! the store, so the counts hold across restarts and across instances sharing a database.
//!
//! A few failures are free (typos); then each failure makes the key wait 1, 2, 4… seconds before
//! the next attempt is even checked; then the key is locked for a while. The account key is the
//! username as typed, whether or not it exists, so the answer never tells which usernames exist.

use std::net::IpAddr;

use crate::store::ThrottlePolicy;

/// One account: a handful of guesses an hour, not the thousands a script would like.
pub const PER_ACCOUNT: ThrottlePolicy = ThrottlePolicy {
    free_failures: 3,
    lockout_after: 10,
    lockout: 15 * 60,
    max_delay: 60,
    window: 3600,
};

/// One address may be an office behind NAT: more room, and the same shape.
pub const PER_ADDRESS: ThrottlePolicy = ThrottlePolicy {
    free_failures: 20,
    lockout_after: 100,
    lockout: 15 * 60,
    max_delay: 60,
    window: 3600,
};

/// The counter key of an account: case-folded, so `Alice` and `alice` share one.
pub fn account_key(username: &str) -> String {
    format!("user:{}", username.to_lowercase())
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

/// Every key a login attempt counts against, with its policy.
pub fn keys(username: &str, ip: Option<IpAddr>) -> Vec<(String, ThrottlePolicy)> {
    let mut keys = vec![(account_key(username), PER_ACCOUNT)];
    if let Some(ip) = ip {
        keys.push((address_key(ip), PER_ADDRESS));
    }
    keys
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_grow_then_lock() {
        let now = 1000;
        let waits: Vec<i64> = (1..=11)
            .map(|n| PER_ACCOUNT.blocked_until(n, now) - now)
            .collect();
        assert_eq!(waits, [0, 0, 0, 1, 2, 4, 8, 16, 32, 900, 900]);
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
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::9".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(address_key(a), address_key(b));
        assert_ne!(address_key(a), address_key(c));
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(address_key(mapped), "ip:10.1.2.3");
        assert_eq!(keys("bob", None).len(), 1);
        assert_eq!(keys("bob", Some(mapped)).len(), 2);
    }
}
