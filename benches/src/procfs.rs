//! What the kernel tells about processes and the machine: memory, CPU time, listen-queue
//! overflows, open-file limits, filesystems.

use std::path::Path;

use crate::BenchResult;

/// Resident set size of a process, in KiB (`VmRSS` of `/proc/PID/status`).
pub fn rss_kib(pid: u32) -> BenchResult<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS in {path}"))
}

/// Peak resident set size of a process, in KiB (`VmHWM` of `/proc/PID/status`): the most it
/// has held since it started or since [`reset_peak_rss`].
pub fn peak_rss_kib(pid: u32) -> BenchResult<u64> {
    let path = format!("/proc/{pid}/status");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("cannot read {path}: {e}"))?;
    text.lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmHWM in {path}"))
}

/// Resets a process's peak RSS to its current RSS (writes `5` to `/proc/PID/clear_refs`), so
/// that [`peak_rss_kib`] covers one phase. False when the kernel refuses.
pub fn reset_peak_rss(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
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
    let Some(cpu) = text.lines().find(|l| l.starts_with("cpu ")) else {
        return 0.0;
    };
    let f: Vec<f64> = cpu
        .split_whitespace()
        .skip(1)
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    let field = |i: usize| f.get(i).copied().unwrap_or(0.0);
    // user nice system idle iowait irq softirq steal
    let busy = field(0) + field(1) + field(2) + field(5) + field(6) + field(7);
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    busy / hz.max(1.0)
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

/// `N cores, M MiB RAM`: the machine a bench ran on.
pub fn machine() -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!("{cores} cores, {} MiB RAM", mem_total_mib())
}

/// [`raise_fd_limit`], then an error unless `connections` and 64 more files fit.
pub fn fd_limit_for(connections: usize) -> BenchResult<u64> {
    let limit = raise_fd_limit();
    if (limit as usize) < connections + 64 {
        return Err(format!(
            "open-file limit {limit} is too low for {connections} connections (raise ulimit -n)"
        ));
    }
    Ok(limit)
}

/// Total RAM of the machine, in MiB (`MemTotal` of `/proc/meminfo`).
pub fn mem_total_mib() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map(|kib| kib / 1024)
        .unwrap_or(0)
}

/// The mount a path lives on, from `/proc/self/mounts`.
#[derive(Debug, Clone)]
pub struct Filesystem {
    pub device: String,
    pub mount_point: String,
    pub fs_type: String,
    pub options: String,
}

impl Filesystem {
    /// One line for a report: `/dev/vda on / (ext4, rw,relatime), rotational 0`.
    pub fn describe(&self) -> String {
        let rotational = self
            .device
            .strip_prefix("/dev/")
            .and_then(|name| {
                std::fs::read_to_string(format!("/sys/class/block/{name}/queue/rotational")).ok()
            })
            .map(|v| format!(", rotational {}", v.trim()))
            .unwrap_or_default();
        format!(
            "{} on {} ({}, {}){rotational}",
            self.device, self.mount_point, self.fs_type, self.options
        )
    }
}

/// The filesystem holding `path` (the mount with the longest matching mount point).
pub fn filesystem_of(path: &Path) -> Option<Filesystem> {
    let path = std::fs::canonicalize(path).ok()?;
    let mounts = std::fs::read_to_string("/proc/self/mounts").ok()?;
    mounts
        .lines()
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (f.len() >= 4).then(|| Filesystem {
                device: f[0].into(),
                // Spaces in mount points are escaped as \040.
                mount_point: f[1].replace("\\040", " "),
                fs_type: f[2].into(),
                options: f[3].into(),
            })
        })
        .filter(|fs| path.starts_with(&fs.mount_point))
        .max_by_key(|fs| fs.mount_point.len())
}
