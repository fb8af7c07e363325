//! Meeting rooms: the live state of meetings that have members (who is in, their audio and
//! video status), entering, leaving, stopping, media status and IM.
//!
//! The meetings themselves (ID, password, creator) are in the store (see
//! [`crate::services::meetings`]); a room exists in memory only while it has members. Rooms
//! are keyed by (tenant, meeting ID), so tenants never mix.
//!
//! One table for the whole server under one lock. Every transition — the requester's reply
//! (`ack`) first, then the events it sends to the members — happens under that lock, so all
//! members see a room's changes in the same order, each once, and a reply always precedes the
//! events its request caused. Lock order (the server's one order: see the [crate]
//! documentation): this table, then the directory (presence) and session lanes; never the
//! reverse.
//!
//! A session is in at most one room. Changes to a room's shared state are judged in
//! [`signals`] (screen share, control right, page, video wall, main video) and [`boards`]
//! (whiteboards), which return the events to send; `room` holds one room.

mod audience;
mod audio;
pub mod boards;
mod member_video;
mod room;
pub mod signals;
mod video;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crvideo_proto::data::{AudioFrame, ScreenFrame, VideoFrame};
use crvideo_proto::{
    BoardObj, ErrorCode, Event, ImSent, MediaKind, MemberInfo, MemberVideos, RoomState,
    ServerFrame, MAX_IM_CHARS, MEDIA_CLOSED,
};

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::SessionId;
use crate::directory::{Activity, Directory};
use crate::services::meetings::MeetingRow;
use audience::{Audience, Fanout};
use room::{Member, Room};

/// Highest audio / video status value (`AOPENING` / `VOPENING`).
const MAX_MEDIA_STATUS: i32 = 4;

/// (tenant, meeting ID).
type RoomKey = (Arc<str>, i32);

/// Told of the rooms' changes other parts of the server follow (cluster mode: member
/// counts for every node's meeting list; the routes of members connected to other nodes).
/// Called under the rooms' lock, so in the order of the changes: must not block.
pub trait RoomObserver: Send + Sync {
    /// The room of meeting `meet_id` of `tenant` has `count` members now (0: it closed).
    fn count_changed(&self, tenant: &str, meet_id: i32, count: usize);
    /// `member` entered a room (`in_room`) or is out of it, whatever the cause (its request,
    /// the meeting stopped or destroyed, a newer session of its user). Before the member's
    /// own reply, when the change is its request.
    fn membership_changed(&self, member: &SessionHandle, in_room: bool);
}

#[derive(Default)]
struct Table {
    rooms: HashMap<RoomKey, Room>,
    /// Session → the room it is in.
    by_session: HashMap<SessionId, RoomKey>,
    /// Meetings destroyed so far (see [`Rooms::destroyed`]).
    destroyed: u64,
    /// Told of member counts and memberships.
    observer: Option<Arc<dyn RoomObserver>>,
}

impl Table {
    fn counted(&self, key: &RoomKey) {
        if let Some(observer) = &self.observer {
            let count = self.rooms.get(key).map_or(0, |r| r.members.len());
            observer.count_changed(&key.0, key.1, count);
        }
    }

    /// The key of the room `handle` is in, or `NOT_INMEETING`.
    fn room_of(&self, handle: &SessionHandle) -> Result<RoomKey, ErrorCode> {
        let key = self.by_session.get(&handle.session_id());
        key.cloned().ok_or(ErrorCode::NotInMeeting)
    }
}

/// What a store lookup found of a meeting to enter (see [`Rooms::enter`]).
#[derive(Debug, Clone)]
pub struct Lookup {
    pub meet_id: i32,
    /// None: no such meeting (in this tenant).
    pub row: Option<MeetingRow>,
    /// [`Rooms::destroyed`], read before the lookup.
    pub destroyed: u64,
}

/// Why [`Rooms::enter`] did not enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnterError {
    /// Refused with this code.
    Refused(ErrorCode),
    /// A meeting was destroyed since the store lookup: look it up again.
    Stale,
}

/// Every live meeting room.
pub struct Rooms {
    table: Mutex<Table>,
    max_members: usize,
}

impl Rooms {
    /// Rooms of at most `max_members` members each.
    pub fn new(max_members: usize) -> Rooms {
        Rooms {
            table: Mutex::new(Table::default()),
            max_members,
        }
    }

    /// A counter of destroyed meetings: read it before looking a meeting up in the store and
    /// pass it to [`Rooms::enter`], which refuses with [`EnterError::Stale`] if a meeting was
    /// destroyed meanwhile (so no room is opened for a meeting that is gone).
    pub fn destroyed(&self) -> u64 {
        self.table.lock().unwrap().destroyed
    }

    /// `handle` enters the meeting found by `lookup` with password `pswd` (checked here).
    /// On success `ack` runs with the room's state (the reply), then the other members get
    /// `MemberEntered`.
    pub fn enter(
        &self,
        directory: &dyn Directory,
        handle: &SessionHandle,
        lookup: Lookup,
        pswd: &str,
        ack: impl FnOnce(RoomState),
    ) -> Result<(), EnterError> {
        let Lookup {
            meet_id,
            row,
            destroyed,
        } = lookup;
        let mut table = self.table.lock().unwrap();
        if table.destroyed != destroyed {
            return Err(EnterError::Stale);
        }
        let row = row.ok_or(EnterError::Refused(ErrorCode::MeetNotExist))?;
        if !row.pswd.is_empty() && row.pswd != pswd {
            return Err(EnterError::Refused(ErrorCode::AuthError));
        }
        if table.by_session.contains_key(&handle.session_id()) {
            return Err(EnterError::Refused(ErrorCode::AlreadyInMeeting));
        }
        let key: RoomKey = (handle.tenant_arc(), meet_id);
        // An older session of the same user (replaced by a relogin, on its way out) gives
        // its place up now rather than when its connection ends.
        let stale = table.rooms.get(&key).and_then(|room| {
            room.member_by_user(handle.user_id())
                .map(|i| room.members[i].handle.session_id())
        });
        if let Some(old) = stale {
            remove_member(&mut table, directory, old, Some(old));
        }
        let members = table.rooms.get(&key).map_or(0, |r| r.members.len());
        if members >= self.max_members {
            return Err(EnterError::Refused(ErrorCode::MemberOverflowError));
        }
        let info = MemberInfo {
            user_id: handle.user_id().to_owned(),
            nickname: handle.nickname().to_owned(),
            audio_status: MEDIA_CLOSED,
            video_status: MEDIA_CLOSED,
        };
        let room = table
            .rooms
            .entry(key.clone())
            .or_insert_with(|| Room::new(meet_id, row.creator));
        room.members.push(Member {
            handle: handle.clone(),
            info: info.clone(),
            video: Default::default(),
        });
        room.video_entered(room.members.len() - 1);
        let state = room.state();
        table.by_session.insert(handle.session_id(), key.clone());
        table.counted(&key);
        membership(&table.observer, handle, true);
        directory.set_activity(handle, Activity::Meeting, true);
        ack(state);
        let room = &table.rooms[&key];
        room.broadcast(Event::MemberEntered(info), Some(handle.session_id()));
        Ok(())
    }

    /// `handle` leaves its room: `ack` (the reply), then the others get `MemberLeft`.
    pub fn exit(
        &self,
        directory: &dyn Directory,
        handle: &SessionHandle,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        if !table.by_session.contains_key(&handle.session_id()) {
            return Err(ErrorCode::NotInMeeting);
        }
        remove_member_then(&mut table, directory, handle.session_id(), None, ack);
        Ok(())
    }

    /// The meeting's creator ends its room: `ack` (the reply), then every other member gets
    /// `MeetingStopped`; everyone is out and the room's state is dropped.
    pub fn stop(
        &self,
        directory: &dyn Directory,
        handle: &SessionHandle,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        let key = table.room_of(handle)?;
        if table.rooms[&key].creator != handle.user_id() {
            return Err(ErrorCode::ApiNoPermission);
        }
        let room = close_room(&mut table, directory, &key).expect("a member's room exists");
        ack();
        room.broadcast(Event::MeetingStopped, Some(handle.session_id()));
        Ok(())
    }

    /// Meeting `meet_id` of `tenant` was destroyed: if its room is live, every member gets
    /// `MeetingStopped` and is out. Call it after the store removed the meeting and before
    /// the destroyer's reply.
    pub fn meeting_destroyed(&self, directory: &dyn Directory, tenant: &str, meet_id: i32) {
        let mut table = self.table.lock().unwrap();
        table.destroyed += 1;
        let key: RoomKey = (Arc::from(tenant), meet_id);
        if let Some(room) = close_room(&mut table, directory, &key) {
            room.broadcast(Event::MeetingStopped, None);
        }
    }

    /// Sets `user_id`'s audio or video status. `ack` (the reply) runs first; then, if the
    /// status changed, every member (the requester too) gets `MediaChanged`.
    pub fn set_media(
        &self,
        handle: &SessionHandle,
        user_id: &str,
        kind: MediaKind,
        status: i32,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        let key = table.room_of(handle)?;
        let room = table.rooms.get_mut(&key).expect("a member's room exists");
        let target = room.member_by_user(user_id).ok_or(ErrorCode::ParamErr)?;
        if !(0..=MAX_MEDIA_STATUS).contains(&status) {
            return Err(ErrorCode::ParamErr);
        }
        if user_id != handle.user_id() && room.creator != handle.user_id() {
            return Err(ErrorCode::ApiNoPermission);
        }
        let info = &mut room.members[target].info;
        let slot = match kind {
            MediaKind::Audio => &mut info.audio_status,
            MediaKind::Video => &mut info.video_status,
        };
        let old = std::mem::replace(slot, status);
        ack();
        if old != status {
            room.broadcast(
                Event::MediaChanged {
                    user_id: user_id.to_owned(),
                    kind,
                    old,
                    new: status,
                },
                None,
            );
        }
        Ok(())
    }

    /// `me`'s cameras are `cams` now: `ack`, then the others get `VideoDevs`.
    pub fn set_video_devs(
        &self,
        me: &SessionHandle,
        mut cams: MemberVideos,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        video::check_cams(&cams)?;
        cams.user_id = me.user_id().to_owned();
        self.with_member(me, |room, at| {
            room.members[at].video.cams = cams.clone();
            ack();
            room.broadcast(Event::VideoDevs(cams), Some(me.session_id()));
        })
    }

    /// `me` watches `videos` from now on (None: every video).
    pub fn set_watch_videos(
        &self,
        me: &SessionHandle,
        videos: Option<Vec<String>>,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.with_member(me, |room, at| {
            room.set_watch(at, videos);
            ack();
        })
    }

    /// `me` could not decode `user_id`'s camera `video_id`: it waits for a key frame.
    pub fn request_key_frame(
        &self,
        me: &SessionHandle,
        user_id: &str,
        video_id: u8,
    ) -> Result<(), ErrorCode> {
        self.with_member(me, |room, at| room.lost_video(at, user_id, video_id))
    }

    /// Relays a video frame of `me` to the members watching it. False if it was not (not
    /// in a room, an unknown camera, video not open).
    pub fn relay_video(&self, me: &SessionHandle, frame: &VideoFrame<'_>) -> bool {
        self.with_member(me, |room, at| room.relay_video(at, frame))
            .unwrap_or(false)
    }

    /// Relays a frame of `me`'s shared screen to the other members. False if it was not
    /// (not in a room, not the sharer).
    pub fn relay_screen(&self, me: &SessionHandle, frame: &ScreenFrame<'_>) -> bool {
        self.with_member(me, |room, at| room.relay_screen(at, frame))
            .unwrap_or(false)
    }

    /// Relays a packet of `me`'s microphone to the other members. False if it was not (not
    /// in a room, mic not open).
    pub fn relay_audio(&self, me: &SessionHandle, frame: &AudioFrame<'_>) -> bool {
        self.with_member(me, |room, at| room.relay_audio(at, frame))
            .unwrap_or(false)
    }

    /// Runs `f` on the room `me` is in, with `me`'s index there; `NOT_INMEETING` when not
    /// in one.
    fn with_member<R>(
        &self,
        me: &SessionHandle,
        f: impl FnOnce(&mut Room, usize) -> R,
    ) -> Result<R, ErrorCode> {
        let mut table = self.table.lock().unwrap();
        let key = table.room_of(me)?;
        let room = table.rooms.get_mut(&key).expect("a member's room exists");
        let at = room
            .position(me.session_id())
            .expect("a member is in its room");
        Ok(f(room, at))
    }

    /// Sends an IM to member `to`, or to every other member when `to` is empty. `ack` runs
    /// with the send time (the reply), then the recipients get `Im`.
    pub fn send_im(
        &self,
        handle: &SessionHandle,
        text: String,
        to: &str,
        now: i64,
        ack: impl FnOnce(ImSent),
    ) -> Result<(), ErrorCode> {
        let table = self.table.lock().unwrap();
        let key = &table.room_of(handle)?;
        if text.chars().count() > MAX_IM_CHARS {
            return Err(ErrorCode::ParamErr);
        }
        let room = &table.rooms[key];
        let recipient = if to.is_empty() {
            None
        } else if to == handle.user_id() {
            return Err(ErrorCode::ParamErr);
        } else {
            Some(room.member_by_user(to).ok_or(ErrorCode::ParamErr)?)
        };
        ack(ImSent { send_time: now });
        let event = Event::Im {
            from: handle.user_id().to_owned(),
            text,
            send_time: now,
        };
        match recipient {
            Some(i) => {
                let _ = room.members[i].handle.send(&ServerFrame::Event(event));
            }
            None => room.broadcast(event, Some(handle.session_id())),
        }
        Ok(())
    }

    /// `me` starts sharing its screen: `ack`, then the others get `ShareStarted`.
    pub fn start_screen_share(
        &self,
        me: &SessionHandle,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| room.signals.start_share(me))
    }

    /// `me` stops sharing: `ack`, then the control rights it gave are released and the
    /// others get `ShareStopped`.
    pub fn stop_screen_share(
        &self,
        me: &SessionHandle,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| room.signals.stop_share(me))
    }

    /// `me` plays the media file `name` to its room: `ack`, then every member gets
    /// `MediaStarted` and waits for a key frame of it.
    pub fn start_media(
        &self,
        me: &SessionHandle,
        name: String,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| {
            let events = room.signals.start_media(me, name)?;
            room.media_started();
            Ok(events)
        })
    }

    /// The player `me` pauses or resumes: `ack`, then every member gets `MediaPaused`.
    pub fn pause_media(
        &self,
        me: &SessionHandle,
        pause: bool,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| room.signals.pause_media(me, pause))
    }

    /// The player `me` moved: `ack`, then every member gets `MediaPos`.
    pub fn set_media_pos(
        &self,
        me: &SessionHandle,
        pos_ms: i64,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| room.signals.set_media_pos(me, pos_ms))
    }

    /// The player `me` stopped: `ack`, then every member gets `MediaStopped`.
    pub fn stop_media(
        &self,
        me: &SessionHandle,
        reason: i32,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| room.signals.stop_media(me, reason))
    }

    /// The sharer `me` gives or takes back member `user_id`'s control right: `ack`, then
    /// every member gets `CtrlRight`.
    pub fn set_ctrl_right(
        &self,
        me: &SessionHandle,
        user_id: String,
        give: bool,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| {
            let is_member = room.member_by_user(&user_id).is_some();
            room.signals.set_ctrl_right(me, user_id, give, is_member)
        })
    }

    /// `me` switches everyone's page: `ack`, then the others get `Page`.
    pub fn switch_to_page(
        &self,
        me: &SessionHandle,
        main_page: i32,
        page_id: String,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, _| {
            room.signals.switch_to_page(main_page, page_id)
        })
    }

    /// `me` sets the video-wall mode: `ack`, then the others get `VideoWallMode`.
    pub fn set_video_wall_mode(
        &self,
        me: &SessionHandle,
        mode: i32,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, _| room.signals.set_video_wall_mode(mode))
    }

    /// `me` makes member `user_id`'s video the main one: `ack`, then every member gets
    /// `MainVideo`.
    pub fn set_main_video(
        &self,
        me: &SessionHandle,
        user_id: String,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| {
            let is_member = room.member_by_user(&user_id).is_some();
            room.signals.set_main_video(me, user_id, is_member)
        })
    }

    /// `me` opens a whiteboard: `ack`, then every member gets `BoardCreated`.
    pub fn create_board(
        &self,
        me: &SessionHandle,
        board: BoardObj,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| room.boards.create(me, board))
    }

    /// `me` closes a whiteboard: `ack`, then every member gets `BoardClosed`.
    pub fn close_board(
        &self,
        me: &SessionHandle,
        board_id: String,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| room.boards.close(me, board_id))
    }

    /// `me` adds or replaces an element of a whiteboard page: `ack`, then every member gets
    /// `Element`.
    pub fn set_board_element(
        &self,
        me: &SessionHandle,
        board_id: String,
        page_no: i32,
        element: String,
        modify: bool,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| {
            room.boards
                .set_element(me, board_id, page_no, element, modify)
        })
    }

    /// `me` deletes elements of a whiteboard page: `ack`, then every member gets
    /// `ElementsDeleted`.
    pub fn del_board_elements(
        &self,
        me: &SessionHandle,
        board_id: String,
        page_no: i32,
        element_ids: Vec<String>,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| {
            room.boards
                .delete_elements(me, board_id, page_no, element_ids)
        })
    }

    /// `me` sets a whiteboard page's background: `ack`, then every member gets
    /// `BoardBkImage`.
    pub fn set_board_bk_image(
        &self,
        me: &SessionHandle,
        board_id: String,
        page_no: i32,
        img_id: String,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| {
            room.boards.set_background(me, board_id, page_no, img_id)
        })
    }

    /// `me` points at a spot of a whiteboard page: `ack`, then the others get
    /// `MouseHotSpot`.
    pub fn set_mouse_hot_spot(
        &self,
        me: &SessionHandle,
        board_id: String,
        page_no: i32,
        x: i32,
        y: i32,
        ack: impl FnOnce(),
    ) -> Result<(), ErrorCode> {
        self.change(me, ack, |room, me| {
            room.boards.mouse_hot_spot(me, board_id, page_no, x, y)
        })
    }

    /// A change to the shared state of `me`'s room, which `judge` makes (given the room and
    /// `me`'s user ID) or refuses: `ack` (the reply), then the events it causes.
    fn change(
        &self,
        me: &SessionHandle,
        ack: impl FnOnce(),
        judge: impl FnOnce(&mut Room, &str) -> Result<Fanout, ErrorCode>,
    ) -> Result<(), ErrorCode> {
        let mut table = self.table.lock().unwrap();
        let key = table.room_of(me)?;
        let room = table.rooms.get_mut(&key).expect("a member's room exists");
        let events = judge(room, me.user_id())?;
        ack();
        for (event, audience) in events {
            let except = match audience {
                Audience::All => None,
                Audience::Others => Some(me.session_id()),
            };
            room.broadcast(event, except);
        }
        Ok(())
    }

    /// A session is going away: it leaves its room (the others get `MemberLeft`). Its own
    /// presence is left alone (it goes offline next).
    pub fn leave(&self, directory: &dyn Directory, handle: &SessionHandle) {
        let mut table = self.table.lock().unwrap();
        if table.by_session.contains_key(&handle.session_id()) {
            let session = handle.session_id();
            remove_member(&mut table, directory, session, Some(session));
        }
    }

    /// Tells `observer` of every member count and membership change from now on.
    pub fn observe(&self, observer: Arc<dyn RoomObserver>) {
        self.table.lock().unwrap().observer = Some(observer);
    }

    /// Whether session `session` is a member of a room here.
    pub fn is_member(&self, session: SessionId) -> bool {
        self.table.lock().unwrap().by_session.contains_key(&session)
    }

    /// How many members the room of meeting `meet_id` of `tenant` has (0 without a room).
    pub fn member_count(&self, tenant: &str, meet_id: i32) -> usize {
        let table = self.table.lock().unwrap();
        let key: RoomKey = (Arc::from(tenant), meet_id);
        table.rooms.get(&key).map_or(0, |r| r.members.len())
    }

    /// How many rooms are live.
    pub fn len(&self) -> usize {
        self.table.lock().unwrap().rooms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Removes `session` from its room (which must exist): [`remove_member_then`] without a reply.
fn remove_member(
    table: &mut Table,
    directory: &dyn Directory,
    session: SessionId,
    leaving: Option<SessionId>,
) {
    remove_member_then(table, directory, session, leaving, || {});
}

/// Removes `session` from its room: presence back to not-in-meeting (except for `leaving`,
/// which goes offline anyway), `ack`, then the others get `MemberLeft`. The last member
/// leaving drops the room.
fn remove_member_then(
    table: &mut Table,
    directory: &dyn Directory,
    session: SessionId,
    leaving: Option<SessionId>,
    ack: impl FnOnce(),
) {
    let key = table
        .by_session
        .remove(&session)
        .expect("caller checked the session is in a room");
    let room = table.rooms.get_mut(&key).expect("a member's room exists");
    let i = room.position(session).expect("a member is in its room");
    let member = room.members.remove(i);
    // Its share ends and its control right goes before the others hear it left.
    let signals = room.signals.member_leaving(&member.info.user_id);
    if leaving != Some(session) {
        directory.set_activity(&member.handle, Activity::Meeting, false);
    }
    membership(&table.observer, &member.handle, false);
    ack();
    if room.members.is_empty() {
        table.rooms.remove(&key);
        table.counted(&key);
    } else {
        table.counted(&key);
        let room = &table.rooms[&key];
        for event in signals {
            room.broadcast(event, None);
        }
        room.broadcast(
            Event::MemberLeft {
                user_id: member.info.user_id,
            },
            None,
        );
    }
}

/// Tells the observer (if any) that `member` entered or left a room. A function of the field
/// rather than of the table, so a room of the table can be borrowed meanwhile.
fn membership(observer: &Option<Arc<dyn RoomObserver>>, member: &SessionHandle, in_room: bool) {
    if let Some(observer) = observer {
        observer.membership_changed(member, in_room);
    }
}

/// Drops the room `key` (if live): every member is out, presence back to not-in-meeting.
/// Returns the room so the caller can tell its (former) members.
fn close_room(table: &mut Table, directory: &dyn Directory, key: &RoomKey) -> Option<Room> {
    let room = table.rooms.remove(key)?;
    for m in &room.members {
        table.by_session.remove(&m.handle.session_id());
        directory.set_activity(&m.handle, Activity::Meeting, false);
        membership(&table.observer, &m.handle, false);
    }
    table.counted(key);
    Some(room)
}
