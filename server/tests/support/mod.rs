//! A raw protocol client and a test server setup shared by the security tests (authz,
//! limits, tokens, tls, secrets).
#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use crvideo_proto::{Event, Reply, ServerFrame, PROTOCOL_VERSION};
use crvideo_server::{Config, TenantConfig};
use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

/// argon2id of "pw" with tiny parameters (m=8 KiB, t=1): keeps the tests fast.
pub const HASH_OF_PW: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$F8bBQbTgL5fO3QK0XHaH8G3TAO/bdx5JpDaweDAe4I0";
/// Same, of "s3cret".
pub const HASH_OF_S3CRET: &str =
    "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHRzYWx0$npVotbvPQ4dPhvFkQko6L661aOqtdkjpUJzLaZXBhpA";
/// The token secret of tenant "tok" (password "pw").
pub const TOKEN_SECRET: &str = "tok-secret-0123456789-abcdefghij";

/// Generous bound for anything that should happen "soon".
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long to watch for something that must not arrive.
pub const QUIET: Duration = Duration::from_millis(300);

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

/// What arrived and was not consumed yet.
pub enum Incoming {
    Frame(ServerFrame),
    Binary(Bytes),
}

/// A raw protocol client over any stream (TCP, TLS).
pub struct Client<S = TcpStream> {
    pub ws: WebSocketStream<S>,
    next_id: u64,
    pending: VecDeque<Incoming>,
}

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

impl<S: AsyncRead + AsyncWrite + Unpin> Client<S> {
    pub async fn over(stream: S, url: &str) -> Client<S> {
        let (ws, _) = tokio_tungstenite::client_async(url, stream).await.unwrap();
        Client {
            ws,
            next_id: 1,
            pending: VecDeque::new(),
        }
    }

    /// A client over a WebSocket the test used directly (e.g. split and reunited).
    pub fn from_parts(ws: WebSocketStream<S>) -> Client<S> {
        Client {
            ws,
            next_id: 1_000_000,
            pending: VecDeque::new(),
        }
    }

    pub async fn send(&mut self, frame: Value) {
        self.ws
            .send(Message::text(frame.to_string()))
            .await
            .unwrap();
    }

    pub async fn send_text(&mut self, text: String) {
        self.ws.send(Message::text(text)).await.unwrap();
    }

    pub async fn send_binary(&mut self, frame: Vec<u8>) {
        self.ws.send(Message::binary(frame)).await.unwrap();
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// The next frame from the server (pings skipped), or None when the connection ends.
    async fn read(&mut self, deadline: Instant) -> Option<Incoming> {
        loop {
            let msg = timeout_at(deadline, self.ws.next()).await.ok()??.ok()?;
            match msg {
                Message::Text(t) => {
                    return Some(Incoming::Frame(crvideo_proto::decode(t.as_str()).unwrap()))
                }
                Message::Binary(b) => return Some(Incoming::Binary(b)),
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// Sends `{"id": <fresh>, ...request}` and returns the reply to it; events and binary
    /// frames arriving meanwhile are kept for [`Client::event`].
    pub async fn request(&mut self, request: Value) -> Reply {
        let id = self.next_id();
        let mut frame = request;
        frame["id"] = json!(id);
        self.send(frame).await;
        self.reply_to(id).await
    }

    /// The reply to request `id` (kept events stay kept).
    pub async fn reply_to(&mut self, id: u64) -> Reply {
        let deadline = Instant::now() + PATIENCE;
        loop {
            match self.read(deadline).await {
                Some(Incoming::Frame(ServerFrame::Reply(r))) if r.re == id => return r,
                Some(Incoming::Frame(ServerFrame::Reply(r))) => {
                    panic!("reply to {} while waiting for {id}", r.re)
                }
                Some(other) => self.pending.push_back(other),
                None => panic!("connection ended while waiting for reply {id}"),
            }
        }
    }

    /// The reply code of `request`.
    pub async fn code(&mut self, request: Value) -> i32 {
        self.request(request).await.code
    }

    /// The next event (kept ones first).
    pub async fn event(&mut self) -> Event {
        match self.next_incoming().await {
            Some(Incoming::Frame(ServerFrame::Event(e))) => e,
            Some(Incoming::Frame(other)) => panic!("expected an event, got {other:?}"),
            Some(Incoming::Binary(b)) => panic!("expected an event, got {} bytes", b.len()),
            None => panic!("connection ended while waiting for an event"),
        }
    }

    /// The next binary frame (kept ones first).
    pub async fn binary(&mut self) -> Bytes {
        match self.next_incoming().await {
            Some(Incoming::Binary(b)) => b,
            Some(Incoming::Frame(f)) => panic!("expected a binary frame, got {f:?}"),
            None => panic!("connection ended while waiting for a binary frame"),
        }
    }

    /// The next kept or arriving frame (None: the connection ended, or nothing came in
    /// [`PATIENCE`]).
    async fn next_incoming(&mut self) -> Option<Incoming> {
        match self.pending.pop_front() {
            Some(i) => Some(i),
            None => self.read(Instant::now() + PATIENCE).await,
        }
    }

    /// Asserts nothing (event, reply, binary) arrives for [`QUIET`].
    pub async fn quiet(&mut self) {
        if let Some(i) = self.pending.pop_front() {
            panic!("unexpected {}", describe(&i));
        }
        let deadline = Instant::now() + QUIET;
        if let Some(i) = self.read(deadline).await {
            panic!("unexpected {}", describe(&i));
        }
    }

    /// Reads until the server closes; returns its Close frame (None if the connection just
    /// ended).
    pub async fn closed(&mut self) -> Option<CloseFrame> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let next = timeout_at(deadline, self.ws.next())
                .await
                .expect("connection not closed in time");
            match next {
                Some(Ok(Message::Close(frame))) => return frame,
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    pub async fn hello(&mut self) {
        let r = self
            .request(json!({"op": "hello", "version": PROTOCOL_VERSION, "agent": "test"}))
            .await;
        assert_eq!(r.code, 0);
    }

    /// A login; returns the reply.
    pub async fn login_reply(
        &mut self,
        tenant: &str,
        password: &str,
        user: &str,
        auth_code: &str,
    ) -> Reply {
        self.request(
            json!({"op": "login", "tenant": tenant, "password": password,
            "nickname": "Nick", "user_id": user, "auth_code": auth_code}),
        )
        .await
    }
}

fn describe(i: &Incoming) -> String {
    match i {
        Incoming::Frame(f) => format!("{f:?}"),
        Incoming::Binary(b) => format!("binary frame of {} bytes", b.len()),
    }
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
