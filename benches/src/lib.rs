//! Shared pieces of the load generators: child processes that die with the bench, process
//! memory, file-descriptor limits, free ports and percentiles.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A result with a plain message as error: a bench reports and exits, it does not recover.
pub type BenchResult<T> = Result<T, String>;

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

/// Resident set size of a process, in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> BenchResult<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

/// CPU time (user + system) a process has used so far, in seconds (`/proc/PID/stat`).
pub fn cpu_secs(pid: u32) -> BenchResult<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it.
    let rest = text
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or_else(|| format!("odd {path}"))?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let ticks = |i: usize| -> BenchResult<f64> {
        fields
            .get(i - 3)
            .and_then(|v| v.parse::<f64>().ok())
            .ok_or_else(|| format!("odd {path}"))
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Ok((ticks(14)? + ticks(15)?) / hz.max(1.0))
}

/// The kernel's count of connections dropped because a listen queue was full
/// (`TcpExt: ListenOverflows` of `/proc/net/netstat`, system-wide).
pub fn tcp_listen_overflows() -> u64 {
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if names.starts_with("TcpExt:") {
            return names
                .split_whitespace()
                .zip(values.split_whitespace())
                .find(|(n, _)| *n == "ListenOverflows")
                .and_then(|(_, v)| v.parse().ok())
                .unwrap_or(0);
        }
    }
    0
}

/// Lifts this process's soft open-file limit to the hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
        limit.rlim_cur
    }
}

/// A TCP port on 127.0.0.1 that was free a moment ago (for peers that cannot listen on
/// port 0 and tell which port they got).
pub fn free_port() -> BenchResult<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").map_err(|e| format!("cannot bind a probe port: {e}"))?;
    let port = listener
        .local_addr()
        .map_err(|e| format!("probe port: {e}"))?
        .port();
    Ok(port)
}

/// Waits until something accepts TCP connections at `addr`.
pub fn wait_for_port(addr: SocketAddr, within: Duration) -> BenchResult<()> {
    let deadline = Instant::now() + within;
    loop {
        if std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("nothing listens on {addr} after {within:?}"));
        }
        std::thread::sleep(Duration::from_millis(50));
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

/// Summary of a latency sample: nearest-rank percentiles, in milliseconds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Latency {
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
}

impl Latency {
    pub fn of(samples: &[Duration]) -> Latency {
        if samples.is_empty() {
            return Latency::default();
        }
        let mut sorted: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
        sorted.sort_by(|a, b| a.partial_cmp(b).unwrap());
        Latency {
            p50_ms: percentile(&sorted, 0.50),
            p99_ms: percentile(&sorted, 0.99),
            max_ms: *sorted.last().unwrap(),
        }
    }
}

/// Nearest-rank percentile of sorted values (`q` in 0..=1).
pub fn percentile(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted[rank.min(sorted.len()) - 1]
}

/// `a / b`, or NaN when `b` is 0.
pub fn ratio(a: f64, b: f64) -> f64 {
    if b == 0.0 {
        f64::NAN
    } else {
        a / b
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), 50.0);
        assert_eq!(percentile(&v, 0.99), 99.0);
        assert_eq!(percentile(&v, 1.0), 100.0);
        assert_eq!(percentile(&[7.0], 0.99), 7.0);
    }
}
