//! The lab: the story's SQLite failures and every peer library, measured side by side in one
//! run. See the crate README.

mod engine;
mod machine;
mod report;
mod runner;
mod scenarios;
mod sso;
mod workload;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use clap::builder::PossibleValuesParser;
use indicatif::{ProgressBar, ProgressStyle};

use runner::{Limits, Setting};
use workload::{Sync, Workload};

/// Run the story's SQLite failure modes and every peer library side by side, and report
/// throughput, latency, errors and whether the database holds exactly the acknowledged work.
#[derive(Debug, Parser)]
#[command(
    name = "lab",
    version,
    after_help = "`lab sso --help`: the gatehouse server under load (SQLite, PostgreSQL, two instances)."
)]
struct Cli {
    /// Scenarios to run, comma-separated [default: all of them]
    #[arg(long, value_delimiter = ',', value_parser = PossibleValuesParser::new(scenarios::names()))]
    scenarios: Vec<String>,

    /// Workloads, comma-separated [default: rmw,mixed,read]
    #[arg(long, value_delimiter = ',', value_enum)]
    workloads: Vec<Workload>,

    /// Concurrent workers, comma-separated [default: 8,64]
    #[arg(long, value_delimiter = ',', value_parser = clap::value_parser!(u32).range(1..=4096))]
    workers: Vec<u32>,

    /// SQLite `synchronous` settings, comma-separated [default: normal,full]
    #[arg(long, value_delimiter = ',', value_enum)]
    synchronous: Vec<Sync>,

    /// Seconds each run lasts [default: 3]
    #[arg(long, value_parser = parse_seconds)]
    seconds: Option<Duration>,

    /// Times every run is repeated (interleaved, so a noisy disk favours no scenario) [default: 2]
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=100))]
    repeats: Option<u32>,

    /// Write report.md, results.json and SVG charts into this directory
    #[arg(long)]
    out: Option<PathBuf>,

    /// A reduced set (every scenario, rmw, 8 workers, NORMAL, 0.3 s, once): a smoke test
    #[arg(long)]
    quick: bool,

    /// Directory for the scratch database files [default: the system's temporary directory]
    #[arg(long)]
    dir: Option<PathBuf>,
}

fn parse_seconds(s: &str) -> Result<Duration, String> {
    let secs: f64 = s
        .parse()
        .map_err(|_| format!("`{s}` is not a number of seconds"))?;
    if !(0.05..=3600.0).contains(&secs) {
        return Err(format!("{secs} s is outside 0.05..=3600"));
    }
    Ok(Duration::from_secs_f64(secs))
}

struct Plan {
    scenarios: Vec<&'static str>,
    settings: Vec<Setting>,
    workers: Vec<usize>,
    workloads: Vec<Workload>,
    syncs: Vec<Sync>,
    repeats: usize,
    limits: Limits,
}

impl Cli {
    fn plan(&self) -> Plan {
        let quick = self.quick;
        let pick = |given: &[Workload]| -> Vec<Workload> {
            match (given.is_empty(), quick) {
                (false, _) => given.to_vec(),
                (true, true) => vec![Workload::Rmw],
                (true, false) => vec![Workload::Rmw, Workload::Mixed, Workload::Read],
            }
        };
        let workloads = dedup(pick(&self.workloads));
        let workers: Vec<usize> = dedup(match (self.workers.is_empty(), quick) {
            (false, _) => self.workers.iter().map(|w| *w as usize).collect(),
            (true, true) => vec![8],
            (true, false) => vec![8, 64],
        });
        let syncs = dedup(match (self.synchronous.is_empty(), quick) {
            (false, _) => self.synchronous.clone(),
            (true, true) => vec![Sync::Normal],
            (true, false) => vec![Sync::Normal, Sync::Full],
        });
        let scenarios: Vec<&'static str> = if self.scenarios.is_empty() {
            scenarios::names()
        } else {
            // In report order, whatever order they were given in.
            scenarios::names()
                .into_iter()
                .filter(|n| self.scenarios.iter().any(|s| s == n))
                .collect()
        };
        let duration = self.seconds.unwrap_or(if quick {
            Duration::from_millis(300)
        } else {
            Duration::from_secs(3)
        });
        let mut settings = Vec::new();
        for &sync in &syncs {
            for &workload in &workloads {
                for &w in &workers {
                    settings.push(Setting {
                        workload,
                        workers: w,
                        sync,
                    });
                }
            }
        }
        Plan {
            scenarios,
            settings,
            workers,
            workloads,
            syncs,
            repeats: self
                .repeats
                .map_or(if quick { 1 } else { 2 }, |r| r as usize),
            limits: Limits {
                duration,
                // Long enough for the retry storm's in-flight transactions to mostly finish,
                // short enough that a wedged scenario cannot hold the run hostage.
                grace: if quick {
                    Duration::from_secs(2)
                } else {
                    Duration::from_secs(10)
                },
            },
        }
    }
}

fn dedup<T: PartialEq>(v: Vec<T>) -> Vec<T> {
    let mut out = Vec::with_capacity(v.len());
    for x in v {
        if !out.contains(&x) {
            out.push(x);
        }
    }
    out
}

/// Fails early, before minutes of measuring, if the output directory cannot be written.
fn prepare_out(dir: &PathBuf) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the output directory {}", dir.display()))?;
    let probe = dir.join(".lab-write-probe");
    std::fs::write(&probe, b"probe")
        .with_context(|| format!("the output directory {} is not writable", dir.display()))?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn main() -> ExitCode {
    // `lab sso …` measures the gatehouse server; everything else is the storage lab.
    if std::env::args().nth(1).as_deref() == Some("sso") {
        let args = std::env::args()
            .enumerate()
            .filter(|(i, _)| *i != 1)
            .map(|(_, a)| a);
        return sso::main(args);
    }
    let cli = Cli::parse();
    match tokio::runtime::Runtime::new()
        .context("cannot start the async runtime")
        .and_then(|rt| rt.block_on(run(cli)))
    {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lab: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let plan = cli.plan();
    if let Some(out) = &cli.out {
        prepare_out(out)?;
    }
    let scratch = match &cli.dir {
        Some(d) => tempfile::Builder::new()
            .prefix("lab-")
            .tempdir_in(d)
            .with_context(|| format!("cannot create a scratch directory in {}", d.display()))?,
        None => tempfile::Builder::new()
            .prefix("lab-")
            .tempdir()
            .context("cannot create a scratch directory")?,
    };

    let total = plan.repeats * plan.settings.len() * plan.scenarios.len();
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} runs · eta {eta} · {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut runs = Vec::with_capacity(total);
    for repeat in 0..plan.repeats {
        for (si, setting) in plan.settings.iter().enumerate() {
            // Rotate the order per setting and repeat, so no scenario always runs first on a
            // cold cache or last on a tired disk.
            let n = plan.scenarios.len();
            for k in 0..n {
                let name = plan.scenarios[(k + si + repeat) % n];
                let scenario =
                    scenarios::by_name(name).with_context(|| format!("unknown scenario {name}"))?;
                bar.set_message(format!("{name} · {setting}"));
                let run = runner::run(scenario, *setting, repeat, scratch.path(), &plan.limits)
                    .await
                    .with_context(|| format!("{name} ({setting}) failed to run"))?;
                runs.push(run);
                bar.inc(1);
            }
        }
    }
    bar.finish_and_clear();

    let summaries = report::summarise(&runs, &plan.settings, &plan.scenarios);
    print!(
        "{}",
        report::table(&summaries, std::io::stdout().is_terminal())
    );
    let targets = report::targets(&summaries, &plan.workers);
    println!("\nTargets:");
    for t in &targets {
        let mark = match t.met {
            Some(true) => "met   ",
            Some(false) => "MISSED",
            None => "  -   ",
        };
        println!("  {mark} {}: {}", t.name, t.measured);
    }

    if let Some(out) = &cli.out {
        // The latency charts show the most loaded setting.
        let largest = plan.workers.iter().copied().max().unwrap_or(8);
        let mut files = Vec::new();
        let mut charts = Vec::new();
        for &sync in &plan.syncs {
            for &workload in &plan.workloads {
                let name = format!("throughput-{workload}-{sync}.svg");
                let svg = report::throughput_chart(
                    &summaries,
                    workload,
                    sync,
                    &plan.scenarios,
                    &plan.workers,
                )?;
                charts.push((
                    format!("Throughput, {workload}, synchronous={sync}"),
                    name.clone(),
                ));
                files.push((name, svg));
                let setting = Setting {
                    workload,
                    workers: largest,
                    sync,
                };
                let name = format!("latency-{workload}-{largest}-{sync}.svg");
                let svg = report::latency_chart(&summaries, setting, &plan.scenarios)?;
                charts.push((format!("Latency, {setting}"), name.clone()));
                files.push((name, svg));
            }
        }
        let header = machine::header(&plan.scenarios, plan.repeats, plan.limits.duration);
        files.push((
            "report.md".into(),
            report::markdown(&summaries, &targets, &header, &charts),
        ));
        let json = serde_json::json!({
            "machine": machine::describe(),
            "seconds_per_run": plan.limits.duration.as_secs_f64(),
            "repeats": plan.repeats,
            "targets": targets,
            "summaries": summaries,
            "runs": runs,
        });
        files.push(("results.json".into(), serde_json::to_string_pretty(&json)?));
        report::write_all(out, &files)?;
        println!(
            "\nWrote report.md, results.json and {} charts to {}",
            charts.len(),
            out.display()
        );
    }

    // The smoke test's one assertion, about correctness, never speed: onewriter made no errors
    // and the file holds exactly what it acknowledged.
    let ours_wrong = summaries
        .iter()
        .filter(|s| s.scenario.starts_with("onewriter"))
        .any(|s| s.error_total() > 0 || s.cut_off > 0 || !s.problems.is_empty());
    if ours_wrong {
        eprintln!("lab: onewriter made errors or left a wrong result (see the table)");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}
