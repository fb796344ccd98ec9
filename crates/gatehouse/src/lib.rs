//! Gatehouse: an OpenID Connect provider on one embedded SQLite file.
//!
//! Layers, from the outside in: `server` (the one start-up) → `http` (axum handlers, one
//! module per endpoint group) → `oidc` and `auth` (the rules, pure functions that decide) and
//! `store` (role traits in domain terms; `sqlite/` on onewriter and `postgres/` on sqlx, each
//! loading and applying what the rules decide) → `model` (the domain types). The binary
//! (`main.rs`, `cli.rs`) is thin. See `docs/architecture.md`.

#![forbid(unsafe_code)]

pub mod admin;
pub mod auth;
pub mod branding;
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod http;
pub mod keyring;
pub mod logout_sender;
pub mod mail;
pub mod model;
pub mod oidc;
pub mod remote_keys;
pub mod server;
pub mod store;
pub mod text;

pub use http::{AppState, app};
