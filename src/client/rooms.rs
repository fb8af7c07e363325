//! The meeting room (signalling): entering, leaving, members and their audio/video status,
//! text messages. The SDK keeps its own copy of the room, kept current by the server's
//! events, which `CRVideo_GetAllMembers` and the checks of the functions without a result
//! callback read.

use std::sync::Arc;

use crvideo_proto::{Event as WireEvent, ImSent, MediaKind, MemberInfo, Request, RoomState};
use parking_lot::Mutex;

use super::RequestSpec;
use crate::dispatch::Event;
use crate::ErrorCode;

/// The SDK's copy of the room this user is in.
#[derive(Debug, Default)]
pub struct RoomCache {
    /// This user's ID while logged in.
    pub me: String,
    /// The room, while in one.
    pub room: Option<Room>,
}

#[derive(Debug, Clone)]
pub struct Room {
    pub meet_id: i32,
    pub creator: String,
    /// In order of entry.
    pub members: Vec<MemberInfo>,
}

pub type SharedRoomCache = Arc<Mutex<RoomCache>>;

impl RoomCache {
    /// The members as a JSON array of MemberInfo; `[]` when not in a meeting.
    pub fn members_json(&self) -> String {
        let members = self
            .room
            .as_ref()
            .map(|r| r.members.as_slice())
            .unwrap_or_default();
        serde_json::to_string(members).expect("members serialise")
    }

    /// Checks an audio/video change against the copy: `Ok(false)` when it would change
    /// nothing (no request is sent then).
    pub fn check_media(
        &self,
        user_id: &str,
        kind: MediaKind,
        status: i32,
    ) -> Result<bool, ErrorCode> {
        let room = self.room.as_ref().ok_or(ErrorCode::NotInMeeting)?;
        let member = room
            .members
            .iter()
            .find(|m| m.user_id == user_id)
            .ok_or(ErrorCode::ParamErr)?;
        if user_id != self.me && self.me != room.creator {
            return Err(ErrorCode::ApiNoPermission);
        }
        let current = match kind {
            MediaKind::Audio => member.audio_status,
            MediaKind::Video => member.video_status,
        };
        Ok(current != status)
    }

    /// Checks an IM against the copy: in a meeting, and `to` empty or another member.
    pub fn check_im(&self, to: &str) -> Result<(), ErrorCode> {
        let room = self.room.as_ref().ok_or(ErrorCode::NotInMeeting)?;
        if !to.is_empty() && (to == self.me || !room.members.iter().any(|m| m.user_id == to)) {
            return Err(ErrorCode::ParamErr);
        }
        Ok(())
    }
}

fn parse<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T, i32> {
    serde_json::from_value(data).map_err(|_| ErrorCode::RspDatErr.code())
}

/// `CRVideo_EnterMeeting`: the copy is filled from the reply, then EnterMeetingRslt(0).
pub fn enter(cache: SharedRoomCache, meet_id: i32, pswd: String) -> RequestSpec {
    RequestSpec::new(Request::EnterMeeting { meet_id, pswd }, move |_, result| {
        let code = match result.and_then(parse::<RoomState>) {
            Ok(state) => {
                cache.lock().room = Some(Room {
                    meet_id: state.meet_id,
                    creator: state.creator,
                    members: state.members,
                });
                0
            }
            Err(code) => code,
        };
        Some(Event::EnterMeetingRslt { code })
    })
}

/// `CRVideo_ExitMeeting`: the copy is already cleared; nothing is reported.
pub fn exit() -> RequestSpec {
    RequestSpec::new(Request::ExitMeeting, |_, result| {
        if let Err(code) = result {
            tracing::debug!(code, "exit meeting refused");
        }
        None
    })
}

/// `CRVideo_StopMeeting`.
pub fn stop(cache: SharedRoomCache) -> RequestSpec {
    RequestSpec::new(Request::StopMeeting, move |_, result| {
        let code = result.err().unwrap_or(0);
        if code == 0 {
            cache.lock().room = None;
        }
        Some(Event::StopMeetingRslt { code })
    })
}

/// `CRVideo_OpenMic` & co.: no result callback; a refusal (a race with the room's changes)
/// is only logged, and the copy changes with the server's event.
pub fn set_media(user_id: String, kind: MediaKind, status: i32) -> RequestSpec {
    RequestSpec::new(
        Request::SetMedia {
            user_id,
            kind,
            status,
        },
        |_, result| {
            if let Err(code) = result {
                tracing::info!(code, "media change refused by the server");
            }
            None
        },
    )
}

/// `CRVideo_SendIMmsg`.
pub fn send_im(task_id: String, text: String, to: String, cookie: String) -> RequestSpec {
    RequestSpec::new(Request::SendIm { text, to }, move |_, result| {
        let code = result.and_then(parse::<ImSent>).err().unwrap_or(0);
        Some(Event::SendIMmsgRlst {
            task_id,
            code,
            cookie,
        })
    })
}

/// The app event for a room event from the server (updating the copy); `Err` gives back
/// other events.
pub fn on_event(cache: &SharedRoomCache, event: WireEvent) -> Result<Option<Event>, WireEvent> {
    let mut cache = cache.lock();
    Ok(match event {
        WireEvent::MemberEntered(member) => {
            let user_id = member.user_id.clone();
            let room = cache.room.as_mut();
            room.map(|r| {
                r.members.retain(|m| m.user_id != member.user_id);
                r.members.push(member);
                Event::UserEnterMeeting { user_id }
            })
        }
        WireEvent::MemberLeft { user_id } => cache.room.as_mut().map(|r| {
            r.members.retain(|m| m.user_id != user_id);
            Event::UserLeftMeeting { user_id }
        }),
        WireEvent::MeetingStopped => cache.room.take().map(|_| Event::MeetingStopped),
        WireEvent::MediaChanged {
            user_id,
            kind,
            old,
            new,
        } => {
            if let Some(member) = cache
                .room
                .as_mut()
                .and_then(|r| r.members.iter_mut().find(|m| m.user_id == user_id))
            {
                match kind {
                    MediaKind::Audio => member.audio_status = new,
                    MediaKind::Video => member.video_status = new,
                }
            }
            Some(match kind {
                MediaKind::Audio => Event::AudioStatusChanged { user_id, old, new },
                MediaKind::Video => Event::VideoStatusChanged { user_id, old, new },
            })
        }
        WireEvent::Im {
            from,
            text,
            send_time,
        } => Some(Event::NotifyIMmsg {
            from,
            text,
            send_time,
        }),
        other => return Err(other),
    })
}
