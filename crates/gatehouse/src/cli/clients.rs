//! `gatehouse client …`: relying parties from the command line.

use clap::Subcommand;

use super::{read_secret, rfc3339};
use super::{table, yes_no};
use crate::admin::{Admin, ClientPatch, ClientView, NewClient, SubjectOf};
use crate::model::{AccessTokenFormat, AuthPolicy, SigningAlg, SubjectType};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum ClientCommand {
    /// Register a client; a confidential client's secret is printed once
    Add {
        /// The client, by id
        #[arg(long)]
        client_id: String,
        /// Where the client receives codes (exact match; repeat for several); required unless
        /// the client only uses client_credentials
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Where logout may return to (repeat for several)
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// A public client (a browser or native app) has no secret and must use PKCE
        #[arg(long, conflicts_with = "secret_stdin")]
        public: bool,
        /// A first-party client skips the consent page
        #[arg(long)]
        first_party: bool,
        /// Scopes the client may request [default: openid profile email offline_access];
        /// `admin` (the admin API) needs the client_credentials grant
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Grant types the client may use: authorization_code, refresh_token,
        /// client_credentials, device_code (RFC 8628, for devices without a browser)
        /// [default: authorization_code refresh_token]
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// Read the secret from standard input (at least 32 characters) instead of generating one
        #[arg(long)]
        secret_stdin: bool,
        /// Authenticate the client by the keys in this file (a JWK Set of its public keys)
        /// instead of a secret: it signs a JWT to authenticate (private_key_jwt)
        #[arg(long, value_name = "FILE", conflicts_with_all = ["public", "secret_stdin"])]
        jwks: Option<std::path::PathBuf>,
        /// Authenticate the client by the keys it publishes at this https URL (its JWK Set,
        /// fetched when needed) instead of a secret (private_key_jwt)
        #[arg(long, value_name = "URL", conflicts_with_all = ["public", "secret_stdin", "jwks"])]
        jwks_uri: Option<String>,
        /// Its authorization requests must come pushed (PAR, RFC 9126); others are refused
        #[arg(long)]
        require_par: bool,
        /// Its authorization requests must come as request objects signed with its keys (RFC
        /// 9101); others are refused
        #[arg(long)]
        require_signed_requests: bool,
        /// Its token requests must carry a DPoP proof (RFC 9449), so every token it gets is
        /// bound to its key; others are refused
        #[arg(long)]
        require_dpop: bool,
        /// A person must have confirmed their email address before it is given anything (for
        /// an application that trusts the address without checking `email_verified`)
        #[arg(long)]
        require_confirmed_address: bool,
        #[command(flatten)]
        display: ClientDisplayArgs,
    },
    /// List clients as a table: id, name, type, first-party, grant types, scopes, redirect URIs
    List {
        /// One JSON array instead, as the admin API shows clients
        #[arg(long)]
        json: bool,
    },
    /// Change a client: its id, secret, consents and tokens stay; what is not given stays too
    Update {
        /// The client, by id
        client_id: String,
        /// Replace the redirect URIs with these (repeat for several)
        #[arg(long = "redirect-uri")]
        redirect_uris: Vec<String>,
        /// Replace the post-logout redirect URIs with these (repeat for several)
        #[arg(long = "post-logout-redirect-uri")]
        post_logout_redirect_uris: Vec<String>,
        /// Replace the scopes with these (repeat for several)
        #[arg(long = "scope")]
        scopes: Vec<String>,
        /// Replace the grant types with these (repeat for several)
        #[arg(long = "grant-type")]
        grant_types: Vec<String>,
        /// First-party (no consent page): true or false
        #[arg(long)]
        first_party: Option<bool>,
        /// Replace the keys of a client that authenticates with keys with those in this file (a
        /// JWK Set)
        #[arg(long, value_name = "FILE")]
        jwks: Option<std::path::PathBuf>,
        /// Or fetch them from this https URL from now on
        #[arg(long, value_name = "URL", conflicts_with = "jwks")]
        jwks_uri: Option<String>,
        /// Whether its authorization requests must come pushed (PAR): true or false
        #[arg(long)]
        require_par: Option<bool>,
        /// Whether its authorization requests must come as request objects signed with its
        /// keys: true or false
        #[arg(long)]
        require_signed_requests: Option<bool>,
        /// Whether its token requests must carry a DPoP proof: true or false
        #[arg(long)]
        require_dpop: Option<bool>,
        /// Whether a person must have confirmed their email address before it is given
        /// anything: true or false
        #[arg(long)]
        require_confirmed_address: Option<bool>,
        #[command(flatten)]
        display: ClientDisplayArgs,
        /// Remove these: display-name, logo-uri, home-uri, post-logout-redirect-uris (repeat
        /// for several)
        #[arg(long, value_name = "FIELD")]
        clear: Vec<ClientField>,
    },
    /// Give a confidential client a new secret (printed once); the old one keeps working for
    /// the overlap, so every instance of the client can switch
    RotateSecret {
        /// The client, by id
        client_id: String,
        /// How long the old secret keeps working, in seconds (0: not at all, after a leak)
        #[arg(long, default_value_t = crate::admin::DEFAULT_SECRET_OVERLAP)]
        overlap: i64,
    },
    /// Show or set which groups' members may use a client (by default, every user)
    Access {
        /// The client, by id
        client_id: String,
        /// Only members of this group may use it (repeat for several); replaces the groups
        /// set before
        #[arg(long = "group", conflicts_with = "everyone")]
        groups: Vec<String>,
        /// Every user may use it again
        #[arg(long)]
        everyone: bool,
    },
    /// Which `sub` a client knows a person by, or whom a `sub` it sent names: for a request from
    /// an application with pairwise subjects (see `client update --subject-type`)
    Subject {
        /// The client, by id
        client_id: String,
        /// The person, by username: prints their `sub` at the client
        #[arg(long, conflicts_with = "sub", required_unless_present = "sub")]
        user: Option<String>,
        /// A `sub` the client knows someone by: prints their username (a pairwise one may
        /// begin with `-`, and is taken as it is)
        #[arg(long, allow_hyphen_values = true)]
        sub: Option<String>,
    },
    /// Give a client a logo, shown with its name where people sign in to it, allow it or
    /// approve a device for it, and on their account page, served by gatehouse (a PNG, JPEG,
    /// WebP or SVG image of at most 256 KiB); or take its logo away
    Logo {
        /// The client, by id
        client_id: String,
        /// The image's file
        #[arg(long, conflicts_with = "remove", required_unless_present = "remove")]
        image: Option<std::path::PathBuf>,
        /// Take its logo away
        #[arg(long)]
        remove: bool,
    },
    /// Remove a client and everything issued to it
    Remove {
        /// The client, by id
        client_id: String,
    },
}

/// What people see of a client, what its ID tokens hold, and where it hears of logouts:
/// options `client add` and `client update` share.
#[derive(Debug, clap::Args)]
pub struct ClientDisplayArgs {
    /// The name people see on the sign-in and consent pages (default: the client id)
    #[arg(long, allow_hyphen_values = true)]
    display_name: Option<String>,
    /// An https URL of the application's logo
    #[arg(long)]
    logo_uri: Option<String>,
    /// An https URL of the application's home page
    #[arg(long)]
    home_uri: Option<String>,
    /// Put only this claim of those its scopes release in its ID tokens (repeat for several:
    /// name, email, groups, …); without it, all of them
    #[arg(long = "id-token-claim", value_name = "CLAIM")]
    id_token_claims: Vec<String>,
    /// Sign its ID tokens with this algorithm: RS256 (the default, which every client library
    /// supports), ES256 or EdDSA
    #[arg(long = "id-token-alg", value_name = "ALG")]
    id_token_alg: Option<SigningAlg>,
    /// Tell the client at this URL when a sign-in session it received an ID token in ends
    /// (OpenID Connect Back-Channel Logout); http or https
    #[arg(long, value_name = "URL")]
    backchannel_logout_uri: Option<String>,
    /// Its access tokens: opaque (the default; revoking one takes effect at once) or jwt
    /// (RFC 9068, for APIs that check tokens offline; a revoked one works until it expires)
    #[arg(long, value_name = "FORMAT")]
    access_token_format: Option<AccessTokenFormat>,
    /// Its access tokens carry this claim about the user when its scopes release it (repeat
    /// for several: name, email, groups, a custom claim's name, …): in a JWT access token, and
    /// in introspection's answer; without it, none
    #[arg(long = "access-token-claim", value_name = "CLAIM")]
    access_token_claims: Vec<String>,
    /// An API its access tokens may be for (a resource indicator, RFC 8707: an absolute URI
    /// such as https://api.example.com/; repeat for several): the client names it with the
    /// `resource` parameter, and the token's `aud` is then that API; without it, none
    #[arg(long = "resource", value_name = "URI")]
    resources: Vec<String>,
    /// An API this client answers for (an absolute URI, as other clients name it with
    /// --resource; repeat for several): it may introspect the access tokens issued to any
    /// client for it, which is how an API checks opaque tokens; a client with a secret or
    /// keys only; without it, it introspects its own tokens only
    #[arg(long = "introspects", value_name = "URI")]
    introspects: Vec<String>,
    /// What a sign-in must prove to use it: password (the default), two_factor (an
    /// authenticator app's code or a passkey too; people without either set up an app when they
    /// next sign in) or passkey (a passkey; people without one add one when they next sign in)
    #[arg(long, value_name = "POLICY")]
    auth_policy: Option<AuthPolicy>,
    /// Which `sub` it is given for a person: public (the default: the person's id, as every
    /// client is) or pairwise (an id of its sector alone, which no client of another sector can
    /// match). Changing it changes every `sub` it was given
    #[arg(long, value_name = "TYPE")]
    subject_type: Option<SubjectType>,
    /// The sector of a client with pairwise subjects: clients of one sector see one `sub` for a
    /// person (default: the one host its redirect URIs name). Changing it changes every `sub`
    /// it was given
    #[arg(long, value_name = "NAME")]
    sector: Option<String>,
}

/// A field `client update --clear` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ClientField {
    DisplayName,
    LogoUri,
    HomeUri,
    PostLogoutRedirectUris,
    /// Every claim its scopes release goes into its ID tokens again
    IdTokenClaims,
    /// Its access tokens carry no claim about the user again
    AccessTokenClaims,
    /// It is no longer told of logouts
    BackchannelLogoutUri,
    /// Its access tokens may be for no API but itself again
    Resources,
    /// It introspects its own tokens only again
    Introspects,
}

/// A JWK Set from a file, as JSON; `admin` checks what it holds.
fn read_jwks(path: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    use anyhow::Context as _;
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the keys in {}", path.display()))?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} does not hold JSON (a JWK Set)", path.display()))
}

pub(super) async fn client(
    store: &dyn Store,
    admin: &Admin<'_>,
    cmd: ClientCommand,
) -> anyhow::Result<()> {
    match cmd {
        ClientCommand::Add {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            public,
            first_party,
            scopes,
            grant_types,
            secret_stdin,
            jwks,
            jwks_uri,
            require_par,
            require_signed_requests,
            require_dpop,
            require_confirmed_address,
            display,
        } => {
            let secret = if secret_stdin {
                Some(read_secret("Client secret: ")?)
            } else {
                None
            };
            let new = NewClient {
                client_id,
                redirect_uris,
                post_logout_redirect_uris,
                public,
                first_party,
                scopes,
                grant_types,
                secret,
                display_name: display.display_name,
                logo_uri: display.logo_uri,
                home_uri: display.home_uri,
                id_token_claims: (!display.id_token_claims.is_empty())
                    .then_some(display.id_token_claims),
                id_token_signed_response_alg: display.id_token_alg.unwrap_or_default(),
                backchannel_logout_uri: display.backchannel_logout_uri,
                access_token_format: display.access_token_format.unwrap_or_default(),
                access_token_claims: display.access_token_claims,
                resources: display.resources,
                introspects: display.introspects,
                auth_policy: display.auth_policy.unwrap_or_default(),
                jwks: jwks.as_deref().map(read_jwks).transpose()?,
                jwks_uri,
                require_pushed_authorization_requests: require_par,
                require_signed_request_object: require_signed_requests,
                dpop_bound_access_tokens: require_dpop,
                require_confirmed_address,
                subject_type: display.subject_type.unwrap_or_default(),
                sector_identifier: display.sector,
            };
            let (client, generated) = admin.add_client(new).await?;
            println!("client {} added", client.client_id);
            if let Some(s) = generated {
                println!("client secret (shown once, store it now): {s}");
            }
        }
        ClientCommand::List { json } => {
            let clients = store.list_clients().await?;
            if json {
                let mut logos: std::collections::HashMap<String, String> =
                    store.client_logo_versions().await?.into_iter().collect();
                let views: Vec<ClientView> = clients
                    .into_iter()
                    .map(|c| {
                        let logo = logos.remove(&c.client_id);
                        ClientView::new(c, logo)
                    })
                    .collect();
                println!("{}", serde_json::to_string_pretty(&views)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = clients
                .into_iter()
                .map(|c| {
                    let kind = if c.is_public() {
                        "public"
                    } else if c.signs_with_keys() {
                        "confidential (keys)"
                    } else {
                        "confidential"
                    };
                    let grants: Vec<&str> = c.grant_types.iter().map(|g| g.as_str()).collect();
                    vec![
                        c.client_id.clone(),
                        c.display_name().to_owned(),
                        kind.to_owned(),
                        yes_no(c.first_party),
                        grants.join(" "),
                        c.scopes.join(" "),
                        c.redirect_uris.join(" "),
                    ]
                })
                .collect();
            let header = [
                "CLIENT ID",
                "NAME",
                "TYPE",
                "FIRST-PARTY",
                "GRANT TYPES",
                "SCOPES",
                "REDIRECT URIS",
            ];
            print!("{}", table(&header, &rows));
        }
        ClientCommand::Access {
            client_id,
            groups,
            everyone,
        } => {
            let now = if groups.is_empty() && !everyone {
                admin.client_access(&client_id).await?
            } else {
                admin.set_client_access(&client_id, groups).await?
            };
            if now.is_empty() {
                println!("every user may use {client_id}");
            } else {
                let names: Vec<&str> = now.iter().map(|g| g.name.as_str()).collect();
                println!("only members of {} may use {client_id}", names.join(", "));
            }
        }
        ClientCommand::Update {
            client_id,
            redirect_uris,
            post_logout_redirect_uris,
            scopes,
            grant_types,
            first_party,
            jwks,
            jwks_uri,
            require_par,
            require_signed_requests,
            require_dpop,
            require_confirmed_address,
            display,
            clear,
        } => {
            let given = |v: Vec<String>| (!v.is_empty()).then_some(v);
            let field = |v: Option<String>, which: ClientField| {
                if clear.contains(&which) {
                    Some(None)
                } else {
                    v.map(Some)
                }
            };
            let post_logout = if clear.contains(&ClientField::PostLogoutRedirectUris) {
                Some(Vec::new())
            } else {
                given(post_logout_redirect_uris)
            };
            let patch = ClientPatch {
                redirect_uris: given(redirect_uris),
                post_logout_redirect_uris: post_logout,
                scopes: given(scopes),
                grant_types: given(grant_types),
                first_party,
                display_name: field(display.display_name, ClientField::DisplayName),
                logo_uri: field(display.logo_uri, ClientField::LogoUri),
                home_uri: field(display.home_uri, ClientField::HomeUri),
                id_token_claims: if clear.contains(&ClientField::IdTokenClaims) {
                    Some(None)
                } else {
                    given(display.id_token_claims).map(Some)
                },
                id_token_signed_response_alg: display.id_token_alg,
                backchannel_logout_uri: field(
                    display.backchannel_logout_uri,
                    ClientField::BackchannelLogoutUri,
                ),
                access_token_format: display.access_token_format,
                auth_policy: display.auth_policy,
                jwks: jwks.as_deref().map(read_jwks).transpose()?,
                jwks_uri,
                require_pushed_authorization_requests: require_par,
                require_signed_request_object: require_signed_requests,
                dpop_bound_access_tokens: require_dpop,
                require_confirmed_address,
                access_token_claims: if clear.contains(&ClientField::AccessTokenClaims) {
                    Some(Vec::new())
                } else {
                    given(display.access_token_claims)
                },
                resources: if clear.contains(&ClientField::Resources) {
                    Some(Vec::new())
                } else {
                    given(display.resources)
                },
                introspects: if clear.contains(&ClientField::Introspects) {
                    Some(Vec::new())
                } else {
                    given(display.introspects)
                },
                subject_type: display.subject_type,
                sector_identifier: display.sector,
            };
            let client = admin.update_client(&client_id, patch).await?;
            println!(
                "client {} updated ({})",
                client.client_id,
                client.display_name()
            );
        }
        ClientCommand::RotateSecret { client_id, overlap } => {
            let (secret, until) = admin.rotate_client_secret(&client_id, overlap).await?;
            println!("new client secret (shown once, store it now): {secret}");
            if overlap > 0 {
                println!("the previous secret keeps working until {}", rfc3339(until));
            } else {
                println!("the previous secret no longer works");
            }
        }
        ClientCommand::Subject {
            client_id,
            user,
            sub,
        } => {
            let found = match (user, sub) {
                (Some(username), _) => {
                    let who = SubjectOf::User(username);
                    admin.client_subject(&client_id, who).await?.sub
                }
                (None, Some(sub)) => {
                    let who = SubjectOf::Sub(sub);
                    admin.client_subject(&client_id, who).await?.username
                }
                (None, None) => anyhow::bail!("name a person (--user) or a sub (--sub)"),
            };
            println!("{found}");
        }
        ClientCommand::Logo {
            client_id, image, ..
        } => {
            let said = match image {
                Some(path) => {
                    let given = admin
                        .give_client_logo(&client_id, read_image(&path)?)
                        .await?;
                    if given.changed {
                        "has the new logo"
                    } else {
                        "had this logo already"
                    }
                }
                None if admin.remove_client_logo(&client_id).await? => "has no logo now",
                None => "had no logo",
            };
            println!("client {client_id} {said}");
        }
        ClientCommand::Remove { client_id } => {
            admin.remove_client(&client_id).await?;
            println!("client {client_id} removed");
        }
    }
    Ok(())
}

/// The image in the file at `path`. A file larger than the largest logo is refused by its size,
/// unread; one that grows while it is read is read up to one byte past it (and then refused).
fn read_image(path: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    use std::io::Read as _;
    let failed = |e: std::io::Error| anyhow::anyhow!("--image {}: {e}", path.display());
    let file = std::fs::File::open(path).map_err(failed)?;
    let size = file.metadata().map_err(failed)?.len();
    if size > crate::branding::MAX_LOGO_BYTES as u64 {
        let why = crate::admin::Refusal::Logo(crate::branding::LogoProblem::TooLarge(size));
        anyhow::bail!("--image {}: {why}", path.display());
    }
    let mut bytes = Vec::new();
    file.take(crate::branding::MAX_LOGO_BYTES as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(failed)?;
    Ok(bytes)
}
