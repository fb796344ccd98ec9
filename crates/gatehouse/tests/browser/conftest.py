"""Fixtures of the browser suite: a real `gatehouse serve` on http://127.0.0.1:PORT, relying
parties on http://localhost:PORT (another origin, another site), and Debian's Chromium and
Firefox driven by Playwright (Firefox over WebDriver BiDi, as installed, not Playwright's own
build).

Every test that uses `browser` (or `browser_page`) runs once in each browser; a test that needs
what only one of them offers (Chromium's DevTools protocol, for a virtual authenticator) says
so with `@pytest.mark.browsers("chromium")`, and a module whose pages are the server's alone,
the same in every browser, may say it for all its tests (`pytestmark`), naming both browsers
on the tests where the browser's own part shows.

The gatehouse binary is GATEHOUSE_BIN, or target/debug/gatehouse of this workspace (built by
`cargo test` or `cargo build -p gatehouse`). Chromium is CHROMIUM, or /usr/bin/chromium;
Firefox is FIREFOX, or /usr/bin/firefox-esr. BROWSERS (`chromium,firefox,webkit` unless set)
chooses which browsers run; WebKit's tests are `test_webkit.py`, and Firefox's passkeys,
which need WebDriver's virtual authenticator, `test_firefox_passkeys.py` (both with Selenium).
"""

import os
import pathlib
import secrets
import socket
import subprocess
import tempfile
import threading
import time

import pytest
from playwright.sync_api import sync_playwright

from relying_party import RelyingParty

ROOT = pathlib.Path(__file__).resolve().parents[4]
PASSWORD = "correct horse battery staple"
SCREENSHOTS = ROOT / "target" / "browser-screenshots"


def _binary() -> str:
    path = os.environ.get("GATEHOUSE_BIN") or str(ROOT / "target" / "debug" / "gatehouse")
    if not os.path.exists(path):
        pytest.exit(f"{path} does not exist: run `cargo build -p gatehouse` first", returncode=2)
    return path


def described(browser) -> str:
    """How gatehouse names a Playwright browser from its own `User-Agent`, as the account page,
    the administration pages and mail name it."""
    return {"chromium": "Chrome on Linux", "firefox": "Firefox on Linux"}[
        browser.browser_type.name]


def free_port() -> int:
    """A port nothing listens on at the moment, for a server of a test's own."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, what: str, log=lambda: "", process=None, seconds: float = 10):
    """Waits until a server of a test's own (`what`) accepts connections on `port`; raises with
    `log()` if it does not within `seconds`, or at once if its `process` has exited."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}: {log()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{what} did not start in {seconds} s: {log()}")


class Gatehouse:
    """A running server and its command line, on one SQLite file."""

    def __init__(self, directory: str, *serve_args: str):
        self.bin = _binary()
        self.url = f"sqlite://{directory}/gatehouse.db"
        listen = [] if "--listen" in serve_args else ["--listen", "127.0.0.1:0"]
        self.process = subprocess.Popen(
            [self.bin, "--database-url", self.url, "serve", *listen, *serve_args],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "GATEHOUSE_LOG": "warn"})
        for line in self.process.stdout:
            # "gatehouse listening on http://ADDRESS (issuer URL)"
            if line.startswith("gatehouse listening on "):
                self.listen = line.split()[3]
                self.issuer = line.split("(issuer ", 1)[1].split(")", 1)[0]
                break
        else:
            raise RuntimeError("gatehouse serve exited: " + self.process.stderr.read())
        # Keep reading, so a full pipe never blocks the server.
        self.log = []
        for stream in (self.process.stdout, self.process.stderr):
            threading.Thread(target=lambda s=stream: self.log.extend(s), daemon=True).start()

    def cli(self, *args: str, stdin: str = "") -> str:
        done = subprocess.run([self.bin, "--database-url", self.url, *args], input=stdin,
                              capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            raise RuntimeError(f"gatehouse {' '.join(args)} failed: {done.stderr}")
        return done.stdout

    def add_user(self, prefix: str = "user", name: str = None) -> str:
        username = f"{prefix}{secrets.token_hex(4)}"
        args = ["user", "add", "--username", username, "--email", f"{username}@example.com"]
        if name:
            args += ["--name", name]
        self.cli(*args, stdin=PASSWORD + "\n")
        return username

    def add_client(self, rp: RelyingParty, client_id: str, first_party: bool,
                   cafile: str = None, extra: tuple = ()):
        args = ["client", "add", "--client-id", client_id,
                "--redirect-uri", rp.redirect_uri,
                "--post-logout-redirect-uri", rp.post_logout_redirect_uri, *extra]
        if first_party:
            args.append("--first-party")
        out = self.cli(*args)
        secret = next(line.split(": ", 1)[1].strip() for line in out.splitlines()
                      if line.startswith("client secret"))
        rp.configure(self.issuer, client_id, secret, cafile)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def gatehouse():
    """A server for each test module. Every browser here comes from 127.0.0.1, and a server
    counts failed sign-ins per address (20 free, then a wait that doubles), so on one server
    for the whole run the modules' wrong passwords and codes would add up until a later
    module's right password met that wait."""
    with tempfile.TemporaryDirectory() as directory:
        server = Gatehouse(directory)
        yield server
        server.stop()


@pytest.fixture(scope="module")
def first_party(gatehouse):
    """The operator's own application: no consent page."""
    rp = RelyingParty("Team wiki")
    gatehouse.add_client(rp, "team-wiki", first_party=True)
    yield rp
    rp.close()


@pytest.fixture(scope="module")
def third_party(gatehouse):
    """Someone else's application: the person is asked before it sees anything."""
    rp = RelyingParty("Photo printer")
    gatehouse.add_client(rp, "photo-printer", first_party=False)
    yield rp
    rp.close()


@pytest.fixture(scope="module")
def on_localhost():
    """A server of its own for passkeys, which need a domain name as the relying party: its
    issuer is http://localhost:PORT (browsers treat localhost as a secure context)."""
    with tempfile.TemporaryDirectory() as directory:
        port = free_port()
        server = Gatehouse(directory, "--listen", f"127.0.0.1:{port}",
                           "--issuer", f"http://localhost:{port}")
        yield server
        server.stop()


@pytest.fixture(scope="module")
def vault(on_localhost):
    """An application that requires a passkey of everyone who signs in to it."""
    rp = RelyingParty("Vault")
    on_localhost.add_client(rp, "vault", first_party=True, extra=("--auth-policy", "passkey"))
    yield rp
    rp.close()


@pytest.fixture
def user(gatehouse):
    """A fresh account per test, so failures and sessions of one test touch no other."""
    return gatehouse.add_user()


# The browsers Playwright drives here, then WebKit, which test_webkit.py drives with Selenium.
PLAYWRIGHT_BROWSERS = ("chromium", "firefox")
BROWSERS = (*PLAYWRIGHT_BROWSERS, "webkit")


def chosen_browsers():
    """The browsers BROWSERS names: all of them unless it is set."""
    chosen = os.environ.get("BROWSERS", ",".join(BROWSERS)).split(",")
    unknown = set(chosen) - set(BROWSERS)
    if unknown:
        raise pytest.UsageError(f"BROWSERS names {sorted(unknown)}; the suite knows {BROWSERS}")
    return chosen


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "browsers(*names): the browsers a test runs in, when not all of them")


def pytest_generate_tests(metafunc):
    """Runs each test that drives a browser once in every browser it may run in."""
    if "browser" not in metafunc.fixturenames:
        return
    chosen = chosen_browsers()
    marker = metafunc.definition.get_closest_marker("browsers")
    names = [b for b in (marker.args if marker else PLAYWRIGHT_BROWSERS) if b in chosen]
    if not names:
        names = [pytest.param(None, marks=pytest.mark.skip(
            reason="BROWSERS leaves out every browser this test runs in"))]
    metafunc.parametrize("browser", names, indirect=True)


class Browsers:
    """Each browser launched once, on first use, and kept for the whole run: a test in each
    browser follows the other, so module fixtures (the module's server, an application
    registered on it) are made once."""

    def __init__(self, playwright):
        self.playwright = playwright
        self.running = {}

    def get(self, name):
        if name not in self.running:
            self.running[name] = self.launch(name)
        return self.running[name]

    def launch(self, name):
        if name == "chromium":
            return self.playwright.chromium.launch(
                executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                headless=True, args=["--no-sandbox", "--disable-gpu"])
        # Debian's Firefox, driven over WebDriver BiDi ("moz-firefox": not Playwright's own
        # patched build, which cannot be downloaded here).
        return self.playwright.firefox.launch(
            channel="moz-firefox",
            executable_path=os.environ.get("FIREFOX", "/usr/bin/firefox-esr"), headless=True)

    def close(self):
        for browser in self.running.values():
            browser.close()


@pytest.fixture(scope="session")
def browsers():
    with sync_playwright() as p:
        launched = Browsers(p)
        yield launched
        launched.close()


@pytest.fixture
def browser(browsers, request):
    """The browser this run of the test is in, in which it opens profiles of its own."""
    return browsers.get(request.param)


class Watched:
    """A page whose console is recorded: a CSP violation or a script error fails the test."""

    def __init__(self, page):
        self.page = page
        self.console = []
        page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))

    def problems(self):
        # Chromium logs a 4xx page's status as a console error ("Failed to load resource"):
        # that is the page doing its job, not a problem with it.
        return [m for m in self.console
                if m.startswith(("error", "pageerror")) and "Failed to load resource" not in m]


def accessibility_problems(page) -> list:
    """What axe-core (Deque's rules: WCAG 2 A and AA, and its best practices) finds wrong with
    `page` as it is now, one line each: the rule, what it asks, and where on the page."""
    from axe_playwright_python.sync_playwright import Axe
    found = Axe().run(page).response["violations"]
    return [f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']]}"
            for v in found]


@pytest.fixture
def browser_page(browser, request):
    """A new browser profile (no cookies) and its page, checked for console problems."""
    context = browser.new_context()
    page = context.new_page()
    watched = Watched(page)
    yield page
    if failed(request):
        page.screenshot(path=str(screenshot_path(request)), full_page=True)
    context.close()
    assert watched.problems() == [], "the browser reported problems on the pages"


def failed(request) -> bool:
    """Whether the test a fixture serves failed (after its `yield`)."""
    call = getattr(request.node, "rep_call", None)
    return call is not None and call.failed


def screenshot_path(request, suffix: str = "") -> pathlib.Path:
    """Where a failing test's screenshot goes."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS / f"{request.node.name}{suffix}.png"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keeps each phase's report on the test item, so a fixture can tell a failed test."""
    outcome = yield
    report = outcome.get_result()
    setattr(item, "rep_" + report.when, report)
