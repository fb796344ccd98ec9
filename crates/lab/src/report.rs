//! Turning runs into a table, a Markdown report, JSON and SVG charts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;

use plotters::prelude::*;
use serde::Serialize;

use crate::engine::EngineSummary;
use crate::runner::{Run, Setting};
use crate::scenarios;
use crate::workload::{ErrorKind, Sync, Workload};

/// The repeats of one scenario under one setting, summarised.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub scenario: &'static str,
    pub setting: Setting,
    pub repeats: usize,
    /// Median over repeats of successful operations per second.
    pub ops_per_sec: f64,
    pub ops_per_sec_min: f64,
    pub ops_per_sec_max: f64,
    pub errors: BTreeMap<ErrorKind, u64>,
    pub first_error: Option<String>,
    pub p50_us: u64,
    pub p99_us: u64,
    pub p999_us: u64,
    /// Largest latency seen in any repeat.
    pub max_us: u64,
    /// What the end-of-run checks found wrong, over every repeat.
    pub problems: Vec<String>,
    /// Operations still running when the grace period after the deadline ran out, summed over
    /// repeats: the scenario had wedged.
    pub cut_off: u64,
    /// The engine's own figures over the repeats ([`EngineSummary::over`]).
    pub engine: Option<EngineSummary>,
}

impl Summary {
    pub fn error_total(&self) -> u64 {
        self.errors.values().sum()
    }
}

/// The median of `v` (the mean of the middle two when there are an even number), 0 if empty.
pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn median_u64(v: impl Iterator<Item = u64>) -> u64 {
    median(v.map(|x| x as f64).collect()).round() as u64
}

/// Summaries in the order settings and scenarios were given.
pub fn summarise(runs: &[Run], settings: &[Setting], scenarios: &[&'static str]) -> Vec<Summary> {
    let mut out = Vec::new();
    for setting in settings {
        for &scenario in scenarios {
            let rs: Vec<&Run> = runs
                .iter()
                .filter(|r| r.scenario == scenario && r.setting == *setting)
                .collect();
            if rs.is_empty() {
                continue;
            }
            let mut errors = BTreeMap::new();
            for r in &rs {
                for (k, n) in &r.errors {
                    *errors.entry(*k).or_default() += n;
                }
            }
            let mut problems: Vec<String> = Vec::new();
            for r in &rs {
                for p in r.check.problems() {
                    if !problems.contains(&p) {
                        problems.push(p);
                    }
                }
            }
            let rates: Vec<f64> = rs.iter().map(|r| r.ops_per_sec).collect();
            out.push(Summary {
                scenario,
                setting: *setting,
                repeats: rs.len(),
                ops_per_sec: median(rates.clone()),
                ops_per_sec_min: rates.iter().copied().fold(f64::INFINITY, f64::min),
                ops_per_sec_max: rates.iter().copied().fold(0.0, f64::max),
                errors,
                first_error: rs.iter().find_map(|r| r.first_error.clone()),
                p50_us: median_u64(rs.iter().map(|r| r.p50_us)),
                p99_us: median_u64(rs.iter().map(|r| r.p99_us)),
                p999_us: median_u64(rs.iter().map(|r| r.p999_us)),
                max_us: rs.iter().map(|r| r.max_us).max().unwrap_or(0),
                problems,
                cut_off: rs.iter().map(|r| r.check.unfinished).sum(),
                engine: EngineSummary::over(
                    &rs.iter()
                        .filter_map(|r| r.engine.clone())
                        .collect::<Vec<_>>(),
                ),
            });
        }
    }
    out
}

pub fn format_rate(x: f64) -> String {
    if x >= 10_000.0 {
        format!("{:.0}k", x / 1000.0)
    } else if x >= 1000.0 {
        format!("{:.1}k", x / 1000.0)
    } else {
        format!("{x:.0}")
    }
}

pub fn format_us(us: u64) -> String {
    if us >= 1_000_000 {
        format!("{:.1} s", us as f64 / 1e6)
    } else if us >= 1000 {
        format!("{:.1} ms", us as f64 / 1e3)
    } else {
        format!("{us} µs")
    }
}

fn errors_cell(s: &Summary) -> String {
    let mut parts: Vec<String> = s
        .errors
        .iter()
        .map(|(k, n)| format!("{n} {}", k.label()))
        .collect();
    if s.cut_off > 0 {
        parts.push(format!("{} stuck", s.cut_off));
    }
    if parts.is_empty() {
        "0".into()
    } else {
        parts.join(", ")
    }
}

fn spread(s: &Summary) -> String {
    if s.repeats < 2 || s.ops_per_sec <= 0.0 {
        return String::new();
    }
    let half = (s.ops_per_sec_max - s.ops_per_sec_min) / 2.0 / s.ops_per_sec * 100.0;
    format!(" ±{half:.0}%")
}

/// The plain-text table for a terminal. Problems are printed in red when `color` is set.
pub fn table(summaries: &[Summary], color: bool) -> String {
    let mut out = String::new();
    let mut current: Option<Setting> = None;
    for s in summaries {
        if current != Some(s.setting) {
            current = Some(s.setting);
            let _ = writeln!(out, "\n{}", s.setting);
            let _ = writeln!(
                out,
                "  {:<18} {:>14} {:>9} {:>9} {:>9} {:>9}  {:<28} check",
                "scenario", "ops/s", "p50", "p99", "p99.9", "max", "errors"
            );
        }
        let check = if s.problems.is_empty() {
            "exact".to_owned()
        } else if color {
            format!("\x1b[31m{}\x1b[0m", s.problems.join("; "))
        } else {
            format!("WRONG: {}", s.problems.join("; "))
        };
        let _ = writeln!(
            out,
            "  {:<18} {:>14} {:>9} {:>9} {:>9} {:>9}  {:<28} {}",
            s.scenario,
            format!("{}{}", format_rate(s.ops_per_sec), spread(s)),
            format_us(s.p50_us),
            format_us(s.p99_us),
            format_us(s.p999_us),
            format_us(s.max_us),
            errors_cell(s),
            check
        );
    }
    out
}

const NOT_MEASURED: &str = "not measured in this run";

/// One target of the project, checked against the measured figures.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub name: String,
    pub measured: String,
    pub met: Option<bool>,
}

fn find<'a>(summaries: &'a [Summary], scenario: &str, setting: Setting) -> Option<&'a Summary> {
    summaries
        .iter()
        .find(|s| s.scenario == scenario && s.setting == setting)
}

fn ratio_target(
    summaries: &[Summary],
    name: &str,
    ours: &str,
    theirs: &str,
    setting: Setting,
    at_least: f64,
    unjudged: Option<&str>,
) -> Target {
    let name = format!("{name} ({setting})");
    match (
        find(summaries, ours, setting),
        find(summaries, theirs, setting),
    ) {
        (Some(a), Some(b)) if b.ops_per_sec > 0.0 => {
            let r = a.ops_per_sec / b.ops_per_sec;
            let (a, b) = (format_rate(a.ops_per_sec), format_rate(b.ops_per_sec));
            match unjudged {
                None => Target {
                    name,
                    measured: format!("{r:.2}× ({a} vs {b} ops/s; target ≥ {at_least}×)"),
                    met: Some(r >= at_least),
                },
                Some(why) => Target {
                    name,
                    measured: format!("{r:.2}× ({a} vs {b} ops/s; not judged: {why})"),
                    met: None,
                },
            }
        }
        _ => Target {
            name,
            measured: NOT_MEASURED.into(),
            met: None,
        },
    }
}

/// Why the comparisons with `bare-handoff` and the loops below the ceiling are shown and not
/// judged.
const REFERENCE: &str = "a reference, where the gap lies";

/// A comparison of `ours` with `theirs`, shown and never judged ([`REFERENCE`]): added only
/// where both were measured, as a reference is not a target.
fn push_reference(
    targets: &mut Vec<Target>,
    summaries: &[Summary],
    name: &str,
    ours: &str,
    theirs: &str,
    setting: Setting,
) {
    let reference = ratio_target(summaries, name, ours, theirs, setting, 0.0, Some(REFERENCE));
    if reference.measured != NOT_MEASURED {
        targets.push(reference);
    }
}

/// The loop whose transactions per commit are nearest `batch` (by ratio), of `loops`.
fn nearest_loop(loops: &[(usize, &'static str)], batch: f64) -> Option<(usize, &'static str)> {
    let distance = |n: usize| (batch.max(1.0) / n as f64).ln().abs();
    loops
        .iter()
        .copied()
        .min_by(|a, b| distance(a.0).total_cmp(&distance(b.0)))
}

/// The worker count the lab's targets are set at. They are judged there and at every larger
/// count measured; below it they are shown, not judged (8 workers cannot make the batches
/// that the targets at 64 assume).
pub const TARGET_WORKERS: usize = 64;

/// The targets of the lab issue at every worker count measured, smallest first; at the largest,
/// also those this run did not measure (so a report says what it left out).
pub fn targets(summaries: &[Summary], worker_counts: &[usize]) -> Vec<Target> {
    let mut counts = worker_counts.to_vec();
    counts.sort_unstable();
    counts.dedup();
    let largest = counts.last().copied();
    let below = format!("the targets are set at {TARGET_WORKERS} workers");
    let mut t = Vec::new();
    for workers in counts {
        let unjudged = (workers < TARGET_WORKERS).then_some(below.as_str());
        t.extend(
            targets_at(summaries, workers, unjudged)
                .into_iter()
                .filter(|target| target.measured != NOT_MEASURED || Some(workers) == largest),
        );
    }
    let ours: Vec<&Summary> = summaries
        .iter()
        .filter(|s| s.scenario.starts_with("onewriter"))
        .collect();
    if !ours.is_empty() {
        let errors: u64 = ours.iter().map(|s| s.error_total() + s.cut_off).sum();
        let wrong = ours.iter().filter(|s| !s.problems.is_empty()).count();
        t.push(Target {
            name: "zero errors and exact results for onewriter, every setting".into(),
            measured: format!("{errors} errors, {wrong} settings with a wrong result"),
            met: Some(errors == 0 && wrong == 0),
        });
    }
    t
}

/// The targets that compare scenarios at one worker count; with `unjudged`, shown with that
/// reason and not judged.
fn targets_at(summaries: &[Summary], workers: usize, unjudged: Option<&str>) -> Vec<Target> {
    let at = |workload, sync| Setting {
        workload,
        workers,
        sync,
    };
    let mut t = vec![
        ratio_target(
            summaries,
            "group commit vs the story's fix",
            "onewriter-batched",
            "split-sqlx",
            at(Workload::Rmw, Sync::Normal),
            8.0,
            unjudged,
        ),
        ratio_target(
            summaries,
            "group commit vs the story's fix",
            "onewriter-batched",
            "split-sqlx",
            at(Workload::Rmw, Sync::Full),
            10.0,
            unjudged,
        ),
        ratio_target(
            summaries,
            "group commit vs the 100-per-commit ceiling",
            "onewriter-batched",
            "raw-limit-100",
            at(Workload::Rmw, Sync::Normal),
            0.8,
            unjudged,
        ),
        ratio_target(
            summaries,
            "group commit vs the 100-per-commit ceiling",
            "onewriter-batched",
            "raw-limit-100",
            at(Workload::Rmw, Sync::Full),
            0.8,
            unjudged,
        ),
        ratio_target(
            summaries,
            "one commit per job vs the 1-per-commit ceiling",
            "onewriter",
            "raw-limit",
            at(Workload::Rmw, Sync::Normal),
            0.8,
            unjudged,
        ),
        ratio_target(
            summaries,
            "one commit per job vs the 1-per-commit ceiling",
            "onewriter",
            "raw-limit",
            at(Workload::Rmw, Sync::Full),
            0.8,
            unjudged,
        ),
        ratio_target(
            summaries,
            "reads vs the story's reader pool",
            "onewriter-batched",
            "split-sqlx",
            at(Workload::Read, Sync::Normal),
            3.0,
            unjudged,
        ),
    ];
    let loops = scenarios::batch_loops();
    for sync in [Sync::Normal, Sync::Full] {
        let setting = at(Workload::Rmw, sync);
        let mut reference = |name: &str, ours: &str, theirs: &str| {
            push_reference(&mut t, summaries, name, ours, theirs, setting)
        };
        // Where the gap to the 100-per-commit ceiling lies: in the hand-off between the callers'
        // cores and one writer thread (`bare-handoff` against the loop), or in onewriter's own
        // work (`onewriter-batched` against `bare-handoff`).
        reference(
            "group commit vs the bare hand-off",
            "onewriter-batched",
            "bare-handoff",
        );
        reference(
            "the bare hand-off vs the 100-per-commit ceiling",
            "bare-handoff",
            "raw-limit-100",
        );
        // What the batch size leaves of the ceiling: each loop that commits every few jobs
        // against the ceiling (what its batch costs with no hand-off at all), and group commit
        // against the loop nearest the batch it formed (what is left once the batch is
        // accounted for).
        let Some((&(per_ceiling, ceiling), smaller)) = loops.split_last() else {
            continue;
        };
        for &(n, name) in smaller {
            let name_of =
                format!("the {n}-per-commit loop vs the {per_ceiling}-per-commit ceiling");
            reference(&name_of, name, ceiling);
        }
        let nearest = find(summaries, "onewriter-batched", setting)
            .and_then(|s| s.engine.as_ref())
            .and_then(|e| nearest_loop(&loops, e.batch_p50))
            .filter(|&(_, name)| name != ceiling);
        if let Some((n, name)) = nearest {
            let name_of = format!("group commit vs the {n}-per-commit loop, nearest its batch");
            reference(&name_of, "onewriter-batched", name);
        }
    }
    for sync in [Sync::Normal, Sync::Full] {
        let setting = at(Workload::Rmw, sync);
        if let (Some(a), Some(b)) = (
            find(summaries, "onewriter-batched", setting),
            find(summaries, "raw-limit", setting),
        ) {
            let mut measured = format!(
                "onewriter-batched max {} (p99.9 {}), raw-limit max {} (p99.9 {})",
                format_us(a.max_us),
                format_us(a.p999_us),
                format_us(b.max_us),
                format_us(b.p999_us)
            );
            if let Some(why) = unjudged {
                let _ = write!(measured, "; not judged: {why}");
            }
            t.push(Target {
                name: format!("write latency not dominated by checkpoint stalls ({setting})"),
                measured,
                met: unjudged
                    .is_none()
                    .then_some(a.max_us <= b.max_us.max(a.p999_us * 10)),
            });
        }
    }
    t
}

/// The Markdown report.
pub fn markdown(
    summaries: &[Summary],
    targets: &[Target],
    header: &str,
    charts: &[(String, String)],
) -> String {
    let mut md = String::new();
    md.push_str(header);
    md.push_str("\n## Targets\n\n| target | measured | met |\n|---|---|---|\n");
    for t in targets {
        let met = match t.met {
            Some(true) => "yes",
            Some(false) => "🔴 **no**",
            None => "n/a",
        };
        let _ = writeln!(md, "| {} | {} | {met} |", t.name, t.measured);
    }
    md.push_str("\n## Results\n\nOperations per second are the median over repeats (± half the spread between the slowest and fastest repeat). Latency is that of successful operations. The check compares the file with the acknowledged work: **exact** means nothing lost, nothing doubled, nothing half-applied. *Stuck* counts operations still waiting when the grace period after the run ran out.\n");
    let mut current: Option<Setting> = None;
    for s in summaries {
        if current != Some(s.setting) {
            current = Some(s.setting);
            let _ = write!(
                md,
                "\n### {}\n\n| scenario | ops/s | p50 | p99 | p99.9 | max | errors | check |\n|---|---:|---:|---:|---:|---:|---|---|\n",
                s.setting
            );
        }
        let check = if s.problems.is_empty() {
            "exact".to_owned()
        } else {
            format!("🔴 **{}**", s.problems.join("; "))
        };
        let _ = writeln!(
            md,
            "| {} | {}{} | {} | {} | {} | {} | {} | {} |",
            s.scenario,
            format_rate(s.ops_per_sec),
            spread(s),
            format_us(s.p50_us),
            format_us(s.p99_us),
            format_us(s.p999_us),
            format_us(s.max_us),
            errors_cell(s),
            check
        );
    }
    let with_errors: Vec<&Summary> = summaries
        .iter()
        .filter(|s| s.first_error.is_some())
        .collect();
    if !with_errors.is_empty() {
        md.push_str("\n### First error seen per scenario and setting\n\n");
        for s in with_errors {
            let _ = writeln!(
                md,
                "- {} ({}): `{}`",
                s.scenario,
                s.setting,
                s.first_error.as_deref().unwrap_or("").replace('`', "'")
            );
        }
    }
    let engines: Vec<(&Summary, &EngineSummary)> = summaries
        .iter()
        .filter_map(|s| s.engine.as_ref().map(|e| (s, e)))
        .collect();
    if !engines.is_empty() {
        md.push_str("\n### onewriter's own figures\n\nFrom `Db::stats` at the end of each run, over the repeats (counts summed, the longest of the maxima, the median of the percentiles). \"Write wait\" is the time in the write queue, \"longest write\" from a write's start to its batch's end (COMMIT included). A largest latency in the tables above that these do not account for was spent outside onewriter (in the caller's runtime).\n\n");
        for (s, e) in engines {
            let _ = writeln!(md, "- {} ({}): {}", s.scenario, s.setting, e.line());
        }
    }
    if !charts.is_empty() {
        md.push_str("\n## Charts\n\n");
        for (title, file) in charts {
            let _ = writeln!(md, "### {title}\n\n![{title}]({file})\n");
        }
    }
    md
}

const PALETTE: [RGBColor; 4] = [
    RGBColor(66, 133, 244),
    RGBColor(219, 68, 55),
    RGBColor(244, 180, 0),
    RGBColor(15, 157, 88),
];

/// Throughput per scenario for one workload and `synchronous` setting, one bar per worker
/// count. Returns the SVG text.
pub fn throughput_chart(
    summaries: &[Summary],
    workload: Workload,
    sync: Sync,
    scenarios: &[&'static str],
    workers: &[usize],
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let value = |scenario: &str, w: usize| {
            summaries
                .iter()
                .find(|s| {
                    s.scenario == scenario
                        && s.setting
                            == Setting {
                                workload,
                                workers: w,
                                sync,
                            }
                })
                .map_or(0.0, |s| s.ops_per_sec)
        };
        let top = scenarios
            .iter()
            .flat_map(|s| workers.iter().map(move |w| value(s, *w)))
            .fold(1.0f64, f64::max)
            * 1.1;
        let n = scenarios.len();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("{workload}: successful operations per second (synchronous={sync})"),
                ("sans-serif", 22),
            )
            .margin(12)
            .x_label_area_size(120)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_label_formatter(&|v| format_rate(*v))
            .draw()?;
        let width = 0.8 / workers.len().max(1) as f64;
        for (wi, w) in workers.iter().enumerate() {
            let color = PALETTE[wi % PALETTE.len()];
            chart
                .draw_series(scenarios.iter().enumerate().map(|(i, s)| {
                    let x0 = i as f64 + 0.1 + wi as f64 * width;
                    Rectangle::new([(x0, 0.0), (x0 + width, value(s, *w))], color.filled())
                }))?
                .label(format!("{w} workers"))
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        for (i, s) in scenarios.iter().enumerate() {
            let pos = chart.backend_coord(&(i as f64 + 0.5, 0.0));
            root.draw(&Text::new(
                s.to_string(),
                (pos.0 - 6, pos.1 + 8),
                ("sans-serif", 14)
                    .into_font()
                    .transform(FontTransform::Rotate90),
            ))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Picks one figure out of a summary.
type Pick = fn(&Summary) -> u64;

/// p50, p99 and max latency per scenario (log scale) for one setting. Returns the SVG text.
pub fn latency_chart(
    summaries: &[Summary],
    setting: Setting,
    scenarios: &[&'static str],
) -> anyhow::Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (960, 540)).into_drawing_area();
        root.fill(&WHITE)?;
        let rows: Vec<Option<&Summary>> = scenarios
            .iter()
            .map(|sc| find(summaries, sc, setting))
            .collect();
        let top = rows
            .iter()
            .flatten()
            .map(|s| s.max_us)
            .max()
            .unwrap_or(1000)
            .max(1000) as f64
            * 2.0;
        let n = scenarios.len();
        let mut chart = ChartBuilder::on(&root)
            .caption(
                format!("latency of successful operations ({setting})"),
                ("sans-serif", 22),
            )
            .margin(12)
            .x_label_area_size(120)
            .y_label_area_size(70)
            .build_cartesian_2d(0f64..n as f64, (1f64..top).log_scale())?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .x_labels(0)
            .y_label_formatter(&|v| format_us(*v as u64))
            .draw()?;
        let series: [(&str, Pick); 3] = [
            ("p50", |s| s.p50_us),
            ("p99", |s| s.p99_us),
            ("max", |s| s.max_us),
        ];
        let width = 0.8 / series.len() as f64;
        for (si, (label, get)) in series.iter().enumerate() {
            let color = PALETTE[si % PALETTE.len()];
            chart
                .draw_series(rows.iter().enumerate().filter_map(|(i, s)| {
                    let s = (*s)?;
                    let x0 = i as f64 + 0.1 + si as f64 * width;
                    Some(Rectangle::new(
                        [(x0, 1.0), (x0 + width, get(s).max(1) as f64)],
                        color.filled(),
                    ))
                }))?
                .label(*label)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 10, y + 5)], color.filled())
                });
        }
        for (i, s) in scenarios.iter().enumerate() {
            let pos = chart.backend_coord(&(i as f64 + 0.5, 1.0));
            root.draw(&Text::new(
                s.to_string(),
                (pos.0 - 6, pos.1 + 8),
                ("sans-serif", 14)
                    .into_font()
                    .transform(FontTransform::Rotate90),
            ))?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.9))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperLeft)
            .draw()?;
        root.present()?;
    }
    Ok(svg)
}

/// Writes every output file into `dir`, each to a temporary name first, then renamed, so a
/// failure leaves no half-written report.
pub fn write_all(dir: &Path, files: &[(String, String)]) -> anyhow::Result<()> {
    let mut written = Vec::new();
    for (name, content) in files {
        let tmp = dir.join(format!(".{name}.tmp"));
        if let Err(e) = std::fs::write(&tmp, content) {
            for t in &written {
                let _ = std::fs::remove_file(t);
            }
            let _ = std::fs::remove_file(&tmp);
            return Err(anyhow::anyhow!("cannot write {}: {e}", tmp.display()));
        }
        written.push(tmp);
    }
    for ((name, _), tmp) in files.iter().zip(&written) {
        std::fs::rename(tmp, dir.join(name))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

    use super::*;

    fn summary(scenario: &'static str, workers: usize, ops_per_sec: f64) -> Summary {
        Summary {
            scenario,
            setting: Setting {
                workload: Workload::Rmw,
                workers,
                sync: Sync::Normal,
            },
            repeats: 1,
            ops_per_sec,
            ops_per_sec_min: ops_per_sec,
            ops_per_sec_max: ops_per_sec,
            errors: BTreeMap::new(),
            first_error: None,
            p50_us: 100,
            p99_us: 200,
            p999_us: 300,
            max_us: 400,
            problems: Vec::new(),
            cut_off: 0,
            engine: None,
        }
    }

    #[test]
    fn onewriters_own_figures_are_taken_over_the_repeats_and_reported() {
        let e = |batch_p50, write_wait_max_ms, wal_handover_max_ms| EngineSummary {
            writes: 1000,
            commits: 10,
            batch_p50,
            batch_max: 128.0,
            write_wait_max_ms,
            write_run_max_ms: 0.1,
            wal_handovers: 2,
            wal_handover_max_ms,
            syncs: 10,
            sync_total_ms: 4.0,
            sync_max_ms: wal_handover_max_ms * 2.0,
            ..EngineSummary::default()
        };
        let over = EngineSummary::over(&[e(30.0, 5.0, 1.0), e(34.0, 12.0, 3.0), e(32.0, 2.0, 0.5)])
            .unwrap();
        let expected = EngineSummary {
            writes: 3000,
            commits: 30,
            wal_handovers: 6,
            syncs: 30,
            sync_total_ms: 12.0,
            ..e(32.0, 12.0, 3.0)
        };
        assert_eq!(over.line(), expected.line());
        assert!(EngineSummary::over(&[]).is_none());

        let mut s = summary("onewriter-batched", 256, 90.0);
        s.engine = Some(over);
        let md = markdown(&[s, summary("raw-limit-100", 256, 100.0)], &[], "", &[]);
        assert!(
            md.contains("- onewriter-batched (rmw · 256 workers · synchronous=normal): 3000 writes in 30 commits (batch p50 32, max 128)"),
            "{md}"
        );
        assert!(
            md.contains("30 syncs (12.0 ms in all, longest 6.0 ms)"),
            "{md}"
        );
        assert!(md.contains("write wait p99 0.0 ms, max 12.0 ms"), "{md}");
        assert!(
            md.contains("6 WAL handovers (0.0 ms in all, longest 3.0 ms"),
            "{md}"
        );
        assert!(!md.contains("- raw-limit-100"), "{md}");
    }

    /// The target or comparison `name` for rmw at `workers` with NORMAL.
    fn named<'a>(targets: &'a [Target], name: &str, workers: usize) -> &'a Target {
        let name = format!("{name} (rmw · {workers} workers · synchronous=normal)");
        targets
            .iter()
            .find(|t| t.name == name)
            .unwrap_or_else(|| panic!("no {name:?} in {targets:?}"))
    }

    #[test]
    fn targets_are_judged_at_64_workers_and_above_and_shown_below() {
        let summaries = [
            summary("onewriter-batched", 8, 10.0),
            summary("raw-limit-100", 8, 100.0),
            summary("onewriter-batched", 64, 50.0),
            summary("raw-limit-100", 64, 100.0),
            summary("onewriter", 64, 70.0),
            summary("raw-limit", 64, 100.0),
            summary("onewriter-batched", 256, 90.0),
            summary("raw-limit-100", 256, 100.0),
        ];
        let targets = targets(&summaries, &[256, 8, 64]);
        let find = |name: &str, workers: usize| named(&targets, name, workers);
        let ceiling = "group commit vs the 100-per-commit ceiling";
        assert_eq!(find(ceiling, 256).met, Some(true));
        // Set at 64 workers: judged there, and missed.
        assert_eq!(
            find(ceiling, 64).met,
            Some(false),
            "0.5× misses at 64 workers"
        );
        assert_eq!(
            find("one commit per job vs the 1-per-commit ceiling", 64).met,
            Some(false),
            "0.7× of raw-limit misses at 64 workers"
        );
        // Below 64 the ratio is shown, not judged.
        let at_8 = find(ceiling, 8);
        assert_eq!(at_8.met, None);
        assert!(
            at_8.measured.starts_with("0.10×")
                && at_8
                    .measured
                    .contains("not judged: the targets are set at 64 workers"),
            "{at_8:?}"
        );
        // What was not measured is listed once, at the largest count.
        let unmeasured: Vec<&str> = targets
            .iter()
            .filter(|t| t.measured == NOT_MEASURED)
            .map(|t| t.name.as_str())
            .collect();
        assert!(!unmeasured.is_empty());
        assert!(
            unmeasured.iter().all(|n| n.contains("256 workers")),
            "{unmeasured:?}"
        );
    }

    #[test]
    fn the_bare_handoff_places_the_gap_and_is_never_judged() {
        let summaries = [
            summary("onewriter-batched", 64, 60.0),
            summary("bare-handoff", 64, 75.0),
            summary("raw-limit-100", 64, 100.0),
        ];
        let targets = targets(&summaries, &[64]);
        let find = |name: &str| named(&targets, name, 64);
        let ours = find("group commit vs the bare hand-off");
        assert!(
            ours.measured.starts_with("0.80× (60 vs 75 ops/s"),
            "{ours:?}"
        );
        let handoff = find("the bare hand-off vs the 100-per-commit ceiling");
        assert!(handoff.measured.starts_with("0.75×"), "{handoff:?}");
        // Shown at the count where the targets are judged, and judged by none of them.
        for t in [ours, handoff] {
            assert_eq!(t.met, None, "{t:?}");
            assert!(t.measured.contains("not judged: a reference"), "{t:?}");
        }
        assert_eq!(
            find("group commit vs the 100-per-commit ceiling").met,
            Some(false)
        );
        // Not measured with FULL: a reference is left out rather than listed as missing.
        assert!(
            !targets
                .iter()
                .any(|t| t.name.contains("bare hand-off") && t.name.contains("full")),
            "{targets:?}"
        );
    }

    #[test]
    fn the_loops_below_the_ceiling_place_the_batch_and_are_never_judged() {
        let with_batch = |ops, batch_p50| Summary {
            engine: Some(EngineSummary {
                batch_p50,
                ..EngineSummary::default()
            }),
            ..summary("onewriter-batched", 64, ops)
        };
        let loops = [
            summary("raw-limit-32", 64, 70.0),
            summary("raw-limit-64", 64, 85.0),
            summary("raw-limit-100", 64, 100.0),
        ];
        let targets_with = |ours: Summary| {
            let mut summaries = loops.to_vec();
            summaries.push(ours);
            targets(&summaries, &[64])
        };

        let batched_at_32 = targets_with(with_batch(63.0, 32.0));
        let find = |name: &str| named(&batched_at_32, name, 64);
        let at_32 = find("the 32-per-commit loop vs the 100-per-commit ceiling");
        assert!(at_32.measured.starts_with("0.70×"), "{at_32:?}");
        let at_64 = find("the 64-per-commit loop vs the 100-per-commit ceiling");
        assert!(at_64.measured.starts_with("0.85×"), "{at_64:?}");
        let ours = find("group commit vs the 32-per-commit loop, nearest its batch");
        assert!(
            ours.measured.starts_with("0.90× (63 vs 70 ops/s"),
            "{ours:?}"
        );
        for t in [at_32, at_64, ours] {
            assert_eq!(t.met, None, "{t:?}");
            assert!(t.measured.contains("not judged: a reference"), "{t:?}");
        }
        assert_eq!(
            find("group commit vs the 100-per-commit ceiling").met,
            Some(false)
        );
        let compared_with = |targets: &[Target]| -> Vec<String> {
            targets
                .iter()
                .filter(|t| t.name.starts_with("group commit vs the") && t.name.contains("loop"))
                .map(|t| t.name.clone())
                .collect()
        };
        assert_eq!(compared_with(&batched_at_32).len(), 1, "{batched_at_32:?}");

        // A batch of 50 is nearer 64 than 32 by ratio.
        let batched_at_50 = targets_with(with_batch(80.0, 50.0));
        let ours = named(
            &batched_at_50,
            "group commit vs the 64-per-commit loop, nearest its batch",
            64,
        );
        assert!(ours.measured.starts_with("0.94×"), "{ours:?}");
        // Batches near the ceiling's are judged against it alone.
        assert_eq!(
            compared_with(&targets_with(with_batch(90.0, 120.0))),
            Vec::<String>::new()
        );
        // Not measured with FULL: the references are left out rather than listed as missing.
        assert!(
            !batched_at_32
                .iter()
                .any(|t| t.name.contains("per-commit loop") && t.name.contains("full")),
            "{batched_at_32:?}"
        );
    }
}
