//! Transparent-channel benchmark: SendCmd round trips and SendBuffer / SendFile throughput
//! between two SDK processes through crvideo-server, with nats-server and iperf3 as peers.
//!
//! ```text
//! transfer_load [--server-bin PATH] [--size BYTES] [--runs 3] [--cmds 10000]
//!               [--cmd-warmup 100] [--cmd-bytes 1024] [--pieces 10]
//!               [--piece-bytes 104857600] [--work-dir DIR] [--nats-bin nats-server]
//!               [--skip-nats] [--iperf3-bin iperf3] [--skip-iperf] [--skip-floor]
//!               [--server-workers N] [--drop-caches]
//!               [--pause-before-file SECS] [--buffer-runs N] [--file-runs N]
//! ```
//!
//! `--buffer-runs` / `--file-runs` (default `--runs`; 0 skips the phase) and `--pieces 0`
//! select phases, e.g. for profiling one of them.
//!
//! The SDK is one instance per process, so this binary runs as three processes: the
//! coordinator (no `--role`) starts a release crvideo-server with a temporary config, then
//! itself twice, `--role receiver` (user `rx`) and `--role sender` (user `tx`). Each child
//! calls the SDK's C ABI (`crvideosdk::ffi`) with a `CRVideo_Callbacks` table whose
//! functions forward into a channel, and takes line commands on stdin and answers on stdout.
//!
//! Measured (all times in the sender process):
//! - SendCmd: `--cmds` sequential commands of `--cmd-bytes` (after `--cmd-warmup`), each
//!   waiting for its `SendCmdRlst`: t0 just before `CRVideo_SendCmd`, t1 inside the
//!   `SendCmdRlst` callback. p50/p99/max.
//! - SendBuffer: `--pieces` × `--piece-bytes` one after another, then `--runs` × `--size`;
//!   from the call to `SendBufferRlst(0)`. Both SDKs get `maxBufferBytes` ≥ `--size`.
//! - SendFile: `--runs` × a `--size` file of pseudo-random bytes (zeros would be written
//!   sparse) in the work dir; the receiver's `tmpDir` is another directory of the work dir
//!   (same filesystem). From the call to `SendFileRlst(0)`; the received file is checked for
//!   its size and deleted.
//! - Per phase: peak RSS (`VmHWM`, reset with `/proc/PID/clear_refs` at the start of each
//!   phase) and CPU time of the server, the sender and the receiver.
//!
//! Peers: nats-server request/reply with the same payload (requester and responder each on
//! its own thread of this process, through the async-nats client; reply
//! empty and echoed), nats-server publishing `--size` bytes in messages of the server's
//! `max_payload` (1 MiB by default) to one subscriber, and `iperf3 -n` single-stream TCP on
//! loopback. See docs/BENCHMARKS.md.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{ratio, Latency};
use crvideo_bench::{
    cpu_secs, filesystem_of, free_port, log_tail, machine_busy_secs, mem_total_mib, nats,
    peak_rss_kib, positive, reset_peak_rss, start_crvideo, start_nats_with, stderr_file,
    BenchResult, ChildGuard, NatsArgs, ServerArgs, TempDir, BENCH_PASSWORD, BENCH_TENANT,
};
use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::{lifecycle, session, transfer};

/// The child processes: one SDK each.
#[path = "transfer_load/child.rs"]
mod child;
#[path = "transfer_load/relay_floor.rs"]
mod relay_floor;

const MIB: f64 = 1024.0 * 1024.0;
/// Longest wait for a child's answer to one line command (a 1 GiB transfer included).
const STEP_TIMEOUT: Duration = Duration::from_secs(600);
/// Longest wait for one NATS message.
const NATS_TIMEOUT: Duration = Duration::from_secs(30);

/// SendCmd round trips and SendBuffer/SendFile throughput between two SDK processes
/// through crvideo-server, against nats-server and iperf3 (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    nats: NatsArgs,
    /// Bytes of each whole SendBuffer and SendFile (and of the peers' transfers).
    #[arg(long, default_value_t = 1 << 30, value_parser = clap::value_parser!(u64).range(1..))]
    size: u64,
    /// Runs of each transfer (default of --buffer-runs and --file-runs).
    #[arg(long, default_value = "3", value_parser = positive)]
    runs: usize,
    /// Measured SendCmd round trips.
    #[arg(long, default_value = "10000", value_parser = positive)]
    cmds: usize,
    #[arg(long, default_value_t = 100)]
    cmd_warmup: usize,
    #[arg(long, default_value_t = 1024)]
    cmd_bytes: usize,
    /// SendBuffer pieces before the whole ones (0: none).
    #[arg(long, default_value_t = 10)]
    pieces: usize,
    #[arg(long, default_value_t = 100 << 20, value_parser = clap::value_parser!(u64).range(1..))]
    piece_bytes: u64,
    /// Where the source file, the receiver's tmpDir and the server's data go (default: $TMPDIR).
    #[arg(long)]
    work_dir: Option<PathBuf>,
    #[arg(long, default_value = "iperf3")]
    iperf3_bin: String,
    #[arg(long)]
    skip_iperf: bool,
    /// Skip the bare relay floor.
    #[arg(long)]
    skip_floor: bool,
    /// The server's `worker_threads` (0: its default, one per CPU).
    #[arg(long, default_value_t = 0)]
    server_workers: usize,
    /// Drop the page cache before each SendFile (needs root).
    #[arg(long)]
    drop_caches: bool,
    /// Seconds to wait before the SendFile phase.
    #[arg(long, default_value_t = 0)]
    pause_before_file: u64,
    /// SendBuffer runs of --size (default --runs; 0 skips the phase).
    #[arg(long)]
    buffer_runs: Option<usize>,
    /// SendFile runs (default --runs; 0 skips the phase).
    #[arg(long)]
    file_runs: Option<usize>,
}

fn main() {
    let argv: Vec<String> = std::env::args().collect();
    if argv.get(1).map(String::as_str) == Some("--role") {
        let code = match child::run(&argv[2..]) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("transfer_load child: {e}");
                println!("ERROR {e}");
                1
            }
        };
        std::process::exit(code);
    }
    let args = Args::parse();
    if let Err(e) = coordinate(&args) {
        eprintln!("transfer_load: {e}");
        std::process::exit(1);
    }
}

/// `len` pseudo-random bytes (xorshift64*): incompressible enough, and never zero runs.
fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
    let mut out = vec![0u8; len];
    fill_pseudo_random(&mut out, seed);
    out
}

fn fill_pseudo_random(buf: &mut [u8], seed: u64) {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    for chunk in buf.chunks_mut(8) {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
        chunk.copy_from_slice(&v[..chunk.len()]);
    }
}

// ---------------------------------------------------------------------------------------
// Coordinator
// ---------------------------------------------------------------------------------------

/// A child SDK process driven through its stdin/stdout.
struct SdkProc {
    name: String,
    guard: ChildGuard,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    log: PathBuf,
}

impl SdkProc {
    fn spawn(
        name: &str,
        role: &str,
        server: SocketAddr,
        tmp_dir: &Path,
        max_buffer: u64,
        log_dir: &Path,
    ) -> BenchResult<SdkProc> {
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let mut command = Command::new(exe);
        command
            .args([
                "--role",
                role,
                "--server",
                &server.to_string(),
                "--user",
                name,
            ])
            .arg("--tmp-dir")
            .arg(tmp_dir)
            .args(["--max-buffer", &max_buffer.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr_file(log_dir, &format!("{role}.log"))?);
        let mut guard = ChildGuard::spawn(role, command)?;
        let stdin = guard.child_mut().stdin.take().ok_or("no child stdin")?;
        let stdout = guard.child_mut().stdout.take().ok_or("no child stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut proc = SdkProc {
            name: role.into(),
            guard,
            stdin,
            lines,
            log: log_dir.join(format!("{role}.log")),
        };
        proc.expect("READY", Duration::from_secs(60))?;
        Ok(proc)
    }

    fn pid(&self) -> u32 {
        self.guard.pid()
    }

    fn tell(&mut self, line: &str) -> BenchResult<()> {
        writeln!(self.stdin, "{line}")
            .and_then(|()| self.stdin.flush())
            .map_err(|e| format!("{}: cannot write to it: {e}", self.name))
    }

    /// The rest of the next line starting with `word`; an `ERROR` line fails.
    fn expect(&mut self, word: &str, within: Duration) -> BenchResult<String> {
        let deadline = Instant::now() + within;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self.lines.recv_timeout(left).map_err(|_| {
                format!(
                    "{}: no {word} line within {within:?}; last lines of its log:\n{}",
                    self.name,
                    log_tail(&self.log, 20)
                )
            })?;
            if let Some(rest) = line.strip_prefix(word) {
                return Ok(rest.trim().to_owned());
            }
            if let Some(e) = line.strip_prefix("ERROR ") {
                return Err(format!("{}: {e}", self.name));
            }
            eprintln!("[{}] {line}", self.name);
        }
    }

    fn ask(&mut self, line: &str, word: &str) -> BenchResult<String> {
        self.tell(line)?;
        self.expect(word, STEP_TIMEOUT)
    }
}

/// `key=value` fields of a child's answer.
fn field<'a>(line: &'a str, key: &str) -> BenchResult<&'a str> {
    line.split_whitespace()
        .find_map(|kv| kv.strip_prefix(key).and_then(|r| r.strip_prefix('=')))
        .ok_or_else(|| format!("no {key}= in {line:?}"))
}

fn secs_list(line: &str, key: &str) -> BenchResult<Vec<f64>> {
    field(line, key)?
        .split(',')
        .map(|v| v.parse().map_err(|_| format!("bad {key} in {line:?}")))
        .collect()
}

/// Peak RSS and CPU of the three processes over one phase.
struct Usage {
    pids: [u32; 3],
    cpu0: [f64; 3],
    busy0: f64,
}

#[derive(Clone, Copy, Default)]
struct PhaseUsage {
    /// Peak RSS in MiB: server, sender, receiver.
    peak_mib: [f64; 3],
    /// CPU seconds: server, sender, receiver.
    cpu: [f64; 3],
    /// CPU seconds the rest of the machine used meanwhile (other processes, the kernel's
    /// own threads): should be near 0 for a clean measurement.
    other_cpu: f64,
}

impl Usage {
    fn start(pids: [u32; 3]) -> BenchResult<Usage> {
        for pid in pids {
            if !reset_peak_rss(pid) {
                eprintln!("warning: cannot reset the peak RSS of pid {pid} (clear_refs)");
            }
        }
        Ok(Usage {
            pids,
            cpu0: [cpu_secs(pids[0])?, cpu_secs(pids[1])?, cpu_secs(pids[2])?],
            busy0: machine_busy_secs(),
        })
    }

    fn end(&self) -> BenchResult<PhaseUsage> {
        let mut u = PhaseUsage::default();
        for i in 0..3 {
            u.peak_mib[i] = peak_rss_kib(self.pids[i])? as f64 / 1024.0;
            u.cpu[i] = cpu_secs(self.pids[i])? - self.cpu0[i];
        }
        u.other_cpu = (machine_busy_secs() - self.busy0 - u.cpu.iter().sum::<f64>()).max(0.0);
        Ok(u)
    }
}

struct Throughput {
    label: String,
    bytes: u64,
    /// Seconds per run.
    secs: Vec<f64>,
    usage: Option<PhaseUsage>,
    note: String,
}

impl Throughput {
    fn mibs(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self
            .secs
            .iter()
            .map(|s| self.bytes as f64 / MIB / s)
            .collect();
        v.sort_by(|a, b| a.partial_cmp(b).unwrap());
        v
    }
    fn median(&self) -> f64 {
        let v = self.mibs();
        if v.is_empty() {
            return 0.0;
        }
        v[v.len() / 2]
    }
    fn row(&self) -> String {
        let v = self.mibs();
        let runs: Vec<String> = self.secs.iter().map(|s| format!("{s:.3}")).collect();
        format!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {} |",
            self.label,
            self.secs.len(),
            self.median(),
            v.first().copied().unwrap_or(0.0),
            v.last().copied().unwrap_or(0.0),
            runs.join(", ")
        )
    }
}

fn usage_row(label: &str, u: &PhaseUsage, bytes: u64) -> String {
    let gib = bytes as f64 / (1u64 << 30) as f64;
    format!(
        "| {label} | {:.0} | {:.0} | {:.0} | {:.2} | {:.2} | {:.2} | {:.1} |",
        u.peak_mib[0],
        u.peak_mib[1],
        u.peak_mib[2],
        u.cpu[0] / gib.max(1e-9),
        u.cpu[1] / gib.max(1e-9),
        u.cpu[2] / gib.max(1e-9),
        u.other_cpu,
    )
}

fn coordinate(args: &Args) -> BenchResult<()> {
    args.server.check()?;
    let scratch;
    let work: PathBuf = match &args.work_dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            dir.clone()
        }
        None => {
            scratch = TempDir::new("transfer")?;
            scratch.path().to_owned()
        }
    };
    let work = work.join(format!("run-{}", std::process::id()));
    let (server_dir, src_dir, rx_dir, tx_dir) = (
        work.join("server"),
        work.join("src"),
        work.join("rx"),
        work.join("tx"),
    );
    for d in [&server_dir, &src_dir, &rx_dir, &tx_dir] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let _cleanup = RemoveOnDrop(work.clone());

    println!(
        "machine: {} cores, {} MiB RAM; work dir {} on {}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        mem_total_mib(),
        work.display(),
        filesystem_of(&work)
            .map(|f| f.describe())
            .unwrap_or_else(|| "?".into())
    );

    println!(
        "load average at start: {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );

    // --- crvideo: server and the two SDK processes ---
    let workers = format!("worker_threads = {}", args.server_workers);
    let (mut server, addr) = start_crvideo(&args.server.server_bin, &server_dir, &workers)?;
    let max_buffer = args.size.max(args.piece_bytes);
    let mut rx = SdkProc::spawn("rx", "receiver", addr, &rx_dir, max_buffer, &work)?;
    let mut tx = SdkProc::spawn("tx", "sender", addr, &tx_dir, max_buffer, &work)?;
    let pids = [server.pid(), tx.pid(), rx.pid()];
    println!(
        "crvideo-server pid {} at {addr}; sender pid {}, receiver pid {}",
        pids[0], pids[1], pids[2]
    );
    let idle = Usage::start(pids)?.end()?;

    // SendCmd round trips.
    println!(
        "\n== SendCmd: {} × {} B (after {} unmeasured) ==",
        args.cmds, args.cmd_bytes, args.cmd_warmup
    );
    let usage = Usage::start(pids)?;
    let cmd = tx.ask(
        &format!(
            "cmd rx {} {} {}",
            args.cmds, args.cmd_warmup, args.cmd_bytes
        ),
        "CMD",
    )?;
    let cmd_usage = usage.end()?;
    println!("{cmd}");
    let stats = rx.ask("stats", "STATS")?;
    let want = (args.cmds + args.cmd_warmup).to_string();
    if field(&stats, "cmds")? != want {
        return Err(format!("receiver: {stats}, expected {want} commands"));
    }
    let cmd_lat = CmdLatency {
        p50_us: field(&cmd, "p50_us")?.parse().unwrap_or(0.0),
        p99_us: field(&cmd, "p99_us")?.parse().unwrap_or(0.0),
        max_us: field(&cmd, "max_us")?.parse().unwrap_or(0.0),
        per_sec: args.cmds as f64 / field(&cmd, "secs")?.parse::<f64>().unwrap_or(f64::NAN),
    };

    let mut ours: Vec<Throughput> = Vec::new();

    // SendBuffer: pieces, then whole.
    if args.pieces > 0 {
        println!(
            "\n== SendBuffer: {} × {} MiB ==",
            args.pieces,
            args.piece_bytes as f64 / MIB
        );
        let usage = Usage::start(pids)?;
        let line = tx.ask(
            &format!("buffer rx {} {}", args.piece_bytes, args.pieces),
            "BUFFER",
        )?;
        let u = usage.end()?;
        println!("{line}");
        check_buffers(&mut rx, args.piece_bytes, args.pieces)?;
        let secs = secs_list(&line, "secs")?;
        let total: f64 = secs.iter().sum();
        ours.push(Throughput {
            label: format!(
                "SendBuffer {} × {:.0} MiB (one after another)",
                args.pieces,
                args.piece_bytes as f64 / MIB
            ),
            bytes: args.piece_bytes * args.pieces as u64,
            secs: vec![total],
            usage: Some(u),
            note: format!(
                "per piece: p50 {:.0} MiB/s",
                args.piece_bytes as f64 / MIB / median(&secs)
            ),
        });
    }
    let buffer_runs = args.buffer_runs.unwrap_or(args.runs);
    let file_runs = args.file_runs.unwrap_or(args.runs);
    if buffer_runs > 0 {
        send_buffer_phase(args, buffer_runs, pids, &mut tx, &mut rx, &mut ours)?;
    }
    if file_runs > 0 {
        let dirs = (src_dir.as_path(), rx_dir.as_path());
        send_file_phase(args, file_runs, pids, dirs, &mut tx, &mut rx, &mut ours)?;
    }

    // The peak of the whole run: the largest of the phases' peaks (each phase reset it).
    let mut whole = [idle.peak_mib, cmd_usage.peak_mib]
        .into_iter()
        .chain(ours.iter().filter_map(|t| t.usage.map(|u| u.peak_mib)))
        .fold([0.0f64; 3], |a, b| {
            [a[0].max(b[0]), a[1].max(b[1]), a[2].max(b[2])]
        });
    for (i, pid) in pids.iter().enumerate() {
        whole[i] = whole[i].max(peak_rss_kib(*pid)? as f64 / 1024.0);
    }
    for p in [&mut tx, &mut rx] {
        p.tell("quit")?;
        p.expect("BYE", Duration::from_secs(30))?;
    }
    let stopped = server.stop(Duration::from_secs(15));
    if !stopped.contains("stopped") {
        eprintln!("note: {stopped}");
    }

    // --- peers ---
    let mut nats_cmd = None;
    let mut nats_bulk = None;
    if !args.nats.skip_nats {
        println!("\n== nats-server ==");
        let dir = TempDir::new("transfer-nats")?;
        match nats_peer(args, dir.path()) {
            Ok((c, b)) => {
                nats_cmd = Some(c);
                nats_bulk = Some(b);
            }
            Err(e) => {
                return Err(format!(
                    "nats-server peer: {e}\n(last lines of its log:)\n{}",
                    log_tail(&dir.path().join("nats.log"), 20)
                ))
            }
        }
    }
    let mut iperf = None;
    if !args.skip_iperf {
        println!("\n== iperf3 ==");
        iperf = Some(iperf_peer(args, &work)?);
    }
    let mut floor = Vec::new();
    if !args.skip_floor {
        println!("\n== bare relay (no protocol) ==");
        floor = floor_peer(args, &src_dir)?;
    }

    // --- report ---
    println!("\n== Summary (markdown) ==\n");
    println!("| SendCmd / request-reply round trip | n | p50 µs | p99 µs | max µs | per s |");
    println!("|---|---:|---:|---:|---:|---:|");
    println!(
        "| crvideo SendCmd {} B → NotifyCmdData → SendCmdRlst | {} | {:.1} | {:.1} | {:.1} | {:.0} |",
        args.cmd_bytes, args.cmds, cmd_lat.p50_us, cmd_lat.p99_us, cmd_lat.max_us, cmd_lat.per_sec
    );
    if let Some(n) = &nats_cmd {
        for (label, l) in [
            ("empty reply", &n.empty),
            ("reply echoes it", &n.echo),
            ("empty reply, via app and dispatch threads", &n.handed),
        ] {
            println!(
                "| nats request {} B, {label} | {} | {:.1} | {:.1} | {:.1} | {:.0} |",
                args.cmd_bytes, args.cmds, l.p50_us, l.p99_us, l.max_us, l.per_sec
            );
        }
    }

    println!("\n| throughput | runs | median MiB/s | min | max | seconds per run |");
    println!("|---|---:|---:|---:|---:|---|");
    for t in &ours {
        println!("{}", t.row());
    }
    if let Some(n) = &nats_bulk {
        println!("{}", n.row());
    }
    if let Some(i) = &iperf {
        println!("{}", i.row());
    }
    for f in &floor {
        println!("{}", f.row());
    }
    for t in ours
        .iter()
        .chain(nats_bulk.iter())
        .chain(iperf.iter())
        .chain(floor.iter())
    {
        if !t.note.is_empty() {
            println!("- {}: {}", t.label, t.note);
        }
    }

    println!(
        "\n| phase | server peak RSS MiB | sender peak RSS MiB | receiver peak RSS MiB | \
         server CPU s/GiB | sender CPU s/GiB | receiver CPU s/GiB | other CPU s |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    println!(
        "| idle, logged in | {:.0} | {:.0} | {:.0} | – | – | – | – |",
        idle.peak_mib[0], idle.peak_mib[1], idle.peak_mib[2]
    );
    println!(
        "| SendCmd (CPU: µs per command) | {:.0} | {:.0} | {:.0} | {:.1} | {:.1} | {:.1} | {:.1} |",
        cmd_usage.peak_mib[0],
        cmd_usage.peak_mib[1],
        cmd_usage.peak_mib[2],
        cmd_usage.cpu[0] * 1e6 / (args.cmds + args.cmd_warmup) as f64,
        cmd_usage.cpu[1] * 1e6 / (args.cmds + args.cmd_warmup) as f64,
        cmd_usage.cpu[2] * 1e6 / (args.cmds + args.cmd_warmup) as f64,
        cmd_usage.other_cpu,
    );
    for t in &ours {
        if let Some(u) = &t.usage {
            println!("{}", usage_row(&t.label, u, t.bytes * t.secs.len() as u64));
        }
    }
    println!(
        "| whole run (largest phase peak) | {:.0} | {:.0} | {:.0} | – | – | – | – |",
        whole[0], whole[1], whole[2]
    );

    println!("\nRatios and targets:");
    if let Some(n) = &nats_cmd {
        let fastest = n.empty.p50_us.min(n.echo.p50_us);
        println!(
            "- SendCmd p50 / nats p50: {:.2} (empty reply), {:.2} (echo); target ≤ 1 against \
             the faster one: {}",
            ratio(cmd_lat.p50_us, n.empty.p50_us),
            ratio(cmd_lat.p50_us, n.echo.p50_us),
            verdict(cmd_lat.p50_us <= fastest)
        );
        println!(
            "- SendCmd p99 / nats p99: {:.2} (empty reply), {:.2} (echo)",
            ratio(cmd_lat.p99_us, n.empty.p99_us),
            ratio(cmd_lat.p99_us, n.echo.p99_us)
        );
        println!(
            "- SendCmd / nats with the SDK's thread hand-offs (app → I/O thread, I/O → \
             dispatch thread; no target): p50 {:.2}, p99 {:.2}",
            ratio(cmd_lat.p50_us, n.handed.p50_us),
            ratio(cmd_lat.p99_us, n.handed.p99_us)
        );
    }
    for t in &ours {
        let mut parts = Vec::new();
        if let Some(n) = &nats_bulk {
            let r = ratio(t.median(), n.median());
            parts.push(format!("/ nats {r:.2} (target ≥ 2: {})", verdict(r >= 2.0)));
        }
        if let Some(i) = &iperf {
            let r = ratio(t.median(), i.median());
            parts.push(format!(
                "/ iperf3 {:.0} % (target ≥ 40 %: {})",
                r * 100.0,
                verdict(r >= 0.4)
            ));
        }
        // The floor of the same kind: file for SendFile, memory for SendBuffer.
        let same_kind = floor
            .iter()
            .find(|f| f.label.contains("file") == t.label.starts_with("SendFile"));
        if let Some(f) = same_kind {
            parts.push(format!(
                "/ bare relay {:.0} % (no target)",
                ratio(t.median(), f.median()) * 100.0
            ));
        }
        println!("- {}: {}", t.label, parts.join(", "));
    }
    Ok(())
}

fn send_buffer_phase(
    args: &Args,
    runs: usize,
    pids: [u32; 3],
    tx: &mut SdkProc,
    rx: &mut SdkProc,
    ours: &mut Vec<Throughput>,
) -> BenchResult<()> {
    println!(
        "\n== SendBuffer: {} × {} MiB ==",
        runs,
        args.size as f64 / MIB
    );
    let usage = Usage::start(pids)?;
    let mut secs = Vec::new();
    let mut calls = Vec::new();
    for _ in 0..runs {
        let line = tx.ask(&format!("buffer rx {} 1", args.size), "BUFFER")?;
        println!("{line}");
        check_buffers(rx, args.size, 1)?;
        secs.extend(secs_list(&line, "secs")?);
        calls.extend(secs_list(&line, "call_secs")?);
    }
    ours.push(Throughput {
        label: format!("SendBuffer {:.0} MiB", args.size as f64 / MIB),
        bytes: args.size,
        secs,
        usage: Some(usage.end()?),
        note: format!(
            "CRVideo_SendBuffer itself (copy of the buffer) returns after {:.3} s (median)",
            median(&calls)
        ),
    });

    Ok(())
}

fn send_file_phase(
    args: &Args,
    runs: usize,
    pids: [u32; 3],
    (src_dir, rx_dir): (&Path, &Path),
    tx: &mut SdkProc,
    rx: &mut SdkProc,
    ours: &mut Vec<Throughput>,
) -> BenchResult<()> {
    println!(
        "\n== SendFile: {} × {} MiB ==",
        runs,
        args.size as f64 / MIB
    );
    let src = src_dir.join("payload.bin");
    write_random_file(&src, args.size)?;
    if args.pause_before_file > 0 {
        println!(
            "pausing {} s (e.g. to attach perf): server {}, sender {}, receiver {}",
            args.pause_before_file, pids[0], pids[1], pids[2]
        );
        std::thread::sleep(Duration::from_secs(args.pause_before_file));
    }
    let usage = Usage::start(pids)?;
    let mut secs = Vec::new();
    for _ in 0..runs {
        if args.drop_caches {
            drop_caches()?;
        }
        let line = tx.ask(&format!("file rx {}", src.display()), "FILE")?;
        println!("{line}");
        let stats = rx.ask("stats", "STATS")?;
        let files = field(&stats, "files")?;
        let (path, len) = files
            .rsplit_once('=')
            .ok_or_else(|| format!("receiver got no file: {stats}"))?;
        if len.parse::<u64>() != Ok(args.size) || !path.starts_with(&*rx_dir.to_string_lossy()) {
            return Err(format!("receiver: unexpected file {files}"));
        }
        rx.ask("cleanup", "CLEANED")?;
        secs.extend(secs_list(&line, "secs")?);
    }
    let fs = filesystem_of(src_dir)
        .map(|f| format!("{} ({})", f.mount_point, f.fs_type))
        .unwrap_or_default();
    ours.push(Throughput {
        label: format!("SendFile {:.0} MiB", args.size as f64 / MIB),
        bytes: args.size,
        secs,
        usage: Some(usage.end()?),
        note: format!(
            "source and tmpDir on {fs}, page cache {}",
            if args.drop_caches {
                "dropped before each run"
            } else {
                "warm (source just written)"
            }
        ),
    });
    let _ = std::fs::remove_file(&src);

    Ok(())
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

struct CmdLatency {
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    per_sec: f64,
}

impl CmdLatency {
    fn of(samples: &[Duration], secs: f64) -> CmdLatency {
        let l = Latency::of(samples);
        CmdLatency {
            p50_us: l.p50_ms * 1e3,
            p99_us: l.p99_ms * 1e3,
            max_us: l.max_ms * 1e3,
            per_sec: samples.len() as f64 / secs,
        }
    }
}

struct NatsCmd {
    empty: CmdLatency,
    echo: CmdLatency,
    /// Empty reply, with the SDK's thread hand-offs (see `nats_handed_off`).
    handed: CmdLatency,
}

/// The receiver got `count` buffers of `size` bytes since the last stats.
fn check_buffers(rx: &mut SdkProc, size: u64, count: usize) -> BenchResult<()> {
    let stats = rx.ask("stats", "STATS")?;
    let got: Vec<&str> = field(&stats, "buffers")?
        .split(',')
        .filter(|s| !s.is_empty())
        .collect();
    if got.len() != count || got.iter().any(|n| n.parse::<u64>() != Ok(size)) {
        return Err(format!(
            "receiver: {stats}, expected {count} buffers of {size}"
        ));
    }
    Ok(())
}

fn write_random_file(path: &Path, size: u64) -> BenchResult<()> {
    let mut file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut block = vec![0u8; 8 << 20];
    let mut written = 0u64;
    let mut seed = 1u64;
    while written < size {
        let n = (size - written).min(block.len() as u64) as usize;
        fill_pseudo_random(&mut block[..n], seed);
        file.write_all(&block[..n])
            .map_err(|e| format!("{}: {e}", path.display()))?;
        written += n as u64;
        seed += 1;
    }
    // On disk before the transfers start, so that its writeback does not overlap them.
    file.sync_all()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}

fn drop_caches() -> BenchResult<()> {
    // SAFETY: sync(2) has no preconditions.
    unsafe { libc::sync() };
    std::fs::write("/proc/sys/vm/drop_caches", "3")
        .map_err(|e| format!("cannot drop the page cache (needs root): {e}"))
}

struct RemoveOnDrop(PathBuf);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---------------------------------------------------------------------------------------
// Peers
// ---------------------------------------------------------------------------------------

/// Runs `f` on a new thread with its own single-threaded tokio runtime.
/// NATS request/reply timed like SendCmd in an SDK app: t0 on the app's thread, which hands
/// the request to a client I/O thread (a single-threaded tokio runtime, like `crvideo-io`);
/// that thread writes the `PUB`, reads the reply and hands it to a dispatch thread, where
/// t1 is taken (like the `SendCmdRlst` callback), which then wakes the app's thread for the
/// next request (like the bench's SDK processes). Same server, responder and payload as the
/// plain variant, which times both ends inside the I/O thread.
fn nats_handed_off(
    addr: SocketAddr,
    warmup: usize,
    count: usize,
    bytes: usize,
) -> BenchResult<CmdLatency> {
    let (requests, mut to_send) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (replies, to_dispatch) = mpsc::channel::<()>();
    let (dispatched, to_app) = mpsc::channel::<Instant>();
    let (ready_tx, ready) = mpsc::channel::<()>();
    let io = on_thread(move || {
        Box::pin(async move {
            let conn = nats::connect(addr, NATS_TIMEOUT).await?;
            let mut inbox = nats::subscribe(&conn, "_INBOX.h", NATS_TIMEOUT).await?;
            let _ = ready_tx.send(());
            let out = Bytes::from(pseudo_random(bytes, 7));
            while to_send.recv().await.is_some() {
                nats::publish(&conn, "req", Some("_INBOX.h"), out.clone()).await?;
                let msg = nats::next(&mut inbox, NATS_TIMEOUT).await?;
                if !msg.payload.is_empty() {
                    return Err(format!("reply of {} bytes", msg.payload.len()));
                }
                if replies.send(()).is_err() {
                    break;
                }
            }
            Ok(())
        })
    });
    let dispatch = std::thread::spawn(move || {
        while to_dispatch.recv().is_ok() {
            if dispatched.send(Instant::now()).is_err() {
                return;
            }
        }
    });
    ready
        .recv_timeout(NATS_TIMEOUT)
        .map_err(|_| "the requester did not subscribe")?;
    let mut samples = Vec::with_capacity(count);
    let mut started = Instant::now();
    for i in 0..warmup + count {
        if i == warmup {
            started = Instant::now();
        }
        let t0 = Instant::now();
        requests.send(()).map_err(|_| "the NATS I/O thread ended")?;
        let t1 = to_app
            .recv_timeout(NATS_TIMEOUT)
            .map_err(|_| "no reply within the timeout")?;
        if i >= warmup {
            samples.push(t1 - t0);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    drop(requests);
    join(io)?;
    let _ = dispatch.join();
    Ok(CmdLatency::of(&samples, secs))
}

fn on_thread<T: Send + 'static>(
    f: impl FnOnce() -> std::pin::Pin<Box<dyn std::future::Future<Output = BenchResult<T>>>>
        + Send
        + 'static,
) -> std::thread::JoinHandle<BenchResult<T>> {
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio: {e}"))?;
        rt.block_on(f())
    })
}

fn join<T>(h: std::thread::JoinHandle<BenchResult<T>>) -> BenchResult<T> {
    h.join().map_err(|_| "peer thread panicked".to_string())?
}

fn block_on<T>(f: impl std::future::Future<Output = BenchResult<T>>) -> BenchResult<T> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?
        .block_on(f)
}

fn nats_peer(args: &Args, dir: &Path) -> BenchResult<(NatsCmd, Throughput)> {
    let (mut nats, addr) = start_nats_with(&args.nats.nats_bin, dir, &[])?;
    let pid = nats.pid();
    let info = block_on(async move {
        let probe = nats::connect(addr, NATS_TIMEOUT).await?;
        Ok(probe.server_info())
    })?;
    let max_payload = info.max_payload as u64;
    println!(
        "nats-server {} pid {pid}: max_payload {max_payload} B (messages of that size)",
        info.version
    );

    let mut cmd = Vec::new();
    // Empty reply, echo, then empty reply through app and dispatch threads.
    for (echo, handed) in [(false, false), (true, false), (false, true)] {
        let total = args.cmds + args.cmd_warmup;
        let (ready_tx, ready) = mpsc::channel::<()>();
        let answering = on_thread(move || {
            Box::pin(async move {
                let responder = nats::connect(addr, NATS_TIMEOUT).await?;
                let mut requests = nats::subscribe(&responder, "req", NATS_TIMEOUT).await?;
                let _ = ready_tx.send(());
                for _ in 0..total {
                    let msg = nats::next(&mut requests, NATS_TIMEOUT).await?;
                    let reply_to = msg.reply.ok_or("request without a reply subject")?;
                    let body = if echo { msg.payload } else { Bytes::new() };
                    nats::publish(&responder, reply_to.as_str(), None, body).await?;
                }
                // The last reply out before the connection closes.
                nats::flush(&responder, NATS_TIMEOUT).await
            })
        });
        ready
            .recv_timeout(NATS_TIMEOUT)
            .map_err(|_| "the responder did not subscribe")?;
        let (warmup, count, bytes) = (args.cmd_warmup, args.cmds, args.cmd_bytes);
        if handed {
            let l = nats_handed_off(addr, warmup, count, bytes)?;
            join(answering)?;
            println!(
                "request/reply {} B, empty reply, via app and dispatch threads: p50 {:.1} µs, \
                 p99 {:.1} µs, max {:.1} µs, {:.0}/s",
                args.cmd_bytes, l.p50_us, l.p99_us, l.max_us, l.per_sec
            );
            cmd.push(l);
            continue;
        }
        let requesting = on_thread(move || {
            Box::pin(async move {
                let conn = nats::connect(addr, NATS_TIMEOUT).await?;
                let mut inbox = nats::subscribe(&conn, "_INBOX.r", NATS_TIMEOUT).await?;
                let out = Bytes::from(pseudo_random(bytes, 7));
                let mut samples = Vec::with_capacity(count);
                let mut started = Instant::now();
                for i in 0..warmup + count {
                    if i == warmup {
                        started = Instant::now();
                    }
                    let t0 = Instant::now();
                    nats::publish(&conn, "req", Some("_INBOX.r"), out.clone()).await?;
                    let msg = nats::next(&mut inbox, NATS_TIMEOUT).await?;
                    let t1 = Instant::now();
                    if msg.payload.len() != if echo { bytes } else { 0 } {
                        return Err(format!("reply of {} bytes", msg.payload.len()));
                    }
                    if i >= warmup {
                        samples.push(t1 - t0);
                    }
                }
                Ok((samples, started.elapsed().as_secs_f64()))
            })
        });
        let (samples, secs) = join(requesting)?;
        join(answering)?;
        let l = CmdLatency::of(&samples, secs);
        println!(
            "request/reply {} B, {}: p50 {:.1} µs, p99 {:.1} µs, max {:.1} µs, {:.0}/s",
            args.cmd_bytes,
            if echo { "echo" } else { "empty reply" },
            l.p50_us,
            l.p99_us,
            l.max_us,
            l.per_sec
        );
        cmd.push(l);
    }
    let handed = cmd.pop().unwrap();
    let echo = cmd.pop().unwrap();
    let empty = cmd.pop().unwrap();

    // Bulk: `size` bytes in max_payload messages, publisher → one subscriber.
    let msg_bytes = max_payload as usize;
    let messages = args.size.div_ceil(msg_bytes as u64);
    let bytes = messages * msg_bytes as u64;
    let mut secs = Vec::new();
    let me = std::process::id();
    let (cpu0, own0, busy0) = (cpu_secs(pid)?, cpu_secs(me)?, machine_busy_secs());
    for run in 0..args.runs {
        let (start_tx, start_rx) = mpsc::channel::<Instant>();
        let (ready_tx, ready) = mpsc::channel::<()>();
        let receiving = on_thread(move || {
            Box::pin(async move {
                let conn = nats::connect(addr, NATS_TIMEOUT).await?;
                let mut bulk = nats::subscribe(&conn, "bulk", NATS_TIMEOUT).await?;
                let _ = ready_tx.send(());
                let mut got = 0u64;
                while got < bytes {
                    got += nats::next(&mut bulk, NATS_TIMEOUT).await?.payload.len() as u64;
                }
                let done = Instant::now();
                let t0 = start_rx.recv().map_err(|_| "no start time")?;
                Ok((done - t0).as_secs_f64())
            })
        });
        ready
            .recv_timeout(NATS_TIMEOUT)
            .map_err(|_| "the subscriber did not subscribe")?;
        let publishing = on_thread(move || {
            Box::pin(async move {
                let conn = nats::connect(addr, NATS_TIMEOUT).await?;
                let out = Bytes::from(pseudo_random(msg_bytes, run as u64 + 3));
                let t0 = Instant::now();
                let _ = start_tx.send(t0);
                for _ in 0..messages {
                    nats::publish(&conn, "bulk", None, out.clone()).await?;
                }
                nats::flush(&conn, NATS_TIMEOUT).await?;
                Ok(())
            })
        });
        join(publishing)?;
        let s = join(receiving)?;
        println!(
            "publish {messages} × {msg_bytes} B → 1 subscriber: {s:.3} s, {:.0} MiB/s",
            bytes as f64 / MIB / s
        );
        secs.push(s);
    }
    let cpu = cpu_secs(pid)? - cpu0;
    let own = cpu_secs(me)? - own0;
    let other = (machine_busy_secs() - busy0 - cpu - own).max(0.0);
    let peak = peak_rss_kib(pid)? as f64 / 1024.0;
    if !nats.is_running() {
        return Err("nats-server exited during the run".into());
    }
    let _ = nats.stop(Duration::from_secs(5));
    let bulk = Throughput {
        label: format!(
            "nats-server pub → 1 sub, {messages} × {:.0} MiB msgs",
            msg_bytes as f64 / MIB
        ),
        bytes,
        secs,
        usage: None,
        note: format!(
            "nats-server CPU {:.2} s/GiB, clients (this process) {:.2} s/GiB, peak RSS \
             {peak:.0} MiB; other CPU meanwhile {other:.1} s",
            cpu / (bytes as f64 * args.runs as f64 / (1u64 << 30) as f64),
            own / (bytes as f64 * args.runs as f64 / (1u64 << 30) as f64)
        ),
    };
    Ok((
        NatsCmd {
            empty,
            echo,
            handed,
        },
        bulk,
    ))
}

/// Waits until some socket listens on TCP `port` (from `/proc/net/tcp{,6}`, without
/// connecting).
fn wait_for_listener(port: u16, within: Duration) -> BenchResult<()> {
    let deadline = Instant::now() + within;
    let needle = format!(":{port:04X} ");
    loop {
        for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = std::fs::read_to_string(table).unwrap_or_default();
            // sl local_address rem_address st ...; st 0A is LISTEN.
            if text.lines().skip(1).any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && format!("{} ", f[1]).ends_with(&needle) && f[3] == "0A"
            }) {
                return Ok(());
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("nothing listens on port {port} after {within:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The bare relay of `relay_floor`, `--runs` times each for a file and for memory.
fn floor_peer(args: &Args, dir: &Path) -> BenchResult<Vec<Throughput>> {
    let src = dir.join("floor-source.bin");
    let dst = dir.join("floor-received.bin");
    write_random_file(&src, args.size)?;
    let mut file_secs = Vec::new();
    let mut memory_secs = Vec::new();
    for _ in 0..args.runs {
        let secs = relay_floor::relay_once(args.size, Some((&src, &dst)))?;
        let _ = std::fs::remove_file(&dst);
        println!("bare relay, file → file: {:.3} s", secs);
        file_secs.push(secs);
    }
    let _ = std::fs::remove_file(&src);
    for _ in 0..args.runs {
        let secs = relay_floor::relay_once(args.size, None)?;
        println!("bare relay, memory → fresh Vec: {:.3} s", secs);
        memory_secs.push(secs);
    }
    let note = "three threads of the bench, two loopback TCP hops, 256 KiB reads/writes, no \
                framing, hashing or flow control (benches/src/bin/transfer_load/relay_floor.rs)";
    Ok(vec![
        Throughput {
            label: "bare relay, file → TCP → relay → TCP → file".into(),
            bytes: args.size,
            secs: file_secs,
            usage: None,
            note: note.into(),
        },
        Throughput {
            label: "bare relay, memory → TCP → relay → TCP → fresh Vec".into(),
            bytes: args.size,
            secs: memory_secs,
            usage: None,
            note: note.into(),
        },
    ])
}

fn iperf_peer(args: &Args, log_dir: &Path) -> BenchResult<Throughput> {
    let mut secs = Vec::new();
    let mut bps = Vec::new();
    for _ in 0..args.runs {
        let port = free_port()?;
        let mut command = Command::new(&args.iperf3_bin);
        command
            .args(["-s", "-1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr_file(log_dir, "iperf3-server.log")?);
        let mut server = ChildGuard::spawn("iperf3 -s", command)?;
        // No probe connection: `-1` serves exactly one client.
        wait_for_listener(port, Duration::from_secs(10))?;
        let out = Command::new(&args.iperf3_bin)
            .args(["-c", "127.0.0.1", "-p", &port.to_string()])
            .args(["-n", &args.size.to_string(), "-J"])
            .output()
            .map_err(|e| format!("iperf3 -c: {e}"))?;
        let _ = server.stop(Duration::from_secs(5));
        let json: serde_json::Value =
            serde_json::from_slice(&out.stdout).map_err(|e| format!("iperf3 -J output: {e}"))?;
        let sent = &json["end"]["sum_sent"];
        let b = sent["bits_per_second"]
            .as_f64()
            .ok_or_else(|| format!("no end.sum_sent.bits_per_second: {}", json["error"]))?;
        let bytes = sent["bytes"].as_f64().unwrap_or(args.size as f64);
        println!(
            "iperf3 -n {}: {:.2} Gbit/s sent ({:.0} MiB/s), {} B in {:.3} s",
            args.size,
            b / 1e9,
            b / 8.0 / MIB,
            bytes,
            sent["seconds"].as_f64().unwrap_or(0.0)
        );
        bps.push(b);
        // As seconds for the size, so the row shows MiB/s like the others.
        secs.push(args.size as f64 * 8.0 / b);
    }
    Ok(Throughput {
        label: "iperf3 single TCP stream, loopback".into(),
        bytes: args.size,
        secs,
        usage: None,
        note: "sum_sent.bits_per_second of `iperf3 -c 127.0.0.1 -n SIZE -J`".into(),
    })
}
