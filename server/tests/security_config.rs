//! Config and command line of the security features: TLS files, token secrets, secrets
//! from the environment, `[limits]`, the `token` subcommand, and the binary's log at trace.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use crvideo_server::auth::{check_token, unix_now};
use crvideo_server::config::Limits;
use crvideo_server::Config;
use support::{Pki, HASH_OF_PW};

const BIN: &str = env!("CARGO_BIN_EXE_crvideo-server");

fn parse(text: &str) -> Result<Config, String> {
    Config::from_toml_str(text, "sec.toml").map_err(|e| {
        let e = e.to_string();
        assert!(e.starts_with("config sec.toml: "), "{e}");
        assert!(!e.contains('\n'), "{e}");
        e
    })
}

fn tenant(extra: &str) -> String {
    format!("[[tenants]]\naccount = \"acme\"\npassword_hash = \"{HASH_OF_PW}\"\n{extra}\n")
}

#[test]
fn tls_files_both_or_neither_and_usable() {
    let pki = Pki::new("sec-tls");
    let (cert, key) = pki.server_cert("s", &["localhost"], false);
    let (cert, key) = (cert.display().to_string(), key.display().to_string());
    let good = parse(&format!("tls_cert = \"{cert}\"\ntls_key = \"{key}\"\n")).unwrap();
    assert_eq!(good.tls_cert.unwrap().display().to_string(), cert);
    let e = parse(&format!("tls_cert = \"{cert}\"\n")).unwrap_err();
    assert!(e.contains("both tls_cert and tls_key"), "{e}");
    let e = parse(&format!("tls_key = \"{key}\"\n")).unwrap_err();
    assert!(e.contains("both tls_cert and tls_key"), "{e}");
    let e = parse(&format!(
        "tls_cert = \"{cert}\"\ntls_key = \"/nonexistent/k.pem\"\n"
    ))
    .unwrap_err();
    assert!(e.contains("tls_key /nonexistent/k.pem: cannot read"), "{e}");
    let e = parse(&format!("tls_cert = \"{key}\"\ntls_key = \"{key}\"\n")).unwrap_err();
    assert!(e.contains("no certificate"), "{e}");
    let e = parse(&format!("tls_cert = \"{cert}\"\ntls_key = \"{cert}\"\n")).unwrap_err();
    assert!(e.contains("no private key"), "{e}");
    assert!(!e.contains("BEGIN"), "no file contents: {e}");
}

#[test]
fn token_secret_is_kept_redacted_and_checked() {
    let secret = "a-token-secret-of-32-bytes-long!";
    let c = parse(&tenant(&format!("token_secret = \"{secret}\""))).unwrap();
    assert_eq!(c.tenants[0].token_secret(), Some(secret));
    let debug = format!("{c:?}");
    assert!(!debug.contains(secret), "{debug}");
    assert!(
        debug.contains("token_secret: Some(\"<redacted>\")"),
        "{debug}"
    );
    let e = parse(&tenant("token_secret = \"short\"")).unwrap_err();
    assert!(e.contains("token_secret shorter than 16 bytes"), "{e}");
    assert!(!e.contains("short\""), "{e}");
    assert_eq!(parse(&tenant("")).unwrap().tenants[0].token_secret(), None);
}

#[test]
fn secrets_from_the_environment() {
    std::env::set_var("CRV_SEC_PW", "env-password-1");
    std::env::set_var("CRV_SEC_HASH", HASH_OF_PW);
    std::env::set_var("CRV_SEC_TOKEN", "env-token-secret-0123456789");
    let c = parse(
        "[[tenants]]\naccount = \"a\"\npassword = \"env:CRV_SEC_PW\"\n\
         [[tenants]]\naccount = \"b\"\npassword_hash = \"env:CRV_SEC_HASH\"\n\
         token_secret = \"env:CRV_SEC_TOKEN\"\n",
    )
    .unwrap();
    assert!(c.tenants[0].verify_password("env-password-1"));
    assert!(c.tenants[1].verify_password("pw"));
    assert_eq!(
        c.tenants[1].token_secret(),
        Some("env-token-secret-0123456789")
    );
    let e = parse(&tenant("token_secret = \"env:CRV_SEC_UNSET_VARIABLE\"")).unwrap_err();
    assert!(
        e.contains("tenant \"acme\": token_secret: environment variable \"CRV_SEC_UNSET_VARIABLE\" is not set"),
        "{e}"
    );
    let e =
        parse("[[tenants]]\naccount = \"a\"\npassword = \"env:CRV_SEC_UNSET_PW\"\n").unwrap_err();
    assert!(
        e.contains("password: environment variable \"CRV_SEC_UNSET_PW\""),
        "{e}"
    );
    // A variable holding a bad hash: the error does not show its value.
    std::env::set_var("CRV_SEC_BAD_HASH", "not-a-hash-value");
    let e = parse("[[tenants]]\naccount = \"a\"\npassword_hash = \"env:CRV_SEC_BAD_HASH\"\n")
        .unwrap_err();
    assert!(!e.contains("not-a-hash-value"), "{e}");
}

#[test]
fn limits_table() {
    assert_eq!(parse("").unwrap().limits, Limits::default());
    let c = parse(
        "[limits]\nmax_json_depth = 10\nmax_usr_ext_dat_bytes = 100\nmax_meet_obj_bytes = 200\n\
         login_backoff_base_ms = 50\nlogin_backoff_max_ms = 60\nrequests_per_sec = 1\n\
         request_burst = 2\ncmds_per_sec = 3\ncmd_burst = 4\nmax_transfers_per_user = 5\n\
         max_cmds_in_flight = 6\nmax_outbound_bytes = 1000000\n\
         max_tenant_outbound_bytes = 2000000\nlogin_concurrency_per_address = 7\n\
         login_concurrency_per_account = 8\nlogin_timeout_ms = 9\n\
         max_prelogin_connections = 10\nmax_prelogin_per_address = 11\n\
         max_meetings_per_user = 12\nmax_meetings_per_tenant = 13\n",
    )
    .unwrap();
    assert_eq!(
        c.limits,
        Limits {
            max_json_depth: 10,
            max_usr_ext_dat_bytes: 100,
            max_meet_obj_bytes: 200,
            login_backoff_base_ms: 50,
            login_backoff_max_ms: 60,
            requests_per_sec: 1,
            request_burst: 2,
            cmds_per_sec: 3,
            cmd_burst: 4,
            max_transfers_per_user: 5,
            max_cmds_in_flight: 6,
            max_outbound_bytes: 1_000_000,
            max_tenant_outbound_bytes: 2_000_000,
            login_concurrency_per_address: 7,
            login_concurrency_per_account: 8,
            login_timeout_ms: 9,
            max_prelogin_connections: 10,
            max_prelogin_per_address: 11,
            max_meetings_per_user: 12,
            max_meetings_per_tenant: 13,
        }
    );
    for (bad, says) in [
        (
            "requests_per_sec = 0",
            "limits.requests_per_sec must be greater than 0",
        ),
        ("max_json_depth = 0", "limits.max_json_depth"),
        (
            "login_backoff_base_ms = 10\nlogin_backoff_max_ms = 5",
            "login_backoff_max_ms",
        ),
        ("no_such_limit = 1", "no_such_limit"),
        ("login_timeout_ms = 0", "limits.login_timeout_ms"),
        (
            "max_outbound_bytes = 1000",
            "limits.max_outbound_bytes must be at least",
        ),
        (
            "max_tenant_outbound_bytes = 300000",
            "max_tenant_outbound_bytes must not be less",
        ),
        ("cmd_burst = -1", "line 2"),
    ] {
        let e = parse(&format!("[limits]\n{bad}\n")).unwrap_err();
        assert!(e.contains(says), "{bad}: {e}");
    }
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "off")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

#[test]
fn token_subcommand() {
    let dir = support::data_dir("sec-cli");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    let secret = "cli-token-secret-0123456789";
    std::fs::write(
        &path,
        format!(
            "{}[[tenants]]\naccount = \"plain\"\npassword_hash = \"{HASH_OF_PW}\"\n",
            tenant(&format!("token_secret = \"{secret}\""))
        ),
    )
    .unwrap();
    let config = path.to_str().unwrap();
    let (code, out, err) = run(&[
        "token", "--tenant", "acme", "--user", "alice", "--ttl", "60", "--config", config,
    ]);
    assert_eq!(code, 0, "{err}");
    let token = out.trim();
    assert_eq!(
        check_token(secret, "acme", "alice", token, unix_now()),
        Ok(())
    );
    let expiry: u64 = token.split('.').nth(1).unwrap().parse().unwrap();
    assert!(
        (unix_now() + 55..=unix_now() + 61).contains(&expiry),
        "{token}"
    );
    // --config before the subcommand works too.
    let (code, _, _) = run(&[
        "--config", config, "token", "--tenant", "acme", "--user", "bob", "--ttl", "1",
    ]);
    assert_eq!(code, 0);
    for (args, says) in [
        (vec!["--tenant", "nosuch"], "no tenant \"nosuch\""),
        (
            vec!["--tenant", "plain"],
            "tenant \"plain\" has no token_secret",
        ),
    ] {
        let mut all = vec!["token", "--user", "u", "--ttl", "5", "--config", config];
        all.extend(args);
        let (code, out, err) = run(&all);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty());
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(says), "{err}");
    }
    let (code, _, err) = run(&["token", "--tenant", "acme", "--user", "u", "--ttl", "5"]);
    assert_eq!(code, 2);
    assert!(err.contains("--config"), "{err}");
}

#[test]
fn bad_tls_config_exits_2() {
    let dir = support::data_dir("sec-cli-tls");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    std::fs::write(
        &path,
        "tls_cert = \"/nonexistent/c.pem\"\ntls_key = \"/nonexistent/k.pem\"\n",
    )
    .unwrap();
    let (code, out, err) = run(&[
        "--config",
        path.to_str().unwrap(),
        "--listen",
        "127.0.0.1:0",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("tls_cert /nonexistent/c.pem: cannot read"),
        "{err}"
    );
}

/// The binary at RUST_LOG=trace logs no WebSocket payload (a login's password).
#[test]
fn the_binary_at_trace_level_logs_no_password() {
    let dir = support::data_dir("sec-trace");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("c.toml");
    let password = "Binary-Trace-Passw0rd-4411";
    std::fs::write(
        &path,
        format!("[[tenants]]\naccount = \"acme\"\npassword = \"{password}\"\n"),
    )
    .unwrap();
    let mut child = Command::new(BIN)
        .args([
            "--config",
            path.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--data-dir", dir.join("data").to_str().unwrap()])
        .env("RUST_LOG", "trace")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr: std::net::SocketAddr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .parse()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let mut c = support::connect(addr).await;
        c.hello().await;
        assert_eq!(c.login_reply("acme", password, "amy", "").await.code, 0);
        assert_eq!(c.login_reply("acme", password, "amy", "").await.code, 9);
    });
    unsafe { libc_kill(child.id() as i32) };
    let out = child.wait_with_output().unwrap();
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(log.contains("logged in"), "{log}");
    assert!(log.contains("DEBUG"), "debug and trace are on");
    assert!(
        !log.contains(password),
        "the password is in the log:\n{log}"
    );
}

extern "C" {
    fn kill(pid: i32, sig: i32) -> i32;
}

/// SIGTERM.
unsafe fn libc_kill(pid: i32) {
    kill(pid, 15);
}
