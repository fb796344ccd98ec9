//! The lab's command line: bad input is refused clearly, and a short run writes a complete
//! report. No assertion here is about speed.

use std::process::{Command, Output};

fn lab(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lab"))
        .args(args)
        .output()
        .expect("run the lab binary")
}

/// The `results.json` a run wrote into `dir`.
fn results(dir: &std::path::Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn an_unknown_scenario_is_refused_with_the_accepted_names() {
    let o = lab(&["--scenarios", "onewriter,sqlite-magic"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("sqlite-magic"), "{e}");
    assert!(
        e.contains("onewriter-batched") && e.contains("naive-pool"),
        "{e}"
    );
}

#[test]
fn an_unknown_workload_is_refused_with_the_accepted_names() {
    let o = lab(&["--workloads", "rmw,writes"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(
        e.contains("writes") && e.contains("rmw") && e.contains("mixed"),
        "{e}"
    );
}

#[test]
fn zero_workers_is_refused() {
    let o = lab(&["--workers", "8,0"]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("--workers") && e.contains('0'), "{e}");
}

#[test]
fn an_unwritable_output_directory_fails_before_measuring_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "not a directory").unwrap();
    let out = file.join("report");
    let o = lab(&["--quick", "--out", out.to_str().unwrap()]);
    assert!(!o.status.success());
    let e = stderr(&o);
    assert!(e.contains("output directory"), "{e}");
    assert!(o.stdout.is_empty(), "nothing was measured");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "not a directory");
}

#[test]
fn a_short_run_writes_a_report_json_and_charts() {
    let out = tempfile::tempdir().unwrap();
    let o = lab(&[
        "--quick",
        "--scenarios",
        "onewriter-batched,split-sqlx,raw-limit",
        "--seconds",
        "0.1",
        "--out",
        out.path().to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout.contains("onewriter-batched") && stdout.contains("exact"),
        "{stdout}"
    );

    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(
        report.contains("## Targets") && report.contains("split-sqlx"),
        "{report}"
    );
    let json = results(out.path());
    let runs = json["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3, "one run per scenario");
    for run in runs {
        let check = &run["check"];
        assert_eq!(check["integrity"], "ok");
        assert_eq!(
            check["ledger_rows"].as_i64(),
            check["acknowledged_writes"].as_i64(),
            "{run}"
        );
    }
    let svg = std::fs::read_to_string(out.path().join("throughput-rmw-normal.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.contains("onewriter-batched"));
    assert!(out.path().join("latency-rmw-8-normal.svg").exists());
    let leftovers: Vec<_> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");
}

#[test]
fn lab_sso_refuses_bad_input_clearly() {
    for (args, needle) in [
        (&["sso", "--clients", "0"][..], "clients"),
        (&["sso", "--deployments", "mysql"][..], "mysql"),
        (&["sso", "--seconds", "0"][..], "0 s is outside"),
        (&["sso", "--refreshes-per-login", "0"][..], "refreshes"),
        (&["sso", "--repeats", "0"][..], "repeats"),
        (
            &[
                "sso",
                "--quick",
                "--gatehouse-bin",
                "/nonexistent/gatehouse",
            ][..],
            "cargo build --release -p gatehouse",
        ),
    ] {
        let o = lab(args);
        assert!(!o.status.success(), "{args:?}");
        let e = stderr(&o);
        assert!(e.contains(needle), "{args:?}: {e}");
    }
    let help = lab(&["sso", "--help"]);
    assert!(String::from_utf8_lossy(&help.stdout).contains("Usage: lab sso"));
}

/// `lab sso` on SQLite with 2 clients and `args`, writing into `out`: it must succeed and
/// print each of `expected`. Returns what it printed.
fn sso_on_sqlite(args: &[&str], out: &std::path::Path, expected: &[&str]) -> String {
    let out = out.to_str().unwrap();
    let mut all = vec![
        "sso",
        "--deployments",
        "sqlite",
        "--clients",
        "2",
        "--out",
        out,
    ];
    all.extend(args);
    let o = lab(&all);
    assert!(o.status.success(), "{}", stderr(&o));
    let stdout = String::from_utf8_lossy(&o.stdout).into_owned();
    for line in expected {
        assert!(stdout.contains(line), "{line}: {stdout}");
    }
    stdout
}

#[test]
fn lab_sso_drives_real_flows_and_writes_a_report() {
    let out = tempfile::tempdir().unwrap();
    let stdout = sso_on_sqlite(
        &[
            "--workloads",
            "refresh,flow",
            "--rate",
            "20",
            "--seconds",
            "0.5",
        ],
        out.path(),
        &[
            "sqlite, refresh, 2 clients",
            "sqlite, refresh, 20/s",
            "sqlite, flow, 2 clients",
        ],
    );
    assert!(
        !stdout.contains("sqlite, flow, 20/s"),
        "a flow is not open loop"
    );
    let results = results(out.path());
    let runs = results["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let run = |workload: &str, load: &str| {
        runs.iter()
            .find(|r| r["workload"] == workload && r["load"] == load)
            .unwrap_or_else(|| panic!("{workload} {load}"))
    };
    let requests = |run: &serde_json::Value, name: &str| {
        run["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["endpoint"] == name)
            .map_or(0, |e| e["requests"].as_u64().unwrap())
    };
    for r in runs {
        assert_eq!(r["server_errors"], 0, "{r}");
        assert_eq!(r["unexpected"], 0, "{r}");
    }

    // Whole flows ran: every sign-in was followed by refreshes, userinfo and introspection.
    let flow = run("flow", "2 clients");
    assert!(requests(flow, "login") >= 2, "{flow}");
    assert!(
        requests(flow, "refresh") >= requests(flow, "login"),
        "{flow}"
    );
    assert_eq!(
        requests(flow, "userinfo"),
        requests(flow, "refresh"),
        "{flow}"
    );

    // Token chains: refreshes only in the measured time (the sign-ins came before it); what
    // the server spent and stored comes with the run, and every refresh was a write.
    let chains = run("refresh", "2 clients");
    assert!(requests(chains, "refresh") >= 2, "{chains}");
    assert_eq!(requests(chains, "login"), 0, "{chains}");
    assert!(
        chains["server_cpu_ms_per_request"].as_f64().unwrap() > 0.0,
        "{chains}"
    );
    assert!(
        chains["bytes_per_refresh"].as_f64().unwrap() > 0.0,
        "{chains}"
    );
    let writes = chains["engine"]["writes"].as_u64().unwrap();
    assert!(writes >= requests(chains, "refresh"), "{chains}");
    assert!(stdout.contains("engine: "), "{stdout}");

    // Open loop: 20 a second for half a second is 10 requests, whatever the answers.
    let open = run("refresh", "20/s");
    assert_eq!(open["rate"], 20);
    assert_eq!(requests(open, "refresh"), 10, "{open}");
    assert_eq!(open["unsent"], 0, "{open}");

    for f in ["report.md", "refresh-throughput.svg", "refresh-p99.svg"] {
        assert!(out.path().join(f).exists(), "{f}");
    }
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(report.contains("## sqlite, refresh, 20/s"), "{report}");
    assert!(report.contains("of server CPU a request"), "{report}");
}

#[test]
fn lab_sso_repeats_each_run_and_reports_their_median() {
    let out = tempfile::tempdir().unwrap();
    sso_on_sqlite(
        &[
            "--workloads",
            "refresh",
            "--repeats",
            "2",
            "--seconds",
            "0.3",
        ],
        out.path(),
        &[
            "sqlite, refresh, 2 clients, run 1 of 2",
            "sqlite, refresh, 2 clients, run 2 of 2",
            "over the runs",
        ],
    );
    let results = results(out.path());
    assert_eq!(results["repeats"], 2);
    let runs = results["runs"].as_array().unwrap();
    let repeats: Vec<_> = runs.iter().map(|r| r["repeat"].as_u64().unwrap()).collect();
    assert_eq!(repeats, [1, 2]);
    let rates: Vec<f64> = runs
        .iter()
        .map(|r| r["endpoints"][0]["per_second"].as_f64().unwrap())
        .collect();
    let summaries = results["summaries"].as_array().unwrap();
    assert_eq!(summaries.len(), 1, "{summaries:?}");
    let s = &summaries[0];
    assert_eq!(s["runs"], 2);
    assert_eq!(s["endpoint"], "refresh");
    assert!(rates.iter().all(|r| *r > 0.0), "{rates:?}");
    assert_eq!(
        s["per_second"].as_f64().unwrap(),
        (rates[0] + rates[1]) / 2.0
    );
    assert_eq!(
        s["per_second_min"].as_f64().unwrap(),
        rates[0].min(rates[1])
    );
    let report = std::fs::read_to_string(out.path().join("report.md")).unwrap();
    assert!(report.contains("## Summary"), "{report}");
    assert!(
        report.contains("| sqlite | refresh | 2 clients | 2 | refresh |"),
        "{report}"
    );
    assert!(
        report.contains("## sqlite, refresh, 2 clients, run 2 of 2"),
        "{report}"
    );
}
