//! Meeting exports: create, destroy, list.

use std::ffi::{c_char, c_int};

use crvideo_proto::MAX_SUBJECT_CHARS;

use super::{arg_str, cookie_arg, returns_code};
use crate::client::meetings;
use crate::{instance, ErrorCode};

/// Creates a meeting of the tenant. `meetSubject` is at most 50 characters (Unicode
/// characters, not bytes); `createPswd > 0` makes the server generate a password.
///
/// Returns 0, then `CreateMeetingSuccess(meetObjJson, cookie)` follows with the new
/// MeetInfoObj (`{"ID":36526251,"pswd":"","subject":"weekly","pubMeetUrl":"","creator":
/// "alice","memberCount":0,"startTime":1732500000}`), stored durably on the server, or
/// `CreateMeetingFail(sdkErr, cookie)`. Without callback: `CRVIDEOSDK_PARAM_ERR` (NULL,
/// non-UTF-8 or too long subject), `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_CreateMeeting(
    meetSubject: *const c_char,
    createPswd: c_int,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let subject = arg_str(meetSubject)?;
        if subject.chars().count() > MAX_SUBJECT_CHARS {
            return Err(ErrorCode::ParamErr);
        }
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(meetings::create(subject.to_owned(), createPswd > 0, cookie))
    })
}

/// Destroys a meeting; only its creator may.
///
/// Returns 0, then `DestroyMeetingRslt(sdkErr, cookie)` follows: 0,
/// `CRVIDEOSDK_MEETNOTEXIST` (no such meeting in the tenant) or
/// `CRVIDEOSDK_API_NO_PERMISSION` (not the creator). Without callback:
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`, `CRVIDEOSDK_PARAM_ERR`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_DestroyMeeting(meetID: c_int, cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(meetings::destroy(meetID, cookie))
    })
}

/// Lists the tenant's meetings.
///
/// Returns 0, then `GetMeetingsSuccess(meetingsJson, cookie)` follows with a JSON array of
/// MeetInfoObj, oldest first, or `GetMeetingsFail(sdkErr, cookie)`. Without callback:
/// `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`, `CRVIDEOSDK_PARAM_ERR`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetMeetings(cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(meetings::list(cookie))
    })
}
