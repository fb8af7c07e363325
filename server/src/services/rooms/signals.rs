//! The shared signals of a meeting room: screen-share owner, control right, current page,
//! video-wall mode, main video, and the whiteboards (judged in [`boards`]). Each request is judged and applied to the room's state
//! here, returning the events it causes; [`crate::services::rooms`] sends them after the reply, under
//! its lock, like every other room change.

use crvideo_proto::{ErrorCode, Event, MainVideo, PageState, Request, MAINPAGE_MAX};

use super::Room;

/// Who gets an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Audience {
    /// Every member, the requester too.
    All,
    /// Every member but the requester.
    Others,
}

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
    /// Releases every control right and ends the share of `sharer` (it stopped or left).
    fn end_share(&mut self, sharer: &str) -> Vec<(Event, Audience)> {
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

/// Judges and applies a signal `request` by member `me` to `room`: the events to send after
/// the reply, or the error to reply with (the state is then unchanged).
pub(crate) fn apply(
    room: &mut Room,
    me: &str,
    request: Request,
) -> Result<Vec<(Event, Audience)>, ErrorCode> {
    let is_member = |room: &Room, user_id: &str| room.member_by_user(user_id).is_some();
    let signals = &mut room.signals;
    Ok(match request {
        Request::StartScreenShare => match signals.sharer.as_deref() {
            Some(sharer) if sharer == me => Vec::new(),
            Some(_) => return Err(ErrorCode::ErrBusy),
            None => {
                signals.sharer = Some(me.to_owned());
                let started = Event::ShareStarted {
                    user_id: me.to_owned(),
                };
                vec![(started, Audience::Others)]
            }
        },
        Request::StopScreenShare => match signals.sharer.as_deref() {
            None => Vec::new(),
            Some(sharer) if sharer != me => return Err(ErrorCode::ApiNoPermission),
            Some(_) => signals.end_share(me),
        },
        Request::SetCtrlRight { user_id, give } => {
            if signals.sharer.as_deref() != Some(me) {
                return Err(ErrorCode::ApiNoPermission);
            }
            if user_id == me || !is_member(room, &user_id) {
                return Err(ErrorCode::ParamErr);
            }
            let signals = &mut room.signals;
            let held = signals.ctrl.iter().position(|c| *c == user_id);
            match (give, held) {
                (true, None) => signals.ctrl.push(user_id.clone()),
                (false, Some(i)) => {
                    signals.ctrl.remove(i);
                }
                _ => return Ok(Vec::new()),
            }
            vec![(ctrl_event(me, user_id, give), Audience::All)]
        }
        Request::SwitchToPage { main_page, page_id } => {
            if !(0..=MAINPAGE_MAX).contains(&main_page) {
                return Err(ErrorCode::ParamErr);
            }
            let page = PageState { main_page, page_id };
            signals.page = Some(page.clone());
            vec![(Event::Page(page), Audience::Others)]
        }
        Request::SetVideoWallMode { mode } => {
            if mode < 0 {
                return Err(ErrorCode::ParamErr);
            }
            signals.wall_mode = Some(mode);
            vec![(Event::VideoWallMode { mode }, Audience::Others)]
        }
        Request::SetMainVideo { user_id } => {
            if !is_member(room, &user_id) {
                return Err(ErrorCode::ParamErr);
            }
            let main = MainVideo {
                oper: me.to_owned(),
                target: user_id,
            };
            room.signals.main_video = Some(main.clone());
            vec![(Event::MainVideo(main), Audience::All)]
        }
        board @ (Request::CreateBoard { .. }
        | Request::CloseBoard { .. }
        | Request::SetBoardElement { .. }
        | Request::DelBoardElements { .. }
        | Request::SetMouseHotSpot { .. }) => return room.boards.apply(me, board),
        other => unreachable!("not a room signal: {}", other.op()),
    })
}
