//! The `crvideo-server` command line.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_crvideo-server");
const PATIENCE: Duration = Duration::from_secs(20);

struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("crvideo-cli-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn file(&self, name: &str, text: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs the server to completion (it must exit by itself) and returns (code, stdout, stderr).
fn run_to_exit(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().expect("exited by a signal"),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

/// Waits for the child to exit, killing it after [`PATIENCE`].
fn wait_exit(child: &mut Child) -> i32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status.code().expect("exited by a signal");
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("server did not exit");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Starts the server and returns it with the first stdout line.
fn start_server(args: &[&str]) -> (Child, String) {
    // Runs in cargo's scratch directory, so the default ./crvideo-data lands there.
    let mut child = Command::new(BIN)
        .args(args)
        .current_dir(env!("CARGO_TARGET_TMPDIR"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    match rx.recv_timeout(PATIENCE) {
        Ok(line) => (child, line),
        Err(_) => {
            let _ = child.kill();
            panic!("no line on stdout");
        }
    }
}

/// Starts the server with a config file, on a free port, with `data_dir`.
fn start_with_config(config: &std::path::Path, data_dir: &std::path::Path) -> (Child, String) {
    start_server(&[
        "--config",
        config.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
        "--data-dir",
        data_dir.to_str().unwrap(),
    ])
}

/// `kill -SIG PID`, without running `kill`, which minimal systems lack (procps).
fn signal(child: &Child, sig: &str) {
    let signal = match sig {
        "TERM" => libc::SIGTERM,
        "INT" => libc::SIGINT,
        "HUP" => libc::SIGHUP,
        "KILL" => libc::SIGKILL,
        _ => panic!("unknown signal {sig}"),
    };
    let pid = libc::pid_t::try_from(child.id()).unwrap();
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill -{sig} {pid}: {}",
        std::io::Error::last_os_error()
    );
}

fn assert_one_config_error(stderr: &str, path: &str, problem: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "expected one stderr line, got: {stderr:?}");
    assert!(
        lines[0].starts_with(&format!("crvideo-server: config {path}: ")),
        "{stderr:?}"
    );
    assert!(lines[0].contains(problem), "{stderr:?} lacks {problem:?}");
}

#[test]
fn bad_configs_exit_2_with_one_line_naming_the_file() {
    let dir = TempDir::new("bad");
    let cases = [
        ("toml.toml", "listen = \n", "line 1"),
        ("dup.toml", "[[tenants]]\naccount = \"acme\"\npassword = \"a\"\n[[tenants]]\naccount = \"acme\"\npassword = \"b\"\n", "duplicate tenant \"acme\""),
        ("listen.toml", "listen = \"nowhere\"\n", "listen"),
        ("neither.toml", "[[tenants]]\naccount = \"acme\"\n", "missing password"),
        ("unknown.toml", "[[tenants]]\naccount = \"a\"\npassword = \"x\"\nfoo = 1\n", "unknown field `foo`"),
        ("hash.toml", "[[tenants]]\naccount = \"a\"\npassword_hash = \"plain\"\n", "bad password_hash"),
        ("workers.toml", "worker_threads = 100000\n", "worker_threads must be at most 1024"),
    ];
    for (name, text, problem) in cases {
        let path = dir.file(name, text);
        let path = path.to_str().unwrap();
        let (code, stdout, stderr) = run_to_exit(&["--config", path, "--listen", "127.0.0.1:0"]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert!(stdout.is_empty(), "{name}: started anyway: {stdout}");
        assert_one_config_error(&stderr, path, problem);
    }
    let missing = dir.0.join("missing.toml");
    let missing = missing.to_str().unwrap();
    let (code, _, stderr) = run_to_exit(&["--config", missing]);
    assert_eq!(code, 2);
    assert_one_config_error(&stderr, missing, "cannot read");
}

#[test]
fn bad_listen_flag_exits_2() {
    let (code, stdout, stderr) = run_to_exit(&["--listen", "not-an-address"]);
    assert_eq!(code, 2);
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains("--listen"), "{stderr}");
}

#[test]
fn bind_failure_exits_1() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let (code, stdout, stderr) = run_to_exit(&["--listen", &addr]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(stderr.contains(&addr), "{stderr}");
}

#[test]
fn prints_the_real_port_and_exits_0_on_sigterm() {
    let (mut child, line) = start_server(&["--listen", "127.0.0.1:0"]);
    let port: u16 = line
        .trim_end()
        .strip_prefix("listening on 127.0.0.1:")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    // It really accepts connections there.
    std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    signal(&child, "TERM");
    assert_eq!(wait_exit(&mut child), 0);
}

#[test]
fn config_file_listen_is_used_and_flags_override_it() {
    let dir = TempDir::new("listen");
    let path = dir.file("c.toml", "listen = \"127.0.0.1:1\"\ndata_dir = \"d\"\n\n[[tenants]]\naccount = \"a\"\npassword = \"x\"\n");
    let (mut child, line) = start_with_config(&path, &dir.0);
    assert!(line.starts_with("listening on 127.0.0.1:"), "{line}");
    assert!(!line.trim_end().ends_with(":1"), "{line}");
    signal(&child, "INT");
    assert_eq!(wait_exit(&mut child), 0);
}

#[test]
fn hash_password_output_verifies() {
    let mut child = Command::new(BIN)
        .arg("hash-password")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"correct horse\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    let hash = stdout.trim_end();
    assert_eq!(stdout.lines().count(), 1);
    assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
    assert!(crvideo_server::auth::verify_password(hash, "correct horse"));
    assert!(!crvideo_server::auth::verify_password(
        hash,
        "correct horse\n"
    ));
    // And the config accepts it.
    let text = format!("[[tenants]]\naccount = \"a\"\npassword_hash = \"{hash}\"\n");
    let config = crvideo_server::Config::from_toml_str(&text, "t").unwrap();
    assert!(config.tenants[0].verify_password("correct horse"));
}

/// The server's runtime threads (named `crvideo-worker`) right after it started.
#[cfg(target_os = "linux")]
/// The threads named crvideo-worker, once as many as `expected` are named or a few seconds
/// passed: a new thread names itself when it starts, which may be after the server said it
/// was listening.
fn worker_threads_of(child: &Child, expected: usize) -> usize {
    let count = || {
        std::fs::read_dir(format!("/proc/{}/task", child.id()))
            .unwrap()
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|comm| comm.trim_end() == "crvideo-worker")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let n = count();
        if n >= expected || Instant::now() > deadline {
            return n;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[cfg(target_os = "linux")]
#[test]
fn worker_threads_sets_how_many_threads_run_sessions() {
    let dir = TempDir::new("workers");
    for workers in [1, 3] {
        let path = dir.file(
            "w.toml",
            &format!(
                "worker_threads = {workers}\n[[tenants]]\naccount = \"a\"\npassword = \"x\"\n"
            ),
        );
        let (mut child, line) = start_with_config(&path, &dir.0);
        assert!(line.starts_with("listening on "), "{line}");
        assert_eq!(
            worker_threads_of(&child, workers),
            workers,
            "worker_threads = {workers}"
        );
        signal(&child, "TERM");
        assert_eq!(wait_exit(&mut child), 0);
    }
    // 0 (the default): one per CPU.
    let (mut child, _) = start_server(&["--listen", "127.0.0.1:0"]);
    let cpus = std::thread::available_parallelism().unwrap().get();
    assert_eq!(worker_threads_of(&child, cpus), cpus);
    signal(&child, "TERM");
    assert_eq!(wait_exit(&mut child), 0);
}
