//! Video relay bench: crvideo-server forwarding the cameras of a meeting, against
//! nats-server relaying the same bytes to the same fan-out.
//!
//! ```text
//! video_relay [--server-bin PATH] [--nats-bin PATH] [--skip-nats] [--members 10]
//!             [--secs 20] [--warmup-secs 3] [--rounds 2]
//! ```
//!
//! Every member is a protocol client in this process that neither encodes nor decodes: it
//! sends a clip of 640×360 pictures encoded once by the SDK's encoder at 1000 kbps, one
//! picture every 1/15 s, each stamped with the bench's clock in µs, and receives the others'.
//! - crvideo: one meeting; each member has one camera with its video open and watches every
//!   video (the default). A key-frame request from the server makes the member's next
//!   picture the clip's key frame, as the SDK does.
//! - NATS: member i publishes to `video.i` and subscribes to each `video.j`, j ≠ i. The
//!   payload is the same bytes as crvideo's video frame.
//!
//! Measured over `--secs` after a warm-up: the server's CPU (user + system, `/proc`) per
//! forwarded stream (one camera to one receiver), frames and MiB/s delivered, the server's
//! peak RSS over the window (`VmHWM`, reset at its start) and the latency from sending to
//! receiving, p50 / p99. Rounds alternate crvideo and NATS, each on a fresh server.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{fixed, ratio2, table, Latency, Row};
use crvideo_bench::video::encode_clip;
use crvideo_bench::{
    cpu_secs, login, machine, nats, peak_rss_kib, reset_peak_rss, rss_kib, run_load_generator,
    Conn, NatsArgs, Server, ServerArgs, TempDir,
};
use crvideo_proto::data::{decode_data, DataFrame, Piece, VideoFrame};
use crvideo_proto::{
    MediaKind, MeetInfo, MemberVideos, Request, ServerFrame, VideoDev, MEDIA_OPEN,
};
use crvideosdk::video::codec::Encoded;
use futures_util::stream::{select_all, SplitSink};
use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio::task::JoinSet;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

const AGENT: &str = "crvideo-bench/video_relay";
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
const WIDTH: usize = 640;
const HEIGHT: usize = 360;
const FPS: u32 = 15;
const KBPS: u32 = 1000;
/// The clip: 10 s (two key frames: the encoder's own every 5 s).
const CLIP_PICTURES: u64 = FPS as u64 * 10;
/// Each member's one camera.
const VIDEO_ID: u8 = 1;

/// Video relay against nats-server (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    #[command(flatten)]
    nats: NatsArgs,
    /// Members of the meeting, each sending one camera.
    #[arg(long, default_value = "10")]
    members: usize,
    /// Seconds measured per round.
    #[arg(long, default_value = "20")]
    secs: u64,
    /// Seconds of sending before the measurement starts.
    #[arg(long, default_value = "3")]
    warmup_secs: u64,
    /// Rounds of each server, alternating.
    #[arg(long, default_value = "2")]
    rounds: usize,
}

fn main() {
    run_load_generator("video_relay", run(Args::parse()));
}

/// What the members of one round share: the clip, the clock, and what arrived.
struct Round {
    clip: Arc<Vec<Encoded>>,
    epoch: Instant,
    /// Set for the measured window: received pictures are counted and timed.
    measuring: AtomicBool,
    stop: AtomicBool,
    sent: AtomicU64,
    delivered: AtomicU64,
    delivered_bytes: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

impl Round {
    fn new(clip: Arc<Vec<Encoded>>) -> Round {
        Round {
            clip,
            epoch: Instant::now(),
            measuring: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            sent: AtomicU64::new(0),
            delivered: AtomicU64::new(0),
            delivered_bytes: AtomicU64::new(0),
            latencies: Mutex::new(Vec::new()),
        }
    }

    /// Picture `n` of the clip as a video frame stamped now: the bytes both servers carry.
    fn frame(&self, n: usize) -> Bytes {
        let picture = &self.clip[n % self.clip.len()];
        let frame = VideoFrame {
            key: picture.key,
            piece: Piece::WHOLE,
            video_id: VIDEO_ID,
            time_ms: self.epoch.elapsed().as_micros() as i64,
            user: "",
            payload: &picture.data,
        };
        Bytes::from(frame.encode())
    }

    /// A frame arrived at a member.
    fn received(&self, frame: &[u8]) {
        if !self.measuring.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(DataFrame::Video(video)) = decode_data(frame) {
            let now = self.epoch.elapsed().as_micros() as i64;
            let latency = Duration::from_micros(now.saturating_sub(video.time_ms) as u64);
            self.latencies.lock().unwrap().push(latency);
            self.delivered.fetch_add(1, Ordering::Relaxed);
            let bytes = frame.len() as u64;
            self.delivered_bytes.fetch_add(bytes, Ordering::Relaxed);
        }
    }

    /// Sends a picture every 1/FPS s, starting after `phase`, through `send`, until the
    /// round stops; the clip restarts at its key frame whenever `key_wanted` is set.
    async fn send_loop<F, Fut>(&self, phase: Duration, key_wanted: &AtomicBool, mut send: F)
    where
        F: FnMut(Bytes) -> Fut,
        Fut: std::future::Future<Output = Result<(), String>>,
    {
        let period = Duration::from_secs(1) / FPS;
        let start = tokio::time::Instant::now() + phase;
        let mut tick = tokio::time::interval_at(start, period);
        let mut n = 0;
        while !self.stop.load(Ordering::Relaxed) {
            tick.tick().await;
            if key_wanted.swap(false, Ordering::Relaxed) {
                n = 0;
            }
            if let Err(e) = send(self.frame(n)).await {
                eprintln!("video_relay: a member's send failed: {e}");
                return;
            }
            n += 1;
            self.sent.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// One measured round of a server.
struct Measured {
    seconds: f64,
    /// The server's CPU seconds in the window.
    cpu: f64,
    peak_rss_kib: u64,
    rss_kib: u64,
    sent: u64,
    delivered: u64,
    delivered_bytes: u64,
    latency: Latency,
}

impl Measured {
    /// Warms up, then measures the window on the server `pid` while the members run.
    async fn window(args: &Args, round: &Round, pid: u32) -> Result<Measured, String> {
        tokio::time::sleep(Duration::from_secs(args.warmup_secs)).await;
        let (cpu0, t0) = (cpu_secs(pid)?, Instant::now());
        let sent0 = round.sent.load(Ordering::Relaxed);
        if !reset_peak_rss(pid) {
            eprintln!("video_relay: the kernel refused to reset the peak RSS: it is the run's");
        }
        round.measuring.store(true, Ordering::Relaxed);
        tokio::time::sleep(Duration::from_secs(args.secs)).await;
        round.measuring.store(false, Ordering::Relaxed);
        let (cpu, seconds) = (cpu_secs(pid)? - cpu0, t0.elapsed().as_secs_f64());
        let sent = round.sent.load(Ordering::Relaxed) - sent0;
        round.stop.store(true, Ordering::Relaxed);
        let latency = Latency::of(&round.latencies.lock().unwrap());
        Ok(Measured {
            seconds,
            cpu,
            peak_rss_kib: peak_rss_kib(pid)?,
            rss_kib: rss_kib(pid)?,
            sent,
            delivered: round.delivered.load(Ordering::Relaxed),
            delivered_bytes: round.delivered_bytes.load(Ordering::Relaxed),
            latency,
        })
    }

    /// The round's printed row, of `members` members (each camera forwarded to every
    /// other member).
    fn row(&self, label: String, members: usize) -> Row {
        let streams = members * (members - 1);
        let per_stream_ms = self.cpu * 1e3 / self.seconds / streams as f64;
        let mib_s = self.delivered_bytes as f64 / self.seconds / (1 << 20) as f64;
        let expected = (self.sent * (members as u64 - 1)) as f64;
        Row::new(label)
            .col("frames delivered", self.delivered)
            .col(
                "of sent × receivers",
                fixed(self.delivered as f64 / expected, 3),
            )
            .col("MiB/s delivered", fixed(mib_s, 2))
            .col(
                "server CPU % of a core",
                fixed(self.cpu * 100.0 / self.seconds, 1),
            )
            .col("CPU ms/s per stream", fixed(per_stream_ms, 3))
            .col("peak RSS MiB", fixed(self.peak_rss_kib as f64 / 1024.0, 1))
            .ms("latency ", &self.latency, 2)
            .note("RSS at the end MiB", fixed(self.rss_kib as f64 / 1024.0, 1))
    }
}

async fn run(args: Args) -> Result<(), String> {
    args.server.check()?;
    if args.members < 2 {
        return Err("--members: at least 2".into());
    }
    let clip = encode_clip(WIDTH, HEIGHT, FPS, KBPS, CLIP_PICTURES)?;
    let bytes: usize = clip.iter().map(|e| e.data.len()).sum();
    let keys: Vec<usize> = (clip.iter().enumerate())
        .filter_map(|(i, e)| e.key.then_some(i))
        .collect();
    println!(
        "machine: {}; clip {WIDTH}x{HEIGHT}@{FPS} {KBPS} kbps: {} pictures of {CLIP_PICTURES}, \
         {} bytes on average, key frames at {keys:?} ({} and {} bytes)",
        machine(),
        clip.len(),
        bytes / clip.len(),
        clip[0].data.len(),
        keys.last().map_or(0, |&k| clip[k].data.len()),
    );
    let (clip, members) = (Arc::new(clip), args.members);
    let streams = members * (members - 1);
    println!(
        "{members} members, {streams} forwarded streams, {} s measured per round",
        args.secs
    );
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for r in 1..=args.rounds {
        let m = crvideo_round(&args, clip.clone()).await?;
        let row = m.row(format!("crvideo-server, round {r}"), members);
        row.print();
        ours.push((row, m));
        if args.nats.skip_nats {
            continue;
        }
        let m = nats_round(&args, clip.clone()).await?;
        let row = m.row(format!("nats-server, round {r}"), members);
        row.print();
        theirs.push((row, m));
    }
    crvideo_bench::report::summary_heading();
    table("server", ours.iter().chain(&theirs).map(|(row, _)| row));
    if !theirs.is_empty() {
        let total = |v: &[(Row, Measured)], f: fn(&Measured) -> f64| -> f64 {
            v.iter().map(|(_, m)| f(m)).sum::<f64>() / v.len() as f64
        };
        let cpu = |m: &Measured| m.cpu / m.seconds;
        let rss = |m: &Measured| m.peak_rss_kib as f64;
        let p50 = |m: &Measured| m.latency.p50_ms;
        println!(
            "\ncrvideo / nats (mean of rounds): server CPU {}, peak RSS {}, latency p50 {}",
            ratio2(total(&ours, cpu), total(&theirs, cpu)),
            ratio2(total(&ours, rss), total(&theirs, rss)),
            ratio2(total(&ours, p50), total(&theirs, p50)),
        );
    }
    Ok(())
}

type Sink = SplitSink<WebSocketStream<TcpStream>, Message>;

/// A round on a fresh crvideo-server: every member in one meeting, sending its camera.
async fn crvideo_round(args: &Args, clip: Arc<Vec<Encoded>>) -> Result<Measured, String> {
    let dir = TempDir::new("video_relay")?;
    let bin = args.server.server_bin.clone();
    let server = crvideo_bench::blocking(|| Server::crvideo(&bin, dir.path(), "", ""))?;
    let result = crvideo_members(args, clip, &server).await;
    server.finish(result)
}

async fn crvideo_members(
    args: &Args,
    clip: Arc<Vec<Encoded>>,
    server: &Server,
) -> Result<Measured, String> {
    let mut conns = Vec::new();
    for i in 0..args.members {
        conns.push(login(server.addr, &format!("m{i}"), AGENT, STEP_TIMEOUT).await?);
    }
    let create = Request::CreateMeeting {
        subject: "video relay".into(),
        with_password: false,
    };
    let meeting: MeetInfo = ask(&mut conns[0], create).await?;
    let enter = Request::EnterMeeting {
        meet_id: meeting.id,
        pswd: String::new(),
    };
    for conn in &mut conns {
        ask::<serde_json::Value>(conn, enter.clone()).await?;
    }
    let camera = MemberVideos {
        user_id: String::new(),
        devs: vec![VideoDev {
            video_id: VIDEO_ID,
            name: "pattern".into(),
        }],
        default_video: VIDEO_ID,
    };
    for (i, conn) in conns.iter_mut().enumerate() {
        ask::<serde_json::Value>(conn, Request::SetVideoDevs(camera.clone())).await?;
        let open = Request::SetMedia {
            user_id: format!("m{i}"),
            kind: MediaKind::Video,
            status: MEDIA_OPEN,
        };
        ask::<serde_json::Value>(conn, open).await?;
    }
    let round = Arc::new(Round::new(clip));
    let mut members = JoinSet::new();
    for (i, conn) in conns.into_iter().enumerate() {
        let (ws, _) = conn.into_parts();
        let (sink, stream) = ws.split();
        let key_wanted = Arc::new(AtomicBool::new(false));
        let phase = Duration::from_secs(1) / FPS * i as u32 / args.members as u32;
        let (r, key) = (round.clone(), key_wanted.clone());
        members.spawn(async move { send_crvideo(&r, sink, phase, &key).await });
        let r = round.clone();
        members.spawn(async move {
            let mut stream = stream;
            while let Some(Ok(message)) = stream.next().await {
                match message {
                    Message::Binary(frame) => r.received(&frame),
                    Message::Text(t) if t.contains(r#""ev":"key_frame_request""#) => {
                        key_wanted.store(true, Ordering::Relaxed)
                    }
                    Message::Close(_) => break,
                    _ => {}
                }
            }
        });
    }
    let measured = Measured::window(args, &round, server.pid()).await;
    members.abort_all();
    measured
}

async fn send_crvideo(round: &Round, sink: Sink, phase: Duration, key_wanted: &AtomicBool) {
    let sink = tokio::sync::Mutex::new(sink);
    let send = |frame: Bytes| {
        let sink = &sink;
        async move {
            let mut sink = sink.lock().await;
            sink.send(Message::Binary(frame))
                .await
                .map_err(|e| e.to_string())
        }
    };
    round.send_loop(phase, key_wanted, send).await;
}

/// Sends `request` and waits for its reply (events in between skipped); its data unless
/// the code is not 0.
async fn ask<T: serde::de::DeserializeOwned>(
    conn: &mut Conn,
    request: Request,
) -> Result<T, String> {
    let op = request.op();
    let id = conn.send_request(request).await?;
    loop {
        if let ServerFrame::Reply(reply) = conn.next_frame(STEP_TIMEOUT).await? {
            if reply.re == id {
                return reply
                    .into_result()
                    .map_err(|code| format!("{op}: code {code}"));
            }
        }
    }
}

/// A round on a fresh nats-server: member i publishes to `video.i`, subscribed to the others.
async fn nats_round(args: &Args, clip: Arc<Vec<Encoded>>) -> Result<Measured, String> {
    let dir = TempDir::new("video_relay_nats")?;
    let server = Server::nats(&args.nats.nats_bin, dir.path(), &[])?;
    let result = nats_members(args, clip, &server).await;
    server.finish(result)
}

async fn nats_members(
    args: &Args,
    clip: Arc<Vec<Encoded>>,
    server: &Server,
) -> Result<Measured, String> {
    let round = Arc::new(Round::new(clip));
    let mut members = JoinSet::new();
    let never = Arc::new(AtomicBool::new(false));
    for i in 0..args.members {
        let client = nats::connect(server.addr, STEP_TIMEOUT).await?;
        let mut subscriptions = Vec::new();
        for j in (0..args.members).filter(|&j| j != i) {
            let subject = format!("video.{j}");
            subscriptions.push(nats::subscribe(&client, &subject, STEP_TIMEOUT).await?);
        }
        let r = round.clone();
        members.spawn(async move {
            let mut arrivals = select_all(subscriptions);
            while let Some(message) = arrivals.next().await {
                r.received(&message.payload);
            }
        });
        let phase = Duration::from_secs(1) / FPS * i as u32 / args.members as u32;
        let (r, never) = (round.clone(), never.clone());
        members.spawn(async move {
            let subject = format!("video.{i}");
            let send = |frame: Bytes| {
                let (client, subject) = (&client, &subject);
                async move { nats::publish(client, subject, None, frame).await }
            };
            r.send_loop(phase, &never, send).await;
        });
    }
    let measured = Measured::window(args, &round, server.pid()).await;
    members.abort_all();
    measured
}
