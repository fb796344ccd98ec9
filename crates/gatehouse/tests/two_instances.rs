//! Two gatehouse instances on one PostgreSQL database, with requests spread over both: what one
//! decides, the other sees. (PostgreSQL only: SQLite is one machine by design.)

mod common;

use common::backend::{Backend, Database};
use common::{
    Browser, PASSWORD, REDIRECT, TestServer, add_client, add_user, location_params, sign_in_with,
};

/// Two servers on one fresh PostgreSQL schema, or `None` when PostgreSQL is not available.
async fn two_instances() -> Option<(TestServer, TestServer)> {
    let db = Database::fresh(Backend::Postgres).await?;
    let a = TestServer::start_on(db).await;
    let b = a.another().await;
    Some((a, b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_refresh_race_across_two_instances_has_exactly_one_winner() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    add_user(a.store.as_ref(), "racer").await;
    let secret = add_client(a.store.as_ref(), "race").await;
    let tokens = sign_in_with(&Browser::default(), &a, "race", &secret, "racer").await;
    let refresh = tokens["refresh_token"].as_str().unwrap().to_owned();

    let http = reqwest::Client::new();
    let tasks: Vec<_> = (0..32)
        .map(|i| {
            let base = if i % 2 == 0 {
                a.base.clone()
            } else {
                b.base.clone()
            };
            let (http, secret, refresh) = (http.clone(), secret.clone(), refresh.clone());
            tokio::spawn(async move {
                let r = http
                    .post(format!("{base}/token"))
                    .basic_auth("race", Some(&secret))
                    .form(&[("grant_type", "refresh_token"), ("refresh_token", &refresh)])
                    .send()
                    .await
                    .unwrap();
                let status = r.status().as_u16();
                let body: serde_json::Value = r.json().await.unwrap();
                (status, body)
            })
        })
        .collect();
    let mut winners = Vec::new();
    for t in tasks {
        let (status, body) = t.await.unwrap();
        match status {
            200 => winners.push(body),
            400 => assert_eq!(body["error"], "invalid_grant"),
            other => panic!("status {other}: {body}"),
        }
    }
    assert_eq!(
        winners.len(),
        1,
        "exactly one of 32 requests over two instances wins"
    );
    // The losers were reuse: the family, the winner's new token included, is revoked.
    let next = winners[0]["refresh_token"].as_str().unwrap();
    let r = http
        .post(format!("{}/token", b.base))
        .basic_auth("race", Some(&secret))
        .form(&[("grant_type", "refresh_token"), ("refresh_token", next)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_logins_on_one_instance_lock_the_account_on_the_other() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    add_user(a.store.as_ref(), "ada").await;
    add_client(a.store.as_ref(), "web").await;
    let url = |base: &str| {
        format!(
            "{base}/authorize?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid"
        )
    };
    // Three free failures and a fourth, on A: the account must now wait before any attempt.
    for _ in 0..4 {
        let r = Browser::default()
            .authorize(&a.base, &url(&a.base), "ada", "wrong password")
            .await;
        assert_eq!(r.status(), 401);
    }
    let r = Browser::default()
        .authorize(&b.base, &url(&b.base), "ada", PASSWORD)
        .await;
    assert_eq!(r.status(), 429, "B knows what happened on A");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_rotated_through_one_instance_is_served_and_used_by_the_other() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    let kids = |base: String| async move {
        let set: serde_json::Value = reqwest::get(format!("{base}/jwks.json"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        set["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k["kid"].as_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(kids(a.base.clone()).await, kids(b.base.clone()).await);
    let now = gatehouse::clock::Clock::now(&gatehouse::clock::SystemClock);
    let new_kid = gatehouse::keyring::rotate(a.store.as_ref(), now, 7200)
        .await
        .unwrap();

    let mut served = false;
    for _ in 0..50 {
        if kids(b.base.clone()).await.contains(&new_kid) {
            served = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(served, "B publishes the key rotated through A");
    // And signs with it.
    add_user(a.store.as_ref(), "ada").await;
    let secret = add_client(a.store.as_ref(), "web").await;
    let tokens = sign_in_with(&Browser::default(), &b, "web", &secret, "ada").await;
    let header = jsonwebtoken::decode_header(tokens["id_token"].as_str().unwrap()).unwrap();
    assert_eq!(header.kid.as_deref(), Some(new_kid.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_made_on_one_instance_is_valid_on_the_other() {
    let Some((a, b)) = two_instances().await else {
        return;
    };
    add_user(a.store.as_ref(), "ada").await;
    let secret = add_client(a.store.as_ref(), "web").await;
    let browser = Browser::default();
    sign_in_with(&browser, &a, "web", &secret, "ada").await;

    // Same browser, other instance, no password: the session is in the shared database.
    let silent = browser
        .http
        .get(format!(
            "{}/authorize?response_type=code&client_id=web&redirect_uri={REDIRECT}&scope=openid&prompt=none",
            b.base
        ))
        .send()
        .await
        .unwrap();
    let code = location_params(&silent)["code"].clone();
    // A code issued by B is redeemed at A.
    let r = browser
        .http
        .post(format!("{}/token", a.base))
        .basic_auth("web", Some(&secret))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}
