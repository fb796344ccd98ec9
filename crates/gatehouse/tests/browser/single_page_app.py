"""A browser application on its own origin: a single-page app, registered as a public client.

Everything it does runs in the browser, in the page's script: discovery, the authorization code
flow with PKCE (S256) and state, redeeming the code with `fetch` at the token endpoint,
`/userinfo` with the access token, and a refresh. Each of those calls crosses origins
(http://localhost:PORT to gatehouse's http://127.0.0.1:PORT), so each needs gatehouse's CORS
answer; without it the browser blocks the call and logs an error.

Page: / shows "Not signed in" with a Sign in button, then "Signed in as USERNAME" (from
/userinfo) with a Refresh button, and after a refresh "Refreshed" when a new access token came.

With `dpop=True` the app binds its tokens to a key of its own (DPoP, RFC 9449), as a careful
browser application does: a P-256 key pair made by WebCrypto whose private half cannot be
exported, kept in IndexedDB across the redirect to gatehouse and back, its thumbprint in the
authorization request (`dpop_jkt`, so the code too is bound to it), and a proof signed with it
for every call to the token endpoint and to /userinfo. The page then says which kind of
token it holds ("DPoP token" or "Bearer token"). Like oidc-client-ts and oauth4webapi, it keeps
the newest server nonce an answer hands out (`DPoP-Nonce`, readable across origins only if
gatehouse's CORS answer exposes it), puts it in its proofs, and sends a request once more when
it is answered `use_dpop_nonce`; the page then says "with server nonces".

With `fragment=True` it asks for the answer in the redirect's fragment (`response_mode=fragment`)
and reads it there: the browser never sends a fragment, so the code reaches the page's script
and not the app's web server, which keeps the path and query of every request it served
(`requests`) for the test to look at.
"""

import json
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Notes</title></head>
<body><main>
<h1 id="status">Not signed in</h1><p id="kind"></p><p id="nonces"></p><p id="detail"></p>
<button id="signin">Sign in</button> <button id="refresh" hidden>Refresh</button>
</main>
<script>
const issuer = ISSUER, clientId = CLIENT_ID, bound = DPOP, inFragment = IN_FRAGMENT;
const redirectUri = location.origin + "/";
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const text = (id, t) => { document.getElementById(id).textContent = t; };
const encoded = (value) => b64url(new TextEncoder().encode(JSON.stringify(value)));
function keyStore() {
  return new Promise((done, failed) => {
    const open = indexedDB.open("notes", 1);
    open.onupgradeneeded = () => open.result.createObjectStore("keys");
    open.onsuccess = () => done(open.result);
    open.onerror = () => failed(open.error);
  });
}
async function dpopKey() {
  const db = await keyStore();
  let pair = await new Promise((done, failed) => {
    const get = db.transaction("keys").objectStore("keys").get("dpop");
    get.onsuccess = () => done(get.result);
    get.onerror = () => failed(get.error);
  });
  if (!pair) {
    pair = await crypto.subtle.generateKey({name: "ECDSA", namedCurve: "P-256"}, false, ["sign"]);
    await new Promise((done, failed) => {
      const put = db.transaction("keys", "readwrite");
      put.objectStore("keys").put(pair, "dpop");
      put.oncomplete = done;
      put.onerror = () => failed(put.error);
    });
  }
  return pair;
}
async function thumbprint() {
  const {crv, kty, x, y} = await crypto.subtle.exportKey("jwk", (await dpopKey()).publicKey);
  const canonical = JSON.stringify({crv, kty, x, y});
  return b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical)));
}
async function proof(method, url, accessToken) {
  const pair = await dpopKey();
  const {kty, crv, x, y} = await crypto.subtle.exportKey("jwk", pair.publicKey);
  const claims = {jti: random(16), htm: method, htu: url, iat: Math.floor(Date.now() / 1000)};
  if (serverNonce) claims.nonce = serverNonce;
  if (accessToken) {
    claims.ath = b64url(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(accessToken)));
  }
  const input = encoded({typ: "dpop+jwt", alg: "ES256", jwk: {kty, crv, x, y}}) + "." + encoded(claims);
  const signature = await crypto.subtle.sign({name: "ECDSA", hash: "SHA-256"}, pair.privateKey,
                                             new TextEncoder().encode(input));
  return input + "." + b64url(signature);
}
let discovered, serverNonce = null;
// A call whose headers `make` makes (a proof each time), sent once more when the server asks
// for its nonce; the newest nonce any answer hands out is kept for the next proof.
async function call(url, init, make) {
  for (let attempt = 0; ; attempt++) {
    const r = await fetch(url, {...init, headers: await make()});
    const given = r.headers.get("DPoP-Nonce");
    if (given) serverNonce = given;
    const body = await r.json();
    if (!r.ok && body.error === "use_dpop_nonce" && given && attempt === 0) continue;
    if (serverNonce) text("nonces", "with server nonces");
    return [r, body];
  }
}
async function config() {
  discovered ??= await (await fetch(issuer + "/.well-known/openid-configuration")).json();
  return discovered;
}
async function token(form) {
  const url = (await config()).token_endpoint;
  const [r, body] = await call(url, {method: "POST", body: new URLSearchParams(form)},
                               async () => bound ? {DPoP: await proof("POST", url)} : {});
  if (!r.ok) throw new Error(body.error + ": " + body.error_description);
  return body;
}
async function show(tokens) {
  const url = (await config()).userinfo_endpoint, access = tokens.access_token;
  const [r, info] = await call(url, {}, async () => tokens.token_type === "DPoP"
    ? {Authorization: "DPoP " + access, DPoP: await proof("GET", url, access)}
    : {Authorization: "Bearer " + access});
  if (!r.ok) throw new Error(info.error + ": " + info.error_description);
  text("status", "Signed in as " + info.preferred_username);
  text("kind", tokens.token_type + " token");
  sessionStorage.setItem("access", tokens.access_token);
  sessionStorage.setItem("refresh", tokens.refresh_token);
  document.getElementById("signin").hidden = true;
  document.getElementById("refresh").hidden = false;
}
document.getElementById("signin").onclick = async () => {
  const verifier = random(32), state = random(16);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  sessionStorage.setItem("verifier", verifier);
  sessionStorage.setItem("state", state);
  const binding = bound ? {dpop_jkt: await thumbprint()} : {};
  const mode = inFragment ? {response_mode: "fragment"} : {};
  location = (await config()).authorization_endpoint + "?" + new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri,
    scope: "openid profile", state, code_challenge: b64url(digest),
    code_challenge_method: "S256", ...binding, ...mode});
};
document.getElementById("refresh").onclick = async () => {
  const before = sessionStorage.getItem("access");
  try {
    const tokens = await token({grant_type: "refresh_token", client_id: clientId,
                                refresh_token: sessionStorage.getItem("refresh")});
    await show(tokens);
    text("detail", tokens.access_token !== before ? "Refreshed" : "The same token came back");
  } catch (e) {
    text("detail", "Refresh failed: " + e.message);
  }
};
(async () => {
  const q = new URLSearchParams(inFragment ? location.hash.slice(1) : location.search);
  if (!q.has("code")) return;
  history.replaceState(null, "", "/");
  if (q.get("state") !== sessionStorage.getItem("state")) return text("status", "Wrong state");
  try {
    await show(await token({grant_type: "authorization_code", code: q.get("code"),
                            redirect_uri: redirectUri, client_id: clientId,
                            code_verifier: sessionStorage.getItem("verifier")}));
  } catch (e) {
    text("status", "Sign-in failed: " + e.message);
  }
})();
</script></body></html>
"""


class SinglePageApp:
    """The page, served on http://localhost:PORT (another origin than gatehouse's)."""

    def __init__(self, dpop: bool = False, fragment: bool = False):
        self.dpop = dpop
        self.fragment = fragment
        self.requests = []
        self.issuer = None
        self.client_id = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def redirect_uri(self) -> str:
        return f"{self.base}/"

    def configure(self, issuer: str, client_id: str):
        """Points the app at gatehouse as `client_id`, once gatehouse allows its origin: a newly
        registered application is allowed within 10 seconds (the allowed origins are read
        again that often), as an operator who registers one sees."""
        self.issuer, self.client_id = issuer, client_id
        discovery = urllib.request.Request(issuer + "/.well-known/openid-configuration",
                                           headers={"Origin": self.base})
        deadline = time.monotonic() + 15
        while True:
            with urllib.request.urlopen(discovery) as r:
                if r.headers.get("Access-Control-Allow-Origin") == self.base:
                    return
            assert time.monotonic() < deadline, f"gatehouse never allowed {self.base}"
            time.sleep(0.25)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                app.requests.append(self.path)
                if self.path.split("?")[0] != "/":
                    self.send_error(404)
                    return
                page = (PAGE.replace("ISSUER", json.dumps(app.issuer))
                        .replace("CLIENT_ID", json.dumps(app.client_id))
                        .replace("DPOP", json.dumps(app.dpop))
                        .replace("IN_FRAGMENT", json.dumps(app.fragment))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        return Handler
