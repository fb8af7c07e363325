//! Presence exports: DND, the user status list, status notifications.

use std::ffi::{c_char, c_int};

use super::{cookie_arg, returns_code};
use crate::client::presence;
use crate::instance;

/// Sets this user's do-not-disturb value: 0 off, any other value on (its meaning is yours).
/// Other users' calls get `CRVIDEOSDK_ERR_BUSY` while it is on. Subscribers of the tenant
/// get a NotifyUserStatus when the value changes.
///
/// Returns 0, then `SetDNDStatusSuccess(cookie)` or `SetDNDStatusFail(sdkErr, cookie)`
/// follows; or `CRVIDEOSDK_NOT_LOGIN` / `CRVIDEOSDK_NOT_INIT` / `CRVIDEOSDK_PARAM_ERR`
/// (cookie not UTF-8) with no callback.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_SetDNDStatus(DNDStatus: c_int, cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(presence::set_dnd(DNDStatus, cookie))
    })
}

/// Asks for the status of every online user of the tenant (this user included; offline
/// users are absent).
///
/// Returns 0, then `GetUserStatusSuccess(usersStatusJson, cookie)` follows with a JSON array
/// of UserStatusObj (`[{"userID":"alice","userStatus":1,"DNDType":0}]`, sorted by userID;
/// userStatus 1 idle, 2 busy in a call or serving a queue customer, 3 in a meeting), or
/// `GetUserStatusFail(sdkErr, cookie)`. Errors without callback as for `CRVideo_SetDNDStatus`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_GetUserStatus(cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(presence::get_user_status(cookie))
    })
}

/// Subscribes to the status and DND changes of every user of the tenant. After
/// `StartUserStatusNotifyRslt(0, cookie)` each change arrives once, in order, as
/// `NotifyUserStatus(userStatusJson, cookie)` with one UserStatusObj (userStatus 0: the user
/// went offline) and this `cookie`. Calling it again while subscribed replaces the cookie.
/// The subscription ends with the session (Logout, LineOff).
///
/// Returns 0 and the result callback follows; errors without callback as for
/// `CRVideo_SetDNDStatus`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StartUserStatusNotify(cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(presence::start_notify(cookie))
    })
}

/// Ends the subscription: no NotifyUserStatus follows `StopUserStatusNotifyRslt(0,
/// cookie)`. Harmless when not subscribed (the result is still 0).
///
/// Returns 0 and the result callback follows; errors without callback as for
/// `CRVideo_SetDNDStatus`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_StopUserStatusNotify(cookie: *const c_char) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(presence::stop_notify(cookie))
    })
}
