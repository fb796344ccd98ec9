//! Why an administrative change is refused, in German: every [`Refusal`] and what it holds,
//! and what a form named that exists already or does not exist ([`Named`]).

use crate::admin::{
    MAX_CLIENT_ID, MAX_DESCRIPTION, MAX_DISPLAY_NAME, MAX_NAME, MAX_PICTURE, MAX_SECRET_OVERLAP,
    MIN_SECRET_LENGTH, NameField, PageLink, Refusal,
};
use crate::auth::signup::{
    DomainProblem, LinkProblem, MAX_DAYS, MAX_DOMAINS, MAX_GROUPS, MAX_NOTE, MAX_USES, RuleProblem,
};
use crate::auth::username::{MAX_CHARS, UsernameError};
use crate::branding::{LogoProblem, MAX_LOGO_BYTES};
use crate::model::{GroupNameProblem, MAX_GROUP_NAME, Named};
use crate::oidc::backchannel::UriProblem;
use crate::oidc::claims::{
    ChosenClaimsProblem, ChosenFor, ClaimNameProblem, CustomClaimsProblem, MAX_CHOSEN_CLAIMS,
    MAX_CLAIM_NAME, MAX_CLAIM_VALUE, MAX_CUSTOM_CLAIMS, SCOPED_CLAIMS,
};
use crate::oidc::client_assertion::{
    ALGORITHMS, KeyNamed, KeysProblem, MAX_KEYS, MAX_KEYS_JSON, MIN_RSA_BITS,
};
use crate::oidc::redirect::RegistrationProblem;
use crate::oidc::resource;
use crate::oidc::scope;
use crate::oidc::subject::{MAX_SECTOR, SectorProblem};

/// What a person typed, quoted in German and escaped as Rust's `{:?}` escapes it, so an
/// invisible or control character is seen rather than hidden.
fn quoted(value: &str) -> String {
    format!("„{}“", value.escape_debug())
}

pub(super) fn refusal(why: &Refusal) -> String {
    use Refusal as R;
    match why {
        R::Username(e) => username(e),
        R::Email(email) => format!("{} ist keine E-Mail-Adresse.", quoted(email)),
        R::NameTooLong(field) => format!("{} hat höchstens {MAX_NAME} Zeichen.", name(*field)),
        R::NameInvisible(field) => format!(
            "{} darf keine Steuerzeichen oder unsichtbaren Zeichen enthalten.",
            name(*field)
        ),
        R::Locale(tag) => format!("{} ist kein Sprach-Tag wie de oder de-AT.", quoted(tag)),
        R::PictureTooLong => {
            format!("Die Adresse eines Bildes hat höchstens {MAX_PICTURE} Zeichen.")
        }
        R::PictureNotHttps(uri) => format!("{} ist keine https-Adresse.", quoted(uri)),
        R::GroupName(problem) => group_name(problem),
        R::DescriptionTooLong => {
            format!("Eine Beschreibung hat höchstens {MAX_DESCRIPTION} Zeichen.")
        }
        R::DescriptionInvisible => {
            "Eine Beschreibung darf keine Steuerzeichen oder unsichtbaren Zeichen enthalten."
                .to_owned()
        }
        R::SignupLink(problem) => signup_link(problem),
        R::AddressRule(problem) => address_rule(problem),
        R::Claims(problem) => custom_claims(problem),
        R::TooManyToRemove => {
            format!("Entfernen Sie höchstens {MAX_CUSTOM_CLAIMS} Claims auf einmal.")
        }
        R::SetAndRemoved(claim) => format!(
            "Der Claim {} soll zugleich gesetzt und entfernt werden.",
            quoted(claim)
        ),
        R::ClientId => format!(
            "Eine Client-ID hat 1 bis {MAX_CLIENT_ID} Zeichen aus Buchstaben, Ziffern, „-“, \
             „_“, „.“ und „~“, mindestens einen Buchstaben oder eine Ziffer."
        ),
        R::RedirectUri(uri, problem) => format!(
            "Die Weiterleitungs-URI {} wird abgelehnt: {}.",
            quoted(uri),
            redirect(*problem)
        ),
        R::UnknownScope(s) => format!(
            "Unbekannter Scope {}; bekannte Scopes: {}.",
            quoted(s),
            scope::SUPPORTED.join(", ")
        ),
        R::UnknownGrantType(g) => format!(
            "Unbekannter Grant-Typ {}; bekannte Grant-Typen: {}.",
            quoted(g),
            crate::admin::known_grant_types()
        ),
        R::SignedRequestsNeedKeys => {
            "Nur eine Anwendung mit Schlüsseln signiert ihre Anfragen: Hinterlegen Sie ihre \
             Schlüssel (jwks oder jwks_uri), um signierte Request-Objekte zu verlangen."
                .to_owned()
        }
        R::PublicClientCredentials => {
            "Eine öffentliche Anwendung hat kein Geheimnis und kann daher client_credentials \
             nicht verwenden."
                .to_owned()
        }
        R::ClientOnlyScope(s) => format!(
            "Der Scope {} wird nur über client_credentials gewährt: Fügen Sie diesen Grant-Typ \
             hinzu.",
            quoted(s)
        ),
        R::NoRedirectUri => "Eine Anwendung mit authorization_code braucht mindestens eine \
                             Weiterleitungs-URI."
            .to_owned(),
        R::ChosenClaims(problem) => chosen_claims(problem),
        R::BackchannelUri(uri, problem) => format!(
            "Die Back-Channel-Logout-URI {} wird abgelehnt: {}.",
            quoted(uri),
            uri_problem(*problem)
        ),
        R::Resource(uri, problem) => format!(
            "Die Ressource {} wird abgelehnt: {}.",
            quoted(uri),
            match problem {
                resource::Problem::NotAbsolute => {
                    "Sie ist keine absolute URI (wie https://api.example.com/) von höchstens \
                     1024 Bytes"
                }
                resource::Problem::Fragment => {
                    "Sie hat ein Fragment (#…), das ein Ressourcen-Indikator nicht haben darf"
                }
            }
        ),
        R::TooManyResources => format!(
            "Eine Anwendung hat höchstens {} Ressourcen.",
            resource::MOST
        ),
        R::TooManyIntrospected => format!(
            "Eine Anwendung steht für höchstens {} APIs.",
            resource::MOST
        ),
        R::PublicIntrospects => "Eine öffentliche Anwendung kann keine Tokens prüfen: Nur eine \
                                 Anwendung mit Geheimnis oder Schlüsseln steht für eine API."
            .to_owned(),
        R::DisplayName => format!(
            "Ein Anzeigename hat 1 bis {MAX_DISPLAY_NAME} Zeichen, ohne Steuerzeichen oder \
             unsichtbare Zeichen."
        ),
        R::PageLink(which, uri) => format!(
            "{} {} ist keine https-Adresse.",
            match which {
                PageLink::Logo => "Die Adresse des Logos",
                PageLink::Home => "Die Adresse der Startseite",
            },
            quoted(uri)
        ),
        R::Keys(problem) => keys(problem),
        R::JwksUri(uri, problem) => format!(
            "Die jwks_uri {} wird abgelehnt: {}.",
            quoted(uri),
            uri_problem(*problem)
        ),
        R::Sector(problem) => sector(problem),
        R::KeysTwice => "Die Schlüssel einer Anwendung werden hinterlegt oder unter einer \
                         Adresse veröffentlicht, nicht beides."
            .to_owned(),
        R::NoKeysToChange => "Diese Anwendung meldet sich nicht mit Schlüsseln an: Sie hat ein \
                              Geheimnis oder keines."
            .to_owned(),
        R::PublicWithKeys => "Eine öffentliche Anwendung hat keine Schlüssel: Sie meldet sich \
                              mit nichts an."
            .to_owned(),
        R::SecretAndKeys => "Eine Anwendung meldet sich mit einem Geheimnis oder mit \
                             Schlüsseln an, nicht mit beidem."
            .to_owned(),
        R::PublicWithSecret => "Eine öffentliche Anwendung hat kein Geheimnis.".to_owned(),
        R::ShortSecret => {
            format!("Ein Geheimnis hat mindestens {MIN_SECRET_LENGTH} Zeichen.")
        }
        R::Overlap => format!("Die Übergangszeit ist 0 bis {MAX_SECRET_OVERLAP} Sekunden."),
        R::NoSecretWithKeys => "Diese Anwendung meldet sich mit Schlüsseln an: Sie hat kein \
                                Geheimnis, das sich erneuern ließe."
            .to_owned(),
        R::NoSecretPublic => {
            "Eine öffentliche Anwendung hat kein Geheimnis, das sich erneuern ließe.".to_owned()
        }
        R::Logo(LogoProblem::TooLarge(size)) => format!(
            "Das Logo ist mit {size} Bytes zu groß für ein Bild, das mit jeder Seite gesendet \
             wird (höchstens {} KiB).",
            MAX_LOGO_BYTES / 1024
        ),
        R::Logo(LogoProblem::NotAnImage) => {
            "Das Logo ist kein PNG-, JPEG-, WebP- oder SVG-Bild.".to_owned()
        }
    }
}

/// What a form named that exists already.
pub(super) fn exists_already(what: &Named) -> String {
    match what {
        Named::User(name) => format!("Den Benutzernamen {} gibt es schon.", quoted(name)),
        Named::LookAlike(name, existing) => format!(
            "Den Benutzernamen {} gibt es schon, oder einen, der gleich aussieht ({}).",
            quoted(name),
            quoted(existing)
        ),
        Named::UserId(id) => format!("Die Person {} gibt es schon.", quoted(id)),
        Named::Client(id) => format!(
            "Eine Anwendung mit der Client-ID {} gibt es schon.",
            quoted(id)
        ),
        Named::Group(name) => format!("Die Gruppe {} gibt es schon.", quoted(name)),
        Named::SignupLink(id) => format!("Den Registrierungslink {} gibt es schon.", quoted(id)),
        Named::Consent { .. } => "Diese Zustimmung gibt es schon.".to_owned(),
        // The database's own name for a rule, in English.
        Named::Other(what) => format!("Das gibt es schon ({what})."),
    }
}

/// What a form named that does not exist.
pub(super) fn not_found(what: &Named) -> String {
    match what {
        Named::User(name) | Named::LookAlike(name, _) => {
            format!("Es gibt niemanden mit dem Benutzernamen {}.", quoted(name))
        }
        Named::UserId(id) => format!("Es gibt keine Person {}.", quoted(id)),
        Named::Client(id) => format!("Es gibt keine Anwendung {}.", quoted(id)),
        Named::Group(name) => format!("Es gibt keine Gruppe {}.", quoted(name)),
        Named::SignupLink(id) => format!("Es gibt keinen Registrierungslink {}.", quoted(id)),
        Named::Consent { .. } => "Diese Zustimmung gibt es nicht.".to_owned(),
        Named::Other(what) => format!("Das gibt es nicht ({what})."),
    }
}

fn signup_link(problem: &LinkProblem) -> String {
    match problem {
        LinkProblem::Uses => {
            format!("Ein Registrierungslink gilt für 1 bis {MAX_USES} Personen.")
        }
        LinkProblem::Days => format!("Ein Registrierungslink gilt 1 bis {MAX_DAYS} Tage."),
        LinkProblem::Note => format!(
            "Die Notiz zu einem Registrierungslink hat höchstens {MAX_NOTE} Zeichen in einer Zeile."
        ),
        LinkProblem::Groups => {
            format!("Ein Registrierungslink fügt Personen höchstens {MAX_GROUPS} Gruppen hinzu.")
        }
        LinkProblem::Domains(DomainProblem::TooMany) => {
            format!("Ein Registrierungslink gilt für höchstens {MAX_DOMAINS} Adress-Domains.")
        }
        LinkProblem::Domains(DomainProblem::NotADomain(domain)) => not_a_domain(domain),
    }
}

fn address_rule(problem: &RuleProblem) -> String {
    match problem {
        RuleProblem::NoDomain => "Nennen Sie mindestens eine Adress-Domain (für die Anmeldung mit \
                                  einer Adresse überall heben Sie die Regel auf)."
            .to_owned(),
        RuleProblem::Domains(DomainProblem::NotADomain(domain)) => not_a_domain(domain),
        RuleProblem::Domains(DomainProblem::TooMany) => {
            format!("Eine Adressregel nennt höchstens {MAX_DOMAINS} Adress-Domains.")
        }
    }
}

fn not_a_domain(domain: &str) -> String {
    format!(
        "{} ist keine Adress-Domain: geben Sie einen Domainnamen wie corp.example an.",
        quoted(domain)
    )
}

fn username(e: &UsernameError) -> String {
    match e {
        UsernameError::Length => format!("Ein Benutzername hat 1 bis {MAX_CHARS} Zeichen."),
        UsernameError::Invisible(c) => format!(
            "Ein Benutzername darf keine Leerzeichen, Steuerzeichen oder unsichtbaren Zeichen \
             enthalten (gefunden: {c:?})."
        ),
        UsernameError::Restricted(c) => format!(
            "Ein Benutzername besteht aus Buchstaben und Ziffern einer Schrift sowie . - _ @ +, \
             nicht „{c}“."
        ),
        UsernameError::MixedScripts => "Ein Benutzername darf keine Schriften mischen (etwa \
                                        lateinische und kyrillische Buchstaben)."
            .to_owned(),
        UsernameError::NoLetterOrDigit => {
            "Ein Benutzername braucht mindestens einen Buchstaben oder eine Ziffer.".to_owned()
        }
    }
}

fn name(field: NameField) -> &'static str {
    match field {
        NameField::Name => "Ein Name",
        NameField::GivenName => "Ein Vorname",
        NameField::FamilyName => "Ein Nachname",
    }
}

fn group_name(problem: &GroupNameProblem) -> String {
    match problem {
        GroupNameProblem::Length => {
            format!("Ein Gruppenname hat 1 bis {MAX_GROUP_NAME} Zeichen.")
        }
        GroupNameProblem::Character(c) => format!(
            "Ein Gruppenname besteht aus Kleinbuchstaben, Ziffern, „.“, „_“ und „-“, nicht {}.",
            quoted(&c.to_string())
        ),
        GroupNameProblem::NoLetterOrDigit => {
            "Ein Gruppenname braucht mindestens einen Buchstaben oder eine Ziffer.".to_owned()
        }
    }
}

fn claim_name(problem: &ClaimNameProblem) -> String {
    match problem {
        ClaimNameProblem::Malformed(claim) => format!(
            "Ein Claim-Name hat 1 bis {MAX_CLAIM_NAME} ASCII-Buchstaben, Ziffern, „_“, „-“, „.“ \
             oder „:“ und beginnt mit einem Buchstaben, nicht {}.",
            quoted(claim)
        ),
        ClaimNameProblem::Reserved(claim) => format!(
            "{} ist ein Claim, den gatehouse selbst setzt, oder ein Standard-Claim: Wählen Sie \
             einen anderen Namen.",
            quoted(claim)
        ),
    }
}

fn custom_claims(problem: &CustomClaimsProblem) -> String {
    match problem {
        CustomClaimsProblem::TooMany => format!("Höchstens {MAX_CUSTOM_CLAIMS} eigene Claims."),
        CustomClaimsProblem::Name(problem) => claim_name(problem),
        CustomClaimsProblem::NoValue(claim) => format!(
            "Der Claim {} hat keinen Wert: Lassen Sie ihn weg, um ihn zu entfernen.",
            quoted(claim)
        ),
        CustomClaimsProblem::TooLarge(claim) => format!(
            "Der Claim {} ist als JSON größer als {MAX_CLAIM_VALUE} Bytes.",
            quoted(claim)
        ),
    }
}

fn chosen_claims(problem: &ChosenClaimsProblem) -> String {
    let tokens = |chosen_for: &ChosenFor| match chosen_for {
        ChosenFor::IdToken => "ID-Tokens",
        ChosenFor::AccessToken => "Access-Tokens",
    };
    match problem {
        ChosenClaimsProblem::TooMany(chosen_for, count) => format!(
            "Höchstens {MAX_CHOSEN_CLAIMS} Claims für {}, nicht {count}.",
            tokens(chosen_for)
        ),
        ChosenClaimsProblem::NotReleasable(chosen_for, claim, problem) => format!(
            "Der Claim {} für {} ist keiner, den die Scopes freigeben ({}), und kein Name eines \
             eigenen Claims. {}",
            quoted(claim),
            tokens(chosen_for),
            SCOPED_CLAIMS.join(", "),
            claim_name(problem)
        ),
    }
}

fn redirect(problem: RegistrationProblem) -> &'static str {
    match problem {
        RegistrationProblem::NotAbsolute => "Sie ist keine absolute URI",
        RegistrationProblem::Fragment => "Sie hat ein Fragment",
        RegistrationProblem::PlainHttp => {
            "Einfaches http ist nur für localhost, 127.0.0.1 und [::1] erlaubt"
        }
        RegistrationProblem::Forbidden => "Dieses Schema ist nicht erlaubt",
        RegistrationProblem::Scheme => {
            "Verwenden Sie https, http auf Loopback-Adressen oder ein eigenes Schema wie \
             com.example.app"
        }
    }
}

fn sector(problem: &SectorProblem) -> String {
    match problem {
        SectorProblem::Name => format!(
            "Ein Sektor hat 1 bis {MAX_SECTOR} Zeichen aus Buchstaben, Ziffern, '-', '_', '.' \
             oder '~', etwa den Hostnamen der Anwendungen der Organisation."
        ),
        SectorProblem::SeveralHosts(hosts) => format!(
            "Die Weiterleitungs-URIs nennen mehrere Hosts ({hosts}): Geben Sie den Sektor an, \
             denselben für jede Anwendung, die dieselben Kennungen sehen soll."
        ),
        SectorProblem::NoHost => "Keine Weiterleitungs-URI nennt einen eigenen Host (eine \
                                  https-Adresse): Geben Sie den Sektor an."
            .to_owned(),
        SectorProblem::SectorWithoutPairwise => "Ein Sektor gilt nur für eine Anwendung mit \
                                                 paarweisen Kennungen."
            .to_owned(),
    }
}

fn uri_problem(problem: UriProblem) -> &'static str {
    match problem {
        UriProblem::TooLong => "Sie ist länger als 2048 Zeichen",
        UriProblem::NotAbsolute => "Sie ist keine absolute URI",
        UriProblem::NotHttp => "Sie ist keine http- oder https-URI",
        UriProblem::NoHost => "Sie nennt keinen Host",
        UriProblem::Fragment => "Sie hat ein Fragment",
        UriProblem::Credentials => "Sie enthält Zugangsdaten",
        UriProblem::NotHttps => "Sie ist keine https-Adresse",
    }
}

fn key(named: &KeyNamed) -> String {
    match named {
        KeyNamed::Kid(kid) => format!("Schlüssel {}", quoted(kid)),
        KeyNamed::Place(place) => format!("Schlüssel {place}"),
    }
}

fn keys(problem: &KeysProblem) -> String {
    match problem {
        KeysProblem::TooLarge => format!("Ein JWK Set hat höchstens {MAX_KEYS_JSON} Bytes."),
        // The parser's own words, in English, in brackets.
        KeysProblem::NotASet(detail) => format!("Die Schlüssel sind kein JWK Set ({detail})."),
        KeysProblem::NoKeysList => {
            "Die Schlüssel sind kein JWK Set: Es fehlt die Liste „keys“.".to_owned()
        }
        KeysProblem::Count => format!("Eine Anwendung hinterlegt 1 bis {MAX_KEYS} Schlüssel."),
        KeysProblem::Private { place, member } => format!(
            "Schlüssel {place} enthält einen privaten oder geheimen Teil („{member}“): \
             Hinterlegen Sie nur den öffentlichen Schlüssel."
        ),
        KeysProblem::Algorithm(named) => format!(
            "{}: Eine Anwendung signiert mit einem RSA-, P-256- oder Ed25519-Schlüssel, mit \
             einem von {}.",
            key(named),
            ALGORITHMS.join(", ")
        ),
        KeysProblem::NotForSigning(named) => format!(
            "{} dient nicht zum Signieren (sein „use“ ist nicht „sig“).",
            key(named)
        ),
        KeysProblem::ShortRsa(named) => format!(
            "{}: Ein RSA-Schlüssel hat mindestens {MIN_RSA_BITS} Bit.",
            key(named)
        ),
        // The key library's own words, in English, in brackets.
        KeysProblem::Unusable(named, detail) => {
            format!("{} ist kein verwendbarer Schlüssel ({detail}).", key(named))
        }
        KeysProblem::SameKid(kid) => {
            format!("Zwei Schlüssel haben die kid {}.", quoted(kid))
        }
        KeysProblem::NoKid(named) => format!(
            "{} hat keine kid: Bei mehreren Schlüsseln hat jeder eine.",
            key(named)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Refusal as R;

    /// One refusal of each kind, and of each kind a nested check gives.
    fn samples() -> Vec<Refusal> {
        use crate::oidc::client_assertion::KeyNamed::{Kid, Place};
        let claim = |n: &str| ClaimNameProblem::Reserved(n.into());
        let mut all = vec![
            R::Email("ada@".into()),
            R::NameTooLong(NameField::GivenName),
            R::NameInvisible(NameField::FamilyName),
            R::Locale("english".into()),
            R::PictureTooLong,
            R::PictureNotHttps("http://a.example/p.png".into()),
            R::DescriptionTooLong,
            R::DescriptionInvisible,
            R::TooManyToRemove,
            R::SetAndRemoved("tier".into()),
            R::ClientId,
            R::UnknownScope("payroll".into()),
            R::UnknownGrantType("password".into()),
            R::SignedRequestsNeedKeys,
            R::PublicClientCredentials,
            R::ClientOnlyScope("admin".into()),
            R::NoRedirectUri,
            R::DisplayName,
            R::PageLink(PageLink::Logo, "ftp://a.example/logo".into()),
            R::PageLink(PageLink::Home, "ftp://a.example/".into()),
            R::KeysTwice,
            R::NoKeysToChange,
            R::PublicWithKeys,
            R::SecretAndKeys,
            R::PublicWithSecret,
            R::ShortSecret,
            R::Overlap,
            R::NoSecretWithKeys,
            R::NoSecretPublic,
            R::Logo(LogoProblem::TooLarge(300_000)),
            R::Logo(LogoProblem::NotAnImage),
            R::SignupLink(LinkProblem::Uses),
            R::SignupLink(LinkProblem::Days),
            R::SignupLink(LinkProblem::Note),
            R::SignupLink(LinkProblem::Groups),
            R::ChosenClaims(ChosenClaimsProblem::TooMany(ChosenFor::IdToken, 65)),
            R::ChosenClaims(ChosenClaimsProblem::NotReleasable(
                ChosenFor::AccessToken,
                "sub".into(),
                claim("sub"),
            )),
            R::Claims(CustomClaimsProblem::TooMany),
            R::Claims(CustomClaimsProblem::Name(ClaimNameProblem::Malformed(
                "1st".into(),
            ))),
            R::Claims(CustomClaimsProblem::Name(claim("email"))),
            R::Claims(CustomClaimsProblem::NoValue("tier".into())),
            R::Claims(CustomClaimsProblem::TooLarge("tier".into())),
        ];
        all.extend(
            [
                UsernameError::Length,
                UsernameError::Invisible('\u{200b}'),
                UsernameError::Restricted('/'),
                UsernameError::MixedScripts,
                UsernameError::NoLetterOrDigit,
            ]
            .map(R::Username),
        );
        all.extend(
            [
                GroupNameProblem::Length,
                GroupNameProblem::Character('S'),
                GroupNameProblem::NoLetterOrDigit,
            ]
            .map(R::GroupName),
        );
        all.extend(
            [
                RegistrationProblem::NotAbsolute,
                RegistrationProblem::Fragment,
                RegistrationProblem::PlainHttp,
                RegistrationProblem::Forbidden,
                RegistrationProblem::Scheme,
            ]
            .map(|p| R::RedirectUri("x:y".into(), p)),
        );
        for p in [
            UriProblem::TooLong,
            UriProblem::NotAbsolute,
            UriProblem::NotHttp,
            UriProblem::NoHost,
            UriProblem::Fragment,
            UriProblem::Credentials,
            UriProblem::NotHttps,
        ] {
            all.push(R::BackchannelUri("x:y".into(), p));
            all.push(R::JwksUri("x:y".into(), p));
        }
        all.extend(
            [
                KeysProblem::TooLarge,
                KeysProblem::NotASet("expected value at line 1 column 1".into()),
                KeysProblem::NoKeysList,
                KeysProblem::Count,
                KeysProblem::Private {
                    place: 2,
                    member: "d",
                },
                KeysProblem::Algorithm(Kid("k1".into())),
                KeysProblem::NotForSigning(Place(1)),
                KeysProblem::ShortRsa(Place(1)),
                KeysProblem::Unusable(Kid("k1".into()), "invalid curve".into()),
                KeysProblem::SameKid("k1".into()),
                KeysProblem::NoKid(Place(2)),
            ]
            .map(R::Keys),
        );
        all.extend(
            [
                SectorProblem::Name,
                SectorProblem::SeveralHosts("a.example, b.example".into()),
                SectorProblem::NoHost,
                SectorProblem::SectorWithoutPairwise,
            ]
            .map(R::Sector),
        );
        all.extend(
            [resource::Problem::NotAbsolute, resource::Problem::Fragment]
                .map(|p| R::Resource("x:y#z".into(), p)),
        );
        all.extend([
            R::TooManyResources,
            R::TooManyIntrospected,
            R::PublicIntrospects,
        ]);
        all
    }

    #[test]
    fn every_refusal_is_a_german_sentence_of_its_own() {
        for why in samples() {
            let german = refusal(&why);
            let english = why.to_string();
            assert!(
                german.starts_with(|c: char| c.is_uppercase() || c == '„'),
                "{german}"
            );
            assert!(german.ends_with('.'), "{german}");
            assert!(!german.contains(".."), "{german}");
            assert_ne!(german.to_lowercase(), english.to_lowercase());
            // What it holds of the request is said as it was sent.
            if let R::RedirectUri(uri, _)
            | R::JwksUri(uri, _)
            | R::BackchannelUri(uri, _)
            | R::Resource(uri, _) = &why
            {
                assert!(german.contains(&format!("„{uri}“")), "{german}");
            }
        }
    }

    #[test]
    fn what_exists_already_or_does_not_is_a_german_sentence() {
        let consent = Named::Consent {
            user_id: "u-1".into(),
            client_id: "wiki".into(),
        };
        for what in [
            Named::User("ada".into()),
            Named::UserId("u-1".into()),
            Named::LookAlike("ada".into(), "Ada".into()),
            Named::Client("wiki".into()),
            Named::Group("ops".into()),
            consent,
            Named::Other("account_email_key".into()),
        ] {
            for german in [exists_already(&what), not_found(&what)] {
                assert!(german.ends_with('.'), "{german}");
                assert!(german.starts_with(char::is_uppercase), "{german}");
                assert!(!german.contains("user"), "{german}");
            }
        }
        assert_eq!(
            exists_already(&Named::LookAlike("ada".into(), "Ada".into())),
            "Den Benutzernamen „ada“ gibt es schon, oder einen, der gleich aussieht („Ada“)."
        );
    }

    #[test]
    fn what_was_typed_is_quoted_with_its_invisible_characters_shown() {
        assert_eq!(quoted("ada@example.com"), "„ada@example.com“");
        assert_eq!(
            quoted("ada\u{200b}@example.com"),
            "„ada\\u{200b}@example.com“"
        );
        assert_eq!(quoted("a\nb"), "„a\\nb“");
    }
}
