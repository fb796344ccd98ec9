//! The HTTP shell around the protocol core: one module per endpoint group, one shared
//! [`AppState`], errors turned into responses in one place (`error`).

mod account;
mod admin;
mod assets;
mod authorize;
mod client_auth;
mod console;
mod cors;
mod device;
mod discovery;
mod dpop;
mod email;
pub mod error;
mod introspect;
mod limits;
mod logout;
pub mod ops;
mod pages;
mod par;
mod passkey;
mod signin;
mod signup;
mod token;
mod userinfo;

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::Ordering;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post};
use axum_extra::extract::cookie::CookieJar;
use tower::ServiceBuilder;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::auth::forms::{self, FormKey};
use crate::auth::passwords::Passwords;
use crate::clock::Clock;
use crate::config::Config;
use crate::keyring::Keyring;
use crate::model::{AuditRecord, Client};
use crate::oidc::dpop::nonce::NonceKey;
use crate::oidc::family_token::{FamilyKey, Presented};
use crate::oidc::retry::RetryKey;
use crate::oidc::subject::SubjectKey;
use crate::store::Store;

pub use email::notice_words;

/// Largest request body accepted: forms and tokens are small.
const BODY_LIMIT: usize = 64 * 1024;
/// Largest request body of the few that carry an image (an application's logo): the largest
/// image, and room for a form's other fields and its parts' headers.
const IMAGE_BODY_LIMIT: usize = crate::branding::MAX_LOGO_BYTES + 16 * 1024;

/// What every handler shares: a handle on one [`Shared`], cloned for each request (a single
/// reference count, however many parts the server is made of), and how the request's pages
/// look and speak: in the deployment's language, or, for a handler that takes [`Localized`],
/// in the one the person chose or the browser prefers.
#[derive(Clone)]
pub struct AppState {
    shared: Arc<Shared>,
    look: Arc<pages::Look>,
    /// When `look` speaks the person's own language (their account's, [`AppState::for_person`]):
    /// the look the browser or the application asked for, which pages speak when the person
    /// turns out to have no language of their own.
    otherwise: Option<Arc<pages::Look>>,
    /// Whether `look` was chosen on this sign-in's own form (its language switch,
    /// [`AppState::choosing`]): kept for a person without a language of their own once they
    /// sign in, as no other page's language is.
    chosen: bool,
    /// Whether the person ticked "Keep me signed in" on this sign-in's login form
    /// ([`AppState::keeping`]): carried through its later steps, and the session it opens is
    /// kept (`Config::session_lifetime`).
    keep: bool,
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.shared
    }
}

/// The state of a request answered with a page (or a mail sent for it): its look speaks the
/// language the person chose (the language cookie, set when they signed in: their account's
/// `locale`), else the one the browser prefers (`Accept-Language`) among those the deployment
/// offers, else the deployment's own (`--language`). An application's `ui_locales` comes
/// between the two, once the handler has read the request ([`AppState::asked_for`]).
pub(crate) struct Localized(pub(crate) AppState);

impl FromRequestParts<AppState> for Localized {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let accept_language = parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok());
        let asked = state.looks.for_browser(accept_language);
        let jar = CookieJar::from_headers(&parts.headers);
        let chosen = jar
            .get(state.config.cookie_names().language)
            .and_then(|cookie| state.looks.offered(cookie.value()));
        let shared = Arc::clone(&state.shared);
        Ok(Localized(match chosen {
            Some(look) => AppState {
                shared,
                look,
                otherwise: Some(asked),
                chosen: false,
                keep: false,
            },
            None => AppState {
                shared,
                look: asked,
                otherwise: None,
                chosen: false,
                keep: false,
            },
        }))
    }
}

/// How long the language cookie lasts: a year, renewed at every sign-in.
const LANGUAGE_COOKIE_AGE: i64 = 365 * 86_400;

/// The parts of the server every handler shares, behind [`AppState`].
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub config: Arc<Config>,
    pub clock: Arc<dyn Clock>,
    pub passwords: Passwords,
    pub keys: Keyring,
    /// The key of form tokens, read from the store on first use.
    form_key: Arc<tokio::sync::OnceCell<FormKey>>,
    /// The key that seals a rotation's answer for a retry, read from the store on first use.
    retry_key: Arc<tokio::sync::OnceCell<RetryKey>>,
    /// The key refresh tokens are authenticated with, read from the store on first use.
    family_key: Arc<tokio::sync::OnceCell<FamilyKey>>,
    /// The key DPoP server nonces are made with, read from the store on first use.
    dpop_nonce_key: Arc<tokio::sync::OnceCell<NonceKey>>,
    /// The key pairwise subjects are made with, read from the store on first use.
    subject_key: Arc<tokio::sync::OnceCell<SubjectKey>>,
    /// Device sign-ins started per address (`device::STARTS_BURST`).
    device_starts: Arc<limits::StartLimiter>,
    /// This deployment as a WebAuthn relying party, or why passkeys cannot work here.
    passkeys: Arc<Result<crate::auth::passkeys::Authority, String>>,
    /// Passkey sign-ins started per address (`passkey::STARTS_BURST`).
    passkey_starts: Arc<limits::StartLimiter>,
    /// How the pages look, in each language they speak.
    looks: pages::Looks,
    /// Sends mail, when the operator set up SMTP: `mail::run` sends what is queued.
    pub mailer: Option<Arc<crate::mail::Mailer>>,
    /// Password reset requests per address (`email::STARTS_BURST`).
    reset_starts: Arc<limits::StartLimiter>,
    /// Sign-ups per address (`signup::STARTS_BURST`).
    signup_starts: Arc<limits::StartLimiter>,
    /// Pushed authorization requests per address (`par::STARTS_BURST`).
    par_starts: Arc<limits::StartLimiter>,
    /// The keys clients publish at their `jwks_uri`, as fetched.
    pub client_keys: crate::remote_keys::RemoteKeys,
    /// Whether the operator was told of a proxy whose `X-Forwarded-For` is not believed
    /// ([`untrusted_proxy`]): said once, not at every request.
    told_of_untrusted_proxy: std::sync::atomic::AtomicBool,
}

/// The languages the pages can speak (`--language`): those with a catalogue.
pub(crate) fn languages() -> Vec<&'static str> {
    pages::catalogue::CATALOGUES
        .iter()
        .map(|t| t.language)
        .collect()
}

impl AppState {
    pub fn new(store: Arc<dyn Store>, config: Config, clock: Arc<dyn Clock>) -> Self {
        let passwords = Passwords::new(config.password_hash_concurrency);
        let config_issuer = config.issuer.clone();
        let mailer = config.mail.as_ref().and_then(|settings| {
            crate::mail::Mailer::new(settings)
                .map_err(|e| tracing::error!(error = %e, "mail is off"))
                .ok()
                .map(Arc::new)
        });
        let looks = pages::Looks::new(&config.branding, &config.issuer, mailer.is_some());
        let look = looks.deployments();
        // Installed before the first request counts anything.
        ops::prometheus();
        let shared = Arc::new(Shared {
            store,
            config: Arc::new(config),
            clock,
            passwords,
            keys: Keyring::default(),
            form_key: Arc::default(),
            retry_key: Arc::default(),
            family_key: Arc::default(),
            dpop_nonce_key: Arc::default(),
            subject_key: Arc::default(),
            device_starts: Arc::new(limits::StartLimiter::new(
                device::STARTS_BURST,
                device::STARTS_PERIOD,
            )),
            passkeys: Arc::new(crate::auth::passkeys::Authority::new(&config_issuer)),
            passkey_starts: Arc::new(limits::StartLimiter::new(
                passkey::STARTS_BURST,
                passkey::STARTS_PERIOD,
            )),
            looks,
            mailer,
            reset_starts: Arc::new(limits::StartLimiter::new(
                email::STARTS_BURST,
                email::STARTS_PERIOD,
            )),
            signup_starts: Arc::new(limits::StartLimiter::new(
                signup::STARTS_BURST,
                signup::STARTS_PERIOD,
            )),
            par_starts: Arc::new(limits::StartLimiter::new(
                par::STARTS_BURST,
                par::STARTS_PERIOD,
            )),
            client_keys: Default::default(),
            told_of_untrusted_proxy: Default::default(),
        });
        AppState {
            shared,
            look,
            otherwise: None,
            chosen: false,
            keep: false,
        }
    }

    /// The same request's state, speaking the language an application asked for
    /// (`ui_locales`: the first of them offered, if any is) unless the person chose their own.
    pub(in crate::http) fn asked_for(&self, ui_locales: &[String]) -> AppState {
        if self.chosen {
            return self.clone();
        }
        let Some(asked) = self.looks.matching(ui_locales) else {
            return self.clone();
        };
        match &self.otherwise {
            Some(_) => AppState {
                otherwise: Some(asked),
                ..self.clone()
            },
            None => AppState {
                look: asked,
                ..self.clone()
            },
        }
    }

    /// The same request's state once `user` has proved who they are: speaking their own
    /// language (their account's `locale`, if one offered matches it), else what the browser
    /// or the application asked for, whatever another person chose in this browser before.
    pub(in crate::http) fn for_person(&self, user: &crate::model::User) -> AppState {
        let asked = match self.chosen {
            true => &self.look,
            false => self.otherwise.as_ref().unwrap_or(&self.look),
        };
        match self.persons_look(user) {
            Some(own) => AppState {
                shared: Arc::clone(&self.shared),
                look: own,
                otherwise: Some(Arc::clone(asked)),
                chosen: false,
                keep: self.keep,
            },
            None => AppState {
                shared: Arc::clone(&self.shared),
                look: Arc::clone(asked),
                otherwise: None,
                chosen: self.chosen,
                keep: self.keep,
            },
        }
    }

    /// The same request's state for `user`, the person a mailed link they opened is for: the
    /// language chosen on the page's own switch ([`AppState::chose`]), else their own, else
    /// the one this browser keeps or asks for (the language the link's mail was written in,
    /// when the link was asked for from this browser). Nobody has signed in: the choice on the
    /// page is the person's at the browser, who may not read the language their account was
    /// given.
    pub(in crate::http) fn for_link_owner(&self, user: &crate::model::User) -> AppState {
        match self.chosen {
            true => self.clone(),
            false => self.for_signed_in(user),
        }
    }

    /// The same request's state for `user`, the person whose session the browser holds: their
    /// own language, else the one this browser keeps (their sign-in set it, or removed it:
    /// what they chose on its form, `AppState::chose`), else what the browser asks for.
    pub(in crate::http) fn for_signed_in(&self, user: &crate::model::User) -> AppState {
        match self.persons_look(user) {
            Some(_) => self.for_person(user),
            None => self.clone(),
        }
    }

    /// The look in `user`'s own language, if their account names one (`locale`) that an
    /// offered language matches: what the pages speak to them, and the mail sent to them.
    pub(in crate::http) fn persons_look(
        &self,
        user: &crate::model::User,
    ) -> Option<Arc<pages::Look>> {
        let locale = user.profile.locale.as_deref()?;
        self.looks.matching(&[locale])
    }

    /// `jar` with the language cookie saying `user`'s own language, or without one when they
    /// have none: set when they sign in or choose a language, so that this browser's pages
    /// speak it from then on, before they sign in next time too.
    pub(in crate::http) fn language_cookie(
        &self,
        jar: CookieJar,
        user: &crate::model::User,
    ) -> CookieJar {
        let name = self.config.cookie_names().language;
        let secure = self.config.secure_cookies;
        let kept = self.persons_look(user).or_else(|| {
            // What they chose on the sign-in's own form.
            self.chosen.then(|| Arc::clone(&self.look))
        });
        match kept {
            Some(look) => jar.add(crate::auth::session::cookie(
                name,
                look.text.language.to_owned(),
                secure,
                Some(LANGUAGE_COOKIE_AGE),
            )),
            None if jar.get(name).is_some() => jar.remove(crate::auth::session::cookie(
                name,
                String::new(),
                secure,
                None,
            )),
            None => jar,
        }
    }

    /// The same request's state speaking `tag`, chosen on a login form, if it is a language
    /// offered, and `jar` with the language cookie saying so: this browser's pages speak it
    /// from then on, until someone signs in (the person who signs in through that form keeps
    /// it, unless their account has a language of its own). Otherwise as it was.
    pub(in crate::http) fn choosing(&self, jar: CookieJar, tag: &str) -> (AppState, CookieJar) {
        let state = self.chose(tag);
        if !state.chosen {
            return (state, jar);
        }
        let cookie = crate::auth::session::cookie(
            self.config.cookie_names().language,
            state.look.text.language.to_owned(),
            self.config.secure_cookies,
            Some(LANGUAGE_COOKIE_AGE),
        );
        (state, jar.add(cookie))
    }

    /// The same request's state speaking `tag` as chosen on this sign-in's form (the field
    /// the form the language switch brought back carries, [`AppState::login_fields`]), if it
    /// is a language offered: it comes before an application's and the browser's, and after
    /// the person's own once they sign in. Otherwise as it was.
    pub(in crate::http) fn chose(&self, tag: &str) -> AppState {
        match self.looks.offered(tag) {
            Some(chosen) => AppState {
                shared: Arc::clone(&self.shared),
                otherwise: Some(Arc::clone(&chosen)),
                look: chosen,
                chosen: true,
                keep: self.keep,
            },
            None => self.clone(),
        }
    }

    /// The same request's state, with the person's answer to "Keep me signed in" as this
    /// sign-in's form sent it (`keep`: `1` when ticked); only where the deployment offers it.
    pub(in crate::http) fn keeping(&self, keep: &str) -> AppState {
        AppState {
            keep: keep == "1" && self.config.offers_keeping(),
            ..self.clone()
        }
    }

    /// Whether the session this sign-in opens is to be kept ([`AppState::keeping`]).
    pub(in crate::http) fn keeps(&self) -> bool {
        self.keep
    }

    /// The login form's "Keep me signed in": `None` where the deployment does not offer it,
    /// else whether it is ticked.
    pub(in crate::http) fn keep_choice(&self) -> Option<bool> {
        self.config.offers_keeping().then_some(self.keep)
    }

    /// The hidden fields of a later step of a sign-in (a second factor, setting one up, a
    /// passkey it requires): [`AppState::login_fields`], and the person's "Keep me signed in".
    pub(in crate::http) fn step_fields<'a>(
        &'a self,
        fields: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut all = self.login_fields(fields);
        if self.keep {
            all.push(("keep", "1"));
        }
        all
    }

    /// The hidden fields of a form whose page has a language switch (a login form, a reset's):
    /// what the form continues (`fields`), and the language chosen on the switch, if it was.
    pub(in crate::http) fn login_fields<'a>(
        &'a self,
        fields: &[(&'a str, &'a str)],
    ) -> Vec<(&'a str, &'a str)> {
        let mut all = fields.to_vec();
        if self.chosen {
            all.push(("chosen", self.look.text.language));
        }
        all
    }

    /// This deployment as a WebAuthn relying party, or why passkeys cannot work here.
    ///
    /// # Errors
    /// Why passkeys cannot work with this issuer (an IP address).
    pub fn passkeys(&self) -> Result<&crate::auth::passkeys::Authority, &str> {
        self.passkeys.as_ref().as_ref().map_err(String::as_str)
    }

    /// The names of the user's groups when the `granted` scopes release them (the `groups`
    /// scope), else none: only then are they read.
    ///
    /// # Errors
    /// A store failure.
    pub async fn group_names(
        &self,
        user_id: &str,
        granted: &str,
    ) -> Result<Vec<String>, crate::store::StoreError> {
        if !crate::oidc::claims::wants_groups(granted) {
            return Ok(Vec::new());
        }
        let groups = self.store.user_groups(user_id).await?;
        Ok(groups.into_iter().map(|g| g.name).collect())
    }

    /// The custom claims the `granted` scopes release for the user (`oidc::claims::custom`):
    /// read only when they release any.
    ///
    /// # Errors
    /// A store failure.
    pub async fn custom_claims(
        &self,
        user_id: &str,
        granted: &str,
    ) -> Result<crate::model::CustomClaims, crate::store::StoreError> {
        if !crate::oidc::claims::wants_custom(granted) {
            return Ok(crate::model::CustomClaims::new());
        }
        let given = self.store.claims_to_release(user_id).await?;
        Ok(crate::oidc::claims::custom(&given))
    }

    /// The deployment's key of form tokens: made once (by whichever instance is first) and
    /// kept in the store, so a form shown by one instance can be posted to another.
    ///
    /// # Errors
    /// A store failure while the key is read or stored (the first time only).
    pub async fn form_key(&self) -> Result<FormKey, crate::store::StoreError> {
        self.form_key
            .get_or_try_init(|| async {
                let secret = self.deployment_secret(forms::KEY_NAME).await?;
                Ok(FormKey::new(&secret))
            })
            .await
            .cloned()
    }

    /// The deployment's key that seals a refresh rotation's answer for a retry
    /// (`oidc::retry`): made once and kept in the store, so a retry that reaches another
    /// instance opens what this one sealed.
    ///
    /// # Errors
    /// A store failure while the key is read or stored (the first time only), or a stored
    /// key of the wrong length.
    pub async fn retry_key(&self) -> Result<RetryKey, crate::store::StoreError> {
        self.retry_key
            .get_or_try_init(|| async {
                let secret = self.deployment_secret(crate::oidc::retry::KEY_NAME).await?;
                RetryKey::new(&secret).map_err(|e| crate::store::StoreError::Corrupt(e.to_string()))
            })
            .await
            .cloned()
    }

    /// The deployment's key of refresh tokens (`oidc::family_token`): made once and kept in
    /// the store (and in exports), so every instance verifies what another minted.
    ///
    /// # Errors
    /// A store failure while the key is read or stored (the first time only).
    pub async fn family_key(&self) -> Result<FamilyKey, crate::store::StoreError> {
        self.family_key
            .get_or_try_init(|| async {
                let secret = self
                    .deployment_secret(crate::oidc::family_token::KEY_NAME)
                    .await?;
                Ok(FamilyKey::new(&secret))
            })
            .await
            .cloned()
    }

    /// The deployment's key of DPoP server nonces (`oidc::dpop::nonce`): made once and kept
    /// in the store, so every instance takes the nonces another hands out.
    ///
    /// # Errors
    /// A store failure while the key is read or stored (the first time only).
    pub async fn dpop_nonce_key(&self) -> Result<NonceKey, crate::store::StoreError> {
        self.dpop_nonce_key
            .get_or_try_init(|| async {
                let secret = self
                    .deployment_secret(crate::oidc::dpop::nonce::KEY_NAME)
                    .await?;
                Ok(NonceKey::new(&secret))
            })
            .await
            .cloned()
    }

    /// The deployment's key of pairwise subjects (`oidc::subject`): made once and kept in the
    /// store (and in exports), so every instance, and the deployment after a move, gives a
    /// client the same `sub` for a person.
    ///
    /// # Errors
    /// A store failure while the key is read or stored (the first time only).
    pub async fn subject_key(&self) -> Result<SubjectKey, crate::store::StoreError> {
        self.subject_key
            .get_or_try_init(|| async {
                let secret = self
                    .deployment_secret(crate::oidc::subject::KEY_NAME)
                    .await?;
                Ok(SubjectKey::new(&secret))
            })
            .await
            .cloned()
    }

    /// The `sub` `client` is given for the person whose id is `user_id`
    /// (`oidc::subject`).
    ///
    /// # Errors
    /// A store failure while the key is read or stored (the first time only).
    pub async fn subject_of(
        &self,
        client: &Client,
        user_id: &str,
    ) -> Result<String, crate::store::StoreError> {
        let key = self.subject_key().await?;
        Ok(key
            .of(client.pairwise_sector.as_deref(), user_id)
            .into_owned())
    }

    /// The deployment's 32-byte secret `name`: the stored one, or a random one stored now by
    /// whichever instance asks first.
    async fn deployment_secret(&self, name: &str) -> Result<Vec<u8>, crate::store::StoreError> {
        crate::store::deployment_secret(self.store.as_ref(), name, self.now()).await
    }

    pub fn now(&self) -> i64 {
        self.clock.now()
    }

    /// The stored key of a token a client presents (`/userinfo`, introspection, revocation,
    /// the admin API): a JWT access token this issuer signed (`oidc::access_token`) by its
    /// `jti`, anything else by its own (`oidc::tokens::key`). A JWT-shaped token that does not
    /// verify gets the key of itself, which names no stored token.
    ///
    /// A refresh token of the family format names its family (`Presented::new`).
    ///
    /// # Errors
    /// A store failure while the published keys are reloaded.
    pub async fn presented_token_key(
        &self,
        token: &str,
    ) -> Result<Presented, crate::store::StoreError> {
        use crate::oidc::{access_token, tokens};
        let presented = Presented::new(token, &self.family_key().await?);
        if presented.family_id.is_some() || !access_token::looks_like_jwt(token) {
            return Ok(presented);
        }
        let jwks = match self.keys.jwks(self.store.as_ref(), self.now()).await {
            Ok(set) => set,
            Err(crate::keyring::KeyringError::Store(e)) => return Err(e),
            Err(e) => return Err(crate::store::StoreError::Corrupt(e.to_string())),
        };
        Ok(access_token::verified(token, &jwks, &self.config.issuer)
            .unwrap_or_else(|| Presented::by_hash(tokens::key(token))))
    }

    /// Appends to the audit log. The operation it describes is done already, so a failure here
    /// is logged, not turned into an error response.
    pub async fn audit(&self, record: AuditRecord) {
        if let Err(e) = self.store.record(record).await {
            tracing::error!(error = %e, "could not write an audit record");
        }
    }
}

/// The address of the client that sent the request ([`client_address`]). `None` when unknown,
/// as in tests that call the router directly. It keys the failed-login counters and goes into
/// the audit log. Beside it, the browser's `User-Agent` as a session keeps it
/// (`auth::browsers::kept`), for a sign-in to show its person where it was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer(pub Option<IpAddr>, pub Option<Arc<str>>);

/// A record of what a request did, made where the request came from.
pub(crate) trait Stamped {
    /// Stamped with the request's address and browser.
    fn stamped(self, peer: &Peer) -> Self;
}

impl Stamped for crate::model::AuditRecord {
    fn stamped(self, peer: &Peer) -> Self {
        self.ip(peer.0).browser(peer.1.as_deref())
    }
}

/// Who sent a request that arrived from `peer` with these `X-Forwarded-For` entries (in order,
/// from every such header): the peer itself, unless it is a proxy the operator named
/// (`trusted`), and then the last entry that is not one of those proxies (each proxy appends the
/// address it saw; entries before that are whatever the client claimed). With `trust_all`
/// (`--trust-forwarded-for`), the last entry whoever the peer is. An entry that is not an
/// address leaves the proxy's own address.
pub fn client_address(
    peer: Option<IpAddr>,
    forwarded: &[&str],
    trust_all: bool,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let parsed = |e: &&str| e.trim().parse::<IpAddr>().ok();
    if trust_all {
        if let Some(last) = forwarded.last().and_then(parsed) {
            return Some(last);
        }
        return peer;
    }
    if !peer.is_some_and(|p| trusted.contains(&p)) {
        return peer;
    }
    for entry in forwarded.iter().rev() {
        match parsed(entry) {
            Some(ip) if trusted.contains(&ip) => continue,
            Some(ip) => return Some(ip),
            None => return peer,
        }
    }
    peer
}

/// The address that sent `X-Forwarded-For` entries that are not believed from it (`peer`, not
/// a proxy the operator named, and not `--trust-forwarded-for`): a reverse proxy the
/// configuration leaves out, whose clients would all count and be recorded as the proxy, or a
/// client that sent the header itself. `None` when the request carries no entry, or when they
/// are believed.
pub fn untrusted_proxy(
    peer: Option<IpAddr>,
    forwarded: &[&str],
    trust_all: bool,
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    let carries = forwarded.iter().any(|entry| !entry.trim().is_empty());
    let peer = peer?;
    (carries && !trust_all && !trusted.contains(&peer)).then_some(peer)
}

impl FromRequestParts<AppState> for Peer {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip());
        let forwarded: Vec<&str> = parts
            .headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .collect();
        let c = &state.config;
        if let Some(proxy) =
            untrusted_proxy(peer, &forwarded, c.trust_forwarded_for, &c.trusted_proxies)
            && !state.told_of_untrusted_proxy.swap(true, Ordering::Relaxed)
        {
            tracing::warn!(
                %proxy,
                "a request from {proxy} carries X-Forwarded-For, which is not believed from \
                 that address: if {proxy} is a reverse proxy in front of gatehouse, name it \
                 (--trusted-proxy {proxy}), or everyone it forwards counts as {proxy} (their \
                 failed sign-ins slowing down and locking out one another's) and is recorded \
                 so; said once"
            );
        }
        let user_agent = parts
            .headers
            .get(axum::http::header::USER_AGENT)
            .and_then(|v| v.to_str().ok());
        Ok(Peer(
            client_address(peer, &forwarded, c.trust_forwarded_for, &c.trusted_proxies),
            crate::auth::browsers::kept(user_agent).map(Arc::from),
        ))
    }
}

/// The address of the client's logo, for a page that shows it beside the client's name; none
/// when it has none, or when it cannot be read just now (the page is shown without it: the
/// name says which application it is).
async fn client_logo(state: &AppState, client_id: &str) -> Option<String> {
    match state.store.client_logo_version(client_id).await {
        Ok(version) => version.map(|v| pages::client_logo_url(&state.config.issuer, client_id, &v)),
        Err(e) => {
            tracing::warn!(error = %e, client_id, "an application's logo could not be looked up");
            None
        }
    }
}

/// The span of one request: its id, method and path. Not the query string: it can carry an
/// `id_token_hint` or other values that do not belong in logs.
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        request_id = %id,
        method = %request.method(),
        path = %request.uri().path(),
    )
}

/// The whole application, without a socket: tests call it with `oneshot`.
pub fn app(state: AppState) -> Router {
    let request_timeout = state.config.request_timeout;
    let hsts = state
        .config
        .hsts
        .as_deref()
        .and_then(|v| HeaderValue::from_str(v).ok());
    let (admin_api, openapi) = admin::router().split_for_parts();
    let openapi = Arc::new(openapi);
    // What a browser application calls from its own origin (`cors`); nothing else.
    let cors = cors::layer(Arc::clone(&state.store));
    // Where DPoP proofs are taken, the current server nonce goes out with each answer to one.
    let nonce = axum::middleware::from_fn_with_state(state.clone(), dpop::supply_nonce);
    // What answers with a person's data or a client's secrets is never stored by a cache
    // (the admin API returns client secrets; /userinfo a person's claims).
    // The admin API sets the body limit of each of its routes (`admin::router`).
    let private = Router::new()
        .route(
            "/userinfo",
            get(userinfo::userinfo)
                .post(userinfo::userinfo)
                .layer(cors.clone()),
        )
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(admin_api)
        .layer(nonce.clone())
        .layer(SetResponseHeaderLayer::overriding(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));
    Router::new()
        .route(
            "/admin/api/openapi.json",
            get(move || async move { axum::Json(openapi.as_ref().clone()) }),
        )
        .route(
            "/.well-known/openid-configuration",
            get(discovery::configuration).layer(cors.clone()),
        )
        // RFC 8414: the same metadata where an OAuth client that is not an OpenID Connect
        // relying party looks for it.
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::configuration).layer(cors.clone()),
        )
        .route("/jwks.json", get(discovery::jwks).layer(cors.clone()))
        .route("/.well-known/webfinger", get(discovery::webfinger))
        .route(
            "/authorize",
            get(authorize::authorize).post(authorize::authorize_post),
        )
        .route("/login", post(authorize::login))
        .route("/verify", post(signin::verify))
        .route("/enrol", post(signin::enrol))
        .route("/consent", post(authorize::consent))
        .route("/confirm-address", post(authorize::confirm_address))
        .route("/passkey", post(passkey::sign_in))
        .route("/passkey/options", post(passkey::options))
        .route("/passkey/register-options", post(passkey::register_options))
        .route(
            "/passkey/enrol-options",
            post(signin::passkey_enrol_options),
        )
        .route("/enrol-passkey", post(signin::enrol_passkey))
        .route(&format!("/{}", passkey::SCRIPT_PATH), get(passkey::script))
        .route(
            &format!("/{}", pages::FORM_POST_SCRIPT_PATH),
            get(
                |uri: axum::http::Uri, headers: axum::http::HeaderMap| async move {
                    pages::FORM_POST_SCRIPT.respond(&uri, &headers)
                },
            ),
        )
        .route(pages::LOGO_PATH, get(pages::logo))
        .route("/clients/{client_id}/logo", get(pages::client_logo))
        .route("/reset", get(email::reset_page).post(email::reset))
        .route("/admin", get(console::people).post(console::add_person))
        .route("/welcome", get(email::welcome_page).post(email::welcome))
        .route(
            "/welcome/passkey-options",
            post(email::welcome_passkey_options),
        )
        .route(
            "/new-passkey",
            get(email::passkey_link_page).post(email::passkey_link),
        )
        .route("/new-passkey/options", post(email::passkey_link_options))
        .route("/signup", get(signup::page).post(signup::sign_up))
        .route("/signup/passkey-options", post(signup::passkey_options))
        .route(
            "/admin/signup-links",
            get(console::signup_links).post(console::change_signup_links),
        )
        .route("/admin/audit", get(console::audit))
        .route("/admin/keys", get(console::keys).post(console::rotate_keys))
        .route(
            "/admin/clients",
            get(console::clients).post(console::add_client),
        )
        .route(
            "/admin/clients/{client_id}",
            get(console::client).post(console::change_client),
        )
        .route(
            "/admin/groups",
            get(console::groups).post(console::add_group),
        )
        .route(
            "/admin/groups/{name}",
            get(console::group).post(console::change_group),
        )
        .route(
            "/admin/users/{username}",
            get(console::person).post(console::act),
        )
        .route(
            "/confirm-email",
            get(email::confirm_page).post(email::confirm),
        )
        .route("/account", get(account::page).post(account::act))
        // The server's own address, typed by a person: their account page, which opens with
        // the applications they may use (relative, so an issuer with a path keeps it).
        .route(
            "/",
            get(|| async { axum::response::Redirect::to("account") }),
        )
        .route("/device_authorization", post(device::authorization))
        .route(
            "/par",
            post(par::push).layer(
                ServiceBuilder::new()
                    .layer(cors.clone())
                    .layer(nonce.clone()),
            ),
        )
        .route("/device", get(device::page).post(device::entered))
        .route("/device/answer", post(device::answer))
        .route(
            "/token",
            post(token::token).layer(ServiceBuilder::new().layer(cors.clone()).layer(nonce)),
        )
        .route("/introspect", post(introspect::introspect))
        .route("/revoke", post(introspect::revoke).layer(cors))
        .route(
            "/logout",
            get(logout::logout).post(logout::logout_confirmed),
        )
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/metrics", get(ops::metrics))
        .fallback(pages::not_found)
        // Every route above, and any address there is none for; those below set their own.
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .merge(private)
        .route(
            "/admin/clients/{client_id}/logo",
            post(console::set_client_logo).layer(RequestBodyLimitLayer::new(IMAGE_BODY_LIMIT)),
        )
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::REQUEST_TIMEOUT,
            request_timeout,
        ))
        .route_layer(axum::middleware::from_fn(ops::track))
        // Browsers keep to https for the deployment's issuer, whatever answered (a page, an
        // error, a redirect, the API), and read every answer as the type it says it is (a
        // JSON answer that echoes input is never run as a page or a script).
        .layer(SetResponseHeaderLayer::if_not_present(
            header::STRICT_TRANSPORT_SECURITY,
            move |_: &axum::response::Response| hsts.clone(),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Outermost first: every request gets an id (kept if a proxy set one), every log line
        // inside its span carries it, and the response echoes it.
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .with_state(state)
}

#[cfg(test)]
mod tests {
    use super::{client_address, untrusted_proxy};
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn the_client_address_is_believed_only_from_a_named_proxy() {
        let proxy = ip("10.0.0.2");
        let inner = ip("10.0.0.3");
        let trusted = [proxy, inner];
        let some = |s: &str| Some(ip(s));
        let cases: &[(&str, &[&str], Option<IpAddr>)] = &[
            // Straight from a client: its own address, whatever it claims.
            ("198.51.100.7", &["203.0.113.9"], some("198.51.100.7")),
            ("198.51.100.7", &[], some("198.51.100.7")),
            // Through the proxy: the address the proxy saw (the last entry).
            ("10.0.0.2", &["203.0.113.9"], some("203.0.113.9")),
            (
                "10.0.0.2",
                &["6.6.6.6", " 203.0.113.9"],
                some("203.0.113.9"),
            ),
            // Through two proxies: the entries of proxies are skipped.
            (
                "10.0.0.2",
                &["6.6.6.6", "203.0.113.9", "10.0.0.3"],
                some("203.0.113.9"),
            ),
            // Nothing forwarded, or garbage: the proxy's own address.
            ("10.0.0.2", &[], some("10.0.0.2")),
            ("10.0.0.2", &["not-an-ip"], some("10.0.0.2")),
            ("10.0.0.2", &["203.0.113.9", "unknown"], some("10.0.0.2")),
            ("10.0.0.2", &["10.0.0.3"], some("10.0.0.2")),
        ];
        for (peer, forwarded, want) in cases {
            assert_eq!(
                client_address(Some(ip(peer)), forwarded, false, &trusted),
                *want,
                "{peer} {forwarded:?}"
            );
        }
        assert_eq!(
            client_address(None, &["203.0.113.9"], false, &trusted),
            None
        );
        // --trust-forwarded-for: the last entry, whoever sent it.
        assert_eq!(
            client_address(Some(ip("198.51.100.7")), &["6.6.6.6"], true, &[]),
            some("6.6.6.6")
        );
        assert_eq!(
            client_address(Some(ip("198.51.100.7")), &["x"], true, &[]),
            some("198.51.100.7")
        );
    }

    #[test]
    fn a_proxy_is_untrusted_when_it_forwards_entries_the_configuration_does_not_believe() {
        let trusted = [ip("10.0.0.2")];
        // (peer, X-Forwarded-For entries, --trust-forwarded-for, untrusted)
        let cases: &[(&str, &[&str], bool, bool)] = &[
            ("127.0.0.1", &["203.0.113.9"], false, true),
            ("198.51.100.7", &["x", " "], false, true),
            // Nothing forwarded: a client of its own.
            ("127.0.0.1", &[], false, false),
            ("127.0.0.1", &[" ", ""], false, false),
            // Named, or every proxy believed.
            ("10.0.0.2", &["203.0.113.9"], false, false),
            ("127.0.0.1", &["203.0.113.9"], true, false),
        ];
        for (peer, forwarded, trust_all, untrusted) in cases {
            assert_eq!(
                untrusted_proxy(Some(ip(peer)), forwarded, *trust_all, &trusted),
                untrusted.then(|| ip(peer)),
                "{peer} {forwarded:?} {trust_all}"
            );
        }
        assert_eq!(
            untrusted_proxy(None, &["203.0.113.9"], false, &trusted),
            None
        );
    }
}
