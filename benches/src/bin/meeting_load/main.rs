//! Meeting-room load generator: one meeting of `--members` on crvideo-server (see
//! docs/BENCHMARKS.md). `--mode im` (the default), `board` ([`board`]), `enter` ([`enter`])
//! or `all` of them, each with its own servers.
//!
//! IM: member 0 creates the meeting; the members log in and enter it one after another
//! (enter latency: `enter_meeting` sent → its reply, which carries the whole room). Then
//! member 0 sends `send_im` to everyone, one message at a time, the next once the previous
//! one reached everybody and its reply came: fan-out delay = just before the request is sent
//! → the last (and the first) of the `members - 1` receivers decoded its `im` event. The
//! nats-server peer: `members - 1` connections SUB to one subject, one more PUBs the same
//! messages one at a time; the same two delays.

mod board;
mod enter;

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{CommandFactory, Parser};
use crvideo_bench::report::{ratio, Latency, Table};
use crvideo_bench::{
    at_least, cpu_secs, log_tail, login, nats, raise_fd_limit, run_load_generator, start_crvideo,
    start_nats, stop_child, BenchResult, ChildGuard, Conn, Fanout, NatsArgs, ServerArgs, TempDir,
};
use crvideo_proto::{Event, MeetInfo, Reply, Request, ServerFrame};
use tokio::task::JoinSet;

const AGENT: &str = "crvideo-bench/meeting_load";
const STEP_TIMEOUT: Duration = Duration::from_secs(30);

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Mode {
    Im,
    Board,
    Enter,
    All,
}

/// Meeting-room benchmarks of one meeting on crvideo-server (see docs/BENCHMARKS.md).
#[derive(Parser, Clone)]
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

fn main() {
    let args = Args::parse();
    if args.drawers >= args.members || args.delete_batch > args.keep {
        let problem = "--drawers must be below --members, --delete-batch at most --keep";
        Args::command()
            .error(clap::error::ErrorKind::ArgumentConflict, problem)
            .exit()
    }
    raise_fd_limit();
    run_load_generator("meeting_load", async {
        let all = args.mode == Mode::All;
        if all || args.mode == Mode::Im {
            im(&args).await?;
        }
        if all || args.mode == Mode::Board {
            board::run(&args).await?;
        }
        if all || args.mode == Mode::Enter {
            enter::run(&args).await?;
        }
        Ok(())
    });
}

/// A server under test (crvideo-server, or the nats-server peer) in a scratch directory.
struct Server {
    child: ChildGuard,
    addr: SocketAddr,
    dir: TempDir,
}

impl Server {
    fn start(args: &Args, nats: bool) -> BenchResult<Server> {
        let dir = TempDir::new("meeting")?;
        let members = args.members;
        let config = format!("heartbeat_ms = 30000\nmax_meeting_members = {members}");
        let (child, addr) = match nats {
            true => start_nats(&args.nats.nats_bin, dir.path())?,
            false => start_crvideo(&args.server.server_bin, dir.path(), &config)?,
        };
        Ok(Server { child, addr, dir })
    }

    fn pid(&self) -> u32 {
        self.child.pid()
    }

    /// Stops the server; an error gets the end of crvideo-server's log.
    fn stop<T>(mut self, result: BenchResult<T>) -> BenchResult<T> {
        let stopped = stop_child(&mut self.child);
        let log = self.dir.path().join("server.log");
        result.map_err(|e| format!("{e}\n({stopped}; its log ends:)\n{}", log_tail(&log, 20)))
    }
}

/// Creates a meeting as `conn`'s user: the request that enters it.
async fn create_meeting(conn: &mut Conn, subject: &str) -> BenchResult<Request> {
    let create = Request::CreateMeeting {
        subject: subject.into(),
        with_password: false,
    };
    let meeting: MeetInfo = conn
        .request_ok(create, STEP_TIMEOUT)
        .await?
        .into_result()
        .map_err(|code| format!("create_meeting: code {code}"))?;
    let (meet_id, pswd) = (meeting.id, String::new());
    Ok(Request::EnterMeeting { meet_id, pswd })
}

/// The id and code (0 is success) of a crvideo frame that is a reply (the tag is serialised
/// first, so an event is told without decoding it).
fn reply(text: &str) -> BenchResult<Option<(u64, i32)>> {
    if !text.starts_with(r#"{"t":"reply""#) {
        return Ok(None);
    }
    match crvideo_proto::decode::<ServerFrame>(text) {
        Ok(ServerFrame::Reply(Reply { re, code, .. })) => Ok(Some((re, code))),
        _ => Err(format!("odd reply {text:?}")),
    }
}

/// Reads `conn`'s frames up to the reply to `id`, skipping events: its text (code 0).
async fn reply_to(conn: &mut Conn, id: u64) -> BenchResult<String> {
    loop {
        let text = conn.next_text(STEP_TIMEOUT).await?;
        match reply(&text)? {
            Some((re, 0)) if re == id => return Ok(text),
            Some((re, code)) => return Err(format!("reply {re} (awaiting {id}): code {code}")),
            None => {}
        }
    }
}

/// Sends `request` and reads up to its reply ([`reply_to`]).
async fn request(conn: &mut Conn, request: Request) -> BenchResult<String> {
    let op = request.op();
    let id = conn.send_request(request).await?;
    reply_to(conn, id).await.map_err(|e| format!("{op}: {e}"))
}

/// p50 / p99 / max in ms.
fn lat(l: &Latency) -> String {
    format!("{:.3} / {:.3} / {:.3}", l.p50_ms, l.p99_ms, l.max_ms)
}

async fn im(args: &Args) -> BenchResult<()> {
    let (members, receivers) = (args.members, args.members - 1);
    let (messages, warmup) = (args.messages, args.warmup);
    println!(
        "meeting_load im: {members} members, {messages} messages (+{warmup} warm-up), 1 sender \
         -> {receivers} receivers\n"
    );
    let table = Table::header(&[
        "server",
        "fan-out to the last p50 / p99 / max ms",
        "to the first p50 / p99 / max ms",
        "msgs/s, one at a time",
        "server CPU s",
    ]);
    let server = Server::start(args, false)?;
    let result = crvideo_im(args, &server).await;
    let (enters, (row, ours)) = server.stop(result)?;
    table.row(&row);
    let mut nats = None;
    if !args.nats.skip_nats {
        let server = Server::start(args, true)?;
        let result = nats_im(args, &server).await;
        let (row, peer) = server.stop(result)?;
        table.row(&row);
        nats = Some(peer);
    }
    let all = lat(&Latency::of(&enters));
    let last = enters.last().map_or(0.0, |d| d.as_secs_f64() * 1e3);
    println!("\ncrvideo-server enter latency p50/p99/max {all} ms; the last entrant {last:.3} ms");
    if let Some(nats) = nats {
        let r = |i: usize| ratio(ours[i], nats[i]);
        println!(
            "\nRatios crvideo/nats (below 1 is better for crvideo): fan-out to last p50 {:.2}, \
             p99 {:.2}; to first p50 {:.2}",
            r(0),
            r(1),
            r(2)
        );
    }
    Ok(())
}

/// The index of IM `m<index>`.
fn im_index(text: impl AsRef<[u8]>) -> Option<usize> {
    let text = std::str::from_utf8(text.as_ref()).ok()?;
    text.strip_prefix('m')?.parse().ok()
}

/// The enter latencies, then the IM fan-out.
async fn crvideo_im(args: &Args, server: &Server) -> BenchResult<(Vec<Duration>, FanOut)> {
    let mut sender = login(server.addr, "m0", AGENT, STEP_TIMEOUT).await?;
    let enter = create_meeting(&mut sender, "bench room").await?;
    let fanout = Arc::new(Fanout::new(args.warmup + args.messages, args.members - 1));
    let (mut enters, mut receivers) = (Vec::new(), JoinSet::new());
    for i in 0..args.members {
        let mut conn = match i {
            0 => None,
            _ => Some(login(server.addr, &format!("m{i}"), AGENT, STEP_TIMEOUT).await?),
        };
        let t0 = Instant::now();
        let entering = conn.as_mut().unwrap_or(&mut sender);
        entering.request_ok(enter.clone(), STEP_TIMEOUT).await?;
        enters.push(t0.elapsed());
        let (Some(mut conn), fanout) = (conn, fanout.clone()) else {
            continue;
        };
        receivers.spawn(async move {
            while let Ok(frame) = conn.next_frame(Duration::from_secs(3600)).await {
                match frame {
                    ServerFrame::Event(Event::Im { text, .. }) => fanout.arrived(im_index(&text)),
                    ServerFrame::Event(_) => {}
                    ServerFrame::Reply(_) => fanout.arrived(None),
                }
            }
        });
    }
    let fanned = fan_out(args, server.pid(), &fanout, Sender::Crvideo(&mut sender)).await?;
    Ok((enters, fanned))
}

async fn nats_im(args: &Args, server: &Server) -> BenchResult<FanOut> {
    let fanout = Arc::new(Fanout::new(args.warmup + args.messages, args.members - 1));
    let mut receivers = JoinSet::new();
    for _ in 1..args.members {
        let conn = nats::connect(server.addr, STEP_TIMEOUT).await?;
        let mut room = nats::subscribe(&conn, "room", STEP_TIMEOUT).await?;
        let fanout = fanout.clone();
        receivers.spawn(async move {
            let _conn = conn;
            while let Ok(msg) = nats::next(&mut room, Duration::from_secs(3600)).await {
                fanout.arrived(im_index(&msg.payload));
            }
        });
    }
    let publisher = nats::connect(server.addr, STEP_TIMEOUT).await?;
    fan_out(args, server.pid(), &fanout, Sender::Nats(&publisher)).await
}

/// Who sends the IMs: crvideo's member 0, or the nats publisher.
enum Sender<'a> {
    Crvideo(&'a mut Conn),
    Nats(&'a async_nats::Client),
}

/// The table row of a server, and its fan-out to the last receiver p50 and p99 and to the
/// first p50.
type FanOut = (Vec<String>, [f64; 3]);

/// Sends the messages one at a time, each once every receiver has the previous one (and
/// for crvideo, its reply came).
async fn fan_out(
    args: &Args,
    pid: u32,
    fanout: &Fanout,
    mut sender: Sender<'_>,
) -> BenchResult<FanOut> {
    let cpu_before = cpu_secs(pid)?;
    let (mut to_last, mut to_first) = (Vec::new(), Vec::new());
    let mut measured_from = Instant::now();
    for i in 0..args.warmup + args.messages {
        if i == args.warmup {
            measured_from = Instant::now();
        }
        let text = format!("m{i}");
        let sent = Instant::now();
        let id = match &mut sender {
            Sender::Crvideo(conn) => {
                let to = String::new();
                Some(conn.send_request(Request::SendIm { text, to }).await?)
            }
            Sender::Nats(publisher) => {
                nats::publish(publisher, "room", None, text.into()).await?;
                None
            }
        };
        let (first, last) = fanout.wait(i, STEP_TIMEOUT).await?;
        if let (Sender::Crvideo(conn), Some(id)) = (&mut sender, id) {
            reply_to(conn, id).await?;
        }
        if i >= args.warmup {
            to_last.push(last - sent);
            to_first.push(first - sent);
        }
    }
    let rate = args.messages as f64 / measured_from.elapsed().as_secs_f64();
    let cpu = cpu_secs(pid)? - cpu_before;
    let stray = fanout.stray.load(Ordering::Relaxed);
    if stray != 0 {
        return Err(format!("{stray} frames the receivers could not place"));
    }
    let (last, first) = (Latency::of(&to_last), Latency::of(&to_first));
    let name = match sender {
        Sender::Crvideo(_) => "crvideo-server",
        Sender::Nats(_) => "nats-server",
    };
    let (rate, cpu) = (format!("{rate:.0}"), format!("{cpu:.2}"));
    let row = vec![name.into(), lat(&last), lat(&first), rate, cpu];
    Ok((row, [last.p50_ms, last.p99_ms, first.p50_ms]))
}
