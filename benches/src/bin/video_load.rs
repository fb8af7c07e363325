//! Video bench: what the SDK's H.264 costs against ffmpeg on the same raw frames (the codec
//! floor), and the latency from `CRVideo_InputCustomVideoDat` on a sender to
//! `NotifyVideoData` on each receiver, through crvideo-server on loopback.
//!
//! ```text
//! video_load [--server-bin PATH] [--secs 10] [--receivers 1,9] [--skip-ffmpeg] [--ffmpeg-bin PATH]
//!            [--memory-secs 300] [--memory-only] [--floor-only]
//! ```
//!
//! Measured per size (640x360 at 15 fps, 1280x720 at 30 fps, 1000 and 2500 kbps):
//! - encode / decode per frame, in this process, with the SDK's own code (RGBA → I420 →
//!   OpenH264, and back), and ffmpeg's CPU per frame encoding the same RGBA frames with
//!   libopenh264 and with libx264 `-preset ultrafast -tune zerolatency`;
//! - latency: one sender process and N receiver processes (one SDK each) in a meeting; the
//!   sender stamps each picture with the machine's monotonic clock in µs (the SDK passes the
//!   stamp through as `frmTime`) and each receiver takes `now − frmTime` in its
//!   `NotifyVideoData`, then takes the picture (as an app would, which re-arms the
//!   notification). p50 / p99 over every receiver's pictures; "added" is p50 minus the
//!   in-process encode + decode p50;
//! - with `--memory-secs`: one receiver's RSS (and the server's) every 10 s over a long run
//!   at 640x360 (the receiver keeps its latency samples: 8 bytes a picture).

use std::ffi::{c_char, c_int, c_void, CString};
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use clap::Parser;
use crvideo_bench::report::{Latency, Table};
use crvideo_bench::sdk_child::{
    child_cpu_secs, login, monotonic_us, stdin_lines, tell, SdkChild, CHILD_STEP,
};
use crvideo_bench::video::camera;
use crvideo_bench::{
    rss_kib, start_crvideo, stop_child, BenchResult, ChildGuard, ServerArgs, TempDir,
};
use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::rooms::*;
use crvideosdk::ffi::video::*;
use crvideosdk::video::codec::{VideoDecoder, VideoEncoder};
use crvideosdk::video::picture::{Picture, VFMT_RGBA32};

/// Video latency and codec cost against ffmpeg (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Seconds of video per latency run.
    #[arg(long, default_value = "10")]
    secs: u64,
    /// Receivers of each latency run (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [1usize, 9])]
    receivers: Vec<usize>,
    /// Leave out the ffmpeg peer.
    #[arg(long)]
    skip_ffmpeg: bool,
    /// The ffmpeg binary (Debian's lacks libopenh264; the static build in PyPI's
    /// `imageio-ffmpeg` has it).
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg_bin: String,
    /// Also a receiver's memory over a run of this many seconds at 640x360 (0: not).
    #[arg(long, default_value = "0")]
    memory_secs: u64,
    /// Only the memory run.
    #[arg(long)]
    memory_only: bool,
    /// Only the codec floor (no latency runs).
    #[arg(long)]
    floor_only: bool,
    /// Internal: run as a child (sender ADDR | receiver ADDR MEETING).
    #[arg(long, num_args = 1.., hide = true)]
    child: Vec<String>,
}

#[derive(Clone, Copy)]
struct Size {
    width: usize,
    height: usize,
    fps: u32,
    kbps: u32,
}

const SIZES: [Size; 2] = [
    Size {
        width: 640,
        height: 360,
        fps: 15,
        kbps: 1000,
    },
    Size {
        width: 1280,
        height: 720,
        fps: 30,
        kbps: 2500,
    },
];

fn main() {
    let args = Args::parse();
    let outcome = match args.child.first().map(String::as_str) {
        Some("sender") => child_sender(&args.child),
        Some("receiver") => child_receiver(&args.child),
        _ => run(&args),
    };
    if let Err(e) = outcome {
        eprintln!("video_load: {e}");
        std::process::exit(1);
    }
}

/// A moving test picture (RGBA): a scrolling gradient and a square crossing it.
/// Picture `n` of the moving pattern at `size`.
fn pattern(size: Size, n: u64) -> Vec<u8> {
    crvideo_bench::video::pattern(size.width, size.height, n)
}

fn run(args: &Args) -> BenchResult<()> {
    args.server.check()?;
    println!(
        "machine: {} cores; {} s of video per latency run",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.secs
    );
    let memory = match args.memory_secs {
        0 => None,
        secs => Some(receiver_memory(args, SIZES[0], secs)?),
    };
    if let Some((samples, pictures)) = &memory {
        print_memory(samples, *pictures);
    }
    if args.memory_only {
        return Ok(());
    }
    let mut floors = Vec::new();
    for size in SIZES {
        floors.push((size, codec_floor(size)?, ffmpeg_floor(size, args)?));
    }
    let mut runs = Vec::new();
    let receivers = if args.floor_only {
        &[][..]
    } else {
        &args.receivers
    };
    for size in SIZES {
        for &receivers in receivers {
            runs.push((size, receivers, latency(args, size, receivers)?));
        }
    }
    println!("\n## Summary (markdown)\n");
    let table = Table::header(&[
        "size",
        "ours: encode ms/frame",
        "ours: decode ms/frame",
        "ffmpeg libopenh264: CPU ms/frame",
        "ffmpeg libx264 ultrafast: CPU ms/frame",
    ]);
    for (size, (enc, dec), ffmpeg) in &floors {
        let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.2}"));
        table.row(&[
            format!("{}x{}@{}", size.width, size.height, size.fps),
            format!("{:.2} (p99 {:.2})", enc.p50_ms, enc.p99_ms),
            format!("{:.2} (p99 {:.2})", dec.p50_ms, dec.p99_ms),
            cell(ffmpeg.0),
            cell(ffmpeg.1),
        ]);
    }
    println!();
    let table = Table::header(&[
        "size",
        "receivers",
        "pictures",
        "latency p50 ms",
        "p99 ms",
        "added p50 ms",
    ]);
    for (size, receivers, (lat, count)) in &runs {
        let (_, (enc, dec), _) = floors
            .iter()
            .find(|(s, ..)| s.width == size.width)
            .expect("measured");
        table.row(&[
            format!("{}x{}@{}", size.width, size.height, size.fps),
            receivers.to_string(),
            count.to_string(),
            format!("{:.2}", lat.p50_ms),
            format!("{:.2}", lat.p99_ms),
            format!("{:.2}", lat.p50_ms - enc.p50_ms - dec.p50_ms),
        ]);
    }
    Ok(())
}

/// The SDK's own encode (RGBA → I420 → H.264) and decode (H.264 → I420 → RGBA) per frame.
fn codec_floor(size: Size) -> BenchResult<(Latency, Latency)> {
    let mut encoder = VideoEncoder::new(camera(size.fps, size.kbps))?;
    let mut decoder = VideoDecoder::new()?;
    let frames: Vec<Vec<u8>> = (0..150).map(|n| pattern(size, n)).collect();
    let (mut enc, mut dec) = (Vec::new(), Vec::new());
    for (n, rgba) in frames.iter().enumerate() {
        let start = Instant::now();
        // Each picture at its own time: the rate control sees the real rate.
        let time_ms = n as u64 * 1000 / size.fps as u64;
        let picture = Picture::from_image(VFMT_RGBA32, size.width, size.height, rgba, n as i64);
        let Some(encoded) = encoder.encode_at(&picture, time_ms)? else {
            continue;
        };
        enc.push(start.elapsed());
        let start = Instant::now();
        if let Some(decoded) = decoder.decode(&encoded.data, n as i64)? {
            std::hint::black_box(decoded.to_format(VFMT_RGBA32));
        }
        dec.push(start.elapsed());
    }
    Ok((Latency::of(&enc), Latency::of(&dec)))
}

/// ffmpeg's CPU per frame (user + system) encoding the same 150 RGBA frames from a file
/// with libopenh264 and with libx264; None for an encoder this ffmpeg lacks.
fn ffmpeg_floor(size: Size, args: &Args) -> BenchResult<(Option<f64>, Option<f64>)> {
    if args.skip_ffmpeg {
        return Ok((None, None));
    }
    let dir = TempDir::new("video-ffmpeg")?;
    let raw = dir.path().join("frames.rgba");
    let mut file = std::fs::File::create(&raw).map_err(|e| e.to_string())?;
    for n in 0..150 {
        file.write_all(&pattern(size, n))
            .map_err(|e| e.to_string())?;
    }
    drop(file);
    let encode = |codec: &[&str]| -> BenchResult<Option<f64>> {
        let kbps = format!("{}k", size.kbps);
        let mut command = Command::new(&args.ffmpeg_bin);
        command
            .args([
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgba",
            ])
            .args(["-s", &format!("{}x{}", size.width, size.height)])
            .args(["-r", &size.fps.to_string(), "-i"])
            .arg(&raw)
            .args(codec)
            .args(["-b:v", &kbps, "-threads", "1", "-f", "null", "-"])
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let Some(cpu) = child_cpu_secs(command)? else {
            return Ok(None);
        };
        Ok(Some(cpu * 1000.0 / 150.0))
    };
    Ok((
        encode(&["-c:v", "libopenh264"])?,
        encode(&[
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
            "-tune",
            "zerolatency",
        ])?,
    ))
}

/// A server, a sender in a meeting and `receivers` receivers in it, each its own process,
/// ready to send.
struct Meeting {
    server: ChildGuard,
    sender: SdkChild,
    receivers: Vec<SdkChild>,
}

impl Meeting {
    fn start(args: &Args, dir: &TempDir, size: Size, receivers: usize) -> BenchResult<Meeting> {
        let (server, addr) = start_crvideo(&args.server.server_bin, dir.path(), "")?;
        let geometry = [
            size.width,
            size.height,
            size.fps as usize,
            size.kbps as usize,
        ];
        let mut role = vec!["sender".to_string(), addr.to_string()];
        role.extend(geometry.iter().map(|v| v.to_string()));
        let sender = SdkChild::spawn(&role)?;
        let meeting = sender.expect("meeting ", CHILD_STEP)?;
        let mut children = Vec::new();
        for n in 0..receivers {
            let role =
                ["receiver", &addr.to_string(), &meeting, &format!("r{n}")].map(String::from);
            let child = SdkChild::spawn(&role)?;
            child.expect("ready", CHILD_STEP)?;
            children.push(child);
        }
        Ok(Meeting {
            server,
            sender,
            receivers: children,
        })
    }

    /// Every receiver's latencies (µs) so far.
    fn latencies(&mut self) -> BenchResult<Vec<Duration>> {
        let mut samples = Vec::new();
        for child in &mut self.receivers {
            child.say("report")?;
            let line = child.expect("latencies", CHILD_STEP)?;
            samples.extend(
                line.split_whitespace()
                    .filter_map(|v| v.parse::<u64>().ok())
                    .map(Duration::from_micros),
            );
        }
        Ok(samples)
    }

    fn stop(mut self) {
        for child in self.receivers.iter_mut().chain([&mut self.sender]) {
            stop_child(&mut child.guard);
        }
        stop_child(&mut self.server);
    }
}

/// One latency run: a sender and `receivers` receivers, each its own process.
fn latency(args: &Args, size: Size, receivers: usize) -> BenchResult<(Latency, usize)> {
    println!(
        "\n== {}x{}@{}, {} receiver(s) ==",
        size.width, size.height, size.fps, receivers
    );
    let dir = TempDir::new("video-load")?;
    let mut meeting = Meeting::start(args, &dir, size, receivers)?;
    meeting.sender.say(&format!("send {}", args.secs))?;
    let sending = CHILD_STEP + Duration::from_secs(args.secs);
    meeting.sender.expect("sent", sending)?;
    let samples = meeting.latencies()?;
    meeting.stop();
    let lat = Latency::of(&samples);
    println!(
        "{} pictures: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        lat.p50_ms,
        lat.p99_ms,
        lat.max_ms
    );
    Ok((lat, samples.len()))
}

/// A receiver's memory over a long run: one sender and one receiver at `size`, sending for
/// `secs`; the receiver's and the server's RSS every [`MEMORY_SAMPLE`]. Returns the samples
/// (seconds since the start, receiver KiB, server KiB) and the pictures received.
fn receiver_memory(args: &Args, size: Size, secs: u64) -> BenchResult<(Vec<MemorySample>, usize)> {
    println!(
        "\n== receiver memory: {}x{}@{}, {} s ==",
        size.width, size.height, size.fps, secs
    );
    let dir = TempDir::new("video-load")?;
    let mut meeting = Meeting::start(args, &dir, size, 1)?;
    let (receiver, server) = (meeting.receivers[0].guard.pid(), meeting.server.pid());
    meeting.sender.say(&format!("send {secs}"))?;
    let (start, mut samples) = (Instant::now(), Vec::new());
    loop {
        let t = start.elapsed().as_secs();
        let sample = (t, rss_kib(receiver)?, rss_kib(server)?);
        println!(
            "t {:>4} s: receiver RSS {:.1} MiB, server RSS {:.1} MiB",
            sample.0,
            sample.1 as f64 / 1024.0,
            sample.2 as f64 / 1024.0
        );
        samples.push(sample);
        if t >= secs {
            break;
        }
        std::thread::sleep(MEMORY_SAMPLE.min(Duration::from_secs(secs - t)));
    }
    meeting.sender.expect("sent", CHILD_STEP)?;
    let pictures = meeting.latencies()?.len();
    meeting.stop();
    Ok((samples, pictures))
}

/// The memory run's table, and the receiver's growth after its first minute.
fn print_memory(samples: &[MemorySample], pictures: usize) {
    println!("\n## Summary (markdown)\n\n{pictures} pictures received\n");
    let table = Table::header(&["t s", "receiver RSS MiB", "server RSS MiB"]);
    for (t, receiver, server) in samples {
        let mib = |kib: &u64| format!("{:.1}", *kib as f64 / 1024.0);
        table.row(&[t.to_string(), mib(receiver), mib(server)]);
    }
    let settled = samples.iter().find(|s| s.0 >= 60).or(samples.first());
    if let (Some(settled), Some(last)) = (settled, samples.last()) {
        let growth = last.1 as i64 - settled.1 as i64;
        println!(
            "\nreceiver RSS from t = {} s to t = {} s: {growth:+} KiB",
            settled.0, last.0
        );
    }
}

/// (seconds since the start, receiver RSS KiB, server RSS KiB).
type MemorySample = (u64, u64, u64);

/// How often [`receiver_memory`] samples.
const MEMORY_SAMPLE: Duration = Duration::from_secs(10);

// ---- The child processes: one SDK each, through its C ABI ----

/// A receiver's latency of each picture, µs.
static PICTURES: OnceLock<mpsc::Sender<u64>> = OnceLock::new();

unsafe extern "C" fn video_data(_: *mut c_void, user: *const c_char, id: c_int, time: i64) {
    let latency = monotonic_us() - time;
    if let Some(tx) = PICTURES.get() {
        let _ = tx.send(latency.max(0) as u64);
    }
    // Take the picture, as an app does: it re-arms the notification.
    let mut img = std::ptr::null_mut();
    if CRVideo_GetVideoImg(user, id, VFMT_RGBA32, 0, 0, &mut img) == 0 {
        CRVideo_FreeVideoImg(img);
    }
}

/// `sender ADDR WIDTH HEIGHT FPS KBPS`: creates a meeting (prints `meeting ID`), enters
/// it, and on `send SECS` sends the pattern at FPS for SECS, then prints `sent`.
fn child_sender(role: &[String]) -> BenchResult<()> {
    let num = |i: usize| {
        role.get(i)
            .and_then(|v| v.parse::<usize>().ok())
            .ok_or("bad role")
    };
    let size = Size {
        width: num(2)?,
        height: num(3)?,
        fps: num(4)? as u32,
        kbps: num(5)? as u32,
    };
    let session = login(&role[1], "sender", CRVideo_Callbacks::default())?;
    let id = session.create_meeting()?;
    session.enter(id)?;
    let ext = CString::new(format!(r#"{{"fps":{},"maxKbps":{}}}"#, size.fps, size.kbps)).unwrap();
    let mut camera = 0;
    // SAFETY: valid strings and out pointer.
    let rc = unsafe {
        CRVideo_CreateCustomVideoDev(
            c"bench".as_ptr(),
            VFMT_RGBA32,
            size.width as c_int,
            size.height as c_int,
            ext.as_ptr(),
            &mut camera,
        )
    };
    if rc != 0 || unsafe { CRVideo_OpenVideo(c"sender".as_ptr()) } != 0 {
        return Err(format!("camera: {rc}"));
    }
    println!("meeting {id}");
    let frames: Vec<Vec<u8>> = (0..size.fps as u64 * 2).map(|n| pattern(size, n)).collect();
    for line in stdin_lines() {
        let Some(secs) = line
            .strip_prefix("send ")
            .and_then(|s| s.parse::<u64>().ok())
        else {
            continue;
        };
        let period = Duration::from_secs(1) / size.fps;
        let start = Instant::now();
        let total = secs * size.fps as u64;
        for n in 0..total {
            let due = start + period * n as u32;
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            let rgba = &frames[n as usize % frames.len()];
            // SAFETY: a valid buffer of the camera's size.
            unsafe {
                CRVideo_InputCustomVideoDat(camera, rgba.as_ptr(), rgba.len(), monotonic_us())
            };
        }
        tell("sent");
    }
    Ok(())
}

/// `receiver ADDR MEETING NAME`: enters, prints `ready`; on `report` prints `latencies`
/// and every picture's latency in µs.
fn child_receiver(role: &[String]) -> BenchResult<()> {
    let meeting: i32 = role
        .get(2)
        .and_then(|m| m.parse().ok())
        .ok_or("bad meeting")?;
    let (tx, pictures) = mpsc::channel();
    PICTURES.set(tx).map_err(|_| "twice")?;
    let callbacks = CRVideo_Callbacks {
        NotifyVideoData: Some(video_data),
        ..Default::default()
    };
    let name = role.get(3).map_or("receiver", String::as_str);
    let session = login(&role[1], name, callbacks)?;
    session.enter(meeting)?;
    tell("ready");
    for line in stdin_lines() {
        if line == "report" {
            let mut out = String::from("latencies");
            while let Ok(us) = pictures.try_recv() {
                out.push_str(&format!(" {us}"));
            }
            tell(&out);
        }
    }
    Ok(())
}
