//! `--mode board`: whiteboard element adds in one meeting of `--members` members, with
//! nats-server publish fan-out to as many subscribers as the in-run peer.
//!
//! crvideo: member 0 creates the meeting and a board, then every member logs in and enters.
//! Members `0..drawers` draw: each adds pen strokes (JSON of 150–300 bytes) to page 0 of
//! the board as fast as it can with at most `--window` adds unacknowledged. With `--ack all`
//! (the default) an add is acknowledged once every other member has read its echo; with
//! `--ack own`, once the drawer has its own echo (the server echoes every element to every
//! member, the operator included, right after the reply). A reply with an error code ends
//! the run. To stay under the meeting's 16 MiB of element JSON, a drawer deletes its oldest
//! `--delete-batch` elements (one `del_board_elements`) whenever it holds `--keep`.
//!
//! After `--board-warmup-secs`, for `--board-secs`:
//! - **adds/s delivered**: element echoes read by the last member (who does not draw) over
//!   the interval, and adds/s whose own echo reached the drawer (the rate the server applied);
//! - **delay**: from just before a drawer sends an add to the moment the last (and the first)
//!   of the other `members - 1` members has read its echo, for the adds sent in the interval;
//! - **receiver lag**: the most element echoes any member was behind the adds applied
//!   (sampled every 50 ms): how far the slowest reader trails (the server ends a session
//!   with 1,024 frames queued for it);
//! - CPU time of the server, of this client and of everything else on the machine.
//!
//! nats-server: `members` connections SUB to one subject; `drawers` more PUB the same strokes
//! (and, in place of the deletes, a message listing the deleted IDs) with the same window, a
//! message being acknowledged when every other subscriber has read it (`--ack all`) or when
//! it came back to its drawer's subscription (`--ack own`).

use std::fmt::Write as _;
use std::net::SocketAddr;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::{Client, Subscriber};
use crvideo_bench::report::{ratio, Latency};
use crvideo_bench::{
    cpu_secs, log_tail, login, machine_busy_secs, nats, start_crvideo_with_tenant, start_nats,
    stop_child, BenchResult, Conn as WsConn, TempDir,
};
use crvideo_proto::{BoardObj, MeetInfo, Reply, Request, ServerFrame};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::{Args, AGENT, STEP_TIMEOUT};

/// The board everyone draws on (page 0).
pub(crate) const BOARD_ID: &str = "wb";
const NATS_SUBJECT: &str = "board";
/// Points of a stroke in this mode: 150–300 bytes of JSON.
const STROKE_POINTS: RangeInclusive<usize> = 11..=24;
/// Adds of one drawer whose echoes are tracked at once; a reader further behind is an error.
const RING: usize = 1 << 15;
/// How an element ID shows in a crvideo event (the element is a JSON string there) and in
/// a nats payload (the element itself).
const WS_MARKER: &str = r#"elementID\":\""#;
const NATS_MARKER: &str = r#""elementID":""#;

/// The board of the bench: 1 page of 1920 × 1080.
pub(crate) fn board_obj() -> BoardObj {
    BoardObj {
        board_id: BOARD_ID.into(),
        title: "bench".into(),
        width: 1920,
        height: 1080,
        page_count: 1,
    }
}

/// The ID of element `seq` of author `author`.
pub(crate) fn element_id(author: usize, seq: u64) -> String {
    format!("e{author}.{seq}")
}

/// A pen stroke as a drawing app would store it: ID, colour, width and `points` (a number in
/// that range, from the ID) x,y pairs of a random walk. Deterministic, so crvideo and the
/// peer carry the same bytes.
pub(crate) fn stroke(author: usize, seq: u64, points: RangeInclusive<usize>) -> String {
    // splitmix64
    let mut state = ((author as u64) << 40) ^ seq;
    let mut next = move || {
        state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    };
    let span = (points.end() - points.start() + 1) as u64;
    let n = points.start() + (next() % span) as usize;
    const COLORS: [&str; 5] = ["#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#222222"];
    let color = COLORS[(next() % COLORS.len() as u64) as usize];
    let width = 1 + next() % 8;
    // Kept off the edges so that a point is 8-9 bytes and a stroke's size follows `n`.
    let (mut x, mut y) = (100 + (next() % 1800) as i64, 100 + (next() % 900) as i64);
    let mut s = String::with_capacity(80 + 10 * n);
    let _ = write!(
        s,
        r#"{{"elementID":"{}","type":"pen","color":"{color}","width":{width},"points":["#,
        element_id(author, seq)
    );
    for i in 0..n {
        x = (x + (next() % 41) as i64 - 20).clamp(100, 1899);
        y = (y + (next() % 41) as i64 - 20).clamp(100, 999);
        let _ = write!(s, "{}{x},{y}", if i == 0 { "" } else { "," });
    }
    s.push_str("]}");
    s
}

/// The (author, seq) of the element ID `e<author>.<seq>` right after `marker` in `text`.
fn find_element(text: &str, marker: &str) -> Option<(usize, u64)> {
    let at = text.find(marker)? + marker.len();
    let rest = text[at..].strip_prefix('e')?;
    let (author, rest) = rest.split_once('.')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    Some((author.parse().ok()?, rest[..digits].parse().ok()?))
}

/// Whether a crvideo frame is a reply (the tag is serialised first).
pub(crate) fn is_reply(text: &str) -> bool {
    text.starts_with(r#"{"t":"reply""#)
}

/// A reply's code (0 is success); the data is left undecoded when there is none.
pub(crate) fn reply_code(text: &str) -> BenchResult<(u64, i32)> {
    match crvideo_proto::decode::<ServerFrame>(text) {
        Ok(ServerFrame::Reply(Reply { re, code, .. })) => Ok((re, code)),
        _ => Err(format!("odd reply {text:?}")),
    }
}

/// One tracked add: when it was sent and how many of the others have read its echo.
struct Slot {
    seq: AtomicU64,
    sent_ns: AtomicU64,
    count: AtomicU32,
}

/// Phases of a run, as the drawers see them.
const WAITING: u8 = 0;
const DRAWING: u8 = 1;
const STOPPED: u8 = 2;

/// What the members of one run share.
struct Tracker {
    base: Instant,
    /// Members that read each add's echo, the drawer excluded.
    receivers: u32,
    /// Per drawer, its last [`RING`] adds.
    rings: Vec<Vec<Slot>>,
    /// Adds sent in `[from, to)` (ns since `base`) are the measured ones.
    from_ns: AtomicU64,
    to_ns: AtomicU64,
    to_last: Mutex<Vec<Duration>>,
    to_first: Mutex<Vec<Duration>>,
    /// Per member: element echoes of the others' adds read.
    received: Vec<AtomicU64>,
    /// Per drawer: adds sent, adds whose own echo came back, and adds every other member
    /// has read.
    sent: Vec<AtomicU64>,
    acked: Vec<AtomicU64>,
    delivered: Vec<AtomicU64>,
    /// Per drawer: woken when one of its adds is acknowledged or delivered.
    wake: Vec<Notify>,
    phase: AtomicU8,
    /// The first error of a member task.
    error: Mutex<Option<String>>,
}

impl Tracker {
    fn new(members: usize, drawers: usize) -> Arc<Tracker> {
        let ring = || {
            (0..RING)
                .map(|_| Slot {
                    seq: AtomicU64::new(u64::MAX),
                    sent_ns: AtomicU64::new(0),
                    count: AtomicU32::new(0),
                })
                .collect()
        };
        let counters = |n: usize| (0..n).map(|_| AtomicU64::new(0)).collect();
        Arc::new(Tracker {
            base: Instant::now(),
            receivers: (members - 1) as u32,
            rings: (0..drawers).map(|_| ring()).collect(),
            from_ns: AtomicU64::new(u64::MAX),
            to_ns: AtomicU64::new(u64::MAX),
            to_last: Mutex::new(Vec::new()),
            to_first: Mutex::new(Vec::new()),
            received: counters(members),
            sent: counters(drawers),
            acked: counters(drawers),
            delivered: counters(drawers),
            wake: (0..drawers).map(|_| Notify::new()).collect(),
            phase: AtomicU8::new(WAITING),
            error: Mutex::new(None),
        })
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Drawer `d` is about to send add `seq`.
    fn sending(&self, d: usize, seq: u64) -> BenchResult<()> {
        let slot = &self.rings[d][seq as usize % RING];
        if slot.seq.load(Ordering::Acquire) != u64::MAX
            && slot.count.load(Ordering::Acquire) < self.receivers
        {
            return Err(format!(
                "a member is more than {RING} adds of drawer {d} behind"
            ));
        }
        slot.count.store(0, Ordering::Relaxed);
        slot.sent_ns.store(self.now_ns(), Ordering::Relaxed);
        slot.seq.store(seq, Ordering::Release);
        self.sent[d].fetch_add(1, Ordering::Relaxed);
        Ok(())
    }

    /// Drawer `d` read the echo of its own add `seq` (they come back in order).
    fn own_echo(&self, d: usize, seq: u64) -> BenchResult<()> {
        let expected = self.acked[d].fetch_add(1, Ordering::Relaxed);
        if seq != expected {
            return Err(format!(
                "the echo of e{d}.{seq} where e{d}.{expected} was due"
            ));
        }
        self.wake[d].notify_one();
        Ok(())
    }

    /// Member `me` read the echo of add `seq` of drawer `d` (not its own).
    fn arrived(&self, me: usize, d: usize, seq: u64) -> BenchResult<()> {
        let now = self.now_ns();
        let slot = self
            .rings
            .get(d)
            .map(|ring| &ring[seq as usize % RING])
            .filter(|slot| slot.seq.load(Ordering::Acquire) == seq)
            .ok_or_else(|| format!("member {me}: an echo of e{d}.{seq}, which is not in flight"))?;
        let sent = slot.sent_ns.load(Ordering::Relaxed);
        let n = slot.count.fetch_add(1, Ordering::AcqRel) + 1;
        self.received[me].fetch_add(1, Ordering::Relaxed);
        if n == self.receivers {
            self.delivered[d].fetch_add(1, Ordering::Relaxed);
            self.wake[d].notify_one();
        }
        let measured = sent >= self.from_ns.load(Ordering::Relaxed)
            && sent < self.to_ns.load(Ordering::Relaxed);
        if measured {
            let delay = Duration::from_nanos(now.saturating_sub(sent));
            if n == 1 {
                self.to_first.lock().unwrap().push(delay);
            }
            if n == self.receivers {
                self.to_last.lock().unwrap().push(delay);
            }
        }
        Ok(())
    }

    fn fail(&self, e: String) {
        self.error.lock().unwrap().get_or_insert(e);
    }

    fn total(counters: &[AtomicU64]) -> u64 {
        counters.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    /// Element echoes member `me` still has to read of the adds acknowledged so far.
    fn lag(&self, me: usize) -> u64 {
        let own = self.acked.get(me).map_or(0, |a| a.load(Ordering::Relaxed));
        let expected = Tracker::total(&self.acked) - own;
        expected.saturating_sub(self.received[me].load(Ordering::Relaxed))
    }
}

/// A member's connection: crvideo or nats.
enum Conn {
    Ws(WsConn),
    /// A publishing connection, and a member's subscription to the board's subject.
    Nats(Client, Option<Subscriber>),
}

/// What a member read.
enum Incoming {
    /// The echo of element `seq` of drawer `author`.
    Element(usize, u64),
    Other,
}

impl Conn {
    async fn add(&mut self, element: String) -> BenchResult<()> {
        match self {
            Conn::Ws(ws) => {
                ws.send_request(Request::SetBoardElement {
                    board_id: BOARD_ID.into(),
                    page_no: 0,
                    element,
                    modify: false,
                })
                .await?;
            }
            Conn::Nats(client, _) => {
                nats::publish(client, NATS_SUBJECT, None, element.into()).await?;
            }
        }
        Ok(())
    }

    async fn delete(&mut self, element_ids: Vec<String>) -> BenchResult<()> {
        match self {
            Conn::Ws(ws) => {
                ws.send_request(Request::DelBoardElements {
                    board_id: BOARD_ID.into(),
                    page_no: 0,
                    element_ids,
                })
                .await?;
            }
            Conn::Nats(client, _) => {
                let payload = serde_json::json!({ "deleted": element_ids }).to_string();
                nats::publish(client, NATS_SUBJECT, None, payload.into()).await?;
            }
        }
        Ok(())
    }

    async fn next(&mut self) -> BenchResult<Incoming> {
        let within = Duration::from_secs(3600);
        match self {
            Conn::Ws(ws) => {
                let text = ws.next_text(within).await?;
                if is_reply(&text) {
                    let (re, code) = reply_code(&text)?;
                    if code != 0 {
                        return Err(format!("request {re} failed with code {code}"));
                    }
                    return Ok(Incoming::Other);
                }
                if !text.contains(r#""ev":"element","#) {
                    return Ok(Incoming::Other);
                }
                find_element(&text, WS_MARKER)
                    .map(|(a, seq)| Incoming::Element(a, seq))
                    .ok_or_else(|| format!("an element event without a bench ID: {text:?}"))
            }
            Conn::Nats(_, subscription) => {
                let subscription = subscription.as_mut().ok_or("a publisher does not read")?;
                let msg = nats::next(subscription, within).await?;
                let payload = String::from_utf8_lossy(&msg.payload);
                Ok(find_element(&payload, NATS_MARKER)
                    .map_or(Incoming::Other, |(a, seq)| Incoming::Element(a, seq)))
            }
        }
    }
}
/// When a drawer's add stops counting against its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Ack {
    /// When every other member has read its echo (the default: no member falls behind by
    /// more than the drawers' windows together).
    All,
    /// When the drawer's own echo is back (right after the reply): the server's pace, but a
    /// member that reads more slowly than the others falls behind without bound.
    Own,
}

struct DrawArgs {
    drawers: usize,
    window: usize,
    ack: Ack,
    keep: usize,
    delete_batch: usize,
}

/// A drawer's adds and deletes, sent on `conn`: the member's own connection (crvideo) or a
/// publishing connection next to the member's subscription (nats).
struct Drawer {
    me: usize,
    next_seq: u64,
    /// Elements below this one are deleted.
    deleted: u64,
}

impl Drawer {
    /// Waits until the drawing starts.
    async fn start(t: &Tracker) {
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        while t.phase.load(Ordering::Acquire) == WAITING {
            tick.tick().await;
        }
    }

    /// Deletes the oldest elements if due, then adds while the window has room.
    async fn step(&mut self, conn: &mut Conn, a: &DrawArgs, t: &Tracker) -> BenchResult<()> {
        let me = self.me;
        let acked = t.acked[me].load(Ordering::Relaxed);
        if acked - self.deleted >= a.keep as u64 {
            let ids = (self.deleted..self.deleted + a.delete_batch as u64)
                .map(|seq| element_id(me, seq))
                .collect();
            conn.delete(ids).await?;
            self.deleted += a.delete_batch as u64;
        }
        loop {
            let done = match a.ack {
                Ack::All => &t.delivered[me],
                Ack::Own => &t.acked[me],
            };
            let in_flight = self.next_seq - done.load(Ordering::Relaxed);
            if in_flight >= a.window as u64 || t.phase.load(Ordering::Acquire) != DRAWING {
                return Ok(());
            }
            t.sending(me, self.next_seq)?;
            conn.add(stroke(me, self.next_seq, STROKE_POINTS)).await?;
            self.next_seq += 1;
        }
    }
}

/// Member `me` reads everything it is sent. A crvideo drawer (`me < drawers`) also adds and
/// deletes on the same connection, woken by what it reads and by its adds' delivery.
async fn member(mut conn: Conn, me: usize, a: Arc<DrawArgs>, t: Arc<Tracker>) {
    if let Err(e) = member_loop(&mut conn, me, &a, &t).await {
        t.fail(format!("member {me}: {e}"));
    }
}

async fn member_loop(conn: &mut Conn, me: usize, a: &DrawArgs, t: &Tracker) -> BenchResult<()> {
    let mut drawer = (me < a.drawers && matches!(conn, Conn::Ws(_))).then_some(Drawer {
        me,
        next_seq: 0,
        deleted: 0,
    });
    if drawer.is_some() {
        Drawer::start(t).await;
    }
    loop {
        let incoming = match drawer.as_mut() {
            Some(d) => {
                d.step(conn, a, t).await?;
                // Reading a WebSocket message is cancel-safe: a wake-up loses nothing.
                tokio::select! {
                    biased;
                    incoming = conn.next() => incoming?,
                    _ = t.wake[me].notified() => continue,
                }
            }
            None => conn.next().await?,
        };
        match incoming {
            Incoming::Element(author, seq) if author == me => t.own_echo(me, seq)?,
            Incoming::Element(author, seq) => t.arrived(me, author, seq)?,
            Incoming::Other => {}
        }
    }
}

/// A nats drawer's publishing connection (its messages come back on its member's
/// subscription, which wakes it).
async fn publisher(mut conn: Conn, me: usize, a: Arc<DrawArgs>, t: Arc<Tracker>) {
    let mut d = Drawer {
        me,
        next_seq: 0,
        deleted: 0,
    };
    Drawer::start(&t).await;
    loop {
        if let Err(e) = d.step(&mut conn, &a, &t).await {
            t.fail(format!("publisher {me}: {e}"));
            return;
        }
        t.wake[me].notified().await;
    }
}

#[derive(Debug, Default)]
struct BoardResult {
    /// Echoes read by the counting member per second of the interval.
    delivered_per_sec: f64,
    /// Adds acknowledged to the drawers per second of the interval.
    acked_per_sec: f64,
    /// Adds acknowledged to the drawers over the interval.
    acked: u64,
    to_last: Latency,
    to_first: Latency,
    max_lag: u64,
    server_cpu_secs: f64,
    client_cpu_secs: f64,
    /// CPU time the rest of the machine used meanwhile (other work on the same cores).
    other_cpu_secs: f64,
    /// How long the members took to read the last echoes once the drawers stopped.
    drain: Duration,
}

pub(crate) async fn run(args: &Args) -> BenchResult<()> {
    let mean = (0..1000)
        .map(|i| stroke(i % args.drawers, i as u64, STROKE_POINTS).len())
        .sum::<usize>() as f64
        / 1000.0;
    let acked = match args.ack {
        Ack::All => "read by every other member",
        Ack::Own => "echoed back to the drawer",
    };
    println!(
        "meeting_load board: {} members, {} drawing, each with at most {} adds not yet {acked}; \
         {} s warm-up + {} s measured;\n  strokes of {mean:.0} bytes on average, each drawer \
         deletes its oldest {} when it holds {}",
        args.members,
        args.drawers,
        args.window,
        args.board_warmup_secs,
        args.board_secs,
        args.delete_batch,
        args.keep
    );
    let ours = run_crvideo(args).await?;
    print_result("crvideo-server", &ours);
    if args.nats.skip_nats {
        return Ok(());
    }
    let nats = run_nats(args).await?;
    print_result("nats-server", &nats);
    println!(
        "\nRatios crvideo/nats: adds/s delivered {:.2} (above 1 is better for crvideo); \
         delay to the last receiver p50 {:.2}, p99 {:.2}; server CPU per add {:.2} (below 1 \
         is better)",
        ratio(ours.delivered_per_sec, nats.delivered_per_sec),
        ratio(ours.to_last.p50_ms, nats.to_last.p50_ms),
        ratio(ours.to_last.p99_ms, nats.to_last.p99_ms),
        ratio(cpu_per_add_us(&ours), cpu_per_add_us(&nats)),
    );
    Ok(())
}

/// Server CPU time per acknowledged add (each add is `members` frames out), in µs.
fn cpu_per_add_us(r: &BoardResult) -> f64 {
    r.server_cpu_secs * 1e6 / r.acked.max(1) as f64
}

fn print_result(name: &str, r: &BoardResult) {
    println!("\n{name}:");
    println!(
        "  {:.0} adds/s delivered to the last member ({:.0}/s acknowledged to the drawers)",
        r.delivered_per_sec, r.acked_per_sec
    );
    println!(
        "  delay send -> last of the other members: p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        r.to_last.p50_ms, r.to_last.p99_ms, r.to_last.max_ms
    );
    println!(
        "  delay send -> first of the other members: p50 {:.3} ms, p99 {:.3} ms",
        r.to_first.p50_ms, r.to_first.p99_ms
    );
    println!(
        "  slowest member at most {} echoes behind; drained {:.0} ms after the drawers stopped",
        r.max_lag,
        r.drain.as_secs_f64() * 1e3
    );
    println!(
        "  CPU over the measured interval: server {:.2} s ({:.1} µs per add), bench client \
         {:.2} s, the rest of the machine {:.2} s",
        r.server_cpu_secs,
        cpu_per_add_us(r),
        r.client_cpu_secs,
        r.other_cpu_secs
    );
}

fn draw_args(args: &Args) -> Arc<DrawArgs> {
    Arc::new(DrawArgs {
        drawers: args.drawers,
        window: args.window,
        ack: args.ack,
        keep: args.keep,
        delete_batch: args.delete_batch,
    })
}

async fn run_crvideo(args: &Args) -> BenchResult<BoardResult> {
    let dir = TempDir::new("meeting-board")?;
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
            warnings_then_tail(&dir.path().join("server.log"))
        )
    })
}

async fn crvideo_phases(args: &Args, pid: u32, addr: SocketAddr) -> BenchResult<BoardResult> {
    let mut first = login(addr, "m0", AGENT, STEP_TIMEOUT).await?;
    let meeting: MeetInfo = first
        .request_ok(
            Request::CreateMeeting {
                subject: "bench board".into(),
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
    first.request_ok(enter.clone(), STEP_TIMEOUT).await?;
    first
        .request_ok(Request::CreateBoard { board: board_obj() }, STEP_TIMEOUT)
        .await
        .map_err(|e| format!("create_board: {e}"))?;
    let t = Tracker::new(args.members, args.drawers);
    let a = draw_args(args);
    let mut tasks = vec![tokio::spawn(member(
        Conn::Ws(first),
        0,
        a.clone(),
        t.clone(),
    ))];
    for i in 1..args.members {
        let mut conn = login(addr, &format!("m{i}"), AGENT, STEP_TIMEOUT).await?;
        // The reply comes first; the room's events after it are the member task's.
        let id = conn.send_request(enter.clone()).await?;
        loop {
            let text = conn.next_text(STEP_TIMEOUT).await?;
            if is_reply(&text) {
                match reply_code(&text)? {
                    (re, 0) if re == id => break,
                    (re, code) => return Err(format!("enter_meeting {re}: code {code}")),
                }
            }
        }
        tasks.push(tokio::spawn(member(
            Conn::Ws(conn),
            i,
            a.clone(),
            t.clone(),
        )));
    }
    measure(args, &t, pid, tasks).await
}

/// Starts the drawers, measures, stops them and waits until everything sent was read.
async fn measure(
    args: &Args,
    t: &Arc<Tracker>,
    pid: u32,
    tasks: Vec<JoinHandle<()>>,
) -> BenchResult<BoardResult> {
    let me = std::process::id();
    let counter = args.members - 1;
    let check = || match t.error.lock().unwrap().clone() {
        Some(e) => Err(e),
        None => Ok(()),
    };
    t.phase.store(DRAWING, Ordering::Release);
    let mut max_lag = 0;
    let mut sample = tokio::time::interval(Duration::from_millis(50));
    let warm_until = Instant::now() + Duration::from_secs(args.board_warmup_secs);
    while Instant::now() < warm_until {
        sample.tick().await;
        check()?;
    }
    t.from_ns.store(t.now_ns(), Ordering::Relaxed);
    let started = Instant::now();
    let (cpu0, client0, busy0) = (cpu_secs(pid)?, cpu_secs(me)?, machine_busy_secs());
    let (delivered0, acked0) = (
        t.received[counter].load(Ordering::Relaxed),
        Tracker::total(&t.acked),
    );
    let until = started + Duration::from_secs(args.board_secs);
    while Instant::now() < until {
        sample.tick().await;
        check()?;
        max_lag = max_lag.max((0..args.members).map(|m| t.lag(m)).max().unwrap_or(0));
    }
    t.to_ns.store(t.now_ns(), Ordering::Relaxed);
    t.phase.store(STOPPED, Ordering::Release);
    let secs = started.elapsed().as_secs_f64();
    let (cpu1, client1, busy1) = (cpu_secs(pid)?, cpu_secs(me)?, machine_busy_secs());
    let (delivered1, acked1) = (
        t.received[counter].load(Ordering::Relaxed),
        Tracker::total(&t.acked),
    );
    let stopped = Instant::now();
    let drained = loop {
        check()?;
        let all_acked = Tracker::total(&t.acked) == Tracker::total(&t.sent);
        if all_acked && (0..args.members).all(|m| t.lag(m) == 0) {
            break stopped.elapsed();
        }
        if stopped.elapsed() > STEP_TIMEOUT {
            return Err(format!(
                "{} of {} adds acknowledged, the slowest member {} echoes behind, {STEP_TIMEOUT:?} \
                 after the drawers stopped",
                Tracker::total(&t.acked),
                Tracker::total(&t.sent),
                (0..args.members).map(|m| t.lag(m)).max().unwrap_or(0)
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    for task in &tasks {
        task.abort();
    }
    let to_last = Latency::of(&t.to_last.lock().unwrap());
    let to_first = Latency::of(&t.to_first.lock().unwrap());
    Ok(BoardResult {
        delivered_per_sec: (delivered1 - delivered0) as f64 / secs,
        acked_per_sec: (acked1 - acked0) as f64 / secs,
        acked: acked1 - acked0,
        to_last,
        to_first,
        max_lag,
        server_cpu_secs: cpu1 - cpu0,
        client_cpu_secs: client1 - client0,
        other_cpu_secs: (busy1 - busy0) - (cpu1 - cpu0) - (client1 - client0),
        drain: drained,
    })
}

async fn run_nats(args: &Args) -> BenchResult<BoardResult> {
    let dir = TempDir::new("meeting-board-nats")?;
    let (mut nats, addr) = start_nats(&args.nats.nats_bin, dir.path())?;
    let result = nats_phases(args, nats.pid(), addr).await;
    let stopped = stop_child(&mut nats);
    result.map_err(|e| format!("nats-server: {e} ({stopped})"))
}

async fn nats_phases(args: &Args, pid: u32, addr: SocketAddr) -> BenchResult<BoardResult> {
    let t = Tracker::new(args.members, args.drawers);
    let a = draw_args(args);
    let mut tasks = Vec::with_capacity(args.members);
    for i in 0..args.members {
        let conn = nats::connect(addr, STEP_TIMEOUT).await?;
        let subscription = nats::subscribe(&conn, NATS_SUBJECT, STEP_TIMEOUT).await?;
        tasks.push(tokio::spawn(member(
            Conn::Nats(conn, Some(subscription)),
            i,
            a.clone(),
            t.clone(),
        )));
    }
    for i in 0..args.drawers {
        let conn = nats::connect(addr, STEP_TIMEOUT).await?;
        tasks.push(tokio::spawn(publisher(
            Conn::Nats(conn, None),
            i,
            a.clone(),
            t.clone(),
        )));
    }
    measure(args, &t, pid, tasks).await
}

/// The first warnings of a server log (a member dropped for not reading, ...), then its tail.
fn warnings_then_tail(log: &std::path::Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let warnings: Vec<&str> = text
        .lines()
        .filter(|l| l.contains(" WARN ") || l.contains(" ERROR "))
        .take(5)
        .collect();
    format!("{}\n...\n{}", warnings.join("\n"), log_tail(log, 10))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strokes_are_elements_of_the_intended_size() {
        for seq in 0..2000 {
            let s = stroke(seq as usize % 10, seq, STROKE_POINTS);
            assert!((150..=300).contains(&s.len()), "{} bytes: {s}", s.len());
            let id = crvideo_proto::boards::element_id(&s).unwrap();
            assert_eq!(id, element_id(seq as usize % 10, seq));
            assert_eq!(
                find_element(&s, NATS_MARKER),
                Some((seq as usize % 10, seq))
            );
            let event = serde_json::json!({ "element": s }).to_string();
            assert_eq!(
                find_element(&event, WS_MARKER),
                Some((seq as usize % 10, seq))
            );
        }
    }
}
