//! Other users in other processes: `tests/c/peer.c`, a C program driving its own SDK
//! instance from commands on stdin and printing every callback on stdout.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use super::PATIENCE;

/// Init parameter for peers whose process a test kills or freezes: without resuming, a
/// dead connection ends the session at once (offline, out of rooms and calls). With the
/// default (resuming within 30 s) it would stay online for that long (see tests/resume.rs).
pub const NO_RESUME: &str = r#""resumeWindowMs":0"#;

/// Compiles `tests/c/<name>.c` (once per test binary) with `-Wall -Wextra -Werror` against
/// the generated header and the cdylib of this build.
pub fn build_c_program(name: &str) -> PathBuf {
    static BUILT: OnceLock<Mutex<std::collections::HashMap<String, PathBuf>>> = OnceLock::new();
    let built = BUILT.get_or_init(Default::default);
    let mut built = built.lock();
    if let Some(path) = built.get(name) {
        return path.clone();
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // `cargo test` leaves the cdylib in deps/, beside this test executable.
    let lib_dir = super::checked::lib_dir();
    assert!(
        lib_dir.join("libcrvideosdk.so").exists(),
        "libcrvideosdk.so not built in {}",
        lib_dir.display()
    );
    let out_dir = std::env::temp_dir().join(format!("crvideo-c-{}", std::process::id()));
    std::fs::create_dir_all(&out_dir).unwrap();
    let exe = out_dir.join(name);
    let output = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg(root.join(format!("tests/c/{name}.c")))
        .arg("-I")
        .arg(root.join("include"))
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lcrvideosdk", "-lpthread", "-lm", "-o"])
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        output.status.success(),
        "compiling {name}.c failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    built.insert(name.to_string(), exe.clone());
    exe
}

struct Lines {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

/// One peer process.
pub struct Peer {
    pub name: String,
    child: Child,
    stdin: ChildStdin,
    out: Arc<Lines>,
    /// How many "RC" lines the commands so far consumed.
    answered: usize,
}

impl Peer {
    /// Starts a peer and initialises its SDK with `params` (JSON).
    pub fn start(name: &str, params: &str) -> Peer {
        Peer::start_with_env(name, params, &[])
    }

    /// As [`Peer::start`], with more environment variables for the process.
    pub fn start_with_env(name: &str, params: &str, env: &[(&str, &str)]) -> Peer {
        // `cargo test` puts target/debug before deps/ in LD_LIBRARY_PATH, which beats the
        // rpath: a library left there by an earlier `cargo build` would be loaded instead of
        // this build's.
        let mut child = Command::new(build_c_program("peer"))
            .env_remove("LD_LIBRARY_PATH")
            .envs(env.iter().copied())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start peer");
        let stdin = child.stdin.take().unwrap();
        let stdout = child.stdout.take().unwrap();
        let out = Arc::new(Lines {
            lines: Mutex::new(Vec::new()),
            changed: Condvar::new(),
        });
        let sink = out.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lines.lock().push(line);
                sink.changed.notify_all();
            }
        });
        let mut peer = Peer {
            name: name.to_string(),
            child,
            stdin,
            out,
            answered: 0,
        };
        assert_eq!(peer.cmd(&["init", params]), 0, "{name}: init");
        peer
    }

    /// Starts a peer pointed at `addr` and logs `user` into `tenant`; waits for LoginSuccess.
    pub fn login(
        name: &str,
        addr: impl std::fmt::Display,
        tenant: &str,
        password: &str,
        user: &str,
    ) -> Peer {
        Peer::login_with(name, addr, "", tenant, password, user)
    }

    /// As [`Peer::login`], with more Init parameters (`extra`: JSON members, e.g.
    /// `"tmpDir":"/x"`).
    pub fn login_with(
        name: &str,
        addr: impl std::fmt::Display,
        extra: &str,
        tenant: &str,
        password: &str,
        user: &str,
    ) -> Peer {
        Peer::login_with_env(name, addr, extra, &[], tenant, password, user)
    }

    /// As [`Peer::login_with`], with more environment variables for the process.
    pub fn login_with_env(
        name: &str,
        addr: impl std::fmt::Display,
        extra: &str,
        env: &[(&str, &str)],
        tenant: &str,
        password: &str,
        user: &str,
    ) -> Peer {
        let sep = if extra.is_empty() { "" } else { "," };
        let params = format!(r#"{{"serverAddr":"{addr}","timeoutMs":10000{sep}{extra}}}"#);
        let mut peer = Peer::start_with_env(name, &params, env);
        assert_eq!(
            peer.cmd(&["login", tenant, password, user, user, "login"]),
            0
        );
        peer.wait_line(|l| l.starts_with("LoginSuccess\t") || l.starts_with("LoginFail\t"));
        assert!(
            peer.lines()
                .iter()
                .any(|l| l == &format!("LoginSuccess\t{user}\tlogin")),
            "{name}: login failed: {:?}",
            peer.lines()
        );
        peer
    }

    /// Runs one command; returns its return value.
    pub fn cmd(&mut self, fields: &[&str]) -> i32 {
        self.cmd_text(fields).parse().unwrap()
    }

    /// Runs one command; returns what it printed after "RC" (an ID for call / invite).
    pub fn cmd_text(&mut self, fields: &[&str]) -> String {
        writeln!(self.stdin, "{}", fields.join("\t")).expect("peer stdin");
        self.stdin.flush().unwrap();
        self.answered += 1;
        let wanted = self.answered;
        let rc = self.wait_nth(|l| l.starts_with("RC\t"), wanted);
        rc["RC\t".len()..].to_string()
    }

    /// Waits for exactly this line.
    pub fn expect(&self, line: &str) {
        self.wait_line(|l| l == line);
    }

    /// How many lines are exactly `line`.
    pub fn count(&self, line: &str) -> usize {
        self.lines().iter().filter(|l| *l == line).count()
    }

    /// How many lines start with `prefix`.
    #[allow(dead_code)] // not every test file counts
    pub fn count_prefix(&self, prefix: &str) -> usize {
        self.lines()
            .iter()
            .filter(|l| l.starts_with(prefix))
            .count()
    }

    pub fn lines(&self) -> Vec<String> {
        self.out.lines.lock().clone()
    }

    /// The tab-separated fields after `prefix` (which ends with a tab) of the newest line
    /// starting with it, e.g. what a command printed before its result.
    pub fn last_fields(&self, prefix: &str) -> Vec<String> {
        let lines = self.out.lines.lock();
        let line = lines.iter().rev().find(|l| l.starts_with(prefix));
        let line = line.unwrap_or_else(|| panic!("no line starting with {prefix:?}"));
        line[prefix.len()..]
            .split('\t')
            .map(str::to_owned)
            .collect()
    }

    /// Callback lines (everything but command results).
    pub fn callbacks(&self) -> Vec<String> {
        self.lines()
            .into_iter()
            .filter(|l| !l.starts_with("RC\t"))
            .collect()
    }

    /// Waits for the first line matching `pred`.
    pub fn wait_line(&self, pred: impl Fn(&str) -> bool) -> String {
        self.wait_nth(pred, 1)
    }

    /// Waits until `n` lines match `pred`; returns the n-th.
    pub fn wait_nth(&self, pred: impl Fn(&str) -> bool, n: usize) -> String {
        self.wait_nth_within(PATIENCE, pred, n)
    }

    /// As [`Peer::wait_nth`] with a patience of its own (for deliberately long runs).
    pub fn wait_nth_within(
        &self,
        patience: Duration,
        pred: impl Fn(&str) -> bool,
        n: usize,
    ) -> String {
        let deadline = Instant::now() + patience;
        let mut lines = self.out.lines.lock();
        loop {
            if let Some(line) = lines.iter().filter(|l| pred(l)).nth(n - 1) {
                return line.clone();
            }
            if self
                .out
                .changed
                .wait_until(&mut lines, deadline)
                .timed_out()
            {
                let tail: Vec<&String> = lines.iter().rev().take(20).rev().collect();
                panic!(
                    "{}: no line #{n} matched within {patience:?}; {} lines, the last ones: {tail:?}",
                    self.name,
                    lines.len()
                );
            }
        }
    }

    /// Asserts that no line matching `pred` appears within `quiet`.
    pub fn assert_no_line_within(&self, quiet: Duration, pred: impl Fn(&str) -> bool) {
        let deadline = Instant::now() + quiet;
        let mut lines = self.out.lines.lock();
        loop {
            if let Some(line) = lines.iter().find(|l| pred(l)) {
                panic!("{}: unexpected line {line:?}", self.name);
            }
            if self
                .out
                .changed
                .wait_until(&mut lines, deadline)
                .timed_out()
            {
                return;
            }
        }
    }

    /// Waits for the (killed) peer process to end, so that it is gone, not a zombie.
    /// Creates a meeting (with a password when `with_password`): its (ID, password).
    pub fn create_meeting(&mut self, with_password: bool) -> (String, String) {
        let pswd = if with_password { "1" } else { "0" };
        assert_eq!(self.cmd(&["create_meeting", "room", pswd, "m"]), 0);
        let line = self.wait_line(|l| l.starts_with("CreateMeetingSuccess\t"));
        let m: serde_json::Value = serde_json::from_str(line.split('\t').nth(1).unwrap()).unwrap();
        (m["ID"].to_string(), m["pswd"].as_str().unwrap().to_string())
    }

    /// Enters meeting `id`: the code of its (next) `EnterMeetingRslt`.
    pub fn enter_meeting(&mut self, id: &str, pswd: &str) -> i32 {
        let is_result = |l: &str| l.starts_with("EnterMeetingRslt\t");
        let seen = self.lines().iter().filter(|l| is_result(l)).count();
        assert_eq!(self.cmd(&["enter", id, pswd]), 0);
        let line = self.wait_nth(is_result, seen + 1);
        line["EnterMeetingRslt\t".len()..].parse().unwrap()
    }

    pub fn wait_exit(&mut self) {
        let _ = self.child.wait();
    }

    /// The peer process's ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends a signal to the peer process (`KILL`, `STOP`, `CONT`).
    pub fn signal(&self, signal: &str) {
        super::server_process::send_signal(self.child.id(), signal);
    }
}

impl Drop for Peer {
    fn drop(&mut self) {
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// FNV-1a-64 of `data`: how the peer prints received data (tests/c/recorder.h).
pub fn fnv1a(data: &[u8]) -> u64 {
    data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// The line a peer prints for a data callback (`NotifyCmdData`, `NotifyBufferData`) from
/// `source` carrying `data`.
pub fn data_line(member: &str, source: &str, data: &[u8]) -> String {
    format!("{member}\t{source}\t{}\t{:016x}", data.len(), fnv1a(data))
}
