//! Whiteboards of a meeting room through the C ABI, between peer processes
//! (tests/c/peer.c): board and element operations with their echoes and errors, the state a
//! late joiner receives, and members drawing concurrently ending with the same elements.

mod common;

use std::collections::BTreeMap;

use common::peer::Peer;
use common::server_process::ServerProcess;
use serde_json::Value;

const CONFIG: &str = "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n";

const PARAM_ERR: i32 = 5;
const OUTOF_MEM: i32 = 2;
const NOT_INMEETING: i32 = 817;

fn user(name: &str, server: &ServerProcess) -> Peer {
    Peer::login(name, server.addr, "demo", "demo123", name)
}

/// `first` creates a meeting; every peer enters it (each waits for its EnterMeetingRslt(0)
/// and the others see it). Returns the meeting's ID.
fn all_in_a_meeting(peers: &mut [&mut Peer]) -> String {
    assert_eq!(peers[0].cmd(&["create_meeting", "room", "0", "m"]), 0);
    let line = peers[0].wait_line(|l| l.starts_with("CreateMeetingSuccess\t"));
    let m: Value = serde_json::from_str(line.split('\t').nth(1).unwrap()).unwrap();
    let id = m["ID"].to_string();
    for i in 0..peers.len() {
        assert_eq!(peers[i].cmd(&["enter", &id, ""]), 0);
        peers[i].expect("EnterMeetingRslt\t0");
        let name = peers[i].name.clone();
        for earlier in peers[..i].iter() {
            earlier.expect(&format!("UserEnterMeeting\t{name}"));
        }
    }
    id
}

/// Creates a board; returns its ID once the creator has its echo.
fn create_board(p: &mut Peer, title: &str, pages: i32) -> String {
    let id = p.cmd_text(&["create_board", title, "1024", "768", &pages.to_string()]);
    assert!(!id.starts_with("NULL"), "create_board: {id}");
    p.wait_line(|l| l.starts_with(&format!("NotifyCreateBoard\t{{\"boardID\":\"{id}\"")));
    id
}

/// What a member holds: (board, page) → element JSON texts in order.
type Pages = BTreeMap<(String, i32), Vec<String>>;

fn element_id(json: &str) -> String {
    let v: Value = serde_json::from_str(json).unwrap();
    v["elementID"].as_str().unwrap().to_string()
}

/// Replays the board callbacks a member received (its init, then the echoes) into the
/// elements it holds.
fn replay(p: &Peer) -> Pages {
    let mut pages = Pages::new();
    let mut closed = Vec::new();
    for line in p.callbacks() {
        let f: Vec<&str> = line.split('\t').collect();
        let key = || (f[1].to_string(), f[2].parse::<i32>().unwrap());
        match f[0] {
            "NotifyInitBoardPageDat" => {
                let elements: Vec<Value> = serde_json::from_str(f[4]).unwrap();
                let texts = elements.iter().map(|e| e.to_string()).collect();
                pages.insert(key(), texts);
            }
            "NotifyAddBoardElement" => pages.entry(key()).or_default().push(f[3].to_string()),
            "NotifyModifyBoardElement" => {
                let page = pages.get_mut(&key()).unwrap();
                let id = element_id(f[3]);
                let slot = page.iter_mut().find(|e| element_id(e) == id).unwrap();
                *slot = f[3].to_string();
            }
            "NotifyDelBoardElement" => {
                let gone: Vec<&str> = f[3].split(';').collect();
                let page = pages.get_mut(&key()).unwrap();
                page.retain(|e| !gone.contains(&element_id(e).as_str()));
            }
            "NotifyCloseBoard" => closed.push(f[1].to_string()),
            _ => {}
        }
    }
    pages.retain(|(board, _), elements| !closed.contains(board) && !elements.is_empty());
    // Init pages carry the elements re-serialised by serde; compare them the same way.
    for elements in pages.values_mut() {
        for e in elements.iter_mut() {
            *e = serde_json::from_str::<Value>(e).unwrap().to_string();
        }
    }
    pages
}

/// The board callbacks (echoes) a member received, in order.
fn board_events(p: &Peer) -> Vec<String> {
    p.callbacks()
        .into_iter()
        .filter(|l| {
            l.starts_with("NotifyAddBoardElement")
                || l.starts_with("NotifyModifyBoardElement")
                || l.starts_with("NotifyDelBoardElement")
                || l.starts_with("NotifyCreateBoard")
                || l.starts_with("NotifyCloseBoard")
        })
        .collect()
}

#[test]
fn boards_elements_and_hot_spots_with_their_errors() {
    let server = ServerProcess::start(CONFIG);
    let mut alice = user("alice", &server);
    let mut bob = user("bob", &server);
    assert_eq!(
        alice.cmd_text(&["create_board", "plan", "1024", "768", "1"]),
        format!("NULL:{NOT_INMEETING}")
    );
    all_in_a_meeting(&mut [&mut alice, &mut bob]);
    for p in [&alice, &bob] {
        p.expect("NotifyInitBoards\t[]");
    }
    for bad in [
        ["0", "768", "1"],
        ["1024", "768", "0"],
        ["1024", "40000", "1"],
    ] {
        let args = ["create_board", "t", bad[0], bad[1], bad[2]];
        assert_eq!(alice.cmd_text(&args), format!("NULL:{PARAM_ERR}"));
    }

    let board = create_board(&mut alice, "plan", 2);
    let board_json = format!(
        r#"{{"boardID":"{board}","title":"plan","width":1024,"height":768,"pageCount":2}}"#
    );
    for p in [&alice, &bob] {
        p.expect(&format!("NotifyCreateBoard\t{board_json}\talice"));
    }

    // Element IDs: made locally, never the same twice.
    let e1 = alice.cmd_text(&["element_id"]);
    let e2 = alice.cmd_text(&["element_id"]);
    assert_eq!(e1.len(), 32);
    assert_ne!(e1, e2);

    // An element reaches every member verbatim (spacing, field order, unknown fields).
    let first = format!(r#"{{ "type":"line", "elementID":"{e1}",  "pts":[1,2,3] }}"#);
    assert_eq!(alice.cmd(&["add_el", &board, "1", &first]), 0);
    for p in [&alice, &bob] {
        p.expect(&format!(
            "NotifyAddBoardElement\t{board}\t1\t{first}\talice"
        ));
    }
    let second = format!(r#"{{"elementID":"{e2}","text":"hi"}}"#);
    assert_eq!(bob.cmd(&["add_el", &board, "1", &second]), 0);
    alice.expect(&format!("NotifyAddBoardElement\t{board}\t1\t{second}\tbob"));
    bob.expect(&format!("NotifyAddBoardElement\t{board}\t1\t{second}\tbob"));

    // What the copy shows invalid is refused at once.
    let unknown = r#"{"elementID":"nope"}"#;
    let (b, f1) = (board.as_str(), first.as_str());
    for (args, why) in [
        (vec!["add_el", b, "1", f1], "the ID exists"),
        (vec!["add_el", b, "2", unknown], "page out of range"),
        (vec!["add_el", b, "-1", unknown], "negative page"),
        (vec!["add_el", "no-board", "0", unknown], "no such board"),
        (vec!["add_el", b, "0", "[1]"], "not an object"),
        (vec!["add_el", b, "0", r#"{"id":"x"}"#], "no elementID"),
        (
            vec!["add_el", b, "0", r#"{"elementID":7}"#],
            "elementID not a string",
        ),
        (
            vec!["add_el", b, "0", r#"{"elementID":"a;b"}"#],
            "';' in the ID",
        ),
        (vec!["mod_el", b, "1", unknown], "modify of an unknown ID"),
        (vec!["mod_el", b, "0", f1], "modify on another page"),
        (vec!["del_el", b, "1", "nope"], "delete of an unknown ID"),
        (vec!["del_el", b, "1", ""], "no IDs"),
        (vec!["close_board", "no-board"], "close of an unknown board"),
        (
            vec!["hot_spot", "no-board", "0", "1", "1"],
            "pointer on an unknown board",
        ),
        (
            vec!["hot_spot", b, "5", "1", "1"],
            "pointer on an unknown page",
        ),
    ] {
        assert_eq!(alice.cmd(&args), PARAM_ERR, "{why}");
    }

    // Modify keeps the element's place; delete takes a `;` list.
    let changed = format!(r#"{{"elementID":"{e1}","type":"line","pts":[9]}}"#);
    assert_eq!(bob.cmd(&["mod_el", &board, "1", &changed]), 0);
    alice.expect(&format!(
        "NotifyModifyBoardElement\t{board}\t1\t{changed}\tbob"
    ));
    // The pointer goes to the others only.
    assert_eq!(bob.cmd(&["hot_spot", &board, "1", "10", "20"]), 0);
    alice.expect(&format!("NotifyMouseHotSpot\t{board}\t10\t20\tbob"));
    assert_eq!(
        bob.cmd(&["del_el", &board, "1", &format!("{e2};{e1};{e2}")]),
        0
    );
    for p in [&alice, &bob] {
        p.expect(&format!(
            "NotifyDelBoardElement\t{board}\t1\t{e2};{e1}\tbob"
        ));
    }
    assert_eq!(
        bob.count(&format!("NotifyMouseHotSpot\t{board}\t10\t20\tbob")),
        0
    );
    assert_eq!(alice.cmd(&["del_el", &board, "1", &e1]), PARAM_ERR, "gone");

    assert_eq!(bob.cmd(&["close_board", &board]), 0);
    for p in [&alice, &bob] {
        p.expect(&format!("NotifyCloseBoard\t{board}\tbob"));
    }
    assert_eq!(alice.cmd(&["add_el", &board, "0", unknown]), PARAM_ERR);

    // A new board takes elements at once, before its echo is back (one member's requests
    // are handled in order).
    let quick = alice.cmd_text(&["create_board", "quick", "10", "10", "1"]);
    assert_eq!(alice.cmd(&["add_el", &quick, "0", unknown]), 0);
    bob.expect(&format!(
        "NotifyAddBoardElement\t{quick}\t0\t{unknown}\talice"
    ));

    // Out of the meeting, board functions say so.
    assert_eq!(alice.cmd(&["exit_meeting"]), 0);
    assert_eq!(alice.cmd(&["add_el", &board, "0", unknown]), NOT_INMEETING);
    assert_eq!(alice.cmd(&["close_board", &board]), NOT_INMEETING);
    assert_eq!(
        alice.cmd(&["hot_spot", &board, "0", "1", "1"]),
        NOT_INMEETING
    );
}

#[test]
fn a_late_joiner_gets_the_boards_the_members_hold() {
    let server = ServerProcess::start(CONFIG);
    let mut alice = user("alice", &server);
    let mut bob = user("bob", &server);
    let id = all_in_a_meeting(&mut [&mut alice, &mut bob]);
    let plan = create_board(&mut alice, "plan", 3);
    let empty = create_board(&mut bob, "empty", 1);
    let gone = create_board(&mut bob, "gone", 1);
    alice.expect(&format!("NotifyCreateBoard\t{{\"boardID\":\"{gone}\",\"title\":\"gone\",\"width\":1024,\"height\":768,\"pageCount\":1}}\tbob"));
    let el = |id: &str, v: i32| format!(r#"{{"elementID":"{id}","v":{v}}}"#);
    let add = |p: &mut Peer, page: &str, id: &str| {
        assert_eq!(p.cmd(&["add_el", &plan, page, &el(id, 0)]), 0);
        p.expect(&format!(
            "NotifyAddBoardElement\t{plan}\t{page}\t{}\t{}",
            el(id, 0),
            p.name
        ));
    };
    add(&mut alice, "0", "a");
    add(&mut bob, "0", "b");
    add(&mut alice, "2", "c");
    add(&mut alice, "0", "d");
    assert_eq!(bob.cmd(&["mod_el", &plan, "0", &el("a", 1)]), 0);
    assert_eq!(alice.cmd(&["add_el", &gone, "0", &el("x", 0)]), 0);
    assert_eq!(alice.cmd(&["start_share"]), 0);
    alice.expect("StartScreenShareRslt\t0");
    assert_eq!(bob.cmd(&["del_el", &plan, "0", "b"]), 0);
    assert_eq!(bob.cmd(&["close_board", &gone]), 0);
    for p in [&alice, &bob] {
        p.expect(&format!("NotifyCloseBoard\t{gone}\tbob"));
    }

    let mut carol = user("carol", &server);
    assert_eq!(carol.cmd(&["enter", &id, ""]), 0);
    carol.expect("NotifyScreenShareStarted");
    let callbacks = carol.callbacks();
    let at = callbacks
        .iter()
        .position(|l| l == "EnterMeetingRslt\t0")
        .unwrap();
    let board = |id: &str, title: &str, pages: i32| {
        format!(
            r#"{{"boardID":"{id}","title":"{title}","width":1024,"height":768,"pageCount":{pages}}}"#
        )
    };
    assert_eq!(
        callbacks[at..at + 5],
        [
            "EnterMeetingRslt\t0".to_string(),
            format!(
                "NotifyInitBoards\t[{},{}]",
                board(&plan, "plan", 3),
                board(&empty, "empty", 1)
            ),
            format!(
                "NotifyInitBoardPageDat\t{plan}\t0\t\t[{},{}]\tbob",
                el("a", 1),
                el("d", 0)
            ),
            format!(
                "NotifyInitBoardPageDat\t{plan}\t2\t\t[{}]\talice",
                el("c", 0)
            ),
            "NotifyScreenShareStarted".to_string(),
        ]
    );
    // Identical to what the members hold, and carol's copy takes operations on it.
    let held = replay(&alice);
    assert_eq!(replay(&bob), held);
    assert_eq!(replay(&carol), held);
    assert_eq!(
        carol.cmd(&["add_el", &plan, "0", &el("a", 2)]),
        PARAM_ERR,
        "exists"
    );
    assert_eq!(carol.cmd(&["del_el", &plan, "2", "c"]), 0);
    for p in [&alice, &bob, &carol] {
        p.expect(&format!("NotifyDelBoardElement\t{plan}\t2\tc\tcarol"));
    }

    // The last member leaving clears the boards. (ExitMeeting returns once sent: carol
    // waits until the others are out before she, the last, leaves and comes back.)
    for p in [&mut alice, &mut bob] {
        assert_eq!(p.cmd(&["exit_meeting"]), 0);
    }
    carol.expect("UserLeftMeeting\talice");
    carol.expect("UserLeftMeeting\tbob");
    assert_eq!(carol.cmd(&["exit_meeting"]), 0);
    assert_eq!(carol.cmd(&["enter", &id, ""]), 0);
    carol.wait_nth(|l| l == "NotifyInitBoards\t[]", 1);
}

#[test]
fn three_members_drawing_at_once_end_with_the_same_elements() {
    let server = ServerProcess::start(CONFIG);
    let mut peers: Vec<Peer> = ["alice", "bob", "carol"]
        .iter()
        .map(|n| user(n, &server))
        .collect();
    let id = {
        let mut refs: Vec<&mut Peer> = peers.iter_mut().collect();
        all_in_a_meeting(&mut refs)
    };
    let board = create_board(&mut peers[0], "shared", 2);
    // Elements everyone will fight over: modified and deleted by all at once.
    const CONTESTED: usize = 30;
    for i in 0..CONTESTED {
        let json = format!(r#"{{"elementID":"c{i}","by":"alice"}}"#);
        assert_eq!(peers[0].cmd(&["add_el", &board, "0", &json]), 0);
    }
    for p in &peers {
        p.wait_nth(|l| l.starts_with("NotifyAddBoardElement"), CONTESTED);
    }

    const OWN: usize = 60;
    std::thread::scope(|s| {
        for (k, p) in peers.iter_mut().enumerate() {
            let board = board.clone();
            s.spawn(move || {
                let name = p.name.clone();
                for i in 0..OWN {
                    let page = (i % 2).to_string();
                    let own = format!(r#"{{"elementID":"{name}-{i}","n":{i}}}"#);
                    assert_eq!(p.cmd(&["add_el", &board, &page, &own]), 0);
                    // The same new ID from all three: one add wins, the others are dropped.
                    let same = format!(r#"{{"elementID":"same-{i}","by":"{name}"}}"#);
                    let rc = p.cmd(&["add_el", &board, "1", &same]);
                    assert!(rc == 0 || rc == PARAM_ERR, "{rc}");
                    let c = (i + k * 7) % CONTESTED;
                    let changed = format!(r#"{{"elementID":"c{c}","by":"{name}","i":{i}}}"#);
                    let rc = p.cmd(&["mod_el", &board, "0", &changed]);
                    assert!(rc == 0 || rc == PARAM_ERR, "{rc}");
                    if i % 3 == k {
                        let ids = format!("c{c};c{}", (c + 1) % CONTESTED);
                        let rc = p.cmd(&["del_el", &board, "0", &ids]);
                        assert!(rc == 0 || rc == PARAM_ERR, "{rc}");
                    }
                    if i % 10 == 9 {
                        let mine = format!("{name}-{}", i - 5);
                        // Deleting needs the copy to hold it: its echo first.
                        p.wait_line(|l| l.contains(&format!("\"elementID\":\"{mine}\"")));
                        let page = ((i - 5) % 2).to_string();
                        assert_eq!(p.cmd(&["del_el", &board, &page, &mine]), 0);
                    }
                }
                // Last: a marker every member must see after all of this member's operations.
                let done = format!(r#"{{"elementID":"done-{name}"}}"#);
                assert_eq!(p.cmd(&["add_el", &board, "0", &done]), 0);
            });
        }
    });
    for p in &peers {
        for other in ["alice", "bob", "carol"] {
            p.wait_line(|l| l.contains(&format!("\"done-{other}\"")));
        }
    }
    // Every member got the same operations in the same order, and so holds the same.
    let events = board_events(&peers[0]);
    let held = replay(&peers[0]);
    for p in &peers[1..] {
        assert_eq!(board_events(p), events, "{}", p.name);
        assert_eq!(replay(p), held, "{}", p.name);
    }
    // Each contested ID was added once; each member's own elements all arrived.
    let page1 = &held[&(board.clone(), 1)];
    for i in 0..OWN {
        let same = page1
            .iter()
            .filter(|e| element_id(e) == format!("same-{i}"));
        assert_eq!(same.count(), 1);
    }
    let total: usize = held.values().map(Vec::len).sum();
    // own (minus 6 deleted each) + same-* + surviving contested + done markers.
    let contested_left = held[&(board.clone(), 0)]
        .iter()
        .filter(|e| {
            let id = element_id(e);
            id.len() > 1 && id.starts_with('c') && id[1..].bytes().all(|b| b.is_ascii_digit())
        })
        .count();
    assert_eq!(total, 3 * (OWN - 6) + OWN + contested_left + 3);
    assert!(contested_left < CONTESTED, "the deletes were applied");

    // A member entering now receives exactly that.
    let mut dave = user("dave", &server);
    assert_eq!(dave.cmd(&["enter", &id, ""]), 0);
    dave.wait_line(|l| l.starts_with("NotifyInitBoards"));
    dave.wait_nth(|l| l.starts_with("NotifyInitBoardPageDat"), 2);
    assert_eq!(replay(&dave), held);
}

#[test]
fn the_meetings_board_budget_is_refused_at_once() {
    let server = ServerProcess::start(CONFIG);
    let mut alice = user("alice", &server);
    all_in_a_meeting(&mut [&mut alice]);
    let board = create_board(&mut alice, "big", 1);
    let pad = "x".repeat(60_000);
    let mut added = 0;
    loop {
        let json = format!(r#"{{"elementID":"e{added:03}","pad":"{pad}"}}"#);
        match alice.cmd(&["add_el", &board, "0", &json]) {
            0 => {
                added += 1;
                // The copy counts an element once its echo is back.
                alice.wait_nth(|l| l.starts_with("NotifyAddBoardElement"), added);
            }
            code => {
                assert_eq!(code, OUTOF_MEM);
                break;
            }
        }
    }
    // Element JSON counts against the 16 MiB: this many fitted, one more would not have.
    let json_len = 60_000 + r#"{"elementID":"e000","pad":""}"#.len();
    assert_eq!(added, 16 * 1024 * 1024 / json_len);
    // Deleting makes room again.
    assert_eq!(alice.cmd(&["del_el", &board, "0", "e000"]), 0);
    alice.expect(&format!("NotifyDelBoardElement\t{board}\t0\te000\talice"));
    let json = format!(r#"{{"elementID":"again","pad":"{pad}"}}"#);
    assert_eq!(alice.cmd(&["add_el", &board, "0", &json]), 0);
}
