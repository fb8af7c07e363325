//! The tests' side of [`Conn`]: each helper panics with a message when the server does not
//! do what the test expects within [`PATIENCE`].

use std::time::Duration;

use crvideo_proto::{Event, Reply, ServerFrame, PROTOCOL_VERSION};
use serde_json::{json, Value};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::time::{timeout_at, Instant};
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{Bytes, Message};
use tokio_tungstenite::WebSocketStream;

use futures_util::StreamExt;

use crate::{Conn, Incoming, ReadError};

/// Generous bound for anything that should happen "soon".
pub const PATIENCE: Duration = Duration::from_secs(10);
/// How long to watch for something that must not arrive.
pub const QUIET: Duration = Duration::from_millis(300);

fn describe(i: &Incoming) -> String {
    match i {
        Incoming::Frame(f) => format!("{f:?}"),
        Incoming::Binary(b) => format!("binary frame of {} bytes", b.len()),
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> Conn<S> {
    /// The WebSocket handshake over `stream` with tungstenite's default limits.
    pub async fn over(stream: S, url: &str) -> Conn<S> {
        Conn::handshake(stream, url, None).await.unwrap()
    }

    /// A client over a WebSocket the test used directly (e.g. split and reunited).
    pub fn from_parts(ws: WebSocketStream<S>) -> Conn<S> {
        Conn::from_ws(ws, 1_000_000)
    }

    pub async fn send(&mut self, frame: Value) {
        self.send_value(&frame).await.unwrap();
    }

    pub async fn send_text(&mut self, text: String) {
        self.try_send(Message::text(text)).await.unwrap();
    }

    pub async fn send_binary(&mut self, frame: Vec<u8>) {
        self.try_send(Message::binary(frame)).await.unwrap();
    }

    /// The next frame from the server, or None when the connection ends or `deadline`
    /// passes; a frame that does not decode fails the test.
    async fn arrival(&mut self, deadline: Instant) -> Option<Incoming> {
        match self.read(deadline, PATIENCE).await {
            Ok(i) => Some(i),
            Err(e @ ReadError::Undecodable(..)) => panic!("{e}"),
            Err(_) => None,
        }
    }

    /// Sends `{"id": <fresh>, ...request}` and returns the reply to it; events and binary
    /// frames arriving meanwhile are kept for [`Conn::event`].
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
            match self.arrival(deadline).await {
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

    /// The next kept or arriving frame (None: the connection ended, or nothing came in
    /// [`PATIENCE`]).
    async fn next_kept(&mut self) -> Option<Incoming> {
        match self.pending.pop_front() {
            Some(i) => Some(i),
            None => self.arrival(Instant::now() + PATIENCE).await,
        }
    }

    /// The next event (kept ones first).
    pub async fn event(&mut self) -> Event {
        match self.next_kept().await {
            Some(Incoming::Frame(ServerFrame::Event(e))) => e,
            Some(Incoming::Frame(other)) => panic!("expected an event, got {other:?}"),
            Some(Incoming::Binary(b)) => panic!("expected an event, got {} bytes", b.len()),
            None => panic!("connection ended while waiting for an event"),
        }
    }

    /// The next binary frame (kept ones first).
    pub async fn binary(&mut self) -> Bytes {
        match self.next_kept().await {
            Some(Incoming::Binary(b)) => b,
            Some(Incoming::Frame(f)) => panic!("expected a binary frame, got {f:?}"),
            None => panic!("connection ended while waiting for a binary frame"),
        }
    }

    /// Asserts nothing (event, reply, binary) arrives for [`QUIET`].
    pub async fn quiet(&mut self) {
        if let Some(i) = self.pending.pop_front() {
            panic!("unexpected {}", describe(&i));
        }
        if let Some(i) = self.arrival(Instant::now() + QUIET).await {
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
