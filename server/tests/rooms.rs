//! Meeting rooms as raw WebSocket clients see them: entering (passwords, unknown and other
//! tenants' meetings, already in one, full), member events, presence, stop, media status,
//! IM, leaving by connection loss, destroying a live meeting, member counts.
//!
//! Every transition happens under one lock with its reply queued before its events, so a
//! client's reply to its own request is always followed (not preceded) by what it caused.

mod support;

use std::net::SocketAddr;

use crvideo_proto::{
    ErrorCode, Event, ImSent, MediaKind, MeetInfo, MeetingList, MemberInfo, Reply, RoomState,
    ServerFrame, MAX_IM_CHARS, USER_IDLE, USER_IN_MEETING,
};
use crvideo_server::{Config, Server};
use futures_util::StreamExt;
use serde_json::json;
use support::{login, Client, PATIENCE};
use tokio::time::timeout;
use tokio_tungstenite::tungstenite::Message;

const MEETNOTEXIST: i32 = ErrorCode::MeetNotExist as i32;
const AUTHERROR: i32 = ErrorCode::AuthError as i32;
const MEMBEROVERFLOW: i32 = ErrorCode::MemberOverflowError as i32;
const ALREADYINMEETING: i32 = ErrorCode::AlreadyInMeeting as i32;
const NOT_INMEETING: i32 = ErrorCode::NotInMeeting as i32;
const NO_PERMISSION: i32 = ErrorCode::ApiNoPermission as i32;
const PARAM_ERR: i32 = ErrorCode::ParamErr as i32;

fn config(max_members: usize) -> Config {
    Config {
        // Long: clients that wait without reading must not be dropped as dead.
        heartbeat_ms: 10_000,
        max_meeting_members: max_members,
        ..support::config("rooms")
    }
}

async fn start() -> Server {
    Server::start(config(100)).await.unwrap()
}

async fn create(c: &mut Client, with_password: bool) -> MeetInfo {
    c.request(json!({"op": "create_meeting", "subject": "room", "with_password": with_password}))
        .await
        .into_result()
        .unwrap()
}

/// amy creates a meeting (with a password when `with_password`); amy, then bob, enter it.
/// Returns them and the meeting once amy has heard bob enter.
async fn amy_and_bob_in_a_room(
    addr: SocketAddr,
    with_password: bool,
) -> (Client, Client, MeetInfo) {
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let m = create(&mut amy, with_password).await;
    enter(&mut amy, &m).await;
    enter(&mut bob, &m).await;
    assert_eq!(amy.event().await, Event::MemberEntered(member("bob", 2, 2)));
    (amy, bob, m)
}

async fn enter_reply(c: &mut Client, meet_id: i32, pswd: &str) -> Reply {
    c.request(json!({"op": "enter_meeting", "meet_id": meet_id, "pswd": pswd}))
        .await
}

async fn enter(c: &mut Client, m: &MeetInfo) -> RoomState {
    enter_reply(c, m.id, &m.pswd)
        .await
        .into_result()
        .expect("enter")
}

async fn exit(c: &mut Client) -> i32 {
    c.code(json!({"op": "exit_meeting"})).await
}

async fn set_media(c: &mut Client, user: &str, kind: &str, status: i32) -> i32 {
    c.code(json!({"op": "set_media", "user_id": user, "kind": kind, "status": status}))
        .await
}

async fn im(c: &mut Client, text: &str, to: &str) -> Reply {
    c.request(json!({"op": "send_im", "text": text, "to": to}))
        .await
}

async fn member_count(c: &mut Client, meet_id: i32) -> i32 {
    let list: MeetingList = c
        .request(json!({"op": "get_meetings"}))
        .await
        .into_result()
        .unwrap();
    list.meetings
        .iter()
        .find(|m| m.id == meet_id)
        .expect("meeting listed")
        .member_count
}

fn member(user: &str, audio: i32, video: i32) -> MemberInfo {
    MemberInfo {
        user_id: user.into(),
        nickname: "Nick".into(),
        audio_status: audio,
        video_status: video,
    }
}

fn left(user: &str) -> Event {
    Event::MemberLeft {
        user_id: user.into(),
    }
}

fn media(user: &str, kind: MediaKind, old: i32, new: i32) -> Event {
    Event::MediaChanged {
        user_id: user.into(),
        kind,
        old,
        new,
    }
}

/// The next frame straight off the socket (pings skipped).
async fn raw_frame(c: &mut Client) -> ServerFrame {
    loop {
        let msg = timeout(PATIENCE, c.ws.next())
            .await
            .expect("a frame in time")
            .expect("connection open")
            .expect("no read error");
        if let Message::Text(t) = msg {
            return crvideo_proto::decode(t.as_str()).unwrap();
        }
    }
}

/// The next presence event about `user` (others skipped).
async fn presence_of(c: &mut Client, user: &str) -> i32 {
    loop {
        if let Event::UserStatus(s) = c.event().await {
            if s.user_id == user {
                return s.status;
            }
        }
    }
}

#[tokio::test]
async fn entering_checks_password_existence_tenant_and_membership() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let mut gus = login(addr, "globex", "gus").await;
    let locked = create(&mut amy, true).await;
    let open = create(&mut amy, false).await;
    assert_eq!(locked.pswd.len(), 6);

    assert_eq!(
        enter_reply(&mut amy, locked.id, "wrong").await.code,
        AUTHERROR
    );
    assert_eq!(enter_reply(&mut amy, locked.id, "").await.code, AUTHERROR);
    assert_eq!(enter_reply(&mut amy, 1, "").await.code, MEETNOTEXIST);
    assert_eq!(
        enter_reply(&mut gus, locked.id, &locked.pswd).await.code,
        MEETNOTEXIST,
        "another tenant's meeting does not exist for globex"
    );
    let state = enter(&mut amy, &locked).await;
    assert_eq!(
        state,
        RoomState {
            meet_id: locked.id,
            creator: "amy".into(),
            members: vec![member("amy", 2, 2)],
            ..RoomState::default()
        }
    );
    assert_eq!(
        enter_reply(&mut amy, locked.id, &locked.pswd).await.code,
        ALREADYINMEETING
    );
    assert_eq!(
        enter_reply(&mut amy, open.id, "").await.code,
        ALREADYINMEETING
    );
    // A meeting without a password accepts any.
    let state: RoomState = enter_reply(&mut bob, open.id, "anything")
        .await
        .into_result()
        .unwrap();
    assert_eq!(state.members, vec![member("bob", 2, 2)]);
    assert_eq!(state.creator, "amy");
    // globex's rooms are its own, whatever the IDs.
    let g = create(&mut gus, false).await;
    let state = enter(&mut gus, &g).await;
    assert_eq!(state.members, vec![member("gus", 2, 2)]);
    amy.quiet().await;
    bob.quiet().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_full_room_refuses_with_802() {
    let server = Server::start(config(2)).await.unwrap();
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let mut cid = login(addr, "acme", "cid").await;
    let m = create(&mut amy, false).await;
    enter(&mut amy, &m).await;
    enter(&mut bob, &m).await;
    assert_eq!(enter_reply(&mut cid, m.id, "").await.code, MEMBEROVERFLOW);
    assert_eq!(exit(&mut bob).await, 0);
    let state = enter(&mut cid, &m).await;
    assert_eq!(
        state.members,
        vec![member("amy", 2, 2), member("cid", 2, 2)]
    );
    server.shutdown().await;
}

#[tokio::test]
async fn members_hear_of_entries_and_exits_but_not_of_their_own() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let mut cid = login(addr, "acme", "cid").await;
    let m = create(&mut amy, true).await;
    assert_eq!(exit(&mut amy).await, NOT_INMEETING);

    enter(&mut amy, &m).await;
    let state = enter(&mut bob, &m).await;
    assert_eq!(
        state.members,
        vec![member("amy", 2, 2), member("bob", 2, 2)]
    );
    assert_eq!(amy.event().await, Event::MemberEntered(member("bob", 2, 2)));
    let state = enter(&mut cid, &m).await;
    assert_eq!(
        state.members,
        vec![
            member("amy", 2, 2),
            member("bob", 2, 2),
            member("cid", 2, 2)
        ]
    );
    assert_eq!(amy.event().await, Event::MemberEntered(member("cid", 2, 2)));
    assert_eq!(bob.event().await, Event::MemberEntered(member("cid", 2, 2)));
    assert_eq!(exit(&mut bob).await, 0);
    assert_eq!(amy.event().await, left("bob"));
    assert_eq!(cid.event().await, left("bob"));
    assert_eq!(exit(&mut bob).await, NOT_INMEETING);
    // Out of the room, bob can enter again (and amy hears it).
    let state = enter(&mut bob, &m).await;
    assert_eq!(
        state.members,
        vec![
            member("amy", 2, 2),
            member("cid", 2, 2),
            member("bob", 2, 2)
        ]
    );
    assert_eq!(amy.event().await, Event::MemberEntered(member("bob", 2, 2)));
    assert_eq!(cid.event().await, Event::MemberEntered(member("bob", 2, 2)));
    for c in [&mut amy, &mut bob, &mut cid] {
        c.quiet().await;
    }
    server.shutdown().await;
}

#[tokio::test]
async fn presence_is_3_while_in_a_room() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let mut watcher = login(addr, "acme", "watcher").await;
    assert_eq!(watcher.code(json!({"op": "subscribe_status"})).await, 0);
    let m = create(&mut amy, false).await;

    enter(&mut amy, &m).await;
    assert_eq!(presence_of(&mut watcher, "amy").await, USER_IN_MEETING);
    assert_eq!(exit(&mut amy).await, 0);
    assert_eq!(presence_of(&mut watcher, "amy").await, USER_IDLE);

    // Stopped: everyone is back to idle.
    enter(&mut amy, &m).await;
    enter(&mut bob, &m).await;
    assert_eq!(presence_of(&mut watcher, "amy").await, USER_IN_MEETING);
    assert_eq!(presence_of(&mut watcher, "bob").await, USER_IN_MEETING);
    assert_eq!(amy.code(json!({"op": "stop_meeting"})).await, 0);
    let mut back = vec![
        presence_of_any(&mut watcher).await,
        presence_of_any(&mut watcher).await,
    ];
    back.sort();
    assert_eq!(
        back,
        vec![
            ("amy".to_string(), USER_IDLE),
            ("bob".to_string(), USER_IDLE)
        ]
    );
    server.shutdown().await;
}

async fn presence_of_any(c: &mut Client) -> (String, i32) {
    loop {
        if let Event::UserStatus(s) = c.event().await {
            return (s.user_id, s.status);
        }
    }
}

#[tokio::test]
async fn only_the_creator_stops_and_then_everyone_is_out() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let mut cid = login(addr, "acme", "cid").await;
    let m = create(&mut amy, true).await;
    assert_eq!(amy.code(json!({"op": "stop_meeting"})).await, NOT_INMEETING);
    enter(&mut amy, &m).await;
    enter(&mut bob, &m).await;
    enter(&mut cid, &m).await;
    assert_eq!(amy.event().await, Event::MemberEntered(member("bob", 2, 2)));
    assert_eq!(amy.event().await, Event::MemberEntered(member("cid", 2, 2)));
    assert_eq!(bob.event().await, Event::MemberEntered(member("cid", 2, 2)));

    assert_eq!(bob.code(json!({"op": "stop_meeting"})).await, NO_PERMISSION);
    assert_eq!(amy.code(json!({"op": "stop_meeting"})).await, 0);
    assert_eq!(bob.event().await, Event::MeetingStopped);
    assert_eq!(cid.event().await, Event::MeetingStopped);
    amy.quiet().await;
    for c in [&mut amy, &mut bob, &mut cid] {
        assert_eq!(im(c, "hi", "").await.code, NOT_INMEETING);
        assert_eq!(exit(c).await, NOT_INMEETING);
    }
    // The meeting itself stays, with nobody in it; it can be entered again.
    assert_eq!(member_count(&mut amy, m.id).await, 0);
    let state = enter(&mut bob, &m).await;
    assert_eq!(state.members, vec![member("bob", 2, 2)]);
    server.shutdown().await;
}

#[tokio::test]
async fn media_status_own_others_and_no_change() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let m = create(&mut amy, false).await;
    assert_eq!(set_media(&mut amy, "amy", "audio", 3).await, NOT_INMEETING);
    enter(&mut amy, &m).await;
    enter(&mut bob, &m).await;
    assert_eq!(amy.event().await, Event::MemberEntered(member("bob", 2, 2)));

    // Own: every member hears it, the requester too (after its reply).
    assert_eq!(set_media(&mut bob, "bob", "audio", 3).await, 0);
    let change = media("bob", MediaKind::Audio, 2, 3);
    assert_eq!(bob.event().await, change);
    assert_eq!(amy.event().await, change);
    // The creator may set another member's.
    assert_eq!(set_media(&mut amy, "bob", "video", 3).await, 0);
    let change = media("bob", MediaKind::Video, 2, 3);
    assert_eq!(amy.event().await, change);
    assert_eq!(bob.event().await, change);
    // Others may not.
    assert_eq!(set_media(&mut bob, "amy", "audio", 3).await, NO_PERMISSION);
    // No change: no event.
    assert_eq!(set_media(&mut bob, "bob", "audio", 3).await, 0);
    // Bad status or target.
    assert_eq!(set_media(&mut bob, "bob", "audio", 5).await, PARAM_ERR);
    assert_eq!(set_media(&mut bob, "bob", "audio", -1).await, PARAM_ERR);
    assert_eq!(set_media(&mut amy, "nobody", "audio", 3).await, PARAM_ERR);
    amy.quiet().await;
    bob.quiet().await;

    // A late joiner sees the statuses.
    let mut cid = login(addr, "acme", "cid").await;
    let state = enter(&mut cid, &m).await;
    assert_eq!(
        state.members,
        vec![
            member("amy", 2, 2),
            member("bob", 3, 3),
            member("cid", 2, 2)
        ]
    );
    assert_eq!(set_media(&mut cid, "cid", "video", 4).await, 0);
    let change = media("cid", MediaKind::Video, 2, 4);
    for c in [&mut amy, &mut bob] {
        assert_eq!(c.event().await, Event::MemberEntered(member("cid", 2, 2)));
        assert_eq!(c.event().await, change);
    }
    assert_eq!(cid.event().await, change);

    // The last member leaving drops the room's state: statuses start over.
    for c in [&mut amy, &mut bob, &mut cid] {
        assert_eq!(exit(c).await, 0);
    }
    let state = enter(&mut bob, &m).await;
    assert_eq!(state.members, vec![member("bob", 2, 2)]);
    server.shutdown().await;
}

#[tokio::test]
async fn im_to_all_to_one_in_order_and_bad_ones() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let mut cid = login(addr, "acme", "cid").await;
    let m = create(&mut amy, false).await;
    assert_eq!(im(&mut amy, "hi", "").await.code, NOT_INMEETING);
    enter(&mut amy, &m).await;
    enter(&mut bob, &m).await;
    enter(&mut cid, &m).await;
    assert_eq!(amy.event().await, Event::MemberEntered(member("bob", 2, 2)));
    assert_eq!(amy.event().await, Event::MemberEntered(member("cid", 2, 2)));
    assert_eq!(bob.event().await, Event::MemberEntered(member("cid", 2, 2)));

    let before = crvideo_server::auth::unix_now() as i64;
    let sent: ImSent = im(&mut amy, "hello all", "").await.into_result().unwrap();
    let after = crvideo_server::auth::unix_now() as i64;
    assert!((before..=after).contains(&sent.send_time));
    let expected = Event::Im {
        from: "amy".into(),
        text: "hello all".into(),
        send_time: sent.send_time,
    };
    assert_eq!(bob.event().await, expected);
    assert_eq!(cid.event().await, expected);

    let sent: ImSent = im(&mut amy, "psst", "bob").await.into_result().unwrap();
    assert_eq!(
        bob.event().await,
        Event::Im {
            from: "amy".into(),
            text: "psst".into(),
            send_time: sent.send_time,
        }
    );

    // Too long, unknown or own target: refused, nobody hears anything.
    let longest = "会".repeat(MAX_IM_CHARS);
    assert_eq!(im(&mut amy, &longest, "bob").await.code, 0);
    assert!(matches!(bob.event().await, Event::Im { text, .. } if text == longest));
    let too_long = "a".repeat(MAX_IM_CHARS + 1);
    assert_eq!(im(&mut amy, &too_long, "").await.code, PARAM_ERR);
    assert_eq!(im(&mut amy, "x", "nobody").await.code, PARAM_ERR);
    assert_eq!(im(&mut amy, "x", "amy").await.code, PARAM_ERR);
    for c in [&mut amy, &mut bob, &mut cid] {
        c.quiet().await;
    }

    // A burst keeps its order.
    let ids: Vec<u64> = {
        let mut ids = Vec::new();
        for i in 0..100 {
            let id = amy.next_id();
            amy.send(json!({"op": "send_im", "id": id, "text": format!("m{i}"), "to": ""}))
                .await;
            ids.push(id);
        }
        ids
    };
    for id in ids {
        assert_eq!(amy.reply_to(id).await.code, 0);
    }
    for c in [&mut bob, &mut cid] {
        for i in 0..100 {
            match c.event().await {
                Event::Im { from, text, .. } => {
                    assert_eq!(from, "amy");
                    assert_eq!(text, format!("m{i}"));
                }
                other => panic!("expected an IM, got {other:?}"),
            }
        }
    }
    amy.quiet().await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_lost_connection_leaves_the_room() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut amy, bob, m) = amy_and_bob_in_a_room(addr, false).await;
    assert_eq!(member_count(&mut amy, m.id).await, 2);
    drop(bob);
    assert_eq!(amy.event().await, left("bob"));
    assert_eq!(member_count(&mut amy, m.id).await, 1);

    // A logout leaves too; the last one drops the room (the meeting stays).
    let mut bob = login(addr, "acme", "bob").await;
    enter(&mut bob, &m).await;
    assert_eq!(amy.event().await, Event::MemberEntered(member("bob", 2, 2)));
    assert_eq!(amy.code(json!({"op": "logout"})).await, 0);
    assert_eq!(bob.event().await, left("amy"));
    assert_eq!(member_count(&mut bob, m.id).await, 1);
    drop(bob);
    let mut cid = login(addr, "acme", "cid").await;
    support::bounded(async {
        while member_count(&mut cid, m.id).await != 0 {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    })
    .await;
    server.shutdown().await;
}

#[tokio::test]
async fn a_relogin_replaces_the_member() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut amy, mut bob, m) = amy_and_bob_in_a_room(addr, false).await;
    let mut bob2 = login(addr, "acme", "bob").await;
    assert!(matches!(bob.event().await, Event::Kicked { .. }));
    assert_eq!(amy.event().await, left("bob"));
    let state = enter(&mut bob2, &m).await;
    assert_eq!(
        state.members,
        vec![member("amy", 2, 2), member("bob", 2, 2)]
    );
    assert_eq!(amy.event().await, Event::MemberEntered(member("bob", 2, 2)));
    amy.quiet().await;
    server.shutdown().await;
}

#[tokio::test]
async fn destroying_a_live_meeting_stops_it_before_the_reply() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut amy, mut bob, m) = amy_and_bob_in_a_room(addr, true).await;

    // bob may not destroy it: nothing stops.
    assert_eq!(
        bob.code(json!({"op": "destroy_meeting", "meet_id": m.id}))
            .await,
        NO_PERMISSION
    );
    amy.send(json!({"op": "destroy_meeting", "id": 900, "meet_id": m.id}))
        .await;
    assert_eq!(
        raw_frame(&mut amy).await,
        ServerFrame::Event(Event::MeetingStopped)
    );
    match raw_frame(&mut amy).await {
        ServerFrame::Reply(r) => assert_eq!((r.re, r.code), (900, 0)),
        other => panic!("expected the destroy reply, got {other:?}"),
    }
    assert_eq!(bob.event().await, Event::MeetingStopped);
    assert_eq!(im(&mut bob, "x", "").await.code, NOT_INMEETING);
    assert_eq!(
        enter_reply(&mut bob, m.id, &m.pswd).await.code,
        MEETNOTEXIST
    );
    // Destroying a meeting without a room just destroys it.
    let quiet = create(&mut amy, false).await;
    assert_eq!(
        amy.code(json!({"op": "destroy_meeting", "meet_id": quiet.id}))
            .await,
        0
    );
    amy.quiet().await;
    bob.quiet().await;
    server.shutdown().await;
}

#[tokio::test]
async fn get_meetings_counts_the_members() {
    let server = start().await;
    let addr = server.local_addr();
    let mut amy = login(addr, "acme", "amy").await;
    let mut bob = login(addr, "acme", "bob").await;
    let mut gus = login(addr, "globex", "gus").await;
    let m = create(&mut amy, false).await;
    let other = create(&mut amy, false).await;
    let g = create(&mut gus, false).await;
    assert_eq!(member_count(&mut amy, m.id).await, 0);
    enter(&mut amy, &m).await;
    assert_eq!(member_count(&mut amy, m.id).await, 1);
    enter(&mut bob, &m).await;
    assert_eq!(member_count(&mut amy, m.id).await, 2);
    assert_eq!(member_count(&mut amy, other.id).await, 0);
    assert_eq!(member_count(&mut gus, g.id).await, 0);
    enter(&mut gus, &g).await;
    assert_eq!(member_count(&mut gus, g.id).await, 1);
    assert_eq!(member_count(&mut amy, m.id).await, 2);
    assert_eq!(exit(&mut bob).await, 0);
    assert_eq!(member_count(&mut amy, m.id).await, 1);
    server.shutdown().await;
}

/// Whiteboards as raw clients (not held back by an SDK's copy) see them: the server judges
/// every operation itself, refuses invalid ones to their sender only, and echoes the valid
/// ones to every member in one order.
#[tokio::test]
async fn boards_are_judged_by_the_server_and_echoed_to_all() {
    let server = start().await;
    let (mut amy, mut bob, m) = amy_and_bob_in_a_room(server.local_addr(), false).await;
    let board =
        json!({"boardID": "b1", "title": "plan", "width": 800, "height": 600, "pageCount": 2});
    assert_eq!(
        amy.code(json!({"op": "create_board", "board": board}))
            .await,
        0
    );
    for c in [&mut amy, &mut bob] {
        assert!(
            matches!(c.event().await, Event::BoardCreated { board, oper }
            if board.board_id == "b1" && board.page_count == 2 && oper == "amy")
        );
    }
    let dup = json!({"boardID": "b1", "title": "again", "width": 1, "height": 1, "pageCount": 1});
    assert_eq!(
        bob.code(json!({"op": "create_board", "board": dup})).await,
        PARAM_ERR
    );

    let set = |element: &str, page: i32, modify: bool| {
        json!({"op": "set_board_element", "board_id": "b1", "page_no": page,
               "element": element, "modify": modify})
    };
    let huge = format!(r#"{{"elementID":"h","pad":"{}"}}"#, "x".repeat(70_000));
    for bad in [
        set(r#"["e1"]"#, 0, false),
        set(r#"{"id":"e1"}"#, 0, false),
        set(r#"{"elementID":"a;b"}"#, 0, false),
        set(&huge, 0, false),
        set(r#"{"elementID":"e1"}"#, 2, false),
        set(r#"{"elementID":"e1"}"#, 0, true),
    ] {
        assert_eq!(bob.code(bad).await, PARAM_ERR);
    }
    let e1 = r#"{"elementID":"e1", "k":[1]}"#;
    assert_eq!(amy.code(set(e1, 1, false)).await, 0);
    // bob adds the same ID as if it had not heard of amy's yet: refused to bob only.
    assert_eq!(
        bob.code(set(r#"{"elementID":"e1"}"#, 1, false)).await,
        PARAM_ERR
    );
    for c in [&mut amy, &mut bob] {
        let added = c.event().await;
        assert!(
            matches!(&added, Event::Element { element, modify: false, oper, page_no: 1, .. }
            if element == e1 && oper == "amy"),
            "{added:?}"
        );
    }
    let deleted = json!({"op": "del_board_elements", "board_id": "b1", "page_no": 1,
                         "element_ids": ["e1", "gone"]});
    assert_eq!(bob.code(deleted.clone()).await, 0);
    for c in [&mut amy, &mut bob] {
        assert!(
            matches!(c.event().await, Event::ElementsDeleted { element_ids, oper, .. }
            if element_ids == ["e1"] && oper == "bob")
        );
    }
    assert_eq!(
        bob.code(deleted).await,
        PARAM_ERR,
        "none of them is there any more"
    );
    let spot = json!({"op": "set_mouse_hot_spot", "board_id": "b1", "page_no": 0, "x": 3, "y": 4});
    assert_eq!(bob.code(spot).await, 0);
    assert!(
        matches!(amy.event().await, Event::MouseHotSpot { x: 3, y: 4, oper, .. } if oper == "bob")
    );
    bob.quiet().await;

    // A late joiner's room carries the boards, with only the pages that have elements.
    let e2 = r#"{"elementID":"e2"}"#;
    assert_eq!(amy.code(set(e2, 0, false)).await, 0);
    let mut cal = login(server.local_addr(), "acme", "cal").await;
    let state = enter(&mut cal, &m).await;
    assert_eq!(state.boards.len(), 1);
    assert_eq!(state.boards[0].board.title, "plan");
    let pages = &state.boards[0].pages;
    assert_eq!(pages.len(), 1, "only pages with elements");
    assert_eq!((pages[0].page_no, pages[0].operator.as_str()), (0, "amy"));
    assert_eq!(pages[0].elements, [e2]);
    assert_eq!(
        amy.code(json!({"op": "close_board", "board_id": "b1"}))
            .await,
        0
    );
    assert_eq!(
        bob.code(set(r#"{"elementID":"e3"}"#, 0, false)).await,
        PARAM_ERR
    );
}

/// The next binary frame straight off the socket (text frames and pings skipped: events and
/// media travel on different lanes, in no order between them).
async fn raw_binary(c: &mut Client) -> Vec<u8> {
    loop {
        let msg = timeout(PATIENCE, c.ws.next())
            .await
            .expect("a binary frame in time")
            .expect("connection open")
            .expect("no read error");
        if let Message::Binary(b) = msg {
            return b.to_vec();
        }
    }
}

/// A piece of amy's camera 1: (key, first, last, payload).
fn camera_piece(key: bool, first: bool, last: bool, payload: &[u8]) -> Vec<u8> {
    use crvideo_proto::data::{Piece, VideoFrame};
    let piece = Piece { first, last };
    let (video_id, time_ms, user) = (1, 7, "");
    VideoFrame {
        key,
        piece,
        video_id,
        time_ms,
        user,
        payload,
    }
    .encode()
}

/// `(key, first, last, payload)` of a relayed camera frame from amy.
fn relayed_piece(frame: &[u8]) -> (bool, bool, bool, Vec<u8>) {
    use crvideo_proto::data::{decode_data, DataFrame};
    let Ok(DataFrame::Video(v)) = decode_data(frame) else {
        panic!("a video frame");
    };
    assert_eq!((v.user, v.video_id), ("amy", 1));
    (v.key, v.piece.first, v.piece.last, v.payload.to_vec())
}

#[tokio::test]
async fn a_member_waiting_for_a_key_frame_starts_at_a_key_pictures_first_piece() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut amy, mut bob, m) = amy_and_bob_in_a_room(addr, false).await;
    let cams = json!({"op": "set_video_devs", "devs": [{"video_id": 1, "name": "cam"}],
        "default_video": 1});
    assert_eq!(amy.code(cams).await, 0);
    assert_eq!(set_media(&mut amy, "amy", "video", 3).await, 0);

    // bob watches from the start of a key picture in two pieces...
    amy.send_binary(camera_piece(true, true, false, b"A1"))
        .await;
    assert_eq!(
        relayed_piece(&raw_binary(&mut bob).await),
        (true, true, false, b"A1".to_vec())
    );
    // ...carol enters in the middle of it: she waits for the next key picture.
    let mut carol = login(addr, "acme", "carol").await;
    enter(&mut carol, &m).await;
    amy.send_binary(camera_piece(true, false, true, b"A2"))
        .await;
    amy.send_binary(camera_piece(false, true, true, b"B")).await;
    amy.send_binary(camera_piece(true, true, false, b"C1"))
        .await;
    amy.send_binary(camera_piece(true, false, true, b"C2"))
        .await;
    for (key, first, last, payload) in [
        (true, false, true, &b"A2"[..]),
        (false, true, true, b"B"),
        (true, true, false, b"C1"),
        (true, false, true, b"C2"),
    ] {
        let got = relayed_piece(&raw_binary(&mut bob).await);
        assert_eq!(got, (key, first, last, payload.to_vec()));
    }
    // carol: nothing of A or B, then C whole.
    let c1 = relayed_piece(&raw_binary(&mut carol).await);
    assert_eq!(c1, (true, true, false, b"C1".to_vec()));
    let c2 = relayed_piece(&raw_binary(&mut carol).await);
    assert_eq!(c2, (true, false, true, b"C2".to_vec()));
    // amy was asked for the key frame carol waited for.
    loop {
        if amy.event().await == (Event::KeyFrameRequest { video_id: 1 }) {
            break;
        }
    }
}

/// A packet of the client's microphone.
fn mic_packet(seq: u32, level: u8, payload: &[u8]) -> Vec<u8> {
    use crvideo_proto::data::AudioFrame;
    let (time_ms, user) = (seq as i64 * 20, "");
    AudioFrame {
        level,
        seq,
        time_ms,
        user,
        media: false,
        payload,
    }
    .encode()
}

/// `(user, seq, level, time_ms, payload)` of a relayed audio frame.
fn relayed_audio(frame: &[u8]) -> (String, u32, u8, i64, Vec<u8>) {
    use crvideo_proto::data::{decode_data, DataFrame};
    let Ok(DataFrame::Audio(a)) = decode_data(frame) else {
        panic!("an audio frame");
    };
    (a.user.into(), a.seq, a.level, a.time_ms, a.payload.to_vec())
}

#[tokio::test]
async fn audio_goes_to_the_other_members_only_while_the_mic_is_open() {
    let server = start().await;
    let addr = server.local_addr();
    let (mut amy, mut bob, _) = amy_and_bob_in_a_room(addr, false).await;
    // carol and dan in another meeting of the same tenant.
    let mut carol = login(addr, "acme", "carol").await;
    let mut dan = login(addr, "acme", "dan").await;
    let other = create(&mut carol, false).await;
    enter(&mut carol, &other).await;
    enter(&mut dan, &other).await;

    // Mic closed: dropped. Open: relayed unchanged, named with the speaker.
    amy.send_binary(mic_packet(1, 9, b"closed")).await;
    assert_eq!(set_media(&mut amy, "amy", "audio", 3).await, 0);
    amy.send_binary(mic_packet(2, 7, b"opus")).await;
    let got = relayed_audio(&raw_binary(&mut bob).await);
    assert_eq!(got, ("amy".into(), 2, 7, 40, b"opus".to_vec()));

    // Nobody hears themselves: amy's next audio is bob's.
    assert_eq!(set_media(&mut bob, "bob", "audio", 3).await, 0);
    bob.send_binary(mic_packet(100, 0, b"b")).await;
    let got = relayed_audio(&raw_binary(&mut amy).await);
    assert_eq!((got.0.as_str(), got.1), ("bob", 100));

    // Another room hears nothing of it: carol's first audio is dan's.
    assert_eq!(set_media(&mut dan, "dan", "audio", 3).await, 0);
    dan.send_binary(mic_packet(5, 3, b"d")).await;
    let got = relayed_audio(&raw_binary(&mut carol).await);
    assert_eq!((got.0.as_str(), got.1), ("dan", 5));

    // Closed again: dropped.
    assert_eq!(set_media(&mut amy, "amy", "audio", 2).await, 0);
    amy.send_binary(mic_packet(3, 7, b"late")).await;
    bob.send_binary(mic_packet(101, 0, b"b")).await;
    amy.send_binary(mic_packet(4, 7, b"late")).await;
    // bob hears nothing of amy; amy still hears bob.
    let got = relayed_audio(&raw_binary(&mut amy).await);
    assert_eq!((got.0.as_str(), got.1), ("bob", 101));
    assert_eq!(set_media(&mut amy, "amy", "audio", 3).await, 0);
    amy.send_binary(mic_packet(5, 1, b"again")).await;
    let got = relayed_audio(&raw_binary(&mut bob).await);
    assert_eq!((got.0.as_str(), got.1), ("amy", 5), "3 and 4 were dropped");
}
