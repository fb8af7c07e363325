//! The real `crvideo-server` binary as a child process, for tests that kill or freeze it.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// Where cargo put the workspace's binaries: the directory above this test executable's.
pub fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent()
        .and_then(|deps| deps.parent())
        .unwrap()
        .to_path_buf()
}

pub fn server_binary() -> PathBuf {
    let path = target_dir().join(format!("crvideo-server{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test --workspace` so the server is built",
        path.display()
    );
    path
}

pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    _config_dir: TempDir,
}

impl ServerProcess {
    /// Starts the server with a config file holding `config_toml` (plus `listen` on port 0)
    /// and waits for its `listening on` line.
    pub fn start(config_toml: &str) -> ServerProcess {
        let dir = TempDir::new("server");
        let config = dir.path.join("server.toml");
        std::fs::write(&config, format!("listen = \"127.0.0.1:0\"\n{config_toml}")).unwrap();
        let (child, addr) = launch(&dir);
        ServerProcess {
            child,
            addr,
            _config_dir: dir,
        }
    }

    /// Stops the server with `signal` (e.g. `KILL`, `TERM`), waits for it to exit, and starts
    /// it again on the same config and data directory (on a new port).
    pub fn restart(&mut self, signal: &str) {
        self.signal(signal);
        self.child.wait().unwrap();
        let (child, addr) = launch(&self._config_dir);
        self.child = child;
        self.addr = addr;
    }

    pub fn signal(&self, signal: &str) {
        send_signal(self.child.id(), signal);
    }

    /// The server's `--data-dir`.
    #[allow(dead_code)] // not every test file looks inside it
    pub fn data_dir(&self) -> PathBuf {
        self._config_dir.path.join("data")
    }
}

/// Sends the signal named `name` (`KILL`, `STOP`, `CONT`, `TERM`, `INT`, `HUP`) to `pid`, as
/// `kill -NAME PID` would; without running `kill`, which minimal systems lack (procps).
pub fn send_signal(pid: u32, name: &str) {
    let signal = match name {
        "KILL" => libc::SIGKILL,
        "STOP" => libc::SIGSTOP,
        "CONT" => libc::SIGCONT,
        "TERM" => libc::SIGTERM,
        "INT" => libc::SIGINT,
        "HUP" => libc::SIGHUP,
        _ => panic!("unknown signal {name}"),
    };
    let pid = libc::pid_t::try_from(pid).unwrap();
    // SAFETY: kill(2) takes plain integers and touches no memory of ours.
    let rc = unsafe { libc::kill(pid, signal) };
    assert_eq!(
        rc,
        0,
        "kill -{name} {pid}: {}",
        std::io::Error::last_os_error()
    );
}

fn launch(dir: &TempDir) -> (Child, SocketAddr) {
    let mut child = Command::new(server_binary())
        .arg("--config")
        .arg(dir.path.join("server.toml"))
        .arg("--data-dir")
        .arg(dir.path.join("data"))
        .env(
            "RUST_LOG",
            std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
        )
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start crvideo-server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .parse()
        .unwrap();
    (child, addr)
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        // A frozen server must be woken to die.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) takes plain integers and touches no memory of ours.
            unsafe { libc::kill(pid, libc::SIGCONT) };
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A directory removed on drop.
pub struct TempDir {
    pub path: PathBuf,
}

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let path = std::env::temp_dir().join(format!(
            "crvideo-test-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&path).unwrap();
        TempDir { path }
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
