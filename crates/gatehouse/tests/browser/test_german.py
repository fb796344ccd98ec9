"""Pages in German, as a person whose browser prefers German meets them on a phone (the
browser's language, `Accept-Language`, chooses the catalogue; the server's own is English): the
sign-in page and its refusal, setting up two-step verification for an application that
requires it, the recovery codes, the consent page, the account page and signing out, and an
administrator disabling an account and told why an application is refused; every word in German and nothing wider than the phone's
screen (German's long words included). A browser that prefers French is answered in the
server's English. An application asks for German (`ui_locales`) for a browser that prefers
English; a person switches the English sign-in page to German, what they typed and ticked kept
(Enter then signs in, not another switch); and a person chooses German on
their account page: spoken from then on, in this browser before they sign in again and in
another from their sign-in on."""

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from relying_party import RelyingParty
from test_console import sign_in_as_administrator
from test_second_factors import totp
from test_sign_in import fill_login, session_cookie_days, start

PHONE = {"width": 390, "height": 844}


def german_phone(browser):
    """A phone whose person reads German: its browser asks for German pages."""
    return browser.new_context(viewport=PHONE, locale="de-DE")


@pytest.fixture(scope="module")
def lohn(gatehouse):
    """Someone else's application (asking for consent) that requires two-step verification."""
    rp = RelyingParty("Lohnabrechnung")
    gatehouse.add_client(rp, "lohnabrechnung", first_party=False,
                         extra=("--auth-policy", "two_factor"))
    yield rp
    rp.close()


def fits(page):
    """The page as a phone shows it: nothing wider than the screen, so no sideways scrolling."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{page.url} is {width} px wide"


def anmelden(page, username, password=PASSWORD):
    page.get_by_label("Benutzername").fill(username)
    page.get_by_label("Passwort").fill(password)
    page.get_by_role("button", name="Anmelden", exact=True).click()


def test_a_person_signs_in_to_an_application_in_german(browser, gatehouse, lohn):
    context = german_phone(browser)
    page = context.new_page()
    user = gatehouse.add_user()

    start(page, lohn)
    expect(page).to_have_title("Anmelden · Gatehouse")
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.get_by_text("für ")).to_contain_text("lohnabrechnung")
    fits(page)
    anmelden(page, user, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Benutzername oder Passwort ist falsch.")

    anmelden(page, user)
    expect(page.get_by_role("heading")).to_have_text("Bestätigung in zwei Schritten einrichten")
    expect(page.locator("main")).to_contain_text("Um lohnabrechnung zu nutzen")
    expect(page.get_by_role("img", name="QR-Code für Ihre Authenticator-App")).to_be_visible()
    fits(page)
    key = page.locator("#secret").inner_text()
    code = page.get_by_label("Geben Sie den 6-stelligen Code ein, den die App anzeigt")
    code.fill("000000" if totp(key) != "000000" else "111111")
    page.get_by_role("button", name="Bestätigung in zwei Schritten einschalten").click()
    expect(page.get_by_role("alert")).to_contain_text("Dieser Code stimmt nicht.")
    code.fill(totp(key))
    page.get_by_role("button", name="Bestätigung in zwei Schritten einschalten").click()

    expect(page.get_by_role("heading")).to_have_text("Speichern Sie Ihre Wiederherstellungscodes")
    codes = page.get_by_role("list", name="Wiederherstellungscodes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    fits(page)
    page.get_by_role("link", name="Ich habe sie gespeichert, weiter für lohnabrechnung").click()

    expect(page.get_by_role("heading")).to_have_text("Zugriff erlauben?")
    expect(page.get_by_role("listitem")).to_have_text(
        ["Wissen, wer Sie sind", "Ihren Namen und Benutzernamen sehen",
         "Ihre E-Mail-Adresse sehen"])
    fits(page)
    page.get_by_role("button", name="Erlauben").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert page.url.startswith(lohn.base + "/callback")

    page.goto(f"{gatehouse.issuer}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Konto")
    expect(page).to_have_title("Ihr Konto · Gatehouse")
    two_step = page.get_by_role("heading", name="Bestätigung in zwei Schritten", exact=True)
    expect(two_step).to_be_visible()
    expect(page.locator("main")).to_contain_text("Verbleibende Wiederherstellungscodes: 10.")
    expect(page.locator("main")).to_contain_text("Anwendungen, denen Sie Zugriff erlaubt haben")
    expect(page.get_by_role("table", name="Ihre letzten Aktivitäten")).to_contain_text(
        "Einer Anwendung Zugriff erlaubt")
    fits(page)

    page.get_by_role("link", name="Abmelden", exact=True).click()
    expect(page.locator("main")).to_contain_text("Möchten Sie sich von Gatehouse abmelden?")
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("heading")).to_have_text("Sie sind abgemeldet")
    fits(page)
    context.close()


def test_an_administrator_disables_an_account_in_german(browser, gatehouse):
    context = german_phone(browser)
    page = context.new_page()
    person = gatehouse.add_user("person")
    sign_in_as_administrator(page, gatehouse, login=anmelden)

    page.get_by_role("link", name="Administration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Personen")
    fits(page)
    page.get_by_label("Benutzername, Name oder E-Mail-Adresse").fill(person)
    page.get_by_role("button", name="Suchen").click()
    page.get_by_role("link", name=person).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(person)
    fits(page)
    page.get_by_role("button", name="Konto deaktivieren").click()
    expect(page.get_by_role("status")).to_have_text("Das Konto ist deaktiviert.")

    other = german_phone(browser).new_page()
    other.goto(f"{gatehouse.issuer}/account")
    anmelden(other, person)
    expect(other.get_by_role("alert")).to_have_text("Benutzername oder Passwort ist falsch.")
    other.context.close()

    page.get_by_role("link", name="Aktivitäten dieser Person im Audit-Protokoll").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit-Protokoll")
    fits(page)
    context.close()


def test_an_administrator_is_told_in_german_why_an_application_is_refused(browser, gatehouse):
    context = german_phone(browser)
    page = context.new_page()
    admin = sign_in_as_administrator(page, gatehouse, login=anmelden)
    client_id = f"lohn-{admin[-8:]}"

    page.goto(f"{gatehouse.issuer}/admin/clients")
    expect(page.get_by_role("heading", level=1)).to_have_text("Anwendungen")
    page.get_by_label("Client-ID").fill(client_id)
    page.get_by_label("Weiterleitungs-URIs").fill("http://lohn.example/callback")
    page.get_by_role("button", name="Anwendung registrieren").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Die Weiterleitungs-URI „http://lohn.example/callback“ wird abgelehnt: Einfaches http "
        "ist nur für localhost, 127.0.0.1 und [::1] erlaubt.")
    fits(page)
    assert client_id not in gatehouse.cli("client", "list")
    context.close()


def test_a_browser_that_prefers_a_language_without_pages_is_answered_in_english(browser,
                                                                               gatehouse):
    context = browser.new_context(locale="fr-FR")
    page = context.new_page()
    page.goto(f"{gatehouse.issuer}/account")
    expect(page).to_have_title("Sign in · Gatehouse")
    assert page.locator("html").get_attribute("lang") == "en"
    context.close()


@pytest.fixture(scope="module")
def handbuch(gatehouse):
    """Someone else's application that asks for the sign-in's language (`ui_locales`)."""
    rp = RelyingParty("Handbuch")
    gatehouse.add_client(rp, "handbuch", first_party=False)
    yield rp
    rp.close()


def test_an_application_asks_for_german_for_an_english_browser(browser, gatehouse, handbuch):
    rp = handbuch
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    user = gatehouse.add_user()

    start(page, rp, ui_locales="fr-CA%20de-CH")
    expect(page).to_have_title("Anmelden · Gatehouse")
    assert page.locator("html").get_attribute("lang") == "de"
    anmelden(page, user, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Benutzername oder Passwort ist falsch.")
    anmelden(page, user)
    expect(page.get_by_role("heading")).to_have_text("Zugriff erlauben?")
    page.get_by_role("button", name="Erlauben").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")

    # Its next sign-in, asking for nothing: the browser's English.
    start(page, rp, prompt="login")
    expect(page).to_have_title("Sign in · Gatehouse")
    context.close()


def test_a_person_switches_the_sign_in_page_to_german(browser, gatehouse, handbuch):
    """An English browser, a German reader: the sign-in page offers Deutsch, in German, and
    choosing it brings the same sign-in back in German, which the browser keeps."""
    rp = handbuch
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    user = gatehouse.add_user()

    start(page, rp)
    expect(page).to_have_title("Sign in · Gatehouse")
    # Typed and ticked before the switch: it comes back with the German form.
    page.get_by_label("Username").fill(user)
    page.get_by_label("Keep me signed in on this device").check()
    languages = page.get_by_role("group", name="Other languages")
    expect(languages.get_by_role("button")).to_have_text(["Deutsch"])
    languages.get_by_role("button", name="Deutsch").click()
    expect(page).to_have_title("Anmelden · Gatehouse")
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.get_by_text("für ")).to_contain_text("handbuch")
    expect(page.get_by_role("group", name="Andere Sprachen").get_by_role("button")).to_have_text(
        ["English"])
    expect(page.get_by_label("Benutzername")).to_have_value(user)
    expect(page.get_by_label("Passwort")).to_be_focused()
    expect(page.get_by_label("Auf diesem Gerät angemeldet bleiben")).to_be_checked()
    page.get_by_label("Passwort").fill(PASSWORD)
    page.get_by_label("Passwort").press("Enter")
    expect(page.get_by_role("heading")).to_have_text("Zugriff erlauben?")
    page.get_by_role("button", name="Erlauben").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert 29.9 < session_cookie_days(page) < 30.01, session_cookie_days(page)

    # The browser keeps the choice: the account page speaks German too.
    page.goto(f"{gatehouse.issuer}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Konto")
    context.close()


def test_a_person_chooses_german_on_their_account_page(browser, gatehouse):
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    user = gatehouse.add_user()
    page.goto(f"{gatehouse.issuer}/account")
    fill_login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

    page.get_by_label("Language").select_option(label="Deutsch")
    page.get_by_role("button", name="Save language").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Konto")
    expect(page.get_by_role("status")).to_have_text("Ihre Sprache ist gespeichert.")
    expect(page.get_by_label("Sprache")).to_have_value("de")
    # Why a new password is too easy to guess is said in German too.
    page.get_by_label("Aktuelles Passwort").fill(PASSWORD)
    page.get_by_label("Neues Passwort", exact=True).fill("password1234")
    page.get_by_label("Neues Passwort wiederholen").fill("password1234")
    page.get_by_role("button", name="Passwort ändern").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Dieses Passwort ist zu leicht zu erraten: Es ist ein sehr häufiges Passwort. Fügen Sie "
        "ein oder zwei Wörter hinzu. Ungewöhnliche Wörter sind besser.")

    # Signed out, this browser still speaks it: the sign-in page is German.
    page.get_by_role("link", name="Abmelden", exact=True).click()
    page.get_by_role("button", name="Abmelden").click()
    expect(page.get_by_role("heading")).to_have_text("Sie sind abgemeldet")
    page.goto(f"{gatehouse.issuer}/account")
    expect(page).to_have_title("Anmelden · Gatehouse")

    # Another browser that prefers English: English until the sign-in, German from it on.
    other = browser.new_context(locale="en-US").new_page()
    other.goto(f"{gatehouse.issuer}/account")
    fill_login(other, user)
    expect(other.get_by_role("heading", level=1)).to_have_text("Ihr Konto")
    other.get_by_label("Sprache").select_option(label="Wie im Browser eingestellt")
    other.get_by_role("button", name="Sprache speichern").click()
    expect(other.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(other.get_by_role("status")).to_have_text("Your language is saved.")
    other.context.close()
    context.close()
