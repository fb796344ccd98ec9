//! `/token` (RFC 6749 §3.2): the authorization code, refresh token, client credentials and
//! device code (RFC 8628) grants. A request with a DPoP proof (RFC 9449) gets tokens bound to
//! its key (`oidc::dpop`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};

use super::client_auth::{self, Form};
use super::error::{TokenError, internal, no_store};
use super::{AppState, Peer};
use crate::model::{
    AccessTokenFormat, Client, ClientToken, CodeRequest, CustomClaims, Grant, GrantType, NewTokens,
    OneTime, Polled, Redeemed, RefreshAsk, RetryCopy, Rotated, User,
};
use crate::oidc::claims::{self, IdTokenClaims};
use crate::oidc::dpop::{self, Proof};
use crate::oidc::error::invalid_request;
use crate::oidc::family_token::Presented;
use crate::oidc::grant::audit;
use crate::oidc::retry::Successor;
use crate::oidc::{OAuthError, access_token, authorize, grant, resource, scope, tokens};

/// POST /token
pub(super) async fn token(
    State(state): State<AppState>,
    peer: Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    TokenError::answer(
        dispatch(&state, peer, &headers, &body).await,
        "token request",
    )
}

async fn dispatch(
    state: &AppState,
    peer: Peer,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Response, TokenError> {
    // The client assertion and the DPoP proof, if any, are taken once by the grant's own
    // write: a token request is one write.
    let (client, form, assertion) =
        client_auth::authenticated_but_once(state, headers, body).await?;
    let mut once: Vec<OneTime> = assertion.into_iter().collect();
    let proof = super::dpop::proof_but_once(state, headers, ("POST", "/token"), None)
        .await?
        .map(|(proof, jti)| {
            once.push(jti);
            proof
        });
    dpop::demanded(client.dpop_bound_access_tokens, proof.as_ref())
        .map_err(|why| OAuthError::InvalidDpopProof(dpop::Refused(why).to_string()))?;
    let cx = Context {
        state,
        client: &client,
        form: &form,
        peer: &peer,
        proof: proof.as_ref(),
        once: &once,
    };
    let Some(name) = form.get("grant_type")? else {
        return Err(invalid_request("the grant_type parameter is missing").into());
    };
    let Ok(grant_type) = name.parse() else {
        return Err(OAuthError::UnsupportedGrantType(format!(
            "grant_type {name:?} is not supported"
        ))
        .into());
    };
    grant::permitted(&client, grant_type)?;
    match grant_type {
        GrantType::AuthorizationCode => authorization_code(cx).await,
        GrantType::RefreshToken => refresh_token(cx).await,
        GrantType::ClientCredentials => client_credentials(cx).await,
        GrantType::DeviceCode => device_code(cx).await,
    }
}

/// The tokens to store for a grant in the token family `family_id`: an opaque access token
/// (stored hashed) or, for a client that takes JWTs, the `jti` of one (stored under
/// `access_token::key`; the JWT is signed by [`issue_access`] once the grant is known), and a
/// refresh token of that family (`oidc::family_token`) if the client uses them. With a DPoP
/// proof, the access token is bound to its key, and a public client's refresh token too.
async fn new_tokens(
    cx: Context<'_>,
    family_id: String,
    now: i64,
) -> Result<(String, Option<String>, NewTokens), TokenError> {
    let Context { state, client, .. } = cx;
    let access = dpop::bind(tokens::new_access_token(), cx.proof.map(|p| p.jkt.as_str()));
    let refresh = if client.allows_grant(GrantType::RefreshToken) {
        let bound = dpop::refresh_binding(client.is_public(), cx.proof);
        Some(state.family_key().await?.mint(&family_id, bound))
    } else {
        None
    };
    let stored = NewTokens {
        family_id,
        access_token_hash: access_key(client, &access),
        access_expires_at: now + state.config.access_token_ttl,
        refresh_token_hash: refresh.as_deref().map(tokens::hash),
        refresh_expires_at: now + state.config.refresh_token_ttl,
        retry: None,
        once: cx.once.to_vec(),
    };
    Ok((access, refresh, stored))
}

/// Where an access token from [`new_tokens`] is stored.
fn access_key(client: &Client, access: &str) -> String {
    match client.access_token_format {
        AccessTokenFormat::Opaque => tokens::key(access),
        AccessTokenFormat::Jwt => access_token::key(access),
    }
}

/// The access token as the client receives it: the opaque one as it is, or the JWT (RFC 9068)
/// of the `jti`, signed like the client's ID tokens.
async fn issue_access(
    state: &AppState,
    client: &Client,
    user: Option<&User>,
    (scope, resources): (&str, &[String]),
    (access, issued_at, expires_at): (String, i64, i64),
) -> Result<String, TokenError> {
    if client.access_token_format == AccessTokenFormat::Opaque {
        return Ok(access);
    }
    let (groups, identity, subject) = match user {
        Some(u) => {
            let (groups, identity) = about(state, client, u, scope).await?;
            (
                groups,
                identity,
                Some(state.subject_of(client, &u.id).await?),
            )
        }
        None => Default::default(),
    };
    let claims = access_token::claims(&access_token::Issue {
        issuer: &state.config.issuer,
        client_id: &client.client_id,
        subject: subject.as_deref(),
        scope,
        groups: &groups,
        identity: &identity,
        jti: &access,
        issued_at,
        expires_at,
        resources,
    });
    sign(state, client, access_token::TOKEN_TYPE, claims).await
}

/// What an access token of `client` says about `user` for the `granted` scope: their groups
/// when it has `groups`, and the claims the client chose for its access tokens
/// (`claims::for_access_token`), each read only when needed.
pub(super) async fn about(
    state: &AppState,
    client: &Client,
    user: &User,
    granted: &str,
) -> Result<(Vec<String>, serde_json::Map<String, serde_json::Value>), TokenError> {
    let groups = state.group_names(&user.id, granted).await?;
    let chosen = &client.access_token_claims;
    if !claims::access_token_wants_claims(chosen, granted) {
        return Ok((groups, serde_json::Map::new()));
    }
    let custom = if claims::chooses_custom(chosen) {
        state.custom_claims(&user.id, granted).await?
    } else {
        CustomClaims::new()
    };
    let identity =
        claims::for_access_token(claims::scoped(user, &groups, &custom, granted), chosen);
    Ok((groups, identity))
}

/// Signs `claims` with the client's algorithm, off the async threads (an RSA signature takes
/// about a millisecond of CPU).
async fn sign<T: serde::Serialize + Send + 'static>(
    state: &AppState,
    client: &Client,
    typ: &'static str,
    claims: T,
) -> Result<String, TokenError> {
    let signer = state
        .keys
        .signer(
            state.store.as_ref(),
            client.id_token_signed_response_alg,
            state.now(),
        )
        .await
        .map_err(internal)?;
    tokio::task::spawn_blocking(move || signer.sign_typed(typ, &claims))
        .await
        .map_err(internal)?
        .map_err(|e| internal(e).into())
}

/// What every grant works with.
#[derive(Clone, Copy)]
struct Context<'a> {
    state: &'a AppState,
    client: &'a Client,
    form: &'a Form,
    peer: &'a Peer,
    /// The request's DPoP proof, verified.
    proof: Option<&'a Proof>,
    /// The one-time JWTs of the request (its client assertion, its DPoP proof), to take with
    /// the grant's write.
    once: &'a [OneTime],
}

async fn authorization_code(cx: Context<'_>) -> Result<Response, TokenError> {
    let Context {
        state,
        client,
        form,
        ..
    } = cx;
    let code = form.require("code")?;
    let request = CodeRequest {
        client_id: client.client_id.clone(),
        redirect_uri: form.get("redirect_uri")?.map(str::to_owned),
        code_verifier: form.get("code_verifier")?.map(str::to_owned),
        dpop_jkt: cx.proof.map(|p| p.jkt.clone()),
        resources: resource::asked(&form.all("resource"))?,
    };
    let now = state.now();
    let (access, refresh, stored) = new_tokens(cx, tokens::new_id(), now).await?;
    // The code is consumed, the tokens stored and the outcome audited in one transaction,
    // before any token leaves.
    let redeemed = state
        .store
        .redeem_authorization_code(&tokens::hash(code), request, stored, now, cx.peer.0)
        .await??;
    match redeemed {
        Redeemed::Issued(grant) => {
            signed_in(cx, &grant, (access, refresh), now, "authorization_code").await
        }
        Redeemed::Invalid => Err(OAuthError::InvalidGrant(
            "the code is invalid, expired, or does not match this client, redirect_uri or code_verifier".into(),
        )
        .into()),
        Redeemed::Denied { .. } => Err(no_access()),
        Redeemed::OutOfTarget => Err(beyond_grant()),
        Redeemed::Replayed { .. } => {
            tracing::warn!(client_id = %client.client_id, "authorization code replayed; its tokens are revoked");
            metrics::counter!("gatehouse_code_replays_total").increment(1);
            Err(OAuthError::InvalidGrant("the code was already used; the tokens issued with it are revoked".into()).into())
        }
    }
}

/// The answer to a grant that signed a user in (a code, a device): the access token as the
/// client takes it, an ID token when `openid` was granted, the refresh token if any.
async fn signed_in(
    cx: Context<'_>,
    grant: &Grant,
    (access, refresh): (String, Option<String>),
    now: i64,
    how: &'static str,
) -> Result<Response, TokenError> {
    let Context { state, client, .. } = cx;
    let expires_at = now + state.config.access_token_ttl;
    let token_type = token_type(&access);
    let access = issue_access(
        state,
        client,
        Some(&grant.user),
        (&grant.scope, &grant.resources),
        (access, now, expires_at),
    )
    .await?;
    let id_token = if scope::contains(&grant.scope, "openid") {
        Some(id_token(state, client, grant, &access, now).await?)
    } else {
        None
    };
    // Audited by the store, with the grant.
    count_issued(how);
    let expires_in = state.config.access_token_ttl;
    let tokens = Issued {
        token_type,
        access,
        refresh,
        id_token,
    };
    Ok(respond(expires_in, &grant.scope, tokens))
}

/// RFC 8628 §3.4: a device polls with its device code until the person answers.
async fn device_code(cx: Context<'_>) -> Result<Response, TokenError> {
    let Context {
        state,
        client,
        form,
        ..
    } = cx;
    let code = form.require("device_code")?;
    // The device authorization request named the APIs; its first tokens are for all of them,
    // and a refresh may narrow that.
    if !form.all("resource").iter().all(String::is_empty) {
        return Err(OAuthError::InvalidTarget(
            "name the resources in the device authorization request; a refresh may narrow them"
                .into(),
        )
        .into());
    }
    let now = state.now();
    let (access, refresh, stored) = new_tokens(cx, tokens::new_id(), now).await?;
    let polled = state
        .store
        .poll_device_code(
            &tokens::hash(code),
            &client.client_id,
            stored,
            now,
            cx.peer.0,
        )
        .await??;
    match polled {
        Polled::Issued(grant) => signed_in(cx, &grant, (access, refresh), now, "device_code").await,
        Polled::Pending => Err(OAuthError::AuthorizationPending(
            "the user has not answered yet; poll again after the interval".into(),
        )
        .into()),
        Polled::SlowDown { interval } => Err(OAuthError::SlowDown(format!(
            "polling too often; wait at least {interval} seconds between polls"
        ))
        .into()),
        Polled::Denied => {
            Err(OAuthError::AccessDenied("the user refused the device's request".into()).into())
        }
        Polled::NoAccess { .. } => Err(OAuthError::AccessDenied(
            "the user may not use this application; an administrator can give access".into(),
        )
        .into()),
        Polled::Expired => Err(OAuthError::ExpiredToken(
            "the device code expired; start the sign-in again".into(),
        )
        .into()),
        Polled::Invalid => Err(OAuthError::InvalidGrant(
            "the device code is invalid, already used, or not this client's".into(),
        )
        .into()),
    }
}

async fn refresh_token(cx: Context<'_>) -> Result<Response, TokenError> {
    let Context {
        state,
        client,
        form,
        ..
    } = cx;
    let presented = form.require("refresh_token")?;
    // Checked and normalised here, before the store's write transaction sees it: the work
    // done on the writer thread is bounded by what was granted, never by the request.
    let requested = match form.get("scope")? {
        None => None,
        Some(s) => {
            scope::check_syntax(s).map_err(|why| OAuthError::InvalidScope(why.into()))?;
            Some(scope::normalize(s))
        }
    };
    let resources = resource::asked(&form.all("resource"))?;
    // A refresh token bound to a DPoP key is used only with a proof of that key. What it says
    // of its binding is believed because the store finds it by the hash of the whole token.
    dpop::refresh_with(dpop::binding(presented), cx.proof.map(|p| p.jkt.as_str()))
        .map_err(|why| OAuthError::InvalidGrant(why.into()))?;
    let now = state.now();
    let presented = Presented::new(presented, &state.family_key().await?);
    // The new refresh token names the family of the presented one. One of an earlier release
    // names none: its family is read first (a token nobody issued gets a family of its own,
    // and the store finds the token unknown).
    let family_id = match &presented.family_id {
        Some(family) => family.clone(),
        None => state
            .store
            .refresh_token_family(&presented.hash)
            .await?
            .unwrap_or_else(tokens::new_id),
    };
    let presented_hash = presented.hash.clone();
    let (access, refresh, mut stored) = new_tokens(cx, family_id, now).await?;
    let window = state.config.refresh_retry_window;
    if let (Some(refresh), true) = (&refresh, window > 0) {
        // The answer, sealed for a retry of this request (`oidc::retry`).
        let successor = Successor {
            access_token: access.clone(),
            refresh_token: refresh.clone(),
            access_expires_at: stored.access_expires_at,
            access_jwt: client.access_token_format == AccessTokenFormat::Jwt,
            access_issued_at: now,
            resources: resources.clone(),
        };
        let key = state.retry_key().await?;
        stored.retry = Some(RetryCopy {
            sealed: key.seal(&successor, &presented_hash),
            until: now + window,
        });
    }
    match state
        .store
        .rotate_refresh_token(
            &presented,
            &client.client_id,
            RefreshAsk {
                scope: requested,
                resources: resources.clone(),
            },
            stored,
            now,
            cx.peer.0,
        )
        .await??
    {
        // OpenID Connect Core §12.2 lets a refresh response omit the ID token: no signature
        // is spent on it.
        Rotated::Issued(grant) => {
            let expires_at = now + state.config.access_token_ttl;
            let token_type = token_type(&access);
            let access = issue_access(
                state,
                client,
                Some(&grant.user),
                (&grant.scope, &grant.resources),
                (access, now, expires_at),
            )
            .await?;
            // Audited by the store, with the rotation.
            count_issued("refresh_token");
            let expires_in = state.config.access_token_ttl;
            let tokens = Issued {
                token_type,
                access,
                refresh,
                id_token: None,
            };
            Ok(respond(expires_in, &grant.scope, tokens))
        }
        // The same request again (two tabs, a retry after a lost answer): the same answer,
        // nothing new issued.
        Rotated::Retried { sealed, scope } => {
            let key = state.retry_key().await?;
            let Some(successor) = key.open(&sealed, &presented_hash) else {
                return Err(
                    internal("a kept refresh answer does not open with the retry key").into(),
                );
            };
            // The first answer's access token is for the APIs the first request named: a
            // retry naming others is not given it. Nothing changes: the new refresh token
            // the first request got is still the one to use.
            if !successor.repeats(&resources) {
                return Err(OAuthError::InvalidGrant(
                    "the refresh token was already used by a request naming other resources; a retry of it must name the same ones".into(),
                )
                .into());
            }
            metrics::counter!("gatehouse_refresh_retries_total").increment(1);
            let expires_in = (successor.access_expires_at - now).max(0);
            let token_type = token_type(&successor.access_token);
            let access = if successor.access_jwt {
                // The same JWT again: the same claims, read back from the stored grant.
                let key = access_token::key(&successor.access_token);
                let Some(grant) = state.store.access_token(&key, now).await? else {
                    return Err(OAuthError::InvalidGrant(
                        "the refresh token is invalid, expired or revoked".into(),
                    )
                    .into());
                };
                let jwt = Client {
                    access_token_format: AccessTokenFormat::Jwt,
                    ..client.clone()
                };
                let times = (successor.access_issued_at, successor.access_expires_at);
                issue_access(
                    state,
                    &jwt,
                    Some(&grant.user),
                    (&scope, &grant.resources),
                    (successor.access_token, times.0, times.1),
                )
                .await?
            } else {
                successor.access_token
            };
            let tokens = Issued {
                token_type,
                access,
                refresh: Some(successor.refresh_token),
                id_token: None,
            };
            Ok(respond(expires_in, &scope, tokens))
        }
        Rotated::Invalid => Err(OAuthError::InvalidGrant(
            "the refresh token is invalid, expired or revoked".into(),
        )
        .into()),
        Rotated::Denied { .. } => Err(no_access()),
        // Signing in again asks the person to confirm it (`authorize::address_check`).
        Rotated::Unconfirmed { .. } => {
            Err(OAuthError::InvalidGrant(authorize::CONFIRM_AGAIN.into()).into())
        }
        Rotated::ScopeExceeded => Err(OAuthError::InvalidScope(
            "the requested scope exceeds the granted scope".into(),
        )
        .into()),
        Rotated::TargetExceeded => Err(beyond_grant()),
        Rotated::Reused { .. } => {
            tracing::warn!(client_id = %client.client_id, "refresh token reused; its family is revoked");
            metrics::counter!("gatehouse_refresh_reuse_detected_total").increment(1);
            Err(OAuthError::InvalidGrant(
                "the refresh token was already used; its family is revoked".into(),
            )
            .into())
        }
    }
}

/// RFC 6749 §4.4: a confidential client asks for a token for itself, within the scopes it was
/// registered with. No refresh token (§4.4.3) and no ID token: there is no user.
async fn client_credentials(cx: Context<'_>) -> Result<Response, TokenError> {
    let Context {
        state,
        client,
        form,
        ..
    } = cx;
    let granted = grant::client_credentials::decide(client, form.get("scope")?)?;
    let resources = resource::requested(&form.all("resource"), &client.resources)?;
    let now = state.now();
    let access = dpop::bind(tokens::new_access_token(), cx.proof.map(|p| p.jkt.as_str()));
    let token_type = token_type(&access);
    let expires_at = now + state.config.access_token_ttl;
    state
        .store
        .create_client_token(
            ClientToken {
                token_hash: access_key(client, &access),
                client_id: client.client_id.clone(),
                scope: granted.clone(),
                created_at: now,
                expires_at,
                resources: resources.clone(),
            },
            cx.once.to_vec(),
            audit::client_token_issued(
                &audit::Requester {
                    at: now,
                    client_id: &client.client_id,
                    ip: cx.peer.0,
                },
                &granted,
                &resources,
            ),
        )
        .await??;
    let access = issue_access(
        state,
        client,
        None,
        (&granted, &resources),
        (access, now, expires_at),
    )
    .await?;
    count_issued("client_credentials");
    Ok(no_store(
        Json(serde_json::json!({
            "access_token": access,
            "token_type": token_type,
            "expires_in": state.config.access_token_ttl,
            "scope": granted,
        }))
        .into_response(),
    ))
}

/// A grant for a user outside the client's groups: recorded, and refused as the grant's own
/// error (RFC 6749 §5.2 has no `access_denied` for the token endpoint).
/// The refusal of a grant whose person may not use the client (any more).
fn no_access() -> TokenError {
    OAuthError::InvalidGrant(
        "the user may not use this application; an administrator can give access".into(),
    )
    .into()
}

/// The refusal of a token request naming a resource its grant does not cover (RFC 8707 §2.2).
fn beyond_grant() -> TokenError {
    OAuthError::InvalidTarget(
        "a resource asked for is not one the grant covers: ask for it when signing in".into(),
    )
    .into()
}

fn count_issued(how: &'static str) {
    metrics::counter!("gatehouse_tokens_issued_total", "grant" => how).increment(1);
}

async fn id_token(
    state: &AppState,
    client: &Client,
    grant: &Grant,
    access: &str,
    now: i64,
) -> Result<String, TokenError> {
    let groups = state.group_names(&grant.user.id, &grant.scope).await?;
    let custom = state.custom_claims(&grant.user.id, &grant.scope).await?;
    let claims = IdTokenClaims {
        iss: state.config.issuer.clone(),
        sub: state.subject_of(client, &grant.user.id).await?,
        aud: grant.client_id.clone(),
        exp: now + state.config.id_token_ttl,
        iat: now,
        auth_time: grant.auth_time,
        nonce: grant.nonce.clone(),
        at_hash: Some(claims::at_hash(access, client.id_token_signed_response_alg)),
        sid: grant
            .session_id_hash
            .as_deref()
            .map(|hash| crate::oidc::backchannel::sid(hash, client.pairwise_sector.as_deref())),
        acr: grant.amr.level().map(crate::model::AuthPolicy::as_str),
        amr: grant.amr.values(),
        scoped: claims::for_id_token(
            claims::scoped(&grant.user, &groups, &custom, &grant.scope),
            client.id_token_claims.as_deref(),
        ),
    };
    sign(state, client, "JWT", claims).await
}

/// The `token_type` of an access token whose random part (or `jti`) is `raw`: `DPoP` when it
/// is bound to a key (RFC 9449 §5), `Bearer` otherwise.
fn token_type(raw: &str) -> &'static str {
    if dpop::binding(raw).is_some() {
        dpop::SCHEME
    } else {
        "Bearer"
    }
}

/// What a token response carries.
struct Issued {
    token_type: &'static str,
    access: String,
    refresh: Option<String>,
    id_token: Option<String>,
}

fn respond(expires_in: i64, scope: &str, tokens: Issued) -> Response {
    let mut body = serde_json::json!({
        "access_token": tokens.access,
        "token_type": tokens.token_type,
        "expires_in": expires_in,
        "scope": scope,
    });
    if let Some(r) = tokens.refresh {
        body["refresh_token"] = r.into();
    }
    if let Some(t) = tokens.id_token {
        body["id_token"] = t.into();
    }
    no_store(Json(body).into_response())
}
