//! The raw protocol client (`crvideo-testkit`) and a test server setup shared by the
//! security tests (authz, limits, tokens, tls, secrets).
#![allow(dead_code)]

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crvideo_server::{Config, TenantConfig};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout, Instant};

/// argon2id of "pw" with tiny parameters (m=8 KiB, t=1): keeps the tests fast.
pub const HASH_OF_PW: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0";
/// Same, of "s3cret".
pub const HASH_OF_S3CRET: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$npVotbvPQ4dPhvFkQko6L661aOqtdkjpUJzLaZXBhpA";
/// The token secret of tenant "tok" (password "pw").
pub const TOKEN_SECRET: &str = "tok-secret-0123456789-abcdefghij";

// Not every test uses both (like the rest of this module: see `allow(dead_code)` above).
#[allow(unused_imports)]
pub use crvideo_testkit::{PATIENCE, QUIET};

pub fn data_dir(tag: &str) -> std::path::PathBuf {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ))
}

/// Tenants acme ("pw"), globex ("s3cret"), both with queue 1, and tok ("pw", tokens
/// required).
pub fn config(tag: &str) -> Config {
    let queue = crvideo_server::QueueConfig {
        id: 1,
        name: "sales".into(),
        desc: String::new(),
        prio: 0,
    };
    let mut acme = TenantConfig::with_password_hash("acme", HASH_OF_PW).unwrap();
    acme.queues = vec![queue.clone()];
    let mut globex = TenantConfig::with_password_hash("globex", HASH_OF_S3CRET).unwrap();
    globex.queues = vec![queue];
    let tok = TenantConfig::with_password_hash("tok", HASH_OF_PW)
        .unwrap()
        .with_token_secret(TOKEN_SECRET);
    Config {
        listen: "127.0.0.1:0".into(),
        data_dir: data_dir(tag),
        heartbeat_ms: 1000,
        tenants: vec![acme, globex, tok],
        ..Config::default()
    }
}

/// The raw protocol client, shared with the benches.
pub type Client<S = TcpStream> = crvideo_testkit::Conn<S>;

/// Connects over plain TCP.
pub async fn connect(addr: SocketAddr) -> Client {
    let tcp = TcpStream::connect(addr).await.unwrap();
    Client::over(tcp, &format!("ws://{addr}/crvideo")).await
}

/// Connects over plain TCP from the local address `from` (e.g. 127.0.0.2).
pub async fn connect_from(addr: SocketAddr, from: IpAddr) -> Client {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(from, 0)).unwrap();
    let tcp = socket.connect(addr).await.unwrap();
    Client::over(tcp, &format!("ws://{addr}/crvideo")).await
}

/// Connects, says hello and logs in (the password of acme and tok is "pw", of globex
/// "s3cret"; tok users get a fresh token).
pub async fn login(addr: SocketAddr, tenant: &str, user: &str) -> Client {
    let mut c = connect(addr).await;
    c.hello().await;
    let password = if tenant == "globex" { "s3cret" } else { "pw" };
    let token = if tenant == "tok" {
        crvideo_server::auth::mint_token(
            TOKEN_SECRET,
            tenant,
            user,
            crvideo_server::auth::unix_now() + 600,
        )
    } else {
        String::new()
    };
    let r = c.login_reply(tenant, password, user, &token).await;
    assert_eq!(r.code, 0, "login of {tenant}/{user}");
    c
}

/// Waits up to [`PATIENCE`] for `f` to hold.
pub async fn eventually(mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !f() {
        assert!(Instant::now() < deadline, "condition not reached in time");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Runs `f` with a [`PATIENCE`] bound.
pub async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    timeout(PATIENCE, f).await.expect("took too long")
}

/// A test CA and server certificates it signs, written as PEM files into a scratch folder.
pub struct Pki {
    pub ca: rcgen::Certificate,
    ca_key: rcgen::KeyPair,
    pub dir: std::path::PathBuf,
}

impl Pki {
    pub fn new(tag: &str) -> Pki {
        use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};
        let dir = data_dir(tag);
        std::fs::create_dir_all(&dir).unwrap();
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, format!("crvideo test CA {tag}"));
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate().unwrap();
        let ca = params.self_signed(&ca_key).unwrap();
        Pki { ca, ca_key, dir }
    }

    /// A server certificate for `names`, signed by the CA (expired if `expired`); returns the
    /// paths of its PEM certificate and key files.
    pub fn server_cert(
        &self,
        file: &str,
        names: &[&str],
        expired: bool,
    ) -> (std::path::PathBuf, std::path::PathBuf) {
        use rcgen::{CertificateParams, DnType, KeyPair};
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "crvideo test server");
        if expired {
            params.not_before = rcgen::date_time_ymd(2020, 1, 1);
            params.not_after = rcgen::date_time_ymd(2021, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.ca, &self.ca_key).unwrap();
        let cert_path = self.dir.join(format!("{file}.crt"));
        let key_path = self.dir.join(format!("{file}.key"));
        std::fs::write(&cert_path, cert.pem()).unwrap();
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        (cert_path, key_path)
    }
}
