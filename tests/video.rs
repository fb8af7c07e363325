//! Video through the C ABI: custom cameras and their local preview in this process, and a
//! meeting of peer processes (tests/c/peer.c) that send a moving test pattern, encoded,
//! relayed by the server and decoded, compared with what was sent (PSNR).

mod common;

use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

use common::peer::{Peer, NO_RESUME};
use common::server_process::ServerProcess;
use common::video_peer::*;
use common::*;
use crvideosdk::ffi::video::*;
use serde_json::Value;

const PARAM_ERR: i32 = 5;
const ERR_DATA: i32 = 6;
const I420: i32 = 0;
const ARGB: i32 = 1;
const RGBA: i32 = 2;

const CONFIG: &str = "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n[[tenants]]\naccount = \"acme\"\npassword = \"s3cret\"\n";

fn create(name: &str, format: i32, w: i32, h: i32, ext: *const c_char) -> Result<i32, i32> {
    let name = cstr(name);
    let mut id = -1;
    match unsafe { CRVideo_CreateCustomVideoDev(name.as_ptr(), format, w, h, ext, &mut id) } {
        0 => Ok(id),
        code => Err(code),
    }
}

/// A picture from GetVideoImg, copied out and freed.
fn image(
    user: &str,
    id: i32,
    format: i32,
    max_w: i32,
    max_h: i32,
) -> Result<(i32, i32, i64, Vec<u8>), i32> {
    let user = cstr(user);
    let mut img: *mut CRVideo_VideoImg = null_mut();
    let rc = unsafe { CRVideo_GetVideoImg(user.as_ptr(), id, format, max_w, max_h, &mut img) };
    if rc != 0 {
        assert!(img.is_null(), "no picture on failure");
        return Err(rc);
    }
    let copy = unsafe {
        let i = &*img;
        assert_eq!(i.format, format);
        let data = std::slice::from_raw_parts(i.data, i.len).to_vec();
        (i.width, i.height, i.frameTime, data)
    };
    unsafe { CRVideo_FreeVideoImg(img) };
    Ok(copy)
}

/// An RGBA gradient.
fn gradient(w: usize, h: usize) -> Vec<u8> {
    let mut rgba = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            rgba.extend_from_slice(&[(x * 255 / w) as u8, (y * 255 / h) as u8, 96, 255]);
        }
    }
    rgba
}

fn json(p: *mut c_char) -> Value {
    assert!(!p.is_null());
    let v = serde_json::from_str(unsafe { CStr::from_ptr(p) }.to_str().unwrap()).unwrap();
    unsafe { crvideosdk::ffi::lifecycle::CRVideo_FreeString(p) };
    v
}

#[test]
fn cameras_preview_and_bad_arguments_without_a_server() {
    let _g = serial();
    init("{}");
    let ext = cstr(r#"{"fps":10,"maxKbps":300}"#);
    let id = create("front", RGBA, 64, 48, ext.as_ptr()).unwrap();
    assert_eq!(id, 1);
    RECORDER.wait_for(|e| matches!(e, Ev::VideoDevChanged { user_id } if user_id.is_empty()));
    RECORDER.wait_for(|e| matches!(e, Ev::DefVideoChanged { video_id: 1, .. }));
    let me = cstr("");
    assert_eq!(unsafe { CRVideo_GetDefaultVideo(me.as_ptr()) }, 1);
    assert_eq!(
        json(unsafe { CRVideo_GetAllVideoInfo(me.as_ptr()) }),
        serde_json::json!([{"userID":"","videoID":1,"videoName":"front"}])
    );

    // Nothing to show before the first picture.
    assert_eq!(image("", 1, RGBA, 0, 0), Err(ERR_DATA));
    let rgba = gradient(64, 48);
    assert_eq!(
        unsafe { CRVideo_InputCustomVideoDat(1, rgba.as_ptr(), rgba.len(), 1234) },
        0
    );
    // The camera's thread converts it: the preview appears.
    let start = Instant::now();
    let (w, h, time, back) = loop {
        match image("", 1, RGBA, 0, 0) {
            Ok(img) => break img,
            Err(ERR_DATA) if start.elapsed() < PATIENCE => std::thread::yield_now(),
            Err(e) => panic!("GetVideoImg: {e}"),
        }
    };
    assert_eq!((w, h, time), (64, 48, 1234));
    let worst = rgba
        .iter()
        .zip(&back)
        .map(|(a, b)| a.abs_diff(*b))
        .max()
        .unwrap();
    assert!(worst <= 6, "preview differs by {worst}");
    let (w, h, _, i420) = image("", 1, I420, 0, 0).unwrap();
    assert_eq!((w, h, i420.len()), (64, 48, 64 * 48 * 3 / 2));
    let (w, h, _, argb) = image("", 1, ARGB, 32, 100).unwrap();
    assert_eq!(
        (w, h, argb.len()),
        (32, 24, 32 * 24 * 4),
        "scaled down, aspect kept"
    );
    assert_eq!(
        image("", 1, RGBA, 640, 480).unwrap().0,
        64,
        "never scaled up"
    );

    // Bad arguments.
    assert_eq!(
        create("x", 3, 64, 48, null()),
        Err(PARAM_ERR),
        "format out of range"
    );
    assert_eq!(
        create("x", RGBA, 63, 48, null()),
        Err(PARAM_ERR),
        "odd width"
    );
    assert_eq!(create("x", RGBA, 8, 8, null()), Err(PARAM_ERR), "too small");
    assert_eq!(
        create("x", RGBA, 4096, 48, null()),
        Err(PARAM_ERR),
        "too wide"
    );
    assert_eq!(create("", RGBA, 64, 48, null()), Err(PARAM_ERR), "no name");
    let bad = cstr(r#"{"fps":0}"#);
    assert_eq!(create("x", RGBA, 64, 48, bad.as_ptr()), Err(PARAM_ERR));
    let name = cstr("x");
    let rc =
        unsafe { CRVideo_CreateCustomVideoDev(name.as_ptr(), RGBA, 64, 48, null(), null_mut()) };
    assert_eq!(rc, PARAM_ERR, "NULL outVideoID");
    let rc = unsafe { CRVideo_CreateCustomVideoDev(null(), RGBA, 64, 48, null(), &mut 0) };
    assert_eq!(rc, PARAM_ERR, "NULL name");
    let short = &rgba[..rgba.len() - 4];
    assert_eq!(
        unsafe { CRVideo_InputCustomVideoDat(1, short.as_ptr(), short.len(), 0) },
        PARAM_ERR
    );
    assert_eq!(
        unsafe { CRVideo_InputCustomVideoDat(1, null(), rgba.len(), 0) },
        PARAM_ERR
    );
    assert_eq!(
        unsafe { CRVideo_InputCustomVideoDat(9, rgba.as_ptr(), rgba.len(), 0) },
        PARAM_ERR
    );
    assert_eq!(CRVideo_DestroyCustomVideoDev(9), PARAM_ERR);
    assert_eq!(CRVideo_SetDefaultVideo(-1), PARAM_ERR);
    assert_eq!(image("", 9, RGBA, 0, 0), Err(PARAM_ERR), "unknown camera");
    assert_eq!(image("", 1, 7, 0, 0), Err(PARAM_ERR), "format out of range");
    assert_eq!(
        image("bob", 1, RGBA, 0, 0),
        Err(PARAM_ERR),
        "a member not known here"
    );
    let rc = unsafe { CRVideo_GetVideoImg(me.as_ptr(), 1, RGBA, 0, 0, null_mut()) };
    assert_eq!(rc, PARAM_ERR, "NULL out");
    for bad in ["[1]", "{}", r#"["bob"]"#, r#"["bob.x"]"#, "not json"] {
        let v = cstr(bad);
        assert_eq!(
            unsafe { CRVideo_SetWatchVideos(v.as_ptr()) },
            PARAM_ERR,
            "{bad}"
        );
    }
    let watch = cstr(r#"["bob.1","carol.2"]"#);
    assert_eq!(unsafe { CRVideo_SetWatchVideos(watch.as_ptr()) }, 0);
    assert_eq!(unsafe { CRVideo_SetWatchVideos(null()) }, 0);

    // Five cameras at most; destroying the default moves it to the next.
    for n in 2..=5 {
        assert_eq!(create(&format!("cam{n}"), I420, 32, 32, null()), Ok(n));
    }
    assert_eq!(create("sixth", I420, 32, 32, null()), Err(PARAM_ERR));
    assert_eq!(CRVideo_SetDefaultVideo(3), 0);
    RECORDER.wait_for(|e| matches!(e, Ev::DefVideoChanged { video_id: 3, .. }));
    assert_eq!(CRVideo_DestroyCustomVideoDev(3), 0);
    RECORDER.wait_for(|e| matches!(e, Ev::DefVideoChanged { video_id: 1, .. }));
    assert_eq!(unsafe { CRVideo_GetDefaultVideo(me.as_ptr()) }, 1);
    let info = json(unsafe { CRVideo_GetAllVideoInfo(me.as_ptr()) });
    let ids: Vec<i64> = info
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["videoID"].as_i64().unwrap())
        .collect();
    assert_eq!(ids, [1, 2, 4, 5]);
    assert!(unsafe { CRVideo_GetAllVideoInfo(null()) }.is_null());
    crvideosdk::ffi::lifecycle::CRVideo_Uninit();
    assert_eq!(
        create("x", RGBA, 64, 48, null()),
        Err(11),
        "NOT_INIT after Uninit"
    );
}

// ---- A meeting of peer processes ----

fn user(name: &str, server: &ServerProcess) -> Peer {
    Peer::login_with(name, server.addr, NO_RESUME, "demo", "demo123", name)
}

const FRONT: Video = Video {
    user: "alice",
    id: 1,
    seed: 1,
    width: 640,
    height: 360,
};
const SIDE: Video = Video {
    user: "alice",
    id: 2,
    seed: 2,
    width: 320,
    height: 180,
};

fn proc_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_video_meeting_of_three_with_two_cameras() {
    let server = ServerProcess::start(CONFIG);
    let mut alice = user("alice", &server);
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    let mut carol = user("carol", &server);
    assert_eq!(carol.enter_meeting(&id, ""), 0);
    // Elsewhere: the same tenant in another meeting, and another tenant.
    let mut dave = user("dave", &server);
    let other = dave.create_meeting(false).0;
    assert_eq!(dave.enter_meeting(&other, ""), 0);
    let mut eve = Peer::login_with("eve", server.addr, NO_RESUME, "acme", "s3cret", "eve");
    let theirs = eve.create_meeting(false).0;
    assert_eq!(eve.enter_meeting(&theirs, ""), 0);

    // Two cameras on alice: 640x360 RGBA and 320x180 I420.
    let front = camera(&mut alice, "front", RGBA, 640, 360);
    let side = camera(&mut alice, "side", I420, 320, 180);
    assert_eq!((front, side), (1, 2));
    bob.wait_nth(|l| l == "VideoDevChanged\talice", 2);
    carol.expect("DefVideoChanged\talice\t1");
    let info: Value = serde_json::from_str(&bob.cmd_text(&["video_info", "alice"])).unwrap();
    assert_eq!(
        info,
        serde_json::json!([{"userID":"alice","videoID":1,"videoName":"front"},
                           {"userID":"alice","videoID":2,"videoName":"side"}])
    );
    assert_eq!(bob.cmd(&["default_video", "alice"]), 1);
    assert_eq!(
        alice.cmd(&["feed", "1", &RGBA.to_string(), "640", "360", "15", "1"]),
        0
    );
    assert_eq!(
        alice.cmd(&["feed", "2", &I420.to_string(), "320", "180", "15", "2"]),
        0
    );

    // Closed video: nothing leaves alice's SDK (her preview works).
    take(&mut alice, FRONT, RGBA, "-").ok();
    assert_eq!(alice.cmd(&["open_video", "alice"]), 0);
    bob.expect("VideoStatusChanged\talice\t2\t3");

    // Every receiver decodes both cameras, close to what was sent, in time order.
    let dir = scratch_dir("video-frames");
    std::fs::create_dir_all(&dir).unwrap();
    for (peer, name) in [(&mut bob, "bob"), (&mut carol, "carol")] {
        for n in 0..6 {
            let ppm = dir.join(format!("{name}-front-{n}.ppm"));
            let shown = next_picture(peer, FRONT, RGBA, ppm.to_str().unwrap());
            assert_eq!((shown.width, shown.height), (640, 360));
            // The first pictures after a key frame may be rougher; all must be good.
            assert!(shown.psnr >= 32.0, "{name}: front picture {n}: {shown:?}");
            eprintln!("{name}: front picture {n}: {:.2} dB", shown.psnr);
            // The side camera's input is I420: compared as I420 (its Y plane), since RGB
            // would count the input's own chroma subsampling against us.
            let shown = next_picture(peer, SIDE, I420, "-");
            assert!(shown.psnr >= 32.0, "{name}: side picture {n}: {shown:?}");
        }
        for video in [FRONT, SIDE] {
            let times = notified(peer, video);
            assert!(times.windows(2).all(|w| w[0] < w[1]), "{name}: {times:?}");
        }
        eprintln!("{name}: pictures in {}", dir.display());
    }

    // A late joiner sees video within a second.
    let mut frank = user("frank", &server);
    assert_eq!(frank.cmd(&["enter", &id, ""]), 0);
    let entered = Instant::now();
    frank.expect("EnterMeetingRslt\t0");
    frank.wait_line(|l| l.starts_with("NotifyVideoData\talice\t1\t"));
    let waited = entered.elapsed();
    eprintln!("late joiner: first picture {waited:?} after entering");
    assert!(waited < Duration::from_secs(1), "{waited:?}");
    assert!(next_picture(&mut frank, FRONT, RGBA, "-").psnr >= 32.0);

    // SetWatchVideos narrows what bob receives.
    assert_eq!(bob.cmd(&["watch", r#"["alice.2"]"#]), 0);
    let before = notified(&bob, FRONT).len();
    take(&mut bob, SIDE, I420, "-").ok();
    for _ in 0..4 {
        next_picture(&mut bob, SIDE, I420, "-");
    }
    // One picture may have been decoding when the watch changed.
    assert!(notified(&bob, FRONT).len() <= before + 1);
    assert_eq!(bob.cmd(&["watch", "NULL"]), 0);
    take(&mut bob, FRONT, RGBA, "-").ok();
    next_picture(&mut bob, FRONT, RGBA, "-");

    // A stalled receiver (carol's callback sleeps 4 s) holds back nobody and does not grow.
    let carol_rss = proc_rss_kib(carol.pid());
    assert_eq!(carol.cmd(&["slow", "4000"]), 0);
    take(&mut carol, FRONT, RGBA, "-").ok();
    let stalled_at = notified(&carol, FRONT).len();
    carol.wait_nth(
        |l| l.starts_with("NotifyVideoData\talice\t1\t"),
        stalled_at + 1,
    );
    let start = Instant::now();
    for _ in 0..20 {
        next_picture(&mut bob, FRONT, RGBA, "-");
    }
    eprintln!(
        "bob: 20 pictures in {:?} while carol was stalled",
        start.elapsed()
    );
    let grown = proc_rss_kib(carol.pid()) as i64 - carol_rss as i64;
    eprintln!("carol's RSS grew by {grown} KiB while stalled");
    assert!(grown < 32 * 1024, "stalled receiver grew {grown} KiB");
    assert_eq!(carol.cmd(&["slow", "0"]), 0);

    // CloseVideo stops the frames; OpenVideo starts them again at a key frame.
    assert_eq!(alice.cmd(&["close_video", "alice"]), 0);
    alice.expect("VideoStatusChanged\talice\t3\t2");
    let closed_at = alice.cmd(&["feed_clock"]) as i64;
    bob.expect("VideoStatusChanged\talice\t3\t2");
    take(&mut bob, FRONT, RGBA, "-").ok();
    let reopened_at = alice.cmd(&["feed_clock"]) as i64;
    assert_eq!(alice.cmd(&["open_video", "alice"]), 0);
    let shown = loop {
        let shown = next_picture(&mut bob, FRONT, RGBA, "-");
        if shown.time > reopened_at {
            break shown;
        }
    };
    assert!(shown.psnr >= 32.0, "{shown:?}");
    let between: Vec<i64> = notified(&bob, FRONT)
        .into_iter()
        .filter(|t| (closed_at..=reopened_at).contains(t))
        .collect();
    assert!(between.is_empty(), "pictures while closed: {between:?}");

    // Nothing crossed into another meeting or tenant.
    for p in [&dave, &eve] {
        assert!(
            !p.lines()
                .iter()
                .any(|l| l.starts_with("NotifyVideoData") || l.contains("alice")),
            "{}: {:?}",
            p.name,
            p.callbacks()
        );
    }
    assert_eq!(alice.cmd(&["feed_stop", "1"]), 0);
    assert_eq!(alice.cmd(&["feed_stop", "2"]), 0);
}

/// What `screen_get` reported: (width, height, PSNR).
fn screen_get(p: &mut Peer, ppm: &str) -> Result<(u32, u32, f64), i32> {
    let rc = p.cmd(&["screen_get", ppm]);
    if rc != 0 {
        return Err(rc);
    }
    let f = p.last_fields("Screen\t");
    Ok((
        f[0].parse().unwrap(),
        f[1].parse().unwrap(),
        f[2].parse().unwrap(),
    ))
}

/// Waits for `p`'s `n`-th NotifyScreenShareData; returns (left, top, width, height).
fn screen_data(p: &Peer, n: usize) -> [i32; 4] {
    let line = p.wait_nth(|l| l.starts_with("NotifyScreenShareData\talice\t"), n);
    let f: Vec<i32> = line
        .split('\t')
        .skip(2)
        .map(|v| v.parse().unwrap())
        .collect();
    [f[0], f[1], f[2], f[3]]
}

#[test]
fn a_shared_screen_sends_what_changed_and_keeps_text_sharp() {
    let server = ServerProcess::start(CONFIG);
    let mut alice = user("alice", &server);
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    assert_eq!(alice.cmd(&["screen_cfg", r#"{"maxFPS":20}"#]), 0);
    assert_eq!(alice.cmd(&["screen_cfg", r#"{"maxFPS":0}"#]), PARAM_ERR);
    assert_eq!(alice.cmd(&["start_share"]), 0);
    alice.expect("StartScreenShareRslt\t0");
    bob.expect("NotifyScreenShareStarted");
    assert_eq!(
        bob.cmd(&["screen_get", "-"]),
        ERR_DATA,
        "nothing shared yet"
    );

    // A screen of text: the whole area, readable.
    assert_eq!(alice.cmd(&["screen_text", "1280", "720", "7", "1"]), 0);
    assert_eq!(bob.cmd(&["screen_text", "1280", "720", "7", "0"]), 0);
    bob.expect("NotifyShareRectChanged\t1280\t720");
    assert_eq!(screen_data(&bob, 1), [0, 0, 1280, 720]);
    let ppm = scratch_dir("screen-text");
    std::fs::create_dir_all(&ppm).unwrap();
    let (w, h, psnr) = screen_get(&mut bob, ppm.join("text.ppm").to_str().unwrap()).unwrap();
    eprintln!("text screen: {psnr} dB ({})", ppm.display());
    assert_eq!((w, h), (1280, 720));
    assert!(psnr >= 35.0, "text PSNR {psnr}");

    // A change: exactly its bounding box; an unchanged image sends nothing.
    assert_eq!(
        alice.cmd(&["screen_paint", "100", "200", "50", "30", "0", "1"]),
        0
    );
    assert_eq!(
        bob.cmd(&["screen_paint", "100", "200", "50", "30", "0", "0"]),
        0
    );
    assert_eq!(screen_data(&bob, 2), [100, 200, 50, 30]);
    screen_get(&mut bob, "-").unwrap();
    assert_eq!(alice.cmd(&["screen_push"]), 0);
    assert_eq!(
        alice.cmd(&["screen_paint", "600", "10", "8", "12", "128", "1"]),
        0
    );
    assert_eq!(
        bob.cmd(&["screen_paint", "600", "10", "8", "12", "128", "0"]),
        0
    );
    assert_eq!(screen_data(&bob, 3), [600, 10, 8, 12]);
    let (_, _, psnr) = screen_get(&mut bob, "-").unwrap();
    assert!(psnr >= 35.0, "after changes: {psnr}");

    // A late joiner gets the whole screen.
    let mut carol = user("carol", &server);
    assert_eq!(carol.enter_meeting(&id, ""), 0);
    carol.expect("NotifyScreenShareStarted");
    carol.expect("NotifyShareRectChanged\t1280\t720");
    carol.wait_line(|l| l == "NotifyScreenShareData\talice\t0\t0\t1280\t720");

    // A new size; then the SDK asks alice for images at maxFPS (the peer answers each).
    assert_eq!(alice.cmd(&["screen_text", "640", "360", "3", "1"]), 0);
    bob.expect("NotifyShareRectChanged\t640\t360");
    assert_eq!(alice.cmd(&["catch_screen", "1"]), 0);
    alice.wait_nth(|l| l == "NotifyCatchScreen", 3);
    assert_eq!(alice.cmd(&["catch_screen", "0"]), 0);

    // Stopping ends it for the viewers.
    assert_eq!(alice.cmd(&["stop_share"]), 0);
    bob.expect("NotifyScreenShareStopped");
    assert_eq!(bob.cmd(&["screen_get", "-"]), ERR_DATA);
    // Bad arguments.
    assert_eq!(
        alice.cmd(&["screen_text", "641", "360", "3", "1"]),
        PARAM_ERR,
        "odd width"
    );
}

#[test]
fn a_picture_larger_than_a_frame_arrives_in_pieces() {
    // 4 KiB frames at most: a 720p page of text as a key frame is about a hundred pieces
    // (it never arrived before pictures went in pieces, nor in more than 32 pieces before
    // the SDK's media lane was bounded in bytes).
    let config = format!("max_frame_bytes = 4096\n{CONFIG}");
    let server = ServerProcess::start(&config);
    let mut alice = user("alice", &server);
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    assert_eq!(alice.cmd(&["start_share"]), 0);
    bob.expect("NotifyScreenShareStarted");
    assert_eq!(alice.cmd(&["screen_text", "1280", "720", "7", "1"]), 0);
    assert_eq!(bob.cmd(&["screen_text", "1280", "720", "7", "0"]), 0);
    bob.expect("NotifyShareRectChanged\t1280\t720");
    let (w, h, psnr) = screen_get(&mut bob, "-").unwrap();
    assert_eq!((w, h), (1280, 720));
    assert!(psnr >= 35.0, "text PSNR {psnr}");

    // A late joiner starts at a key picture's first piece, and gets it whole.
    let mut carol = user("carol", &server);
    assert_eq!(carol.enter_meeting(&id, ""), 0);
    assert_eq!(carol.cmd(&["screen_text", "1280", "720", "7", "0"]), 0);
    carol.expect("NotifyShareRectChanged\t1280\t720");
    let (_, _, psnr) = screen_get(&mut carol, "-").unwrap();
    assert!(psnr >= 35.0, "late joiner's text PSNR {psnr}");

    let lost = ["LineOff", "Reconnecting", "MeetingDropped"];
    for peer in [&alice, &bob, &carol] {
        let lines = peer.callbacks();
        let dropped = lines.iter().any(|l| lost.iter().any(|p| l.starts_with(p)));
        assert!(!dropped, "{lines:?}");
    }
}
