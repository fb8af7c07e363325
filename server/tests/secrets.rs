//! No password, token, token secret or password hash in any log line at any level: a server
//! run through right and wrong logins, with every event down to trace captured.
//!
//! One test in this binary: it installs the process-wide tracing subscriber.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use crvideo_server::auth::{mint_token, unix_now};
use crvideo_server::{Config, Server};
use serde_json::json;
use support::connect;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Capture {
        self.clone()
    }
}

const PASSWORD: &str = "Clear-Passw0rd-7f3a";
const WRONG_PASSWORD: &str = "Wr0ng-Guess-91bc";
const TOKEN_SECRET: &str = "Token-Secret-5e2d-0123456789";
const OTHER_SECRET: &str = "Forger-Secret-aa11-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_reaches_the_log() {
    let capture = Capture::default();
    // As the binary sets it up (see main.rs), at the most verbose level.
    tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(capture.clone())
        .with_ansi(false)
        .finish()
        .with(crvideo_server::logging::no_payloads())
        .init();

    std::env::set_var("CRV_SECRETS_TEST_TOKEN_SECRET", TOKEN_SECRET);
    let hash = support::HASH_OF_PW;
    let text = format!(
        r#"
listen = "127.0.0.1:0"
heartbeat_ms = 500
[limits]
login_backoff_base_ms = 1
login_backoff_max_ms = 5
[[tenants]]
account = "acme"
password = "{PASSWORD}"
[[tenants]]
account = "tok"
password_hash = "{hash}"
token_secret = "env:CRV_SECRETS_TEST_TOKEN_SECRET"
"#
    );
    let mut config = Config::from_toml_str(&text, "secrets.toml").unwrap();
    config.data_dir = support::data_dir("secrets");
    tracing::info!("config: {config:?}");
    tracing::debug!("tenant: {:?}", config.tenants[1]);
    let server = Server::start(config).await.unwrap();
    let addr = server.local_addr();

    let later = unix_now() + 600;
    let good = mint_token(TOKEN_SECRET, "tok", "alice", later);
    let bobs = mint_token(TOKEN_SECRET, "tok", "bob", later);
    let forged = mint_token(OTHER_SECRET, "tok", "alice", later);
    let expired = mint_token(TOKEN_SECRET, "tok", "alice", unix_now() - 10);
    let secrets = [
        PASSWORD,
        WRONG_PASSWORD,
        TOKEN_SECRET,
        OTHER_SECRET,
        hash,
        &good,
        &bobs,
        &forged,
        &expired,
        // The signature parts alone, too.
        good.rsplit('.').next().unwrap(),
        forged.rsplit('.').next().unwrap(),
    ];

    let mut c = connect(addr).await;
    c.hello().await;
    for (tenant, password, user, token, code) in [
        ("acme", WRONG_PASSWORD, "amy", "", 7),
        ("acme", PASSWORD, "amy", good.as_str(), 15),
        ("nosuch", PASSWORD, "amy", "", 7),
        ("tok", WRONG_PASSWORD, "alice", good.as_str(), 7),
        ("tok", "pw", "alice", "", 14),
        ("tok", "pw", "alice", bobs.as_str(), 17),
        ("tok", "pw", "alice", forged.as_str(), 17),
        ("tok", "pw", "alice", expired.as_str(), 18),
        ("tok", "pw", "alice", good.as_str(), 0),
    ] {
        let r = c.login_reply(tenant, password, user, token).await;
        assert_eq!(r.code, code, "{tenant} {user}");
    }
    let mut amy = connect(addr).await;
    amy.hello().await;
    assert_eq!(amy.login_reply("acme", PASSWORD, "amy", "").await.code, 0);
    assert_eq!(amy.code(json!({"op": "logout"})).await, 0);
    // Malformed logins that carry secrets: a wrong type, broken JSON.
    let mut bad = connect(addr).await;
    bad.hello().await;
    bad.send_text(format!(
        r#"{{"id":9,"op":"login","tenant":"acme","password":["{PASSWORD}"],"nickname":"","user_id":""}}"#
    ))
    .await;
    bad.closed().await;
    let mut broken = connect(addr).await;
    broken.hello().await;
    broken
        .send_text(format!(r#"{{"id":9,"op":"login","password":"{PASSWORD}"#))
        .await;
    broken.closed().await;
    drop(c);
    server.shutdown().await;

    let log = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(log.contains("logged in"), "the capture works:\n{log}");
    assert!(log.contains("login refused"), "{log}");
    assert!(
        log.contains("TRACE") || log.contains("DEBUG"),
        "all levels captured"
    );
    for secret in secrets {
        assert!(
            !log.contains(secret),
            "a secret ({}...) is in the log:\n{log}",
            &secret[..6]
        );
    }
}
