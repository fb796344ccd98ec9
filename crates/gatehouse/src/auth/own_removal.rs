//! A person removing their own account from their account page, where the deployment lets
//! people do so (`serve --account-removal`; off unless given, as in most organisations the
//! administrators decide who has an account).

/// What the account page offers a person about removing their own account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offer {
    /// The deployment does not let people remove their accounts: the page says nothing of it,
    /// and a form sent anyway is refused.
    Off,
    /// They administer the server: another administrator removes their account, so that a slip
    /// cannot leave the administration pages without anyone to use them.
    AskAnotherAdministrator,
    /// They may remove it, once they type their username to confirm.
    Offered,
}

/// Why a removal sent from the account page was not made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// The page does not offer it (`Offer::Off`, or `Offer::AskAnotherAdministrator`).
    NotOffered(Offer),
    /// What they typed is not their username.
    NotConfirmed,
}

/// What the page offers a person who is an administrator or not, where the deployment lets
/// people remove their accounts (`allowed`) or not.
pub fn offer(allowed: bool, administrator: bool) -> Offer {
    match (allowed, administrator) {
        (false, _) => Offer::Off,
        (true, true) => Offer::AskAnotherAdministrator,
        (true, false) => Offer::Offered,
    }
}

/// Decides a removal sent from the page: `Ok` when the account may be removed, `typed` (the
/// confirmation, spaces around it aside) being exactly the person's `username`.
///
/// # Errors
/// Why not.
pub fn decide(offer: Offer, typed: &str, username: &str) -> Result<(), Refused> {
    if offer != Offer::Offered {
        return Err(Refused::NotOffered(offer));
    }
    if typed.trim() != username {
        return Err(Refused::NotConfirmed);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_person_who_administers_nothing_is_offered_it_and_only_where_allowed() {
        assert_eq!(offer(false, false), Offer::Off);
        assert_eq!(offer(false, true), Offer::Off);
        assert_eq!(offer(true, true), Offer::AskAnotherAdministrator);
        assert_eq!(offer(true, false), Offer::Offered);
    }

    #[test]
    fn a_removal_needs_the_offer_and_the_exact_username() {
        use Offer::*;
        let cases: &[(Offer, &str, Result<(), Refused>)] = &[
            (Offered, "grace", Ok(())),
            (Offered, "  grace\n", Ok(())),
            (Offered, "Grace", Err(Refused::NotConfirmed)),
            (Offered, "grac", Err(Refused::NotConfirmed)),
            (Offered, "", Err(Refused::NotConfirmed)),
            (Off, "grace", Err(Refused::NotOffered(Off))),
            (
                AskAnotherAdministrator,
                "grace",
                Err(Refused::NotOffered(AskAnotherAdministrator)),
            ),
        ];
        for (offer, typed, want) in cases {
            assert_eq!(decide(*offer, typed, "grace"), *want, "{offer:?} {typed:?}");
        }
    }
}
