//! `gatehouse group …`: groups and their members from the command line.

use clap::Subcommand;

use super::claims::ClaimArgs;
use crate::admin::{Admin, GroupPatch, NewGroup};
use crate::model::{AuthPolicy, ClaimOwner};
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum GroupCommand {
    /// Create a group
    Add {
        /// 1 to 64 characters of lower-case letters, digits, '.', '_' or '-', at least one a
        /// letter or digit; applications see it in the groups claim
        name: String,
        /// What the group is for, for people
        #[arg(long, allow_hyphen_values = true)]
        description: Option<String>,
        /// What its members must prove to sign in anywhere: password (the default), two_factor
        /// or passkey
        #[arg(long, value_name = "POLICY")]
        auth_policy: Option<AuthPolicy>,
    },
    /// List groups
    List,
    /// Rename a group; its members stay
    Rename {
        /// The group, by name
        name: String,
        /// Its new name
        new_name: String,
    },
    /// Set a group's description, or remove it when none is given
    Describe {
        /// The group, by name
        name: String,
        /// The new description (none: remove it)
        #[arg(allow_hyphen_values = true)]
        description: Option<String>,
    },
    /// Set what a group's members must prove to sign in anywhere (the strictest of their
    /// groups' and the client's policies applies)
    Policy {
        /// The group, by name
        name: String,
        /// password; two_factor (an authenticator app's code or a passkey too; members without
        /// either set up an app when they next sign in); or passkey (members without one add one
        /// when they next sign in)
        policy: AuthPolicy,
    },
    /// Delete a group and its memberships
    Remove {
        /// The group, by name
        name: String,
    },
    /// Show the custom claims a group's members carry, or set and remove them: released with
    /// the profile scope, a user's own before their groups'
    Claims {
        /// The group, by name
        name: String,
        #[command(flatten)]
        change: ClaimArgs,
    },
    /// List a group's members
    Members {
        /// The group, by name
        name: String,
    },
    /// Add users to a group
    AddMember {
        /// The group, by name
        name: String,
        /// The users, by username
        #[arg(required = true)]
        usernames: Vec<String>,
    },
    /// Remove users from a group
    RemoveMember {
        /// The group, by name
        name: String,
        /// The users, by username
        #[arg(required = true)]
        usernames: Vec<String>,
    },
}

pub(super) async fn group(
    store: &dyn Store,
    admin: &Admin<'_>,
    cmd: GroupCommand,
) -> anyhow::Result<()> {
    match cmd {
        GroupCommand::Add {
            name,
            description,
            auth_policy,
        } => {
            let new = NewGroup {
                name,
                description,
                auth_policy: auth_policy.unwrap_or_default(),
            };
            let group = admin.add_group(new).await?;
            println!("group {} added", group.name);
        }
        GroupCommand::List => {
            let rows: Vec<Vec<String>> = store
                .list_groups()
                .await?
                .into_iter()
                .map(|g| {
                    vec![
                        g.name,
                        g.auth_policy.to_string(),
                        g.description.unwrap_or_default(),
                    ]
                })
                .collect();
            print!(
                "{}",
                super::table(&["NAME", "SIGN-IN", "DESCRIPTION"], &rows)
            );
        }
        GroupCommand::Rename { name, new_name } => {
            let patch = GroupPatch {
                name: Some(new_name),
                ..GroupPatch::default()
            };
            let group = admin.update_group(&name, patch).await?;
            println!("group {name} renamed to {}", group.name);
        }
        GroupCommand::Describe { name, description } => {
            let patch = GroupPatch {
                description: Some(description),
                ..GroupPatch::default()
            };
            admin.update_group(&name, patch).await?;
            println!("group {name} described");
        }
        GroupCommand::Policy { name, policy } => {
            let patch = GroupPatch {
                auth_policy: Some(policy),
                ..GroupPatch::default()
            };
            admin.update_group(&name, patch).await?;
            println!("group {name}: sign-ins of its members need {policy}");
        }
        GroupCommand::Remove { name } => {
            admin.delete_group(&name).await?;
            println!("group {name} removed");
        }
        GroupCommand::Claims { name, change } => {
            super::claims::claims(admin, ClaimOwner::Group(name), change).await?;
        }
        GroupCommand::Members { name } => {
            for u in admin.members(&name).await? {
                println!("{}", u.username);
            }
        }
        GroupCommand::AddMember { name, usernames } => {
            for username in usernames {
                if admin.add_member(&name, &username).await? {
                    println!("{username} added to {name}");
                } else {
                    println!("{username} was a member of {name} already");
                }
            }
        }
        GroupCommand::RemoveMember { name, usernames } => {
            for username in usernames {
                if admin.remove_member(&name, &username).await? {
                    println!("{username} removed from {name}");
                } else {
                    println!("{username} was not a member of {name}");
                }
            }
        }
    }
    Ok(())
}
