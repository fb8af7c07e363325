//! Call-center queue load on crvideo-server, each scenario on a fresh server with one queue:
//! `--agents` agents serve it (`auto_assign_user` → `accept_assign_user` → `req_assign_user`,
//! which ends the service and gets the next customer or `QUE_NOUSER`) while customers send
//! `start_queuing` all at once (burst), at `--rate`/s, or one every `--slow-interval-ms`
//! (slow: uncontended). Per customer, t0 = `start_queuing` sent, t1 = an agent got the
//! `auto_assign_user` or `req_assign_user` reply naming it: p50/p99/max, assignments/s. The
//! order check: X certainly joined before Y when X's reply came before Y's request; Y was
//! certainly assigned before X when Y's assignment arrived before X's could have begun (the
//! agent's `req_assign_user` sent, or for an automatic one X's `start_queuing` sent); such a
//! pair is an inversion. The saturated scenario (`--waiting`): one DND agent takes a queue
//! of that many customers one `req_assign_user` at a time: a transition's round trip with a
//! long queue. Peer (on the slow and saturated scenarios' servers): `set_dnd` → a
//! subscriber's `user_status`, the same single hop without queue logic. See
//! docs/BENCHMARKS.md.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use crvideo_bench::report::{fixed, ratio, summary_heading, table, Latency, Row};
use crvideo_bench::{
    fd_limit_for, join_tasks, login, machine, positive, rss_kib, run_load_generator, spawn_limited,
    BenchResult, Conn, CpuSince, Server, ServerArgs, TempDir,
};
use crvideo_proto::{decode, Event, QueueUser, Request, ServerFrame};
use tokio::sync::{oneshot, watch, Barrier};

const AGENT: &str = "crvideo-bench/queue_load";
const QUE_ID: i32 = 1;
/// `QUE_NOUSER`: no customer waiting (the normal answer to `req_assign_user` at the end).
const QUE_NOUSER: i32 = 401;
/// Longest wait for one reply or event during setup.
const STEP: Duration = Duration::from_secs(30);
/// Longest an agent or a customer waits for anything during a scenario.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);
/// A long heartbeat: customers do not read (nor answer pings) until they queue. The request
/// rate limit is lifted: the peer sends thousands of `set_dnd` in a row (with the default
/// 200/s, burst 400, it would get TOO_FREQUENT and no event).
const SERVER_CONFIG: &str = "heartbeat_ms = 30000\ncall_timeout_secs = 300\n\n[limits]\nrequests_per_sec = 1000000\nrequest_burst = 1000000\nmax_prelogin_connections = 1000000\nmax_prelogin_per_address = 1000000";
const TENANT_CONFIG: &str = "[[tenants.queues]]\nid = 1\nname = \"q\"\ndesc = \"\"\nprio = 1\n";
/// Samples of the peer before the measured ones.
const PEER_WARMUP: usize = 100;

/// Call-center queue load on crvideo-server (see docs/BENCHMARKS.md). `--rate 0` or `--slow-customers 0` skips that scenario.
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Agents serving the queue.
    #[arg(long, default_value = "50", value_parser = positive)]
    agents: usize,
    /// Customers of the burst and rate scenarios.
    #[arg(long, default_value = "1000", value_parser = positive)]
    customers: usize,
    /// Customers per second of the rate scenario (0: skip it).
    #[arg(long, default_value_t = 500)]
    rate: usize,
    /// Customers of the slow scenario (0: skip it).
    #[arg(long, default_value_t = 500)]
    slow_customers: usize,
    /// Milliseconds between two customers of the slow scenario.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u64).range(1..))]
    slow_interval_ms: u64,
    /// Samples of the set_dnd -> user_status peer.
    #[arg(long, default_value = "2000", value_parser = positive)]
    peer_samples: usize,
    /// Logins in flight.
    #[arg(long, default_value = "64", value_parser = positive)]
    in_flight: usize,
    /// Leave out the slow scenario's untimed round trip before start_queuing.
    #[arg(long)]
    cold: bool,
    /// Customers waiting in the saturated scenario (0: skip it).
    #[arg(long, default_value_t = 1000)]
    waiting: usize,
}

fn main() {
    run_load_generator("queue_load", run_all(Args::parse()));
}

/// A scenario: its name, customers, time between two arrivals (None: all at once), and
/// whether customers make one round trip (`queue_refresh`) before `start_queuing`.
type Scenario = (&'static str, usize, Option<Duration>, bool);

/// What one customer saw: `start_queuing` sent, its reply, frames received (all, and
/// `queue_status`).
type Customer = (Instant, Instant, u64, u64);

/// One assignment as an agent saw it.
#[derive(Clone, Copy)]
struct Assignment {
    customer: usize,
    agent: usize,
    /// `auto_assign_user` / `req_assign_user` reply received.
    at: Instant,
    /// For a `req_assign_user` reply, when that request was sent: the earliest its
    /// transition can have begun (for an automatic one, `analyse` takes the customer's
    /// `start_queuing`).
    requested_at: Option<Instant>,
}

#[derive(Default)]
struct AgentReport {
    assignments: Vec<Assignment>,
    frames: u64,
    no_user: usize,
    /// Accept round trips (request → reply).
    accept_rtts: Vec<Duration>,
}

async fn run_all(args: Args) -> BenchResult<()> {
    let args = &args;
    args.server.check()?;
    let fd_limit = fd_limit_for(args.agents + args.customers.max(args.slow_customers) + 4)?;
    let machine = machine();
    println!("machine: {machine}; open-file limit {fd_limit}; client runtime: 2 tokio workers");
    let config = SERVER_CONFIG.replace('\n', ", ");
    println!("server config: {config}; one queue (id 1); agents all start_service(1, priority 1)");
    let slow = Duration::from_millis(args.slow_interval_ms);
    let rate = Duration::from_secs_f64(1.0 / args.rate.max(1) as f64);
    let rated = args.customers * usize::from(args.rate > 0);
    let scenarios: [Scenario; 3] = [
        ("slow", args.slow_customers, Some(slow), !args.cold),
        ("burst", args.customers, None, false),
        ("rate", rated, Some(rate), false),
    ];
    let (mut rows, mut peer, mut slow_auto) = (Vec::new(), None, None);
    for s @ (name, customers, every, prewarm) in scenarios.into_iter().filter(|s| s.1 > 0) {
        let arrival = every.map_or("burst (all at once)".into(), |d| {
            let (ms, per_sec) = (d.as_secs_f64() * 1e3, 1.0 / d.as_secs_f64());
            format!("one every {ms:.1} ms ({per_sec:.0}/s)")
        });
        let prewarm = match prewarm {
            true => ", one queue_refresh round trip before start_queuing",
            false => "",
        };
        let agents = args.agents;
        let what = format!("{agents} agents, {customers} customers, arrival {arrival}{prewarm}");
        println!("\n== {name}: {what} ==");
        let (row, auto, peer_here) = on_fresh_server(args, name, |pid, addr| async move {
            let peer = match name == "slow" {
                true => Some(peer_dnd(addr, args.peer_samples).await?),
                false => None,
            };
            let (row, auto) = run_scenario(args, s, pid, addr).await?;
            Ok((row, auto, peer))
        })
        .await?;
        peer = peer.or(peer_here);
        slow_auto = slow_auto.or((name == "slow").then_some(auto));
        rows.push(row);
    }
    let mut saturated = None;
    if args.waiting > 0 {
        let waiting = args.waiting;
        println!("\n== saturated: one DND agent, {waiting} customers waiting, req_assign_user one at a time ==");
        let measured = on_fresh_server(args, "saturated", |pid, addr| async move {
            let peer = peer_dnd(addr, args.peer_samples).await?;
            Ok((peer, run_saturated(args, pid, addr).await?))
        });
        saturated = Some(measured.await?);
    }

    summary_heading();
    let agents = args.agents;
    println!("{agents} agents (all priority 1), one queue; t0 = start_queuing sent, t1 = agent received auto_assign_user / req_assign_user reply naming the customer.\n");
    table("scenario", &rows);
    if let Some(p) = peer {
        println!();
        let row = Row::new("same server, idle").col("samples", args.peer_samples);
        let header = "peer: set_dnd -> user_status (1 subscriber)";
        table(header, [&row.ms("", &p, 3)]);
        if let Some(auto) = slow_auto {
            let (p50, p99) = (ratio(auto.p50_ms, p.p50_ms), ratio(auto.p99_ms, p.p99_ms));
            println!("\nRatio uncontended start_queuing -> auto_assign_user / set_dnd -> user_status: p50 {p50:.2}, p99 {p99:.2}");
        }
    }
    if let Some((peer, (all, long))) = saturated {
        println!();
        let header = "saturated: req_assign_user round trip";
        let waiting = args.waiting;
        let rows = [
            Row::new("all").col("samples", waiting).ms("", &all, 3),
            Row::new(format!("first half (>= {} waiting)", waiting / 2))
                .col("samples", waiting / 2)
                .ms("", &long, 3),
            Row::new("peer: set_dnd -> user_status, same server")
                .col("samples", args.peer_samples)
                .ms("", &peer, 3),
        ];
        table(header, &rows);
        let (p50, p99) = (
            ratio(all.p50_ms, peer.p50_ms),
            ratio(all.p99_ms, peer.p99_ms),
        );
        println!("\nRatio saturated transition (req_assign_user round trip) / set_dnd -> user_status: p50 {p50:.2}, p99 {p99:.2}");
    }
    Ok(())
}

/// The saturated scenario: a DND agent (only `req_assign_user` assigns to it) serves a queue
/// of `--waiting` customers, taking them one at a time: `req_assign_user` (timed: ends the
/// service, assigns the head) → `accept_assign_user`. Customers read everything they get.
/// Returns the round trips, all and while at least half the queue waited.
async fn run_saturated(args: &Args, pid: u32, addr: SocketAddr) -> BenchResult<(Latency, Latency)> {
    let waiting = args.waiting;
    let mut agent = login(addr, "agent-sat", AGENT, STEP).await?;
    agent.request_ok(Request::SetDnd { dnd: 1 }, STEP).await?;
    let start = Request::StartService {
        que_id: QUE_ID,
        priority: 1,
    };
    agent.request_ok(start, STEP).await?;
    let conns = login_all(addr, args, |i| format!("cust{i:05}"), waiting).await?;
    let mut readers = Vec::with_capacity(waiting);
    let (queued_tx, mut queued_rx) = tokio::sync::mpsc::channel(waiting);
    for (i, mut conn) in conns.into_iter().enumerate() {
        let queued = queued_tx.clone();
        readers.push(tokio::spawn(async move {
            let taken = wait_in_line(&mut conn, &queued).await;
            taken
                .map(|frames| (conn, frames))
                .map_err(|e| format!("customer {i}: {e}"))
        }));
        // In index order: customer i waits at place i.
        queued_rx.recv().await.ok_or("a customer failed to queue")?;
    }
    let rss = rss_kib(pid).unwrap_or(0);
    println!("{waiting} customers waiting; server RSS {rss} KiB");
    let cpu = CpuSince::start([pid, std::process::id()])?;
    let mut rtts = Vec::with_capacity(waiting);
    for i in 0..waiting {
        let t0 = Instant::now();
        let user = ask(&mut agent, Request::ReqAssignUser).await?;
        rtts.push(t0.elapsed());
        let user: QueueUser = user
            .into_result()
            .map_err(|c| format!("req_assign_user: {c}"))?;
        let expected = format!("cust{i:05}");
        if user.user_id != expected {
            return Err(format!(
                "req_assign_user gave {} for {expected}",
                user.user_id
            ));
        }
        let accept = Request::AcceptAssignUser {
            que_id: QUE_ID,
            user_id: user.user_id,
        };
        let accepted = ask(&mut agent, accept).await?;
        if accepted.code != 0 {
            return Err(format!("accept_assign_user failed with {}", accepted.code));
        }
    }
    let cpu = cpu.used()?;
    let customers = tokio::time::timeout(STEP, join_tasks(readers)).await;
    let customers = customers.map_err(|_| "customers never told they were taken")??;
    let frames: u64 = customers.iter().map(|c| c.1).sum();
    println!(
        "{waiting} transitions: server CPU {:.0} us per transition (req + accept), bench {:.3} s; {frames} frames to customers ({:.1} each)",
        cpu[0] * 1e6 / waiting as f64,
        cpu[1],
        frames as f64 / waiting as f64
    );
    Ok((Latency::of(&rtts), Latency::of(&rtts[..waiting / 2])))
}

/// Runs `body(pid, addr)` on a freshly started server with the bench's config, after one
/// login (the tenant's first pays argon2; later ones hit the server's cache); its errors
/// are named after `name`.
async fn on_fresh_server<T, Fut>(
    args: &Args,
    name: &str,
    body: impl FnOnce(u32, SocketAddr) -> Fut,
) -> BenchResult<T>
where
    Fut: std::future::Future<Output = BenchResult<T>>,
{
    let (dir, bin) = (TempDir::new("queue")?, &args.server.server_bin);
    let server = Server::crvideo(bin, dir.path(), SERVER_CONFIG, TENANT_CONFIG)?;
    let (pid, addr) = (server.pid(), server.addr);
    let outcome = async {
        drop(login(addr, "warmup", AGENT, STEP).await?);
        body(pid, addr).await
    };
    server.finish(outcome.await.map_err(|e| format!("{name}: {e}")))
}

/// Logs in users `id(0..n)`.
async fn login_all(
    addr: SocketAddr,
    args: &Args,
    id: fn(usize) -> String,
    n: usize,
) -> BenchResult<Vec<Conn>> {
    let logins = spawn_limited(n, args.in_flight, |i| async move {
        let login = login(addr, &id(i), AGENT, STEP).await;
        login.map_err(|e| format!("login {}: {e}", id(i)))
    });
    Ok(logins.await?.0)
}

/// One scenario; its printed row and its auto-assigned latency.
async fn run_scenario(
    args: &Args,
    (name, customers, every, prewarm): Scenario,
    pid: u32,
    addr: SocketAddr,
) -> BenchResult<(Row, Latency)> {
    let agents = args.agents;
    let mut agent_conns = login_all(addr, args, |i| format!("agent{i:03}"), agents).await?;
    for (i, agent) in agent_conns.iter_mut().enumerate() {
        let start = Request::StartService {
            que_id: QUE_ID,
            priority: 1,
        };
        let started = agent.request_ok(start, STEP).await;
        started.map_err(|e| format!("agent {i}: {e}"))?;
    }
    let customer_conns = login_all(addr, args, |i| format!("cust{i:05}"), customers).await?;
    let rss = rss_kib(pid).unwrap_or(0);
    println!("{agents} agents serving, {customers} customers logged in; server RSS {rss} KiB");

    let floor = Arc::new(Floor {
        agents,
        customers,
        assigned: AtomicUsize::new(0),
        ready: Barrier::new(agents + 1),
        done: watch::channel(false).0,
    });
    let mut agent_tasks = Vec::with_capacity(agents);
    for (i, conn) in agent_conns.into_iter().enumerate() {
        let floor = floor.clone();
        agent_tasks.push(tokio::spawn(async move {
            let report = agent_loop(conn, i, &floor).await;
            // All assigned (or this one failed): the others stop.
            floor.done.send_replace(true);
            report.map_err(|e| format!("agent {i}: {e}"))
        }));
    }
    let (mut gos, mut customer_tasks) = (Vec::new(), Vec::new());
    for (i, conn) in customer_conns.into_iter().enumerate() {
        let (go, started) = oneshot::channel();
        gos.push(go);
        customer_tasks.push(tokio::spawn(async move {
            let customer = customer_loop(conn, started, prewarm).await;
            customer.map_err(|e| format!("customer {i}: {e}"))
        }));
    }
    floor.ready.wait().await;
    let cpu = CpuSince::start([pid, std::process::id()])?;
    let start = tokio::time::Instant::now();
    for (i, go) in gos.into_iter().enumerate() {
        if let Some(every) = every {
            tokio::time::sleep_until(start + every * i as u32).await;
        }
        let _ = go.send(());
    }
    let reports = join_tasks(agent_tasks).await;
    if reports.is_err() {
        customer_tasks.iter().for_each(|t| t.abort());
    }
    let (reports, cpu, rss) = (reports?, cpu.used()?, rss_kib(pid).unwrap_or(0));
    let customers = tokio::time::timeout(STEP, join_tasks(customer_tasks)).await;
    let customers = customers.map_err(|_| "customers never told they were taken")??;
    let (conns, records): (Vec<Conn>, Vec<Customer>) = customers.into_iter().unzip();
    let (row, auto) = analyse(name, agents, &records, &reports, cpu, rss)?;
    drop(conns);
    row.print();
    Ok((row, auto))
}

/// What the agents of a scenario share.
struct Floor {
    agents: usize,
    customers: usize,
    /// Customers assigned so far.
    assigned: AtomicUsize,
    /// Every agent serves the queue.
    ready: Barrier,
    /// Every customer is assigned, or an agent failed.
    done: watch::Sender<bool>,
}

/// An agent: waits until every agent serves the queue, then takes customers until all are
/// assigned (or another agent failed).
async fn agent_loop(mut conn: Conn, agent: usize, floor: &Floor) -> BenchResult<AgentReport> {
    let mut done = floor.done.subscribe();
    // Skip the status changes of the start_service phase: the last one has every agent.
    loop {
        if let ServerFrame::Event(Event::QueueStatus(st)) = conn.next_frame(STEP).await? {
            if st.agent_num as usize == floor.agents && st.wait_num == 0 {
                break;
            }
        }
    }
    floor.ready.wait().await;
    let mut report = AgentReport::default();
    // The request awaiting its reply: (id, true for accept / false for req_assign, sent at).
    let mut pending: Option<(u64, bool, Instant)> = None;
    loop {
        let frame = tokio::select! {
            f = conn.next_frame(RUN_TIMEOUT) => f?,
            _ = done.wait_for(|d| *d) => return Ok(report),
        };
        let at = Instant::now();
        report.frames += 1;
        // The customer to accept, and when the `req_assign_user` it answers was sent.
        let take = match frame {
            ServerFrame::Event(Event::AutoAssignUser(user)) if pending.is_some() => {
                return Err(format!("auto_assign_user of {} while busy", user.user_id))
            }
            ServerFrame::Event(Event::AutoAssignUser(user)) => Some((user, None)),
            ServerFrame::Event(Event::CancelAssignUser { user_id, .. }) => {
                return Err(format!("cancel_assign_user of {user_id}"))
            }
            ServerFrame::Event(Event::Kicked { code }) => {
                return Err(format!("kicked with code {code}"))
            }
            ServerFrame::Event(_) => None,
            ServerFrame::Reply(reply) => match pending.take() {
                Some((id, _, _)) if reply.re != id => {
                    return Err(format!("reply to {} while waiting for {id}", reply.re))
                }
                Some((_, true, sent)) if reply.code == 0 => {
                    report.accept_rtts.push(at - sent);
                    if floor.assigned.fetch_add(1, Ordering::SeqCst) + 1 >= floor.customers {
                        return Ok(report);
                    }
                    // End the service and ask for the next customer.
                    let id = conn.send_request(Request::ReqAssignUser).await?;
                    pending = Some((id, false, Instant::now()));
                    None
                }
                Some((_, false, _)) if reply.code == QUE_NOUSER => {
                    report.no_user += 1;
                    None
                }
                Some((_, false, sent)) => {
                    let user = reply.into_result::<QueueUser>();
                    let user =
                        user.map_err(|code| format!("req_assign_user failed with {code}"))?;
                    Some((user, Some(sent)))
                }
                _ => return Err(format!("unexpected reply {reply:?}")),
            },
        };
        if let Some((user, requested_at)) = take {
            let customer = user
                .user_id
                .strip_prefix("cust")
                .and_then(|n| n.parse().ok());
            let unknown = || format!("assigned an unknown user {:?}", user.user_id);
            let customer = customer.ok_or_else(unknown)?;
            report.assignments.push(Assignment {
                customer,
                agent,
                at,
                requested_at,
            });
            let accept = Request::AcceptAssignUser {
                que_id: user.que_id,
                user_id: user.user_id,
            };
            let id = conn.send_request(accept).await?;
            pending = Some((id, true, Instant::now()));
        }
    }
}

/// A customer of the saturated scenario: queues, says so, then reads until taken (a
/// customer that does not read would be dropped); the frames it got.
async fn wait_in_line(conn: &mut Conn, queued: &tokio::sync::mpsc::Sender<()>) -> BenchResult<u64> {
    let start = Request::StartQueuing {
        que_id: QUE_ID,
        usr_ext_dat: String::new(),
    };
    conn.request_ok(start, STEP).await?;
    let _ = queued.send(()).await;
    let mut frames = 0u64;
    loop {
        frames += 1;
        if let ServerFrame::Event(Event::QueuingInfo(info)) = conn.next_frame(RUN_TIMEOUT).await? {
            if info.que_id == -1 {
                return Ok(frames);
            }
        }
    }
}

/// Sends a request and returns its reply, skipping the events before it.
async fn ask(conn: &mut Conn, request: Request) -> BenchResult<crvideo_proto::Reply> {
    let id = conn.send_request(request).await?;
    loop {
        match conn.next_frame(STEP).await? {
            ServerFrame::Reply(reply) if reply.re == id => return Ok(reply),
            ServerFrame::Reply(reply) => return Err(format!("reply to {}, not {id}", reply.re)),
            ServerFrame::Event(_) => {}
        }
    }
}

/// A customer: on `go`, queues; then reads (cheaply) until an agent took it.
async fn customer_loop(
    mut conn: Conn,
    go: oneshot::Receiver<()>,
    prewarm: bool,
) -> BenchResult<(Conn, Customer)> {
    go.await.map_err(|_| "never started")?;
    if prewarm {
        // One round trip first, so that start_queuing is not the first request on a
        // connection idle since its login (that one costs ~0.15 ms more, client and server
        // waking up): the slow scenario measures the server's assignment path.
        conn.request_ok(Request::QueueRefresh, STEP).await?;
    }
    let sent = Instant::now();
    let usr_ext_dat = String::new();
    let start = Request::StartQueuing {
        que_id: QUE_ID,
        usr_ext_dat,
    };
    let id = conn.send_request(start).await?;
    let (mut replied, mut frames, mut status_frames) = (None, 0, 0);
    loop {
        let text = conn.next_text(RUN_TIMEOUT).await?;
        let at = Instant::now();
        frames += 1;
        if text.contains(r#""ev":"queue_status""#) {
            status_frames += 1;
            continue;
        }
        match decode::<ServerFrame>(&text).map_err(|e| format!("undecodable {text:?}: {e}"))? {
            ServerFrame::Reply(reply) if reply.re == id && reply.code == 0 => replied = Some(at),
            ServerFrame::Reply(reply) if reply.re == id => {
                return Err(format!("start_queuing failed with {}", reply.code))
            }
            ServerFrame::Event(Event::QueuingInfo(info)) if info.que_id == -1 => {
                let replied = replied.ok_or("taken before the start_queuing reply")?;
                return Ok((conn, (sent, replied, frames, status_frames)));
            }
            ServerFrame::Event(Event::Kicked { code }) => {
                return Err(format!("kicked with code {code}"))
            }
            _ => {}
        }
    }
}

/// Checks the assignments (everyone once, in order) and sums a scenario up; also returns the
/// auto-assigned customers' latency.
fn analyse(
    name: &str,
    agents: usize,
    records: &[Customer],
    reports: &[AgentReport],
    cpu: [f64; 2],
    rss: u64,
) -> BenchResult<(Row, Latency)> {
    let n = records.len();
    let mut by_customer: Vec<Option<Assignment>> = vec![None; n];
    let mut agent_inversions = 0;
    for rep in reports {
        for a in &rep.assignments {
            let slot = by_customer.get_mut(a.customer);
            let slot = slot.ok_or_else(|| format!("customer {} out of range", a.customer))?;
            if let Some(prev) = slot {
                let (c, a1, a2) = (a.customer, prev.agent, a.agent);
                return Err(format!(
                    "customer {c} assigned twice (agents {a1} and {a2})"
                ));
            }
            *slot = Some(*a);
        }
        // One agent's customers, in the order it got them, must have joined in that order.
        for (i, a) in rep.assignments.iter().enumerate() {
            let joined_before = |b: &&Assignment| records[b.customer].1 < records[a.customer].0;
            let later = rep.assignments[i + 1..].iter();
            agent_inversions += later.filter(joined_before).count();
        }
    }
    let all: Vec<Assignment> = (by_customer.iter().enumerate())
        .map(|(i, a)| a.ok_or_else(|| format!("customer {i} never assigned")))
        .collect::<BenchResult<_>>()?;
    let lat = |a: &Assignment| a.at.saturating_duration_since(records[a.customer].0);
    let of = |pick: &dyn Fn(&Assignment) -> bool| {
        let v: Vec<Duration> = all.iter().filter(|a| pick(a)).map(lat).collect();
        (Latency::of(&v), v.len())
    };
    let ((overall, _), (auto, auto_n), (req, req_n)) = (
        of(&|_| true),
        of(&|a| a.requested_at.is_none()),
        of(&|a| a.requested_at.is_some()),
    );
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| records[i].0);
    let first: Vec<Duration> = order.iter().take(agents).map(|&i| lat(&all[i])).collect();
    let first = Latency::of(&first);
    let join_reply: Vec<Duration> = records.iter().map(|c| c.1 - c.0).collect();
    let accept_rtts: Vec<Duration> = reports.iter().flat_map(|r| r.accept_rtts.clone()).collect();
    let t_first = records.iter().map(|c| c.0).min().expect("customers");
    let t_last_sent = records.iter().map(|c| c.0).max().expect("customers");
    let secs = (all.iter().map(|a| a.at).max().expect("customers") - t_first).as_secs_f64();
    let arrivals = (t_last_sent - t_first).as_secs_f64();
    let customer_frames: u64 = records.iter().map(|c| c.2).sum();
    let status_frames: u64 = records.iter().map(|c| c.3).sum();
    let agent_frames: u64 = reports.iter().map(|r| r.frames).sum();
    let no_user: usize = reports.iter().map(|r| r.no_user).sum();
    // Global order: X certainly joined before Y (X's reply before Y's request). The pair's
    // assignment order is certain when one's assignment arrived before the other's could
    // have begun; Y's before X's is an inversion. (The agents' `queue_status` count served
    // as a clock until the server coalesced its publications.)
    let from = |i: usize| all[i].requested_at.unwrap_or(records[i].0);
    let (mut certain_pairs, mut decided, mut inversions) = (0u64, 0u64, 0u64);
    for x in 0..n {
        for y in (0..n).filter(|&y| records[x].1 < records[y].0) {
            certain_pairs += 1;
            let y_first = all[y].at < from(x);
            decided += u64::from(y_first || all[x].at < from(y));
            inversions += u64::from(y_first);
        }
    }
    let first_cells = format!("{:.3} / {:.3}", first.p50_ms, first.p99_ms);
    let per_customer = fixed(customer_frames as f64 / n as f64, 0);
    let per_agent = fixed(agent_frames as f64 / agents as f64, 0);
    let row = Row::new(name)
        .col("customers", n)
        .ms("", &overall, 3)
        .col(format!("first {agents} arrivals p50 / p99 ms"), first_cells)
        .col("assignments/s", fixed(n as f64 / secs, 0))
        .col("auto / req", format!("{auto_n} / {req_n}"))
        .col(
            "server CPU us/assignment",
            fixed(cpu[0] * 1e6 / n as f64, 0),
        )
        .col("frames to customers", customer_frames)
        .col(
            "inversions",
            format!("{inversions} of {decided} decided pairs"),
        )
        .note("seconds", fixed(secs, 3))
        .note("arrivals over s", fixed(arrivals, 3))
        .note(format!("auto_assign_user ({auto_n})"), auto.ms(3))
        .note(format!("req_assign_user reply ({req_n})"), req.ms(3))
        .note("start_queuing reply", Latency::of(&join_reply).ms(3))
        .note("accept_assign_user reply", Latency::of(&accept_rtts).ms(3))
        .note(
            "CPU s server / bench client",
            format!("{:.3} / {:.3}", cpu[0], cpu[1]),
        )
        .note("server RSS KiB", rss)
        .note("queue_status frames to customers", status_frames)
        .note("frames per customer", per_customer)
        .note("frames to agents", agent_frames)
        .note("per agent", per_agent)
        .note("inversions within one agent's sequence", agent_inversions)
        .note("pairs certainly joined in order", certain_pairs)
        .note("QUE_NOUSER", no_user);
    Ok((row, auto))
}

/// `set_dnd` by one user → `user_status` at another, subscribed; sequential samples.
async fn peer_dnd(addr: SocketAddr, samples: usize) -> BenchResult<Latency> {
    let mut changer = login(addr, "peer-changer", AGENT, STEP).await?;
    let mut watcher = login(addr, "peer-watcher", AGENT, STEP).await?;
    watcher.request_ok(Request::SubscribeStatus, STEP).await?;
    let (mut latencies, mut replies) = (Vec::new(), Vec::new());
    for n in 0..PEER_WARMUP + samples {
        let dnd = (n % 2) as i32 + 1;
        let t0 = Instant::now();
        let id = changer.send_request(Request::SetDnd { dnd }).await?;
        let t1 = loop {
            match watcher.next_frame(STEP).await? {
                ServerFrame::Event(Event::UserStatus(st))
                    if st.user_id == "peer-changer" && st.dnd == dnd =>
                {
                    break Instant::now()
                }
                ServerFrame::Event(_) => {}
                other => return Err(format!("peer watcher: unexpected {other:?}")),
            }
        };
        let replied = loop {
            match changer.next_frame(STEP).await? {
                ServerFrame::Reply(r) if r.re == id && r.code == 0 => break Instant::now(),
                ServerFrame::Event(_) => {}
                other => return Err(format!("peer changer: unexpected {other:?}")),
            }
        };
        if n >= PEER_WARMUP {
            latencies.push(t1 - t0);
            replies.push(replied - t0);
        }
    }
    let latency = Latency::of(&latencies);
    let reply = fixed(Latency::of(&replies).p50_ms, 3);
    let row = Row::new("peer: set_dnd -> user_status to 1 subscriber").col("samples", samples);
    let row = row.ms("", &latency, 3);
    row.note("set_dnd reply p50 ms", reply).print();
    Ok(latency)
}
