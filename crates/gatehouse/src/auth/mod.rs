//! Accounts: usernames, password hashing and strength, second factors (authenticator apps,
//! recovery codes), passkeys and the policy that asks for them, which of them a person may
//! take away, downloading and removing one's own account, login sessions, form tokens and
//! brute-force protection.

pub mod browsers;
pub mod email_links;
pub mod forms;
pub mod notices;
pub mod own_data;
pub mod own_removal;
pub mod passkeys;
pub mod passwords;
pub mod policy;
pub mod recovery;
pub mod session;
pub mod signup;
pub mod throttle;
pub mod totp;
pub mod username;
pub mod ways_in;
