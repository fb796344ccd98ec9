"""Every error page a person can reach says what happened and what to do next, in plain words,
with the protocol detail last and never a library's message."""

import urllib.parse

import pytest
from playwright.sync_api import expect

from test_sign_in import fill_login, start

# Words of the libraries and protocol internals that must never be the whole story.
INTERNALS = ("unknown variant", "expected one of", "Error(", "panicked", "serde", "jsonwebtoken")


def authorize_url(gatehouse, rp, **overrides):
    params = {
        "response_type": "code",
        "client_id": rp.client_id,
        "redirect_uri": rp.redirect_uri,
        "scope": "openid",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    params = {k: v for k, v in params.items() if v is not None}
    return f"{gatehouse.issuer}/authorize?{urllib.parse.urlencode(params)}"


def assert_humane(page, heading, *phrases):
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    text = page.locator("main").inner_text()
    for phrase in phrases:
        assert phrase in text, f"{phrase!r} not on the page: {text}"
    for internal in INTERNALS:
        assert internal not in text, f"{internal!r} shown to a person: {text}"
    # The administrator's detail comes after the words for the person.
    paragraphs = page.locator("main p").all_inner_texts()
    assert not paragraphs[0].startswith("Detail"), paragraphs


@pytest.mark.parametrize("overrides, detail", [
    ({"client_id": "no-such-app"}, "unknown client_id"),
    ({"client_id": None}, "client_id parameter is missing"),
    ({"redirect_uri": "https://evil.example/steal"}, "redirect_uri is not registered"),
    ({"redirect_uri": None}, "redirect_uri parameter is missing"),
])
def test_a_bad_sign_in_link_is_explained_and_never_redirected(browser_page, gatehouse,
                                                              first_party, overrides, detail):
    page = browser_page
    response = page.goto(authorize_url(gatehouse, first_party, **overrides))
    assert response.status == 400
    assert page.url.startswith(gatehouse.issuer), "an untrusted redirect URI is never followed"
    assert_humane(page, "This sign-in link does not work", "Go back to the application", detail)


def test_an_error_after_the_redirect_uri_is_known_goes_back_to_the_app(browser_page,
                                                                       gatehouse, first_party):
    page = browser_page
    page.goto(authorize_url(gatehouse, first_party, scope="openid root", state="s1"))
    # The RP did not start this request, so it rejects the unknown state: what matters is
    # that the browser was sent back to the registered redirect URI, with the error.
    assert page.url.startswith(first_party.redirect_uri)
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(page.url).query)
    assert query["error"] == ["invalid_scope"] and query["state"] == ["s1"]


def test_a_forged_id_token_hint_is_explained_without_library_words(browser_page, gatehouse):
    page = browser_page
    forged = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
    response = page.goto(f"{gatehouse.issuer}/logout?id_token_hint={forged}")
    assert response.status == 400
    assert_humane(page, "This sign-out link does not work", "you were not signed out",
                  "not a valid ID token issued by this server")


def test_an_expired_login_form_offers_a_fresh_one(browser_page, first_party, user):
    page = browser_page
    start(page, first_party)
    page.context.clear_cookies()
    fill_login(page, user)
    assert_humane(page, "This form has expired", "Start again")
    page.get_by_role("link", name="Start again").click()
    expect(page).to_have_title("Sign in · Gatehouse")
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")


def test_an_expired_logout_confirmation_offers_a_fresh_one(browser_page, first_party, user,
                                                           gatehouse):
    page = browser_page
    start(page, first_party)
    fill_login(page, user)
    page.goto(f"{first_party.base}/logout?hint=0")
    expect(page.get_by_role("heading")).to_have_text("Sign out?")
    session = [c for c in page.context.cookies() if c["name"] == "gatehouse_session"]
    page.context.clear_cookies()
    page.context.add_cookies(session)
    page.get_by_role("button", name="Sign out").click()
    assert_humane(page, "This form has expired", "Start again")
    page.get_by_role("link", name="Start again").click()
    expect(page.get_by_role("heading")).to_have_text("Sign out?")
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("heading")).to_have_text("You have signed out of the app")


def test_an_unknown_address_gets_a_page_not_the_browsers_error(browser_page, gatehouse):
    page = browser_page
    response = page.goto(f"{gatehouse.issuer}/no-such-page")
    assert response.status == 404
    assert_humane(page, "There is no page here", "Go back to the application")
