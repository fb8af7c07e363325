//! The meeting room (signalling): entering, leaving, members and their audio/video status,
//! text messages, screen share, control right, page, video wall, main video, whiteboards
//! (see [`super::boards`]). The SDK keeps its own copy of the room, kept current by the
//! server's events, which `CRVideo_GetAllMembers` and the checks of the functions without a
//! result callback read.

use std::sync::Arc;

use crvideo_proto::{
    BoardObj, Event as WireEvent, ImSent, MainVideo, MediaKind, MediaPlay, MemberInfo,
    MemberVideos, PageState, Request, RoomState, MAINPAGE_MAX,
};
use parking_lot::Mutex;

use super::boards::BoardsCopy;
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
    /// Meetings entered so far (numbers [`Room::entry`]).
    pub entries: u64,
}

#[derive(Debug, Clone)]
pub struct Room {
    /// Which entry of this SDK instance this is (1, 2, ...): tells two stays apart.
    pub entry: u64,
    pub meet_id: i32,
    pub creator: String,
    /// In order of entry.
    pub members: Vec<MemberInfo>,
    /// The member sharing their screen.
    pub sharer: Option<String>,
    /// The members holding the sharer's control right.
    pub ctrl: Vec<String>,
    pub boards: BoardsCopy,
    /// The members' cameras on entry, until the video takes them (`Video::follow_room`).
    pub videos: Vec<MemberVideos>,
    /// The media a member plays to the meeting.
    pub media: Option<MediaPlay>,
}

impl Room {
    fn is_member(&self, user_id: &str) -> bool {
        self.members.iter().any(|m| m.user_id == user_id)
    }

    /// `sharer`'s share ended (if theirs is the one in the copy): control rights go with it.
    fn end_share(&mut self, sharer: &str) {
        if self.sharer.as_deref() == Some(sharer) {
            self.sharer = None;
            self.ctrl.clear();
        }
    }
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
        let room = self.room()?;
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
        let room = self.room()?;
        if !to.is_empty() && (to == self.me || !room.is_member(to)) {
            return Err(ErrorCode::ParamErr);
        }
        Ok(())
    }

    /// The room, or `NOT_INMEETING`.
    pub fn room(&self) -> Result<&Room, ErrorCode> {
        self.room.as_ref().ok_or(ErrorCode::NotInMeeting)
    }

    /// The room, or `NOT_INMEETING`.
    pub fn room_mut(&mut self) -> Result<&mut Room, ErrorCode> {
        self.room.as_mut().ok_or(ErrorCode::NotInMeeting)
    }

    /// Checks giving (`give`) or taking back `user_id`'s control right against the copy:
    /// `Ok(false)` when it would change nothing.
    pub fn check_ctrl(&self, user_id: &str, give: bool) -> Result<bool, ErrorCode> {
        let room = self.room()?;
        if room.sharer.as_deref() != Some(self.me.as_str()) {
            return Err(ErrorCode::ApiNoPermission);
        }
        if user_id == self.me || !room.is_member(user_id) {
            return Err(ErrorCode::ParamErr);
        }
        Ok(room.ctrl.iter().any(|c| c == user_id) != give)
    }

    /// Checks a page switch against the copy.
    pub fn check_page(&self, main_page: i32) -> Result<(), ErrorCode> {
        self.room()?;
        if !(0..=MAINPAGE_MAX).contains(&main_page) {
            return Err(ErrorCode::ParamErr);
        }
        Ok(())
    }

    /// Checks a main-video change against the copy.
    pub fn check_main_video(&self, user_id: &str) -> Result<(), ErrorCode> {
        if !self.room()?.is_member(user_id) {
            return Err(ErrorCode::ParamErr);
        }
        Ok(())
    }
}

fn parse<T: serde::de::DeserializeOwned>(data: serde_json::Value) -> Result<T, i32> {
    serde_json::from_value(data).map_err(|_| ErrorCode::RspDatErr.code())
}

/// `CRVideo_EnterMeeting`: the copy is filled from the reply, then EnterMeetingRslt(0)
/// followed by the room's shared state as notifications.
pub fn enter(cache: SharedRoomCache, meet_id: i32, pswd: String) -> RequestSpec {
    RequestSpec::new(Request::EnterMeeting { meet_id, pswd }, move |_, result| {
        let state = match result.and_then(parse::<RoomState>) {
            Ok(state) => state,
            Err(code) => return Some(Event::EnterMeetingRslt { sdk_err: code }),
        };
        let (boards, board_events) = BoardsCopy::from_state(&state.boards);
        let mut events = vec![Event::EnterMeetingRslt { sdk_err: 0 }];
        events.extend(board_events);
        events.extend(state_events(&state));
        let mut cache = cache.lock();
        cache.entries += 1;
        cache.room = Some(Room {
            entry: cache.entries,
            meet_id: state.meet_id,
            creator: state.creator,
            members: state.members,
            sharer: state.sharer,
            ctrl: state.ctrl,
            boards,
            videos: state.videos,
            media: state.media,
        });
        Some(Event::Batch(events))
    })
}

/// The notifications that bring an entrant's app to the room's shared state (after the
/// boards').
fn state_events(state: &RoomState) -> Vec<Event> {
    let mut events = Vec::new();
    if let Some(sharer) = &state.sharer {
        events.push(Event::NotifyScreenShareStarted);
        events.extend(state.ctrl.iter().map(|target| Event::NotifyGiveCtrlRight {
            oper_id: sharer.clone(),
            target_id: target.clone(),
        }));
    }
    if let Some(PageState { main_page, page_id }) = state.page.clone() {
        events.push(Event::NotifySwitchToPage { main_page, page_id });
    }
    if let Some(mode) = state.wall_mode {
        events.push(Event::NotifyVideoWallMode { mode });
    }
    if let Some(MainVideo { oper, target }) = state.main_video.clone() {
        events.push(Event::NotifyMainVideoChanged {
            oper_id: oper,
            target_id: target,
        });
    }
    if let Some(media) = &state.media {
        let user_id = media.user_id.clone();
        events.push(Event::NotifyMediaStart {
            user_id: user_id.clone(),
        });
        if media.paused {
            events.push(Event::NotifyMediaPause { user_id, pause: 1 });
        }
    }
    events
}

/// `CRVideo_StartScreenShare`: this user is the sharer in the copy once the server agreed.
pub fn start_share(cache: SharedRoomCache) -> RequestSpec {
    RequestSpec::new(Request::StartScreenShare, move |_, result| {
        let code = result.err().unwrap_or(0);
        if code == 0 {
            let mut cache = cache.lock();
            let me = cache.me.clone();
            if let Some(room) = cache.room.as_mut() {
                room.sharer = Some(me);
            }
        }
        Some(Event::StartScreenShareRslt { sdk_err: code })
    })
}

/// `CRVideo_StopScreenShare`.
pub fn stop_share(cache: SharedRoomCache) -> RequestSpec {
    RequestSpec::new(Request::StopScreenShare, move |_, result| {
        let code = result.err().unwrap_or(0);
        if code == 0 {
            let mut cache = cache.lock();
            let me = cache.me.clone();
            if let Some(room) = cache.room.as_mut() {
                room.end_share(&me);
            }
        }
        Some(Event::StopScreenShareRslt { sdk_err: code })
    })
}

/// Control right, page, video wall, main video: no result callback; a refusal (a race with
/// the room's changes) is only logged, and the copy changes with the server's events.
pub fn signal(request: Request) -> RequestSpec {
    RequestSpec::new(request, |_, result| {
        if let Err(code) = result {
            tracing::info!(code, "room signal refused by the server");
        }
        None
    })
}

/// `CRVideo_CreateBoard` (the board is pending in the copy): no result callback; if the
/// server refuses it (a race with the room's changes), it leaves the copy and is logged.
pub fn create_board(cache: SharedRoomCache, board: BoardObj) -> RequestSpec {
    let board_id = board.board_id.clone();
    RequestSpec::new(Request::CreateBoard { board }, move |_, result| {
        if let Err(code) = result {
            tracing::info!(code, "board refused by the server");
            if let Some(room) = cache.lock().room.as_mut() {
                room.boards.drop_pending(&board_id);
            }
        }
        None
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
        Some(Event::StopMeetingRslt { sdk_err: code })
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
            sdk_err: code,
            cookie,
        })
    })
}

/// The app event for a board event from the server (updating the copy's boards); none for
/// one arriving after this user left.
pub fn on_board_event(cache: &SharedRoomCache, event: WireEvent) -> Option<Event> {
    let mut cache = cache.lock();
    let room = cache.room.as_mut()?;
    room.boards.on_event(event)
}

/// The app event for a room event from the server (updating the copy), if the app is told.
pub fn on_event(cache: &SharedRoomCache, event: WireEvent) -> Option<Event> {
    let mut cache = cache.lock();
    match event {
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
        WireEvent::MeetingDropped => cache.room.take().map(|_| Event::MeetingDropped),
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
                MediaKind::Audio => Event::AudioStatusChanged {
                    user_id,
                    old_status: old,
                    new_status: new,
                },
                MediaKind::Video => Event::VideoStatusChanged {
                    user_id,
                    old_status: old,
                    new_status: new,
                },
            })
        }
        WireEvent::Im {
            from,
            text,
            send_time,
        } => Some(Event::NotifyIMmsg {
            from_user_id: from,
            text,
            send_time,
        }),
        WireEvent::ShareStarted { user_id } => cache.room.as_mut().map(|r| {
            r.sharer = Some(user_id);
            Event::NotifyScreenShareStarted
        }),
        WireEvent::ShareStopped { user_id } => cache.room.as_mut().map(|r| {
            r.end_share(&user_id);
            Event::NotifyScreenShareStopped
        }),
        WireEvent::CtrlRight { oper, target, give } => cache.room.as_mut().map(|r| {
            r.ctrl.retain(|c| *c != target);
            if give {
                r.ctrl.push(target.clone());
                Event::NotifyGiveCtrlRight {
                    oper_id: oper,
                    target_id: target,
                }
            } else {
                Event::NotifyReleaseCtrlRight {
                    oper_id: oper,
                    target_id: target,
                }
            }
        }),
        WireEvent::Page(PageState { main_page, page_id }) => {
            Some(Event::NotifySwitchToPage { main_page, page_id })
        }
        WireEvent::VideoWallMode { mode } => Some(Event::NotifyVideoWallMode { mode }),
        WireEvent::MainVideo(MainVideo { oper, target }) => Some(Event::NotifyMainVideoChanged {
            oper_id: oper,
            target_id: target,
        }),
        WireEvent::MediaStarted { user_id, name } => cache.room.as_mut().map(|r| {
            r.media = Some(MediaPlay {
                user_id: user_id.clone(),
                name,
                paused: false,
            });
            Event::NotifyMediaStart { user_id }
        }),
        WireEvent::MediaPaused { user_id, pause } => cache.room.as_mut().map(|r| {
            if let Some(media) = r.media.as_mut().filter(|m| m.user_id == user_id) {
                media.paused = pause;
            }
            let pause = i32::from(pause);
            Event::NotifyMediaPause { user_id, pause }
        }),
        WireEvent::MediaPos { pos_ms, .. } => cache
            .room
            .as_ref()
            .map(|_| Event::NotifyPlayPosSetted { set_pts: pos_ms }),
        WireEvent::MediaStopped { user_id, reason } => cache.room.as_mut().map(|r| {
            if r.media.as_ref().is_some_and(|m| m.user_id == user_id) {
                r.media = None;
            }
            Event::NotifyMediaStop { user_id, reason }
        }),
        // The engine routes only room events here.
        _ => None,
    }
}
