//! Presence load: N users of one tenant log in on crvideo-server, half of them subscribe to
//! presence, then `--changes` others change their DND one at a time; each change is timed
//! until every subscriber has it. The same shape runs against nats-server (N connections,
//! half SUB to one subject, PUBs one at a time). Per N, each on a fresh server:
//! - logins/s: first connect to last `LoginOk` (nats: the PONG after CONNECT), at most
//!   `--in-flight` outstanding;
//! - server RSS per user: (VmRSS with all N in and N/2 subscribed − VmRSS before) / N;
//! - fan-out delay: just before a change is sent → the last of the N/2 subscribers has
//!   parsed it; p50/p99/max over the changes.
//!
//! See docs/BENCHMARKS.md.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Event as NatsEvent, Subscriber};
use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{ratio2, summary_heading, table, Latency, Row};
use crvideo_bench::{
    at_least, fd_limit_for, login, machine, nats, positive, rss_kib, run_load_generator,
    spawn_limited, tcp_listen_overflows, BenchResult, CpuSince, Fanout, NatsArgs, Server,
    ServerArgs, TempDir,
};
use crvideo_proto::{decode, encode, ClientFrame, Event, Reply, Request, ServerFrame};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const SUBJECT: &str = "presence";
/// Longest wait for one reply, one PONG, or one change to reach all subscribers.
const STEP: Duration = Duration::from_secs(30);

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
    run_load_generator("presence_load", run_all(args));
}

/// What one run (one system, one N) measured.
struct Run {
    system: &'static str,
    users: usize,
    subscribers: usize,
    changes: usize,
    login: Duration,
    /// crvideo only: the tenant's very first login (pays argon2), in ms.
    first_login_ms: Option<f64>,
    /// Server RSS in KiB: before the logins, with all users, after the fan-out.
    rss: [u64; 3],
    /// Server CPU seconds of the logins and of the changes.
    cpu: [f64; 2],
    /// Connections the kernel dropped in the login phase because the server's listen queue
    /// was full (each costs its client a SYN retransmission, 1 s).
    overflows: u64,
    all: Latency,
    first: Latency,
}

impl Run {
    fn logins_per_sec(&self) -> f64 {
        self.users as f64 / self.login.as_secs_f64()
    }

    fn rss_per_user(&self) -> f64 {
        (self.rss[1] as f64 - self.rss[0] as f64) / self.users as f64
    }

    fn row(&self) -> Row {
        let changes = self.changes.max(1) as f64;
        let mut row = Row::new(self.system)
            .col("users", self.users)
            .col("subscribers", self.subscribers)
            .note("login s", format!("{:.2}", self.login.as_secs_f64()))
            .col("logins/s", format!("{:.0}", self.logins_per_sec()));
        if let Some(ms) = self.first_login_ms {
            row = row.note("first login of the tenant ms", format!("{ms:.1}"));
        }
        row.note(
            "server CPU us/login",
            format!("{:.0}", self.cpu[0] * 1e6 / self.users as f64),
        )
        .note("listen-queue overflows", self.overflows)
        .note(
            "RSS KiB before / with all users / after fan-out",
            format!("{} / {} / {}", self.rss[0], self.rss[1], self.rss[2]),
        )
        .col("RSS/user KiB", format!("{:.2}", self.rss_per_user()))
        .ms("fan-out ", &self.all, 2)
        .note("fan-out to the first subscriber", self.first.ms(2))
        .note(
            "server CPU per change ms",
            format!("{:.2}", self.cpu[1] * 1e3 / changes),
        )
        .note(
            "us per delivered message",
            format!(
                "{:.2}",
                self.cpu[1] * 1e6 / (changes * self.subscribers.max(1) as f64)
            ),
        )
    }
}

async fn run_all(args: Args) -> BenchResult<()> {
    args.server.check()?;
    let fd_limit = fd_limit_for(args.users.iter().copied().max().unwrap_or(0))?;
    println!(
        "machine: {}; open-file limit {fd_limit}; client runtime: 2 tokio workers, {} logins in flight, {} changes",
        machine(),
        args.in_flight,
        args.changes
    );
    let mut runs = Vec::new();
    for &n in &args.users {
        println!("\n== N = {n} ==");
        for nats in [false, true] {
            if nats && args.nats.skip_nats {
                continue;
            }
            let dir = TempDir::new("presence")?;
            let server = if nats {
                Server::nats(&args.nats.nats_bin, dir.path(), &[])?
            } else {
                // An empty `[limits]`: the server's default limits, as a stock config has them.
                let config = "heartbeat_ms = 5000\n[limits]\n";
                Server::crvideo(&args.server.server_bin, dir.path(), config, "")?
            };
            let run = phases(&args, n, server.pid(), server.addr, nats).await;
            let run = server.finish(run.map_err(|e| format!("N={n}: {e}")))?;
            run.row().print();
            runs.push(run);
        }
    }

    summary_heading();
    table("system", &runs.iter().map(Run::row).collect::<Vec<_>>());
    let ratios: Vec<Row> = (runs.windows(2))
        .filter(|w| w[0].first_login_ms.is_some() && w[1].first_login_ms.is_none())
        .map(|w| {
            let (o, n) = (&w[0], &w[1]);
            Row::new(o.users.to_string())
                .col("logins/s", ratio2(o.logins_per_sec(), n.logins_per_sec()))
                .col("RSS/user", ratio2(o.rss_per_user(), n.rss_per_user()))
                .col("fan-out p50", ratio2(o.all.p50_ms, n.all.p50_ms))
                .col("fan-out p99", ratio2(o.all.p99_ms, n.all.p99_ms))
        })
        .collect();
    if !ratios.is_empty() {
        println!("\nRatios crvideo/nats (logins/s: above 1 is better for crvideo; RSS and delays: below 1 is better):\n");
        table("users", &ratios);
    }
    println!("\nTargets (issue): RSS <= 30 KiB/user at 10,000 users; p99 fan-out to 5,000 subscribers <= 250 ms.");
    let verdict = |met: bool, limit| match met {
        true => format!("<= {limit}: met"),
        false => format!("> {limit}: MISSED"),
    };
    for r in runs.iter().filter(|r| r.first_login_ms.is_some()) {
        println!(
            "crvideo-server N={}: RSS/user {:.2} KiB ({}), p99 fan-out to {} subscribers {:.2} ms ({})",
            r.users,
            r.rss_per_user(),
            verdict(r.rss_per_user() <= 30.0, 30),
            r.subscribers,
            r.all.p99_ms,
            verdict(r.all.p99_ms <= 250.0, 250)
        );
    }
    Ok(())
}

/// RSS after 0.5 s, so that allocations still in flight (log lines, tasks ending) settle.
async fn settled_rss(pid: u32) -> BenchResult<u64> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    rss_kib(pid)
}

fn user_id(i: usize) -> String {
    format!("u{i:05}")
}

/// The phases of one run on the server at `addr` (crvideo or `nats`).
async fn phases(args: &Args, n: usize, pid: u32, addr: SocketAddr, nats: bool) -> BenchResult<Run> {
    let subscribers = n / 2;
    // Change i is made by a user who is not subscribed.
    let changer = |change: usize| subscribers + change % (n - subscribers);
    let changers = (0..args.changes).map(|c| user_id(changer(c))).collect();
    let ctx = Ctx::new(args.changes, subscribers, changers);

    // crvideo: the tenant's first login pays argon2 (later ones hit the server's cache), so
    // one is done up front, outside the figures. NATS: one connection, made and closed too.
    let t0 = Instant::now();
    let mut warmup = connect(nats, addr, "warmup".into(), Ctx::new(0, 0, Vec::new())).await?;
    let first_login_ms = (!nats).then(|| t0.elapsed().as_secs_f64() * 1e3);
    if !nats {
        let id = warmup.send(Request::Logout).await?;
        warmup.reply_ok(id).await?;
    }
    drop(warmup);
    let rss_before = settled_rss(pid).await?;

    let overflows = tcp_listen_overflows();
    let cpu = CpuSince::start([pid])?;
    let (mut clients, login) = spawn_limited(n, args.in_flight, |i| {
        connect(nats, addr, user_id(i), ctx.clone())
    })
    .await?;
    let [login_cpu] = cpu.used()?;
    let overflows = tcp_listen_overflows().saturating_sub(overflows);

    let subs = &mut clients[..subscribers];
    let rss_with_all = if nats {
        let mut subscriptions = Vec::with_capacity(subscribers);
        for c in subs.iter() {
            let subscription = c.nats().subscribe(SUBJECT).await;
            subscriptions.push(subscription.map_err(|e| format!("nats subscribe: {e}"))?);
        }
        for c in subs.iter() {
            nats::flush(c.nats(), STEP).await?;
        }
        // The server has the subscriptions after the settling; its RSS is read before
        // nats::sync proves it (sync's extra subscription and message per client are not
        // part of the figure, as the PINGs of the NATS protocol were not).
        let rss = settled_rss(pid).await?;
        for (c, subscription) in subs.iter_mut().zip(subscriptions) {
            nats::sync(c.nats(), STEP).await?;
            c.reader = Some(tokio::spawn(nats_reader(subscription, ctx.clone())));
        }
        rss
    } else {
        let mut pending = Vec::with_capacity(subscribers);
        for c in subs.iter_mut() {
            pending.push(c.send(Request::SubscribeStatus).await?);
        }
        for (c, id) in subs.iter_mut().zip(pending) {
            c.reply_ok(id).await?;
        }
        settled_rss(pid).await?
    };
    ctx.health()?;

    let cpu = CpuSince::start([pid])?;
    let (mut all, mut first) = (Vec::new(), Vec::new());
    for change in 0..args.changes {
        let client = &mut clients[changer(change)];
        let body = Bytes::from(change.to_string());
        let sent = Instant::now();
        let id = match nats {
            true => nats::publish(client.nats(), SUBJECT, None, body)
                .await
                .map(|()| None),
            false => client
                .send(Request::SetDnd {
                    dnd: change as i32 + 1,
                })
                .await
                .map(Some),
        }?;
        let (first_at, done_at) = ctx.fanout.wait(change, STEP).await?;
        if let Some(id) = id {
            client.reply_ok(id).await?;
        }
        all.push(done_at - sent);
        first.push(first_at - sent);
    }
    let [fanout_cpu] = cpu.used()?;
    let rss_after = rss_kib(pid)?;
    ctx.health()?;
    Ok(Run {
        system: if nats {
            "nats-server"
        } else {
            "crvideo-server"
        },
        users: n,
        subscribers,
        changes: args.changes,
        login,
        first_login_ms,
        rss: [rss_before, rss_with_all, rss_after],
        cpu: [login_cpu, fanout_cpu],
        overflows,
        all: Latency::of(&all),
        first: Latency::of(&first),
    })
}

/// State shared by all connections of one run.
struct Ctx {
    fanout: Fanout,
    /// crvideo: who makes change i (events are checked against it).
    changers: Vec<String>,
    /// Connections whose read side ended before the run did.
    closed: AtomicUsize,
    /// Kicked events, undecodable frames, server errors.
    errors: AtomicUsize,
}

impl Ctx {
    fn new(changes: usize, subscribers: usize, changers: Vec<String>) -> Arc<Ctx> {
        Arc::new(Ctx {
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

type Ws = WebSocketStream<TcpStream>;

/// One connection: crvideo's write half, the replies its read task forwards and the next
/// request ID, or a NATS client; and the task reading its events.
struct Client {
    ws: Option<(SplitSink<Ws, Message>, mpsc::UnboundedReceiver<Reply>, u64)>,
    nats: Option<async_nats::Client>,
    reader: Option<JoinHandle<()>>,
}

impl Drop for Client {
    fn drop(&mut self) {
        self.reader.as_ref().map(JoinHandle::abort);
    }
}

/// crvideo: connects, says hello and logs in as `user`, returning at the `LoginOk`. NATS:
/// connects, returning at the PONG after CONNECT; errors the server reports count in `ctx`.
async fn connect(nats: bool, addr: SocketAddr, user: String, ctx: Arc<Ctx>) -> BenchResult<Client> {
    if nats {
        let options = nats::options(STEP)
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
        let client = nats::connect_with(addr, options, STEP).await?;
        return Ok(Client {
            ws: None,
            nats: Some(client),
            reader: None,
        });
    }
    let conn = login(addr, &user, "crvideo-bench/presence_load", STEP).await;
    let (ws, next_id) = conn.map_err(|e| format!("login {user}: {e}"))?.into_parts();
    let (sink, stream) = ws.split();
    let (tx, replies) = mpsc::unbounded_channel();
    let reader = Some(tokio::spawn(ws_reader(stream, tx, ctx)));
    Ok(Client {
        ws: Some((sink, replies, next_id)),
        nats: None,
        reader,
    })
}

impl Client {
    fn nats(&self) -> &async_nats::Client {
        self.nats.as_ref().expect("a NATS client")
    }

    async fn send(&mut self, request: Request) -> BenchResult<u64> {
        let (sink, _, next_id) = self.ws.as_mut().expect("a crvideo client");
        let id = *next_id;
        *next_id += 1;
        let text = encode(&ClientFrame { id, request });
        sink.send(Message::text(text))
            .await
            .map_err(|e| format!("send: {e}"))?;
        Ok(id)
    }

    /// Waits for the reply to request `id`, which must succeed.
    async fn reply_ok(&mut self, id: u64) -> BenchResult<()> {
        let (_, replies, _) = self.ws.as_mut().expect("a crvideo client");
        let reply = tokio::time::timeout(STEP, replies.recv())
            .await
            .map_err(|_| format!("no reply to request {id} within {STEP:?}"))?
            .ok_or("connection closed before the reply")?;
        match (reply.re, reply.code) {
            (re, 0) if re == id => Ok(()),
            (re, code) => Err(format!(
                "reply to {re} (code {code}) while waiting for {id}"
            )),
        }
    }
}

/// The read side of one crvideo connection for the rest of the run: keeps tungstenite
/// answering pings, forwards replies, counts presence events (change i sets `changers[i]`'s
/// DND to i + 1).
async fn ws_reader(
    mut stream: SplitStream<Ws>,
    replies: mpsc::UnboundedSender<Reply>,
    ctx: Arc<Ctx>,
) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        match decode::<ServerFrame>(text.as_str()) {
            Ok(ServerFrame::Reply(reply)) => {
                let _ = replies.send(reply);
            }
            Ok(ServerFrame::Event(Event::UserStatus(status))) => {
                let change = (status.dnd as usize).wrapping_sub(1);
                match ctx.changers.get(change) {
                    Some(who) if *who == status.user_id => ctx.fanout.arrived(Some(change)),
                    _ => ctx.fanout.arrived(None),
                }
            }
            Ok(ServerFrame::Event(Event::Kicked { .. })) | Err(_) => {
                ctx.errors.fetch_add(1, Ordering::Relaxed);
            }
            // Other events (calls, ...) play no part here.
            Ok(ServerFrame::Event(_)) => {}
        }
    }
    ctx.closed.fetch_add(1, Ordering::Relaxed);
}

/// Reads one NATS subscriber's messages for the rest of the run: each names its change.
async fn nats_reader(mut subscription: Subscriber, ctx: Arc<Ctx>) {
    while let Some(msg) = subscription.next().await {
        let change = std::str::from_utf8(&msg.payload).ok();
        ctx.fanout.arrived(change.and_then(|s| s.parse().ok()));
    }
    ctx.closed.fetch_add(1, Ordering::Relaxed);
}
