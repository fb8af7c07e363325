//! Presence load: N users of one tenant log in on crvideo-server, half of them subscribe to
//! presence, then `--changes` others change their DND one at a time; each change is timed
//! until every subscriber has parsed it. The same shape runs against nats-server (N
//! connections, half SUB to one subject, PUBs one at a time). Per N, on a fresh server:
//! logins/s (first connect to last `LoginOk`, nats: the PONG after CONNECT), server RSS per
//! user ((VmRSS with all in and subscribed − VmRSS before) / N), and the fan-out delay (just
//! before a change is sent → the last subscriber has it). See docs/BENCHMARKS.md.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use async_nats::{Event as NatsEvent, Subscriber};
use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{fixed, ratio2, summary_heading, table, Latency, Row};
use crvideo_bench::{
    at_least, blocking, cpu_secs, fd_limit_for, login, machine, nats, positive, rss_kib,
    run_load_generator, spawn_limited, start_nats_cluster, tcp_listen_overflows, BenchResult,
    Fanout, NatsArgs, Server, ServerArgs, TempDir,
};
use crvideo_proto::{decode, encode, ClientFrame, Event, Reply, Request, ServerFrame};
use crvideo_testkit::engines::Redis;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
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
    /// Users of each run (comma-separated or repeated; at least 2 each).
    #[arg(long, value_delimiter = ',', value_parser = at_least(2), default_values_t = [1000, 10_000])]
    users: Vec<usize>,
    /// DND changes, one at a time.
    #[arg(long, default_value = "100", value_parser = positive)]
    changes: usize,
    /// Logins (NATS: connections) in flight.
    #[arg(long, default_value = "256", value_parser = positive)]
    in_flight: usize,
    /// Subscribers of each run (default: half the users); the users left make the changes.
    #[arg(long)]
    subscribers: Option<usize>,
    /// Servers: with more than one, crvideo-server nodes in cluster mode on a redis-server
    /// started here, and nats-servers routed to each other; users connect round-robin.
    #[arg(long, default_value = "1", value_parser = positive)]
    nodes: usize,
}

fn main() {
    run_load_generator("presence_load", run_all(Args::parse()));
}

/// What one run (one system, one N) measured.
struct Run {
    row: Row,
    users: usize,
    subscribers: usize,
    logins_per_sec: f64,
    rss_per_user: f64,
    fanout: Latency,
}

async fn run_all(args: Args) -> BenchResult<()> {
    args.server.check()?;
    let fd_limit = fd_limit_for(args.users.iter().copied().max().unwrap_or(0))?;
    let (machine, in_flight, changes) = (machine(), args.in_flight, args.changes);
    println!("machine: {machine}; open-file limit {fd_limit}; client runtime: 2 tokio workers, {in_flight} logins in flight, {changes} changes");
    let (mut ours, mut peers) = (Vec::new(), Vec::new());
    for &n in &args.users {
        println!("\n== N = {n} ==");
        let dir = TempDir::new("presence")?;
        // The server's default limits, as a stock config has them, but for connections not
        // logged in per address: every client of this bench is on one address (a stock
        // server allows 64 at once; the logins in flight here are more).
        let config =
            format!("heartbeat_ms = 5000\n[limits]\nmax_prelogin_per_address = {in_flight}\n");
        let redis = (args.nodes > 1).then(|| blocking(Redis::start));
        let mut servers = Vec::new();
        for node in 0..args.nodes {
            let cluster = redis.as_ref().map_or(String::new(), |r| {
                format!(
                    "[cluster]\nredis_url = \"{}\"\nnode_id = \"n{node}\"\n",
                    r.url()
                )
            });
            let dir = dir.path().join(format!("n{node}"));
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let config = format!("{config}{cluster}");
            servers.push(Server::crvideo(&args.server.server_bin, &dir, &config, "")?);
        }
        let run = phases(&args, n, &pids(&servers), &addrs(&servers), false).await;
        ours.push(Server::finish_all(
            servers,
            run.map_err(|e| format!("N={n}: {e}")),
        )?);
        if !args.nats.skip_nats {
            let dir = TempDir::new("presence-nats")?;
            let servers = match args.nodes {
                1 => vec![Server::nats(&args.nats.nats_bin, dir.path(), &[])?],
                nodes => start_nats_cluster(&args.nats.nats_bin, dir.path(), nodes)?,
            };
            let run = phases(&args, n, &pids(&servers), &addrs(&servers), true).await;
            peers.push(Server::finish_all(
                servers,
                run.map_err(|e| format!("N={n}: {e}")),
            )?);
        }
    }

    summary_heading();
    let runs = ours
        .iter()
        .enumerate()
        .flat_map(|(i, o)| [Some(o), peers.get(i)]);
    table("system", runs.flatten().map(|r| &r.row));
    if !peers.is_empty() {
        println!("\nRatios crvideo/nats (logins/s: above 1 is better for crvideo; RSS and delays: below 1 is better):\n");
        let ratios = ours.iter().zip(&peers).map(|(o, n)| {
            Row::new(o.users.to_string())
                .col("logins/s", ratio2(o.logins_per_sec, n.logins_per_sec))
                .col("RSS/user", ratio2(o.rss_per_user, n.rss_per_user))
                .col("fan-out p50", ratio2(o.fanout.p50_ms, n.fanout.p50_ms))
                .col("fan-out p99", ratio2(o.fanout.p99_ms, n.fanout.p99_ms))
        });
        table("users", &ratios.collect::<Vec<_>>());
    }
    println!("\nTargets (issue): RSS <= 30 KiB/user at 10,000 users; p99 fan-out to 5,000 subscribers <= 250 ms (issue 22: to 10,000 over 3 nodes).");
    let verdict = |met: bool, limit| match met {
        true => format!("<= {limit}: met"),
        false => format!("> {limit}: MISSED"),
    };
    for r in &ours {
        let (n, rss, subscribers, p99) = (r.users, r.rss_per_user, r.subscribers, r.fanout.p99_ms);
        let (rss_met, p99_met) = (verdict(rss <= 30.0, 30), verdict(p99 <= 250.0, 250));
        println!("crvideo-server N={n}: RSS/user {rss:.2} KiB ({rss_met}), p99 fan-out to {subscribers} subscribers {p99:.2} ms ({p99_met})");
    }
    Ok(())
}

/// RSS of the servers after 0.5 s, so that allocations still in flight (log lines, tasks
/// ending) settle.
async fn settled_rss(pids: &[u32]) -> BenchResult<u64> {
    tokio::time::sleep(Duration::from_millis(500)).await;
    total_rss(pids)
}

fn total_rss(pids: &[u32]) -> BenchResult<u64> {
    pids.iter().map(|&pid| rss_kib(pid)).sum()
}

fn total_cpu(pids: &[u32]) -> BenchResult<f64> {
    pids.iter().map(|&pid| cpu_secs(pid)).sum()
}

fn pids(servers: &[Server]) -> Vec<u32> {
    servers.iter().map(Server::pid).collect()
}

fn addrs(servers: &[Server]) -> Vec<SocketAddr> {
    servers.iter().map(|s| s.addr).collect()
}

fn user_id(i: usize) -> String {
    format!("u{i:05}")
}

/// The phases of one run on the servers at `addrs` (crvideo or `nats`; user i connects to
/// server i mod their number).
async fn phases(
    args: &Args,
    n: usize,
    pids: &[u32],
    addrs: &[SocketAddr],
    nats: bool,
) -> BenchResult<Run> {
    let subscribers = args.subscribers.unwrap_or(n / 2).min(n - 1);
    // Change i is made by a user who is not subscribed.
    let changer = |change: usize| subscribers + change % (n - subscribers);
    let changers = (0..args.changes).map(|c| user_id(changer(c))).collect();
    let ctx = Ctx::new(args.changes, subscribers, changers);

    // crvideo: the tenant's first login pays argon2 (later ones hit the server's cache), so
    // one is done up front, outside the figures. NATS: one connection, made and closed too.
    let t0 = Instant::now();
    let mut warmup = connect(nats, addrs[0], "warmup".into(), Ctx::new(0, 0, Vec::new())).await?;
    let first_login_ms = t0.elapsed().as_secs_f64() * 1e3;
    if !nats {
        let id = warmup.send(Request::Logout).await?;
        warmup.reply_ok(id).await?;
    }
    drop(warmup);
    let rss_before = settled_rss(pids).await?;

    let overflows = tcp_listen_overflows();
    let cpu = total_cpu(pids)?;
    let connect = |i| connect(nats, addrs[i % addrs.len()], user_id(i), ctx.clone());
    let (mut clients, login) = spawn_limited(n, args.in_flight, connect).await?;
    let login_cpu = total_cpu(pids)? - cpu;
    let overflows = tcp_listen_overflows().saturating_sub(overflows);

    if addrs.len() > 1 {
        // The other nodes learn of the last logins through Redis: a subscriber that
        // subscribed before would hear them come online (a stray message, failing the run).
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
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
        let rss = settled_rss(pids).await?;
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
        settled_rss(pids).await?
    };
    ctx.health()?;

    let cpu = total_cpu(pids)?;
    let (mut all, mut first) = (Vec::new(), Vec::new());
    for change in 0..args.changes {
        let client = &mut clients[changer(change)];
        let (body, dnd) = (Bytes::from(change.to_string()), change as i32 + 1);
        let sent = Instant::now();
        let id = match nats {
            true => nats::publish(client.nats(), SUBJECT, None, body)
                .await
                .map(|()| None),
            false => client.send(Request::SetDnd { dnd }).await.map(Some),
        }?;
        let (first_at, done_at) = ctx.fanout.wait(change, STEP).await?;
        if let Some(id) = id {
            client.reply_ok(id).await?;
        }
        all.push(done_at - sent);
        first.push(first_at - sent);
    }
    let fanout_cpu = total_cpu(pids)? - cpu;
    let rss_after = total_rss(pids)?;
    ctx.health()?;

    let (fanout, changes) = (Latency::of(&all), args.changes.max(1) as f64);
    let logins_per_sec = n as f64 / login.as_secs_f64();
    let rss_per_user = (rss_with_all as f64 - rss_before as f64) / n as f64;
    let system = if nats {
        "nats-server"
    } else {
        "crvideo-server"
    };
    let mut row = Row::new(match addrs.len() {
        1 => system.to_owned(),
        k => format!("{system} x{k}"),
    })
    .col("users", n)
    .col("subscribers", subscribers)
    .note("login s", fixed(login.as_secs_f64(), 2))
    .col("logins/s", fixed(logins_per_sec, 0));
    if !nats {
        row = row.note("first login of the tenant ms", fixed(first_login_ms, 1));
    }
    let rss = format!("{rss_before} / {rss_with_all} / {rss_after}");
    let per_message = fanout_cpu * 1e6 / (changes * subscribers.max(1) as f64);
    let row = row
        .note("server CPU us/login", fixed(login_cpu * 1e6 / n as f64, 0))
        .note("listen-queue overflows", overflows)
        .note("RSS KiB before / with all users / after fan-out", rss)
        .col("RSS/user KiB", fixed(rss_per_user, 2))
        .ms("fan-out ", &fanout, 2)
        .note("fan-out to the first subscriber", Latency::of(&first).ms(2))
        .note(
            "server CPU per change ms",
            fixed(fanout_cpu * 1e3 / changes, 2),
        )
        .note("us per delivered message", fixed(per_message, 2));
    row.print();
    let (users, row) = (n, row);
    Ok(Run {
        row,
        users,
        subscribers,
        logins_per_sec,
        rss_per_user,
        fanout,
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
        let (fanout, closed, errors) = (Fanout::new(changes, subscribers), 0.into(), 0.into());
        Arc::new(Ctx {
            fanout,
            changers,
            closed,
            errors,
        })
    }

    fn health(&self) -> BenchResult<()> {
        let closed = self.closed.load(Ordering::Relaxed);
        let errors = self.errors.load(Ordering::Relaxed);
        let stray = self.fanout.stray.load(Ordering::Relaxed);
        if closed + errors + stray > 0 {
            return Err(format!("unhealthy run: {closed} connections closed early, {errors} errors, {stray} stray messages"));
        }
        Ok(())
    }
}

type Ws = WebSocketStream<TcpStream>;

/// One connection: crvideo's write half, the replies its read task forwards and the next
/// request ID, or a NATS client; and the task reading its events.
struct Client {
    ws: Option<(SplitSink<Ws, Message>, UnboundedReceiver<Reply>, u64)>,
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
        let options = nats::options(STEP).read_buffer_capacity(4096);
        let options = options.event_callback(move |event| {
            let error = matches!(
                event,
                NatsEvent::ServerError(_) | NatsEvent::SlowConsumer(_)
            );
            ctx.errors.fetch_add(usize::from(error), Ordering::Relaxed);
            async {}
        });
        let nats = Some(nats::connect_with(addr, options, STEP).await?);
        return Ok(Client {
            ws: None,
            nats,
            reader: None,
        });
    }
    let conn = login(addr, &user, "crvideo-bench/presence_load", STEP).await;
    let (ws, next_id) = conn.map_err(|e| format!("login {user}: {e}"))?.into_parts();
    let ((sink, stream), (tx, replies)) = (ws.split(), unbounded_channel());
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
        let reply = tokio::time::timeout(STEP, replies.recv()).await;
        let reply = reply.map_err(|_| format!("no reply to request {id} within {STEP:?}"))?;
        match reply.ok_or("connection closed before the reply")? {
            Reply { re, code: 0, .. } if re == id => Ok(()),
            Reply { re, code, .. } => Err(format!(
                "reply to {re} (code {code}) while waiting for {id}"
            )),
        }
    }
}

/// The read side of one crvideo connection for the rest of the run: keeps tungstenite
/// answering pings, forwards replies, counts presence events (change i sets `changers[i]`'s
/// DND to i + 1).
async fn ws_reader(mut stream: SplitStream<Ws>, tx: UnboundedSender<Reply>, ctx: Arc<Ctx>) {
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        match decode::<ServerFrame>(text.as_str()) {
            Ok(ServerFrame::Reply(reply)) => {
                let _ = tx.send(reply);
            }
            Ok(ServerFrame::Event(Event::UserStatus(status))) => {
                let change = (status.dnd as usize).wrapping_sub(1);
                let who = ctx.changers.get(change);
                ctx.fanout
                    .arrived((who == Some(&status.user_id)).then_some(change));
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
