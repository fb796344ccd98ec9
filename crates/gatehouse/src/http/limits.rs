//! How often one address may start something that stores a row until it expires (a device
//! sign-in), kept in memory with governor's GCRA: a burst, then one more every period. An
//! IPv6 address counts with its whole /64, which one host or household usually holds.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use std::sync::Mutex;
use std::time::Instant;

use governor::clock::Clock as _;
use governor::{DefaultKeyedRateLimiter, Quota};

/// Addresses remembered before the ones back at a full burst are forgotten.
const FORGET_ABOVE: usize = 10_000;
/// Forgetting scans every address: at most this often, however many requests arrive.
const FORGET_EVERY: Duration = Duration::from_secs(1);

pub(super) struct StartLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    /// When the addresses were last scanned for ones to forget.
    forgotten_at: Mutex<Option<Instant>>,
}

impl StartLimiter {
    /// `burst` starts at once from one address, then one more every `period`.
    pub(super) fn new(burst: NonZeroU32, period: Duration) -> Self {
        let quota = Quota::with_period(period)
            .unwrap_or_else(|| Quota::per_second(NonZeroU32::MIN))
            .allow_burst(burst);
        StartLimiter {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            forgotten_at: Mutex::new(None),
        }
    }

    /// Whether `addr` may start one more now; if not, the whole seconds to wait. A request
    /// without an address (not over TCP) is not limited.
    ///
    /// # Errors
    /// The seconds until the address may start again.
    pub(super) fn admit(&self, addr: Option<IpAddr>) -> Result<(), u64> {
        let Some(addr) = addr else {
            return Ok(());
        };
        if self.limiter.len() > FORGET_ABOVE {
            self.forget_idle();
        }
        self.limiter.check_key(&key(addr)).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.limiter.clock().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

impl StartLimiter {
    /// Forgets the addresses back at a full burst, unless that was done less than
    /// [`FORGET_EVERY`] ago (or is being done right now by another request).
    fn forget_idle(&self) {
        let Ok(mut at) = self.forgotten_at.try_lock() else {
            return;
        };
        if at.is_some_and(|t| t.elapsed() < FORGET_EVERY) {
            return;
        }
        self.limiter.retain_recent();
        *at = Some(Instant::now());
    }
}

/// The key an address counts under: an IPv4 address (also when mapped into IPv6) as it is, an
/// IPv6 address by its /64.
fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V4(_) => addr,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6((u128::from(v6) & !u128::from(u64::MAX)).into()),
        },
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, reason = "test code")]

    use super::*;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn an_address_gets_its_burst_then_waits_and_others_are_not_affected() {
        let limits = StartLimiter::new(NonZeroU32::new(3).unwrap(), Duration::from_secs(6));
        for _ in 0..3 {
            assert_eq!(limits.admit(ip("192.0.2.1")), Ok(()));
        }
        let wait = limits.admit(ip("192.0.2.1")).unwrap_err();
        assert!((1..=6).contains(&wait), "{wait}");
        assert_eq!(limits.admit(ip("192.0.2.2")), Ok(()), "another address");
        assert_eq!(limits.admit(None), Ok(()), "no address: not limited");
    }

    #[test]
    fn addresses_back_at_a_full_burst_are_forgotten_once_there_are_many() {
        let limits = StartLimiter::new(NonZeroU32::MIN, Duration::from_millis(1));
        for i in 0..=FORGET_ABOVE as u32 {
            assert_eq!(limits.admit(Some(IpAddr::V4(i.into()))), Ok(()));
        }
        assert_eq!(limits.limiter.len(), FORGET_ABOVE + 1);
        std::thread::sleep(Duration::from_millis(20));
        assert_eq!(limits.admit(ip("192.0.2.1")), Ok(()));
        assert!(
            limits.limiter.len() <= 2,
            "{} remembered",
            limits.limiter.len()
        );
    }

    #[test]
    fn an_ipv6_address_counts_with_its_slash_64_and_a_mapped_ipv4_as_itself() {
        let limits = StartLimiter::new(NonZeroU32::new(2).unwrap(), Duration::from_secs(6));
        assert_eq!(limits.admit(ip("2001:db8:1:2::1")), Ok(()));
        assert_eq!(limits.admit(ip("2001:db8:1:2:ffff::9")), Ok(()));
        assert!(limits.admit(ip("2001:db8:1:2::77")).is_err(), "same /64");
        assert_eq!(limits.admit(ip("2001:db8:1:3::1")), Ok(()), "another /64");
        assert_eq!(limits.admit(ip("198.51.100.7")), Ok(()));
        assert_eq!(limits.admit(ip("::ffff:198.51.100.7")), Ok(()));
        assert!(
            limits.admit(ip("198.51.100.7")).is_err(),
            "mapped counts as itself"
        );
    }
}
