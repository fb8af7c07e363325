//! Audio bench: what the SDK's Opus costs against ffmpeg's libopus on the same PCM (the
//! codec floor), the CPU of a member hearing 10 speakers (decode + jitter buffer + mix),
//! and the mouth-to-ear latency from `CRVideo_PushCustomAudioDat` on a sender to the same
//! samples out of a receiver's speaker side, through crvideo-server on loopback.
//!
//! ```text
//! audio_load [--server-bin PATH] [--secs 20] [--skip-ffmpeg] [--ffmpeg-bin PATH]
//! ```
//!
//! - The test signal: a new tone every 20 ms (300–3000 Hz, pseudo-random), so any 100 ms of
//!   it matches itself at one lag only (a single tone would match every period).
//! - Codec floor: encode / decode per 20 ms packet in this process with the SDK's code and
//!   with the system's libopus (dlopen, same settings) when there is one, and
//!   ffmpeg's CPU (user + system) encoding the same 60 s of PCM with
//!   `-c:a libopus -b:a 24k -application voip -frame_duration 20` (and decoding its own
//!   output), per packet.
//! - 10 speakers: the receiving side's work for 60 s of audio — 10 jitter buffers fed a
//!   packet each per 20 ms, the mix taken 10 ms at a time — timed on this thread's CPU
//!   clock, as a share of one core; plus one microphone's encoding.
//! - Mouth to ear: a sender and a receiver process (one SDK each) in a meeting. The sender
//!   pushes the signal at real time (20 ms a push) and notes each push's time on the
//!   machine's monotonic clock; the receiver takes the speaker side as NotifyAudioPCMDat of
//!   10 ms and notes each piece's arrival. Every 40 ms of the received stream, the 100 ms
//!   from there is found in the sent signal by cross-correlation; its latency is the
//!   piece's arrival minus when the matched sample was the app's (its push's time plus its
//!   place in the push, at 16 kHz). "added" is p50 minus the jitter buffer's nominal depth
//!   (40 ms); part of it is the codec's own delay (Opus's look-ahead), measured here by
//!   encoding and decoding in this process and correlating.

use std::ffi::{c_int, c_void, CString};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bytes::Bytes;
use clap::Parser;
use crvideo_bench::report::{Latency, Table};
use crvideo_bench::sdk_child::{
    child_cpu_secs, login, monotonic_us, stdin_lines, tell, SdkChild, CHILD_STEP,
};
use crvideo_bench::{start_crvideo, stop_child, BenchResult, ChildGuard, ServerArgs, TempDir};
use crvideosdk::audio::codec::{Decoder, Encoder, FRAME, RATE};
use crvideosdk::audio::jitter::{JitterBuffer, DEPTH};
use crvideosdk::audio::mixer::{Mixer, SpeakerKey, TICK};
use crvideosdk::ffi::audio::*;
use crvideosdk::ffi::callbacks::CRVideo_Callbacks;
use crvideosdk::ffi::rooms::*;

/// Audio latency and cost against ffmpeg's libopus (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"), args_override_self = true)]
struct Args {
    #[command(flatten)]
    server: ServerArgs,
    /// Seconds of audio of the latency run.
    #[arg(long, default_value = "20")]
    secs: u64,
    /// Leave out the ffmpeg peer.
    #[arg(long)]
    skip_ffmpeg: bool,
    /// Also write what the sender pushed and the receiver heard as sent.wav and heard.wav
    /// in this directory (to listen to, or to look at).
    #[arg(long)]
    wav_out: Option<std::path::PathBuf>,
    /// The ffmpeg binary (any with libopus: Debian's has it).
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg_bin: String,
    /// Internal: run as a child (sender ADDR | receiver ADDR MEETING).
    #[arg(long, num_args = 1.., hide = true)]
    child: Vec<String>,
}

/// Speakers of the mixing run.
const SPEAKERS: usize = 10;
/// Seconds of audio of the codec and mixing runs.
const FLOOR_SECS: usize = 60;

fn main() {
    let args = Args::parse();
    let outcome = match args.child.first().map(String::as_str) {
        Some("sender") => child_sender(&args.child),
        Some("receiver") => child_receiver(&args.child),
        _ => run(&args),
    };
    if let Err(e) = outcome {
        eprintln!("audio_load: {e}");
        std::process::exit(1);
    }
}

/// `secs` of the test signal of `seed`: 20 ms tones of pseudo-random frequencies, each
/// starting where the previous ended (no clicks), amplitude 8000.
fn signal(secs: usize, seed: u64) -> Vec<i16> {
    let mut state = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    let mut phase = 0.0f64;
    let mut out = Vec::with_capacity(secs * RATE);
    for _ in 0..secs * 50 {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let freq = 300.0 + (state >> 33) as f64 % 2700.0;
        for _ in 0..FRAME {
            phase += 2.0 * std::f64::consts::PI * freq / RATE as f64;
            out.push((8000.0 * phase.sin()).round() as i16);
        }
    }
    out
}

fn thread_cpu() -> Duration {
    let mut t = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut t) };
    Duration::new(t.tv_sec as u64, t.tv_nsec as u32)
}

fn run(args: &Args) -> BenchResult<()> {
    args.server.check()?;
    println!(
        "machine: {} cores; load average {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let (enc, dec) = codec_floor()?;
    let codec_ms = codec_delay(&signal(1, 3))?;
    println!("the codec's own delay (encode → decode, by correlation): {codec_ms:.2} ms");
    let ffmpeg = ffmpeg_floor(args)?;
    let libopus = libopus_floor()?;
    if let Some((e, d, name)) = &libopus {
        println!(
            "{name} (the system's, called directly): encode p50 {:.1} µs, decode p50 {:.1} µs",
            e.p50_ms * 1e3,
            d.p50_ms * 1e3
        );
    }
    let (mix_share, encode_share) = ten_speakers()?;
    let (latency, windows) = mouth_to_ear(args)?;

    println!("\n## Summary (markdown)\n");
    let table = Table::header(&[
        "per 20 ms packet (16 kHz mono, 24 kbit/s)",
        "ours (opus-rs)",
        "libopus, called directly",
        "ffmpeg -c:a libopus CPU",
        "ours / libopus",
        "ours / ffmpeg",
    ]);
    let cell = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.1} µs"));
    let ratio =
        |ours: f64, theirs: Option<f64>| theirs.map_or("-".into(), |t| format!("{:.2}", ours / t));
    let direct = |pick: fn(&(Latency, Latency, String)) -> &Latency| {
        libopus.as_ref().map(|l| pick(l).p50_ms * 1e3)
    };
    for (what, ours, theirs, ffmpeg) in [
        ("encode", enc, direct(|l| &l.0), ffmpeg.0),
        ("decode", dec, direct(|l| &l.1), ffmpeg.1),
    ] {
        let p50 = ours.p50_ms * 1e3;
        table.row(&[
            what.to_string(),
            format!("{p50:.1} µs (p99 {:.1})", ours.p99_ms * 1e3),
            cell(theirs),
            cell(ffmpeg),
            ratio(p50, theirs),
            ratio(p50, ffmpeg),
        ]);
    }
    println!();
    let table = Table::header(&["work per second of audio", "share of one core"]);
    table.row(&[
        format!("hearing {SPEAKERS} speakers: decode + jitter buffers + mix"),
        format!("{:.2} %", mix_share * 100.0),
    ]);
    table.row(&[
        "one microphone: encode".to_string(),
        format!("{:.2} %", encode_share * 100.0),
    ]);
    println!();
    let table = Table::header(&[
        "mouth to ear (push → speaker side)",
        "windows",
        "p50 ms",
        "p99 ms",
        "max ms",
        "added p50 ms (minus the 40 ms buffer)",
        "of which the codec's look-ahead",
    ]);
    table.row(&[
        "1 sender, 1 receiver, loopback".to_string(),
        windows.to_string(),
        format!("{:.1}", latency.p50_ms),
        format!("{:.1}", latency.p99_ms),
        format!("{:.1}", latency.max_ms),
        format!("{:.1}", latency.p50_ms - DEPTH.as_secs_f64() * 1e3),
        format!("{codec_ms:.1}"),
    ]);
    Ok(())
}

/// Encode and decode time per packet with the SDK's codec.
fn codec_floor() -> BenchResult<(Latency, Latency)> {
    let pcm = signal(FLOOR_SECS, 1);
    let (mut encoder, mut decoder) = (Encoder::new()?, Decoder::new()?);
    let (mut enc, mut dec, mut bytes) = (Vec::new(), Vec::new(), 0);
    let mut out = [0i16; FRAME];
    for frame in pcm.chunks_exact(FRAME) {
        let frame: &[i16; FRAME] = frame.try_into().expect("FRAME");
        let start = Instant::now();
        let packet = encoder.encode(frame)?.to_vec();
        enc.push(start.elapsed());
        bytes += packet.len();
        let start = Instant::now();
        decoder.decode(Some(&packet), &mut out);
        dec.push(start.elapsed());
    }
    let (enc, dec) = (Latency::of(&enc), Latency::of(&dec));
    println!(
        "ours: {} packets, {:.1} bytes each; encode p50 {:.1} µs, decode p50 {:.1} µs",
        pcm.len() / FRAME,
        bytes as f64 / (pcm.len() / FRAME) as f64,
        enc.p50_ms * 1e3,
        dec.p50_ms * 1e3
    );
    Ok((enc, dec))
}

/// How much later the decoded signal comes out than it went in (ms): Opus's look-ahead.
fn codec_delay(pcm: &[i16]) -> BenchResult<f64> {
    let (mut encoder, mut decoder) = (Encoder::new()?, Decoder::new()?);
    let mut out = Vec::new();
    let mut decoded = [0i16; FRAME];
    for frame in pcm[..RATE].chunks_exact(FRAME) {
        let packet = encoder.encode(frame.try_into().expect("FRAME"))?.to_vec();
        decoder.decode(Some(&packet), &mut decoded);
        out.extend_from_slice(&decoded);
    }
    let window = &pcm[RATE / 4..RATE / 4 + RATE / 10];
    let (at, _) = best_match(&out, window, RATE / 4..RATE / 4 + RATE / 20);
    Ok((at - RATE / 4) as f64 * 1000.0 / RATE as f64)
}

/// The system's libopus (the C library ffmpeg uses), called directly on the same signal at
/// the same settings (VoIP, 24 kbit/s, complexity 9 like opus-rs's default): encode and
/// decode per packet; None when `libopus.so.0` is not there.
fn libopus_floor() -> BenchResult<Option<(Latency, Latency, String)>> {
    type Create = unsafe extern "C" fn(i32, c_int, c_int, *mut c_int) -> *mut c_void;
    type Ctl = unsafe extern "C" fn(*mut c_void, c_int, ...) -> c_int;
    type Encode = unsafe extern "C" fn(*mut c_void, *const i16, c_int, *mut u8, i32) -> i32;
    type Decode =
        unsafe extern "C" fn(*mut c_void, *const u8, i32, *mut i16, c_int, c_int) -> c_int;
    type Version = unsafe extern "C" fn() -> *const std::ffi::c_char;
    // SAFETY: dlopen/dlsym with valid strings; the symbols are cast to libopus's documented
    // signatures (opus.h) and called with buffers of the sizes they are told.
    unsafe {
        let lib = libc::dlopen(c"libopus.so.0".as_ptr(), libc::RTLD_NOW);
        if lib.is_null() {
            return Ok(None);
        }
        let sym = |name: &std::ffi::CStr| {
            let f = libc::dlsym(lib, name.as_ptr());
            (!f.is_null())
                .then_some(f)
                .ok_or(format!("libopus without {name:?}"))
        };
        let enc_create: Create = std::mem::transmute(sym(c"opus_encoder_create")?);
        let dec_create: Create = std::mem::transmute(sym(c"opus_decoder_create")?);
        let enc_ctl: Ctl = std::mem::transmute(sym(c"opus_encoder_ctl")?);
        let encode: Encode = std::mem::transmute(sym(c"opus_encode")?);
        let decode: Decode = std::mem::transmute(sym(c"opus_decode")?);
        let version: Version = std::mem::transmute(sym(c"opus_get_version_string")?);
        const VOIP: c_int = 2048;
        const SET_BITRATE: c_int = 4002;
        const SET_COMPLEXITY: c_int = 4010;
        let mut err = 0;
        let enc = enc_create(RATE as i32, 1, VOIP, &mut err);
        let dec = dec_create(RATE as i32, 1, 0, &mut err);
        if enc.is_null() || dec.is_null() {
            return Err("libopus: cannot create a codec".into());
        }
        enc_ctl(enc, SET_BITRATE, 24_000 as c_int);
        enc_ctl(enc, SET_COMPLEXITY, 9 as c_int);
        let pcm = signal(FLOOR_SECS, 1);
        let (mut packet, mut out) = ([0u8; 1500], [0i16; FRAME]);
        let (mut enc_t, mut dec_t) = (Vec::new(), Vec::new());
        for frame in pcm.chunks_exact(FRAME) {
            let start = Instant::now();
            let len = encode(
                enc,
                frame.as_ptr(),
                FRAME as c_int,
                packet.as_mut_ptr(),
                1500,
            );
            enc_t.push(start.elapsed());
            let start = Instant::now();
            decode(
                dec,
                packet.as_ptr(),
                len,
                out.as_mut_ptr(),
                FRAME as c_int,
                0,
            );
            dec_t.push(start.elapsed());
        }
        let name = std::ffi::CStr::from_ptr(version())
            .to_string_lossy()
            .into_owned();
        Ok(Some((Latency::of(&enc_t), Latency::of(&dec_t), name)))
    }
}

/// ffmpeg's CPU per packet encoding the same PCM with libopus, and decoding that; None
/// when skipped or this ffmpeg cannot.
fn ffmpeg_floor(args: &Args) -> BenchResult<(Option<f64>, Option<f64>)> {
    if args.skip_ffmpeg {
        return Ok((None, None));
    }
    let dir = TempDir::new("audio-ffmpeg")?;
    let (raw, opus) = (dir.path().join("in.raw"), dir.path().join("out.ogg"));
    let pcm = signal(FLOOR_SECS, 1);
    let bytes: Vec<u8> = pcm.iter().flat_map(|s| s.to_le_bytes()).collect();
    std::fs::write(&raw, bytes).map_err(|e| e.to_string())?;
    let packets = (pcm.len() / FRAME) as f64;
    let ffmpeg = |inputs: &[&str], input: &Path, outputs: &[&str]| {
        let mut command = Command::new(&args.ffmpeg_bin);
        command
            .args(["-hide_banner", "-loglevel", "error", "-y", "-threads", "1"])
            .args(inputs)
            .arg("-i")
            .arg(input)
            .args(outputs)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        child_cpu_secs(command)
    };
    let raw_in = ["-f", "s16le", "-ar", "16000", "-ac", "1"];
    let out = opus.to_str().ok_or("path")?;
    let libopus = [
        "-c:a",
        "libopus",
        "-b:a",
        "24k",
        "-application",
        "voip",
        "-frame_duration",
        "20",
    ];
    // Each run twice: the whole input, and its first second only (`-t 1`), whose
    // difference leaves ffmpeg's start-up out.
    let encode_for = |limit: &[&str]| {
        let inputs: Vec<&str> = raw_in.iter().chain(limit).copied().collect();
        let outputs: Vec<&str> = libopus.iter().copied().chain([out]).collect();
        ffmpeg(&inputs, &raw, &outputs)
    };
    let decode_for = |limit: &[&str]| ffmpeg(limit, &opus, &["-f", "null", "-"]);
    let difference = |whole: Option<f64>, second: Option<f64>| match (whole, second) {
        (Some(w), Some(s)) => Some((w - s).max(0.0)),
        _ => None,
    };
    let short = encode_for(&["-t", "1"])?;
    let encode = difference(encode_for(&[])?, short);
    let decode = match encode {
        Some(_) => difference(decode_for(&[])?, decode_for(&["-t", "1"])?),
        None => None,
    };
    let packets = packets - 50.0;
    let per_packet = |cpu: Option<f64>| cpu.map(|s| s * 1e6 / packets);
    println!(
        "ffmpeg libopus: encode {:?} µs, decode {:?} µs per packet (CPU, ffmpeg's start-up left out)",
        per_packet(encode),
        per_packet(decode)
    );
    Ok((per_packet(encode), per_packet(decode)))
}

/// The receiving side of a member hearing 10 speakers for [`FLOOR_SECS`], and one
/// microphone's encoding, as shares of one core.
fn ten_speakers() -> BenchResult<(f64, f64)> {
    let mut streams = Vec::new();
    let mut encode_cpu = Duration::ZERO;
    for seed in 0..SPEAKERS as u64 {
        let mut encoder = Encoder::new()?;
        let pcm = signal(FLOOR_SECS, seed + 10);
        let start = thread_cpu();
        let packets: Vec<Bytes> = (pcm.chunks_exact(FRAME))
            .map(|f| {
                let frame: &[i16; FRAME] = f.try_into().expect("FRAME");
                encoder.encode(frame).map(Bytes::copy_from_slice)
            })
            .collect::<Result<_, _>>()?;
        encode_cpu += thread_cpu() - start;
        streams.push(packets);
    }
    let mut mixer = Mixer::default();
    let key = |n: usize| SpeakerKey {
        user_id: format!("s{n}"),
        media: false,
    };
    for n in 0..SPEAKERS {
        mixer.speakers.insert(key(n), JitterBuffer::new()?);
    }
    // A simulated clock: packets arrive on time, the mix is taken every 10 ms.
    let t0 = Instant::now();
    let mut peak = 0i32;
    let start = thread_cpu();
    for k in 0..FLOOR_SECS * 50 {
        let now = t0 + Duration::from_millis(20 * k as u64);
        for (n, stream) in streams.iter().enumerate() {
            let jb = mixer.speakers.get_mut(&key(n)).expect("inserted");
            jb.push(k as u32, stream[k].clone(), now);
        }
        for half in 0..2 {
            let pcm = mixer.tick(now + Duration::from_millis(10 * half), Duration::ZERO);
            peak = peak.max(pcm.iter().map(|s| i32::from(*s).abs()).max().unwrap_or(0));
        }
    }
    let mix_cpu = thread_cpu() - start;
    let share = |cpu: Duration| cpu.as_secs_f64() / FLOOR_SECS as f64;
    let one_mic = encode_cpu / SPEAKERS as u32;
    println!(
        "{SPEAKERS} speakers, {FLOOR_SECS} s: decode + mix {:.3} s CPU ({:.2} % of a core), peak {peak} (limited, not clipped: {}); one mic's encode {:.2} % of a core",
        mix_cpu.as_secs_f64(),
        share(mix_cpu) * 100.0,
        peak <= 32767 && TICK == 160,
        share(one_mic) * 100.0
    );
    Ok((share(mix_cpu), share(one_mic)))
}

// ---- Mouth to ear ----

/// One latency run: a server, a sender and a receiver process.
fn mouth_to_ear(args: &Args) -> BenchResult<(Latency, usize)> {
    println!("\n== mouth to ear: {} s ==", args.secs);
    let dir = TempDir::new("audio-load")?;
    let (mut server, addr): (ChildGuard, _) =
        start_crvideo(&args.server.server_bin, dir.path(), "")?;
    let mut sender = SdkChild::spawn(&["sender".into(), addr.to_string()])?;
    let meeting = sender.expect("meeting ", CHILD_STEP)?;
    let mut receiver = SdkChild::spawn(&["receiver".into(), addr.to_string(), meeting])?;
    receiver.expect("ready", CHILD_STEP)?;
    let pushes_file = dir.path().join("pushes.bin");
    let heard_file = dir.path().join("heard.bin");
    sender.say(&format!("send {} {}", args.secs, pushes_file.display()))?;
    sender.expect("sent", CHILD_STEP + Duration::from_secs(args.secs))?;
    // The tail plays out.
    std::thread::sleep(Duration::from_millis(300));
    receiver.say(&format!("report {}", heard_file.display()))?;
    receiver.expect("reported", CHILD_STEP)?;
    for child in [&mut sender.guard, &mut receiver.guard, &mut server] {
        stop_child(child);
    }
    let read_i64s = |path: &Path| -> BenchResult<Vec<i64>> {
        let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
        Ok((bytes.chunks_exact(8))
            .map(|b| i64::from_le_bytes(b.try_into().expect("8")))
            .collect())
    };
    let pushes = read_i64s(&pushes_file)?;
    let heard = read_heard(&heard_file)?;
    let sent = signal(args.secs as usize, 7);
    if let Some(dir) = &args.wav_out {
        let stream: Vec<i16> = heard
            .iter()
            .flat_map(|(_, pcm)| pcm.iter().copied())
            .collect();
        write_wav(&dir.join("sent.wav"), &sent)?;
        write_wav(&dir.join("heard.wav"), &stream)?;
        println!("wrote sent.wav and heard.wav in {}", dir.display());
    }
    let samples = match_latencies(&sent, &pushes, &heard)?;
    let lat = Latency::of(&samples);
    println!(
        "{} windows: p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        samples.len(),
        lat.p50_ms,
        lat.p99_ms,
        lat.max_ms
    );
    Ok((lat, samples.len()))
}

/// `pcm` as a 16 kHz mono WAV file.
fn write_wav(path: &Path, pcm: &[i16]) -> BenchResult<()> {
    let mut bytes = crvideosdk::audio::tap::wav_header((pcm.len() * 2) as u32).to_vec();
    bytes.extend(pcm.iter().flat_map(|s| s.to_le_bytes()));
    std::fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The receiver's file: pieces of (arrival µs, 160 samples).
fn read_heard(path: &Path) -> BenchResult<Vec<(i64, Vec<i16>)>> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    Ok((bytes.chunks_exact(8 + TICK * 2))
        .map(|piece| {
            let at = i64::from_le_bytes(piece[..8].try_into().expect("8"));
            let pcm = (piece[8..].chunks_exact(2))
                .map(|b| i16::from_le_bytes([b[0], b[1]]))
                .collect();
            (at, pcm)
        })
        .collect())
}

/// Normalised cross-correlation of `a` and `b` (same length).
fn correlation(a: &[i16], b: &[i16]) -> f64 {
    let (mut ab, mut aa, mut bb) = (0.0f64, 0.0f64, 0.0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        ab += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        0.0
    } else {
        ab / (aa * bb).sqrt()
    }
}

/// Where the received window `window` is in `sent`, searching `range`: (index, score).
fn best_match(sent: &[i16], window: &[i16], range: std::ops::Range<usize>) -> (usize, f64) {
    let last = sent.len().saturating_sub(window.len());
    (range.start.min(last)..range.end.min(last + 1))
        .map(|s| (s, correlation(window, &sent[s..s + window.len()])))
        .fold((0, f64::MIN), |best, m| if m.1 > best.1 { m } else { best })
}

/// The latency of every 40 ms of the received stream (see the module's notes).
fn match_latencies(
    sent: &[i16],
    pushes: &[i64],
    heard: &[(i64, Vec<i16>)],
) -> BenchResult<Vec<Duration>> {
    const WINDOW: usize = RATE / 10;
    const STEP_PIECES: usize = 4;
    let stream: Vec<i16> = heard
        .iter()
        .flat_map(|(_, pcm)| pcm.iter().copied())
        .collect();
    // The signal starts at the first loud piece: find it coarsely there, then follow it.
    let first = (heard.iter())
        .position(|(_, pcm)| pcm.iter().any(|s| s.abs() > 2000))
        .ok_or("the receiver heard nothing")?;
    println!(
        "onset: the first loud piece arrived {:.1} ms after the first push",
        (heard[first].0 - pushes.first().ok_or("no pushes")?) as f64 / 1e3
    );
    let mut expected: Option<usize> = None;
    let mut latencies = Vec::new();
    let mut weak = 0;
    for piece in (first + 2..heard.len()).step_by(STEP_PIECES) {
        let at = piece * TICK;
        if at + WINDOW > stream.len() {
            break;
        }
        let window = &stream[at..at + WINDOW];
        if window.iter().all(|s| s.abs() < 500) {
            continue; // the tail after the signal
        }
        let range = match expected {
            None => 0..(RATE / 2).min(sent.len()),
            Some(e) => e.saturating_sub(RATE / 100)..e + RATE / 100,
        };
        let (s, score) = best_match(sent, window, range);
        if score < 0.5 {
            weak += 1;
            continue;
        }
        expected = Some(s + STEP_PIECES * TICK);
        // Both streams in real time: sample s of a push at T was the app's at T plus its
        // place in the push; the piece plays from its arrival on.
        let push = pushes.get(s / FRAME).ok_or("matched past the pushes")?;
        let mouth = push + ((s % FRAME) * 1_000_000 / RATE) as i64;
        let us = heard[piece].0 - mouth;
        if latencies.is_empty() {
            println!("first window: piece {piece} (sample {at}) matches sent sample {s}, score {score:.3}");
        }
        latencies.push(Duration::from_micros(us.max(0) as u64));
    }
    if weak > 0 {
        println!("{weak} windows matched weakly (correlation < 0.5) and were left out");
    }
    Ok(latencies)
}

// ---- The child processes: one SDK each, through its C ABI ----

/// The receiver's speaker side: (arrival µs, samples) of each piece.
static HEARD: Mutex<Vec<(i64, Vec<i16>)>> = Mutex::new(Vec::new());

unsafe extern "C" fn audio_pcm(_: *mut c_void, side: c_int, pcm: *const u8, len: usize) {
    let at = monotonic_us();
    if side != 1 {
        return;
    }
    let bytes = std::slice::from_raw_parts(pcm, len);
    let samples = (bytes.chunks_exact(2))
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    HEARD.lock().expect("not poisoned").push((at, samples));
}

/// `sender ADDR`: creates a meeting (prints `meeting ID`), enters with its mic open; on
/// `send SECS PATH` pushes the signal at real time, writes each push's time (µs, i64 LE)
/// to PATH, and prints `sent`.
fn child_sender(role: &[String]) -> BenchResult<()> {
    let session = login(&role[1], "sender", CRVideo_Callbacks::default())?;
    let id = session.create_meeting()?;
    session.enter(id)?;
    // SAFETY: valid strings.
    let rc = unsafe {
        CRVideo_SetCustomAudioCapture(1, std::ptr::null()) | CRVideo_OpenMic(c"sender".as_ptr())
    };
    if rc != 0 {
        return Err(format!("mic: {rc}"));
    }
    tell(&format!("meeting {id}"));
    for line in stdin_lines() {
        let mut words = line.split(' ');
        let (Some("send"), Some(secs), Some(path)) = (words.next(), words.next(), words.next())
        else {
            continue;
        };
        let secs: usize = secs.parse().map_err(|_| "bad secs")?;
        let pcm: Vec<u8> = (signal(secs, 7).iter())
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let mut pushes = Vec::new();
        let start = Instant::now();
        for (n, chunk) in pcm.chunks_exact(FRAME * 2).enumerate() {
            let due = start + Duration::from_millis(20 * n as u64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
            pushes.push(monotonic_us());
            // SAFETY: a valid buffer.
            unsafe { CRVideo_PushCustomAudioDat(chunk.as_ptr(), chunk.len()) };
        }
        let bytes: Vec<u8> = pushes.iter().flat_map(|t| t.to_le_bytes()).collect();
        std::fs::write(path, bytes).map_err(|e| e.to_string())?;
        tell("sent");
    }
    Ok(())
}

/// `receiver ADDR MEETING`: enters, takes the speaker side in 10 ms pieces, prints
/// `ready`; on `report PATH` writes every piece (arrival µs i64 LE, 160 samples i16 LE)
/// to PATH and prints `reported`.
fn child_receiver(role: &[String]) -> BenchResult<()> {
    let meeting: i32 = role
        .get(2)
        .and_then(|m| m.parse().ok())
        .ok_or("bad meeting")?;
    let callbacks = CRVideo_Callbacks {
        NotifyAudioPCMDat: Some(audio_pcm),
        ..Default::default()
    };
    let session = login(&role[1], "receiver", callbacks)?;
    session.enter(meeting)?;
    let each = CString::new(format!(r#"{{"EachSize":{}}}"#, TICK * 2)).unwrap();
    // SAFETY: a valid string.
    if unsafe { CRVideo_StartGetAudioPCM(1, 0, each.as_ptr()) } != 0 {
        return Err("StartGetAudioPCM".into());
    }
    tell("ready");
    for line in stdin_lines() {
        let Some(path) = line.strip_prefix("report ") else {
            continue;
        };
        let heard = std::mem::take(&mut *HEARD.lock().expect("not poisoned"));
        let mut file = std::fs::File::create(path).map_err(|e| e.to_string())?;
        for (at, pcm) in heard {
            let mut piece = at.to_le_bytes().to_vec();
            piece.extend(pcm.iter().flat_map(|s| s.to_le_bytes()));
            file.write_all(&piece).map_err(|e| e.to_string())?;
        }
        tell("reported");
    }
    Ok(())
}
