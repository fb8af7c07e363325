//! What the app asks of the meeting room, judged against the SDK's copy of the room before
//! anything is sent: [`RoomCall::judge`] answers at once with the error the call returns
//! (`NOT_INMEETING`, `PARAM_ERR`, `API_NO_PERMISSION`, `OUTOF_MEM`), or gives the request to
//! send, or none when the call would change nothing.

use crvideo_proto::{BoardObj, MediaKind, Request, MAX_IM_CHARS};

use super::rooms::{self, RoomCache, SharedRoomCache};
use super::RequestSpec;
use crate::ErrorCode;

/// One room call of the app, its arguments already checked for type.
pub enum RoomCall {
    /// Leaves at once: the copy is cleared before the request goes.
    ExitMeeting,
    StopMeeting,
    SetMedia {
        user_id: String,
        kind: MediaKind,
        status: i32,
    },
    StartScreenShare,
    StopScreenShare,
    CtrlRight {
        user_id: String,
        give: bool,
    },
    SwitchToPage {
        main_page: i32,
        page_id: String,
    },
    VideoWallMode(i32),
    MainVideo(String),
    CreateBoard(BoardObj),
    CloseBoard(String),
    SetElement {
        board_id: String,
        page_no: i32,
        element: String,
        modify: bool,
    },
    /// `ids` as the app gave them (`a;b`).
    DelElements {
        board_id: String,
        page_no: i32,
        ids: String,
    },
    MouseHotSpot {
        board_id: String,
        page_no: i32,
        x: i32,
        y: i32,
    },
    /// A page's background (a net-disk file ID, "" = none).
    BoardBkImage {
        board_id: String,
        page_no: i32,
        img_id: String,
    },
    /// To `to`, or everyone when it is "".
    SendIm {
        task_id: String,
        text: String,
        to: String,
        cookie: String,
    },
}

impl RoomCall {
    /// Judges the call against the copy (updating it where the call takes effect at once: a
    /// new board is pending) and gives the request to send, if any.
    pub fn judge(
        self,
        cache: &mut RoomCache,
        shared: &SharedRoomCache,
    ) -> Result<Option<RequestSpec>, ErrorCode> {
        // The signals with no result callback: checked here, refused later only by a race.
        let signal = |request| Ok(Some(rooms::signal(request)));
        match self {
            RoomCall::ExitMeeting => {
                cache.room.take().ok_or(ErrorCode::NotInMeeting)?;
                Ok(Some(rooms::exit()))
            }
            RoomCall::StopMeeting => {
                cache.room()?;
                Ok(Some(rooms::stop(shared.clone())))
            }
            RoomCall::SetMedia {
                user_id,
                kind,
                status,
            } => {
                let changes = cache.check_media(&user_id, kind, status)?;
                Ok(changes.then(|| rooms::set_media(user_id, kind, status)))
            }
            RoomCall::StartScreenShare => {
                cache.room()?;
                Ok(Some(rooms::start_share(shared.clone())))
            }
            RoomCall::StopScreenShare => {
                cache.room()?;
                Ok(Some(rooms::stop_share(shared.clone())))
            }
            RoomCall::CtrlRight { user_id, give } => match cache.check_ctrl(&user_id, give)? {
                true => signal(Request::SetCtrlRight { user_id, give }),
                false => Ok(None),
            },
            RoomCall::SwitchToPage { main_page, page_id } => {
                cache.check_page(main_page)?;
                signal(Request::SwitchToPage { main_page, page_id })
            }
            RoomCall::VideoWallMode(mode) => {
                cache.room()?;
                if mode < 0 {
                    return Err(ErrorCode::ParamErr);
                }
                signal(Request::SetVideoWallMode { mode })
            }
            RoomCall::MainVideo(user_id) => {
                cache.check_main_video(&user_id)?;
                signal(Request::SetMainVideo { user_id })
            }
            RoomCall::CreateBoard(board) => {
                let boards = &mut cache.room_mut()?.boards;
                boards.check_create(&board)?;
                boards.create_pending(board.clone());
                Ok(Some(rooms::create_board(shared.clone(), board)))
            }
            RoomCall::CloseBoard(board_id) => {
                cache.room()?.boards.check_close(&board_id)?;
                signal(Request::CloseBoard { board_id })
            }
            RoomCall::SetElement {
                board_id,
                page_no,
                element,
                modify,
            } => {
                let boards = &cache.room()?.boards;
                boards.check_element(&board_id, page_no, &element, modify)?;
                signal(Request::SetBoardElement {
                    board_id,
                    page_no,
                    element,
                    modify,
                })
            }
            RoomCall::DelElements {
                board_id,
                page_no,
                ids,
            } => {
                let element_ids = cache
                    .room()?
                    .boards
                    .check_delete(&board_id, page_no, &ids)?;
                signal(Request::DelBoardElements {
                    board_id,
                    page_no,
                    element_ids,
                })
            }
            RoomCall::MouseHotSpot {
                board_id,
                page_no,
                x,
                y,
            } => {
                cache.room()?.boards.check_hot_spot(&board_id, page_no)?;
                signal(Request::SetMouseHotSpot {
                    board_id,
                    page_no,
                    x,
                    y,
                })
            }
            RoomCall::BoardBkImage {
                board_id,
                page_no,
                img_id,
            } => {
                cache.room()?.boards.check_hot_spot(&board_id, page_no)?;
                let valid =
                    img_id.is_empty() || crvideo_proto::netdisk::parse_file_id(&img_id).is_some();
                if !valid {
                    return Err(ErrorCode::NetDiskFileIdInvalid);
                }
                signal(Request::SetBoardBkImage {
                    board_id,
                    page_no,
                    img_id,
                })
            }
            RoomCall::SendIm {
                task_id,
                text,
                to,
                cookie,
            } => {
                if text.chars().count() > MAX_IM_CHARS {
                    return Err(ErrorCode::ParamErr);
                }
                cache.check_im(&to)?;
                Ok(Some(rooms::send_im(task_id, text, to, cookie)))
            }
        }
    }
}
