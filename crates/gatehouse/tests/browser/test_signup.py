"""Sign-up links in a browser: an administrator makes one on the administration pages for one
person and a group; the person it is given to opens it in a browser of their own, makes their
account, and signs in with it at an application on another origin that only the group may use;
the link then says it does not work, and the administrator sees it used up. Where passkeys
work, a person makes their account with a passkey in place of a password (Chromium, with the
DevTools protocol's virtual authenticator) and signs in with it alone at an application on
another origin that asks for one."""

import re
import secrets

import pytest
from playwright.sync_api import expect

from relying_party import RelyingParty
from test_console import sign_in_as_administrator
from test_passkeys import attach_authenticator
from test_sign_in import fill_login, start

NEW_PASSWORD = "plum orbit lantern vivid kettle"


def test_a_person_makes_their_own_account_with_an_administrators_signup_link(
        browser_page, browser, gatehouse, user):
    page = browser_page
    # The server is shared by every browser's run: names of this run's own.
    crew, client_id, newcomer = f"crew-{user}", f"crew-board-{user}", f"new-{user}"
    board = RelyingParty("Crew board")
    newcomers_browser = browser.new_context()
    try:
        gatehouse.cli("group", "add", crew)
        gatehouse.add_client(board, client_id, first_party=True)
        gatehouse.cli("client", "access", client_id, "--group", crew)

        sign_in_as_administrator(page, gatehouse)
        page.goto(f"{gatehouse.issuer}/admin")
        page.get_by_role("link", name="Sign-up links").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Sign-up links")
        # Emptied first, as a person would: Playwright's fill adds to a number field's value.
        people = page.get_by_label("For how many people")
        people.clear()
        people.fill("1")
        page.get_by_label("Note", exact=True).fill(f"for {newcomer}")
        page.get_by_label(crew, exact=True).check()
        page.get_by_role("button", name="Make the link").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("The new sign-up link")
        expect(page.get_by_role("status")).to_contain_text("It lets one person make an account")
        link = page.locator("#signup-link").inner_text()
        assert link.startswith(f"{gatehouse.issuer}/signup?token="), link

        # The person it is given to, in a browser of their own.
        other = newcomers_browser.new_page()
        other.goto(link)
        expect(other.get_by_role("heading", level=1)).to_have_text("Make your account")
        other.get_by_label("Username").fill(newcomer)
        other.get_by_label("Email address").fill(f"{newcomer}@example.com")
        other.get_by_label("Name", exact=True).fill("Nova Crew")
        other.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        other.get_by_label("New password again").fill("plum orbit lantern")
        other.get_by_role("button", name="Make my account", exact=True).click()
        expect(other.get_by_role("alert")).to_have_text("The two new passwords are not the same.")
        # What they typed is still there; the passwords are typed again.
        expect(other.get_by_label("Username")).to_have_value(newcomer)
        # There and back through German, what they typed stays too.
        other.get_by_role("group", name="Other languages").get_by_role(
            "button", name="Deutsch").click()
        expect(other.get_by_role("heading", level=1)).to_have_text("Konto anlegen")
        expect(other.get_by_label("E-Mail-Adresse")).to_have_value(f"{newcomer}@example.com")
        other.get_by_role("group", name="Andere Sprachen").get_by_role(
            "button", name="English").click()
        expect(other.get_by_label("Username")).to_have_value(newcomer)
        expect(other.get_by_label("Name", exact=True)).to_have_value("Nova Crew")
        other.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
        other.get_by_label("New password again").fill(NEW_PASSWORD)
        other.get_by_role("button", name="Make my account", exact=True).click()
        expect(other.get_by_role("heading", level=1)).to_have_text("Your account is ready")

        # The application on another origin lets only the link's group in: the newcomer is.
        start(other, board)
        fill_login(other, newcomer, NEW_PASSWORD)
        expect(other.get_by_role("heading", level=1)).to_have_text(f"Signed in as {newcomer}")

        # The link was for one person: opened again, it says so.
        late = newcomers_browser.new_page()
        late.goto(link)
        expect(late.get_by_role("heading", level=1)).to_have_text("This link does not work")

        page.get_by_role("link", name="Back to the sign-up links").click()
        row = page.get_by_role("table", name="Sign-up links").get_by_role("row").filter(
            has_text=f"for {newcomer}")
        expect(row).to_contain_text("1 of 1")
        expect(row).to_contain_text("used up")
        expect(row).to_contain_text(crew)
    finally:
        newcomers_browser.close()
        board.close()


@pytest.mark.browsers("chromium")
def test_a_person_makes_their_account_with_a_passkey_and_signs_in_with_it_alone(
        browser, on_localhost, vault):
    server, newcomer = on_localhost, f"key-{secrets.token_hex(4)}"
    out = server.cli("signup-link", "add", "--uses", "1", "--note", f"for {newcomer}",
                     "--issuer", server.issuer)
    link = re.search(r"http://\S+/signup\?token=\S+", out).group(0)

    page = browser.new_context().new_page()
    try:
        attach_authenticator(page)
        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("Make your account")
        expect(page.get_by_role("heading", level=2).first).to_have_text("Sign in with a passkey")
        page.get_by_label("Username").fill(newcomer)
        page.get_by_label("Name of the new passkey").fill("Laptop")
        # The browser asks for the address before any passkey is made.
        page.get_by_role("button", name="Make my account with a passkey").click()
        assert page.get_by_label("Email address").evaluate("e => !e.validity.valid")
        expect(page.get_by_role("heading", level=1)).to_have_text("Make your account")
        # An address another account has confirmed: said on the page, before any passkey is
        # made.
        holder = server.add_user()
        server.cli("user", "update", holder, "--email-verified")
        page.get_by_label("Email address").fill(f"{holder}@example.com")
        page.get_by_role("button", name="Make my account with a passkey").click()
        expect(page.locator("#passkey-error")).to_contain_text(
            "Another account has this email address")
        page.get_by_label("Email address").fill(f"{newcomer}@example.com")
        page.get_by_role("button", name="Make my account with a passkey").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Your account is ready")
        expect(page.get_by_role("status")).to_contain_text("Sign in with your passkey")
        assert "password: none (signs in with a passkey)" in server.cli("user", "factors",
                                                                         newcomer)

        # At an application on another origin that asks for a passkey: it alone signs in.
        page.goto(f"{vault.base}/login")
        page.get_by_role("button", name="Sign in with a passkey").click()
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {newcomer}")
        expect(page.locator("#amr")).to_have_text("hwk user mfa")

        page.goto(link)
        expect(page.get_by_role("heading", level=1)).to_have_text("This link does not work")
    finally:
        page.context.close()
