//! Connections that do not log in: the time they get, and how many the server holds, per
//! source address and in all, while real logins still get through.

mod support;

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crvideo_server::{Config, Server};
use futures_util::StreamExt;
use support::{connect, connect_from, eventually, login};
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

fn config(tweak: impl FnOnce(&mut Config)) -> Config {
    let mut config = support::config("prelogin");
    tweak(&mut config);
    config
}

#[tokio::test]
async fn a_connection_that_does_not_log_in_is_closed_after_the_login_timeout() {
    let server = Server::start(config(|c| c.limits.login_timeout_ms = 300))
        .await
        .unwrap();
    let addr = server.local_addr();
    // Says hello, then only answers pings.
    let mut idle = connect(addr).await;
    idle.hello().await;
    let started = tokio::time::Instant::now();
    let frame = idle.closed().await.expect("a Close frame");
    assert_eq!(frame.code, CloseCode::Policy);
    assert_eq!(frame.reason, "login timeout");
    assert!(started.elapsed() >= Duration::from_millis(250));
    eventually(|| server.prelogin_connections() == 0).await;
    // A login in time is not affected, and a logged-in session has no such limit.
    let mut user = login(addr, "acme", "amy").await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        user.code(serde_json::json!({"op": "get_user_status"}))
            .await,
        0
    );
}

/// Opens a WebSocket from `from` and keeps answering pings until the server closes it.
/// False if the server refused it before the upgrade.
async fn idle_connection(addr: SocketAddr, from: IpAddr) -> bool {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let Ok(tcp) = socket.connect(addr).await else {
        return false;
    };
    let url = format!("ws://{addr}/crvideo");
    let Ok((mut ws, _)) = tokio_tungstenite::client_async(url, tcp).await else {
        return false;
    };
    tokio::spawn(async move { while let Some(Ok(_)) = ws.next().await {} });
    true
}

#[tokio::test]
async fn thousands_of_idle_connections_do_not_keep_real_logins_out() {
    const TOTAL: usize = 300;
    const PER_ADDRESS: usize = 100;
    let server = Server::start(config(|c| {
        c.limits.max_prelogin_connections = TOTAL;
        c.limits.max_prelogin_per_address = PER_ADDRESS;
        // Long: only the bounds can make room.
        c.limits.login_timeout_ms = 600_000;
        c.heartbeat_ms = 60_000;
    }))
    .await
    .unwrap();
    let addr = server.local_addr();
    // 2,000 connections from 20 addresses that upgrade, then only answer pings.
    let mut opened = 0;
    for i in 0..2_000 {
        let from = IpAddr::from([127, 0, 1, (i % 20) as u8 + 1]);
        if idle_connection(addr, from).await {
            opened += 1;
        }
        assert!(server.prelogin_connections() <= TOTAL);
    }
    assert!(opened > TOTAL, "{opened}: idle ones gave way to newer ones");
    // A real client still logs in, from any address, and at once.
    let mut user = support::bounded(login(addr, "acme", "amy")).await;
    assert_eq!(
        user.code(serde_json::json!({"op": "get_user_status"}))
            .await,
        0
    );
    let mut from_a_busy_address =
        support::bounded(connect_from(addr, IpAddr::from([127, 0, 1, 1]))).await;
    from_a_busy_address.hello().await;
    let reply = from_a_busy_address
        .login_reply("acme", "pw", "ben", "")
        .await;
    assert_eq!(reply.code, 0);
    assert!(server.prelogin_connections() <= TOTAL);
}

#[tokio::test]
async fn one_address_holds_at_most_its_share_of_connections_not_logged_in() {
    let server = Server::start(config(|c| c.limits.max_prelogin_per_address = 5))
        .await
        .unwrap();
    let addr = server.local_addr();
    let from = IpAddr::from([127, 0, 2, 1]);
    for _ in 0..5 {
        assert!(idle_connection(addr, from).await);
    }
    eventually(|| server.prelogin_connections() == 5).await;
    // The sixth is closed before its upgrade; another address is not affected.
    assert!(!idle_connection(addr, from).await);
    assert!(idle_connection(addr, IpAddr::from([127, 0, 2, 2])).await);
    // Others log in as usual, and a logged-in session holds no place.
    let mut amy = login(addr, "acme", "amy").await;
    assert_eq!(
        amy.code(serde_json::json!({"op": "get_user_status"})).await,
        0
    );
    eventually(|| server.prelogin_connections() == 6).await;
}
