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
