"""What a person does on gatehouse's pages, for the browsers driven through WebDriver with
Selenium (WebKit, and Firefox where it needs WebDriver's virtual authenticator), as
`test_sign_in.fill_login` and Playwright's locators do it for the rest: fields found by their
label, buttons by their name."""

from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.wait import WebDriverWait

from conftest import PASSWORD


def heading(driver, text):
    """Waits until the page's first heading says `text`."""
    WebDriverWait(driver, 10).until(
        expected_conditions.text_to_be_present_in_element((By.CSS_SELECTOR, "h1"), text))
    assert driver.find_element(By.CSS_SELECTOR, "h1").text == text


def labelled(driver, label):
    """The form field a person finds by its label, waited for until it is shown (a page's
    script may show its form after the page has loaded, as the passkey forms are)."""
    def seen(d):
        for element in d.find_elements(By.TAG_NAME, "label"):
            # A hidden label has no text for WebDriver, so only shown ones match.
            if element.text.strip() == label:
                target = element.get_attribute("for")
                field = (d.find_element(By.ID, target) if target
                         else element.find_element(By.CSS_SELECTOR, "input"))
                return field if field.is_displayed() else False
        return False
    return WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,)) \
        .until(seen, f"no field labelled {label!r} on {driver.current_url}")


def button(driver, name):
    """The one button named `name` that a person sees, waited for (a page's script may show
    it after the page has loaded, as the passkey buttons are)."""
    def seen(d):
        # A hidden button has no text for WebDriver, so only shown ones match.
        return [b for b in d.find_elements(By.TAG_NAME, "button") if b.text.strip() == name]
    buttons = WebDriverWait(driver, 10, ignored_exceptions=(StaleElementReferenceException,)) \
        .until(seen, f"no button {name!r} on {driver.current_url}")
    assert len(buttons) == 1, f"{len(buttons)} buttons {name!r} on {driver.current_url}"
    return buttons[0]


def sign_in(driver, username, password=PASSWORD):
    heading(driver, "Sign in")
    for label, value in (("Username", username), ("Password", password)):
        # After a wrong password the form keeps the username: typed over, as a person would.
        field = labelled(driver, label)
        field.clear()
        field.send_keys(value)
    button(driver, "Sign in").click()
