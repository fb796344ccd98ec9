//! `gatehouse signup-link …`: links with which people make their own accounts.

use clap::Subcommand;

use super::{rfc3339, table};
use crate::admin::Admin;
use crate::auth::signup::{self, DEFAULT_DAYS, LinkSpec, MAX_DAYS, MAX_USES, NoSignup};

#[derive(Debug, Subcommand)]
pub enum SignupLinkCommand {
    /// Make a link with which up to N people each make their own account (with a password
    /// they choose, or a passkey where passkeys work), put in the groups named, until it
    /// expires; printed only now
    Add {
        /// How many people may sign up with it (1 to 1000)
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_USES)))]
        uses: u32,
        /// For how many days it works (1 to 90)
        #[arg(long, default_value_t = DEFAULT_DAYS, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_DAYS)))]
        days: u32,
        /// Put each person in this group (repeat for several)
        #[arg(long = "group", value_name = "GROUP")]
        groups: Vec<String>,
        /// Only for addresses at this domain (repeat for several; a subdomain is another
        /// domain). The accounts it makes keep the rule: they sign in to applications only
        /// once their address there is confirmed
        #[arg(long = "domain", value_name = "DOMAIN")]
        domains: Vec<String>,
        /// Whom it is for, for the administrators who list the links later
        #[arg(long, default_value = "", allow_hyphen_values = true)]
        note: String,
        /// The issuer URL the server is reached at (as `serve --issuer`): the link is below it
        #[arg(long, env = "GATEHOUSE_ISSUER")]
        issuer: url::Url,
    },
    /// List the sign-up links, newest first: how many people used each, of how many, and
    /// until when it works
    List,
    /// Remove a sign-up link: it makes no more accounts; those it made stay
    Remove {
        /// The link, by the id `list` shows
        id: String,
    },
}

pub(super) async fn signup_link(admin: &Admin<'_>, cmd: SignupLinkCommand) -> anyhow::Result<()> {
    match cmd {
        SignupLinkCommand::Add {
            uses,
            days,
            groups,
            domains,
            note,
            issuer,
        } => {
            let spec = LinkSpec {
                uses,
                days,
                note,
                groups,
                domains,
            };
            let (secret, link) = admin.make_signup_link(spec).await?;
            let issuer = issuer.as_str().trim_end_matches('/');
            println!("{issuer}{}", signup::path_and_query(&secret));
            let people = if link.max_uses == 1 {
                "one person".to_owned()
            } else {
                format!("{} people", link.max_uses)
            };
            let at = if link.domains.is_empty() {
                String::new()
            } else {
                format!(
                    " with an address at {} (signing in to applications once it is confirmed)",
                    link.domains.join(" or ")
                )
            };
            eprintln!(
                "sign-up link {} made: it lets {people} make an account{at} until {}. Whoever \
                 has it can use it: give it only where those people are. It is shown only now.",
                link.id,
                rfc3339(link.expires_at)
            );
        }
        SignupLinkCommand::List => {
            let now = admin.now();
            let rows: Vec<Vec<String>> = admin
                .signup_links()
                .await?
                .into_iter()
                .map(|l| {
                    let state = match signup::admit(Some(&l), now) {
                        Ok(()) => "works",
                        Err(NoSignup::Expired) => "expired",
                        Err(NoSignup::UsedUp) => "used up",
                        Err(NoSignup::Unknown) => "removed",
                    };
                    vec![
                        l.id.clone(),
                        format!("{} of {}", l.uses, l.max_uses),
                        state.to_owned(),
                        rfc3339(l.expires_at),
                        if l.groups.is_empty() {
                            "-".to_owned()
                        } else {
                            l.groups.join(",")
                        },
                        if l.domains.is_empty() {
                            "any".to_owned()
                        } else {
                            l.domains.join(",")
                        },
                        l.note.clone(),
                    ]
                })
                .collect();
            let header = [
                "ID",
                "USED",
                "STATE",
                "WORKS UNTIL",
                "GROUPS",
                "ADDRESSES AT",
                "NOTE",
            ];
            print!("{}", table(&header, &rows));
        }
        SignupLinkCommand::Remove { id } => {
            admin.remove_signup_link(&id).await?;
            println!("sign-up link {id} removed: it makes no more accounts");
        }
    }
    Ok(())
}
