//! One simulated client: it signs a user in through the real login form (argon2 included),
//! exchanges the code, then refreshes its tokens a few times, calling `/userinfo` and
//! `/introspect` after each refresh, and signs in again. Every request is timed and its status
//! counted, per endpoint.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hdrhistogram::Histogram;
use sha2::{Digest, Sha256};

use super::deployment::{CLIENT_ID, PASSWORD, REDIRECT};

/// The endpoints measured, in report order.
pub const ENDPOINTS: [&str; 6] = [
    "authorize",
    "login",
    "code",
    "refresh",
    "userinfo",
    "introspect",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Authorize,
    Login,
    Code,
    Refresh,
    Userinfo,
    Introspect,
}

/// The answer each endpoint gives a well-behaved client: the login form, the redirect after a
/// good password, and 200 for every token endpoint.
const EXPECTED: [u16; 6] = [200, 303, 200, 200, 200, 200];

/// What one or more clients saw.
pub struct Tally {
    /// Latency of every answered request, in microseconds, per endpoint.
    pub latency: Vec<Histogram<u64>>,
    /// Answers per endpoint and status.
    pub statuses: BTreeMap<(usize, u16), u64>,
    /// Requests that got no HTTP answer (connection refused or reset, timeout).
    pub transport_errors: u64,
}

impl Tally {
    pub fn new() -> Tally {
        Tally {
            latency: (0..ENDPOINTS.len())
                .map(|_| {
                    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!())
                })
                .collect(),
            statuses: BTreeMap::new(),
            transport_errors: 0,
        }
    }

    fn record(&mut self, endpoint: Endpoint, status: u16, took: Duration) {
        let i = endpoint as usize;
        let us = u64::try_from(took.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, 60_000_000);
        let _ = self.latency[i].record(us);
        *self.statuses.entry((i, status)).or_default() += 1;
    }

    pub fn merge(&mut self, other: &Tally) {
        for (a, b) in self.latency.iter_mut().zip(&other.latency) {
            let _ = a.add(b);
        }
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        self.transport_errors += other.transport_errors;
    }

    /// Answers of `endpoint` with a status in `range`.
    /// Answers below 500 that a well-behaved client should never get (a 4xx from a flow that
    /// follows the protocol is a bug in the server or in the load generator, either way a run
    /// that measures the wrong thing).
    pub fn unexpected(&self) -> u64 {
        self.statuses
            .iter()
            .filter(|((e, s), _)| *s < 500 && *s != EXPECTED[*e])
            .map(|(_, n)| n)
            .sum()
    }

    pub fn count(&self, endpoint: usize, range: std::ops::RangeInclusive<u16>) -> u64 {
        self.statuses
            .iter()
            .filter(|((e, s), _)| *e == endpoint && range.contains(s))
            .map(|(_, n)| n)
            .sum()
    }
}

/// One request: its status and body, timed into `tally`. `None` when no answer came.
async fn timed(
    tally: &mut Tally,
    endpoint: Endpoint,
    request: reqwest::RequestBuilder,
) -> Option<(u16, reqwest::header::HeaderMap, String)> {
    let started = Instant::now();
    let result = async {
        let r = request.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        let body = r.text().await?;
        Ok::<_, reqwest::Error>((status, headers, body))
    }
    .await;
    match result {
        Ok((status, headers, body)) => {
            tally.record(endpoint, status, started.elapsed());
            Some((status, headers, body))
        }
        Err(_) => {
            tally.transport_errors += 1;
            None
        }
    }
}

fn hidden_input(html: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html.find(&marker)? + marker.len();
    let end = start + html[start..].find('"')?;
    Some(
        html[start..end]
            .replace("&quot;", "\"")
            .replace("&#39;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

struct Tokens {
    access: String,
    refresh: String,
}

/// Runs one client against `base` as `username` until `deadline`.
pub async fn run(
    base: String,
    username: String,
    secret: String,
    refreshes_per_login: u32,
    deadline: Instant,
) -> Tally {
    let mut tally = Tally::new();
    let Ok(http) = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(60))
        .build()
    else {
        tally.transport_errors += 1;
        return tally;
    };
    let c = Client {
        http,
        base,
        username,
        secret,
    };
    while Instant::now() < deadline {
        let Some(mut tokens) = c.sign_in(&mut tally).await else {
            // An error was counted; a short pause keeps a failing server from being hammered.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        for _ in 0..refreshes_per_login {
            if Instant::now() >= deadline {
                break;
            }
            let Some(next) = c.refresh(&mut tally, &tokens.refresh).await else {
                break;
            };
            tokens = next;
            c.userinfo(&mut tally, &tokens.access).await;
            c.introspect(&mut tally, &tokens.access).await;
        }
    }
    tally
}

struct Client {
    http: reqwest::Client,
    base: String,
    username: String,
    secret: String,
}

impl Client {
    async fn sign_in(&self, tally: &mut Tally) -> Option<Tokens> {
        let verifier = super::deployment::random_secret();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        // prompt=login: the password every time, as a new user would.
        let url = format!(
            "{}/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={REDIRECT}&scope=openid%20profile&state=s&code_challenge={challenge}&code_challenge_method=S256&prompt=login",
            self.base
        );
        let (status, _, html) = timed(tally, Endpoint::Authorize, self.http.get(url)).await?;
        if status != 200 {
            return None;
        }
        let form = [
            ("username", self.username.clone()),
            ("password", PASSWORD.to_owned()),
            ("csrf", hidden_input(&html, "csrf")?),
            ("request", hidden_input(&html, "request")?),
        ];
        let login = self.http.post(format!("{}/login", self.base)).form(&form);
        let (status, headers, _) = timed(tally, Endpoint::Login, login).await?;
        if status != 303 {
            return None;
        }
        let location = headers.get("location")?.to_str().ok()?;
        let code = url::Url::parse(location)
            .ok()?
            .query_pairs()
            .find(|(k, _)| k == "code")?
            .1
            .into_owned();
        let exchange = self
            .http
            .post(format!("{}/token", self.base))
            .basic_auth(CLIENT_ID, Some(&self.secret))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", REDIRECT),
                ("code_verifier", &verifier),
            ]);
        tokens_from(timed(tally, Endpoint::Code, exchange).await?)
    }

    async fn refresh(&self, tally: &mut Tally, refresh: &str) -> Option<Tokens> {
        let request = self
            .http
            .post(format!("{}/token", self.base))
            .basic_auth(CLIENT_ID, Some(&self.secret))
            .form(&[("grant_type", "refresh_token"), ("refresh_token", refresh)]);
        tokens_from(timed(tally, Endpoint::Refresh, request).await?)
    }

    async fn userinfo(&self, tally: &mut Tally, access: &str) {
        let request = self
            .http
            .get(format!("{}/userinfo", self.base))
            .bearer_auth(access);
        timed(tally, Endpoint::Userinfo, request).await;
    }

    async fn introspect(&self, tally: &mut Tally, access: &str) {
        let request = self
            .http
            .post(format!("{}/introspect", self.base))
            .basic_auth(CLIENT_ID, Some(&self.secret))
            .form(&[("token", access)]);
        timed(tally, Endpoint::Introspect, request).await;
    }
}

fn tokens_from((status, _, body): (u16, reqwest::header::HeaderMap, String)) -> Option<Tokens> {
    if status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_str(&body).ok()?;
    Some(Tokens {
        access: v["access_token"].as_str()?.to_owned(),
        refresh: v["refresh_token"].as_str()?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_answers_a_protocol_following_client_expects_are_not_unexpected() {
        let mut t = Tally::new();
        let took = Duration::from_millis(1);
        for (endpoint, status) in [
            (Endpoint::Authorize, 200),
            (Endpoint::Login, 303),
            (Endpoint::Code, 200),
            (Endpoint::Refresh, 200),
            (Endpoint::Userinfo, 200),
            (Endpoint::Introspect, 200),
        ] {
            t.record(endpoint, status, took);
        }
        assert_eq!(t.unexpected(), 0);
        // Every sign-in refused, a refresh refused, a throttled login: all unexpected.
        t.record(Endpoint::Login, 401, took);
        t.record(Endpoint::Refresh, 400, took);
        t.record(Endpoint::Login, 429, took);
        assert_eq!(t.unexpected(), 3);
        // 5xx are counted as server errors, not here.
        t.record(Endpoint::Refresh, 503, took);
        assert_eq!(t.unexpected(), 3);
    }
}
