//! Abuse limits: JSON nesting, usr_ext_dat / meet_obj sizes, request and command rates,
//! concurrent transfers, login back-off.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use crvideo_proto::data::encode_command;
use crvideo_proto::ErrorCode;
use crvideo_server::config::Limits;
use crvideo_server::Server;
use serde_json::json;
use support::{connect, connect_from, login, Client};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

const TOO_FREQUENT: i32 = ErrorCode::TooFrequent as i32;
const PARAM_ERR: i32 = ErrorCode::ParamErr as i32;

async fn start(limits: Limits) -> Server {
    let mut config = support::config("limits");
    config.limits = limits;
    Server::start(config).await.unwrap()
}

#[tokio::test]
async fn deeply_nested_json_closes_the_session() {
    let server = start(Limits {
        max_json_depth: 8,
        ..Limits::default()
    })
    .await;
    let mut c = login(server.local_addr(), "acme", "amy").await;
    // The frame is depth 1; seven more levels are within the limit (unknown fields ignored).
    let nested = |levels: usize| format!("{}{}", "[".repeat(levels), "]".repeat(levels));
    let ok = format!(r#"{{"id":5,"op":"get_user_status","x":{}}}"#, nested(7));
    c.send_text(ok).await;
    assert_eq!(c.reply_to(5).await.code, 0);
    // Brackets inside strings do not count.
    let in_string = format!(r#"{{"id":6,"op":"get_user_status","x":"{}"}}"#, nested(50));
    c.send_text(in_string).await;
    assert_eq!(c.reply_to(6).await.code, 0);
    let deep = format!(r#"{{"id":7,"op":"get_user_status","x":{}}}"#, nested(8));
    c.send_text(deep).await;
    let close = c.closed().await.expect("a Close frame");
    assert_eq!(close.code, CloseCode::Policy);
    // Others are unaffected.
    let mut other = login(server.local_addr(), "acme", "ben").await;
    assert_eq!(other.code(json!({"op": "get_user_status"})).await, 0);
}

#[tokio::test]
async fn the_default_depth_limit_is_below_serdes() {
    let server = start(Limits::default()).await;
    let mut c = login(server.local_addr(), "acme", "amy").await;
    let deep = format!(
        r#"{{"id":7,"op":"get_user_status","x":{}{}}}"#,
        "{\"a\":".repeat(40),
        "1}".repeat(40)
    );
    c.send_text(deep).await;
    assert_eq!(
        c.closed().await.expect("a Close frame").code,
        CloseCode::Policy
    );
}

#[tokio::test]
async fn long_usr_ext_dat_and_meet_obj_are_refused() {
    let server = start(Limits {
        max_usr_ext_dat_bytes: 100,
        max_meet_obj_bytes: 50,
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut ben = login(addr, "acme", "ben").await;
    let (ext_ok, ext_long) = ("é".repeat(50), "x".repeat(101));
    let (meet_ok, meet_long) = ("m".repeat(50), "m".repeat(51));
    let call = |id: &str, meet: &str, ext: &str| json!({"op": "call", "call_id": id, "callee": "ben", "meet_obj": meet, "usr_ext_dat": ext});
    assert_eq!(amy.code(call("c1", "", &ext_long)).await, PARAM_ERR);
    assert_eq!(amy.code(call("c1", &meet_long, "")).await, PARAM_ERR);
    ben.quiet().await;
    assert_eq!(
        amy.code(call("c1", &meet_ok, &ext_ok)).await,
        0,
        "at the limits"
    );
    let _ = ben.event().await;
    let accept = |meet: &str, ext: &str| json!({"op": "accept_call", "call_id": "c1", "meet_obj": meet, "usr_ext_dat": ext});
    assert_eq!(ben.code(accept("", &ext_long)).await, PARAM_ERR);
    assert_eq!(ben.code(accept(&meet_long, "")).await, PARAM_ERR);
    assert_eq!(ben.code(accept("", "")).await, 0);
    let _ = amy.event().await;
    let hangup = |ext: &str| json!({"op": "hangup_call", "call_id": "c1", "usr_ext_dat": ext});
    assert_eq!(ben.code(hangup(&ext_long)).await, PARAM_ERR);
    assert_eq!(ben.code(hangup("")).await, 0);
    let _ = amy.event().await;

    assert_eq!(amy.code(call("c2", "", "")).await, 0);
    let _ = ben.event().await;
    let reject = |ext: &str| json!({"op": "reject_call", "call_id": "c2", "usr_ext_dat": ext});
    assert_eq!(ben.code(reject(&ext_long)).await, PARAM_ERR);
    assert_eq!(ben.code(reject("")).await, 0);

    let invite =
        |meet: &str| json!({"op": "invite", "invite_id": "i1", "invitee": "ben", "meet_obj": meet});
    assert_eq!(amy.code(invite(&meet_long)).await, PARAM_ERR);
    assert_eq!(amy.code(invite(&meet_ok)).await, 0);

    let queue = |ext: &str| json!({"op": "start_queuing", "que_id": 1, "usr_ext_dat": ext});
    let mut cal = login(addr, "acme", "cal").await;
    assert_eq!(cal.code(queue(&ext_long)).await, PARAM_ERR);
    assert_eq!(cal.code(queue(&ext_ok)).await, 0);
}

#[tokio::test]
async fn requests_over_the_rate_get_too_frequent_and_the_session_stays() {
    let server = start(Limits {
        requests_per_sec: 5,
        request_burst: 10,
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    // hello and login took two tokens.
    let mut c = login(addr, "acme", "amy").await;
    let first = c.next_id();
    for i in 0..30 {
        c.send(json!({"id": first + i, "op": "get_user_status"}))
            .await;
    }
    let mut codes = Vec::new();
    for i in 0..30 {
        codes.push(c.reply_to(first + i).await.code);
        c.next_id();
    }
    let ok = codes.iter().filter(|&&code| code == 0).count();
    let refused = codes.iter().filter(|&&code| code == TOO_FREQUENT).count();
    assert_eq!(ok + refused, 30, "{codes:?}");
    assert!(
        (8..=11).contains(&ok),
        "the burst passes, the rest is refused: {codes:?}"
    );
    // One-way messages are not limited: they neither get a reply nor use tokens up.
    for _ in 0..50 {
        c.send(
            json!({"id": 0, "op": "transfer_credit", "transfer_id": "nope", "bytes": 1,
            "received": 0}),
        )
        .await;
    }
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(
        c.code(json!({"op": "get_user_status"})).await,
        0,
        "refilled"
    );
    // Another session has its own bucket.
    let mut other = login(addr, "acme", "ben").await;
    assert_eq!(other.code(json!({"op": "get_user_status"})).await, 0);
}

#[tokio::test]
async fn commands_over_the_rate_get_too_frequent_and_the_session_stays() {
    let server = start(Limits {
        cmds_per_sec: 2,
        cmd_burst: 3,
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut ben = login(addr, "acme", "ben").await;
    for id in 100..110u64 {
        amy.send_binary(encode_command(id, "ben", b"x")).await;
    }
    let mut relayed = 0;
    for _ in 0..3 {
        let _ = ben.binary().await;
        relayed += 1;
    }
    ben.quiet().await;
    assert_eq!(relayed, 3);
    for id in 103..110u64 {
        assert_eq!(amy.reply_to(id).await.code, TOO_FREQUENT);
    }
    // Requests are limited separately, and the session stays.
    assert_eq!(amy.code(json!({"op": "get_user_status"})).await, 0);
    tokio::time::sleep(Duration::from_millis(600)).await;
    amy.send_binary(encode_command(200, "ben", b"y")).await;
    let _ = ben.binary().await;
}

#[tokio::test]
async fn concurrent_transfers_per_user_are_capped() {
    let server = start(Limits {
        max_transfers_per_user: 2,
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let _ben = login(addr, "acme", "ben").await;
    let mut cal = login(addr, "acme", "cal").await;
    let offer = |id: &str, to: &str| {
        json!({"op": "transfer_offer", "transfer_id": id, "target": to, "kind": "buffer",
            "name": "", "total": 1})
    };
    assert_eq!(amy.code(offer("t1", "ben")).await, 0);
    assert_eq!(amy.code(offer("t2", "cal")).await, 0);
    assert_eq!(amy.code(offer("t3", "ben")).await, TOO_FREQUENT);
    // Receiving does not count: cal may still send two, also to amy.
    assert_eq!(cal.code(offer("t4", "amy")).await, 0);
    assert_eq!(cal.code(offer("t5", "amy")).await, 0);
    // An ended transfer frees a place.
    assert_eq!(
        amy.code(json!({"op": "transfer_cancel", "transfer_id": "t1"}))
            .await,
        0
    );
    assert_eq!(amy.code(offer("t3", "ben")).await, 0);
}

/// One failed or successful login attempt on a fresh connection; returns the code and how
/// long the reply took.
async fn attempt(addr: SocketAddr, from: IpAddr, tenant: &str, password: &str) -> (i32, Duration) {
    let mut c = connect_from(addr, from).await;
    c.hello().await;
    let started = Instant::now();
    let code = c.login_reply(tenant, password, "u", "").await.code;
    (code, started.elapsed())
}

#[tokio::test]
async fn failed_logins_back_off_per_account_and_per_address() {
    let server = start(Limits {
        login_backoff_base_ms: 200,
        login_backoff_max_ms: 800,
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    let (one, two, three): (IpAddr, IpAddr, IpAddr) = (
        "127.0.0.1".parse().unwrap(),
        "127.0.0.2".parse().unwrap(),
        "127.0.0.3".parse().unwrap(),
    );
    let fast = Duration::from_millis(150);
    let wrong = ErrorCode::AcntPswdErr as i32;
    let (code, took) = attempt(addr, one, "acme", "nope").await;
    assert_eq!(code, wrong);
    assert!(took < fast, "the first failure is not delayed: {took:?}");
    for expected_ms in [200, 400, 800, 800] {
        let (code, took) = attempt(addr, one, "acme", "nope").await;
        assert_eq!(code, wrong);
        assert!(
            took >= Duration::from_millis(expected_ms),
            "expected at least {expected_ms} ms, took {took:?}"
        );
        assert!(took < Duration::from_millis(expected_ms + 1000), "{took:?}");
    }
    // Another tenant from another address: not delayed, and it logs in.
    let (code, took) = attempt(addr, two, "globex", "s3cret").await;
    assert_eq!(code, 0);
    assert!(took < fast, "{took:?}");
    // The failed account from another address: its first attempt is not delayed (failures
    // elsewhere never hold up an address that has not failed)...
    let (code, took) = attempt(addr, two, "acme", "nope").await;
    assert_eq!(code, wrong);
    assert!(took < fast, "{took:?}");
    // ...but once that address failed too, the account's back-off is its ceiling.
    let (code, took) = attempt(addr, two, "acme", "nope").await;
    assert_eq!(code, wrong);
    assert!(took >= Duration::from_millis(800), "{took:?}");
    // The owner, from an address that has not failed, logs in at once...
    let (code, took) = attempt(addr, three, "acme", "pw").await;
    assert_eq!(code, 0, "a correct login still works");
    assert!(took < fast, "{took:?}");
    // ...the address 127.0.0.1 is still marked, for any tenant...
    let (code, took) = attempt(addr, one, "globex", "bad").await;
    assert_eq!(code, wrong);
    assert!(took >= Duration::from_millis(800), "per address: {took:?}");
    // ...except for a password that already passed: a correct login is never delayed (and
    // its success resets the address).
    let (code, took) = attempt(addr, one, "globex", "s3cret").await;
    assert_eq!(code, 0);
    assert!(took < fast, "{took:?}");
    let (code, took) = attempt(addr, one, "acme", "nope").await;
    assert_eq!(code, wrong);
    assert!(took < fast, "{took:?}");
}

/// Sends a login on an open connection (after hello) without waiting; returns its id.
async fn send_login(c: &mut Client, tenant: &str, password: &str) -> u64 {
    let id = c.next_id();
    c.send(
        json!({"id": id, "op": "login", "tenant": tenant, "password": password,
        "nickname": "", "user_id": "", "auth_code": ""}),
    )
    .await;
    id
}

#[tokio::test]
async fn parallel_guesses_from_one_address_pay_the_backoff_in_turn() {
    let server = start(Limits {
        login_backoff_base_ms: 100,
        login_backoff_max_ms: 1000,
        max_prelogin_per_address: 200,
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    let guesser: IpAddr = "127.0.0.4".parse().unwrap();
    // 100 connections from one address guess at once.
    let mut conns = Vec::new();
    for _ in 0..100 {
        let mut c = connect_from(addr, guesser).await;
        c.hello().await;
        conns.push(c);
    }
    let mut ids = Vec::new();
    for c in &mut conns {
        ids.push(send_login(c, "acme", "nope").await);
    }
    // Within a second, the back-off lets only a handful through (0, 0, 100, 200, 400, 800
    // ms with two checked at a time); all 100 at once would each be checked at once.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(1);
    let mut answered = 0;
    for (c, id) in conns.iter_mut().zip(&ids) {
        let reply = tokio::time::timeout_at(deadline, c.reply_to(*id)).await;
        if let Ok(reply) = reply {
            assert_eq!(reply.code, ErrorCode::AcntPswdErr as i32);
            answered += 1;
        }
    }
    eprintln!("{answered} of 100 parallel guesses answered within a second");
    assert!(answered <= 10, "{answered} guesses answered in a second");
    // Meanwhile the owner logs in from its own address at once.
    let (code, took) = attempt(addr, "127.0.0.5".parse().unwrap(), "acme", "pw").await;
    assert_eq!(code, 0);
    assert!(took < Duration::from_millis(150), "{took:?}");
}

#[tokio::test]
async fn a_throttled_login_does_not_hold_up_other_sessions() {
    let server = start(Limits {
        login_backoff_base_ms: 1000,
        login_backoff_max_ms: 1000,
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    let one: IpAddr = "127.0.0.1".parse().unwrap();
    attempt(addr, one, "acme", "nope").await;
    // A delayed attempt in progress...
    let mut slow = connect(addr).await;
    slow.hello().await;
    let id = slow.next_id();
    slow.send(
        json!({"id": id, "op": "login", "tenant": "acme", "password": "nope",
        "nickname": "", "user_id": "", "auth_code": ""}),
    )
    .await;
    // ...while another tenant logs in from elsewhere at once.
    let (code, took) = attempt(addr, "127.0.0.2".parse().unwrap(), "globex", "s3cret").await;
    assert_eq!(code, 0);
    assert!(took < Duration::from_millis(500), "{took:?}");
    assert_eq!(slow.reply_to(id).await.code, ErrorCode::AcntPswdErr as i32);
}

#[tokio::test]
async fn meetings_are_capped_per_user_and_per_tenant() {
    let server = start(Limits {
        max_meetings_per_user: 2,
        max_meetings_per_tenant: 3,
        ..Limits::default()
    })
    .await;
    let addr = server.local_addr();
    let (mut amy, mut ben) = (
        login(addr, "acme", "amy").await,
        login(addr, "acme", "ben").await,
    );
    let create = || json!({"op": "create_meeting", "subject": "m", "with_password": false});
    let out_of_mem = ErrorCode::OutOfMem as i32;
    assert_eq!(amy.code(create()).await, 0);
    assert_eq!(amy.code(create()).await, 0);
    assert_eq!(amy.code(create()).await, out_of_mem, "per user");
    assert_eq!(ben.code(create()).await, 0);
    assert_eq!(ben.code(create()).await, out_of_mem, "per tenant");
    let listed = ben.request(json!({"op": "get_meetings"})).await;
    assert_eq!(listed.code, 0);
    assert_eq!(listed.data["meetings"].as_array().unwrap().len(), 3);
    // Another tenant has its own.
    let mut gil = login(addr, "globex", "gil").await;
    assert_eq!(gil.code(create()).await, 0);
}
