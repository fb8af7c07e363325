//! Shared media playback exports: one member plays an MP4 file (H.264 + Opus, as the
//! recorder writes) to the whole meeting.

use std::ffi::{c_char, c_int};
use std::path::PathBuf;

use super::video::{hand_over, CRVideo_VideoImg};
use super::{arg_str, returns_code, returns_string};
use crate::instance;

/// Plays the media file `filename` (an MP4 with H.264 video and/or Opus audio) to the
/// meeting this user is in: its pictures go to every member like a camera's (a member
/// entering sees them within a second), its sound into every member's speaker mix (this
/// user's too). A file this user plays already is stopped first (`NotifyMediaStop` 0).
/// `locPlay` 1 plays it on this SDK only: nothing goes to the meeting, nobody else is told,
/// no `NotifyMediaStart` comes, and pause, move and stop are told to this app alone.
/// `pauseWhenFinished` 1 pauses on the last picture at the end (`NotifyMediaPause(1)`;
/// resuming plays it again from the start) instead of stopping with reason 1.
///
/// Returns 0, then `NotifyMediaOpened(totalTimeMs, w, h)` and every member's
/// `NotifyMediaStart(userID)`, pictures (`NotifyMemberMediaData`) and sound; or
/// `NotifyMediaStop(userID, reason)` with 2 (the file cannot be opened), 3 (not a media
/// file), 4 (no H.264 or Opus track), 5 (another member started first). Without callback:
/// `CRVIDEOSDK_ERR_BUSY` (another member plays: one player per meeting),
/// `CRVIDEOSDK_PARAM_ERR` (NULL or empty filename), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StartPlayMedia(
    filename: *const c_char,
    locPlay: c_int,
    pauseWhenFinished: c_int,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let path = arg_str(filename)?;
        if path.is_empty() {
            return Err(crate::ErrorCode::ParamErr);
        }
        instance.require_login()?;
        let path = PathBuf::from(path);
        (instance.media).start(path, locPlay != 0, pauseWhenFinished != 0)
    })
}

/// Pauses (`pause` 1) or resumes (0) the media this user plays: every member gets
/// `NotifyMediaPause(userID, pause)`.
///
/// Returns 0, `CRVIDEOSDK_API_NO_PERMISSION` (this user plays nothing),
/// `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_PausePlayMedia(pause: c_int) -> c_int {
    returns_code(|| instance::current()?.media.pause(pause != 0))
}

/// Moves the media this user plays to `posMs` (the end at most): pictures and sound go on
/// from there, and every member gets `NotifyPlayPosSetted(setPTS)` with the position.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (negative), `CRVIDEOSDK_API_NO_PERMISSION` (this user
/// plays nothing), `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_SetMediaPlayPos(posMs: i64) -> c_int {
    returns_code(|| instance::current()?.media.set_pos(posMs))
}

/// Stops the media this user plays: every member gets `NotifyMediaStop(userID, 0)`. The
/// media also stops when this user leaves the meeting or logs out (its own app gets
/// `NotifyMediaStop(userID, 0)`, the others too).
///
/// Returns 0 (also when it plays nothing), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_StopPlayMedia() -> c_int {
    returns_code(|| instance::current()?.media.stop())
}

/// The newest picture of `userID`'s media (this user's own with its ID or ""), in
/// `format`, scaled down to fit `maxWidth`×`maxHeight` when those are > 0, into `*out`
/// (free it with `CRVideo_FreeVideoImg`); `frameTime` is its position in the media (ms).
/// Taking it re-arms `NotifyMemberMediaData`.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (unknown format, NULL userID or out),
/// `CRVIDEOSDK_ERR_DATA` (no picture of that media), `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetMediaImg(
    userID: *const c_char,
    format: c_int,
    maxWidth: c_int,
    maxHeight: c_int,
    out: *mut *mut CRVideo_VideoImg,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let user_id = arg_str(userID)?;
        hand_over(out, || {
            (instance.media).image(user_id, format, maxWidth, maxHeight)
        })
    })
}

/// The meeting's media as JSON: `{"userID":"alice","state":0,"mediaName":"x.mp4"}`; state 0
/// playing, 1 paused, 2 none (then `userID` and `mediaName` are ""). This user's local
/// playback (`locPlay` 1) is shown while it plays. Free with `CRVideo_FreeString`; NULL
/// before Init.
#[no_mangle]
pub extern "C" fn CRVideo_GetMediaInfo() -> *mut c_char {
    returns_string(|| Ok(instance::current()?.media.info_json()))
}
