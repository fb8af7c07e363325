//! The transparent channel as raw WebSocket clients see it: commands (binary command frames
//! answered after the target's acknowledgement) and bulk transfers (offer, credit, chunks,
//! end, complete / cancel / abort).

use std::net::SocketAddr;
use std::time::Duration;

use crvideo_proto::data::{decode_data, encode_chunk, encode_command, DataFrame};
use crvideo_proto::{
    ErrorCode, Event, LoginOk, Reply, ServerFrame, TransferKind, MAX_CMD_BYTES, PROTOCOL_VERSION,
};
use crvideo_server::{Config, Server, TenantConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// argon2id of "pw" with tiny parameters (m=8 KiB, t=1): keeps the tests fast.
const HASH_OF_PW: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0";
/// Same, of "s3cret".
const HASH_OF_S3CRET: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$npVotbvPQ4dPhvFkQko6L661aOqtdkjpUJzLaZXBhpA";

const HEARTBEAT_MS: u64 = 300;
/// Small on purpose: commands (and chunks) up to a full-size command frame still pass.
const MAX_FRAME: usize = 4096;
/// Generous bound for anything that should happen "soon".
const PATIENCE: Duration = Duration::from_secs(10);
/// How long to watch for something that must not arrive.
const QUIET: Duration = Duration::from_millis(300);

const TARGET_INVALID: i32 = ErrorCode::SendDataTargetInvalid as i32;
const TRANSID_INVALID: i32 = ErrorCode::TransIdInvalid as i32;

fn data_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "relay-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

async fn start() -> Server {
    Server::start(Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir(),
        heartbeat_ms: HEARTBEAT_MS,
        max_frame_bytes: MAX_FRAME,
        tenants: vec![
            TenantConfig::with_password_hash("acme", HASH_OF_PW).unwrap(),
            TenantConfig::with_password_hash("globex", HASH_OF_S3CRET).unwrap(),
        ],
        ..Config::default()
    })
    .await
    .unwrap()
}

async fn connect(addr: SocketAddr) -> Ws {
    let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/crvideo"))
        .await
        .unwrap();
    ws
}

async fn send(ws: &mut Ws, frame: Value) {
    ws.send(Message::text(frame.to_string())).await.unwrap();
}

async fn send_binary(ws: &mut Ws, frame: Vec<u8>) {
    ws.send(Message::binary(frame)).await.unwrap();
}

/// The next text or binary message (pings and pongs skipped).
async fn next_message(ws: &mut Ws) -> Message {
    loop {
        let msg = timeout(PATIENCE, ws.next())
            .await
            .expect("no frame in time")
            .expect("connection ended")
            .expect("read failed");
        match msg {
            Message::Ping(_) | Message::Pong(_) => continue,
            other => return other,
        }
    }
}

async fn next_frame(ws: &mut Ws) -> ServerFrame {
    match next_message(ws).await {
        Message::Text(t) => crvideo_proto::decode(t.as_str()).unwrap(),
        other => panic!("expected a control frame, got {other:?}"),
    }
}

async fn next_binary(ws: &mut Ws) -> Bytes {
    match next_message(ws).await {
        Message::Binary(b) => b,
        other => panic!("expected a binary frame, got {other:?}"),
    }
}

async fn next_reply(ws: &mut Ws, re: u64) -> Reply {
    match next_frame(ws).await {
        ServerFrame::Reply(r) => {
            assert_eq!(r.re, re, "{r:?}");
            r
        }
        other => panic!("expected reply {re}, got {other:?}"),
    }
}

async fn next_event(ws: &mut Ws) -> Event {
    match next_frame(ws).await {
        ServerFrame::Event(e) => e,
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Nothing but pings arrives for [`QUIET`].
async fn expect_quiet(ws: &mut Ws) {
    let deadline = Instant::now() + QUIET;
    loop {
        match timeout_at(deadline, ws.next()).await {
            Err(_) => return,
            Ok(Some(Ok(Message::Ping(_) | Message::Pong(_)))) => continue,
            Ok(other) => panic!("expected nothing, got {other:?}"),
        }
    }
}

/// Reads until the server closes: the Close frame, or None if the connection just ended.
async fn expect_close(ws: &mut Ws) -> Option<CloseFrame> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let next = timeout_at(deadline, ws.next())
            .await
            .expect("connection not closed in time");
        match next {
            Some(Ok(Message::Close(frame))) => return frame,
            Some(Ok(Message::Text(t))) => panic!("unexpected text before close: {t}"),
            Some(Ok(_)) => continue,
            Some(Err(_)) | None => return None,
        }
    }
}

async fn hello(ws: &mut Ws) {
    send(
        ws,
        json!({"id": 1, "op": "hello", "version": PROTOCOL_VERSION, "agent": "relay-test"}),
    )
    .await;
    assert_eq!(next_reply(ws, 1).await.code, 0);
}

/// Connects, says hello and logs in as `user` of `tenant`.
async fn login_to(addr: SocketAddr, tenant: &str, password: &str, user: &str) -> Ws {
    let mut ws = connect(addr).await;
    hello(&mut ws).await;
    send(
        &mut ws,
        json!({"id": 2, "op": "login", "tenant": tenant, "password": password,
               "nickname": user, "user_id": user}),
    )
    .await;
    let ok: LoginOk = next_reply(&mut ws, 2).await.into_result().unwrap();
    assert_eq!(ok.user_id, user);
    ws
}

async fn login(addr: SocketAddr, user: &str) -> Ws {
    login_to(addr, "acme", "pw", user).await
}

/// Sends a request and returns its reply code.
async fn request(ws: &mut Ws, id: u64, mut frame: Value) -> i32 {
    frame["id"] = json!(id);
    send(ws, frame).await;
    next_reply(ws, id).await.code
}

/// Reads a relayed command: (relay id, source, payload).
async fn next_command(ws: &mut Ws) -> (u64, String, Vec<u8>) {
    let frame = next_binary(ws).await;
    match decode_data(&frame).unwrap() {
        DataFrame::Command { id, peer, payload } => (id, peer.to_owned(), payload.to_vec()),
        other => panic!("expected a command, got {other:?}"),
    }
}

fn offer(id: &str, target: &str, total: u64) -> Value {
    json!({"op": "transfer_offer", "transfer_id": id, "target": target, "kind": "file",
           "name": "report.pdf", "total": total})
}

/// `sender` offers transfer `id` to `receiver_id`; the receiver reads the offer.
async fn offered(sender: &mut Ws, receiver: &mut Ws, receiver_id: &str, id: &str) {
    assert_eq!(request(sender, 10, offer(id, receiver_id, 100)).await, 0);
    match next_event(receiver).await {
        Event::TransferOffered { transfer_id, .. } => assert_eq!(transfer_id, id),
        other => panic!("expected the offer, got {other:?}"),
    }
}

/// Every byte value, NULs and 0xFF included.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn command_is_delivered_byte_exact_and_answered_after_the_ack() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;

    let payload = [
        b"a\0b".as_slice(),
        &[0xff, 0, 0xfe, 0xff],
        &pattern(1000, 3),
    ]
    .concat();
    send_binary(&mut amy, encode_command(41, "ben", &payload)).await;
    let (relay_id, source, got) = next_command(&mut ben).await;
    assert_ne!(relay_id, 0);
    assert_eq!(source, "amy");
    assert_eq!(got, payload);
    // No answer before the target's SDK acknowledged.
    expect_quiet(&mut amy).await;

    // One-way: the acknowledgement itself is not answered; the next frame ben gets is the
    // reply to its next request.
    send(
        &mut ben,
        json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}),
    )
    .await;
    assert_eq!(
        request(&mut ben, 5, json!({"op": "get_user_status"})).await,
        0
    );
    let reply = next_reply(&mut amy, 41).await;
    assert_eq!((reply.code, reply.data), (0, Value::Null));

    // A second ack of the same relay id, or a made-up one, changes nothing (and is not
    // answered either).
    send(
        &mut ben,
        json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}),
    )
    .await;
    send(
        &mut ben,
        json!({"id": 0, "op": "cmd_ack", "relay_id": 999_999}),
    )
    .await;
    assert_eq!(
        request(&mut ben, 6, json!({"op": "get_user_status"})).await,
        0
    );
    expect_quiet(&mut amy).await;

    // To oneself, and the empty command.
    send_binary(&mut amy, encode_command(42, "amy", b"")).await;
    let (relay_id, source, got) = next_command(&mut amy).await;
    assert_eq!((source.as_str(), got.len()), ("amy", 0));
    send(
        &mut amy,
        json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}),
    )
    .await;
    assert_eq!(next_reply(&mut amy, 42).await.code, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn command_size_limit_and_invalid_targets() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;
    let _other_tenant = login_to(addr, "globex", "s3cret", "carl").await;
    let gone = login(addr, "gone").await;
    drop(gone);
    while server.online_users("acme").contains(&"gone".to_string()) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    send_binary(
        &mut amy,
        encode_command(1, "ben", &pattern(MAX_CMD_BYTES + 1, 0)),
    )
    .await;
    assert_eq!(
        next_reply(&mut amy, 1).await.code,
        ErrorCode::SendCmdLarge.code()
    );
    for (id, target) in [(2, "gone"), (3, "nobody"), (4, "carl"), (5, "")] {
        send_binary(&mut amy, encode_command(id, target, b"x")).await;
        assert_eq!(
            next_reply(&mut amy, id).await.code,
            TARGET_INVALID,
            "{target}"
        );
    }

    let full = pattern(MAX_CMD_BYTES, 7);
    send_binary(&mut amy, encode_command(6, "ben", &full)).await;
    let (relay_id, _, got) = next_command(&mut ben).await;
    assert!(got == full, "the 51,200-byte command arrives intact");
    send(
        &mut ben,
        json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}),
    )
    .await;
    assert_eq!(next_reply(&mut amy, 6).await.code, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn command_target_leaving_before_the_ack_is_1102() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;
    send_binary(&mut amy, encode_command(7, "ben", b"ping")).await;
    next_command(&mut ben).await;
    drop(ben);
    assert_eq!(next_reply(&mut amy, 7).await.code, TARGET_INVALID);

    // A sender that leaves first: its command is forgotten; the late ack is harmless.
    let mut ben = login(addr, "ben").await;
    send_binary(&mut amy, encode_command(8, "ben", b"pong")).await;
    let (relay_id, _, _) = next_command(&mut ben).await;
    drop(amy);
    while server.online_users("acme").contains(&"amy".to_string()) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    send(
        &mut ben,
        json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}),
    )
    .await;
    assert_eq!(
        request(&mut ben, 3, json!({"op": "get_user_status"})).await,
        0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn transfer_happy_path() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;

    // Bad or used transfer ids, invalid targets.
    assert_eq!(
        request(&mut amy, 3, offer("no spaces", "ben", 1)).await,
        ErrorCode::ParamErr.code()
    );
    assert_eq!(
        request(&mut amy, 4, offer("t1", "nobody", 1)).await,
        TARGET_INVALID
    );

    let chunks = [pattern(3000, 1), pattern(40_000, 2), pattern(17, 0)];
    let total: usize = chunks.iter().map(Vec::len).sum();
    assert_eq!(
        request(&mut amy, 5, offer("t1", "ben", total as u64)).await,
        0
    );
    assert_eq!(
        request(&mut amy, 6, offer("t1", "ben", 1)).await,
        ErrorCode::ParamErr.code(),
        "id in use"
    );
    assert_eq!(
        next_event(&mut ben).await,
        Event::TransferOffered {
            transfer_id: "t1".into(),
            source: "amy".into(),
            kind: TransferKind::File,
            name: "report.pdf".into(),
            total: total as u64,
        }
    );

    send(
        &mut ben,
        json!({"id": 0, "op": "transfer_credit", "transfer_id": "t1", "bytes": 65536, "received": 0}),
    )
    .await;
    assert_eq!(
        next_event(&mut amy).await,
        Event::TransferCredit {
            transfer_id: "t1".into(),
            bytes: 65536,
            received: 0
        }
    );

    let mut offset = 0u64;
    let mut sent = Vec::new();
    for chunk in &chunks {
        let frame = encode_chunk("t1", offset, chunk);
        send_binary(&mut amy, frame.clone()).await;
        sent.push(frame);
        offset += chunk.len() as u64;
    }
    send(
        &mut amy,
        json!({"id": 0, "op": "transfer_end", "transfer_id": "t1", "digest": "abc123"}),
    )
    .await;
    for frame in &sent {
        assert!(
            next_binary(&mut ben).await == frame[..],
            "chunk relayed unchanged"
        );
    }
    assert_eq!(
        next_event(&mut ben).await,
        Event::TransferEnd {
            transfer_id: "t1".into(),
            digest: "abc123".into()
        }
    );
    assert_eq!(
        request(
            &mut ben,
            7,
            json!({"op": "transfer_complete", "transfer_id": "t1"})
        )
        .await,
        0
    );
    assert_eq!(
        next_event(&mut amy).await,
        Event::TransferResult {
            transfer_id: "t1".into(),
            code: 0
        }
    );
    // Over: it cannot be completed or cancelled any more.
    assert_eq!(
        request(
            &mut ben,
            8,
            json!({"op": "transfer_complete", "transfer_id": "t1"})
        )
        .await,
        TRANSID_INVALID
    );
    assert_eq!(
        request(
            &mut amy,
            9,
            json!({"op": "transfer_cancel", "transfer_id": "t1"})
        )
        .await,
        TRANSID_INVALID
    );
    server.shutdown().await;
}

#[tokio::test]
async fn cancel_stops_the_transfer() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;
    offered(&mut amy, &mut ben, "ben", "c1").await;

    assert_eq!(
        request(
            &mut ben,
            3,
            json!({"op": "transfer_cancel", "transfer_id": "c1"})
        )
        .await,
        TRANSID_INVALID,
        "only the sender cancels"
    );
    assert_eq!(
        request(
            &mut amy,
            4,
            json!({"op": "transfer_cancel", "transfer_id": "c1"})
        )
        .await,
        0
    );
    assert_eq!(
        next_event(&mut ben).await,
        Event::TransferCancelled {
            transfer_id: "c1".into()
        }
    );
    assert_eq!(
        request(
            &mut amy,
            5,
            json!({"op": "transfer_cancel", "transfer_id": "c1"})
        )
        .await,
        TRANSID_INVALID
    );
    // Chunks in flight after the cancel are dropped; the session goes on.
    send_binary(&mut amy, encode_chunk("c1", 0, b"late")).await;
    send(
        &mut amy,
        json!({"id": 0, "op": "transfer_end", "transfer_id": "c1", "digest": "x"}),
    )
    .await;
    assert_eq!(
        request(
            &mut ben,
            6,
            json!({"op": "transfer_complete", "transfer_id": "c1"})
        )
        .await,
        TRANSID_INVALID
    );
    expect_quiet(&mut ben).await;
    assert_eq!(
        request(&mut amy, 7, json!({"op": "get_user_status"})).await,
        0
    );
    server.shutdown().await;
}

#[tokio::test]
async fn abort_by_either_side() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;

    offered(&mut amy, &mut ben, "ben", "a1").await;
    send(
        &mut ben,
        json!({"id": 0, "op": "transfer_abort", "transfer_id": "a1", "code": 1402}),
    )
    .await;
    assert_eq!(
        next_event(&mut amy).await,
        Event::TransferResult {
            transfer_id: "a1".into(),
            code: 1402
        }
    );

    offered(&mut amy, &mut ben, "ben", "a2").await;
    send(
        &mut amy,
        json!({"id": 0, "op": "transfer_abort", "transfer_id": "a2", "code": 1401}),
    )
    .await;
    assert_eq!(
        next_event(&mut ben).await,
        Event::TransferCancelled {
            transfer_id: "a2".into()
        }
    );
    // Unknown by now: ignored, not answered.
    send(
        &mut amy,
        json!({"id": 0, "op": "transfer_abort", "transfer_id": "a2", "code": 1}),
    )
    .await;
    assert_eq!(
        request(&mut amy, 3, json!({"op": "get_user_status"})).await,
        0
    );
    expect_quiet(&mut ben).await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_party_going_away_ends_its_transfers() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;
    offered(&mut amy, &mut ben, "ben", "r1").await;
    send_binary(&mut amy, encode_chunk("r1", 0, b"some")).await;
    next_binary(&mut ben).await;
    drop(ben);
    assert_eq!(
        next_event(&mut amy).await,
        Event::TransferResult {
            transfer_id: "r1".into(),
            code: TARGET_INVALID
        }
    );

    let mut ben = login(addr, "ben").await;
    offered(&mut amy, &mut ben, "ben", "s1").await;
    // Logging out counts as going away too.
    assert_eq!(request(&mut amy, 3, json!({"op": "logout"})).await, 0);
    assert_eq!(
        next_event(&mut ben).await,
        Event::TransferCancelled {
            transfer_id: "s1".into()
        }
    );
    server.shutdown().await;
}

#[tokio::test]
async fn outsiders_cannot_touch_a_transfer() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;
    let mut eve = login(addr, "eve").await;
    offered(&mut amy, &mut ben, "ben", "x1").await;

    send_binary(&mut eve, encode_chunk("x1", 0, b"evil")).await;
    send(
        &mut eve,
        json!({"id": 0, "op": "transfer_credit", "transfer_id": "x1", "bytes": 1, "received": 0}),
    )
    .await;
    send(
        &mut eve,
        json!({"id": 0, "op": "transfer_end", "transfer_id": "x1", "digest": "x"}),
    )
    .await;
    send(
        &mut eve,
        json!({"id": 0, "op": "transfer_abort", "transfer_id": "x1", "code": 1}),
    )
    .await;
    // One-way messages are not answered, failures included: the next frame is this reply.
    assert_eq!(
        request(
            &mut eve,
            3,
            json!({"op": "transfer_cancel", "transfer_id": "x1"})
        )
        .await,
        TRANSID_INVALID
    );
    assert_eq!(
        request(
            &mut eve,
            4,
            json!({"op": "transfer_complete", "transfer_id": "x1"})
        )
        .await,
        TRANSID_INVALID
    );
    // The sender cannot act as the receiver either.
    send(
        &mut amy,
        json!({"id": 0, "op": "transfer_credit", "transfer_id": "x1", "bytes": 1, "received": 0}),
    )
    .await;
    assert_eq!(
        request(
            &mut amy,
            5,
            json!({"op": "transfer_complete", "transfer_id": "x1"})
        )
        .await,
        TRANSID_INVALID
    );
    expect_quiet(&mut ben).await;
    expect_quiet(&mut amy).await;

    // The transfer still works for its parties.
    send(
        &mut ben,
        json!({"id": 0, "op": "transfer_credit", "transfer_id": "x1", "bytes": 100, "received": 0}),
    )
    .await;
    assert!(matches!(
        next_event(&mut amy).await,
        Event::TransferCredit { bytes: 100, .. }
    ));
    let frame = encode_chunk("x1", 0, b"good");
    send_binary(&mut amy, frame.clone()).await;
    assert!(next_binary(&mut ben).await == frame[..]);
    server.shutdown().await;
}

#[tokio::test]
async fn one_way_messages_with_an_id_are_answered() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "amy").await;
    let mut ben = login(addr, "ben").await;
    offered(&mut amy, &mut ben, "ben", "w1").await;
    let credit = json!({"op": "transfer_credit", "transfer_id": "w1", "bytes": 8, "received": 0});
    assert_eq!(request(&mut ben, 3, credit.clone()).await, 0);
    assert!(matches!(
        next_event(&mut amy).await,
        Event::TransferCredit { bytes: 8, .. }
    ));
    assert_eq!(request(&mut amy, 4, credit).await, TRANSID_INVALID);
    assert_eq!(
        request(&mut ben, 5, json!({"op": "cmd_ack", "relay_id": 12345})).await,
        TRANSID_INVALID
    );
    server.shutdown().await;
}

#[tokio::test]
async fn bad_binary_frames_close_the_session() {
    let server = start().await;
    let addr = server.local_addr();
    let mut early = connect(addr).await;
    hello(&mut early).await;
    send_binary(&mut early, encode_command(1, "x", b"y")).await;
    assert_eq!(
        expect_close(&mut early).await.unwrap().code,
        CloseCode::Policy
    );

    let mut amy = login(addr, "amy").await;
    send_binary(&mut amy, vec![0x07, 1, 2, 3]).await;
    assert_eq!(
        expect_close(&mut amy).await.unwrap().code,
        CloseCode::Policy
    );

    // A text frame over max_frame_bytes still closes with 1009 although binary frames may
    // be larger.
    let mut big = login(addr, "big").await;
    let pad = "x".repeat(MAX_FRAME + 100);
    send(&mut big, json!({"id": 3, "op": "logout", "pad": pad})).await;
    assert_eq!(expect_close(&mut big).await.unwrap().code, CloseCode::Size);
    server.shutdown().await;
}
