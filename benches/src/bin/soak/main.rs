//! Soak run (issue 8): many clients of one crvideo-server doing a steady mix of logins,
//! presence changes, calls, commands and connection resumes for minutes, to show that
//! nothing fails that should not, that the server's memory stays flat once warm, and what
//! the p99 latencies are while it runs.
//!
//! A fresh server (heartbeat `--heartbeat-ms`, resume window 30 s). `--clients` WebSocket
//! clients log in (at most `--login-in-flight` at a time), enable resume as the SDK does by
//! default, and the first `--subscribers` subscribe to presence. Each client is a task that
//! answers as an SDK would: `accept_call` on `call_in`, a one-way `cmd_ack` on a command,
//! pings every heartbeat (and every `RESUME_ACK_EVERY` frames) with its count of the server's
//! text frames. A scheduler issues operations at `--rate` per second, each kind by the
//! `--mix` weights, on random idle clients (a client, and the peer of a call or command,
//! does one operation at a time; a callee is never in DND):
//!
//! - relogin: `logout`, wait for the server's Close, then a new connection: hello, login,
//!   `enable_resume`, and `subscribe_status` again for subscribers;
//! - presence: `set_dnd` (toggles between 0 and 1..3);
//! - call: `call` a random peer, which accepts; on `call_accepted` the caller hangs up;
//! - cmd: a `--cmd-bytes` command to a random peer, which acknowledges it; the sender waits
//!   for its reply;
//! - resume: a `set_dnd` sent, the TCP connection dropped at once without a goodbye, a new
//!   one: hello, `resume {token, received}`, what the server did not get sent again, and the
//!   `set_dnd` reply awaited (sent again by the server, or answering the request sent again).
//!
//! `--warmup-secs` of that mix (pools, caches and tables reach their working size), then
//! `--duration-secs` measured, then the operations still running finish and every client
//! logs out. The server's RSS is sampled every `--sample-secs` and at the ends of the
//! warm-up and of the run. Every reply code but 0 is unexpected (the scheduler avoids the
//! conflicts that would make busy/offline answers legitimate), as is an event a client has
//! no reason to get, a timeout (10 s per step) or a lost connection; each is printed. The
//! exit status is 1 when there was any, or when the server's RSS at the end of the run
//! exceeds its RSS at the end of the warm-up by more than `--rss-tolerance-pct`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
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
use tokio::sync::{mpsc, Notify, Semaphore};
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
#[derive(Parser, Clone)]
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
    #[arg(long, default_value_t = 1024)]
    cmd_bytes: usize,
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
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or(format!("{part:?} is not NAME=WEIGHT"))?;
        let kind = OpKind::ALL.into_iter().find(|k| k.name() == name.trim());
        let kind = kind.ok_or(format!("unknown operation {name:?}"))?;
        mix[kind as usize] = weight
            .trim()
            .parse()
            .map_err(|_| format!("not a weight: {weight:?}"))?;
    }
    if mix.iter().all(|&w| w == 0) {
        return Err("every operation has weight 0".into());
    }
    Ok(mix)
}

fn main() {
    let args = Args::parse();
    let problem = [
        (
            !(args.rate > 0.0 && args.rate <= 100_000.0),
            "--rate must be in (0, 100000]",
        ),
        (
            args.subscribers > args.clients,
            "--subscribers must not exceed --clients",
        ),
        (
            args.cmd_bytes > crvideo_proto::MAX_CMD_BYTES,
            "--cmd-bytes must not exceed 51200",
        ),
    ];
    if let Some((_, problem)) = problem.into_iter().find(|(bad, _)| *bad) {
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
        return Err(format!(
            "open-file limit {fd_limit} is too low for {} connections (raise ulimit -n)",
            args.clients
        ));
    }
    let dir = TempDir::new("soak")?;
    let extra = format!(
        "heartbeat_ms = {}\nresume_window_ms = {RESUME_WINDOW_MS}\ncall_timeout_secs = 30",
        args.heartbeat_ms
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
            Err(e) => eprintln!(
                "soak: cannot copy the server log to {}: {e}",
                keep.display()
            ),
        }
    }
    println!("server (pid {pid}): {stopped}");
    let mut problems = outcome
        .map_err(|e| format!("{e}\nlast lines of the server log:\n{}", log_tail(&log, 20)))?;
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
    let mut levels: BTreeMap<&str, u64> = BTreeMap::new();
    let mut shown = Vec::new();
    for line in text.lines() {
        let level = ["ERROR", "WARN", "INFO", "DEBUG", "TRACE"]
            .into_iter()
            .find(|l| line.contains(&format!(" {l} ")))
            .unwrap_or("other");
        *levels.entry(level).or_default() += 1;
        if matches!(level, "ERROR" | "WARN") && shown.len() < 10 {
            shown.push(line);
        }
    }
    println!(
        "\nserver log: {} lines, by level {levels:?}",
        text.lines().count()
    );
    shown.iter().for_each(|line| println!("  {line}"));
    levels
        .get("ERROR")
        .map(|n| format!("the server logged {n} ERROR lines"))
}

/// The soak itself: the problems found, if it ran.
async fn soak(args: &Args, pid: u32, addr: SocketAddr, fd_limit: u64) -> BenchResult<Vec<String>> {
    let mix: Vec<String> = OpKind::ALL
        .iter()
        .map(|k| format!("{}={}", k.name(), args.mix[*k as usize]))
        .collect();
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "machine: {cores} cores, {} MiB RAM; open-file limit {fd_limit}; generator: 2 tokio workers",
        mem_total_mib()
    );
    println!(
        "config: {} clients ({} subscribed to presence), {:.0} ops/s ({}), warm-up {} s, steady {} s, \
         commands {} B, RSS sampled every {} s, RSS tolerance {}%, seed {}; server {addr} (pid {pid}), \
         heartbeat {} ms, resume window {RESUME_WINDOW_MS} ms",
        args.clients,
        args.subscribers,
        args.rate,
        mix.join(","),
        args.warmup_secs,
        args.duration_secs,
        args.cmd_bytes,
        args.sample_secs,
        args.rss_tolerance_pct,
        args.seed,
        args.heartbeat_ms
    );
    let rss_start = rss_kib(pid)?;
    let t0 = Instant::now();
    let sh = Arc::new(Shared {
        args: args.clone(),
        addr,
        t0,
        users: (0..args.clients).map(|i| format!("soak{i:05}")).collect(),
        state: (0..args.clients).map(|_| AtomicU8::new(BUSY)).collect(),
        dnd: (0..args.clients).map(|_| AtomicBool::default()).collect(),
        phase: AtomicU8::new(Phase::Setup as u8),
        stats: Mutex::default(),
        cmd_payload: (0..args.cmd_bytes).map(|i| (i % 251) as u8).collect(),
        printed_errors: AtomicUsize::default(),
    });
    let set_phase = |phase: Phase| sh.phase.store(phase as u8, Ordering::Relaxed);

    // Log everyone in.
    let gate = Arc::new(Semaphore::new(args.login_in_flight));
    let ready = Arc::new((AtomicUsize::new(0), Notify::new()));
    let (mut senders, mut tasks) = (Vec::new(), Vec::new());
    for idx in 0..args.clients {
        let (tx, rx) = mpsc::channel(1);
        senders.push(tx);
        let client = Client::new(idx, sh.clone());
        tasks.push(tokio::spawn(client_main(
            client,
            rx,
            gate.clone(),
            ready.clone(),
        )));
    }
    let login_deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while ready.0.load(Ordering::Acquire) < args.clients {
        if tokio::time::timeout_at(login_deadline, ready.1.notified())
            .await
            .is_err()
        {
            let n = ready.0.load(Ordering::Acquire);
            return Err(format!(
                "only {n} of {} clients logged in within 300 s",
                args.clients
            ));
        }
    }
    let login_secs = t0.elapsed().as_secs_f64();
    let dead = sh.count_state(DEAD);
    (0..args.clients).for_each(|i| sh.release(i));
    let rss_logged_in = rss_kib(pid)?;
    println!(
        "setup: {} clients logged in ({dead} failed) in {login_secs:.2} s ({:.0} logins/s); server \
         RSS {rss_start} KiB before, {rss_logged_in} KiB after",
        args.clients - dead,
        (args.clients - dead) as f64 / login_secs
    );

    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let sampler = {
        let (sh, samples) = (sh.clone(), samples.clone());
        let mut ticks = interval_at(
            tokio::time::Instant::now(),
            Duration::from_secs(args.sample_secs),
        );
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        tokio::spawn(async move {
            loop {
                ticks.tick().await;
                let s = take_sample(&sh, pid);
                let mut samples = samples.lock().unwrap();
                print_sample(&s, samples.last());
                samples.push(s);
            }
        })
    };

    let mut rng = Rng::new(args.seed);
    let me = std::process::id();
    set_phase(Phase::Warmup);
    let warm_end = tokio::time::Instant::now() + Duration::from_secs(args.warmup_secs);
    schedule(&sh, &senders, &mut rng, warm_end).await;
    let warm = take_sample(&sh, pid);
    let (gen_cpu0, busy0, overflows0) = (
        cpu_secs(me).unwrap_or(0.0),
        machine_busy_secs(),
        tcp_listen_overflows(),
    );
    println!("end of warm-up: server RSS {} KiB", warm.rss_kib);
    set_phase(Phase::Steady);
    let steady_start = Instant::now();
    let steady_end = tokio::time::Instant::now() + Duration::from_secs(args.duration_secs);
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
        sh.error(
            0,
            format!("{stuck} clients still busy {DRAIN_TIMEOUT:?} after the run"),
        );
    }
    sampler.abort();
    set_phase(Phase::Teardown);
    drop(senders);
    let teardown_deadline = tokio::time::Instant::now() + DRAIN_TIMEOUT;
    for task in tasks {
        if tokio::time::timeout_at(teardown_deadline, task)
            .await
            .is_err()
        {
            sh.error(
                0,
                format!("clients still logging out {DRAIN_TIMEOUT:?} after the run"),
            );
            break;
        }
    }

    // Report.
    let stats = std::mem::take(&mut *sh.stats.lock().unwrap());
    let steady = &stats.phases[Phase::Steady as usize];
    let sum = |v: &[u64]| v.iter().sum::<u64>();
    println!("\n## Soak result\n");
    println!(
        "steady phase: {secs:.1} s; operations issued {}, done {} ({:.1}/s), failed {}, ticks \
         skipped (no idle client) {}\n",
        sum(&steady.issued),
        sum(&steady.done),
        sum(&steady.done) as f64 / secs,
        sum(&steady.failed),
        steady.skipped
    );
    let ops = Table::header(&["operation", "issued", "done", "failed", "done/s"]);
    for kind in OpKind::ALL {
        let k = kind as usize;
        let (issued, done, failed) = (steady.issued[k], steady.done[k], steady.failed[k]);
        let rate = format!("{:.1}", done as f64 / secs);
        ops.row(&[
            kind.name().into(),
            issued.to_string(),
            done.to_string(),
            failed.to_string(),
            rate,
        ]);
    }
    println!("\nLatency in the steady phase (ms; nearest-rank percentiles):\n");
    let latencies = Table::header(&["what", "n", "p50", "p99", "max", "over 1 s", "measured"]);
    for what in Timed::ALL {
        let samples = &steady.latencies[what as usize];
        if samples.is_empty() {
            continue;
        }
        let l = Latency::of(samples);
        let slow = samples
            .iter()
            .filter(|d| **d > Duration::from_secs(1))
            .count();
        latencies.row(&[
            what.name().into(),
            samples.len().to_string(),
            format!("{:.2}", l.p50_ms),
            format!("{:.2}", l.p99_ms),
            format!("{:.2}", l.max_ms),
            slow.to_string(),
            what.describe().into(),
        ]);
    }
    let warm_p99 = [
        Timed::SetDnd,
        Timed::CallSetup,
        Timed::SendCmd,
        Timed::Relogin,
        Timed::Resume,
    ]
    .map(|w| {
        let l = Latency::of(&stats.phases[Phase::Warmup as usize].latencies[w as usize]);
        format!("{} p99 {:.2} ms", w.name(), l.p99_ms)
    });
    println!("\n(warm-up: {})", warm_p99.join(", "));

    let phase_names = Phase::ALL.map(Phase::name);
    let per_phase = |f: fn(&PhaseStats) -> u64| stats.phases.iter().map(f).collect::<Vec<u64>>();
    println!("\nReply codes, all phases (every code but 0 is unexpected):\n");
    let codes = Table::header(&[&["request", "code"][..], &phase_names[..]].concat());
    let mut by_code: BTreeMap<(Timed, i32), [u64; Phase::N]> = BTreeMap::new();
    for (p, phase) in stats.phases.iter().enumerate() {
        for (key, n) in &phase.codes {
            by_code.entry(*key).or_default()[p] += n;
        }
    }
    for ((what, code), n) in by_code {
        let code = if code == 0 {
            "0".into()
        } else {
            code_name(code)
        };
        codes.row(&[&[what.name().into(), code][..], &strings(&n)].concat());
    }
    println!("\nEvents and commands received:\n");
    let events = Table::header(&[&["event"][..], &phase_names[..]].concat());
    for seen in Seen::ALL {
        let n = stats
            .phases
            .iter()
            .map(|p| p.seen[seen as usize])
            .collect::<Vec<_>>();
        events.row(&[&[seen.name().to_string()][..], &strings(&n)].concat());
    }
    let resent = sum(&per_phase(|p| p.resent_by_clients));
    let resending = sum(&per_phase(|p| p.resumes_resending));
    let resumes = sum(&per_phase(|p| {
        p.done[OpKind::Resume as usize] + p.failed[OpKind::Resume as usize]
    }));
    println!(
        "\nresumes: {resumes}, of which {resending} sent frames again ({resent} frames: the server \
         had not got the set_dnd sent before the drop; in the others it sent the reply again)"
    );
    let errors = per_phase(|p| p.errors);
    let total_errors = sum(&errors);
    println!(
        "\nunexpected errors ({}): {} = {total_errors}",
        phase_names.join(" / "),
        strings(&errors).join(" / ")
    );
    stats
        .first_errors
        .iter()
        .for_each(|line| println!("  {line}"));

    let mut samples = samples.lock().unwrap().clone();
    samples.extend([warm, end]);
    samples.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    println!("\nServer RSS series (KiB, every {} s):", args.sample_secs);
    let series: Vec<String> = samples
        .iter()
        .map(|s| format!("{:.0}s:{}", s.secs, s.rss_kib))
        .collect();
    println!("  {}", series.join(" "));
    let in_steady: Vec<Sample> = samples
        .into_iter()
        .filter(|s| (warm.secs..=end.secs).contains(&s.secs))
        .collect();
    let max_steady = in_steady.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let min_steady = in_steady.iter().map(|s| s.rss_kib).min().unwrap_or(0);
    let slope = slope_kib_per_min(&in_steady);
    // Whether the growth is slowing down: the slope of the second half alone.
    let half = (warm.secs + end.secs) / 2.0;
    let second_half: Vec<Sample> = in_steady
        .iter()
        .copied()
        .filter(|s| s.secs >= half)
        .collect();
    let slope_late = slope_kib_per_min(&second_half);
    let warm_kib = warm.rss_kib.max(1) as f64;
    let growth_pct = 100.0 * (end.rss_kib as f64 - warm.rss_kib as f64) / warm_kib;
    println!(
        "server RSS: {rss_start} KiB at start, {rss_logged_in} KiB with all logged in, {} KiB at the end of the warm-up, \
         {} KiB at the end of the run ({growth_pct:+.1}%); steady phase min {min_steady} / max {max_steady} KiB; \
         slope {slope:+.1} KiB/min ({:+.2}%/min of the warm-up value), in its second half {slope_late:+.1} KiB/min; \
         peak (VmHWM) {peak_kib} KiB",
        warm.rss_kib,
        end.rss_kib,
        100.0 * slope / warm_kib
    );
    // The counters come from different sources: clamp the rounding below zero.
    let other = (busy - server_cpu - gen_cpu).max(0.0);
    let pct = |cpu: f64| 100.0 * cpu / secs;
    println!(
        "CPU in the steady phase: server {server_cpu:.1} s ({:.0}% of one core), generator \
         {gen_cpu:.1} s ({:.0}%), everything else on the machine {other:.1} s ({:.0}%)",
        pct(server_cpu),
        pct(gen_cpu),
        pct(other)
    );
    println!(
        "connections dropped by full listen queues in the steady phase (system-wide, each costs \
         its client a 1 s SYN retransmission): {overflows}"
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
        problems.push(format!(
            "server RSS grew {growth_pct:.1}% after the warm-up (tolerance {tolerance}%)"
        ));
    }
    Ok(problems)
}

fn strings(values: &[u64]) -> Vec<String> {
    values.iter().map(u64::to_string).collect()
}
