use super::named;
use crate::clock::UnixTime;

named! {
    /// What a security notice tells a person about their account: a change that lets someone
    /// sign in as them, or takes a way of signing in away (`auth::notices`).
    pub enum NoticeKind ("security notice") {
        /// They changed their password on their account page.
        PasswordChanged = "password_changed",
        /// They removed their password on their account page: they sign in with a passkey.
        PasswordRemoved = "password_removed",
        /// Their password was changed with a reset link mailed to them.
        PasswordReset = "password_reset",
        /// An administrator set their password.
        PasswordSet = "password_set",
        /// An authenticator app was set up for them (on their account page, or when a sign-in
        /// asked for one).
        TotpAdded = "totp_added",
        /// Their authenticator app was replaced by another.
        TotpReplaced = "totp_replaced",
        /// Their authenticator app (and its recovery codes) was removed.
        TotpRemoved = "totp_removed",
        /// A passkey was added to their account.
        PasskeyAdded = "passkey_added",
        /// A passkey was removed from their account.
        PasskeyRemoved = "passkey_removed",
        /// Their recovery codes were replaced by a new set.
        RecoveryCodesReplaced = "recovery_codes_replaced",
        /// A recovery code was spent to sign in as them.
        RecoveryCodeUsed = "recovery_code_used",
        /// An administrator removed their second factors.
        FactorsReset = "factors_reset",
        /// Their email address was changed: told at the address it was (the new one, if any,
        /// in the detail).
        AddressChanged = "address_changed",
        /// Someone signed in as them from a browser that had not signed in as them before (its
        /// `User-Agent` in the detail).
        NewSignIn = "new_sign_in",
        /// They removed their own account (`serve --account-removal`): told after it is gone.
        AccountRemoved = "account_removed",
        /// An administrator removed their account: told after it is gone.
        RemovedByAdministrator = "removed_by_administrator",
    }
}

impl NoticeKind {
    /// Whether an administrator made the change (not the person, nor someone signed in as
    /// them): the notice then says to ask them, not to secure the account.
    pub fn by_administrator(self) -> bool {
        matches!(
            self,
            NoticeKind::PasswordSet | NoticeKind::FactorsReset | NoticeKind::RemovedByAdministrator
        )
    }
}

/// A mail telling a person of a change to their account, as decided: to whom, what, when and
/// from where. The words are chosen when it is sent, in the person's language then.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    pub user_id: String,
    pub kind: NoticeKind,
    /// The address it goes to: the person's when the change was made (the old one, for a new
    /// address).
    pub to: String,
    /// What the words need besides the kind: the new address, for
    /// [`NoticeKind::AddressChanged`]; the browser's `User-Agent`, for
    /// [`NoticeKind::NewSignIn`].
    pub detail: Option<String>,
    /// The address the change came from, when a request made it.
    pub ip: Option<String>,
    pub at: UnixTime,
    /// Sending it after this would be news too old to act on: it is given up.
    pub expires_at: UnixTime,
    /// For a notice sent after its account is gone (its removal): what its words need of the
    /// account, kept with it. `None`: read from the account when it is sent.
    pub farewell: Option<Farewell>,
}

/// What a notice that outlives its account keeps of it: the name it greets and the language
/// it speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Farewell {
    pub username: String,
    pub locale: Option<String>,
}

/// A notice waiting in the outbox, with what its words need of its person as they are now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedNotice {
    pub id: i64,
    pub notice: Notice,
    pub username: String,
    /// The person's language (`locale`), for the words.
    pub locale: Option<String>,
    /// The attempts made to send it before this one.
    pub attempts: u32,
}
