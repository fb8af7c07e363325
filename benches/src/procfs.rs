//! What the kernel tells about processes and the machine: memory, CPU time, listen-queue
//! overflows, open-file limits, filesystems.

use std::path::Path;

use crate::BenchResult;

/// A `key: N kB` line of `/proc/PID/status`, in KiB.
fn status_kib(pid: u32, key: &str) -> BenchResult<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    let line = text.lines().find_map(|line| line.strip_prefix(key));
    kib(line).ok_or_else(|| format!("no {key} in {path}"))
}

/// `: N kB` as N.
fn kib(value: Option<&str>) -> Option<u64> {
    let value = value?.trim_start_matches(':').trim();
    value.trim_end_matches("kB").trim().parse().ok()
}

/// Resident set size of a process, in KiB (`VmRSS`).
pub fn rss_kib(pid: u32) -> BenchResult<u64> {
    status_kib(pid, "VmRSS")
}

/// Peak resident set size of a process, in KiB (`VmHWM`): since it started or since
/// [`reset_peak_rss`].
pub fn peak_rss_kib(pid: u32) -> BenchResult<u64> {
    status_kib(pid, "VmHWM")
}

/// Resets a process's peak RSS to its current RSS (writes `5` to `/proc/PID/clear_refs`).
/// False when the kernel refuses.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    (unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64).max(1.0)
}

/// CPU time (user + system) a process has used so far, in seconds (`/proc/PID/stat`).
pub fn cpu_secs(pid: u32) -> BenchResult<f64> {
    let path = format!("/proc/{pid}/stat");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // The command name (field 2) is in parentheses and may hold spaces: split after it. The
    // rest starts at field 3 (state); utime and stime are fields 14 and 15.
    let rest = text.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let mut fields = rest.split_whitespace().skip(11).map(str::parse::<f64>);
    match (fields.next(), fields.next()) {
        (Some(Ok(utime)), Some(Ok(stime))) => Ok((utime + stime) / ticks_per_sec()),
        _ => Err(format!("odd {path}")),
    }
}

/// The CPU time processes use from a start on (see [`cpu_secs`]).
pub struct CpuSince<const N: usize> {
    pids: [u32; N],
    start: [f64; N],
}

impl<const N: usize> CpuSince<N> {
    pub fn start(pids: [u32; N]) -> BenchResult<Self> {
        let mut start = [0.0; N];
        for (s, &pid) in start.iter_mut().zip(&pids) {
            *s = cpu_secs(pid)?;
        }
        Ok(CpuSince { pids, start })
    }

    /// Seconds of each process since the start.
    pub fn used(&self) -> BenchResult<[f64; N]> {
        let mut used = [0.0; N];
        for ((u, &pid), s) in used.iter_mut().zip(&self.pids).zip(self.start) {
            *u = cpu_secs(pid)? - s;
        }
        Ok(used)
    }
}

/// CPU time the whole machine has spent busy so far (all cores, all processes), in seconds:
/// user + nice + system + irq + softirq + steal of `/proc/stat`. Minus the CPU time of the
/// processes under test, this shows how much else ran during a measurement.
pub fn machine_busy_secs() -> f64 {
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let cpu = text
        .lines()
        .find_map(|l| l.strip_prefix("cpu "))
        .unwrap_or_default();
    let f: Vec<&str> = cpu.split_whitespace().collect();
    // user nice system idle iowait irq softirq steal
    let busy = [0, 1, 2, 5, 6, 7].map(|i| f.get(i).and_then(|v| v.parse().ok()).unwrap_or(0.0));
    busy.iter().sum::<f64>() / ticks_per_sec()
}

/// The kernel's count of connections dropped because a listen queue was full
/// (`TcpExt: ListenOverflows` of `/proc/net/netstat`, system-wide).
pub fn tcp_listen_overflows() -> u64 {
    let text = std::fs::read_to_string("/proc/net/netstat").unwrap_or_default();
    let mut lines = text.lines();
    while let (Some(names), Some(values)) = (lines.next(), lines.next()) {
        if names.starts_with("TcpExt:") {
            let mut pairs = names.split_whitespace().zip(values.split_whitespace());
            let overflows = pairs.find(|(n, _)| *n == "ListenOverflows");
            return overflows.and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
        }
    }
    0
}

/// Lifts this process's soft open-file limit to the hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    let (rlim_cur, rlim_max) = (0, 0);
    let mut limit = libc::rlimit { rlim_cur, rlim_max };
    // SAFETY: getrlimit/setrlimit on a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
            libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
        }
    }
    limit.rlim_cur
}

/// [`raise_fd_limit`], then an error unless `connections` and 64 more files fit.
pub fn fd_limit_for(connections: usize) -> BenchResult<u64> {
    match raise_fd_limit() {
        limit if limit as usize >= connections + 64 => Ok(limit),
        limit => Err(format!(
            "open-file limit {limit} is too low for {connections} connections (raise ulimit -n)"
        )),
    }
}

/// Total RAM of the machine, in MiB (`MemTotal` of `/proc/meminfo`).
pub fn mem_total_mib() -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    kib(text.lines().find_map(|l| l.strip_prefix("MemTotal"))).unwrap_or(0) / 1024
}

/// `N cores, M MiB RAM`: the machine a bench ran on.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {} MiB RAM", mem_total_mib())
}

/// The filesystem holding `path` (the mount with the longest matching mount point of
/// `/proc/self/mounts`): `/dev/vda on / (ext4, rw,relatime), rotational 0`.
pub fn filesystem_of(path: &Path) -> Option<String> {
    let path = std::fs::canonicalize(path).ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    let mounts = mounts
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>());
    // Spaces in mount points are escaped as \040.
    let on_path = |f: &Vec<&str>| f.len() > 3 && path.starts_with(f[1].replace("\\040", " "));
    let f = mounts.filter(on_path).max_by_key(|f| f[1].len())?;
    let name = f[0].strip_prefix("/dev/").unwrap_or_default();
    let rotational = std::fs::read_to_string(format!("/sys/class/block/{name}/queue/rotational"));
    let rotational = rotational.map_or(String::new(), |v| format!(", rotational {}", v.trim()));
    Some(format!(
        "{} on {} ({}, {}){rotational}",
        f[0], f[1], f[2], f[3]
    ))
}

/// CPU seconds (user + system) the calling thread has used (`RUSAGE_THREAD`).
pub fn thread_cpu_secs() -> f64 {
    // SAFETY: getrusage writes into `usage`, which lives for the call.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}
