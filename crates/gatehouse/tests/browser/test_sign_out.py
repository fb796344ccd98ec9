"""Signing out from an application (OpenID Connect RP-Initiated Logout), in a browser."""

from playwright.sync_api import expect

from test_sign_in import fill_login, start


def signed_in(page, rp, user):
    start(page, rp)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")


def test_logout_with_an_id_token_hint_goes_straight_back_to_the_app(browser_page, first_party,
                                                                    user):
    page = browser_page
    signed_in(page, first_party, user)
    page.get_by_role("link", name="Sign out").click()
    expect(page.get_by_role("heading")).to_have_text("You have signed out of the app")
    assert page.url.startswith(first_party.post_logout_redirect_uri + "?state=")
    # The session at gatehouse is over: signing in again asks for the password.
    start(page, first_party)
    expect(page).to_have_title("Sign in · Gatehouse")


def test_logout_without_a_hint_asks_first_then_returns_to_the_app(browser_page, first_party,
                                                                  user):
    page = browser_page
    signed_in(page, first_party, user)
    page.goto(f"{first_party.base}/logout?hint=0")
    expect(page.get_by_role("heading")).to_have_text("Sign out?")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading")).to_have_text("You have signed out of the app")
    start(page, first_party)
    expect(page).to_have_title("Sign in · Gatehouse")


def test_a_logout_link_on_another_site_signs_nobody_out_without_asking(browser_page,
                                                                        first_party, user,
                                                                        gatehouse):
    page = browser_page
    signed_in(page, first_party, user)
    page.goto(f"{gatehouse.issuer}/logout")
    expect(page.get_by_role("heading")).to_have_text("Sign out?")
    # The person leaves without confirming: still signed in.
    start(page, first_party)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")


def test_signing_out_with_nowhere_to_return_shows_a_signed_out_page(browser_page, first_party,
                                                                    user, gatehouse):
    page = browser_page
    signed_in(page, first_party, user)
    page.goto(f"{gatehouse.issuer}/logout")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading")).to_have_text("You are signed out")
    assert page.url == f"{gatehouse.issuer}/logout"
