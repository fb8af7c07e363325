//! Soak run (issue 8): many clients of one crvideo-server doing a steady mix of logins,
//! presence changes, calls, commands and connection resumes for minutes, to show that
//! nothing fails that should not, that the server's memory stays flat once warm, and what
//! the p99 latencies are while it runs.
//!
//! ```text
//! soak [--server-bin PATH] [--clients 2000] [--rate 200] [--warmup-secs 60]
//!      [--duration-secs 180] [--sample-secs 5] [--subscribers 50] [--cmd-bytes 1024]
//!      [--mix relogin=10,presence=30,call=20,cmd=35,resume=5] [--rss-tolerance-pct 10]
//!      [--login-in-flight 64] [--seed 1] [--server-log PATH] [--max-error-lines 50]
//!      [--heartbeat-ms 5000]
//! ```
//!
//! Shape: a fresh server (temporary config and data dir, heartbeat `--heartbeat-ms`, resume
//! window 30 s). `--clients` WebSocket clients, all on one tokio runtime, log in (at most
//! `--login-in-flight` at a time), enable resume as the SDK does by default, and the first
//! `--subscribers` of them subscribe to presence. Each client is one task that answers what
//! comes to it as an SDK would: `accept_call` on `call_in`, a one-way `cmd_ack` on a
//! command, WebSocket pings every heartbeat (and every `RESUME_ACK_EVERY` frames) carrying
//! its count of the server's text frames. Then a scheduler issues operations at a fixed
//! aggregate rate (`--rate` per second), each kind chosen by the `--mix` weights, on random
//! idle clients (a client, and the peer of a call or command, does one operation at a time;
//! a call's callee is never in DND):
//!
//! - relogin: `logout`, wait for the server's Close, then a new connection: hello, login,
//!   `enable_resume`, and `subscribe_status` again for subscribers;
//! - presence: `set_dnd` (toggles between 0 and 1..3);
//! - call: `call` a random peer, which accepts; on `call_accepted` the caller hangs up;
//! - cmd: a `--cmd-bytes` command to a random peer, which acknowledges it; the sender waits
//!   for its reply;
//! - resume: the client sends a `set_dnd` and at once drops its TCP connection without a
//!   goodbye, opens a new one, says hello and `resume {token, received}`, sends again what
//!   the server did not get, and waits for the `set_dnd` reply (the server got the request
//!   and sends the reply again, or the client sent the request again).
//!
//! First `--warmup-secs` of that mix (allocator pools, caches and tables reach their working
//! size), then `--duration-secs` of the measured steady phase, then the operations still
//! running finish and every client logs out. The server's VmRSS is sampled every
//! `--sample-secs`, and at the end of the warm-up and of the run.
//!
//! Every reply code is counted per request kind; every code but 0 is unexpected (the
//! scheduler avoids the conflicts that would make busy/offline answers legitimate), as is
//! any event a client has no reason to get, a timeout (10 s per step) or a lost connection.
//! Each is printed. The exit status is 1 when there was any, or when the server's RSS at the
//! end of the run exceeds its RSS at the end of the warm-up by more than
//! `--rss-tolerance-pct`.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use crvideo_bench::report::{Latency, Table};
use crvideo_bench::{
    cpu_secs, log_tail, machine_busy_secs, mem_total_mib, peak_rss_kib, raise_fd_limit, rss_kib,
    run_load_generator, start_crvideo, stop_child, tcp_listen_overflows, BenchResult, ChildGuard,
    Conn, ServerArgs, TempDir, BENCH_PASSWORD, BENCH_TENANT,
};
use crvideo_proto::data::{decode_data, encode_command, DataFrame};
use crvideo_proto::replay::Replay;
use crvideo_proto::{
    decode, encode, ClientFrame, ErrorCode, Event, LoginOk, LoginRequest, Reply, Request,
    ResumeInfo, Resumed, ServerFrame, PROTOCOL_VERSION, RESUME_ACK_EVERY,
};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify, Semaphore};
use tokio::time::{interval_at, sleep_until, timeout, MissedTickBehavior};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;

const AGENT: &str = "crvideo-bench/soak";
const RESUME_WINDOW_MS: u64 = 30_000;
/// Longest wait for one reply, event or handshake.
const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest wait, after the steady phase, for the operations still running to finish.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(30);
/// What a client keeps of its own text frames for a resume (the SDK's bounds).
const REPLAY_FRAMES: usize = 4096;
const REPLAY_BYTES: usize = 32 << 20;

type Ws = WebSocketStream<TcpStream>;

mod client;
mod model;
mod schedule;

use client::*;
use model::*;
use schedule::*;

// ---------------------------------------------------------------------------------------
// Command line.

/// A soak run of crvideo-server (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Logged-in clients (at least 2).
    #[arg(long, default_value_t = 2000)]
    clients: usize,
    /// Operations per second, over all clients (0 < rate <= 100000).
    #[arg(long, default_value_t = 200.0)]
    rate: f64,
    #[arg(long, default_value_t = 60)]
    warmup_secs: u64,
    #[arg(long, default_value_t = 180)]
    duration_secs: u64,
    /// Seconds between two samples of the server's RSS.
    #[arg(long, default_value_t = 5)]
    sample_secs: u64,
    /// Clients subscribed to presence.
    #[arg(long, default_value_t = 50)]
    subscribers: usize,
    /// Bytes of a SendCmd.
    #[arg(long, default_value_t = 1024)]
    cmd_bytes: usize,
    /// Weights of the operations (those not named: 0).
    #[arg(long, default_value = "relogin=10,presence=30,call=20,cmd=35,resume=5", value_parser = parse_mix)]
    mix: [u32; OP_KINDS],
    /// Allowed growth of the server's RSS after the warm-up, in percent.
    #[arg(long, default_value_t = 10.0)]
    rss_tolerance_pct: f64,
    #[arg(long, default_value_t = 64)]
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
    #[arg(long, default_value_t = 5000)]
    heartbeat_ms: u64,
}

impl Args {
    fn checked() -> Args {
        let args = Args::parse();
        let problem = if args.clients < 2 {
            "--clients must be at least 2"
        } else if !(args.rate > 0.0 && args.rate <= 100_000.0) {
            "--rate must be in (0, 100000]"
        } else if args.duration_secs == 0 || args.sample_secs == 0 {
            "--duration-secs and --sample-secs must be positive"
        } else if args.subscribers > args.clients {
            "--subscribers must not exceed --clients"
        } else if args.cmd_bytes > crvideo_proto::MAX_CMD_BYTES {
            "--cmd-bytes must not exceed 51200"
        } else if args.heartbeat_ms < 100 {
            "--heartbeat-ms must be at least 100"
        } else if args.login_in_flight == 0 {
            "--login-in-flight must be positive"
        } else {
            return args;
        };
        Args::command()
            .error(clap::error::ErrorKind::ValueValidation, problem)
            .exit()
    }
}

/// `relogin=10,presence=30,...`: weights of the operation kinds (those not named: 0).
fn parse_mix(text: &str) -> Result<[u32; OP_KINDS], String> {
    let mut mix = [0; OP_KINDS];
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (name, weight) = part
            .split_once('=')
            .ok_or_else(|| format!("{part:?} is not NAME=WEIGHT"))?;
        let Some(kind) = OpKind::ALL.iter().find(|k| k.name() == name.trim()) else {
            return Err(format!("unknown operation {name:?}"));
        };
        mix[*kind as usize] = weight
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
    let args = Args::checked();
    let fd_limit = raise_fd_limit();
    run_load_generator("soak", run(args, fd_limit));
}

// ---------------------------------------------------------------------------------------
// The run.

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
    let outcome = soak(&args, &mut server, addr, fd_limit).await;
    let stopped = stop_child(&mut server);
    let log_path = dir.path().join("server.log");
    let log_verdict = report_server_log(&log_path);
    if let Some(keep) = &args.server_log {
        match std::fs::copy(&log_path, keep) {
            Ok(_) => println!("server log kept at {}", keep.display()),
            Err(e) => eprintln!(
                "soak: cannot copy the server log to {}: {e}",
                keep.display()
            ),
        }
    }
    println!("server (pid {pid}): {stopped}");
    match outcome {
        Ok(verdict) => {
            if let Some(problem) = verdict.or(log_verdict) {
                return Err(problem);
            }
            println!("\nsoak: PASS");
            Ok(())
        }
        Err(e) => Err(format!(
            "{e}\nlast lines of the server log:\n{}",
            log_tail(&log_path, 20)
        )),
    }
}

/// Counts the server log's warnings and errors (printing the first few). Some(problem) when
/// it holds an ERROR line.
fn report_server_log(path: &Path) -> Option<String> {
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
            shown.push(line.to_owned());
        }
    }
    println!(
        "\nserver log: {} lines, by level {levels:?}",
        text.lines().count()
    );
    for line in &shown {
        println!("  {line}");
    }
    levels
        .get("ERROR")
        .map(|n| format!("the server logged {n} ERROR lines"))
}

/// The soak itself; Ok(Some(problem)) when it ran but did not pass.
async fn soak(
    args: &Args,
    server: &mut ChildGuard,
    addr: SocketAddr,
    fd_limit: u64,
) -> BenchResult<Option<String>> {
    let pid = server.pid();
    let mix: Vec<String> = OpKind::ALL
        .iter()
        .map(|k| format!("{}={}", k.name(), args.mix[*k as usize]))
        .collect();
    println!(
        "machine: {} cores, {} MiB RAM; open-file limit {fd_limit}; generator: 2 tokio workers",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
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
        addr,
        t0,
        users: (0..args.clients).map(|i| format!("soak{i:05}")).collect(),
        state: (0..args.clients).map(|_| AtomicU8::new(BUSY)).collect(),
        dnd: (0..args.clients).map(|_| AtomicBool::new(false)).collect(),
        phase: AtomicU8::new(Phase::Setup as u8),
        stats: Mutex::new(Stats {
            phases: (0..PHASES).map(|_| PhaseStats::new()).collect(),
            first_errors: Vec::new(),
        }),
        cmd_payload: (0..args.cmd_bytes).map(|i| (i % 251) as u8).collect(),
        max_error_lines: args.max_error_lines,
        printed_errors: AtomicUsize::new(0),
        heartbeat_ms: args.heartbeat_ms,
    });

    // Log everyone in.
    let gate = Arc::new(Semaphore::new(args.login_in_flight));
    let ready = Arc::new((AtomicUsize::new(0), Notify::new()));
    let mut senders = Vec::with_capacity(args.clients);
    let mut tasks = Vec::with_capacity(args.clients);
    for idx in 0..args.clients {
        let (tx, rx) = mpsc::channel(1);
        senders.push(tx);
        let client = Client::new(idx, sh.clone(), idx < args.subscribers);
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
            return Err(format!(
                "only {} of {} clients logged in within 300 s",
                ready.0.load(Ordering::Acquire),
                args.clients
            ));
        }
    }
    let login_secs = t0.elapsed().as_secs_f64();
    let dead = sh.count_state(DEAD);
    for state in &sh.state {
        let _ = state.compare_exchange(BUSY, FREE, Ordering::AcqRel, Ordering::Relaxed);
    }
    let rss_logged_in = rss_kib(pid)?;
    println!(
        "setup: {} clients logged in ({} failed) in {login_secs:.2} s ({:.0} logins/s); server RSS {rss_start} KiB before, {rss_logged_in} KiB after",
        args.clients - dead,
        dead,
        (args.clients - dead) as f64 / login_secs
    );

    // Sampler.
    let samples = Arc::new(Mutex::new(Vec::<Sample>::new()));
    let sampler = {
        let (sh, samples) = (sh.clone(), samples.clone());
        let every = Duration::from_secs(args.sample_secs);
        tokio::spawn(async move {
            let mut ticks = interval_at(tokio::time::Instant::now(), every);
            ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
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
    sh.set_phase(Phase::Warmup);
    let warm_start = tokio::time::Instant::now();
    let warm_end = warm_start + Duration::from_secs(args.warmup_secs);
    schedule(&sh, &senders, &mut rng, args, warm_end).await;
    let at_warmup_end = take_sample(&sh, pid);
    let server_cpu_warm = at_warmup_end.server_cpu;
    let gen_cpu_warm = cpu_secs(std::process::id()).unwrap_or(0.0);
    let busy_warm = machine_busy_secs();
    let overflows_warm = tcp_listen_overflows();
    println!("end of warm-up: server RSS {} KiB", at_warmup_end.rss_kib);
    sh.set_phase(Phase::Steady);
    let steady_start = Instant::now();
    let steady_end = tokio::time::Instant::now() + Duration::from_secs(args.duration_secs);
    schedule(&sh, &senders, &mut rng, args, steady_end).await;
    let steady_secs = steady_start.elapsed().as_secs_f64();
    let at_run_end = take_sample(&sh, pid);
    let server_cpu_steady = at_run_end.server_cpu - server_cpu_warm;
    let gen_cpu_steady = cpu_secs(std::process::id()).unwrap_or(0.0) - gen_cpu_warm;
    let busy_steady = machine_busy_secs() - busy_warm;
    let overflows_steady = tcp_listen_overflows() - overflows_warm;
    let peak_kib = peak_rss_kib(pid).unwrap_or(0);
    println!("end of run: server RSS {} KiB", at_run_end.rss_kib);

    // Let the operations still running finish.
    sh.set_phase(Phase::Drain);
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
    // Every client logs out.
    sh.set_phase(Phase::Teardown);
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
    let server_alive = server.is_running();

    // Report.
    let stats = std::mem::replace(
        &mut *sh.stats.lock().unwrap(),
        Stats {
            phases: Vec::new(),
            first_errors: Vec::new(),
        },
    );
    let mut samples = samples.lock().unwrap().clone();
    samples.push(at_warmup_end);
    samples.push(at_run_end);
    samples.sort_by(|a, b| a.secs.total_cmp(&b.secs));
    let steady = &stats.phases[Phase::Steady as usize];
    println!("\n## Soak result\n");
    println!(
        "steady phase: {steady_secs:.1} s; operations issued {}, done {} ({:.1}/s), failed {}, ticks skipped (no idle client) {}",
        steady.issued.iter().sum::<u64>(),
        steady.done.iter().sum::<u64>(),
        steady.done.iter().sum::<u64>() as f64 / steady_secs,
        steady.failed.iter().sum::<u64>(),
        steady.skipped
    );
    println!();
    let ops = Table::header(&["operation", "issued", "done", "failed", "done/s"]);
    for kind in OpKind::ALL {
        let k = kind as usize;
        ops.row(&[
            kind.name().to_string(),
            steady.issued[k].to_string(),
            steady.done[k].to_string(),
            steady.failed[k].to_string(),
            format!("{:.1}", steady.done[k] as f64 / steady_secs),
        ]);
    }
    println!("\nLatency in the steady phase (ms; nearest-rank percentiles):\n");
    println!("| what | n | p50 | p99 | max | over 1 s | measured |");
    println!("|---|---:|---:|---:|---:|---:|---|");
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
        println!(
            "| {} | {} | {:.2} | {:.2} | {:.2} | {slow} | {} |",
            what.name(),
            samples.len(),
            l.p50_ms,
            l.p99_ms,
            l.max_ms,
            what.describe()
        );
    }
    let warm = &stats.phases[Phase::Warmup as usize];
    let warm_summary: Vec<String> = [
        Timed::SetDnd,
        Timed::CallSetup,
        Timed::SendCmd,
        Timed::Relogin,
        Timed::Resume,
    ]
    .iter()
    .map(|w| {
        let l = Latency::of(&warm.latencies[*w as usize]);
        format!("{} p99 {:.2} ms", w.name(), l.p99_ms)
    })
    .collect();
    println!("\n(warm-up: {})", warm_summary.join(", "));

    println!("\nReply codes, all phases (every code but 0 is unexpected):\n");
    println!("| request | code | {} |", PHASE_NAMES.join(" | "));
    println!("|---|---|{}", "---:|".repeat(PHASES));
    let mut codes: BTreeMap<(Timed, i32), [u64; PHASES]> = BTreeMap::new();
    for (p, phase) in stats.phases.iter().enumerate() {
        for (key, n) in &phase.codes {
            codes.entry(*key).or_default()[p] += n;
        }
    }
    for ((what, code), n) in &codes {
        let code = match code {
            0 => "0".to_string(),
            other => code_name(*other),
        };
        let n: Vec<String> = n.iter().map(u64::to_string).collect();
        println!("| {} | {code} | {} |", what.name(), n.join(" | "));
    }
    println!(
        "\nEvents and commands received ({}):",
        PHASE_NAMES.join(" / ")
    );
    for (i, name) in SEEN_NAMES.iter().enumerate() {
        let n: Vec<String> = stats.phases.iter().map(|p| p.seen[i].to_string()).collect();
        println!("  {name}: {}", n.join(" / "));
    }
    let resent: u64 = stats.phases.iter().map(|p| p.resent_by_clients).sum();
    let resending: u64 = stats.phases.iter().map(|p| p.resumes_resending).sum();
    let resumes: u64 = stats
        .phases
        .iter()
        .map(|p| p.done[OpKind::Resume as usize] + p.failed[OpKind::Resume as usize])
        .sum();
    println!(
        "resumes: {resumes}, of which {resending} sent frames again ({resent} frames: the server \
         had not got the set_dnd sent before the drop; in the others it sent the reply again)"
    );
    let errors: Vec<u64> = stats.phases.iter().map(|p| p.errors).collect();
    let total_errors: u64 = errors.iter().sum();
    let errors: Vec<String> = errors.iter().map(u64::to_string).collect();
    println!(
        "\nunexpected errors ({}): {} = {total_errors}",
        PHASE_NAMES.join(" / "),
        errors.join(" / ")
    );
    for line in &stats.first_errors {
        println!("  {line}");
    }

    println!("\nServer RSS series (KiB, every {} s):", args.sample_secs);
    let series: Vec<String> = samples
        .iter()
        .map(|s| format!("{:.0}s:{}", s.secs, s.rss_kib))
        .collect();
    println!("  {}", series.join(" "));
    let in_steady: Vec<Sample> = samples
        .iter()
        .copied()
        .filter(|s| s.secs >= at_warmup_end.secs && s.secs <= at_run_end.secs)
        .collect();
    let max_steady = in_steady.iter().map(|s| s.rss_kib).max().unwrap_or(0);
    let min_steady = in_steady.iter().map(|s| s.rss_kib).min().unwrap_or(0);
    let slope = slope_kib_per_min(&in_steady);
    // Whether the growth is slowing down: the slope of the second half alone.
    let half_secs = (at_warmup_end.secs + at_run_end.secs) / 2.0;
    let second_half: Vec<Sample> = in_steady
        .iter()
        .copied()
        .filter(|s| s.secs >= half_secs)
        .collect();
    let slope_late = slope_kib_per_min(&second_half);
    let growth_pct = 100.0 * (at_run_end.rss_kib as f64 - at_warmup_end.rss_kib as f64)
        / at_warmup_end.rss_kib.max(1) as f64;
    println!(
        "server RSS: {rss_start} KiB at start, {rss_logged_in} KiB with all logged in, {} KiB at the end of the warm-up, \
         {} KiB at the end of the run ({growth_pct:+.1}%); steady phase min {min_steady} / max {max_steady} KiB; \
         slope {slope:+.1} KiB/min ({:+.2}%/min of the warm-up value), in its second half {slope_late:+.1} KiB/min; \
         peak (VmHWM) {peak_kib} KiB",
        at_warmup_end.rss_kib,
        at_run_end.rss_kib,
        100.0 * slope / at_warmup_end.rss_kib.max(1) as f64
    );
    // The counters come from different sources: clamp the rounding below zero.
    let machine_other = (busy_steady - server_cpu_steady - gen_cpu_steady).max(0.0);
    println!(
        "CPU in the steady phase: server {:.1} s ({:.0}% of one core), generator {:.1} s ({:.0}%), \
         everything else on the machine {:.1} s ({:.0}%)",
        server_cpu_steady,
        100.0 * server_cpu_steady / steady_secs,
        gen_cpu_steady,
        100.0 * gen_cpu_steady / steady_secs,
        machine_other,
        100.0 * machine_other / steady_secs
    );
    println!(
        "connections dropped by full listen queues in the steady phase (system-wide, each costs \
         its client a 1 s SYN retransmission): {overflows_steady}"
    );

    let mut problems = Vec::new();
    if !server_alive {
        problems.push("the server exited during the run".to_string());
    }
    if total_errors > 0 {
        problems.push(format!("{total_errors} unexpected errors"));
    }
    if growth_pct > args.rss_tolerance_pct {
        problems.push(format!(
            "server RSS grew {growth_pct:.1}% after the warm-up (tolerance {}%)",
            args.rss_tolerance_pct
        ));
    }
    println!(
        "\nchecks: unexpected errors {total_errors} (must be 0); RSS growth after warm-up {growth_pct:+.1}% (must be <= {}%)",
        args.rss_tolerance_pct
    );
    Ok((!problems.is_empty()).then(|| problems.join("; ")))
}
