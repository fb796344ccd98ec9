"""The account page in a browser, as a person uses it: changing their password (the other
browser is signed out, this one stays), their profile, where they are signed in, the
applications they allowed (withdrawn, and asked for again), an application that stays signed
in (signed out), their recent activity, and
removing their own account where the deployment lets them; and a deployment's branding (name,
logo, accent colour) on every page, readable at 390 px."""

import json
import tempfile
import urllib.request

import pytest
from playwright.sync_api import expect

from conftest import PASSWORD, Gatehouse, accessibility_problems, described, free_port
from mail_sink import MailSink
from relying_party import RelyingParty
from test_sign_in import fill_login, start

NEW_PASSWORD = "plum orbit lantern vivid kettle"


def open_account(page, server, user, password=PASSWORD):
    page.goto(f"{server.issuer}/account")
    fill_login(page, user, password)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")


def test_a_new_password_signs_out_the_other_browser_and_keeps_this_one(
        browser_page, browser, gatehouse, user):
    page = browser_page
    other = browser.new_context().new_page()
    open_account(other, gatehouse, user)
    open_account(page, gatehouse, user)
    sessions = page.get_by_role("table", name="Your sessions").get_by_role("row")
    expect(sessions).to_have_count(2)
    expect(sessions.first).to_contain_text("This browser")
    # Each names the browser it was signed in with, and from where.
    named = described(browser)
    for row in (sessions.first, sessions.last):
        expect(row).to_contain_text(f"{named} · from 127.0.0.1")

    page.get_by_label("Current password").fill("not my password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("alert")).to_have_text(
        "Your current password is not right, so nothing was changed.")

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_role("status")).to_have_text(
        "Your password is changed, and your one other session is signed out.")
    kept = page.get_by_role("table", name="Your sessions").get_by_role("row")
    expect(kept).to_have_count(1)
    expect(kept).to_contain_text(named)

    other.reload()
    expect(other.get_by_role("heading", level=1)).to_have_text("Sign in")
    fill_login(other, user, PASSWORD)
    expect(other.get_by_role("alert")).to_have_text("Wrong username or password.")
    fill_login(other, user, NEW_PASSWORD)
    expect(other.get_by_role("heading", level=1)).to_have_text("Your account")
    other.context.close()

    # Opened again (a reload would send the password form once more).
    page.goto(f"{gatehouse.issuer}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    activity = page.get_by_role("table", name="Your recent activity")
    expect(activity).to_contain_text("Password changed")
    expect(activity).to_contain_text("A sign-in failed: wrong password")
    # Each with the browser it was done from.
    expect(activity).to_contain_text(f"{named} · from 127.0.0.1")


def test_a_person_sees_that_a_used_token_of_theirs_ended_an_applications_sign_in(
        browser_page, first_party, gatehouse, user):
    """A copy of a refresh token the application used two refreshes ago comes back (as a
    thief's would; the one just used is a retry's, answered again): gatehouse ends that
    sign-in of the application's, and the person reads on their account page that it did."""
    page = browser_page
    start(page, first_party, scope="openid%20profile%20offline_access")
    fill_login(page, user)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"Signed in as {user}")
    for _ in range(2):
        page.goto(f"{first_party.base}/refresh")
        expect(heading).to_have_text("Refreshed")

    page.goto(f"{first_party.base}/refresh?oldest=1")
    expect(heading).to_have_text("Refresh refused")
    expect(page.locator("#error")).to_have_text("invalid_grant")
    # The token the application holds now ended with it.
    page.goto(f"{first_party.base}/refresh")
    expect(page.locator("#error")).to_have_text("invalid_grant")

    page.goto(f"{gatehouse.issuer}/account")
    expect(heading).to_have_text("Your account")
    activity = page.get_by_role("table", name="Your recent activity")
    ended = activity.get_by_role("row").filter(
        has_text="An application's sign-in was ended: a used token came back")
    expect(ended).to_have_count(1)
    # Which application, and where the token came back from.
    expect(ended).to_contain_text("team-wiki")
    expect(ended).to_contain_text("from 127.0.0.1")


def test_a_person_signs_out_an_application_that_stays_signed_in(
        browser_page, first_party, gatehouse, user):
    """An application given `offline_access` keeps the person signed in when they sign out of
    their sessions: their account page lists it, and signs it out; its next refresh is
    refused."""
    page = browser_page
    start(page, first_party, scope="openid%20profile%20offline_access")
    fill_login(page, user)
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_text(f"Signed in as {user}")

    page.goto(f"{gatehouse.issuer}/account")
    staying = page.get_by_role("table", name="Applications that stay signed in")
    expect(staying.get_by_role("row")).to_have_count(1)
    expect(staying).to_contain_text("team-wiki")
    assert accessibility_problems(page) == []
    staying.get_by_role("button", name="Sign out of team-wiki").click()
    expect(page.get_by_role("status")).to_have_text("team-wiki is signed out of your account.")
    expect(page.get_by_role("table", name="Applications that stay signed in")).to_have_count(0)
    expect(page.get_by_role("table", name="Your recent activity")).to_contain_text(
        "Signed an application out")

    page.goto(f"{first_party.base}/refresh")
    expect(heading).to_have_text("Refresh refused")
    expect(page.locator("#error")).to_have_text("invalid_grant")


def test_a_person_signs_out_another_browser_from_their_list(browser_page, browser, gatehouse,
                                                            user):
    page = browser_page
    other = browser.new_context().new_page()
    open_account(other, gatehouse, user)
    open_account(page, gatehouse, user)
    page.get_by_role("button", name="Sign out everywhere else").click()
    expect(page.get_by_role("status")).to_have_text("Your other session is signed out.")
    expect(page.locator("main")).to_contain_text("You are signed in nowhere else.")
    other.reload()
    expect(other.get_by_role("heading", level=1)).to_have_text("Sign in")
    other.context.close()


def test_a_person_withdraws_an_application_and_is_asked_again(browser_page, gatehouse,
                                                              third_party, user):
    page = browser_page
    start(page, third_party)
    fill_login(page, user)
    page.get_by_role("button", name="Allow").click()
    expect(page.locator("body")).to_contain_text("Signed in as")

    page.goto(f"{gatehouse.issuer}/account")
    apps = page.get_by_role("table", name="Applications you allowed")
    expect(apps).to_contain_text("photo-printer")
    expect(apps).to_contain_text("Know who you are")
    apps.get_by_role("button", name="Withdraw access of photo-printer").click()
    expect(page.get_by_role("status")).to_have_text(
        "photo-printer no longer has access to your account.")
    expect(page.locator("main")).to_contain_text(
        "You have not allowed any application to see your account.")
    expect(page.get_by_role("table", name="Your recent activity")).to_contain_text(
        "Withdrew an application's access")
    assert "account.consent_withdrawn" in gatehouse.cli("audit", "tail", "-n", "20")

    # The application asks again.
    start(page, third_party)
    expect(page.get_by_role("heading", level=1)).to_have_text("Allow access?")


def test_a_person_opens_an_application_they_may_use_from_their_account_page(
        browser_page, gatehouse, user):
    """An application with a home page, open to a group: its members see it on their account
    page and open it on its own origin; others do not see it."""
    page = browser_page
    # The server is shared by every browser's run: names of this run's own.
    client_id, readers = f"handbook-{user}", f"readers-{user}"
    handbook = RelyingParty("Handbook")
    try:
        gatehouse.add_client(handbook, client_id, first_party=True, extra=(
            "--display-name", "Staff handbook", "--home-uri", f"{handbook.base}/"))
        gatehouse.cli("group", "add", readers)
        gatehouse.cli("client", "access", client_id, "--group", readers)
        # The server's own address is where a person starts.
        page.goto(f"{gatehouse.issuer}/")
        fill_login(page, user)
        expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
        expect(page.get_by_role("list", name="Your applications")).to_have_count(0)

        gatehouse.cli("group", "add-member", readers, user)
        page.reload()
        apps = page.get_by_role("list", name="Your applications")
        expect(apps).to_contain_text("localhost")
        apps.get_by_role("link", name="Staff handbook").click()
        expect(page).to_have_url(f"{handbook.base}/")
        expect(page.get_by_role("heading", level=1)).to_have_text("Not signed in")
        page.get_by_role("link", name="Sign in").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(f"Signed in as {user}")
    finally:
        handbook.close()


def test_a_person_changes_their_name_and_address(browser_page, gatehouse, user):
    page = browser_page
    open_account(page, gatehouse, user)
    email = page.get_by_label("Email address")
    # Emptied first, as a person would: Playwright's fill adds to an email field's text in
    # Firefox rather than replacing it.
    email.clear()
    email.fill("somewhere else")
    page.get_by_label("Name", exact=True).fill("Grace Hopper")
    # The browser's own check stops an address without @ before it is sent.
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_count(0)
    email.clear()
    email.fill(f"{user}@example.org")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.get_by_role("status")).to_have_text("Your profile is saved.")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Grace Hopper")
    expect(page.locator("#email-help")).to_contain_text("Not confirmed")
    listed = next(line for line in gatehouse.cli("user", "list").splitlines() if user in line)
    assert f"{user}@example.org" in listed and "Grace Hopper" in listed, listed


@pytest.fixture(scope="module")
def removable():
    """A server that lets people remove their own accounts and mails them, an application on
    another origin, and the mailbox."""
    sink = MailSink()
    with tempfile.TemporaryDirectory() as directory:
        server = Gatehouse(directory, "--account-removal", "--smtp-url", sink.url,
                           "--mail-from", "Gatehouse <id@example.com>")
        rp = RelyingParty("Team wiki")
        server.add_client(rp, "team-wiki", first_party=True)
        yield server, rp, sink
        rp.close()
        server.stop()
    sink.stop()


def test_a_person_downloads_their_data_then_removes_their_account(browser_page, removable):
    page = browser_page
    server, wiki, sink = removable
    person = server.add_user("leaving")
    start(page, wiki)
    fill_login(page, person)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {person}")

    page.goto(f"{server.issuer}/account")
    # First they keep a copy of what the account holds.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download your data").click()
    assert download.value.suggested_filename == "account.json"
    with open(download.value.path()) as f:
        held = json.load(f)
    assert held["account"]["username"] == person, held
    assert len(held["sessions"]) == 1, held
    assert any(e["what"] == "login.succeeded" and e["by"] == "you"
               for e in held["activity"]), held
    assert "$argon2" not in json.dumps(held)

    page.get_by_role("link", name="Remove your account").click()
    expect(page.get_by_role("heading", name="Remove your account")).to_be_visible()
    confirm = page.get_by_label(f"Type {person} to confirm")
    confirm.fill(person.upper())
    page.get_by_role("button", name="Remove my account").click()
    expect(page.get_by_role("alert")).to_have_text(
        f"Type your username, {person}, to confirm. Your account is not removed.")
    page.get_by_label(f"Type {person} to confirm").fill(person)
    page.get_by_role("button", name="Remove my account").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account is removed")
    expect(page.locator("main")).to_contain_text(
        f"A mail telling of it is on its way to {person}@example.com.")

    # Signed out here, and their username signs in nowhere any more.
    page.goto(f"{server.issuer}/account")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
    start(page, wiki)
    fill_login(page, person)
    expect(page.get_by_role("alert")).to_have_text("Wrong username or password.")
    assert person not in server.cli("user", "list")
    # They are told by mail, at the address the account had, so that one who did not do it
    # hears of it.
    text = sink.next_to(f"{person}@example.com", "Your Gatehouse account was removed")
    assert f"Hello {person}," in text, text
    assert "was removed on its account page" in text, text
    assert "someone was signed in as you: tell your administrator" in text, text


def write_logo(path: str, size: int):
    with open(path, "w") as f:
        f.write(f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}">'
                f'<circle cx="{size / 2}" cy="{size / 2}" r="{size / 2 - 2}" fill="#005a32"/></svg>')


@pytest.fixture(scope="module")
def branded():
    with tempfile.TemporaryDirectory() as directory:
        logo = f"{directory}/logo.svg"
        write_logo(logo, 40)
        server = Gatehouse(directory, "--product-name", "Acme ID", "--accent-colour", "#005a32",
                           "--logo", logo)
        yield server
        server.stop()


def test_a_deployment_shows_its_own_name_logo_and_colour(browser, branded):
    context = browser.new_context(viewport={"width": 390, "height": 844})
    page = context.new_page()
    problems = []
    # A 4xx answer is logged as "Failed to load resource": not a problem of the page.
    page.on("console", lambda m: problems.append(m.text)
            if m.type == "error" and "Failed to load resource" not in m.text else None)
    user = branded.add_user()
    page.goto(f"{branded.issuer}/account")
    expect(page).to_have_title("Sign in · Acme ID")
    expect(page.get_by_role("banner")).to_have_text("Acme ID")
    logo = page.get_by_role("banner").locator("img")
    expect(logo).to_be_visible()
    assert page.evaluate("img => img.naturalWidth", logo.element_handle()) > 0
    button = page.get_by_role("button", name="Sign in", exact=True)
    assert button.evaluate("b => getComputedStyle(b).backgroundColor") == "rgb(0, 90, 50)"

    fill_login(page, user)
    expect(page.get_by_role("heading", level=1)).to_have_text("Your account")
    expect(page).to_have_title("Your account · Acme ID")
    # Nothing wider than a phone: no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.get_by_role("link", name="Sign out").click()
    expect(page.locator("main")).to_contain_text("Do you want to sign out of Acme ID?")
    assert problems == [], problems
    context.close()


def logo_requests(server: Gatehouse) -> int:
    """How many requests for the logo reached the server, by its own count."""
    with urllib.request.urlopen(f"{server.issuer}/metrics", timeout=10) as r:
        lines = r.read().decode().splitlines()
    return sum(int(float(line.rsplit(" ", 1)[1])) for line in lines
               if line.startswith("http_requests_total{") and 'route="/branding/logo"' in line)


def test_a_new_logo_shows_at_once_in_a_browser_that_kept_the_old_one(browser):
    """The pages name the logo by its content: a browser keeps it without asking again while it
    is unchanged, and shows the new one as soon as the operator changes it."""
    with tempfile.TemporaryDirectory() as directory:
        logo = f"{directory}/logo.svg"
        listen = ["--listen", f"127.0.0.1:{free_port()}"]
        context = browser.new_context()
        page = context.new_page()

        def shown_width():
            image = page.get_by_role("banner").locator("img")
            expect(image).to_be_visible()
            page.wait_for_function("() => document.querySelector('header img').complete")
            return image.evaluate("img => img.naturalWidth")

        write_logo(logo, 40)
        server = Gatehouse(directory, *listen, "--logo", logo)
        try:
            page.goto(f"{server.issuer}/account")
            assert shown_width() == 40
            fetched = logo_requests(server)
            assert fetched >= 1
            page.goto(f"{server.issuer}/account")
            assert shown_width() == 40
            assert logo_requests(server) == fetched, "the unchanged logo was asked for again"
        finally:
            server.stop()

        write_logo(logo, 80)
        server = Gatehouse(directory, *listen, "--logo", logo)
        try:
            page.goto(f"{server.issuer}/account")
            assert shown_width() == 80
        finally:
            server.stop()
            context.close()
