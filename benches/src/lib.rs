//! Shared pieces of the load generators: child processes that die with the bench, process
//! memory, file-descriptor limits, free ports, percentiles, the filesystem under a path, and
//! minimal clients of crvideo-server (WebSocket + `crvideo-proto`) and of nats-server (its
//! text protocol), each owned by one task.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crvideo_proto::{
    decode, encode, ClientFrame, Event, LoginOk, LoginRequest, Reply, Request, ServerFrame,
    PROTOCOL_VERSION, WS_PATH,
};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// A result with a plain message as error: a bench reports and exits, it does not recover.
pub type BenchResult<T> = Result<T, String>;

/// Runs a load generator's `run` on a 2-worker runtime (the client shares the machine with
/// the server), stopping at Ctrl-C; the runtime's tasks (every connection) are dropped
/// before the process exits, which is 1 on error, the error printed as `name: error`.
pub fn run_load_generator<F>(name: &str, run: F)
where
    F: std::future::Future<Output = BenchResult<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let outcome = runtime.block_on(async {
        tokio::select! {
            r = run => r,
            _ = tokio::signal::ctrl_c() => Err("interrupted".to_string()),
        }
    });
    runtime.shutdown_timeout(Duration::from_secs(2));
    if let Err(e) = outcome {
        eprintln!("{name}: {e}");
        std::process::exit(1);
    }
}

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

/// The last `lines` lines of a text file (a child's log, for an error message).
pub fn log_tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Stops a child from async code (the wait blocks this worker, not the runtime).
pub fn stop_child(child: &mut ChildGuard) -> String {
    tokio::task::block_in_place(|| child.stop(Duration::from_secs(15)))
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

/// The `[limits]` of a load generator's server: rates, connections not logged in yet per
/// address, commands in flight and meetings beyond what one real client may use.
pub const BENCH_LIMITS: &str = "\n[limits]\nrequests_per_sec = 1000000\nrequest_burst = 1000000\n\
    cmds_per_sec = 1000000\ncmd_burst = 1000000\nmax_cmds_in_flight = 1000000\n\
    max_prelogin_connections = 1000000\nmax_prelogin_per_address = 1000000\n\
    max_meetings_per_user = 1000000\nmax_meetings_per_tenant = 1000000\n";

/// Tenant and password of the temporary server config written by [`start_crvideo`].
pub const BENCH_TENANT: &str = "bench";
pub const BENCH_PASSWORD: &str = "bench-pw";

/// Starts `server_bin` with a config in `dir` (`listen = 127.0.0.1:0`, `data_dir = dir/data`,
/// tenant [`BENCH_TENANT`], then the lines of `extra_config`), its log in `dir/server.log`;
/// returns at its `listening on` line.
pub fn start_crvideo(
    server_bin: &Path,
    dir: &Path,
    extra_config: &str,
) -> BenchResult<(ChildGuard, SocketAddr)> {
    start_crvideo_with_tenant(server_bin, dir, extra_config, "")
}

/// [`start_crvideo`] with `tenant_config` appended after the tenant's keys (sub-tables of
/// the tenant, e.g. `[[tenants.queues]]` entries).
pub fn start_crvideo_with_tenant(
    server_bin: &Path,
    dir: &Path,
    extra_config: &str,
    tenant_config: &str,
) -> BenchResult<(ChildGuard, SocketAddr)> {
    let config_path = dir.join("server.toml");
    let data_dir = dir.join("data");
    // Load generators send far more than the per-session rate limits allow a real client,
    // and connect thousands of users from one address at once.
    let limits = if extra_config.contains("[limits]") {
        ""
    } else {
        BENCH_LIMITS
    };
    std::fs::write(
        &config_path,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n{extra_config}\n\n[[tenants]]\naccount = \"{BENCH_TENANT}\"\npassword = \"{BENCH_PASSWORD}\"\n{tenant_config}\n{limits}",
            data_dir.display().to_string()
        ),
    )
    .map_err(|e| format!("cannot write the server config: {e}"))?;
    let mut command = Command::new(server_bin);
    command
        .arg("--config")
        .arg(&config_path)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr_file(dir, "server.log")?);
    let mut server = ChildGuard::spawn("crvideo-server", command)?;
    let addr = await_stdout_line(&mut server, "listening on ", Duration::from_secs(30))?;
    let addr = addr
        .trim()
        .parse()
        .map_err(|e| format!("server printed a bad address {addr:?}: {e}"))?;
    Ok((server, addr))
}

/// Starts `nats-server -a 127.0.0.1 -p <free port>`, its log in `dir/nats.log`; returns once
/// it accepts connections.
pub fn start_nats(nats_bin: &str, dir: &Path) -> BenchResult<(ChildGuard, SocketAddr)> {
    start_nats_with(nats_bin, dir, &[])
}

/// [`start_nats`] with extra command-line arguments (e.g. `--max_payload`).
pub fn start_nats_with(
    nats_bin: &str,
    dir: &Path,
    extra_args: &[&str],
) -> BenchResult<(ChildGuard, SocketAddr)> {
    let port = free_port()?;
    let mut command = Command::new(nats_bin);
    command
        .args(["-a", "127.0.0.1", "-p", &port.to_string()])
        .args(extra_args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(stderr_file(dir, "nats.log")?);
    let nats = ChildGuard::spawn("nats-server", command)?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    wait_for_port(addr, Duration::from_secs(10))?;
    Ok((nats, addr))
}

/// One logged-in crvideo connection, read and written by the one task that owns it (no
/// reader task: frames are read when the owner asks for the next one; tungstenite answers
/// the server's pings while reading).
pub struct WsConn {
    ws: WebSocketStream<TcpStream>,
    next_id: u64,
}

impl WsConn {
    /// Connects, says hello and logs in as `user` of [`BENCH_TENANT`].
    pub async fn login(
        addr: SocketAddr,
        user: &str,
        agent: &str,
        within: Duration,
    ) -> BenchResult<WsConn> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        // The SDK's limits (src/client/connect.rs): an enter reply carrying a full meeting's
        // whiteboards is larger than tungstenite's default 16 MiB frame.
        let config = WebSocketConfig::default()
            .read_buffer_size(8 * 1024)
            .max_message_size(Some(64 << 20))
            .max_frame_size(Some(64 << 20));
        let (ws, _) = tokio::time::timeout(
            within,
            tokio_tungstenite::client_async_with_config(
                format!("ws://{addr}{WS_PATH}"),
                tcp,
                Some(config),
            ),
        )
        .await
        .map_err(|_| "WebSocket handshake timed out")?
        .map_err(|e| format!("WebSocket handshake: {e}"))?;
        let mut conn = WsConn { ws, next_id: 1 };
        conn.request(
            Request::Hello {
                version: PROTOCOL_VERSION,
                agent: agent.into(),
            },
            within,
        )
        .await?;
        let ok: LoginOk = conn
            .request(
                Request::Login(LoginRequest {
                    tenant: BENCH_TENANT.into(),
                    password: BENCH_PASSWORD.into(),
                    nickname: user.into(),
                    user_id: user.into(),
                    auth_code: String::new(),
                }),
                within,
            )
            .await?
            .into_result()
            .map_err(|code| format!("login reply: code {code}"))?;
        if ok.user_id != user {
            return Err(format!("logged in as {:?}, wanted {user:?}", ok.user_id));
        }
        Ok(conn)
    }

    /// Sends a request; returns its id.
    pub async fn send(&mut self, request: Request) -> BenchResult<u64> {
        let id = self.next_id;
        self.next_id += 1;
        self.ws
            .send(Message::text(encode(&ClientFrame { id, request })))
            .await
            .map_err(|e| format!("send: {e}"))?;
        Ok(id)
    }

    /// The next reply or event (control frames are handled by tungstenite and skipped).
    pub async fn next_frame(&mut self, within: Duration) -> BenchResult<ServerFrame> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| format!("nothing from the server within {within:?}"))?
                .ok_or("connection closed by the server")?
                .map_err(|e| format!("read: {e}"))?;
            match message {
                Message::Text(text) => {
                    return decode(text.as_str())
                        .map_err(|e| format!("undecodable frame {:?}: {e}", text.as_str()))
                }
                Message::Close(frame) => return Err(format!("server closed: {frame:?}")),
                _ => {}
            }
        }
    }

    /// The next text message, undecoded (for clients that only look at some frames: a
    /// substring test is much cheaper than decoding every event).
    pub async fn next_text(&mut self, within: Duration) -> BenchResult<String> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let message = tokio::time::timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| format!("nothing from the server within {within:?}"))?
                .ok_or("connection closed by the server")?
                .map_err(|e| format!("read: {e}"))?;
            match message {
                Message::Text(text) => return Ok(text.as_str().to_owned()),
                Message::Close(frame) => return Err(format!("server closed: {frame:?}")),
                _ => {}
            }
        }
    }

    /// Sends a request and waits for its reply, which must have code 0. Presence and unknown
    /// events in between are skipped; any other event is an error.
    pub async fn request(&mut self, request: Request, within: Duration) -> BenchResult<Reply> {
        let op = request.op();
        let id = self.send(request).await?;
        loop {
            match self.next_frame(within).await? {
                ServerFrame::Reply(reply) if reply.re == id => {
                    if reply.code != 0 {
                        return Err(format!("{op} failed with code {}", reply.code));
                    }
                    return Ok(reply);
                }
                ServerFrame::Event(Event::UserStatus(_) | Event::Unknown) => {}
                other => return Err(format!("{op}: unexpected {other:?} before the reply")),
            }
        }
    }
}

/// A message delivered by nats-server.
#[derive(Debug, Clone)]
pub struct NatsMsg {
    pub subject: String,
    pub reply_to: Option<String>,
    pub payload: Vec<u8>,
}

/// One nats-server connection (text protocol), read and written by the task that owns it.
/// The server's PINGs are answered while reading.
pub struct NatsConn {
    io: tokio::io::BufReader<TcpStream>,
    line: Vec<u8>,
    /// The JSON of the server's first INFO line.
    info: String,
}

/// A NATS `PUB` of `payload` to `subject`, with a reply subject if given, ready to send.
pub fn nats_pub(subject: &str, reply_to: Option<&str>, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + subject.len() + 64);
    let reply = reply_to.map(|r| format!(" {r}")).unwrap_or_default();
    out.extend_from_slice(format!("PUB {subject}{reply} {}\r\n", payload.len()).as_bytes());
    out.extend_from_slice(payload);
    out.extend_from_slice(b"\r\n");
    out
}

impl NatsConn {
    /// Connects, reads INFO, sends CONNECT and a PING; returns at the PONG.
    pub async fn connect(addr: SocketAddr, within: Duration) -> BenchResult<NatsConn> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("nats connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let mut conn = NatsConn {
            io: tokio::io::BufReader::with_capacity(16 * 1024, tcp),
            line: Vec::with_capacity(256),
            info: String::new(),
        };
        conn.read_line(within).await?;
        if !conn.line.starts_with(b"INFO ") {
            return Err(format!(
                "expected INFO, got {:?}",
                String::from_utf8_lossy(&conn.line)
            ));
        }
        conn.info = String::from_utf8_lossy(&conn.line[5..]).trim().to_owned();
        conn.send(b"CONNECT {\"verbose\":false,\"pedantic\":false}\r\n")
            .await?;
        conn.ping(within).await?;
        Ok(conn)
    }

    /// The JSON object of the INFO line the server sent on connect (`max_payload`, ...).
    pub fn info(&self) -> &str {
        &self.info
    }

    pub async fn send(&mut self, bytes: &[u8]) -> BenchResult<()> {
        self.io
            .get_mut()
            .write_all(bytes)
            .await
            .map_err(|e| format!("nats write: {e}"))
    }

    /// Subscribes to `subject` (sid 1) and waits until the server has processed it.
    pub async fn subscribe(&mut self, subject: &str, within: Duration) -> BenchResult<()> {
        self.send(format!("SUB {subject} 1\r\n").as_bytes()).await?;
        self.ping(within).await
    }

    /// PING, then wait for the PONG: everything sent before has been processed. A message
    /// arriving meanwhile is an error.
    pub async fn ping(&mut self, within: Duration) -> BenchResult<()> {
        self.send(b"PING\r\n").await?;
        match self.next(within).await? {
            None => Ok(()),
            Some(msg) => Err(format!("unexpected message on {}", msg.subject)),
        }
    }

    /// The next message.
    pub async fn next_msg(&mut self, within: Duration) -> BenchResult<NatsMsg> {
        loop {
            if let Some(msg) = self.next(within).await? {
                return Ok(msg);
            }
        }
    }

    async fn read_line(&mut self, within: Duration) -> BenchResult<()> {
        self.line.clear();
        let n = tokio::time::timeout(within, self.io.read_until(b'\n', &mut self.line))
            .await
            .map_err(|_| format!("nothing from nats-server within {within:?}"))?
            .map_err(|e| format!("nats read: {e}"))?;
        if n == 0 {
            return Err("nats-server closed the connection".into());
        }
        Ok(())
    }

    /// The next message, or `None` at a PONG.
    async fn next(&mut self, within: Duration) -> BenchResult<Option<NatsMsg>> {
        loop {
            self.read_line(within).await?;
            if self.line.starts_with(b"MSG ") {
                // MSG <subject> <sid> [reply-to] <#bytes>\r\n<payload>\r\n
                let text = String::from_utf8_lossy(&self.line).into_owned();
                let f: Vec<&str> = text.split_whitespace().collect();
                let (reply_to, len) = match f.len() {
                    4 => (None, f[3]),
                    5 => (Some(f[3].to_owned()), f[4]),
                    _ => return Err(format!("odd MSG line {text:?}")),
                };
                let len: usize = len.parse().map_err(|_| format!("odd MSG line {text:?}"))?;
                let mut payload = vec![0; len + 2];
                tokio::time::timeout(within, self.io.read_exact(&mut payload))
                    .await
                    .map_err(|_| "MSG payload timed out")?
                    .map_err(|e| format!("nats read: {e}"))?;
                payload.truncate(len);
                return Ok(Some(NatsMsg {
                    subject: f[1].to_owned(),
                    reply_to,
                    payload,
                }));
            } else if self.line.starts_with(b"PING") {
                self.send(b"PONG\r\n").await?;
            } else if self.line.starts_with(b"PONG") {
                return Ok(None);
            } else if self.line.starts_with(b"-ERR") {
                return Err(format!(
                    "nats-server: {}",
                    String::from_utf8_lossy(&self.line).trim_end()
                ));
            }
            // +OK and INFO updates: nothing to do.
        }
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
