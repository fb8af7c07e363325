//! Presence load generator: logs in N users of one tenant on crvideo-server, subscribes half
//! of them to presence, then changes DND on `--changes` other users one at a time and times
//! each change's arrival at every subscriber. The same shape runs against nats-server (N
//! connections, half SUB to one subject, PUBs one at a time) as the peer to compare with.
//!
//! ```text
//! presence_load [--server-bin PATH] [--users N[,N...]]... [--changes 100]
//!               [--in-flight 256] [--nats-bin nats-server] [--skip-nats]
//! ```
//!
//! Measured per N, each on a freshly started server:
//! - logins/s: from the first connect to the last `LoginOk` (nats: the last PONG after
//!   CONNECT), with at most `--in-flight` handshakes/logins outstanding;
//! - server RSS per user: (VmRSS with all N logged in and N/2 subscribed − VmRSS before the
//!   first of them connected) / N;
//! - fan-out delay: from just before a change is sent to the moment the last of the N/2
//!   subscribers has parsed its event; p50/p99/max over the changes.
//!
//! Client and server share the machine's cores; see docs/BENCHMARKS.md.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Client, Event as NatsEvent, Subscriber};
use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{ratio, summary_heading, Latency, Table};
use crvideo_bench::{
    at_least, cpu_secs, log_tail, login, mem_total_mib, nats, positive, raise_fd_limit, rss_kib,
    run_load_generator, start_crvideo, start_nats, stop_child, tcp_listen_overflows, BenchResult,
    ChildGuard, Fanout, NatsArgs, ServerArgs, TempDir,
};
use crvideo_proto::{decode, encode, ClientFrame, Event, Reply, Request, ServerFrame, UserStatus};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const HEARTBEAT_MS: u64 = 5000;
const NATS_SUBJECT: &str = "presence";
/// Longest wait for one reply, one PONG, or one change to reach all subscribers.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// Pause before reading the baseline RSS and after the last subscription, so that
/// allocations still in flight (log lines, tasks finishing) settle.
const SETTLE: Duration = Duration::from_millis(500);

/// Presence load on crvideo-server against nats-server (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    nats: NatsArgs,
    /// Users of each run (comma-separated or repeated; at least 2 each) [default: 1000,10000]
    #[arg(long, value_delimiter = ',', value_parser = at_least(2))]
    users: Vec<usize>,
    /// DND changes, one at a time.
    #[arg(long, default_value = "100", value_parser = positive)]
    changes: usize,
    /// Logins (NATS: connections) in flight.
    #[arg(long, default_value = "256", value_parser = positive)]
    in_flight: usize,
}

fn main() {
    let mut args = Args::parse();
    if args.users.is_empty() {
        args.users = vec![1000, 10_000];
    }
    let fd_limit = raise_fd_limit();
    run_load_generator("presence_load", run_all(&args, fd_limit));
}

/// What one run (one system, one N) measured.
#[derive(Debug, Clone, Default)]
struct RunResult {
    users: usize,
    changes: usize,
    subscribers: usize,
    login_secs: f64,
    logins_per_sec: f64,
    /// crvideo only: the very first login of the tenant (pays argon2), in ms.
    first_login_ms: Option<f64>,
    rss_before_kib: u64,
    rss_after_kib: u64,
    rss_after_fanout_kib: u64,
    /// Server CPU time (user + system) spent during the login phase, and during the changes.
    login_cpu_secs: f64,
    fanout_cpu_secs: f64,
    /// Connections the kernel dropped during the login phase because the server's listen
    /// queue was full (each costs its client a SYN retransmission, 1 s).
    listen_overflows: u64,
    fanout_all: Latency,
    fanout_first: Latency,
}

impl RunResult {
    fn fanout_all_count(&self) -> usize {
        self.changes.max(1)
    }

    fn rss_per_user_kib(&self) -> f64 {
        (self.rss_after_kib as f64 - self.rss_before_kib as f64) / self.users as f64
    }
}

async fn run_all(args: &Args, fd_limit: u64) -> BenchResult<()> {
    args.server.check()?;
    let max_n = args.users.iter().copied().max().unwrap_or(0);
    if (fd_limit as usize) < max_n + 64 {
        return Err(format!(
            "open-file limit {fd_limit} is too low for {max_n} connections (raise ulimit -n)"
        ));
    }
    println!(
        "machine: {} cores, {} MiB RAM; open-file limit {fd_limit}; client runtime: 2 tokio workers, {} logins in flight, {} changes",
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        mem_total_mib(),
        args.in_flight,
        args.changes
    );
    let mut rows = Vec::new();
    for &n in &args.users {
        println!("\n== N = {n} ==");
        let ours = run_crvideo(args, n).await?;
        print_result("crvideo-server", &ours);
        let nats = if args.nats.skip_nats {
            None
        } else {
            let nats = run_nats(args, n).await?;
            print_result("nats-server", &nats);
            Some(nats)
        };
        rows.push((ours, nats));
    }
    print_summary(&rows);
    Ok(())
}

fn print_result(system: &str, r: &RunResult) {
    println!(
        "{system}: {} users ({} subscribed): login {:.2} s = {:.0} logins/s{}; server CPU {:.0} us/login; {} listen-queue overflows",
        r.users,
        r.subscribers,
        r.login_secs,
        r.logins_per_sec,
        r.first_login_ms
            .map(|ms| format!(" (first login of the tenant: {ms:.1} ms)"))
            .unwrap_or_default(),
        r.login_cpu_secs * 1e6 / r.users as f64,
        r.listen_overflows
    );
    println!(
        "{system}: RSS {} KiB before, {} KiB with all users, {} KiB after fan-out: {:.2} KiB/user",
        r.rss_before_kib,
        r.rss_after_kib,
        r.rss_after_fanout_kib,
        r.rss_per_user_kib()
    );
    println!(
        "{system}: fan-out to all {} subscribers: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms; to the first: p50 {:.2} ms, p99 {:.2} ms",
        r.subscribers,
        r.fanout_all.p50_ms,
        r.fanout_all.p99_ms,
        r.fanout_all.max_ms,
        r.fanout_first.p50_ms,
        r.fanout_first.p99_ms
    );
    println!(
        "{system}: server CPU per change: {:.2} ms ({:.2} us per delivered message)",
        r.fanout_cpu_secs * 1e3 / r.fanout_all_count() as f64,
        r.fanout_cpu_secs * 1e6 / (r.fanout_all_count() * r.subscribers.max(1)) as f64
    );
}

fn print_summary(rows: &[(RunResult, Option<RunResult>)]) {
    summary_heading();
    let table = Table::header(&[
        "system",
        "users",
        "subscribers",
        "logins/s",
        "RSS/user KiB",
        "fan-out p50 ms",
        "fan-out p99 ms",
        "fan-out max ms",
    ]);
    let line = |name: &str, r: &RunResult| {
        table.row(&[
            name.to_string(),
            r.users.to_string(),
            r.subscribers.to_string(),
            format!("{:.0}", r.logins_per_sec),
            format!("{:.2}", r.rss_per_user_kib()),
            format!("{:.2}", r.fanout_all.p50_ms),
            format!("{:.2}", r.fanout_all.p99_ms),
            format!("{:.2}", r.fanout_all.max_ms),
        ])
    };
    for (ours, nats) in rows {
        line("crvideo-server", ours);
        if let Some(nats) = nats {
            line("nats-server", nats);
        }
    }
    if rows.iter().any(|(_, n)| n.is_some()) {
        println!("\nRatios crvideo/nats (logins/s: above 1 is better for crvideo; RSS and delays: below 1 is better):\n");
        let ratios = Table::numbers(&[
            "users",
            "logins/s",
            "RSS/user",
            "fan-out p50",
            "fan-out p99",
        ]);
        for (ours, nats) in rows {
            if let Some(nats) = nats {
                ratios.row(&[
                    ours.users.to_string(),
                    format!("{:.2}", ratio(ours.logins_per_sec, nats.logins_per_sec)),
                    format!(
                        "{:.2}",
                        ratio(ours.rss_per_user_kib(), nats.rss_per_user_kib())
                    ),
                    format!(
                        "{:.2}",
                        ratio(ours.fanout_all.p50_ms, nats.fanout_all.p50_ms)
                    ),
                    format!(
                        "{:.2}",
                        ratio(ours.fanout_all.p99_ms, nats.fanout_all.p99_ms)
                    ),
                ]);
            }
        }
    }
    println!("\nTargets (issue): RSS <= 30 KiB/user at 10,000 users; p99 fan-out to 5,000 subscribers <= 250 ms.");
    for (ours, _) in rows {
        println!(
            "crvideo-server N={}: RSS/user {:.2} KiB ({}), p99 fan-out to {} subscribers {:.2} ms ({})",
            ours.users,
            ours.rss_per_user_kib(),
            if ours.rss_per_user_kib() <= 30.0 {
                "<= 30: met"
            } else {
                "> 30: MISSED"
            },
            ours.subscribers,
            ours.fanout_all.p99_ms,
            if ours.fanout_all.p99_ms <= 250.0 {
                "<= 250: met"
            } else {
                "> 250: MISSED"
            }
        );
    }
}

/// State shared by all connections of one run.
struct RunCtx {
    fanout: Fanout,
    /// crvideo: the user ID whose DND change number i is (events are checked against it).
    changers: Vec<String>,
    /// Connections whose read side ended before the run did.
    closed: AtomicUsize,
    /// Kicked events, undecodable frames, -ERR lines.
    errors: AtomicUsize,
}

impl RunCtx {
    fn new(changes: usize, subscribers: usize, changers: Vec<String>) -> Arc<RunCtx> {
        Arc::new(RunCtx {
            fanout: Fanout::new(changes, subscribers),
            changers,
            closed: AtomicUsize::new(0),
            errors: AtomicUsize::new(0),
        })
    }

    fn health(&self) -> BenchResult<()> {
        let closed = self.closed.load(Ordering::Relaxed);
        let errors = self.errors.load(Ordering::Relaxed);
        let stray = self.fanout.stray.load(Ordering::Relaxed);
        if closed + errors + stray > 0 {
            return Err(format!(
                "unhealthy run: {closed} connections closed early, {errors} errors, {stray} stray messages"
            ));
        }
        Ok(())
    }
}

/// Starts `count` jobs with at most `in_flight` running; returns their results in order and
/// the time from the start to the last job's completion instant (as each job reports it).
async fn run_limited<T, F, Fut>(
    count: usize,
    in_flight: usize,
    job: F,
) -> BenchResult<(Vec<T>, Duration)>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: std::future::Future<Output = BenchResult<(T, Instant)>> + Send + 'static,
{
    let limit = Arc::new(Semaphore::new(in_flight));
    let start = Instant::now();
    let mut handles = Vec::with_capacity(count);
    for i in 0..count {
        let permit = limit
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| "semaphore closed")?;
        let fut = job(i);
        handles.push(tokio::spawn(async move {
            let result = fut.await;
            drop(permit);
            result
        }));
    }
    let mut out = Vec::with_capacity(count);
    let mut last = start;
    for (i, handle) in handles.into_iter().enumerate() {
        let (value, done) = handle
            .await
            .map_err(|e| format!("connection {i}: task failed: {e}"))?
            .map_err(|e| format!("connection {i}: {e}"))?;
        last = last.max(done);
        out.push(value);
    }
    Ok((out, last - start))
}

async fn settle_then_rss(pid: u32) -> BenchResult<u64> {
    tokio::time::sleep(SETTLE).await;
    rss_kib(pid)
}

// ---------------------------------------------------------------------------------------
// crvideo-server

type Ws = WebSocketStream<TcpStream>;

/// One logged-in user: the write half, the replies its read task forwards, the read task.
struct WsClient {
    sink: SplitSink<Ws, Message>,
    replies: mpsc::UnboundedReceiver<Reply>,
    next_id: u64,
    reader: JoinHandle<()>,
}

impl WsClient {
    async fn send(&mut self, request: Request) -> BenchResult<u64> {
        let id = self.next_id;
        self.next_id += 1;
        let text = encode(&ClientFrame { id, request });
        self.sink
            .send(Message::text(text))
            .await
            .map_err(|e| format!("send: {e}"))?;
        Ok(id)
    }

    async fn reply(&mut self, id: u64) -> BenchResult<Reply> {
        let reply = tokio::time::timeout(STEP_TIMEOUT, self.replies.recv())
            .await
            .map_err(|_| format!("no reply to request {id} within {STEP_TIMEOUT:?}"))?
            .ok_or("connection closed before the reply")?;
        if reply.re != id {
            return Err(format!("reply to {} while waiting for {id}", reply.re));
        }
        Ok(reply)
    }
}

impl Drop for WsClient {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

fn user_id(i: usize) -> String {
    format!("u{i:05}")
}

/// Connects, says hello and logs in as `user`; returns at the `LoginOk`.
async fn ws_login(addr: SocketAddr, user: String, ctx: Arc<RunCtx>) -> BenchResult<WsClient> {
    let conn = login(addr, &user, "crvideo-bench/presence_load", STEP_TIMEOUT).await?;
    let (ws, next_id) = conn.into_parts();
    let (sink, stream) = ws.split();
    let (tx, replies) = mpsc::unbounded_channel();
    let reader = tokio::spawn(ws_reader(stream, tx, ctx));
    Ok(WsClient {
        sink,
        replies,
        next_id,
        reader,
    })
}

/// The read side of one connection for the rest of the run: keeps tungstenite answering
/// pings, forwards replies, counts presence events.
async fn ws_reader(
    mut stream: SplitStream<Ws>,
    replies: mpsc::UnboundedSender<Reply>,
    ctx: Arc<RunCtx>,
) {
    while let Some(message) = stream.next().await {
        match message {
            Ok(Message::Text(text)) => match decode::<ServerFrame>(text.as_str()) {
                Ok(ServerFrame::Reply(reply)) => {
                    let _ = replies.send(reply);
                }
                Ok(ServerFrame::Event(Event::UserStatus(status))) => on_status(&ctx, &status),
                Ok(ServerFrame::Event(Event::Kicked { .. })) | Err(_) => {
                    ctx.errors.fetch_add(1, Ordering::Relaxed);
                }
                // Other events (calls, ...) play no part here.
                Ok(ServerFrame::Event(_)) => {}
            },
            Ok(_) => {}
            Err(_) => break,
        }
    }
    ctx.closed.fetch_add(1, Ordering::Relaxed);
}

/// Change i sets user `changers[i]`'s DND to i + 1.
fn on_status(ctx: &RunCtx, status: &UserStatus) {
    let change = (status.dnd as usize).wrapping_sub(1);
    match ctx.changers.get(change) {
        Some(who) if *who == status.user_id => ctx.fanout.arrived(Some(change)),
        _ => {
            ctx.fanout.stray.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn run_crvideo(args: &Args, n: usize) -> BenchResult<RunResult> {
    let dir = TempDir::new("crvideo")?;
    // An empty `[limits]`: the server's default limits, as a stock configuration has them.
    let config = format!("heartbeat_ms = {HEARTBEAT_MS}\n[limits]\n");
    let (mut server, addr) = start_crvideo(&args.server.server_bin, dir.path(), &config)?;
    let result = crvideo_phases(args, n, &mut server, addr).await;
    let stopped = stop_child(&mut server);
    match result {
        Ok(r) => {
            println!("{stopped}");
            Ok(r)
        }
        Err(e) => Err(format!(
            "crvideo-server, N={n}: {e}\n({stopped}; last lines of its log:)\n{}",
            log_tail(&dir.path().join("server.log"), 20)
        )),
    }
}

async fn crvideo_phases(
    args: &Args,
    n: usize,
    server: &mut ChildGuard,
    addr: SocketAddr,
) -> BenchResult<RunResult> {
    let pid = server.pid();
    let subscribers = n / 2;
    let changer_pool = n - subscribers;
    let changers: Vec<String> = (0..args.changes)
        .map(|i| user_id(subscribers + i % changer_pool))
        .collect();
    let ctx = RunCtx::new(args.changes, subscribers, changers);

    // The tenant's first login pays argon2 (later ones hit the server's verified-password
    // cache). Do it once up front, outside the throughput and memory figures.
    let t0 = Instant::now();
    let mut warmup = ws_login(addr, "warmup".into(), RunCtx::new(0, 0, Vec::new())).await?;
    let first_login_ms = t0.elapsed().as_secs_f64() * 1e3;
    let id = warmup.send(Request::Logout).await?;
    warmup.reply(id).await?;
    drop(warmup);

    let rss_before_kib = settle_then_rss(pid).await?;

    let overflows_before = tcp_listen_overflows();
    let cpu_before = cpu_secs(pid)?;
    let (mut clients, login_time) = run_limited(n, args.in_flight, |i| {
        let ctx = ctx.clone();
        async move {
            let client = ws_login(addr, user_id(i), ctx).await?;
            Ok((client, Instant::now()))
        }
    })
    .await?;
    let login_secs = login_time.as_secs_f64();
    let login_cpu_secs = cpu_secs(pid)? - cpu_before;
    let listen_overflows = tcp_listen_overflows().saturating_sub(overflows_before);

    let mut pending = Vec::with_capacity(subscribers);
    for client in &mut clients[..subscribers] {
        pending.push(client.send(Request::SubscribeStatus).await?);
    }
    for (client, id) in clients[..subscribers].iter_mut().zip(pending) {
        let reply = client.reply(id).await?;
        if reply.code != 0 {
            return Err(format!("subscribe_status failed with code {}", reply.code));
        }
    }
    let rss_after_kib = settle_then_rss(pid).await?;
    ctx.health()?;

    let cpu_before = cpu_secs(pid)?;
    let mut all = Vec::with_capacity(args.changes);
    let mut first = Vec::with_capacity(args.changes);
    for change in 0..args.changes {
        let client = &mut clients[subscribers + change % changer_pool];
        let sent = Instant::now();
        let id = client
            .send(Request::SetDnd {
                dnd: change as i32 + 1,
            })
            .await?;
        let (first_at, done_at) = ctx.fanout.wait(change, STEP_TIMEOUT).await?;
        let reply = client.reply(id).await?;
        if reply.code != 0 {
            return Err(format!("set_dnd failed with code {}", reply.code));
        }
        all.push(done_at - sent);
        first.push(first_at - sent);
    }
    let fanout_cpu_secs = cpu_secs(pid)? - cpu_before;
    let rss_after_fanout_kib = rss_kib(pid)?;
    ctx.health()?;
    if !server.is_running() {
        return Err("the server exited during the run".into());
    }
    drop(clients);

    Ok(RunResult {
        users: n,
        changes: args.changes,
        subscribers,
        login_cpu_secs,
        fanout_cpu_secs,
        listen_overflows,
        login_secs,
        logins_per_sec: n as f64 / login_secs,
        first_login_ms: Some(first_login_ms),
        rss_before_kib,
        rss_after_kib,
        rss_after_fanout_kib,
        fanout_all: Latency::of(&all),
        fanout_first: Latency::of(&first),
    })
}

// ---------------------------------------------------------------------------------------
// nats-server

/// One NATS connection and, for a subscriber, the task reading its subscription.
struct NatsClient {
    client: Client,
    reader: Option<JoinHandle<()>>,
}

impl Drop for NatsClient {
    fn drop(&mut self) {
        if let Some(reader) = &self.reader {
            reader.abort();
        }
    }
}

/// Connects (returns at the PONG after CONNECT); errors the server reports count in `ctx`.
async fn nats_connect(addr: SocketAddr, ctx: Arc<RunCtx>) -> BenchResult<NatsClient> {
    let options = nats::options(STEP_TIMEOUT)
        .read_buffer_capacity(4096)
        .event_callback(move |event| {
            let ctx = ctx.clone();
            async move {
                if matches!(
                    event,
                    NatsEvent::ServerError(_) | NatsEvent::SlowConsumer(_)
                ) {
                    ctx.errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    let client = nats::connect_with(addr, options, STEP_TIMEOUT).await?;
    Ok(NatsClient {
        client,
        reader: None,
    })
}

/// Reads one subscriber's messages for the rest of the run: each names its change.
async fn nats_reader(mut subscription: Subscriber, ctx: Arc<RunCtx>) {
    while let Some(msg) = subscription.next().await {
        let change = std::str::from_utf8(&msg.payload).ok();
        ctx.fanout.arrived(change.and_then(|s| s.parse().ok()));
    }
    ctx.closed.fetch_add(1, Ordering::Relaxed);
}

async fn run_nats(args: &Args, n: usize) -> BenchResult<RunResult> {
    let dir = TempDir::new("nats")?;
    let (mut nats, addr) =
        tokio::task::block_in_place(|| start_nats(&args.nats.nats_bin, dir.path()))?;
    let result = nats_phases(args, n, &mut nats, addr).await;
    let stopped = stop_child(&mut nats);
    match result {
        Ok(r) => {
            println!("{stopped}");
            Ok(r)
        }
        Err(e) => Err(format!(
            "nats-server, N={n}: {e}\n({stopped}; last lines of its log:)\n{}",
            log_tail(&dir.path().join("nats.log"), 20)
        )),
    }
}

async fn nats_phases(
    args: &Args,
    n: usize,
    nats: &mut ChildGuard,
    addr: SocketAddr,
) -> BenchResult<RunResult> {
    let pid = nats.pid();
    let subscribers = n / 2;
    let changer_pool = n - subscribers;
    let ctx = RunCtx::new(args.changes, subscribers, Vec::new());

    // Symmetric with the crvideo warm-up: one connection made and closed before the
    // baseline (the readiness probe connected too).
    drop(nats_connect(addr, RunCtx::new(0, 0, Vec::new())).await?);
    let rss_before_kib = settle_then_rss(pid).await?;

    let overflows_before = tcp_listen_overflows();
    let cpu_before = cpu_secs(pid)?;
    let (mut clients, login_time) = run_limited(n, args.in_flight, |_| {
        let ctx = ctx.clone();
        async move {
            let client = nats_connect(addr, ctx).await?;
            Ok((client, Instant::now()))
        }
    })
    .await?;
    let login_secs = login_time.as_secs_f64();
    let login_cpu_secs = cpu_secs(pid)? - cpu_before;
    let listen_overflows = tcp_listen_overflows().saturating_sub(overflows_before);

    let mut subscriptions = Vec::with_capacity(subscribers);
    for c in &clients[..subscribers] {
        let subscription = c.client.subscribe(NATS_SUBJECT).await;
        subscriptions.push(subscription.map_err(|e| format!("nats subscribe: {e}"))?);
    }
    for c in &clients[..subscribers] {
        nats::flush(&c.client, STEP_TIMEOUT).await?;
    }
    // The server has the subscriptions after the settle; its RSS is read before nats::sync
    // proves it (sync's extra subscription and message per client are not part of the
    // figure, as the PINGs of the NATS protocol were not).
    let rss_after_kib = settle_then_rss(pid).await?;
    for (c, subscription) in clients[..subscribers].iter_mut().zip(subscriptions) {
        nats::sync(&c.client, STEP_TIMEOUT).await?;
        c.reader = Some(tokio::spawn(nats_reader(subscription, ctx.clone())));
    }
    ctx.health()?;

    let cpu_before = cpu_secs(pid)?;
    let mut all = Vec::with_capacity(args.changes);
    let mut first = Vec::with_capacity(args.changes);
    for change in 0..args.changes {
        let client = &clients[subscribers + change % changer_pool].client;
        let body = Bytes::from(change.to_string());
        let sent = Instant::now();
        nats::publish(client, NATS_SUBJECT, None, body).await?;
        let (first_at, done_at) = ctx.fanout.wait(change, STEP_TIMEOUT).await?;
        all.push(done_at - sent);
        first.push(first_at - sent);
    }
    let fanout_cpu_secs = cpu_secs(pid)? - cpu_before;
    let rss_after_fanout_kib = rss_kib(pid)?;
    ctx.health()?;
    if !nats.is_running() {
        return Err("nats-server exited during the run".into());
    }
    drop(clients);

    Ok(RunResult {
        users: n,
        changes: args.changes,
        subscribers,
        login_cpu_secs,
        fanout_cpu_secs,
        listen_overflows,
        login_secs,
        logins_per_sec: n as f64 / login_secs,
        first_login_ms: None,
        rss_before_kib,
        rss_after_kib,
        rss_after_fanout_kib,
        fanout_all: Latency::of(&all),
        fanout_first: Latency::of(&first),
    })
}
