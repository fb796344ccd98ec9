//! Accounts: password hashing and login sessions.

pub mod passwords;
pub mod session;
