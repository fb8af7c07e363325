//! The C++ layer, `include/CRVideoSDK.hpp`: the programs of `tests/cpp/` and the example
//! `examples-c/cpp_callbacks.cpp`, compiled with `c++ -std=c++17 -Wall -Wextra -Werror
//! -pedantic` against the headers and the cdylib of this build, run against a real
//! `crvideo-server` process, with `tests/c/peer.c` peers as the other users.

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use common::peer::{data_line, fnv1a, Peer};
use common::server_process::{ServerProcess, TempDir};
use common::PATIENCE;
use parking_lot::{Condvar, Mutex};

const SERVER_CONFIG: &str =
    "heartbeat_ms = 500\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n";

/// The flags every C++ file of the project must build with.
const STRICT: &[&str] = &["-std=c++17", "-Wall", "-Wextra", "-Werror", "-pedantic"];

/// More warnings, for the header alone: an app may build with any of them.
const GCC_EXTRA: &[&str] = &[
    "-Wshadow",
    "-Wconversion",
    "-Wsign-conversion",
    "-Wold-style-cast",
    "-Wnon-virtual-dtor",
    "-Woverloaded-virtual",
    "-Wzero-as-null-pointer-constant",
    "-Wcast-qual",
];
const CLANG_EXTRA: &[&str] = &[
    "-Weverything",
    "-Wno-c++98-compat",
    "-Wno-c++98-compat-pedantic",
    "-Wno-padded",
    // Header-only by design: Callbacks' vtable is emitted where it is used.
    "-Wno-weak-vtables",
];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `cargo test` leaves the cdylib in deps/, beside this test executable.
fn lib_dir() -> PathBuf {
    let dir = std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf();
    assert!(
        dir.join("libcrvideosdk.so").exists(),
        "libcrvideosdk.so not built in {}",
        dir.display()
    );
    dir
}

fn cxx() -> String {
    std::env::var("CXX").unwrap_or_else(|_| "c++".into())
}

/// `clang++` when it is installed (the tests then build with it too).
fn clang() -> Option<String> {
    let found = Command::new("clang++")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    found.then(|| "clang++".to_string())
}

fn out_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("cpp-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `compiler` on `sources` (paths relative to the repository root) with `flags` and
/// the include directory; `link`: into the program `name`, linked against the cdylib; else
/// only checked (`-fsyntax-only`). Panics with the compiler's messages on failure.
fn compile(compiler: &str, sources: &[&str], flags: &[&str], name: &str, link: bool) -> PathBuf {
    let exe = out_dir().join(name);
    let mut cmd = Command::new(compiler);
    cmd.args(flags)
        .args(sources.iter().map(|s| root().join(s)))
        .arg("-I")
        .arg(root().join("include"));
    if link {
        let lib = lib_dir();
        cmd.arg("-L")
            .arg(&lib)
            .arg(format!("-Wl,-rpath,{}", lib.display()))
            .args(["-lcrvideosdk", "-lpthread", "-o"])
            .arg(&exe);
    } else {
        cmd.arg("-fsyntax-only");
    }
    let output = cmd
        .output()
        .unwrap_or_else(|e| panic!("run {compiler}: {e}"));
    assert!(
        output.status.success(),
        "{compiler} {flags:?} {sources:?} failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

/// Builds a program with `c++` and the strict flags, once per test binary.
fn build(name: &str, sources: &[&str]) -> PathBuf {
    static BUILT: OnceLock<Mutex<HashMap<String, PathBuf>>> = OnceLock::new();
    let mut built = BUILT.get_or_init(Default::default).lock();
    if let Some(exe) = built.get(name) {
        return exe.clone();
    }
    let exe = compile(&cxx(), sources, STRICT, name, true);
    built.insert(name.to_string(), exe.clone());
    exe
}

struct Lines {
    lines: Mutex<Vec<String>>,
    changed: Condvar,
}

/// A running C++ program whose stdout lines are collected.
struct Program {
    name: String,
    child: Child,
    out: Arc<Lines>,
}

impl Program {
    fn start(exe: &Path, args: &[&str]) -> Program {
        let mut child = Command::new(exe)
            .env_remove("LD_LIBRARY_PATH")
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", exe.display()));
        let stdout = child.stdout.take().unwrap();
        let out = Arc::new(Lines {
            lines: Mutex::new(Vec::new()),
            changed: Condvar::new(),
        });
        let sink = out.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                sink.lines.lock().push(line);
                sink.changed.notify_all();
            }
        });
        Program {
            name: exe.file_name().unwrap().to_string_lossy().into_owned(),
            child,
            out,
        }
    }

    fn lines(&self) -> Vec<String> {
        self.out.lines.lock().clone()
    }

    /// Waits up to `patience` for the first line matching `pred`.
    fn wait_line_within(&self, patience: Duration, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + patience;
        let mut lines = self.out.lines.lock();
        loop {
            if let Some(line) = lines.iter().find(|l| pred(l)) {
                return line.clone();
            }
            if self
                .out
                .changed
                .wait_until(&mut lines, deadline)
                .timed_out()
            {
                panic!(
                    "{}: no matching line within {patience:?}; output: {:#?}",
                    self.name, *lines
                );
            }
        }
    }

    fn expect(&self, line: &str) {
        self.wait_line_within(PATIENCE, |l| l == line);
    }

    /// Waits up to `patience` for the program to exit (killing it after that); returns its
    /// status and every line it printed.
    fn finish(mut self, patience: Duration) -> (ExitStatus, Vec<String>) {
        let deadline = Instant::now() + patience;
        let status = loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                break status;
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "{} still running after {patience:?}; output: {:#?}",
                    self.name,
                    self.lines()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        // The reader thread sees end of file once the program is gone.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Arc::strong_count(&self.out) > 1 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let lines = self.lines();
        (status, lines)
    }

    /// As [`Program::finish`], asserting exit status 0.
    fn finish_ok(self, patience: Duration) -> Vec<String> {
        let name = self.name.clone();
        let (status, lines) = self.finish(patience);
        assert!(status.success(), "{name} exited with {status}: {lines:#?}");
        lines
    }
}

impl Drop for Program {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The issue's acceptance: "A C++ app overriding three virtual methods logs in and receives
/// a call".
#[test]
fn a_cpp_app_overriding_three_virtual_methods_logs_in_and_receives_a_call() {
    let exe = build("three_overrides", &["tests/cpp/three_overrides.cpp"]);
    let server = ServerProcess::start(SERVER_CONFIG);
    let addr = server.addr.to_string();
    let app = Program::start(&exe, &[&addr, "cppuser"]);
    app.expect("LoginSuccess\tcppuser\tck");

    let mut bob = Peer::login("bob", &addr, "demo", "demo123", "bob");
    let id = bob.cmd_text(&["call", "cppuser", "", "hello", "ck"]);
    assert_eq!(id.len(), 32, "{id}");
    app.expect(&format!("NotifyCallIn\t{id}\t\tbob\thello"));
    app.expect("AcceptCall\t0");
    bob.expect(&format!("CallSuccess\t{id}\tck"));
    bob.expect(&format!("NotifyCallAccepted\t{id}\t\thello-back"));

    assert_eq!(bob.cmd(&["hangup", &id, "bye", "h"]), 0);
    bob.expect(&format!("HangupCallSuccess\t{id}\th"));
    let lines = app.finish_ok(PATIENCE);
    assert_eq!(
        lines,
        vec![
            "LoginSuccess\tcppuser\tck".to_string(),
            format!("NotifyCallIn\t{id}\t\tbob\thello"),
            "AcceptCall\t0".to_string(),
            format!("NotifyCallHungup\t{id}\tbye"),
            "three_overrides: call received, accepted and hung up".to_string(),
        ]
    );
}

/// `call`, `clientInvite`, `sendCmd`, `sendBuffer` and `sendFile` return the IDs that their
/// callbacks then carry (and "" before init); the bytes arrive as given; every override of
/// the program throws, and the SDK goes on delivering.
#[test]
fn mgr_returns_ids_and_exceptions_thrown_by_overrides_are_swallowed() {
    let exe = build("ids_and_exceptions", &["tests/cpp/ids_and_exceptions.cpp"]);
    let server = ServerProcess::start(SERVER_CONFIG);
    let addr = server.addr.to_string();
    let inbox = TempDir::new("cpp-inbox");
    let files = TempDir::new("cpp-files");
    let file = files.path.join("hello.bin");
    std::fs::write(&file, b"hello from a C++ program\0\x01\x02").unwrap();
    let tmp_dir = format!(r#""tmpDir":"{}""#, inbox.path.display());
    let mut bob = Peer::login_with("bob", &addr, &tmp_dir, "demo", "demo123", "bob");

    let file_arg = file.to_str().unwrap();
    let app = Program::start(&exe, &[&addr, "cppuser", "bob", file_arg]);
    // The program's own checks wait up to 20 s each when something is missing.
    let patience = Duration::from_secs(300);
    let ready = app.wait_line_within(patience, |l| {
        l == "READY-FOR-CMD" || l.starts_with("ids_and_exceptions: ")
    });
    assert_eq!(ready, "READY-FOR-CMD", "{:#?}", app.lines());
    let task = bob.cmd_text(&["send_cmd", "cppuser", "00ff0010", "back"]);
    bob.expect(&format!("SendCmdRlst\t{task}\t0\tback"));
    let lines = app.finish_ok(patience);
    assert!(!lines.iter().any(|l| l.starts_with("FAIL")), "{lines:#?}");
    assert_eq!(
        lines.last().map(String::as_str),
        Some("ids_and_exceptions: all checks passed")
    );

    // What bob saw of it, by the IDs the program got.
    let id_of = |prefix: &str| -> String {
        let line = lines
            .iter()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no line {prefix}… in {lines:#?}"));
        line[prefix.len()..].split('\t').next().unwrap().to_string()
    };
    let call = id_of("CallSuccess\t");
    bob.expect(&format!("NotifyCallIn\t{call}\t\tcppuser\tfrom c++"));
    bob.expect(&format!("NotifyCallHungup\t{call}\tbye"));
    let invite = id_of("ClientInviteRslt\t");
    bob.expect(&format!(
        "NotifyCallIn\t{invite}\t{{\"ID\":1,\"pswd\":\"\"}}\tcppuser\t"
    ));
    bob.expect(&format!("NotifyCallHungup\t{invite}\t"));
    bob.expect(&data_line(
        "NotifyCmdData",
        "cppuser",
        &[0x00, 0x01, 0xfe, 0xff],
    ));
    bob.expect(&data_line("NotifyCmdData", "cppuser", b"hi\0there"));
    let big: Vec<u8> = (0..100_000u32).map(|i| (i * 7) as u8).collect();
    bob.expect(&format!(
        "NotifyBufferData\tcppuser\t100000\t{:016x}",
        fnv1a(&big)
    ));
    bob.expect(&format!(
        "NotifyBufferData\tcppuser\t8\t{:016x}",
        fnv1a(b"hi\0there")
    ));
    let received = inbox.path.join("hello.bin");
    bob.expect(&format!(
        "NotifyFileData\tcppuser\t{}\thello.bin",
        received.display()
    ));
    assert_eq!(
        std::fs::read(&received).unwrap(),
        std::fs::read(&file).unwrap()
    );
}

/// The header in two translation units of one program: it links (everything is inline),
/// both share one `Mgr`, a class overriding every callback with `override` compiles, and in
/// "poll" dispatch the callbacks run on the app's thread inside `pollEvents`.
#[test]
fn the_header_links_from_two_translation_units_and_poll_mode_works() {
    let sources = [
        "tests/cpp/two_units_main.cpp",
        "tests/cpp/two_units_other.cpp",
    ];
    let mut builds = vec![build("two_units", &sources)];
    if let Some(clang) = clang() {
        builds.push(compile(&clang, &sources, STRICT, "two_units_clang", true));
    }
    let server = ServerProcess::start(SERVER_CONFIG);
    let addr = server.addr.to_string();
    for (n, exe) in builds.iter().enumerate() {
        let user = format!("two_units_{n}");
        let lines = Program::start(exe, &[&addr, &user]).finish_ok(PATIENCE);
        assert!(
            lines.contains(&format!("LoginSuccess\t{user}\ttu")),
            "{lines:#?}"
        );
        assert_eq!(
            lines.last().map(String::as_str),
            Some("two_units: all checks passed"),
            "{lines:#?}"
        );
    }
}

/// The header alone compiles without a warning under many more warnings than -Wall -Wextra,
/// as C++17 and C++20, with g++ (`c++`) and, when installed, clang++ (`-Weverything`).
#[test]
fn the_header_compiles_cleanly_under_strict_warnings() {
    let source = ["tests/cpp/header_check.cpp"];
    for std in ["-std=c++17", "-std=c++20"] {
        let mut flags: Vec<&str> = STRICT.to_vec();
        flags[0] = std;
        let mut gcc = flags.clone();
        gcc.extend_from_slice(GCC_EXTRA);
        compile(&cxx(), &source, &gcc, "header_check", false);
        if let Some(clang) = clang() {
            let mut all = flags.clone();
            all.extend_from_slice(CLANG_EXTRA);
            compile(&clang, &source, &all, "header_check", false);
        }
    }
}

/// Every member of `CRVideo_Callbacks` has its virtual method and its trampoline, and every
/// `CRVideo_*` function of the C header is called by the C++ layer: a callback or function
/// added to the C API without the C++ layer fails here.
#[test]
fn the_header_mirrors_every_callback_and_function_of_the_c_api() {
    let c = std::fs::read_to_string(root().join("include/CRVideoSDK.h")).unwrap();
    let hpp = std::fs::read_to_string(root().join("include/CRVideoSDK.hpp")).unwrap();
    let start = c.find("typedef struct CRVideo_Callbacks {").unwrap();
    let end = start + c[start..].find("} CRVideo_Callbacks;").unwrap();
    let members: Vec<&str> = c[start..end]
        .split("(*")
        .skip(1)
        .map(|rest| &rest[..rest.find(')').unwrap()])
        .collect();
    assert!(members.len() >= 39, "{members:?}");
    for m in &members {
        assert!(
            hpp.contains(&format!("virtual void {m}(")),
            "CRVideo::Callbacks lacks {m}"
        );
        assert!(
            hpp.contains(&format!("t.{m} = &{m};")),
            "no trampoline for {m}"
        );
    }
    let functions: Vec<&str> = c
        .lines()
        .filter(|l| !l.starts_with([' ', '#', '/']))
        .filter_map(|l| {
            let at = l.find("CRVideo_")?;
            let name = &l[at..at + l[at..].find('(')?];
            Some(name)
        })
        .collect();
    assert!(functions.len() >= 27, "{functions:?}");
    for f in &functions {
        assert!(
            hpp.contains(&format!("{f}(")) || hpp.contains(&format!("{f})")),
            "the C++ layer never calls {f}"
        );
    }
}

/// The example a user copies builds with the strict flags and accepts a call.
#[test]
fn the_cpp_example_logs_in_and_accepts_a_call() {
    let exe = build("cpp_callbacks", &["examples-c/cpp_callbacks.cpp"]);
    let server = ServerProcess::start(SERVER_CONFIG);
    let addr = server.addr.to_string();
    let app = Program::start(&exe, &[&addr, "carol"]);
    app.expect("logged in as carol; waiting for a call");

    let mut bob = Peer::login("bob", &addr, "demo", "demo123", "bob");
    let id = bob.cmd_text(&["call", "carol", r#"{"ID":1,"pswd":""}"#, "hi carol", "ck"]);
    bob.expect(&format!(
        "NotifyCallAccepted\t{id}\t{{\"ID\":1,\"pswd\":\"\"}}\thello from C++"
    ));
    app.expect(&format!("in call {id}"));
    assert_eq!(bob.cmd(&["hangup", &id, "bye", "h"]), 0);
    let lines = app.finish_ok(PATIENCE);
    assert!(
        lines.contains(&format!("call {id} ended (\"bye\")")),
        "{lines:#?}"
    );
}
