//! The engine task: session state machine, request/reply correlation and timeouts.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use crvideo_proto::data::MEDIA_VIDEO;
use crvideo_proto::{encode, ClientFrame, Event as WireEvent, Request, ServerFrame};
use tokio::sync::mpsc::{Receiver, UnboundedReceiver, UnboundedSender};
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::Message;

use super::connection::{Connection, Lanes, Link};
use super::handshake::{connect_and_login, FIRST_SESSION_REQUEST_ID};
use super::pending::{Pending, ReplyHandler};
use super::{calls, presence, Command, Internal, RequestSpec, SessionLocal};
use crate::dispatch::{Dispatcher, Event};
use crate::ErrorCode;

pub(super) enum State {
    Idle,
    LoggingIn {
        attempt: u64,
        cookie: String,
        task: JoinHandle<()>,
    },
    Online {
        conn: Connection,
    },
    /// The connection was lost; a task is resuming the session (see [`super::resume`]).
    Reconnecting {
        attempt: u64,
        task: JoinHandle<()>,
    },
}

/// The engine's settings, from the Init parameters.
pub struct EngineConfig {
    pub request_timeout: Duration,
    /// Where received files land.
    pub tmp_dir: PathBuf,
    /// Largest buffer this SDK sends or accepts.
    pub max_buffer_bytes: u64,
    /// The queue data the API's getters read.
    pub queues: super::queues::SharedQueueCache,
    /// The SDK's copy of the meeting room.
    pub rooms: super::rooms::SharedRoomCache,
    /// The TLS settings for `wss://` servers, made at the first use.
    pub tls: super::handshake::TlsSettings,
    /// How long a lost session may be resumed (`resumeWindowMs`; zero: never).
    pub resume_window: Duration,
    /// The SDK's video (cameras and received videos).
    pub video: Arc<crate::video::Video>,
    /// The SDK's audio (microphone, speaker mix, levels).
    pub audio: Arc<crate::audio::Audio>,
    /// The file IDs with a net-disk transfer (the API refuses a second one at once).
    pub netdisk: super::ActiveDiskFiles,
    /// The local recording (it stops when the meeting is left).
    pub recorder: Arc<crate::record::Recorder>,
    /// Shared media playback (this user's player).
    pub media: Arc<crate::media::Media>,
}

pub struct Engine {
    pub(crate) config: EngineConfig,
    pub(crate) events: Arc<Dispatcher>,
    pub(crate) internal: UnboundedSender<Internal>,
    /// Mirrors "state is Online" for API calls that refuse at once with NOT_LOGIN.
    online: Arc<AtomicBool>,
    pub(super) state: State,
    pub(crate) local: SessionLocal,
    pending: Pending,
    next_request_id: u64,
    pub(super) next_attempt: u64,
    /// The session's control lane and replay, while logged in (they outlive connections).
    lanes: Option<Lanes>,
    /// The server the session is on (a resume goes back to it).
    pub(super) server: Option<crate::params::ServerAddr>,
    /// Writers of logged-out connections still flushing their goodbye (each ends within
    /// CLOSE_FLUSH); Shutdown waits for them so the server sees a clean close.
    closing: Vec<JoinHandle<()>>,
    /// The current connection's quality, for `NetStateChanged`.
    pub(super) net: super::net_state::NetState,
}

impl Engine {
    pub fn new(
        config: EngineConfig,
        events: Arc<Dispatcher>,
        internal: UnboundedSender<Internal>,
        online: Arc<AtomicBool>,
    ) -> Engine {
        Engine {
            config,
            events,
            internal,
            online,
            state: State::Idle,
            local: SessionLocal::default(),
            pending: Pending::default(),
            net: Default::default(),
            next_request_id: FIRST_SESSION_REQUEST_ID,
            next_attempt: 0,
            lanes: None,
            server: None,
            closing: Vec::new(),
        }
    }

    /// Runs until `Shutdown` (or every API handle is gone), then ends the session.
    pub async fn run(
        mut self,
        mut commands: Receiver<Command>,
        mut internal: UnboundedReceiver<Internal>,
    ) {
        // Partial files of receivers that crashed earlier in this tmpDir (off this thread).
        let tmp_dir = self.config.tmp_dir.clone();
        tokio::task::spawn_blocking(move || {
            super::transfer::names::remove_stale_partials(&tmp_dir)
        });
        loop {
            let deadline = self.pending.next_deadline();
            tokio::select! {
                command = commands.recv() => match command {
                    Some(Command::Shutdown) | None => break,
                    Some(command) => self.on_command(command),
                },
                Some(report) = internal.recv() => self.on_internal(report),
                _ = sleep_until(deadline), if deadline.is_some() => {
                    let expired = self.pending.expired(std::time::Instant::now());
                    self.finish(expired, ErrorCode::NoServerRsp);
                }
                _ = self.events.data_consumed.notified(), if self.local.transfers.has_held() => {
                    self.release_held();
                }
            }
            // The room copy may have changed (entered, left): video and audio follow it.
            self.config.video.follow_room();
            self.config.audio.follow_room();
            self.config.recorder.follow_room();
            self.config.media.follow_room();
        }
        let writer = self.end_session(ErrorCode::NotLogin, None);
        self.closing.extend(writer);
        for writer in self.closing.drain(..) {
            let _ = writer.await;
        }
    }

    fn on_command(&mut self, command: Command) {
        match command {
            Command::Login {
                servers,
                login,
                cookie,
            } => {
                if !matches!(self.state, State::Idle) {
                    self.events.push(Event::LoginFail {
                        sdk_err: ErrorCode::LoginStateError.code(),
                        cookie,
                    });
                    return;
                }
                self.next_attempt += 1;
                let attempt = self.next_attempt;
                let internal = self.internal.clone();
                let budget = self.config.request_timeout;
                let tls = self.config.tls.clone();
                let task = tokio::spawn(async move {
                    let result = connect_and_login(&servers, login, budget, &tls)
                        .await
                        .map(Box::new);
                    let _ = internal.send(Internal::LoginDone { attempt, result });
                });
                self.state = State::LoggingIn {
                    attempt,
                    cookie,
                    task,
                };
            }
            Command::Logout { done } => {
                let code = match self.state {
                    State::Idle => ErrorCode::NotLogin.code(),
                    _ => {
                        let writer = self.end_session(ErrorCode::NotLogin, None);
                        self.closing.retain(|w| !w.is_finished());
                        self.closing.extend(writer);
                        0
                    }
                };
                let _ = done.send(code);
            }
            Command::Request(spec) => self.request(spec),
            Command::NetDisk(command) => self.on_netdisk_command(command),
            Command::SendCmd {
                task_id,
                target,
                payload,
                cookie,
            } => self.send_cmd(task_id, target, payload, cookie),
            Command::SendBulk {
                task_id,
                target,
                kind,
                name,
                outgoing,
            } => self.send_bulk(task_id, target, kind, name, *outgoing),
            Command::CancelSend { task_id } => self.cancel_send(task_id),
            Command::Shutdown => unreachable!("handled by run"),
        }
    }

    /// Sends a request of the logged-in session; its handler runs exactly once.
    pub(crate) fn request(&mut self, RequestSpec { request, handler }: RequestSpec) {
        self.request_with(handler, |id| {
            Message::text(encode(&ClientFrame { id, request }))
        });
    }

    /// Sends the frame `message(id)` for a new request id, answered like a request (the
    /// server replies to that id); `handler` runs exactly once.
    pub(crate) fn request_with(
        &mut self,
        handler: ReplyHandler,
        message: impl FnOnce(u64) -> Message,
    ) {
        // While reconnecting it waits in the session's lane for the next connection.
        let Some(lanes) = &self.lanes else {
            self.finish(vec![handler], ErrorCode::NotLogin);
            return;
        };
        let id = self.next_request_id;
        self.next_request_id += 1;
        if !lanes.send(message(id)) {
            self.finish(vec![handler], ErrorCode::SendFail);
            return;
        }
        let deadline = std::time::Instant::now() + self.config.request_timeout;
        self.pending.insert(id, deadline, handler);
    }

    /// The session's lanes, while logged in (also while reconnecting).
    pub(super) fn lanes(&self) -> Option<&Lanes> {
        self.lanes.as_ref()
    }

    /// The current connection's lanes, when online.
    pub(crate) fn link(&self) -> Option<&Link> {
        match &self.state {
            State::Online { conn } => Some(&conn.link),
            _ => None,
        }
    }

    /// The server's frame limit, when online.
    pub(crate) fn max_frame_bytes(&self) -> Option<usize> {
        match &self.state {
            State::Online { conn } => Some(conn.max_frame_bytes),
            _ => None,
        }
    }

    /// Ends requests that will get no reply: each handler runs with `code`.
    fn finish(&mut self, handlers: Vec<ReplyHandler>, code: ErrorCode) {
        for handler in handlers {
            self.events
                .extend(handler(&mut self.local, Err(code.code())));
        }
    }

    fn on_internal(&mut self, report: Internal) {
        match report {
            Internal::LoginDone { attempt, result } => {
                let State::LoggingIn {
                    attempt: current, ..
                } = &self.state
                else {
                    return;
                };
                if *current != attempt {
                    return;
                }
                let State::LoggingIn { cookie, .. } =
                    std::mem::replace(&mut self.state, State::Idle)
                else {
                    unreachable!()
                };
                match result {
                    Ok(established) => {
                        let super::handshake::Established {
                            ws,
                            hello,
                            login,
                            server,
                        } = *established;
                        let user_id = login.user_id;
                        tracing::info!(%server, %user_id, "logged in");
                        let lanes = Lanes::new();
                        let internal = self.internal.clone();
                        let conn = Connection::start(attempt, ws, &hello, internal, &lanes, vec![]);
                        self.config.video.set_uplink(
                            Some(crate::video::Uplink {
                                control: lanes.clone(),
                                media: crate::video::MediaLane::new(
                                    lanes.media.clone(),
                                    hello.max_frame_bytes,
                                ),
                            }),
                            false,
                        );
                        self.config
                            .audio
                            .set_uplink(Some(lanes.media.clone()), false);
                        self.lanes = Some(lanes);
                        self.server = Some(server);
                        self.state = State::Online { conn };
                        self.net = Default::default();
                        self.config.rooms.lock().me = user_id.clone();
                        self.online.store(true, Ordering::SeqCst);
                        self.events.push(Event::LoginSuccess {
                            usr_id: user_id,
                            cookie,
                        });
                        self.enable_resume();
                    }
                    Err(code) => self.events.push(Event::LoginFail {
                        sdk_err: code,
                        cookie,
                    }),
                }
            }
            Internal::Frame { conn, frame } => {
                if !self.is_current(conn) {
                    return;
                }
                // Counted whatever it is (the server counts what it wrote); the reply that
                // enables counting is itself not counted.
                if self.local.counting_received {
                    if let Some(lanes) = &self.lanes {
                        let n = lanes.received.fetch_add(1, Ordering::Relaxed) + 1;
                        if n % crvideo_proto::RESUME_ACK_EVERY == 0 {
                            lanes.send(lanes.ack_ping());
                        }
                    }
                }
                match frame {
                    ServerFrame::Reply(reply) => {
                        let result = if reply.code == 0 {
                            Ok(reply.data)
                        } else {
                            Err(reply.code)
                        };
                        if let Some(handler) = self.pending.take(reply.re) {
                            self.events.extend(handler(&mut self.local, result));
                        }
                    }
                    ServerFrame::Event(event) => self.on_server_event(event),
                }
            }
            Internal::Data { conn, data } => {
                if self.is_current(conn) {
                    self.on_data(data);
                }
            }
            Internal::UploadDone {
                transfer_id,
                result,
            } => self.on_upload_done(transfer_id, result),
            Internal::SinkConsumed { transfer_id, bytes } => {
                self.on_sink_consumed(transfer_id, bytes)
            }
            Internal::SinkFinished {
                transfer_id,
                result,
            } => self.on_sink_finished(transfer_id, result),
            Internal::NetDisk(report) => self.on_netdisk_report(report),
            Internal::Closed { conn, reason } => {
                if self.is_current(conn) {
                    tracing::warn!("connection lost: {reason}");
                    let State::Online { conn } = std::mem::replace(&mut self.state, State::Idle)
                    else {
                        unreachable!("current means online")
                    };
                    if !self.start_resume(conn) {
                        self.line_off(ErrorCode::ConnectionLost);
                    }
                }
            }
            Internal::Acked { conn, received } => {
                if let (true, Some(lanes)) = (self.is_current(conn), &self.lanes) {
                    lanes.replay.lock().ack(received);
                }
            }
            Internal::Resumed { attempt, result } => self.on_resumed(attempt, result),
            Internal::PingSent { conn } => {
                if self.is_current(conn) {
                    self.net.ping_sent();
                    self.report_net_state();
                }
            }
            Internal::Pong { conn, rtt } => {
                if self.is_current(conn) {
                    self.net.pong(rtt);
                    self.report_net_state();
                }
            }
        }
    }

    /// Routes an event of the server to its part, by one match on its kind.
    fn on_server_event(&mut self, event: WireEvent) {
        use WireEvent as W;
        match event {
            W::Kicked { code } => {
                let code = ErrorCode::from_code(code).unwrap_or(ErrorCode::ForcedCloseConnection);
                tracing::warn!("session ended by the server: {code}");
                self.line_off(code);
            }
            W::UserStatus(status) => {
                self.events
                    .extend(presence::on_user_status(&self.local, status));
            }
            W::CallIn { .. }
            | W::CallAccepted { .. }
            | W::CallRejected { .. }
            | W::CallHungup { .. }
            | W::InviteStatus { .. } => self.events.extend(calls::on_event(event)),
            W::TransferOffered { .. }
            | W::TransferCredit { .. }
            | W::TransferEnd { .. }
            | W::TransferResult { .. }
            | W::TransferCancelled { .. } => self.on_transfer_event(event),
            W::QueueStatus(_)
            | W::QueuingInfo(_)
            | W::AutoAssignUser(_)
            | W::CancelAssignUser { .. } => self
                .events
                .extend(super::queues::on_event(&self.config.queues, event)),
            W::MemberEntered(_)
            | W::MemberLeft { .. }
            | W::MeetingStopped
            | W::MeetingDropped
            | W::MediaChanged { .. }
            | W::Im { .. }
            | W::ShareStarted { .. }
            | W::ShareStopped { .. }
            | W::CtrlRight { .. }
            | W::Page(_)
            | W::VideoWallMode { .. }
            | W::MainVideo(_)
            | W::MediaStarted { .. }
            | W::MediaPaused { .. }
            | W::MediaPos { .. }
            | W::MediaStopped { .. } => {
                match &event {
                    W::MemberLeft { user_id } => self.config.video.on_member_left(user_id),
                    W::ShareStopped { user_id } => self.config.video.on_share_stopped(user_id),
                    W::MediaStopped { user_id, .. } => {
                        self.config.video.on_media_stopped(user_id);
                        self.config.audio.end_media(user_id);
                    }
                    _ => {}
                }
                self.events
                    .extend(super::rooms::on_event(&self.config.rooms, event))
            }
            W::NetdiskProgress { file_id, received } => self.on_disk_progress(&file_id, received),
            W::NetdiskUploadResult { file_id, code } => self.on_disk_upload_result(file_id, code),
            W::VideoDevs(cams) => self.config.video.on_member_videos(cams),
            W::KeyFrameRequest { video_id } if video_id == MEDIA_VIDEO => {
                self.config.media.force_key()
            }
            W::KeyFrameRequest { video_id } => self.config.video.on_key_frame_request(video_id),
            W::BoardCreated { .. }
            | W::BoardClosed { .. }
            | W::Element { .. }
            | W::ElementsDeleted { .. }
            | W::MouseHotSpot { .. }
            | W::BoardBkImage { .. } => self
                .events
                .extend(super::rooms::on_board_event(&self.config.rooms, event)),
            W::Unknown => tracing::debug!("ignoring an unknown server event"),
        }
    }

    /// `NetStateChanged` when the level changed while in a meeting.
    fn report_net_state(&mut self) {
        let meeting = self.config.rooms.lock().room.as_ref().map(|r| r.entry);
        if let Some(level) = self.net.level_to_report(meeting) {
            self.events.push(Event::NetStateChanged { level });
        }
    }

    fn is_current(&self, conn: u64) -> bool {
        matches!(&self.state, State::Online { conn: c } if c.id == conn)
    }

    /// The session ended without Logout: MeetingDropped (when in a meeting), LineOff, then
    /// every pending request fails.
    pub(super) fn line_off(&mut self, code: ErrorCode) {
        if self.config.rooms.lock().room.take().is_some() {
            self.events.push(Event::MeetingDropped);
        }
        drop(self.end_session(
            code,
            Some(Event::LineOff {
                sdk_err: code.code(),
            }),
        ));
    }

    /// Returns to Idle. A login in progress fails with `NOT_LOGIN`; pending requests fail
    /// with `code` after `announce`. An online session says `logout` to the server first.
    /// Returns the closing writer, for a caller that wants to wait for the flush.
    fn end_session(&mut self, code: ErrorCode, announce: Option<Event>) -> Option<JoinHandle<()>> {
        let announce_none = announce.is_none();
        let writer = match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle => None,
            State::LoggingIn { cookie, task, .. } => {
                task.abort();
                self.events.push(Event::LoginFail {
                    sdk_err: ErrorCode::NotLogin.code(),
                    cookie,
                });
                None
            }
            State::Online { conn } => {
                if announce.is_none() {
                    let id = self.next_request_id;
                    self.next_request_id += 1;
                    conn.send(Message::text(encode(&ClientFrame {
                        id,
                        request: Request::Logout,
                    })));
                }
                Some(conn.close())
            }
            // A Logout (or Uninit) while reconnecting tries once to tell the server, which
            // would otherwise keep the session (online) until its resume window passes.
            State::Reconnecting { task, .. } => {
                task.abort();
                match announce {
                    None => self.resume_goodbye(),
                    Some(_) => None,
                }
            }
        };
        // The writer says goodbye once the session's lane is closed.
        self.lanes = None;
        self.server = None;
        self.online.store(false, Ordering::SeqCst);
        self.events.extend(announce);
        let pending = self.pending.drain();
        self.finish(pending, code);
        self.end_transfers(code);
        self.end_netdisk();
        self.config.queues.lock().end_session();
        *self.config.rooms.lock() = Default::default();
        // A Logout or Uninit (nothing announced) also ends the cameras and the audio taps.
        self.config.video.set_uplink(None, announce_none);
        self.config.video.follow_room();
        self.config.audio.set_uplink(None, announce_none);
        self.config.audio.follow_room();
        self.config.recorder.follow_room();
        self.config.media.follow_room();
        self.local = SessionLocal::default();
        writer
    }
}

async fn sleep_until(deadline: Option<std::time::Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline.into()).await,
        None => std::future::pending().await,
    }
}
