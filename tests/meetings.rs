//! Meetings through the C ABI, and their durability across restarts and kill -9.

mod common;

use common::peer::Peer;
use common::server_process::ServerProcess;
use common::*;
use crvideosdk::ffi::calls::*;
use crvideosdk::ffi::lifecycle::*;
use crvideosdk::ffi::meetings::*;
use serde_json::Value;

fn user(name: &str, addr: std::net::SocketAddr) -> Peer {
    Peer::login(name, addr, "demo", "demo123", name)
}

/// Creates a meeting; returns its MeetInfoObj.
fn create(p: &mut Peer, subject: &str, pswd: i32) -> Value {
    let cookie = format!("create-{subject}");
    assert_eq!(
        p.cmd(&["create_meeting", subject, &pswd.to_string(), &cookie]),
        0
    );
    let line =
        p.wait_line(|l| l.starts_with("CreateMeeting") && l.ends_with(&format!("\t{cookie}")));
    let json = line
        .strip_prefix("CreateMeetingSuccess\t")
        .unwrap_or_else(|| panic!("{line}"))
        .rsplit_once('\t')
        .unwrap()
        .0;
    serde_json::from_str(json).unwrap()
}

/// The meetings the peer's GetMeetings lists.
fn list(p: &mut Peer, cookie: &str) -> Vec<Value> {
    assert_eq!(p.cmd(&["get_meetings", cookie]), 0);
    let line = p.wait_line(|l| l.starts_with("GetMeetings") && l.ends_with(&format!("\t{cookie}")));
    let json = line
        .strip_prefix("GetMeetingsSuccess\t")
        .unwrap()
        .rsplit_once('\t')
        .unwrap()
        .0;
    serde_json::from_str::<Vec<Value>>(json).unwrap()
}

const DEMO_TENANT: &str = "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n";

#[test]
fn create_list_destroy() {
    let server = start_server();
    let addr = server.addr();
    let mut alice = user("alice", addr);
    let mut bob = user("bob", addr);

    let weekly = create(&mut alice, "weekly", 0);
    let mut keys: Vec<&str> = weekly
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "ID",
            "creator",
            "memberCount",
            "pswd",
            "pubMeetUrl",
            "startTime",
            "subject"
        ]
    );
    assert_eq!(weekly["subject"], "weekly");
    assert_eq!(weekly["pswd"], "");
    assert_eq!(weekly["creator"], "alice");
    assert_eq!(weekly["memberCount"], 0);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((weekly["startTime"].as_i64().unwrap() - now).abs() < 60);
    // A password is generated on request.
    let secret = create(&mut bob, "secret", 1);
    let pswd = secret["pswd"].as_str().unwrap();
    assert!(
        !pswd.is_empty() && pswd.bytes().all(|b| b.is_ascii_digit()),
        "{pswd}"
    );
    // 50 characters are fine even when they are 150 bytes; 51 are not.
    let long = "会".repeat(50);
    assert_eq!(create(&mut alice, &long, 0)["subject"], long.as_str());
    assert_eq!(
        alice.cmd(&["create_meeting", &"x".repeat(51), "0", "too-long"]),
        5
    );

    // IDs: positive, unique, not sequential.
    let mut ids: Vec<i64> = (0..6)
        .map(|i| {
            create(&mut alice, &format!("m{i}"), 0)["ID"]
                .as_i64()
                .unwrap()
        })
        .collect();
    assert!(ids.iter().all(|&id| id > 0 && id <= i32::MAX as i64));
    let consecutive = ids.windows(2).filter(|w| w[1] == w[0] + 1).count();
    assert!(consecutive < 2, "sequential IDs: {ids:?}");
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 6);

    // Everyone in the tenant sees every meeting; another tenant sees none of them.
    let listed = list(&mut bob, "l1");
    assert_eq!(listed.len(), 9);
    assert!(listed.contains(&weekly) && listed.contains(&secret));
    let mut erin = Peer::login("erin", addr, "acme", "s3cret", "erin");
    assert!(list(&mut erin, "acme").is_empty());

    // Only the creator destroys; unknown IDs are MEETNOTEXIST; so is another tenant's.
    let id = weekly["ID"].to_string();
    assert_eq!(bob.cmd(&["destroy_meeting", &id, "d1"]), 0);
    bob.expect("DestroyMeetingRslt\t23\td1");
    assert_eq!(erin.cmd(&["destroy_meeting", &id, "d2"]), 0);
    erin.expect("DestroyMeetingRslt\t800\td2");
    assert_eq!(alice.cmd(&["destroy_meeting", &id, "d3"]), 0);
    alice.expect("DestroyMeetingRslt\t0\td3");
    assert_eq!(alice.cmd(&["destroy_meeting", &id, "d4"]), 0);
    alice.expect("DestroyMeetingRslt\t800\td4");
    assert_eq!(list(&mut bob, "l2").len(), 8);
    assert!(!list(&mut bob, "l3").contains(&weekly));
}

#[test]
fn meetings_survive_restart_and_kill_9() {
    let mut server = ServerProcess::start(DEMO_TENANT);
    let mut alice = user("alice", server.addr);
    let first = create(&mut alice, "before TERM", 1);
    drop(alice);

    server.restart("TERM");
    let mut alice = user("alice", server.addr);
    assert_eq!(list(&mut alice, "after-term"), vec![first.clone()]);
    // Acknowledged just before a kill -9: still there.
    let second = create(&mut alice, "before KILL", 0);
    server.restart("KILL");
    drop(alice);
    let mut bob = user("bob", server.addr);
    // (Listed oldest first; two made in the same second come in ID order.)
    let by_id = |mut v: Vec<Value>| {
        v.sort_by_key(|m| m["ID"].as_i64());
        v
    };
    let listed = list(&mut bob, "after-kill");
    assert_eq!(by_id(listed), by_id(vec![first.clone(), second.clone()]));
    // Users seen before the restart are still known: offline, not unknown.
    let id = bob.cmd_text(&["call", "alice", "", "", "c"]);
    bob.expect(&format!("CallFail\t{id}\t603\tc"));
    // And destroy works on restored meetings.
    let mut alice = user("alice", server.addr);
    assert_eq!(
        alice.cmd(&["destroy_meeting", &first["ID"].to_string(), "d"]),
        0
    );
    alice.expect("DestroyMeetingRslt\t0\td");
    server.restart("KILL");
    let mut carol = user("carol", server.addr);
    assert_eq!(list(&mut carol, "final"), vec![second]);
}

#[test]
fn meeting_and_call_calls_through_the_in_process_sdk() {
    let _g = serial();
    // Before Init: ID-returning calls return NULL.
    let callee = cstr("bob");
    assert!(unsafe {
        CRVideo_Call(
            callee.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            std::ptr::null(),
        )
    }
    .is_null());
    assert!(
        unsafe { CRVideo_ClientInvite(callee.as_ptr(), std::ptr::null(), std::ptr::null()) }
            .is_null()
    );
    let subject = cstr("s");
    assert_eq!(
        unsafe { CRVideo_CreateMeeting(subject.as_ptr(), 0, std::ptr::null()) },
        11
    );

    let server = start_server();
    init_with_server(server.addr());
    // Not logged in: an int request says so at once; an ID request through its callback.
    assert_eq!(
        unsafe { CRVideo_CreateMeeting(subject.as_ptr(), 0, std::ptr::null()) },
        12
    );
    assert_eq!(unsafe { CRVideo_GetMeetings(std::ptr::null()) }, 12);
    let cookie = cstr("c1");
    let id = unsafe {
        CRVideo_Call(
            callee.as_ptr(),
            std::ptr::null(),
            std::ptr::null(),
            cookie.as_ptr(),
        )
    };
    assert!(!id.is_null());
    let id_text = unsafe { std::ffi::CStr::from_ptr(id) }
        .to_str()
        .unwrap()
        .to_owned();
    unsafe { CRVideo_FreeString(id) };
    assert_eq!(
        RECORDER.wait_count(1)[0],
        Ev::CallFail {
            call_id: id_text,
            sdk_err: 12,
            cookie: "c1".into()
        }
    );

    login_ok("alice");
    // Bad arguments: the ID still comes back, and its failure callback carries PARAM_ERR.
    let bad_meet = cstr("not json");
    let cookie = cstr("c2");
    let id = unsafe {
        CRVideo_Call(
            callee.as_ptr(),
            bad_meet.as_ptr(),
            std::ptr::null(),
            cookie.as_ptr(),
        )
    };
    let id_text = unsafe { std::ffi::CStr::from_ptr(id) }
        .to_str()
        .unwrap()
        .to_owned();
    unsafe { CRVideo_FreeString(id) };
    RECORDER.wait_for(|e| {
        *e == Ev::CallFail {
            call_id: id_text.clone(),
            sdk_err: 5,
            cookie: "c2".into(),
        }
    });
    let cookie = cstr("c3");
    let id = unsafe { CRVideo_ClientInvite(std::ptr::null(), std::ptr::null(), cookie.as_ptr()) };
    let id_text = unsafe { std::ffi::CStr::from_ptr(id) }
        .to_str()
        .unwrap()
        .to_owned();
    unsafe { CRVideo_FreeString(id) };
    RECORDER.wait_for(|e| {
        *e == Ev::ClientInviteRslt {
            invite_id: id_text.clone(),
            sdk_err: 5,
            cookie: "c3".into(),
        }
    });
    // Int requests with bad arguments: PARAM_ERR at once.
    assert_eq!(
        unsafe {
            CRVideo_AcceptCall(
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
                std::ptr::null(),
            )
        },
        5
    );
    let some = cstr("x");
    assert_eq!(
        unsafe {
            CRVideo_AcceptCall(
                some.as_ptr(),
                c"[]".as_ptr(),
                std::ptr::null(),
                std::ptr::null(),
            )
        },
        5
    );
    assert_eq!(
        unsafe { CRVideo_CreateMeeting(std::ptr::null(), 0, std::ptr::null()) },
        5
    );
    // A real one works, with a NULL cookie meaning "".
    assert_eq!(
        unsafe { CRVideo_CreateMeeting(subject.as_ptr(), 1, std::ptr::null()) },
        0
    );
    match RECORDER.wait_for(|e| matches!(e, Ev::CreateMeetingSuccess { .. })) {
        Ev::CreateMeetingSuccess {
            meet_obj_json: json,
            cookie,
        } => {
            assert_eq!(cookie, "");
            let m: Value = serde_json::from_str(&json).unwrap();
            assert_eq!(m["creator"], "alice");
        }
        _ => unreachable!(),
    }
    CRVideo_Uninit();
}
