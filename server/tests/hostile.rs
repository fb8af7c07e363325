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
    // Replies pile up unread; the server must neither block nor buffer without bound.
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
    // Reading now: either every reply, in order (the socket buffers held them), or the
    // session was ended for not reading (its queue of 1024 frames filled); nothing else.
    let mut last = 0;
    let ended = loop {
        let next = tokio::time::timeout(support::PATIENCE, flood.ws.next()).await;
        match next.expect("neither replies nor an end after the flood") {
            None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break true,
            Some(Ok(Message::Text(text))) => {
                if let ServerFrame::Reply(reply) = crvideo_proto::decode(text.as_str()).unwrap() {
                    assert!(reply.re > last, "reply {} after {last}", reply.re);
                    last = reply.re;
                    if last == final_id {
                        break false;
                    }
                }
            }
            Some(Ok(_)) => {}
        }
    };
    if ended {
        eventually(|| !server.online_users("acme").contains(&"flood".to_string())).await;
    } else {
        assert_eq!(sent, 10_000);
    }
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
