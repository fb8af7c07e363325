//! Call setup and meeting creates on crvideo-server, against nats-server request/reply and
//! SQLite itself, on one fresh server:
//! - call setup: the caller sends `call` (t0), the callee answers `call_in` with
//!   `accept_call` at once, the caller parses `call_accepted` (t1); setup = t1 − t0, and the
//!   `call` reply is timed too; then a hang-up. `--calls` calls of one pair one after another,
//!   then `--pairs` pairs at once (`--calls-per-pair` each).
//! - meeting creates: from one client, each waiting for its reply, then from
//!   `--create-clients` clients at once.
//!
//! Peers: a NATS responder echoing `--payload` bytes to the reply subject (the same shapes),
//! and SQLite (WAL, synchronous=FULL, next to the server's data dir): INSERT + COMMIT per
//! row, then transactions of `--create-clients` rows. See docs/BENCHMARKS.md.

use std::future::Future;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Client, Subscriber};
use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{fixed, ratio, ratio2, summary_heading, table, Latency, Row};
use crvideo_bench::{
    at_once, blocking, fd_limit_for, filesystem_of, join_tasks, login, machine, nats, positive,
    rss_kib, run_load_generator, spawn_limited, BenchResult, Conn, CpuSince, NatsArgs, Server,
    ServerArgs, TempDir,
};
use crvideo_proto::{encode, ClientFrame, Event, MeetInfo, Request, ServerFrame};
use tokio::task::JoinHandle;

const AGENT: &str = "crvideo-bench/calls_load";
/// Longest wait for one reply or event.
const STEP: Duration = Duration::from_secs(30);
/// A callee waits longer than a caller, so that a stuck call is reported by its caller.
const CALLEE_TIMEOUT: Duration = Duration::from_secs(60);
/// The meeting object passed through `call`/`accept_call` (what an app would send).
const MEET_OBJ: &str = r#"{"ID":36526251,"pswd":"123456"}"#;
/// The SQLite peer's row: one meeting of the server's table.
const INSERT: &str =
    "INSERT OR IGNORE INTO meetings (tenant, id, subject, pswd, creator, start_time)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
/// Meetings created (SQLite: rows committed) before the measured ones.
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
    run_load_generator("calls_load", run_all(Args::parse()));
}

/// Call setups (NATS: round trips) of one phase: setup samples, and crvideo's `call` replies.
#[derive(Default)]
struct Samples {
    setup: Vec<Duration>,
    reply: Vec<Duration>,
}

/// The calls of one phase: their printed row, setup latency and calls/s.
struct Calls(Row, Latency, f64);

impl Calls {
    /// Prints and keeps the row of `samples` of `time`, with the CPU seconds of the server
    /// and of this bench.
    fn new(label: String, s: Samples, time: Duration, cpu: [f64; 2]) -> Calls {
        let (n, setup) = (s.setup.len(), Latency::of(&s.setup));
        let reply = (!s.reply.is_empty()).then(|| Latency::of(&s.reply));
        let reply =
            |q: fn(&Latency) -> f64| reply.as_ref().map_or("–".into(), |l| fixed(q(l), 3));
        let per_sec = n as f64 / time.as_secs_f64();
        let per_call = |cpu: f64| fixed(cpu * 1e6 / n.max(1) as f64, 1);
        let row = Row::new(label)
            .col("calls", n)
            .ms("", &setup, 3)
            .col("calls/s", fixed(per_sec, 0))
            .col("call reply p50 ms", reply(|l| l.p50_ms))
            .col("server CPU us/call", per_call(cpu[0]))
            .note("call reply p99 ms", reply(|l| l.p99_ms))
            .note("bench client CPU us/call", per_call(cpu[1]));
        Calls(row, setup, per_sec)
    }
}

/// Meeting creates (SQLite: commits) of one phase: their printed row and creates/s.
fn creates(
    label: String,
    n: usize,
    lat: &[Duration],
    time: Duration,
    cpu: Option<f64>,
) -> (Row, f64) {
    let creates = n;
    let (secs, per_sec) = (time.as_secs_f64(), creates as f64 / time.as_secs_f64());
    let mut row = Row::new(label)
        .col("creates", creates)
        .note("seconds", fixed(secs, 2))
        .col("creates/s", fixed(per_sec, 0))
        .ms("", &Latency::of(lat), 2);
    if let Some(cpu) = cpu {
        let per_create = fixed(cpu * 1e6 / creates.max(1) as f64, 0);
        row = row.note("server CPU us/create", per_create);
    }
    row.print();
    (row, per_sec)
}

async fn run_all(args: Args) -> BenchResult<()> {
    args.server.check()?;
    let fd_limit = fd_limit_for(2 * args.pairs.max(args.create_clients))?;
    let dir = TempDir::new("calls")?;
    let fs = filesystem_of(dir.path()).unwrap_or_else(|| "unknown".into());
    let machine = machine();
    println!("machine: {machine}; open-file limit {fd_limit}; client runtime: 2 tokio workers");
    println!("data dirs under {}: filesystem {fs}", dir.path().display());
    let request = call(&call_id(0), &callee_id(0));
    let call_frame = encode(&ClientFrame { id: 123, request }).len();
    let payload = args.payload;
    println!("call frame: {call_frame} bytes; NATS request payload: {payload} bytes");

    println!("\n== crvideo-server ==");
    let config = "heartbeat_ms = 5000\ncall_timeout_secs = 60";
    let server = Server::crvideo(&args.server.server_bin, dir.path(), config, "")?;
    let ours = crvideo_phases(&args, server.pid(), server.addr).await;
    let (calls, creates) = server.finish(ours)?;

    println!("\n== SQLite peer (WAL, synchronous=FULL), next to the server's data dir ==");
    let sqlite = blocking(|| sqlite_peer(&args, &dir.path().join("sqlite-peer")))?;

    let mut nats_calls = None;
    if !args.nats.skip_nats {
        println!("\n== nats-server request/reply ==");
        let nats_dir = TempDir::new("calls-nats")?;
        let server = Server::nats(&args.nats.nats_bin, nats_dir.path(), &[])?;
        let (pid, addr, payload) = (server.pid(), server.addr, args.payload);
        let pair = move |i| nats_pair(addr, i);
        let request = move |end, i, count| nats_requests(end, i, count, payload);
        let phases = call_phases(&args, "nats req/reply", pid, pair, nats_responder, request);
        nats_calls = Some(server.finish(phases.await)?);
    }

    summary_heading();
    println!("Filesystem of the data dirs: {fs}\n");
    let mut rows = Vec::new();
    for (i, ours) in calls.iter().enumerate() {
        rows.push(&ours.0);
        rows.extend(nats_calls.as_ref().map(|nats| &nats[i].0));
    }
    table("call setup", rows);
    if let Some(n) = &nats_calls {
        println!("\nRatios crvideo call setup / NATS round trip (below 1 is better for crvideo; calls/s: above 1 is better):\n");
        let shapes = ["sequential", "concurrent"].iter().zip(calls.iter().zip(n));
        let ratios = shapes.map(|(shape, (o, n))| {
            let (ours, nats) = (o.1, n.1);
            Row::new(*shape)
                .col("p50 / 1× rtt", ratio2(ours.p50_ms, nats.p50_ms))
                .col("p99 / 1× rtt", ratio2(ours.p99_ms, nats.p99_ms))
                .col("p50 / 2× rtt", ratio2(ours.p50_ms, 2.0 * nats.p50_ms))
                .col("p99 / 2× rtt", ratio2(ours.p99_ms, 2.0 * nats.p99_ms))
                .col("calls/s / requests/s", ratio2(o.2, n.2))
        });
        table("shape", &ratios.collect::<Vec<_>>());
    }
    println!();
    table(
        "meeting creates",
        creates.iter().chain(&sqlite).map(|c| &c.0),
    );
    let ([ours, ours_k], [sqlite, sqlite_k]) = (creates.map(|c| c.1), sqlite.map(|c| c.1));
    let (seq, conc, batched) = (
        ratio(ours, sqlite),
        ratio(ours_k, sqlite),
        ratio(ours_k, sqlite_k),
    );
    let k = args.create_clients;
    println!("\nRatios: crvideo sequential creates/s / SQLite commits/s = {seq:.2}; crvideo concurrent creates/s / SQLite sequential commits/s = {conc:.2}; / SQLite rows/s in transactions of {k} = {batched:.2}");
    Ok(())
}

/// The `call` request of a call, with the meeting object an app would send.
fn call(call_id: &str, callee: &str) -> Request {
    let (call_id, callee, usr_ext_dat) = (call_id.into(), callee.into(), String::new());
    Request::Call {
        call_id,
        callee,
        meet_obj: MEET_OBJ.into(),
        usr_ext_dat,
    }
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

/// Sequential calls of one pair (after `--warmup` unmeasured ones), then `--pairs` pairs at
/// once; for crvideo (caller, callee) and NATS (requester, responder) alike: `pair(i)`
/// connects pair i, `respond(end, count)` answers `count` calls, `request(end, i, count)`
/// makes `count` calls of pair i one after another.
async fn call_phases<P, R, FP, FR, FQ>(
    args: &Args,
    system: &str,
    pid: u32,
    pair: impl Fn(usize) -> FP,
    respond: impl Fn(R, usize) -> FR,
    request: impl Fn(P, usize, usize) -> FQ,
) -> BenchResult<[Calls; 2]>
where
    P: Send + 'static,
    R: Send + 'static,
    FP: Future<Output = BenchResult<(P, R)>> + Send + 'static,
    FR: Future<Output = BenchResult<()>> + Send + 'static,
    FQ: Future<Output = BenchResult<(Samples, P)>> + Send + 'static,
{
    let me = std::process::id();
    let (requester, responder) = pair(0).await?;
    let answering = tokio::spawn(respond(responder, args.warmup + args.calls));
    let (_, requester) = request(requester, 0, args.warmup).await?;
    let cpu = CpuSince::start([pid, me])?;
    let t0 = Instant::now();
    let (samples, requester) = request(requester, 0, args.calls).await?;
    let label = format!("{system}, sequential (1 pair)");
    let sequential = Calls::new(label, samples, t0.elapsed(), cpu.used()?);
    sequential.0.print();
    join_tasks(vec![answering]).await?;
    drop(requester);

    let in_flight = args.in_flight.div_ceil(2);
    let pairs = spawn_limited(args.pairs, in_flight, |i| {
        let pair = pair(i);
        async move { pair.await.map_err(|e| format!("pair {i}: {e}")) }
    });
    let (mut jobs, mut responders) = (Vec::new(), Vec::new());
    for (i, (requester, responder)) in pairs.await?.0.into_iter().enumerate() {
        let calls = request(requester, i, args.calls_per_pair);
        jobs.push(async move { calls.await.map_err(|e| format!("pair {i}: {e}")) });
        responders.push(tokio::spawn(respond(responder, args.calls_per_pair)));
    }
    let outcome = at_once(jobs, || CpuSince::start([pid, me])).await;
    if outcome.is_err() {
        responders.iter().for_each(JoinHandle::abort);
    }
    let (cpu, ends, time) = outcome?;
    let (mut samples, mut keep) = (Samples::default(), Vec::new());
    for (s, end) in ends {
        samples.setup.extend(s.setup);
        samples.reply.extend(s.reply);
        keep.push(end);
    }
    let label = format!("{system}, {} pairs at once", args.pairs);
    let mut concurrent = Calls::new(label, samples, time, cpu.used()?);
    let rss = rss_kib(pid)?;
    join_tasks(responders).await?;
    drop(keep);
    concurrent.0 = concurrent
        .0
        .note("server RSS KiB with the pairs connected", rss);
    concurrent.0.print();
    Ok([sequential, concurrent])
}

type Creates = [(Row, f64); 2];

async fn crvideo_phases(
    args: &Args,
    pid: u32,
    addr: SocketAddr,
) -> BenchResult<([Calls; 2], Creates)> {
    // The tenant's first login pays argon2; later ones hit the server's cache.
    drop(login(addr, "warmup", AGENT, STEP).await?);
    let pair = move |i| async move {
        let caller = login(addr, &caller_id(i), AGENT, STEP).await?;
        Ok((caller, login(addr, &callee_id(i), AGENT, STEP).await?))
    };
    let calls = call_phases(args, "crvideo", pid, pair, callee_loop, caller_calls).await?;

    // Meeting creates, sequential.
    let mut creator = login(addr, "m0000", AGENT, STEP).await?;
    for _ in 0..CREATE_WARMUP {
        create_meeting(&mut creator).await?;
    }
    let cpu = CpuSince::start([pid])?;
    let t0 = Instant::now();
    let mut latencies = Vec::with_capacity(args.creates);
    for _ in 0..args.creates {
        latencies.push(create_meeting(&mut creator).await?);
    }
    let (time, [cpu]) = (t0.elapsed(), cpu.used()?);
    let label = "crvideo, sequential (1 client)".into();
    let sequential = creates(label, args.creates, &latencies, time, Some(cpu));
    drop(creator);

    // Meeting creates from `create_clients` clients at once, `concurrent_creates` in all.
    let mut creators = Vec::with_capacity(args.create_clients);
    for i in 0..args.create_clients {
        creators.push(login(addr, &format!("m{:04}", i + 1), AGENT, STEP).await?);
    }
    let left = Arc::new(AtomicUsize::new(args.concurrent_creates));
    let jobs = creators.into_iter().map(|mut conn| {
        let left = left.clone();
        async move {
            let (mut latencies, take) = (Vec::new(), |n: usize| n.checked_sub(1));
            let left = || left.fetch_update(Ordering::AcqRel, Ordering::Acquire, take);
            while left().is_ok() {
                latencies.push(create_meeting(&mut conn).await?);
            }
            Ok(latencies)
        }
    });
    let (cpu, latencies, time) = at_once(jobs, || CpuSince::start([pid])).await?;
    let (latencies, [cpu]) = (latencies.concat(), cpu.used()?);
    let label = format!("crvideo, {} clients at once", args.create_clients);
    let concurrent = creates(label, latencies.len(), &latencies, time, Some(cpu));
    Ok((calls, [sequential, concurrent]))
}

/// The SQLite peer in `dir`: `--sqlite-commits` sequential INSERT+COMMIT transactions, then
/// `--concurrent-creates` rows in transactions of `--create-clients`.
fn sqlite_peer(args: &Args, dir: &Path) -> BenchResult<Creates> {
    let e = |e: rusqlite::Error| format!("sqlite peer: {e}");
    std::fs::create_dir_all(dir).map_err(|err| format!("sqlite peer dir: {err}"))?;
    let mut conn = rusqlite::Connection::open(dir.join("peer.db")).map_err(e)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(e)?;
    conn.pragma_update(None, "synchronous", "FULL").map_err(e)?;
    // The server's meetings table.
    conn.execute_batch(
        "CREATE TABLE meetings (tenant TEXT NOT NULL, id INTEGER NOT NULL, subject TEXT NOT NULL,
             pswd TEXT NOT NULL, creator TEXT NOT NULL, start_time INTEGER NOT NULL,
             PRIMARY KEY (tenant, id));
         CREATE UNIQUE INDEX meetings_id ON meetings (id);",
    )
    .map_err(e)?;
    // IDs spread over the server's range like its random ones (a fixed LCG walk, no clash).
    let mut next_id = 0u64;
    // One transaction of `rows` rows; its time.
    let mut commit = |rows: usize| -> BenchResult<Duration> {
        let t = Instant::now();
        let txn = conn.transaction().map_err(e)?;
        for _ in 0..rows {
            next_id += 1;
            let id = 10_000_000 + (next_id.wrapping_mul(2_654_435_761) % 89_999_999) as i64;
            let mut insert = txn.prepare_cached(INSERT).map_err(e)?;
            let (subject, start_time) = ("bench meeting", 1_732_500_000i64);
            insert
                .execute(("bench", id, subject, "123456", "m0000", start_time))
                .map_err(e)?;
        }
        txn.commit().map_err(e)?;
        Ok(t.elapsed())
    };
    for _ in 0..CREATE_WARMUP {
        commit(1)?;
    }
    let (commits, t0) = (args.sqlite_commits, Instant::now());
    let latencies = (0..commits)
        .map(|_| commit(1))
        .collect::<BenchResult<Vec<_>>>()?;
    let label = "SQLite INSERT+COMMIT, sequential".into();
    let sequential = creates(label, commits, &latencies, t0.elapsed(), None);
    let (rows, batch, t0) = (args.concurrent_creates, args.create_clients, Instant::now());
    let latencies = (0..rows.div_ceil(batch)).map(|i| commit(batch.min(rows - i * batch)));
    let latencies = latencies.collect::<BenchResult<Vec<_>>>()?;
    let time = t0.elapsed();
    let label = format!("SQLite, {batch} rows per transaction (rows/s; latency per commit)");
    let (row, per_sec) = creates(label, rows, &latencies, time, None);
    let commits = per_sec / batch as f64;
    println!("SQLite, {batch} rows per transaction: {commits:.0} commits/s");
    Ok([sequential, (row, per_sec)])
}

/// Places `count` calls to callee i, one after another: call, wait for the reply and for
/// `call_accepted`, hang up, wait for that reply.
async fn caller_calls(mut conn: Conn, i: usize, count: usize) -> BenchResult<(Samples, Conn)> {
    let callee = callee_id(i);
    let mut samples = Samples::default();
    for _ in 0..count {
        let id = call_id(NEXT_CALL.fetch_add(1, Ordering::Relaxed));
        let t0 = Instant::now();
        let re = conn.send_request(call(&id, &callee)).await?;
        let (mut replied, mut accepted) = (None, None);
        while replied.is_none() || accepted.is_none() {
            let frame = conn.next_frame(STEP).await?;
            let now = Instant::now();
            match frame {
                ServerFrame::Reply(r) if r.re == re && r.code == 0 => replied = Some(now),
                ServerFrame::Event(Event::CallAccepted { call_id, .. }) if call_id == id => {
                    accepted = Some(now);
                }
                ServerFrame::Event(Event::UserStatus(_) | Event::Unknown) => {}
                other => return Err(format!("call {id} to {callee}: unexpected {other:?}")),
            }
        }
        samples.setup.push(accepted.unwrap_or(t0) - t0);
        samples.reply.push(replied.unwrap_or(t0) - t0);
        let hangup = Request::HangupCall {
            call_id: id,
            usr_ext_dat: String::new(),
        };
        conn.request_ok(hangup, STEP).await?;
    }
    Ok((samples, conn))
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
                let usr_ext_dat = String::new();
                let accept = Request::AcceptCall {
                    call_id,
                    meet_obj,
                    usr_ext_dat,
                };
                conn.send_request(accept).await?;
            }
            ServerFrame::Reply(r) if r.code != 0 => {
                return Err(format!("callee: accept_call failed with code {}", r.code));
            }
            ServerFrame::Reply(_) | ServerFrame::Event(Event::UserStatus(_) | Event::Unknown) => {}
            ServerFrame::Event(Event::CallHungup { call_id, .. }) => {
                if ringing.take().as_deref() != Some(call_id.as_str()) {
                    return Err(format!("callee: call_hungup for unknown call {call_id}"));
                }
                hung_up += 1;
            }
            other => return Err(format!("callee: unexpected {other:?}")),
        }
    }
    Ok(())
}

/// Creates one meeting; returns the time to its reply (it is then committed to disk).
async fn create_meeting(conn: &mut Conn) -> BenchResult<Duration> {
    let t0 = Instant::now();
    let create = Request::CreateMeeting {
        subject: "bench meeting".into(),
        with_password: true,
    };
    let reply = conn.request_ok(create, STEP).await?;
    let took = t0.elapsed();
    let meeting: MeetInfo = reply
        .into_result()
        .map_err(|code| format!("create_meeting reply: code {code}"))?;
    if meeting.id <= 0 {
        return Err(format!("create_meeting returned meeting ID {}", meeting.id));
    }
    Ok(took)
}

/// One NATS connection and its subscription.
type NatsEnd = (Client, Subscriber);

/// A requester (subscribed to its inbox `_INBOX.i`) and a responder (subscribed to `req.i`).
async fn nats_pair(addr: SocketAddr, i: usize) -> BenchResult<(NatsEnd, NatsEnd)> {
    let requester = nats::connect(addr, STEP).await?;
    let inbox = nats::subscribe(&requester, &format!("_INBOX.{i}"), STEP).await?;
    let responder = nats::connect(addr, STEP).await?;
    let requests = nats::subscribe(&responder, &format!("req.{i}"), STEP).await?;
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

/// `count` requests to `req.i`, one after another, each timed to its reply.
async fn nats_requests(
    (client, mut replies): NatsEnd,
    i: usize,
    count: usize,
    payload: usize,
) -> BenchResult<(Samples, NatsEnd)> {
    let (subject, inbox) = (format!("req.{i}"), format!("_INBOX.{i}"));
    let mut samples = Samples::default();
    for n in 0..count {
        // The payload is the request number, zero-padded to `payload` bytes.
        let body = Bytes::from(format!("{n:0>payload$}"));
        let t0 = Instant::now();
        nats::publish(&client, &subject, Some(&inbox), body.clone()).await?;
        let msg = nats::next(&mut replies, STEP).await?;
        let rtt = t0.elapsed();
        if msg.subject.as_str() != inbox || msg.payload != body {
            return Err(format!("request {n}: wrong reply on {}", msg.subject));
        }
        samples.setup.push(rtt);
    }
    Ok((samples, (client, replies)))
}
