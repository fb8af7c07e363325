//! Audio through the C ABI: bad arguments and the microphone tap in this process, and a
//! meeting of peer processes (tests/c/peer.c, tests/c/peer_audio.h) that push tones at real
//! time, encoded as Opus, relayed by the server, and mixed by each receiving SDK — measured
//! by Goertzel amplitudes, arrival times and WAV files.

mod common;

use std::ffi::c_char;
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

use common::peer::{Peer, NO_RESUME};
use common::server_process::ServerProcess;
use common::wav::{goertzel, read_wav, sine, RATE};
use common::*;
use crvideosdk::ffi::audio::*;

const PARAM_ERR: i32 = 5;
const NOT_INIT: i32 = 11;
const FILE_WRITE_ERR: i32 = 1402;

const CONFIG: &str = "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n[[tenants]]\naccount = \"acme\"\npassword = \"s3cret\"\n";

fn start_pcm(side: i32, get_type: i32, json: &str) -> i32 {
    let json = cstr(json);
    unsafe { CRVideo_StartGetAudioPCM(side, get_type, json.as_ptr()) }
}

fn push(pcm: &[u8]) -> i32 {
    unsafe { CRVideo_PushCustomAudioDat(pcm.as_ptr(), pcm.len()) }
}

/// `ms` of a sine of `freq` Hz and `amp`, as PCM bytes.
fn tone_bytes(freq: f64, amp: f64, ms: usize) -> Vec<u8> {
    (sine(freq, amp, ms * RATE / 1000).iter())
        .flat_map(|s| s.to_le_bytes())
        .collect()
}

#[test]
fn bad_arguments_and_the_microphone_tap_without_a_server() {
    let _g = serial();
    let pcm = tone_bytes(440.0, 8000.0, 40);
    assert_eq!(push(&pcm), NOT_INIT);
    assert_eq!(start_pcm(0, 0, "{}"), NOT_INIT);
    assert_eq!(unsafe { CRVideo_GetMicEnergy(cstr("").as_ptr()) }, 0);
    init("{}");
    RECORDER.clear();

    // Pushing needs capture enabled, and whole 10 ms of 16-bit samples.
    assert_eq!(push(&pcm), PARAM_ERR, "capture not enabled");
    let bad_params = cstr("[1]");
    assert_eq!(
        unsafe { CRVideo_SetCustomAudioCapture(1, bad_params.as_ptr()) },
        PARAM_ERR
    );
    assert_eq!(unsafe { CRVideo_SetCustomAudioCapture(1, null()) }, 0);
    assert_eq!(push(&pcm[..641]), PARAM_ERR, "odd length");
    assert_eq!(push(&pcm[..322]), PARAM_ERR, "not a multiple of 320");
    assert_eq!(push(&pcm[..0]), PARAM_ERR, "nothing");
    assert_eq!(
        unsafe { CRVideo_PushCustomAudioDat(null(), 320) },
        PARAM_ERR
    );
    assert_eq!(push(&pcm[..320]), 0, "10 ms");

    // StartGetAudioPCM: side, type, EachSize, FileName.
    assert_eq!(start_pcm(2, 0, r#"{"EachSize":320}"#), PARAM_ERR, "aSide 2");
    assert_eq!(
        start_pcm(-1, 0, r#"{"EachSize":320}"#),
        PARAM_ERR,
        "aSide -1"
    );
    assert_eq!(
        start_pcm(0, 2, r#"{"EachSize":320}"#),
        PARAM_ERR,
        "getType 2"
    );
    for each in ["0", "319", "330", "32320", "-320", "640.5", "\"640\""] {
        let json = format!(r#"{{"EachSize":{each}}}"#);
        assert_eq!(start_pcm(0, 0, &json), PARAM_ERR, "EachSize {each}");
    }
    assert_eq!(start_pcm(0, 0, "{oops"), PARAM_ERR, "bad JSON");
    assert_eq!(start_pcm(1, 1, "{}"), PARAM_ERR, "no FileName");
    assert_eq!(start_pcm(1, 1, r#"{"FileName":""}"#), PARAM_ERR);
    let nowhere = r#"{"FileName":"/nonexistent-dir/x.wav"}"#;
    assert_eq!(start_pcm(1, 1, nowhere), FILE_WRITE_ERR);
    assert_eq!(CRVideo_StopGetAudioPCM(3), PARAM_ERR);
    assert_eq!(CRVideo_StopGetAudioPCM(1), 0, "nothing started");
    assert_eq!(start_pcm(1, 0, r#"{"EachSize":32000}"#), 0, "the largest");
    assert_eq!(
        start_pcm(1, 0, r#"{"EachSize":640.0}"#),
        0,
        "a whole number"
    );

    // The microphone side gives back exactly what was pushed, in EachSize pieces.
    assert_eq!(start_pcm(0, 0, r#"{"EachSize":960}"#), 0);
    assert_eq!(push(&pcm), 0);
    assert_eq!(push(&pcm[..640]), 0);
    let pieces: Vec<Vec<u8>> = RECORDER
        .wait_until(|evs| {
            let n = evs
                .iter()
                .filter(|e| matches!(e, Ev::NotifyAudioPCMDat { .. }));
            n.count() >= 2
        })
        .into_iter()
        .filter_map(|e| match e {
            Ev::NotifyAudioPCMDat { a_side: 0, pcm } => Some(pcm),
            _ => None,
        })
        .collect();
    assert_eq!(pieces.len(), 2);
    assert!(pieces.iter().all(|p| p.len() == 960));
    assert!(
        pieces.concat() == [&pcm[..], &pcm[..640]].concat(),
        "as pushed"
    );
    assert_eq!(CRVideo_StopGetAudioPCM(0), 0);

    // Pulling the speaker needs playback enabled; outside a meeting it is silence.
    let mut out = vec![1u8; 640];
    let pull = |out: &mut [u8]| unsafe { CRVideo_PullCustomAudioDat(out.as_mut_ptr(), out.len()) };
    assert_eq!(pull(&mut out), PARAM_ERR, "playback not enabled");
    assert_eq!(unsafe { CRVideo_SetCustomAudioPlayback(1, null()) }, 0);
    assert_eq!(pull(&mut out[..3]), PARAM_ERR, "odd");
    assert_eq!(pull(&mut out[..0]), PARAM_ERR, "nothing");
    assert_eq!(
        unsafe { CRVideo_PullCustomAudioDat(null_mut(), 2) },
        PARAM_ERR
    );
    assert_eq!(pull(&mut out[..2]), 0, "any even length");
    assert_eq!(pull(&mut out), 0);
    assert!(out.iter().all(|&b| b == 0), "silence");
    assert_eq!(unsafe { CRVideo_GetMicEnergy(null::<c_char>()) }, 0);
    crvideosdk::ffi::lifecycle::CRVideo_Uninit();
}

// ---- A meeting of peer processes ----

fn user(name: &str, server: &ServerProcess) -> Peer {
    let mut p = Peer::login_with(name, server.addr, NO_RESUME, "demo", "demo123", name);
    assert_eq!(p.cmd(&["capture", "1"]), 0);
    p
}

/// What `spectrum` measured over the last stretch of a side.
#[derive(Debug, Clone, Copy)]
struct Spectrum {
    a440: f64,
    /// Between the tones (550 Hz), or their intermodulation (880 Hz) with [`loud_spectrum`].
    other: f64,
    a660: f64,
    rms: f64,
    /// Samples the side has had in all.
    total: u64,
}

fn spectrum_at(p: &mut Peer, side: i32, ms: u32, other: &str) -> Spectrum {
    let (side, ms) = (side.to_string(), ms.to_string());
    assert_eq!(p.cmd(&["spectrum", &side, &ms, "440", other, "660"]), 0);
    let f = p.last_fields("Spectrum\t");
    Spectrum {
        a440: f[0].parse().unwrap(),
        other: f[1].parse().unwrap(),
        a660: f[2].parse().unwrap(),
        rms: f[3].parse().unwrap(),
        total: f[4].parse().unwrap(),
    }
}

fn spectrum(p: &mut Peer, side: i32, ms: u32) -> Spectrum {
    spectrum_at(p, side, ms, "550")
}

/// Measures `p`'s side over its last `ms` until `cond` holds; panics after 10 s.
fn spectrum_until(
    p: &mut Peer,
    side: i32,
    ms: u32,
    what: &str,
    cond: impl Fn(&Spectrum) -> bool,
) -> Spectrum {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let s = spectrum(p, side, ms);
        if cond(&s) {
            return s;
        }
        assert!(Instant::now() < deadline, "{what}: still {s:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Both tones dominate: each strong, nothing between them, and together they carry
/// almost all of the signal's power.
fn both_tones(s: &Spectrum) -> bool {
    let tones = (s.a440 * s.a440 + s.a660 * s.a660) / 2.0;
    s.a440 > 5000.0 && s.a660 > 5000.0 && s.other < 500.0 && tones > 0.8 * s.rms * s.rms
}

fn levels(p: &Peer, user: &str) -> Vec<(i32, i32)> {
    let prefix = format!("MicEnergyUpdate\t{user}\t");
    (p.lines().iter())
        .filter_map(|l| {
            let rest = l.strip_prefix(&prefix)?;
            let (old, new) = rest.split_once('\t')?;
            Some((old.parse().ok()?, new.parse().ok()?))
        })
        .collect()
}

fn tone_at(p: &mut Peer, freq: &str, amp: &str) -> i64 {
    let seen = (p.lines().iter())
        .filter(|l| l.starts_with("ToneAt\t"))
        .count();
    assert_eq!(p.cmd(&["tone", freq, amp]), 0);
    let line = p.wait_nth(|l| l.starts_with("ToneAt\t"), seen + 1);
    line["ToneAt\t".len()..].parse().unwrap()
}

#[test]
fn three_members_hear_the_mix_of_the_others() {
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
    for p in [&mut carol, &mut dave, &mut eve] {
        assert_eq!(p.cmd(&["listen", "1", "320"]), 0);
    }

    // Mics closed: alice's tone goes nowhere; the speaker stream is steady silence.
    tone_at(&mut alice, "440", "10000");
    let before = (Instant::now(), spectrum(&mut carol, 1, 100).total);
    std::thread::sleep(Duration::from_millis(500));
    let after = spectrum(&mut carol, 1, 400);
    assert_eq!(after.rms, 0.0, "nothing heard with the mic closed");
    let rate = (after.total - before.1) as f64 / before.0.elapsed().as_secs_f64();
    assert!(
        (14_000.0..17_000.0).contains(&rate),
        "the speaker side runs at real time: {rate:.0} samples/s"
    );

    // Alice opens her mic: carol hears the 440 Hz tone, after a measured delay.
    let steady_from = (Instant::now(), spectrum(&mut carol, 1, 100).total);
    assert_eq!(alice.cmd(&["tone", "0", "0"]), 0);
    assert_eq!(alice.cmd(&["open_mic", "alice"]), 0);
    carol.expect("AudioStatusChanged\talice\t2\t3");
    // Her silence flows for a moment first, so the onsets below measure a running stream.
    std::thread::sleep(Duration::from_millis(200));
    let mut delays = Vec::new();
    for _ in 0..5 {
        let started = tone_at(&mut alice, "440", "10000");
        assert_eq!(carol.cmd(&["onset", "1", "2000", &started.to_string()]), 0);
        let f = carol.last_fields("Onset\t");
        let mut heard: i64 = f[0].parse().unwrap();
        let deadline = Instant::now() + Duration::from_secs(5);
        while heard < 0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            carol.cmd(&["onset", "1", "2000", &started.to_string()]);
            heard = carol.last_fields("Onset\t")[0].parse().unwrap();
        }
        assert!(heard > 0, "the tone never arrived");
        delays.push(heard - started);
        assert_eq!(alice.cmd(&["tone", "0", "0"]), 0);
        // The tone's tail plays out before the next onset is timed.
        std::thread::sleep(Duration::from_millis(150));
    }
    delays.sort();
    eprintln!("push -> NotifyAudioPCMDat delay (ms, 5 onsets): {delays:?}");
    // The jitter buffer holds 40 ms, and a talk-spurt starts at its own sample.
    assert!(delays[2] < 100, "median delay {} ms", delays[2]);

    // Bob opens his mic with a 660 Hz tone: carol hears both, as a mix.
    tone_at(&mut alice, "440", "10000");
    assert_eq!(bob.cmd(&["open_mic", "bob"]), 0);
    tone_at(&mut bob, "660", "10000");
    let mix = spectrum_until(&mut carol, 1, 500, "carol hears both", both_tones);
    eprintln!("carol's mix: {mix:?}");
    // Each speaker hears only the other.
    assert_eq!(bob.cmd(&["listen", "1", "640"]), 0);
    let bobs = spectrum_until(&mut bob, 1, 500, "bob hears alice", |s| s.a440 > 5000.0);
    assert!(bobs.a660 < 300.0, "bob does not hear himself: {bobs:?}");

    // Levels: a loud tone is 7 or more, everywhere, the speaker's own SDK included.
    for p in [&carol, &bob, &alice] {
        p.wait_line(|l| {
            let Some(rest) = l.strip_prefix("MicEnergyUpdate\talice\t") else {
                return false;
            };
            rest.split('\t').nth(1).and_then(|n| n.parse::<i32>().ok()) >= Some(7)
        });
    }
    let level = carol.cmd(&["mic_energy", "alice"]);
    assert!((7..=10).contains(&level), "GetMicEnergy(alice) = {level}");
    // Silence is 0.
    assert_eq!(bob.cmd(&["tone", "0", "0"]), 0);
    carol.wait_line(|l| l.starts_with("MicEnergyUpdate\tbob\t") && l.ends_with("\t0"));
    assert_eq!(carol.cmd(&["mic_energy", "bob"]), 0);
    tone_at(&mut bob, "660", "10000");

    // Loud tones overflow the sum: limited, not clipped (clipping would add the tones'
    // intermodulation, 2 x 660 - 440 = 880 Hz).
    tone_at(&mut alice, "440", "24000");
    tone_at(&mut bob, "660", "24000");
    let deadline = Instant::now() + Duration::from_secs(10);
    let loud = loop {
        let s = spectrum_at(&mut carol, 1, 300, "880");
        if s.a440 > 12_000.0 && s.a660 > 12_000.0 {
            break s;
        }
        assert!(Instant::now() < deadline, "no loud mix: {s:?}");
        std::thread::sleep(Duration::from_millis(50));
    };
    eprintln!("carol's loud mix (880 Hz as `other`): {loud:?}");
    assert!(loud.other < 0.02 * loud.a440, "clipped: {loud:?}");
    tone_at(&mut alice, "440", "10000");
    tone_at(&mut bob, "660", "10000");

    // Through all of this (five talk-spurts, levels, the loud mix) the speaker stream kept
    // real time.
    let now = spectrum(&mut carol, 1, 100).total;
    let rate = (now - steady_from.1) as f64 / steady_from.0.elapsed().as_secs_f64();
    assert!(
        (15_760.0..16_240.0).contains(&rate),
        "the speaker side runs at real time: {rate:.0} samples/s"
    );

    // Pulling at the app's clock instead gives the same mix, in small pieces or large.
    assert_eq!(carol.cmd(&["listen_stop", "1"]), 0);
    assert_eq!(carol.cmd(&["playback", "1"]), 0);
    for ms in ["20", "100"] {
        assert_eq!(carol.cmd(&["pull_start", ms]), 0);
        // Measured over the second second this puller took (a new pull size glitches
        // once: the buffer refills to what the larger pieces need).
        // A whole second with both tones at full strength (a glitch lowers them; on a busy
        // machine one may come, so the next second is measured).
        let start = spectrum(&mut carol, 1, 100).total;
        let pulled = spectrum_until(&mut carol, 1, 1000, "carol pulls both", |s| {
            let full = s.a440 > 9000.0 && s.a660 > 9000.0;
            s.total >= start + 32_000 && both_tones(s) && full
        });
        eprintln!("carol's mix pulled {ms} ms at a time: {pulled:?}");
        assert_eq!(carol.cmd(&["pull_stop"]), 0);
    }
    assert_eq!(carol.cmd(&["pull_start", "20"]), 0);

    // Alice closes her mic: her level goes to 0 and only bob's tone is left.
    assert_eq!(alice.cmd(&["close_mic", "alice"]), 0);
    carol.wait_line(|l| l.starts_with("MicEnergyUpdate\talice\t") && l.ends_with("\t0"));
    let left = spectrum_until(&mut carol, 1, 300, "only bob", |s| {
        s.a440 < 100.0 && s.a660 > 5000.0
    });
    eprintln!("after alice's CloseMic: {left:?}");
    assert_eq!(carol.cmd(&["pull_stop"]), 0);

    // Levels are reported only on change, each from where the last one left it.
    for p in [&carol, &bob, &alice] {
        for who in ["alice", "bob"] {
            let changes = levels(p, who);
            assert!(changes.iter().all(|(old, new)| old != new), "{changes:?}");
            let olds = changes.iter().map(|c| c.0);
            let news = [0].into_iter().chain(changes.iter().map(|c| c.1));
            assert!(olds.zip(news).all(|(old, new)| old == new), "{changes:?}");
        }
    }

    // Nothing crossed into the other meeting or the other tenant.
    for p in [&mut dave, &mut eve] {
        let s = spectrum(p, 1, 5000);
        assert_eq!(s.rms, 0.0, "silence elsewhere: {s:?}");
        assert!(s.total > 16_000, "a steady stream elsewhere too: {s:?}");
        assert!(levels(p, "alice").is_empty() && levels(p, "bob").is_empty());
    }
    for p in [&mut alice, &mut bob] {
        assert_eq!(p.cmd(&["tone_stop"]), 0);
    }

    // The speaker clock is a thread of the meeting: leaving ends it.
    assert!(carol.cmd_text(&["sdk_threads"]).contains("crvideo-audio"));
    assert_eq!(carol.cmd(&["exit_meeting"]), 0);
    let deadline = Instant::now() + Duration::from_secs(5);
    while carol.cmd_text(&["sdk_threads"]).contains("crvideo-audio") {
        assert!(
            Instant::now() < deadline,
            "the speaker clock outlived the meeting"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn wav_files_of_the_microphone_and_the_speaker() {
    let server = ServerProcess::start(CONFIG);
    let dir = scratch_dir("audio-wav");
    std::fs::create_dir_all(&dir).unwrap();
    let (mic_wav, speaker_wav) = (dir.join("alice-mic.wav"), dir.join("bob-speaker.wav"));
    let mut alice = user("alice", &server);
    let id = alice.create_meeting(false).0;
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    assert_eq!(alice.cmd(&["open_mic", "alice"]), 0);
    bob.expect("AudioStatusChanged\talice\t2\t3");
    let mic = mic_wav.to_str().unwrap();
    assert_eq!(alice.cmd(&["listen_wav", "0", mic]), 0);
    assert_eq!(
        bob.cmd(&["listen_wav", "1", speaker_wav.to_str().unwrap()]),
        0
    );
    tone_at(&mut alice, "440", "10000");
    bob.wait_line(|l| l.starts_with("MicEnergyUpdate\talice\t"));
    // A second and a half of the tone reaches bob's file (the speaker side's real time).
    let size = || std::fs::metadata(&speaker_wav).map_or(0, |m| m.len());
    let (from, deadline) = (size(), Instant::now() + Duration::from_secs(10));
    while size() < from + 48_000 {
        assert!(Instant::now() < deadline, "bob's file stopped growing");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(alice.cmd(&["tone_stop"]), 0);
    assert_eq!(alice.cmd(&["listen_stop", "0"]), 0);
    // A Logout finishes a file too.
    assert_eq!(bob.cmd(&["logout"]), 0);

    let mic = read_wav(&mic_wav);
    assert!(mic.len() >= 16_000, "{} samples", mic.len());
    assert!(goertzel(&mic, 440.0) > 9500.0, "the tone as pushed");
    let heard = read_wav(&speaker_wav);
    assert!(heard.len() >= 16_000, "{} samples", heard.len());
    let loud: Vec<i16> = heard
        .iter()
        .copied()
        .skip_while(|s| s.abs() < 2000)
        .collect();
    assert!(loud.len() >= 16_000, "a second and more of the tone");
    let tail = &loud[1600..16_000];
    let a440 = goertzel(tail, 440.0);
    assert!(a440 > 8000.0 && goertzel(tail, 660.0) < 300.0, "{a440}");
    eprintln!(
        "WAV files: {} ({} samples), {} ({} samples, 440 Hz at {a440:.0})",
        mic_wav.display(),
        mic.len(),
        speaker_wav.display(),
        heard.len()
    );
}
