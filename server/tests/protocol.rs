//! The wire protocol as a raw WebSocket client sees it.

use std::net::SocketAddr;
use std::time::Duration;

use crvideo_proto::{ErrorCode, Event, HelloOk, LoginOk, Reply, ServerFrame, PROTOCOL_VERSION};
use crvideo_server::{BackgroundServer, Config, Server, TenantConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// argon2id of "pw" with tiny parameters (m=8 KiB, t=1): keeps the tests fast.
const HASH_OF_PW: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0";
/// Same, of "s3cret".
const HASH_OF_S3CRET: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$npVotbvPQ4dPhvFkQko6L661aOqtdkjpUJzLaZXBhpA";

const HEARTBEAT_MS: u64 = 100;
const MAX_FRAME: usize = 4096;
/// Generous bound for anything that should happen "soon".
const PATIENCE: Duration = Duration::from_secs(10);

/// A fresh data directory under cargo's scratch space for integration tests.
fn data_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "protocol-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn test_config() -> Config {
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir(),
        heartbeat_ms: HEARTBEAT_MS,
        max_frame_bytes: MAX_FRAME,
        tenants: vec![
            TenantConfig::with_password_hash("acme", HASH_OF_PW).unwrap(),
            TenantConfig::with_password_hash("globex", HASH_OF_S3CRET).unwrap(),
        ],
        ..Config::default()
    }
}

async fn start() -> Server {
    Server::start(test_config()).await.unwrap()
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

/// The next control frame (pings and pongs skipped).
async fn next_frame(ws: &mut Ws) -> ServerFrame {
    loop {
        let msg = timeout(PATIENCE, ws.next())
            .await
            .expect("no frame in time")
            .expect("connection ended")
            .expect("read failed");
        match msg {
            Message::Text(t) => return crvideo_proto::decode(t.as_str()).unwrap(),
            Message::Ping(_) | Message::Pong(_) => continue,
            other => panic!("unexpected {other:?}"),
        }
    }
}

async fn next_reply(ws: &mut Ws, re: u64) -> Reply {
    match next_frame(ws).await {
        ServerFrame::Reply(r) => {
            assert_eq!(r.re, re);
            r
        }
        other => panic!("expected a reply, got {other:?}"),
    }
}

/// Reads until the server closes: the Close frame, or None if the connection just ended.
async fn expect_close(ws: &mut Ws) -> Option<CloseFrame> {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let next = tokio::time::timeout_at(deadline, ws.next())
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

async fn hello(ws: &mut Ws) -> HelloOk {
    send(
        ws,
        json!({"id": 1, "op": "hello", "version": PROTOCOL_VERSION, "agent": "test"}),
    )
    .await;
    next_reply(ws, 1).await.into_result().unwrap()
}

async fn login_reply(ws: &mut Ws, id: u64, tenant: &str, password: &str, user: &str) -> Reply {
    send(
        ws,
        json!({"id": id, "op": "login", "tenant": tenant, "password": password,
               "nickname": "Nick", "user_id": user}),
    )
    .await;
    next_reply(ws, id).await
}

/// Connects, says hello and logs in to acme; returns the user ID.
async fn logged_in(addr: SocketAddr, user: &str) -> (Ws, String) {
    let mut ws = connect(addr).await;
    hello(&mut ws).await;
    let ok: LoginOk = login_reply(&mut ws, 2, "acme", "pw", user)
        .await
        .into_result()
        .unwrap();
    (ws, ok.user_id)
}

/// Polls `check` until it holds (panics after [`PATIENCE`]).
async fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !check() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn hello_reports_server_settings() {
    let server = start().await;
    let mut ws = connect(server.local_addr()).await;
    let ok = hello(&mut ws).await;
    assert_eq!(ok.version, PROTOCOL_VERSION);
    assert_eq!(ok.heartbeat_ms, HEARTBEAT_MS);
    assert_eq!(ok.max_frame_bytes, MAX_FRAME);
    assert!(ok.server.starts_with("crvideo-server/"), "{}", ok.server);
    server.shutdown().await;
}

#[tokio::test]
async fn hello_with_another_version_is_refused_and_closed() {
    let server = start().await;
    let mut ws = connect(server.local_addr()).await;
    send(
        &mut ws,
        json!({"id": 5, "op": "hello", "version": PROTOCOL_VERSION + 1}),
    )
    .await;
    let reply = next_reply(&mut ws, 5).await;
    assert_eq!(reply.code, ErrorCode::MismatchClientVer.code());
    expect_close(&mut ws).await;
    server.shutdown().await;
}

#[tokio::test]
async fn request_before_hello_closes_the_connection() {
    let server = start().await;
    let mut ws = connect(server.local_addr()).await;
    send(
        &mut ws,
        json!({"id": 1, "op": "login", "tenant": "acme", "password": "pw", "nickname": "", "user_id": "a"}),
    )
    .await;
    let frame = expect_close(&mut ws).await.expect("a Close frame");
    assert_eq!(frame.code, CloseCode::Policy);
    assert!(server.online_users("acme").is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn wrong_password_or_unknown_tenant_is_7_and_the_session_stays_open() {
    let server = start().await;
    let mut ws = connect(server.local_addr()).await;
    hello(&mut ws).await;
    let r = login_reply(&mut ws, 2, "acme", "wrong", "alice").await;
    assert_eq!(r.code, ErrorCode::AcntPswdErr.code());
    let r = login_reply(&mut ws, 3, "nosuchtenant", "pw", "alice").await;
    assert_eq!(r.code, ErrorCode::AcntPswdErr.code());
    // Another tenant's password does not open this one.
    let r = login_reply(&mut ws, 4, "acme", "s3cret", "alice").await;
    assert_eq!(r.code, ErrorCode::AcntPswdErr.code());
    assert!(server.online_users("acme").is_empty());
    // Retry on the same connection works.
    let ok: LoginOk = login_reply(&mut ws, 5, "acme", "pw", "alice")
        .await
        .into_result()
        .unwrap();
    assert_eq!(ok.user_id, "alice");
    assert_eq!(server.online_users("acme"), vec!["alice"]);
    server.shutdown().await;
}

#[tokio::test]
async fn login_success_and_login_state_rules() {
    let server = start().await;
    let addr = server.local_addr();
    let mut ws = connect(addr).await;
    hello(&mut ws).await;
    // Requests other than login before login: NOT_LOGIN, connection stays.
    send(&mut ws, json!({"id": 2, "op": "logout"})).await;
    assert_eq!(
        next_reply(&mut ws, 2).await.code,
        ErrorCode::NotLogin.code()
    );
    // A second hello is a parameter error, not fatal.
    send(
        &mut ws,
        json!({"id": 3, "op": "hello", "version": PROTOCOL_VERSION}),
    )
    .await;
    assert_eq!(
        next_reply(&mut ws, 3).await.code,
        ErrorCode::ParamErr.code()
    );

    let ok: LoginOk = login_reply(&mut ws, 4, "acme", "pw", "alice")
        .await
        .into_result()
        .unwrap();
    assert_eq!(ok.user_id, "alice");
    assert_eq!(server.online_users("acme"), vec!["alice"]);
    // Login again on a logged-in session: LOGINSTATE_ERROR, still logged in.
    let r = login_reply(&mut ws, 5, "acme", "pw", "bob").await;
    assert_eq!(r.code, ErrorCode::LoginStateError.code());
    assert_eq!(server.online_users("acme"), vec!["alice"]);
    server.shutdown().await;
}

#[tokio::test]
async fn bad_user_ids_and_nicknames_are_param_errors() {
    let server = start().await;
    let mut ws = connect(server.local_addr()).await;
    hello(&mut ws).await;
    let long = "x".repeat(65);
    let r = login_reply(&mut ws, 2, "acme", "pw", &long).await;
    assert_eq!(r.code, ErrorCode::ParamErr.code());
    let r = login_reply(&mut ws, 3, "acme", "pw", "bad\nid").await;
    assert_eq!(r.code, ErrorCode::ParamErr.code());
    send(
        &mut ws,
        json!({"id": 4, "op": "login", "tenant": "acme", "password": "pw",
               "nickname": "n".repeat(65), "user_id": "ok"}),
    )
    .await;
    assert_eq!(
        next_reply(&mut ws, 4).await.code,
        ErrorCode::ParamErr.code()
    );
    // 64 bytes is fine.
    let ok: LoginOk = login_reply(&mut ws, 5, "acme", "pw", &"y".repeat(64))
        .await
        .into_result()
        .unwrap();
    assert_eq!(ok.user_id.len(), 64);
    server.shutdown().await;
}

#[tokio::test]
async fn empty_user_id_gets_a_unique_assigned_id() {
    let server = start().await;
    let addr = server.local_addr();
    let (_a, id_a) = logged_in(addr, "").await;
    let (_b, id_b) = logged_in(addr, "").await;
    for id in [&id_a, &id_b] {
        assert!(id.starts_with("usr_") && id.len() == 20, "{id}");
    }
    assert_ne!(id_a, id_b);
    let mut expected = vec![id_a, id_b];
    expected.sort();
    assert_eq!(server.online_users("acme"), expected);
    server.shutdown().await;
}

#[tokio::test]
async fn relogin_kicks_the_older_session() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut old, _) = logged_in(addr, "alice").await;
    let (mut new, _) = logged_in(addr, "alice").await;
    // The new login's reply came after the old session left the directory.
    assert_eq!(server.online_users("acme"), vec!["alice"]);

    assert_eq!(
        next_frame(&mut old).await,
        ServerFrame::Event(Event::Kicked {
            code: ErrorCode::KickoutByRelogin.code()
        })
    );
    let frame = expect_close(&mut old)
        .await
        .expect("a Close frame after kicked");
    assert_eq!(frame.code, CloseCode::Normal);
    drop(old);

    // The old session's cleanup must not remove the new one.
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(server.online_users("acme"), vec!["alice"]);
    let r = login_reply(&mut new, 9, "acme", "pw", "alice").await;
    assert_eq!(
        r.code,
        ErrorCode::LoginStateError.code(),
        "new session is alive"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn tenants_are_isolated() {
    let server = start().await;
    let addr = server.local_addr();
    let (_a, _) = logged_in(addr, "sam").await;
    let mut b = connect(addr).await;
    hello(&mut b).await;
    let r = login_reply(&mut b, 2, "globex", "s3cret", "sam").await;
    assert_eq!(r.code, 0);
    assert_eq!(server.online_users("acme"), vec!["sam"]);
    assert_eq!(server.online_users("globex"), vec!["sam"]);
    server.shutdown().await;
}

#[tokio::test]
async fn logout_replies_closes_and_removes() {
    let server = start().await;
    let (mut ws, _) = logged_in(server.local_addr(), "alice").await;
    send(&mut ws, json!({"id": 3, "op": "logout"})).await;
    assert_eq!(next_reply(&mut ws, 3).await.code, 0);
    let frame = expect_close(&mut ws).await.expect("a Close frame");
    assert_eq!(frame.code, CloseCode::Normal);
    assert!(server.online_users("acme").is_empty());
    server.shutdown().await;
}

#[tokio::test]
async fn client_disconnect_removes_the_user() {
    let server = start().await;
    let (mut ws, _) = logged_in(server.local_addr(), "alice").await;
    ws.close(None).await.unwrap();
    drop(ws);
    wait_until("alice is offline", || {
        server.online_users("acme").is_empty()
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn malformed_json_closes_only_that_session() {
    let server = start().await;
    let addr = server.local_addr();
    let (_other, _) = logged_in(addr, "bob").await;
    let (mut bad, _) = logged_in(addr, "mallory").await;
    bad.send(Message::text("{not json")).await.unwrap();
    let frame = expect_close(&mut bad).await.expect("a Close frame");
    assert_eq!(frame.code, CloseCode::Invalid);
    wait_until("mallory is offline", || {
        server.online_users("acme") == vec!["bob".to_string()]
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn unknown_request_and_binary_frames_close_the_session() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut a, _) = logged_in(addr, "a").await;
    send(&mut a, json!({"id": 3, "op": "no_such_op"})).await;
    assert_eq!(expect_close(&mut a).await.unwrap().code, CloseCode::Policy);

    let (mut b, _) = logged_in(addr, "b").await;
    b.send(Message::binary(vec![1u8, 2, 3])).await.unwrap();
    assert_eq!(expect_close(&mut b).await.unwrap().code, CloseCode::Policy);
    wait_until("both offline", || server.online_users("acme").is_empty()).await;
    server.shutdown().await;
}

#[tokio::test]
async fn oversized_frame_closes_the_session_with_1009() {
    let server = start().await;
    let addr = server.local_addr();
    let (_other, _) = logged_in(addr, "bob").await;
    let (mut big, _) = logged_in(addr, "big").await;
    let padding = "x".repeat(MAX_FRAME + 100);
    send(&mut big, json!({"id": 3, "op": "logout", "pad": padding})).await;
    let frame = expect_close(&mut big).await.expect("a Close frame");
    assert_eq!(frame.code, CloseCode::Size);
    wait_until("big is offline", || {
        server.online_users("acme") == vec!["bob".to_string()]
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn silent_client_is_dropped_after_three_heartbeats() {
    let server = start().await;
    let addr = server.local_addr();
    let (_silent, _) = logged_in(addr, "silent").await;
    let (mut alive, _) = logged_in(addr, "alive").await;
    let started = Instant::now();
    // `alive` keeps reading (its client library answers pings while reading); `silent` is
    // never polled again, so it never answers.
    let deadline = started + PATIENCE;
    while server.online_users("acme").contains(&"silent".to_string()) {
        assert!(Instant::now() < deadline, "silent client never dropped");
        if let Ok(Some(msg)) = timeout(Duration::from_millis(10), alive.next()).await {
            assert!(matches!(msg.unwrap(), Message::Ping(_)));
        }
    }
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(HEARTBEAT_MS * 2),
        "dropped too early: {elapsed:?}"
    );
    // `alive` survives well past the dead-peer limit while it keeps answering.
    let until = Instant::now() + Duration::from_millis(HEARTBEAT_MS * 5);
    while Instant::now() < until {
        if let Ok(Some(msg)) = timeout(Duration::from_millis(10), alive.next()).await {
            assert!(matches!(msg.unwrap(), Message::Ping(_)));
        }
    }
    assert_eq!(server.online_users("acme"), vec!["alive"]);
    server.shutdown().await;
}

#[tokio::test]
async fn server_answers_client_pings() {
    let server = start().await;
    let (mut ws, _) = logged_in(server.local_addr(), "pinger").await;
    ws.send(Message::Ping(b"are you there".to_vec().into()))
        .await
        .unwrap();
    let deadline = Instant::now() + PATIENCE;
    loop {
        let msg = tokio::time::timeout_at(deadline, ws.next())
            .await
            .expect("no pong")
            .unwrap()
            .unwrap();
        if let Message::Pong(payload) = msg {
            assert_eq!(&payload[..], b"are you there");
            break;
        }
    }
    server.shutdown().await;
}

#[tokio::test]
async fn other_paths_are_404() {
    let server = start().await;
    let err = tokio_tungstenite::connect_async(format!("ws://{}/other", server.local_addr()))
        .await
        .unwrap_err();
    match err {
        tokio_tungstenite::tungstenite::Error::Http(resp) => assert_eq!(resp.status(), 404),
        other => panic!("expected an HTTP 404, got {other:?}"),
    }
    server.shutdown().await;
}

#[tokio::test]
async fn shutdown_closes_every_client_with_a_close_frame() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut a, _) = logged_in(addr, "a").await;
    let mut b = connect(addr).await; // not logged in yet
    hello(&mut b).await;
    let readers = tokio::spawn(async move {
        let fa = expect_close(&mut a).await;
        let fb = expect_close(&mut b).await;
        (fa, fb)
    });
    server.shutdown().await;
    let (fa, fb) = readers.await.unwrap();
    for frame in [fa, fb] {
        let frame = frame.expect("a Close frame");
        assert_eq!(frame.code, CloseCode::Away);
        assert_eq!(frame.reason.as_str(), "server shutting down");
    }
    // No longer accepting.
    assert!(TcpStream::connect(addr).await.is_err());
}

#[test]
fn background_server_for_synchronous_tests() {
    let server = BackgroundServer::start(test_config()).unwrap();
    let addr = server.addr();
    assert_ne!(addr.port(), 0);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut ws = rt.block_on(async { logged_in(addr, "carol").await.0 });
    assert_eq!(server.online_users("acme"), vec!["carol"]);
    let closed = rt.block_on(async move {
        let reader = tokio::spawn(async move { expect_close(&mut ws).await });
        tokio::task::spawn_blocking(move || server.stop())
            .await
            .unwrap();
        reader.await.unwrap()
    });
    assert_eq!(closed.expect("a Close frame").code, CloseCode::Away);
}

#[test]
fn background_server_stops_when_dropped() {
    let server = BackgroundServer::start(test_config()).unwrap();
    let addr = server.addr();
    drop(server);
    assert!(std::net::TcpStream::connect(addr).is_err());
}

#[test]
fn bind_failure_is_an_error() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let config = Config {
        listen: taken.local_addr().unwrap().to_string(),
        ..test_config()
    };
    assert!(BackgroundServer::start(config).is_err());
}

/// The login backoff makes the server wait longer than the heartbeat's dead time
/// (3 x 100 ms): the client, which had nothing to answer meanwhile, must not be dropped.
#[tokio::test]
async fn a_login_delayed_longer_than_the_heartbeat_keeps_the_session() {
    let mut config = test_config();
    config.limits.login_backoff_base_ms = 1000;
    config.limits.login_backoff_max_ms = 1000;
    let server = Server::start(config).await.unwrap();
    let mut ws = connect(server.local_addr()).await;
    hello(&mut ws).await;
    let r = login_reply(&mut ws, 2, "acme", "wrong", "alice").await;
    assert_eq!(r.code, ErrorCode::AcntPswdErr.code());
    // Delayed by a second, refused again; the connection stays.
    let r = login_reply(&mut ws, 3, "acme", "wrong", "alice").await;
    assert_eq!(r.code, ErrorCode::AcntPswdErr.code());
    let ok: LoginOk = login_reply(&mut ws, 4, "acme", "pw", "alice")
        .await
        .into_result()
        .unwrap();
    assert_eq!(ok.user_id, "alice");
    server.shutdown().await;
}
