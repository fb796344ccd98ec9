"""Passkeys in Chromium, with the DevTools protocol's virtual authenticator (a platform
authenticator that keeps discoverable credentials and verifies the person): a person adds a
passkey on their account page, signs out, signs in with it and no password, and removes it;
a cloned authenticator (its signature counter gone backwards) is refused and audited.
Playwright offers no virtual authenticator in Firefox, so the tests that need one run in
Chromium only here; Firefox's are `test_firefox_passkeys.py`, through WebDriver's. A browser that
cannot use passkeys (no WebAuthn, or no JavaScript) is told so where a passkey is the way on.

WebAuthn needs a domain name as the relying party, so these tests use a server whose issuer is
http://localhost:PORT (`on_localhost`; browsers treat localhost as a secure context)."""

import tempfile

import pytest
from playwright.sync_api import expect

from conftest import Gatehouse, Watched, free_port, screenshot_path
from mail_sink import MailSink
from relying_party import RelyingParty
from test_console import sign_in_as_administrator
from test_sign_in import fill_login, session_cookie_days

NEW_PASSWORD = "plum orbit lantern vivid kettle"


def attach_authenticator(page):
    """A virtual platform authenticator attached to `page`'s browser: the DevTools session
    and the authenticator's id."""
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True}})
    return cdp, added["authenticatorId"]


@pytest.fixture
def authenticator(browser_page):
    """A virtual platform authenticator attached to the page's browser."""
    return attach_authenticator(browser_page)


def sign_in_with_password(page, server, user):
    page.goto(f"{server.issuer}/account")
    fill_login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def add_passkey(page, name):
    page.get_by_label("Name of the new passkey").fill(name)
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("status")).to_contain_text(f"The passkey “{name}” is added")


def sign_in_with_passkey(page, server):
    page.context.clear_cookies()
    page.goto(f"{server.issuer}/account")
    expect(page).to_have_title("Sign in · Gatehouse")
    page.get_by_role("button", name="Sign in with a passkey").click()


@pytest.mark.browsers("chromium")
def test_a_person_adds_a_passkey_signs_in_with_it_alone_and_removes_it(browser_page,
                                                                      on_localhost,
                                                                      authenticator):
    page, server = browser_page, on_localhost
    cdp, authenticator_id = authenticator
    user = server.add_user()
    sign_in_with_password(page, server, user)
    expect(page.locator("main")).to_contain_text("A passkey signs you in")
    add_passkey(page, "Laptop")
    expect(page.get_by_role("table", name="Your passkeys")).to_contain_text("Laptop")
    stored = cdp.send("WebAuthn.getCredentials", {"authenticatorId": authenticator_id})
    assert [c["isResidentCredential"] for c in stored["credentials"]] == [True]

    # Signed out: the passkey alone signs in, no username, no password.
    sign_in_with_passkey(page, server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("main")).to_contain_text(f"Signed in as {user}")
    expect(page.get_by_role("table", name="Your passkeys")).to_contain_text("last used")
    log = server.cli("audit", "tail", "-n", "20")
    assert "account.passkey_added" in log, log
    assert any("login.succeeded" in line and "amr=hwk" in line and user in line
               for line in log.splitlines()), log

    # Removed: it signs in no more.
    page.get_by_role("button", name="Remove Laptop").click()
    expect(page.get_by_role("status")).to_contain_text("The passkey is removed")
    sign_in_with_passkey(page, server)
    expect(page.get_by_role("alert")).to_contain_text("That passkey is not registered here")
    expect(page).to_have_title("Sign in · Gatehouse")
    assert "account.passkey_removed" in server.cli("audit", "tail", "-n", "20")


@pytest.mark.browsers("chromium")
def test_keep_me_signed_in_goes_with_a_passkey(browser_page, on_localhost, authenticator):
    """The box ticked on the login form keeps a passkey's sign-in as it keeps a password's."""
    page, server = browser_page, on_localhost
    user = server.add_user()
    sign_in_with_password(page, server, user)
    add_passkey(page, "Laptop")
    page.context.clear_cookies()
    page.goto(f"{server.issuer}/account")
    page.get_by_label("Keep me signed in on this device").check()
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    assert 29.9 < session_cookie_days(page) < 30.01, session_cookie_days(page)
    log = server.cli("audit", "tail", "-n", "5")
    assert any("login.succeeded" in line and "amr=hwk kept" in line and user in line
               for line in log.splitlines()), log
    # Unticked: as sessions are.
    sign_in_with_passkey(page, server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    assert session_cookie_days(page) < 0.51, session_cookie_days(page)


@pytest.mark.browsers("chromium")
def test_a_cloned_authenticator_is_refused_and_audited(browser_page, on_localhost,
                                                       authenticator):
    page, server = browser_page, on_localhost
    cdp, authenticator_id = authenticator
    user = server.add_user()
    sign_in_with_password(page, server, user)
    add_passkey(page, "Security key")
    sign_in_with_passkey(page, server)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

    # A copy of the key made before that sign-in: its counter is behind the one gatehouse saw.
    credential = cdp.send("WebAuthn.getCredentials",
                          {"authenticatorId": authenticator_id})["credentials"][0]
    assert credential["signCount"] >= 1, credential
    cdp.send("WebAuthn.removeCredential", {"authenticatorId": authenticator_id,
                                           "credentialId": credential["credentialId"]})
    cdp.send("WebAuthn.addCredential", {"authenticatorId": authenticator_id,
                                        "credential": {**credential, "signCount": 0}})
    sign_in_with_passkey(page, server)
    expect(page.get_by_role("alert")).to_contain_text("That passkey could not be verified")
    expect(page).to_have_title("Sign in · Gatehouse")
    assert "login.passkey_refused" in server.cli("audit", "tail", "-n", "20")


def test_without_webauthn_the_login_page_offers_no_passkey(browser_page, on_localhost):
    page, server = browser_page, on_localhost
    page.add_init_script("delete window.PublicKeyCredential")
    page.goto(f"{server.issuer}/account")
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()


@pytest.mark.browsers("chromium")
def test_after_a_password_a_passkey_is_the_second_step_and_an_admin_reset_removes_it(
        browser_page, on_localhost, authenticator):
    page, server = browser_page, on_localhost
    user = server.add_user()
    sign_in_with_password(page, server, user)
    add_passkey(page, "Phone")
    out = server.cli("user", "factors", user)
    assert 'passkey: "Phone" added' in out, out

    # Signing in with the password: the passkey is asked for after it.
    page.context.clear_cookies()
    page.goto(f"{server.issuer}/account")
    fill_login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    expect(page.get_by_label("Code from your authenticator app")).to_have_count(0)
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")

    # A lost phone: the administrator's reset takes the passkey too.
    out = server.cli("user", "reset-factors", user)
    assert out.strip() == f"{user}: no authenticator app, 0 recovery codes and 1 passkeys removed", out
    sign_in_with_passkey(page, server)
    expect(page.get_by_role("alert")).to_contain_text("That passkey is not registered here")


@pytest.mark.browsers("chromium")
def test_an_app_that_requires_a_passkey_has_the_person_add_one_then_use_it(
        browser_page, on_localhost, authenticator, vault):
    page, server = browser_page, on_localhost
    user = server.add_user()
    page.goto(f"{vault.base}/login")
    fill_login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Add a passkey")
    expect(page.locator("main")).to_contain_text("vault asks you to sign in with a passkey")
    page.get_by_label("Name of the new passkey").fill("Laptop")
    page.get_by_role("button", name="Add a passkey").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#acr")).to_have_text("passkey")
    expect(page.locator("#amr")).to_have_text("pwd hwk user mfa")

    # Next time, after the password: the passkey, and nothing else will do.
    page.context.clear_cookies()
    page.goto(f"{vault.base}/login")
    fill_login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Use your passkey")
    page.get_by_role("button", name="Use a passkey").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#acr")).to_have_text("passkey")
    expect(page.locator("#amr")).to_have_text("hwk user mfa")


@pytest.mark.browsers("chromium")
def test_a_person_does_without_a_password_then_signs_in_to_an_application_with_a_passkey(
        browser_page, on_localhost, authenticator, vault):
    page, server = browser_page, on_localhost
    user = server.add_user()
    sign_in_with_password(page, server, user)
    expect(page.get_by_role("button", name="Remove my password")).to_have_count(0)
    add_passkey(page, "Laptop")
    page.get_by_role("button", name="Remove my password").click()
    expect(page.get_by_role("status")).to_contain_text(
        "Your password is removed: you sign in with a passkey.")
    expect(page.locator("main")).to_contain_text("Your account has no password")
    # Her one way in stays: the page offers no button to remove it.
    expect(page.get_by_role("button", name="Remove Laptop")).to_have_count(0)
    assert "password: none (signs in with a passkey)" in server.cli("user", "factors", user)
    assert "account.password_removed" in server.cli("audit", "tail", "-n", "5")

    # At an application on another origin: the old password is wrong, the passkey signs in.
    page.context.clear_cookies()
    page.goto(f"{vault.base}/login")
    fill_login(page, user)
    expect(page.get_by_role("alert")).to_contain_text("Wrong username or password")
    page.get_by_role("button", name="Sign in with a passkey").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#amr")).to_have_text("hwk user mfa")

    # A password again, chosen without a current one, after which the passkey may go.
    page.goto(f"{server.issuer}/account")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Set a password").click()
    expect(page.get_by_role("status")).to_contain_text("Your password is changed")
    page.get_by_role("button", name="Remove Laptop").click()
    expect(page.get_by_role("status")).to_contain_text("The passkey is removed")
    page.context.clear_cookies()
    page.goto(f"{server.issuer}/account")
    fill_login(page, user, NEW_PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


@pytest.fixture(scope="module")
def inviting():
    """A server on localhost (for passkeys) that mails its invitations, and its mailbox."""
    sink = MailSink()
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        server = Gatehouse(directory, "--listen", f"127.0.0.1:{port}",
                           "--issuer", f"http://localhost:{port}", "--smtp-url", sink.url,
                           "--mail-from", "Gatehouse <id@example.com>")
        yield server, sink
        server.stop()
    sink.stop()


@pytest.mark.browsers("chromium")
def test_an_invited_person_takes_a_passkey_instead_of_a_password(browser_page, browser,
                                                                  inviting):
    page, (server, sink) = browser_page, inviting
    sign_in_as_administrator(page, server)
    page.goto(f"{server.issuer}/admin")
    page.get_by_label("Username", exact=True).fill("dora")
    page.get_by_label("Email address", exact=True).fill("dora@example.com")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_contain_text("an invitation is on its way")
    to, message = sink.next()
    assert to == ["dora@example.com"], to
    link = MailSink.link(message, f"{server.issuer}/welcome?token=")

    # Dora, in a browser of her own with an authenticator, chooses a passkey, no password.
    invited = browser.new_context().new_page()
    attach_authenticator(invited)
    invited.goto(link)
    expect(invited.get_by_role("heading", level=1)).to_have_text("Choose your password")
    expect(invited.get_by_role("heading", level=2)).to_have_text("Or use a passkey instead")
    invited.get_by_label("Name of the new passkey").fill("Laptop")
    invited.get_by_role("button", name="Add a passkey").click()
    expect(invited.get_by_role("heading", level=1)).to_have_text("Your account is ready")
    expect(invited.get_by_role("status")).to_contain_text("Sign in with your passkey")

    # It signs her in alone; her account has no password, and her address is confirmed.
    invited.get_by_role("link", name="Go to your account").click()
    invited.get_by_role("button", name="Sign in with a passkey").click()
    expect(invited.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(invited.locator("main")).to_contain_text("Signed in as dora")
    expect(invited.locator("main")).to_contain_text("Your account has no password")
    expect(invited.locator("#email-help")).to_contain_text("Confirmed")
    # The link was taken: opened again, it says so and offers no second passkey.
    invited.goto(link)
    expect(invited.get_by_role("heading", level=1)).to_have_text("This link does not work")
    expect(invited.get_by_role("button", name="Add a passkey")).to_have_count(0)
    invited.context.close()
    assert "password: none (signs in with a passkey)" in server.cli("user", "factors", "dora")


def mail_about(sink, to, subject):
    """The next message to `to` with `subject`, passing over others (notices of earlier
    steps)."""
    while True:
        recipients, message = sink.next()
        if recipients == [to] and message["Subject"] == subject:
            return message


@pytest.mark.browsers("chromium")
def test_a_person_who_lost_their_passkey_adds_another_by_an_administrators_link(
        browser_page, browser, inviting):
    """A passkey is Erin's second step; she loses the device, so her password alone no longer
    signs her in. An administrator mails her a link: on a new device she adds a passkey, which
    signs her in to an application on another origin; the lost device's session is over, and
    her mailbox is told."""
    page, (server, sink) = browser_page, inviting
    erin = server.add_user("erin")
    lost = browser.new_context().new_page()
    attach_authenticator(lost)
    sign_in_with_password(lost, server, erin)
    add_passkey(lost, "Old phone")
    mail_about(sink, f"{erin}@example.com", "A passkey was added to your Gatehouse account")

    # On another device, the password is not enough.
    device = browser.new_context().new_page()
    attach_authenticator(device)
    device.goto(f"{server.issuer}/account")
    fill_login(device, erin)
    expect(device.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    expect(device.locator("main")).to_contain_text(
        "Lost the device your passkey is on? Your administrator can send you a link")
    device.get_by_role("button", name="Use a passkey").click()
    expect(device.get_by_role("alert")).to_contain_text("No passkey was used")

    sign_in_as_administrator(page, server)
    page.goto(f"{server.issuer}/admin/users/{erin}")
    page.get_by_role("button", name="Send a link to add a passkey").click()
    expect(page.get_by_role("status")).to_have_text(
        f"A link to add a passkey is on its way to {erin}@example.com.")
    message = mail_about(sink, f"{erin}@example.com", "Add a passkey to your Gatehouse account")
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert "within 24 hours" in text, text
    link = MailSink.link(message, f"{server.issuer}/new-passkey?token=")

    device.goto(link)
    expect(device.get_by_role("heading", level=1)).to_have_text("Add a passkey")
    expect(device.locator("main")).to_contain_text(f"sign in as {erin} again")
    expect(device.get_by_label("New password", exact=True)).to_have_count(0)
    device.get_by_label("Name of the new passkey").fill("New phone")
    device.get_by_role("button", name="Add a passkey").click()
    expect(device.get_by_role("heading", level=1)).to_have_text("Your passkey is added")
    expect(device.get_by_role("status")).to_contain_text("Every session you had is signed out")
    told = mail_about(sink, f"{erin}@example.com",
                      "A passkey was added to your Gatehouse account")
    text = told.get_body(preferencelist=("plain",)).get_content()
    assert "whoever holds it can sign in as you" in text, text

    # The new passkey signs her in at an application on another origin.
    atlas = RelyingParty("Atlas")
    try:
        server.add_client(atlas, "atlas", first_party=True)
        device.goto(f"{atlas.base}/login")
        device.get_by_role("button", name="Sign in with a passkey").click()
        expect(device.get_by_role("heading")).to_have_text(f"Signed in as {erin}")
        expect(device.locator("#amr")).to_have_text("hwk user mfa")
    finally:
        atlas.close()
    # The lost device is signed out; the link worked once.
    lost.goto(f"{server.issuer}/account")
    expect(lost).to_have_title("Sign in · Gatehouse")
    device.goto(link)
    expect(device.get_by_role("heading", level=1)).to_have_text("This link does not work")
    expect(device.locator("main")).to_contain_text("Ask your administrator for a new one")
    out = server.cli("user", "factors", erin)
    assert '"Old phone"' in out and '"New phone"' in out, out
    assert "admin.user.passkey_link_made" in server.cli("audit", "tail", "-n", "20")
    lost.context.close()
    device.context.close()


def cannot(page, words):
    """The one visible statement that this browser cannot use passkeys (a browser without
    JavaScript reads it from `noscript`, one without WebAuthn has the script show it)."""
    # The shown paragraphs, then their text: `get_by_text` finds nothing inside `noscript`.
    shown = page.locator("p").filter(visible=True)
    expect(shown.filter(has_text=words)).to_have_count(1)


def cannot_add_passkeys(browser, server, vault, request, javascript=True):
    """Signs in where a passkey is to be added, in a profile without WebAuthn (or without
    JavaScript), and checks that each such page says this browser cannot add one."""
    context = browser.new_context(java_script_enabled=javascript)
    page = context.new_page()
    watched = Watched(page)
    page.add_init_script("delete window.PublicKeyCredential")
    user = server.add_user()
    try:
        # An application that requires a passkey, and an account with none.
        page.goto(f"{vault.base}/login")
        fill_login(page, user)
        expect(page.get_by_role("heading", level=1)).to_have_text("Add a passkey")
        cannot(page, "This browser cannot add passkeys")
        expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()

        # The account page offers no passkey to add, and says why.
        page.goto(f"{server.issuer}/account")
        fill_login(page, user)
        expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
        cannot(page, "This browser cannot add passkeys")
        expect(page.get_by_role("button", name="Add a passkey")).to_be_hidden()
    except Exception:
        page.screenshot(path=str(screenshot_path(request)), full_page=True)
        raise
    finally:
        context.close()
    assert watched.problems() == [], "the browser reported problems on the pages"


def test_a_browser_without_webauthn_says_it_cannot_add_a_passkey(browser, on_localhost, vault,
                                                                 request):
    cannot_add_passkeys(browser, on_localhost, vault, request)


# Playwright cannot turn JavaScript off in Firefox over WebDriver BiDi (the option is ignored).
@pytest.mark.browsers("chromium")
def test_a_browser_without_javascript_says_it_cannot_add_a_passkey(browser, on_localhost, vault,
                                                                   request):
    cannot_add_passkeys(browser, on_localhost, vault, request, javascript=False)


@pytest.mark.browsers("chromium")
def test_a_passkey_as_the_only_second_step_in_a_browser_without_passkeys_says_why(
        browser_page, browser, on_localhost, authenticator):
    page, server = browser_page, on_localhost
    user = server.add_user()
    sign_in_with_password(page, server, user)
    add_passkey(page, "Phone")

    # The same person on a browser without WebAuthn: the password, then a step it cannot take.
    elsewhere = browser.new_context()
    other = elsewhere.new_page()
    other.add_init_script("delete window.PublicKeyCredential")
    other.goto(f"{server.issuer}/account")
    expect(other.get_by_role("button", name="Sign in with a passkey")).to_be_hidden()
    fill_login(other, user)
    expect(other.get_by_role("heading", level=1)).to_have_text("Two-step verification")
    cannot(other, "This browser cannot use passkeys")
    expect(other.get_by_role("button", name="Use a passkey")).to_be_hidden()
    elsewhere.close()

    # Where WebAuthn works the same step offers the passkey and no such words.
    page.context.clear_cookies()
    page.goto(f"{server.issuer}/account")
    fill_login(page, user)
    expect(page.get_by_role("button", name="Use a passkey")).to_be_visible()
    expect(page.get_by_text("This browser cannot use passkeys").filter(visible=True)) \
        .to_have_count(0)
