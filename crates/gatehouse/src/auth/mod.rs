//! Accounts: usernames, password hashing and strength, login sessions, form tokens and
//! brute-force protection.

pub mod forms;
pub mod passwords;
pub mod session;
pub mod throttle;
pub mod username;
