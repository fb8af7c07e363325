//! Playback bench: what shared media playback costs per second of media, on one core, for
//! a 1280x720 @ 30 fps clip (H.264 at 2 Mbit/s + Opus): the player (decodes the file's
//! pictures for its own view and sends the file's own; encodes every picture again only
//! for a file over 4 Mbit/s, also measured; transcodes the sound into the meeting's
//! packets) and each viewer (decodes the pictures and sound it gets), against ffmpeg with
//! one thread: transcoding the file (libx264 `ultrafast zerolatency`, and libopenh264 when
//! the ffmpeg build has it, + libopus: what a player that always encodes again does) and
//! decoding the same stream as our viewer (its own H.264 decoder, and libopenh264's).
//!
//! ```text
//! playback_load [--frames 300] [--runs 3] [--ffmpeg-bin ffmpeg] [--skip-ffmpeg]
//! ```
//!
//! Ours runs the player's and a viewer's steps in this process on one thread
//! (`crvideosdk::media::player::encode_settings`, `media::sound::Transcoder`,
//! `VideoDecoder`, the audio `Decoder`), the network left out; the player's output is
//! written to an MP4 file so that ffmpeg decodes exactly what our viewer decodes. CPU is
//! user + system time: this thread's (`RUSAGE_THREAD`), and ffmpeg's (`wait4`).

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};

use clap::Parser;
use crvideo_bench::procfs::thread_cpu_secs;
use crvideo_bench::sdk_child::child_cpu_secs;
use crvideo_bench::{BenchResult, TempDir};
use crvideosdk::audio::codec::{Decoder, Encoder, FRAME, RATE};
use crvideosdk::media::player::{encode_settings, frame_rate};
use crvideosdk::media::sound::Transcoder;
use crvideosdk::record::mp4::{Mp4Writer, OpusTrack, VideoTrack, VIDEO_TIMESCALE};
use crvideosdk::record::mp4_read::{annex_b, Codec, Mp4File};
use crvideosdk::video::codec::{EncodeSettings, VideoDecoder, VideoEncoder};
use crvideosdk::video::picture::{Picture, VFMT_RGBA32};

const W: usize = 1280;
const H: usize = 720;
const FPS: u32 = 30;
const CLIP_KBPS: u32 = 2000;

/// Playback CPU against ffmpeg (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"))]
struct Args {
    /// Pictures of the clip (at 30 fps).
    #[arg(long, default_value = "300")]
    frames: usize,
    /// Rounds, ours and ffmpeg's interleaved; the median is reported.
    #[arg(long, default_value = "3")]
    runs: usize,
    #[arg(long, default_value = "ffmpeg")]
    ffmpeg_bin: String,
    #[arg(long)]
    skip_ffmpeg: bool,
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("playback_load: {e}");
        std::process::exit(1);
    }
}

fn io(e: std::io::Error) -> String {
    e.to_string()
}

/// The clip: the bench's moving pattern at W×H, FPS, CLIP_KBPS, a key picture every 2 s,
/// and a 440 Hz tone.
fn make_clip(path: &Path, frames: usize) -> BenchResult<()> {
    let video = VideoTrack {
        width: W as u16,
        height: H as u16,
        frame_ticks: VIDEO_TIMESCALE / FPS,
    };
    let audio = OpusTrack {
        channels: 1,
        pre_skip: 312,
        input_rate: RATE as u32,
    };
    let file = File::create(path).map_err(io)?;
    let mut mp4 = Mp4Writer::new(file, Some(video), Some(audio)).map_err(io)?;
    let mut encoder = VideoEncoder::for_file(EncodeSettings {
        fps: FPS as f32,
        kbps: CLIP_KBPS,
        screen: false,
    })?;
    let mut opus = Encoder::new()?;
    let packets = frames as u64 * 50 / FPS as u64;
    let mut next = 0u64;
    for k in 0..packets {
        while next * 1000 / FPS as u64 <= k * 20 && next < frames as u64 {
            if next.is_multiple_of(2 * FPS as u64) {
                encoder.force_key();
            }
            let rgba = crvideo_bench::video::pattern(W, H, next);
            let picture = Picture::from_image(VFMT_RGBA32, W, H, &rgba, 0);
            let ms = next * 1000 / FPS as u64;
            if let Some(e) = encoder.encode_at(&picture, ms)? {
                let ticks = next * (VIDEO_TIMESCALE / FPS) as u64;
                mp4.write_video(ticks, &e.data, e.key).map_err(io)?;
            }
            next += 1;
        }
        let pcm: [i16; FRAME] = std::array::from_fn(|i| {
            let t = (k as usize * FRAME + i) as f64 / RATE as f64;
            (8000.0 * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
        });
        mp4.write_audio(k * 960, opus.encode(&pcm)?).map_err(io)?;
    }
    mp4.finish().map_err(io)?;
    Ok(())
}

/// The player's work on the whole clip, what it sends written to `relayed`: CPU s. It
/// decodes every picture (its own view) and sends the file's own pictures, or, with
/// `encode_all` (a file over the player's 4 Mbit/s relay limit), every picture encoded
/// again.
fn player(clip: &Path, relayed: &Path, encode_all: bool) -> BenchResult<f64> {
    let cpu0 = thread_cpu_secs();
    let mut mp4 = Mp4File::open(clip).map_err(|e| format!("{e:?}"))?;
    let video = mp4.video.clone().ok_or("no video track")?;
    let audio = mp4.audio.clone().ok_or("no audio track")?;
    let fps = frame_rate(&video);
    let out_video = VideoTrack {
        width: video.width,
        height: video.height,
        frame_ticks: (VIDEO_TIMESCALE as f32 / fps) as u32,
    };
    let out_audio = OpusTrack {
        channels: 1,
        pre_skip: 312,
        input_rate: RATE as u32,
    };
    let file = File::create(relayed).map_err(io)?;
    let mut out = Mp4Writer::new(file, Some(out_video), Some(out_audio)).map_err(io)?;
    let mut decoder = VideoDecoder::new()?;
    let settings = encode_settings(video.width as usize, video.height as usize, fps);
    let mut encoder = VideoEncoder::new(settings)?;
    for sample in &video.samples {
        let data = mp4.read(sample).map_err(io)?;
        let data = annex_b(&video.codec, &data, sample.key).ok_or("bad sample")?;
        let ms = video.ms(sample.time);
        let ticks = ms * VIDEO_TIMESCALE as u64 / 1000;
        let Some(picture) = decoder.decode(&data, ms as i64)? else {
            continue;
        };
        if !encode_all {
            out.write_video(ticks, &data, sample.key).map_err(io)?;
        } else if let Some(e) = encoder.encode_at(&picture, ms)? {
            out.write_video(ticks, &e.data, e.key).map_err(io)?;
        }
    }
    let Codec::Opus { pre_skip, .. } = audio.codec else {
        return Err("not Opus".into());
    };
    let mut sound = Transcoder::new(pre_skip)?;
    let mut packets = Vec::new();
    for sample in &audio.samples {
        let data = mp4.read(sample).map_err(io)?;
        sound.packet(&data, |p| packets.push(p.to_vec()));
    }
    for (k, packet) in packets.iter().enumerate() {
        out.write_audio(k as u64 * 960, packet).map_err(io)?;
    }
    out.finish().map_err(io)?;
    Ok(thread_cpu_secs() - cpu0)
}

/// A viewer's work on the relayed stream: CPU s.
fn viewer(relayed: &Path) -> BenchResult<f64> {
    let mut mp4 = Mp4File::open(relayed).map_err(|e| format!("{e:?}"))?;
    let video = mp4.video.clone().ok_or("no video track")?;
    let audio = mp4.audio.clone().ok_or("no audio track")?;
    // The samples as the network would hand them (read before the clock starts).
    let pictures: Vec<Vec<u8>> = (video.samples.iter())
        .map(|s| {
            let data = mp4.read(s).map_err(io)?;
            annex_b(&video.codec, &data, s.key).ok_or_else(|| "bad sample".to_string())
        })
        .collect::<BenchResult<_>>()?;
    let packets: Vec<Vec<u8>> = (audio.samples.iter())
        .map(|s| mp4.read(s).map_err(io))
        .collect::<BenchResult<_>>()?;
    let cpu0 = thread_cpu_secs();
    let mut decoder = VideoDecoder::new()?;
    for (n, picture) in pictures.iter().enumerate() {
        decoder.decode(picture, n as i64)?;
    }
    let mut sound = Decoder::new()?;
    let mut pcm = [0i16; FRAME];
    for packet in &packets {
        sound.decode(Some(packet), &mut pcm);
    }
    Ok(thread_cpu_secs() - cpu0)
}

/// ffmpeg with one thread on `input` (`before`: options before it, `after`: the output's):
/// CPU s, or None when this ffmpeg cannot (a codec it lacks).
fn ffmpeg(args: &Args, before: &[&str], input: &Path, after: &[&str]) -> BenchResult<Option<f64>> {
    let mut command = Command::new(&args.ffmpeg_bin);
    command
        .args(["-hide_banner", "-loglevel", "error", "-y", "-threads", "1"])
        .args(before)
        .arg("-i")
        .arg(input)
        .args(["-threads", "1"])
        .args(after)
        .args(["-f", "null", "-"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    child_cpu_secs(command)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

fn run(args: &Args) -> BenchResult<()> {
    let secs = args.frames as f64 / FPS as f64;
    let dir = TempDir::new("playback-bench")?;
    let clip = dir.path().join("clip.mp4");
    let relayed = dir.path().join("relayed.mp4");
    make_clip(&clip, args.frames)?;
    let settings = encode_settings(W, H, FPS as f32);
    println!(
        "machine: {} cores; clip {W}x{H} @ {FPS} fps, {CLIP_KBPS} kbit/s + Opus, {secs:.1} s; \
         encoded again at {} kbit/s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        settings.kbps
    );
    let kbps = format!("{}k", settings.kbps);
    let opus = ["-c:a", "libopus", "-b:a", "24k", "-ar", "16000", "-ac", "1"];
    let x264 = [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-tune",
        "zerolatency",
    ];
    let transcodes: [(&str, Vec<&str>); 2] = [
        (
            "ffmpeg transcode: libx264 ultrafast zerolatency + libopus",
            x264.to_vec(),
        ),
        (
            "ffmpeg transcode: libopenh264 + libopus",
            vec!["-c:v", "libopenh264"],
        ),
    ];
    let decodes: [(&str, Vec<&str>); 2] = [
        ("ffmpeg decode: its H.264 decoder + Opus", vec![]),
        (
            "ffmpeg decode: libopenh264 + Opus",
            vec!["-c:v", "libopenh264"],
        ),
    ];
    let mut rows: Vec<(String, Vec<f64>)> = Vec::new();
    let add = |rows: &mut Vec<(String, Vec<f64>)>, name: &str, cpu: f64| {
        match rows.iter_mut().find(|(n, _)| n == name) {
            Some((_, v)) => v.push(cpu),
            None => rows.push((name.to_string(), vec![cpu])),
        }
        println!(
            "{name}: CPU {cpu:.2} s ({:.1} % of a core)",
            cpu / secs * 100.0
        );
    };
    let encoded = dir.path().join("encoded.mp4");
    for _ in 0..args.runs {
        let cpu = player(&clip, &encoded, true)?;
        let name = "crvideo player, encoding every picture again (decode + encode + Opus)";
        add(&mut rows, name, cpu);
        let cpu = player(&clip, &relayed, false)?;
        add(
            &mut rows,
            "crvideo player, sending the file's pictures (decode + Opus)",
            cpu,
        );
        let cpu = viewer(&relayed)?;
        add(&mut rows, "crvideo viewer (OpenH264 decode + Opus)", cpu);
        if args.skip_ffmpeg {
            continue;
        }
        for (name, codec) in &transcodes {
            let mut after = codec.clone();
            after.extend(["-b:v", &kbps]);
            after.extend(opus);
            if let Some(cpu) = ffmpeg(args, &[], &clip, &after)? {
                add(&mut rows, name, cpu);
            }
        }
        for (name, decoder) in &decodes {
            if let Some(cpu) = ffmpeg(args, decoder, &relayed, &[])? {
                add(&mut rows, name, cpu);
            }
        }
    }
    let medians: Vec<(String, f64)> = rows.into_iter().map(|(n, v)| (n, median(v))).collect();
    let of = |prefix: &str| {
        (medians.iter())
            .find(|(n, _)| n.starts_with(prefix))
            .map_or(f64::NAN, |(_, c)| *c)
    };
    let (ours_player, ours_viewer) = (of("crvideo player, sending"), of("crvideo viewer"));
    println!("\n## Summary (markdown)\n");
    println!("| playback of {W}x{H} @ {FPS} fps, {secs:.0} s | median CPU s | share of one core | ours / it |");
    println!("|---|---:|---:|---:|");
    for (name, cpu) in &medians {
        let ours = if name.contains("decode") || name.contains("viewer") {
            ours_viewer
        } else {
            ours_player
        };
        let ratio = match name.starts_with("crvideo") {
            true => "—".to_string(),
            false => format!("{:.2}", ours / cpu),
        };
        println!(
            "| {name} | {cpu:.2} | {:.1} % | {ratio} |",
            cpu / secs * 100.0
        );
    }
    Ok(())
}
