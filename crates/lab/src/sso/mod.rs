//! `lab sso`: the gatehouse server under load. Starts each deployment (one server on SQLite,
//! one on PostgreSQL, two on one PostgreSQL), creates users and a client, drives C concurrent
//! clients through whole flows for a set time, and reports requests per second and latency per
//! endpoint, and errors by status, with Markdown, JSON and SVG charts.

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
use flows::Tally;
use report::RunSummary;

/// Measure the gatehouse server under load: SQLite, PostgreSQL, and two instances on one
/// PostgreSQL, side by side.
#[derive(Debug, Parser)]
#[command(name = "lab sso", bin_name = "lab sso")]
pub struct SsoCli {
    /// Deployments, comma-separated [default: sqlite,postgres,postgres-x2]
    #[arg(long, value_delimiter = ',', value_enum)]
    deployments: Vec<Kind>,

    /// Concurrent clients, comma-separated [default: 8,64,256]
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=4096))]
    clients: Vec<u32>,

    /// Seconds each run lasts [default: 10]
    #[arg(long, value_parser = crate::parse_seconds)]
    seconds: Option<Duration>,

    /// Refreshes per sign-in, each followed by a userinfo and an introspection call
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

    /// A smoke test: SQLite only, 4 clients, 1 s
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
    let clients: Vec<usize> = match (cli.clients.is_empty(), cli.quick) {
        (false, _) => cli.clients.iter().map(|c| *c as usize).collect(),
        (true, true) => vec![4],
        (true, false) => vec![8, 64, 256],
    };
    let seconds = cli.seconds.unwrap_or(if cli.quick {
        Duration::from_secs(1)
    } else {
        Duration::from_secs(10)
    });
    if let Some(out) = &cli.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
    }
    let total = (deployments.len() * clients.len()) as u64;
    let bar = if std::io::stderr().is_terminal() {
        ProgressBar::new(total)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} runs {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut runs = Vec::new();
    for &kind in &deployments {
        for &c in &clients {
            bar.set_message(format!("{} with {c} clients", kind.label()));
            let summary = measure(
                &bin,
                kind,
                c,
                seconds,
                cli.refreshes_per_login,
                &cli.postgres_url,
            )
            .await
            .with_context(|| format!("{} with {c} clients", kind.label()))?;
            bar.suspend(|| println!("{}", report::table(&summary)));
            runs.push(summary);
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    let targets = report::targets(&runs);
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
        let files = vec![
            (
                "report.md".to_owned(),
                report::markdown(&runs, &targets, &machine, &command),
            ),
            (
                "results.json".to_owned(),
                serde_json::to_string_pretty(&serde_json::json!({
                    "machine": m,
                    "seconds": seconds.as_secs_f64(),
                    "refreshes_per_login": cli.refreshes_per_login,
                    "runs": runs,
                    "targets": targets,
                }))?,
            ),
            (
                "refresh-throughput.svg".to_owned(),
                report::bar_chart(&runs, "Refreshes per second", "refreshes/s", |r| {
                    r.endpoint("refresh").map_or(0.0, |e| e.per_second)
                })?,
            ),
            (
                "refresh-p99.svg".to_owned(),
                report::bar_chart(&runs, "p99 refresh latency", "ms", |r| {
                    r.endpoint("refresh").map_or(0.0, |e| e.p99_ms)
                })?,
            ),
        ];
        crate::report::write_all(out, &files)?;
        println!("report written to {}", out.display());
    }
    // Server errors are a failure of gatehouse, whatever the speed; so is any answer a client
    // following the protocol should not get (every sign-in refused would otherwise pass).
    for r in runs.iter().filter(|r| r.unexpected > 0) {
        eprintln!(
            "{} with {} clients: {} unexpected answers (see the per-endpoint errors)",
            r.deployment, r.clients, r.unexpected
        );
    }
    let broken = runs
        .iter()
        .any(|r| r.server_errors > 0 || r.transport_errors > 0 || r.unexpected > 0);
    Ok(if broken {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    })
}

/// One deployment with `clients` clients for `seconds`.
async fn measure(
    bin: &std::path::Path,
    kind: Kind,
    clients: usize,
    seconds: Duration,
    refreshes: u32,
    postgres_url: &str,
) -> anyhow::Result<RunSummary> {
    let deployment = Deployment::start(kind, clients, postgres_url, bin).await?;
    let started = Instant::now();
    let deadline = started + seconds;
    let tasks: Vec<_> = (0..clients)
        .map(|i| {
            let base = deployment.bases[i % deployment.bases.len()].clone();
            let secret = deployment.secret.clone();
            tokio::spawn(flows::run(
                base,
                format!("bench-{i}"),
                secret,
                refreshes,
                deadline,
            ))
        })
        .collect();
    let mut tally = Tally::new();
    for t in tasks {
        tally.merge(&t.await?);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let metrics = reqwest::get(format!("{}/metrics", deployment.bases[0]))
        .await?
        .text()
        .await?;
    // Stops the servers and removes the database off the async threads.
    tokio::task::spawn_blocking(move || drop(deployment)).await?;
    let mut summary = RunSummary::new(kind.label(), clients, elapsed, &tally);
    summary.engine = report::EngineSummary::from_metrics(&metrics);
    Ok(summary)
}
