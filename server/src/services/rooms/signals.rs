//! The shared signals of a meeting room: screen-share owner, control right, current page,
//! video-wall mode, main video. Each change is judged and applied here, returning the events
//! it causes; [`Rooms`](super::Rooms) sends them after the reply, under its lock, like every
//! other room change.

use crvideo_proto::{ErrorCode, Event, MainVideo, PageState, MAINPAGE_MAX};

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
}

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

    /// `user_id` is leaving the room: its share ends, a control right it holds is released.
    /// The events go to the members who stay.
    pub fn member_leaving(&mut self, user_id: &str) -> Vec<Event> {
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
