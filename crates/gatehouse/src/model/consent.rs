use serde::{Deserialize, Serialize};

use crate::clock::UnixTime;

/// What a user allowed a client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Consent {
    pub client_id: String,
    pub scope: String,
    pub granted_at: UnixTime,
}
