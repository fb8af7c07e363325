//! The shared signals of a meeting room: screen-share owner, control right, current page,
//! video-wall mode, main video, the media a member plays. Each change is judged and applied here, returning the events
//! it causes; [`Rooms`](super::Rooms) sends them after the reply, under its lock, like every
//! other room change.

use crvideo_proto::{ErrorCode, Event, MainVideo, MediaPlay, PageState, MAINPAGE_MAX};

use super::audience::{Audience, Fanout};

/// The shared signals' part of a room's state.
#[derive(Debug, Default, Clone)]
pub struct Signals {
    pub sharer: Option<String>,
    /// Members holding the sharer's control right, in order of giving.
    pub ctrl: Vec<String>,
    pub page: Option<PageState>,
    pub wall_mode: Option<i32>,
    pub main_video: Option<MainVideo>,
    /// The media a member plays to the meeting (one player at a time).
    pub media: Option<MediaPlay>,
}

/// Longest media name, in bytes.
const MAX_MEDIA_NAME: usize = 255;

impl Signals {
    /// `me` starts sharing its screen (again: nothing happens).
    pub fn start_share(&mut self, me: &str) -> Result<Fanout, ErrorCode> {
        Ok(match self.sharer.as_deref() {
            Some(sharer) if sharer == me => Vec::new(),
            Some(_) => return Err(ErrorCode::ErrBusy),
            None => {
                self.sharer = Some(me.to_owned());
                let started = Event::ShareStarted {
                    user_id: me.to_owned(),
                };
                vec![(started, Audience::Others)]
            }
        })
    }

    /// `me` stops sharing its screen (nobody sharing: nothing happens).
    pub fn stop_share(&mut self, me: &str) -> Result<Fanout, ErrorCode> {
        Ok(match self.sharer.as_deref() {
            None => Vec::new(),
            Some(sharer) if sharer != me => return Err(ErrorCode::ApiNoPermission),
            Some(_) => self.end_share(me),
        })
    }

    /// The sharer `me` gives or takes back the control right of member `user_id`
    /// (`is_member`: whether it is in the room).
    pub fn set_ctrl_right(
        &mut self,
        me: &str,
        user_id: String,
        give: bool,
        is_member: bool,
    ) -> Result<Fanout, ErrorCode> {
        if self.sharer.as_deref() != Some(me) {
            return Err(ErrorCode::ApiNoPermission);
        }
        if user_id == me || !is_member {
            return Err(ErrorCode::ParamErr);
        }
        let held = self.ctrl.iter().position(|c| *c == user_id);
        match (give, held) {
            (true, None) => self.ctrl.push(user_id.clone()),
            (false, Some(i)) => {
                self.ctrl.remove(i);
            }
            _ => return Ok(Vec::new()),
        }
        Ok(vec![(ctrl_event(me, user_id, give), Audience::All)])
    }

    /// The room's current page.
    pub fn switch_to_page(&mut self, main_page: i32, page_id: String) -> Result<Fanout, ErrorCode> {
        if !(0..=MAINPAGE_MAX).contains(&main_page) {
            return Err(ErrorCode::ParamErr);
        }
        let page = PageState { main_page, page_id };
        self.page = Some(page.clone());
        Ok(vec![(Event::Page(page), Audience::Others)])
    }

    /// The room's video-wall mode.
    pub fn set_video_wall_mode(&mut self, mode: i32) -> Result<Fanout, ErrorCode> {
        if mode < 0 {
            return Err(ErrorCode::ParamErr);
        }
        self.wall_mode = Some(mode);
        Ok(vec![(Event::VideoWallMode { mode }, Audience::Others)])
    }

    /// `me` makes member `user_id` (`is_member`: whether it is in the room) the main video.
    pub fn set_main_video(
        &mut self,
        me: &str,
        user_id: String,
        is_member: bool,
    ) -> Result<Fanout, ErrorCode> {
        if !is_member {
            return Err(ErrorCode::ParamErr);
        }
        let main = MainVideo {
            oper: me.to_owned(),
            target: user_id,
        };
        self.main_video = Some(main.clone());
        Ok(vec![(Event::MainVideo(main), Audience::All)])
    }

    /// `me` plays the media file `name` (replacing its own, if it played one already).
    pub fn start_media(&mut self, me: &str, name: String) -> Result<Fanout, ErrorCode> {
        if name.len() > MAX_MEDIA_NAME {
            return Err(ErrorCode::ParamErr);
        }
        if self.media.as_ref().is_some_and(|m| m.user_id != me) {
            return Err(ErrorCode::ErrBusy);
        }
        self.media = Some(MediaPlay {
            user_id: me.to_owned(),
            name: name.clone(),
            paused: false,
        });
        let user_id = me.to_owned();
        Ok(vec![(Event::MediaStarted { user_id, name }, Audience::All)])
    }

    /// The player's media, or `API_NO_PERMISSION` when `me` is not the player.
    fn media_of(&mut self, me: &str) -> Result<&mut MediaPlay, ErrorCode> {
        (self.media.as_mut())
            .filter(|m| m.user_id == me)
            .ok_or(ErrorCode::ApiNoPermission)
    }

    /// The player `me` pauses (`pause`) or resumes.
    pub fn pause_media(&mut self, me: &str, pause: bool) -> Result<Fanout, ErrorCode> {
        self.media_of(me)?.paused = pause;
        let user_id = me.to_owned();
        Ok(vec![(Event::MediaPaused { user_id, pause }, Audience::All)])
    }

    /// The player `me` moved to `pos_ms`.
    pub fn set_media_pos(&mut self, me: &str, pos_ms: i64) -> Result<Fanout, ErrorCode> {
        self.media_of(me)?;
        let user_id = me.to_owned();
        Ok(vec![(Event::MediaPos { user_id, pos_ms }, Audience::All)])
    }

    /// The player `me` stopped (nothing playing: nothing happens).
    pub fn stop_media(&mut self, me: &str, reason: i32) -> Result<Fanout, ErrorCode> {
        if self.media.is_none() {
            return Ok(Vec::new());
        }
        self.media_of(me)?;
        self.media = None;
        let user_id = me.to_owned();
        Ok(vec![(
            Event::MediaStopped { user_id, reason },
            Audience::All,
        )])
    }

    /// Releases every control right and ends the share of `sharer` (it stopped or left).
    fn end_share(&mut self, sharer: &str) -> Fanout {
        let mut events: Vec<_> = std::mem::take(&mut self.ctrl)
            .into_iter()
            .map(|target| (ctrl_event(sharer, target, false), Audience::All))
            .collect();
        self.sharer = None;
        let stopped = Event::ShareStopped {
            user_id: sharer.to_owned(),
        };
        events.push((stopped, Audience::Others));
        events
    }

    /// `user_id` is leaving the room: the media it plays stops, its share ends, a control
    /// right it holds is released. The events go to the members who stay.
    pub fn member_leaving(&mut self, user_id: &str) -> Vec<Event> {
        let mut events = Vec::new();
        if self.media.as_ref().is_some_and(|m| m.user_id == user_id) {
            self.media = None;
            let user_id = user_id.to_owned();
            events.push(Event::MediaStopped { user_id, reason: 0 });
        }
        events.extend(self.release_of_leaving(user_id));
        events
    }

    /// [`Signals::member_leaving`]'s share and control right.
    fn release_of_leaving(&mut self, user_id: &str) -> Vec<Event> {
        if self.sharer.as_deref() == Some(user_id) {
            return self
                .end_share(user_id)
                .into_iter()
                .map(|(e, _)| e)
                .collect();
        }
        match (
            self.sharer.clone(),
            self.ctrl.iter().position(|c| c == user_id),
        ) {
            (Some(sharer), Some(i)) => {
                let target = self.ctrl.remove(i);
                vec![ctrl_event(&sharer, target, false)]
            }
            _ => Vec::new(),
        }
    }
}

fn ctrl_event(oper: &str, target: String, give: bool) -> Event {
    Event::CtrlRight {
        oper: oper.to_owned(),
        target,
        give,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_player_at_a_time_and_only_the_player_controls_it() {
        let mut s = Signals::default();
        assert_eq!(s.pause_media("amy", true), Err(ErrorCode::ApiNoPermission));
        assert_eq!(s.stop_media("amy", 0), Ok(Vec::new()), "nothing plays");
        let started = s.start_media("amy", "a.mp4".into()).unwrap();
        assert_eq!(started[0].1, Audience::All);
        assert_eq!(s.start_media("bo", "b.mp4".into()), Err(ErrorCode::ErrBusy));
        assert_eq!(s.pause_media("bo", true), Err(ErrorCode::ApiNoPermission));
        assert_eq!(s.set_media_pos("bo", 5), Err(ErrorCode::ApiNoPermission));
        assert_eq!(s.stop_media("bo", 0), Err(ErrorCode::ApiNoPermission));
        s.pause_media("amy", true).unwrap();
        assert!(s.media.as_ref().unwrap().paused);
        // Amy starting another file replaces hers.
        s.start_media("amy", "c.mp4".into()).unwrap();
        assert_eq!(s.media.as_ref().unwrap().name, "c.mp4");
        assert!(!s.media.as_ref().unwrap().paused);
        let long = "x".repeat(256);
        assert_eq!(s.start_media("amy", long), Err(ErrorCode::ParamErr));
        // Amy leaving stops it (reason 0) for those who stay; bo may play then.
        let left = s.member_leaving("amy");
        let stopped = Event::MediaStopped {
            user_id: "amy".into(),
            reason: 0,
        };
        assert_eq!(left, vec![stopped]);
        assert!(s.start_media("bo", "b.mp4".into()).is_ok());
    }
}
