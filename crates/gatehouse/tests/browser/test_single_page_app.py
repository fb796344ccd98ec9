"""A single-page application on another origin signs in and refreshes from the browser alone:
code + PKCE + refresh through `fetch`, which gatehouse's CORS answers must allow; and one that
binds its tokens to a key of its own (DPoP), whose tokens are of no use to whoever takes them
from the browser, and that signs in the same way where gatehouse requires server nonces in its
proofs."""

import json
import tempfile
import urllib.error
import urllib.parse
import urllib.request

import pytest
from playwright.sync_api import expect

from conftest import Gatehouse
from single_page_app import SinglePageApp
from test_sign_in import fill_login


def _registered(server, client_id: str, dpop: bool = False, fragment: bool = False):
    """A single-page app on an origin of its own, registered with `server` as a public,
    first-party client; closed when the module is done with it."""
    app = SinglePageApp(dpop=dpop, fragment=fragment)
    server.cli("client", "add", "--client-id", client_id, "--public", "--first-party",
               "--redirect-uri", app.redirect_uri)
    app.configure(server.issuer, client_id)
    yield app
    app.close()


@pytest.fixture(scope="module")
def notes(gatehouse):
    yield from _registered(gatehouse, "notes")


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


@pytest.fixture(scope="module")
def fragment_notes(gatehouse):
    yield from _registered(gatehouse, "fragment-notes", fragment=True)


def test_a_single_page_app_takes_its_code_from_the_fragment_its_server_never_sees(
        browser_page, fragment_notes, user):
    page = browser_page
    page.goto(fragment_notes.base + "/")
    page.get_by_role("button", name="Sign in", exact=True).click()
    fill_login(page, user)
    # The code came back in the fragment: the page's script read it there and redeemed it.
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#detail")).to_have_text("Refreshed")
    # The app's server served its page before and after the sign-in, and never saw the code,
    # the state or the issuer: no request to it carried a query.
    served = fragment_notes.requests
    assert served.count("/") >= 2, served
    assert [path for path in served if "?" in path or "code" in path] == [], served


@pytest.fixture(scope="module")
def bound_notes(gatehouse):
    yield from _registered(gatehouse, "bound-notes", dpop=True)


def _status(request: urllib.request.Request) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(request) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


def test_a_single_page_apps_tokens_are_of_no_use_without_its_key(browser_page, bound_notes,
                                                                  user, gatehouse):
    page = browser_page
    page.goto(bound_notes.base + "/")
    page.get_by_role("button", name="Sign in", exact=True).click()
    fill_login(page, user)
    # The app made a key WebCrypto will not export, and proved it at /token and /userinfo.
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#kind")).to_have_text("DPoP token")
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#detail")).to_have_text("Refreshed")

    # What a script injected into the page, or anyone reading the browser's storage, would
    # take: both tokens. Without the key they open nothing and refresh nothing.
    access = page.evaluate("sessionStorage.getItem('access')")
    refresh = page.evaluate("sessionStorage.getItem('refresh')")
    for scheme in ("Bearer", "DPoP"):
        status, body = _status(urllib.request.Request(
            gatehouse.issuer + "/userinfo", headers={"Authorization": f"{scheme} {access}"}))
        assert status == 401, body
    status, body = _status(urllib.request.Request(
        gatehouse.issuer + "/token", data=urllib.parse.urlencode({
            "grant_type": "refresh_token", "client_id": "bound-notes",
            "refresh_token": refresh}).encode()))
    assert (status, body["error"]) == (400, "invalid_grant")

    # The app, which holds the key, still refreshes with the same refresh token.
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#detail")).to_have_text("Refreshed")
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")


@pytest.fixture(scope="module")
def with_nonces():
    """A server of its own that requires a server nonce in every DPoP proof."""
    with tempfile.TemporaryDirectory() as directory:
        server = Gatehouse(directory, "--dpop-nonce")
        yield server
        server.stop()


@pytest.fixture(scope="module")
def nonce_notes(with_nonces):
    yield from _registered(with_nonces, "nonce-notes", dpop=True)


def test_a_single_page_app_signs_in_where_proofs_need_server_nonces(browser_page, nonce_notes,
                                                                    with_nonces):
    page = browser_page
    user = with_nonces.add_user()
    page.goto(nonce_notes.base + "/")
    page.get_by_role("button", name="Sign in", exact=True).click()
    fill_login(page, user)
    # Its first proof had no nonce: it read the one it was given from another origin, and
    # every later proof carried the newest.
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#kind")).to_have_text("DPoP token")
    expect(page.locator("#nonces")).to_have_text("with server nonces")
    page.get_by_role("button", name="Refresh").click()
    expect(page.locator("#detail")).to_have_text("Refreshed")
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
