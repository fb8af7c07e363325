//! Recording bench: the CPU the SDK's recorder spends composing four 640x360 cameras into
//! 1280x720 at 30 fps, encoding H.264 at 2 Mbit/s and writing the MP4 file, against ffmpeg
//! doing the same from the same four raw inputs (`xstack` into libx264 `ultrafast
//! zerolatency`, and libopenh264 when the ffmpeg build has it), one thread each.
//!
//! ```text
//! record_load [--frames 300] [--runs 3] [--ffmpeg-bin ffmpeg] [--skip-ffmpeg]
//! ```
//!
//! Ours runs the recorder's own steps in this process on one thread, as the recording
//! thread does (`crvideosdk::record::layout::compose`, `VideoEncoder::for_file`,
//! `Mp4Writer`), with the inputs already in memory as decoded pictures (what the recorder
//! peeks from the decoders). ffmpeg reads the same frames from four raw I420 files (kept
//! in the page cache). CPU is user + system time: this thread's (`RUSAGE_THREAD`), and
//! ffmpeg's (`wait4`). The figure is CPU seconds per second of video = share of one core.

use std::fs::File;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Instant;

use clap::Parser;
use crvideo_bench::procfs::thread_cpu_secs;
use crvideo_bench::sdk_child::child_cpu_secs;
use crvideo_bench::{BenchResult, TempDir};
use crvideosdk::record::layout::{self, Pictures, Region};
use crvideosdk::record::mp4::{Mp4Writer, VideoTrack, VIDEO_TIMESCALE};
use crvideosdk::video::codec::{EncodeSettings, VideoEncoder};
use crvideosdk::video::picture::{Picture, VFMT_RGBA32};

const W: usize = 640;
const H: usize = 360;
const FPS: u32 = 30;
const KBPS: u32 = 2000;

/// Recording CPU against ffmpeg (see docs/BENCHMARKS.md).
#[derive(Parser)]
#[command(name = env!("CARGO_BIN_NAME"))]
struct Args {
    /// Pictures per input (at 30 fps).
    #[arg(long, default_value = "300")]
    frames: usize,
    /// Runs of each; the best is reported.
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
        eprintln!("record_load: {e}");
        std::process::exit(1);
    }
}

/// Picture `n` of input `k`: the bench's moving pattern, shifted per input.
fn input(k: usize, n: usize) -> Picture {
    let rgba = crvideo_bench::video::pattern(W, H, (n + k * 97) as u64);
    Picture::from_image(VFMT_RGBA32, W, H, &rgba, 0)
}

struct Inputs<'a> {
    frames: &'a [Vec<Arc<Picture>>],
    n: usize,
}

impl Pictures for Inputs<'_> {
    fn camera(&self, user_id: &str, _video_id: u8) -> Option<Arc<Picture>> {
        let k: usize = user_id.strip_prefix("cam")?.parse().ok()?;
        Some(self.frames[k][self.n].clone())
    }
    fn screen(&self) -> Option<Arc<Picture>> {
        None
    }
    fn media(&self) -> Option<Arc<Picture>> {
        None
    }
}

/// One recording of the inputs: (CPU s, wall s, file bytes).
fn ours(frames: &[Vec<Arc<Picture>>], out: &std::path::Path) -> BenchResult<(f64, f64, u64)> {
    let regions = layout::parse(
        r#"[{"left":0,"top":0,"width":640,"height":360,"param":{"type":0,"camid":"cam0.1"}},
            {"left":640,"top":0,"width":640,"height":360,"param":{"type":0,"camid":"cam1.1"}},
            {"left":0,"top":360,"width":640,"height":360,"param":{"type":0,"camid":"cam2.1"}},
            {"left":640,"top":360,"width":640,"height":360,"param":{"type":0,"camid":"cam3.1"}}]"#,
    )
    .map_err(|e| format!("layout: {e:?}"))?;
    let regions: Vec<Region> = regions;
    let cpu0 = thread_cpu_secs();
    let wall = Instant::now();
    let mut encoder = VideoEncoder::for_file(EncodeSettings {
        fps: FPS as f32,
        kbps: KBPS,
        screen: false,
    })?;
    let file = File::create(out).map_err(|e| e.to_string())?;
    let track = VideoTrack {
        width: 1280,
        height: 720,
        frame_ticks: VIDEO_TIMESCALE / FPS,
    };
    let mut mp4 = Mp4Writer::new(file, Some(track), None).map_err(|e| e.to_string())?;
    let mut canvas = layout::black(1280, 720);
    for n in 0..frames[0].len() {
        let inputs = Inputs { frames, n };
        layout::compose(&mut canvas, &regions, &inputs, "");
        let at_ms = n as u64 * 1000 / FPS as u64;
        if let Some(encoded) = encoder.encode_at(&canvas, at_ms)? {
            let ticks = n as u64 * (VIDEO_TIMESCALE / FPS) as u64;
            (mp4.write_video(ticks, &encoded.data, encoded.key)).map_err(|e| e.to_string())?;
        }
    }
    let file = mp4.finish().map_err(|e| e.to_string())?;
    let bytes = file.metadata().map_err(|e| e.to_string())?.len();
    Ok((
        thread_cpu_secs() - cpu0,
        wall.elapsed().as_secs_f64(),
        bytes,
    ))
}

/// ffmpeg composing the four raw files with `codec`: (CPU s, file bytes), or None when
/// this ffmpeg lacks the encoder.
fn ffmpeg(
    args: &Args,
    raws: &[std::path::PathBuf],
    codec: &[&str],
    out: &std::path::Path,
) -> BenchResult<Option<(f64, u64)>> {
    let mut command = Command::new(&args.ffmpeg_bin);
    command.args(["-hide_banner", "-loglevel", "error", "-y"]);
    for raw in raws {
        command
            .args(["-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", "640x360"])
            .args(["-r", &FPS.to_string(), "-i"])
            .arg(raw);
    }
    command
        .args([
            "-filter_complex",
            "xstack=inputs=4:layout=0_0|w0_0|0_h0|w0_h0",
        ])
        .args(["-filter_threads", "1", "-threads", "1"])
        .args(codec)
        .args([
            "-b:v",
            &format!("{KBPS}k"),
            "-r",
            &FPS.to_string(),
            "-f",
            "mp4",
        ])
        .arg(out)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    let Some(cpu) = child_cpu_secs(command)? else {
        return Ok(None);
    };
    let bytes = std::fs::metadata(out).map_err(|e| e.to_string())?.len();
    Ok(Some((cpu, bytes)))
}

fn run(args: &Args) -> BenchResult<()> {
    let secs = args.frames as f64 / FPS as f64;
    println!(
        "machine: {} cores; 4 inputs of {W}x{H}, {} pictures each ({secs:.1} s at {FPS} fps) \
         -> 1280x720, {KBPS} kbit/s",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        args.frames
    );
    let frames: Vec<Vec<Arc<Picture>>> = (0..4)
        .map(|k| (0..args.frames).map(|n| Arc::new(input(k, n))).collect())
        .collect();
    let dir = TempDir::new("record-bench")?;
    let mut best: Option<(f64, f64, u64)> = None;
    for run in 0..args.runs {
        let (cpu, wall, bytes) = ours(&frames, &dir.path().join("ours.mp4"))?;
        println!(
            "crvideo recorder run {run}: CPU {cpu:.2} s ({:.1} % of a core), wall {wall:.2} s, \
             {:.0} kbit/s",
            cpu / secs * 100.0,
            bytes as f64 * 8.0 / secs / 1000.0
        );
        if best.is_none_or(|b| cpu < b.0) {
            best = Some((cpu, wall, bytes));
        }
    }
    let ours_cpu = best.map_or(f64::NAN, |b| b.0);
    let mut rows = vec![("crvideo recorder (OpenH264)".to_string(), ours_cpu)];
    if !args.skip_ffmpeg {
        let raws: Vec<_> = (0..4)
            .map(|k| dir.path().join(format!("in{k}.yuv")))
            .collect();
        for (k, raw) in raws.iter().enumerate() {
            let mut file = File::create(raw).map_err(|e| e.to_string())?;
            for picture in &frames[k] {
                file.write_all(&picture.i420).map_err(|e| e.to_string())?;
            }
        }
        let codecs: [(&str, &[&str]); 3] = [
            (
                "ffmpeg xstack + libx264 ultrafast zerolatency",
                &[
                    "-c:v",
                    "libx264",
                    "-preset",
                    "ultrafast",
                    "-tune",
                    "zerolatency",
                ],
            ),
            (
                "ffmpeg xstack + libx264 veryfast",
                &["-c:v", "libx264", "-preset", "veryfast"],
            ),
            ("ffmpeg xstack + libopenh264", &["-c:v", "libopenh264"]),
        ];
        for (name, codec) in codecs {
            let mut best: Option<f64> = None;
            for run in 0..args.runs {
                let out = dir.path().join("ffmpeg.mp4");
                match ffmpeg(args, &raws, codec, &out)? {
                    Some((cpu, bytes)) => {
                        println!(
                            "{name} run {run}: CPU {cpu:.2} s ({:.1} % of a core), {:.0} kbit/s",
                            cpu / secs * 100.0,
                            bytes as f64 * 8.0 / secs / 1000.0
                        );
                        best = Some(best.map_or(cpu, |b: f64| b.min(cpu)));
                    }
                    None => {
                        println!("{name}: not available in {}", args.ffmpeg_bin);
                        break;
                    }
                }
            }
            if let Some(cpu) = best {
                rows.push((name.to_string(), cpu));
            }
        }
    }
    println!("\n## Summary (markdown)\n");
    println!("| recorder, 4 x 640x360 -> 1280x720 @ {FPS} fps, {KBPS} kbit/s | best CPU s | share of one core | ours / it |");
    println!("|---|---:|---:|---:|");
    for (name, cpu) in &rows {
        println!(
            "| {name} | {cpu:.2} | {:.1} % | {:.2} |",
            cpu / secs * 100.0,
            ours_cpu / cpu
        );
    }
    Ok(())
}
