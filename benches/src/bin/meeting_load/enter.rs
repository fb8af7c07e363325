//! `--mode enter`: a late joiner entering a meeting whose board holds `--elements` elements
//! (pen strokes of about 200 bytes), crvideo-server only.
//!
//! The late joiner (the `members`-th user) does `--cycles` rounds of `enter_meeting` then
//! `exit_meeting` into, in this order:
//! 1. an empty meeting (nobody in it, no board): the cheapest entry;
//! 2. a meeting of `members - 1` members without a board;
//! 3. the same meeting after member 0 opened a board and added the elements (with at most
//!    `--window` adds unacknowledged, the other members reading every echo; the fill rate is
//!    printed too).
//!
//! **Enter latency**: `enter_meeting` sent → its reply read off the socket (a text frame,
//! not yet decoded). Also: the reply's size, and how long the client takes to decode it
//! into a `RoomState` (text → `ServerFrame` → `RoomState`, as the SDK's protocol crate
//! does), outside the latency.
//!
//! **Deletes**: then the joiner enters once more and deletes the oldest half of the elements
//! in one `del_board_elements` (each ID at the front of the page's order), then the other
//! half newest first (each at the back): the time to each reply.
//!
//! **Other rooms meanwhile**: a probe user alone in another meeting sends `send_im` round
//! trips back to back (1 ms apart) throughout; its round trips overlapping each phase show
//! whether the phase holds up the server's other rooms (every room request takes the one
//! rooms lock, under which the entrant's reply is built and board requests are applied).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crvideo_bench::report::Latency;
use crvideo_bench::{
    cpu_secs, log_tail, login, start_crvideo_with_tenant, stop_child, BenchResult, Conn, TempDir,
};
use crvideo_proto::{encode, MeetInfo, Reply, Request, RoomState, ServerFrame};

use super::board::{board_obj, element_id, is_reply, reply_code, stroke, BOARD_ID};
use super::{Args, AGENT, STEP_TIMEOUT};

/// Points of a stroke in this mode: about 200 bytes of JSON.
const POINTS: std::ops::RangeInclusive<usize> = 13..=15;

/// One phase of enter/exit cycles.
#[derive(Debug, Default)]
struct Cycles {
    enter: Latency,
    reply_bytes: usize,
    decode: Latency,
    /// Server CPU per cycle (enter + exit, and the probe's requests meanwhile).
    server_cpu_us: f64,
    /// When the phase ran (the probe's round trips overlapping it are read once the probe
    /// has stopped: one held up by the phase ends after it).
    window: Option<(Instant, Instant)>,
    /// The room as the last entry's reply showed it.
    state: RoomState,
}

/// The probe's round trips: (sent, ns since the probe's start; round trip).
struct Probe {
    base: Instant,
    samples: Mutex<Vec<(u64, Duration)>>,
    stop: AtomicBool,
    error: Mutex<Option<String>>,
}

impl Probe {
    /// The round trips that overlap `from..to`.
    fn during(&self, from: Instant, to: Instant) -> (Latency, usize) {
        let (from, to) = (
            from.duration_since(self.base).as_nanos() as u64,
            to.duration_since(self.base).as_nanos() as u64,
        );
        let samples: Vec<Duration> = self
            .samples
            .lock()
            .unwrap()
            .iter()
            .filter(|&&(at, rtt)| at < to && at + rtt.as_nanos() as u64 > from)
            .map(|&(_, rtt)| rtt)
            .collect();
        (Latency::of(&samples), samples.len())
    }
}

async fn probe_loop(mut conn: Conn, p: Arc<Probe>) {
    while !p.stop.load(Ordering::Relaxed) {
        let at = p.base.elapsed().as_nanos() as u64;
        let t0 = Instant::now();
        let sent = conn
            .request_ok(
                Request::SendIm {
                    text: "p".into(),
                    to: String::new(),
                },
                STEP_TIMEOUT,
            )
            .await;
        if let Err(e) = sent {
            p.error.lock().unwrap().get_or_insert(format!("probe: {e}"));
            return;
        }
        p.samples.lock().unwrap().push((at, t0.elapsed()));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

pub(crate) async fn run(args: &Args) -> BenchResult<()> {
    let mean = (0..1000).map(|i| stroke(0, i, POINTS).len()).sum::<usize>() as f64 / 1000.0;
    println!(
        "meeting_load enter: a late joiner, {} enter/exit cycles per phase; the board: {} \
         strokes of {mean:.0} bytes on average, added with at most {} unacknowledged",
        args.cycles, args.elements, args.window
    );
    let dir = TempDir::new("meeting-enter")?;
    let config = format!(
        "heartbeat_ms = 30000\nmax_meeting_members = {}",
        args.members
    );
    let (mut server, addr) =
        start_crvideo_with_tenant(&args.server.server_bin, dir.path(), &config, "")?;
    let result = phases(args, server.pid(), addr).await;
    let stopped = stop_child(&mut server);
    result.map_err(|e| {
        format!(
            "crvideo-server: {e}\n({stopped}; last lines of its log:)\n{}",
            log_tail(&dir.path().join("server.log"), 20)
        )
    })
}

async fn create_meeting(conn: &mut Conn, subject: &str) -> BenchResult<i32> {
    let meeting: MeetInfo = conn
        .request_ok(
            Request::CreateMeeting {
                subject: subject.into(),
                with_password: false,
            },
            STEP_TIMEOUT,
        )
        .await?
        .into_result()
        .map_err(|code| format!("create_meeting: code {code}"))?;
    Ok(meeting.id)
}

fn enter(meet_id: i32) -> Request {
    Request::EnterMeeting {
        meet_id,
        pswd: String::new(),
    }
}

/// Sends `request` and reads up to its reply (skipping events): the reply's text.
async fn reply_text(conn: &mut Conn, request: Request) -> BenchResult<String> {
    let op = request.op();
    let id = conn.send_request(request).await?;
    loop {
        let text = conn.next_text(STEP_TIMEOUT).await?;
        if is_reply(&text) {
            return match reply_code(&text)? {
                (re, 0) if re == id => Ok(text),
                (re, code) => Err(format!("{op} {re}: code {code}")),
            };
        }
    }
}

/// A member that only reads: counts the element events it gets.
async fn reader(mut conn: Conn, elements: Arc<AtomicU64>) {
    while let Ok(text) = conn.next_text(Duration::from_secs(3600)).await {
        if text.contains(r#""ev":"element","#) {
            elements.fetch_add(1, Ordering::Relaxed);
        }
    }
}

async fn phases(args: &Args, pid: u32, addr: SocketAddr) -> BenchResult<()> {
    let mut probe_conn = login(addr, "probe", AGENT, STEP_TIMEOUT).await?;
    let probe_room = create_meeting(&mut probe_conn, "probe").await?;
    probe_conn
        .request_ok(enter(probe_room), STEP_TIMEOUT)
        .await?;
    let probe = Arc::new(Probe {
        base: Instant::now(),
        samples: Mutex::new(Vec::new()),
        stop: AtomicBool::new(false),
        error: Mutex::new(None),
    });
    let probe_task = tokio::spawn(probe_loop(probe_conn, probe.clone()));

    let last = args.members - 1;
    let mut joiner = login(addr, &format!("m{last}"), AGENT, STEP_TIMEOUT).await?;
    let empty = create_meeting(&mut joiner, "empty").await?;
    let into_empty = cycles(args, &mut joiner, empty, 1, 0, pid).await?;

    let mut first = login(addr, "m0", AGENT, STEP_TIMEOUT).await?;
    let meet_id = create_meeting(&mut first, "bench board").await?;
    first.request_ok(enter(meet_id), STEP_TIMEOUT).await?;
    let mut readers = Vec::new();
    let mut counts = Vec::new();
    for i in 1..last {
        let mut conn = login(addr, &format!("m{i}"), AGENT, STEP_TIMEOUT).await?;
        reply_text(&mut conn, enter(meet_id)).await?;
        let count = Arc::new(AtomicU64::new(0));
        readers.push(tokio::spawn(reader(conn, count.clone())));
        counts.push(count);
    }
    let no_board = cycles(args, &mut joiner, meet_id, last + 1, 0, pid).await?;

    // The board: member 0 adds the elements, the others read every echo.
    reply_text(&mut first, Request::CreateBoard { board: board_obj() }).await?;
    let started = Instant::now();
    let (mut sent, mut replied, mut bytes, mut echoes) = (0, 0, 0, 0);
    let mut pending = std::collections::HashSet::new();
    while replied < args.elements {
        while sent < args.elements && pending.len() < args.window {
            let element = stroke(0, sent as u64, POINTS);
            bytes += element.len();
            let id = first
                .send_request(Request::SetBoardElement {
                    board_id: BOARD_ID.into(),
                    page_no: 0,
                    element,
                    modify: false,
                })
                .await?;
            pending.insert(id);
            sent += 1;
        }
        let text = first.next_text(STEP_TIMEOUT).await?;
        if is_reply(&text) {
            let (re, code) = reply_code(&text)?;
            if code != 0 || !pending.remove(&re) {
                return Err(format!("set_board_element {re}: code {code}"));
            }
            replied += 1;
        } else if text.contains(r#""ev":"element","#) {
            echoes += 1;
        }
    }
    let elements = Arc::new(AtomicU64::new(echoes));
    readers.push(tokio::spawn(reader(first, elements.clone())));
    counts.push(elements);
    // Everyone has read every echo before the joiner goes in.
    let want = args.elements as u64;
    while counts.iter().any(|c| c.load(Ordering::Relaxed) < want) {
        if started.elapsed() > STEP_TIMEOUT * 4 {
            return Err("the members did not read the fill's echoes in time".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let fill = started.elapsed();
    let with_board = cycles(args, &mut joiner, meet_id, last + 1, args.elements, pid).await?;

    // Deleting: the joiner enters once more and deletes the oldest half of the elements in
    // one request (each from the front of the page), then the rest, newest first (each from
    // the back).
    reply_text(&mut joiner, enter(meet_id)).await?;
    let half = args.elements as u64 / 2;
    let mut deletes = Vec::new();
    for ids in [
        (0..half).collect::<Vec<u64>>(),
        (half..args.elements as u64).rev().collect(),
    ] {
        let request = Request::DelBoardElements {
            board_id: BOARD_ID.into(),
            page_no: 0,
            element_ids: ids.iter().map(|&seq| element_id(0, seq)).collect(),
        };
        let t0 = Instant::now();
        reply_text(&mut joiner, request).await?;
        let t1 = Instant::now();
        deletes.push((ids.len(), t0, t1));
        // The next one waits out the echoes of this one.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    probe.stop.store(true, Ordering::Relaxed);
    let _ = probe_task.await;
    for r in &readers {
        r.abort();
    }
    if let Some(e) = probe.error.lock().unwrap().clone() {
        return Err(e);
    }

    println!(
        "\nthe board: {} elements, {:.2} MiB of element JSON, added and read by {} members in \
         {:.2} s ({:.0} adds/s)",
        args.elements,
        bytes as f64 / (1 << 20) as f64,
        last,
        fill.as_secs_f64(),
        args.elements as f64 / fill.as_secs_f64()
    );
    println!(
        "\n{:<44} {:>10} {:>10} {:>10} {:>11} {:>12} {:>10} {:>16}",
        "crvideo-server: enter into",
        "p50 ms",
        "p99 ms",
        "max ms",
        "reply B",
        "decode p50",
        "srv CPU",
        "probe p50/p99/max"
    );
    for (name, c) in [
        ("an empty meeting".to_string(), &into_empty),
        (format!("{last} members, no board"), &no_board),
        (
            format!("{last} members, board of {} elements", args.elements),
            &with_board,
        ),
    ] {
        let (probe, probes) = c
            .window
            .map(|(from, to)| probe.during(from, to))
            .unwrap_or_default();
        println!(
            "  {name:<42} {:>10.3} {:>10.3} {:>10.3} {:>11} {:>9.3} ms {:>7.0} µs {:>6.2}/{:.2}/{:.2} ms ({})",
            c.enter.p50_ms,
            c.enter.p99_ms,
            c.enter.max_ms,
            c.reply_bytes,
            c.decode.p50_ms,
            c.server_cpu_us,
            probe.p50_ms,
            probe.p99_ms,
            probe.max_ms,
            probes
        );
    }
    let build = reply_build(&with_board.state, 20);
    println!(
        "\nbuilding that reply as the server does under its rooms lock (copy, Reply::ok, \
         encode), in this process: p50 {:.3} ms, max {:.3} ms",
        build.p50_ms, build.max_ms
    );
    for (&(n, t0, t1), order) in deletes.iter().zip(["oldest", "newest"]) {
        let probe_max = probe.during(t0, t1).0.max_ms;
        let took = t1 - t0;
        println!(
            "deleting {n} elements in one del_board_elements, {order} first: reply after \
             {:.3} ms (the probe's longest round trip meanwhile {probe_max:.2} ms)",
            took.as_secs_f64() * 1e3
        );
    }
    println!(
        "\nRatios: enter into the board / into an empty meeting p50 {:.1}, p99 {:.1}; / into \
         {last} members without a board p50 {:.1}",
        with_board.enter.p50_ms / into_empty.enter.p50_ms,
        with_board.enter.p99_ms / into_empty.enter.p99_ms,
        with_board.enter.p50_ms / no_board.enter.p50_ms,
    );
    Ok(())
}

/// `--cycles` enter/exit rounds of `joiner` into `meet_id`, whose reply must show `members`
/// members and `elements` board elements.
async fn cycles(
    args: &Args,
    joiner: &mut Conn,
    meet_id: i32,
    members: usize,
    elements: usize,
    pid: u32,
) -> BenchResult<Cycles> {
    let (mut enters, mut decodes, mut reply_bytes) = (Vec::new(), Vec::new(), 0);
    let mut last = RoomState::default();
    let cpu0 = cpu_secs(pid)?;
    let started = Instant::now();
    for _ in 0..args.cycles {
        let t0 = Instant::now();
        let text = reply_text(joiner, enter(meet_id)).await?;
        enters.push(t0.elapsed());
        reply_bytes = text.len();
        let t1 = Instant::now();
        let state: RoomState = match crvideo_proto::decode::<ServerFrame>(&text) {
            Ok(ServerFrame::Reply(reply)) => reply
                .into_result()
                .map_err(|code| format!("enter reply: code {code}"))?,
            _ => return Err("enter: not a reply".into()),
        };
        decodes.push(t1.elapsed());
        let held: usize = state
            .boards
            .iter()
            .flat_map(|b| &b.pages)
            .map(|p| p.elements.len())
            .sum();
        if state.members.len() != members || held != elements {
            return Err(format!(
                "entered a room of {} members and {held} elements, wanted {members} and {elements}",
                state.members.len()
            ));
        }
        reply_text(joiner, Request::ExitMeeting).await?;
        last = state;
    }
    let ended = Instant::now();
    let cpu = cpu_secs(pid)? - cpu0;
    Ok(Cycles {
        enter: Latency::of(&enters),
        reply_bytes,
        decode: Latency::of(&decodes),
        server_cpu_us: cpu * 1e6 / args.cycles as f64,
        window: Some((started, ended)),
        state: last,
    })
}

/// What the server does for an entrant under its rooms lock (server/src/rooms.rs `enter`:
/// the room's state copied, `Reply::ok` turning it into a JSON value, the frame encoded),
/// done here on the room the joiner saw, `times` times.
fn reply_build(state: &RoomState, times: usize) -> Latency {
    let samples: Vec<Duration> = (0..times)
        .map(|_| {
            let t0 = Instant::now();
            let text = encode(&ServerFrame::Reply(Reply::ok(1, state.clone())));
            std::hint::black_box(text);
            t0.elapsed()
        })
        .collect();
    Latency::of(&samples)
}
