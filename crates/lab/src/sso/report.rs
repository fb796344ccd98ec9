//! What a `lab sso` run found: a table per run, the targets, Markdown, JSON and SVG charts.

use std::fmt::Write as _;

use plotters::prelude::*;
use serde::Serialize;

use super::flows::{ENDPOINTS, Tally};
use super::{Load, Workload};
use crate::engine::EngineSummary;

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
        if self.workload == "refresh" {
            let refreshes = self.endpoint("refresh").map_or(0, |e| e.requests).max(1) as f64;
            self.bytes_per_refresh = Some(grown as f64 / refreshes);
            self.bytes_per_refresh_by_table = by_table
                .iter()
                .map(|(t, b)| (t.clone(), *b as f64 / refreshes))
                .collect();
        }
    }

    /// A closed-loop `refresh` run on `deployment` with `clients` clients.
    fn closed_refresh<'a>(
        runs: &'a [RunSummary],
        deployment: &str,
        clients: usize,
    ) -> Option<&'a RunSummary> {
        runs.iter().find(|r| {
            r.deployment == deployment
                && r.workload == "refresh"
                && r.rate.is_none()
                && r.clients == clients
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

pub fn targets(runs: &[RunSummary]) -> Vec<Target> {
    let mut out = Vec::new();
    for r in runs.iter().filter(|r| r.deployment == "sqlite") {
        out.push(Target {
            claim: format!(
                "SQLite, {}, {}: zero 5xx, busy and transport errors",
                r.workload, r.load
            ),
            measured: format!(
                "{} 5xx ({} busy), {} transport errors",
                r.server_errors, r.busy, r.transport_errors
            ),
            met: r.server_errors == 0 && r.busy == 0 && r.transport_errors == 0,
        });
    }
    for r in runs
        .iter()
        .filter(|r| r.deployment == "sqlite" && r.workload == "refresh")
    {
        if let Some(engine) = &r.engine {
            out.push(Target {
                claim: format!(
                    "SQLite, refresh, {}: no writer pause for a WAL handover over 25 ms",
                    r.load
                ),
                measured: format!(
                    "longest {:.1} ms ({} handovers, {} cut short)",
                    engine.wal_handover_max_ms,
                    engine.wal_handovers,
                    engine.wal_handovers_cut_short
                ),
                met: engine.wal_handover_max_ms <= 25.0,
            });
        }
    }
    let refresh = |r: &RunSummary| r.endpoint("refresh").map_or(0.0, |e| e.per_second);
    if let Some(s) = RunSummary::closed_refresh(runs, "sqlite", 64) {
        out.push(Target {
            claim: "SQLite, refresh, 64 clients: at least 4,000 refreshes/s".into(),
            measured: format!("{:.0}/s", refresh(s)),
            met: refresh(s) >= 4000.0,
        });
        out.push(Target {
            claim: "SQLite, refresh, 64 clients: at most 0.2 ms of server CPU a refresh".into(),
            measured: format!("{:.3} ms", s.server_cpu_ms_per_request),
            met: s.server_cpu_ms_per_request <= 0.2,
        });
        // What outlives the access token: everything but its rows and the audit log's.
        let outliving: f64 = s
            .bytes_per_refresh_by_table
            .iter()
            .filter(|(table, _)| table != "access_token" && table != "audit_event")
            .map(|(_, bytes)| bytes)
            .sum();
        out.push(Target {
            claim: "SQLite, refresh, 64 clients: at most 64 bytes a refresh kept beyond the \
                    access token's lifetime, audit aside"
                .into(),
            measured: format!("{outliving:.0} bytes"),
            met: outliving <= 64.0,
        });
        if let Some(p) = RunSummary::closed_refresh(runs, "postgres", 64) {
            out.push(Target {
                claim: "refresh, 64 clients: SQLite at least 3× PostgreSQL".into(),
                measured: format!(
                    "{:.0}/s vs {:.0}/s ({:.1}×)",
                    refresh(s),
                    refresh(p),
                    refresh(s) / refresh(p).max(1e-9)
                ),
                met: refresh(s) >= 3.0 * refresh(p),
            });
        }
    }
    for r in runs
        .iter()
        .filter(|r| r.deployment == "sqlite" && r.workload == "refresh" && r.rate == Some(1000))
    {
        if let Some(e) = r.endpoint("refresh") {
            out.push(Target {
                claim:
                    "SQLite, refresh, open loop at 1,000/s: p99 at most 10 ms, max at most 50 ms"
                        .into(),
                measured: format!(
                    "p99 {:.1} ms, max {:.1} ms, {} unsent",
                    e.p99_ms, e.max_ms, r.unsent
                ),
                met: e.p99_ms <= 10.0 && e.max_ms <= 50.0 && r.unsent == 0,
            });
        }
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

/// The run as a plain-text table for the terminal.
pub fn table(r: &RunSummary) -> String {
    let mut s = format!(
        "{}, {}, {} ({:.1} s): {} 5xx, {} busy, {} transport errors\n",
        r.deployment, r.workload, r.load, r.seconds, r.server_errors, r.busy, r.transport_errors
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

pub fn markdown(runs: &[RunSummary], targets: &[Target], machine: &str, command: &str) -> String {
    let mut s = String::from("# gatehouse under load\n\n");
    let _ = writeln!(s, "Command: `{command}`\n\nMachine: {machine}\n");
    s.push_str(
        "Workloads: `refresh` (token chains: each signs in once before the clock starts, then \
         refreshes, sending the refresh token the last refresh returned), `login` (the \
         authorization request, the login form with argon2id, the code exchange) and `flow` (a \
         sign-in, then refreshes each followed by `/userinfo` and `/introspect`). A closed-loop \
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
    for r in runs {
        let _ = writeln!(
            s,
            "\n## {}, {}, {}\n\n{:.1} s; {} 5xx ({} busy), {} transport errors; {}.\n\n\
             | endpoint | requests | per second | p50 ms | p99 ms | p99.9 ms | max ms | errors |\n\
             |---|---:|---:|---:|---:|---:|---:|---|",
            r.deployment,
            r.workload,
            r.load,
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

/// Grouped bars: one group per number of clients, one bar per deployment. Returns SVG text.
pub fn bar_chart(
    runs: &[RunSummary],
    title: &str,
    unit: &str,
    value: impl Fn(&RunSummary) -> f64,
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
    let top = runs.iter().map(&value).fold(1e-9f64, f64::max) * 1.15;
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

    #[test]
    fn a_report_without_sqlite_runs_says_no_target_applies_rather_than_an_empty_table() {
        let none = markdown(&[], &targets(&[]), "a machine", "lab sso");
        assert!(none.contains("No target applies to these runs"), "{none}");
        assert!(!none.contains("| claim |"), "{none}");
        let one = Target {
            claim: "a claim".into(),
            measured: "a figure".into(),
            met: true,
        };
        let some = markdown(&[], &[one], "a machine", "lab sso");
        assert!(
            some.contains(
                "| claim | measured | met |\n|---|---|---|\n| a claim | a figure | yes |"
            )
        );
        assert!(!some.contains("No target applies"), "{some}");
    }
}
