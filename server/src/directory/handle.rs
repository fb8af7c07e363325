//! [`SessionHandle`]: a logged-in session as the services see it — who it is (tenant, user,
//! nickname) and the way to send to it.

use std::net::SocketAddr;
use std::sync::Arc;

use crvideo_proto::{ErrorCode, Event, ServerFrame};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::outbound::{MediaSent, QueuedBytes, SessionGone, SessionId, SessionLink, Stop};

/// A logged-in session: who it is and how to reach it.
#[derive(Clone)]
pub struct SessionHandle {
    pub(super) link: SessionLink,
    tenant: Arc<str>,
    user_id: Arc<str>,
    /// The nickname given at login.
    nickname: Arc<str>,
}

impl SessionHandle {
    pub fn new(
        link: SessionLink,
        tenant: Arc<str>,
        user_id: Arc<str>,
        nickname: Arc<str>,
    ) -> SessionHandle {
        SessionHandle {
            link,
            tenant,
            user_id,
            nickname,
        }
    }

    /// The link that reaches the session.
    pub(crate) fn link(&self) -> &SessionLink {
        &self.link
    }

    /// Whether the session is connected to another node (a mirror, in cluster mode).
    pub fn is_remote(&self) -> bool {
        self.link.is_remote()
    }

    pub fn session_id(&self) -> SessionId {
        self.link.id()
    }

    pub fn tenant(&self) -> &str {
        &self.tenant
    }

    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The nickname given at login (shown to queue agents).
    pub fn nickname(&self) -> &str {
        &self.nickname
    }

    pub fn tenant_arc(&self) -> Arc<str> {
        self.tenant.clone()
    }

    pub fn user_id_arc(&self) -> Arc<str> {
        self.user_id.clone()
    }

    pub fn peer(&self) -> SocketAddr {
        self.link.peer()
    }

    /// What this session has queued for sending.
    pub fn queued_bytes(&self) -> QueuedBytes {
        self.link.queued_bytes()
    }

    /// Queues a frame for this session's client (never blocks).
    pub fn send(&self, frame: &ServerFrame) -> Result<(), SessionGone> {
        self.link.send(frame)
    }

    /// Queues a raw message in the control lane (never blocks; a full queue ends the session).
    pub fn send_message(&self, message: Message) -> Result<(), SessionGone> {
        self.link.send_message(message)
    }

    /// Queues a message in the bulk lane, behind every queued control frame (never blocks; a
    /// full lane ends the session).
    pub fn send_bulk(&self, message: Message) -> Result<(), SessionGone> {
        self.link.send_bulk(message)
    }

    /// Queues a video frame in the media lane (never blocks; a full lane drops the frame).
    pub fn send_media(&self, message: Message) -> Result<MediaSent, SessionGone> {
        self.link.send_media(message)
    }

    /// Queues an audio packet in the media lane (never blocks; a full lane drops it, and so
    /// does the writer when it waited too long).
    pub fn send_audio(&self, message: Message) -> Result<MediaSent, SessionGone> {
        self.link.send_audio(message)
    }

    /// Ends the session: the client is told why (`Event::Kicked { code }`), then closed.
    pub fn kick(&self, code: ErrorCode) {
        let _ = self.send(&ServerFrame::Event(Event::Kicked { code: code.code() }));
        let reason = match code {
            ErrorCode::KickoutByRelogin => "logged in elsewhere",
            _ => "kicked",
        };
        self.link.stop(Stop::close(CloseCode::Normal, reason));
    }
}
