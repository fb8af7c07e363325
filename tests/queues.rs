//! Call-center queues through the C ABI: customers and agents are peer processes
//! (tests/c/peer.c) against a real server with two queues per tenant.

mod common;

use common::peer::{Peer, NO_RESUME};
use common::server_process::ServerProcess;
use serde_json::{json, Value};

const CONFIG: &str = r#"
call_timeout_secs = 2
[[tenants]]
account = "demo"
password = "demo123"
[[tenants.queues]]
id = 1
name = "sales"
desc = "Sales hotline"
prio = 1
[[tenants.queues]]
id = 2
name = "support"
desc = ""
prio = 2
[[tenants]]
account = "acme"
password = "s3cret"
[[tenants.queues]]
id = 1
name = "acme-sales"
desc = ""
prio = 1
"#;

/// A peer; without resuming, so that a killed one goes offline at once.
fn user(name: &str, server: &ServerProcess) -> Peer {
    Peer::login_with(name, server.addr, NO_RESUME, "demo", "demo123", name)
}

fn json_of(line: &str, field: usize) -> Value {
    serde_json::from_str(line.split('\t').nth(field).unwrap()).unwrap()
}

/// Starts serving `que` with `prio`; waits for the result.
fn serve(agent: &mut Peer, que: i32, prio: i32) {
    let cookie = format!("serve-{que}-{prio}");
    assert_eq!(
        agent.cmd(&[
            "start_service",
            &que.to_string(),
            &prio.to_string(),
            &cookie
        ]),
        0
    );
    agent.expect(&format!("StartServiceRslt\t{que}\t0\t{cookie}"));
}

/// Starts queuing in `que`; waits for the result.
fn queue_up(customer: &mut Peer, que: i32) {
    assert_eq!(
        customer.cmd(&[
            "start_queuing",
            &que.to_string(),
            &format!("{} here", customer.name),
            "q"
        ]),
        0
    );
    customer.expect("StartQueuingRslt\t0\tq");
}

/// The n-th AutoAssignUser an agent got, as JSON.
fn assigned(agent: &Peer, n: usize) -> Value {
    json_of(&agent.wait_nth(|l| l.starts_with("AutoAssignUser\t"), n), 1)
}

fn set_dnd(p: &mut Peer, dnd: i32) {
    let cookie = format!("dnd{dnd}");
    assert_eq!(p.cmd(&["dnd", &dnd.to_string(), &cookie]), 0);
    p.expect(&format!("SetDNDStatusSuccess\t{cookie}"));
}

#[test]
fn queue_data_and_getters() {
    let server = ServerProcess::start(CONFIG);
    let mut agent = user("agent", &server);
    // Before InitQueueDat the getters answer with empty data.
    assert_eq!(agent.cmd_text(&["all_queue_info"]), "[]");
    assert_eq!(agent.cmd_text(&["queue_status", "1"]), "");
    assert_eq!(
        agent.cmd_text(&["queuing_info"]),
        r#"{"queID":-1,"position":0,"queuingTime":0}"#
    );
    assert_eq!(agent.cmd(&["queue_init", "i"]), 0);
    agent.expect("InitQueueDatRslt\t0\ti");
    assert_eq!(
        agent.cmd_text(&["all_queue_info"]),
        r#"[{"queID":1,"name":"sales","desc":"Sales hotline","prio":1},{"queID":2,"name":"support","desc":"","prio":2}]"#
    );
    assert_eq!(
        agent.cmd_text(&["queue_status", "2"]),
        r#"{"queID":2,"agent_num":0,"wait_num":0,"srv_num":0}"#
    );
    serve(&mut agent, 2, 5);
    assert_eq!(agent.cmd_text(&["serving_queues"]), "[2]");
    agent.expect(r#"QueueStatusChanged	{"queID":2,"agent_num":1,"wait_num":0,"srv_num":0}"#);
    assert_eq!(
        agent.cmd_text(&["queue_status", "2"]),
        r#"{"queID":2,"agent_num":1,"wait_num":0,"srv_num":0}"#
    );
    // Refresh: one QueueStatusChanged per queue.
    let before = agent
        .lines()
        .iter()
        .filter(|l| l.starts_with("QueueStatusChanged"))
        .count();
    assert_eq!(agent.cmd(&["queue_refresh"]), 0);
    agent.wait_nth(|l| l.starts_with("QueueStatusChanged"), before + 2);
    // Unknown queue, not served queue.
    assert_eq!(agent.cmd(&["start_service", "9", "1", "x"]), 0);
    agent.expect("StartServiceRslt\t9\t400\tx");
    assert_eq!(agent.cmd(&["stop_service", "1", "y"]), 0);
    agent.expect("StopServiceRslt\t1\t403\ty");
    assert_eq!(agent.cmd(&["accept_assign", "1", "nobody", "z"]), 0);
    agent.expect("ResponseAssignUserRslt\t403\tz");
    assert_eq!(agent.cmd(&["stop_service", "2", "s"]), 0);
    agent.expect("StopServiceRslt\t2\t0\ts");
    assert_eq!(agent.cmd_text(&["serving_queues"]), "[]");
    // Not logged in: refused at once.
    assert_eq!(agent.cmd(&["logout"]), 0);
    assert_eq!(agent.cmd(&["queue_init", "n"]), 12);
    assert_eq!(agent.cmd(&["start_queuing", "1", "", "n"]), 12);
}

#[test]
fn customers_in_arrival_order_with_positions() {
    let server = ServerProcess::start(CONFIG);
    let mut c1 = user("c1", &server);
    let mut c2 = user("c2", &server);
    let mut c3 = user("c3", &server);
    for c in [&mut c1, &mut c2, &mut c3] {
        queue_up(c, 1);
    }
    c1.expect(r#"QueuingInfoChanged	{"queID":1,"position":0,"queuingTime":0}"#);
    c3.wait_line(|l| l.starts_with(r#"QueuingInfoChanged	{"queID":1,"position":2,"#));
    // Already queuing: the same queue is fine, another one is not.
    assert_eq!(c1.cmd(&["start_queuing", "1", "", "again"]), 0);
    c1.expect("StartQueuingRslt\t0\tagain");
    assert_eq!(c1.cmd(&["start_queuing", "2", "", "other"]), 0);
    c1.expect("StartQueuingRslt\t404\tother");
    assert_eq!(c1.cmd(&["start_queuing", "7", "", "bad"]), 0);
    c1.expect("StartQueuingRslt\t400\tbad");

    let mut agent = user("agent", &server);
    serve(&mut agent, 1, 1);
    // The first comes by itself; asking for the next ends the service and brings the next.
    let mut next = assigned(&agent, 1);
    for (n, customer) in ["c1", "c2", "c3"].iter().enumerate() {
        assert_eq!(next["usrID"], *customer, "{:#?}", agent.callbacks());
        assert_eq!(next["name"], *customer);
        assert_eq!(next["queID"], 1);
        assert_eq!(next["usrExtDat"], format!("{customer} here"));
        if *customer == "c3" {
            // c1 and c2 left: c3 hears it is at the head before it is taken.
            c3.wait_line(|l| l.starts_with(r#"QueuingInfoChanged	{"queID":1,"position":0,"#));
        }
        let cookie = format!("acc{n}");
        assert_eq!(agent.cmd(&["accept_assign", "1", customer, &cookie]), 0);
        agent.expect(&format!("ResponseAssignUserRslt\t0\t{cookie}"));
        if n < 2 {
            let cookie = format!("next{n}");
            assert_eq!(agent.cmd(&["req_assign", &cookie]), 0);
            let line =
                agent.wait_line(|l| l.starts_with("ReqAssignUserRslt") && l.ends_with(&cookie));
            next = json_of(&line, 2);
        }
    }
    // Accepted customers leave the queue; those behind move up. Moves within one publication
    // interval (100 ms) are told as one, so c3 may skip 1: its places only go down, to 0.
    c1.expect(r#"QueuingInfoChanged	{"queID":-1,"position":0,"queuingTime":0}"#);
    c3.expect(r#"QueuingInfoChanged	{"queID":-1,"position":0,"queuingTime":0}"#);
    let c3_positions: Vec<i64> = c3
        .lines()
        .iter()
        .filter(|l| l.starts_with("QueuingInfoChanged") && json_of(l, 1)["queID"] == 1)
        .map(|l| json_of(l, 1)["position"].as_i64().unwrap())
        .collect();
    assert!(
        c3_positions == [2, 1, 0] || c3_positions == [2, 0],
        "{c3_positions:?}"
    );
}

#[test]
fn priority_then_longest_idle_and_no_stealing() {
    let server = ServerProcess::start(CONFIG);
    let mut low = user("low", &server);
    serve(&mut low, 1, 5);
    let mut high = user("high", &server);
    serve(&mut high, 1, 1);
    let mut c1 = user("c1", &server);
    queue_up(&mut c1, 1);
    // The lower priority number wins.
    assert_eq!(assigned(&high, 1)["usrID"], "c1");
    // While high holds c1 unanswered, c2 goes to low; high answering does not take it back.
    let mut c2 = user("c2", &server);
    queue_up(&mut c2, 1);
    assert_eq!(assigned(&low, 1)["usrID"], "c2");
    assert_eq!(high.cmd(&["reject_assign", "1", "c1", "r"]), 0);
    high.expect("ResponseAssignUserRslt\t0\tr");
    // c1 is back at the head, but low is busy and high rejected it: it waits.
    assert_eq!(low.cmd(&["accept_assign", "1", "c2", "a"]), 0);
    low.expect("ResponseAssignUserRslt\t0\ta");
    assert!(!high
        .lines()
        .iter()
        .any(|l| l.starts_with("AutoAssignUser") && l.contains("c2")));
    // Equal priorities: the one idle longest gets the next customer.
    let mut a = user("a", &server);
    serve(&mut a, 2, 3);
    let mut b = user("b", &server);
    serve(&mut b, 2, 3);
    let mut c3 = user("c3", &server);
    queue_up(&mut c3, 2);
    assert_eq!(assigned(&a, 1)["usrID"], "c3");
    assert!(!b.lines().iter().any(|l| l.starts_with("AutoAssignUser")));
}

#[test]
fn dnd_agents_ask_for_customers() {
    let server = ServerProcess::start(CONFIG);
    let mut agent = user("agent", &server);
    set_dnd(&mut agent, 1);
    serve(&mut agent, 1, 1);
    assert_eq!(agent.cmd(&["req_assign", "empty"]), 0);
    agent.expect("ReqAssignUserRslt\t401\t\tempty");
    let mut c1 = user("c1", &server);
    queue_up(&mut c1, 1);
    let mut c2 = user("c2", &server);
    queue_up(&mut c2, 1);
    assert_eq!(agent.cmd(&["req_assign", "got"]), 0);
    let line = agent.wait_line(|l| l.starts_with("ReqAssignUserRslt\t0\t"));
    assert_eq!(json_of(&line, 2)["usrID"], "c1");
    assert!(!agent
        .lines()
        .iter()
        .any(|l| l.starts_with("AutoAssignUser")));
    assert_eq!(agent.cmd(&["accept_assign", "1", "c1", "a"]), 0);
    agent.expect("ResponseAssignUserRslt\t0\ta");
    // Asking again ends the service with c1 and brings the next customer.
    assert_eq!(agent.cmd(&["req_assign", "next"]), 0);
    let line = agent.wait_nth(|l| l.starts_with("ReqAssignUserRslt\t0\t"), 2);
    assert_eq!(json_of(&line, 2)["usrID"], "c2");
    assert_eq!(agent.cmd(&["reject_assign", "1", "c2", "r"]), 0);
    agent.expect("ResponseAssignUserRslt\t0\tr");
    // DND off while a customer waits: assignment happens by itself (to another agent, since
    // this one rejected c2).
    let mut helper = user("helper", &server);
    set_dnd(&mut helper, 1);
    serve(&mut helper, 1, 1);
    set_dnd(&mut helper, 0);
    assert_eq!(assigned(&helper, 1)["usrID"], "c2");
    // An agent serving nothing cannot ask.
    let mut idle = user("idle", &server);
    assert_eq!(idle.cmd(&["req_assign", "x"]), 0);
    idle.expect("ReqAssignUserRslt\t403\t\tx");
}

#[test]
fn unanswered_assignments_time_out_and_rejected_ones_move_on() {
    let server = ServerProcess::start(CONFIG);
    let mut slow = user("slow", &server);
    serve(&mut slow, 1, 1);
    let mut c1 = user("c1", &server);
    queue_up(&mut c1, 1);
    assert_eq!(assigned(&slow, 1)["usrID"], "c1");
    // Not answered within call_timeout_secs: withdrawn, and c1 stays at the head.
    slow.expect("CancelAssignUser\t1\tc1");
    assert_eq!(slow.cmd(&["accept_assign", "1", "c1", "late"]), 0);
    slow.expect("ResponseAssignUserRslt\t402\tlate");
    // Another agent gets c1 next.
    let mut quick = user("quick", &server);
    serve(&mut quick, 1, 2);
    assert_eq!(assigned(&quick, 1)["usrID"], "c1");
    assert_eq!(quick.cmd(&["accept_assign", "1", "c1", "ok"]), 0);
    quick.expect("ResponseAssignUserRslt\t0\tok");
    c1.expect(r#"QueuingInfoChanged	{"queID":-1,"position":0,"queuingTime":0}"#);
}

#[test]
fn a_lone_agent_gets_back_the_customer_it_passed_over() {
    let server = ServerProcess::start(CONFIG);
    let mut agent = user("agent", &server);
    serve(&mut agent, 1, 1);
    let mut c1 = user("c1", &server);
    queue_up(&mut c1, 1);
    assert_eq!(assigned(&agent, 1)["usrID"], "c1");
    agent.expect("CancelAssignUser\t1\tc1");
    // The only customer, the only agent: asking brings it back, not QUE_NOUSER.
    assert_eq!(agent.cmd(&["req_assign", "ask"]), 0);
    let line = agent.wait_line(|l| l.starts_with("ReqAssignUserRslt") && l.ends_with("\task"));
    assert!(line.starts_with("ReqAssignUserRslt\t0\t"), "{line}");
    assert_eq!(json_of(&line, 2)["usrID"], "c1");
    // Rejected: no other agent takes it within call_timeout_secs, so it is offered again.
    assert_eq!(agent.cmd(&["reject_assign", "1", "c1", "r"]), 0);
    agent.expect("ResponseAssignUserRslt\t0\tr");
    assert_eq!(assigned(&agent, 2)["usrID"], "c1");
}

#[test]
fn leaving_customers_and_agents_leave_cleanly() {
    let server = ServerProcess::start(CONFIG);
    let mut agent = user("agent", &server);
    serve(&mut agent, 1, 1);
    // A customer with a pending assignment goes away: the agent is told.
    let mut c1 = user("c1", &server);
    queue_up(&mut c1, 1);
    assert_eq!(assigned(&agent, 1)["usrID"], "c1");
    c1.signal("KILL");
    agent.expect("CancelAssignUser\t1\tc1");
    agent.wait_line(|l| {
        l == r#"QueueStatusChanged	{"queID":1,"agent_num":1,"wait_num":0,"srv_num":0}"#
    });
    // A customer that stops queuing while assigned: the same.
    let mut c2 = user("c2", &server);
    queue_up(&mut c2, 1);
    assert_eq!(assigned(&agent, 2)["usrID"], "c2");
    assert_eq!(c2.cmd(&["stop_queuing", "bye"]), 0);
    c2.expect("StopQueuingRslt\t0\tbye");
    agent.expect("CancelAssignUser\t1\tc2");
    // Stop twice is harmless.
    assert_eq!(c2.cmd(&["stop_queuing", "again"]), 0);
    c2.expect("StopQueuingRslt\t0\tagain");
    // An agent with a pending assignment goes away: the customer goes to another agent.
    let mut other = user("other", &server);
    serve(&mut other, 1, 9);
    let mut c3 = user("c3", &server);
    queue_up(&mut c3, 1);
    assert_eq!(assigned(&agent, 3)["usrID"], "c3");
    agent.signal("KILL");
    assert_eq!(assigned(&other, 1)["usrID"], "c3");
    other.wait_line(|l| l.starts_with(r#"QueueStatusChanged	{"queID":1,"agent_num":1,"#));
}

#[test]
fn status_notifications_and_busy_presence_during_service() {
    let server = ServerProcess::start(CONFIG);
    let mut watcher = user("watcher", &server);
    assert_eq!(watcher.cmd(&["notify_start", "w"]), 0);
    watcher.expect("StartUserStatusNotifyRslt\t0\tw");
    let mut agent = user("agent", &server);
    serve(&mut agent, 1, 1);
    agent.expect(r#"QueueStatusChanged	{"queID":1,"agent_num":1,"wait_num":0,"srv_num":0}"#);
    let mut c1 = user("c1", &server);
    queue_up(&mut c1, 1);
    let waiting = r#"QueueStatusChanged	{"queID":1,"agent_num":1,"wait_num":1,"srv_num":0}"#;
    agent.expect(waiting);
    c1.expect(waiting);
    assert_eq!(assigned(&agent, 1)["usrID"], "c1");
    assert_eq!(agent.cmd(&["accept_assign", "1", "c1", "a"]), 0);
    agent.expect(r#"QueueStatusChanged	{"queID":1,"agent_num":1,"wait_num":0,"srv_num":1}"#);
    // In service: busy for everyone; calls from others than its customer are refused.
    watcher.expect(r#"NotifyUserStatus	{"userID":"agent","userStatus":2,"DNDType":0}	w"#);
    let other = watcher.cmd_text(&["call", "agent", "", "", "busy"]);
    watcher.expect(&format!("CallFail\t{other}\t602\tbusy"));
    // The agent calls the customer; when that call ends, so does the service.
    let id = agent.cmd_text(&["call", "c1", "", "", "call"]);
    c1.wait_line(|l| l.starts_with(&format!("NotifyCallIn\t{id}")));
    assert_eq!(c1.cmd(&["accept", &id, "", "", "acc"]), 0);
    agent.wait_line(|l| l.starts_with(&format!("NotifyCallAccepted\t{id}")));
    assert_eq!(agent.cmd(&["hangup", &id, "", "h"]), 0);
    agent.expect(r#"QueueStatusChanged	{"queID":1,"agent_num":1,"wait_num":0,"srv_num":0}"#);
    watcher
        .wait_line(|l| l == r#"NotifyUserStatus	{"userID":"agent","userStatus":1,"DNDType":0}	w"#);
    // Customers that left hear no more of the queue.
    let after = c1
        .lines()
        .iter()
        .filter(|l| l.starts_with("QueueStatusChanged"))
        .count();
    let mut c2 = user("c2", &server);
    queue_up(&mut c2, 1);
    agent.wait_line(|l| l.contains(r#""wait_num":1"#) && l.starts_with("QueueStatusChanged"));
    assert_eq!(
        c1.lines()
            .iter()
            .filter(|l| l.starts_with("QueueStatusChanged"))
            .count(),
        after
    );
}

#[test]
fn tenants_keep_their_queues_apart() {
    let server = ServerProcess::start(CONFIG);
    let mut demo_agent = user("agent", &server);
    serve(&mut demo_agent, 1, 1);
    let mut acme_customer = Peer::login("acme-c", server.addr, "acme", "s3cret", "c1");
    assert_eq!(acme_customer.cmd(&["queue_init", "i"]), 0);
    acme_customer.expect("InitQueueDatRslt\t0\ti");
    let infos: Value = serde_json::from_str(&acme_customer.cmd_text(&["all_queue_info"])).unwrap();
    assert_eq!(
        infos,
        json!([{"queID":1,"name":"acme-sales","desc":"","prio":1}])
    );
    queue_up(&mut acme_customer, 1);
    // The demo agent of the demo queue 1 never hears of acme's customer.
    let mut demo_customer = user("c1", &server);
    queue_up(&mut demo_customer, 1);
    assert_eq!(assigned(&demo_agent, 1)["usrID"], "c1");
    assert_eq!(
        demo_agent
            .lines()
            .iter()
            .filter(|l| l.starts_with("AutoAssignUser"))
            .count(),
        1
    );
    assert!(!acme_customer
        .lines()
        .iter()
        .any(|l| l.contains(r#""agent_num":1"#)));
}
