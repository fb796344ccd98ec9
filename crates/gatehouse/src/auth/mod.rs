//! Accounts: password hashing, login sessions and brute-force protection.

pub mod passwords;
pub mod session;
pub mod throttle;
