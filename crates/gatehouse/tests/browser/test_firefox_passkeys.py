"""Passkeys in Firefox, with the virtual authenticator of WebAuthn's WebDriver extension (a
platform authenticator that keeps discoverable credentials and verifies the person), as
`test_passkeys.py` does in Chromium with the DevTools protocol's. Playwright offers no
virtual authenticator in Firefox, so these tests drive Debian's Firefox ESR through
geckodriver with Selenium; WebDriver BiDi reports the pages' console errors and script
errors (a CSP violation is one), which fail the test as in the rest of the suite.

geckodriver is GECKODRIVER, or one on PATH, or target/geckodriver/bin/geckodriver
(`scripts/browser-tests` builds it there from crates.io). Without it these tests are skipped,
unless GATEHOUSE_REQUIRE_FAULTS is set (CI), which fails them.
"""

import os
import re
import secrets
import shutil
import urllib.parse

import pytest
from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.firefox.service import Service
from selenium.webdriver.remote.command import Command
from selenium.webdriver.support.wait import WebDriverWait
from websocket import WebSocketException

from conftest import ROOT, chosen_browsers, failed, screenshot_path
from webdriver_pages import button, heading, labelled, sign_in


def geckodriver():
    return (os.environ.get("GECKODRIVER") or shutil.which("geckodriver")
            or str(ROOT / "target" / "geckodriver" / "bin" / "geckodriver"))


def watched_firefox(options, driver_path, problems, attempts=3):
    """Starts Firefox and subscribes to its console and script errors over WebDriver BiDi.

    Now and then a new Firefox resets the BiDi WebSocket before the first subscription is
    sent (`Connection reset by peer`, then "Connection is already closed"): no page has been
    opened yet, so nothing the test looks at is lost by starting that browser once more."""
    for attempt in range(1, attempts + 1):
        driver = webdriver.Firefox(options=options, service=Service(driver_path))
        try:
            driver.script.add_console_message_handler(
                lambda m: problems.append(f"console {m.level}: {m.text}")
                if m.level == "error" else None)
            driver.script.add_javascript_error_handler(
                lambda e: problems.append(f"error: {e.text}"))
            return driver
        except WebSocketException:
            driver.quit()
            if attempt == attempts:
                raise


@pytest.fixture
def firefox(request):
    """A new Firefox profile for one test, its console watched; photographed if it fails."""
    if "firefox" not in chosen_browsers():
        pytest.skip("BROWSERS leaves Firefox out")
    driver_path = geckodriver()
    if not os.path.exists(driver_path):
        message = f"geckodriver is needed for Firefox's passkeys ({driver_path} does not exist)"
        if os.environ.get("GATEHOUSE_REQUIRE_FAULTS"):
            pytest.fail(message)
        pytest.skip(message)
    options = webdriver.FirefoxOptions()
    options.binary_location = os.environ.get("FIREFOX", "/usr/bin/firefox-esr")
    options.add_argument("-headless")
    # Firefox sends WebAuthn requests to WebDriver's virtual authenticators only with its
    # test token on, and to no USB key.
    options.set_preference("security.webauth.webauthn_enable_softtoken", True)
    options.set_preference("security.webauth.webauthn_enable_usbtoken", False)
    options.enable_bidi = True
    problems = []
    driver = watched_firefox(options, driver_path, problems)
    yield driver
    if failed(request):
        driver.save_screenshot(str(screenshot_path(request, "-firefox-webdriver")))
    driver.quit()
    assert problems == [], "the browser reported problems on the pages"


class Authenticator:
    """A virtual authenticator, through the WebAuthn specification's WebDriver commands
    (Selenium's helpers for them refuse any browser but Chromium; geckodriver has them)."""

    def __init__(self, driver):
        self.driver = driver
        self.id = driver.execute(Command.ADD_VIRTUAL_AUTHENTICATOR, {
            "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
            "hasUserVerification": True, "isUserConsenting": True,
            "isUserVerified": True})["value"]

    def credentials(self):
        return self.driver.execute(Command.GET_CREDENTIALS, {"authenticatorId": self.id})["value"]

    def remove(self, credential_id):
        self.driver.execute(Command.REMOVE_CREDENTIAL,
                            {"authenticatorId": self.id, "credentialId": credential_id})

    def add(self, credential):
        self.driver.execute(Command.ADD_CREDENTIAL, {"authenticatorId": self.id, **credential})


@pytest.fixture
def authenticator(firefox):
    return Authenticator(firefox)


def shown(driver, selector, text):
    """Waits until an element `selector` is shown and says `text`; returns what it says."""
    def says(d):
        for element in d.find_elements(By.CSS_SELECTOR, selector):
            if element.is_displayed() and text in element.text:
                return element.text
        return False
    return WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,)) \
        .until(says, f"no {selector} saying {text!r} on {driver.current_url}")


def sign_in_with_password(driver, server, user):
    driver.get(f"{server.issuer}/account")
    sign_in(driver, user)
    heading(driver, "Your account")


def add_passkey(driver, name):
    labelled(driver, "Name of the new passkey").send_keys(name)
    button(driver, "Add a passkey").click()
    shown(driver, "[role=status]", f"The passkey “{name}” is added")


def sign_in_with_passkey(driver, server):
    driver.delete_all_cookies()
    driver.get(f"{server.issuer}/account")
    heading(driver, "Sign in")
    button(driver, "Sign in with a passkey").click()


def refused(driver, why):
    """The passkey signed nobody in: the login page again, saying `why`."""
    shown(driver, "[role=alert]", why)
    assert driver.title == "Sign in · Gatehouse"


def audit(server):
    return server.cli("audit", "tail", "-n", "20")


def test_a_person_adds_a_passkey_signs_in_with_it_alone_and_removes_it(firefox, authenticator,
                                                                      on_localhost):
    driver, server = firefox, on_localhost
    user = server.add_user()
    sign_in_with_password(driver, server, user)
    add_passkey(driver, "Laptop")
    shown(driver, "table[aria-label='Your passkeys']", "Laptop")
    assert [c["isResidentCredential"] for c in authenticator.credentials()] == [True]

    # Signed out: the passkey alone signs in, no username, no password.
    sign_in_with_passkey(driver, server)
    heading(driver, "Your account")
    shown(driver, "main", f"Signed in as {user}")
    shown(driver, "table[aria-label='Your passkeys']", "last used")
    log = audit(server)
    assert any("login.succeeded" in line and "amr=hwk" in line and user in line
               for line in log.splitlines()), log

    # Removed: it signs in no more.
    driver.find_element(By.CSS_SELECTOR, "button[aria-label='Remove Laptop']").click()
    shown(driver, "[role=status]", "The passkey is removed")
    sign_in_with_passkey(driver, server)
    refused(driver, "That passkey is not registered here")
    assert "account.passkey_removed" in audit(server)


def test_a_cloned_authenticator_is_refused_and_audited(firefox, authenticator, on_localhost):
    driver, server = firefox, on_localhost
    user = server.add_user()
    sign_in_with_password(driver, server, user)
    add_passkey(driver, "Security key")
    # Firefox's virtual authenticator signs with its counter before counting the signature
    # (0, then 1), and 0 means "this authenticator keeps no counter": gatehouse sees a counter
    # from the second sign-in on.
    for _ in range(2):
        sign_in_with_passkey(driver, server)
        heading(driver, "Your account")

    # A copy of the key made before those sign-ins: its counter is behind the one gatehouse saw.
    [credential] = authenticator.credentials()
    assert credential["signCount"] >= 1, credential
    authenticator.remove(credential["credentialId"])
    authenticator.add({**credential, "signCount": 0})
    sign_in_with_passkey(driver, server)
    refused(driver, "That passkey could not be verified")
    assert "login.passkey_refused" in audit(server)


def test_a_person_does_without_a_password_and_signs_in_with_the_passkey(firefox, authenticator,
                                                                         on_localhost):
    driver, server = firefox, on_localhost
    user = server.add_user()
    sign_in_with_password(driver, server, user)
    add_passkey(driver, "Laptop")
    button(driver, "Remove my password").click()
    shown(driver, "[role=status]", "Your password is removed: you sign in with a passkey.")
    shown(driver, "main", "Your account has no password")
    assert driver.find_elements(By.CSS_SELECTOR, "button[aria-label='Remove Laptop']") == []

    # The old password is wrong now; the passkey signs in alone.
    driver.delete_all_cookies()
    driver.get(f"{server.issuer}/account")
    sign_in(driver, user)
    shown(driver, "[role=alert]", "Wrong username or password")
    button(driver, "Sign in with a passkey").click()
    heading(driver, "Your account")
    shown(driver, "main", f"Signed in as {user}")
    assert "account.password_removed" in audit(server)


def test_after_a_password_a_passkey_is_the_second_step(firefox, authenticator, on_localhost):
    driver, server = firefox, on_localhost
    user = server.add_user()
    sign_in_with_password(driver, server, user)
    add_passkey(driver, "Phone")

    driver.delete_all_cookies()
    driver.get(f"{server.issuer}/account")
    sign_in(driver, user)
    heading(driver, "Two-step verification")
    assert driver.find_elements(By.ID, "code") == []
    button(driver, "Use a passkey").click()
    heading(driver, "Your account")


def test_an_app_that_requires_a_passkey_has_the_person_add_one_then_use_it(
        firefox, authenticator, on_localhost, vault):
    driver, server = firefox, on_localhost
    user = server.add_user()
    driver.get(f"{vault.base}/login")
    sign_in(driver, user)
    heading(driver, "Add a passkey")
    shown(driver, "main", "vault asks you to sign in with a passkey")
    labelled(driver, "Name of the new passkey").send_keys("Laptop")
    button(driver, "Add a passkey").click()
    heading(driver, f"Signed in as {user}")
    assert urllib.parse.urlsplit(driver.current_url).path == "/callback", driver.current_url
    assert driver.find_element(By.ID, "acr").text == "passkey"
    assert driver.find_element(By.ID, "amr").text == "pwd hwk user mfa"

    # Next time, after the password: the passkey, and nothing else will do.
    # Cookies are kept by host, not port: the application's and gatehouse's alike.
    driver.delete_all_cookies()
    driver.get(f"{vault.base}/login")
    sign_in(driver, user)
    heading(driver, "Use your passkey")
    button(driver, "Use a passkey").click()
    heading(driver, f"Signed in as {user}")
    assert driver.find_element(By.ID, "acr").text == "passkey"
    assert driver.find_element(By.ID, "amr").text == "hwk user mfa"


def test_a_person_makes_their_account_with_a_passkey_from_a_signup_link(firefox, authenticator,
                                                                         on_localhost, vault):
    driver, server = firefox, on_localhost
    newcomer = f"fox-{secrets.token_hex(4)}"
    out = server.cli("signup-link", "add", "--uses", "1", "--issuer", server.issuer)
    link = re.search(r"http://\S+/signup\?token=\S+", out).group(0)
    driver.get(link)
    heading(driver, "Make your account")
    labelled(driver, "Username").send_keys(newcomer)
    labelled(driver, "Email address").send_keys(f"{newcomer}@example.com")
    labelled(driver, "Name of the new passkey").send_keys("Laptop")
    button(driver, "Make my account with a passkey").click()
    heading(driver, "Your account is ready")
    shown(driver, "[role=status]", "Sign in with your passkey")
    [credential] = authenticator.credentials()
    assert credential["isResidentCredential"], credential
    assert "password: none (signs in with a passkey)" in server.cli("user", "factors", newcomer)

    # At an application on another origin that asks for a passkey: it alone signs in.
    driver.get(f"{vault.base}/login")
    heading(driver, "Sign in")
    button(driver, "Sign in with a passkey").click()
    heading(driver, f"Signed in as {newcomer}")
    assert driver.find_element(By.ID, "amr").text == "hwk user mfa"
