//! The one boundary every export goes through: one helper per return shape, each with the
//! panic boundary inside, so no export reads an argument, touches the instance or can panic
//! outside it.
//!
//! - [`returns_code`]: an `int`, 0 or a `CRVIDEOSDK_*` code;
//! - [`returns_string`]: a string the app frees with `CRVideo_FreeString`, or NULL, and then
//!   `CRVideo_GetLastError()` says why (the one NULL convention of the API);
//! - [`returns_id`]: the ID of a new task (call, invitation, transfer, message) whose one
//!   result callback always follows; NULL only before `CRVideo_Init`.

use std::cell::Cell;
use std::ffi::{c_char, c_int, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

use super::cookie_arg;
use crate::event::Event;
use crate::instance::{self, Instance};
use crate::ErrorCode;

thread_local! {
    /// Why this thread's last string-returning call returned NULL (0 after a success).
    static LAST_ERROR: Cell<c_int> = const { Cell::new(0) };
}

/// Runs `body` inside the panic boundary: a panic becomes `INNER_ERR`.
fn contained<T>(body: impl FnOnce() -> Result<T, ErrorCode>) -> Result<T, ErrorCode> {
    catch_unwind(AssertUnwindSafe(body)).unwrap_or_else(|_| {
        tracing::error!("panic inside a CRVideo_* call");
        Err(ErrorCode::InnerErr)
    })
}

/// For exports that return `int`: 0, or the error's code.
pub(crate) fn returns_code(body: impl FnOnce() -> Result<(), ErrorCode>) -> c_int {
    match contained(body) {
        Ok(()) => ErrorCode::NoErr.code(),
        Err(code) => code.code(),
    }
}

/// For exports that return a string: the string, or NULL with the error kept for
/// `CRVideo_GetLastError`.
pub(crate) fn returns_string(body: impl FnOnce() -> Result<String, ErrorCode>) -> *mut c_char {
    // A string with a NUL inside cannot be handed over: never made by the SDK (IDs and JSON).
    let made = contained(body).and_then(|s| CString::new(s).map_err(|_| ErrorCode::InnerErr));
    LAST_ERROR.with(|last| last.set(made.as_ref().err().map_or(0, |e| e.code())));
    made.map_or(std::ptr::null_mut(), CString::into_raw)
}

/// For exports that return the ID of a new task. NULL (with `NOT_INIT` for
/// `CRVideo_GetLastError`) only before `CRVideo_Init`; otherwise the new ID, and exactly one
/// result callback follows: `body` queues the request with the task's cookie, and if the
/// cookie or `body` fails (a bad argument, not logged in, a panic), `fail(id, code, cookie)`
/// is that callback.
pub(crate) fn returns_id(
    new_id: impl FnOnce() -> String,
    cookie: *const c_char,
    body: impl FnOnce(&Instance, &str, String) -> Result<(), ErrorCode>,
    fail: impl FnOnce(String, i32, String) -> Event,
) -> *mut c_char {
    returns_string(|| {
        let instance = instance::current()?;
        let id = new_id();
        // SAFETY: the export's caller passes a valid string or NULL (see the module docs).
        let cookie = contained(|| unsafe { cookie_arg(&instance, cookie) });
        let outcome = match cookie {
            Ok(cookie) => {
                contained(|| body(&instance, &id, cookie.clone())).map_err(|e| (e, cookie))
            }
            // The failure callback then carries "" as its cookie.
            Err(code) => Err((code, String::new())),
        };
        if let Err((code, cookie)) = outcome {
            instance
                .dispatcher
                .push(fail(id.clone(), code.code(), cookie));
        }
        Ok(id)
    })
}

/// Why this thread's last call that returns a string (`CRVideo_CreateBoard`,
/// `CRVideo_GetAllMembers`, the queue getters, `CRVideo_Call`, …) returned NULL: a
/// `CRVIDEOSDK_*` code; 0 when it returned a string.
#[no_mangle]
pub extern "C" fn CRVideo_GetLastError() -> c_int {
    LAST_ERROR.with(Cell::get)
}
