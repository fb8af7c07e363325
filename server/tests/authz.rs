//! Authorization audit: every operation on a call, invitation, transfer, command, meeting or
//! queue assignment, tried by an outsider — a user of another tenant (globex's "ben", the
//! same user ID as the real party) and a user of the same tenant who is not a party (acme's
//! "cal") — is refused, and nothing changes: the real parties hear nothing and carry on.

mod support;

use crvideo_proto::data::{decode_data, encode_chunk, encode_command, DataFrame};
use crvideo_proto::{ErrorCode, Event, INVITE_RINGING};
use crvideo_server::Server;
use serde_json::json;
use support::{login, Client};

const INVALID_CALLID: i32 = ErrorCode::InvalidCallId as i32;
const TRANSID_INVALID: i32 = ErrorCode::TransIdInvalid as i32;

/// acme's amy and ben (the parties), acme's cal and globex's ben (the outsiders).
struct Scene {
    _server: Server,
    amy: Client,
    ben: Client,
    cal: Client,
    gben: Client,
}

impl Scene {
    async fn new() -> Scene {
        let server = Server::start(support::config("authz")).await.unwrap();
        let addr = server.local_addr();
        Scene {
            amy: login(addr, "acme", "amy").await,
            ben: login(addr, "acme", "ben").await,
            cal: login(addr, "acme", "cal").await,
            gben: login(addr, "globex", "ben").await,
            _server: server,
        }
    }

    /// amy calls ben, ben hears it ring.
    async fn ringing_call(&mut self, id: &str) {
        let r = self
            .amy
            .code(
                json!({"op": "call", "call_id": id, "callee": "ben", "meet_obj": "",
                "usr_ext_dat": ""}),
            )
            .await;
        assert_eq!(r, 0);
        assert!(matches!(self.ben.event().await, Event::CallIn { call_id, .. } if call_id == id));
    }

    /// amy offers ben transfer `id`; ben hears of it.
    async fn offered_transfer(&mut self, id: &str) {
        let r = self
            .amy
            .code(
                json!({"op": "transfer_offer", "transfer_id": id, "target": "ben",
                "kind": "buffer", "name": "", "total": 5}),
            )
            .await;
        assert_eq!(r, 0);
        assert!(
            matches!(self.ben.event().await, Event::TransferOffered { transfer_id, .. } if transfer_id == id)
        );
    }

    /// Both outsiders try `request` and get `code`.
    async fn outsiders_get(&mut self, request: serde_json::Value, code: i32) {
        assert_eq!(
            self.cal.code(request.clone()).await,
            code,
            "same tenant: {request}"
        );
        assert_eq!(
            self.gben.code(request.clone()).await,
            code,
            "other tenant: {request}"
        );
    }

    /// Neither party heard anything.
    async fn parties_heard_nothing(&mut self) {
        self.amy.quiet().await;
        self.ben.quiet().await;
    }
}

#[tokio::test]
async fn outsiders_cannot_hang_up_a_call() {
    let mut s = Scene::new().await;
    s.ringing_call("c1").await;
    let hangup = json!({"op": "hangup_call", "call_id": "c1", "usr_ext_dat": ""});
    s.outsiders_get(hangup.clone(), INVALID_CALLID).await;
    s.parties_heard_nothing().await;
    // The call goes on: accepted, then hung up by its party.
    let accept = json!({"op": "accept_call", "call_id": "c1", "meet_obj": "", "usr_ext_dat": ""});
    assert_eq!(s.ben.code(accept).await, 0);
    assert!(matches!(s.amy.event().await, Event::CallAccepted { .. }));
    s.outsiders_get(hangup.clone(), INVALID_CALLID).await;
    s.parties_heard_nothing().await;
    assert_eq!(s.amy.code(hangup).await, 0);
    assert!(matches!(s.ben.event().await, Event::CallHungup { call_id, .. } if call_id == "c1"));
}

#[tokio::test]
async fn outsiders_cannot_accept_a_call() {
    let mut s = Scene::new().await;
    s.ringing_call("c1").await;
    let accept = json!({"op": "accept_call", "call_id": "c1", "meet_obj": "", "usr_ext_dat": ""});
    s.outsiders_get(accept.clone(), INVALID_CALLID).await;
    assert_eq!(
        s.amy.code(accept.clone()).await,
        INVALID_CALLID,
        "not the caller either"
    );
    s.parties_heard_nothing().await;
    assert_eq!(s.ben.code(accept).await, 0);
    assert!(matches!(s.amy.event().await, Event::CallAccepted { call_id, .. } if call_id == "c1"));
}

#[tokio::test]
async fn outsiders_cannot_reject_a_call() {
    let mut s = Scene::new().await;
    s.ringing_call("c1").await;
    let reject = json!({"op": "reject_call", "call_id": "c1", "usr_ext_dat": ""});
    s.outsiders_get(reject.clone(), INVALID_CALLID).await;
    s.parties_heard_nothing().await;
    assert_eq!(s.ben.code(reject).await, 0);
    assert!(matches!(
        s.amy.event().await,
        Event::CallRejected { code: 606, .. }
    ));
}

#[tokio::test]
async fn outsiders_cannot_cancel_an_invitation() {
    let mut s = Scene::new().await;
    let invite = json!({"op": "invite", "invite_id": "i1", "invitee": "ben", "meet_obj": ""});
    assert_eq!(s.amy.code(invite).await, 0);
    assert!(matches!(
        s.amy.event().await,
        Event::InviteStatus {
            status: INVITE_RINGING,
            ..
        }
    ));
    assert!(matches!(s.ben.event().await, Event::CallIn { .. }));
    let cancel = json!({"op": "cancel_invite", "invite_id": "i1"});
    s.outsiders_get(cancel.clone(), INVALID_CALLID).await;
    assert_eq!(
        s.ben.code(cancel.clone()).await,
        INVALID_CALLID,
        "not the invitee either"
    );
    s.parties_heard_nothing().await;
    assert_eq!(s.amy.code(cancel).await, 0);
    assert!(matches!(s.ben.event().await, Event::CallHungup { call_id, .. } if call_id == "i1"));
}

#[tokio::test]
async fn outsiders_cannot_cancel_a_transfer() {
    let mut s = Scene::new().await;
    s.offered_transfer("t1").await;
    let cancel = json!({"op": "transfer_cancel", "transfer_id": "t1"});
    s.outsiders_get(cancel.clone(), TRANSID_INVALID).await;
    assert_eq!(
        s.ben.code(cancel.clone()).await,
        TRANSID_INVALID,
        "not the receiver either"
    );
    s.parties_heard_nothing().await;
    assert_eq!(s.amy.code(cancel).await, 0);
    assert!(matches!(
        s.ben.event().await,
        Event::TransferCancelled { .. }
    ));
}

#[tokio::test]
async fn outsiders_cannot_credit_a_transfer() {
    let mut s = Scene::new().await;
    s.offered_transfer("t1").await;
    let credit = json!({"op": "transfer_credit", "transfer_id": "t1", "bytes": 1000000,
        "received": 0});
    s.outsiders_get(credit.clone(), TRANSID_INVALID).await;
    assert_eq!(
        s.amy.code(credit.clone()).await,
        TRANSID_INVALID,
        "not the sender either"
    );
    s.parties_heard_nothing().await;
    assert_eq!(s.ben.code(credit).await, 0);
    assert!(matches!(
        s.amy.event().await,
        Event::TransferCredit { bytes: 1000000, .. }
    ));
}

#[tokio::test]
async fn outsiders_cannot_complete_a_transfer() {
    let mut s = Scene::new().await;
    s.offered_transfer("t1").await;
    let complete = json!({"op": "transfer_complete", "transfer_id": "t1"});
    s.outsiders_get(complete.clone(), TRANSID_INVALID).await;
    assert_eq!(
        s.amy.code(complete.clone()).await,
        TRANSID_INVALID,
        "not the sender either"
    );
    s.parties_heard_nothing().await;
    assert_eq!(s.ben.code(complete).await, 0);
    assert!(matches!(
        s.amy.event().await,
        Event::TransferResult { code: 0, .. }
    ));
}

#[tokio::test]
async fn outsiders_cannot_abort_a_transfer() {
    let mut s = Scene::new().await;
    s.offered_transfer("t1").await;
    let abort = json!({"op": "transfer_abort", "transfer_id": "t1", "code": 6});
    s.outsiders_get(abort.clone(), TRANSID_INVALID).await;
    // And one-way (id 0): silently ignored.
    s.cal
        .send(json!({"id": 0, "op": "transfer_abort", "transfer_id": "t1", "code": 6}))
        .await;
    s.gben
        .send(json!({"id": 0, "op": "transfer_abort", "transfer_id": "t1", "code": 6}))
        .await;
    s.parties_heard_nothing().await;
    let complete = json!({"op": "transfer_complete", "transfer_id": "t1"});
    assert_eq!(s.ben.code(complete).await, 0, "the transfer still exists");
    assert!(matches!(
        s.amy.event().await,
        Event::TransferResult { code: 0, .. }
    ));
}

#[tokio::test]
async fn outsiders_cannot_inject_chunks_or_end_a_transfer() {
    let mut s = Scene::new().await;
    s.offered_transfer("t1").await;
    s.cal.send_binary(encode_chunk("t1", 0, b"EVIL!")).await;
    s.gben.send_binary(encode_chunk("t1", 0, b"EVIL!")).await;
    let end = json!({"op": "transfer_end", "transfer_id": "t1", "digest": "00"});
    s.outsiders_get(end.clone(), TRANSID_INVALID).await;
    assert_eq!(
        s.ben.code(end).await,
        TRANSID_INVALID,
        "not the receiver either"
    );
    s.parties_heard_nothing().await;
    // The sender's chunk and end still go through, unmixed.
    s.amy.send_binary(encode_chunk("t1", 0, b"hello")).await;
    let chunk = s.ben.binary().await;
    match decode_data(&chunk).unwrap() {
        DataFrame::Chunk { payload, .. } => assert_eq!(payload, b"hello"),
        _ => panic!("not a chunk"),
    }
    s.amy
        .send(json!({"id": 0, "op": "transfer_end", "transfer_id": "t1", "digest": "d"}))
        .await;
    assert!(matches!(s.ben.event().await, Event::TransferEnd { digest, .. } if digest == "d"));
}

#[tokio::test]
async fn outsiders_cannot_acknowledge_a_command() {
    let mut s = Scene::new().await;
    s.amy.send_binary(encode_command(41, "ben", b"ping")).await;
    let frame = s.ben.binary().await;
    let DataFrame::Command {
        id: relay_id, peer, ..
    } = decode_data(&frame).unwrap()
    else {
        panic!("not a command")
    };
    assert_eq!(peer, "amy");
    let ack = json!({"op": "cmd_ack", "relay_id": relay_id});
    s.outsiders_get(ack.clone(), TRANSID_INVALID).await;
    assert_eq!(
        s.amy.code(ack.clone()).await,
        TRANSID_INVALID,
        "not the sender either"
    );
    s.parties_heard_nothing().await;
    assert_eq!(s.ben.code(ack).await, 0);
    assert_eq!(
        s.amy.reply_to(41).await.code,
        0,
        "the sender's reply follows the real ack"
    );
}

#[tokio::test]
async fn users_of_another_tenant_cannot_be_reached() {
    let mut s = Scene::new().await;
    // globex's ben tries acme's amy (online in acme only).
    let call = json!({"op": "call", "call_id": "x1", "callee": "amy", "meet_obj": "",
        "usr_ext_dat": ""});
    assert_eq!(s.gben.code(call).await, ErrorCode::ErrUserNotFound as i32);
    let invite = json!({"op": "invite", "invite_id": "x2", "invitee": "amy", "meet_obj": ""});
    assert_eq!(s.gben.code(invite).await, ErrorCode::ErrUserNotFound as i32);
    let offer = json!({"op": "transfer_offer", "transfer_id": "x3", "target": "amy",
        "kind": "buffer", "name": "", "total": 1});
    assert_eq!(
        s.gben.code(offer).await,
        ErrorCode::SendDataTargetInvalid as i32
    );
    s.gben.send_binary(encode_command(7, "amy", b"hi")).await;
    assert_eq!(
        s.gben.reply_to(7).await.code,
        ErrorCode::SendDataTargetInvalid as i32
    );
    s.parties_heard_nothing().await;
    s.cal.quiet().await;
}

#[tokio::test]
async fn only_the_creator_destroys_a_meeting() {
    let mut s = Scene::new().await;
    let created = s
        .amy
        .request(json!({"op": "create_meeting", "subject": "weekly", "with_password": false}))
        .await;
    assert_eq!(created.code, 0);
    let id = created.data["ID"].as_i64().unwrap();
    let destroy = json!({"op": "destroy_meeting", "meet_id": id});
    assert_eq!(
        s.cal.code(destroy.clone()).await,
        ErrorCode::ApiNoPermission as i32
    );
    assert_eq!(
        s.gben.code(destroy.clone()).await,
        ErrorCode::MeetNotExist as i32,
        "another tenant's meeting does not exist for it"
    );
    let listed = s.amy.request(json!({"op": "get_meetings"})).await;
    assert_eq!(
        listed.data["meetings"].as_array().unwrap().len(),
        1,
        "still there"
    );
    assert_eq!(s.amy.code(destroy).await, 0);
}

#[tokio::test]
async fn another_tenant_sees_no_meetings() {
    let mut s = Scene::new().await;
    for subject in ["a", "b"] {
        let r = s
            .amy
            .code(json!({"op": "create_meeting", "subject": subject, "with_password": true}))
            .await;
        assert_eq!(r, 0);
    }
    let theirs = s.gben.request(json!({"op": "get_meetings"})).await;
    assert_eq!(theirs.code, 0);
    assert_eq!(theirs.data["meetings"], json!([]));
    let ours = s.cal.request(json!({"op": "get_meetings"})).await;
    assert_eq!(ours.data["meetings"].as_array().unwrap().len(), 2);
}

/// amy serves queue 1; ben queues and is assigned to amy.
async fn assigned(s: &mut Scene) {
    assert_eq!(
        s.amy
            .code(json!({"op": "start_service", "que_id": 1, "priority": 0}))
            .await,
        0
    );
    assert_eq!(
        s.ben
            .code(json!({"op": "start_queuing", "que_id": 1, "usr_ext_dat": ""}))
            .await,
        0
    );
    loop {
        if let Event::AutoAssignUser(u) = s.amy.event().await {
            assert_eq!(u.user_id, "ben");
            break;
        }
    }
    // Drain the status / position events of that.
    while tokio::time::timeout(support::QUIET, s.amy.event())
        .await
        .is_ok()
    {}
    while tokio::time::timeout(support::QUIET, s.ben.event())
        .await
        .is_ok()
    {}
}

#[tokio::test]
async fn outsiders_cannot_accept_another_agents_assignment() {
    let mut s = Scene::new().await;
    assigned(&mut s).await;
    let accept = json!({"op": "accept_assign_user", "que_id": 1, "user_id": "ben"});
    // Not an agent at all.
    s.outsiders_get(accept.clone(), ErrorCode::QueServiceNotStart as i32)
        .await;
    // Agents of the same queue ID, in the same and in another tenant.
    for c in [&mut s.cal, &mut s.gben] {
        assert_eq!(
            c.code(json!({"op": "start_service", "que_id": 1, "priority": 0}))
                .await,
            0
        );
        while tokio::time::timeout(support::QUIET, c.event())
            .await
            .is_ok()
        {}
    }
    // cal joining changed the queue's counts: the parties hear that (and only that).
    for c in [&mut s.amy, &mut s.ben] {
        assert!(matches!(c.event().await, Event::QueueStatus(q) if q.agent_num == 2));
    }
    s.outsiders_get(accept.clone(), ErrorCode::QueUserCancelled as i32)
        .await;
    s.parties_heard_nothing().await;
    assert_eq!(s.amy.code(accept).await, 0, "the assignment is still amy's");
}

#[tokio::test]
async fn outsiders_cannot_reject_another_agents_assignment() {
    let mut s = Scene::new().await;
    assigned(&mut s).await;
    let reject = json!({"op": "reject_assign_user", "que_id": 1, "user_id": "ben"});
    s.outsiders_get(reject.clone(), ErrorCode::QueServiceNotStart as i32)
        .await;
    for c in [&mut s.cal, &mut s.gben] {
        assert_eq!(
            c.code(json!({"op": "start_service", "que_id": 1, "priority": 0}))
                .await,
            0
        );
        while tokio::time::timeout(support::QUIET, c.event())
            .await
            .is_ok()
        {}
    }
    // cal joining changed the queue's counts: the parties hear that (and only that).
    for c in [&mut s.amy, &mut s.ben] {
        assert!(matches!(c.event().await, Event::QueueStatus(q) if q.agent_num == 2));
    }
    s.outsiders_get(reject.clone(), ErrorCode::QueUserCancelled as i32)
        .await;
    s.parties_heard_nothing().await;
    let accept = json!({"op": "accept_assign_user", "que_id": 1, "user_id": "ben"});
    assert_eq!(s.amy.code(accept).await, 0, "the assignment is still amy's");
}

#[tokio::test]
async fn stopping_a_service_one_does_not_serve_is_refused() {
    let mut s = Scene::new().await;
    assigned(&mut s).await;
    let stop = json!({"op": "stop_service", "que_id": 1});
    s.outsiders_get(stop, ErrorCode::QueServiceNotStart as i32)
        .await;
    s.parties_heard_nothing().await;
    let status = s.amy.request(json!({"op": "queue_refresh"})).await;
    assert_eq!(
        status.data["statuses"][0]["agent_num"], 1,
        "amy still serves"
    );
    assert_eq!(status.data["statuses"][0]["wait_num"], 1);
    let theirs = s.gben.request(json!({"op": "queue_refresh"})).await;
    assert_eq!(
        theirs.data["statuses"][0]["agent_num"], 0,
        "globex's own queue 1"
    );
    assert_eq!(theirs.data["statuses"][0]["wait_num"], 0);
}

#[tokio::test]
async fn user_status_lists_only_the_own_tenant() {
    let mut s = Scene::new().await;
    let theirs = s.gben.request(json!({"op": "get_user_status"})).await;
    let ids: Vec<&str> = theirs.data["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["userID"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ben"]);
    let ours = s.cal.request(json!({"op": "get_user_status"})).await;
    assert_eq!(ours.data["users"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn subscribers_do_not_see_another_tenants_changes() {
    let mut s = Scene::new().await;
    assert_eq!(s.amy.code(json!({"op": "subscribe_status"})).await, 0);
    assert_eq!(s.gben.code(json!({"op": "set_dnd", "dnd": 1})).await, 0);
    let addr = s._server.local_addr();
    let other = login(addr, "globex", "zed").await;
    drop(other);
    s.amy.quiet().await;
    // Its own tenant's changes do arrive.
    assert_eq!(s.cal.code(json!({"op": "set_dnd", "dnd": 1})).await, 0);
    assert!(matches!(s.amy.event().await, Event::UserStatus(u) if u.user_id == "cal"));
}

#[tokio::test]
async fn call_and_transfer_ids_are_per_tenant() {
    // IDs are chosen by the SDKs: another tenant using the same ones neither is refused
    // (which would tell it they are in use) nor touches the first tenant's call or transfer.
    let mut s = Scene::new().await;
    s.ringing_call("same").await;
    s.offered_transfer("same").await;
    let server_addr = s._server.local_addr();
    let mut gus = login(server_addr, "globex", "gus").await;
    let call = json!({"op": "call", "call_id": "same", "callee": "gus", "meet_obj": "",
        "usr_ext_dat": ""});
    assert_eq!(s.gben.code(call).await, 0);
    assert!(matches!(gus.event().await, Event::CallIn { call_id, .. } if call_id == "same"));
    let offer = json!({"op": "transfer_offer", "transfer_id": "same", "target": "gus",
        "kind": "buffer", "name": "", "total": 5});
    assert_eq!(s.gben.code(offer).await, 0);
    assert!(matches!(gus.event().await, Event::TransferOffered { .. }));
    // globex ends its own call and transfer; acme's go on.
    let hangup = json!({"op": "hangup_call", "call_id": "same", "usr_ext_dat": ""});
    assert_eq!(s.gben.code(hangup.clone()).await, 0);
    let cancel = json!({"op": "transfer_cancel", "transfer_id": "same"});
    assert_eq!(s.gben.code(cancel.clone()).await, 0);
    s.parties_heard_nothing().await;
    assert_eq!(s.amy.code(hangup).await, 0);
    assert!(matches!(s.ben.event().await, Event::CallHungup { .. }));
    assert_eq!(s.amy.code(cancel).await, 0);
    assert!(matches!(
        s.ben.event().await,
        Event::TransferCancelled { .. }
    ));
}
