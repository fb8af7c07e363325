//! Real C programs, compiled against the generated header and the built library, run
//! against a real `crvideo-server` process.

mod common;

use std::process::Command;

use common::peer::build_c_program;
use common::server_process::ServerProcess;

#[test]
fn c_login_basic_against_a_real_server() {
    let exe = build_c_program("login_basic");
    let server = ServerProcess::start(
        "heartbeat_ms = 500\n[[tenants]]\naccount = \"demo\"\npassword = \"demo123\"\n",
    );
    let output = Command::new(&exe)
        .arg(server.addr.to_string())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "login_basic failed ({}):\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains("LoginSuccess usrID=c_alice cookie=c-cookie"),
        "{stdout}"
    );
    assert!(stdout.contains("login_basic: all checks passed"));
}
