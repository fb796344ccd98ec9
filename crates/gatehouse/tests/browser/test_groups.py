"""Groups as a person meets them: an application that only a group may use, and the groups an
application learns from the ID token."""

import pytest
from playwright.sync_api import expect

from relying_party import RelyingParty
from test_sign_in import fill_login, start


@pytest.fixture(scope="module")
def staff_portal(gatehouse):
    """A first-party application that only members of `staff` may use."""
    rp = RelyingParty("Staff portal")
    gatehouse.add_client(rp, "staff-portal", first_party=True)
    gatehouse.cli("group", "add", "staff")
    gatehouse.cli("client", "access", "staff-portal", "--group", "staff")
    yield rp
    rp.close()


def test_a_person_outside_the_group_is_told_and_the_app_gets_access_denied(
        browser_page, staff_portal, user):
    page = browser_page
    start(page, staff_portal)
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text("You don't have access to staff-portal")
    expect(page.locator("main")).to_contain_text("Ask your administrator for access.")
    page.get_by_role("link", name="Back to staff-portal").click()
    expect(page.get_by_role("heading")).to_have_text("Sign-in failed")
    expect(page.locator("#error")).to_have_text("access_denied")
    assert page.url.startswith(staff_portal.base + "/callback")


def test_a_member_gets_in_and_the_app_sees_the_groups(browser_page, staff_portal, user,
                                                      gatehouse):
    gatehouse.cli("group", "add-member", "staff", user)
    page = browser_page
    start(page, staff_portal, scope="openid%20profile%20groups")
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")
    expect(page.locator("#groups")).to_have_text("staff")
