//! Meeting-room requests of a session; the room state is in [`crate::services::rooms`].

use crvideo_proto::{ErrorCode, Reply, Request};

use crate::directory::handle::SessionHandle;
use crate::directory::outbound::Stop;
use crate::services::meetings;
use crate::services::rooms::{EnterError, Lookup};
use crate::session::Session;

/// Store lookups an enter tries while meetings keep being destroyed under it.
const ENTER_TRIES: usize = 8;

impl Session {
    pub(crate) async fn room_request(
        &mut self,
        re: u64,
        handle: &SessionHandle,
        request: Request,
    ) -> Option<Stop> {
        let shared = self.shared.clone();
        let (rooms, directory) = (&shared.rooms, &*shared.directory);
        let mut stop = None;
        let result = match request {
            Request::EnterMeeting { meet_id, pswd } => {
                return self.enter_meeting(re, handle, meet_id, &pswd).await;
            }
            Request::ExitMeeting => rooms.exit(directory, handle, || {
                stop = self.reply(Reply::ok(re, ()));
            }),
            Request::StopMeeting => rooms.stop(directory, handle, || {
                stop = self.reply(Reply::ok(re, ()));
            }),
            Request::SetMedia {
                user_id,
                kind,
                status,
            } => rooms.set_media(handle, &user_id, kind, status, || {
                stop = self.reply(Reply::ok(re, ()));
            }),
            Request::SendIm { text, to } => {
                let now = crate::auth::unix_now() as i64;
                rooms.send_im(handle, text, &to, now, |sent| {
                    stop = self.reply(Reply::ok(re, sent));
                })
            }
            signal @ (Request::StartScreenShare
            | Request::StopScreenShare
            | Request::SetCtrlRight { .. }
            | Request::SwitchToPage { .. }
            | Request::SetVideoWallMode { .. }
            | Request::SetMainVideo { .. }
            | Request::CreateBoard { .. }
            | Request::CloseBoard { .. }
            | Request::SetBoardElement { .. }
            | Request::DelBoardElements { .. }
            | Request::SetMouseHotSpot { .. }) => rooms.signal(handle, signal, || {
                stop = self.reply(Reply::ok(re, ()));
            }),
            other => unreachable!("not a room request: {}", other.op()),
        };
        match result {
            Ok(()) => stop,
            Err(code) => self.reply(Reply::err(re, code)),
        }
    }

    /// Looks the meeting up in the store, then enters its room (again if a meeting was
    /// destroyed meanwhile: the lookup may be out of date).
    async fn enter_meeting(
        &mut self,
        re: u64,
        handle: &SessionHandle,
        meet_id: i32,
        pswd: &str,
    ) -> Option<Stop> {
        let shared = self.shared.clone();
        for _ in 0..ENTER_TRIES {
            let destroyed = shared.rooms.destroyed();
            let row = match meetings::get(&shared.store, handle.tenant(), meet_id).await {
                Ok(row) => row,
                Err(code) => return self.reply(Reply::err(re, code)),
            };
            let mut stop = None;
            let entered = shared.rooms.enter(
                &*shared.directory,
                handle,
                Lookup {
                    meet_id,
                    row,
                    destroyed,
                },
                pswd,
                |state| stop = self.reply(Reply::ok(re, state)),
            );
            match entered {
                Ok(()) => return stop,
                Err(EnterError::Refused(code)) => return self.reply(Reply::err(re, code)),
                Err(EnterError::Stale) => continue,
            }
        }
        self.reply(Reply::err(re, ErrorCode::ServerException))
    }
}
