//! Config file parsing and validation.

use std::path::PathBuf;

use crvideo_server::{Config, QueueConfig};

const HASH_OF_PW: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0";

fn parse(text: &str) -> Result<Config, String> {
    Config::from_toml_str(text, "/etc/crvideo/test.toml").map_err(|e| e.to_string())
}

fn parse_err(text: &str) -> String {
    let e = parse(text).expect_err("config accepted");
    assert!(
        e.starts_with("config /etc/crvideo/test.toml: "),
        "error does not name the file: {e}"
    );
    assert!(!e.contains('\n'), "error is not one line: {e}");
    e
}

#[test]
fn good_file_with_all_keys() {
    let text = format!(
        r#"
listen = "0.0.0.0:9000"
data_dir = "/var/lib/crvideo"
call_timeout_secs = 45
queue_notify_ms = 20
heartbeat_ms = 2500
max_frame_bytes = 65536

[[tenants]]
account = "acme"
password = "s3cret"

[[tenants.queues]]
id = 1
name = "sales"
desc = "Sales hotline"
prio = 1

[[tenants.queues]]
id = 2
name = "support"
desc = "Support"
prio = 2

[[tenants]]
account = "globex"
password_hash = "{HASH_OF_PW}"
"#
    );
    let config = parse(&text).unwrap();
    assert_eq!(config.listen, "0.0.0.0:9000");
    assert_eq!(config.data_dir, PathBuf::from("/var/lib/crvideo"));
    assert_eq!(config.call_timeout_secs, 45);
    assert_eq!(config.queue_notify_ms, 20);
    assert_eq!(config.heartbeat_ms, 2500);
    assert_eq!(config.max_frame_bytes, 65536);
    assert_eq!(config.tenants.len(), 2);

    let acme = &config.tenants[0];
    assert_eq!(acme.account, "acme");
    assert!(acme.password_hash().starts_with("$argon2id$"));
    assert!(acme.verify_password("s3cret"));
    assert!(!acme.verify_password("wrong"));
    assert_eq!(
        acme.queues,
        vec![
            QueueConfig {
                id: 1,
                name: "sales".into(),
                desc: "Sales hotline".into(),
                prio: 1
            },
            QueueConfig {
                id: 2,
                name: "support".into(),
                desc: "Support".into(),
                prio: 2
            },
        ]
    );
    let globex = &config.tenants[1];
    assert_eq!(globex.password_hash(), HASH_OF_PW);
    assert!(globex.verify_password("pw"));
    assert!(globex.queues.is_empty());

    let debug = format!("{config:?}");
    assert!(
        !debug.contains("s3cret"),
        "clear password in Debug: {debug}"
    );
    assert!(!debug.contains("argon2"), "hash in Debug: {debug}");
}

#[test]
fn defaults() {
    let config = parse("").unwrap();
    assert_eq!(config.listen, "127.0.0.1:2727");
    assert_eq!(config.data_dir, PathBuf::from("./crvideo-data"));
    assert_eq!(config.call_timeout_secs, 30);
    assert_eq!(config.queue_notify_ms, 100);
    assert_eq!(config.heartbeat_ms, 5000);
    assert_eq!(
        config.max_frame_bytes,
        crvideo_proto::DEFAULT_MAX_FRAME_BYTES
    );
    assert!(config.tenants.is_empty());

    let d = Config::default();
    assert_eq!(d.listen, config.listen);
    assert!(d.tenants.is_empty());

    let demo = Config::with_demo_tenant();
    assert_eq!(demo.listen, "127.0.0.1:2727");
    assert_eq!(demo.tenants.len(), 1);
    assert_eq!(demo.tenants[0].account, "demo");
    assert!(demo.tenants[0].verify_password("demo123"));
    assert!(!format!("{demo:?}").contains("demo123"));
}

#[test]
fn unknown_top_level_keys_are_ignored() {
    let config = parse("listen = \"127.0.0.1:1\"\nfuture_feature = true\n").unwrap();
    assert_eq!(config.listen, "127.0.0.1:1");
}

#[test]
fn unreadable_file() {
    let e = Config::load(std::path::Path::new("/no/such/dir/crvideo.toml")).unwrap_err();
    assert_eq!(e.origin(), "/no/such/dir/crvideo.toml");
    let shown = e.to_string();
    assert!(
        shown.starts_with("config /no/such/dir/crvideo.toml: cannot read"),
        "{shown}"
    );
}

#[test]
fn load_reads_a_file() {
    let dir = std::env::temp_dir().join(format!("crvideo-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("ok.toml");
    std::fs::write(&path, "call_timeout_secs = 7\n").unwrap();
    assert_eq!(Config::load(&path).unwrap().call_timeout_secs, 7);
    std::fs::write(&path, "call_timeout_secs = \n").unwrap();
    let e = Config::load(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("config {}: line 1", path.display())),
        "{e}"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bad_toml() {
    let e = parse_err("listen = \"127.0.0.1:1\"\n[[tenants]\n");
    assert!(e.contains("line 2"), "{e}");
}

#[test]
fn wrong_types() {
    parse_err("call_timeout_secs = \"thirty\"\n");
    parse_err("heartbeat_ms = -1\n");
    parse_err("listen = 2727\n");
    parse_err("tenants = \"acme\"\n");
    parse_err("[[tenants]]\naccount = 5\npassword = \"x\"\n");
    parse_err("[[tenants]]\naccount = \"a\"\npassword = \"x\"\n[[tenants.queues]]\nid = \"one\"\nname = \"q\"\n");
}

#[test]
fn bad_values() {
    let e = parse_err("heartbeat_ms = 0\n");
    assert!(e.contains("heartbeat_ms"), "{e}");
    let e = parse_err("max_frame_bytes = 10\n");
    assert!(e.contains("max_frame_bytes"), "{e}");
}

#[test]
fn bad_listen_address() {
    for bad in ["nonsense", "127.0.0.1", "127.0.0.1:70000", ":80", "a b:80"] {
        let e = parse_err(&format!("listen = \"{bad}\"\n"));
        assert!(e.contains("listen"), "{e}");
    }
}

#[test]
fn duplicate_tenant() {
    let e = parse_err(
        "[[tenants]]\naccount = \"acme\"\npassword = \"a\"\n\n[[tenants]]\naccount = \"acme\"\npassword = \"b\"\n",
    );
    assert_eq!(
        e,
        "config /etc/crvideo/test.toml: duplicate tenant \"acme\""
    );
}

#[test]
fn tenant_key_problems() {
    let e = parse_err("[[tenants]]\npassword = \"x\"\n");
    assert!(e.contains("missing field `account`"), "{e}");
    let e = parse_err("[[tenants]]\naccount = \"a\"\npassword = \"x\"\ncolour = \"red\"\n");
    assert!(e.contains("unknown field `colour`"), "{e}");
    let e =
        parse_err("[[tenants]]\naccount = \"a\"\npassword = \"x\"\n[[tenants.queues]]\nid = 1\n");
    assert!(e.contains("missing field `name`"), "{e}");
    let e = parse_err("[[tenants]]\naccount = \"\"\npassword = \"x\"\n");
    assert!(e.contains("empty account"), "{e}");
    let e = parse_err("[[tenants]]\naccount = \"a\"\npassword = \"\"\n");
    assert!(e.contains("empty password"), "{e}");
    let e = parse_err(
        "[[tenants]]\naccount = \"a\"\npassword = \"x\"\n[[tenants.queues]]\nid = 1\nname = \"q\"\n[[tenants.queues]]\nid = 1\nname = \"r\"\n",
    );
    assert!(e.contains("duplicate queue id 1"), "{e}");
}

#[test]
fn password_and_hash_neither_or_both() {
    let e = parse_err("[[tenants]]\naccount = \"acme\"\n");
    assert!(
        e.contains("tenant \"acme\": missing password or password_hash"),
        "{e}"
    );
    let e = parse_err(&format!(
        "[[tenants]]\naccount = \"acme\"\npassword = \"topsecret\"\npassword_hash = \"{HASH_OF_PW}\"\n"
    ));
    assert!(
        e.contains("tenant \"acme\": give either password or password_hash"),
        "{e}"
    );
    assert!(!e.contains("topsecret"));
}

#[test]
fn bad_hash_string() {
    for bad in [
        "s3cret",
        "$argon2id$v=19$m=19456,t=2,p=1",
        "$md5$abc",
        "$argon2id$v=19$m=0,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0",
    ] {
        let e = parse_err(&format!(
            "[[tenants]]\naccount = \"acme\"\npassword_hash = \"{bad}\"\n"
        ));
        assert!(e.contains("tenant \"acme\": bad password_hash"), "{e}");
    }
}
