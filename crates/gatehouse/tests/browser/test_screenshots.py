"""The main pages as people and administrators see them, on a desktop and on a phone: each is opened, checked for
its heading and with axe-core (as `test_accessibility.py` does), and photographed. The pictures go to target/browser-screenshots/pages, or to the
directory GATEHOUSE_SCREENSHOTS names (docs/screenshots refreshes the committed ones:
`GATEHOUSE_SCREENSHOTS=docs/screenshots scripts/browser-tests -k screenshots`)."""

import os
import pathlib
import tempfile

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD, ROOT, Gatehouse, accessibility_problems, free_port
from mail_sink import MailSink
from relying_party import RelyingParty
from test_sign_in import fill_login, start

SIZES = {"desktop": {"width": 1280, "height": 860}, "phone": {"width": 390, "height": 844}}
# One person per size, each meeting the consent page for the first time.
PEOPLE = {"desktop": ("ada", "Ada Lovelace"), "phone": ("grace", "Grace Hopper")}


@pytest.fixture(scope="module")
def shots():
    directory = pathlib.Path(os.environ.get("GATEHOUSE_SCREENSHOTS")
                             or ROOT / "target" / "browser-screenshots" / "pages")
    if not directory.is_absolute():
        directory = ROOT / directory
    directory.mkdir(parents=True, exist_ok=True)
    return directory


@pytest.fixture(scope="module")
def server():
    sink = MailSink()
    with tempfile.TemporaryDirectory() as directory:
        # Named by a domain name, as a deployment is: the pages offer passkeys (an IP address
        # cannot be a passkey's relying party).
        port = free_port()
        server = Gatehouse(directory, "--listen", f"127.0.0.1:{port}",
                           "--issuer", f"http://localhost:{port}",
                           "--smtp-url", sink.url,
                           "--mail-from", "Gatehouse <id@example.com>")
        for username, name in PEOPLE.values():
            server.cli("user", "add", "--username", username, "--email",
                       f"{username}@example.com", "--name", name, stdin=PASSWORD + "\n")
        server.cli("group", "add", "admins")
        for username, _ in PEOPLE.values():
            server.cli("group", "add-member", "admins", username)
        rp = RelyingParty("Photo printer")
        # With a home page, it is among the applications the account page lists.
        server.add_client(rp, "photo-printer", first_party=False,
                          extra=("--home-uri", f"{rp.base}/"))
        server.cli("client", "logo", "photo-printer", "--image",
                   str(ROOT / "crates" / "gatehouse" / "tests" / "common" / "logo.png"))
        server.rp = rp
        yield server
        server.stop()
        rp.close()
    sink.stop()


@pytest.mark.browsers("chromium")
@pytest.mark.parametrize("size", SIZES)
def test_the_main_pages(browser, server, shots, size):
    context = browser.new_context(viewport=SIZES[size])
    page = context.new_page()

    def shoot(name, heading):
        expect(page.get_by_role("heading", level=1)).to_have_text(heading)
        assert accessibility_problems(page) == [], f"on the page “{heading}”"
        page.screenshot(path=str(shots / f"{name}-{size}.png"), full_page=True)

    start(page, server.rp)
    shoot("sign-in", "Sign in")
    fill_login(page, PEOPLE[size][0])
    shoot("consent", "Allow access?")
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("body")).to_contain_text("Signed in as")

    page.goto(f"{server.issuer}/account")
    expect(page.get_by_role("list", name="Your applications")).to_contain_text("photo-printer")
    shoot("account", "Your account")
    page.get_by_role("link", name="Administration").click()
    shoot("admin-people", "People")
    page.goto(f"{server.issuer}/admin/clients/photo-printer")
    shoot("admin-application", "photo-printer")
    page.goto(f"{server.issuer}/reset")
    shoot("reset", "Reset your password")

    # A sign-up link for the photo club, as its administrator lists it and its people open it.
    link = server.cli("signup-link", "add", "--uses", "12", "--days", "14", "--note",
                      f"Photo club, {size}", "--issuer", server.issuer).strip()
    page.goto(f"{server.issuer}/admin/signup-links")
    shoot("admin-signup-links", "Sign-up links")
    page.context.clear_cookies()
    page.goto(link)
    shoot("sign-up", "Make your account")
    context.close()
