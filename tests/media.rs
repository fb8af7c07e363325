//! Shared media playback through the C ABI (tests/c/peer.c + peer_media.h): a member plays
//! an MP4 file (H.264 + Opus, written by the recorder's own MP4 writer) to the meeting; the
//! others see its pictures (compared with the file's, PSNR) and hear its tone; a member
//! entering late sees it; one player at a time; pause, move, stop and the end arrive in
//! order at every member; files that cannot be played stop with their reason.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::media_file::{media_frame, write_media, FPS, H, W};
use common::peer::{Peer, NO_RESUME};
use common::server_process::ServerProcess;
use common::*;
use crvideosdk::video::picture::VFMT_RGBA32;

const CONFIG: &str = "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n";
const PARAM_ERR: i32 = 5;
const ERR_DATA: i32 = 6;
const API_NO_PERMISSION: i32 = 23;
const ERR_BUSY: i32 = 602;
const NOT_INMEETING: i32 = 817;

fn user(name: &str, server: &ServerProcess) -> Peer {
    let extra = NO_RESUME.to_string();
    Peer::login_with(name, server.addr, &extra, "demo", "demo123", name)
}

/// A binary PPM's size and RGB bytes.
fn read_ppm(path: &Path) -> (usize, usize, Vec<u8>) {
    let data = std::fs::read(path).unwrap();
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while data[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !data[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&data[start..at]).into_owned());
    }
    let (w, h) = (fields[1].parse().unwrap(), fields[2].parse().unwrap());
    (w, h, data[at + 1..].to_vec())
}

/// PSNR (dB) of a received picture (RGB) against picture `index` of the media.
fn psnr_against(rgb: &[u8], index: u64) -> f64 {
    let want = media_frame(index);
    let mut sum = 0.0;
    for (px, reference) in rgb.chunks_exact(3).zip(want.chunks_exact(4)) {
        for c in 0..3 {
            let d = px[c] as f64 - reference[c] as f64;
            sum += d * d;
        }
    }
    let mse = sum / (W * H * 3) as f64;
    10.0 * (255.0f64 * 255.0 / mse.max(1e-9)).log10()
}

/// Takes `p`'s newest picture of `player`'s media once a new one was announced (the
/// `n`-th announcement): its position and PSNR against the file's picture there.
fn take_picture(p: &mut Peer, player: &str, n: usize, ppm: &Path) -> (i64, f64) {
    let announced = format!("NotifyMemberMediaData\t{player}\t");
    p.wait_nth(|l| l.starts_with(&announced), n);
    assert_eq!(p.cmd(&["media_img", player, &ppm.display().to_string()]), 0);
    let fields = p.last_fields("MediaImg\t");
    assert_eq!((fields[0].as_str(), fields[1].as_str()), ("320", "240"));
    let pos: i64 = fields[2].parse().unwrap();
    let (w, h, rgb) = read_ppm(ppm);
    assert_eq!((w, h), (W, H));
    (pos, psnr_against(&rgb, pos as u64 * FPS / 1000))
}

/// Takes pictures until one is at `pos_ms` or later: its position and PSNR.
fn picture_from(p: &mut Peer, player: &str, pos_ms: i64, ppm: &Path) -> (i64, f64) {
    let announced = format!("NotifyMemberMediaData\t{player}\t");
    loop {
        let n = p.count_prefix(&announced) + 1;
        // Taking the newest picture re-arms the announcement.
        p.cmd(&["media_img", player, "-"]);
        let (pos, psnr) = take_picture(p, player, n, ppm);
        if pos >= pos_ms {
            return (pos, psnr);
        }
    }
}

/// The amplitudes at TONE_HZ and two other frequencies in the last second `p`'s speaker
/// gave it.
fn tone_heard(p: &mut Peer) -> (f64, f64, f64) {
    assert_eq!(p.cmd(&["spectrum", "1", "1000", "440", "550", "1000"]), 0);
    let f = p.last_fields("Spectrum\t");
    let v = |i: usize| f[i].parse::<f64>().unwrap();
    (v(0), v(1), v(2))
}

/// The media events `p` was told, in order.
fn media_events(p: &Peer) -> Vec<String> {
    (p.lines().into_iter())
        .filter(|l| {
            [
                "NotifyMediaStart",
                "NotifyMediaPause",
                "NotifyPlayPosSetted",
                "NotifyMediaStop",
            ]
            .iter()
            .any(|k| l.starts_with(k))
        })
        .collect()
}

fn info(p: &mut Peer) -> serde_json::Value {
    serde_json::from_str(&p.cmd_text(&["media_info"])).unwrap()
}

#[test]
fn a_member_plays_a_file_to_the_meeting() {
    let server = ServerProcess::start(CONFIG);
    let dir = scratch_dir("media-play");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("clip.mp4");
    write_media(&file, 8);
    let file_name = file.display().to_string();
    let ppm = |who: &str| dir.join(format!("{who}.ppm"));

    let mut alice = user("alice", &server);
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    assert_eq!(bob.cmd(&["listen", "1", "320"]), 0);
    assert_eq!(info(&mut bob)["state"], 2, "nothing plays");

    assert_eq!(alice.cmd(&["media_start", &file_name, "0", "0"]), 0);
    let opened = alice.wait_line(|l| l.starts_with("NotifyMediaOpened\t"));
    let f: Vec<&str> = opened.split('\t').collect();
    let total: i64 = f[1].parse().unwrap();
    assert_eq!(total, 8000, "{opened}");
    assert_eq!((f[2], f[3]), ("320", "240"));
    alice.expect("NotifyMediaStart\talice");
    bob.expect("NotifyMediaStart\talice");
    let shown = info(&mut bob);
    assert_eq!(shown["userID"], "alice");
    assert_eq!(shown["state"], 0);
    assert_eq!(shown["mediaName"], file_name.as_str());

    // Bob sees the file's pictures (and alice her own).
    let (pos, psnr) = take_picture(&mut bob, "alice", 1, &ppm("bob"));
    assert!(
        psnr >= 30.0,
        "bob's first picture at {pos} ms: {psnr:.1} dB"
    );
    let (pos, psnr) = take_picture(&mut alice, "alice", 1, &ppm("alice"));
    assert!(
        psnr >= 30.0,
        "alice's own picture at {pos} ms: {psnr:.1} dB"
    );
    // ... and hears its tone, once a second and more of it played.
    let (pos, psnr) = picture_from(&mut bob, "alice", 2000, &ppm("bob"));
    assert!(psnr >= 30.0, "bob's picture at {pos} ms: {psnr:.1} dB");
    let (at, other, high) = tone_heard(&mut bob);
    assert!(
        at > 2000.0 && at > 10.0 * other.max(high),
        "440 Hz {at:.0}, 550 {other:.0}, 1000 {high:.0}"
    );

    // Carol enters while it plays: told of it on entering, and its pictures come within a
    // second (the player is asked for a key frame).
    let mut carol = user("carol", &server);
    let entered = std::time::Instant::now();
    assert_eq!(carol.enter_meeting(&id, ""), 0);
    carol.expect("NotifyMediaStart\talice");
    carol.wait_nth_within(
        Duration::from_secs(1),
        |l| l.starts_with("NotifyMemberMediaData\talice\t"),
        1,
    );
    let late = entered.elapsed();
    let (pos, psnr) = take_picture(&mut carol, "alice", 1, &ppm("carol"));
    assert!(
        psnr >= 30.0,
        "carol's first picture at {pos} ms: {psnr:.1} dB"
    );
    eprintln!(
        "carol's first picture {} ms after entering",
        late.as_millis()
    );

    // One player at a time.
    assert_eq!(carol.cmd(&["media_start", &file_name, "0", "0"]), ERR_BUSY);
    assert_eq!(carol.cmd(&["media_pause", "1"]), API_NO_PERMISSION);

    // Pause, move, resume: every member in that order.
    assert_eq!(alice.cmd(&["media_pause", "1"]), 0);
    for p in [&alice, &bob, &carol] {
        p.expect("NotifyMediaPause\talice\t1");
    }
    assert_eq!(info(&mut carol)["state"], 1);
    // Dave enters while it is paused: told it plays and is paused, and shown the picture
    // it is paused on.
    let mut dave = user("dave", &server);
    assert_eq!(dave.enter_meeting(&id, ""), 0);
    dave.expect("NotifyMediaStart\talice");
    dave.expect("NotifyMediaPause\talice\t1");
    dave.wait_nth_within(
        Duration::from_secs(1),
        |l| l.starts_with("NotifyMemberMediaData\talice\t"),
        1,
    );
    let (pos, psnr) = take_picture(&mut dave, "alice", 1, &ppm("dave"));
    assert!(
        psnr >= 30.0,
        "dave's paused picture at {pos} ms: {psnr:.1} dB"
    );
    assert_eq!(alice.cmd(&["media_pos", "5000"]), 0);
    for p in [&alice, &bob, &carol] {
        p.expect("NotifyPlayPosSetted\t5000");
    }
    assert_eq!(alice.cmd(&["media_pause", "0"]), 0);
    for p in [&alice, &bob, &carol] {
        p.expect("NotifyMediaPause\talice\t0");
    }
    assert_eq!(info(&mut carol)["state"], 0);
    let (pos, psnr) = picture_from(&mut bob, "alice", 5000, &ppm("bob"));
    assert!(pos < 6000, "after the move bob sees 5 s on, not {pos} ms");
    assert!(psnr >= 30.0, "bob's picture at {pos} ms: {psnr:.1} dB");

    assert_eq!(alice.cmd(&["media_stop"]), 0);
    for p in [&alice, &bob, &carol] {
        p.expect("NotifyMediaStop\talice\t0");
    }
    assert_eq!(info(&mut bob)["state"], 2);
    assert_eq!(bob.cmd(&["media_img", "alice", "-"]), ERR_DATA);
    let order = [
        "NotifyMediaStart\talice",
        "NotifyMediaPause\talice\t1",
        "NotifyPlayPosSetted\t5000",
        "NotifyMediaPause\talice\t0",
        "NotifyMediaStop\talice\t0",
    ];
    assert_eq!(media_events(&alice), order);
    assert_eq!(media_events(&bob), order);
    assert_eq!(media_events(&carol), order);
}

/// `file` with its track types renamed to codecs nobody here decodes.
fn unsupported_copy(file: &Path, to: &Path) -> PathBuf {
    let mut data = std::fs::read(file).unwrap();
    let moov = data.windows(4).position(|w| w == b"moov").unwrap();
    for (from, into) in [(b"avc1", b"hvc1"), (b"Opus", b"mp4a")] {
        while let Some(at) = data[moov..].windows(4).position(|w| w == from) {
            data[moov + at..moov + at + 4].copy_from_slice(into);
        }
    }
    std::fs::write(to, data).unwrap();
    to.to_path_buf()
}

#[test]
fn the_end_files_that_cannot_play_local_play_and_a_player_leaving() {
    let server = ServerProcess::start(CONFIG);
    let dir = scratch_dir("media-end");
    std::fs::create_dir_all(&dir).unwrap();
    let short = dir.join("short.mp4");
    write_media(&short, 1);
    let long = dir.join("long.mp4");
    write_media(&long, 20);
    let text = dir.join("notes.txt");
    std::fs::write(&text, "not a media file\n".repeat(100)).unwrap();
    let unsupported = unsupported_copy(&short, &dir.join("hevc.mp4"));
    let s = |p: &Path| p.display().to_string();

    let mut alice = user("alice", &server);
    assert_eq!(
        alice.cmd(&["media_start", &s(&short), "0", "0"]),
        NOT_INMEETING
    );
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);

    assert_eq!(alice.cmd(&["media_start", "", "0", "0"]), PARAM_ERR);
    assert_eq!(alice.cmd(&["media_pause", "1"]), API_NO_PERMISSION);
    assert_eq!(alice.cmd(&["media_pos", "-1"]), PARAM_ERR);
    assert_eq!(alice.cmd(&["media_stop"]), 0, "nothing to stop");

    // Files that cannot be played: only the player hears, with the reason.
    let missing = dir.join("missing.mp4");
    for (path, reason) in [(&missing, 2), (&text, 3), (&unsupported, 4)] {
        assert_eq!(alice.cmd(&["media_start", &s(path), "0", "0"]), 0);
        alice.expect(&format!("NotifyMediaStop\talice\t{reason}"));
    }
    assert_eq!(alice.count_prefix("NotifyMediaOpened"), 0);

    // The end: stopped with reason 1 ...
    assert_eq!(alice.cmd(&["media_start", &s(&short), "0", "0"]), 0);
    for p in [&alice, &bob] {
        p.expect("NotifyMediaStart\talice");
        p.expect("NotifyMediaStop\talice\t1");
    }
    // ... or, with pauseWhenFinished, paused at the end until stopped.
    assert_eq!(alice.cmd(&["media_start", &s(&short), "0", "1"]), 0);
    for p in [&alice, &bob] {
        p.wait_nth(|l| l == "NotifyMediaStart\talice", 2);
        p.expect("NotifyMediaPause\talice\t1");
    }
    assert_eq!(info(&mut bob)["state"], 1);
    assert_eq!(alice.cmd(&["media_stop"]), 0);
    for p in [&alice, &bob] {
        p.expect("NotifyMediaStop\talice\t0");
    }
    for p in [&alice, &bob] {
        let stops: Vec<String> = (media_events(p).into_iter())
            .filter(|l| l.starts_with("NotifyMediaStop"))
            .collect();
        let want: &[&str] = if p.name == "alice" {
            &[
                "NotifyMediaStop\talice\t2",
                "NotifyMediaStop\talice\t3",
                "NotifyMediaStop\talice\t4",
                "NotifyMediaStop\talice\t1",
                "NotifyMediaStop\talice\t0",
            ]
        } else {
            &["NotifyMediaStop\talice\t1", "NotifyMediaStop\talice\t0"]
        };
        assert_eq!(stops, want, "{}", p.name);
    }

    // Local play: alice sees and hears it; the meeting is not told.
    assert_eq!(alice.cmd(&["media_start", &s(&short), "1", "0"]), 0);
    alice.wait_line(|l| l.starts_with("NotifyMemberMediaData\talice\t"));
    assert_eq!(info(&mut alice)["userID"], "alice");
    alice.wait_nth(|l| l == "NotifyMediaStop\talice\t1", 2);
    assert_eq!(
        bob.count("NotifyMediaStart\talice"),
        2,
        "bob heard only the shared ones"
    );

    // The player leaves: everyone (the player too) is told it stopped.
    assert_eq!(alice.cmd(&["media_start", &s(&long), "0", "0"]), 0);
    bob.wait_nth(|l| l == "NotifyMediaStart\talice", 3);
    assert_eq!(bob.cmd(&["media_start", &s(&short), "0", "0"]), ERR_BUSY);
    assert_eq!(alice.cmd(&["exit_meeting"]), 0);
    bob.wait_nth(|l| l == "NotifyMediaStop\talice\t0", 2);
    alice.wait_nth(|l| l == "NotifyMediaStop\talice\t0", 2);
    assert_eq!(info(&mut bob)["state"], 2);
    // The slot is free again.
    assert_eq!(bob.cmd(&["media_start", &s(&short), "0", "0"]), 0);
    bob.expect("NotifyMediaStart\tbob");
    bob.expect("NotifyMediaStop\tbob\t1");
}

#[test]
fn a_recording_shows_the_playing_media() {
    let server = ServerProcess::start(CONFIG);
    let dir = scratch_dir("media-record");
    std::fs::create_dir_all(&dir).unwrap();
    let clip = dir.join("clip.mp4");
    write_media(&clip, 10);
    let recording = dir.join("recording.mp4");

    let mut alice = user("alice", &server);
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    let layout = r#"[{"left":0,"top":0,"width":320,"height":240,"param":{"type":3}}]"#;
    assert_eq!(bob.cmd(&["rec_layout", layout]), 0);
    let cfg = format!(
        r#"{{"recordPath":"{}","width":320,"height":240,"frameRate":10,"audioType":0,"recDataType":3}}"#,
        recording.display()
    );
    assert_eq!(
        alice.cmd(&["media_start", &clip.display().to_string(), "0", "0"]),
        0
    );
    bob.wait_line(|l| l.starts_with("NotifyMemberMediaData\talice\t"));
    assert_eq!(bob.cmd(&["rec_start", &cfg]), 0);
    bob.expect("RecordStateChanged\t2");
    // A second of the media recorded.
    let (pos, _) = picture_from(&mut bob, "alice", 0, &dir.join("bob.ppm"));
    picture_from(&mut bob, "alice", pos + 1000, &dir.join("bob.ppm"));
    assert_eq!(bob.cmd(&["rec_stop"]), 0);
    bob.expect("RecordStateChanged\t0");

    // The recording's last picture is one of the media's.
    let mut mp4 = crvideosdk::record::mp4_read::Mp4File::open(&recording).unwrap();
    let track = mp4.video.clone().expect("a video track");
    let mut decoder = crvideosdk::video::codec::VideoDecoder::new().unwrap();
    let mut last = None;
    for sample in &track.samples {
        let data = mp4.read(sample).unwrap();
        let annex_b = crvideosdk::record::mp4_read::annex_b(&track.codec, &data, sample.key);
        if let Ok(Some(picture)) = decoder.decode(&annex_b.unwrap(), 0) {
            last = Some(picture);
        }
    }
    let rgba = last.expect("a decoded picture").to_format(VFMT_RGBA32);
    let rgb: Vec<u8> = rgba
        .chunks_exact(4)
        .flat_map(|p| [p[0], p[1], p[2]])
        .collect();
    let best = (0..10 * FPS)
        .map(|i| psnr_against(&rgb, i))
        .fold(0.0, f64::max);
    assert!(best >= 30.0, "best match {best:.1} dB");
}
