//! Session resume through the C ABI (peer processes, tests/c/peer.c), with a TCP proxy
//! between one SDK and the server that the tests break: cut, cut in the middle of a frame,
//! hold the traffic, refuse reconnects, point at a restarted server. What each asserts: the
//! app hears `Reconnecting` / `Reconnected` instead of `LineOff`; the other users never see
//! the user leave; nothing is lost or repeated (messages in both directions, requests in
//! flight and calls made meanwhile); transfers in flight end with a clear code; and when the
//! session cannot be resumed, `LineOff(CONNECTIONLOST)` with everything ended.

mod common;

use common::peer::Peer;
use common::proxy::Proxy;
use common::server_process::ServerProcess;
use serde_json::Value;

const CONFIG: &str =
    "heartbeat_ms = 200\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n";

/// alice logs in through `proxy` (with these extra Init parameters), bob directly; both are
/// in one meeting, and bob watches presence. Returns them and the meeting's ID.
fn alice_via_proxy_and_bob(
    server: &ServerProcess,
    proxy: &Proxy,
    extra: &str,
) -> (Peer, Peer, String) {
    let mut alice = Peer::login_with("alice", proxy.addr, extra, "demo", "demo123", "alice");
    let mut bob = Peer::login("bob", server.addr, "demo", "demo123", "bob");
    assert_eq!(bob.cmd(&["notify_start", "w"]), 0);
    bob.expect("StartUserStatusNotifyRslt\t0\tw");
    assert_eq!(bob.cmd(&["create_meeting", "room", "0", "m"]), 0);
    let line = bob.wait_line(|l| l.starts_with("CreateMeetingSuccess\t"));
    let m: Value = serde_json::from_str(line.split('\t').nth(1).unwrap()).unwrap();
    let id = m["ID"].to_string();
    for p in [&mut bob, &mut alice] {
        assert_eq!(p.cmd(&["enter", &id, ""]), 0);
        p.expect("EnterMeetingRslt\t0");
    }
    bob.expect("UserEnterMeeting\talice");
    (alice, bob, id)
}

/// The IM texts `p` received, in order.
fn ims(p: &Peer) -> Vec<String> {
    p.callbacks()
        .iter()
        .filter_map(|l| l.strip_prefix("NotifyIMmsg\t"))
        .map(|l| l.split('\t').nth(1).unwrap().to_string())
        .collect()
}

/// Nothing shows that `user` left: no offline presence, no leaving the meeting.
fn never_left(watcher: &Peer, user: &str) {
    let lines = watcher.lines();
    let offline = format!("\"userID\":\"{user}\",\"userStatus\":0");
    assert!(!lines.iter().any(|l| l.contains(&offline)), "{lines:?}");
    assert!(
        !lines.contains(&format!("UserLeftMeeting\t{user}")),
        "{lines:?}"
    );
}

#[test]
fn a_cut_connection_resumes_and_nothing_is_lost_or_repeated() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let (mut alice, mut bob, _) = alice_via_proxy_and_bob(&server, &proxy, "");

    // Traffic in both directions is held in the network, then the connection is cut: what
    // was held is lost on the wire and must come again.
    proxy.pause(true);
    for i in 0..5 {
        assert_ne!(
            bob.cmd_text(&["im", &format!("to-alice-{i}"), "alice", "b"]),
            "NULL"
        );
    }
    let held = alice.cmd_text(&["im", "held-from-alice", "bob", "a1"]);
    // Reconnecting is refused for now, so that alice calls while it reconnects.
    proxy.refuse(true);
    proxy.cut();
    proxy.pause(false);
    alice.expect("Reconnecting");
    let during = alice.cmd_text(&["im", "sent-while-reconnecting", "bob", "a2"]);
    assert_eq!(alice.cmd(&["dnd", "1", "d"]), 0);
    proxy.refuse(false);
    alice.expect("Reconnected");

    // Every message exactly once, in order; the requests completed.
    for i in 0..5 {
        let line = format!("NotifyIMmsg\tbob\tto-alice-{i}\t");
        alice.wait_line(|l| l.starts_with(&line));
    }
    bob.wait_line(|l| l.starts_with("NotifyIMmsg\talice\tsent-while-reconnecting"));
    alice.expect(&format!("SendIMmsgRlst\t{held}\t0\ta1"));
    alice.expect(&format!("SendIMmsgRlst\t{during}\t0\ta2"));
    alice.expect("SetDNDStatusSuccess\td");
    // A request after the resume is a barrier: everything before it has arrived.
    assert_eq!(alice.cmd(&["get_status", "after"]), 0);
    alice.wait_line(|l| l.starts_with("GetUserStatusSuccess") && l.ends_with("\tafter"));
    let to_alice: Vec<String> = (0..5).map(|i| format!("to-alice-{i}")).collect();
    assert_eq!(ims(&alice), to_alice);
    assert_eq!(ims(&bob), ["held-from-alice", "sent-while-reconnecting"]);
    assert_eq!(alice.count("Reconnected"), 1);
    assert!(!alice.lines().iter().any(|l| l.starts_with("LineOff")));
    // Still in the meeting with bob, and bob never saw alice go.
    let members = alice.cmd_text(&["members"]);
    assert!(members.contains("\"userID\":\"bob\""), "{members}");
    never_left(&bob, "alice");
    assert_ne!(bob.cmd_text(&["im", "after-resume", "alice", "b"]), "NULL");
    alice.wait_line(|l| l.starts_with("NotifyIMmsg\tbob\tafter-resume\t"));
    assert!(proxy.accepted() >= 2);
}

#[test]
fn a_frame_cut_in_the_middle_comes_again_whole() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let (alice, mut bob, _) = alice_via_proxy_and_bob(&server, &proxy, "");
    let long = "x".repeat(4000);
    proxy.cut_mid_frame();
    assert_ne!(bob.cmd_text(&["im", &long, "alice", "b"]), "NULL");
    alice.expect("Reconnecting");
    alice.expect("Reconnected");
    alice.wait_line(|l| l.starts_with(&format!("NotifyIMmsg\tbob\t{long}\t")));
    assert_eq!(ims(&alice), [long]);
    never_left(&bob, "alice");
}

#[test]
fn a_silent_network_is_noticed_and_resumed() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let (alice, mut bob, _) = alice_via_proxy_and_bob(&server, &proxy, "");
    // Nothing gets through either way (the connection stays open): only the heartbeat can
    // tell. The server may not have noticed yet when the SDK comes back: it takes the
    // session over anyway.
    proxy.pause(true);
    assert_ne!(bob.cmd_text(&["im", "while-silent", "alice", "b"]), "NULL");
    alice.expect("Reconnecting");
    // The held connections go (with what they held); new ones flow.
    proxy.cut();
    proxy.pause(false);
    alice.expect("Reconnected");
    alice.wait_line(|l| l.starts_with("NotifyIMmsg\tbob\twhile-silent\t"));
    assert_eq!(ims(&alice), ["while-silent"]);
    never_left(&bob, "alice");
}

#[test]
fn transfers_in_flight_end_with_connection_lost_and_new_ones_work() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let (mut alice, bob, _) = alice_via_proxy_and_bob(&server, &proxy, "");
    // A buffer large enough to be in flight when the connection is cut.
    let task = alice.cmd_text(&["send_pattern", "bob", "67108864", "7", "big"]);
    alice.wait_line(|l| l.starts_with(&format!("SendProgress\t{task}\t")));
    proxy.cut();
    alice.expect("Reconnecting");
    alice.expect(&format!("SendBufferRlst\t{task}\t207\tbig"));
    bob.expect(&format!("NotifyCancelSend\t{task}"));
    alice.expect("Reconnected");
    // The session goes on: a command gets through.
    let cmd = alice.cmd_text(&["send_cmd", "bob", "68690a", "c"]);
    alice.expect(&format!("SendCmdRlst\t{cmd}\t0\tc"));
    bob.expect(&common::peer::data_line("NotifyCmdData", "alice", b"hi\n"));
}

#[test]
fn when_the_window_passes_the_session_ends() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let extra = r#""resumeWindowMs":700"#;
    let (alice, bob, _) = alice_via_proxy_and_bob(&server, &proxy, extra);
    proxy.refuse(true);
    proxy.cut();
    alice.expect("Reconnecting");
    alice.expect("MeetingDropped");
    alice.expect("LineOff\t207");
    // The server kept the session as long, then ended it: bob sees alice leave.
    bob.expect("UserLeftMeeting\talice");
    bob.wait_line(|l| l.contains("\"userID\":\"alice\",\"userStatus\":0"));
    assert!(!alice.lines().contains(&"Reconnected".to_string()));
}

#[test]
fn a_restarted_server_cannot_resume_and_says_so_at_once() {
    let mut server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let mut alice = Peer::login("alice", proxy.addr, "demo", "demo123", "alice");
    let mut bob = Peer::login("bob", proxy.addr, "demo", "demo123", "bob");
    // A meeting exists, a call rings and a transfer runs when the server is killed.
    assert_eq!(alice.cmd(&["create_meeting", "room", "0", "m"]), 0);
    alice.wait_line(|l| l.starts_with("CreateMeetingSuccess\t"));
    let call = alice.cmd_text(&["call", "bob", "", "", "ck"]);
    bob.expect(&format!("NotifyCallIn\t{call}\t\talice\t"));
    let task = alice.cmd_text(&["send_pattern", "bob", "67108864", "3", "big"]);
    alice.wait_line(|l| l.starts_with(&format!("SendProgress\t{task}\t")));
    proxy.refuse(true);
    server.restart("KILL");
    proxy.set_upstream(server.addr);
    for p in [&alice, &bob] {
        p.expect("Reconnecting");
    }
    alice.expect(&format!("SendBufferRlst\t{task}\t207\tbig"));
    bob.expect(&format!("NotifyCancelSend\t{task}"));
    let started = std::time::Instant::now();
    proxy.refuse(false);
    // The new server has no such sessions: LineOff well before the 30 s window.
    for p in [&alice, &bob] {
        p.expect("LineOff\t207");
    }
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
    // Logged in again: the meeting, stored durably, is there; nobody is left busy by the
    // call that rang, so a new one rings.
    for p in [&mut alice, &mut bob] {
        let user = p.name.clone();
        assert_eq!(
            p.cmd(&["login", "demo", "demo123", &user, &user, "again"]),
            0
        );
        p.expect(&format!("LoginSuccess\t{user}\tagain"));
    }
    assert_eq!(alice.cmd(&["get_meetings", "g"]), 0);
    alice.wait_line(|l| l.starts_with("GetMeetingsSuccess") && l.contains("\"subject\":\"room\""));
    let again = alice.cmd_text(&["call", "bob", "", "", "ck2"]);
    bob.expect(&format!("NotifyCallIn\t{again}\t\talice\t"));
    alice.expect(&format!("CallSuccess\t{again}\tck2"));
}

#[test]
fn a_slow_network_lowers_the_net_state_but_keeps_the_session() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let (alice, mut bob, _) = alice_via_proxy_and_bob(&server, &proxy, "");
    alice.wait_line(|l| l.starts_with("NetStateChanged\t"));
    // 150 ms each way: a 300 ms round trip, longer than the 200 ms heartbeat, yet frames keep
    // coming, so nothing is found dead.
    proxy.delay(150);
    let low = alice.wait_line(|l| {
        l.strip_prefix("NetStateChanged\t")
            .and_then(|v| v.parse::<i32>().ok())
            .is_some_and(|level| level <= 6)
    });
    assert_ne!(
        bob.cmd_text(&["im", "slow-but-there", "alice", "b"]),
        "NULL"
    );
    alice.wait_line(|l| l.starts_with("NotifyIMmsg\tbob\tslow-but-there\t"));
    proxy.delay(0);
    // Better again once the delay is gone.
    alice.wait_line(|l| l == "NetStateChanged\t10" && l != low);
    let lines = alice.lines();
    assert!(
        !lines
            .iter()
            .any(|l| l == "Reconnecting" || l.starts_with("LineOff")),
        "{lines:?}"
    );
    never_left(&bob, "alice");
}

#[test]
fn a_call_ringing_across_a_cut_goes_on() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let mut alice = Peer::login("alice", proxy.addr, "demo", "demo123", "alice");
    let mut bob = Peer::login("bob", server.addr, "demo", "demo123", "bob");
    let id = alice.cmd_text(&["call", "bob", "", "", "ck"]);
    bob.expect(&format!("NotifyCallIn\t{id}\t\talice\t"));
    alice.expect(&format!("CallSuccess\t{id}\tck"));
    // The caller's connection goes while it rings; the callee answers meanwhile.
    proxy.refuse(true);
    proxy.cut();
    alice.expect("Reconnecting");
    assert_eq!(bob.cmd(&["accept", &id, "", "", "a"]), 0);
    bob.expect(&format!("AcceptCallSuccess\t{id}\ta"));
    proxy.refuse(false);
    alice.expect("Reconnected");
    // The acceptance queued for alice arrives after the resume; the call is live.
    alice.expect(&format!("NotifyCallAccepted\t{id}\t\t"));
    assert_eq!(alice.cmd(&["hangup", &id, "", "h"]), 0);
    alice.expect(&format!("HangupCallSuccess\t{id}\th"));
    bob.wait_line(|l| l.starts_with(&format!("NotifyCallHungup\t{id}")));
    assert!(!bob
        .lines()
        .iter()
        .any(|l| l.contains("\"userID\":\"alice\",\"userStatus\":0")));
}

#[test]
fn a_session_resumes_again_and_again() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let (alice, mut bob, _) = alice_via_proxy_and_bob(&server, &proxy, "");
    for round in 1..=4 {
        // Odd rounds: both sides see the cut. Even rounds: only the SDK does, so its resume
        // reaches a server that still holds the old connection (and must take it over).
        if round % 2 == 1 {
            proxy.stop_orphaning();
            proxy.cut();
        } else {
            proxy.cut_client_side();
        }
        alice.wait_nth(|l| l == "Reconnected", round);
        let text = format!("round-{round}");
        assert_ne!(bob.cmd_text(&["im", &text, "alice", "b"]), "NULL");
        alice.wait_line(|l| l.starts_with(&format!("NotifyIMmsg\tbob\t{text}\t")));
    }
    assert_eq!(alice.count("Reconnecting"), 4);
    assert!(!alice.lines().iter().any(|l| l.starts_with("LineOff")));
    assert_eq!(ims(&alice), ["round-1", "round-2", "round-3", "round-4"]);
    never_left(&bob, "alice");
}

#[test]
fn a_login_elsewhere_while_reconnecting_is_reported_as_such() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let (alice, bob, _) = alice_via_proxy_and_bob(&server, &proxy, "");
    proxy.refuse(true);
    proxy.cut();
    alice.expect("Reconnecting");
    // The same user logs in on another device while the first one reconnects.
    let _other = Peer::login("alice-2", server.addr, "demo", "demo123", "alice");
    bob.expect("UserLeftMeeting\talice");
    proxy.refuse(false);
    alice.expect("MeetingDropped");
    alice.expect("LineOff\t10");
    assert!(!alice
        .lines()
        .iter()
        .any(|l| l == "Reconnected" || l == "LineOff\t207"));
}

#[test]
fn a_logout_while_reconnecting_ends_the_session_at_once() {
    let server = ServerProcess::start(CONFIG);
    let proxy = Proxy::start(server.addr);
    let (mut alice, bob, _) = alice_via_proxy_and_bob(&server, &proxy, "");
    // New connections get through, but only once the traffic is released.
    proxy.pause(true);
    proxy.cut();
    alice.expect("Reconnecting");
    assert_eq!(alice.cmd(&["logout"]), 0);
    proxy.pause(false);
    // The SDK told the server on its way out: the others see alice go now, not after the
    // 30 s window.
    bob.expect("UserLeftMeeting\talice");
    bob.wait_line(|l| l.contains("\"userID\":\"alice\",\"userStatus\":0"));
    assert!(!alice
        .lines()
        .iter()
        .any(|l| l == "Reconnected" || l.starts_with("LineOff")));
}
