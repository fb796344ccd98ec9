"""A single-page application on another origin signs in and refreshes from the browser alone:
code + PKCE + refresh through `fetch`, which gatehouse's CORS answers must allow."""

import pytest
from playwright.sync_api import expect

from single_page_app import SinglePageApp
from test_sign_in import fill_login


@pytest.fixture(scope="module")
def notes(gatehouse):
    app = SinglePageApp()
    gatehouse.cli("client", "add", "--client-id", "notes", "--public", "--first-party",
                  "--redirect-uri", app.redirect_uri)
    app.configure(gatehouse.issuer, "notes")
    yield app
    app.close()


def test_a_single_page_app_signs_in_and_refreshes_across_origins(browser_page, notes, user):
    page = browser_page
    page.goto(notes.base + "/")
    expect(page.get_by_role("heading")).to_have_text("Not signed in")
    page.get_by_role("button", name="Sign in", exact=True).click()
    fill_login(page, user)
    # Back on the app: the code was redeemed and /userinfo read by the page's script.
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert page.url == notes.base + "/"
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#detail")).to_have_text("Refreshed")
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
