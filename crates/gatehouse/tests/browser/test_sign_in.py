"""Signing in to applications, as a person does it in a browser."""

import json
import secrets
import tempfile
import time
import urllib.parse

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD
from relying_party import RelyingParty


@pytest.fixture(scope="module")
def signing_party(gatehouse):
    """An application that authenticates with a key of its own (private_key_jwt), registered
    with its public key only, whose sign-ins must be pushed (PAR)."""
    rp = RelyingParty("Expenses")
    # An id of its own: the fixture is made again for each browser, on one server.
    client_id = f"expenses-{secrets.token_hex(4)}"
    rp.configure(gatehouse.issuer, client_id, None)
    with tempfile.NamedTemporaryFile("w", suffix=".json") as keys:
        json.dump(rp.use_key(), keys)
        keys.flush()
        out = gatehouse.cli("client", "add", "--client-id", client_id,
                            "--redirect-uri", rp.redirect_uri, "--first-party",
                            "--jwks", keys.name, "--require-par")
    assert "secret" not in out, out
    yield rp
    rp.close()


def fill_login(page, username, password=PASSWORD):
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in", exact=True).click()


def start(page, rp, **params):
    query = "&".join(f"{k}={v}" for k, v in params.items())
    page.goto(f"{rp.base}/login?{query}")


def test_sign_in_to_a_first_party_app_goes_straight_back_to_it(browser_page, first_party, user,
                                                                gatehouse):
    page = browser_page
    page.goto(first_party.base)
    page.get_by_role("link", name="Sign in").click()
    expect(page).to_have_title("Sign in · Gatehouse")
    assert page.url.startswith(gatehouse.issuer + "/authorize")
    expect(page.get_by_text("to continue to")).to_contain_text("team-wiki")
    fill_login(page, user)
    # The redirect that follows the form's POST crosses to the app's origin: the browser must
    # be allowed to follow it (CSP form-action).
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert page.url.startswith(first_party.base + "/callback")


def test_a_third_party_app_needs_consent_and_gets_it(browser_page, third_party, user):
    page = browser_page
    start(page, third_party)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("Allow access?")
    expect(page.locator("main")).to_contain_text("photo-printer")
    expect(page.get_by_role("listitem")).to_have_text(
        ["Know who you are", "See your name and username", "See your email address"])
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert page.url.startswith(third_party.base + "/callback")


def test_a_pushed_request_signs_in_with_only_its_request_uri_in_the_address(browser_page,
                                                                           third_party, user,
                                                                           gatehouse):
    page = browser_page
    addresses = []
    page.on("request", lambda r: addresses.append(r.url)
            if r.url.startswith(gatehouse.issuer + "/authorize") else None)
    start(page, third_party, par=1)
    expect(page).to_have_title("Sign in · Gatehouse")
    fill_login(page, user)
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert page.url.startswith(third_party.base + "/callback")
    # The request itself never passed through the browser: only its request_uri did.
    assert addresses, "the browser went to /authorize"
    for address in addresses:
        assert "request_uri=urn" in address and "redirect_uri" not in address, address


def test_an_app_that_signs_with_its_key_signs_people_in_through_pushed_requests_only(
        browser_page, signing_party, user):
    page = browser_page
    start(page, signing_party, par=1)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert page.url.startswith(signing_party.base + "/callback")
    # A sign-in started without pushing its request goes back to the app, refused.
    start(page, signing_party)
    expect(page.get_by_role("heading")).to_have_text("Sign-in failed")
    expect(page.locator("#error")).to_have_text("invalid_request")
    expect(page.locator("#description")).to_contain_text("must be pushed")


def test_a_signed_request_signs_in_and_one_changed_on_the_way_sends_nobody_anywhere(
        browser_page, signing_party, user, gatehouse):
    page = browser_page
    # The request signed by the application's key (RFC 9101) and pushed: signed in.
    start(page, signing_party, par=1, signed=1)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    # Changed after it was signed, to send the code elsewhere: gatehouse says the link does
    # not work and follows none of it.
    start(page, signing_party, signed="forged")
    expect(page.get_by_role("heading", level=1)).to_have_text("This sign-in link does not work")
    assert page.url.startswith(gatehouse.issuer + "/authorize"), page.url
    expect(page.locator("main")).to_contain_text("invalid_request_object")
    # Signed is not pushed: this application's requests must be both.
    start(page, signing_party, signed=1)
    expect(page.get_by_role("heading")).to_have_text("Sign-in failed")
    expect(page.locator("#description")).to_contain_text("must be pushed")
    assert page.url.startswith(signing_party.base + "/callback")


def test_an_app_that_names_who_signs_in_finds_the_username_filled_in(browser_page, first_party,
                                                                    user):
    page = browser_page
    start(page, first_party, login_hint=user)
    expect(page.get_by_label("Username")).to_have_value(user)
    # The password is what is left to type, and it has the focus.
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")


def test_a_silent_sign_in_for_one_person_never_answers_for_another_in_the_same_browser(
        browser_page, first_party, user, gatehouse):
    page = browser_page
    # Ada signs in to the wiki, and signs out of gatehouse (not of the wiki); then, on the same
    # computer, Bob signs in to gatehouse.
    start(page, first_party)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    page.goto(f"{gatehouse.issuer}/logout")
    page.get_by_role("button", name="Sign out").click()
    bob = gatehouse.add_user()
    page.goto(f"{gatehouse.issuer}/account")
    fill_login(page, bob)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("main")).to_contain_text(bob)
    # The wiki checks, silently, that Ada is still signed in: she is not, and it is told so,
    # rather than handed Bob.
    start(page, first_party, prompt="none", hint=1)
    expect(page.get_by_role("heading")).to_have_text("Sign-in failed")
    expect(page.locator("#error")).to_have_text("login_required")
    # Without naming Ada, the same silent check answers for whoever is signed in.
    start(page, first_party, prompt="none")
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {bob}")


def test_an_app_that_asks_for_one_person_is_never_answered_for_another(browser_page,
                                                                         first_party, user,
                                                                         gatehouse):
    page = browser_page
    people = json.loads(gatehouse.cli("user", "list", "--json"))
    sub = next(p["id"] for p in people if p["username"] == user)
    bob = gatehouse.add_user()
    # The wiki asks (OpenID Connect's claims parameter) for the person it knows: Bob, at the
    # computer, signs in, and the wiki is told no rather than handed Bob.
    for_user = urllib.parse.quote(json.dumps({"id_token": {"sub": {"value": sub}}}))
    start(page, first_party, claims=for_user)
    fill_login(page, bob)
    expect(page.get_by_role("heading")).to_have_text("Sign-in failed")
    expect(page.locator("#error")).to_have_text("access_denied")
    assert page.url.startswith(first_party.base + "/callback")
    # Bob's session does not answer it either; the person it names, signing in, is answered.
    start(page, first_party, claims=for_user, prompt="none")
    expect(page.locator("#error")).to_have_text("login_required")
    start(page, first_party, claims=for_user)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")


def test_form_post_brings_the_code_back_in_a_post_not_in_an_address(browser_page, first_party,
                                                                     user, gatehouse):
    page = browser_page
    start(page, first_party, response_mode="form_post")
    fill_login(page, user)
    # The page gatehouse answers with sends itself: the person sees the application.
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#method")).to_have_text("POST")
    assert page.url == first_party.base + "/callback", page.url


def test_denying_consent_sends_the_person_back_with_access_denied(browser_page, third_party,
                                                                  user):
    page = browser_page
    start(page, third_party)
    fill_login(page, user)
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading")).to_have_text("Sign-in failed")
    expect(page.locator("#error")).to_have_text("access_denied")
    assert page.url.startswith(third_party.base + "/callback")


def test_a_second_sign_in_asks_for_nothing_once_consent_was_given(browser_page, third_party,
                                                                  user, gatehouse):
    page = browser_page
    start(page, third_party)
    fill_login(page, user)
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")

    # This time gatehouse only redirects: no page of its own is shown.
    shown = []
    page.on("response", lambda r: shown.append(r.url) if r.status == 200
            and r.url.startswith(gatehouse.issuer) else None)
    start(page, third_party)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert shown == [], f"gatehouse showed pages: {shown}"


def test_a_wrong_password_is_said_plainly_and_the_right_one_then_works(browser_page,
                                                                       first_party, user):
    page = browser_page
    start(page, first_party)
    fill_login(page, user, "not the password at all")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    # What was typed as the username is kept; the password is not.
    expect(page.get_by_label("Username")).to_have_value(user)
    expect(page.get_by_label("Password")).to_have_value("")
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")


def session_cookie_days(page) -> float:
    """How many days the browser keeps gatehouse's session cookie from now."""
    cookie = next(c for c in page.context.cookies() if c["name"].endswith("gatehouse_session"))
    return (cookie["expires"] - time.time()) / 86_400


def test_keep_me_signed_in_keeps_the_sign_in_a_month_and_unticked_half_a_day(browser_page,
                                                                              first_party, user,
                                                                              gatehouse):
    page = browser_page
    start(page, first_party)
    keep = page.get_by_label("Keep me signed in on this device")
    expect(keep).not_to_be_checked()
    keep.check()
    fill_login(page, user, "not the password at all")
    # Refused: the box stays as the person left it.
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    expect(keep).to_be_checked()
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert 29.9 < session_cookie_days(page) < 30.01, session_cookie_days(page)
    log = gatehouse.cli("audit", "tail", "-n", "5")
    assert any("login.succeeded" in line and "amr=pwd kept" in line and user in line
               for line in log.splitlines()), log
    # Their account page says until when this browser is kept signed in.
    page.goto(f"{gatehouse.issuer}/account")
    sessions = page.get_by_role("table", name="Your sessions")
    expect(sessions).to_contain_text("kept signed in until")

    # Unticked, the next sign-in is kept half a day, as sessions are.
    start(page, first_party, prompt="login")
    expect(keep).not_to_be_checked()
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert 0.4 < session_cookie_days(page) < 0.51, session_cookie_days(page)
    page.goto(f"{gatehouse.issuer}/account")
    expect(sessions).not_to_contain_text("kept signed in")


def test_an_expired_form_says_so_and_what_to_do(browser_page, first_party, user):
    page = browser_page
    start(page, first_party)
    # The form's CSRF cookie is gone, as after the browser was closed and reopened.
    page.context.clear_cookies()
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("This form has expired")
    expect(page.locator("main")).to_contain_text("Start again")


def test_prompt_login_asks_for_the_password_again(browser_page, first_party, user):
    page = browser_page
    start(page, first_party)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    first_auth_time = int(page.locator("#auth_time").inner_text())

    page.wait_for_timeout(1100)  # auth_time counts seconds
    start(page, first_party, prompt="login")
    expect(page).to_have_title("Sign in · Gatehouse")
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    assert int(page.locator("#auth_time").inner_text()) > first_auth_time


def test_an_app_that_lets_people_choose_an_account_shows_who_is_signed_in(browser_page,
                                                                          first_party, user,
                                                                          gatehouse):
    page = browser_page
    start(page, first_party)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    # prompt=select_account: the login form again, the signed-in person's name in it.
    start(page, first_party, prompt="select_account")
    expect(page).to_have_title("Sign in · Gatehouse")
    expect(page.get_by_label("Username")).to_have_value(user)
    expect(page.get_by_label("Password")).to_be_focused()
    other = gatehouse.add_user()
    fill_login(page, other)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {other}")


def test_the_pages_fit_a_phone(browser, first_party, third_party, user):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True,
                                   has_touch=True)
    page = context.new_page()
    try:
        start(page, third_party)
        for step in ("login", "consent"):
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the {step} page scrolls sideways ({width}px)"
            button = page.get_by_role("button").first
            box = button.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 390
            assert box["height"] >= 40, "buttons are big enough to tap"
            if step == "login":
                fill_login(page, user)
                expect(page.get_by_role("heading")).to_have_text("Allow access?")
        allow = page.get_by_role("button", name="Allow")
        if browser.browser_type.name == "chromium":
            allow.tap()
        else:
            # Playwright's touch input reaches no page in Firefox over WebDriver BiDi.
            allow.click()
        expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    finally:
        context.close()


def test_the_sign_in_page_shows_no_console_errors_and_sends_a_strict_policy(browser_page,
                                                                            first_party):
    page = browser_page
    responses = []
    page.on("response", lambda r: responses.append(r))
    start(page, first_party)
    expect(page).to_have_title("Sign in · Gatehouse")
    authorize = next(r for r in responses if "/authorize" in r.url)
    csp = authorize.headers["content-security-policy"]
    # The form may post to gatehouse, and the redirect that answers it may go to the app only.
    assert f"form-action 'self' {first_party.base};" in csp, csp
    assert "frame-ancestors 'none'" in csp
    assert authorize.headers["cache-control"] == "no-store"
