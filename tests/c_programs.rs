//! Real C programs, compiled against the generated header and the built library, run
//! against a real `crvideo-server` process. Run with `CRVIDEO_CHECK=asan` or
//! `CRVIDEO_CHECK=valgrind` to check them for memory errors too.

mod common;

use std::path::PathBuf;

use common::checked::{build, run};
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
