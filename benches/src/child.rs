//! Child processes (servers under test, peers) that die with the bench, and scratch
//! directories.

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::BenchResult;

/// A child process that is stopped when this value is dropped: at the end of a run, on an
/// error return and while unwinding from a panic. If the bench itself is killed, the kernel
/// sends the child SIGKILL (`PR_SET_PDEATHSIG`).
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
        let name = name.into();
        Ok(ChildGuard {
            name,
            child: Some(child),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    pub fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("child present until stopped")
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        let child = self.child.as_mut();
        child.is_some_and(|child| matches!(child.try_wait(), Ok(None)))
    }

    /// SIGTERM, then SIGKILL if it has not exited within `grace`. Returns how it ended.
    pub fn stop(&mut self, grace: Duration) -> String {
        let Some(mut child) = self.child.take() else {
            return "already stopped".into();
        };
        let name = &self.name;
        if let Ok(Some(status)) = child.try_wait() {
            return format!("{name} had already exited ({status})");
        }
        // SAFETY: plain kill(2) on our own child's pid, which we have not reaped yet.
        unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGTERM) };
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = child.try_wait() {
                return format!("{name} stopped ({status})");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        format!("{name} killed after {grace:?} without exiting on SIGTERM")
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
    /// A new directory under the system's temporary directory.
    pub fn new(label: &str) -> BenchResult<TempDir> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("crvideo-bench-{label}-{}-{n}", std::process::id());
        TempDir::at(std::env::temp_dir().join(name))
    }

    /// `path`, created with its parents.
    pub fn at(path: PathBuf) -> BenchResult<TempDir> {
        let created = std::fs::create_dir_all(&path);
        created.map_err(|e| format!("cannot create {}: {e}", path.display()))?;
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
/// line. A background thread drains the rest, so the child never blocks on a full pipe.
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
    let wanted = prefix.to_owned();
    std::thread::spawn(move || {
        let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
        let found = lines.find_map(|line| Some(line.strip_prefix(&wanted)?.trim_end().to_owned()));
        let _ = tx.send(found);
        lines.for_each(drop);
    });
    let found = rx.recv_timeout(within).ok().flatten();
    found.ok_or_else(|| format!("no line starting with {prefix:?} on stdout within {within:?}"))
}

/// Where a command writes its stderr: a file in `dir` (kept for the run's diagnosis).
pub fn stderr_file(dir: &Path, name: &str) -> BenchResult<Stdio> {
    let path = dir.join(name);
    let file = std::fs::File::create(&path);
    Ok(file
        .map_err(|e| format!("cannot create {}: {e}", path.display()))?
        .into())
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
    match Handle::try_current().map(|h| h.runtime_flavor()) {
        Ok(RuntimeFlavor::MultiThread) => tokio::task::block_in_place(f),
        _ => f(),
    }
}
