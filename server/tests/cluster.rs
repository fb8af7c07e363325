//! Cluster mode through raw clients: nodes on one real `redis-server` (started by the test),
//! users on different nodes. Needs redis-server (`apt-get install -y redis-server`), so the
//! tests that use it are ignored by default: `cargo test -p crvideo-server --test cluster
//! -- --ignored` (CI runs them). Start-up failures need no Redis and always run.

mod support;

use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;

use crvideo_proto::data::{decode_data, encode_command, AudioFrame, DataFrame};
use crvideo_proto::{
    ErrorCode, Event, MeetInfo, MeetingList, RoomState, ServerFrame, USER_BUSY, USER_IDLE,
    USER_OFFLINE,
};
use crvideo_server::{ClusterConfig, Server};
use crvideo_testkit::engines::{
    free_port, Postgres, Redis, SeaweedFs, S3_ACCESS_KEY, S3_SECRET_KEY,
};
use serde_json::json;
use support::{config, login, Client, HASH_OF_PW, PATIENCE};
use tokio::time::{timeout, Instant};

const HEARTBEAT_MS: u64 = 200;

async fn node(redis: &Redis, id: &str) -> Server {
    node_on(redis, id, None).await
}

/// A node whose durable store is PostgreSQL at `database_url` (SQLite of its own if None).
async fn node_on(redis: &Redis, id: &str, database_url: Option<String>) -> Server {
    let mut config = config(&format!("cluster-{id}"));
    config.database_url = database_url;
    config.heartbeat_ms = HEARTBEAT_MS;
    config.call_timeout_secs = 2;
    config.cluster = Some(ClusterConfig {
        redis_url: redis.url(),
        node_id: id.into(),
        advertise: "127.0.0.1:1".into(),
        link_listen: None,
    });
    Server::start(config).await.unwrap()
}

/// A redis-server and `N` nodes on it, `n1`…
async fn cluster<const N: usize>() -> (Redis, [Server; N]) {
    let redis = Redis::start();
    let mut nodes = Vec::with_capacity(N);
    for i in 1..=N {
        nodes.push(node(&redis, &format!("n{i}")).await);
    }
    let nodes = nodes.try_into().unwrap_or_else(|_| unreachable!("N nodes"));
    (redis, nodes)
}

/// The next presence change `c` hears about `user`, skipping others.
async fn status_of(c: &mut Client, user: &str) -> i32 {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let event = timeout(deadline - Instant::now(), c.event())
            .await
            .unwrap_or_else(|_| panic!("no presence change of {user}"));
        if let Event::UserStatus(s) = event {
            if s.user_id == user {
                return s.status;
            }
        }
    }
}

/// Waits until `c`'s presence list shows `user` with `status` (offline: absent).
async fn listed_as(c: &mut Client, user: &str, status: i32) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let reply = c.request(json!({"op": "get_user_status"})).await;
        let users = reply.data["users"].as_array().cloned().unwrap_or_default();
        let found = users
            .iter()
            .find(|u| u["userID"] == user)
            .map(|u| u["userStatus"].as_i64().unwrap() as i32)
            .unwrap_or(USER_OFFLINE);
        if found == status {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{user} not listed as {status}: {users:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Reads a relayed command: (relay id, source, payload).
async fn command(c: &mut Client) -> (u64, String, Vec<u8>) {
    let frame = c.binary().await;
    match decode_data(&frame).unwrap() {
        DataFrame::Command { id, peer, payload } => (id, peer.to_owned(), payload.to_vec()),
        other => panic!("expected a command, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn presence_and_commands_cross_nodes() {
    let (_redis, [n1, n2]) = cluster().await;
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    assert_eq!(amy.code(json!({"op": "subscribe_status"})).await, 0);

    // A login on the other node is seen here, in the list and as an event.
    let mut ben = login(n2.local_addr(), "acme", "ben").await;
    assert_eq!(status_of(&mut amy, "ben").await, USER_IDLE);
    listed_as(&mut amy, "ben", USER_IDLE).await;
    // Other tenants see nothing of it.
    let mut gus = login(n1.local_addr(), "globex", "ben").await;
    listed_as(&mut gus, "amy", USER_OFFLINE).await;

    // A command crosses the nodes and is answered once the target acknowledged it.
    let payload: Vec<u8> = (0..1000u32).map(|i| (i * 7) as u8).collect();
    amy.send_binary(encode_command(5, "ben", &payload)).await;
    let (relay_id, source, got) = command(&mut ben).await;
    assert_eq!((source.as_str(), got), ("amy", payload.clone()));
    ben.send(json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}))
        .await;
    assert_eq!(amy.reply_to(5).await.code, 0);
    // And back the other way.
    ben.send_binary(encode_command(6, "amy", b"pong")).await;
    let (relay_id, source, got) = command(&mut amy).await;
    assert_eq!(
        (source.as_str(), got.as_slice()),
        ("ben", b"pong".as_slice())
    );
    amy.send(json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}))
        .await;
    assert_eq!(ben.reply_to(6).await.code, 0);

    // A command to a user online nowhere is refused at once.
    amy.send_binary(encode_command(7, "nobody", b"x")).await;
    assert_eq!(
        amy.reply_to(7).await.code,
        ErrorCode::SendDataTargetInvalid as i32
    );

    // DND set on the other node reaches this one.
    assert_eq!(ben.code(json!({"op": "set_dnd", "dnd": 1})).await, 0);
    let deadline = Instant::now() + PATIENCE;
    loop {
        if let Event::UserStatus(s) = amy.event().await {
            if s.user_id == "ben" && s.dnd == 1 {
                break;
            }
        }
        assert!(Instant::now() < deadline);
    }

    // Logging out on the other node: offline here.
    assert_eq!(ben.code(json!({"op": "logout"})).await, 0);
    assert_eq!(status_of(&mut amy, "ben").await, USER_OFFLINE);
    listed_as(&mut amy, "ben", USER_OFFLINE).await;
    // Known here though he only ever logged in on the other node: a call to him is refused
    // as offline, one to a user never seen as not found.
    let call = |callee: &str| {
        json!({"op": "call", "call_id": format!("to-{callee}"), "callee": callee,
               "meet_obj": "", "usr_ext_dat": ""})
    };
    assert_eq!(amy.code(call("ben")).await, ErrorCode::ErrOffline as i32);
    assert_eq!(
        amy.code(call("nobody")).await,
        ErrorCode::ErrUserNotFound as i32
    );
    drop(gus);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn a_relogin_on_another_node_kicks_the_first_session() {
    let (_redis, [n1, n2, n3]) = cluster().await;
    let mut amy = login(n3.local_addr(), "acme", "amy").await;
    let mut first = login(n1.local_addr(), "acme", "ben").await;
    listed_as(&mut amy, "ben", USER_IDLE).await;

    let mut second = login(n2.local_addr(), "acme", "ben").await;
    // The first session is told why and closed.
    let deadline = Instant::now() + PATIENCE;
    loop {
        match timeout(deadline - Instant::now(), first.next_frame(PATIENCE)).await {
            Ok(Ok(ServerFrame::Event(Event::Kicked { code }))) => {
                assert_eq!(code, ErrorCode::KickoutByRelogin as i32);
                break;
            }
            Ok(Ok(_)) => continue,
            other => panic!("the first session was not kicked: {other:?}"),
        }
    }
    assert!(first.closed().await.is_some());

    // Ben stays online (the second session) for everyone, and commands reach the second.
    listed_as(&mut amy, "ben", USER_IDLE).await;
    amy.send_binary(encode_command(9, "ben", b"hi")).await;
    let (relay_id, _, got) = command(&mut second).await;
    assert_eq!(got, b"hi");
    second
        .send(json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}))
        .await;
    assert_eq!(amy.reply_to(9).await.code, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn assigned_ids_are_unique_across_nodes() {
    let (_redis, [n1, n2]) = cluster().await;
    let mut seen = std::collections::HashSet::new();
    let mut clients = Vec::new();
    for i in 0..20 {
        let addr = if i % 2 == 0 {
            n1.local_addr()
        } else {
            n2.local_addr()
        };
        let mut c = support::connect(addr).await;
        c.hello().await;
        let reply = c.login_reply("acme", "pw", "", "").await;
        assert_eq!(reply.code, 0);
        let id = reply.data["user_id"].as_str().unwrap().to_owned();
        assert!(seen.insert(id.clone()), "{id} assigned twice");
        clients.push(c);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn calls_ring_answer_and_end_across_nodes() {
    let (_redis, [n1, n2, n3]) = cluster().await;
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    let mut ben = login(n2.local_addr(), "acme", "ben").await;
    let mut cal = login(n3.local_addr(), "acme", "cal").await;
    listed_as(&mut amy, "ben", USER_IDLE).await;
    listed_as(&mut amy, "cal", USER_IDLE).await;
    listed_as(&mut cal, "ben", USER_IDLE).await;

    // Amy (n1) calls ben (n2); ben accepts on his node.
    let call = json!({"op": "call", "call_id": "c1", "callee": "ben", "meet_obj": "m",
                      "usr_ext_dat": "hi"});
    assert_eq!(amy.code(call).await, 0);
    assert!(
        matches!(ben.event().await, Event::CallIn { call_id, caller, .. }
        if call_id == "c1" && caller == "amy")
    );
    assert_eq!(
        ben.code(
            json!({"op": "accept_call", "call_id": "c1", "meet_obj": "m", "usr_ext_dat": "ok"})
        )
        .await,
        0
    );
    assert!(
        matches!(amy.event().await, Event::CallAccepted { call_id, usr_ext_dat, .. }
        if call_id == "c1" && usr_ext_dat == "ok")
    );
    // Both are busy for a third node's user, whose call to ben is refused as busy.
    listed_as(&mut cal, "ben", USER_BUSY).await;
    listed_as(&mut cal, "amy", USER_BUSY).await;
    let busy = json!({"op": "call", "call_id": "c2", "callee": "ben", "meet_obj": "",
                      "usr_ext_dat": ""});
    assert_eq!(cal.code(busy).await, ErrorCode::ErrBusy as i32);

    // Ben hangs up on his node: amy hears it, both idle again everywhere.
    assert_eq!(
        ben.code(json!({"op": "hangup_call", "call_id": "c1", "usr_ext_dat": "bye"}))
            .await,
        0
    );
    assert!(
        matches!(amy.event().await, Event::CallHungup { call_id, usr_ext_dat }
        if call_id == "c1" && usr_ext_dat == "bye")
    );
    listed_as(&mut cal, "ben", USER_IDLE).await;
    listed_as(&mut cal, "amy", USER_IDLE).await;
    // Over: hanging up again is refused, on either node.
    let again = json!({"op": "hangup_call", "call_id": "c1", "usr_ext_dat": ""});
    assert_eq!(
        ben.code(again.clone()).await,
        ErrorCode::InvalidCallId as i32
    );
    assert_eq!(amy.code(again).await, ErrorCode::InvalidCallId as i32);

    // Cal (n3) calls amy (n1), who rejects it on her node.
    let call = json!({"op": "call", "call_id": "c3", "callee": "amy", "meet_obj": "",
                      "usr_ext_dat": ""});
    assert_eq!(cal.code(call).await, 0);
    assert!(matches!(amy.event().await, Event::CallIn { call_id, .. } if call_id == "c3"));
    assert_eq!(
        amy.code(json!({"op": "reject_call", "call_id": "c3", "usr_ext_dat": "later"}))
            .await,
        0
    );
    assert!(
        matches!(cal.event().await, Event::CallRejected { call_id, code, .. }
        if call_id == "c3" && code == ErrorCode::ErrRefuse as i32)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn a_transfer_crosses_nodes_byte_exact() {
    use crvideo_proto::data::encode_chunk;
    let (_redis, [n1, n2]) = cluster().await;
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    let mut ben = login(n2.local_addr(), "acme", "ben").await;
    listed_as(&mut amy, "ben", USER_IDLE).await;

    let chunks: Vec<Vec<u8>> = (0..8u8)
        .map(|k| {
            (0..3000u32)
                .map(|i| (i as u8).wrapping_mul(31) ^ k)
                .collect()
        })
        .collect();
    let total: usize = chunks.iter().map(Vec::len).sum();
    let offer = json!({"op": "transfer_offer", "transfer_id": "t1", "target": "ben",
                       "kind": "file", "name": "a.bin", "total": total});
    assert_eq!(amy.code(offer).await, 0);
    assert!(
        matches!(ben.event().await, Event::TransferOffered { transfer_id, source, .. }
        if transfer_id == "t1" && source == "amy")
    );
    // The receiver's credit is served by the sender's node.
    ben.send(
        json!({"id": 0, "op": "transfer_credit", "transfer_id": "t1",
                    "bytes": 1 << 20, "received": 0}),
    )
    .await;
    assert!(matches!(amy.event().await, Event::TransferCredit { bytes, .. } if bytes == 1 << 20));
    let mut offset = 0u64;
    let mut sent = Vec::new();
    for chunk in &chunks {
        let frame = encode_chunk("t1", offset, chunk);
        amy.send_binary(frame.clone()).await;
        sent.push(frame);
        offset += chunk.len() as u64;
    }
    amy.send(json!({"id": 0, "op": "transfer_end", "transfer_id": "t1", "digest": "d1"}))
        .await;
    for frame in &sent {
        assert!(
            ben.binary().await == frame[..],
            "chunk relayed unchanged, in order"
        );
    }
    assert!(
        matches!(ben.event().await, Event::TransferEnd { transfer_id, digest }
        if transfer_id == "t1" && digest == "d1")
    );
    assert_eq!(
        ben.code(json!({"op": "transfer_complete", "transfer_id": "t1"}))
            .await,
        0
    );
    assert!(
        matches!(amy.event().await, Event::TransferResult { transfer_id, code }
        if transfer_id == "t1" && code == 0)
    );
    assert_eq!(
        ben.code(json!({"op": "transfer_complete", "transfer_id": "t1"}))
            .await,
        ErrorCode::TransIdInvalid as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn tenants_stay_apart_across_nodes() {
    let (_redis, [n1, n2]) = cluster().await;
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    assert_eq!(amy.code(json!({"op": "subscribe_status"})).await, 0);
    let _ben = login(n2.local_addr(), "acme", "ben").await;
    assert_eq!(status_of(&mut amy, "ben").await, USER_IDLE);

    // The same user ID in another tenant, on the other node: no kick, no presence.
    let mut other_amy = login(n2.local_addr(), "globex", "amy").await;
    let mut gus = login(n1.local_addr(), "globex", "gus").await;
    listed_as(&mut other_amy, "gus", USER_IDLE).await;
    listed_as(&mut other_amy, "ben", USER_OFFLINE).await;
    listed_as(&mut gus, "amy", USER_IDLE).await; // globex's amy
    assert_eq!(amy.code(json!({"op": "get_user_status"})).await, 0);
    listed_as(&mut amy, "gus", USER_OFFLINE).await;
    // Nothing of globex reached acme's subscriber; acme's amy was not kicked.
    nothing_of_globex(&mut amy).await;
    // A command from globex to acme's ben finds no one.
    gus.send_binary(encode_command(4, "ben", b"x")).await;
    assert_eq!(
        gus.reply_to(4).await.code,
        ErrorCode::SendDataTargetInvalid as i32
    );
    // A call neither.
    let call = json!({"op": "call", "call_id": "x", "callee": "ben", "meet_obj": "",
                      "usr_ext_dat": ""});
    assert_ne!(gus.code(call).await, 0);
    nothing_of_globex(&mut amy).await;
}

/// Watches acme's `amy` for a while: no kick, and no presence of globex's `gus` or `amy`
/// (ben, who does not read, may go offline meanwhile: his heartbeats go unanswered).
async fn nothing_of_globex(amy: &mut Client) {
    let until = Instant::now() + support::QUIET;
    while let Ok(event) = tokio::time::timeout_at(until, amy.event()).await {
        match event {
            Event::UserStatus(s) if s.user_id == "ben" => {}
            other => panic!("acme's amy heard {other:?}"),
        }
    }
}

/// A node as its own process (so that it can be killed), on `redis`.
struct Process {
    child: std::process::Child,
    addr: SocketAddr,
}

impl Process {
    fn start(redis_url: &str, id: &str) -> Process {
        let dir = support::data_dir(&format!("cluster-proc-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        let port = free_port();
        let config = dir.join("server.toml");
        std::fs::write(
            &config,
            format!(
                "listen = \"127.0.0.1:{port}\"\ndata_dir = {dir:?}\nheartbeat_ms = {HEARTBEAT_MS}\n\
                 [cluster]\nredis_url = \"{redis_url}\"\nnode_id = \"{id}\"\n\
                 [[tenants]]\naccount = \"acme\"\npassword_hash = \"{HASH_OF_PW}\"\n"
            ),
        )
        .unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_crvideo-server"))
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap();
        // It prints "listening on ADDR" once it serves.
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.as_mut().unwrap()),
            &mut line,
        )
        .unwrap();
        assert!(
            line.starts_with("listening on"),
            "node {id} printed {line:?}"
        );
        Process {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn a_killed_nodes_users_go_offline_and_their_calls_end() {
    let redis = Redis::start();
    let n1 = node(&redis, "n1").await;
    let mut doomed = Process::start(&redis.url(), "doomed");
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    assert_eq!(amy.code(json!({"op": "subscribe_status"})).await, 0);
    let _ben = login(doomed.addr, "acme", "ben").await;
    assert_eq!(status_of(&mut amy, "ben").await, USER_IDLE);

    // Amy calls ben (the call is homed on amy's node): ben is busy for everyone.
    let call = json!({"op": "call", "call_id": "c1", "callee": "ben", "meet_obj": "",
                      "usr_ext_dat": ""});
    assert_eq!(amy.code(call).await, 0);
    assert_eq!(status_of(&mut amy, "ben").await, USER_BUSY);

    // And offers him a file (the transfer is homed on amy's node too).
    let offer = json!({"op": "transfer_offer", "transfer_id": "t1", "target": "ben",
                       "kind": "file", "name": "a.bin", "total": 1000});
    assert_eq!(amy.code(offer).await, 0);

    // kill -9: within three heartbeats (and one of slack) ben is offline for amy, her
    // ringing call ends and her transfer fails with a code.
    let killed = Instant::now();
    doomed.kill();
    let (mut offline, mut hung_up, mut failed) = (false, false, false);
    while !(offline && hung_up && failed) {
        match timeout(PATIENCE, amy.event())
            .await
            .expect("ben's end not seen")
        {
            Event::UserStatus(s) if s.user_id == "ben" && s.status == USER_OFFLINE => {
                let took = killed.elapsed();
                assert!(
                    took < Duration::from_millis(HEARTBEAT_MS * 4),
                    "ben offline only after {took:?}"
                );
                offline = true;
            }
            Event::CallHungup { call_id, .. } => {
                assert_eq!(call_id, "c1");
                hung_up = true;
            }
            Event::TransferResult { transfer_id, code } => {
                assert_eq!(transfer_id, "t1");
                assert_ne!(code, 0, "a transfer to a dead node cannot have succeeded");
                failed = true;
            }
            _ => {}
        }
    }
    listed_as(&mut amy, "ben", USER_OFFLINE).await;
    // A fresh login of ben on the surviving node works.
    let _ben = login(n1.local_addr(), "acme", "ben").await;
    assert_eq!(status_of(&mut amy, "ben").await, USER_IDLE);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn after_a_redis_restart_the_nodes_heal_by_themselves() {
    let (mut redis, [n1, n2]) = cluster().await;
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    let mut ben = login(n2.local_addr(), "acme", "ben").await;
    listed_as(&mut amy, "ben", USER_IDLE).await;

    // Redis loses everything; the nodes reconnect and announce their users again.
    redis.restart();
    let carl = login(n2.local_addr(), "acme", "carl").await;
    listed_as(&mut amy, "carl", USER_IDLE).await;
    listed_as(&mut amy, "ben", USER_IDLE).await;
    listed_as(&mut ben, "amy", USER_IDLE).await;
    amy.send_binary(encode_command(3, "ben", b"still there?"))
        .await;
    let (relay_id, _, _) = command(&mut ben).await;
    ben.send(json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}))
        .await;
    assert_eq!(amy.reply_to(3).await.code, 0);
    drop(carl);
}

async fn create_meeting(c: &mut Client, subject: &str) -> Result<MeetInfo, i32> {
    let reply = c
        .request(json!({"op": "create_meeting", "subject": subject, "with_password": true}))
        .await;
    if reply.code != 0 {
        return Err(reply.code);
    }
    Ok(reply.into_result().unwrap())
}

async fn meetings(c: &mut Client) -> Result<Vec<MeetInfo>, i32> {
    let reply = c.request(json!({"op": "get_meetings"})).await;
    if reply.code != 0 {
        return Err(reply.code);
    }
    Ok(reply.into_result::<MeetingList>().unwrap().meetings)
}

/// Nodes on one PostgreSQL: a meeting created on one node is listed, entered and guarded
/// on the others; with PostgreSQL down, what needs it fails with a code while logins,
/// presence and commands go on; once it is back, everything acknowledged is there.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and PostgreSQL"]
async fn meetings_live_in_postgres_shared_by_the_nodes() {
    let redis = Redis::start();
    let mut pg = Postgres::start();
    let n1 = node_on(&redis, "n1", Some(pg.url())).await;
    let n2 = node_on(&redis, "n2", Some(pg.url())).await;
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    let mut ben = login(n2.local_addr(), "acme", "ben").await;

    let m = create_meeting(&mut amy, "shared").await.unwrap();
    let listed = meetings(&mut ben).await.unwrap();
    assert_eq!(listed.iter().map(|x| x.id).collect::<Vec<_>>(), [m.id]);
    assert_eq!(listed[0].subject, "shared");
    // Guarded everywhere: the password, and only its creator destroys it.
    let wrong = ben
        .request(json!({"op": "enter_meeting", "meet_id": m.id, "pswd": "nope"}))
        .await;
    assert_eq!(wrong.code, ErrorCode::AuthError as i32);
    let destroy = json!({"op": "destroy_meeting", "meet_id": m.id});
    assert_eq!(
        ben.code(destroy.clone()).await,
        ErrorCode::ApiNoPermission as i32
    );
    // Another tenant does not see it from any node.
    let mut gus = login(n2.local_addr(), "globex", "gus").await;
    assert_eq!(meetings(&mut gus).await.unwrap(), []);

    // PostgreSQL down: a code, promptly; the live features keep working.
    pg.kill();
    let server_exception = ErrorCode::ServerException as i32;
    assert_eq!(
        create_meeting(&mut amy, "lost").await,
        Err(server_exception)
    );
    assert_eq!(meetings(&mut ben).await, Err(server_exception));
    let mut cat = login(n2.local_addr(), "acme", "cat").await;
    listed_as(&mut amy, "cat", USER_IDLE).await;
    cat.send_binary(encode_command(9, "amy", b"still here"))
        .await;
    let (relay_id, source, got) = command(&mut amy).await;
    assert_eq!(
        (source.as_str(), got.as_slice()),
        ("cat", b"still here".as_slice())
    );
    amy.send(json!({"id": 0, "op": "cmd_ack", "relay_id": relay_id}))
        .await;
    assert_eq!(cat.reply_to(9).await.code, 0);

    // Back: the pool reconnects by itself; what was acknowledged is there, nothing else.
    pg.restart();
    let second = create_meeting(&mut ben, "after").await.unwrap();
    let ids: Vec<i32> = meetings(&mut amy)
        .await
        .unwrap()
        .iter()
        .map(|x| x.id)
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert!(ids.contains(&m.id) && ids.contains(&second.id));
    assert_eq!(amy.code(destroy).await, 0);
    assert_eq!(
        meetings(&mut ben)
            .await
            .unwrap()
            .iter()
            .map(|x| x.id)
            .collect::<Vec<_>>(),
        [second.id]
    );
}

/// A forwarded request waiting for PostgreSQL holds up no other: with PostgreSQL hanging,
/// ben's entry (node 2) into a room homed on node 1 waits there for the meeting's lookup,
/// while cat's room request, forwarded over the same link after it, is answered; once
/// PostgreSQL answers again, ben is in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and PostgreSQL"]
async fn a_request_waiting_for_postgres_holds_up_no_other() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let n1 = node_on(&redis, "n1", Some(pg.url())).await;
    let n2 = node_on(&redis, "n2", Some(pg.url())).await;
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    let mut ben = login(n2.local_addr(), "acme", "ben").await;
    let mut cat = login(n2.local_addr(), "acme", "cat").await;
    let m = create_meeting(&mut amy, "waits").await.unwrap();
    assert_eq!(names(&enter(&mut amy, &m).await), ["amy"]);
    assert_eq!(names(&enter(&mut cat, &m).await), ["amy", "cat"]);

    pg.pause();
    let entry = 900;
    ben.send(json!({"id": entry, "op": "enter_meeting", "meet_id": m.id, "pswd": m.pswd}))
        .await;
    // Answered after his node handled the entry (it handles his requests in order): so the
    // entry went on the link to node 1 before cat's request below.
    assert_eq!(ben.code(json!({"op": "set_dnd", "dnd": 0})).await, 0);
    let open = json!({"op": "set_media", "user_id": "cat", "kind": "audio", "status": 3});
    assert_eq!(cat.code(open).await, 0);
    pg.resume();
    let reply = ben.reply_to(entry).await;
    let state: RoomState = reply
        .into_result()
        .expect("entered once PostgreSQL answered");
    assert_eq!(names(&state), ["amy", "cat", "ben"]);
    drop((n1, n2));
}

async fn enter(c: &mut Client, m: &MeetInfo) -> RoomState {
    let reply = c
        .request(json!({"op": "enter_meeting", "meet_id": m.id, "pswd": m.pswd}))
        .await;
    reply.into_result().expect("entered")
}

fn names(state: &RoomState) -> Vec<&str> {
    state.members.iter().map(|m| m.user_id.as_str()).collect()
}

/// The next event `c` gets that is not a presence change.
async fn room_event(c: &mut Client) -> Event {
    loop {
        match c.event().await {
            Event::UserStatus(_) => continue,
            event => return event,
        }
    }
}

fn entered(event: Event) -> String {
    match event {
        Event::MemberEntered(m) => m.user_id,
        other => panic!("expected MemberEntered, got {other:?}"),
    }
}

/// Waits until `c`'s meeting list shows `count` members in meeting `id` (a room's home
/// records its count in Redis as it changes; the list reads it there).
async fn members_listed(c: &mut Client, id: i32, count: i32) {
    let deadline = Instant::now() + PATIENCE;
    loop {
        let listed = meetings(c).await.unwrap();
        let found = listed.iter().find(|m| m.id == id).map(|m| m.member_count);
        if found == Some(count) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "members of {id}: {found:?}, not {count}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn mic_packet(seq: u32, payload: &[u8]) -> Vec<u8> {
    AudioFrame {
        level: 5,
        seq,
        time_ms: 20,
        user: "",
        media: false,
        payload,
    }
    .encode()
}

/// (speaker, seq) of a relayed audio frame.
fn heard(frame: &[u8]) -> (String, u32) {
    match decode_data(frame).unwrap() {
        DataFrame::Audio(a) => (a.user.to_owned(), a.seq),
        other => panic!("expected audio, got {other:?}"),
    }
}

/// A room with members on three nodes: entering, media status, audio, IM and leaving cross
/// the nodes (the room lives on the node the first member entered through); when that node
/// goes away the others' members get MeetingDropped, and entering again opens the room on
/// a surviving node; destroying the meeting from any node stops it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server and PostgreSQL"]
async fn a_room_spans_nodes_and_is_dropped_with_its_home() {
    let redis = Redis::start();
    let pg = Postgres::start();
    let n1 = node_on(&redis, "n1", Some(pg.url())).await;
    let n2 = node_on(&redis, "n2", Some(pg.url())).await;
    let n3 = node_on(&redis, "n3", Some(pg.url())).await;
    let mut amy = login(n1.local_addr(), "acme", "amy").await;
    let mut ben = login(n2.local_addr(), "acme", "ben").await;
    let mut cat = login(n3.local_addr(), "acme", "cat").await;
    let m = create_meeting(&mut ben, "spread").await.unwrap();

    // amy enters first, through node 1: its home. ben and cat enter through theirs.
    assert_eq!(names(&enter(&mut amy, &m).await), ["amy"]);
    let state = enter(&mut ben, &m).await;
    assert_eq!(
        (names(&state), state.creator.as_str()),
        (vec!["amy", "ben"], "ben")
    );
    assert_eq!(entered(room_event(&mut amy).await), "ben");
    assert_eq!(names(&enter(&mut cat, &m).await), ["amy", "ben", "cat"]);
    assert_eq!(entered(room_event(&mut amy).await), "cat");
    assert_eq!(entered(room_event(&mut ben).await), "cat");
    // Every node's meeting list counts the members of the room on node 1.
    members_listed(&mut cat, m.id, 3).await;
    // In at most one room: entering again is refused, wherever the room lives.
    let again = ben
        .request(json!({"op": "enter_meeting", "meet_id": m.id, "pswd": m.pswd}))
        .await;
    assert_eq!(again.code, ErrorCode::AlreadyInMeeting as i32);

    // ben (node 2) opens his mic: everyone hears of it; his audio reaches amy (node 1)
    // and cat (node 3), not himself.
    let open = json!({"op": "set_media", "user_id": "ben", "kind": "audio", "status": 3});
    assert_eq!(ben.code(open).await, 0);
    for c in [&mut amy, &mut ben, &mut cat] {
        assert!(matches!(
            room_event(c).await,
            Event::MediaChanged { new: 3, .. }
        ));
    }
    ben.send_binary(mic_packet(7, b"opus")).await;
    assert_eq!(heard(&amy.binary().await), ("ben".into(), 7));
    assert_eq!(heard(&cat.binary().await), ("ben".into(), 7));

    // ben (node 2) shares his screen; cat (node 3) makes a board: each reaches the others.
    assert_eq!(ben.code(json!({"op": "start_screen_share"})).await, 0);
    for c in [&mut amy, &mut cat] {
        let event = room_event(c).await;
        assert!(
            matches!(&event, Event::ShareStarted { user_id } if user_id == "ben"),
            "{event:?}"
        );
    }
    let board =
        json!({"boardID": "b1", "title": "plan", "width": 800, "height": 600, "pageCount": 1});
    assert_eq!(
        cat.code(json!({"op": "create_board", "board": board}))
            .await,
        0
    );
    for c in [&mut amy, &mut ben, &mut cat] {
        let event = room_event(c).await;
        assert!(
            matches!(&event, Event::BoardCreated { board, oper } if board.board_id == "b1" && oper == "cat"),
            "{event:?}"
        );
    }

    // cat (node 3) sends an IM to everyone; then leaves.
    let im = cat
        .request(json!({"op": "send_im", "text": "hello", "to": ""}))
        .await;
    assert_eq!(im.code, 0);
    for c in [&mut amy, &mut ben] {
        assert!(matches!(room_event(c).await, Event::Im { from, .. } if from == "cat"));
    }
    assert_eq!(cat.code(json!({"op": "exit_meeting"})).await, 0);
    for c in [&mut amy, &mut ben] {
        assert!(matches!(room_event(c).await, Event::MemberLeft { user_id } if user_id == "cat"));
    }
    members_listed(&mut cat, m.id, 2).await;
    // Out of the room, nothing of it reaches cat; a room request is NOT_INMEETING.
    assert_eq!(
        cat.code(json!({"op": "exit_meeting"})).await,
        ErrorCode::NotInMeeting as i32
    );

    // amy (on the home) goes; the room goes on. Then the home stops (in the background:
    // the clients here answer heartbeats only while read): ben is told the room is gone.
    drop(amy);
    let left = room_event(&mut ben).await;
    assert!(
        matches!(&left, Event::MemberLeft { user_id } if user_id == "amy"),
        "{left:?}"
    );
    let stopping = tokio::spawn(n1.shutdown());
    assert_eq!(room_event(&mut ben).await, Event::MeetingDropped);
    members_listed(&mut cat, m.id, 0).await;
    // Entering again opens the room anew on a surviving node: cat's, entering first.
    assert_eq!(names(&enter(&mut cat, &m).await), ["cat"]);
    assert_eq!(names(&enter(&mut ben, &m).await), ["cat", "ben"]);
    assert_eq!(entered(room_event(&mut cat).await), "ben");

    // Destroyed by its creator through his node, not the room's: the room stops on its
    // home, both are out.
    let destroy = json!({"op": "destroy_meeting", "meet_id": m.id});
    assert_eq!(
        cat.code(destroy.clone()).await,
        ErrorCode::ApiNoPermission as i32
    );
    assert_eq!(ben.code(destroy).await, 0);
    assert_eq!(room_event(&mut cat).await, Event::MeetingStopped);
    assert_eq!(room_event(&mut ben).await, Event::MeetingStopped);
    assert_eq!(
        cat.code(json!({"op": "exit_meeting"})).await,
        ErrorCode::NotInMeeting as i32
    );
    // Out of a room another member ended, ben no longer has a way to its home (node 3): his
    // next room opens on his own node, the first to enter it (a way left over would have
    // sent the entry through node 3, and node 3 going away would drop ben's new room).
    let m2 = create_meeting(&mut ben, "next").await.unwrap();
    assert_eq!(names(&enter(&mut ben, &m2).await), ["ben"]);
    let mut conn = redis::Client::open(redis.url())
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap();
    let home: String = redis::cmd("GET")
        .arg(format!("crv:obj:acme:room:{}", m2.id))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(home, "n2");
    stopping.await.unwrap();
    drop((n2, n3));
}

/// The next event `c` gets that is neither a presence change nor queue counts.
async fn queue_event(c: &mut Client) -> Event {
    loop {
        match c.event().await {
            Event::UserStatus(_) | Event::QueueStatus(_) => continue,
            event => return event,
        }
    }
}

/// A tenant's queue engine on one node, its agent and customer on others: queuing,
/// automatic assignment, accepting, the service's busy rule for a caller on a third node,
/// the customer's call to the agent ending the service; then the engine's node goes away:
/// the waiting customer is told, the agent serves the tenant's new engine without asking.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs redis-server"]
async fn queues_serve_customers_and_agents_on_other_nodes() {
    let (_redis, [n1, n2, n3]) = cluster().await;
    let mut eve = login(n1.local_addr(), "acme", "eve").await;
    let mut ann = login(n2.local_addr(), "acme", "ann").await;
    let mut cus = login(n3.local_addr(), "acme", "cus").await;
    let mut oli = login(n3.local_addr(), "acme", "oli").await;
    let mut ray = login(n3.local_addr(), "acme", "ray").await;
    listed_as(&mut oli, "ann", USER_IDLE).await;
    listed_as(&mut cus, "ann", USER_IDLE).await;

    // The first queue request, eve's on node 1, makes node 1 the engine's home.
    assert_eq!(eve.code(json!({"op": "queue_init"})).await, 0);
    // ann (node 2) serves queue 1; cus (node 3) queues and is assigned to her.
    let serve = json!({"op": "start_service", "que_id": 1, "priority": 0});
    assert_eq!(ann.code(serve).await, 0);
    let queue_up = json!({"op": "start_queuing", "que_id": 1, "usr_ext_dat": "help"});
    // ray (node 3) asks for a queue there is not: refused, he does not queue.
    let no_queue = json!({"op": "start_queuing", "que_id": 99, "usr_ext_dat": ""});
    assert_eq!(ray.code(no_queue).await, ErrorCode::QueIdInvalid as i32);
    assert_eq!(cus.code(queue_up.clone()).await, 0);
    match queue_event(&mut ann).await {
        Event::AutoAssignUser(u) => assert_eq!((u.que_id, u.user_id.as_str()), (1, "cus")),
        other => panic!("expected AutoAssignUser, got {other:?}"),
    }
    match queue_event(&mut cus).await {
        Event::QueuingInfo(i) => assert_eq!((i.que_id, i.position), (1, 0)),
        other => panic!("expected QueuingInfo, got {other:?}"),
    }
    let accept = json!({"op": "accept_assign_user", "que_id": 1, "user_id": "cus"});
    assert_eq!(ann.code(accept).await, 0);
    match queue_event(&mut cus).await {
        Event::QueuingInfo(i) => assert_eq!(i.que_id, -1, "no longer queuing"),
        other => panic!("expected QueuingInfo, got {other:?}"),
    }

    // In service with cus: busy for oli (node 3), but cus may call her.
    listed_as(&mut oli, "ann", USER_BUSY).await;
    let call = |id: &str| json!({"op": "call", "call_id": id, "callee": "ann", "meet_obj": "", "usr_ext_dat": ""});
    assert_eq!(oli.code(call("o1")).await, ErrorCode::ErrBusy as i32);
    assert_eq!(cus.code(call("c1")).await, 0);
    assert!(
        matches!(queue_event(&mut ann).await, Event::CallIn { call_id, .. } if call_id == "c1")
    );
    let accept_call =
        json!({"op": "accept_call", "call_id": "c1", "meet_obj": "", "usr_ext_dat": ""});
    assert_eq!(ann.code(accept_call).await, 0);
    assert!(matches!(
        queue_event(&mut cus).await,
        Event::CallAccepted { .. }
    ));
    // The call ends: so does the service (the engine heard of both from the call's node).
    let hangup = json!({"op": "hangup_call", "call_id": "c1", "usr_ext_dat": ""});
    assert_eq!(cus.code(hangup).await, 0);
    assert!(matches!(
        queue_event(&mut ann).await,
        Event::CallHungup { .. }
    ));
    listed_as(&mut oli, "ann", USER_IDLE).await;
    assert_eq!(oli.code(call("o2")).await, 0);
    assert!(
        matches!(queue_event(&mut ann).await, Event::CallIn { call_id, .. } if call_id == "o2")
    );
    let reject = json!({"op": "reject_call", "call_id": "o2", "usr_ext_dat": ""});
    assert_eq!(ann.code(reject).await, 0);

    // With DND on, ann gets no automatic assignment: cus waits. The engine's node stops:
    // cus is told he no longer queues, and ann, without asking, serves the tenant's new
    // engine: cus queues anew and ann's request for a customer gives her cus.
    assert_eq!(ann.code(json!({"op": "set_dnd", "dnd": 1})).await, 0);
    assert_eq!(cus.code(queue_up.clone()).await, 0);
    assert!(matches!(queue_event(&mut cus).await, Event::QueuingInfo(i) if i.que_id == 1));
    drop(eve);
    let stopping = tokio::spawn(n1.shutdown());
    match queue_event(&mut cus).await {
        Event::QueuingInfo(i) => assert_eq!(i.que_id, -1, "the engine is gone"),
        other => panic!("expected QueuingInfo, got {other:?}"),
    }
    stopping.await.unwrap();
    assert_eq!(cus.code(queue_up.clone()).await, 0);
    assert!(matches!(queue_event(&mut cus).await, Event::QueuingInfo(i) if i.que_id == 1));
    // ray was never queuing: he hears nothing of the engine's end (his node knows he did
    // not queue from what the engine told him, not from what he asked), only of his own
    // queuing with the new engine.
    assert_eq!(ray.code(queue_up).await, 0);
    match queue_event(&mut ray).await {
        Event::QueuingInfo(i) => assert_eq!(i.que_id, 1, "{i:?}"),
        other => panic!("expected QueuingInfo, got {other:?}"),
    }
    let assigned = ann.request(json!({"op": "req_assign_user"})).await;
    assert_eq!(assigned.code, 0, "{assigned:?}");
    assert_eq!(assigned.data["usrID"], "cus", "{assigned:?}");
    drop((n2, n3));
}

/// The lines of the binary's stderr that are not its start-up log (INFO lines).
fn problems(stderr: &str) -> usize {
    stderr.lines().filter(|l| !l.contains(" INFO ")).count()
}

/// The binary with a `[cluster]` table whose Redis does not answer: one line, exit 2.
#[test]
fn an_unreachable_redis_fails_start_up_with_one_line() {
    let dir = support::data_dir("cluster-unreachable");
    std::fs::create_dir_all(&dir).unwrap();
    let dead_port = free_port();
    let stderr = refused_start(
        &dir,
        &format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {dir:?}\n\
             [cluster]\nredis_url = \"redis://127.0.0.1:{dead_port}\"\n"
        ),
    );
    assert!(
        stderr.contains(&format!(
            "cannot reach Redis at redis://127.0.0.1:{dead_port}"
        )),
        "{stderr}"
    );

    // A database that does not answer: one line, exit 2, and never its password.
    let stderr = refused_start(
        &dir,
        &format!(
            "listen = \"127.0.0.1:0\"\ndatabase_url = \"postgres://crv:hunter2@127.0.0.1:{dead_port}/crv\"\n"
        ),
    );
    assert!(stderr.contains("database_url"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "{stderr}");
    let stderr = refused_start(
        &dir,
        "listen = \"127.0.0.1:0\"\ndatabase_url = \"mysql://x\"\n",
    );
    assert!(stderr.contains("database_url"), "{stderr}");

    // A bucket whose endpoint does not answer: one line, exit 2, never the secret key.
    let stderr = refused_start(
        &dir,
        &s3_config(
            &dir,
            &format!("http://127.0.0.1:{dead_port}"),
            "crv",
            "hunter2",
        ),
    );
    assert!(
        stderr.contains("netdisk: cannot use bucket \"crv\""),
        "{stderr}"
    );
    assert!(!stderr.contains("hunter2"), "{stderr}");

    // Not a Redis URL at all: a config error, one line, exit 2.
    let stderr = refused_start(
        &dir,
        "listen = \"127.0.0.1:0\"\n[cluster]\nredis_url = \"http://nope\"\n",
    );
    assert!(stderr.contains("cluster.redis_url"), "{stderr}");
}

/// A single node's config with its net disk in `bucket` at `endpoint`.
fn s3_config(dir: &std::path::Path, endpoint: &str, bucket: &str, secret: &str) -> String {
    format!(
        "listen = \"127.0.0.1:0\"\ndata_dir = {dir:?}\n[netdisk]\ns3_endpoint = \"{endpoint}\"\n\
         s3_bucket = \"{bucket}\"\ns3_access_key = \"{S3_ACCESS_KEY}\"\ns3_secret_key = \"{secret}\"\n"
    )
}

/// A bucket that refuses the keys, or is not there: start-up fails with one line, exit 2.
#[test]
#[ignore = "needs SeaweedFS"]
fn a_bucket_that_refuses_fails_start_up_with_one_line() {
    let weed = SeaweedFs::start();
    weed.create_bucket("crv");
    let dir = support::data_dir("cluster-bucket");
    std::fs::create_dir_all(&dir).unwrap();
    let stderr = refused_start(
        &dir,
        &s3_config(&dir, &weed.endpoint(), "crv", "not-the-secret"),
    );
    assert!(stderr.contains("access denied"), "{stderr}");
    assert!(!stderr.contains("not-the-secret"), "{stderr}");
    let stderr = refused_start(
        &dir,
        &s3_config(&dir, &weed.endpoint(), "nope", S3_SECRET_KEY),
    );
    assert!(stderr.contains("no bucket \"nope\""), "{stderr}");
}

/// Starts the binary with `config` (written in `dir`), which must fail with exit code 2, one
/// line saying why and nothing on stdout; returns its stderr.
fn refused_start(dir: &std::path::Path, config: &str) -> String {
    let path = dir.join("server.toml");
    std::fs::write(&path, config).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crvideo-server"))
        .arg("--config")
        .arg(&path)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert_eq!(problems(&stderr), 1, "{stderr}");
    assert!(out.stdout.is_empty(), "it must not say it listens");
    stderr
}
