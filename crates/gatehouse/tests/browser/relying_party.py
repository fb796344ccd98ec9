"""A small relying party on its own origin, as a real application would be.

It runs the authorization code flow with PKCE, state and nonce against gatehouse (sending the
request in the browser's address, or pushing it to /par first and sending only its
request_uri; configured with a key, it may sign the request as a request object), redeems the
code at the token endpoint with its client secret (client_secret_basic) or, configured with a key
of its own, a JWT it signs with that key (private_key_jwt, RFC 7523), checks the ID token's
issuer, audience and nonce, and shows the person who they are. Its logout sends the browser to
gatehouse's end_session_endpoint, with or without an id_token_hint.

Pages (all GET):
  /                       "Signed in as USERNAME" (from /userinfo) or "Not signed in"
  /login?prompt=&max_age=&response_mode=&login_hint=&hint=1&par=1&signed=1  starts a sign-in
                          (hint=1: the ID token it holds as id_token_hint; par=1: a
                          pushed authorization request; signed=1: a request object signed with
                          the app's key, signed=forged: one changed after it was signed)
  /callback               the redirect URI: redeems the code, or shows the error it got
                          (also POST, for response_mode=form_post)
  /logout?hint=0|1        starts an RP-initiated logout
  /refresh?oldest=1       refreshes its tokens with the refresh token it holds ("Refreshed", or
                          "Refresh refused" and the error); oldest=1 sends the first one it
                          used instead, as someone holding a copy of an old token would
  /bye                    the post-logout redirect URI
"""

import base64
import hashlib
import html
import json
import secrets
import ssl
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _claims(jwt: str) -> dict:
    payload = jwt.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class RelyingParty:
    """One client of gatehouse, served on http://localhost:PORT (another origin than the
    provider's http://127.0.0.1:PORT)."""

    def __init__(self, name: str):
        self.name = name
        self.client_id = None
        self.client_secret = None
        self.issuer = None
        self.tls = None
        self.pending = {}  # state -> (nonce, code_verifier)
        self.sessions = {}  # our cookie value -> {"claims": ..., "id_token": ...}
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def redirect_uri(self) -> str:
        return f"{self.base}/callback"

    @property
    def post_logout_redirect_uri(self) -> str:
        return f"{self.base}/bye"

    def configure(self, issuer: str, client_id: str, client_secret: str, cafile: str = None):
        """`cafile`: the CA that signs the issuer's https certificate, when not a public one."""
        self.tls = ssl.create_default_context(cafile=cafile) if cafile else None
        self.issuer = issuer
        self.client_id = client_id
        self.client_secret = client_secret
        self.key = None

    def use_key(self):
        """From now on, authenticate with a JWT signed by a P-256 key of its own (made here)
        instead of a secret; returns the JWK Set of its public key, to register."""
        from cryptography.hazmat.primitives.asymmetric import ec
        self.key = ec.generate_private_key(ec.SECP256R1())
        numbers = self.key.public_key().public_numbers()
        self.kid = secrets.token_hex(8)
        self.client_secret = None
        return {"keys": [{
            "kty": "EC", "crv": "P-256", "kid": self.kid, "use": "sig", "alg": "ES256",
            "x": _b64url(numbers.x.to_bytes(32, "big")),
            "y": _b64url(numbers.y.to_bytes(32, "big")),
        }]}

    def _authenticated(self, url: str, fields: dict) -> urllib.request.Request:
        """A POST of `fields` to `url`, authenticated as this client: its secret, with HTTP
        Basic, or an assertion signed by its key, made for that request alone."""
        headers = {"Content-Type": "application/x-www-form-urlencoded"}
        if self.key is None:
            headers["Authorization"] = f"Basic {self._basic()}"
        else:
            fields = {**fields, **self._assertion(url)}
        return urllib.request.Request(url, data=urllib.parse.urlencode(fields).encode(),
                                      headers=headers)

    def _sign(self, claims: dict, typ: str = "JWT") -> str:
        """A JWT of `claims` signed with this client's key (ES256)."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec
        from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
        header = {"alg": "ES256", "typ": typ, "kid": self.kid}
        signing_input = ".".join(_b64url(json.dumps(part).encode()) for part in (header, claims))
        r, s = decode_dss_signature(self.key.sign(signing_input.encode(),
                                                  ec.ECDSA(hashes.SHA256())))
        return f"{signing_input}.{_b64url(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"

    def _assertion(self, audience: str) -> dict:
        now = int(time.time())
        claims = {"iss": self.client_id, "sub": self.client_id, "aud": audience,
                  "iat": now, "exp": now + 60, "jti": secrets.token_urlsafe(16)}
        return {"client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
                "client_assertion": self._sign(claims)}

    def _request_object(self, params: dict, forged: bool) -> str:
        """The authorization request `params` as a request object (RFC 9101) signed with this
        client's key; `forged`: its redirect URI changed after it was signed, as someone on
        the way might."""
        now = int(time.time())
        claims = {**params, "iss": self.client_id, "aud": self.issuer,
                  "iat": now, "nbf": now, "exp": now + 300}
        jwt = self._sign(claims, typ="oauth-authz-req+jwt")
        if forged:
            header, _, signature = jwt.split(".")
            claims["redirect_uri"] = "https://attacker.example/callback"
            jwt = f"{header}.{_b64url(json.dumps(claims).encode())}.{signature}"
        return jwt

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        rp = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                url = urllib.parse.urlsplit(self.path)
                query = dict(urllib.parse.parse_qsl(url.query, keep_blank_values=True))
                route = {
                    "/": rp._home,
                    "/login": rp._login,
                    "/callback": rp._callback,
                    "/logout": rp._logout,
                    "/bye": rp._bye,
                    "/refresh": rp._refresh,
                }.get(url.path)
                if route is None:
                    self._page(404, "Not found", "<h1>Not found</h1>")
                    return
                route(self, query)

            def do_POST(self):
                # The redirect URI answered as a form the browser posts (form_post).
                if urllib.parse.urlsplit(self.path).path != "/callback":
                    self._page(404, "Not found", "<h1>Not found</h1>")
                    return
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length).decode()
                query = dict(urllib.parse.parse_qsl(body, keep_blank_values=True))
                query["method"] = "POST"
                rp._callback(self, query)

            def _session(self):
                for part in self.headers.get("Cookie", "").split(";"):
                    name, _, value = part.strip().partition("=")
                    if name == "rp_session":
                        with rp.lock:
                            return rp.sessions.get(value)
                return None

            def _page(self, status, title, body, headers=()):
                data = (
                    f"<!doctype html><html><head><title>{html.escape(title)}</title></head>"
                    f"<body><p>{html.escape(rp.name)}</p>{body}</body></html>"
                ).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _redirect(self, location, headers=()):
                self.send_response(302)
                self.send_header("Location", location)
                self.send_header("Content-Length", "0")
                for k, v in headers:
                    self.send_header(k, v)
                self.end_headers()

        return Handler

    def _home(self, h, query):
        session = h._session()
        if session:
            name = session["claims"].get("preferred_username", session["claims"]["sub"])
            h._page(200, "Home", f"<h1>Signed in as {html.escape(name)}</h1>"
                    '<a href="/logout?hint=1">Sign out</a>')
        else:
            h._page(200, "Home", '<h1>Not signed in</h1><a href="/login">Sign in</a>')

    def _login(self, h, query):
        state = secrets.token_urlsafe(16)
        nonce = secrets.token_urlsafe(16)
        verifier = secrets.token_urlsafe(48)
        with self.lock:
            self.pending[state] = (nonce, verifier)
        params = {
            "response_type": "code",
            "client_id": self.client_id,
            "redirect_uri": self.redirect_uri,
            "scope": query.get("scope", "openid profile email"),
            "state": state,
            "nonce": nonce,
            "code_challenge": _b64url(hashlib.sha256(verifier.encode()).digest()),
            "code_challenge_method": "S256",
        }
        for extra in ("prompt", "max_age", "acr_values", "response_mode", "login_hint",
                      "ui_locales", "claims", "resource"):
            if extra in query:
                params[extra] = query[extra]
        session = h._session()
        if query.get("hint") == "1" and session:
            # Who it expects to find signed in: the person of the ID token it holds.
            params["id_token_hint"] = session["id_token"]
        if query.get("signed") in ("1", "forged"):
            # RFC 9101: the request is a JWT the application signs, which nobody on the way
            # can change.
            params = {"client_id": self.client_id,
                      "request": self._request_object(params, query["signed"] == "forged")}
        if query.get("par") == "1":
            # RFC 9126: the request goes to gatehouse directly, the browser carries only its
            # request_uri.
            request = self._authenticated(f"{self.issuer}/par", params)
            with urllib.request.urlopen(request, timeout=10, context=self.tls) as r:
                pushed = json.load(r)
            params = {"client_id": self.client_id, "request_uri": pushed["request_uri"]}
        h._redirect(f"{self.issuer}/authorize?{urllib.parse.urlencode(params)}")

    def _basic(self) -> str:
        return base64.b64encode(
            f"{urllib.parse.quote(self.client_id)}:{urllib.parse.quote(self.client_secret)}".encode()
        ).decode()

    def _callback(self, h, query):
        with self.lock:
            pending = self.pending.pop(query.get("state", ""), None)
        if pending is None:
            h._page(400, "Sign-in failed", "<h1>Sign-in failed</h1><p id=error>unknown state</p>")
            return
        if query.get("iss") != self.issuer:
            h._page(400, "Sign-in failed", "<h1>Sign-in failed</h1><p id=error>wrong iss</p>")
            return
        if "error" in query:
            h._page(200, "Sign-in failed",
                    f"<h1>Sign-in failed</h1><p id=error>{html.escape(query['error'])}</p>"
                    f"<p id=description>{html.escape(query.get('error_description', ''))}</p>")
            return
        nonce, verifier = pending
        request = self._authenticated(f"{self.issuer}/token", {
            "grant_type": "authorization_code",
            "code": query.get("code", ""),
            "redirect_uri": self.redirect_uri,
            "code_verifier": verifier,
        })
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.tls) as r:
                tokens = json.load(r)
        except urllib.error.HTTPError as e:
            h._page(502, "Sign-in failed",
                    f"<h1>Sign-in failed</h1><p id=error>token endpoint: {e.code}</p>")
            return
        claims = _claims(tokens["id_token"])
        problems = []
        if claims.get("iss") != self.issuer:
            problems.append("iss")
        if claims.get("aud") not in (self.client_id, [self.client_id]):
            problems.append("aud")
        if claims.get("nonce") != nonce:
            problems.append("nonce")
        if problems:
            h._page(400, "Sign-in failed",
                    f"<h1>Sign-in failed</h1><p id=error>bad ID token: {problems}</p>")
            return
        # The name to show comes from /userinfo, as most applications do it.
        userinfo = urllib.request.Request(
            f"{self.issuer}/userinfo",
            headers={"Authorization": f"Bearer {tokens['access_token']}"})
        with urllib.request.urlopen(userinfo, timeout=10, context=self.tls) as r:
            info = json.load(r)
        if info.get("sub") != claims["sub"]:
            h._page(400, "Sign-in failed", "<h1>Sign-in failed</h1><p id=error>sub</p>")
            return
        # The groups the ID token itself carries (what most applications read for roles), and
        # a custom claim an administrator may have given.
        id_groups = claims.get("groups", [])
        id_department = claims.get("department", "")
        # And what its API would read from the access token alone, when it is a JWT.
        access = tokens["access_token"]
        token_department = _claims(access).get("department", "") if access.count(".") == 2 else ""
        # And whom that token is for (its `aud`): an API checks that it names the API.
        token_audience = _claims(access).get("aud", "") if access.count(".") == 2 else ""
        claims = {**claims, **info}
        cookie = secrets.token_urlsafe(16)
        with self.lock:
            self.sessions[cookie] = {"claims": claims, "id_token": tokens["id_token"],
                                     "refresh_token": tokens.get("refresh_token"),
                                     "used_refresh_tokens": []}
        name = claims.get("preferred_username", claims["sub"])
        h._page(200, "Signed in",
                f"<h1>Signed in as {html.escape(name)}</h1>"
                f"<p id=auth_time>{claims.get('auth_time')}</p>"
                f"<p id=acr>{html.escape(str(claims.get('acr', '')))}</p>"
                f"<p id=amr>{html.escape(' '.join(claims.get('amr', [])))}</p>"
                f"<p id=groups>{html.escape(' '.join(id_groups))}</p>"
                f"<p id=department>{html.escape(str(id_department))}</p>"
                f"<p id=token-department>{html.escape(str(token_department))}</p>"
                f"<p id=token-audience>{html.escape(json.dumps(token_audience))}</p>"
                f"<p id=method>{query.get('method', 'GET')}</p>"
                f"<p id=sub>{html.escape(claims['sub'])}</p>"
                '<a href="/logout?hint=1">Sign out</a>',
                headers=[("Set-Cookie", f"rp_session={cookie}; Path=/; HttpOnly")])

    def _logout(self, h, query):
        session = h._session()
        state = secrets.token_urlsafe(8)
        params = {"post_logout_redirect_uri": self.post_logout_redirect_uri, "state": state}
        if query.get("hint") == "1" and session:
            params["id_token_hint"] = session["id_token"]
        else:
            params["client_id"] = self.client_id
        h._redirect(f"{self.issuer}/logout?{urllib.parse.urlencode(params)}",
                    headers=[("Set-Cookie", "rp_session=; Path=/; Max-Age=0")])

    def _refresh(self, h, query):
        session = h._session()
        if session is None or session["refresh_token"] is None:
            h._page(400, "No refresh token", "<h1>No refresh token</h1>")
            return
        used = session["used_refresh_tokens"]
        token = used[0] if query.get("oldest") == "1" and used else session["refresh_token"]
        request = self._authenticated(f"{self.issuer}/token", {
            "grant_type": "refresh_token", "refresh_token": token})
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.tls) as r:
                tokens = json.load(r)
        except urllib.error.HTTPError as e:
            error = json.load(e).get("error", str(e.code))
            h._page(200, "Refresh refused",
                    f"<h1>Refresh refused</h1><p id=error>{html.escape(error)}</p>")
            return
        with self.lock:
            used.append(session["refresh_token"])
            session["refresh_token"] = tokens["refresh_token"]
        h._page(200, "Refreshed", "<h1>Refreshed</h1>")

    def _bye(self, h, query):
        h._page(200, "Signed out",
                "<h1>You have signed out of the app</h1>"
                f"<p id=state>{html.escape(query.get('state', ''))}</p>")
