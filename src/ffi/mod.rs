//! The C ABI. The only module with `extern "C"`: it checks and copies arguments, converts
//! errors to codes and keeps panics from crossing into C. No logic lives here.
//!
//! Rules every export follows:
//! - a panic inside becomes `CRVIDEOSDK_INNER_ERR` (or NULL for pointer results);
//! - before `CRVideo_Init` (and after `CRVideo_Uninit`) the result is `CRVIDEOSDK_NOT_INIT`;
//! - a NULL or non-UTF-8 string is `CRVIDEOSDK_PARAM_ERR`, except the optional ones
//!   (cookie, usrExtDat, meetObj), where NULL means "".
//!
//! Safety contract of every `unsafe` export (stated once here and in the README rather than
//! on each function): pointer arguments are NULL or point to valid, NUL-terminated strings
//! (or, for `CRVideo_SetCallbacks`, to at least `cbs->size` readable bytes) that stay valid
//! for the duration of the call; strings passed to `CRVideo_FreeString` came from the SDK.
#![allow(clippy::missing_safety_doc)]

pub mod boards;
pub mod callbacks;
pub mod calls;
mod invoke;
pub mod lifecycle;
pub mod meetings;
pub mod presence;
pub mod queues;
pub mod room_signals;
pub mod rooms;
pub mod session;
pub mod transfer;

use std::ffi::{c_char, c_int, CStr, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::dispatch::Event;
use crate::instance::{self, Instance};
use crate::ErrorCode;

/// Runs an export's body, turning its error or a panic into the C return code.
pub(crate) fn guard(body: impl FnOnce() -> Result<(), ErrorCode>) -> c_int {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(())) => ErrorCode::NoErr.code(),
        Ok(Err(code)) => code.code(),
        Err(_) => {
            tracing::error!("panic inside a CRVideo_* call");
            ErrorCode::InnerErr.code()
        }
    }
}

/// For exports that return a fresh ID (calls, invitations, transfers): NULL only when the SDK
/// is not initialised; otherwise the new ID, whose one result callback always follows. `body`
/// queues the request; if it fails instead (a bad argument, a panic), `fail` makes the
/// failure callback with that code.
pub(crate) fn guard_id(
    new_id: impl FnOnce() -> String,
    body: impl FnOnce(&Instance, &str) -> Result<(), ErrorCode>,
    fail: impl FnOnce(String, i32) -> Event,
) -> *mut c_char {
    let Ok(instance) = instance::current() else {
        return std::ptr::null_mut();
    };
    let id = new_id();
    let outcome = catch_unwind(AssertUnwindSafe(|| body(&instance, &id))).unwrap_or_else(|_| {
        tracing::error!("panic inside a CRVideo_* call");
        Err(ErrorCode::InnerErr)
    });
    if let Err(code) = outcome {
        instance.dispatcher.push(fail(id.clone(), code.code()));
    }
    CString::new(id).map_or(std::ptr::null_mut(), CString::into_raw)
}

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

/// Longest cookie accepted (`maxCookieBytes` in the Init parameters; default 4096).
pub(crate) static MAX_COOKIE_BYTES: std::sync::atomic::AtomicUsize =
    std::sync::atomic::AtomicUsize::new(crate::params::DEFAULT_MAX_COOKIE_BYTES);

/// A cookie argument: optional (NULL is ""), at most `maxCookieBytes` bytes (else
/// `PARAM_ERR`): cookies stay in the SDK until their callback, so they are capped.
///
/// # Safety
/// As [`arg_str`].
pub(crate) unsafe fn cookie_arg(p: *const c_char) -> Result<String, ErrorCode> {
    let cookie = opt_str(p)?;
    if cookie.len() > MAX_COOKIE_BYTES.load(std::sync::atomic::Ordering::Relaxed) {
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
