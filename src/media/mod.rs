//! Shared media playback (API.md section 12): this user's player ([`player`]) and what the
//! meeting's media looks like from here.
//!
//! One member plays a file to the meeting at a time; the server holds who (the room's
//! `media`, `ERR_BUSY` for a second player) and tells every member of its start, pauses,
//! moves and stop. The player's pictures are encoded again and sent as the player's video
//! [`MEDIA_VIDEO`](crvideo_proto::data::MEDIA_VIDEO), its sound as media audio frames;
//! receivers decode them as they decode a camera (`video::stream`) and mix the sound into
//! their speaker (`audio`). Played locally (`locPlay` 1) nothing leaves this SDK and its
//! app alone is told.

pub mod player;
pub mod sound;

use std::path::PathBuf;
use std::sync::Arc;

use crvideo_proto::Request;
use parking_lot::Mutex;

use crate::audio::Audio;
use crate::client::rooms::SharedRoomCache;
use crate::dispatch::{Dispatcher, Event};
use crate::video::picture::Picture;
use crate::video::{Image, Video};
use crate::ErrorCode;
use player::{Announce, Control, Parts, PlaySpec, Player, Signal, StopHow, OTHER};

/// What a media request's reply becomes: the server's answer (its data, or an error code)
/// in, the app's event (if any) out.
pub type OnReply = Box<dyn FnOnce(Result<serde_json::Value, i32>) -> Option<Event> + Send>;

/// Sends a request of the logged-in session with what its reply becomes (`NOT_LOGIN` when
/// there is none). The instance makes it, so this module needs nothing of the engine's.
pub type Requester = Arc<dyn Fn(Request, OnReply) -> Result<(), ErrorCode> + Send + Sync>;

/// The SDK's shared media: one per instance.
pub struct Media {
    events: Arc<Dispatcher>,
    rooms: SharedRoomCache,
    video: Arc<Video>,
    audio: Arc<Audio>,
    requests: Requester,
    /// This user's player and the room entry it plays in.
    player: Mutex<Option<(u64, Player)>>,
}

impl Media {
    pub fn new(
        events: Arc<Dispatcher>,
        rooms: SharedRoomCache,
        video: Arc<Video>,
        audio: Arc<Audio>,
        requests: Requester,
    ) -> Media {
        Media {
            events,
            rooms,
            video,
            audio,
            requests,
            player: Mutex::new(None),
        }
    }

    /// `CRVideo_StartPlayMedia`: a file this user already plays is stopped first.
    pub fn start(&self, path: PathBuf, local: bool, pause_at_end: bool) -> Result<(), ErrorCode> {
        let (me, entry) = {
            let rooms = self.rooms.lock();
            let room = rooms.room()?;
            let other = room.media.as_ref().filter(|m| m.user_id != rooms.me);
            if other.is_some() && !local {
                return Err(ErrorCode::ErrBusy);
            }
            (rooms.me.clone(), room.entry)
        };
        let old = self.player.lock().take();
        if let Some((_, old)) = old {
            old.stop(StopHow::Announced);
        }
        let name = path.to_string_lossy().into_owned();
        let control = Arc::new(Control::default());
        let parts = Parts {
            me: me.clone(),
            events: self.events.clone(),
            gate: self.video.gate(),
            audio: self.audio.clone(),
            announce: self.announcer(me, local, control.clone()),
        };
        let spec = PlaySpec {
            path,
            name,
            local,
            pause_at_end,
        };
        let player = Player::start(spec, parts, control).map_err(|e| {
            tracing::error!("{e}");
            ErrorCode::InnerErr
        })?;
        *self.player.lock() = Some((entry, player));
        Ok(())
    }

    /// How the player's signals are told: to the server, which tells every member (this
    /// one too); played locally, to this user's app at once.
    fn announcer(&self, me: String, local: bool, control: Arc<Control>) -> Announce {
        if local {
            let events = self.events.clone();
            return Arc::new(move |signal| {
                let user_id = me.clone();
                let event = match signal {
                    Signal::Started { .. } => return,
                    Signal::Paused(pause) => Event::NotifyMediaPause {
                        user_id,
                        pause: i32::from(pause),
                    },
                    Signal::Moved(set_pts) => Event::NotifyPlayPosSetted { set_pts },
                    Signal::Stopped(reason) => Event::NotifyMediaStop { user_id, reason },
                };
                events.push(event);
            });
        }
        let requests = self.requests.clone();
        Arc::new(move |signal| {
            let (request, on_reply): (Request, OnReply) = match signal {
                Signal::Started { name } => {
                    let (control, user_id) = (control.clone(), me.clone());
                    let on_reply = move |result: Result<serde_json::Value, i32>| {
                        let code = result.err()?;
                        // Another member started first (or the meeting is gone).
                        tracing::info!(code, "media start refused by the server");
                        control.stop(StopHow::Quiet);
                        Some(Event::NotifyMediaStop {
                            user_id,
                            reason: OTHER,
                        })
                    };
                    (Request::StartMedia { name }, Box::new(on_reply))
                }
                Signal::Paused(pause) => (Request::PauseMedia { pause }, refusal_logged()),
                Signal::Moved(pos_ms) => (Request::SetMediaPos { pos_ms }, refusal_logged()),
                Signal::Stopped(reason) => (Request::StopMedia { reason }, refusal_logged()),
            };
            if let Err(code) = requests(request, on_reply) {
                tracing::debug!(?code, "media signal not sent");
            }
        })
    }

    /// This user's player, or `NOT_INMEETING` / `API_NO_PERMISSION` (it plays nothing).
    fn with_player<R>(&self, f: impl FnOnce(&Player) -> R) -> Result<R, ErrorCode> {
        self.rooms.lock().room()?;
        let player = self.player.lock();
        match player.as_ref() {
            Some((_, player)) if !player.is_finished() => Ok(f(player)),
            _ => Err(ErrorCode::ApiNoPermission),
        }
    }

    /// `CRVideo_PausePlayMedia`.
    pub fn pause(&self, pause: bool) -> Result<(), ErrorCode> {
        self.with_player(|p| p.control.pause(pause))
    }

    /// `CRVideo_SetMediaPlayPos`.
    pub fn set_pos(&self, pos_ms: i64) -> Result<(), ErrorCode> {
        let pos = u64::try_from(pos_ms).map_err(|_| ErrorCode::ParamErr)?;
        self.with_player(|p| p.control.seek(pos))
    }

    /// `CRVideo_StopPlayMedia`: 0 also when this user plays nothing.
    pub fn stop(&self) -> Result<(), ErrorCode> {
        self.rooms.lock().room()?;
        let player = self.player.lock().take();
        if let Some((_, player)) = player {
            player.stop(StopHow::Announced);
        }
        Ok(())
    }

    /// A member asks for a key frame of this user's media.
    pub fn force_key(&self) {
        if let Some((_, player)) = self.player.lock().as_ref() {
            player.control.force_key();
        }
    }

    /// `CRVideo_GetMediaInfo`: `{"userID","state","mediaName"}`, state 0 playing, 1 paused,
    /// 2 none.
    pub fn info_json(&self) -> String {
        let local = {
            let player = self.player.lock();
            let local = player.as_ref().filter(|(_, p)| p.local && !p.is_finished());
            local.map(|(_, p)| (p.spec_name.clone(), p.control.paused()))
        };
        let rooms = self.rooms.lock();
        let (user_id, state, name) =
            match (local, rooms.room.as_ref().and_then(|r| r.media.as_ref())) {
                (Some((name, paused)), _) => (rooms.me.clone(), i32::from(paused), name),
                (None, Some(m)) => (m.user_id.clone(), i32::from(m.paused), m.name.clone()),
                (None, None) => (String::new(), 2, String::new()),
            };
        serde_json::json!({"userID": user_id, "state": state, "mediaName": name}).to_string()
    }

    /// `CRVideo_GetMediaImg`: the newest picture of `user_id`'s media ("" or this user: its
    /// own player's), taking it (the next one is announced again).
    pub fn image(
        &self,
        user_id: &str,
        format: i32,
        max_w: i32,
        max_h: i32,
    ) -> Result<Image, ErrorCode> {
        if crate::video::picture::image_len(format, 0, 0).is_none() {
            return Err(ErrorCode::ParamErr);
        }
        let me = self.rooms.lock().me.clone();
        let picture = if user_id.is_empty() || user_id == me {
            self.own_picture(true)
        } else {
            self.video.media_picture(user_id, true)
        };
        crate::video::shown(picture, format, max_w, max_h)
    }

    fn own_picture(&self, take: bool) -> Option<Arc<Picture>> {
        let player = self.player.lock();
        let own = &player.as_ref()?.1.control.own;
        match take {
            true => own.taken(),
            false => own.picture.lock().clone(),
        }
    }

    /// The picture of the media playing in the meeting, for a recording.
    pub fn peek(&self) -> Option<Arc<Picture>> {
        let (me, player) = {
            let rooms = self.rooms.lock();
            let media = rooms.room.as_ref()?.media.as_ref()?;
            (rooms.me.clone(), media.user_id.clone())
        };
        match player == me {
            true => self.own_picture(false),
            false => self.video.media_picture(&player, false),
        }
    }

    /// Follows the room copy: a player whose meeting was left (or whose session ended)
    /// stops; its app is told. Called by the engine after each change.
    pub fn follow_room(&self) {
        let entry = self.rooms.lock().room.as_ref().map(|r| r.entry);
        let ended = {
            let mut player = self.player.lock();
            match player.as_ref() {
                Some((e, _)) if Some(*e) != entry => player.take(),
                _ => None,
            }
        };
        if let Some((_, player)) = ended {
            player.stop(StopHow::Left);
        }
    }

    /// Uninit: the player ends without a word.
    pub fn shutdown(&self) {
        let player = self.player.lock().take();
        drop(player);
    }
}

/// The reply of a media signal whose refusal (a race with the room's changes) is only
/// logged.
fn refusal_logged() -> OnReply {
    Box::new(|result| {
        if let Err(code) = result {
            tracing::info!(code, "media signal refused by the server");
        }
        None
    })
}
