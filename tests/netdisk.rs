//! The net disk through the C ABI, between peer processes (tests/c/peer.c,
//! tests/c/peer_netdisk.h) and the real server binary: upload, list, download and delete
//! between two users of a tenant and invisible to another; the quota, also against
//! concurrent uploads; pause and resume; cancel leaving nothing; a connection cut in the
//! middle (the transfer resumes); `kill -9` of the server in the middle of an upload
//! (nothing listed, no bytes left after the restart); board backgrounds for members and
//! late joiners.

mod common;

use std::path::Path;
use std::time::Duration;

use common::netdisk::*;
use common::peer::Peer;
use common::proxy::Proxy;
use common::server_process::{ServerProcess, TempDir};
use common::{cstr, init, serial};
use crvideosdk::ffi::boards::CRVideo_SetBoardBkImage;
use crvideosdk::ffi::netdisk::*;
use serde_json::Value;

const TENANTS: &str = "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n\
                       [[tenants]]\naccount = \"acme\"\npassword = \"s3cret\"\n";

const PARAM_ERR: i32 = 5;
const NOT_INIT: i32 = 11;
const NOT_LOGIN: i32 = 12;
const FILE_NOT_EXIST: i32 = 1400;
const FILE_ALREADY_EXIST: i32 = 1403;
const NETDISK_FILEID_INVALID: i32 = 1411;

fn server(extra: &str) -> ServerProcess {
    ServerProcess::start(&format!("heartbeat_ms = 300\n{extra}\n{TENANTS}"))
}

fn demo(name: &str, addr: impl std::fmt::Display) -> Peer {
    Peer::login(name, addr, "demo", "demo123", name)
}

/// Bytes in every file under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .map(|e| e.unwrap())
        .map(|e| match e.file_type().unwrap().is_dir() {
            true => bytes_under(&e.path()),
            false => e.metadata().unwrap().len(),
        })
        .sum()
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn upload_list_download_and_delete_between_users_of_a_tenant_and_not_another() {
    let server = server("");
    let dir = TempDir::new("nd-share");
    let mut alice = demo("alice", server.addr);
    let mut bob = demo("bob", server.addr);
    let mut carol = Peer::login("carol", server.addr, "acme", "s3cret", "carol");
    let (path, data) = write_file(&dir.path, "plan.bin", 3 * 1024 * 1024 + 17, 1);

    // Bad arguments, each with its code and no callback.
    assert_eq!(
        alice.cmd_text(&["nd_make", "2", "x"]),
        format!("NULL:{PARAM_ERR}")
    );
    assert_eq!(
        alice.cmd_text(&["nd_make", "0", "a/b"]),
        format!("NULL:{PARAM_ERR}")
    );
    assert_eq!(
        alice.cmd_text(&["nd_make", "0", ""]),
        format!("NULL:{PARAM_ERR}")
    );
    let id = make_id(&mut alice, 0, "Plan v2.bin");
    let p = path.to_str().unwrap();
    assert_eq!(
        alice.cmd(&["nd_upload", "bogus", p]),
        NETDISK_FILEID_INVALID
    );
    let missing = dir.path.join("missing.bin");
    assert_eq!(
        alice.cmd(&["nd_upload", &id, missing.to_str().unwrap()]),
        FILE_NOT_EXIST
    );
    assert_eq!(alice.cmd(&["nd_pause", &id, "1"]), NETDISK_FILEID_INVALID);
    assert_eq!(alice.cmd(&["nd_cancel", &id]), NETDISK_FILEID_INVALID);
    assert_eq!(
        alice.cmd(&["nd_delete", "0-nothex-x"]),
        NETDISK_FILEID_INVALID
    );

    // Alice uploads; until it is complete nobody sees it.
    assert_eq!(list(&mut bob), Vec::<Value>::new());
    assert_eq!(alice.cmd(&["nd_upload", &id, p]), 0);
    assert!(finished(&alice, &id), "{:?}", alice.lines());
    // The same ID again: it is listed, so the server refuses it.
    assert_eq!(alice.cmd(&["nd_upload", &id, p]), 0);
    assert!(!progress(&alice, &id).is_empty());
    alice.wait_nth(
        |l| l.starts_with(&format!("NotifyNetDiskTransforProgress\t{id}\t")) && l.ends_with("\t0"),
        1,
    );

    // Bob sees it with its MD5, and downloads the same bytes.
    let files = list(&mut bob);
    assert_eq!(files.len(), 1, "{files:?}");
    let f = &files[0];
    assert_eq!(f["fileID"], id.as_str());
    assert_eq!(f["ownerID"], "alice");
    assert_eq!(f["name"], "Plan v2.bin");
    assert_eq!(f["orgFileName"], "plan.bin");
    assert_eq!(f["md5"], md5_hex(&data).as_str());
    assert_eq!(f["size"], data.len());
    assert_eq!(f["status"], 0);
    assert_eq!(summary(&mut bob), (10 << 30, data.len() as i64));
    let got = dir.path.join("got.bin");
    let g = got.to_str().unwrap();
    assert_eq!(bob.cmd(&["nd_download", &id, g]), 0);
    assert!(finished(&bob, &id), "{:?}", bob.lines());
    assert!(
        std::fs::read(&got).unwrap() == data,
        "downloaded bytes differ"
    );
    // Never over an existing file.
    assert_eq!(bob.cmd(&["nd_download", &id, g]), FILE_ALREADY_EXIST);
    assert_eq!(
        files_in(&dir.path),
        ["got.bin", "plan.bin"],
        "no hidden file left"
    );

    // Another tenant sees nothing of it and cannot touch it.
    assert_eq!(list(&mut carol), Vec::<Value>::new());
    assert_eq!(summary(&mut carol).1, 0);
    let theirs = dir.path.join("theirs.bin");
    assert_eq!(
        carol.cmd(&["nd_download", &id, theirs.to_str().unwrap()]),
        0
    );
    assert!(!finished(&carol, &id));
    assert_eq!(carol.cmd(&["nd_delete", &id]), 0);
    carol.expect(&format!("NotifyNetDiskFileDeleteRslt\t{id}\t0"));
    assert!(!theirs.exists());
    assert_eq!(files_in(&dir.path), ["got.bin", "plan.bin"]);

    // A resource (a board background) counts against the quota but is not listed.
    let (bg, bg_data) = write_file(&dir.path, "bg.png", 1000, 2);
    let bg_id = make_id(&mut alice, 1, "bg.png");
    assert_eq!(alice.cmd(&["nd_upload", &bg_id, bg.to_str().unwrap()]), 0);
    assert!(finished(&alice, &bg_id));
    assert_eq!(list(&mut bob).len(), 1);
    assert_eq!(summary(&mut bob).1, (data.len() + bg_data.len()) as i64);

    // Bob deletes Alice's file: gone for everyone, and its bytes on the server too.
    assert_eq!(bob.cmd(&["nd_delete", &id]), 0);
    bob.expect(&format!("NotifyNetDiskFileDeleteRslt\t{id}\t1"));
    assert_eq!(list(&mut alice), Vec::<Value>::new());
    assert_eq!(summary(&mut alice).1, bg_data.len() as i64);
    assert_eq!(
        bytes_under(&server.data_dir().join("netdisk")),
        bg_data.len() as u64
    );
    assert_eq!(bob.cmd(&["nd_delete", &id]), 0);
    bob.wait_nth(|l| l == format!("NotifyNetDiskFileDeleteRslt\t{id}\t0"), 1);
}

#[test]
fn the_quota_holds_also_against_concurrent_uploads() {
    let server = server("netdisk_quota_bytes = 1048576");
    let dir = TempDir::new("nd-quota");
    let mut alice = demo("alice", server.addr);
    let mut bob = demo("bob", server.addr);
    let (a, _) = write_file(&dir.path, "a.bin", 600 * 1024, 3);
    let (b, _) = write_file(&dir.path, "b.bin", 600 * 1024, 4);
    let (c, _) = write_file(&dir.path, "c.bin", 300 * 1024, 5);

    // Alice's upload holds its 600 KiB from its start (paused, it is far from done)...
    let a_id = make_id(&mut alice, 0, "a.bin");
    assert_eq!(alice.cmd(&["nd_upload", &a_id, a.to_str().unwrap()]), 0);
    assert_eq!(alice.cmd(&["nd_pause", &a_id, "1"]), 0);
    alice.expect(&format!("NotifyNetDiskTransforProgress\t{a_id}\t0\t1"));
    // ...so Bob's 600 KiB do not fit: he is told the disk is full, with the list.
    let b_id = make_id(&mut bob, 0, "b.bin");
    assert_eq!(bob.cmd(&["nd_upload", &b_id, b.to_str().unwrap()]), 0);
    bob.expect("NotifyNetDiskIsFull\t[]");
    assert!(!finished(&bob, &b_id));
    let lines = bob.lines();
    let full = lines
        .iter()
        .position(|l| l.starts_with("NotifyNetDiskIsFull"))
        .unwrap();
    let failed = lines
        .iter()
        .position(|l| l.starts_with(&format!("NotifyNetDiskTransforProgress\t{b_id}")))
        .unwrap();
    assert!(full < failed, "IsFull comes before the failure: {lines:?}");

    assert_eq!(alice.cmd(&["nd_pause", &a_id, "0"]), 0);
    assert!(finished(&alice, &a_id));
    let c_id = make_id(&mut bob, 0, "c.bin");
    assert_eq!(bob.cmd(&["nd_upload", &c_id, c.to_str().unwrap()]), 0);
    assert!(finished(&bob, &c_id), "900 KiB of 1 MiB fit");
    let d_id = make_id(&mut bob, 0, "d.bin");
    assert_eq!(bob.cmd(&["nd_upload", &d_id, c.to_str().unwrap()]), 0);
    bob.wait_line(|l| l.starts_with("NotifyNetDiskIsFull\t[{"));
    assert!(!finished(&bob, &d_id));
    let names: Vec<Value> = list(&mut alice).iter().map(|f| f["name"].clone()).collect();
    assert_eq!(names, ["a.bin", "c.bin"]);
    assert_eq!(summary(&mut alice), (1 << 20, 900 * 1024));
}

#[test]
fn pause_resumes_from_the_same_offset_and_cancel_leaves_nothing() {
    let server = server("");
    let proxy = Proxy::start(server.addr);
    let dir = TempDir::new("nd-pause");
    // Alice's traffic is slow, so her transfers are caught in the middle.
    proxy.delay(3);
    let mut alice = demo("alice", proxy.addr);
    let mut bob = demo("bob", server.addr);
    let (path, data) = write_file(&dir.path, "big.bin", 24 * 1024 * 1024, 6);
    let p = path.to_str().unwrap();

    let id = make_id(&mut alice, 0, "big.bin");
    assert_eq!(alice.cmd(&["nd_upload", &id, p]), 0);
    let prefix = format!("NotifyNetDiskTransforProgress\t{id}\t");
    alice.wait_line(|l| l.starts_with(&prefix) && !l.starts_with(&format!("{prefix}0\t")));
    assert_eq!(alice.cmd(&["nd_pause", &id, "1"]), 0);
    // What was in flight lands; then nothing moves.
    let settled = |p: &Peer| progress(p, &id).len();
    let mut seen = settled(&alice);
    loop {
        std::thread::sleep(Duration::from_millis(400));
        let now = settled(&alice);
        if now == seen {
            break;
        }
        seen = now;
    }
    let paused_at = progress(&alice, &id).last().unwrap().0;
    assert!(paused_at < 100);
    alice.assert_no_line_within(Duration::from_millis(500), |l| {
        l.starts_with(&prefix) && progress_percent(l) > paused_at
    });
    proxy.delay(0);
    assert_eq!(alice.cmd(&["nd_pause", &id, "0"]), 0);
    assert!(finished(&alice, &id), "{:?}", progress(&alice, &id));
    assert_eq!(list(&mut bob)[0]["md5"], md5_hex(&data).as_str());

    // A cancelled upload: not listed, no bytes left on the server, the quota free again.
    proxy.delay(3);
    let id2 = make_id(&mut alice, 0, "again.bin");
    assert_eq!(alice.cmd(&["nd_upload", &id2, p]), 0);
    let prefix2 = format!("NotifyNetDiskTransforProgress\t{id2}\t");
    alice.wait_line(|l| l.starts_with(&prefix2) && !l.starts_with(&format!("{prefix2}0\t")));
    assert_eq!(alice.cmd(&["nd_cancel", &id2]), 0);
    assert!(!finished(&alice, &id2));
    assert_eq!(alice.cmd(&["nd_cancel", &id2]), NETDISK_FILEID_INVALID);
    let netdisk = server.data_dir().join("netdisk");
    common::eventually("the cancelled upload's bytes are deleted", || {
        bytes_under(&netdisk.join("partial")) == 0
    });
    assert_eq!(list(&mut bob).len(), 1);
    assert_eq!(summary(&mut bob).1, data.len() as i64);

    // A cancelled download: no file, no hidden partial file.
    let got = dir.path.join("got.bin");
    assert_eq!(alice.cmd(&["nd_download", &id, got.to_str().unwrap()]), 0);
    alice.wait_nth(
        |l| l.starts_with(&prefix) && progress_percent(l) > 0 && l.ends_with("\t1"),
        1,
    );
    assert_eq!(alice.cmd(&["nd_cancel", &id]), 0);
    alice.wait_line(|l| l.starts_with(&prefix) && l.ends_with("\t0"));
    common::eventually("the partial download is deleted", || {
        files_in(&dir.path) == ["big.bin"]
    });
}

fn progress_percent(line: &str) -> i32 {
    line.split('\t').nth(2).unwrap().parse().unwrap()
}

#[test]
fn transfers_resume_after_the_connection_is_cut() {
    let server = server("");
    let proxy = Proxy::start(server.addr);
    let dir = TempDir::new("nd-cut");
    proxy.delay(2);
    let mut alice = demo("alice", proxy.addr);
    let (path, data) = write_file(&dir.path, "big.bin", 16 * 1024 * 1024, 7);

    let id = make_id(&mut alice, 0, "big.bin");
    assert_eq!(alice.cmd(&["nd_upload", &id, path.to_str().unwrap()]), 0);
    let prefix = format!("NotifyNetDiskTransforProgress\t{id}\t");
    alice.wait_line(|l| l.starts_with(&prefix) && progress_percent(l) >= 10);
    proxy.cut();
    alice.expect("Reconnected");
    assert!(finished(&alice, &id), "{:?}", alice.lines());
    let listed = list(&mut alice);
    assert_eq!(listed[0]["md5"], md5_hex(&data).as_str());
    assert_eq!(listed[0]["size"], data.len());

    let got = dir.path.join("got.bin");
    assert_eq!(alice.cmd(&["nd_download", &id, got.to_str().unwrap()]), 0);
    let downloads = progress(&alice, &id).len();
    alice.wait_nth(|l| l.starts_with(&prefix), downloads + 3);
    proxy.cut();
    alice.wait_nth(|l| l == "Reconnected", 2);
    alice.wait_nth(|l| l == format!("{prefix}100\t1"), 2);
    assert!(
        std::fs::read(&got).unwrap() == data,
        "downloaded bytes differ"
    );
    assert_eq!(files_in(&dir.path), ["big.bin", "got.bin"]);
}

#[test]
fn a_server_killed_mid_upload_lists_nothing_and_keeps_no_bytes_after_restart() {
    let mut server = server("");
    let dir = TempDir::new("nd-kill");
    // The restarted server knows nothing of her session: no use waiting long to resume it.
    let mut alice = Peer::login_with(
        "alice",
        server.addr,
        r#""resumeWindowMs":500"#,
        "demo",
        "demo123",
        "alice",
    );
    let (path, _) = write_file(&dir.path, "big.bin", 8 * 1024 * 1024, 8);
    let id = make_id(&mut alice, 0, "big.bin");
    assert_eq!(alice.cmd(&["nd_upload", &id, path.to_str().unwrap()]), 0);
    let prefix = format!("NotifyNetDiskTransforProgress\t{id}\t");
    alice.wait_line(|l| l.starts_with(&prefix) && progress_percent(l) > 0);
    assert_eq!(alice.cmd(&["nd_pause", &id, "1"]), 0);
    let netdisk = server.data_dir().join("netdisk");
    assert!(
        bytes_under(&netdisk.join("partial")) > 0,
        "bytes were written"
    );

    server.restart("KILL");
    assert!(!finished(&alice, &id), "the session could not be resumed");
    alice.expect("LineOff\t207");
    assert_eq!(
        bytes_under(&netdisk),
        0,
        "no orphan bytes after the restart"
    );
    let mut bob = demo("bob", server.addr);
    assert_eq!(list(&mut bob), Vec::<Value>::new());
    assert_eq!(summary(&mut bob).1, 0);
}

#[test]
fn board_backgrounds_reach_members_and_late_joiners() {
    let server = server("");
    let dir = TempDir::new("nd-board");
    let mut alice = demo("alice", server.addr);
    let mut bob = demo("bob", server.addr);
    let (bg, _) = write_file(&dir.path, "bg.png", 5000, 9);
    let bg_id = make_id(&mut alice, 1, "bg.png");
    assert_eq!(alice.cmd(&["nd_upload", &bg_id, bg.to_str().unwrap()]), 0);
    assert!(finished(&alice, &bg_id));

    assert_eq!(alice.cmd(&["create_meeting", "room", "0", "m"]), 0);
    let line = alice.wait_line(|l| l.starts_with("CreateMeetingSuccess\t"));
    let m: Value = serde_json::from_str(line.split('\t').nth(1).unwrap()).unwrap();
    let meeting = m["ID"].to_string();
    for p in [&mut alice, &mut bob] {
        assert_eq!(p.cmd(&["enter", &meeting, ""]), 0);
        p.expect("EnterMeetingRslt\t0");
    }
    let board = alice.cmd_text(&["create_board", "b", "1024", "768", "3"]);
    bob.wait_line(|l| l.starts_with("NotifyCreateBoard\t"));

    assert_eq!(
        alice.cmd(&["board_bk", &board, "1", "not-an-id"]),
        NETDISK_FILEID_INVALID
    );
    assert_eq!(alice.cmd(&["board_bk", "nope", "1", &bg_id]), PARAM_ERR);
    // A well-formed ID that is no file of the tenant: refused, nobody told.
    let ghost = make_id(&mut alice, 1, "ghost.png");
    assert_eq!(alice.cmd(&["board_bk", &board, "2", &ghost]), 0);
    assert_eq!(alice.cmd(&["board_bk", &board, "1", &bg_id]), 0);
    let seen =
        format!("NotifyBoardBkImage\t{{\"boardID\":\"{board}\",\"pageNo\":1}}\t{bg_id}\talice");
    alice.expect(&seen);
    bob.expect(&seen);
    assert!(!bob.lines().iter().any(|l| l.contains(&ghost)));

    // A late joiner gets the page with its background (though it has no elements).
    let mut carol = demo("carol", server.addr);
    assert_eq!(carol.cmd(&["enter", &meeting, ""]), 0);
    carol.expect("EnterMeetingRslt\t0");
    carol.expect(&format!(
        "NotifyInitBoardPageDat\t{board}\t1\t{bg_id}\t[]\talice"
    ));
    // And can fetch the image.
    let got = dir.path.join("bg-got.png");
    assert_eq!(
        carol.cmd(&["nd_download", &bg_id, got.to_str().unwrap()]),
        0
    );
    assert!(finished(&carol, &bg_id));
    assert_eq!(std::fs::read(&got).unwrap(), std::fs::read(&bg).unwrap());
}

#[test]
fn calls_before_init_and_before_login_are_refused_with_their_codes() {
    let _g = serial();
    let id = cstr("0-0123456789abcdef0123456789abcdef-a.bin");
    let path = cstr("/tmp/crvideo-netdisk-never-made.bin");
    let name = cstr("a.bin");
    // SAFETY: valid NUL-terminated strings for the duration of each call.
    unsafe {
        assert_eq!(CRVideo_GetNetDiskSummary(), NOT_INIT);
        assert_eq!(CRVideo_GetNetDiskFileList(), NOT_INIT);
        assert!(CRVideo_MakeNetDiskFileID(0, name.as_ptr()).is_null());
        assert_eq!(crvideosdk::ffi::boundary::CRVideo_GetLastError(), NOT_INIT);
        assert_eq!(
            CRVideo_UploadNetDiskFile(id.as_ptr(), path.as_ptr()),
            NOT_INIT
        );
        assert_eq!(
            CRVideo_DownloadNetDiskFile(id.as_ptr(), path.as_ptr()),
            NOT_INIT
        );
        assert_eq!(CRVideo_SetNetDiskTransportPause(id.as_ptr(), 1), NOT_INIT);
        assert_eq!(CRVideo_CancelNetDiskFile(id.as_ptr()), NOT_INIT);
        assert_eq!(CRVideo_DeleteNetDiskFile(id.as_ptr()), NOT_INIT);
        assert_eq!(
            CRVideo_SetBoardBkImage(name.as_ptr(), 0, id.as_ptr()),
            NOT_INIT
        );

        init("{}");
        assert_eq!(CRVideo_GetNetDiskSummary(), NOT_LOGIN);
        assert_eq!(CRVideo_GetNetDiskFileList(), NOT_LOGIN);
        assert_eq!(
            CRVideo_UploadNetDiskFile(id.as_ptr(), path.as_ptr()),
            NOT_LOGIN
        );
        assert_eq!(
            CRVideo_DownloadNetDiskFile(id.as_ptr(), path.as_ptr()),
            NOT_LOGIN
        );
        assert_eq!(CRVideo_DeleteNetDiskFile(id.as_ptr()), NOT_LOGIN);
        assert_eq!(
            CRVideo_SetBoardBkImage(name.as_ptr(), 0, id.as_ptr()),
            NOT_LOGIN
        );
        assert_eq!(
            CRVideo_UploadNetDiskFile(std::ptr::null(), path.as_ptr()),
            PARAM_ERR
        );
        // IDs are made without a server.
        let made = CRVideo_MakeNetDiskFileID(1, name.as_ptr());
        assert!(!made.is_null());
        let made_id = std::ffi::CStr::from_ptr(made).to_str().unwrap().to_owned();
        crvideosdk::ffi::lifecycle::CRVideo_FreeString(made);
        assert!(
            made_id.starts_with("1-") && made_id.ends_with("-a.bin"),
            "{made_id}"
        );
        assert!(CRVideo_MakeNetDiskFileID(0, std::ptr::null()).is_null());
        assert_eq!(crvideosdk::ffi::boundary::CRVideo_GetLastError(), PARAM_ERR);
        crvideosdk::ffi::lifecycle::CRVideo_Uninit();
    }
    assert!(!Path::new("/tmp/crvideo-netdisk-never-made.bin").exists());
}
