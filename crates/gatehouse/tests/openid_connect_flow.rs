//! End to end with a real relying party: the `openidconnect` crate against a server on a port,
//! over a real SQLite file.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use common::backend::Database;

use common::{
    Browser, PASSWORD, REDIRECT, TestServer, add_client, add_public_client, add_user,
    location_params,
};
use openidconnect::core::{
    CoreClient, CoreErrorResponseType, CoreProviderMetadata, CoreResponseType, CoreUserInfoClaims,
};
use openidconnect::{
    AccessTokenHash, AuthenticationFlow, AuthorizationCode, ClientId, ClientSecret, CsrfToken,
    EndpointMaybeSet, EndpointNotSet, EndpointSet, IssuerUrl, Nonce, OAuth2TokenResponse,
    PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, RefreshToken, RequestTokenError, Scope,
    StandardErrorResponse, TokenResponse, UserInfoError,
};

/// The client `from_provider_metadata` makes: the authorization endpoint known, the token and
/// userinfo endpoints as discovery gives them.
type Rp = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Signs `username` in through the login form for `rp`, asking for `scopes` (besides `openid`)
/// with PKCE and a nonce: the code, its verifier and the nonce.
async fn authorize(
    rp: &Rp,
    base: &str,
    username: &str,
    scopes: &[&str],
) -> (String, PkceCodeVerifier, Nonce) {
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = rp.authorize_url(
        AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
        CsrfToken::new_random,
        Nonce::new_random,
    );
    for s in scopes {
        request = request.add_scope(Scope::new((*s).into()));
    }
    let (url, _, nonce) = request.set_pkce_challenge(challenge).url();
    let redirect = Browser::default()
        .authorize(base, url.as_str(), username, PASSWORD)
        .await;
    (location_params(&redirect)["code"].clone(), verifier, nonce)
}

fn http() -> openidconnect::reqwest::Client {
    openidconnect::reqwest::ClientBuilder::new()
        .redirect(openidconnect::reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The OAuth error code (RFC 6749 §5.2) a refused token request got. Anything else (a refused
/// connection, an unreadable answer, a success) fails the test: only the server's refusal
/// proves the rule.
fn refusal<T, RE: std::error::Error>(
    r: Result<T, RequestTokenError<RE, StandardErrorResponse<CoreErrorResponseType>>>,
) -> String {
    match r {
        Err(RequestTokenError::ServerResponse(e)) => e.error().as_ref().to_owned(),
        Err(other) => panic!("expected an OAuth error response, got {other:?}"),
        Ok(_) => panic!("expected a refusal, got tokens"),
    }
}

/// The HTTP status a refused userinfo request got (a refused connection fails the test).
fn userinfo_refusal<RE: std::error::Error>(
    r: Result<CoreUserInfoClaims, UserInfoError<RE>>,
) -> u16 {
    match r {
        Err(UserInfoError::Response(status, _, _)) => status.as_u16(),
        Err(other) => panic!("expected a refusal from /userinfo, got {other:?}"),
        Ok(_) => panic!("expected a refusal, got claims"),
    }
}

async fn a_relying_party_signs_in_verifies_the_id_token_reads_userinfo_and_refreshes(db: Database) {
    let server = TestServer::start_on(db).await;
    let user = add_user(server.store.as_ref(), "ada").await;
    let secret = add_client(server.store.as_ref(), "web").await;
    let http = http();

    // Discovery.
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .expect("discovery");
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());

    // Authorize through the login form, with PKCE and a nonce.
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf, nonce) = client
        .authorize_url(
            AuthenticationFlow::<CoreResponseType>::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("profile".into()))
        .add_scope(Scope::new("email".into()))
        .set_pkce_challenge(challenge)
        .url();
    let browser = Browser::default();
    let redirect = browser
        .authorize(&server.base, url.as_str(), "ada", PASSWORD)
        .await;
    let params = location_params(&redirect);
    assert_eq!(params["state"], *csrf.secret());
    assert_eq!(params["iss"], server.base, "RFC 9207");

    // Exchange the code; verify the ID token against the JWKS.
    let tokens = client
        .exchange_code(AuthorizationCode::new(params["code"].clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("code exchange");
    let id_token = tokens.id_token().expect("an ID token");
    let claims = id_token
        .claims(&client.id_token_verifier(), &nonce)
        .expect("the ID token verifies against the JWKS");
    assert_eq!(claims.subject().as_str(), user.id);
    assert!(claims.auth_time().is_some());
    let expected_hash = AccessTokenHash::from_token(
        tokens.access_token(),
        id_token.signing_alg().unwrap(),
        id_token.signing_key(&client.id_token_verifier()).unwrap(),
    )
    .unwrap();
    assert_eq!(claims.access_token_hash(), Some(&expected_hash), "at_hash");

    // Userinfo with the access token.
    let info: CoreUserInfoClaims = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("userinfo");
    assert_eq!(info.subject().as_str(), user.id);
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(info.preferred_username().map(|u| u.as_str()), Some("ada"));

    // Refresh: rotated every time.
    let first_refresh = tokens.refresh_token().expect("a refresh token").clone();
    let refreshed = client
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let second_refresh = refreshed
        .refresh_token()
        .expect("a new refresh token")
        .clone();
    assert_ne!(second_refresh.secret(), first_refresh.secret());
    let works: CoreUserInfoClaims = client
        .user_info(refreshed.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .expect("the new access token works");
    assert_eq!(works.subject().as_str(), user.id);

    // A retry of that refresh, moments later: the same answer (a lost response, a second tab).
    let retried = client
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("a retry in the window");
    assert_eq!(
        retried.refresh_token().unwrap().secret(),
        second_refresh.secret()
    );
    assert_eq!(
        retried.access_token().secret(),
        refreshed.access_token().secret()
    );

    // The client moves on: the second token rotates to a third.
    let third = client
        .exchange_refresh_token(&second_refresh)
        .unwrap()
        .request_async(&http)
        .await
        .expect("refresh");
    let third_refresh = third.refresh_token().expect("a new refresh token").clone();

    // Reuse of the first token now: refused, and the whole family is revoked.
    let reuse = client
        .exchange_refresh_token(&first_refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert_eq!(
        refusal(reuse),
        "invalid_grant",
        "a rotated refresh token is refused"
    );
    let after = client
        .exchange_refresh_token(&third_refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert_eq!(
        refusal(after),
        "invalid_grant",
        "the family was revoked, the newest token with it"
    );
    let userinfo: Result<CoreUserInfoClaims, _> = client
        .user_info(third.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await;
    assert_eq!(
        userinfo_refusal(userinfo),
        401,
        "access tokens of the family are revoked too"
    );
    server.stop().await;
}

async fn a_replayed_code_fails_and_revokes_the_tokens_issued_from_it(db: Database) {
    let server = TestServer::start_on(db).await;
    add_user(server.store.as_ref(), "bob").await;
    add_public_client(server.store.as_ref(), "spa").await;
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    let client = CoreClient::from_provider_metadata(metadata, ClientId::new("spa".into()), None)
        .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let (code, verifier, nonce) = authorize(&client, &server.base, "bob", &[]).await;
    let verifier_secret = verifier.secret().clone();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()))
        .unwrap()
        .set_pkce_verifier(verifier)
        .request_async(&http)
        .await
        .expect("the first exchange");
    tokens
        .id_token()
        .unwrap()
        .claims(&client.id_token_verifier(), &nonce)
        .unwrap();

    let replay = client
        .exchange_code(AuthorizationCode::new(code))
        .unwrap()
        .set_pkce_verifier(openidconnect::PkceCodeVerifier::new(verifier_secret))
        .request_async(&http)
        .await;
    assert_eq!(refusal(replay), "invalid_grant", "a code is used once");
    let refresh: &RefreshToken = tokens.refresh_token().unwrap();
    let after = client
        .exchange_refresh_token(refresh)
        .unwrap()
        .request_async(&http)
        .await;
    assert_eq!(
        refusal(after),
        "invalid_grant",
        "the refresh token issued from the replayed code is revoked"
    );
    let userinfo: Result<CoreUserInfoClaims, _> = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await;
    assert_eq!(userinfo_refusal(userinfo), 401, "so is the access token");
    server.stop().await;
}

/// The `groups` claim, and custom claims an administrator gave, as a relying party declares
/// them to `openidconnect`.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct Groups {
    #[serde(default)]
    groups: Option<Vec<String>>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    tier: Option<String>,
    #[serde(default)]
    roles: Option<Vec<String>>,
}

impl openidconnect::AdditionalClaims for Groups {}

type GroupsIdToken = openidconnect::IdToken<
    Groups,
    openidconnect::core::CoreGenderClaim,
    openidconnect::core::CoreJweContentEncryptionAlgorithm,
    openidconnect::core::CoreJwsSigningAlgorithm,
>;

async fn a_relying_party_gets_the_groups_profile_and_custom_claims_it_asked_for(db: Database) {
    let server = TestServer::start_on(db).await;
    let user = add_user(server.store.as_ref(), "ada").await;
    let secret = add_client(server.store.as_ref(), "grafana").await;
    for name in ["grafana-admins", "staff", "unrelated"] {
        server
            .store
            .create_group(
                gatehouse::model::Group {
                    id: format!("id-{name}"),
                    name: name.into(),
                    description: None,
                    created_at: 0,
                    auth_policy: Default::default(),
                },
                None,
            )
            .await
            .unwrap();
    }
    for name in ["staff", "grafana-admins"] {
        assert!(
            server
                .store
                .add_member(name, &user.id, 0, None)
                .await
                .unwrap()
        );
    }
    // What an administrator sets is what the claims say.
    let admin = gatehouse::admin::Admin::new(server.store.as_ref(), "cli", None, 1_900_000_000);
    // Custom claims: the user's own, and their groups' (grafana-admins' before staff's).
    let custom = |pairs: serde_json::Value| match pairs {
        serde_json::Value::Object(m) => {
            gatehouse::model::ClaimsChange::Replace(m.into_iter().collect())
        }
        _ => unreachable!(),
    };
    for (owner, claims) in [
        (
            gatehouse::model::ClaimOwner::User("ada".into()),
            serde_json::json!({"department": "research"}),
        ),
        (
            gatehouse::model::ClaimOwner::Group("grafana-admins".into()),
            serde_json::json!({"tier": "gold", "roles": ["Admin"]}),
        ),
        (
            gatehouse::model::ClaimOwner::Group("staff".into()),
            serde_json::json!({"tier": "silver", "department": "everyone"}),
        ),
        (
            gatehouse::model::ClaimOwner::Group("unrelated".into()),
            serde_json::json!({"tier": "none"}),
        ),
    ] {
        admin
            .change_custom_claims(&owner, custom(claims))
            .await
            .unwrap();
    }
    admin.set_email("ada", None, Some(true)).await.unwrap();
    let change = gatehouse::admin::ProfileChange {
        given_name: Some(Some("Ada".into())),
        family_name: Some(Some("Lovelace".into())),
        locale: Some(Some("en-GB".into())),
        picture: Some(Some("https://example.com/ada.png".into())),
        ..Default::default()
    };
    admin.update_profile("ada", change).await.unwrap();
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    assert!(
        metadata
            .scopes_supported()
            .unwrap()
            .iter()
            .any(|s| s.as_str() == "groups"),
        "discovery lists the groups scope"
    );
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("grafana".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());

    let sign_in = |scopes: &'static [&'static str]| {
        let (client, server, http) = (client.clone(), &server, &http);
        async move {
            let (code, verifier, nonce) = authorize(&client, &server.base, "ada", scopes).await;
            let tokens = client
                .exchange_code(AuthorizationCode::new(code))
                .unwrap()
                .set_pkce_verifier(verifier)
                .request_async(http)
                .await
                .unwrap();
            // The same ID token, read with the groups claim declared.
            let raw = serde_json::to_value(tokens.id_token().unwrap()).unwrap();
            let id_token: GroupsIdToken = serde_json::from_value(raw).unwrap();
            let claims = id_token
                .claims(&client.id_token_verifier(), &nonce)
                .expect("the ID token verifies")
                .clone();
            (tokens, claims)
        }
    };

    let (tokens, claims) = sign_in(&["profile", "email", "groups"]).await;
    assert_eq!(
        claims.additional_claims().groups.as_deref(),
        Some(&["grafana-admins".to_owned(), "staff".to_owned()][..]),
        "the user's groups, by name, in the ID token"
    );
    assert_eq!(claims.preferred_username().map(|u| u.as_str()), Some("ada"));
    let released = claims.additional_claims();
    assert_eq!(
        (released.department.as_deref(), released.tier.as_deref()),
        (Some("research"), Some("gold")),
        "custom claims with the profile scope: the user's own, then the first group's"
    );
    assert_eq!(released.roles.as_deref(), Some(&["Admin".to_owned()][..]));
    assert_eq!(claims.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(
        claims.email_verified(),
        Some(true),
        "set by the administrator"
    );
    let first = |c: Option<&openidconnect::LocalizedClaim<openidconnect::EndUserGivenName>>| {
        c.and_then(|c| c.get(None)).map(|n| n.as_str().to_owned())
    };
    assert_eq!(first(claims.given_name()), Some("Ada".into()));
    assert_eq!(
        claims
            .family_name()
            .and_then(|c| c.get(None))
            .map(|n| n.as_str()),
        Some("Lovelace")
    );
    assert_eq!(claims.locale().map(|l| l.as_str()), Some("en-GB"));
    assert_eq!(
        claims
            .picture()
            .and_then(|c| c.get(None))
            .map(|p| p.as_str()),
        Some("https://example.com/ada.png")
    );
    assert_eq!(
        claims.updated_at().map(|t| t.timestamp()),
        Some(1_900_000_000),
        "when the profile changed"
    );
    let info: openidconnect::UserInfoClaims<Groups, openidconnect::core::CoreGenderClaim> = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(
        info.additional_claims().groups.as_deref(),
        Some(&["grafana-admins".to_owned(), "staff".to_owned()][..]),
        "and at /userinfo"
    );
    assert_eq!(info.additional_claims().tier.as_deref(), Some("gold"));

    // Without the scopes, none of it: not in the ID token, not at /userinfo.
    let (tokens, claims) = sign_in(&[]).await;
    assert_eq!(claims.additional_claims().groups, None);
    assert_eq!(claims.additional_claims().department, None);
    assert_eq!(claims.email(), None);
    let info: openidconnect::UserInfoClaims<Groups, openidconnect::core::CoreGenderClaim> = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.additional_claims().groups, None);
    assert_eq!(info.additional_claims().tier, None);
    assert_eq!(info.email(), None);

    // A client that takes only some claims in its ID token: the rest stay at /userinfo.
    let only = gatehouse::admin::ClientPatch {
        id_token_claims: Some(Some(vec!["groups".into(), "tier".into()])),
        ..Default::default()
    };
    admin.update_client("grafana", only).await.unwrap();
    let (tokens, claims) = sign_in(&["profile", "email", "groups"]).await;
    assert!(claims.additional_claims().groups.is_some());
    assert_eq!(claims.email(), None, "not chosen for the ID token");
    assert_eq!(claims.preferred_username(), None);
    assert_eq!(claims.additional_claims().department, None);
    assert_eq!(
        claims.additional_claims().tier.as_deref(),
        Some("gold"),
        "a custom claim it chose"
    );
    let info: openidconnect::UserInfoClaims<Groups, openidconnect::core::CoreGenderClaim> = client
        .user_info(tokens.access_token().clone(), None)
        .unwrap()
        .request_async(&http)
        .await
        .unwrap();
    assert_eq!(info.email().map(|e| e.as_str()), Some("ada@example.com"));
    assert_eq!(
        info.additional_claims().department.as_deref(),
        Some("research")
    );
}

/// A client registered for ES256 or EdDSA gets ID tokens signed so, which `openidconnect`
/// verifies against the published keys (at_hash included), and which a verifier expecting
/// RS256 refuses: the algorithm really is the one chosen.
async fn a_client_that_chooses_es256_or_eddsa_gets_id_tokens_a_standard_library_verifies(
    db: Database,
) {
    use gatehouse::model::SigningAlg;
    use openidconnect::core::CoreJwsSigningAlgorithm as Jws;

    let server = TestServer::start_on(db).await;
    let user = add_user(server.store.as_ref(), "ada").await;
    let secret = add_client(server.store.as_ref(), "web").await;
    let http = http();
    let metadata =
        CoreProviderMetadata::discover_async(IssuerUrl::new(server.base.clone()).unwrap(), &http)
            .await
            .unwrap();
    assert_eq!(
        metadata.id_token_signing_alg_values_supported(),
        &[Jws::RsaSsaPkcs1V15Sha256, Jws::EcdsaP256Sha256, Jws::EdDsa],
        "discovery lists every algorithm"
    );
    let client = CoreClient::from_provider_metadata(
        metadata,
        ClientId::new("web".into()),
        Some(ClientSecret::new(secret)),
    )
    .set_redirect_uri(RedirectUrl::new(REDIRECT.into()).unwrap());
    let admin = gatehouse::admin::Admin::new(server.store.as_ref(), "cli", None, 1_900_000_000);

    for (alg, jws) in [
        (SigningAlg::Es256, Jws::EcdsaP256Sha256),
        (SigningAlg::EdDsa, Jws::EdDsa),
        (SigningAlg::Rs256, Jws::RsaSsaPkcs1V15Sha256),
    ] {
        let patch = gatehouse::admin::ClientPatch {
            id_token_signed_response_alg: Some(alg),
            ..Default::default()
        };
        admin.update_client("web", patch).await.unwrap();

        let (code, verifier, nonce) = authorize(&client, &server.base, "ada", &[]).await;
        let tokens = client
            .exchange_code(AuthorizationCode::new(code))
            .unwrap()
            .set_pkce_verifier(verifier)
            .request_async(&http)
            .await
            .unwrap();
        let id_token = tokens.id_token().expect("an ID token");
        assert_eq!(id_token.signing_alg().unwrap(), &jws, "{alg}");

        let accepting = client.id_token_verifier().set_allowed_algs([jws.clone()]);
        let claims = id_token
            .claims(&accepting, &nonce)
            .unwrap_or_else(|e| panic!("the {alg} ID token verifies: {e}"));
        assert_eq!(claims.subject().as_str(), user.id);
        let expected_hash = AccessTokenHash::from_token(
            tokens.access_token(),
            id_token.signing_alg().unwrap(),
            id_token.signing_key(&accepting).unwrap(),
        )
        .unwrap();
        assert_eq!(
            claims.access_token_hash(),
            Some(&expected_hash),
            "{alg} at_hash"
        );
        // A client set up from discovery accepts what discovery lists; one that expects
        // RS256 only refuses another algorithm.
        assert!(id_token.claims(&client.id_token_verifier(), &nonce).is_ok());
        if alg != SigningAlg::Rs256 {
            let rs256_only = client
                .id_token_verifier()
                .set_allowed_algs([Jws::RsaSsaPkcs1V15Sha256]);
            assert!(
                id_token.claims(&rs256_only, &nonce).is_err(),
                "a verifier expecting RS256 refuses the {alg} token"
            );
        }
    }
}

on_both_backends!((flavor = "multi_thread", worker_threads = 2);
    a_relying_party_signs_in_verifies_the_id_token_reads_userinfo_and_refreshes,
    a_replayed_code_fails_and_revokes_the_tokens_issued_from_it,
    a_relying_party_gets_the_groups_profile_and_custom_claims_it_asked_for,
    a_client_that_chooses_es256_or_eddsa_gets_id_tokens_a_standard_library_verifies,
);
