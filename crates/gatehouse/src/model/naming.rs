//! What a request named that exists already or does not exist: a value, so that each page
//! says it in its own language and the command line and the admin API in English (`Display`).

/// Something a request named, as it named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// A person, by username.
    User(String),
    /// A person, by id (`sub`).
    UserId(String),
    /// A new username (the first) that looks like an existing one (the second).
    LookAlike(String, String),
    /// An application, by client id.
    Client(String),
    Group(String),
    /// A sign-up link, by id.
    SignupLink(String),
    /// What a person (by id) allowed an application.
    Consent {
        user_id: String,
        client_id: String,
    },
    /// What the database named: a unique rule nothing else names.
    Other(String),
}

impl std::fmt::Display for Named {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Named::User(name) => write!(f, "user {name:?}"),
            Named::UserId(id) => write!(f, "user {id}"),
            Named::LookAlike(name, existing) => {
                write!(
                    f,
                    "user {name:?}, or one that looks the same ({existing:?}),"
                )
            }
            Named::Client(id) => write!(f, "client {id:?}"),
            Named::Group(name) => write!(f, "group {name:?}"),
            Named::SignupLink(id) => write!(f, "sign-up link {id:?}"),
            Named::Consent { user_id, client_id } => {
                write!(f, "consent of user {user_id} for client {client_id:?}")
            }
            Named::Other(what) => f.write_str(what),
        }
    }
}
