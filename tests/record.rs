//! Local recording through the C ABI (tests/c/peer.c + peer_record.h): the states and
//! errors of section 12, the file's structure, its longest duration and a full disk; and,
//! with ffmpeg (`#[ignore]`d: CI installs ffmpeg and runs them), a recorded meeting as
//! ffprobe and ffmpeg see it: duration, size, frame rate, streams, the composed picture
//! region by region (PSNR) and the tone.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::peer::{Peer, NO_RESUME};
use common::server_process::ServerProcess;
use common::*;
use crvideosdk::record::mp4_read::{self, Mp4File};
use crvideosdk::video::codec::VideoDecoder;
use serde_json::Value;

const CONFIG: &str = "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n";
const PARAM_ERR: i32 = 5;
const NOT_INMEETING: i32 = 817;
const RECORD_STATE_ERR: i32 = 1200;
const FILE_ALREADY_EXIST: i32 = 1403;
const RECORD_FILE_NOT_EXIST: i32 = 1201;
const RGBA: &str = "2";

fn user(name: &str, server: &ServerProcess, extra: &str) -> Peer {
    let extra = format!("{NO_RESUME}{extra}");
    Peer::login_with(name, server.addr, &extra, "demo", "demo123", name)
}

fn kinds(boxes: &[(String, u64)]) -> Vec<&str> {
    boxes.iter().map(|(k, _)| k.as_str()).collect()
}

/// The states `p` was told, in order.
fn states(p: &Peer) -> Vec<i32> {
    (p.lines().iter())
        .filter_map(|l| l.strip_prefix("RecordStateChanged\t")?.parse().ok())
        .collect()
}

fn record_cfg(path: &Path, extra: &str) -> String {
    format!(r#"{{"recordPath":"{}"{extra}}}"#, path.display())
}

fn partial(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}.recording", path.display()))
}

#[test]
fn recording_states_errors_and_a_complete_file() {
    let server = ServerProcess::start(CONFIG);
    let dir = scratch_dir("record-states");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("meeting.mp4");
    let cfg = record_cfg(&path, r#","width":320,"height":240,"frameRate":10"#);

    let mut alice = user("alice", &server, "");
    assert_eq!(alice.cmd(&["rec_start", &cfg]), NOT_INMEETING);
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server, "");
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    assert_eq!(bob.cmd(&["cam", "front", RGBA, "160", "120", ""]), 0);
    assert_eq!(bob.cmd(&["feed", "1", RGBA, "160", "120", "10", "1"]), 0);
    assert_eq!(bob.cmd(&["open_video", "bob"]), 0);

    for bad in [
        "",
        "{}",
        r#"{"recordPath":"relative.mp4"}"#,
        &record_cfg(&path, r#","frameRate":31"#),
        &record_cfg(&path, r#","width":321"#),
        &record_cfg(&dir.join("x.avi"), ""),
    ] {
        assert_eq!(alice.cmd(&["rec_start", bad]), PARAM_ERR, "{bad}");
    }
    assert_eq!(alice.cmd(&["rec_layout", "[{}]"]), PARAM_ERR);
    assert_eq!(
        alice.cmd(&[
            "rec_layout",
            r#"[{"left":0,"top":0,"width":32,"height":32,"param":{"type":1,"resourceid":"/no/such.png"}}]"#
        ]),
        PARAM_ERR
    );
    assert_eq!(alice.cmd(&["rec_stop"]), RECORD_STATE_ERR);
    assert!(states(&alice).is_empty(), "refused calls change nothing");

    let layout = r#"[{"left":0,"top":0,"width":320,"height":240,"param":{"type":0,"camid":"bob.1"}},
                     {"left":0,"top":220,"width":320,"height":20,"param":{"type":4}}]"#;
    assert_eq!(alice.cmd(&["rec_layout", &layout.replace('\n', "")]), 0);
    assert_eq!(alice.cmd(&["rec_start", &cfg]), 0);
    alice.expect("RecordStateChanged\t2");
    assert!(partial(&path).exists(), "written as .recording");
    assert!(!path.exists());
    assert_eq!(alice.cmd(&["rec_start", &cfg]), RECORD_STATE_ERR);
    // Some pictures and audio.
    let grown = Instant::now();
    while std::fs::metadata(partial(&path)).map_or(0, |m| m.len()) < 4096 {
        assert!(grown.elapsed() < PATIENCE, "the recording does not grow");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(alice.cmd(&["rec_stop"]), 0);
    alice.expect("RecordStateChanged\t0");
    assert_eq!(states(&alice), [1, 2, 4, 0]);
    assert!(!partial(&path).exists());
    assert_eq!(kinds(&mp4_top_boxes(&path)), ["ftyp", "mdat", "moov"]);
    // Read back by the SDK's own MP4 reader (what shared playback will use): both tracks,
    // a key frame first that the SDK's decoder turns into a 320x240 picture.
    let mut mp4 = Mp4File::open(&path).unwrap();
    let video = mp4.video.clone().unwrap();
    assert_eq!((video.width, video.height), (320, 240));
    assert!(video.samples[0].key && video.samples.len() >= 2);
    let first = mp4.read(&video.samples[0]).unwrap();
    let annex_b = mp4_read::annex_b(&video.codec, &first, true).unwrap();
    let mut decoder = VideoDecoder::new().unwrap();
    let picture = decoder.decode(&annex_b, 0).unwrap().expect("a picture");
    assert_eq!((picture.width, picture.height), (320, 240));
    assert!(mp4.audio.as_ref().is_some_and(|a| a.samples.len() >= 10));
    let files: Value = serde_json::from_str(&alice.cmd_text(&["rec_files"])).unwrap();
    let size = std::fs::metadata(&path).unwrap().len();
    assert_eq!(
        files,
        serde_json::json!([{"fileName": path.to_str().unwrap(), "size": size, "state": 0,
                            "uploadPercent": 0}])
    );
    // A file is never replaced.
    assert_eq!(alice.cmd(&["rec_start", &cfg]), FILE_ALREADY_EXIST);

    // Uploaded to the net disk: states 1 then 2, percent rising to 100; bob downloads
    // the same bytes.
    let name = path.to_str().unwrap();
    assert_eq!(
        alice.cmd(&["rec_upload", "/no/such.mp4"]),
        RECORD_FILE_NOT_EXIST
    );
    assert_eq!(alice.cmd(&["rec_cancel_upload", name]), RECORD_STATE_ERR);
    assert_eq!(alice.cmd(&["rec_upload", name]), 0);
    alice.expect(&format!("NotifyRecordFileStateChanged\t{name}\t2"));
    let events: Vec<String> = (alice.lines().into_iter())
        .filter(|l| l.contains("RecordFile"))
        .collect();
    assert_eq!(
        events[0],
        format!("NotifyRecordFileStateChanged\t{name}\t1")
    );
    let percents: Vec<i32> = (events.iter())
        .filter_map(|l| {
            l.rsplit_once('\t')?
                .1
                .parse()
                .ok()
                .filter(|_| l.contains("Progress"))
        })
        .collect();
    assert!(percents.windows(2).all(|w| w[0] < w[1]), "{percents:?}");
    assert_eq!(percents.last(), Some(&100));
    let files: Value = serde_json::from_str(&alice.cmd_text(&["rec_files"])).unwrap();
    assert_eq!(
        (
            files[0]["state"].as_i64(),
            files[0]["uploadPercent"].as_i64()
        ),
        (Some(2), Some(100))
    );
    assert_eq!(bob.cmd(&["nd_list"]), 0);
    let list = bob.wait_line(|l| l.starts_with("GetNetDiskFileListRslt\t"));
    let list: Value = serde_json::from_str(&list["GetNetDiskFileListRslt\t".len()..]).unwrap();
    let listed = &list.as_array().unwrap()[0];
    assert_eq!(listed["name"], "meeting.mp4");
    assert_eq!(listed["size"].as_u64(), Some(size));
    let copy = dir.join("copy.mp4");
    let file_id = listed["fileID"].as_str().unwrap();
    assert_eq!(
        bob.cmd(&["nd_download", file_id, copy.to_str().unwrap()]),
        0
    );
    bob.expect(&format!("NotifyNetDiskTransforProgress\t{file_id}\t100\t1"));
    assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&path).unwrap());

    // Leaving the meeting stops a recording, which completes its file; with
    // isUploadOnRecording the file then goes to the net disk by itself.
    let second = dir.join("second.mp4");
    let cfg = record_cfg(&second, r#","isUploadOnRecording":1"#);
    assert_eq!(alice.cmd(&["rec_start", &cfg]), 0);
    alice.wait_nth(|l| l == "RecordStateChanged\t2", 2);
    assert_eq!(alice.cmd(&["exit_meeting"]), 0);
    alice.wait_nth(|l| l == "RecordStateChanged\t0", 2);
    assert_eq!(states(&alice), [1, 2, 4, 0, 1, 2, 4, 0]);
    assert_eq!(kinds(&mp4_top_boxes(&second))[..2], ["ftyp", "mdat"]);
    let second_name = second.to_str().unwrap();
    alice.expect(&format!("NotifyRecordFileStateChanged\t{second_name}\t2"));
    let last_state_0 = (alice.lines().iter())
        .rposition(|l| l == "RecordStateChanged\t0")
        .unwrap();
    let uploading = (alice.lines().iter())
        .position(|l| *l == format!("NotifyRecordFileStateChanged\t{second_name}\t1"))
        .unwrap();
    assert!(
        uploading > last_state_0,
        "the upload starts once the file is complete"
    );
    alice.assert_no_line_within(Duration::from_millis(200), |l| l.starts_with("RecordErr"));
}

#[test]
fn a_recording_ends_at_its_longest_duration_and_on_a_full_disk() {
    let server = ServerProcess::start(CONFIG);
    let dir = scratch_dir("record-limits");
    std::fs::create_dir_all(&dir).unwrap();
    let mut carol = user("carol", &server, r#","recordMaxSecs":1"#);
    let id = carol.create_meeting(false).0;
    assert_eq!(carol.enter_meeting(&id, ""), 0);
    let mut dave = user("dave", &server, "");
    assert_eq!(dave.enter_meeting(&id, ""), 0);

    // The longest duration: RecordErr 901, then the file is finished as on a stop.
    let capped = dir.join("capped.mp4");
    let started = Instant::now();
    assert_eq!(carol.cmd(&["rec_start", &record_cfg(&capped, "")]), 0);
    carol.expect("RecordErr\t901");
    assert!(started.elapsed() >= Duration::from_secs(1));
    carol.expect("RecordStateChanged\t0");
    let order: Vec<String> = (carol.lines().into_iter())
        .filter(|l| l.starts_with("Record"))
        .collect();
    // The error first, then stopping and done.
    assert_eq!(
        order,
        [
            "RecordStateChanged\t1",
            "RecordStateChanged\t2",
            "RecordErr\t901",
            "RecordStateChanged\t4",
            "RecordStateChanged\t0"
        ]
    );
    assert_eq!(kinds(&mp4_top_boxes(&capped)), ["ftyp", "mdat", "moov"]);

    // A full disk (a file size limit on dave's process): RecordErr 902; the file keeps
    // what fitted, below the limit, still complete.
    let limit = 200_000u64;
    assert_eq!(dave.cmd(&["fsize_limit", &limit.to_string()]), 0);
    assert_eq!(dave.cmd(&["cam", "front", RGBA, "640", "480", ""]), 0);
    assert_eq!(dave.cmd(&["feed", "1", RGBA, "640", "480", "15", "3"]), 0);
    let full = dir.join("full.mp4");
    let cfg = record_cfg(&full, r#","width":640,"height":480,"bitRate":4000000"#);
    let layout =
        r#"[{"left":0,"top":0,"width":640,"height":480,"param":{"type":0,"camid":"dave.1"}}]"#;
    assert_eq!(dave.cmd(&["rec_layout", layout]), 0);
    assert_eq!(dave.cmd(&["rec_start", &cfg]), 0);
    dave.expect("RecordErr\t902");
    dave.expect("RecordStateChanged\t0");
    assert_eq!(states(&dave), [1, 2, 4, 0]);
    let boxes = mp4_top_boxes(&full);
    assert_eq!(kinds(&boxes), ["ftyp", "mdat", "moov"]);
    assert!(std::fs::metadata(&full).unwrap().len() <= limit);
    assert!(boxes[1].1 > 16, "some samples were kept: {boxes:?}");
    assert!(!partial(&full).exists());
}

// ---- With ffmpeg ----

fn ffprobe(path: &Path) -> Value {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-print_format",
            "json",
            "-show_format",
            "-show_streams",
        ])
        .arg(path)
        .output()
        .expect("ffprobe (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Runs ffmpeg with `args`; its stdout.
fn ffmpeg(args: &[&str]) -> Vec<u8> {
    let out = Command::new("ffmpeg")
        .args(["-v", "error", "-nostdin"])
        .args(args)
        .output()
        .expect("ffmpeg (apt-get install ffmpeg)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// `path` (any picture ffmpeg reads) as RGB24 of `w`×`h` (scaled by ffmpeg).
fn rgb_of(path: &Path, w: usize, h: usize) -> Vec<u8> {
    let scale = format!("scale={w}:{h}:flags=bicubic");
    let p = path.to_str().unwrap();
    let rgb = ffmpeg(&[
        "-i", p, "-vf", &scale, "-f", "rawvideo", "-pix_fmt", "rgb24", "-",
    ]);
    assert_eq!(rgb.len(), w * h * 3);
    rgb
}

/// PSNR of `a` against `b` over the `w`×`h` area at (`x`, `y`) of `a` (`aw` wide).
fn region_psnr(a: &[u8], aw: usize, (x, y, w, h): (usize, usize, usize, usize), b: &[u8]) -> f64 {
    let mut sum = 0f64;
    for r in 0..h {
        for c in 0..w {
            for k in 0..3 {
                let d = a[((y + r) * aw + x + c) * 3 + k] as f64 - b[(r * w + c) * 3 + k] as f64;
                sum += d * d;
            }
        }
    }
    let mse = sum / (w * h * 3) as f64;
    if mse == 0.0 {
        99.0
    } else {
        10.0 * (255.0 * 255.0 / mse).log10()
    }
}

/// Goertzel amplitude of `freq` in `pcm` (16 kHz).
fn amplitude(pcm: &[i16], freq: f64) -> f64 {
    let w = 2.0 * std::f64::consts::PI * freq / 16000.0;
    let (mut s1, mut s2) = (0f64, 0f64);
    for &x in pcm {
        let s = x as f64 + 2.0 * w.cos() * s1 - s2;
        s2 = s1;
        s1 = s;
    }
    (s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2).sqrt() * 2.0 / pcm.len() as f64
}

#[test]
#[ignore = "needs ffmpeg (apt-get install ffmpeg); CI runs it"]
fn a_recorded_meeting_as_ffprobe_and_ffmpeg_see_it() {
    let server = ServerProcess::start(CONFIG);
    let dir = scratch_dir("record-meeting");
    std::fs::create_dir_all(&dir).unwrap();
    let mut alice = user("alice", &server, "");
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server, "");
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    let mut carol = user("carol", &server, "");
    assert_eq!(carol.enter_meeting(&id, ""), 0);

    // Two cameras, each a still picture (seeds 1 and 2), bob's screen, carol's tone.
    for (p, me, seed) in [(&mut bob, "bob", "1"), (&mut carol, "carol", "2")] {
        assert_eq!(p.cmd(&["cam", "front", RGBA, "320", "240", ""]), 0);
        assert_eq!(
            p.cmd(&["feed", "1", RGBA, "320", "240", "15", seed, "1000"]),
            0
        );
        assert_eq!(p.cmd(&["open_video", me]), 0);
    }
    assert_eq!(bob.cmd(&["start_share"]), 0);
    bob.expect("StartScreenShareRslt\t0");
    // A screen: text covered by a light grey page with a dark box.
    assert_eq!(bob.cmd(&["screen_text", "640", "360", "7", "0"]), 0);
    assert_eq!(
        bob.cmd(&["screen_paint", "0", "0", "640", "360", "230", "0"]),
        0
    );
    assert_eq!(
        bob.cmd(&["screen_paint", "100", "80", "300", "150", "40", "1"]),
        0
    );
    assert_eq!(carol.cmd(&["capture", "1"]), 0);
    assert_eq!(carol.cmd(&["open_mic", "carol"]), 0);
    assert_eq!(carol.cmd(&["tone", "440", "8000"]), 0);
    // alice sees all of it before recording.
    alice.wait_line(|l| l.starts_with("NotifyVideoData\tbob\t1\t"));
    alice.wait_line(|l| l.starts_with("NotifyVideoData\tcarol\t1\t"));
    alice.wait_line(|l| l.starts_with("NotifyScreenShareData\tbob"));

    let layout = r#"[{"left":0,"top":0,"width":320,"height":180,"param":{"type":0,"camid":"bob.1"}},{"left":320,"top":0,"width":320,"height":180,"keepAspectRatio":0,"param":{"type":0,"camid":"carol.1"}},{"left":0,"top":180,"width":320,"height":180,"param":{"type":2}},{"left":320,"top":300,"width":320,"height":40,"param":{"type":4}}]"#;
    assert_eq!(alice.cmd(&["rec_layout", layout]), 0);
    let path = dir.join("meeting.mp4");
    let cfg = record_cfg(
        &path,
        r#","width":640,"height":360,"frameRate":15,"bitRate":1500000,"audioType":3"#,
    );
    assert_eq!(alice.cmd(&["rec_start", &cfg]), 0);
    alice.expect("RecordStateChanged\t2");
    let started = Instant::now();
    // Ten seconds of meeting.
    let ten = Duration::from_secs(10);
    while started.elapsed() < ten {
        std::thread::sleep(ten - started.elapsed());
    }
    assert_eq!(alice.cmd(&["rec_stop"]), 0);
    alice.expect("RecordStateChanged\t0");

    let probe = ffprobe(&path);
    eprintln!("{probe:#}");
    let duration: f64 = probe["format"]["duration"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((duration - 10.0).abs() <= 0.5, "duration {duration}");
    let streams = probe["streams"].as_array().unwrap();
    assert_eq!(streams.len(), 2);
    let video = streams.iter().find(|s| s["codec_type"] == "video").unwrap();
    assert_eq!(video["codec_name"], "h264");
    assert_eq!(
        (video["width"].as_i64(), video["height"].as_i64()),
        (Some(640), Some(360))
    );
    assert_eq!(video["avg_frame_rate"], "15/1");
    let audio = streams.iter().find(|s| s["codec_type"] == "audio").unwrap();
    assert_eq!(audio["codec_name"], "opus");

    // The picture at 5 s, region by region, against what was drawn there.
    let p = path.to_str().unwrap();
    let frame = ffmpeg(&[
        "-ss",
        "5",
        "-i",
        p,
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        "rgb24",
        "-",
    ]);
    assert_eq!(frame.len(), 640 * 360 * 3);
    ffmpeg(&[
        "-y",
        "-ss",
        "5",
        "-i",
        p,
        "-frames:v",
        "1",
        dir.join("at5s.png").to_str().unwrap(),
    ]);
    eprintln!("the picture at 5 s: {}", dir.join("at5s.png").display());
    let reference = |p: &mut Peer, seed: &str| {
        let ppm = dir.join(format!("camera-{seed}.ppm"));
        let ppm_s = ppm.to_str().unwrap();
        assert_eq!(
            p.cmd(&["pattern_ppm", "320", "240", seed, "1000", ppm_s]),
            0
        );
        ppm
    };
    // bob's 4:3 camera fits 240x180, centred in its 320x180 region; carol's is stretched.
    let bob_ref = rgb_of(&reference(&mut bob, "1"), 240, 180);
    let carol_ref = rgb_of(&reference(&mut carol, "2"), 320, 180);
    let screen = dir.join("screen.ppm");
    alice.cmd(&["screen_get", screen.to_str().unwrap()]);
    // The 640x360 screen fits its 320x180 region exactly.
    let screen_ref = rgb_of(&screen, 320, 180);
    let regions = [
        ("bob.1", (40, 0, 240, 180), &bob_ref),
        ("carol.1", (320, 0, 320, 180), &carol_ref),
        ("screen", (0, 180, 320, 180), &screen_ref),
    ];
    for (name, area, reference) in regions {
        let psnr = region_psnr(&frame, 640, area, reference);
        eprintln!("{name}: {psnr:.2} dB");
        assert!(psnr >= 30.0, "{name}: {psnr:.2} dB");
    }
    // Black where nothing is drawn; the timestamp's region has ink.
    let luma = |x: usize, y: usize| frame[(y * 640 + x) * 3] as i32;
    assert!(luma(10, 10) < 40 && luma(630, 250) < 40, "black around");
    let ink = (300..340)
        .flat_map(|y| (320..640).map(move |x| (x, y)))
        .filter(|&(x, y)| luma(x, y) > 200)
        .count();
    assert!(ink > 200, "timestamp ink: {ink} pixels");

    // The tone, at 440 Hz.
    let pcm = ffmpeg(&[
        "-i", p, "-map", "0:a", "-f", "s16le", "-ac", "1", "-ar", "16000", "-",
    ]);
    let pcm: Vec<i16> = (pcm.chunks_exact(2))
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect();
    let middle = &pcm[3 * 16000..8 * 16000];
    let (a440, a550, a660) = (
        amplitude(middle, 440.0),
        amplitude(middle, 550.0),
        amplitude(middle, 660.0),
    );
    eprintln!("audio: 440 Hz {a440:.0}, 550 Hz {a550:.0}, 660 Hz {a660:.0}");
    assert!(a440 > 4000.0 && a550 < a440 / 20.0 && a660 < a440 / 20.0);

    // That file played back to the meeting (carol's own tone stopped first): bob sees its
    // pictures, region by region as ffmpeg decoded them, and hears its tone.
    assert_eq!(carol.cmd(&["tone_stop"]), 0);
    assert_eq!(bob.cmd(&["listen", "1", "320"]), 0);
    assert_eq!(alice.cmd(&["media_start", p, "0", "0"]), 0);
    bob.expect("NotifyMediaStart\talice");
    let played = dir.join("played.ppm");
    let announced = "NotifyMemberMediaData\talice\t";
    let pos = loop {
        let n = bob.count_prefix(announced) + 1;
        // Taking the newest picture re-arms the announcement.
        bob.cmd(&["media_img", "alice", "-"]);
        bob.wait_nth(|l| l.starts_with(announced), n);
        assert_eq!(
            bob.cmd(&["media_img", "alice", played.to_str().unwrap()]),
            0
        );
        let pos: i64 = bob.last_fields("MediaImg\t")[2].parse().unwrap();
        if pos >= 5000 {
            break pos;
        }
    };
    let played = rgb_of(&played, 640, 360);
    for (name, (x, y, w, h), _) in regions {
        let recorded: Vec<u8> = (y..y + h)
            .flat_map(|row| frame[(row * 640 + x) * 3..(row * 640 + x + w) * 3].to_vec())
            .collect();
        let psnr = region_psnr(&played, 640, (x, y, w, h), &recorded);
        eprintln!("played back at {pos} ms, {name}: {psnr:.2} dB");
        assert!(psnr >= 30.0, "played back {name}: {psnr:.2} dB");
    }
    assert_eq!(bob.cmd(&["spectrum", "1", "1000", "440", "550", "660"]), 0);
    let heard: Vec<f64> = (bob.last_fields("Spectrum\t").iter().take(3))
        .map(|v| v.parse().unwrap())
        .collect();
    eprintln!(
        "played back: 440 Hz {:.0}, 550 Hz {:.0}, 660 Hz {:.0}",
        heard[0], heard[1], heard[2]
    );
    assert!(heard[0] > 2000.0 && heard[1] < heard[0] / 20.0 && heard[2] < heard[0] / 20.0);
    assert_eq!(alice.cmd(&["media_stop"]), 0);
    bob.expect("NotifyMediaStop\talice\t0");
}
