//! Misbehaving servers, for the SDK's failure paths.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use crvideo_proto::{decode, encode, ClientFrame, HelloOk, Reply, Request, ServerFrame};
use futures_util::{SinkExt, StreamExt};
use tokio_tungstenite::tungstenite::Message;

/// Accepts TCP connections and never says a word.
pub struct Blackhole {
    pub addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Blackhole {
    pub fn start() -> Blackhole {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut held: Vec<TcpStream> = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((conn, _)) => held.push(conn),
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Blackhole {
            addr,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Blackhole {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// How a [`ScriptedServer`] answers.
#[derive(Clone, Copy)]
pub enum Script {
    /// Refuses the hello with `MISMATCHCLIENTVER`, as a server of another version does.
    VersionMismatch,
    /// Completes the hello, then never answers the login.
    SilentAfterHello,
}

/// A WebSocket server speaking just enough protocol to follow a [`Script`].
pub struct ScriptedServer {
    pub addr: SocketAddr,
    runtime: Option<tokio::runtime::Runtime>,
}

impl ScriptedServer {
    pub fn start(script: Script) -> ScriptedServer {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let addr = listener.local_addr().unwrap();
        runtime.spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(async move {
                    let Ok(mut ws) = tokio_tungstenite::accept_async(tcp).await else {
                        return;
                    };
                    while let Some(Ok(message)) = ws.next().await {
                        let Message::Text(text) = message else {
                            continue;
                        };
                        let Ok(frame) = decode::<ClientFrame>(&text) else {
                            return;
                        };
                        let reply = match (script, frame.request) {
                            (Script::VersionMismatch, _) => {
                                Reply::err(frame.id, crvideo_proto::ErrorCode::MismatchClientVer)
                            }
                            (Script::SilentAfterHello, Request::Hello { version, .. }) => {
                                Reply::ok(
                                    frame.id,
                                    HelloOk {
                                        version,
                                        server: "scripted".into(),
                                        heartbeat_ms: 1000,
                                        max_frame_bytes: 1 << 20,
                                    },
                                )
                            }
                            (Script::SilentAfterHello, _) => continue,
                        };
                        if ws
                            .send(Message::text(encode(&ServerFrame::Reply(reply))))
                            .await
                            .is_err()
                        {
                            return;
                        }
                    }
                });
            }
        });
        ScriptedServer {
            addr,
            runtime: Some(runtime),
        }
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_background();
        }
    }
}

/// A bare protocol client: logs a user in without the SDK (the SDK is one per process).
pub struct RawClient {
    runtime: tokio::runtime::Runtime,
    ws: Ws,
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

impl RawClient {
    /// Connects, says hello and logs in; returns the login reply's code and the client.
    pub fn login(addr: SocketAddr, tenant: &str, password: &str, user: &str) -> (i32, RawClient) {
        RawClient::login_with_recv_buffer(addr, tenant, password, user, None)
    }

    /// As [`RawClient::login`], with the socket's receive buffer set to `recv_buffer` bytes
    /// (a small one makes a client that stops reading look full quickly).
    pub fn login_with_recv_buffer(
        addr: SocketAddr,
        tenant: &str,
        password: &str,
        user: &str,
        recv_buffer: Option<u32>,
    ) -> (i32, RawClient) {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let url = format!("ws://{addr}{}", crvideo_proto::WS_PATH);
        let ws = runtime.block_on(async {
            let socket = tokio::net::TcpSocket::new_v4().unwrap();
            if let Some(size) = recv_buffer {
                socket.set_recv_buffer_size(size).unwrap();
            }
            let tcp = socket.connect(addr).await.expect("raw connect");
            tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(tcp))
                .await
                .expect("raw handshake")
                .0
        });
        let mut client = RawClient { runtime, ws };
        let hello = client.request(Request::Hello {
            version: crvideo_proto::PROTOCOL_VERSION,
            agent: "raw".into(),
        });
        assert_eq!(hello.code, 0);
        let reply = client.request(Request::Login(crvideo_proto::LoginRequest {
            tenant: tenant.into(),
            password: password.into(),
            nickname: user.into(),
            user_id: user.into(),
            auth_code: String::new(),
        }));
        (reply.code, client)
    }

    /// Reads until an event matching `pred` arrives (other frames are skipped).
    pub fn wait_event(
        &mut self,
        pred: impl Fn(&crvideo_proto::Event) -> bool,
    ) -> crvideo_proto::Event {
        self.runtime.block_on(async {
            let deadline = tokio::time::Instant::now() + super::PATIENCE;
            loop {
                let next = tokio::time::timeout_at(deadline, self.ws.next()).await;
                let message = next
                    .expect("event in time")
                    .expect("connection open")
                    .unwrap();
                if let Message::Text(t) = message {
                    if let Ok(ServerFrame::Event(e)) = decode::<ServerFrame>(&t) {
                        if pred(&e) {
                            return e;
                        }
                    }
                }
            }
        })
    }

    /// Sends a binary frame.
    pub fn send_binary(&mut self, data: Vec<u8>) {
        self.runtime
            .block_on(self.ws.send(Message::Binary(data.into())))
            .unwrap();
    }

    /// Sends a one-way request (id 0: no reply).
    pub fn send_one_way(&mut self, request: Request) {
        let text = encode(&ClientFrame { id: 0, request });
        self.runtime
            .block_on(self.ws.send(Message::text(text)))
            .unwrap();
    }

    /// Sends a request and reads until its reply (other frames are skipped).
    pub fn request(&mut self, request: Request) -> Reply {
        let id = rand_id();
        self.runtime.block_on(async {
            self.ws
                .send(Message::text(encode(&ClientFrame { id, request })))
                .await
                .unwrap();
            loop {
                match self.ws.next().await.expect("reply").unwrap() {
                    Message::Text(t) => {
                        if let Ok(ServerFrame::Reply(r)) = decode::<ServerFrame>(&t) {
                            if r.re == id {
                                return r;
                            }
                        }
                    }
                    _ => continue,
                }
            }
        })
    }
}

fn rand_id() -> u64 {
    use std::sync::atomic::AtomicU64;
    static NEXT: AtomicU64 = AtomicU64::new(100);
    NEXT.fetch_add(1, Ordering::Relaxed)
}
