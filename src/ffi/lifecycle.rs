//! Lifecycle exports: Init, Uninit, server addresses, callbacks, version, strings, errors.

use std::collections::HashMap;
use std::ffi::{c_char, c_int, c_void, CString};

use once_cell::sync::Lazy;

use super::callbacks::CRVideo_Callbacks;
use super::{arg_str, opt_str, returns_code};
use crate::ffi::invoke::Registered;
use crate::params::{parse_server_list, DispatchMode};
use crate::{instance, ErrorCode};

/// Initialises the SDK; call once before anything else.
///
/// `sdkParamsJson` is NULL, `""`, `"{}"` or a JSON object with any of: `serverAddr`
/// (as for `CRVideo_SetServerAddr`), `tmpDir` (where received files land; default: the
/// system temp dir), `timeoutMs` (request timeout, 10000–120000, default 60000), `logLevel`
/// (`"off"`, `"error"`, `"warn"` (default), `"info"`, `"debug"`, `"trace"`; logs go to
/// stderr), `dispatch` (`"thread"` (default) or `"poll"`, see `CRVideo_PollEvents`),
/// `maxBufferBytes` (largest `CRVideo_SendBuffer` sent or accepted, default 100 MiB),
/// `maxCookieBytes` (longest cookie accepted, default 4096), `caFile` (PEM file of the
/// certificate authorities trusted for `wss://` servers and https transfers; default: the
/// system's roots), `httpTimeoutMs` (an SDK extension: how long an HTTP transfer may move
/// no byte before `FileFinished` 4, 100–600000; default `timeoutMs`), `recordMaxSecs` (an
/// SDK extension: the longest local recording, 1–86400, default 28800 = 8 hours; reaching
/// it gives `RecordErr(901)`). Unknown keys are ignored.
///
/// Returns 0, or `CRVIDEOSDK_PARAM_ERR` for malformed JSON or a bad value (a `caFile` that
/// cannot be read as PEM certificates included). Calling it again while initialised returns
/// 0 and changes nothing.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_Init(sdkParamsJson: *const c_char) -> c_int {
    returns_code(|| instance::init(opt_str(sdkParamsJson)?))
}

/// Shuts the SDK down: logs out if logged in, stops the network, delivers the callbacks
/// still queued (pending requests fail with `CRVIDEOSDK_NOT_LOGIN`), joins every SDK thread
/// and frees everything. No callback runs after it returns. Safe to call twice.
///
/// Called from inside a callback it does not wait for that callback: it stops the network,
/// discards the events not yet delivered and returns; no further callback runs once the
/// current one returns. Registered callbacks are forgotten: register them again after the
/// next `CRVideo_Init`.
#[no_mangle]
pub extern "C" fn CRVideo_Uninit() {
    let _ = returns_code(|| {
        instance::uninit();
        Ok(())
    });
}

/// Sets the server list, `"host:port;host2:port2"`; `CRVideo_Login` tries the entries in
/// order. IPv6 hosts go in brackets (`"[::1]:2727"`). Takes effect at the next login.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (NULL, empty, or an entry without a valid port) or
/// `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetServerAddr(addrList: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let servers = parse_server_list(arg_str(addrList)?)?;
        instance.set_servers(servers);
        Ok(())
    })
}

/// Registers the app's callbacks (replacing earlier ones). The struct is copied: it need
/// not outlive the call. `cbs->size` must be `sizeof(CRVideo_Callbacks)`. `userData` is
/// passed back, untouched, as every callback's first argument.
///
/// Returns 0, `CRVIDEOSDK_PARAM_ERR` (NULL `cbs`, or `size` smaller than `sizeof(size_t)`)
/// or `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetCallbacks(
    cbs: *const CRVideo_Callbacks,
    userData: *mut c_void,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        if cbs.is_null() {
            return Err(ErrorCode::ParamErr);
        }
        let table = CRVideo_Callbacks::copy_from_prefix(cbs).ok_or(ErrorCode::ParamErr)?;
        let registered = Registered::new(table, userData);
        instance
            .dispatcher
            .set_sink(std::sync::Arc::new(move |event| registered.deliver(event)));
        Ok(())
    })
}

/// In `"dispatch":"poll"` mode, runs the pending callbacks on the calling thread, waiting up
/// to `timeoutMs` milliseconds (0: do not wait) for the first one.
///
/// Returns how many callbacks ran (0 or more), or a negated error code:
/// `-CRVIDEOSDK_NOT_INIT`, or `-CRVIDEOSDK_PARAM_ERR` in `"thread"` mode or for a negative
/// timeout.
#[no_mangle]
pub extern "C" fn CRVideo_PollEvents(timeoutMs: c_int) -> c_int {
    let mut ran = 0usize;
    let code = returns_code(|| {
        let instance = instance::current()?;
        if instance.params.dispatch != DispatchMode::Poll || timeoutMs < 0 {
            return Err(ErrorCode::ParamErr);
        }
        ran = instance
            .dispatcher
            .poll(std::time::Duration::from_millis(timeoutMs as u64));
        Ok(())
    });
    if code != 0 {
        -code
    } else {
        c_int::try_from(ran).unwrap_or(c_int::MAX)
    }
}

/// The library version, e.g. `"0.1.0"` (the same as `CRVIDEOSDK_VERSION_STRING` of the
/// header it was built with). Static: do not free.
#[no_mangle]
pub extern "C" fn CRVideo_GetVersion() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Frees a string returned by the SDK (IDs, JSON). NULL is a no-op.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_FreeString(s: *mut c_char) {
    if !s.is_null() {
        drop(CString::from_raw(s));
    }
}

/// A short English description of an error code. Static: do not free. Unknown codes give
/// `"unknown error code"`.
#[no_mangle]
pub extern "C" fn CRVideo_GetErrorDesc(code: c_int) -> *const c_char {
    static TEXTS: Lazy<HashMap<i32, CString>> = Lazy::new(|| {
        ErrorCode::ALL
            .iter()
            .map(|&e| {
                (
                    e.code(),
                    CString::new(e.description()).expect("no NUL in descriptions"),
                )
            })
            .collect()
    });
    match TEXTS.get(&code) {
        Some(text) => text.as_ptr(),
        None => c"unknown error code".as_ptr(),
    }
}
