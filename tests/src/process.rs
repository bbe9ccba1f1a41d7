//! Child processes as the client tests run them: C compilers, clients, cargo, binutils. Each
//! runs to completion or is killed after [`RUN_TIMEOUT`]; a failure panics with the command and
//! everything it printed, which is what a test wants to show.
// Test support: a failing command must fail the test that ran it, with its output.
#![allow(clippy::expect_used, clippy::panic, clippy::unwrap_used)]

use std::io::Read;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a child may run before it is taken for hung.
pub const RUN_TIMEOUT: Duration = Duration::from_secs(600);

/// A required system tool; a clear failure when it is not installed.
pub fn require_tool(name: &str, version_arg: &str, package: &str) {
    let ok = Command::new(name)
        .arg(version_arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        ok,
        "`{name}` is not installed or does not run: install {package} (scripts/test.sh installs \
         it on Debian/Ubuntu with apt-get)"
    );
}

/// Run a command to completion (killed after [`RUN_TIMEOUT`]), with its output.
pub fn run(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut out = child.stdout.take().expect("piped stdout");
    let mut err = child.stderr.take().expect("piped stderr");
    let t_out = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = out.read_to_end(&mut v);
        v
    });
    let t_err = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = err.read_to_end(&mut v);
        v
    });
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait for the child") {
            break s;
        }
        if start.elapsed() > RUN_TIMEOUT {
            let _ = child.kill();
            let s = child.wait().expect("wait for the killed child");
            let stdout = String::from_utf8_lossy(&t_out.join().unwrap_or_default()).into_owned();
            panic!(
                "{what} ran longer than {RUN_TIMEOUT:?} ({s}) and was killed (a deadlock?); \
                 its output so far:\n{stdout}"
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: t_out.join().unwrap_or_default(),
        stderr: t_err.join().unwrap_or_default(),
    }
}

/// Run and require success; the output on failure.
pub fn run_ok(cmd: &mut Command) -> Output {
    let what = format!("{cmd:?}");
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{what} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The first line of `stdout` that starts with `prefix` (a client's summary line).
pub fn summary_line<'a>(stdout: &'a str, prefix: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no summary line `{prefix} …` in:\n{stdout}"))
}
