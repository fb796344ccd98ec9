//! The gatehouse binary as a second process.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Runs `gatehouse --database-url DB ARGS…` with `stdin` and waits for it.
pub fn gatehouse(db: &str, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_gatehouse"))
        .arg("--database-url")
        .arg(db)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(s) = stdin {
        input.write_all(s.as_bytes()).unwrap();
    }
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "stdout: {}\nstderr: {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout.clone()).unwrap()
}

/// `user add USERNAME` with the test password and `USERNAME@example.com`.
pub fn add_user(db: &str, username: &str) {
    ok(&gatehouse(
        db,
        &[
            "user",
            "add",
            "--username",
            username,
            "--email",
            &format!("{username}@example.com"),
        ],
        Some(&format!("{}\n", super::PASSWORD)),
    ));
}

/// `client add --client-id ID` (first-party, redirecting to `REDIRECT`) with `extra`
/// arguments; returns the secret it printed once.
pub fn add_client(db: &str, client_id: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "client",
        "add",
        "--client-id",
        client_id,
        "--redirect-uri",
        super::REDIRECT,
        "--first-party",
    ];
    args.extend_from_slice(extra);
    let out = ok(&gatehouse(db, &args, None));
    out.lines()
        .find_map(|l| l.strip_prefix("client secret (shown once, store it now): "))
        .unwrap_or_else(|| panic!("no secret in {out}"))
        .to_owned()
}

pub fn refused(o: &Output, needle: &str) {
    assert!(!o.status.success(), "expected a refusal");
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains(needle), "{e}");
}

/// Kills the server when the test ends, passed or failed.
pub struct Killed(pub std::process::Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `gatehouse serve` as a process of its own on `db_url`, on a port the system picks.
pub struct ServerProcess {
    pub base: String,
    child: Killed,
}

impl ServerProcess {
    pub fn start(db_url: &str) -> ServerProcess {
        ServerProcess::start_with(db_url, &[])
    }

    /// Like `start`, with more `serve` arguments.
    pub fn start_with(db_url: &str, args: &[&str]) -> ServerProcess {
        use std::io::{BufRead, BufReader};
        let mut child = Killed(
            Command::new(env!("CARGO_BIN_EXE_gatehouse"))
                .args(["--database-url", db_url, "serve", "--listen", "127.0.0.1:0"])
                .args(args)
                .env("GATEHOUSE_LOG", "warn")
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .unwrap(),
        );
        let mut lines = BufReader::new(child.0.stdout.take().unwrap()).lines();
        let base = loop {
            let line = lines.next().expect("serve printed its address").unwrap();
            if let Some(rest) = line.strip_prefix("gatehouse listening on ") {
                break rest.split_whitespace().next().unwrap().to_owned();
            }
        };
        // Keep reading, so a full pipe never blocks the server.
        std::thread::spawn(move || for _ in lines.map_while(Result::ok) {});
        ServerProcess { base, child }
    }

    /// SIGKILL: the process dies at once, mid-request, closing nothing.
    pub fn kill(mut self) {
        self.child.0.kill().unwrap();
        self.child.0.wait().unwrap();
    }

    /// Whether the process is still running (it has not crashed or exited).
    pub fn is_running(&mut self) -> bool {
        self.child.0.try_wait().unwrap().is_none()
    }
}
