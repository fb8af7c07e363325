//! `--mode enter`, crvideo-server only: a late joiner (the `members`-th user) does `--cycles`
//! rounds of `enter_meeting` + `exit_meeting` into an empty meeting, into one of
//! `members - 1` members, then into the same after member 0 added `--elements` pen strokes
//! of about 200 bytes to a board (at most `--window` unacknowledged, the others reading every
//! echo; the fill rate is printed).
//!
//! **Enter latency**: `enter_meeting` sent → its reply read off the socket (not decoded).
//! Also: the reply's size, the client's time to decode it into a `RoomState`, the server's
//! CPU per cycle, and the server's work for an entrant under its rooms lock, redone here.
//! **Deletes**: the joiner enters once more and deletes the oldest half of the elements in
//! one `del_board_elements`, then the other half newest first: the time to each reply.
//! **Other rooms**: a probe user alone in another meeting sends `send_im` round trips 1 ms
//! apart throughout; those overlapping a phase show whether it holds up the other rooms
//! (every room request takes the server's one rooms lock).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crvideo_bench::report::{Latency, Table};
use crvideo_bench::{cpu_secs, login, BenchResult, Conn};
use crvideo_proto::{encode, Reply, Request, RoomState, ServerFrame};
use tokio::task::JoinSet;

use super::board::{add, board_obj, delete, element_id, stroke, ELEMENT_EVENT};
use super::{create_meeting, lat, reply, request, Args, Server};
use super::{AGENT, STEP_TIMEOUT};

/// Points of a stroke in this mode: about 200 bytes of JSON.
const POINTS: std::ops::RangeInclusive<usize> = 13..=15;

/// The probe's round trips: when each was sent, and how long it took.
type Probe = Vec<(Instant, Duration)>;

/// The probe's round trips that overlap `from..to`, and how many.
fn during(probe: &Probe, (from, to): (Instant, Instant)) -> (Latency, usize) {
    let overlaps = |&&(at, rtt): &&(Instant, Duration)| at < to && at + rtt > from;
    let samples: Vec<Duration> = probe.iter().filter(overlaps).map(|&(_, rtt)| rtt).collect();
    (Latency::of(&samples), samples.len())
}

/// `send_im` round trips of a user alone in its meeting, 1 ms apart, until `stop`.
async fn probe(mut conn: Conn, stop: Arc<AtomicBool>) -> BenchResult<Probe> {
    let mut samples = Vec::new();
    while !stop.load(Relaxed) {
        let (t0, text, to) = (Instant::now(), "p".into(), String::new());
        let sent = conn
            .request_ok(Request::SendIm { text, to }, STEP_TIMEOUT)
            .await;
        sent.map_err(|e| format!("probe: {e}"))?;
        samples.push((t0, t0.elapsed()));
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    Ok(samples)
}

/// A member that only reads: counts the element events it gets.
async fn reader(mut conn: Conn, elements: Arc<AtomicU64>) {
    while let Ok(text) = conn.next_text(Duration::from_secs(3600)).await {
        if text.contains(ELEMENT_EVENT) {
            elements.fetch_add(1, Relaxed);
        }
    }
}

pub(crate) async fn run(args: &Args) -> BenchResult<()> {
    let mean = (0..1000).map(|i| stroke(0, i, POINTS).len()).sum::<usize>() as f64 / 1000.0;
    println!(
        "\nmeeting_load enter: a late joiner, {} enter/exit cycles per phase; the board: {} \
         strokes of {mean:.0} bytes on average, added with at most {} unacknowledged",
        args.cycles, args.elements, args.window
    );
    let server = Server::start(args, false)?;
    let result = phases(args, &server).await;
    server.stop(result)
}

async fn phases(args: &Args, server: &Server) -> BenchResult<()> {
    let (addr, pid, last, n) = (server.addr, server.pid(), args.members - 1, args.elements);
    let mut probe_conn = login(addr, "probe", AGENT, STEP_TIMEOUT).await?;
    let probe_room = create_meeting(&mut probe_conn, "probe").await?;
    probe_conn.request_ok(probe_room, STEP_TIMEOUT).await?;
    let stop = Arc::new(AtomicBool::new(false));
    let probe_task = tokio::spawn(probe(probe_conn, stop.clone()));

    let mut joiner = login(addr, &format!("m{last}"), AGENT, STEP_TIMEOUT).await?;
    let empty = create_meeting(&mut joiner, "empty").await?;
    let into_empty = cycles(args, &mut joiner, &empty, 1, 0, pid).await?;

    let mut first = login(addr, "m0", AGENT, STEP_TIMEOUT).await?;
    let enter = create_meeting(&mut first, "bench board").await?;
    first.request_ok(enter.clone(), STEP_TIMEOUT).await?;
    let (mut readers, mut counts) = (JoinSet::new(), Vec::new());
    for i in 1..last {
        let mut conn = login(addr, &format!("m{i}"), AGENT, STEP_TIMEOUT).await?;
        request(&mut conn, enter.clone()).await?;
        counts.push(Arc::new(AtomicU64::new(0)));
        readers.spawn(reader(conn, counts[i - 1].clone()));
    }
    let no_board = cycles(args, &mut joiner, &enter, last + 1, 0, pid).await?;

    // The board: member 0 adds the elements, the others read every echo.
    request(&mut first, Request::CreateBoard { board: board_obj() }).await?;
    let started = Instant::now();
    let (mut sent, mut replied, mut bytes, mut echoes) = (0, 0, 0, 0);
    let mut pending = HashSet::new();
    while replied < n {
        while sent < n && pending.len() < args.window {
            let element = stroke(0, sent as u64, POINTS);
            bytes += element.len();
            pending.insert(first.send_request(add(element)).await?);
            sent += 1;
        }
        let text = first.next_text(STEP_TIMEOUT).await?;
        match reply(&text)? {
            Some((re, code)) if code != 0 || !pending.contains(&re) => {
                Err(format!("set_board_element {re}: code {code}"))?
            }
            Some((re, _)) => {
                pending.remove(&re);
                replied += 1;
            }
            None if text.contains(ELEMENT_EVENT) => echoes += 1,
            None => {}
        }
    }
    counts.push(Arc::new(AtomicU64::new(echoes)));
    readers.spawn(reader(first, counts[last - 1].clone()));
    // Everyone has read every echo before the joiner goes in.
    while counts.iter().any(|c| c.load(Relaxed) < n as u64) {
        if started.elapsed() > STEP_TIMEOUT * 4 {
            return Err("the members did not read the fill's echoes in time".into());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let fill = started.elapsed().as_secs_f64();
    let with_board = cycles(args, &mut joiner, &enter, last + 1, n, pid).await?;

    // Deleting: the joiner enters once more and deletes the oldest half of the elements in
    // one request, then the rest, newest first.
    request(&mut joiner, enter).await?;
    let (half, mut deletes) = (n as u64 / 2, Vec::new());
    for seqs in [
        (0..half).collect::<Vec<_>>(),
        (half..n as u64).rev().collect(),
    ] {
        let ids = seqs.iter().map(|&seq| element_id(0, seq)).collect();
        let t0 = Instant::now();
        request(&mut joiner, delete(ids)).await?;
        deletes.push((seqs.len(), (t0, Instant::now())));
        // The next one waits out the echoes of this one.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    stop.store(true, Relaxed);
    let probe = probe_task.await.map_err(|e| format!("probe: {e}"))??;

    let mib = bytes as f64 / (1 << 20) as f64;
    println!(
        "\nthe board: {n} elements, {mib:.2} MiB of element JSON, added and read by {last} \
         members in {fill:.2} s ({:.0} adds/s)\n",
        n as f64 / fill
    );
    let table = Table::header(&[
        "crvideo-server: enter into",
        "p50 / p99 / max ms",
        "reply bytes",
        "decode p50 ms",
        "server CPU per cycle µs",
        "probe p50 / p99 / max ms (round trips)",
    ]);
    let names = [
        "an empty meeting".to_string(),
        format!("{last} members, no board"),
        format!("{last} members, board of {n} elements"),
    ];
    for (name, c) in names.into_iter().zip([&into_empty, &no_board, &with_board]) {
        let (p, round_trips) = during(&probe, c.window);
        let probe = format!("{} ({round_trips})", lat(&p));
        table.row(&[&[name][..], &c.row, &[probe]].concat());
    }
    let build = reply_build(&with_board.state, 20);
    println!(
        "\nbuilding that reply as the server does under its rooms lock (copy, Reply::ok, \
         encode), in this process: p50 {:.3} ms, max {:.3} ms",
        build.p50_ms, build.max_ms
    );
    for ((n, (t0, t1)), order) in deletes.into_iter().zip(["oldest", "newest"]) {
        let probe_max = during(&probe, (t0, t1)).0.max_ms;
        println!(
            "deleting {n} elements in one del_board_elements, {order} first: reply after \
             {:.3} ms (the probe's longest round trip meanwhile {probe_max:.2} ms)",
            (t1 - t0).as_secs_f64() * 1e3
        );
    }
    let (board, empty, no_board) = (with_board.enter, into_empty.enter, no_board.enter);
    println!(
        "\nRatios: enter into the board / into an empty meeting p50 {:.1}, p99 {:.1}; / into \
         {last} members without a board p50 {:.1}",
        board.p50_ms / empty.p50_ms,
        board.p99_ms / empty.p99_ms,
        board.p50_ms / no_board.p50_ms,
    );
    Ok(())
}

/// One phase of enter/exit cycles.
struct Cycles {
    /// Its table cells (the probe's aside): enter latency, reply bytes, decode, server CPU
    /// per cycle (enter + exit, and the probe's requests meanwhile).
    row: Vec<String>,
    enter: Latency,
    /// When the phase ran.
    window: (Instant, Instant),
    /// The room as the last entry's reply showed it.
    state: RoomState,
}

/// `--cycles` enter/exit rounds of `joiner`, whose reply must show `members` members and
/// `elements` board elements.
async fn cycles(
    args: &Args,
    joiner: &mut Conn,
    enter: &Request,
    members: usize,
    elements: usize,
    pid: u32,
) -> BenchResult<Cycles> {
    let (mut enters, mut decodes, mut reply_bytes) = (Vec::new(), Vec::new(), 0);
    let mut state = RoomState::default();
    let (cpu0, from) = (cpu_secs(pid)?, Instant::now());
    for _ in 0..args.cycles {
        let t0 = Instant::now();
        let text = request(joiner, enter.clone()).await?;
        enters.push(t0.elapsed());
        reply_bytes = text.len();
        let t1 = Instant::now();
        state = match crvideo_proto::decode::<ServerFrame>(&text) {
            Ok(ServerFrame::Reply(reply)) => reply.into_result().map_err(|c| format!("code {c}")),
            _ => Err("not a reply".into()),
        }
        .map_err(|e| format!("enter: {e}"))?;
        decodes.push(t1.elapsed());
        let pages = state.boards.iter().flat_map(|b| &b.pages);
        let held: usize = pages.map(|p| p.elements.len()).sum();
        if state.members.len() != members || held != elements {
            let m = state.members.len();
            return Err(format!(
                "entered a room of {m} members and {held} elements, wanted {members} and {elements}"
            ));
        }
        request(joiner, Request::ExitMeeting).await?;
    }
    let window = (from, Instant::now());
    let cpu_us = (cpu_secs(pid)? - cpu0) * 1e6 / args.cycles as f64;
    let (enter, decode) = (Latency::of(&enters), Latency::of(&decodes));
    let (decode, cpu) = (format!("{:.3}", decode.p50_ms), format!("{cpu_us:.0}"));
    let row = vec![lat(&enter), reply_bytes.to_string(), decode, cpu];
    Ok(Cycles {
        row,
        enter,
        window,
        state,
    })
}

/// What the server does for an entrant under its rooms lock (server/src/rooms.rs `enter`:
/// the room's state copied, `Reply::ok` turning it into a JSON value, the frame encoded),
/// done here on the room the joiner saw, `times` times.
fn reply_build(state: &RoomState, times: usize) -> Latency {
    let time = |_| {
        let t0 = Instant::now();
        std::hint::black_box(encode(&ServerFrame::Reply(Reply::ok(1, state.clone()))));
        t0.elapsed()
    };
    Latency::of(&(0..times).map(time).collect::<Vec<_>>())
}
