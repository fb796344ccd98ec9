// Passkeys on gatehouse's pages: the "Sign in with a passkey" button of the login page, the
// "Add a passkey" form of the account page and its kin, and a sign-up link's passkey in place
// of a password. Each asks gatehouse for a challenge, has the browser's authenticator answer
// it (WebAuthn), and sends the answer with an ordinary form, so what follows is a normal page.
// Without WebAuthn, nothing here shows itself, except, where the page is for a passkey, the
// words saying this browser cannot use one.
(function () {
  "use strict";

  function decode(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const raw = atob(b64 + "===".slice((b64.length + 3) % 4));
    return Uint8Array.from(raw, (c) => c.charCodeAt(0)).buffer;
  }

  function encode(buffer) {
    let raw = "";
    new Uint8Array(buffer).forEach((b) => { raw += String.fromCharCode(b); });
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  // The library's JSON for navigator.credentials.create/get: binary fields are base64url.
  function creationOptions(options) {
    const pk = options.publicKey;
    pk.challenge = decode(pk.challenge);
    pk.user.id = decode(pk.user.id);
    (pk.excludeCredentials || []).forEach((c) => { c.id = decode(c.id); });
    return { publicKey: pk };
  }

  function requestOptions(options) {
    const pk = options.publicKey;
    pk.challenge = decode(pk.challenge);
    (pk.allowCredentials || []).forEach((c) => { c.id = decode(c.id); });
    return { publicKey: pk };
  }

  // The authenticator's answer as the library reads it.
  function answer(credential) {
    const r = credential.response;
    const response = { clientDataJSON: encode(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = encode(r.attestationObject);
    }
    if (r.authenticatorData) {
      response.authenticatorData = encode(r.authenticatorData);
      response.signature = encode(r.signature);
      response.userHandle = r.userHandle ? encode(r.userHandle) : null;
    }
    return JSON.stringify({
      id: credential.id,
      rawId: encode(credential.rawId),
      type: credential.type,
      response: response,
      extensions: {},
    });
  }

  async function challenge(url, form) {
    const reply = await fetch(url, {
      method: "POST",
      body: new URLSearchParams(new FormData(form)),
      credentials: "same-origin",
    });
    const body = await reply.json().catch(() => ({}));
    if (!reply.ok) {
      throw new Error(body.error || words("unavailable"));
    }
    return body;
  }

  // A ceremony for `form`: gatehouse's challenge (`url`, sent the form's fields), the
  // authenticator's answer (`ask`: navigator.credentials.create or get, over the options),
  // and the form sent with it.
  async function ceremony(url, form, ask) {
    const c = await challenge(url, form);
    const credential = await ask(c.options);
    form.elements.challenge_id.value = c.challenge_id;
    form.elements.credential.value = answer(credential);
    form.submit();
  }

  const create = (options) => navigator.credentials.create(creationOptions(options));

  // The page's words (its catalogue), carried by the element errors are written into.
  function words(name) {
    const p = document.getElementById("passkey-error");
    return (p && p.dataset[name]) || "";
  }

  function say(message) {
    const p = document.getElementById("passkey-error");
    if (p) {
      p.textContent = message;
      p.hidden = false;
    }
  }

  function why(error) {
    // The person closed the browser's dialog, or it timed out: nothing to explain.
    if (error && error.name === "NotAllowedError") {
      return words("cancelled");
    }
    if (error && error.name === "InvalidStateError") {
      return words("duplicate");
    }
    return (error && error.message) || words("failed");
  }

  if (!window.PublicKeyCredential || !navigator.credentials) {
    // Where the page is for a passkey, it says why nothing is offered.
    const cannot = document.getElementById("passkey-unsupported");
    if (cannot) {
      cannot.hidden = false;
    }
    return;
  }

  const signIn = document.getElementById("passkey-sign-in");
  const signInForm = document.getElementById("passkey-form");
  if (signIn && signInForm) {
    signIn.hidden = false;
    signIn.addEventListener("click", async () => {
      signIn.disabled = true;
      // "Keep me signed in", as the login form's box shows it, goes with the passkey too.
      const keep = document.getElementById("keep");
      if (keep && signInForm.elements.keep) {
        signInForm.elements.keep.value = keep.checked ? "1" : "";
      }
      try {
        const get = (options) => navigator.credentials.get(requestOptions(options));
        await ceremony("passkey/options", signInForm, get);
      } catch (error) {
        say(why(error));
        signIn.disabled = false;
      }
    });
  }

  // Adding a passkey: on the account page, as the step a sign-in needs, in place of a
  // password on an invitation's page, or on a passkey link's page.
  [
    ["add-passkey", "passkey/register-options"],
    ["enrol-passkey", "passkey/enrol-options"],
    ["welcome-passkey", "welcome/passkey-options"],
    ["link-passkey", "new-passkey/options"],
  ]
    .forEach(([id, url]) => {
      const add = document.getElementById(id);
      if (!add) {
        return;
      }
      add.hidden = false;
      add.addEventListener("submit", async (event) => {
        if (add.elements.credential.value) {
          return;
        }
        event.preventDefault();
        try {
          await ceremony(url, add, create);
        } catch (error) {
          say(why(error));
        }
      });
    });

  // A sign-up link's page: the account made with a passkey in place of a password. The
  // account's fields are checked first, as the browser would check them for the form; the
  // password's are left out (and empty), and the form is sent with the passkey's answer.
  const signUp = document.getElementById("signup");
  const signUpPasskey = document.getElementById("signup-passkey");
  const signUpButton = document.getElementById("signup-with-passkey");
  if (signUp && signUpPasskey && signUpButton) {
    signUpPasskey.hidden = false;
    signUpButton.addEventListener("click", async () => {
      const fields = ["username", "email", "name", "passkey_name"];
      if (!fields.every((name) => signUp.elements[name].reportValidity())) {
        return;
      }
      signUp.elements.new_password.value = "";
      signUp.elements.repeat_password.value = "";
      signUpButton.disabled = true;
      try {
        await ceremony("signup/passkey-options", signUp, create);
      } catch (error) {
        say(why(error));
        signUpButton.disabled = false;
      }
    });
  }
})();
