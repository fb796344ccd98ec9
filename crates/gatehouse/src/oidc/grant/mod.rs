//! The token endpoint's grants as decisions: each takes what the store loaded inside its
//! transaction, the request and the time, and says what to do. No I/O, so each rule is written
//! once, runs the same on every backend, and is tested with tables of cases. The stores only
//! load the rows and apply the decision (see `docs/architecture.md`).

pub mod authorization_code;
pub mod client_credentials;
pub mod device_code;
pub mod refresh_token;
