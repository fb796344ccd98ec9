//! `lab sso`: the gatehouse server under load. Starts each deployment (one server on SQLite,
//! one on PostgreSQL, two on one PostgreSQL), creates users and a client, and drives one
//! workload for a set time: token chains refreshing (`refresh`), sign-ins (`login`), or whole
//! flows (`flow`); either C concurrent clients each sending its next request when the last is
//! answered (closed loop), or requests at a fixed rate whatever the answers (open loop, timed
//! from when each was meant to be sent). It reports requests per second, latency per endpoint,
//! errors by status, the servers' CPU seconds per request, the bytes stored per refresh and
//! onewriter's figures, with Markdown, JSON and SVG charts; with `--repeats`, each run several
//! times and summarised over them (the median, the range, the worst).

mod deployment;
mod flows;
mod report;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use indicatif::{ProgressBar, ProgressStyle};

use deployment::{Deployment, Kind};
use flows::{Client, DpopKey, Tally, Tokens};
use report::{CellSummary, RunSummary};

/// What the clients do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Workload {
    /// Token chains: each signs in once before the clock starts, then refreshes, sending the
    /// refresh token the last refresh returned
    Refresh,
    /// Sign-ins: the authorization request, the login form (argon2id), the code exchange
    Login,
    /// Whole flows: a sign-in, then refreshes each followed by /userinfo and /introspect
    Flow,
    /// Token chains as `refresh`, each request with a DPoP proof of the chain's own P-256 key
    /// (RFC 9449): each refresh signs a proof, and the server verifies it, takes its id once
    /// and binds the access token to the key
    DpopRefresh,
}

impl Workload {
    pub fn label(self) -> &'static str {
        match self {
            Workload::Refresh => "refresh",
            Workload::Login => "login",
            Workload::Flow => "flow",
            Workload::DpopRefresh => "dpop-refresh",
        }
    }
}

/// How the load is offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Load {
    /// This many clients, each sending its next request when the last is answered.
    Closed(usize),
    /// This many requests (refreshes, or sign-ins) a second, whatever the answers.
    Open(u32),
}

/// Token chains (or users) an open-loop run draws from: a request waits for a free one, and
/// the wait counts in its latency.
const OPEN_LOOP_POOL: usize = 256;

/// Measure the gatehouse server under load: SQLite, PostgreSQL, and two instances on one
/// PostgreSQL, side by side.
#[derive(Debug, Parser)]
#[command(name = "lab sso", bin_name = "lab sso")]
pub struct SsoCli {
    /// Deployments, comma-separated [default: sqlite,postgres,postgres-x2]
    #[arg(long, value_delimiter = ',', value_enum)]
    deployments: Vec<Kind>,

    /// Workloads, comma-separated [default: refresh,login,flow,dpop-refresh]
    #[arg(long, value_delimiter = ',', value_enum)]
    workloads: Vec<Workload>,

    /// Concurrent clients of closed-loop runs, comma-separated [default: 8,64,256, none when
    /// --rate is given alone]
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=4096))]
    clients: Vec<u32>,

    /// Open-loop runs: requests a second (refreshes, or sign-ins), comma-separated; the
    /// latency of each is measured from when it was meant to be sent. Not for `flow`
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=100_000))]
    rate: Vec<u32>,

    /// Seconds each run lasts [default: 10]
    #[arg(long, value_parser = crate::parse_seconds)]
    seconds: Option<Duration>,

    /// Runs of each deployment, workload and load; the report gives their median and range,
    /// and judges the targets on the median (errors, WAL handovers and the longest latency on
    /// every run)
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeats: u32,

    /// Refreshes per sign-in in the `flow` workload
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    refreshes_per_login: u32,

    /// The PostgreSQL server (a fresh schema is created on it for every run, then dropped)
    #[arg(
        long,
        env = "GATEHOUSE_TEST_POSTGRES_URL",
        default_value = "postgres://root@127.0.0.1:5432/test"
    )]
    postgres_url: String,

    /// Write report.md, results.json and SVG charts into this directory
    #[arg(long)]
    out: Option<PathBuf>,

    /// The gatehouse binary to run [default: the one next to this lab binary]
    #[arg(long, env = "GATEHOUSE_BIN")]
    gatehouse_bin: Option<PathBuf>,

    /// A smoke test: SQLite only, every workload with 4 clients, refresh and login also at
    /// 50/s (open loop), 1 s each
    #[arg(long)]
    quick: bool,
}

pub fn main(args: impl Iterator<Item = String>) -> ExitCode {
    let cli = SsoCli::parse_from(args);
    match tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|rt| rt.block_on(run(cli)))
    {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lab sso: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: SsoCli) -> anyhow::Result<ExitCode> {
    let bin = deployment::gatehouse_bin(cli.gatehouse_bin.clone())?;
    let deployments = match (cli.deployments.is_empty(), cli.quick) {
        (false, _) => cli.deployments.clone(),
        (true, true) => vec![Kind::Sqlite],
        (true, false) => vec![Kind::Sqlite, Kind::Postgres, Kind::PostgresX2],
    };
    let workloads = match (cli.workloads.is_empty(), cli.quick) {
        (false, _) => cli.workloads.clone(),
        (true, _) => vec![
            Workload::Refresh,
            Workload::Login,
            Workload::Flow,
            Workload::DpopRefresh,
        ],
    };
    let clients: Vec<usize> = match (cli.clients.is_empty(), cli.rate.is_empty(), cli.quick) {
        (false, _, _) => cli.clients.iter().map(|c| *c as usize).collect(),
        (true, _, true) => vec![4],
        (true, true, false) => vec![8, 64, 256],
        (true, false, false) => Vec::new(),
    };
    let rates = match (cli.rate.is_empty(), cli.quick) {
        (true, true) => vec![50],
        _ => cli.rate.clone(),
    };
    if workloads == [Workload::Flow] && !rates.is_empty() {
        anyhow::bail!(
            "--rate is for the refresh, login and dpop-refresh workloads: a flow is many requests"
        );
    }
    let seconds = cli.seconds.unwrap_or(if cli.quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    });
    if let Some(out) = &cli.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    }
    // Each repeat runs every deployment, workload and load once, the deployments one after
    // the other at each load: a machine that drifts over the runs does so for all of them.
    let mut loads = Vec::new();
    for &workload in &workloads {
        loads.extend(clients.iter().map(|&c| (workload, Load::Closed(c))));
        if workload != Workload::Flow {
            loads.extend(rates.iter().map(|&r| (workload, Load::Open(r))));
        }
    }
    let repeats = cli.repeats as usize;
    let mut plan = Vec::new();
    for repeat in 1..=repeats {
        for &(workload, load) in &loads {
            plan.extend(
                deployments
                    .iter()
                    .map(|&kind| (repeat, kind, workload, load)),
            );
        }
    }
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(plan.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut runs = Vec::new();
    for (repeat, kind, workload, load) in plan {
        let what = report::title(
            kind.label(),
            workload.label(),
            &report::load_label(load),
            repeat,
            repeats,
        );
        bar.set_message(what.clone());
        let run = Run {
            bin: &bin,
            kind,
            workload,
            load,
            seconds,
            refreshes: cli.refreshes_per_login,
            postgres_url: &cli.postgres_url,
            quick: cli.quick,
        };
        let mut summary = measure(run).await.with_context(|| what.clone())?;
        summary.repeat = repeat;
        bar.suspend(|| println!("{}", report::table(&summary, &what)));
        runs.push(summary);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let cells = report::summarise(&runs);
    if repeats > 1 {
        println!("{}", report::summary_table(&cells));
    }
    let targets = report::targets(&cells);
    for t in &targets {
        println!(
            "{} {}: {}",
            if t.met { "met   " } else { "MISSED" },
            t.claim,
            t.measured
        );
    }
    if let Some(out) = &cli.out {
        let m = crate::machine::describe();
        let machine = format!(
            "{} core(s) of {}, {} GiB, Linux {}, SQLite {}, measured {}",
            m.cores, m.cpu, m.memory_gib, m.kernel, m.sqlite, m.date
        );
        let command = std::env::args().collect::<Vec<_>>().join(" ");
        // The charts compare deployments on the closed-loop refresh runs.
        let chains: Vec<CellSummary> = cells
            .iter()
            .filter(|c| c.workload == "refresh" && c.rate.is_none())
            .cloned()
            .collect();
        let files = vec![
            (
                "report.md".to_owned(),
                report::markdown(&runs, &cells, &targets, &machine, &command),
            ),
            (
                "results.json".to_owned(),
                serde_json::to_string_pretty(&serde_json::json!({
                    "machine": m,
                    "seconds": seconds.as_secs_f64(),
                    "refreshes_per_login": cli.refreshes_per_login,
                    "open_loop_pool": OPEN_LOOP_POOL,
                    "repeats": repeats,
                    "summaries": cells,
                    "runs": runs,
                    "targets": targets,
                }))?,
            ),
            (
                "refresh-throughput.svg".to_owned(),
                report::bar_chart(
                    &chains,
                    if repeats > 1 {
                        "Refreshes per second (token chains): the median, slowest and fastest run"
                    } else {
                        "Refreshes per second (token chains)"
                    },
                    "refreshes/s",
                    |c| c.per_second,
                    Some(|c| (c.per_second_min, c.per_second_max)),
                )?,
            ),
            (
                "refresh-p99.svg".to_owned(),
                report::bar_chart(
                    &chains,
                    if repeats > 1 {
                        "p99 refresh latency (token chains), the median of the runs"
                    } else {
                        "p99 refresh latency (token chains)"
                    },
                    "ms",
                    |c| c.p99_ms,
                    None,
                )?,
            ),
        ];
        crate::report::write_all(out, &files)?;
        println!("report written to {}", out.display());
    }
    // Server errors are a failure of gatehouse, whatever the speed; so is any answer a client
    // following the protocol should not get (every sign-in refused would otherwise pass).
    let name = |r: &RunSummary| report::title(r.deployment, r.workload, &r.load, r.repeat, repeats);
    for r in runs.iter().filter(|r| r.unexpected > 0) {
        eprintln!(
            "{}: {} unexpected answers (see the per-endpoint errors)",
            name(r),
            r.unexpected
        );
    }
    let broken = runs
        .iter()
        .any(|r| r.server_errors > 0 || r.transport_errors > 0 || r.unexpected > 0);
    for r in runs.iter().filter(|r| r.unsent > 0) {
        eprintln!(
            "{}: {} requests due were never sent (the server fell behind the rate)",
            name(r),
            r.unsent
        );
    }
    Ok(if broken {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// One run: a deployment, a workload, a load, for `seconds`.
struct Run<'a> {
    bin: &'a std::path::Path,
    kind: Kind,
    workload: Workload,
    load: Load,
    seconds: Duration,
    refreshes: u32,
    postgres_url: &'a str,
    quick: bool,
}

/// Starts the deployment, prepares the clients (and, for `refresh`, signs each chain in before
/// the clock starts), runs the load, and reads what the servers spent.
async fn measure(run: Run<'_>) -> anyhow::Result<RunSummary> {
    let users = match run.load {
        Load::Closed(c) => c,
        Load::Open(_) if run.quick => 16,
        Load::Open(_) => OPEN_LOOP_POOL,
    };
    let deployment = Deployment::start(run.kind, users, run.postgres_url, run.bin).await?;
    // Each server's own token endpoint, which its DPoP proofs name: the servers of a
    // deployment are reached on addresses of their own, each its own issuer.
    let mut token_endpoints = Vec::with_capacity(deployment.bases.len());
    if run.workload == Workload::DpopRefresh {
        for base in &deployment.bases {
            token_endpoints.push(flows::token_endpoint(base).await?);
        }
    }
    let clients = (0..users)
        .map(|i| {
            let server = i % deployment.bases.len();
            let base = deployment.bases[server].clone();
            // 10.0.0.1, 10.0.0.2, …: one address per person.
            let n = u32::try_from(i + 1).unwrap_or(u32::MAX);
            let address = std::net::Ipv4Addr::from(0x0a00_0000 | (n & 0x00ff_ffff));
            let dpop = token_endpoints
                .get(server)
                .cloned()
                .map(DpopKey::new)
                .transpose()?;
            Client::new(
                base,
                format!("bench-{i}"),
                address,
                deployment.secret.clone(),
                dpop,
            )
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let chains = if matches!(run.workload, Workload::Refresh | Workload::DpopRefresh) {
        Some(sign_in_all(&clients).await?)
    } else {
        None
    };
    let bytes_before = deployment.stored_bytes().await?;
    let cpu_before = deployment.cpu_seconds()?;
    let tallies = match run.load {
        Load::Closed(_) => (0..users).map(|_| Tally::new()).collect(),
        Load::Open(_) => Vec::new(),
    };
    let started = Instant::now();
    let deadline = started + run.seconds;
    let tally = match (run.load, chains) {
        (Load::Closed(_), Some(chains)) => {
            let tasks = clients
                .into_iter()
                .zip(chains)
                .zip(tallies)
                .map(|((c, t), tally)| tokio::spawn(flows::run_chain(c, t, tally, deadline)));
            gather(tasks).await?
        }
        (Load::Closed(_), None) => {
            let tasks = clients
                .into_iter()
                .zip(tallies)
                .map(|(c, tally)| match run.workload {
                    Workload::Login => tokio::spawn(flows::run_logins(c, tally, deadline)),
                    _ => tokio::spawn(flows::run_flow(c, run.refreshes, tally, deadline)),
                });
            gather(tasks).await?
        }
        (Load::Open(rate), chains) => {
            let pool: Vec<(Client, Option<Tokens>)> = match chains {
                Some(chains) => clients
                    .into_iter()
                    .zip(chains.into_iter().map(Some))
                    .collect(),
                None => clients.into_iter().map(|c| (c, None)).collect(),
            };
            open_loop(pool, rate, started, deadline).await?
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = deployment.cpu_seconds()? - cpu_before;
    let bytes_after = deployment.stored_bytes().await?;
    let metrics = reqwest::get(format!("{}/metrics", deployment.bases[0]))
        .await?
        .text()
        .await?;
    // Stops the servers and removes the database off the async threads.
    tokio::task::spawn_blocking(move || drop(deployment)).await?;
    let mut summary = RunSummary::new(
        run.kind.label(),
        run.workload,
        run.load,
        users,
        elapsed,
        &tally,
    );
    summary.set_costs(
        cpu,
        bytes_after.total.saturating_sub(bytes_before.total),
        &bytes_after.growth_since(&bytes_before),
    );
    summary.engine = crate::engine::EngineSummary::from_metrics(&metrics);
    Ok(summary)
}

/// Signs every client in once, a few at a time: the token chains a `refresh` run starts from.
async fn sign_in_all(clients: &[Client]) -> anyhow::Result<Vec<Tokens>> {
    let mut out = Vec::with_capacity(clients.len());
    for batch in clients.chunks(16) {
        let signed = futures::future::join_all(batch.iter().map(|c| async move {
            let mut setup = Tally::new();
            c.sign_in(&mut setup, Instant::now()).await
        }))
        .await;
        for tokens in signed {
            out.push(tokens.context("a sign-in before the run failed")?);
        }
    }
    Ok(out)
}

async fn gather(
    tasks: impl Iterator<Item = tokio::task::JoinHandle<Tally>>,
) -> anyhow::Result<Tally> {
    let mut tally = Tally::new();
    for t in tasks.collect::<Vec<_>>() {
        tally.merge(&t.await?);
    }
    Ok(tally)
}

/// Requests at `rate` a second from `started` until `deadline`, whatever the answers: each
/// takes a free client from the pool (waiting for one if none is free) and is timed from when
/// it was meant to be sent. A client with tokens refreshes its chain; one without signs in.
async fn open_loop(
    pool: Vec<(Client, Option<Tokens>)>,
    rate: u32,
    started: Instant,
    deadline: Instant,
) -> anyhow::Result<Tally> {
    let (free_tx, mut free_rx) = tokio::sync::mpsc::unbounded_channel();
    for member in pool {
        free_tx.send(member)?;
    }
    let tally = std::sync::Arc::new(std::sync::Mutex::new(Tally::new()));
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate));
    let mut tasks = Vec::new();
    let due = (deadline - started).as_secs_f64() * f64::from(rate);
    let due = due.ceil() as u64;
    let mut sent = 0u64;
    for i in 0u32.. {
        let intended = started + interval * i;
        if intended >= deadline {
            break;
        }
        tokio::time::sleep_until(intended.into()).await;
        // A broken chain is not returned: the pool shrinks, and the wait shows in latency.
        // A server that cannot keep up leaves requests unsent at the end, counted as such.
        let free = tokio::time::timeout_at(deadline.into(), free_rx.recv()).await;
        let Ok(Some((client, tokens))) = free else {
            break;
        };
        sent += 1;
        let (free_tx, tally) = (free_tx.clone(), tally.clone());
        tasks.push(tokio::spawn(async move {
            let mut mine = Tally::few();
            let next = match &tokens {
                Some(t) => client.refresh(&mut mine, t, intended).await.map(Some),
                None => client.sign_in(&mut mine, intended).await.map(|_| None),
            };
            if let Ok(mut all) = tally.lock() {
                all.merge(&mine);
            }
            if let Some(next) = next {
                let _ = free_tx.send((client, next));
            } else if tokens.is_none() {
                // A failed sign-in leaves the user able to try again.
                let _ = free_tx.send((client, None));
            }
        }));
    }
    for t in tasks {
        t.await?;
    }
    let mut tally = std::sync::Arc::try_unwrap(tally)
        .map_err(|_| anyhow::anyhow!("the tally is still shared"))?
        .into_inner()
        .map_err(|_| anyhow::anyhow!("a request panicked"))?;
    tally.unsent = due.saturating_sub(sent);
    Ok(tally)
}
