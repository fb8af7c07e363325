//! The connection: handshake, sending, reading with a deadline, the kept frames.

use std::collections::VecDeque;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

use crvideo_proto::{
    decode, encode, ClientFrame, Event, LoginOk, LoginRequest, Reply, Request, ServerFrame,
    PROTOCOL_VERSION, WS_PATH,
};
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpStream;
use tokio::time::{timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

/// What arrived and was not consumed yet.
pub enum Incoming {
    Frame(ServerFrame),
    Binary(Bytes),
}

/// Why no frame came.
#[derive(Debug)]
pub enum ReadError {
    /// Nothing within the given time.
    TimedOut(Duration),
    /// The connection ended without a Close frame.
    Ended,
    /// The server sent a Close frame.
    Closed(Option<CloseFrame>),
    /// The WebSocket failed.
    Broken(String),
    /// A text frame that is not a server frame: the text and the decoder's complaint.
    Undecodable(String, String),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::TimedOut(within) => write!(f, "nothing from the server within {within:?}"),
            ReadError::Ended => write!(f, "connection closed by the server"),
            ReadError::Closed(frame) => write!(f, "server closed: {frame:?}"),
            ReadError::Broken(e) => write!(f, "read: {e}"),
            ReadError::Undecodable(text, e) => write!(f, "undecodable frame {text:?}: {e}"),
        }
    }
}

/// A raw protocol client over any stream (TCP, TLS), read and written by the task that
/// owns it.
pub struct Conn<S = TcpStream> {
    pub ws: WebSocketStream<S>,
    next_id: u64,
    pub(crate) pending: VecDeque<Incoming>,
}

/// The SDK's limits (src/client/connect.rs): an enter reply carrying a full meeting's
/// whiteboards is larger than tungstenite's default 16 MiB frame. Small read buffers keep a
/// load generator with thousands of connections lean.
fn lean_config() -> WebSocketConfig {
    WebSocketConfig::default()
        .read_buffer_size(8 * 1024)
        .max_message_size(Some(64 << 20))
        .max_frame_size(Some(64 << 20))
}

impl Conn<TcpStream> {
    /// Connects over TCP (no Nagle) with [`lean_config`].
    pub async fn connect(addr: SocketAddr, within: Duration) -> Result<Conn, String> {
        let tcp = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let _ = tcp.set_nodelay(true);
        let url = format!("ws://{addr}{WS_PATH}");
        timeout(within, Conn::handshake(tcp, &url, Some(lean_config())))
            .await
            .map_err(|_| "WebSocket handshake timed out")?
    }

    /// [`Conn::connect`], hello as `agent`, and a login of `user` (nickname the same) that
    /// must succeed as that user.
    pub async fn login(
        addr: SocketAddr,
        tenant: &str,
        password: &str,
        user: &str,
        agent: &str,
        within: Duration,
    ) -> Result<Conn, String> {
        let mut conn = Conn::connect(addr, within).await?;
        conn.request_ok(
            Request::Hello {
                version: PROTOCOL_VERSION,
                agent: agent.into(),
            },
            within,
        )
        .await?;
        let ok: LoginOk = conn
            .request_ok(
                Request::Login(LoginRequest {
                    tenant: tenant.into(),
                    password: password.into(),
                    nickname: user.into(),
                    user_id: user.into(),
                    auth_code: String::new(),
                }),
                within,
            )
            .await?
            .into_result()
            .map_err(|code| format!("login reply: code {code}"))?;
        if ok.user_id != user {
            return Err(format!("logged in as {:?}, wanted {user:?}", ok.user_id));
        }
        Ok(conn)
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// The WebSocket handshake over `stream` (`config` None: tungstenite's defaults).
    pub async fn handshake(
        stream: S,
        url: &str,
        config: Option<WebSocketConfig>,
    ) -> Result<Conn<S>, String> {
        let (ws, _) = tokio_tungstenite::client_async_with_config(url, stream, config)
            .await
            .map_err(|e| format!("WebSocket handshake: {e}"))?;
        Ok(Conn::from_ws(ws, 1))
    }

    /// A client over a WebSocket used directly before; request ids go on from `next_id`.
    pub fn from_ws(ws: WebSocketStream<S>, next_id: u64) -> Conn<S> {
        Conn {
            ws,
            next_id,
            pending: VecDeque::new(),
        }
    }

    /// The WebSocket and the next request id (for a caller that splits the stream).
    pub fn into_parts(self) -> (WebSocketStream<S>, u64) {
        (self.ws, self.next_id)
    }

    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    pub async fn try_send(&mut self, message: Message) -> Result<(), String> {
        self.ws
            .send(message)
            .await
            .map_err(|e| format!("send: {e}"))
    }

    /// Sends `request` with a fresh id; returns the id.
    pub async fn send_request(&mut self, request: Request) -> Result<u64, String> {
        let id = self.next_id();
        self.try_send(Message::text(encode(&ClientFrame { id, request })))
            .await?;
        Ok(id)
    }

    /// Sends a hand-made frame (any JSON, valid or not).
    pub async fn send_value(&mut self, frame: &Value) -> Result<(), String> {
        self.try_send(Message::text(frame.to_string())).await
    }

    /// The next text or binary message (pings answered, pongs skipped), undecoded.
    async fn next_message(
        &mut self,
        deadline: Instant,
        within: Duration,
    ) -> Result<Message, ReadError> {
        loop {
            let message = timeout_at(deadline, self.ws.next())
                .await
                .map_err(|_| ReadError::TimedOut(within))?
                .ok_or(ReadError::Ended)?
                .map_err(|e| ReadError::Broken(e.to_string()))?;
            match message {
                Message::Text(_) | Message::Binary(_) => return Ok(message),
                Message::Close(frame) => return Err(ReadError::Closed(frame)),
                _ => {}
            }
        }
    }

    /// The next frame or binary message from the server (kept ones not looked at), by
    /// `deadline`.
    pub async fn read(
        &mut self,
        deadline: Instant,
        within: Duration,
    ) -> Result<Incoming, ReadError> {
        match self.next_message(deadline, within).await? {
            Message::Text(text) => decode(text.as_str())
                .map(Incoming::Frame)
                .map_err(|e| ReadError::Undecodable(text.as_str().to_owned(), e.to_string())),
            Message::Binary(b) => Ok(Incoming::Binary(b)),
            _ => unreachable!("next_message returns text and binary only"),
        }
    }

    /// The next kept or arriving frame or binary message, by `deadline`.
    pub async fn next_incoming(
        &mut self,
        deadline: Instant,
        within: Duration,
    ) -> Result<Incoming, ReadError> {
        match self.pending.pop_front() {
            Some(kept) => Ok(kept),
            None => self.read(deadline, within).await,
        }
    }

    /// The next reply or event within `within` (binary messages skipped).
    pub async fn next_frame(&mut self, within: Duration) -> Result<ServerFrame, String> {
        let deadline = Instant::now() + within;
        loop {
            match self.next_incoming(deadline, within).await {
                Ok(Incoming::Frame(frame)) => return Ok(frame),
                Ok(Incoming::Binary(_)) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// The next text message, undecoded (for clients that only look at some frames: a
    /// substring test is much cheaper than decoding every event).
    pub async fn next_text(&mut self, within: Duration) -> Result<String, String> {
        let deadline = Instant::now() + within;
        loop {
            match self.next_message(deadline, within).await {
                Ok(Message::Text(text)) => return Ok(text.as_str().to_owned()),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    }

    /// Sends a request and waits for its reply, which must have code 0. Presence and unknown
    /// events in between are skipped; any other event is an error.
    pub async fn request_ok(
        &mut self,
        request: Request,
        within: Duration,
    ) -> Result<Reply, String> {
        let op = request.op();
        let id = self.send_request(request).await?;
        loop {
            match self.next_frame(within).await? {
                ServerFrame::Reply(reply) if reply.re == id => {
                    if reply.code != 0 {
                        return Err(format!("{op} failed with code {}", reply.code));
                    }
                    return Ok(reply);
                }
                ServerFrame::Event(Event::UserStatus(_) | Event::Unknown) => {}
                other => return Err(format!("{op}: unexpected {other:?} before the reply")),
            }
        }
    }
}
