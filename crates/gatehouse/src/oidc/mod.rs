//! Protocol rules: pure functions over plain data, no HTTP and no SQL, tested with tables of
//! cases. OpenID Connect Core 1.0, RFC 6749 (OAuth 2.0), RFC 7636 (PKCE), RFC 8628 (device authorization), RFC 9449 (DPoP), RFC 9207 (`iss` in
//! the authorization response), RFC 9700 (OAuth 2.0 security best practice).

pub mod access_token;
pub mod authorize;
pub mod backchannel;
pub mod claims;
pub mod claims_request;
pub mod client_assertion;
pub mod client_auth;
pub mod device;
pub mod dpop;
pub mod error;
pub mod family_token;
pub mod grant;
pub mod keys;
pub mod logout;
pub mod par;
pub mod pkce;
pub mod redirect;
pub mod request_object;
pub mod resource;
pub mod retry;
pub mod scope;
pub mod subject;
pub mod tokens;
pub mod webfinger;

pub use error::OAuthError;
