"""Second factors as a person meets them in a browser: an application that requires two-step
verification has them set up an authenticator app right after their password (QR code, the key
as text, the first code), shows their recovery codes once, and signs them in; later sign-ins
ask for the app's code or a recovery code, and each works once.

The codes are computed here as an authenticator app computes them (RFC 6238: HMAC-SHA-1, six
digits, 30-second steps), independently of gatehouse's own implementation."""

import base64
import hashlib
import hmac
import struct
import time

import pytest
from playwright.sync_api import expect

from relying_party import RelyingParty
from test_sign_in import fill_login, start


def totp(key_text: str, steps_ahead: int = 0) -> str:
    """The code an authenticator app shows for the key typed as `key_text`."""
    key = base64.b32decode(key_text.replace(" ", "").upper())
    counter = int(time.time()) // 30 + steps_ahead
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    number = (struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{number:06d}"


@pytest.fixture(scope="module")
def payroll(gatehouse):
    """An application that requires two-step verification of everyone who signs in to it."""
    rp = RelyingParty("Payroll")
    gatehouse.add_client(rp, "payroll", first_party=True, extra=("--auth-policy", "two_factor"))
    yield rp
    rp.close()


def enrol(page, payroll, user) -> tuple:
    """Signs `user` in to payroll, setting up the app on the way; the key and the recovery
    codes shown."""
    start(page, payroll)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("Set up two-step verification")
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    key = page.locator("#secret").inner_text()
    code = page.get_by_label("Enter the 6-digit code the app shows")
    expect(code).to_be_focused()
    code.fill(totp(key))
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("heading")).to_have_text("Save your recovery codes")
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem").all_inner_texts()
    return key, codes


def test_an_app_that_requires_it_has_the_person_set_up_an_authenticator(browser_page, gatehouse,
                                                                        payroll, user):
    page = browser_page
    start(page, payroll)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("Set up two-step verification")
    expect(page.locator("main")).to_contain_text("To continue to payroll")
    key = page.locator("#secret").inner_text()
    assert len(key.replace(" ", "")) == 32, key

    # A typo: said plainly, nothing set up, the same key shown again.
    page.get_by_label("Enter the 6-digit code the app shows").fill("000000" if totp(key) != "000000" else "111111")
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right")
    assert page.locator("#secret").inner_text() == key
    assert "authenticator app: none" in gatehouse.cli("user", "factors", user)

    page.get_by_label("Enter the 6-digit code the app shows").fill(totp(key))
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("heading")).to_have_text("Save your recovery codes")
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem").all_inner_texts()
    assert len(codes) == 10 and len(set(codes)) == 10, codes
    expect(page.locator("main")).to_contain_text("They are shown only now.")

    page.get_by_role("link", name="I have saved them, continue to payroll").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#acr")).to_have_text("two_factor")
    expect(page.locator("#amr")).to_have_text("pwd otp mfa")
    out = gatehouse.cli("user", "factors", user)
    assert "authenticator app: enrolled" in out and "recovery codes left: 10" in out, out


def test_later_sign_ins_ask_for_the_app_or_a_recovery_code_each_once(browser, gatehouse,
                                                                     payroll, first_party, user):
    context = browser.new_context()
    key, codes = enrol(context.new_page(), payroll, user)
    context.close()

    # Another browser: the password, then the app's code (the next one: the current one was
    # spent setting it up). Even an application that asks only for a password gets both.
    context = browser.new_context()
    page = context.new_page()
    start(page, first_party)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("Two-step verification")
    field = page.get_by_label("Code from your authenticator app")
    expect(field).to_be_focused()
    field.fill(totp(key, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#amr")).to_have_text("pwd otp mfa")
    context.close()

    # Phone lost: a recovery code, typed loosely, signs in once.
    context = browser.new_context()
    page = context.new_page()
    start(page, payroll)
    fill_login(page, user)
    page.get_by_label("Code from your authenticator app").fill(codes[0].upper().replace("-", " "))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#acr")).to_have_text("two_factor")
    context.close()

    context = browser.new_context()
    page = context.new_page()
    start(page, payroll)
    fill_login(page, user)
    page.get_by_label("Code from your authenticator app").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("That code is not right, or it was used already")
    expect(page.get_by_role("heading")).to_have_text("Two-step verification")
    context.close()
    assert "recovery codes left: 9" in gatehouse.cli("user", "factors", user)


def test_an_administrator_resets_a_lost_app_and_the_person_sets_up_a_new_one(browser, gatehouse,
                                                                             payroll, user):
    context = browser.new_context()
    enrol(context.new_page(), payroll, user)
    context.close()
    out = gatehouse.cli("user", "reset-factors", user)
    assert out.strip() == f"{user}: authenticator app, 10 recovery codes and 0 passkeys removed", out
    context = browser.new_context()
    page = context.new_page()
    key, codes = enrol(page, payroll, user)
    page.get_by_role("link", name="I have saved them, continue to payroll").click()
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    context.close()
    assert "admin.user.factors_reset" in gatehouse.cli("audit", "tail", "-n", "50")


def test_the_setup_page_fits_a_phone(browser, payroll, user):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    start(page, payroll)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("Set up two-step verification")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone: {width}px"
    qr = page.get_by_role("img", name="QR code for your authenticator app").bounding_box()
    assert qr["width"] >= 150, qr
    context.close()


def test_a_person_turns_two_step_verification_on_and_off_on_their_account_page(browser_page,
                                                                               gatehouse, user):
    page = browser_page
    page.goto(f"{gatehouse.issuer}/account")
    expect(page).to_have_title("Sign in · Gatehouse")
    expect(page.get_by_text("to continue to")).to_contain_text("your account")
    fill_login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page.locator("main")).to_contain_text("Off. Signing in takes your password only.")

    page.get_by_role("button", name="Set up an authenticator app").click()
    expect(page.get_by_role("heading")).to_have_text("Set up two-step verification")
    key = page.locator("#secret").inner_text()
    page.get_by_label("Enter the 6-digit code the app shows").fill(totp(key))
    page.get_by_role("button", name="Turn on two-step verification").click()
    expect(page.get_by_role("heading")).to_have_text("Save your recovery codes")
    first = page.get_by_role("list", name="Recovery codes").get_by_role("listitem").all_inner_texts()
    page.get_by_role("link", name="I have saved them, continue to your account").click()
    expect(page.locator("main")).to_contain_text("On. Signing in takes your password and a code")
    expect(page.locator("main")).to_contain_text("Recovery codes left: 10")

    page.get_by_role("button", name="Make new recovery codes").click()
    second = page.get_by_role("list", name="Recovery codes").get_by_role("listitem").all_inner_texts()
    assert len(second) == 10 and not set(first) & set(second)
    page.get_by_role("link", name="I have saved them, continue to your account").click()

    page.get_by_role("button", name="Turn off two-step verification").click()
    expect(page.get_by_role("status")).to_contain_text("removed")
    expect(page.locator("main")).to_contain_text("Off. Signing in takes your password only.")
    kinds = gatehouse.cli("audit", "tail", "-n", "20")
    for kind in ("account.totp_enrolled", "account.recovery_codes_regenerated",
                 "account.totp_removed"):
        assert kind in kinds, kinds
