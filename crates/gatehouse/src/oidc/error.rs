//! The one OAuth error type: its variants are the error codes of the specs, and it becomes an
//! HTTP response in exactly one place (`http::error`).

/// An error a client is told about, with the code the spec gives it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}: {}", self.code(), self.description())]
pub enum OAuthError {
    /// RFC 6749 §5.2 / §4.1.2.1: a parameter is missing, repeated or malformed.
    InvalidRequest(String),
    /// RFC 6749 §5.2: client authentication failed.
    InvalidClient(String),
    /// RFC 6749 §5.2: the code or refresh token is invalid, expired, revoked or not this
    /// client's, or the redirect URI or PKCE verifier does not match.
    InvalidGrant(String),
    /// RFC 6749 §5.2: the client may not use this grant type or response type.
    UnauthorizedClient(String),
    /// RFC 6749 §5.2.
    UnsupportedGrantType(String),
    /// RFC 6749 §4.1.2.1.
    UnsupportedResponseType(String),
    /// RFC 6749 §5.2 / §4.1.2.1.
    InvalidScope(String),
    /// RFC 8707 §2: a `resource` is malformed, not one the client may ask for, or not within
    /// the grant.
    InvalidTarget(String),
    /// RFC 6749 §4.1.2.1: the user or the server refused.
    AccessDenied(String),
    /// OpenID Connect Core §3.1.2.6: `prompt=none` but the user must log in.
    LoginRequired(String),
    /// OpenID Connect Core §3.1.2.6: `prompt=none` but the user must consent.
    ConsentRequired(String),
    /// OpenID Connect Core §3.1.2.6: `prompt=none` but the user must do something else first
    /// (confirm their email address, for a client that requires it).
    InteractionRequired(String),
    /// OpenID Connect Core §3.1.2.6, RFC 9101 §7: the request object does not verify, or holds
    /// what a request object may not.
    InvalidRequestObject(String),
    /// OpenID Connect Core §3.1.2.6: the `request_uri` parameter.
    RequestUriNotSupported(String),
    /// OpenID Connect Core §3.1.2.6: the `registration` parameter.
    RegistrationNotSupported(String),
    /// RFC 9101 §7, as RFC 9126 §4 uses it: the `request_uri` names no pushed request of
    /// this client (unknown, used or expired).
    InvalidRequestUri(String),
    /// RFC 7009 §2.2.1: the server cannot revoke this type of token.
    UnsupportedTokenType(String),
    /// RFC 6750 §3.1: the bearer token is invalid.
    InvalidToken(String),
    /// RFC 9449 §5, §7.1: the DPoP proof is missing where it is needed, or is not good for
    /// the request.
    InvalidDpopProof(String),
    /// RFC 9449 §8, §9: the DPoP proof does not carry a current server nonce; the answer
    /// carries one (`DPoP-Nonce`).
    UseDpopNonce(String),
    /// RFC 8628 §3.5: nobody has answered the device's request yet; poll again.
    AuthorizationPending(String),
    /// RFC 8628 §3.5: the device polls too often; poll again, more slowly.
    SlowDown(String),
    /// RFC 8628 §3.5: the device code expired; the device must start again.
    ExpiredToken(String),
    /// RFC 6749 §5.2: the server is overloaded; try again.
    TemporarilyUnavailable(String),
    /// RFC 6749 §4.1.2.1: an unexpected failure. The description never carries internals.
    ServerError(String),
}

impl OAuthError {
    /// The `error` code of the spec.
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::InvalidRequest(_) => "invalid_request",
            OAuthError::InvalidClient(_) => "invalid_client",
            OAuthError::InvalidGrant(_) => "invalid_grant",
            OAuthError::UnauthorizedClient(_) => "unauthorized_client",
            OAuthError::UnsupportedGrantType(_) => "unsupported_grant_type",
            OAuthError::UnsupportedResponseType(_) => "unsupported_response_type",
            OAuthError::InvalidScope(_) => "invalid_scope",
            OAuthError::InvalidTarget(_) => "invalid_target",
            OAuthError::AccessDenied(_) => "access_denied",
            OAuthError::LoginRequired(_) => "login_required",
            OAuthError::ConsentRequired(_) => "consent_required",
            OAuthError::InteractionRequired(_) => "interaction_required",
            OAuthError::InvalidRequestObject(_) => "invalid_request_object",
            OAuthError::RequestUriNotSupported(_) => "request_uri_not_supported",
            OAuthError::RegistrationNotSupported(_) => "registration_not_supported",
            OAuthError::InvalidRequestUri(_) => "invalid_request_uri",
            OAuthError::UnsupportedTokenType(_) => "unsupported_token_type",
            OAuthError::InvalidToken(_) => "invalid_token",
            OAuthError::InvalidDpopProof(_) => "invalid_dpop_proof",
            OAuthError::UseDpopNonce(_) => "use_dpop_nonce",
            OAuthError::AuthorizationPending(_) => "authorization_pending",
            OAuthError::SlowDown(_) => "slow_down",
            OAuthError::ExpiredToken(_) => "expired_token",
            OAuthError::TemporarilyUnavailable(_) => "temporarily_unavailable",
            OAuthError::ServerError(_) => "server_error",
        }
    }

    /// The human-readable `error_description`.
    pub fn description(&self) -> &str {
        match self {
            OAuthError::InvalidRequest(d)
            | OAuthError::InvalidClient(d)
            | OAuthError::InvalidGrant(d)
            | OAuthError::UnauthorizedClient(d)
            | OAuthError::UnsupportedGrantType(d)
            | OAuthError::UnsupportedResponseType(d)
            | OAuthError::InvalidScope(d)
            | OAuthError::InvalidTarget(d)
            | OAuthError::AccessDenied(d)
            | OAuthError::LoginRequired(d)
            | OAuthError::ConsentRequired(d)
            | OAuthError::InteractionRequired(d)
            | OAuthError::InvalidRequestObject(d)
            | OAuthError::RequestUriNotSupported(d)
            | OAuthError::RegistrationNotSupported(d)
            | OAuthError::InvalidRequestUri(d)
            | OAuthError::UnsupportedTokenType(d)
            | OAuthError::InvalidToken(d)
            | OAuthError::InvalidDpopProof(d)
            | OAuthError::UseDpopNonce(d)
            | OAuthError::AuthorizationPending(d)
            | OAuthError::SlowDown(d)
            | OAuthError::ExpiredToken(d)
            | OAuthError::TemporarilyUnavailable(d)
            | OAuthError::ServerError(d) => d,
        }
    }
}

pub fn invalid_request(d: impl Into<String>) -> OAuthError {
    OAuthError::InvalidRequest(d.into())
}
