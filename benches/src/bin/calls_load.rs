//! Call-setup and meeting-create load generator for crvideo-server, with nats-server
//! request/reply and SQLite itself as the peers.
//!
//! ```text
//! calls_load [--server-bin PATH] [--calls 10000] [--pairs 500] [--calls-per-pair 20]
//!            [--warmup 100] [--creates 1000] [--create-clients 64]
//!            [--concurrent-creates 5000] [--sqlite-commits 1000] [--payload 100]
//!            [--in-flight 256] [--nats-bin nats-server] [--skip-nats]
//! ```
//!
//! Measured, on one freshly started server (temporary config and data dir):
//! - call setup, sequential: one caller/callee pair, `--calls` calls one after another. The
//!   caller sends `call` (t0); the callee answers its `call_in` event with `accept_call` at
//!   once; the caller parses `call_accepted` (t1). Setup = t1 − t0. Then the caller hangs up
//!   and waits for the reply before the next call. Also timed: the `call` reply (one round
//!   trip through the server).
//! - call setup, concurrent: `--pairs` pairs (2 connections each) all at once, each doing
//!   `--calls-per-pair` calls as above; p50/p99 setup and complete calls/s.
//! - meeting creates: sequential from one client (each waits for its reply) and from
//!   `--create-clients` clients at once (`--concurrent-creates` in all); creates/s, p50/p99.
//!
//! Peers, in the same run:
//! - nats-server request/reply: a responder subscribed to a subject echoes each request (of
//!   `--payload` bytes) to its reply subject; request→reply round trip, sequential
//!   (`--calls` requests) and with `--pairs` requester/responder pairs at once
//!   (`--calls-per-pair` each).
//! - SQLite (the same bundled library the server uses), in WAL mode with synchronous=FULL,
//!   in a directory next to the server's data dir: one INSERT + COMMIT per transaction,
//!   `--sqlite-commits` in a row; and the concurrent creates' row count in transactions of
//!   `--create-clients` rows (the best group commit can do with that many clients).
//!
//! Client and server share the machine's cores; see docs/BENCHMARKS.md.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Client, Subscriber};
use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{ratio, summary_heading, Latency, Table};
use crvideo_bench::{
    cpu_secs, filesystem_of, log_tail, login, mem_total_mib, nats, positive, raise_fd_limit,
    rss_kib, run_load_generator, start_crvideo, start_nats, stop_child, BenchResult, ChildGuard,
    Conn, NatsArgs, ServerArgs, TempDir,
};
use crvideo_proto::{encode, ClientFrame, Event, MeetInfo, Request, ServerFrame};
use futures_util::StreamExt;
use tokio::sync::Barrier;
use tokio::task::JoinHandle;

const AGENT: &str = "crvideo-bench/calls_load";
/// Longest wait for one reply or event.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// A callee waits longer than a caller, so that a stuck call is reported by its caller.
const CALLEE_TIMEOUT: Duration = Duration::from_secs(60);
/// The meeting object passed through `call`/`accept_call` (what an app would send).
const MEET_OBJ: &str = r#"{"ID":36526251,"pswd":"123456"}"#;
/// Meetings created before the measured ones (first WAL writes, page allocation).
const CREATE_WARMUP: usize = 10;

/// Call setup and meeting creates on crvideo-server, against nats-server request/reply and
/// SQLite commits (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    nats: NatsArgs,
    /// Sequential calls of one pair (and sequential NATS requests).
    #[arg(long, default_value = "10000", value_parser = positive)]
    calls: usize,
    /// Calls (and NATS requests) before the measured sequential ones.
    #[arg(long, default_value_t = 100)]
    warmup: usize,
    /// Caller/callee pairs calling at once (and NATS requester/responder pairs).
    #[arg(long, default_value = "500", value_parser = positive)]
    pairs: usize,
    /// Calls of each pair.
    #[arg(long, default_value = "20", value_parser = positive)]
    calls_per_pair: usize,
    /// Sequential meeting creates from one client.
    #[arg(long, default_value = "1000", value_parser = positive)]
    creates: usize,
    /// Clients creating meetings at once (and SQLite rows per transaction).
    #[arg(long, default_value = "64", value_parser = positive)]
    create_clients: usize,
    /// Meeting creates of all those clients together.
    #[arg(long, default_value = "5000", value_parser = positive)]
    concurrent_creates: usize,
    /// Sequential SQLite INSERT+COMMIT transactions.
    #[arg(long, default_value = "1000", value_parser = positive)]
    sqlite_commits: usize,
    /// Bytes of a NATS request.
    #[arg(long, default_value = "100", value_parser = positive)]
    payload: usize,
    /// Logins (NATS: connections) in flight while the pairs connect.
    #[arg(long, default_value = "256", value_parser = positive)]
    in_flight: usize,
}

fn main() {
    let args = Args::parse();
    let fd_limit = raise_fd_limit();
    run_load_generator("calls_load", run_all(&args, fd_limit));
}

/// Call setups (or NATS round trips) of one phase.
#[derive(Debug, Clone, Default)]
struct CallStats {
    calls: usize,
    /// Call setup (NATS: request → reply).
    setup: Latency,
    /// crvideo only: `call` → its reply.
    reply: Option<Latency>,
    /// From the start of the phase to the end of its last call (hang-up included).
    secs: f64,
    server_cpu_secs: f64,
    client_cpu_secs: f64,
}

impl CallStats {
    fn per_sec(&self) -> f64 {
        self.calls as f64 / self.secs
    }
}

/// Meeting creates (or SQLite commits) of one phase.
#[derive(Debug, Clone, Default)]
struct CreateStats {
    creates: usize,
    latency: Latency,
    secs: f64,
    server_cpu_secs: f64,
}

impl CreateStats {
    fn per_sec(&self) -> f64 {
        self.creates as f64 / self.secs
    }
}

#[derive(Default)]
struct Results {
    seq: CallStats,
    conc: CallStats,
    create_seq: CreateStats,
    create_conc: CreateStats,
    sqlite_seq: CreateStats,
    /// Rows/s with `create_clients` rows per transaction.
    sqlite_batched: CreateStats,
    nats_seq: Option<CallStats>,
    nats_conc: Option<CallStats>,
    server_rss_kib: u64,
}

async fn run_all(args: &Args, fd_limit: u64) -> BenchResult<()> {
    args.server.check()?;
    let connections = 2 * args.pairs.max(args.create_clients);
    if (fd_limit as usize) < connections + 64 {
        return Err(format!(
            "open-file limit {fd_limit} is too low for {connections} connections (raise ulimit -n)"
        ));
    }
    let dir = TempDir::new("calls")?;
    let fs = filesystem_of(dir.path())
        .map(|f| f.describe())
        .unwrap_or_else(|| "unknown".into());
    println!(
        "machine: {} cores, {} MiB RAM; open-file limit {fd_limit}; client runtime: 2 tokio workers",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        mem_total_mib(),
    );
    println!("data dirs under {}: filesystem {fs}", dir.path().display());
    let call_frame = encode(&ClientFrame {
        id: 123,
        request: Request::Call {
            call_id: call_id(0),
            callee: callee_id(0),
            meet_obj: MEET_OBJ.into(),
            usr_ext_dat: String::new(),
        },
    });
    println!(
        "call frame: {} bytes; NATS request payload: {} bytes",
        call_frame.len(),
        args.payload
    );

    let mut results = Results::default();
    println!("\n== crvideo-server ==");
    let (mut server, addr) = start_crvideo(
        &args.server.server_bin,
        dir.path(),
        "heartbeat_ms = 5000\ncall_timeout_secs = 60",
    )?;
    let outcome = crvideo_phases(args, &mut server, addr, &mut results).await;
    let stopped = stop_child(&mut server);
    if let Err(e) = outcome {
        return Err(format!(
            "crvideo-server: {e}\n({stopped}; last lines of its log:)\n{}",
            log_tail(&dir.path().join("server.log"), 20)
        ));
    }
    println!("{stopped}");

    println!("\n== SQLite peer (WAL, synchronous=FULL), next to the server's data dir ==");
    let sqlite_dir = dir.path().join("sqlite-peer");
    let (seq, batched) = tokio::task::block_in_place(|| {
        sqlite_peer(
            &sqlite_dir,
            args.sqlite_commits,
            args.concurrent_creates,
            args.create_clients,
        )
    })?;
    println!(
        "sqlite: {} sequential INSERT+COMMIT: {:.0} commits/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        seq.creates, seq.per_sec(), seq.latency.p50_ms, seq.latency.p99_ms, seq.latency.max_ms
    );
    println!(
        "sqlite: {} rows in transactions of {}: {:.0} rows/s ({:.0} commits/s)",
        batched.creates,
        args.create_clients,
        batched.per_sec(),
        batched.per_sec() / args.create_clients as f64
    );
    results.sqlite_seq = seq;
    results.sqlite_batched = batched;

    if !args.nats.skip_nats {
        println!("\n== nats-server request/reply ==");
        let nats_dir = TempDir::new("calls-nats")?;
        let (mut nats, addr) =
            tokio::task::block_in_place(|| start_nats(&args.nats.nats_bin, nats_dir.path()))?;
        let outcome = nats_phases(args, &mut nats, addr).await;
        let stopped = stop_child(&mut nats);
        match outcome {
            Ok((seq, conc)) => {
                println!("{stopped}");
                results.nats_seq = Some(seq);
                results.nats_conc = Some(conc);
            }
            Err(e) => {
                return Err(format!(
                    "nats-server: {e}\n({stopped}; last lines of its log:)\n{}",
                    log_tail(&nats_dir.path().join("nats.log"), 20)
                ))
            }
        }
    }
    print_summary(args, &results, &fs);
    Ok(())
}

fn call_id(n: u64) -> String {
    format!("{n:032x}")
}

fn caller_id(i: usize) -> String {
    format!("a{i:04}")
}

fn callee_id(i: usize) -> String {
    format!("b{i:04}")
}

/// Call IDs: unique over the whole run.
static NEXT_CALL: AtomicU64 = AtomicU64::new(1);

async fn crvideo_phases(
    args: &Args,
    server: &mut ChildGuard,
    addr: SocketAddr,
    results: &mut Results,
) -> BenchResult<()> {
    let pid = server.pid();
    let me = std::process::id();

    // The tenant's first login pays argon2; later ones hit the server's cache.
    drop(login(addr, "warmup", AGENT, STEP_TIMEOUT).await?);

    // Sequential calls: one pair.
    let caller = login(addr, &caller_id(0), AGENT, STEP_TIMEOUT).await?;
    let callee = login(addr, &callee_id(0), AGENT, STEP_TIMEOUT).await?;
    let answering = tokio::spawn(callee_loop(callee, args.warmup + args.calls));
    let mut caller = caller;
    let mut warm = CallSamples::default();
    caller_calls(&mut caller, &callee_id(0), args.warmup, &mut warm).await?;
    let (server_cpu, client_cpu) = (cpu_secs(pid)?, cpu_secs(me)?);
    let t0 = Instant::now();
    let mut samples = CallSamples::default();
    caller_calls(&mut caller, &callee_id(0), args.calls, &mut samples).await?;
    let secs = t0.elapsed().as_secs_f64();
    results.seq = CallStats {
        calls: args.calls,
        setup: Latency::of(&samples.setup),
        reply: Some(Latency::of(&samples.reply)),
        secs,
        server_cpu_secs: cpu_secs(pid)? - server_cpu,
        client_cpu_secs: cpu_secs(me)? - client_cpu,
    };
    join_callee(answering).await?;
    drop(caller);
    print_calls("crvideo-server", "sequential", 1, &results.seq);

    // Concurrent calls: `pairs` pairs at once.
    let logins = futures_util::stream::iter(0..args.pairs)
        .map(|i| async move {
            let caller = login(addr, &caller_id(i), AGENT, STEP_TIMEOUT).await?;
            let callee = login(addr, &callee_id(i), AGENT, STEP_TIMEOUT).await?;
            BenchResult::Ok((caller, callee))
        })
        .buffered(args.in_flight.div_ceil(2).max(1))
        .collect::<Vec<_>>()
        .await;
    let start = Arc::new(Barrier::new(args.pairs + 1));
    let mut callers = Vec::with_capacity(args.pairs);
    let mut callees = Vec::with_capacity(args.pairs);
    for (i, pair) in logins.into_iter().enumerate() {
        let (mut caller, callee) = pair.map_err(|e| format!("pair {i}: {e}"))?;
        callees.push(tokio::spawn(callee_loop(callee, args.calls_per_pair)));
        let start = start.clone();
        let count = args.calls_per_pair;
        callers.push(tokio::spawn(async move {
            start.wait().await;
            let mut samples = CallSamples::default();
            caller_calls(&mut caller, &callee_id(i), count, &mut samples)
                .await
                .map_err(|e| format!("pair {i}: {e}"))?;
            BenchResult::Ok((samples, Instant::now(), caller))
        }));
    }
    let (server_cpu, client_cpu) = (cpu_secs(pid)?, cpu_secs(me)?);
    start.wait().await;
    let t0 = Instant::now();
    let mut all = CallSamples::default();
    let mut last = t0;
    let mut keep = Vec::with_capacity(args.pairs);
    let mut first_error = None;
    for handle in callers {
        match handle.await.map_err(|e| format!("caller task: {e}")) {
            Ok(Ok((samples, done, conn))) => {
                all.setup.extend(samples.setup);
                all.reply.extend(samples.reply);
                last = last.max(done);
                keep.push(conn);
            }
            Ok(Err(e)) | Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        for callee in &callees {
            callee.abort();
        }
        return Err(e);
    }
    results.conc = CallStats {
        calls: all.setup.len(),
        setup: Latency::of(&all.setup),
        reply: Some(Latency::of(&all.reply)),
        secs: (last - t0).as_secs_f64(),
        server_cpu_secs: cpu_secs(pid)? - server_cpu,
        client_cpu_secs: cpu_secs(me)? - client_cpu,
    };
    results.server_rss_kib = rss_kib(pid)?;
    for callee in callees {
        join_callee(callee).await?;
    }
    drop(keep);
    print_calls("crvideo-server", "concurrent", args.pairs, &results.conc);
    println!(
        "crvideo-server: RSS {} KiB with {} pairs connected",
        results.server_rss_kib, args.pairs
    );

    // Meeting creates, sequential.
    let mut creator = login(addr, "m0000", AGENT, STEP_TIMEOUT).await?;
    for _ in 0..CREATE_WARMUP {
        create_meeting(&mut creator).await?;
    }
    let server_cpu = cpu_secs(pid)?;
    let t0 = Instant::now();
    let mut latencies = Vec::with_capacity(args.creates);
    for _ in 0..args.creates {
        latencies.push(create_meeting(&mut creator).await?);
    }
    results.create_seq = CreateStats {
        creates: args.creates,
        latency: Latency::of(&latencies),
        secs: t0.elapsed().as_secs_f64(),
        server_cpu_secs: cpu_secs(pid)? - server_cpu,
    };
    drop(creator);
    print_creates(
        "crvideo-server",
        "sequential, 1 client",
        &results.create_seq,
    );

    // Meeting creates from `create_clients` clients at once.
    let mut creators = Vec::with_capacity(args.create_clients);
    for i in 0..args.create_clients {
        creators.push(login(addr, &format!("m{:04}", i + 1), AGENT, STEP_TIMEOUT).await?);
    }
    let start = Arc::new(Barrier::new(args.create_clients + 1));
    let left = Arc::new(AtomicUsize::new(args.concurrent_creates));
    let mut handles = Vec::with_capacity(args.create_clients);
    for mut conn in creators {
        let (start, left) = (start.clone(), left.clone());
        handles.push(tokio::spawn(async move {
            start.wait().await;
            let mut latencies = Vec::new();
            while left
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1))
                .is_ok()
            {
                latencies.push(create_meeting(&mut conn).await?);
            }
            BenchResult::Ok((latencies, Instant::now()))
        }));
    }
    let server_cpu = cpu_secs(pid)?;
    start.wait().await;
    let t0 = Instant::now();
    let mut latencies = Vec::with_capacity(args.concurrent_creates);
    let mut last = t0;
    for handle in handles {
        let (mut l, done) = handle.await.map_err(|e| format!("creator task: {e}"))??;
        latencies.append(&mut l);
        last = last.max(done);
    }
    results.create_conc = CreateStats {
        creates: latencies.len(),
        latency: Latency::of(&latencies),
        secs: (last - t0).as_secs_f64(),
        server_cpu_secs: cpu_secs(pid)? - server_cpu,
    };
    print_creates(
        "crvideo-server",
        &format!("{} clients at once", args.create_clients),
        &results.create_conc,
    );
    if !server.is_running() {
        return Err("the server exited during the run".into());
    }
    Ok(())
}

#[derive(Default)]
struct CallSamples {
    setup: Vec<Duration>,
    reply: Vec<Duration>,
}

/// Places `count` calls to `callee`, one after another: call, wait for the reply and for
/// `call_accepted`, hang up, wait for that reply.
async fn caller_calls(
    conn: &mut Conn,
    callee: &str,
    count: usize,
    samples: &mut CallSamples,
) -> BenchResult<()> {
    for _ in 0..count {
        let id = call_id(NEXT_CALL.fetch_add(1, Ordering::Relaxed));
        let t0 = Instant::now();
        let re = conn
            .send_request(Request::Call {
                call_id: id.clone(),
                callee: callee.into(),
                meet_obj: MEET_OBJ.into(),
                usr_ext_dat: String::new(),
            })
            .await?;
        let (mut replied, mut accepted) = (None, None);
        while replied.is_none() || accepted.is_none() {
            let frame = conn.next_frame(STEP_TIMEOUT).await?;
            let now = Instant::now();
            match frame {
                ServerFrame::Reply(r) if r.re == re => {
                    if r.code != 0 {
                        return Err(format!("call {id} to {callee}: code {}", r.code));
                    }
                    replied = Some(now);
                }
                ServerFrame::Event(Event::CallAccepted { call_id, .. }) if call_id == id => {
                    accepted = Some(now);
                }
                ServerFrame::Event(Event::UserStatus(_) | Event::Unknown) => {}
                other => return Err(format!("call {id}: unexpected {other:?}")),
            }
        }
        samples.setup.push(accepted.unwrap_or(t0) - t0);
        samples.reply.push(replied.unwrap_or(t0) - t0);
        conn.request_ok(
            Request::HangupCall {
                call_id: id,
                usr_ext_dat: String::new(),
            },
            STEP_TIMEOUT,
        )
        .await?;
    }
    Ok(())
}

/// Answers every `call_in` with `accept_call`; returns after `calls` calls were hung up.
async fn callee_loop(mut conn: Conn, calls: usize) -> BenchResult<()> {
    let mut hung_up = 0;
    let mut ringing: Option<String> = None;
    while hung_up < calls {
        match conn.next_frame(CALLEE_TIMEOUT).await? {
            ServerFrame::Event(Event::CallIn {
                call_id, meet_obj, ..
            }) => {
                if let Some(old) = ringing.replace(call_id.clone()) {
                    return Err(format!("call_in {call_id} while {old} was not hung up"));
                }
                conn.send_request(Request::AcceptCall {
                    call_id,
                    meet_obj,
                    usr_ext_dat: String::new(),
                })
                .await?;
            }
            ServerFrame::Reply(r) => {
                if r.code != 0 {
                    return Err(format!("accept_call failed with code {}", r.code));
                }
            }
            ServerFrame::Event(Event::CallHungup { call_id, .. }) => {
                if ringing.take().as_deref() != Some(call_id.as_str()) {
                    return Err(format!("call_hungup for unknown call {call_id}"));
                }
                hung_up += 1;
            }
            ServerFrame::Event(Event::UserStatus(_) | Event::Unknown) => {}
            other => return Err(format!("callee: unexpected {other:?}")),
        }
    }
    Ok(())
}

async fn join_callee(handle: JoinHandle<BenchResult<()>>) -> BenchResult<()> {
    handle
        .await
        .map_err(|e| format!("callee task: {e}"))?
        .map_err(|e| format!("callee: {e}"))
}

/// Creates one meeting; returns the time to its reply (it is then committed to disk).
async fn create_meeting(conn: &mut Conn) -> BenchResult<Duration> {
    let t0 = Instant::now();
    let reply = conn
        .request_ok(
            Request::CreateMeeting {
                subject: "bench meeting".into(),
                with_password: true,
            },
            STEP_TIMEOUT,
        )
        .await?;
    let took = t0.elapsed();
    let meeting: MeetInfo = reply
        .into_result()
        .map_err(|code| format!("create_meeting reply: code {code}"))?;
    if meeting.id <= 0 {
        return Err(format!("create_meeting returned meeting ID {}", meeting.id));
    }
    Ok(took)
}

// ---------------------------------------------------------------------------------------
// SQLite peer

/// Sequential INSERT+COMMIT transactions, then `rows` rows in transactions of `batch`.
fn sqlite_peer(
    dir: &Path,
    commits: usize,
    rows: usize,
    batch: usize,
) -> BenchResult<(CreateStats, CreateStats)> {
    let e = |e: rusqlite::Error| format!("sqlite peer: {e}");
    std::fs::create_dir_all(dir).map_err(|err| format!("sqlite peer dir: {err}"))?;
    let mut conn = rusqlite::Connection::open(dir.join("peer.db")).map_err(e)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
    // The server's meetings table.
    conn.execute_batch(
        "CREATE TABLE meetings (
             tenant TEXT NOT NULL,
             id INTEGER NOT NULL,
             subject TEXT NOT NULL,
             pswd TEXT NOT NULL,
             creator TEXT NOT NULL,
             start_time INTEGER NOT NULL,
             PRIMARY KEY (tenant, id)
         );
         CREATE UNIQUE INDEX meetings_id ON meetings (id);",
    )
    .map_err(e)?;
    // IDs spread over the server's range like its random ones (a fixed LCG walk, no clash).
    let mut next_id = 0u64;
    let mut id = move || {
        next_id += 1;
        10_000_000 + (next_id.wrapping_mul(2_654_435_761) % 89_999_999) as i64
    };
    let insert = |txn: &rusqlite::Transaction<'_>, id: i64| -> rusqlite::Result<()> {
        txn.prepare_cached(
            "INSERT OR IGNORE INTO meetings (tenant, id, subject, pswd, creator, start_time)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )?
        .execute(rusqlite::params![
            "bench",
            id,
            "bench meeting",
            "123456",
            "m0000",
            1_732_500_000i64
        ])?;
        Ok(())
    };
    for _ in 0..CREATE_WARMUP {
        let txn = conn.transaction().map_err(e)?;
        insert(&txn, id()).map_err(e)?;
        txn.commit().map_err(e)?;
    }
    let mut latencies = Vec::with_capacity(commits);
    let t0 = Instant::now();
    for _ in 0..commits {
        let t = Instant::now();
        let txn = conn.transaction().map_err(e)?;
        insert(&txn, id()).map_err(e)?;
        txn.commit().map_err(e)?;
        latencies.push(t.elapsed());
    }
    let seq = CreateStats {
        creates: commits,
        latency: Latency::of(&latencies),
        secs: t0.elapsed().as_secs_f64(),
        server_cpu_secs: 0.0,
    };
    let mut latencies = Vec::new();
    let t0 = Instant::now();
    let mut done = 0;
    while done < rows {
        let n = batch.min(rows - done);
        let t = Instant::now();
        let txn = conn.transaction().map_err(e)?;
        for _ in 0..n {
            insert(&txn, id()).map_err(e)?;
        }
        txn.commit().map_err(e)?;
        latencies.push(t.elapsed());
        done += n;
    }
    let batched = CreateStats {
        creates: rows,
        latency: Latency::of(&latencies),
        secs: t0.elapsed().as_secs_f64(),
        server_cpu_secs: 0.0,
    };
    Ok((seq, batched))
}

// ---------------------------------------------------------------------------------------
// nats-server request/reply peer

async fn nats_phases(
    args: &Args,
    nats: &mut ChildGuard,
    addr: SocketAddr,
) -> BenchResult<(CallStats, CallStats)> {
    let pid = nats.pid();
    let me = std::process::id();

    let (mut requester, responder) = nats_pair(addr, 0).await?;
    let answering = tokio::spawn(nats_responder(responder, args.warmup + args.calls));
    let mut warm = Vec::new();
    nats_requests(&mut requester, 0, args.warmup, args.payload, &mut warm).await?;
    let (server_cpu, client_cpu) = (cpu_secs(pid)?, cpu_secs(me)?);
    let t0 = Instant::now();
    let mut rtts = Vec::with_capacity(args.calls);
    nats_requests(&mut requester, 0, args.calls, args.payload, &mut rtts).await?;
    let seq = CallStats {
        calls: args.calls,
        setup: Latency::of(&rtts),
        reply: None,
        secs: t0.elapsed().as_secs_f64(),
        server_cpu_secs: cpu_secs(pid)? - server_cpu,
        client_cpu_secs: cpu_secs(me)? - client_cpu,
    };
    answering
        .await
        .map_err(|e| format!("responder task: {e}"))??;
    drop(requester);
    print_calls("nats-server", "sequential", 1, &seq);

    let pairs = futures_util::stream::iter(0..args.pairs)
        .map(|i| nats_pair(addr, i))
        .buffered(args.in_flight.div_ceil(2).max(1))
        .collect::<Vec<_>>()
        .await;
    let start = Arc::new(Barrier::new(args.pairs + 1));
    let mut requesters = Vec::with_capacity(args.pairs);
    let mut responders = Vec::with_capacity(args.pairs);
    for (i, pair) in pairs.into_iter().enumerate() {
        let (mut requester, responder) = pair.map_err(|e| format!("pair {i}: {e}"))?;
        responders.push(tokio::spawn(nats_responder(responder, args.calls_per_pair)));
        let start = start.clone();
        let (count, payload) = (args.calls_per_pair, args.payload);
        requesters.push(tokio::spawn(async move {
            start.wait().await;
            let mut rtts = Vec::with_capacity(count);
            nats_requests(&mut requester, i, count, payload, &mut rtts)
                .await
                .map_err(|e| format!("pair {i}: {e}"))?;
            BenchResult::Ok((rtts, Instant::now(), requester))
        }));
    }
    let (server_cpu, client_cpu) = (cpu_secs(pid)?, cpu_secs(me)?);
    start.wait().await;
    let t0 = Instant::now();
    let mut all = Vec::with_capacity(args.pairs * args.calls_per_pair);
    let mut last = t0;
    let mut keep = Vec::with_capacity(args.pairs);
    let mut first_error = None;
    for handle in requesters {
        match handle.await.map_err(|e| format!("requester task: {e}")) {
            Ok(Ok((mut rtts, done, conn))) => {
                all.append(&mut rtts);
                last = last.max(done);
                keep.push(conn);
            }
            Ok(Err(e)) | Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        for r in &responders {
            r.abort();
        }
        return Err(e);
    }
    let conc = CallStats {
        calls: all.len(),
        setup: Latency::of(&all),
        reply: None,
        secs: (last - t0).as_secs_f64(),
        server_cpu_secs: cpu_secs(pid)? - server_cpu,
        client_cpu_secs: cpu_secs(me)? - client_cpu,
    };
    for r in responders {
        r.await.map_err(|e| format!("responder task: {e}"))??;
    }
    drop(keep);
    print_calls("nats-server", "concurrent", args.pairs, &conc);
    if !nats.is_running() {
        return Err("nats-server exited during the run".into());
    }
    Ok((seq, conc))
}

/// One NATS connection and its subscription.
type NatsEnd = (Client, Subscriber);

/// A requester (subscribed to its inbox `_INBOX.i`) and a responder (subscribed to `req.i`).
async fn nats_pair(addr: SocketAddr, i: usize) -> BenchResult<(NatsEnd, NatsEnd)> {
    let requester = nats::connect(addr, STEP_TIMEOUT).await?;
    let inbox = nats::subscribe(&requester, &format!("_INBOX.{i}"), STEP_TIMEOUT).await?;
    let responder = nats::connect(addr, STEP_TIMEOUT).await?;
    let requests = nats::subscribe(&responder, &format!("req.{i}"), STEP_TIMEOUT).await?;
    Ok(((requester, inbox), (responder, requests)))
}

/// Echoes `count` requests to their reply subjects.
async fn nats_responder((client, mut requests): NatsEnd, count: usize) -> BenchResult<()> {
    for _ in 0..count {
        let msg = nats::next(&mut requests, CALLEE_TIMEOUT).await?;
        let reply_to = msg
            .reply
            .ok_or_else(|| format!("request on {} without a reply subject", msg.subject))?;
        nats::publish(&client, reply_to.as_str(), None, msg.payload).await?;
    }
    // The last reply out before the connection closes.
    nats::flush(&client, CALLEE_TIMEOUT).await
}

/// `count` requests to `req.i`, one after another; pushes each round trip.
async fn nats_requests(
    (client, replies): &mut NatsEnd,
    i: usize,
    count: usize,
    payload: usize,
    rtts: &mut Vec<Duration>,
) -> BenchResult<()> {
    let (subject, inbox) = (format!("req.{i}"), format!("_INBOX.{i}"));
    for n in 0..count {
        // The payload is the request number, zero-padded to `payload` bytes.
        let body = Bytes::from(format!("{n:0>payload$}"));
        let t0 = Instant::now();
        nats::publish(client, &subject, Some(&inbox), body.clone()).await?;
        let msg = nats::next(replies, STEP_TIMEOUT).await?;
        let rtt = t0.elapsed();
        if msg.subject.as_str() != inbox || msg.payload != body {
            return Err(format!("request {n}: wrong reply on {}", msg.subject));
        }
        rtts.push(rtt);
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Output

fn print_calls(system: &str, shape: &str, pairs: usize, s: &CallStats) {
    let what = if system == "nats-server" {
        "request->reply"
    } else {
        "call setup"
    };
    println!(
        "{system}: {shape}, {pairs} pair(s), {} calls: {what} p50 {:.3} ms, p99 {:.3} ms, max {:.2} ms; {:.0}/s{}",
        s.calls,
        s.setup.p50_ms,
        s.setup.p99_ms,
        s.setup.max_ms,
        s.per_sec(),
        s.reply
            .map(|r| format!(
                "; call reply p50 {:.3} ms, p99 {:.3} ms",
                r.p50_ms, r.p99_ms
            ))
            .unwrap_or_default()
    );
    println!(
        "{system}: {shape}: CPU per call: server {:.1} us, bench client {:.1} us",
        s.server_cpu_secs * 1e6 / s.calls.max(1) as f64,
        s.client_cpu_secs * 1e6 / s.calls.max(1) as f64
    );
}

fn print_creates(system: &str, shape: &str, s: &CreateStats) {
    println!(
        "{system}: meeting creates, {shape}: {} in {:.2} s = {:.0} creates/s; p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; server CPU {:.0} us/create",
        s.creates,
        s.secs,
        s.per_sec(),
        s.latency.p50_ms,
        s.latency.p99_ms,
        s.latency.max_ms,
        s.server_cpu_secs * 1e6 / s.creates.max(1) as f64
    );
}

fn print_summary(args: &Args, r: &Results, fs: &str) {
    summary_heading();
    println!("Filesystem of the data dirs: {fs}\n");
    let calls = Table::header(&[
        "call setup",
        "calls",
        "p50 ms",
        "p99 ms",
        "max ms",
        "calls/s",
        "call reply p50 ms",
        "server CPU us/call",
    ]);
    let call_row = |name: &str, s: &CallStats| {
        calls.row(&[
            name.to_string(),
            s.calls.to_string(),
            format!("{:.3}", s.setup.p50_ms),
            format!("{:.3}", s.setup.p99_ms),
            format!("{:.2}", s.setup.max_ms),
            format!("{:.0}", s.per_sec()),
            s.reply
                .map(|l| format!("{:.3}", l.p50_ms))
                .unwrap_or_else(|| "–".into()),
            format!("{:.1}", s.server_cpu_secs * 1e6 / s.calls.max(1) as f64),
        ])
    };
    call_row("crvideo, sequential (1 pair)", &r.seq);
    if let Some(n) = &r.nats_seq {
        call_row("nats req/reply, sequential (1 pair)", n);
    }
    call_row(&format!("crvideo, {} pairs at once", args.pairs), &r.conc);
    if let Some(n) = &r.nats_conc {
        call_row(&format!("nats req/reply, {} pairs at once", args.pairs), n);
    }
    if let (Some(ns), Some(nc)) = (&r.nats_seq, &r.nats_conc) {
        println!("\nRatios crvideo call setup / NATS round trip (below 1 is better for crvideo; calls/s: above 1 is better):\n");
        let ratios = Table::header(&[
            "shape",
            "p50 / 1× rtt",
            "p99 / 1× rtt",
            "p50 / 2× rtt",
            "p99 / 2× rtt",
            "calls/s / requests/s",
        ]);
        for (name, ours, nats) in [("sequential", &r.seq, ns), ("concurrent", &r.conc, nc)] {
            ratios.row(&[
                name.to_string(),
                format!("{:.2}", ratio(ours.setup.p50_ms, nats.setup.p50_ms)),
                format!("{:.2}", ratio(ours.setup.p99_ms, nats.setup.p99_ms)),
                format!("{:.2}", ratio(ours.setup.p50_ms, 2.0 * nats.setup.p50_ms)),
                format!("{:.2}", ratio(ours.setup.p99_ms, 2.0 * nats.setup.p99_ms)),
                format!("{:.2}", ratio(ours.per_sec(), nats.per_sec())),
            ]);
        }
    }
    println!();
    let creates = Table::header(&[
        "meeting creates",
        "creates",
        "creates/s",
        "p50 ms",
        "p99 ms",
        "max ms",
    ]);
    let create_row = |name: &str, s: &CreateStats| {
        creates.row(&[
            name.to_string(),
            s.creates.to_string(),
            format!("{:.0}", s.per_sec()),
            format!("{:.2}", s.latency.p50_ms),
            format!("{:.2}", s.latency.p99_ms),
            format!("{:.2}", s.latency.max_ms),
        ])
    };
    create_row("crvideo, sequential (1 client)", &r.create_seq);
    create_row(
        &format!("crvideo, {} clients at once", args.create_clients),
        &r.create_conc,
    );
    create_row("SQLite INSERT+COMMIT, sequential", &r.sqlite_seq);
    create_row(
        &format!(
            "SQLite, {} rows per transaction (rows/s; latency per commit)",
            args.create_clients
        ),
        &r.sqlite_batched,
    );
    println!(
        "\nRatios: crvideo sequential creates/s / SQLite commits/s = {:.2}; crvideo concurrent creates/s / SQLite sequential commits/s = {:.2}; / SQLite rows/s in transactions of {} = {:.2}",
        ratio(r.create_seq.per_sec(), r.sqlite_seq.per_sec()),
        ratio(r.create_conc.per_sec(), r.sqlite_seq.per_sec()),
        args.create_clients,
        ratio(r.create_conc.per_sec(), r.sqlite_batched.per_sec())
    );
}
