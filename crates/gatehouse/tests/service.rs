//! Running gatehouse as a service: the systemd units in `contrib/systemd` pass `systemd-analyze
//! verify` and their backup command works; backups on a timer keep the newest N; and a backup
//! restores end to end, refused while the server runs or when it is not a whole gatehouse
//! database.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    unreachable_pub,
    reason = "a test: a failed unwrap is the failure, at its line"
)]

mod common;

use std::path::Path;
use std::process::Command;

use common::backend::{Backend, Database};
use common::cli::{ServerProcess, gatehouse, ok, refused};
use common::{Browser, sign_in_at};

const UNITS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../contrib/systemd");
const BIN: &str = env!("CARGO_BIN_EXE_gatehouse");

fn unit(name: &str) -> String {
    std::fs::read_to_string(Path::new(UNITS).join(name)).unwrap()
}

#[test]
fn the_systemd_units_pass_systemd_analyze_verify() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        common::skip_fault("systemd-analyze is not installed");
        return;
    }
    // As installed, but with this build as the binary (verify checks that it is executable).
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for name in [
        "gatehouse.service",
        "gatehouse-backup.service",
        "gatehouse-backup.timer",
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, unit(name).replace("/usr/local/bin/gatehouse", BIN)).unwrap();
        paths.push(p);
    }
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .args(&paths)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("gatehouse"),
        "no warning about the units: {stderr}"
    );
    // The sandbox the operator is promised.
    let service = unit("gatehouse.service");
    for line in [
        "DynamicUser=yes",
        "StateDirectory=gatehouse",
        "ProtectSystem=strict",
        "NoNewPrivileges=yes",
        "ExecStart=/usr/local/bin/gatehouse serve",
    ] {
        assert!(service.lines().any(|l| l == line), "{line}");
    }
}

/// The backup service's command, run as the timer runs it (paths moved into a scratch
/// directory): each run adds a backup and keeps the newest 14.
#[test]
fn the_backup_units_command_keeps_the_newest_backups() {
    let db = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", db.path().join("gatehouse.db").display());
    ok(&gatehouse(&url, &["migrate"], None));
    let backups = db.path().join("backups");
    let exec = unit("gatehouse-backup.service")
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=").map(str::to_owned))
        .unwrap();
    let args: Vec<String> = exec
        .replace("/var/lib/gatehouse/backups", backups.to_str().unwrap())
        .split_whitespace()
        .skip(1)
        .map(str::to_owned)
        .collect();
    assert_eq!(args[..3], ["backup", "--into", backups.to_str().unwrap()]);
    // 14 older ones, then the timer's run: 14 remain, the oldest gone, this one among them.
    std::fs::create_dir_all(&backups).unwrap();
    for day in 1..=14 {
        std::fs::write(
            backups.join(format!("gatehouse-200001{day:02}T000000Z.db")),
            "",
        )
        .unwrap();
    }
    std::fs::write(backups.join("notes.txt"), "kept").unwrap();
    let out = Command::new(BIN)
        .args(&args)
        .env("GATEHOUSE_DATABASE_URL", &url)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("removed the older backup"), "{stdout}");
    let mut names: Vec<String> = std::fs::read_dir(&backups)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(names.len(), 15, "{names:?}");
    assert!(!names.contains(&"gatehouse-20000101T000000Z.db".to_owned()));
    assert!(
        names.contains(&"notes.txt".to_owned()),
        "only backups are removed"
    );
    let newest = &names[13];
    assert!(
        newest.starts_with("gatehouse-20") && !newest.starts_with("gatehouse-2000"),
        "{newest}"
    );
}

fn usernames(url: &str) -> Vec<String> {
    let users: serde_json::Value =
        serde_json::from_str(&ok(&gatehouse(url, &["user", "list", "--json"], None))).unwrap();
    users
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["username"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_after_a_crash() {
    let db = Database::fresh(Backend::Sqlite).await.unwrap();
    let url = db.url.clone();
    let file = db.dir.path().join("gatehouse.db");
    let add_user = |name: &str| common::cli::add_user(&url, name);
    add_user("ada");
    let secret = common::cli::add_client(&url, "web", &[]);

    let server = ServerProcess::start(&url);
    let before = sign_in_at(&Browser::default(), &server.base, "web", &secret, "ada").await;
    let backups = db.dir.path().join("backups");
    let backups_arg = backups.to_str().unwrap();
    let out = ok(&gatehouse(
        &url,
        &["backup", "--into", backups_arg, "--keep", "2"],
        None,
    ));
    let taken = out
        .lines()
        .find_map(|l| l.strip_prefix("backup written to "))
        .unwrap()
        .to_owned();
    // After the backup: a user it does not hold.
    add_user("late");

    // Refused while the server has the database open, and nothing changes.
    refused(&gatehouse(&url, &["restore", &taken], None), "is in use");
    assert!(usernames(&url).contains(&"late".to_owned()));

    // The server dies (its last writes still in the log), and the backup goes back.
    server.kill();
    let out = ok(&gatehouse(&url, &["restore", &taken], None));
    assert!(out.contains("is kept as"), "{out}");
    let kept = out
        .lines()
        .find_map(|l| l.strip_prefix("the database it replaced is kept as "))
        .unwrap();
    assert!(Path::new(kept).is_file());
    assert!(!Path::new(&format!("{}-wal", file.display())).exists());

    let server = ServerProcess::start(&url);
    assert_eq!(
        usernames(&url),
        ["ada"],
        "as it was when the backup was taken"
    );
    assert_eq!(
        common::refresh_status(
            &server.base,
            "web",
            &secret,
            before["refresh_token"].as_str().unwrap()
        )
        .await,
        200,
        "a token issued before the backup refreshes"
    );
    sign_in_at(&Browser::default(), &server.base, "web", &secret, "ada").await;
    server.kill();
}

#[test]
fn restore_refuses_what_is_not_a_whole_gatehouse_backup() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("gatehouse.db").display());
    ok(&gatehouse(&url, &["migrate"], None));
    common::cli::add_user(&url, "ada");
    let good = dir.path().join("good.db");
    ok(&gatehouse(&url, &["backup", good.to_str().unwrap()], None));

    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, b"not a database at all").unwrap();
    let other = dir.path().join("other.db");
    onewriter::rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let cut = dir.path().join("cut.db");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let missing = dir.path().join("missing.db");

    for (backup, why) in [
        (&garbage, "is not a SQLite database"),
        (&other, "is not a gatehouse database"),
        (&cut, "integrity"),
        (&missing, "is not a file"),
    ] {
        let o = gatehouse(&url, &["restore", backup.to_str().unwrap()], None);
        assert!(!o.status.success(), "{backup:?}");
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains(why) || (backup == &cut && e.contains("not a SQLite")),
            "{backup:?}: {e}"
        );
        assert_eq!(usernames(&url), ["ada"], "nothing changed");
    }
    refused(
        &gatehouse(
            "postgres://root@127.0.0.1:5432/test",
            &["restore", good.to_str().unwrap()],
            None,
        ),
        "pg_restore",
    );
}
