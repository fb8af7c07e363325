//! The transparent channel through the C ABI: commands, buffers and files between peer
//! processes (tests/c/peer.c), checked byte for byte.

mod common;

use std::path::{Path, PathBuf};

use common::fake_servers::RawClient;
use common::peer::{data_line, fnv1a, Peer, NO_RESUME};
use common::server_process::{ServerProcess, TempDir};
use common::*;

/// The bytes `send_pattern` sends (tests/c/peer.c: pattern_byte).
fn pattern(len: usize, seed: u32) -> Vec<u8> {
    (0..len)
        .map(|i| {
            ((i as u32)
                .wrapping_mul(131)
                .wrapping_add(seed)
                .wrapping_add((i >> 11) as u32)
                & 0xff) as u8
        })
        .collect()
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

/// A peer with its own tmpDir.
struct User {
    peer: Peer,
    tmp: TempDir,
}

impl std::ops::Deref for User {
    type Target = Peer;
    fn deref(&self) -> &Peer {
        &self.peer
    }
}
impl std::ops::DerefMut for User {
    fn deref_mut(&mut self) -> &mut Peer {
        &mut self.peer
    }
}

fn user(name: &str, addr: std::net::SocketAddr) -> User {
    user_with(name, addr, "")
}

fn user_with(name: &str, addr: std::net::SocketAddr, extra: &str) -> User {
    user_with_env(name, addr, extra, &[])
}

/// A user whose process gets more environment variables.
fn user_with_env(
    name: &str,
    addr: std::net::SocketAddr,
    extra: &str,
    env: &[(&str, &str)],
) -> User {
    let tmp = TempDir::new(&format!("tmp-{name}"));
    // Without resuming, so that a killed peer is gone at once.
    let extra = format!(
        r#""tmpDir":"{}",{NO_RESUME}{}{extra}"#,
        tmp.path.display(),
        if extra.is_empty() { "" } else { "," }
    );
    User {
        peer: Peer::login_with_env(name, addr, &extra, env, "demo", "demo123", name),
        tmp,
    }
}

/// Files in a directory (hidden ones included), sorted.
fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// The SendProgress values of a task, in order.
fn progress(p: &Peer, id: &str) -> Vec<(u64, u64)> {
    p.lines()
        .iter()
        .filter_map(|l| l.strip_prefix(&format!("SendProgress\t{id}\t")))
        .map(|rest| {
            let mut f = rest.split('\t');
            (
                f.next().unwrap().parse().unwrap(),
                f.next().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

/// Progress rose strictly and ended at `total`, and came before the result line.
fn assert_progress_complete(p: &Peer, id: &str, total: u64, result_prefix: &str) {
    let series = progress(p, id);
    assert!(!series.is_empty(), "no progress for {id}");
    assert!(
        series.windows(2).all(|w| w[0].0 < w[1].0),
        "not increasing: {series:?}"
    );
    assert!(series.iter().all(|&(_, t)| t == total));
    assert_eq!(series.last().unwrap().0, total);
    let lines = p.lines();
    let last_progress = lines
        .iter()
        .rposition(|l| l.starts_with(&format!("SendProgress\t{id}\t")))
        .unwrap();
    let result = lines
        .iter()
        .position(|l| l.starts_with(&format!("{result_prefix}\t{id}\t")))
        .unwrap();
    assert!(last_progress < result, "progress after the result");
}

fn write_random_file(path: &Path, len: usize, seed: u32) -> Vec<u8> {
    let data = pattern(len, seed);
    std::fs::write(path, &data).unwrap();
    data
}

#[test]
fn commands_are_binary_safe_and_acknowledged_by_the_receiver() {
    let server = start_server();
    let mut alice = user("alice", server.addr());
    let bob = user("bob", server.addr());
    let data = [0u8, 0xff, 0, b'a', 0, 0x80, 0x0a, 0x09, 0];
    let id = alice.cmd_text(&["send_cmd", "bob", &hex(&data), "c1"]);
    bob.expect(&data_line("NotifyCmdData", "alice", &data));
    alice.expect(&format!("SendCmdRlst\t{id}\t0\tc1"));
    // The limit: 51,200 bytes pass, one more does not (and never leaves the SDK).
    let max = pattern(51_200, 3);
    let id = alice.cmd_text(&["send_cmd", "bob", &hex(&max), "max"]);
    alice.expect(&format!("SendCmdRlst\t{id}\t0\tmax"));
    bob.expect(&data_line("NotifyCmdData", "alice", &max));
    let too_big = pattern(51_201, 3);
    let id = alice.cmd_text(&["send_cmd", "bob", &hex(&too_big), "big"]);
    alice.expect(&format!("SendCmdRlst\t{id}\t1100\tbig"));
    // Empty is fine.
    let id = alice.cmd_text(&["send_cmd", "bob", "", "empty"]);
    alice.expect(&format!("SendCmdRlst\t{id}\t0\tempty"));
    bob.expect(&data_line("NotifyCmdData", "alice", b""));
    // A command cannot be cancelled.
    let id = alice.cmd_text(&["send_cmd", "bob", "00", "c"]);
    alice.expect(&format!("SendCmdRlst\t{id}\t0\tc"));
    assert_eq!(alice.cmd(&["cancel_send", &id]), 0);
    alice.expect(&format!("CancelSendRlst\t{id}\t1104\t"));
    assert_eq!(bob.count(&data_line("NotifyCmdData", "alice", b"")), 1);
}

#[test]
fn targets_that_cannot_receive() {
    let server = start_server();
    let addr = server.addr();
    let mut alice = user("alice", addr);
    let _acme = Peer::login("acme-bob", addr, "acme", "s3cret", "carol");
    let mut dave = user("dave", addr);
    assert_eq!(dave.cmd(&["logout"]), 0);
    let file = alice.tmp.path.join("f.bin");
    write_random_file(&file, 1000, 1);
    // No user ID is that long (the binary command frame's length byte could not hold it).
    let long = "x".repeat(300);
    for target in ["nobody", "carol", "dave", long.as_str()] {
        let id = alice.cmd_text(&["send_cmd", target, "01", "c"]);
        alice.expect(&format!("SendCmdRlst\t{id}\t1102\tc"));
        let id = alice.cmd_text(&["send_buffer", target, "01", "b"]);
        alice.expect(&format!("SendBufferRlst\t{id}\t1102\tb"));
        let id = alice.cmd_text(&["send_file", target, file.to_str().unwrap(), "f"]);
        alice.expect(&format!("SendFileRlst\t{id}\t{}\t1102\tf", file.display()));
    }
    // Files that cannot be read: missing, a directory.
    let dir = alice.tmp.path.to_str().unwrap().to_owned();
    for bad in ["/no/such/file", dir.as_str()] {
        let id = alice.cmd_text(&["send_file", "bob", bad, "x"]);
        alice.expect(&format!("SendFileRlst\t{id}\t{bad}\t1103\tx"));
    }
    // Unknown tasks cannot be cancelled.
    assert_eq!(alice.cmd(&["cancel_send", "no-such-task"]), 0);
    alice.expect("CancelSendRlst\tno-such-task\t1104\t");
}

#[test]
fn buffers_arrive_whole_with_progress() {
    let server = start_server();
    let mut alice = user("alice", server.addr());
    let bob = user("bob", server.addr());
    let len = 5 * 1024 * 1024 + 17;
    let id = alice.cmd_text(&["send_pattern", "bob", &len.to_string(), "7", "buf"]);
    bob.expect(&format!(
        "NotifyBufferData\talice\t{len}\t{:016x}",
        fnv1a(&pattern(len, 7))
    ));
    alice.expect(&format!("SendBufferRlst\t{id}\t0\tbuf"));
    assert_progress_complete(&alice, &id, len as u64, "SendBufferRlst");
    // An empty buffer is a buffer too.
    let id = alice.cmd_text(&["send_buffer", "bob", "", "empty"]);
    alice.expect(&format!("SendBufferRlst\t{id}\t0\tempty"));
    bob.expect(&format!("NotifyBufferData\talice\t0\t{:016x}", fnv1a(&[])));
}

/// Whether line `a` (exactly) came before a line starting with `b` in `p`'s output.
fn came_before(p: &Peer, a: &str, b: &str) -> bool {
    let lines = p.lines();
    let at = |pred: &dyn Fn(&str) -> bool| lines.iter().position(|l| pred(l));
    match (at(&|l| l == a), at(&|l| l.starts_with(b))) {
        (Some(i), Some(j)) => i < j,
        _ => false,
    }
}

#[test]
fn a_lent_buffer_is_read_in_place_and_given_back_exactly_once() {
    let server = ServerProcess::start(
        "heartbeat_ms = 5000\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n",
    );
    let mut alice = user_with("alice", server.addr, r#""maxBufferBytes":67108864"#);
    let bob = user("bob", server.addr);
    // Sent from the app's own memory, intact; given back once the SDK is done with it (the
    // release scribbles over and frees it: a later read would damage what bob gets).
    let len = 5 * 1024 * 1024 + 17;
    let id = alice.cmd_text(&["lend_pattern", "bob", &len.to_string(), "9", "lent", "1"]);
    bob.expect(&format!(
        "NotifyBufferData\talice\t{len}\t{:016x}",
        fnv1a(&pattern(len, 9))
    ));
    alice.expect(&format!("SendBufferRlst\t{id}\t0\tlent"));
    alice.expect(&format!("Released\t1\t{len}"));
    assert_progress_complete(&alice, &id, len as u64, "SendBufferRlst");

    // Refused at once: given back before the call returned.
    let id = alice.cmd_text(&["lend_pattern", "bob", "67108865", "1", "big", "2"]);
    assert!(came_before(
        &alice,
        "Released\t2\t67108865",
        &format!("RC\t{id}")
    ));
    alice.expect(&format!("SendBufferRlst\t{id}\t1101\tbig"));
    let id = alice.cmd_text(&["lend_pattern", "bob", "10", "1", "nul", "3", "null-data"]);
    assert!(came_before(&alice, "Released\t3\t10", &format!("RC\t{id}")));
    alice.expect(&format!("SendBufferRlst\t{id}\t5\tnul"));
    // No release callback: nothing could give it back, so it is not taken.
    let id = alice.cmd_text(&[
        "lend_pattern",
        "bob",
        "10",
        "1",
        "norel",
        "4",
        "null-release",
    ]);
    alice.expect(&format!("SendBufferRlst\t{id}\t5\tnorel"));
    // Nobody there to take it: the task fails, the buffer comes back.
    let id = alice.cmd_text(&["lend_pattern", "nobody", "100", "1", "gone", "5"]);
    alice.expect(&format!("SendBufferRlst\t{id}\t1102\tgone"));
    alice.expect("Released\t5\t100");

    // Cancelled while bob's app is frozen (no credit comes back): given back after.
    bob.signal("STOP");
    let big = (48 * 1024 * 1024).to_string();
    let id = alice.cmd_text(&["lend_pattern", "bob", &big, "3", "cancel", "6"]);
    assert_eq!(alice.cmd(&["cancel_send", &id]), 0);
    alice.expect(&format!("CancelSendRlst\t{id}\t0\tcancel"));
    alice.expect(&format!("Released\t6\t{big}"));
    // Still lent when the SDK is shut down: given back by CRVideo_Uninit at the latest.
    let id = alice.cmd_text(&["lend_pattern", "bob", &big, "4", "uninit", "7"]);
    assert!(!id.is_empty());
    assert_eq!(alice.cmd(&["uninit"]), 0);
    let released = |n: u32| {
        let prefix = format!("Released\t{n}\t");
        alice
            .lines()
            .iter()
            .filter(|l| l.starts_with(&prefix))
            .count()
    };
    assert_eq!(released(7), 1, "given back by uninit");
    bob.signal("CONT");
    // Every loan with a release callback came back exactly once; the one without, never.
    for n in [1, 2, 3, 5, 6, 7] {
        assert_eq!(released(n), 1, "loan {n}: {:#?}", alice.lines());
    }
    assert_eq!(released(4), 0);
}

#[test]
fn buffers_above_the_cap_are_refused_by_either_side() {
    let server = start_server();
    let mut alice = user_with("alice", server.addr(), r#""maxBufferBytes":4096"#);
    let mut bob = user_with("bob", server.addr(), r#""maxBufferBytes":1024"#);
    let id = alice.cmd_text(&["send_pattern", "bob", "4097", "1", "over"]);
    alice.expect(&format!("SendBufferRlst\t{id}\t1101\tover"));
    // Within alice's cap but above bob's: bob's SDK refuses it.
    let id = alice.cmd_text(&["send_pattern", "bob", "2000", "1", "theirs"]);
    alice.expect(&format!("SendBufferRlst\t{id}\t1101\ttheirs"));
    let id = bob.cmd_text(&["send_pattern", "alice", "1024", "1", "fits"]);
    bob.expect(&format!("SendBufferRlst\t{id}\t0\tfits"));
    assert!(!bob
        .lines()
        .iter()
        .any(|l| l.starts_with("NotifyBufferData")));
}

#[test]
fn files_land_in_tmp_dir_verified_under_their_base_name() {
    let server = start_server();
    let mut alice = user("alice", server.addr());
    let bob = user("bob", server.addr());
    let source_dir = TempDir::new("source");
    let path = source_dir.path.join("report 2026.bin");
    let data = write_random_file(&path, 20 * 1024 * 1024 + 3, 9);
    let send = |alice: &mut User| {
        let id = alice.cmd_text(&["send_file", "bob", path.to_str().unwrap(), "f"]);
        alice.expect(&format!("SendFileRlst\t{id}\t{}\t0\tf", path.display()));
        id
    };
    let first = send(&mut alice);
    assert_progress_complete(&alice, &first, data.len() as u64, "SendFileRlst");
    let landed = bob.tmp.path.join("report 2026.bin");
    bob.expect(&format!(
        "NotifyFileData\talice\t{}\treport 2026.bin",
        landed.display()
    ));
    assert_eq!(std::fs::read(&landed).unwrap(), data);
    // The same name again: a new file, the first untouched.
    send(&mut alice);
    let second = bob.tmp.path.join("report 2026 (2).bin");
    bob.expect(&format!(
        "NotifyFileData\talice\t{}\treport 2026.bin",
        second.display()
    ));
    assert_eq!(std::fs::read(&second).unwrap(), data);
    assert_eq!(std::fs::read(&landed).unwrap(), data);
    // Nothing partial is left behind.
    assert_eq!(
        files_in(&bob.tmp.path),
        vec!["report 2026 (2).bin", "report 2026.bin"]
    );
}

/// A sender speaking the protocol directly, to send what a real SDK never would.
fn raw_transfer(
    server: std::net::SocketAddr,
    to: &str,
    name: &str,
    data: &[u8],
    declared: u64,
    digest_of: &[u8],
) -> i32 {
    use crvideo_proto::{data::encode_chunk, Event, Request, TransferKind};
    let (code, mut raw) = RawClient::login(server, "demo", "demo123", "mallory");
    assert_eq!(code, 0);
    let offer = raw.request(Request::TransferOffer {
        transfer_id: "raw-transfer-1".into(),
        target: to.into(),
        kind: TransferKind::File,
        name: name.into(),
        total: declared,
    });
    assert_eq!(offer.code, 0);
    // Wait for the window, send, end, and wait for the result.
    raw.wait_event(|e| matches!(e, Event::TransferCredit { .. }));
    raw.send_binary(encode_chunk("raw-transfer-1", 0, data));
    raw.send_one_way(Request::TransferEnd {
        transfer_id: "raw-transfer-1".into(),
        digest: blake3::hash(digest_of).to_hex().to_string(),
    });
    match raw.wait_event(|e| matches!(e, Event::TransferResult { .. })) {
        Event::TransferResult { code, .. } => code,
        _ => unreachable!(),
    }
}

#[test]
fn a_senders_name_never_escapes_tmp_dir() {
    let server = start_server();
    let bob = user("bob", server.addr());
    let code = raw_transfer(
        server.addr(),
        "bob",
        "../../etc/passwd",
        b"root:x",
        6,
        b"root:x",
    );
    assert_eq!(code, 0);
    let landed = bob.tmp.path.join("passwd");
    bob.expect(&format!(
        "NotifyFileData\tmallory\t{}\tpasswd",
        landed.display()
    ));
    assert_eq!(std::fs::read(&landed).unwrap(), b"root:x");
    assert_eq!(files_in(&bob.tmp.path), vec!["passwd"]);
}

/// The path and original name in the receiver's `n`th NotifyFileData from mallory.
fn landed_from_mallory(receiver: &Peer, n: usize) -> (PathBuf, String) {
    let line = receiver.wait_nth(|l| l.starts_with("NotifyFileData\tmallory\t"), n);
    let mut fields = line.split('\t').skip(2);
    let path = PathBuf::from(fields.next().unwrap());
    (path, fields.next().unwrap().to_owned())
}

#[test]
fn a_name_too_long_for_the_file_system_is_shortened_keeping_its_extension() {
    let server = start_server();
    let bob = user("bob", server.addr());
    // 800 bytes of UTF-8 before the extension: no file system takes that as one name (no
    // real SDK on Unix could have sent it, but one on Windows could send 127 emoji).
    let name = format!("{}.txt", "😀".repeat(200));
    let data = b"smile";
    assert_eq!(
        raw_transfer(server.addr(), "bob", &name, data, 5, data),
        0,
        "the receiver stored it"
    );
    let (path, org_name) = landed_from_mallory(&bob, 1);
    assert_eq!(org_name, name, "the app is told the name it was sent under");
    assert_eq!(path.parent().unwrap(), bob.tmp.path);
    let landed = path.file_name().unwrap().to_str().unwrap();
    assert!(landed.len() <= 255, "{} bytes", landed.len());
    let stem = landed.strip_suffix(".txt").expect("the extension is kept");
    assert!(!stem.is_empty() && name.starts_with(stem), "{landed}");
    assert_eq!(std::fs::read(&path).unwrap(), data);
    assert_eq!(files_in(&bob.tmp.path), vec![landed.to_owned()]);
}

#[cfg(unix)]
#[test]
fn planted_partial_files_are_neither_used_nor_touched() {
    use std::os::unix::fs::symlink;
    let server = start_server();
    let bob = user("bob", server.addr());
    let elsewhere = TempDir::new("victim");
    let victim = elsewhere.path.join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    // Where this SDK used to write transfer `raw-transfer-1` (its process and the transfer
    // ID, both known to others): a link to a file elsewhere, then a file.
    let old_name = bob
        .tmp
        .path
        .join(format!(".crvideo-{}-raw-transfer-1.part", bob.pid()));
    symlink(&victim, &old_name).unwrap();
    assert_eq!(
        raw_transfer(server.addr(), "bob", "a.bin", b"one", 3, b"one"),
        0
    );
    let (first, _) = landed_from_mallory(&bob, 1);
    assert_eq!(first, bob.tmp.path.join("a.bin"));
    assert_eq!(std::fs::read(&first).unwrap(), b"one");
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    assert_eq!(std::fs::read_link(&old_name).unwrap(), victim);
    std::fs::remove_file(&old_name).unwrap();
    std::fs::write(&old_name, b"planted").unwrap();
    assert_eq!(
        raw_transfer(server.addr(), "bob", "b.bin", b"two", 3, b"two"),
        0
    );
    let (second, _) = landed_from_mallory(&bob, 2);
    assert_eq!(second, bob.tmp.path.join("b.bin"));
    assert_eq!(std::fs::read(&second).unwrap(), b"two");
    assert_eq!(std::fs::read(&old_name).unwrap(), b"planted");
    // Nothing else: no partial file left.
    let old = old_name.file_name().unwrap().to_str().unwrap();
    assert_eq!(files_in(&bob.tmp.path), vec![old, "a.bin", "b.bin"]);
}

#[cfg(unix)]
#[test]
fn links_at_the_destination_name_are_not_followed() {
    use std::os::unix::fs::symlink;
    let server = start_server();
    let bob = user("bob", server.addr());
    let elsewhere = TempDir::new("victim");
    let victim = elsewhere.path.join("victim");
    std::fs::write(&victim, b"keep").unwrap();
    // A link to a file elsewhere, and a dangling one (following it would create a file).
    symlink(&victim, bob.tmp.path.join("x.bin")).unwrap();
    let absent = elsewhere.path.join("created");
    symlink(&absent, bob.tmp.path.join("y.bin")).unwrap();
    assert_eq!(
        raw_transfer(server.addr(), "bob", "x.bin", b"one", 3, b"one"),
        0
    );
    assert_eq!(
        landed_from_mallory(&bob, 1),
        (bob.tmp.path.join("x (2).bin"), "x.bin".to_owned())
    );
    assert_eq!(
        raw_transfer(server.addr(), "bob", "y.bin", b"two", 3, b"two"),
        0
    );
    assert_eq!(
        landed_from_mallory(&bob, 2),
        (bob.tmp.path.join("y (2).bin"), "y.bin".to_owned())
    );
    assert_eq!(
        std::fs::read(bob.tmp.path.join("x (2).bin")).unwrap(),
        b"one"
    );
    assert_eq!(
        std::fs::read(bob.tmp.path.join("y (2).bin")).unwrap(),
        b"two"
    );
    assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
    assert!(!absent.exists());
    assert_eq!(
        std::fs::read_link(bob.tmp.path.join("x.bin")).unwrap(),
        victim
    );
    assert_eq!(
        std::fs::read_link(bob.tmp.path.join("y.bin")).unwrap(),
        absent
    );
    assert_eq!(
        files_in(&bob.tmp.path),
        vec!["x (2).bin", "x.bin", "y (2).bin", "y.bin"]
    );
}

#[test]
fn damaged_or_truncated_data_is_never_a_success() {
    let server = start_server();
    let bob = user("bob", server.addr());
    // The digest does not match what arrived.
    let code = raw_transfer(server.addr(), "bob", "x.bin", b"hello", 5, b"hellO");
    assert_eq!(code, 6);
    bob.expect("NotifyCancelSend\traw-transfer-1");
    // Fewer bytes than announced.
    let code = raw_transfer(server.addr(), "bob", "y.bin", b"hel", 5, b"hel");
    assert_eq!(code, 6);
    bob.wait_nth(|l| l == "NotifyCancelSend\traw-transfer-1", 2);
    assert!(!bob.lines().iter().any(|l| l.starts_with("NotifyFileData")));
    assert!(
        files_in(&bob.tmp.path).is_empty(),
        "{:?}",
        files_in(&bob.tmp.path)
    );
}

#[test]
fn cancel_mid_transfer() {
    // A long heartbeat: the receiver is frozen for a while to stall the transfer.
    let server = ServerProcess::start(
        "heartbeat_ms = 5000\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n",
    );
    let mut alice = user("alice", server.addr);
    let mut bob = user("bob", server.addr);
    let source = TempDir::new("big");
    let path = source.path.join("big.bin");
    write_random_file(&path, 64 * 1024 * 1024, 5);
    bob.signal("STOP");
    let id = alice.cmd_text(&["send_file", "bob", path.to_str().unwrap(), "cf"]);
    // Flow control: with the receiver frozen, progress stops short (no credit comes back).
    std::thread::sleep(std::time::Duration::from_millis(500));
    let stalled = progress(&alice, &id);
    assert!(stalled.last().map_or(0, |p| p.0) < 64 * 1024 * 1024);
    assert_eq!(alice.cmd(&["cancel_send", &id]), 0);
    alice.expect(&format!("CancelSendRlst\t{id}\t0\tcf"));
    bob.signal("CONT");
    bob.expect(&format!("NotifyCancelSend\t{id}"));
    // The task ended with the cancel: no SendFileRlst, nothing kept, nothing partial.
    assert_eq!(alice.cmd(&["cancel_send", &id]), 0);
    alice.expect(&format!("CancelSendRlst\t{id}\t1104\t"));
    assert!(!alice
        .lines()
        .iter()
        .any(|l| l.starts_with(&format!("SendFileRlst\t{id}"))));
    assert_eq!(bob.cmd(&["get_status", "barrier"]), 0);
    bob.wait_line(|l| l.starts_with("GetUserStatusSuccess"));
    assert!(
        files_in(&bob.tmp.path).is_empty(),
        "{:?}",
        files_in(&bob.tmp.path)
    );
}

#[test]
fn a_party_going_away_mid_transfer() {
    let server = ServerProcess::start(
        "heartbeat_ms = 5000\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n",
    );
    let source = TempDir::new("away");
    // 1 GiB, sparse: far more than moves before the test pulls the plug.
    let path = source.path.join("away.bin");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(1 << 30)
        .unwrap();
    // The receiver dies mid-transfer: the sender's task fails.
    let mut alice = user("alice", server.addr);
    let mut bob = user("bob", server.addr);
    let id = alice.cmd_text(&["send_file", "bob", path.to_str().unwrap(), "r"]);
    alice.wait_line(|l| l.starts_with(&format!("SendProgress\t{id}\t")));
    bob.signal("KILL");
    bob.wait_exit();
    alice.expect(&format!("SendFileRlst\t{id}\t{}\t1102\tr", path.display()));
    let left = files_in(&bob.tmp.path);
    assert!(
        !left.is_empty() && left.iter().all(|f| f.starts_with(".crvideo-")),
        "only a partial may remain of a killed process: {left:?}"
    );
    // The next SDK to use that tmpDir removes what the dead one left.
    let params = format!(r#"{{"tmpDir":"{}"}}"#, bob.tmp.path.display());
    let _next = Peer::start("bob-next", &params);
    eventually("the dead receiver's partial file is gone", || {
        files_in(&bob.tmp.path).is_empty()
    });
    // The sender dies mid-transfer: the receiver is told and keeps nothing.
    let carol = user("carol", server.addr);
    let id = alice.cmd_text(&["send_file", "carol", path.to_str().unwrap(), "s"]);
    alice.wait_line(|l| l.starts_with(&format!("SendProgress\t{id}\t")));
    alice.signal("KILL");
    carol.expect(&format!("NotifyCancelSend\t{id}"));
    assert!(
        files_in(&carol.tmp.path).is_empty(),
        "{:?}",
        files_in(&carol.tmp.path)
    );
}

#[test]
fn several_transfers_at_once_both_ways_and_commands_pass_them() {
    let server = start_server();
    let mut alice = user("alice", server.addr());
    let mut bob = user("bob", server.addr());
    let source = TempDir::new("many");
    let mut files = Vec::new();
    for i in 0..3u32 {
        let path = source.path.join(format!("f{i}.bin"));
        // Large enough that none can finish within a command's round trip once moving.
        let data = write_random_file(&path, 32 * 1024 * 1024 + i as usize, 20 + i);
        files.push((path, data));
    }
    let ids: Vec<String> = files
        .iter()
        .map(|(p, _)| alice.cmd_text(&["send_file", "bob", p.to_str().unwrap(), "many"]))
        .collect();
    let back: Vec<String> = (0..2)
        .map(|i| {
            bob.cmd_text(&[
                "send_pattern",
                "alice",
                &(8 * 1024 * 1024).to_string(),
                &i.to_string(),
                "back",
            ])
        })
        .collect();
    // A command in the middle of all that (every file moving, none done) arrives before
    // any bulk task is done.
    for id in &ids {
        alice.wait_line(|l| {
            l.starts_with(&format!("SendProgress\t{id}\t")) && !l.contains(&format!("{id}\t0\t"))
        });
    }
    let cmd = alice.cmd_text(&["send_cmd", "bob", "c0ffee", "quick"]);
    alice.expect(&format!("SendCmdRlst\t{cmd}\t0\tquick"));
    let lines = alice.lines();
    let cmd_done = lines
        .iter()
        .position(|l| l.starts_with(&format!("SendCmdRlst\t{cmd}")))
        .unwrap();
    assert!(
        !lines[..cmd_done]
            .iter()
            .any(|l| l.starts_with("SendFileRlst")),
        "the command waited for a file"
    );
    for (id, (path, data)) in ids.iter().zip(&files) {
        alice.expect(&format!("SendFileRlst\t{id}\t{}\t0\tmany", path.display()));
        assert_progress_complete(&alice, id, data.len() as u64, "SendFileRlst");
        let name = path.file_name().unwrap().to_str().unwrap();
        let landed = bob.tmp.path.join(name);
        bob.expect(&format!(
            "NotifyFileData\talice\t{}\t{name}",
            landed.display()
        ));
        assert_eq!(&std::fs::read(&landed).unwrap(), data);
    }
    for (i, id) in back.iter().enumerate() {
        bob.expect(&format!("SendBufferRlst\t{id}\t0\tback"));
        let len = 8 * 1024 * 1024;
        alice.expect(&format!(
            "NotifyBufferData\tbob\t{len}\t{:016x}",
            fnv1a(&pattern(len, i as u32))
        ));
    }
    // Fairly interleaved: every file made progress before any of them finished.
    let lines = alice.lines();
    let first_done = lines
        .iter()
        .position(|l| l.starts_with("SendFileRlst"))
        .unwrap();
    for id in &ids {
        let moved = lines[..first_done]
            .iter()
            .filter(|l| l.starts_with(&format!("SendProgress\t{id}\t")))
            .count();
        assert!(
            moved >= 2,
            "task {id} starved: {moved} progress events before the first finish"
        );
    }
}

/// A field of /proc/<pid>/status, in KiB.
fn proc_status_kib(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn a_slow_receiving_app_slows_the_sender_and_bounds_memory() {
    const BUFFERS: usize = 16;
    const LEN: usize = 16 * 1024 * 1024;
    const MIB: u64 = 1024;
    // What bob's SDK may hold at once, by design (src/client/transfer/mod.rs):
    // - UNDELIVERED_DATA_LIMIT (64 MiB) of buffers waiting for the app or being
    //   assembled: beyond it, buffers other than the oldest get no more credit;
    // - credit granted before that still arrives: at most SESSION_CREDIT_BYTES (8 MiB)
    //   over all transfers (the sinks' queued chunks are within it: credit is granted only
    //   for consumed bytes, one window of WINDOW_BYTES per transfer at most);
    // - the oldest incoming buffer gets credit while less than that limit of finished data
    //   waits for the app (so that buffers being assembled never wait on each other), and
    //   completes: one more buffer (LEN).
    // Growth that is not data (threads the transfers wake, frame and read buffers,
    // allocator bookkeeping) is a few MiB; 16 are allowed. Measured: 75-76 MiB of growth
    // (4 buffers completed during the stall). (Before the oldest buffer waited for the app's
    // finished data too, each buffer finished during a stall made the next one the oldest:
    // under load, 9 of 16 completed and the growth reached 145 MiB.)
    // A receiver that buffered without bound would take all 256 MiB the sender has while
    // its app is stalled (less what the app takes meanwhile): with the undelivered-data
    // check disabled this test saw +229 MiB and 11 buffers completed.
    // (In KiB, as /proc reports.)
    const LEN_KIB: u64 = LEN as u64 / 1024;
    const DATA_KIB: u64 = 64 * MIB + 8 * MIB + LEN_KIB;
    const BOUND_KIB: u64 = DATA_KIB + 16 * MIB;
    let server = start_server();
    let mut alice = user("alice", server.addr());
    // Large blocks go back to the system when freed, so that bob's RSS follows what his
    // SDK holds: glibc otherwise raises this threshold as blocks are freed and keeps freed
    // 16 MiB buffers mapped for reuse, and the growth came to nearly twice the data held.
    let mut bob = user_with_env(
        "bob",
        server.addr(),
        "",
        &[("MALLOC_MMAP_THRESHOLD_", "131072")],
    );
    // The app stalls on its first buffer (and likely the second: it reads the delay when
    // a callback starts), then keeps up. Meanwhile a bounded receiver stops the sender; an
    // unbounded one takes what the sender has (the longer the stall, the more: its length
    // decides how surely this test catches that, not whether a correct SDK passes).
    assert_eq!(bob.cmd(&["slow", "3000"]), 0);
    // Growth from here: reset bob's peak RSS to his RSS now.
    std::fs::write(format!("/proc/{}/clear_refs", bob.pid()), "5").unwrap();
    let baseline = proc_status_kib(bob.pid(), "VmRSS");
    let ids: Vec<String> = (0..BUFFERS)
        .map(|i| {
            alice.cmd_text(&[
                "send_pattern",
                "bob",
                &LEN.to_string(),
                &i.to_string(),
                "slow",
            ])
        })
        .collect();
    bob.wait_line(|l| l.starts_with("NotifyBufferData"));
    let done_while_stalled = alice
        .lines()
        .iter()
        .filter(|l| l.starts_with("SendBufferRlst"))
        .count();
    assert_eq!(bob.cmd(&["slow", "0"]), 0);
    for (i, id) in ids.iter().enumerate() {
        alice.expect(&format!("SendBufferRlst\t{id}\t0\tslow"));
        bob.expect(&format!(
            "NotifyBufferData\talice\t{LEN}\t{:016x}",
            fnv1a(&pattern(LEN, i as u32))
        ));
    }
    let peak = proc_status_kib(bob.pid(), "VmHWM");
    let growth = peak.saturating_sub(baseline);
    eprintln!(
        "receiver RSS: {} MiB before, peak {} MiB (+{} MiB, bound {} MiB); {done_while_stalled} of \
         {BUFFERS} buffers sent while the app was stalled",
        baseline / MIB,
        peak / MIB,
        growth / MIB,
        BOUND_KIB / MIB
    );
    // The sender was held back: while the app had taken one buffer, the receiver can have
    // completed no more than it may hold, plus that one, plus one that the app's return
    // from it released before the count was read.
    let most = (DATA_KIB + 2 * LEN_KIB) / LEN_KIB;
    assert!(
        done_while_stalled as u64 <= most,
        "{done_while_stalled} buffers completed while the app was stalled (at most {most})"
    );
    assert!(
        growth < BOUND_KIB,
        "the receiver grew by {} MiB (bound {} MiB)",
        growth / MIB,
        BOUND_KIB / MIB
    );
    // In order, each once.
    let got: Vec<&str> = bob
        .lines()
        .iter()
        .filter(|l| l.starts_with("NotifyBufferData"))
        .map(|_| "x")
        .collect();
    assert_eq!(got.len(), BUFFERS);
}

/// A file larger than 4 GiB (sparse: cheap on disk). Slow: run with `--ignored`.
#[test]
#[ignore = "slow: streams 4.5 GiB"]
fn a_file_larger_than_4_gib() {
    let server = start_server();
    let mut alice = user("alice", server.addr());
    let bob = user("bob", server.addr());
    let source = TempDir::new("huge");
    let path: PathBuf = source.path.join("huge.bin");
    let len: u64 = 4 * 1024 * 1024 * 1024 + 512 * 1024 * 1024 + 3;
    let file = std::fs::File::create(&path).unwrap();
    file.set_len(len).unwrap();
    use std::io::{Seek, SeekFrom, Write};
    let mut file = file;
    for offset in [0u64, 1 << 32, len - 3] {
        file.seek(SeekFrom::Start(offset)).unwrap();
        file.write_all(b"end").unwrap();
    }
    drop(file);
    let id = alice.cmd_text(&["send_file", "bob", path.to_str().unwrap(), "huge"]);
    let done = format!("SendFileRlst\t{id}\t{}\t0\thuge", path.display());
    alice.wait_nth_within(std::time::Duration::from_secs(600), |l| l == done, 1);
    assert_progress_complete(&alice, &id, len, "SendFileRlst");
    let landed = bob.tmp.path.join("huge.bin");
    bob.expect(&format!(
        "NotifyFileData\talice\t{}\thuge.bin",
        landed.display()
    ));
    assert_eq!(std::fs::metadata(&landed).unwrap().len(), len);
    let digest = |p: &Path| {
        let mut hasher = blake3::Hasher::new();
        hasher
            .update_reader(std::fs::File::open(p).unwrap())
            .unwrap();
        hasher.finalize()
    };
    assert_eq!(digest(&landed), digest(&path));
}

#[test]
fn many_transfers_into_a_slow_link_stay_within_the_servers_queue() {
    // bob reads through a slow link: what the server relays to him waits in its queue for
    // him (dropped as "not reading" beyond 16 MiB). Sixteen transfers at once may together
    // have only the session's credit outstanding (8 MiB), not a window each (32 MiB).
    let server = start_server();
    let proxy = common::proxy::Proxy::start(server.addr());
    let mut alice = user("alice", server.addr());
    let bob = user("bob", proxy.addr);
    proxy.delay(8);
    const LEN: usize = 2 * 1024 * 1024;
    let ids: Vec<String> = (0..16)
        .map(|i| alice.cmd_text(&["send_pattern", "bob", &LEN.to_string(), &i.to_string(), "q"]))
        .collect();
    for id in &ids {
        alice.expect(&format!("SendBufferRlst\t{id}\t0\tq"));
    }
    for i in 0..16u32 {
        bob.expect(&format!(
            "NotifyBufferData\talice\t{LEN}\t{:016x}",
            fnv1a(&pattern(LEN, i))
        ));
    }
    assert!(!bob.lines().iter().any(|l| l.starts_with("LineOff")));
}

#[test]
fn transfer_workers_are_joined_by_uninit() {
    let server = start_server();
    let mut alice = user("alice", server.addr());
    let mut bob = user("bob", server.addr());
    let source = TempDir::new("workers");
    let path = source.path.join("w.bin");
    let data = write_random_file(&path, 3 * 1024 * 1024, 77);
    // Both ways, so alice's SDK both read (sending) and wrote (receiving) on its workers.
    let file = alice.cmd_text(&["send_file", "bob", path.to_str().unwrap(), "w"]);
    let buffer = bob.cmd_text(&["send_pattern", "alice", &(2 << 20).to_string(), "5", "b"]);
    alice.expect(&format!("SendFileRlst\t{file}\t{}\t0\tw", path.display()));
    bob.expect(&format!("SendBufferRlst\t{buffer}\t0\tb"));
    alice.expect(&format!(
        "NotifyBufferData\tbob\t{}\t{:016x}",
        2 << 20,
        fnv1a(&pattern(2 << 20, 5))
    ));
    assert_eq!(
        std::fs::read(bob.tmp.path.join("w.bin")).unwrap(),
        data,
        "the file arrived whole"
    );
    // The workers are named, so a leak would show (idle ones live for 10 s).
    let running = alice.cmd_text(&["sdk_threads"]);
    assert!(running.contains("crvideo-io"), "{running}");
    assert!(running.contains("crvideo-pool"), "{running}");
    assert_eq!(alice.cmd(&["uninit"]), 0);
    assert_eq!(alice.cmd_text(&["sdk_threads"]), "none");
}
