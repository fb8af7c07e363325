//! The meeting room (enter/exit/stop, members, audio/video, IM, share, control right,
//! page, video wall, main video) through the C ABI, between
//! peer processes (tests/c/peer.c).

mod common;

use common::peer::{Peer, NO_RESUME};
use common::server_process::ServerProcess;
use serde_json::Value;
use std::time::Duration;

const CONFIG: &str = "max_meeting_members = 3\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n[[tenants]]\naccount = \"acme\"\npassword = \"s3cret\"\n";

/// A peer; without resuming, so that a killed one leaves at once.
fn user(name: &str, server: &ServerProcess) -> Peer {
    Peer::login_with(name, server.addr, NO_RESUME, "demo", "demo123", name)
}

fn members(p: &mut Peer) -> Vec<String> {
    let json: Value = serde_json::from_str(&p.cmd_text(&["members"])).unwrap();
    json.as_array()
        .unwrap()
        .iter()
        .map(|m| m["userID"].as_str().unwrap().to_string())
        .collect()
}

/// alice creates a meeting without password; alice, then bob, enter it. Returns them and the
/// meeting's ID once alice has seen bob enter.
fn alice_and_bob_in_a_meeting(server: &ServerProcess) -> (Peer, Peer, String) {
    let mut alice = user("alice", server);
    let (id, _) = alice.create_meeting(false);
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    alice.expect("UserEnterMeeting\tbob");
    (alice, bob, id)
}

#[test]
fn enter_rules_and_members() {
    let server = ServerProcess::start(CONFIG);
    let mut alice = user("alice", &server);
    let (id, pswd) = alice.create_meeting(true);
    assert_eq!(alice.enter_meeting("12345678", &pswd), 800);
    assert_eq!(alice.enter_meeting(&id, "wrong"), 801);
    assert_eq!(members(&mut alice), Vec::<String>::new());
    assert_eq!(alice.enter_meeting(&id, &pswd), 0);
    assert_eq!(members(&mut alice), ["alice"]);
    assert_eq!(alice.enter_meeting(&id, &pswd), 807);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, &pswd), 0);
    alice.expect("UserEnterMeeting\tbob");
    assert_eq!(members(&mut bob), ["alice", "bob"]);
    let json: Value = serde_json::from_str(&bob.cmd_text(&["members"])).unwrap();
    assert_eq!(
        json[1],
        serde_json::json!({"userID":"bob","nickname":"bob","audioStatus":2,"videoStatus":2})
    );
    // Room full (max_meeting_members = 3).
    let mut carol = user("carol", &server);
    assert_eq!(carol.enter_meeting(&id, &pswd), 0);
    let mut dave = user("dave", &server);
    assert_eq!(dave.enter_meeting(&id, &pswd), 802);
    // Another tenant's meeting does not exist for them.
    let mut erin = Peer::login("erin", server.addr, "acme", "s3cret", "erin");
    assert_eq!(erin.enter_meeting(&id, &pswd), 800);
    // Not in a meeting: refused at once.
    assert_eq!(dave.cmd(&["exit_meeting"]), 817);
    assert_eq!(dave.cmd(&["stop_meeting"]), 817);
    assert_eq!(dave.cmd(&["open_mic", "dave"]), 817);
    let task = dave.cmd_text(&["im", "hi", "", "c"]);
    dave.expect(&format!("SendIMmsgRlst\t{task}\t817\tc"));
    // Exit: the others see it; the leaver is out at once.
    assert_eq!(carol.cmd(&["exit_meeting"]), 0);
    assert_eq!(members(&mut carol), Vec::<String>::new());
    alice.expect("UserLeftMeeting\tcarol");
    bob.expect("UserLeftMeeting\tcarol");
    assert_eq!(dave.enter_meeting(&id, &pswd), 0);
}

#[test]
fn presence_shows_in_a_meeting() {
    let server = ServerProcess::start(CONFIG);
    let mut watcher = user("watcher", &server);
    assert_eq!(watcher.cmd(&["notify_start", "w"]), 0);
    watcher.expect("StartUserStatusNotifyRslt\t0\tw");
    let mut alice = user("alice", &server);
    let (id, _) = alice.create_meeting(false);
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    watcher.expect(r#"NotifyUserStatus	{"userID":"alice","userStatus":3,"DNDType":0}	w"#);
    assert_eq!(alice.cmd(&["exit_meeting"]), 0);
    watcher
        .wait_line(|l| l == r#"NotifyUserStatus	{"userID":"alice","userStatus":1,"DNDType":0}	w"#);
}

#[test]
fn audio_video_and_the_creators_control() {
    let server = ServerProcess::start(CONFIG);
    let (mut alice, mut bob, _) = alice_and_bob_in_a_meeting(&server);
    // Own microphone: everyone (self included) sees the change.
    assert_eq!(bob.cmd(&["open_mic", "bob"]), 0);
    alice.expect("AudioStatusChanged\tbob\t2\t3");
    bob.expect("AudioStatusChanged\tbob\t2\t3");
    // Already open: nothing happens.
    assert_eq!(bob.cmd(&["open_mic", "bob"]), 0);
    // Someone else's: only the creator.
    assert_eq!(bob.cmd(&["open_video", "alice"]), 23);
    assert_eq!(alice.cmd(&["open_video", "bob"]), 0);
    bob.expect("VideoStatusChanged\tbob\t2\t3");
    assert_eq!(alice.cmd(&["close_mic", "bob"]), 0);
    bob.expect("AudioStatusChanged\tbob\t3\t2");
    assert_eq!(alice.cmd(&["open_mic", "nobody"]), 5);
    // The copy follows: GetAllMembers shows bob's video open, audio closed.
    bob.wait_line(|l| l == "AudioStatusChanged\tbob\t3\t2");
    let json: Value = serde_json::from_str(&bob.cmd_text(&["members"])).unwrap();
    assert_eq!(json[1]["videoStatus"], 3);
    assert_eq!(json[1]["audioStatus"], 2);
    assert_eq!(
        bob.count("AudioStatusChanged\tbob\t2\t3"),
        1,
        "no event without a change"
    );
}

#[test]
fn im_to_all_to_one_in_order() {
    let server = ServerProcess::start(CONFIG);
    let mut alice = user("alice", &server);
    let (id, _) = alice.create_meeting(false);
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    let mut carol = user("carol", &server);
    assert_eq!(carol.enter_meeting(&id, ""), 0);
    let task = alice.cmd_text(&["im", "hello all", "", "a"]);
    alice.expect(&format!("SendIMmsgRlst\t{task}\t0\ta"));
    for p in [&bob, &carol] {
        p.wait_line(|l| l.starts_with("NotifyIMmsg\talice\thello all\t"));
    }
    let task = alice.cmd_text(&["im", "just bob", "bob", "b"]);
    alice.expect(&format!("SendIMmsgRlst\t{task}\t0\tb"));
    bob.wait_line(|l| l.starts_with("NotifyIMmsg\talice\tjust bob\t"));
    // The sendTime is the server's time now.
    let line = bob.wait_line(|l| l.starts_with("NotifyIMmsg\talice\tjust bob\t"));
    let sent: i64 = line.rsplit('\t').next().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((sent - now).abs() < 60);
    // Order between two members.
    for i in 0..50 {
        alice.cmd_text(&["im", &format!("n{i}"), "carol", "o"]);
    }
    carol.wait_line(|l| l.starts_with("NotifyIMmsg\talice\tn49\t"));
    let got: Vec<String> = carol
        .lines()
        .iter()
        .filter_map(|l| l.strip_prefix("NotifyIMmsg\talice\tn"))
        .map(|rest| rest.split('\t').next().unwrap().to_string())
        .collect();
    assert_eq!(got, (0..50).map(|i| i.to_string()).collect::<Vec<_>>());
    assert!(!carol.lines().iter().any(|l| l.contains("just bob")));
    assert!(
        !alice
            .lines()
            .iter()
            .any(|l| l.starts_with("NotifyIMmsg\talice")),
        "not to the sender"
    );
    // Limits: 4,096 characters pass, one more does not; unknown recipients neither.
    let task = alice.cmd_text(&["im", &"字".repeat(4097), "", "long"]);
    alice.expect(&format!("SendIMmsgRlst\t{task}\t5\tlong"));
    let task = alice.cmd_text(&["im", "x", "nobody", "who"]);
    alice.expect(&format!("SendIMmsgRlst\t{task}\t5\twho"));
    let task = alice.cmd_text(&["im", &"字".repeat(4096), "", "max"]);
    alice.expect(&format!("SendIMmsgRlst\t{task}\t0\tmax"));
}

#[test]
fn stop_destroy_and_dropped_members() {
    let server = ServerProcess::start(CONFIG);
    let (mut alice, mut bob, id) = alice_and_bob_in_a_meeting(&server);
    // Only the creator stops.
    assert_eq!(bob.cmd(&["stop_meeting"]), 0);
    bob.expect("StopMeetingRslt\t23");
    assert_eq!(alice.cmd(&["stop_meeting"]), 0);
    alice.expect("StopMeetingRslt\t0");
    bob.expect("MeetingStopped");
    assert_eq!(members(&mut bob), Vec::<String>::new());
    assert_eq!(bob.cmd(&["exit_meeting"]), 817);
    // A member whose process dies is seen leaving.
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let carol = {
        let mut carol = user("carol", &server);
        assert_eq!(carol.enter_meeting(&id, ""), 0);
        carol
    };
    alice.expect("UserEnterMeeting\tcarol");
    carol.signal("KILL");
    alice.expect("UserLeftMeeting\tcarol");
    // Destroying a live meeting stops it first.
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    assert_eq!(alice.cmd(&["destroy_meeting", &id, "d"]), 0);
    alice.expect("DestroyMeetingRslt\t0\td");
    bob.wait_nth(|l| l == "MeetingStopped", 2);
    assert_eq!(bob.enter_meeting(&id, ""), 800);
}

#[test]
fn a_dropped_connection_reports_meeting_dropped_before_line_off() {
    let mut server = ServerProcess::start(CONFIG);
    // With a resume window: the SDK tries to resume first; the restarted server (elsewhere)
    // cannot take it back, so the window passes.
    let extra = r#""resumeWindowMs":500"#;
    let mut alice = Peer::login_with("alice", server.addr, extra, "demo", "demo123", "alice");
    let (id, _) = alice.create_meeting(false);
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    server.restart("KILL");
    alice.expect("MeetingDropped");
    alice.expect("LineOff\t207");
    let lines = alice.lines();
    let position = |line: &str| lines.iter().position(|l| l == line).unwrap();
    assert!(position("Reconnecting") < position("MeetingDropped"));
    assert!(position("MeetingDropped") < position("LineOff\t207"));
    assert!(!lines.iter().any(|l| l == "Reconnected"));
}

/// The callback lines from the `n`-th (1-based) one that is exactly `marker` on.
fn callbacks_from(p: &Peer, marker: &str, n: usize) -> Vec<String> {
    let callbacks = p.callbacks();
    let at = callbacks
        .iter()
        .enumerate()
        .filter(|(_, l)| *l == marker)
        .nth(n - 1)
        .map(|(i, _)| i)
        .expect("marker line");
    callbacks[at..].to_vec()
}

#[test]
fn screen_share_control_right_page_wall_and_main_video() {
    let server = ServerProcess::start(CONFIG);
    let mut alice = user("alice", &server);
    let (id, _) = alice.create_meeting(false);
    // Not in a meeting: refused at once.
    for cmd in [
        &["start_share"][..],
        &["stop_share"],
        &["give_ctrl", "bob"],
        &["page", "1", ""],
        &["wall", "1"],
        &["main_video", "alice"],
    ] {
        assert_eq!(alice.cmd(cmd), 817, "{cmd:?}");
    }
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    let mut bob = user("bob", &server);
    assert_eq!(bob.enter_meeting(&id, ""), 0);
    alice.expect("UserEnterMeeting\tbob");

    // One sharer at a time; only the sharer stops it or hands out the control right.
    assert_eq!(alice.cmd(&["start_share"]), 0);
    alice.expect("StartScreenShareRslt\t0");
    bob.expect("NotifyScreenShareStarted");
    assert_eq!(bob.cmd(&["start_share"]), 0);
    bob.expect("StartScreenShareRslt\t602");
    assert_eq!(bob.cmd(&["stop_share"]), 0);
    bob.expect("StopScreenShareRslt\t23");
    assert_eq!(bob.cmd(&["give_ctrl", "alice"]), 23);
    assert_eq!(alice.cmd(&["give_ctrl", "alice"]), 5);
    assert_eq!(alice.cmd(&["give_ctrl", "nobody"]), 5);
    assert_eq!(
        alice.cmd(&["release_ctrl", "bob"]),
        0,
        "not held: no change"
    );
    assert_eq!(alice.cmd(&["give_ctrl", "bob"]), 0);
    for p in [&alice, &bob] {
        p.expect("NotifyGiveCtrlRight\talice\tbob");
    }
    assert_eq!(
        alice.cmd(&["give_ctrl", "bob"]),
        0,
        "held already: no change"
    );

    // Page, video wall (to the others), main video (to all); bad values refused at once.
    assert_eq!(alice.cmd(&["page", "2", "b1"]), 0);
    bob.expect("NotifySwitchToPage\t2\tb1");
    assert_eq!(alice.cmd(&["page", "3", "b1"]), 5);
    assert_eq!(bob.cmd(&["wall", "4"]), 0);
    alice.expect("NotifyVideoWallMode\t4");
    assert_eq!(bob.cmd(&["wall", "-1"]), 5);
    assert_eq!(bob.cmd(&["main_video", "nobody"]), 5);
    assert_eq!(bob.cmd(&["main_video", "alice"]), 0);
    for p in [&alice, &bob] {
        p.expect("NotifyMainVideoChanged\tbob\talice");
    }
    assert!(!alice
        .lines()
        .iter()
        .any(|l| l.starts_with("NotifySwitchToPage")));
    assert!(!bob
        .lines()
        .iter()
        .any(|l| l.starts_with("NotifyVideoWallMode")));

    // A late joiner gets the whole state right after its EnterMeetingRslt, before any later
    // change.
    let mut carol = user("carol", &server);
    assert_eq!(carol.enter_meeting(&id, ""), 0);
    assert_eq!(bob.cmd(&["page", "1", "s"]), 0);
    carol.expect("NotifySwitchToPage\t1\ts");
    assert_eq!(
        callbacks_from(&carol, "EnterMeetingRslt\t0", 1),
        [
            "EnterMeetingRslt\t0",
            "NotifyInitBoards\t[]",
            "NotifyScreenShareStarted",
            "NotifyGiveCtrlRight\talice\tbob",
            "NotifySwitchToPage\t2\tb1",
            "NotifyVideoWallMode\t4",
            "NotifyMainVideoChanged\tbob\talice",
            "NotifySwitchToPage\t1\ts",
        ]
    );
    assert_eq!(bob.count("NotifyGiveCtrlRight\talice\tbob"), 1);

    // The sharer leaving ends the share and releases its control rights, before the others
    // hear it left.
    assert_eq!(alice.cmd(&["exit_meeting"]), 0);
    for p in [&bob, &carol] {
        p.expect("UserLeftMeeting\talice");
        let tail = callbacks_from(p, "NotifyReleaseCtrlRight\talice\tbob", 1);
        assert_eq!(
            tail[..3],
            [
                "NotifyReleaseCtrlRight\talice\tbob",
                "NotifyScreenShareStopped",
                "UserLeftMeeting\talice"
            ]
        );
    }
    // The share is free again; stopping it tells the others.
    assert_eq!(carol.cmd(&["start_share"]), 0);
    carol.expect("StartScreenShareRslt\t0");
    bob.wait_nth(|l| l == "NotifyScreenShareStarted", 2);
    assert_eq!(carol.cmd(&["give_ctrl", "bob"]), 0);
    bob.expect("NotifyGiveCtrlRight\tcarol\tbob");
    assert_eq!(carol.cmd(&["stop_share"]), 0);
    carol.expect("StopScreenShareRslt\t0");
    for p in [&bob, &carol] {
        p.expect("NotifyReleaseCtrlRight\tcarol\tbob");
    }
    bob.wait_nth(|l| l == "NotifyScreenShareStopped", 2);
    assert_eq!(carol.cmd(&["give_ctrl", "bob"]), 23, "no longer the sharer");
    assert_eq!(carol.cmd(&["stop_share"]), 0);
    carol.expect("StopScreenShareRslt\t0");

    // The last member leaving clears the live state: a new entrant gets none of it.
    assert_eq!(carol.cmd(&["start_share"]), 0);
    carol.wait_nth(|l| l == "StartScreenShareRslt\t0", 2);
    assert_eq!(bob.cmd(&["exit_meeting"]), 0);
    assert_eq!(carol.cmd(&["exit_meeting"]), 0);
    // ExitMeeting returns once sent: a reply on carol's connection shows it was applied.
    assert_eq!(carol.enter_meeting("12345678", ""), 800);
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    assert_eq!(alice.cmd(&["main_video", "alice"]), 0);
    alice.expect("NotifyMainVideoChanged\talice\talice");
    assert_eq!(
        callbacks_from(&alice, "EnterMeetingRslt\t0", 2),
        [
            "EnterMeetingRslt\t0",
            "NotifyInitBoards\t[]",
            "NotifyMainVideoChanged\talice\talice"
        ]
    );
}

#[test]
fn a_killed_sharer_ends_the_share() {
    let server = ServerProcess::start(CONFIG);
    let (mut alice, mut bob, _) = alice_and_bob_in_a_meeting(&server);
    assert_eq!(bob.cmd(&["start_share"]), 0);
    bob.expect("StartScreenShareRslt\t0");
    alice.expect("NotifyScreenShareStarted");
    bob.signal("KILL");
    alice.expect("UserLeftMeeting\tbob");
    let tail = callbacks_from(&alice, "NotifyScreenShareStopped", 1);
    assert_eq!(
        tail[..2],
        ["NotifyScreenShareStopped", "UserLeftMeeting\tbob"]
    );
    assert_eq!(alice.cmd(&["start_share"]), 0);
    alice.expect("StartScreenShareRslt\t0");
}

/// The NetStateChanged levels `p` reported, in order.
fn net_levels(p: &Peer) -> Vec<i32> {
    p.callbacks()
        .iter()
        .filter_map(|l| l.strip_prefix("NetStateChanged\t"))
        .map(|level| level.parse().unwrap())
        .collect()
}

#[test]
fn net_state_is_reported_in_meetings_on_change() {
    // A short heartbeat: the SDK measures a round trip at every ping.
    let server = ServerProcess::start(&format!("heartbeat_ms = 50\n{CONFIG}"));
    let mut alice = user("alice", &server);
    let (id, _) = alice.create_meeting(false);
    alice.assert_no_line_within(Duration::from_millis(300), |l| {
        l.starts_with("NetStateChanged")
    });
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    alice.wait_line(|l| l.starts_with("NetStateChanged\t"));
    // Ten more heartbeats: a level is only reported again when it changed.
    alice.assert_no_line_within(Duration::from_millis(500), |_| false);
    let levels = net_levels(&alice);
    assert!(levels.iter().all(|l| (0..=10).contains(l)), "{levels:?}");
    assert!(levels.windows(2).all(|w| w[0] != w[1]), "{levels:?}");
    // Out of the meeting: nothing; the next meeting hears the level again.
    assert_eq!(alice.cmd(&["exit_meeting"]), 0);
    let before = net_levels(&alice).len();
    alice.assert_no_line_within(Duration::from_millis(300), |_| false);
    assert_eq!(
        net_levels(&alice).len(),
        before,
        "not reported out of a meeting"
    );
    assert_eq!(alice.enter_meeting(&id, ""), 0);
    alice.wait_nth(|l| l.starts_with("NetStateChanged\t"), before + 1);
}
