//! `gatehouse user …`: accounts, passwords, profiles, sessions and consents from the command
//! line.

use clap::Subcommand;

use super::claims::ClaimArgs;
use super::{read_secret, rfc3339, table, yes_no};
use crate::admin::{Admin, NewUser, ProfileChange, UserEdits, UserView};
use crate::auth::passwords::Passwords;
use crate::model::ClaimOwner;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user; the password is read from standard input
    Add {
        /// 1 to 64 characters: letters and digits of one script, and '.', '-', '_', '@' or
        /// '+'; stored in lower case (Unicode NFKC)
        #[arg(long)]
        username: String,
        /// The email address (the email claim; unverified unless --email-verified)
        #[arg(long)]
        email: String,
        /// The address is known to be the person's (the email_verified claim)
        #[arg(long)]
        email_verified: bool,
        /// The display name (the name claim)
        #[arg(long, allow_hyphen_values = true)]
        name: Option<String>,
        #[command(flatten)]
        profile: ProfileArgs,
    },
    /// List users as a table: username, email, whether it is verified, name, state, id
    List {
        /// One JSON array instead, as the admin API shows users
        #[arg(long)]
        json: bool,
    },
    /// Change a user's email address or profile; what is not given stays
    Update {
        /// The user, by username
        username: String,
        /// A new address (unverified unless --email-verified is given too)
        #[arg(long)]
        email: Option<String>,
        /// The address is known to be the person's
        #[arg(long, conflicts_with = "email_unverified")]
        email_verified: bool,
        /// The address is not known to be the person's
        #[arg(long)]
        email_unverified: bool,
        /// The display name
        #[arg(long, allow_hyphen_values = true)]
        name: Option<String>,
        #[command(flatten)]
        profile: ProfileArgs,
        /// Remove these fields: name, given-name, family-name, locale, picture (repeat for several)
        #[arg(long, value_name = "FIELD")]
        clear: Vec<ProfileField>,
    },
    /// Disable a user: they can no longer log in, their sessions end and their tokens are
    /// revoked (enabling them again brings none of it back)
    Disable {
        /// The user, by username
        username: String,
    },
    /// Enable a disabled user again
    Enable {
        /// The user, by username
        username: String,
    },
    /// Remove a user's account and everything of theirs (sessions, tokens, consents, group
    /// memberships, second factors, passkeys, claims); the applications they signed in to are
    /// told their sessions ended, and the audit log keeps its records of them. Where the
    /// server sends mail, they are told at the address the account had, unless it is disabled
    Remove {
        /// The user, by username
        username: String,
    },
    /// Set a user's password, read from standard input; their sessions end and their tokens
    /// are revoked
    SetPassword {
        /// The user, by username
        username: String,
    },
    /// Make a link with which a user who lost their passkey adds another, to hand over: it
    /// works once, for 24 hours, and signs them out everywhere else; shown only now
    PasskeyLink {
        /// The user, by username
        username: String,
        /// The issuer URL the server is reached at (as `serve --issuer`): the link is below it
        #[arg(long, env = "GATEHOUSE_ISSUER")]
        issuer: url::Url,
    },
    /// List a user's live sessions, newest first: when each began, was last used and ends,
    /// whether its person asked to keep it ("Keep me signed in"), and the browser and address
    /// it was signed in from
    Sessions {
        /// The user, by username
        username: String,
    },
    /// End every session of a user and revoke every refresh token they hold
    Logout {
        /// The user, by username
        username: String,
    },
    /// Let a user whose failed attempts paused their sign-ins (a wait that grows, then the
    /// lockout) sign in again at once: their count of failures is forgotten. The count of the
    /// address they tried from, which others share, is left as it is
    Unlock {
        /// The user, by username
        username: String,
    },
    /// Let a user sign in to applications only with a confirmed address at these domains, as a
    /// sign-up link for them would have: the rule they had, if any, is replaced. Until their
    /// address is a confirmed one there, applications get nothing from their account
    SetAddressRule {
        /// The user, by username
        username: String,
        /// A domain their address may be at (repeat for several; a subdomain is another
        /// domain)
        #[arg(long = "domain", value_name = "DOMAIN", required = true)]
        domains: Vec<String>,
    },
    /// Let a user whose account has an address rule (a sign-up link's for some domains, or an
    /// administrator's) sign in to applications with an address anywhere (confirmed where an
    /// application requires it): the rule is lifted
    LiftAddressRule {
        /// The user, by username
        username: String,
    },
    /// Show whether a user has a password, and their second factors: their authenticator app,
    /// how many recovery codes are left and their passkeys (never a secret)
    Factors {
        /// The user, by username
        username: String,
    },
    /// Remove a user's authenticator app and recovery codes (a lost phone); where a policy
    /// requires a second factor, they set up a new app at their next sign-in
    ResetFactors {
        /// The user, by username
        username: String,
    },
    /// List the groups a user is in
    Groups {
        /// The user, by username
        username: String,
    },
    /// Show a user's custom claims, or set and remove them: released with the profile scope,
    /// a user's own before their groups'
    Claims {
        /// The user, by username
        username: String,
        #[command(flatten)]
        change: ClaimArgs,
    },
    /// Print what gatehouse holds about a user as JSON, as they download it from their account
    /// page (their profile, groups, two-step verification, sessions, the applications they
    /// allowed and their recent activity; no secret): for answering their request for it
    Data {
        /// The user, by username
        username: String,
        /// The issuer URL the server is reached at (as `serve --issuer`), named in the file
        #[arg(long, env = "GATEHOUSE_ISSUER")]
        issuer: url::Url,
    },
    /// List what a user allowed third-party clients, or withdraw it
    Consents {
        /// The user, by username
        username: String,
        /// Withdraw the consent given to this client, revoking its tokens for the user
        #[arg(long, value_name = "CLIENT_ID")]
        revoke: Option<String>,
    },
}

/// The profile claims a user may carry (OpenID Connect Core §5.1).
#[derive(Debug, clap::Args)]
pub struct ProfileArgs {
    /// The given_name claim
    #[arg(long, allow_hyphen_values = true)]
    given_name: Option<String>,
    /// The family_name claim
    #[arg(long, allow_hyphen_values = true)]
    family_name: Option<String>,
    /// A BCP 47 language tag, such as en-GB (the locale claim; pages and mail speak it to
    /// the person when they speak a language that matches it)
    #[arg(long)]
    locale: Option<String>,
    /// An https URL of a picture of the person (the picture claim)
    #[arg(long)]
    picture: Option<String>,
}

/// A profile field `user update --clear` removes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProfileField {
    Name,
    GivenName,
    FamilyName,
    Locale,
    Picture,
}

pub(super) async fn user(
    store: &dyn Store,
    admin: &Admin<'_>,
    cmd: UserCommand,
) -> anyhow::Result<()> {
    let passwords = Passwords::new(1);
    match cmd {
        UserCommand::Add {
            username,
            email,
            email_verified,
            name,
            profile,
        } => {
            // Checked before the password is asked for.
            crate::admin::check_user_fields(&username, &email)?;
            let checked = crate::model::Profile {
                given_name: profile.given_name.clone(),
                family_name: profile.family_name.clone(),
                locale: profile.locale.clone(),
                picture: profile.picture.clone(),
                updated_at: None,
            };
            crate::admin::check_profile(name.as_deref(), &checked)?;
            let password = read_secret("Password for the new user: ")?;
            let new = NewUser {
                username,
                email,
                email_verified,
                name,
                given_name: profile.given_name,
                family_name: profile.family_name,
                locale: profile.locale,
                picture: profile.picture,
                password,
            };
            let user = admin.add_user(&passwords, new).await?;
            println!("user {} added (sub {})", user.username, user.id);
        }
        UserCommand::List { json } => {
            let users = store.list_users().await?;
            if json {
                let views: Vec<UserView> = users.into_iter().map(UserView::from).collect();
                println!("{}", serde_json::to_string_pretty(&views)?);
                return Ok(());
            }
            let rows: Vec<Vec<String>> = users
                .into_iter()
                .map(|u| {
                    vec![
                        u.username,
                        u.email,
                        yes_no(u.email_verified),
                        u.name.unwrap_or_default(),
                        (if u.disabled { "disabled" } else { "active" }).to_owned(),
                        u.id,
                    ]
                })
                .collect();
            let header = ["USERNAME", "EMAIL", "VERIFIED", "NAME", "STATE", "ID"];
            print!("{}", table(&header, &rows));
        }
        UserCommand::Disable { username } => {
            let out = admin.set_disabled(&username, true).await?;
            println!(
                "user {username} disabled: {} sessions ended, {} token families revoked",
                out.sessions, out.token_families
            );
        }
        UserCommand::Enable { username } => {
            admin.set_disabled(&username, false).await?;
            println!("user {username} enabled");
        }
        UserCommand::Remove { username } => {
            let out = admin.remove_user(&username).await?;
            println!(
                "user {username} removed: {} sessions ended, {} token families revoked",
                out.sessions, out.token_families
            );
        }
        UserCommand::Update {
            username,
            email,
            email_verified,
            email_unverified,
            name,
            profile,
            clear,
        } => {
            let field = |given: Option<String>, which: ProfileField| {
                if clear.contains(&which) {
                    Some(None)
                } else {
                    given.map(Some)
                }
            };
            let change = ProfileChange {
                name: field(name, ProfileField::Name),
                given_name: field(profile.given_name, ProfileField::GivenName),
                family_name: field(profile.family_name, ProfileField::FamilyName),
                locale: field(profile.locale, ProfileField::Locale),
                picture: field(profile.picture, ProfileField::Picture),
            };
            let verified = match (email_verified, email_unverified) {
                (true, _) => Some(true),
                (_, true) => Some(false),
                _ => None,
            };
            // Every field checked before any is written: all of them are made, or none.
            let edits = UserEdits {
                email,
                email_verified: verified,
                profile: change,
                ..UserEdits::default()
            };
            let user = admin.edit_user(&passwords, &username, edits).await?;
            let verified = if user.email_verified {
                "verified"
            } else {
                "unverified"
            };
            println!(
                "user {} updated ({}, {verified})",
                user.username, user.email
            );
        }
        UserCommand::Claims { username, change } => {
            super::claims::claims(admin, ClaimOwner::User(username), change).await?;
        }
        UserCommand::Groups { username } => {
            for g in admin.user_groups(&username).await? {
                println!("{}", g.name);
            }
        }
        UserCommand::Sessions { username } => {
            let rows: Vec<Vec<String>> = admin
                .sessions(&username)
                .await?
                .into_iter()
                .map(|s| {
                    let browser = s.user_agent.as_deref().map(|ua| {
                        crate::auth::browsers::describe(ua)
                            .map_or_else(|| "unknown".to_owned(), |d| d.to_string())
                    });
                    vec![
                        rfc3339(s.auth_time),
                        rfc3339(s.last_seen_at),
                        rfc3339(s.expires_at),
                        if s.kept { "yes" } else { "no" }.to_owned(),
                        browser.unwrap_or_else(|| "-".to_owned()),
                        s.ip.unwrap_or_else(|| "-".to_owned()),
                    ]
                })
                .collect();
            let header = ["SIGNED IN", "LAST USED", "ENDS", "KEPT", "BROWSER", "FROM"];
            print!("{}", table(&header, &rows));
        }
        UserCommand::Logout { username } => {
            let out = admin.logout(&username).await?;
            println!(
                "{username}: {} sessions ended, {} token families revoked",
                out.sessions, out.token_families
            );
        }
        UserCommand::Unlock { username } => {
            let done = admin.unlock(&username).await?;
            match (done.paused_until, done.forgotten) {
                (Some(until), _) => println!(
                    "{username}: could not sign in until {}; can sign in again now",
                    rfc3339(until)
                ),
                (None, true) => {
                    println!("{username}: was not paused; their failed attempts are forgotten")
                }
                (None, false) => println!("{username}: no failed attempts to forget"),
            }
        }
        UserCommand::SetAddressRule { username, domains } => {
            let set = admin.set_address_rule(&username, &domains).await?;
            let now = set.domains.join(", ");
            if set.before == set.domains {
                println!("{username}: signs in only with a confirmed address at {now} already");
            } else if set.before.is_empty() {
                println!("{username}: signs in only with a confirmed address at {now} now");
            } else {
                println!(
                    "{username}: signs in only with a confirmed address at {now} now (was: at {})",
                    set.before.join(", ")
                );
            }
        }
        UserCommand::LiftAddressRule { username } => {
            let lifted = admin.lift_address_rule(&username).await?;
            if lifted.is_empty() {
                println!("{username}: has no address rule");
            } else {
                println!(
                    "{username}: signs in with an address anywhere now (was: a confirmed address \
                     at {})",
                    lifted.join(", ")
                );
            }
        }
        UserCommand::Factors { username } => {
            let user = admin.user(&username).await?;
            let f = admin.factors(&username).await?;
            match user.password_hash {
                Some(_) => println!("password: set"),
                None => println!("password: none (signs in with a passkey)"),
            }
            match f.totp_enrolled_at {
                Some(at) => println!("authenticator app: enrolled {}", rfc3339(at)),
                None => println!("authenticator app: none"),
            }
            println!("recovery codes left: {}", f.recovery_codes_left);
            for k in &f.passkeys {
                let used = k.last_used_at.map_or_else(|| "never".to_owned(), rfc3339);
                println!(
                    "passkey: {:?} added {}, last used {used}",
                    k.name,
                    rfc3339(k.created_at)
                );
            }
        }
        UserCommand::ResetFactors { username } => {
            let had = admin.reset_factors(&username).await?;
            let app = if had.has_app() {
                "authenticator app"
            } else {
                "no authenticator app"
            };
            println!(
                "{username}: {app}, {} recovery codes and {} passkeys removed",
                had.recovery_codes_left,
                had.passkeys.len()
            );
            if admin.user(&username).await?.password_hash.is_none() {
                println!(
                    "{username} has no password, so cannot sign in now: give them one with \
                     `user set-password {username}`, or they reset it by mail, or give them a \
                     passkey link (`user passkey-link {username}`)"
                );
            }
        }
        UserCommand::PasskeyLink { username, issuer } => {
            use crate::auth::email_links::{self, NoPasskeyLink};
            let issuer = issuer.as_str().trim_end_matches('/');
            let authority = crate::auth::passkeys::Authority::new(issuer);
            let secret = match admin.passkey_link(&username, authority.is_ok()).await? {
                Ok((secret, _)) => secret,
                Err(NoPasskeyLink::PasskeysUnavailable) => {
                    let why = authority.err().unwrap_or_default();
                    anyhow::bail!("no passkey link: {why}")
                }
                Err(NoPasskeyLink::Disabled) => anyhow::bail!(
                    "{username} is disabled: enable them first (`user enable {username}`)"
                ),
                Err(NoPasskeyLink::TooSoon) => anyhow::bail!(
                    "a link for {username} was made less than a minute ago; try again in a minute"
                ),
            };
            let purpose = crate::model::EmailPurpose::Passkey;
            let hours = email_links::ttl(purpose) / 3600;
            println!("{issuer}{}", email_links::path_and_query(purpose, &secret));
            eprintln!(
                "give it to {username} yourself, over a channel you trust: whoever opens it can \
                 add a passkey to the account, once, within {hours} hours, and sign in with it; \
                 every session of the account is then signed out. It is shown only now."
            );
        }
        UserCommand::Data { username, issuer } => {
            let issuer = issuer.as_str().trim_end_matches('/');
            let data = admin.person_data(&username, issuer).await?;
            println!(
                "{}",
                serde_json::to_string_pretty(&data).unwrap_or_default()
            );
        }
        UserCommand::Consents { username, revoke } => match revoke {
            Some(client_id) => {
                admin.revoke_consent(&username, &client_id).await?;
                println!("consent of {username} for {client_id} withdrawn; its tokens are revoked");
            }
            None => {
                let user = admin.user(&username).await?;
                for c in store.consents(&user.id).await? {
                    println!("{}\t{}\t{}", c.client_id, c.scope, rfc3339(c.granted_at));
                }
            }
        },
        UserCommand::SetPassword { username } => {
            admin.user(&username).await?;
            let password = read_secret("New password: ")?;
            let out = admin.set_password(&passwords, &username, password).await?;
            println!(
                "password of {username} changed: {} sessions ended, {} token families revoked",
                out.sessions, out.token_families
            );
        }
    }
    Ok(())
}
