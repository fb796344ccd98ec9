//! What a person signs in with, and which of it they may take away. A password and a passkey
//! are each a way in on their own (an authenticator app and recovery codes only follow a
//! password), so a person may go without a password once they have a passkey, and the last
//! of their ways in stays: a person without a password keeps their last passkey.
//!
//! The store loads what the person has inside the transaction that would take something away
//! (their account's row locked first on PostgreSQL, so two removals at once are judged one
//! after the other) and asks [`may_remove`].

/// What a person can sign in with, as the store holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WaysIn {
    /// They have a password.
    pub password: bool,
    /// How many passkeys they have.
    pub passkeys: usize,
}

/// What a person asks to take away.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Their password: they sign in with a passkey from then on.
    Password,
    /// One of their passkeys (one they have: the store looks it up among theirs first).
    Passkey,
}

/// Whether taking `removal` away from a person who has `ways` leaves them a way in.
pub fn may_remove(ways: WaysIn, removal: Removal) -> bool {
    match removal {
        Removal::Password => ways.password && ways.passkeys > 0,
        Removal::Passkey => ways.passkeys > 0 && (ways.password || ways.passkeys > 1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_way_in_stays() {
        let cases = [
            // (password, passkeys, removal, allowed)
            (true, 0, Removal::Password, false),
            (true, 1, Removal::Password, true),
            (true, 3, Removal::Password, true),
            (false, 1, Removal::Password, false),
            (false, 0, Removal::Password, false),
            (true, 1, Removal::Passkey, true),
            (true, 2, Removal::Passkey, true),
            (false, 1, Removal::Passkey, false),
            (false, 2, Removal::Passkey, true),
            (false, 0, Removal::Passkey, false),
            (true, 0, Removal::Passkey, false),
        ];
        for (password, passkeys, removal, allowed) in cases {
            let ways = WaysIn { password, passkeys };
            assert_eq!(
                may_remove(ways, removal),
                allowed,
                "{ways:?} removing {removal:?}"
            );
        }
    }
}
