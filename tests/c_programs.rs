//! Real C programs, compiled against the generated header and the built library, run
//! against a real `crvideo-server` process. Run with `CRVIDEO_CHECK=asan` or
//! `CRVIDEO_CHECK=valgrind` to check them for memory errors too.

mod common;

use std::path::PathBuf;

use common::checked::{build, build_with_header, run};
use common::server_process::ServerProcess;

#[test]
fn c_login_basic_against_a_real_server() {
    let exe = build(
        &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/c/login_basic.c"),
        true,
    );
    let server = ServerProcess::start(
        "heartbeat_ms = 500\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n",
    );
    let output = run(&exe, &[&server.addr.to_string()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("LoginSuccess usrID=c_alice cookie=c-cookie"),
        "{stdout}"
    );
    assert!(stdout.contains("login_basic: all checks passed"));
}

/// A program compiled against the header of an earlier version (tests/c/compat: the
/// callback table before the queue and meeting-room callbacks were appended) still runs
/// with this library: the SDK reads only the members its `size` covers.
#[test]
fn a_program_built_against_an_older_header_still_runs() {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let old = root.join("tests/c/compat");
    let old_header = std::fs::read_to_string(old.join("CRVideoSDK.h")).unwrap();
    let new_header = std::fs::read_to_string(root.join("include/CRVideoSDK.h")).unwrap();
    let members = |h: &str| h.matches("(*").count();
    assert!(
        members(&old_header) < members(&new_header),
        "the compat header should have fewer callbacks"
    );
    let exe = build_with_header(
        &root.join("tests/c/login_basic.c"),
        true,
        &old,
        "-old-header",
    );
    let server = ServerProcess::start(
        "heartbeat_ms = 500\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n",
    );
    let output = run(&exe, &[&server.addr.to_string()]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("login_basic: all checks passed"),
        "{stdout}"
    );
}
