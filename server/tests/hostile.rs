//! Hostile and broken clients: bytes that are not WebSocket, a frame cut off in the middle, a
//! header announcing a 1 GiB frame, 10,000 requests sent without reading a reply, resume
//! attempts that must fail. Each asserts what the misbehaving session gets, and that the
//! server keeps serving everyone else meanwhile.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use crvideo_proto::{ErrorCode, ResumeInfo, ServerFrame};
use crvideo_server::{Config, Server};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use support::{connect, eventually, login, Client};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

fn config() -> Config {
    Config {
        // Long: a client that does not read for a while must not be dropped as silent.
        heartbeat_ms: 10_000,
        ..support::config("hostile")
    }
}

async fn start() -> Server {
    Server::start(config()).await.unwrap()
}

/// A well-behaved user still gets answers: the server is not stuck.
async fn still_serving(addr: SocketAddr, user: &str) {
    let mut c = login(addr, "acme", user).await;
    assert_eq!(c.code(json!({"op": "get_user_status"})).await, 0);
}

#[tokio::test]
async fn bytes_that_are_not_websocket_are_dropped() {
    let server = start().await;
    let addr = server.local_addr();
    let mut watcher = login(addr, "acme", "amy").await;
    for garbage in [
        b"\x00\x01\x02\x03garbage\r\n\r\n".to_vec(),
        b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
        vec![0xffu8; 64 * 1024],
    ] {
        let mut tcp = TcpStream::connect(addr).await.unwrap();
        let _ = tcp.write_all(&garbage).await;
        // The server ends the connection (an HTTP error at most), never waits forever.
        let mut buf = vec![0u8; 4096];
        let ended = tokio::time::timeout(Duration::from_secs(15), async {
            loop {
                match tcp.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(ended.is_ok(), "the server kept a garbage connection open");
    }
    assert_eq!(watcher.code(json!({"op": "get_user_status"})).await, 0);
    still_serving(addr, "bob").await;
}

#[tokio::test]
async fn a_frame_cut_in_the_middle_ends_only_that_session() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut cut = login(addr, "acme", "cut").await;
    // A text frame's header and half its payload, then the connection closes.
    let tcp = cut.ws.get_mut();
    let payload = br#"{"id":9,"op":"get_user_status"}"#;
    let mut frame = vec![0x81u8, 0x80 | payload.len() as u8, 1, 2, 3, 4];
    frame.extend(
        payload[..payload.len() / 2]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ [1, 2, 3, 4][i % 4]),
    );
    tcp.write_all(&frame).await.unwrap();
    drop(cut);
    eventually(|| server.online_users("acme") == vec!["amy".to_string()]).await;
    assert_eq!(amy.code(json!({"op": "get_user_status"})).await, 0);
}

#[tokio::test]
async fn a_1_gib_frame_is_refused_from_its_header() {
    let server = start().await;
    let addr = server.local_addr();
    let mut big = login(addr, "acme", "big").await;
    let tcp = big.ws.get_mut();
    // A masked binary frame announcing 1 GiB; only the header and a little data follow.
    let mut header = vec![0x82u8, 0x80 | 127];
    header.extend_from_slice(&(1u64 << 30).to_be_bytes());
    header.extend_from_slice(&[9, 9, 9, 9]);
    header.extend_from_slice(&[0u8; 1024]);
    tcp.write_all(&header).await.unwrap();
    // Closed with 1009 (message too big) at once: the server did not wait for (or allocate)
    // the gigabyte.
    let mut reply = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), tcp.read_to_end(&mut reply)).await;
    assert!(read.is_ok(), "the server waited for the announced gigabyte");
    let close = reply.windows(2).position(|w| w[0] == 0x88);
    let code = close.and_then(|i| reply.get(i + 2..i + 4));
    assert_eq!(
        code,
        Some(&u16::from(CloseCode::Size).to_be_bytes()[..]),
        "{reply:?}"
    );
    eventually(|| server.online_users("acme").is_empty()).await;
    still_serving(addr, "amy").await;
}

#[tokio::test]
async fn ten_thousand_requests_without_reading_replies() {
    let server = start().await;
    let addr = server.local_addr();
    let mut flood = login(addr, "acme", "flood").await;
    // Replies pile up unread; the server must neither block nor buffer without bound, nor
    // end the session.
    let mut sent = 0u64;
    let mut final_id = 0;
    let writing = async {
        for _ in 0..10_000 {
            final_id = flood.next_id();
            let request = json!({"id": final_id, "op": "get_user_status"}).to_string();
            if flood.ws.send(Message::text(request)).await.is_err() {
                break; // the server already ended the session
            }
            sent += 1;
        }
    };
    let other = async {
        // Meanwhile others are served as usual.
        tokio::time::sleep(Duration::from_millis(50)).await;
        still_serving(addr, "amy").await;
    };
    tokio::join!(writing, other);
    // Reading now: every reply, in order. Replies to its own requests never end a session:
    // while too many are queued the server stops reading its requests instead.
    let mut last = 0;
    while last != final_id {
        let next = tokio::time::timeout(support::PATIENCE, flood.ws.next()).await;
        match next.expect("the replies stopped") {
            Some(Ok(Message::Text(text))) => {
                if let ServerFrame::Reply(reply) = crvideo_proto::decode(text.as_str()).unwrap() {
                    assert!(reply.re > last, "reply {} after {last}", reply.re);
                    last = reply.re;
                }
            }
            Some(Ok(_)) => {}
            other => panic!("the session ended: {other:?}"),
        }
    }
    assert_eq!(sent, 10_000);
    still_serving(addr, "bob").await;
}

#[tokio::test]
async fn resume_attempts_that_must_fail() {
    let server = start().await;
    let addr = server.local_addr();
    // An unknown token: refused, the connection stays usable for a login.
    let mut c = connect(addr).await;
    c.hello().await;
    let refused = c
        .code(json!({"op": "resume", "token": "nope", "received": 0}))
        .await;
    assert_eq!(refused, ErrorCode::ConnectionLost as i32);
    // Resume once logged in: not allowed.
    let mut amy = login(addr, "acme", "amy").await;
    let info: ResumeInfo = amy
        .request(json!({"op": "enable_resume", "window_ms": 60_000}))
        .await
        .into_result()
        .unwrap();
    assert_eq!(
        info.window_ms, 30_000,
        "capped by the server's resume_window_ms"
    );
    assert_eq!(info.token.len(), 32);
    let again = amy
        .code(json!({"op": "resume", "token": info.token, "received": 0}))
        .await;
    assert_eq!(again, ErrorCode::LoginStateError as i32);
    // A resume claiming more frames than the server ever sent: refused, and the session it
    // named is over (others see it go).
    let mut bob = login(addr, "acme", "bob").await;
    let bob_info: ResumeInfo = bob
        .request(json!({"op": "enable_resume", "window_ms": 5_000}))
        .await
        .into_result()
        .unwrap();
    drop(bob);
    let mut thief = connect(addr).await;
    thief.hello().await;
    let code = thief
        .code(json!({"op": "resume", "token": bob_info.token, "received": 1_000_000}))
        .await;
    assert_eq!(code, ErrorCode::ConnectionLost as i32);
    eventually(|| !server.online_users("acme").contains(&"bob".to_string())).await;
    // Before hello: the connection is closed.
    let mut early = connect(addr).await;
    early
        .send(json!({"id": 1, "op": "resume", "token": "x", "received": 0}))
        .await;
    assert!(early.closed().await.is_some());
    // The refused connection still logs in.
    let r: Client = c;
    drop(r);
}

/// A config whose rate limits let a client send commands as fast as it can.
fn unthrottled(heartbeat_ms: u64) -> Config {
    let mut config = config();
    config.heartbeat_ms = heartbeat_ms;
    config.limits.cmds_per_sec = 1_000_000;
    config.limits.cmd_burst = 1_000_000;
    config
}

/// A logged-in client that never reads again: its socket fills, its queue grows.
async fn deaf(addr: SocketAddr, user: &str) -> support::Client {
    login(addr, "acme", user).await
}

#[tokio::test]
async fn a_reading_sender_keeps_its_session_when_its_target_is_dropped() {
    // The target never reads; it is dropped (silent for 3 heartbeats, or over its queue's
    // bound) with the sender's commands unacknowledged. Each of them is answered then, at
    // once: the sender, which reads all the time, must get every answer and stay.
    let server = Server::start(unthrottled(300)).await.unwrap();
    let addr = server.local_addr();
    let _target = deaf(addr, "deaf").await;
    let sender = login(addr, "acme", "sender").await;
    let (mut sink, mut stream) = sender.ws.split();
    const COMMANDS: u64 = 2000;
    let payload = vec![0x5au8; crvideo_proto::MAX_CMD_BYTES];
    let sending = async {
        for id in 1..=COMMANDS {
            let frame = crvideo_proto::data::encode_command(id, "deaf", &payload);
            sink.send(Message::binary(frame))
                .await
                .expect("sender dropped");
        }
        sink
    };
    let reading = async {
        // Every command is answered once: TOO_FREQUENT while too many wait for the target,
        // SENDDATA_TARGETINVALID once it is gone.
        let mut answered = std::collections::HashSet::new();
        let mut codes = std::collections::BTreeMap::<i32, u64>::new();
        while (answered.len() as u64) < COMMANDS {
            let next = tokio::time::timeout(support::PATIENCE, stream.next()).await;
            match next.expect("the answers stopped") {
                Some(Ok(Message::Text(text))) => {
                    if let ServerFrame::Reply(r) = crvideo_proto::decode(text.as_str()).unwrap() {
                        assert!(answered.insert(r.re), "reply {} twice", r.re);
                        *codes.entry(r.code).or_default() += 1;
                    }
                }
                Some(Ok(Message::Close(frame))) => panic!("sender closed: {frame:?}"),
                Some(Ok(_)) => {}
                other => panic!("sender dropped: {other:?}"),
            }
        }
        (stream, codes)
    };
    let (sink, (stream, codes)) = tokio::join!(sending, reading);
    let refused = ErrorCode::SendDataTargetInvalid as i32;
    assert!(codes.get(&refused).copied().unwrap_or(0) > 0, "{codes:?}");
    assert!(
        codes
            .keys()
            .all(|c| *c == refused || *c == ErrorCode::TooFrequent as i32),
        "{codes:?}"
    );
    eventually(|| server.online_users("acme") == vec!["sender".to_string()]).await;
    // The sender's session still serves requests.
    let mut sender = support::Client::from_parts(sink.reunite(stream).unwrap());
    assert_eq!(sender.code(json!({"op": "get_user_status"})).await, 0);
}

#[tokio::test]
async fn a_session_that_does_not_read_is_bounded_in_bytes() {
    // 1 MiB of queued events and commands at most; heartbeats far away, and more commands in
    // flight allowed than the bytes allow: only the byte bound can end the target.
    let mut config = unthrottled(60_000);
    config.limits.max_outbound_bytes = 1 << 20;
    config.limits.max_cmds_in_flight = 10_000;
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();
    let _target = deaf(addr, "deaf").await;
    let mut sender = login(addr, "acme", "sender").await;
    let payload = vec![0x5au8; crvideo_proto::MAX_CMD_BYTES];
    // 400 commands of 51,200 bytes: 20 MB, more than the kernel's socket buffers take; under
    // a bound of 1,024 frames alone the target would hold all of it.
    let ids = 1_000u32..1_400;
    for id in ids.clone() {
        let frame = crvideo_proto::data::encode_command(id.into(), "deaf", &payload);
        sender.send_binary(frame).await;
    }
    eventually(|| server.online_users("acme") == vec!["sender".to_string()]).await;
    // Each command is answered once: the target is gone.
    let answers = replies(&mut sender, ids.len()).await;
    let expected: Vec<u64> = ids.map(u64::from).collect();
    assert_eq!(answers.keys().copied().collect::<Vec<_>>(), expected);
    let refused = ErrorCode::SendDataTargetInvalid as i32;
    assert!(answers.values().all(|code| *code == refused), "{answers:?}");
    assert_eq!(sender.code(json!({"op": "get_user_status"})).await, 0);
}

/// The next `n` replies, by request id, in any order.
async fn replies(c: &mut support::Client, n: usize) -> std::collections::BTreeMap<u64, i32> {
    let mut got = std::collections::BTreeMap::new();
    while got.len() < n {
        let next = tokio::time::timeout(support::PATIENCE, c.ws.next()).await;
        match next.expect("the replies stopped") {
            Some(Ok(Message::Text(text))) => {
                if let ServerFrame::Reply(r) = crvideo_proto::decode(text.as_str()).unwrap() {
                    assert!(got.insert(r.re, r.code).is_none(), "reply {} twice", r.re);
                }
            }
            Some(Ok(_)) => {}
            other => panic!("connection ended: {other:?}"),
        }
    }
    got
}

#[tokio::test]
async fn large_replies_unread_hold_back_reading_instead_of_piling_up() {
    let mut config = config();
    config.limits.requests_per_sec = 1_000_000;
    config.limits.request_burst = 1_000_000;
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();
    // A small receive buffer (no autotuning) so that the kernel does not hold it all.
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(64 * 1024).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    let mut flood = support::Client::over(tcp, &format!("ws://{addr}/crvideo")).await;
    flood.hello().await;
    assert_eq!(flood.login_reply("acme", "pw", "flood", "").await.code, 0);
    let subject = "s".repeat(crvideo_proto::MAX_SUBJECT_CHARS);
    for _ in 0..150 {
        let created = json!({"op": "create_meeting", "subject": subject, "with_password": false});
        assert_eq!(flood.code(created).await, 0);
    }
    // 700 listings of 150 meetings (about 20 KB each, 14 MB in all: more than socket buffers
    // hold) asked for without reading: the server stops reading requests while a window of
    // replies waits, instead of queuing 14 MB.
    let first = flood.next_id();
    for i in 0..700 {
        let request = json!({"id": first + i, "op": "get_meetings"}).to_string();
        flood.ws.send(Message::text(request)).await.unwrap();
    }
    // Once the socket buffers are full, replies queue up to the window, and no further:
    // watched until nothing changed for a while.
    let replies = || {
        server
            .queued_bytes("acme", "flood")
            .expect("online")
            .replies
    };
    eventually(|| replies() > 0).await;
    let (mut most, mut last, mut since) = (0, 0, tokio::time::Instant::now());
    while since.elapsed() < Duration::from_millis(300) {
        let now = replies();
        most = most.max(now);
        if now != last {
            (last, since) = (now, tokio::time::Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let window = crvideo_server::directory::outbound::REPLY_WINDOW_BYTES;
    assert!(most < window + 64 * 1024, "{most} bytes of replies queued");
    // Once the client reads, every reply comes, in order.
    let mut next = first;
    while next < first + 700 {
        let frame = tokio::time::timeout(support::PATIENCE, flood.ws.next()).await;
        match frame.expect("the replies stopped") {
            Some(Ok(Message::Text(text))) => {
                // Only the head is read: decoding 14 MB of listings is slow in a debug build.
                let head = format!(r#"{{"t":"reply","re":{next},"code":0,"#);
                assert!(text.starts_with(&head), "{}", &text[..60.min(text.len())]);
                next += 1;
            }
            Some(Ok(_)) => {}
            other => panic!("the session ended: {other:?}"),
        }
    }
}
