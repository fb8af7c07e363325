//! Calls and invitations through the C ABI, between peer processes (tests/c/peer.c).

mod common;

use common::peer::{Peer, NO_RESUME};
use common::*;

const MEET: &str = r#"{"ID":36526251,"pswd":"123456"}"#;

/// A peer; without resuming, so that a killed one goes offline at once.
fn user(name: &str, addr: std::net::SocketAddr) -> Peer {
    Peer::login_with(name, addr, NO_RESUME, "demo", "demo123", name)
}

/// A subscribed observer; returns it with the lines it has seen so far consumed.
fn watcher(addr: std::net::SocketAddr) -> Peer {
    let mut w = user("watcher", addr);
    assert_eq!(w.cmd(&["notify_start", "w"]), 0);
    w.expect("StartUserStatusNotifyRslt\t0\tw");
    w
}

fn status_line(user: &str, status: i32) -> String {
    format!(r#"NotifyUserStatus	{{"userID":"{user}","userStatus":{status},"DNDType":0}}	w"#)
}

/// The user's status notifications the watcher saw, as a list of statuses.
fn statuses(w: &Peer, user: &str) -> Vec<i32> {
    let prefix = format!(r#"NotifyUserStatus	{{"userID":"{user}","userStatus":"#);
    w.lines()
        .iter()
        .filter_map(|l| l.strip_prefix(&prefix))
        .map(|rest| rest[..1].parse().unwrap())
        .collect()
}

/// Starts a call from `caller` to `callee`; waits until it rings and the caller heard so.
fn ring(caller: &mut Peer, callee: &Peer, meet: &str, ext: &str) -> String {
    let id = caller.cmd_text(&["call", &callee.name, meet, ext, "ck"]);
    assert_eq!(id.len(), 32, "{id}");
    callee.expect(&format!(
        "NotifyCallIn\t{id}\t{meet}\t{}\t{ext}",
        caller.name
    ));
    caller.expect(&format!("CallSuccess\t{id}\tck"));
    id
}

#[test]
fn call_accepted_then_hung_up_by_the_caller() {
    let server = start_server();
    let addr = server.addr();
    let w = watcher(addr);
    let mut alice = user("alice", addr);
    let mut bob = user("bob", addr);
    let id = ring(&mut alice, &bob, MEET, "hello bob");
    w.expect(&status_line("alice", 2));
    w.expect(&status_line("bob", 2));

    // The callee passes no meetObj: the caller gets its own back.
    assert_eq!(bob.cmd(&["accept", &id, "", "yes", "acc"]), 0);
    bob.expect(&format!("AcceptCallSuccess\t{id}\tacc"));
    alice.expect(&format!("NotifyCallAccepted\t{id}\t{MEET}\tyes"));

    assert_eq!(alice.cmd(&["hangup", &id, "bye", "h"]), 0);
    alice.expect(&format!("HangupCallSuccess\t{id}\th"));
    bob.expect(&format!("NotifyCallHungup\t{id}\tbye"));
    // Idle again: the second "1" of each (the first came at login). The watcher's events are
    // not ordered with alice's and bob's barrier below, so wait for them here.
    for who in ["alice", "bob"] {
        let idle = status_line(who, 1);
        w.wait_nth(|l| l == idle, 2);
    }

    // Each event once, nothing else: a barrier request answered after everything.
    for p in [&mut alice, &mut bob] {
        assert_eq!(p.cmd(&["get_status", "barrier"]), 0);
        p.wait_line(|l| l.starts_with("GetUserStatusSuccess"));
    }
    let calls_of = |p: &Peer| -> Vec<String> {
        p.callbacks()
            .into_iter()
            .filter(|l| l.contains(&id))
            .collect()
    };
    assert_eq!(
        calls_of(&alice),
        vec![
            format!("CallSuccess\t{id}\tck"),
            format!("NotifyCallAccepted\t{id}\t{MEET}\tyes"),
            format!("HangupCallSuccess\t{id}\th"),
        ]
    );
    assert_eq!(
        calls_of(&bob),
        vec![
            format!("NotifyCallIn\t{id}\t{MEET}\talice\thello bob"),
            format!("AcceptCallSuccess\t{id}\tacc"),
            format!("NotifyCallHungup\t{id}\tbye"),
        ]
    );
    assert_eq!(statuses(&w, "alice"), vec![1, 2, 1]);
    assert_eq!(statuses(&w, "bob"), vec![1, 2, 1]);
}

#[test]
fn the_callees_meet_obj_reaches_the_caller_unchanged() {
    let server = start_server();
    let mut alice = user("alice", server.addr());
    let mut bob = user("bob", server.addr());
    let id = ring(&mut alice, &bob, "", "");
    let theirs = r#"{ "ID" : 7, "pswd":"x", "extra":[1,2,{"é":null}] }"#;
    assert_eq!(bob.cmd(&["accept", &id, theirs, "", "a"]), 0);
    alice.expect(&format!("NotifyCallAccepted\t{id}\t{theirs}\t"));
    // A meetObj that is not a JSON object is refused at the call.
    assert_eq!(bob.cmd(&["hangup", &id, "", "h"]), 0);
    let bad = alice.cmd_text(&["call", "bob", "[1,2]", "", "bad"]);
    alice.expect(&format!("CallFail\t{bad}\t5\tbad"));
}

#[test]
fn reject_and_hangups_at_every_stage() {
    let server = start_server();
    let addr = server.addr();
    let w = watcher(addr);
    let mut alice = user("alice", addr);
    let mut bob = user("bob", addr);

    // Rejected.
    let id = ring(&mut alice, &bob, MEET, "");
    assert_eq!(bob.cmd(&["reject", &id, "busy now", "r"]), 0);
    bob.expect(&format!("RejectCallSuccess\t{id}\tr"));
    alice.expect(&format!("NotifyCallRejected\t{id}\t606\tbusy now"));
    // Ended: no second answer.
    assert_eq!(bob.cmd(&["accept", &id, "", "", "late"]), 0);
    bob.expect(&format!("AcceptCallFail\t{id}\t600\tlate"));

    // The caller hangs up while it rings.
    let id = ring(&mut alice, &bob, MEET, "");
    assert_eq!(alice.cmd(&["hangup", &id, "oops", "h1"]), 0);
    alice.expect(&format!("HangupCallSuccess\t{id}\th1"));
    bob.expect(&format!("NotifyCallHungup\t{id}\toops"));

    // The callee hangs up while it rings.
    let id = ring(&mut alice, &bob, MEET, "");
    assert_eq!(bob.cmd(&["hangup", &id, "no", "h2"]), 0);
    alice.expect(&format!("NotifyCallHungup\t{id}\tno"));

    // The callee hangs up while talking.
    let id = ring(&mut alice, &bob, MEET, "");
    assert_eq!(bob.cmd(&["accept", &id, "", "", "a"]), 0);
    alice.expect(&format!("NotifyCallAccepted\t{id}\t{MEET}\t"));
    assert_eq!(bob.cmd(&["hangup", &id, "done", "h3"]), 0);
    bob.expect(&format!("HangupCallSuccess\t{id}\th3"));
    alice.expect(&format!("NotifyCallHungup\t{id}\tdone"));
    assert_eq!(alice.cmd(&["hangup", &id, "", "again"]), 0);
    alice.expect(&format!("HangupCallFail\t{id}\t600\tagain"));

    w.wait_nth(|l| *l == status_line("bob", 1), 5);
    assert_eq!(statuses(&w, "alice"), vec![1, 2, 1, 2, 1, 2, 1, 2, 1]);
}

#[test]
fn no_answer_times_out() {
    let server = start_server();
    let mut alice = user("alice", server.addr());
    let mut bob = user("bob", server.addr());
    let started = std::time::Instant::now();
    let id = ring(&mut alice, &bob, MEET, "");
    alice.expect(&format!("NotifyCallRejected\t{id}\t604\t"));
    bob.expect(&format!("NotifyCallHungup\t{id}\t"));
    let took = started.elapsed();
    assert!(
        took >= std::time::Duration::from_secs(TEST_CALL_TIMEOUT_SECS),
        "{took:?}"
    );
    assert_eq!(bob.cmd(&["accept", &id, "", "", "late"]), 0);
    bob.expect(&format!("AcceptCallFail\t{id}\t600\tlate"));
    // Both are free again.
    let id = ring(&mut alice, &bob, "", "");
    assert_eq!(bob.cmd(&["accept", &id, "", "", "a"]), 0);
    alice.expect(&format!("NotifyCallAccepted\t{id}\t\t"));
}

#[test]
fn calls_that_cannot_be_placed() {
    let server = start_server();
    let addr = server.addr();
    let mut alice = user("alice", addr);
    let mut bob = user("bob", addr);
    let mut carol = user("carol", addr);
    let fail = |p: &mut Peer, callee: &str, code: i32| {
        let id = p.cmd_text(&["call", callee, "", "", "f"]);
        p.expect(&format!("CallFail\t{id}\t{code}\tf"));
    };
    // Never logged in: unknown; logged in once, now gone: offline.
    fail(&mut alice, "nobody", 605);
    let mut dave = user("dave", addr);
    assert_eq!(dave.cmd(&["logout"]), 0);
    eventually("dave is offline", || {
        !server.online_users("demo").contains(&"dave".to_string())
    });
    fail(&mut alice, "dave", 603);
    // Another tenant's user is unknown here.
    let _acme = Peer::login("acme-erin", addr, "acme", "s3cret", "erin");
    fail(&mut alice, "erin", 605);
    // Calling yourself.
    fail(&mut alice, "alice", 5);
    // Do-not-disturb.
    assert_eq!(carol.cmd(&["dnd", "1", "d"]), 0);
    carol.expect("SetDNDStatusSuccess\td");
    fail(&mut alice, "carol", 602);
    assert_eq!(carol.cmd(&["dnd", "0", "d0"]), 0);
    carol.expect("SetDNDStatusSuccess\td0");
    // Bob rings (and then talks) with alice: busy for carol; alice cannot call again.
    let id = ring(&mut alice, &bob, "", "");
    fail(&mut carol, "bob", 602);
    fail(&mut carol, "alice", 602);
    fail(&mut alice, "carol", 601);
    assert_eq!(bob.cmd(&["accept", &id, "", "", "a"]), 0);
    alice.expect(&format!("NotifyCallAccepted\t{id}\t\t"));
    fail(&mut carol, "bob", 602);
    fail(&mut bob, "carol", 601);
    // Nobody but the callee answers, nobody but a party hangs up.
    assert_eq!(carol.cmd(&["hangup", &id, "", "guess"]), 0);
    carol.expect(&format!("HangupCallFail\t{id}\t600\tguess"));
    assert_eq!(alice.cmd(&["accept", &id, "", "", "self"]), 0);
    alice.expect(&format!("AcceptCallFail\t{id}\t600\tself"));
    assert_eq!(
        carol.cmd(&["reject", "0123456789abcdef0123456789abcdef", "", "r"]),
        0
    );
    carol.expect("RejectCallFail\t0123456789abcdef0123456789abcdef\t600\tr");
    // The call is untouched by all that.
    assert_eq!(bob.cmd(&["hangup", &id, "", "h"]), 0);
    alice.expect(&format!("NotifyCallHungup\t{id}\t"));
    assert!(!alice
        .lines()
        .iter()
        .any(|l| l.starts_with("NotifyCallHungup") && l.contains("guess")));
}

#[test]
fn a_party_going_offline_hangs_up() {
    let server = start_server();
    let addr = server.addr();
    let w = watcher(addr);
    let mut alice = user("alice", addr);
    // The callee's process dies while talking.
    let mut bob = user("bob", addr);
    let id = ring(&mut alice, &bob, MEET, "");
    assert_eq!(bob.cmd_text(&["accept", &id, "", "", "a"]), "0");
    alice.expect(&format!("NotifyCallAccepted\t{id}\t{MEET}\t"));
    bob.signal("KILL");
    alice.expect(&format!("NotifyCallHungup\t{id}\t"));
    w.expect(&status_line("bob", 0));
    w.wait_nth(|l| *l == status_line("alice", 1), 2);

    // The caller logs out while it rings.
    let bob = user("bob", addr);
    let id = ring(&mut alice, &bob, MEET, "");
    assert_eq!(alice.cmd(&["logout"]), 0);
    bob.expect(&format!("NotifyCallHungup\t{id}\t"));
    // The callee's process freezes while it rings: the heartbeat ends the call.
    let mut carol = user("carol", addr);
    let id = ring(&mut carol, &bob, "", "");
    bob.signal("STOP");
    carol.expect(&format!("NotifyCallHungup\t{id}\t"));
}

#[test]
fn invitations() {
    let server = start_server();
    let addr = server.addr();
    let w = watcher(addr);
    let mut alice = user("alice", addr);
    let mut bob = user("bob", addr);
    let invite = |alice: &mut Peer, bob: &Peer, cookie: &str| {
        let id = alice.cmd_text(&["invite", "bob", MEET, cookie]);
        alice.expect(&format!("ClientInviteRslt\t{id}\t0\t{cookie}"));
        alice.expect(&format!("NotifyInviteStatus\t{id}\t0"));
        bob.expect(&format!("NotifyCallIn\t{id}\t{MEET}\talice\t"));
        id
    };

    // Accepted, then hung up by the invitee.
    let id = invite(&mut alice, &bob, "i1");
    assert_eq!(bob.cmd(&["accept", &id, "", "", "a"]), 0);
    alice.expect(&format!("NotifyInviteStatus\t{id}\t1"));
    assert_eq!(bob.cmd(&["hangup", &id, "", "h"]), 0);
    alice.expect(&format!("NotifyInviteStatus\t{id}\t4"));
    // Rejected.
    let id = invite(&mut alice, &bob, "i2");
    assert_eq!(bob.cmd(&["reject", &id, "", "r"]), 0);
    alice.expect(&format!("NotifyInviteStatus\t{id}\t2"));
    // Not answered.
    let id = invite(&mut alice, &bob, "i3");
    alice.expect(&format!("NotifyInviteStatus\t{id}\t3"));
    bob.expect(&format!("NotifyCallHungup\t{id}\t"));
    // Withdrawn while it rings; then it is gone.
    let id = invite(&mut alice, &bob, "i4");
    assert_eq!(alice.cmd(&["cancel_invite", &id, "c"]), 0);
    alice.expect(&format!("ClientCancelInviteRslt\t{id}\t0\tc"));
    bob.expect(&format!("NotifyCallHungup\t{id}\t"));
    assert_eq!(alice.cmd(&["cancel_invite", &id, "c2"]), 0);
    alice.expect(&format!("ClientCancelInviteRslt\t{id}\t600\tc2"));
    // The invitee's process dies while it rings: no answer.
    let carol = user("carol", addr);
    let id = alice.cmd_text(&["invite", "carol", MEET, "i5"]);
    carol.expect(&format!("NotifyCallIn\t{id}\t{MEET}\talice\t"));
    carol.signal("KILL");
    alice.expect(&format!("NotifyInviteStatus\t{id}\t3"));
    // Errors as for calls.
    let id = alice.cmd_text(&["invite", "nobody", "", "i6"]);
    alice.expect(&format!("ClientInviteRslt\t{id}\t605\ti6"));
    let id = alice.cmd_text(&["invite", "alice", "", "i7"]);
    alice.expect(&format!("ClientInviteRslt\t{id}\t5\ti7"));

    // Each invitation's statuses came once each; the inviter was never busy.
    for status in 0..=4 {
        let n = alice
            .lines()
            .iter()
            .filter(|l| l.starts_with("NotifyInviteStatus") && l.ends_with(&format!("\t{status}")))
            .count();
        let expected = [5, 1, 1, 2, 1][status];
        assert_eq!(n, expected, "status {status}");
    }
    assert_eq!(statuses(&w, "alice"), vec![1]);
    assert_eq!(statuses(&w, "bob"), vec![1, 2, 1, 2, 1, 2, 1, 2, 1]);
}

#[test]
fn one_inviter_may_ring_several_people() {
    let server = start_server();
    let addr = server.addr();
    let mut alice = user("alice", addr);
    let mut bob = user("bob", addr);
    let carol = user("carol", addr);
    let b = alice.cmd_text(&["invite", "bob", MEET, "b"]);
    let c = alice.cmd_text(&["invite", "carol", MEET, "c"]);
    bob.expect(&format!("NotifyCallIn\t{b}\t{MEET}\talice\t"));
    carol.expect(&format!("NotifyCallIn\t{c}\t{MEET}\talice\t"));
    assert_eq!(bob.cmd(&["accept", &b, "", "", "a"]), 0);
    alice.expect(&format!("NotifyInviteStatus\t{b}\t1"));
    // While inviting, alice can still place a call of her own.
    let id = alice.cmd_text(&["call", "dave-not-here", "", "", "x"]);
    alice.expect(&format!("CallFail\t{id}\t605\tx"));
    // The inviter going away ends what is open: the invitees are told.
    drop(alice);
    bob.expect(&format!("NotifyCallHungup\t{b}\t"));
    carol.expect(&format!("NotifyCallHungup\t{c}\t"));
}
