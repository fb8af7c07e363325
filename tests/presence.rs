//! Presence through the C ABI: the in-process SDK is "alice"; other users are peer
//! processes (tests/c/peer.c) or bare protocol clients.

mod common;

use std::time::Duration;

use common::fake_servers::RawClient;
use common::peer::{Peer, NO_RESUME};
use common::*;
use crvideo_proto::Request;
use crvideosdk::ffi::lifecycle::CRVideo_Uninit;
use crvideosdk::ffi::presence::*;
use crvideosdk::ffi::session::*;

const NOT_LOGIN: i32 = 12;

fn st(user: &str, status: i32, dnd: i32) -> String {
    format!(r#"{{"userID":"{user}","userStatus":{status},"DNDType":{dnd}}}"#)
}

fn set_dnd(dnd: i32, cookie: &str) -> i32 {
    let c = cstr(cookie);
    unsafe { CRVideo_SetDNDStatus(dnd, c.as_ptr()) }
}
fn get_status(cookie: &str) -> i32 {
    let c = cstr(cookie);
    unsafe { CRVideo_GetUserStatus(c.as_ptr()) }
}
fn notify_start(cookie: &str) -> i32 {
    let c = cstr(cookie);
    unsafe { CRVideo_StartUserStatusNotify(c.as_ptr()) }
}
fn notify_stop(cookie: &str) -> i32 {
    let c = cstr(cookie);
    unsafe { CRVideo_StopUserStatusNotify(c.as_ptr()) }
}

/// Alice's status list (waits for the result of a fresh GetUserStatus).
fn alice_list(cookie: &str) -> String {
    assert_eq!(get_status(cookie), 0);
    let wanted = cookie.to_string();
    match RECORDER
        .wait_for(|e| matches!(e, Ev::GetUserStatusSuccess { cookie, .. } if *cookie == wanted))
    {
        Ev::GetUserStatusSuccess {
            users_status_json: json,
            ..
        } => json,
        _ => unreachable!(),
    }
}

fn notifications(events: &[Ev]) -> Vec<(String, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            Ev::NotifyUserStatus {
                user_status_json: json,
                cookie,
            } => Some((json.clone(), cookie.clone())),
            _ => None,
        })
        .collect()
}

/// Alice's NotifyUserStatus payloads so far, with their cookie.
fn alice_notifications() -> Vec<(String, String)> {
    notifications(&RECORDER.events())
}

/// Waits until alice has at least `n` notifications; returns them all.
fn wait_notifications(n: usize) -> Vec<(String, String)> {
    notifications(&RECORDER.wait_until(|events| notifications(events).len() >= n))
}

fn dnd_results(events: &[Ev]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, Ev::SetDNDStatusSuccess { .. }))
        .count()
}

fn subscribe_alice(cookie: &str) {
    assert_eq!(notify_start(cookie), 0);
    let wanted = cookie.to_string();
    assert_eq!(
        RECORDER.wait_for(
            |e| matches!(e, Ev::StartUserStatusNotifyRslt { cookie, .. } if *cookie == wanted)
        ),
        Ev::StartUserStatusNotifyRslt {
            sdk_err: 0,
            cookie: cookie.into()
        }
    );
}

#[test]
fn status_list_is_the_tenants_online_users_as_specified() {
    let _g = serial();
    let server = start_server();
    let mut bob = Peer::login("bob", server.addr(), "demo", "demo123", "bob");
    let mut carol = Peer::login("carol", server.addr(), "acme", "s3cret", "carol");
    let _acme_bob = Peer::login("acme-bob", server.addr(), "acme", "s3cret", "bob");
    init_with_server(server.addr());
    login_ok("alice");
    assert_eq!(
        alice_list("l1"),
        format!("[{},{}]", st("alice", 1, 0), st("bob", 1, 0))
    );

    assert_eq!(bob.cmd(&["dnd", "7", "d"]), 0);
    bob.wait_line(|l| l == "SetDNDStatusSuccess\td");
    assert_eq!(
        alice_list("l2"),
        format!("[{},{}]", st("alice", 1, 0), st("bob", 1, 7))
    );

    assert_eq!(carol.cmd(&["get_status", "c"]), 0);
    let line = carol.wait_line(|l| l.starts_with("GetUserStatusSuccess\t"));
    assert_eq!(
        line,
        format!(
            "GetUserStatusSuccess\t[{},{}]\tc",
            st("bob", 1, 0),
            st("carol", 1, 0)
        )
    );
    CRVideo_Uninit();
}

#[test]
fn every_kind_of_change_is_notified_once_in_order() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    login_ok("alice");
    subscribe_alice("sub");
    let mut expected = Vec::new();
    let mut expect = |json: String| {
        expected.push((json, "sub".to_string()));
        let got = wait_notifications(expected.len());
        assert_eq!(got[..expected.len()], expected[..]);
    };

    // Login.
    let mut bob = Peer::login("bob", server.addr(), "demo", "demo123", "bob");
    expect(st("bob", 1, 0));
    // DND changes (setting the same value again is no change).
    for (value, cookie) in [("5", "a"), ("5", "b"), ("-3", "c")] {
        assert_eq!(bob.cmd(&["dnd", value, cookie]), 0);
        bob.wait_line(|l| l == format!("SetDNDStatusSuccess\t{cookie}"));
    }
    expect(st("bob", 1, 5));
    expect(st("bob", 1, -3));
    // Logout, login again.
    assert_eq!(bob.cmd(&["logout"]), 0);
    expect(st("bob", 0, 0));
    assert_eq!(
        bob.cmd(&["login", "demo", "demo123", "bob", "bob", "again"]),
        0
    );
    expect(st("bob", 1, 0));
    // Relogin elsewhere: one notification, and the old session is kicked.
    let bob2 = Peer::login_with("bob2", server.addr(), NO_RESUME, "demo", "demo123", "bob");
    bob.wait_line(|l| l == "LineOff\t10");
    expect(st("bob", 1, 0));
    // The new session's process dies: the closed socket says so at once.
    bob2.signal("KILL");
    expect(st("bob", 0, 0));
    // A frozen process: offline within the heartbeat window.
    let bob3 = Peer::login_with("bob3", server.addr(), NO_RESUME, "demo", "demo123", "bob");
    expect(st("bob", 1, 0));
    bob3.signal("STOP");
    expect(st("bob", 0, 0));
    // Alice's own change reaches her as a subscriber too.
    assert_eq!(set_dnd(1, "mine"), 0);
    expect(st("alice", 1, 1));

    // Nothing else arrived: a GetUserStatus answered after all the above is a barrier.
    alice_list("barrier");
    assert_eq!(alice_notifications(), expected);
    CRVideo_Uninit();
}

#[test]
fn stop_ends_notifications_and_stop_without_start_is_harmless() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    login_ok("alice");
    assert_eq!(notify_stop("never-started"), 0);
    assert_eq!(
        RECORDER.wait_for(|e| matches!(e, Ev::StopUserStatusNotifyRslt { .. })),
        Ev::StopUserStatusNotifyRslt {
            sdk_err: 0,
            cookie: "never-started".into()
        }
    );
    subscribe_alice("s1");
    let mut bob = Peer::login("bob", server.addr(), "demo", "demo123", "bob");
    wait_notifications(1);
    // Starting again replaces the cookie.
    subscribe_alice("s2");
    assert_eq!(bob.cmd(&["dnd", "1", "x"]), 0);
    let got = wait_notifications(2);
    assert_eq!(got[1], (st("bob", 1, 1), "s2".to_string()));

    assert_eq!(notify_stop("stop"), 0);
    RECORDER.wait_for(|e| {
        *e == Ev::StopUserStatusNotifyRslt {
            sdk_err: 0,
            cookie: "stop".into(),
        }
    });
    assert_eq!(bob.cmd(&["dnd", "2", "y"]), 0);
    bob.wait_line(|l| l == "SetDNDStatusSuccess\ty");
    alice_list("barrier");
    assert_eq!(alice_notifications().len(), 2, "nothing after the stop");
    CRVideo_Uninit();
}

#[test]
fn presence_calls_need_a_login() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    let all = || {
        [
            set_dnd(1, "a"),
            get_status("b"),
            notify_start("c"),
            notify_stop("d"),
        ]
    };
    assert_eq!(all(), [NOT_LOGIN; 4]);
    login_ok("alice");
    assert_eq!(CRVideo_Logout(), 0);
    assert_eq!(all(), [NOT_LOGIN; 4]);
    CRVideo_Uninit();
    assert_eq!(all(), [11; 4]);
    // No callback followed any refused call: only the login's.
    assert_eq!(RECORDER.events().len(), 1);
}

#[test]
fn dnd_takes_any_int() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    login_ok("alice");
    for value in [i32::MIN, -1, 0, 3, i32::MAX] {
        assert_eq!(set_dnd(value, &format!("v{value}")), 0);
        let wanted = format!("v{value}");
        RECORDER.wait_for(|e| matches!(e, Ev::SetDNDStatusSuccess { cookie } if *cookie == wanted));
        assert_eq!(
            alice_list(&format!("l{value}")),
            format!("[{}]", st("alice", 1, value))
        );
    }
    // NULL cookie is "".
    assert_eq!(unsafe { CRVideo_SetDNDStatus(4, std::ptr::null()) }, 0);
    RECORDER.wait_for(|e| {
        *e == Ev::SetDNDStatusSuccess {
            cookie: String::new(),
        }
    });
    CRVideo_Uninit();
}

#[test]
fn tenants_do_not_see_each_other() {
    let _g = serial();
    let server = start_server();
    let mut carol = Peer::login("carol", server.addr(), "acme", "s3cret", "carol");
    assert_eq!(carol.cmd(&["notify_start", "acme-sub"]), 0);
    carol.wait_line(|l| l == "StartUserStatusNotifyRslt\t0\tacme-sub");
    init_with_server(server.addr());
    login_ok("alice");
    subscribe_alice("demo-sub");
    // Demo changes: alice sees them, carol does not.
    assert_eq!(set_dnd(9, "d"), 0);
    let mut bob = Peer::login("bob", server.addr(), "demo", "demo123", "bob");
    assert_eq!(bob.cmd(&["logout"]), 0);
    // An acme user with a demo user's ID is a different user: no kick, no demo event.
    let acme_alice = Peer::login("acme-alice", server.addr(), "acme", "s3cret", "alice");
    carol.wait_line(|l| l.starts_with("NotifyUserStatus\t") && l.contains("\"alice\""));
    let got = wait_notifications(3);
    assert_eq!(
        got.iter().map(|(j, _)| j.clone()).collect::<Vec<_>>(),
        vec![st("alice", 1, 9), st("bob", 1, 0), st("bob", 0, 0)]
    );
    // Barriers on both sides, then the full picture.
    assert_eq!(carol.cmd(&["get_status", "c"]), 0);
    carol.wait_line(|l| l.starts_with("GetUserStatusSuccess\t"));
    let carol_events: Vec<String> = carol
        .callbacks()
        .into_iter()
        .filter(|l| l.starts_with("NotifyUserStatus"))
        .collect();
    assert_eq!(
        carol_events,
        vec![format!("NotifyUserStatus\t{}\tacme-sub", st("alice", 1, 0))]
    );
    alice_list("barrier");
    assert_eq!(alice_notifications().len(), 3);
    RECORDER.assert_none_within(Duration::ZERO, |e| matches!(e, Ev::LineOff { .. }));
    drop(acme_alice);
    CRVideo_Uninit();
}

#[test]
fn a_subscriber_that_stops_reading_is_dropped_and_others_get_everything() {
    let _g = serial();
    let server = start_unthrottled_server();
    // "slow" subscribes, then never reads again (tiny receive buffer).
    let (code, mut slow) =
        RawClient::login_with_recv_buffer(server.addr(), "demo", "demo123", "slow", Some(4096));
    assert_eq!(code, 0);
    assert_eq!(slow.request(Request::SubscribeStatus).code, 0);
    let mut bob = Peer::login("bob", server.addr(), "demo", "demo123", "bob");
    assert_eq!(bob.cmd(&["notify_start", "b"]), 0);
    bob.wait_line(|l| l == "StartUserStatusNotifyRslt\t0\tb");
    init_with_server(server.addr());
    login_ok("alice");

    // Alice changes her DND in bursts until the server gives up on "slow".
    let mut changes = 0;
    for _burst in 0..100 {
        for _ in 0..500 {
            changes += 1;
            assert_eq!(set_dnd(changes, "t"), 0);
        }
        RECORDER.wait_until(|events| dnd_results(events) >= changes as usize);
        if !server.online_users("demo").contains(&"slow".to_string()) {
            break;
        }
    }
    eventually("slow is dropped", || {
        !server.online_users("demo").contains(&"slow".to_string())
    });
    // Bob, who reads, got every change in order, and slow's departure.
    let last = format!("NotifyUserStatus\t{}\tb", st("alice", 1, changes));
    bob.wait_line(|l| l == last);
    bob.wait_line(|l| l == format!("NotifyUserStatus\t{}\tb", st("slow", 0, 0)));
    let alice_changes: Vec<i32> = bob
        .callbacks()
        .iter()
        .filter(|l| {
            l.contains("\"alice\"")
                && l.contains("\"userStatus\":1,\"DNDType\":")
                && !l.contains("DNDType\":0}")
        })
        .map(|l| {
            let json = l.split('\t').nth(1).unwrap();
            serde_json::from_str::<serde_json::Value>(json).unwrap()["DNDType"]
                .as_i64()
                .unwrap() as i32
        })
        .collect();
    assert_eq!(alice_changes, (1..=changes).collect::<Vec<_>>());
    // Alice (the changer) and bob are fine.
    assert_eq!(
        server.online_users("demo"),
        vec!["alice".to_string(), "bob".to_string()]
    );
    CRVideo_Uninit();
}

#[test]
fn a_slow_callback_is_not_a_slow_subscriber() {
    let _g = serial();
    let server = start_unthrottled_server();
    init_with_server(server.addr());
    login_ok("alice");
    subscribe_alice("sub");
    let (gate_tx, gate_rx) = std::sync::mpsc::channel::<()>();
    let gate = parking_lot::Mutex::new(Some(gate_rx));
    set_hook(move |e| {
        if matches!(e, Ev::NotifyUserStatus { .. }) {
            // The first notification blocks until the test opens the gate.
            if let Some(rx) = gate.lock().take() {
                let _ = rx.recv_timeout(PATIENCE);
            }
        }
    });
    let mut bob = Peer::login("bob", server.addr(), "demo", "demo123", "bob");
    const CHANGES: i32 = 3000;
    for value in 1..=CHANGES {
        assert_eq!(bob.cmd(&["dnd", &value.to_string(), "x"]), 0);
    }
    bob.wait_nth(|l| l == "SetDNDStatusSuccess\tx", CHANGES as usize);
    // Six dead-peer windows with alice's callback blocked: her session must survive.
    std::thread::sleep(Duration::from_millis(6 * 3 * TEST_HEARTBEAT_MS));
    assert!(server.online_users("demo").contains(&"alice".to_string()));
    gate_tx.send(()).unwrap();
    let got = wait_notifications(1 + CHANGES as usize);
    let expected: Vec<(String, String)> = std::iter::once(st("bob", 1, 0))
        .chain((1..=CHANGES).map(|v| st("bob", 1, v)))
        .map(|j| (j, "sub".to_string()))
        .collect();
    assert_eq!(got, expected);
    CRVideo_Uninit();
}

#[test]
fn too_many_requests_are_refused_with_a_code_not_a_disconnect() {
    let _g = serial();
    let mut config = test_config();
    config.limits.requests_per_sec = 1;
    config.limits.request_burst = 3;
    let server = crvideo_server::BackgroundServer::start(config).unwrap();
    init_with_server(server.addr());
    login_ok("alice");
    for i in 0..6 {
        assert_eq!(set_dnd(i, &format!("d{i}")), 0);
    }
    let events = RECORDER.wait_until(|events| {
        events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    Ev::SetDNDStatusSuccess { .. } | Ev::SetDNDStatusFail { .. }
                )
            })
            .count()
            == 6
    });
    let refused = events
        .iter()
        .filter(|e| matches!(e, Ev::SetDNDStatusFail { sdk_err: 2000, .. }))
        .count();
    assert!(refused >= 2, "{events:?}");
    // Still logged in: no LineOff, and the session answers once the bucket refills.
    assert!(!events.iter().any(|e| matches!(e, Ev::LineOff { .. })));
    assert!(server.online_users("demo").contains(&"alice".to_string()));
    CRVideo_Uninit();
}
