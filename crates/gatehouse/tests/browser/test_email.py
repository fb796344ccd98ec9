"""Links sent by email, in a browser with a real SMTP server: a person who forgot their password
asks for a link from the login page, reads the mail, follows the link and sets a new one, and is
then told of the new password by mail, whose link shows them their account's activity; a
person who reads German does the same in German from an English browser; a
sign-in from a second browser is told by mail, and the first browser's next one is not; a
person confirms their address from the account page. The relying party is involved only where an
application on another origin requires a confirmed address: the person signing in to it
confirms theirs by the link the page mails, then goes on to it; and where a person made their
account with a sign-up link for their domain, which an application asking nothing of addresses
still waits for until that address is confirmed."""

import queue
import re
import secrets
import tempfile

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD, Gatehouse
from mail_sink import MailSink
from test_account import open_account
from test_console import sign_in_as_administrator
from relying_party import RelyingParty
from test_sign_in import fill_login, start

# What a mail says and where its link leads is the server's, the same in every browser: these
# run in Chromium, and in Firefox too where the browser's part matters (a link opened in it,
# the cookie that tells one browser from another).
pytestmark = pytest.mark.browsers("chromium")

NEW_PASSWORD = "plum orbit lantern vivid kettle"
IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 "
          "(KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1")


@pytest.fixture(scope="module")
def sink():
    s = MailSink()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def server(sink):
    with tempfile.TemporaryDirectory() as directory:
        server = Gatehouse(directory, "--smtp-url", sink.url,
                           "--mail-from", "Gatehouse <id@example.com>")
        yield server
        server.stop()


@pytest.mark.browsers("chromium", "firefox")
def test_a_forgotten_password_is_reset_by_the_mailed_link(browser_page, server, sink):
    page = browser_page
    user = server.add_user()
    page.goto(f"{server.issuer}/account")
    page.get_by_role("link", name="Forgot your password?").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    field = page.get_by_label("Username or email address")
    expect(field).to_be_focused()
    field.fill(user)
    page.get_by_role("button", name="Send a reset link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")

    to, message = sink.next()
    assert to == [f"{user}@example.com"], to
    assert message["Subject"] == "Reset your Gatehouse password"
    link = MailSink.link(message, f"{server.issuer}/reset?token=")

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    page.get_by_label("New password", exact=True).fill("password123456")
    page.get_by_label("New password again").fill("password123456")
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("alert")).to_contain_text("too easy to guess")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set the new password").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your password is changed")

    # The mailbox tells them what happened, and where to look if it was not them.
    to, notice = sink.next()
    assert to == [f"{user}@example.com"], to
    assert notice["Subject"] == "Your Gatehouse password was changed"
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert "changed with a reset link sent to this address" in text, text
    activity = MailSink.link(notice, f"{server.issuer}/account")

    page.goto(activity)
    fill_login(page, user, PASSWORD)
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    fill_login(page, user, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.get_by_role("table", name="Your recent activity")).to_contain_text(
        "Password reset by email")

    # The link worked once: opened again, its page says so and offers no form.
    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    expect(page.get_by_label("New password", exact=True)).to_have_count(0)
    expect(page.get_by_role("link", name="Ask for a new link")).to_be_visible()


def test_a_person_resets_their_password_in_german_in_an_english_browser(browser, server, sink):
    """The reset page offers Deutsch; chosen (with the username typed already, which stays),
    the request, the link's mail, the link's page and its answer all speak German, as the
    browser keeps the choice."""
    context = browser.new_context(locale="en-US")
    page = context.new_page()
    user = server.add_user()
    page.goto(f"{server.issuer}/reset")
    expect(page.get_by_role("heading", level=1)).to_have_text("Reset your password")
    page.get_by_label("Username or email address").fill(user)
    page.get_by_role("group", name="Other languages").get_by_role("button", name="Deutsch").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Passwort zurücksetzen")
    assert page.locator("html").get_attribute("lang") == "de"
    expect(page.get_by_label("Benutzername oder E-Mail-Adresse")).to_have_value(user)
    page.get_by_role("button", name="Link zum Zurücksetzen senden").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Sehen Sie in Ihr Postfach")

    to, message = sink.next()
    assert to == [f"{user}@example.com"], to
    assert message["Subject"] == "Ihr Passwort für Gatehouse zurücksetzen"
    page.goto(MailSink.link(message, f"{server.issuer}/reset?token="))
    expect(page.get_by_role("heading", level=1)).to_have_text("Neues Passwort wählen")
    expect(page.get_by_role("group", name="Andere Sprachen").get_by_role("button")).to_have_text(
        ["English"])
    page.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Neues Passwort festlegen").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Ihr Passwort ist geändert")
    # The notice is mailed later, away from the page: in the person's own language, and
    # without one, the deployment's.
    _, notice = sink.next()
    assert notice["Subject"] == "Your Gatehouse password was changed"
    context.close()


def new_sign_in_mail(sink, user):
    """The next mail, which must tell `user` of a sign-in from a browser new to them: the
    message and its text."""
    to, notice = sink.next()
    assert to == [f"{user}@example.com"], to
    assert notice["Subject"] == "A new sign-in to your Gatehouse account"
    text = notice.get_body(preferencelist=("plain",)).get_content()
    assert "from a browser that had not signed in as you before" in text, text
    return notice, text


@pytest.mark.browsers("chromium", "firefox")
def test_a_sign_in_from_another_browser_is_told_by_mail(browser_page, browser, server, sink):
    """The laptop the person always uses is no news; a phone that never signed in as them is,
    in their mailbox, saying when, with which browser and what to do; the laptop again is
    not."""
    user = server.add_user()
    laptop, phone = browser_page, browser.new_context(user_agent=IPHONE).new_page()
    for page in (laptop, phone):
        open_account(page, server, user)
    notice, text = new_sign_in_mail(sink, user)
    assert "Browser: Safari on iPhone" in text, text
    assert MailSink.link(notice, f"{server.issuer}/reset") == f"{server.issuer}/reset"
    phone.context.close()

    # The laptop's session ends (it keeps its other cookies), and they sign in again there:
    # a browser they use, so nothing more arrives.
    kept = [c for c in laptop.context.cookies() if not c["name"].endswith("gatehouse_session")]
    laptop.context.clear_cookies()
    laptop.context.add_cookies(kept)
    open_account(laptop, server, user)
    with pytest.raises(queue.Empty):
        sink.next(timeout=3)


def test_a_browser_signed_out_from_the_phone_is_news_when_it_signs_in_again(
        browser_page, browser, server, sink):
    """The person signs the laptop out from their phone (say it was left somewhere): the page
    tells them what that does, and when the laptop signs in as them again, they are mailed as
    for a browser they never used; the phone itself stays known."""
    user = server.add_user()
    laptop, phone = browser_page, browser.new_context(user_agent=IPHONE).new_page()
    for page in (laptop, phone):
        open_account(page, server, user)
    new_sign_in_mail(sink, user)

    # Each sign-in in the phone's list of recent activity names its browser.
    activity = phone.get_by_role("table", name="Your recent activity")
    expect(activity).to_contain_text("Safari on iPhone · from 127.0.0.1")
    expect(phone.locator("main")).to_contain_text(
        "A browser you sign out here is new to your account again")
    phone.get_by_role("button", name="Sign out everywhere else").click()
    expect(phone.get_by_role("status")).to_have_text("Your other session is signed out.")

    laptop.reload()
    expect(laptop.get_by_role("heading", level=1)).to_have_text("Sign in")
    open_account(laptop, server, user)
    new_sign_in_mail(sink, user)
    phone.context.close()


@pytest.mark.browsers("chromium", "firefox")
def test_a_person_confirms_their_address(browser_page, server, sink):
    page = browser_page
    user = server.add_user()
    page.goto(f"{server.issuer}/account")
    fill_login(page, user)
    expect(page.locator("#email-help")).to_contain_text("Not confirmed")
    page.get_by_role("button", name="Send me a confirmation link").click()
    expect(page.get_by_role("status")).to_have_text(
        f"A confirmation link is on its way to {user}@example.com.")

    to, message = sink.next()
    assert to == [f"{user}@example.com"], to
    page.goto(MailSink.link(message, f"{server.issuer}/confirm-email?token="))
    expect(page.locator("main")).to_contain_text(f"Confirm that {user}@example.com is your address.")
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your address is confirmed")
    page.get_by_role("link", name="Go to your account").click()
    expect(page.locator("#email-help")).to_contain_text("Confirmed")
    expect(page.get_by_role("button", name="Send me a confirmation link")).to_have_count(0)


def confirm_in_another_tab(page, server, message):
    """Opens the confirmation link the mail `message` carries in another tab of `page`'s
    browser, as a person reading their mail would, and confirms the address."""
    mailbox = page.context.new_page()
    mailbox.goto(MailSink.link(message, f"{server.issuer}/confirm-email?token="))
    mailbox.get_by_role("button", name="Confirm").click()
    expect(mailbox.get_by_role("heading", level=1)).to_have_text("Your address is confirmed")
    mailbox.close()


@pytest.fixture(scope="module")
def careful_app(server):
    """A first-party application, on another origin, that requires a confirmed address."""
    rp = RelyingParty("Careful app")
    server.add_client(rp, "careful-app", first_party=True,
                      extra=("--require-confirmed-address",))
    yield rp
    rp.close()


def test_an_application_that_requires_a_confirmed_address_waits_for_it(browser_page, server,
                                                                        sink, careful_app):
    page = browser_page
    user = server.add_user()
    start(page, careful_app)
    fill_login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    expect(page.locator("main")).to_contain_text(
        f"careful-app needs to know that the address {user}@example.com is yours")
    # Going on before confirming asks again; the application has nothing.
    page.get_by_role("link", name="Continue to careful-app").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    assert page.url.startswith(server.issuer), page.url

    page.get_by_role("button", name="Email me a confirmation link").click()
    expect(page.get_by_role("status")).to_have_text(
        f"A confirmation link is on its way to {user}@example.com.")
    to, message = sink.next()
    assert to == [f"{user}@example.com"], to
    confirm_in_another_tab(page, server, message)

    # Back in the first tab, the sign-in goes on to the application.
    page.get_by_role("link", name="Continue to careful-app").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert page.url.startswith(careful_app.base), page.url


@pytest.fixture(scope="module")
def plain_app(server):
    """A first-party application, on another origin, that requires nothing of addresses."""
    rp = RelyingParty("Plain app")
    server.add_client(rp, "plain-app", first_party=True)
    yield rp
    rp.close()


def test_an_account_from_a_link_for_a_domain_signs_in_once_its_address_there_is_confirmed(
        browser_page, browser, server, sink, plain_app):
    page = browser_page
    newcomer = f"corp-{secrets.token_hex(4)}"
    out = server.cli("signup-link", "add", "--domain", "corp.example", "--note",
                     f"for {newcomer}", "--issuer", server.issuer)
    link = re.search(r"http://\S+/signup\?token=\S+", out).group(0)

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Make your account")
    expect(page.locator("#signup-email-help")).to_contain_text("An address at corp.example")
    page.get_by_label("Username").fill(newcomer)
    page.get_by_label("Email address").fill(f"{newcomer}@example.com")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Make my account", exact=True).click()
    expect(page.get_by_role("alert")).to_have_text(
        "This link is for addresses at corp.example only.")
    # Emptied first, as a person would: Firefox's fill adds to an address field's value.
    address = page.get_by_label("Email address")
    address.clear()
    address.fill(f"{newcomer}@corp.example")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Make my account", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account is ready")
    to, message = sink.next()
    assert to == [f"{newcomer}@corp.example"], to

    # An application that asks nothing of addresses still gets nothing until it is confirmed.
    start(page, plain_app)
    fill_login(page, newcomer, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    expect(page.locator("#account-domains")).to_have_text(
        "Your account signs in to applications only with a confirmed address at corp.example.")
    assert page.url.startswith(server.issuer), page.url
    # Their account page says so too.
    account = page.context.new_page()
    account.goto(f"{server.issuer}/account")
    expect(account.locator("#address-rule")).to_have_text(
        "Your account signs in to applications only with a confirmed address at corp.example.")
    account.close()

    confirm_in_another_tab(page, server, message)

    page.get_by_role("link", name="Continue to plain-app").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {newcomer}")
    assert page.url.startswith(plain_app.base), page.url

    # Their address moved elsewhere (an administrator gave them another, confirmed): held
    # again, told to give one at the domain, with no link to mail.
    server.cli("user", "update", newcomer, "--email", f"{newcomer}@example.org",
               "--email-verified")
    to, _ = sink.next()
    assert to == [f"{newcomer}@corp.example"], "the old address is told"
    start(page, plain_app)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    expect(page.locator("main")).to_contain_text(
        "Yours is not at one of them: give one that is on your account page, then confirm it.")
    expect(page.get_by_role("button", name="Email me a confirmation link")).to_have_count(0)

    # An administrator, in a browser of their own, sees why on the person's page and lifts it.
    admin = browser.new_context().new_page()
    try:
        sign_in_as_administrator(admin, server)
        admin.goto(f"{server.issuer}/admin/users/{newcomer}")
        expect(admin.locator("#address-rule")).to_have_text(
            "signs in to applications only with a confirmed address at corp.example")
        admin.get_by_role("button", name="Let them sign in with an address anywhere").click()
        expect(admin.get_by_role("status")).to_have_text(
            "They sign in to applications with an address anywhere now.")
        expect(admin.locator("#address-rule")).to_have_count(0)
    finally:
        admin.context.close()
    # The person goes on with the same sign-in.
    page.get_by_role("link", name="Continue to plain-app").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {newcomer}")
    assert page.url.startswith(plain_app.base), page.url


def test_an_administrator_keeps_a_person_to_their_organisations_domain(browser_page, browser,
                                                                       server, sink, plain_app):
    page = browser_page
    person = server.add_user("kept")
    start(page, plain_app)
    fill_login(page, person)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {person}")

    # An administrator, in a browser of their own, keeps them to corp.example.
    admin = browser.new_context().new_page()
    try:
        sign_in_as_administrator(admin, server)
        admin.goto(f"{server.issuer}/admin/users/{person}")
        domains = admin.get_by_label("Sign in to applications only with a confirmed address at")
        domains.fill("corp.example localhost")
        admin.get_by_role("button", name="Keep to these domains").click()
        expect(admin.get_by_role("alert")).to_have_text(
            '"localhost" is not an address domain: give a domain name such as corp.example.')
        expect(domains).to_have_value("corp.example localhost")
        expect(admin.locator("#address-rule")).to_have_count(0)
        domains.fill("Corp.Example")
        admin.get_by_role("button", name="Keep to these domains").click()
        expect(admin.get_by_role("status")).to_have_text(
            "They sign in to applications only with a confirmed address at corp.example now.")
        expect(admin.locator("#address-rule")).to_have_text(
            "signs in to applications only with a confirmed address at corp.example")
        expect(domains).to_have_value("corp.example")
    finally:
        admin.context.close()

    # Their next sign-in to the application, in the same browser, asks for an address there.
    start(page, plain_app)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm your email address")
    expect(page.locator("#account-domains")).to_have_text(
        "Your account signs in to applications only with a confirmed address at corp.example.")
    expect(page.locator("main")).to_contain_text(
        "Yours is not at one of them: give one that is on your account page, then confirm it.")
    assert page.url.startswith(server.issuer), page.url

    # They give one there on their account page, in another tab, and confirm it.
    account = page.context.new_page()
    account.goto(f"{server.issuer}/account")
    address = account.get_by_label("Email address")
    address.clear()
    address.fill(f"{person}@corp.example")
    account.get_by_role("button", name="Save", exact=True).click()
    expect(account.get_by_role("status")).to_have_text("Your profile is saved.")
    account.close()
    to, _ = sink.next()
    assert to == [f"{person}@example.com"], "the old address is told"
    page.get_by_role("link", name="Continue to plain-app").click()
    page.get_by_role("button", name="Email me a confirmation link").click()
    to, message = sink.next()
    assert to == [f"{person}@corp.example"], to
    confirm_in_another_tab(page, server, message)
    page.get_by_role("link", name="Continue to plain-app").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {person}")
    assert page.url.startswith(plain_app.base), page.url


def test_a_person_whose_account_an_administrator_removes_is_told(browser_page, server, sink):
    page = browser_page
    person = server.add_user("removed")
    sign_in_as_administrator(page, server)
    page.goto(f"{server.issuer}/admin/users/{person}")
    expect(page.locator("main")).to_contain_text(
        f"{person} is told by mail at {person}@example.com. To remove an account without "
        "telling its person, disable it first.")
    page.get_by_label(f"Type {person} to confirm").fill(person)
    page.get_by_role("button", name="Remove the account").click()
    expect(page.get_by_role("status")).to_have_text(f"{person}'s account is removed.")
    text = sink.next_to(f"{person}@example.com", "Your Gatehouse account was removed")
    assert f"Hello {person}," in text, text
    assert "an administrator removed your Gatehouse account" in text, text
    assert "ask your administrator why" in text, text


def test_an_administrator_invites_a_person_who_chooses_their_password(browser_page, browser,
                                                                      server, sink):
    page = browser_page
    # One Carol in each browser the test runs in, on the one server.
    carol = f"carol-{browser.browser_type.name}"
    address = f"{carol}@example.com"
    sign_in_as_administrator(page, server)
    page.get_by_role("link", name="Administration").click()
    username = page.get_by_label("Username", exact=True)
    expect(username).to_have_accessible_description(
        "Letters and digits, and . - _ @ +: applications may see it as the person's username.")
    # A name applications could not use is refused, saying why, and what was typed stays.
    username.fill("carol/ops")
    page.get_by_label("Email address", exact=True).fill(address)
    page.get_by_label("Name", exact=True).fill("Carol Shaw")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("alert")).to_contain_text("not “/”")
    expect(page.get_by_label("Email address", exact=True)).to_have_value(address)
    page.get_by_label("Username", exact=True).fill(carol)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        f"The account is made, and an invitation is on its way to {address}.")

    to, message = sink.next()
    assert to == [address], to
    link = MailSink.link(message, f"{server.issuer}/welcome?token=")
    invited = browser.new_context().new_page()
    invited.goto(link)
    expect(invited.get_by_role("heading", level=1)).to_have_text("Choose your password")
    invited.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    invited.get_by_label("New password again").fill(NEW_PASSWORD)
    invited.get_by_role("button", name="Set the new password").click()
    expect(invited.get_by_role("heading", level=1)).to_have_text("Your account is ready")
    invited.get_by_role("link", name="Go to your account").click()
    fill_login(invited, carol, NEW_PASSWORD)
    expect(invited.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(invited.locator("#email-help")).to_contain_text("Confirmed")
    invited.context.close()


def test_a_person_invited_in_german_meets_german_pages_in_an_english_browser(browser_page,
                                                                            browser, server,
                                                                            sink):
    page = browser_page
    dora = f"dora-{browser.browser_type.name}"
    address = f"{dora}@example.com"
    sign_in_as_administrator(page, server)
    page.get_by_role("link", name="Administration").click()
    page.get_by_label("Username", exact=True).fill(dora)
    page.get_by_label("Email address", exact=True).fill(address)
    language = page.get_by_label("Language", exact=True)
    expect(language).to_have_value("")
    language.select_option(label="Deutsch")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(
        f"The account is made, and an invitation is on its way to {address}.")

    to, message = sink.next()
    assert to == [address], to
    link = MailSink.link(message, f"{server.issuer}/welcome?token=")
    invited = browser.new_context(locale="en-US").new_page()
    invited.goto(link)
    expect(invited.get_by_role("heading", level=1)).to_have_text("Passwort wählen")
    invited.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
    invited.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
    invited.get_by_role("button", name="Neues Passwort festlegen").click()
    expect(invited.get_by_role("heading", level=1)).to_have_text("Ihr Konto ist bereit")
    invited.get_by_role("link", name="Zu Ihrem Konto").click()
    # Not signed in yet in this browser: its own English, until the sign-in.
    fill_login(invited, dora, NEW_PASSWORD)
    expect(invited.get_by_role("heading", level=1)).to_have_text("Ihr Konto")
    expect(invited.get_by_label("Sprache")).to_have_value("de")
    invited.context.close()
