//! Every word gatehouse's pages say, in one place: the templates and handlers name a field of
//! [`Text`], never a sentence. A translation is another `Text` value: the compiler insists it
//! is complete (a missing or misspelt entry does not build, which a key-based catalogue such as
//! Fluent's only finds at run time), and sentences that hold a value (an application's name, a
//! count) are functions, so each language orders and inflects them its own way. The markup
//! such a function returns is `maud`'s, so what it holds is escaped like any template's.

use maud::{Markup, html};

use crate::admin::Refusal;
use crate::auth::passwords::Weakness;
use crate::model::{
    AccessTokenFormat, AuditKind, AuthPolicy, ClientAuthMethod, GrantType, Named, NoticeKind,
    SubjectType,
};

mod german;

pub(in crate::http) use german::GERMAN;

/// Every catalogue there is. A translation is added here, and `--language` chooses it.
pub(in crate::http) static CATALOGUES: &[&Text] = &[&ENGLISH, &GERMAN];

/// The catalogue of `language` (a BCP 47 tag), if there is one.
pub(in crate::http) fn speaking(language: &str) -> Option<&'static Text> {
    CATALOGUES.iter().copied().find(|t| t.language == language)
}

/// The most language ranges of one `Accept-Language` header looked at: browsers send a handful,
/// and a header of thousands must not cost thousands of comparisons.
const MOST_RANGES: usize = 16;

/// Which of the `offered` languages a page speaks to a browser that sent `accept_language`
/// (RFC 9110 §12.5.4): the one that best matches the browser's most preferred range that any
/// matches (`de-AT` is answered in `de`: RFC 4647 matching, by `fluent-langneg`), ranges in the
/// order of their weights. When none matches, or the header says nothing usable, `default`,
/// unless the browser refused it (weight 0) and not another one offered: then that one.
pub(in crate::http) fn negotiate<'a>(
    accept_language: Option<&str>,
    offered: &[&'a str],
    default: &'a str,
) -> &'a str {
    let Some(header) = accept_language else {
        return default;
    };
    let ranges = Ranges::of(header);
    if let Some(tag) = best_match(&ranges.wanted, offered) {
        return tag;
    }
    std::iter::once(&default)
        .chain(offered)
        .find(|tag| !ranges.refuses(tag))
        .unwrap_or(&default)
}

/// Which of the `offered` languages best matches the first of `wanted` (language tags or
/// ranges, most preferred first) that any matches, as [`negotiate`] matches a header's ranges:
/// for OpenID Connect's `ui_locales` and an account's `locale`. `None` when none does. At most
/// [`MOST_RANGES`] of `wanted` are looked at.
pub(in crate::http) fn best_match<'a>(wanted: &[&str], offered: &[&'a str]) -> Option<&'a str> {
    use fluent_langneg::{NegotiationStrategy, negotiate_languages};
    use unic_langid::LanguageIdentifier;

    let requested: Vec<LanguageIdentifier> = wanted
        .iter()
        .take(MOST_RANGES)
        .filter_map(|range| range.parse().ok())
        .collect();
    let available: Vec<(LanguageIdentifier, &'a str)> = offered
        .iter()
        .filter_map(|tag| Some((tag.parse().ok()?, *tag)))
        .collect();
    let ids: Vec<LanguageIdentifier> = available.iter().map(|(id, _)| id.clone()).collect();
    let chosen = negotiate_languages(&requested, &ids, None, NegotiationStrategy::Lookup);
    let best = chosen.first()?;
    available
        .iter()
        .find(|(id, _)| id == *best)
        .map(|(_, tag)| *tag)
}

/// The language ranges of an `Accept-Language` value.
struct Ranges<'h> {
    /// Most preferred first (a stable sort by weight, so equal weights keep the browser's
    /// order), without the wildcard `*` (any: the default serves it) and malformed members.
    /// `fluent-langneg`'s own parser reads the order alone; a header's weights are its meaning.
    wanted: Vec<&'h str>,
    /// Those of weight 0: not acceptable.
    refused: Vec<&'h str>,
}

impl<'h> Ranges<'h> {
    fn of(header: &'h str) -> Ranges<'h> {
        let mut weighed: Vec<(&str, u16)> = header
            .split(',')
            .take(MOST_RANGES)
            .filter_map(|member| {
                let mut parts = member.split(';');
                let range = parts.next()?.trim();
                let weight = match parts.next().map(str::trim) {
                    None => 1000,
                    Some(param) => weight(param)?,
                };
                (!range.is_empty()).then_some((range, weight))
            })
            .collect();
        weighed.sort_by_key(|&(_, weight)| std::cmp::Reverse(weight));
        let (wanted, refused): (Vec<_>, Vec<_>) = weighed.into_iter().partition(|&(_, w)| w > 0);
        Ranges {
            wanted: wanted
                .into_iter()
                .map(|(range, _)| range)
                .filter(|range| *range != "*")
                .collect(),
            refused: refused.into_iter().map(|(range, _)| range).collect(),
        }
    }

    /// Whether a range of weight 0 covers `tag`: the range itself, a prefix of it ending at a
    /// subtag (`de` covers `de-AT`; RFC 4647 §3.3.1, basic filtering), or `*`.
    fn refuses(&self, tag: &str) -> bool {
        self.refused.iter().any(|range| {
            let covers = tag.get(..range.len()).is_some_and(|head| {
                head.eq_ignore_ascii_case(range)
                    && matches!(tag.as_bytes().get(range.len()), None | Some(b'-'))
            });
            *range == "*" || covers
        })
    }
}

/// A weight (`q=0.8`, RFC 9110 §12.4.2) in thousandths, or `None` if it is not one.
fn weight(param: &str) -> Option<u16> {
    let (name, value) = param.split_once('=')?;
    if !name.trim().eq_ignore_ascii_case("q") {
        return None;
    }
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits_ok = fraction.len() <= 3 && fraction.bytes().all(|b| b.is_ascii_digit());
    match whole {
        "0" if digits_ok => {
            let padded = format!("{fraction:0<3}");
            padded.parse().ok()
        }
        "1" if digits_ok && fraction.bytes().all(|b| b == b'0') => Some(1000),
        _ => None,
    }
}

/// What a page says when something did not work: what happened, and what to do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(in crate::http) struct Problem {
    pub title: &'static str,
    pub what_happened: &'static str,
    pub what_next: &'static str,
}

/// A page's words, in one language.
pub(in crate::http) struct Text {
    /// The BCP 47 tag of the language (`<html lang>`).
    pub language: &'static str,
    /// The language's name in itself, as a person looking for it in a list knows it.
    pub name: &'static str,
    pub sign_in: SignInText,
    pub second_factor: SecondFactorText,
    pub passkey: PasskeyText,
    pub app: AppText,
    pub consent: ConsentText,
    pub device: DeviceText,
    pub sign_out: SignOutText,
    pub no_access: NoAccessText,
    pub confirm_address: ConfirmAddressText,
    pub account: AccountText,
    pub email: EmailText,
    pub signup: SignupText,
    pub console: ConsoleText,
    pub signup_links: SignupLinksText,
    pub errors: ErrorText,
}

pub(in crate::http) struct SignInText {
    pub title: &'static str,
    /// What the login form's buttons that speak another language are, to a screen reader.
    pub other_languages: &'static str,
    pub to_continue_to: fn(&str) -> Markup,
    pub username: &'static str,
    pub password: &'static str,
    /// The login form's choice to stay signed in on this device (a kept session).
    pub keep_signed_in: &'static str,
    pub submit: &'static str,
    pub wrong_password: &'static str,
    pub too_many_attempts: fn(&str) -> String,
    /// The account's own lockout, which an administrator can lift.
    pub locked_out: fn(&str) -> String,
    /// How long to wait, in words: "42 seconds", "3 minutes".
    pub wait: fn(i64) -> String,
    /// Where a sign-in for the account page continues to.
    pub your_account: &'static str,
    pub signed_out_for_account: &'static str,
    pub expired_start_again: &'static str,
    /// The page that posts the answer back to the application (`response_mode=form_post`),
    /// shown only while it sends itself, or where scripts do not run.
    pub returning: &'static str,
    pub returning_button: &'static str,
}

pub(in crate::http) struct SecondFactorText {
    pub title: &'static str,
    pub code_label: &'static str,
    pub code_help: &'static str,
    pub verify: &'static str,
    pub use_passkey_to_finish: &'static str,
    /// Where a passkey is the only way on: what someone who lost it does.
    pub passkey_lost: &'static str,
    pub wrong_code: &'static str,
    pub too_many_codes: fn(&str) -> String,
    /// The person's own lockout, which an administrator can lift (`sign_in.locked_out`).
    pub codes_locked_out: fn(&str) -> String,
    pub app_set_up_meanwhile: &'static str,
}

pub(in crate::http) struct PasskeyText {
    pub sign_in_with: &'static str,
    pub use_one: &'static str,
    pub required_title: &'static str,
    pub required_by: fn(&str) -> Markup,
    pub add_title: &'static str,
    pub required_none_yet: fn(&str) -> Markup,
    pub name_label: &'static str,
    pub name_placeholder: &'static str,
    /// The name of a passkey given none.
    pub default_name: &'static str,
    pub add: &'static str,
    pub added: fn(&str) -> String,
    pub removed: &'static str,
    pub no_such_passkey: &'static str,
    /// A person without a password asked to remove their last passkey.
    pub last_way_in: &'static str,
    pub script_cancelled: &'static str,
    pub script_duplicate: &'static str,
    pub script_failed: &'static str,
    pub script_start_failed: &'static str,
    /// Where a passkey is the only way on, and this browser cannot use one (no WebAuthn, or
    /// no JavaScript).
    pub browser_cannot_sign_in: &'static str,
    /// Where a passkey would be added, and this browser cannot make one.
    pub browser_cannot_add: &'static str,
    pub unavailable: &'static str,
    pub unavailable_use_password: &'static str,
    pub busy: &'static str,
    pub page_expired: &'static str,
    pub too_many_starts: fn(u64) -> String,
    pub could_not_use: &'static str,
    pub could_not_add: &'static str,
    pub signed_out_reload: &'static str,
    pub no_browser_answer: &'static str,
    pub name_too_long: fn(usize) -> String,
    pub name_unprintable: &'static str,
    pub add_took_too_long: &'static str,
    pub busy_not_added: &'static str,
    pub not_verified_not_added: &'static str,
    pub registered_already: &'static str,
    pub sign_in_took_too_long: &'static str,
    pub not_registered: &'static str,
    pub not_verified: &'static str,
}

pub(in crate::http) struct AppText {
    pub setup_title: &'static str,
    pub setup_why: fn(&str) -> Markup,
    pub setup_scan: &'static str,
    pub setup_cannot_scan: &'static str,
    pub setup_code_label: &'static str,
    pub setup_submit: &'static str,
    pub wrong_setup_code: &'static str,
    pub qr_label: &'static str,
    pub codes_title: &'static str,
    pub codes_what: &'static str,
    pub codes_label: &'static str,
    pub codes_shown_once: &'static str,
    pub codes_keep: &'static str,
    pub codes_continue: fn(&str) -> Markup,
}

pub(in crate::http) struct ConsentText {
    pub title: &'static str,
    pub would_like_to: fn(&str) -> Markup,
    pub allow: &'static str,
    pub deny: &'static str,
    pub openid: &'static str,
    pub profile: &'static str,
    pub email: &'static str,
    pub groups: &'static str,
    pub offline_access: &'static str,
    /// Before the APIs a request names (resource indicators), listed as registered.
    pub at_these_services: &'static str,
}

impl ConsentText {
    /// What a scope lets a client see, in words a person understands; a scope gatehouse does
    /// not describe is shown as it is.
    pub(in crate::http) fn describe_scope<'a>(&self, scope: &'a str) -> &'a str {
        match scope {
            "openid" => self.openid,
            "profile" => self.profile,
            "email" => self.email,
            "groups" => self.groups,
            "offline_access" => self.offline_access,
            other => other,
        }
    }
}

pub(in crate::http) struct DeviceText {
    pub entry_title: &'static str,
    pub entry_what: &'static str,
    pub code_label: &'static str,
    pub code_help: &'static str,
    pub next: &'static str,
    pub confirm_title: &'static str,
    pub confirm_check: fn(&str, &str) -> Markup,
    pub it_will_be_able_to: &'static str,
    pub phishing_warning: &'static str,
    pub allowed_title: &'static str,
    pub allowed: fn(&str) -> Markup,
    pub denied_title: &'static str,
    pub denied: &'static str,
    pub not_a_code: &'static str,
    pub too_many_codes: fn(&str) -> String,
    /// The person's own lockout, which an administrator can lift (`sign_in.locked_out`).
    pub codes_locked_out: fn(&str) -> String,
    pub code_not_valid: &'static str,
    /// The device's application asks more of a sign-in than the session proved.
    pub asks_for_more: fn(&str) -> String,
    /// The device's application requires a confirmed address, and the person's is not.
    pub confirm_address_first: fn(&str) -> String,
    /// Where a device sign-in continues to.
    pub your_device: &'static str,
}

pub(in crate::http) struct SignOutText {
    pub confirm_title: &'static str,
    pub confirm_question: fn(&str) -> Markup,
    pub sign_out: &'static str,
    pub done_title: &'static str,
    pub done_heading: &'static str,
    pub close_window: &'static str,
}

pub(in crate::http) struct NoAccessText {
    pub title: fn(&str) -> String,
    pub why: &'static str,
    pub ask: &'static str,
    pub back_to: fn(&str) -> Markup,
}

/// The page asking a person to confirm their address before an application that requires it.
pub(in crate::http) struct ConfirmAddressText {
    pub title: &'static str,
    /// The application and the person's address.
    pub needs: fn(&str, &str) -> Markup,
    pub send: &'static str,
    pub then_continue: &'static str,
    pub continue_to: fn(&str) -> Markup,
    /// Where no mail can be sent.
    pub ask_administrator: &'static str,
    /// How to give another address, before the link to the account page.
    pub not_yours: &'static str,
    /// The person's account signs in only with a confirmed address at these domains (its
    /// sign-up link's).
    pub account_domains: fn(&str) -> String,
    /// Their address is at none of them, before the link to the account page.
    pub change_first: &'static str,
}

pub(in crate::http) struct AccountText {
    pub title: &'static str,
    pub signed_in_as: fn(&str) -> Markup,
    pub sign_out: &'static str,
    pub sections: &'static str,
    pub profile: &'static str,
    pub password: &'static str,
    pub passkeys: &'static str,
    pub two_step: &'static str,
    pub sessions: &'static str,
    /// The applications the person may open (those with a home page).
    pub applications: &'static str,
    pub apps: &'static str,
    pub activity: &'static str,
    pub not_recent: &'static str,
    pub sign_in_again: &'static str,
    pub sign_in_again_first: &'static str,
    /// Downloading what the account holds: the button, and what the file holds.
    pub download: &'static str,
    pub download_help: &'static str,
    /// Removing one's own account (`serve --account-removal`): the section, what it does, the
    /// confirmation's label (their username), the button; an administrator is told to ask
    /// another; what typed was not their username.
    pub remove_section: &'static str,
    pub remove_what: &'static str,
    pub remove_type_to_confirm: fn(&str) -> String,
    pub remove_button: &'static str,
    pub remove_ask_another_administrator: &'static str,
    pub remove_not_confirmed: fn(&str) -> String,
    /// The page once it is removed.
    pub removed_title: &'static str,
    pub removed_text: &'static str,
    /// That a mail telling of it is on its way: the address.
    pub removed_told: fn(&str) -> String,
    pub name_label: &'static str,
    pub email_label: &'static str,
    pub email_verified: &'static str,
    pub email_unverified: &'static str,
    pub email_help: &'static str,
    /// The same, where mail goes out and people confirm their own address.
    pub email_help_mail: &'static str,
    pub save_profile: &'static str,
    pub profile_saved: &'static str,
    pub profile_unchanged: &'static str,
    pub language: &'static str,
    /// The choice of no language of one's own: the browser's preference decides.
    pub language_browser: &'static str,
    pub language_help: &'static str,
    pub save_language: &'static str,
    pub language_saved: &'static str,
    pub bad_name: &'static str,
    pub bad_email: &'static str,
    pub current_password: &'static str,
    pub new_password: &'static str,
    pub new_password_help: &'static str,
    pub repeat_password: &'static str,
    pub change_password: &'static str,
    pub wrong_current_password: &'static str,
    pub passwords_differ: &'static str,
    pub password_too_short: fn(usize) -> String,
    pub password_too_long: fn(usize) -> String,
    pub password_too_weak: fn(&str) -> String,
    /// Why a password is easy to guess and what would be better (zxcvbn's estimate).
    pub weakness: fn(&Weakness) -> String,
    pub password_same: &'static str,
    pub password_changed: fn(usize) -> String,
    /// A person without a password: they sign in with a passkey.
    pub no_password: &'static str,
    pub set_password: &'static str,
    /// What removing the password does, offered to a person who has a passkey.
    pub remove_password_what: &'static str,
    pub remove_password: &'static str,
    /// The password is removed, and this many other sessions signed out.
    pub password_removed: fn(usize) -> String,
    /// A person asked to remove their password with no passkey to sign in with instead.
    pub password_kept: &'static str,
    pub two_step_on: &'static str,
    pub two_step_on_since: fn(&str) -> String,
    pub recovery_codes_left: fn(u32) -> Markup,
    pub no_app: &'static str,
    pub no_app_passkey: &'static str,
    pub two_step_off: &'static str,
    pub two_step_off_what: &'static str,
    pub two_step_required: &'static str,
    pub replace_app: &'static str,
    pub new_codes: &'static str,
    pub remove_app: &'static str,
    pub setup_app: &'static str,
    pub app_required_cannot_remove: &'static str,
    pub app_removed: &'static str,
    pub app_removed_passkey_left: &'static str,
    pub passkeys_what: &'static str,
    pub your_passkeys: &'static str,
    pub passkey_added: fn(&str) -> String,
    pub passkey_last_used: fn(&str) -> String,
    pub passkey_never_used: &'static str,
    pub remove: &'static str,
    pub remove_named: fn(&str) -> String,
    pub with_passkey: &'static str,
    pub with_password_and_code: &'static str,
    pub with_password: &'static str,
    pub with_other: &'static str,
    pub your_sessions: &'static str,
    pub this_browser: &'static str,
    pub session_started: fn(&str, &str) -> String,
    pub session_last_active: fn(&str) -> String,
    /// A session its person asked to keep on their device ("Keep me signed in"): until when.
    pub session_kept_until: fn(&str) -> String,
    /// A browser as `auth::browsers::describe` names it: its name, and the system it runs on.
    pub browser_on: fn(&str, Option<&str>) -> String,
    /// A session's browser that names no browser a person would know.
    pub unknown_browser: &'static str,
    /// The client address a session was signed in from.
    pub signed_in_from: fn(&str) -> String,
    pub sign_out_session: fn(&str) -> String,
    pub sign_out_everywhere_else: &'static str,
    /// Under the sessions: a browser signed out here is news if it signs in again.
    pub signed_out_browsers_are_new: &'static str,
    pub no_other_sessions: &'static str,
    pub session_ended: &'static str,
    pub no_such_session: &'static str,
    pub other_sessions_ended: fn(usize) -> String,
    /// Under the sessions: the applications that stay signed in when the person signs out.
    pub staying: &'static str,
    pub staying_help: &'static str,
    pub staying_since: fn(&str, &str) -> String,
    pub sign_out_app_named: fn(&str) -> String,
    pub app_signed_out: fn(&str) -> String,
    pub app_signed_out_already: &'static str,
    pub no_apps: &'static str,
    pub apps_you_allowed: &'static str,
    pub given_claims: &'static str,
    pub given_claims_help: &'static str,
    pub allowed_on: fn(&str) -> String,
    pub withdraw: &'static str,
    pub withdraw_named: fn(&str) -> String,
    pub withdraw_help: &'static str,
    pub withdrawn: fn(&str) -> String,
    pub no_such_app: &'static str,
    pub no_activity: &'static str,
    pub recent_activity: &'static str,
    pub from_address: fn(&str) -> String,
    pub activity_help: &'static str,
    /// What an audit record of the person's own account says, in their words.
    pub event: fn(AuditKind) -> &'static str,
}

pub(in crate::http) struct EmailText {
    pub forgot_password: &'static str,
    pub reset_title: &'static str,
    pub reset_what: &'static str,
    pub identifier_label: &'static str,
    pub send_reset_link: &'static str,
    pub check_your_mail: &'static str,
    pub reset_sent: &'static str,
    pub reset_sent_nothing: &'static str,
    pub too_many_requests: fn(u64) -> String,
    pub new_password_title: &'static str,
    pub set_new_password: &'static str,
    pub reset_done_title: &'static str,
    pub reset_done: &'static str,
    pub to_your_account: &'static str,
    pub confirm_title: &'static str,
    pub confirm_question: fn(&str) -> Markup,
    pub confirm: &'static str,
    pub confirmed_title: &'static str,
    pub confirmed: fn(&str) -> String,
    pub send_confirmation: &'static str,
    pub confirmation_sent: fn(&str) -> String,
    pub confirmation_sent_recently: fn(&str) -> String,
    /// The subject and text of the mail with a reset link: product, username, link, minutes.
    pub reset_subject: fn(&str) -> String,
    pub reset_body: fn(&str, &str, &str, i64) -> String,
    /// The subject and text of the mail with a confirmation link: product, username, link,
    /// hours.
    pub confirm_subject: fn(&str) -> String,
    pub confirm_body: fn(&str, &str, &str, i64) -> String,
    /// The page an invitation's link opens.
    pub welcome_title: &'static str,
    pub welcome: fn(&str) -> Markup,
    pub welcome_done_title: &'static str,
    pub welcome_done: &'static str,
    /// An invitation's page: a passkey in place of a password.
    pub welcome_passkey_title: &'static str,
    pub welcome_passkey_what: &'static str,
    /// The invitation accepted with a passkey.
    pub welcome_done_passkey: &'static str,
    /// The subject and text of an invitation: product, username, link, days.
    pub invite_subject: fn(&str) -> String,
    pub invite_body: fn(&str, &str, &str, i64) -> String,
    /// The page a passkey link opens (an administrator sent it to a person who lost their
    /// passkey): product, username.
    pub passkey_link_title: &'static str,
    pub passkey_link_what: fn(&str, &str) -> Markup,
    pub passkey_link_done_title: &'static str,
    pub passkey_link_done: &'static str,
    /// The subject and text of the mail with a passkey link: product, username, link, hours.
    pub passkey_link_subject: fn(&str) -> String,
    pub passkey_link_body: fn(&str, &str, &str, i64) -> String,
    /// The subject of a security notice: product, what changed.
    pub notice_subject: fn(&str, NoticeKind) -> String,
    /// The text of a security notice.
    pub notice_body: fn(&NoticeFacts<'_>) -> String,
}

/// What a security notice's text says: the change, when and from where, and where to act.
pub(in crate::http) struct NoticeFacts<'a> {
    pub product: &'a str,
    pub username: &'a str,
    pub kind: NoticeKind,
    /// When it happened, as people read it (`pages::moment`).
    pub when: String,
    /// The address the change came from, when a request made it.
    pub from: Option<&'a str>,
    /// The browser a new sign-in was made with, in words (`pages::browser_words`).
    pub browser: Option<String>,
    /// The new address, for `NoticeKind::AddressChanged`.
    pub new_address: Option<&'a str>,
    /// The account page, where the person sees their recent activity.
    pub account: &'a str,
    /// The page that mails a link to choose a new password.
    pub reset: &'a str,
}

pub(in crate::http) struct ConsoleText {
    /// The account page's link to the administration pages.
    pub administration: &'static str,
    pub sections: &'static str,
    pub people: &'static str,
    pub audit_log: &'static str,
    pub search_label: &'static str,
    pub search: &'static str,
    pub nobody_found: &'static str,
    pub more_people: &'static str,
    pub disabled: &'static str,
    pub enabled: &'static str,
    pub account: &'static str,
    pub name: &'static str,
    pub state: &'static str,
    pub created: &'static str,
    pub groups: &'static str,
    pub app: &'static str,
    pub no_app: &'static str,
    pub passkeys: fn(usize) -> String,
    /// Whether the person has a password: they do, or they sign in with a passkey.
    pub has_password: &'static str,
    pub no_password: &'static str,
    /// No password and no passkey (their passkeys were reset): nothing signs them in.
    pub no_way_in: &'static str,
    pub actions: &'static str,
    pub not_recent: &'static str,
    pub enable: &'static str,
    pub disable: &'static str,
    pub sign_out_everywhere: &'static str,
    /// The name of the list of a person's sessions on their administration page.
    pub sessions_of: fn(&str) -> String,
    pub signed_in_nowhere: &'static str,
    /// When a session in that list began.
    pub session_since: fn(&str) -> String,
    pub reset_factors: &'static str,
    /// Beside the account's state: failed attempts keep them from signing in until then.
    pub paused_until: fn(&str) -> String,
    /// The account signs in to applications only with a confirmed address at these domains
    /// (those of the sign-up link that made it, or an administrator's).
    pub address_rule: fn(&str) -> String,
    /// The field of the domains of the account's address rule, what it does, and its button.
    pub address_rule_label: &'static str,
    pub address_rule_help: &'static str,
    pub set_address_rule: &'static str,
    /// After the help of a field of address domains (a sign-up link's, an account's rule),
    /// where no mail goes out.
    pub domains_without_mail: &'static str,
    /// The button that lets them sign in again at once.
    pub unlock: &'static str,
    /// The button that lifts their account's address rule.
    pub lift_address_rule: &'static str,
    pub confirm_email: &'static str,
    pub unconfirm_email: &'static str,
    pub make_reset_link: &'static str,
    pub done_reset_link: fn(&str) -> String,
    /// What a hand-over link does and how long it works (minutes).
    pub reset_link_once: fn(i64) -> String,
    pub reset_link_given: &'static str,
    /// A link for a person who lost their passkey to add another: mailed, or made to hand
    /// over (username; then hours).
    pub send_passkey_link: &'static str,
    pub make_passkey_link: &'static str,
    pub done_passkey_link: fn(&str) -> String,
    pub passkey_link_once: fn(i64) -> String,
    pub done_passkey_link_sent: fn(&str) -> String,
    pub reset_link_recently: fn(&str) -> String,
    pub send_reset: &'static str,
    pub their_activity: &'static str,
    pub kind_label: &'static str,
    pub subject_label: &'static str,
    pub actor_label: &'static str,
    pub filter: &'static str,
    pub no_records: &'static str,
    pub older: &'static str,
    pub refused_title: &'static str,
    pub refused: &'static str,
    pub done_disabled: fn(usize) -> String,
    pub done_enabled: &'static str,
    pub done_logout: fn(usize) -> String,
    pub done_reset_factors: &'static str,
    pub done_unlocked: &'static str,
    /// Asked to let them in when the wait had ended meanwhile.
    pub done_not_paused: &'static str,
    pub done_address_rule_lifted: &'static str,
    /// The applications a person allowed: the heading (their username), none, each one's
    /// scope and since when, the button that withdraws one (and its label naming it), and
    /// what is said once it is withdrawn (its name); none found to withdraw.
    pub apps_of: fn(&str) -> String,
    pub allowed_none: &'static str,
    pub allowed_since: fn(&str, &str) -> String,
    pub withdraw: &'static str,
    pub withdraw_from: fn(&str) -> String,
    pub done_withdrawn: fn(&str) -> String,
    pub no_such_consent: &'static str,
    /// The rule is set (its domains).
    pub done_address_rule_set: fn(&str) -> String,
    pub done_confirmed: &'static str,
    pub done_unconfirmed: &'static str,
    pub done_reset_sent: fn(&str) -> String,
    pub reset_sent_recently: fn(&str) -> String,
    pub cannot_disable_self: &'static str,
    /// Removing a person's account: the heading and button, what it does (their username),
    /// what is said once it is done, and why one's own cannot be.
    pub remove_person: &'static str,
    pub remove_person_what: fn(&str) -> String,
    /// That the person is told by mail: username, address.
    pub remove_person_told: fn(&str, &str) -> String,
    pub done_person_removed: fn(&str) -> String,
    pub cannot_remove_self: &'static str,
    /// Changing a person's name and address: what a new address means, the button, and what
    /// is said once it is done.
    pub name_and_address_help: &'static str,
    pub save_name_and_address: &'static str,
    pub done_name_and_address: &'static str,
    pub add_person: &'static str,
    pub username_label: &'static str,
    pub username_help: &'static str,
    pub initial_password: &'static str,
    pub initial_password_help: &'static str,
    pub invite_help: &'static str,
    /// A new person's language, where the pages speak several.
    pub new_language_unset: &'static str,
    pub new_language_help: &'static str,
    pub add: &'static str,
    pub done_invited: fn(&str) -> String,
    pub done_created: &'static str,
    /// What a form named exists already: a username (or one like it), a group, a client id.
    pub exists_already: fn(&Named) -> String,
    pub no_such_person: Problem,
    pub no_groups: &'static str,
    pub members_count: fn(usize) -> String,
    /// A sign-in policy, in words.
    pub policy: fn(AuthPolicy) -> &'static str,
    pub add_group: &'static str,
    pub group_name: &'static str,
    pub group_name_help: &'static str,
    pub description: &'static str,
    pub sign_in_policy: &'static str,
    pub policy_label: &'static str,
    pub save_policy: &'static str,
    /// Custom claims: the heading, what they are, the field and its button.
    pub claims: &'static str,
    pub claims_help: &'static str,
    pub claims_label: &'static str,
    pub save_claims: &'static str,
    pub done_claims: &'static str,
    pub set_language: &'static str,
    pub done_language: &'static str,
    pub claims_not_json: &'static str,
    pub members: &'static str,
    pub no_members: &'static str,
    /// Below a group's members when there are more than the page shows (how many it shows).
    pub more_members: fn(usize) -> String,
    pub add_member: &'static str,
    pub remove_member: fn(&str) -> String,
    pub remove_group: &'static str,
    pub remove_group_what: fn(&str, usize) -> String,
    pub type_to_confirm: fn(&str) -> String,
    pub done_group_added: &'static str,
    pub done_member_added: fn(&str) -> String,
    pub done_member_already: fn(&str) -> String,
    pub done_member_removed: fn(&str) -> String,
    pub done_not_member: fn(&str) -> String,
    pub done_policy: &'static str,
    pub done_group_removed: fn(&str) -> String,
    pub confirm_mismatch: &'static str,
    /// Something named in a form does not exist: a person, a group.
    pub not_found: fn(&Named) -> String,
    /// Why a change was refused: what the form asked for is not acceptable.
    pub refusal: fn(&Refusal) -> String,
    pub no_such_group: Problem,
    pub applications: &'static str,
    pub no_applications: &'static str,
    /// What kind of client: public or confidential, first-party or not.
    pub client_kind: fn(ClientAuthMethod, bool) -> String,
    pub register: &'static str,
    pub client_id: &'static str,
    pub display_name: &'static str,
    pub redirect_uris: &'static str,
    pub redirect_help: &'static str,
    pub first_party: &'static str,
    pub require_par: &'static str,
    pub require_signed: &'static str,
    pub require_dpop: &'static str,
    pub require_confirmed_address: &'static str,
    pub public_client: &'static str,
    pub keys: &'static str,
    pub keys_help: &'static str,
    pub keys_at: &'static str,
    pub keys_at_help: &'static str,
    pub save_keys_at: &'static str,
    pub done_keys_at: &'static str,
    pub replace_keys: &'static str,
    pub done_keys: &'static str,
    pub keys_not_json: &'static str,
    pub kind: &'static str,
    pub secret_once: &'static str,
    pub secret_saved: &'static str,
    pub done_registered: &'static str,
    pub who_may_use: &'static str,
    pub access_help: &'static str,
    pub save_access: &'static str,
    pub done_access: &'static str,
    pub settings: &'static str,
    pub settings_help: &'static str,
    pub home_uri: &'static str,
    pub home_uri_help: &'static str,
    pub logo_uri: &'static str,
    pub post_logout_uris: &'static str,
    pub post_logout_help: &'static str,
    pub backchannel_uri: &'static str,
    pub backchannel_help: &'static str,
    pub access_token_claims: &'static str,
    pub access_token_claims_help: &'static str,
    pub resources: &'static str,
    pub resources_help: &'static str,
    pub introspects: &'static str,
    pub introspects_help: &'static str,
    pub scopes: &'static str,
    /// What a scope lets an application ask for.
    pub scope: fn(&str) -> &'static str,
    pub grant_types: &'static str,
    pub grant_type: fn(GrantType) -> &'static str,
    pub token_format: &'static str,
    pub token_format_is: fn(AccessTokenFormat) -> &'static str,
    pub subject_type: &'static str,
    pub subject_type_is: fn(SubjectType) -> &'static str,
    pub sector: &'static str,
    pub sector_help: &'static str,
    pub id_token_alg: &'static str,
    pub save_settings: &'static str,
    pub done_settings: &'static str,
    /// An application's logo: the heading, what it is for, the file's label, the buttons, and
    /// what is said once it changed.
    pub logo: &'static str,
    pub logo_help: &'static str,
    pub logo_image: &'static str,
    pub upload_logo: &'static str,
    pub remove_logo: &'static str,
    pub done_logo: &'static str,
    pub done_logo_removed: &'static str,
    pub choose_scope: &'static str,
    pub choose_grant: &'static str,
    pub new_secret: &'static str,
    pub new_secret_help: &'static str,
    pub secret_leaked: &'static str,
    pub done_rotated: fn(bool) -> String,
    pub remove_client: &'static str,
    pub remove_client_what: fn(&str) -> String,
    pub done_client_removed: fn(&str) -> String,
    pub no_such_client: Problem,
    pub signing_keys: &'static str,
    /// When a key signs: from, until ("—" while it is the one signing).
    pub key_signs: fn(&str, &str) -> String,
    pub key_published_until: fn(&str) -> String,
    pub rotate: &'static str,
    pub which_keys: &'static str,
    pub every_algorithm: &'static str,
    pub rotate_help: &'static str,
    pub compromised: &'static str,
    pub done_rotated_keys: fn(usize, bool) -> String,
}

pub(in crate::http) struct ErrorText {
    pub busy: Problem,
    pub failed: Problem,
    pub bad_sign_in_link: Problem,
    pub bad_sign_out_link: Problem,
    pub no_page: Problem,
    pub expired_form: Problem,
    pub account_form_incomplete: Problem,
    pub consent_form_incomplete: Problem,
    pub device_form_incomplete: Problem,
    pub device_code_used: Problem,
    pub no_mail: Problem,
    pub reset_link_void: Problem,
    pub confirm_link_void: Problem,
    pub passkey_link_void: Problem,
    pub signup_link_void: Problem,
    pub ask_for_a_new_link: &'static str,
    pub detail_for_admin: &'static str,
    pub start_again: &'static str,
    pub back_to_account: &'static str,
}

/// The page of a sign-up link, where a person makes their own account.
pub(in crate::http) struct SignupText {
    pub title: &'static str,
    /// What the page is for, with the product's name; whether passkeys work here.
    pub what: fn(&str, bool) -> Markup,
    pub username_help: &'static str,
    /// Under the address where a link to confirm it is sent.
    pub email_help_mail: &'static str,
    /// The choice of a passkey in place of a password, where the browser can make one.
    pub passkey_title: &'static str,
    pub passkey_submit: &'static str,
    /// What follows it: the password's fields.
    pub or_password: &'static str,
    pub submit: &'static str,
    pub done_title: &'static str,
    pub done: &'static str,
    /// The account signs in with the passkey made for it.
    pub done_passkey: &'static str,
    /// A link to confirm the address was sent to it.
    pub confirm_sent: fn(&str) -> String,
    /// Another account has the address, confirmed.
    pub address_taken: &'static str,
    /// Under the address, for a link for some domains (them, joined).
    pub domains_help: fn(&str) -> String,
    /// An address at another domain than the link's (them, joined).
    pub other_domain: fn(&str) -> String,
}

/// The administration page of sign-up links.
pub(in crate::http) struct SignupLinksText {
    pub title: &'static str,
    pub what: &'static str,
    pub none: &'static str,
    /// How many people used it, of how many it allows.
    pub uses_of: fn(u32, u32) -> String,
    /// Until when it works.
    pub works_until: fn(&str) -> String,
    /// The groups it puts people in.
    pub into_groups: fn(&str) -> String,
    /// The address domains it is for.
    pub for_domains: fn(&str) -> String,
    pub expired: &'static str,
    pub used_up: &'static str,
    pub remove: &'static str,
    /// A removed link, for the page's notice.
    pub removed: &'static str,
    pub new_title: &'static str,
    pub uses_label: &'static str,
    pub days_label: &'static str,
    pub note_label: &'static str,
    pub note_help: &'static str,
    pub groups_label: &'static str,
    pub domains_label: &'static str,
    pub domains_help: &'static str,
    pub make: &'static str,
    pub made_title: &'static str,
    /// The new link's page: for how many people, until when.
    pub made_what: fn(u32, &str) -> String,
    /// From the new link's page back to the list.
    pub back: &'static str,
}

/// English.
pub(in crate::http) static ENGLISH: Text = Text {
    language: "en",
    name: "English",
    sign_in: SignInText {
        title: "Sign in",
        other_languages: "Other languages",
        to_continue_to: |app| html! { "to continue to " strong { (app) } },
        username: "Username",
        password: "Password",
        keep_signed_in: "Keep me signed in on this device",
        submit: "Sign in",
        wrong_password: "Wrong username or password.",
        too_many_attempts: |wait| format!("Too many failed attempts. Try again in {wait}."),
        locked_out: |wait| {
            format!(
                "Too many failed attempts. Try again in {wait}, or ask an administrator to let \
                 you sign in sooner."
            )
        },
        wait: |seconds| match seconds {
            s if s <= 1 => "a second".into(),
            s if s < 120 => format!("{s} seconds"),
            s => format!("{} minutes", (s + 59) / 60),
        },
        your_account: "your account",
        signed_out_for_account: "You are signed out. Sign in to manage your account.",
        expired_start_again: "This page has expired. Start signing in again.",
        returning: "Returning to the application",
        returning_button: "Continue",
    },
    second_factor: SecondFactorText {
        title: "Two-step verification",
        code_label: "Code from your authenticator app",
        code_help: "Lost your phone? Enter one of your recovery codes instead.",
        verify: "Verify",
        use_passkey_to_finish: "Use your passkey to finish signing in.",
        passkey_lost: "Lost the device your passkey is on? Your administrator can send you a \
                       link to add another.",
        wrong_code: "That code is not right, or it was used already. Enter the code the app \
                     shows now.",
        too_many_codes: |wait| format!("Too many wrong codes. Try again in {wait}."),
        codes_locked_out: |wait| {
            format!(
                "Too many wrong codes. Try again in {wait}, or ask an administrator to let you \
                 sign in sooner."
            )
        },
        app_set_up_meanwhile: "An authenticator app was set up for your account meanwhile, in \
                               another window. Enter a code from that app.",
    },
    passkey: PasskeyText {
        sign_in_with: "Sign in with a passkey",
        use_one: "Use a passkey",
        required_title: "Use your passkey",
        required_by: |app| html! { strong { (app) } " asks you to sign in with a passkey." },
        add_title: "Add a passkey",
        required_none_yet: |app| {
            html! {
                strong { (app) } " asks you to sign in with a passkey, and your account has \
                none yet. Add one now: your device asks for your fingerprint, face or screen \
                lock."
            }
        },
        name_label: "Name of the new passkey",
        name_placeholder: "Phone",
        default_name: "Passkey",
        add: "Add a passkey",
        added: |name| format!("The passkey “{name}” is added: it signs you in from now on."),
        removed: "The passkey is removed: it no longer signs you in.",
        no_such_passkey: "There is no such passkey on your account.",
        last_way_in: "This passkey is how you sign in, as your account has no password: set a \
                      password or add another passkey before you remove it.",
        script_cancelled: "No passkey was used. Try again, or sign in with your password.",
        script_duplicate: "This authenticator has a passkey for your account already.",
        script_failed: "The passkey could not be used.",
        script_start_failed: "This could not be started. Reload the page and try again.",
        browser_cannot_sign_in: "This browser cannot use passkeys: that takes JavaScript and a \
                                 browser that supports passkeys, such as a recent Chrome, Edge, \
                                 Firefox or Safari. Finish signing in with one of those.",
        browser_cannot_add: "This browser cannot add passkeys: that takes JavaScript and a \
                             browser that supports passkeys, such as a recent Chrome, Edge, \
                             Firefox or Safari.",
        unavailable: "Passkeys are not available here.",
        unavailable_use_password: "Passkeys are not available here. Sign in with your password.",
        busy: "The service is busy. Try again in a moment.",
        page_expired: "This page has expired. Reload it and try again.",
        too_many_starts: |wait| {
            format!("Too many passkey sign-ins from here. Try again in {wait} seconds.")
        },
        could_not_use: "The passkey could not be used.",
        could_not_add: "The passkey could not be added.",
        signed_out_reload: "You are signed out. Reload the page to sign in.",
        no_browser_answer: "Your browser did not create a passkey: adding one needs \
                            JavaScript and a browser that supports passkeys.",
        name_too_long: |max| {
            format!("The passkey was not added: a passkey's name is at most {max} characters.")
        },
        name_unprintable: "The passkey was not added: a passkey's name cannot hold control or \
                           invisible characters.",
        add_took_too_long: "Adding the passkey took too long, or was done already. Try again.",
        busy_not_added: "The service is busy: the passkey was not added. Try again.",
        not_verified_not_added: "The passkey could not be verified, so it was not added. Try \
                                 again.",
        registered_already: "That passkey is registered already.",
        sign_in_took_too_long: "That passkey sign-in took too long or was used already. Try \
                                again.",
        not_registered: "That passkey is not registered here (it may have been removed). Sign \
                         in with your password.",
        not_verified: "That passkey could not be verified. Try again, or sign in with your \
                       password.",
    },
    app: AppText {
        setup_title: "Set up two-step verification",
        setup_why: |app| {
            html! {
                "To continue to " strong { (app) } ", your account needs a code from an \
                authenticator app as well as your password."
            }
        },
        setup_scan: "1. In an authenticator app on your phone (such as Aegis, Google \
                     Authenticator, Microsoft Authenticator or 1Password), add an account by \
                     scanning this code:",
        setup_cannot_scan: "Cannot scan it? Enter this key instead:",
        setup_code_label: "2. Enter the 6-digit code the app shows",
        setup_submit: "Turn on two-step verification",
        wrong_setup_code: "That code is not right. Check that the app added the account, and \
                           enter the code it shows now.",
        qr_label: "QR code for your authenticator app",
        codes_title: "Save your recovery codes",
        codes_what: "Two-step verification is on. If you lose your phone, each of these codes \
                     signs you in once, in place of a code from the app.",
        codes_label: "Recovery codes",
        codes_shown_once: "They are shown only now.",
        codes_keep: "Keep them somewhere safe, such as a password manager or a printout.",
        codes_continue: |to| html! { "I have saved them, continue to " (to) },
    },
    consent: ConsentText {
        title: "Allow access?",
        would_like_to: |client| html! { strong { (client) } " would like to:" },
        allow: "Allow",
        deny: "Deny",
        openid: "Know who you are",
        profile: "See your name and username",
        email: "See your email address",
        groups: "See which groups you are in",
        offline_access: "Stay signed in when you are away",
        at_these_services: "And act for you at these services:",
    },
    device: DeviceText {
        entry_title: "Connect a device",
        entry_what: "Enter the code your device shows to sign it in with your account.",
        code_label: "Code",
        code_help: "8 letters; dashes and case do not matter.",
        next: "Continue",
        confirm_title: "Sign in on your device?",
        confirm_check: |client, code| {
            html! {
                "A device is asking to use " strong { (client) } " as you. Check that it shows "
                strong.code { (code) } "."
            }
        },
        it_will_be_able_to: "It will be able to:",
        phishing_warning: "Only allow this if you started the sign-in yourself, on a device \
                           you have with you. If someone sent you this code, deny it.",
        allowed_title: "Your device is signed in",
        allowed: |client| {
            html! {
                strong { (client) } " on your device is now signed in as you. You can close \
                this window and go back to the device."
            }
        },
        denied_title: "The device was not signed in",
        denied: "You denied the request, so the device got no access. You can close this \
                 window.",
        not_a_code: "That is not a device code: it has 8 letters, like WDJB-MJHT.",
        too_many_codes: |wait| format!("Too many wrong codes. Try again in {wait}."),
        codes_locked_out: |wait| {
            format!(
                "Too many wrong codes. Try again in {wait}, or ask an administrator to let you \
                 try sooner."
            )
        },
        code_not_valid: "That code is not valid, or it has expired. Check the code on your \
                         device; if it has expired, start again there.",
        your_device: "your device",
        asks_for_more: |app| {
            format!("{app} asks for two-step verification. Sign in again to continue.")
        },
        confirm_address_first: |app| {
            format!(
                "{app} needs your email address confirmed first. Confirm it from your account \
                 page, then enter the code again."
            )
        },
    },
    sign_out: SignOutText {
        confirm_title: "Sign out?",
        confirm_question: |product| html! { "Do you want to sign out of " (product) "?" },
        sign_out: "Sign out",
        done_title: "Signed out",
        done_heading: "You are signed out",
        close_window: "You can close this window.",
    },
    no_access: NoAccessText {
        title: |client| format!("You don't have access to {client}"),
        why: "You are signed in, but your account is not in a group that may use this \
              application.",
        ask: "Ask your administrator for access.",
        back_to: |client| html! { "Back to " (client) },
    },
    confirm_address: ConfirmAddressText {
        title: "Confirm your email address",
        needs: |client, email| {
            html! {
                strong { (client) } " needs to know that the address " strong { (email) }
                " is yours before you continue."
            }
        },
        send: "Email me a confirmation link",
        then_continue: "Open the link in that mail, then continue here.",
        continue_to: |client| html! { "Continue to " (client) },
        ask_administrator: "Ask your administrator to confirm your address.",
        not_yours: "Not your address?",
        account_domains: |domains| {
            format!(
                "Your account signs in to applications only with a confirmed address at {domains}."
            )
        },
        change_first: "Yours is not at one of them: give one that is on your account page, then \
                       confirm it.",
    },
    account: AccountText {
        title: "Your account",
        signed_in_as: |user| html! { "Signed in as " strong { (user) } },
        sign_out: "Sign out",
        sections: "Sections of your account",
        profile: "Profile",
        password: "Password",
        passkeys: "Passkeys",
        two_step: "Two-step verification",
        sessions: "Where you are signed in",
        applications: "Your applications",
        apps: "Applications you allowed",
        activity: "Recent activity",
        not_recent: "To change this, sign in again: your last sign-in was more than 10 minutes \
                     ago.",
        sign_in_again: "Sign in again",
        download: "Download your data",
        download_help: "Everything this server keeps about you that this page shows, and more \
                        of your activity, as a JSON file: your profile, groups, two-step \
                        verification, sessions, the applications you allowed and your \
                        activity. No password or secret is in it.",
        remove_section: "Remove your account",
        remove_what: "Removing your account signs you out everywhere (each application you \
                      signed in to is told) and removes your password, second factors, \
                      passkeys, sessions and the access you gave applications. It cannot be \
                      undone: to come back, you would need a new account.",
        remove_type_to_confirm: |username| format!("Type {username} to confirm"),
        remove_button: "Remove my account",
        remove_ask_another_administrator: "You administer this server: another administrator \
                                           removes your account, on the administration pages.",
        remove_not_confirmed: |username| {
            format!("Type your username, {username}, to confirm. Your account is not removed.")
        },
        removed_title: "Your account is removed",
        removed_text: "You are signed out everywhere, and nothing of your account is kept here \
                       but the audit log's records of what happened to it. You can close this \
                       window.",
        removed_told: |address| format!("A mail telling of it is on its way to {address}."),
        sign_in_again_first: "Sign in again first: your last sign-in was more than 10 minutes \
                              ago.",
        name_label: "Name",
        email_label: "Email address",
        email_verified: "Confirmed",
        email_unverified: "Not confirmed",
        email_help: "Applications you allowed to see your email address receive it. A new \
                     address is not confirmed until an administrator confirms it.",
        email_help_mail: "Applications you allowed to see your email address receive it. A new \
                          address is not confirmed until you follow the link we send to it.",
        save_profile: "Save",
        profile_saved: "Your profile is saved.",
        profile_unchanged: "Nothing was changed.",
        language: "Language",
        language_browser: "As my browser asks",
        language_help: "The language of these pages and of the mail sent to you. Applications \
                        you allowed to see your profile are told it too.",
        save_language: "Save language",
        language_saved: "Your language is saved.",
        bad_name: "A name is at most 256 characters, without control or invisible characters.",
        bad_email: "That is not an email address.",
        current_password: "Current password",
        new_password: "New password",
        new_password_help: "At least 12 characters. A few unrelated words make a strong \
                            password that is easy to remember.",
        repeat_password: "New password again",
        change_password: "Change password",
        wrong_current_password: "Your current password is not right, so nothing was changed.",
        passwords_differ: "The two new passwords are not the same.",
        password_too_short: |min| {
            format!("The new password is too short: use at least {min} characters.")
        },
        password_too_long: |max| {
            format!("The new password is too long: use at most {max} characters.")
        },
        password_too_weak: |why| format!("That password is too easy to guess: {why}"),
        weakness: |weakness| weakness.to_string(),
        password_same: "The new password is the one you have now.",
        password_changed: |others| match others {
            0 => "Your password is changed.".to_owned(),
            1 => "Your password is changed, and your one other session is signed out.".to_owned(),
            n => format!("Your password is changed, and your {n} other sessions are signed out."),
        },
        no_password: "Your account has no password: you sign in with a passkey.",
        set_password: "Set a password",
        remove_password_what: "With a passkey you can do without a password: nobody can then \
                               sign in as you with one, and your passkeys are how you sign in. \
                               Your other sessions are signed out.",
        remove_password: "Remove my password",
        password_removed: |others| match others {
            0 => "Your password is removed: you sign in with a passkey.".to_owned(),
            1 => "Your password is removed: you sign in with a passkey. Your one other session \
                  is signed out."
                .to_owned(),
            n => format!(
                "Your password is removed: you sign in with a passkey. Your {n} other sessions \
                 are signed out."
            ),
        },
        password_kept: "Your password stays: add a passkey first, to sign in with instead.",
        two_step_on: "On.",
        two_step_on_since: |day| {
            format!(
                "Signing in takes your password and a code from the authenticator app you set \
                 up on {day}."
            )
        },
        recovery_codes_left: |n| html! { "Recovery codes left: " strong { (n) } "." },
        no_app: "No authenticator app.",
        no_app_passkey: "After your password, you use a passkey.",
        two_step_off: "Off.",
        two_step_off_what: "Signing in takes your password only.",
        two_step_required: "A group you are in requires an authenticator app: set one up now, \
                            or when you next sign in.",
        replace_app: "Set up a new app in its place",
        new_codes: "Make new recovery codes",
        remove_app: "Turn off two-step verification",
        setup_app: "Set up an authenticator app",
        app_required_cannot_remove: "A group you are in requires two-step verification, so the \
                                     app cannot be removed. You can set up a new app in its \
                                     place, or add a passkey first.",
        app_removed: "The authenticator app and your recovery codes are removed: signing in \
                      takes your password only.",
        app_removed_passkey_left: "The authenticator app and your recovery codes are removed: \
                                   after your password, you use your passkey.",
        passkeys_what: "A passkey signs you in with your fingerprint, face or screen lock \
                        instead of a password and a code.",
        your_passkeys: "Your passkeys",
        passkey_added: |day| format!("added {day}"),
        passkey_last_used: |day| format!("last used {day}"),
        passkey_never_used: "never used",
        remove: "Remove",
        remove_named: |name| format!("Remove {name}"),
        with_passkey: "with a passkey",
        with_password_and_code: "with your password and a code",
        with_password: "with your password",
        with_other: "another way",
        your_sessions: "Your sessions",
        this_browser: "This browser",
        session_started: |at, how| format!("Signed in {at} {how}"),
        session_last_active: |at| format!("last active {at}"),
        session_kept_until: |at| format!("kept signed in until {at}"),
        browser_on: |browser, system| match system {
            Some(system) => format!("{browser} on {system}"),
            None => browser.to_owned(),
        },
        unknown_browser: "An unknown browser",
        signed_in_from: |ip| format!("from {ip}"),
        sign_out_session: |at| format!("Sign out the session that signed in {at}"),
        sign_out_everywhere_else: "Sign out everywhere else",
        signed_out_browsers_are_new: "A browser you sign out here is new to your account again: \
                                      if it signs in as you, we tell you by email.",
        no_other_sessions: "You are signed in nowhere else.",
        session_ended: "That session is signed out.",
        no_such_session: "That session has ended already.",
        other_sessions_ended: |n| match n {
            0 => "You were signed in nowhere else.".to_owned(),
            1 => "Your other session is signed out.".to_owned(),
            n => format!("Your {n} other sessions are signed out."),
        },
        staying: "Applications that stay signed in",
        staying_help: "These applications keep you signed in when you sign out of your \
                       sessions, until you sign them out here (or choose a new password).",
        staying_since: |since, used| format!("signed in {since}, last used {used}"),
        sign_out_app_named: |app| format!("Sign out of {app}"),
        app_signed_out: |app| format!("{app} is signed out of your account."),
        app_signed_out_already: "That application was signed out already.",
        no_apps: "You have not allowed any application to see your account.",
        apps_you_allowed: "Applications you allowed",
        given_claims: "Given to you by your administrators",
        given_claims_help: "Applications you allow to see your profile are told these too.",
        allowed_on: |day| format!("allowed {day}"),
        withdraw: "Withdraw",
        withdraw_named: |app| format!("Withdraw access of {app}"),
        withdraw_help: "Withdrawing signs the application out of your account; it asks again \
                        the next time you use it.",
        withdrawn: |app| format!("{app} no longer has access to your account."),
        no_such_app: "That application has no access to your account.",
        no_activity: "Nothing yet.",
        recent_activity: "Your recent activity",
        from_address: |ip| format!("from {ip}"),
        activity_help: "If you see a sign-in you do not recognise, change your password and \
                        sign out everywhere else.",
        event: english_event,
    },
    email: EmailText {
        forgot_password: "Forgot your password?",
        reset_title: "Reset your password",
        reset_what: "Enter your username or email address. We send a link to set a new password \
                     to the address of your account.",
        identifier_label: "Username or email address",
        send_reset_link: "Send a reset link",
        check_your_mail: "Check your email",
        reset_sent: "If an account has that username or address, a link to set a new password \
                     is on its way to the account's email address. It works for 30 minutes.",
        reset_sent_nothing: "Nothing arrived? Check your spam folder, wait a minute and ask \
                             again, or ask your administrator.",
        too_many_requests: |wait| {
            format!("Too many reset requests from here. Try again in {wait} seconds.")
        },
        new_password_title: "Choose a new password",
        set_new_password: "Set the new password",
        reset_done_title: "Your password is changed",
        reset_done: "Sign in with your new password. Every session you had is signed out, and \
                     applications will ask you to sign in again.",
        to_your_account: "Go to your account",
        confirm_title: "Confirm your email address",
        confirm_question: |email| html! { "Confirm that " strong { (email) } " is your address." },
        confirm: "Confirm",
        confirmed_title: "Your address is confirmed",
        confirmed: |email| format!("{email} is confirmed as your address."),
        send_confirmation: "Send me a confirmation link",
        confirmation_sent: |email| format!("A confirmation link is on its way to {email}."),
        confirmation_sent_recently: |email| {
            format!("A link was sent to {email} less than a minute ago: check your mailbox.")
        },
        reset_subject: |product| format!("Reset your {product} password"),
        reset_body: |product, username, link, minutes| {
            format!(
                "Hello {username},\n\n\
                 someone (we hope you) asked to reset the password of your {product} account. \
                 To choose a new one, open this link within {minutes} minutes:\n\n{link}\n\n\
                 If it was not you, ignore this mail: your password stays as it is.\n"
            )
        },
        confirm_subject: |product| format!("Confirm your email address for {product}"),
        confirm_body: |product, username, link, hours| {
            format!(
                "Hello {username},\n\n\
                 to confirm that this is the address of your {product} account, open this link \
                 within {hours} hours:\n\n{link}\n\n\
                 If you did not ask for this, ignore this mail.\n"
            )
        },
        welcome_title: "Choose your password",
        welcome: |product| {
            html! {
                "An account was made for you at " strong { (product) } ". Choose the password \
                you will sign in with."
            }
        },
        welcome_done_title: "Your account is ready",
        welcome_done: "Sign in with your username and the password you chose. Your address is \
                       confirmed too.",
        welcome_passkey_title: "Or use a passkey instead",
        welcome_passkey_what: "A passkey signs you in with your fingerprint, face or screen \
                               lock, and nobody can guess it. Your account then has no \
                               password; you can set one on your account page later.",
        welcome_done_passkey: "Sign in with your passkey: “Sign in with a passkey” on the \
                               sign-in page. Your address is confirmed too.",
        invite_subject: |product| format!("Your {product} account"),
        invite_body: |product, username, link, days| {
            format!(
                "Hello,\n\n\
                 an administrator made a {product} account for you, with the username \
                 {username}. To choose your password, open this link within {days} days:\n\n\
                 {link}\n\n\
                 If you did not expect this, ignore this mail.\n"
            )
        },
        passkey_link_title: "Add a passkey",
        passkey_link_what: |product, username| {
            html! {
                "An administrator of " strong { (product) } " sent you this link so that you can \
                sign in as " strong { (username) } " again. Add a passkey on this device: it \
                signs you in from now on."
            }
        },
        passkey_link_done_title: "Your passkey is added",
        passkey_link_done: "Sign in with it: “Sign in with a passkey” on the sign-in page. Every \
                            session you had is signed out. If you lost a passkey, remove it on \
                            your account page.",
        passkey_link_subject: |product| format!("Add a passkey to your {product} account"),
        passkey_link_body: |product, username, link, hours| {
            format!(
                "Hello {username},\n\n\
                 an administrator of {product} sent you this link so that you can add a new \
                 passkey to your account and sign in with it. Open it on the device the passkey \
                 will be on, within {hours} hours:\n\n{link}\n\n\
                 If you did not ask for this, tell your administrator.\n"
            )
        },
        notice_subject: |product, kind| match kind {
            NoticeKind::PasswordChanged | NoticeKind::PasswordReset | NoticeKind::PasswordSet => {
                format!("Your {product} password was changed")
            }
            NoticeKind::PasswordRemoved => format!("Your {product} password was removed"),
            NoticeKind::TotpAdded => format!("An authenticator app was set up for {product}"),
            NoticeKind::TotpReplaced => format!("Your {product} authenticator app was replaced"),
            NoticeKind::TotpRemoved => format!("Your {product} authenticator app was removed"),
            NoticeKind::PasskeyAdded => format!("A passkey was added to your {product} account"),
            NoticeKind::PasskeyRemoved => {
                format!("A passkey was removed from your {product} account")
            }
            NoticeKind::RecoveryCodesReplaced => format!("New {product} recovery codes"),
            NoticeKind::RecoveryCodeUsed => {
                format!("A recovery code was used to sign in to {product}")
            }
            NoticeKind::FactorsReset => {
                format!("Your {product} second steps of signing in were removed")
            }
            NoticeKind::AddressChanged => format!("Your {product} email address was changed"),
            NoticeKind::NewSignIn => format!("A new sign-in to your {product} account"),
            NoticeKind::AccountRemoved | NoticeKind::RemovedByAdministrator => {
                format!("Your {product} account was removed")
            }
        },
        notice_body: |f| {
            let product = f.product;
            let what = match f.kind {
                NoticeKind::PasswordChanged => format!(
                    "the password of your {product} account was changed on your account page. \
                     Your other sessions were signed out."
                ),
                NoticeKind::PasswordRemoved => format!(
                    "the password of your {product} account was removed on your account page: \
                     you sign in with a passkey from now on. Your other sessions were signed out."
                ),
                NoticeKind::PasswordReset => format!(
                    "the password of your {product} account was changed with a reset link sent \
                     to this address. Every session you had was signed out."
                ),
                NoticeKind::PasswordSet => format!(
                    "an administrator set a new password for your {product} account. Every \
                     session you had was signed out."
                ),
                NoticeKind::TotpAdded => format!(
                    "an authenticator app was set up for your {product} account: signing in \
                     asks for a code from it now."
                ),
                NoticeKind::TotpReplaced => format!(
                    "the authenticator app of your {product} account was replaced by another: \
                     codes from the old one no longer work."
                ),
                NoticeKind::TotpRemoved => format!(
                    "the authenticator app of your {product} account was removed, and its \
                     recovery codes with it."
                ),
                NoticeKind::PasskeyAdded => format!(
                    "a passkey was added to your {product} account: whoever holds it can sign \
                     in as you."
                ),
                NoticeKind::PasskeyRemoved => {
                    format!("a passkey was removed from your {product} account.")
                }
                NoticeKind::RecoveryCodesReplaced => format!(
                    "new recovery codes were made for your {product} account: the old ones no \
                     longer work."
                ),
                NoticeKind::RecoveryCodeUsed => format!(
                    "a recovery code was used to sign in to your {product} account, in place \
                     of a code from your authenticator app."
                ),
                NoticeKind::FactorsReset => format!(
                    "an administrator removed the authenticator app, the recovery codes and the \
                     passkeys of your {product} account: signing in asks for your password \
                     alone until you set up another. If your account has no password, ask \
                     them for one, or have a reset link sent to this address."
                ),
                NoticeKind::NewSignIn => format!(
                    "someone signed in to your {product} account from a browser that had not \
                     signed in as you before."
                ),
                NoticeKind::AccountRemoved => format!(
                    "your {product} account was removed on its account page, and everything it \
                     held with it: every session of it is signed out, and no application can \
                     use it any more."
                ),
                NoticeKind::RemovedByAdministrator => format!(
                    "an administrator removed your {product} account, and everything it held \
                     with it: every session of it is signed out, and no application can use it \
                     any more."
                ),
                NoticeKind::AddressChanged => match f.new_address {
                    Some(new) => format!(
                        "the email address of your {product} account was changed to {new}. Mail \
                         about your account, reset links too, goes there from now on."
                    ),
                    None => format!(
                        "the email address of your {product} account was removed: no more mail \
                         about it comes here."
                    ),
                },
            };
            let from = f.from.map(|ip| format!("From: {ip}\n")).unwrap_or_default();
            let from = match &f.browser {
                Some(browser) => format!("{from}Browser: {browser}\n"),
                None => from,
            };
            let advice = if f.kind == NoticeKind::RemovedByAdministrator {
                "If you did not expect this, ask your administrator why.".to_owned()
            } else if f.kind == NoticeKind::AccountRemoved {
                "If this was you, there is nothing to do. If it was not, someone was signed in \
                 as you: tell your administrator at once."
                    .to_owned()
            } else if f.kind.by_administrator() {
                format!(
                    "If you did not expect this, ask your administrator why.\n\n\
                     Your account's recent activity:\n{}",
                    f.account
                )
            } else if f.kind == NoticeKind::AddressChanged {
                "If this was you, there is nothing to do. If it was not, someone else may be \
                 signed in as you: tell your administrator at once."
                    .to_owned()
            } else {
                format!(
                    "If this was you, there is nothing to do. If it was not, someone else may be \
                     able to sign in as you: choose a new password at once, look at your \
                     account's recent activity, and tell your administrator.\n\n\
                     Choose a new password:\n{}\n\n\
                     Your account's recent activity:\n{}",
                    f.reset, f.account
                )
            };
            format!(
                "Hello {},\n\n{what}\n\nWhen: {}\n{from}\n{advice}\n",
                f.username, f.when
            )
        },
    },
    signup: SignupText {
        title: "Make your account",
        what: |product, passkeys| {
            html! {
                "Make your own account at " strong { (product) } ". "
                @if passkeys {
                    "You will sign in with a passkey or a password, as you choose here."
                } @else {
                    "You will sign in with the username and the password you choose here."
                }
            }
        },
        username_help: "Letters and digits, and . - _ @ +: what you sign in with, and what \
                        applications may show.",
        email_help_mail: "A link to confirm it is sent there.",
        passkey_title: "Sign in with a passkey",
        passkey_submit: "Make my account with a passkey",
        or_password: "Or choose a password",
        submit: "Make my account",
        done_title: "Your account is ready",
        done: "Sign in with your username and the password you chose.",
        done_passkey: "Sign in with your passkey: “Sign in with a passkey” on the sign-in page.",
        confirm_sent: |email| {
            format!("A link to confirm your address was sent to {email}: open it when it arrives.")
        },
        address_taken: "Another account has this email address. If it is yours, sign in to it \
                        (or ask for a password reset) instead.",
        domains_help: |domains| {
            format!(
                "An address at {domains}: you sign in to applications once you have confirmed it."
            )
        },
        other_domain: |domains| format!("This link is for addresses at {domains} only."),
    },
    console: ConsoleText {
        administration: "Administration",
        sections: "Administration",
        people: "People",
        audit_log: "Audit log",
        search_label: "Username, name or email address",
        search: "Search",
        nobody_found: "Nobody matches.",
        more_people: "More people match: narrow the search to see them.",
        disabled: "Disabled",
        enabled: "Enabled",
        account: "Account",
        name: "Name",
        state: "State",
        created: "Created",
        groups: "Groups",
        app: "Authenticator app",
        no_app: "No authenticator app",
        passkeys: |n| match n {
            1 => "1 passkey".to_owned(),
            n => format!("{n} passkeys"),
        },
        has_password: "Set",
        no_password: "None: signs in with a passkey",
        no_way_in: "None, and no passkey: cannot sign in until given a password (below)",
        actions: "What you can do",
        not_recent: "To change an account, sign in again: your last sign-in was more than 10 \
                     minutes ago.",
        enable: "Enable the account",
        disable: "Disable the account",
        sign_out_everywhere: "Sign out everywhere",
        sessions_of: |username| format!("Where {username} is signed in"),
        signed_in_nowhere: "Signed in nowhere.",
        session_since: |at| format!("Signed in {at}"),
        reset_factors: "Remove the authenticator app and passkeys",
        paused_until: |at| format!("cannot sign in until {at} after failed attempts"),
        address_rule: |domains| {
            format!("signs in to applications only with a confirmed address at {domains}")
        },
        address_rule_label: "Sign in to applications only with a confirmed address at",
        address_rule_help: "Domains, separated by spaces or commas. Until their address is a \
                            confirmed one at one of them, applications get nothing from this \
                            account: they are asked to confirm it, or to give one there.",
        set_address_rule: "Keep to these domains",
        domains_without_mail: "This server sends no mail, so no confirmation link: each such \
                               account waits until an administrator marks its address \
                               confirmed.",
        unlock: "Let them sign in again now",
        lift_address_rule: "Let them sign in with an address anywhere",
        confirm_email: "Mark the address confirmed",
        unconfirm_email: "Mark the address not confirmed",
        send_reset: "Send a password reset link",
        make_reset_link: "Make a password reset link",
        done_reset_link: |username| format!("A password reset link for {username} is made."),
        reset_link_once: |minutes| {
            format!(
                "No mail goes out from here: give it to them yourself, over a channel you trust. \
                 Whoever opens it can choose the account's password, once, within {minutes} \
                 minutes (their second factor is still asked at sign-in). It is shown only now."
            )
        },
        reset_link_given: "I have given it to them",
        send_passkey_link: "Send a link to add a passkey",
        make_passkey_link: "Make a link to add a passkey",
        done_passkey_link: |username| format!("A link for {username} to add a passkey is made."),
        passkey_link_once: |hours| {
            format!(
                "No mail goes out from here: give it to them yourself, over a channel you trust. \
                 Whoever opens it can add a passkey to the account, once, within {hours} hours, \
                 and sign in with it; every session of the account is then signed out. It is \
                 shown only now."
            )
        },
        done_passkey_link_sent: |email| {
            format!("A link to add a passkey is on its way to {email}.")
        },
        reset_link_recently: |username| {
            format!("A link for {username} was made less than a minute ago; try again in a minute.")
        },
        their_activity: "Their activity in the audit log",
        kind_label: "Kind starts with",
        subject_label: "Subject",
        actor_label: "Actor",
        filter: "Filter",
        no_records: "No records match.",
        older: "Older records",
        refused_title: "This page is for administrators",
        refused: "You are signed in, but you are not an administrator here. This visit is in \
                  the audit log.",
        done_disabled: |n| match n {
            0 => "The account is disabled.".to_owned(),
            1 => "The account is disabled, and its one session is signed out.".to_owned(),
            n => format!("The account is disabled, and its {n} sessions are signed out."),
        },
        done_enabled: "The account is enabled again.",
        done_logout: |n| match n {
            0 => "There was no session to sign out; every token is revoked.".to_owned(),
            1 => "The one session is signed out, and every token revoked.".to_owned(),
            n => format!("{n} sessions are signed out, and every token revoked."),
        },
        done_reset_factors: "The authenticator app, recovery codes and passkeys are removed. \
                             Where a policy needs a second factor, they set one up at their \
                             next sign-in.",
        done_unlocked: "They can sign in again now: their failed attempts are forgotten.",
        done_not_paused: "They could already sign in; their failed attempts are forgotten.",
        done_address_rule_lifted: "They sign in to applications with an address anywhere now.",
        apps_of: |username| format!("Applications {username} allowed"),
        allowed_none: "None. Applications of your own (first-party) ask nothing, so they are \
                       not listed.",
        allowed_since: |scope, at| format!("{scope} · since {at}"),
        withdraw: "Withdraw",
        withdraw_from: |name| format!("Withdraw access of {name}"),
        done_withdrawn: |name| {
            format!(
                "{name} no longer has access to their account: its tokens for them stop \
                 working, and it asks them again next time."
            )
        },
        no_such_consent: "They had allowed that application nothing (any more).",
        done_address_rule_set: |domains| {
            format!("They sign in to applications only with a confirmed address at {domains} now.")
        },
        done_confirmed: "The address is marked confirmed.",
        done_unconfirmed: "The address is marked not confirmed.",
        done_reset_sent: |email| format!("A password reset link is on its way to {email}."),
        reset_sent_recently: |email| format!("A link was sent to {email} less than a minute ago."),
        cannot_disable_self: "You cannot disable your own account here: another administrator \
                              can, or the command line.",
        remove_person: "Remove the account",
        remove_person_what: |username| {
            format!(
                "Removing {username}'s account signs them out everywhere (each application they \
                 signed in to is told) and removes their tokens, consents, group memberships, \
                 second factors, passkeys and claims. It cannot be undone; the audit log keeps \
                 its records of them. To stop them signing in for now, disable the account \
                 instead."
            )
        },
        remove_person_told: |username, address| {
            format!(
                "{username} is told by mail at {address}. To remove an account without telling \
                 its person, disable it first."
            )
        },
        done_person_removed: |username| format!("{username}'s account is removed."),
        cannot_remove_self: "You cannot remove your own account here: another administrator \
                             can, or the command line.",
        name_and_address_help: "A new address is marked not confirmed, and the address it \
                                replaces is told of the change.",
        save_name_and_address: "Save the name and address",
        done_name_and_address: "The name and address are saved.",
        add_person: "Add a person",
        username_label: "Username",
        username_help: "Letters and digits, and . - _ @ +: applications may see it as the \
                        person's username.",
        initial_password: "Their first password",
        initial_password_help: "Tell it to them another way than by email; they can change it \
                                on their account page.",
        invite_help: "They get an email with a link to choose their password (it works for 7 \
                      days).",
        new_language_unset: "As their browser asks",
        new_language_help: "Their invitation is in it, and so are the pages once they have \
                            signed in. They can change it on their account page.",
        add: "Add",
        done_invited: |email| {
            format!("The account is made, and an invitation is on its way to {email}.")
        },
        done_created: "The account is made.",
        exists_already: |what| sentence(&format!("{what} exists already")),
        no_such_person: Problem {
            title: "There is nobody by that name",
            what_happened: "No account has that username.",
            what_next: "Search for them among the people.",
        },
        no_groups: "There are no groups yet.",
        members_count: |n| match n {
            1 => "1 member".to_owned(),
            n => format!("{n} members"),
        },
        policy: |p| match p {
            AuthPolicy::Password => "a password",
            AuthPolicy::TwoFactor => "two-step verification",
            AuthPolicy::Passkey => "a passkey",
        },
        add_group: "Add a group",
        group_name: "Name",
        group_name_help: "Lower-case letters and digits, with dots, dashes and underscores: \
                          applications see it in the groups claim.",
        description: "Description",
        sign_in_policy: "Signing in takes",
        policy_label: "Every member signs in with at least",
        save_policy: "Save",
        claims: "Claims",
        claims_help: "Claims of your own for applications, such as a department or a role: in \
                      ID tokens and at /userinfo when an application asks for the profile \
                      scope. A person's own come before their groups'.",
        claims_label: "Claims, as a JSON object: {\"department\": \"ops\", \"roles\": [\"editor\"]}",
        save_claims: "Save claims",
        done_claims: "The claims are saved; applications see them from the next sign-in.",
        set_language: "Set their language",
        done_language: "Their language is saved: mail to them is in it from now on, the pages \
                        from their next sign-in.",
        claims_not_json: "The claims must be a JSON object, as {\"department\": \"ops\"}: \
                          nothing was saved.",
        members: "Members",
        no_members: "Nobody is in this group yet.",
        more_members: |shown| {
            format!(
                "The group has more members than the first {shown} shown here: the command \
                 line (gatehouse group members) and the admin API list them all."
            )
        },
        add_member: "Add a member (username)",
        remove_member: |username| format!("Remove {username} from the group"),
        remove_group: "Remove the group",
        remove_group_what: |name, members| {
            format!(
                "Removing {name} takes its {members} members out of it: applications open only \
                 to it refuse them, and it leaves their groups claim. Nobody's account is removed."
            )
        },
        type_to_confirm: |name| format!("Type {name} to confirm"),
        done_group_added: "The group is added.",
        done_member_added: |username| format!("{username} is in the group now."),
        done_member_already: |username| format!("{username} was in the group already."),
        done_member_removed: |username| format!("{username} is out of the group."),
        done_not_member: |username| format!("{username} was not in the group."),
        done_policy: "The group's sign-in policy is saved; it applies from each member's next \
                      sign-in.",
        done_group_removed: |name| format!("The group {name} is removed."),
        confirm_mismatch: "What was typed is not the name asked for, so nothing was removed.",
        not_found: |what| format!("There is no {what}."),
        refusal: |why| sentence(&why.to_string()),
        applications: "Applications",
        no_applications: "No application is registered yet.",
        client_kind: |method, first_party| {
            let kind = match method {
                ClientAuthMethod::Public => "public (no secret: a single-page or native app)",
                ClientAuthMethod::ClientSecretBasic => "confidential (has a secret)",
                ClientAuthMethod::PrivateKeyJwt => {
                    "confidential (signs with its keys, private_key_jwt)"
                }
            };
            if first_party {
                format!("{kind}, first-party (no consent page)")
            } else {
                format!("{kind}, asks people's consent")
            }
        },
        register: "Register an application",
        client_id: "Client id",
        display_name: "Name people see",
        redirect_uris: "Redirect URIs",
        redirect_help: "One per line: where people come back after signing in, exactly as the \
                        application sends it.",
        first_party: "First-party: your own application, no consent page",
        require_par: "Its sign-in requests must be pushed (PAR): others are refused",
        require_signed: "Its sign-in requests must be signed with its keys (request objects): \
                         others are refused",
        require_dpop: "Its tokens must be bound to a key it holds (DPoP): token requests \
                       without a proof are refused",
        require_confirmed_address: "People must have confirmed their email address: those who \
                                    have not are asked to before they continue",
        public_client: "Public: a single-page or native app that cannot keep a secret (PKCE)",
        keys: "Its public keys",
        keys_help: "For an application that signs with a key of its own (private_key_jwt) \
                    instead of keeping a secret: its public keys as a JWK Set, \
                    {\"keys\": [...]}. Leave empty for a secret.",
        keys_at: "Its keys, fetched from",
        keys_at_help: "Or, for an application that publishes its public keys itself, where: an \
                       https URL, fetched when needed. Leave empty otherwise.",
        save_keys_at: "Fetch its keys from here",
        done_keys_at: "Its keys are fetched from there from now on.",
        replace_keys: "Replace the keys",
        done_keys: "The keys are replaced; the application signs with them from now on.",
        keys_not_json: "The keys are not a JWK Set in JSON: paste {\"keys\": [...]} as the \
                        application gives it.",
        kind: "Kind",
        secret_once: "This is the application's secret. It is shown only now: put it into the \
                      application's settings before you leave this page.",
        secret_saved: "I have put it into the application",
        done_registered: "The application is registered.",
        who_may_use: "Who may use it",
        access_help: "Members of the groups ticked, or everyone when none is.",
        save_access: "Save",
        done_access: "Who may use it is saved.",
        settings: "Settings",
        settings_help: "What people see of it, where it may send them and what it may ask \
                        for. Its id, secret, consents and tokens stay; a stricter sign-in \
                        policy applies from each person's next request.",
        home_uri: "Home page (an https address)",
        home_uri_help: "With a home page, the application is listed on the account page of \
                        everyone who may use it, a link to this address.",
        logo_uri: "A logo's https address, kept for other systems (the pages show the logo \
                   uploaded below)",
        post_logout_uris: "After signing out",
        post_logout_help: "One per line: where the application may send people after they \
                           sign out.",
        backchannel_uri: "Back-channel logout address",
        backchannel_help: "Where the application is told that a sign-in to it has ended; \
                           empty when it is not told.",
        access_token_claims: "Claims about the person in its access tokens",
        access_token_claims_help: "For APIs that read only the access token: the names of the \
                                   claims it carries (email, groups, a custom claim's name…), \
                                   separated by spaces, each only when the person granted its \
                                   scope. Also in introspection's answer. Empty for none.",
        resources: "APIs its access tokens may be for",
        resources_help: "One per line (resource indicators, such as https://api.example.com/): \
                         the application names one with the resource parameter, and the \
                         access token says it is for that API (aud). Empty: its tokens are \
                         for the application itself.",
        introspects: "APIs it answers for",
        introspects_help: "One per line, as other applications name them: this one (the API's \
                           own registration, with a secret) may introspect the access tokens \
                           issued for them, to check the opaque tokens sent to it. Empty: it \
                           introspects its own tokens only.",
        scopes: "What it may ask for",
        scope: |s| match s {
            "openid" => "openid: who the person is (an ID token)",
            "profile" => "profile: their name and username",
            "email" => "email: their email address",
            "groups" => "groups: the groups they are in",
            "offline_access" => "offline_access: staying signed in (refresh tokens)",
            "admin" => "admin: the administration API (as itself only, by client credentials)",
            _ => "another scope",
        },
        grant_types: "How it gets tokens",
        grant_type: |g| match g {
            GrantType::AuthorizationCode => {
                "Signing people in through a browser (authorization code)"
            }
            GrantType::RefreshToken => "Refreshing them (refresh tokens)",
            GrantType::ClientCredentials => "As itself, with its secret (client credentials)",
            GrantType::DeviceCode => "On devices without a browser (device code)",
        },
        token_format: "Access tokens",
        token_format_is: |f| match f {
            AccessTokenFormat::Opaque => "Opaque: looked up on every use, revoked at once",
            AccessTokenFormat::Jwt => {
                "JWT (RFC 9068): checked offline, valid until they expire even when revoked"
            }
        },
        subject_type: "Who it knows people as (sub)",
        subject_type_is: |s| match s {
            SubjectType::Public => "Their id, the same for every application",
            SubjectType::Pairwise => {
                "An id of its sector alone, which no application of another sector can match"
            }
        },
        sector: "Sector",
        sector_help: "Applications of one sector (an organisation's website and its app) know \
                      a person by one id. Empty: the one host of its redirect addresses. \
                      Changing this, or who it knows people as, gives everybody a new id \
                      there: the application sees them as new people.",
        id_token_alg: "ID tokens are signed with",
        save_settings: "Save the settings",
        done_settings: "The settings are saved.",
        logo: "Logo",
        logo_help: "Shown with the application's name where people sign in to it, allow it \
                    and approve a device for it, and on their account page: a PNG, JPEG, WebP \
                    or SVG image of at most 256 KiB, best square.",
        logo_image: "Image",
        upload_logo: "Upload the logo",
        remove_logo: "Remove the logo",
        done_logo: "The logo is saved.",
        done_logo_removed: "The logo is removed.",
        choose_scope: "Tick at least one thing it may ask for.",
        choose_grant: "Tick at least one way it gets tokens.",
        new_secret: "Make a new secret",
        new_secret_help: "The old secret keeps working for an hour, so every instance of the \
                          application can switch.",
        secret_leaked: "The old secret leaked: stop it at once",
        done_rotated: |at_once| {
            if at_once {
                "A new secret is made, and the old one works no more.".to_owned()
            } else {
                "A new secret is made; the old one works for an hour more.".to_owned()
            }
        },
        remove_client: "Remove the application",
        remove_client_what: |name| {
            format!(
                "Removing {name} ends every sign-in to it: its tokens stop working, and the \
                 consents people gave it and its access groups go with it."
            )
        },
        done_client_removed: |name| format!("The application {name} is removed."),
        no_such_client: Problem {
            title: "There is no application by that id",
            what_happened: "It may have been removed.",
            what_next: "Find it among the applications.",
        },
        signing_keys: "Signing keys",
        key_signs: |from, until| format!("signs from {from} until {until}"),
        key_published_until: |at| format!("published until {at}"),
        rotate: "Rotate",
        which_keys: "Keys to replace",
        every_algorithm: "Every algorithm",
        rotate_help: "A new key is published at once and signs five minutes later, when every \
                      application's cached key set has expired; the old key stays published \
                      until every token it signed has expired.",
        compromised: "The keys may be stolen: the new key signs at once, and tokens the old ones \
                      signed stop working",
        done_rotated_keys: |n, compromised| match (n, compromised) {
            (1, false) => "A new key is published; it signs in five minutes.".to_owned(),
            (n, false) => format!("{n} new keys are published; they sign in five minutes."),
            (1, true) => "A new key signs now; the old one is unpublished.".to_owned(),
            (n, true) => format!("{n} new keys sign now; the old ones are unpublished."),
        },
        no_such_group: Problem {
            title: "There is no group by that name",
            what_happened: "It may have been renamed or removed.",
            what_next: "Find it among the groups.",
        },
    },
    signup_links: SignupLinksText {
        title: "Sign-up links",
        what: "A sign-up link lets the people you give it to make their own accounts: as many \
               as you allow, until it expires, each put in the groups you choose. Anyone who \
               has it can use it, so give it only where those people are.",
        none: "No sign-up links.",
        uses_of: |uses, max| format!("{uses} of {max} used"),
        works_until: |until| format!("works until {until}"),
        into_groups: |groups| format!("into {groups}"),
        for_domains: |domains| format!("for addresses at {domains}"),
        expired: "expired",
        used_up: "used up",
        remove: "Remove",
        removed: "The sign-up link was removed: it makes no more accounts. Those it made stay.",
        new_title: "Make a sign-up link",
        uses_label: "For how many people",
        days_label: "Works for how many days",
        note_label: "Note",
        note_help: "Whom it is for, for the administrators who read this list. The people who \
                    sign up do not see it.",
        groups_label: "Put each person in these groups",
        domains_label: "Only for addresses at",
        domains_help: "Domains, separated by spaces (a subdomain is another domain); empty: any \
                       address. The accounts it makes sign in to applications only with a \
                       confirmed address at one of them.",
        make: "Make the link",
        made_title: "The new sign-up link",
        made_what: |uses, until| {
            let people = if uses == 1 {
                "one person".to_owned()
            } else {
                format!("{uses} people")
            };
            format!(
                "Copy it now: it is shown only this once. It lets {people} make an account, \
                 until {until}."
            )
        },
        back: "Back to the sign-up links",
    },
    errors: ErrorText {
        busy: Problem {
            title: "The service is busy",
            what_happened: "Your request could not be finished just now, and nothing was \
                            changed.",
            what_next: "Wait a moment, then go back to the application and try again.",
        },
        failed: Problem {
            title: "Something went wrong",
            what_happened: "Your request could not be finished.",
            what_next: "Try again in a few minutes. If it keeps happening, tell your \
                        administrator.",
        },
        bad_sign_in_link: Problem {
            title: "This sign-in link does not work",
            what_happened: "The application that sent you here asked for something that \
                            cannot be done, so you were not signed in to it.",
            what_next: "Go back to the application and try again. If it keeps happening, tell \
                        the application's administrator what is shown below.",
        },
        bad_sign_out_link: Problem {
            title: "This sign-out link does not work",
            what_happened: "The link that brought you here is not valid, so you were not \
                            signed out.",
            what_next: "To sign out, use the application's sign-out button again, or close \
                        your browser.",
        },
        no_page: Problem {
            title: "There is no page here",
            what_happened: "The address may be mistyped, or the link that brought you here is \
                            out of date.",
            what_next: "Go back to the application you were using and sign in from there.",
        },
        expired_form: Problem {
            title: "This form has expired",
            what_happened: "It was opened too long ago or in another window, so it was not \
                            sent.",
            what_next: "Start again: you will see a fresh form.",
        },
        account_form_incomplete: Problem {
            title: "This form is incomplete",
            what_happened: "It did not say what to do, so nothing was changed.",
            what_next: "Go back to your account and choose again.",
        },
        consent_form_incomplete: Problem {
            title: "This consent form is incomplete",
            what_happened: "Neither Allow nor Deny was chosen, so nothing was decided.",
            what_next: "Start again and choose Allow or Deny.",
        },
        device_form_incomplete: Problem {
            title: "This form is incomplete",
            what_happened: "Neither Allow nor Deny was chosen, so nothing was decided.",
            what_next: "Start again and choose Allow or Deny.",
        },
        device_code_used: Problem {
            title: "This code can no longer be used",
            what_happened: "It expired, or it was already answered, so nothing was changed.",
            what_next: "Start the sign-in again on your device; it will show a new code.",
        },
        no_mail: Problem {
            title: "Password reset is not set up here",
            what_happened: "This server sends no mail, so it cannot send you a link.",
            what_next: "Ask your administrator to set a new password for you.",
        },
        reset_link_void: Problem {
            title: "This link does not work",
            what_happened: "It was used already, it expired, or a newer link was sent, so \
                            nothing was changed.",
            what_next: "Ask for a new link and use the newest mail.",
        },
        confirm_link_void: Problem {
            title: "This link does not work",
            what_happened: "It was used already, it expired, or your address changed since it \
                            was sent, so nothing was confirmed.",
            what_next: "Send yourself a new link from your account page.",
        },
        passkey_link_void: Problem {
            title: "This link does not work",
            what_happened: "It was used already, it expired, or a newer link was made, so \
                            nothing was changed.",
            what_next: "Ask your administrator for a new one.",
        },
        signup_link_void: Problem {
            title: "This link does not work",
            what_happened: "It expired, it was removed, or as many people made an account with \
                            it as it allows, so no account was made.",
            what_next: "Ask whoever gave it to you for a new one.",
        },
        ask_for_a_new_link: "Ask for a new link",
        detail_for_admin: "Detail for the administrator:",
        start_again: "Start again",
        back_to_account: "Back to your account",
    },
};

/// An English refusal, as the command line says it ("a public client has no secret"), as a
/// sentence of a page ("A public client has no secret.").
fn sentence(words: &str) -> String {
    let mut chars = words.chars();
    let Some(first) = chars.next() else {
        return String::new();
    };
    let end = if words.ends_with(['.', '?', '!']) {
        ""
    } else {
        "."
    };
    format!("{}{}{end}", first.to_uppercase(), chars.as_str())
}

/// What an audit record of a person's own account says, in English.
fn english_event(kind: AuditKind) -> &'static str {
    use AuditKind as K;
    match kind {
        K::LoginSucceeded => "Signed in",
        K::LoginFailed => "A sign-in failed: wrong password",
        K::SecondFactorFailed => "A sign-in failed: wrong code after the right password",
        K::RecoveryCodeUsed => "Signed in with a recovery code",
        K::PasskeyRefused => "A passkey was refused",
        K::TotpEnrolled => "Two-step verification turned on",
        K::TotpReplaced => "A new authenticator app set up",
        K::TotpRemoved => "Two-step verification turned off",
        K::PasskeyAdded => "Passkey added",
        K::PasskeyRemoved => "Passkey removed",
        K::RecoveryCodesRegenerated => "New recovery codes made",
        K::Logout => "Signed out",
        K::ConsentGranted => "Allowed an application",
        K::ConsentDenied => "Denied an application",
        K::ConsentRevoked | K::ConsentWithdrawn => "Withdrew an application's access",
        K::ApplicationSignedOut => "Signed an application out",
        K::AccessDenied => "Refused an application: not in its groups",
        K::AccessUnconfirmed => "Refused an application: it needs a confirmed email address",
        K::DeviceApproved => "Signed in a device",
        K::DeviceDenied => "Denied a device",
        K::PasswordSet => "Password set by an administrator",
        K::PasswordChanged => "Password changed",
        K::PasswordRemoved => "Password removed: signs in with a passkey",
        K::ProfileUpdated | K::ProfileChanged => "Profile changed",
        K::EmailSet => "Email address changed",
        K::UserClaimsSet => "Your administrators changed what they give you",
        K::UserLoggedOut => "Signed out everywhere by an administrator",
        K::SessionsEnded => "Signed out other sessions",
        K::FactorsReset => "Second factors removed by an administrator",
        K::UserUnlocked => "Allowed to sign in again by an administrator, after failed attempts",
        K::AddressRuleLifted => "Allowed by an administrator to sign in with an address anywhere",
        K::AddressRuleSet => {
            "Kept by an administrator to sign in with a confirmed address at some domains"
        }
        K::UserCreated => "Account created",
        K::UserDisabled => "Account disabled",
        K::UserEnabled => "Account enabled",
        K::EmailConfirmed => "Email address confirmed",
        K::InvitationAccepted => "Password chosen from the invitation",
        K::SignedUp => "Account made with a sign-up link",
        K::AccountRemoved => "Account removed by its person",
        K::ConsoleRefused => "Refused an administration page",
        K::PasswordReset => "Password reset by email",
        K::ResetLinkMade => "An administrator made a password reset link",
        K::PasskeyLinkMade => "An administrator made a link to add a passkey",
        K::EmailSent => "A link was sent to your email address",
        K::EmailUndelivered => "A link could not be sent to your email address",
        K::TokenReuseDetected => "An application's sign-in was ended: a used token came back",
        K::CodeReplayed => "An application's sign-in was ended: a used sign-in code came back",
        other => other.as_str(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_english_refusal_is_said_as_a_sentence() {
        for (said, page) in [
            (
                "a public client has no secret",
                "A public client has no secret.",
            ),
            (
                "\"ada@\" is not an email address",
                "\"ada@\" is not an email address.",
            ),
            ("ähm.", "Ähm."),
            ("", ""),
        ] {
            assert_eq!(sentence(said), page);
        }
        let why = Refusal::PublicWithSecret;
        assert_eq!(
            (ENGLISH.console.refusal)(&why),
            "A public client has no secret."
        );
        assert_eq!(
            why.to_string(),
            "a public client has no secret",
            "as the API says it"
        );
    }

    #[test]
    fn a_browser_is_answered_in_the_language_it_prefers_among_those_offered() {
        let both = ["en", "de"];
        let cases: &[(Option<&str>, &str)] = &[
            // Nothing said, or nothing usable: the deployment's language.
            (None, "en"),
            (Some(""), "en"),
            (Some("fr-FR,fr;q=0.9"), "en"),
            (Some("*"), "en"),
            (Some("de;q=banana"), "en"),
            (Some("de;q=1.5"), "en"),
            (Some(";;;,,,"), "en"),
            // As browsers send it: Chrome, Firefox, Safari.
            (Some("de-DE,de;q=0.9,en-US;q=0.8,en;q=0.7"), "de"),
            (Some("de,en-US;q=0.7,en;q=0.3"), "de"),
            (Some("de-DE"), "de"),
            (Some("de-AT"), "de"),
            (Some("DE-ch"), "de"),
            (Some("en-GB,de;q=0.5"), "en"),
            // The first range any catalogue matches, however many come before it.
            (Some("fr,it;q=0.9,de;q=0.8,en;q=0.7"), "de"),
            // Weights, not the order written, say which is preferred.
            (Some("en;q=0.5, de"), "de"),
            (Some("en;q=0.4,de;q=0.5"), "de"),
            (Some("en;Q=0.4,de;q=0.500"), "de"),
            // Equal weights keep the browser's order.
            (Some("de;q=0.8,en;q=0.8"), "de"),
            // Weight 0: not acceptable, whatever comes after.
            (Some("de;q=0,en;q=0.1"), "en"),
            (Some("de;q=0.000"), "en"),
            (Some("de;q=0.0001"), "en"),
            // Not even as the deployment's language, when another is not refused.
            (Some("en;q=0"), "de"),
            (Some("fr, EN;q=0"), "de"),
            (Some("en;q=0, de;q=0"), "en"),
            (Some("*;q=0"), "en"),
            // A refusal of a narrower range leaves the wider one.
            (Some("en-GB;q=0"), "en"),
        ];
        for (header, expected) in cases {
            assert_eq!(negotiate(*header, &both, "en"), *expected, "{header:?}");
        }
        // A deployment that offers one language speaks it to everyone.
        assert_eq!(negotiate(Some("en"), &["de"], "de"), "de");
        // Another deployment's default.
        assert_eq!(negotiate(Some("fr"), &both, "de"), "de");
        assert_eq!(negotiate(None, &both, "de"), "de");
    }

    #[test]
    fn a_list_of_tags_is_matched_as_a_header_of_equal_weights_without_a_default() {
        let both = ["en", "de"];
        let cases: &[(&[&str], Option<&str>)] = &[
            (&[], None),
            (&["fr"], None),
            (&["fr-CA", "fr"], None),
            (&["de"], Some("de")),
            (&["de-CH"], Some("de")),
            (&["gsw-CH", "de-CH"], Some("de")),
            (&["en-GB"], Some("en")),
            (&["fr", "de", "en"], Some("de")),
            (&["EN-us", "de"], Some("en")),
            (&["not a tag!", "de"], Some("de")),
            (&["*"], None),
        ];
        for (wanted, expected) in cases {
            assert_eq!(best_match(wanted, &both), *expected, "{wanted:?}");
        }
        // Only the first sixteen are looked at.
        let mut many = vec!["fr"; 5_000];
        many.push("de");
        assert_eq!(best_match(&many, &both), None);
        assert_eq!(best_match(&many[4_990..], &both), Some("de"));
    }

    #[test]
    fn a_header_of_thousands_of_ranges_is_read_only_so_far() {
        let mut header = "fr;q=0.9,".repeat(5_000);
        header.push_str("de");
        assert_eq!(Ranges::of(&header).wanted.len(), MOST_RANGES);
        assert_eq!(negotiate(Some(&header), &["en", "de"], "en"), "en");
    }

    #[test]
    fn every_catalogue_says_each_kind_of_a_persons_activity_in_words() {
        for catalogue in CATALOGUES {
            for kind in AuditKind::PERSONAL {
                let said = (catalogue.account.event)(*kind);
                assert_ne!(said, kind.as_str(), "{} {kind:?}", catalogue.language);
            }
        }
    }

    #[test]
    fn every_catalogue_has_a_language_of_its_own_that_negotiation_finds() {
        let tags: Vec<&str> = CATALOGUES.iter().map(|t| t.language).collect();
        for tag in &tags {
            assert_eq!(tags.iter().filter(|t| *t == tag).count(), 1, "{tag} twice");
            assert_eq!(negotiate(Some(tag), &tags, "en"), *tag);
            assert_eq!(speaking(tag).map(|t| t.language), Some(*tag));
        }
    }
}
