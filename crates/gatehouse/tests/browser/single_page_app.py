"""A browser application on its own origin: a single-page app, registered as a public client.

Everything it does runs in the browser, in the page's script: discovery, the authorization code
flow with PKCE (S256) and state, redeeming the code with `fetch` at the token endpoint,
`/userinfo` with the access token, and a refresh. Each of those calls crosses origins
(http://localhost:PORT to gatehouse's http://127.0.0.1:PORT), so each needs gatehouse's CORS
answer; without it the browser blocks the call and logs an error.

Page: / shows "Not signed in" with a Sign in button, then "Signed in as USERNAME" (from
/userinfo) with a Refresh button, and after a refresh "Refreshed" when a new access token came.
"""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Notes</title></head>
<body><main>
<h1 id="status">Not signed in</h1><p id="detail"></p>
<button id="signin">Sign in</button> <button id="refresh" hidden>Refresh</button>
</main>
<script>
const issuer = ISSUER, clientId = CLIENT_ID, redirectUri = location.origin + "/";
const b64url = (bytes) => btoa(String.fromCharCode(...new Uint8Array(bytes)))
  .replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "");
const random = (n) => b64url(crypto.getRandomValues(new Uint8Array(n)));
const text = (id, t) => { document.getElementById(id).textContent = t; };
let discovered;
async function config() {
  discovered ??= await (await fetch(issuer + "/.well-known/openid-configuration")).json();
  return discovered;
}
async function token(form) {
  const r = await fetch((await config()).token_endpoint,
                        {method: "POST", body: new URLSearchParams(form)});
  const body = await r.json();
  if (!r.ok) throw new Error(body.error + ": " + body.error_description);
  return body;
}
async function show(tokens) {
  const r = await fetch((await config()).userinfo_endpoint,
                        {headers: {Authorization: "Bearer " + tokens.access_token}});
  const info = await r.json();
  text("status", "Signed in as " + info.preferred_username);
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
  location = (await config()).authorization_endpoint + "?" + new URLSearchParams({
    response_type: "code", client_id: clientId, redirect_uri: redirectUri,
    scope: "openid profile", state, code_challenge: b64url(digest),
    code_challenge_method: "S256"});
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
  const q = new URLSearchParams(location.search);
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

    def __init__(self):
        self.issuer = None
        self.client_id = None
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.base = f"http://localhost:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def redirect_uri(self) -> str:
        return f"{self.base}/"

    def configure(self, issuer: str, client_id: str):
        self.issuer, self.client_id = issuer, client_id

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def _handler(self):
        app = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                if self.path.split("?")[0] != "/":
                    self.send_error(404)
                    return
                page = (PAGE.replace("ISSUER", json.dumps(app.issuer))
                        .replace("CLIENT_ID", json.dumps(app.client_id))).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args):
                pass

        return Handler
