//! Validating an authorization request (RFC 6749 §4.1.1, OpenID Connect Core §3.1.2.1,
//! RFC 7636 §4.3).
//!
//! The order matters: until the client and its redirect URI are known to be good, an error must
//! be shown to the user, never sent to the redirect URI, or gatehouse would be an open
//! redirector (RFC 6749 §4.1.2.1). After that, errors go back to the client by redirect.

use std::collections::HashMap;

use super::OAuthError;
use super::claims_request::{self, ClaimsRequest};
use super::error::invalid_request;
use super::keys::Hint;
use super::{pkce, redirect, resource, scope};
use crate::auth::policy;
use crate::model::{AuthPolicy, Client, GrantType, User};

/// The query parameters of `/authorize`, each kept as given (repeated ones flagged).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params(pub HashMap<String, Vec<String>>);

impl Params {
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in pairs {
            map.entry(k).or_default().push(v);
        }
        Params(map)
    }

    /// Every value of a parameter that may be repeated, such as `resource` (RFC 8707 §2).
    pub fn all(&self, name: &str) -> &[String] {
        self.0.get(name).map_or(&[], Vec::as_slice)
    }

    /// RFC 6749 §3.1: parameters must not be repeated; empty ones count as absent.
    ///
    /// # Errors
    /// `invalid_request` when the parameter is repeated.
    pub fn one(&self, name: &str) -> Result<Option<&str>, OAuthError> {
        match self.0.get(name).map(Vec::as_slice) {
            None => Ok(None),
            Some([v]) if v.is_empty() => Ok(None),
            Some([v]) => Ok(Some(v.as_str())),
            Some(_) => Err(invalid_request(format!("the {name} parameter is repeated"))),
        }
    }
}

/// `prompt` (OpenID Connect Core §3.1.2.1): a space-delimited set of the values gatehouse
/// supports; `none` stands alone.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Prompt {
    /// Show no page: succeed with an existing session or fail with `login_required`.
    pub none: bool,
    /// Ask for the password even if a session exists.
    pub login: bool,
    /// Ask for consent even if it was given before.
    pub consent: bool,
    /// Let the person choose the account to sign in with (`select_account`): a browser holds
    /// one session, so the choice is made on the login form, the signed-in person's name
    /// already typed in it, as for `login`.
    pub select_account: bool,
}

impl Prompt {
    /// Whether the login form is shown even to a browser with a session that would do.
    pub fn asks_who(&self) -> bool {
        self.login || self.select_account
    }
}

impl Prompt {
    /// Parses the parameter's value. `Err` says why, for the `error_description`.
    ///
    /// # Errors
    /// An unknown value, or `none` together with another value (OpenID Connect Core §3.1.2.1).
    pub fn parse(value: &str) -> Result<Prompt, String> {
        let mut prompt = Prompt::default();
        for v in value.split(' ').filter(|v| !v.is_empty()) {
            match v {
                "none" => prompt.none = true,
                "login" => prompt.login = true,
                "consent" => prompt.consent = true,
                "select_account" => prompt.select_account = true,
                other => {
                    return Err(format!(
                        "prompt {other:?} is not supported; use none, login, consent or \
                         select_account"
                    ));
                }
            }
        }
        if prompt.none && (prompt.login || prompt.consent || prompt.select_account) {
            return Err("prompt=none cannot be combined with other values".into());
        }
        Ok(prompt)
    }
}

/// A validated authorization request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeRequest {
    pub client_id: String,
    /// What people see the client called (its display name, else its id).
    pub client_name: String,
    /// The client is the operator's own: no consent page.
    pub first_party: bool,
    pub redirect_uri: String,
    pub scope: String,
    pub state: Option<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    pub prompt: Prompt,
    pub max_age: Option<i64>,
    /// What the client requires of a sign-in (its authentication policy).
    pub auth_policy: AuthPolicy,
    /// The client requires a confirmed email address ([`address_check`]).
    pub require_confirmed_address: bool,
    /// What the request asked for with `acr_values` or the `claims` parameter's `acr`, if it
    /// named a value gatehouse knows (the stricter, when both did).
    pub acr: Option<AuthPolicy>,
    /// Who alone may answer, when the `claims` parameter asked for a `sub` with a value
    /// ([`may_answer`]): as the client knows them, pairwise or not.
    pub sub: Option<String>,
    /// The client's sector when its subjects are pairwise (`oidc::subject`): what the `sub`s
    /// it sends back and is given are made with.
    pub pairwise_sector: Option<String>,
    pub response_mode: ResponseMode,
    /// Who the client expects to sign in (`login_hint`), as the login form may show it
    /// ([`login_hint`]).
    pub login_hint: Option<String>,
    /// An ID token naming who the client expects to be signed in (`id_token_hint`), as sent:
    /// verified against this server's keys before it is used ([`hinted`]).
    pub id_token_hint: Option<String>,
    /// The thumbprint of the DPoP key the code is to be bound to (`dpop_jkt`, RFC 9449 §10).
    pub dpop_jkt: Option<String>,
    /// The languages the application says the person prefers (`ui_locales`), as the pages
    /// may take them ([`ui_locales`]).
    pub ui_locales: Vec<String>,
    /// The APIs the grant is to cover (`resource`, RFC 8707 §2), each registered for the
    /// client (`oidc::resource::requested`): kept with the code.
    pub resources: Vec<String>,
}

/// The most languages of a `ui_locales` kept: pages look at no more.
pub const MOST_UI_LOCALES: usize = 16;

/// The longest language tag kept: RFC 5646 §4.4.1 asks implementations to take tags of at
/// least 35 characters, and longer ones are not in use.
const LONGEST_LOCALE: usize = 35;

/// `ui_locales` (OpenID Connect Core §3.1.2.1; also RP-Initiated Logout 1.0 §2): the person's
/// preferred languages, space-separated, most preferred first, as the pages may take them: at
/// most [`MOST_UI_LOCALES`], each only if it could be a language tag (ASCII letters, digits and
/// hyphens, starting with a letter, at most 35 characters). Anything else is skipped, never
/// refused: a language that cannot be had is no reason to fail a sign-in.
pub fn ui_locales(value: Option<&str>) -> Vec<String> {
    value
        .unwrap_or_default()
        .split_ascii_whitespace()
        .filter(|tag| {
            tag.len() <= LONGEST_LOCALE
                && tag.starts_with(|c: char| c.is_ascii_alphabetic())
                && tag.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
        .take(MOST_UI_LOCALES)
        .map(str::to_owned)
        .collect()
}

/// The longest username a person signs in with, in characters (as the login form reads one).
pub const MAX_USERNAME: usize = 64;

/// `login_hint` (OpenID Connect Core §3.1.2.1) as the login form may show it, already typed:
/// trimmed, and only what could be a username, [`MAX_USERNAME`] characters at most and no
/// control character. Anything else is no hint: a hint is never a reason to refuse a request.
pub fn login_hint(value: Option<&str>) -> Option<String> {
    let hint = value?.trim();
    let fits = !hint.is_empty()
        && hint.chars().count() <= MAX_USERNAME
        && !hint.chars().any(char::is_control);
    fits.then(|| hint.to_owned())
}

/// A username as the login form sent it, as it is looked up, counted and audited: trimmed and
/// cut to [`MAX_USERNAME`] characters (a longer one cannot match, and cut it cannot bloat the
/// throttle table or the audit log either), each control character replaced (such a name
/// matches nobody and is counted like any wrong name; PostgreSQL's text cannot hold a NUL).
pub fn typed_username(typed: &str) -> String {
    typed
        .trim()
        .chars()
        .take(MAX_USERNAME)
        .map(|c| {
            if c.is_control() {
                char::REPLACEMENT_CHARACTER
            } else {
                c
            }
        })
        .collect()
}

/// A verified `id_token_hint` as a request of `client_id` may use it (OpenID Connect Core
/// §3.1.2.1): an ID token this server issued to that client.
///
/// # Errors
/// `invalid_request` for a hint issued to another client.
pub fn hint_for(hint: Hint, client_id: &str) -> Result<Hint, OAuthError> {
    if hint.audiences.iter().any(|a| a == client_id) {
        Ok(hint)
    } else {
        Err(invalid_request(
            "the id_token_hint was not issued to this client",
        ))
    }
}

/// Whether the person signed in, whose `sub` for the request's client is `sub`
/// (`oidc::subject`), may answer a request whose `id_token_hint` is `hint` ([`hint_for`]):
/// without a hint, anyone; with one, only the person it names, so that a silent sign-in
/// (`prompt=none`) meant for one person never answers for another who shares the browser.
pub fn hinted(hint: Option<&Hint>, sub: &str) -> bool {
    hint.is_none_or(|h| h.sub == sub)
}

/// Whether the person signed in, whose `sub` for the request's client is `sub`, may be given
/// a code for `request`: when its `claims` parameter asked for a `sub` with a value, only that
/// person, whoever else is signed in or signs in (OpenID Connect Core §5.5.1: no ID token or
/// access token for another).
pub fn may_answer(request: &AuthorizeRequest, sub: &str) -> bool {
    request.sub.as_deref().is_none_or(|asked| asked == sub)
}

/// How the response goes back to the client's redirect URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResponseMode {
    /// In the redirect's query (the default of the `code` response type).
    #[default]
    Query,
    /// In the redirect's fragment (OAuth 2.0 Multiple Response Type Encoding Practices §2.1):
    /// a browser never sends a fragment, so the code reaches the page's script and not the
    /// application's web server, its logs or a `Referer`; what single-page apps such as
    /// keycloak-js ask for.
    Fragment,
    /// Posted by the browser, as the fields of a form that sends itself (OAuth 2.0 Form Post
    /// Response Mode): the code is in no address, history or log of a URL.
    FormPost,
}

impl ResponseMode {
    /// The mode `response_mode` names, when it names one gatehouse gives.
    fn named(value: Option<&str>) -> Option<ResponseMode> {
        match value {
            None | Some("query") => Some(ResponseMode::Query),
            Some("fragment") => Some(ResponseMode::Fragment),
            Some("form_post") => Some(ResponseMode::FormPost),
            Some(_) => None,
        }
    }
}

impl AuthorizeRequest {
    /// What a sign-in for this request must prove, before the person's groups are known: the
    /// client's policy or what `acr_values` asked, whichever is stricter.
    pub fn required(&self) -> AuthPolicy {
        policy::required(self.auth_policy, [], self.acr)
    }
}

/// Why a request was refused, and where the refusal goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Shown on a page: the client or redirect URI cannot be trusted.
    Page(OAuthError),
    /// Sent to the (validated) redirect URI with the request's `state`, as the request asked.
    Redirect {
        redirect_uri: String,
        state: Option<String>,
        error: OAuthError,
        response_mode: ResponseMode,
    },
}

/// Step one: which client, and which redirect URI. Errors here are shown on a page.
///
/// # Errors
/// `invalid_request` when `client_id` is missing or a parameter is repeated.
pub fn client_and_redirect(params: &Params) -> Result<(&str, Option<&str>), OAuthError> {
    let client_id = params
        .one("client_id")?
        .ok_or_else(|| invalid_request("the client_id parameter is missing"))?;
    Ok((client_id, params.one("redirect_uri")?))
}

/// How an authorization request reached this check, which its parameters cannot say: what a
/// client that requires pushed or signed requests is held to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Came {
    /// From the browser, as anyone may write it: the address, or a form.
    Browser,
    /// As a request object its client signed, verified (`oidc::request_object`).
    Signed,
    /// Pushed by its client, authenticated, at `/par` (`signed`: as a request object).
    Pushed { signed: bool },
    /// Accepted by this check before, as it came then, and unchanged since: a pushed request
    /// taken at `/authorize`, or a request the sign-in carries under its seal (`oidc::par::SEAL`).
    Accepted,
}

impl Came {
    fn pushed(self) -> bool {
        matches!(self, Came::Pushed { .. } | Came::Accepted)
    }

    fn signed(self) -> bool {
        matches!(
            self,
            Came::Signed | Came::Pushed { signed: true } | Came::Accepted
        )
    }
}

/// Step two, given the registered client and how the request came: everything else.
///
/// # Errors
/// `Refusal::Page` when the redirect URI cannot be trusted (shown to the person);
/// `Refusal::Redirect` for everything else (sent to the client).
pub fn validate(params: &Params, client: &Client, came: Came) -> Result<AuthorizeRequest, Refusal> {
    let page = Refusal::Page;
    let (_, redirect_uri) = client_and_redirect(params).map_err(page)?;
    // OpenID Connect Core §3.1.2.1: redirect_uri is required, and RFC 9700 §4.1.3 wants an
    // exact match against a registered one.
    let redirect_uri = redirect_uri
        .ok_or_else(|| invalid_request("the redirect_uri parameter is missing"))
        .map_err(page)?;
    if !redirect::is_registered(redirect_uri, &client.redirect_uris) {
        return Err(Refusal::Page(invalid_request(
            "the redirect_uri is not registered for this client",
        )));
    }
    // From here on, errors go back to the client.
    let state = params.one("state").ok().flatten().map(str::to_owned);
    // A refusal goes back as the request asked, when it asked for a mode gatehouse gives.
    let response_mode = params
        .one("response_mode")
        .ok()
        .and_then(ResponseMode::named)
        .unwrap_or_default();
    let refuse = |error: OAuthError| Refusal::Redirect {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        response_mode,
    };
    if client.require_pushed_authorization_requests && !came.pushed() {
        // RFC 9126 §6: the client's requests come pushed, or not at all.
        return Err(refuse(invalid_request(
            "this client's authorization requests must be pushed (PAR): start signing in again \
             from the application",
        )));
    }
    if client.require_signed_request_object && !came.signed() {
        // RFC 9101 §10.5: the client's requests come as request objects, or not at all.
        return Err(refuse(invalid_request(
            "this client's authorization requests must be signed (a request object): start \
             signing in again from the application",
        )));
    }
    rest(params, client, redirect_uri, state.clone()).map_err(refuse)
}

fn rest(
    params: &Params,
    client: &Client,
    redirect_uri: &str,
    state: Option<String>,
) -> Result<AuthorizeRequest, OAuthError> {
    params.one("state")?;
    match params.one("response_type")? {
        None => return Err(invalid_request("the response_type parameter is missing")),
        Some("code") => {}
        Some(other) => {
            return Err(OAuthError::UnsupportedResponseType(format!(
                "response_type {other:?} is not supported; use code"
            )));
        }
    }
    super::grant::permitted(client, GrantType::AuthorizationCode)?;
    let mode = params.one("response_mode")?;
    let Some(response_mode) = ResponseMode::named(mode) else {
        return Err(invalid_request(format!(
            "response_mode {:?} is not supported; use query, fragment or form_post",
            mode.unwrap_or_default()
        )));
    };
    // A request object was read where the request began (`oidc::request_object`): one here
    // was put into a later step's form.
    if params.one("request")?.is_some() {
        return Err(invalid_request(
            "a request object is read only at /authorize and /par: start signing in again from \
             the application",
        ));
    }
    // OpenID Connect Core §3.1.2.6 gives each of these its own error code.
    if params.one("request_uri")?.is_some() {
        return Err(OAuthError::RequestUriNotSupported(
            "the request_uri parameter is not supported".into(),
        ));
    }
    if params.one("registration")?.is_some() {
        return Err(OAuthError::RegistrationNotSupported(
            "the registration parameter is not supported; clients are registered by an operator"
                .into(),
        ));
    }
    let scopes = user_scopes(params.one("scope")?.unwrap_or(""), client)?;
    let resources = resource::requested(params.all("resource"), &client.resources)?;

    let challenge = params.one("code_challenge")?;
    let method = params.one("code_challenge_method")?;
    let code_challenge = match (challenge, method) {
        (None, None) if client.is_public() => {
            // RFC 9700 §2.1.1: public clients must use PKCE.
            return Err(invalid_request(
                "a public client must send a PKCE code_challenge (S256)",
            ));
        }
        (None, None) => None,
        (None, Some(_)) => {
            return Err(invalid_request(
                "code_challenge_method without code_challenge",
            ));
        }
        (Some(c), Some("S256")) => {
            if !pkce::is_valid_challenge(c) {
                return Err(invalid_request(
                    "the code_challenge is not a base64url SHA-256",
                ));
            }
            Some(c.to_owned())
        }
        // RFC 7636 §4.3 defaults to plain, which we refuse, as we refuse it by name.
        (Some(_), None | Some("plain")) => {
            return Err(invalid_request(
                "PKCE method plain is not supported; use S256",
            ));
        }
        (Some(_), Some(m)) => {
            return Err(invalid_request(format!(
                "unknown code_challenge_method {m:?}"
            )));
        }
    };

    let prompt = match params.one("prompt")? {
        None => Prompt::default(),
        Some(p) => Prompt::parse(p).map_err(invalid_request)?,
    };
    let max_age = match params.one("max_age")? {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|n| *n >= 0)
                .ok_or_else(|| invalid_request("max_age must be a non-negative integer"))?,
        ),
    };
    let nonce = params.one("nonce")?.map(str::to_owned);
    if nonce.as_ref().is_some_and(|n| n.len() > 512) {
        return Err(invalid_request("the nonce is longer than 512 characters"));
    }
    if state.as_ref().is_some_and(|s| s.len() > 2048) {
        return Err(invalid_request("the state is longer than 2048 characters"));
    }
    let claims = match params.one("claims")? {
        None => ClaimsRequest::default(),
        Some(claims) => claims_request::parse(claims).map_err(invalid_request)?,
    };
    let dpop_jkt = params.one("dpop_jkt")?;
    if dpop_jkt.is_some_and(|k| !super::dpop::is_thumbprint(k)) {
        return Err(invalid_request(
            "dpop_jkt is not a key's thumbprint (a base64url SHA-256)",
        ));
    }
    Ok(AuthorizeRequest {
        response_mode,
        client_id: client.client_id.clone(),
        client_name: client.display_name().to_owned(),
        first_party: client.first_party,
        redirect_uri: redirect_uri.to_owned(),
        scope: scopes.join(" "),
        state,
        nonce,
        code_challenge,
        prompt,
        max_age,
        auth_policy: client.auth_policy,
        require_confirmed_address: client.require_confirmed_address,
        acr: params
            .one("acr_values")?
            .and_then(policy::requested)
            .max(claims.acr),
        sub: claims.sub,
        pairwise_sector: client.pairwise_sector.clone(),
        login_hint: login_hint(params.one("login_hint")?),
        id_token_hint: params.one("id_token_hint")?.map(str::to_owned),
        dpop_jkt: dpop_jkt.map(str::to_owned),
        ui_locales: ui_locales(params.one("ui_locales")?),
        resources,
    })
}

/// The scopes a client asks a person for (at `/authorize`, or a device's request): well
/// formed, each registered for the client, at least one, and none that only a client gets for
/// itself. Returned in order, without repeats, ready to join.
///
/// # Errors
/// `invalid_scope` saying which rule the request broke.
pub fn user_scopes<'a>(requested: &'a str, client: &Client) -> Result<Vec<&'a str>, OAuthError> {
    scope::check_syntax(requested).map_err(|why| OAuthError::InvalidScope(why.into()))?;
    let scopes = scope::check(requested, &client.scopes).map_err(|s| {
        OAuthError::InvalidScope(format!(
            "scope {s:?} is unknown or not allowed for this client"
        ))
    })?;
    if scopes.is_empty() {
        return Err(OAuthError::InvalidScope(
            "no scope requested; ask for at least openid".into(),
        ));
    }
    if let Some(s) = scopes.iter().find(|s| scope::CLIENT_ONLY.contains(s)) {
        return Err(OAuthError::InvalidScope(format!(
            "scope {s:?} is granted only to a client for itself (client_credentials)"
        )));
    }
    Ok(scopes)
}

/// What becomes of a person who signed in, as far as their email address goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AddressCheck {
    /// Nothing to confirm: go on.
    GoOn,
    /// Ask the person to confirm their address first; nothing is given meanwhile.
    AskToConfirm,
    /// Their account signs in only with an address at some domains, and theirs is at none of
    /// them: confirming it would not help; they change it first. Nothing is given meanwhile.
    ChangeAddress,
    /// Nobody may be asked (`prompt=none`): the client is told so.
    Refuse(OAuthError),
}

/// The person's address as the address rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressOf<'a> {
    pub email: &'a str,
    /// `email_verified`.
    pub confirmed: bool,
    /// The domains their account signs in to applications with a confirmed address at (its
    /// sign-up link's, `auth::signup::address_fits`); empty: no such rule.
    pub account_domains: &'a [String],
}

impl<'a> AddressOf<'a> {
    /// `user`'s address, their account's rule being `account_domains`.
    pub fn of(user: &'a User, account_domains: &'a [String]) -> Self {
        AddressOf {
            email: &user.email,
            confirmed: user.email_verified,
            account_domains,
        }
    }
}

/// What a token request or `/userinfo` is told where [`address_still_holds`] does not.
pub const CONFIRM_AGAIN: &str =
    "the user must confirm their email address first; signing in again asks them to";

/// Whether the address rules still let a client that was given tokens for a person with the
/// address `of` be given more (a refresh, `/userinfo`): [`address_check`] with nobody to ask.
/// An address changed since the sign-in, or a rule set since, holds the client back until the
/// person confirms it.
pub fn address_still_holds(client_requires: bool, of: AddressOf<'_>) -> bool {
    address_check(client_requires, of, false) == AddressCheck::GoOn
}

/// Whether a person with the address `of` may go on to a client that requires a confirmed
/// address or not (`client_requires`), where they may be asked something or not
/// (`prompt=none`: `may_ask` false; OpenID Connect Core §3.1.2.6). A confirmed address is
/// needed where the client requires one or the account has domains of its own, and then, for
/// such an account, one at those domains. Otherwise nobody is held back: an unconfirmed address
/// is given as such (`email_verified` false) and the client decides.
pub fn address_check(client_requires: bool, of: AddressOf<'_>, may_ask: bool) -> AddressCheck {
    let fits = crate::auth::signup::address_fits(of.account_domains, of.email);
    let needed = client_requires || !of.account_domains.is_empty();
    if !needed || (fits && of.confirmed) {
        return AddressCheck::GoOn;
    }
    if !may_ask {
        return AddressCheck::Refuse(OAuthError::InteractionRequired(
            "the user must confirm their email address first".into(),
        ));
    }
    if fits {
        AddressCheck::AskToConfirm
    } else {
        AddressCheck::ChangeAddress
    }
}

/// OpenID Connect Core §3.1.2.1: whether a session that authenticated at `auth_time` is recent
/// enough for `max_age`, at `now`.
pub fn session_satisfies(max_age: Option<i64>, auth_time: i64, now: i64) -> bool {
    max_age.is_none_or(|max| now - auth_time <= max)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn client(public: bool) -> Client {
        Client {
            redirect_uris: vec!["https://app.example/cb".into()],
            // `admin` is registered, yet never granted through this endpoint.
            scopes: ["openid", "profile", "email", "offline_access", "admin"]
                .map(String::from)
                .to_vec(),
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            first_party: true,
            ..Client::example("app", public)
        }
    }

    fn params(extra: &[(&str, &str)]) -> Params {
        let mut pairs = vec![
            ("client_id", "app"),
            ("redirect_uri", "https://app.example/cb"),
            ("response_type", "code"),
            ("scope", "openid profile"),
            ("state", "xyz"),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ];
        for (k, v) in extra {
            pairs.retain(|(pk, _)| pk != k);
            if !v.is_empty() {
                pairs.push((k, v));
            }
        }
        Params::from_pairs(
            pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        )
    }

    fn code(r: &Result<AuthorizeRequest, Refusal>) -> String {
        match r {
            Ok(_) => "ok".into(),
            Err(Refusal::Page(e)) => format!("page:{}", e.code()),
            Err(Refusal::Redirect { error, state, .. }) => {
                format!(
                    "redirect:{}:{}",
                    error.code(),
                    state.as_deref().unwrap_or("-")
                )
            }
        }
    }

    #[test]
    fn a_refusal_goes_back_as_the_request_asked() {
        let client = client(false);
        let mode = |extra: &[(&str, &str)]| match validate(&params(extra), &client, Came::Browser) {
            Err(Refusal::Redirect { response_mode, .. }) => response_mode,
            other => panic!("{other:?}"),
        };
        let bad = ("prompt", "sometimes");
        assert_eq!(
            mode(&[bad, ("response_mode", "form_post")]),
            ResponseMode::FormPost
        );
        assert_eq!(
            mode(&[bad, ("response_mode", "fragment")]),
            ResponseMode::Fragment
        );
        assert_eq!(mode(&[bad]), ResponseMode::Query);
        // A mode gatehouse does not give is refused the default way.
        assert_eq!(mode(&[("response_mode", "jwt")]), ResponseMode::Query);
    }

    #[test]
    fn validation_table() {
        // (changed parameters, public client, outcome)
        type Case<'a> = (&'a [(&'a str, &'a str)], bool, &'a str);
        let cases: Vec<Case> = vec![
            (&[], true, "ok"),
            (&[], false, "ok"),
            (&[("redirect_uri", "")], true, "page:invalid_request"),
            (
                &[("redirect_uri", "https://app.example/cb/")],
                true,
                "page:invalid_request",
            ),
            (
                &[("redirect_uri", "https://evil.example/cb")],
                true,
                "page:invalid_request",
            ),
            (
                &[("response_type", "token")],
                true,
                "redirect:unsupported_response_type:xyz",
            ),
            (
                &[("response_type", "")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (
                &[("scope", "openid admin")],
                true,
                "redirect:invalid_scope:xyz",
            ),
            (&[("scope", "")], true, "redirect:invalid_scope:xyz"),
            (
                &[("code_challenge", ""), ("code_challenge_method", "")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (
                &[("code_challenge", ""), ("code_challenge_method", "")],
                false,
                "ok",
            ),
            (
                &[("code_challenge_method", "plain")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (
                &[("code_challenge_method", "")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (
                &[("code_challenge", "abc")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (&[("prompt", "consent")], true, "ok"),
            (&[("prompt", "select_account")], true, "ok"),
            (&[("prompt", "select_account consent")], true, "ok"),
            (
                &[("prompt", "none select_account")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (
                &[("prompt", "create")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (
                &[("prompt", "none login")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (&[("max_age", "-1")], true, "redirect:invalid_request:xyz"),
            (&[("max_age", "ten")], true, "redirect:invalid_request:xyz"),
            (
                &[("response_mode", "jwt")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (&[("response_mode", "query")], true, "ok"),
            (&[("response_mode", "fragment")], true, "ok"),
            (&[("response_mode", "form_post")], true, "ok"),
            (
                &[("request", "eyJ...")],
                true,
                "redirect:invalid_request:xyz",
            ),
            (
                &[("request_uri", "https://app.example/r")],
                true,
                "redirect:request_uri_not_supported:xyz",
            ),
            (
                &[("registration", "{}")],
                true,
                "redirect:registration_not_supported:xyz",
            ),
            (&[("prompt", "login consent")], true, "ok"),
            (&[("state", "")], true, "ok"),
        ];
        for (extra, public, expected) in cases {
            let got = code(&validate(&params(extra), &client(public), Came::Browser));
            assert_eq!(got, expected, "{extra:?} public={public}");
        }
    }

    #[test]
    fn a_client_that_requires_pushed_or_signed_requests_takes_only_those() {
        let (pushed, signed) = (
            Client {
                require_pushed_authorization_requests: true,
                ..client(false)
            },
            Client {
                require_signed_request_object: true,
                ..client(false)
            },
        );
        let both = Client {
            require_pushed_authorization_requests: true,
            ..signed.clone()
        };
        let refused = "redirect:invalid_request:xyz";
        let unsigned_push = Came::Pushed { signed: false };
        let signed_push = Came::Pushed { signed: true };
        let cases = [
            (&pushed, Came::Browser, refused),
            (&pushed, Came::Signed, refused),
            (&pushed, unsigned_push, "ok"),
            (&pushed, Came::Accepted, "ok"),
            (&signed, Came::Browser, refused),
            (&signed, unsigned_push, refused),
            (&signed, Came::Signed, "ok"),
            (&signed, signed_push, "ok"),
            (&signed, Came::Accepted, "ok"),
            (&both, Came::Signed, refused),
            (&both, unsigned_push, refused),
            (&both, signed_push, "ok"),
            (&both, Came::Accepted, "ok"),
        ];
        for (c, came, expected) in cases {
            let got = code(&validate(&params(&[]), c, came));
            assert_eq!(
                got, expected,
                "pushed={} signed={} came={came:?}",
                c.require_pushed_authorization_requests, c.require_signed_request_object
            );
        }
        for came in [
            Came::Browser,
            Came::Signed,
            unsigned_push,
            signed_push,
            Came::Accepted,
        ] {
            assert_eq!(code(&validate(&params(&[]), &client(false), came)), "ok");
        }
        // An untrusted redirect URI is still shown on a page, however the request came.
        let elsewhere = params(&[("redirect_uri", "https://evil.example/cb")]);
        for c in [&pushed, &signed] {
            assert_eq!(
                code(&validate(&elsewhere, c, Came::Browser)),
                "page:invalid_request"
            );
        }
    }

    #[test]
    fn a_repeated_parameter_is_refused() {
        let mut p = params(&[]);
        p.0.get_mut("scope").unwrap().push("email".into());
        assert_eq!(
            code(&validate(&p, &client(true), Came::Browser)),
            "redirect:invalid_request:xyz"
        );
        let mut p = params(&[]);
        p.0.get_mut("redirect_uri")
            .unwrap()
            .push("https://app.example/cb".into());
        assert_eq!(
            code(&validate(&p, &client(true), Came::Browser)),
            "page:invalid_request"
        );
    }

    #[test]
    fn ui_locales_are_the_tags_that_could_be_languages_and_never_a_refusal() {
        let too_long = "x".repeat(LONGEST_LOCALE + 1);
        let cases: &[(Option<&str>, &[&str])] = &[
            (None, &[]),
            (Some(""), &[]),
            (Some("   "), &[]),
            (Some("de"), &["de"]),
            (Some("de-CH fr-CA  en"), &["de-CH", "fr-CA", "en"]),
            (Some("\tde\nen "), &["de", "en"]),
            (Some("zh-Hant-TW"), &["zh-Hant-TW"]),
            // Not language tags: skipped, the rest kept.
            (Some("de;q=0.5 en"), &["en"]),
            (Some("<script> de"), &["de"]),
            (Some("-de 1de de_CH de"), &["de"]),
            (Some("dé en"), &["en"]),
            (Some(too_long.as_str()), &[]),
        ];
        for (given, expected) in cases {
            assert_eq!(ui_locales(*given), *expected, "{given:?}");
        }
        let many = "fr ".repeat(5_000);
        assert_eq!(ui_locales(Some(&many)).len(), MOST_UI_LOCALES);

        // In a request: kept, whatever it says, and never refused.
        let r = validate(
            &params(&[("ui_locales", "de-CH de en")]),
            &client(true),
            Came::Browser,
        );
        assert_eq!(r.unwrap().ui_locales, ["de-CH", "de", "en"]);
        let r = validate(
            &params(&[("ui_locales", "!!")]),
            &client(true),
            Came::Browser,
        );
        assert!(r.unwrap().ui_locales.is_empty());
    }

    #[test]
    fn a_typed_username_is_trimmed_cut_and_without_control_characters() {
        let long = "a".repeat(MAX_USERNAME);
        let longer = format!("{long}bcd");
        for (typed, read) in [
            ("ada", "ada"),
            ("  ada@example.com \t", "ada@example.com"),
            ("", ""),
            (long.as_str(), long.as_str()),
            (longer.as_str(), long.as_str()),
            ("ada\u{0}", "ada\u{fffd}"),
            ("ad\na", "ad\u{fffd}a"),
            ("ÄDA", "ÄDA"),
        ] {
            assert_eq!(typed_username(typed), read, "{typed:?}");
        }
        let wide = "é".repeat(MAX_USERNAME + 5);
        assert_eq!(typed_username(&wide).chars().count(), MAX_USERNAME);
    }

    #[test]
    fn a_login_hint_is_what_could_be_a_username_or_nothing() {
        let long = "a".repeat(MAX_USERNAME);
        let longer = "a".repeat(MAX_USERNAME + 1);
        for (given, hint) in [
            (None, None),
            (Some("ada"), Some("ada")),
            (Some("  ada@example.com "), Some("ada@example.com")),
            (Some(long.as_str()), Some(long.as_str())),
            (Some(longer.as_str()), None),
            (Some("   "), None),
            (Some("ada\u{0}"), None),
            (Some("ada\nbob"), None),
            (Some("\"><script>"), Some("\"><script>")),
        ] {
            assert_eq!(login_hint(given).as_deref(), hint, "{given:?}");
        }
        // Carried in the request; an unusable one refuses nothing.
        let r = validate(
            &params(&[("login_hint", "ada")]),
            &client(true),
            Came::Browser,
        );
        assert_eq!(r.unwrap().login_hint.as_deref(), Some("ada"));
        let r = validate(
            &params(&[("login_hint", &longer)]),
            &client(true),
            Came::Browser,
        );
        assert_eq!(r.unwrap().login_hint, None);
    }

    #[test]
    fn an_id_token_hint_lets_only_the_person_it_names_answer() {
        let hint = |sub: &str, audiences: &[&str]| Hint {
            sub: sub.into(),
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
        };
        let ada = hint("ada-id", &["app"]);
        let shared = hint("ada-id", &["other", "app"]);
        let elsewhere = hint("ada-id", &["other"]);
        for (hint, user, expected) in [
            (None, "ada-id", true),
            (None, "bob-id", true),
            (Some(&ada), "ada-id", true),
            (Some(&ada), "bob-id", false),
        ] {
            assert_eq!(hinted(hint, user), expected, "{hint:?} {user}");
        }
        assert_eq!(hint_for(shared.clone(), "app"), Ok(shared));
        assert_eq!(hint_for(ada.clone(), "app"), Ok(ada));
        assert!(matches!(
            hint_for(elsewhere, "app"),
            Err(OAuthError::InvalidRequest(_))
        ));
    }

    #[test]
    fn a_valid_request_keeps_what_the_client_sent() {
        let r = validate(
            &params(&[("nonce", "n-1"), ("prompt", "login"), ("max_age", "60")]),
            &client(true),
            Came::Browser,
        )
        .unwrap();
        assert_eq!(r.scope, "openid profile");
        assert_eq!(r.nonce.as_deref(), Some("n-1"));
        assert_eq!(
            r.prompt,
            Prompt {
                login: true,
                ..Prompt::default()
            }
        );
        assert_eq!(r.max_age, Some(60));
        assert_eq!(r.code_challenge.as_deref(), Some(CHALLENGE));
    }

    #[test]
    fn a_client_that_requires_it_or_an_account_with_domains_holds_an_unconfirmed_address_back() {
        let corp = ["corp.example".to_owned()];
        let none: [String; 0] = [];
        // (the client requires it, the address, confirmed, the account's domains, the person
        // may be asked)
        type Case<'a> = (bool, &'a str, bool, &'a [String], bool, &'a str);
        let cases: &[Case<'_>] = &[
            (false, "a@example.com", false, &none, true, "go on"),
            (false, "a@example.com", false, &none, false, "go on"),
            (true, "a@example.com", true, &none, true, "go on"),
            (true, "a@example.com", true, &none, false, "go on"),
            (true, "a@example.com", false, &none, true, "ask"),
            (
                true,
                "a@example.com",
                false,
                &none,
                false,
                "interaction_required",
            ),
            // An account made by a link for corp.example, whatever the client requires.
            (false, "a@corp.example", true, &corp, true, "go on"),
            (true, "a@CORP.example", true, &corp, false, "go on"),
            (false, "a@corp.example", false, &corp, true, "ask"),
            (
                false,
                "a@corp.example",
                false,
                &corp,
                false,
                "interaction_required",
            ),
            (false, "a@example.com", true, &corp, true, "change"),
            (true, "a@example.com", false, &corp, true, "change"),
            (
                false,
                "a@example.com",
                true,
                &corp,
                false,
                "interaction_required",
            ),
        ];
        for &(requires, email, confirmed, account_domains, may_ask, expected) in cases {
            let of = AddressOf {
                email,
                confirmed,
                account_domains,
            };
            let got = match address_check(requires, of, may_ask) {
                AddressCheck::GoOn => "go on",
                AddressCheck::AskToConfirm => "ask",
                AddressCheck::ChangeAddress => "change",
                AddressCheck::Refuse(e) => e.code(),
            };
            assert_eq!(got, expected, "{requires} {of:?} {may_ask}");
        }
    }

    #[test]
    fn max_age_table() {
        assert!(session_satisfies(None, 0, 1_000_000));
        assert!(session_satisfies(Some(60), 1000, 1060));
        assert!(!session_satisfies(Some(60), 1000, 1061));
        assert!(!session_satisfies(Some(0), 1000, 1001));
    }
}
