//! Meeting-room load generator for crvideo-server: one meeting with `--members` members.
//!
//! ```text
//! meeting_load [--mode im|board|enter|all] [--server-bin PATH] [--members 100]
//!              [--nats-bin nats-server] [--skip-nats]
//!              im:    [--messages 1000] [--warmup 50]
//!              board: [--drawers 10] [--window 16] [--ack all|own] [--board-warmup-secs 2]
//!                     [--board-secs 10] [--keep 512] [--delete-batch 128]
//!              enter: [--elements 10000] [--cycles 100]
//! ```
//!
//! `--mode im` (the default): IM fan-out from one member to all the others, with
//! nats-server publish fan-out to the same number of subscribers as the in-run peer.
//! `--mode board`: whiteboard element adds by several drawing members (see [`board`]).
//! `--mode enter`: a late joiner entering a meeting whose board holds many elements (see
//! [`enter`]). `--mode all`: the three, one after another, each with its own servers.
//!
//! IM: member 0 creates the meeting; the members log in and enter it one after another
//! (enter latency: `enter_meeting` sent → its reply, the entrant's reply carrying the whole
//! room; reported for all entries and for the last one, into a room of `members - 1`). Then
//! member 0 sends `send_im` to everyone, one message at a time: fan-out delay = from just
//! before the request is sent to the moment the last of the `members - 1` receivers has
//! decoded its `im` event (also reported: to the first receiver). The next message goes once
//! the previous one reached everybody and its reply arrived.
//!
//! nats-server: `members - 1` connections SUB to one subject, one more PUBs the same
//! sequence of messages one at a time; the same two delays.
//!
//! Client and server share the machine's cores; see docs/BENCHMARKS.md.

mod board;
mod enter;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use crvideo_bench::{
    cpu_secs, log_tail, raise_fd_limit, ratio, run_load_generator, start_crvideo_with_tenant,
    start_nats, stop_child, BenchResult, Latency, NatsConn, TempDir, WsConn,
};
use crvideo_proto::{Event, MeetInfo, Request, ServerFrame};
use tokio::sync::Notify;

const AGENT: &str = "crvideo-bench/meeting_load";
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
const SUBJECT: &str = "room";

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Im,
    Board,
    Enter,
    All,
}

struct Args {
    mode: Mode,
    server_bin: PathBuf,
    nats_bin: String,
    skip_nats: bool,
    members: usize,
    messages: usize,
    warmup: usize,
    /// Board mode: members adding elements, and each one's unacknowledged adds at most.
    drawers: usize,
    window: usize,
    ack: board::Ack,
    board_warmup_secs: u64,
    board_secs: u64,
    /// Board mode: a drawer deletes its oldest `delete_batch` elements once it holds `keep`.
    keep: usize,
    delete_batch: usize,
    /// Enter mode: elements on the board, and enter/exit cycles of the late joiner.
    elements: usize,
    cycles: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: meeting_load [--mode im|board|enter|all] [--server-bin PATH] [--members 100] \
         [--nats-bin nats-server] [--skip-nats]\n\
         \x20 im:    [--messages 1000] [--warmup 50]\n\
         \x20 board: [--drawers 10] [--window 16] [--ack all|own] [--board-warmup-secs 2] \
         [--board-secs 10] [--keep 512] [--delete-batch 128]\n\
         \x20 enter: [--elements 10000] [--cycles 100]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut args = Args {
        mode: Mode::Im,
        server_bin: PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../target/release/crvideo-server"),
        nats_bin: "nats-server".into(),
        skip_nats: false,
        members: 100,
        messages: 1000,
        warmup: 50,
        drawers: 10,
        window: 16,
        ack: board::Ack::All,
        board_warmup_secs: 2,
        board_secs: 10,
        keep: 512,
        delete_batch: 128,
        elements: 10_000,
        cycles: 100,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || it.next().unwrap_or_else(|| usage());
        let number = |s: &str, min: usize| -> usize {
            s.trim()
                .parse()
                .ok()
                .filter(|&n| n >= min)
                .unwrap_or_else(|| {
                    eprintln!("meeting_load: not a number >= {min}: {s:?}");
                    usage()
                })
        };
        match arg.as_str() {
            "--mode" => {
                args.mode = match value().as_str() {
                    "im" => Mode::Im,
                    "board" => Mode::Board,
                    "enter" => Mode::Enter,
                    "all" => Mode::All,
                    other => {
                        eprintln!("meeting_load: unknown mode {other:?}");
                        usage()
                    }
                }
            }
            "--server-bin" => args.server_bin = PathBuf::from(value()),
            "--nats-bin" => args.nats_bin = value(),
            "--skip-nats" => args.skip_nats = true,
            "--members" => args.members = number(&value(), 2),
            "--messages" => args.messages = number(&value(), 1),
            "--warmup" => args.warmup = number(&value(), 0),
            "--drawers" => args.drawers = number(&value(), 1),
            "--window" => args.window = number(&value(), 1),
            "--ack" => {
                args.ack = match value().as_str() {
                    "all" => board::Ack::All,
                    "own" => board::Ack::Own,
                    other => {
                        eprintln!("meeting_load: --ack all|own, not {other:?}");
                        usage()
                    }
                }
            }
            "--board-warmup-secs" => args.board_warmup_secs = number(&value(), 0) as u64,
            "--board-secs" => args.board_secs = number(&value(), 1) as u64,
            "--keep" => args.keep = number(&value(), 1),
            "--delete-batch" => args.delete_batch = number(&value(), 1),
            "--elements" => args.elements = number(&value(), 2),
            "--cycles" => args.cycles = number(&value(), 1),
            "-h" | "--help" => usage(),
            other => {
                eprintln!("meeting_load: unknown argument {other:?}");
                usage()
            }
        }
    }
    if args.drawers >= args.members {
        eprintln!("meeting_load: --drawers must be below --members (one member only counts)");
        usage()
    }
    if args.delete_batch > args.keep {
        eprintln!("meeting_load: --delete-batch must not exceed --keep");
        usage()
    }
    args
}

fn main() {
    let args = parse_args();
    raise_fd_limit();
    run_load_generator("meeting_load", async {
        if matches!(args.mode, Mode::Im | Mode::All) {
            run_all(&args).await?;
        }
        if matches!(args.mode, Mode::Board | Mode::All) {
            if args.mode == Mode::All {
                println!();
            }
            board::run(&args).await?;
        }
        if matches!(args.mode, Mode::Enter | Mode::All) {
            if args.mode == Mode::All {
                println!();
            }
            enter::run(&args).await?;
        }
        Ok(())
    });
}

/// Arrivals of each message at the receivers.
struct Fanout {
    receivers: usize,
    counts: Vec<AtomicUsize>,
    first: Vec<OnceLock<Instant>>,
    last: Vec<OnceLock<Instant>>,
    all_in: Notify,
    /// Frames a receiver could not place (an error if not 0).
    stray: AtomicUsize,
}

impl Fanout {
    fn new(messages: usize, receivers: usize) -> Arc<Fanout> {
        Arc::new(Fanout {
            receivers,
            counts: (0..messages).map(|_| AtomicUsize::new(0)).collect(),
            first: (0..messages).map(|_| OnceLock::new()).collect(),
            last: (0..messages).map(|_| OnceLock::new()).collect(),
            all_in: Notify::new(),
            stray: AtomicUsize::new(0),
        })
    }

    /// A receiver got message `text` (`m<index>`).
    fn arrived(&self, text: &[u8]) {
        let index = std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.strip_prefix('m'))
            .and_then(|i| i.parse::<usize>().ok())
            .filter(|&i| i < self.counts.len());
        let Some(i) = index else {
            self.stray.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let now = Instant::now();
        let n = self.counts[i].fetch_add(1, Ordering::AcqRel) + 1;
        if n == 1 {
            let _ = self.first[i].set(now);
        }
        if n == self.receivers {
            let _ = self.last[i].set(now);
            self.all_in.notify_one();
        }
    }

    /// Waits until message `i` reached every receiver; returns (first, last) arrival.
    async fn wait(&self, i: usize) -> BenchResult<(Instant, Instant)> {
        let deadline = tokio::time::Instant::now() + STEP_TIMEOUT;
        loop {
            let notified = self.all_in.notified();
            if let Some(&last) = self.last[i].get() {
                return Ok((*self.first[i].get().expect("first before last"), last));
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return Err(format!(
                    "message {i} reached {} of {} receivers within {STEP_TIMEOUT:?}",
                    self.counts[i].load(Ordering::Relaxed),
                    self.receivers
                ));
            }
        }
    }
}

#[derive(Debug, Default)]
struct RunResult {
    enter_all: Latency,
    enter_last_ms: f64,
    to_last: Latency,
    to_first: Latency,
    msgs_per_sec: f64,
    server_cpu_secs: f64,
}

async fn run_all(args: &Args) -> BenchResult<()> {
    println!(
        "meeting_load: {} members, {} messages (+{} warm-up), 1 sender -> {} receivers",
        args.members,
        args.messages,
        args.warmup,
        args.members - 1
    );
    let ours = run_crvideo(args).await?;
    print_result("crvideo-server", &ours, true);
    let nats = if args.skip_nats {
        None
    } else {
        let nats = run_nats(args).await?;
        print_result("nats-server", &nats, false);
        Some(nats)
    };
    if let Some(nats) = nats {
        println!(
            "\nRatios crvideo/nats (below 1 is better for crvideo): fan-out to last p50 {:.2}, p99 {:.2}; to first p50 {:.2}",
            ratio(ours.to_last.p50_ms, nats.to_last.p50_ms),
            ratio(ours.to_last.p99_ms, nats.to_last.p99_ms),
            ratio(ours.to_first.p50_ms, nats.to_first.p50_ms),
        );
    }
    Ok(())
}

fn print_result(name: &str, r: &RunResult, with_enter: bool) {
    println!("\n{name}:");
    if with_enter {
        println!(
            "  enter latency: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms; the last entrant {:.3} ms",
            r.enter_all.p50_ms, r.enter_all.p99_ms, r.enter_all.max_ms, r.enter_last_ms
        );
    }
    println!(
        "  fan-out to the last receiver: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        r.to_last.p50_ms, r.to_last.p99_ms, r.to_last.max_ms
    );
    println!(
        "  fan-out to the first receiver: p50 {:.3} ms, p99 {:.3} ms",
        r.to_first.p50_ms, r.to_first.p99_ms
    );
    println!(
        "  {:.0} messages/s one at a time; server CPU {:.2} s",
        r.msgs_per_sec, r.server_cpu_secs
    );
}

async fn run_crvideo(args: &Args) -> BenchResult<RunResult> {
    let dir = TempDir::new("meeting")?;
    let config = format!(
        "heartbeat_ms = 30000\nmax_meeting_members = {}",
        args.members
    );
    let (mut server, addr) = start_crvideo_with_tenant(&args.server_bin, dir.path(), &config, "")?;
    let result = crvideo_phases(args, server.pid(), addr).await;
    let stopped = stop_child(&mut server);
    result.map_err(|e| {
        format!(
            "crvideo-server: {e}\n({stopped}; last lines of its log:)\n{}",
            log_tail(&dir.path().join("server.log"), 20)
        )
    })
}

async fn crvideo_phases(args: &Args, pid: u32, addr: SocketAddr) -> BenchResult<RunResult> {
    let mut sender = WsConn::login(addr, "m0", AGENT, STEP_TIMEOUT).await?;
    let meeting: MeetInfo = sender
        .request(
            Request::CreateMeeting {
                subject: "bench room".into(),
                with_password: false,
            },
            STEP_TIMEOUT,
        )
        .await?
        .into_result()
        .map_err(|code| format!("create_meeting: code {code}"))?;
    let enter = Request::EnterMeeting {
        meet_id: meeting.id,
        pswd: String::new(),
    };
    let mut enters = Vec::with_capacity(args.members);
    let t0 = Instant::now();
    sender.request(enter.clone(), STEP_TIMEOUT).await?;
    enters.push(t0.elapsed());
    let total = args.warmup + args.messages;
    let fanout = Fanout::new(total, args.members - 1);
    let mut receivers = Vec::with_capacity(args.members - 1);
    for i in 1..args.members {
        let mut conn = WsConn::login(addr, &format!("m{i}"), AGENT, STEP_TIMEOUT).await?;
        let t0 = Instant::now();
        conn.request(enter.clone(), STEP_TIMEOUT).await?;
        enters.push(t0.elapsed());
        receivers.push(tokio::spawn(receive_ims(conn, fanout.clone())));
    }

    let cpu_before = cpu_secs(pid)?;
    let (mut to_last, mut to_first) = (Vec::new(), Vec::new());
    let started = Instant::now();
    let mut measured_from = started;
    for i in 0..total {
        if i == args.warmup {
            measured_from = Instant::now();
        }
        let sent = Instant::now();
        let id = sender
            .send(Request::SendIm {
                text: format!("m{i}"),
                to: String::new(),
            })
            .await?;
        let (first, last) = fanout.wait(i).await?;
        await_reply(&mut sender, id).await?;
        if i >= args.warmup {
            to_last.push(last - sent);
            to_first.push(first - sent);
        }
    }
    let secs = measured_from.elapsed().as_secs_f64();
    let server_cpu_secs = cpu_secs(pid)? - cpu_before;
    for r in &receivers {
        r.abort();
    }
    let stray = fanout.stray.load(Ordering::Relaxed);
    if stray != 0 {
        return Err(format!("{stray} frames the receivers could not place"));
    }
    Ok(RunResult {
        enter_all: Latency::of(&enters),
        enter_last_ms: enters.last().map_or(0.0, |d| d.as_secs_f64() * 1e3),
        to_last: Latency::of(&to_last),
        to_first: Latency::of(&to_first),
        msgs_per_sec: args.messages as f64 / secs,
        server_cpu_secs,
    })
}

/// Reads the sender's frames up to the reply `id` (code 0), skipping the room's events.
async fn await_reply(conn: &mut WsConn, id: u64) -> BenchResult<()> {
    loop {
        match conn.next_frame(STEP_TIMEOUT).await? {
            ServerFrame::Reply(reply) if reply.re == id => {
                return match reply.code {
                    0 => Ok(()),
                    code => Err(format!("send_im failed with code {code}")),
                }
            }
            ServerFrame::Reply(reply) => return Err(format!("stray reply {}", reply.re)),
            ServerFrame::Event(_) => {}
        }
    }
}

/// A receiver: records every `im` event; other events (members entering) are skipped.
async fn receive_ims(mut conn: WsConn, fanout: Arc<Fanout>) {
    while let Ok(frame) = conn.next_frame(Duration::from_secs(3600)).await {
        match frame {
            ServerFrame::Event(Event::Im { text, .. }) => fanout.arrived(text.as_bytes()),
            ServerFrame::Event(_) => {}
            ServerFrame::Reply(_) => {
                fanout.stray.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn run_nats(args: &Args) -> BenchResult<RunResult> {
    let dir = TempDir::new("meeting-nats")?;
    let (mut nats, addr) = start_nats(&args.nats_bin, dir.path())?;
    let result = nats_phases(args, nats.pid(), addr).await;
    let stopped = stop_child(&mut nats);
    result.map_err(|e| format!("nats-server: {e} ({stopped})"))
}

async fn nats_phases(args: &Args, pid: u32, addr: SocketAddr) -> BenchResult<RunResult> {
    let total = args.warmup + args.messages;
    let fanout = Fanout::new(total, args.members - 1);
    let mut receivers = Vec::with_capacity(args.members - 1);
    for _ in 1..args.members {
        let mut conn = NatsConn::connect(addr, STEP_TIMEOUT).await?;
        conn.send(format!("SUB {SUBJECT} 1\r\n").as_bytes()).await?;
        conn.ping(STEP_TIMEOUT).await?;
        let fanout = fanout.clone();
        receivers.push(tokio::spawn(async move {
            while let Ok(msg) = conn.next_msg(Duration::from_secs(3600)).await {
                fanout.arrived(&msg.payload);
            }
        }));
    }
    let mut publisher = NatsConn::connect(addr, STEP_TIMEOUT).await?;
    let cpu_before = cpu_secs(pid)?;
    let (mut to_last, mut to_first) = (Vec::new(), Vec::new());
    let mut measured_from = Instant::now();
    for i in 0..total {
        if i == args.warmup {
            measured_from = Instant::now();
        }
        let payload = format!("m{i}");
        let sent = Instant::now();
        publisher
            .send(format!("PUB {SUBJECT} {}\r\n{payload}\r\n", payload.len()).as_bytes())
            .await?;
        let (first, last) = fanout.wait(i).await?;
        if i >= args.warmup {
            to_last.push(last - sent);
            to_first.push(first - sent);
        }
    }
    let secs = measured_from.elapsed().as_secs_f64();
    let server_cpu_secs = cpu_secs(pid)? - cpu_before;
    for r in &receivers {
        r.abort();
    }
    Ok(RunResult {
        to_last: Latency::of(&to_last),
        to_first: Latency::of(&to_first),
        msgs_per_sec: args.messages as f64 / secs,
        server_cpu_secs,
        ..RunResult::default()
    })
}
