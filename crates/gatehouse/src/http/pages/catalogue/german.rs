//! German (`de`): every entry of [`Text`], addressing people formally (*Sie*), as German
//! software for an organisation does.
//!
//! Where a sentence takes a name it cannot inflect (an application's, or "Ihr Konto" and
//! "Ihr Gerät", which stand in for one), the name stands where German needs no case ending
//! for it: as the subject, or after *für*. How long to wait ([`SignInText::wait`]) follows
//! *in*, so it is in the dative ("in einer Sekunde").

use maud::html;

use super::{
    AccountText, AppText, ConfirmAddressText, ConsentText, ConsoleText, DeviceText, EmailText,
    ErrorText, NoAccessText, NoticeFacts, PasskeyText, Problem, SecondFactorText, SignInText,
    SignOutText, SignupLinksText, SignupText, Text,
};
use crate::auth::passwords::Weakness;

mod refusals;
use crate::model::{
    AccessTokenFormat, AuditKind, AuthPolicy, ClientAuthMethod, GrantType, NoticeKind, SubjectType,
};

/// German.
pub(in crate::http) static GERMAN: Text = Text {
    language: "de",
    name: "Deutsch",
    sign_in: SignInText {
        title: "Anmelden",
        other_languages: "Andere Sprachen",
        to_continue_to: |app| html! { "für " strong { (app) } },
        username: "Benutzername",
        password: "Passwort",
        keep_signed_in: "Auf diesem Gerät angemeldet bleiben",
        submit: "Anmelden",
        wrong_password: "Benutzername oder Passwort ist falsch.",
        too_many_attempts: |wait| {
            format!("Zu viele fehlgeschlagene Versuche. Versuchen Sie es in {wait} erneut.")
        },
        locked_out: |wait| {
            format!(
                "Zu viele fehlgeschlagene Versuche. Versuchen Sie es in {wait} erneut, oder \
                 bitten Sie die Administration, Sie früher anmelden zu lassen."
            )
        },
        wait: |seconds| match seconds {
            s if s <= 1 => "einer Sekunde".into(),
            s if s < 120 => format!("{s} Sekunden"),
            s => format!("{} Minuten", (s + 59) / 60),
        },
        your_account: "Ihr Konto",
        signed_out_for_account: "Sie sind abgemeldet. Melden Sie sich an, um Ihr Konto zu \
                                 verwalten.",
        expired_start_again: "Diese Seite ist abgelaufen. Beginnen Sie die Anmeldung von vorn.",
        returning: "Zurück zur Anwendung",
        returning_button: "Weiter",
    },
    second_factor: SecondFactorText {
        title: "Bestätigung in zwei Schritten",
        code_label: "Code aus Ihrer Authenticator-App",
        code_help: "Telefon verloren? Geben Sie stattdessen einen Ihrer Wiederherstellungscodes \
                    ein.",
        verify: "Bestätigen",
        use_passkey_to_finish: "Schließen Sie die Anmeldung mit Ihrem Passkey ab.",
        passkey_lost: "Das Gerät mit Ihrem Passkey verloren? Ihre Administration kann Ihnen \
                       einen Link schicken, um einen neuen hinzuzufügen.",
        wrong_code: "Dieser Code stimmt nicht oder wurde schon verwendet. Geben Sie den Code \
                     ein, den die App jetzt anzeigt.",
        too_many_codes: |wait| {
            format!("Zu viele falsche Codes. Versuchen Sie es in {wait} erneut.")
        },
        codes_locked_out: |wait| {
            format!(
                "Zu viele falsche Codes. Versuchen Sie es in {wait} erneut, oder bitten Sie die \
                 Administration, Sie früher anmelden zu lassen."
            )
        },
        app_set_up_meanwhile: "Inzwischen wurde in einem anderen Fenster eine \
                               Authenticator-App für Ihr Konto eingerichtet. Geben Sie einen \
                               Code aus dieser App ein.",
    },
    passkey: PasskeyText {
        sign_in_with: "Mit einem Passkey anmelden",
        use_one: "Passkey verwenden",
        required_title: "Passkey verwenden",
        required_by: |app| html! { strong { (app) } " verlangt eine Anmeldung mit einem Passkey." },
        add_title: "Passkey hinzufügen",
        required_none_yet: |app| {
            html! {
                strong { (app) } " verlangt eine Anmeldung mit einem Passkey, und Ihr Konto hat \
                noch keinen. Fügen Sie jetzt einen hinzu: Ihr Gerät fragt nach Ihrem \
                Fingerabdruck, Ihrem Gesicht oder Ihrer Bildschirmsperre."
            }
        },
        name_label: "Name des neuen Passkeys",
        name_placeholder: "Telefon",
        default_name: "Passkey",
        add: "Passkey hinzufügen",
        added: |name| format!("Der Passkey „{name}“ ist hinzugefügt: Ab jetzt meldet er Sie an."),
        removed: "Der Passkey ist entfernt: Er meldet Sie nicht mehr an.",
        no_such_passkey: "Diesen Passkey gibt es in Ihrem Konto nicht.",
        last_way_in: "Mit diesem Passkey melden Sie sich an, denn Ihr Konto hat kein Passwort: \
                      Legen Sie ein Passwort fest oder fügen Sie einen weiteren Passkey hinzu, \
                      bevor Sie ihn entfernen.",
        script_cancelled: "Es wurde kein Passkey verwendet. Versuchen Sie es erneut, oder melden \
                           Sie sich mit Ihrem Passwort an.",
        script_duplicate: "Dieser Authenticator hat schon einen Passkey für Ihr Konto.",
        script_failed: "Der Passkey konnte nicht verwendet werden.",
        script_start_failed: "Das ließ sich nicht starten. Laden Sie die Seite neu und \
                              versuchen Sie es erneut.",
        browser_cannot_sign_in: "Dieser Browser kann keine Passkeys verwenden: Dafür braucht es \
                                 JavaScript und einen Browser, der Passkeys unterstützt, etwa \
                                 ein aktuelles Chrome, Edge, Firefox oder Safari. Schließen Sie \
                                 die Anmeldung mit einem davon ab.",
        browser_cannot_add: "Dieser Browser kann keine Passkeys hinzufügen: Dafür braucht es \
                             JavaScript und einen Browser, der Passkeys unterstützt, etwa ein \
                             aktuelles Chrome, Edge, Firefox oder Safari.",
        unavailable: "Passkeys sind hier nicht verfügbar.",
        unavailable_use_password: "Passkeys sind hier nicht verfügbar. Melden Sie sich mit \
                                   Ihrem Passwort an.",
        busy: "Der Dienst ist ausgelastet. Versuchen Sie es gleich noch einmal.",
        page_expired: "Diese Seite ist abgelaufen. Laden Sie sie neu und versuchen Sie es \
                       erneut.",
        too_many_starts: |wait| {
            format!(
                "Zu viele Anmeldungen mit Passkey von hier. Versuchen Sie es in {wait} Sekunden \
                 erneut."
            )
        },
        could_not_use: "Der Passkey konnte nicht verwendet werden.",
        could_not_add: "Der Passkey konnte nicht hinzugefügt werden.",
        signed_out_reload: "Sie sind abgemeldet. Laden Sie die Seite neu, um sich anzumelden.",
        no_browser_answer: "Ihr Browser hat keinen Passkey erstellt: Dafür braucht es \
                            JavaScript und einen Browser, der Passkeys unterstützt.",
        name_too_long: |max| {
            format!(
                "Der Passkey wurde nicht hinzugefügt: Der Name eines Passkeys hat höchstens {max} \
                 Zeichen."
            )
        },
        name_unprintable: "Der Passkey wurde nicht hinzugefügt: Der Name eines Passkeys darf \
                           keine Steuerzeichen oder unsichtbaren Zeichen enthalten.",
        add_took_too_long: "Das Hinzufügen des Passkeys hat zu lange gedauert oder ist schon \
                            geschehen. Versuchen Sie es erneut.",
        busy_not_added: "Der Dienst ist ausgelastet: Der Passkey wurde nicht hinzugefügt. \
                         Versuchen Sie es erneut.",
        not_verified_not_added: "Der Passkey konnte nicht geprüft werden und wurde deshalb nicht \
                                 hinzugefügt. Versuchen Sie es erneut.",
        registered_already: "Dieser Passkey ist schon registriert.",
        sign_in_took_too_long: "Diese Anmeldung mit Passkey hat zu lange gedauert oder wurde \
                                schon verwendet. Versuchen Sie es erneut.",
        not_registered: "Dieser Passkey ist hier nicht registriert (vielleicht wurde er \
                         entfernt). Melden Sie sich mit Ihrem Passwort an.",
        not_verified: "Dieser Passkey konnte nicht geprüft werden. Versuchen Sie es erneut, oder \
                       melden Sie sich mit Ihrem Passwort an.",
    },
    app: AppText {
        setup_title: "Bestätigung in zwei Schritten einrichten",
        setup_why: |app| {
            html! {
                "Um " strong { (app) } " zu nutzen, braucht Ihr Konto neben Ihrem Passwort auch \
                einen Code aus einer Authenticator-App."
            }
        },
        setup_scan: "1. Fügen Sie in einer Authenticator-App auf Ihrem Telefon (etwa Aegis, \
                     Google Authenticator, Microsoft Authenticator oder 1Password) ein Konto \
                     hinzu, indem Sie diesen Code scannen:",
        setup_cannot_scan: "Scannen nicht möglich? Geben Sie stattdessen diesen Schlüssel ein:",
        setup_code_label: "2. Geben Sie den 6-stelligen Code ein, den die App anzeigt",
        setup_submit: "Bestätigung in zwei Schritten einschalten",
        wrong_setup_code: "Dieser Code stimmt nicht. Prüfen Sie, ob die App das Konto \
                           hinzugefügt hat, und geben Sie den Code ein, den sie jetzt anzeigt.",
        qr_label: "QR-Code für Ihre Authenticator-App",
        codes_title: "Speichern Sie Ihre Wiederherstellungscodes",
        codes_what: "Die Bestätigung in zwei Schritten ist eingeschaltet. Wenn Sie Ihr Telefon \
                     verlieren, meldet Sie jeder dieser Codes einmal an, anstelle eines Codes \
                     aus der App.",
        codes_label: "Wiederherstellungscodes",
        codes_shown_once: "Sie werden nur jetzt angezeigt.",
        codes_keep: "Bewahren Sie sie sicher auf, etwa in einem Passwortmanager oder \
                     ausgedruckt.",
        codes_continue: |to| html! { "Ich habe sie gespeichert, weiter für " (to) },
    },
    consent: ConsentText {
        title: "Zugriff erlauben?",
        would_like_to: |client| html! { strong { (client) } " möchte:" },
        allow: "Erlauben",
        deny: "Ablehnen",
        openid: "Wissen, wer Sie sind",
        profile: "Ihren Namen und Benutzernamen sehen",
        email: "Ihre E-Mail-Adresse sehen",
        groups: "Sehen, in welchen Gruppen Sie sind",
        offline_access: "Angemeldet bleiben, während Sie nicht da sind",
        at_these_services: "Und bei diesen Diensten in Ihrem Namen handeln:",
    },
    device: DeviceText {
        entry_title: "Ein Gerät verbinden",
        entry_what: "Geben Sie den Code ein, den Ihr Gerät anzeigt, um es mit Ihrem Konto \
                     anzumelden.",
        code_label: "Code",
        code_help: "8 Buchstaben; Bindestriche und Groß- oder Kleinschreibung spielen keine \
                    Rolle.",
        next: "Weiter",
        confirm_title: "Auf Ihrem Gerät anmelden?",
        confirm_check: |client, code| {
            html! {
                "Ein Gerät möchte " strong { (client) } " in Ihrem Namen nutzen. Prüfen Sie, ob \
                es " strong.code { (code) } " anzeigt."
            }
        },
        it_will_be_able_to: "Es wird Folgendes können:",
        phishing_warning: "Erlauben Sie das nur, wenn Sie die Anmeldung selbst begonnen haben, \
                           auf einem Gerät, das Sie bei sich haben. Wenn Ihnen jemand diesen \
                           Code geschickt hat, lehnen Sie ab.",
        allowed_title: "Ihr Gerät ist angemeldet",
        allowed: |client| {
            html! {
                strong { (client) } " ist auf Ihrem Gerät jetzt mit Ihrem Konto angemeldet. Sie \
                können dieses Fenster schließen und zum Gerät zurückkehren."
            }
        },
        denied_title: "Das Gerät wurde nicht angemeldet",
        denied: "Sie haben die Anfrage abgelehnt, das Gerät hat also keinen Zugriff bekommen. \
                 Sie können dieses Fenster schließen.",
        not_a_code: "Das ist kein Gerätecode: Er hat 8 Buchstaben, etwa WDJB-MJHT.",
        too_many_codes: |wait| {
            format!("Zu viele falsche Codes. Versuchen Sie es in {wait} erneut.")
        },
        codes_locked_out: |wait| {
            format!(
                "Zu viele falsche Codes. Versuchen Sie es in {wait} erneut, oder bitten Sie die \
                 Administration, Sie es früher versuchen zu lassen."
            )
        },
        code_not_valid: "Dieser Code ist ungültig oder abgelaufen. Prüfen Sie den Code auf \
                         Ihrem Gerät; ist er abgelaufen, beginnen Sie dort von vorn.",
        your_device: "Ihr Gerät",
        asks_for_more: |app| {
            format!(
                "{app} verlangt eine Bestätigung in zwei Schritten. Melden Sie sich erneut an, \
                 um fortzufahren."
            )
        },
        confirm_address_first: |app| {
            format!(
                "{app} verlangt zuerst eine bestätigte E-Mail-Adresse. Bestätigen Sie sie über \
                 Ihre Kontoseite und geben Sie den Code dann erneut ein."
            )
        },
    },
    sign_out: SignOutText {
        confirm_title: "Abmelden?",
        confirm_question: |product| html! { "Möchten Sie sich von " (product) " abmelden?" },
        sign_out: "Abmelden",
        done_title: "Abgemeldet",
        done_heading: "Sie sind abgemeldet",
        close_window: "Sie können dieses Fenster schließen.",
    },
    no_access: NoAccessText {
        title: |client| format!("Sie haben keinen Zugriff auf {client}"),
        why: "Sie sind angemeldet, aber Ihr Konto ist in keiner Gruppe, die diese Anwendung \
              nutzen darf.",
        ask: "Bitten Sie Ihre Administration um Zugriff.",
        back_to: |client| html! { "Zurück zu " (client) },
    },
    confirm_address: ConfirmAddressText {
        title: "Bestätigen Sie Ihre E-Mail-Adresse",
        needs: |client, email| {
            html! {
                strong { (client) } " muss wissen, dass die Adresse " strong { (email) }
                " Ihnen gehört, bevor Sie fortfahren."
            }
        },
        send: "Bestätigungslink per E-Mail senden",
        then_continue: "Öffnen Sie den Link in dieser E-Mail und fahren Sie dann hier fort.",
        continue_to: |client| html! { "Weiter zu " (client) },
        ask_administrator: "Bitten Sie Ihre Administration, Ihre Adresse zu bestätigen.",
        not_yours: "Nicht Ihre Adresse?",
        account_domains: |domains| {
            format!(
                "Ihr Konto meldet sich bei Anwendungen nur mit einer bestätigten Adresse bei \
                 {domains} an."
            )
        },
        change_first: "Ihre Adresse liegt bei keiner davon: geben Sie auf Ihrer Kontoseite eine \
                       solche an und bestätigen Sie sie dann.",
    },
    account: AccountText {
        title: "Ihr Konto",
        signed_in_as: |user| html! { "Angemeldet als " strong { (user) } },
        sign_out: "Abmelden",
        sections: "Bereiche Ihres Kontos",
        profile: "Profil",
        password: "Passwort",
        passkeys: "Passkeys",
        two_step: "Bestätigung in zwei Schritten",
        sessions: "Wo Sie angemeldet sind",
        applications: "Ihre Anwendungen",
        apps: "Anwendungen, denen Sie Zugriff erlaubt haben",
        activity: "Letzte Aktivitäten",
        not_recent: "Um das zu ändern, melden Sie sich erneut an: Ihre letzte Anmeldung ist \
                     mehr als 10 Minuten her.",
        sign_in_again: "Erneut anmelden",
        download: "Ihre Daten herunterladen",
        download_help: "Alles, was dieser Server über Sie speichert und diese Seite zeigt, und \
                        mehr von Ihren Aktivitäten, als JSON-Datei: Ihr Profil, Ihre Gruppen, \
                        die Bestätigung in zwei Schritten, Ihre Sitzungen, die Anwendungen, \
                        denen Sie Zugriff gegeben haben, und Ihre Aktivitäten. Kein Passwort \
                        und kein Geheimnis ist darin.",
        remove_section: "Konto entfernen",
        remove_what: "Wenn Sie Ihr Konto entfernen, werden Sie überall abgemeldet (jede \
                      Anwendung, bei der Sie angemeldet waren, erfährt es), und Ihr Passwort, \
                      Ihre zweiten Faktoren, Passkeys, Sitzungen und die Zugriffe, die Sie \
                      Anwendungen gegeben haben, werden entfernt. Das lässt sich nicht \
                      rückgängig machen: Um zurückzukommen, bräuchten Sie ein neues Konto.",
        remove_type_to_confirm: |username| format!("Geben Sie zur Bestätigung {username} ein"),
        remove_button: "Mein Konto entfernen",
        remove_ask_another_administrator: "Sie verwalten diesen Server: Ihr Konto entfernt eine \
                                           andere Person aus der Administration, auf den \
                                           Administrationsseiten.",
        remove_not_confirmed: |username| {
            format!(
                "Geben Sie zur Bestätigung Ihren Benutzernamen {username} ein. Ihr Konto ist \
                 nicht entfernt."
            )
        },
        removed_title: "Ihr Konto ist entfernt",
        removed_text: "Sie sind überall abgemeldet, und von Ihrem Konto bleibt hier nichts außer \
                       den Einträgen im Audit-Log darüber, was mit ihm geschah. Sie können \
                       dieses Fenster schließen.",
        removed_told: |address| format!("Eine E-Mail darüber ist unterwegs an {address}."),
        sign_in_again_first: "Melden Sie sich zuerst erneut an: Ihre letzte Anmeldung ist mehr \
                              als 10 Minuten her.",
        name_label: "Name",
        email_label: "E-Mail-Adresse",
        email_verified: "Bestätigt",
        email_unverified: "Nicht bestätigt",
        email_help: "Anwendungen, denen Sie erlaubt haben, Ihre E-Mail-Adresse zu sehen, \
                     erhalten sie. Eine neue Adresse ist erst bestätigt, wenn die Administration \
                     sie bestätigt.",
        email_help_mail: "Anwendungen, denen Sie erlaubt haben, Ihre E-Mail-Adresse zu sehen, \
                          erhalten sie. Eine neue Adresse ist erst bestätigt, wenn Sie dem Link \
                          folgen, den wir an sie schicken.",
        save_profile: "Speichern",
        profile_saved: "Ihr Profil ist gespeichert.",
        profile_unchanged: "Es wurde nichts geändert.",
        language: "Sprache",
        language_browser: "Wie im Browser eingestellt",
        language_help: "Die Sprache dieser Seiten und der E-Mails an Sie. Anwendungen, denen \
                        Sie erlaubt haben, Ihr Profil zu sehen, erfahren sie ebenfalls.",
        save_language: "Sprache speichern",
        language_saved: "Ihre Sprache ist gespeichert.",
        bad_name: "Ein Name hat höchstens 256 Zeichen, ohne Steuerzeichen oder unsichtbare \
                   Zeichen.",
        bad_email: "Das ist keine E-Mail-Adresse.",
        current_password: "Aktuelles Passwort",
        new_password: "Neues Passwort",
        new_password_help: "Mindestens 12 Zeichen. Ein paar Wörter, die nichts miteinander zu \
                            tun haben, ergeben ein starkes Passwort, das man sich leicht merkt.",
        repeat_password: "Neues Passwort wiederholen",
        change_password: "Passwort ändern",
        wrong_current_password: "Ihr aktuelles Passwort stimmt nicht, deshalb wurde nichts \
                                 geändert.",
        passwords_differ: "Die beiden neuen Passwörter sind nicht gleich.",
        password_too_short: |min| {
            format!("Das neue Passwort ist zu kurz: Verwenden Sie mindestens {min} Zeichen.")
        },
        password_too_long: |max| {
            format!("Das neue Passwort ist zu lang: Verwenden Sie höchstens {max} Zeichen.")
        },
        password_too_weak: |why| format!("Dieses Passwort ist zu leicht zu erraten: {why}"),
        weakness: german_weakness,
        password_same: "Das neue Passwort ist dasselbe wie Ihr jetziges.",
        password_changed: |others| match others {
            0 => "Ihr Passwort ist geändert.".to_owned(),
            1 => "Ihr Passwort ist geändert, und Ihre andere Sitzung ist abgemeldet.".to_owned(),
            n => format!(
                "Ihr Passwort ist geändert, und Ihre {n} anderen Sitzungen sind abgemeldet."
            ),
        },
        no_password: "Ihr Konto hat kein Passwort: Sie melden sich mit einem Passkey an.",
        set_password: "Passwort festlegen",
        remove_password_what: "Mit einem Passkey brauchen Sie kein Passwort: Niemand kann sich \
                               dann mit einem Passwort als Sie anmelden, und Sie melden sich mit \
                               Ihren Passkeys an. Ihre anderen Sitzungen werden abgemeldet.",
        remove_password: "Mein Passwort entfernen",
        password_removed: |others| match others {
            0 => "Ihr Passwort ist entfernt: Sie melden sich mit einem Passkey an.".to_owned(),
            1 => "Ihr Passwort ist entfernt: Sie melden sich mit einem Passkey an. Ihre andere \
                  Sitzung ist abgemeldet."
                .to_owned(),
            n => format!(
                "Ihr Passwort ist entfernt: Sie melden sich mit einem Passkey an. Ihre {n} \
                 anderen Sitzungen sind abgemeldet."
            ),
        },
        password_kept: "Ihr Passwort bleibt: Fügen Sie zuerst einen Passkey hinzu, mit dem Sie \
                        sich stattdessen anmelden.",
        two_step_on: "Eingeschaltet.",
        two_step_on_since: |day| {
            format!(
                "Zur Anmeldung gehören Ihr Passwort und ein Code aus der Authenticator-App, die \
                 Sie am {day} eingerichtet haben."
            )
        },
        recovery_codes_left: |n| html! { "Verbleibende Wiederherstellungscodes: " strong { (n) } "." },
        no_app: "Keine Authenticator-App.",
        no_app_passkey: "Nach Ihrem Passwort verwenden Sie einen Passkey.",
        two_step_off: "Ausgeschaltet.",
        two_step_off_what: "Zur Anmeldung gehört nur Ihr Passwort.",
        two_step_required: "Eine Ihrer Gruppen verlangt eine Authenticator-App: Richten Sie \
                            jetzt eine ein oder bei Ihrer nächsten Anmeldung.",
        replace_app: "Stattdessen eine neue App einrichten",
        new_codes: "Neue Wiederherstellungscodes erstellen",
        remove_app: "Bestätigung in zwei Schritten ausschalten",
        setup_app: "Authenticator-App einrichten",
        app_required_cannot_remove: "Eine Ihrer Gruppen verlangt die Bestätigung in zwei \
                                     Schritten, deshalb kann die App nicht entfernt werden. Sie \
                                     können stattdessen eine neue App einrichten oder zuerst \
                                     einen Passkey hinzufügen.",
        app_removed: "Die Authenticator-App und Ihre Wiederherstellungscodes sind entfernt: Zur \
                      Anmeldung gehört nur noch Ihr Passwort.",
        app_removed_passkey_left: "Die Authenticator-App und Ihre Wiederherstellungscodes sind \
                                   entfernt: Nach Ihrem Passwort verwenden Sie Ihren Passkey.",
        passkeys_what: "Ein Passkey meldet Sie mit Ihrem Fingerabdruck, Ihrem Gesicht oder \
                        Ihrer Bildschirmsperre an, statt mit Passwort und Code.",
        your_passkeys: "Ihre Passkeys",
        passkey_added: |day| format!("hinzugefügt am {day}"),
        passkey_last_used: |day| format!("zuletzt verwendet am {day}"),
        passkey_never_used: "nie verwendet",
        remove: "Entfernen",
        remove_named: |name| format!("{name} entfernen"),
        with_passkey: "mit einem Passkey",
        with_password_and_code: "mit Ihrem Passwort und einem Code",
        with_password: "mit Ihrem Passwort",
        with_other: "auf andere Weise",
        your_sessions: "Ihre Sitzungen",
        this_browser: "Dieser Browser",
        session_started: |at, how| format!("Angemeldet am {at} {how}"),
        session_last_active: |at| format!("zuletzt aktiv am {at}"),
        session_kept_until: |at| format!("bleibt angemeldet bis {at}"),
        browser_on: |browser, system| match system {
            Some(system) => format!("{browser} unter {system}"),
            None => browser.to_owned(),
        },
        unknown_browser: "Ein unbekannter Browser",
        signed_in_from: |ip| format!("von {ip}"),
        sign_out_session: |at| format!("Die am {at} begonnene Sitzung abmelden"),
        sign_out_everywhere_else: "Überall sonst abmelden",
        signed_out_browsers_are_new: "Ein Browser, den Sie hier abmelden, ist für Ihr Konto \
                                      wieder neu: Meldet er sich als Sie an, schreiben wir \
                                      Ihnen eine E-Mail.",
        no_other_sessions: "Sie sind nirgendwo sonst angemeldet.",
        session_ended: "Diese Sitzung ist abgemeldet.",
        no_such_session: "Diese Sitzung ist schon beendet.",
        other_sessions_ended: |n| match n {
            0 => "Sie waren nirgendwo sonst angemeldet.".to_owned(),
            1 => "Ihre andere Sitzung ist abgemeldet.".to_owned(),
            n => format!("Ihre {n} anderen Sitzungen sind abgemeldet."),
        },
        staying: "Anwendungen, die angemeldet bleiben",
        staying_help: "Diese Anwendungen bleiben angemeldet, wenn Sie Ihre Sitzungen abmelden, \
                       bis Sie sie hier abmelden (oder ein neues Passwort wählen).",
        staying_since: |since, used| format!("angemeldet am {since}, zuletzt genutzt am {used}"),
        sign_out_app_named: |app| format!("{app} abmelden"),
        app_signed_out: |app| format!("{app} ist von Ihrem Konto abgemeldet."),
        app_signed_out_already: "Diese Anwendung war schon abgemeldet.",
        no_apps: "Sie haben noch keiner Anwendung erlaubt, Ihr Konto zu sehen.",
        apps_you_allowed: "Anwendungen, denen Sie Zugriff erlaubt haben",
        given_claims: "Von Ihrer Administration für Sie eingetragen",
        given_claims_help: "Anwendungen, denen Sie erlauben, Ihr Profil zu sehen, erfahren auch \
                            diese Angaben.",
        allowed_on: |day| format!("erlaubt am {day}"),
        withdraw: "Widerrufen",
        withdraw_named: |app| format!("Zugriff von {app} widerrufen"),
        withdraw_help: "Ein Widerruf meldet die Anwendung von Ihrem Konto ab; bei der nächsten \
                        Nutzung fragt sie erneut.",
        withdrawn: |app| format!("{app} hat keinen Zugriff mehr auf Ihr Konto."),
        no_such_app: "Diese Anwendung hat keinen Zugriff auf Ihr Konto.",
        no_activity: "Noch nichts.",
        recent_activity: "Ihre letzten Aktivitäten",
        from_address: |ip| format!("von {ip}"),
        activity_help: "Wenn Sie eine Anmeldung sehen, die Sie nicht kennen, ändern Sie Ihr \
                        Passwort und melden Sie sich überall sonst ab.",
        event: german_event,
    },
    email: EmailText {
        forgot_password: "Passwort vergessen?",
        reset_title: "Passwort zurücksetzen",
        reset_what: "Geben Sie Ihren Benutzernamen oder Ihre E-Mail-Adresse ein. Wir schicken \
                     einen Link zum Festlegen eines neuen Passworts an die Adresse Ihres \
                     Kontos.",
        identifier_label: "Benutzername oder E-Mail-Adresse",
        send_reset_link: "Link zum Zurücksetzen senden",
        check_your_mail: "Sehen Sie in Ihr Postfach",
        reset_sent: "Wenn es ein Konto mit diesem Benutzernamen oder dieser Adresse gibt, ist \
                     ein Link zum Festlegen eines neuen Passworts an die E-Mail-Adresse des \
                     Kontos unterwegs. Er gilt 30 Minuten.",
        reset_sent_nothing: "Nichts angekommen? Sehen Sie im Spam-Ordner nach, warten Sie eine \
                             Minute und fragen Sie erneut, oder wenden Sie sich an Ihre \
                             Administration.",
        too_many_requests: |wait| {
            format!(
                "Zu viele Anfragen zum Zurücksetzen von hier. Versuchen Sie es in {wait} \
                 Sekunden erneut."
            )
        },
        new_password_title: "Neues Passwort wählen",
        set_new_password: "Neues Passwort festlegen",
        reset_done_title: "Ihr Passwort ist geändert",
        reset_done: "Melden Sie sich mit Ihrem neuen Passwort an. Alle Ihre Sitzungen sind \
                     abgemeldet, und Anwendungen bitten Sie, sich erneut anzumelden.",
        to_your_account: "Zu Ihrem Konto",
        confirm_title: "E-Mail-Adresse bestätigen",
        confirm_question: |email| {
            html! { "Bestätigen Sie, dass " strong { (email) } " Ihre Adresse ist." }
        },
        confirm: "Bestätigen",
        confirmed_title: "Ihre Adresse ist bestätigt",
        confirmed: |email| format!("{email} ist als Ihre Adresse bestätigt."),
        send_confirmation: "Bestätigungslink senden",
        confirmation_sent: |email| format!("Ein Bestätigungslink ist an {email} unterwegs."),
        confirmation_sent_recently: |email| {
            format!(
                "Vor weniger als einer Minute wurde ein Link an {email} geschickt: Sehen Sie in \
                 Ihr Postfach."
            )
        },
        reset_subject: |product| format!("Ihr Passwort für {product} zurücksetzen"),
        reset_body: |product, username, link, minutes| {
            format!(
                "Hallo {username},\n\n\
                 jemand (hoffentlich Sie) hat darum gebeten, das Passwort Ihres Kontos bei \
                 {product} zurückzusetzen. Um ein neues zu wählen, öffnen Sie innerhalb von \
                 {minutes} Minuten diesen Link:\n\n{link}\n\n\
                 Waren Sie das nicht, ignorieren Sie diese E-Mail: Ihr Passwort bleibt, wie es \
                 ist.\n"
            )
        },
        confirm_subject: |product| format!("Bestätigen Sie Ihre E-Mail-Adresse für {product}"),
        confirm_body: |product, username, link, hours| {
            format!(
                "Hallo {username},\n\n\
                 um zu bestätigen, dass dies die Adresse Ihres Kontos bei {product} ist, öffnen \
                 Sie innerhalb von {hours} Stunden diesen Link:\n\n{link}\n\n\
                 Haben Sie das nicht angefragt, ignorieren Sie diese E-Mail.\n"
            )
        },
        welcome_title: "Passwort wählen",
        welcome: |product| {
            html! {
                "Für Sie wurde ein Konto bei " strong { (product) } " angelegt. Wählen Sie das \
                Passwort, mit dem Sie sich anmelden werden."
            }
        },
        welcome_done_title: "Ihr Konto ist bereit",
        welcome_done: "Melden Sie sich mit Ihrem Benutzernamen und dem gewählten Passwort an. \
                       Ihre Adresse ist damit auch bestätigt.",
        welcome_passkey_title: "Oder stattdessen einen Passkey verwenden",
        welcome_passkey_what: "Ein Passkey meldet Sie mit Fingerabdruck, Gesicht oder \
                               Bildschirmsperre an, und niemand kann ihn erraten. Ihr Konto hat \
                               dann kein Passwort; Sie können später auf Ihrer Kontoseite eines \
                               festlegen.",
        welcome_done_passkey: "Melden Sie sich mit Ihrem Passkey an: „Mit einem Passkey \
                               anmelden“ auf der Anmeldeseite. Ihre Adresse ist damit auch \
                               bestätigt.",
        invite_subject: |product| format!("Ihr Konto bei {product}"),
        invite_body: |product, username, link, days| {
            format!(
                "Hallo,\n\n\
                 die Administration hat für Sie ein Konto bei {product} angelegt, mit dem \
                 Benutzernamen {username}. Um Ihr Passwort zu wählen, öffnen Sie innerhalb von \
                 {days} Tagen diesen Link:\n\n\
                 {link}\n\n\
                 Haben Sie das nicht erwartet, ignorieren Sie diese E-Mail.\n"
            )
        },
        passkey_link_title: "Passkey hinzufügen",
        passkey_link_what: |product, username| {
            html! {
                "Die Administration von " strong { (product) } " hat Ihnen diesen Link \
                geschickt, damit Sie sich wieder als " strong { (username) } " anmelden können. \
                Fügen Sie auf diesem Gerät einen Passkey hinzu: Er meldet Sie ab jetzt an."
            }
        },
        passkey_link_done_title: "Ihr Passkey ist hinzugefügt",
        passkey_link_done: "Melden Sie sich damit an: „Mit einem Passkey anmelden“ auf der \
                            Anmeldeseite. Alle Ihre Sitzungen sind abgemeldet. Haben Sie einen \
                            Passkey verloren, entfernen Sie ihn auf Ihrer Kontoseite.",
        passkey_link_subject: |product| {
            format!("Einen Passkey zu Ihrem Konto bei {product} hinzufügen")
        },
        passkey_link_body: |product, username, link, hours| {
            format!(
                "Hallo {username},\n\n\
                 die Administration von {product} hat Ihnen diesen Link geschickt, damit Sie \
                 Ihrem Konto einen neuen Passkey hinzufügen und sich damit anmelden können. \
                 Öffnen Sie ihn innerhalb von {hours} Stunden auf dem Gerät, auf dem der \
                 Passkey sein soll:\n\n{link}\n\n\
                 Haben Sie das nicht angefragt, sagen Sie es Ihrer Administration.\n"
            )
        },
        notice_subject: |product, kind| match kind {
            NoticeKind::PasswordChanged | NoticeKind::PasswordReset | NoticeKind::PasswordSet => {
                format!("Ihr Passwort für {product} wurde geändert")
            }
            NoticeKind::PasswordRemoved => format!("Ihr Passwort für {product} wurde entfernt"),
            NoticeKind::TotpAdded => {
                format!("Für {product} wurde eine Authenticator-App eingerichtet")
            }
            NoticeKind::TotpReplaced => {
                format!("Ihre Authenticator-App für {product} wurde ersetzt")
            }
            NoticeKind::TotpRemoved => {
                format!("Ihre Authenticator-App für {product} wurde entfernt")
            }
            NoticeKind::PasskeyAdded => {
                format!("Ihrem Konto bei {product} wurde ein Passkey hinzugefügt")
            }
            NoticeKind::PasskeyRemoved => {
                format!("Aus Ihrem Konto bei {product} wurde ein Passkey entfernt")
            }
            NoticeKind::RecoveryCodesReplaced => {
                format!("Neue Wiederherstellungscodes für {product}")
            }
            NoticeKind::RecoveryCodeUsed => {
                format!("Anmeldung bei {product} mit einem Wiederherstellungscode")
            }
            NoticeKind::FactorsReset => {
                format!("Ihre zweiten Anmeldeschritte bei {product} wurden entfernt")
            }
            NoticeKind::AddressChanged => {
                format!("Ihre E-Mail-Adresse bei {product} wurde geändert")
            }
            NoticeKind::NewSignIn => format!("Neue Anmeldung an Ihrem Konto bei {product}"),
            NoticeKind::AccountRemoved | NoticeKind::RemovedByAdministrator => {
                format!("Ihr Konto bei {product} wurde entfernt")
            }
        },
        notice_body: german_notice,
    },
    signup: SignupText {
        title: "Konto anlegen",
        what: |product, passkeys| {
            html! {
                "Legen Sie Ihr eigenes Konto bei " strong { (product) } " an. "
                @if passkeys {
                    "Sie melden sich mit einem Passkey oder einem Passwort an, wie Sie es hier \
                    wählen."
                } @else {
                    "Sie melden sich mit dem Benutzernamen und dem Passwort an, die Sie hier \
                    wählen."
                }
            }
        },
        username_help: "Buchstaben und Ziffern sowie . - _ @ +: damit melden Sie sich an, und \
                        Anwendungen können ihn anzeigen.",
        email_help_mail: "Dorthin wird ein Link geschickt, um sie zu bestätigen.",
        passkey_title: "Mit einem Passkey anmelden",
        passkey_submit: "Mein Konto mit einem Passkey anlegen",
        or_password: "Oder ein Passwort wählen",
        submit: "Mein Konto anlegen",
        done_title: "Ihr Konto ist bereit",
        done: "Melden Sie sich mit Ihrem Benutzernamen und dem gewählten Passwort an.",
        done_passkey: "Melden Sie sich mit Ihrem Passkey an: „Mit einem Passkey anmelden“ auf \
                       der Anmeldeseite.",
        confirm_sent: |email| {
            format!(
                "Ein Link zum Bestätigen Ihrer Adresse wurde an {email} geschickt: öffnen Sie \
                 ihn, sobald er ankommt."
            )
        },
        address_taken: "Ein anderes Konto hat diese E-Mail-Adresse. Wenn es Ihres ist, melden \
                        Sie sich dort an (oder setzen Sie das Passwort zurück).",
        domains_help: |domains| {
            format!(
                "Eine Adresse bei {domains}: bei Anwendungen melden Sie sich an, sobald Sie sie \
                 bestätigt haben."
            )
        },
        other_domain: |domains| format!("Dieser Link gilt nur für Adressen bei {domains}."),
    },
    console: ConsoleText {
        administration: "Administration",
        sections: "Administration",
        people: "Personen",
        audit_log: "Audit-Protokoll",
        search_label: "Benutzername, Name oder E-Mail-Adresse",
        search: "Suchen",
        nobody_found: "Niemand gefunden.",
        more_people: "Es passen weitere Personen: Schränken Sie die Suche ein, um sie zu sehen.",
        disabled: "Deaktiviert",
        enabled: "Aktiv",
        account: "Konto",
        name: "Name",
        state: "Status",
        created: "Angelegt",
        groups: "Gruppen",
        app: "Authenticator-App",
        no_app: "Keine Authenticator-App",
        passkeys: |n| match n {
            1 => "1 Passkey".to_owned(),
            n => format!("{n} Passkeys"),
        },
        has_password: "Festgelegt",
        no_password: "Keines: Anmeldung mit einem Passkey",
        no_way_in: "Keines, und kein Passkey: keine Anmeldung möglich, bis ein Passwort \
                    festgelegt ist (unten)",
        actions: "Was Sie tun können",
        not_recent: "Um ein Konto zu ändern, melden Sie sich erneut an: Ihre letzte Anmeldung \
                     ist mehr als 10 Minuten her.",
        enable: "Konto aktivieren",
        disable: "Konto deaktivieren",
        sign_out_everywhere: "Überall abmelden",
        sessions_of: |username| format!("Wo {username} angemeldet ist"),
        signed_in_nowhere: "Nirgendwo angemeldet.",
        session_since: |at| format!("Angemeldet am {at}"),
        reset_factors: "Authenticator-App und Passkeys entfernen",
        paused_until: |at| format!("nach Fehlversuchen bis {at} keine Anmeldung möglich"),
        address_rule: |domains| {
            format!(
                "meldet sich bei Anwendungen nur mit einer bestätigten Adresse bei {domains} an"
            )
        },
        address_rule_label: "Bei Anwendungen nur mit einer bestätigten Adresse anmelden bei",
        address_rule_help: "Domains, getrennt durch Leerzeichen oder Kommas. Solange die \
                            Adresse keine bestätigte bei einer davon ist, erhalten Anwendungen \
                            nichts von diesem Konto: es wird gebeten, sie zu bestätigen oder \
                            eine dort anzugeben.",
        set_address_rule: "Auf diese Domains festlegen",
        domains_without_mail: "Dieser Server versendet keine E-Mails, also keinen \
                               Bestätigungslink: jedes solche Konto wartet, bis die \
                               Administration seine Adresse als bestätigt markiert.",
        unlock: "Jetzt wieder anmelden lassen",
        lift_address_rule: "Mit einer Adresse überall anmelden lassen",
        confirm_email: "Adresse als bestätigt markieren",
        unconfirm_email: "Adresse als nicht bestätigt markieren",
        send_reset: "Link zum Zurücksetzen des Passworts senden",
        make_reset_link: "Link zum Zurücksetzen des Passworts erstellen",
        done_reset_link: |username| {
            format!("Ein Link zum Zurücksetzen des Passworts für {username} ist erstellt.")
        },
        reset_link_once: |minutes| {
            format!(
                "Von hier geht keine E-Mail hinaus: Geben Sie den Link selbst weiter, über einen \
                 Weg, dem Sie vertrauen. Wer ihn öffnet, kann das Passwort des Kontos wählen, \
                 einmal, innerhalb von {minutes} Minuten (der zweite Faktor wird bei der \
                 Anmeldung weiterhin verlangt). Er wird nur jetzt angezeigt."
            )
        },
        reset_link_given: "Ich habe ihn weitergegeben",
        send_passkey_link: "Link zum Hinzufügen eines Passkeys senden",
        make_passkey_link: "Link zum Hinzufügen eines Passkeys erstellen",
        done_passkey_link: |username| {
            format!("Ein Link zum Hinzufügen eines Passkeys für {username} ist erstellt.")
        },
        passkey_link_once: |hours| {
            format!(
                "Von hier geht keine E-Mail hinaus: Geben Sie den Link selbst weiter, über einen \
                 Weg, dem Sie vertrauen. Wer ihn öffnet, kann dem Konto einmal, innerhalb von \
                 {hours} Stunden, einen Passkey hinzufügen und sich damit anmelden; alle \
                 Sitzungen des Kontos werden dann abgemeldet. Er wird nur jetzt angezeigt."
            )
        },
        done_passkey_link_sent: |email| {
            format!("Ein Link zum Hinzufügen eines Passkeys ist an {email} unterwegs.")
        },
        reset_link_recently: |username| {
            format!(
                "Vor weniger als einer Minute wurde ein Link für {username} erstellt; versuchen \
                 Sie es in einer Minute erneut."
            )
        },
        their_activity: "Aktivitäten dieser Person im Audit-Protokoll",
        kind_label: "Art beginnt mit",
        subject_label: "Betroffen",
        actor_label: "Ausgelöst von",
        filter: "Filtern",
        no_records: "Keine passenden Einträge.",
        older: "Ältere Einträge",
        refused_title: "Diese Seite ist für die Administration",
        refused: "Sie sind angemeldet, gehören hier aber nicht zur Administration. Dieser \
                  Besuch steht im Audit-Protokoll.",
        done_disabled: |n| match n {
            0 => "Das Konto ist deaktiviert.".to_owned(),
            1 => "Das Konto ist deaktiviert, und seine Sitzung ist abgemeldet.".to_owned(),
            n => format!("Das Konto ist deaktiviert, und seine {n} Sitzungen sind abgemeldet."),
        },
        done_enabled: "Das Konto ist wieder aktiv.",
        done_logout: |n| match n {
            0 => "Es gab keine Sitzung zum Abmelden; alle Tokens sind widerrufen.".to_owned(),
            1 => "Die Sitzung ist abgemeldet, und alle Tokens sind widerrufen.".to_owned(),
            n => format!("{n} Sitzungen sind abgemeldet, und alle Tokens sind widerrufen."),
        },
        done_reset_factors: "Authenticator-App, Wiederherstellungscodes und Passkeys sind \
                             entfernt. Wo das Anmeldeverfahren einen zweiten Faktor verlangt, wird \
                             bei der nächsten Anmeldung einer eingerichtet.",
        done_unlocked: "Die Anmeldung ist wieder möglich: die Fehlversuche sind vergessen.",
        done_not_paused: "Die Anmeldung war schon möglich; die Fehlversuche sind vergessen.",
        done_address_rule_lifted: "Die Anmeldung bei Anwendungen ist jetzt mit einer Adresse \
                                   überall möglich.",
        apps_of: |username| format!("Anwendungen, denen {username} Zugriff gegeben hat"),
        allowed_none: "Keine. Eigene Anwendungen (first-party) fragen nicht, deshalb stehen sie \
                       nicht hier.",
        allowed_since: |scope, at| format!("{scope} · seit {at}"),
        withdraw: "Entziehen",
        withdraw_from: |name| format!("Den Zugriff von {name} entziehen"),
        done_withdrawn: |name| {
            format!(
                "{name} hat keinen Zugriff mehr auf das Konto: ihre Tokens für diese Person \
                 gelten nicht mehr, und sie fragt beim nächsten Mal erneut."
            )
        },
        no_such_consent: "Dieser Anwendung war kein Zugriff (mehr) gegeben.",
        done_address_rule_set: |domains| {
            format!(
                "Die Anmeldung bei Anwendungen ist jetzt nur mit einer bestätigten Adresse bei \
                 {domains} möglich."
            )
        },
        done_confirmed: "Die Adresse ist als bestätigt markiert.",
        done_unconfirmed: "Die Adresse ist als nicht bestätigt markiert.",
        done_reset_sent: |email| {
            format!("Ein Link zum Zurücksetzen des Passworts ist an {email} unterwegs.")
        },
        reset_sent_recently: |email| {
            format!("Vor weniger als einer Minute wurde ein Link an {email} geschickt.")
        },
        cannot_disable_self: "Ihr eigenes Konto können Sie hier nicht deaktivieren: Das kann \
                              eine andere Person aus der Administration oder die Kommandozeile.",
        remove_person: "Konto entfernen",
        remove_person_what: |username| {
            format!(
                "Wenn Sie das Konto von {username} entfernen, wird die Person überall abgemeldet \
                 (jede Anwendung, bei der sie angemeldet war, erfährt es), und ihre Tokens, \
                 Zustimmungen, Gruppenmitgliedschaften, zweiten Faktoren, Passkeys und Claims \
                 werden entfernt. Das lässt sich nicht rückgängig machen; das Audit-Protokoll \
                 behält seine Einträge über sie. Um die Anmeldung nur vorerst zu sperren, \
                 deaktivieren Sie das Konto stattdessen."
            )
        },
        remove_person_told: |username, address| {
            format!(
                "{username} erfährt es per E-Mail an {address}. Um ein Konto zu entfernen, ohne \
                 dass die Person es erfährt, deaktivieren Sie es zuerst."
            )
        },
        done_person_removed: |username| format!("Das Konto von {username} ist entfernt."),
        cannot_remove_self: "Ihr eigenes Konto können Sie hier nicht entfernen: Das kann eine \
                             andere Person aus der Administration oder die Kommandozeile.",
        name_and_address_help: "Eine neue Adresse gilt als nicht bestätigt, und die bisherige \
                                Adresse erfährt von der Änderung.",
        save_name_and_address: "Name und Adresse speichern",
        done_name_and_address: "Name und Adresse sind gespeichert.",
        add_person: "Person hinzufügen",
        username_label: "Benutzername",
        username_help: "Buchstaben und Ziffern sowie . - _ @ +: Anwendungen sehen ihn \
                        vielleicht als Benutzernamen der Person.",
        initial_password: "Erstes Passwort",
        initial_password_help: "Teilen Sie es anders als per E-Mail mit; es lässt sich auf der \
                                Kontoseite ändern.",
        invite_help: "Die Person erhält eine E-Mail mit einem Link, um ihr Passwort zu wählen \
                      (er gilt 7 Tage).",
        new_language_unset: "Wie in ihrem Browser eingestellt",
        new_language_help: "Die Einladung ist in dieser Sprache, ebenso die Seiten, sobald die \
                            Person angemeldet ist. Sie kann die Sprache auf ihrer Kontoseite \
                            ändern.",
        add: "Hinzufügen",
        done_invited: |email| {
            format!("Das Konto ist angelegt, und eine Einladung ist an {email} unterwegs.")
        },
        done_created: "Das Konto ist angelegt.",
        exists_already: refusals::exists_already,
        no_such_person: Problem {
            title: "Niemand hat diesen Namen",
            what_happened: "Kein Konto hat diesen Benutzernamen.",
            what_next: "Suchen Sie die Person unter den Personen.",
        },
        no_groups: "Es gibt noch keine Gruppen.",
        members_count: |n| match n {
            1 => "1 Mitglied".to_owned(),
            n => format!("{n} Mitglieder"),
        },
        policy: |p| match p {
            AuthPolicy::Password => "Passwort",
            AuthPolicy::TwoFactor => "Bestätigung in zwei Schritten",
            AuthPolicy::Passkey => "Passkey",
        },
        add_group: "Gruppe hinzufügen",
        group_name: "Name",
        group_name_help: "Kleinbuchstaben und Ziffern, mit Punkten, Bindestrichen und \
                          Unterstrichen: Anwendungen sehen ihn im groups-Claim.",
        description: "Beschreibung",
        sign_in_policy: "Anmeldeverfahren",
        policy_label: "Das Anmeldeverfahren, das jedes Mitglied mindestens braucht",
        save_policy: "Speichern",
        claims: "Claims",
        claims_help: "Eigene Claims für Anwendungen, etwa eine Abteilung oder eine Rolle: in \
                      ID-Tokens und unter /userinfo, wenn eine Anwendung den Scope profile \
                      anfragt. Die eigenen einer Person gehen denen ihrer Gruppen vor.",
        claims_label: "Claims, als JSON-Objekt: {\"department\": \"ops\", \"roles\": [\"editor\"]}",
        save_claims: "Claims speichern",
        done_claims: "Die Claims sind gespeichert; Anwendungen sehen sie ab der nächsten \
                      Anmeldung.",
        set_language: "Sprache festlegen",
        done_language: "Die Sprache ist gespeichert: E-Mails an die Person sind ab sofort in \
                        dieser Sprache, die Seiten ab ihrer nächsten Anmeldung.",
        claims_not_json: "Die Claims müssen ein JSON-Objekt sein, etwa {\"department\": \
                          \"ops\"}: Es wurde nichts gespeichert.",
        members: "Mitglieder",
        no_members: "In dieser Gruppe ist noch niemand.",
        more_members: |shown| {
            format!(
                "Die Gruppe hat mehr Mitglieder als die ersten {shown}, die hier stehen: Die \
                 Kommandozeile (gatehouse group members) und die Admin-API listen sie alle auf."
            )
        },
        add_member: "Mitglied hinzufügen (Benutzername)",
        remove_member: |username| format!("{username} aus der Gruppe entfernen"),
        remove_group: "Gruppe entfernen",
        remove_group_what: |name, members| {
            format!(
                "Wenn Sie {name} entfernen, sind ihre {members} Mitglieder nicht mehr darin: \
                 Anwendungen, die nur ihr offenstehen, weisen sie ab, und die Gruppe verschwindet \
                 aus ihrem groups-Claim. Kein Konto wird entfernt."
            )
        },
        type_to_confirm: |name| format!("Geben Sie zur Bestätigung {name} ein"),
        done_group_added: "Die Gruppe ist hinzugefügt.",
        done_member_added: |username| format!("{username} ist jetzt in der Gruppe."),
        done_member_already: |username| format!("{username} war schon in der Gruppe."),
        done_member_removed: |username| format!("{username} ist nicht mehr in der Gruppe."),
        done_not_member: |username| format!("{username} war nicht in der Gruppe."),
        done_policy: "Das Anmeldeverfahren der Gruppe ist gespeichert; es gilt ab der \
                      nächsten Anmeldung jedes Mitglieds.",
        done_group_removed: |name| format!("Die Gruppe {name} ist entfernt."),
        confirm_mismatch: "Die Eingabe ist nicht der verlangte Name, deshalb wurde nichts \
                           entfernt.",
        not_found: refusals::not_found,
        refusal: refusals::refusal,
        applications: "Anwendungen",
        no_applications: "Es ist noch keine Anwendung registriert.",
        client_kind: |method, first_party| {
            let kind = match method {
                ClientAuthMethod::Public => {
                    "öffentlich (ohne Geheimnis: eine Single-Page- oder native App)"
                }
                ClientAuthMethod::ClientSecretBasic => "vertraulich (hat ein Geheimnis)",
                ClientAuthMethod::PrivateKeyJwt => {
                    "vertraulich (signiert mit eigenen Schlüsseln, private_key_jwt)"
                }
            };
            if first_party {
                format!("{kind}, eigene Anwendung (ohne Zustimmungsseite)")
            } else {
                format!("{kind}, fragt Personen um Zustimmung")
            }
        },
        register: "Anwendung registrieren",
        client_id: "Client-ID",
        display_name: "Name, den Personen sehen",
        redirect_uris: "Weiterleitungs-URIs",
        redirect_help: "Eine pro Zeile: wohin Personen nach der Anmeldung zurückkehren, genau so, \
                        wie die Anwendung sie sendet.",
        first_party: "Eigene Anwendung: ohne Zustimmungsseite",
        require_par: "Ihre Anmeldeanfragen müssen vorab übermittelt werden (PAR): andere werden \
                      abgewiesen",
        require_signed: "Ihre Anmeldeanfragen müssen mit ihren Schlüsseln signiert sein \
                         (Request Objects): andere werden abgewiesen",
        require_dpop: "Ihre Tokens müssen an einen Schlüssel gebunden sein, den sie besitzt \
                       (DPoP): Token-Anfragen ohne Nachweis werden abgewiesen",
        require_confirmed_address: "Personen müssen ihre E-Mail-Adresse bestätigt haben: wer \
                                    das nicht hat, wird vor dem Fortfahren darum gebeten",
        public_client: "Öffentlich: eine Single-Page- oder native App, die kein Geheimnis \
                        bewahren kann (PKCE)",
        keys: "Ihre öffentlichen Schlüssel",
        keys_help: "Für eine Anwendung, die mit einem eigenen Schlüssel signiert \
                    (private_key_jwt), statt ein Geheimnis zu bewahren: ihre öffentlichen \
                    Schlüssel als JWK Set, {\"keys\": [...]}. Für ein Geheimnis leer lassen.",
        keys_at: "Ihre Schlüssel, abgerufen von",
        keys_at_help: "Oder, für eine Anwendung, die ihre öffentlichen Schlüssel selbst \
                       veröffentlicht, wo: eine https-URL, abgerufen, wenn nötig. Sonst leer \
                       lassen.",
        save_keys_at: "Schlüssel von hier abrufen",
        done_keys_at: "Ihre Schlüssel werden ab jetzt von dort abgerufen.",
        replace_keys: "Schlüssel ersetzen",
        done_keys: "Die Schlüssel sind ersetzt; die Anwendung signiert ab jetzt mit ihnen.",
        keys_not_json: "Die Schlüssel sind kein JWK Set in JSON: Fügen Sie {\"keys\": [...]} so \
                        ein, wie die Anwendung es ausgibt.",
        kind: "Art",
        secret_once: "Das ist das Geheimnis der Anwendung. Es wird nur jetzt angezeigt: Tragen \
                      Sie es in die Einstellungen der Anwendung ein, bevor Sie diese Seite \
                      verlassen.",
        secret_saved: "Ich habe es in die Anwendung eingetragen",
        done_registered: "Die Anwendung ist registriert.",
        who_may_use: "Wer sie nutzen darf",
        access_help: "Mitglieder der angekreuzten Gruppen, oder alle, wenn keine angekreuzt ist.",
        save_access: "Speichern",
        done_access: "Wer sie nutzen darf, ist gespeichert.",
        settings: "Einstellungen",
        settings_help: "Was Personen von ihr sehen, wohin sie sie schicken darf und was sie \
                        anfragen darf. Ihre ID, ihr Geheimnis, Zustimmungen und Tokens bleiben; \
                        ein strengeres Anmeldeverfahren gilt ab der nächsten Anfrage jeder \
                        Person.",
        home_uri: "Startseite (eine https-Adresse)",
        home_uri_help: "Mit einer Startseite steht die Anwendung auf der Kontoseite aller, die \
                        sie verwenden dürfen, als Link zu dieser Adresse.",
        logo_uri: "Die https-Adresse eines Logos, für andere Systeme aufbewahrt (die Seiten \
                   zeigen das unten hochgeladene Logo)",
        post_logout_uris: "Nach dem Abmelden",
        post_logout_help: "Eine pro Zeile: wohin die Anwendung Personen nach dem Abmelden \
                           schicken darf.",
        backchannel_uri: "Adresse für Back-Channel-Logout",
        backchannel_help: "Wohin der Anwendung gemeldet wird, dass eine Anmeldung bei ihr \
                           beendet ist; leer, wenn ihr nichts gemeldet wird.",
        access_token_claims: "Claims über die Person in ihren Access Tokens",
        access_token_claims_help: "Für APIs, die nur das Access Token lesen: die Namen der \
                                   Claims, die es enthält (email, groups, der Name eines \
                                   eigenen Claims …), durch Leerzeichen getrennt, jeder nur, \
                                   wenn die Person seinen Scope gewährt hat. Auch in der \
                                   Antwort der Introspection. Leer für keine.",
        resources: "APIs, für die ihre Access Tokens sein dürfen",
        resources_help: "Eine pro Zeile (Ressourcen-Indikatoren wie \
                         https://api.example.com/): Die Anwendung nennt eine mit dem Parameter \
                         resource, und das Access Token sagt, dass es für diese API ist (aud). \
                         Leer: Ihre Tokens sind für die Anwendung selbst.",
        introspects: "APIs, für die sie steht",
        introspects_help: "Eine pro Zeile, wie andere Anwendungen sie nennen: Diese (die \
                           eigene Registrierung der API, mit Geheimnis) darf die Access Tokens \
                           prüfen (Introspection), die für sie ausgestellt wurden, um die \
                           undurchsichtigen Tokens zu prüfen, die sie erhält. Leer: Sie prüft \
                           nur ihre eigenen Tokens.",
        scopes: "Was sie anfragen darf",
        scope: |s| match s {
            "openid" => "openid: wer die Person ist (ein ID-Token)",
            "profile" => "profile: Name und Benutzername",
            "email" => "email: die E-Mail-Adresse",
            "groups" => "groups: die Gruppen der Person",
            "offline_access" => "offline_access: angemeldet bleiben (Refresh Tokens)",
            "admin" => "admin: die Admin-API (nur als sie selbst, mit Client Credentials)",
            _ => "ein anderer Scope",
        },
        grant_types: "Wie sie Tokens erhält",
        grant_type: |g| match g {
            GrantType::AuthorizationCode => {
                "Personen über einen Browser anmelden (Authorization Code)"
            }
            GrantType::RefreshToken => "Tokens erneuern (Refresh Tokens)",
            GrantType::ClientCredentials => {
                "Als sie selbst, mit ihrem Geheimnis (Client Credentials)"
            }
            GrantType::DeviceCode => "Auf Geräten ohne Browser (Device Code)",
        },
        token_format: "Access Tokens",
        token_format_is: |f| match f {
            AccessTokenFormat::Opaque => {
                "Undurchsichtig: bei jeder Verwendung nachgeschlagen, sofort widerrufbar"
            }
            AccessTokenFormat::Jwt => {
                "JWT (RFC 9068): offline geprüft, gültig bis zum Ablauf, auch wenn widerrufen"
            }
        },
        subject_type: "Wie sie Personen kennt (sub)",
        subject_type_is: |s| match s {
            SubjectType::Public => "Unter ihrer Kennung, für jede Anwendung derselben",
            SubjectType::Pairwise => {
                "Unter einer Kennung nur ihres Sektors, die keine Anwendung eines anderen \
                 Sektors zuordnen kann"
            }
        },
        sector: "Sektor",
        sector_help: "Anwendungen eines Sektors (die Website einer Organisation und ihre App) \
                      kennen eine Person unter einer Kennung. Leer: der eine Host ihrer \
                      Weiterleitungsadressen. Wer dies ändert, oder wie sie Personen kennt, \
                      gibt allen dort eine neue Kennung: Die Anwendung sieht sie als neue \
                      Personen.",
        id_token_alg: "ID-Tokens werden signiert mit",
        save_settings: "Einstellungen speichern",
        done_settings: "Die Einstellungen sind gespeichert.",
        logo: "Logo",
        logo_help: "Wird mit dem Namen der Anwendung gezeigt, wo Personen sich bei ihr anmelden, \
                    sie zulassen und ein Gerät für sie bestätigen, und auf ihrer Kontoseite: ein \
                    PNG-, JPEG-, WebP- oder SVG-Bild von höchstens 256 KiB, am besten \
                    quadratisch.",
        logo_image: "Bild",
        upload_logo: "Logo hochladen",
        remove_logo: "Logo entfernen",
        done_logo: "Das Logo ist gespeichert.",
        done_logo_removed: "Das Logo ist entfernt.",
        choose_scope: "Kreuzen Sie mindestens eine Sache an, die sie anfragen darf.",
        choose_grant: "Kreuzen Sie mindestens einen Weg an, auf dem sie Tokens erhält.",
        new_secret: "Neues Geheimnis erstellen",
        new_secret_help: "Das alte Geheimnis gilt noch eine Stunde, damit jede Instanz der \
                          Anwendung wechseln kann.",
        secret_leaked: "Das alte Geheimnis ist bekannt geworden: sofort sperren",
        done_rotated: |at_once| {
            if at_once {
                "Ein neues Geheimnis ist erstellt, und das alte gilt nicht mehr.".to_owned()
            } else {
                "Ein neues Geheimnis ist erstellt; das alte gilt noch eine Stunde.".to_owned()
            }
        },
        remove_client: "Anwendung entfernen",
        remove_client_what: |name| {
            format!(
                "Wenn Sie {name} entfernen, endet jede Anmeldung bei ihr: Ihre Tokens gelten \
                 nicht mehr, und die Zustimmungen, die Personen ihr gegeben haben, sowie ihre \
                 Zugriffsgruppen verschwinden mit ihr."
            )
        },
        done_client_removed: |name| format!("Die Anwendung {name} ist entfernt."),
        no_such_client: Problem {
            title: "Es gibt keine Anwendung mit dieser ID",
            what_happened: "Vielleicht wurde sie entfernt.",
            what_next: "Suchen Sie sie unter den Anwendungen.",
        },
        signing_keys: "Signaturschlüssel",
        key_signs: |from, until| format!("signiert von {from} bis {until}"),
        key_published_until: |at| format!("veröffentlicht bis {at}"),
        rotate: "Erneuern",
        which_keys: "Zu ersetzende Schlüssel",
        every_algorithm: "Alle Algorithmen",
        rotate_help: "Ein neuer Schlüssel wird sofort veröffentlicht und signiert fünf Minuten \
                      später, wenn der zwischengespeicherte Schlüsselsatz jeder Anwendung \
                      abgelaufen ist; der alte Schlüssel bleibt veröffentlicht, bis jedes von \
                      ihm signierte Token abgelaufen ist.",
        compromised: "Die Schlüssel sind vielleicht gestohlen: Der neue Schlüssel signiert \
                      sofort, und Tokens, die die alten signiert haben, gelten nicht mehr",
        done_rotated_keys: |n, compromised| match (n, compromised) {
            (1, false) => {
                "Ein neuer Schlüssel ist veröffentlicht; er signiert in fünf Minuten.".to_owned()
            }
            (n, false) => {
                format!("{n} neue Schlüssel sind veröffentlicht; sie signieren in fünf Minuten.")
            }
            (1, true) => {
                "Ein neuer Schlüssel signiert jetzt; der alte ist nicht mehr veröffentlicht."
                    .to_owned()
            }
            (n, true) => format!(
                "{n} neue Schlüssel signieren jetzt; die alten sind nicht mehr veröffentlicht."
            ),
        },
        no_such_group: Problem {
            title: "Es gibt keine Gruppe mit diesem Namen",
            what_happened: "Vielleicht wurde sie umbenannt oder entfernt.",
            what_next: "Suchen Sie sie unter den Gruppen.",
        },
    },
    signup_links: SignupLinksText {
        title: "Registrierungslinks",
        what: "Mit einem Registrierungslink legen die Personen, denen Sie ihn geben, ihre Konten \
               selbst an: so viele, wie Sie erlauben, bis er abläuft, jede in den Gruppen, die \
               Sie wählen. Wer ihn hat, kann ihn verwenden: geben Sie ihn nur dort weiter, wo \
               diese Personen sind.",
        none: "Keine Registrierungslinks.",
        uses_of: |uses, max| format!("{uses} von {max} verwendet"),
        works_until: |until| format!("gültig bis {until}"),
        into_groups: |groups| format!("in die Gruppen {groups}"),
        for_domains: |domains| format!("für Adressen bei {domains}"),
        expired: "abgelaufen",
        used_up: "aufgebraucht",
        remove: "Entfernen",
        removed: "Der Registrierungslink wurde entfernt: er legt keine Konten mehr an. Die damit \
                  angelegten bleiben.",
        new_title: "Registrierungslink erstellen",
        uses_label: "Für wie viele Personen",
        days_label: "Wie viele Tage gültig",
        note_label: "Notiz",
        note_help: "Für wen er ist, für die Administration, die diese Liste liest. Wer sich \
                    registriert, sieht sie nicht.",
        groups_label: "Jede Person in diese Gruppen aufnehmen",
        domains_label: "Nur für Adressen bei",
        domains_help: "Domains, durch Leerzeichen getrennt (eine Subdomain ist eine andere \
                       Domain); leer: jede Adresse. Die damit angelegten Konten melden sich bei \
                       Anwendungen nur mit einer bestätigten Adresse bei einer davon an.",
        make: "Link erstellen",
        made_title: "Der neue Registrierungslink",
        made_what: |uses, until| {
            let people = if uses == 1 {
                "eine Person".to_owned()
            } else {
                format!("{uses} Personen")
            };
            format!(
                "Kopieren Sie ihn jetzt: er wird nur dieses eine Mal angezeigt. Damit können \
                 {people} bis {until} ein Konto anlegen."
            )
        },
        back: "Zurück zu den Registrierungslinks",
    },
    errors: ErrorText {
        busy: Problem {
            title: "Der Dienst ist ausgelastet",
            what_happened: "Ihre Anfrage konnte gerade nicht abgeschlossen werden, und es wurde \
                            nichts geändert.",
            what_next: "Warten Sie einen Moment, kehren Sie dann zur Anwendung zurück und \
                        versuchen Sie es erneut.",
        },
        failed: Problem {
            title: "Etwas ist schiefgegangen",
            what_happened: "Ihre Anfrage konnte nicht abgeschlossen werden.",
            what_next: "Versuchen Sie es in ein paar Minuten erneut. Wenn es immer wieder \
                        passiert, wenden Sie sich an Ihre Administration.",
        },
        bad_sign_in_link: Problem {
            title: "Dieser Anmeldelink funktioniert nicht",
            what_happened: "Die Anwendung, die Sie hierher geschickt hat, hat etwas verlangt, \
                            das nicht möglich ist, deshalb wurden Sie bei ihr nicht angemeldet.",
            what_next: "Kehren Sie zur Anwendung zurück und versuchen Sie es erneut. Wenn es \
                        immer wieder passiert, teilen Sie den Verantwortlichen der Anwendung \
                        mit, was unten steht.",
        },
        bad_sign_out_link: Problem {
            title: "Dieser Abmeldelink funktioniert nicht",
            what_happened: "Der Link, der Sie hierher gebracht hat, ist ungültig, deshalb \
                            wurden Sie nicht abgemeldet.",
            what_next: "Um sich abzumelden, verwenden Sie noch einmal die Abmelden-Schaltfläche \
                        der Anwendung, oder schließen Sie Ihren Browser.",
        },
        no_page: Problem {
            title: "Hier gibt es keine Seite",
            what_happened: "Vielleicht ist die Adresse vertippt, oder der Link, der Sie \
                            hierher gebracht hat, ist veraltet.",
            what_next: "Kehren Sie zur Anwendung zurück, die Sie genutzt haben, und melden Sie \
                        sich von dort aus an.",
        },
        expired_form: Problem {
            title: "Dieses Formular ist abgelaufen",
            what_happened: "Es wurde vor zu langer Zeit oder in einem anderen Fenster geöffnet, \
                            deshalb wurde es nicht gesendet.",
            what_next: "Beginnen Sie von vorn: Sie sehen dann ein neues Formular.",
        },
        account_form_incomplete: Problem {
            title: "Dieses Formular ist unvollständig",
            what_happened: "Es hat nicht gesagt, was zu tun ist, deshalb wurde nichts geändert.",
            what_next: "Kehren Sie zu Ihrem Konto zurück und wählen Sie erneut.",
        },
        consent_form_incomplete: Problem {
            title: "Dieses Zustimmungsformular ist unvollständig",
            what_happened: "Weder Erlauben noch Ablehnen wurde gewählt, deshalb wurde nichts \
                            entschieden.",
            what_next: "Beginnen Sie von vorn und wählen Sie Erlauben oder Ablehnen.",
        },
        device_form_incomplete: Problem {
            title: "Dieses Formular ist unvollständig",
            what_happened: "Weder Erlauben noch Ablehnen wurde gewählt, deshalb wurde nichts \
                            entschieden.",
            what_next: "Beginnen Sie von vorn und wählen Sie Erlauben oder Ablehnen.",
        },
        device_code_used: Problem {
            title: "Dieser Code kann nicht mehr verwendet werden",
            what_happened: "Er ist abgelaufen oder wurde schon beantwortet, deshalb wurde \
                            nichts geändert.",
            what_next: "Beginnen Sie die Anmeldung auf Ihrem Gerät von vorn; es zeigt dann \
                        einen neuen Code.",
        },
        no_mail: Problem {
            title: "Passwort-Zurücksetzen ist hier nicht eingerichtet",
            what_happened: "Dieser Server verschickt keine E-Mails und kann Ihnen deshalb \
                            keinen Link senden.",
            what_next: "Bitten Sie Ihre Administration, ein neues Passwort für Sie festzulegen.",
        },
        reset_link_void: Problem {
            title: "Dieser Link funktioniert nicht",
            what_happened: "Er wurde schon verwendet, ist abgelaufen, oder ein neuerer Link \
                            wurde geschickt, deshalb wurde nichts geändert.",
            what_next: "Fordern Sie einen neuen Link an und verwenden Sie die neueste E-Mail.",
        },
        confirm_link_void: Problem {
            title: "Dieser Link funktioniert nicht",
            what_happened: "Er wurde schon verwendet, ist abgelaufen, oder Ihre Adresse hat sich \
                            seit dem Versand geändert, deshalb wurde nichts bestätigt.",
            what_next: "Senden Sie sich von Ihrer Kontoseite aus einen neuen Link.",
        },
        passkey_link_void: Problem {
            title: "Dieser Link funktioniert nicht",
            what_happened: "Er wurde schon verwendet, ist abgelaufen, oder ein neuerer Link \
                            wurde erstellt, deshalb wurde nichts geändert.",
            what_next: "Bitten Sie Ihre Administration um einen neuen.",
        },
        signup_link_void: Problem {
            title: "Dieser Link funktioniert nicht",
            what_happened: "Er ist abgelaufen, wurde entfernt, oder so viele Personen haben damit \
                            ein Konto angelegt, wie er erlaubt, deshalb wurde kein Konto angelegt.",
            what_next: "Bitten Sie die Person, die ihn Ihnen gab, um einen neuen.",
        },
        ask_for_a_new_link: "Neuen Link anfordern",
        detail_for_admin: "Details für die Administration:",
        start_again: "Von vorn beginnen",
        back_to_account: "Zurück zu Ihrem Konto",
    },
};

/// The text of a security notice, in German.
fn german_notice(f: &NoticeFacts<'_>) -> String {
    let product = f.product;
    let what = match f.kind {
        NoticeKind::PasswordChanged => format!(
            "das Passwort Ihres Kontos bei {product} wurde auf Ihrer Kontoseite geändert. Ihre \
             anderen Sitzungen wurden abgemeldet."
        ),
        NoticeKind::PasswordRemoved => format!(
            "das Passwort Ihres Kontos bei {product} wurde auf Ihrer Kontoseite entfernt: Sie \
             melden sich von nun an mit einem Passkey an. Ihre anderen Sitzungen wurden \
             abgemeldet."
        ),
        NoticeKind::PasswordReset => format!(
            "das Passwort Ihres Kontos bei {product} wurde mit einem Link geändert, der an diese \
             Adresse geschickt wurde. Alle Ihre Sitzungen wurden abgemeldet."
        ),
        NoticeKind::PasswordSet => format!(
            "die Administration hat ein neues Passwort für Ihr Konto bei {product} gesetzt. \
             Alle Ihre Sitzungen wurden abgemeldet."
        ),
        NoticeKind::TotpAdded => format!(
            "für Ihr Konto bei {product} wurde eine Authenticator-App eingerichtet: Bei der \
             Anmeldung wird nun ein Code daraus verlangt."
        ),
        NoticeKind::TotpReplaced => format!(
            "die Authenticator-App Ihres Kontos bei {product} wurde durch eine andere ersetzt: \
             Codes der alten gelten nicht mehr."
        ),
        NoticeKind::TotpRemoved => format!(
            "die Authenticator-App Ihres Kontos bei {product} wurde entfernt, und mit ihr die \
             Wiederherstellungscodes."
        ),
        NoticeKind::PasskeyAdded => format!(
            "Ihrem Konto bei {product} wurde ein Passkey hinzugefügt: Wer ihn besitzt, kann sich \
             als Sie anmelden."
        ),
        NoticeKind::PasskeyRemoved => {
            format!("aus Ihrem Konto bei {product} wurde ein Passkey entfernt.")
        }
        NoticeKind::RecoveryCodesReplaced => format!(
            "für Ihr Konto bei {product} wurden neue Wiederherstellungscodes erstellt: Die alten \
             gelten nicht mehr."
        ),
        NoticeKind::RecoveryCodeUsed => format!(
            "bei einer Anmeldung an Ihrem Konto bei {product} wurde ein Wiederherstellungscode \
             verwendet, statt eines Codes aus Ihrer Authenticator-App."
        ),
        NoticeKind::FactorsReset => format!(
            "die Administration hat die Authenticator-App, die Wiederherstellungscodes und die \
             Passkeys Ihres Kontos bei {product} entfernt: Bei der Anmeldung genügt Ihr \
             Passwort, bis Sie wieder etwas einrichten. Hat Ihr Konto kein Passwort, bitten Sie \
             die Administration um eines oder lassen Sie sich einen Link zum Zurücksetzen an \
             diese Adresse schicken."
        ),
        NoticeKind::NewSignIn => format!(
            "jemand hat sich an Ihrem Konto bei {product} mit einem Browser angemeldet, mit dem \
             Sie sich zuvor noch nicht angemeldet hatten."
        ),
        NoticeKind::AccountRemoved => format!(
            "Ihr Konto bei {product} wurde auf seiner Kontoseite entfernt, mit allem, was es \
             enthielt: Alle seine Sitzungen sind abgemeldet, und keine Anwendung kann es mehr \
             verwenden."
        ),
        NoticeKind::RemovedByAdministrator => format!(
            "die Administration hat Ihr Konto bei {product} entfernt, mit allem, was es \
             enthielt: Alle seine Sitzungen sind abgemeldet, und keine Anwendung kann es mehr \
             verwenden."
        ),
        NoticeKind::AddressChanged => match f.new_address {
            Some(new) => format!(
                "die E-Mail-Adresse Ihres Kontos bei {product} wurde in {new} geändert. E-Mails \
                 zu Ihrem Konto, auch Links zum Zurücksetzen des Passworts, gehen von nun an \
                 dorthin."
            ),
            None => format!(
                "die E-Mail-Adresse Ihres Kontos bei {product} wurde entfernt: Es kommen keine \
                 E-Mails mehr dazu hierher."
            ),
        },
    };
    let from = f.from.map(|ip| format!("Von: {ip}\n")).unwrap_or_default();
    let from = match &f.browser {
        Some(browser) => format!("{from}Browser: {browser}\n"),
        None => from,
    };
    let advice = if f.kind == NoticeKind::RemovedByAdministrator {
        "Haben Sie das nicht erwartet, fragen Sie die Administration nach dem Grund.".to_owned()
    } else if f.kind == NoticeKind::AccountRemoved {
        "Waren Sie das, ist nichts zu tun. Waren Sie es nicht, war jemand anderes als Sie \
         angemeldet: Sagen Sie es sofort der Administration."
            .to_owned()
    } else if f.kind.by_administrator() {
        format!(
            "Haben Sie das nicht erwartet, fragen Sie die Administration nach dem Grund.\n\n\
             Die letzten Aktivitäten Ihres Kontos:\n{}",
            f.account
        )
    } else if f.kind == NoticeKind::AddressChanged {
        "Waren Sie das, ist nichts zu tun. Waren Sie es nicht, ist vielleicht jemand anderes \
         als Sie angemeldet: Sagen Sie es sofort der Administration."
            .to_owned()
    } else {
        format!(
            "Waren Sie das, ist nichts zu tun. Waren Sie es nicht, kann sich vielleicht jemand \
             anderes als Sie anmelden: Wählen Sie sofort ein neues Passwort, sehen Sie sich die \
             letzten Aktivitäten Ihres Kontos an und sagen Sie es der Administration.\n\n\
             Ein neues Passwort wählen:\n{}\n\n\
             Die letzten Aktivitäten Ihres Kontos:\n{}",
            f.reset, f.account
        )
    };
    format!(
        "Hallo {},\n\n{what}\n\nWann: {}\n{from}\n{advice}\n",
        f.username, f.when
    )
}

fn german_event(kind: AuditKind) -> &'static str {
    use AuditKind as K;
    match kind {
        K::LoginSucceeded => "Angemeldet",
        K::LoginFailed => "Anmeldung fehlgeschlagen: falsches Passwort",
        K::SecondFactorFailed => "Anmeldung fehlgeschlagen: falscher Code nach richtigem Passwort",
        K::RecoveryCodeUsed => "Mit einem Wiederherstellungscode angemeldet",
        K::PasskeyRefused => "Ein Passkey wurde abgewiesen",
        K::TotpEnrolled => "Bestätigung in zwei Schritten eingeschaltet",
        K::TotpReplaced => "Neue Authenticator-App eingerichtet",
        K::TotpRemoved => "Bestätigung in zwei Schritten ausgeschaltet",
        K::PasskeyAdded => "Passkey hinzugefügt",
        K::PasskeyRemoved => "Passkey entfernt",
        K::RecoveryCodesRegenerated => "Neue Wiederherstellungscodes erstellt",
        K::Logout => "Abgemeldet",
        K::ConsentGranted => "Einer Anwendung Zugriff erlaubt",
        K::ConsentDenied => "Einer Anwendung Zugriff verweigert",
        K::ConsentRevoked | K::ConsentWithdrawn => "Zugriff einer Anwendung widerrufen",
        K::ApplicationSignedOut => "Eine Anwendung abgemeldet",
        K::AccessDenied => "Von einer Anwendung abgewiesen: nicht in ihren Gruppen",
        K::AccessUnconfirmed => {
            "Von einer Anwendung abgewiesen: sie braucht eine bestätigte E-Mail-Adresse"
        }
        K::DeviceApproved => "Ein Gerät angemeldet",
        K::DeviceDenied => "Ein Gerät abgelehnt",
        K::PasswordSet => "Passwort von der Administration festgelegt",
        K::PasswordChanged => "Passwort geändert",
        K::PasswordRemoved => "Passwort entfernt: Anmeldung mit einem Passkey",
        K::ProfileUpdated | K::ProfileChanged => "Profil geändert",
        K::EmailSet => "E-Mail-Adresse geändert",
        K::UserClaimsSet => "Ihre Administration hat geändert, was sie für Sie einträgt",
        K::UserLoggedOut => "Von der Administration überall abgemeldet",
        K::SessionsEnded => "Andere Sitzungen abgemeldet",
        K::FactorsReset => "Zweite Faktoren von der Administration entfernt",
        K::UserUnlocked => {
            "Nach Fehlversuchen von der Administration wieder zur Anmeldung zugelassen"
        }
        K::AddressRuleLifted => {
            "Von der Administration zur Anmeldung mit einer Adresse überall zugelassen"
        }
        K::AddressRuleSet => {
            "Von der Administration auf die Anmeldung mit einer bestätigten Adresse bei \
             bestimmten Domains festgelegt"
        }
        K::UserCreated => "Konto angelegt",
        K::UserDisabled => "Konto deaktiviert",
        K::UserEnabled => "Konto aktiviert",
        K::EmailConfirmed => "E-Mail-Adresse bestätigt",
        K::InvitationAccepted => "Passwort über die Einladung gewählt",
        K::SignedUp => "Konto mit einem Registrierungslink angelegt",
        K::AccountRemoved => "Konto von seiner Person entfernt",
        K::ConsoleRefused => "Von einer Administrationsseite abgewiesen",
        K::PasswordReset => "Passwort per E-Mail zurückgesetzt",
        K::ResetLinkMade => {
            "Die Administration hat einen Link zum Zurücksetzen des Passworts erstellt"
        }
        K::PasskeyLinkMade => {
            "Die Administration hat einen Link zum Hinzufügen eines Passkeys erstellt"
        }
        K::EmailSent => "Ein Link wurde an Ihre E-Mail-Adresse geschickt",
        K::EmailUndelivered => "Ein Link konnte nicht an Ihre E-Mail-Adresse geschickt werden",
        K::TokenReuseDetected => {
            "Eine Anmeldung bei einer Anwendung wurde beendet: ein verwendetes Token kam zurück"
        }
        K::CodeReplayed => {
            "Eine Anmeldung bei einer Anwendung wurde beendet: ein verwendeter Anmeldecode kam \
             zurück"
        }
        other => other.as_str(),
    }
}

/// zxcvbn's warning and suggestion, in German.
fn german_weakness(weakness: &Weakness) -> String {
    use crate::auth::passwords::{Suggestion as S, Warning as W};
    let warning = match weakness.warning {
        None => "Es ließe sich schnell erraten.",
        Some(W::StraightRowsOfKeysAreEasyToGuess) => "Gerade Tastenreihen sind leicht zu erraten.",
        Some(W::ShortKeyboardPatternsAreEasyToGuess) => {
            "Kurze Tastaturmuster sind leicht zu erraten."
        }
        Some(W::RepeatsLikeAaaAreEasyToGuess) => "Wiederholungen wie „aaa“ sind leicht zu erraten.",
        Some(W::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess) => {
            "Wiederholungen wie „abcabcabc“ sind kaum schwerer zu erraten als „abc“."
        }
        Some(W::ThisIsATop10Password) => "Es ist eines der 10 häufigsten Passwörter.",
        Some(W::ThisIsATop100Password) => "Es ist eines der 100 häufigsten Passwörter.",
        Some(W::ThisIsACommonPassword) => "Es ist ein sehr häufiges Passwort.",
        Some(W::ThisIsSimilarToACommonlyUsedPassword) => {
            "Es ähnelt einem häufig verwendeten Passwort."
        }
        Some(W::SequencesLikeAbcAreEasyToGuess) => {
            "Folgen wie abc oder 6543 sind leicht zu erraten."
        }
        Some(W::RecentYearsAreEasyToGuess) => "Jüngere Jahreszahlen sind leicht zu erraten.",
        Some(W::AWordByItselfIsEasyToGuess) => "Ein einzelnes Wort ist leicht zu erraten.",
        Some(W::DatesAreOftenEasyToGuess) => "Datumsangaben sind oft leicht zu erraten.",
        Some(W::NamesAndSurnamesByThemselvesAreEasyToGuess) => {
            "Vor- und Nachnamen allein sind leicht zu erraten."
        }
        Some(W::CommonNamesAndSurnamesAreEasyToGuess) => {
            "Häufige Vor- und Nachnamen sind leicht zu erraten."
        }
    };
    let suggestion = match weakness.suggestion {
        None => "Fügen Sie ein oder zwei Wörter hinzu, die selten zusammen vorkommen.",
        Some(S::UseAFewWordsAvoidCommonPhrases) => {
            "Verwenden Sie einige Wörter und meiden Sie gängige Redewendungen."
        }
        Some(S::NoNeedForSymbolsDigitsOrUppercaseLetters) => {
            "Sonderzeichen, Ziffern oder Großbuchstaben sind nicht nötig."
        }
        Some(S::AddAnotherWordOrTwo) => {
            "Fügen Sie ein oder zwei Wörter hinzu. Ungewöhnliche Wörter sind besser."
        }
        Some(S::CapitalizationDoesntHelpVeryMuch) => "Großschreibung hilft nicht viel.",
        Some(S::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase) => {
            "Nur Großbuchstaben sind kaum schwerer zu erraten als nur Kleinbuchstaben."
        }
        Some(S::ReversedWordsArentMuchHarderToGuess) => {
            "Rückwärts geschriebene Wörter sind kaum schwerer zu erraten."
        }
        Some(S::PredictableSubstitutionsDontHelpVeryMuch) => {
            "Vorhersehbare Ersetzungen wie „@“ statt „a“ helfen nicht viel."
        }
        Some(S::UseALongerKeyboardPatternWithMoreTurns) => {
            "Verwenden Sie ein längeres Tastaturmuster mit mehr Richtungswechseln."
        }
        Some(S::AvoidRepeatedWordsAndCharacters) => "Vermeiden Sie wiederholte Wörter und Zeichen.",
        Some(S::AvoidSequences) => "Vermeiden Sie Folgen wie abc oder 123.",
        Some(S::AvoidRecentYears) => "Vermeiden Sie jüngere Jahreszahlen.",
        Some(S::AvoidYearsThatAreAssociatedWithYou) => {
            "Vermeiden Sie Jahreszahlen, die mit Ihnen zu tun haben."
        }
        Some(S::AvoidDatesAndYearsThatAreAssociatedWithYou) => {
            "Vermeiden Sie Daten und Jahreszahlen, die mit Ihnen zu tun haben."
        }
    };
    format!("{warning} {suggestion}")
}
