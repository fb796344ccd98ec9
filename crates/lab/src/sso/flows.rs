//! One simulated client and what it does: sign a user in through the real login form (argon2
//! included) and exchange the code; refresh a token chain; or the whole flow, a sign-in then a
//! few refreshes, each followed by `/userinfo` and `/introspect`, and again. Every request is
//! timed and its status counted, per endpoint; an open-loop request is timed from when it was
//! meant to be sent, so a stall that delays sending is not hidden.

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
    /// Latency of every answered request, in microseconds, per endpoint; empty in a tally made
    /// by [`Tally::few`].
    pub latency: Vec<Histogram<u64>>,
    /// A [`Tally::few`]'s latencies, endpoint and microseconds, until it is merged.
    samples: Vec<(usize, u64)>,
    /// Answers per endpoint and status.
    pub statuses: BTreeMap<(usize, u16), u64>,
    /// Requests that got no HTTP answer (connection refused or reset, timeout).
    pub transport_errors: u64,
    /// Open loop: requests due before the end that were never sent, because no user or chain
    /// of the pool came free in time (the server could not keep up with the rate).
    pub unsent: u64,
}

impl Tally {
    /// A tally with a histogram per endpoint, about 0.8 MB: a closed loop's clients get theirs
    /// before the clock starts, since allocating them for hundreds of clients while the first
    /// ones already measure would count the load generator's page faults as the server's
    /// latency.
    pub fn new() -> Tally {
        Tally {
            latency: (0..ENDPOINTS.len())
                .map(|_| {
                    Histogram::new_with_bounds(1, 60_000_000, 3).unwrap_or_else(|_| unreachable!())
                })
                .collect(),
            samples: Vec::new(),
            statuses: BTreeMap::new(),
            transport_errors: 0,
            unsent: 0,
        }
    }

    /// A tally for a request or two, to be merged into a [`Tally::new`] one: it keeps its
    /// latencies in a list. A set of histograms is about 0.8 MB to allocate and clear; made
    /// for every open-loop request, on the cores the server runs on, it put the p99 measured at
    /// 2,000 refreshes a second at 240-340 ms (13-26 ms without it).
    pub fn few() -> Tally {
        Tally {
            latency: Vec::new(),
            samples: Vec::with_capacity(3),
            statuses: BTreeMap::new(),
            transport_errors: 0,
            unsent: 0,
        }
    }

    fn record(&mut self, endpoint: Endpoint, status: u16, took: Duration) {
        let i = endpoint as usize;
        let us = u64::try_from(took.as_micros())
            .unwrap_or(u64::MAX)
            .clamp(1, 60_000_000);
        self.record_latency(i, us);
        *self.statuses.entry((i, status)).or_default() += 1;
    }

    fn record_latency(&mut self, endpoint: usize, us: u64) {
        match self.latency.get_mut(endpoint) {
            Some(h) => {
                let _ = h.record(us);
            }
            None => self.samples.push((endpoint, us)),
        }
    }

    pub fn merge(&mut self, other: &Tally) {
        for (a, b) in self.latency.iter_mut().zip(&other.latency) {
            let _ = a.add(b);
        }
        for &(endpoint, us) in &other.samples {
            self.record_latency(endpoint, us);
        }
        for (k, v) in &other.statuses {
            *self.statuses.entry(*k).or_default() += v;
        }
        self.transport_errors += other.transport_errors;
        self.unsent += other.unsent;
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

/// One request: its status and body, timed into `tally` from `since` (now, or when an
/// open-loop schedule meant it to be sent). `None` when no answer came.
async fn timed(
    tally: &mut Tally,
    endpoint: Endpoint,
    request: reqwest::RequestBuilder,
    since: Instant,
) -> Option<(u16, reqwest::header::HeaderMap, String)> {
    let started = since;
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

pub struct Tokens {
    access: String,
    refresh: String,
}

/// The whole flow for `client` until `deadline`: sign in, then `refreshes_per_login` refreshes
/// each followed by `/userinfo` and `/introspect`, and again. Counted in `tally`, made before
/// the clock started (see [`Tally::new`]).
pub async fn run_flow(
    client: Client,
    refreshes_per_login: u32,
    mut tally: Tally,
    deadline: Instant,
) -> Tally {
    while Instant::now() < deadline {
        let Some(mut tokens) = client.sign_in(&mut tally, Instant::now()).await else {
            // An error was counted; a short pause keeps a failing server from being hammered.
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        for _ in 0..refreshes_per_login {
            if Instant::now() >= deadline {
                break;
            }
            let Some(next) = client.refresh(&mut tally, &tokens, Instant::now()).await else {
                break;
            };
            tokens = next;
            client.userinfo(&mut tally, &tokens.access).await;
            client.introspect(&mut tally, &tokens.access).await;
        }
    }
    tally
}

/// A token chain until `deadline`: each refresh sends the refresh token the one before got.
pub async fn run_chain(
    client: Client,
    mut tokens: Tokens,
    mut tally: Tally,
    deadline: Instant,
) -> Tally {
    while Instant::now() < deadline {
        match client.refresh(&mut tally, &tokens, Instant::now()).await {
            Some(next) => tokens = next,
            // The chain is broken (counted); it cannot go on.
            None => break,
        }
    }
    tally
}

/// Sign-ins, one after the other, until `deadline`.
pub async fn run_logins(client: Client, mut tally: Tally, deadline: Instant) -> Tally {
    while Instant::now() < deadline {
        if client.sign_in(&mut tally, Instant::now()).await.is_none() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
    tally
}

/// A user of the load test, with a cookie jar of its own.
pub struct Client {
    http: reqwest::Client,
    base: String,
    username: String,
    secret: String,
    /// For the `dpop-refresh` workload, the key it proves at the token endpoint.
    dpop: Option<DpopKey>,
}

/// A client's DPoP key (RFC 9449), P-256, and the token endpoint's URL as discovery names it
/// (the `htu` of its proofs).
pub struct DpopKey {
    pair: aws_lc_rs::signature::EcdsaKeyPair,
    /// The proof's header, encoded: the same for every proof of the key.
    header: String,
    token_endpoint: String,
}

impl DpopKey {
    /// A new key for proofs to `token_endpoint`.
    ///
    /// # Errors
    /// When no key can be made.
    pub fn new(token_endpoint: String) -> anyhow::Result<DpopKey> {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .map_err(|_| anyhow::anyhow!("cannot make a P-256 key"))?;
        let point = pair.public_key().as_ref();
        anyhow::ensure!(point.len() == 65, "an uncompressed P-256 point");
        let header = serde_json::json!({
            "typ": "dpop+jwt",
            "alg": "ES256",
            "jwk": {
                "kty": "EC",
                "crv": "P-256",
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
                "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
            },
        });
        Ok(DpopKey {
            pair,
            header: URL_SAFE_NO_PAD.encode(header.to_string()),
            token_endpoint,
        })
    }

    /// A fresh proof for a POST to the token endpoint: a new `jti`, `iat` now, signed.
    fn proof(&self) -> Option<String> {
        let iat = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()?
            .as_secs();
        let claims = serde_json::json!({
            "jti": super::deployment::random_secret(),
            "htm": "POST",
            "htu": self.token_endpoint,
            "iat": iat,
        });
        let message = format!(
            "{}.{}",
            self.header,
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let rng = aws_lc_rs::rand::SystemRandom::new();
        let signature = self.pair.sign(&rng, message.as_bytes()).ok()?;
        Some(format!(
            "{message}.{}",
            URL_SAFE_NO_PAD.encode(signature.as_ref())
        ))
    }
}

/// The token endpoint `base`'s discovery names: what a DPoP proof's `htu` must be.
///
/// # Errors
/// When discovery cannot be read.
pub async fn token_endpoint(base: &str) -> anyhow::Result<String> {
    let discovery: serde_json::Value =
        reqwest::get(format!("{base}/.well-known/openid-configuration"))
            .await?
            .json()
            .await?;
    discovery["token_endpoint"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| anyhow::anyhow!("discovery names no token endpoint"))
}

impl Client {
    /// `username` signing in at `base` from an address of their own (`address`, sent as a
    /// proxy would in `X-Forwarded-For`), the client's secret `secret`.
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(
        base: String,
        username: String,
        address: std::net::Ipv4Addr,
        secret: String,
        dpop: Option<DpopKey>,
    ) -> anyhow::Result<Client> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.to_string().parse()?);
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(60))
            .build()?;
        Ok(Client {
            http,
            base,
            username,
            secret,
            dpop,
        })
    }

    /// The authorization request, the login form, the code exchange; the first request timed
    /// from `since`.
    pub async fn sign_in(&self, tally: &mut Tally, since: Instant) -> Option<Tokens> {
        let verifier = super::deployment::random_secret();
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        // prompt=login: the password every time, as a new user would.
        let url = format!(
            "{}/authorize?response_type=code&client_id={CLIENT_ID}&redirect_uri={REDIRECT}&scope=openid%20profile&state=s&code_challenge={challenge}&code_challenge_method=S256&prompt=login",
            self.base
        );
        let (status, _, html) =
            timed(tally, Endpoint::Authorize, self.http.get(url), since).await?;
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
        let (status, headers, _) = timed(tally, Endpoint::Login, login, Instant::now()).await?;
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
        let exchange = self.proved(exchange)?;
        tokens_from(timed(tally, Endpoint::Code, exchange, Instant::now()).await?)
    }

    /// A refresh with the chain's last refresh token, timed from `since`.
    pub async fn refresh(
        &self,
        tally: &mut Tally,
        tokens: &Tokens,
        since: Instant,
    ) -> Option<Tokens> {
        let request = self
            .http
            .post(format!("{}/token", self.base))
            .basic_auth(CLIENT_ID, Some(&self.secret))
            .form(&[
                ("grant_type", "refresh_token"),
                ("refresh_token", &tokens.refresh),
            ]);
        let request = self.proved(request)?;
        tokens_from(timed(tally, Endpoint::Refresh, request, since).await?)
    }

    /// `request` to the token endpoint with a fresh DPoP proof, for a client with a key (the
    /// proof is made on the clock, as a client makes it); as it is for one without.
    fn proved(&self, request: reqwest::RequestBuilder) -> Option<reqwest::RequestBuilder> {
        match &self.dpop {
            Some(key) => Some(request.header("DPoP", key.proof()?)),
            None => Some(request),
        }
    }

    async fn userinfo(&self, tally: &mut Tally, access: &str) {
        let request = self
            .http
            .get(format!("{}/userinfo", self.base))
            .bearer_auth(access);
        timed(tally, Endpoint::Userinfo, request, Instant::now()).await;
    }

    async fn introspect(&self, tally: &mut Tally, access: &str) {
        let request = self
            .http
            .post(format!("{}/introspect", self.base))
            .basic_auth(CLIENT_ID, Some(&self.secret))
            .form(&[("token", access)]);
        timed(tally, Endpoint::Introspect, request, Instant::now()).await;
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
    fn a_request_tallied_on_its_own_counts_as_if_recorded_directly() {
        let (mut direct, mut merged) = (Tally::new(), Tally::new());
        for ms in [1, 5, 40] {
            let took = Duration::from_millis(ms);
            let mut one = Tally::few();
            one.record(Endpoint::Refresh, 200, took);
            direct.record(Endpoint::Refresh, 200, took);
            merged.merge(&one);
        }
        let refresh = Endpoint::Refresh as usize;
        let (a, b) = (&direct.latency[refresh], &merged.latency[refresh]);
        assert_eq!((b.len(), b.min(), b.max()), (3, a.min(), a.max()));
        assert_eq!(merged.statuses, direct.statuses);
    }

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
