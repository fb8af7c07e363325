//! Child processes (servers under test, peers) that die with the bench, and scratch
//! directories.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchResult;

/// A child process (server under test or peer) that is stopped when this value is dropped:
/// at the end of a run, on an error return and while unwinding from a panic. If the bench
/// itself is killed, the kernel sends the child SIGKILL (`PR_SET_PDEATHSIG`).
pub struct ChildGuard {
    name: String,
    child: Option<Child>,
}

impl ChildGuard {
    /// Starts `command` with the parent-death signal set.
    pub fn spawn(name: &str, mut command: Command) -> BenchResult<ChildGuard> {
        // SAFETY: prctl is async-signal-safe and touches nothing of the parent's state.
        unsafe {
            command.pre_exec(|| {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        Ok(ChildGuard {
            name: name.into(),
            child: Some(child),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map(|c| c.id()).unwrap_or(0)
    }

    pub fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("child present until stopped")
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(child) => matches!(child.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Returns how it ended.
    pub fn stop(&mut self, grace: Duration) -> String {
        let Some(mut child) = self.child.take() else {
            return "already stopped".into();
        };
        if let Ok(Some(status)) = child.try_wait() {
            return format!("{} had already exited ({status})", self.name);
        }
        // SAFETY: plain kill(2) on our own child's pid, which we have not reaped yet.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return format!("{} stopped ({status})", self.name);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        format!(
            "{} killed after {grace:?} without exiting on SIGTERM",
            self.name
        )
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A scratch directory removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(label: &str) -> BenchResult<TempDir> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path =
            std::env::temp_dir().join(format!("crvideo-bench-{label}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&path)
            .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
        Ok(TempDir(path))
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Reads the child's stdout until a line starting with `prefix`; returns the rest of that
/// line. The remaining output is drained by a background thread so the child never blocks
/// on a full pipe.
pub fn await_stdout_line(
    guard: &mut ChildGuard,
    prefix: &str,
    within: Duration,
) -> BenchResult<String> {
    let stdout = guard
        .child_mut()
        .stdout
        .take()
        .ok_or("child stdout is not piped")?;
    let (tx, rx) = std::sync::mpsc::channel();
    let prefix_owned = prefix.to_owned();
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stdout);
        let mut line = String::new();
        let mut sent = false;
        loop {
            line.clear();
            match reader.read_line(&mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if !sent {
                        if let Some(rest) = line.trim_end().strip_prefix(&prefix_owned) {
                            let _ = tx.send(rest.to_owned());
                            sent = true;
                        }
                    }
                }
            }
        }
    });
    rx.recv_timeout(within)
        .map_err(|_| format!("no line starting with {prefix:?} on stdout within {within:?}"))
}

/// Where a command writes its stderr: a file in `dir` (kept for the run's diagnosis).
pub fn stderr_file(dir: &Path, name: &str) -> BenchResult<Stdio> {
    let path = dir.join(name);
    let file = std::fs::File::create(&path)
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?;
    Ok(Stdio::from(file))
}

/// The last `lines` lines of a text file (a child's log, for an error message).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Stops a child, from async code (the wait blocks this worker, not the runtime) or not.
pub fn stop_child(child: &mut ChildGuard) -> String {
    blocking(|| child.stop(Duration::from_secs(15)))
}

/// Runs blocking `f`: on a worker of a multi-thread runtime without stalling the runtime's
/// other tasks, elsewhere as it is.
pub fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}
