//! One live meeting room: its members in order of entry, and its shared state (signals,
//! whiteboards).

use crvideo_proto::{encode, Event, MemberInfo, RoomState, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

use super::boards::Boards;
use super::member_video::MemberVideo;
use super::signals::Signals;
use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;

/// One member of a room.
pub(super) struct Member {
    pub handle: SessionHandle,
    pub info: MemberInfo,
    pub video: MemberVideo,
}

/// The live state of one meeting.
pub(super) struct Room {
    meet_id: i32,
    /// The meeting's creator (from the store): may stop the room and set others' media.
    pub creator: String,
    /// In order of entry.
    pub members: Vec<Member>,
    pub signals: Signals,
    pub boards: Boards,
}

impl Room {
    /// The room of meeting `meet_id` by `creator`, before its first member enters.
    pub fn new(meet_id: i32, creator: String) -> Room {
        Room {
            meet_id,
            creator,
            members: Vec::new(),
            signals: Signals::default(),
            boards: Boards::default(),
        }
    }

    pub fn position(&self, session: SessionId) -> Option<usize> {
        self.members
            .iter()
            .position(|m| m.handle.session_id() == session)
    }

    pub fn member_by_user(&self, user_id: &str) -> Option<usize> {
        self.members.iter().position(|m| m.info.user_id == user_id)
    }

    /// Sends `event` to every member except `except`: encoded once, and every member's
    /// copy shares those bytes (as presence's fan-out does).
    pub fn broadcast(&self, event: Event, except: Option<SessionId>) {
        let message = Message::text(encode(&ServerFrame::Event(event)));
        for m in &self.members {
            if Some(m.handle.session_id()) != except {
                let _ = m.handle.send_message(message.clone());
            }
        }
    }

    /// What a member entering is told of the room.
    pub fn state(&self) -> RoomState {
        RoomState {
            meet_id: self.meet_id,
            creator: self.creator.clone(),
            members: self.members.iter().map(|m| m.info.clone()).collect(),
            sharer: self.signals.sharer.clone(),
            ctrl: self.signals.ctrl.clone(),
            page: self.signals.page.clone(),
            wall_mode: self.signals.wall_mode,
            main_video: self.signals.main_video.clone(),
            boards: self.boards.state(),
            videos: self
                .members
                .iter()
                .filter(|m| !m.video.cams.devs.is_empty())
                .map(|m| m.video.cams.clone())
                .collect(),
            media: self.signals.media.clone(),
        }
    }
}
