"""The TLS recipe (docs/gatehouse/tls.md), end to end: Debian's Caddy terminates https with its
own internal CA in front of gatehouse; Chromium and Firefox trust that CA (and nothing is waved
through), sign in to an application through the proxy, and get `Secure`, `__Host-` cookies.
Gatehouse listens on loopback only and believes X-Forwarded-For from the proxy alone.

Needs the Debian packages caddy and libnss3-tools (CI installs them); without them these tests
are skipped, unless GATEHOUSE_REQUIRE_FAULTS is set (CI), which fails them.
"""

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import time

import pytest
from playwright.sync_api import expect

from conftest import Gatehouse, Watched, failed, free_port, screenshot_path, wait_for_port
from relying_party import RelyingParty
from test_sign_in import fill_login


class Caddy:
    """Caddy with the recipe's site block, on its own port, data and CA."""

    def __init__(self, directory: pathlib.Path, port: int, upstream: str):
        self.home = directory / "caddy-home"
        self.home.mkdir()
        self.env = {**os.environ, "HOME": str(self.home),
                    "XDG_DATA_HOME": str(self.home / "data"),
                    "XDG_CONFIG_HOME": str(self.home / "config")}
        caddyfile = directory / "Caddyfile"
        # The recipe's block, with `tls internal` (no public name here) and a port of its own.
        caddyfile.write_text(f"""{{
    admin off
    skip_install_trust
    auto_https disable_redirects
}}

https://localhost:{port} {{
    tls internal
    reverse_proxy {upstream}
}}
""")
        self.log = directory / "caddy.log"
        self.process = subprocess.Popen(
            ["caddy", "run", "--config", str(caddyfile), "--adapter", "caddyfile"],
            stdout=self.log.open("w"), stderr=subprocess.STDOUT, env=self.env)
        wait_for_port(port, "Caddy", lambda: self.log.read_text())
        self.root = self.home / "data" / "caddy" / "pki" / "authorities" / "local" / "root.crt"
        for _ in range(100):
            if self.root.exists():
                break
            time.sleep(0.1)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)


@pytest.fixture(scope="module")
def behind_caddy():
    """Gatehouse at https://localhost:PORT through Caddy, and an application configured for
    it; yields (gatehouse, rp, the CA's root certificate)."""
    missing = [tool for tool in ("caddy", "certutil") if shutil.which(tool) is None]
    if missing:
        if os.environ.get("GATEHOUSE_REQUIRE_FAULTS"):
            pytest.fail(f"{', '.join(missing)} must be installed (caddy, libnss3-tools)")
        pytest.skip(f"{', '.join(missing)} not installed")
    with tempfile.TemporaryDirectory() as directory:
        directory = pathlib.Path(directory)
        port = free_port()
        issuer = f"https://localhost:{port}"
        server = Gatehouse(str(directory), "--issuer", issuer, "--trusted-proxy", "127.0.0.1")
        caddy = Caddy(directory, port, server.listen.removeprefix("http://"))
        rp = RelyingParty("Team wiki behind TLS")
        server.add_client(rp, "tls-wiki", first_party=True, cafile=str(caddy.root))
        yield server, rp, caddy.root
        rp.close()
        caddy.stop()
        server.stop()


def trust(nssdb: pathlib.Path, root: pathlib.Path):
    """An NSS certificate database at `nssdb` that trusts `root` to issue servers'
    certificates: Chromium's (in its HOME) and Firefox's (in its profile) alike."""
    nssdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(["certutil", "-N", "-d", f"sql:{nssdb}", "--empty-password"], check=True)
    subprocess.run(["certutil", "-A", "-d", f"sql:{nssdb}", "-t", "C,,", "-n", "caddy-local",
                    "-i", str(root)], check=True)


@pytest.fixture
def trusting_page(browser, behind_caddy, request):
    """A browser whose certificate store trusts Caddy's CA, and only that on top of the
    system's: no certificate error is ignored. Chromium keeps its store in its HOME, Firefox in
    its profile."""
    server, _, root = behind_caddy
    with tempfile.TemporaryDirectory() as home:
        home = pathlib.Path(home)
        if browser.browser_type.name == "chromium":
            trust(home / ".pki" / "nssdb", root)
            # The person reaches the proxy over IPv6, the proxy reaches gatehouse over IPv4:
            # the address in the audit log tells which one gatehouse believed.
            proxy = server.issuer.removeprefix("https://")
            trusting = browser.browser_type.launch(
                executable_path=os.environ.get("CHROMIUM", "/usr/bin/chromium"),
                headless=True,
                args=["--no-sandbox", "--disable-gpu",
                      f"--host-resolver-rules=MAP {proxy} [::1]:{proxy.split(':')[1]}"],
                env={**os.environ, "HOME": str(home)})
            context = trusting.new_context()
        else:
            trust(home / "profile", root)
            trusting = None
            context = browser.browser_type.launch_persistent_context(
                str(home / "profile"), channel="moz-firefox",
                executable_path=os.environ.get("FIREFOX", "/usr/bin/firefox-esr"), headless=True)
        page = context.new_page()
        watched = Watched(page)
        yield page
        if failed(request):
            page.screenshot(path=str(screenshot_path(request)), full_page=True)
        context.close()
        if trusting:
            trusting.close()
        assert watched.problems() == [], "the browser reported problems on the pages"


def test_a_person_signs_in_through_the_tls_proxy_with_host_only_secure_cookies(
        browser, trusting_page, behind_caddy):
    server, rp, _ = behind_caddy
    user = server.add_user()
    page = trusting_page
    page.goto(f"{rp.base}/login")
    expect(page).to_have_title("Sign in · Gatehouse")
    assert page.url.startswith(server.issuer + "/authorize"), page.url
    fill_login(page, user)
    expect(page.get_by_role("heading")).to_have_text(f"Signed in as {user}")

    # Cookies are per host, not per port: the application's own cookie is here too.
    cookies = {c["name"]: c for c in page.context.cookies(server.issuer)
               if c["name"] != "rp_session"}
    assert set(cookies) == {"__Host-gatehouse_session", "__Host-gatehouse_form",
                            "__Host-gatehouse_browser"}, cookies
    for cookie in cookies.values():
        assert cookie["secure"] and cookie["httpOnly"], cookie
        assert cookie["path"] == "/" and cookie["domain"] == "localhost", cookie
    # Discovery, through the proxy, names the https endpoints; and, as every answer on an
    # https issuer does, tells the browser to keep to https for a year.
    response = page.goto(f"{server.issuer}/.well-known/openid-configuration")
    assert response.headers.get("strict-transport-security") == "max-age=31536000", \
        response.headers
    document = json.loads(page.locator("body").inner_text())
    assert document["issuer"] == server.issuer
    assert document["token_endpoint"] == f"{server.issuer}/token"
    # The sign-in is recorded with the person's address as Caddy saw it (::1), taken from
    # X-Forwarded-For because the proxy (127.0.0.1) is trusted. Only Chromium can be sent to
    # the proxy over IPv6 (its resolver rules); Firefox reaches localhost at 127.0.0.1, the
    # proxy's own address, which would tell nothing.
    log = server.cli("audit", "tail", "--lines", "20")
    line = next(l for l in log.splitlines() if "login.succeeded" in l and user in l)
    if browser.browser_type.name == "chromium":
        assert "ip=::1" in line.split(), line


def test_a_browser_that_does_not_trust_the_ca_gets_no_page(browser, behind_caddy):
    server, _, _ = behind_caddy
    context = browser.new_context()
    page = context.new_page()
    # Each browser names the refusal its own way.
    with pytest.raises(Exception, match="ERR_CERT_AUTHORITY_INVALID|SEC_ERROR_UNKNOWN_ISSUER"):
        page.goto(f"{server.issuer}/.well-known/openid-configuration")
    context.close()
