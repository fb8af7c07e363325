//! The C ABI. The only module with `extern "C"`: it checks and copies arguments, converts
//! errors to codes and keeps panics from crossing into C. No logic lives here.
//!
//! Rules every export follows (through [`boundary`], one helper per return shape):
//! - a panic inside becomes `CRVIDEOSDK_INNER_ERR` (for string results: NULL, and
//!   `CRVideo_GetLastError()` says `CRVIDEOSDK_INNER_ERR`);
//! - before `CRVideo_Init` (and after `CRVideo_Uninit`) the result is `CRVIDEOSDK_NOT_INIT`;
//! - a NULL or non-UTF-8 string is `CRVIDEOSDK_PARAM_ERR`, except the optional ones
//!   (cookie, usrExtDat, meetObj), where NULL means "".
//!
//! Safety contract of every `unsafe` export (stated once here and in the README rather than
//! on each function): pointer arguments are NULL or point to valid, NUL-terminated strings
//! (or, for `CRVideo_SetCallbacks`, to at least `cbs->size` readable bytes) that stay valid
//! for the duration of the call; strings passed to `CRVideo_FreeString` came from the SDK.
#![allow(clippy::missing_safety_doc)]

pub mod audio;
pub mod boards;
pub mod boundary;
pub mod callbacks;
pub mod calls;
pub mod http;
mod invoke;
pub mod lifecycle;
pub mod media;
pub mod meetings;
pub mod netdisk;
pub mod presence;
pub mod queues;
pub mod record;
pub mod room_signals;
pub mod rooms;
pub mod session;
pub mod transfer;
pub mod video;

use std::ffi::{c_char, CStr};

pub(crate) use boundary::{returns_code, returns_id, returns_string};

use crate::instance::Instance;
use crate::ErrorCode;

/// An optional meeting object: NULL or "" is no meeting; anything else must be a JSON
/// object, passed on as the app wrote it.
///
/// # Safety
/// As [`arg_str`].
#[doc(hidden)] // public for the fuzz targets (`fuzz/`)
pub unsafe fn meet_obj_arg(p: *const c_char) -> Result<String, ErrorCode> {
    let text = opt_str(p)?;
    if !text.trim().is_empty() {
        match serde_json::from_str::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => {}
            _ => return Err(ErrorCode::ParamErr),
        }
    }
    Ok(text.to_owned())
}

/// A cookie argument: optional (NULL is ""), at most `maxCookieBytes` (Init parameter)
/// bytes (else
/// `PARAM_ERR`): cookies stay in the SDK until their callback, so they are capped.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn cookie_arg(
    instance: &Instance,
    p: *const c_char,
) -> Result<String, ErrorCode> {
    let cookie = opt_str(p)?;
    if cookie.len() > instance.params.max_cookie_bytes {
        return Err(ErrorCode::ParamErr);
    }
    Ok(cookie.to_owned())
}

/// A required string argument.
///
/// # Safety
/// `p` is NULL or points to a NUL-terminated string that outlives the call.
pub(crate) unsafe fn arg_str<'a>(p: *const c_char) -> Result<&'a str, ErrorCode> {
    if p.is_null() {
        return Err(ErrorCode::ParamErr);
    }
    CStr::from_ptr(p).to_str().map_err(|_| ErrorCode::ParamErr)
}

/// An optional string argument: NULL is "".
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn opt_str<'a>(p: *const c_char) -> Result<&'a str, ErrorCode> {
    if p.is_null() {
        Ok("")
    } else {
        arg_str(p)
    }
}
