"""The administration pages in a browser: the first administrator is made with the command line;
they find a person, disable their account (who can then no longer sign in), and see it in the
audit log under their own name; they let a person locked out by wrong passwords sign in again;
someone else who opens the pages is told they are not for them."""

import json
import re
import tempfile

import pytest
from playwright.sync_api import expect

from conftest import ROOT, Gatehouse, Watched, described
from relying_party import RelyingParty
from test_sign_in import fill_login, start

# The administration pages are forms the server renders and checks, the same in every
# browser: they run in Chromium, and in Firefox too where a browser's own part shows (a file
# upload, a confirmation typed before a button works, a page refused).
pytestmark = pytest.mark.browsers("chromium")


def sign_in_as_administrator(page, server, login=fill_login) -> str:
    """A new administrator (the first one is made with the command line, as an operator
    does), signed in on `page` by `login` (the form's labels are in the server's language);
    their username."""
    admin = server.add_user("admin")
    if "admins" not in server.cli("group", "list"):
        server.cli("group", "add", "admins")
    server.cli("group", "add-member", "admins", admin)
    page.goto(f"{server.issuer}/account")
    login(page, admin)
    return admin


def cannot_sign_in(browser, gatehouse, username):
    """`username`, in a browser of their own, is told their password is wrong."""
    other = browser.new_context().new_page()
    other.goto(f"{gatehouse.issuer}/account")
    fill_login(other, username)
    expect(other.get_by_role("alert")).to_have_text("Wrong username or password.")
    other.context.close()


def test_an_administrator_withdraws_what_a_person_allowed_an_application(
        browser_page, browser, gatehouse, third_party):
    page = browser_page
    person = gatehouse.add_user("allowing")
    start(page, third_party)
    fill_login(page, person)
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("body")).to_contain_text("Signed in as")

    admin = browser.new_context().new_page()
    try:
        sign_in_as_administrator(admin, gatehouse)
        admin.goto(f"{gatehouse.issuer}/admin/users/{person}")
        allowed = admin.get_by_role("table", name=f"Applications {person} allowed")
        expect(allowed).to_contain_text("photo-printer")
        allowed.get_by_role("button", name="Withdraw access of photo-printer").click()
        expect(admin.get_by_role("status")).to_have_text(
            "photo-printer no longer has access to their account: its tokens for them stop "
            "working, and it asks them again next time.")
        expect(admin.get_by_role("table", name=f"Applications {person} allowed")).to_have_count(0)
    finally:
        admin.context.close()
    assert "admin.consent.revoked" in gatehouse.cli("audit", "tail", "-n", "20")

    # The application asks the person again.
    start(page, third_party)
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow access?")


def test_an_administrator_disables_an_account_and_finds_it_in_the_audit_log(
        browser_page, browser, gatehouse):
    page = browser_page
    person = gatehouse.add_user("person")
    sign_in_as_administrator(page, gatehouse)
    page.get_by_role("link", name="Administration").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    page.get_by_label("Username, name or email address").fill(person)
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name=person).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(person)
    page.get_by_role("button", name="Disable the account").click()
    expect(page.get_by_role("status")).to_have_text("The account is disabled.")

    cannot_sign_in(browser, gatehouse, person)

    page.get_by_role("link", name="Their activity in the audit log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Audit log")
    records = page.get_by_role("table", name="Audit log")
    disabled = records.get_by_role("row").filter(has_text="admin.user.disabled")
    expect(disabled).to_have_count(1)
    expect(disabled).to_contain_text("user:")
    # The failed sign-in came after, and is listed above it, with the browser it came from.
    expect(records.get_by_role("row").first).to_contain_text("login.failed")
    expect(records.get_by_role("row").first).to_contain_text(described(browser))


@pytest.fixture(scope="module")
def strict():
    """A server that locks an account out at its second failed sign-in."""
    with tempfile.TemporaryDirectory() as directory:
        server = Gatehouse(directory, "--login-lockout-after", "2")
        yield server
        server.stop()


def test_an_administrator_lets_a_locked_out_person_sign_in_again(browser_page, browser, strict):
    """A person's wrong passwords lock them out, and even the right one is refused; their
    administration page says until when, and the administrator lets them in again at once."""
    person = strict.add_user("locked")
    theirs = browser.new_context().new_page()
    theirs.goto(f"{strict.issuer}/account")
    for _ in range(2):
        fill_login(theirs, person, "not the password")
        expect(theirs.get_by_role("alert")).to_have_text("Wrong username or password.")
    fill_login(theirs, person)
    expect(theirs.get_by_role("alert")).to_contain_text(
        "Too many failed attempts. Try again in 15 minutes, or ask an administrator to let you "
        "sign in sooner.")

    page = browser_page
    sign_in_as_administrator(page, strict)
    page.goto(f"{strict.issuer}/admin/users/{person}")
    expect(page.locator("main")).to_contain_text("cannot sign in until")
    page.get_by_role("button", name="Let them sign in again now").click()
    expect(page.get_by_role("status")).to_have_text(
        "They can sign in again now: their failed attempts are forgotten.")
    expect(page.locator("main")).not_to_contain_text("cannot sign in until")
    expect(page.get_by_role("button", name="Let them sign in again now")).to_have_count(0)

    fill_login(theirs, person)
    expect(theirs.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(theirs.get_by_role("table", name="Your recent activity")).to_contain_text(
        "Allowed to sign in again by an administrator")
    theirs.context.close()


def test_an_administrator_sees_which_of_a_persons_sessions_is_kept_signed_in(
        browser_page, browser, gatehouse):
    """A person signs in elsewhere ticking Keep me signed in; their administration page says
    until when that session is kept."""
    page = browser_page
    person = gatehouse.add_user("keeper")
    theirs = browser.new_context().new_page()
    theirs.goto(f"{gatehouse.issuer}/account")
    theirs.get_by_label("Keep me signed in on this device").check()
    fill_login(theirs, person)
    expect(theirs.get_by_role("heading", level=1)).to_have_text("Your account")
    theirs.context.close()
    sign_in_as_administrator(page, gatehouse)
    page.goto(f"{gatehouse.issuer}/admin/users/{person}")
    expect(page.get_by_role("heading", level=1)).to_have_text(person)
    expect(page.locator("main")).to_contain_text("kept signed in until")


def test_an_administrator_sets_a_persons_language_and_they_are_answered_in_it(
        browser_page, browser, gatehouse):
    page = browser_page
    person = gatehouse.add_user("person")
    sign_in_as_administrator(page, gatehouse)
    page.goto(f"{gatehouse.issuer}/admin/users/{person}")
    expect(page.get_by_role("heading", level=1)).to_have_text(person)
    account = page.get_by_role("table", name="Account")
    expect(account.get_by_role("row").filter(has_text="Language")).to_contain_text("—")
    page.get_by_label("Language", exact=True).select_option(label="Deutsch")
    page.get_by_role("button", name="Set their language").click()
    expect(page.get_by_role("status")).to_contain_text("Their language is saved")
    expect(account.get_by_role("row").filter(has_text="Language")).to_contain_text("Deutsch")

    # Their browser asks for English; from their sign-in on, the pages speak German.
    other = browser.new_context(locale="en-US").new_page()
    other.goto(f"{gatehouse.issuer}/account")
    expect(other).to_have_title("Sign in · Gatehouse")
    fill_login(other, person)
    expect(other.get_by_role("heading", level=1)).to_have_text("Ihr Konto")
    other.context.close()


@pytest.mark.browsers("chromium", "firefox")
def test_the_pages_are_not_for_everyone(browser_page, gatehouse, user):
    page = browser_page
    page.goto(f"{gatehouse.issuer}/account")
    fill_login(page, user)
    expect(page.get_by_role("link", name="Administration")).to_have_count(0)
    response = page.goto(f"{gatehouse.issuer}/admin")
    assert response.status == 403
    expect(page.get_by_role("heading", level=1)).to_have_text("This page is for administrators")
    assert "admin.console_refused" in gatehouse.cli("audit", "tail", "-n", "10")


def test_an_administrator_makes_a_group_and_adds_a_member(browser_page, gatehouse):
    page = browser_page
    member = gatehouse.add_user("member")
    sign_in_as_administrator(page, gatehouse)
    page.goto(f"{gatehouse.issuer}/admin/groups")
    name = f"team-{member[-8:]}"
    # A name of dots alone would be no link the console could open: the form will not send it.
    page.get_by_label("Name", exact=True).fill("..")
    page.get_by_role("button", name="Add", exact=True).click()
    assert page.get_by_label("Name", exact=True).evaluate("e => e.validity.patternMismatch")
    expect(page.get_by_role("heading", level=1)).to_have_text("Groups")
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Signing in takes").select_option("two_factor")
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.get_by_role("status")).to_have_text("The group is added.")
    expect(page.locator("main")).to_contain_text("Signing in takes: two-step verification")
    page.get_by_label("Add a member (username)").fill(member)
    page.get_by_role("button", name="Add", exact=True).click()
    expect(page.get_by_role("status")).to_have_text(f"{member} is in the group now.")
    expect(page.get_by_role("table", name="Members")).to_contain_text(member)
    assert member in gatehouse.cli("group", "members", name)
    # The groups page counts the members.
    page.get_by_role("link", name="Groups", exact=True).click()
    row = page.get_by_role("table", name="Groups").get_by_role("row").filter(has_text=name)
    expect(row).to_contain_text("1 member · two-step verification")


def test_an_administrator_gives_a_person_a_claim_that_an_application_reads(
        browser_page, browser, gatehouse):
    page = browser_page
    person = gatehouse.add_user("claimed")
    rp = RelyingParty("Claims reader")
    try:
        client_id = f"claims-{person[-8:]}"
        gatehouse.add_client(rp, client_id, first_party=True)
        sign_in_as_administrator(page, gatehouse)
        page.goto(f"{gatehouse.issuer}/admin/users/{person}")
        field = page.get_by_label(re.compile("^Claims, as a JSON object"))
        expect(field).to_have_value("{}")
        # A standard claim is not the administrator's to set: refused, what was typed kept.
        field.fill('{"email": "someone.else@example.com"}')
        page.get_by_role("button", name="Save claims").click()
        expect(page.get_by_role("alert")).to_contain_text("standard claim")
        expect(field).to_have_value('{"email": "someone.else@example.com"}')
        field.fill('{"department": "research"}')
        page.get_by_role("button", name="Save claims").click()
        expect(page.get_by_role("status")).to_contain_text("The claims are saved")
        assert json.loads(gatehouse.cli("user", "claims", person)) == {"department": "research"}

        # The person signs in to the application, on another origin, which reads the claim
        # from the ID token it asked the profile scope for.
        other = browser.new_context().new_page()
        start(other, rp, scope="openid%20profile")
        fill_login(other, person)
        expect(other.get_by_role("heading")).to_have_text(f"Signed in as {person}")
        expect(other.locator("#department")).to_have_text("research")
        expect(other.locator("#token-department")).to_have_text("")
        # And the person sees on their own page what applications are told about them.
        other.goto(f"{gatehouse.issuer}/account")
        given = other.get_by_label("Given to you by your administrators")
        expect(given).to_contain_text("department")
        expect(given).to_contain_text("research")
        other.context.close()

        # Its API reads only the access token: on the application's page, the administrator
        # has its access tokens made JWTs that carry the claim.
        page.goto(f"{gatehouse.issuer}/admin/clients/{client_id}")
        page.get_by_label("Access tokens", exact=True).select_option("jwt")
        page.get_by_label("Claims about the person in its access tokens").fill("department")
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("status")).to_have_text("The settings are saved.")
        other = browser.new_context().new_page()
        start(other, rp, scope="openid%20profile")
        fill_login(other, person)
        expect(other.get_by_role("heading")).to_have_text(f"Signed in as {person}")
        expect(other.locator("#token-department")).to_have_text("research")
        other.context.close()
    finally:
        rp.close()


def test_an_administrator_registers_the_api_an_applications_tokens_are_for(
        browser_page, browser, gatehouse):
    """An application on another origin asks for a token for its API (a resource
    indicator): refused until the administrator registers that API on the application's page;
    then the person's consent page names the API, and the token it gets says it is for that
    API, which is what the API checks."""
    page = browser_page
    person = gatehouse.add_user("api-user")
    rp = RelyingParty("Orders")
    api = "https://orders.example/api"
    try:
        client_id = f"orders-{person[-8:]}"
        gatehouse.add_client(rp, client_id, first_party=False,
                             extra=("--access-token-format", "jwt"))
        sign_in_as_administrator(page, gatehouse)
        other = browser.new_context().new_page()
        start(other, rp, resource="https%3A%2F%2Forders.example%2Fapi")
        expect(other.get_by_role("heading")).to_have_text("Sign-in failed")
        expect(other.locator("#error")).to_have_text("invalid_target")
        other.context.close()

        page.goto(f"{gatehouse.issuer}/admin/clients/{client_id}")
        field = page.get_by_label("APIs its access tokens may be for")
        expect(field).to_have_value("")
        field.fill(f"{api}#orders")
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("alert")).to_contain_text("has a fragment")
        field.fill(f"{api}\nurn:example:billing")
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("status")).to_have_text("The settings are saved.")
        expect(field).to_have_value(f"{api}\nurn:example:billing")

        other = browser.new_context().new_page()
        start(other, rp, resource="https%3A%2F%2Forders.example%2Fapi")
        fill_login(other, person)
        expect(other.get_by_role("heading")).to_have_text("Allow access?")
        expect(other.get_by_text("And act for you at these services:")).to_be_visible()
        expect(other.locator("#asked-resources li")).to_have_text([api])
        other.get_by_role("button", name="Allow").click()
        expect(other.get_by_role("heading")).to_have_text(f"Signed in as {person}")
        expect(other.locator("#token-audience")).to_have_text(f'"{api}"')
        other.context.close()
        # Without a resource, its token is for the application itself, as before (the consent
        # given covers its scopes: not asked again).
        other = browser.new_context().new_page()
        start(other, rp)
        fill_login(other, person)
        expect(other.locator("#token-audience")).to_have_text(f'"{client_id}"')
        other.context.close()

        # The API's own registration answers for it: the administrator names the API on its
        # page (a public application's page does not offer it).
        api_client = f"orders-api-{person[-8:]}"
        gatehouse.cli("client", "add", "--client-id", api_client,
                      "--grant-type", "client_credentials")
        page.goto(f"{gatehouse.issuer}/admin/clients/{api_client}")
        answers = page.get_by_label("APIs it answers for")
        expect(answers).to_have_value("")
        answers.fill(api)
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("status")).to_have_text("The settings are saved.")
        expect(answers).to_have_value(api)
        listed = json.loads(gatehouse.cli("client", "list", "--json"))
        registered = next(c for c in listed if c["client_id"] == api_client)
        assert registered["introspects"] == [api], registered
    finally:
        rp.close()


def test_an_administrator_registers_an_application_and_sees_its_secret_once(browser_page,
                                                                           gatehouse):
    page = browser_page
    admin = sign_in_as_administrator(page, gatehouse)
    page.goto(f"{gatehouse.issuer}/admin/clients")
    client_id = f"wiki-{admin[-8:]}"
    page.get_by_label("Client id").fill(client_id)
    page.get_by_label("Name people see").fill("Team wiki")
    page.get_by_label("Redirect URIs").fill("https://wiki.example/callback")
    page.get_by_label("First-party").check()
    page.get_by_role("button", name="Register an application").click()
    expect(page.get_by_role("status")).to_have_text("The application is registered.")
    secret = page.locator("#client-secret").inner_text()
    assert len(secret) == 43, secret
    page.get_by_role("link", name="I have put it into the application").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Team wiki")
    assert secret not in page.content(), "shown once"
    page.get_by_label("admins").check()
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Who may use it is saved.")
    assert "admins" in gatehouse.cli("client", "access", client_id)


def test_an_administrator_registers_an_application_that_signs_with_its_key(browser_page,
                                                                           gatehouse):
    page = browser_page
    admin = sign_in_as_administrator(page, gatehouse)
    app = RelyingParty("Payroll")
    try:
        keys = app.use_key()
        client_id = f"payroll-{admin[-8:]}"
        page.goto(f"{gatehouse.issuer}/admin/clients")
        page.get_by_label("Client id").fill(client_id)
        page.get_by_label("Redirect URIs").fill(app.redirect_uri)
        # The private key pasted by mistake: refused, nothing registered.
        private = {"keys": [{**keys["keys"][0], "d": "c2VjcmV0"}]}
        page.get_by_label("Its public keys").fill(json.dumps(private))
        page.get_by_role("button", name="Register an application").click()
        expect(page.get_by_role("alert")).to_contain_text("register the public key only")
        assert client_id not in gatehouse.cli("client", "list")

        page.get_by_label("Client id").fill(client_id)
        page.get_by_label("Redirect URIs").fill(app.redirect_uri)
        page.get_by_label("Its public keys").fill(json.dumps(keys))
        page.get_by_role("button", name="Register an application").click()
        expect(page.get_by_role("status")).to_have_text("The application is registered.")
        expect(page.get_by_role("heading", level=1)).to_have_text(client_id)
        expect(page.get_by_role("table", name="Applications")).to_contain_text(
            "signs with its keys")
        expect(page.get_by_role("heading", name="New secret")).to_have_count(0)
        expect(page.get_by_label("Its public keys")).to_have_value(re.compile(app.kid))

        # The keys it signs with next, beside the old: replaced, and the page shows them.
        old_kid = app.kid
        more = app.use_key()
        both = {"keys": keys["keys"] + more["keys"]}
        page.get_by_label("Its public keys").fill(json.dumps(both))
        page.get_by_role("button", name="Replace the keys").click()
        expect(page.get_by_role("status")).to_contain_text("The keys are replaced")
        expect(page.get_by_label("Its public keys")).to_contain_text(old_kid)
        expect(page.get_by_label("Its public keys")).to_have_value(re.compile(app.kid))
        listed = json.loads(gatehouse.cli("client", "list", "--json"))
        mine = next(c for c in listed if c["client_id"] == client_id)
        assert mine["token_endpoint_auth_method"] == "private_key_jwt", mine
        assert len(mine["jwks"]["keys"]) == 2, mine

        # Its sign-in requests required signed from now on: saved, and shown ticked.
        signed_only = page.get_by_label("Its sign-in requests must be signed")
        signed_only.check()
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("status")).to_have_text("The settings are saved.")
        expect(page.get_by_label("Its sign-in requests must be signed")).to_be_checked()
        listed = json.loads(gatehouse.cli("client", "list", "--json"))
        mine = next(c for c in listed if c["client_id"] == client_id)
        assert mine["require_signed_request_object"] is True, mine
    finally:
        app.close()


def test_an_administrator_changes_a_persons_name_and_address(browser_page, gatehouse):
    page = browser_page
    person = gatehouse.add_user("person", name="Pat Example")
    sign_in_as_administrator(page, gatehouse)
    page.goto(f"{gatehouse.issuer}/admin/users/{person}")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Pat Example")
    page.get_by_label("Name", exact=True).fill("Patricia Example")
    # Firefox's fill() types after the value an email field holds, so it is emptied first.
    page.get_by_label("Email address").clear()
    page.get_by_label("Email address").fill(f"patricia.{person}@example.com")
    page.get_by_role("button", name="Save the name and address").click()
    expect(page.get_by_role("status")).to_have_text("The name and address are saved.")
    account = page.get_by_role("table", name="Account")
    expect(account).to_contain_text("Patricia Example")
    expect(account).to_contain_text(f"patricia.{person}@example.com · Not confirmed")
    listed = json.loads(gatehouse.cli("user", "list", "--json"))
    mine = next(u for u in listed if u["username"] == person)
    assert (mine["name"], mine["email"]) == ("Patricia Example",
                                              f"patricia.{person}@example.com"), mine

    # The person reads what the administrator changed, but not where they work from: their
    # own sign-in, from the same address, says it.
    theirs = page.context.browser.new_context().new_page()
    theirs.goto(f"{gatehouse.issuer}/account")
    fill_login(theirs, person)
    activity = theirs.get_by_role("table", name="Your recent activity")
    for by_administrator in ("Profile changed", "Email address changed"):
        row = activity.get_by_role("row").filter(has_text=by_administrator)
        expect(row).to_have_count(1)
        expect(row).not_to_contain_text("127.0.0.1")
    signed_in = activity.get_by_role("row").filter(has_text="Signed in")
    expect(signed_in).to_contain_text("from 127.0.0.1")
    theirs.context.close()


@pytest.mark.browsers("chromium", "firefox")
def test_an_administrator_removes_an_account_once_its_name_is_typed(browser_page, browser,
                                                                      gatehouse):
    page = browser_page
    person = gatehouse.add_user("person")
    sign_in_as_administrator(page, gatehouse)
    page.goto(f"{gatehouse.issuer}/admin/users/{person}")
    page.get_by_label(f"Type {person} to confirm").fill(person[:-1])
    page.get_by_role("button", name="Remove the account").click()
    expect(page.get_by_role("alert")).to_have_text(
        "What was typed is not the name asked for, so nothing was removed.")
    page.get_by_label(f"Type {person} to confirm").fill(person)
    page.get_by_role("button", name="Remove the account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("People")
    expect(page.get_by_role("status")).to_have_text(f"{person}'s account is removed.")

    cannot_sign_in(browser, gatehouse, person)
    assert person not in gatehouse.cli("user", "list")


def test_an_administrator_registers_an_application_that_publishes_its_keys(browser_page,
                                                                           gatehouse):
    page = browser_page
    admin = sign_in_as_administrator(page, gatehouse)
    client_id = f"ledger-{admin[-8:]}"
    page.goto(f"{gatehouse.issuer}/admin/clients")
    page.get_by_label("Client id").fill(client_id)
    page.get_by_label("Redirect URIs").fill("https://ledger.example/callback")
    # Plain http elsewhere than this machine: refused, said at the top.
    page.get_by_label("Its keys, fetched from").fill("http://ledger.example/jwks")
    page.get_by_role("button", name="Register an application").click()
    expect(page.get_by_role("alert")).to_contain_text("not an https URL")

    page.get_by_label("Client id").fill(client_id)
    page.get_by_label("Redirect URIs").fill("https://ledger.example/callback")
    page.get_by_label("Its keys, fetched from").fill("https://ledger.example/jwks")
    page.get_by_role("button", name="Register an application").click()
    expect(page.get_by_role("status")).to_have_text("The application is registered.")
    table = page.get_by_role("table", name="Applications")
    expect(table).to_contain_text("signs with its keys")
    expect(table).to_contain_text("https://ledger.example/jwks")
    expect(page.get_by_role("heading", name="New secret")).to_have_count(0)

    page.get_by_label("Its keys, fetched from").fill("https://keys.ledger.example/jwks")
    page.get_by_role("button", name="Fetch its keys from here").click()
    expect(page.get_by_role("status")).to_have_text(
        "Its keys are fetched from there from now on.")
    expect(page.get_by_role("table", name="Applications")).to_contain_text(
        "https://keys.ledger.example/jwks")
    listed = json.loads(gatehouse.cli("client", "list", "--json"))
    mine = next(c for c in listed if c["client_id"] == client_id)
    assert mine["jwks_uri"] == "https://keys.ledger.example/jwks", mine


def test_an_administrator_changes_an_applications_settings(browser_page, gatehouse):
    page = browser_page
    admin = sign_in_as_administrator(page, gatehouse)
    client_id = f"board-{admin[-8:]}"
    gatehouse.cli("client", "add", "--client-id", client_id, "--public",
                  "--redirect-uri", "http://localhost:9/cb")
    page.goto(f"{gatehouse.issuer}/admin/clients/{client_id}")
    expect(page.get_by_label("Redirect URIs")).to_have_value("http://localhost:9/cb")
    # A rule broken: said at the top, nothing changed, the form as it was.
    page.get_by_label("Redirect URIs").fill("http://board.example/cb")
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_role("alert")).to_contain_text("refused")
    expect(page.get_by_label("Redirect URIs")).to_have_value("http://localhost:9/cb")

    page.get_by_label("Name people see").fill("Project board")
    page.get_by_label("Redirect URIs").fill("http://localhost:9/cb\nhttps://board.example/cb")
    page.get_by_label("email: their email address").uncheck()
    page.get_by_label("Signing in takes").select_option("passkey")
    page.get_by_label("Its tokens must be bound to a key it holds (DPoP)").check()
    page.get_by_role("button", name="Save the settings").click()
    expect(page.get_by_role("status")).to_have_text("The settings are saved.")
    expect(page.get_by_role("heading", level=1)).to_have_text("Project board")
    expect(page.get_by_label("Its tokens must be bound to a key it holds (DPoP)")).to_be_checked()
    mine = next(c for c in json.loads(gatehouse.cli("client", "list", "--json"))
                if c["client_id"] == client_id)
    assert mine["dpop_bound_access_tokens"] is True, mine
    expect(page.get_by_label("Redirect URIs")).to_have_value(
        "http://localhost:9/cb\nhttps://board.example/cb")
    expect(page.get_by_label("email: their email address")).not_to_be_checked()
    expect(page.get_by_label("Signing in takes")).to_have_value("passkey")
    listed = gatehouse.cli("client", "list")
    assert "https://board.example/cb" in listed, listed
    assert "admin.client.updated" in gatehouse.cli("audit", "tail", "-n", "5")


def test_an_administrator_gives_an_application_pairwise_subjects(browser_page, browser,
                                                                  gatehouse):
    """The application, on another origin, knows a person by their id; once the administrator
    gives it a sector of its own, by an id of that sector alone, the same at its ID token and
    at /userinfo (the application checks), and its sign-out link, which sends back an ID token
    naming the person so, still signs them out at once."""
    page = browser_page
    person = gatehouse.add_user("paired")
    rp = RelyingParty("Pairwise reader")
    try:
        client_id = f"pairwise-{person[-8:]}"
        gatehouse.add_client(rp, client_id, first_party=True)

        def sub_seen(context):
            app = context.new_page()
            start(app, rp)
            fill_login(app, person)
            expect(app.get_by_role("heading")).to_have_text(f"Signed in as {person}")
            return app, app.locator("#sub").inner_text()

        before = browser.new_context()
        _, public_sub = sub_seen(before)
        before.close()
        mine = next(u for u in json.loads(gatehouse.cli("user", "list", "--json"))
                    if u["username"] == person)
        assert public_sub == mine["id"], (public_sub, mine)

        sign_in_as_administrator(page, gatehouse)
        page.goto(f"{gatehouse.issuer}/admin/clients/{client_id}")
        kind = page.get_by_label("Who it knows people as (sub)")
        expect(kind).to_have_value("public")
        # Its redirect address is on the local machine, a host of no sector: it needs one.
        kind.select_option("pairwise")
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("alert")).to_contain_text("give its sector")
        expect(page.get_by_label("Who it knows people as (sub)")).to_have_value("public")
        page.get_by_label("Who it knows people as (sub)").select_option("pairwise")
        page.get_by_label("Sector", exact=True).fill("pairwise.example")
        page.get_by_role("button", name="Save the settings").click()
        expect(page.get_by_role("status")).to_have_text("The settings are saved.")
        expect(page.get_by_label("Who it knows people as (sub)")).to_have_value("pairwise")
        expect(page.get_by_label("Sector", exact=True)).to_have_value("pairwise.example")

        after = browser.new_context()
        app, pairwise_sub = sub_seen(after)
        assert pairwise_sub != public_sub and len(pairwise_sub) == 43, pairwise_sub
        assert person not in pairwise_sub
        app.get_by_role("link", name="Sign out").click()
        expect(app.get_by_role("heading")).to_have_text("You have signed out of the app")
        after.close()
    finally:
        rp.close()


LOGO = ROOT / "crates" / "gatehouse" / "tests" / "common" / "logo.png"


def logo_shown(page, width: int = 64):
    """Waits until the page shows an application's logo, loaded (a blocked or broken image has
    no width)."""
    page.wait_for_function(
        """width => [...document.querySelectorAll('img.app-logo')]
                     .some(i => i.complete && i.naturalWidth === width)""",
        arg=width)


@pytest.mark.browsers("chromium", "firefox")
def test_an_administrator_gives_an_application_a_logo_people_see_where_they_sign_in(
        browser_page, browser, gatehouse, tmp_path):
    """The administrator uploads an image as the application's logo (a file that is no image
    is refused in words); a person signing in to that application, on another origin, sees it
    on the sign-in and consent pages, loaded from gatehouse itself, and beside its name on their
    account page; once removed, it is gone."""
    page = browser_page
    rp = RelyingParty("Logo printer")
    try:
        admin = sign_in_as_administrator(page, gatehouse)
        client_id = f"logo-{admin[-8:]}"
        gatehouse.add_client(rp, client_id, first_party=False,
                             extra=("--home-uri", f"{rp.base}/"))
        page.goto(f"{gatehouse.issuer}/admin/clients/{client_id}")
        notes = tmp_path / "notes.txt"
        notes.write_text("not an image")
        page.get_by_label("Image", exact=True).set_input_files(str(notes))
        page.get_by_role("button", name="Upload the logo").click()
        expect(page.get_by_role("alert")).to_contain_text("not a PNG, JPEG, WebP or SVG image")
        expect(page.locator("main img.app-logo")).to_have_count(0)
        page.get_by_label("Image", exact=True).set_input_files(str(LOGO))
        page.get_by_role("button", name="Upload the logo").click()
        expect(page.get_by_role("status")).to_have_text("The logo is saved.")
        logo_shown(page)
        # The applications list shows it beside the application's name.
        page.goto(f"{gatehouse.issuer}/admin/clients")
        expect(page.locator("main").get_by_role("link", name=client_id)).to_be_visible()
        logo_shown(page)
        page.goto(f"{gatehouse.issuer}/admin/clients/{client_id}")

        person = gatehouse.add_user("logo")
        context = browser.new_context()
        app = context.new_page()
        watched = Watched(app)
        start(app, rp)
        expect(app).to_have_title("Sign in · Gatehouse")
        logo_shown(app)
        src = app.locator("img.app-logo").get_attribute("src")
        assert src.startswith(f"{gatehouse.issuer}/clients/{client_id}/logo?v="), src
        fill_login(app, person)
        expect(app.get_by_role("heading")).to_have_text("Allow access?")
        logo_shown(app)
        app.get_by_role("button", name="Allow").click()
        expect(app.get_by_role("heading")).to_have_text(f"Signed in as {person}")
        # Their account page lists the application with its logo, a link to its home page.
        app.goto(f"{gatehouse.issuer}/account")
        listed = app.get_by_role("list", name="Your applications").get_by_role(
            "link", name=client_id)
        expect(listed).to_have_attribute("href", f"{rp.base}/")
        logo_shown(app)
        assert watched.problems() == [], watched.problems()
        context.close()

        page.get_by_role("button", name="Remove the logo").click()
        expect(page.get_by_role("status")).to_have_text("The logo is removed.")
        expect(page.locator("main img.app-logo")).to_have_count(0)
        assert page.request.get(src).status == 404
    finally:
        rp.close()


def test_an_administrator_rotates_a_signing_key(browser_page, gatehouse):
    page = browser_page
    sign_in_as_administrator(page, gatehouse)
    page.goto(f"{gatehouse.issuer}/admin")
    page.get_by_role("link", name="Signing keys").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Signing keys")
    page.get_by_label("Keys to replace").select_option("ES256")
    page.get_by_role("button", name="Rotate").click()
    expect(page.get_by_role("status")).to_have_text(
        "A new key is published; it signs in five minutes.")
    assert "admin.key.rotated" in gatehouse.cli("audit", "tail", "-n", "5")


def test_without_mail_an_administrator_hands_over_a_reset_link(browser_page, browser,
                                                                gatehouse):
    page = browser_page
    person = gatehouse.add_user("forgetful")
    sign_in_as_administrator(page, gatehouse)
    page.goto(f"{gatehouse.issuer}/admin/users/{person}")
    expect(page.get_by_role("button", name="Send a password reset link")).to_have_count(0)
    page.get_by_role("button", name="Make a password reset link").click()
    expect(page.get_by_role("status")).to_have_text(
        f"A password reset link for {person} is made.")
    link = page.locator("#link-to-hand-over").inner_text()
    page.get_by_role("link", name="I have given it to them").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(person)
    assert link not in page.content(), "shown once"

    theirs = browser.new_context().new_page()
    theirs.goto(link)
    expect(theirs.get_by_role("heading", level=1)).to_have_text("Choose a new password")
    theirs.get_by_label("New password", exact=True).fill("lantern orbit plum vivid kettle")
    theirs.get_by_label("New password again").fill("lantern orbit plum vivid kettle")
    theirs.get_by_role("button", name="Set the new password").click()
    expect(theirs.get_by_role("heading", level=1)).to_have_text("Your password is changed")
    theirs.get_by_role("link", name="Go to your account").click()
    fill_login(theirs, person, "lantern orbit plum vivid kettle")
    expect(theirs.get_by_role("heading", level=1)).to_have_text("Your account")
    theirs.context.close()
    assert "admin.user.reset_link_made" in gatehouse.cli("audit", "tail", "-n", "10")
