//! Meeting-room exports (signalling): enter, exit, stop, members, audio/video, text messages.

use std::ffi::{c_char, c_int};

use crvideo_proto::{MediaKind, MEDIA_CLOSED, MEDIA_OPEN};

use super::{arg_str, opt_str, returns_code, returns_id, returns_string};
use crate::client::calls::new_id;
use crate::client::room_calls::RoomCall;
use crate::client::rooms;
use crate::dispatch::Event;
use crate::instance;

/// Enters the live room of meeting `meetID` with its password `pswd` (NULL or "" when it
/// has none).
///
/// Returns 0, then `EnterMeetingRslt(sdkErr)` follows: 0, `CRVIDEOSDK_MEETNOTEXIST` (unknown
/// or another tenant's), `CRVIDEOSDK_AUTHERROR` (wrong password), `CRVIDEOSDK_ALREADYINMEETING`,
/// `CRVIDEOSDK_MEMBEROVERFLOWERROR` (the room is full). After 0 the other members get
/// `UserEnterMeeting`, and this user shows status 3 (in a meeting). Without callback:
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`, `CRVIDEOSDK_PARAM_ERR`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_EnterMeeting(meetID: c_int, pswd: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let pswd = opt_str(pswd)?.to_owned();
        instance.request(rooms::enter(instance.rooms.clone(), meetID, pswd))
    })
}

/// Leaves the meeting; the other members get `UserLeftMeeting`. No callback: when it
/// returns 0 this user is out (`CRVideo_GetAllMembers` is `[]`).
///
/// Returns 0, `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_LOGIN` or `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_ExitMeeting() -> c_int {
    returns_code(|| instance::current()?.room_call(RoomCall::ExitMeeting))
}

/// Ends the meeting for everyone (its creator only): every other member gets
/// `MeetingStopped` and is out. The meeting itself stays (see `CRVideo_DestroyMeeting`).
///
/// Returns 0, then `StopMeetingRslt(sdkErr)`: 0 or `CRVIDEOSDK_API_NO_PERMISSION`. Without
/// callback: `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub extern "C" fn CRVideo_StopMeeting() -> c_int {
    returns_code(|| instance::current()?.room_call(RoomCall::StopMeeting))
}

/// The members of the meeting this user is in, a JSON array of MemberInfo
/// (`[{"userID":"bob","nickname":"Bob","audioStatus":2,"videoStatus":2}]`, in order of
/// entry; `[]` when not in a meeting), from the SDK's own copy. NULL only when not
/// initialised. Free with `CRVideo_FreeString`.
#[no_mangle]
pub extern "C" fn CRVideo_GetAllMembers() -> *mut c_char {
    returns_string(|| {
        let instance = instance::current()?;
        let json = instance.rooms.lock().members_json();
        Ok(json)
    })
}

/// Sets a member's audio or video status (checked against the SDK's copy of the room).
unsafe fn set_media(user_id: *const c_char, kind: MediaKind, status: i32) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let user_id = arg_str(user_id)?.to_owned();
        instance.room_call(RoomCall::SetMedia {
            user_id,
            kind,
            status,
        })
    })
}

/// Opens `userID`'s microphone (your own, or anyone's for the meeting's creator): every
/// member gets `AudioStatusChanged(userID, old, 3)`. No result callback.
///
/// Returns 0 (also when it is already open: nothing happens), `CRVIDEOSDK_NOT_INMEETING`,
/// `CRVIDEOSDK_API_NO_PERMISSION`, `CRVIDEOSDK_PARAM_ERR` (not a member),
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_OpenMic(userID: *const c_char) -> c_int {
    set_media(userID, MediaKind::Audio, MEDIA_OPEN)
}

/// Closes `userID`'s microphone (`AudioStatusChanged(userID, old, 2)`); as `CRVideo_OpenMic`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CloseMic(userID: *const c_char) -> c_int {
    set_media(userID, MediaKind::Audio, MEDIA_CLOSED)
}

/// Opens `userID`'s camera (`VideoStatusChanged(userID, old, 3)`); as `CRVideo_OpenMic`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_OpenVideo(userID: *const c_char) -> c_int {
    set_media(userID, MediaKind::Video, MEDIA_OPEN)
}

/// Closes `userID`'s camera (`VideoStatusChanged(userID, old, 2)`); as `CRVideo_OpenMic`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CloseVideo(userID: *const c_char) -> c_int {
    set_media(userID, MediaKind::Video, MEDIA_CLOSED)
}

/// Sends a text message in the meeting: to `toUserID`, or to every other member when it is
/// NULL or "". At most 4,096 characters. Recipients get `NotifyIMmsg(fromUserID, text,
/// sendTime)`; messages between two members keep their order.
///
/// Returns the task's ID (free it with `CRVideo_FreeString`), or NULL only when not
/// initialised; exactly one `SendIMmsgRlst(taskID, sdkErr, cookie)` follows: 0,
/// `CRVIDEOSDK_NOT_INMEETING`, `CRVIDEOSDK_PARAM_ERR` (too long, NULL text, or `toUserID` not
/// another member), `CRVIDEOSDK_NOT_LOGIN`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SendIMmsg(
    text: *const c_char,
    toUserID: *const c_char,
    cookie: *const c_char,
) -> *mut c_char {
    returns_id(
        new_id,
        cookie,
        |instance, id, cookie| {
            instance.room_call(RoomCall::SendIm {
                task_id: id.to_owned(),
                text: arg_str(text)?.to_owned(),
                to: opt_str(toUserID)?.to_owned(),
                cookie,
            })
        },
        |task_id, code, cookie| Event::SendIMmsgRlst {
            task_id,
            sdk_err: code,
            cookie,
        },
    )
}
