//! Call-center queues as raw WebSocket clients see them: customers, agents, the assignment
//! engine, timeouts, presence, notifications, tenant isolation.
//!
//! Every transition happens under one lock per tenant, with all its events queued before
//! the lock is released. So a client's `sync()` (a `queue_refresh` round trip) returns
//! exactly the events every earlier transition sent it: the tests compare whole sequences.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::time::Duration;

use crvideo_proto::{
    ErrorCode, Event, LoginOk, QueueList, QueueUser, Reply, ServerFrame, PROTOCOL_VERSION,
};
use crvideo_server::{Config, QueueConfig, Server, TenantConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// argon2id of "pw" with tiny parameters (m=8 KiB, t=1): keeps the tests fast.
const HASH_OF_PW: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0";
/// Same, of "s3cret".
const HASH_OF_S3CRET: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$npVotbvPQ4dPhvFkQko6L661aOqtdkjpUJzLaZXBhpA";

/// Long: test clients that wait without reading must not be dropped as dead.
const HEARTBEAT_MS: u64 = 10_000;
/// Unanswered assignments (and services without a call) end after this.
const CALL_TIMEOUT_SECS: u64 = 1;
/// Generous bound for anything that should happen "soon".
const PATIENCE: Duration = Duration::from_secs(10);

const QUE_ID_INVALID: i32 = ErrorCode::QueIdInvalid as i32;
const QUE_NOUSER: i32 = ErrorCode::QueNoUser as i32;
const QUE_USER_CANCELLED: i32 = ErrorCode::QueUserCancelled as i32;
const QUE_SERVICE_NOT_START: i32 = ErrorCode::QueServiceNotStart as i32;
const ALREADY_OTHERQUE: i32 = ErrorCode::AlreadyOtherQue as i32;
const ERR_BUSY: i32 = ErrorCode::ErrBusy as i32;

/// acme's queues, processed in the order support (prio 0), sales (prio 1), vip (prio 1, id 3).
const SUPPORT: i32 = 2;
const SALES: i32 = 1;
const VIP: i32 = 3;

fn data_dir() -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "queues-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

fn queue(id: i32, name: &str, prio: i32) -> QueueConfig {
    QueueConfig {
        id,
        name: name.into(),
        desc: format!("{name} desk"),
        prio,
    }
}

async fn start() -> Server {
    let mut acme = TenantConfig::with_password_hash("acme", HASH_OF_PW).unwrap();
    acme.queues = vec![
        queue(SALES, "sales", 1),
        queue(VIP, "vip", 1),
        queue(SUPPORT, "support", 0),
    ];
    let mut globex = TenantConfig::with_password_hash("globex", HASH_OF_S3CRET).unwrap();
    globex.queues = vec![queue(SALES, "g-sales", 0)];
    Server::start(Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir(),
        heartbeat_ms: HEARTBEAT_MS,
        call_timeout_secs: CALL_TIMEOUT_SECS,
        // Every change at once: these tests compare whole sequences of events. Coalescing
        // (the default, 100 ms) is tested in the server's unit tests and tests/queues.rs.
        queue_notify_ms: 0,
        tenants: vec![acme, globex],
        ..Config::default()
    })
    .await
    .unwrap()
}

/// A logged-in raw client; events that arrive while it waits for a reply are kept.
struct Client {
    ws: Ws,
    next_id: u64,
    events: VecDeque<Event>,
}

/// A compact, comparable form of an event (queuing times left out).
fn show(e: &Event) -> String {
    match e {
        Event::QueueStatus(s) => format!(
            "status q{} a{} w{} s{}",
            s.que_id, s.agent_num, s.wait_num, s.srv_num
        ),
        Event::QueuingInfo(i) if i.que_id == -1 => "not_queuing".into(),
        Event::QueuingInfo(i) => format!("pos q{} {}", i.que_id, i.position),
        Event::AutoAssignUser(u) => format!("auto q{} {}", u.que_id, u.user_id),
        Event::CancelAssignUser { que_id, user_id } => format!("cancel q{que_id} {user_id}"),
        Event::UserStatus(s) => format!("presence {} {}", s.user_id, s.status),
        Event::CallIn { call_id, .. } => format!("call_in {call_id}"),
        Event::CallAccepted { call_id, .. } => format!("call_accepted {call_id}"),
        Event::CallHungup { call_id, .. } => format!("call_hungup {call_id}"),
        other => format!("{other:?}"),
    }
}

impl Client {
    async fn login(addr: SocketAddr, tenant: &str, user: &str) -> Client {
        let (ws, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/crvideo"))
            .await
            .unwrap();
        let mut c = Client {
            ws,
            next_id: 1,
            events: VecDeque::new(),
        };
        let hello = c
            .req(json!({"op": "hello", "version": PROTOCOL_VERSION, "agent": "test"}))
            .await;
        assert_eq!(hello.code, 0);
        let password = if tenant == "acme" { "pw" } else { "s3cret" };
        let nickname = format!("Nick {user}");
        let ok: LoginOk = c
            .req(
                json!({"op": "login", "tenant": tenant, "password": password,
                        "nickname": nickname, "user_id": user}),
            )
            .await
            .into_result()
            .unwrap();
        assert_eq!(ok.user_id, user);
        c
    }

    async fn acme(addr: SocketAddr, user: &str) -> Client {
        Client::login(addr, "acme", user).await
    }

    async fn next_frame(&mut self) -> ServerFrame {
        loop {
            let msg = timeout(PATIENCE, self.ws.next())
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

    /// Sends a request and returns its reply (events before it are kept).
    async fn req(&mut self, mut body: Value) -> Reply {
        let id = self.next_id;
        self.next_id += 1;
        body["id"] = json!(id);
        self.ws.send(Message::text(body.to_string())).await.unwrap();
        loop {
            match self.next_frame().await {
                ServerFrame::Reply(r) => {
                    assert_eq!(r.re, id);
                    return r;
                }
                ServerFrame::Event(e) => self.events.push_back(e),
            }
        }
    }

    async fn code(&mut self, body: Value) -> i32 {
        self.req(body).await.code
    }

    /// Every event sent to this client by the transitions completed so far.
    async fn sync(&mut self) -> Vec<String> {
        let reply = self.req(json!({"op": "queue_refresh"})).await;
        assert_eq!(reply.code, 0);
        self.events.drain(..).map(|e| show(&e)).collect()
    }

    /// The next event, waiting for it if needed.
    async fn next_event(&mut self) -> String {
        if let Some(e) = self.events.pop_front() {
            return show(&e);
        }
        match self.next_frame().await {
            ServerFrame::Event(e) => show(&e),
            other => panic!("expected an event, got {other:?}"),
        }
    }

    async fn start_queuing(&mut self, que: i32) -> i32 {
        self.code(json!({"op": "start_queuing", "que_id": que, "usr_ext_dat": "ext"}))
            .await
    }

    async fn start_service(&mut self, que: i32, priority: i32) -> i32 {
        self.code(json!({"op": "start_service", "que_id": que, "priority": priority}))
            .await
    }

    async fn stop_service(&mut self, que: i32) -> i32 {
        self.code(json!({"op": "stop_service", "que_id": que}))
            .await
    }

    async fn req_assign(&mut self) -> Result<QueueUser, i32> {
        self.req(json!({"op": "req_assign_user"}))
            .await
            .into_result()
    }

    async fn accept(&mut self, que: i32, user: &str) -> i32 {
        self.code(json!({"op": "accept_assign_user", "que_id": que, "user_id": user}))
            .await
    }

    async fn reject(&mut self, que: i32, user: &str) -> i32 {
        self.code(json!({"op": "reject_assign_user", "que_id": que, "user_id": user}))
            .await
    }

    async fn set_dnd(&mut self, dnd: i32) {
        assert_eq!(self.code(json!({"op": "set_dnd", "dnd": dnd})).await, 0);
    }

    async fn logout(mut self) {
        assert_eq!(self.code(json!({"op": "logout"})).await, 0);
        // Wait for the close: the server has left the queues by then.
        while let Ok(Some(Ok(_))) = timeout(PATIENCE, self.ws.next()).await {}
    }
}

fn strs(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

#[tokio::test]
async fn init_and_refresh_list_the_tenants_queues() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = Client::acme(addr, "amy").await;
    let list: QueueList = amy
        .req(json!({"op": "queue_init"}))
        .await
        .into_result()
        .unwrap();
    let ids: Vec<i32> = list.queues.iter().map(|q| q.que_id).collect();
    assert_eq!(ids, vec![SUPPORT, SALES, VIP], "prio order, then ID");
    assert_eq!(list.queues[0].name, "support");
    assert_eq!(list.queues[0].desc, "support desk");
    assert_eq!(list.queues[0].prio, 0);
    let status_ids: Vec<i32> = list.statuses.iter().map(|s| s.que_id).collect();
    assert_eq!(status_ids, ids);
    assert!(list
        .statuses
        .iter()
        .all(|s| s.agent_num == 0 && s.wait_num == 0 && s.srv_num == 0));
    // The exact wire shape of the objects.
    let raw = amy.req(json!({"op": "queue_init"})).await.data;
    assert_eq!(
        raw["queues"][0],
        json!({"queID": 2, "name": "support", "desc": "support desk", "prio": 0})
    );
    assert_eq!(
        raw["statuses"][0],
        json!({"queID": 2, "agent_num": 0, "wait_num": 0, "srv_num": 0})
    );

    let mut ben = Client::acme(addr, "ben").await;
    assert_eq!(ben.start_service(SALES, 1).await, 0);
    let mut cat = Client::acme(addr, "cat").await;
    cat.set_dnd(0).await;
    assert_eq!(cat.start_queuing(VIP).await, 0);
    let refreshed: QueueList = amy
        .req(json!({"op": "queue_refresh"}))
        .await
        .into_result()
        .unwrap();
    assert!(refreshed.queues.is_empty());
    let counts: Vec<(i32, i32, i32, i32)> = refreshed
        .statuses
        .iter()
        .map(|s| (s.que_id, s.agent_num, s.wait_num, s.srv_num))
        .collect();
    assert_eq!(
        counts,
        vec![(SUPPORT, 0, 0, 0), (SALES, 1, 0, 0), (VIP, 0, 1, 0)]
    );
    assert!(amy.sync().await.is_empty(), "amy is in no queue");

    // Another tenant has its own queues.
    let mut gus = Client::login(addr, "globex", "gus").await;
    let list: QueueList = gus
        .req(json!({"op": "queue_init"}))
        .await
        .into_result()
        .unwrap();
    assert_eq!(list.queues.len(), 1);
    assert_eq!(list.queues[0].name, "g-sales");
    assert_eq!(list.statuses[0].agent_num, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn customers_are_served_in_arrival_order() {
    let server = start().await;
    let addr = server.local_addr();
    let mut agent = Client::acme(addr, "agent").await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    assert_eq!(agent.sync().await, strs(&["status q1 a1 w0 s0"]));

    let mut c1 = Client::acme(addr, "c1").await;
    let mut c2 = Client::acme(addr, "c2").await;
    let mut c3 = Client::acme(addr, "c3").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(c2.start_queuing(SALES).await, 0);
    assert_eq!(c3.start_queuing(SALES).await, 0);
    assert_eq!(
        c1.sync().await,
        strs(&[
            "pos q1 0",
            "status q1 a1 w1 s0",
            "status q1 a1 w2 s0",
            "status q1 a1 w3 s0"
        ])
    );
    assert_eq!(
        c2.sync().await,
        strs(&["pos q1 1", "status q1 a1 w2 s0", "status q1 a1 w3 s0"])
    );
    assert_eq!(c3.sync().await, strs(&["pos q1 2", "status q1 a1 w3 s0"]));
    assert_eq!(
        agent.sync().await,
        strs(&[
            "auto q1 c1",
            "status q1 a1 w1 s0",
            "status q1 a1 w2 s0",
            "status q1 a1 w3 s0"
        ])
    );
    // The QueueUser carries the customer's nickname and data.
    let again = agent.req_assign().await.unwrap();
    assert_eq!(again.user_id, "c1");
    assert_eq!(again.name, "Nick c1");
    assert_eq!(again.usr_ext_dat, "ext");
    assert_eq!(again.que_id, SALES);

    // Accepting takes c1 out; the others move up.
    assert_eq!(agent.accept(SALES, "c1").await, 0);
    assert_eq!(agent.sync().await, strs(&["status q1 a1 w2 s1"]));
    assert_eq!(c1.sync().await, strs(&["not_queuing"]));
    assert_eq!(c2.sync().await, strs(&["pos q1 0", "status q1 a1 w2 s1"]));
    assert_eq!(c3.sync().await, strs(&["pos q1 1", "status q1 a1 w2 s1"]));

    // Asking for the next customer ends the service: c2, then c3.
    let next = agent.req_assign().await.unwrap();
    assert_eq!(next.user_id, "c2");
    assert_eq!(agent.accept(SALES, "c2").await, 0);
    let next = agent.req_assign().await.unwrap();
    assert_eq!(next.user_id, "c3");
    assert_eq!(agent.accept(SALES, "c3").await, 0);
    assert_eq!(
        c3.sync().await,
        strs(&[
            "status q1 a1 w2 s0",
            "pos q1 0",
            "status q1 a1 w1 s1",
            "status q1 a1 w1 s0",
            "not_queuing"
        ])
    );
    assert_eq!(agent.req_assign().await, Err(QUE_NOUSER));
    server.shutdown().await;
}

#[tokio::test]
async fn lowest_priority_number_wins_then_the_longest_idle() {
    let server = start().await;
    let addr = server.local_addr();
    let mut low = Client::acme(addr, "low").await;
    let mut high = Client::acme(addr, "high").await;
    assert_eq!(low.start_service(SALES, 5).await, 0);
    assert_eq!(high.start_service(SALES, 1).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert!(high.sync().await.contains(&"auto q1 c1".to_string()));
    assert!(!low.sync().await.iter().any(|e| e.starts_with("auto")));

    // Equal priorities: the one free the longest.
    let mut first = Client::acme(addr, "first").await;
    let mut second = Client::acme(addr, "second").await;
    assert_eq!(first.start_service(SUPPORT, 3).await, 0);
    assert_eq!(second.start_service(SUPPORT, 3).await, 0);
    let mut c2 = Client::acme(addr, "c2").await;
    assert_eq!(c2.start_queuing(SUPPORT).await, 0);
    assert!(first.sync().await.contains(&"auto q2 c2".to_string()));
    assert_eq!(first.accept(SUPPORT, "c2").await, 0);
    // The service ends (nobody else waits): `first` is free again, but only just.
    assert_eq!(first.req_assign().await, Err(QUE_NOUSER));
    let mut c3 = Client::acme(addr, "c3").await;
    assert_eq!(c3.start_queuing(SUPPORT).await, 0);
    assert!(second.sync().await.contains(&"auto q2 c3".to_string()));
    assert!(!first.sync().await.iter().any(|e| e.starts_with("auto")));
    server.shutdown().await;
}

#[tokio::test]
async fn a_higher_priority_agent_never_takes_an_assigned_customer() {
    let server = start().await;
    let addr = server.local_addr();
    let mut low = Client::acme(addr, "low").await;
    assert_eq!(low.start_service(SALES, 9).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(
        low.sync().await,
        strs(&["status q1 a1 w0 s0", "auto q1 c1", "status q1 a1 w1 s0"])
    );
    let mut high = Client::acme(addr, "high").await;
    assert_eq!(high.start_service(SALES, 0).await, 0);
    assert_eq!(high.sync().await, strs(&["status q1 a2 w1 s0"]));
    assert_eq!(low.sync().await, strs(&["status q1 a2 w1 s0"]));
    // The next customer goes to the free one.
    let mut c2 = Client::acme(addr, "c2").await;
    assert_eq!(c2.start_queuing(SALES).await, 0);
    assert_eq!(
        high.sync().await,
        strs(&["auto q1 c2", "status q1 a2 w2 s0"])
    );
    assert_eq!(low.accept(SALES, "c1").await, 0);
    server.shutdown().await;
}

#[tokio::test]
async fn dnd_agents_get_customers_only_on_request() {
    let server = start().await;
    let addr = server.local_addr();
    let mut agent = Client::acme(addr, "agent").await;
    assert_eq!(agent.req_assign().await, Err(QUE_SERVICE_NOT_START));
    agent.set_dnd(1).await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    assert_eq!(agent.req_assign().await, Err(QUE_NOUSER));

    let mut c1 = Client::acme(addr, "c1").await;
    let mut c2 = Client::acme(addr, "c2").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(c2.start_queuing(SALES).await, 0);
    assert_eq!(
        agent.sync().await,
        strs(&[
            "status q1 a1 w0 s0",
            "status q1 a1 w1 s0",
            "status q1 a1 w2 s0"
        ]),
        "no AutoAssignUser with DND on"
    );
    let user = agent.req_assign().await.unwrap();
    assert_eq!(user.user_id, "c1", "the head of the queue");
    assert!(agent.sync().await.is_empty(), "no AutoAssignUser for it");
    assert_eq!(
        agent.req_assign().await.unwrap().user_id,
        "c1",
        "same again"
    );
    // A rejected customer comes after the others...
    assert_eq!(agent.reject(SALES, "c1").await, 0);
    assert_eq!(agent.req_assign().await.unwrap().user_id, "c2");
    assert_eq!(agent.reject(SALES, "c2").await, 0);
    // ...but nobody waits while the agent asks: then the rejected ones, in queue order.
    assert_eq!(agent.req_assign().await.unwrap().user_id, "c1");
    assert_eq!(agent.reject(SALES, "c1").await, 0);
    assert!(agent.sync().await.is_empty());

    // DND off while a customer waits: it is assigned at once.
    let mut other = Client::acme(addr, "other").await;
    other.set_dnd(5).await;
    assert_eq!(other.start_service(SALES, 0).await, 0);
    assert_eq!(other.sync().await, strs(&["status q1 a2 w2 s0"]));
    other.set_dnd(0).await;
    assert_eq!(other.sync().await, strs(&["auto q1 c1"]));
    server.shutdown().await;
}

#[tokio::test]
async fn an_unanswered_assignment_is_cancelled_and_goes_to_another_agent() {
    let server = start().await;
    let addr = server.local_addr();
    let mut slow = Client::acme(addr, "slow").await;
    let mut spare = Client::acme(addr, "spare").await;
    assert_eq!(slow.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    let mut c2 = Client::acme(addr, "c2").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(c2.start_queuing(SALES).await, 0);
    assert_eq!(spare.start_service(SALES, 0).await, 0);
    assert!(slow.sync().await.contains(&"auto q1 c1".to_string()));
    assert!(spare.sync().await.contains(&"auto q1 c2".to_string()));
    let started = tokio::time::Instant::now();
    // spare takes c2 at once; slow never answers.
    assert_eq!(spare.accept(SALES, "c2").await, 0);
    assert_eq!(spare.req_assign().await, Err(QUE_NOUSER), "service over");
    spare.sync().await;
    c1.sync().await;

    assert_eq!(slow.next_event().await, "status q1 a2 w1 s1");
    assert_eq!(slow.next_event().await, "status q1 a2 w1 s0");
    assert_eq!(slow.next_event().await, "cancel q1 c1");
    let waited = started.elapsed();
    assert!(
        waited >= Duration::from_millis(CALL_TIMEOUT_SECS * 1000 - 200),
        "cancelled after {waited:?}"
    );
    assert_eq!(spare.next_event().await, "auto q1 c1");
    assert_eq!(slow.accept(SALES, "c1").await, QUE_USER_CANCELLED);
    assert!(slow.sync().await.is_empty(), "not offered c1 again");
    assert!(c1.sync().await.is_empty(), "c1 kept its place at the head");
    assert_eq!(spare.accept(SALES, "c1").await, 0);
    assert_eq!(
        c1.sync().await,
        strs(&["not_queuing"]),
        "no status: c1 is no longer in the queue"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn a_rejected_customer_goes_to_another_agent() {
    let server = start().await;
    let addr = server.local_addr();
    let mut picky = Client::acme(addr, "picky").await;
    let mut spare = Client::acme(addr, "spare").await;
    assert_eq!(picky.start_service(SALES, 0).await, 0);
    spare.set_dnd(1).await;
    assert_eq!(spare.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert!(picky.sync().await.contains(&"auto q1 c1".to_string()));
    assert_eq!(picky.reject(SALES, "c1").await, 0);
    assert_eq!(picky.reject(SALES, "c1").await, QUE_USER_CANCELLED);
    assert!(
        picky.sync().await.is_empty(),
        "no CancelAssignUser, no new offer"
    );
    assert_eq!(c1.sync().await, strs(&["pos q1 0", "status q1 a2 w1 s0"]));
    spare.set_dnd(0).await;
    assert_eq!(
        spare.sync().await,
        strs(&["status q1 a2 w0 s0", "status q1 a2 w1 s0", "auto q1 c1"])
    );
    // picky is free and gets the next customer.
    let mut c2 = Client::acme(addr, "c2").await;
    assert_eq!(c2.start_queuing(SALES).await, 0);
    assert_eq!(
        picky.sync().await,
        strs(&["auto q1 c2", "status q1 a2 w2 s0"])
    );
    server.shutdown().await;
}

/// The least time the server holds a passed-over customer back from that agent, as a client
/// measures it from the reply or event that ended the assignment.
fn held_back_long_enough(since: tokio::time::Instant) {
    let waited = since.elapsed();
    assert!(
        waited >= Duration::from_millis(CALL_TIMEOUT_SECS * 1000 - 200),
        "offered again after {waited:?}"
    );
}

#[tokio::test]
async fn an_agent_asking_gets_the_customer_it_let_time_out() {
    let server = start().await;
    let addr = server.local_addr();
    let mut agent = Client::acme(addr, "agent").await;
    agent.set_dnd(1).await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(agent.req_assign().await.unwrap().user_id, "c1");
    agent.sync().await;
    // Not answered in time: withdrawn.
    assert_eq!(agent.next_event().await, "cancel q1 c1");
    assert_eq!(agent.accept(SALES, "c1").await, QUE_USER_CANCELLED);
    // c1 is the only one waiting and this the only agent: asking brings it, not QUE_NOUSER.
    assert_eq!(agent.req_assign().await.unwrap().user_id, "c1");
    assert_eq!(agent.accept(SALES, "c1").await, 0);
    assert_eq!(c1.sync().await.last().unwrap(), "not_queuing");
    server.shutdown().await;
}

#[tokio::test]
async fn a_customer_let_time_out_is_offered_again_to_the_only_agent() {
    let server = start().await;
    let addr = server.local_addr();
    let mut agent = Client::acme(addr, "agent").await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(
        agent.sync().await,
        strs(&["status q1 a1 w0 s0", "auto q1 c1", "status q1 a1 w1 s0"])
    );
    assert_eq!(agent.next_event().await, "cancel q1 c1");
    let cancelled = tokio::time::Instant::now();
    assert!(
        agent.sync().await.is_empty(),
        "not offered again at once: another agent could take it meanwhile"
    );
    // Nobody else took it within call_timeout_secs: it comes back, without being asked.
    assert_eq!(agent.next_event().await, "auto q1 c1");
    held_back_long_enough(cancelled);
    assert_eq!(agent.accept(SALES, "c1").await, 0);
    assert_eq!(c1.sync().await.last().unwrap(), "not_queuing");
    server.shutdown().await;
}

#[tokio::test]
async fn a_rejected_customer_comes_back_to_the_only_agent() {
    let server = start().await;
    let addr = server.local_addr();
    let mut agent = Client::acme(addr, "agent").await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert!(agent.sync().await.contains(&"auto q1 c1".to_string()));
    assert_eq!(agent.reject(SALES, "c1").await, 0);
    let rejected = tokio::time::Instant::now();
    assert!(agent.sync().await.is_empty(), "not offered again at once");
    assert_eq!(agent.next_event().await, "auto q1 c1");
    held_back_long_enough(rejected);
    // Rejected again; asking brings it at once.
    assert_eq!(agent.reject(SALES, "c1").await, 0);
    assert_eq!(agent.req_assign().await.unwrap().user_id, "c1");
    assert_eq!(agent.accept(SALES, "c1").await, 0);
    assert_eq!(c1.sync().await.last().unwrap(), "not_queuing");
    server.shutdown().await;
}

#[tokio::test]
async fn a_passed_over_customer_goes_to_the_other_agent_first() {
    let server = start().await;
    let addr = server.local_addr();
    let mut best = Client::acme(addr, "best").await;
    let mut other = Client::acme(addr, "other").await;
    assert_eq!(best.start_service(SALES, 0).await, 0);
    assert_eq!(other.start_service(SALES, 5).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert!(best.sync().await.contains(&"auto q1 c1".to_string()));
    // best rejects: c1 goes to the other agent, though best has the better priority.
    assert_eq!(best.reject(SALES, "c1").await, 0);
    assert_eq!(other.sync().await.last().unwrap(), "auto q1 c1");
    assert!(best.sync().await.is_empty());
    // The other lets it time out: now it comes back to best, not to the other.
    assert_eq!(other.next_event().await, "cancel q1 c1");
    assert_eq!(best.next_event().await, "auto q1 c1");
    assert_eq!(best.accept(SALES, "c1").await, 0);
    assert_eq!(
        other.sync().await,
        strs(&["status q1 a2 w0 s1"]),
        "the other agent was not offered c1 again"
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_agent_in_service_is_busy_for_other_callers() {
    let server = start().await;
    let addr = server.local_addr();
    let mut agent = Client::acme(addr, "agent").await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(agent.accept(SALES, "c1").await, 0);
    let mut outsider = Client::acme(addr, "outsider").await;
    let call = |id: &str, callee: &str| json!({"op": "call", "call_id": id, "callee": callee, "meet_obj": "", "usr_ext_dat": ""});
    // Serving c1: busy for everyone else, calls and invitations alike.
    assert_eq!(outsider.code(call("o1", "agent")).await, ERR_BUSY);
    let invite = json!({"op": "invite", "invite_id": "o2", "invitee": "agent", "meet_obj": ""});
    assert_eq!(outsider.code(invite).await, ERR_BUSY);
    assert!(agent.sync().await.iter().all(|e| !e.starts_with("call_in")));
    // Its customer still reaches it.
    assert_eq!(c1.code(call("k1", "agent")).await, 0);
    assert_eq!(agent.next_event().await, "call_in k1");
    let answer = json!({"op": "accept_call", "call_id": "k1", "meet_obj": "", "usr_ext_dat": ""});
    assert_eq!(agent.code(answer).await, 0);
    let hangup = json!({"op": "hangup_call", "call_id": "k1", "usr_ext_dat": ""});
    assert_eq!(c1.code(hangup).await, 0);
    // The call ended, so did the service: the agent takes calls again.
    assert_eq!(agent.next_event().await, "call_hungup k1");
    assert_eq!(outsider.code(call("o3", "agent")).await, 0);
    assert_eq!(agent.next_event().await, "status q1 a1 w0 s0");
    assert_eq!(agent.next_event().await, "call_in o3");
    server.shutdown().await;
}

#[tokio::test]
async fn a_served_customer_makes_the_agent_busy_until_their_call_ends() {
    let server = start().await;
    let addr = server.local_addr();
    let mut watcher = Client::acme(addr, "watcher").await;
    assert_eq!(watcher.code(json!({"op": "subscribe_status"})).await, 0);
    let mut agent = Client::acme(addr, "agent").await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    let mut c2 = Client::acme(addr, "c2").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(c2.start_queuing(SALES).await, 0);
    assert_eq!(agent.accept(SALES, "c1").await, 0);
    assert_eq!(
        watcher.sync().await,
        strs(&[
            "presence agent 1",
            "presence c1 1",
            "presence c2 1",
            "presence agent 2"
        ])
    );
    agent.sync().await;
    c1.sync().await;
    // The agent calls the customer; the customer answers; the agent hangs up.
    let call = json!({"op": "call", "call_id": "k1", "callee": "c1", "meet_obj": "",
                      "usr_ext_dat": ""});
    assert_eq!(agent.code(call).await, 0);
    assert_eq!(c1.next_event().await, "call_in k1");
    let answer = json!({"op": "accept_call", "call_id": "k1", "meet_obj": "", "usr_ext_dat": ""});
    assert_eq!(c1.code(answer).await, 0);
    assert_eq!(agent.next_event().await, "call_accepted k1");
    // Past the no-call limit: the service lasts while the call does.
    tokio::time::sleep(Duration::from_millis(CALL_TIMEOUT_SECS * 1000 + 300)).await;
    assert_eq!(watcher.sync().await, strs(&["presence c1 2"]));
    assert!(agent.sync().await.is_empty());
    let hangup = json!({"op": "hangup_call", "call_id": "k1", "usr_ext_dat": ""});
    assert_eq!(agent.code(hangup).await, 0);
    assert_eq!(
        watcher.sync().await,
        strs(&["presence c1 1", "presence agent 1"])
    );
    // Free again: the next customer comes.
    assert_eq!(
        agent.sync().await,
        strs(&["auto q1 c2", "status q1 a1 w1 s0"])
    );
    assert_eq!(c2.sync().await.last().unwrap(), "status q1 a1 w1 s0");
    server.shutdown().await;
}

#[tokio::test]
async fn a_service_without_a_call_ends_after_the_timeout() {
    let server = start().await;
    let addr = server.local_addr();
    let mut watcher = Client::acme(addr, "watcher").await;
    assert_eq!(watcher.code(json!({"op": "subscribe_status"})).await, 0);
    let mut agent = Client::acme(addr, "agent").await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(agent.accept(SALES, "c1").await, 0);
    agent.sync().await;
    watcher.sync().await;
    assert_eq!(agent.next_event().await, "status q1 a1 w0 s0");
    assert_eq!(watcher.sync().await, strs(&["presence agent 1"]));
    server.shutdown().await;
}

#[tokio::test]
async fn queue_errors() {
    let server = start().await;
    let addr = server.local_addr();
    let mut c = Client::acme(addr, "c").await;
    assert_eq!(c.start_queuing(99).await, QUE_ID_INVALID);
    assert_eq!(c.code(json!({"op": "stop_queuing"})).await, 0, "harmless");
    assert_eq!(c.start_queuing(SALES).await, 0);
    assert_eq!(c.sync().await, strs(&["pos q1 0", "status q1 a0 w1 s0"]));
    assert_eq!(c.start_queuing(SALES).await, 0, "same queue again");
    assert_eq!(c.start_queuing(VIP).await, ALREADY_OTHERQUE);
    assert!(c.sync().await.is_empty(), "nothing changed");
    assert_eq!(c.code(json!({"op": "stop_queuing"})).await, 0);
    assert_eq!(c.sync().await, strs(&["not_queuing"]));

    let mut a = Client::acme(addr, "a").await;
    assert_eq!(a.start_service(99, 0).await, QUE_ID_INVALID);
    assert_eq!(a.stop_service(99).await, QUE_ID_INVALID);
    assert_eq!(a.stop_service(SALES).await, QUE_SERVICE_NOT_START);
    assert_eq!(a.accept(SALES, "c").await, QUE_SERVICE_NOT_START);
    assert_eq!(a.reject(SALES, "c").await, QUE_SERVICE_NOT_START);
    assert_eq!(a.start_service(SALES, 0).await, 0);
    assert_eq!(a.start_service(SALES, 3).await, 0, "again: new priority");
    assert_eq!(a.accept(SALES, "nobody").await, QUE_USER_CANCELLED);
    assert_eq!(a.reject(SALES, "nobody").await, QUE_USER_CANCELLED);
    assert_eq!(a.accept(VIP, "c").await, QUE_SERVICE_NOT_START);
    assert_eq!(a.stop_service(VIP).await, QUE_SERVICE_NOT_START);
    assert_eq!(a.stop_service(SALES).await, 0);
    assert_eq!(a.sync().await, strs(&["status q1 a1 w0 s0"]));
    assert_eq!(a.stop_service(SALES).await, QUE_SERVICE_NOT_START);
    server.shutdown().await;
}

#[tokio::test]
async fn stopping_service_withdraws_the_assignment() {
    let server = start().await;
    let addr = server.local_addr();
    let mut a = Client::acme(addr, "a").await;
    assert_eq!(a.start_service(SALES, 0).await, 0);
    assert_eq!(a.start_service(VIP, 0).await, 0);
    let mut c = Client::acme(addr, "c").await;
    assert_eq!(c.start_queuing(SALES).await, 0);
    a.sync().await;
    assert_eq!(a.stop_service(SALES).await, 0);
    assert_eq!(
        a.sync().await,
        strs(&["cancel q1 c"]),
        "no status: a no longer serves sales"
    );
    assert_eq!(
        c.sync().await,
        strs(&["pos q1 0", "status q1 a1 w1 s0", "status q1 a0 w1 s0"])
    );
    server.shutdown().await;
}

#[tokio::test]
async fn an_offline_customer_withdraws_its_assignment() {
    let server = start().await;
    let addr = server.local_addr();
    let mut agent = Client::acme(addr, "agent").await;
    assert_eq!(agent.start_service(SALES, 0).await, 0);
    let c1 = Client::acme(addr, "c1").await;
    let mut c1 = c1;
    let mut c2 = Client::acme(addr, "c2").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert_eq!(c2.start_queuing(SALES).await, 0);
    agent.sync().await;
    c2.sync().await;
    c1.logout().await;
    assert_eq!(
        agent.sync().await,
        strs(&["cancel q1 c1", "auto q1 c2", "status q1 a1 w1 s0"])
    );
    assert_eq!(c2.sync().await, strs(&["pos q1 0", "status q1 a1 w1 s0"]));
    server.shutdown().await;
}

#[tokio::test]
async fn an_offline_agent_hands_its_customer_to_another() {
    let server = start().await;
    let addr = server.local_addr();
    let mut gone = Client::acme(addr, "gone").await;
    assert_eq!(gone.start_service(SALES, 0).await, 0);
    let mut c1 = Client::acme(addr, "c1").await;
    assert_eq!(c1.start_queuing(SALES).await, 0);
    assert!(gone.sync().await.contains(&"auto q1 c1".to_string()));
    let mut other = Client::acme(addr, "other").await;
    assert_eq!(other.start_service(SALES, 0).await, 0);
    other.sync().await;
    c1.sync().await;
    // The connection just drops.
    drop(gone);
    assert_eq!(other.next_event().await, "auto q1 c1");
    assert_eq!(other.next_event().await, "status q1 a1 w1 s0");
    assert_eq!(c1.sync().await, strs(&["status q1 a1 w1 s0"]));

    // An agent in service going offline: the counts follow.
    assert_eq!(other.accept(SALES, "c1").await, 0);
    assert_eq!(other.sync().await, strs(&["status q1 a1 w0 s1"]));
    let mut watcher = Client::acme(addr, "watcher").await;
    assert_eq!(watcher.start_service(SALES, 0).await, 0);
    assert_eq!(watcher.sync().await, strs(&["status q1 a2 w0 s1"]));
    other.logout().await;
    assert_eq!(watcher.sync().await, strs(&["status q1 a1 w0 s0"]));
    server.shutdown().await;
}

#[tokio::test]
async fn tenants_are_isolated() {
    let server = start().await;
    let addr = server.local_addr();
    let mut acme_agent = Client::acme(addr, "agent").await;
    assert_eq!(acme_agent.start_service(SALES, 0).await, 0);
    acme_agent.sync().await;
    // Same queue ID, same user IDs, other tenant.
    let mut g_cust = Client::login(addr, "globex", "cust").await;
    assert_eq!(g_cust.start_queuing(SALES).await, 0);
    assert_eq!(
        g_cust.sync().await,
        strs(&["pos q1 0", "status q1 a0 w1 s0"])
    );
    assert!(acme_agent.sync().await.is_empty());
    assert_eq!(acme_agent.req_assign().await, Err(QUE_NOUSER));
    assert_eq!(
        g_cust.start_queuing(VIP).await,
        QUE_ID_INVALID,
        "globex has no vip"
    );
    let mut g_agent = Client::login(addr, "globex", "agent").await;
    assert_eq!(g_agent.start_service(SALES, 0).await, 0);
    assert_eq!(
        g_agent.sync().await,
        strs(&["auto q1 cust", "status q1 a1 w1 s0"])
    );
    let mut a_cust = Client::acme(addr, "cust").await;
    assert_eq!(a_cust.start_queuing(SALES).await, 0);
    assert_eq!(
        acme_agent.sync().await,
        strs(&["auto q1 cust", "status q1 a1 w1 s0"])
    );
    assert!(g_agent.sync().await.is_empty());
    server.shutdown().await;
}
