//! The pages gatehouse shows people: sign-in and its steps, consent, devices, the account
//! page, sign-out and errors. Server-rendered HTML from `maud` templates (checked when the crate
//! compiles, every value escaped unless a template says otherwise), with every word taken from
//! the catalogue ([`catalogue`]) and the deployment's look ([`Look`]): product name, logo and
//! accent colour. Inline styles only, one script (passkeys), nothing from another origin.

mod account;
pub(super) mod catalogue;
mod console;
mod email;
mod grants;
mod signin;

pub(super) use account::{AccountView, Section, account, account_removed};
pub(super) use console::{
    AuditFilters, ClientPage, ConsoleBase, NewPerson, PersonView, audit as console_audit,
    client as console_client, client_secret as console_client_secret, clients as console_clients,
    group as console_group, groups as console_groups, keys as console_keys,
    link_to_hand_over as console_link_to_hand_over, people as console_people,
    person as console_person, refused as console_refused,
    signup_link_made as console_signup_link_made, signup_links as console_signup_links,
};
pub(super) use email::{
    PasskeyLinkForm, PasswordForm, SignupForm, confirm, confirmed, passkey_link_done,
    passkey_link_form, password_form, reset_done, reset_request, reset_sent, signup_done,
    signup_form, welcome_done_with_passkey,
};
pub(super) use grants::{
    Asked, ConfirmAddress, confirm_address, consent, device_confirm, device_done, device_entry,
    logout_confirm, no_access, signed_out,
};
pub(super) use signin::{
    EnrolForm, FORM_POST_SCRIPT, FORM_POST_SCRIPT_PATH, add_passkey_required, enrol_totp,
    form_post, login, passkey_required, qr_svg, recovery_codes, second_factor,
};

use std::sync::Arc;

use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::response::{Html, IntoResponse, Response};
use bytes::Bytes;
use maud::{DOCTYPE, Markup, PreEscaped, html};

use self::catalogue::{Problem, Text};
use super::Localized;
use super::assets::Asset;
use super::passkey::{SCRIPT, SCRIPT_PATH};
use crate::branding::Branding;
use crate::oidc::OAuthError;

/// How a deployment's pages look and speak: its branding and the catalogue of its words.
#[derive(Clone)]
pub(in crate::http) struct Look {
    pub branding: Branding,
    pub text: &'static Text,
    /// The logo as served (`/branding/logo` under the issuer), when there is one, and its
    /// versioned address.
    logo: Option<(Asset, String)>,
    /// Whether mail goes out: pages offer links sent by email only then.
    pub mail: bool,
    /// The other languages offered, each as its tag and its name in itself: the login form
    /// offers to switch to them.
    pub others: Vec<(&'static str, &'static str)>,
}

impl Look {
    /// The deployment's look, speaking its own language (`--language`).
    pub(in crate::http) fn new(branding: Branding, issuer: &str, mail: bool) -> Look {
        // `--language` was checked against the catalogues when the configuration was read.
        let text = catalogue::speaking(&branding.language).unwrap_or(&catalogue::ENGLISH);
        Look::speaking(branding, text, issuer, mail)
    }

    fn speaking(branding: Branding, text: &'static Text, issuer: &str, mail: bool) -> Look {
        let logo = branding.logo.as_ref().map(|logo| {
            // The branding's bytes, shared rather than copied.
            let asset = Asset::new(Bytes::from_owner(logo.bytes.clone()), logo.content_type);
            let url = asset.versioned(&format!("{issuer}{LOGO_PATH}"));
            (asset, url)
        });
        Look {
            branding,
            text,
            logo,
            mail,
            others: Vec::new(),
        }
    }

    /// The product's name, as pages say it.
    pub(in crate::http) fn product(&self) -> &str {
        &self.branding.product_name
    }
}

/// The deployment's look in each language its pages speak: its own (`--language`), and, unless
/// it speaks only that (`--one-language`), every other there is a catalogue of, for browsers
/// that prefer one of them.
pub(in crate::http) struct Looks {
    own: Arc<Look>,
    /// Every language offered, the deployment's own first, and the look in each.
    tags: Vec<&'static str>,
    looks: Vec<Arc<Look>>,
}

impl Looks {
    pub(in crate::http) fn new(branding: &Branding, issuer: &str, mail: bool) -> Looks {
        let mut own = Look::new(branding.clone(), issuer, mail);
        let mut texts = vec![own.text];
        if !branding.one_language {
            texts.extend(
                catalogue::CATALOGUES
                    .iter()
                    .filter(|text| text.language != own.text.language),
            );
        }
        let others = |this: &Text| {
            texts
                .iter()
                .filter(|t| t.language != this.language)
                .map(|t| (t.language, t.name))
                .collect()
        };
        own.others = others(own.text);
        let own = Arc::new(own);
        let mut looks = vec![Arc::clone(&own)];
        for text in &texts[1..] {
            let mut look = Look::speaking(branding.clone(), text, issuer, mail);
            look.others = others(text);
            looks.push(Arc::new(look));
        }
        let tags = texts.iter().map(|t| t.language).collect();
        Looks { own, tags, looks }
    }

    /// The look in the deployment's own language.
    pub(in crate::http) fn deployments(&self) -> Arc<Look> {
        Arc::clone(&self.own)
    }

    /// The look for a browser that sent `accept_language` (`catalogue::negotiate`).
    pub(in crate::http) fn for_browser(&self, accept_language: Option<&str>) -> Arc<Look> {
        if self.looks.len() == 1 {
            return self.deployments();
        }
        let chosen = catalogue::negotiate(accept_language, &self.tags, self.own.text.language);
        self.offered(chosen).unwrap_or_else(|| self.deployments())
    }

    /// The look in `tag` exactly, if it is one of the languages offered.
    pub(in crate::http) fn offered(&self, tag: &str) -> Option<Arc<Look>> {
        self.looks
            .iter()
            .find(|look| look.text.language == tag)
            .map(Arc::clone)
    }

    /// The look in the offered language that best matches `wanted` (language tags, most
    /// preferred first: an application's `ui_locales`, an account's `locale`), if one does.
    pub(in crate::http) fn matching<S: AsRef<str>>(&self, wanted: &[S]) -> Option<Arc<Look>> {
        let wanted: Vec<&str> = wanted.iter().map(AsRef::as_ref).collect();
        self.offered(catalogue::best_match(&wanted, &self.tags)?)
    }

    /// Every language offered, the deployment's own first.
    pub(in crate::http) fn tags(&self) -> &[&'static str] {
        &self.tags
    }

    /// Every language offered, the deployment's own first: its tag, and its name in itself.
    pub(in crate::http) fn names(&self) -> Vec<(&'static str, &'static str)> {
        self.looks
            .iter()
            .map(|look| (look.text.language, look.text.name))
            .collect()
    }
}

/// Where the deployment's logo is served.
pub(super) const LOGO_PATH: &str = "/branding/logo";

/// GET /branding/logo: the operator's logo, or 404. An SVG is sandboxed should someone open it
/// on its own (an `<img>` never runs its scripts anyway).
pub(super) async fn logo(Localized(state): Localized, uri: Uri, headers: HeaderMap) -> Response {
    let Some((logo, _)) = &state.look.logo else {
        return not_found(Localized(state)).await;
    };
    sandboxed(logo.respond(&uri, &headers))
}

/// `s` as one segment of a URL's path.
pub(super) fn path_segment(s: &str) -> String {
    let escaped: String = url::form_urlencoded::byte_serialize(s.as_bytes()).collect();
    escaped.replace('+', "%20")
}

/// Where an application's logo of version `version` is served (`/clients/{client_id}/logo`
/// under the issuer), as pages name it.
pub(super) fn client_logo_url(issuer: &str, client_id: &str, version: &str) -> String {
    format!(
        "{issuer}/clients/{}/logo?v={version}",
        path_segment(client_id)
    )
}

/// GET /clients/{client_id}/logo: an application's logo (`admin::Admin::give_client_logo`), or
/// 404; kept by browsers as the deployment's is (`assets`), and sandboxed as it is. Public, as
/// the pages that show it are: a client's logo is no secret.
pub(super) async fn client_logo(
    Localized(state): Localized,
    axum::extract::Path(client_id): axum::extract::Path<String>,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    // No client has a longer id or a NUL in it (which PostgreSQL could not even be asked).
    if client_id.len() > crate::admin::MAX_CLIENT_ID || client_id.contains('\0') {
        return not_found(Localized(state)).await;
    }
    let stored = match state.store.client_logo(&client_id).await {
        Ok(Some(logo)) => logo,
        Ok(None) => return not_found(Localized(state)).await,
        Err(e) => {
            tracing::warn!(error = %e, "an application's logo could not be read");
            return match super::error::store_error(e) {
                OAuthError::TemporarilyUnavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            }
            .into_response();
        }
    };
    // Served as what its bytes are, whatever was recorded beside them.
    let crate::model::ClientLogo { bytes, version, .. } = stored;
    let Ok(logo) = crate::branding::Logo::from_bytes(bytes) else {
        return not_found(Localized(state)).await;
    };
    let asset = Asset::of_version(Bytes::from_owner(logo.bytes), logo.content_type, version);
    sandboxed(asset.respond(&uri, &headers))
}

/// An image answer that, opened on its own, runs nothing (an SVG's scripts): an `<img>` never
/// runs them anyway.
fn sandboxed(mut r: Response) -> Response {
    r.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
    );
    r
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;background:#f4f5f7;color:#1d2433;margin:0}\
header{max-width:26rem;margin:6vh auto 0;display:flex;align-items:center;gap:.6rem;padding:0 .25rem;font-weight:600;color:#1d2433}\
header img{max-height:2.5rem;max-width:10rem}\
img.app-logo{width:1.6em;height:1.6em;object-fit:contain;vertical-align:middle;border-radius:.25rem;margin-right:.4em}img.app-logo.large{width:4rem;height:4rem}p.app-mark{margin:0 0 .8rem}\
main{max-width:26rem;box-sizing:border-box;margin:1rem auto 8vh;background:#fff;padding:2rem;border-radius:.5rem;box-shadow:0 1px 4px #0002}\
body.wide header,body.wide main{max-width:44rem}\
h1{font-size:1.4rem;margin-top:0}label{display:block;margin:.9rem 0 .3rem;font-weight:600}\
input,textarea,select{width:100%;box-sizing:border-box;padding:.6rem;font-size:1rem;border:1px solid #8a93a6;border-radius:.3rem}\
input[type=checkbox]{width:auto;margin:0 .3rem 0 0}label:has(input[type=checkbox]){font-weight:400}\
input:focus,textarea:focus,select:focus,button:focus-visible,a:focus-visible{outline:3px solid var(--accent);outline-offset:2px}\
a{color:var(--accent)}\
button{margin-top:1.3rem;width:100%;padding:.7rem;font-size:1rem;background:var(--accent);color:#fff;border:0;border-radius:.3rem;cursor:pointer}\
.error{background:#fdecec;color:#8a1c1c;padding:.6rem;border-radius:.3rem}\
.notice{background:#e8f3ec;color:#14532d;padding:.6rem;border-radius:.3rem}h2{font-size:1.1rem;margin-top:1.8rem}.muted{color:#5b6477;font-size:.9rem}\
button.secondary{background:#fff;color:var(--accent);border:1px solid var(--accent)}ul{padding-left:1.2rem}\
a.button{display:block;text-align:center;margin-top:1.3rem;padding:.7rem;background:var(--accent);color:#fff;border-radius:.3rem;text-decoration:none}\
code{overflow-wrap:anywhere}[hidden]{display:none!important}\
.languages{display:flex;flex-wrap:wrap;justify-content:center;gap:.2rem 1rem;margin-top:1.5rem}\
.languages button{width:auto;margin:0;padding:.2rem;background:none;color:var(--accent);text-decoration:underline;font-size:.9rem}\
table.list{width:100%;border-collapse:collapse;margin:.5rem 0}table.list td{padding:.45rem 0;vertical-align:middle;border-top:1px solid #e3e6ec}\
table.list td:last-child:not(:first-child){text-align:right}\
table.list form button{margin:0;width:auto;padding:.35rem .7rem;font-size:.9rem}\
nav.sections{display:flex;flex-wrap:wrap;gap:.4rem 1rem;margin:.5rem 0 0}\
figure.qr{margin:1rem 0;text-align:center}figure.qr svg{width:12.5rem;height:auto}\
ul.codes{columns:2;list-style:none;padding:0;font-size:1.05rem}ul.codes li{margin:.3rem 0}\
ul.applications{list-style:none;padding:0}ul.applications li{padding:.45rem 0;border-top:1px solid #e3e6ec}\
ul.applications a{font-weight:600}\
@media (max-width:44rem){body.wide main{margin:0;border-radius:0;box-shadow:none;padding:1.5rem 1.25rem}body.wide header{margin:0;padding:.8rem 1.25rem;background:#fff;border-bottom:1px solid #e3e6ec}}\
@media (max-width:26rem){main{margin:0;border-radius:0;box-shadow:none;padding:1.5rem 1.25rem}header{margin:0;padding:.8rem 1.25rem;background:#fff;border-bottom:1px solid #e3e6ec}}";

/// Whether a page needs the width of the account page's tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Width {
    Narrow,
    Wide,
}

/// A whole page: `title` in the tab (with the product's name), the product's header, `body`.
pub(super) fn page(look: &Look, title: &str, width: Width, body: Markup) -> String {
    let accent = format!(":root{{--accent:{}}}", look.branding.accent);
    html! {
        (DOCTYPE)
        html lang=(look.text.language) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · " (look.product()) }
                @if let Some((_, src)) = &look.logo {
                    link rel="icon" href=(src);
                }
                // The colour is an `Rgb`, written #rrggbb: nothing in it can end the element.
                style { (PreEscaped(accent)) (PreEscaped(STYLE)) }
            }
            body class=[(width == Width::Wide).then_some("wide")] {
                header {
                    @if let Some((_, src)) = &look.logo {
                        img src=(src) alt="";
                    }
                    span { (look.product()) }
                }
                main { (body) }
            }
        }
    }
    .into_string()
}

/// Hidden form fields.
pub(super) fn hidden_fields(hidden: &[(&str, &str)]) -> Markup {
    html! {
        @for (name, value) in hidden {
            input type="hidden" name=(name) value=(value);
        }
    }
}

/// The page's other languages, each named in itself, as buttons of the page's form (its id
/// `form`: the login form, asking for a reset link, choosing a password by a mailed link,
/// signing up): choosing one sends the form as it is, with `language`, and the same page
/// comes back in that language (`AppState::choosing`), the browser keeping the choice, with
/// what was typed and ticked but passwords; nothing else is done. They come after the form,
/// so pressing Enter in a field still presses the form's own button.
pub(super) fn language_buttons(look: &Look, form: &str) -> Markup {
    html! {
        @if !look.others.is_empty() {
            div.languages role="group" aria-label=(look.text.sign_in.other_languages) {
                @for (tag, name) in &look.others {
                    button type="submit" form=(form) formnovalidate name="language" value=(tag)
                        lang=(tag) { (name) }
                }
            }
        }
    }
}

/// The browser a session was signed in from, in words ("Firefox on Linux"), from the
/// `User-Agent` it kept: none when it kept none (a session of an earlier release), "an unknown
/// browser" when that names no browser a person would know.
pub(in crate::http) fn browser_words(look: &Look, user_agent: Option<&str>) -> Option<String> {
    let t = &look.text.account;
    Some(match crate::auth::browsers::describe(user_agent?) {
        Some(d) => (t.browser_on)(&d.browser, d.system.as_deref()),
        None => t.unknown_browser.to_owned(),
    })
}

/// An application's logo (its address, when it has one), above what the page asks or says
/// about the application. Its name is said in words on the page, so the image itself says
/// nothing more (`alt=""`).
pub(super) fn app_logo(logo: Option<&str>) -> Markup {
    html! {
        @if let Some(url) = logo {
            p.app-mark { img.app-logo.large src=(url) alt=""; }
        }
    }
}

/// An error a person must read before anything else, announced by screen readers.
pub(super) fn alert(error: Option<&str>) -> Markup {
    html! {
        @if let Some(e) = error {
            p.error role="alert" { (e) }
        }
    }
}

/// What just happened, announced politely.
pub(super) fn notice(text: Option<&str>) -> Markup {
    html! {
        @if let Some(n) = text {
            p.notice role="status" { (n) }
        }
    }
}

/// The script that does WebAuthn, and the element it writes its errors into: the words it may
/// need come from the catalogue, as data attributes. `cannot` is what a browser that cannot
/// use passkeys shows instead (the script shows it when WebAuthn is missing, `noscript` when
/// JavaScript is), where the passkey is what the page is for; elsewhere such a browser shows
/// nothing of passkeys.
pub(super) fn passkey_script(look: &Look, cannot: Option<&str>) -> Markup {
    let t = &look.text.passkey;
    html! {
        @if let Some(cannot) = cannot {
            p #passkey-unsupported .error hidden { (cannot) }
            noscript { p.error { (cannot) } }
        }
        p #passkey-error .error role="alert" hidden
            data-cancelled=(t.script_cancelled)
            data-duplicate=(t.script_duplicate)
            data-failed=(t.script_failed)
            data-unavailable=(t.script_start_failed) {}
        script src=(SCRIPT.versioned(SCRIPT_PATH)) integrity=(SCRIPT.integrity()) defer {}
    }
}

/// A day as people read it, in UTC: `2026-12-01`.
pub(super) fn day(t: crate::clock::UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| d.date().to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// A moment as people read it, in UTC: `2026-12-01 14:05 UTC`.
pub(super) fn moment(t: crate::clock::UnixTime) -> String {
    time::OffsetDateTime::from_unix_timestamp(t)
        .map(|d| {
            format!(
                "{} {:02}:{:02} UTC",
                d.date(),
                d.time().hour(),
                d.time().minute()
            )
        })
        .unwrap_or_else(|_| t.to_string())
}

/// An error page as a person needs it: what happened in plain words, what to do next (with a
/// link where there is somewhere safe to go), and the protocol detail last, for whoever debugs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ErrorPage {
    pub problem: Problem,
    /// `(text, href)`: only ever a link to gatehouse itself.
    pub link: Option<(&'static str, String)>,
    /// The OAuth error code and description, for an administrator.
    pub detail: Option<String>,
}

/// Which flow an error interrupted: the words differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    SignIn,
    SignOut,
}

impl ErrorPage {
    /// A page that says `problem`, with no link and no detail.
    pub(super) fn new(problem: Problem) -> ErrorPage {
        ErrorPage {
            problem,
            link: None,
            detail: None,
        }
    }

    /// The same page with a link to `href` (on gatehouse).
    pub(super) fn link(self, text: &'static str, href: String) -> ErrorPage {
        ErrorPage {
            link: Some((text, href)),
            ..self
        }
    }

    /// The page for a request gatehouse refused, and its status.
    pub(super) fn for_error(look: &Look, flow: Flow, e: &OAuthError) -> (StatusCode, ErrorPage) {
        let t = &look.text.errors;
        let (status, problem) = match (e, flow) {
            (OAuthError::TemporarilyUnavailable(_), _) => (StatusCode::SERVICE_UNAVAILABLE, t.busy),
            (OAuthError::ServerError(_), _) => (StatusCode::INTERNAL_SERVER_ERROR, t.failed),
            (_, Flow::SignIn) => (StatusCode::BAD_REQUEST, t.bad_sign_in_link),
            (_, Flow::SignOut) => (StatusCode::BAD_REQUEST, t.bad_sign_out_link),
        };
        let page = ErrorPage {
            problem,
            link: None,
            detail: Some(format!("{}: {}", e.code(), e.description())),
        };
        (status, page)
    }

    pub(super) fn render(&self, look: &Look) -> String {
        let p = &self.problem;
        let body = html! {
            h1 { (p.title) }
            p { (p.what_happened) }
            p { (p.what_next) }
            @if let Some((text, href)) = &self.link {
                p { a.button href=(href) { (text) } }
            }
            @if let Some(detail) = &self.detail {
                p.muted { (look.text.errors.detail_for_admin) " " code { (detail) } }
            }
        };
        page(look, p.title, Width::Narrow, body)
    }
}

/// The answer to an address gatehouse has no page for (a mistyped or outdated link), instead
/// of an empty 404 that a browser replaces with its own error screen.
pub(super) async fn not_found(Localized(state): Localized) -> Response {
    let page = ErrorPage::new(state.look.text.errors.no_page);
    respond(StatusCode::NOT_FOUND, page.render(&state.look))
}

/// The answer to a form whose CSRF cookie is gone or does not match (it was opened too long
/// ago, in another browser, or by another site). `restart` is gatehouse's own URL that starts
/// the same request again, when the form said what it was.
pub(super) fn expired_form(look: &Look, restart: Option<String>) -> Response {
    let t = &look.text.errors;
    let page = ErrorPage {
        problem: t.expired_form,
        link: restart.map(|href| (t.start_again, href)),
        detail: None,
    };
    respond(StatusCode::BAD_REQUEST, page.render(look))
}

/// An HTML response that is never cached and never framed (clickjacking), whose forms may
/// only post to gatehouse itself.
pub(super) fn respond(status: StatusCode, html: String) -> Response {
    respond_with_form_target(status, html, None)
}

/// Like [`respond`], for a page whose form is answered with a redirect to `destination` (the
/// client's redirect URI after sign-in or consent, its post-logout URI after sign-out).
/// Browsers apply CSP `form-action` to every redirect that follows a form submission
/// (CSP Level 3 §6.3.1.1; Chromium enforces it), so the destination's origin must be allowed
/// too, or the browser stops on gatehouse's page after the person clicked.
pub(super) fn respond_with_form_target(
    status: StatusCode,
    html: String,
    destination: Option<&str>,
) -> Response {
    let mut r = (status, Html(html)).into_response();
    let h = r.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // A page's words depend on the browser's languages, and on the language cookie.
    h.insert(
        header::VARY,
        HeaderValue::from_static("accept-language, cookie"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    let form_action = match destination.and_then(form_action_source) {
        Some(source) => format!("'self' {source}"),
        None => "'self'".to_owned(),
    };
    let csp = format!(
        "default-src 'none'; script-src 'self'; connect-src 'self'; style-src 'unsafe-inline'; \
         img-src 'self' data:; form-action {form_action}; frame-ancestors 'none'; base-uri 'none'"
    );
    // A source expression is built only from a parsed URL's scheme, host and port, which
    // cannot hold the characters a header value forbids; `self` is the fallback all the same.
    let value = HeaderValue::from_str(&csp).unwrap_or_else(|_| {
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'",
        )
    });
    h.insert(header::CONTENT_SECURITY_POLICY, value);
    r
}

/// The CSP source expression (CSP Level 3 §2.3.1) that matches a redirect to `uri`: its origin
/// for http(s) (any port for a loopback host, which native apps pick at run time, RFC 8252
/// §7.3), or its scheme alone for a native app's private-use scheme (`com.example.app:`).
pub(super) fn form_action_source(uri: &str) -> Option<String> {
    let u = url::Url::parse(uri).ok()?;
    match u.scheme() {
        "http" | "https" => {
            let host = u.host()?;
            if crate::oidc::redirect::is_loopback_ip(&host) {
                Some(format!("{}://{}:*", u.scheme(), host))
            } else {
                Some(u.origin().ascii_serialization())
            }
        }
        scheme => Some(format!("{scheme}:")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `id="…"` of `html`, and every `form="…"` that names one.
    fn attributes<'a>(html: &'a str, name: &str) -> Vec<&'a str> {
        let start = format!(" {name}=\"");
        html.match_indices(&start)
            .map(|(at, _)| {
                let value = &html[at + start.len()..];
                &value[..value.find('"').unwrap()]
            })
            .collect()
    }

    /// Each page with a language switch: its buttons belong to the page's own form (so what
    /// was typed goes with them), and no other element has that form's id (a label or a
    /// button naming an id finds the first element with it).
    #[test]
    fn the_language_buttons_send_the_page_s_form_and_every_id_is_one_element_s() {
        let looks = Looks::new(&Branding::default(), "https://id.example", true);
        let look = looks.deployments();
        let password = |invitation, passkey_instead| PasswordForm {
            invitation,
            passkey_instead,
            csrf: "c",
            token: "t",
            hidden: Vec::new(),
        };
        let signup = SignupForm {
            csrf: "c",
            token: "t",
            username: "",
            email: "",
            name: "",
            passkey_name: "",
            passkeys: true,
            mail: true,
            domains: &[],
            hidden: Vec::new(),
        };
        let passkey_link = PasskeyLinkForm {
            username: "ada",
            csrf: "c",
            token: "t",
            hidden: Vec::new(),
        };
        let pages = [
            (
                "login",
                login(&look, ("app", None), &[], "c", "", None, true, Some(false)),
            ),
            ("reset", reset_request(&look, "c", &[], "", None)),
            (
                "password-form",
                password_form(&look, &password(false, false), None),
            ),
            (
                "password-form",
                password_form(&look, &password(true, true), None),
            ),
            (
                "link-passkey",
                passkey_link_form(&look, &passkey_link, None),
            ),
            ("signup", signup_form(&look, &signup, None)),
        ];
        for (form, html) in pages {
            let ids = attributes(&html, "id");
            let mut unique = ids.clone();
            unique.sort_unstable();
            unique.dedup();
            assert_eq!(ids.len(), unique.len(), "an id used twice: {ids:?}");
            assert!(html.contains(&format!(r#"<form id="{form}""#)), "{html}");
            let owners = attributes(&html, "form");
            assert_eq!(owners.len(), look.others.len(), "{html}");
            assert!(owners.iter().all(|owner| *owner == form), "{owners:?}");
        }
    }

    #[test]
    fn form_action_sources() {
        let cases = [
            ("https://app.example/cb?x=1", Some("https://app.example")),
            (
                "https://app.example:8443/cb",
                Some("https://app.example:8443"),
            ),
            ("http://127.0.0.1:9000/cb", Some("http://127.0.0.1:*")),
            ("http://[::1]/cb", Some("http://[::1]:*")),
            ("http://localhost:3000/cb", Some("http://localhost:3000")),
            ("com.example.app:/oauth", Some("com.example.app:")),
            ("not a uri", None),
        ];
        for (uri, expected) in cases {
            assert_eq!(form_action_source(uri).as_deref(), expected, "{uri}");
        }
    }

    #[test]
    fn a_page_may_post_to_itself_and_be_redirected_to_its_destination_only() {
        let csp = |r: &Response| {
            r.headers()[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .to_owned()
        };
        let plain = respond(StatusCode::OK, String::new());
        assert!(csp(&plain).contains("form-action 'self';"));
        let form = respond_with_form_target(
            StatusCode::OK,
            String::new(),
            Some("https://app.example/callback"),
        );
        assert!(csp(&form).contains("form-action 'self' https://app.example;"));
        assert_eq!(plain.headers()[header::CACHE_CONTROL], "no-store");
    }
}
