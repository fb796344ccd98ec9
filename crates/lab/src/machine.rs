//! A description of the machine a report was measured on.

use std::time::Duration;

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub kernel: String,
    pub sqlite: String,
    pub date: String,
}

fn first_line_with(path: &str, key: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()?
        .lines()
        .find(|l| l.starts_with(key))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_owned())
}

pub fn describe() -> Machine {
    let memory_kib: f64 = first_line_with("/proc/meminfo", "MemTotal")
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    Machine {
        cpu: first_line_with("/proc/cpuinfo", "model name").unwrap_or_else(|| "unknown".into()),
        cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        memory_gib: (memory_kib / 1024.0 / 1024.0 * 10.0).round() / 10.0,
        kernel: std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|s| s.trim().to_owned())
            .unwrap_or_else(|_| "unknown".into()),
        sqlite: rusqlite::version().to_owned(),
        date: time::OffsetDateTime::now_utc()
            .format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .unwrap_or_default(),
    }
}

pub fn header(scenarios: &[&str], repeats: usize, duration: Duration) -> String {
    let m = describe();
    let mut s = format!(
        "# Lab report, {}\n\nMeasured on {} core(s) of {}, {} GiB of memory, Linux {}, SQLite {} (bundled). \
         Each run lasts {:.1} s on a freshly seeded database ({} accounts); every setting was run {} time(s), \
         scenarios interleaved.\n\n## Scenarios\n\n",
        m.date,
        m.cores,
        m.cpu,
        m.memory_gib,
        m.kernel,
        m.sqlite,
        duration.as_secs_f64(),
        crate::workload::ACCOUNTS,
        repeats
    );
    for name in scenarios {
        if let Some(sc) = crate::scenarios::by_name(name) {
            s.push_str(&format!("- **{}**: {}\n", sc.name, sc.about));
        }
    }
    s
}
