//! Soak run (issue 8): many clients of one fresh crvideo-server doing a steady mix of
//! logins, presence changes, calls, commands and connection resumes for minutes: does
//! anything fail that should not, does the server's memory stay flat once warm, what are the
//! p99 latencies meanwhile.
//!
//! `--clients` WebSocket clients log in (`--login-in-flight` at a time) and enable resume;
//! the first `--subscribers` subscribe to presence. Each is a task answering as the SDK
//! does: `accept_call` on `call_in`, a one-way `cmd_ack` on a command, pings every heartbeat
//! (and every `RESUME_ACK_EVERY` frames) with its count of the server's frames. The
//! scheduler issues `--rate` operations a second, kinds by the `--mix` weights, each on an
//! idle client (and an idle peer; a callee is never in DND): relogin (logout, the server's
//! Close, then hello, login, `enable_resume`, `subscribe_status`); presence (`set_dnd`); call
//! (accepted by the peer, then hung up); cmd (`--cmd-bytes` to a peer, which acknowledges);
//! resume (a `set_dnd` sent, the TCP connection dropped at once, a new one resumes the
//! session, sends again what the server missed, and gets the reply).
//!
//! `--warmup-secs`, then `--duration-secs` measured; then the operations still running
//! finish and every client logs out. The server's RSS is sampled every `--sample-secs`.
//! Any reply code but 0, an event a client had no reason to get, a timeout (10 s a step) or
//! a lost connection is an unexpected error, printed; the exit status is 1 on any, or when
//! the server's RSS grew more than `--rss-tolerance-pct` after the warm-up.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::Ordering::{AcqRel, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicU8};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use crvideo_bench::report::{Latency, Table};
use crvideo_bench::{
    at_least, cpu_secs, log_tail, machine_busy_secs, mem_total_mib, peak_rss_kib, positive,
    raise_fd_limit, rss_kib, run_load_generator, start_crvideo, stop_child, tcp_listen_overflows,
    BenchResult, Conn, ServerArgs, TempDir, BENCH_PASSWORD, BENCH_TENANT,
};
use crvideo_proto::data::{decode_data, encode_command, DataFrame};
use crvideo_proto::replay::Replay;
use crvideo_proto::{
    decode, encode, ClientFrame, ErrorCode, Event, LoginOk, LoginRequest, Reply, Request,
    ResumeInfo, Resumed, ServerFrame, PROTOCOL_VERSION, RESUME_ACK_EVERY,
};
use crvideo_testkit::Incoming;
use futures_util::StreamExt;
use tokio::sync::{mpsc, Semaphore};
use tokio::time::{interval_at, sleep_until, timeout, MissedTickBehavior};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

mod client;
mod model;
mod schedule;

use client::*;
use model::*;
use schedule::*;

const AGENT: &str = "crvideo-bench/soak";
const RESUME_WINDOW_MS: u64 = 30_000;
/// Longest wait for one reply, event or handshake.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait, after the steady phase, for the operations still running to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// What a client keeps of its own text frames for a resume (the SDK's bounds).
const REPLAY_FRAMES: usize = 4096;
const REPLAY_BYTES: usize = 32 << 20;

/// A soak run of crvideo-server (see docs/BENCHMARKS.md).
#[derive(Parser, Clone, Debug)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Logged-in clients.
    #[arg(long, default_value_t = 2000, value_parser = at_least(2))]
    clients: usize,
    /// Operations per second, over all clients (0 < rate <= 100000).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    #[arg(long, default_value_t = 60)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 180, value_parser = clap::value_parser!(u64).range(1..))]
    duration_secs: u64,
    /// Seconds between two samples of the server's RSS.
    #[arg(long, default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    sample_secs: u64,
    /// Clients subscribed to presence.
    #[arg(long, default_value_t = 50)]
    subscribers: usize,
    /// Bytes of a SendCmd.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u64).range(..=crvideo_proto::MAX_CMD_BYTES as u64))]
    cmd_bytes: u64,
    /// Weights of the operations (those not named: 0).
    #[arg(long, default_value = "relogin=10,presence=30,call=20,cmd=35,resume=5", value_parser = parse_mix)]
    mix: [u32; OpKind::N],
    /// Allowed growth of the server's RSS after the warm-up, in percent.
    #[arg(long, default_value_t = 10.0)]
    rss_tolerance_pct: f64,
    #[arg(long, default_value_t = 64, value_parser = positive)]
    login_in_flight: usize,
    /// Seed of the operation schedule.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Where to keep the server's log.
    #[arg(long)]
    server_log: Option<PathBuf>,
    /// Unexpected errors printed at most.
    #[arg(long, default_value_t = 50)]
    max_error_lines: usize,
    #[arg(long, default_value_t = 5000, value_parser = clap::value_parser!(u64).range(100..))]
    heartbeat_ms: u64,
}

/// `relogin=10,presence=30,...`: weights of the operation kinds (those not named: 0).
fn parse_mix(text: &str) -> Result<[u32; OpKind::N], String> {
    let mut mix = [0; OpKind::N];
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (name, weight) = part.split_once('=').unwrap_or((part, ""));
        let kind = OpKind::ALL.into_iter().find(|k| k.name() == name.trim());
        let kind = kind.ok_or(format!("unknown operation {name:?}"))?;
        let weight = weight
            .trim()
            .parse()
            .map_err(|_| format!("{part:?}: not NAME=WEIGHT"));
        mix[kind as usize] = weight?;
    }
    match mix.iter().any(|&w| w > 0) {
        true => Ok(mix),
        false => Err("every operation has weight 0".into()),
    }
}

fn main() {
    let args = Args::parse();
    if !(args.rate > 0.0 && args.rate <= 100_000.0) || args.subscribers > args.clients {
        let problem = "--rate must be in (0, 100000], --subscribers at most --clients";
        Args::command()
            .error(clap::error::ErrorKind::ValueValidation, problem)
            .exit()
    }
    let fd_limit = raise_fd_limit();
    run_load_generator("soak", run(args, fd_limit));
}

async fn run(args: Args, fd_limit: u64) -> BenchResult<()> {
    args.server.check()?;
    if (fd_limit as usize) < args.clients + 256 {
        let clients = args.clients;
        return Err(format!(
            "open-file limit {fd_limit} is too low for {clients} connections (raise ulimit -n)"
        ));
    }
    let dir = TempDir::new("soak")?;
    let heartbeat = args.heartbeat_ms;
    let extra = format!(
        "heartbeat_ms = {heartbeat}\nresume_window_ms = {RESUME_WINDOW_MS}\ncall_timeout_secs = 30"
    );
    let (mut server, addr) = start_crvideo(&args.server.server_bin, dir.path(), &extra)?;
    let pid = server.pid();
    let outcome = soak(&args, pid, addr, fd_limit).await;
    let alive = server.is_running();
    let stopped = stop_child(&mut server);
    let log = dir.path().join("server.log");
    let log_errors = report_server_log(&log);
    if let Some(keep) = &args.server_log {
        match std::fs::copy(&log, keep) {
            Ok(_) => println!("server log kept at {}", keep.display()),
            Err(e) => eprintln!("soak: cannot copy the server log to {keep:?}: {e}"),
        }
    }
    println!("server (pid {pid}): {stopped}");
    let tail = || format!("last lines of the server log:\n{}", log_tail(&log, 20));
    let mut problems = outcome.map_err(|e| format!("{e}\n{}", tail()))?;
    problems.extend(log_errors);
    if !alive {
        problems.insert(0, "the server exited during the run".into());
    }
    if !problems.is_empty() {
        return Err(problems.join("; "));
    }
    println!("\nsoak: PASS");
    Ok(())
}

/// Counts the server log's lines by level (printing the first warnings and errors); a
/// problem when it holds an ERROR line.
fn report_server_log(path: &std::path::Path) -> Option<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let (mut levels, mut shown) = (BTreeMap::<&str, u64>::new(), Vec::new());
    let named = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"].map(|l| (l, format!(" {l} ")));
    for line in text.lines() {
        let level = named.iter().find(|(_, pattern)| line.contains(pattern));
        let level = level.map_or("other", |(level, _)| level);
        *levels.entry(level).or_default() += 1;
        if matches!(level, "ERROR" | "WARN") && shown.len() < 10 {
            shown.push(line);
        }
    }
    let lines = text.lines().count();
    println!("\nserver log: {lines} lines, by level {levels:?}");
    shown.iter().for_each(|line| println!("  {line}"));
    let errors = levels.get("ERROR");
    errors.map(|n| format!("the server logged {n} ERROR lines"))
}

/// The soak itself: the problems found, if it ran.
async fn soak(args: &Args, pid: u32, addr: SocketAddr, fd_limit: u64) -> BenchResult<Vec<String>> {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let ram = mem_total_mib();
    println!("machine: {cores} cores, {ram} MiB RAM; open-file limit {fd_limit}; generator: 2 tokio workers");
    println!("config: {args:?}; server {addr} (pid {pid}), resume window {RESUME_WINDOW_MS} ms");
    let (rss_start, t0, n) = (rss_kib(pid)?, Instant::now(), args.clients);
    let sh = Arc::new(Shared {
        args: args.clone(),
        addr,
        t0,
        users: (0..n).map(|i| format!("soak{i:05}")).collect(),
        state: (0..n).map(|_| AtomicU8::new(BUSY)).collect(),
        dnd: (0..n).map(|_| AtomicBool::default()).collect(),
        phase: AtomicU8::new(Phase::Setup as u8),
        stats: Mutex::default(),
        cmd_payload: (0..args.cmd_bytes).map(|i| (i % 251) as u8).collect(),
    });
    let set_phase = |phase: Phase| sh.phase.store(phase as u8, Relaxed);

    // Log everyone in.
    let gate = Arc::new(Semaphore::new(args.login_in_flight));
    let (ready_tx, mut ready) = mpsc::unbounded_channel();
    let (mut senders, mut tasks) = (Vec::new(), Vec::new());
    for idx in 0..n {
        let (tx, rx) = mpsc::channel(1);
        senders.push(tx);
        let (client, gate, ready) = (Client::new(idx, sh.clone()), gate.clone(), ready_tx.clone());
        tasks.push(tokio::spawn(client_main(client, rx, gate, ready)));
    }
    let login_deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    for i in 0..n {
        let logged_in = tokio::time::timeout_at(login_deadline, ready.recv()).await;
        logged_in.map_err(|_| format!("only {i} of {n} clients logged in within 300 s"))?;
    }
    let (login_secs, dead) = (t0.elapsed().as_secs_f64(), sh.count_state(DEAD));
    (0..n).for_each(|i| sh.release(i));
    let rss_logged_in = rss_kib(pid)?;
    println!(
        "setup: {} clients logged in ({dead} failed) in {login_secs:.2} s ({:.0} logins/s); server \
         RSS {rss_start} KiB before, {rss_logged_in} KiB after",
        n - dead,
        (n - dead) as f64 / login_secs
    );

    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let (sampler_sh, sampler_samples) = (sh.clone(), samples.clone());
    let mut ticks = tokio::time::interval(Duration::from_secs(args.sample_secs));
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let sampler = tokio::spawn(async move {
        loop {
            ticks.tick().await;
            let s = take_sample(&sampler_sh, pid);
            let mut samples = sampler_samples.lock().unwrap();
            print_sample(&s, samples.last());
            samples.push(s);
        }
    });

    let (mut rng, me) = (Rng::new(args.seed), std::process::id());
    set_phase(Phase::Warmup);
    let warm_end = Instant::now() + Duration::from_secs(args.warmup_secs);
    schedule(&sh, &senders, &mut rng, warm_end).await;
    let warm = take_sample(&sh, pid);
    let (gen_cpu0, busy0) = (cpu_secs(me).unwrap_or(0.0), machine_busy_secs());
    let overflows0 = tcp_listen_overflows();
    println!("end of warm-up: server RSS {} KiB", warm.rss_kib);
    set_phase(Phase::Steady);
    let steady_start = Instant::now();
    let steady_end = steady_start + Duration::from_secs(args.duration_secs);
    schedule(&sh, &senders, &mut rng, steady_end).await;
    let secs = steady_start.elapsed().as_secs_f64();
    let end = take_sample(&sh, pid);
    let server_cpu = end.server_cpu - warm.server_cpu;
    let gen_cpu = cpu_secs(me).unwrap_or(0.0) - gen_cpu0;
    let busy = machine_busy_secs() - busy0;
    let overflows = tcp_listen_overflows() - overflows0;
    let peak_kib = peak_rss_kib(pid).unwrap_or(0);
    println!("end of run: server RSS {} KiB", end.rss_kib);

    // Let the operations still running finish, then every client logs out.
    set_phase(Phase::Drain);
    let drain_deadline = Instant::now() + DRAIN_TIMEOUT;
    while sh.count_state(BUSY) > 0 && Instant::now() < drain_deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let stuck = sh.count_state(BUSY);
    if stuck > 0 {
        let why = format!("{stuck} clients still busy {DRAIN_TIMEOUT:?} after the run");
        sh.error(0, why);
    }
    sampler.abort();
    set_phase(Phase::Teardown);
    drop(senders);
    let teardown = tokio::time::timeout(DRAIN_TIMEOUT, futures_util::future::join_all(tasks));
    if teardown.await.is_err() {
        let why = format!("clients still logging out {DRAIN_TIMEOUT:?} after the run");
        sh.error(0, why);
    }

    // Report.
    let stats = std::mem::take(&mut *sh.stats.lock().unwrap());
    let [_, warm_stats, steady, ..] = &stats.phases;
    let (done, failed) = (steady.sum(": done"), steady.sum(": failed"));
    let rate = done as f64 / secs;
    println!("\n## Soak result\n");
    println!("steady phase: {secs:.1} s; operations done {done} ({rate:.1}/s), failed {failed}\n");
    println!("Latency in the steady phase (ms; nearest-rank percentiles):\n");
    let latencies = Table::header(&["what", "n", "p50", "p99", "max", "over 1 s", "measured"]);
    for what in Timed::ALL {
        let samples = &steady.latencies[what as usize];
        if samples.is_empty() {
            continue;
        }
        let (l, n) = (Latency::of(samples), samples.len().to_string());
        let slow = samples.iter().filter(|d| d.as_secs_f64() > 1.0).count();
        let [p50, p99, max] = [l.p50_ms, l.p99_ms, l.max_ms].map(|ms| format!("{ms:.2}"));
        let (name, describe) = (what.name().into(), what.describe().into());
        latencies.row(&[name, n, p50, p99, max, slow.to_string(), describe]);
    }
    use Timed::{CallSetup, Relogin, Resume, SendCmd, SetDnd};
    let warm_p99 = [SetDnd, CallSetup, SendCmd, Relogin, Resume].map(|w| {
        let l = Latency::of(&warm_stats.latencies[w as usize]);
        format!("{} p99 {:.2} ms", w.name(), l.p99_ms)
    });
    println!("\n(warm-up: {})", warm_p99.join(", "));

    // Every count, per phase (those that can be 0 listed as well).
    let mut counts = BTreeMap::<String, [u64; Phase::N]>::new();
    for kind in OpKind::ALL.map(OpKind::name) {
        let results = ["issued", "done", "failed"].map(|r| format!("op {kind}: {r}"));
        counts.extend(results.map(|key| (key, [0; Phase::N])));
    }
    counts.extend([ERRORS, SKIPPED].map(|key| (key.into(), [0; Phase::N])));
    for (p, phase) in stats.phases.iter().enumerate() {
        for (key, n) in &phase.counts {
            counts.entry(key.clone()).or_default()[p] += n;
        }
    }
    println!("\nCounts per phase (every reply code but 0 is unexpected):\n");
    let table = Table::header(&[&["count"][..], &Phase::ALL.map(Phase::name)].concat());
    for (key, n) in &counts {
        table.row(&[&[key.clone()][..], &n.map(|n| n.to_string())].concat());
    }
    let total_errors: u64 = counts.get(ERRORS).map_or(0, |n| n.iter().sum());
    for line in &stats.first_errors {
        println!("  {line}");
    }

    let mut samples = samples.lock().unwrap().clone();
    samples.extend([warm, end]);
    samples.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    println!("\nServer RSS series (KiB, every {} s):", args.sample_secs);
    let series = samples
        .iter()
        .map(|s| format!("{:.0}s:{}", s.secs, s.rss_kib));
    println!("  {}", series.collect::<Vec<_>>().join(" "));
    samples.retain(|s| (warm.secs..=end.secs).contains(&s.secs));
    let max_steady = samples.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let min_steady = samples.iter().map(|s| s.rss_kib).min().unwrap_or(0);
    let slope = slope_kib_per_min(&samples);
    // Whether the growth is slowing down: the slope of the second half alone.
    let half = (warm.secs + end.secs) / 2.0;
    let slope_late = slope_kib_per_min(&samples[samples.partition_point(|s| s.secs < half)..]);
    let warm_kib = warm.rss_kib.max(1) as f64;
    let growth_pct = 100.0 * (end.rss_kib as f64 - warm.rss_kib as f64) / warm_kib;
    println!(
        "server RSS: {rss_start} KiB at start, {rss_logged_in} KiB with all logged in, {} KiB at \
         the end of the warm-up, {} KiB at the end of the run ({growth_pct:+.1}%); steady phase \
         min {min_steady} / max {max_steady} KiB; slope {slope:+.1} KiB/min ({:+.2}%/min of the \
         warm-up value), in its second half {slope_late:+.1} KiB/min; peak (VmHWM) {peak_kib} KiB",
        warm.rss_kib,
        end.rss_kib,
        100.0 * slope / warm_kib
    );
    // The counters come from different sources: clamp the rounding below zero.
    let other = (busy - server_cpu - gen_cpu).max(0.0);
    let [server_pct, gen_pct, other_pct] = [server_cpu, gen_cpu, other].map(|c| 100.0 * c / secs);
    println!(
        "CPU in the steady phase: server {server_cpu:.1} s ({server_pct:.0}% of one core), \
         generator {gen_cpu:.1} s ({gen_pct:.0}%), everything else on the machine {other:.1} s \
         ({other_pct:.0}%)\nconnections dropped by full listen queues in the steady phase \
         (system-wide, each costs its client a 1 s SYN retransmission): {overflows}"
    );
    let tolerance = args.rss_tolerance_pct;
    println!(
        "\nchecks: unexpected errors {total_errors} (must be 0); RSS growth after warm-up \
         {growth_pct:+.1}% (must be <= {tolerance}%)"
    );
    let mut problems = Vec::new();
    if total_errors > 0 {
        problems.push(format!("{total_errors} unexpected errors"));
    }
    if growth_pct > tolerance {
        let grew = format!("server RSS grew {growth_pct:.1}% after the warm-up");
        problems.push(format!("{grew} (tolerance {tolerance}%)"));
    }
    Ok(problems)
}
