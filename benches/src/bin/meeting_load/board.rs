//! `--mode board`: whiteboard element adds in one meeting of `--members`, with nats-server
//! publish fan-out to as many subscribers as the in-run peer.
//!
//! crvideo: member 0 creates the meeting and a board; every member enters. Members
//! `0..drawers` add pen strokes (150–300 bytes of JSON) to page 0 as fast as they can with
//! at most `--window` adds unacknowledged (`--ack all`: until every other member read the
//! echo; `own`: until the drawer has its own, sent right after the reply), and delete their
//! oldest `--delete-batch` whenever they hold `--keep` (the meeting's 16 MiB). nats-server:
//! `members` connections SUB to one subject; `drawers` more PUB the same strokes (and the
//! deleted IDs) with the same window.
//!
//! After `--board-warmup-secs`, for `--board-secs`: **adds/s delivered** (echoes read by the
//! last member, who does not draw) and acknowledged; the **delay** from just before an add is
//! sent to the last (and the first) other member reading its echo; the slowest member's
//! **lag** in echoes (sampled every 50 ms); the CPU time of the server, this client and the
//! rest of the machine.

use std::fmt::Write as _;
use std::ops::RangeInclusive;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::*};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_nats::{Client, Subscriber};
use crvideo_bench::report::{ratio, Latency, Table};
use crvideo_bench::{cpu_secs, login, machine_busy_secs, nats, BenchResult, Conn as WsConn};
use crvideo_proto::{BoardObj, Request};
use serde_json::json;
use tokio::sync::Notify;
use tokio::task::JoinSet;

use super::{create_meeting, lat, reply, request, Args, Server};
use super::{AGENT, STEP_TIMEOUT};

/// The board everyone draws on (page 0).
const BOARD_ID: &str = "wb";
const SUBJECT: &str = "board";
/// Points of a stroke in this mode: 150–300 bytes of JSON.
const POINTS: RangeInclusive<usize> = 11..=24;
/// Adds of one drawer whose echoes are tracked at once; a reader further behind is an error.
const RING: usize = 1 << 15;
/// How an element ID shows in a crvideo event (the element is a JSON string there) and in
/// a nats payload (the element itself).
const WS_MARKER: &str = r#"elementID\":\""#;
const NATS_MARKER: &str = r#""elementID":""#;
pub(crate) const ELEMENT_EVENT: &str = r#""ev":"element","#;

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

/// Adds `element` to page 0, or deletes elements there.
pub(crate) fn add(element: String) -> Request {
    Request::SetBoardElement {
        board_id: BOARD_ID.into(),
        page_no: 0,
        element,
        modify: false,
    }
}

pub(crate) fn delete(element_ids: Vec<String>) -> Request {
    Request::DelBoardElements {
        board_id: BOARD_ID.into(),
        page_no: 0,
        element_ids,
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
    let id = element_id(author, seq);
    let _ = write!(
        s,
        r#"{{"elementID":"{id}","type":"pen","color":"{color}","width":{width},"points":["#
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
    let (author, rest) = text[at..].strip_prefix('e')?.split_once('.')?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    Some((author.parse().ok()?, rest[..digits].parse().ok()?))
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

/// One tracked add: its seq + 1 (0: none yet), when it was sent, how many of the others have
/// read its echo.
#[derive(Default)]
struct Slot {
    seq1: AtomicU64,
    sent_ns: AtomicU64,
    count: AtomicU32,
}

/// What the members of one run share.
struct Tracker {
    base: Instant,
    args: Args,
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
    /// Per drawer: adds sent, adds whose own echo came back, adds every other member read,
    /// and woken when one of its adds is acknowledged or delivered.
    sent: Vec<AtomicU64>,
    acked: Vec<AtomicU64>,
    delivered: Vec<AtomicU64>,
    wake: Vec<Notify>,
    drawing: AtomicBool,
    /// The first error of a member task.
    error: Mutex<Option<String>>,
}

fn many<T: Default>(n: usize) -> Vec<T> {
    std::iter::repeat_with(T::default).take(n).collect()
}

fn total(counters: &[AtomicU64]) -> u64 {
    counters.iter().map(|c| c.load(Relaxed)).sum()
}

impl Tracker {
    fn new(args: &Args) -> Arc<Tracker> {
        let (members, drawers) = (args.members, args.drawers);
        Arc::new(Tracker {
            base: Instant::now(),
            args: args.clone(),
            receivers: (members - 1) as u32,
            rings: (0..drawers).map(|_| many(RING)).collect(),
            from_ns: AtomicU64::new(u64::MAX),
            to_ns: AtomicU64::new(u64::MAX),
            to_last: Mutex::default(),
            to_first: Mutex::default(),
            received: many(members),
            sent: many(drawers),
            acked: many(drawers),
            delivered: many(drawers),
            wake: many(drawers),
            drawing: AtomicBool::default(),
            error: Mutex::default(),
        })
    }

    fn now_ns(&self) -> u64 {
        self.base.elapsed().as_nanos() as u64
    }

    /// Drawer `d` is about to send add `seq`.
    fn sending(&self, d: usize, seq: u64) -> BenchResult<()> {
        let slot = &self.rings[d][seq as usize % RING];
        if slot.seq1.load(Acquire) != 0 && slot.count.load(Acquire) < self.receivers {
            return Err(format!(
                "a member is more than {RING} adds of drawer {d} behind"
            ));
        }
        slot.count.store(0, Relaxed);
        slot.sent_ns.store(self.now_ns(), Relaxed);
        slot.seq1.store(seq + 1, Release);
        self.sent[d].fetch_add(1, Relaxed);
        Ok(())
    }

    /// Member `me` read the echo of add `seq` of drawer `d`: its own (they come back in
    /// order) or another's.
    fn arrived(&self, me: usize, d: usize, seq: u64) -> BenchResult<()> {
        if d == me {
            let due = self.acked[d].fetch_add(1, Relaxed);
            self.wake[d].notify_one();
            return match seq == due {
                true => Ok(()),
                false => Err(format!("the echo of e{d}.{seq} where e{d}.{due} was due")),
            };
        }
        let now = self.now_ns();
        let slot = self.rings.get(d).map(|ring| &ring[seq as usize % RING]);
        let Some(slot) = slot.filter(|slot| slot.seq1.load(Acquire) == seq + 1) else {
            return Err(format!(
                "member {me}: an echo of e{d}.{seq}, which is not in flight"
            ));
        };
        let sent = slot.sent_ns.load(Relaxed);
        let n = slot.count.fetch_add(1, AcqRel) + 1;
        self.received[me].fetch_add(1, Relaxed);
        if n == self.receivers {
            self.delivered[d].fetch_add(1, Relaxed);
            self.wake[d].notify_one();
        }
        let measured = sent >= self.from_ns.load(Relaxed) && sent < self.to_ns.load(Relaxed);
        let delay = Duration::from_nanos(now.saturating_sub(sent));
        if measured && n == 1 {
            self.to_first.lock().unwrap().push(delay);
        }
        if measured && n == self.receivers {
            self.to_last.lock().unwrap().push(delay);
        }
        Ok(())
    }

    /// The most element echoes any member still has to read of the adds acknowledged so far.
    fn max_lag(&self) -> u64 {
        let lag = |(me, read): (usize, &AtomicU64)| {
            let own = self.acked.get(me).map_or(0, |a| a.load(Relaxed));
            (total(&self.acked) - own).saturating_sub(read.load(Relaxed))
        };
        self.received.iter().enumerate().map(lag).max().unwrap_or(0)
    }

    fn check(&self) -> BenchResult<()> {
        self.error.lock().unwrap().clone().map_or(Ok(()), Err)
    }

    fn fail(&self, e: String) {
        self.error.lock().unwrap().get_or_insert(e);
    }
}

/// A member's connection: crvideo, or a nats publishing connection and (for a member, not
/// a drawer's publisher) its subscription to the board's subject.
enum Conn {
    Ws(WsConn),
    Nats(Client, Option<Subscriber>),
}

impl Conn {
    /// Sends a board request; the nats peer publishes the element, or the deleted IDs.
    async fn send(&mut self, request: Request) -> BenchResult<()> {
        let client = match self {
            Conn::Ws(ws) => return ws.send_request(request).await.map(drop),
            Conn::Nats(client, _) => client,
        };
        let payload = match request {
            Request::SetBoardElement { element, .. } => element,
            Request::DelBoardElements {
                element_ids: ids, ..
            } => json!({ "deleted": ids }).to_string(),
            other => unreachable!("no nats peer of {}", other.op()),
        };
        nats::publish(client, SUBJECT, None, payload.into()).await
    }

    /// What was read: the (drawer, seq) of an element's echo, or None for anything else.
    async fn next(&mut self) -> BenchResult<Option<(usize, u64)>> {
        let within = Duration::from_secs(3600);
        let text = match self {
            Conn::Ws(ws) => ws.next_text(within).await?,
            Conn::Nats(_, subscription) => {
                let subscription = subscription.as_mut().ok_or("a publisher does not read")?;
                let msg = nats::next(subscription, within).await?;
                let text = String::from_utf8_lossy(&msg.payload);
                return Ok(find_element(&text, NATS_MARKER));
            }
        };
        match reply(&text)? {
            Some((re, code)) if code != 0 => Err(format!("request {re} failed with code {code}"))?,
            Some(_) => return Ok(None),
            None if !text.contains(ELEMENT_EVENT) => return Ok(None),
            None => {}
        }
        let found = find_element(&text, WS_MARKER).map(Some);
        found.ok_or_else(|| format!("an element event without a bench ID: {text:?}"))
    }
}

/// Waits until the drawing starts.
async fn started(t: &Tracker) {
    let mut tick = tokio::time::interval(Duration::from_millis(5));
    while !t.drawing.load(Acquire) {
        tick.tick().await;
    }
}

/// Drawer `me`'s turn: deletes its oldest elements if due (those below `deleted` are
/// gone), then adds while the window has room.
async fn draw(conn: &mut Conn, me: usize, deleted: &mut u64, t: &Tracker) -> BenchResult<()> {
    let (a, batch) = (&t.args, t.args.delete_batch as u64);
    if t.acked[me].load(Relaxed) - *deleted >= a.keep as u64 {
        let ids = (*deleted..*deleted + batch).map(|seq| element_id(me, seq));
        conn.send(delete(ids.collect())).await?;
        *deleted += batch;
    }
    let done = match a.ack {
        Ack::All => &t.delivered[me],
        Ack::Own => &t.acked[me],
    };
    loop {
        let seq = t.sent[me].load(Relaxed);
        if seq - done.load(Relaxed) >= a.window as u64 || !t.drawing.load(Acquire) {
            return Ok(());
        }
        t.sending(me, seq)?;
        conn.send(add(stroke(me, seq, POINTS))).await?;
    }
}

/// Member `me` reads everything it is sent. A crvideo drawer (`me < drawers`) also adds and
/// deletes on the same connection, woken by what it reads and by its adds' delivery.
async fn member(mut conn: Conn, me: usize, t: Arc<Tracker>) {
    let (draws, mut deleted) = (me < t.args.drawers && matches!(conn, Conn::Ws(_)), 0);
    if draws {
        started(&t).await;
    }
    let result: BenchResult<()> = async {
        loop {
            let read = match draws {
                true => {
                    draw(&mut conn, me, &mut deleted, &t).await?;
                    // Reading a WebSocket message is cancel-safe: a wake-up loses nothing.
                    tokio::select! {
                        biased;
                        read = conn.next() => read?,
                        _ = t.wake[me].notified() => continue,
                    }
                }
                false => conn.next().await?,
            };
            if let Some((author, seq)) = read {
                t.arrived(me, author, seq)?;
            }
        }
    }
    .await;
    if let Err(e) = result {
        t.fail(format!("member {me}: {e}"));
    }
}

/// A nats drawer's publishing connection (its messages come back on its member's
/// subscription, which wakes it).
async fn publisher(mut conn: Conn, me: usize, t: Arc<Tracker>) {
    let mut deleted = 0;
    started(&t).await;
    loop {
        if let Err(e) = draw(&mut conn, me, &mut deleted, &t).await {
            return t.fail(format!("publisher {me}: {e}"));
        }
        t.wake[me].notified().await;
    }
}

/// A table row, and the numbers of the ratios.
type Measured = (Vec<String>, [f64; 4]);

pub(crate) async fn run(args: &Args) -> BenchResult<()> {
    let strokes = (0..1000).map(|i| stroke(i % args.drawers, i as u64, POINTS).len());
    let mean = strokes.sum::<usize>() as f64 / 1000.0;
    let acked = match args.ack {
        Ack::All => "read by every other member",
        Ack::Own => "echoed back to the drawer",
    };
    println!(
        "\nmeeting_load board: {} members, {} drawing, each with at most {} adds not yet \
         {acked}; {} s warm-up + {} s measured;\n  strokes of {mean:.0} bytes on average, each \
         drawer deletes its oldest {} when it holds {}\n",
        args.members,
        args.drawers,
        args.window,
        args.board_warmup_secs,
        args.board_secs,
        args.delete_batch,
        args.keep
    );
    let table = Table::header(&[
        "server",
        "adds/s delivered to the last member / acknowledged",
        "delay to the last other member p50 / p99 / max ms",
        "to the first p50 / p99 / max ms",
        "slowest member behind at most (echoes)",
        "drained after the stop (ms)",
        "CPU s: server (µs per add) / bench client / rest of the machine",
    ]);
    let mut results = Vec::new();
    for nats in [false, true] {
        if nats && args.nats.skip_nats {
            break;
        }
        let server = Server::start(args, nats)?;
        let result = measure(&Tracker::new(args), &server, nats).await;
        let (row, numbers) = server.stop(result)?;
        table.row(&row);
        results.push(numbers);
    }
    if let [ours, nats] = &results[..] {
        let r = |i: usize| ratio(ours[i], nats[i]);
        println!(
            "\nRatios crvideo/nats: adds/s delivered {:.2} (above 1 is better for crvideo); \
             delay to the last receiver p50 {:.2}, p99 {:.2}; server CPU per add {:.2} (below 1 \
             is better)",
            r(0),
            r(1),
            r(2),
            r(3)
        );
    }
    Ok(())
}

async fn crvideo_members(server: &Server, t: &Arc<Tracker>) -> BenchResult<JoinSet<()>> {
    let mut first = login(server.addr, "m0", AGENT, STEP_TIMEOUT).await?;
    let enter = create_meeting(&mut first, "bench board").await?;
    first.request_ok(enter.clone(), STEP_TIMEOUT).await?;
    let create_board = Request::CreateBoard { board: board_obj() };
    first.request_ok(create_board, STEP_TIMEOUT).await?;
    let mut tasks = JoinSet::new();
    tasks.spawn(member(Conn::Ws(first), 0, t.clone()));
    for i in 1..t.args.members {
        let mut conn = login(server.addr, &format!("m{i}"), AGENT, STEP_TIMEOUT).await?;
        // The reply comes first; the room's events after it are the member task's.
        request(&mut conn, enter.clone()).await?;
        tasks.spawn(member(Conn::Ws(conn), i, t.clone()));
    }
    Ok(tasks)
}

async fn nats_members(server: &Server, t: &Arc<Tracker>) -> BenchResult<JoinSet<()>> {
    let (members, mut tasks) = (t.args.members, JoinSet::new());
    for i in 0..members + t.args.drawers {
        let client = nats::connect(server.addr, STEP_TIMEOUT).await?;
        if i < members {
            let subscription = nats::subscribe(&client, SUBJECT, STEP_TIMEOUT).await?;
            tasks.spawn(member(Conn::Nats(client, Some(subscription)), i, t.clone()));
        } else {
            tasks.spawn(publisher(Conn::Nats(client, None), i - members, t.clone()));
        }
    }
    Ok(tasks)
}

/// The members of one run, then the drawing: started, measured, stopped, and everything
/// sent read. The table row, and adds/s delivered, delay to the last p50 and p99, server CPU
/// µs per add.
async fn measure(t: &Arc<Tracker>, server: &Server, nats: bool) -> BenchResult<Measured> {
    let _tasks = match nats {
        false => crvideo_members(server, t).await?,
        true => nats_members(server, t).await?,
    };
    let (pid, args, me) = (server.pid(), &t.args, std::process::id());
    let counter = &t.received[args.members - 1];
    let cpu = || -> BenchResult<_> { Ok([cpu_secs(pid)?, cpu_secs(me)?, machine_busy_secs()]) };
    t.drawing.store(true, Release);
    let mut sample = tokio::time::interval(Duration::from_millis(50));
    let warm_until = Instant::now() + Duration::from_secs(args.board_warmup_secs);
    while Instant::now() < warm_until {
        sample.tick().await;
        t.check()?;
    }
    t.from_ns.store(t.now_ns(), Relaxed);
    let (started, cpu0) = (Instant::now(), cpu()?);
    let (delivered0, acked0) = (counter.load(Relaxed), total(&t.acked));
    let mut max_lag = 0;
    while started.elapsed() < Duration::from_secs(args.board_secs) {
        sample.tick().await;
        t.check()?;
        max_lag = max_lag.max(t.max_lag());
    }
    t.to_ns.store(t.now_ns(), Relaxed);
    t.drawing.store(false, Release);
    let (secs, cpu1) = (started.elapsed().as_secs_f64(), cpu()?);
    let [server, client, busy]: [f64; 3] = std::array::from_fn(|i| cpu1[i] - cpu0[i]);
    let delivered = (counter.load(Relaxed) - delivered0) as f64 / secs;
    let acked = total(&t.acked) - acked0;
    let stopped = Instant::now();
    while total(&t.acked) != total(&t.sent) || t.max_lag() != 0 {
        t.check()?;
        if stopped.elapsed() > STEP_TIMEOUT {
            let (acked, sent, lag) = (total(&t.acked), total(&t.sent), t.max_lag());
            return Err(format!(
                "{acked} of {sent} adds acknowledged, the slowest member {lag} echoes behind, \
                 {STEP_TIMEOUT:?} after the drawers stopped"
            ));
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let drain_ms = stopped.elapsed().as_secs_f64() * 1e3;
    let to_last = Latency::of(&t.to_last.lock().unwrap());
    let to_first = Latency::of(&t.to_first.lock().unwrap());
    // Each add is `members` frames out.
    let cpu_per_add_us = server * 1e6 / acked.max(1) as f64;
    let other = busy - server - client;
    let row = vec![
        ["crvideo-server", "nats-server"][nats as usize].into(),
        format!("{delivered:.0} / {:.0}", acked as f64 / secs),
        lat(&to_last),
        lat(&to_first),
        max_lag.to_string(),
        format!("{drain_ms:.0}"),
        format!("{server:.2} ({cpu_per_add_us:.1}) / {client:.2} / {other:.2}"),
    ];
    let ratios = [delivered, to_last.p50_ms, to_last.p99_ms, cpu_per_add_us];
    Ok((row, ratios))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strokes_are_elements_of_the_intended_size() {
        for seq in 0..2000 {
            let author = seq as usize % 10;
            let s = stroke(author, seq, POINTS);
            assert!((150..=300).contains(&s.len()), "{} bytes: {s}", s.len());
            let id = crvideo_proto::boards::element_id(&s).unwrap();
            assert_eq!(id, element_id(author, seq));
            assert_eq!(find_element(&s, NATS_MARKER), Some((author, seq)));
            let event = serde_json::json!({ "element": s }).to_string();
            assert_eq!(find_element(&event, WS_MARKER), Some((author, seq)));
        }
    }
}
