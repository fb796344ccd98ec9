//! Why an administrative change is refused. Each refusal is a value, not a sentence: the command
//! line and the admin API say it in English (its `Display`), the administration pages in the
//! administrator's language (each page catalogue's `refusal`, which must name every variant).

use crate::auth::username::UsernameError;
use crate::branding::LogoProblem;
use crate::model::GroupNameProblem;
use crate::oidc::backchannel::UriProblem;
use crate::oidc::claims::{self, ChosenClaimsProblem, CustomClaimsProblem};
use crate::oidc::client_assertion::KeysProblem;
use crate::oidc::redirect::RegistrationProblem;
use crate::oidc::resource;
use crate::oidc::scope;
use crate::oidc::subject::SectorProblem;

use super::{MAX_DESCRIPTION, MAX_DISPLAY_NAME, MAX_NAME, MAX_PICTURE, MAX_SECRET_OVERLAP};
use super::{MIN_SECRET_LENGTH, clients::MAX_CLIENT_ID};

/// Which of a person's names a [`Refusal`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameField {
    Name,
    GivenName,
    FamilyName,
}

impl std::fmt::Display for NameField {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            NameField::Name => "a name",
            NameField::GivenName => "a given name",
            NameField::FamilyName => "a family name",
        })
    }
}

/// Which of an application's page links a [`Refusal`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageLink {
    Logo,
    Home,
}

impl std::fmt::Display for PageLink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PageLink::Logo => "logo",
            PageLink::Home => "home",
        })
    }
}

/// Why a change is refused: the request itself is wrong, and this says how.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    // People.
    #[error(transparent)]
    Username(#[from] UsernameError),
    #[error("{0:?} is not an email address")]
    Email(String),
    #[error("{0} is at most {MAX_NAME} characters")]
    NameTooLong(NameField),
    #[error("{0} cannot hold control or invisible characters")]
    NameInvisible(NameField),
    #[error("{0:?} is not a language tag such as en or en-GB")]
    Locale(String),
    #[error("a picture URL is at most {MAX_PICTURE} characters")]
    PictureTooLong,
    #[error("{0:?} is not an https URL")]
    PictureNotHttps(String),

    // Groups.
    #[error(transparent)]
    GroupName(#[from] GroupNameProblem),
    #[error("a description is at most {MAX_DESCRIPTION} characters")]
    DescriptionTooLong,
    #[error("a description cannot hold control or invisible characters")]
    DescriptionInvisible,

    // Sign-up links.
    #[error(transparent)]
    SignupLink(#[from] crate::auth::signup::LinkProblem),
    #[error(transparent)]
    AddressRule(#[from] crate::auth::signup::RuleProblem),

    // Custom claims.
    #[error(transparent)]
    Claims(#[from] CustomClaimsProblem),
    #[error("at most {max} claims to remove at once", max = claims::MAX_CUSTOM_CLAIMS)]
    TooManyToRemove,
    #[error("claim {0:?} is named both to set and to remove")]
    SetAndRemoved(String),

    // Applications.
    #[error(
        "a client id is 1 to {MAX_CLIENT_ID} characters of letters, digits, '-', '_', '.' or \
         '~', at least one a letter or digit"
    )]
    ClientId,
    #[error("redirect URI {0:?} refused: {1}")]
    RedirectUri(String, RegistrationProblem),
    #[error("unknown scope {0:?}; known scopes: {known}", known = scope::SUPPORTED.join(", "))]
    UnknownScope(String),
    #[error("unknown grant type {0:?}; known grant types: {known}", known = known_grant_types())]
    UnknownGrantType(String),
    #[error(
        "only a client with keys signs its requests: register its keys (jwks or jwks_uri) to \
         require signed request objects"
    )]
    SignedRequestsNeedKeys,
    #[error("a public client has no secret, so it cannot use client_credentials")]
    PublicClientCredentials,
    #[error("scope {0:?} is only granted through client_credentials; add that grant type")]
    ClientOnlyScope(String),
    #[error("a client using authorization_code needs at least one redirect URI")]
    NoRedirectUri,
    #[error(transparent)]
    ChosenClaims(#[from] ChosenClaimsProblem),
    #[error("back-channel logout URI {0:?} refused: {1}")]
    BackchannelUri(String, UriProblem),
    #[error("the resource {0:?} {1}")]
    Resource(String, resource::Problem),
    #[error("a client is registered with at most {most} resources", most = resource::MOST)]
    TooManyResources,
    #[error("a client answers for at most {most} APIs", most = resource::MOST)]
    TooManyIntrospected,
    #[error(
        "a public client cannot introspect tokens: only a client with a secret or keys answers \
         for an API"
    )]
    PublicIntrospects,
    #[error(
        "a display name is 1 to {MAX_DISPLAY_NAME} characters, without control or invisible \
         characters"
    )]
    DisplayName,
    #[error("the {0} URI {1:?} is not an https URL")]
    PageLink(PageLink, String),
    #[error(transparent)]
    Keys(#[from] KeysProblem),
    #[error("jwks_uri {0:?} refused: {1}")]
    JwksUri(String, UriProblem),
    #[error("a client's keys are registered or published at a URL, not both")]
    KeysTwice,
    #[error("this client does not authenticate with keys: it has a secret, or none")]
    NoKeysToChange,
    #[error("a public client has no keys: it authenticates with nothing")]
    PublicWithKeys,
    #[error("a client authenticates with a secret or with keys, not both")]
    SecretAndKeys,
    #[error("a public client has no secret")]
    PublicWithSecret,
    #[error("a client secret must be at least {MIN_SECRET_LENGTH} characters")]
    ShortSecret,
    #[error("the overlap is 0 to {MAX_SECRET_OVERLAP} seconds")]
    Overlap,
    #[error("pairwise subjects refused: {0}")]
    Sector(SectorProblem),
    #[error("this client authenticates with keys: it has no secret to rotate")]
    NoSecretWithKeys,
    #[error("a public client has no secret to rotate")]
    NoSecretPublic,
    #[error("logo refused: {0}")]
    Logo(LogoProblem),
}

/// The grant types a client may name, as it names them.
pub fn known_grant_types() -> String {
    let known: Vec<&str> = crate::model::GrantType::ALL
        .iter()
        .map(|g| g.as_str())
        .collect();
    known.join(", ")
}
