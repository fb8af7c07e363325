//! Transparent channel: SendCmd round trips and SendBuffer / SendFile throughput between two
//! SDK processes through crvideo-server, against nats-server and iperf3. The coordinator
//! starts the server and itself twice, as `--role receiver` (user `rx`) and `--role sender`
//! (`tx`): one SDK per process, driven by line commands (`transfer_load/child.rs`). Timed in
//! the sender: `--cmds` sequential SendCmd (to the `SendCmdRlst` callback); SendBuffer of
//! `--pieces` × `--piece-bytes`, then of `--size`; SendFile of `--size` (each to its result
//! callback); per phase, peak RSS and CPU time of the three processes. Peers: nats-server
//! request/reply and publish → one subscriber, `iperf3 -n`, and a bare relay with no
//! protocol (`transfer_load/relay_floor.rs`). See docs/BENCHMARKS.md.

use std::ffi::{c_char, c_int, c_void, CStr, CString};
use std::future::Future;
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{fixed, ratio, table, Latency, Row};
use crvideo_bench::{
    filesystem_of, free_port, log_tail, machine, machine_busy_secs, nats, peak_rss_kib, positive,
    reset_peak_rss, stderr_file, BenchResult, ChildGuard, CpuSince, NatsArgs, Server, ServerArgs,
    TempDir, BENCH_PASSWORD, BENCH_TENANT,
};
use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::{lifecycle, session, transfer};

/// The child processes: one SDK each.
#[path = "transfer_load/child.rs"]
mod child;
#[path = "transfer_load/relay_floor.rs"]
mod relay_floor;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;
/// Longest wait for a child's answer to one line command (a 1 GiB transfer included).
const STEP: Duration = Duration::from_secs(600);
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
    /// Send the buffers with `CRVideo_SendBufferNoCopy` (the app's memory read in place,
    /// given back through a release callback) instead of `CRVideo_SendBuffer`.
    #[arg(long)]
    no_copy: bool,
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
        if let Err(e) = child::run(&argv[2..]) {
            eprintln!("transfer_load child: {e}");
            println!("ERROR {e}");
            std::process::exit(1);
        }
    } else if let Err(e) = coordinate(&Args::parse()) {
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

/// A child SDK process driven through its stdin/stdout.
struct Sdk {
    role: String,
    guard: ChildGuard,
    stdin: ChildStdin,
    lines: mpsc::Receiver<String>,
    log: PathBuf,
}

impl Sdk {
    /// Starts `--role ROLE USER PARAMS` (PARAMS: `CRVideo_Init`'s JSON, its `tmpDir`
    /// `work/USER`), its log in `work`; returns at its READY.
    fn spawn(role: &str, user: &str, addr: SocketAddr, buf: u64, work: &Path) -> BenchResult<Sdk> {
        let params = serde_json::json!({
            "serverAddr": addr.to_string(),
            "tmpDir": work.join(user),
            "maxBufferBytes": buf,
            "logLevel": "warn",
        });
        let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
        let (mut command, log) = (Command::new(exe), format!("{role}.log"));
        command.args(["--role", role, user, &params.to_string()]);
        command.stdin(Stdio::piped()).stdout(Stdio::piped());
        command.stderr(stderr_file(work, &log)?);
        let mut guard = ChildGuard::spawn(role, command)?;
        let stdin = guard.child_mut().stdin.take().ok_or("no child stdin")?;
        let stdout = guard.child_mut().stdout.take().ok_or("no child stdout")?;
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines().map_while(Result::ok);
            let _ = lines.try_for_each(|line| tx.send(line));
        });
        let (role, log) = (role.to_string(), work.join(log));
        let mut sdk = Sdk {
            role,
            guard,
            stdin,
            lines,
            log,
        };
        sdk.expect("READY", Duration::from_secs(60))?;
        Ok(sdk)
    }

    fn tell(&mut self, line: &str) -> BenchResult<()> {
        let written = writeln!(self.stdin, "{line}").and_then(|()| self.stdin.flush());
        written.map_err(|e| format!("{}: cannot write to it: {e}", self.role))
    }

    /// The rest of the next line starting with `word`; an `ERROR` line fails.
    fn expect(&mut self, word: &str, within: Duration) -> BenchResult<String> {
        let (deadline, role) = (Instant::now() + within, &self.role);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Ok(line) = self.lines.recv_timeout(left) else {
                let log = log_tail(&self.log, 20);
                return Err(format!(
                    "{role}: no {word} line within {within:?}; last lines of its log:\n{log}"
                ));
            };
            if let Some(rest) = line.strip_prefix(word) {
                return Ok(rest.trim().to_owned());
            }
            if let Some(e) = line.strip_prefix("ERROR ") {
                return Err(format!("{role}: {e}"));
            }
            eprintln!("[{role}] {line}");
        }
    }

    fn ask(&mut self, line: &str, word: &str) -> BenchResult<String> {
        self.tell(line)?;
        self.expect(word, STEP)
    }

    /// The receiver's `key=` figure since the last stats.
    fn stats(&mut self, key: &str) -> BenchResult<String> {
        Ok(field(&self.ask("stats", "STATS")?, key)?.to_string())
    }
}

/// The value of a `key=value` field of a child's answer.
fn field<'a>(line: &'a str, key: &str) -> BenchResult<&'a str> {
    let mut fields = line.split_whitespace();
    let value = fields.find_map(|kv| kv.strip_prefix(key)?.strip_prefix('='));
    value.ok_or_else(|| format!("no {key}= in {line:?}"))
}

/// The numbers of `a,b,...`.
fn list(values: &str) -> BenchResult<Vec<f64>> {
    let values = values.split(',').filter(|v| !v.is_empty());
    values
        .map(|v| v.parse().map_err(|_| format!("not a number: {v}")))
        .collect()
}

/// The numbers of the `key=a,b,...` fields of `lines`.
fn numbers(lines: &[String], key: &str) -> BenchResult<Vec<f64>> {
    let lists = lines.iter().map(|line| list(field(line, key)?));
    Ok(lists.collect::<BenchResult<Vec<_>>>()?.concat())
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Peak RSS (MiB) and CPU seconds of the server, the sender and the receiver over a phase,
/// and the CPU seconds the rest of the machine used meanwhile (other processes, the kernel's
/// own threads: near 0 for a clean measurement).
type PhaseUsage = ([f64; 3], [f64; 3], f64);

/// Measures a phase's [`PhaseUsage`] from its start on.
struct Usage([u32; 3], CpuSince<3>, f64);

impl Usage {
    fn start(pids: [u32; 3]) -> BenchResult<Usage> {
        for pid in pids.into_iter().filter(|&pid| !reset_peak_rss(pid)) {
            eprintln!("warning: cannot reset the peak RSS of pid {pid} (clear_refs)");
        }
        Ok(Usage(pids, CpuSince::start(pids)?, machine_busy_secs()))
    }

    fn end(&self) -> BenchResult<PhaseUsage> {
        let cpu = self.1.used()?;
        let mut peak = [0.0; 3];
        for (peak, &pid) in peak.iter_mut().zip(&self.0) {
            *peak = peak_rss_kib(pid)? as f64 / 1024.0;
        }
        let other = machine_busy_secs() - self.2 - cpu.iter().sum::<f64>();
        Ok((peak, cpu, other.max(0.0)))
    }
}

/// What the summary prints, gathered as the phases run.
#[derive(Default)]
struct Summary {
    cmds: Vec<Row>,
    /// SendCmd's, then NATS request/reply's: empty reply, echo, via app and dispatch threads.
    cmd_latency: Vec<Latency>,
    throughput: Vec<Row>,
    /// The label and median MiB/s of each throughput row.
    medians: Vec<(String, f64)>,
    notes: Vec<String>,
    usage: Vec<Row>,
}

impl Summary {
    /// A SendCmd or NATS request/reply row.
    fn cmd(&mut self, label: String, l: Latency, samples: usize, secs: f64) {
        let per_sec = fixed(samples as f64 / secs, 0);
        let row = Row::new(label).col("n", samples).us("", &l);
        let row = row.col("per s", per_sec);
        row.print();
        self.cmds.push(row);
        self.cmd_latency.push(l);
    }

    /// A throughput row: `bytes` and seconds per run.
    fn throughput(&mut self, label: String, bytes: u64, secs: Vec<f64>, note: String) {
        let mut mibs: Vec<f64> = secs.iter().map(|s| bytes as f64 / MIB / s).collect();
        mibs.sort_by(f64::total_cmp);
        let median = mibs.get(mibs.len() / 2).copied().unwrap_or(0.0);
        let mib = |x: Option<&f64>| fixed(x.copied().unwrap_or(0.0), 0);
        let runs: Vec<String> = secs.iter().map(|s| fixed(*s, 3)).collect();
        let row = Row::new(&label)
            .col("runs", secs.len())
            .col("median MiB/s", fixed(median, 0))
            .col("min", mib(mibs.first()))
            .col("max", mib(mibs.last()))
            .col("seconds per run", runs.join(", "));
        self.throughput.push(row);
        self.notes.push(format!("{label}: {note}"));
        self.medians.push((label, median));
    }

    /// A transfer of ours: its usage and throughput rows.
    fn transfer(&mut self, label: String, bytes: u64, secs: Vec<f64>, note: String, u: PhaseUsage) {
        let gib = (bytes * secs.len() as u64) as f64 / GIB;
        self.usage(&label, u.0, Some((u, gib.max(1e-9), 2)));
        self.throughput(label, bytes, secs, note);
    }

    /// A usage row with the CPU time per `per` (GiB or command) with `digits` decimals, or
    /// without CPU time.
    fn usage(&mut self, label: &str, peak: [f64; 3], cpu: Option<(PhaseUsage, f64, usize)>) {
        let mut row = Row::new(label);
        let who = ["server", "sender", "receiver"];
        for (who, peak) in who.iter().zip(peak) {
            row = row.col(format!("{who} peak RSS MiB"), fixed(peak, 0));
        }
        for (i, who) in who.iter().enumerate() {
            let cpu = cpu.map_or("–".into(), |(u, per, d)| fixed(u.1[i] / per, d));
            row = row.col(format!("{who} CPU s/GiB"), cpu);
        }
        let other = cpu.map_or("–".into(), |(u, ..)| fixed(u.2, 1));
        self.usage.push(row.col("other CPU s", other));
    }

    fn print(&self) {
        println!("\n== Summary (markdown) ==\n");
        table("SendCmd / request-reply round trip", &self.cmds);
        println!();
        table("throughput", &self.throughput);
        self.notes.iter().for_each(|note| println!("- {note}"));
        println!();
        table("phase", &self.usage);

        println!("\nRatios and targets (issue 21):");
        if let [ours, empty, echo, handed] = &self.cmd_latency[..] {
            let p50 = |nats: &Latency| ratio(ours.p50_ms, nats.p50_ms);
            let p99 = |nats: &Latency| ratio(ours.p99_ms, nats.p99_ms);
            let (empty50, echo50, handed50) = (p50(empty), p50(echo), p50(handed));
            let met = verdict(empty50.max(echo50) <= 0.8);
            println!("- SendCmd p50 / nats p50: {empty50:.2} (empty reply), {echo50:.2} (echo); target ≤ 0.8: {met}");
            let (empty99, echo99, handed99) = (p99(empty), p99(echo), p99(handed));
            let met = verdict(empty99.max(echo99) <= 1.0);
            println!("- SendCmd p99 / nats p99: {empty99:.2} (empty reply), {echo99:.2} (echo); target ≤ 1.0: {met}");
            println!("- SendCmd / nats with the SDK's thread hand-offs (app → I/O thread, I/O → dispatch thread; no target): p50 {handed50:.2}, p99 {handed99:.2}");
        }
        let peer = |what: &dyn Fn(&str) -> bool| self.medians.iter().find(|(l, _)| what(l));
        for (label, ours) in self.medians.iter().filter(|(l, _)| l.starts_with("Send")) {
            let mut parts = Vec::new();
            let file = label.starts_with("SendFile");
            if let Some((_, nats)) = peer(&|l| l.starts_with("nats")) {
                let r = ratio(*ours, *nats);
                // Buffers: pieces (N × 100 MiB) ≥ 1.0 × NATS, whole ones ≥ 0.8 ×.
                let target = (!file).then_some(if label.contains('×') { 1.0 } else { 0.8 });
                match target {
                    Some(t) => {
                        parts.push(format!("/ nats {r:.2} (target ≥ {t}: {})", verdict(r >= t)))
                    }
                    None => parts.push(format!("/ nats {r:.2} (no target)")),
                }
            }
            if let Some((_, iperf)) = peer(&|l| l.starts_with("iperf3")) {
                let r = ratio(*ours, *iperf) * 100.0;
                parts.push(format!("/ iperf3 {r:.0} % (no target)"));
            }
            // The floor of the same kind: file for SendFile, memory for SendBuffer.
            let same_kind = |l: &str| l.starts_with("bare relay") && l.contains("file") == file;
            if let Some((_, floor)) = peer(&same_kind) {
                let r = ratio(*ours, *floor) * 100.0;
                match file {
                    true => parts.push(format!(
                        "/ bare relay {r:.0} % (target ≥ 90 %: {})",
                        verdict(r >= 90.0)
                    )),
                    false => parts.push(format!("/ bare relay {r:.0} % (no target)")),
                }
            }
            println!("- {label}: {}", parts.join(", "));
        }
    }
}

fn verdict(met: bool) -> &'static str {
    if met {
        "met"
    } else {
        "NOT met"
    }
}

fn coordinate(args: &Args) -> BenchResult<()> {
    args.server.check()?;
    let work = match &args.work_dir {
        Some(dir) => TempDir::at(dir.join(format!("run-{}", std::process::id())))?,
        None => TempDir::new("transfer")?,
    };
    let work = work.path();
    for d in ["server", "src", "rx", "tx"].map(|d| work.join(d)) {
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let fs = filesystem_of(work).unwrap_or_else(|| "?".into());
    let (machine, dir) = (machine(), work.display());
    println!("machine: {machine}; work dir {dir} on {fs}");
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("load average at start: {}", load.trim());

    let mut sum = Summary::default();
    let (bin, workers) = (&args.server.server_bin, args.server_workers);
    let workers = format!("worker_threads = {workers}");
    let server = Server::crvideo(bin, &work.join("server"), &workers, "")?;
    let ours = crvideo_phases(args, &server, work, &mut sum);
    server.finish(ours)?;
    if !args.nats.skip_nats {
        println!("\n== nats-server ==");
        let dir = TempDir::new("transfer-nats")?;
        let nats = Server::nats(&args.nats.nats_bin, dir.path(), &[])?;
        let result = nats_peer(args, nats.addr, nats.pid(), &mut sum);
        nats.finish(result)?;
    }
    if !args.skip_iperf {
        iperf_peer(args, work, &mut sum)?;
    }
    if !args.skip_floor {
        floor_peer(args, &work.join("src"), &mut sum)?;
    }
    sum.print();
    Ok(())
}

/// The SDK processes' phases on `server`.
fn crvideo_phases(args: &Args, server: &Server, work: &Path, sum: &mut Summary) -> BenchResult<()> {
    let (addr, max_buffer) = (server.addr, args.size.max(args.piece_bytes));
    let mut rx = Sdk::spawn("receiver", "rx", addr, max_buffer, work)?;
    let mut tx = Sdk::spawn("sender", "tx", addr, max_buffer, work)?;
    let pids = [server.pid(), tx.guard.pid(), rx.guard.pid()];
    let [server, sender, receiver] = pids;
    let pids_line = format!("server {server}, sender {sender}, receiver {receiver}");
    println!("crvideo-server pid {server} at {addr}; sender pid {sender}, receiver pid {receiver}");
    let idle = Usage::start(pids)?.end()?;
    sum.usage("idle, logged in", idle.0, None);
    let mut peaks = vec![idle.0];
    // Runs `runs` transfers (each `run` returns the sender's answer), measuring the usage.
    let mut phase = |title: String, runs: usize, run: &mut dyn FnMut() -> BenchResult<String>| {
        println!("\n== {title} ==");
        let usage = Usage::start(pids)?;
        let lines = (0..runs).map(|_| run().inspect(|line| println!("{line}")));
        let lines = lines.collect::<BenchResult<Vec<String>>>()?;
        let usage = usage.end()?;
        peaks.push(usage.0);
        BenchResult::Ok((lines, usage))
    };

    let (w, n, b) = (args.cmd_warmup, args.cmds, args.cmd_bytes);
    let ask = format!("cmd rx {n} {w} {b}");
    let title = format!("SendCmd: {n} × {b} B (after {w} unmeasured)");
    let (cmd, u) = phase(title, 1, &mut || tx.ask(&ask, "CMD"))?;
    let got = rx.stats("cmds")?;
    if got != (n + w).to_string() {
        return Err(format!("receiver: {got} commands, expected {}", n + w));
    }
    let [p50, p99, max, secs] = ["p50_us", "p99_us", "max_us", "secs"].map(|k| numbers(&cmd, k));
    let (p50_ms, p99_ms, max_ms) = (p50?[0] / 1e3, p99?[0] / 1e3, max?[0] / 1e3);
    let latency = Latency {
        p50_ms,
        p99_ms,
        max_ms,
    };
    let label = format!("crvideo SendCmd {b} B → NotifyCmdData → SendCmdRlst");
    sum.cmd(label, latency, n, secs?[0]);
    let per_command = Some((u, (n + w) as f64 / 1e6, 1));
    sum.usage("SendCmd (CPU: µs per command)", u.0, per_command);

    // The receiver got `count` buffers of `size` bytes since the last stats.
    let check_buffers = |rx: &mut Sdk, size: u64, count: usize| {
        let got = list(&rx.stats("buffers")?)?;
        match got.len() == count && got.iter().all(|&n| n == size as f64) {
            true => Ok(()),
            false => Err(format!("receiver: buffers {got:?}, not {count} of {size}")),
        }
    };
    let (verb, call) = match args.no_copy {
        true => ("lend", "SendBufferNoCopy"),
        false => ("buffer", "SendBuffer"),
    };
    if args.pieces > 0 {
        let (size, count) = (args.piece_bytes, args.pieces);
        let (ask, mib) = (format!("{verb} rx {size} {count}"), size as f64 / MIB);
        let title = format!("{call}: {count} × {mib} MiB");
        let (lines, u) = phase(title, 1, &mut || tx.ask(&ask, "BUFFER"))?;
        check_buffers(&mut rx, size, count)?;
        let secs = numbers(&lines, "secs")?;
        let note = format!("per piece: p50 {:.0} MiB/s", mib / median(&secs));
        let label = format!("{call} {count} × {mib:.0} MiB (one after another)");
        sum.transfer(label, size * count as u64, vec![secs.iter().sum()], note, u);
    }
    let (size, mib) = (args.size, args.size as f64 / MIB);
    let runs = args.buffer_runs.unwrap_or(args.runs);
    if runs > 0 {
        let ask = format!("{verb} rx {size} 1");
        let title = format!("{call}: {runs} × {mib} MiB");
        let (lines, u) = phase(title, runs, &mut || {
            let line = tx.ask(&ask, "BUFFER")?;
            check_buffers(&mut rx, size, 1).map(|()| line)
        })?;
        let call_secs = median(&numbers(&lines, "call_secs")?);
        let note = match args.no_copy {
            true => "CRVideo_SendBufferNoCopy itself returns after",
            false => "CRVideo_SendBuffer itself (copy of the buffer) returns after",
        };
        let note = format!("{note} {call_secs:.3} s (median)");
        let label = format!("{call} {mib:.0} MiB");
        sum.transfer(label, size, numbers(&lines, "secs")?, note, u);
    }
    let runs = args.file_runs.unwrap_or(args.runs);
    if runs > 0 {
        let (src, rx_dir) = (work.join("src/payload.bin"), work.join("rx"));
        write_random_file(&src, size)?;
        if args.pause_before_file > 0 {
            let secs = args.pause_before_file;
            println!("pausing {secs} s (e.g. to attach perf): {pids_line}");
            std::thread::sleep(Duration::from_secs(secs));
        }
        let ask = format!("file rx {}", src.display());
        let title = format!("SendFile: {runs} × {mib} MiB");
        let (lines, u) = phase(title, runs, &mut || {
            if args.drop_caches {
                drop_caches()?;
            }
            let line = tx.ask(&ask, "FILE")?;
            let files = rx.stats("files")?;
            let (path, len) = files.rsplit_once('=').ok_or("receiver got no file")?;
            if len.parse::<u64>() != Ok(size) || !Path::new(path).starts_with(&rx_dir) {
                return Err(format!("receiver: unexpected file {files}"));
            }
            rx.ask("cleanup", "CLEANED").map(|_| line)
        })?;
        let fs = filesystem_of(&src);
        let cache = match args.drop_caches {
            true => "dropped before each run",
            false => "warm (source just written)",
        };
        let fs = fs.unwrap_or_default();
        let note = format!("source and tmpDir on {fs}, page cache {cache}");
        let (label, secs) = (format!("SendFile {mib:.0} MiB"), numbers(&lines, "secs")?);
        sum.transfer(label, size, secs, note, u);
        let _ = std::fs::remove_file(&src);
    }
    // The peak of the whole run: the largest of the phases' peaks (each phase reset it).
    let mut whole = [0.0f64; 3];
    for (i, &pid) in pids.iter().enumerate() {
        let now = peak_rss_kib(pid)? as f64 / 1024.0;
        whole[i] = peaks.iter().map(|p| p[i]).fold(now, f64::max);
    }
    sum.usage("whole run (largest phase peak)", whole, None);
    for sdk in [&mut tx, &mut rx] {
        sdk.tell("quit")?;
        sdk.expect("BYE", Duration::from_secs(30))?;
    }
    Ok(())
}

fn write_random_file(path: &Path, size: u64) -> BenchResult<()> {
    let error = |e: std::io::Error| format!("{}: {e}", path.display());
    let mut file = std::fs::File::create(path).map_err(error)?;
    let (mut block, mut written, mut seed) = (vec![0u8; 8 << 20], 0u64, 1u64);
    while written < size {
        let n = (size - written).min(block.len() as u64) as usize;
        fill_pseudo_random(&mut block[..n], seed);
        file.write_all(&block[..n]).map_err(error)?;
        (written, seed) = (written + n as u64, seed + 1);
    }
    // On disk before the transfers start, so that its writeback does not overlap them.
    file.sync_all().map_err(error)
}

fn drop_caches() -> BenchResult<()> {
    // SAFETY: sync(2) has no preconditions.
    unsafe { libc::sync() };
    let dropped = std::fs::write("/proc/sys/vm/drop_caches", "3");
    dropped.map_err(|e| format!("cannot drop the page cache (needs root): {e}"))
}

/// Runs `f` on a thread of its own with a single-threaded tokio runtime (as each SDK process
/// has its own I/O thread); returns once `f` says it is ready.
fn on_thread<T, F, R>(f: R) -> BenchResult<JoinHandle<BenchResult<T>>>
where
    T: Send + 'static,
    F: Future<Output = BenchResult<T>> + 'static,
    R: FnOnce(mpsc::Sender<()>) -> F + Send + 'static,
{
    let (ready_tx, ready) = mpsc::channel();
    let thread = std::thread::spawn(move || block_on(f(ready_tx)));
    let ready = ready.recv_timeout(NATS_TIMEOUT);
    ready.map_err(|_| "a NATS client thread did not get ready")?;
    Ok(thread)
}

fn join<T>(h: JoinHandle<BenchResult<T>>) -> BenchResult<T> {
    h.join().map_err(|_| "peer thread panicked".to_string())?
}

/// Runs `f` on this thread with a single-threaded tokio runtime.
fn block_on<T>(f: impl Future<Output = BenchResult<T>>) -> BenchResult<T> {
    let mut runtime = tokio::runtime::Builder::new_current_thread();
    runtime
        .enable_all()
        .build()
        .map_err(|e| format!("tokio: {e}"))?
        .block_on(f)
}

/// The nats-server peer: request/reply (empty reply, echo, and empty reply via app and
/// dispatch threads), then publish → one subscriber of `--size` bytes.
fn nats_peer(args: &Args, addr: SocketAddr, pid: u32, sum: &mut Summary) -> BenchResult<()> {
    let info = block_on(async move { Ok(nats::connect(addr, NATS_TIMEOUT).await?.server_info()) })?;
    let (version, msg_bytes) = (info.version, info.max_payload);
    println!("nats-server {version} pid {pid}: max_payload {msg_bytes} B (messages of that size)");

    let (warmup, count, bytes) = (args.cmd_warmup, args.cmds, args.cmd_bytes);
    let via = "empty reply, via app and dispatch threads";
    for (what, echo) in [
        ("empty reply", false),
        ("reply echoes it", true),
        (via, false),
    ] {
        let answering = on_thread(move |ready| async move {
            let responder = nats::connect(addr, NATS_TIMEOUT).await?;
            let mut requests = nats::subscribe(&responder, "req", NATS_TIMEOUT).await?;
            let _ = ready.send(());
            for _ in 0..warmup + count {
                let msg = nats::next(&mut requests, NATS_TIMEOUT).await?;
                let reply_to = msg.reply.ok_or("request without a reply subject")?;
                let body = if echo { msg.payload } else { Bytes::new() };
                nats::publish(&responder, reply_to.as_str(), None, body).await?;
            }
            // The last reply out before the connection closes.
            nats::flush(&responder, NATS_TIMEOUT).await
        })?;
        let (samples, secs) = match what == via {
            true => nats_handed_off(addr, warmup, count, bytes)?,
            false => block_on(nats_requests(addr, warmup, count, bytes, echo))?,
        };
        join(answering)?;
        let label = format!("nats request {bytes} B, {what}");
        sum.cmd(label, Latency::of(&samples), samples.len(), secs);
    }

    // Bulk: `size` bytes in max_payload messages, publisher → one subscriber.
    let messages = args.size.div_ceil(msg_bytes as u64);
    let (bytes, mut secs) = (messages * msg_bytes as u64, Vec::new());
    let cpu = CpuSince::start([pid, std::process::id()])?;
    let busy = machine_busy_secs();
    for run in 0..args.runs {
        let (start_tx, start_rx) = mpsc::channel::<Instant>();
        let receiving = on_thread(move |ready| async move {
            let conn = nats::connect(addr, NATS_TIMEOUT).await?;
            let mut bulk = nats::subscribe(&conn, "bulk", NATS_TIMEOUT).await?;
            let _ = ready.send(());
            let mut got = 0u64;
            while got < bytes {
                got += nats::next(&mut bulk, NATS_TIMEOUT).await?.payload.len() as u64;
            }
            let done = Instant::now();
            let t0 = start_rx.recv().map_err(|_| "no start time")?;
            Ok((done - t0).as_secs_f64())
        })?;
        block_on(async move {
            let conn = nats::connect(addr, NATS_TIMEOUT).await?;
            let out = Bytes::from(pseudo_random(msg_bytes, run as u64 + 3));
            let _ = start_tx.send(Instant::now());
            for _ in 0..messages {
                nats::publish(&conn, "bulk", None, out.clone()).await?;
            }
            nats::flush(&conn, NATS_TIMEOUT).await
        })?;
        let s = join(receiving)?;
        let mibs = bytes as f64 / MIB / s;
        println!("publish {messages} × {msg_bytes} B → 1 subscriber: {s:.3} s, {mibs:.0} MiB/s");
        secs.push(s);
    }
    let [server_cpu, own] = cpu.used()?;
    let other = (machine_busy_secs() - busy - server_cpu - own).max(0.0);
    let peak = peak_rss_kib(pid)? as f64 / 1024.0;
    let gib = bytes as f64 * args.runs as f64 / GIB;
    let (server_cpu, own) = (server_cpu / gib, own / gib);
    let msg_mib = msg_bytes as f64 / MIB;
    let label = format!("nats-server pub → 1 sub, {messages} × {msg_mib:.0} MiB msgs");
    let note = format!("nats-server CPU {server_cpu:.2} s/GiB, clients (this process) {own:.2} s/GiB, peak RSS {peak:.0} MiB; other CPU meanwhile {other:.1} s");
    sum.throughput(label, bytes, secs, note);
    Ok(())
}

/// `warmup` + `count` requests of `bytes` to `req`, each timed from just before its `PUB`
/// until its reply is read; returns the measured ones and their seconds.
async fn nats_requests(
    addr: SocketAddr,
    warmup: usize,
    count: usize,
    bytes: usize,
    echo: bool,
) -> BenchResult<(Vec<Duration>, f64)> {
    let conn = nats::connect(addr, NATS_TIMEOUT).await?;
    let mut inbox = nats::subscribe(&conn, "_INBOX.r", NATS_TIMEOUT).await?;
    let out = Bytes::from(pseudo_random(bytes, 7));
    let (mut samples, mut started) = (Vec::with_capacity(count), Instant::now());
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
}

/// NATS request/reply timed like SendCmd in an SDK app: t0 on the app's thread, which hands
/// the request to a client I/O thread (a single-threaded tokio runtime, like `crvideo-io`);
/// that thread writes the `PUB`, reads the reply and hands it to a dispatch thread, where
/// t1 is taken (like the `SendCmdRlst` callback), which then wakes the app's thread for the
/// next request. Same server, responder and payload as [`nats_requests`], which times both
/// ends inside the I/O thread.
fn nats_handed_off(
    addr: SocketAddr,
    warmup: usize,
    count: usize,
    bytes: usize,
) -> BenchResult<(Vec<Duration>, f64)> {
    let (requests, mut to_send) = tokio::sync::mpsc::unbounded_channel::<()>();
    let (replies, to_dispatch) = mpsc::channel::<()>();
    let (dispatched, to_app) = mpsc::channel::<Instant>();
    let io = on_thread(move |ready| async move {
        let conn = nats::connect(addr, NATS_TIMEOUT).await?;
        let mut inbox = nats::subscribe(&conn, "_INBOX.h", NATS_TIMEOUT).await?;
        let _ = ready.send(());
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
    })?;
    let dispatch = std::thread::spawn(move || {
        while to_dispatch.recv().is_ok() && dispatched.send(Instant::now()).is_ok() {}
    });
    let (mut samples, mut started) = (Vec::with_capacity(count), Instant::now());
    for i in 0..warmup + count {
        if i == warmup {
            started = Instant::now();
        }
        let t0 = Instant::now();
        requests.send(()).map_err(|_| "the NATS I/O thread ended")?;
        let t1 = to_app.recv_timeout(NATS_TIMEOUT);
        let t1 = t1.map_err(|_| "no reply within the timeout")?;
        if i >= warmup {
            samples.push(t1 - t0);
        }
    }
    let secs = started.elapsed().as_secs_f64();
    drop(requests);
    join(io)?;
    let _ = dispatch.join();
    Ok((samples, secs))
}

/// Waits until some socket listens on TCP `port` (from `/proc/net/tcp{,6}`, without
/// connecting: `iperf3 -s -1` would take a probe for its one client).
fn wait_for_listener(port: u16, within: Duration) -> BenchResult<()> {
    let (deadline, needle) = (Instant::now() + within, format!(":{port:04X}"));
    // sl local_address rem_address st ...; st 0A is LISTEN.
    let listening = |line: &str| match line.split_whitespace().collect::<Vec<_>>()[..] {
        [_, local, _, state, ..] => local.ends_with(&needle) && state == "0A",
        _ => false,
    };
    loop {
        let tables = ["/proc/net/tcp", "/proc/net/tcp6"].map(std::fs::read_to_string);
        let mut tables = tables.iter().flatten();
        if tables.any(|t| t.lines().skip(1).any(listening)) {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(format!("nothing listens on port {port} after {within:?}"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The bare relay of `relay_floor`, `--runs` times each for a file and for memory.
fn floor_peer(args: &Args, dir: &Path, sum: &mut Summary) -> BenchResult<()> {
    println!("\n== bare relay (no protocol) ==");
    let (src, dst) = (dir.join("floor-source.bin"), dir.join("floor-received.bin"));
    write_random_file(&src, args.size)?;
    let note = "three threads of the bench, two loopback TCP hops, 256 KiB reads/writes, no \
                framing, hashing or flow control (benches/src/bin/transfer_load/relay_floor.rs)";
    let file = Some((src.as_path(), dst.as_path()));
    for (what, to, file) in [("file", "file", file), ("memory", "fresh Vec", None)] {
        let mut secs = Vec::new();
        for _ in 0..args.runs {
            let s = relay_floor::relay_once(args.size, file)?;
            let _ = std::fs::remove_file(&dst);
            println!("bare relay, {what} → {to}: {s:.3} s");
            secs.push(s);
        }
        let _ = std::fs::remove_file(&src);
        let label = format!("bare relay, {what} → TCP → relay → TCP → {to}");
        sum.throughput(label, args.size, secs, note.into());
    }
    Ok(())
}

fn iperf_peer(args: &Args, log_dir: &Path, sum: &mut Summary) -> BenchResult<()> {
    println!("\n== iperf3 ==");
    let (mut secs, size) = (Vec::new(), args.size.to_string());
    for _ in 0..args.runs {
        let port = free_port()?;
        let mut command = Command::new(&args.iperf3_bin);
        let log = stderr_file(log_dir, "iperf3-server.log")?;
        command.args(["-s", "-1", "-p", &port.to_string()]);
        command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        let mut server = ChildGuard::spawn("iperf3 -s", command)?;
        // No probe connection: `-1` serves exactly one client.
        wait_for_listener(port, Duration::from_secs(10))?;
        let mut client = Command::new(&args.iperf3_bin);
        let port = port.to_string();
        client.args(["-c", "127.0.0.1", "-p", &port, "-n", &size, "-J"]);
        let out = client.output().map_err(|e| format!("iperf3 -c: {e}"))?;
        let _ = server.stop(Duration::from_secs(5));
        let json = serde_json::from_slice::<serde_json::Value>(&out.stdout);
        let json = json.map_err(|e| format!("iperf3 -J output: {e}"))?;
        let sent = &json["end"]["sum_sent"];
        let no_rate = || format!("no end.sum_sent.bits_per_second: {}", json["error"]);
        let bps = sent["bits_per_second"].as_f64().ok_or_else(no_rate)?;
        let (gbps, mibs) = (bps / 1e9, bps / 8.0 / MIB);
        let bytes = sent["bytes"].as_f64().unwrap_or(args.size as f64);
        let time = sent["seconds"].as_f64().unwrap_or(0.0);
        let (gbps, mibs) = (format!("{gbps:.2} Gbit/s"), format!("{mibs:.0} MiB/s"));
        println!("iperf3 -n {size}: {gbps} sent ({mibs}), {bytes} B in {time:.3} s");
        // As seconds for the size, so the row shows MiB/s like the others.
        secs.push(args.size as f64 * 8.0 / bps);
    }
    let note = "sum_sent.bits_per_second of `iperf3 -c 127.0.0.1 -n SIZE -J`".into();
    let label = "iperf3 single TCP stream, loopback".into();
    sum.throughput(label, args.size, secs, note);
    Ok(())
}
