"""Signing in and out in WebKit, the engine of Safari: Debian's WebKitGTK, through its
WebDriver (webkit2gtk-driver, whose MiniBrowser has no headless mode, so it runs on a virtual
X display of its own, Xvfb). Playwright drives only a WebKit it built itself, which cannot be
downloaded here, so these tests use Selenium; they cover the flows every application depends
on, with the application on another origin, as the rest of the suite does in Chromium and
Firefox; and, WebKitGTK having no WebAuthn, what a browser that cannot use passkeys shows.
WebDriver gives no console here: they assert where the person ends up and what the page says.

Needs the Debian packages webkit2gtk-driver and xvfb (CI installs them); without them these
tests are skipped, unless GATEHOUSE_REQUIRE_FAULTS is set (CI), which fails them.
"""

import glob
import os
import shutil
import subprocess
import tempfile

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.common.options import ArgOptions
from selenium.webdriver.remote.client_config import ClientConfig
from selenium.webdriver.remote.remote_connection import RemoteConnection
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from conftest import chosen_browsers, failed, free_port, screenshot_path, wait_for_port
from webdriver_pages import button, heading, sign_in

DRIVER = "/usr/bin/WebKitWebDriver"
# Debian installs it under the machine's multiarch directory (x86_64-linux-gnu, aarch64-...).
MINIBROWSER = next(iter(sorted(glob.glob("/usr/lib/*/webkit2gtk-4.1/MiniBrowser"))),
                   "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser")


@pytest.fixture(scope="module")
def display():
    """A virtual X display for the module's browsers: its name, such as ":99"."""
    if "webkit" not in chosen_browsers():
        pytest.skip("BROWSERS leaves WebKit out")
    missing = [p for p in (DRIVER, MINIBROWSER) if not os.path.exists(p)]
    if shutil.which("Xvfb") is None:
        missing.append("Xvfb")
    if missing:
        if os.environ.get("GATEHOUSE_REQUIRE_FAULTS"):
            pytest.fail(f"webkit2gtk-driver and xvfb must be installed ({', '.join(missing)})")
        pytest.skip(f"webkit2gtk-driver and xvfb are not installed ({', '.join(missing)})")
    read, write = os.pipe()
    # -displayfd: Xvfb picks a free display and writes its number once it accepts clients.
    xvfb = subprocess.Popen(["Xvfb", "-displayfd", str(write), "-screen", "0", "1280x1024x24",
                             "-nolisten", "tcp"], pass_fds=(write,), stderr=subprocess.DEVNULL)
    os.close(write)
    with os.fdopen(read) as numbers:
        number = numbers.readline().strip()
    if not number:
        xvfb.kill()
        raise RuntimeError("Xvfb did not start")
    yield f":{number}"
    xvfb.terminate()
    xvfb.wait(timeout=10)


@pytest.fixture
def safari(display, request):
    """A new WebKit browser (no cookies) for one test; photographed if the test fails.

    WebKitWebDriver is started here and spoken to as any W3C WebDriver server, not through
    Selenium's WebKitGTK classes, which Selenium deprecates (and whose connection set-up warns)."""
    options = ArgOptions()
    options.set_capability("browserName", "MiniBrowser")
    options.set_capability("webkitgtk:browserOptions",
                           {"binary": MINIBROWSER, "args": ["--automation"]})
    with tempfile.TemporaryDirectory() as home:
        port = free_port()
        server = subprocess.Popen([DRIVER, "-p", str(port)],
                                  env={**os.environ, "DISPLAY": display, "HOME": home},
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_port(port, "WebKitWebDriver", process=server, seconds=15)
            connection = RemoteConnection(
                client_config=ClientConfig(remote_server_addr=f"http://127.0.0.1:{port}"))
            driver = webdriver.Remote(command_executor=connection, options=options)
            yield driver
            if failed(request):
                driver.save_screenshot(str(screenshot_path(request, "-webkit")))
            driver.quit()
        finally:
            server.terminate()
            server.wait(timeout=10)


def test_sign_in_to_a_first_party_app_goes_straight_back_to_it(safari, first_party, user,
                                                                gatehouse):
    safari.get(f"{first_party.base}/login")
    assert safari.current_url.startswith(gatehouse.issuer + "/authorize"), safari.current_url
    sign_in(safari, user, "not the password")
    WebDriverWait(safari, 10).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, "[role=alert]"),
                                                          "Wrong username or password."))
    sign_in(safari, user)
    # The redirect that follows the form's POST crosses to the app's origin (CSP form-action).
    heading(safari, f"Signed in as {user}")
    assert safari.current_url.startswith(first_party.base + "/callback"), safari.current_url


def test_a_third_party_app_needs_consent_and_gets_it(safari, third_party, user):
    safari.get(f"{third_party.base}/login")
    sign_in(safari, user)
    heading(safari, "Allow access?")
    assert "photo-printer" in safari.find_element(By.TAG_NAME, "main").text
    button(safari, "Allow").click()
    heading(safari, f"Signed in as {user}")
    assert safari.current_url.startswith(third_party.base + "/callback"), safari.current_url


def test_signing_out_asks_first_then_returns_to_the_app(safari, first_party, user):
    safari.get(f"{first_party.base}/login")
    sign_in(safari, user)
    heading(safari, f"Signed in as {user}")
    safari.get(f"{first_party.base}/logout?hint=0")
    heading(safari, "Sign out?")
    button(safari, "Sign out").click()
    heading(safari, "You have signed out of the app")
    # The session at gatehouse is over: signing in again asks for the password.
    safari.get(f"{first_party.base}/login")
    heading(safari, "Sign in")


def test_without_passkeys_in_webkitgtk_a_passkey_step_says_why(safari, on_localhost, vault):
    user = on_localhost.add_user()
    safari.get(f"{vault.base}/login")
    sign_in(safari, user)
    heading(safari, "Add a passkey")
    # WebKitGTK has no WebAuthn, even on a secure page: a real browser that cannot make one.
    assert safari.execute_script("return [typeof PublicKeyCredential, isSecureContext]") \
        == ["undefined", True]
    why = safari.find_element(By.ID, "passkey-unsupported")
    WebDriverWait(safari, 10).until(lambda _: why.is_displayed())
    assert why.text.startswith("This browser cannot add passkeys"), why.text
    assert not safari.find_element(By.ID, "enrol-passkey").is_displayed()
