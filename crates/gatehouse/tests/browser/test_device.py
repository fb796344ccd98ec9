"""Signing a device in (RFC 8628): the device (here plain HTTP from the test, as a television
or a command-line tool would do it) gets a code; a person types it on the verification page in
Chromium, signs in, and allows or denies; the device's poll then gets tokens or a refusal."""

import json
import secrets
import urllib.error
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from test_console import LOGO, logo_shown
from test_sign_in import fill_login

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def post(url: str, form: dict) -> tuple:
    """POSTs a form; the status and the JSON answer, refusals included."""
    data = urllib.parse.urlencode(form).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=30) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


@pytest.fixture(scope="module")
def device_client(gatehouse):
    """A public client for a device without a browser: no redirect URI at all."""
    client_id = f"living-room-tv-{secrets.token_hex(3)}"
    gatehouse.cli("client", "add", "--client-id", client_id, "--public", "--display-name", "Living room TV",
                  "--grant-type", "device_code", "--grant-type", "refresh_token")
    gatehouse.cli("client", "logo", client_id, "--image", str(LOGO))
    return client_id


def start_device(gatehouse, client_id: str) -> dict:
    status, body = post(f"{gatehouse.issuer}/device_authorization",
                        {"client_id": client_id, "scope": "openid profile offline_access"})
    assert status == 200, body
    return body


def poll(gatehouse, client_id: str, device_code: str) -> tuple:
    return post(f"{gatehouse.issuer}/token", {"grant_type": DEVICE_GRANT, "client_id": client_id,
                                               "device_code": device_code})


def test_a_person_types_the_code_signs_in_and_the_device_gets_tokens(browser_page, gatehouse,
                                                                    device_client, user):
    page = browser_page
    device = start_device(gatehouse, device_client)
    assert device["verification_uri"] == f"{gatehouse.issuer}/device"
    status, body = poll(gatehouse, device_client, device["device_code"])
    assert (status, body["error"]) == (400, "authorization_pending")

    # The person opens the address the television shows and signs in first.
    page.goto(device["verification_uri"])
    expect(page).to_have_title("Sign in · Gatehouse")
    expect(page.get_by_text("to continue to")).to_contain_text("your device")
    fill_login(page, user)

    # Then types the code, as people do: lower case, without the dash.
    expect(page.get_by_role("heading")).to_have_text("Connect a device")
    expect(page.get_by_label("Code")).to_be_focused()
    page.get_by_label("Code").fill(device["user_code"].replace("-", "").lower())
    page.get_by_role("button", name="Continue").click()

    # The page names the application, with its logo, shows the code to compare, and says what
    # it gets.
    expect(page.get_by_role("heading")).to_have_text("Sign in on your device?")
    main = page.locator("main")
    expect(main).to_contain_text("Living room TV")
    logo_shown(page)
    expect(main).to_contain_text(device["user_code"])
    expect(main).to_contain_text("If someone sent you this code, deny it.")
    expect(page.get_by_role("listitem")).to_have_text(
        ["Know who you are", "See your name and username", "Stay signed in when you are away"])
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading")).to_have_text("Your device is signed in")

    status, tokens = poll(gatehouse, device_client, device["device_code"])
    assert status == 200, tokens
    assert tokens["scope"] == "openid profile offline_access"
    assert {"access_token", "refresh_token", "id_token"} <= tokens.keys()
    # The code is used up.
    status, body = poll(gatehouse, device_client, device["device_code"])
    assert (status, body["error"]) == (400, "invalid_grant")


def test_a_signed_in_person_follows_the_devices_link_and_denies_it(browser_page, gatehouse,
                                                                   device_client, user):
    page = browser_page
    # Signed in already (through a device sign-in of their own earlier).
    page.goto(f"{gatehouse.issuer}/device")
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("Connect a device")

    device = start_device(gatehouse, device_client)
    page.goto(device["verification_uri_complete"])
    # The link fills the code in; looking it up still takes the person's click.
    expect(page.get_by_label("Code")).to_have_value(device["user_code"])
    page.get_by_role("button", name="Continue").click()
    page.get_by_role("button", name="Deny").click()
    expect(page.get_by_role("heading")).to_have_text("The device was not signed in")
    status, body = poll(gatehouse, device_client, device["device_code"])
    assert (status, body["error"]) == (400, "access_denied")


def test_a_wrong_code_says_so_and_keeps_what_was_typed(browser_page, gatehouse, device_client,
                                                      user):
    page = browser_page
    page.goto(f"{gatehouse.issuer}/device")
    fill_login(page, user)
    page.get_by_label("Code").fill("BCDF-GHJK")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_have_text(
        "That code is not valid, or it has expired. Check the code on your device; if it has "
        "expired, start again there.")
    expect(page.get_by_label("Code")).to_have_value("BCDF-GHJK")
    page.get_by_label("Code").fill("hello")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("That is not a device code")


def test_a_mangled_link_still_opens_the_page(browser_page, gatehouse, device_client, user):
    """A link cut or re-encoded on its way (a chat app, a QR reader) must not end in a bare
    error: the person still gets the page and can type the code."""
    page = browser_page
    page.goto(f"{gatehouse.issuer}/device?user_code=%ZZ%&user_code=x")
    expect(page).to_have_title("Sign in · Gatehouse")
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("Connect a device")
    device = start_device(gatehouse, device_client)
    page.get_by_label("Code").fill(device["user_code"])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading")).to_have_text("Sign in on your device?")


def test_a_device_asking_for_an_api_names_it_on_the_page(browser_page, gatehouse, user):
    """A device that asks for a token for an API its application is registered with: the page
    that asks the person to allow it names that API under what it will be able to do."""
    page = browser_page
    api = "https://media.example/api"
    client_id = f"media-box-{secrets.token_hex(3)}"
    gatehouse.cli("client", "add", "--client-id", client_id, "--public", "--display-name", "Media box",
                  "--grant-type", "device_code", "--resource", api,
                  "--resource", "urn:example:elsewhere")
    status, device = post(f"{gatehouse.issuer}/device_authorization",
                          {"client_id": client_id, "scope": "openid", "resource": api})
    assert status == 200, device

    # The link carries the code: signing in leads straight to the question.
    page.goto(device["verification_uri_complete"])
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("Sign in on your device?")
    expect(page.get_by_text("And act for you at these services:")).to_be_visible()
    expect(page.locator("#asked-resources li")).to_have_text([api])
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_role("heading")).to_have_text("Your device is signed in")
    status, tokens = poll(gatehouse, client_id, device["device_code"])
    assert status == 200, tokens
