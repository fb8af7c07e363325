//! Every example in examples-c/ builds with -Wall -Wextra -Werror and does what it says
//! against a real server, with peer processes as the other users. Run with
//! `CRVIDEO_CHECK=asan` or `CRVIDEO_CHECK=valgrind` to check them for memory errors too.

mod common;

use std::path::PathBuf;

use common::checked::{build, lib_dir, run};
use common::peer::Peer;
use common::server_process::{ServerProcess, TempDir};

const DEMO_TENANT: &str = "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n";

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples-c")
        .join(name)
}

fn stdout(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn login_and_presence() {
    let exe = build(&example("login_and_presence.c"), true);
    let server = ServerProcess::start(DEMO_TENANT);
    let _bob = Peer::login("bob", server.addr, "demo", "demo123", "bob");
    let out = stdout(&run(&exe, &[&server.addr.to_string(), "alice"]));
    assert!(out.contains("logged in as alice"), "{out}");
    assert!(
        out.contains(r#"{"userID":"bob","userStatus":1,"DNDType":0}"#),
        "{out}"
    );
    assert!(
        out.contains(r#"status change [watch]: {"userID":"alice","userStatus":1,"DNDType":2}"#),
        "{out}"
    );
    assert!(out.ends_with("done\n"), "{out}");
}

#[test]
fn call_and_meeting() {
    let exe = build(&example("call_and_meeting.c"), true);
    let server = ServerProcess::start(DEMO_TENANT);
    let addr = server.addr.to_string();
    let mut bob = Peer::login("bob", server.addr, "demo", "demo123", "bob");
    let caller = std::thread::spawn(move || stdout(&run(&exe, &[&addr, "alice", "bob"])));
    // Bob answers whatever rings.
    let call_in = bob.wait_line(|l| l.starts_with("NotifyCallIn\t"));
    let fields: Vec<&str> = call_in.split('\t').collect();
    let (id, meet, from, said) = (fields[1], fields[2], fields[3], fields[4]);
    assert_eq!((from, said), ("alice", "join me?"));
    assert!(meet.contains(r#""subject":"planning""#), "{meet}");
    assert_eq!(bob.cmd(&["accept", id, "", "coming", "a"]), 0);
    bob.expect(&format!("NotifyCallHungup\t{id}\tbye"));
    let out = caller.join().unwrap();
    assert!(out.contains("they said \"coming\""), "{out}");
    assert!(out.contains("meeting destroyed: no error"), "{out}");
    assert!(out.ends_with("done\n"), "{out}");
}

#[test]
fn send_file_with_progress() {
    let exe = build(&example("send_file_with_progress.c"), true);
    let server = ServerProcess::start(DEMO_TENANT);
    let inbox = TempDir::new("inbox");
    let params = format!(r#""tmpDir":"{}""#, inbox.path.display());
    let bob = Peer::login_with("bob", server.addr, &params, "demo", "demo123", "bob");
    let source = TempDir::new("outbox");
    let file = source.path.join("notes.txt");
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&file, &data).unwrap();
    let out = stdout(&run(
        &exe,
        &[
            &server.addr.to_string(),
            "alice",
            "bob",
            file.to_str().unwrap(),
        ],
    ));
    assert!(out.contains("100% 3000000/3000000 bytes"), "{out}");
    assert!(out.contains(": delivered (task "), "{out}");
    let landed = inbox.path.join("notes.txt");
    bob.expect(&format!(
        "NotifyFileData\talice\t{}\tnotes.txt",
        landed.display()
    ));
    assert_eq!(std::fs::read(&landed).unwrap(), data);
    // A file that does not exist: the result says so, and the program says it failed.
    let missing = std::process::Command::new(build(&example("send_file_with_progress.c"), true))
        .args([&server.addr.to_string(), "alice", "bob", "/no/such/file"])
        .output()
        .unwrap();
    assert!(!missing.status.success());
    assert!(
        stdout(&missing).contains("file cannot be read"),
        "{}",
        stdout(&missing)
    );
}

#[test]
fn dlopen_demo_needs_no_link_time_dependency() {
    let exe = build(&example("dlopen_demo.c"), false);
    // Not linked against the SDK at all.
    let needed = std::process::Command::new("readelf")
        .arg("-d")
        .arg(&exe)
        .output();
    if let Ok(needed) = needed {
        assert!(
            !stdout(&needed).contains("crvideosdk"),
            "{}",
            stdout(&needed)
        );
    }
    let server = ServerProcess::start(DEMO_TENANT);
    let lib = lib_dir().join("libcrvideosdk.so");
    let out = stdout(&run(
        &exe,
        &[lib.to_str().unwrap(), &server.addr.to_string(), "dl"],
    ));
    assert!(out.contains("LoginSuccess dl"), "{out}");
    assert!(
        out.contains(&format!("SDK {}", env!("CARGO_PKG_VERSION"))),
        "{out}"
    );
}

#[test]
fn the_demo_program_builds_cleanly() {
    build(&example("demo.c"), true);
}

#[test]
fn queue_demo_agent_serves_two_customers() {
    let exe = build(&example("queue_demo.c"), true);
    let server = ServerProcess::start(
        "[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n\
         [[tenants.queues]]\nid = 1\nname = \"support\"\ndesc = \"\"\nprio = 1\n",
    );
    let addr = server.addr.to_string();
    let customers: Vec<_> = ["carol", "dave"]
        .into_iter()
        .map(|name| {
            let (exe, addr) = (exe.clone(), addr.clone());
            std::thread::spawn(move || stdout(&run(&exe, &[&addr, name, "customer", "1"])))
        })
        .collect();
    let agent = stdout(&run(&exe, &[&addr, "agent1", "agent", "1", "2"]));
    for customer in customers {
        let out = customer.join().unwrap();
        assert!(out.contains("agent1 calls: hello from your agent"), "{out}");
        assert!(out.contains("call ended (thanks, goodbye)"), "{out}");
    }
    assert!(
        agent.contains("served carol") && agent.contains("served dave"),
        "{agent}"
    );
    assert!(agent.ends_with("[agent1] done\n"), "{agent}");
}

#[test]
fn meeting_room_host_and_guest() {
    let exe = build(&example("meeting_room.c"), true);
    let server = ServerProcess::start(DEMO_TENANT);
    let mut organiser = Peer::login("carol", server.addr, "demo", "demo123", "carol");
    assert_eq!(organiser.cmd(&["create_meeting", "standup", "0", "m"]), 0);
    let line = organiser.wait_line(|l| l.starts_with("CreateMeetingSuccess\t"));
    let meeting: serde_json::Value =
        serde_json::from_str(line.split('\t').nth(1).unwrap()).unwrap();
    let id = meeting["ID"].to_string();
    let addr = server.addr.to_string();
    let guest = {
        let (exe, addr, id) = (exe.clone(), addr.clone(), id.clone());
        std::thread::spawn(move || stdout(&run(&exe, &[&addr, "bob", "guest", &id, "alice"])))
    };
    let host = stdout(&run(&exe, &[&addr, "alice", "host", &id, "bob"]));
    let guest = guest.join().unwrap();
    // Callbacks print from the SDK's thread, so the other one's leaving may come after
    // "left the meeting" (printed by the main thread); "done" is always last.
    assert!(host.contains("alice left the meeting\n"), "{host}");
    assert!(host.ends_with("\ndone\n"), "{host}");
    assert!(guest.contains("bob left the meeting\n"), "{guest}");
    assert!(guest.ends_with("\ndone\n"), "{guest}");
    assert!(
        host.contains("alice got a message from bob: thanks, bye"),
        "{host}"
    );
    assert!(
        host.contains("alice sees alice give the control right to bob"),
        "{host}"
    );
    assert!(
        guest.contains("bob got a message from alice: hello, I will share my screen"),
        "{guest}"
    );
    assert!(guest.contains("bob sees a screen share start"), "{guest}");
    assert!(guest.contains("bob follows to page share"), "{guest}");
    assert!(guest.contains("bob sees the screen share stop"), "{guest}");
    // The whiteboard: each sees both elements (its own as the confirmation), then the close.
    for (out, me) in [(&host, "alice"), (&guest, "bob")] {
        assert!(
            out.contains(&format!("{me} sees alice open a whiteboard")),
            "{out}"
        );
        assert!(
            out.contains(&format!(
                "{me} sees alice draw on page 0: {{\"elementID\":\""
            )),
            "{out}"
        );
        assert!(
            out.contains("\"type\":\"line\",\"points\":[10,10,200,120]}"),
            "{out}"
        );
        assert!(
            out.contains(&format!("{me} sees bob draw on page 0: {{\"elementID\":\"")),
            "{out}"
        );
        assert!(out.contains("\"type\":\"text\",\"text\":\"ok\"}"), "{out}");
    }
    assert!(
        guest.contains("bob sees alice close the whiteboard"),
        "{guest}"
    );
}

#[test]
fn video_meeting_sender_and_watcher() {
    let exe = build(&example("video_meeting.c"), true);
    let server = ServerProcess::start(DEMO_TENANT);
    let mut organiser = Peer::login("carol", server.addr, "demo", "demo123", "carol");
    assert_eq!(organiser.cmd(&["create_meeting", "video", "0", "m"]), 0);
    let line = organiser.wait_line(|l| l.starts_with("CreateMeetingSuccess\t"));
    let meeting: serde_json::Value =
        serde_json::from_str(line.split('\t').nth(1).unwrap()).unwrap();
    let id = meeting["ID"].to_string();
    let addr = server.addr.to_string();
    let out_dir = TempDir::new("video-example");
    let sender = {
        let (exe, addr, id) = (exe.clone(), addr.clone(), id.clone());
        std::thread::spawn(move || stdout(&run(&exe, &[&addr, "alice", "send", &id])))
    };
    let dir = out_dir.path.to_str().unwrap();
    let watcher = stdout(&run(&exe, &[&addr, "bob", "watch", &id, dir]));
    let sender = sender.join().unwrap();
    assert!(sender.contains("sending camera 1\n"), "{sender}");
    assert!(sender.ends_with("done\n"), "{sender}");
    assert!(watcher.ends_with("done\n"), "{watcher}");
    for n in 0..3 {
        let ppm = std::fs::read(out_dir.path.join(format!("frame-{n}.ppm"))).unwrap();
        let header = b"P6\n640 360\n255\n";
        assert_eq!(&ppm[..header.len()], header);
        assert_eq!(ppm.len(), header.len() + 640 * 360 * 3);
        // The picture: the gradient's green rises from top to bottom.
        let green = |y: usize| ppm[header.len() + (y * 640 + 320) * 3 + 1];
        assert!(
            green(10) < 40 && green(350) > 200,
            "frame {n}: {} .. {}",
            green(10),
            green(350)
        );
    }
}
