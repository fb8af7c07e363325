//! Login, logout, kick-out, connection loss and the dispatch thread, through the C ABI.

mod common;

use std::time::{Duration, Instant};

use common::fake_servers::{Blackhole, RawClient, Script, ScriptedServer};
use common::server_process::ServerProcess;
use common::*;
use crvideosdk::ffi::lifecycle::*;
use crvideosdk::ffi::session::*;

const NOT_LOGIN: i32 = 12;

/// A config file for the real server: the demo tenant and test heartbeats.
fn demo_config() -> String {
    format!("heartbeat_ms = {TEST_HEARTBEAT_MS}\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n")
}

fn dead_window() -> Duration {
    Duration::from_millis(3 * TEST_HEARTBEAT_MS)
}

#[test]
fn login_success_then_logout() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    assert_eq!(login("demo", "demo123", "Alice", "alice", "cookie-1"), 0);
    assert_eq!(
        RECORDER.wait_count(1)[0],
        Ev::LoginSuccess {
            usr_id: "alice".into(),
            cookie: "cookie-1".into()
        }
    );
    assert_eq!(server.online_users("demo"), vec!["alice".to_string()]);
    assert_eq!(CRVideo_Logout(), 0);
    eventually("alice is offline", || {
        server.online_users("demo").is_empty()
    });
    assert_eq!(CRVideo_Logout(), NOT_LOGIN, "logout twice");
    // Logged out, a new login works at once.
    assert_eq!(login_ok("alice"), "alice");
    CRVideo_Uninit();
    assert_eq!(RECORDER.events().len(), 2, "logout itself has no callback");
}

#[test]
fn wrong_password_and_unknown_tenant_are_anctpswd_err() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    assert_eq!(login("demo", "nope", "A", "alice", "c1"), 0);
    RECORDER.wait_count(1);
    assert_eq!(login("nobody", "demo123", "A", "alice", "c2"), 0);
    RECORDER.wait_count(2);
    // Another tenant's password does not open this one.
    assert_eq!(login("demo", "s3cret", "A", "alice", "c3"), 0);
    let events = RECORDER.wait_count(3);
    assert_eq!(
        events,
        vec![
            Ev::LoginFail {
                sdk_err: 7,
                cookie: "c1".into()
            },
            Ev::LoginFail {
                sdk_err: 7,
                cookie: "c2".into()
            },
            Ev::LoginFail {
                sdk_err: 7,
                cookie: "c3".into()
            },
        ]
    );
    assert!(server.online_users("demo").is_empty());
    assert_eq!(CRVideo_Logout(), NOT_LOGIN);
    CRVideo_Uninit();
}

#[test]
fn login_while_logging_in_or_logged_in_is_loginstate_error() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    assert_eq!(login("demo", "demo123", "A", "alice", "first"), 0);
    assert_eq!(login("demo", "demo123", "A", "alice", "second"), 0);
    let events = RECORDER.wait_count(2);
    assert!(
        events.contains(&Ev::LoginFail {
            sdk_err: 9,
            cookie: "second".into()
        }),
        "{events:?}"
    );
    assert!(
        events.contains(&Ev::LoginSuccess {
            usr_id: "alice".into(),
            cookie: "first".into()
        }),
        "{events:?}"
    );
    assert_eq!(login("demo", "demo123", "A", "alice", "third"), 0);
    assert_eq!(
        RECORDER.wait_count(3)[2],
        Ev::LoginFail {
            sdk_err: 9,
            cookie: "third".into()
        }
    );
    // Still logged in, once.
    assert_eq!(server.online_users("demo"), vec!["alice".to_string()]);
    CRVideo_Uninit();
}

#[test]
fn empty_priv_acnt_gets_a_server_assigned_id() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    let first = login_ok("");
    assert!(!first.is_empty());
    assert_eq!(server.online_users("demo"), vec![first.clone()]);
    assert_eq!(CRVideo_Logout(), 0);
    let second = login_ok("");
    assert_ne!(first, second, "assigned IDs are unique");
    CRVideo_Uninit();
}

#[test]
fn relogin_elsewhere_kicks_the_older_session() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    login_ok("alice");
    let (code, _other) = RawClient::login(server.addr(), "demo", "demo123", "alice");
    assert_eq!(code, 0);
    assert_eq!(
        RECORDER.wait_for(|e| matches!(e, Ev::LineOff { .. })),
        Ev::LineOff { sdk_err: 10 }
    );
    assert_eq!(server.online_users("demo"), vec!["alice".to_string()]);
    // The kick is the only LineOff: the closing socket must not add CONNECTIONLOST.
    RECORDER.assert_none_within(dead_window() * 2, |e| *e == Ev::LineOff { sdk_err: 207 });
    assert_eq!(CRVideo_Logout(), NOT_LOGIN);
    CRVideo_Uninit();
}

#[test]
fn unreachable_server_is_create_conn_failed() {
    let _g = serial();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    init_with_server(closed);
    assert_eq!(login("demo", "demo123", "A", "alice", "c"), 0);
    assert_eq!(
        RECORDER.wait_count(1)[0],
        Ev::LoginFail {
            sdk_err: 203,
            cookie: "c".into()
        }
    );
    CRVideo_Uninit();
}

#[test]
fn servers_are_tried_in_order() {
    let _g = serial();
    let server = start_server();
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let silent = Blackhole::start();
    init(&format!(
        r#"{{"serverAddr":"{closed};{};{}","timeoutMs":10000}}"#,
        silent.addr,
        server.addr()
    ));
    let started = Instant::now();
    assert_eq!(login_ok("alice"), "alice");
    // The silent server got its share of the 10 s budget (half, once the closed port had
    // failed), not all of it.
    assert!(
        started.elapsed() < Duration::from_secs(9),
        "{:?}",
        started.elapsed()
    );
    CRVideo_Uninit();
}

#[test]
fn a_server_that_never_answers_fails_within_the_timeout() {
    let _g = serial();
    let silent = Blackhole::start();
    init_with_server(silent.addr);
    let started = Instant::now();
    assert_eq!(login("demo", "demo123", "A", "alice", "c"), 0);
    assert_eq!(
        RECORDER.wait_count(1)[0],
        Ev::LoginFail {
            sdk_err: 203,
            cookie: "c".into()
        }
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(9_500) && took < Duration::from_secs(15),
        "{took:?}"
    );
    CRVideo_Uninit();
}

#[test]
fn a_login_without_reply_is_noserver_rsp() {
    let _g = serial();
    let scripted = ScriptedServer::start(Script::SilentAfterHello);
    init_with_server(scripted.addr);
    assert_eq!(login("demo", "demo123", "A", "alice", "c"), 0);
    assert_eq!(
        RECORDER.wait_count(1)[0],
        Ev::LoginFail {
            sdk_err: 202,
            cookie: "c".into()
        }
    );
    CRVideo_Uninit();
}

#[test]
fn protocol_version_mismatch_is_reported() {
    let _g = serial();
    let scripted = ScriptedServer::start(Script::VersionMismatch);
    init_with_server(scripted.addr);
    assert_eq!(login("demo", "demo123", "A", "alice", "c"), 0);
    assert_eq!(
        RECORDER.wait_count(1)[0],
        Ev::LoginFail {
            sdk_err: 4,
            cookie: "c".into()
        }
    );
    CRVideo_Uninit();
}

#[test]
fn killed_server_gives_connectionlost() {
    let _g = serial();
    let mut server = ServerProcess::start(&demo_config());
    // Without resuming: the lost connection is the end of the session at once.
    init(&format!(
        r#"{{"serverAddr":"{}","timeoutMs":10000,"resumeWindowMs":0}}"#,
        server.addr
    ));
    login_ok("alice");
    server.child.kill().unwrap();
    server.child.wait().unwrap();
    assert_eq!(
        RECORDER.wait_for(|e| matches!(e, Ev::LineOff { .. })),
        Ev::LineOff { sdk_err: 207 }
    );
    assert!(!RECORDER.events().contains(&Ev::Reconnecting));
    assert_eq!(CRVideo_Logout(), NOT_LOGIN);
    CRVideo_Uninit();
}

#[test]
fn frozen_server_is_noticed_by_heartbeat() {
    let _g = serial();
    let server = ServerProcess::start(&demo_config());
    init(&format!(
        r#"{{"serverAddr":"{}","timeoutMs":10000,"resumeWindowMs":1000}}"#,
        server.addr
    ));
    login_ok("alice");
    // A round trip after login: the server has granted resuming by its reply.
    let cookie = cstr("barrier");
    assert_eq!(
        unsafe { crvideosdk::ffi::presence::CRVideo_SetDNDStatus(0, cookie.as_ptr()) },
        0
    );
    RECORDER.wait_for(|e| matches!(e, Ev::SetDNDStatusSuccess { .. }));
    // SIGSTOP keeps the socket open but silent: only the heartbeat can tell.
    server.signal("STOP");
    let started = Instant::now();
    assert_eq!(
        RECORDER.wait_for(|e| matches!(e, Ev::Reconnecting | Ev::LineOff { .. })),
        Ev::Reconnecting
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "noticed after {:?}",
        started.elapsed()
    );
    // The frozen server cannot take the session back: once the window is over, LineOff.
    assert_eq!(
        RECORDER.wait_for(|e| matches!(e, Ev::LineOff { .. })),
        Ev::LineOff { sdk_err: 207 }
    );
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert!(!RECORDER.events().contains(&Ev::Reconnected));
    server.signal("CONT");
    CRVideo_Uninit();
}

#[test]
fn a_slow_callback_does_not_stall_heartbeats() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    let nap = dead_window() * 6;
    set_hook(move |e| {
        if matches!(e, Ev::LoginSuccess { .. }) {
            std::thread::sleep(nap);
        }
    });
    assert_eq!(login("demo", "demo123", "A", "alice", "c"), 0);
    RECORDER.wait_count(1);
    // While the callback sleeps for six dead-peer windows, the session stays alive.
    let until = Instant::now() + nap - dead_window();
    while Instant::now() < until {
        assert_eq!(server.online_users("demo"), vec!["alice".to_string()]);
        std::thread::sleep(Duration::from_millis(50));
    }
    *HOOK.lock() = None;
    RECORDER.assert_none_within(dead_window(), |e| matches!(e, Ev::LineOff { .. }));
    CRVideo_Uninit();
}

#[test]
fn callbacks_run_on_one_sdk_thread_in_event_order() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    for round in 0..5 {
        assert_eq!(
            login("demo", "demo123", "A", "alice", &format!("ok{round}")),
            0
        );
        assert_eq!(
            login("demo", "demo123", "A", "alice", &format!("dup{round}")),
            0
        );
        RECORDER.wait_count(2 * round + 2);
        assert_eq!(CRVideo_Logout(), 0);
    }
    CRVideo_Uninit();
    let records = RECORDER.records();
    assert_eq!(records.len(), 10);
    let me = std::thread::current().id();
    for (i, r) in records.iter().enumerate() {
        assert_ne!(r.thread, me, "callbacks never run on the caller's thread");
        assert_eq!(r.thread, records[0].thread, "one dispatch thread");
        assert_eq!(r.thread_name.as_deref(), Some("crvideo-dispatch"));
        // The duplicate is refused before the first login completes or after: either way
        // each round has its success and its refusal.
        let round = i / 2;
        let ok = Ev::LoginSuccess {
            usr_id: "alice".into(),
            cookie: format!("ok{round}"),
        };
        let dup = Ev::LoginFail {
            sdk_err: 9,
            cookie: format!("dup{round}"),
        };
        assert!(r.ev == ok || r.ev == dup, "{i}: {:?}", r.ev);
    }
}

#[test]
fn api_calls_from_inside_a_callback_work() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    set_hook(|e| {
        if let Ev::LoginSuccess { cookie, .. } = e {
            if cookie == "first" {
                assert_eq!(CRVideo_Logout(), 0);
                assert_eq!(login("demo", "demo123", "B", "bob", "second"), 0);
            }
        }
    });
    assert_eq!(login("demo", "demo123", "A", "alice", "first"), 0);
    let events = RECORDER.wait_count(2);
    assert_eq!(
        events[1],
        Ev::LoginSuccess {
            usr_id: "bob".into(),
            cookie: "second".into()
        }
    );
    eventually("only bob is online", || {
        server.online_users("demo") == vec!["bob".to_string()]
    });
    CRVideo_Uninit();
}

#[test]
fn uninit_while_logged_in_logs_out_and_joins() {
    let _g = serial();
    // A long heartbeat: only a real logout can take the user offline promptly.
    let mut config = test_config();
    config.heartbeat_ms = 60_000;
    let server = crvideo_server::BackgroundServer::start(config).unwrap();
    init_with_server(server.addr());
    login_ok("alice");
    CRVideo_Uninit();
    eventually("alice is offline", || {
        server.online_users("demo").is_empty()
    });
    assert_eq!(CRVideo_Logout(), 11);
    let threads = sdk_threads();
    assert!(
        threads.is_empty(),
        "SDK threads still running after Uninit: {threads:?}"
    );
}

#[test]
fn uninit_and_logout_fail_a_login_in_progress() {
    let _g = serial();
    let silent = Blackhole::start();
    init_with_server(silent.addr);
    assert_eq!(login("demo", "demo123", "A", "alice", "by-logout"), 0);
    assert_eq!(CRVideo_Logout(), 0);
    assert_eq!(
        RECORDER.wait_count(1)[0],
        Ev::LoginFail {
            sdk_err: NOT_LOGIN,
            cookie: "by-logout".into()
        }
    );
    assert_eq!(login("demo", "demo123", "A", "alice", "by-uninit"), 0);
    CRVideo_Uninit();
    // Delivered before Uninit returned; nothing after.
    assert_eq!(
        RECORDER.events()[1],
        Ev::LoginFail {
            sdk_err: NOT_LOGIN,
            cookie: "by-uninit".into()
        }
    );
    assert_eq!(RECORDER.events().len(), 2);
}

#[test]
fn uninit_from_inside_a_callback() {
    let _g = serial();
    let server = start_server();
    init_with_server(server.addr());
    let (done_tx, done_rx) = std::sync::mpsc::channel();
    let done_tx = parking_lot::Mutex::new(done_tx);
    set_hook(move |e| {
        if matches!(e, Ev::LoginSuccess { .. }) {
            // Queue one more event, then shut down from inside the callback.
            assert_eq!(login("demo", "demo123", "A", "alice", "late"), 0);
            CRVideo_Uninit();
            assert_eq!(CRVideo_Logout(), 11);
            done_tx.lock().send(()).unwrap();
        }
    });
    assert_eq!(login("demo", "demo123", "A", "alice", "c"), 0);
    done_rx
        .recv_timeout(PATIENCE)
        .expect("Uninit returned inside the callback");
    eventually("alice is offline", || {
        server.online_users("demo").is_empty()
    });
    *HOOK.lock() = None;
    // Init works again (and collects the old dispatch thread).
    init_with_server(server.addr());
    login_ok("bob");
    CRVideo_Uninit();
    let events = RECORDER.events();
    assert!(
        !events.contains(&Ev::LoginFail {
            sdk_err: 9,
            cookie: "late".into()
        }),
        "{events:?}"
    );
    assert!(sdk_threads().is_empty());
}

/// Names of this process's threads that belong to the SDK.
fn sdk_threads() -> Vec<String> {
    let mut names = Vec::new();
    for task in std::fs::read_dir("/proc/self/task").unwrap() {
        let comm = task.unwrap().path().join("comm");
        if let Ok(name) = std::fs::read_to_string(comm) {
            let name = name.trim().to_string();
            // Linux keeps 15 bytes of a thread name.
            if name == "crvideo-io" || name == "crvideo-dispatc" {
                names.push(name);
            }
        }
    }
    names
}
