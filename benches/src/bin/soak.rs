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

// ---------------------------------------------------------------------------------------
// Command line.

/// A soak run of crvideo-server (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(args_override_self = true)]
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
// What is measured and counted.

/// Operations the scheduler issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OpKind {
    Relogin,
    Presence,
    Call,
    Cmd,
    Resume,
}
const OP_KINDS: usize = 5;

impl OpKind {
    const ALL: [OpKind; OP_KINDS] = [
        OpKind::Relogin,
        OpKind::Presence,
        OpKind::Call,
        OpKind::Cmd,
        OpKind::Resume,
    ];

    fn name(self) -> &'static str {
        match self {
            OpKind::Relogin => "relogin",
            OpKind::Presence => "presence",
            OpKind::Call => "call",
            OpKind::Cmd => "cmd",
            OpKind::Resume => "resume",
        }
    }

    fn needs_peer(self) -> bool {
        matches!(self, OpKind::Call | OpKind::Cmd)
    }
}

/// What a latency sample or a reply code belongs to: a request (request → its reply), or a
/// composite step (named in [`Timed::describe`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Timed {
    Hello,
    Login,
    EnableResume,
    SubscribeStatus,
    Logout,
    Relogin,
    SetDnd,
    SetDndAcrossResume,
    Call,
    CallSetup,
    AcceptCall,
    HangupCall,
    SendCmd,
    Resume,
}
const TIMED: usize = 14;

impl Timed {
    const ALL: [Timed; TIMED] = [
        Timed::Hello,
        Timed::Login,
        Timed::EnableResume,
        Timed::SubscribeStatus,
        Timed::Logout,
        Timed::Relogin,
        Timed::SetDnd,
        Timed::SetDndAcrossResume,
        Timed::Call,
        Timed::CallSetup,
        Timed::AcceptCall,
        Timed::HangupCall,
        Timed::SendCmd,
        Timed::Resume,
    ];

    fn name(self) -> &'static str {
        match self {
            Timed::Hello => "hello",
            Timed::Login => "login",
            Timed::EnableResume => "enable_resume",
            Timed::SubscribeStatus => "subscribe_status",
            Timed::Logout => "logout",
            Timed::Relogin => "relogin",
            Timed::SetDnd => "set_dnd",
            Timed::SetDndAcrossResume => "set_dnd_across_resume",
            Timed::Call => "call",
            Timed::CallSetup => "call_setup",
            Timed::AcceptCall => "accept_call",
            Timed::HangupCall => "hangup_call",
            Timed::SendCmd => "send_cmd",
            Timed::Resume => "resume",
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Timed::Login => "TCP connect to login reply (WebSocket handshake, hello, login)",
            Timed::Relogin => "logout sent to logged in again (resume enabled, subscribed)",
            Timed::CallSetup => "call sent to call_accepted at the caller (callee accepts)",
            Timed::SendCmd => "command sent to its reply (after the target's cmd_ack)",
            Timed::Resume => "connection dropped to resume reply on a new one (with hello)",
            Timed::SetDndAcrossResume => {
                "set_dnd sent just before the drop to its reply after the resume"
            }
            _ => "request to reply",
        }
    }
}

/// Events the clients count.
#[derive(Debug, Clone, Copy)]
enum Seen {
    UserStatus,
    CallIn,
    CallAccepted,
    CallHungup,
    CmdIn,
}
const SEEN: usize = 5;
const SEEN_NAMES: [&str; SEEN] = [
    "user_status",
    "call_in",
    "call_accepted",
    "call_hungup",
    "command in",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Phase {
    Setup,
    Warmup,
    Steady,
    Drain,
    Teardown,
}
const PHASES: usize = 5;
const PHASE_NAMES: [&str; PHASES] = ["setup", "warm-up", "steady", "drain", "teardown"];

impl Phase {
    fn from_u8(v: u8) -> Phase {
        match v {
            0 => Phase::Setup,
            1 => Phase::Warmup,
            2 => Phase::Steady,
            3 => Phase::Drain,
            _ => Phase::Teardown,
        }
    }
}

#[derive(Default)]
struct PhaseStats {
    latencies: Vec<Vec<Duration>>,
    /// (what, reply code) → count.
    codes: BTreeMap<(Timed, i32), u64>,
    seen: [u64; SEEN],
    issued: [u64; OP_KINDS],
    done: [u64; OP_KINDS],
    failed: [u64; OP_KINDS],
    /// Ticks when no idle client (or peer) was found.
    skipped: u64,
    errors: u64,
    /// Text frames a client sent again after a resume (the server had not got them), and
    /// the resumes that sent any.
    resent_by_clients: u64,
    resumes_resending: u64,
}

impl PhaseStats {
    fn new() -> PhaseStats {
        PhaseStats {
            latencies: vec![Vec::new(); TIMED],
            ..Default::default()
        }
    }
}

struct Stats {
    phases: Vec<PhaseStats>,
    /// The first error lines, to repeat in the report.
    first_errors: Vec<String>,
}

/// One reading of the server process.
#[derive(Debug, Clone, Copy)]
struct Sample {
    secs: f64,
    phase: Phase,
    rss_kib: u64,
    server_cpu: f64,
    /// Operations finished so far (all phases) and unexpected errors so far.
    done: u64,
    errors: u64,
}

const FREE: u8 = 0;
const BUSY: u8 = 1;
const DEAD: u8 = 2;

/// State shared by the clients, the scheduler and the sampler.
struct Shared {
    addr: SocketAddr,
    t0: Instant,
    users: Vec<String>,
    /// Per client: FREE, BUSY (in an operation, as its initiator or peer) or DEAD.
    state: Vec<AtomicU8>,
    /// Per client: DND is on (calls avoid such callees: they would be refused as busy).
    dnd: Vec<AtomicBool>,
    phase: AtomicU8,
    stats: Mutex<Stats>,
    cmd_payload: Vec<u8>,
    max_error_lines: usize,
    printed_errors: AtomicUsize,
    /// The server's heartbeat period (clients ping at the same period).
    heartbeat_ms: u64,
}

impl Shared {
    fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed);
    }

    fn secs(&self) -> f64 {
        self.t0.elapsed().as_secs_f64()
    }

    fn with_stats<R>(&self, f: impl FnOnce(&mut PhaseStats) -> R) -> R {
        self.with_stats_in(self.phase(), f)
    }

    fn with_stats_in<R>(&self, phase: Phase, f: impl FnOnce(&mut PhaseStats) -> R) -> R {
        f(&mut self.stats.lock().unwrap().phases[phase as usize])
    }

    /// An unexpected outcome: counted, and printed (up to `--max-error-lines`).
    fn error(&self, client: usize, what: String) {
        let phase = self.phase();
        let line = format!(
            "[{:7.2}s {}] client {client} ({}): {what}",
            self.secs(),
            PHASE_NAMES[phase as usize],
            self.users[client]
        );
        {
            let mut stats = self.stats.lock().unwrap();
            stats.phases[phase as usize].errors += 1;
            if stats.first_errors.len() < 20 {
                stats.first_errors.push(line.clone());
            }
        }
        let n = self.printed_errors.fetch_add(1, Ordering::Relaxed);
        if n < self.max_error_lines {
            eprintln!("soak: error {line}");
        } else if n == self.max_error_lines {
            eprintln!("soak: (further errors are counted, not printed)");
        }
    }

    fn record(&self, what: Timed, took: Duration) {
        self.with_stats(|s| s.latencies[what as usize].push(took));
    }

    fn record_code(&self, what: Timed, code: i32) {
        self.with_stats(|s| *s.codes.entry((what, code)).or_default() += 1);
    }

    fn seen(&self, what: Seen) {
        self.with_stats(|s| s.seen[what as usize] += 1);
    }

    fn try_reserve(&self, client: usize) -> bool {
        self.state[client]
            .compare_exchange(FREE, BUSY, Ordering::AcqRel, Ordering::Relaxed)
            .is_ok()
    }

    fn release(&self, client: usize) {
        let _ =
            self.state[client].compare_exchange(BUSY, FREE, Ordering::AcqRel, Ordering::Relaxed);
    }

    fn mark_dead(&self, client: usize) {
        self.state[client].store(DEAD, Ordering::Release);
    }

    fn count_state(&self, wanted: u8) -> usize {
        self.state
            .iter()
            .filter(|s| s.load(Ordering::Relaxed) == wanted)
            .count()
    }

    fn totals(&self) -> (u64, u64) {
        let stats = self.stats.lock().unwrap();
        stats.phases.iter().fold((0, 0), |(d, e), p| {
            (d + p.done.iter().sum::<u64>(), e + p.errors)
        })
    }
}

// ---------------------------------------------------------------------------------------
// One client.

/// An operation the scheduler gives a client (which, and its peer, it reserved).
#[derive(Debug, Clone, Copy)]
struct Op {
    kind: OpKind,
    peer: Option<usize>,
}

/// What one turn of a client's loop produced, for the operation it is running.
enum Step {
    Nothing,
    Op(Op),
    Reply(Reply),
    CallAccepted(String),
    Closed(String),
    Timeout,
    Shutdown,
}

/// Why an operation did not complete: already counted as an error (`None`), or not yet.
type OpResult = Result<(), Option<String>>;

struct Client {
    idx: usize,
    sh: Arc<Shared>,
    subscriber: bool,
    ws: Option<Ws>,
    next_id: u64,
    /// Requests sent and not answered: what they are and when they were sent.
    pending: HashMap<u64, (Timed, Instant)>,
    /// The session's resume token, once `enable_resume` granted one.
    token: Option<String>,
    /// Counting the server's text frames (from the frame after the `enable_resume` reply).
    counting: bool,
    received: u64,
    /// This client's text frames since its `enable_resume` request, until acknowledged.
    replay: Replay<String>,
    ping: tokio::time::Interval,
    /// The call this client accepted as callee, until it is hung up.
    callee_call: Option<String>,
    calls_placed: u64,
    dnd_changes: u64,
}

async fn recv_op(rx: Option<&mut mpsc::Receiver<Op>>) -> Option<Op> {
    match rx {
        Some(rx) => rx.recv().await,
        None => std::future::pending().await,
    }
}

impl Client {
    fn new(idx: usize, sh: Arc<Shared>, subscriber: bool) -> Client {
        // Spread the clients' pings over the heartbeat period.
        let period = Duration::from_millis(sh.heartbeat_ms);
        let offset = period.mul_f64((idx as f64 * 0.618_034).fract());
        let mut ping = interval_at(tokio::time::Instant::now() + offset, period);
        ping.set_missed_tick_behavior(MissedTickBehavior::Delay);
        Client {
            idx,
            sh,
            subscriber,
            ws: None,
            next_id: 1,
            pending: HashMap::new(),
            token: None,
            counting: false,
            received: 0,
            replay: Replay::new(REPLAY_FRAMES, REPLAY_BYTES),
            ping,
            callee_call: None,
            calls_placed: 0,
            dnd_changes: 0,
        }
    }

    fn user(&self) -> &str {
        &self.sh.users[self.idx]
    }

    fn error(&self, what: String) {
        self.sh.error(self.idx, what);
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    async fn send_message(&mut self, message: Message) -> Result<(), String> {
        let ws = self.ws.as_mut().ok_or("no connection")?;
        ws.send(message).await.map_err(|e| format!("send: {e}"))
    }

    /// Sends a text frame of the session (kept for a resume once counting).
    async fn send_text(&mut self, text: String) -> Result<(), String> {
        self.replay.record(&text, text.len());
        self.send_message(Message::text(text)).await
    }

    /// Sends a request and remembers it; returns its id.
    async fn send_request(&mut self, what: Timed, request: Request) -> Result<u64, String> {
        let id = self.take_id();
        self.pending.insert(id, (what, Instant::now()));
        self.send_text(encode(&ClientFrame { id, request })).await?;
        Ok(id)
    }

    /// A ping as the SDK sends it: its send time, then (once counting) the count of the
    /// server's text frames, which lets the server drop what it kept for a resume.
    async fn send_ping(&mut self) -> Result<(), String> {
        let mut payload = (self.sh.t0.elapsed().as_nanos() as u64)
            .to_be_bytes()
            .to_vec();
        if self.counting {
            payload.extend_from_slice(&self.received.to_be_bytes());
        }
        self.send_message(Message::Ping(payload.into())).await
    }

    /// One turn: the next frame (handled as an SDK would), the next operation (when `rx` is
    /// given), a ping when due, or the deadline.
    async fn step(
        &mut self,
        rx: Option<&mut mpsc::Receiver<Op>>,
        deadline: Option<tokio::time::Instant>,
    ) -> Step {
        let Some(ws) = self.ws.as_mut() else {
            return Step::Closed("no connection".into());
        };
        let deadline = deadline.unwrap_or_else(|| tokio::time::Instant::now() + STEP_TIMEOUT * 360);
        tokio::select! {
            message = ws.next() => self.on_message(message).await,
            op = recv_op(rx) => match op {
                Some(op) => Step::Op(op),
                None => Step::Shutdown,
            },
            _ = self.ping.tick() => match self.send_ping().await {
                Ok(()) => Step::Nothing,
                Err(e) => Step::Closed(e),
            },
            _ = sleep_until(deadline) => Step::Timeout,
        }
    }

    async fn on_message(&mut self, message: Option<Result<Message, WsError>>) -> Step {
        let message = match message {
            None => return Step::Closed("connection closed".into()),
            Some(Err(e)) => return Step::Closed(format!("read: {e}")),
            Some(Ok(message)) => message,
        };
        match message {
            Message::Text(text) => {
                if self.counting {
                    self.received += 1;
                    if self.received.is_multiple_of(RESUME_ACK_EVERY) {
                        if let Err(e) = self.send_ping().await {
                            return Step::Closed(e);
                        }
                    }
                }
                match decode::<ServerFrame>(text.as_str()) {
                    Ok(ServerFrame::Reply(reply)) => self.on_reply(reply),
                    Ok(ServerFrame::Event(event)) => self.on_event(event).await,
                    Err(e) => {
                        self.error(format!("undecodable frame {:?}: {e}", text.as_str()));
                        Step::Nothing
                    }
                }
            }
            Message::Binary(data) => self.on_binary(&data).await,
            Message::Ping(payload) => {
                // The server's count of this client's text frames (when resumable).
                if let Some(count) = payload.get(..8) {
                    self.replay
                        .ack(u64::from_be_bytes(count.try_into().expect("8 bytes")));
                }
                Step::Nothing
            }
            Message::Close(frame) => Step::Closed(format!("server closed: {frame:?}")),
            Message::Pong(_) | Message::Frame(_) => Step::Nothing,
        }
    }

    fn on_reply(&mut self, reply: Reply) -> Step {
        let Some((what, sent)) = self.pending.remove(&reply.re) else {
            self.error(format!("reply to no pending request: {reply:?}"));
            return Step::Nothing;
        };
        self.sh.record_code(what, reply.code);
        if reply.code == 0 {
            self.sh.record(what, sent.elapsed());
        } else {
            self.error(format!("{} failed: {}", what.name(), code_name(reply.code)));
        }
        Step::Reply(reply)
    }

    async fn on_event(&mut self, event: Event) -> Step {
        let sent = match event {
            Event::UserStatus(_) => {
                self.sh.seen(Seen::UserStatus);
                if !self.subscriber {
                    self.error("user_status event without a subscription".into());
                }
                return Step::Nothing;
            }
            Event::CallIn { call_id, .. } => {
                self.sh.seen(Seen::CallIn);
                if let Some(old) = self.callee_call.replace(call_id.clone()) {
                    self.error(format!("call_in {call_id} while still in call {old}"));
                }
                self.send_request(
                    Timed::AcceptCall,
                    Request::AcceptCall {
                        call_id,
                        meet_obj: String::new(),
                        usr_ext_dat: String::new(),
                    },
                )
                .await
            }
            Event::CallAccepted { call_id, .. } => {
                self.sh.seen(Seen::CallAccepted);
                return Step::CallAccepted(call_id);
            }
            Event::CallHungup { call_id, .. } => {
                self.sh.seen(Seen::CallHungup);
                if self.callee_call.as_deref() == Some(call_id.as_str()) {
                    self.callee_call = None;
                } else {
                    self.error(format!("call_hungup for call {call_id}, not ours"));
                }
                return Step::Nothing;
            }
            other => {
                self.error(format!("unexpected event {other:?}"));
                return Step::Nothing;
            }
        };
        match sent {
            Ok(_) => Step::Nothing,
            Err(e) => Step::Closed(e),
        }
    }

    async fn on_binary(&mut self, data: &[u8]) -> Step {
        match decode_data(data) {
            Ok(DataFrame::Command { id, payload, .. }) => {
                self.sh.seen(Seen::CmdIn);
                if payload != self.sh.cmd_payload.as_slice() {
                    self.error(format!(
                        "command of {} bytes, not the one sent",
                        payload.len()
                    ));
                }
                let ack = encode(&ClientFrame {
                    id: 0,
                    request: Request::CmdAck { relay_id: id },
                });
                match self.send_text(ack).await {
                    Ok(()) => Step::Nothing,
                    Err(e) => Step::Closed(e),
                }
            }
            Ok(other) => {
                self.error(format!("unexpected binary frame {other:?}"));
                Step::Nothing
            }
            Err(e) => {
                self.error(format!("undecodable binary frame: {e}"));
                Step::Nothing
            }
        }
    }

    /// Runs turns until the reply to `id`.
    async fn wait_reply(&mut self, id: u64, what: Timed) -> Result<Reply, Option<String>> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.step(None, Some(deadline)).await {
                Step::Reply(reply) if reply.re == id => return Ok(reply),
                Step::Reply(_) | Step::Nothing => {}
                Step::CallAccepted(call_id) => {
                    self.error(format!("call_accepted for call {call_id}, not placed now"));
                }
                Step::Closed(why) => {
                    return Err(Some(format!(
                        "waiting for the {} reply: {why}",
                        what.name()
                    )))
                }
                Step::Timeout => {
                    return Err(Some(format!(
                        "no {} reply within {STEP_TIMEOUT:?}",
                        what.name()
                    )))
                }
                Step::Op(_) | Step::Shutdown => unreachable!("no operations taken meanwhile"),
            }
        }
    }

    /// Sends a request and waits for its reply, which must be 0 (a failure is already
    /// counted by [`Client::on_reply`]).
    async fn request_ok(&mut self, what: Timed, request: Request) -> Result<Reply, Option<String>> {
        let id = self.send_request(what, request).await.map_err(Some)?;
        let reply = self.wait_reply(id, what).await?;
        if reply.code != 0 {
            return Err(None);
        }
        Ok(reply)
    }

    // ---- connections ------------------------------------------------------------------

    /// A new WebSocket connection to the server.
    async fn open(&self) -> Result<Ws, String> {
        let addr = self.sh.addr;
        let opened = async { Ok(Conn::connect(addr, STEP_TIMEOUT).await?.into_parts().0) };
        timeout(STEP_TIMEOUT, opened)
            .await
            .map_err(|_| format!("connecting took over {STEP_TIMEOUT:?}"))?
    }

    /// A request on a connection that carries nothing else yet (hello, login, resume):
    /// not part of the session's counted frames.
    async fn handshake_request(
        &mut self,
        ws: &mut Ws,
        what: Timed,
        request: Request,
    ) -> Result<Reply, Option<String>> {
        let id = self.take_id();
        let sent = Instant::now();
        ws.send(Message::text(encode(&ClientFrame { id, request })))
            .await
            .map_err(|e| Some(format!("{}: send: {e}", what.name())))?;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let message = tokio::time::timeout_at(deadline, ws.next())
                .await
                .map_err(|_| Some(format!("no {} reply within {STEP_TIMEOUT:?}", what.name())))?
                .ok_or_else(|| Some(format!("{}: connection closed", what.name())))?
                .map_err(|e| Some(format!("{}: read: {e}", what.name())))?;
            let text = match message {
                Message::Text(text) => text,
                Message::Close(frame) => {
                    return Err(Some(format!("{}: server closed: {frame:?}", what.name())))
                }
                _ => continue,
            };
            match decode::<ServerFrame>(text.as_str()) {
                Ok(ServerFrame::Reply(reply)) if reply.re == id => {
                    self.sh.record_code(what, reply.code);
                    if reply.code != 0 {
                        self.error(format!("{} failed: {}", what.name(), code_name(reply.code)));
                        return Err(None);
                    }
                    // A resume is timed as a whole cycle by its operation.
                    if what != Timed::Resume {
                        self.sh.record(what, sent.elapsed());
                    }
                    return Ok(reply);
                }
                _ => {
                    return Err(Some(format!(
                        "{}: unexpected {:?} before the reply",
                        what.name(),
                        text.as_str()
                    )))
                }
            }
        }
    }

    /// Logs in on a new connection, enables resume, subscribes (subscribers).
    async fn fresh_login(&mut self) -> OpResult {
        self.ws = None;
        self.pending.clear();
        self.token = None;
        self.counting = false;
        self.received = 0;
        self.replay = Replay::new(REPLAY_FRAMES, REPLAY_BYTES);
        self.callee_call = None;
        self.sh.dnd[self.idx].store(false, Ordering::Relaxed);

        let started = Instant::now();
        let mut ws = self.open().await.map_err(Some)?;
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            agent: AGENT.into(),
        };
        self.handshake_request(&mut ws, Timed::Hello, hello).await?;
        let login = Request::Login(LoginRequest {
            tenant: BENCH_TENANT.into(),
            password: BENCH_PASSWORD.into(),
            nickname: self.user().into(),
            user_id: self.user().into(),
            auth_code: String::new(),
        });
        let id = self.take_id();
        self.pending.insert(id, (Timed::Login, started));
        ws.send(Message::text(encode(&ClientFrame { id, request: login })))
            .await
            .map_err(|e| Some(format!("login: send: {e}")))?;
        self.ws = Some(ws);
        let reply = self.wait_reply(id, Timed::Login).await?;
        if reply.code != 0 {
            return Err(None);
        }
        let ok: LoginOk = reply
            .into_result()
            .map_err(|code| Some(format!("login reply: {}", code_name(code))))?;
        if ok.user_id != self.user() {
            return Err(Some(format!("logged in as {:?}", ok.user_id)));
        }

        // As the SDK does right after login: from the frame after this request on, this
        // side's frames are counted; from the frame after its reply, the server's.
        let id = self
            .send_request(
                Timed::EnableResume,
                Request::EnableResume {
                    window_ms: RESUME_WINDOW_MS,
                },
            )
            .await
            .map_err(Some)?;
        self.replay.start_counting();
        let reply = self.wait_reply(id, Timed::EnableResume).await?;
        if reply.code != 0 {
            return Err(None);
        }
        match reply.into_result::<ResumeInfo>() {
            Ok(info) if !info.token.is_empty() && info.window_ms > 0 => {
                self.token = Some(info.token);
                self.counting = true;
            }
            other => {
                self.replay.stop_counting();
                return Err(Some(format!("enable_resume not granted: {other:?}")));
            }
        }
        if self.subscriber {
            self.request_ok(Timed::SubscribeStatus, Request::SubscribeStatus)
                .await?;
        }
        Ok(())
    }

    /// After an unexpected loss: a new session (the old one's state is gone or will go).
    async fn recover(&mut self) -> bool {
        match self.fresh_login().await {
            Ok(()) => true,
            Err(why) => {
                if let Some(why) = why {
                    self.error(format!("could not log in again: {why}"));
                }
                false
            }
        }
    }

    // ---- operations -------------------------------------------------------------------

    async fn run_op(&mut self, op: Op) -> bool {
        // Counted in the phase that issued it.
        let phase = self.sh.phase();
        self.sh
            .with_stats_in(phase, |s| s.issued[op.kind as usize] += 1);
        let result = match op.kind {
            OpKind::Relogin => self.relogin().await,
            OpKind::Presence => self.presence().await,
            OpKind::Call => self.call(op.peer.expect("a call has a peer")).await,
            OpKind::Cmd => self.cmd(op.peer.expect("a command has a peer")).await,
            OpKind::Resume => self.resume().await,
        };
        let alive = match result {
            Ok(()) => {
                self.sh
                    .with_stats_in(phase, |s| s.done[op.kind as usize] += 1);
                true
            }
            Err(why) => {
                self.sh
                    .with_stats_in(phase, |s| s.failed[op.kind as usize] += 1);
                if let Some(why) = why {
                    self.error(format!("{}: {why}", op.kind.name()));
                }
                // A broken or confused session: start a new one.
                let broken = self.ws.is_none() || !self.pending.is_empty();
                !broken || self.recover().await
            }
        };
        if let Some(peer) = op.peer {
            self.sh.release(peer);
        }
        alive
    }

    async fn relogin(&mut self) -> OpResult {
        let started = Instant::now();
        self.logout().await?;
        if !self.pending.is_empty() {
            let lost: Vec<&str> = self.pending.values().map(|(w, _)| w.name()).collect();
            return Err(Some(format!(
                "logged out with requests unanswered: {lost:?}"
            )));
        }
        self.fresh_login().await?;
        self.sh.record(Timed::Relogin, started.elapsed());
        Ok(())
    }

    /// The next DND value of this client: off when on, else 1, 2 or 3.
    fn next_dnd(&mut self) -> i32 {
        self.dnd_changes += 1;
        match self.sh.dnd[self.idx].load(Ordering::Relaxed) {
            true => 0,
            false => 1 + (self.dnd_changes % 3) as i32,
        }
    }

    /// Logs out and reads up to the server's Close (which also sends ours back).
    async fn logout(&mut self) -> OpResult {
        self.request_ok(Timed::Logout, Request::Logout).await?;
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            match self.step(None, Some(deadline)).await {
                Step::Closed(_) => break,
                Step::Timeout => return Err(Some("no Close after the logout reply".into())),
                _ => {}
            }
        }
        if let Some(mut ws) = self.ws.take() {
            let _ = timeout(Duration::from_secs(2), ws.next()).await;
        }
        Ok(())
    }

    async fn presence(&mut self) -> OpResult {
        let dnd = self.next_dnd();
        self.request_ok(Timed::SetDnd, Request::SetDnd { dnd })
            .await?;
        self.sh.dnd[self.idx].store(dnd != 0, Ordering::Relaxed);
        Ok(())
    }

    async fn call(&mut self, peer: usize) -> OpResult {
        self.calls_placed += 1;
        let call_id = format!("soak-{}-{}", self.idx, self.calls_placed);
        let started = Instant::now();
        let request = Request::Call {
            call_id: call_id.clone(),
            callee: self.sh.users[peer].clone(),
            meet_obj: String::new(),
            usr_ext_dat: String::new(),
        };
        let id = self
            .send_request(Timed::Call, request)
            .await
            .map_err(Some)?;
        let (mut replied, mut accepted) = (false, false);
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        while !(replied && accepted) {
            match self.step(None, Some(deadline)).await {
                Step::Reply(reply) if reply.re == id => {
                    if reply.code != 0 {
                        return Err(None);
                    }
                    replied = true;
                }
                Step::CallAccepted(accepted_id) if accepted_id == call_id => {
                    self.sh.record(Timed::CallSetup, started.elapsed());
                    accepted = true;
                }
                Step::CallAccepted(other) => {
                    self.error(format!("call_accepted for call {other}, not {call_id}"));
                }
                Step::Reply(_) | Step::Nothing => {}
                Step::Closed(why) => return Err(Some(format!("during call setup: {why}"))),
                Step::Timeout => {
                    return Err(Some(format!(
                        "call {call_id} to {}: replied {replied}, accepted {accepted} after {STEP_TIMEOUT:?}",
                        self.sh.users[peer]
                    )))
                }
                Step::Op(_) | Step::Shutdown => unreachable!("no operations taken meanwhile"),
            }
        }
        let hangup = Request::HangupCall {
            call_id,
            usr_ext_dat: String::new(),
        };
        self.request_ok(Timed::HangupCall, hangup).await?;
        Ok(())
    }

    async fn cmd(&mut self, peer: usize) -> OpResult {
        let id = self.take_id();
        let frame = encode_command(id, &self.sh.users[peer], &self.sh.cmd_payload);
        self.pending.insert(id, (Timed::SendCmd, Instant::now()));
        self.send_message(Message::binary(frame))
            .await
            .map_err(Some)?;
        let reply = self.wait_reply(id, Timed::SendCmd).await?;
        if reply.code != 0 {
            return Err(None);
        }
        Ok(())
    }

    /// Sends a `set_dnd`, drops the connection at once without a goodbye, resumes the
    /// session on a new one and waits for that request's reply there: the server either got
    /// the request before the drop (it sends the reply again) or not (this client sends the
    /// request again).
    async fn resume(&mut self) -> OpResult {
        let token = self
            .token
            .clone()
            .ok_or_else(|| Some("no resume token".to_string()))?;
        let dnd = self.next_dnd();
        let id = self
            .send_request(Timed::SetDndAcrossResume, Request::SetDnd { dnd })
            .await
            .map_err(Some)?;
        let started = Instant::now();
        // Whatever the server sent and this client did not read yet is lost with the socket
        // (closed with unread data: a reset, which may also lose what was just sent).
        drop(self.ws.take());
        let mut ws = self.open().await.map_err(Some)?;
        let hello = Request::Hello {
            version: PROTOCOL_VERSION,
            agent: AGENT.into(),
        };
        self.handshake_request(&mut ws, Timed::Hello, hello).await?;
        let resume = Request::Resume {
            token,
            received: self.received,
        };
        let reply = self
            .handshake_request(&mut ws, Timed::Resume, resume)
            .await?;
        let resumed: Resumed = reply
            .into_result()
            .map_err(|code| Some(format!("resume reply: {}", code_name(code))))?;
        self.replay.ack(resumed.received);
        let resend = self.replay.after(resumed.received).ok_or_else(|| {
            Some(format!(
                "the server got {} of this client's frames: cannot send again what it missed",
                resumed.received
            ))
        })?;
        let resent = resend.len() as u64;
        for text in resend {
            ws.send(Message::text(text))
                .await
                .map_err(|e| Some(format!("resending: {e}")))?;
        }
        self.ws = Some(ws);
        self.sh.record(Timed::Resume, started.elapsed());
        self.sh.with_stats(|s| {
            s.resent_by_clients += resent;
            s.resumes_resending += u64::from(resent > 0);
        });
        let reply = self.wait_reply(id, Timed::SetDndAcrossResume).await?;
        if reply.code != 0 {
            return Err(None);
        }
        self.sh.dnd[self.idx].store(dnd != 0, Ordering::Relaxed);
        Ok(())
    }
}

/// `7 (ANCTPSWD_ERR)`.
fn code_name(code: i32) -> String {
    match ErrorCode::from_code(code) {
        Some(c) => format!("code {code} ({})", c.name()),
        None => format!("code {code}"),
    }
}

/// A client's life: log in, then answer what comes and run the operations it is given,
/// until the scheduler is gone.
async fn client_main(
    mut client: Client,
    mut rx: mpsc::Receiver<Op>,
    gate: Arc<Semaphore>,
    ready: Arc<(AtomicUsize, Notify)>,
) {
    let permit = gate.acquire().await;
    let logged_in = client.fresh_login().await;
    drop(permit);
    let idx = client.idx;
    let alive = match logged_in {
        Ok(()) => true,
        Err(why) => {
            if let Some(why) = why {
                client.error(format!("login: {why}"));
            }
            false
        }
    };
    if !alive {
        client.sh.mark_dead(idx);
    }
    ready.0.fetch_add(1, Ordering::AcqRel);
    ready.1.notify_one();
    if !alive {
        return;
    }
    loop {
        match client.step(Some(&mut rx), None).await {
            Step::Op(op) => {
                let alive = client.run_op(op).await;
                if !alive {
                    client.sh.mark_dead(idx);
                    return;
                }
                client.sh.release(idx);
            }
            Step::Shutdown => {
                // Log out, so that the session ends now rather than waiting to be resumed.
                if let Err(Some(why)) = client.logout().await {
                    client.error(format!("final logout: {why}"));
                }
                return;
            }
            Step::Closed(why) => {
                client.error(format!("connection lost while idle: {why}"));
                if !client.recover().await {
                    client.sh.mark_dead(idx);
                    return;
                }
            }
            Step::CallAccepted(call_id) => {
                client.error(format!("call_accepted for call {call_id} while idle"));
            }
            Step::Reply(_) | Step::Nothing | Step::Timeout => {}
        }
    }
}

// ---------------------------------------------------------------------------------------
// Scheduler and sampler.

/// xorshift64*: reproducible choices without a dependency.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// An operation kind, by the weights of `--mix`.
fn pick_kind(rng: &mut Rng, mix: &[u32; OP_KINDS]) -> OpKind {
    let total: u32 = mix.iter().sum();
    let mut r = (rng.next() % total as u64) as u32;
    for kind in OpKind::ALL {
        let w = mix[kind as usize];
        if r < w {
            return kind;
        }
        r -= w;
    }
    unreachable!("r < total")
}

/// Reserves a random idle client for which `fits` holds (a few tries).
fn reserve_random(sh: &Shared, rng: &mut Rng, fits: impl Fn(usize) -> bool) -> Option<usize> {
    for _ in 0..32 {
        let i = rng.below(sh.users.len());
        if fits(i) && sh.try_reserve(i) {
            return Some(i);
        }
    }
    None
}

/// Issues operations at `--rate` per second until `until`.
async fn schedule(
    sh: &Shared,
    senders: &[mpsc::Sender<Op>],
    rng: &mut Rng,
    args: &Args,
    until: tokio::time::Instant,
) {
    let period = Duration::from_secs_f64(1.0 / args.rate);
    let mut ticks = tokio::time::interval(period);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Burst);
    loop {
        tokio::select! {
            _ = ticks.tick() => {}
            _ = sleep_until(until) => return,
        }
        let kind = pick_kind(rng, &args.mix);
        let Some(client) = reserve_random(sh, rng, |_| true) else {
            sh.with_stats(|s| s.skipped += 1);
            continue;
        };
        let peer = if kind.needs_peer() {
            let callee_ok = |j: usize| {
                j != client && !(kind == OpKind::Call && sh.dnd[j].load(Ordering::Relaxed))
            };
            match reserve_random(sh, rng, callee_ok) {
                Some(peer) => Some(peer),
                None => {
                    sh.release(client);
                    sh.with_stats(|s| s.skipped += 1);
                    continue;
                }
            }
        } else {
            None
        };
        if senders[client].try_send(Op { kind, peer }).is_err() {
            sh.error(client, "idle client did not take an operation".into());
            if let Some(peer) = peer {
                sh.release(peer);
            }
        }
    }
}

fn take_sample(sh: &Shared, pid: u32) -> Sample {
    let (done, errors) = sh.totals();
    Sample {
        secs: sh.secs(),
        phase: sh.phase(),
        rss_kib: rss_kib(pid).unwrap_or(0),
        server_cpu: cpu_secs(pid).unwrap_or(0.0),
        done,
        errors,
    }
}

fn print_sample(s: &Sample, previous: Option<&Sample>) {
    let rate = previous
        .filter(|p| s.secs > p.secs)
        .map(|p| (s.done - p.done) as f64 / (s.secs - p.secs))
        .unwrap_or(0.0);
    let cpu = previous
        .filter(|p| s.secs > p.secs)
        .map(|p| 100.0 * (s.server_cpu - p.server_cpu) / (s.secs - p.secs))
        .unwrap_or(0.0);
    println!(
        "[{:7.2}s] {:<7} server RSS {:>8} KiB ({:6.1} MiB), server CPU {:5.1}%, ops done {:>7} ({:6.1}/s), errors {}",
        s.secs,
        PHASE_NAMES[s.phase as usize],
        s.rss_kib,
        s.rss_kib as f64 / 1024.0,
        cpu,
        s.done,
        rate,
        s.errors
    );
}

/// Least-squares slope of RSS over time, KiB per minute.
fn slope_kib_per_min(samples: &[Sample]) -> f64 {
    if samples.len() < 2 {
        return 0.0;
    }
    let n = samples.len() as f64;
    let mx = samples.iter().map(|s| s.secs).sum::<f64>() / n;
    let my = samples.iter().map(|s| s.rss_kib as f64).sum::<f64>() / n;
    let (mut sxy, mut sxx) = (0.0, 0.0);
    for s in samples {
        sxy += (s.secs - mx) * (s.rss_kib as f64 - my);
        sxx += (s.secs - mx) * (s.secs - mx);
    }
    if sxx == 0.0 {
        0.0
    } else {
        sxy / sxx * 60.0
    }
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
