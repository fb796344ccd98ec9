//! Gatehouse: an OpenID Connect provider on one embedded SQLite file.
//!
//! Layers, from the outside in: `http` (axum handlers, one module per endpoint group) →
//! `store` (the `Store` trait, in domain terms; `SqliteStore` on onewriter) and `oidc` (the
//! protocol rules, pure functions). The binary (`main.rs`, `cli.rs`) is thin.

#![forbid(unsafe_code)]

pub mod admin;
pub mod auth;
pub mod cli;
pub mod clock;
pub mod config;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
pub mod http;
pub mod keyring;
pub mod model;
pub mod oidc;
pub mod server;
pub mod store;
pub mod text;

pub use http::{AppState, app};
