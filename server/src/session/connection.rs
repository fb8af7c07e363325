//! One connection from accept to close: the TLS and WebSocket handshakes, the read loop
//! (requests, heartbeat, stop requests, server shutdown), then going offline and the closing
//! handshake, or parking the session for its client to resume it on a new connection.
//!
//! Reading and writing are independent: replies, events and relayed data go through the
//! bounded queues of [`SessionLink`] to a writer task, so a client that does not read never
//! blocks this loop (nor anything else in the server).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::stream::SplitStream;
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout, timeout_at, Instant};
use tokio_tungstenite::tungstenite::error::ProtocolError;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::StatusCode;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::WebSocketStream;
use tracing::{debug, info, warn};

use crate::directory::outbound::{LinkLimits, SessionLink, Stop};
use crate::shutdown::shutdown_requested;
use crate::state::Shared;
use crate::throttle::TokenBucket;
use crate::tls::Conn;

use super::heartbeat::{Heartbeat, MISSED_BEATS};
use super::prelogin::Ticket;
use super::resumable::Resumable;
use super::writer::{run_writer, WsSink};
use super::{Phase, Session};

/// Longest time a client may take to complete the TLS and WebSocket handshakes.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest time spent on the closing handshake once a session ends (less if the dead-peer
/// limit, 3 x heartbeat, is shorter).
const CLOSE_GRACE: Duration = Duration::from_secs(2);

type WsStream = SplitStream<WebSocketStream<Conn>>;

/// How the read loop ended.
enum End {
    /// We end it, as the [`Stop`] says.
    Stop(Stop),
    /// The client sent a Close frame (tungstenite queued the reply).
    PeerClosed,
    /// This connection carries on a parked session from now on.
    Resume(Box<Session>, Vec<Message>),
}

/// Serves one accepted TCP connection until it is over.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    resumable: Arc<Resumable<Session>>,
    tcp: TcpStream,
    peer: SocketAddr,
    ticket: Ticket,
    mut shutdown: watch::Receiver<bool>,
) {
    let _ = tcp.set_nodelay(true);
    // Buffers are per connection, so they decide the memory a connected user costs.
    // tungstenite's defaults are 128 KiB each, and its read buffer is zero-filled to its
    // full capacity on the first read: 128 KiB of RSS per user (1.3 GiB at 10,000 users,
    // see docs/BENCHMARKS.md). Control frames are a few hundred bytes; 8 KiB holds many of
    // them, and a larger frame (up to max_frame_bytes) still grows the read buffer as
    // needed. The write side batches up to 8 KiB per write; the outbound queues of
    // SessionLink already bound what may pile up, so max_write_buffer_size stays unbounded
    // (a single reply larger than a cap would otherwise fail the session).
    const WS_READ_BUFFER_BYTES: usize = 8 * 1024;
    const WS_WRITE_BUFFER_BYTES: usize = 8 * 1024;
    let ws_config = WebSocketConfig::default()
        .read_buffer_size(WS_READ_BUFFER_BYTES)
        .write_buffer_size(WS_WRITE_BUFFER_BYTES)
        .max_message_size(Some(binary_frame_limit(&shared)))
        .max_frame_size(Some(binary_frame_limit(&shared)));
    let tls = shared.tls.clone();
    let handshake = async move {
        let conn = match tls {
            None => Conn::Plain(tcp),
            Some(acceptor) => match acceptor.accept(tcp).await {
                Ok(tls) => Conn::Tls(Box::new(tls)),
                Err(e) => return Err(format!("TLS handshake failed: {e}")),
            },
        };
        tokio_tungstenite::accept_hdr_async_with_config(conn, check_path, Some(ws_config))
            .await
            .map_err(|e| format!("WebSocket handshake failed: {e}"))
    };
    let ws = tokio::select! {
        r = timeout(HANDSHAKE_TIMEOUT, handshake) => match r {
            Ok(Ok(ws)) => ws,
            Ok(Err(e)) => {
                debug!(%peer, "{e}");
                return;
            }
            Err(_) => {
                debug!(%peer, "handshake timed out");
                return;
            }
        },
        _ = shutdown_requested(&mut shutdown) => return,
        _ = ticket.evicted() => {
            debug!(%peer, "closed during the handshake: too many connections not logged in");
            return;
        }
    };
    let login_deadline =
        Instant::now() + Duration::from_millis(shared.config.limits.login_timeout_ms);

    let link_limits = LinkLimits {
        max_outbound_bytes: shared.config.limits.max_outbound_bytes,
    };
    let (link, outbound, stop_rx) =
        SessionLink::with_limits(shared.next_session_id(), peer, link_limits);
    debug!(%peer, session = link.id(), "connected");
    let (sink, mut stream) = ws.split();

    let limits = &shared.config.limits;
    let requests = TokenBucket::new(limits.requests_per_sec, limits.request_burst);
    let commands = TokenBucket::new(limits.cmds_per_sec, limits.cmd_burst);
    let mut session = Session {
        shared,
        resumable,
        link,
        phase: Phase::AwaitHello,
        requests,
        commands,
        outbox: Arc::new(tokio::sync::Mutex::new(outbound)),
        replay: Arc::new(std::sync::Mutex::new(super::writer::new_replay())),
        stop_rx,
        resume: None,
        counting: false,
        received: 0,
        take_over: None,
        prelogin: Some(ticket),
        login_deadline,
    };
    let mut writer = session.spawn_writer(sink, Vec::new());
    loop {
        let mut stream_ok = true;
        let end = session
            .read_loop(&mut stream, &mut stream_ok, &mut shutdown)
            .await;
        match end {
            End::Resume(taken, resend) => {
                // The reply to `resume` is queued on this connection's own lanes: let the
                // writer send it and give the socket back, then carry the taken session.
                let sink = match session.link.queue_release() {
                    true => writer.await.ok().flatten(),
                    false => None,
                };
                let Some(sink) = sink else {
                    // This connection failed at once: park the session again.
                    (*taken).park(shutdown.clone());
                    return;
                };
                info!(%peer, session = taken.id(), "session resumed on a new connection");
                session = *taken;
                session.link.clear_stop();
                // Resumable again, and a resume arriving before a next loss is noticed takes
                // it over as for the first one.
                if let Some((token, _)) = &session.resume {
                    session.resumable.register(token, session.link.clone());
                }
                writer = session.spawn_writer(sink, resend);
            }
            End::Stop(Stop::Lost { reason }) if session.resume.is_some() => {
                info!(%peer, session = session.id(), "connection lost ({reason}): waiting for the client to resume");
                // The writer lets go of the lanes; what it had taken but not written is in
                // the replay, and bulk data in flight ends with its transfers.
                writer.abort();
                let _ = writer.await;
                if let Phase::LoggedIn(handle) = &session.phase {
                    session.shared.relay.leave(handle);
                    session.shared.netdisk.connection_lost(handle);
                }
                session.park(shutdown.clone());
                return;
            }
            end => {
                session.go_offline();
                let grace = CLOSE_GRACE.min(heartbeat_period(&session.shared) * MISSED_BEATS);
                finish(&session.link, stream, stream_ok, &mut writer, end, grace).await;
                writer.abort();
                debug!(%peer, session = session.link.id(), "connection ended");
                return;
            }
        }
    }
}

/// Completes when `ticket` is evicted (never without one).
async fn evicted(ticket: &Option<Ticket>) {
    match ticket {
        Some(ticket) => ticket.evicted().await,
        None => std::future::pending().await,
    }
}

/// Handshake callback: only [`crvideo_proto::WS_PATH`] is served; anything else is a 404.
#[allow(clippy::result_large_err)] // the signature tungstenite's `Callback` wants
fn check_path(request: &Request, response: Response) -> Result<Response, ErrorResponse> {
    if request.uri().path() == crvideo_proto::WS_PATH {
        return Ok(response);
    }
    let mut not_found = ErrorResponse::new(Some("not found".into()));
    *not_found.status_mut() = StatusCode::NOT_FOUND;
    Err(not_found)
}

impl Session {
    /// Starts the writer of this session's lanes on a connection's `sink`, sending
    /// `resend` first.
    fn spawn_writer(&self, sink: WsSink, resend: Vec<Message>) -> JoinHandle<Option<WsSink>> {
        let (outbox, link, replay) = (self.outbox.clone(), self.link.clone(), self.replay.clone());
        tokio::spawn(async move {
            let outbox = outbox.lock_owned().await;
            run_writer(sink, outbox, link, replay, resend).await
        })
    }

    /// Parks this session (resume enabled, connection lost) until its client resumes it.
    fn park(self, shutdown: watch::Receiver<bool>) {
        let (token, window) = self.resume.clone().expect("parked sessions enabled resume");
        // What stops the parked session from now on (a relogin, an overflowing queue); the
        // stop that lost the connection is spent.
        self.link.clear_stop();
        let mut stopped = self.stop_rx.clone();
        stopped.borrow_and_update();
        let resumable = self.resumable.clone();
        resumable.park(
            token,
            window,
            self,
            stopped,
            shutdown,
            |mut session, why| {
                info!(session = session.id(), "{why}: ending the session");
                session.go_offline();
            },
        );
    }

    /// The payload of this side's pings: the client's text frames counted so far, so the
    /// client can let go of what it kept for a resume (empty when not resumable).
    fn ack_payload(&self) -> Vec<u8> {
        match self.counting {
            true => self.received.to_be_bytes().to_vec(),
            false => Vec::new(),
        }
    }

    async fn read_loop(
        &mut self,
        stream: &mut WsStream,
        stream_ok: &mut bool,
        shutdown: &mut watch::Receiver<bool>,
    ) -> End {
        let peer = self.peer();
        let session = self.id();
        let mut heartbeat = Heartbeat::new(heartbeat_period(&self.shared));
        loop {
            let dead_at = heartbeat.dead_at();
            // Replies to this client's requests are not bounded by ending the session (see
            // `crate::directory::outbound`): while too many wait to be sent, no further request
            // is read.
            let backlogged = self.link.replies_backlogged();
            tokio::select! {
                biased;
                _ = shutdown_requested(shutdown) => {
                    return End::Stop(Stop::close(CloseCode::Away, "server shutting down"));
                }
                changed = self.stop_rx.changed() => {
                    if changed.is_err() {
                        return End::Stop(Stop::abort("session link dropped"));
                    }
                    if let Some(stop) = self.stop_rx.borrow_and_update().clone() {
                        return End::Stop(stop);
                    }
                }
                _ = self.link.replies_drained(), if backlogged => {}
                _ = evicted(&self.prelogin), if self.prelogin.is_some() => {
                    info!(%peer, session, "closing: too many connections not logged in, this one the oldest idle");
                    return End::Stop(Stop::close(CloseCode::Again, "too many connections"));
                }
                _ = sleep_until(self.login_deadline), if self.prelogin.is_some() => {
                    info!(%peer, session, "closing: not logged in within {} ms", self.shared.config.limits.login_timeout_ms);
                    return End::Stop(Stop::close(CloseCode::Policy, "login timeout"));
                }
                read = stream.next(), if !backlogged => {
                    let message = match read {
                        Some(Ok(message)) => message,
                        Some(Err(e)) => {
                            *stream_ok = false;
                            return End::Stop(read_error(peer, session, e));
                        }
                        None => {
                            *stream_ok = false;
                            info!(%peer, session, "connection closed by the client");
                            return End::Stop(Stop::lost("connection closed"));
                        }
                    };
                    heartbeat.saw_life();
                    match message {
                        Message::Text(text) => {
                            if text.len() > self.shared.config.max_frame_bytes {
                                // Binary frames may be larger (see `binary_frame_limit`).
                                warn!(%peer, session, "closing: text frame too big: {} bytes", text.len());
                                return End::Stop(Stop::close(CloseCode::Size, "message too big"));
                            }
                            let counted = self.counting;
                            let stop = self.on_text(text.as_str()).await;
                            if let Some(taken) = self.take_over.take() {
                                return End::Resume(taken.0, taken.1);
                            }
                            if let Some(stop) = stop {
                                return End::Stop(stop);
                            }
                            if counted {
                                self.received += 1;
                                if self.received.is_multiple_of(crvideo_proto::RESUME_ACK_EVERY) {
                                    let _ = self.link.send_message(Message::Ping(self.ack_payload().into()));
                                }
                            }
                            // Handling may wait (the login backoff sleeps for seconds);
                            // meanwhile nothing was read nor pinged, so that time is not the
                            // client's silence: without this, a live client would be found
                            // dead right after a long request.
                            heartbeat.saw_life();
                        }
                        Message::Binary(data) => {
                            if let Some(stop) = self.on_binary(data) {
                                return End::Stop(stop);
                            }
                        }
                        Message::Close(frame) => {
                            debug!(%peer, session, "client closed the connection: {frame:?}");
                            return End::PeerClosed;
                        }
                        // Life, answered by tungstenite; a resumable client's ping says
                        // how many of our text frames it got (after its send time).
                        Message::Ping(payload) => {
                            if let Some(ack) = payload.get(8..16) {
                                let ack = u64::from_be_bytes(ack.try_into().expect("8 bytes"));
                                self.replay.lock().unwrap().ack(ack);
                            }
                        }
                        Message::Pong(_) | Message::Frame(_) => {}
                    }
                }
                _ = heartbeat.ping_due() => {
                    // A full queue stops the session (seen on the next turn).
                    let _ = self.link.send_message(Message::Ping(self.ack_payload().into()));
                }
                _ = sleep_until(dead_at) => {
                    if backlogged {
                        warn!(%peer, session, "replies not taken for {:?}: client not reading, dropping it", heartbeat.dead_after());
                        return End::Stop(Stop::abort("client not reading"));
                    }
                    warn!(%peer, session, "no heartbeat for {:?}: peer is dead, dropping it", heartbeat.dead_after());
                    return End::Stop(Stop::lost("heartbeat timeout"));
                }
            }
        }
    }
}

/// What to do after a read error: too big → 1009, bad UTF-8 → 1007, protocol violation →
/// 1002 (each logged at warn); I/O trouble → just drop the connection.
fn read_error(peer: SocketAddr, session: u64, e: WsError) -> Stop {
    match e {
        WsError::Capacity(c) => {
            warn!(%peer, session, "closing: frame too big: {c}");
            Stop::close(CloseCode::Size, "message too big")
        }
        WsError::Utf8 => {
            warn!(%peer, session, "closing: text frame is not valid UTF-8");
            Stop::close(CloseCode::Invalid, "invalid UTF-8")
        }
        // The TCP connection ended without a WebSocket goodbye: the network, not the client.
        WsError::Protocol(ProtocolError::ResetWithoutClosingHandshake) => {
            info!(%peer, session, "connection lost: reset without closing handshake");
            Stop::lost("connection reset")
        }
        WsError::Protocol(p) => {
            warn!(%peer, session, "closing: WebSocket protocol error: {p}");
            Stop::close(CloseCode::Protocol, "protocol error")
        }
        other => {
            info!(%peer, session, "connection lost: {other}");
            Stop::lost("connection lost")
        }
    }
}

/// The largest command frame: header, a 255-byte peer, [`crvideo_proto::MAX_CMD_BYTES`].
const MAX_COMMAND_FRAME_BYTES: usize = 1 + 8 + 1 + 255 + crvideo_proto::MAX_CMD_BYTES;

/// The largest WebSocket message accepted: `max_frame_bytes`, but at least a full-size
/// command, so `SendCmd` works whatever the setting. Text frames are held to
/// `max_frame_bytes` by the read loop.
fn binary_frame_limit(shared: &Shared) -> usize {
    shared.config.max_frame_bytes.max(MAX_COMMAND_FRAME_BYTES)
}

fn heartbeat_period(shared: &Shared) -> Duration {
    Duration::from_millis(shared.config.heartbeat_ms)
}

/// The closing handshake, bounded by `grace`.
async fn finish(
    link: &SessionLink,
    mut stream: WsStream,
    stream_ok: bool,
    writer: &mut JoinHandle<Option<WsSink>>,
    end: End,
    grace: Duration,
) {
    let deadline = Instant::now() + grace;
    match end {
        End::PeerClosed => {
            // Reading once more flushes tungstenite's queued Close reply; then it ends.
            let _ = timeout_at(deadline, stream.next()).await;
        }
        End::Stop(Stop::Abort { reason } | Stop::Lost { reason }) => {
            debug!(peer = %link.peer(), session = link.id(), "dropping connection: {reason}");
        }
        End::Resume(..) => unreachable!("a resume carries on"),
        End::Stop(Stop::Close { code, reason }) => {
            let frame = CloseFrame {
                code,
                reason: reason.as_ref().into(),
            };
            if !link.queue_close(frame) {
                return; // queue full: the client is not reading; just drop it
            }
            let sink = match timeout_at(deadline, &mut *writer).await {
                Ok(Ok(Some(sink))) => sink,
                _ => return,
            };
            if stream_ok {
                // Wait for the client's Close reply; the stream ends after it.
                while let Ok(Some(Ok(_))) = timeout_at(deadline, stream.next()).await {}
            } else if let Ok(mut ws) = stream.reunite(sink) {
                // The WebSocket reader gave up (e.g. a too-big frame): stop sending and
                // discard what the client still sends, so closing the socket with unread
                // data does not reset the connection before the Close frame is read.
                linger(ws.get_mut(), deadline).await;
            }
        }
    }
}

async fn linger(tcp: &mut Conn, deadline: Instant) {
    let _ = timeout_at(deadline, tcp.shutdown()).await;
    let mut buf = vec![0u8; 16 * 1024];
    while let Ok(Ok(n)) = timeout_at(deadline, tcp.read(&mut buf)).await {
        if n == 0 {
            break;
        }
    }
}
