//! Call and invitation exports.

use std::ffi::{c_char, c_int};

use super::{arg_str, cookie_arg, meet_obj_arg, opt_str, returns_code, returns_id};
use crate::client::{calls, Command};
use crate::dispatch::Event;
use crate::instance;

/// Calls `calledUserID`, proposing the meeting `meetObjJson` (NULL or "" for none; else a
/// JSON object such as `{"ID":36526251,"pswd":""}`, passed to the callee unchanged) and
/// `usrExtDat` (free text for the callee, may be NULL).
///
/// Returns the new call's ID (free it with `CRVideo_FreeString`), or NULL only when the SDK
/// is not initialised. Exactly one of these follows, carrying that ID: `CallSuccess(callID,
/// cookie)` once the callee is ringing (it got `NotifyCallIn`), or `CallFail(callID, sdkErr,
/// cookie)`: `CRVIDEOSDK_ERR_OFFLINE`, `CRVIDEOSDK_ERR_USER_NOT_FOUND` (never logged in),
/// `CRVIDEOSDK_ERR_BUSY` (in another call, do-not-disturb on, or a queue agent serving another
/// customer), `CRVIDEOSDK_ERR_CALL_EXIST` (this user is already in a call),
/// `CRVIDEOSDK_PARAM_ERR` (calling yourself, a bad argument), `CRVIDEOSDK_NOT_LOGIN`.
///
/// Afterwards the caller gets `NotifyCallAccepted`, `NotifyCallRejected`
/// (`CRVIDEOSDK_ERR_REFUSE`, or `CRVIDEOSDK_ERR_NOANSWER` after the server's
/// `call_timeout_secs`) or `NotifyCallHungup`. Both users show status 2 (busy) until the call
/// ends.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_Call(
    calledUserID: *const c_char,
    meetObjJson: *const c_char,
    usrExtDat: *const c_char,
    cookie: *const c_char,
) -> *mut c_char {
    returns_id(
        calls::new_id,
        cookie,
        |instance, id, cookie| {
            let callee = arg_str(calledUserID)?.to_owned();
            let meet_obj = meet_obj_arg(meetObjJson)?;
            let usr_ext_dat = opt_str(usrExtDat)?.to_owned();
            let spec = calls::call(id.to_owned(), callee, meet_obj, usr_ext_dat, cookie);
            instance.send(Command::Request(spec))
        },
        |call_id, code, cookie| Event::CallFail {
            call_id,
            sdk_err: code,
            cookie,
        },
    )
}

/// Accepts a ringing call (or invitation) this user received in `NotifyCallIn`.
/// `meetObjJson` (NULL or "" to keep the caller's) is what the caller gets in
/// `NotifyCallAccepted`, with `usrExtDat`.
///
/// Returns 0, then `AcceptCallSuccess(callID, cookie)` or `AcceptCallFail(callID, sdkErr,
/// cookie)` follows (`CRVIDEOSDK_INVALID_CALLID`: unknown, not ringing, or not this user's).
/// Without callback: `CRVIDEOSDK_PARAM_ERR`, `CRVIDEOSDK_NOT_LOGIN`, `CRVIDEOSDK_NOT_INIT`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_AcceptCall(
    callID: *const c_char,
    meetObjJson: *const c_char,
    usrExtDat: *const c_char,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let call_id = arg_str(callID)?.to_owned();
        let meet_obj = meet_obj_arg(meetObjJson)?;
        let usr_ext_dat = opt_str(usrExtDat)?.to_owned();
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(calls::accept(call_id, meet_obj, usr_ext_dat, cookie))
    })
}

/// Rejects a ringing call (or invitation); the caller gets `NotifyCallRejected(callID,
/// CRVIDEOSDK_ERR_REFUSE, usrExtDat)`.
///
/// Returns 0, then `RejectCallSuccess(callID, cookie)` or `RejectCallFail(callID, sdkErr,
/// cookie)` follows. Errors as for `CRVideo_AcceptCall`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_RejectCall(
    callID: *const c_char,
    usrExtDat: *const c_char,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let call_id = arg_str(callID)?.to_owned();
        let usr_ext_dat = opt_str(usrExtDat)?.to_owned();
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(calls::reject(call_id, usr_ext_dat, cookie))
    })
}

/// Ends a call at any stage (ringing or talking), as caller or callee; the other side gets
/// `NotifyCallHungup(callID, usrExtDat)`.
///
/// Returns 0, then `HangupCallSuccess(callID, cookie)` or `HangupCallFail(callID, sdkErr,
/// cookie)` follows (`CRVIDEOSDK_INVALID_CALLID`: unknown, ended, or not this user's).
/// Errors without callback as for `CRVideo_AcceptCall`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_HungupCall(
    callID: *const c_char,
    usrExtDat: *const c_char,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let call_id = arg_str(callID)?.to_owned();
        let usr_ext_dat = opt_str(usrExtDat)?.to_owned();
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(calls::hang_up(call_id, usr_ext_dat, cookie))
    })
}

/// Invites `called` into a meeting: they get `NotifyCallIn` with `meetObjJson` and answer
/// with `CRVideo_AcceptCall` / `CRVideo_RejectCall` as for a call. Inviting does not make the
/// inviter busy; several invitations may ring at once.
///
/// Returns the invitation's ID (free it with `CRVideo_FreeString`), or NULL only when not
/// initialised. `ClientInviteRslt(inviteID, sdkErr, cookie)` follows (errors as for
/// `CRVideo_Call`, except `CRVIDEOSDK_ERR_CALL_EXIST`); after success
/// `NotifyInviteStatus(inviteID, 0)` (ringing), then exactly one of 1 (accepted), 2
/// (rejected) and 3 (no answer, or the invitee went offline), and after 1, status 4 when the
/// invitee hangs up (or goes offline).
#[no_mangle]
pub unsafe extern "C" fn CRVideo_ClientInvite(
    called: *const c_char,
    meetObjJson: *const c_char,
    cookie: *const c_char,
) -> *mut c_char {
    returns_id(
        calls::new_id,
        cookie,
        |instance, id, cookie| {
            let invitee = arg_str(called)?.to_owned();
            let meet_obj = meet_obj_arg(meetObjJson)?;
            instance.send(Command::Request(calls::invite(
                id.to_owned(),
                invitee,
                meet_obj,
                cookie,
            )))
        },
        |invite_id, code, cookie| Event::ClientInviteRslt {
            invite_id,
            sdk_err: code,
            cookie,
        },
    )
}

/// Withdraws a ringing invitation; the invitee gets `NotifyCallHungup`.
///
/// Returns 0, then `ClientCancelInviteRslt(inviteID, sdkErr, cookie)` follows
/// (`CRVIDEOSDK_INVALID_CALLID`: unknown, no longer ringing, or not this user's). Errors
/// without callback as for `CRVideo_AcceptCall`.
#[no_mangle]
pub unsafe extern "C" fn CRVideo_ClientCancelInvite(
    inviteID: *const c_char,
    cookie: *const c_char,
) -> c_int {
    returns_code(|| {
        let instance = instance::current()?;
        let invite_id = arg_str(inviteID)?.to_owned();
        let cookie = cookie_arg(&instance, cookie)?;
        instance.request(calls::cancel_invite(invite_id, cookie))
    })
}
