//! Real C programs, compiled against the generated header and the built library, run
//! against a real `crvideo-server` process.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::server_process::{ServerProcess, TempDir};

/// The cdylib of this very build: `cargo test` leaves it in `deps/`, beside this test
/// executable (only `cargo build` copies it one level up).
fn lib_dir() -> PathBuf {
    std::env::current_exe()
        .unwrap()
        .parent()
        .unwrap()
        .to_path_buf()
}

/// Compiles `tests/c/<name>.c` with `-Wall -Wextra -Werror` and links it to the cdylib.
fn build_c_program(name: &str, out_dir: &TempDir) -> PathBuf {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let lib_dir = lib_dir();
    assert!(
        lib_dir.join("libcrvideosdk.so").exists(),
        "libcrvideosdk.so not built in {}",
        lib_dir.display()
    );
    let exe = out_dir.path.join(name);
    let output = Command::new(std::env::var("CC").unwrap_or_else(|_| "cc".into()))
        .args(["-std=c99", "-Wall", "-Wextra", "-Werror", "-pedantic"])
        .arg(root.join(format!("tests/c/{name}.c")))
        .arg("-I")
        .arg(root.join("include"))
        .arg("-L")
        .arg(&lib_dir)
        .arg(format!("-Wl,-rpath,{}", lib_dir.display()))
        .args(["-lcrvideosdk", "-lpthread", "-o"])
        .arg(&exe)
        .output()
        .expect("run cc");
    assert!(
        output.status.success(),
        "compiling {name}.c failed:\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    exe
}

#[test]
fn c_login_basic_against_a_real_server() {
    let dir = TempDir::new("c-login");
    let exe = build_c_program("login_basic", &dir);
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
