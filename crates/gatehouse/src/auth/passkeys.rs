//! Passkeys: WebAuthn credentials, checked by `webauthn-rs` (the library Kanidm's server is
//! built on), for signing in without a password.
//!
//! Two ceremonies, each in two requests: the server makes a challenge (its state is kept in the
//! store and taken once, so a replayed response finds nothing), the browser has the
//! authenticator sign it, and the server checks the answer against the state: the origin and
//! relying party id (this deployment's issuer), the challenge, user verification (a PIN or a
//! fingerprint: a passkey is two factors in one), the signature, and the signature counter (a
//! counter that goes backwards means a cloned authenticator, and the sign-in is refused, as
//! WebAuthn §7.2 step 21 recommends).
//!
//! Registration asks for a *discoverable* credential, so the person can sign in without typing
//! a username: the authenticator says whose passkey it is.
//!
//! Everything here is pure computation over the library's types and JSON; the store keeps the
//! JSON (`model::StoredPasskey`, `model::Challenge`).

use url::Url;
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, Passkey, PasskeyRegistration,
    PublicKeyCredential, RegisterPublicKeyCredential, RequestChallengeResponse, Uuid, Webauthn,
    WebauthnBuilder,
};
use webauthn_rs_proto::{ResidentKeyRequirement, UserVerificationPolicy};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// How long a ceremony may take: long enough to find a security key, as WebAuthn suggests.
pub const CEREMONY_SECONDS: i64 = 300;

/// The longest name a person may give a passkey.
pub const MAX_NAME: usize = 64;

/// Why a passkey was refused. The message is for the person; the detail goes to the log.
#[derive(Debug, thiserror::Error)]
pub enum PasskeyError {
    /// The browser's answer is not WebAuthn JSON at all.
    #[error("the answer is not a WebAuthn credential")]
    Malformed(String),
    /// The library refused it: wrong origin or relying party, wrong challenge, no user
    /// verification, a bad signature, a counter that went backwards.
    #[error("the passkey could not be verified")]
    Refused(String),
}

/// This deployment as a WebAuthn relying party.
pub struct Authority {
    webauthn: Webauthn,
}

impl std::fmt::Debug for Authority {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("passkeys::Authority(..)")
    }
}

impl Authority {
    /// The relying party of `issuer`: its host is the relying party id, its origin the only
    /// one accepted.
    ///
    /// # Errors
    /// Why passkeys cannot work there: browsers only accept a domain name (not an IP address)
    /// as a relying party id.
    pub fn new(issuer: &str) -> Result<Authority, String> {
        let origin = Url::parse(issuer).map_err(|e| format!("the issuer is not a URL: {e}"))?;
        let Some(rp_id) = origin.domain().map(str::to_owned) else {
            return Err(format!(
                "passkeys need the issuer to be reached by a domain name, and {issuer} is not \
                 (browsers refuse an IP address as a WebAuthn relying party)"
            ));
        };
        let origin = Url::parse(&origin.origin().ascii_serialization())
            .map_err(|e| format!("the issuer's origin is not a URL: {e}"))?;
        let webauthn = WebauthnBuilder::new(&rp_id, &origin)
            .and_then(|b| {
                b.rp_name(&rp_id)
                    .timeout(std::time::Duration::from_secs(
                        CEREMONY_SECONDS.unsigned_abs(),
                    ))
                    .build()
            })
            .map_err(|e| format!("passkeys cannot be set up for {issuer}: {e}"))?;
        Ok(Authority { webauthn })
    }

    /// Starts registering a passkey for the person whose handle is `user`: the options for
    /// the browser (`navigator.credentials.create`), and the state to keep. `exclude` are the
    /// credential ids (base64url) the person has already, so an authenticator is not
    /// registered twice.
    ///
    /// # Errors
    /// When the library cannot make a challenge (it has no reason to).
    pub fn start_registration(
        &self,
        user: Uuid,
        username: &str,
        display_name: &str,
        exclude: &[String],
    ) -> Result<(serde_json::Value, String), PasskeyError> {
        let exclude: Vec<_> = exclude
            .iter()
            .filter_map(|id| URL_SAFE_NO_PAD.decode(id).ok())
            .collect();
        let (mut options, state): (CreationChallengeResponse, PasskeyRegistration) = self
            .webauthn
            .start_passkey_registration(
                user,
                username,
                display_name,
                (!exclude.is_empty()).then_some(exclude),
            )
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        // Discoverable, so it signs in without a username. The library checks the answer the
        // same either way; this only asks the authenticator to keep the credential.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
            selection.user_verification = UserVerificationPolicy::Required;
        }
        Ok((json(&options)?, json_text(&state)?))
    }

    /// Finishes a registration: the new passkey's credential id (base64url) and its state to
    /// store.
    ///
    /// # Errors
    /// `Malformed` for an answer that is not a WebAuthn registration, `Refused` for one that
    /// does not verify against `state`.
    pub fn finish_registration(
        &self,
        answer: &str,
        state: &str,
    ) -> Result<(String, String), PasskeyError> {
        let answer: RegisterPublicKeyCredential =
            serde_json::from_str(answer).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let state: PasskeyRegistration =
            serde_json::from_str(state).map_err(|e| PasskeyError::Refused(e.to_string()))?;
        let passkey = self
            .webauthn
            .finish_passkey_registration(&answer, &state)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        let id = URL_SAFE_NO_PAD.encode(passkey.cred_id().as_slice());
        Ok((id, json_text(&passkey)?))
    }

    /// Starts a sign-in with any passkey the browser has for this site: the options for
    /// `navigator.credentials.get`, and the state to keep.
    ///
    /// # Errors
    /// When the library cannot make a challenge (it has no reason to).
    pub fn start_sign_in(&self) -> Result<(serde_json::Value, String), PasskeyError> {
        let (mut options, state): (RequestChallengeResponse, DiscoverableAuthentication) = self
            .webauthn
            .start_discoverable_authentication()
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        // A button the person pressed, not the autofill of the username field.
        options.mediation = None;
        Ok((json(&options)?, json_text(&state)?))
    }

    /// Which passkey a sign-in answer says it is: the person's handle and the credential id
    /// (base64url), for the store to look up. Nothing is verified yet.
    ///
    /// # Errors
    /// `Malformed` for an answer that is not a WebAuthn assertion with a user handle.
    pub fn identify(&self, answer: &str) -> Result<(Uuid, String), PasskeyError> {
        let answer: PublicKeyCredential =
            serde_json::from_str(answer).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let (user, id) = self
            .webauthn
            .identify_discoverable_authentication(&answer)
            .map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        Ok((user, URL_SAFE_NO_PAD.encode(id)))
    }

    /// Finishes a sign-in with the stored passkey `stored`: its state updated (the signature
    /// counter, the backup flags), to store.
    ///
    /// # Errors
    /// `Malformed` for an answer that is not a WebAuthn assertion; `Refused` for one that does
    /// not verify (another challenge, origin or key, no user verification, a counter that
    /// went backwards).
    pub fn finish_sign_in(
        &self,
        answer: &str,
        state: &str,
        stored: &str,
    ) -> Result<String, PasskeyError> {
        let answer: PublicKeyCredential =
            serde_json::from_str(answer).map_err(|e| PasskeyError::Malformed(e.to_string()))?;
        let state: DiscoverableAuthentication =
            serde_json::from_str(state).map_err(|e| PasskeyError::Refused(e.to_string()))?;
        let mut passkey: Passkey =
            serde_json::from_str(stored).map_err(|e| PasskeyError::Refused(e.to_string()))?;
        let result = self
            .webauthn
            .finish_discoverable_authentication_v2(&answer, state, &passkey)
            .map_err(|e| PasskeyError::Refused(e.to_string()))?;
        if !result.user_verified() {
            return Err(PasskeyError::Refused("no user verification".into()));
        }
        passkey.update_credential(&result);
        json_text(&passkey)
    }
}

/// The WebAuthn user handle of a person: their id, which is 128 random bits in hex, read as a
/// UUID; an id of another shape (none is made today) is hashed to one.
pub fn user_handle(user_id: &str) -> Uuid {
    Uuid::try_parse(user_id).unwrap_or_else(|_| {
        let digest = crate::oidc::tokens::hash(user_id);
        let bytes: [u8; 16] =
            std::array::from_fn(|i| u8::from_str_radix(&digest[2 * i..2 * i + 2], 16).unwrap_or(0));
        Uuid::from_bytes(bytes)
    })
}

/// A passkey's name as the person typed it: trimmed, at most [`MAX_NAME`] characters, no
/// control or invisible characters; `None` when nothing was typed (the page names it).
///
/// # Errors
/// Why the name cannot be used.
pub fn clean_name(typed: &str) -> Result<Option<String>, NameProblem> {
    let name = typed.trim();
    if name.chars().count() > MAX_NAME {
        return Err(NameProblem::TooLong);
    }
    if name
        .chars()
        .any(|c| c.is_control() || crate::text::is_invisible(c))
    {
        return Err(NameProblem::Unprintable);
    }
    Ok((!name.is_empty()).then(|| name.to_owned()))
}

/// Why a passkey's name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameProblem {
    /// Longer than [`MAX_NAME`] characters.
    TooLong,
    /// It holds control or invisible characters.
    Unprintable,
}

fn json<T: serde::Serialize>(v: &T) -> Result<serde_json::Value, PasskeyError> {
    serde_json::to_value(v).map_err(|e| PasskeyError::Refused(e.to_string()))
}

fn json_text<T: serde::Serialize>(v: &T) -> Result<String, PasskeyError> {
    serde_json::to_string(v).map_err(|e| PasskeyError::Refused(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_relying_party_is_the_issuers_domain() {
        assert!(Authority::new("https://sso.example.com").is_ok());
        assert!(Authority::new("http://localhost:8080").is_ok());
        let refused = Authority::new("http://127.0.0.1:8080").unwrap_err();
        assert!(refused.contains("domain name"), "{refused}");
        assert!(Authority::new("not a url").is_err());
    }

    #[test]
    fn registration_asks_for_a_discoverable_verified_credential() {
        let a = Authority::new("https://sso.example.com").unwrap();
        let user = user_handle("0123456789abcdef0123456789abcdef");
        let (options, state) = a
            .start_registration(user, "ada", "Ada", &["AAEC".into()])
            .unwrap();
        let pk = &options["publicKey"];
        assert_eq!(pk["rp"]["id"], "sso.example.com");
        assert_eq!(pk["authenticatorSelection"]["residentKey"], "required");
        assert_eq!(pk["authenticatorSelection"]["userVerification"], "required");
        assert_eq!(pk["excludeCredentials"][0]["id"], "AAEC");
        assert!(state.contains("challenge"), "{state}");
    }

    #[test]
    fn malformed_and_unrelated_answers_are_refused() {
        let a = Authority::new("https://sso.example.com").unwrap();
        let (_, state) = a
            .start_registration(user_handle("u1"), "ada", "Ada", &[])
            .unwrap();
        for answer in ["", "{}", "[]", "null", &"x".repeat(10_000)] {
            assert!(matches!(
                a.finish_registration(answer, &state),
                Err(PasskeyError::Malformed(_))
            ));
            assert!(matches!(
                a.identify(answer),
                Err(PasskeyError::Malformed(_))
            ));
        }
        // Well-formed JSON whose client data is garbage: refused by the library.
        let bogus = r#"{"id":"AAEC","rawId":"AAEC","type":"public-key",
            "response":{"attestationObject":"AAEC","clientDataJSON":"AAEC"}}"#;
        assert!(matches!(
            a.finish_registration(bogus, &state),
            Err(PasskeyError::Refused(_))
        ));
    }

    /// A software authenticator (webauthn-authenticator-rs, as a browser and a passkey would
    /// answer) registers and signs in; every forgery and replay of its answers is refused.
    mod software_authenticator {
        use super::*;
        use webauthn_authenticator_rs::WebauthnAuthenticator as _;
        use webauthn_authenticator_rs::softpasskey::SoftPasskey;
        use webauthn_rs_proto::AllowCredentials;

        const ISSUER: &str = "https://sso.example.com";

        fn url(s: &str) -> Url {
            Url::parse(s).unwrap()
        }

        /// The registration options, for an authenticator that keeps no resident keys (the
        /// software one): the server checks the answer the same either way.
        fn creation(options: serde_json::Value, rp_id: Option<&str>) -> CreationChallengeResponse {
            let mut o: CreationChallengeResponse = serde_json::from_value(options).unwrap();
            if let Some(s) = o.public_key.authenticator_selection.as_mut() {
                s.require_resident_key = false;
                s.resident_key = Some(ResidentKeyRequirement::Discouraged);
            }
            if let Some(id) = rp_id {
                o.public_key.rp.id = id.into();
            }
            o
        }

        /// The sign-in options, naming the credential (the software authenticator does not
        /// discover it), for `rp_id`.
        fn request(options: serde_json::Value, id: &str, rp_id: &str) -> RequestChallengeResponse {
            let mut o: RequestChallengeResponse = serde_json::from_value(options).unwrap();
            o.public_key.allow_credentials = vec![AllowCredentials {
                type_: "public-key".into(),
                id: URL_SAFE_NO_PAD.decode(id).unwrap(),
                transports: None,
            }];
            o.public_key.rp_id = rp_id.into();
            o
        }

        /// The assertion as a browser sends it, with the user handle a discoverable
        /// credential returns (it is not signed: the server checks it against the stored key).
        fn with_handle(assertion: &PublicKeyCredential, user: Uuid) -> String {
            let mut v = serde_json::to_value(assertion).unwrap();
            v["response"]["userHandle"] = URL_SAFE_NO_PAD.encode(user.as_bytes()).into();
            v.to_string()
        }

        #[test]
        fn registers_signs_in_and_refuses_forgeries_and_replays() {
            let a = Authority::new(ISSUER).unwrap();
            let user = user_handle("0123456789abcdef0123456789abcdef");
            let mut key = SoftPasskey::new(true);

            let (options, state) = a.start_registration(user, "ada", "Ada", &[]).unwrap();
            let answer = key
                .do_registration(url(ISSUER), creation(options, None))
                .unwrap();
            let answer = serde_json::to_string(&answer).unwrap();
            let (id, data) = a.finish_registration(&answer, &state).unwrap();
            // The same answer to another ceremony: another challenge, refused.
            let (_, other) = a.start_registration(user, "ada", "Ada", &[]).unwrap();
            assert!(matches!(
                a.finish_registration(&answer, &other),
                Err(PasskeyError::Refused(_))
            ));

            // Signing in.
            let (options, state) = a.start_sign_in().unwrap();
            let assertion = key
                .do_authentication(url(ISSUER), request(options, &id, "sso.example.com"))
                .unwrap();
            let assertion = with_handle(&assertion, user);
            assert_eq!(a.identify(&assertion).unwrap(), (user, id.clone()));
            let data = a.finish_sign_in(&assertion, &state, &data).unwrap();
            // Replayed: to a new challenge, refused; to its own, the counter has not moved on.
            let (_, fresh) = a.start_sign_in().unwrap();
            assert!(a.finish_sign_in(&assertion, &fresh, &data).is_err());
            assert!(a.finish_sign_in(&assertion, &state, &data).is_err());

            // Another site's page (its origin and relying party id) gets nothing usable.
            let (options, state) = a.start_sign_in().unwrap();
            let phished = key
                .do_authentication(
                    url("https://sso-example.evil"),
                    request(options, &id, "sso-example.evil"),
                )
                .unwrap();
            assert!(matches!(
                a.finish_sign_in(&with_handle(&phished, user), &state, &data),
                Err(PasskeyError::Refused(_))
            ));
            let (options, state) = a.start_registration(user, "ada", "Ada", &[]).unwrap();
            let forged = key
                .do_registration(
                    url("https://sso-example.evil"),
                    creation(options, Some("sso-example.evil")),
                )
                .unwrap();
            assert!(matches!(
                a.finish_registration(&serde_json::to_string(&forged).unwrap(), &state),
                Err(PasskeyError::Refused(_))
            ));

            // Another key's answer, claiming this credential: a bad signature.
            let mut other_key = SoftPasskey::new(true);
            let (options, state) = a.start_registration(user, "bob", "Bob", &[]).unwrap();
            let bobs = other_key
                .do_registration(url(ISSUER), creation(options, None))
                .unwrap();
            let (bob_id, _) = a
                .finish_registration(&serde_json::to_string(&bobs).unwrap(), &state)
                .unwrap();
            let (options, state) = a.start_sign_in().unwrap();
            let signed = other_key
                .do_authentication(url(ISSUER), request(options, &bob_id, "sso.example.com"))
                .unwrap();
            let mut claimed = serde_json::to_value(&signed).unwrap();
            claimed["id"] = id.clone().into();
            claimed["rawId"] = id.clone().into();
            claimed["response"]["userHandle"] = URL_SAFE_NO_PAD.encode(user.as_bytes()).into();
            assert!(
                a.finish_sign_in(&claimed.to_string(), &state, &data)
                    .is_err()
            );
        }

        #[test]
        fn an_authenticator_that_did_not_verify_the_person_is_refused() {
            let a = Authority::new(ISSUER).unwrap();
            let user = user_handle("u1");
            let mut key = SoftPasskey::new(false);
            let (options, state) = a.start_registration(user, "ada", "Ada", &[]).unwrap();
            // A page that asked for less than gatehouse requires (the authenticator would
            // refuse the request as it was made).
            let mut lowered = creation(options, None);
            if let Some(s) = lowered.public_key.authenticator_selection.as_mut() {
                s.user_verification = UserVerificationPolicy::Discouraged_DO_NOT_USE;
            }
            let answer = key.do_registration(url(ISSUER), lowered).unwrap();
            assert!(matches!(
                a.finish_registration(&serde_json::to_string(&answer).unwrap(), &state),
                Err(PasskeyError::Refused(_))
            ));
        }
    }

    #[test]
    fn user_handles_are_the_ids_or_their_hash() {
        let id = "0123456789abcdef0123456789abcdef";
        assert_eq!(user_handle(id).simple().to_string(), id);
        assert_eq!(user_handle("legacy"), user_handle("legacy"));
        assert_ne!(user_handle("legacy"), user_handle("other"));
    }

    #[test]
    fn names() {
        assert_eq!(clean_name("  Phone ").unwrap().as_deref(), Some("Phone"));
        assert_eq!(clean_name(" ").unwrap(), None);
        assert_eq!(clean_name(&"x".repeat(65)), Err(NameProblem::TooLong));
        assert_eq!(clean_name("a\u{200b}b"), Err(NameProblem::Unprintable));
        assert_eq!(clean_name("a\nb"), Err(NameProblem::Unprintable));
    }
}
