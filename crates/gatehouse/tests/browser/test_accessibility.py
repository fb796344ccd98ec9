"""Every kind of page a person or an administrator meets, checked with axe-core (Deque's
accessibility rules: WCAG 2 A and AA, and its best practices) as it is shown: signing in (and a
wrong password said), the consent page, setting up two-step verification, a device's code, the
account page, the pages of a sign-in link that does not work, of an address that is not
there and of a password reset without mail, the sign-in page in German, and each
administration page. A label missing from a field, text too faint to read, a heading out of
order or a page without its language fails the test, with what axe says and where. And a
sign-in made with the keyboard alone, in Chromium and Firefox."""

import pytest
from playwright.sync_api import expect

from conftest import accessibility_problems
from test_console import sign_in_as_administrator
from test_device import device_client, start_device  # noqa: F401 (a fixture)
from test_second_factors import payroll, totp  # noqa: F401 (a fixture)
from test_sign_in import fill_login, start

# The rules read the page as the server wrote it, the same in every browser but for contrast,
# which Chromium's rendering stands for.
pytestmark = pytest.mark.browsers("chromium")


def accessible(page, heading: str):
    """`page`, once its heading says `heading`, has nothing axe-core finds wrong."""
    expect(page.get_by_role("heading", level=1)).to_have_text(heading)
    assert accessibility_problems(page) == [], f"on the page “{heading}”"


def test_the_pages_of_a_sign_in_are_accessible(browser_page, gatehouse, third_party, payroll,
                                               device_client, user):
    page = browser_page
    start(page, third_party)
    accessible(page, "Sign in")
    fill_login(page, user, "not the password")
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    accessible(page, "Sign in")
    fill_login(page, user)
    accessible(page, "Allow access?")
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("body")).to_contain_text("Signed in as")

    # An application that requires two-step verification asks for the password again first.
    start(page, payroll)
    accessible(page, "Sign in")
    fill_login(page, user)
    accessible(page, "Set up two-step verification")
    key = page.locator("#secret").inner_text()
    page.get_by_label("Enter the 6-digit code the app shows").fill(totp(key))
    page.get_by_role("button", name="Turn on two-step verification").click()
    accessible(page, "Save your recovery codes")

    device = start_device(gatehouse, device_client)
    page.goto(device["verification_uri"])
    accessible(page, "Connect a device")
    page.get_by_label("Code").fill("BCDF-GHJK")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_be_visible()
    accessible(page, "Connect a device")
    page.get_by_label("Code").fill(device["user_code"])
    page.get_by_role("button", name="Continue").click()
    accessible(page, "Sign in on your device?")

    page.goto(f"{gatehouse.issuer}/account")
    accessible(page, "Your account")


def test_the_pages_of_what_went_wrong_are_accessible(browser_page, gatehouse, first_party):
    page = browser_page
    page.goto(f"{gatehouse.issuer}/authorize?client_id=no-such-app&response_type=code"
              f"&redirect_uri={first_party.redirect_uri}&scope=openid")
    accessible(page, "This sign-in link does not work")
    page.goto(f"{gatehouse.issuer}/no/such/page")
    accessible(page, "There is no page here")
    # Without a mail server, the reset page says whom to ask instead.
    page.goto(f"{gatehouse.issuer}/reset")
    accessible(page, "Password reset is not set up here")
    # In German, as the application asks (the page's language said so).
    start(page, first_party, ui_locales="de")
    accessible(page, "Anmelden")


def test_the_administration_pages_are_accessible(browser_page, gatehouse, first_party, user):
    page = browser_page
    sign_in_as_administrator(page, gatehouse)
    gatehouse.cli("group", "add", "readers")
    for path, heading in [
        ("/admin", "People"),
        (f"/admin/users/{user}", user),
        ("/admin/groups", "Groups"),
        ("/admin/groups/readers", "readers"),
        ("/admin/clients", "Applications"),
        (f"/admin/clients/{first_party.client_id}", first_party.client_id),
        ("/admin/audit", "Audit log"),
        ("/admin/keys", "Signing keys"),
        ("/admin/signup-links", "Sign-up links"),
    ]:
        page.goto(f"{gatehouse.issuer}{path}")
        accessible(page, heading)


def focused(page) -> dict:
    """The element that has the keyboard's focus: its role or tag, its name, and its outline."""
    return page.evaluate("""() => {
        const e = document.activeElement;
        const style = getComputedStyle(e);
        return {tag: e.tagName.toLowerCase(), text: (e.innerText || e.value || '').trim(),
                outline: style.outlineStyle, width: parseFloat(style.outlineWidth)};
    }""")


def tab_to(page, tag: str, text: str, most: int = 20) -> dict:
    """Presses Tab until the `tag` saying `text` has the focus (at most `most` times); what has it."""
    for _ in range(most):
        page.keyboard.press("Tab")
        now = focused(page)
        if (now["tag"], now["text"]) == (tag, text):
            return now
    raise AssertionError(f"{most} presses of Tab never reached the {tag} “{text}”")


@pytest.mark.browsers("chromium", "firefox")
def test_a_person_signs_in_and_allows_an_application_with_the_keyboard_alone(
        browser_page, third_party, user):
    """No mouse: the username field has the focus, Tab moves on, Enter sends; on the consent
    page Tab reaches *Allow*, which shows that it has the focus."""
    from conftest import PASSWORD
    page = browser_page
    start(page, third_party)
    expect(page.get_by_label("Username")).to_be_focused()
    page.keyboard.type(user)
    page.keyboard.press("Tab")
    expect(page.get_by_label("Password")).to_be_focused()
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow access?")
    allow = tab_to(page, "button", "Allow")
    assert (allow["outline"], allow["width"]) == ("solid", 3), allow
    page.keyboard.press("Enter")
    expect(page.locator("body")).to_contain_text(f"Signed in as {user}")
