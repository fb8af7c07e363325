//! Meeting-room exports for the signals every member shares: screen share, control right,
//! page, video-wall mode, main video.

use std::ffi::{c_char, c_int};

use super::{arg_str, opt_str, returns_code};
use crate::client::room_calls::RoomCall;
use crate::instance;

/// Starts sharing this member's screen (the signalling: who shares; the pixels are not part
/// of this SDK). The other members get `NotifyScreenShareStarted`.
///
/// Returns 0, then `StartScreenShareRslt(sdkErr)`: 0 (also when already sharing) or
/// `CRVIDEOSDK_ERR_BUSY` (another member shares: one sharer at a time). Without callback:
/// `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_StartScreenShare() -> c_int {
    returns_code(|| instance::current()?.room_call(RoomCall::StartScreenShare))
}

/// Stops this member's screen share. Control rights given are taken back first (every
/// member gets `NotifyReleaseCtrlRight`), then the others get `NotifyScreenShareStopped`.
///
/// Returns 0, then `StopScreenShareRslt(sdkErr)`: 0 (also when nobody shares) or
/// `CRVIDEOSDK_API_NO_PERMISSION` (another member shares). Without callback:
/// `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_StopScreenShare() -> c_int {
    returns_code(|| instance::current()?.room_call(RoomCall::StopScreenShare))
}

/// Gives or takes back a control right (checked against the SDK's copy of the room).
unsafe fn set_ctrl_right(user_id: *const c_char, give: bool) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let user_id = arg_str(user_id)?.to_owned();
        instance.room_call(RoomCall::CtrlRight { user_id, give })
    })
}

/// The sharer gives member `userID` the control right of their shared screen: every member
/// gets `NotifyGiveCtrlRight(operId, targetId)`. No result callback.
///
/// Returns 0 (also when `userID` holds it already: nothing happens),
/// `CRVIDEOSDK_API_NO_PERMISSION` (this user is not the sharer), `CRVIDEOSDK_PARAM_ERR`
/// (`userID` is not another member), `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_LOGIN`,
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GiveCtrlRight(userID: *const c_char) -> c_int {
    set_ctrl_right(userID, true)
}

/// The sharer takes the control right back from `userID`: every member gets
/// `NotifyReleaseCtrlRight(operId, targetId)`. As `CRVideo_GiveCtrlRight` (0 also when
/// `userID` does not hold it).
#[no_mangle]
pub unsafe extern "C" fn CRVideo_ReleaseCtrlRight(userID: *const c_char) -> c_int {
    set_ctrl_right(userID, false)
}

/// Switches every member's main page (`CRVIDEOSDK_MAINPAGE_VIDEOWALL`, `_SHARE`,
/// `_WHITEBOARD`) and page ID (NULL = ""; for the whiteboard page, a board's ID): the others
/// get `NotifySwitchToPage(mainPage, pageID)`; a member entering later gets it too. No result
/// callback.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (unknown main page), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SwitchToPage(mainPage: c_int, pageID: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let page_id = opt_str(pageID)?.to_owned();
        instance.room_call(RoomCall::SwitchToPage {
            main_page: mainPage,
            page_id,
        })
    })
}

/// Sets the meeting's video-wall mode (the app's own layout numbering, any value >= 0): the
/// others get `NotifyVideoWallMode(mode)`; a member entering later gets it too. No result
/// callback.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (negative), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_SetVideoWallMode(mode: c_int) -> c_int {
    returns_code(|| instance::current()?.room_call(RoomCall::VideoWallMode(mode)))
}

/// Makes member `userID`'s video the meeting's main video: every member gets
/// `NotifyMainVideoChanged(operId, targetId)`; a member entering later gets it too (it stays
/// set when that member leaves, until set again). No result callback.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (not a member), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetMainVideo(userID: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        instance.room_call(RoomCall::MainVideo(arg_str(userID)?.to_owned()))
    })
}
