//! The rules of sign-up links, decided over plain data with the caller's clock: what an
//! administrator may make (how many people, for how long, with what note), and whether a link
//! that comes back may make one more account.
//!
//! A sign-up link is shared, not sent to one address: whoever holds it may make an account,
//! so it is bounded twice (a number of people and a date), and the store counts each use in
//! the transaction that makes the account, so a burst of forms never makes more accounts
//! than it allows.

use crate::clock::UnixTime;
pub use crate::model::NoSignup;
use crate::model::{AuditRecord, SignedUp, SignupLink};

/// The most people one link may sign up: a team's or a class's worth. More, and an
/// open-registration setting would be the honest tool.
pub const MAX_USES: u32 = 1_000;
/// The longest a link may work, in days.
pub const MAX_DAYS: u32 = 90;
/// How long a link works when the administrator does not say: a week, as an invitation.
pub const DEFAULT_DAYS: u32 = 7;
/// The longest note, in characters.
pub const MAX_NOTE: usize = 200;
/// The most groups a link may put people in.
pub const MAX_GROUPS: usize = 32;
/// The most address domains a link may be limited to.
pub const MAX_DOMAINS: usize = 16;

/// How long a link stays listed after it expired, so that its administrators see it did, before
/// the sweep removes it (the audit log keeps its history).
pub const KEPT_AFTER_EXPIRY: i64 = 30 * 24 * 3600;

/// What an administrator asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSpec {
    /// How many people may sign up with it.
    pub uses: u32,
    /// For how many days it works.
    pub days: u32,
    /// Whom it was given to, for the administrators who read the list later.
    pub note: String,
    /// The groups (by name) its people are put in; checked to exist by the store's caller.
    pub groups: Vec<String>,
    /// The domains its people's addresses must be at (`corp.example`; empty: any). The
    /// accounts it makes keep the rule: they sign in to applications only with a confirmed
    /// address at one of them (`address_fits`).
    pub domains: Vec<String>,
}

/// Why a sign-up link was not made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LinkProblem {
    /// `uses` is not between 1 and [`MAX_USES`].
    Uses,
    /// `days` is not between 1 and [`MAX_DAYS`].
    Days,
    /// The note is longer than [`MAX_NOTE`] characters, or holds a line break or an invisible
    /// character.
    Note,
    /// More than [`MAX_GROUPS`] groups.
    Groups,
    /// A domain that is not a domain name, or too many.
    Domains(DomainProblem),
}

/// Why the address domains typed for a link or a rule were refused (`address_domains`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainProblem {
    /// This one is not a domain name.
    NotADomain(String),
    /// More than [`MAX_DOMAINS`].
    TooMany,
}

impl std::fmt::Display for LinkProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LinkProblem::Uses => write!(f, "a sign-up link is for 1 to {MAX_USES} people"),
            LinkProblem::Days => write!(f, "a sign-up link works for 1 to {MAX_DAYS} days"),
            LinkProblem::Note => write!(
                f,
                "a sign-up link's note is at most {MAX_NOTE} characters on one line"
            ),
            LinkProblem::Groups => {
                write!(
                    f,
                    "a sign-up link puts people in at most {MAX_GROUPS} groups"
                )
            }
            LinkProblem::Domains(DomainProblem::TooMany) => write!(
                f,
                "a sign-up link is limited to at most {MAX_DOMAINS} address domains"
            ),
            LinkProblem::Domains(DomainProblem::NotADomain(domain)) => not_a_domain(f, domain),
        }
    }
}

impl std::error::Error for LinkProblem {}

fn not_a_domain(f: &mut std::fmt::Formatter<'_>, domain: &str) -> std::fmt::Result {
    write!(
        f,
        "{domain:?} is not an address domain: give a domain name such as corp.example"
    )
}

/// The link `spec` asks for, made by `actor` at `now`, known by `id` and kept by its secret's
/// hash; its note trimmed, its groups each named once.
///
/// # Errors
/// What is wrong with `spec`.
pub fn new_link(
    spec: LinkSpec,
    id: String,
    secret_hash: String,
    actor: String,
    now: UnixTime,
) -> Result<SignupLink, LinkProblem> {
    if !(1..=MAX_USES).contains(&spec.uses) {
        return Err(LinkProblem::Uses);
    }
    if !(1..=MAX_DAYS).contains(&spec.days) {
        return Err(LinkProblem::Days);
    }
    let note = spec.note.trim().to_owned();
    if note.chars().count() > MAX_NOTE
        || note
            .chars()
            .any(|c| c.is_control() || crate::text::is_invisible(c))
    {
        return Err(LinkProblem::Note);
    }
    let mut groups = spec.groups;
    groups.sort();
    groups.dedup();
    if groups.len() > MAX_GROUPS {
        return Err(LinkProblem::Groups);
    }
    let domains = address_domains(&spec.domains).map_err(LinkProblem::Domains)?;
    Ok(SignupLink {
        id,
        secret_hash,
        note,
        groups,
        domains,
        max_uses: spec.uses,
        uses: 0,
        created_by: actor,
        created_at: now,
        expires_at: now + i64::from(spec.days) * 24 * 3600,
    })
}

/// The address domains an administrator typed, as a link keeps them: each a domain name with
/// at least one dot (a leading `@` and surrounding spaces dropped), in lower case and ASCII
/// (an internationalised name in its `xn--` form, as `url::Host` gives it), each once, sorted.
///
/// # Errors
/// The first that is not a domain name, or too many.
pub fn address_domains(typed: &[String]) -> Result<Vec<String>, DomainProblem> {
    let mut domains = Vec::with_capacity(typed.len());
    for domain in typed {
        let bare = domain.trim().trim_start_matches('@');
        match domain_of(bare) {
            Some(ascii) if ascii.contains('.') => domains.push(ascii),
            _ => return Err(DomainProblem::NotADomain(domain.clone())),
        }
    }
    domains.sort();
    domains.dedup();
    if domains.len() > MAX_DOMAINS {
        return Err(DomainProblem::TooMany);
    }
    Ok(domains)
}

/// `name` as a domain name in lower-case ASCII, or `None` for what is not one (an IP address,
/// a name with a port, a path or a space).
fn domain_of(name: &str) -> Option<String> {
    if name.is_empty() || name.contains(['/', ':', '[', ' ']) {
        return None;
    }
    match url::Host::parse(name).ok()? {
        url::Host::Domain(ascii) => Some(ascii.trim_end_matches('.').to_owned()),
        url::Host::Ipv4(_) | url::Host::Ipv6(_) => None,
    }
}

/// The domains typed in one field of a form, separated by spaces or commas, as
/// `address_domains` and `rule_domains` take them.
pub fn typed_domains(field: &str) -> Vec<String> {
    field
        .split([' ', ','])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(str::to_owned)
        .collect()
}

/// The domains a store's column keeps (`address_domains`' list, joined by spaces).
pub fn domains_from_column(column: &str) -> Vec<String> {
    column.split_whitespace().map(str::to_owned).collect()
}

/// Whether `email` is at one of `domains` (as [`address_domains`] keeps them; none: any
/// address is). Exact: a subdomain is another domain.
pub fn address_fits(domains: &[String], email: &str) -> bool {
    if domains.is_empty() {
        return true;
    }
    let at = email
        .rsplit_once('@')
        .and_then(|(_, domain)| domain_of(domain));
    at.is_some_and(|at| domains.contains(&at))
}

/// The record of an administrator lifting an account's address rule, whose domains (as the
/// store read them, in the transaction that deletes them) were `domains`: `audit` naming them.
/// `None` when there were none: nothing was lifted and nothing is recorded.
pub fn rule_lifted(domains: &[String], audit: AuditRecord) -> Option<AuditRecord> {
    (!domains.is_empty()).then(|| audit.detail(format!("for addresses at {}", domains.join(", "))))
}

/// Why an administrator's address rule for an account was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleProblem {
    /// No domain named: a rule needs one (lifting it is how an account signs in with an
    /// address anywhere).
    NoDomain,
    /// A domain that is not a domain name, or too many.
    Domains(DomainProblem),
}

impl std::fmt::Display for RuleProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RuleProblem::NoDomain => write!(
                f,
                "name at least one address domain (to let them sign in with an address \
                 anywhere, lift the rule)"
            ),
            RuleProblem::Domains(DomainProblem::NotADomain(domain)) => not_a_domain(f, domain),
            RuleProblem::Domains(DomainProblem::TooMany) => write!(
                f,
                "an address rule names at most {MAX_DOMAINS} address domains"
            ),
        }
    }
}

impl std::error::Error for RuleProblem {}

/// The domains an administrator typed for an account's address rule, kept as a link keeps
/// them (`address_domains`): at least one.
///
/// # Errors
/// What is wrong with them.
pub fn rule_domains(typed: &[String]) -> Result<Vec<String>, RuleProblem> {
    let domains = address_domains(typed).map_err(RuleProblem::Domains)?;
    if domains.is_empty() {
        return Err(RuleProblem::NoDomain);
    }
    Ok(domains)
}

/// The record of an administrator giving an account the address rule `domains` (as
/// `rule_domains` keeps them) where the store read `before` (none: no rule), in the
/// transaction that keeps it: `audit` naming both. `None` when the rule is already that one:
/// nothing changes and nothing is recorded.
pub fn rule_set(before: &[String], domains: &[String], audit: AuditRecord) -> Option<AuditRecord> {
    if before == domains {
        return None;
    }
    let was = if before.is_empty() {
        "an address anywhere".to_owned()
    } else {
        before.join(", ")
    };
    Some(audit.detail(format!(
        "for addresses at {} (was: {was})",
        domains.join(", ")
    )))
}

/// Whether the link (as the store read it, `None`: there is none) may make one more account at
/// `now`. The store decides it again in the transaction that makes the account and counts the
/// use.
///
/// # Errors
/// Why not.
pub fn admit(link: Option<&SignupLink>, now: UnixTime) -> Result<(), NoSignup> {
    let link = link.ok_or(NoSignup::Unknown)?;
    if now >= link.expires_at {
        return Err(NoSignup::Expired);
    }
    if link.uses >= link.max_uses {
        return Err(NoSignup::UsedUp);
    }
    Ok(())
}

/// What the store found other accounts hold, in the transaction that would make a new one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Taken {
    /// The username of a person whose name looks like the new one, if any.
    pub look_alike: Option<String>,
    /// Another account has the new address, confirmed (`address_is_taken`).
    pub address: bool,
    /// The passkey the new account would sign in with is registered already.
    pub passkey: bool,
}

/// Whether a new account's address is taken, given the accounts that have it (for each,
/// whether it is confirmed there). Only a confirmed address is: an unconfirmed one proves
/// nothing (anyone can type an address, here or on their account page), and counting it would
/// let whoever typed a colleague's address first keep the colleague from signing up. The new
/// account's own address is unconfirmed until the link mailed to it is used.
pub fn address_is_taken(confirmed_by_holders: impl IntoIterator<Item = bool>) -> bool {
    confirmed_by_holders.into_iter().any(|confirmed| confirmed)
}

/// Decides a sign-up of an account with the address `email`, over what the store read in the
/// transaction that would make it: the link (`admit`, and the domains it is for), then what
/// other accounts hold (`Taken`: a look-alike name, the address, the passkey).
/// `SignedUp::Done` when the account may be made (then its memberships added, the link's
/// domains kept as its rule, and the use counted), else why not.
pub fn decide(link: Option<&SignupLink>, email: &str, taken: Taken, now: UnixTime) -> SignedUp {
    if let Err(why) = admit(link, now) {
        return SignedUp::Refused(why);
    }
    if let Some(link) = link
        && !address_fits(&link.domains, email)
    {
        return SignedUp::OtherDomain;
    }
    if let Some(existing) = taken.look_alike {
        return SignedUp::LooksLike(existing);
    }
    if taken.address {
        return SignedUp::AddressTaken;
    }
    if taken.passkey {
        return SignedUp::PasskeyTaken;
    }
    SignedUp::Done
}

/// A sign-up's passkey ceremony in progress, kept as its challenge's state
/// (`model::ChallengeKind::SignUp`): the account the passkey is made for, which does not exist
/// until the ceremony ends, the link whose page began it, and the WebAuthn library's state.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Ceremony {
    /// The new account's id: the passkey's user handle, so the account it signs in to.
    pub account: String,
    /// The id of the link whose page began the ceremony.
    pub link: String,
    /// `passkeys::Authority::start_registration`'s state.
    pub registration: String,
}

impl Ceremony {
    /// The challenge's state that keeps this ceremony.
    pub fn state(&self) -> String {
        serde_json::json!(self).to_string()
    }

    /// The ceremony a challenge's state keeps, when it is one the link `link_id` began; `None`
    /// for another link's (a ceremony is not carried from one link's page to another's) and
    /// for a state that is not a sign-up's.
    pub fn of_link(state: &str, link_id: &str) -> Option<Ceremony> {
        serde_json::from_str::<Ceremony>(state)
            .ok()
            .filter(|c| c.link == link_id)
    }
}

/// Where a sign-up link leads, below the issuer; the link carries its secret as `?token=`.
pub const PATH: &str = "/signup";

/// The path and query of the sign-up link whose secret is `secret`.
pub fn path_and_query(secret: &str) -> String {
    let token: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    format!("{PATH}?token={token}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: UnixTime = 1_800_000_000;

    fn spec(uses: u32, days: u32, note: &str, groups: &[&str]) -> LinkSpec {
        LinkSpec {
            uses,
            days,
            note: note.to_owned(),
            groups: groups.iter().map(|g| (*g).to_owned()).collect(),
            domains: Vec::new(),
        }
    }

    fn strings(all: &[&str]) -> Vec<String> {
        all.iter().map(|s| (*s).to_owned()).collect()
    }

    fn made(spec: LinkSpec) -> Result<SignupLink, LinkProblem> {
        new_link(spec, "id".into(), "hash".into(), "cli".into(), NOW)
    }

    #[test]
    fn what_an_administrator_may_ask_for() {
        let long = "n".repeat(MAX_NOTE + 1);
        let many: Vec<String> = (0..=MAX_GROUPS).map(|i| format!("g{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        let cases: &[(LinkSpec, Result<(), LinkProblem>)] = &[
            (spec(1, 1, "", &[]), Ok(())),
            (
                spec(MAX_USES, MAX_DAYS, "the team chat", &["staff"]),
                Ok(()),
            ),
            (spec(0, 7, "", &[]), Err(LinkProblem::Uses)),
            (spec(MAX_USES + 1, 7, "", &[]), Err(LinkProblem::Uses)),
            (spec(5, 0, "", &[]), Err(LinkProblem::Days)),
            (spec(5, MAX_DAYS + 1, "", &[]), Err(LinkProblem::Days)),
            (spec(5, 7, &long, &[]), Err(LinkProblem::Note)),
            (spec(5, 7, &"ü".repeat(MAX_NOTE), &[]), Ok(())),
            (spec(5, 7, "two\nlines", &[]), Err(LinkProblem::Note)),
            (spec(5, 7, "bidi\u{202e}txt", &[]), Err(LinkProblem::Note)),
            (spec(5, 7, "", &many), Err(LinkProblem::Groups)),
        ];
        for (spec, want) in cases {
            let got = made(spec.clone()).map(|_| ());
            assert_eq!(&got, want, "{spec:?}");
        }
    }

    #[test]
    fn a_new_link_counts_from_now_trims_its_note_and_names_each_group_once() {
        let link = made(spec(3, 2, "  the class of 2027 ", &["staff", "b", "staff"])).unwrap();
        assert_eq!(link.expires_at, NOW + 2 * 24 * 3600);
        assert_eq!(link.note, "the class of 2027");
        assert_eq!(link.groups, ["b", "staff"]);
        assert_eq!((link.uses, link.max_uses), (0, 3));
        assert_eq!(link.created_by, "cli");
    }

    #[test]
    fn a_link_makes_accounts_while_it_works_and_has_uses_left() {
        let link = made(spec(2, 1, "", &[])).unwrap();
        let used = |uses| SignupLink {
            uses,
            ..link.clone()
        };
        let cases = [
            (None, NOW, Err(NoSignup::Unknown)),
            (Some(used(0)), NOW, Ok(())),
            (Some(used(1)), link.expires_at - 1, Ok(())),
            (Some(used(2)), NOW, Err(NoSignup::UsedUp)),
            (Some(used(7)), NOW, Err(NoSignup::UsedUp)),
            (Some(used(0)), link.expires_at, Err(NoSignup::Expired)),
            (Some(used(2)), link.expires_at + 1, Err(NoSignup::Expired)),
        ];
        for (link, now, want) in cases {
            assert_eq!(admit(link.as_ref(), now), want, "{link:?} at {now}");
        }
    }

    #[test]
    fn a_sign_up_is_refused_for_the_link_first_then_the_name_the_address_the_passkey() {
        let link = made(spec(1, 1, "", &[])).unwrap();
        let used = SignupLink {
            uses: 1,
            ..link.clone()
        };
        let free = Taken::default;
        let all = || Taken {
            look_alike: Some("ada".to_owned()),
            address: true,
            passkey: true,
        };
        let address_and_passkey = Taken {
            address: true,
            passkey: true,
            ..Taken::default()
        };
        let passkey = Taken {
            passkey: true,
            ..Taken::default()
        };
        let cases = [
            (Some(&link), free(), NOW, SignedUp::Done),
            (None, free(), NOW, SignedUp::Refused(NoSignup::Unknown)),
            (None, all(), NOW, SignedUp::Refused(NoSignup::Unknown)),
            (Some(&used), all(), NOW, SignedUp::Refused(NoSignup::UsedUp)),
            (
                Some(&link),
                free(),
                link.expires_at,
                SignedUp::Refused(NoSignup::Expired),
            ),
            (Some(&link), all(), NOW, SignedUp::LooksLike("ada".into())),
            (
                Some(&link),
                address_and_passkey,
                NOW,
                SignedUp::AddressTaken,
            ),
            (Some(&link), passkey, NOW, SignedUp::PasskeyTaken),
        ];
        for (link, taken, now, want) in cases {
            let got = decide(link, "new@example.com", taken.clone(), now);
            assert_eq!(got, want, "{link:?} {taken:?} at {now}");
        }
        // A link for some domains: an address elsewhere is refused after the link's own
        // refusals, before what others hold.
        let for_corp = SignupLink {
            domains: strings(&["corp.example"]),
            ..link.clone()
        };
        let cases = [
            (&for_corp, "new@corp.example", free(), SignedUp::Done),
            (&for_corp, "new@CORP.example", free(), SignedUp::Done),
            (&for_corp, "new@example.com", free(), SignedUp::OtherDomain),
            (&for_corp, "new@example.com", all(), SignedUp::OtherDomain),
            (
                &for_corp,
                "new@corp.example",
                all(),
                SignedUp::LooksLike("ada".into()),
            ),
        ];
        for (link, email, taken, want) in cases {
            assert_eq!(
                decide(Some(link), email, taken.clone(), NOW),
                want,
                "{email}"
            );
        }
        let used_corp = SignupLink {
            uses: 1,
            ..for_corp
        };
        assert_eq!(
            decide(Some(&used_corp), "new@example.com", free(), NOW),
            SignedUp::Refused(NoSignup::UsedUp)
        );
    }

    #[test]
    fn a_link_keeps_domain_names_in_ascii_lower_case_each_once() {
        let too_many: Vec<String> = (0..=MAX_DOMAINS).map(|i| format!("d{i}.example")).collect();
        type Kept = Result<Vec<String>, DomainProblem>;
        let cases: &[(Vec<String>, Kept)] = &[
            (vec![], Ok(vec![])),
            (
                strings(&[" Corp.Example ", "@lab.corp.example", "corp.example"]),
                Ok(strings(&["corp.example", "lab.corp.example"])),
            ),
            (
                strings(&["bücher.example"]),
                Ok(strings(&["xn--bcher-kva.example"])),
            ),
            (strings(&["corp.example."]), Ok(strings(&["corp.example"]))),
            (
                strings(&["localhost"]),
                Err(DomainProblem::NotADomain("localhost".into())),
            ),
            (
                strings(&["192.0.2.1"]),
                Err(DomainProblem::NotADomain("192.0.2.1".into())),
            ),
            (
                strings(&["[::1]"]),
                Err(DomainProblem::NotADomain("[::1]".into())),
            ),
            (
                strings(&["corp.example:443"]),
                Err(DomainProblem::NotADomain("corp.example:443".into())),
            ),
            (
                strings(&["corp.example/x"]),
                Err(DomainProblem::NotADomain("corp.example/x".into())),
            ),
            (
                strings(&["a b.example"]),
                Err(DomainProblem::NotADomain("a b.example".into())),
            ),
            (
                strings(&["", "corp.example"]),
                Err(DomainProblem::NotADomain(String::new())),
            ),
            (too_many.clone(), Err(DomainProblem::TooMany)),
        ];
        for (typed, want) in cases {
            assert_eq!(&address_domains(typed), want, "{typed:?}");
        }
        let mut spec = spec(1, 1, "", &[]);
        spec.domains = strings(&["Corp.Example"]);
        assert_eq!(made(spec).unwrap().domains, ["corp.example"]);
    }

    #[test]
    fn a_rule_lifted_is_recorded_with_its_domains_and_none_is_not() {
        use crate::model::AuditKind;
        let audit =
            || AuditRecord::new(NOW, AuditKind::AddressRuleLifted, "cli").subject(Some("carol"));
        assert_eq!(rule_lifted(&[], audit()), None);
        let record = rule_lifted(&strings(&["corp.example", "lab.example"]), audit()).unwrap();
        assert_eq!(
            record.detail.as_deref(),
            Some("for addresses at corp.example, lab.example")
        );
        assert_eq!(record.subject.as_deref(), Some("carol"));
    }

    #[test]
    fn a_rule_names_at_least_one_domain_kept_as_a_link_keeps_them() {
        let too_many: Vec<String> = (0..=MAX_DOMAINS).map(|i| format!("d{i}.example")).collect();
        type Kept = Result<Vec<String>, RuleProblem>;
        let cases: &[(Vec<String>, Kept)] = &[
            (vec![], Err(RuleProblem::NoDomain)),
            (
                strings(&[" @Corp.Example", "lab.example", "corp.example"]),
                Ok(strings(&["corp.example", "lab.example"])),
            ),
            (
                strings(&["localhost"]),
                Err(RuleProblem::Domains(DomainProblem::NotADomain(
                    "localhost".into(),
                ))),
            ),
            (
                strings(&["corp.example", ""]),
                Err(RuleProblem::Domains(DomainProblem::NotADomain(
                    String::new(),
                ))),
            ),
            (too_many, Err(RuleProblem::Domains(DomainProblem::TooMany))),
        ];
        for (typed, want) in cases {
            assert_eq!(&rule_domains(typed), want, "{typed:?}");
        }
    }

    #[test]
    fn domains_typed_in_one_field_are_split_at_spaces_and_commas() {
        assert_eq!(
            typed_domains(" corp.example, lab.example,,\tx.example "),
            ["corp.example", "lab.example", "x.example"]
        );
        assert!(typed_domains(" , ").is_empty());
    }

    #[test]
    fn a_rule_set_is_recorded_with_what_it_was_and_the_same_rule_is_not() {
        use crate::model::AuditKind;
        let audit =
            || AuditRecord::new(NOW, AuditKind::AddressRuleSet, "cli").subject(Some("carol"));
        let corp = strings(&["corp.example"]);
        let both = strings(&["corp.example", "lab.example"]);
        assert_eq!(rule_set(&corp, &corp, audit()), None);
        let cases: &[(&[String], &[String], &str)] = &[
            (
                &[],
                &corp,
                "for addresses at corp.example (was: an address anywhere)",
            ),
            (
                &corp,
                &both,
                "for addresses at corp.example, lab.example (was: corp.example)",
            ),
            (
                &both,
                &corp,
                "for addresses at corp.example (was: corp.example, lab.example)",
            ),
        ];
        for (before, after, detail) in cases {
            let record = rule_set(before, after, audit()).unwrap();
            assert_eq!(record.detail.as_deref(), Some(*detail));
            assert_eq!(record.subject.as_deref(), Some("carol"));
        }
    }

    #[test]
    fn an_address_fits_a_domain_exactly_whatever_its_case() {
        let corp = strings(&["corp.example", "xn--bcher-kva.example"]);
        let cases: &[(&[String], &str, bool)] = &[
            (&[], "anyone@anywhere.example", true),
            (&[], "not an address", true),
            (&corp, "ada@corp.example", true),
            (&corp, "Ada@CORP.EXAMPLE", true),
            (&corp, "ada@bücher.example", true),
            (&corp, "\"a@b\"@corp.example", true),
            (&corp, "ada@lab.corp.example", false),
            (&corp, "ada@corp.example.evil.example", false),
            (&corp, "corp.example@evil.example", false),
            (&corp, "ada@evilcorp.example", false),
            (&corp, "ada@corp.example:25", false),
            (&corp, "ada", false),
            (&corp, "ada@", false),
        ];
        for (domains, email, want) in cases {
            assert_eq!(address_fits(domains, email), *want, "{domains:?} {email}");
        }
    }

    #[test]
    fn only_an_address_confirmed_on_another_account_is_taken() {
        let cases: &[(&[bool], bool)] = &[
            (&[], false),
            (&[false], false),
            (&[false, false], false),
            (&[true], true),
            (&[false, true], true),
        ];
        for (holders, want) in cases {
            assert_eq!(
                address_is_taken(holders.iter().copied()),
                *want,
                "{holders:?}"
            );
        }
    }

    #[test]
    fn a_ceremony_is_kept_and_found_only_for_the_link_that_began_it() {
        let ceremony = Ceremony {
            account: "0123456789abcdef0123456789abcdef".into(),
            link: "link-1".into(),
            registration: r#"{"rs":{"challenge":"x"}}"#.into(),
        };
        let state = ceremony.state();
        assert_eq!(Ceremony::of_link(&state, "link-1"), Some(ceremony));
        assert_eq!(Ceremony::of_link(&state, "link-2"), None);
        // A registration's state for a signed-in person is not a sign-up's.
        assert_eq!(Ceremony::of_link(r#"{"rs":{}}"#, "link-1"), None);
        assert_eq!(Ceremony::of_link("not json", "link-1"), None);
    }

    #[test]
    fn a_links_secret_is_carried_escaped() {
        assert_eq!(path_and_query("a-b_c"), "/signup?token=a-b_c");
        assert_eq!(path_and_query("a+b/c"), "/signup?token=a%2Bb%2Fc");
    }
}
