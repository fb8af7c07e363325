//! Call-center queue load generator for crvideo-server: customers queuing, agents taking
//! them, with the server's presence fan-out (`set_dnd` → `user_status`) as the in-run peer.
//!
//! ```text
//! queue_load [--server-bin PATH] [--agents 50] [--customers 1000] [--rate 500]
//!            [--slow-customers 500] [--slow-interval-ms 20] [--peer-samples 2000]
//!            [--in-flight 64] [--cold]
//! ```
//!
//! Every scenario runs on a freshly started server (temporary config with one queue, id 1,
//! `call_timeout_secs = 300` so that no assignment or service times out):
//! - `--agents` agents log in and `start_service(1, priority 1)`, one after another (all the
//!   same priority: ties go to the agent free the longest). Then the customers log in (not
//!   timed). Each agent loops: on `auto_assign_user` → `accept_assign_user` → (reply) →
//!   `req_assign_user`, which ends the service and returns the next customer (→ accept
//!   again) or `QUE_NOUSER` (→ wait for the next `auto_assign_user`).
//! - burst: all `--customers` customers send `start_queuing` at once (one trigger task
//!   wakes them in index order without waiting); rate: the same at `--rate` customers/s;
//!   slow: `--slow-customers` customers one at a time every `--slow-interval-ms` (agents
//!   are all free whenever a customer arrives: the uncontended assignment latency). In the
//!   slow scenario each customer first makes one untimed round trip (`queue_refresh`), so
//!   that `start_queuing` is not the first request on a connection idle since its login;
//!   `--cold` leaves it out.
//! - per customer: t0 = its `start_queuing` sent, t1 = an agent received the
//!   `auto_assign_user` event or the `req_assign_user` reply naming it. Reported: p50/p99/max
//!   of t1 − t0 over all, auto and requested separately, for the first `--agents` arrivals
//!   (an agent was free), and assignments/s = customers / (last t1 − first t0).
//! - order: every agent counts the `queue_status` events it received (every transition of
//!   this run changes a count, and every agent serving the queue gets each change, in the
//!   order of the transitions), so the count before an assignment is its transition's
//!   place in the server's order. Customer X certainly joined before Y when X's
//!   `start_queuing` reply arrived before Y's request was sent; any such pair assigned in
//!   the reverse order is an inversion.
//!
//! Peer, on the slow scenario's server before its queue phase: one user toggles its DND
//! (`set_dnd`), another one, subscribed, receives the `user_status` event: the server's
//! single-hop event latency (request of one session → event to another), the same shape as
//! an uncontended `start_queuing` → `auto_assign_user`.
//!
//! Client and server share the machine's cores; see docs/BENCHMARKS.md.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use crvideo_bench::report::{ratio, summary_heading, Latency, Table};
use crvideo_bench::{
    cpu_secs, log_tail, login, mem_total_mib, positive, raise_fd_limit, rss_kib,
    run_load_generator, start_crvideo_with_tenant, stop_child, BenchResult, ChildGuard, Conn,
    ServerArgs, TempDir,
};
use crvideo_proto::{decode, Event, QueueUser, Request, ServerFrame};
use futures_util::StreamExt;
use tokio::sync::{oneshot, watch, Barrier};

const AGENT_NAME: &str = "crvideo-bench/queue_load";
const QUE_ID: i32 = 1;
/// `QUE_NOUSER`: no customer waiting (the normal answer to `req_assign_user` at the end).
const QUE_NOUSER: i32 = 401;
/// Longest wait for one reply or event during setup.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
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
}

fn main() {
    let args = Args::parse();
    let fd_limit = raise_fd_limit();
    run_load_generator("queue_load", run_all(&args, fd_limit));
}

/// How customers arrive.
#[derive(Debug, Clone, Copy)]
enum Arrival {
    /// All at once.
    Burst,
    /// One every `1/rate` seconds.
    Every(Duration),
}

#[derive(Debug, Clone, Copy)]
struct Scenario {
    name: &'static str,
    agents: usize,
    customers: usize,
    arrival: Arrival,
    /// Customers make one round trip (`queue_refresh`) before `start_queuing`.
    prewarm: bool,
}

/// What one customer saw.
#[derive(Debug, Clone)]
struct CustomerRecord {
    /// `start_queuing` sent.
    sent: Instant,
    /// Its reply received.
    replied: Instant,
    status_frames: u64,
    info_frames: u64,
    other_frames: u64,
}

/// One assignment as an agent saw it.
#[derive(Debug, Clone, Copy)]
struct Assignment {
    customer: usize,
    agent: usize,
    /// `auto_assign_user` / `req_assign_user` reply received.
    at: Instant,
    /// `queue_status` events the agent had received before (the transition's place).
    epoch: u64,
    requested: bool,
}

#[derive(Debug, Default)]
struct AgentReport {
    assignments: Vec<Assignment>,
    frames: u64,
    status_frames: u64,
    no_user: usize,
    cancels: usize,
    /// Accept round trips (request → reply).
    accept_rtts: Vec<Duration>,
}

#[derive(Debug, Clone, Default)]
struct ScenarioResult {
    name: String,
    agents: usize,
    customers: usize,
    all: Latency,
    auto: Latency,
    auto_n: usize,
    requested: Latency,
    requested_n: usize,
    /// The first `agents` arrivals (in send order): an agent was free for each.
    first: Latency,
    join_reply: Latency,
    accept_rtt: Latency,
    /// First t0 → last t1.
    secs: f64,
    /// First t0 → last t0.
    arrival_secs: f64,
    server_cpu_secs: f64,
    client_cpu_secs: f64,
    server_rss_kib: u64,
    customer_frames: u64,
    customer_status_frames: u64,
    agent_frames: u64,
    no_user: usize,
    cancels: usize,
    certain_pairs: u64,
    inversions: u64,
    agent_inversions: u64,
    /// Assignments in one transition together with another (several free agents at once).
    same_epoch: usize,
}

impl ScenarioResult {
    fn per_sec(&self) -> f64 {
        self.customers as f64 / self.secs
    }
}

#[derive(Debug, Clone, Default)]
struct PeerResult {
    samples: usize,
    latency: Latency,
    set_dnd_reply: Latency,
}

async fn run_all(args: &Args, fd_limit: u64) -> BenchResult<()> {
    args.server.check()?;
    let connections = args.agents + args.customers.max(args.slow_customers) + 4;
    if (fd_limit as usize) < connections + 64 {
        return Err(format!(
            "open-file limit {fd_limit} is too low for {connections} connections (raise ulimit -n)"
        ));
    }
    println!(
        "machine: {} cores, {} MiB RAM; open-file limit {fd_limit}; client runtime: 2 tokio workers",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        mem_total_mib(),
    );
    println!(
        "server config: {}; one queue (id 1); agents all start_service(1, priority 1)",
        SERVER_CONFIG.replace('\n', ", ")
    );

    let mut results = Vec::new();
    let mut peer = None;
    if args.slow_customers > 0 {
        let scenario = Scenario {
            name: "slow",
            agents: args.agents,
            customers: args.slow_customers,
            arrival: Arrival::Every(Duration::from_millis(args.slow_interval_ms)),
            prewarm: !args.cold,
        };
        let (r, p) = on_fresh_server(args, scenario, true).await?;
        peer = p;
        results.push(r);
    }
    let burst = Scenario {
        name: "burst",
        agents: args.agents,
        customers: args.customers,
        arrival: Arrival::Burst,
        prewarm: false,
    };
    results.push(on_fresh_server(args, burst, false).await?.0);
    if args.rate > 0 {
        let steady = Scenario {
            name: "rate",
            agents: args.agents,
            customers: args.customers,
            arrival: Arrival::Every(Duration::from_secs_f64(1.0 / args.rate as f64)),
            prewarm: false,
        };
        results.push(on_fresh_server(args, steady, false).await?.0);
    }
    print_summary(args, &results, peer.as_ref());
    Ok(())
}

/// Starts a server, runs the peer (if `with_peer`) and the scenario, stops the server.
async fn on_fresh_server(
    args: &Args,
    scenario: Scenario,
    with_peer: bool,
) -> BenchResult<(ScenarioResult, Option<PeerResult>)> {
    println!(
        "\n== {}: {} agents, {} customers, arrival {}{} ==",
        scenario.name,
        scenario.agents,
        scenario.customers,
        describe_arrival(scenario.arrival),
        if scenario.prewarm {
            ", one queue_refresh round trip before start_queuing"
        } else {
            ""
        }
    );
    let dir = TempDir::new("queue")?;
    let (mut server, addr) = start_crvideo_with_tenant(
        &args.server.server_bin,
        dir.path(),
        SERVER_CONFIG,
        TENANT_CONFIG,
    )?;
    let outcome = async {
        // The tenant's first login pays argon2; later ones hit the server's cache.
        drop(login(addr, "warmup", AGENT_NAME, STEP_TIMEOUT).await?);
        let peer = if with_peer {
            let p = peer_dnd(addr, args.peer_samples).await?;
            println!(
                "peer: set_dnd -> user_status to 1 subscriber, {} samples: p50 {:.3} ms, p99 {:.3} ms, max {:.2} ms (set_dnd reply p50 {:.3} ms)",
                p.samples, p.latency.p50_ms, p.latency.p99_ms, p.latency.max_ms, p.set_dnd_reply.p50_ms
            );
            Some(p)
        } else {
            None
        };
        let r = run_scenario(args, scenario, &mut server, addr).await?;
        BenchResult::Ok((r, peer))
    }
    .await;
    let stopped = stop_child(&mut server);
    match outcome {
        Ok(r) => {
            println!("{stopped}");
            Ok(r)
        }
        Err(e) => Err(format!(
            "{}: {e}\n({stopped}; last lines of its log:)\n{}",
            scenario.name,
            log_tail(&dir.path().join("server.log"), 20)
        )),
    }
}

fn describe_arrival(a: Arrival) -> String {
    match a {
        Arrival::Burst => "burst (all at once)".into(),
        Arrival::Every(d) => format!(
            "one every {:.1} ms ({:.0}/s)",
            d.as_secs_f64() * 1e3,
            1.0 / d.as_secs_f64()
        ),
    }
}

fn agent_id(i: usize) -> String {
    format!("agent{i:03}")
}

fn customer_id(i: usize) -> String {
    format!("cust{i:05}")
}

fn customer_index(user_id: &str) -> BenchResult<usize> {
    user_id
        .strip_prefix("cust")
        .and_then(|n| n.parse().ok())
        .ok_or_else(|| format!("assigned an unknown user {user_id:?}"))
}

async fn login_many(
    addr: SocketAddr,
    ids: Vec<String>,
    in_flight: usize,
) -> BenchResult<Vec<Conn>> {
    futures_util::stream::iter(ids)
        .map(|id| async move {
            login(addr, &id, AGENT_NAME, STEP_TIMEOUT)
                .await
                .map_err(|e| format!("login {id}: {e}"))
        })
        .buffered(in_flight.max(1))
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

async fn run_scenario(
    args: &Args,
    s: Scenario,
    server: &mut ChildGuard,
    addr: SocketAddr,
) -> BenchResult<ScenarioResult> {
    let pid = server.pid();
    let me = std::process::id();
    let mut agents =
        login_many(addr, (0..s.agents).map(agent_id).collect(), args.in_flight).await?;
    for (i, agent) in agents.iter_mut().enumerate() {
        agent
            .request_ok(
                Request::StartService {
                    que_id: QUE_ID,
                    priority: 1,
                },
                STEP_TIMEOUT,
            )
            .await
            .map_err(|e| format!("agent {i}: {e}"))?;
    }
    let customers = login_many(
        addr,
        (0..s.customers).map(customer_id).collect(),
        args.in_flight,
    )
    .await?;
    println!(
        "{} agents serving, {} customers logged in; server RSS {} KiB",
        s.agents,
        s.customers,
        rss_kib(pid).unwrap_or(0)
    );

    let assigned = Arc::new(AtomicUsize::new(0));
    let (done_tx, done_rx) = watch::channel(false);
    let done_tx = Arc::new(done_tx);
    let ready = Arc::new(Barrier::new(s.agents + 1));
    let mut agent_tasks = Vec::with_capacity(s.agents);
    for (i, conn) in agents.into_iter().enumerate() {
        let (assigned, done_tx, done_rx, ready) = (
            assigned.clone(),
            done_tx.clone(),
            done_rx.clone(),
            ready.clone(),
        );
        let (n_agents, total) = (s.agents, s.customers);
        agent_tasks.push(tokio::spawn(async move {
            let r = agent_loop(conn, i, n_agents, total, assigned, done_rx, ready).await;
            // All assigned (or this one failed): the others stop.
            let _ = done_tx.send(true);
            r.map_err(|e| format!("agent {i}: {e}"))
        }));
    }
    let mut gos = Vec::with_capacity(s.customers);
    let mut customer_tasks = Vec::with_capacity(s.customers);
    let prewarm = s.prewarm;
    for (i, conn) in customers.into_iter().enumerate() {
        let (go_tx, go_rx) = oneshot::channel();
        gos.push(go_tx);
        customer_tasks.push(tokio::spawn(async move {
            customer_loop(conn, go_rx, prewarm)
                .await
                .map_err(|e| format!("customer {i}: {e}"))
        }));
    }
    ready.wait().await;
    let (server_cpu, client_cpu) = (cpu_secs(pid)?, cpu_secs(me)?);
    let start = tokio::time::Instant::now();
    for (i, go) in gos.into_iter().enumerate() {
        if let Arrival::Every(every) = s.arrival {
            tokio::time::sleep_until(start + every * i as u32).await;
        }
        let _ = go.send(());
    }
    let mut reports = Vec::with_capacity(s.agents);
    let mut first_error = None;
    for handle in agent_tasks {
        match handle.await.map_err(|e| format!("agent task: {e}")) {
            Ok(Ok(r)) => reports.push(r),
            Ok(Err(e)) | Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    if let Some(e) = first_error {
        for t in &customer_tasks {
            t.abort();
        }
        return Err(e);
    }
    let server_cpu_secs = cpu_secs(pid)? - server_cpu;
    let client_cpu_secs = cpu_secs(me)? - client_cpu;
    let server_rss_kib = rss_kib(pid).unwrap_or(0);
    let mut records = Vec::with_capacity(s.customers);
    let mut keep = Vec::with_capacity(s.customers);
    for (i, handle) in customer_tasks.into_iter().enumerate() {
        let (conn, record) = tokio::time::timeout(STEP_TIMEOUT, handle)
            .await
            .map_err(|_| format!("customer {i}: never told it was taken"))?
            .map_err(|e| format!("customer task: {e}"))??;
        keep.push(conn);
        records.push(record);
    }
    if !server.is_running() {
        return Err("crvideo-server exited during the run".into());
    }
    drop(keep);
    let r = analyse(
        s,
        &records,
        reports,
        server_cpu_secs,
        client_cpu_secs,
        server_rss_kib,
    )?;
    print_result(&r);
    Ok(r)
}

/// An agent: waits until every agent serves the queue, then takes customers until all
/// `total` are assigned (or another agent failed).
async fn agent_loop(
    mut conn: Conn,
    me: usize,
    n_agents: usize,
    total: usize,
    assigned: Arc<AtomicUsize>,
    mut done: watch::Receiver<bool>,
    ready: Arc<Barrier>,
) -> BenchResult<AgentReport> {
    // Skip the status changes of the start_service phase: the last one has every agent.
    loop {
        if let ServerFrame::Event(Event::QueueStatus(st)) = conn.next_frame(STEP_TIMEOUT).await? {
            if st.agent_num as usize == n_agents && st.wait_num == 0 {
                break;
            }
        }
    }
    ready.wait().await;
    let mut report = AgentReport::default();
    // The request awaiting its reply: (id, true for accept / false for req_assign, sent at).
    let mut pending: Option<(u64, bool, Instant)> = None;
    let mut current: Option<QueueUser> = None;
    loop {
        let frame = tokio::select! {
            f = conn.next_frame(RUN_TIMEOUT) => f?,
            _ = done.wait_for(|d| *d) => return Ok(report),
        };
        let at = Instant::now();
        report.frames += 1;
        let take = |user: QueueUser, requested: bool, report: &mut AgentReport| {
            let customer = customer_index(&user.user_id)?;
            report.assignments.push(Assignment {
                customer,
                agent: me,
                at,
                epoch: report.status_frames,
                requested,
            });
            BenchResult::Ok(user)
        };
        let accept = match frame {
            ServerFrame::Event(Event::QueueStatus(_)) => {
                report.status_frames += 1;
                None
            }
            ServerFrame::Event(Event::AutoAssignUser(user)) => {
                if pending.is_some() || current.is_some() {
                    return Err(format!(
                        "auto_assign_user of {} while busy with {current:?}",
                        user.user_id
                    ));
                }
                Some(take(user, false, &mut report)?)
            }
            ServerFrame::Event(Event::CancelAssignUser { user_id, .. }) => {
                report.cancels += 1;
                return Err(format!("cancel_assign_user of {user_id}"));
            }
            ServerFrame::Event(Event::Kicked { code }) => {
                return Err(format!("kicked with code {code}"))
            }
            ServerFrame::Event(_) => None,
            ServerFrame::Reply(reply) => {
                let Some((id, is_accept, sent)) = pending.take() else {
                    return Err(format!("unexpected reply {reply:?}"));
                };
                if reply.re != id {
                    return Err(format!("reply to {} while waiting for {id}", reply.re));
                }
                if is_accept {
                    if reply.code != 0 {
                        return Err(format!("accept_assign_user failed with {}", reply.code));
                    }
                    report.accept_rtts.push(at - sent);
                    current = None;
                    if assigned.fetch_add(1, Ordering::SeqCst) + 1 >= total {
                        return Ok(report);
                    }
                    // End the service and ask for the next customer.
                    let id = conn.send_request(Request::ReqAssignUser).await?;
                    pending = Some((id, false, Instant::now()));
                    None
                } else if reply.code == QUE_NOUSER {
                    report.no_user += 1;
                    None
                } else {
                    let user: QueueUser = reply
                        .into_result()
                        .map_err(|code| format!("req_assign_user failed with {code}"))?;
                    Some(take(user, true, &mut report)?)
                }
            }
        };
        if let Some(user) = accept {
            let id = conn
                .send_request(Request::AcceptAssignUser {
                    que_id: user.que_id,
                    user_id: user.user_id.clone(),
                })
                .await?;
            pending = Some((id, true, Instant::now()));
            current = Some(user);
        }
    }
    // (The loop returns once every customer is assigned; `done` stops the others.)
}

/// A customer: on `go`, queues; then reads (cheaply) until an agent took it.
async fn customer_loop(
    mut conn: Conn,
    go: oneshot::Receiver<()>,
    prewarm: bool,
) -> BenchResult<(Conn, CustomerRecord)> {
    go.await.map_err(|_| "never started")?;
    if prewarm {
        // One round trip first, so that start_queuing is not the first request on a
        // connection idle since its login (that one costs ~0.15 ms more, client and server
        // waking up): the slow scenario measures the server's assignment path.
        conn.request_ok(Request::QueueRefresh, STEP_TIMEOUT).await?;
    }
    let sent = Instant::now();
    let id = conn
        .send_request(Request::StartQueuing {
            que_id: QUE_ID,
            usr_ext_dat: String::new(),
        })
        .await?;
    let mut replied = None;
    let (mut status_frames, mut info_frames, mut other_frames) = (0, 0, 0);
    loop {
        let text = conn.next_text(RUN_TIMEOUT).await?;
        let at = Instant::now();
        if text.contains(r#""ev":"queue_status""#) {
            status_frames += 1;
            continue;
        }
        match decode::<ServerFrame>(&text).map_err(|e| format!("undecodable {text:?}: {e}"))? {
            ServerFrame::Reply(reply) if reply.re == id => {
                if reply.code != 0 {
                    return Err(format!("start_queuing failed with {}", reply.code));
                }
                replied = Some(at);
            }
            ServerFrame::Event(Event::QueuingInfo(info)) => {
                info_frames += 1;
                if info.que_id == -1 {
                    let replied = replied.ok_or("taken before the start_queuing reply")?;
                    return Ok((
                        conn,
                        CustomerRecord {
                            sent,
                            replied,
                            status_frames,
                            info_frames,
                            other_frames,
                        },
                    ));
                }
            }
            ServerFrame::Event(Event::Kicked { code }) => {
                return Err(format!("kicked with code {code}"))
            }
            _ => other_frames += 1,
        }
    }
}

fn analyse(
    s: Scenario,
    records: &[CustomerRecord],
    reports: Vec<AgentReport>,
    server_cpu_secs: f64,
    client_cpu_secs: f64,
    server_rss_kib: u64,
) -> BenchResult<ScenarioResult> {
    let mut by_customer: Vec<Option<Assignment>> = vec![None; s.customers];
    let mut r = ScenarioResult {
        name: s.name.into(),
        agents: s.agents,
        customers: s.customers,
        server_cpu_secs,
        client_cpu_secs,
        server_rss_kib,
        ..Default::default()
    };
    let mut accept_rtts = Vec::new();
    let mut agent_inversions = 0;
    for rep in &reports {
        r.agent_frames += rep.frames;
        r.no_user += rep.no_user;
        r.cancels += rep.cancels;
        accept_rtts.extend_from_slice(&rep.accept_rtts);
        for a in &rep.assignments {
            let slot = by_customer
                .get_mut(a.customer)
                .ok_or_else(|| format!("customer {} out of range", a.customer))?;
            if let Some(prev) = slot {
                return Err(format!(
                    "customer {} assigned twice (agents {} and {})",
                    a.customer, prev.agent, a.agent
                ));
            }
            *slot = Some(*a);
        }
        // One agent's customers, in the order it got them, must have joined in that order.
        for (i, a) in rep.assignments.iter().enumerate() {
            for b in &rep.assignments[i + 1..] {
                if records[b.customer].replied < records[a.customer].sent {
                    agent_inversions += 1;
                }
            }
        }
    }
    let all: Vec<Assignment> = by_customer
        .iter()
        .enumerate()
        .map(|(i, a)| a.ok_or_else(|| format!("customer {i} never assigned")))
        .collect::<BenchResult<_>>()?;
    let lat = |a: &Assignment| a.at.saturating_duration_since(records[a.customer].sent);
    r.all = Latency::of(&all.iter().map(lat).collect::<Vec<_>>());
    let auto: Vec<Duration> = all.iter().filter(|a| !a.requested).map(lat).collect();
    let req: Vec<Duration> = all.iter().filter(|a| a.requested).map(lat).collect();
    (r.auto, r.auto_n) = (Latency::of(&auto), auto.len());
    (r.requested, r.requested_n) = (Latency::of(&req), req.len());
    let mut order: Vec<usize> = (0..s.customers).collect();
    order.sort_by_key(|&i| records[i].sent);
    let first: Vec<Duration> = order.iter().take(s.agents).map(|&i| lat(&all[i])).collect();
    r.first = Latency::of(&first);
    r.join_reply = Latency::of(
        &records
            .iter()
            .map(|c| c.replied - c.sent)
            .collect::<Vec<_>>(),
    );
    r.accept_rtt = Latency::of(&accept_rtts);
    let t_first = records.iter().map(|c| c.sent).min().expect("customers");
    let t_last_sent = records.iter().map(|c| c.sent).max().expect("customers");
    let t_last = all.iter().map(|a| a.at).max().expect("customers");
    r.secs = (t_last - t_first).as_secs_f64();
    r.arrival_secs = (t_last_sent - t_first).as_secs_f64();
    r.customer_frames = records
        .iter()
        .map(|c| c.status_frames + c.info_frames + c.other_frames + 1)
        .sum();
    r.customer_status_frames = records.iter().map(|c| c.status_frames).sum();
    // Global order: X certainly joined before Y (X's reply before Y's request); then X's
    // assignment transition must not come after Y's.
    let mut epochs = std::collections::HashMap::new();
    for a in &all {
        *epochs.entry(a.epoch).or_insert(0usize) += 1;
    }
    r.same_epoch = epochs.values().filter(|&&n| n > 1).sum();
    for x in 0..s.customers {
        for y in 0..s.customers {
            if records[x].replied < records[y].sent {
                r.certain_pairs += 1;
                if all[x].epoch > all[y].epoch {
                    r.inversions += 1;
                }
            }
        }
    }
    r.agent_inversions = agent_inversions;
    Ok(r)
}

/// `set_dnd` by one user → `user_status` at another, subscribed; sequential samples.
async fn peer_dnd(addr: SocketAddr, samples: usize) -> BenchResult<PeerResult> {
    let mut changer = login(addr, "peer-changer", AGENT_NAME, STEP_TIMEOUT).await?;
    let mut watcher = login(addr, "peer-watcher", AGENT_NAME, STEP_TIMEOUT).await?;
    watcher
        .request_ok(Request::SubscribeStatus, STEP_TIMEOUT)
        .await?;
    let mut latencies = Vec::with_capacity(samples);
    let mut replies = Vec::with_capacity(samples);
    for n in 0..PEER_WARMUP + samples {
        let dnd = (n % 2) as i32 + 1;
        let t0 = Instant::now();
        let id = changer.send_request(Request::SetDnd { dnd }).await?;
        let t1 = loop {
            match watcher.next_frame(STEP_TIMEOUT).await? {
                ServerFrame::Event(Event::UserStatus(st))
                    if st.user_id == "peer-changer" && st.dnd == dnd =>
                {
                    break Instant::now()
                }
                ServerFrame::Event(_) => {}
                other => return Err(format!("peer watcher: unexpected {other:?}")),
            }
        };
        let reply_at = loop {
            match changer.next_frame(STEP_TIMEOUT).await? {
                ServerFrame::Reply(r) if r.re == id => {
                    if r.code != 0 {
                        return Err(format!("set_dnd failed with {}", r.code));
                    }
                    break Instant::now();
                }
                ServerFrame::Event(_) => {}
                other => return Err(format!("peer changer: unexpected {other:?}")),
            }
        };
        if n >= PEER_WARMUP {
            latencies.push(t1 - t0);
            replies.push(reply_at - t0);
        }
    }
    Ok(PeerResult {
        samples,
        latency: Latency::of(&latencies),
        set_dnd_reply: Latency::of(&replies),
    })
}

fn print_result(r: &ScenarioResult) {
    println!(
        "{}: {} assignments in {:.3} s (arrivals over {:.3} s) = {:.0} assignments/s",
        r.name,
        r.customers,
        r.secs,
        r.arrival_secs,
        r.per_sec()
    );
    let row = |what: &str, n: usize, l: &Latency| {
        println!(
            "{}: start_queuing -> assigned, {what} ({n}): p50 {:.3} ms, p99 {:.3} ms, max {:.2} ms",
            r.name, l.p50_ms, l.p99_ms, l.max_ms
        )
    };
    row("all", r.customers, &r.all);
    row("auto_assign_user", r.auto_n, &r.auto);
    row("req_assign_user reply", r.requested_n, &r.requested);
    row(
        &format!("first {} arrivals", r.agents.min(r.customers)),
        r.agents.min(r.customers),
        &r.first,
    );
    println!(
        "{}: start_queuing reply p50 {:.3} ms, p99 {:.3} ms; accept_assign_user reply p50 {:.3} ms, p99 {:.3} ms",
        r.name, r.join_reply.p50_ms, r.join_reply.p99_ms, r.accept_rtt.p50_ms, r.accept_rtt.p99_ms
    );
    println!(
        "{}: server CPU {:.3} s ({:.0} us/assignment), bench client CPU {:.3} s; server RSS {} KiB",
        r.name,
        r.server_cpu_secs,
        r.server_cpu_secs * 1e6 / r.customers as f64,
        r.client_cpu_secs,
        r.server_rss_kib
    );
    println!(
        "{}: frames received: customers {} ({} queue_status, {:.0} per customer), agents {} ({:.0} per agent)",
        r.name,
        r.customer_frames,
        r.customer_status_frames,
        r.customer_frames as f64 / r.customers as f64,
        r.agent_frames,
        r.agent_frames as f64 / r.agents as f64
    );
    println!(
        "{}: order: {} inversions among {} pairs certainly in join order; {} within one agent's sequence; {} assignments shared their transition with another; QUE_NOUSER {}; cancels {}",
        r.name, r.inversions, r.certain_pairs, r.agent_inversions, r.same_epoch, r.no_user, r.cancels
    );
}

fn print_summary(args: &Args, results: &[ScenarioResult], peer: Option<&PeerResult>) {
    summary_heading();
    println!(
        "{} agents (all priority 1), one queue; t0 = start_queuing sent, t1 = agent received auto_assign_user / req_assign_user reply naming the customer.\n",
        args.agents
    );
    let first = format!("first {} arrivals p50 / p99 ms", args.agents);
    let table = Table::header(&[
        "scenario",
        "customers",
        "p50 ms",
        "p99 ms",
        "max ms",
        &first,
        "assignments/s",
        "auto / req",
        "server CPU us/assignment",
        "frames to customers",
        "inversions",
    ]);
    for r in results {
        table.row(&[
            r.name.to_string(),
            r.customers.to_string(),
            format!("{:.3}", r.all.p50_ms),
            format!("{:.3}", r.all.p99_ms),
            format!("{:.2}", r.all.max_ms),
            format!("{:.3} / {:.3}", r.first.p50_ms, r.first.p99_ms),
            format!("{:.0}", r.per_sec()),
            format!("{} / {}", r.auto_n, r.requested_n),
            format!("{:.0}", r.server_cpu_secs * 1e6 / r.customers as f64),
            r.customer_frames.to_string(),
            format!("{} of {} pairs", r.inversions, r.certain_pairs),
        ]);
    }
    if let Some(p) = peer {
        println!();
        Table::header(&[
            "peer: set_dnd -> user_status (1 subscriber)",
            "samples",
            "p50 ms",
            "p99 ms",
            "max ms",
        ])
        .row(&[
            "same server, idle".to_string(),
            p.samples.to_string(),
            format!("{:.3}", p.latency.p50_ms),
            format!("{:.3}", p.latency.p99_ms),
            format!("{:.2}", p.latency.max_ms),
        ]);
        if let Some(slow) = results.iter().find(|r| r.name == "slow") {
            println!(
                "\nRatio uncontended start_queuing -> auto_assign_user / set_dnd -> user_status: p50 {:.2}, p99 {:.2}",
                ratio(slow.auto.p50_ms, p.latency.p50_ms),
                ratio(slow.auto.p99_ms, p.latency.p99_ms)
            );
        }
    }
}
