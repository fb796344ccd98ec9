//! What a `lab sso` run found: a table per run, the targets, Markdown, JSON and SVG charts.

use std::fmt::Write as _;

use plotters::prelude::*;
use serde::Serialize;

use super::flows::{ENDPOINTS, Tally};
use super::{Load, Workload};
use crate::engine::EngineSummary;
use crate::report::median;

/// How a run's load reads: `64 clients` or `1000/s`.
pub fn load_label(load: Load) -> String {
    match load {
        Load::Closed(c) => format!("{c} clients"),
        Load::Open(rate) => format!("{rate}/s"),
    }
}

/// One endpoint in one run.
#[derive(Debug, Clone, Serialize)]
pub struct EndpointSummary {
    pub endpoint: &'static str,
    pub requests: u64,
    pub per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub max_ms: f64,
    /// Answers that were not 2xx or 3xx, by status.
    pub errors: Vec<(u16, u64)>,
}

/// One deployment at one number of clients.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub deployment: &'static str,
    pub workload: &'static str,
    /// `64 clients` (closed loop) or `1000/s` (open loop).
    pub load: String,
    /// Which run of this deployment, workload and load it was, from 1 (`--repeats`).
    pub repeat: usize,
    /// Closed loop: the clients; open loop: the users or token chains drawn from.
    pub clients: usize,
    /// Open loop: the requests (refreshes, sign-ins) a second offered.
    pub rate: Option<u32>,
    pub seconds: f64,
    /// Requests answered in the run, every endpoint.
    pub requests: u64,
    /// CPU seconds the servers used in the run (user and system, every thread).
    pub server_cpu_seconds: f64,
    /// `server_cpu_seconds` per answered request, in milliseconds.
    pub server_cpu_ms_per_request: f64,
    /// How much the database grew per refresh in the run (rows live or kept for reuse
    /// detection, indexes, audit records): `refresh` runs only.
    pub bytes_per_refresh: Option<f64>,
    /// `bytes_per_refresh` by table (its indexes included), largest first.
    pub bytes_per_refresh_by_table: Vec<(String, f64)>,
    pub endpoints: Vec<EndpointSummary>,
    pub server_errors: u64,
    /// 503 answers: the store was overloaded or busy.
    pub busy: u64,
    pub transport_errors: u64,
    /// Open loop: requests due that were never sent (no user or chain came free in time).
    pub unsent: u64,
    /// Answers below 500 that a client following the protocol should never get.
    pub unexpected: u64,
    /// What the storage engine saw (SQLite deployments), to explain a stall.
    pub engine: Option<EngineSummary>,
}

impl RunSummary {
    pub fn new(
        deployment: &'static str,
        workload: Workload,
        load: Load,
        clients: usize,
        seconds: f64,
        t: &Tally,
    ) -> Self {
        let ms = |us: u64| us as f64 / 1000.0;
        let endpoints: Vec<EndpointSummary> = ENDPOINTS
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let h = &t.latency[i];
                EndpointSummary {
                    endpoint: name,
                    requests: h.len(),
                    per_second: h.len() as f64 / seconds,
                    p50_ms: ms(h.value_at_quantile(0.5)),
                    p99_ms: ms(h.value_at_quantile(0.99)),
                    p999_ms: ms(h.value_at_quantile(0.999)),
                    max_ms: ms(h.max()),
                    errors: t
                        .statuses
                        .iter()
                        .filter(|((e, s), _)| *e == i && *s >= 400)
                        .map(|((_, s), n)| (*s, *n))
                        .collect(),
                }
            })
            .filter(|e| e.requests > 0 || !e.errors.is_empty())
            .collect();
        RunSummary {
            deployment,
            workload: workload.label(),
            load: load_label(load),
            repeat: 1,
            clients,
            rate: match load {
                Load::Open(rate) => Some(rate),
                Load::Closed(_) => None,
            },
            seconds,
            requests: endpoints.iter().map(|e| e.requests).sum(),
            server_cpu_seconds: 0.0,
            server_cpu_ms_per_request: 0.0,
            bytes_per_refresh: None,
            bytes_per_refresh_by_table: Vec::new(),
            endpoints,
            server_errors: (0..ENDPOINTS.len()).map(|i| t.count(i, 500..=599)).sum(),
            busy: (0..ENDPOINTS.len()).map(|i| t.count(i, 503..=503)).sum(),
            transport_errors: t.transport_errors,
            unsent: t.unsent,
            unexpected: t.unexpected(),
            engine: None,
        }
    }

    /// What the servers spent: `cpu` seconds, and `grown` bytes of database.
    pub fn set_costs(&mut self, cpu: f64, grown: u64, by_table: &[(String, u64)]) {
        self.server_cpu_seconds = cpu;
        self.server_cpu_ms_per_request = cpu * 1000.0 / self.requests.max(1) as f64;
        if matches!(self.workload, "refresh" | "dpop-refresh") {
            let refreshes = self.endpoint("refresh").map_or(0, |e| e.requests).max(1) as f64;
            self.bytes_per_refresh = Some(grown as f64 / refreshes);
            self.bytes_per_refresh_by_table = by_table
                .iter()
                .map(|(t, b)| (t.clone(), *b as f64 / refreshes))
                .collect();
        }
    }

    /// Bytes a refresh kept that outlive the access token: every table's growth but the
    /// access token's rows and the audit log's. `refresh` runs only.
    fn bytes_beyond_access_token(&self) -> Option<f64> {
        self.bytes_per_refresh.map(|_| {
            self.bytes_per_refresh_by_table
                .iter()
                .filter(|(table, _)| table != "access_token" && table != "audit_event")
                // Not `sum`: an empty sum of floats is -0.
                .fold(0.0, |total, (_, bytes)| total + bytes)
        })
    }

    /// The costs, in words: `0.12 ms of server CPU a request; 310 bytes stored a refresh`.
    fn costs_line(&self) -> String {
        let mut line = format!(
            "{:.3} ms of server CPU a request ({:.1} s in all)",
            self.server_cpu_ms_per_request, self.server_cpu_seconds
        );
        if let Some(b) = self.bytes_per_refresh {
            let _ = write!(line, "; the database grew {b:.0} bytes a refresh");
            let parts: Vec<String> = self
                .bytes_per_refresh_by_table
                .iter()
                .map(|(t, b)| format!("{t} {b:.0}"))
                .collect();
            if !parts.is_empty() {
                let _ = write!(line, " ({})", parts.join(", "));
            }
        }
        if self.unsent > 0 {
            let _ = write!(line, "; {} requests due never sent", self.unsent);
        }
        line
    }

    pub fn endpoint(&self, name: &str) -> Option<&EndpointSummary> {
        self.endpoints.iter().find(|e| e.endpoint == name)
    }
}

/// A claim the report checks, and whether it held.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub claim: String,
    pub measured: String,
    pub met: bool,
}

/// The runs of one deployment, workload and load, summarised as the engine lab summarises its
/// repeats: the median rate, percentiles and costs, the range of the rate, the longest latency,
/// the errors of every run summed, and onewriter's figures over the runs.
#[derive(Debug, Clone, Serialize)]
pub struct CellSummary {
    pub deployment: &'static str,
    pub workload: &'static str,
    pub load: String,
    pub clients: usize,
    pub rate: Option<u32>,
    pub runs: usize,
    /// The endpoint the workload is about: `login` for sign-ins, `refresh` otherwise.
    pub endpoint: &'static str,
    /// The endpoint's answers, every run's.
    pub answered: u64,
    /// The endpoint's answers a second: the median over the runs, the slowest and the fastest.
    pub per_second: f64,
    pub per_second_min: f64,
    pub per_second_max: f64,
    /// The endpoint's median p50 and p99 over the runs, and its longest latency in any.
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// The median over the runs.
    pub server_cpu_ms_per_request: f64,
    /// The median over the runs (`refresh` only).
    pub bytes_per_refresh: Option<f64>,
    /// The median over the runs of what outlives the access token (`refresh` only).
    pub bytes_beyond_access_token: Option<f64>,
    /// Summed over the runs.
    pub server_errors: u64,
    pub busy: u64,
    pub transport_errors: u64,
    pub unsent: u64,
    pub unexpected: u64,
    pub engine: Option<EngineSummary>,
}

/// One heading for a run: `sqlite, refresh, 64 clients`, with `, run 2 of 3` when repeated.
pub fn title(
    deployment: &str,
    workload: &str,
    load: &str,
    repeat: usize,
    repeats: usize,
) -> String {
    let mut t = format!("{deployment}, {workload}, {load}");
    if repeats > 1 {
        let _ = write!(t, ", run {repeat} of {repeats}");
    }
    t
}

/// One summary for each deployment, workload and load, in the order they first ran.
pub fn summarise(runs: &[RunSummary]) -> Vec<CellSummary> {
    let mut cells: Vec<CellSummary> = Vec::new();
    for r in runs {
        let same = |c: &CellSummary| {
            c.deployment == r.deployment && c.workload == r.workload && c.load == r.load
        };
        if cells.iter().any(same) {
            continue;
        }
        let rs: Vec<&RunSummary> = runs
            .iter()
            .filter(|o| {
                o.deployment == r.deployment && o.workload == r.workload && o.load == r.load
            })
            .collect();
        let endpoint = if r.workload == "login" {
            "login"
        } else {
            "refresh"
        };
        let of = |f: &dyn Fn(&EndpointSummary) -> f64| -> Vec<f64> {
            rs.iter()
                .map(|r| r.endpoint(endpoint).map_or(0.0, f))
                .collect()
        };
        let rates = of(&|e| e.per_second);
        let sum = |f: fn(&RunSummary) -> u64| rs.iter().map(|r| f(r)).sum();
        let optional = |f: fn(&RunSummary) -> Option<f64>| {
            let v: Vec<f64> = rs.iter().filter_map(|r| f(r)).collect();
            (!v.is_empty()).then(|| median(v))
        };
        cells.push(CellSummary {
            deployment: r.deployment,
            workload: r.workload,
            load: r.load.clone(),
            clients: r.clients,
            rate: r.rate,
            runs: rs.len(),
            endpoint,
            answered: rs
                .iter()
                .filter_map(|r| r.endpoint(endpoint))
                .map(|e| e.requests)
                .sum(),
            per_second: median(rates.clone()),
            per_second_min: rates.iter().copied().fold(f64::INFINITY, f64::min),
            per_second_max: rates.iter().copied().fold(0.0, f64::max),
            p50_ms: median(of(&|e| e.p50_ms)),
            p99_ms: median(of(&|e| e.p99_ms)),
            max_ms: of(&|e| e.max_ms).into_iter().fold(0.0, f64::max),
            server_cpu_ms_per_request: median(
                rs.iter().map(|r| r.server_cpu_ms_per_request).collect(),
            ),
            bytes_per_refresh: optional(|r| r.bytes_per_refresh),
            bytes_beyond_access_token: optional(RunSummary::bytes_beyond_access_token),
            server_errors: sum(|r| r.server_errors),
            busy: sum(|r| r.busy),
            transport_errors: sum(|r| r.transport_errors),
            unsent: sum(|r| r.unsent),
            unexpected: sum(|r| r.unexpected),
            engine: EngineSummary::over(
                &rs.iter()
                    .filter_map(|r| r.engine.clone())
                    .collect::<Vec<_>>(),
            ),
        });
    }
    cells
}

impl CellSummary {
    /// `9120/s`, or with several runs `9120/s, the median of 3 runs (8034-10096/s)`.
    fn rate_measured(&self) -> String {
        if self.runs > 1 {
            format!(
                "{:.0}/s, the median of {} runs ({:.0}-{:.0}/s)",
                self.per_second, self.runs, self.per_second_min, self.per_second_max
            )
        } else {
            format!("{:.0}/s", self.per_second)
        }
    }

    /// ` in 3 runs`, or nothing for one.
    fn over_runs(&self) -> String {
        if self.runs > 1 {
            format!(" in {} runs", self.runs)
        } else {
            String::new()
        }
    }

    /// ` (the median of 3 runs)`, or nothing for one.
    fn median_of(&self) -> String {
        if self.runs > 1 {
            format!(" (the median of {} runs)", self.runs)
        } else {
            String::new()
        }
    }

    /// A closed-loop `refresh` summary of `deployment` with `clients` clients.
    fn closed_refresh<'a>(
        cells: &'a [CellSummary],
        deployment: &str,
        clients: usize,
    ) -> Option<&'a CellSummary> {
        cells.iter().find(|c| {
            c.deployment == deployment
                && c.workload == "refresh"
                && c.rate.is_none()
                && c.clients == clients
        })
    }
}

/// The targets, judged on the summaries: rates, CPU and storage on the median of the runs;
/// errors, WAL handovers and the longest latency over every run.
pub fn targets(cells: &[CellSummary]) -> Vec<Target> {
    let mut out = Vec::new();
    for c in cells.iter().filter(|c| c.deployment == "sqlite") {
        out.push(Target {
            claim: format!(
                "SQLite, {}, {}: zero 5xx, busy and transport errors",
                c.workload, c.load
            ),
            measured: format!(
                "{} 5xx ({} busy), {} transport errors{}",
                c.server_errors,
                c.busy,
                c.transport_errors,
                c.over_runs()
            ),
            met: c.server_errors == 0 && c.busy == 0 && c.transport_errors == 0,
        });
    }
    for c in cells
        .iter()
        .filter(|c| c.deployment == "sqlite" && c.workload == "refresh")
    {
        if let Some(engine) = &c.engine {
            out.push(Target {
                claim: format!(
                    "SQLite, refresh, {}: no writer pause for a WAL handover over 25 ms",
                    c.load
                ),
                measured: format!(
                    "longest {:.1} ms ({} handovers, {} cut short{})",
                    engine.wal_handover_max_ms,
                    engine.wal_handovers,
                    engine.wal_handovers_cut_short,
                    c.over_runs()
                ),
                met: engine.wal_handover_max_ms <= 25.0,
            });
        }
    }
    if let Some(s) = CellSummary::closed_refresh(cells, "sqlite", 64) {
        out.push(Target {
            claim: "SQLite, refresh, 64 clients: at least 4,000 refreshes/s".into(),
            measured: s.rate_measured(),
            met: s.per_second >= 4000.0,
        });
        out.push(Target {
            claim: "SQLite, refresh, 64 clients: at most 0.2 ms of server CPU a refresh".into(),
            measured: format!("{:.3} ms{}", s.server_cpu_ms_per_request, s.median_of()),
            met: s.server_cpu_ms_per_request <= 0.2,
        });
        let outliving = s.bytes_beyond_access_token.unwrap_or(0.0);
        out.push(Target {
            claim: "SQLite, refresh, 64 clients: at most 64 bytes a refresh kept beyond the \
                    access token's lifetime, audit aside"
                .into(),
            measured: format!("{outliving:.0} bytes{}", s.median_of()),
            met: outliving <= 64.0,
        });
        if let Some(p) = CellSummary::closed_refresh(cells, "postgres", 64) {
            out.push(Target {
                claim: "refresh, 64 clients: SQLite at least 3× PostgreSQL".into(),
                measured: format!(
                    "{} vs {} ({:.1}×)",
                    s.rate_measured(),
                    p.rate_measured(),
                    s.per_second / p.per_second.max(1e-9)
                ),
                met: s.per_second >= 3.0 * p.per_second,
            });
        }
    }
    for c in cells
        .iter()
        .filter(|c| c.deployment == "sqlite" && c.workload == "refresh" && c.rate == Some(1000))
    {
        out.push(Target {
            claim: "SQLite, refresh, open loop at 1,000/s: p99 at most 10 ms, max at most 50 ms"
                .into(),
            measured: format!(
                "p99 {:.1} ms{}, max {:.1} ms, {} answered, {} unsent{}",
                c.p99_ms,
                c.median_of(),
                c.max_ms,
                c.answered,
                c.unsent,
                c.over_runs()
            ),
            met: c.answered > 0 && c.p99_ms <= 10.0 && c.max_ms <= 50.0 && c.unsent == 0,
        });
    }
    out
}

fn errors_cell(e: &EndpointSummary) -> String {
    if e.errors.is_empty() {
        "0".into()
    } else {
        e.errors
            .iter()
            .map(|(s, n)| format!("{n}×{s}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The run, headed `title`, as a plain-text table for the terminal.
pub fn table(r: &RunSummary, title: &str) -> String {
    let mut s = format!(
        "{title} ({:.1} s): {} 5xx, {} busy, {} transport errors\n",
        r.seconds, r.server_errors, r.busy, r.transport_errors
    );
    let _ = writeln!(
        s,
        "  {:<11} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9}  errors",
        "endpoint", "requests", "per sec", "p50 ms", "p99 ms", "p99.9 ms", "max ms"
    );
    for e in &r.endpoints {
        let _ = writeln!(
            s,
            "  {:<11} {:>9} {:>9.0} {:>9.2} {:>9.2} {:>9.2} {:>9.1}  {}",
            e.endpoint,
            e.requests,
            e.per_second,
            e.p50_ms,
            e.p99_ms,
            e.p999_ms,
            e.max_ms,
            errors_cell(e)
        );
    }
    let _ = writeln!(s, "  costs: {}", r.costs_line());
    if let Some(engine) = &r.engine {
        let _ = writeln!(s, "  engine: {}", engine.line());
    }
    s
}

/// `0`, or the errors of every run: `3 5xx (2 busy), 1 transport, 4 unexpected`.
fn cell_errors(c: &CellSummary) -> String {
    let mut parts = Vec::new();
    if c.server_errors > 0 {
        parts.push(format!("{} 5xx ({} busy)", c.server_errors, c.busy));
    }
    if c.transport_errors > 0 {
        parts.push(format!("{} transport", c.transport_errors));
    }
    if c.unexpected > 0 {
        parts.push(format!("{} unexpected", c.unexpected));
    }
    if c.unsent > 0 {
        parts.push(format!("{} unsent", c.unsent));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(", ")
    }
}

/// The summaries as a plain-text table for the terminal.
pub fn summary_table(cells: &[CellSummary]) -> String {
    let mut s = String::from("over the runs (medians; max is the longest in any run):\n");
    let _ = writeln!(
        s,
        "  {:<34} {:>4} {:>9} {:>17} {:>8} {:>8} {:>8} {:>8}  errors",
        "deployment, workload, load",
        "runs",
        "per sec",
        "range",
        "p50 ms",
        "p99 ms",
        "max ms",
        "CPU ms"
    );
    for c in cells {
        let _ = writeln!(
            s,
            "  {:<34} {:>4} {:>9.0} {:>17} {:>8.2} {:>8.2} {:>8.1} {:>8.3}  {}",
            format!("{}, {}, {}", c.deployment, c.workload, c.load),
            c.runs,
            c.per_second,
            format!("{:.0}-{:.0}", c.per_second_min, c.per_second_max),
            c.p50_ms,
            c.p99_ms,
            c.max_ms,
            c.server_cpu_ms_per_request,
            cell_errors(c)
        );
    }
    s
}

pub fn markdown(
    runs: &[RunSummary],
    cells: &[CellSummary],
    targets: &[Target],
    machine: &str,
    command: &str,
) -> String {
    let mut s = String::from("# gatehouse under load\n\n");
    let _ = writeln!(s, "Command: `{command}`\n\nMachine: {machine}\n");
    s.push_str(
        "Workloads: `refresh` (token chains: each signs in once before the clock starts, then \
         refreshes, sending the refresh token the last refresh returned), `login` (the \
         authorization request, the login form with argon2id, the code exchange), `flow` (a \
         sign-in, then refreshes each followed by `/userinfo` and `/introspect`) and \
         `dpop-refresh` (token chains as `refresh`, each request with a DPoP proof the client \
         signs with its own P-256 key, so each access token is bound to it). A closed-loop \
         run has N clients, each sending its next request when the last is answered; an \
         open-loop run sends requests at a fixed rate whatever the answers, timing each from \
         when it was meant to be sent, so a stall shows in full. The servers are `gatehouse \
         serve` processes on the same machine as the load generator, behind no proxy but \
         trusting 127.0.0.1 as one, each simulated person sending their own address in \
         `X-Forwarded-For`; their CPU time is read \
         from the kernel, and the database's size from the database.\n\n## Targets\n\n",
    );
    if targets.is_empty() {
        // The targets are SQLite's and its comparison with PostgreSQL.
        s.push_str("No target applies to these runs: the targets are measured on SQLite.\n");
    } else {
        s.push_str("| claim | measured | met |\n|---|---|---|\n");
    }
    for t in targets {
        let _ = writeln!(
            s,
            "| {} | {} | {} |",
            t.claim,
            t.measured,
            if t.met { "yes" } else { "**no**" }
        );
    }
    s.push_str(
        "\n![refresh throughput](refresh-throughput.svg)\n\n![refresh p99](refresh-p99.svg)\n",
    );
    let repeats = cells.iter().map(|c| c.runs).max().unwrap_or(1);
    s.push_str(
        "\n## Summary\n\nThe endpoint each workload is about (`login` for sign-ins, `refresh` \
         otherwise): answers a second, p50 and p99 latency, and server CPU a request (every \
         endpoint's), each the median over the runs; the slowest and fastest run's rate; the \
         longest latency in any run; errors summed over the runs.\n\n\
         | deployment | workload | load | runs | endpoint | per second | range | p50 ms | p99 ms | max ms | CPU ms a request | errors |\n\
         |---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---|\n",
    );
    for c in cells {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {:.0} | {:.0}-{:.0} | {:.2} | {:.2} | {:.1} | {:.3} | {} |",
            c.deployment,
            c.workload,
            c.load,
            c.runs,
            c.endpoint,
            c.per_second,
            c.per_second_min,
            c.per_second_max,
            c.p50_ms,
            c.p99_ms,
            c.max_ms,
            c.server_cpu_ms_per_request,
            cell_errors(c)
        );
    }
    for r in runs {
        let _ = writeln!(
            s,
            "\n## {}\n\n{:.1} s; {} 5xx ({} busy), {} transport errors; {}.\n\n\
             | endpoint | requests | per second | p50 ms | p99 ms | p99.9 ms | max ms | errors |\n\
             |---|---:|---:|---:|---:|---:|---:|---|",
            title(r.deployment, r.workload, &r.load, r.repeat, repeats),
            r.seconds,
            r.server_errors,
            r.busy,
            r.transport_errors,
            r.costs_line()
        );
        for e in &r.endpoints {
            let _ = writeln!(
                s,
                "| {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} | {} |",
                e.endpoint,
                e.requests,
                e.per_second,
                e.p50_ms,
                e.p99_ms,
                e.p999_ms,
                e.max_ms,
                errors_cell(e)
            );
        }
        if let Some(engine) = &r.engine {
            let _ = writeln!(s, "\nStorage engine: {}.", engine.line());
        }
    }
    s
}

const PALETTE: [RGBColor; 4] = [
    RGBColor(47, 91, 216),
    RGBColor(222, 110, 40),
    RGBColor(60, 160, 90),
    RGBColor(150, 70, 170),
];

/// The low and high ends of a bar's whisker.
pub type Range = fn(&CellSummary) -> (f64, f64);

/// Grouped bars: one group per number of clients, one bar per deployment, each with a
/// whisker from `range`'s low to its high where given (the slowest and fastest run). Returns
/// SVG text.
pub fn bar_chart(
    runs: &[CellSummary],
    title: &str,
    unit: &str,
    value: impl Fn(&CellSummary) -> f64,
    range: Option<Range>,
) -> anyhow::Result<String> {
    let mut clients: Vec<usize> = runs.iter().map(|r| r.clients).collect();
    clients.sort_unstable();
    clients.dedup();
    let mut deployments: Vec<&str> = Vec::new();
    for r in runs {
        if !deployments.contains(&r.deployment) {
            deployments.push(r.deployment);
        }
    }
    let highest = |c: &CellSummary| range.map_or(value(c), |r| r(c).1.max(value(c)));
    let top = runs.iter().map(highest).fold(1e-9f64, f64::max) * 1.15;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (900, 500)).into_drawing_area();
        root.fill(&WHITE)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 22))
            .margin(14)
            .x_label_area_size(40)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..clients.len() as f64, 0f64..top)?;
        let labels = clients.clone();
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(clients.len() * 2 + 1)
            .x_label_formatter(&|x| {
                let i = x.floor() as usize;
                if (x - i as f64 - 0.5).abs() < 0.01 {
                    labels
                        .get(i)
                        .map_or(String::new(), |c| format!("{c} clients"))
                } else {
                    String::new()
                }
            })
            .y_desc(unit)
            .draw()?;
        let width = 0.8 / deployments.len().max(1) as f64;
        for (di, d) in deployments.iter().enumerate() {
            let color = PALETTE[di % PALETTE.len()];
            let bars: Vec<_> = clients
                .iter()
                .enumerate()
                .filter_map(|(ci, c)| {
                    let r = runs
                        .iter()
                        .find(|r| r.deployment == *d && r.clients == *c)?;
                    let x0 = ci as f64 + 0.1 + di as f64 * width;
                    Some(Rectangle::new(
                        [(x0, 0.0), (x0 + width, value(r))],
                        color.filled(),
                    ))
                })
                .collect();
            chart
                .draw_series(bars)?
                .label(d.to_string())
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
            // The whiskers: a line from the slowest run to the fastest, capped at both ends.
            let Some(range) = range else { continue };
            let whiskers = clients.iter().enumerate().filter_map(|(ci, c)| {
                let r = runs
                    .iter()
                    .find(|r| r.deployment == *d && r.clients == *c && r.runs > 1)?;
                let (low, high) = range(r);
                let mid = ci as f64 + 0.1 + (di as f64 + 0.5) * width;
                let cap = width / 4.0;
                Some(PathElement::new(
                    vec![
                        (mid - cap, low),
                        (mid + cap, low),
                        (mid, low),
                        (mid, high),
                        (mid - cap, high),
                        (mid + cap, high),
                    ],
                    BLACK.stroke_width(2),
                ))
            });
            chart.draw_series(whiskers)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A refresh run of `deployment` at `load` with the given rate and latencies.
    fn refreshes(
        deployment: &'static str,
        load: Load,
        per_second: f64,
        p99_ms: f64,
        max_ms: f64,
    ) -> RunSummary {
        let seconds = 10.0;
        let requests = (per_second * seconds) as u64;
        RunSummary {
            deployment,
            workload: "refresh",
            load: load_label(load),
            repeat: 1,
            clients: match load {
                Load::Closed(c) => c,
                Load::Open(_) => 256,
            },
            rate: match load {
                Load::Open(r) => Some(r),
                Load::Closed(_) => None,
            },
            seconds,
            requests,
            server_cpu_seconds: 0.0,
            server_cpu_ms_per_request: 0.1,
            bytes_per_refresh: Some(400.0),
            bytes_per_refresh_by_table: vec![
                ("access_token".into(), 280.0),
                ("audit_event".into(), 120.0),
            ],
            endpoints: vec![EndpointSummary {
                endpoint: "refresh",
                requests,
                per_second,
                p50_ms: p99_ms / 4.0,
                p99_ms,
                p999_ms: p99_ms,
                max_ms,
                errors: Vec::new(),
            }],
            server_errors: 0,
            busy: 0,
            transport_errors: 0,
            unsent: 0,
            unexpected: 0,
            engine: None,
        }
    }

    fn verdict<'a>(targets: &'a [Target], claim: &str) -> &'a Target {
        targets
            .iter()
            .find(|t| t.claim.contains(claim))
            .unwrap_or_else(|| panic!("no target {claim:?} in {targets:?}"))
    }

    #[test]
    fn repeated_runs_are_judged_on_their_median_rate_and_on_every_runs_errors_and_tail() {
        let sixty_four = Load::Closed(64);
        let mut runs = Vec::new();
        // Run in the order the lab runs them: the deployments one after the other, each repeat.
        for (repeat, (sqlite, postgres)) in
            [(3_500.0, 2_000.0), (9_000.0, 1_500.0), (6_000.0, 1_900.0)]
                .into_iter()
                .enumerate()
        {
            for mut r in [
                refreshes("sqlite", sixty_four, sqlite, 12.0, 30.0),
                refreshes("postgres", sixty_four, postgres, 40.0, 90.0),
            ] {
                r.repeat = repeat + 1;
                runs.push(r);
            }
        }
        let cells = summarise(&runs);
        assert_eq!(cells.len(), 2, "{cells:?}");
        let sqlite = &cells[0];
        assert_eq!((sqlite.deployment, sqlite.runs), ("sqlite", 3));
        assert_eq!(
            (
                sqlite.per_second,
                sqlite.per_second_min,
                sqlite.per_second_max
            ),
            (6_000.0, 3_500.0, 9_000.0)
        );

        // One slow run of three does not miss the rate; the median does.
        let t = targets(&cells);
        let rate = verdict(&t, "at least 4,000 refreshes/s");
        assert!(rate.met, "{rate:?}");
        assert_eq!(rate.measured, "6000/s, the median of 3 runs (3500-9000/s)");
        let ratio = verdict(&t, "SQLite at least 3× PostgreSQL");
        assert!(
            ratio.met,
            "6,000 against PostgreSQL's median 1,900: {ratio:?}"
        );
        assert!(ratio.measured.ends_with("(3.2×)"), "{ratio:?}");
        runs[2].endpoints[0].per_second = 3_000.0; // sqlite's second run
        let t = targets(&summarise(&runs));
        assert!(
            !verdict(&t, "at least 4,000 refreshes/s").met,
            "median 3,500 now"
        );
        assert!(!verdict(&t, "3× PostgreSQL").met, "3,500 is 1.8× of 1,900");

        // A 5xx in any one run fails the run's claim, however the others went.
        runs[4].server_errors = 1;
        runs[4].busy = 1;
        let t = targets(&summarise(&runs));
        let errors = verdict(&t, "SQLite, refresh, 64 clients: zero 5xx");
        assert!(!errors.met, "{errors:?}");
        assert_eq!(
            errors.measured,
            "1 5xx (1 busy), 0 transport errors in 3 runs"
        );

        // The open loop's tail: the median p99, but the longest latency of any run.
        let open = |p99, max| refreshes("sqlite", Load::Open(1000), 1000.0, p99, max);
        let t = targets(&summarise(&[
            open(2.0, 6.0),
            open(30.0, 40.0),
            open(3.0, 8.0),
        ]));
        let tail = verdict(&t, "open loop at 1,000/s");
        assert!(tail.met, "p99 median 3 ms, max 40 ms: {tail:?}");
        let t = targets(&summarise(&[
            open(2.0, 6.0),
            open(3.0, 51.0),
            open(3.0, 8.0),
        ]));
        assert!(!verdict(&t, "open loop at 1,000/s").met, "one run's 51 ms");

        // An open loop with no refresh answered is not a tail met.
        let mut none = open(0.0, 0.0);
        none.endpoints.clear();
        let t = targets(&summarise(&[none]));
        let tail = verdict(&t, "open loop at 1,000/s");
        assert!(!tail.met, "{tail:?}");
    }

    #[test]
    fn the_throughput_chart_shows_each_repeated_bars_slowest_and_fastest_run() {
        let mut runs = Vec::new();
        for (sqlite, postgres) in [(5_000.0, 2_000.0), (7_000.0, 2_100.0)] {
            runs.push(refreshes("sqlite", Load::Closed(64), sqlite, 10.0, 20.0));
            runs.push(refreshes(
                "postgres",
                Load::Closed(64),
                postgres,
                30.0,
                60.0,
            ));
        }
        runs.push(refreshes("sqlite", Load::Closed(8), 4_000.0, 3.0, 9.0)); // one run only
        let cells = summarise(&runs);
        let lines = |svg: &str| {
            svg.matches(r##"<polyline fill="none" opacity="1" stroke="#000000" stroke-width="2""##)
                .count()
        };
        let plain = bar_chart(&cells, "t", "refreshes/s", |c| c.per_second, None).unwrap();
        let whiskered = bar_chart(
            &cells,
            "t",
            "refreshes/s",
            |c| c.per_second,
            Some(|c| (c.per_second_min, c.per_second_max)),
        )
        .unwrap();
        // One whisker for each summary of several runs; none for the single run.
        assert_eq!((lines(&plain), lines(&whiskered)), (0, 2), "{whiskered}");
    }

    #[test]
    fn a_single_run_reads_as_before_and_titles_name_the_run_only_when_repeated() {
        let cells = summarise(&[refreshes("sqlite", Load::Closed(64), 7_000.0, 10.0, 20.0)]);
        let t = targets(&cells);
        assert_eq!(verdict(&t, "at least 4,000").measured, "7000/s");
        assert_eq!(verdict(&t, "server CPU").measured, "0.100 ms");
        assert_eq!(verdict(&t, "64 bytes").measured, "0 bytes");
        assert_eq!(
            title("sqlite", "refresh", "64 clients", 1, 1),
            "sqlite, refresh, 64 clients"
        );
        assert_eq!(
            title("sqlite", "refresh", "64 clients", 2, 3),
            "sqlite, refresh, 64 clients, run 2 of 3"
        );
    }

    #[test]
    fn a_report_without_sqlite_runs_says_no_target_applies_rather_than_an_empty_table() {
        let none = markdown(&[], &[], &targets(&[]), "a machine", "lab sso");
        assert!(none.contains("No target applies to these runs"), "{none}");
        assert!(!none.contains("| claim |"), "{none}");
        let one = Target {
            claim: "a claim".into(),
            measured: "a figure".into(),
            met: true,
        };
        let some = markdown(&[], &[], &[one], "a machine", "lab sso");
        assert!(
            some.contains(
                "| claim | measured | met |\n|---|---|---|\n| a claim | a figure | yes |"
            )
        );
        assert!(!some.contains("No target applies"), "{some}");
    }
}
