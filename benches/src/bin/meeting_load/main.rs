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
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::{CommandFactory, Parser};
use crvideo_bench::report::{ratio, Latency};
use crvideo_bench::{
    at_least, cpu_secs, log_tail, login, nats, raise_fd_limit, run_load_generator,
    start_crvideo_with_tenant, start_nats, stop_child, BenchResult, Conn, Fanout, NatsArgs,
    ServerArgs, TempDir,
};
use crvideo_proto::{Event, MeetInfo, Request, ServerFrame};

const AGENT: &str = "crvideo-bench/meeting_load";
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
const SUBJECT: &str = "room";

/// What to measure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Im,
    Board,
    Enter,
    All,
}

/// Meeting-room benchmarks of one meeting on crvideo-server (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    /// What to measure.
    #[arg(long, value_enum, default_value_t = Mode::Im)]
    mode: Mode,
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    nats: NatsArgs,
    /// Members of the meeting.
    #[arg(long, default_value_t = 100, value_parser = at_least(2))]
    members: usize,
    /// im: measured messages.
    #[arg(long, default_value_t = 1000, value_parser = at_least(1))]
    messages: usize,
    /// im: messages before the measured ones.
    #[arg(long, default_value_t = 50)]
    warmup: usize,
    /// board: members adding elements.
    #[arg(long, default_value_t = 10, value_parser = at_least(1))]
    drawers: usize,
    /// board: each drawer's unacknowledged adds at most.
    #[arg(long, default_value_t = 16, value_parser = at_least(1))]
    window: usize,
    /// board: which echoes acknowledge an add.
    #[arg(long, value_enum, default_value_t = board::Ack::All)]
    ack: board::Ack,
    /// board: seconds of drawing before the measured ones.
    #[arg(long, default_value_t = 2)]
    board_warmup_secs: u64,
    /// board: measured seconds of drawing.
    #[arg(long, default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    board_secs: u64,
    /// board: a drawer deletes its oldest `--delete-batch` elements once it holds this many.
    #[arg(long, default_value_t = 512, value_parser = at_least(1))]
    keep: usize,
    #[arg(long, default_value_t = 128, value_parser = at_least(1))]
    delete_batch: usize,
    /// enter: elements on the board.
    #[arg(long, default_value_t = 10_000, value_parser = at_least(2))]
    elements: usize,
    /// enter: enter/exit cycles of the late joiner.
    #[arg(long, default_value_t = 100, value_parser = at_least(1))]
    cycles: usize,
}

impl Args {
    fn checked() -> Args {
        let args = Args::parse();
        let problem = if args.drawers >= args.members {
            "--drawers must be below --members (one member only counts)"
        } else if args.delete_batch > args.keep {
            "--delete-batch must not exceed --keep"
        } else {
            return args;
        };
        Args::command()
            .error(clap::error::ErrorKind::ArgumentConflict, problem)
            .exit()
    }
}

fn main() {
    let args = Args::checked();
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

/// The index of IM `m<index>`.
fn im_index(text: &[u8]) -> Option<usize> {
    let text = std::str::from_utf8(text).ok()?;
    text.strip_prefix('m')?.parse().ok()
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
    let nats = if args.nats.skip_nats {
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
    let (mut server, addr) =
        start_crvideo_with_tenant(&args.server.server_bin, dir.path(), &config, "")?;
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
    let mut sender = login(addr, "m0", AGENT, STEP_TIMEOUT).await?;
    let meeting: MeetInfo = sender
        .request_ok(
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
    sender.request_ok(enter.clone(), STEP_TIMEOUT).await?;
    enters.push(t0.elapsed());
    let total = args.warmup + args.messages;
    let fanout = Arc::new(Fanout::new(total, args.members - 1));
    let mut receivers = Vec::with_capacity(args.members - 1);
    for i in 1..args.members {
        let mut conn = login(addr, &format!("m{i}"), AGENT, STEP_TIMEOUT).await?;
        let t0 = Instant::now();
        conn.request_ok(enter.clone(), STEP_TIMEOUT).await?;
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
            .send_request(Request::SendIm {
                text: format!("m{i}"),
                to: String::new(),
            })
            .await?;
        let (first, last) = fanout.wait(i, STEP_TIMEOUT).await?;
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
async fn await_reply(conn: &mut Conn, id: u64) -> BenchResult<()> {
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
async fn receive_ims(mut conn: Conn, fanout: Arc<Fanout>) {
    while let Ok(frame) = conn.next_frame(Duration::from_secs(3600)).await {
        match frame {
            ServerFrame::Event(Event::Im { text, .. }) => fanout.arrived(im_index(text.as_bytes())),
            ServerFrame::Event(_) => {}
            ServerFrame::Reply(_) => {
                fanout.stray.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn run_nats(args: &Args) -> BenchResult<RunResult> {
    let dir = TempDir::new("meeting-nats")?;
    let (mut nats, addr) = start_nats(&args.nats.nats_bin, dir.path())?;
    let result = nats_phases(args, nats.pid(), addr).await;
    let stopped = stop_child(&mut nats);
    result.map_err(|e| format!("nats-server: {e} ({stopped})"))
}

async fn nats_phases(args: &Args, pid: u32, addr: SocketAddr) -> BenchResult<RunResult> {
    let total = args.warmup + args.messages;
    let fanout = Arc::new(Fanout::new(total, args.members - 1));
    let mut receivers = Vec::with_capacity(args.members - 1);
    for _ in 1..args.members {
        let conn = nats::connect(addr, STEP_TIMEOUT).await?;
        let mut room = nats::subscribe(&conn, SUBJECT, STEP_TIMEOUT).await?;
        let fanout = fanout.clone();
        receivers.push(tokio::spawn(async move {
            let _conn = conn;
            while let Ok(msg) = nats::next(&mut room, Duration::from_secs(3600)).await {
                fanout.arrived(im_index(&msg.payload));
            }
        }));
    }
    let publisher = nats::connect(addr, STEP_TIMEOUT).await?;
    let cpu_before = cpu_secs(pid)?;
    let (mut to_last, mut to_first) = (Vec::new(), Vec::new());
    let mut measured_from = Instant::now();
    for i in 0..total {
        if i == args.warmup {
            measured_from = Instant::now();
        }
        let payload = Bytes::from(format!("m{i}"));
        let sent = Instant::now();
        nats::publish(&publisher, SUBJECT, None, payload).await?;
        let (first, last) = fanout.wait(i, STEP_TIMEOUT).await?;
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
